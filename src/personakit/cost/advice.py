"""Which SageMaker instance fits a model, what it costs, and why.

Pure (no AWS calls). :func:`advise` checks every instance type of a
:class:`~personakit.cost.catalog.Catalog` against a model and ranks those that fit::

    from personakit.cost import advise, compare

    advice = advise("huggingface-llm-falcon-7b-bf16")      # the packaged catalog, us-east-1
    print(advice)                                          # a table, then the reasons
    advice.best.name                                       # 'ml.g6.xlarge'
    advice.best.in_spec                                    # False: the spec lists g5 types only
    print(compare("ml.g4dn.4xlarge", "ml.p3.2xlarge", model="bloom-1b1"))

How each instance type is judged (memory, sharding, dtype, throughput, price) is
:func:`personakit.cost.fit.evaluate`'s; this module ranks the judgements
(:class:`Advice`) and compares two types (:class:`Comparison`).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from personakit.cost.catalog import Catalog
from personakit.cost.fit import (
    GRAVITON_URL,
    OVERHEAD_FRACTION,
    OVERHEAD_GIB,
    TIGHT_FRACTION,
    Option,
    SpecInfo,
    Workload,
    evaluate,
)
from personakit.cost.models import ModelSize
from personakit.errors import ConfigurationError
from personakit.rules.display import Display, html_table, short_repr

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Advice",
    "Comparison",
    "advise",
    "compare",
]

#: AWS's G5 against G4dn inference study (AWS Machine Learning Blog).
_G5_VS_G4DN_URL = (
    "https://aws.amazon.com/blogs/machine-learning/achieve-four-times-higher-ml-inference-"
    "throughput-at-three-times-lower-cost-per-inference-with-amazon-ec2-g5-instances-for-"
    "nlp-and-cv-pytorch-models/"
)
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


# --------------------------------------------------------------------------- advice


def _rank_key(option: Option, by_workload: bool) -> tuple[Any, ...]:
    cost = option.workload_usd_per_month if by_workload else option.usd_per_hour
    return (_VERDICT_ORDER[option.verdict], cost is None, cost or 0.0, option.name)


@attrs.frozen(kw_only=True)
class Advice(Display):
    """Instance types ranked for a model: those that load first, cheapest first.

    ``options`` holds the types the model loads on ("fits", then "tight"), ranked
    by $/h, or by the monthly cost of the ``workload`` when one was given.
    ``unverified`` holds types whose memory the catalog does not know;
    ``rejected`` those that do not fit or are not supported, each with its reason.
    ``notes`` are about the advice as a whole (price age, assumptions).
    ``spec_label`` names the JumpStart spec whose ``supported_inference_instance_types``
    set each option's ``in_spec`` (``None``: no spec was known, every ``in_spec`` is
    ``None``).
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
    spec_label: str | None = None

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
                    _spec_cell(o.in_spec),
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
            "in spec",
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

    def plot(self, ax: Any = None, *, kind: str = "price") -> Any:
        """Draw the options: ``kind="price"`` their $/h against tokens/s (accelerator
        memory when no throughput is known), coloured by verdict, the best and the
        cheapest per token ringed; ``kind="memory"`` the memory the model needs against
        what each device has (the headroom).

        Needs matplotlib (``pip install 'personakit[plots]'``).

        Args:
            ax: The matplotlib Axes to draw on; a new figure when ``None``.
            kind: ``"price"`` or ``"memory"``.

        Returns:
            The Axes.
        """
        from personakit.rules import plots  # matplotlib only when a plot is drawn

        what = f"Advice.plot(kind={kind!r})"
        options = [*self.options, *self.unverified]
        if kind == "memory":
            return plots.memory_bars(
                [o.name for o in options],
                [o.need_gib for o in options],
                [o.available_gib for o in options],
                [o.verdict for o in options],
                ax=ax,
                what=what,
                title=f"{self.model.label}: memory needed against memory there",
            )
        if kind != "price":
            raise ConfigurationError(f"kind={kind!r}: 'price' or 'memory'")
        priced = [o for o in options if o.usd_per_hour is not None]
        by_tokens = any(o.tokens_per_second for o in priced)

        def point(o: Option) -> plots.Point:
            memory = o.instance.accelerator_memory_gib_total or o.instance.memory_gib
            x = o.tokens_per_second if by_tokens else memory
            return plots.Point(x or 0.0, o.usd_per_hour or 0.0, o.name, o.verdict)

        shown = [o for o in priced if not by_tokens or o.tokens_per_second]
        highlights: dict[str, plots.Point] = {}
        if self.best is not None and self.best in shown:
            highlights["best"] = point(self.best)
        cheapest = self.cheapest_per_token
        if cheapest is not None and cheapest in shown:
            highlights["cheapest per token"] = point(cheapest)
        return plots.price_scatter(
            [point(o) for o in shown],
            ax=ax,
            what=what,
            title=f"{self.model.label}: price against capacity ({self.region})",
            xlabel="tokens/s (estimate or AWS benchmark)"
            if by_tokens
            else "accelerator (else host) memory, GiB",
            ylabel="USD per hour",
            highlights=highlights,
        )


