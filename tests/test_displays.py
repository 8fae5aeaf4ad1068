"""Every public result object displays well: a short repr, IPython's pretty text, escaped HTML."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import attrs
import pandas as pd
import pytest

import personakit as pk
from personakit.aws.access import AccessReport, Finding
from personakit.cost import (
    Catalog,
    CostGuard,
    Inventory,
    RunningResource,
    SweepItem,
    SweepReport,
    advise,
    compare,
    estimate,
    lab,
)
from personakit.errors import Problem
from personakit.llm.formats import Generation
from personakit.personalize.events import PutResult
from personakit.personalize.serving import Recommendations
from personakit.personalize.solution import SolutionMetrics
from personakit.personalize.teardown import TeardownReport
from personakit.rules.display import Display, html_fields, html_table, short_repr

EVIL = "<script>alert('x')</script>"
TODAY = dt.date(2026, 11, 29)
NOW = dt.datetime(2026, 11, 29, 12, tzinfo=dt.timezone.utc)
ARN = "arn:aws:personalize:us-east-1:123456789012"


class _Html(HTMLParser):
    """Collects the tags and the text of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(markup: str) -> _Html:
    parser = _Html()
    parser.feed(markup)
    parser.close()
    return parser


class FakePrinter:
    """What ``_repr_pretty_`` needs of IPython's RepresentationPrinter (IPython is optional)."""

    def __init__(self) -> None:
        self.out: list[str] = []

    def text(self, obj: str) -> None:
        self.out.append(obj)


def pretty(obj: Any) -> str:
    try:
        from IPython.lib.pretty import pretty as ipython_pretty  # optional, heavy
    except ImportError:
        printer = FakePrinter()
        obj._repr_pretty_(printer, False)
        return "".join(printer.out)
    return str(ipython_pretty(obj))


# ----------------------------------------------------------------- instances


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture
def guard(tmp_path: Path, catalog: Catalog) -> CostGuard:
    session = pk.Session.local(tmp_path / "ws")
    return CostGuard(
        session,
        budget_usd=1200,
        catalog=catalog,
        today=lambda: TODAY,
        credit_expires="2027-03-31",
        count_running=False,
    )


def _inventory(name: str = EVIL) -> Inventory:
    return Inventory(
        region="us-east-1",
        taken_at=NOW,
        resources=(
            RunningResource(
                service="sagemaker",
                kind="endpoint",
                name=name,
                arn="arn:aws:sagemaker:us-east-1:123456789012:endpoint/llm",
                status="InService",
                created=NOW - dt.timedelta(hours=3),
                usd_per_hour=1.515,
                basis="1 x ml.g5.2xlarge",
                instance_type="ml.g5.2xlarge",
                instance_count=1,
            ),
        ),
        notes=("could not list notebook instances",),
    )


def _sweep() -> SweepReport:
    item = SweepItem(
        service="personalize",
        kind="campaign",
        name=EVIL,
        arn=f"{ARN}:campaign/leftover",
        reason="run tag 20261129-abc",
        run_id="20261129-abc",
        created=NOW - dt.timedelta(hours=5),
    )
    return SweepReport(region="us-east-1", dry_run=True, items=(item,), taken_at=NOW)


def _validation_report() -> pk.DataReport:
    frame = pd.DataFrame(
        {"USER_ID": ["u1", "u2", "u3"], "ITEM_ID": ["i1", "i2", "i1"], "TIMESTAMP": [1, 2, 3]}
    )
    report = pk.validate(frame)
    problem = Problem("warning", "display-test", EVIL, column="ITEM_ID", count=1, rows=(0,))
    return attrs.evolve(report, problems=(*report.problems, problem))


def _csv(tmp_path: Path) -> Any:
    frame = pd.DataFrame({"USER_ID": ["u1"], "ITEM_ID": ["i1"], "TIMESTAMP": [1_700_000_000]})
    result = pk.write_csv(frame, tmp_path / "interactions.csv")
    return attrs.evolve(result, path=Path(EVIL))


