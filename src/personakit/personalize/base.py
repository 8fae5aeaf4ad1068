"""What every Personalize resource class builds on: names, lookups, adoption, scope.

:mod:`personakit.personalize.group`, :mod:`~personakit.personalize.solution`,
:mod:`~personakit.personalize.campaign` and the others use:

* :func:`resource_name` / :func:`short_hash`: valid, stable names;
* :func:`find_by` / :func:`find_all`: ``List*`` lookups through botocore's paginators;
* :func:`create_or_adopt`: a ``Create*`` that fails with
  ``ResourceAlreadyExistsException`` adopts the existing resource by name after
  checking it is the same thing. An adopted resource is personakit's to delete only
  when this run made it: it carries this run's ``personakit:run`` tag, or (schemas,
  which take no tags) its name is derived from its content and it appeared after an
  attempt whose response was lost. A retry after such an attempt (read timeout,
  dropped connection, 5xx) first looks for what that attempt may have made, so a
  ``Create*`` without a unique name (``CreateSolutionVersion``) is not sent twice;
  :func:`create_and_register` adds it to the group's
  :class:`~personakit.personalize.teardown.Teardown`;
* :func:`forwards_to`: shortcuts (``group.train``) typed as their targets;
* :class:`Group` and :class:`Deployable`: what a resource needs of its dataset group
  and its solution (Protocols, so these modules never import the ones above them);
* :class:`Scoped`: ``with`` tears the resource down on exit; ``_delete_scope`` deletes
  it now.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import inspect
import logging
import re
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, Protocol, TypeVar

import attrs
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from personakit.aws.context import Ctx
from personakit.aws.paging import paginate
from personakit.aws.retry import error_code
from personakit.errors import ConfigurationError
from personakit.personalize.teardown import Entry, Teardown, TeardownReport, exit_scope
from personakit.rules.facts import MAX_NAME, RecipeType

if TYPE_CHECKING:
    from personakit.aws.session import Session
    from personakit.rules.facts import Domain
    from personakit.rules.filters import Filter
    from personakit.rules.schema import DatasetType, Schema

__all__ = [
    "CLOCK_SKEW",
    "Adopted",
    "Deployable",
    "Group",
    "Later",
    "Scoped",
    "create_and_register",
    "create_or_adopt",
    "find_all",
    "find_by",
    "forwards_to",
    "outcome_unknown",
    "resource_name",
    "short_hash",
]

logger = logging.getLogger(__name__)

_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]+")


# --------------------------------------------------------------------------- names


def short_hash(*parts: object, n: int = 8) -> str:
    """A short hex digest of ``parts`` (for names derived from content)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()
    return digest[:n]


def resource_name(*parts: str, limit: int = MAX_NAME) -> str:
    """A valid Personalize resource name (``^[a-zA-Z0-9][a-zA-Z0-9\\-_]*``, 1-63 chars).

    Parts are joined with ``-``; characters Personalize refuses become ``-``. A name
    that has to be shortened keeps its start and gets a hash of the whole, so two
    long names stay distinct.
    """
    text = "-".join(p for p in parts if p)
    text = _NAME_BAD.sub("-", text).strip("-_") or "pk"
    if not text[0].isalnum():
        text = "pk" + text
    if len(text) <= limit:
        return text
    tail = short_hash(text, n=8)
    return text[: limit - len(tail) - 1].rstrip("-_") + "-" + tail


def find_by(
    ctx: Ctx,
    operation: str,
    key: str,
    match: Callable[[Mapping[str, Any]], bool],
    **kwargs: Any,
) -> Mapping[str, Any] | None:
    """The first summary that ``match``-es of a paginated Personalize ``List*`` call
    (``operation``, e.g. ``"list_solutions"``), read through botocore's paginator one
    retried page at a time (:func:`~personakit.aws.paging.paginate`)."""
    pages = paginate(ctx.call, ctx.personalize, operation, key, **kwargs)
    return next((dict(s) for s in pages if match(s)), None)


def find_all(ctx: Ctx, operation: str, key: str, **kwargs: Any) -> list[Mapping[str, Any]]:
    """Every summary of a paginated Personalize ``List*`` call (see :func:`find_by`)."""
    return list(paginate(ctx.call, ctx.personalize, operation, key, **kwargs))


# --------------------------------------------------------------------------- adoption


@attrs.frozen
class Adopted:
    """How :func:`create_or_adopt` ended: the ARN, whether it was created, whether it is ours."""

    arn: str
    created: bool
    owned: bool


#: How far AWS's clock may be behind this machine's when a creation time is compared
#: with the moment personakit sent its first attempt.
CLOCK_SKEW = dt.timedelta(minutes=5)


