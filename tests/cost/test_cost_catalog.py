"""The packaged instance catalog: sourced numbers with their dates, nothing invented."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from personakit.cost import Catalog, InstanceType, Price
from personakit.cost.catalog import architecture_of, family_of
from personakit.errors import UnsupportedInstanceError


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_covers_the_families_of_the_reference_table(catalog: Catalog) -> None:
    families = {i.family for i in catalog}
    assert {"t3", "m5", "c5", "c6g", "c7g", "g4dn", "g5", "g6", "p3", "p4d", "inf2"} <= families


FMB = "https://github.com/aws-samples/foundation-model-benchmarking-tool/"
PRICE_LIST = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonSageMaker/"


@pytest.mark.parametrize(
    ("instance", "usd", "as_of", "cited"),
    [
        # us-east-1 Hosting, on-demand, each with the source it was read from
        ("ml.g5.2xlarge", 1.515, dt.date(2026, 10, 5), PRICE_LIST),
        ("ml.g4dn.4xlarge", 1.505, dt.date(2025, 1, 26), FMB),
        ("ml.p3.2xlarge", 3.825, dt.date(2025, 1, 26), FMB),
        ("ml.p4d.24xlarge", 25.251, dt.date(2026, 7, 27), "measured 2026-07-27"),  # not $37.688
        ("ml.g6.xlarge", 1.1267, dt.date(2026, 10, 5), PRICE_LIST),
        ("ml.m5.large", 0.115, None, "(undated)"),  # the source is undated
    ],
)
def test_prices_are_the_sources_with_their_dates(
    catalog: Catalog, instance: str, usd: float, as_of: dt.date | None, cited: str
) -> None:
    price = catalog.price(instance, "us-east-1")
    assert price is not None
    assert (price.usd_per_hour, price.as_of) == (usd, as_of)
    assert cited in price.source
    assert "shared/" not in price.source


def test_numbers_the_reference_lacks_are_null(catalog: Catalog) -> None:
    assert catalog.price("ml.c6g.xlarge", "us-east-1") is None  # "not found: query the API"
    assert catalog.price("ml.c7g.xlarge", "us-east-1") is None
    c7g_large = catalog["ml.c7g.large"]
    assert (c7g_large.vcpu, c7g_large.memory_gib) == (None, None)
    assert catalog.price("ml.c7g.large", "us-east-1").usd_per_hour == 0.10  # type: ignore[union-attr]
    assert catalog["ml.inf2.xlarge"].bandwidth_gbps is None
    assert catalog["ml.m5.xlarge"].bandwidth_gbps is None  # no CPU bandwidth in the reference


def test_other_regions_where_the_sources_give_them(catalog: Catalog) -> None:
    assert catalog.regions == ["us-east-1", "us-east-2"]
    assert catalog.price("ml.g4dn.xlarge", "us-east-2").usd_per_hour == 0.7360  # type: ignore[union-attr]
    assert catalog.price("ml.g5.2xlarge", "ap-northeast-2") is None  # "no Seoul data found"


def test_g5_2xlarge_specs(catalog: Catalog) -> None:
    g5 = catalog["ml.g5.2xlarge"]
    assert isinstance(g5, InstanceType)
    assert g5.accelerator is not None
    assert (g5.vcpu, g5.memory_gib, g5.accelerator.name, g5.accelerator_count) == (
        8,
        32.0,
        "NVIDIA A10G",
        1,
    )
    assert (g5.accelerator_memory_gib, g5.bf16, g5.bandwidth_gbps) == (24.0, True, 600.0)
    assert g5.architecture == "x86_64"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        g5.vcpu = 16  # type: ignore[misc]


def test_accelerator_facts(catalog: Catalog) -> None:
    # §4.1: T4 and V100 have no bf16; bandwidth 320 / 900 / 300 / 1600 GB/s
    assert catalog["ml.g4dn.xlarge"].bf16 is False
    assert catalog["ml.p3.2xlarge"].bf16 is False
    assert catalog["ml.g6.xlarge"].bf16 is True
    assert catalog["ml.p4d.24xlarge"].bf16 is True
    assert [
        catalog[n].bandwidth_gbps
        for n in ("ml.g4dn.xlarge", "ml.p3.2xlarge", "ml.g6.xlarge", "ml.p4d.24xlarge")
    ] == [320, 900, 300, 1600]
    assert catalog["ml.t3.medium"].bf16 is None  # CPU only


def test_per_device_memory_times_count_is_the_tables_total(catalog: Catalog) -> None:
    for instance in catalog:
        if instance.has_accelerator:
            assert instance.accelerator_memory_gib is not None
            total = instance.accelerator_memory_gib * instance.accelerator_count
            assert total == instance.accelerator_memory_gib_total, instance.name


def test_every_price_has_a_source(catalog: Catalog) -> None:
    for by_region in catalog.prices.values():
        for price in by_region.values():
            assert price.usd_per_hour > 0
            assert price.source


def test_graviton_is_arm64(catalog: Catalog) -> None:
    assert catalog["ml.c6g.xlarge"].is_graviton
    assert catalog["ml.c7g.xlarge"].architecture == "arm64"
    assert not catalog["ml.c5.xlarge"].is_graviton
    assert architecture_of("ml.m7g.large") == "arm64"
    assert architecture_of("ml.g5.2xlarge") == "x86_64"
    assert family_of("ml.inf2.24xlarge") == "inf2"
    with pytest.raises(ValueError, match="not a SageMaker instance type"):
        family_of("g5.2xlarge")


def test_unknown_type_suggests_close_names(catalog: Catalog) -> None:
    with pytest.raises(UnsupportedInstanceError, match=r"did you mean ml\.g5\.2xlarge"):
        catalog["ml.g5.2xlarg"]
    with pytest.raises(UnsupportedInstanceError):
        catalog.price("ml.nope.xlarge")
    assert "ml.g5.2xlarge" in catalog
    assert catalog.get("ml.nope.xlarge") is None


def test_age_and_staleness(catalog: Catalog) -> None:
    assert catalog.as_of == dt.date(2026, 10, 5)
    assert catalog.age_on(dt.date(2026, 11, 29)) == 55  # 26 days of October + 29 of November
    assert catalog.stale  # a packaged snapshot is never a live read
    assert catalog.origin == "packaged"
    assert "2026-10-05 (55 days old, packaged snapshot, stale)" in catalog.describe_age(
        dt.date(2026, 11, 29)
    )
    assert isinstance(catalog.age_days, int)


def test_month_is_730_hours() -> None:
    assert Price(usd_per_hour=1.515, source="x").usd_per_month == pytest.approx(1105.95)


def test_round_trip_through_dict(catalog: Catalog, tmp_path: object) -> None:
    again = Catalog.from_dict(catalog.to_dict())
    assert again.instances == catalog.instances
    assert again.prices == catalog.prices
    assert again.as_of == catalog.as_of


def test_to_frame_has_one_row_per_type(catalog: Catalog) -> None:
    frame = catalog.to_frame("us-east-1")
    assert len(frame) == len(catalog)
    row = frame.set_index("instance").loc["ml.g5.2xlarge"]
    assert (row["usd_per_hour"], row["accelerator"]) == (1.515, "NVIDIA A10G")
    assert "A10G" not in repr(catalog)  # repr is a summary
    assert "28 instance types" in repr(catalog)
