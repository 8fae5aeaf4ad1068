"""Personalize's prices: the packaged dated snapshot, the Price List parser, refresh_personalize.

No verbatim ``AmazonPersonalize`` Price List element exists in public sources (searched
for the service code, ``TPS-Hour``, training-hour usage types and the pricing page), so
the Personalize rows here are **constructed**: the real EC2 ``GetProducts`` element of
``fixtures/ec2-sample_..._eu-west-2.json`` (its envelope: ``product``, ``serviceCode``,
``terms.OnDemand.<sku>.<offer>.priceDimensions.<rate>``, ``publicationDate``) with
Personalize attributes and prices swapped in. The real EC2 and EBS elements themselves
are used as they are, as rows the parser must reject.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import math
from pathlib import Path
from typing import Any

import pytest
from _pricelist import EBS_PIOPS, EC2_UNUSED, EC2_ZERO, one_price, page
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

from personakit.aws.session import Session
from personakit.cost import PriceTable, estimate, refresh_personalize
from personakit.cost.personalize_prices import (
    PRICE_KEYS,
    check_region,
    parse_personalize_element,
    personalize_regions,
)
from personakit.errors import ConfigurationError

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.timezone.utc)


def personalize_element(
    usagetype: str,
    usd: str,
    unit: str,
    description: str,
    *,
    region: str = "us-east-1",
    sku: str = "PERSTEST00000001",
    begin: str = "0",
    end: str = "Inf",
) -> str:
    """A constructed AmazonPersonalize row on the real EC2 element's envelope (a string)."""
    element: dict[str, Any] = copy.deepcopy(json.loads(EC2_UNUSED))
    element["product"] = {
        "productFamily": "Machine Learning Service",
        "sku": sku,
        "attributes": {
            "servicecode": "AmazonPersonalize",
            "servicename": "Amazon Personalize",
            "regionCode": region,
            "locationType": "AWS Region",
            "usagetype": usagetype,
        },
    }
    element["serviceCode"] = "AmazonPersonalize"
    one_price(
        element,
        sku,
        unit=unit,
        description=description,
        beginRange=begin,
        endRange=end,
        pricePerUnit={"USD": usd},
    )
    return json.dumps(element)


#: Constructed rows of one region: data, training, three TPS tiers, recommender (users,
#: extra recommendations), batch.
ROWS = [
    personalize_element("USE1-DataIngestion", "0.06", "GB", "per GB of data ingested", sku="D1"),
    personalize_element("USE1-TrainingHour", "0.25", "Hrs", "per training hour", sku="T1"),
    personalize_element("USE1-TPS-Hour", "0.21", "TPS-Hours", "TPS", sku="R1", end="20000"),
    personalize_element(
        "USE1-TPS-Hour", "0.11", "TPS-Hours", "TPS", sku="R1", begin="20000", end="200000"
    ),
    personalize_element("USE1-TPS-Hour", "0.06", "TPS-Hours", "TPS", sku="R1", begin="200000"),
    personalize_element(
        "USE1-Recommender-Users", "0.40", "Hrs", "per 100K active users hour", sku="U1"
    ),
    personalize_element(
        "USE1-Recommender-Extra", "0.00009", "Recommendations", "above the free ones", sku="U2"
    ),
    personalize_element(
        "USE1-BatchRecommendations", "0.000067", "Recommendations", "batch", sku="B1"
    ),
]


def _expected(region: str) -> dict[str, Any]:
    return {
        "ServiceCode": "AmazonPersonalize",
        "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}],
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }


# --------------------------------------------------------------------------- the snapshot


def test_every_packaged_price_names_its_source_and_date() -> None:
    table = PriceTable.packaged("us-east-1")
    assert table.origin == "packaged"
    assert table.as_of == dt.date(2026, 12, 6)
    for key in PRICE_KEYS:
        price = table.line(key)
        assert price.as_of == "2026-12-06", key
        assert "https://aws.amazon.com/personalize/pricing/" in price.source, key
        assert "packaged snapshot of 2026-12-06" in price.source, key
        assert price.verified is False, key  # no real Price List element was found
    # the one rate nobody found stays unknown, never a zero
    assert table.line("batch").usd is None
    assert table.tps_tiers == ((20_000.0, 0.20), (180_000.0, 0.10), (math.inf, 0.05))
    assert not table.verified


