"""Amazon Personalize's prices: the AWS Price List API when reachable, else a dated snapshot.

Read like the SageMaker prices (:mod:`personakit.cost.pricing`): :func:`refresh_personalize`
asks ``pricing:GetProducts`` for ``ServiceCode="AmazonPersonalize"`` and the region
(https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html),
reads every page with botocore's paginator, caches the rows under
``~/.cache/personakit/pricing/personalize-<region>.json`` and, when the API cannot be
reached, falls back to the last cached read or to the snapshot packaged in
``personakit/cost/data/personalize_prices.json``, marked ``stale``::

    from personakit.cost import PriceTable, refresh_personalize

    table = PriceTable.packaged("us-east-1")          # offline, dated, each line sourced
    table = refresh_personalize(session, "eu-west-1")  # live, cached, falls back
    table.line("training")                             # UnitPrice(usd=..., source=..., as_of=...)

**What is and is not verified.** No ``AmazonPersonalize`` Price List element and no
English copy of https://aws.amazon.com/personalize/pricing/ with its figures could be
retrieved when the snapshot was made (its ``provenance`` field says how it was
searched): every packaged figure is a third-party placeholder marked
``verified=False``, and the batch price per recommendation is unknown (``usd=None``).
A price read from the API is marked verified, with its SKU and publication date.

**How API rows are matched** (no real element was available to pin the attribute
values): an ``OnDemand`` price dimension in USD above zero, classified by the words
of its ``usagetype``, ``group`` and ``description``: ``batch`` -> batch
recommendations; ``TPS`` -> the real-time TPS-hour tiers (``beginRange`` /
``endRange`` are the tier bounds); ``train`` -> training hours; ``recommender`` or
``user`` -> a recommender's active-user hour (``recommendation`` units -> its extra
recommendations); ``GB`` units or ``ingest`` -> data. A row that matches nothing is
logged and skipped; a price the read did not find keeps the snapshot's line, which
says so.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import itertools
import json
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from personakit.aws.paging import paginate
from personakit.aws.retry import Retrier
from personakit.cost.catalog import Origin
from personakit.cost.pricing import (
    default_cache_dir,
    price_list_detail,
    read_price_list,
    utc_now,
)
from personakit.errors import ConfigurationError

if TYPE_CHECKING:
    from mypy_boto3_pricing import PricingClient

    from personakit.aws.session import Session

__all__ = [
    "PERSONALIZE_SERVICE_CODE",
    "PRICE_KEYS",
    "PersonalizeRow",
    "PriceTable",
    "UnitPrice",
    "check_region",
    "parse_personalize_element",
    "personalize_regions",
    "refresh_personalize",
]

logger = logging.getLogger(__name__)

#: The Price List service code of Amazon Personalize.
PERSONALIZE_SERVICE_CODE = "AmazonPersonalize"
#: The priced quantities, in the order line items are shown; ``tps`` is the tiered one.
PRICE_KEYS: tuple[str, ...] = (
    "data",
    "training",
    "tps",
    "recommender",
    "recommender_extra",
    "batch",
)
_SNAPSHOT = "personalize_prices.json"
_DEFAULT_MAX_AGE = dt.timedelta(days=7)
#: The region the packaged figures are read as.
_SNAPSHOT_REGION = "us-east-1"


@attrs.frozen(kw_only=True)
class UnitPrice:
    """A unit price with its source; ``usd`` is ``None`` where no rate is known."""

    usd: float | None
    unit: str
    source: str
    verified: bool = False
    as_of: str | None = None


# --------------------------------------------------------------------------- regions


def personalize_regions() -> list[str]:
    """The regions Amazon Personalize has an endpoint in, from botocore's endpoint data
    (https://docs.aws.amazon.com/general/latest/gr/personalize.html)."""
    return list(_regions())


@functools.cache
def _regions() -> tuple[str, ...]:
    import botocore.session

    session = botocore.session.get_session()
    found: set[str] = set()
    for partition in session.get_available_partitions():
        found.update(session.get_available_regions("personalize", partition_name=partition))
    return tuple(sorted(found))


@functools.cache
def _snapshot() -> Mapping[str, Any]:
    data: Mapping[str, Any] = json.loads(
        resources.files("personakit.cost").joinpath("data", _SNAPSHOT).read_text("utf-8")
    )
    return data


def check_region(region: str) -> str:
    """``region`` if Amazon Personalize runs there, else a ``ConfigurationError`` naming them.

    Raises:
        ConfigurationError: the region is unknown to Personalize, with the valid ones
            and a "did you mean".
    """
    valid = personalize_regions()
    if region in valid:
        return region
    close = difflib.get_close_matches(str(region), valid, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ConfigurationError(
        f"region {region!r}: Amazon Personalize is not offered there.{hint} Valid regions: "
        f"{', '.join(valid)} (https://docs.aws.amazon.com/general/latest/gr/personalize.html)"
    )


# --------------------------------------------------------------------------- the table


@attrs.frozen(kw_only=True)
class PriceTable:
    """Personalize's unit prices for one region, each with its source and date.

    Attributes:
        region: The region the prices are for.
        prices: ``data``, ``training``, ``recommender``, ``recommender_extra``,
            ``batch``: one :class:`UnitPrice` each (``usd`` ``None`` when unknown).
        tps_tiers: Real-time TPS-hour tiers per month: ``(TPS-hours in the tier,
            USD per TPS-hour)``, the last tier unbounded.
        tps: The source, date and verification of the tiers (``usd`` is the first tier's).
        origin: ``"packaged"``, ``"pricing-api"`` or ``"cache"``.
        as_of: When the prices were read (the snapshot's date for packaged ones).
        stale: True when the API could not be reached and an old read is used.
        note: Where the prices came from, in a sentence.
        warnings: What the reader of a bill should know (region read as another).
    """

    region: str
    prices: Mapping[str, UnitPrice]
    tps_tiers: tuple[tuple[float, float], ...]
    tps: UnitPrice
    origin: Origin = "packaged"
    as_of: dt.date
    stale: bool = False
    note: str = ""
    warnings: tuple[str, ...] = ()

    def line(self, key: str) -> UnitPrice:
        """The unit price of ``key`` (one of :data:`PRICE_KEYS`)."""
        if key == "tps":
            return self.tps
        try:
            return self.prices[key]
        except KeyError:
            raise ConfigurationError(
                f"no Personalize price called {key!r}; known: {', '.join(PRICE_KEYS)}"
            ) from None

    @property
    def verified(self) -> bool:
        """Whether every known price was read from the AWS Price List API."""
        return all(p.verified for p in (*self.prices.values(), self.tps) if p.usd is not None)

    @property
    def source(self) -> str:
        """One line: where the prices come from and their date."""
        return f"{self.note} (prices as of {self.as_of.isoformat()})"

    @classmethod
    def packaged(cls, region: str = _SNAPSHOT_REGION) -> PriceTable:
        """The snapshot shipped with personakit, for ``region`` (checked, read as us-east-1)."""
        if region != _SNAPSHOT_REGION:  # (botocore's endpoint data is read only when needed)
            check_region(region)
        return _from_snapshot(_snapshot(), region)

    def with_live(
        self, rows: list[PersonalizeRow], *, origin: Origin, as_of: dt.date, stale: bool, note: str
    ) -> PriceTable:
        """This table with the prices found in ``rows`` replacing the snapshot's."""
        prices = dict(self.prices)
        found: set[str] = set()
        for row in rows:
            if row.key in ("tps", *found):
                continue
            prices[row.key] = UnitPrice(
                usd=row.usd,
                unit=row.unit_label(self.prices[row.key].unit),
                source=row.source(),
                verified=True,
                as_of=as_of.isoformat(),
            )
            found.add(row.key)
        tiers = self.tps_tiers
        tps = self.tps
        tier_rows = _contiguous(r for r in rows if r.key == "tps")
        if tier_rows:
            tiers = tuple(
                ((r.end - r.begin) if math.isfinite(r.end) else math.inf, r.usd) for r in tier_rows
            )
            tps = UnitPrice(
                usd=tier_rows[0].usd,
                unit=self.tps.unit,
                source=tier_rows[0].source(),
                verified=True,
                as_of=as_of.isoformat(),
            )
        missing = [k for k in PRICE_KEYS if k not in found and not (k == "tps" and tier_rows)]
        prices = {
            k: (
                attrs.evolve(
                    v,
                    source=f"{v.source}; the Price List read of {self.region} had no row for it "
                    "(packaged snapshot)",
                )
                if k in missing
                else v
            )
            for k, v in prices.items()
        }
        if "tps" in missing:
            tps = attrs.evolve(
                tps, source=f"{tps.source}; the Price List read had no usable TPS-hour tiers"
            )
        return attrs.evolve(
            self,
            prices=prices,
            tps_tiers=tiers,
            tps=tps,
            origin=origin,
            as_of=as_of,
            stale=stale,
            note=note,
            warnings=self.warnings if missing else (),
        )


def _contiguous(rows: Iterator[PersonalizeRow] | list[PersonalizeRow]) -> list[PersonalizeRow]:
    """TPS-hour tiers from 0 to unbounded, one row per tier; ``[]`` when they are not
    (a gap or a bounded last tier would leave usage unpriced: the snapshot's tiers stay)."""
    by_begin: dict[float, PersonalizeRow] = {}
    for row in rows:
        by_begin.setdefault(row.begin, row)
    tiers = [by_begin[b] for b in sorted(by_begin)]
    if not tiers or tiers[0].begin != 0 or not math.isinf(tiers[-1].end):
        if tiers:
            logger.warning("Personalize TPS-hour tiers from the Price List are not contiguous")
        return []
    for before, after in itertools.pairwise(tiers):
        if before.end != after.begin:
            logger.warning("Personalize TPS-hour tiers from the Price List have a gap")
            return []
    return tiers


def _from_snapshot(data: Mapping[str, Any], region: str) -> PriceTable:
    as_of = str(data["as_of"])
    prices = {
        key: UnitPrice(
            usd=None if value["usd"] is None else float(value["usd"]),
            unit=str(value["unit"]),
            source=f"{value['source']} [packaged snapshot of {as_of}]",
            verified=bool(value.get("verified", False)),
            as_of=as_of,
        )
        for key, value in data["prices"].items()
    }
    tps_data = data["tps_hour_tiers"]
    tiers = tuple(
        (math.inf if t["tps_hours"] is None else float(t["tps_hours"]), float(t["usd"]))
        for t in tps_data["tiers"]
    )
    tps = UnitPrice(
        usd=tiers[0][1],
        unit=str(tps_data["unit"]),
        source=f"{tps_data['source']} [packaged snapshot of {as_of}]",
        verified=bool(tps_data.get("verified", False)),
        as_of=as_of,
    )
    warnings: tuple[str, ...] = ()
    if region != _SNAPSHOT_REGION:
        warnings = (
            f"the packaged prices name no region (read as {_SNAPSHOT_REGION}); {region} may "
            f"differ ({data['pricing_url']})",
        )
    return PriceTable(
        region=region,
        prices=prices,
        tps_tiers=tiers,
        tps=tps,
        origin="packaged",
        as_of=dt.date.fromisoformat(as_of),
        note="personakit's packaged snapshot of Personalize prices (unverified)",
        warnings=warnings,
    )


# --------------------------------------------------------------------------- Price List rows


@attrs.frozen(kw_only=True)
class PersonalizeRow:
    """One on-demand Personalize price dimension read from a ``PriceList`` element."""

    key: str
    usd: float
    unit: str
    begin: float = 0.0
    end: float = math.inf
    sku: str | None = None
    usagetype: str | None = None
    description: str | None = None
    region: str | None = None
    publication_date: str | None = None

    def source(self) -> str:
        detail = price_list_detail(self.sku, self.usagetype, self.publication_date)
        return "AWS Price List API GetProducts, AmazonPersonalize" + (
            f" ({detail})" if detail else ""
        )

    def unit_label(self, default: str) -> str:
        return f"{default} [{self.unit}]" if self.unit and self.unit not in default else default

    def to_dict(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["end"] = None if math.isinf(self.end) else self.end
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PersonalizeRow:
        fields = {f.name for f in attrs.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        if values.get("end") is None:
            values["end"] = math.inf
        return cls(**values)


def _classify(text: str, unit: str) -> str | None:
    words = text.lower()
    unit_l = unit.lower()
    if "batch" in words:
        return "batch"
    if "tps" in words or "tps" in unit_l:
        return "tps"
    if "train" in words:
        return "training"
    if "recommender" in words or "user" in words:
        return "recommender_extra" if "recommendation" in unit_l else "recommender"
    if unit_l in ("gb", "gb-mo") or "ingest" in words:
        return "data" if unit_l == "gb" or "ingest" in words else None
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one (odd shapes are skipped)."""
    return value if isinstance(value, Mapping) else {}


def _range(value: Any, default: float) -> float:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return default
    return number


def parse_personalize_element(
    element: str | Mapping[str, Any], region: str | None = None
) -> list[PersonalizeRow]:
    """The Personalize prices in one ``PriceList`` element (a JSON string or a dict).

    Empty for anything that is not an ``AmazonPersonalize`` on-demand USD price above
    zero (in ``region`` when given), or that no rule above recognises.
    """
    data: Any = json.loads(element) if isinstance(element, str | bytes) else element
    if not isinstance(data, Mapping):
        return []
    product = data.get("product")
    if not isinstance(product, Mapping):
        return []
    attributes = _mapping(product.get("attributes"))
    service = attributes.get("servicecode") or data.get("serviceCode")
    if service != PERSONALIZE_SERVICE_CODE:
        return []
    row_region = attributes.get("regionCode")
    if region is not None and row_region is not None and row_region != region:
        return []
    usagetype = str(attributes.get("usagetype") or "")
    group = " ".join(str(attributes.get(k) or "") for k in ("group", "groupDescription"))
    rows: list[PersonalizeRow] = []
    for term in _mapping(_mapping(data.get("terms")).get("OnDemand")).values():
        for dimension in _mapping(_mapping(term).get("priceDimensions")).values():
            dimension = _mapping(dimension)
            usd_text = _mapping(dimension.get("pricePerUnit")).get("USD")
            try:
                usd = float(str(usd_text))
            except (TypeError, ValueError):
                continue
            if not usd > 0:
                continue
            unit = str(dimension.get("unit") or "")
            description = str(dimension.get("description") or "")
            key = _classify(f"{usagetype} {group} {description}", unit)
            if key is None:
                logger.debug("unrecognised Personalize price row %s: %s", usagetype, description)
                continue
            rows.append(
                PersonalizeRow(
                    key=key,
                    usd=usd,
                    unit=unit,
                    begin=_range(dimension.get("beginRange"), 0.0),
                    end=_range(dimension.get("endRange"), math.inf),
                    sku=product.get("sku"),
                    usagetype=usagetype or None,
                    description=description or None,
                    region=row_region,
                    publication_date=data.get("publicationDate"),
                )
            )
    return rows


def _iter_price_list(
    client: PricingClient, region: str, *, retrier: Retrier | None = None
) -> Iterator[str]:
    retrier = retrier or Retrier()
    yield from paginate(
        retrier.call,
        client,
        "get_products",
        "PriceList",
        ServiceCode=PERSONALIZE_SERVICE_CODE,
        Filters=[{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}],
        FormatVersion="aws_v1",
    )


# --------------------------------------------------------------------------- cache + refresh


def _cache_path(cache_dir: Path, region: str) -> Path:
    return cache_dir / f"personalize-{region}.json"


def refresh_personalize(
    session: Session,
    region: str | None = None,
    *,
    cache_dir: str | Path | None = None,
    max_age: dt.timedelta = _DEFAULT_MAX_AGE,
    force: bool = False,
    retrier: Retrier | None = None,
    now: Callable[[], dt.datetime] = utc_now,
) -> PriceTable:
    """Personalize's prices in ``region`` from the AWS Price List API, cached; else a fallback.

    Args:
        session: where the ``pricing`` client comes from.
        region: the region whose prices to read (the session's when ``None``); checked
            against Personalize's regions.
        cache_dir: where reads are cached (``~/.cache/personakit/pricing`` by default).
        max_age: a cached read younger than this is used without an API call.
        force: ignore the cache and call the API.
        retrier: retry policy of the API calls.
        now: the clock (UTC), injectable for tests.

    Returns:
        A :class:`PriceTable`: ``origin`` ``"pricing-api"`` or ``"cache"`` when read,
        else the packaged snapshot (or an older cache) with ``stale=True``.

    Raises:
        ConfigurationError: an unknown region (with the valid ones).
    """
    region = check_region(region or session.region)
    base = PriceTable.packaged(region)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()

    def fetch() -> list[PersonalizeRow]:
        client = session.client("pricing")
        rows = [
            row
            for element in _iter_price_list(client, region, retrier=retrier)
            for row in parse_personalize_element(element, region)
        ]
        if not rows:
            raise LookupError(f"the Price List API returned no Personalize prices for {region!r}")
        return rows

    read = read_price_list(
        _cache_path(folder, region),
        region,
        fetch,
        row=PersonalizeRow.from_dict,
        to_dict=PersonalizeRow.to_dict,
        source="AWS Price List API GetProducts, ServiceCode AmazonPersonalize",
        max_age=max_age,
        force=force,
        now=now,
        log=logger,
        packaged="Personalize prices",
        packaged_as_of=base.as_of,
    )
    if read.rows is None or read.retrieved is None:
        return attrs.evolve(
            base, stale=True, note=f"{base.note}; Price List API unavailable ({read.why})"
        )
    return base.with_live(
        read.rows,
        origin=read.origin,
        as_of=read.retrieved.date(),
        stale=read.stale,
        note=read.note,
    )
