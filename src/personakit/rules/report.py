"""Problems and the report that collects them.

Part of :mod:`personakit.rules` (pure, no I/O): used by ``schema.check()`` and
``validate()`` alike, so a schema problem and a data problem look the same to the user.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import attrs

from personakit.errors import Problem, Severity, ValidationError
from personakit.rules.display import Display, short_repr

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DataReport", "Histogram", "Problem", "Severity"]


def _problem_tuple(values: Iterable[Problem]) -> tuple[Problem, ...]:
    return tuple(values)


def _float_tuple(values: Iterable[float]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


@attrs.frozen
class Histogram:
    """A distribution kept compact on a report: ``counts[i]`` falls in
    ``[edges[i], edges[i + 1])``, so ``len(edges) == len(counts) + 1``."""

    edges: tuple[float, ...] = attrs.field(converter=_float_tuple)
    counts: tuple[float, ...] = attrs.field(converter=_float_tuple)

    def __attrs_post_init__(self) -> None:
        if len(self.edges) != len(self.counts) + 1:
            raise ValueError(
                f"a histogram needs one edge more than counts, got {len(self.edges)} edges "
                f"and {len(self.counts)} counts"
            )

    @property
    def total(self) -> float:
        """The sum of the counts."""
        return sum(self.counts)


#: The diagnostics :meth:`DataReport.plot` draws, by the histogram each needs.
PLOTS: Mapping[str, str] = {
    "long_tail": "item_popularity",
    "over_time": "interactions_over_time",
    "per_user": "interactions_per_user",
}
PlotKind = Literal["long_tail", "over_time", "per_user"]
_KINDS: tuple[PlotKind, ...] = ("long_tail", "over_time", "per_user")


@attrs.frozen
class DataReport(Display):
    """Everything found wrong with a schema or a data set, plus diagnostics.

    ``ok`` is true when there are no errors (warnings are allowed).
    ``raise_for_problems()`` raises one :class:`~personakit.ValidationError`
    listing every error. ``stats`` holds the diagnostics a data scientist wants
    before paying for training (cold-start share, repeat rate, ...);
    ``histograms`` the distributions behind them, which :meth:`plot` draws:
    ``"item_popularity"`` (interactions of the items by popularity rank, 1 = the
    most popular; logarithmic rank bins), ``"interactions_over_time"`` (interactions
    per hour, day, week, 30 days, quarter or year, edges in epoch seconds; estimated
    from a sample of rows on large data) and ``"interactions_per_user"`` (users by
    their number of interactions; logarithmic bins).
    """

    problems: tuple[Problem, ...] = attrs.field(default=(), converter=_problem_tuple)
    stats: Mapping[str, float] = attrs.field(factory=dict)
    subject: str = "data"
    histograms: Mapping[str, Histogram] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems that would make Personalize reject the data."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """Problems Personalize accepts but you probably did not intend."""
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        """True when there are no errors."""
        return not self.errors

    def rules(self) -> set[str]:
        """The set of rule identifiers that fired (errors and warnings)."""
        return {p.rule for p in self.problems}

    def merge(self, other: DataReport) -> DataReport:
        """A report holding the problems, stats and histograms of both."""
        return DataReport(
            self.problems + other.problems,
            {**self.stats, **other.stats},
            self.subject,
            {**self.histograms, **other.histograms},
        )

    def raise_for_problems(self, *, warnings_as_errors: bool = False) -> None:
        """Raise one ValidationError listing every error (and warning, if asked)."""
        bad = self.problems if warnings_as_errors else self.errors
        if bad:
            lines = "\n".join(f"  - {p}" for p in bad)
            raise ValidationError(
                f"{len(bad)} problem(s) in {self.subject}:\n{lines}", problems=bad
            )

    def to_frame(self) -> pd.DataFrame:
        """One row a problem: severity, rule, column, count, message, rows, values, fix."""
        import pandas as pd

        columns = ["severity", "rule", "column", "count", "message", "rows", "values", "fix"]
        return pd.DataFrame(
            [
                [
                    p.severity,
                    p.rule,
                    p.column,
                    p.count,
                    p.message,
                    list(p.rows),
                    list(p.values),
                    p.fix,
                ]
                for p in self.problems
            ],
            columns=columns,
        )

    def plot(self, kind: PlotKind | None = None, *, ax: Any = None) -> Any:
        """Draw the diagnostics: ``"long_tail"`` (interactions per item by popularity
        rank), ``"over_time"`` (interactions per time bin) or ``"per_user"`` (users by
        their number of interactions).

        Needs matplotlib (``pip install 'personakit[plots]'``).

        Args:
            kind: One diagnostic, drawn on ``ax`` and its Axes returned; ``None`` draws
                every one the report has, side by side, and returns their Axes in a list.
            ax: The Axes to draw on (a sequence of them when ``kind`` is ``None``); a
                new figure when ``None``.

        Raises:
            KeyError: The report has no such diagnostic (no interactions were
                validated, or they lack the columns it needs).
        """
        from personakit.rules import plots  # matplotlib only when a plot is drawn

        if kind is None:
            kinds: list[PlotKind] = [k for k in _KINDS if PLOTS[k] in self.histograms]
            if not kinds:
                return []
            if ax is None:
                plt = plots.pyplot("DataReport.plot()")
                width = 5.0 * max(1, len(kinds))
                _, grid = plt.subplots(
                    1, max(1, len(kinds)), figsize=(width, 4.0), layout="constrained"
                )
                ax = list(grid) if len(kinds) > 1 else [grid]
            axes = list(ax)
            if len(axes) < len(kinds):
                raise ValueError(f"ax=: {len(kinds)} Axes needed, for {', '.join(kinds)}")
            return [self.plot(k, ax=a) for k, a in zip(kinds, axes, strict=False)]
        if kind not in PLOTS:
            raise ValueError(f"kind={kind!r}: one of {', '.join(PLOTS)}, or None for all")
        name = PLOTS[kind]
        if name not in self.histograms:
            have = ", ".join(k for k, h in PLOTS.items() if h in self.histograms) or "none"
            raise KeyError(
                f"this report has no {name!r} histogram to draw (diagnostics here: {have}); "
                "validate(interactions) computes them from USER_ID, ITEM_ID and TIMESTAMP"
            )
        hist = self.histograms[name]
        what = f"DataReport.plot({kind!r})"
        if kind == "long_tail":
            top = self.stats.get("popularity_top1pct_share")
            return plots.long_tail(hist.edges, hist.counts, top_share=top, ax=ax, what=what)
        if kind == "over_time":
            return plots.interactions_over_time(hist.edges, hist.counts, ax=ax, what=what)
        median = self.stats.get("interactions_per_user_median")
        return plots.per_user(hist.edges, hist.counts, median=median, ax=ax, what=what)

    def __str__(self) -> str:
        head = f"{self.subject}: {len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        body = [f"  - {p}" for p in self.problems]
        if self.stats:
            body.append("  stats:")
            body.extend(f"    {k}: {_fmt(v)}" for k, v in self.stats.items())
        return "\n".join([head, *body])

    def __repr__(self) -> str:
        return short_repr(
            self,
            repr(self.subject),
            errors=len(self.errors),
            warnings=len(self.warnings),
            stats=len(self.stats),
        )

    def _repr_html_(self) -> str:
        colour = {"error": "#b00020", "warning": "#9a6700"}
        rows = "".join(
            "<tr>"
            f"<td style='color:{colour[p.severity]}'>{p.severity}</td>"
            f"<td><code>{html.escape(p.rule)}</code></td>"
            f"<td>{html.escape(p.column or '')}</td>"
            f"<td>{p.count}</td>"
            f"<td>{html.escape(p.message)}</td>"
            f"<td>{html.escape(', '.join(map(str, p.rows)))}</td>"
            f"<td>{html.escape(p.fix or '')}</td>"
            "</tr>"
            for p in self.problems
        )
        stats = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(_fmt(v))}</td></tr>"
            for k, v in self.stats.items()
        )
        verdict = "OK" if self.ok else "NOT OK"
        out = (
            f"<div><b>{html.escape(self.subject)}: {verdict}</b> "
            f"({len(self.errors)} errors, {len(self.warnings)} warnings)"
        )
        if rows:
            out += (
                "<table><tr><th>severity</th><th>rule</th><th>column</th><th>count</th>"
                f"<th>message</th><th>example rows</th><th>fix</th></tr>{rows}</table>"
            )
        if stats:
            out += f"<table><tr><th>stat</th><th>value</th></tr>{stats}</table>"
        return out + "</div>"


def _fmt(value: float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.4g}"
    return f"{int(value):,}" if isinstance(value, (int, float)) else str(value)
