"""Event trackers and real-time data on the embedded local engine.

A VIDEO_ON_DEMAND dataset group with generated data (``pk.samples.synthetic``):
events recorded with ``put_events`` change the user's next recommendations from a
campaign (and only that user's), ``put_items`` replaces an item's metadata as
filters see it, and the group's teardown deletes the tracker with the rest.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from botocore.exceptions import ClientError

from _local import FAST
from personakit import local
from personakit.aws.session import Session
from personakit.errors import ValidationError
from personakit.personalize.group import DatasetGroup
from personakit.rules.filters import Filter
from personakit.samples import synthetic

BUCKET = "pk-local"


def session_for(engine: Any) -> Session:
    engine.ensure_bucket(BUCKET)
    return Session(engine, region="us-east-1", bucket=BUCKET, role_arn=engine.role_arn)


def leftovers(personalize: Any) -> dict[str, list[Any]]:
    found = {
        "datasetGroups": personalize.list_dataset_groups().get("datasetGroups", []),
        "datasets": personalize.list_datasets().get("datasets", []),
        "solutions": personalize.list_solutions().get("solutions", []),
        "campaigns": personalize.list_campaigns().get("campaigns", []),
        "recommenders": personalize.list_recommenders().get("recommenders", []),
        "eventTrackers": personalize.list_event_trackers().get("eventTrackers", []),
        "filters": personalize.list_filters().get("Filters", []),
        "schemas": personalize.list_schemas().get("schemas", []),
    }
    return {key: value for key, value in found.items() if value}


def test_put_events_change_that_users_next_recommendations(tmp_path: Path) -> None:
    data = synthetic(80, 120, 2000, seed=3, event_types=("Watch", "Click"), event_value=False)
    items = data.items[["ITEM_ID", "GENRES", "CREATION_TIMESTAMP"]]
    with local.LocalEngine(tmp_path, min_state_s=0.01) as engine:
        session = session_for(engine)
        with DatasetGroup.create(session, "vod", domain="VIDEO_ON_DEMAND", timing=FAST) as group:
            group.import_frame(data.interactions)
            group.import_frame(items, dataset_type="items")
            # shortcuts forward every argument, None deadlines included
            solution = group.train("user-personalization", timeout_s=None)
            campaign = solution.deploy(1, timeout_s=None)
            before = campaign.recommend(user_id="u7", n=10).item_ids
            other = campaign.recommend(user_id="u8", n=10).item_ids
            tracker = group.event_tracker("vod-events", timeout_s=None)
            assert tracker.tracking_id
            assert tracker.name == "vod-events"
            assert group.event_tracker() is tracker  # one per group
            # u7 binges the items least watched so far: their tastes move
            counts = data.interactions["ITEM_ID"].value_counts()
            rare = [i for i in items["ITEM_ID"] if i not in counts.index[:60]][:12]
            clicks = pd.DataFrame(
                {
                    "userId": "u7",
                    "itemId": rare,
                    "eventType": "Watch",
                    "TIMESTAMP": [
                        dt.datetime(2030, 1, 1) + dt.timedelta(minutes=k) for k in range(12)
                    ],
                }
            )
            result = tracker.put_events(clicks)
            assert (result.sent, result.calls) == (12, 2)
            assert set(result.session_ids) == {"u7"}
            after = campaign.recommend(user_id="u7", n=10).item_ids
            assert after != before
            assert campaign.recommend(user_id="u8", n=10).item_ids == other
            # a domain group's events need an event type: refused before anything is sent
            with pytest.raises(ValidationError, match="EVENT_TYPE"):
                tracker.put_events({"USER_ID": "u7", "ITEM_ID": rare[0]})
            assert campaign.recommend(user_id="u7", n=10).item_ids == after
        assert leftovers(session.client("personalize")) == {}


def test_put_items_replaces_metadata_that_filters_see(tmp_path: Path) -> None:
    data = synthetic(60, 80, 1500, seed=5, event_types=("Watch",), event_value=False)
    items = data.items[["ITEM_ID", "GENRES", "CREATION_TIMESTAMP"]]
    with local.LocalEngine(tmp_path, min_state_s=0.01) as engine:
        session = session_for(engine)
        with DatasetGroup.create(session, "vod", domain="VIDEO_ON_DEMAND", timing=FAST) as group:
            group.import_frame(data.interactions)
            group.import_frame(items, dataset_type="items")
            with group.train("popularity-count").deploy() as campaign:
                no_cult = Filter.exclude_items("Items.GENRES IN ($genres)")
                top = campaign.recommend(user_id="u1", n=5).item_ids
                filtered = campaign.recommend(
                    user_id="u1", n=5, filter=no_cult, filter_values={"genres": ["Cult"]}
                )
                assert filtered.item_ids == top  # no item is Cult yet
                tracker = group.event_tracker()
                result = tracker.put_items(
                    [
                        {
                            "itemId": top[0],
                            "genres": ["Cult", "Drama"],
                            "creationTimestamp": dt.datetime(2024, 1, 1),
                        }
                    ]
                )
                assert (result.sent, result.calls) == (1, 1)
                filtered = campaign.recommend(
                    user_id="u1", n=5, filter=no_cult, filter_values={"genres": ["Cult"]}
                )
                assert top[0] not in filtered.item_ids
                assert top[1] in filtered.item_ids
            # the Items schema is checked first: a missing required field is named
            with pytest.raises(ValidationError, match="GENRES"):
                tracker.put_items({"ITEM_ID": "new", "CREATION_TIMESTAMP": 1_700_000_000})
        personalize = session.client("personalize")
        with pytest.raises(ClientError):
            personalize.describe_event_tracker(eventTrackerArn=tracker.arn)
        assert leftovers(personalize) == {}


def test_a_tracker_shared_by_threads_gives_a_user_one_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Web threads putting events for the same user at once get one generated sessionId."""
    import threading
    import time
    import uuid

    import personakit.personalize.events as pke

    class SlowUuid:  # widens the look-up-then-create window, as a busy server would
        @staticmethod
        def uuid4() -> uuid.UUID:
            time.sleep(0.01)
            return uuid.uuid4()

    threads_n = 6
    with local.LocalEngine(tmp_path, min_state_s=0.01) as engine:
        session = session_for(engine)
        with DatasetGroup.create(session, "web", timing=FAST) as group:
            tracker = group.event_tracker()
            tracker.put_events({"USER_ID": "warm-up", "ITEM_ID": "i0", "TIMESTAMP": 1_700_000_000})
            monkeypatch.setattr(pke, "uuid", SlowUuid)
            start = threading.Barrier(threads_n)
            results: list[Any] = []
            errors: list[BaseException] = []

            def click(k: int) -> None:
                try:
                    start.wait()
                    event = {"USER_ID": "u1", "ITEM_ID": f"i{k}", "TIMESTAMP": 1_700_000_000 + k}
                    results.append(tracker.put_events(event))
                except BaseException as exc:  # reported below
                    errors.append(exc)

            workers = [threading.Thread(target=click, args=(k,)) for k in range(threads_n)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            assert errors == []
            assert sum(r.sent for r in results) == threads_n
            generated = [r.session_ids["u1"] for r in results if "u1" in r.session_ids]
            assert len(generated) == 1  # one thread made the session; the others used it
            later = tracker.put_events(
                {"USER_ID": "u1", "ITEM_ID": "i9", "TIMESTAMP": 1_700_000_099}
            )
            assert later.session_ids == {}  # the session goes on
