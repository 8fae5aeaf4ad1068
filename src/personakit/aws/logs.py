"""Debug logging without credentials in it.

botocore's DEBUG lines print every request: the ``Authorization`` header (with the
access key id and the signature), the ``X-Amz-Security-Token`` header and the canonical
request that is signed. personakit's own text never carries a credential;
:class:`RedactCredentials` takes them out of everyone else's lines, and
:func:`debug_logging` turns DEBUG on for personakit and botocore with it in place::

    from personakit.aws.logs import RedactCredentials, debug_logging

    debug_logging()                      # stderr, DEBUG, credentials redacted

With your own logging set up (``logging.basicConfig(level=logging.DEBUG)``), add the
filter to your handlers instead::

    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactCredentials())
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

__all__ = ["REDACTED", "RedactCredentials", "debug_logging"]

#: What a credential is replaced with.
REDACTED = "<redacted>"

#: The access key id (``Credential=AKIA.../``, also ``X-Amz-Credential=`` in presigned
#: URLs), the signature, and the session token as a header, a query parameter or a
#: line of the canonical request.
_PATTERNS = (
    re.compile(r"(?i)(credential=)[A-Z0-9]{12,128}"),
    re.compile(r"(?i)(signature=)[0-9a-f]{16,}"),
    re.compile(r"""(?i)(x-amz-security-token['"]?\s*[:=]\s*b?['"]?)[^'"\s,}&]+"""),
)

#: The loggers whose lines carry requests.
_LOGGERS = ("personakit", "botocore", "boto3", "s3transfer", "urllib3")


class RedactCredentials(logging.Filter):
    """Replace credentials in a log record's message with :data:`REDACTED`.

    Put it on a handler (it then sees every record the handler writes, from any
    logger); it never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for pattern in _PATTERNS:
            redacted = pattern.sub(lambda m: m.group(1) + REDACTED, redacted)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def debug_logging(level: int = logging.DEBUG, *, stream: TextIO | None = None) -> logging.Handler:
    """Log personakit, boto3 and botocore at ``level`` to ``stream`` (stderr), with
    credentials redacted; returns the handler (remove it to stop)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactCredentials())
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(level)
    return handler
