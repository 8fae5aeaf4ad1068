"""Recommenders: domain use cases (ECOMMERCE, VIDEO_ON_DEMAND) that AWS trains and serves.

::

    with group.recommender("top-picks", min_rps=1) as rec:   # deleted (and waited for) on exit
        rec.recommend(user_id="42", n=10)                    # as a campaign's
        rec.stop()                                           # INACTIVE: no minimum bill
        rec.start()

The use cases themselves (names, recipes, what they train on) are facts of
:mod:`personakit.rules.facts`.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, cast

from personakit.aws.wait import (
    PERSONALIZE_START,
    PERSONALIZE_STOP,
    PERSONALIZE_UPDATE,
)
from personakit.errors import ConfigurationError
from personakit.personalize.base import Group, Scoped, create_and_register, find_by, resource_name
from personakit.personalize.serving import (
    Serves,
    SpendGuard,
    item_exploration,
    normalized,
    taken,
)
from personakit.personalize.teardown import Entry, TeardownReport, in_flight, wait_or_teardown
from personakit.rules.facts import USE_CASES, Domain, UseCase, find_use_case

if TYPE_CHECKING:
    from mypy_boto3_personalize.type_defs import RecommenderConfigTypeDef

__all__ = ["RECOMMENDER_TIMEOUT_S", "Recommender", "resolve_use_case"]

logger = logging.getLogger(__name__)


#: Default deadline of recommender creation, start, stop and update (seconds).
RECOMMENDER_TIMEOUT_S = 3 * 3600.0
_RECOMMENDER_CONFIG_KEYS = frozenset(
    {
        "itemExplorationConfig",
        "minRecommendationRequestsPerSecond",
        "trainingDataConfig",
        "enableMetadataWithRecommendations",
    }
)


def resolve_use_case(name: str, domain: str | Domain | None = None) -> UseCase:
    """The :class:`~personakit.rules.facts.UseCase` for a short name, a recipe name or a
    recipe ARN (:func:`~personakit.rules.facts.find_use_case`), refused unless it is one
    of ``domain``'s.

    Raises:
        ConfigurationError: Unknown, or not a use case of ``domain`` (the message
            lists the valid names).
    """
    dom = Domain.parse(domain)
    found = find_use_case(name, dom)
    if dom is None:
        if found is None:
            known = "; ".join(f"{d.value}: {', '.join(sorted(c))}" for d, c in USE_CASES.items())
            raise ConfigurationError(f"unknown use case {name!r}; known: {known}")
        return found
    valid = ", ".join(sorted(USE_CASES[dom]))
    if found is None:
        raise ConfigurationError(
            f"unknown use case {name!r} for a {dom.value} dataset group; valid: {valid}"
        )
    if found.domain != dom:
        raise ConfigurationError(
            f"{found.name!r} is a {found.domain.value} use case; this dataset group is "
            f"{dom.value}, whose use cases are: {valid}"
        )
    return found


def _recommender_config(
    *,
    min_rps: int | None,
    exploration_weight: float | None,
    exploration_item_age_cut_off: float | None,
    enable_metadata: bool | None,
    extra: Mapping[str, Any] | None,
    case: UseCase,
    existing: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    config: dict[str, Any] = dict(existing or {})
    if min_rps is not None:
        if isinstance(min_rps, bool) or not isinstance(min_rps, int) or min_rps < 1:
            raise ConfigurationError(f"min_rps must be an integer >= 1, got {min_rps!r}")
        config["minRecommendationRequestsPerSecond"] = min_rps
    exploration = item_exploration(
        exploration_weight,
        exploration_item_age_cut_off,
        (existing or {}).get("itemExplorationConfig"),
    )
    if exploration is not None:
        if not case.explores:
            personalized = ", ".join(
                sorted(u.name for u in USE_CASES[case.domain].values() if u.explores)
            )
            raise ConfigurationError(
                f"exploration settings apply to personalized use cases ({personalized}); "
                f"{case.name!r} is {case.kind}"
            )
        config["itemExplorationConfig"] = exploration
    if enable_metadata is not None:
        config["enableMetadataWithRecommendations"] = bool(enable_metadata)
    for key, value in (extra or {}).items():
        if key not in _RECOMMENDER_CONFIG_KEYS:
            known = ", ".join(sorted(_RECOMMENDER_CONFIG_KEYS))
            raise ConfigurationError(f"unknown recommenderConfig member {key!r}; known: {known}")
        config[key] = value
    return config


def _config_changes(theirs: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The ``recommenderConfig`` members of ``wanted`` that ``theirs`` does not have
    (``itemExplorationConfig`` compared member by member, as strings)."""
    changes: dict[str, Any] = {}
    for key, value in wanted.items():
        have = theirs.get(key)
        if key == "itemExplorationConfig":
            current = {str(k): str(v) for k, v in (have or {}).items()}
            merged = {**current, **{str(k): str(v) for k, v in value.items()}}
            if merged != current:
                changes[key] = merged
        elif key == "minRecommendationRequestsPerSecond":
            if int(have if have is not None else 1) != int(value):
                changes[key] = value
        elif key == "enableMetadataWithRecommendations":
            if bool(have) != bool(value):
                changes[key] = bool(value)
        elif have != value:
            changes[key] = value
    return changes


