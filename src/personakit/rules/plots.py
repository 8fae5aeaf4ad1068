"""Pictures for what people compare, drawn with matplotlib, imported only when asked for.

Part of :mod:`personakit.rules` (pure: no AWS, nothing written), so every layer can
draw with it. The ``.plot()`` methods of :class:`~personakit.rules.report.DataReport`,
:class:`~personakit.SolutionMetrics`, :class:`~personakit.SolutionComparison`,
:class:`~personakit.cost.Advice`, :class:`~personakit.cost.Comparison` and
:class:`~personakit.cost.BudgetStatus` hand their numbers to the functions below.
Each function draws on ``ax`` (a new figure when ``None``) and returns the Axes.

matplotlib is an optional extra: ``pip install 'personakit[plots]'``. Without it, a
plot raises :class:`ImportError` saying so; nothing else in personakit needs it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

__all__ = [
    "INSTALL",
    "Point",
    "burndown",
    "grouped_bars",
    "interactions_over_time",
    "keep_labels_apart",
    "label_points",
    "long_tail",
    "memory_bars",
    "per_user",
    "price_scatter",
    "pyplot",
    "time_bin_name",
]

#: What to run when matplotlib is missing.
INSTALL = "pip install 'personakit[plots]'"

#: Colours by verdict (matplotlib's default palette names).
VERDICT_COLOURS: Mapping[str, str] = {
    "fits": "tab:green",
    "tight": "tab:orange",
    "unknown": "tab:gray",
    "does not fit": "tab:red",
    "unsupported": "tab:red",
}


def pyplot(what: str) -> Any:
    """``matplotlib.pyplot``, or an :class:`ImportError` naming the extra to install."""
    try:
        importlib.import_module("matplotlib")
        return importlib.import_module("matplotlib.pyplot")
    except ImportError as exc:
        raise ImportError(
            f"{what} needs matplotlib: {INSTALL} (or pip install 'matplotlib>=3.8')"
        ) from exc


def _axes(ax: Any, what: str, size: tuple[float, float]) -> Any:
    plt = pyplot(what)  # also when ax is given: a clear error, not an AttributeError
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _boxes(texts: Sequence[Any], pad: float = 2.0) -> list[Any]:
    """The texts' extents on the renderer, ``pad`` pixels wider on each side."""
    return [t.get_window_extent().padded(pad) for t in texts if t.get_visible() and t.get_text()]


def _any_overlap(boxes: Sequence[Any]) -> bool:
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def keep_labels_apart(ax: Any) -> None:
    """Make the x tick labels overlap nowhere: wrap them at their spaces, else turn
    them upright, else shrink them.

    Measured on the figure's renderer: labels that fit side by side stay as they are.
    """
    figure = ax.figure
    figure.draw_without_rendering()
    labels = ax.get_xticklabels()
    if not _any_overlap(_boxes(labels)):
        return
    texts = [label.get_text() for label in labels]
    if any(" " in text for text in texts):
        ax.set_xticks(ax.get_xticks(), [text.replace(" ", "\n") for text in texts])
        figure.draw_without_rendering()
        labels = ax.get_xticklabels()
        if not _any_overlap(_boxes(labels)):
            return
        ax.set_xticks(ax.get_xticks(), texts)
        labels = ax.get_xticklabels()
    for label in labels:
        label.set_rotation(90)
        label.set_horizontalalignment("center")
    figure.draw_without_rendering()
    size = float(labels[0].get_fontsize()) if labels else 10.0
    while _any_overlap(_boxes(labels)) and size > 4:
        size -= 1
        for label in labels:
            label.set_fontsize(size)
        figure.draw_without_rendering()


