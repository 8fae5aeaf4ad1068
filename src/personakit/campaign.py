"""Campaigns: deployed solution versions, and real-time recommendations from them.

::

    with solution.deploy(min_tps=1) as campaign:        # deleted (and waited for) on exit
        recs = campaign.recommend(user_id="42", n=10,
                                  filter=pk.Filter.exclude_items("Items.GENRES IN ($genres)"),
                                  filter_values={"genres": ["Horror"]})
        recs.to_frame()

A campaign bills every hour it exists, for at least ``min_tps`` transactions per
second, whether it serves requests or not; so :meth:`Solution.deploy` returns a
context manager, and the dataset group's teardown deletes the campaign too. A
``filter=`` given as a :class:`personakit.Filter` (or an expression) is created in
the dataset group on first use, cached by expression, and deleted at teardown.

Domain dataset groups (ECOMMERCE, VIDEO_ON_DEMAND) serve recommendations through
a :class:`Recommender` instead: a use case AWS trains and retrains for you::

    with group.recommender("top-picks", min_rps=1) as rec:   # deleted (and waited for) on exit
        rec.recommend(user_id="42", n=10)                    # same arguments and results
        rec.stop()                                           # INACTIVE: no minimum bill
        rec.start()

:func:`recommend_request` builds the ``GetRecommendations`` request of both.
"""

from __future__ import annotations

import html
import logging
import operator
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload

import attrs

from personakit._resource import (
    Entry,
    Scoped,
    TeardownReport,
    create_and_register,
    find_by,
    in_flight,
    resource_name,
    wait_or_teardown,
)
from personakit._wait import (
    PERSONALIZE_START,
    PERSONALIZE_STOP,
    PERSONALIZE_UPDATE,
    normalize_status,
)
from personakit.errors import ConfigurationError
from personakit.filters import Filter, encode_filter_values

if TYPE_CHECKING:
    import pandas as pd

    from personakit.dataset import DatasetGroup
    from personakit.solution import Solution

__all__ = [
    "USE_CASES",
    "Campaign",
    "Promotion",
    "Recommendation",
    "Recommendations",
    "Recommender",
    "SpendGuard",
    "UseCase",
    "filter_request",
    "recommend_request",
    "resolve_use_case",
]


class SpendGuard(Protocol):
    """What deploys ask before creating (or raising the floor of) something that bills hourly.

    :class:`personakit.CostGuard` is one; its checks raise
    :class:`~personakit.errors.BudgetExceededError` to refuse, and nothing is created
    or changed. A create asks once, before ``Create*`` (not inside its retries), and
    only when nothing of that name exists: adopting an existing resource adds no cost.
    An update asks with the current floor (``current_tps`` / ``current_rps``) only
    when the floor goes up.
    """

    def check_campaign(self, min_tps: int, *, current_tps: int | None = None) -> object: ...

    def check_recommender(self, *, min_rps: int = 1, current_rps: int | None = None) -> object: ...


logger = logging.getLogger(__name__)

#: Default deadline of campaign creation and updates (seconds).
CAMPAIGN_TIMEOUT_S = 3600.0
MAX_RESULTS = 500
#: ``numResults`` cap when item metadata is asked for (reference §5.2).
MAX_RESULTS_WITH_METADATA = 50
MAX_INPUT_LIST = 500
#: ``numResults`` cap of ``GetActionRecommendations`` (botocore's service model).
MAX_ACTIONS = 100

FilterLike = Filter | str
"""A :class:`~personakit.filters.Filter`, a filter expression, or a filter ARN."""


# --------------------------------------------------------------------------- results


def _str_tuple(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in values or ())


def _str_dict(values: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (values or {}).items()}


@attrs.frozen
class Recommendation:
    """One recommended item.

    Attributes:
        item_id: The item's id.
        score: Personalize's score (``None`` for recipes that give none, e.g.
            Personalized-Ranking-v2 for items without interactions).
        promotion_name: The promotion that put it there, if any.
        metadata: Item metadata asked for with ``metadata_columns``.
        reason: Why it is there (User-Personalization-v2): ``"Promoted item"``, ...
    """

    item_id: str
    score: float | None = None
    promotion_name: str | None = None
    metadata: Mapping[str, str] = attrs.field(factory=dict, converter=_str_dict)
    reason: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Recommendation:
        """From one entry of ``itemList`` / ``personalizedRanking`` / ``actionList``
        (an action's ``actionId`` becomes ``item_id``)."""
        score = item.get("score")
        return cls(
            str(item["itemId"] if "itemId" in item else item["actionId"]),
            None if score is None else float(score),
            item.get("promotionName"),
            item.get("metadata") or {},
            item.get("reason") or (),
        )


def _recs(values: Any) -> tuple[Recommendation, ...]:
    return tuple(values)


