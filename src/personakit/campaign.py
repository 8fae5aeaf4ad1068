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
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

import attrs

from personakit._resource import (
    Entry,
    TeardownReport,
    create_or_adopt,
    exit_scope,
    find_by,
    resource_name,
    run_guarded,
)
from personakit._wait import PERSONALIZE_UPDATE
from personakit.errors import ConfigurationError
from personakit.filters import Filter, encode_filter_values

if TYPE_CHECKING:
    import pandas as pd

    from personakit.dataset import DatasetGroup
    from personakit.solution import Solution

__all__ = ["Campaign", "Promotion", "Recommendation", "Recommendations"]

logger = logging.getLogger(__name__)

#: Default deadline of campaign creation and updates (seconds).
CAMPAIGN_TIMEOUT_S = 3600.0
MAX_RESULTS = 500
MAX_INPUT_LIST = 500

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
        """From one entry of ``itemList`` / ``personalizedRanking``."""
        score = item.get("score")
        return cls(
            str(item["itemId"]),
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


class Campaign:
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

        Raises:
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

        def find() -> str | None:
            found = find_by(
                ctx, personalize.list_campaigns, "campaigns", lambda s: s["name"] == cname
            )
            return None if found is None else str(found["campaignArn"])

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

        adopted = create_or_adopt(
            ctx,
            what="campaign",
            name=cname,
            create=lambda: personalize.create_campaign(**request),
            arn_key="campaignArn",
            find=find,
            check=check,
        )
        entry = group._teardown.add(
            "campaign",
            adopted.arn,
            owned=adopted.owned,
            parent=solution._entry,
            keep=keep,
            label=cname,
        )
        campaign = cls(
            solution, adopted.arn, cname, version, min_tps, owned=adopted.owned, entry=entry
        )
        solution.campaigns.append(campaign)
        if wait:
            try:
                campaign.wait(timeout_s)
            except BaseException as exc:
                run_guarded(group._teardown, entry, exc)
                raise
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
    ) -> Campaign:
        """Change the campaign (``UpdateCampaign``); the old version serves until done.

        Args:
            min_tps: New ``minProvisionedTPS``.
            solution_version_arn: Serve this version (e.g. ``solution.version_arn``
                after :meth:`Solution.retrain`).
            exploration_weight, exploration_item_age_cut_off: New exploration settings.
            wait: Wait until the update is ``ACTIVE``.
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

    def _filter(
        self, filter: FilterLike | None, values: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        return _filter_request(self.group, filter, values)

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
        if not 1 <= int(n) <= MAX_RESULTS:
            raise ConfigurationError(f"n must be between 1 and {MAX_RESULTS}, got {n!r}")
        kind = self.solution.recipe_type
        if kind == "PERSONALIZED_RANKING":
            raise ConfigurationError(
                "a Personalized-Ranking campaign ranks: use rank(user_id, items)"
            )
        if kind == "USER_PERSONALIZATION" and user_id is None:
            raise ConfigurationError("User-Personalization recommendations need user_id=")
        if kind == "RELATED_ITEMS" and item_id is None:
            raise ConfigurationError("related-items recommendations need item_id=")
        request: dict[str, Any] = {"campaignArn": self.arn, "numResults": int(n)}
        if user_id is not None:
            request["userId"] = str(user_id)
        if item_id is not None:
            request["itemId"] = str(item_id)
        request.update(self._filter(filter, filter_values))
        if context:
            request["context"] = {str(k): str(v) for k, v in context.items()}
        if promotions:
            request["promotions"] = [self._promotion(p) for p in promotions]
        if metadata_columns:
            request["metadataColumns"] = _metadata_columns(metadata_columns)
        runtime = self.group.session.client("personalize-runtime")
        response = runtime.get_recommendations(**request)
        return Recommendations.from_response(response, "itemList")

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
        request.update(self._filter(filter, filter_values))
        if context:
            request["context"] = {str(k): str(v) for k, v in context.items()}
        if metadata_columns:
            request["metadataColumns"] = _metadata_columns(metadata_columns)
        runtime = self.group.session.client("personalize-runtime")
        response = runtime.get_personalized_ranking(**request)
        return Recommendations.from_response(response, "personalizedRanking")

    def _promotion(self, promotion: Promotion | Mapping[str, Any]) -> dict[str, Any]:
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
            **_filter_request(self.group, promotion.filter, promotion.filter_values),
        }

    # ------------------------------------------------------------------ teardown

    def delete(self) -> TeardownReport:
        """Delete the campaign and wait until it is gone (whatever ``keep`` says)."""
        self._entry.keep = False
        return self.group._teardown.run(self._entry, delete_adopted=True, force=True)

    def __enter__(self) -> Campaign:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        exit_scope(self.group._teardown, self._entry, exc)
        return False

    # ------------------------------------------------------------------ display

    def __repr__(self) -> str:
        return f"Campaign({self.name!r}, min_tps={self.min_tps}, arn={self.arn!r})"

    def _repr_html_(self) -> str:
        return (
            f"<div><b>Campaign {html.escape(self.name)}</b> (min TPS {self.min_tps})<br>"
            f"<code>{html.escape(self.arn)}</code><br>serving "
            f"<code>{html.escape(self.solution_version_arn)}</code></div>"
        )


def _metadata_columns(
    columns: Mapping[str, Sequence[str]] | Sequence[str],
) -> dict[str, list[str]]:
    if isinstance(columns, Mapping):
        return {str(k).upper(): [str(c) for c in v] for k, v in columns.items()}
    if isinstance(columns, str):
        return {"ITEMS": [columns]}
    return {"ITEMS": [str(c) for c in columns]}


def _filter_request(
    group: DatasetGroup, filter: FilterLike | None, values: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``filterArn`` and ``filterValues`` of a runtime request.

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
