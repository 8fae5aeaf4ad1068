"""Which SageMaker instance fits a model, what it costs, and why.

Layer 1 (pure: no AWS calls). :func:`advise` checks every instance type of a
:class:`~personakit.cost.catalog.Catalog` against a model and ranks those that fit::

    from personakit.cost import advise, compare

    advice = advise("huggingface-llm-falcon-7b-bf16")      # the packaged catalog, us-east-1
    print(advice)                                          # a table, then the reasons
    advice.best.name                                       # 'ml.g6.xlarge'
    print(compare("ml.g4dn.4xlarge", "ml.p3.2xlarge", model="bloom-1b1"))

How an instance is judged (numbers from ``shared/reference/jumpstart.md`` §4):

- **Memory, per accelerator**: ``(weights + KV cache) / shards + overhead`` must fit
  in one accelerator's memory (host RAM for CPU-only types). Weights are
  parameters x bytes per dtype; the KV cache is ``2 x layers x KV heads x head dim
  x bytes x context_tokens x batch`` (or the rule of thumb in
  :mod:`personakit.cost.models`); overhead is personakit's rule of thumb, 1 GiB
  (CUDA context, server) plus 10% of the weights (activations, allocator slack).
  Less than 10% of the memory left over is **tight**: it loads, but the server
  has little room for batching (TGI sizes its KV pool from what is left, §4.3).
- **Sharding**: with ``tensor_parallel=True`` (TGI and LMI containers) a model is
  split across all GPUs of a multi-GPU instance, as JumpStart does
  (``SM_NUM_GPUS``); the shard count must divide the attention heads (so
  Falcon-7B's 71 heads use one GPU only, as the Falcon notebook warns).
- **dtype**: bf16 needs A10G, L4, A100 or newer. On T4 and V100 a bf16
  checkpoint is served as fp16 (TGI's default on CUDA): same memory, and a
  small risk of fp16 overflow for a model trained in bf16. Asking for bf16
  there explicitly is refused (§4.2). CPU containers load fp32 weights.
- **Throughput** of generation is memory-bandwidth bound: tokens/s per sequence
  ≈ bandwidth / bytes read per step (weights + KV cache), times ``batch``
  sequences. It is an upper bound (compute, kernels and communication ignored);
  a JumpStart spec's published benchmark replaces it where present.
- **Price**: on-demand Hosting $/h from the catalog, $/month at 730 h,
  $ per 1M generated tokens at the throughput above.
"""

from __future__ import annotations

import html
import importlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import attrs

from personakit.cost.catalog import HOURS_PER_MONTH, Catalog, InstanceType, Price
from personakit.cost.models import ModelSize, normalize_dtype
from personakit.errors import ConfigurationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "OVERHEAD_FRACTION",
    "OVERHEAD_GIB",
    "TIGHT_FRACTION",
    "Advice",
    "Benchmark",
    "Comparison",
    "FitVerdict",
    "Option",
    "SpecInfo",
    "Workload",
    "advise",
    "compare",
    "evaluate",
    "instances_needed",
]

GIB = float(2**30)
#: Fixed memory per accelerator (or host) personakit reserves: CUDA context, server.
OVERHEAD_GIB = 1.0
#: Share of the weights reserved for activations and allocator slack.
OVERHEAD_FRACTION = 0.10
#: Less free memory than this share of the device is "tight".
TIGHT_FRACTION = 0.10

FitVerdict = Literal["fits", "tight", "unknown", "does not fit", "unsupported"]
_VERDICT_ORDER: Mapping[str, int] = {
    "fits": 0,
    "tight": 1,
    "unknown": 2,
    "does not fit": 3,
    "unsupported": 4,
}


def _pct(ratio: float) -> str:
    return f"{ratio * 100:.0f}%"


def _money(value: float | None) -> str:
    if value is None:
        return "?"
    if value >= 100:
        return f"${value:,.0f}"
    if value >= 1:
        return f"${value:,.2f}"
    return f"${value:.4g}"


# --------------------------------------------------------------------------- spec info


@attrs.frozen(kw_only=True)
class Benchmark:
    """One AWS-published JumpStart benchmark point for an instance type.

    JumpStart specs publish P50 throughput **per user** (tokens/s) and P50
    time-to-first-token at a concurrency (the SageMaker SDK's column names:
    "Throughput (P50 in tokens/sec/user)", "Latency, TTFT (P50 in sec)").
    """

    concurrency: int
    tokens_per_second_per_user: float | None = None
    ttft_s: float | None = None
    config: str | None = None

    @property
    def tokens_per_second(self) -> float | None:
        """Aggregate tokens/s: per-user throughput x concurrency."""
        if self.tokens_per_second_per_user is None:
            return None
        return self.tokens_per_second_per_user * self.concurrency

    def describe(self) -> str:
        per_user = self.tokens_per_second_per_user
        parts = [
            f"AWS benchmark{f' ({self.config})' if self.config else ''} at concurrency "
            f"{self.concurrency}: {per_user:g} tokens/s per user"
            if per_user is not None
            else f"AWS benchmark at concurrency {self.concurrency}"
        ]
        if self.ttft_s is not None:
            parts.append(f"time to first token {self.ttft_s:g} s")
        return ", ".join(parts)


def _get(obj: Any, *names: str) -> Any:
    for name in names:
        if isinstance(obj, Mapping):
            if name in obj and obj[name] is not None:
                return obj[name]
        else:
            value = getattr(obj, name, None)
            if value is not None:
                return value
    return None


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _benchmarks(metrics: Any, config: str | None) -> tuple[Benchmark, ...]:
    by_concurrency: dict[int, dict[str, float | None]] = {}
    for metric in metrics or ():
        name = str(_get(metric, "name") or "").lower()
        unit = str(_get(metric, "unit") or "").lower()
        concurrency = int(_num(_get(metric, "concurrency")) or 1)
        value = _num(_get(metric, "value"))
        slot = by_concurrency.setdefault(concurrency, {})
        if "throughput" in name and "token" in unit:
            slot["throughput"] = value
        elif "latency" in name:
            slot["latency"] = value
    return tuple(
        Benchmark(
            concurrency=c,
            tokens_per_second_per_user=v.get("throughput"),
            ttft_s=v.get("latency"),
            config=config,
        )
        for c, v in sorted(by_concurrency.items())
    )


