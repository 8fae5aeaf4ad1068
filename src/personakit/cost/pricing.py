"""Live SageMaker Hosting prices from the AWS Price List API: cached, with an offline fallback.

:func:`refresh` asks ``pricing:GetProducts`` of the AWS Price List Query API
(https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html)
for every on-demand SageMaker **Hosting** price of a region
(https://aws.amazon.com/sagemaker/pricing/)::

    ServiceCode="AmazonSageMaker", FormatVersion="aws_v1", Filters=[
        {"Type": "TERM_MATCH", "Field": "productFamily", "Value": "ML Instance"},
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        {"Type": "TERM_MATCH", "Field": "platoinstancetype", "Value": "Hosting"},
        {"Type": "TERM_MATCH", "Field": "locationType", "Value": "AWS Region"}]

and reads every page with botocore's ``get_products`` paginator. Each ``PriceList``
entry is a JSON *string*; every one is checked again on our side, because without the
component filter the API also returns Training, Notebook, Studio and batch-transform rows
(the SageMaker SDK's ``PriceList[0]`` pitfall), and scrapers have seen free-tier
and $0 placeholder rows, Outposts rows and fee rows in units other than hours.
A row counts only if it is an ``AmazonSageMaker`` ``ml.*`` instance, its
``platoinstancetype`` (or ``component``, or ``usagetype`` ``<REGION>-Host:ml.*``)
says Hosting, it is in an AWS Region, and an ``OnDemand`` price dimension has
unit ``Hrs`` and a price above zero. vCPU, memory, GPU count and GPU memory are
read from the same product attributes (``vCpu``, ``memory``, ``gpu``, ``gpuMemory``).

The result is cached as JSON under ``~/.cache/personakit/pricing/`` (or
``$XDG_CACHE_HOME``, or ``cache_dir``) with its retrieval time. When the API
cannot be reached (any botocore error: no credentials, no network, access
denied, throttling past the retry budget) :func:`refresh` logs a WARNING and
returns the last cached read, or the packaged snapshot, marked ``stale`` and
saying how old its prices are.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
from botocore.exceptions import BotoCoreError, ClientError

from personakit.aws.paging import paginate
from personakit.aws.retry import Retrier, error_code
from personakit.cost.catalog import (
    Accelerator,
    Catalog,
    InstanceType,
    Origin,
    Price,
    architecture_of,
    family_of,
)
from personakit.errors import PersonakitError

if TYPE_CHECKING:
    from mypy_boto3_pricing import PricingClient
    from mypy_boto3_pricing.type_defs import FilterTypeDef

    from personakit.aws.session import Session

__all__ = [
    "CACHE_SCHEMA",
    "DEFAULT_MAX_AGE",
    "HostingRow",
    "default_cache_dir",
    "failure_text",
    "hosting_filters",
    "iter_price_list",
    "parse_element",
    "price_list_detail",
    "read_cache",
    "refresh",
    "utc_now",
    "write_cache",
]

logger = logging.getLogger(__name__)

_Row = TypeVar("_Row")

CACHE_SCHEMA = 1
#: A cached read younger than this is used without calling the API.
DEFAULT_MAX_AGE = dt.timedelta(days=7)
#: The Price List service code of SageMaker; see
#: https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html
SERVICE_CODE = "AmazonSageMaker"

#: Accelerators by instance family, for types the packaged catalog does not list
#: (https://aws.amazon.com/ec2/instance-types/, accelerated computing).
FAMILY_ACCELERATORS: Mapping[str, str] = {
    "g4dn": "T4",
    "g5": "A10G",
    "g6": "L4",
    "p3": "V100",
    "p4d": "A100-40GB",
    "inf2": "Inferentia2",
}

_HOST_USAGE = re.compile(r"(^|-)Host:ml\.")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def hosting_filters(region: str) -> list[FilterTypeDef]:
    """The ``GetProducts`` filters selecting SageMaker Hosting instance rows of ``region``."""
    return [
        {"Type": "TERM_MATCH", "Field": "productFamily", "Value": "ML Instance"},
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        {"Type": "TERM_MATCH", "Field": "platoinstancetype", "Value": "Hosting"},
        {"Type": "TERM_MATCH", "Field": "locationType", "Value": "AWS Region"},
    ]


@attrs.frozen(kw_only=True)
class HostingRow:
    """One on-demand SageMaker Hosting price read from a ``PriceList`` element."""

    instance: str
    region: str | None
    usd_per_hour: float
    sku: str | None = None
    vcpu: int | None = None
    memory_gib: float | None = None
    gpu_count: int | None = None
    gpu_memory_gib: float | None = None
    usagetype: str | None = None
    publication_date: str | None = None
    version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HostingRow:
        fields = {f.name for f in attrs.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


def _number(value: Any) -> float | None:
    if value is None:
        return None
    match = _NUMBER.search(str(value).replace(",", ""))
    return float(match.group(0)) if match else None


def _is_hosting(attributes: Mapping[str, Any]) -> bool:
    kind = attributes.get("platoinstancetype")
    if kind is not None:
        return str(kind) == "Hosting"
    component = attributes.get("component")
    if component is not None:
        return str(component) == "Hosting"
    return bool(_HOST_USAGE.search(str(attributes.get("usagetype") or "")))


def _on_demand_hourly(terms: Mapping[str, Any]) -> float | None:
    for term in (terms.get("OnDemand") or {}).values():
        for dimension in (term.get("priceDimensions") or {}).values():
            if dimension.get("unit") != "Hrs":
                continue
            usd = (dimension.get("pricePerUnit") or {}).get("USD")
            try:
                price = float(str(usd))
            except (TypeError, ValueError):
                continue
            if price > 0:
                return price
    return None


def parse_element(element: str | Mapping[str, Any], region: str | None = None) -> HostingRow | None:
    """The Hosting price in one ``PriceList`` element (a JSON string or a dict), or ``None``.

    ``None`` for anything that is not an on-demand, hourly, non-zero SageMaker
    Hosting price of an ``ml.*`` instance in an AWS Region (``region`` when given).
    """
    data: Any = json.loads(element) if isinstance(element, str | bytes) else element
    if not isinstance(data, Mapping):
        return None
    product = data.get("product")
    if not isinstance(product, Mapping):
        return None
    attributes = product.get("attributes") or {}
    service = attributes.get("servicecode") or data.get("serviceCode")
    if service != SERVICE_CODE:
        return None
    name = str(attributes.get("instanceName") or "")
    if not name.startswith("ml."):
        return None
    if not _is_hosting(attributes):
        return None
    location_type = attributes.get("locationType")
    if location_type is not None and location_type != "AWS Region":
        return None
    row_region = attributes.get("regionCode")
    if region is not None and row_region is not None and row_region != region:
        return None
    price = _on_demand_hourly(data.get("terms") or {})
    if price is None:
        return None
    vcpu = _number(attributes.get("vCpu") or attributes.get("vcpu"))
    gpus = _number(attributes.get("gpu"))
    return HostingRow(
        instance=name,
        region=row_region,
        usd_per_hour=price,
        sku=product.get("sku"),
        vcpu=int(vcpu) if vcpu is not None else None,
        memory_gib=_number(attributes.get("memory")),
        gpu_count=int(gpus) if gpus is not None else None,
        gpu_memory_gib=_number(attributes.get("gpuMemory")),
        usagetype=attributes.get("usagetype"),
        publication_date=data.get("publicationDate"),
        version=data.get("version"),
    )


def iter_price_list(
    client: PricingClient, region: str, *, retrier: Retrier | None = None
) -> Iterator[str]:
    """Every ``PriceList`` entry for the Hosting filters of ``region``, page after page.

    botocore's ``get_products`` paginator reads them, 100 a page; each page goes through
    ``retrier`` (personakit's default policy when ``None``).
    """
    retrier = retrier or Retrier()
    count = 0
    for element in paginate(
        retrier.call,
        client,
        "get_products",
        "PriceList",
        ServiceCode=SERVICE_CODE,
        Filters=hosting_filters(region),
        FormatVersion="aws_v1",
    ):
        count += 1
        yield element
    logger.debug("read %d SageMaker price element(s) for %s", count, region)


# --------------------------------------------------------------------------- catalog


def _instance_from_row(
    row: HostingRow, known: InstanceType | None, catalog: Catalog
) -> InstanceType:
    """The instance type with the live specs of ``row`` where present, else the packaged ones."""
    if known is not None:
        acc = known.accelerator
        count = known.accelerator_count
    else:
        key = FAMILY_ACCELERATORS.get(family_of(row.instance))
        acc = catalog.accelerators.get(key) if key else None
        count = row.gpu_count or (1 if acc else 0)
        if acc is None and row.gpu_count and row.gpu_memory_gib:
            acc = Accelerator(
                key=f"gpu:{row.instance}",
                name="GPU (type not in the catalog)",
                architecture="unknown",
                memory_gib=row.gpu_memory_gib / row.gpu_count,
                source="Pricing API attributes gpu and gpuMemory (read as the total)",
            )
    if row.gpu_count is not None and acc is not None:
        count = row.gpu_count
    # The packaged catalog's totals win for known types: whether the Price List's
    # gpuMemory is per GPU or per instance is not documented.
    total = (
        known.accelerator_memory_gib_total
        if known is not None and known.accelerator_memory_gib_total
        else row.gpu_memory_gib
    )
    return InstanceType(
        name=row.instance,
        vcpu=row.vcpu if row.vcpu is not None else (known.vcpu if known else None),
        memory_gib=(
            row.memory_gib if row.memory_gib is not None else (known.memory_gib if known else None)
        ),
        accelerator=acc if count else None,
        accelerator_count=count if acc else 0,
        accelerator_memory_gib_total=total if acc else None,
        architecture=known.architecture if known else architecture_of(row.instance),
        cpu_bandwidth_gbps=known.cpu_bandwidth_gbps if known else None,
        spec_source=(
            "AWS Price List API product attributes (vCpu, memory, gpu, gpuMemory)"
            + (f"; accelerator from {known.spec_source}" if known and known.spec_source else "")
        ),
        notes=tuple(n for n in (known.notes if known else ()) if "refresh()" not in n),
    )


def _build(
    base: Catalog,
    region: str,
    rows: Iterable[HostingRow],
    *,
    retrieved: dt.datetime,
    origin: Origin,
    stale: bool,
    note: str,
) -> Catalog:
    prices: dict[str, Price] = {}
    instances: dict[str, InstanceType] = {}
    for row in rows:
        if row.instance in prices:
            if prices[row.instance].usd_per_hour != row.usd_per_hour:
                logger.warning(
                    "two Hosting prices for %s in %s: $%s and $%s; keeping the first",
                    row.instance,
                    region,
                    prices[row.instance].usd_per_hour,
                    row.usd_per_hour,
                )
            continue
        detail = price_list_detail(row.sku, row.usagetype, row.publication_date)
        prices[row.instance] = Price(
            usd_per_hour=row.usd_per_hour,
            source=f"AWS Price List API GetProducts ({detail})" if detail else "AWS Price List API",
            as_of=retrieved.date(),
        )
        instances[row.instance] = _instance_from_row(row, base.get(row.instance), base)
    return base.with_prices(
        region,
        prices,
        instances=instances,
        as_of=retrieved.date(),
        origin=origin,
        stale=stale,
        note=note,
    )


# --------------------------------------------------------------------------- cache


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/personakit/pricing`` (``~/.cache/personakit/pricing``)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "personakit" / "pricing"


def _cache_path(cache_dir: Path, region: str) -> Path:
    return cache_dir / f"sagemaker-hosting-{region}.json"


def price_list_detail(sku: str | None, usagetype: str | None, published: str | None) -> str:
    """Where a Price List row came from: ``"SKU ..., usagetype ..., publication ..."``."""
    parts = (
        f"SKU {sku}" if sku else "",
        f"usagetype {usagetype}" if usagetype else "",
        f"publication {published}" if published else "",
    )
    return ", ".join(part for part in parts if part)


def read_cache(
    path: Path, row: Callable[[dict[str, Any]], _Row]
) -> tuple[dt.datetime, list[_Row]] | None:
    """A cached Price List read (its retrieval time and rows), or None if unusable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != CACHE_SCHEMA:
            return None
        retrieved = dt.datetime.fromisoformat(data["retrieved_at"])
        rows = [row(r) for r in data["rows"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if retrieved.tzinfo is None:
        retrieved = retrieved.replace(tzinfo=dt.timezone.utc)
    return retrieved, rows


def write_cache(
    path: Path, region: str, retrieved: dt.datetime, rows: list[dict[str, Any]], source: str
) -> None:
    """Cache a Price List read atomically; a folder that cannot be written only warns."""
    payload = {
        "schema": CACHE_SCHEMA,
        "region": region,
        "retrieved_at": retrieved.isoformat(),
        "source": source,
        "rows": rows,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=1)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only home must not break advice or a bill
        logger.warning("could not write the price cache %s: %s", path, exc)


# --------------------------------------------------------------------------- refresh


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def failure_text(exc: BaseException) -> str:
    """Why a Price List read failed, for a warning: the exception's type, code and text."""
    code = error_code(exc)
    return f"{type(exc).__name__}{f' {code}' if code else ''}: {exc}"


@attrs.frozen
class PriceListRead(Generic[_Row]):
    """What :func:`read_price_list` found: rows and where they come from, or no rows
    (``origin`` ``"packaged"``: the caller's packaged snapshot serves, for ``why``)."""

    rows: list[_Row] | None
    origin: Origin
    retrieved: dt.datetime | None
    stale: bool
    note: str = ""
    why: str = ""


def read_price_list(
    path: Path,
    region: str,
    fetch: Callable[[], list[_Row]],
    *,
    row: Callable[[dict[str, Any]], _Row],
    to_dict: Callable[[_Row], dict[str, Any]],
    source: str,
    max_age: dt.timedelta,
    force: bool,
    now: Callable[[], dt.datetime],
    log: logging.Logger,
    packaged: str,
    packaged_as_of: dt.date,
) -> PriceListRead[_Row]:
    """One cached read of the AWS Price List API, shared by every price source.

    A cache at ``path`` younger than ``max_age`` (and not ``force``) is used as is;
    otherwise ``fetch()`` reads the API (raising ``LookupError`` when it found nothing)
    and its rows are cached. When the read fails, an older cache serves (stale), else
    nothing does and the caller falls back to its packaged snapshot (``packaged``
    names it and ``packaged_as_of`` dates it in the warning logged to ``log``).
    """
    cached = read_cache(path, row)
    current = now()
    if cached is not None and not force and current - cached[0] < max_age:
        retrieved, rows = cached
        note = f"AWS Price List API read of {retrieved:%Y-%m-%d %H:%M} UTC, cached at {path}"
        return PriceListRead(rows, "cache", retrieved, stale=False, note=note)
    try:
        rows = fetch()
    except (BotoCoreError, ClientError, PersonakitError, LookupError) as exc:
        why = failure_text(exc)
        if cached is not None:
            retrieved, rows = cached
            age = (current - retrieved).days
            log.warning(
                "AWS Price List API unavailable (%s); using the cached read of %s (%d days old)",
                why,
                retrieved.date().isoformat(),
                age,
                extra={"event": "personakit.pricing.fallback", "source": "cache", "age_days": age},
            )
            note = f"Price List API unavailable ({why}); cached read from {path}"
            return PriceListRead(rows, "cache", retrieved, stale=True, note=note, why=why)
        age = (current.date() - packaged_as_of).days
        log.warning(
            "AWS Price List API unavailable (%s); using personakit's packaged %s as of %s "
            "(%d days old)",
            why,
            packaged,
            packaged_as_of.isoformat(),
            age,
            extra={"event": "personakit.pricing.fallback", "source": "packaged", "age_days": age},
        )
        return PriceListRead(None, "packaged", None, stale=True, why=why)
    write_cache(path, region, current, [to_dict(r) for r in rows], source)
    note = f"AWS Price List API read of {current:%Y-%m-%d %H:%M} UTC"
    return PriceListRead(rows, "pricing-api", current, stale=False, note=note)


def refresh(
    session: Session,
    region: str | None = None,
    *,
    cache_dir: str | Path | None = None,
    max_age: dt.timedelta = DEFAULT_MAX_AGE,
    force: bool = False,
    base: Catalog | None = None,
    retrier: Retrier | None = None,
    now: Callable[[], dt.datetime] = utc_now,
) -> Catalog:
    """A catalog whose ``region`` prices are read from the AWS Price List API.

    Args:
        session: where the ``pricing`` client comes from (``Session`` picks the
            Price List endpoint for the region: us-east-1, eu-central-1 or ap-south-1).
        region: the region whose prices to read; the session's when ``None``.
        cache_dir: where reads are cached (default :func:`default_cache_dir`);
            ``False``-y strings are not accepted, pass a path.
        max_age: a cached read younger than this is returned without an API call.
        force: ignore the cache and call the API.
        base: the catalog to merge into (the packaged one by default). Its specs are
            kept where the API has none; its prices for other regions are kept; its
            prices for ``region`` are replaced (a type without a live Hosting row has
            no price there: it is not offered for hosting, like p3 in 2026).
        retrier: retry policy for the API calls (personakit's default otherwise).
        now: the clock (UTC), injectable for tests.

    Returns:
        The catalog, with ``origin`` ``"pricing-api"``, ``"cache"`` or ``"packaged"``
        and ``stale`` True when it fell back to an old cache or the packaged snapshot.
    """
    region = region or session.region
    base = base if base is not None else Catalog.load()
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()

    def fetch() -> list[HostingRow]:
        client = session.client("pricing")
        rows = [
            row
            for element in iter_price_list(client, region, retrier=retrier)
            if (row := parse_element(element, region)) is not None
        ]
        if not rows:
            raise LookupError(
                f"the Price List API returned no SageMaker Hosting rows for {region!r}"
            )
        logger.info("read %d SageMaker Hosting prices for %s", len(rows), region)
        return rows

    read = read_price_list(
        _cache_path(folder, region),
        region,
        fetch,
        row=HostingRow.from_dict,
        to_dict=HostingRow.to_dict,
        source="AWS Price List API GetProducts, ServiceCode AmazonSageMaker, Hosting",
        max_age=max_age,
        force=force,
        now=now,
        log=logger,
        packaged="prices",
        packaged_as_of=base.as_of,
    )
    if read.rows is None or read.retrieved is None:
        note = f"Price List API unavailable ({read.why}); packaged snapshot"
        return attrs.evolve(base, stale=True, note=note)
    return _build(
        base,
        region,
        read.rows,
        retrieved=read.retrieved,
        origin=read.origin,
        stale=read.stale,
        note=read.note,
    )
