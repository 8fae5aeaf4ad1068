"""sweep: leftovers of a crashed run found from a new session, listed, then deleted in order."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import attrs
import pytest
from _accounts import (
    FAST,
    SM_ROLE,
    crash_a_run,
    interactions,
    make_endpoint,
    moto_clients,
    personalize_lists,
    sagemaker_names,
    session,
)
from botocore.exceptions import ClientError

from personakit import local
from personakit.cost import SweepReport, sweep
from personakit.errors import ConfigurationError, TeardownError
from personakit.llm.resolve import JumpStartWarning
from personakit.personalize.group import DatasetGroup
from personakit.rules.facts import KEEP_TAG

#: The log event of a delete retried because the resource is in use (Teardown).
_IN_USE = "personakit.teardown.in_use"


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
            ["campaign", "solution", "filter", "dataset", "dataset_group", "schema", "s3_object"]
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
        everything = sweep(sweeper, dry_run=False, older_than="0s", timing=FAST)
        assert [i.name for i in everything.deleted] == ["keeper"]
        assert personalize_lists(personalize) == {}


def test_a_schema_still_used_by_another_group_is_left(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        for run in ("run-a", "run-b"):
            group = DatasetGroup.create(session(engine, run), f"g-{run}", timing=FAST)
            group.import_frame(interactions())
        sweeper = session(engine, "sweeper")

        # a schema a dataset the sweep leaves still uses is not even tried (it would be
        # refused as in use, and retried for in_use_timeout_s): it is listed as spared
        timing = attrs.evolve(FAST, in_use_timeout_s=0.3)
        report = sweep(sweeper, dry_run=False, run_id="run-a", timing=timing)

        outcomes = {i.kind: i.outcome for i in report.items}
        assert outcomes == {
            "dataset": "deleted",
            "dataset_group": "deleted",
            "s3_object": "deleted",
        }
        assert any(
            s.startswith("schema pk-interactions-") and "still used by dataset g-run-b" in s
            for s in report.spared
        )
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

        report = sweep(sweeper, dry_run=False, now=now, older_than="1d", timing=FAST)
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
        idle = sweep(
            sweeper,
            dry_run=False,
            now=now,
            older_than="0s",
            include_idle_endpoints=True,
            timing=FAST,
        )
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
        report = sweep(session(engine, "s", clients), dry_run=False, run_id="run-1", timing=FAST)

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


# --------------------------------------------------------------------------- kept on purpose


def _tags(personalize: Any, arn: str) -> dict[str, str]:
    listed = personalize.list_tags_for_resource(resourceArn=arn)["tags"]
    return {t["tagKey"]: t["tagValue"] for t in listed}


def test_what_a_teardown_kept_is_spared_unless_include_kept(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        keeper = session(engine, "keeper-run")
        # the whole group kept (quickstart --keep does this) ...
        with DatasetGroup.create(keeper, "kept-group", keep=True, timing=FAST) as group:
            group.import_frame(interactions())
            kept_group = group.arn
        # ... and a campaign kept in a group that is not: it keeps its solution and group
        with DatasetGroup.create(keeper, "kept-campaign", timing=FAST) as other:
            other.import_frame(interactions())
            with other.train("popularity-count").deploy(min_tps=1, keep=True) as campaign:
                kept_campaign = campaign.arn
        crashed = DatasetGroup.create(session(engine, "crashed-run"), "crashed", timing=FAST)
        crashed.import_frame(interactions())
        sweeper = session(engine, "sweeper")
        personalize = sweeper.client("personalize")
        assert _tags(personalize, kept_group)[KEEP_TAG] == "true"
        assert _tags(personalize, kept_campaign)[KEEP_TAG] == "true"
        before = personalize_lists(personalize)

        # the schema the three groups share is retried briefly, then left
        timing = attrs.evolve(FAST, in_use_timeout_s=0.3)
        report = sweep(sweeper, dry_run=False, older_than="0s", timing=timing)

        assert report.ok, report
        assert {i.name for i in report.items if i.kind == "dataset_group"} == {"crashed"}
        assert any("kept-group" in s and "kept on purpose" in s for s in report.spared)
        assert any(
            "campaign" in s and "kept on purpose" in s and "--include-kept" in s
            for s in report.spared
        )
        left = personalize_lists(personalize)
        assert sorted(g["name"] for g in left["datasetGroups"]) == ["kept-campaign", "kept-group"]
        assert left["campaigns"] == before["campaigns"]
        assert len(left["datasets"]) == 2

        everything = sweep(sweeper, dry_run=False, older_than="0s", include_kept=True, timing=FAST)

        assert everything.ok, everything
        assert {i.name for i in everything.deleted if i.kind == "dataset_group"} == {
            "kept-group",
            "kept-campaign",
        }
        assert personalize_lists(personalize) == {}


def test_a_group_holding_a_kept_campaign_is_spared_even_untagged(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        run = session(engine, "run-1")
        personalize = run.client("personalize")

        def refuse(params: dict[str, Any], **_: Any) -> None:
            if ":dataset-group/" in params.get("resourceArn", ""):
                raise ClientError(
                    {"Error": {"Code": "AccessDeniedException", "Message": "no TagResource"}},
                    "TagResource",
                )

        # tagging the group fails: logged, never raised; the campaign is still tagged
        personalize.meta.events.register("before-parameter-build.personalize.TagResource", refuse)
        with DatasetGroup.create(run, "half-tagged", timing=FAST) as group:
            group.import_frame(interactions())
            group.train("popularity-count").deploy(min_tps=1, keep=True)
        assert KEEP_TAG not in _tags(personalize, group.arn)

        report = sweep(session(engine, "sweeper"), older_than="0s")

        # Personalize deletes a group only empty: the group and its contents are spared
        assert report.items == ()
        assert any("half-tagged" in s and "kept on purpose" in s for s in report.spared)


def test_an_endpoint_kept_at_exit_is_spared_unless_include_kept(tmp_path: Path) -> None:
    from personakit.llm.endpoint import LLMEndpoint
    from personakit.llm.hosting import EndpointTiming
    from personakit.llm.jumpstart import JumpStartCatalog

    falcon = "huggingface-llm-falcon-7b-bf16"
    catalog = JumpStartCatalog("us-east-1", offline=True, cache_dir=tmp_path / "jumpstart")
    timing = EndpointTiming(poll_s=0.01, max_poll_s=0.05, delete_timeout_s=30.0)
    with local.LocalEngine(tmp_path / "engine") as engine:
        engine.register_model(falcon, lambda prompt, params: "kept")
        deployer = session(engine, "llm-run")
        with pytest.warns(JumpStartWarning):
            llm = LLMEndpoint.deploy(
                deployer, falcon, catalog=catalog, keep=True, timing=timing, role_arn=SM_ROLE
            )
        with llm:
            pass
        sm = deployer.client("sagemaker")
        arn = sm.describe_endpoint(EndpointName=llm.name)["EndpointArn"]
        assert {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}[
            KEEP_TAG
        ] == "true"
        sweeper = session(engine, "sweeper")

        report = sweep(sweeper, dry_run=False, older_than="0s", timing=FAST)

        assert report.items == ()  # nor its config and model: a spared endpoint uses them
        assert any(llm.name in s and "kept on purpose" in s for s in report.spared)
        assert sagemaker_names(sm)["endpoints"] == {llm.name}

        everything = sweep(sweeper, dry_run=False, older_than="0s", include_kept=True, timing=FAST)

        assert everything.ok, everything
        assert {(i.kind, i.name) for i in everything.deleted} == {
            ("endpoint", llm.name),
            ("endpoint_config", llm.name),
            ("model", llm.name),
        }
        assert sagemaker_names(sm) == {"endpoints": set(), "configs": set(), "models": set()}


# --------------------------------------------------------------------------- guards and errors


def test_a_real_sweep_without_older_than_or_run_id_is_refused(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        crash_a_run(session(engine, "colleague"))
        sweeper = session(engine, "sweeper")
        deletes = _deletes(sweeper.client("personalize"))
        with pytest.raises(ConfigurationError, match=r'older_than="2h".*run_id.*older_than="0s"'):
            sweep(sweeper, dry_run=False, timing=FAST)
        assert deletes == []
        assert len(personalize_lists(sweeper.client("personalize"))["campaigns"]) == 1


def test_a_failed_campaign_delete_leaves_its_solution_and_group_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with local.LocalEngine(tmp_path) as engine:
        arns = crash_a_run(session(engine, "crashed-run"))
        sweeper = session(engine, "sweeper")
        personalize = sweeper.client("personalize")

        def refuse(**_: Any) -> None:
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "no DeleteCampaign"}},
                "DeleteCampaign",
            )

        personalize.meta.events.register("before-call.personalize.DeleteCampaign", refuse)
        with caplog.at_level(logging.WARNING, logger="personakit"):
            report = sweep(sweeper, dry_run=False, run_id="crashed-run", timing=FAST)

        outcomes = {i.arn: (i.outcome, i.error) for i in report.items}
        assert outcomes[arns["campaign"]][0] == "failed"
        assert "AccessDenied" in str(outcomes[arns["campaign"]][1])
        assert outcomes[arns["solution"]][0] == "left"
        assert "campaign" in str(outcomes[arns["solution"]][1])
        assert outcomes[arns["group"]][0] == "left"
        assert "solution" in str(outcomes[arns["group"]][1])
        # no retry of ResourceInUseException: they were left at the first refusal
        retries = [r for r in caplog.records if getattr(r, "event", "") == _IN_USE]
        assert retries == []
        assert [i.arn for i in report.failed] == [arns["campaign"]]


def test_an_idle_check_that_cannot_read_cloudwatch_spares_that_endpoint_only(
    tmp_path: Path,
) -> None:
    with moto_clients() as clients, local.LocalEngine(tmp_path) as engine:
        sm = clients["sagemaker"]
        now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=20)
        make_endpoint(sm, "unreadable")
        make_endpoint(sm, "forgotten")
        make_endpoint(sm, "crashed-llm", run_id="run-1")

        def refuse(params: dict[str, Any], **_: Any) -> None:
            if {"Name": "EndpointName", "Value": "unreadable"} in params.get("Dimensions", []):
                raise ClientError(
                    {"Error": {"Code": "AccessDenied", "Message": "no GetMetricStatistics"}},
                    "GetMetricStatistics",
                )

        clients["cloudwatch"].meta.events.register(
            "before-parameter-build.cloudwatch.GetMetricStatistics", refuse
        )
        report = sweep(
            session(engine, "s", clients), now=now, include_idle_endpoints=True, timing=FAST
        )

        endpoints = {i.name for i in report.items if i.kind == "endpoint"}
        assert endpoints == {"forgotten", "crashed-llm"}
        assert any("unreadable" in n and "AccessDenied" in n for n in report.notes)
