"""CostGuard: advice on the session's prices, and the monthly budget check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from _pricelist import page, sagemaker_element
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from moto import mock_aws

from personakit.aws.session import Session
from personakit.aws.timing import Timing
from personakit.cost import Catalog, CostGuard
from personakit.cost.pricing import hosting_filters
from personakit.errors import BudgetExceededError, ConfigurationError, UnsupportedInstanceError

TODAY = dt.date(2026, 11, 29)


@pytest.fixture
def offline(session: Session) -> CostGuard:
    # these tests check the new deployment alone (what runs: tests/cost/test_inventory.py)
    return CostGuard(
        session, budget_usd=1200, catalog=Catalog.load(), today=lambda: TODAY, count_running=False
    )


def test_check_deploy_allows_what_a_month_of_fits(offline: CostGuard) -> None:
    check = offline.check_deploy("ml.g5.2xlarge")
    # $1.515 x 730 h = $1,105.95 <= $1,200; $94.05 left
    assert check.usd_per_month == pytest.approx(1105.95)
    assert check.remaining_usd == pytest.approx(94.05)
    assert "ml.g5.2xlarge" in str(check)


def test_check_deploy_refuses_what_does_not(offline: CostGuard) -> None:
    # 2 x $0.7364 x 730 = $1,075.14 fits; 3 x = $1,612.72 does not
    assert offline.check_deploy("ml.g4dn.xlarge", count=2).usd_per_month == pytest.approx(1075.144)
    with pytest.raises(BudgetExceededError, match=r"\$1,612\.72 a month"):
        offline.check_deploy("ml.g4dn.xlarge", count=3)


def test_spent_money_is_not_available(session: Session) -> None:
    guard = CostGuard(
        session, budget_usd=1200, spent_usd=200, catalog=Catalog.load(), count_running=False
    )
    assert guard.remaining_usd == 1000
    with pytest.raises(BudgetExceededError, match=r"only \$1,000\.00 of the \$1,200\.00"):
        guard.check_deploy("ml.g5.2xlarge")  # $1,105.95 > $1,000


def test_expired_credits(session: Session) -> None:
    guard = CostGuard(
        session,
        budget_usd=15_000,
        credit_expires="2026-11-01",
        catalog=Catalog.load(),
        today=lambda: TODAY,
        count_running=False,
    )
    with pytest.raises(BudgetExceededError, match="expired on 2026-11-01"):
        guard.check_deploy("ml.t3.medium")


def test_credits_expiring_within_the_month_are_mentioned(session: Session) -> None:
    guard = CostGuard(
        session,
        budget_usd=15_000,
        credit_expires=dt.date(2026, 12, 9),
        catalog=Catalog.load(),
        today=lambda: TODAY,
        count_running=False,
    )
    check = guard.check_deploy("ml.g5.2xlarge")
    assert check.note is not None
    assert "expire on 2026-12-09 (10 days)" in check.note


def test_no_price_means_no_check(offline: CostGuard) -> None:
    with pytest.raises(ConfigurationError, match="cannot be checked"):
        offline.check_deploy("ml.c6g.xlarge")  # the reference has no price for it
    with pytest.raises(UnsupportedInstanceError):  # a ConfigurationError too
        offline.check_deploy("ml.nope.xlarge")
    with pytest.raises(ConfigurationError):
        offline.check_deploy("ml.g5.2xlarge", count=0)


def test_advise_compare_estimate_delegate(offline: CostGuard) -> None:
    advice = offline.advise("falcon-7b")
    assert advice.region == "us-east-1"
    assert advice.best is not None
    assert "ml.g4dn.4xlarge vs ml.p3.2xlarge: 39% of the price" in str(
        offline.compare("ml.g4dn.4xlarge", "ml.p3.2xlarge")
    )
    assert offline.estimate(training_hours=10).total_usd == pytest.approx(2.4)


def test_live_prices_come_from_the_sessions_pricing_client(
    session: Session, pricing: tuple[Any, Stubber], tmp_path: Path
) -> None:
    _, stubber = pricing
    stubber.add_response(
        "get_products",
        page([sagemaker_element("ml.g5.2xlarge", "1.3000000000")]),
        {
            "ServiceCode": "AmazonSageMaker",
            "Filters": hosting_filters("us-east-1"),
            "FormatVersion": "aws_v1",
            "MaxResults": 100,
        },
    )
    guard = CostGuard(session, budget_usd=1000, count_running=False)

    check = guard.check_deploy("ml.g5.2xlarge")  # $1.30 x 730 = $949 <= $1,000

    assert guard.catalog.origin == "pricing-api"
    assert check.usd_per_month == pytest.approx(949.0)
    stubber.assert_no_pending_responses()


# --------------------------------------------------------------------------- what runs


class Account:
    """A Session on a stubbed ``personalize`` client and moto's ``sagemaker``, calls counted.

    Every API call advances the fake clock by ``step_s`` (so the listing's deadline
    can be reached without waiting).
    """

    def __init__(self, step_s: float = 0.0) -> None:
        self.personalize = boto3.client("personalize", region_name="us-east-1")
        self.sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        self.stub = Stubber(self.personalize)
        self.calls: list[str] = []
        self.now = 0.0
        self.step_s = step_s
        for client in (self.personalize, self.sagemaker):
            client.meta.events.register("provide-client-params", self._count)
        self.session = Session.aws(
            region_name="us-east-1",
            clients={"personalize": self.personalize, "sagemaker": self.sagemaker},
        )
        self.timing = Timing(sleep=lambda s: None, clock=lambda: self.now, rng=lambda: 0.5)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)
        self.now += self.step_s

    def lists(self, campaigns: list[dict[str, Any]] | None = None) -> None:
        """Queue one lean Personalize listing: the campaigns given, nothing else."""
        self.stub.add_response(
            "list_campaigns", {"campaigns": campaigns or []}, {"maxResults": 100}
        )
        for campaign in campaigns or []:
            self.stub.add_response(
                "describe_campaign",
                {"campaign": {"campaignArn": campaign["campaignArn"], "minProvisionedTPS": 2}},
                {"campaignArn": campaign["campaignArn"]},
            )
        self.stub.add_response("list_recommenders", {"recommenders": []}, {"maxResults": 100})
        self.stub.add_response("list_solutions", {"solutions": []}, {"maxResults": 100})

    def guard(self, **kwargs: Any) -> CostGuard:
        kwargs.setdefault("catalog", Catalog.load())
        return CostGuard(self.session, budget_usd=1000, timing=self.timing, **kwargs)


CAMPAIGN = {
    "name": "theirs",
    "campaignArn": "arn:aws:personalize:us-east-1:123456789012:campaign/theirs",
    "status": "ACTIVE",
}
LEAN_LISTING = [
    "ListCampaigns",
    "DescribeCampaign",
    "ListRecommenders",
    "ListSolutions",
    "ListEndpoints",
    "ListNotebookInstances",
    "ListTrainingJobs",
    "ListTransformJobs",
]


@pytest.fixture
def account() -> Iterator[Account]:
    with mock_aws():
        acct = Account()
        with acct.stub:
            yield acct


def test_the_listing_is_cached_and_approvals_count_until_it_is_renewed(account: Account) -> None:
    account.lists([CAMPAIGN])
    guard = account.guard()

    first = guard.check_campaign(1)  # $0.40/h runs (2 TPS), +$0.20/h

    assert account.calls == LEAN_LISTING  # lean: no tags, no versions, no batch jobs
    assert first.running_usd_per_hour == pytest.approx(0.40)
    assert first.complete
    assert first.note is None
    account.now += 59
    second = guard.check_deploy("ml.t3.medium")
    assert account.calls == LEAN_LISTING  # within 60 s: no second listing
    # what runs, and the campaign approved a minute ago (not listed yet)
    assert second.running_usd_per_hour == pytest.approx(0.40 + 0.20)

    account.now += 2  # the listing is 61 s old: listed again; the first approval expired
    account.lists([CAMPAIGN])
    third = guard.check_campaign(1)
    account.stub.assert_no_pending_responses()
    assert account.calls == LEAN_LISTING * 2
    assert third.running_usd_per_hour == pytest.approx(0.40 + second.usd_per_hour)


def denied(account: Account) -> None:
    """Queue one lean Personalize listing whose ListCampaigns is refused."""
    account.stub.add_client_error(
        "list_campaigns",
        "AccessDeniedException",
        "User is not authorized to perform: personalize:ListCampaigns",
        400,
        expected_params={"maxResults": 100},
    )
    account.stub.add_response("list_recommenders", {"recommenders": []}, {"maxResults": 100})
    account.stub.add_response("list_solutions", {"solutions": []}, {"maxResults": 100})


def test_a_listing_refused_is_a_gap_said_out_loud(
    account: Account, caplog: pytest.LogCaptureFixture
) -> None:
    denied(account)

    check = account.guard().check_campaign(1)

    assert not check.complete
    assert check.note is not None
    assert "Personalize campaigns: could not be listed (AccessDeniedException" in check.note
    assert check.gaps[0] in check.note
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert any("passed on an incomplete count" in r.getMessage() for r in warnings)

    denied(account)
    strict = account.guard(strict=True)
    with pytest.raises(BudgetExceededError, match=r"strict.*AccessDeniedException") as info:
        strict.check_campaign(1)
    assert info.value.what == "a campaign at 1 TPS"


def test_a_connection_error_is_a_note_not_a_crash(account: Account) -> None:
    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com")

    account.sagemaker.meta.events.register("before-call.sagemaker.ListEndpoints", unreachable)
    account.lists()

    check = account.guard().check_campaign(1)

    assert "SageMaker endpoints: could not be listed (EndpointConnectionError" in str(check.note)
    account.lists()
    strict = account.guard(strict=True)
    with pytest.raises(BudgetExceededError, match="EndpointConnectionError"):
        strict.check_campaign(1)


def test_the_listing_stops_at_its_deadline() -> None:
    with mock_aws():
        account = Account(step_s=20)  # every call takes 20 s
        with account.stub:
            account.stub.add_response("list_campaigns", {"campaigns": []}, {"maxResults": 100})
            account.stub.add_response(
                "list_recommenders", {"recommenders": []}, {"maxResults": 100}
            )

            check = account.guard(deadline_s=30).check_campaign(1)

            account.stub.assert_no_pending_responses()
    assert account.calls == ["ListCampaigns", "ListRecommenders"]  # 40 s: no third call
    assert check.note is not None
    assert "the listing stopped at its 30 s deadline: Personalize solutions" in check.note
    assert "SageMaker endpoints" in check.note