@attrs.frozen
class Recommendations:
    """What ``recommend`` or ``rank`` returned: iterable, indexable, ``to_frame()``-able.

    Attributes:
        items: The recommendations, best first.
        recommendation_id: Personalize's ``recommendationId`` (send it back with events).
        raw: The response as received.
    """

    items: tuple[Recommendation, ...] = attrs.field(converter=_recs)
    recommendation_id: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_response(cls, response: Mapping[str, Any], key: str = "itemList") -> Recommendations:
        """From a ``GetRecommendations`` (``itemList``) or ``GetPersonalizedRanking``
        (``personalizedRanking``) response."""
        items = [Recommendation.from_item(i) for i in response.get(key) or ()]
        return cls(items, response.get("recommendationId"), dict(response))

    @property
    def item_ids(self) -> list[str]:
        """The item ids, best first."""
        return [r.item_id for r in self.items]

    def __iter__(self) -> Iterator[Recommendation]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> Recommendation: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Recommendation, ...]: ...
    def __getitem__(self, index: int | slice) -> Recommendation | tuple[Recommendation, ...]:
        return self.items[index]

    def to_frame(self) -> pd.DataFrame:
        """One row per item: ``rank`` (1-based), ``item_id``, ``score``,
        ``promotion_name``, ``reason``, then one column per metadata field."""
        import pandas as pd

        rows = []
        for rank, rec in enumerate(self.items, start=1):
            row: dict[str, Any] = {
                "rank": rank,
                "item_id": rec.item_id,
                "score": rec.score,
                "promotion_name": rec.promotion_name,
                "reason": list(rec.reason),
            }
            row.update(rec.metadata)
            rows.append(row)
        columns = ["rank", "item_id", "score", "promotion_name", "reason"]
        frame = pd.DataFrame(rows, columns=None if rows else columns)
        return frame

    def __str__(self) -> str:
        head = f"Recommendations({len(self.items)} items, id={self.recommendation_id})"
        lines = [
            f"  {i:>3}. {r.item_id}" + ("" if r.score is None else f"  {r.score:.4f}")
            for i, r in enumerate(self.items[:10], start=1)
        ]
        if len(self.items) > 10:
            lines.append(f"  ... {len(self.items) - 10} more")
        return "\n".join([head, *lines])

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{i}</td><td><code>{html.escape(r.item_id)}</code></td>"
            f"<td>{'' if r.score is None else f'{r.score:.4f}'}</td>"
            f"<td>{html.escape(r.promotion_name or '')}</td>"
            f"<td>{html.escape(', '.join(f'{k}={v}' for k, v in r.metadata.items()))}</td></tr>"
            for i, r in enumerate(self.items, start=1)
        )
        return (
            f"<div><b>{len(self.items)} recommendations</b> "
            f"(id <code>{html.escape(str(self.recommendation_id))}</code>)"
            "<table><tr><th>#</th><th>item</th><th>score</th><th>promotion</th>"
            f"<th>metadata</th></tr>{rows}</table></div>"
        )


@attrs.frozen
class Promotion:
    """A promotion for ``recommend(promotions=[...])``: a share of the slots for items a
    filter selects (User-Personalization, Popular-Items and Related-Items recipes).

    Attributes:
        name: The promotion's name (it comes back as ``promotion_name``).
        filter: A ``personakit.Filter``, an expression or a filter ARN.
        percent: Share of recommendations, 1-100.
        filter_values: Values for the filter's placeholders.
    """

    name: str
    filter: FilterLike
    percent: int = 10
    filter_values: Mapping[str, Any] | None = None


# --------------------------------------------------------------------------- campaign


def _item_exploration(
    weight: float | None, cut_off: float | None, existing: Mapping[str, str] | None = None
) -> dict[str, str] | None:
    if weight is None and cut_off is None:
        return None
    config = dict(existing or {})
    if weight is not None:
        if not 0.0 <= float(weight) <= 1.0:
            raise ConfigurationError(f"exploration_weight must be in [0, 1], got {weight!r}")
        config["explorationWeight"] = str(weight)
    if cut_off is not None:
        if not float(cut_off) > 0:
            raise ConfigurationError(
                f"exploration_item_age_cut_off must be > 0 days, got {cut_off!r}"
            )
        config["explorationItemAgeCutOff"] = str(cut_off)
    return config


