"""The client-twin framework: boto3's method names, botocore's validation, real errors.

A :class:`Twin` is an offline stand-in for one boto3 client. Given a botocore
service name it loads the real service model and behaves, from the caller's side,
like the client ``boto3.client(service_name)`` returns:

* snake_case methods for every operation (``create_dataset_group``), keyword
  arguments only;
* every request validated by botocore's own ``ParamValidator`` against the
  operation's input shape, raising the same ``ParamValidationError`` (the same
  message) a real client raises;
* the client's event hooks fire (``provide-client-params``,
  ``before-parameter-build``, ``before-call``, ``after-call``), so request logs,
  parameter injection and even a ``botocore.stub.Stubber`` work on a twin;
* errors are ``botocore.exceptions.ClientError`` subclasses from
  ``client.exceptions`` (built by botocore's own factory from the model), with the
  parsed error response botocore would build (``Error.Code``, ``Error.Message``,
  ``ResponseMetadata.HTTPStatusCode``, the modeled ``message`` member);
* responses carry ``ResponseMetadata``; timestamps are tz-aware datetimes;
* ``client.meta`` is a real ``botocore.client.ClientMeta`` (``service_model``,
  ``region_name``, ``events``, ``config``); ``get_paginator`` returns botocore's
  own ``Paginator`` driving the twin's List* methods; ``get_waiter`` builds
  botocore's waiters where the service defines any.

A subclass implements an operation by defining ``_op_<OperationName>(self, params)``
returning the response dict (without ``ResponseMetadata``), and signals service
errors by raising :class:`TwinError`. Operations without a handler raise
``NotImplementedError`` naming the operation (after validation, like a real call
would have validated first).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

import botocore.session
from botocore import xform_name
from botocore.awsrequest import AWSResponse
from botocore.client import ClientMeta
from botocore.config import Config
from botocore.errorfactory import ClientExceptionsFactory
from botocore.exceptions import OperationNotPageableError, ParamValidationError
from botocore.hooks import HierarchicalEmitter, first_non_none_response
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape
from botocore.paginate import Paginator
from botocore.utils import parse_timestamp
from botocore.validate import ParamValidator

if TYPE_CHECKING:
    from botocore.errorfactory import BaseClientExceptions
    from botocore.waiter import Waiter

    from personakit.local.store import Store

__all__ = [
    "DEFAULT_ACCOUNT",
    "EngineTwin",
    "Host",
    "Twin",
    "TwinError",
    "constraint_errors",
    "from_epoch",
    "keep_members",
    "page",
    "service_model",
    "to_epoch",
]

Params = dict[str, Any]
Response = dict[str, Any]

#: The account in every ARN of an engine built without ``account_id``.
DEFAULT_ACCOUNT = "000000000000"

_LOCK = threading.Lock()


# --------------------------------------------------------------------------- models (cached)


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def service_model(name: str) -> ServiceModel:
    """The real botocore service model for ``name`` (loaded once per process)."""
    with _LOCK:
        return _session().get_service_model(name)


@cache
def _paginator_config(name: str) -> Mapping[str, Any]:
    with _LOCK:
        try:
            model = _session().get_paginator_model(name)
        except Exception:
            return {}
    config: Mapping[str, Any] = getattr(model, "_paginator_config", {})
    return config


@cache
def _waiter_model(name: str) -> Any:
    with _LOCK:
        try:
            return _session().get_waiter_model(name)
        except Exception:
            return None


_EXCEPTIONS_FACTORY = ClientExceptionsFactory()


def _exceptions(model: ServiceModel) -> BaseClientExceptions:
    with _LOCK:
        return _EXCEPTIONS_FACTORY.create_client_exceptions(model)


# --------------------------------------------------------------------------- helpers


def from_epoch(seconds: float) -> datetime:
    """A tz-aware datetime the way botocore parses a JSON-protocol epoch (local tz)."""
    value: datetime = parse_timestamp(cast(Any, seconds))
    return value


def to_epoch(value: Any) -> float:
    """Epoch seconds of whatever botocore accepts as a timestamp (datetime, number, string)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return float(value.timestamp())
    if isinstance(value, (int, float)):
        return float(value)
    parsed: datetime = parse_timestamp(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def keep_members(data: Mapping[str, Any], shape: Shape) -> dict[str, Any]:
    """``data`` reduced to the members of structure ``shape`` (None values dropped)."""
    assert isinstance(shape, StructureShape)
    return {k: v for k, v in data.items() if k in shape.members and v is not None}


class TwinError(Exception):
    """A service error a twin answers with (becomes a ``ClientError`` for the caller).

    ``code`` is the AWS error code (``ResourceNotFoundException``), ``message`` the
    service's message, ``status`` the HTTP status, ``extra`` more ``Error`` members
    (S3's ``Key``, ``BucketName``...).
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 400,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.extra = dict(extra or {})


def page(
    items: Sequence[Any],
    params: Mapping[str, Any],
    *,
    salt: str = "",
) -> tuple[list[Any], str | None]:
    """One page of ``items`` for a List* request (``maxResults``, at most and by default
    100; ``nextToken``): ``(page, next token or None)``.

    Tokens are opaque (base64 JSON of the offset and ``salt``, which should name the
    request's filters); a token from another listing raises ``InvalidNextTokenException``.
    """
    limit = max(1, min(int(params.get("maxResults") or 100), 100))
    start = 0
    token = params.get("nextToken")
    if token:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(str(token).encode()).decode())
            start = int(decoded["o"])
            if decoded.get("s") != salt or start < 0:
                raise ValueError(token)
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            raise TwinError("InvalidNextTokenException", "Invalid next token.") from None
    chunk = list(items[start : start + limit])
    nxt = None
    if start + limit < len(items):
        raw = json.dumps({"o": start + limit, "s": salt}).encode()
        nxt = base64.urlsafe_b64encode(raw).decode()
    return chunk, nxt


# --------------------------------------------------------------------------- the base class


class Twin:
    """Base class of the client twins; see the module docstring.

    Subclasses set :attr:`service_name` and define ``_op_<OperationName>`` handlers.
    """

    #: botocore service name, e.g. ``"personalize"``.
    service_name: ClassVar[str]
    #: HTTP status of a successful response (S3's DeleteObject answers 204 ...).
    success_status: ClassVar[Mapping[str, int]] = {}
    #: content type of the service's responses (for ``HTTPHeaders``).
    content_type: ClassVar[str] = "application/x-amz-json-1.1"
    #: check the model's max/pattern/enum constraints server-side (botocore only checks
    #: required members, types and minimums) and answer ``ValidationException`` like
    #: AWS's JSON front ends do
    check_constraints: ClassVar[bool] = True

    def __init__(self, *, region_name: str, endpoint_url: str | None = None) -> None:
        model = service_model(self.service_name)
        self._service_model = model
        self._py_to_op: dict[str, str] = {xform_name(op): op for op in model.operation_names}
        self._service_id = model.service_id.hyphenize()
        self._closed = False
        events = HierarchicalEmitter()
        self._events = events
        config = Config(region_name=region_name)
        self.meta = ClientMeta(
            events,
            config,
            endpoint_url or f"local://personakit/{self.service_name}",
            model,
            dict(self._py_to_op),
            "aws",
        )
        self.exceptions = _exceptions(model)
        self._validator = ParamValidator()
        self._register_builtin_handlers(events)

    # ------------------------------------------------------------------ boto3 surface
    def __getattr__(self, name: str) -> Any:
        ops: dict[str, str] | None = self.__dict__.get("_py_to_op")
        if ops is None or name not in ops:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        operation = ops[name]

        def _api_call(*args: Any, **kwargs: Any) -> Any:
            if args:
                raise TypeError(f"{name}() only accepts keyword arguments.")
            return self._make_api_call(operation, kwargs)

        _api_call.__name__ = name
        _api_call.__doc__ = f"``{self.service_name}.{operation}`` on the personakit local engine."
        self.__dict__[name] = _api_call
        return _api_call

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._py_to_op})

    def __repr__(self) -> str:
        return f"<personakit local twin of {self.service_name} ({self.meta.region_name})>"

    def can_paginate(self, operation_name: str) -> bool:
        """Whether ``get_paginator(operation_name)`` works (same answer as boto3)."""
        op = self._py_to_op.get(operation_name)
        return op is not None and op in _paginator_config(self.service_name)

    def get_paginator(self, operation_name: str) -> Paginator[Any]:
        """botocore's own ``Paginator`` over this twin's method."""
        if not self.can_paginate(operation_name):
            raise OperationNotPageableError(operation_name=operation_name)
        op = self._py_to_op[operation_name]
        config = _paginator_config(self.service_name)[op]
        return Paginator(
            getattr(self, operation_name), config, self._service_model.operation_model(op)
        )

    @property
    def waiter_names(self) -> list[str]:
        model = _waiter_model(self.service_name)
        return [xform_name(n) for n in model.waiter_names] if model is not None else []

    def get_waiter(self, waiter_name: str) -> Waiter:
        """botocore's waiter polling this twin (S3 defines some; Personalize none)."""
        from botocore.waiter import create_waiter_with_client

        model = _waiter_model(self.service_name)
        names = {xform_name(n): n for n in (model.waiter_names if model is not None else [])}
        if waiter_name not in names:
            raise ValueError(f"Waiter does not exist: {waiter_name}")
        waiter: Waiter = create_waiter_with_client(names[waiter_name], model, cast(Any, self))
        return waiter

    def close(self) -> None:
        """Like ``client.close()``: nothing to release (the engine owns the resources)."""

    # ------------------------------------------------------------------ the call path
    def _register_builtin_handlers(self, events: HierarchicalEmitter) -> None:
        """The parameter hooks a real client of this service runs (botocore's own).

        botocore registers them on every client: S3's bucket-name check, body
        conversion, SSE-C MD5s and list-key URL encoding run before validation
        exactly as they do for boto3 (and may raise the same errors).
        """
        from botocore import handlers

        for spec in handlers.BUILTIN_HANDLERS:
            event, handler = spec[0], spec[1]
            parts = event.split(".")
            if parts[0] not in _HOOKED_EVENTS or getattr(handler, "__name__", "") in _SKIPPED:
                continue
            if len(parts) > 1 and parts[1] != self._service_id:
                continue
            if parts[0] == "after-call" and len(parts) == 1:
                continue
            if len(spec) > 2 and spec[2] is handlers.REGISTER_FIRST:
                events.register_first(event, handler)
            else:
                events.register(event, handler)

    def _check_open(self) -> None:
        """Raise if the engine behind this twin is closed (subclasses override)."""

    def _make_api_call(self, operation_name: str, api_params: Params) -> Response:
        self._check_open()
        model = self._service_model.operation_model(operation_name)
        events = self._events
        sid = self._service_id
        context: dict[str, Any] = {
            "client_region": self.meta.region_name,
            "client_config": self.meta.config,
            "has_streaming_input": model.has_streaming_input,
            "auth_type": None,
        }
        responses = events.emit(
            f"provide-client-params.{sid}.{operation_name}",
            params=api_params,
            model=model,
            context=context,
        )
        api_params = first_non_none_response(responses, default=api_params)
        events.emit(
            f"before-parameter-build.{sid}.{operation_name}",
            params=api_params,
            model=model,
            context=context,
        )
        self._validate(api_params, model)
        request_dict = {
            "url_path": "/",
            "query_string": "",
            "method": model.http.get("method", "POST"),
            "headers": {},
            "body": api_params,
            "url": self.meta.endpoint_url,
            "context": context,
        }
        _, event_response = events.emit_until_response(
            f"before-call.{sid}.{operation_name}",
            model=model,
            params=request_dict,
            request_signer=None,
            context=context,
        )
        if event_response is not None:
            http, parsed = event_response
        else:
            http, parsed = self._dispatch(model, api_params)
        events.emit(
            f"after-call.{sid}.{operation_name}",
            http_response=http,
            parsed=parsed,
            model=model,
            context=context,
        )
        if http.status_code >= 300:
            code = context.get("error_code_override") or parsed.get("Error", {}).get("Code")
            error_class: Any = self.exceptions.from_code(code)
            raise error_class(parsed, operation_name)
        result: Response = parsed
        return result

    def _validate(self, params: Params, model: OperationModel) -> None:
        if model.input_shape is None:
            if params:
                report = self._validator.validate(params, _EMPTY_SHAPE)
                raise ParamValidationError(report=report.generate_report())
            return
        report = self._validator.validate(params, model.input_shape)
        if report.has_errors():
            raise ParamValidationError(report=report.generate_report())

    def _dispatch(self, model: OperationModel, params: Params) -> tuple[AWSResponse, Response]:
        handler: Callable[[Params], Response] | None = getattr(self, f"_op_{model.name}", None)
        if handler is None:
            raise NotImplementedError(
                f"{self.service_name}.{xform_name(model.name)} ({model.name}) is not implemented "
                "by the personakit local engine (see docs/local-engine.md for what is)"
            )
        request_id = str(uuid.uuid4())
        try:
            if self.check_constraints and model.input_shape is not None:
                problems = constraint_errors(params, model.input_shape)
                if problems:
                    count = len(problems)
                    raise TwinError(
                        "ValidationException",
                        f"{count} validation error{'s' if count > 1 else ''} detected: "
                        + "; ".join(problems),
                    )
            body = handler(params)
        except TwinError as err:
            return self._error(err, model, request_id)
        status = self.success_status.get(model.name, 200)
        meta = body.pop("ResponseMetadata", None) or {}
        body["ResponseMetadata"] = self._metadata(
            request_id, meta.get("HTTPStatusCode", status), meta
        )
        return self._http(body["ResponseMetadata"]), body

    def _metadata(self, request_id: str, status: int, extra: Mapping[str, Any]) -> dict[str, Any]:
        headers = {
            "x-amzn-requestid": request_id,
            "date": datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT"),
            "content-type": self.content_type,
            **extra.get("HTTPHeaders", {}),
        }
        return {
            "RequestId": request_id,
            "HTTPStatusCode": status,
            "HTTPHeaders": headers,
            "RetryAttempts": 0,
        }

    def _http(self, metadata: Mapping[str, Any]) -> AWSResponse:
        return AWSResponse(
            str(self.meta.endpoint_url), metadata["HTTPStatusCode"], metadata["HTTPHeaders"], None
        )

    def _error(
        self, err: TwinError, model: OperationModel, request_id: str
    ) -> tuple[AWSResponse, Response]:
        parsed: Response = {
            "Error": {"Code": err.code, "Message": err.message, **err.extra},
            "ResponseMetadata": self._metadata(
                request_id, err.status, {"HTTPHeaders": {"x-amzn-errortype": err.code}}
            ),
        }
        # botocore adds a modeled exception's members (Personalize: ``message``) at the top.
        try:
            shape = self._service_model.shape_for(err.code)
        except Exception:
            shape = None
        if isinstance(shape, StructureShape):
            for member in shape.members:
                if member.lower() == "message":
                    parsed[member] = err.message
        return self._http(parsed["ResponseMetadata"]), parsed


class Host(Protocol):
    """What an :class:`EngineTwin` needs of the engine it answers from."""

    @property
    def region(self) -> str:
        """The region in every ARN (and the twin's default region)."""

    @property
    def account_id(self) -> str:
        """The 12-digit account in every ARN."""

    @property
    def store(self) -> Store:
        """The workspace's state."""

    def check_open(self) -> None:
        """Raise if the engine is closed."""


class EngineTwin(Twin):
    """A twin answering from an engine (a :class:`Host`): its region by default, its
    store, and a refusal once the engine is closed."""

    def __init__(self, engine: Host, *, region_name: str | None = None) -> None:
        self._engine = engine
        super().__init__(region_name=region_name or engine.region)
        self._store = engine.store

    def _check_open(self) -> None:
        self._engine.check_open()


_EMPTY_SHAPE = StructureShape("Empty", {"type": "structure", "members": {}})
_HOOKED_EVENTS = frozenset({"provide-client-params", "before-parameter-build", "after-call"})
#: hooks that need an HTTP request/response (twins have none)
_SKIPPED = frozenset({"remove_bucket_from_url_paths_from_model", "parse_get_bucket_location"})


@lru_cache(maxsize=512)
def _pattern(text: str) -> re.Pattern[str] | None:
    try:
        return re.compile(text)
    except re.error:  # a Java-only construct such as \p{ASCII}: not checked
        return None


def constraint_errors(value: Any, shape: Shape, path: str = "") -> list[str]:
    """The model constraints ``value`` breaks (max, pattern, enum), in AWS's wording.

    botocore's ``ParamValidator`` checks required members, types and ``min``; the
    service front end checks the rest and answers ``ValidationException`` with
    "Value 'x' at 'name' failed to satisfy constraint: Member must ...".
    """
    out: list[str] = []
    meta = shape.metadata
    shown = "***" if meta.get("sensitive") else str(value)
    where = f"Value '{shown}' at '{path}' failed to satisfy constraint: Member must"
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                out.extend(
                    constraint_errors(value[name], member, f"{path}.{name}" if path else name)
                )
    elif shape.type_name == "list" and isinstance(value, (list, tuple)):
        if "max" in meta and len(value) > meta["max"]:
            out.append(f"{where} have length less than or equal to {meta['max']}")
        member_shape = getattr(shape, "member", None)
        if member_shape is not None:
            for i, item in enumerate(value, 1):
                out.extend(constraint_errors(item, member_shape, f"{path}.{i}.member"))
    elif shape.type_name == "map" and isinstance(value, Mapping):
        if "max" in meta and len(value) > meta["max"]:
            out.append(f"{where} have length less than or equal to {meta['max']}")
        value_shape = getattr(shape, "value", None)
        if value_shape is not None:
            for key, item in value.items():
                out.extend(constraint_errors(item, value_shape, f"{path}.{key}"))
    elif shape.type_name == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            out.append(f"{where} have length less than or equal to {meta['max']}")
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            out.append(f"{where} satisfy enum value set: [{', '.join(enum)}]")
        pattern = _pattern(meta["pattern"]) if "pattern" in meta else None
        if pattern is not None and not pattern.fullmatch(value):
            out.append(f"{where} satisfy regular expression pattern: {meta['pattern']}")
    elif (
        shape.type_name in ("integer", "long", "float", "double")
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and "max" in meta
        and value > meta["max"]
    ):
        out.append(f"{where} have value less than or equal to {meta['max']}")
    return out