@attrs.frozen(kw_only=True)
class SpecInfo:
    """What the advice uses from a JumpStart model spec.

    Build it with :meth:`from_spec` from a raw spec document (a dict), a CDK
    record, or any object with the same attribute names (such as the resolved
    spec of ``personakit.llm``).
    """

    model_id: str | None = None
    supported_instances: tuple[str, ...] | None = None
    default_instance: str | None = None
    benchmarks: Mapping[str, tuple[Benchmark, ...]] = attrs.field(factory=dict)
    min_accelerators: int | None = None

    @classmethod
    def from_spec(cls, spec: Any, *, config_name: str | None = None) -> SpecInfo:
        """Read supported instance types, benchmark metrics and resource requirements.

        Benchmarks come from ``inference_configs`` (raw: ``{name: {benchmark_metrics}}``;
        parsed: ``{"configs": {...}}``): the config ``config_name``, else the first
        in ``inference_config_rankings.overall.rankings`` that has numbers for the
        instance. An object may instead carry ``benchmark_metrics`` directly
        (``{instance: [metric, ...]}``).
        """
        if isinstance(spec, SpecInfo):
            return spec
        raw = getattr(spec, "spec", None)
        if not isinstance(spec, Mapping) and isinstance(raw, Mapping) and raw:
            # a resolved model (personakit.llm's ResolvedModel): its raw spec plus the
            # instance types and inference config it was resolved with
            info = cls.from_spec(raw, config_name=config_name or _get(spec, "config_name"))
            resolved = _get(spec, "supported_instance_types")
            return attrs.evolve(
                info,
                model_id=_get(spec, "model_id") or info.model_id,
                supported_instances=tuple(resolved) if resolved else info.supported_instances,
            )
        supported = _get(
            spec, "supported_inference_instance_types", "supported_instance_types", "instanceTypes"
        )
        default = _get(spec, "default_inference_instance_type", "defaultInstanceType")
        requirements = _get(spec, "hosting_resource_requirements")
        min_acc = _num(_get(requirements, "num_accelerators")) if requirements else None
        benchmarks: dict[str, tuple[Benchmark, ...]] = {}
        configs = _get(spec, "inference_configs")
        if configs is not None:
            configs = _get(configs, "configs") or configs
            names = list(configs.keys()) if isinstance(configs, Mapping) else []
            rankings = _get(_get(spec, "inference_config_rankings") or {}, "overall")
            ranked = list(_get(rankings, "rankings") or []) if rankings else []
            order = [config_name] if config_name else ranked + [n for n in names if n not in ranked]
            for name in order:
                config = configs.get(name) if isinstance(configs, Mapping) else None
                metrics = _get(config, "benchmark_metrics") if config is not None else None
                for instance, points in (metrics or {}).items():
                    if instance not in benchmarks:
                        parsed = _benchmarks(points, name)
                        if parsed:
                            benchmarks[instance] = parsed
        direct = _get(spec, "benchmark_metrics")
        if isinstance(direct, Mapping):
            for instance, points in direct.items():
                benchmarks.setdefault(instance, _benchmarks(points, config_name))
        return cls(
            model_id=_get(spec, "model_id", "modelId"),
            supported_instances=tuple(supported) if supported is not None else None,
            default_instance=default,
            benchmarks=benchmarks,
            min_accelerators=int(min_acc) if min_acc else None,
        )

    def benchmark_for(self, instance: str, batch: int) -> Benchmark | None:
        """The benchmark point for ``instance`` whose concurrency is closest to ``batch``."""
        points = [b for b in self.benchmarks.get(instance, ()) if b.tokens_per_second]
        if not points:
            return None
        return min(points, key=lambda b: (abs(b.concurrency - batch), b.concurrency))


# --------------------------------------------------------------------------- workload


def instances_needed(
    rate_rps: float,
    tokens_per_request: float,
    tokens_per_second: float,
    utilisation: float = 0.5,
) -> int:
    """Instances needed to serve ``rate_rps`` requests/s of ``tokens_per_request`` tokens each.

    ``ceil(rate_rps x tokens_per_request / (tokens_per_second x utilisation))``, at
    least 1 (an endpoint has at least one instance). ``utilisation`` 0.5 is AWS's
    recommended starting ``SAFETY_FACTOR`` for endpoint load tests (reference §4.4).
    """
    if rate_rps < 0 or tokens_per_request < 0:
        raise ConfigurationError("rate_rps and tokens_per_request must be >= 0")
    if not 0 < utilisation <= 1:
        raise ConfigurationError(f"utilisation must be in (0, 1], got {utilisation!r}")
    if not tokens_per_second > 0:
        raise ConfigurationError("tokens_per_second must be > 0")
    demand = rate_rps * tokens_per_request
    capacity = tokens_per_second * utilisation
    return max(1, math.ceil(demand / capacity - 1e-9))


@attrs.frozen
class Workload:
    """A target load: requests per second, tokens generated per request, utilisation target."""

    requests_per_second: float
    tokens_per_request: float
    utilisation: float = 0.5

    def tokens_per_second(self) -> float:
        """Generated tokens per second the load asks for."""
        return self.requests_per_second * self.tokens_per_request


# --------------------------------------------------------------------------- option


