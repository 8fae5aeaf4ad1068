"""The embedded local engine: AWS's services offline, behind real boto3 clients.

``LocalEngine(path).client(name)`` returns the client ``boto3.client(name)`` returns
for ``personalize``, ``personalize-runtime``, ``personalize-events``, ``s3``,
``sagemaker`` and ``sagemaker-runtime``, whose requests the engine answers over
AWS's wire protocols (:mod:`personakit.local.wire`; ``personakit serve`` puts the
same engine behind HTTP), with the Personalize and S3 state in SQLite and files
under ``path``. SageMaker endpoints are served by
the Python callables registered with :meth:`LocalEngine.register_model`. Most code
uses ``pk.Session.local(path)`` instead of building an engine. See
``docs/local-engine.md``.
"""

from personakit.local.engine import DEFAULT_MIN_STATE_S, SERVICES, LocalEngine

__all__ = ["DEFAULT_MIN_STATE_S", "SERVICES", "LocalEngine"]
