"""`cost.lab()` and `personakit cost lab`: the lab's scenarios in one call.

Every figure is checked against what `advise` and `compare` give for the same inputs
(the lab prices and fits nothing itself), the non-existent ml.p3.4xlarge is flagged
with the p3 sizes that exist, `--json` has the documented keys, the plots render on
Agg, and the HTML is escaped.
"""

from __future__ import annotations

import io
import json
import socket
from typing import Any

import pytest

from personakit.cli import main
from personakit.cost import SCENARIOS, Catalog, LabReport, Scenario, advise, compare, lab
from personakit.cost.catalog import unknown_instance
from personakit.cost.lab import CLAIM, UTILISATION_LIMIT
from personakit.errors import ConfigurationError

#: The keys docs/cost.md ("The lab in one call") promises.
REPORT_KEYS = {"region", "prices_as_of", "stale", "utilisation_limit", "rows", "claim", "notes"}
ROW_KEYS = {
    "model",
    "label",
    "instance",
    "option",
    "error",
    "real_sizes",
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
}
CLAIM_KEYS = {
    "claim",
    "model",
    "speed_ratio",
    "bandwidth_ratio",
    "compute_ratio",
    "price_ratio",
    "cost_per_token_ratio",
    "speed_holds",
    "price_holds",
    "holds",
    "text",
}


@pytest.fixture(scope="module")
def report() -> LabReport:
    return lab()


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the lab must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_the_report_has_every_scenario_in_order(report: LabReport) -> None:
    wanted = [(s.model, name) for s in SCENARIOS for name in s.instances]
    assert [(r.model, r.instance) for r in report] == wanted
    models = {r.label for r in report}
    assert models == {"falcon-7b", "gpt2", "bloom-1b7"}
    assert report["ml.g5.8xlarge"].label == "falcon-7b"
    assert {"ml.g4dn.4xlarge", "ml.p3.2xlarge", "ml.p3.4xlarge"} <= {r.instance for r in report}


def test_figures_equal_what_advise_gives(report: LabReport) -> None:
    catalog = Catalog.load()
    for row in report:
        if not row.exists:
            continue
        option = advise(row.model, catalog=catalog, instances=[row.instance])[row.instance]
        assert row.option == option
        assert row.verdict == option.verdict
        assert row.usd_per_hour == option.usd_per_hour
        assert row.usd_per_month == option.usd_per_month
        assert row.tokens_per_second == option.tokens_per_second
        assert row.usd_per_million_tokens == option.usd_per_million_tokens
        assert row.need_gib == option.need_gib
        assert row.available_gib == option.available_gib
        assert row.headroom_gib == option.free_gib
        assert row.price_source == option.price.source  # type: ignore[union-attr]
    falcon = report["ml.g5.8xlarge"]
    assert falcon.usd_per_hour == pytest.approx(3.06)
    assert falcon.usd_per_month == pytest.approx(3.06 * 730)


def test_the_claim_is_measured_with_compare(report: LabReport) -> None:
    check = report.claim
    comparison = compare(CLAIM.a, CLAIM.b, model=CLAIM.model)
    a, b = comparison.a, comparison.b
    assert check.price_ratio == comparison.price_ratio == pytest.approx(1.505 / 3.825)
    assert check.bandwidth_ratio == comparison.bandwidth_ratio == pytest.approx(320 / 900)
    assert check.speed_ratio == pytest.approx(a.tokens_per_second / b.tokens_per_second)  # type: ignore[operator]
    assert check.compute_ratio == pytest.approx(65 / 125)  # FP16 tensor TFLOPS, T4 / V100
    assert check.cost_per_token_ratio == pytest.approx(
        a.usd_per_million_tokens / b.usd_per_million_tokens  # type: ignore[operator]
    )
    # the lab's own rows for the pair are the same options
    bloom = [r for r in report if r.label == "bloom-1b7"]
    by_name = {r.instance: r for r in bloom}
    assert by_name[CLAIM.a].tokens_per_second == a.tokens_per_second
    assert by_name[CLAIM.b].usd_per_million_tokens == b.usd_per_million_tokens
    assert check.speed_holds is False
    assert check.price_holds is True
    assert check.holds is False
    assert check.text.startswith(
        "g4dn.4xlarge: 0.36x the tokens/s at 0.39x the price: 1.11x the price per token"
    )
    assert "does not hold" in check.text
    assert "ml.p3.2xlarge is the cheaper of the two" in check.text


def test_memory_headroom_against_the_50_percent_rule(report: LabReport) -> None:
    for row in report:
        if not row.exists:
            assert row.memory_utilisation is None
            assert row.over_utilisation_limit is None
            continue
        assert row.memory_utilisation == pytest.approx(row.need_gib / row.available_gib)  # type: ignore[operator]
        assert row.over_utilisation_limit == (row.memory_utilisation > UTILISATION_LIMIT)  # type: ignore[operator]
    falcon = report["ml.g5.8xlarge"]
    assert falcon.over_utilisation_limit is True  # 15.4 of 24 GiB
    assert "over 50%" in falcon.memory_text()
    assert report["ml.g4dn.4xlarge"].over_utilisation_limit is False
    assert any("endpoint-scaling-loadtest.html" in note for note in report.notes)