@attrs.frozen(kw_only=True)
class Option:
    """One instance type judged against a model.

    Memory figures are per accelerator (per host for CPU-only types), in GiB.
    ``tokens_per_second`` is the aggregate over ``batch`` sequences: the JumpStart
    benchmark where one exists, else the bandwidth bound
    (``tokens_per_second_bound``).
    """

    instance: InstanceType
    verdict: FitVerdict
    reasons: tuple[str, ...]
    dtype: str | None = None
    devices_used: int = 1
    weights_gib: float | None = None
    kv_cache_gib: float | None = None
    overhead_gib: float | None = None
    available_gib: float | None = None
    price: Price | None = None
    tokens_per_second: float | None = None
    tokens_per_second_bound: float | None = None
    throughput_source: str | None = None
    benchmark: Benchmark | None = None
    supported_by_spec: bool | None = None
    workload: Workload | None = None

    @property
    def name(self) -> str:
        """The instance type name."""
        return self.instance.name

    @property
    def fits(self) -> bool:
        """True when the model loads ("fits" or "tight")."""
        return self.verdict in ("fits", "tight")

    @property
    def need_gib(self) -> float | None:
        """Memory needed per accelerator (or host), GiB."""
        if self.weights_gib is None or self.kv_cache_gib is None or self.overhead_gib is None:
            return None
        return self.weights_gib + self.kv_cache_gib + self.overhead_gib

    @property
    def free_gib(self) -> float | None:
        """Memory left per accelerator (or host) after the model, GiB."""
        need = self.need_gib
        if need is None or self.available_gib is None:
            return None
        return self.available_gib - need

    @property
    def usd_per_hour(self) -> float | None:
        """On-demand price of one instance."""
        return self.price.usd_per_hour if self.price else None

    @property
    def usd_per_month(self) -> float | None:
        """One instance for a month (730 h)."""
        return self.price.usd_per_hour * HOURS_PER_MONTH if self.price else None

    @property
    def usd_per_million_tokens(self) -> float | None:
        """Price per 1M generated tokens at :attr:`tokens_per_second`, fully busy."""
        if self.price is None or not self.tokens_per_second:
            return None
        return self.price.usd_per_hour / (self.tokens_per_second * 3600.0) * 1e6

    def instances_for(
        self, rate_rps: float, tokens_per_request: float, utilisation: float = 0.5
    ) -> int:
        """Instances of this type for ``rate_rps`` requests/s (see :func:`instances_needed`).

        Raises:
            ConfigurationError: the throughput of this option is unknown.
        """
        if not self.tokens_per_second:
            raise ConfigurationError(
                f"{self.name}: no throughput estimate (no bandwidth figure or benchmark); "
                "measure tokens/s and call instances_needed() with it"
            )
        return instances_needed(rate_rps, tokens_per_request, self.tokens_per_second, utilisation)

    @property
    def workload_instances(self) -> int | None:
        """Instances needed for the advice's workload, when one was given."""
        if self.workload is None or not self.tokens_per_second:
            return None
        return self.instances_for(
            self.workload.requests_per_second,
            self.workload.tokens_per_request,
            self.workload.utilisation,
        )

    @property
    def workload_usd_per_month(self) -> float | None:
        """Monthly cost of :attr:`workload_instances` instances."""
        count = self.workload_instances
        if count is None or self.usd_per_month is None:
            return None
        return count * self.usd_per_month

    @staticmethod
    def columns() -> list[str]:
        """The keys of :meth:`as_row`, in order."""
        return [
            "instance",
            "verdict",
            "accelerator",
            "devices_used",
            "dtype",
            "need_gib",
            "available_gib",
            "free_gib",
            "usd_per_hour",
            "usd_per_month",
            "tokens_per_second",
            "throughput_source",
            "usd_per_million_tokens",
            "workload_instances",
            "workload_usd_per_month",
            "price_as_of",
            "price_source",
            "reasons",
        ]

    def memory_text(self) -> str:
        need, avail = self.need_gib, self.available_gib
        if need is None:
            return "?"
        return f"{need:.1f}/{avail:g}" if avail is not None else f"{need:.1f}/?"

    def as_row(self) -> dict[str, Any]:
        acc = self.instance.accelerator
        return {
            "instance": self.name,
            "verdict": self.verdict,
            "accelerator": (
                f"{self.instance.accelerator_count}x {acc.name}"
                if acc and self.instance.has_accelerator
                else ("Graviton (arm64)" if self.instance.is_graviton else "CPU (x86_64)")
            ),
            "devices_used": self.devices_used,
            "dtype": self.dtype,
            "need_gib": self.need_gib,
            "available_gib": self.available_gib,
            "free_gib": self.free_gib,
            "usd_per_hour": self.usd_per_hour,
            "usd_per_month": self.usd_per_month,
            "tokens_per_second": self.tokens_per_second,
            "throughput_source": self.throughput_source,
            "usd_per_million_tokens": self.usd_per_million_tokens,
            "workload_instances": self.workload_instances,
            "workload_usd_per_month": self.workload_usd_per_month,
            "price_as_of": self.price.as_of if self.price else None,
            "price_source": self.price.source if self.price else None,
            "reasons": " | ".join(self.reasons),
        }


# --------------------------------------------------------------------------- evaluate


def _shards(model: ModelSize, count: int, tensor_parallel: bool) -> tuple[int, str | None]:
    if count <= 1:
        return 1, None
    if not tensor_parallel:
        return 1, (
            f"the container does not shard models, so one of the {count} accelerators holds "
            "it and the others sit idle"
        )
    heads = model.attention_heads
    for degree in range(count, 0, -1):
        if count % degree == 0 and (heads is None or heads % degree == 0):
            if degree == count:
                return degree, None
            return degree, (
                f"{model.label}'s {heads} attention heads do not split evenly over {count} "
                f"accelerators, so it is sharded over {degree} and {count - degree} sit idle"
            )
    return 1, None  # pragma: no cover - degree 1 always divides