def test_the_snapshot_is_read_as_us_east_1_with_a_warning_elsewhere() -> None:
    assert PriceTable.packaged("us-east-1").warnings == ()
    (warning,) = PriceTable.packaged("eu-west-1").warnings
    assert "read as us-east-1" in warning
    assert "eu-west-1" in warning


def test_unknown_region_names_the_valid_ones_with_a_did_you_mean() -> None:
    with pytest.raises(ConfigurationError, match=r"Did you mean 'eu-west-1'\?") as info:
        check_region("eu-west-7")
    assert "us-east-1" in str(info.value)
    assert "ap-south-1" in str(info.value)
    with pytest.raises(ConfigurationError, match="not offered"):
        PriceTable.packaged("sa-east-1")  # Personalize has no endpoint there
    with pytest.raises(ConfigurationError, match="us-east-2"):
        estimate(data_gb=1, region="us-east-3")
    assert "us-east-1" in personalize_regions()


def test_unknown_price_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="known: data, training"):
        PriceTable.packaged().line("storage")


# --------------------------------------------------------------------------- the parser


def test_parser_rejects_real_elements_of_other_services() -> None:
    # real GetProducts output: EBS in GB-Mo, a $0 EC2 reservation, a $0.0218 EC2 hour
    for element in (EBS_PIOPS, EC2_ZERO, EC2_UNUSED):
        assert parse_personalize_element(element) == []


def test_parser_reads_each_kind_of_row() -> None:
    rows = [row for element in ROWS for row in parse_personalize_element(element, "us-east-1")]
    assert [r.key for r in rows] == [
        "data",
        "training",
        "tps",
        "tps",
        "tps",
        "recommender",
        "recommender_extra",
        "batch",
    ]
    tps = [r for r in rows if r.key == "tps"]
    assert [(r.begin, r.end, r.usd) for r in tps] == [
        (0.0, 20_000.0, 0.21),
        (20_000.0, 200_000.0, 0.11),
        (200_000.0, math.inf, 0.06),
    ]
    # the envelope's publication date travels with each row
    assert rows[0].publication_date == json.loads(EC2_UNUSED)["publicationDate"]
    assert "SKU D1" in rows[0].source()


def test_parser_skips_zero_prices_other_regions_and_unknown_rows() -> None:
    zero = personalize_element("USE1-TrainingHour", "0.0000000000", "Hrs", "free tier")
    other = personalize_element("EUW1-TrainingHour", "0.3", "Hrs", "training", region="eu-west-1")
    odd = personalize_element("USE1-Something", "1.0", "Quantity", "a fee of some kind")
    assert parse_personalize_element(zero) == []
    assert parse_personalize_element(other, "us-east-1") == []
    assert parse_personalize_element(odd) == []
    # a dict works as well as the JSON string the API sends
    assert parse_personalize_element(json.loads(ROWS[1]))[0].usd == 0.25


@settings(max_examples=60, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=8),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    ["product", "attributes", "servicecode", "terms", "OnDemand", "unit", "USD"]
                ),
                children,
                max_size=4,
            )
        ),
        max_leaves=12,
    )
)
def test_parser_never_crashes_on_odd_shapes(data: Any) -> None:
    element = {"product": {"attributes": {"servicecode": "AmazonPersonalize"}}, "terms": data}
    try:
        rows = parse_personalize_element(element)
    except (AttributeError, TypeError):
        pytest.fail("the parser crashed on an odd shape")
    assert all(r.usd > 0 for r in rows)


# --------------------------------------------------------------------------- refresh


def test_refresh_reads_the_rows_and_marks_them_verified(
    session: Session, pricing: tuple[Any, Stubber], tmp_path: Path
) -> None:
    _, stubber = pricing
    stubber.add_response("get_products", page(ROWS), _expected("us-east-1"))

    table = refresh_personalize(session, "us-east-1", cache_dir=tmp_path, now=lambda: NOW)

    assert (table.origin, table.stale, table.as_of) == ("pricing-api", False, NOW.date())
    assert table.verified
    assert table.warnings == ()
    assert table.line("training").usd == 0.25
    assert table.line("batch").usd == 0.000067
    assert table.tps_tiers == ((20_000.0, 0.21), (180_000.0, 0.11), (math.inf, 0.06))
    assert "AWS Price List API" in table.line("data").source
    # a month at the first tiers, worked by hand: 10 GB x $0.06 + 20 h x $0.25 + 730 x $0.21
    month = estimate(
        data_gb=10, training_hours=20, campaign_tps_hours=(1, 730), prices=table
    ).total_usd
    assert month == pytest.approx(0.6 + 5.0 + 153.3)
    assert (tmp_path / "personalize-us-east-1.json").exists()


