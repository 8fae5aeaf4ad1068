"""The lab's questions in one call: each model on each instance type, and one claim checked.

Pure (no AWS calls). :func:`lab` runs :data:`SCENARIOS` (models and the instance types
the hands-on lab tried them on) through :func:`~personakit.cost.advice.advise`, and
checks :data:`CLAIM` ("ml.g4dn.4xlarge gives about 80% of ml.p3.2xlarge's speed at
half the price") with :func:`~personakit.cost.advice.compare`::

    from personakit import cost

    report = cost.lab()                 # the packaged catalog, us-east-1, offline
    print(report)                       # a table, the claim's verdict, the notes
    report.claim.text                   # 'ml.g4dn.4xlarge: 0.36x the tokens/s at 0.39x ...'
    report["ml.p3.4xlarge"].real_sizes  # the p3 sizes that exist

Every figure is :class:`~personakit.cost.fit.Option`'s, so it equals what ``advise``
gives for the same model, instance type, catalog and region; nothing is priced or
fitted twice. The memory check holds each model's need per device against the
"keep utilisation below 50%" rule of thumb: 0.5 is the ``SAFETY_FACTOR`` SageMaker
recommends starting load tests with
(https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-loadtest.html),
which the lab applied to GPU memory as well. An instance type that does not exist
(the lab's notes name ``ml.p3.4xlarge``) is flagged with the family's real sizes and a
"did you mean" (:func:`~personakit.cost.catalog.unknown_instance`), not raised.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from personakit.cost.advice import Comparison, advise, compare
from personakit.cost.catalog import Catalog
from personakit.cost.fit import Option
from personakit.cost.models import ModelSize
from personakit.errors import ConfigurationError, UnsupportedInstanceError
from personakit.rules.display import Display, html_table, short_repr

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CLAIM",
    "SCENARIOS",
    "UTILISATION_LIMIT",
    "Claim",
    "ClaimCheck",
    "LabReport",
    "LabRow",
    "Scenario",
    "lab",
]

#: The lab's rule: keep utilisation below 50% (SageMaker's starting SAFETY_FACTOR, 0.5:
#: https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-loadtest.html).
UTILISATION_LIMIT = 0.5
_LOADTEST_URL = "https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-loadtest.html"
_PRICING_URL = "https://aws.amazon.com/sagemaker/pricing/"


def _names(values: Iterable[str]) -> tuple[str, ...]:
    return (values,) if isinstance(values, str) else tuple(values)


@attrs.frozen
class Scenario:
    """A model (JumpStart id or short name) and the instance types to try it on."""

    model: str
    instances: tuple[str, ...] = attrs.field(converter=_names)


@attrs.frozen(kw_only=True)
class Claim:
    """A claim about instance type ``a`` against ``b`` for ``model``: ``a`` gives about
    ``speed`` times the tokens/s of ``b`` at ``price`` times its price."""

    a: str
    b: str
    model: str
    speed: float
    price: float

    @property
    def text(self) -> str:
        return (
            f"{self.a} gives about {self.speed:.0%} of {self.b}'s speed at "
            f"{self.price:.0%} of the price"
        )


#: The hands-on lab's scenarios. ``ml.p3.4xlarge`` is in the lab's notes; SageMaker
#: has no such size (p3 comes as 2xlarge, 8xlarge, 16xlarge:
#: https://aws.amazon.com/sagemaker/pricing/), so the lab flags it.
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("huggingface-llm-falcon-7b-bf16", ("ml.g5.8xlarge",)),
    Scenario("huggingface-textgeneration-gpt2", ("ml.p3.2xlarge", "ml.p3.4xlarge")),
    Scenario("huggingface-llm-bloom-1b7", ("ml.p3.2xlarge", "ml.g4dn.4xlarge")),
)

#: The lab's question: "is ml.g4dn.4xlarge about 80% of ml.p3.2xlarge at half the price?"
CLAIM = Claim(
    a="ml.g4dn.4xlarge",
    b="ml.p3.2xlarge",
    model="huggingface-llm-bloom-1b7",
    speed=0.8,
    price=0.5,
)

#: How far a measured ratio may be from the claimed one and still be "about" it.
_ABOUT = 0.1


@attrs.frozen(kw_only=True)
class LabRow:
    """One model on one instance type: the :class:`Option` ``advise`` gave, or, for a
    type that does not exist, ``error`` (the message) and ``real_sizes`` (the family's)."""

    model: str
    label: str
    instance: str
    option: Option | None = None
    error: str | None = None
    real_sizes: tuple[str, ...] = ()

    @property
    def exists(self) -> bool:
        """False for an instance type the catalog does not know (flagged, not judged)."""
        return self.option is not None

    @property
    def verdict(self) -> str:
        """The fit (``fits``, ``tight``, ``does not fit``, ...), or ``no such type``."""
        return self.option.verdict if self.option is not None else "no such type"

    @property
    def usd_per_hour(self) -> float | None:
        return self.option.usd_per_hour if self.option is not None else None

    @property
    def usd_per_month(self) -> float | None:
        return self.option.usd_per_month if self.option is not None else None

    @property
    def tokens_per_second(self) -> float | None:
        return self.option.tokens_per_second if self.option is not None else None

    @property
    def usd_per_million_tokens(self) -> float | None:
        return self.option.usd_per_million_tokens if self.option is not None else None

    @property
    def need_gib(self) -> float | None:
        """Memory the model needs per device (GPU, else host), GiB."""
        return self.option.need_gib if self.option is not None else None

    @property
    def available_gib(self) -> float | None:
        """Memory of one device (GPU, else host), GiB."""
        return self.option.available_gib if self.option is not None else None

    @property
    def headroom_gib(self) -> float | None:
        """Memory left per device after the model, GiB (negative: it does not fit)."""
        return self.option.free_gib if self.option is not None else None

    @property
    def memory_utilisation(self) -> float | None:
        """``need_gib / available_gib``: the share of each device's memory the model takes."""
        need, have = self.need_gib, self.available_gib
        return None if need is None or not have else need / have

    @property
    def over_utilisation_limit(self) -> bool | None:
        """True when :attr:`memory_utilisation` is above :data:`UTILISATION_LIMIT` (50%)."""
        use = self.memory_utilisation
        return None if use is None else use > UTILISATION_LIMIT

    @property
    def price_as_of(self) -> str | None:
        price = self.option.price if self.option is not None else None
        return price.as_of.isoformat() if price is not None and price.as_of else None

    @property
    def price_source(self) -> str | None:
        price = self.option.price if self.option is not None else None
        return price.source if price is not None else None

    def memory_text(self) -> str:
        """``"15.4 of 24 GiB (64%, over 50%)"``, or ``"?"``."""
        use = self.memory_utilisation
        if use is None or self.need_gib is None:
            return "?"
        flag = f"over {UTILISATION_LIMIT:.0%}" if use > UTILISATION_LIMIT else "ok"
        return f"{self.need_gib:.1f} of {self.available_gib:g} GiB ({use:.0%}, {flag})"

    def as_row(self) -> dict[str, Any]:
        return {column: getattr(self, column) for column in LabReport.columns()}


@attrs.frozen(kw_only=True)
class ClaimCheck:
    """A :class:`Claim` measured on the catalog's figures; ``text`` is the verdict in words.

    Ratios are ``a / b``: ``speed_ratio`` the tokens/s of the two options ``compare``
    gave (generation is memory-bandwidth bound, so this is the bandwidth ratio unless
    an AWS benchmark is known), ``bandwidth_ratio`` and ``compute_ratio`` (dense FP16
    tensor TFLOPS, the bound on compute-bound prefill) the instances', ``price_ratio``
    the $/h, ``cost_per_token_ratio`` the $ per 1M tokens. ``None``: a figure is not in
    the catalog.
    """

    claim: Claim
    model: str
    speed_ratio: float | None
    bandwidth_ratio: float | None
    compute_ratio: float | None
    price_ratio: float | None
    cost_per_token_ratio: float | None
    speed_holds: bool | None
    price_holds: bool | None
    holds: bool | None
    text: str
    comparison: Comparison

    def __str__(self) -> str:
        return self.text


def _ratio(x: float | None, y: float | None) -> float | None:
    return None if x is None or y is None or y == 0 else x / y


def _x(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}x"


def _check(claim: Claim, comparison: Comparison) -> ClaimCheck:
    a, b = comparison.a, comparison.b
    speed = _ratio(a.tokens_per_second, b.tokens_per_second)
    compute = _ratio(a.instance.total_fp16_tflops, b.instance.total_fp16_tflops)
    price = comparison.price_ratio
    per_token = _ratio(a.usd_per_million_tokens, b.usd_per_million_tokens)
    speed_holds = None if speed is None else speed >= claim.speed - _ABOUT
    price_holds = None if price is None else price <= claim.price + _ABOUT
    parts = (speed_holds, price_holds)
    holds = False if False in parts else (None if None in parts else True)
    short_a = a.name.removeprefix("ml.")
    text = f"{short_a}: {_x(speed)} the tokens/s at {_x(price)} the price: "
    text += f"{_x(per_token)} the price per token"
    basis = []
    if comparison.bandwidth_ratio is not None:
        basis.append(
            f"memory bandwidth {a.instance.total_bandwidth_gbps:g} vs "
            f"{b.instance.total_bandwidth_gbps:g} GB/s ({_x(comparison.bandwidth_ratio)})"
        )
    if compute is not None:
        basis.append(
            f"FP16 tensor compute {a.instance.total_fp16_tflops:g} vs "
            f"{b.instance.total_fp16_tflops:g} TFLOPS ({_x(compute)}, the bound where "
            "compute, not memory, limits: prefill, large batches)"
        )
    if a.usd_per_hour is not None and b.usd_per_hour is not None:
        basis.append(f"${a.usd_per_hour:g}/h vs ${b.usd_per_hour:g}/h")
    if basis:
        text += " (" + "; ".join(basis) + ")"
    text += f". The claim ({_x(claim.speed)} the speed at {_x(claim.price)} the price) "
    if holds is None:
        text += "cannot be checked: a figure is missing from the catalog."
    elif holds:
        text += "holds on the catalog's figures."
    else:
        wrong = []
        if speed_holds is False:
            wrong.append(f"the speed is {_x(speed)}, not about {_x(claim.speed)}")
        if price_holds is False:
            wrong.append(f"the price is {_x(price)}, not about {_x(claim.price)} or less")
        text += "does not hold: " + " and ".join(wrong) + "."
    if per_token is not None:
        cheaper = b.name if per_token > 1 else a.name
        text += f" Per generated token {cheaper} is the cheaper of the two."
    return ClaimCheck(
        claim=claim,
        model=comparison.model.label if comparison.model is not None else claim.model,
        speed_ratio=speed,
        bandwidth_ratio=comparison.bandwidth_ratio,
        compute_ratio=compute,
        price_ratio=price,
        cost_per_token_ratio=per_token,
        speed_holds=speed_holds,
        price_holds=price_holds,
        holds=holds,
        text=text,
        comparison=comparison,
    )


def _money(value: float | None) -> str:
    """``$3.825``, ``$0.6747``, ``$2,792``: four significant digits, whole dollars from 1,000."""
    if value is None:
        return "?"
    return f"${value:,.0f}" if value >= 1000 else f"${value:.4g}"


@attrs.frozen(kw_only=True)
class LabReport(Display):
    """The lab's scenarios, row by row, and the claim checked; ``str()`` is the table.

    ``rows`` holds one :class:`LabRow` per model and instance type, in
    :data:`SCENARIOS` order; ``claim`` the :class:`ClaimCheck`; ``notes`` where the
    figures come from. Index it by instance type (the first row with it) or iterate it.
    """

    region: str
    prices_as_of: str
    stale: bool
    utilisation_limit: float
    rows: tuple[LabRow, ...]
    claim: ClaimCheck
    notes: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[LabRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, instance: str) -> LabRow:
        for row in self.rows:
            if row.instance == instance:
                return row
        raise KeyError(f"{instance!r} is not in the lab's scenarios")

    @property
    def flagged(self) -> tuple[LabRow, ...]:
        """Rows whose instance type does not exist."""
        return tuple(r for r in self.rows if not r.exists)

    @staticmethod
    def columns() -> list[str]:
        """The columns of :meth:`to_frame` (and the row keys of ``--json``'s ``rows``)."""
        return [
            "model",
            "label",
            "instance",
            "exists",
            "verdict",
            "usd_per_hour",
            "usd_per_month",
            "tokens_per_second",
            "usd_per_million_tokens",
            "need_gib",
            "available_gib",
            "headroom_gib",
            "memory_utilisation",
            "over_utilisation_limit",
            "price_as_of",
            "price_source",
            "error",
            "real_sizes",
        ]

    def to_frame(self) -> pd.DataFrame:
        """One row per model and instance type (:meth:`columns`)."""
        import pandas as pd

        return pd.DataFrame([row.as_row() for row in self.rows], columns=self.columns())

    # ------------------------------------------------------------------ text

    _HEADERS = ("model", "instance", "fit", "$/h", "$/month", "tok/s", "$/1M tok", "memory")

    def _cells(self) -> list[list[str]]:
        out = []
        for row in self.rows:
            tokens = row.tokens_per_second
            out.append(
                [
                    row.label,
                    row.instance,
                    row.verdict,
                    _money(row.usd_per_hour),
                    _money(row.usd_per_month),
                    "?" if tokens is None else f"{tokens:.0f}",
                    _money(row.usd_per_million_tokens),
                    row.memory_text() if row.exists else "",
                ]
            )
        return out

    def _title(self) -> str:
        return f"The lab's scenarios in {self.region}, {self.prices_as_of}"

    def __str__(self) -> str:
        cells = self._cells()
        headers = list(self._HEADERS)
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
        numeric = {3, 4, 5, 6}

        def line(values: Sequence[str]) -> str:
            return "  ".join(
                v.rjust(w) if i in numeric else v.ljust(w)
                for i, (v, w) in enumerate(zip(values, widths, strict=True))
            ).rstrip()

        lines = [self._title(), line(headers), "  ".join("-" * w for w in widths)]
        lines.extend(line(c) for c in cells)
        if self.flagged:
            lines.append("No such instance type:")
            lines.extend(f"  - {row.instance} ({row.label}): {row.error}" for row in self.flagged)
        lines.append(f"Claim: {self.claim.claim.text} ({self.claim.model}).")
        lines.append(f"  {self.claim.text}")
        if self.notes:
            lines.append("Notes:")
            lines.extend(f"  - {note}" for note in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return short_repr(
            self,
            region=self.region,
            rows=len(self.rows),
            flagged=[r.instance for r in self.flagged],
            claim_holds=self.claim.holds,
        )

    def _repr_html_(self) -> str:
        notes = [
            *(f"{r.instance} ({r.label}): {r.error}" for r in self.flagged),
            f"Claim: {self.claim.claim.text} ({self.claim.model}). {self.claim.text}",
            *self.notes,
        ]
        return html_table(self._HEADERS, self._cells(), title=self._title(), notes=notes)

    # ------------------------------------------------------------------ plot

    def plot(self, ax: Any = None, *, kind: str = "memory") -> Any:
        """Draw the report: ``kind="memory"`` each model's memory need per device against
        the device's memory, the 50% mark drawn on each; ``kind="price"`` the $ per 1M
        tokens of each row (its $/h above the bar); ``kind="claim"`` the two instance
        types of the claim side by side (:meth:`Comparison.plot`).

        Needs matplotlib (``pip install 'personakit[plots]'``).

        Args:
            ax: The matplotlib Axes to draw on; a new figure when ``None``.
            kind: ``"memory"``, ``"price"`` or ``"claim"``.

        Returns:
            The Axes.
        """
        from personakit.rules import plots  # matplotlib only when a plot is drawn

        if kind == "claim":
            return self.claim.comparison.plot(ax)
        names = [
            f"{r.label} on {r.instance}" + ("" if r.exists else " (no such type)")
            for r in self.rows
        ]
        what = f"LabReport.plot(kind={kind!r})"
        if kind == "price":
            return plots.grouped_bars(
                names,
                {"$ per 1M tokens": [r.usd_per_million_tokens for r in self.rows]},
                ax=ax,
                what=what,
                title=f"The lab's scenarios: $ per 1M generated tokens ({self.region})",
                ylabel="USD per 1M tokens (bandwidth bound)",
                texts={
                    "$ per 1M tokens": [
                        f"{_money(r.usd_per_hour)}/h" if r.usd_per_hour is not None else ""
                        for r in self.rows
                    ]
                },
            )
        if kind != "memory":
            raise ConfigurationError(f"kind={kind!r}: 'memory', 'price' or 'claim'")
        axes = plots.memory_bars(
            names,
            [r.need_gib for r in self.rows],
            [r.available_gib for r in self.rows],
            [r.verdict if r.exists else "unsupported" for r in self.rows],
            ax=ax,
            what=what,
            title=f"The lab's scenarios: memory per device against the "
            f"{self.utilisation_limit:.0%} rule",
        )
        ys = list(range(len(self.rows)))[::-1]
        marks = [
            (y, r.available_gib * self.utilisation_limit)
            for y, r in zip(ys, self.rows, strict=True)
            if r.available_gib is not None
        ]
        if marks:
            axes.scatter(
                [x for _, x in marks],
                [y for y, _ in marks],
                marker="|",
                s=400,
                color="black",
                zorder=4,
                label=f"{self.utilisation_limit:.0%} of the device",
            )
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8)
        return axes


def _check_region(catalog: Catalog, region: str) -> None:
    regions = catalog.regions
    if region in regions:
        return
    close = difflib.get_close_matches(region, regions, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    raise ConfigurationError(
        f"region {region!r}: the catalog has prices for {', '.join(regions) or 'no region'}"
        f"{hint} personakit.cost.refresh(session, region) reads a region's SageMaker "
        "Hosting prices from the AWS Price List API "
        "(https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html)"
    )


def _rows(scenario: Scenario, catalog: Catalog, region: str) -> list[LabRow]:
    label = ModelSize.of(scenario.model).label
    known: list[str] = []
    flagged: dict[str, UnsupportedInstanceError] = {}
    for name in scenario.instances:
        try:
            catalog[name]
        except UnsupportedInstanceError as exc:  # the family's sizes and a did-you-mean
            flagged[name] = exc
        else:
            known.append(name)
    advice = advise(scenario.model, catalog=catalog, region=region, instances=known)
    rows = []
    for name in scenario.instances:
        if name in flagged:
            error = flagged[name]
            rows.append(
                LabRow(
                    model=scenario.model,
                    label=label,
                    instance=name,
                    error=str(error),
                    real_sizes=error.supported,
                )
            )
        else:
            rows.append(
                LabRow(model=scenario.model, label=label, instance=name, option=advice[name])
            )
    return rows


def lab(
    *,
    catalog: Catalog | None = None,
    region: str = "us-east-1",
    scenarios: Sequence[Scenario] = SCENARIOS,
    claim: Claim = CLAIM,
) -> LabReport:
    """Run the lab's scenarios and check its claim.

    For each model and instance type of ``scenarios``: the fit, $/h and $/month,
    tokens/s and $ per 1M tokens (``advise(model, instances=[...])``'s
    :class:`~personakit.cost.fit.Option`), and the memory the model takes per device
    against the 50% rule. ``claim`` is checked with ``compare(claim.a, claim.b,
    model=claim.model)``: the tokens/s ratio (memory bandwidth), the FP16 compute
    ratio and the price ratio, and a verdict in words.

    Args:
        catalog: the catalog to use; the packaged snapshot when ``None`` (offline;
            :func:`personakit.cost.refresh` gives live prices).
        region: the region whose prices to use; it must be one the catalog prices.
        scenarios: the models and instance types (default :data:`SCENARIOS`).
        claim: the claim to check (default :data:`CLAIM`).

    Raises:
        ConfigurationError: the catalog has no prices for ``region`` (the message
            names the regions it has), or a model is unknown.
    """
    catalog = catalog if catalog is not None else Catalog.load()
    _check_region(catalog, region)
    rows = [row for scenario in scenarios for row in _rows(scenario, catalog, region)]
    comparison = compare(claim.a, claim.b, model=claim.model, catalog=catalog, region=region)
    notes = [
        f"{catalog.describe_age()}; each row's price_source and price_as_of say where its "
        f"price comes from (current prices: {_PRICING_URL})",
        f"memory: the model's need per device (weights, KV cache, overhead) against the "
        f"device's memory; over {UTILISATION_LIMIT:.0%} is flagged. 50% is the "
        f"SAFETY_FACTOR SageMaker recommends starting load tests with ({_LOADTEST_URL}); "
        "the lab keeps memory under it too, leaving room for batching",
        "tokens/s is a memory-bandwidth upper bound at batch 1 unless an AWS benchmark is "
        "shown; small models are dominated by per-request overheads, so measure them",
    ]
    caveats = dict.fromkeys(
        note for row in rows if row.option is not None for note in row.option.instance.notes
    )
    notes.extend(caveats)
    return LabReport(
        region=region,
        prices_as_of=catalog.describe_age(),
        stale=catalog.stale,
        utilisation_limit=UTILISATION_LIMIT,
        rows=tuple(rows),
        claim=_check(claim, comparison),
        notes=tuple(notes),
    )
