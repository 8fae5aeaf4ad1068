"""sweep: leftovers of a crashed run found from a new session, listed, then deleted in order."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import attrs
import pytest
from _accounts import (
    FAST,
    crash_a_run,
    interactions,
    make_endpoint,
    moto_clients,
    personalize_lists,
    sagemaker_names,
    session,
)

from personakit.cost import SweepReport, sweep
from personakit.dataset import DatasetGroup
from personakit.errors import ConfigurationError, TeardownError

local = pytest.importorskip("personakit.local")


def _deletes(client: Any) -> list[tuple[str, str | None]]:
    """(operation, first ARN) of every successful Delete* call, in order."""
    calls: list[tuple[str, str | None]] = []

    def after(http_response: Any, parsed: dict[str, Any], model: Any, **kw: Any) -> None:
        if model.name.startswith("Delete") and "Error" not in parsed:
            calls.append((model.name, None))

    client.meta.events.register("after-call.personalize.*", after)
    return calls


def test_a_crashed_run_is_listed_then_deleted_in_dependency_order(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        crash_a_run(session(engine, "crashed-run"))
        DatasetGroup.create(session(engine, "other-run"), "keeper", timing=FAST)
        sweeper = session(engine, "sweeper")
        personalize = sweeper.client("personalize")
        deletes = _deletes(personalize)

        dry = sweep(sweeper, run_id="crashed-run")

        kinds = sorted(i.kind for i in dry.items)
        assert kinds == sorted(
            ["campaign", "solution", "filter", "dataset", "dataset_group", "schema"]
        )
        assert {i.outcome for i in dry.items} == {"would delete"}
        assert any("keeper" in s and "other-run" in s for s in dry.spared)
        assert "would delete" in str(dry)
        assert "movies" in str(dry)
        assert deletes == []
        assert len(personalize_lists(personalize)["campaigns"]) == 1

        # younger than --older-than: spared, even without a run id
        young = sweep(sweeper, older_than="1h")
        assert young.items == ()
        assert any("younger than 1h00m" in s for s in young.spared)

        report = sweep(sweeper, dry_run=False, run_id="crashed-run", timing=FAST)

        assert report.ok, report
        assert {i.outcome for i in report.items} == {"deleted"}
        assert [op for op, _ in deletes] == [
            "DeleteCampaign",
            "DeleteSolution",
            "DeleteFilter",
            "DeleteDataset",
            "DeleteDatasetGroup",
            "DeleteSchema",
        ]
        left = personalize_lists(personalize)
        assert [g["name"] for g in left.pop("datasetGroups")] == ["keeper"]
        assert left == {}

        # the other run's group goes when no run id is given
        everything = sweep(sweeper, dry_run=False, timing=FAST)
        assert [i.name for i in everything.deleted] == ["keeper"]
        assert personalize_lists(personalize) == {}


def test_a_schema_still_used_by_another_group_is_left(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        for run in ("run-a", "run-b"):
            group = DatasetGroup.create(session(engine, run), f"g-{run}", timing=FAST)
            group.import_frame(interactions())
        sweeper = session(engine, "sweeper")

        # a schema in use is retried for in_use_timeout_s, then left
        timing = attrs.evolve(FAST, in_use_timeout_s=0.3)
        report = sweep(sweeper, dry_run=False, run_id="run-a", timing=timing)

        outcomes = {i.kind: i.outcome for i in report.items}
        assert outcomes == {"dataset": "deleted", "dataset_group": "deleted", "schema": "left"}
        left = personalize_lists(sweeper.client("personalize"))
        assert [g["name"] for g in left["datasetGroups"]] == ["g-run-b"]
        assert len(left["schemas"]) == 1


def test_sagemaker_tagged_expired_and_idle_endpoints(tmp_path: Path) -> None:
    with moto_clients() as clients, local.LocalEngine(tmp_path) as engine:
        sm = clients["sagemaker"]
        now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=20)  # all are 20 days old
        make_endpoint(sm, "crashed-llm", run_id="run-1")
        make_endpoint(sm, "short-lived", run_id="run-2", expires=now - dt.timedelta(minutes=5))
        make_endpoint(sm, "forgotten")  # untagged, no invocations (moto's CloudWatch is empty)
        sm.create_model(  # an orphan model of run-1: its endpoint is already gone
            ModelName="orphan",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
            PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/tgi:1"},
            Tags=[{"Key": "personakit:run", "Value": "run-1"}],
        )
        sweeper = session(engine, "sweeper", clients)

        dry = sweep(sweeper, now=now, older_than="30d")
        # everything is younger than 30 days: only the expired endpoint (and its parts) is due
        assert {(i.kind, i.name) for i in dry.items} == {
            ("endpoint", "short-lived"),
            ("endpoint_config", "short-lived"),
            ("model", "short-lived"),
        }
        assert "expired at" in dry.items[0].reason
        assert sagemaker_names(sm)["endpoints"] == {"crashed-llm", "short-lived", "forgotten"}

        report = sweep(sweeper, dry_run=False, now=now, timing=FAST)
        assert report.ok, report
        assert {(i.kind, i.name) for i in report.deleted} == {
            ("endpoint", "crashed-llm"),
            ("endpoint_config", "crashed-llm"),
            ("model", "crashed-llm"),
            ("model", "orphan"),
            ("endpoint", "short-lived"),
            ("endpoint_config", "short-lived"),
            ("model", "short-lived"),
        }
        assert sagemaker_names(sm) == {
            "endpoints": {"forgotten"},
            "configs": {"forgotten"},
            "models": {"forgotten"},
        }

        # untagged idle endpoints only when asked, and then only the endpoint
        idle = sweep(sweeper, dry_run=False, now=now, include_idle_endpoints=True, timing=FAST)
        assert [(i.kind, i.name, i.outcome) for i in idle.items] == [
            ("endpoint", "forgotten", "deleted")
        ]
        assert "no invocations in 14d0h" in idle.items[0].reason
        assert sagemaker_names(sm) == {
            "endpoints": set(),
            "configs": {"forgotten"},
            "models": {"forgotten"},
        }


def test_a_run_id_restricts_expired_endpoints_too(tmp_path: Path) -> None:
    with moto_clients() as clients, local.LocalEngine(tmp_path) as engine:
        sm = clients["sagemaker"]
        now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)
        make_endpoint(sm, "mine", run_id="run-1", expires=now - dt.timedelta(hours=1))
        make_endpoint(sm, "theirs", run_id="run-2", expires=now - dt.timedelta(hours=1))
        report = sweep(session(engine, "s", clients), run_id="run-1", now=now)
        assert {i.name for i in report.items if i.kind == "endpoint"} == {"mine"}


def test_failures_are_collected_not_fatal(tmp_path: Path) -> None:
    with moto_clients() as clients, local.LocalEngine(tmp_path) as engine:
        sm = clients["sagemaker"]
        make_endpoint(sm, "doomed", run_id="run-1")
        make_endpoint(sm, "stuck", run_id="run-1")

        def refuse(params: dict[str, Any], **_: Any) -> None:
            if params.get("EndpointName") == "stuck":
                raise RuntimeError("AccessDenied for stuck")

        sm.meta.events.register("before-parameter-build.sagemaker.DeleteEndpoint", refuse)
        report = sweep(session(engine, "s", clients), dry_run=False, timing=FAST)

        outcomes = {(i.kind, i.name): i.outcome for i in report.items}
        assert outcomes[("endpoint", "doomed")] == "deleted"
        assert outcomes[("endpoint", "stuck")] == "failed"
        # the config and model of an endpoint that could not be deleted are kept
        assert outcomes[("endpoint_config", "stuck")] == "left"
        assert outcomes[("model", "stuck")] == "left"
        assert not report.ok
        with pytest.raises(TeardownError, match="stuck"):
            report.raise_for_errors()
        assert sagemaker_names(sm)["endpoints"] == {"stuck"}


def test_bad_durations_are_refused_clearly(tmp_path: Path) -> None:
    with (
        local.LocalEngine(tmp_path) as engine,
        pytest.raises(ConfigurationError, match=r"'2 hours'.*'2h'"),
    ):
        sweep(session(engine, "s"), older_than="2 hours")


def test_report_frame_and_html() -> None:
    report = SweepReport(region="us-east-1", dry_run=True, items=())
    assert "0 resource(s) would be deleted" in str(report)
    assert report.to_frame().empty
    assert "<b>" in report._repr_html_()
