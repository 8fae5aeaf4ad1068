"""Does a model fit a SageMaker instance type, how fast would it generate, and why.

Pure (no AWS calls). :func:`evaluate` judges one instance type of a
:class:`~personakit.cost.catalog.Catalog` against a :class:`~personakit.cost.models.ModelSize`
and returns an :class:`Option`; :func:`personakit.cost.advice.advise` ranks them.

How an instance is judged:

- **Memory, per accelerator**: ``(weights + KV cache) / shards + overhead`` must fit
  in one accelerator's memory (host RAM for CPU-only types). Weights are
  parameters x bytes per dtype; the KV cache is ``2 x layers x KV heads x head dim
  x bytes x context_tokens x batch`` (or the rule of thumb in
  :mod:`personakit.cost.models`); overhead is personakit's rule of thumb, 1 GiB
  (CUDA context, server) plus 10% of the weights (activations, allocator slack).
  Less than 10% of the memory left over is **tight**: it loads, but the server
  has little room for batching (TGI sizes its KV pool from what is left:
  ``MAX_BATCH_PREFILL_TOKENS`` / ``MAX_TOTAL_TOKENS``,
  https://github.com/huggingface/text-generation-inference/blob/main/launcher/src/main.rs).
- **Sharding**: with ``tensor_parallel=True`` (TGI and LMI containers) a model is
  split across all GPUs of a multi-GPU instance, as JumpStart does
  (``SM_NUM_GPUS``); the shard count must divide the attention heads (so
  Falcon-7B's 71 heads use one GPU only, as the Falcon notebook warns).
- **dtype**: bf16 needs A10G, L4, A100 or newer. On T4 and V100 a bf16
  checkpoint is served as fp16 (TGI's default on CUDA): same memory, and a
  small risk of fp16 overflow for a model trained in bf16. Asking for bf16
  there explicitly is refused. CPU containers load fp32 weights.
- **Throughput** of generation is memory-bandwidth bound: tokens/s per sequence
  ≈ bandwidth / bytes read per step (weights + KV cache), times ``batch``
  sequences. It is an upper bound (compute, kernels and communication ignored);
  a JumpStart spec's published benchmark replaces it where present.
- **Price**: on-demand Hosting $/h from the catalog (https://aws.amazon.com/sagemaker/pricing/),
  $/month at 730 h, $ per 1M generated tokens at the throughput above.
- **The JumpStart spec** (when one is known): a type its
  ``supported_inference_instance_types`` lists has ``in_spec=True``. One it does not
  list is judged all the same (``in_spec=False``): ``LLMEndpoint.deploy`` deploys it
  with the image of its family's variant, as the SageMaker Python SDK does, and warns.
  A type with no image in the spec's ``hosting_instance_type_variants`` (neither
  for the type nor for its family) is "unsupported": deploy refuses it, as the SDK
  does (https://github.com/aws/sagemaker-python-sdk/blob/v2.257.6/src/sagemaker/jumpstart/artifacts/image_uris.py).
  ``spec_only=True`` rejects every type the spec does not list.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from personakit.cost.catalog import HOURS_PER_MONTH, InstanceType, Price
from personakit.cost.models import ModelSize, normalize_dtype
from personakit.errors import ConfigurationError
from personakit.llm.resolve import instance_family

__all__ = [
    "GIB",
    "GRAVITON_URL",
    "OVERHEAD_FRACTION",
    "OVERHEAD_GIB",
    "TIGHT_FRACTION",
    "Benchmark",
    "FitVerdict",
    "Option",
    "SpecInfo",
    "Workload",
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

#: AWS's guidance for CPU inference: Graviton3, up to 3x Graviton2 (Well-Architected ML Lens).
GRAVITON_URL = (
    "https://docs.aws.amazon.com/wellarchitected/latest/machine-learning-lens/mlsus-12.html"
)

FitVerdict = Literal["fits", "tight", "unknown", "does not fit", "unsupported"]


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
    #: ``hosting_instance_type_variants`` keys (instance types or families such as
    #: ``"g6"``) that carry an image; ``None`` when the spec says nothing of images.
    image_variants: tuple[str, ...] | None = None
    #: Where the spec came from, for messages (``"huggingface-llm-falcon-7b-bf16 4.1.23"``).
    label: str | None = None

    def in_spec(self, instance: str) -> bool | None:
        """Whether ``supported_inference_instance_types`` lists ``instance`` (``None``:
        the spec lists nothing)."""
        if self.supported_instances is None:
            return None
        return instance in self.supported_instances

    def image_variant_for(self, instance: str) -> str | None:
        """The variant whose image serves ``instance``: the type itself, else its family
        (the SageMaker SDK's order); ``None`` when the spec has no image for it."""
        if self.image_variants is None:
            return None
        for key in (instance, instance_family(instance)):
            if key in self.image_variants:
                return key
        return None

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
        model_id = _get(spec, "model_id", "modelId")
        version = _get(spec, "version")
        return cls(
            model_id=model_id,
            supported_instances=tuple(supported) if supported is not None else None,
            default_instance=default,
            benchmarks=benchmarks,
            min_accelerators=int(min_acc) if min_acc else None,
            image_variants=_image_variants(spec),
            label=" ".join(str(p) for p in (model_id, version) if p) or None,
        )

    def benchmark_for(self, instance: str, batch: int) -> Benchmark | None:
        """The benchmark point for ``instance`` whose concurrency is closest to ``batch``."""
        points = [b for b in self.benchmarks.get(instance, ()) if b.tokens_per_second]
        if not points:
            return None
        return min(points, key=lambda b: (abs(b.concurrency - batch), b.concurrency))


def _image_variants(spec: Any) -> tuple[str, ...] | None:
    """The variant keys with an image: a spec's ``hosting_instance_type_variants.variants``
    (``regional_properties.image_uri``) or a CDK record's ``instanceVariants`` (``imageUri``)."""
    hosting = _get(spec, "hosting_instance_type_variants")
    if hosting is not None:
        variants = _get(hosting, "variants")
        if not isinstance(variants, Mapping):
            return None
        return tuple(
            str(key)
            for key, entry in variants.items()
            if _get(_get(entry, "regional_properties") or {}, "image_uri")
        )
    rows = _get(spec, "instanceVariants")
    if isinstance(rows, (list, tuple)):
        return tuple(
            str(_get(row, "instanceType")) for row in rows if _get(row, "imageUri") is not None
        )
    return None


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
    recommended starting ``SAFETY_FACTOR`` for endpoint load tests
    (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-loadtest.html).
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
    in_spec: bool | None = None
    workload: Workload | None = None

    @property
    def name(self) -> str:
        """The instance type name."""
        return self.instance.name

    @property
    def supported_by_spec(self) -> bool | None:
        """The earlier name of :attr:`in_spec`."""
        return self.in_spec

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
            "in_spec",
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
            "in_spec": self.in_spec,
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
    spec_only: bool = False,
) -> Option:
    """Judge one instance type for ``model`` (see the module doc for the rules).

    ``neuron`` allows Inferentia/Trainium types (the model must be compiled for
    Neuron); a JumpStart spec that lists such a type allows it too. ``spec_only``
    rejects a type the spec does not list (by default it is judged and marked
    ``in_spec=False``).
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
            in_spec=supported,
        )

    # -- the JumpStart spec
    if spec is not None and spec.supported_instances is not None:
        supported = instance.name in spec.supported_instances
        which = f"the JumpStart spec{f' of {spec.label}' if spec.label else ''}"
        variant = spec.image_variant_for(instance.name)
        if not supported and spec.image_variants is not None and variant is None:
            return refuse(
                f"no image in {which} for this type or its family, so LLMEndpoint.deploy "
                "refuses it, as the SageMaker SDK does"
            )
        if not supported and spec_only:
            return refuse(
                f"not in the supported_inference_instance_types of {which} "
                f"({', '.join(spec.supported_instances)}); rejected because spec_only=True"
            )
        if supported:
            reasons.append(f"listed in the supported_inference_instance_types of {which}")
        else:
            image = f"the {variant} image variant" if variant else "its family's image"
            reasons.append(
                f"not in the supported_inference_instance_types of {which}: "
                f"LLMEndpoint.deploy takes it with {image}, as the SageMaker SDK does, and an "
                "OutOfSpecInstanceWarning; AWS has not validated the model on it"
            )
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
                    "personakit refuses DTYPE=bfloat16 on GPUs older than Ampere. "
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
            "and hungrier for memory "
            "(https://github.com/huggingface/text-generation-inference/issues/1161)"
        )
    if instance.is_graviton:
        reasons.append(
            "Graviton (arm64): needs an arm64 container image (JumpStart's newest "
            "sentence-similarity specs have a c8g variant); Graviton3 is up to 3x Graviton2 "
            f"({GRAVITON_URL})"
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
        in_spec=supported,
    )
