"""Values on the wire, shape by shape: what botocore's serializer writes, read back,
and what its parser reads, written.

botocore ships the client half of every protocol (a request serializer and a
response parser). The engine needs the server half; this module holds the part
the protocols share: scalar conversions (timestamps, blobs, floats, header
values) and the JSON body codec used by the ``json`` and ``rest-json`` protocols.

Every output a handler returns is also *checked* here against the operation's
output shape: botocore's parser silently drops a member it does not know and
accepts a wrong type, so a handler bug would otherwise hide. A broken output
raises :class:`OutputShapeError` (a bug in the engine, never the caller's fault).
"""

from __future__ import annotations

import base64
import binascii
import calendar
import io
import json
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from email.utils import formatdate
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.utils import is_json_value_header, parse_timestamp

__all__ = [
    "OutputShapeError",
    "RequestFormatError",
    "as_bytes",
    "check",
    "decode_header",
    "decode_json",
    "decode_scalar",
    "encode_header",
    "encode_json",
    "encode_scalar",
    "epoch",
    "iso8601",
]

_INTEGERS = ("integer", "long")
_FLOATS = ("float", "double")
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class RequestFormatError(ValueError):
    """A request body or member that does not parse as the model's shape.

    The protocols answer it with AWS's ``SerializationException`` (JSON) or
    ``MalformedXML`` / ``InvalidArgument`` (S3).
    """


class OutputShapeError(AssertionError):
    """A handler's output breaks the operation's output shape (an engine bug)."""


# --------------------------------------------------------------------------- scalars


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, bool):
        raise RequestFormatError(f"not a timestamp: {value!r}")
    try:
        parsed: datetime = parse_timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise RequestFormatError(f"not a timestamp: {value!r}") from exc
    return _aware(parsed)


def epoch(value: Any) -> int | float:
    """Epoch seconds (an int when whole), as botocore writes ``unixtimestamp``."""
    moment = _to_datetime(value)
    whole = calendar.timegm(moment.utctimetuple())
    if moment.microsecond:
        return (whole * 10**6 + moment.microsecond) / 10**6
    return whole


def iso8601(value: Any) -> str:
    """``2026-12-06T13:18:54.000Z``: the form S3 writes in XML bodies."""
    moment = _to_datetime(value).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _rfc822(value: Any) -> str:
    return formatdate(calendar.timegm(_to_datetime(value).utctimetuple()), usegmt=True)


def _timestamp(value: Any, shape: Shape, default: str) -> Any:
    fmt = str(shape.serialization.get("timestampFormat", default)).lower()
    if fmt == "unixtimestamp":
        return epoch(value)
    if fmt == "rfc822":
        return _rfc822(value)
    return iso8601(value)


def as_bytes(value: Any) -> bytes:
    """The bytes of a blob a handler returned: bytes, str, or anything readable."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    read = getattr(value, "read", None)
    if read is not None:
        data = read()
        return data if isinstance(data, bytes) else str(data).encode("utf-8")
    raise OutputShapeError(f"a blob must be bytes, str or readable, got {type(value).__name__}")


def decode_scalar(text: str, shape: Shape, *, timestamp: str = "iso8601") -> Any:
    """A scalar from its text form (URI label, query string, XML text, header)."""
    kind = shape.type_name
    try:
        if kind in _INTEGERS:
            return int(text)
        if kind in _FLOATS:
            return _SPECIAL_FLOATS[text] if text in _SPECIAL_FLOATS else float(text)
        if kind == "boolean":
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        if kind == "timestamp":
            fmt = str(shape.serialization.get("timestampFormat", timestamp)).lower()
            if fmt == "unixtimestamp":
                return _to_datetime(float(text))
            return _to_datetime(text)
        if kind == "blob":
            return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise RequestFormatError(f"{text!r} is not a valid {kind}") from exc
    return text


def decode_header(text: str, shape: Shape) -> Any:
    """A header member's value (lists comma-separated, JSON values base64-encoded)."""
    if is_json_value_header(shape):
        try:
            return json.loads(base64.b64decode(text).decode("utf-8"))
        except (ValueError, binascii.Error) as exc:
            raise RequestFormatError(f"header value {text!r} is not base64 JSON") from exc
    if isinstance(shape, ListShape):
        return [decode_header(part.strip(), shape.member) for part in text.split(",") if part]
    return decode_scalar(text, shape, timestamp="rfc822")


def encode_header(value: Any, shape: Shape) -> str:
    """A header member's text, as botocore's parser reads it back."""
    if is_json_value_header(shape):
        return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()
    kind = shape.type_name
    if isinstance(shape, ListShape):
        return ",".join(encode_header(item, shape.member) for item in value)
    if kind == "timestamp":
        return str(_timestamp(value, shape, "rfc822"))
    if kind == "boolean":
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------- JSON bodies


