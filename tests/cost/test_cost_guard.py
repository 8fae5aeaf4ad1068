"""CostGuard: advice on the session's prices, and the monthly budget check."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from _pricelist import page, sagemaker_element
from botocore.stub import Stubber

from personakit.cost import Catalog, CostGuard
from personakit.cost.pricing import hosting_filters
from personakit.errors import BudgetExceededError, ConfigurationError
from personakit.session import Session

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
    with pytest.raises(KeyError):
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
