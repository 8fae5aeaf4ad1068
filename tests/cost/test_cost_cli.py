"""`personakit cost ...` and `personakit sweep` through the parser cost.cli registers."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _accounts import crash_a_run, make_endpoint, moto_clients, personalize_lists, session

from personakit.aws.session import Session
from personakit.cost.cli import register
from personakit.errors import ConfigurationError

local = pytest.importorskip("personakit.local")


def _parser(factory: Callable[[argparse.Namespace], Session] | None = None) -> Any:
    parser = argparse.ArgumentParser(prog="personakit")
    sub = parser.add_subparsers(dest="command", required=True)
    if factory is None:
        register(sub)
    else:
        register(sub, session_factory=factory)
    return parser


def _run(parser: Any, argv: list[str]) -> int:
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


def test_estimate_prints_a_personalize_month(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["cost", "estimate", "--data-gb", "10", "--training-hours", "20", "--campaign-tps", "1"]
    assert _run(_parser(), argv) == 0
    out = capsys.readouterr().out
    assert "total: $151.30" in out  # 0.5 + 4.8 + 146.0
    assert "TPS-hours first 20K" in out


def test_advise_uses_the_packaged_catalog_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(_parser(), ["cost", "advise", "huggingface-llm-falcon-7b-bf16"]) == 0
    out = capsys.readouterr().out
    assert "ml.g5.2xlarge" in out


def test_running_and_sweep_on_an_account_with_leftovers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with moto_clients() as clients, local.LocalEngine(tmp_path) as engine:
        crash_a_run(session(engine, "crashed-run"))
        make_endpoint(clients["sagemaker"], "crashed-llm", run_id="crashed-run")
        seen: list[tuple[str | None, str | None]] = []

        def factory(args: argparse.Namespace) -> Session:
            seen.append((args.region, args.profile))
            return session(engine, "cli", clients)

        parser = _parser(factory)

        assert _run(parser, ["cost", "running", "--region", "us-east-1", "--profile", "dev"]) == 0
        out = capsys.readouterr().out
        assert "2 running resource(s) in us-east-1" in out
        assert "crashed-llm" in out
        assert "campaign" in out
        assert seen == [("us-east-1", "dev")]

        # a budget the burn rate overshoots: exit 1
        argv = ["cost", "running", "--budget", "10", "--credit-expires", "2099-01-01"]
        assert _run(parser, argv) == 1
        assert "OVER budget" in capsys.readouterr().out

        # dry run (the default): lists, deletes nothing, exit 1 because there are leftovers
        assert _run(parser, ["sweep"]) == 1
        out = capsys.readouterr().out
        assert "(dry run): 10 resource(s) would be deleted" in out
        lines = [line for line in out.splitlines() if line.startswith("would delete")]
        # 6 Personalize resources, an endpoint, its config and model, the uploaded CSV
        assert len(lines) == 10
        header = next(line for line in out.splitlines() if line.startswith("action"))
        column = header.index("service")  # aligned
        assert all(line[column:].startswith(("personalize", "sagemaker", "s3")) for line in lines)
        personalize = session(engine, "x").client("personalize")
        assert personalize_lists(personalize)["campaigns"]

        assert _run(parser, ["sweep", "--yes", "--run-id", "crashed-run"]) == 0
        assert "10 of 10 resource(s) deleted, 0 failed" in capsys.readouterr().out
        assert personalize_lists(personalize) == {}
        assert clients["sagemaker"].list_endpoints()["Endpoints"] == []

        assert _run(parser, ["sweep"]) == 0  # nothing left
        assert "0 resource(s) would be deleted" in capsys.readouterr().out


def test_sweep_refuses_dry_run_and_yes_together(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        _parser().parse_args(["sweep", "--dry-run", "--yes"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_sweep_yes_needs_older_than_or_run_id(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        crash_a_run(session(engine, "colleague"))
        made: list[str] = []

        def factory(args: argparse.Namespace) -> Session:
            made.append("session")
            return session(engine, "cli")

        parser = _parser(factory)
        with pytest.raises(ConfigurationError, match=r"--older-than 2h.*--run-id.*--older-than 0s"):
            _run(parser, ["sweep", "--yes"])
        assert made == []  # refused before anything was listed
        personalize = session(engine, "x").client("personalize")
        assert len(personalize_lists(personalize)["campaigns"]) == 1

        # --older-than 0s means everything; --include-kept is passed on
        args = parser.parse_args(["sweep", "--yes", "--older-than", "0s", "--include-kept"])
        assert (args.dry_run, args.yes, args.include_kept) == (False, True, True)
        assert _run(parser, ["sweep", "--yes", "--older-than", "0s"]) == 0
        assert personalize_lists(personalize) == {}
