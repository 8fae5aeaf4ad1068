"""The engine's operation handlers ("twins" of AWS's services) and what they share.

A :class:`Twin` answers one service's operations from the engine's store: a
subclass defines ``_op_<OperationName>(self, params)`` returning the output dict
(as boto3 returns it, without ``ResponseMetadata``) and signals service errors by
raising :class:`TwinError` with the code (and HTTP status) the service uses.
Callers never call a twin: they use real boto3 clients whose requests the wire
layer (:mod:`personakit.local.wire`) turns into :meth:`Twin.answer` calls, and
whose responses it writes in the service's wire format. Operations without a
handler raise ``NotImplementedError`` naming the operation.

Also here: the engine's botocore models (loaded once, read nothing of the user's
AWS setup), list paging, epoch conversions and the model's server-side
constraints (maximum lengths, patterns, enums) in AWS's wording.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

import botocore.session
from botocore import xform_name
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape
from botocore.utils import parse_timestamp

if TYPE_CHECKING:
    from personakit.local.store import Store

__all__ = [
    "DEFAULT_ACCOUNT",
    "MODEL_LOCK",
    "EngineTwin",
    "Host",
    "Twin",
    "TwinError",
    "botocore_session",
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

#: Held while botocore loads models or builds clients (its sessions are not thread-safe).
MODEL_LOCK = threading.Lock()


# --------------------------------------------------------------------------- models (cached)


def botocore_session() -> botocore.session.Session:
    """A new botocore session that reads nothing of the user's AWS setup (no profile,
    no config or credentials file), so a broken or absent profile cannot stop the
    offline engine.

    The engine keeps one for the service models it answers from and ``local.wire``
    another for its clients: botocore's S3 client rewrites the request URIs of the
    model data its session loaded (the bucket moves to the endpoint), while the
    server side needs them as they travel.
    """
    return botocore.session.Session(
        session_vars={  # name: (config file key, environment variable, default, converter)
            "profile": (None, None, None, None),
            "config_file": (None, None, os.devnull, None),
            "credentials_file": (None, None, os.devnull, None),
        }
    )


@cache
def _session() -> botocore.session.Session:
    return botocore_session()


@cache
def service_model(name: str) -> ServiceModel:
    """The real botocore service model for ``name`` (loaded once per process)."""
    with MODEL_LOCK:
        return _session().get_service_model(name)


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
    """Base class of the engine's operation handlers, one subclass per service.

    A subclass sets :attr:`service_name` and defines ``_op_<OperationName>(params)``
    returning the operation's output dict (as boto3 returns it, without
    ``ResponseMetadata``) or raising :class:`TwinError`. Callers reach it through a
    real boto3 client whose requests the wire layer (:mod:`personakit.local.wire`)
    turns into :meth:`answer` calls.
    """

    #: botocore service name, e.g. ``"personalize"``.
    service_name: ClassVar[str]
    #: check the model's max/pattern/enum constraints server-side (botocore only checks
    #: required members, types and minimums) and answer ``ValidationException`` like
    #: AWS's JSON front ends do
    check_constraints: ClassVar[bool] = True

    def __init__(self, *, region_name: str) -> None:
        self._service_model = service_model(self.service_name)
        self.region_name = region_name

    def __repr__(self) -> str:
        return f"<personakit local {self.service_name} ({self.region_name})>"

    @property
    def service_model(self) -> ServiceModel:
        """The botocore model of the service this twin answers for."""
        return self._service_model

    def _check_open(self) -> None:
        """Raise if the engine behind this twin is closed (subclasses override)."""

    def answer(self, model: OperationModel, params: Params) -> Response:
        """The output of one operation (no ``ResponseMetadata``); ``TwinError`` for a
        service error, ``NotImplementedError`` for an operation without a handler.

        The model's max, pattern and enum constraints are checked first, as the
        service's front end does (botocore checks only required members, types and
        minimums).
        """
        self._check_open()
        handler: Callable[[Params], Response] | None = getattr(self, f"_op_{model.name}", None)
        if handler is None:
            raise NotImplementedError(
                f"{self.service_name}.{xform_name(model.name)} ({model.name}) is not implemented "
                "by the personakit local engine (see docs/local-engine.md for what is)"
            )
        if self.check_constraints and model.input_shape is not None:
            problems = constraint_errors(params, model.input_shape)
            if problems:
                count = len(problems)
                raise TwinError(
                    "ValidationException",
                    f"{count} validation error{'s' if count > 1 else ''} detected: "
                    + "; ".join(problems),
                )
        return handler(params)


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