def _spec_cell(in_spec: bool | None) -> str:
    """The "in spec" column: listed by the JumpStart spec, not listed, or no spec known."""
    return "?" if in_spec is None else ("yes" if in_spec else "no")


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
    spec_only: bool = False,
) -> Advice:
    """Rank the instance types of ``catalog`` that can serve ``model``.

    Each option's ``in_spec`` says whether the model's JumpStart spec lists the type
    in ``supported_inference_instance_types``: the spec given, else (for a model
    personakit knows by its JumpStart id or short name) the latest version in
    personakit's packaged JumpStart snapshot, the one ``LLMEndpoint.deploy`` uses
    offline. A type the spec does not list stays in the ranking (deploy takes it with
    a warning, as the SageMaker SDK does) unless ``spec_only``; one the spec has no
    image for is rejected.

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
        supported_instances: the instance types the model's spec lists (e.g. the
            JumpStart spec's ``supported_inference_instance_types``): they set
            ``in_spec``; the others are rejected only with ``spec_only``.
        spec: a JumpStart spec (dict, CDK record, or object): its supported
            instance types, images, resource requirements and benchmark metrics are
            used. ``None``: the packaged snapshot's spec of the model, if it has one.
        workload: a :class:`Workload` (or ``(requests_per_second, tokens_per_request[,
            utilisation])``): options then show instance counts and are ranked by the
            monthly cost of serving it.
        tensor_parallel: whether the serving container shards a model across GPUs
            (TGI and LMI do; the older HF inference container does not).
        neuron: consider Inferentia (inf2) types: the model must be compiled for
            AWS Neuron. A spec that lists them allows them too.
        instances: judge only these instance types (default: the whole catalog).
        spec_only: reject the types the spec does not list (default: rank them,
            marked ``in_spec=False``).
    """
    size = ModelSize.of(model)
    catalog = catalog if catalog is not None else Catalog.load()
    if batch < 1:
        raise ConfigurationError(f"batch must be >= 1, got {batch!r}")
    if context_tokens is None:
        context_tokens = min(size.max_context or 2048, 2048)
    if context_tokens < 1:
        raise ConfigurationError(f"context_tokens must be >= 1, got {context_tokens!r}")
    snapshot_note: str | None = None
    if spec is None and supported_instances is None:
        spec, snapshot_note = _snapshot_spec(model, size)
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
            spec_only=spec_only,
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
    if info is not None and info.supported_instances is not None:
        notes.append(_spec_note(info, good, snapshot_note))
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
        spec_label=(info.label or "the supported_instances given")
        if info is not None and info.supported_instances is not None
        else None,
    )


def _snapshot_spec(model: Any, size: ModelSize) -> tuple[Mapping[str, Any] | None, str | None]:
    """The packaged JumpStart snapshot's latest spec of ``model``, and where it is from.

    A ``model`` given by name is looked up by its JumpStart id, else (a short name) by
    the first JumpStart id of its :class:`ModelSize` (the model itself, not an instruct
    sibling). ``(None, None)`` for a ``ModelSize`` or a tuple, when the snapshot has no
    such model, or when its spec lists no instance types.
    """
    if not isinstance(model, str):
        return None, None
    from personakit.llm.jumpstart import (  # package data only, on use
        select_version,
        snapshot_info,
        snapshot_manifest,
        snapshot_spec,
    )

    wanted = [model, *size.jumpstart_ids[:1]]
    entries = snapshot_manifest()
    for model_id in wanted:
        rows = [e for e in entries if e.model_id.lower() == model_id.lower()]
        version = select_version([e.version for e in rows])
        row = next((e for e in rows if e.version == version), None)
        if row is None:
            continue
        document = snapshot_spec(row)
        if not document.get("supported_inference_instance_types"):
            return None, None
        date = snapshot_info().get("snapshot_date", "")
        return document, f"personakit's packaged JumpStart snapshot of {date}"
    return None, None