def evaluate(
    model: ModelSize,
    instance: InstanceType,
    *,
    price: Price | None,
    region: str = "us-east-1",
    dtype: str | None = None,
    context_tokens: int = 2048,
    batch: int = 1,
    tensor_parallel: bool = True,
    spec: SpecInfo | None = None,
    workload: Workload | None = None,
    neuron: bool = False,
) -> Option:
    """Judge one instance type for ``model`` (see the module doc for the rules).

    ``neuron`` allows Inferentia/Trainium types (the model must be compiled for
    Neuron); a JumpStart spec that lists such a type allows it too.
    """
    reasons: list[str] = []
    requested = normalize_dtype(dtype) if dtype else None
    supported: bool | None = None

    def refuse(reason: str) -> Option:
        return Option(
            instance=instance,
            price=price,
            workload=workload,
            verdict="unsupported",
            reasons=(reason,),
            supported_by_spec=supported,
        )

    # -- the JumpStart spec
    if spec is not None and spec.supported_instances is not None:
        supported = instance.name in spec.supported_instances
        if not supported:
            return refuse(
                f"not in the JumpStart spec's supported_inference_instance_types "
                f"({', '.join(spec.supported_instances)}); CreateEndpoint would be refused "
                "or the container would not start"
            )
        reasons.append("listed in the JumpStart spec's supported instance types")
    if (
        spec is not None
        and spec.min_accelerators
        and instance.accelerator_count < spec.min_accelerators
    ):
        return refuse(
            f"the JumpStart spec needs {spec.min_accelerators} accelerators "
            f"(hosting_resource_requirements); {instance.name} has {instance.accelerator_count}"
        )

    # -- device, dtype, shards
    acc = instance.accelerator if instance.has_accelerator else None
    if acc is not None and not acc.is_gpu and not (neuron or supported):
        return refuse(
            f"{acc.name} needs a model compiled for AWS Neuron (JumpStart's Neuron "
            "variants), not a CUDA container; pass neuron=True to consider it"
        )
    served: str
    available: float | None
    bandwidth: float | None
    if acc is not None:
        want = requested or model.dtype
        if want == "bf16" and acc.bf16 is False:
            if requested == "bf16":
                return refuse(
                    f"bf16 was asked for, but {acc.name} ({acc.architecture}) has no bf16; "
                    "personakit refuses DTYPE=bfloat16 on pre-Ampere GPUs (reference §4.2). "
                    "Pass dtype='fp16' to serve it in fp16"
                )
            served = "fp16"
            reasons.append(
                f"needs fp16: {acc.name} ({acc.architecture}) has no bf16, so the bf16 checkpoint "
                "is served as fp16 (TGI's default on CUDA): same memory, a small risk of "
                "overflow in a model trained in bf16"
            )
        else:
            served = want
        count = instance.accelerator_count
        shards, shard_note = _shards(model, count, tensor_parallel and model.kind == "generation")
        if shard_note:
            reasons.append(shard_note)
        elif shards > 1:
            reasons.append(
                f"sharded across {shards} accelerators with tensor parallelism "
                f"(SM_NUM_GPUS={shards}; TGI and LMI do this)"
            )
        available = acc.memory_gib
        bandwidth = acc.bandwidth_gbps * shards if acc.bandwidth_gbps is not None else None
        if not acc.is_gpu:
            reasons.append(
                f"{acc.name}: needs a Neuron-compiled model (JumpStart's Neuron variants), "
                "not a CUDA container"
            )
    else:
        served = requested if requested in ("int8", "int4", "fp32") else "fp32"
        if served != model.dtype and requested is None:
            reasons.append(
                "on CPU the weights load as fp32 (transformers' default), "
                f"{model.weight_bytes('fp32') / GIB:.2f} GiB"
            )
        shards = 1
        available = instance.memory_gib
        bandwidth = instance.cpu_bandwidth_gbps

    # -- memory
    weights = model.weight_bytes(served) / shards
    kv = model.kv_bytes_per_token(served) * context_tokens * batch / shards
    overhead = OVERHEAD_GIB * GIB + OVERHEAD_FRACTION * weights
    need = weights + kv + overhead
    where = "per GPU" if acc is not None and acc.is_gpu else ("per chip" if acc else "of RAM")
    breakdown = (
        f"weights {weights / GIB:.2f} + KV cache {kv / GIB:.2f} + overhead {overhead / GIB:.2f}"
    )
    verdict: FitVerdict
    if available is None:
        verdict = "unknown"
        reasons.append(
            f"memory of {instance.name} is not in the catalog; needs {need / GIB:.2f} GiB "
            f"({breakdown}); refresh() reads it from the Pricing API"
        )
    else:
        free = available * GIB - need
        if free < 0:
            verdict = "does not fit"
            total_need = (
                model.weight_bytes(served)
                + model.kv_bytes_per_token(served) * context_tokens * batch
            )
            reasons.insert(
                0,
                f"does not fit: needs {need / GIB:.1f} GiB {where} ({breakdown}), has "
                f"{available:g} GiB; the model needs about "
                f"{(total_need / GIB) * (1 + OVERHEAD_FRACTION):.0f} GiB in all",
            )
        elif free < TIGHT_FRACTION * available * GIB:
            verdict = "tight"
            reasons.insert(
                0,
                f"tight: needs {need / GIB:.1f} of {available:g} GiB {where} ({breakdown}); "
                f"only {free / GIB:.1f} GiB left for the KV cache of longer or more "
                "concurrent requests",
            )
        else:
            verdict = "fits"
            reasons.insert(
                0,
                f"fits: needs {need / GIB:.1f} of {available:g} GiB {where} ({breakdown}); "
                f"{free / GIB:.1f} GiB free for batching",
            )

    # -- accelerator caveats for generation
    if (
        acc is not None
        and acc.is_gpu
        and model.kind == "generation"
        and verdict != "does not fit"
        and acc.flash_attention_2 is False
    ):
        reasons.append(
            f"no FlashAttention v2 on {acc.name}: TGI falls back to paged attention, slower "
            "and hungrier for memory (reference §4.2)"
        )
    if instance.is_graviton:
        reasons.append(
            "Graviton (arm64): needs an arm64 container image (JumpStart's newest "
            "sentence-similarity specs have a c8g variant); Graviton3 is up to 3x Graviton2 "
            "(AWS ML blog, reference §4.4)"
        )
    reasons.extend(instance.notes)

    # -- throughput
    def bandwidth_bound(sequences: int) -> float | None:
        if model.kind != "generation" or bandwidth is None or verdict == "does not fit":
            return None
        step = model.weight_bytes(served) + model.kv_bytes_per_token(served) * (
            context_tokens * sequences
        )
        return sequences * bandwidth * 1e9 / step

    bound = bandwidth_bound(batch)
    benchmark = spec.benchmark_for(instance.name, batch) if spec is not None else None
    tokens: float | None
    source: str | None
    if benchmark is not None and benchmark.tokens_per_second:
        tokens = benchmark.tokens_per_second
        source = "JumpStart benchmark"
        at_bench = bandwidth_bound(benchmark.concurrency)
        reasons.append(
            f"{benchmark.describe()}, so about {tokens:.0f} tokens/s in all"
            + (f" (bandwidth bound {at_bench:.0f})" if at_bench is not None else "")
            + (
                f"; you asked for batch {batch}, the nearest published concurrency is "
                f"{benchmark.concurrency}"
                if benchmark.concurrency != batch
                else ""
            )
        )
    elif bound is not None:
        tokens = bound
        source = "bandwidth bound"
        step_gb = batch * (bandwidth or 0.0) / bound
        reasons.append(
            f"≈{bound:.0f} tokens/s at most: {bandwidth:g} GB/s / {step_gb:.2f} GB read per "
            f"decoding step, x batch {batch} (generation is memory-bandwidth bound)"
        )
    else:
        tokens = None
        source = None
        if model.kind == "embedding":
            reasons.append("embedding model: compute-bound, no bandwidth estimate; measure it")
        elif verdict != "does not fit":
            reasons.append("no memory-bandwidth figure in the catalog: throughput not estimated")

    # -- price
    if price is None:
        reasons.append(
            f"no {region} Hosting price in the catalog: run personakit.cost.refresh(session, "
            f"{region!r})"
        )
    elif price.note and price.note not in reasons:
        reasons.append(f"price note: {price.note}")

    return Option(
        instance=instance,
        price=price,
        workload=workload,
        verdict=verdict,
        reasons=tuple(dict.fromkeys(reasons)),
        dtype=served,
        devices_used=shards,
        weights_gib=weights / GIB,
        kv_cache_gib=kv / GIB,
        overhead_gib=overhead / GIB,
        available_gib=available,
        tokens_per_second=tokens,
        tokens_per_second_bound=bound,
        throughput_source=source,
        benchmark=benchmark,
        supported_by_spec=supported,
    )


