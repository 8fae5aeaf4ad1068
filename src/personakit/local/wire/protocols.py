"""The server half of AWS's wire protocols: ``json``, ``rest-json`` and ``rest-xml``.

A :class:`Protocol` turns an HTTP request (as botocore's serializer, the AWS CLI
or any other SDK writes it) into ``(operation, params)`` for an operation handler,
and the handler's output dict or :class:`~personakit.local.twin.TwinError` into
the status, headers and body the service would send, following botocore's own
service model: where each member travels (URI label, query string, header,
payload, body), its type's wire form, each error's HTTP status. Protocols:
https://smithy.io/2.0/aws/protocols/index.html

:func:`answer` is the whole exchange; it never raises for a bad request: an
unknown operation, a body that does not parse or a missing required member get
the error AWS would send.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import formatdate
from functools import cached_property
from typing import Any, ClassVar
from typing import Protocol as TypingProtocol
from urllib.parse import parse_qsl, unquote

from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from botocore.validate import ParamValidator

from personakit.local.twin import TwinError
from personakit.local.wire.codec import (
    OutputShapeError,
    RequestFormatError,
    as_bytes,
    check,
    decode_header,
    decode_json,
    decode_scalar,
    encode_header,
    encode_json,
)
from personakit.local.wire.eventstream import encode_events
from personakit.local.wire.xmlcodec import S3_NAMESPACE, decode_xml, encode_xml, parse_xml

__all__ = [
    "COMMON_ERRORS",
    "Handler",
    "JsonProtocol",
    "Protocol",
    "Reply",
    "Request",
    "RestJsonProtocol",
    "RestXmlProtocol",
    "answer",
    "protocol_for",
]

Body = bytes | Iterator[bytes] | Any  # bytes, an iterator of chunks, or a readable object


@dataclass
class Request:
    """One HTTP request as it reached the engine."""

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    #: the body: bytes, or a readable not read yet (an upload streams to its handler)
    body: bytes | Any = b""

    def data(self) -> bytes:
        """The whole body (read once, on first use)."""
        if not isinstance(self.body, bytes):
            chunks = []
            while chunk := self.body.read(1 << 20):
                chunks.append(chunk)
            self.body = b"".join(chunks)
        return self.body

    def stream(self) -> Any:
        """The body as a readable, not read into memory if it was not yet."""
        return io.BytesIO(self.body) if isinstance(self.body, bytes) else self.body

    def header(self, name: str) -> str | None:
        """A header's value, whatever its case."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


@dataclass
class Reply:
    """One HTTP response: status, headers and a body (bytes, chunks or a stream)."""

    status: int
    headers: dict[str, str]
    body: Body = b""


class Handler(TypingProtocol):
    """What answers operations: an engine twin (``_op_<Name>`` methods)."""

    @property
    def service_model(self) -> ServiceModel:
        """The botocore model of the service it answers for."""

    def answer(self, operation: OperationModel, params: dict[str, Any]) -> dict[str, Any]:
        """The operation's output dict; raises ``TwinError`` for a service error."""


def _http_date() -> str:
    return formatdate(datetime.now(timezone.utc).timestamp(), usegmt=True)


