"""_retry: which AWS errors are retried, how long, how it is logged. No real sleeping."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.stub import Stubber

import personakit as pk
from personakit.aws import retry as _retry
from personakit.aws.retry import (
    DEFAULT_POLICY,
    NO_RETRY,
    ErrorKind,
    Retrier,
    RetryPolicy,
    classify,
)
from personakit.errors import QuotaExceededError

SV_ARN = "arn:aws:personalize:us-east-1:123456789012:solution-version/movies/1a2b3c4d"
DSG_ARN = "arn:aws:personalize:us-east-1:123456789012:dataset-group/movies"
PENDING_MSG = "More than 5 resources with PENDING or IN_PROGRESS status."
ACTIVE_MSG = "Cannot create a campaign. More than 5 resources in ACTIVE state."


class FakeTime:
    """A clock that only moves when someone sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def retrier(
    fake: FakeTime, policy: RetryPolicy = DEFAULT_POLICY, u: float | None = None
) -> Retrier:
    if u is None:
        return Retrier(policy, sleep=fake.sleep, clock=fake.clock)
    return Retrier(policy, sleep=fake.sleep, clock=fake.clock, rng=lambda: u)


def client_error(
    code: str, message: str = "", status: int = 400, operation: str = "DescribeSolutionVersion"
) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


@pytest.fixture
def personalize() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "personalize",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    with Stubber(client) as stubber:
        yield client, stubber


def sv_response(status: str) -> dict[str, Any]:
    return {"solutionVersion": {"solutionVersionArn": SV_ARN, "status": status}}


IMPORT_PARAMS = {
    "jobName": "movies-interactions-1",
    "datasetArn": "arn:aws:personalize:us-east-1:123456789012:dataset/movies/INTERACTIONS",
    "dataSource": {"dataLocation": "s3://bucket/interactions.csv"},
    "roleArn": "arn:aws:iam::123456789012:role/personalize",
}
CAMPAIGN_PARAMS = {"name": "movies-campaign", "solutionVersionArn": SV_ARN, "minProvisionedTPS": 1}


# ---------------------------------------------------------------- classification


@pytest.mark.parametrize(
    ("code", "message", "status", "kind"),
    [
        ("ThrottlingException", "Rate exceeded", 400, ErrorKind.THROTTLED),
        ("TooManyRequestsException", "", 400, ErrorKind.THROTTLED),
        ("Throttling", "", 400, ErrorKind.THROTTLED),
        ("RequestLimitExceeded", "", 400, ErrorKind.THROTTLED),
        ("ProvisionedThroughputExceededException", "", 400, ErrorKind.THROTTLED),
        ("SomethingNew", "", 429, ErrorKind.THROTTLED),
        ("ServiceUnavailable", "", 503, ErrorKind.TRANSIENT),
        ("InternalServerError", "", 500, ErrorKind.TRANSIENT),
        ("SomethingNew", "", 502, ErrorKind.TRANSIENT),
        ("LimitExceededException", PENDING_MSG, 400, ErrorKind.PENDING_QUOTA),
        (
            "LimitExceededException",
            "More than 20 resources with PENDING or IN_PROGRESS status.",
            400,
            ErrorKind.PENDING_QUOTA,
        ),
        ("LimitExceededException", ACTIVE_MSG, 400, ErrorKind.QUOTA),
        ("LimitExceededException", "", 400, ErrorKind.QUOTA),
        ("LimitExceededException", "Rate exceeded", 400, ErrorKind.THROTTLED),
        ("ResourceLimitExceeded", "The account-level service limit", 400, ErrorKind.QUOTA),
        ("InvalidInputException", "bad", 400, ErrorKind.FATAL),
        ("ResourceNotFoundException", "", 400, ErrorKind.FATAL),
        ("ResourceAlreadyExistsException", "", 400, ErrorKind.FATAL),
        ("ResourceInUseException", "", 400, ErrorKind.FATAL),
        ("AccessDeniedException", "", 400, ErrorKind.FATAL),
        ("AccessDenied", "", 403, ErrorKind.FATAL),
        ("ValidationException", "", 400, ErrorKind.FATAL),
        ("TooManyTagsException", "", 400, ErrorKind.FATAL),
    ],
)
def test_client_errors_are_classified_by_code_message_and_status(
    code: str, message: str, status: int, kind: ErrorKind
) -> None:
    assert classify(client_error(code, message, status)) is kind