class Campaign(Scoped):
    """A deployed solution version answering real-time requests.

    Build one with :meth:`Solution.deploy`; use it as a context manager so it is
    deleted (and waited for) on exit.

    Attributes:
        solution: The solution it serves.
        arn: The campaign's ARN.
        name: Its name.
        solution_version_arn: The version it serves.
        min_tps: Its ``minProvisionedTPS`` (the minimum bill).
        owned: Created by this run (deleted on exit) or adopted.
    """

    def __init__(
        self,
        solution: Solution,
        arn: str,
        name: str,
        solution_version_arn: str,
        min_tps: int,
        *,
        owned: bool,
        entry: Entry,
    ) -> None:
        self.solution = solution
        self.arn = arn
        self.name = name
        self.solution_version_arn = solution_version_arn
        self.min_tps = min_tps
        self.owned = owned
        self._entry = entry

    @property
    def group(self) -> DatasetGroup:
        """The dataset group."""
        return self.solution.group

    @property
    def keep(self) -> bool:
        """Whether teardown keeps this campaign (and what it needs)."""
        return self._entry.keep

    # ------------------------------------------------------------------ create

    @classmethod
    def create(
        cls,
        solution: Solution,
        min_tps: int = 1,
        *,
        name: str | None = None,
        exploration_weight: float | None = None,
        exploration_item_age_cut_off: float | None = None,
        enable_metadata: bool = False,
        keep: bool = False,
        wait: bool = True,
        timeout_s: float = CAMPAIGN_TIMEOUT_S,
        guard: SpendGuard | None = None,
    ) -> Campaign:
        """Deploy the solution's latest version.

        Args:
            solution: What to deploy (its :attr:`Solution.version_arn`).
            min_tps: ``minProvisionedTPS``: the campaign bills for at least this many
                transactions per second, every hour, used or not.
            name: The campaign's name (unique in the account; default: the
                solution's name and the run id).
            exploration_weight: User-Personalization only: 0 (relevance) to 1
                (explore new items); AWS's default is 0.3.
            exploration_item_age_cut_off: User-Personalization only: days an item
                counts as new; AWS's default is 30.
            enable_metadata: ``enableMetadataWithRecommendations`` (extra cost), so
                ``recommend(metadata_columns=...)`` can return item metadata.
            keep: Keep the campaign at exit (and the solution and group it needs).
            wait: Wait until it is ``ACTIVE``.
            timeout_s: Deadline of that wait.
            guard: Asked ``guard.check_campaign(min_tps)`` once before
                ``CreateCampaign``, when no campaign of that name exists (an adopted
                campaign is not asked about; a :class:`~personakit.CostGuard` checks a
                month of the TPS floor against its budget).

        Raises:
            BudgetExceededError: From the guard; nothing was created.
            QuotaExceededError: 5 active campaigns per dataset group already.
            ResourceFailedError: The campaign reached ``CREATE FAILED``.
        """
        if isinstance(min_tps, bool) or not isinstance(min_tps, int) or min_tps < 1:
            raise ConfigurationError(f"min_tps must be an integer >= 1, got {min_tps!r}")
        kind = solution.recipe_type
        exploration = _item_exploration(exploration_weight, exploration_item_age_cut_off)
        if exploration is not None and kind not in (None, "USER_PERSONALIZATION"):
            raise ConfigurationError(
                f"exploration settings apply to User-Personalization recipes only; "
                f"{solution.recipe_arn} is {kind}"
            )
        group = solution.group
        ctx = group._ctx
        personalize = ctx.personalize
        version = solution.version_arn
        cname = name or resource_name(solution.name, ctx.session.run_id)
        request: dict[str, Any] = {
            "name": cname,
            "solutionVersionArn": version,
            "minProvisionedTPS": min_tps,
            "tags": ctx.tags(),
        }
        config: dict[str, Any] = {}
        if exploration is not None:
            config["itemExplorationConfig"] = exploration
        if enable_metadata:
            config["enableMetadataWithRecommendations"] = True
        if config:
            request["campaignConfig"] = config

        def lookup() -> Mapping[str, Any] | None:
            return find_by(
                ctx, personalize.list_campaigns, "campaigns", lambda s: s["name"] == cname
            )

        def check(arn: str) -> None:
            theirs = ctx.call(personalize.describe_campaign, campaignArn=arn)["campaign"]
            if theirs.get("solutionVersionArn") != version:
                raise ConfigurationError(
                    f"a campaign named {cname!r} exists serving "
                    f"{theirs.get('solutionVersionArn')}; campaign names are unique in the "
                    "account: pass another name=..."
                )
            status = str(theirs.get("status", ""))
            if status.upper().startswith("DELETE"):
                raise ConfigurationError(f"campaign {cname!r} is being deleted ({status})")

        if guard is not None and not _taken(lookup()):
            # asked once, outside create_or_adopt's retries; an adopted campaign costs
            # nothing more
            guard.check_campaign(min_tps)
        adopted, entry = create_and_register(
            ctx,
            group._teardown,
            "campaign",
            name=cname,
            create=lambda: personalize.create_campaign(**request),
            lookup=lookup,
            arn_key="campaignArn",
            parent=solution._entry,
            check=check,
            keep=keep,
        )
        campaign = cls(
            solution, adopted.arn, cname, version, min_tps, owned=adopted.owned, entry=entry
        )
        solution.campaigns.append(campaign)
        if wait:
            wait_or_teardown(group._teardown, entry, lambda: campaign.wait(timeout_s))
        return campaign

    def wait(self, timeout_s: float = CAMPAIGN_TIMEOUT_S) -> Campaign:
        """Wait until the campaign is ``ACTIVE``."""
        ctx = self.group._ctx
        ctx.wait(
            lambda: ctx.personalize.describe_campaign(campaignArn=self.arn),
            arn=self.arn,
            timeout_s=timeout_s,
            label=self.name,
        )
        return self

    def update(
        self,
        min_tps: int | None = None,
        *,
        solution_version_arn: str | None = None,
        exploration_weight: float | None = None,
        exploration_item_age_cut_off: float | None = None,
        wait: bool = True,
        timeout_s: float = CAMPAIGN_TIMEOUT_S,
        guard: SpendGuard | None = None,
    ) -> Campaign:
        """Change the campaign (``UpdateCampaign``); the old version serves until done.

        Args:
            min_tps: New ``minProvisionedTPS``.
            solution_version_arn: Serve this version (e.g. ``solution.version_arn``
                after :meth:`Solution.retrain`).
            exploration_weight: New ``explorationWeight`` (0 to 1).
            exploration_item_age_cut_off: New ``explorationItemAgeCutOff`` (days).
            wait: Wait until the update is ``ACTIVE``.
            timeout_s: How long to wait.
            guard: When ``min_tps`` raises the floor (``DescribeCampaign``'s
                ``minProvisionedTPS``), asked ``guard.check_campaign(min_tps,
                current_tps=...)`` before ``UpdateCampaign``: the increase is checked.

        Raises:
            BudgetExceededError: From the guard; nothing was sent.
        """
        request: dict[str, Any] = {"campaignArn": self.arn}
        if min_tps is not None:
            if isinstance(min_tps, bool) or not isinstance(min_tps, int) or min_tps < 1:
                raise ConfigurationError(f"min_tps must be an integer >= 1, got {min_tps!r}")
            request["minProvisionedTPS"] = min_tps
        if solution_version_arn is not None:
            request["solutionVersionArn"] = solution_version_arn
        exploration = _item_exploration(exploration_weight, exploration_item_age_cut_off)
        if exploration is not None:
            request["campaignConfig"] = {"itemExplorationConfig": exploration}
        if len(request) == 1:
            raise ConfigurationError("update() needs something to change")
        ctx = self.group._ctx
        if guard is not None and min_tps is not None:
            theirs = ctx.call(ctx.personalize.describe_campaign, campaignArn=self.arn)["campaign"]
            current = int(theirs.get("minProvisionedTPS") or self.min_tps)
            if min_tps > current:
                guard.check_campaign(min_tps, current_tps=current)
        ctx.call(ctx.personalize.update_campaign, **request)
        if wait:
            ctx.wait(
                lambda: ctx.personalize.describe_campaign(campaignArn=self.arn),
                arn=self.arn,
                timeout_s=timeout_s,
                spec=PERSONALIZE_UPDATE,
                label=f"{self.name} update",
            )
        if min_tps is not None:
            self.min_tps = min_tps
        if solution_version_arn is not None:
            self.solution_version_arn = solution_version_arn
        return self

    # ------------------------------------------------------------------ runtime

    def recommend(
        self,
        user_id: str | None = None,
        item_id: str | None = None,
        n: int = 25,
        *,
        filter: FilterLike | None = None,
        filter_values: Mapping[str, Any] | None = None,
        context: Mapping[str, str] | None = None,
        promotions: Sequence[Promotion | Mapping[str, Any]] | None = None,
        metadata_columns: Mapping[str, Sequence[str]] | Sequence[str] | None = None,
    ) -> Recommendations:
        """Real-time recommendations (``GetRecommendations``).

        Args:
            user_id: For User-Personalization and (with user filters) other recipes.
            item_id: For Related-Items recipes (SIMS, Similar-Items, ...).
            n: How many (1-500; at most 50 with metadata).
            filter: A ``personakit.Filter``, an expression or a filter ARN.
            filter_values: Values of the filter's ``$PLACEHOLDERS``: lists become
                ``"\\"a\\",\\"b\\""`` as Personalize wants them.
            context: Contextual metadata (``{"DEVICE": "mobile"}``).
            promotions: At most one :class:`Promotion`.
            metadata_columns: Item columns to return (``["GENRES"]`` or
                ``{"ITEMS": ["GENRES"]}``); the campaign needs ``enable_metadata``.
        """
        kind = self.solution.recipe_type
        if kind == "PERSONALIZED_RANKING":
            raise ConfigurationError(
                "a Personalized-Ranking campaign ranks: use rank(user_id, items)"
            )
        if kind == "USER_PERSONALIZATION" and user_id is None:
            raise ConfigurationError("User-Personalization recommendations need user_id=")
        if kind == "RELATED_ITEMS" and item_id is None:
            raise ConfigurationError("related-items recommendations need item_id=")
        return _get_recommendations(
            self.group,
            {"campaignArn": self.arn},
            user_id=user_id,
            item_id=item_id,
            n=n,
            filter=filter,
            filter_values=filter_values,
            context=context,
            promotions=promotions,
            metadata_columns=metadata_columns,
        )

    def recommend_actions(
        self,
        user_id: str,
        n: int = 5,
        *,
        filter: FilterLike | None = None,
        filter_values: Mapping[str, Any] | None = None,
    ) -> Recommendations:
        """The next best actions for a user (``GetActionRecommendations``).

        For campaigns of the ``next-best-action`` recipe (Actions and
        Action-Interactions datasets); each result's ``item_id`` is an action id.

        Args:
            user_id: The user.
            n: How many actions (1-100; Personalize's default is 5).
            filter: A ``personakit.Filter``, an expression or a filter ARN.
            filter_values: Values of the filter's ``$PLACEHOLDERS``.
        """
        kind = self.solution.recipe_type
        if kind not in (None, "PERSONALIZED_ACTIONS"):
            raise ConfigurationError(
                f"recommend_actions() needs a next-best-action campaign; {self.name} serves "
                f"a {kind} recipe: use recommend() or rank()"
            )
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_ACTIONS:
            raise ConfigurationError(f"n must be an integer from 1 to {MAX_ACTIONS}, got {n!r}")
        request = recommend_request(
            self.group,
            {"campaignArn": self.arn},
            user_id=user_id,
            item_id=None,
            n=n,
            filter=filter,
            filter_values=filter_values,
            context=None,
            promotions=None,
            metadata_columns=None,
        )
        return _runtime_call(self.group, "get_action_recommendations", request, "actionList")

    def rank(
        self,
        user_id: str,
        items: Sequence[str],
        *,
        filter: FilterLike | None = None,
        filter_values: Mapping[str, Any] | None = None,
        context: Mapping[str, str] | None = None,
        metadata_columns: Mapping[str, Sequence[str]] | Sequence[str] | None = None,
    ) -> Recommendations:
        """Re-rank ``items`` for ``user_id`` (``GetPersonalizedRanking``; at most 500 items)."""
        ids = [str(i) for i in items]
        if not 1 <= len(ids) <= MAX_INPUT_LIST:
            raise ConfigurationError(f"rank() takes 1 to {MAX_INPUT_LIST} items, got {len(ids)}")
        request: dict[str, Any] = {
            "campaignArn": self.arn,
            "userId": str(user_id),
            "inputList": ids,
        }
        _add_options(
            self.group,
            request,
            filter=filter,
            filter_values=filter_values,
            context=context,
            promotions=None,
            metadata_columns=metadata_columns,
        )
        return _runtime_call(self.group, "get_personalized_ranking", request, "personalizedRanking")

    # ------------------------------------------------------------------ teardown

    def delete(self) -> TeardownReport:
        """Delete the campaign and wait until it is gone (whatever ``keep`` says)."""
        return self._delete_scope()

    # ------------------------------------------------------------------ display

    def __repr__(self) -> str:
        return f"Campaign({self.name!r}, min_tps={self.min_tps}, arn={self.arn!r})"

    def _repr_html_(self) -> str:
        return (
            f"<div><b>Campaign {html.escape(self.name)}</b> (min TPS {self.min_tps})<br>"
            f"<code>{html.escape(self.arn)}</code><br>serving "
            f"<code>{html.escape(self.solution_version_arn)}</code></div>"
        )


