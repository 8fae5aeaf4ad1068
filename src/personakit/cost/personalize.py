"""What an Amazon Personalize month costs: a line-item estimate.

Pure. The billing *structure* is AWS's (https://aws.amazon.com/personalize/pricing/;
``minProvisionedTPS`` and ``minRecommendationRequestsPerSecond`` in
https://docs.aws.amazon.com/personalize/latest/dg/API_CreateCampaign.html and
https://docs.aws.amazon.com/personalize/latest/dg/API_CreateRecommender.html); the
dollar figures are **not verified** against AWS's pricing page (third-party study
notes, internally consistent), so every line item built on them carries
``verified=False``. Look them up before you rely on them::

    from personakit.cost import estimate

    bill = estimate(data_gb=10, training_hours=20, campaign_tps_hours=(1, 730))
    print(bill)            # line items, subtotals, sources, the total
    bill.total_usd         # 0.5 + 4.8 + 146.0 = 151.3

The quantities are one month's usage: the TPS-hour tiers (first 20K, next 180K,
over 200K TPS-hours) restart every month. A campaign bills
``max(minProvisionedTPS, actual TPS)`` for every hour it exists, averaged over
5-minute windows, so ``campaign_tps_hours=(min_tps, hours)`` is the floor of its bill.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from personakit.errors import ConfigurationError
from personakit.rules.display import Display, short_repr
from personakit.rules.facts import DG

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CAMPAIGN_TPS_QUOTA",
    "FREE_TIER",
    "PRICES",
    "PRICING_URL",
    "TPS_HOUR_TIERS",
    "Estimate",
    "LineItem",
    "UnitPrice",
    "estimate",
]

#: Amazon Personalize's pricing page: check every $ figure here against it.
PRICING_URL = "https://aws.amazon.com/personalize/pricing/"
_UNVERIFIED = f"unverified: third-party study notes, not checked against {PRICING_URL}"


@attrs.frozen(kw_only=True)
class UnitPrice:
    """A unit price with its source; ``usd`` is ``None`` where no rate is known."""

    usd: float | None
    unit: str
    source: str
    verified: bool = False
    as_of: str | None = None


#: Unit prices: every $ figure is unverified (https://aws.amazon.com/personalize/pricing/).
PRICES: Mapping[str, UnitPrice] = {
    "data": UnitPrice(usd=0.05, unit="GB", source=_UNVERIFIED),
    "training": UnitPrice(
        usd=0.24,
        unit="training hour (4 vCPU + 8 GiB for 1 h)",
        source=_UNVERIFIED,
    ),
    "recommender": UnitPrice(
        usd=0.375,
        unit="100K active users x hour",
        source=_UNVERIFIED + "; ≈$0.375 per 100K users, first tier only (tiered beyond)",
    ),
    "recommender_extra": UnitPrice(
        usd=0.0833 / 1000,
        unit="recommendation beyond the free ones",
        source=_UNVERIFIED + "; ≈$0.0833 per 1,000",
    ),
    "batch": UnitPrice(
        usd=None,
        unit="batch recommendation",
        source=f"billed per recommendation ({PRICING_URL}); the per-1,000 rate is not known",
    ),
}

#: Real-time (campaign) TPS-hour tiers per month: (TPS-hours in the tier, USD per TPS-hour);
#: unverified rates (https://aws.amazon.com/personalize/pricing/).
TPS_HOUR_TIERS: tuple[tuple[float, float], ...] = (
    (20_000.0, 0.20),
    (180_000.0, 0.10),
    (math.inf, 0.05),
)

#: Free tier of the first two months: 20 GB of data, 100 training hours, 180,000
#: recommendation requests = 50 TPS-hours (https://aws.amazon.com/personalize/pricing/,
#: https://docs.aws.amazon.com/personalize/latest/dg/what-is-personalize.html).
FREE_TIER: Mapping[str, float] = {"data_gb": 20.0, "training_hours": 100.0, "tps_hours": 50.0}

#: Default quota: TPS per campaign per API
#: (https://docs.aws.amazon.com/personalize/latest/dg/limits.html).
CAMPAIGN_TPS_QUOTA = 500


@attrs.frozen(kw_only=True)
class LineItem:
    """One line of the bill: ``quantity x unit_price = subtotal`` (``None`` when unpriced)."""

    item: str
    quantity: float
    unit: str
    unit_price_usd: float | None
    subtotal_usd: float | None
    source: str
    verified: bool
    as_of: str | None = None
    note: str | None = None


@attrs.frozen(kw_only=True)
class Estimate(Display):
    """A Personalize cost estimate: line items, their total, and caveats.

    ``total_usd`` sums the line items with a known price; ``complete`` is False
    when some quantity has no known price (its subtotal is ``None``);
    ``verified`` is False when any price used is an unverified placeholder.
    """

    region: str
    items: tuple[LineItem, ...]
    warnings: tuple[str, ...] = ()

    @property
    def total_usd(self) -> float:
        """Sum of the known subtotals."""
        return sum(i.subtotal_usd for i in self.items if i.subtotal_usd is not None)

    @property
    def complete(self) -> bool:
        """Whether every line item has a price."""
        return all(i.subtotal_usd is not None for i in self.items)

    @property
    def verified(self) -> bool:
        """Whether every price used is verified."""
        return all(i.verified for i in self.items if i.subtotal_usd is not None)

    def to_frame(self) -> pd.DataFrame:
        """One row per line item."""
        import pandas as pd

        columns = [f.name for f in attrs.fields(LineItem)]
        return pd.DataFrame([attrs.asdict(i) for i in self.items], columns=columns)

    def _rows(self) -> list[list[str]]:
        return [
            [
                i.item,
                f"{i.quantity:,.6g}",
                i.unit,
                "?" if i.unit_price_usd is None else f"${i.unit_price_usd:.6g}",
                "?" if i.subtotal_usd is None else f"${i.subtotal_usd:,.2f}",
                "" if i.verified else "unverified",
            ]
            for i in self.items
        ]

    def __str__(self) -> str:
        head = ["item", "quantity", "unit", "unit price", "subtotal", ""]
        rows = self._rows()
        widths = [max([len(h), *(len(r[k]) for r in rows)]) for k, h in enumerate(head)]

        def line(cells: list[str]) -> str:
            return "  ".join(
                c.rjust(w) if k in (1, 3, 4) else c.ljust(w)
                for k, (c, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()

        out = [f"Amazon Personalize estimate ({self.region}, one month)", line(head)]
        out.append("  ".join("-" * w for w in widths))
        out.extend(line(r) for r in rows)
        total = f"total: ${self.total_usd:,.2f}"
        if not self.complete:
            total += " + items without a known price"
        out.append(total)
        sources = dict.fromkeys(i.source for i in self.items)
        if sources:
            out.append("sources:")
            out.extend(f"  - {s}" for s in sources)
        out.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(out)

    def __repr__(self) -> str:
        total = round(self.total_usd, 2)
        return short_repr(self, region=self.region, items=len(self.items), total_usd=total)

    def _repr_html_(self) -> str:
        head = "".join(
            f"<th>{h}</th>"
            for h in ("item", "quantity", "unit", "unit price", "subtotal", "verified", "source")
        )
        body = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(c)}</td>" for c in row[:5])
            + f"<td>{'yes' if item.verified else 'no'}</td>"
            + f"<td style='font-size:smaller'>{html.escape(item.source)}</td></tr>"
            for row, item in zip(self._rows(), self.items, strict=True)
        )
        warnings = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        return (
            f"<div><b>Amazon Personalize estimate ({html.escape(self.region)}, one month): "
            f"${self.total_usd:,.2f}{'' if self.complete else ' + unpriced items'}</b>"
            f"<table><tr>{head}</tr>{body}</table>"
            + (f"<ul>{warnings}</ul>" if warnings else "")
            + "</div>"
        )


def _line(key: str, item: str, quantity: float, note: str | None = None) -> LineItem:
    price = PRICES[key]
    return LineItem(
        item=item,
        quantity=quantity,
        unit=price.unit,
        unit_price_usd=price.usd,
        subtotal_usd=None if price.usd is None else quantity * price.usd,
        source=price.source,
        verified=price.verified,
        as_of=price.as_of,
        note=note,
    )


def _tps_hours(value: float | tuple[float, float]) -> tuple[float, float | None]:
    if isinstance(value, tuple):
        if len(value) != 2:
            raise ConfigurationError("campaign_tps_hours takes TPS-hours or (min_tps, hours)")
        min_tps, hours = float(value[0]), float(value[1])
        if min_tps < 1:
            raise ConfigurationError(f"a campaign's minProvisionedTPS is at least 1, got {min_tps}")
        return min_tps * hours, min_tps
    return float(value), None


def _check(name: str, value: float) -> float:
    if value < 0:
        raise ConfigurationError(f"{name} must be >= 0, got {value!r}")
    return float(value)


def estimate(
    *,
    data_gb: float = 0,
    training_hours: float = 0,
    campaign_tps_hours: float | tuple[float, float] = 0,
    recommender_hours: float = 0,
    recommender_users: float = 100_000,
    recommender_extra_recommendations: float = 0,
    batch_recommendations: float = 0,
    region: str = "us-east-1",
    free_tier: bool = False,
) -> Estimate:
    """Estimate one month of Amazon Personalize.

    Args:
        data_gb: data ingested (bulk imports and streamed events), GB.
        training_hours: billed training hours (1 h of 4 vCPU + 8 GiB; Personalize may
            use bigger instances, so billed hours can exceed wall-clock hours).
        campaign_tps_hours: TPS-hours of real-time recommendations, or
            ``(min_tps, hours)`` for a campaign's provisioned floor: 1 TPS for 720 h
            is 720 TPS-hours, $144 at the first tier.
        recommender_hours: hours a domain recommender exists.
        recommender_users: active users the recommender serves (billed per 100K).
        recommender_extra_recommendations: recommendations beyond the free ones.
        batch_recommendations: recommendations made by batch inference jobs (no
            known price: the line item has no subtotal and the estimate is incomplete).
        region: where; the prices used name no region (read as us-east-1), so
            anything else gets a warning.
        free_tier: subtract the free tier of the first two months.
    """
    items: list[LineItem] = []
    warnings: list[str] = []
    data_gb = _check("data_gb", data_gb)
    training_hours = _check("training_hours", training_hours)
    tps_hours, min_tps = _tps_hours(campaign_tps_hours)
    _check("campaign_tps_hours", tps_hours)

    def free(amount: float, key: str, label: str) -> float:
        if not free_tier:
            return amount
        allowance = FREE_TIER[key]
        used = min(amount, allowance)
        if used:
            items.append(
                LineItem(
                    item=f"free tier: {label}",
                    quantity=used,
                    unit="-",
                    unit_price_usd=0.0,
                    subtotal_usd=0.0,
                    source=f"free tier of the first two months ({PRICING_URL})",
                    verified=True,
                )
            )
        return amount - used

    if data_gb:
        items.append(_line("data", "data ingestion", free(data_gb, "data_gb", f"{data_gb:g} GB")))
    if training_hours:
        billed = free(training_hours, "training_hours", "training hours")
        items.append(_line("training", "training", billed))
    if tps_hours:
        remaining = free(tps_hours, "tps_hours", "TPS-hours (180,000 requests)")
        start = 0.0
        names = ("first 20K", "next 180K", "over 200K")
        for (size, rate), name in zip(TPS_HOUR_TIERS, names, strict=True):
            in_tier = max(0.0, min(remaining - start, size))
            if in_tier > 0:
                items.append(
                    LineItem(
                        item=f"real-time recommendations, TPS-hours {name}",
                        quantity=in_tier,
                        unit="TPS-hour (3,600 requests)",
                        unit_price_usd=rate,
                        subtotal_usd=in_tier * rate,
                        source=_UNVERIFIED,
                        verified=False,
                        note=(
                            f"minProvisionedTPS {min_tps:g}: billed max(min, actual) every hour"
                            if min_tps is not None
                            else None
                        ),
                    )
                )
            start += size
        if min_tps is not None and min_tps > CAMPAIGN_TPS_QUOTA:
            warnings.append(
                f"min_tps {min_tps:g} exceeds the default quota of {CAMPAIGN_TPS_QUOTA} TPS per "
                f"campaign per API ({DG}limits.html): request an increase first"
            )
    recommender_hours = _check("recommender_hours", recommender_hours)
    if recommender_hours:
        units = recommender_hours * _check("recommender_users", recommender_users) / 100_000
        items.append(
            _line(
                "recommender",
                f"recommender, {recommender_users:,.0f} active users",
                units,
                note="per hour per 100K users; tiers beyond the first and the free "
                "recommendations per hour are not modelled",
            )
        )
    extra = _check("recommender_extra_recommendations", recommender_extra_recommendations)
    if extra:
        items.append(_line("recommender_extra", "recommender, extra recommendations", extra))
    batch = _check("batch_recommendations", batch_recommendations)
    if batch:
        items.append(_line("batch", "batch inference recommendations", batch))
        warnings.append(
            "batch inference is billed per recommendation, but personakit knows no rate "
            f"({PRICING_URL}): that line has no subtotal and the total leaves it out"
        )
    if any(not i.verified and i.subtotal_usd for i in items):
        warnings.append(
            f"the $ figures are unverified placeholders; check {PRICING_URL} before relying on them"
        )
    if region != "us-east-1":
        warnings.append(
            f"the prices used name no region (read as us-east-1); {region} may differ "
            f"({PRICING_URL})"
        )
    return Estimate(region=region, items=tuple(items), warnings=tuple(warnings))