# --------------------------------------------------------------------------- advice


def _rank_key(option: Option, by_workload: bool) -> tuple[Any, ...]:
    cost = option.workload_usd_per_month if by_workload else option.usd_per_hour
    return (_VERDICT_ORDER[option.verdict], cost is None, cost or 0.0, option.name)


@attrs.frozen(kw_only=True)
class Advice:
    """Instance types ranked for a model: those that load first, cheapest first.

    ``options`` holds the types the model loads on ("fits", then "tight"), ranked
    by $/h, or by the monthly cost of the ``workload`` when one was given.
    ``unverified`` holds types whose memory the catalog does not know;
    ``rejected`` those that do not fit or are not supported, each with its reason.
    ``notes`` are about the advice as a whole (price age, assumptions).
    """

    model: ModelSize
    region: str
    context_tokens: int
    batch: int
    options: tuple[Option, ...]
    unverified: tuple[Option, ...] = ()
    rejected: tuple[Option, ...] = ()
    notes: tuple[str, ...] = ()
    stale: bool = True
    prices_as_of: str = ""
    not_in_catalog: tuple[str, ...] = ()
    workload: Workload | None = None

    # ------------------------------------------------------------------ access

    @property
    def best(self) -> Option | None:
        """The first-ranked option, or ``None`` when nothing fits."""
        return self.options[0] if self.options else None

    @property
    def cheapest_per_token(self) -> Option | None:
        """The fitting option with the lowest $ per 1M tokens (``None`` if none is known)."""
        priced = [o for o in self.options if o.fits and o.usd_per_million_tokens is not None]
        return min(priced, key=lambda o: o.usd_per_million_tokens or 0.0) if priced else None

    def __iter__(self) -> Iterator[Option]:
        return iter(self.options)

    def __len__(self) -> int:
        return len(self.options)

    def __getitem__(self, name: str) -> Option:
        for option in (*self.options, *self.unverified, *self.rejected):
            if option.name == name:
                return option
        raise KeyError(f"{name!r} was not considered (not in the catalog)")

    @property
    def names(self) -> list[str]:
        """Names of the ranked options."""
        return [o.name for o in self.options]

    def instances_for(
        self, rate_rps: float, tokens_per_request: float, utilisation: float = 0.5
    ) -> int:
        """Instances of the best option for a request rate (see :meth:`Option.instances_for`)."""
        if self.best is None:
            raise ConfigurationError(f"no instance type fits {self.model.label}")
        return self.best.instances_for(rate_rps, tokens_per_request, utilisation)

    # ------------------------------------------------------------------ display

    def to_frame(self, *, include_rejected: bool = False) -> pd.DataFrame:
        """One row per option (ranked); with ``include_rejected`` also the unverified
        and rejected types (rank ``None``)."""
        import pandas as pd

        rows = []
        for rank, option in enumerate(self.options, start=1):
            rows.append({"rank": rank, **option.as_row()})
        if include_rejected:
            rows.extend({"rank": None, **o.as_row()} for o in (*self.unverified, *self.rejected))
        columns = ["rank", *Option.columns()]
        return pd.DataFrame(rows, columns=columns)

    def _header(self) -> str:
        return (
            f"{self.model.describe()}; context {self.context_tokens} tokens x batch "
            f"{self.batch}; {self.region}, {self.prices_as_of}"
        )

    def _table_rows(self) -> list[list[str]]:
        rows = []
        for rank, o in enumerate(self.options, start=1):
            row = o.as_row()
            rows.append(
                [
                    str(rank),
                    o.name,
                    row["accelerator"]
                    + (f" (uses {o.devices_used})" if o.devices_used > 1 else ""),
                    o.dtype or "",
                    o.memory_text(),
                    o.verdict,
                    _money(o.usd_per_hour),
                    _money(o.usd_per_month),
                    f"{o.tokens_per_second:.0f}" if o.tokens_per_second else "?",
                    _money(o.usd_per_million_tokens),
                ]
                + (
                    [str(o.workload_instances or "?"), _money(o.workload_usd_per_month)]
                    if self.workload
                    else []
                )
            )
        return rows

    def _columns(self) -> list[str]:
        columns = [
            "#",
            "instance",
            "accelerator",
            "dtype",
            "GiB need/have",
            "verdict",
            "$/h",
            "$/month",
            "tok/s",
            "$/1M tok",
        ]
        if self.workload:
            columns += ["n for load", "$/month load"]
        return columns

    #: How many options ``str()`` explains reason by reason.
    explain_top: ClassVar[int] = 5

    def __str__(self) -> str:
        lines = [f"Advice for {self._header()}"]
        if self.options:
            lines.append(_text_table(self._columns(), self._table_rows()))
        else:
            lines.append("  nothing in the catalog fits.")
        for rank, o in enumerate(self.options[: self.explain_top], start=1):
            lines.append(f"{rank}. {o.name}:")
            lines.extend(f"   - {reason}" for reason in o.reasons)
        if len(self.options) > self.explain_top:
            lines.append(
                f"({len(self.options) - self.explain_top} more: advice['<instance>'].reasons "
                "or advice.to_frame() explain them)"
            )
        if self.unverified:
            lines.append("Could not check (memory not in the catalog):")
            lines.extend(
                f"  - {o.name} ({_money(o.usd_per_hour)}/h): needs {o.need_gib or 0:.1f} GiB"
                for o in self.unverified
            )
        if self.rejected:
            lines.append("Not suitable:")
            lines.extend(f"  - {line}" for line in _grouped(self.rejected))
        if self.notes:
            lines.append("Notes:")
            lines.extend(f"  - {note}" for note in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        best = self.best.name if self.best else None
        return (
            f"Advice(model={self.model.label!r}, region={self.region!r}, "
            f"options={len(self.options)}, best={best!r}, stale={self.stale})"
        )

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self._columns())
        body = ""
        for cells, option in zip(self._table_rows(), self.options, strict=True):
            tds = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
            why = "<br>".join(html.escape(r) for r in option.reasons)
            body += (
                f"<tr>{tds}</tr><tr><td></td>"
                f"<td colspan='{len(cells) - 1}' style='font-size:smaller'>{why}</td></tr>"
            )
        rejected = "".join(f"<li>{html.escape(line)}</li>" for line in _grouped(self.rejected))
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        out = f"<div><b>Advice for {html.escape(self._header())}</b>"
        out += f"<table><tr>{head}</tr>{body}</table>" if body else "<p>nothing fits.</p>"
        if rejected:
            out += f"<details><summary>not suitable ({len(self.rejected)})</summary><ul>"
            out += f"{rejected}</ul></details>"
        if notes:
            out += f"<ul>{notes}</ul>"
        return out + "</div>"

    def plot(self, ax: Any = None) -> Any:
        """Price per hour against capacity (tokens/s, else accelerator memory), one dot each.

        Needs matplotlib (``pip install 'personakit[plots]'``); returns the Axes.
        """
        try:
            plt: Any = importlib.import_module("matplotlib.pyplot")
        except ImportError as exc:
            raise ImportError(
                "Advice.plot() needs matplotlib: pip install 'personakit[plots]' "
                "(or pip install matplotlib)"
            ) from exc
        priced = [o for o in self.options if o.usd_per_hour is not None]
        by_tokens = any(o.tokens_per_second for o in priced)
        points = [
            (
                (o.tokens_per_second or 0.0)
                if by_tokens
                else (o.instance.accelerator_memory_gib_total or (o.instance.memory_gib or 0.0)),
                o.usd_per_hour or 0.0,
                o,
            )
            for o in priced
        ]
        if ax is None:
            _, ax = plt.subplots()
        colours = {"fits": "tab:green", "tight": "tab:orange", "unknown": "tab:gray"}
        for x, y, option in points:
            ax.scatter([x], [y], color=colours.get(option.verdict, "tab:gray"))
            ax.annotate(option.name, (x, y), textcoords="offset points", xytext=(4, 4))
        ax.set_xlabel(
            "tokens/s (estimate or AWS benchmark)" if by_tokens else "accelerator or host GiB"
        )
        ax.set_ylabel(f"USD per hour ({self.region})")
        ax.set_title(f"{self.model.label}: price against capacity")
        return ax


