"""Event trackers and PutEvents / PutItems / PutUsers against real boto3 clients under Stubber.

Every request is validated by botocore against the ``personalize`` and
``personalize-events`` service models and compared with the exact parameters
expected: batches of at most 10, ``properties`` as JSON text with camelCase keys,
``sentAt`` in epoch seconds, one ``sessionId`` per user.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import boto3
import pandas as pd
import pytest
from _env import Env, make_env
from _lifecycle import BUCKET, DS_I, DS_T, DSG, REGION, ROLE, RUN, TAGS, A, Script
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from personakit.aws.session import Session
from personakit.errors import ConfigurationError, ValidationError
from personakit.personalize.events import EventTracker, camel_case
from personakit.personalize.group import DatasetGroup

TRACKER = f"{A}:event-tracker/movies-events"
TRACKING_ID = "0f1e2d3c-tracking"
SCHEMA_I = f"{A}:schema/pk-interactions-meta"
SCHEMA_T = f"{A}:schema/pk-items-meta"
SCHEMA_JSON_I = json.dumps(
    {
        "type": "record",
        "name": "Interactions",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [
            {"name": "USER_ID", "type": "string"},
            {"name": "ITEM_ID", "type": "string"},
            {"name": "TIMESTAMP", "type": "long"},
            {"name": "EVENT_TYPE", "type": "string"},
            {"name": "EVENT_VALUE", "type": ["null", "float"]},
            {"name": "DEVICE_KIND", "type": ["null", "string"], "categorical": True},
        ],
        "version": "1.0",
    }
)
SCHEMA_JSON_T = json.dumps(
    {
        "type": "record",
        "name": "Items",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [
            {"name": "ITEM_ID", "type": "string"},
            {"name": "GENRES", "type": "string", "categorical": True},
            {"name": "RELEASE_YEAR", "type": ["null", "int"]},
        ],
        "version": "1.0",
    }
)


@attrs.define
class EvEnv:
    env: Env
    session: Session
    ev: Script
    ev_stubber: Stubber

    @property
    def s(self) -> Script:
        return self.env.script

    def verify(self) -> None:
        self.env.verify()
        self.ev_stubber.assert_no_pending_responses()


@pytest.fixture
def ev_env() -> Iterator[EvEnv]:
    for env in make_env():
        events = boto3.client("personalize-events", region_name=REGION)
        env.log.hook(events)
        session = Session.aws(
            clients={
                "personalize": env.personalize,
                "personalize-runtime": env.runtime,
                "personalize-events": events,
                "s3": env.s3,
            },
            region_name=REGION,
            bucket=BUCKET,
            role_arn=ROLE,
            run_id=RUN,
        )
        with Stubber(events) as stubber:
            yield EvEnv(env, session, Script(stubber), stubber)


def expect_attach(s: Script) -> None:
    s.ok(
        "describe_dataset_group",
        {"datasetGroupArn": DSG},
        {"datasetGroup": {"name": "movies", "datasetGroupArn": DSG, "status": "ACTIVE"}},
    )
    s.ok(
        "list_datasets",
        {"datasetGroupArn": DSG, "maxResults": 100},
        {
            "datasets": [
                {"name": "movies-interactions", "datasetArn": DS_I, "datasetType": "INTERACTIONS"},
                {"name": "movies-items", "datasetArn": DS_T, "datasetType": "ITEMS"},
            ]
        },
    )


def expect_tracker(s: Script, *, existing: list[dict[str, Any]] | None = None) -> None:
    s.ok(
        "list_event_trackers",
        {"datasetGroupArn": DSG, "maxResults": 100},
        {"eventTrackers": existing or []},
    )
    if existing:
        return
    s.ok(
        "create_event_tracker",
        {"name": "movies-events", "datasetGroupArn": DSG, "tags": TAGS},
        {"eventTrackerArn": TRACKER, "trackingId": TRACKING_ID},
    )
    for status in ("CREATE PENDING", "ACTIVE"):
        s.ok(
            "describe_event_tracker",
            {"eventTrackerArn": TRACKER},
            {
                "eventTracker": {
                    "eventTrackerArn": TRACKER,
                    "trackingId": TRACKING_ID,
                    "status": status,
                }
            },
        )


def expect_schema(s: Script, dataset: str, schema_arn: str, text: str, dtype: str) -> None:
    s.ok(
        "describe_dataset",
        {"datasetArn": dataset},
        {"dataset": {"datasetArn": dataset, "schemaArn": schema_arn, "datasetType": dtype}},
    )
    s.ok("describe_schema", {"schemaArn": schema_arn}, {"schema": {"schema": text}})


def expect_tracker_teardown(s: Script) -> None:
    s.ok("delete_event_tracker", {"eventTrackerArn": TRACKER})
    s.ok(
        "describe_event_tracker",
        {"eventTrackerArn": TRACKER},
        {"eventTracker": {"eventTrackerArn": TRACKER, "status": "DELETE PENDING"}},
    )
    s.err(
        "describe_event_tracker",
        "ResourceNotFoundException",
        {"eventTrackerArn": TRACKER},
    )


JAN_1 = 1_704_067_200  # 2024-01-01T00:00:00Z


def events_frame() -> pd.DataFrame:
    """13 events of u1 (datetimes) and 10 of u2 (epoch seconds), with a metadata column."""
    rows = [
        {
            "userId": "u1",
            "itemId": f"i{k}",
            "eventType": "watch",
            "TIMESTAMP": dt.datetime(2024, 1, 1) + dt.timedelta(minutes=k),
            "EVENT_VALUE": 0.5,
            "DEVICE_KIND": "tv" if k % 2 else None,
        }
        for k in range(13)
    ] + [
        {
            "userId": "u2",
            "itemId": f"i{k}",
            "eventType": "click",
            "TIMESTAMP": JAN_1 + k,
            "EVENT_VALUE": None,
            "DEVICE_KIND": "phone",
        }
        for k in range(10)
    ]
    return pd.DataFrame(rows)


def u1_event(k: int) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventType": "watch",
        "sentAt": JAN_1 + 60 * k,
        "itemId": f"i{k}",
        "eventValue": 0.5,
        "eventId": ANY,  # generated: see test_a_retried_put_events_resends_the_same_event_ids
    }
    if k % 2:
        event["properties"] = '{"deviceKind":"tv"}'
    return event


def test_put_events_batches_of_ten_per_user_session(ev_env: EvEnv) -> None:
    s, ev = ev_env.s, ev_env.ev
    expect_attach(s)
    expect_tracker(s)
    expect_schema(s, DS_I, SCHEMA_I, SCHEMA_JSON_I, "INTERACTIONS")
    base = {"trackingId": TRACKING_ID, "sessionId": ANY}
    ev.ok("put_events", {**base, "userId": "u1", "eventList": [u1_event(k) for k in range(10)]})
    ev.ok("put_events", {**base, "userId": "u1", "eventList": [u1_event(k) for k in (10, 11, 12)]})
    ev.ok(
        "put_events",
        {
            **base,
            "userId": "u2",
            "eventList": [
                {
                    "eventType": "click",
                    "sentAt": JAN_1 + k,
                    "itemId": f"i{k}",
                    "properties": '{"deviceKind":"phone"}',
                    "eventId": ANY,
                }
                for k in range(10)
            ],
        },
    )
    expect_tracker_teardown(s)

    with DatasetGroup.attach(ev_env.session, DSG, timing=ev_env.env.timing) as group:
        tracker = group.event_tracker()
        assert tracker.tracking_id == TRACKING_ID
        assert group.event_tracker() is tracker  # one per dataset group
        result = tracker.put_events(events_frame())

    assert (result.sent, result.calls) == (23, 3)
    calls = ev_env.env.log.of("PutEvents")
    sessions = [c.params["sessionId"] for c in calls]
    assert sessions[0] == sessions[1] != sessions[2]  # one generated session per user
    assert result.session_ids == {"u1": sessions[0], "u2": sessions[2]}
    assert all(len(c.params["eventList"]) <= 10 for c in calls)
    # the attached group and its datasets are not ours: only the tracker is deleted
    deletes = [op for op in ev_env.env.log.ops() if op.startswith("Delete")]
    assert deletes == ["DeleteEventTracker"]
    ev_env.env.log.assert_deleted_and_gone(TRACKER, "EventTracker")
    ev_env.verify()


def test_session_and_event_type_defaults_and_dict_records(ev_env: EvEnv) -> None:
    s, ev = ev_env.s, ev_env.ev
    expect_attach(s)
    expect_tracker(s)
    expect_schema(s, DS_I, SCHEMA_I, SCHEMA_JSON_I, "INTERACTIONS")
    ev.ok(
        "put_events",
        {
            "trackingId": TRACKING_ID,
            "sessionId": "web-1",
            "eventList": [
                {
                    "eventType": "watch",
                    "sentAt": JAN_1,
                    "itemId": "i9",
                    "recommendationId": "RID-1",
                    "impression": ["i9", "i3", "i4"],
                    "eventId": "e-1",
                    "metricAttribution": {"eventAttributionSource": "home-row"},
                }
            ],
        },
    )
    expect_tracker_teardown(s)
    with DatasetGroup.attach(ev_env.session, DSG, timing=ev_env.env.timing) as group:
        # an anonymous event: no user, the session given; the event type defaulted
        result = group.event_tracker().put_events(
            {
                "ITEM_ID": "i9",
                "sentAt": "2024-01-01T00:00:00Z",
                "RECOMMENDATION_ID": "RID-1",
                "IMPRESSION": "i9|i3|i4",
                "EVENT_ID": "e-1",
                "EVENT_ATTRIBUTION_SOURCE": "home-row",
            },
            session_id="web-1",
            event_type="watch",
        )
    assert (result.sent, result.calls, dict(result.session_ids)) == (1, 1, {})
    ev_env.verify()


def test_bad_events_raise_one_validation_error_and_send_nothing(ev_env: EvEnv) -> None:
    s = ev_env.s
    expect_attach(s)
    expect_tracker(s)
    expect_schema(s, DS_I, SCHEMA_I, SCHEMA_JSON_I, "INTERACTIONS")
    expect_tracker_teardown(s)
    bad = pd.DataFrame(
        {
            "USER_ID": ["u1", None, "u3", "u4"],
            "ITEM_ID": ["i1", "i2", None, "i4"],
            "EVENT_TYPE": ["watch", "watch", "watch", None],
            "TIMESTAMP": [JAN_1 * 1000, JAN_1, JAN_1, JAN_1],
            "EVENT_VALUE": [1.0, "lots", 1.0, 1.0],
            "MOOD": ["happy", "sad", "ok", "ok"],
            "RECOMMENDATION_ID": ["x" * 41, None, None, None],
        }
    )
    with DatasetGroup.attach(ev_env.session, DSG, timing=ev_env.env.timing) as group:
        tracker = group.event_tracker()
        with pytest.raises(ValidationError) as caught:
            tracker.put_events(bad)
    found = {(p.rule, p.column): p for p in caught.value.problems}
    assert set(found) == {
        ("timestamp-milliseconds", "TIMESTAMP"),
        ("missing-value", "SESSION_ID"),  # row 1 is anonymous
        ("missing-value", "ITEM_ID"),
        ("missing-value", "EVENT_TYPE"),  # a domain or EVENT_TYPE schema: no default
        ("event-value-not-number", "EVENT_VALUE"),
        ("unknown-column", "MOOD"),
        ("value-too-long", "RECOMMENDATION_ID"),
    }
    assert found[("missing-value", "ITEM_ID")].rows == (2,)
    assert found[("timestamp-milliseconds", "TIMESTAMP")].rows == (0,)
    assert "DEVICE_KIND" in found[("unknown-column", "MOOD")].message  # what it can be
    assert ev_env.env.log.of("PutEvents") == []
    ev_env.verify()


def test_throttled_put_events_is_retried_then_a_failure_says_how_far_it_got(
    ev_env: EvEnv,
) -> None:
    s, ev = ev_env.s, ev_env.ev
    expect_attach(s)
    expect_tracker(s)
    expect_schema(s, DS_I, SCHEMA_I, SCHEMA_JSON_I, "INTERACTIONS")
    frame = events_frame().iloc[:13]  # u1 only: two calls
    first = {
        "trackingId": TRACKING_ID,
        "sessionId": ANY,
        "userId": "u1",
        "eventList": [u1_event(k) for k in range(10)],
    }
    ev.err("put_events", "ThrottlingException", first, "Rate exceeded")
    ev.ok("put_events", first)
    ev.err("put_events", "InvalidInputException", {**first, "eventList": ANY}, "bad item")
    expect_tracker_teardown(s)
    with DatasetGroup.attach(ev_env.session, DSG, timing=ev_env.env.timing) as group:
        tracker = group.event_tracker()
        before = len(ev_env.env.time.sleeps)
        with pytest.raises(ClientError) as caught:
            tracker.put_events(frame)
        waits = ev_env.env.time.sleeps[before:]
    assert len(waits) == 1  # one backoff, for the throttling; none for InvalidInput
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"
    notes = " ".join(getattr(caught.value, "__notes__", []))
    if notes:  # Python 3.11+
        assert "10 of 13 events were sent" in notes
    ev_env.verify()


def test_a_retried_put_events_resends_the_same_event_ids(ev_env: EvEnv) -> None:
    """A throttled (or timed-out) request that is retried carries the same eventIds.

    Personalize tells events apart by eventId: sent again with the same ids, events
    whose first request did land are not used twice in training.
    """
    s, ev = ev_env.s, ev_env.ev
    expect_attach(s)
    expect_tracker(s)
    expect_schema(s, DS_I, SCHEMA_I, SCHEMA_JSON_I, "INTERACTIONS")
    frame = events_frame().iloc[:13].copy()  # u1 only: two calls
    frame["EVENT_ID"] = [None] * 12 + ["mine-12"]  # a caller's id is kept
    first = {
        "trackingId": TRACKING_ID,
        "sessionId": ANY,
        "userId": "u1",
        "eventList": [u1_event(k) for k in range(10)],
    }
    second = {**first, "eventList": [u1_event(k) for k in (10, 11)] + [ANY]}
    ev.err("put_events", "ThrottlingException", first, "Rate exceeded")
    ev_env.ev_stubber.add_client_error(  # a 5xx: the request may have landed
        "put_events",
        service_error_code="InternalServerError",
        service_message="try again",
        http_status_code=500,
        expected_params=first,
    )
    ev.ok("put_events", first)
    ev.ok("put_events", second)
    expect_tracker_teardown(s)
    with DatasetGroup.attach(ev_env.session, DSG, timing=ev_env.env.timing) as group:
        tracker = group.event_tracker()
        result = tracker.put_events(frame)
    assert (result.sent, result.calls) == (13, 2)
    calls = ev_env.env.log.of("PutEvents")
    assert len(calls) == 4  # the first batch three times, the second once
    ids = [[e["eventId"] for e in c.params["eventList"]] for c in calls]
    assert ids[0] == ids[1] == ids[2]
    assert len(set(ids[0] + ids[3])) == 13  # one id per event
    assert ids[3][-1] == "mine-12"
    for generated in ids[0] + ids[3][:2]:
        assert uuid.UUID(generated).version == 4
    ev_env.verify()


def test_put_items_and_users_send_camel_case_properties(ev_env: EvEnv) -> None:
    s, ev = ev_env.s, ev_env.ev
    expect_attach(s)
    expect_tracker(s)
    expect_schema(s, DS_T, SCHEMA_T, SCHEMA_JSON_T, "ITEMS")
    items = pd.DataFrame(
        {
            "itemId": [f"n{k}" for k in range(12)],
            "genres": [["Drama", "Comedy"]] + ["Horror"] * 11,
            "releaseYear": [2001.0] + [None] * 11,
        }
    )
    expected = [{"itemId": "n0", "properties": '{"genres":"Drama|Comedy","releaseYear":2001}'}] + [
        {"itemId": f"n{k}", "properties": '{"genres":"Horror"}'} for k in range(1, 12)
    ]
    ev.ok("put_items", {"datasetArn": DS_T, "items": expected[:10]})
    ev.ok("put_items", {"datasetArn": DS_T, "items": expected[10:]})
    expect_tracker_teardown(s)
    with DatasetGroup.attach(ev_env.session, DSG, timing=ev_env.env.timing) as group:
        tracker = group.event_tracker()
        result = tracker.put_items(items)
        assert (result.sent, result.calls) == (12, 2)
        # a required field missing, a type mismatch: one error, nothing sent
        with pytest.raises(ValidationError) as caught:
            tracker.put_items([{"ITEM_ID": "x", "RELEASE_YEAR": 1999.5}])
        rules = {(p.rule, p.column) for p in caught.value.problems}
        assert rules == {("missing-column", "GENRES"), ("property-type", "RELEASE_YEAR")}
        # no Users dataset: said before anything is sent
        with pytest.raises(ConfigurationError, match="no Users dataset"):
            tracker.put_users([{"USER_ID": "u1", "AGE": 3}])
    assert len(ev_env.env.log.of("PutItems")) == 2
    ev_env.verify()


def test_an_existing_tracker_of_the_group_is_adopted_and_kept(ev_env: EvEnv) -> None:
    s = ev_env.s
    expect_attach(s)
    other = f"{A}:event-tracker/someone-elses"
    expect_tracker(
        s, existing=[{"name": "someone-elses", "eventTrackerArn": other, "status": "ACTIVE"}]
    )
    s.ok("list_tags_for_resource", {"resourceArn": other}, {"tags": []})
    s.ok(
        "describe_event_tracker",
        {"eventTrackerArn": other},
        {"eventTracker": {"eventTrackerArn": other, "trackingId": "theirs", "status": "ACTIVE"}},
    )
    with DatasetGroup.attach(ev_env.session, DSG, timing=ev_env.env.timing) as group:
        tracker = EventTracker.create(group)
        assert (tracker.name, tracker.tracking_id, tracker.owned) == (
            "someone-elses",
            "theirs",
            False,
        )
    assert not [op for op in ev_env.env.log.ops() if op.startswith(("Create", "Delete"))]
    ev_env.verify()


def test_camel_case() -> None:
    assert camel_case("NUMBER_OF_RATINGS") == "numberOfRatings"
    assert camel_case("GENRES") == "genres"
    assert camel_case("CATEGORY_L1") == "categoryL1"


def test_float_ids_and_anonymous_rows_of_one_session(ev_env: EvEnv) -> None:
    s, ev = ev_env.s, ev_env.ev
    expect_attach(s)
    expect_tracker(s)
    expect_schema(s, DS_I, SCHEMA_I, SCHEMA_JSON_I, "INTERACTIONS")
    known = {"eventType": "watch", "sentAt": JAN_1, "itemId": "i1", "eventId": ANY}
    anonymous = {"eventType": "watch", "sentAt": JAN_1 + 1, "itemId": "i2", "eventId": ANY}
    ev.ok(
        "put_events",
        {"trackingId": TRACKING_ID, "sessionId": "s-1", "userId": "7", "eventList": [known]},
    )
    ev.ok("put_events", {"trackingId": TRACKING_ID, "sessionId": "s-1", "eventList": [anonymous]})
    expect_tracker_teardown(s)
    frame = pd.DataFrame(
        {
            "USER_ID": [7, None],  # pandas makes this float64: 7.0, NaN
            "ITEM_ID": ["i1", "i2"],
            "SESSION_ID": "s-1",
            "EVENT_TYPE": "watch",
            "TIMESTAMP": [JAN_1, JAN_1 + 1],
        }
    )
    with DatasetGroup.attach(ev_env.session, DSG, timing=ev_env.env.timing) as group:
        result = group.event_tracker().put_events(frame)
    assert (result.sent, result.calls, dict(result.session_ids)) == (2, 2, {})
    ev_env.verify()
