"""_wait: one poller for Personalize and SageMaker, on Stubber and a fake clock."""

from __future__ import annotations

import datetime as dt
import io
import logging
import subprocess
import sys
import types
from collections.abc import Iterator
from typing import Any

import attrs
import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

import personakit as pk
from personakit.aws import progress as _progress
from personakit.aws.retry import Retrier, RetryPolicy
from personakit.aws.timing import SimulatedClock, Timing
from personakit.aws.wait import (
    PERSONALIZE_CREATE,
    PERSONALIZE_DELETE,
    PERSONALIZE_SETTLED,
    PERSONALIZE_UPDATE,
    SAGEMAKER_ENDPOINT,
    SAGEMAKER_ENDPOINT_DELETE,
    WaitResult,
    WaitSpec,
    normalize_status,
    wait_for,
)
from personakit.errors import ResourceStoppedError

SV_ARN = "arn:aws:personalize:us-east-1:123456789012:solution-version/movies/1a2b3c4d"
CAMPAIGN_ARN = "arn:aws:personalize:us-east-1:123456789012:campaign/movies"
DSG_ARN = "arn:aws:personalize:us-east-1:123456789012:dataset-group/movies"
ENDPOINT = "falcon-7b"
ENDPOINT_ARN = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}"
NOW = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


def client(service: Any) -> Any:
    return boto3.client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


@pytest.fixture
def personalize() -> Iterator[tuple[Any, Stubber]]:
    c = client("personalize")
    with Stubber(c) as stubber:
        yield c, stubber


@pytest.fixture
def sagemaker() -> Iterator[tuple[Any, Stubber]]:
    c = client("sagemaker")
    with Stubber(c) as stubber:
        yield c, stubber


def add_sv(stubber: Stubber, status: str, reason: str | None = None) -> None:
    body: dict[str, Any] = {"solutionVersionArn": SV_ARN, "status": status}
    if reason is not None:
        body["failureReason"] = reason
    stubber.add_response(
        "describe_solution_version", {"solutionVersion": body}, {"solutionVersionArn": SV_ARN}
    )


def describe_sv(c: Any) -> Any:
    return lambda: c.describe_solution_version(solutionVersionArn=SV_ARN)


def add_endpoint(stubber: Stubber, status: str, reason: str | None = None) -> None:
    body: dict[str, Any] = {
        "EndpointName": ENDPOINT,
        "EndpointArn": ENDPOINT_ARN,
        "EndpointStatus": status,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }
    if reason is not None:
        body["FailureReason"] = reason
    stubber.add_response("describe_endpoint", body, {"EndpointName": ENDPOINT})


def events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.event for r in caplog.records if hasattr(r, "event")]


# ---------------------------------------------------------------- Personalize create


def test_solution_version_walks_pending_in_progress_active(
    personalize: tuple[Any, Stubber], caplog: pytest.LogCaptureFixture
) -> None:
    c, stubber = personalize
    for status in ("CREATE PENDING", "CREATE IN_PROGRESS", "CREATE IN_PROGRESS", "ACTIVE"):
        add_sv(stubber, status)
    fake = SimulatedClock()

    with caplog.at_level(logging.INFO, logger="personakit.aws.wait"):
        result = wait_for(describe_sv(c), arn=SV_ARN, timeout_s=3600, timing=Timing.simulated(fake))

    stubber.assert_no_pending_responses()
    assert isinstance(result, WaitResult)
    assert (result.arn, result.outcome, result.status, result.polls) == (SV_ARN, "ok", "ACTIVE", 4)
    assert result.statuses == ("CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE")
    assert fake.sleeps == [5.0, 7.5, 11.25]  # poll interval grows by 1.5
    assert result.waited_s == sum(fake.sleeps)
    assert result.response is not None
    assert result.response["solutionVersion"]["status"] == "ACTIVE"
    assert events(caplog) == [
        "personakit.wait.status",
        "personakit.wait.status",
        "personakit.wait.status",
        "personakit.wait.done",
    ]
    status_records = [r for r in caplog.records if r.event == "personakit.wait.status"]  # type: ignore[attr-defined]
    assert all(r.levelno == logging.INFO for r in caplog.records)
    assert [(r.previous, r.status) for r in status_records] == [  # type: ignore[attr-defined]
        (None, "CREATE PENDING"),
        ("CREATE PENDING", "CREATE IN_PROGRESS"),
        ("CREATE IN_PROGRESS", "ACTIVE"),
    ]
    assert all(r.arn == SV_ARN for r in caplog.records)  # type: ignore[attr-defined]


