"""Recommenders on the embedded local engine: a VIDEO_ON_DEMAND group with generated data.

Create (waited for until ACTIVE), recommend, stop and start, update, a use case
that fails for want of ``Watch`` events (deleted before the error is raised), and
nothing left behind: ``ListRecommenders`` and ``ListEventTrackers`` end empty.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from _local import FAST
from personakit import local
from personakit.aws.session import Session
from personakit.cost import Catalog, CostGuard
from personakit.errors import (
    BudgetExceededError,
    ConfigurationError,
    ResourceFailedError,
    ResourceStateError,
)
from personakit.personalize.group import DatasetGroup
from personakit.personalize.recommender import Recommender
from personakit.personalize.serving import Recommendations
from personakit.samples import synthetic


def session_for(engine: Any) -> Session:
    engine.ensure_bucket("pk-local")
    return Session(engine, region="us-east-1", bucket="pk-local", role_arn=engine.role_arn)


def test_recommender_lifecycle_leaves_nothing(tmp_path: Path) -> None:
    # mostly clicks: about 200 Watch events, too few for most-popular (1000, reference §3.3)
    data = synthetic(80, 120, 2200, seed=3, event_types=("Click", "Watch"), event_value=False)
    with local.LocalEngine(tmp_path, min_state_s=0.01) as engine:
        session = session_for(engine)
        personalize = session.client("personalize")
        with DatasetGroup.create(session, "vod", domain="VIDEO_ON_DEMAND", timing=FAST) as group:
            group.import_frame(data.interactions)
            group.import_frame(
                data.items[["ITEM_ID", "GENRES", "CREATION_TIMESTAMP"]], dataset_type="items"
            )
            with group.recommender("top-picks") as rec:
                assert isinstance(rec, Recommender)
                assert rec.status() == "ACTIVE"
                assert 0 < rec.metrics["coverage"] <= 1
                recs = rec.recommend(user_id="u7", n=10)
                assert isinstance(recs, Recommendations)
                assert 0 < len(recs) <= 10
                assert len(set(recs.item_ids)) == len(recs.item_ids)
                with pytest.raises(ConfigurationError, match="needs user_id"):
                    rec.recommend(n=10)
                assert rec.stop() == "INACTIVE"
                assert rec.status() == "INACTIVE"
                # a started recommender bills again: a guard that cannot afford it refuses
                tight = CostGuard(session, budget_usd=1, catalog=Catalog.load())
                with pytest.raises(BudgetExceededError, match="a recommender costs"):
                    rec.start(guard=tight)
                assert rec.status() == "INACTIVE"  # StartRecommender was never sent
                assert rec.start() == "ACTIVE"
                assert rec.recommend(user_id="u7", n=10).item_ids
                rec.update(min_rps=2)
                assert (
                    rec.describe()["recommenderConfig"]["minRecommendationRequestsPerSecond"] == 2
                )
                # events change what the recommender serves that user
                tracker = group.event_tracker()
                tracker.put_events(
                    [
                        {
                            "USER_ID": "u7",
                            "ITEM_ID": item,
                            "EVENT_TYPE": "Watch",
                            "TIMESTAMP": dt.datetime(2030, 1, 1 + k),
                        }
                        for k, item in enumerate(recs.item_ids[:3])
                    ]
                )
                assert rec.recommend(user_id="u7", n=10).item_ids != recs.item_ids
            # leaving the block deleted it, and waited until it was gone
            assert personalize.list_recommenders(datasetGroupArn=group.arn)["recommenders"] == []
            with pytest.raises(ResourceStateError, match=r"was deleted.*keep=True") as gone:
                rec.recommend(user_id="u7", n=10)  # the fix, not "does not exist"
            assert rec.name in str(gone.value)
            assert gone.value.arn == rec.arn
            with pytest.raises(ResourceFailedError, match="Watch") as caught:
                group.recommender("most-popular")
            assert caught.value.status == "CREATE FAILED"
            assert personalize.list_recommenders(datasetGroupArn=group.arn)["recommenders"] == []
            more = group.recommender("more-like-x")
            with pytest.raises(ConfigurationError, match="needs item_id"):
                more.recommend(user_id="u7")
            similar = more.recommend(user_id="u7", item_id=recs.item_ids[0], n=5)
            assert 0 < len(similar) <= 5
            assert recs.item_ids[0] not in similar.item_ids
        # the group's teardown took the tracker and the second recommender with it
        assert personalize.list_recommenders()["recommenders"] == []
        assert personalize.list_event_trackers()["eventTrackers"] == []
        assert personalize.list_dataset_groups()["datasetGroups"] == []
        assert personalize.list_datasets()["datasets"] == []


def test_custom_group_has_no_recommenders(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path, min_state_s=0.01) as engine:
        session = session_for(engine)
        with (
            DatasetGroup.create(session, "custom", timing=FAST) as group,
            pytest.raises(ConfigurationError, match="custom dataset group"),
        ):
            group.recommender("top-picks")
        assert session.client("personalize").list_recommenders()["recommenders"] == []
