"""running(): what bills now, its hourly cost, who made it; idle endpoints; the budget."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import boto3
import pytest
from _accounts import crash_a_run, make_endpoint, moto_clients, session
from botocore.stub import Stubber

from personakit import local
from personakit.cost import Catalog, CostGuard, Inventory, RunningResource, running
from personakit.cost.inventory import format_age, parse_duration
from personakit.errors import BudgetExceededError, ConfigurationError

G4DN = Catalog.load().price("ml.g4dn.xlarge", "us-east-1")
assert G4DN is not None


def test_personalize_campaigns_and_auto_training_on_the_local_engine(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        arns = crash_a_run(session(engine, "crashed-run"), min_tps=3)
        personalize = session(engine, "x").client("personalize")
        # a solution made without personakit: performAutoTraining defaults to True
        personalize.create_solution(
            name="autotrained",
            datasetGroupArn=arns["group"],
            recipeArn="arn:aws:personalize:::recipe/aws-popularity-count",
        )

        inventory = running(session(engine, "observer"))

        by_kind = {r.kind: r for r in inventory}
        campaign = by_kind["campaign"]
        assert campaign.arn == arns["campaign"]
        assert campaign.usd_per_hour == pytest.approx(3 * 0.20)  # minProvisionedTPS x $0.20
        assert campaign.run_id == "crashed-run"
        assert campaign.created is not None
        auto = by_kind["solution"]
        assert auto.name == "autotrained"
        assert auto.run_id is None
        assert "auto-training every 7 day(s)" in auto.basis
        # personakit's own solution trains only when asked: not billing
        assert arns["solution"] not in {r.arn for r in inventory}
        assert inventory.usd_per_hour == pytest.approx(0.60)
        # the engine's SageMaker twin is listed too, and holds nothing
        assert {r.service for r in inventory} == {"personalize"}
        text = str(inventory)
        assert "$0.60/h, $14.40/day, $438.00/month" in text
        assert "crashed-run" in text
        frame = inventory.to_frame()
        assert list(frame["kind"]) == ["campaign", "solution"]


def test_sagemaker_endpoints_are_priced_from_the_endpoint_config(tmp_path: Path) -> None:
    with moto_clients() as clients, local.LocalEngine(tmp_path) as engine:
        sm = clients["sagemaker"]
        expires = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
        make_endpoint(sm, "llm", run_id="run-7", expires=expires, count=2)
        make_endpoint(sm, "theirs", instance_type="ml.m5.large")
        sm.create_notebook_instance(
            NotebookInstanceName="nb", InstanceType="ml.t3.medium", RoleArn=SM_ROLE
        )

        inventory = running(session(engine, "observer", clients), services=("sagemaker",))

        by_name = {r.name: r for r in inventory}
        llm = by_name["llm"]
        assert (llm.instance_type, llm.instance_count) == ("ml.g4dn.xlarge", 2)
        assert llm.usd_per_hour == pytest.approx(2 * G4DN.usd_per_hour)
        assert llm.run_id == "run-7"
        assert llm.expires_at == expires
        assert by_name["theirs"].run_id is None
        assert by_name["nb"].kind == "notebook_instance"
        assert inventory.resources[0].name == "llm"  # most expensive first
        expected = sum(r.usd_per_hour or 0 for r in inventory)
        assert inventory.usd_per_hour == pytest.approx(expected)
        assert "2 x ml.g4dn.xlarge" in str(inventory)
        assert "2030-01-01 00:00" in str(inventory)


SM_ROLE = "arn:aws:iam::123456789012:role/personakit-sagemaker"


def test_idle_endpoints_from_cloudwatch_invocations(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    with moto_clients() as clients, local.LocalEngine(tmp_path) as engine:
        make_endpoint(clients["sagemaker"], "busy")
        make_endpoint(clients["sagemaker"], "quiet")
        with Stubber(cloudwatch) as stub:
            for name, points in (("busy", [{"Sum": 3.0}, {"Sum": 4.0}]), ("quiet", [])):
                stub.add_response(
                    "get_metric_statistics",
                    {"Label": "Invocations", "Datapoints": points},
                    {
                        "Namespace": "AWS/SageMaker",
                        "MetricName": "Invocations",
                        "Dimensions": [
                            {"Name": "EndpointName", "Value": name},
                            {"Name": "VariantName", "Value": "AllTraffic"},
                        ],
                        "StartTime": now - dt.timedelta(days=2),
                        "EndTime": now,
                        "Period": 86_400,
                        "Statistics": ["Sum"],
                    },
                )
            observer = session(
                engine, "o", {"sagemaker": clients["sagemaker"], "cloudwatch": cloudwatch}
            )
            inventory = running(observer, services=("sagemaker",), idle_window="2d", now=now)
            stub.assert_no_pending_responses()
        by_name = {r.name: r for r in inventory}
        assert (by_name["busy"].invocations, by_name["busy"].idle) == (7.0, False)
        assert (by_name["quiet"].invocations, by_name["quiet"].idle) == (0.0, True)
        assert [r.name for r in inventory.idle] == ["quiet"]


def _inventory(per_hour: float, now: dt.datetime) -> Inventory:
    return Inventory(
        region="us-east-1",
        taken_at=now,
        resources=(
            RunningResource(
                service="sagemaker",
                kind="endpoint",
                name="old-llm",
                arn="arn:aws:sagemaker:us-east-1:123456789012:endpoint/old-llm",
                status="InService",
                usd_per_hour=per_hour,
            ),
        ),
    )


NOW = dt.datetime(2026, 11, 29, 12, tzinfo=dt.timezone.utc)


def test_check_deploy_counts_what_already_runs(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        guard = CostGuard(
            session(engine, "g"), budget_usd=1200, catalog=Catalog.load(), today=NOW.date
        )
        # alone, ml.g5.2xlarge fits: $1.515 x 730 = $1,105.95 <= $1,200
        assert guard.check_deploy("ml.g5.2xlarge", inventory=_inventory(0.0, NOW)).usd_per_month
        # with $0.20/h already running ($146 a month), it does not
        with pytest.raises(BudgetExceededError) as info:
            guard.check_deploy("ml.g5.2xlarge", inventory=_inventory(0.20, NOW))
        error = info.value
        assert error.what == "1 x ml.g5.2xlarge"
        assert error.budget_usd == 1200
        assert error.remaining_usd == pytest.approx(1200 - 146.0)
        assert error.projected_usd == pytest.approx(146.0 + 1105.95)
        assert "already running ($0.20/h)" in str(error)
        # and without an inventory given, it lists the account itself (a local campaign)
        crash_a_run(session(engine, "crashed"), min_tps=1)
        check = guard.check_deploy("ml.t3.medium")
        assert check.running_usd_per_hour == pytest.approx(0.20)
        assert "already running" in str(check)


def test_status_projects_the_burn_rate_to_the_credit_expiry(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        guard = CostGuard(
            session(engine, "g"),
            budget_usd=1000,
            spent_usd=100,
            credit_expires="2026-12-09",  # 9.5 days = 228 h after NOW
            catalog=Catalog.load(),
        )
        status = guard.status(_inventory(2.0, NOW))
        assert status.horizon_hours == pytest.approx(228)
        assert status.projected_usd == pytest.approx(100 + 2.0 * 228)
        assert status.remaining_usd == pytest.approx(1000 - 556)
        assert not status.over_budget
        assert status.runs_out_at == NOW + dt.timedelta(hours=450)
        assert "projected $556.00 to the credits' expiry on 2026-12-09" in str(status)
        over = guard.status(_inventory(5.0, NOW))
        assert over.over_budget
        assert "$240.00 OVER budget" in str(over)


def test_durations_and_ages() -> None:
    assert parse_duration("2h") == dt.timedelta(hours=2)
    assert parse_duration("90s") == dt.timedelta(seconds=90)
    assert parse_duration("1w") == dt.timedelta(days=7)
    assert parse_duration(1.5) == dt.timedelta(hours=1.5)
    with pytest.raises(ConfigurationError, match="'soon'"):
        parse_duration("soon")
    assert format_age(dt.timedelta(days=3, hours=4, minutes=5)) == "3d4h"
    assert format_age(dt.timedelta(minutes=125)) == "2h05m"
    assert format_age(None) == "?"
    with pytest.raises(ConfigurationError, match="services"):
        running(Any, services=("ec2",))  # type: ignore[arg-type]


def test_the_inventory_renders_for_notebooks() -> None:
    inventory = _inventory(1.25, NOW)
    assert "<table>" in inventory._repr_html_()
    assert "old-llm" in inventory._repr_html_()
    assert inventory.projected_usd(10) == pytest.approx(12.5)


def test_recommender_floors_and_what_could_not_be_priced_are_gaps(tmp_path: Path) -> None:
    rec = "arn:aws:personalize:us-east-1:123456789012:recommender/top-picks"
    personalize = boto3.client("personalize", region_name="us-east-1")
    with (
        moto_clients() as clients,
        local.LocalEngine(tmp_path) as engine,
        Stubber(personalize) as stub,
    ):
        make_endpoint(clients["sagemaker"], "old-gen", instance_type="ml.p2.xlarge")
        stub.add_response("list_campaigns", {"campaigns": []})
        summary = {"name": "top-picks", "recommenderArn": rec, "status": "ACTIVE"}
        stub.add_response("list_recommenders", {"recommenders": [summary]})
        stub.add_response(
            "describe_recommender",
            {
                "recommender": {
                    "recommenderArn": rec,
                    "recommenderConfig": {"minRecommendationRequestsPerSecond": 3},
                }
            },
            {"recommenderArn": rec},
        )
        stub.add_response("list_solutions", {"solutions": []})
        observer = session(engine, "o", {"personalize": personalize, **clients})

        inventory = running(observer, lean=True)

        stub.assert_no_pending_responses()
    by_name = {r.name: r for r in inventory}
    # one 100K-user unit ($0.375/h) + 2 requests/s above the first x 3,600 x $0.0833/1,000
    assert by_name["top-picks"].usd_per_hour == pytest.approx(0.375 + 2 * 0.29988)
    assert by_name["old-gen"].usd_per_hour is None  # not in the instance catalog
    assert not inventory.incomplete
    assert not inventory.complete
    assert inventory.gaps == (f"endpoint old-gen: no hourly price ({by_name['old-gen'].basis})",)