def _spec_note(info: SpecInfo, good: Sequence[Option], snapshot: str | None) -> str:
    where = f" ({snapshot}; pass spec= for the version you deploy)" if snapshot else ""
    outside = [o.name for o in good if o.in_spec is False]
    text = (
        f"'in spec': listed in the supported_inference_instance_types of the JumpStart spec "
        f"{info.label or ''}{where}: {', '.join(info.supported_instances or ())}"
    )
    if outside:
        text += (
            f". Not listed but deployable ({', '.join(outside)}): LLMEndpoint.deploy uses the "
            "image of the type's family variant, as the SageMaker Python SDK does, and warns "
            "(OutOfSpecInstanceWarning); AWS has not validated the model there, so test it "
            "(https://docs.aws.amazon.com/sagemaker/latest/dg/"
            "jumpstart-foundation-models-use-python-sdk-model-class.html)"
        )
    return text


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
            "(multi-head attention, Llama-2-7B: 2 x 32 layers x 32 heads x 128 x 2 bytes); "
            "models with grouped-query or multi-query attention need less. Pass a ModelSize "
            "with layers, kv_heads and head_dim for an exact figure"
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
            "below the bandwidth bound, and the gap between GPUs narrows"
        )
    if size.kind == "embedding" or size.parameters < 1e9:
        notes.append(
            f"{size.label} is small: CPU instances serve it; Graviton types (c6g, c7g) need "
            f"an arm64 image and are the AWS-recommended CPU option ({GRAVITON_URL})"
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
            f"cost per million inferences' than G4dn ({_G5_VS_G4DN_URL}), and "
            "ml.g5.2xlarge costs about what ml.g4dn.4xlarge does with 1.5x the GPU memory, "
            "bf16 and FlashAttention"
        )
    return notes


# --------------------------------------------------------------------------- compare


@attrs.frozen(kw_only=True)
class Comparison(Display):
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

    def __repr__(self) -> str:
        ratio = None if self.price_ratio is None else round(self.price_ratio, 3)
        return short_repr(self, repr(self.a.name), repr(self.b.name), price_ratio=ratio)

    def plot(self, ax: Any = None) -> Any:
        """The two types side by side: price, memory bandwidth, memory and tokens/s,
        each as a share of the larger of the two (the values written above the bars),
        and the memory the model needs per device.

        Needs matplotlib (``pip install 'personakit[plots]'``).

        Args:
            ax: The matplotlib Axes to draw on; a new figure when ``None``.

        Returns:
            The Axes.
        """
        from personakit.rules import plots  # matplotlib only when a plot is drawn

        a, b = self.a, self.b
        rows = [
            ("$/hour", a.usd_per_hour, b.usd_per_hour, "${:,.4g}"),
            (
                "memory bandwidth",
                a.instance.total_bandwidth_gbps,
                b.instance.total_bandwidth_gbps,
                "{:,.0f} GB/s",
            ),
            ("memory", _memory(a), _memory(b), "{:,.4g} GiB"),
            ("tokens/s", a.tokens_per_second, b.tokens_per_second, "{:,.0f}"),
        ]
        rows = [r for r in rows if r[1] is not None or r[2] is not None]
        series: dict[str, list[float | None]] = {a.name: [], b.name: []}
        texts: dict[str, list[str]] = {a.name: [], b.name: []}
        for _, x, y, fmt in rows:
            top = max(v for v in (x, y) if v is not None) or 1.0
            for name, value in ((a.name, x), (b.name, y)):
                series[name].append(None if value is None else value / top)
                texts[name].append("" if value is None else fmt.format(value))
        title = f"{a.name} vs {b.name}" + (f" for {self.model.label}" if self.model else "")
        axes = plots.grouped_bars(
            [r[0] for r in rows],
            series,
            ax=ax,
            what="Comparison.plot()",
            title=title,
            ylabel="share of the larger of the two",
            texts=texts,
            ylim=(0.0, 1.25),
        )
        groups = [r[0] for r in rows]
        top_memory = max((m for m in (_memory(a), _memory(b)) if m is not None), default=0.0)
        if self.model is not None and "memory" in groups and top_memory:
            i = groups.index("memory")
            label = f"{self.model.label} needs"
            for option, x in ((a, i - 0.2), (b, i + 0.2)):
                if option.need_gib is None:
                    continue
                need = option.need_gib * max(1, option.devices_used)
                axes.hlines(
                    need / top_memory,
                    x - 0.19,
                    x + 0.19,
                    colors="black",
                    linestyles="--",
                    label=label,
                )
                label = "_"  # one legend entry for both
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8)
        return axes

    def _repr_html_(self) -> str:
        a, b = self.a, self.b

        def num(value: float | None, unit: str = "") -> str:
            return "" if value is None else f"{value:,.4g}{unit}"

        def pct(value: float | None) -> str:
            return "" if value is None else _pct(value)

        rows = [
            ("$/hour", num(a.usd_per_hour), num(b.usd_per_hour), pct(self.price_ratio)),
            (
                "memory bandwidth (GB/s)",
                num(a.instance.total_bandwidth_gbps),
                num(b.instance.total_bandwidth_gbps),
                pct(self.bandwidth_ratio),
            ),
            ("memory (GiB)", num(_memory(a)), num(_memory(b)), pct(self.memory_ratio)),
            ("tokens/s", num(a.tokens_per_second), num(b.tokens_per_second), ""),
            ("fit", _fit_word(a), _fit_word(b), ""),
        ]
        return html_table(
            ("", a.name, b.name, "a / b"),
            rows,
            title=f"{a.name} vs {b.name}" + (f" for {self.model.label}" if self.model else ""),
            notes=[self.text],
        )


def _memory(option: Option) -> float | None:
    it = option.instance
    return it.accelerator_memory_gib_total if it.has_accelerator else it.memory_gib


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