def test_poll_interval_is_capped_at_max_poll_s(personalize: tuple[Any, Stubber]) -> None:
    c, stubber = personalize
    for _ in range(6):
        add_sv(stubber, "CREATE IN_PROGRESS")
    add_sv(stubber, "ACTIVE")
    fake = SimulatedClock()
    wait_for(
        describe_sv(c),
        arn=SV_ARN,
        timeout_s=3600,
        poll_s=10,
        timing=Timing.simulated(fake, max_poll_s=30, backoff=2),
    )
    assert fake.sleeps == [10, 20, 30, 30, 30, 30]


def test_create_failed_raises_at_once_with_the_failure_reason(
    personalize: tuple[Any, Stubber], caplog: pytest.LogCaptureFixture
) -> None:
    c, stubber = personalize
    reason = "Dataset has fewer than 25 users with at least 2 interactions each."
    add_sv(stubber, "CREATE IN_PROGRESS")
    add_sv(stubber, "CREATE FAILED", reason)
    fake = SimulatedClock()

    with (
        caplog.at_level(logging.INFO, logger="personakit.aws.wait"),
        pytest.raises(pk.ResourceFailedError) as info,
    ):
        wait_for(describe_sv(c), arn=SV_ARN, timeout_s=3600, timing=Timing.simulated(fake))

    stubber.assert_no_pending_responses()
    err = info.value
    assert (err.arn, err.status, err.failure_reason) == (SV_ARN, "CREATE FAILED", reason)
    assert not isinstance(err, ResourceStoppedError)
    assert reason in str(err)
    assert fake.sleeps == [5.0]
    failed = [r for r in caplog.records if getattr(r, "event", None) == "personakit.wait.failed"]
    assert len(failed) == 1
    assert failed[0].levelno == logging.WARNING
    assert failed[0].reason == reason  # type: ignore[attr-defined]


def test_create_stopped_is_a_distinct_failure(personalize: tuple[Any, Stubber]) -> None:
    c, stubber = personalize
    add_sv(stubber, "CREATE STOPPING")
    add_sv(stubber, "CREATE STOPPED")
    fake = SimulatedClock()
    with pytest.raises(ResourceStoppedError) as info:
        wait_for(describe_sv(c), arn=SV_ARN, timeout_s=600, timing=Timing.simulated(fake))
    assert isinstance(info.value, pk.ResourceFailedError)
    assert info.value.status == "CREATE STOPPED"


def test_timeout_raises_with_the_last_status_and_never_sleeps_past_the_deadline(
    personalize: tuple[Any, Stubber], caplog: pytest.LogCaptureFixture
) -> None:
    c, stubber = personalize
    add_sv(stubber, "CREATE PENDING")
    for _ in range(5):
        add_sv(stubber, "CREATE IN_PROGRESS")
    fake = SimulatedClock()

    with (
        caplog.at_level(logging.INFO, logger="personakit.aws.wait"),
        pytest.raises(pk.WaitTimeoutError) as info,
    ):
        wait_for(
            describe_sv(c), arn=SV_ARN, timeout_s=60, timing=Timing.simulated(fake, max_poll_s=20)
        )

    # 5 + 7.5 + 11.25 + 16.875 = 40.625, then 20 is clamped to the 19.375 left;
    # one last poll at the deadline.
    assert fake.sleeps == [5.0, 7.5, 11.25, 16.875, 19.375]
    stubber.assert_no_pending_responses()
    err = info.value
    assert isinstance(err, TimeoutError)
    assert (err.arn, err.last_status, err.waited_s) == (SV_ARN, "CREATE IN_PROGRESS", 60.0)
    assert events(caplog)[-1] == "personakit.wait.timeout"
    assert caplog.records[-1].levelno == logging.WARNING