def test_botocore_connection_errors_are_transient_and_others_fatal() -> None:
    assert classify(EndpointConnectionError(endpoint_url="https://x")) is ErrorKind.TRANSIENT
    assert classify(ReadTimeoutError(endpoint_url="https://x")) is ErrorKind.TRANSIENT
    assert classify(NoCredentialsError()) is ErrorKind.FATAL
    assert classify(ParamValidationError(report="bad")) is ErrorKind.FATAL
    assert classify(ValueError("x")) is ErrorKind.FATAL
    assert classify(KeyboardInterrupt()) is ErrorKind.FATAL


# ---------------------------------------------------------------- policy


def test_backoff_is_equal_jitter_growing_and_capped() -> None:
    policy = RetryPolicy(base_s=1.0, cap_s=20.0)
    low = [policy.backoff(ErrorKind.THROTTLED, n, 0.0) for n in range(1, 8)]
    high = [policy.backoff(ErrorKind.THROTTLED, n, 1.0) for n in range(1, 8)]
    assert low == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert high == [1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0]
    quota = [policy.backoff(ErrorKind.PENDING_QUOTA, n, 1.0) for n in range(1, 6)]
    assert quota == [30.0, 60.0, 120.0, 240.0, 300.0]
    assert policy.backoff(ErrorKind.THROTTLED, 10_000, 1.0) == 20.0  # no overflow


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"base_s": 0}, {"cap_s": -1}, {"deadline_s": -1}, {"quota_base_s": 0}],
)
def test_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_with_deadline_clamps_both_deadlines() -> None:
    clamped = DEFAULT_POLICY.with_deadline(45)
    assert (clamped.deadline_s, clamped.quota_deadline_s) == (45, 45)
    assert DEFAULT_POLICY.with_deadline(-3).deadline_s == 0
    assert DEFAULT_POLICY.with_deadline(10_000) == DEFAULT_POLICY
    fake = FakeTime()
    assert retrier(fake).with_deadline(5).policy.deadline_s == 5


# ---------------------------------------------------------------- throttling


def test_throttling_storm_is_ridden_out_with_bounded_growing_waits(
    personalize: tuple[Any, Stubber],
) -> None:
    client, stubber = personalize
    for _ in range(4):
        stubber.add_client_error(
            "describe_solution_version",
            service_error_code="ThrottlingException",
            service_message="Rate exceeded",
            expected_params={"solutionVersionArn": SV_ARN},
        )
    stubber.add_response(
        "describe_solution_version", sv_response("ACTIVE"), {"solutionVersionArn": SV_ARN}
    )
    fake = FakeTime()

    result = retrier(fake).call(client.describe_solution_version, solutionVersionArn=SV_ARN)

    assert result["solutionVersion"]["status"] == "ACTIVE"
    stubber.assert_no_pending_responses()
    assert len(fake.sleeps) == 4
    for n, wait in enumerate(fake.sleeps, start=1):
        ceiling = min(20.0, 2.0 ** (n - 1))
        assert ceiling / 2 <= wait <= ceiling, (n, wait)


def test_throttling_waits_follow_the_jitter_bounds_exactly() -> None:
    for u, expected in [(0.0, [0.5, 1.0, 2.0]), (1.0, [1.0, 2.0, 4.0])]:
        fake = FakeTime()
        errors = [client_error("ThrottlingException")] * 3

        def flaky(errors: list[ClientError] = errors) -> str:
            if errors:
                raise errors.pop()
            return "ok"

        assert retrier(fake, u=u).call(flaky) == "ok"
        assert fake.sleeps == expected


