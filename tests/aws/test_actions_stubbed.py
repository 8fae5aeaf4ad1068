"""Next best actions (``GetActionRecommendations``) against a real boto3 client under Stubber."""

from __future__ import annotations

import pytest
from _env import Env
from _lifecycle import CAMP, DSG, GONE, SOL, SV, TAGS
from botocore.stub import ANY

from personakit.errors import ConfigurationError
from personakit.personalize.group import DatasetGroup

NBA = "arn:aws:personalize:::recipe/aws-next-best-action"


def test_recommend_actions_sends_the_request_and_types_the_answer(env: Env) -> None:
    s = env.script
    s.ok(
        "list_dataset_groups",
        {"maxResults": 100},
        {"datasetGroups": [{"name": "shop", "datasetGroupArn": DSG}]},
    )
    s.ok(
        "describe_dataset_group",
        {"datasetGroupArn": DSG},
        {"datasetGroup": {"name": "shop", "datasetGroupArn": DSG, "status": "ACTIVE"}},
    )
    s.ok("list_datasets", {"datasetGroupArn": DSG, "maxResults": 100}, {"datasets": []})
    s.ok(
        "create_solution",
        {
            "name": "nba",
            "datasetGroupArn": DSG,
            "recipeArn": NBA,
            "performHPO": False,
            "performAutoTraining": False,
            "tags": TAGS,
        },
        {"solutionArn": SOL},
    )
    s.describe("solution", SOL, "ACTIVE")
    s.ok(
        "create_solution_version",
        {"solutionArn": SOL, "name": ANY, "trainingMode": "FULL", "tags": TAGS},
        {"solutionVersionArn": SV},
    )
    s.describe("solution_version", SV, "ACTIVE")
    s.ok(
        "create_campaign",
        {"name": "nba-run-1", "solutionVersionArn": SV, "minProvisionedTPS": 1, "tags": TAGS},
        {"campaignArn": CAMP},
    )
    s.describe("campaign", CAMP, "ACTIVE")
    env.rt.ok(
        "get_action_recommendations",
        {"campaignArn": CAMP, "userId": "u1", "numResults": 3},
        {
            "actionList": [
                {"actionId": "join-loyalty", "score": 0.61},
                {"actionId": "download-app", "score": 0.22},
            ],
            "recommendationId": "RID-A",
        },
    )
    s.delete("campaign", CAMP)
    s.describe("campaign", CAMP, GONE)
    s.delete("solution", SOL)
    s.describe("solution", SOL, GONE)
    with DatasetGroup.attach(env.session, "shop", timing=env.timing) as group:
        solution = group.train("next-best-action", name="nba")
        with solution.deploy() as campaign:
            with pytest.raises(ConfigurationError, match="from 1 to 100"):
                campaign.recommend_actions("u1", n=101)  # refused before any request
            actions = campaign.recommend_actions("u1", n=3)
    assert actions.item_ids == ["join-loyalty", "download-app"]
    assert actions.recommendation_id == "RID-A"
    assert [r.score for r in actions] == [0.61, 0.22]
    env.verify()