def test_zero_timeout_polls_once(personalize: tuple[Any, Stubber]) -> None:
    c, stubber = personalize
    add_sv(stubber, "CREATE PENDING")
    fake = SimulatedClock()
    with pytest.raises(pk.WaitTimeoutError):
        wait_for(describe_sv(c), arn=SV_ARN, timeout_s=0, timing=Timing.simulated(fake))
    assert fake.sleeps == []
    stubber.assert_no_pending_responses()


def test_throttling_during_a_wait_is_retried_not_fatal(personalize: tuple[Any, Stubber]) -> None:
    c, stubber = personalize
    add_sv(stubber, "CREATE IN_PROGRESS")
    for _ in range(3):
        stubber.add_client_error(
            "describe_solution_version", service_error_code="ThrottlingException"
        )
    add_sv(stubber, "ACTIVE")
    fake = SimulatedClock()

    result = wait_for(describe_sv(c), arn=SV_ARN, timeout_s=3600, timing=Timing.simulated(fake))

    assert result.status == "ACTIVE"
    assert result.polls == 2  # retries inside a poll are not polls
    assert len(fake.sleeps) == 1 + 3  # one poll interval, three retry backoffs
    assert fake.sleeps[0] == 5.0
    assert all(0.5 <= s <= 4.0 for s in fake.sleeps[1:])
    stubber.assert_no_pending_responses()


def test_a_throttling_storm_longer_than_the_retry_budget_costs_polls_not_the_wait(
    personalize: tuple[Any, Stubber],
) -> None:
    c, stubber = personalize
    for _ in range(6):  # three polls of two throttled attempts each
        stubber.add_client_error("describe_solution_version", service_error_code="Throttling")
    add_sv(stubber, "ACTIVE")
    fake = SimulatedClock()
    retrier = Retrier(RetryPolicy(max_attempts=2), sleep=fake.sleep, clock=fake.clock)

    result = wait_for(
        describe_sv(c), arn=SV_ARN, timeout_s=3600, retrier=retrier, timing=Timing.simulated(fake)
    )

    assert result.status == "ACTIVE"
    assert result.polls == 4
    assert result.statuses == ("ACTIVE",)
    stubber.assert_no_pending_responses()


def test_a_throttling_storm_past_the_deadline_times_out_with_unknown_status(
    personalize: tuple[Any, Stubber],
) -> None:
    c, stubber = personalize
    for _ in range(50):
        stubber.add_client_error("describe_solution_version", service_error_code="Throttling")
    fake = SimulatedClock()
    with pytest.raises(pk.WaitTimeoutError) as info:
        wait_for(describe_sv(c), arn=SV_ARN, timeout_s=30, timing=Timing.simulated(fake))
    assert info.value.last_status is None
    assert info.value.waited_s == pytest.approx(30)
    assert sum(fake.sleeps) == pytest.approx(30)


def test_errors_that_are_not_retryable_propagate_at_once(personalize: tuple[Any, Stubber]) -> None:
    c, stubber = personalize
    stubber.add_client_error(
        "describe_solution_version", service_error_code="AccessDeniedException"
    )
    fake = SimulatedClock()
    with pytest.raises(ClientError, match="AccessDeniedException"):
        wait_for(describe_sv(c), arn=SV_ARN, timeout_s=600, timing=Timing.simulated(fake))
    assert fake.sleeps == []


def test_not_found_during_a_create_wait_is_an_error(personalize: tuple[Any, Stubber]) -> None:
    c, stubber = personalize
    stubber.add_client_error(
        "describe_solution_version", service_error_code="ResourceNotFoundException"
    )
    fake = SimulatedClock()
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        wait_for(describe_sv(c), arn=SV_ARN, timeout_s=600, timing=Timing.simulated(fake))


def test_batch_job_statuses_with_spaces_are_understood() -> None:
    responses = iter(
        [
            {"batchInferenceJob": {"status": "PENDING"}},
            {"batchInferenceJob": {"status": "IN PROGRESS"}},
            {"batchInferenceJob": {"status": "ACTIVE"}},
        ]
    )
    fake = SimulatedClock()
    result = wait_for(
        lambda: next(responses), arn="job", timeout_s=600, timing=Timing.simulated(fake)
    )
    assert result.statuses == ("PENDING", "IN PROGRESS", "ACTIVE")


# ---------------------------------------------------------------- updates and deletion