class Protocol:
    """What every protocol shares: operation lookup, validation, error statuses."""

    name: ClassVar[str]
    content_type: ClassVar[str] = "application/json"

    def __init__(self, model: ServiceModel) -> None:
        self.model = model
        self._validator = ParamValidator()

    # ------------------------------------------------------------------ to override
    def operation(self, request: Request) -> OperationModel:
        """The operation ``request`` calls; ``TwinError`` if none."""
        raise NotImplementedError

    def params(self, request: Request, operation: OperationModel) -> dict[str, Any]:
        """The request's parameters as a boto3 caller passed them."""
        raise NotImplementedError

    def reply(self, operation: OperationModel, output: dict[str, Any], request_id: str) -> Reply:
        """The success response for ``output``."""
        raise NotImplementedError

    def error(self, err: TwinError, request_id: str, request: Request | None) -> Reply:
        """The error response for ``err``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared
    def status_of(self, err: TwinError) -> int:
        """The HTTP status of an error: the model's for a modeled code, else the handler's."""
        shape = _error_shape(self.model, err.code)
        status = shape.metadata.get("error", {}).get("httpStatusCode") if shape else None
        return int(status) if status else err.status

    def error_members(self, err: TwinError) -> dict[str, Any]:
        """An error's JSON body members: the message, under the name the error's shape
        gives it (``message``, SageMaker's ``Message``), and the extra members the shape
        declares (``ModelError.OriginalStatusCode``)."""
        shape = _error_shape(self.model, err.code)
        if shape is None:
            return {"message": err.message}
        key = next((m for m in shape.members if m.lower() == "message"), "message")
        extra = {k: v for k, v in err.extra.items() if k in shape.members and k != key}
        body: dict[str, Any] = encode_json(extra, shape, []) if extra else {}
        return {key: err.message, **body}

    def validate(self, params: dict[str, Any], operation: OperationModel) -> None:
        """Required members and types, as the service's front end checks them."""
        shape = operation.input_shape
        if shape is None:
            return
        report = self._validator.validate(params, shape)
        if report.has_errors():
            raise TwinError("ValidationException", report.generate_report())

    def bad_request(self, message: str) -> TwinError:
        """The protocol's answer to a body that does not parse."""
        return TwinError("SerializationException", message)

    def check_code(self, operation: OperationModel, err: TwinError) -> None:
        """Raise :class:`OutputShapeError` if a handler answers with a code the operation
        does not declare and AWS does not send for every operation (an engine bug)."""
        declared = {shape.name for shape in operation.error_shapes}
        if err.code not in declared and err.code not in COMMON_ERRORS:
            raise OutputShapeError(
                f"the local engine answered {operation.name} with {err.code}, which the "
                f"operation does not declare ({', '.join(sorted(declared)) or 'none'}) and "
                "is not a common AWS error"
            )


#: Errors any operation of a JSON service may answer, undeclared in its model:
#: https://docs.aws.amazon.com/personalize/latest/dg/CommonErrors.html and
#: https://docs.aws.amazon.com/sagemaker/latest/APIReference/CommonErrors.html
COMMON_ERRORS = frozenset(
    {
        "AccessDeniedException",
        "IncompleteSignature",
        "InternalFailure",
        "InvalidAction",
        "InvalidClientTokenId",
        "InvalidParameterCombination",
        "InvalidParameterValue",
        "MissingParameter",
        "NotAuthorized",
        "OptInRequired",
        "RequestExpired",
        "SerializationException",
        "ServiceUnavailable",
        "ThrottlingException",
        "UnknownOperationException",
        "UnrecognizedClientException",
        "ValidationError",
        "ValidationException",
    }
)


def answer(
    protocol: Protocol, handler: Handler, request: Request, *, validated: bool = False
) -> Reply:
    """The full exchange: route, parse, validate, answer; every error on the wire.

    ``validated``: the request comes from a botocore client that already checked
    required members and types (its ``parameter_validation``), so only the checks
    botocore leaves to the service run here.

    ``NotImplementedError`` (an operation the engine has no handler for) and
    :class:`~personakit.local.wire.codec.OutputShapeError` (a handler bug)
    propagate: they are the engine's faults, not the caller's.
    """
    request_id = str(uuid.uuid4())
    try:
        operation = protocol.operation(request)
        try:
            params = protocol.params(request, operation)
        except RequestFormatError as exc:
            raise protocol.bad_request(str(exc)) from None
        if not validated:
            protocol.validate(params, operation)
        try:
            output = handler.answer(operation, params)
        except TwinError as err:
            protocol.check_code(operation, err)
            raise
    except TwinError as err:
        return protocol.error(err, request_id, request)
    return protocol.reply(operation, output, request_id)


# --------------------------------------------------------------------------- json


class JsonProtocol(Protocol):
    """``awsJson1_1``: ``POST /`` with ``X-Amz-Target: Prefix.Operation`` and a JSON body
    (Personalize, SageMaker): https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html
    """

    name = "json"

    @cached_property
    def content_type(self) -> str:  # type: ignore[override]
        return f"application/x-amz-json-{self.model.metadata.get('jsonVersion', '1.1')}"

    def operation(self, request: Request) -> OperationModel:
        target = request.header("X-Amz-Target") or ""
        prefix, _, name = target.rpartition(".")
        if request.method != "POST" or prefix != self.model.metadata.get("targetPrefix"):
            raise TwinError("UnknownOperationException", f"Unknown operation {target!r}")
        if name not in self.model.operation_names:
            raise TwinError("UnknownOperationException", f"Unknown operation {target!r}")
        return self.model.operation_model(name)

    def params(self, request: Request, operation: OperationModel) -> dict[str, Any]:
        body = _json_body(request.data())
        shape = operation.input_shape
        if shape is None:
            return {}
        decoded: dict[str, Any] = decode_json(body, shape)
        return decoded

    def reply(self, operation: OperationModel, output: dict[str, Any], request_id: str) -> Reply:
        meta = output.pop("ResponseMetadata", None) or {}
        problems: list[str] = []
        shape = operation.output_shape
        body = encode_json(output, shape, problems) if shape is not None else {}
        check(problems, operation.name)
        headers = self._headers(request_id, meta)
        return Reply(int(meta.get("HTTPStatusCode", 200)), headers, json.dumps(body).encode())

    def _headers(self, request_id: str, meta: Mapping[str, Any]) -> dict[str, str]:
        return {
            "x-amzn-RequestId": request_id,
            "Content-Type": self.content_type,
            "Date": _http_date(),
            **meta.get("HTTPHeaders", {}),
        }

    def error(self, err: TwinError, request_id: str, request: Request | None) -> Reply:
        body = {"__type": err.code, **self.error_members(err)}
        headers = self._headers(request_id, {})
        headers["x-amzn-ErrorType"] = err.code
        return Reply(self.status_of(err), headers, json.dumps(body).encode())


def _json_body(data: bytes) -> Any:
    if not data.strip():
        return {}
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestFormatError(f"the body is not JSON: {exc}") from exc


def _error_shape(model: ServiceModel, code: str) -> StructureShape | None:
    """The shape of error ``code`` in ``model``; None for a code the model lacks."""
    try:
        shape = model.shape_for(code)
    except Exception:  # not a shape of this model
        return None
    return shape if isinstance(shape, StructureShape) else None


# --------------------------------------------------------------------------- rest


@dataclass(frozen=True)
class _Route:
    operation: OperationModel
    method: str
    path: re.Pattern[str]
    labels: tuple[tuple[str, str], ...]  # (regex group, member name)
    literals: tuple[tuple[str, str | None], ...]  # query keys (and values) the URI fixes
    required: tuple[tuple[str, str], ...]  # ("query" | "header", wire name) of required members
    weight: int


def _route(operation: OperationModel) -> _Route:
    uri = operation.http["requestUri"]
    path_template, _, query_template = uri.partition("?")
    pattern, labels, literal_chars = "", [], 0
    for i, piece in enumerate(re.split(r"(\{[^}]+\})", path_template)):
        if piece.startswith("{") and piece.endswith("}"):
            label = piece[1:-1]
            greedy = label.endswith("+")
            group = f"g{i}"
            pattern += f"(?P<{group}>.+)" if greedy else f"(?P<{group}>[^/]+)"
            labels.append((group, label.rstrip("+")))
        else:
            pattern += re.escape(piece)
            literal_chars += len(piece)
    literals: list[tuple[str, str | None]] = []
    for part in filter(None, query_template.split("&")):
        key, eq, value = part.partition("=")
        literals.append((key, value if eq else None))
    shape = operation.input_shape
    required: list[tuple[str, str]] = []
    if shape is not None:
        for name in shape.required_members:
            member = shape.members[name]
            location = member.serialization.get("location")
            if location in ("querystring", "header"):
                where = "query" if location == "querystring" else "header"
                required.append((where, member.serialization.get("name", name)))
    member_labels = tuple((group, _member_for_label(shape, label)) for group, label in labels)
    weight = 1000 * (len(literals) + len(required)) + literal_chars
    return _Route(
        operation,
        operation.http.get("method", "POST"),
        re.compile(pattern),
        member_labels,
        tuple(literals),
        tuple(required),
        weight,
    )


def _member_for_label(shape: StructureShape | None, label: str) -> str:
    """The input member whose URI ``name`` is ``label`` (usually the same name)."""
    if shape is not None:
        for name, member in shape.members.items():
            if member.serialization.get("location") == "uri" and (
                member.serialization.get("name", name) == label
            ):
                return name
    return label


class _Rest(Protocol):
    """What ``rest-json`` and ``rest-xml`` share: routes, labels, query, headers."""

    #: whether a response without body members still has a body (rest-json: ``{}``)
    always_body: ClassVar[bool] = False

    @cached_property
    def _routes(self) -> list[_Route]:
        routes = [_route(self.model.operation_model(n)) for n in self.model.operation_names]
        return sorted(routes, key=lambda r: -r.weight)

    @cached_property
    def _route_of(self) -> dict[str, _Route]:
        return {route.operation.name: route for route in self._routes}

    def path_of(self, request: Request) -> str:
        """The request path the routes match (S3 adds the bucket of a virtual host)."""
        return request.path or "/"

    def operation(self, request: Request) -> OperationModel:
        path = self.path_of(request)
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        for route in self._routes:
            if route.method != request.method or route.path.fullmatch(path) is None:
                continue
            if any(
                key not in query or (v is not None and query[key] != v) for key, v in route.literals
            ):
                continue
            if any(
                (name not in query) if where == "query" else (request.header(name) is None)
                for where, name in route.required
            ):
                continue
            return route.operation
        raise self.unknown(request)

    def unknown(self, request: Request) -> TwinError:
        """The answer to a method and path no operation has."""
        return TwinError(
            "UnknownOperationException",
            f"no operation matches {request.method} {request.path}",
            status=404,
        )

    def params(self, request: Request, operation: OperationModel) -> dict[str, Any]:
        shape = operation.input_shape
        if shape is None:
            return {}
        route = self._route_of[operation.name]
        found = route.path.fullmatch(self.path_of(request))
        assert found is not None
        params: dict[str, Any] = {}
        for group, name in route.labels:
            params[name] = decode_scalar(unquote(found.group(group)), shape.members[name])
        pairs = parse_qsl(request.query, keep_blank_values=True)
        bound: set[str] = {key for key, _ in route.literals}
        for name, member in shape.members.items():
            where = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if where == "querystring" and not isinstance(member, MapShape):
                values = [v for k, v in pairs if k == wire]
                bound.add(wire)
                if not values:
                    continue
                if isinstance(member, ListShape):
                    params[name] = [decode_scalar(v, member.member) for v in values]
                else:
                    params[name] = decode_scalar(values[0], member)
            elif where == "header":
                text = request.header(wire)
                if text is not None:
                    params[name] = decode_header(text, member)
            elif where == "headers":
                prefix = wire.lower()
                values_by_key = {
                    k[len(prefix) :]: v
                    for k, v in request.headers.items()
                    if k.lower().startswith(prefix)
                }
                if values_by_key:
                    params[name] = values_by_key
        for name, member in shape.members.items():  # a query-string map takes the rest
            if member.serialization.get("location") == "querystring" and isinstance(
                member, MapShape
            ):
                rest = {k: v for k, v in pairs if k not in bound}
                if rest:
                    params[name] = rest
        params.update(self.body_params(request, shape))
        return params

    def body_params(self, request: Request, shape: StructureShape) -> dict[str, Any]:
        """The members carried by the body."""
        payload = shape.serialization.get("payload")
        if payload is not None:
            member = shape.members[payload]
            if member.type_name == "blob":  # a stream for a streaming member, as boto3 takes it
                streaming = member.serialization.get("streaming") or member.metadata.get(
                    "streaming"
                )
                return {payload: request.stream() if streaming else request.data()}
            if member.type_name == "string":
                return {payload: request.data().decode("utf-8")} if request.data() else {}
            if not request.data().strip():
                return {}
            return {payload: self.decode_body(request.data(), member)}
        if not any(not m.serialization.get("location") for m in shape.members.values()):
            return {}
        if not request.data().strip():
            return {}
        decoded: dict[str, Any] = self.decode_body(request.data(), shape)
        return decoded

    def decode_body(self, body: bytes, shape: Shape) -> Any:
        """A structured body as the Python value of ``shape``."""
        raise NotImplementedError

    def encode_body(self, value: Any, shape: Shape, problems: list[str]) -> bytes:
        """A structured body written as the protocol does."""
        raise NotImplementedError

    def base_headers(self, request_id: str) -> dict[str, str]:
        """The headers of every response."""
        return {"x-amzn-RequestId": request_id, "Date": _http_date()}

    def reply(self, operation: OperationModel, output: dict[str, Any], request_id: str) -> Reply:
        meta = output.pop("ResponseMetadata", None) or {}
        headers = self.base_headers(request_id)
        status = int(meta.get("HTTPStatusCode", operation.http.get("responseCode", 200)))
        shape = operation.output_shape
        problems: list[str] = []
        body: Body = b""
        if shape is not None:
            for name in output:
                if name not in shape.members:
                    problems.append(f"output: unknown member {name!r}")
            for name, member in shape.members.items():
                value = output.get(name)
                if value is None:
                    continue
                where = member.serialization.get("location")
                wire = member.serialization.get("name", name)
                if where == "header":
                    headers[wire] = encode_header(value, member)
                elif where == "headers":
                    for key, item in dict(value).items():
                        headers[f"{wire}{key}"] = str(item)
                elif where == "statusCode":
                    status = int(value)
            payload = shape.serialization.get("payload")
            if payload is not None:
                body = self._payload(shape.members[payload], output.get(payload), headers, problems)
            else:
                members = {
                    k: v
                    for k, v in output.items()
                    if k in shape.members and not shape.members[k].serialization.get("location")
                }
                if members or self.always_body:
                    body = self.encode_body(members, shape, problems)
                    headers.setdefault("Content-Type", self.content_type)
        elif self.always_body:
            body = b"{}"
        headers.update(meta.get("HTTPHeaders", {}))
        if isinstance(body, bytes):
            check(problems, operation.name)
            return Reply(status, headers, body)
        return Reply(status, headers, _checked(body, problems, operation.name))

    def _payload(
        self, member: Shape, value: Any, headers: dict[str, str], problems: list[str]
    ) -> Body:
        if value is None:
            return b""
        if member.serialization.get("eventstream"):
            headers["Content-Type"] = "application/vnd.amazon.eventstream"
            return encode_events(value, member, problems)
        if member.type_name in ("blob", "string"):
            if isinstance(value, (bytes, bytearray, str)):
                return as_bytes(value)
            if hasattr(value, "read"):
                return value  # a stream: read as the caller reads
            problems.append(f"payload: expected bytes or a stream, got {type(value).__name__}")
            return b""
        headers.setdefault("Content-Type", self.content_type)
        return self.encode_body(value, member, problems)


def _checked(chunks: Any, problems: list[str], operation: str) -> Any:
    """A streamed body whose shape problems surface as the stream is read."""
    if not isinstance(chunks, Iterator):
        return chunks

    def stream() -> Iterator[bytes]:
        for chunk in chunks:
            check(problems, operation)
            yield chunk
        check(problems, operation)

    return stream()


class RestJsonProtocol(_Rest):
    """``restJson1`` (Personalize Runtime and Events, SageMaker Runtime):
    https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html
    """

    name = "rest-json"
    content_type = "application/json"
    always_body = True

    def decode_body(self, body: bytes, shape: Shape) -> Any:
        return decode_json(_json_body(body), shape)

    def encode_body(self, value: Any, shape: Shape, problems: list[str]) -> bytes:
        return json.dumps(encode_json(value, shape, problems)).encode()

    def error(self, err: TwinError, request_id: str, request: Request | None) -> Reply:
        body = self.error_members(err)
        headers = self.base_headers(request_id)
        headers.update({"x-amzn-ErrorType": err.code, "Content-Type": self.content_type})
        return Reply(self.status_of(err), headers, json.dumps(body).encode())


_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


class RestXmlProtocol(_Rest):
    """``restXml`` as S3 speaks it (path-style and virtual-hosted buckets):
    https://smithy.io/2.0/aws/protocols/aws-restxml-protocol.html
    """

    name = "rest-xml"
    content_type = "application/xml"

    def __init__(self, model: ServiceModel, *, host: str = "") -> None:
        super().__init__(model)
        self.host = host.split(":")[0].lower()  # the endpoint's host name, without a port

    def path_of(self, request: Request) -> str:
        path = request.path or "/"
        host = (request.header("Host") or "").split(":")[0].lower()
        if self.host and host.endswith("." + self.host):  # virtual-hosted-style
            bucket = host[: -len(self.host) - 1]
            return f"/{bucket}{path}" if path != "/" else f"/{bucket}"
        return path

    def unknown(self, request: Request) -> TwinError:
        return TwinError(
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
            status=501,
        )

    def check_code(self, operation: OperationModel, err: TwinError) -> None:
        """S3's model declares few of its errors; its codes are listed at
        https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList"""

    def bad_request(self, message: str) -> TwinError:
        return TwinError("MalformedXML", f"The XML you provided was not well-formed: {message}")

    def validate(self, params: dict[str, Any], operation: OperationModel) -> None:
        try:
            super().validate(params, operation)
        except TwinError as err:
            raise TwinError("InvalidRequest", err.message) from None

    def base_headers(self, request_id: str) -> dict[str, str]:
        return {"x-amz-request-id": request_id, "x-amz-id-2": request_id, "Date": _http_date()}

    def decode_body(self, body: bytes, shape: Shape) -> Any:
        return decode_xml(parse_xml(body), shape)

    def reply(self, operation: OperationModel, output: dict[str, Any], request_id: str) -> Reply:
        if operation.name == "GetBucketLocation":  # S3's quirk: the member is the root element
            root = ET.Element("LocationConstraint", xmlns=S3_NAMESPACE)
            root.text = output.get("LocationConstraint") or None
            headers = {**self.base_headers(request_id), "Content-Type": self.content_type}
            return Reply(200, headers, _XML_DECLARATION + ET.tostring(root))
        return super().reply(operation, output, request_id)

    def encode_body(self, value: Any, shape: Shape, problems: list[str]) -> bytes:
        name = shape.serialization.get("name") or shape.name
        root = encode_xml(None, value, shape, name, problems)
        root.set("xmlns", S3_NAMESPACE)
        return _XML_DECLARATION + ET.tostring(root)

    def error(self, err: TwinError, request_id: str, request: Request | None) -> Reply:
        headers = self.base_headers(request_id)
        status = self.status_of(err)
        if request is not None and request.method == "HEAD":
            return Reply(status, headers, b"")  # S3 answers HEAD errors without a body
        root = ET.Element("Error")
        ET.SubElement(root, "Code").text = err.code
        ET.SubElement(root, "Message").text = err.message
        for key, value in err.extra.items():
            ET.SubElement(root, key).text = str(value)
        ET.SubElement(root, "RequestId").text = request_id
        headers["Content-Type"] = self.content_type
        return Reply(status, headers, _XML_DECLARATION + ET.tostring(root))


def protocol_for(model: ServiceModel, *, host: str = "") -> Protocol:
    """The protocol ``model`` speaks (``host``: S3's endpoint host, for virtual hosts)."""
    if model.protocol == "json":
        return JsonProtocol(model)
    if model.protocol == "rest-json":
        return RestJsonProtocol(model)
    if model.protocol == "rest-xml":
        return RestXmlProtocol(model, host=host)
    raise ValueError(f"the local engine does not speak {model.protocol!r}")
