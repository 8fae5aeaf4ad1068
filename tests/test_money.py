"""Money: deploying again with other settings goes through the guard and reports what the
service has; ``keep=True`` tags at creation, so a sweep spares what was kept even when no
teardown ran; quota errors name the quota AWS named.

On the local engine, except the quota error, which only AWS can send (``Stubber``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from _local import FAST, interactions
from personakit.aws.retry import RetryPolicy, quota_error
from personakit.aws.session import Session
from personakit.aws.timing import Timing
from personakit.cost import Catalog, CostGuard, sweep
from personakit.errors import BudgetExceededError, ConfigurationError, QuotaExceededError
from personakit.personalize.group import DatasetGroup
from personakit.rules.facts import KEEP_TAG, RUN_TAG
from personakit.samples import synthetic


class RecordingGuard:
    """A SpendGuard that approves everything and records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int, int | None]] = []

    def check_campaign(self, min_tps: int, *, current_tps: int | None = None) -> None:
        self.asked.append(("campaign", min_tps, current_tps))

    def check_recommender(self, *, min_rps: int = 1, current_rps: int | None = None) -> None:
        self.asked.append(("recommender", min_rps, current_rps))


def _campaign(personalize: Any, arn: str) -> dict[str, Any]:
    return dict(personalize.describe_campaign(campaignArn=arn)["campaign"])


# --------------------------------------------------------------------------- deploy again


def test_deploying_again_with_another_floor_asks_the_guard_and_updates(tmp_path: Path) -> None:
    with Session.local(tmp_path, timing=FAST, min_state_s=0.01) as session:
        personalize = session.client("personalize")
        with DatasetGroup.create(session, "again") as group:
            group.import_frame(interactions())
            solution = group.train("popularity-count")
            first = solution.deploy(min_tps=1)

            # 1 -> 5 TPS adds 4 x $0.20 x 730 h = $584 a month: a $300 budget refuses
            small = CostGuard(session, budget_usd=300, catalog=Catalog.load(), count_running=False)
            with pytest.raises(BudgetExceededError) as info:
                solution.deploy(min_tps=5, guard=small)
            assert info.value.what == "raising a campaign from 1 to 5 TPS"
            described = _campaign(personalize, first.arn)
            assert described["minProvisionedTPS"] == 1
            assert "latestCampaignUpdate" not in described  # UpdateCampaign was never sent

            guard = RecordingGuard()
            again = solution.deploy(min_tps=5, guard=guard)
            assert guard.asked == [("campaign", 5, 1)]  # the increase, asked once
            assert again.arn == first.arn
            described = _campaign(personalize, again.arn)
            assert again.min_tps == described["minProvisionedTPS"] == 5
            assert described["status"] == "ACTIVE"
            assert described["latestCampaignUpdate"]["status"] == "ACTIVE"  # waited for

            # settings not given: the campaign keeps its own, and reports them
            same = solution.deploy(guard=guard)
            assert (same.arn, same.min_tps) == (first.arn, 5)
            assert guard.asked == [("campaign", 5, 1)]  # nothing more to ask
            assert len(personalize.list_campaigns()["campaigns"]) == 1
        assert personalize.list_campaigns()["campaigns"] == []


def test_a_campaign_this_run_did_not_create_is_not_changed(tmp_path: Path) -> None:
    with Session.local(tmp_path, timing=FAST, min_state_s=0.01) as session:
        personalize = session.client("personalize")
        with DatasetGroup.create(session, "theirs") as group:
            group.import_frame(interactions())
            solution = group.train("popularity-count")
            # someone else's campaign (no personakit:run tag of this run) on that version
            arn = personalize.create_campaign(
                name="shared", solutionVersionArn=solution.version_arn, minProvisionedTPS=1
            )["campaignArn"]
            with pytest.raises(ConfigurationError, match="did not create it") as info:
                solution.deploy(min_tps=3, name="shared", guard=RecordingGuard())
            assert "min_tps 1, asked 3" in str(info.value)
            assert _campaign(personalize, arn)["minProvisionedTPS"] == 1
            # with its own settings it is adopted as it is, and reported as it is
            adopted = solution.deploy(name="shared")
            assert (adopted.arn, adopted.owned, adopted.min_tps) == (arn, False, 1)
            adopted.delete()


def test_deploying_a_recommender_again_with_another_floor_asks_the_guard(
    tmp_path: Path,
) -> None:
    data = synthetic(80, 120, 2200, seed=3, event_types=("Click", "Watch"), event_value=False)
    with Session.local(tmp_path, timing=FAST, min_state_s=0.01) as session:
        personalize = session.client("personalize")
        with DatasetGroup.create(session, "vod", domain="VIDEO_ON_DEMAND") as group:
            group.import_frame(data.interactions)
            first = group.recommender("top-picks", min_rps=1)
            tight = CostGuard(session, budget_usd=100, catalog=Catalog.load(), count_running=False)
            with pytest.raises(BudgetExceededError, match="from 1 to 3 requests/s"):
                group.recommender("top-picks", min_rps=3, guard=tight)
            config = personalize.describe_recommender(recommenderArn=first.arn)["recommender"][
                "recommenderConfig"
            ]
            assert config["minRecommendationRequestsPerSecond"] == 1
            guard = RecordingGuard()
            again = group.recommender("top-picks", min_rps=3, guard=guard)
            assert guard.asked == [("recommender", 3, 1)]
            assert again.arn == first.arn
            config = personalize.describe_recommender(recommenderArn=again.arn)["recommender"][
                "recommenderConfig"
            ]
            assert again.min_rps == config["minRecommendationRequestsPerSecond"] == 3
        assert personalize.list_recommenders()["recommenders"] == []


