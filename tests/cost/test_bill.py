"""The AWS bill of a local run: hand-worked cases, the local engine's record, the guard.

Hand-worked figures use the packaged snapshot (unverified placeholders, but a fixed
table): data $0.05/GB, training $0.24/h, TPS-hours $0.20 / $0.10 / $0.05 for the first
20K / next 180K / over 200K, recommender $0.375 per 100K-user hour, $0.0000833 per
extra recommendation, batch unknown; SageMaker ml.g5.2xlarge $1.515/h in us-east-1.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

import personakit as pk
from _local import FAST, interactions
from personakit.aws.session import Session
from personakit.cost import Catalog, CostGuard, PriceTable, bill
from personakit.errors import BudgetExceededError, ConfigurationError
from personakit.local.usage import BatchUse, HourlyUse, ImportUse, RunUsage, TrainingUse
from personakit.quickstart import run

T0 = 1_800_000_000.0
HOUR = 3600.0


def _campaign(minutes: float, tps: float = 1, name: str = "c") -> HourlyUse:
    return HourlyUse(
        kind="campaign", arn=f"arn:{name}", name=name, start=T0, end=T0 + minutes * 60, floor=tps
    )


def _usage(**parts: Any) -> RunUsage:
    return RunUsage(taken_at=T0 + 1000 * HOUR, **parts)


def _line(estimate: pk.cost.Estimate, prefix: str) -> pk.cost.LineItem:
    (item,) = [i for i in estimate.items if i.item.startswith(prefix)]
    return item


# --------------------------------------------------------------------------- worked by hand


def test_a_worked_run() -> None:
    usage = _usage(
        imports=(
            ImportUse(arn="i1", bytes=2**29, at=T0),  # half a GB
            ImportUse(arn="i2", bytes=2**29, at=T0),
        ),
        trainings=(
            TrainingUse(arn="v1", recipe="aws-user-personalization", training_hours=0.5, at=T0),
            TrainingUse(arn="v2", recipe="aws-user-personalization", training_hours=0.5, at=T0),
        ),
        hourly=(_campaign(7, tps=2),),  # 7 min -> two 5-minute windows = 1/6 h, x 2 TPS
        batches=(
            BatchUse(
                arn="b1",
                kind="batch-inference-job",
                recommendations=600,
                users=0,
                lines=60,
                num_results=10,
            ),
        ),
    )
    estimate = bill(usage)

    assert _line(estimate, "data").quantity == pytest.approx(1.0)
    assert _line(estimate, "data").subtotal_usd == pytest.approx(0.05)
    assert _line(estimate, "training").subtotal_usd == pytest.approx(0.24)  # 1 h x $0.24
    campaign = _line(estimate, "campaigns")
    assert campaign.quantity == pytest.approx(2 / 6)
    assert campaign.subtotal_usd == pytest.approx(0.2 / 3)
    batch = _line(estimate, "batch inference")
    assert (batch.quantity, batch.subtotal_usd, batch.unit_price_usd) == (600, None, None)
    # 0.05 + 0.24 + 0.0667; the batch line is unknown, never a zero
    assert estimate.total_usd == pytest.approx(0.05 + 0.24 + 0.2 / 3)
    assert not estimate.complete
    assert "incomplete" in str(estimate)
    assert estimate.period == "this run"
    assert estimate.prices_as_of == "2026-12-06"
    for item in estimate.items:  # every figure traceable to a dated, sourced price
        assert item.source, item
        assert item.as_of == "2026-12-06", item


def test_training_hours_can_be_given_per_version() -> None:
    usage = _usage(
        trainings=(
            TrainingUse(arn="v1", recipe="aws-sims", training_hours=0.001, at=T0),
            TrainingUse(arn="v2", recipe="aws-sims", training_hours=0.001, at=T0),
        )
    )
    default = _line(bill(usage), "training")
    assert "lower bound" in (default.note or "")
    given_ = _line(bill(usage, training_hours=3), "training")
    assert given_.quantity == 6
    assert given_.subtotal_usd == pytest.approx(6 * 0.24)
    with pytest.raises(ConfigurationError, match="training_hours must be >= 0"):
        bill(usage, training_hours=-1)


def test_a_campaign_month_crosses_the_tiers() -> None:
    # 30 TPS x 730 h = 21,900 TPS-hours: 20,000 x $0.20 + 1,900 x $0.10 = $4,190
    estimate = bill(_usage(hourly=(_campaign(730 * 60, tps=30),)))
    first, second = estimate.items
    assert (first.quantity, second.quantity) == (20_000, pytest.approx(1_900))
    assert estimate.total_usd == pytest.approx(4190.0)
    assert estimate.complete


def test_a_campaign_of_a_second_bills_one_window() -> None:
    one_second = HourlyUse(kind="campaign", arn="a", name="a", start=T0, end=T0 + 1, floor=1)
    assert bill(_usage(hourly=(one_second,))).items[0].quantity == pytest.approx(5 / 60)


def test_a_recommender_floor_and_its_extra_requests() -> None:
    rec = HourlyUse(kind="recommender", arn="r", name="r", start=T0, end=T0 + 2 * HOUR, floor=3)
    estimate = bill(_usage(hourly=(rec,)))
    # 2 h x $0.375 + (3 - 1) x 3,600 x 2 h = 14,400 x $0.0000833
    assert _line(estimate, "recommenders, 100K").subtotal_usd == pytest.approx(0.75)
    assert _line(estimate, "recommenders, rec").quantity == pytest.approx(14_400)
    assert estimate.total_usd == pytest.approx(0.75 + 14_400 * 0.0000833)


def test_endpoint_instance_hours_and_a_missing_price() -> None:
    g5 = HourlyUse(
        kind="endpoint",
        arn="e",
        name="e",
        start=T0,
        end=T0 + 1.5 * HOUR,
        floor=2,
        instance_type="ml.g5.2xlarge",
    )
    estimate = bill(_usage(hourly=(g5,)))
    line = _line(estimate, "SageMaker endpoint")
    # 2 instances x 1.5 h x $1.515
    assert (line.quantity, line.subtotal_usd) == (3.0, pytest.approx(4.545))
    assert line.as_of == "2026-10-05"
    # the packaged catalog has no price in ap-south-1: unknown, and the total says so
    elsewhere = bill(_usage(hourly=(g5,)), region="ap-south-1")
    assert _line(elsewhere, "SageMaker endpoint").subtotal_usd is None
    assert not elsewhere.complete
    assert any("no Hosting price" in w for w in elsewhere.warnings)


def test_bad_region_and_mismatched_table() -> None:
    with pytest.raises(ConfigurationError, match=r"Did you mean 'eu-west-1'\?.*us-east-1"):
        bill(_usage(), region="eu-west-9")
    with pytest.raises(ConfigurationError, match="the price table is for us-east-1"):
        bill(_usage(), region="eu-west-1", prices=PriceTable.packaged("us-east-1"))


_usage_parts = st.fixed_dictionaries(
    {
        "imports": st.lists(
            st.builds(ImportUse, arn=st.just("i"), bytes=st.integers(0, 10**12), at=st.just(T0)),
            max_size=3,
        ).map(tuple),
        "trainings": st.lists(
            st.builds(
                TrainingUse,
                arn=st.just("v"),
                recipe=st.sampled_from(["aws-sims", "aws-user-personalization"]),
                training_hours=st.floats(0, 1000),
                at=st.just(T0),
            ),
            max_size=3,
        ).map(tuple),
        "hourly": st.lists(
            st.builds(
                HourlyUse,
                kind=st.sampled_from(["campaign", "recommender", "endpoint"]),
                arn=st.just("h"),
                name=st.just("h"),
                start=st.just(T0),
                end=st.one_of(st.none(), st.floats(T0, T0 + 2000 * HOUR)),
                floor=st.integers(1, 500).map(float),
                instance_type=st.sampled_from(["ml.g5.2xlarge", "ml.p3.2xlarge", "ml.g6.xlarge"]),
            ),
            max_size=4,
        ).map(tuple),
    }
)


@settings(max_examples=60, deadline=None)
@given(_usage_parts, st.floats(0, 100 * HOUR))
def test_the_total_is_the_known_subtotals_and_grows_with_time(
    parts: dict[str, Any], later: float
) -> None:
    usage = _usage(**parts)
    estimate = bill(usage)
    known = [i.subtotal_usd for i in estimate.items if i.subtotal_usd is not None]
    assert estimate.total_usd == pytest.approx(sum(known))
    assert all(i.quantity >= 0 for i in estimate.items)
    assert estimate.complete == all(i.subtotal_usd is not None for i in estimate.items)
    # what still exists bills on: a later reading never costs less
    later_usage = RunUsage(**{**parts, "taken_at": usage.taken_at + later})
    assert bill(later_usage).total_usd >= estimate.total_usd - 1e-9


# --------------------------------------------------------------------------- the local engine


def test_the_local_engine_records_what_a_run_did(tmp_path: Path) -> None:
    frame = interactions()
    with (
        pk.Session.local(tmp_path / "ws", timing=FAST) as session,
        pk.DatasetGroup.create(session, "billed") as group,
    ):
        group.import_frame(frame)
        s3 = session.client("s3")
        listed = s3.list_objects_v2(Bucket=session.bucket)["Contents"]
        csv_bytes = sum(o["Size"] for o in listed if o["Key"].endswith(".csv"))
        solution = group.train("user-personalization")
        users = sorted(frame["USER_ID"].unique())[:7]
        batch = solution.batch_recommend(users, n=5)
        with solution.deploy(min_tps=2):
            pass
        group.teardown()
        # everything above is deleted: the ledger still knows it
        estimate = bill(session)

    assert _line(estimate, "data").quantity == pytest.approx(csv_bytes / 2**30)
    assert "1 import job(s)" in (_line(estimate, "data").note or "")
    training = _line(estimate, "training, aws-user-personalization")
    assert 0 < training.quantity < 0.1  # this machine's seconds, in hours
    campaign = _line(estimate, "campaigns")
    assert campaign.quantity == pytest.approx(2 * 5 / 60)  # 2 TPS, one 5-minute window
    assert "minProvisionedTPS 2" in (campaign.note or "")
    written = sum(len(items) for items in batch["item_ids"])
    assert _line(estimate, "batch inference").quantity == written == 7 * 5
    assert not estimate.complete


def test_endpoint_lifetimes_from_the_sagemaker_twin(tmp_path: Path) -> None:
    with pk.Session.local(tmp_path / "ws", timing=FAST) as session:
        sm = session.client("sagemaker")
        sm.create_model(
            ModelName="m",
            ExecutionRoleArn="arn:aws:iam::000000000000:role/r",
            PrimaryContainer={"Image": "img"},
        )
        sm.create_endpoint_config(
            EndpointConfigName="c",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "m",
                    "InstanceType": "ml.g5.2xlarge",
                    "InitialInstanceCount": 2,
                }
            ],
        )
        sm.create_endpoint(EndpointName="e", EndpointConfigName="c")
        live = bill(session)
        assert _line(live, "SageMaker endpoint, ml.g5.2xlarge").quantity > 0
        for _ in range(2):  # Creating, then Failed: no handler is registered (it still billed)
            sm.describe_endpoint(EndpointName="e")
        sm.delete_endpoint(EndpointName="e")
        gone = bill(session)
    line = _line(gone, "SageMaker endpoint, ml.g5.2xlarge")
    assert 0 < line.quantity < 0.01  # 2 instances for a moment
    assert line.subtotal_usd == pytest.approx(line.quantity * 1.515)


def test_an_aws_session_has_no_local_record() -> None:
    session = Session.aws(region_name="us-east-1")
    with pytest.raises(ConfigurationError, match="Cost Explorer"):
        bill(session)


# --------------------------------------------------------------------------- the guard


def _month_campaign() -> pk.cost.Estimate:
    batch = BatchUse(
        arn="b", kind="batch-inference-job", recommendations=10, users=0, lines=1, num_results=10
    )
    return bill(_usage(hourly=(_campaign(730 * 60),), batches=(batch,)))  # $146 + unknown


def test_the_guard_refuses_a_plan_before_any_create() -> None:
    personalize = boto3.client("personalize", region_name="us-east-1")
    session = Session.aws(region_name="us-east-1", clients={"personalize": personalize})
    sent: list[str] = []
    personalize.meta.events.register(
        "before-call.personalize.*", lambda model, **_: sent.append(model.name)
    )
    guard = CostGuard(session, budget_usd=100, catalog=Catalog.load(), count_running=False)
    plan = _month_campaign()

    def rehearsed_plan_on_aws() -> None:
        guard.check_plan(plan)  # first, before anything bills
        pk.DatasetGroup.create(session, "never-created")

    with (
        Stubber(personalize),  # any request would fail here, never reach AWS
        pytest.raises(BudgetExceededError, match=r"would cost about \$146\.00 on AWS") as info,
    ):
        rehearsed_plan_on_aws()
    assert sent == []  # no Create* (no request at all) left
    assert info.value.budget_usd == 100
    assert "before anything is created" in str(info.value)


def test_the_guard_passes_a_plan_that_fits_and_says_what_it_left_out() -> None:
    session = Session.aws(region_name="us-east-1")
    guard = CostGuard(session, budget_usd=500, catalog=Catalog.load(), count_running=False)
    check = guard.check_plan(_month_campaign(), times=2)  # 2 x $146 = $292
    assert check.usd_per_month == pytest.approx(292.0)
    assert check.remaining_usd == pytest.approx(208.0)
    assert "batch inference recommendations" in (check.note or "")
    with pytest.raises(BudgetExceededError, match=r"\$584\.00"):
        guard.check_plan(_month_campaign(), times=4)  # 4 x $146 > $500
    strict = CostGuard(
        session, budget_usd=500, catalog=Catalog.load(), count_running=False, strict=True
    )
    with pytest.raises(BudgetExceededError, match="without a known price"):
        strict.check_plan(_month_campaign())
    with pytest.raises(ConfigurationError, match="times must be a positive"):
        guard.check_plan(_month_campaign(), times=0)


# --------------------------------------------------------------------------- quickstart


def test_quickstart_ends_with_the_aws_bill(tmp_path: Path) -> None:
    out = io.StringIO()
    result = run(tmp_path / "ws", n_users=60, progress=False, out=out)
    text = out.getvalue()
    assert "On AWS (us-east-1) this run would cost about $" in text
    assert result.bill is not None
    assert "campaigns, TPS-hours first 20K" in text
    assert "batch inference recommendations" in text
    assert text.index("On AWS") > text.index("Deleted")
    with pytest.raises(ConfigurationError, match="Did you mean"):
        run(tmp_path / "ws2", n_users=60, progress=False, out=out, region="us-est-1")


def test_the_cli_prices_a_kept_workspace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from personakit.cli import main

    workspace = tmp_path / "ws"
    with (
        pk.Session.local(workspace, timing=FAST) as session,
        pk.DatasetGroup.create(session, "kept", keep=True) as group,
    ):
        group.import_frame(interactions())
    assert main(["cost", "bill", "--workspace", str(workspace), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["period"] == "this run"
    assert [i["item"] for i in doc["items"]] == ["data ingestion"]
    assert doc["complete"] is True
    assert main(["cost", "bill", "--workspace", str(workspace), "--region", "eu-wst-1"]) == 2
    assert "Did you mean 'eu-west-1'" in capsys.readouterr().err