def _grouped(options: Sequence[Option]) -> list[str]:
    """``"name: reason"`` lines, one line for types sharing the same first reason."""
    groups: dict[str, list[str]] = {}
    for option in options:
        groups.setdefault(option.reasons[0], []).append(option.name)
    return [f"{', '.join(names)}: {reason}" for reason, names in groups.items()]


def _text_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    numeric = {"#", "$/h", "$/month", "tok/s", "$/1M tok", "n for load", "$/month load"}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(w) if col in numeric else cell.ljust(w)
            for cell, w, col in zip(cells, widths, columns, strict=True)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(columns), rule, *(line(r) for r in rows)])


def _coerce_workload(workload: Workload | tuple[float, ...] | None) -> Workload | None:
    if workload is None or isinstance(workload, Workload):
        return workload
    return Workload(*workload)


def advise(
    model: ModelSize | str | tuple[Any, ...],
    *,
    catalog: Catalog | None = None,
    region: str = "us-east-1",
    dtype: str | None = None,
    context_tokens: int | None = None,
    batch: int = 1,
    supported_instances: Iterable[str] | None = None,
    spec: Any = None,
    workload: Workload | tuple[float, ...] | None = None,
    tensor_parallel: bool = True,
    neuron: bool = False,
    instances: Iterable[str] | None = None,
) -> Advice:
    """Rank the instance types of ``catalog`` that can serve ``model``.

    Args:
        model: a known JumpStart model id or short name, ``(parameters, dtype)``,
            or a :class:`~personakit.cost.models.ModelSize`.
        catalog: the catalog to use; the packaged snapshot when ``None`` (offline;
            :func:`personakit.cost.refresh` gives live prices).
        region: the region whose prices to use.
        dtype: serve at this dtype (``"fp16"``, ``"int8"``, ...); the model's own
            when ``None`` (bf16 falls back to fp16 where the GPU lacks bf16).
        context_tokens: tokens per sequence (prompt + output) the KV cache must
            hold; the model's context window capped at 2048 when ``None``.
        batch: sequences served at once (the KV cache and throughput scale with it).
        supported_instances: only these instance types (e.g. the JumpStart spec's
            ``supported_inference_instance_types``); others are rejected.
        spec: a JumpStart spec (dict, CDK record, or object): its supported
            instance types, resource requirements and benchmark metrics are used.
        workload: a :class:`Workload` (or ``(requests_per_second, tokens_per_request[,
            utilisation])``): options then show instance counts and are ranked by the
            monthly cost of serving it.
        tensor_parallel: whether the serving container shards a model across GPUs
            (TGI and LMI do; the older HF inference container does not).
        neuron: consider Inferentia (inf2) types: the model must be compiled for
            AWS Neuron. A spec that lists them allows them too.
        instances: judge only these instance types (default: the whole catalog).
    """
    size = ModelSize.of(model)
    catalog = catalog if catalog is not None else Catalog.load()
    if batch < 1:
        raise ConfigurationError(f"batch must be >= 1, got {batch!r}")
    if context_tokens is None:
        context_tokens = min(size.max_context or 2048, 2048)
    if context_tokens < 1:
        raise ConfigurationError(f"context_tokens must be >= 1, got {context_tokens!r}")
    info = SpecInfo.from_spec(spec) if spec is not None else None
    if supported_instances is not None:
        info = attrs.evolve(info or SpecInfo(), supported_instances=tuple(supported_instances))
    load = _coerce_workload(workload)
    names = list(instances) if instances is not None else list(catalog.instances)
    evaluated = [
        evaluate(
            size,
            catalog[name],
            price=catalog.price(name, region),
            region=region,
            dtype=dtype,
            context_tokens=context_tokens,
            batch=batch,
            tensor_parallel=tensor_parallel,
            spec=info,
            workload=load,
            neuron=neuron,
        )
        for name in names
    ]
    by_workload = load is not None
    good = sorted((o for o in evaluated if o.fits), key=lambda o: _rank_key(o, by_workload))
    unverified = sorted(
        (o for o in evaluated if o.verdict == "unknown"), key=lambda o: _rank_key(o, False)
    )
    bad = sorted(
        (o for o in evaluated if o.verdict in ("does not fit", "unsupported")),
        key=lambda o: _rank_key(o, False),
    )
    missing: tuple[str, ...] = ()
    if info is not None and info.supported_instances is not None:
        missing = tuple(n for n in info.supported_instances if n not in catalog)
    notes = _notes(size, catalog, region, good, missing, context_tokens, batch)
    return Advice(
        model=size,
        region=region,
        context_tokens=context_tokens,
        batch=batch,
        options=tuple(good),
        unverified=tuple(unverified),
        rejected=tuple(bad),
        notes=tuple(notes),
        stale=catalog.stale,
        prices_as_of=catalog.describe_age(),
        not_in_catalog=missing,
        workload=load,
    )