def test_throttling_gives_up_after_max_attempts_with_the_original_error(
    personalize: tuple[Any, Stubber], caplog: pytest.LogCaptureFixture
) -> None:
    client, stubber = personalize
    for _ in range(3):
        stubber.add_client_error(
            "describe_solution_version", service_error_code="ThrottlingException"
        )
    fake = FakeTime()
    policy = RetryPolicy(max_attempts=3)

    with (
        caplog.at_level(logging.WARNING, logger="personakit.aws.retry"),
        pytest.raises(ClientError) as info,
    ):
        retrier(fake, policy).call(client.describe_solution_version, solutionVersionArn=SV_ARN)

    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    assert len(fake.sleeps) == 2
    stubber.assert_no_pending_responses()
    events = [getattr(r, "event", None) for r in caplog.records]
    assert events == ["personakit.retry", "personakit.retry", "personakit.retry.giveup"]


def test_throttling_stops_at_its_deadline_and_never_sleeps_past_it() -> None:
    fake = FakeTime()
    calls = 0

    def always_throttled() -> None:
        nonlocal calls
        calls += 1
        raise client_error("ThrottlingException")

    policy = RetryPolicy(max_attempts=100, deadline_s=10.0)
    with pytest.raises(ClientError):
        retrier(fake, policy, u=1.0).call(always_throttled)
    # 1 + 2 + 4 = 7 s, then the 8 s wait is clamped to the 3 s left.
    assert fake.sleeps == [1.0, 2.0, 4.0, 3.0]
    assert sum(fake.sleeps) <= 10.0
    assert calls == 5


@pytest.mark.parametrize(
    ("code", "status"),
    [("ServiceUnavailable", 503), ("InternalServerError", 500), ("SlowDown", 429)],
)
def test_server_errors_are_retried(
    personalize: tuple[Any, Stubber], code: str, status: int
) -> None:
    client, stubber = personalize
    stubber.add_client_error(
        "describe_solution_version", service_error_code=code, http_status_code=status
    )
    stubber.add_response("describe_solution_version", sv_response("ACTIVE"))
    fake = FakeTime()
    result = retrier(fake).call(client.describe_solution_version, solutionVersionArn=SV_ARN)
    assert result["solutionVersion"]["status"] == "ACTIVE"
    assert len(fake.sleeps) == 1


def test_connection_errors_are_retried_and_logged_with_the_function_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeTime()
    failures = [
        EndpointConnectionError(endpoint_url="https://x"),
        ReadTimeoutError(endpoint_url="x"),
    ]

    def describe_thing() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    with caplog.at_level(logging.WARNING, logger="personakit.aws.retry"):
        assert retrier(fake).call(describe_thing) == "done"
    assert len(fake.sleeps) == 2
    retries = [r for r in caplog.records if getattr(r, "event", None) == "personakit.retry"]
    assert [(r.operation, r.code, r.kind) for r in retries] == [  # type: ignore[attr-defined]
        ("describe_thing", "EndpointConnectionError", "transient"),
        ("describe_thing", "ReadTimeoutError", "transient"),
    ]


# ---------------------------------------------------------------- quotas


def test_pending_jobs_quota_waits_with_the_long_backoff_then_succeeds(
    personalize: tuple[Any, Stubber],
) -> None:
    client, stubber = personalize
    for _ in range(2):
        stubber.add_client_error(
            "create_dataset_import_job",
            service_error_code="LimitExceededException",
            service_message=PENDING_MSG,
            expected_params=IMPORT_PARAMS,
        )
    stubber.add_response(
        "create_dataset_import_job",
        {"datasetImportJobArn": DSG_ARN + "/job"},
        IMPORT_PARAMS,
    )
    fake = FakeTime()

    result = retrier(fake).call(client.create_dataset_import_job, **IMPORT_PARAMS)

    assert result["datasetImportJobArn"].endswith("/job")
    assert len(fake.sleeps) == 2
    assert 15.0 <= fake.sleeps[0] <= 30.0
    assert 30.0 <= fake.sleeps[1] <= 60.0
    stubber.assert_no_pending_responses()


