"""The embedded local engine: offline twins of the AWS clients personakit uses.

``LocalEngine(path).client(name)`` returns a twin of ``boto3.client(name)`` for
``personalize``, ``personalize-runtime``, ``personalize-events`` and ``s3``: the
same method names, request validation, response shapes, error codes and status
strings, with state in SQLite and files under ``path``. See ``docs/local-engine.md``.
"""

from personakit.local.engine import DEFAULT_MIN_STATE_S, SERVICES, LocalEngine

__all__ = ["DEFAULT_MIN_STATE_S", "SERVICES", "LocalEngine"]
