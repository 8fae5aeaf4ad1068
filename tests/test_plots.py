"""The pictures people compare with: what each ``.plot()`` draws, rendered on Agg.

Each test draws a real object (metrics parsed from a ``GetSolutionMetrics`` response,
a report from ``validate`` on generated data, advice from the packaged catalog, a
budget status from a CostGuard) and checks what a reader relies on: a bar or point
per thing given, the values plotted are the object's, legend entries and labels name
them, no two labels overlap, ``ax=`` is drawn on, and the file renders.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import tomllib

import personakit as pk
from personakit.cost import CostGuard, Inventory, RunningResource, advise, compare
from personakit.personalize.solution import METRIC_LABELS
from personakit.rules.report import DataReport, Histogram

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")

ARN = "arn:aws:personalize:us-east-1:000000000000:solution/{}/{}"


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _metrics(name: str, version: str = "a1b2c3d4", **values: float) -> pk.SolutionMetrics:
    """Parsed from a ``GetSolutionMetrics`` response, as ``Solution.metrics`` does."""
    keys = {f"ndcg_at_{k}": f"normalized_discounted_cumulative_gain_at_{k}" for k in (5, 10, 25)}
    response = {
        "solutionVersionArn": ARN.format(name, version),
        "metrics": {keys.get(k, k): v for k, v in values.items()},
    }
    return pk.SolutionMetrics.from_response(response)


POPULARITY = _metrics("popularity", coverage=0.02, ndcg_at_10=0.11, precision_at_10=0.03)
PERSONAL = _metrics("personal", coverage=0.41, ndcg_at_10=0.19, precision_at_10=0.05)
V2 = _metrics("personal-v2", coverage=0.38, ndcg_at_10=0.23, precision_at_10=0.06)


def _legend(ax: Any) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


def _overlapping(texts: list[Any]) -> list[tuple[str, str]]:
    """Pairs of visible texts whose extents on the renderer overlap."""
    shown = [t for t in texts if t.get_visible() and t.get_text()]
    boxes = [t.get_window_extent() for t in shown]
    return [
        (shown[i].get_text(), shown[j].get_text())
        for i in range(len(shown))
        for j in range(i + 1, len(shown))
        if boxes[i].overlaps(boxes[j])
    ]


def _render(ax: Any, path: Path) -> None:
    ax.figure.savefig(path, dpi=60)
    assert path.stat().st_size > 1000


# --------------------------------------------------------------------------- solutions


def test_solutions_side_by_side_a_bar_per_solution_and_metric(tmp_path: Path) -> None:
    comparison = pk.compare_solutions({"popularity": POPULARITY, "personal": PERSONAL, "v2": V2})
    ax = comparison.plot()
    assert comparison.names == ["coverage", "ndcg_at_10", "precision_at_10"]
    assert len(ax.containers) == 3  # one series a solution
    assert _legend(ax) == ["popularity", "personal", "v2"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["coverage", "NDCG@10", "precision@10"]
    for bars, metrics in zip(ax.containers, (POPULARITY, PERSONAL, V2), strict=True):
        assert [b.get_height() for b in bars] == pytest.approx(
            [metrics.coverage, metrics.ndcg_at_10, metrics.precision_at_10]
        )
    assert _overlapping(ax.get_xticklabels()) == []
    _render(ax, tmp_path / "solutions.png")


def test_solution_comparison_is_also_a_frame_and_names_the_best() -> None:
    sims = _metrics("sims", coverage=0.5, ndcg_at_25=0.3)
    comparison = pk.compare_solutions([POPULARITY, sims])
    assert comparison.labels == ("popularity", "sims")  # the solution names, from the ARNs
    frame = comparison.to_frame()
    assert list(frame.index) == ["popularity", "sims"]
    assert frame.index.name == "solution"
    assert list(frame.columns) == ["coverage", "ndcg_at_10", "ndcg_at_25", "precision_at_10"]
    assert frame.loc["sims", "coverage"] == 0.5
    assert math.isnan(frame.loc["sims", "ndcg_at_10"])  # the recipe does not produce it
    assert comparison.best("coverage") == "sims"
    assert comparison.best("ndcg_at_10") == "popularity"
    assert comparison["sims"] is sims
    ax = comparison.plot(metrics=["ndcg_at_25", "coverage"])
    heights = [[b.get_height() for b in bars] for bars in ax.containers]
    assert math.isnan(heights[0][0])
    assert heights[0][1] == pytest.approx(0.02)
    assert heights[1] == pytest.approx([0.3, 0.5])
    assert "coverage" in str(comparison)
    assert "<table>" in comparison._repr_html_()


def test_two_versions_of_one_solution_are_told_apart() -> None:
    old, new = _metrics("movies", "00000001", coverage=0.1), _metrics("movies", "00000002")
    assert pk.compare_solutions([old, new]).labels == ("movies/00000001", "movies/00000002")
    labelled = pk.compare_solutions([old, new], labels=["before", "after"])
    assert labelled.labels == ("before", "after")


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([],), {}, "no solutions"),
        (([POPULARITY, V2],), {"labels": ["one"]}, "1 labels for 2"),
        (([POPULARITY, V2],), {"labels": ["x", "x"]}, "repeated"),
        (({"a": POPULARITY},), {"labels": ["b"]}, "keys are the labels"),
        ((["not metrics"],), {}, "SolutionMetrics or a Solution"),
    ],
)
def test_compare_solutions_says_what_is_wrong(args: Any, kwargs: Any, match: str) -> None:
    with pytest.raises(pk.ConfigurationError, match=match):
        pk.compare_solutions(*args, **kwargs)


def test_one_solutions_metrics_on_the_axes_given() -> None:
    fig, ax = plt.subplots()
    assert PERSONAL.plot(ax=ax) is ax
    assert [b.get_height() for b in ax.containers[0]] == pytest.approx([0.41, 0.19, 0.05])
    assert _legend(ax) == ["personal/a1b2c3d4"]  # the solution and its version
    assert fig.axes == [ax]


def test_many_metric_names_on_a_narrow_figure_do_not_overlap() -> None:
    full = _metrics("everything", **{attr: 0.1 + i / 20 for i, attr in enumerate(METRIC_LABELS)})
    _fig, ax = plt.subplots(figsize=(3, 3))
    full.plot(ax=ax)
    labels = ax.get_xticklabels()
    assert len([t for t in labels if t.get_text()]) == len(METRIC_LABELS)
    assert _overlapping(labels) == []
    assert {t.get_rotation() for t in labels} == {90.0}  # turned upright to fit


# --------------------------------------------------------------------------- data report


@pytest.fixture(scope="module")
def report() -> pk.ValidationReport:
    data = pk.samples.synthetic(n_users=300, n_items=200, n_interactions=6_000, seed=2)
    return pk.validate(data.interactions)


def _area(ax: Any) -> float:
    return sum(p.get_height() * p.get_width() for p in ax.containers[0])


def test_validate_keeps_the_distributions_behind_its_diagnostics(
    report: pk.ValidationReport,
) -> None:
    hists = report.histograms
    assert set(hists) == {"item_popularity", "interactions_over_time", "interactions_per_user"}
    assert hists["item_popularity"].total == report.stats["n_interactions"]
    assert hists["item_popularity"].edges[0] == 1  # rank 1: the most popular item
    assert hists["item_popularity"].edges[-1] == report.stats["n_items"] + 1
    assert hists["interactions_over_time"].total == report.stats["n_interactions"]
    assert hists["interactions_per_user"].total == report.stats["n_users"]
    assert all(len(h.edges) <= 151 for h in hists.values())  # compact, whatever the size
    first = hists["interactions_over_time"].edges[0]
    assert first <= report.stats["first_timestamp"] < first + 7 * 86_400  # weekly bins
    assert report.merge(DataReport()).histograms == hists


def test_the_diagnostics_plot_side_by_side(report: pk.ValidationReport, tmp_path: Path) -> None:
    axes = report.plot()
    assert len(axes) == 3
    assert len({a.figure for a in axes}) == 1
    tail, over_time, per_user = axes
    assert _area(tail) == pytest.approx(report.stats["n_interactions"])  # per item x items
    assert tail.get_xscale() == "log"
    assert tail.get_yscale() == "log"
    assert any("top 1% of items" in t for t in _legend(tail))
    assert sum(b.get_height() for b in over_time.containers[0]) == report.stats["n_interactions"]
    assert "interactions per week" in _legend(over_time)
    assert _overlapping(over_time.get_xticklabels()) == []
    assert sum(b.get_height() for b in per_user.containers[0]) == report.stats["n_users"]
    assert f"median: {report.stats['interactions_per_user_median']:g}" in _legend(per_user)
    _render(tail, tmp_path / "diagnostics.png")


def test_one_diagnostic_on_the_axes_given(report: pk.ValidationReport) -> None:
    _, ax = plt.subplots()
    assert report.plot("per_user", ax=ax) is ax
    _fig, grid = plt.subplots(1, 3)
    assert report.plot(ax=grid) == list(grid)
    with pytest.raises(ValueError, match="long_tail, over_time, per_user"):
        report.plot("popularity")  # type: ignore[arg-type]


def test_a_report_without_interactions_has_nothing_to_draw() -> None:
    items = pd.DataFrame({"ITEM_ID": ["a", "b"], "PRICE": [1.0, 2.0]})
    report = pk.validate(items=items)
    assert report.histograms == {}
    with pytest.raises(KeyError, match="USER_ID, ITEM_ID and TIMESTAMP"):
        report.plot("long_tail")
    assert report.plot() == []


def test_a_histogram_has_one_edge_more_than_counts() -> None:
    assert Histogram([0, 1, 2], [3, 4]).total == 7
    with pytest.raises(ValueError, match="one edge more"):
        Histogram([0, 1], [3, 4])


# --------------------------------------------------------------------------- costs


def test_advice_plots_price_against_tokens_with_labels_apart(tmp_path: Path) -> None:
    advice = advise("huggingface-llm-falcon-7b-bf16")
    ax = advice.plot()
    options = (*advice.options, *advice.unverified)
    shown = [o for o in options if o.tokens_per_second and o.usd_per_hour is not None]
    names = {o.name for o in shown}
    verdicts = {o.verdict for o in shown}
    drawn = [
        tuple(xy) for c in ax.collections if c.get_label() in verdicts for xy in c.get_offsets()
    ]
    assert sorted(drawn) == sorted((o.tokens_per_second, o.usd_per_hour) for o in shown)
    labels = [t for t in ax.texts if t.get_text() in names]
    assert {t.get_text() for t in labels} <= set(names)
    assert len(labels) >= len(names) - 3  # a label left out only where none fits
    assert _overlapping(labels) == []
    legend = _legend(ax)
    assert {"fits", "tight"} <= set(legend)
    assert f"best: {advice.best.name}" in legend  # type: ignore[union-attr]
    _render(ax, tmp_path / "advice.png")


def test_the_old_plot_point_is_where_it_was() -> None:
    ax = advise("falcon-7b", instances=["ml.g5.2xlarge", "ml.g6.xlarge"]).plot()
    points = [tuple(xy) for c in ax.collections for xy in c.get_offsets()]
    assert (pytest.approx(600e9 / (14.0e9 + 16_777_216)), 1.515) in points
    assert "ml.g6.xlarge" in [t.get_text() for t in ax.texts]


def test_advice_memory_headroom_a_row_per_option() -> None:
    advice = advise("huggingface-llm-falcon-7b-bf16")
    _fig, ax = plt.subplots()
    assert advice.plot(kind="memory", ax=ax) is ax
    shown = [*advice.options, *advice.unverified]
    assert [t.get_text() for t in ax.get_yticklabels()] == [o.name for o in shown]
    have, need = ax.containers[0], ax.containers[1]
    assert [b.get_width() for b in have] == pytest.approx([o.available_gib for o in shown])
    assert [b.get_width() for b in need] == pytest.approx([o.need_gib for o in shown])
    assert {"available per device", "needed: fits", "needed: tight"} <= set(_legend(ax))
    with pytest.raises(pk.ConfigurationError, match="'price' or 'memory'"):
        advice.plot(kind="speed")


def test_comparison_bars_a_and_b_as_shares_of_the_larger(tmp_path: Path) -> None:
    comparison = compare("ml.g4dn.4xlarge", "ml.p3.2xlarge", model="bloom-1b7")
    _fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    assert comparison.plot(ax=ax) is ax
    a, b = ax.containers[0], ax.containers[1]
    assert _legend(ax)[-2:] == ["ml.g4dn.4xlarge", "ml.p3.2xlarge"]
    assert "bloom-1b7 needs" in _legend(ax)
    groups = [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]
    assert groups == ["$/hour", "memory bandwidth", "memory", "tokens/s"]
    assert a[0].get_height() / b[0].get_height() == pytest.approx(comparison.price_ratio)
    assert a[1].get_height() / b[1].get_height() == pytest.approx(comparison.bandwidth_ratio)
    assert [t.get_text() for t in ax.texts if t.get_text().startswith("$")] == [
        "$1.505",
        "$3.825",
    ]
    assert _overlapping(ax.get_xticklabels()) == []
    _render(ax, tmp_path / "compare.png")


# --------------------------------------------------------------------------- budget


NOW = dt.datetime(2026, 12, 6, 12, tzinfo=dt.timezone.utc)


def _status(tmp_path: Path, budget: float, usd_per_hour: float) -> Any:
    endpoint = RunningResource(
        service="sagemaker",
        kind="endpoint",
        name="falcon",
        arn="arn:aws:sagemaker:us-east-1:000000000000:endpoint/falcon",
        status="InService",
        usd_per_hour=usd_per_hour,
    )
    inventory = Inventory(region="us-east-1", resources=(endpoint,), taken_at=NOW)
    with pk.Session.local(tmp_path / "ws") as session:
        guard = CostGuard(
            session, budget, spent_usd=1_000, credit_expires="2027-03-31", live_prices=False
        )
        return guard.status(inventory, now=NOW - dt.timedelta(hours=1))


def _xy(line: Any) -> list[tuple[dt.datetime, float]]:
    dates = matplotlib.dates.num2date(matplotlib.dates.date2num(line.get_xdata()))
    return list(zip(dates, line.get_ydata(), strict=True))


def test_budget_burning_down_past_zero_before_the_credits_expire(tmp_path: Path) -> None:
    status = _status(tmp_path, 5_000, 2.0)
    assert status.as_of == NOW - dt.timedelta(hours=1)
    ax = status.plot()
    left, over = ax.lines[0], ax.lines[1]
    (start, at_start), (out, at_out) = _xy(left)
    assert start == status.as_of
    assert at_start == 4_000
    assert out == status.runs_out_at
    assert at_out == 0
    (_, _), (end, at_end) = _xy(over)
    assert end == dt.datetime(2027, 3, 31, tzinfo=dt.timezone.utc)
    assert at_end == pytest.approx(status.remaining_usd)  # the projection's shortfall
    legend = _legend(ax)
    assert f"budget runs out {status.runs_out_at:%Y-%m-%d}" in legend
    assert "credits expire 2027-03-31" in legend
    assert _overlapping(ax.get_xticklabels()) == []
    _render(ax, tmp_path / "budget.png")


def test_credits_left_unused_at_expiry(tmp_path: Path) -> None:
    status = _status(tmp_path, 50_000, 2.0)
    _fig, ax = plt.subplots()
    assert status.plot(ax=ax) is ax
    (_, _), (_end, at_end) = _xy(ax.lines[0])
    assert at_end == pytest.approx(status.remaining_usd)
    assert at_end > 0
    assert any(t.startswith("unused at expiry") for t in _legend(ax))


# --------------------------------------------------------------------------- install


@pytest.mark.parametrize(
    "draw",
    [
        lambda: PERSONAL.plot(),
        lambda: pk.compare_solutions([POPULARITY, V2]).plot(),
        lambda: DataReport(histograms={"item_popularity": Histogram([1, 2], [3])}).plot(),
        lambda: advise("gpt2").plot(),
        lambda: compare("ml.g5.xlarge", "ml.g6.xlarge").plot(),
    ],
    ids=["metrics", "solutions", "report", "advice", "compare"],
)
def test_without_matplotlib_each_plot_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, draw: Any
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'personakit\[plots\]'"):
        draw()


def test_the_dev_extra_brings_matplotlib() -> None:
    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    assert "plots" in extras["dev"][0]
    assert extras["plots"] == ["matplotlib>=3.8"]
