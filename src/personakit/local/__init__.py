"""The embedded local engine: offline twins of the AWS clients personakit uses."""
