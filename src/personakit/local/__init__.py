"""The embedded local engine: offline twins of the AWS clients personakit uses.

``LocalEngine(path).client(name)`` returns a twin of ``boto3.client(name)`` for
``personalize``, ``personalize-runtime``, ``personalize-events``, ``s3``,
``sagemaker`` and ``sagemaker-runtime``: the same method names, request
validation, response shapes, error codes and status strings, with the Personalize
and S3 state in SQLite and files under ``path``. SageMaker endpoints are served by
the Python callables registered with :meth:`LocalEngine.register_model`. Most code
uses ``pk.Session.local(path)`` instead of building an engine. See
``docs/local-engine.md``.
"""

from personakit.local.engine import DEFAULT_MIN_STATE_S, SERVICES, LocalEngine

__all__ = ["DEFAULT_MIN_STATE_S", "SERVICES", "LocalEngine"]
