"""Batch jobs against AWS's wiring: the exact requests, checked by Stubber against the model.

The ``personalize`` client is a real boto3 client under ``botocore.stub.Stubber``
(every request validated against botocore's service model and compared with the
expected parameters); S3 is moto. The job's output file is put in S3 by the test,
as Personalize would write it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from _env import Env
from _lifecycle import (
    BUCKET,
    GONE,
    REGION,
    ROLE,
    RUN,
    SV,
    TAGS,
    A,
    expect_group,
    expect_teardown,
    expect_train,
)
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import ANY

from personakit.aws.session import Session
from personakit.errors import ResourceFailedError, ValidationError, WaitTimeoutError
from personakit.personalize.group import DatasetGroup

JOB = f"{A}:batch-inference-job/nightly"
SEG = f"{A}:batch-segment-job/nightly"
PREFIX = "personakit/batch/nightly/"
INPUT = f"s3://{BUCKET}/{PREFIX}input/"
OUTPUT = f"s3://{BUCKET}/{PREFIX}output/"


def request(numResults: int = 5, **extra: Any) -> dict[str, Any]:
    return {
        "jobName": "nightly",
        "solutionVersionArn": SV,
        "numResults": numResults,
        "jobInput": {"s3DataSource": {"path": INPUT}},
        "jobOutput": {"s3DataDestination": {"path": OUTPUT}},
        "roleArn": ROLE,
        "tags": TAGS,
        **extra,
    }


def describe_job(env: Env, *statuses: str, reason: str | None = None) -> None:
    for status in statuses:
        body: dict[str, Any] = {"batchInferenceJobArn": JOB, "jobName": "nightly", "status": status}
        if reason is not None and status == "CREATE FAILED":
            body["failureReason"] = reason
        env.script.ok(
            "describe_batch_inference_job",
            {"batchInferenceJobArn": JOB},
            {"batchInferenceJob": body},
        )


def put_output(env: Env, lines: list[dict[str, Any]], name: str = "input.json.out") -> None:
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    env.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}output/{name}", Body=body)


def test_batch_recommend_sends_the_documented_requests(env: Env) -> None:
    s = env.script
    expect_group(s)
    expect_train(s)
    s.ok("create_batch_inference_job", request(), {"batchInferenceJobArn": JOB})
    describe_job(env, "CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE")
    expect_teardown(s, ["group", "train"])
    put_output(
        env,
        [
            {"input": {"userId": "u2"}, "output": None, "error": "User not found"},
            {
                "input": {"userId": "u1"},
                "output": {"recommendedItems": ["i3", "i7"], "scores": [0.4, 0.2]},
                "error": None,
            },
        ],
    )
    with DatasetGroup.create(env.session, "movies", timing=env.timing) as group:
        solution = group.train("user-personalization", name="movies-up")
        frame = solution.batch_recommend(["u1", "u2"], n=5, job_name="nightly")
        sent = env.s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}input/input.json")
        assert sent["Body"].read().decode().splitlines() == ['{"userId": "u1"}', '{"userId": "u2"}']
        assert sent["ServerSideEncryption"] == "AES256"
    assert frame.to_dict("records") == [
        {"user_id": "u1", "item_ids": ["i3", "i7"], "scores": [0.4, 0.2], "error": None},
        {"user_id": "u2", "item_ids": [], "scores": [], "error": "User not found"},
    ]
    env.verify()
    assert env.objects() == []  # input and output removed with the group


def test_failed_job_raises_with_the_failure_reason(env: Env) -> None:
    s = env.script
    expect_group(s)
    expect_train(s)
    s.ok("create_batch_inference_job", request(n := 25), {"batchInferenceJobArn": JOB})
    reason = "Insufficient privileges for accessing data in Amazon S3"
    describe_job(env, "CREATE PENDING", "CREATE FAILED", reason=reason)
    expect_teardown(s, ["group", "train"])
    # what a failed job may leave in its output folder (never read by personakit)
    put_output(env, [{"input": {"userId": "u1"}, "error": "failed"}], name="_failure.out")
    with (  # noqa: PT012
        pytest.raises(ResourceFailedError) as info,
        DatasetGroup.create(env.session, "movies", timing=env.timing) as group,
    ):
        solution = group.train("user-personalization", name="movies-up")
        solution.batch_recommend(["u1"], n=n, job_name="nightly")
    assert info.value.arn == JOB
    assert info.value.failure_reason == reason
    env.verify()
    assert env.objects() == []


def test_invalid_input_sends_nothing(env: Env) -> None:
    s = env.script
    expect_group(s)
    expect_train(s)
    expect_teardown(s, ["group", "train"])
    with DatasetGroup.create(env.session, "movies", timing=env.timing) as group:
        solution = group.train("user-personalization", name="movies-up")
        with pytest.raises(ValidationError, match="no userId"):
            solution.batch_recommend(["u1", ""], job_name="nightly")
        assert env.objects() == []
    env.verify()
    assert "CreateBatchInferenceJob" not in env.log.ops()


def test_segments_with_a_user_filter(env: Env) -> None:
    s = env.script
    expect_group(s)
    s.ok(
        "create_solution",
        {
            "name": "movies-affinity",
            "datasetGroupArn": f"{A}:dataset-group/movies",
            "recipeArn": "arn:aws:personalize:::recipe/aws-item-affinity",
            "performHPO": False,
            "performAutoTraining": False,
            "tags": TAGS,
        },
        {"solutionArn": f"{A}:solution/movies-affinity"},
    )
    sol = f"{A}:solution/movies-affinity"
    version = f"{sol}/abcd1234"
    s.ok("describe_solution", {"solutionArn": sol}, {"solution": {"status": "ACTIVE"}})
    s.ok(
        "create_solution_version",
        {"solutionArn": sol, "name": ANY, "trainingMode": "FULL", "tags": TAGS},
        {"solutionVersionArn": version},
    )
    s.ok(
        "describe_solution_version",
        {"solutionVersionArn": version},
        {"solutionVersion": {"status": "ACTIVE"}},
    )
    flt = f"{A}:filter/adults"
    seg_request = request(numResults=100, filterArn=flt, solutionVersionArn=version)
    s.ok("create_batch_segment_job", seg_request, {"batchSegmentJobArn": SEG})
    s.ok(
        "describe_batch_segment_job",
        {"batchSegmentJobArn": SEG},
        {"batchSegmentJob": {"batchSegmentJobArn": SEG, "status": "ACTIVE"}},
    )
    s.delete("solution", sol)
    s.describe("solution", sol, GONE)
    s.delete("dataset_group", f"{A}:dataset-group/movies")
    s.describe("dataset_group", f"{A}:dataset-group/movies", "DELETE PENDING", GONE)
    put_output(
        env,
        [
            {
                "input": {"itemId": "i1", "filterValues": {"AGE": "18"}},
                "output": {"usersList": ["u9"]},
            },
            {"input": {"itemId": "i2", "filterValues": {"AGE": "18"}}, "output": {"usersList": []}},
        ],
    )
    with DatasetGroup.create(env.session, "movies", timing=env.timing) as group:
        affinity = group.train("item-affinity", name="movies-affinity")
        frame = affinity.batch_segments(
            ["i1", "i2"], n=100, filter=flt, filter_values={"AGE": 18}, job_name="nightly"
        )
        sent = env.s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}input/input.json")["Body"].read()
        assert json.loads(sent.decode().splitlines()[0]) == {
            "itemId": "i1",
            "filterValues": {"AGE": "18"},
        }
    assert frame["user_ids"].tolist() == [["u9"], []]
    assert frame["error"].isna().all()
    env.verify()


def test_output_of_a_job_whose_wait_timed_out_is_removed(env: Env) -> None:
    """The wait gives up; teardown lets the job finish, then removes its input and output."""
    s = env.script
    expect_group(s)
    expect_train(s)
    s.ok("create_batch_inference_job", request(), {"batchInferenceJobArn": JOB})
    describe_job(env, "CREATE PENDING", "CREATE IN_PROGRESS")  # the wait: 5 s, then it gives up
    describe_job(env, "ACTIVE")  # teardown: settled, so its output is complete
    expect_teardown(s, ["group", "train"])
    put_output(env, [{"input": {"userId": "u1"}, "output": {"recommendedItems": ["i1"]}}])
    with (  # noqa: PT012
        pytest.raises(WaitTimeoutError),
        DatasetGroup.create(env.session, "movies", timing=env.timing) as group,
    ):
        solution = group.train("user-personalization", name="movies-up")
        solution.batch_recommend(["u1"], n=5, job_name="nightly", timeout_s=5.0)
    env.verify()
    assert env.objects() == []


def test_s3_is_not_retried_by_personakit_on_top_of_botocore(env: Env) -> None:
    """S3 keeps botocore's retries; personakit's retrier around them would multiply them.

    The S3 client here makes one botocore attempt: a throttled PutObject reaches the
    caller after exactly one request (personakit's retrier would send up to 8).
    """
    s = env.script
    expect_group(s)
    expect_train(s)
    expect_teardown(s, ["group", "train"])
    s3 = boto3.client(
        "s3", region_name=REGION, config=Config(retries={"mode": "standard", "max_attempts": 0})
    )
    sent: list[str] = []

    def slow_down(**_: Any) -> AWSResponse:
        sent.append("PutObject")
        body = b"<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>"
        return AWSResponse("https://s3", 503, {}, _Raw(body))

    s3.meta.events.register_first("before-send.s3.PutObject", slow_down)
    session = Session.aws(
        clients={"personalize": env.personalize, "personalize-runtime": env.runtime, "s3": s3},
        region_name=REGION,
        bucket=BUCKET,
        role_arn=ROLE,
        run_id=RUN,
    )
    with (  # noqa: PT012
        pytest.raises(ClientError, match="SlowDown"),
        DatasetGroup.create(session, "movies", timing=env.timing) as group,
    ):
        solution = group.train("user-personalization", name="movies-up")
        solution.batch_recommend(["u1"], n=5, job_name="nightly")
    assert sent == ["PutObject"]
    env.verify()
    assert env.objects() == []


def test_delete_prefix_pages_through_and_stays_inside_the_prefix(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    import personakit.personalize.teardown as pkr

    monkeypatch.setattr(pkr, "MAX_DELETE_KEYS", 2)  # 5 objects: three pages of deletes
    for k in range(5):
        env.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}output/part-{k}.out", Body=b"{}")
    env.s3.put_object(Bucket=BUCKET, Key="personakit/batch/nightly2/input/input.json", Body=b"")
    assert pkr.delete_prefix(env.s3, BUCKET, PREFIX) == 5
    assert env.objects() == ["personakit/batch/nightly2/input/input.json"]
    assert pkr.delete_prefix(env.s3, BUCKET, PREFIX) == 0  # idempotent
    with pytest.raises(ValueError, match="every object"):
        pkr.delete_prefix(env.s3, BUCKET, "")


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body