def test_campaign_update_waits_for_the_latest_update(personalize: tuple[Any, Stubber]) -> None:
    c, stubber = personalize

    def add(status: str, update: str) -> None:
        stubber.add_response(
            "describe_campaign",
            {
                "campaign": {
                    "campaignArn": CAMPAIGN_ARN,
                    "status": status,
                    "latestCampaignUpdate": {"status": update},
                }
            },
            {"campaignArn": CAMPAIGN_ARN},
        )

    add("UPDATE PENDING", "CREATE PENDING")
    add("ACTIVE", "CREATE IN_PROGRESS")
    add("ACTIVE", "ACTIVE")
    fake = SimulatedClock()
    result = wait_for(
        lambda: c.describe_campaign(campaignArn=CAMPAIGN_ARN),
        arn=CAMPAIGN_ARN,
        spec=PERSONALIZE_UPDATE,
        timeout_s=3600,
        timing=Timing.simulated(fake),
    )
    assert result.statuses == ("UPDATE PENDING", "CREATE IN_PROGRESS", "ACTIVE")
    stubber.assert_no_pending_responses()


def test_failed_campaign_update_reports_the_update_reason() -> None:
    response = {
        "campaign": {
            "status": "ACTIVE",
            "latestCampaignUpdate": {"status": "CREATE FAILED", "failureReason": "bad version"},
        }
    }
    fake = SimulatedClock()
    with pytest.raises(pk.ResourceFailedError, match="bad version"):
        wait_for(
            lambda: response,
            arn=CAMPAIGN_ARN,
            spec=PERSONALIZE_UPDATE,
            timeout_s=60,
            timing=Timing.simulated(fake),
        )


def test_deletion_wait_ends_on_resource_not_found(
    personalize: tuple[Any, Stubber], caplog: pytest.LogCaptureFixture
) -> None:
    c, stubber = personalize
    for status in ("CREATE FAILED", "DELETE PENDING", "DELETE IN_PROGRESS"):
        stubber.add_response(
            "describe_campaign",
            {"campaign": {"campaignArn": CAMPAIGN_ARN, "status": status}},
            {"campaignArn": CAMPAIGN_ARN},
        )
    stubber.add_client_error(
        "describe_campaign",
        service_error_code="ResourceNotFoundException",
        service_message="Could not find campaign",
        expected_params={"campaignArn": CAMPAIGN_ARN},
    )
    fake = SimulatedClock()

    with caplog.at_level(logging.INFO, logger="personakit.aws.wait"):
        result = wait_for(
            lambda: c.describe_campaign(campaignArn=CAMPAIGN_ARN),
            arn=CAMPAIGN_ARN,
            timeout_s=900,
            timing=Timing.simulated(fake),
            gone=True,
            spec=PERSONALIZE_DELETE,
        )

    assert (result.outcome, result.status, result.polls) == ("gone", "DELETE IN_PROGRESS", 4)
    assert result.response is None
    assert result.statuses == ("CREATE FAILED", "DELETE PENDING", "DELETE IN_PROGRESS")
    assert len(fake.sleeps) == 3
    assert events(caplog)[-1] == "personakit.wait.done"
    stubber.assert_no_pending_responses()


def test_delete_failed_raises(personalize: tuple[Any, Stubber]) -> None:
    c, stubber = personalize
    stubber.add_response(
        "describe_dataset_group",
        {"datasetGroup": {"datasetGroupArn": DSG_ARN, "status": "DELETE FAILED"}},
        {"datasetGroupArn": DSG_ARN},
    )
    fake = SimulatedClock()
    with pytest.raises(pk.ResourceFailedError, match="DELETE FAILED"):
        wait_for(
            lambda: c.describe_dataset_group(datasetGroupArn=DSG_ARN),
            arn=DSG_ARN,
            timeout_s=900,
            timing=Timing.simulated(fake),
            gone=True,
            spec=PERSONALIZE_DELETE,
        )


def test_wait_gone_needs_a_spec_that_can_tell() -> None:
    with pytest.raises(ValueError, match="gone"):
        wait_for(lambda: {}, arn="x", timeout_s=1, spec=PERSONALIZE_CREATE, gone=True)