def test_the_size_that_does_not_exist_is_flagged_with_the_real_ones(report: LabReport) -> None:
    row = report["ml.p3.4xlarge"]
    catalog = Catalog.load()
    real = tuple(n for n in ("ml.p3.2xlarge", "ml.p3.8xlarge", "ml.p3.16xlarge") if n in catalog)
    assert not row.exists
    assert row.verdict == "no such type"
    assert row.option is None
    assert row.real_sizes == real
    assert row.error == str(unknown_instance("ml.p3.4xlarge", catalog.instances))
    assert "did you mean" in row.error
    assert report.flagged == (row,)
    text = str(report)
    assert "No such instance type:" in text
    assert "ml.p3.2xlarge, ml.p3.8xlarge, ml.p3.16xlarge" in text


def test_text_repr_frame_and_pretty(report: LabReport) -> None:
    text = str(report)
    assert text.startswith("The lab's scenarios in us-east-1, prices as of ")
    assert "$3.825" in text
    assert "$1.505" in text
    assert "Claim: ml.g4dn.4xlarge gives about 80% of ml.p3.2xlarge's speed" in text
    assert repr(report) == (
        "LabReport(region='us-east-1', rows=5, flagged=['ml.p3.4xlarge'], claim_holds=False)"
    )

    class Printer:
        out = ""

        def text(self, obj: str) -> None:
            self.out += obj

    printer = Printer()
    report._repr_pretty_(printer, cycle=False)
    assert printer.out == text
    frame = report.to_frame()
    assert list(frame.columns) == LabReport.columns()
    assert len(frame) == len(report)
    assert frame.loc[frame["instance"] == "ml.p3.4xlarge", "exists"].item() is False


def test_html_is_escaped() -> None:
    report = lab(scenarios=(Scenario("gpt2", ("ml.p3.<b>4xlarge</b>",)),))
    page = report._repr_html_()
    assert "<b>4xlarge" not in page
    assert "&lt;b&gt;4xlarge" in page
    assert page.startswith("<div>")
    assert "<table>" in page


def test_a_region_without_prices_names_those_with(report: LabReport) -> None:
    with pytest.raises(
        ConfigurationError, match=r"prices for us-east-1, us-east-2; did you mean 'us-east-"
    ):
        lab(region="us-east-l")
    assert lab(scenarios=(), region="us-east-1").rows == ()


def test_catalog_round_trips_the_compute_figure() -> None:
    catalog = Catalog.load()
    again = Catalog.from_dict(catalog.to_dict())
    assert again.accelerators["T4"].fp16_tflops == 65
    assert again["ml.p3.2xlarge"].total_fp16_tflops == 125
    assert again["ml.g5.8xlarge"].total_fp16_tflops is None  # no source: not guessed
    assert again["ml.m5.xlarge"].total_fp16_tflops is None


# --------------------------------------------------------------------------- CLI


def test_cli_json_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "lab", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == REPORT_KEYS
    assert len(document["rows"]) == sum(len(s.instances) for s in SCENARIOS)
    for row in document["rows"]:
        assert set(row) == ROW_KEYS
    flagged = [r for r in document["rows"] if not r["exists"]]
    assert [r["instance"] for r in flagged] == ["ml.p3.4xlarge"]
    assert flagged[0]["option"] is None
    assert "ml.p3.2xlarge" in flagged[0]["real_sizes"]
    falcon = document["rows"][0]
    assert falcon["over_utilisation_limit"] is True
    assert falcon["option"]["price"]["as_of"] == falcon["price_as_of"]
    assert set(document["claim"]) == CLAIM_KEYS
    assert document["claim"]["holds"] is False
    assert document["claim"]["claim"]["text"].startswith("ml.g4dn.4xlarge gives about 80%")


def test_cli_text_and_region(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "lab", "--region", "us-east-1"]) == 0
    out = capsys.readouterr().out
    assert "ml.p3.4xlarge    no such type" in out
    assert "g4dn.4xlarge: 0.36x the tokens/s at 0.39x the price" in out
    assert main(["cost", "lab", "--region", "eu-west-9"]) == 2
    err = capsys.readouterr().err
    assert "us-east-1" in err


# --------------------------------------------------------------------------- plots


@pytest.mark.parametrize("kind", ["memory", "price", "claim"])
def test_plots_render_on_agg(report: LabReport, kind: str) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    plt = pytest.importorskip("matplotlib.pyplot")
    try:
        fig, ax = plt.subplots()
        assert report.plot(ax, kind=kind) is ax
        if kind == "memory":
            labels = [t.get_text() for t in ax.get_yticklabels()]
            assert "gpt2 on ml.p3.4xlarge (no such type)" in labels
            legend = [t.get_text() for t in ax.get_legend().get_texts()]
            assert "50% of the device" in legend
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        assert buffer.getvalue().startswith(b"\x89PNG")
        assert report.plot(kind=kind) is not None  # a new figure
    finally:
        plt.close("all")
    with pytest.raises(ConfigurationError, match="'memory', 'price' or 'claim'"):
        report.plot(kind="pie")