def recommend_request(
    group: DatasetGroup,
    target: Mapping[str, str],
    *,
    user_id: str | None,
    item_id: str | None,
    n: int,
    filter: FilterLike | None,
    filter_values: Mapping[str, Any] | None,
    context: Mapping[str, str] | None,
    promotions: Sequence[Promotion | Mapping[str, Any]] | None,
    metadata_columns: Mapping[str, Sequence[str]] | Sequence[str] | None,
) -> dict[str, Any]:
    """The ``GetRecommendations`` request of a campaign or a recommender.

    Shared by :meth:`Campaign.recommend` and :meth:`Recommender.recommend`, which
    check first what their recipe or use case needs (``user_id``, ``item_id``).

    Args:
        group: The dataset group (filters are created there on first use).
        target: ``{"campaignArn": ...}`` or ``{"recommenderArn": ...}``.

    Raises:
        ConfigurationError: ``n`` out of 1-500 (1-50 with ``metadata_columns``,
            reference §5.2), a promotion without a filter, ``filter_values`` without
            a filter.
    """
    try:
        if isinstance(n, bool):
            raise TypeError
        n = operator.index(n)
    except TypeError:
        raise ConfigurationError(f"n must be an integer, got {n!r}") from None
    cap = MAX_RESULTS_WITH_METADATA if metadata_columns else MAX_RESULTS
    if not 1 <= n <= cap:
        with_metadata = " with metadata_columns" if metadata_columns else ""
        raise ConfigurationError(f"n must be between 1 and {cap}{with_metadata}, got {n!r}")
    request: dict[str, Any] = {**target, "numResults": n}
    if user_id is not None:
        request["userId"] = str(user_id)
    if item_id is not None:
        request["itemId"] = str(item_id)
    _add_options(
        group,
        request,
        filter=filter,
        filter_values=filter_values,
        context=context,
        promotions=promotions,
        metadata_columns=metadata_columns,
    )
    return request