def test_settled_accepts_any_terminal_status() -> None:
    for status in ("ACTIVE", "CREATE FAILED", "CREATE STOPPED", "INACTIVE"):
        assert PERSONALIZE_SETTLED.verdict(status) == "ok"
    assert PERSONALIZE_SETTLED.verdict("CREATE IN_PROGRESS") == "pending"
    assert PERSONALIZE_SETTLED.verdict("CREATE STOPPING") == "pending"


# ---------------------------------------------------------------- SageMaker


def test_sagemaker_endpoint_creating_to_in_service(sagemaker: tuple[Any, Stubber]) -> None:
    c, stubber = sagemaker
    add_endpoint(stubber, "Creating")
    add_endpoint(stubber, "Creating")
    add_endpoint(stubber, "InService")
    fake = SimulatedClock()
    result = wait_for(
        lambda: c.describe_endpoint(EndpointName=ENDPOINT),
        arn=ENDPOINT_ARN,
        spec=SAGEMAKER_ENDPOINT,
        timeout_s=1800,
        poll_s=15,
        timing=Timing.simulated(fake),
    )
    assert (result.status, result.statuses, result.polls) == (
        "InService",
        ("Creating", "InService"),
        3,
    )
    assert fake.sleeps == [15, 22.5]
    stubber.assert_no_pending_responses()


def test_sagemaker_endpoint_failed_raises_with_failure_reason(
    sagemaker: tuple[Any, Stubber],
) -> None:
    c, stubber = sagemaker
    reason = "Image size 32 GB is greater than supported size 30 GB for ml.g5.2xlarge"
    add_endpoint(stubber, "Creating")
    add_endpoint(stubber, "Failed", reason)
    fake = SimulatedClock()
    with pytest.raises(pk.ResourceFailedError) as info:
        wait_for(
            lambda: c.describe_endpoint(EndpointName=ENDPOINT),
            arn=ENDPOINT_ARN,
            spec=SAGEMAKER_ENDPOINT,
            timeout_s=1800,
            timing=Timing.simulated(fake),
        )
    assert (info.value.status, info.value.failure_reason) == ("Failed", reason)


def test_sagemaker_endpoint_deletion_ends_on_validation_exception(
    sagemaker: tuple[Any, Stubber],
) -> None:
    c, stubber = sagemaker
    add_endpoint(stubber, "Deleting")
    stubber.add_client_error(
        "describe_endpoint",
        service_error_code="ValidationException",
        service_message=f'Could not find endpoint "{ENDPOINT_ARN}".',
    )
    fake = SimulatedClock()
    result = wait_for(
        lambda: c.describe_endpoint(EndpointName=ENDPOINT),
        arn=ENDPOINT_ARN,
        spec=SAGEMAKER_ENDPOINT_DELETE,
        timeout_s=600,
        timing=Timing.simulated(fake),
        gone=True,
    )
    assert (result.outcome, result.status) == ("gone", "Deleting")
    stubber.assert_no_pending_responses()


# ---------------------------------------------------------------- specs and arguments


def test_status_normalisation() -> None:
    assert normalize_status("CREATE IN_PROGRESS") == "CREATE IN PROGRESS"
    assert normalize_status("CREATE_PENDING") == "CREATE PENDING"
    assert normalize_status(" inService ") == "INSERVICE"


def test_any_status_ending_in_failed_fails_unless_the_spec_says_otherwise() -> None:
    assert PERSONALIZE_CREATE.verdict("UPDATE FAILED") == "failed"
    assert SAGEMAKER_ENDPOINT.verdict("UpdateRollbackFailed") == "failed"
    assert PERSONALIZE_DELETE.verdict("CREATE FAILED") == "pending"
    assert PERSONALIZE_CREATE.verdict(None) == "pending"
    assert PERSONALIZE_CREATE.verdict("create in_progress") == "pending"


def test_custom_spec_by_dotted_path_and_by_function() -> None:
    responses: Iterator[dict[str, Any]] = iter(
        [{"job": {"state": "RUNNING"}}, {"job": {"state": "DONE", "why": None}}]
    )
    fake = SimulatedClock()
    spec = WaitSpec(status="job.state", reason="job.why", ok={"DONE"})
    result = wait_for(
        lambda: next(responses), arn="j", spec=spec, timeout_s=60, timing=Timing.simulated(fake)
    )
    assert result.statuses == ("RUNNING", "DONE")

    spec2 = attrs.evolve(spec, status=lambda r: "DONE" if r.get("n") == 2 else "WAIT")
    counter = iter([{"n": 1}, {"n": 2}])
    result2 = wait_for(
        lambda: next(counter), arn="j", spec=spec2, timeout_s=60, timing=Timing.simulated(fake)
    )
    assert result2.polls == 2


