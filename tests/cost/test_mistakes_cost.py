"""Mistakes in the cost tools raise a PersonakitError that says the fix (issue 13, item 5).

An instance type that does not exist, a budget already in the red, a session on AWS
without credentials, and the CLI's ``sweep`` and ``cost running`` without credentials
or with checks that failed. Nothing here reaches the network: botocore finds no
credentials in an emptied environment, and the failing checks are answered by a
``before-send`` handler.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from personakit import cli
from personakit.aws.session import Session
from personakit.cost import Catalog, CostGuard, advise, compare
from personakit.cost.catalog import family_of
from personakit.cost.inventory import Inventory
from personakit.errors import (
    BudgetExceededError,
    ConfigurationError,
    CredentialsError,
    PersonakitError,
    UnsupportedInstanceError,
)

CREDENTIALS_URL = "https://boto3.amazonaws.com/v1/documentation/api/latest/guide/credentials.html"
PRICING_URL = "https://aws.amazon.com/sagemaker/pricing/"


@pytest.fixture
def guard(session: Session) -> CostGuard:
    return CostGuard(session, budget_usd=15_000, catalog=Catalog.load(), count_running=False)


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An environment where botocore finds no credentials, and never asks the network."""
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "PERSONAKIT_REGION",
    ):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "credentials").write_text("")
    (tmp_path / "config").write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


# --------------------------------------------------------------------------- instance types


def test_a_size_the_family_does_not_come_in(guard: CostGuard) -> None:
    with pytest.raises(UnsupportedInstanceError) as caught:
        guard.check_deploy("ml.p3.4xlarge")
    text = str(caught.value)
    assert isinstance(caught.value, ConfigurationError)  # docs/cost.md says so
    assert "'ml.p3.4xlarge' is not an instance type" in text
    assert "the catalog's p3 sizes are ml.p3.2xlarge, ml.p3.8xlarge, ml.p3.16xlarge" in text
    assert "did you mean ml.p3" in text
    assert PRICING_URL in text
    assert caught.value.supported == ("ml.p3.2xlarge", "ml.p3.8xlarge", "ml.p3.16xlarge")


def test_a_missing_ml_prefix_suggests_the_prefixed_name(guard: CostGuard) -> None:
    with pytest.raises(UnsupportedInstanceError) as caught:
        guard.check_deploy("g5.2xlarge")
    text = str(caught.value)
    assert "start with 'ml.'" in text
    assert "did you mean ml.g5.2xlarge?" in text
    with pytest.raises(ConfigurationError, match=r"did you mean 'ml\.g5\.2xlarge'"):
        family_of("g5.2xlarge")


def test_every_lookup_recognises_the_same_mistakes() -> None:
    catalog = Catalog.load()
    with pytest.raises(UnsupportedInstanceError, match=r"did you mean ml\.g5\.2xlarge"):
        catalog.price("ML.G5.2XLARGE")
    with pytest.raises(UnsupportedInstanceError, match="the catalog's p3 sizes"):
        advise("huggingface-llm-falcon-7b-bf16", catalog=catalog, instances=["ml.p3.4xlarge"])
    with pytest.raises(UnsupportedInstanceError, match=r"did you mean ml\.g4dn\.4xlarge"):
        compare("g4dn.4xlarge", "ml.p3.2xlarge", catalog=catalog)
    with pytest.raises(PersonakitError) as caught:
        catalog["ml.g5.2xlarg"]
    assert not isinstance(caught.value, KeyError)
    assert "did you mean ml.g5.2xlarge" in str(caught.value)
    assert catalog["ml.g5.2xlarge"].name == "ml.g5.2xlarge"


# --------------------------------------------------------------------------- budget


def test_a_budget_already_in_the_red_says_by_how_much(session: Session) -> None:
    guard = CostGuard(
        session, budget_usd=1_000, spent_usd=1_046, catalog=Catalog.load(), count_running=False
    )
    with pytest.raises(BudgetExceededError) as caught:
        guard.check_deploy("ml.t3.medium")
    text = str(caught.value)
    assert "over budget by $46.00" in text
    assert "$-" not in text
    assert "personakit cost running" in text  # the way out
    assert caught.value.remaining_usd == pytest.approx(-46.0)