def _add_options(
    group: DatasetGroup,
    request: dict[str, Any],
    *,
    filter: FilterLike | None,
    filter_values: Mapping[str, Any] | None,
    context: Mapping[str, str] | None,
    promotions: Sequence[Promotion | Mapping[str, Any]] | None,
    metadata_columns: Mapping[str, Sequence[str]] | Sequence[str] | None,
) -> None:
    """Add the filter, context, promotion and metadata members of a runtime request.

    Shared by :func:`recommend_request` and :meth:`Campaign.rank`; filters (of the
    request, then of its promotion) are created in ``group`` on first use.
    """
    request.update(filter_request(group, filter, filter_values))
    if context:
        request["context"] = {str(k): str(v) for k, v in context.items()}
    if promotions:
        if len(promotions) > 1:
            raise ConfigurationError(
                f"Personalize takes at most one promotion per request, got {len(promotions)}"
            )
        request["promotions"] = [_promotion_request(group, p) for p in promotions]
    if metadata_columns:
        request["metadataColumns"] = _metadata_columns(metadata_columns)


def _runtime_call(
    group: DatasetGroup, operation: str, request: Mapping[str, Any], key: str
) -> Recommendations:
    """Send ``request`` with the ``personalize-runtime`` method ``operation``; read ``key``."""
    runtime = group.session.client("personalize-runtime")
    response = getattr(runtime, operation)(**request)
    return Recommendations.from_response(response, key)


def _get_recommendations(
    group: DatasetGroup, target: Mapping[str, str], **kwargs: Any
) -> Recommendations:
    """``GetRecommendations`` of a campaign or a recommender: :func:`recommend_request`'s
    arguments, the request sent, the answer read."""
    request = recommend_request(group, target, **kwargs)
    return _runtime_call(group, "get_recommendations", request, "itemList")


