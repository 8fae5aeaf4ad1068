"""What campaigns and recommenders serve: results, promotions, and the runtime requests.

:class:`Recommendations` (``GetRecommendations`` / ``GetPersonalizedRanking``) and
:class:`Promotion` are what users see; :func:`recommend_request` and
:func:`filter_request` build the requests of campaigns, recommenders and batch jobs
alike, so the three cannot drift apart.
"""

from __future__ import annotations

import html
import operator
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, overload

import attrs

from personakit.aws.wait import normalize_status
from personakit.errors import ConfigurationError, ResourceStateError
from personakit.rules.display import Display, short_repr
from personakit.rules.facts import DEFAULT_RESULTS, MAX_RESULTS, MAX_RESULTS_WITH_METADATA
from personakit.rules.filters import Filter, encode_filter_values

if TYPE_CHECKING:
    import pandas as pd

    from personakit.personalize.base import Group
    from personakit.personalize.teardown import Entry

__all__ = [
    "FilterLike",
    "Promotion",
    "Recommendation",
    "Recommendations",
    "Serves",
    "SpendGuard",
    "add_options",
    "filter_request",
    "get_recommendations",
    "item_exploration",
    "normalized",
    "recommend_request",
    "runtime_call",
    "taken",
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


FilterLike = Filter | str
"""A :class:`~personakit.rules.filters.Filter`, a filter expression, or a filter ARN."""


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
class Recommendations(Display):
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

    def __repr__(self) -> str:
        return short_repr(
            self,
            items=len(self.items),
            top=self.item_ids[:3],
            recommendation_id=self.recommendation_id,
        )

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


def item_exploration(
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


def recommend_request(
    group: Group,
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
            https://docs.aws.amazon.com/personalize/latest/dg/API_RS_GetRecommendations.html),
            a promotion without a filter, ``filter_values`` without
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
    add_options(
        group,
        request,
        filter=filter,
        filter_values=filter_values,
        context=context,
        promotions=promotions,
        metadata_columns=metadata_columns,
    )
    return request


def add_options(
    group: Group,
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


def runtime_call(
    group: Group, operation: str, request: Mapping[str, Any], key: str
) -> Recommendations:
    """Send ``request`` with the ``personalize-runtime`` method ``operation``; read ``key``."""
    runtime = group.session.client("personalize-runtime")
    response = getattr(runtime, operation)(**request)
    return Recommendations.from_response(response, key)


def get_recommendations(group: Group, target: Mapping[str, str], **kwargs: Any) -> Recommendations:
    """``GetRecommendations`` of a campaign or a recommender: :func:`recommend_request`'s
    arguments, the request sent, the answer read."""
    request = recommend_request(group, target, **kwargs)
    return runtime_call(group, "get_recommendations", request, "itemList")


def _promotion_request(group: Group, promotion: Promotion | Mapping[str, Any]) -> dict[str, Any]:
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
    group: Group, filter: FilterLike | None, values: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``filterArn`` and ``filterValues`` of a runtime or batch request.

    With a :class:`Filter` (or an expression), values are checked against its
    placeholders and the group's schemas (``Filter.encode``: INCLUDE placeholders need
    a value, names are case-sensitive, numeric placeholders take finite numbers only
    and go bare); with an ARN they are only encoded
    (:func:`~personakit.rules.filters.encode_filter_values`). Either way every string
    is exactly one value: nothing is passed through as "already encoded".
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
        # with the group's schemas, = / != placeholders on numeric fields take numbers only
        schemas = [s for d in group.datasets.values() if (s := getattr(d, "schema", None))]
        encoded = Filter.parse(filter).encode(values or {}, schemas=schemas)
    if encoded:
        out["filterValues"] = encoded
    return out


# --------------------------------------------------------------------------- recommenders


def normalized(status: Any) -> str:
    """A status as ``normalize_status`` writes it; ``""`` for none."""
    return normalize_status(str(status or ""))


def taken(summary: Mapping[str, Any] | None) -> bool:
    """Whether a ``List*`` summary is a resource a create would adopt (not one being deleted).

    A guarded create asks its guard only when nothing is there to adopt: adopting adds
    no cost, and a resource being deleted will not be adopted (its name frees up).
    """
    return summary is not None and not normalized(summary.get("status")).startswith("DELETE")


class _Served(Protocol):
    """What :class:`Serves` needs of the class it is mixed into."""

    name: str
    arn: str
    _entry: Entry
    _deleted: ClassVar[str]

    @property
    def group(self) -> Group: ...
    @property
    def _target(self) -> dict[str, str]: ...
    def _check_ids(self, user_id: str | None, item_id: str | None) -> None: ...
    def _check_alive(self) -> None: ...


class Serves:
    """Mixin of what serves ``GetRecommendations`` (a campaign, a recommender): the
    request is built and sent once here; each class says what it is (``_target``),
    which ids it needs (``_check_ids``) and how to keep it past its ``with`` block
    (``_deleted``)."""

    #: what a call after the resource's deletion is told (``{name}``: its name)
    _deleted: ClassVar[str]

    def _check_alive(self: _Served) -> None:
        """Refuse a runtime call once this resource was deleted through personakit."""
        if self._entry.state != "gone":
            return
        raise ResourceStateError(
            self._deleted.format(name=self.name), arn=self.arn, status="DELETED"
        )

    def recommend(
        self: _Served,
        user_id: str | None = None,
        item_id: str | None = None,
        n: int = DEFAULT_RESULTS,
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
                ``{"ITEMS": ["GENRES"]}``); the campaign or recommender needs
                ``enable_metadata``.

        Raises:
            ConfigurationError: A missing or unused id for this recipe or use case,
                ``n`` out of range.
        """
        self._check_alive()
        self._check_ids(user_id, item_id)
        return get_recommendations(
            self.group,
            self._target,
            user_id=user_id,
            item_id=item_id,
            n=n,
            filter=filter,
            filter_values=filter_values,
            context=context,
            promotions=promotions,
            metadata_columns=metadata_columns,
        )