def grouped_bars(
    groups: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    ax: Any = None,
    what: str = "plot()",
    title: str = "",
    ylabel: str = "",
    texts: Mapping[str, Sequence[str]] | None = None,
    ylim: tuple[float, float] | None = None,
) -> Any:
    """One group of bars per entry of ``groups``, one bar per series in each (a legend
    entry per series, named by its key). ``None`` draws no bar. ``texts`` puts a label
    above each bar."""
    n, k = len(groups), max(1, len(series))
    ax = _axes(ax, what, (min(11.0, max(7.0, 0.3 * n * k + 3.5)), 4.0))
    width = 0.8 / k
    for j, (name, values) in enumerate(series.items()):
        xs = [i - 0.4 + width * (j + 0.5) for i in range(n)]
        heights = [math.nan if v is None else float(v) for v in values]
        bars = ax.bar(xs, heights, width * 0.95, label=name)
        if texts is not None and name in texts:
            ax.bar_label(bars, labels=list(texts[name]), fontsize=7, padding=2)
    ax.set_xticks(range(n), list(groups), fontsize=9)
    ax.set_xlim(-0.6, n - 0.4)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    keep_labels_apart(ax)
    return ax


class Point(NamedTuple):
    """One labelled point of :func:`price_scatter`."""

    x: float
    y: float
    label: str
    verdict: str


def label_points(ax: Any, points: Sequence[Point], *, fontsize: float = 8) -> list[str]:
    """Label each point beside it where its label overlaps no other label, no marker of
    another point and stays inside the axes; returns the labels left out (none fitted).

    Points earlier in ``points`` are placed first: pass them ranked.
    """
    fig = ax.figure
    fig.draw_without_rendering()
    frame = ax.get_window_extent()
    data = ax.transData
    spots = [data.transform((p.x, p.y)) for p in points]
    placed: list[Any] = []
    left_out: list[str] = []
    offsets = [(5, 4), (5, -11), (-5, 4), (-5, -11), (0, 9), (0, -16), (8, -3), (-8, -3)]
    offsets += [(dx * 2, dy * 2) for dx, dy in offsets]
    for i, point in enumerate(points):
        for dx, dy in offsets:
            note = ax.annotate(
                point.label,
                (point.x, point.y),
                xytext=(dx, dy),
                textcoords="offset points",
                ha="left" if dx > 0 else ("right" if dx < 0 else "center"),
                fontsize=fontsize,
            )
            box = note.get_window_extent()
            inside = (
                box.x0 >= frame.x0
                and box.x1 <= frame.x1
                and box.y0 >= frame.y0
                and box.y1 <= frame.y1
            )
            hits_marker = any(
                box.expanded(1.0, 1.0).contains(*spot) for j, spot in enumerate(spots) if j != i
            )
            if inside and not hits_marker and not any(box.overlaps(b) for b in placed):
                placed.append(box)
                break
            note.remove()
        else:
            left_out.append(point.label)
    return left_out


def price_scatter(
    points: Sequence[Point],
    *,
    ax: Any = None,
    what: str = "plot()",
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    highlights: Mapping[str, Point] | None = None,
) -> Any:
    """Points coloured by verdict (a legend entry per verdict), the ``highlights``
    ringed (a legend entry each), every label placed apart (:func:`label_points`)."""
    ax = _axes(ax, what, (8.0, 5.0))
    for verdict in dict.fromkeys(p.verdict for p in points):
        mine = [p for p in points if p.verdict == verdict]
        ax.scatter(
            [p.x for p in mine],
            [p.y for p in mine],
            color=VERDICT_COLOURS.get(verdict, "tab:gray"),
            label=verdict,
            zorder=3,
        )
    for (name, point), marker in zip((highlights or {}).items(), ("o", "s", "D"), strict=False):
        ax.scatter(
            [point.x],
            [point.y],
            s=180,
            facecolors="none",
            edgecolors="black",
            marker=marker,
            label=f"{name}: {point.label}",
            zorder=4,
        )
    for axis, values in (("x", [p.x for p in points]), ("y", [p.y for p in points])):
        positive = [v for v in values if v > 0]
        if positive and max(positive) / min(positive) > 20:
            (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    ax.margins(0.15)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8)
    left_out = label_points(ax, points)
    if left_out:
        ax.text(
            1.01,
            0.0,
            f"{len(left_out)} unlabelled:\n" + "\n".join(left_out[:8]),
            transform=ax.transAxes,
            fontsize=7,
            va="bottom",
        )
    return ax


