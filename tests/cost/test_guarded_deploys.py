"""Campaigns and recommenders deployed with a CostGuard: refused before anything bills."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from _accounts import FAST, interactions, session
from botocore.stub import Stubber

from personakit import local
from personakit.aws.session import Session
from personakit.aws.timing import Timing
from personakit.cost import Catalog, CostGuard
from personakit.errors import BudgetExceededError
from personakit.personalize.campaign import Campaign
from personakit.personalize.group import DatasetGroup


def test_a_campaign_that_breaks_the_budget_is_never_created(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        s = session(engine, "guarded")
        personalize = s.client("personalize")
        with DatasetGroup.create(s, "guarded", timing=FAST) as group:
            group.import_frame(interactions())
            solution = group.train("popularity-count")
            guard = CostGuard(s, budget_usd=1000, catalog=Catalog.load())

            # 5 TPS floor: 5 x $0.20 x 730 h = $730 a month, fits $1,000
            with solution.deploy(min_tps=5, guard=guard, name="fits") as campaign:
                assert campaign.arn
                # a second one at 2 TPS ($292) does not fit next to the first ($730)
                with pytest.raises(BudgetExceededError) as info:
                    solution.deploy(min_tps=2, guard=guard, name="too-dear")
                error = info.value
                assert error.what == "a campaign at 2 TPS"
                assert error.remaining_usd == pytest.approx(1000 - 730)
                assert "already running ($1.00/h)" in str(error)
                names = [c["name"] for c in personalize.list_campaigns()["campaigns"]]
                assert names == ["fits"]  # nothing was created for the refused one

            # without anything running, a month of 10 TPS ($1,460) is refused too
            with pytest.raises(BudgetExceededError, match=r"\$1,460\.00 a month"):
                solution.deploy(min_tps=10, guard=guard, name="floor-too-high")
        assert personalize.list_campaigns()["campaigns"] == []


def test_a_recommender_asks_the_guard_first(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        s = session(engine, "guarded")
        spent = CostGuard(s, budget_usd=1000, spent_usd=990, catalog=Catalog.load())
        group = DatasetGroup.create(s, "vod", domain="VIDEO_ON_DEMAND", timing=FAST)
        with group, pytest.raises(BudgetExceededError, match="a recommender costs"):
            group.recommender("top-picks", guard=spent)
        assert s.client("personalize").list_recommenders()["recommenders"] == []


# --------------------------------------------------------------------------- asked once


class RecordingGuard:
    """A SpendGuard that approves everything and records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int, int | None]] = []

    def check_campaign(self, min_tps: int, *, current_tps: int | None = None) -> None:
        self.asked.append(("campaign", min_tps, current_tps))

    def check_recommender(self, *, min_rps: int = 1, current_rps: int | None = None) -> None:
        self.asked.append(("recommender", min_rps, current_rps))


A = "arn:aws:personalize:us-east-1:123456789012"
DSG = f"{A}:dataset-group/movies"
SOL = f"{A}:solution/pop"
SV = f"{A}:solution/pop/1a2b3c4d"
CAMP = f"{A}:campaign/c"
PENDING = "More than 5 resources with PENDING or IN_PROGRESS status."


def test_a_throttled_create_campaign_asks_the_guard_once() -> None:
    personalize = boto3.client("personalize", region_name="us-east-1")
    s = Session.aws(region_name="us-east-1", clients={"personalize": personalize}, run_id="r1")
    slept: list[float] = []
    timing = Timing(sleep=slept.append, rng=lambda: 0.5, progress=False)
    guard = RecordingGuard()
    with Stubber(personalize) as stub:
        group_body = {"name": "movies", "datasetGroupArn": DSG, "status": "ACTIVE"}
        stub.add_response("describe_dataset_group", {"datasetGroup": group_body})
        stub.add_response("list_datasets", {"datasets": []})
        stub.add_response("create_solution", {"solutionArn": SOL})
        stub.add_response(
            "describe_solution", {"solution": {"solutionArn": SOL, "status": "ACTIVE"}}
        )
        stub.add_response("create_solution_version", {"solutionVersionArn": SV})
        # the guard's look for an existing campaign: none, so it is asked
        stub.add_response("list_campaigns", {"campaigns": []}, {"maxResults": 100})
        create = {
            "name": "c",
            "solutionVersionArn": SV,
            "minProvisionedTPS": 2,
            "tags": [{"tagKey": "personakit:run", "tagValue": "r1"}],
        }
        stub.add_client_error(
            "create_campaign", "ThrottlingException", "Rate exceeded", 400, expected_params=create
        )
        stub.add_client_error(
            "create_campaign", "LimitExceededException", PENDING, 400, expected_params=create
        )
        stub.add_response("create_campaign", {"campaignArn": CAMP}, create)

        group = DatasetGroup.attach(s, DSG, timing=timing)
        solution = group.train("popularity-count", name="pop", wait=False)
        campaign = Campaign.create(solution, min_tps=2, name="c", wait=False, guard=guard)

        stub.assert_no_pending_responses()
    assert campaign.arn == CAMP
    assert len(slept) == 2  # the create was retried twice ...
    assert guard.asked == [("campaign", 2, None)]  # ... and the guard asked once, before it