def decode_json(value: Any, shape: Shape, path: str = "") -> Any:
    """A request's JSON value as the Python value a boto3 caller passed.

    Timestamps become aware datetimes, blobs bytes; a value of the wrong JSON type
    raises :class:`RequestFormatError` naming where. Members the shape does not
    have are ignored, as AWS's JSON front ends do.
    """
    if value is None:
        return None
    where = path or "the body"
    if isinstance(shape, StructureShape):
        if shape.is_document_type:
            return value
        if not isinstance(value, dict):
            raise RequestFormatError(f"{where} must be a JSON object")
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            key = member.serialization.get("name", name)
            if key in value and value[key] is not None:
                out[name] = decode_json(value[key], member, f"{path}.{name}" if path else name)
        return out
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise RequestFormatError(f"{where} must be a JSON array")
        return [decode_json(item, shape.member, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            raise RequestFormatError(f"{where} must be a JSON object")
        return {str(k): decode_json(v, shape.value, f"{path}.{k}") for k, v in value.items()}
    kind = shape.type_name
    if kind == "timestamp":
        return _to_datetime(value)
    if kind == "blob":
        if not isinstance(value, str):
            raise RequestFormatError(f"{where} must be a base64 string")
        return decode_scalar(value, shape)
    if kind in _FLOATS:
        if isinstance(value, str) and value in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[value]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RequestFormatError(f"{where} must be a number")
        return float(value)
    if kind in _INTEGERS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RequestFormatError(f"{where} must be an integer")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise RequestFormatError(f"{where} must be true or false")
        return value
    if not isinstance(value, str):
        raise RequestFormatError(f"{where} must be a string")
    return value


def encode_json(value: Any, shape: Shape, problems: list[str], path: str = "") -> Any:
    """``value`` (a handler's output) as the JSON value the service would send.

    Whatever breaks ``shape`` is appended to ``problems`` (unknown or missing
    required members, wrong types, values outside an enum); the caller raises.
    """
    return _encoder(shape)(value, problems, path or "output")


#: ``encode(value, problems, where) -> JSON value``: one compiled per shape (every call
#: of an operation walks the same shapes, so the per-value work is a type check)
_Encode = Callable[[Any, list[str], str], Any]
_ENCODERS: dict[int, _Encode] = {}
_SHAPES: list[Shape] = []  # keeps the shapes alive, so their ids stay theirs


def _encoder(shape: Shape) -> _Encode:
    found = _ENCODERS.get(id(shape))
    if found is None:
        _SHAPES.append(shape)
        _ENCODERS[id(shape)] = _pending(shape)  # a recursive shape finds itself
        found = _ENCODERS[id(shape)] = _compile(shape)
    return found


def _pending(shape: Shape) -> _Encode:
    return lambda value, problems, where: _ENCODERS[id(shape)](value, problems, where)


def _compile(shape: Shape) -> _Encode:
    if isinstance(shape, StructureShape):
        if shape.is_document_type:
            return lambda value, problems, where: value
        return _structure(shape)
    if isinstance(shape, ListShape):
        item = _encoder(shape.member)

        def encode_list(value: Any, problems: list[str], where: str) -> Any:
            if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
                problems.append(f"{where}: expected a list, got {type(value).__name__}")
                return None
            return [item(v, problems, f"{where}[{i}]") for i, v in enumerate(value)]

        return encode_list
    if isinstance(shape, MapShape):
        entry = _encoder(shape.value)

        def encode_map(value: Any, problems: list[str], where: str) -> Any:
            if not isinstance(value, Mapping):
                problems.append(f"{where}: expected a map, got {type(value).__name__}")
                return None
            return {str(k): entry(v, problems, f"{where}.{k}") for k, v in value.items()}

        return encode_map
    if shape.type_name == "string" and not getattr(shape, "enum", None):

        def encode_string(value: Any, problems: list[str], where: str) -> Any:
            if type(value) is str:
                return value
            return encode_scalar(value, shape, problems, where)

        return encode_string
    return lambda value, problems, where: encode_scalar(value, shape, problems, where)


def _structure(shape: StructureShape) -> _Encode:
    members = {
        name: (str(member.serialization.get("name", name)), member)
        for name, member in shape.members.items()
    }
    compiled: dict[str, tuple[str, _Encode]] = {}
    required = tuple(shape.required_members)

    def encode_structure(value: Any, problems: list[str], where: str) -> Any:
        if not isinstance(value, Mapping):
            problems.append(f"{where}: expected a structure, got {type(value).__name__}")
            return None
        out: dict[str, Any] = {}
        for name, item in value.items():
            spec = compiled.get(name)
            if spec is None:
                if name not in members:
                    problems.append(f"{where}: unknown member {name!r}")
                    continue
                key, member = members[name]
                spec = compiled[name] = (key, _encoder(member))
            if item is not None:
                out[spec[0]] = spec[1](item, problems, f"{where}.{name}")
        for name in required:
            if value.get(name) is None:
                problems.append(f"{where}: missing required member {name!r}")
        return out

    return encode_structure


def encode_scalar(value: Any, shape: Shape, problems: list[str], where: str) -> Any:
    kind = shape.type_name
    if kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (datetime, int, float, str)):
            problems.append(f"{where}: expected a timestamp, got {type(value).__name__}")
            return None
        return _timestamp(value, shape, "unixtimestamp")
    if kind == "blob":
        if isinstance(value, (io.IOBase,)) or hasattr(value, "read"):
            value = as_bytes(value)
        if not isinstance(value, (bytes, bytearray, str)):
            problems.append(f"{where}: expected a blob, got {type(value).__name__}")
            return None
        return base64.b64encode(as_bytes(value)).decode("ascii")
    if kind in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{where}: expected a number, got {type(value).__name__}")
            return None
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return value
    if kind in _INTEGERS:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{where}: expected an integer, got {type(value).__name__}")
            return None
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{where}: expected true/false, got {type(value).__name__}")
            return None
        return value
    if not isinstance(value, str):
        problems.append(f"{where}: expected a string, got {type(value).__name__}")
        return None
    enum = getattr(shape, "enum", None)
    if enum and value not in enum:
        problems.append(f"{where}: {value!r} is not one of the enum {list(enum)}")
    return value


def check(problems: list[str], operation: str) -> None:
    """Raise :class:`OutputShapeError` if a handler's output broke its shape."""
    if problems:
        raise OutputShapeError(
            f"the local engine's answer to {operation} breaks botocore's output shape: "
            + "; ".join(problems[:10])
            + (f" (and {len(problems) - 10} more)" if len(problems) > 10 else "")
        )