#: name -> (build(guard, tmp_path), strings its HTML must show)
CASES: dict[str, tuple[Callable[[CostGuard, Path], Any], tuple[str, ...]]] = {
    "Comparison": (
        lambda g, p: attrs.evolve(
            compare("ml.g4dn.4xlarge", "ml.p3.2xlarge", model="bloom-1b1", catalog=g.catalog),
            text=EVIL,
        ),
        ("ml.g4dn.4xlarge", "ml.p3.2xlarge", "$/hour", "tokens/s"),
    ),
    "DeployCheck": (
        lambda g, p: attrs.evolve(g.check_deploy("ml.g5.2xlarge"), note=EVIL),
        ("1 x ml.g5.2xlarge", "us-east-1", "budget left"),
    ),
    "BudgetCheck": (
        lambda g, p: attrs.evolve(g.check_campaign(1), what=EVIL),
        ("budget left", "per month"),
    ),
    "BudgetStatus": (
        lambda g, p: g.status(_inventory(), now=NOW),
        ("$1,200.00", "2027-03-31", "$1.51/h", "ml.g5.2xlarge"),
    ),
    "TeardownReport": (
        lambda g, p: TeardownReport(
            deleted=(f"{ARN}:campaign/c1", f"{ARN}:solution/s1"),
            kept=(f"{ARN}:dataset-group/{EVIL}",),
        ),
        ("2 deleted", "1 kept", f"{ARN}:campaign/c1", "deleted", "kept"),
    ),
    "Advice": (
        lambda g, p: attrs.evolve(
            advise("huggingface-llm-falcon-7b-bf16", catalog=g.catalog), notes=(EVIL,)
        ),
        ("ml.g5.2xlarge",),
    ),
    "LabReport": (
        lambda g, p: attrs.evolve(lab(catalog=g.catalog), notes=(EVIL,)),
        ("ml.g5.8xlarge", "ml.p3.4xlarge", "no such type", "over 50%", "1.11x"),
    ),
    "Estimate": (
        lambda g, p: attrs.evolve(estimate(data_gb=10, training_hours=20), warnings=(EVIL,)),
        ("us-east-1",),
    ),
    "Inventory": (lambda g, p: _inventory(), ("ml.g5.2xlarge", "us-east-1")),
    "SweepReport": (lambda g, p: _sweep(), ("dry run", "campaign")),
    "ValidationReport": (lambda g, p: _validation_report(), ("display-test", "ITEM_ID")),
    "SolutionMetrics": (
        lambda g, p: SolutionMetrics.from_response(
            {
                "solutionVersionArn": f"{ARN}:solution/{EVIL}/v1",
                "metrics": {"coverage": 0.25, "precision_at_10": 0.125},
            }
        ),
        ("coverage", "0.2500", "0.1250"),
    ),
    "Recommendations": (
        lambda g, p: Recommendations.from_response(
            {
                "itemList": [{"itemId": "i1", "score": 0.5}, {"itemId": EVIL, "score": 0.25}],
                "recommendationId": "rid-1",
            }
        ),
        ("i1", "0.5000", "rid-1"),
    ),
    "AccessReport": (
        lambda g, p: AccessReport(
            (
                Finding("bucket-region", "ok", "bucket in us-east-1"),
                Finding("role-trust", "error", EVIL, fix="trust personalize.amazonaws.com"),
            )
        ),
        ("bucket-region", "role-trust", "personalize.amazonaws.com"),
    ),
    "CsvResult": (lambda g, p: _csv(p), ("USER_ID", "ITEM_ID")),
    "Generation": (
        lambda g, p: Generation(EVIL, prompt_tokens=5, generated_tokens=7, finish_reason="length"),
        ("length", "7"),
    ),
    "PutResult": (
        lambda g, p: PutResult(sent=12, calls=2, session_ids={EVIL: "s-1"}),
        ("sent 12 record(s) in 2 call(s)", "s-1"),
    ),
}


@pytest.fixture(params=sorted(CASES))
def case(
    request: pytest.FixtureRequest, guard: CostGuard, tmp_path: Path
) -> tuple[Any, tuple[str, ...]]:
    build, keys = CASES[request.param]
    obj = build(guard, tmp_path)
    assert type(obj).__name__ == request.param or request.param == "ValidationReport"
    return obj, keys


# ----------------------------------------------------------------- the tests


def test_html_is_a_table_with_the_key_values_and_escapes_markup(
    case: tuple[Any, tuple[str, ...]],
) -> None:
    obj, keys = case
    markup = obj._repr_html_()
    parsed = parse(markup)
    text = "".join(parsed.text)
    assert "table" in parsed.tags or "pre" in parsed.tags
    assert "script" not in parsed.tags  # the value came through as text, not markup
    assert EVIL in text
    for key in keys:
        assert key in text, (key, text)


def test_ipython_shows_the_same_text_as_str(case: tuple[Any, tuple[str, ...]]) -> None:
    obj, _ = case
    assert isinstance(obj, Display)
    assert pretty(obj) == str(obj)
    printer = FakePrinter()
    obj._repr_pretty_(printer, True)  # a cycle: the short repr, never recursion
    assert printer.out == [repr(obj)]


def test_repr_is_short_and_names_the_class(case: tuple[Any, tuple[str, ...]]) -> None:
    obj, _ = case
    shown = repr(obj)
    assert shown.startswith(type(obj).__name__ + "(")
    assert "\n" not in shown
    assert len(shown) <= 240, shown


def test_the_four_named_objects_no_longer_dump(guard: CostGuard) -> None:
    status = guard.status(_inventory("llm"), now=NOW)
    assert "RunningResource(" not in repr(status)
    assert "budget $1,200.00" in str(status)
    check = guard.check_deploy("ml.g5.2xlarge")
    assert "Price(" not in repr(check)
    comparison = guard.compare("ml.g4dn.4xlarge", "ml.p3.2xlarge")
    assert "Option(" not in repr(comparison)
    assert repr(comparison).startswith("Comparison('ml.g4dn.4xlarge', 'ml.p3.2xlarge'")
    report = TeardownReport(deleted=("a",), left=("b",))
    assert str(report).splitlines() == [
        "teardown: 1 deleted, 0 kept, 1 left",
        "  deleted  a",
        "  left     b",
    ]
    assert repr(report) == "TeardownReport(deleted=1, kept=0, left=1)"


def test_the_helpers_escape_every_cell() -> None:
    table = parse(html_table(("a", EVIL), [(EVIL, None)], title=EVIL, notes=[EVIL]))
    assert "script" not in table.tags
    assert "".join(table.text).count(EVIL) == 4
    fields = parse(html_fields([("k", EVIL), ("skipped", None)], title="t"))
    assert "skipped" not in "".join(fields.text)
    assert EVIL in "".join(fields.text)
    assert short_repr(object(), "'x'", n=1) == "object('x', n=1)"
