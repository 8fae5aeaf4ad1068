"""`--json` on every command (one document on stdout, the documented keys), `cost advise
--instance`, `cost compare A B [--model M]`, and instance types that do not exist."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from personakit.aws.session import Session
from personakit.cli import build_parser, main
from personakit.cost.cli import register

MODEL = "huggingface-llm-bloom-1b7"  # the lab's question: g4dn.4xlarge against p3.2xlarge

#: The keys docs/cost.md, docs/sweep.md and docs/getting-started.md promise.
OPTION_KEYS = {
    "name",
    "instance",
    "verdict",
    "reasons",
    "dtype",
    "fits",
    "usd_per_hour",
    "usd_per_month",
    "tokens_per_second",
    "usd_per_million_tokens",
    "price",
}
ADVICE_KEYS = {
    "model",
    "region",
    "context_tokens",
    "batch",
    "options",
    "unverified",
    "rejected",
    "notes",
    "stale",
    "prices_as_of",
    "names",
}
RATIO_KEYS = {"usd_per_hour", "usd_per_month", "memory_bandwidth", "memory"}
INVENTORY_KEYS = {"region", "resources", "taken_at", "notes", "usd_per_hour", "complete", "gaps"}
SWEEP_KEYS = {"region", "dry_run", "items", "spared", "notes", "taken_at", "workspace", "ok"}


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _json(capsys: pytest.CaptureFixture[str], argv: list[str], status: int = 0) -> Any:
    assert main(argv) == status
    captured = capsys.readouterr()
    return json.loads(captured.out)  # the whole of stdout is one document


def test_every_command_has_json() -> None:
    parser = build_parser()
    commands: list[list[str]] = [["quickstart"], ["schema", "f"], ["validate"], ["sweep"]]
    commands += [["cost", c] for c in ("estimate", "running")]
    commands += [["cost", "advise", "m"], ["cost", "compare", "a", "b"]]
    for argv in commands:
        assert parser.parse_args([*argv, "--json"]).json is True, argv


def test_advise_json_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(capsys, ["cost", "advise", MODEL, "--json"])
    assert set(doc) >= ADVICE_KEYS
    assert doc["options"]
    assert set(doc["options"][0]) >= OPTION_KEYS
    assert doc["names"] == [o["name"] for o in doc["options"]]
    assert doc["model"]["name"] == "bloom-1b7"


def test_advise_instance_narrows_to_the_types_given(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["cost", "advise", MODEL, "--instance", "ml.p3.2xlarge"]
    doc = _json(capsys, [*argv, "--instance", "ml.g4dn.4xlarge", "--json"])
    judged = {o["name"] for key in ("options", "unverified", "rejected") for o in doc[key]}
    assert judged == {"ml.p3.2xlarge", "ml.g4dn.4xlarge"}
    # a type the model does not fit on is still judged (and says why)
    doc = _json(capsys, ["cost", "advise", "llama-3-70b", "--instance", "ml.g4dn.xlarge", "--json"])
    assert doc["options"] == []
    assert [o["name"] for o in doc["rejected"]] == ["ml.g4dn.xlarge"]
    # text
    assert main([*argv]) == 0
    out = capsys.readouterr().out
    assert "ml.p3.2xlarge" in out
    assert "ml.g5.2xlarge" not in out


def test_compare_prints_both_types_and_the_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["cost", "compare", "ml.p3.2xlarge", "ml.g4dn.4xlarge", "--model", MODEL]
    assert main(argv) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    assert header.index("ml.p3.2xlarge") < header.index("ml.g4dn.4xlarge") < header.index("B/A")
    for row in ("$/hour", "$/month", "fit", "tokens/s", "$/1M tokens"):
        assert any(line.startswith(row) for line in out.splitlines()), row
    assert "0.39x" in out  # 1.505 / 3.825: B/A
    assert "ml.g4dn.4xlarge vs ml.p3.2xlarge: 39% of the price" in out

    doc = _json(capsys, [*argv, "--json"])
    assert set(doc) == {"region", "model", "a", "b", "ratios", "text"}
    assert doc["a"]["name"] == "ml.p3.2xlarge"
    assert doc["b"]["name"] == "ml.g4dn.4xlarge"
    assert set(doc["a"]) >= OPTION_KEYS
    ratios = doc["ratios"]
    assert RATIO_KEYS | {"tokens_per_second", "usd_per_million_tokens"} == set(ratios)
    assert ratios["usd_per_hour"] == pytest.approx(
        doc["b"]["usd_per_hour"] / doc["a"]["usd_per_hour"]
    )
    assert ratios["tokens_per_second"] == pytest.approx(
        doc["b"]["tokens_per_second"] / doc["a"]["tokens_per_second"]
    )

    # without --model: prices and hardware only
    doc = _json(capsys, ["cost", "compare", "ml.p3.2xlarge", "ml.g4dn.4xlarge", "--json"])
    assert doc["model"] is None
    assert set(doc["ratios"]) == RATIO_KEYS
    assert main(["cost", "compare", "ml.p3.2xlarge", "ml.g4dn.4xlarge"]) == 0
    assert "tokens/s" not in capsys.readouterr().out.split("\n\n")[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["cost", "compare", "ml.p3.4xlarge", "ml.g4dn.4xlarge"],
        ["cost", "compare", "ml.p3.2xlarge", "g5.2xlarge", "--model", MODEL],
        ["cost", "advise", MODEL, "--instance", "ml.p3.4xlarge"],
    ],
)
@pytest.mark.parametrize("as_json", [False, True])
def test_an_instance_type_that_does_not_exist_exits_2(
    argv: list[str], as_json: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv + ["--json"] * as_json) == 2
    captured = capsys.readouterr()
    assert "did you mean" in captured.err
    assert "Traceback" not in captured.err
    if as_json:
        error = json.loads(captured.out)["error"]
        assert error["type"] == "UnsupportedInstanceError"
        assert "did you mean" in error["message"]
    else:
        assert captured.out == ""


def test_estimate_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["cost", "estimate", "--data-gb", "10", "--training-hours", "20", "--campaign-tps", "1"]
    doc = _json(capsys, [*argv, "--json"])
    assert {"region", "items", "warnings", "total_usd", "complete", "verified"} <= set(doc)
    assert doc["total_usd"] == pytest.approx(151.30)
    assert {"item", "quantity", "unit", "unit_price_usd", "subtotal_usd"} <= set(doc["items"][0])


def test_running_json_on_a_local_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions: list[Session] = []

    def factory(args: argparse.Namespace) -> Session:
        sessions.append(Session.local(tmp_path / "ws", progress=False))
        return sessions[-1]

    parser = argparse.ArgumentParser(prog="personakit")
    register(parser.add_subparsers(dest="command", required=True), session_factory=factory)
    try:
        args = parser.parse_args(["cost", "running", "--json"])
        assert args.func(args) == 0
        doc = json.loads(capsys.readouterr().out)
        assert set(doc) == {"inventory", "budget"}
        assert doc["budget"] is None
        assert set(doc["inventory"]) >= INVENTORY_KEYS
        argv = ["cost", "running", "--budget", "100", "--credit-expires", "2099-01-01", "--json"]
        args = parser.parse_args(argv)
        assert args.func(args) == 0
        budget = json.loads(capsys.readouterr().out)["budget"]
        assert {"budget_usd", "projected_usd", "remaining_usd", "over_budget"} <= set(budget)
        assert budget["credit_expires"] == "2099-01-01"
        assert "inventory" not in budget
    finally:
        for s in sessions:
            s.close()


def test_running_without_credentials_exits_2_with_a_json_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    for var in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(var, raising=False)
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    doc = _json(capsys, ["cost", "running", "--region", "us-east-1", "--json"], status=2)
    assert set(doc["error"]) == {"type", "message"}


def test_sweep_json_on_a_workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "ws"
    Session.local(ws, progress=False).close()
    doc = _json(capsys, ["sweep", "--workspace", str(ws), "--json"])
    assert set(doc) >= SWEEP_KEYS
    assert doc["dry_run"] is True
    assert doc["items"] == []
    assert doc["workspace"] == str(ws)


def test_schema_and_validate_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "interactions.csv"
    rows = "\n".join(f"u{i % 7},i{i % 11},{1_700_000_000 + i}" for i in range(50))
    path.write_text("USER_ID,ITEM_ID,TIMESTAMP\n" + rows + "\n")
    doc = _json(capsys, ["schema", str(path), "--json"])
    assert set(doc) == {"schema", "problems"}
    assert doc["schema"]["type"] == "record"
    assert {f["name"] for f in doc["schema"]["fields"]} >= {"USER_ID", "ITEM_ID", "TIMESTAMP"}

    assert main(["validate", str(path), "--json"]) in (0, 1)
    doc = json.loads(capsys.readouterr().out)
    assert {"problems", "stats", "subject", "ok"} <= set(doc)
    assert "schemas" not in doc
    assert "tables" not in doc
    for problem in doc["problems"]:
        assert {"severity", "rule", "message", "column", "count", "fix"} <= set(problem)


def test_quickstart_json_keeps_stdout_for_the_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["quickstart", "--workspace", str(tmp_path / "ws"), "--users", "60", "--json"]
    doc = _json(capsys, argv)
    keys = {"workspace", "metrics", "user_id", "recommendations", "batch", "deleted", "kept"}
    assert keys | {"seconds", "bill"} == set(doc)
    # the run's AWS bill: line items with sources, the total, incomplete (batch is unpriced)
    assert doc["bill"]["period"] == "this run"
    assert doc["bill"]["complete"] is False
    assert doc["bill"]["total_usd"] > 0
    assert all(item["source"] for item in doc["bill"]["items"])
    assert doc["recommendations"]
    assert doc["kept"] == []
    assert {"user_id", "item_ids"} <= set(doc["batch"][0])
    assert all("solution_version_arn" in m for m in doc["metrics"].values())