def _notes(
    size: ModelSize,
    catalog: Catalog,
    region: str,
    good: Sequence[Option],
    missing: Sequence[str],
    context_tokens: int,
    batch: int,
) -> list[str]:
    notes = []
    if catalog.stale:
        notes.append(
            f"{catalog.describe_age()}: {catalog.note or 'not a live read'}. Prices change "
            "(P4d hosting fell from $37.688 to $25.251 between Jan 2025 and Jul 2026); "
            "personakit.cost.refresh(session) reads them from the AWS Price List API"
        )
    if size.kind == "generation" and not size.knows_attention:
        notes.append(
            "KV cache by rule of thumb: 512 KiB per token per 7B parameters at 16 bits "
            "(multi-head attention, Llama-2-7B; reference §4.3); models with grouped-query "
            "or multi-query attention need less. Pass a ModelSize with layers, kv_heads and "
            "head_dim for an exact figure"
        )
    if size.max_context and context_tokens > size.max_context:
        notes.append(
            f"context_tokens={context_tokens} exceeds {size.label}'s context window "
            f"({size.max_context} tokens)"
        )
    notes.append(
        f"memory rule: (weights + KV cache for {context_tokens} tokens x batch {batch}) / "
        f"shards + {OVERHEAD_GIB:g} GiB + {OVERHEAD_FRACTION:.0%} of the weights per device; "
        f"under {TIGHT_FRACTION:.0%} free is tight. Throughput is a bandwidth upper bound "
        "unless an AWS benchmark is shown"
    )
    if not good:
        notes.append(
            f"nothing in the catalog loads {size.label}: try dtype='int8' or 'int4', a shorter "
            "context, or bigger instance types (refresh() adds every type with a price)"
        )
    if missing:
        notes.append(
            f"supported by the JumpStart spec but not in the catalog: {', '.join(missing)} "
            f"(refresh() adds every {region} Hosting type with a price)"
        )
    if size.kind == "generation" and size.parameters < 1e9:
        notes.append(
            "for a model this small, per-request overheads dominate: real tokens/s is far "
            "below the bandwidth bound, and the gap between GPUs narrows (reference §4.4)"
        )
    if size.kind == "embedding" or size.parameters < 1e9:
        notes.append(
            f"{size.label} is small: CPU instances serve it; Graviton types (c6g, c7g) need "
            "an arm64 image and are the AWS-recommended CPU option (reference §4.4)"
        )
    gpu_names = {o.name for o in good}
    if (
        size.kind == "generation"
        and size.parameters >= 5e9
        and gpu_names
        & {
            "ml.g4dn.xlarge",
            "ml.g4dn.2xlarge",
            "ml.g4dn.4xlarge",
            "ml.p3.2xlarge",
        }
    ):
        notes.append(
            "for 7B-class models prefer g5/g6 over g4dn/p3: AWS found G5 'consistently lower "
            "cost per million inferences' than G4dn (AWS ML blog, reference §4.4), and "
            "ml.g5.2xlarge costs about what ml.g4dn.4xlarge does with 1.5x the GPU memory, "
            "bf16 and FlashAttention"
        )
    return notes