class Recommender(Serves, Scoped):
    """A domain recommender (``CreateRecommender``): a use case trained and served by AWS.

    Build one with :meth:`create` (or ``group.recommender("top-picks")``) in an
    ECOMMERCE or VIDEO_ON_DEMAND dataset group; use it as a context manager so it
    is deleted (and waited for) on exit. AWS retrains it every week (and the
    personalized use cases every two hours) for as long as it exists; it bills for
    at least ``min_rps`` requests per second while ``ACTIVE`` (https://docs.aws.amazon.com/personalize/latest/dg/API_CreateRecommender.html).

    Attributes:
        group: The dataset group.
        arn: The recommender's ARN.
        name: Its name.
        use_case: Its :class:`UseCase`.
        config: Its ``recommenderConfig`` as last sent or seen.
        owned: Created by this run (deleted on exit) or adopted.
    """

    _deleted = (
        "recommender {name!r} was deleted: its `with group.recommender(...) as rec:` block "
        "ended (or its dataset group's teardown, or rec.delete(), deleted it). Call "
        "recommend() inside that block, or create it with keep=True to keep it after it "
        "(it bills every hour until deleted: rec.delete() then)"
    )

    def __init__(
        self,
        group: Group,
        arn: str,
        name: str,
        case: UseCase,
        config: Mapping[str, Any],
        *,
        owned: bool,
        entry: Entry,
    ) -> None:
        self.group = group
        self.arn = arn
        self.name = name
        self.use_case = case
        self.config: dict[str, Any] = dict(config)
        self.owned = owned
        self._entry = entry

    @property
    def min_rps(self) -> int:
        """``minRecommendationRequestsPerSecond`` (the minimum bill; AWS's default 1)."""
        return int(self.config.get("minRecommendationRequestsPerSecond", 1))

    # ------------------------------------------------------------------ create

    @classmethod
    def create(
        cls,
        group: Group,
        use_case: str,
        *,
        name: str | None = None,
        min_rps: int | None = None,
        exploration_weight: float | None = None,
        exploration_item_age_cut_off: float | None = None,
        enable_metadata: bool | None = None,
        recommender_config: Mapping[str, Any] | None = None,
        keep: bool = False,
        wait: bool = True,
        timeout_s: float | None = None,
        guard: SpendGuard | None = None,
    ) -> Recommender:
        """Create a recommender for a use case of the group's domain, or adopt one by name.

        Args:
            group: An ECOMMERCE or VIDEO_ON_DEMAND dataset group with its data.
            use_case: A short name of :data:`USE_CASES` (``"top-picks"``,
                ``"best-sellers"``, ...), a recipe name or a recipe ARN.
            name: The recommender's name (default: the group's name and the use case).
            min_rps: ``minRecommendationRequestsPerSecond``: it bills for at least
                this many requests per second while ACTIVE, used or not (``None``: 1
                for a new recommender; an existing one keeps its own).
            exploration_weight: Personalized use cases only (``recommended-for-you``,
                ``top-picks``): 0 (relevance) to 1 (explore new items); AWS's default 0.3.
            exploration_item_age_cut_off: Personalized use cases only: days an item
                counts as new; AWS's default 30.
            enable_metadata: ``enableMetadataWithRecommendations`` (extra cost), so
                ``recommend(metadata_columns=...)`` can return item metadata (``None``:
                off for a new recommender; an existing one keeps its own).
            recommender_config: More ``recommenderConfig`` members (e.g.
                ``trainingDataConfig``), merged over the above.
            keep: Keep the recommender at exit (and the dataset group it needs); it is
                tagged ``personakit:keep=true`` when created, so ``personakit sweep``
                spares it even if no teardown ever runs.
            wait: Wait until it is ``ACTIVE`` (training takes hours on AWS).
            timeout_s: Deadline of that wait (None: 3 hours).
            guard: Asked ``guard.check_recommender(min_rps=...)`` once before
                ``CreateRecommender``, when no recommender of that name exists (a
                :class:`~personakit.CostGuard` checks a month of it against its
                budget). A recommender of that name that exists is adopted: a stopped
                one is started (the guard asked first); if the settings given here
                differ from its configuration, it is updated as :meth:`update` does
                (the guard asked about a higher floor) when this run created it, and
                refused otherwise.

        The returned recommender's ``config`` is what ``DescribeRecommender`` says.

        Raises:
            BudgetExceededError: From the guard; nothing was created or changed.
            ConfigurationError: A custom dataset group (recommenders need a domain),
                a use case of another domain, settings the use case does not take, or
                a recommender of that name with other settings that this run did not
                create (nothing was changed).
            ResourceFailedError: The recommender reached ``CREATE FAILED`` (with
                Personalize's ``failureReason``, e.g. too few ``Purchase`` events); it
                is deleted before this is raised.
        """
        timeout_s = RECOMMENDER_TIMEOUT_S if timeout_s is None else timeout_s
        if group.domain is None:
            raise ConfigurationError(
                f"dataset group {group.name!r} is a custom dataset group: recommenders "
                "need a domain dataset group (DatasetGroup.create(..., domain='ECOMMERCE' or "
                "'VIDEO_ON_DEMAND')); in a custom group, train a solution and deploy a "
                "campaign (group.train(...).deploy())"
            )
        case = resolve_use_case(use_case, group.domain.value)
        asked = _recommender_config(  # the settings given; None: not given
            min_rps=min_rps,
            exploration_weight=exploration_weight,
            exploration_item_age_cut_off=exploration_item_age_cut_off,
            enable_metadata=enable_metadata,
            extra=recommender_config,
            case=case,
        )
        config = {"minRecommendationRequestsPerSecond": 1, **asked}
        if not config.get("enableMetadataWithRecommendations", True):
            del config["enableMetadataWithRecommendations"]  # off is AWS's default
        ctx = group._ctx
        personalize = ctx.personalize
        rname = name or resource_name(group.name, case.name)
        request: dict[str, Any] = {
            "name": rname,
            "datasetGroupArn": group.arn,
            "recipeArn": case.arn,
            "recommenderConfig": config,
            "tags": ctx.tags(keep=keep),
        }
        seen: dict[str, Any] = {}

        def lookup() -> Mapping[str, Any] | None:
            return find_by(
                ctx,
                "list_recommenders",
                "recommenders",
                lambda s: s["name"] == rname,
                datasetGroupArn=group.arn,
            )

        def check(arn: str) -> None:
            theirs = ctx.call(personalize.describe_recommender, recommenderArn=arn)["recommender"]
            seen.update(theirs)
            problems = []
            if theirs.get("recipeArn") != case.arn:
                problems.append(f"use case {theirs.get('recipeArn')}")
            if theirs.get("datasetGroupArn") != group.arn:
                problems.append(f"dataset group {theirs.get('datasetGroupArn')}")
            status = str(theirs.get("status", ""))
            if status.upper().startswith("DELETE"):
                problems.append(f"status {status}")
            if problems:
                raise ConfigurationError(
                    f"a recommender named {rname!r} exists with {'; '.join(problems)}: pass "
                    "another name=..."
                )

        if guard is not None and not taken(lookup()):
            # asked once, outside create_or_adopt's retries; an adopted recommender is
            # asked about below, if it is started or its floor goes up
            guard.check_recommender(min_rps=int(config["minRecommendationRequestsPerSecond"]))
        adopted, entry = create_and_register(
            ctx,
            group._teardown,
            "recommender",
            name=rname,
            create=lambda: personalize.create_recommender(**request),
            lookup=lookup,
            arn_key="recommenderArn",
            parent=group._entry,
            check=check,
            keep=keep,
        )
        changes: dict[str, Any] = {}
        if not adopted.created:
            changes = _config_changes(seen.get("recommenderConfig") or {}, asked)
            if seen.get("recommenderConfig"):
                config = dict(seen["recommenderConfig"])  # what the service has
        recommender = cls(group, adopted.arn, rname, case, config, owned=adopted.owned, entry=entry)
        if changes and not adopted.owned:
            said = "; ".join(f"{k} {config.get(k)!r}, asked {v!r}" for k, v in changes.items())
            raise ConfigurationError(
                f"a recommender named {rname!r} exists with another configuration ({said}) "
                "and this run did not create it, so personakit does not change it: create "
                "it with its settings to use it as it is (then recommender.update(...) "
                "changes it, through your guard), or pass another name=..."
            )
        if all(r.arn != recommender.arn for r in group.recommenders):
            group.recommenders.append(recommender)
        if wait or changes:  # an update needs it ACTIVE

            def ready() -> None:
                status = normalized(seen.get("status"))
                if not adopted.created and (status == "INACTIVE" or status.startswith("STOP")):
                    logger.info("recommender %s is %s: starting it", rname, status)
                    recommender.start(timeout_s=timeout_s, guard=guard)
                else:
                    recommender.wait(timeout_s)

            wait_or_teardown(group._teardown, entry, ready)
        if changes:
            logger.info(
                "recommender %s exists with another configuration: updating %s",
                rname,
                ", ".join(changes),
                extra={"event": "personakit.recommender.redeploy", "arn": recommender.arn},
            )
            recommender.update(
                recommender_config=changes, wait=wait, timeout_s=timeout_s, guard=guard
            )
        return recommender

    # ------------------------------------------------------------------ lifecycle

    def describe(self) -> Mapping[str, Any]:
        """``DescribeRecommender`` (the ``recommender`` member)."""
        ctx = self.group._ctx
        response = ctx.call(ctx.personalize.describe_recommender, recommenderArn=self.arn)
        return dict(response["recommender"])

    def status(self) -> str:
        """The current status (``ACTIVE``, ``INACTIVE``, ``STOP PENDING`` ...)."""
        return str(self.describe().get("status"))

    @property
    def metrics(self) -> Mapping[str, float]:
        """``modelMetrics`` of the recommender's latest training (``coverage`` ...)."""
        return {str(k): float(v) for k, v in (self.describe().get("modelMetrics") or {}).items()}

    def wait(self, timeout_s: float = RECOMMENDER_TIMEOUT_S) -> Recommender:
        """Wait until the recommender is ``ACTIVE``.

        Raises:
            ResourceFailedError: It reached ``CREATE FAILED`` (``failure_reason`` says why).
            WaitTimeoutError: ``timeout_s`` passed first.
        """
        ctx = self.group._ctx
        ctx.wait(
            lambda: ctx.personalize.describe_recommender(recommenderArn=self.arn),
            arn=self.arn,
            timeout_s=timeout_s,
            label=self.name,
            training=True,
        )
        return self

    def stop(self, *, wait: bool = True, timeout_s: float = RECOMMENDER_TIMEOUT_S) -> str:
        """Stop the recommender (``StopRecommender``): no requests, no minimum bill.

        ``ACTIVE`` -> ``STOP PENDING`` -> ``STOP IN_PROGRESS`` -> ``INACTIVE``. A
        recommender already stopped or stopping is only waited for. Returns the
        status reached (``INACTIVE`` once waited for).
        """
        return self._step("stop", timeout_s=timeout_s, wait=wait)

    def start(
        self,
        *,
        wait: bool = True,
        timeout_s: float = RECOMMENDER_TIMEOUT_S,
        guard: SpendGuard | None = None,
    ) -> str:
        """Start a stopped recommender (``StartRecommender``) and wait until ``ACTIVE``.

        ``INACTIVE`` -> ``START PENDING`` -> ``START IN_PROGRESS`` -> ``ACTIVE``.
        A recommender already active or starting is only waited for. ``guard`` (a
        :class:`~personakit.CostGuard`) is asked before ``StartRecommender``, since a
        started recommender bills again; it raises
        :class:`~personakit.errors.BudgetExceededError` and nothing is sent.
        """
        return self._step("start", timeout_s=timeout_s, wait=wait, guard=guard)

    def _step(
        self,
        action: Literal["start", "stop"],
        *,
        timeout_s: float,
        wait: bool,
        guard: SpendGuard | None = None,
    ) -> str:
        ctx = self.group._ctx
        personalize = ctx.personalize
        status = self.status()
        norm = normalized(status)
        done, other = ("INACTIVE", "ACTIVE") if action == "stop" else ("ACTIVE", "INACTIVE")
        if norm != done and not norm.startswith(action.upper()):
            if norm.startswith("STOP" if action == "start" else "START") or (
                action == "stop" and in_flight(status)
            ):
                # the opposite walk (or the creation) is under way: let it finish first
                ctx.wait(
                    lambda: personalize.describe_recommender(recommenderArn=self.arn),
                    arn=self.arn,
                    timeout_s=timeout_s,
                    spec=PERSONALIZE_STOP if action == "start" else PERSONALIZE_START,
                    label=self.name,
                )
                norm = other
            if norm != other:
                raise ConfigurationError(
                    f"recommender {self.name!r} is {status}: it can be {action}ed only when {other}"
                )
            if action == "start" and guard is not None:
                guard.check_recommender(min_rps=self.min_rps)
            call = (
                personalize.stop_recommender if action == "stop" else personalize.start_recommender
            )
            ctx.call(call, recommenderArn=self.arn)
            logger.info(
                "%s recommender %s",
                "stopping" if action == "stop" else "starting",
                self.name,
                extra={"event": f"personakit.recommender.{action}", "arn": self.arn},
            )
            status = f"{action.upper()} PENDING"
        if not wait:
            return status
        result = ctx.wait(
            lambda: personalize.describe_recommender(recommenderArn=self.arn),
            arn=self.arn,
            timeout_s=timeout_s,
            spec=PERSONALIZE_STOP if action == "stop" else PERSONALIZE_START,
            label=f"{self.name} {action}",
        )
        return str(result.status)

    def update(
        self,
        min_rps: int | None = None,
        *,
        exploration_weight: float | None = None,
        exploration_item_age_cut_off: float | None = None,
        enable_metadata: bool | None = None,
        recommender_config: Mapping[str, Any] | None = None,
        wait: bool = True,
        timeout_s: float = RECOMMENDER_TIMEOUT_S,
        guard: SpendGuard | None = None,
    ) -> Recommender:
        """Change the recommender's configuration (``UpdateRecommender``).

        The configuration sent is the current one (``DescribeRecommender``) with
        the changes merged in, so settings not named here are kept. The old
        configuration serves until the update is ``ACTIVE``.

        Args:
            guard: When the new ``minRecommendationRequestsPerSecond`` is above the
                current one, asked ``guard.check_recommender(min_rps=...,
                current_rps=...)`` before ``UpdateRecommender``: the increase is checked.

        Raises:
            BudgetExceededError: From the guard; nothing was sent.
        """
        if (
            min_rps is None
            and exploration_weight is None
            and exploration_item_age_cut_off is None
            and enable_metadata is None
            and not recommender_config
        ):
            raise ConfigurationError("update() needs something to change")
        current = self.describe().get("recommenderConfig") or self.config
        config = _recommender_config(
            min_rps=min_rps,
            exploration_weight=exploration_weight,
            exploration_item_age_cut_off=exploration_item_age_cut_off,
            enable_metadata=enable_metadata,
            extra=recommender_config,
            case=self.use_case,
            existing=current,
        )
        if guard is not None:
            before = int(current.get("minRecommendationRequestsPerSecond", 1))
            after = int(config.get("minRecommendationRequestsPerSecond", before))
            if after > before:
                guard.check_recommender(min_rps=after, current_rps=before)
        ctx = self.group._ctx
        ctx.call(
            ctx.personalize.update_recommender,
            recommenderArn=self.arn,
            recommenderConfig=cast("RecommenderConfigTypeDef", config),
        )
        if not wait:
            self.config = dict(current)  # what serves until the update is ACTIVE
            return self
        ctx.wait(
            lambda: ctx.personalize.describe_recommender(recommenderArn=self.arn),
            arn=self.arn,
            timeout_s=timeout_s,
            spec=PERSONALIZE_UPDATE,
            label=f"{self.name} update",
        )
        self.config = config
        return self

    # ------------------------------------------------------------------ runtime

    @property
    def _target(self) -> dict[str, str]:
        return {"recommenderArn": self.arn}

    def _check_ids(self, user_id: str | None, item_id: str | None) -> None:
        """Which of ``user_id`` and ``item_id`` a use case needs
        (https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-use-cases.html): e.g.
        ``top-picks`` needs ``user_id``, ``because-you-watched-x`` both,
        ``frequently-bought-together`` ``item_id``."""
        case = self.use_case
        for what, value, need in (("user_id", user_id, case.user), ("item_id", item_id, case.item)):
            if need == "required" and value is None:
                raise ConfigurationError(f"the {case.name} use case needs {what}=")
            if need == "unused" and value is not None:
                raise ConfigurationError(f"the {case.name} use case takes no {what}")

    # ------------------------------------------------------------------ teardown

    def delete(self) -> TeardownReport:
        """Delete the recommender and wait until it is gone (whatever ``keep`` says)."""
        return self._delete_scope()

    # ------------------------------------------------------------------ display

    def __repr__(self) -> str:
        return (
            f"Recommender({self.name!r}, use_case={self.use_case.name!r}, "
            f"min_rps={self.min_rps}, arn={self.arn!r})"
        )

    def _repr_html_(self) -> str:
        return (
            f"<div><b>Recommender {html.escape(self.name)}</b> "
            f"({html.escape(self.use_case.domain)} / {html.escape(self.use_case.name)}, "
            f"min RPS {self.min_rps})<br><code>{html.escape(self.arn)}</code></div>"
        )
