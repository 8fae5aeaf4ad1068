"""The AWS bill of a local run: what the local engine did, priced as AWS would bill it.

The local engine runs the whole journey, so it knows what a run used
(:func:`personakit.local.usage.read_usage`): the bytes each import read, each
solution version's training time, each campaign's and recommender's lifetime and
floor, the recommendations batch jobs wrote, each SageMaker endpoint's instances and
lifetime. :func:`bill` prices them with Personalize's price table
(:class:`~personakit.cost.PriceTable`: the Price List API or the dated snapshot) and
SageMaker's Hosting prices (:class:`~personakit.cost.Catalog`)::

    with pk.Session.local("./pk-workspace") as session:
        ...                                    # the journey
        print(pk.cost.bill(session, region="us-east-1"))

Every line item names its price's source and date, and a note saying how its
quantity was counted; a quantity without a known price (batch recommendations) has
no subtotal, and the estimate says it is incomplete.

Assumptions (each repeated in its line item's note):

* **Training.** Personalize bills training hours of 4 vCPU + 8 GiB on instances it
  chooses, reported as ``trainingHours`` by ``DescribeSolutionVersion``
  (https://aws.amazon.com/personalize/pricing/,
  https://docs.aws.amazon.com/personalize/latest/dg/API_SolutionVersion.html). The
  local engine reports its own wall-clock training time there, on this machine: a
  lower bound of what AWS bills. Pass ``training_hours=`` (billed hours per solution
  version) to price your own figure.
* **Campaigns** bill ``max(minProvisionedTPS, actual TPS)`` per 5-minute window while
  they exist; the bill counts the floor over the lifetime rounded up to whole 5-minute
  windows, not the requests above it.
* **Recommenders** bill per hour per 100K active users, plus recommendations above
  the free ones; the bill counts one 100K-user unit and, for a floor above 1 request
  a second, 3,600 extra recommendations an hour per request a second.
* **Data** is the bytes of the CSV files the import jobs read, in GB of 2**30 bytes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING

from personakit.cost.catalog import Catalog
from personakit.cost.personalize import (
    PRICING_URL,
    Estimate,
    LineItem,
    caveats,
    price_line,
    tps_lines,
)
from personakit.cost.personalize_prices import PriceTable, check_region
from personakit.errors import ConfigurationError

if TYPE_CHECKING:
    from personakit.aws.session import Session
    from personakit.local.usage import RunUsage

__all__ = ["CAMPAIGN_WINDOW_S", "bill", "usage_of"]

#: Campaign usage is measured per 5-minute window (https://aws.amazon.com/personalize/pricing/).
CAMPAIGN_WINDOW_S = 300.0
_GB = float(2**30)
_SOLUTION_VERSION_DOC = "https://docs.aws.amazon.com/personalize/latest/dg/API_SolutionVersion.html"


def usage_of(session: Session, *, since: float | None = None) -> RunUsage:
    """What the local workspace of ``session`` used (created at or after ``since``).

    Raises:
        ConfigurationError: ``session`` is not on the local engine (on AWS, the bill
            is AWS's: Cost Explorer).
    """
    from personakit.local.engine import LocalEngine  # reason: the engine loads only when billed
    from personakit.local.usage import read_usage  # reason: (same)

    engine = session.engine
    if not isinstance(engine, LocalEngine):
        raise ConfigurationError(
            "the bill of a run reads a local workspace; this session talks to AWS, whose "
            "own bill is in Cost Explorer (https://aws.amazon.com/aws-cost-management/"
            "aws-cost-explorer/); personakit.cost.running(session) shows what bills now"
        )
    return read_usage(engine.store, engine.llm, since=since)


def bill(
    source: Session | RunUsage,
    *,
    region: str = "us-east-1",
    prices: PriceTable | None = None,
    catalog: Catalog | None = None,
    since: float | None = None,
    training_hours: float | None = None,
) -> Estimate:
    """What the run recorded by ``source`` would cost on AWS in ``region``.

    Args:
        source: A local session (its workspace is read) or a :class:`RunUsage`.
        region: Where to price it; an unknown region raises a ``ConfigurationError``
            naming Personalize's regions, with a "did you mean".
        prices: Personalize's prices (:func:`~personakit.cost.refresh_personalize` for
            live ones); the packaged snapshot when ``None``.
        catalog: SageMaker Hosting prices for endpoints; the packaged catalog when ``None``.
        since: Count only what was created at or after this time (epoch seconds).
        training_hours: Billed training hours per solution version, instead of the local
            engine's wall-clock ``trainingHours``.

    Returns:
        An :class:`~personakit.cost.Estimate` with ``period="this run"``: line items
        with their sources and notes, the total, and whether it is complete.
    """
    check_region(region)
    if prices is None:
        prices = PriceTable.packaged(region)
    elif prices.region != region:
        raise ConfigurationError(
            f"the price table is for {prices.region}, the bill for {region}: pass "
            f"refresh_personalize(session, {region!r}) or PriceTable.packaged({region!r})"
        )
    if training_hours is not None and training_hours < 0:
        raise ConfigurationError(f"training_hours must be >= 0, got {training_hours!r}")
    from personakit.local.usage import RunUsage  # reason: the engine loads only when billed

    usage = source if isinstance(source, RunUsage) else usage_of(source, since=since)
    items: list[LineItem] = []
    items.extend(_data(usage, prices))
    items.extend(_training(usage, prices, training_hours))
    items.extend(_campaigns(usage, prices))
    items.extend(_recommenders(usage, prices))
    items.extend(_batches(usage, prices))
    warnings = caveats(items, prices)
    endpoint_items, endpoint_warnings = _endpoints(usage, catalog or Catalog.load(), region)
    items.extend(endpoint_items)
    warnings.extend(endpoint_warnings)
    if prices.stale:
        warnings.append(f"Personalize prices: {prices.note}")
    return Estimate(
        region=region,
        items=tuple(items),
        warnings=tuple(dict.fromkeys(warnings)),
        period="this run",
        price_source=prices.source,
        prices_as_of=prices.as_of.isoformat(),
    )


def _data(usage: RunUsage, prices: PriceTable) -> list[LineItem]:
    if not usage.imports:
        return []
    size = sum(i.bytes for i in usage.imports)
    return [
        price_line(
            prices,
            "data",
            "data ingestion",
            size / _GB,
            note=f"{size:,} bytes of CSV read by {len(usage.imports)} import job(s); "
            "GB of 2**30 bytes",
        )
    ]


def _training(usage: RunUsage, prices: PriceTable, per_version: float | None) -> list[LineItem]:
    by_recipe: dict[str, list[float]] = defaultdict(list)
    for t in usage.trainings:
        by_recipe[t.recipe].append(t.training_hours if per_version is None else per_version)
    lines = []
    for recipe, hours in by_recipe.items():
        if per_version is None:
            note = (
                f"{len(hours)} solution version(s); the local engine's wall-clock trainingHours "
                "on this machine, a lower bound: AWS bills the compute hours (4 vCPU + 8 GiB) "
                "of the instances Personalize picks, reported as trainingHours by "
                f"DescribeSolutionVersion ({_SOLUTION_VERSION_DOC}); pass training_hours= to "
                "price your own figure"
            )
        else:
            note = f"{len(hours)} solution version(s) x {per_version:g} billed hours (given)"
        lines.append(price_line(prices, "training", f"training, {recipe}", sum(hours), note=note))
    return lines


def _billed_window_hours(seconds: float) -> float:
    windows = max(1, math.ceil(seconds / CAMPAIGN_WINDOW_S - 1e-9))
    return windows * CAMPAIGN_WINDOW_S / 3600.0


def _campaigns(usage: RunUsage, prices: PriceTable) -> list[LineItem]:
    campaigns = [h for h in usage.hourly if h.kind == "campaign"]
    if not campaigns:
        return []
    tps_hours = 0.0
    for c in campaigns:
        seconds = c.hours(usage.taken_at) * 3600.0
        tps_hours += c.floor * _billed_window_hours(seconds)
    floors = ", ".join(f"{c.floor:g}" for c in campaigns)
    note = (
        f"{len(campaigns)} campaign(s) at minProvisionedTPS {floors}: the floor over each "
        "lifetime, rounded up to whole 5-minute windows (usage is measured per 5-minute "
        f"window, {PRICING_URL}); requests above the floor are not counted"
    )
    return tps_lines(prices, tps_hours, item="campaigns", note=note)


def _recommenders(usage: RunUsage, prices: PriceTable) -> list[LineItem]:
    recommenders = [h for h in usage.hourly if h.kind == "recommender"]
    if not recommenders:
        return []
    hours = sum(r.hours(usage.taken_at) for r in recommenders)
    lines = [
        price_line(
            prices,
            "recommender",
            "recommenders, 100K active users",
            hours,
            note=f"{len(recommenders)} recommender(s): hours while they exist x one 100K-user "
            "unit (the floor); more active users bill more",
        )
    ]
    extra = sum(
        (r.floor - 1) * 3600.0 * r.hours(usage.taken_at) for r in recommenders if r.floor > 1
    )
    if extra:
        lines.append(
            price_line(
                prices,
                "recommender_extra",
                "recommenders, recommendations above the floor of 1 request/s",
                extra,
                note="minRecommendationRequestsPerSecond above 1 x 3,600 an hour; an upper "
                "bound, as some recommendations each hour are free",
            )
        )
    return lines


def _batches(usage: RunUsage, prices: PriceTable) -> list[LineItem]:
    lines = []
    inference = [b for b in usage.batches if b.kind == "batch-inference-job"]
    segments = [b for b in usage.batches if b.kind == "batch-segment-job"]
    if inference:
        count = sum(b.recommendations or 0 for b in inference)
        lines.append(
            price_line(
                prices,
                "batch",
                "batch inference recommendations",
                float(count),
                note=f"{len(inference)} batch inference job(s), "
                f"{sum(b.lines or 0 for b in inference):,} input lines: the items they wrote",
            )
        )
    if segments:
        count = sum(b.users or 0 for b in segments)
        lines.append(
            price_line(
                prices,
                "batch",
                "batch segment users",
                float(count),
                note=f"{len(segments)} batch segment job(s): the users in their segments, "
                "priced (if at all) like batch recommendations",
            )
        )
    return lines


def _endpoints(usage: RunUsage, catalog: Catalog, region: str) -> tuple[list[LineItem], list[str]]:
    hours: dict[str, float] = defaultdict(float)
    names: dict[str, set[str]] = defaultdict(set)
    for e in usage.hourly:
        if e.kind == "endpoint" and e.instance_type:
            hours[e.instance_type] += e.floor * e.hours(usage.taken_at)
            names[e.instance_type].add(e.name)
    items: list[LineItem] = []
    warnings: list[str] = []
    for instance_type, instance_hours in sorted(hours.items()):
        price = catalog.prices.get(instance_type, {}).get(region)
        note = (
            f"{len(names[instance_type])} SageMaker endpoint(s): instances x hours from "
            "creation to deletion"
        )
        if price is None:
            items.append(
                LineItem(
                    item=f"SageMaker endpoint, {instance_type}",
                    quantity=instance_hours,
                    unit="instance-hour",
                    unit_price_usd=None,
                    subtotal_usd=None,
                    source=f"no Hosting price for {instance_type} in {region} "
                    f"({catalog.describe_age()})",
                    verified=False,
                    note=note,
                )
            )
            continue
        items.append(
            LineItem(
                item=f"SageMaker endpoint, {instance_type}",
                quantity=instance_hours,
                unit="instance-hour",
                unit_price_usd=price.usd_per_hour,
                subtotal_usd=instance_hours * price.usd_per_hour,
                source=price.source,
                verified=price.as_of is not None,  # a dated, sourced figure
                as_of=price.as_of.isoformat() if price.as_of else catalog.as_of.isoformat(),
                note=note,
            )
        )
    if any(i.subtotal_usd is None for i in items):
        warnings.append(
            "some endpoint instance types have no Hosting price in the catalog: their lines "
            "have no subtotal and the total is incomplete"
        )
    return items, warnings