def test_missing_status_keeps_polling_until_the_deadline() -> None:
    fake = SimulatedClock()
    with pytest.raises(pk.WaitTimeoutError) as info:
        wait_for(lambda: {}, arn="x", timeout_s=10, timing=Timing.simulated(fake))
    assert info.value.last_status is None


@pytest.mark.parametrize(
    ("kwargs", "timing"),
    [
        ({"timeout_s": -1}, {}),
        ({"timeout_s": 10, "poll_s": 0}, {}),
        ({"timeout_s": 10, "poll_s": 10}, {"max_poll_s": 5}),
        ({"timeout_s": 10}, {"backoff": 0.5}),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, float], timing: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must be"):
        wait_for(lambda: {}, arn="x", timing=Timing.simulated(**timing), **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------- progress


def _walk(progress: bool | None, label: str = "") -> WaitResult:
    responses = iter(
        [{"solution": {"status": "CREATE PENDING"}}, {"solution": {"status": "ACTIVE"}}]
    )
    fake = SimulatedClock()
    return wait_for(
        lambda: next(responses),
        arn="arn:aws:personalize:us-east-1:1:solution/movies",
        timeout_s=600,
        label=label,
        timing=Timing.simulated(fake, progress=progress),  # None: when interactive
    )


def test_progress_bar_on_shows_label_and_status(capsys: pytest.CaptureFixture[str]) -> None:
    _walk(True, label="training movies")
    err = capsys.readouterr().err
    assert "training movies" in err
    assert "ACTIVE" in err


def test_progress_bar_off_and_default_when_not_a_tty_print_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _walk(False)
    _walk(None)  # pytest's captured stderr is not a terminal
    assert capsys.readouterr().err == ""


def test_progress_default_follows_the_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class TTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    fake_err = TTY()
    monkeypatch.setattr(sys, "stderr", fake_err)
    _walk(None, label="tty-bar")
    assert "tty-bar" in fake_err.getvalue()


def test_progress_without_rich_never_crashes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("rich", "rich.console", "rich.live"):
        monkeypatch.setitem(sys.modules, name, None)  # import now raises ImportError
    monkeypatch.setattr(_progress, "_is_tty", lambda stream: True)
    assert _walk(True).status == "ACTIVE"
    assert "ACTIVE after" in capsys.readouterr().err  # plain lines instead of the block


def test_progress_default_is_on_in_a_jupyter_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    class ZMQInteractiveShell:
        pass

    class TerminalInteractiveShell:
        pass

    fake_ipython = types.ModuleType("IPython")
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython)
    fake_ipython.get_ipython = TerminalInteractiveShell  # type: ignore[attr-defined]
    assert not _progress.interactive()  # pytest's stderr is no terminal, and no kernel
    fake_ipython.get_ipython = ZMQInteractiveShell  # type: ignore[attr-defined]
    assert _progress.interactive()


def test_no_progress_library_is_imported_with_the_module() -> None:
    code = (
        "import sys, personakit.aws.wait, personakit.aws.retry; "
        "print('tqdm' in sys.modules or 'rich' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_a_simulated_timing_waits_out_hours_on_its_own_clock() -> None:
    clock = SimulatedClock()
    timing = Timing.simulated(clock, poll_s=60.0, max_poll_s=600.0)
    with pytest.raises(pk.WaitTimeoutError):
        wait_for(
            lambda: {"solution": {"status": "CREATE PENDING"}},
            arn="x",
            timeout_s=6 * 3600,
            timing=timing,
        )
    assert sum(clock.sleeps) == pytest.approx(
        6 * 3600
    )  # the whole deadline, slept on the fake clock
    assert timing.rng() == 0.5
    assert timing.progress is False
    with pytest.raises(ValueError, match="non-negative"):
        clock.sleep(-1)
