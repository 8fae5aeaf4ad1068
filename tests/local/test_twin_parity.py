"""The batch twin and the runtime twin serve alike: same history, same filters, same errors.

A batch inference job answers each line with what ``GetRecommendations`` answers for
the same user: events recorded after training are kept by the solution's
``eventType`` and ``eventValueThreshold`` in both, filters read the same data
(recorded events included), and an unusable filter is refused by both, each in its
own way (a ``ClientError`` in real time, the job's ``failureReason`` in batch).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from _twin_helpers import (
    BUCKET,
    RECIPE,
    ROLE,
    Clients,
    interactions,
    make_group,
    poll,
    schema_json,
    status_of,
)

from personakit.local.errors import FilterUnusable

SCHEMA = schema_json(
    "Interactions",
    [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
        {"name": "EVENT_TYPE", "type": "string"},
        {"name": "EVENT_VALUE", "type": "float"},
    ],
)
WATCHED = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")'


def _frame() -> Any:
    frame = interactions(n=6000, event_types=["watch", "click"])
    frame["EVENT_VALUE"] = np.random.default_rng(3).integers(1, 6, len(frame)).astype(float)
    return frame


def _batch(clients: Clients, name: str, version: str, users: list[str], **extra: Any) -> Any:
    """Run a batch inference job for ``users``; its output lines, or its failureReason."""
    pz, s3 = clients.pz, clients.s3
    body = "".join(json.dumps({"userId": u}) + "\n" for u in users)
    s3.put_object(Bucket=BUCKET, Key=f"{name}/in.json", Body=body.encode())
    arn = pz.create_batch_inference_job(
        jobName=name,
        solutionVersionArn=version,
        jobInput={"s3DataSource": {"path": f"s3://{BUCKET}/{name}/in.json"}},
        jobOutput={"s3DataDestination": {"path": f"s3://{BUCKET}/{name}/out/"}},
        roleArn=ROLE,
        numResults=10,
        **extra,
    )["batchInferenceJobArn"]
    read = lambda: str(  # noqa: E731
        pz.describe_batch_inference_job(batchInferenceJobArn=arn)["batchInferenceJob"]["status"]
    )
    if poll(read)[-1] != "ACTIVE":
        return pz.describe_batch_inference_job(batchInferenceJobArn=arn)["batchInferenceJob"][
            "failureReason"
        ]
    out = s3.get_object(Bucket=BUCKET, Key=f"{name}/out/in.json.out")["Body"].read().decode()
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _filter(clients: Clients, group: str, name: str, expression: str) -> str:
    arn = str(
        clients.pz.create_filter(name=name, datasetGroupArn=group, filterExpression=expression)[
            "filterArn"
        ]
    )
    poll(status_of(clients.pz, "filter", arn))
    return arn


def test_batch_and_runtime_use_the_same_recorded_history_and_filters(clients: Clients) -> None:
    pz, rt, ev = clients.pz, clients.runtime, clients.events
    group = make_group(clients, "typed", frame=_frame(), schema=SCHEMA)
    solution = pz.create_solution(
        name="watch3",
        datasetGroupArn=group.arn,
        recipeArn=RECIPE + "aws-user-personalization",
        performAutoTraining=False,
        eventType="watch",
        solutionConfig={"eventValueThreshold": "3"},
    )["solutionArn"]
    poll(status_of(pz, "solution", solution))
    version = pz.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    assert poll(status_of(pz, "version", version))[-1] == "ACTIVE"
    campaign = pz.create_campaign(name="watch3-campaign", solutionVersionArn=version)["campaignArn"]
    poll(status_of(pz, "campaign", campaign))
    tracker = pz.create_event_tracker(name="events", datasetGroupArn=group.arn)
    poll(status_of(pz, "event_tracker", tracker["eventTrackerArn"]))

    def send(user: str | None, session: str, events: list[tuple[str, str, float | None]]) -> None:
        who = {"userId": user} if user else {}
        ev.put_events(
            trackingId=tracker["trackingId"],
            sessionId=session,
            **who,
            eventList=[
                {
                    "eventType": kind,
                    "sentAt": 1_800_000_000 + k,
                    "itemId": item,
                    **({"eventValue": value} if value is not None else {}),
                }
                for k, (item, kind, value) in enumerate(events)
            ],
        )

    send("u7", "s7", [(f"i{i}", "watch", 5.0) for i in range(90, 95)])  # kept
    send("u7", "s7", [("i95", "click", 5.0), ("i96", "watch", 1.0), ("i97", "watch", None)])
    send(None, "anon-1", [("i98", "watch", 4.0), ("i99", "watch", 2.0)])  # anonymous

    owner = clients.engine.store.get(version)
    assert owner is not None
    history = clients.engine.control.recorded_history(owner)
    assert {user: [item for item, _ in events] for user, events in history.items()} == {
        "u7": ["i90", "i91", "i92", "i93", "i94"],
        "anon-1": ["i98"],
    }
    assert clients.engine.control.recorded_history(owner, user="anon-1") == {
        "anon-1": history["anon-1"]
    }

    users = ["u7", "u8", "anon-1", "stranger"]
    watched = _filter(clients, group.arn, "watched", WATCHED)
    for name, extra in (("plain", {}), ("unwatched", {"filterArn": watched})):
        lines = _batch(clients, name, version, users, **extra)
        assert [line["input"]["userId"] for line in lines] == users
        for line in lines:
            assert line["error"] is None
            live = rt.get_recommendations(
                campaignArn=campaign, userId=line["input"]["userId"], numResults=10, **extra
            )["itemList"]
            assert line["output"]["recommendedItems"] == [i["itemId"] for i in live]
            assert line["output"]["scores"] == pytest.approx([i["score"] for i in live])
        if extra:  # the filter reads recorded events too: u7 just watched i90..i94
            assert not {"i90", "i91", "i92", "i93", "i94", "i96", "i97"} & set(
                lines[0]["output"]["recommendedItems"]
            )


def test_an_unusable_filter_is_refused_by_both_twins_in_their_own_terms(
    clients: Clients,
) -> None:
    pz, rt = clients.pz, clients.runtime
    group = make_group(clients, "mine", frame=_frame(), schema=SCHEMA)
    other = make_group(clients, "theirs", frame=_frame(), schema=SCHEMA)
    solution = pz.create_solution(
        name="pop",
        datasetGroupArn=group.arn,
        recipeArn=RECIPE + "aws-popularity-count",
        performAutoTraining=False,
    )["solutionArn"]
    poll(status_of(pz, "solution", solution))
    version = pz.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    assert poll(status_of(pz, "version", version))[-1] == "ACTIVE"
    campaign = pz.create_campaign(name="pop-campaign", solutionVersionArn=version)["campaignArn"]
    poll(status_of(pz, "campaign", campaign))
    expression = WATCHED
    foreign = _filter(clients, other.arn, "foreign", expression)
    speed = clients.engine.min_state_s
    clients.engine.min_state_s = 30.0  # the next filter stays CREATE PENDING
    pending = str(
        pz.create_filter(name="pending", datasetGroupArn=group.arn, filterExpression=expression)[
            "filterArn"
        ]
    )
    clients.engine.min_state_s = speed
    missing = pending.replace("pending", "gone")

    with pytest.raises(rt.exceptions.ResourceNotFoundException, match="gone"):
        rt.get_recommendations(campaignArn=campaign, userId="u1", filterArn=missing)
    with pytest.raises(rt.exceptions.InvalidInputException, match=r"not ACTIVE \(status: CREATE"):
        rt.get_recommendations(campaignArn=campaign, userId="u1", filterArn=pending)
    with pytest.raises(rt.exceptions.InvalidInputException, match="another dataset group"):
        rt.get_recommendations(campaignArn=campaign, userId="u1", filterArn=foreign)

    reasons = {
        name: _batch(clients, name, version, ["u1"], filterArn=arn)
        for name, arn in (("missing", missing), ("pending", pending), ("foreign", foreign))
    }
    assert reasons == {
        "missing": f"The filter {missing} does not exist.",
        "pending": f"The filter {pending} is not ACTIVE (status: CREATE PENDING).",
        "foreign": f"The filter {foreign} belongs to another dataset group than the solution "
        "version.",
    }

    plane = clients.engine.control
    assert plane.resolve_filter(foreign, other.arn) == expression
    for arn, reason in ((missing, "missing"), (pending, "inactive"), (foreign, "foreign")):
        with pytest.raises(FilterUnusable) as info:
            plane.resolve_filter(arn, group.arn)
        assert (info.value.arn, info.value.reason) == (arn, reason)