def outcome_unknown(exc: BaseException) -> bool:
    """Whether a failed call may still have been carried out by the service.

    True when the request may have reached AWS but its answer did not come back (a
    read timeout, a connection closed mid-way) or the server failed (HTTP 5xx); False
    for an error AWS answered with (throttling, validation: nothing was done) and for
    a connection that was never made.
    """
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status is not None and int(status) >= 500
    if isinstance(exc, ConnectTimeoutError | EndpointConnectionError):
        return False  # nothing was sent
    return isinstance(exc, BotocoreConnectionError | HTTPClientError)


@attrs.define
class _Attempts:
    """The attempts of one ``Create*`` through the retrier.

    Before an attempt that follows one whose outcome is unknown, ``find`` is asked
    for what that attempt may have made; if it finds it, nothing is sent again.
    """

    create: Callable[[], Mapping[str, Any]]
    find: Callable[[], str | None]
    now: Callable[[], dt.datetime]
    label: str = "create"
    first_sent: dt.datetime | None = None
    unknown: bool = False
    found: str | None = None

    @property
    def __name__(self) -> str:  # what retry logs call the operation
        return self.label

    def __call__(self) -> Mapping[str, Any]:
        if self.unknown:
            self.found = self.find()
            if self.found is not None:
                return {}
        if self.first_sent is None:
            self.first_sent = self.now()
        try:
            return self.create()
        except Exception as exc:
            self.unknown = self.unknown or outcome_unknown(exc)
            raise


def create_or_adopt(
    ctx: Ctx,
    *,
    what: str,
    name: str,
    create: Callable[[], Mapping[str, Any]],
    arn_key: str,
    find: Callable[[], str | None],
    check: Callable[[str], None] | None = None,
    adopt: bool = True,
    taggable: bool = True,
    created_at: Callable[[str], dt.datetime | None] | None = None,
    on_lost: Callable[[str], object] | None = None,
) -> Adopted:
    """Send a ``Create*``; when the name is taken, adopt the existing resource.

    Args:
        what: The kind, for messages (``"dataset group"``).
        name: The name sent, for messages.
        create: Sends the ``Create*`` (through the retrier, by this function).
        arn_key: Where the new ARN is in the response (``"datasetGroupArn"``).
        find: The ARN of the existing resource of that name (a ``List*`` lookup),
            or ``None``. Also asked before a retry that follows an attempt whose
            response was lost (:func:`outcome_unknown`): what it finds then was most
            likely made by that attempt, and is adopted instead of sending again.
        check: Raises :class:`~personakit.errors.ConfigurationError` when the
            existing resource is not what ``create`` asked for.
        adopt: ``False`` turns "already exists" into a ConfigurationError.
        taggable: Whether the resource has tags; an adopted resource tagged with
            this run is owned (deleted at teardown).
        created_at: For a resource without tags whose name personakit derives from
            its content (schemas): when the resource was created (see below).
        on_lost: Called with the ARN of the resource an attempt made when the call
            itself does not return: a Ctrl-C while it was on the wire, or a lost
            response the retries could not recover. It is found as above and, when it
            is this run's, handed over (to the teardown) before the error goes on.

    Ownership of an adopted resource: a taggable one is this run's when it carries
    this run's ``personakit:run`` tag (every ``Create*`` personakit sends carries it).
    One without tags is this run's only when all of these hold: (1) the name is
    derived from the content (``created_at`` is given for those only), so only
    personakit gives it and ``check`` has confirmed the content is what was asked
    for; (2) an attempt of this very call may have been carried out without its
    answer arriving (the lost-response path), which is the only way this run can
    have made it while still being told "already exists"; (3) AWS says it was
    created no earlier than that first attempt was sent (less :data:`CLOCK_SKEW`),
    so an identical schema an earlier run left is not claimed. Without a creation
    time, (1) and (2) decide. A resource adopted on any other path is not this
    run's and survives teardown.
    """
    attempts = _Attempts(create, find, ctx.timing.now, label=f"create {what}")

    def ours(arn: str) -> bool:
        if taggable:
            return ctx.tagged_by_this_run(arn)
        owned = attempts.unknown and created_at is not None
        if owned and created_at is not None and attempts.first_sent is not None:
            created = created_at(arn)
            owned = created is None or created >= attempts.first_sent - CLOCK_SKEW
        return owned

    refused: ClientError | None = None
    try:
        response = ctx.call(attempts)
    except BaseException as exc:
        # a Ctrl-C (any BaseException) or a lost answer: the resource may exist
        if not isinstance(exc, Exception) or outcome_unknown(exc):
            if on_lost is not None and attempts.first_sent is not None:
                attempts.unknown = True  # sent, and no answer came back
                _hand_over(what, name, find, ours, on_lost)
            raise
        if not isinstance(exc, ClientError):
            raise
        code = error_code(exc)
        # a retry after a lost response may be told the first attempt's resource is busy
        in_use_after_loss = code == "ResourceInUseException" and attempts.unknown
        if code != "ResourceAlreadyExistsException" and not in_use_after_loss:
            raise
        if not adopt and not attempts.unknown:
            raise ConfigurationError(
                f"a {what} named {name!r} already exists; pass adopt=True to use it, "
                "or choose another name"
            ) from exc
        arn = find()
        if arn is None:
            raise
        refused = exc
    else:
        if attempts.found is None:
            return Adopted(str(response[arn_key]), created=True, owned=True)
        arn = attempts.found
    if check is not None:
        check(arn)
    owned = ours(arn)
    if not adopt and not owned:  # adopt=False still takes what this very call made
        raise ConfigurationError(
            f"a {what} named {name!r} already exists; pass adopt=True to use it, "
            "or choose another name"
        ) from refused
    logger.info(
        "%s %r %s: using %s%s",
        what,
        name,
        "was made by an attempt whose answer was lost" if attempts.unknown and owned else "exists",
        arn,
        " (created by this run)" if owned else " (not deleted at teardown)",
        extra={
            "event": "personakit.adopt",
            "arn": arn,
            "owned": owned,
            "lost_response": attempts.unknown,
        },
    )
    return Adopted(arn, created=False, owned=owned)


