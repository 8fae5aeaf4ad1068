"""What every Personalize resource class builds on: names, lookups, adoption, scope.

:mod:`personakit.personalize.group`, :mod:`~personakit.personalize.solution`,
:mod:`~personakit.personalize.campaign` and the others use:

* :func:`resource_name` / :func:`short_hash`: valid, stable names;
* :func:`find_by` / :func:`find_all`: ``List*`` lookups through botocore's paginators;
* :func:`create_or_adopt`: a ``Create*`` that fails with
  ``ResourceAlreadyExistsException`` adopts the existing resource by name after
  checking it is the same thing. An adopted resource is personakit's to delete only
  when it carries this run's ``personakit:run`` tag (a retried ``Create*`` whose
  first response was lost comes back as "already exists" but was created by this run);
  :func:`create_and_register` adds it to the group's
  :class:`~personakit.personalize.teardown.Teardown`;
* :func:`forwards_to`: shortcuts (``group.train``) typed as their targets;
* :class:`Group` and :class:`Deployable`: what a resource needs of its dataset group
  and its solution (Protocols, so these modules never import the ones above them);
* :class:`Scoped`: ``with`` tears the resource down on exit; ``_delete_scope`` deletes
  it now.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import logging
import re
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, Protocol, TypeVar

import attrs
from botocore.exceptions import ClientError

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
) -> Adopted:
    """Send a ``Create*``; when the name is taken, adopt the existing resource.

    Args:
        what: The kind, for messages (``"dataset group"``).
        name: The name sent, for messages.
        create: Sends the ``Create*`` (through the retrier, by this function).
        arn_key: Where the new ARN is in the response (``"datasetGroupArn"``).
        find: The ARN of the existing resource of that name (a ``List*`` lookup),
            or ``None``.
        check: Raises :class:`~personakit.errors.ConfigurationError` when the
            existing resource is not what ``create`` asked for.
        adopt: ``False`` turns "already exists" into a ConfigurationError.
        taggable: Whether the resource has tags; an adopted resource tagged with
            this run is owned (deleted at teardown).
    """
    try:
        response = ctx.call(create)
    except ClientError as exc:
        if error_code(exc) != "ResourceAlreadyExistsException":
            raise
        if not adopt:
            raise ConfigurationError(
                f"a {what} named {name!r} already exists; pass adopt=True to use it, "
                "or choose another name"
            ) from exc
        arn = find()
        if arn is None:
            raise
        if check is not None:
            check(arn)
        owned = taggable and ctx.tagged_by_this_run(arn)
        logger.info(
            "%s %r already exists: using %s%s",
            what,
            name,
            arn,
            " (created by this run)" if owned else " (not deleted at teardown)",
            extra={"event": "personakit.adopt", "arn": arn, "owned": owned},
        )
        return Adopted(arn, created=False, owned=owned)
    return Adopted(str(response[arn_key]), created=True, owned=True)


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
        keep: Keep it (and what it needs) at teardown.

    Returns:
        How the create ended, and the entry (owned as the adoption says).
    """

    def find() -> str | None:
        found = lookup()
        return None if found is None else str(found[arn_key])

    adopted = create_or_adopt(
        ctx,
        what=kind.replace("_", " "),
        name=name,
        create=create,
        arn_key=arn_key,
        find=find,
        check=check,
    )
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