# --------------------------------------------------------------------------- compare


@attrs.frozen(kw_only=True)
class Comparison:
    """Two instance types side by side; ``str()`` is the sentence."""

    a: Option
    b: Option
    price_ratio: float | None
    bandwidth_ratio: float | None
    memory_ratio: float | None
    model: ModelSize | None
    text: str

    def __str__(self) -> str:
        return self.text


def _ratio(x: float | None, y: float | None) -> float | None:
    if x is None or y is None or y == 0:
        return None
    return x / y


def compare(
    a: str,
    b: str,
    *,
    model: ModelSize | str | tuple[Any, ...] | None = None,
    catalog: Catalog | None = None,
    region: str = "us-east-1",
    dtype: str | None = None,
    context_tokens: int | None = None,
    batch: int = 1,
    tensor_parallel: bool = True,
    neuron: bool = True,
) -> Comparison:
    """Compare instance type ``a`` with ``b``: price, bandwidth, memory, and fit for ``model``.

    The sentence reads "ml.g4dn.4xlarge vs ml.p3.2xlarge: 39% of the price ($1.505/h
    vs $3.825/h), 36% of the memory bandwidth (320 vs 900 GB/s), ...". Ratios are
    ``a / b``, computed from the catalog's numbers, not quoted from folklore.
    """
    catalog = catalog if catalog is not None else Catalog.load()
    size = ModelSize.of(model) if model is not None else ModelSize(parameters=1e9, name="1B")
    if context_tokens is None:
        context_tokens = min(size.max_context or 2048, 2048)
    options = []
    for name in (a, b):
        options.append(
            evaluate(
                size,
                catalog[name],
                price=catalog.price(name, region),
                region=region,
                dtype=dtype,
                context_tokens=context_tokens,
                batch=batch,
                tensor_parallel=tensor_parallel,
                neuron=neuron,
            )
        )
    oa, ob = options
    ia, ib = oa.instance, ob.instance
    price_ratio = _ratio(oa.usd_per_hour, ob.usd_per_hour)
    bw_ratio = _ratio(ia.total_bandwidth_gbps, ib.total_bandwidth_gbps)
    mem_a = ia.accelerator_memory_gib_total if ia.has_accelerator else ia.memory_gib
    mem_b = ib.accelerator_memory_gib_total if ib.has_accelerator else ib.memory_gib
    mem_ratio = _ratio(mem_a, mem_b)
    parts = []
    if price_ratio is not None:
        parts.append(
            f"{_pct(price_ratio)} of the price (${oa.usd_per_hour:g}/h vs ${ob.usd_per_hour:g}/h)"
        )
    else:
        parts.append(f"price unknown for {a if oa.price is None else b} in {region}")
    if bw_ratio is not None:
        parts.append(
            f"{_pct(bw_ratio)} of the memory bandwidth ({ia.total_bandwidth_gbps:g} vs "
            f"{ib.total_bandwidth_gbps:g} GB/s)"
        )
    else:
        parts.append("bandwidth unknown")
    if mem_ratio is not None:
        kind = "accelerator memory" if ia.has_accelerator and ib.has_accelerator else "memory"
        parts.append(f"{_pct(mem_ratio)} of the {kind} ({mem_a:g} vs {mem_b:g} GiB)")
    text = f"{a} vs {b}: " + ", ".join(parts)
    if model is not None:
        text += f"; {size.label}: {_fit_word(oa)} on {a}, {_fit_word(ob)} on {b}"
    text += "."
    if price_ratio is not None and bw_ratio is not None and size.kind == "generation":
        text += (
            f" Generation is memory-bandwidth bound, so expect about {_pct(bw_ratio)} of the "
            f"tokens/s for {_pct(price_ratio)} of the price: "
            f"{price_ratio / bw_ratio:.2f}x the cost per token (a heuristic; measure)."
        )
    caveats = [n for n in (*ia.notes, *ib.notes) if "retiring" in n]
    if caveats:
        text += " Note: " + "; ".join(dict.fromkeys(caveats)) + "."
    return Comparison(
        a=oa,
        b=ob,
        price_ratio=price_ratio,
        bandwidth_ratio=bw_ratio,
        memory_ratio=mem_ratio,
        model=size if model is not None else None,
        text=text,
    )


def _fit_word(option: Option) -> str:
    if option.verdict == "tight":
        extra = f" in {option.dtype}" if option.dtype else ""
        return f"fits but tight{extra}"
    if option.verdict == "fits" and option.dtype:
        return f"fits in {option.dtype}"
    return option.verdict
