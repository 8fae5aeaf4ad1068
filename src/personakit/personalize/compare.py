"""The offline metrics of several solution versions side by side: a table and a picture.

::

    comparison = pk.compare_solutions({"popularity": baseline, "personalization": solution})
    comparison.to_frame()            # one row a solution, one column a metric
    comparison.best("ndcg_at_10")    # 'personalization'
    comparison.plot()                # grouped bars, a colour (and legend entry) a solution

Personalize measures every version on the same kind of hold-out, so their metrics
compare when the versions were trained on the same data
(https://docs.aws.amazon.com/personalize/latest/dg/working-with-training-metrics.html).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from personakit.errors import ConfigurationError
from personakit.personalize.solution import (
    METRIC_LABELS,
    Solution,
    SolutionMetrics,
    version_label,
)
from personakit.rules.display import Display, html_table, short_repr

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SolutionComparison", "compare_solutions"]

#: What :func:`compare_solutions` takes for one solution.
Measured = SolutionMetrics | Solution


@attrs.frozen
class SolutionComparison(Display):
    """Offline metrics of several solution versions, one label each.

    Attributes:
        labels: One name a version, in the order given (the legend of :meth:`plot`,
            the index of :meth:`to_frame`).
        metrics: The versions' :class:`~personakit.SolutionMetrics`, in that order.
    """

    labels: tuple[str, ...]
    metrics: tuple[SolutionMetrics, ...]

    @property
    def names(self) -> list[str]:
        """The metrics at least one version has, by attribute name (``ndcg_at_10``, ...)."""
        seen = {name for m in self.metrics for name in m.to_dict()}
        return [name for name in METRIC_LABELS if name in seen]

    def __getitem__(self, label: str) -> SolutionMetrics:
        try:
            return self.metrics[self.labels.index(label)]
        except ValueError:
            raise KeyError(f"{label!r} is not compared here; labels: {list(self.labels)}") from None

    def __len__(self) -> int:
        return len(self.labels)

    def best(self, metric: str = "ndcg_at_10") -> str:
        """The label of the version with the highest ``metric`` (the first on a tie)."""
        if metric not in METRIC_LABELS:
            raise ConfigurationError(f"metric={metric!r}: one of {', '.join(METRIC_LABELS)}")
        scored = [
            (m.to_dict().get(metric), label)
            for label, m in zip(self.labels, self.metrics, strict=True)
        ]
        known = [(v, label) for v, label in scored if v is not None]
        if not known:
            raise ConfigurationError(f"no version compared here has {metric}")
        top = max(v for v, _ in known)
        return next(label for v, label in known if v == top)

    def __iter__(self) -> Any:
        return iter(self.labels)

    def to_frame(self) -> pd.DataFrame:
        """One row a version (index ``solution``: its label), one column a metric
        (attribute names, as :meth:`SolutionMetrics.to_dict`); a metric a recipe does
        not produce is NaN."""
        import pandas as pd

        frame = pd.DataFrame(
            [[m.to_dict().get(name) for name in self.names] for m in self.metrics],
            columns=self.names,
            index=pd.Index(self.labels, name="solution"),
            dtype="float64",
        )
        return frame

    def plot(self, ax: Any = None, *, metrics: Sequence[str] | None = None) -> Any:
        """Grouped bars: a group a metric, a bar (and legend entry) a version.

        Needs matplotlib (``pip install 'personakit[plots]'``).

        Args:
            ax: The matplotlib Axes to draw on; a new figure when ``None``.
            metrics: These metrics only (attribute names), in this order; every metric
                a version has by default.

        Returns:
            The Axes.
        """
        from personakit.rules import plots  # matplotlib only when a plot is drawn

        names = list(metrics) if metrics is not None else self.names
        unknown = [n for n in names if n not in METRIC_LABELS]
        if unknown:
            raise ConfigurationError(f"metrics={unknown!r}: each one of {', '.join(METRIC_LABELS)}")
        series = {
            label: [m.to_dict().get(name) for name in names]
            for label, m in zip(self.labels, self.metrics, strict=True)
        }
        return plots.grouped_bars(
            [METRIC_LABELS[n] for n in names],
            series,
            ax=ax,
            what="SolutionComparison.plot()",
            title="Offline metrics (Personalize's hold-out)",
            ylabel="score",
        )

    def _rows(self) -> list[list[str]]:
        return [
            [label, *(_cell(m.to_dict().get(name)) for name in self.names)]
            for label, m in zip(self.labels, self.metrics, strict=True)
        ]

    def __str__(self) -> str:
        columns = ["solution", *(METRIC_LABELS[n] for n in self.names)]
        rows = self._rows()
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
        lines = [
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
            for row in [columns, *rows]
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return short_repr(self, *(repr(label) for label in self.labels))

    def _repr_html_(self) -> str:
        return html_table(
            ["solution", *(METRIC_LABELS[n] for n in self.names)],
            self._rows(),
            title="Offline metrics",
        )


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _metrics_of(item: object, where: str) -> SolutionMetrics:
    if isinstance(item, SolutionMetrics):
        return item
    if isinstance(item, Solution):
        return item.metrics
    raise ConfigurationError(
        f"{where}: a SolutionMetrics or a Solution (solution.metrics is read), "
        f"got {type(item).__name__}"
    )


def compare_solutions(
    solutions: Mapping[str, Measured] | Sequence[Measured],
    *,
    labels: Sequence[str] | None = None,
) -> SolutionComparison:
    """Put the offline metrics of several solution versions side by side.

    Args:
        solutions: :class:`~personakit.SolutionMetrics` or :class:`~personakit.Solution`
            objects (a Solution's latest version is read, ``GetSolutionMetrics``); a
            mapping names each one by its key.
        labels: One name each, for a sequence; by default the solution's name,
            with the version id where two versions of one solution are compared.

    Returns:
        A :class:`SolutionComparison`: ``to_frame()``, ``best()``, ``plot()``.

    Raises:
        ConfigurationError: Nothing to compare, labels that do not match the
            solutions one to one, or something that has no metrics.
    """
    if isinstance(solutions, Mapping):
        if labels is not None:
            raise ConfigurationError("labels=: the mapping's keys are the labels already")
        labels, items = [str(k) for k in solutions], list(solutions.values())
    elif isinstance(solutions, (SolutionMetrics, Solution)):
        items = [solutions]
    else:
        items = list(solutions)
    if not items:
        raise ConfigurationError("compare_solutions: no solutions given")
    metrics = [_metrics_of(item, f"solutions[{i}]") for i, item in enumerate(items)]
    if labels is None:
        labels = _default_labels(metrics)
    labels = [str(label) for label in labels]
    if len(labels) != len(metrics):
        raise ConfigurationError(f"labels=: {len(labels)} labels for {len(metrics)} solutions")
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise ConfigurationError(f"labels=: each label once; repeated: {twice}")
    return SolutionComparison(tuple(labels), tuple(metrics))


def _default_labels(metrics: Sequence[SolutionMetrics]) -> list[str]:
    full = [version_label(m.solution_version_arn) for m in metrics]
    short = [label.split("/")[0] for label in full]
    if len(set(short)) == len(short):
        return short
    if len(set(full)) == len(full):
        return full
    return [f"{i + 1}: {label}" for i, label in enumerate(full)]