def memory_bars(
    names: Sequence[str],
    need: Sequence[float | None],
    have: Sequence[float | None],
    verdicts: Sequence[str],
    *,
    ax: Any = None,
    what: str = "plot()",
    title: str = "",
) -> Any:
    """Memory needed against memory there, per device, one row per name (first on top):
    the model's bar inside the device's, coloured by verdict."""
    n = len(names)
    ax = _axes(ax, what, (8.0, max(3.0, 0.3 * n + 1.5)))
    ys = list(range(n))[::-1]
    ax.barh(
        ys,
        [math.nan if h is None else h for h in have],
        0.8,
        color="none",
        edgecolor="tab:gray",
        label="available per device",
    )
    colours = [VERDICT_COLOURS.get(v, "tab:gray") for v in verdicts]
    ax.barh(ys, [math.nan if x is None else x for x in need], 0.5, color=colours)
    for verdict in dict.fromkeys(verdicts):  # one legend entry per colour
        colour = VERDICT_COLOURS.get(verdict, "tab:gray")
        ax.barh([math.nan], [math.nan], color=colour, label=f"needed: {verdict}")
    ax.set_yticks(ys, list(names))
    ax.set_xlabel("GiB per device (GPU, else host)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8)
    return ax


def _histogram(
    ax: Any, edges: Sequence[float], heights: Sequence[float], *, colour: str, label: str
) -> Any:
    widths = [b - a for a, b in itertools.pairwise(edges)]
    return ax.bar(edges[:-1], heights, widths, align="edge", color=colour, label=label, zorder=2)


def long_tail(
    edges: Sequence[float],
    counts: Sequence[float],
    *,
    top_share: float | None = None,
    ax: Any = None,
    what: str = "plot()",
) -> Any:
    """Interactions per item against the item's popularity rank, both axes logarithmic.

    ``edges`` are rank boundaries (1 = the most popular item), ``counts`` the
    interactions of the items in each; the bars show the mean per item.
    """
    ax = _axes(ax, what, (7.0, 4.0))
    per_item = [c / (b - a) for a, b, c in zip(edges, edges[1:], counts, strict=False)]
    _histogram(ax, edges, per_item, colour="tab:blue", label="interactions per item")
    n_items = int(edges[-1]) - 1
    k = max(1, math.ceil(0.01 * n_items))
    head = f"top 1% of items ({k:,})"
    if top_share is not None:
        head += f": {top_share:.0%} of interactions"
    ax.axvspan(1, 1 + k, color="tab:orange", alpha=0.25, label=head, zorder=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"item popularity rank (1 = most interactions; {n_items:,} items)")
    ax.set_ylabel("interactions per item")
    ax.set_title("Item popularity: the long tail")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


#: Bin widths of :func:`interactions_over_time`, in seconds, and their names.
TIME_BINS: tuple[tuple[float, str], ...] = (
    (3600.0, "hour"),
    (86_400.0, "day"),
    (7 * 86_400.0, "week"),
    (30 * 86_400.0, "30 days"),
    (91 * 86_400.0, "quarter"),
    (365 * 86_400.0, "year"),
)


def time_bin_name(width_s: float) -> str:
    """The name of a bin width of :data:`TIME_BINS` (else its length in seconds)."""
    for seconds, name in TIME_BINS:
        if math.isclose(seconds, width_s):
            return name
    return f"{width_s:g} s"


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)


def _concise_dates(ax: Any) -> None:
    dates = importlib.import_module("matplotlib.dates")
    locator = dates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))