def test_a_price_the_read_lacks_keeps_the_snapshot_line_and_says_so(
    session: Session, pricing: tuple[Any, Stubber], tmp_path: Path
) -> None:
    _, stubber = pricing
    stubber.add_response("get_products", page(ROWS[:2]), _expected("us-east-1"))

    table = refresh_personalize(session, "us-east-1", cache_dir=tmp_path, now=lambda: NOW)

    assert table.line("data").verified
    assert table.line("data").usd == 0.06
    assert not table.line("recommender").verified
    assert "had no row for it" in table.line("recommender").source
    assert "no usable TPS-hour tiers" in table.tps.source
    assert table.line("batch").usd is None


def test_the_cache_is_used_then_the_fallback_when_the_api_fails(
    session: Session, pricing: tuple[Any, Stubber], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, stubber = pricing
    stubber.add_response("get_products", page(ROWS), _expected("us-east-1"))
    refresh_personalize(session, "us-east-1", cache_dir=tmp_path, now=lambda: NOW)
    # a day later: the cache, without a call (the Stubber has no response queued)
    cached = refresh_personalize(
        session, "us-east-1", cache_dir=tmp_path, now=lambda: NOW + dt.timedelta(days=1)
    )
    assert (cached.origin, cached.stale) == ("cache", False)
    assert cached.line("training").usd == 0.25
    # ten days later the API is asked, fails, and the old read is used, marked stale
    stubber.add_client_error("get_products", "AccessDeniedException", "not allowed", 403)
    with caplog.at_level(logging.WARNING, logger="personakit.cost.personalize_prices"):
        stale = refresh_personalize(
            session, "us-east-1", cache_dir=tmp_path, now=lambda: NOW + dt.timedelta(days=10)
        )
    assert (stale.origin, stale.stale) == ("cache", True)
    assert "AccessDeniedException" in caplog.text


def test_offline_falls_back_to_the_packaged_snapshot(
    session: Session, pricing: tuple[Any, Stubber], tmp_path: Path
) -> None:
    _, stubber = pricing
    stubber.add_client_error("get_products", "ThrottlingException", "slow down", 400)
    stubber.add_client_error("get_products", "AccessDeniedException", "not allowed", 403)

    table = refresh_personalize(session, "us-east-1", cache_dir=tmp_path, now=lambda: NOW)

    assert (table.origin, table.stale) == ("packaged", True)
    assert "Price List API unavailable" in table.note
    assert table.line("training").usd == PriceTable.packaged().line("training").usd


def test_no_rows_is_not_taken_as_free(
    session: Session, pricing: tuple[Any, Stubber], tmp_path: Path
) -> None:
    _, stubber = pricing
    stubber.add_response("get_products", page([EC2_UNUSED]), _expected("us-east-1"))
    table = refresh_personalize(session, "us-east-1", cache_dir=tmp_path, now=lambda: NOW)
    assert (table.origin, table.stale) == ("packaged", True)
    assert "no Personalize prices" in table.note


def test_refresh_refuses_an_unknown_region(session: Session, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="Did you mean 'us-west-2'"):
        refresh_personalize(session, "us-west-3", cache_dir=tmp_path)


def test_tiers_with_a_gap_keep_the_snapshots(
    session: Session, pricing: tuple[Any, Stubber], tmp_path: Path
) -> None:
    _, stubber = pricing
    # 0-20K and over 200K, nothing between: usage there would go unpriced
    stubber.add_response("get_products", page([ROWS[2], ROWS[4]]), _expected("us-east-1"))
    table = refresh_personalize(session, "us-east-1", cache_dir=tmp_path, now=lambda: NOW)
    assert table.tps_tiers == PriceTable.packaged().tps_tiers
    assert not table.tps.verified
    assert "no usable TPS-hour tiers" in table.tps.source