def _promotion_request(
    group: DatasetGroup, promotion: Promotion | Mapping[str, Any]
) -> dict[str, Any]:
    if not isinstance(promotion, Promotion):
        data = dict(promotion)
        flt = data.get("filter") or data.get("filterArn")
        if flt is None:
            raise ConfigurationError("a promotion needs a filter (its items are promoted)")
        promotion = Promotion(
            name=str(data["name"]),
            filter=flt,
            percent=int(data.get("percent", data.get("percentPromotedItems", 10))),
            filter_values=data.get("filter_values") or data.get("filterValues"),
        )
    if not 1 <= promotion.percent <= 100:
        raise ConfigurationError(f"promotion percent must be 1-100, got {promotion.percent!r}")
    return {
        "name": promotion.name,
        "percentPromotedItems": int(promotion.percent),
        **filter_request(group, promotion.filter, promotion.filter_values),
    }


def _metadata_columns(
    columns: Mapping[str, Sequence[str]] | Sequence[str],
) -> dict[str, list[str]]:
    if isinstance(columns, Mapping):
        return {str(k).upper(): [str(c) for c in v] for k, v in columns.items()}
    if isinstance(columns, str):
        return {"ITEMS": [columns]}
    return {"ITEMS": [str(c) for c in columns]}


def filter_request(
    group: DatasetGroup, filter: FilterLike | None, values: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``filterArn`` and ``filterValues`` of a runtime or batch request.

    With a :class:`Filter` (or an expression), values are checked against its
    placeholders (``Filter.bind``: INCLUDE placeholders need a value, names are
    case-sensitive, comparison placeholders go as bare numbers); with an ARN they
    are only encoded (:func:`~personakit.filters.encode_filter_values`).
    """
    out: dict[str, Any] = {}
    if filter is None:
        if values:
            raise ConfigurationError("filter_values needs a filter=")
        return out
    out["filterArn"] = group.filter_arn(filter)
    is_arn = isinstance(filter, str) and filter.strip().startswith("arn:")
    if is_arn:
        encoded = encode_filter_values(values or {})
    else:
        encoded = Filter.parse(filter).bind(values or {})
    if encoded:
        out["filterValues"] = encoded
    return out


# --------------------------------------------------------------------------- recommenders

Need = Literal["required", "optional", "unused"]


@attrs.frozen
class UseCase:
    """A domain use case: what a :class:`Recommender` serves.

    Attributes:
        name: personakit's short name (``"top-picks"``).
        domain: ``"ECOMMERCE"`` or ``"VIDEO_ON_DEMAND"``.
        recipe: The recipe's name in its ARN (``"aws-vod-top-picks"``).
        kind: What it returns like: ``"USER_PERSONALIZATION"``, ``"POPULAR_ITEMS"``
            or ``"RELATED_ITEMS"``.
        user: Whether ``GetRecommendations`` needs ``userId`` (reference §3.3).
        item: Whether it needs ``itemId``.
        events: The event type it trains on, when it needs one (at least 1000 of them).
    """

    name: str
    domain: str
    recipe: str
    kind: str
    user: Need
    item: Need
    events: str | None = None

    @property
    def arn(self) -> str:
        """The recipe ARN ``CreateRecommender`` takes."""
        return RECIPE_PREFIX + self.recipe

    @property
    def explores(self) -> bool:
        """Whether it takes ``itemExplorationConfig`` (the personalized use cases)."""
        return self.kind == "USER_PERSONALIZATION"


RECIPE_PREFIX = "arn:aws:personalize:::recipe/"

#: Domain use cases by domain and short name (reference §3.3; ARNs as in
#: [DG:ECOMMERCE-use-cases] and [DG:VIDEO_ON_DEMAND-use-cases]).
USE_CASES: Mapping[str, Mapping[str, UseCase]] = {
    domain: {u.name: u for u in cases}
    for domain, cases in (
        (
            "ECOMMERCE",
            (
                UseCase(
                    "customers-who-viewed-x-also-viewed",
                    "ECOMMERCE",
                    "aws-ecomm-customers-who-viewed-x-also-viewed",
                    "RELATED_ITEMS",
                    "required",
                    "required",
                    "View",
                ),
                UseCase(
                    "best-sellers",
                    "ECOMMERCE",
                    "aws-ecomm-popular-items-by-purchases",
                    "POPULAR_ITEMS",
                    "required",
                    "unused",
                    "Purchase",
                ),
                UseCase(
                    "frequently-bought-together",
                    "ECOMMERCE",
                    "aws-ecomm-frequently-bought-together",
                    "RELATED_ITEMS",
                    "optional",
                    "required",
                    "Purchase",
                ),
                UseCase(
                    "most-viewed",
                    "ECOMMERCE",
                    "aws-ecomm-popular-items-by-views",
                    "POPULAR_ITEMS",
                    "required",
                    "unused",
                    "View",
                ),
                UseCase(
                    "recommended-for-you",
                    "ECOMMERCE",
                    "aws-ecomm-recommended-for-you",
                    "USER_PERSONALIZATION",
                    "required",
                    "unused",
                ),
            ),
        ),
        (
            "VIDEO_ON_DEMAND",
            (
                UseCase(
                    "because-you-watched-x",
                    "VIDEO_ON_DEMAND",
                    "aws-vod-because-you-watched-x",
                    "RELATED_ITEMS",
                    "required",
                    "required",
                    "Watch",
                ),
                UseCase(
                    "more-like-x",
                    "VIDEO_ON_DEMAND",
                    "aws-vod-more-like-x",
                    "RELATED_ITEMS",
                    "required",
                    "required",
                ),
                UseCase(
                    "most-popular",
                    "VIDEO_ON_DEMAND",
                    "aws-vod-most-popular",
                    "POPULAR_ITEMS",
                    "required",
                    "unused",
                    "Watch",
                ),
                UseCase(
                    "top-picks",
                    "VIDEO_ON_DEMAND",
                    "aws-vod-top-picks",
                    "USER_PERSONALIZATION",
                    "required",
                    "unused",
                ),
                UseCase(
                    "trending-now",
                    "VIDEO_ON_DEMAND",
                    "aws-vod-trending-now",
                    "POPULAR_ITEMS",
                    "optional",
                    "unused",
                ),
            ),
        ),
    )
}
_BY_RECIPE: Mapping[str, UseCase] = {
    u.recipe: u for cases in USE_CASES.values() for u in cases.values()
}

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


def resolve_use_case(name: str, domain: str | None = None) -> UseCase:
    """The :class:`UseCase` for a short name, a recipe name or a recipe ARN.

    Args:
        name: ``"top-picks"``, ``"aws-vod-top-picks"`` or
            ``"arn:aws:personalize:::recipe/aws-vod-top-picks"`` (case, ``_`` and
            spaces do not matter in short names).
        domain: The dataset group's domain: a use case of another domain is refused.

    Raises:
        ConfigurationError: Unknown, or not a use case of ``domain`` (the message
            lists the valid names).
    """
    from personakit.schema import Domain

    dom = Domain.parse(domain)
    key = name.strip()
    if key.startswith("arn:"):
        key = key.rsplit("/", 1)[-1]
    key = key.lower().replace("_", "-").replace(" ", "-")
    found = _BY_RECIPE.get(key)
    if found is None:
        matches = [cases[key] for cases in USE_CASES.values() if key in cases]
        if dom is not None:
            matches.sort(key=lambda u: u.domain != dom.value)
        found = matches[0] if matches else None
    if dom is None:
        if found is None:
            known = "; ".join(f"{d}: {', '.join(sorted(c))}" for d, c in USE_CASES.items())
            raise ConfigurationError(f"unknown use case {name!r}; known: {known}")
        return found
    valid = ", ".join(sorted(USE_CASES[dom.value]))
    if found is None:
        raise ConfigurationError(
            f"unknown use case {name!r} for a {dom.value} dataset group; valid: {valid}"
        )
    if found.domain != dom.value:
        raise ConfigurationError(
            f"{found.name!r} is a {found.domain} use case; this dataset group is "
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
    exploration = _item_exploration(
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


class Recommender(Scoped):
    """A domain recommender (``CreateRecommender``): a use case trained and served by AWS.

    Build one with :meth:`create` (or ``group.recommender("top-picks")``) in an
    ECOMMERCE or VIDEO_ON_DEMAND dataset group; use it as a context manager so it
    is deleted (and waited for) on exit. AWS retrains it every week (and the
    personalized use cases every two hours) for as long as it exists; it bills for
    at least ``min_rps`` requests per second while ``ACTIVE`` (reference §3.3, §5.1).

    Attributes:
        group: The dataset group.
        arn: The recommender's ARN.
        name: Its name.
        use_case: Its :class:`UseCase`.
        config: Its ``recommenderConfig`` as last sent or seen.
        owned: Created by this run (deleted on exit) or adopted.
    """

    def __init__(
        self,
        group: DatasetGroup,
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

    @property
    def keep(self) -> bool:
        """Whether teardown keeps this recommender (and the group it needs)."""
        return self._entry.keep

    # ------------------------------------------------------------------ create

    @classmethod
    def create(
        cls,
        group: DatasetGroup,
        use_case: str,
        *,
        name: str | None = None,
        min_rps: int = 1,
        exploration_weight: float | None = None,
        exploration_item_age_cut_off: float | None = None,
        enable_metadata: bool = False,
        recommender_config: Mapping[str, Any] | None = None,
        keep: bool = False,
        wait: bool = True,
        timeout_s: float = RECOMMENDER_TIMEOUT_S,
        guard: SpendGuard | None = None,
    ) -> Recommender:
        """Create a recommender for a use case of the group's domain, or adopt one by name.

        Args:
            group: An ECOMMERCE or VIDEO_ON_DEMAND dataset group with its data.
            use_case: A short name of :data:`USE_CASES` (``"top-picks"``,
                ``"best-sellers"``, ...), a recipe name or a recipe ARN.
            name: The recommender's name (default: the group's name and the use case).
            min_rps: ``minRecommendationRequestsPerSecond``: it bills for at least
                this many requests per second while ACTIVE, used or not.
            exploration_weight: Personalized use cases only (``recommended-for-you``,
                ``top-picks``): 0 (relevance) to 1 (explore new items); AWS's default 0.3.
            exploration_item_age_cut_off: Personalized use cases only: days an item
                counts as new; AWS's default 30.
            enable_metadata: ``enableMetadataWithRecommendations`` (extra cost), so
                ``recommend(metadata_columns=...)`` can return item metadata.
            recommender_config: More ``recommenderConfig`` members (e.g.
                ``trainingDataConfig``), merged over the above.
            keep: Keep the recommender at exit (and the dataset group it needs).
            wait: Wait until it is ``ACTIVE`` (training takes hours on AWS).
            timeout_s: Deadline of that wait.
            guard: Asked ``guard.check_recommender(min_rps=...)`` once before
                ``CreateRecommender``, when no recommender of that name exists (an
                adopted one is not asked about; a :class:`~personakit.CostGuard`
                checks a month of it against its budget).

        Raises:
            BudgetExceededError: From the guard; nothing was created.
            ConfigurationError: A custom dataset group (recommenders need a domain),
                a use case of another domain, or settings the use case does not take.
            ResourceFailedError: The recommender reached ``CREATE FAILED`` (with
                Personalize's ``failureReason``, e.g. too few ``Purchase`` events); it
                is deleted before this is raised.
        """
        if group.domain is None:
            raise ConfigurationError(
                f"dataset group {group.name!r} is a custom dataset group: recommenders "
                "need a domain dataset group (DatasetGroup.create(..., domain='ECOMMERCE' or "
                "'VIDEO_ON_DEMAND')); in a custom group, train a solution and deploy a "
                "campaign (group.train(...).deploy())"
            )
        case = resolve_use_case(use_case, group.domain.value)
        config = _recommender_config(
            min_rps=min_rps,
            exploration_weight=exploration_weight,
            exploration_item_age_cut_off=exploration_item_age_cut_off,
            enable_metadata=True if enable_metadata else None,
            extra=recommender_config,
            case=case,
        )
        ctx = group._ctx
        personalize = ctx.personalize
        rname = name or resource_name(group.name, case.name)
        request: dict[str, Any] = {
            "name": rname,
            "datasetGroupArn": group.arn,
            "recipeArn": case.arn,
            "recommenderConfig": config,
            "tags": ctx.tags(),
        }
        seen: dict[str, Any] = {}

        def lookup() -> Mapping[str, Any] | None:
            return find_by(
                ctx,
                personalize.list_recommenders,
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

        if guard is not None and not _taken(lookup()):
            # asked once, outside create_or_adopt's retries; adopting costs nothing more
            guard.check_recommender(
                min_rps=int(config.get("minRecommendationRequestsPerSecond", min_rps))
            )
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
        if not adopted.created and seen.get("recommenderConfig"):
            config = dict(seen["recommenderConfig"])
        recommender = cls(group, adopted.arn, rname, case, config, owned=adopted.owned, entry=entry)
        group.recommenders.append(recommender)
        if wait:

            def ready() -> None:
                status = _norm(seen.get("status"))
                if not adopted.created and (status == "INACTIVE" or status.startswith("STOP")):
                    logger.info("recommender %s is %s: starting it", rname, status)
                    recommender.start(timeout_s=timeout_s)
                else:
                    recommender.wait(timeout_s)

            wait_or_teardown(group._teardown, entry, ready)
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
        norm = _norm(status)
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
            ctx.personalize.update_recommender, recommenderArn=self.arn, recommenderConfig=config
        )
        if wait:
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

    def recommend(
        self,
        user_id: str | None = None,
        item_id: str | None = None,
        n: int = 25,
        *,
        filter: FilterLike | None = None,
        filter_values: Mapping[str, Any] | None = None,
        context: Mapping[str, str] | None = None,
        promotions: Sequence[Promotion | Mapping[str, Any]] | None = None,
        metadata_columns: Mapping[str, Sequence[str]] | Sequence[str] | None = None,
    ) -> Recommendations:
        """Real-time recommendations (``GetRecommendations`` with ``recommenderArn``).

        The arguments are those of :meth:`Campaign.recommend`. Which of ``user_id``
        and ``item_id`` a use case needs is checked first (reference §3.3): e.g.
        ``top-picks`` needs ``user_id``, ``because-you-watched-x`` both,
        ``frequently-bought-together`` ``item_id``.

        Raises:
            ConfigurationError: A missing or unused id, ``n`` out of range.
        """
        case = self.use_case
        for what, value, need in (("user_id", user_id, case.user), ("item_id", item_id, case.item)):
            if need == "required" and value is None:
                raise ConfigurationError(f"the {case.name} use case needs {what}=")
            if need == "unused" and value is not None:
                raise ConfigurationError(f"the {case.name} use case takes no {what}")
        return _get_recommendations(
            self.group,
            {"recommenderArn": self.arn},
            user_id=user_id,
            item_id=item_id,
            n=n,
            filter=filter,
            filter_values=filter_values,
            context=context,
            promotions=promotions,
            metadata_columns=metadata_columns,
        )

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


def _norm(status: Any) -> str:
    return normalize_status(str(status or ""))


def _taken(summary: Mapping[str, Any] | None) -> bool:
    """Whether a ``List*`` summary is a resource a create would adopt (not one being deleted).

    A guarded create asks its guard only when nothing is there to adopt: adopting adds
    no cost, and a resource being deleted will not be adopted (its name frees up).
    """
    return summary is not None and not _norm(summary.get("status")).startswith("DELETE")