def _hand_over(
    what: str,
    name: str,
    find: Callable[[], str | None],
    ours: Callable[[str], bool],
    on_lost: Callable[[str], object],
) -> None:
    """Find what an unanswered ``Create*`` made and hand it to ``on_lost`` if it is this
    run's; best effort, as the call's own error is what goes on."""
    try:
        arn = find()
        if arn is None or not ours(arn):
            return
        on_lost(arn)
    except Exception as exc:
        logger.warning(
            "%s %r: its create got no answer and looking for what it made failed: %s; "
            "`personakit sweep` finds it if it exists",
            what,
            name,
            exc,
            extra={"event": "personakit.adopt.lost_unknown"},
        )
        return
    logger.warning(
        "%s %r was created but its answer never came: %s will be deleted at teardown",
        what,
        name,
        arn,
        extra={"event": "personakit.adopt.lost", "arn": arn},
    )


def create_and_register(
    ctx: Ctx,
    teardown: Teardown,
    kind: str,
    *,
    name: str,
    create: Callable[[], Mapping[str, Any]],
    lookup: Callable[[], Mapping[str, Any] | None],
    arn_key: str,
    parent: Entry | None,
    check: Callable[[str], None] | None = None,
    keep: bool = False,
) -> tuple[Adopted, Entry]:
    """:func:`create_or_adopt`, then register the resource on ``teardown``.

    Args:
        kind: A :data:`KINDS` name (``"campaign"``); with ``_`` as spaces, the ``what``
            of messages.
        name: The name sent; the entry's label.
        create: Sends the ``Create*``.
        lookup: The ``List*`` summary of the existing resource of that name, or ``None``
            (its ``arn_key`` member is the ARN adopted).
        arn_key: Where the ARN is in the ``Create*`` response and in ``lookup``'s summary.
        parent: The entry it depends on.
        check: As in :func:`create_or_adopt`.
        keep: Keep it (and what it needs) at teardown. ``create`` must send
            ``ctx.tags(keep=keep)``: a new resource carries ``personakit:keep=true``
            from its ``Create*`` on; one adopted is tagged when registered.

    Returns:
        How the create ended, and the entry (owned as the adoption says).
    """

    def find() -> str | None:
        found = lookup()
        return None if found is None else str(found[arn_key])

    def lost(arn: str) -> None:
        teardown.add(kind, arn, parent=parent, keep=keep, label=name)

    adopted = create_or_adopt(
        ctx,
        what=kind.replace("_", " "),
        name=name,
        create=create,
        arn_key=arn_key,
        find=find,
        check=check,
        on_lost=lost,
    )
    if adopted.created and (keep or ctx.keep):
        teardown.keep_tagged(adopted.arn)  # its Create* carried ctx.tags(keep=...)
    entry = teardown.add(
        kind, adopted.arn, owned=adopted.owned, parent=parent, keep=keep, label=name
    )
    return adopted, entry


