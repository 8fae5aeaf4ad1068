"""Batch inference and batch segment jobs on the Personalize twin.

Every response is checked against the operation's output shape (``Checked``
clients); statuses are observed by polling; the output files are read back from
the S3 twin and compared with what ``GetRecommendations`` answers for the same input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from _twin_helpers import (
    ITEMS_SCHEMA,
    RECIPE,
    ROLE,
    Clients,
    Deployed,
    Group,
    items_frame,
    poll,
    put_csv,
)
from botocore.exceptions import ClientError, ParamValidationError

from personakit.local.batch import parse_item_attributes

A = "arn:aws:personalize:us-east-1:000000000000"
BUCKET = "pk-test"


def code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def put_lines(s3: Any, key: str, lines: list[Any]) -> str:
    body = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    s3.put_object(Bucket=BUCKET, Key=key, Body=(body + "\n").encode())
    return f"s3://{BUCKET}/{key}"


def read_lines(s3: Any, key: str) -> list[dict[str, Any]]:
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def inference_status(pz: Any, arn: str) -> Callable[[], str | None]:
    return lambda: str(
        pz.describe_batch_inference_job(batchInferenceJobArn=arn)["batchInferenceJob"]["status"]
    )


def segment_status(pz: Any, arn: str) -> Callable[[], str | None]:
    return lambda: str(
        pz.describe_batch_segment_job(batchSegmentJobArn=arn)["batchSegmentJob"]["status"]
    )


def inference_job(pz: Any, name: str, version: str, source: str, target: str, **extra: Any) -> str:
    return str(
        pz.create_batch_inference_job(
            jobName=name,
            solutionVersionArn=version,
            jobInput={"s3DataSource": {"path": source}},
            jobOutput={"s3DataDestination": {"path": target}},
            roleArn=ROLE,
            **extra,
        )["batchInferenceJobArn"]
    )


def trained(c: Clients, group: Group, recipe: str, name: str) -> str:
    """A solution version of ``recipe`` (no campaign), ACTIVE."""
    solution = c.pz.create_solution(
        name=name, datasetGroupArn=group.arn, recipeArn=RECIPE + recipe, performAutoTraining=False
    )["solutionArn"]
    poll(lambda: str(c.pz.describe_solution(solutionArn=solution)["solution"]["status"]))
    version = c.pz.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    read = lambda: str(  # noqa: E731
        c.pz.describe_solution_version(solutionVersionArn=version)["solutionVersion"]["status"]
    )
    assert poll(read)[-1] == "ACTIVE"
    return str(version)


def with_items(c: Clients, group: Group) -> None:
    schema = c.pz.create_schema(name="items", schema=ITEMS_SCHEMA)["schemaArn"]
    dataset = c.pz.create_dataset(
        name="items", schemaArn=schema, datasetGroupArn=group.arn, datasetType="Items"
    )["datasetArn"]
    poll(lambda: str(c.pz.describe_dataset(datasetArn=dataset)["dataset"]["status"]))
    job = c.pz.create_dataset_import_job(
        jobName="items-1",
        datasetArn=dataset,
        dataSource={"dataLocation": put_csv(c.s3, "items.csv", items_frame())},
    )["datasetImportJobArn"]
    read = lambda: str(  # noqa: E731
        c.pz.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"]["status"]
    )
    assert poll(read)[-1] == "ACTIVE"


def test_batch_inference_walk_output_and_listing(
    clients: Clients, deployed: Callable[[str], Deployed]
) -> None:
    pz, s3 = clients.pz, clients.s3
    d = deployed("aws-user-personalization")
    source = put_lines(
        s3,
        "batch/in/users.json",
        [{"userId": "u1"}, {"userId": "u2"}, {"userId": "nobody-knows-me"}, {"itemId": "i1"}],
    )
    arn = inference_job(
        pz,
        "daily",
        d.version_arn,
        source,
        f"s3://{BUCKET}/batch/out/",
        numResults=7,
        batchInferenceJobConfig={"itemExplorationConfig": {"explorationWeight": "0.1"}},
        tags=[{"tagKey": "team", "tagValue": "recs"}],
    )
    assert arn == f"{A}:batch-inference-job/daily"
    assert poll(inference_status(pz, arn)) == ["CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE"]
    job = pz.describe_batch_inference_job(batchInferenceJobArn=arn)["batchInferenceJob"]
    assert job["jobName"] == "daily"
    assert job["numResults"] == 7
    assert job["solutionVersionArn"] == d.version_arn
    assert job["batchInferenceJobConfig"] == {"itemExplorationConfig": {"explorationWeight": "0.1"}}
    assert job["jobOutput"]["s3DataDestination"]["path"] == f"s3://{BUCKET}/batch/out/"
    assert "failureReason" not in job

    lines = read_lines(s3, "batch/out/users.json.out")
    assert [line["input"] for line in lines] == [
        {"userId": "u1"},
        {"userId": "u2"},
        {"userId": "nobody-knows-me"},
        {"itemId": "i1"},
    ]
    for line in lines[:3]:
        assert line["error"] is None
        live = clients.runtime.get_recommendations(
            campaignArn=d.campaign_arn, userId=line["input"]["userId"], numResults=7
        )["itemList"]
        assert line["output"]["recommendedItems"] == [i["itemId"] for i in live]
        assert line["output"]["scores"] == pytest.approx([i["score"] for i in live])
    assert lines[3]["output"] is None
    assert "userId is required" in lines[3]["error"]

    listed = pz.list_batch_inference_jobs(solutionVersionArn=d.version_arn)["batchInferenceJobs"]
    assert [(j["batchInferenceJobArn"], j["status"]) for j in listed] == [(arn, "ACTIVE")]
    assert (
        pz.list_batch_inference_jobs(solutionVersionArn=f"{d.version_arn}x")["batchInferenceJobs"]
        == []
    )
    tags = pz.list_tags_for_resource(resourceArn=arn)["tags"]
    assert {"tagKey": "team", "tagValue": "recs"} in tags


def test_each_line_is_what_get_recommendations_answers_in_input_order(
    clients: Clients, deployed: Callable[[str], Deployed]
) -> None:
    """Lines are scored together (one block of users) yet each one is the live answer:
    users with events recorded after training, repeated and unknown users, a bad line."""
    pz, s3, rt = clients.pz, clients.s3, clients.runtime
    d = deployed("aws-user-personalization")
    tracker = pz.create_event_tracker(name="events", datasetGroupArn=d.group.arn)
    poll(
        lambda: str(
            pz.describe_event_tracker(eventTrackerArn=tracker["eventTrackerArn"])["eventTracker"][
                "status"
            ]
        )
    )
    clients.events.put_events(
        trackingId=tracker["trackingId"],
        userId="u3",
        sessionId="s3",
        eventList=[
            {"eventType": "watch", "sentAt": 1_800_000_000 + k, "itemId": f"i{90 + k}"}
            for k in range(5)
        ],
    )
    users = ["u3", "u1", "stranger", "u3", "u40", "u2"]
    lines: list[Any] = [{"userId": u} for u in users]
    lines.insert(2, {"userId": ""})
    source = put_lines(s3, "mixed/in.json", lines)
    arn = inference_job(pz, "mixed", d.version_arn, source, f"s3://{BUCKET}/mixed/out/")
    assert poll(inference_status(pz, arn))[-1] == "ACTIVE"
    out = read_lines(s3, "mixed/out/in.json.out")
    assert [line["input"] for line in out] == lines
    assert out[2]["output"] is None
    assert out[2]["error"]
    for line in out[:2] + out[3:]:
        live = rt.get_recommendations(campaignArn=d.campaign_arn, userId=line["input"]["userId"])
        assert line["error"] is None
        assert line["output"]["recommendedItems"] == [i["itemId"] for i in live["itemList"]]
        assert line["output"]["scores"] == pytest.approx(
            [i["score"] for i in live["itemList"]], rel=1e-5
        )
    assert out[0]["output"] == out[4]["output"]


def test_filters_apply_per_line_with_their_values(
    clients: Clients, group: Group, deployed: Callable[[str], Deployed]
) -> None:
    pz, s3 = clients.pz, clients.s3
    with_items(clients, group)
    d = deployed("aws-user-personalization")
    flt = pz.create_filter(
        name="no-genre",
        datasetGroupArn=group.arn,
        filterExpression="EXCLUDE ItemID WHERE Items.GENRES IN ($GENRES)",
    )["filterArn"]
    poll(lambda: str(pz.describe_filter(filterArn=flt)["filter"]["status"]))
    source = put_lines(
        s3,
        "f/in.json",
        [
            {"userId": "u1", "filterValues": {"GENRES": '"Horror"'}},
            {"userId": "u1", "filterValues": {"GENRES": '"Comedy"'}},
            {"userId": "u1"},
            {"userId": "u1", "filterValues": {"GENRES": ["not", "encoded"]}},
        ],
    )
    arn = inference_job(
        pz, "filtered", d.version_arn, source, f"s3://{BUCKET}/f/out", filterArn=flt
    )
    assert poll(inference_status(pz, arn))[-1] == "ACTIVE"
    lines = read_lines(s3, "f/out/in.json.out")
    genres = dict(zip(items_frame()["ITEM_ID"], items_frame()["GENRES"], strict=True))
    horror, comedy, unfiltered, bad = lines
    assert horror["output"]["recommendedItems"]
    assert not [i for i in horror["output"]["recommendedItems"] if "Horror" in genres[i]]
    assert not [i for i in comedy["output"]["recommendedItems"] if "Comedy" in genres[i]]
    live = clients.runtime.get_recommendations(
        campaignArn=d.campaign_arn, userId="u1", filterArn=flt, filterValues={"GENRES": '"Horror"'}
    )["itemList"]
    assert horror["output"]["recommendedItems"] == [i["itemId"] for i in live]
    assert unfiltered["error"] is None  # an EXCLUDE placeholder without a value is ignored
    assert bad["output"] is None
    assert "filterValues" in bad["error"]


def test_ranking_lines_rank_their_item_list(
    clients: Clients, deployed: Callable[[str], Deployed]
) -> None:
    pz, s3 = clients.pz, clients.s3
    d = deployed("aws-personalized-ranking")
    items = ["i1", "i5", "i9", "unknown-item"]
    source = put_lines(s3, "r/in.json", [{"userId": "u3", "itemList": items}, {"userId": "u3"}])
    arn = inference_job(pz, "ranked", d.version_arn, source, f"s3://{BUCKET}/r/out/")
    assert poll(inference_status(pz, arn))[-1] == "ACTIVE"
    ranked, missing = read_lines(s3, "r/out/in.json.out")
    live = clients.runtime.get_personalized_ranking(
        campaignArn=d.campaign_arn, userId="u3", inputList=items
    )["personalizedRanking"]
    assert ranked["output"]["recommendedItems"] == [i["itemId"] for i in live]
    assert ranked["output"]["recommendedItems"][-1] == "unknown-item"
    assert ranked["output"]["scores"][-1] is None  # no score for an unknown item
    assert "itemList" in missing["error"]


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (None, "No input file found"),
        (['{"userId": "u1"}', "{not json"], "Invalid JSON on line 2"),
        (['["u1"]'], "not a JSON object"),
    ],
)
def test_unreadable_input_fails_the_job_with_a_reason(
    clients: Clients, deployed: Callable[[str], Deployed], lines: list[str] | None, reason: str
) -> None:
    pz = clients.pz
    d = deployed("aws-popularity-count")
    source = put_lines(clients.s3, "bad/in.json", lines) if lines else f"s3://{BUCKET}/nothing.json"
    arn = inference_job(pz, "bad", d.version_arn, source, f"s3://{BUCKET}/bad/out/")
    assert poll(inference_status(pz, arn)) == [
        "CREATE PENDING",
        "CREATE IN_PROGRESS",
        "CREATE FAILED",
    ]
    job = pz.describe_batch_inference_job(batchInferenceJobArn=arn)["batchInferenceJob"]
    assert reason in job["failureReason"]


def test_unknown_filter_and_missing_output_bucket_fail_the_job(
    clients: Clients, deployed: Callable[[str], Deployed]
) -> None:
    pz = clients.pz
    d = deployed("aws-popularity-count")
    source = put_lines(clients.s3, "in.json", [{"userId": "u1"}])
    nope = f"{A}:filter/nope"
    first = inference_job(pz, "f1", d.version_arn, source, f"s3://{BUCKET}/o/", filterArn=nope)
    second = inference_job(pz, "f2", d.version_arn, source, "s3://no-such-bucket/o/")
    for arn, reason in ((first, f"The filter {nope} does not exist"), (second, "no-such-bucket")):
        assert poll(inference_status(pz, arn))[-1] == "CREATE FAILED"
        job = pz.describe_batch_inference_job(batchInferenceJobArn=arn)["batchInferenceJob"]
        assert reason in job["failureReason"]


def test_create_errors_use_the_services_codes(
    clients: Clients, group: Group, deployed: Callable[[str], Deployed]
) -> None:
    pz = clients.pz
    d = deployed("aws-popularity-count")
    source = put_lines(clients.s3, "e/in.json", [{"userId": "u1"}])
    out = f"s3://{BUCKET}/e/out/"
    inference_job(pz, "taken", d.version_arn, source, out)
    with pytest.raises(ClientError) as info:
        inference_job(pz, "taken", d.version_arn, source, out)
    assert code(info) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as info:
        inference_job(pz, "x", f"{A}:solution/nope/12345678", source, out)
    assert code(info) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as info:
        inference_job(pz, "x", d.version_arn, source, source)
    assert code(info) == "InvalidInputException"
    with pytest.raises(ClientError) as info:
        inference_job(pz, "x", d.version_arn, source, out, numResults=501)
    assert code(info) == "InvalidInputException"
    with pytest.raises(ClientError) as info:
        pz.create_batch_segment_job(
            jobName="seg",
            solutionVersionArn=d.version_arn,
            jobInput={"s3DataSource": {"path": source}},
            jobOutput={"s3DataDestination": {"path": out}},
            roleArn=ROLE,
        )
    assert code(info) == "InvalidInputException"
    assert "USER_SEGMENTATION" in info.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as info:
        pz.describe_batch_inference_job(batchInferenceJobArn=f"{A}:batch-inference-job/none")
    assert code(info) == "ResourceNotFoundException"
    with pytest.raises(ParamValidationError):
        pz.create_batch_inference_job(
            jobName="x",
            solutionVersionArn=d.version_arn,
            jobInput={"s3DataSource": {"path": source}},
            jobOutput={"s3DataDestination": {"path": out}},
        )


def test_sixth_batch_job_in_flight_is_limit_exceeded(
    clients: Clients, deployed: Callable[[str], Deployed]
) -> None:
    pz = clients.pz
    d = deployed("aws-popularity-count")
    source = put_lines(clients.s3, "l/in.json", [{"userId": "u1"}])
    clients.engine.min_state_s = 30.0  # every job now stays CREATE PENDING
    for k in range(5):
        inference_job(pz, f"job-{k}", d.version_arn, source, f"s3://{BUCKET}/l/{k}/")
    with pytest.raises(ClientError) as info:
        inference_job(pz, "job-5", d.version_arn, source, f"s3://{BUCKET}/l/5/")
    assert code(info) == "LimitExceededException"
    assert "More than 5 resources with PENDING or IN_PROGRESS status" in str(info.value)
    with pytest.raises(ClientError) as info:  # jobs keep the solution in use
        pz.delete_solution(solutionArn=d.solution_arn)
    assert code(info) == "ResourceInUseException"


def test_item_affinity_segments(clients: Clients, group: Group) -> None:
    pz, s3 = clients.pz, clients.s3
    version = trained(clients, group, "aws-item-affinity", "affinity")
    source = put_lines(s3, "s/items.json", [{"itemId": "i1"}, {"itemId": "i2"}, {"userId": "u1"}])
    arn = pz.create_batch_segment_job(
        jobName="segments",
        solutionVersionArn=version,
        jobInput={"s3DataSource": {"path": source}},
        jobOutput={"s3DataDestination": {"path": f"s3://{BUCKET}/s/out/"}},
        roleArn=ROLE,
        numResults=5,
    )["batchSegmentJobArn"]
    assert arn == f"{A}:batch-segment-job/segments"
    assert poll(segment_status(pz, arn)) == ["CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE"]
    first, second, bad = read_lines(s3, "s/out/items.json.out")
    assert first["input"] == {"itemId": "i1"}
    users = first["output"]["usersList"]
    assert len(users) == 5
    assert len(set(users)) == 5
    assert all(u.startswith("u") for u in users)
    assert second["output"]["usersList"]
    assert bad["output"] is None
    assert "itemId is required" in bad["error"]
    job = pz.describe_batch_segment_job(batchSegmentJobArn=arn)["batchSegmentJob"]
    assert job["numResults"] == 5
    listed = pz.list_batch_segment_jobs(solutionVersionArn=version)["batchSegmentJobs"]
    assert [j["batchSegmentJobArn"] for j in listed] == [arn]
    with pytest.raises(ClientError) as info:  # segmentation versions do no batch inference
        inference_job(pz, "x", version, source, f"s3://{BUCKET}/x/")
    assert code(info) == "InvalidInputException"


def test_item_attribute_affinity_segments(clients: Clients, group: Group) -> None:
    pz, s3 = clients.pz, clients.s3
    with_items(clients, group)
    version = trained(clients, group, "aws-item-attribute-affinity", "attributes")
    source = put_lines(
        s3,
        "a/q.json",
        [
            {"itemAttributes": 'ITEMS.genres = "Horror"'},
            {"itemAttributes": 'ITEMS.GENRES = "Drama" AND ITEMS.genres = "Horror"'},
            {"itemAttributes": 'ITEMS.genres = "Horror" OR ITEMS.genres = "Comedy"'},
            {"itemAttributes": 'ITEMS.colour = "red"'},
        ],
    )
    arn = pz.create_batch_segment_job(
        jobName="attrs",
        solutionVersionArn=version,
        jobInput={"s3DataSource": {"path": source}},
        jobOutput={"s3DataDestination": {"path": f"s3://{BUCKET}/a/out/"}},
        roleArn=ROLE,
        numResults=4,
    )["batchSegmentJobArn"]
    assert poll(segment_status(pz, arn))[-1] == "ACTIVE"
    horror, both, with_or, unknown = read_lines(s3, "a/out/q.json.out")
    assert len(horror["output"]["usersList"]) == 4
    assert len(both["output"]["usersList"]) == 4
    assert "OR is not supported" in with_or["error"]
    assert "no field colour" in unknown["error"]
    too_many = put_lines(s3, "a/many.json", [{"itemAttributes": 'ITEMS.genres = "x"'}] * 11)
    arn = pz.create_batch_segment_job(
        jobName="too-many",
        solutionVersionArn=version,
        jobInput={"s3DataSource": {"path": too_many}},
        jobOutput={"s3DataDestination": {"path": f"s3://{BUCKET}/a/out2/"}},
        roleArn=ROLE,
    )["batchSegmentJobArn"]
    assert poll(segment_status(pz, arn))[-1] == "CREATE FAILED"
    reason = pz.describe_batch_segment_job(batchSegmentJobArn=arn)["batchSegmentJob"][
        "failureReason"
    ]
    assert "at most 10" in reason


def test_item_attribute_queries_parse_like_the_service() -> None:
    assert parse_item_attributes('ITEMS.genres = "Comedy" AND ITEMS.genres = "Action"') == [
        ("genres", "Comedy"),
        ("genres", "Action"),
    ]
    assert parse_item_attributes(r'ITEMS.title = "Say \"hi\"" and ITEMS.PRICE=10') == [
        ("title", 'Say "hi"'),
        ("PRICE", "10"),
    ]
    for bad in ('ITEMS.a = "x" OR ITEMS.b = "y"', "ITEMS.a > 3", 'USERS.a = "x"', ""):
        with pytest.raises(ValueError, match="expected"):
            parse_item_attributes(bad)