def interactions_over_time(
    edges: Sequence[float],
    counts: Sequence[float],
    *,
    ax: Any = None,
    what: str = "plot()",
) -> Any:
    """Interactions per time bin (``edges`` in epoch seconds, UTC)."""
    ax = _axes(ax, what, (7.0, 4.0))
    dates = importlib.import_module("matplotlib.dates")
    days = [dates.date2num(_utc(e)) for e in edges]
    unit = time_bin_name(edges[1] - edges[0]) if len(edges) > 1 else "bin"
    _histogram(ax, days, counts, colour="tab:blue", label=f"interactions per {unit}")
    _concise_dates(ax)
    ax.set_ylabel(f"interactions per {unit}")
    ax.set_title("Interactions over time (UTC)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    keep_labels_apart(ax)
    return ax


def per_user(
    edges: Sequence[float],
    counts: Sequence[float],
    *,
    median: float | None = None,
    ax: Any = None,
    what: str = "plot()",
) -> Any:
    """Users by their number of interactions (logarithmic bins), the median marked."""
    ax = _axes(ax, what, (7.0, 4.0))
    _histogram(ax, edges, counts, colour="tab:blue", label="users")
    if median is not None:
        ax.axvline(median, color="tab:orange", linestyle="--", label=f"median: {median:g}")
    if len(edges) > 2 and edges[-1] / max(edges[0], 1.0) > 20:
        ax.set_xscale("log")
    ax.set_xlabel("interactions per user")
    ax.set_ylabel("users")
    ax.set_title("Events per user")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return ax


def _usd(value: float) -> str:
    return f"${value:,.0f}" if abs(value) >= 100 else f"${value:,.2f}"


def burndown(
    *,
    start: dt.datetime,
    end: dt.datetime,
    left_usd: float,
    usd_per_hour: float,
    budget_usd: float,
    expires: dt.datetime | None,
    runs_out: dt.datetime | None,
    ax: Any = None,
    what: str = "plot()",
) -> Any:
    """Credits left from ``start`` to ``end`` at a constant burn rate: where they run
    out, where they expire, what is over or left at the end."""
    ax = _axes(ax, what, (8.0, 4.0))
    hours = max(0.0, (end - start).total_seconds() / 3600)
    at_end = left_usd - usd_per_hour * hours
    rate = f"{_usd(usd_per_hour)}/h" if usd_per_hour < 100 else f"{usd_per_hour:,.0f} USD/h"
    if runs_out is not None and start <= runs_out < end:
        ax.plot(
            [start, runs_out],
            [left_usd, 0.0],
            color="tab:blue",
            label=f"credits left, burning {rate}",
        )
        ax.plot(
            [runs_out, end],
            [0.0, at_end],
            color="tab:red",
            linestyle="--",
            label=f"over budget: {_usd(-at_end)} by the end",
        )
        ax.plot(
            [runs_out],
            [0.0],
            "o",
            color="tab:red",
            label=f"budget runs out {runs_out:%Y-%m-%d}",
        )
    else:
        ax.plot(
            [start, end],
            [left_usd, at_end],
            color="tab:blue",
            label=f"credits left, burning {rate}",
        )
        if expires is not None and at_end > 0:
            ax.plot(
                [end], [at_end], "o", color="tab:orange", label=f"unused at expiry: {_usd(at_end)}"
            )
    ax.axhline(0.0, color="black", linewidth=0.8)
    if expires is not None:
        ax.axvline(
            expires,
            color="tab:gray",
            linestyle=":",
            label=f"credits expire {expires:%Y-%m-%d}",
        )
    _concise_dates(ax)
    ax.set_ylabel("USD left of the budget")
    ax.set_title(f"Budget {_usd(budget_usd)}: {_usd(left_usd)} left, burning {rate}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8)
    ax.grid(alpha=0.3)
    keep_labels_apart(ax)
    return ax
