"""estimate(): Amazon Personalize line items, totals by hand (https://aws.amazon.com/personalize/pricing/)."""

from __future__ import annotations

import pytest

from personakit.cost import estimate
from personakit.cost.personalize import PRICING_URL
from personakit.errors import ConfigurationError


def test_a_small_month_by_hand() -> None:
    bill = estimate(data_gb=10, training_hours=20, campaign_tps_hours=(1, 730))
    # 10 GB x $0.05 = $0.50; 20 h x $0.24 = $4.80; 1 TPS x 730 h = 730 TPS-hours x $0.20 = $146
    assert [i.subtotal_usd for i in bill.items] == pytest.approx([0.5, 4.8, 146.0])
    assert bill.total_usd == pytest.approx(151.3)
    assert bill.complete
    # every $ figure is unverified, and so is each line item; each cites the pricing page
    assert not bill.verified
    assert all(not i.verified for i in bill.items)
    assert all(PRICING_URL in i.source for i in bill.items)
    assert any("unverified" in w for w in bill.warnings)


def test_an_idle_campaign_costs_144_a_month() -> None:
    # reference §9: "an idle campaign at 1 TPS ≈ 2.59M billed requests/month ≈ $144/month"
    # 1 TPS x 720 h = 720 TPS-hours x $0.20 = $144 (720 x 3,600 = 2,592,000 requests)
    bill = estimate(campaign_tps_hours=(1, 720))
    assert bill.total_usd == pytest.approx(144.0)
    assert "minProvisionedTPS 1" in (bill.items[0].note or "")


def test_tps_hour_tiers() -> None:
    bill = estimate(campaign_tps_hours=250_000)
    # 20,000 x $0.20 = $4,000; 180,000 x $0.10 = $18,000; 50,000 x $0.05 = $2,500
    assert [(i.quantity, i.unit_price_usd) for i in bill.items] == [
        (20_000, 0.20),
        (180_000, 0.10),
        (50_000, 0.05),
    ]
    assert bill.total_usd == pytest.approx(24_500.0)


def test_free_tier() -> None:
    bill = estimate(data_gb=10, training_hours=150, campaign_tps_hours=(1, 100), free_tier=True)
    # data 10 GB all free; training 150 - 100 free = 50 h x $0.24 = $12;
    # 100 TPS-hours - 50 free = 50 x $0.20 = $10 -> $22
    assert bill.total_usd == pytest.approx(22.0)
    free = [i for i in bill.items if i.item.startswith("free tier")]
    assert [i.quantity for i in free] == [10, 100, 50]


def test_recommenders() -> None:
    bill = estimate(recommender_hours=730, recommender_users=200_000)
    # 730 h x (200,000 / 100,000) = 1,460 units x $0.375 = $547.50
    assert bill.total_usd == pytest.approx(547.5)
    extra = estimate(recommender_extra_recommendations=12_000)
    # 12,000 x $0.0833 / 1,000 = $0.9996
    assert extra.total_usd == pytest.approx(0.9996)


def test_batch_has_no_known_price_and_the_total_says_so() -> None:
    bill = estimate(training_hours=10, batch_recommendations=1_000_000)
    batch = bill.items[-1]
    assert (batch.unit_price_usd, batch.subtotal_usd) == (None, None)
    assert not bill.complete
    assert bill.total_usd == pytest.approx(2.4)  # training only: 10 x $0.24
    assert "without a known price" in str(bill)
    assert any("batch inference" in w for w in bill.warnings)


def test_quota_and_region_warnings() -> None:
    bill = estimate(campaign_tps_hours=(600, 1), region="eu-west-1")
    # reference §8.4: 500 TPS per campaign per API by default
    assert any("500 TPS" in w for w in bill.warnings)
    assert any("eu-west-1 may differ" in w for w in bill.warnings)


def test_bad_input() -> None:
    with pytest.raises(ConfigurationError):
        estimate(data_gb=-1)
    with pytest.raises(ConfigurationError, match="at least 1"):
        estimate(campaign_tps_hours=(0, 10))


def test_displays() -> None:
    bill = estimate(data_gb=10, training_hours=20)
    text = str(bill)
    assert "total: $5.30" in text
    assert "unverified" in text
    assert "<table>" in bill._repr_html_()
    frame = bill.to_frame()
    assert list(frame["subtotal_usd"]) == pytest.approx([0.5, 4.8])
