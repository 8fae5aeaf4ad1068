"""The instance catalog: what each SageMaker hosting instance type has, and what it costs.

Pure data, no AWS calls. The packaged catalog (``cost/data/instances.json``)
is a dated snapshot: vCPU, memory, accelerators, bf16 support, memory bandwidth and
on-demand **Hosting** prices (https://aws.amazon.com/sagemaker/pricing/), each price
with its source and date. Where no source gives a number the field is ``None``:
nothing is guessed. Live prices come from :func:`personakit.cost.refresh`,
which returns a :class:`Catalog` of the same shape::

    from personakit.cost import Catalog

    catalog = Catalog.load()                      # the packaged snapshot, no network
    g5 = catalog["ml.g5.2xlarge"]                 # InstanceType(vcpu=8, memory_gib=32, ...)
    catalog.price("ml.g5.2xlarge", "us-east-1")   # Price(usd_per_hour=1.515, source=..., as_of=...)
    catalog.age_days                              # days since the snapshot
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import html
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from personakit.errors import ConfigurationError, UnsupportedInstanceError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "HOURS_PER_MONTH",
    "Accelerator",
    "Catalog",
    "InstanceType",
    "Origin",
    "Price",
    "architecture_of",
    "family_of",
    "unknown_instance",
]

#: Hours in the month personakit prices by: AWS's convention, 365 x 24 / 12
#: (https://aws.amazon.com/calculator/calculator-assumptions).
HOURS_PER_MONTH = 730.0

Architecture = Literal["x86_64", "arm64"]
Origin = Literal["packaged", "pricing-api", "cache"]

_FAMILY = re.compile(r"^ml\.([a-z]+\d+[a-z-]*)\.")
#: Where SageMaker lists its instance types and their Hosting prices.
INSTANCE_TYPES_URL = "https://aws.amazon.com/sagemaker/pricing/"


def _prefixed(name: str) -> str:
    """``" G5.2xlarge"`` -> ``"ml.g5.2xlarge"``: the spelling SageMaker expects."""
    text = name.strip().lower()
    return text if text.startswith("ml.") else f"ml.{text}"


def family_of(instance_type: str) -> str:
    """The family of an instance type: ``family_of("ml.g5.2xlarge") == "g5"``.

    Raises:
        ConfigurationError: not a SageMaker instance type name (also a ``ValueError``).
    """
    match = _FAMILY.match(instance_type)
    if not match:
        fixed = _prefixed(str(instance_type))
        hint = f"; did you mean {fixed!r}?" if _FAMILY.match(fixed) else ""
        raise ConfigurationError(
            f"{instance_type!r} is not a SageMaker instance type like 'ml.g5.2xlarge'{hint}"
        )
    return match.group(1)


def unknown_instance(name: str, known: Iterable[str]) -> UnsupportedInstanceError:
    """The error for an instance type name that is not among ``known`` (a catalog's names).

    The one place personakit recognises a mistyped or non-existent instance type:
    a missing ``ml.`` prefix (``g5.2xlarge``), a size the family does not come in
    (``ml.p3.4xlarge``: the message lists the family's sizes), or a typo (a "did
    you mean", from :func:`difflib.get_close_matches`). Its ``supported`` are the
    family's sizes the catalog knows (else the close matches).
    """
    names = sorted(known, key=_size_order)
    text = str(name)
    fixed = _prefixed(text)
    family_match = _FAMILY.match(fixed)
    family = family_match.group(1) if family_match else None
    sizes = [n for n in names if family is not None and _FAMILY.match(n) and family_of(n) == family]
    prefix_only = fixed != text and fixed in names
    if prefix_only:
        guesses = [fixed]
    elif sizes:
        guesses = difflib.get_close_matches(fixed, sizes, n=2, cutoff=0.5)
    else:
        guesses = difflib.get_close_matches(fixed, names, n=3)
    parts = [f"{text!r} is not an instance type in personakit's catalog"]
    if not text.strip().lower().startswith("ml."):
        parts.append("SageMaker instance types start with 'ml.'")
    if sizes and not prefix_only:
        parts.append(f"the catalog's {family} sizes are {', '.join(sizes)}")
    elif family is not None and not sizes:
        parts.append(f"the catalog has no {family} instance type")
    message = "; ".join(parts)
    if guesses:
        message += f"; did you mean {' or '.join(guesses)}?"
    else:
        message += "."
    message += (
        f" SageMaker's instance types and their prices: {INSTANCE_TYPES_URL}; for a type "
        "the catalog lacks, pass a catalog that has it (personakit.cost.refresh(session, "
        "region) reads live prices)."
    )
    return UnsupportedInstanceError(message, supported=sizes or guesses)


_SIZE = re.compile(r"^(?:(\d*)x)?(nano|micro|small|medium|large)\Z")
_SIZE_RANK = {"nano": 0, "micro": 1, "small": 2, "medium": 3, "large": 4}


def _size_order(name: str) -> tuple[str, int, str]:
    """Sort key: family, then size (``large < xlarge < 2xlarge < 8xlarge``), then name."""
    family, _, size = name.rpartition(".")
    match = _SIZE.match(size)
    if match is None:
        return (family, 10_000, name)
    many, base = match.groups()
    # "large" < "xlarge" (one x) < "2xlarge" < "8xlarge" < "48xlarge"
    rank = _SIZE_RANK[base] if many is None else 10 + (int(many) if many else 1)
    return (family, rank, name)


def architecture_of(instance_type: str) -> Architecture:
    """``"arm64"`` for Graviton families (c6g, c7g, m7g, c8g, t4g, ...), else ``"x86_64"``."""
    family = family_of(instance_type)
    match = re.match(r"^([a-z]+)(\d+)([a-z-]*)$", family)
    suffix = match.group(3) if match else ""
    return "arm64" if suffix.startswith("g") else "x86_64"


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        if isinstance(value, dt.datetime):
            return value.date()
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


@attrs.frozen(kw_only=True)
class Accelerator:
    """One accelerator model (a GPU or an Inferentia chip) and what it can do.

    ``memory_gib`` is per device; ``bandwidth_gbps`` is its memory bandwidth in
    GB/s (``None`` where no source gives one); ``fp16_tflops`` its dense FP16 tensor
    throughput in TFLOPS (``None`` where no source gives one); ``bf16`` says whether it
    computes in bfloat16; ``flash_attention_2`` whether FlashAttention v2 (and so
    TGI's fast attention paths) runs on it.
    """

    key: str
    name: str
    architecture: str
    memory_gib: float
    bandwidth_gbps: float | None = attrs.field(default=None, converter=_opt_float)
    fp16_tflops: float | None = attrs.field(default=None, converter=_opt_float)
    bf16: bool | None = None
    flash_attention_2: bool | None = None
    cuda_compute_capability: str | None = None
    source: str = ""

    @property
    def is_gpu(self) -> bool:
        """True for NVIDIA GPUs (those with a CUDA compute capability)."""
        return self.cuda_compute_capability is not None

    @classmethod
    def from_dict(cls, key: str, data: Mapping[str, Any]) -> Accelerator:
        return cls(
            key=key,
            name=str(data.get("name") or key),
            architecture=str(data.get("architecture") or ""),
            memory_gib=float(data["memory_gib"]),
            bandwidth_gbps=data.get("bandwidth_gbps"),
            fp16_tflops=data.get("fp16_tflops"),
            bf16=data.get("bf16"),
            flash_attention_2=data.get("flash_attention_2"),
            cuda_compute_capability=data.get("cuda_compute_capability"),
            source=str(data.get("source") or ""),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "architecture": self.architecture,
            "cuda_compute_capability": self.cuda_compute_capability,
            "memory_gib": self.memory_gib,
            "bandwidth_gbps": self.bandwidth_gbps,
            "fp16_tflops": self.fp16_tflops,
            "bf16": self.bf16,
            "flash_attention_2": self.flash_attention_2,
            "source": self.source,
        }


@attrs.frozen(kw_only=True)
class Price:
    """An on-demand SageMaker Hosting price: USD per instance-hour, where it came from, when.

    ``as_of`` is ``None`` when the source is undated; ``note`` carries a caveat
    (e.g. "retiring for hosting").
    """

    usd_per_hour: float = attrs.field(converter=float)
    source: str
    as_of: dt.date | None = attrs.field(default=None, converter=_date)
    note: str | None = None

    @property
    def usd_per_month(self) -> float:
        """The price of one instance running all month (730 hours)."""
        return self.usd_per_hour * HOURS_PER_MONTH

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Price:
        return cls(
            usd_per_hour=data["usd_per_hour"],
            source=str(data.get("source") or ""),
            as_of=data.get("as_of"),
            note=data.get("note"),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "usd_per_hour": self.usd_per_hour,
            "source": self.source,
            "as_of": self.as_of.isoformat() if self.as_of else None,
        }
        if self.note:
            out["note"] = self.note
        return out

    def __str__(self) -> str:
        when = self.as_of.isoformat() if self.as_of else "undated"
        return f"${self.usd_per_hour:g}/h ({when})"


@attrs.frozen(kw_only=True)
class InstanceType:
    """A SageMaker instance type as the catalog knows it. Unknown numbers are ``None``.

    Args:
        name: e.g. ``"ml.g5.2xlarge"``.
        vcpu: virtual CPUs.
        memory_gib: host memory (GiB).
        accelerator: the :class:`Accelerator` (``None`` for CPU-only types).
        accelerator_count: accelerators on the instance (0 for CPU-only types).
        accelerator_memory_gib_total: memory of all accelerators together (GiB).
        architecture: ``"x86_64"`` or ``"arm64"`` (Graviton).
        cpu_bandwidth_gbps: host memory bandwidth (GB/s), where known.
        spec_source: where the specs come from.
        notes: caveats worth telling a user (retiring family, burstable CPU, ...).
    """

    name: str
    vcpu: int | None = attrs.field(default=None, converter=_opt_int)
    memory_gib: float | None = attrs.field(default=None, converter=_opt_float)
    accelerator: Accelerator | None = None
    accelerator_count: int = 0
    accelerator_memory_gib_total: float | None = attrs.field(default=None, converter=_opt_float)
    architecture: Architecture = "x86_64"
    cpu_bandwidth_gbps: float | None = attrs.field(default=None, converter=_opt_float)
    spec_source: str = ""
    notes: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)

    @property
    def family(self) -> str:
        """``"g5"`` for ``ml.g5.2xlarge``."""
        return family_of(self.name)

    @property
    def has_accelerator(self) -> bool:
        """True when the instance has GPUs or Inferentia chips."""
        return self.accelerator is not None and self.accelerator_count > 0

    @property
    def is_gpu(self) -> bool:
        """True when the instance has NVIDIA GPUs."""
        return self.has_accelerator and self.accelerator is not None and self.accelerator.is_gpu

    @property
    def is_graviton(self) -> bool:
        """True for AWS Graviton (arm64) instances."""
        return self.architecture == "arm64"

    @property
    def accelerator_memory_gib(self) -> float | None:
        """Memory of one accelerator (GiB)."""
        if not self.has_accelerator:
            return None
        if self.accelerator is not None:
            return self.accelerator.memory_gib
        return None  # pragma: no cover - has_accelerator implies an accelerator

    @property
    def bf16(self) -> bool | None:
        """Whether the accelerator computes in bfloat16 (``None`` for CPU-only types)."""
        return self.accelerator.bf16 if self.has_accelerator and self.accelerator else None

    @property
    def bandwidth_gbps(self) -> float | None:
        """Memory bandwidth of one accelerator, or of the host for CPU-only types (GB/s)."""
        if self.has_accelerator and self.accelerator is not None:
            return self.accelerator.bandwidth_gbps
        return self.cpu_bandwidth_gbps

    @property
    def total_bandwidth_gbps(self) -> float | None:
        """Memory bandwidth of all accelerators together (or the host's), GB/s."""
        one = self.bandwidth_gbps
        if one is None:
            return None
        return one * self.accelerator_count if self.has_accelerator else one

    @property
    def total_fp16_tflops(self) -> float | None:
        """Dense FP16 tensor TFLOPS of all accelerators together (``None``: CPU-only, or
        no source gives the accelerator's figure)."""
        acc = self.accelerator
        if not self.has_accelerator or acc is None or acc.fp16_tflops is None:
            return None
        return acc.fp16_tflops * self.accelerator_count

    def summary(self) -> str:
        """``"8 vCPU, 32 GiB, 1x NVIDIA A10G 24 GiB"``."""
        parts = [
            f"{self.vcpu} vCPU" if self.vcpu is not None else "vCPU unknown",
            f"{self.memory_gib:g} GiB" if self.memory_gib is not None else "memory unknown",
        ]
        if self.has_accelerator and self.accelerator is not None:
            parts.append(
                f"{self.accelerator_count}x {self.accelerator.name} "
                f"{self.accelerator.memory_gib:g} GiB"
            )
        if self.is_graviton:
            parts.append("Graviton (arm64)")
        return ", ".join(parts)

    @classmethod
    def from_dict(
        cls, name: str, data: Mapping[str, Any], accelerators: Mapping[str, Accelerator]
    ) -> InstanceType:
        key = data.get("accelerator")
        accelerator = accelerators[key] if key else None
        arch = data.get("architecture") or architecture_of(name)
        return cls(
            name=name,
            vcpu=data.get("vcpu"),
            memory_gib=data.get("memory_gib"),
            accelerator=accelerator,
            accelerator_count=int(data.get("accelerator_count") or 0),
            accelerator_memory_gib_total=data.get("accelerator_memory_gib_total"),
            architecture="arm64" if arch == "arm64" else "x86_64",
            cpu_bandwidth_gbps=data.get("memory_bandwidth_gbps"),
            spec_source=str(data.get("spec_source") or ""),
            notes=tuple(data.get("notes") or ()),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "vcpu": self.vcpu,
            "memory_gib": self.memory_gib,
            "architecture": self.architecture,
            "accelerator": self.accelerator.key if self.accelerator else None,
            "accelerator_count": self.accelerator_count,
            "accelerator_memory_gib_total": self.accelerator_memory_gib_total,
            "memory_bandwidth_gbps": self.cpu_bandwidth_gbps,
            "spec_source": self.spec_source,
            "notes": list(self.notes),
        }


def _instances(value: Mapping[str, InstanceType]) -> dict[str, InstanceType]:
    return dict(value)


def _prices(value: Mapping[str, Mapping[str, Price]]) -> dict[str, dict[str, Price]]:
    return {name: dict(by_region) for name, by_region in value.items()}


@attrs.frozen(kw_only=True)
class Catalog:
    """Instance types and their Hosting prices by region, as of a date.

    Args:
        instances: instance types by name.
        prices: ``{instance name: {region: Price}}``.
        accelerators: accelerator models by key (``"A10G"``, ``"T4"``, ...).
        as_of: the date the data describes (the newest source date for the packaged
            snapshot, the retrieval date for live prices).
        origin: ``"packaged"`` (the snapshot in the wheel), ``"pricing-api"`` (read
            live) or ``"cache"`` (an earlier live read, from disk).
        stale: True unless the prices were read live (now, or from a cache younger
            than the refresh's ``max_age``). The packaged snapshot is always stale.
        note: why the catalog is stale, or where its prices come from.
    """

    instances: dict[str, InstanceType] = attrs.field(converter=_instances)
    prices: dict[str, dict[str, Price]] = attrs.field(converter=_prices, factory=dict)
    accelerators: dict[str, Accelerator] = attrs.field(factory=dict, converter=dict)
    as_of: dt.date = attrs.field(converter=_date)
    origin: Origin = "packaged"
    stale: bool = True
    note: str | None = None

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: str | Path | None = None) -> Catalog:
        """The packaged catalog (``personakit/cost/data/instances.json``), or one from ``path``."""
        if path is not None:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        return _packaged()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, origin: Origin = "packaged") -> Catalog:
        """A catalog from the JSON shape of ``instances.json``."""
        accelerators = {
            key: Accelerator.from_dict(key, value)
            for key, value in (data.get("accelerators") or {}).items()
        }
        instances: dict[str, InstanceType] = {}
        prices: dict[str, dict[str, Price]] = {}
        for name, entry in (data.get("instances") or {}).items():
            instances[name] = InstanceType.from_dict(name, entry, accelerators)
            by_region = {
                region: Price.from_dict(price)
                for region, price in (entry.get("prices") or {}).items()
                if price is not None and price.get("usd_per_hour") is not None
            }
            if by_region:
                prices[name] = by_region
        as_of = _date(data.get("as_of"))
        if as_of is None:
            raise ValueError("catalog data needs an 'as_of' date")
        return cls(
            instances=instances,
            prices=prices,
            accelerators=accelerators,
            as_of=as_of,
            origin=origin,
            stale=bool(data.get("stale", True)),
            note=data.get("note")
            or f"personakit's packaged price snapshot as of {as_of.isoformat()} (current "
            "prices: https://aws.amazon.com/sagemaker/pricing/)",
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``instances.json`` (what :meth:`from_dict` reads)."""
        instances: dict[str, Any] = {}
        for name, instance in self.instances.items():
            entry = instance.to_dict()
            entry["prices"] = {
                region: price.to_dict() for region, price in self.prices.get(name, {}).items()
            }
            instances[name] = entry
        return {
            "schema": 1,
            "as_of": self.as_of.isoformat(),
            "origin": self.origin,
            "stale": self.stale,
            "note": self.note,
            "accelerators": {key: acc.to_dict() for key, acc in self.accelerators.items()},
            "instances": instances,
        }

    # ------------------------------------------------------------------ lookup

    def __getitem__(self, name: str) -> InstanceType:
        """The instance type called ``name``.

        Raises:
            UnsupportedInstanceError: ``name`` is not in the catalog; the message
                names the family's sizes and a "did you mean" (:func:`unknown_instance`).
        """
        try:
            return self.instances[name]
        except KeyError:
            raise unknown_instance(name, self.instances) from None

    def __contains__(self, name: object) -> bool:
        return name in self.instances

    def __iter__(self) -> Iterator[InstanceType]:
        return iter(self.instances.values())

    def __len__(self) -> int:
        return len(self.instances)

    def get(self, name: str) -> InstanceType | None:
        """The instance type called ``name``, or ``None``."""
        return self.instances.get(name)

    def price(self, instance: str | InstanceType, region: str = "us-east-1") -> Price | None:
        """The on-demand Hosting price of ``instance`` in ``region``; ``None`` when unknown.

        Raises:
            UnsupportedInstanceError: ``instance`` is not in the catalog at all (a
                :class:`~personakit.errors.ConfigurationError`).
        """
        name = instance.name if isinstance(instance, InstanceType) else instance
        self[name]  # UnsupportedInstanceError with the family's sizes for unknown types
        return self.prices.get(name, {}).get(region)

    @property
    def regions(self) -> list[str]:
        """Regions the catalog has at least one price for, sorted."""
        return sorted({region for by_region in self.prices.values() for region in by_region})

    # ------------------------------------------------------------------ age

    def age_on(self, day: dt.date) -> int:
        """Days between :attr:`as_of` and ``day``."""
        return (day - self.as_of).days

    @property
    def age_days(self) -> int:
        """Days since :attr:`as_of` (UTC today)."""
        return self.age_on(_today())

    def describe_age(self, day: dt.date | None = None) -> str:
        """``"prices as of 2026-10-05 (55 days old, packaged snapshot)"``."""
        age = self.age_on(day or _today())
        origin = {
            "packaged": "packaged snapshot",
            "pricing-api": "AWS Price List API",
            "cache": "cached Price List API read",
        }[self.origin]
        stale = ", stale" if self.stale else ""
        return f"prices as of {self.as_of.isoformat()} ({age} days old, {origin}{stale})"

    # ------------------------------------------------------------------ derived

    def with_prices(
        self,
        region: str,
        prices: Mapping[str, Price],
        *,
        instances: Mapping[str, InstanceType] | None = None,
        as_of: dt.date,
        origin: Origin,
        stale: bool,
        note: str | None,
    ) -> Catalog:
        """A copy whose prices for ``region`` are exactly ``prices`` (others unchanged).

        ``instances`` replaces or adds instance types (e.g. specs read live).
        """
        merged_instances = {**self.instances, **dict(instances or {})}
        merged: dict[str, dict[str, Price]] = {}
        for name in merged_instances:
            by_region = {r: p for r, p in self.prices.get(name, {}).items() if r != region}
            if name in prices:
                by_region[region] = prices[name]
            if by_region:
                merged[name] = by_region
        return attrs.evolve(
            self,
            instances=merged_instances,
            prices=merged,
            as_of=as_of,
            origin=origin,
            stale=stale,
            note=note,
        )

    def to_frame(self, region: str = "us-east-1") -> pd.DataFrame:
        """One row per instance type: specs and the price in ``region``."""
        import pandas as pd

        rows = []
        for instance in self:
            price = self.prices.get(instance.name, {}).get(region)
            acc = instance.accelerator
            rows.append(
                {
                    "instance": instance.name,
                    "vcpu": instance.vcpu,
                    "memory_gib": instance.memory_gib,
                    "architecture": instance.architecture,
                    "accelerator": acc.name if acc else None,
                    "accelerator_count": instance.accelerator_count,
                    "accelerator_memory_gib": instance.accelerator_memory_gib,
                    "accelerator_memory_gib_total": instance.accelerator_memory_gib_total,
                    "bf16": instance.bf16,
                    "bandwidth_gbps": instance.bandwidth_gbps,
                    "usd_per_hour": price.usd_per_hour if price else None,
                    "usd_per_month": price.usd_per_month if price else None,
                    "price_as_of": price.as_of if price else None,
                    "price_source": price.source if price else None,
                }
            )
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return (
            f"Catalog({len(self)} instance types, {len(self.regions)} region(s), "
            f"as_of={self.as_of.isoformat()}, origin={self.origin!r}, stale={self.stale})"
        )

    def _repr_html_(self) -> str:
        return (
            f"<div><b>personakit instance catalog</b>: {len(self)} instance types, "
            f"regions {html.escape(', '.join(self.regions))}; "
            f"{html.escape(self.describe_age())}</div>"
        )


@functools.lru_cache(maxsize=1)
def _packaged() -> Catalog:
    text = (
        resources.files("personakit.cost")
        .joinpath("data/instances.json")
        .read_text(encoding="utf-8")
    )
    return Catalog.from_dict(json.loads(text))
