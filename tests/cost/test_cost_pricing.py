"""refresh(): live SageMaker Hosting prices through a stubbed real pricing client."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import boto3
import pytest
from _pricelist import (
    EBS_PIOPS,
    EC2_UNUSED,
    EC2_ZERO,
    SDK_DICT,
    SDK_STRING,
    fixture_text,
    page,
    sagemaker_element,
)
from botocore.stub import Stubber

from personakit.aws.retry import Retrier, RetryPolicy
from personakit.aws.session import Session
from personakit.cost import Catalog, refresh
from personakit.cost.pricing import hosting_filters, parse_element

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.timezone.utc)


def _expected(region: str, token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "ServiceCode": "AmazonSageMaker",
        "Filters": hosting_filters(region),
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    if token:
        params["NextToken"] = token
    return params


def _mixed_pages(stubber: Stubber) -> None:
    """Two pages: Hosting rows among Training, Notebook, $0, Outposts, fee and EC2 rows."""
    # the wrong rows come first: a parser that took PriceList[0] would get $1.8
    first = [
        sagemaker_element("ml.g5.2xlarge", "1.8000000000", kind="Training", sku="TRAIN0001"),
        sagemaker_element("ml.g5.2xlarge", "2.0000000000", kind="Notebook", sku="NOTEBK001"),
        sagemaker_element("ml.g5.2xlarge", "1.6000000000", vcpu="8", memory="32 GiB", gpu="1"),
        sagemaker_element("ml.t3.medium", "0.0000000000", sku="FREE00001"),  # $0 placeholder
        EBS_PIOPS,  # unit GB-Mo, EC2
        EC2_ZERO,  # $0 reservation, EC2
        EC2_UNUSED,  # $0.0218, EC2, not SageMaker
    ]
    second = [
        sagemaker_element(
            "ml.m5.xlarge", "0.3000000000", location_type="AWS Outposts", sku="OUTPOST02"
        ),
        sagemaker_element("ml.m5.xlarge", "0.2300000000", sku="JDZQJFUVUR8SUWHS"),
        sagemaker_element(
            "ml.g6e.xlarge",
            "1.8610000000",
            sku="G6E000001",
            vcpu="4",
            memory="32 GiB",
            gpu="1",
            gpu_memory="48 GB",
        ),
        sagemaker_element(
            "ml.g5.2xlarge", "9.9900000000", location_type="AWS Outposts", sku="OUTPOST01"
        ),
        sagemaker_element("ml.g5.4xlarge", "5000.0000000000", unit="Quantity", sku="FEE000001"),
    ]
    stubber.add_response("get_products", page(first, token="page-2"), _expected("us-east-1"))
    stubber.add_response("get_products", page(second), _expected("us-east-1", "page-2"))


def test_refresh_keeps_only_on_demand_hourly_hosting_rows_across_pages(
    session: Session, pricing: tuple[Any, Stubber], tmp_path: Path
) -> None:
    _, stubber = pricing
    _mixed_pages(stubber)

    catalog = refresh(session, "us-east-1", cache_dir=tmp_path, now=lambda: NOW)

    stubber.assert_no_pending_responses()  # both pages were read, with the NextToken
    assert (catalog.origin, catalog.stale, catalog.as_of) == ("pricing-api", False, NOW.date())
    # the Hosting row wins over the Training ($1.8), Notebook ($2.0) and Outposts ($9.99) rows
    price = catalog.price("ml.g5.2xlarge", "us-east-1")
    assert price is not None
    assert price.usd_per_hour == 1.6
    assert price.as_of == NOW.date()
    assert "AWS Price List API" in price.source
    assert catalog.price("ml.m5.xlarge", "us-east-1").usd_per_hour == 0.23  # type: ignore[union-attr]
    # the $0 t3.medium row is not a price, and the live list replaces the packaged
    # us-east-1 prices: a type without a live Hosting row has no price there
    assert catalog.price("ml.t3.medium", "us-east-1") is None
    assert catalog.price("ml.g5.4xlarge", "us-east-1") is None  # only a "Quantity" fee row
    # other regions keep the packaged prices
    assert catalog.price("ml.g6.xlarge", "us-east-2").usd_per_hour == 1.1267  # type: ignore[union-attr]


def test_refresh_reads_specs_from_the_product_attributes(
    session: Session, pricing: tuple[Any, Stubber], tmp_path: Path
) -> None:
    _, stubber = pricing
    _mixed_pages(stubber)

    catalog = refresh(session, "us-east-1", cache_dir=tmp_path, now=lambda: NOW)

    # a type the packaged catalog lacks gets its specs from vCpu, memory, gpu, gpuMemory
    g6e = catalog["ml.g6e.xlarge"]
    assert (g6e.vcpu, g6e.memory_gib, g6e.accelerator_count) == (4, 32.0, 1)
    assert g6e.accelerator_memory_gib == 48.0
    assert g6e.bandwidth_gbps is None  # unknown accelerator: no invented bandwidth
    # a known type keeps the reference's accelerator facts alongside the live specs
    g5 = catalog["ml.g5.2xlarge"]
    assert g5.accelerator is not None
    assert (g5.accelerator.key, g5.bf16, g5.bandwidth_gbps, g5.vcpu) == ("A10G", True, 600, 8)


def test_refresh_caches_the_read_with_its_time(
    session: Session, pricing: tuple[Any, Stubber], tmp_path: Path
) -> None:
    _, stubber = pricing
    _mixed_pages(stubber)
    refresh(session, "us-east-1", cache_dir=tmp_path, now=lambda: NOW)

    cached = json.loads((tmp_path / "sagemaker-hosting-us-east-1.json").read_text())
    assert cached["retrieved_at"] == NOW.isoformat()
    assert {r["instance"] for r in cached["rows"]} == {
        "ml.g5.2xlarge",
        "ml.m5.xlarge",
        "ml.g6e.xlarge",
    }

    # a day later the cache answers: no API call (the stubber has no responses left)
    later = refresh(session, "us-east-1", cache_dir=tmp_path, now=lambda: NOW + dt.timedelta(1))
    assert (later.origin, later.stale) == ("cache", False)
    assert later.price("ml.g5.2xlarge", "us-east-1").usd_per_hour == 1.6  # type: ignore[union-attr]


def test_expired_cache_is_the_fallback_when_the_api_fails(
    session: Session, pricing: tuple[Any, Stubber], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, stubber = pricing
    _mixed_pages(stubber)
    refresh(session, "us-east-1", cache_dir=tmp_path, now=lambda: NOW)
    stubber.add_client_error("get_products", "AccessDeniedException", "not allowed", 403)

    with caplog.at_level(logging.WARNING, logger="personakit.cost.pricing"):
        catalog = refresh(
            session, "us-east-1", cache_dir=tmp_path, now=lambda: NOW + dt.timedelta(days=10)
        )

    assert (catalog.origin, catalog.stale, catalog.as_of) == ("cache", True, NOW.date())
    assert catalog.price("ml.g5.2xlarge", "us-east-1").usd_per_hour == 1.6  # type: ignore[union-attr]
    assert "cached read of 2026-11-29 (10 days old)" in caplog.text
    assert "AccessDeniedException" in caplog.text


def test_offline_falls_back_to_the_packaged_prices_and_says_how_old(
    session: Session, pricing: tuple[Any, Stubber], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, stubber = pricing
    stubber.add_client_error("get_products", "AccessDeniedException", "not allowed", 403)

    with caplog.at_level(logging.WARNING, logger="personakit.cost.pricing"):
        catalog = refresh(session, "us-east-1", cache_dir=tmp_path, now=lambda: NOW)

    assert (catalog.origin, catalog.stale) == ("packaged", True)
    assert catalog.as_of == dt.date(2026, 10, 5)
    # the packaged price is still there, with its own source and date
    price = catalog.price("ml.g5.2xlarge", "us-east-1")
    assert price is not None
    assert (price.usd_per_hour, price.as_of) == (1.515, dt.date(2026, 10, 5))
    # 2026-10-05 -> 2026-11-29 is 26 + 29 = 55 days
    assert "packaged prices as of 2026-10-05 (55 days old)" in caplog.text
    assert "Price List API unavailable" in (catalog.note or "")


def test_no_credentials_falls_back_without_raising(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    for var in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    session = Session.aws(boto3.session.Session(), region_name="eu-west-1")

    catalog = refresh(session, cache_dir=tmp_path, now=lambda: NOW)

    # personakit's CredentialsError is raised before any network call; refresh falls back
    assert (catalog.origin, catalog.stale) == ("packaged", True)
    assert "CredentialsError" in (catalog.note or "")


def test_throttling_is_retried_then_read(
    session: Session, pricing: tuple[Any, Stubber], tmp_path: Path
) -> None:
    _, stubber = pricing
    stubber.add_client_error("get_products", "ThrottlingException", "Rate exceeded", 400)
    stubber.add_response(
        "get_products",
        page([sagemaker_element("ml.g5.2xlarge", "1.5150000000")]),
        _expected("us-east-1"),
    )
    sleeps: list[float] = []
    retrier = Retrier(RetryPolicy(max_attempts=3), sleep=sleeps.append, rng=lambda: 0.0)

    catalog = refresh(session, cache_dir=tmp_path, retrier=retrier, now=lambda: NOW)

    assert sleeps == [0.5]  # one retry: equal jitter, base 1 s, draw 0 -> 0.5 s
    assert (catalog.origin, catalog.stale) == ("pricing-api", False)


def test_a_region_with_no_hosting_rows_is_not_taken_as_free(
    session: Session, pricing: tuple[Any, Stubber], tmp_path: Path
) -> None:
    _, stubber = pricing
    stubber.add_response(
        "get_products",
        page([sagemaker_element("ml.g5.2xlarge", "1.8", kind="Training")]),
        _expected("us-east-1"),
    )

    catalog = refresh(session, cache_dir=tmp_path, now=lambda: NOW)

    assert (catalog.origin, catalog.stale) == ("packaged", True)
    assert "no SageMaker Hosting rows" in (catalog.note or "")


def test_us_east_2_reading_of_the_reference(tmp_path: Path) -> None:
    """The real g6.xlarge reading (fixtures/reference_prices.json) through the parser."""
    reading = json.loads(fixture_text("reference_prices.json"))["entries"][0]
    element = sagemaker_element(
        reading["instanceName"], reading["pricePerUnit_USD"], region=reading["regionCode"]
    )
    assert reading["usagetype"] in element  # USE2-Host:ml.g6.xlarge
    client = boto3.client("pricing", region_name="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_response("get_products", page([element]), _expected("us-east-2"))
        session = Session.aws(region_name="us-east-2", clients={"pricing": client})
        catalog = refresh(session, cache_dir=tmp_path, now=lambda: NOW)

    assert catalog.price("ml.g6.xlarge", "us-east-2").usd_per_hour == 1.1267  # type: ignore[union-attr]
    # us-east-1 keeps its packaged prices
    assert catalog.price("ml.g6.xlarge", "us-east-1").usd_per_hour == 1.1267  # type: ignore[union-attr]


# --------------------------------------------------------------------------- parse_element


def test_parser_rejects_what_is_not_a_sagemaker_hosting_hour() -> None:
    assert parse_element(EBS_PIOPS) is None  # GB-Mo storage (the SDK would say $0.138/h)
    assert parse_element(EC2_ZERO) is None  # $0 reservation
    assert parse_element(EC2_UNUSED) is None  # EC2, not SageMaker
    assert parse_element(SDK_DICT) is None  # terms only: no product to tell what it is
    assert parse_element(SDK_STRING) is None
    reserved = sagemaker_element("ml.g5.2xlarge", "1.0", term="Reserved")
    assert parse_element(reserved) is None  # OnDemand terms only
    other_region = sagemaker_element("ml.g5.2xlarge", "1.0", region="eu-west-1")
    assert parse_element(other_region, "us-east-1") is None


def test_parser_keeps_full_precision_and_takes_strings_or_dicts() -> None:
    element = sagemaker_element("ml.t3.medium", "0.0218000000")
    row = parse_element(element)
    assert row is not None
    assert row.usd_per_hour == 0.0218  # not the SDK's 3-decimal 0.022
    same = parse_element(json.loads(element))
    assert same == row


def test_packaged_catalog_is_what_refresh_merges_into() -> None:
    assert Catalog.load() is Catalog.load()  # parsed once