_S = TypeVar("_S", bound="Scoped")
_Owner = TypeVar("_Owner")
_P = ParamSpec("_P")
_R = TypeVar("_R")


def forwards_to(
    target: Callable[Concatenate[Any, _P], _R],
) -> Callable[[Callable[Concatenate[_Owner, ...], _R]], Callable[Concatenate[_Owner, _P], _R]]:
    """Type a shortcut method as its target with the first parameter bound.

    ``group.train(...)`` is ``Solution.create(group, ...)``: the shortcut's body is one
    line and its parameters, for type checkers and ``help()`` (through ``__wrapped__``),
    are the target's, written once. A target in a module the shortcut's module should
    not load at import is named with :class:`Later` (typed as the real one)::

        if TYPE_CHECKING:
            _create = Solution.create
        else:
            _create = Later("personakit.personalize.solution", "Solution.create")

        @forwards_to(_create)
        def train(self, *args: Any, **kwargs: Any) -> Solution:
            return _create(self, *args, **kwargs)
    """

    def decorate(
        method: Callable[Concatenate[_Owner, ...], _R],
    ) -> Callable[Concatenate[_Owner, _P], _R]:
        method.__wrapped__ = target  # type: ignore[attr-defined]
        return method

    return decorate


class Later:
    """``module``'s ``path`` (``"Solution.create"``), imported on the first call.

    For shortcuts whose targets sit in modules that import pandas-heavy code or
    many classes: the shortcut's module stays cheap to import until the shortcut is
    used. The dependency stays visible to import checkers through the shortcut
    module's ``TYPE_CHECKING`` import of the same name. ``inspect.signature`` of a
    ``Later`` is its target's.
    """

    def __init__(self, module: str, path: str) -> None:
        self.module = module
        self.path = path
        self._target: Any = None

    def resolve(self) -> Any:
        """The target, imported the first time."""
        if self._target is None:
            target: Any = importlib.import_module(self.module)
            for part in self.path.split("."):
                target = getattr(target, part)
            self._target = target
        return self._target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(self.resolve())

    def __repr__(self) -> str:
        return f"Later({self.module!r}, {self.path!r})"


class Group(Protocol):
    """What a resource needs of its dataset group
    (:class:`~personakit.personalize.group.DatasetGroup` is the one there is)."""

    @property
    def name(self) -> str: ...
    @property
    def arn(self) -> str: ...
    @property
    def session(self) -> Session: ...
    @property
    def domain(self) -> Domain | None: ...
    @property
    def recommenders(self) -> list[Any]: ...
    @property
    def solutions(self) -> list[Any]: ...
    @property
    def _ctx(self) -> Ctx: ...
    @property
    def _teardown(self) -> Teardown: ...
    @property
    def _entry(self) -> Entry: ...
    @property
    def datasets(self) -> Mapping[DatasetType, Any]: ...
    def filter_arn(self, filter: Filter | str, *, name: str | None = None) -> str: ...
    def schema_of(self, dataset_type: str | DatasetType) -> Schema | None: ...


class Deployable(Protocol):
    """What campaigns and batch jobs need of a solution
    (:class:`~personakit.personalize.solution.Solution` is the one there is)."""

    @property
    def name(self) -> str: ...
    @property
    def group(self) -> Group: ...
    @property
    def recipe_arn(self) -> str: ...
    @property
    def recipe_type(self) -> RecipeType | None: ...
    @property
    def version_arn(self) -> str: ...
    @property
    def campaigns(self) -> list[Any]: ...
    @property
    def _entry(self) -> Entry: ...


class _InGroup(Protocol):
    """What :class:`Scoped` needs of the class it is mixed into."""

    @property
    def _entry(self) -> Entry: ...
    @property
    def group(self) -> Group: ...


class Scoped:
    """Mixin of a resource on its dataset group's teardown stack, used as a context manager.

    The class sets ``self._entry`` (its :class:`Entry`) and has a ``group`` (its
    :class:`~personakit.personalize.group.DatasetGroup`, whose ``_teardown`` it is on). Leaving
    the ``with`` block tears the entry (and what depends on it) down: after an error,
    guarded (:func:`exit_scope`).
    """

    @property
    def keep(self: _InGroup) -> bool:
        """Whether teardown keeps this resource (and what it needs): ``keep=True``."""
        return self._entry.keep

    def _delete_scope(self: _InGroup) -> TeardownReport:
        """Delete the entry now, adopted or not, whatever ``keep`` says; wait until gone."""
        self._entry.keep = False
        return self.group._teardown.run(self._entry, delete_adopted=True, force=True)

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self: _InGroup,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        exit_scope(self.group._teardown, self._entry, exc)
        return False
