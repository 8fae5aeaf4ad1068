"""Real boto3 clients whose transport is the engine.

:func:`wire_client` builds the client ``boto3.client(service)`` returns (same
class, same serializer, parser, retry handler, paginators and waiters) with
placeholder credentials, an endpoint that cannot resolve (a ``.invalid`` host,
https://www.rfc-editor.org/rfc/rfc6761#section-6.4) and a handler on botocore's
``before-send`` event that hands the signed request to the engine and returns
the engine's :class:`~botocore.awsrequest.AWSResponse`. Users' own hooks see
every event a real call fires; a hook of theirs that answers ``before-send``
first wins, as with AWS. If the handler were missing, the request would fail to
resolve its host: nothing leaves the machine.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config

from personakit.local.twin import MODEL_LOCK, botocore_session
from personakit.local.wire.protocols import Handler, Reply, Request, answer, protocol_for

__all__ = ["ENDPOINT_DOMAIN", "Transport", "Unchunked", "endpoint_url", "unchunk", "wire_client"]

#: The engine's endpoints: ``https://<service>.<region>.personakit.invalid``.
ENDPOINT_DOMAIN = "personakit.invalid"

_CHUNK = 1 << 16


def endpoint_url(service_name: str, region: str) -> str:
    """The unresolvable endpoint a local client of ``service_name`` is given."""
    return f"https://{service_name}.{region}.{ENDPOINT_DOMAIN}"


class Unchunked:
    """The payload of an ``aws-chunked`` body (SigV4 streaming, with or without trailers),
    read as it arrives:
    https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
    """

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._buffer = b""
        self._left = 0  # bytes of the current chunk not read yet
        self._done = False

    def _fill(self, n: int) -> bool:
        while len(self._buffer) < n:
            more = self._raw.read(max(n - len(self._buffer), _CHUNK))  # a chunk in one read
            if not more:
                return False
            self._buffer += more if isinstance(more, bytes) else more.encode()
        return True

    def _line(self) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            if not self._fill(len(self._buffer) + 1):
                raise ValueError("an aws-chunked body ends inside a chunk header")
        line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
        return line

    def read(self, amt: int | None = None) -> bytes:
        out = []
        wanted = float("inf") if amt is None or amt < 0 else amt
        got = 0
        while got < wanted and not self._done:
            if self._left == 0:
                size = int(self._line().split(b";", 1)[0], 16)
                if size == 0:
                    self._done = True  # trailers (checksums) follow; nothing to read
                    break
                self._left = size
            take = int(min(self._left, wanted - got))
            if not self._fill(take):
                raise ValueError("an aws-chunked body ends inside a chunk")
            out.append(self._buffer[:take])
            self._buffer = self._buffer[take:]
            self._left -= take
            got += take
            if self._left == 0:
                self._fill(2)
                self._buffer = self._buffer[2:]  # the CRLF after the chunk
        return b"".join(out)


def unchunk(body: bytes) -> bytes:
    """The payload of a whole ``aws-chunked`` body (see :class:`Unchunked`)."""
    return Unchunked(io.BytesIO(body)).read()


class _Raw:
    """The raw body botocore reads a response from (``read`` and ``stream``)."""

    def __init__(self, body: Any) -> None:
        if isinstance(body, (bytes, bytearray)):
            self._file: Any = io.BytesIO(body)
            self._chunks: Iterator[bytes] | None = None
        elif hasattr(body, "read"):
            self._file, self._chunks = body, None
        else:
            self._file, self._chunks = None, iter(body)
        self._pending = b""

    def read(self, amt: int | None = None) -> bytes:
        if self._file is not None:
            data = self._file.read() if amt is None else self._file.read(amt)
            return data if isinstance(data, bytes) else bytes(data)
        assert self._chunks is not None
        if amt is None:
            data = self._pending + b"".join(self._chunks)
            self._pending = b""
            return data
        while len(self._pending) < amt:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._pending += chunk
        data, self._pending = self._pending[:amt], self._pending[amt:]
        return data

    def stream(self, amt: int = _CHUNK, decode_content: bool = True) -> Iterator[bytes]:
        if self._chunks is not None and not self._pending:
            yield from self._chunks
            return
        while True:
            data = self.read(amt)
            if not data:
                return
            yield data

    def close(self) -> None:
        closer = getattr(self._file, "close", None) or getattr(self._chunks, "close", None)
        if closer is not None:
            closer()


def to_request(prepared: AWSPreparedRequest) -> Request:
    """The engine's view of a request botocore prepared."""
    url = urlsplit(prepared.url)
    raw: Any = prepared.headers.items()
    headers = {str(k): v.decode() if isinstance(v, bytes) else str(v) for k, v in raw}
    body: Any = prepared.body
    if body is None:
        body = b""
    elif isinstance(body, (str, bytearray)):
        body = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    encoding = headers.get("Content-Encoding", "") or headers.get("content-encoding", "")
    if "aws-chunked" in encoding:
        body = Unchunked(io.BytesIO(body) if isinstance(body, bytes) else body)
    headers.setdefault("Host", url.netloc)
    return Request(prepared.method, url.path or "/", url.query, headers, body)


def to_response(url: str, reply: Reply) -> AWSResponse:
    """botocore's response object for the engine's reply."""
    headers: Any = reply.headers  # botocore wraps any mapping in its HeadersDict
    return AWSResponse(url, reply.status, headers, _Raw(reply.body))


class Transport:
    """The ``before-send`` handler of one local client: its requests go to ``handler``."""

    def __init__(self, handler: Handler, *, host: str = "", validated: bool = False) -> None:
        self.handler = handler
        self.protocol = protocol_for(handler.service_model, host=host)
        self.validated = validated

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        reply = answer(self.protocol, self.handler, to_request(request), validated=self.validated)
        return to_response(request.url, reply)


@cache
def _boto3_session() -> boto3.Session:
    """A boto3 session over the engine's botocore session (which reads no AWS setup).

    Only environment settings every boto3 client honours (``AWS_MAX_ATTEMPTS``,
    ``AWS_RETRY_MODE``) still apply, as they would on AWS.
    """
    return boto3.Session(botocore_session=botocore_session())


def wire_client(handler: Handler, *, region: str, config: Config | None = None) -> Any:
    """A real boto3 client of ``handler``'s service whose requests the engine answers."""
    model = handler.service_model
    name = model.service_name
    url = endpoint_url(name, region)
    if name == "s3":
        path_style = Config(s3={"addressing_style": "path"})
        config = path_style if config is None else config.merge(path_style)
    with MODEL_LOCK:  # botocore sessions are not thread-safe while they build clients
        client = _boto3_session().client(
            name,  # type: ignore[call-overload]
            region_name=region,
            endpoint_url=url,
            aws_access_key_id="personakit-local",
            aws_secret_access_key="personakit-local",
            config=config,
        )
    # botocore checks required members and types unless told not to (its args.py reads
    # Config.parameter_validation; the engine's session has no profile to say otherwise)
    validated = getattr(config, "parameter_validation", True) is not False
    transport = Transport(handler, host=urlsplit(url).netloc, validated=validated)
    client.meta.events.register_last(f"before-send.{model.service_id.hyphenize()}", transport)
    return client