def test_pending_jobs_quota_gives_up_after_its_bounded_deadline(
    personalize: tuple[Any, Stubber],
) -> None:
    client, stubber = personalize
    # Upper-bound jitter: 30 60 120 240 300 300 300 300 = 1650 s, then 150 s left.
    for _ in range(10):
        stubber.add_client_error(
            "create_dataset_import_job",
            service_error_code="LimitExceededException",
            service_message=PENDING_MSG,
            expected_params=IMPORT_PARAMS,
        )
    fake = FakeTime()

    with pytest.raises(QuotaExceededError) as info:
        retrier(fake, u=1.0).call(client.create_dataset_import_job, **IMPORT_PARAMS)

    assert fake.sleeps == [30.0, 60.0, 120.0, 240.0, 300.0, 300.0, 300.0, 300.0, 150.0]
    assert sum(fake.sleeps) == DEFAULT_POLICY.quota_deadline_s
    stubber.assert_no_pending_responses()
    err = info.value
    assert isinstance(err.__cause__, ClientError)
    assert err.code == "LimitExceededException"
    assert err.operation == "CreateDatasetImportJob"
    assert "import jobs" in err.quota
    assert "waited 1800s" in err.how_to_fix
    assert PENDING_MSG in str(err)


def test_pending_quota_deadline_is_configurable() -> None:
    fake = FakeTime()

    def create() -> None:
        raise client_error("LimitExceededException", PENDING_MSG, operation="CreateSolutionVersion")

    policy = RetryPolicy(quota_deadline_s=100.0)
    with pytest.raises(QuotaExceededError, match="solution versions"):
        retrier(fake, policy, u=1.0).call(create)
    assert fake.sleeps == [30.0, 60.0, 10.0]


def test_throttling_while_waiting_out_a_pending_quota_uses_the_quota_deadline() -> None:
    fake = FakeTime()
    errors = [client_error("ThrottlingException")] * 3 + [
        client_error("LimitExceededException", PENDING_MSG, operation="CreateDatasetImportJob")
    ] * 5

    def create() -> str:
        if errors:
            raise errors.pop()
        return "created"

    # Five pending-quota waits (30 + 60 + 120 + 240 + 300 = 750 s) exceed the
    # 120 s throttling deadline; the throttling that follows is still retried.
    assert retrier(fake, u=1.0).call(create) == "created"
    assert fake.sleeps == [30.0, 60.0, 120.0, 240.0, 300.0, 1.0, 2.0, 4.0]


def test_active_count_quota_fails_at_once_with_how_to_fix(
    personalize: tuple[Any, Stubber],
) -> None:
    client, stubber = personalize
    stubber.add_client_error(
        "create_campaign",
        service_error_code="LimitExceededException",
        service_message=ACTIVE_MSG,
        expected_params=CAMPAIGN_PARAMS,
    )
    fake = FakeTime()

    with pytest.raises(QuotaExceededError) as info:
        retrier(fake).call(client.create_campaign, **CAMPAIGN_PARAMS)

    assert fake.sleeps == []
    stubber.assert_no_pending_responses()
    err = info.value
    assert isinstance(err, pk.PersonakitError)
    assert err.quota == "active campaigns per dataset group (default 5, adjustable)"
    assert "Service Quotas" in err.how_to_fix
    assert err.detail == ACTIVE_MSG
    assert isinstance(err.__cause__, ClientError)


def test_sagemaker_instance_quota_is_named_from_the_message() -> None:
    message = (
        "The account-level service limit 'ml.g5.2xlarge for endpoint usage' is 0 Instances, "
        "with current utilization of 0 Instances and a request delta of 1 Instances."
    )

    def create_endpoint() -> None:
        raise client_error("ResourceLimitExceeded", message, operation="CreateEndpoint")

    fake = FakeTime()
    with pytest.raises(QuotaExceededError) as info:
        retrier(fake).call(create_endpoint)
    assert fake.sleeps == []
    assert info.value.quota == "SageMaker account quota 'ml.g5.2xlarge for endpoint usage'"
    assert "instance type" in info.value.how_to_fix


