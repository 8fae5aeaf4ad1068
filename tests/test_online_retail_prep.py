"""The prep route of benchmarks/bench_local.py on a frame shaped like Online Retail.

The real data (UCI "Online Retail", ../shared/data/online-retail/) is not in the
repository; this builds a small frame with the same columns and the same mess: a
cancellation, a line without a customer, an adjustment with a negative quantity, a
postage line, an item twice on one invoice, and the same item bought again later.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

import personakit as pk

BENCH = Path(__file__).parents[1] / "benchmarks" / "bench_local.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_local", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def invoice_lines() -> pd.DataFrame:
    """Invoice lines as pd.read_parquet gives the published file."""
    rows = [
        # InvoiceNo, StockCode, Quantity, InvoiceDate (UK local), CustomerID
        ("536365", "85123A", 6, "2010-12-01 08:26", 17850.0),
        ("536365", "71053", 6, "2010-12-01 08:26", 17850.0),
        ("536365", "85123A", 2, "2010-12-01 08:26", 17850.0),  # same item on one invoice
        ("536366", "22633", 6, "2010-12-01 08:28", 17850.0),
        ("C536379", "71053", -1, "2010-12-01 09:41", 17850.0),  # cancellation
        ("536380", "22752", 2, "2010-12-01 09:45", np.nan),  # no customer
        ("536381", "22139", -3, "2010-12-01 09:50", np.nan),  # adjustment
        ("536382", "POST", 1, "2010-12-01 09:55", 12583.0),  # postage, not a product
        ("536382", "22633", 4, "2010-12-01 09:55", 12583.0),
        ("545000", "85123A", 1, "2011-06-01 10:00", 17850.0),  # bought again (BST)
    ]
    frame = pd.DataFrame(
        rows, columns=["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "CustomerID"]
    )
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"]).astype("datetime64[us]")
    frame["Description"] = "WHITE HANGING HEART T-LIGHT HOLDER"
    frame["UnitPrice"] = 2.55
    frame["Country"] = "United Kingdom"
    return frame[
        [
            "InvoiceNo",
            "StockCode",
            "Description",
            "Quantity",
            "InvoiceDate",
            "UnitPrice",
            "CustomerID",
            "Country",
        ]
    ]


def test_purchases_only_known_customers_repeats_kept(bench: ModuleType) -> None:
    lines = invoice_lines()
    before = lines.copy()
    counts: dict[str, int] = {}
    out = bench.prepare_online_retail(lines, counts)

    pd.testing.assert_frame_equal(lines, before)  # the input is not changed
    assert list(out.columns) == ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"]
    assert out["TIMESTAMP"].dtype == np.int64
    assert set(out["EVENT_TYPE"]) == {"Purchase"}
    assert list(out[["USER_ID", "ITEM_ID", "TIMESTAMP"]].itertuples(index=False, name=None)) == [
        ("17850", "85123A", 1291191960),  # 2010-12-01 08:26 GMT = 08:26 UTC
        ("17850", "71053", 1291191960),
        ("17850", "22633", 1291192080),
        ("12583", "22633", 1291197300),
        ("17850", "85123A", 1306918800),  # 2011-06-01 10:00 BST = 09:00 UTC: bought again
    ]
    assert list(out.index) == list(range(len(out)))
    assert counts == {
        "invoice lines": 10,
        "cancellations": 1,
        "other quantities <= 0": 1,
        "not products": 1,
        "no customer": 1,
        "same item again on one invoice": 1,
        "purchase events": 5,
    }
    # five events are too few to train on (the next test has enough); nothing else is wrong
    rules = {p.rule for p in pk.validate(out).problems}
    assert rules == {"min-import-records", "min-interactions", "min-users"}


def test_prepared_data_passes_validate(bench: ModuleType) -> None:
    """At Personalize's minimums (1,000 events, 25 users with two), no problem at all."""
    rng = np.random.default_rng(0)
    n = 1_200
    start = pd.Timestamp("2011-01-03 08:00")
    clean = pd.DataFrame(
        {
            "InvoiceNo": [str(550000 + k // 4) for k in range(n)],
            "StockCode": [f"{20000 + int(v)}" for v in rng.integers(0, 300, n)],
            "Description": "JUMBO BAG RED RETROSPOT",
            "Quantity": rng.integers(1, 24, n),
            "InvoiceDate": (start + pd.to_timedelta(np.arange(n) // 4, unit="min")).astype(
                "datetime64[us]"
            ),
            "UnitPrice": 1.95,
            "CustomerID": (12000 + (np.arange(n) // 4) % 40).astype(np.float64),
            "Country": "United Kingdom",
        }
    )
    lines = pd.concat([clean, invoice_lines()], ignore_index=True)
    out = bench.prepare_online_retail(lines)
    report = pk.validate(out)
    report.raise_for_problems(warnings_as_errors=True)
    assert not report.problems
    assert out["USER_ID"].str.fullmatch(r"\d+").all()  # 12000.0 -> "12000"
    assert not out.duplicated().any()
    assert bool((out["TIMESTAMP"].diff().dropna() >= 0).all())


def test_a_missing_file_given_by_name_is_an_error(
    bench: ModuleType,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the default is next to the repository, never inside it
    assert bench.ONLINE_RETAIL.parts[-4:] == (
        "shared",
        "data",
        "online-retail",
        "online-retail.parquet",
    )
    assert BENCH.parents[1] not in bench.ONLINE_RETAIL.parents
    missing = tmp_path / "nothing.parquet"
    argv = ["bench_local.py", "--no-generated", "--no-latency", "--online-retail", str(missing)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit):
        bench.main()
    assert f"--online-retail {missing}: no such file" in capsys.readouterr().err
