"""``personakit serve``: the local engine behind an HTTP endpoint, for any AWS SDK.

The AWS CLI, boto3 with ``endpoint_url=``, the JavaScript or Java SDKs and
Terraform reach the same engine and protocol layers as in-process clients:
``AWS_ENDPOINT_URL=http://127.0.0.1:4599 aws personalize list-dataset-groups``.

A request is routed by the service in its SigV4 credential scope (the
``Authorization`` header, or ``X-Amz-Credential`` of a presigned URL):
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4-create-signed-request.html
Services that share a signing name (``personalize`` signs Personalize, its
runtime and its events) are told apart by the request itself. Signatures are not
checked: the engine has no IAM.

The standard library's ``ThreadingHTTPServer`` serves it: one thread per
connection is plenty for a development endpoint, and it adds no dependency.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from personakit.local.engine import SERVICES
from personakit.local.twin import TwinError
from personakit.local.wire.codec import OutputShapeError
from personakit.local.wire.protocols import Protocol, Reply, Request, answer, protocol_for
from personakit.local.wire.transport import unchunk

if TYPE_CHECKING:
    from personakit.local.engine import LocalEngine
    from personakit.local.twin import Twin

__all__ = ["DEFAULT_PORT", "MAX_BODY", "MAX_S3_BODY", "EngineServer"]

logger = logging.getLogger(__name__)

#: The port ``personakit serve`` listens on by default.
DEFAULT_PORT = 4599
#: The largest request body a JSON service takes (AWS answers 413 above it).
MAX_BODY = 10 * 1024 * 1024
#: The largest single S3 upload (PutObject, UploadPart): 5 GiB,
#: https://docs.aws.amazon.com/AmazonS3/latest/userguide/upload-objects.html
MAX_S3_BODY = 5 * 1024**3

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")


def signing_scope(headers: Mapping[str, str], query: str) -> tuple[str, str] | None:
    """``(region, service)`` of a SigV4-signed request, or None if unsigned."""
    auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    found = _SCOPE.search(auth)
    if found:
        return found.group(1), found.group(2)
    credential = parse_qs(query).get("X-Amz-Credential")
    if credential:
        parts = credential[0].split("/")
        if len(parts) == 5:
            return parts[2], parts[3]
    return None


class EngineServer:
    """The engine's services behind one HTTP endpoint (see the module docstring).

    Args:
        engine: The engine answering (it stays the caller's to close).
        host: The interface to bind: ``127.0.0.1`` unless you mean to share it.
        port: The port; ``0`` picks a free one (see :attr:`url`).
    """

    def __init__(
        self, engine: LocalEngine, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT
    ) -> None:
        self.engine = engine
        self._handlers: dict[str, Twin] = {name: engine.handler(name) for name in SERVICES}
        self._protocols: dict[str, Protocol] = {
            name: protocol_for(h.service_model, host=host) for name, h in self._handlers.items()
        }
        self._by_signing: dict[str, list[str]] = {}
        for name, handler in self._handlers.items():
            self._by_signing.setdefault(handler.service_model.signing_name, []).append(name)
        server = self
        self._http = ThreadingHTTPServer((host, port), _handler_class(server))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The endpoint, e.g. ``http://127.0.0.1:4599``."""
        host, port = self._http.server_address[:2]
        return f"http://{host if isinstance(host, str) else host.decode()}:{port}"

    def route(self, request: Request, scope: tuple[str, str] | None) -> str | None:
        """The engine service a request is for (None: no service takes it)."""
        names = self._by_signing.get(scope[1], []) if scope else list(self._handlers)
        for name in names:
            try:
                self._protocols[name].operation(request)
            except TwinError:
                continue
            return name
        return names[0] if len(names) == 1 else None

    def answer(self, request: Request) -> Reply:
        """The engine's reply to one request; never raises."""
        scope = signing_scope(request.headers, request.query)
        name = self.route(request, scope)
        if name is None:
            service = scope[1] if scope else "(unsigned)"
            return _plain_error(
                404,
                "UnknownOperationException",
                f"no local service answers {service} {request.method} {request.path}",
            )
        protocol = self._protocols[name]
        try:
            return answer(protocol, self._handlers[name], request)
        except NotImplementedError as exc:
            err = TwinError("NotImplemented", str(exc), status=501)
            return protocol.error(err, str(uuid.uuid4()), request)
        except OutputShapeError as exc:
            logger.error("%s", exc)
            err = TwinError("InternalFailure", str(exc), status=500)
            return protocol.error(err, str(uuid.uuid4()), request)
        except Exception as exc:  # a bug must not crash the server or show a traceback
            logger.exception("the local engine failed on %s %s", request.method, request.path)
            err = TwinError(
                "InternalFailure", f"the local engine failed: {type(exc).__name__}", status=500
            )
            return protocol.error(err, str(uuid.uuid4()), request)

    def limit(self, request_line_path: str, headers: Mapping[str, str]) -> int:
        """The largest body this request may carry."""
        scope = signing_scope(headers, urlsplit(request_line_path).query)
        return MAX_S3_BODY if scope and scope[1] == "s3" else MAX_BODY

    def start(self) -> EngineServer:
        """Serve in a background thread (tests, notebooks); :meth:`stop` ends it."""
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="personakit-serve", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` or Ctrl-C (which stops it cleanly)."""
        try:
            self._http.serve_forever()
        finally:
            self._http.server_close()  # waits for the requests in flight

    def stop(self) -> None:
        """Stop accepting requests and wait for those in flight."""
        self._http.shutdown()
        self._http.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> EngineServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _plain_error(status: int, code: str, message: str) -> Reply:
    body = json.dumps({"__type": code, "message": message}).encode()
    return Reply(status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, body)


def _handler_class(server: EngineServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "personakit"
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s " + format, self.address_string(), *args)

        def send_error(
            self, code: int, message: str | None = None, explain: str | None = None
        ) -> None:
            """A request too malformed to route (the standard library's check): AWS's JSON
            error, not an HTML page."""
            self._send(_plain_error(code, "SerializationException", message or explain or ""))
            self.close_connection = True

        def _handle(self) -> None:
            url = urlsplit(self.path)
            headers = dict(self.headers.items())
            try:
                body = self._body(server.limit(self.path, headers))
            except _TooLarge:
                self._send(
                    _plain_error(413, "RequestEntityTooLarge", "the request body is too large")
                )
                self.close_connection = True
                return
            except ValueError as exc:
                self._send(_plain_error(400, "SerializationException", str(exc)))
                self.close_connection = True
                return
            request = Request(self.command, url.path or "/", url.query, headers, body)
            self._send(server.answer(request))

        def _body(self, limit: int) -> bytes:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                return self._chunked(limit)
            length = int(self.headers.get("Content-Length") or 0)
            if length > limit:
                raise _TooLarge
            data = self.rfile.read(length) if length else b""
            if "aws-chunked" in (self.headers.get("Content-Encoding") or ""):
                return unchunk(data)
            return data

        def _chunked(self, limit: int) -> bytes:
            parts: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > limit:
                    raise _TooLarge
                parts.append(self.rfile.read(size))
                self.rfile.readline()

        def _send(self, reply: Reply) -> None:
            body = reply.body
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(key, value)
            if isinstance(body, (bytes, bytearray)):
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in _chunks(body):
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _handle

    return _Handler


class _TooLarge(Exception):
    pass


def _chunks(body: Any) -> Iterator[bytes]:
    if hasattr(body, "read"):
        try:
            while True:
                data = body.read(1 << 16)
                if not data:
                    return
                yield data
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
    else:
        yield from body