def test_unknown_operation_quota_gets_generic_advice() -> None:
    err = _retry.quota_error(client_error("LimitExceededException", "x", operation="TagResource"))
    assert err.quota == "a service quota"
    assert "Service Quotas" in err.how_to_fix


@pytest.mark.parametrize(
    "code",
    [
        "InvalidInputException",
        "ResourceNotFoundException",
        "ResourceAlreadyExistsException",
        "ResourceInUseException",
        "AccessDeniedException",
    ],
)
def test_non_retryable_errors_fail_at_once_unchanged(
    personalize: tuple[Any, Stubber], code: str
) -> None:
    client, stubber = personalize
    stubber.add_client_error("create_campaign", service_error_code=code, service_message="no")
    fake = FakeTime()

    with pytest.raises(ClientError) as info:
        retrier(fake).call(client.create_campaign, **CAMPAIGN_PARAMS)

    assert info.value.response["Error"]["Code"] == code
    assert fake.sleeps == []
    stubber.assert_no_pending_responses()


def test_no_retry_policy_still_translates_quota_errors() -> None:
    fake = FakeTime()

    def create() -> None:
        raise client_error(
            "LimitExceededException", PENDING_MSG, operation="CreateDatasetImportJob"
        )

    with pytest.raises(QuotaExceededError):
        retrier(fake, NO_RETRY).call(create)
    with pytest.raises(ClientError):
        retrier(fake, NO_RETRY).call(lambda: (_ for _ in ()).throw(client_error("Throttling")))
    assert fake.sleeps == []


# ---------------------------------------------------------------- logging and API


def test_each_retry_is_logged_at_warning_with_a_stable_event(
    personalize: tuple[Any, Stubber], caplog: pytest.LogCaptureFixture
) -> None:
    client, stubber = personalize
    stubber.add_client_error("describe_solution_version", service_error_code="ThrottlingException")
    stubber.add_client_error(
        "describe_solution_version", service_error_code="ServiceUnavailable", http_status_code=503
    )
    stubber.add_response("describe_solution_version", sv_response("ACTIVE"))
    fake = FakeTime()

    with caplog.at_level(logging.DEBUG, logger="personakit.aws.retry"):
        retrier(fake).call(client.describe_solution_version, solutionVersionArn=SV_ARN)

    records = [r for r in caplog.records if getattr(r, "event", None) == "personakit.retry"]
    assert [r.levelno for r in records] == [logging.WARNING, logging.WARNING]
    fields = [
        (r.operation, r.code, r.kind, r.attempt, r.wait_s)  # type: ignore[attr-defined]
        for r in records
    ]
    assert fields == [
        ("DescribeSolutionVersion", "ThrottlingException", "throttled", 1, fake.sleeps[0]),
        ("DescribeSolutionVersion", "ServiceUnavailable", "transient", 2, fake.sleeps[1]),
    ]
    assert "DescribeSolutionVersion failed with ThrottlingException" in records[0].getMessage()


def test_wrap_keeps_the_name_and_retries() -> None:
    fake = FakeTime()
    failures = [client_error("ThrottlingException")]

    def describe_campaign(arn: str) -> str:
        if failures:
            raise failures.pop()
        return arn

    wrapped = retrier(fake).wrap(describe_campaign)
    assert wrapped.__name__ == "describe_campaign"
    assert wrapped("arn:x") == "arn:x"
    assert len(fake.sleeps) == 1


def test_module_level_call_uses_the_default_policy_without_sleeping_on_success() -> None:
    assert _retry.call(lambda a, b: a + b, 2, b=3) == 5
    with pytest.raises(ClientError):
        _retry.call(lambda: (_ for _ in ()).throw(client_error("InvalidInputException")))


def test_keyboard_interrupt_is_never_retried() -> None:
    fake = FakeTime()

    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        retrier(fake).call(interrupted)
    assert fake.sleeps == []
