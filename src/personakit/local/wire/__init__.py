"""AWS's wire protocols, server side: real boto3 clients (and any other SDK) offline.

:mod:`~personakit.local.wire.protocols` reads requests and writes responses as
the services do; :mod:`~personakit.local.wire.transport` makes the real boto3
clients whose requests the engine answers.
"""

from personakit.local.wire.protocols import Reply, Request, answer, protocol_for
from personakit.local.wire.transport import ENDPOINT_DOMAIN, endpoint_url, wire_client

__all__ = [
    "ENDPOINT_DOMAIN",
    "Reply",
    "Request",
    "answer",
    "endpoint_url",
    "protocol_for",
    "wire_client",
]
