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

from personakit.cost.personalize_prices import PriceTable, UnitPrice, check_region
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

#: The packaged, dated snapshot (``personakit/cost/data/personalize_prices.json``):
#: read by :meth:`PriceTable.packaged`; every $ figure in it is unverified.
_PACKAGED = PriceTable.packaged()

#: Unit prices of the packaged snapshot (https://aws.amazon.com/personalize/pricing/).
PRICES: Mapping[str, UnitPrice] = _PACKAGED.prices

#: Real-time (campaign) TPS-hour tiers per month: (TPS-hours in the tier, USD per TPS-hour),
#: from the packaged snapshot (https://aws.amazon.com/personalize/pricing/).
TPS_HOUR_TIERS: tuple[tuple[float, float], ...] = _PACKAGED.tps_tiers

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
    ``period`` says what the quantities cover (``"one month"``, ``"this run"``);
    ``price_source`` and ``prices_as_of`` say where the price table came from.
    """

    region: str
    items: tuple[LineItem, ...]
    warnings: tuple[str, ...] = ()
    period: str = "one month"
    price_source: str | None = None
    prices_as_of: str | None = None

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
                f"{i.quantity:,.4g}",
                i.unit,
                "?" if i.unit_price_usd is None else f"${i.unit_price_usd:.6g}",
                "?" if i.subtotal_usd is None else _money(i.subtotal_usd),
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

        out = [f"Amazon Personalize estimate ({self.region}, {self.period})", line(head)]
        out.append("  ".join("-" * w for w in widths))
        out.extend(line(r) for r in rows)
        total = f"total: ${self.total_usd:,.2f}"
        if not self.complete:
            total += " + items without a known price (incomplete)"
        out.append(total)
        if self.price_source:
            out.append(f"prices: {self.price_source}")
        sources = dict.fromkeys(i.source for i in self.items)
        if sources:
            out.append("sources:")
            out.extend(f"  - {s}" for s in sources)
        notes: dict[str, list[str]] = {}
        for i in self.items:
            if i.note:
                notes.setdefault(i.note, []).append(i.item)
        if notes:
            out.append("notes:")
            out.extend(f"  - {'; '.join(items)}: {note}" for note, items in notes.items())
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
            f"<div><b>Amazon Personalize estimate ({html.escape(self.region)}, "
            f"{html.escape(self.period)}): "
            f"${self.total_usd:,.2f}{'' if self.complete else ' + unpriced items'}</b>"
            f"<table><tr>{head}</tr>{body}</table>"
            + (f"<ul>{warnings}</ul>" if warnings else "")
            + "</div>"
        )


def _thousands(value: float) -> str:
    """``20K`` for 20,000; ``1,500`` below a round thousand."""
    return f"{value / 1000:g}K" if value >= 1000 and value % 1000 == 0 else f"{value:,.0f}"


def _money(usd: float) -> str:
    """``$1,234.50``; amounts under a cent keep their first digits (``$0.000063``)."""
    if usd == 0 or abs(usd) >= 0.01:
        return f"${usd:,.2f}"
    digits = min(10, 1 - math.floor(math.log10(abs(usd))))
    return f"${usd:.{digits}f}"


def price_line(
    prices: PriceTable, key: str, item: str, quantity: float, note: str | None = None
) -> LineItem:
    """``quantity`` at the unit price ``key`` of ``prices``: unknown prices give no subtotal."""
    price = prices.line(key)
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


def tps_lines(
    prices: PriceTable, tps_hours: float, *, item: str, note: str | None = None
) -> list[LineItem]:
    """``tps_hours`` of one month spread over the TPS-hour tiers of ``prices``."""
    lines: list[LineItem] = []
    start = 0.0
    for k, (size, rate) in enumerate(prices.tps_tiers):
        in_tier = max(0.0, min(tps_hours - start, size))
        if in_tier > 0:
            if math.isinf(size):
                name = f"over {_thousands(start)}"
            else:
                name = f"{'first' if k == 0 else 'next'} {_thousands(size)}"
            lines.append(
                LineItem(
                    item=f"{item}, TPS-hours {name}",
                    quantity=in_tier,
                    unit=prices.tps.unit,
                    unit_price_usd=rate,
                    subtotal_usd=in_tier * rate,
                    source=prices.tps.source,
                    verified=prices.tps.verified,
                    as_of=prices.tps.as_of,
                    note=note,
                )
            )
        start += size
    return lines


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
    prices: PriceTable | None = None,
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
        region: where; an unknown region raises a ``ConfigurationError`` naming the
            valid ones. The packaged prices name no region (read as us-east-1), so
            anything else gets a warning.
        free_tier: subtract the free tier of the first two months.
        prices: the price table (:func:`~personakit.cost.refresh_personalize` for live
            prices); the packaged snapshot for ``region`` when ``None``.
    """
    if region != _PACKAGED.region:
        check_region(region)
    if prices is None:
        prices = _PACKAGED if region == _PACKAGED.region else PriceTable.packaged(region)
    elif prices.region != region:
        raise ConfigurationError(
            f"the price table is for {prices.region}, the estimate for {region}: pass "
            f"refresh_personalize(session, {region!r})"
        )
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
        billed = free(data_gb, "data_gb", f"{data_gb:g} GB")
        items.append(price_line(prices, "data", "data ingestion", billed))
    if training_hours:
        billed = free(training_hours, "training_hours", "training hours")
        items.append(price_line(prices, "training", "training", billed))
    if tps_hours:
        remaining = free(tps_hours, "tps_hours", "TPS-hours (180,000 requests)")
        note = (
            f"minProvisionedTPS {min_tps:g}: billed max(min, actual) every hour"
            if min_tps is not None
            else None
        )
        items.extend(tps_lines(prices, remaining, item="real-time recommendations", note=note))
        if min_tps is not None and min_tps > CAMPAIGN_TPS_QUOTA:
            warnings.append(
                f"min_tps {min_tps:g} exceeds the default quota of {CAMPAIGN_TPS_QUOTA} TPS per "
                f"campaign per API ({DG}limits.html): request an increase first"
            )
    recommender_hours = _check("recommender_hours", recommender_hours)
    if recommender_hours:
        units = recommender_hours * _check("recommender_users", recommender_users) / 100_000
        items.append(
            price_line(
                prices,
                "recommender",
                f"recommender, {recommender_users:,.0f} active users",
                units,
                note="per hour per 100K users; tiers beyond the first and the free "
                "recommendations per hour are not modelled",
            )
        )
    extra = _check("recommender_extra_recommendations", recommender_extra_recommendations)
    if extra:
        items.append(
            price_line(prices, "recommender_extra", "recommender, extra recommendations", extra)
        )
    batch = _check("batch_recommendations", batch_recommendations)
    if batch:
        items.append(price_line(prices, "batch", "batch inference recommendations", batch))
    warnings.extend(caveats(items, prices))
    return Estimate(
        region=region,
        items=tuple(items),
        warnings=tuple(warnings),
        price_source=prices.source,
        prices_as_of=prices.as_of.isoformat(),
    )


def caveats(items: list[LineItem], prices: PriceTable) -> list[str]:
    """The warnings every estimate on ``prices`` carries: unknown and unverified prices."""
    out: list[str] = []
    unknown = [i.item for i in items if i.subtotal_usd is None]
    if unknown:
        out.append(
            f"no known price for {', '.join(unknown)} ({PRICING_URL}): those lines have no "
            "subtotal and the total leaves them out, so it is incomplete"
        )
    if any(not i.verified and i.subtotal_usd for i in items):
        out.append(
            f"the $ figures are unverified placeholders; check {PRICING_URL} before relying on them"
        )
    out.extend(prices.warnings)
    return out