# --------------------------------------------------------------------------- keep=True


def _tags(personalize: Any, arn: str) -> dict[str, str]:
    listed = personalize.list_tags_for_resource(resourceArn=arn)["tags"]
    return {t["tagKey"]: t["tagValue"] for t in listed}


def _kept(personalize: Any, arn: str) -> bool:
    return _tags(personalize, arn).get(KEEP_TAG) == "true"


def test_keep_true_tags_at_creation_and_a_sweep_spares_it_without_any_teardown(
    tmp_path: Path,
) -> None:
    with Session.local(tmp_path, timing=FAST, min_state_s=0.01) as session:
        personalize = session.client("personalize")
        # a whole group kept, no `with` block: every resource carries the tag at once
        kept = DatasetGroup.create(session, "kept", keep=True)
        assert _kept(personalize, kept.arn)
        dataset = kept.import_frame(interactions())
        assert _kept(personalize, dataset.arn)
        solution = kept.train("popularity-count")
        assert _kept(personalize, solution.arn)
        campaign = solution.deploy(min_tps=1)
        assert _kept(personalize, campaign.arn)
        tracker = kept.event_tracker()
        assert _kept(personalize, tracker.arn)
        # a campaign kept in a group that is not: it and what it needs are tagged at once
        other = DatasetGroup.create(session, "other")
        other.import_frame(interactions())
        other_solution = other.train("popularity-count")
        assert not _kept(personalize, other_solution.arn)
        kept_campaign = other_solution.deploy(min_tps=1, keep=True)
        for arn in (kept_campaign.arn, other_solution.arn, other.arn):
            assert _kept(personalize, arn), arn
        # an event tracker kept on its own
        third = DatasetGroup.create(session, "third")
        third.import_frame(interactions())
        kept_tracker = third.event_tracker(keep=True)
        assert _kept(personalize, kept_tracker.arn)
        assert _tags(personalize, kept_tracker.arn)[RUN_TAG] == session.run_id

        # the process "ends" here: no teardown ran. A sweep of the run spares what was kept
        report = sweep(session, dry_run=False, run_id=session.run_id, services=("personalize",))
        campaigns = {c["campaignArn"] for c in personalize.list_campaigns()["campaigns"]}
        assert {campaign.arn, kept_campaign.arn} <= campaigns
        trackers = {
            t["eventTrackerArn"] for t in personalize.list_event_trackers()["eventTrackers"]
        }
        assert {tracker.arn, kept_tracker.arn} <= trackers
        groups = {g["name"] for g in personalize.list_dataset_groups()["datasetGroups"]}
        assert {"kept", "other", "third"} <= groups
        assert any("kept on purpose" in s for s in report.spared)

        everything = sweep(
            session,
            dry_run=False,
            run_id=session.run_id,
            include_kept=True,
            services=("personalize",),
        )
        assert everything.ok, everything
        assert personalize.list_dataset_groups()["datasetGroups"] == []


# --------------------------------------------------------------------------- quotas

PENDING = "More than 5 resources with PENDING or IN_PROGRESS status."


def test_a_pending_jobs_limit_is_named_as_aws_names_it() -> None:
    personalize = boto3.client(
        "personalize",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    session = Session.aws(region_name="us-east-1", clients={"personalize": personalize})
    slept: list[float] = []
    timing = Timing(
        policy=RetryPolicy(quota_deadline_s=60.0),
        sleep=slept.append,
        clock=lambda: sum(slept),
        rng=lambda: 0.5,
        progress=False,
    )
    with Stubber(personalize) as stub:
        for _ in range(3):  # waited out (30 s, then the deadline), then raised
            stub.add_client_error("create_dataset_group", "LimitExceededException", PENDING, 400)
        with pytest.raises(QuotaExceededError) as info:
            DatasetGroup.create(session, "movies", timing=timing)
    error = info.value
    assert error.quota == "resources with PENDING or IN_PROGRESS status (at most 5, AWS says)"
    assert "dataset groups" not in error.quota  # not the operation's usual quota
    assert "wait for the resources still being created" in error.how_to_fix
    assert "waited 60s" in error.how_to_fix
    assert error.operation == "CreateDatasetGroup"
    assert error.detail == PENDING


def _limit(operation: str, message: str) -> QuotaExceededError:
    exc = ClientError({"Error": {"Code": "LimitExceededException", "Message": message}}, operation)
    return quota_error(exc)


@pytest.mark.parametrize(
    ("operation", "message", "quota"),
    [
        # the message names the quota the operation usually meets: the usual, with its default
        (
            "CreateCampaign",
            "Cannot create a campaign. More than 5 resources in ACTIVE state.",
            "active campaigns per dataset group",
        ),
        ("CreateSolutionVersion", PENDING, "pending or in-progress solution versions per region"),
        ("CreateFilter", "More than 10 filters exist in the dataset group.", "filters per dataset"),
        # another quota than the operation's: the one AWS named
        ("CreateDatasetGroup", PENDING, "resources with PENDING or IN_PROGRESS status"),
        ("CreateSolutionVersion", "More than 5 resources in ACTIVE state.", "resources in ACTIVE"),
        ("CreateDatasetGroup", "More than 10 filters exist.", "filters (at most 10, AWS says)"),
        # no quota named: the operation's
        ("CreateSolution", "Limit exceeded.", "active solutions per dataset group"),
    ],
)
def test_quota_errors_name_the_quota_the_message_names(
    operation: str, message: str, quota: str
) -> None:
    assert _limit(operation, message).quota.startswith(quota)