# --------------------------------------------------------------------------- adoption, updates


def test_adopting_a_campaign_does_not_ask_the_guard(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        s = session(engine, "adopt")
        with DatasetGroup.create(s, "adopt", timing=FAST) as group:
            group.import_frame(interactions())
            solution = group.train("popularity-count")
            # 1 TPS: $146 a month, fits $200 once but not twice
            first = solution.deploy(
                min_tps=1, name="shared", guard=CostGuard(s, budget_usd=200, catalog=Catalog.load())
            )
            recording = RecordingGuard()
            again = solution.deploy(min_tps=1, name="shared", guard=recording)
            assert recording.asked == []
            # a fresh guard lists the running campaign ($146): asked, it would refuse
            # a second one; adopting the same campaign adds nothing, so it is not asked
            fresh = CostGuard(s, budget_usd=200, catalog=Catalog.load())
            adopted = solution.deploy(min_tps=1, name="shared", guard=fresh)
            assert first.arn == again.arn == adopted.arn
            with pytest.raises(BudgetExceededError):
                fresh.check_campaign(1)


def test_raising_the_campaign_floor_asks_for_the_increase(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        s = session(engine, "raise")
        personalize = s.client("personalize")
        with DatasetGroup.create(s, "raise", timing=FAST) as group:
            group.import_frame(interactions())
            solution = group.train("popularity-count")
            guard = CostGuard(s, budget_usd=500, catalog=Catalog.load())
            with solution.deploy(min_tps=1, guard=guard) as campaign:
                # $146 a month runs; 1 -> 3 TPS adds 2 x $0.20 x 730 = $292: fits $354
                campaign.update(min_tps=3, guard=guard)
                assert campaign.min_tps == 3
                # 3 -> 5 TPS adds another $292, but only $500 - $438 = $62 is left
                with pytest.raises(BudgetExceededError) as info:
                    campaign.update(min_tps=5, guard=guard)
                assert info.value.what == "raising a campaign from 3 to 5 TPS"
                described = personalize.describe_campaign(campaignArn=campaign.arn)["campaign"]
                assert described["minProvisionedTPS"] == 3  # no UpdateCampaign was sent
                assert described.get("latestCampaignUpdate", {}).get("minProvisionedTPS") == 3
                assert campaign.min_tps == 3
                # lowering the floor costs nothing: allowed without a budget check
                campaign.update(min_tps=2, guard=guard)
                assert campaign.min_tps == 2


def test_raising_a_recommender_floor_past_the_budget_sends_nothing(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        s = session(engine, "vod")
        personalize = s.client("personalize")
        with DatasetGroup.create(s, "vod", domain="VIDEO_ON_DEMAND", timing=FAST) as group:
            recommender = group.recommender("top-picks", wait=False)
            # each request/s above the first: 3,600 extra recommendations an hour at
            # $0.0833 per 1,000 = $0.30/h, $218.91 a month; 1 -> 3 is $437.82
            guard = CostGuard(s, budget_usd=400, catalog=Catalog.load(), count_running=False)
            with pytest.raises(BudgetExceededError, match=r"\$437\.82 a month") as info:
                recommender.update(min_rps=3, guard=guard, wait=False)
            assert info.value.what == "raising a recommender from 1 to 3 requests/s"
            described = personalize.describe_recommender(recommenderArn=recommender.arn)
            config = described["recommender"]["recommenderConfig"]
            assert config["minRecommendationRequestsPerSecond"] == 1
            assert recommender.min_rps == 1