def test_a_budget_with_money_left_still_says_what_is_left(session: Session) -> None:
    guard = CostGuard(
        session, budget_usd=1_200, spent_usd=200, catalog=Catalog.load(), count_running=False
    )
    with pytest.raises(BudgetExceededError, match=r"only \$1,000\.00 of the \$1,200\.00"):
        guard.check_deploy("ml.g5.2xlarge")


# --------------------------------------------------------------------------- credentials


@pytest.mark.usefixtures("no_credentials")
def test_session_aws_without_credentials_says_how_to_set_them() -> None:
    session = Session.aws(region_name="us-east-1")
    with pytest.raises(CredentialsError) as caught:
        session.client("personalize")
    text = str(caught.value)
    assert "no AWS credentials found" in text
    for fix in ("AWS_PROFILE", "aws configure", "aws sso login", CREDENTIALS_URL):
        assert fix in text
    assert not isinstance(caught.value, ConfigurationError)  # the scan must not skip it


def _no_traceback(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return captured.out, captured.err


@pytest.mark.usefixtures("no_credentials")
@pytest.mark.parametrize(
    "argv",
    [
        ["sweep", "--region", "us-east-1"],
        ["sweep", "--yes", "--older-than", "2h", "--region", "us-east-1"],
        ["cost", "running", "--region", "us-east-1"],
        ["cost", "running", "--budget", "100", "--region", "us-east-1"],
    ],
)
def test_cli_without_credentials_prints_the_fix(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    out, err = _no_traceback(capsys)
    assert err.startswith("personakit: no AWS credentials found")
    assert err.count("\n") == 1  # one paragraph
    assert "aws sso login" in err
    assert CREDENTIALS_URL in err
    assert "running resource(s)" not in out  # no headline of a listing never made


# --------------------------------------------------------------------------- cost running


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def _access_denied(request: Any, **_: Any) -> AWSResponse:
    body = json.dumps({"__type": "AccessDeniedException", "message": "not allowed"}).encode()
    return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.1"}, _Raw(body))


def _denied_session() -> Session:
    """A session on AWS whose personalize and sagemaker calls are all refused (offline)."""
    boto = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    clients = {}
    for service in ("personalize", "sagemaker"):
        client = boto.client(service)  # type: ignore[call-overload]
        client.meta.events.register("before-send", _access_denied)
        clients[service] = client
    return Session.aws(boto, region_name="us-east-1", clients=clients)


def test_cost_running_with_failed_checks_says_the_total_is_incomplete(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    denied = _denied_session()
    monkeypatch.setattr(Session, "aws", classmethod(lambda cls, *a, **k: denied))
    assert cli.main(["cost", "running", "--region", "us-east-1"]) == 0
    out, _ = _no_traceback(capsys)
    headline = out.splitlines()[0]
    assert not headline.startswith("0 running resource(s)")
    assert headline.startswith("at least 0 running resource(s) in us-east-1: at least $0.00/h")
    assert "checks failed: Personalize campaigns" in headline
    assert "SageMaker endpoints" in headline
    assert "AccessDeniedException" in out  # the notes say why


def test_a_complete_inventory_keeps_its_plain_headline() -> None:
    taken = dt.datetime(2026, 11, 29, tzinfo=dt.timezone.utc)
    assert Inventory(region="us-east-1", resources=(), taken_at=taken).summary() == (
        "0 running resource(s) in us-east-1: $0.00/h, $0.00/day, $0.00/month"
    )
    partial = Inventory(
        region="us-east-1",
        resources=(),
        taken_at=taken,
        incomplete=("SageMaker endpoints: could not be listed (AccessDenied: no)",),
    )
    assert partial.summary().endswith(
        "(incomplete: 1 check failed: SageMaker endpoints; see the notes)"
    )


def test_every_mistake_here_is_a_personakit_error() -> None:
    for cls in (UnsupportedInstanceError, BudgetExceededError, CredentialsError):
        assert issubclass(cls, PersonakitError)
