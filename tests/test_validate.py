"""validate(): every data rule of reference §1-§3 fires on a crafted frame, clean data passes."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import sys
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import personakit as pk
from personakit.rules.validate import validate

NOW = 1_700_000_000  # 2023-11-14
DAY = 86_400


def interactions(
    n: int = 20_000, users: int = 2000, items: int = 500, seed: int = 0
) -> pd.DataFrame:
    """A realistic clean interactions frame: int ids, epoch seconds, two event types."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "user_id": rng.integers(0, users, n),
            "item_id": rng.integers(0, items, n),
            "timestamp": NOW - 400 * DAY + rng.integers(0, 365 * DAY, n),
            "event_type": rng.choice(["click", "view"], n),
        }
    )


def catalog(items: int = 500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "item_id": np.arange(items),
            "genres": rng.choice(["Comedy", "Drama|Crime", "Action"], items),
            "price": rng.uniform(1, 100, items).astype("float32"),
        }
    )


def minimal(n: int = 1000, users: int = 100, **extra: Any) -> pd.DataFrame:
    """n interactions spread evenly over ``users`` users, all timestamps valid."""
    frame = pd.DataFrame(
        {
            "user_id": np.arange(n) % users,
            "item_id": np.arange(n) % 37,
            "timestamp": NOW - DAY - np.arange(n),
        }
    )
    for name, values in extra.items():
        frame[name] = values
    return frame


def only(report: pk.DataReport, rule: str) -> pk.Problem:
    found = [p for p in report.problems if p.rule == rule]
    assert len(found) == 1, f"{rule}: {report}"
    return found[0]


# ---------------------------------------------------------------- clean data


def test_clean_realistic_data_is_ok_with_diagnostics() -> None:
    report = validate(interactions(), items=catalog(), now=NOW)
    assert report.ok, report
    assert report.problems == ()
    assert report.subject == "data"
    stats = report.stats
    assert stats["n_interactions"] == 20_000
    assert stats["n_users"] == 2000
    assert stats["n_items"] == 500
    assert stats["interactions_per_user_mean"] == 10
    assert 8 <= stats["interactions_per_user_median"] <= 12
    assert stats["n_event_types"] == 2
    assert stats["unknown_item_share"] == 0
    assert stats["cold_start_item_share"] == 0
    assert stats["duplicate_rows"] == 0
    assert 360 < stats["time_span_days"] < 366
    assert 0 < stats["repeat_interaction_rate"] < 0.05  # 20k draws over 1M pairs
    assert stats["popularity_top1pct_share"] < 0.05
    assert 0 < stats["item_popularity_gini"] < 0.2
    assert 0 < stats["top100_jaccard_first_last_quarter"] < 1
    assert all(isinstance(v, float) for v in stats.values())


def test_diagnostics_on_a_hand_computed_frame() -> None:
    frame = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "c"],
            "item_id": ["x", "x", "y", "x", "z"],
            "timestamp": [
                NOW - 10 * DAY,
                NOW - 9 * DAY,
                NOW - 8 * DAY,
                NOW - 7 * DAY,
                NOW - 6 * DAY,
            ],
        }
    )
    items = pd.DataFrame({"item_id": ["x", "y", "z", "w"], "genre": ["g"] * 4})
    stats = validate(frame, items=items, now=NOW).stats
    assert stats["n_users"] == 3
    assert stats["n_items"] == 3
    assert stats["interactions_per_user_median"] == 1
    assert stats["interactions_per_user_mean"] == pytest.approx(5 / 3)
    assert stats["single_interaction_user_share"] == pytest.approx(2 / 3)
    # pairs (a,x)x2, (a,y), (b,x), (c,z): one of four pairs repeats
    assert stats["repeat_interaction_rate"] == pytest.approx(1 / 4)
    names = list(stats)  # the order a report shows them in: users, pairs, items, time
    assert (
        names.index("repeat_interaction_rate") == names.index("single_interaction_user_share") + 1
    )
    assert names.index("popularity_top1pct_share") < names.index("first_timestamp")
    # item counts x=3, y=1, z=1: top 1% of 3 items is one item
    assert stats["popularity_top1pct_share"] == pytest.approx(3 / 5)
    ranks = np.arange(1, 4)
    counts = np.array([1, 1, 3])
    gini = 2 * (ranks * counts).sum() / (3 * 5) - 4 / 3
    assert stats["item_popularity_gini"] == pytest.approx(gini)
    assert stats["cold_start_item_share"] == pytest.approx(1 / 4)  # w has no interactions
    assert stats["time_span_days"] == pytest.approx(4)
    assert stats["first_timestamp"] == NOW - 10 * DAY
    assert stats["last_timestamp"] == NOW - 6 * DAY
    # first quarter [day -10, day -9): {x}; last quarter [day -7, day -6]: {x, z}
    assert stats["top100_jaccard_first_last_quarter"] == pytest.approx(1 / 2)


# ---------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("factor", "rule", "unit", "divide"),
    [
        (1_000, "timestamp-milliseconds", "milliseconds", "1_000"),
        (1_000_000, "timestamp-microseconds", "microseconds", "1_000_000"),
        (1_000_000_000, "timestamp-nanoseconds", "nanoseconds", "1_000_000_000"),
    ],
)
def test_timestamps_in_smaller_units_are_named(
    factor: int, rule: str, unit: str, divide: str
) -> None:
    frame = interactions(2000)
    frame["timestamp"] = frame["timestamp"] * factor
    report = validate(frame, now=NOW)
    problem = only(report, rule)
    assert problem.severity == "error"
    assert problem.column == "timestamp"
    assert problem.count == 2000
    assert problem.rows == (0, 1, 2, 3, 4)
    assert problem.values[0] == repr(int(frame["timestamp"][0]))
    assert unit in problem.message
    assert problem.fix is not None
    assert f"divide by {divide}" in problem.fix
    assert "pk.prep.epoch_seconds" in problem.fix
    assert not report.ok
    # the diagnostics read the unit: the span is still about a year, not 1000 years
    assert report.stats["time_span_days"] < 366


def test_only_the_rows_in_milliseconds_are_counted() -> None:
    frame = minimal()
    frame.loc[[3, 700], "timestamp"] *= 1000
    problem = only(validate(frame, now=NOW), "timestamp-milliseconds")
    assert (problem.count, problem.rows) == (2, (3, 700))


def test_zero_negative_future_and_fractional_timestamps() -> None:
    frame = minimal()
    frame["timestamp"] = frame["timestamp"].astype("float64")
    frame.loc[[5, 6], "timestamp"] = 0
    frame.loc[7, "timestamp"] = -86_400
    frame.loc[[8, 9, 10], "timestamp"] = NOW + 2 * DAY
    frame.loc[11, "timestamp"] = NOW - DAY + 0.5
    report = validate(frame, now=NOW)
    assert only(report, "timestamp-zero").rows == (5, 6)
    assert only(report, "timestamp-negative").rows == (7,)
    future = only(report, "timestamp-future")
    assert (future.severity, future.count, future.rows) == ("warning", 3, (8, 9, 10))
    fraction = only(report, "timestamp-fraction")
    assert (fraction.severity, fraction.rows) == ("warning", (11,))
    # a day of slack: less than a day ahead is not "future"
    frame.loc[[8, 9, 10], "timestamp"] = NOW + DAY // 2
    assert "timestamp-future" not in validate(frame, now=NOW).rules()


def test_now_accepts_datetimes_naive_as_utc() -> None:
    frame = minimal()
    frame.loc[0, "timestamp"] = NOW + 2 * DAY
    aware = dt.datetime.fromtimestamp(NOW, tz=dt.timezone.utc)
    for now in (aware, aware.replace(tzinfo=None), float(NOW)):
        assert only(validate(frame, now=now), "timestamp-future").rows == (0,)
    # the default is the real clock: 2023 + 2 days is in the past
    assert "timestamp-future" not in validate(frame).rules()


def test_datetime_columns_are_converted_not_reported() -> None:
    frame = minimal()
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s")
    report = validate(frame, now=NOW)
    assert report.ok, report
    assert report.stats["last_timestamp"] == NOW - DAY
    frame.loc[4, "timestamp"] = pd.Timestamp(NOW + 3 * DAY, unit="s")
    assert only(validate(frame, now=NOW), "timestamp-future").rows == (4,)


def test_creation_and_expiration_timestamps_are_checked() -> None:
    items = catalog(10)
    items["creation_timestamp"] = NOW * 1000
    assert only(validate(items=items, now=NOW), "timestamp-milliseconds").column == (
        "creation_timestamp"
    )
    actions = pd.DataFrame(
        {
            "action_id": ["a", "b"],
            "value": [1, 2],
            "expiration_timestamp": [NOW + 30 * DAY, NOW * 1000],
        }
    )
    report = validate(actions=actions, now=NOW)
    assert only(report, "timestamp-milliseconds").rows == (1,)
    assert "timestamp-future" not in report.rules()  # expiring in the future is the point


# ---------------------------------------------------------------- required values, ids


def test_missing_required_values_are_listed_by_row() -> None:
    frame = minimal().astype({"user_id": "Int64"})
    frame.loc[[2, 9], "user_id"] = pd.NA
    report = validate(frame, now=NOW)
    problem = only(report, "required-null")
    assert (problem.column, problem.count, problem.rows) == ("user_id", 2, (2, 9))
    assert "USER_ID" in problem.message
    # replaces the schema-level "reserved-nullable" (no double report)
    assert "reserved-nullable" not in report.rules()


def test_long_and_empty_ids() -> None:
    frame = minimal()
    frame["item_id"] = frame["item_id"].astype(str)
    frame.loc[[1, 3], "item_id"] = "x" * 257
    frame.loc[4, "item_id"] = "x" * 256  # at the limit: fine
    frame.loc[[6, 8], "item_id"] = ["", "  "]
    report = validate(frame, now=NOW)
    long = only(report, "id-too-long")
    assert (long.column, long.count, long.rows) == ("item_id", 2, (1, 3))
    empty = only(report, "id-empty")
    assert (empty.count, empty.rows) == (2, (6, 8))


# ---------------------------------------------------------------- string lengths


def test_categorical_values_over_1000_characters_joined() -> None:
    items = catalog(6)
    items["genres"] = items["genres"].astype(object)
    items.loc[2, "genres"] = "g" * 1001
    items["tags"] = [["a" * 500, "b" * 499], ["a" * 500, "b" * 500], ["x"], [], None, ["y"]]
    report = validate(items=items, now=NOW)
    by_column = {p.column: p for p in report.problems if p.rule == "categorical-too-long"}
    assert by_column["genres"].rows == (2,)
    # ["a"*500, "b"*500] is 1001 characters once |-joined; 500 + 1 + 499 = 1000 is fine
    assert (by_column["tags"].count, by_column["tags"].rows) == (1, (1,))
    assert report.rules() >= {"categorical-too-long"}


def test_textual_values_are_truncated_past_20000_characters() -> None:
    words = "a long product description with many words " * 3
    items = pd.DataFrame(
        {
            "item_id": ["a", "b", "c", "d"],
            "description": [words, "x " * 10_001, "文" * 8000, "y " * 4000],
        }
    )
    schema = pk.Schema.infer(items, "items", textual="description")
    report = validate(items=items, schemas={"items": schema}, now=NOW)
    problem = only(report, "textual-too-long")
    assert problem.severity == "warning"
    # 20,002 characters, and 8,000 Chinese characters (limit 7,000)
    assert (problem.count, problem.rows) == (2, (1, 2))
    assert report.ok


def test_impression_lists_over_1000_characters() -> None:
    frame = minimal(impression=["i1|i2"] * 1000)
    frame.loc[[10, 20], "impression"] = "|".join(["item"] * 201)  # 1004 characters
    problem = only(validate(frame, now=NOW), "impression-too-long")
    assert (problem.column, problem.rows) == ("impression", (10, 20))


# ---------------------------------------------------------------- numbers


def test_non_finite_numbers_in_numeric_fields() -> None:
    items = catalog(5)
    items["weight"] = [1.0, np.inf, 2.0, -np.inf, 3.0]
    problem = only(validate(items=items, now=NOW), "numeric-not-finite")
    assert (problem.column, problem.count, problem.rows) == ("weight", 2, (1, 3))
    # pyarrow keeps NaN as a value (pandas turns it into null)
    table = pa.Table.from_pandas(catalog(3), preserve_index=False).append_column(
        "weight", pa.array([1.0, float("nan"), 2.0])
    )
    assert only(validate(items=table, now=NOW), "numeric-not-finite").rows == (1,)


def test_values_outside_the_declared_numeric_type() -> None:
    items = pd.DataFrame(
        {"item_id": ["a", "b", "c"], "views": [1, 2**40, 3], "score": [1.5, 2.0, 3.25]}
    )
    schema = pk.Schema(
        "items",
        [
            pk.Field("ITEM_ID", "string", source="item_id"),
            pk.Field("VIEWS", "int", source="views"),
            pk.Field("SCORE", "long", source="score"),
        ],
    )
    report = validate(items=items, schemas={"items": schema}, now=NOW)
    out = only(report, "numeric-out-of-range")
    assert (out.column, out.rows, out.values) == ("views", (1,), (repr(2**40),))
    fraction = only(report, "numeric-fraction")
    assert (fraction.severity, fraction.rows) == ("warning", (0, 2))


def test_event_value_too_large_for_a_float() -> None:
    frame = minimal(event_value=np.ones(1000))
    frame.loc[5, "event_value"] = 1e39
    assert only(validate(frame, now=NOW), "numeric-out-of-range").rows == (5,)


# ---------------------------------------------------------------- minimums (§2.1)


@pytest.mark.parametrize(("n", "ok"), [(999, False), (1000, True)])
def test_interaction_minimum_at_the_boundary(n: int, ok: bool) -> None:
    report = validate(minimal(n), now=NOW)
    assert report.ok is ok
    if not ok:
        assert only(report, "min-interactions").count == 999
        assert only(report, "min-import-records").count == 999


@pytest.mark.parametrize(("users", "ok"), [(24, False), (25, True)])
def test_users_with_two_interactions_at_the_boundary(users: int, ok: bool) -> None:
    # `users` users with 2 interactions each, the rest single-interaction users
    # (at most 99 times as many, so the 1% rule holds)
    repeat = np.repeat(np.arange(users), 2)
    single = np.arange(users, users + 1000)
    frame = minimal(len(repeat) + len(single))
    frame["user_id"] = np.concatenate([repeat, single])
    report = validate(frame, now=NOW)
    assert ("min-users" not in report.rules()) is ok
    assert report.stats["users_with_2plus_interactions"] == users
    if not ok:
        assert only(report, "min-users").count == 24


def test_one_percent_of_users_need_two_interactions() -> None:
    # 25 users with 2 interactions among 2525 users: 0.99% -> error; 2500: 1.0% -> fine
    for singles, ok in ((2500, False), (2475, True)):
        users = np.concatenate([np.repeat(np.arange(25), 2), np.arange(25, 25 + singles)])
        frame = minimal(len(users))
        frame["user_id"] = users
        report = validate(frame, now=NOW)
        assert ("min-users-share" not in report.rules()) is ok, report


def test_event_type_filter_applies_before_counting() -> None:
    frame = minimal(1500, event_type=["click"] * 800 + ["view"] * 700)
    assert validate(frame, now=NOW).ok
    report = validate(frame, event_types=["click"], now=NOW)
    problem = only(report, "min-interactions")
    assert (problem.count, problem.column) == (800, "event_type")
    assert "'click'" in problem.message
    assert report.stats["n_training_interactions"] == 800
    assert "min-import-records" not in report.rules()  # the import itself has 1500
    assert validate(frame, event_types=["click", "view"], now=NOW).ok
    # event types are compared exactly; the fix says what the data has
    near = only(validate(frame, event_types=["Click"], now=NOW), "min-interactions")
    assert near.count == 0
    assert near.fix is not None
    assert "'click' (800)" in near.fix


def test_event_value_threshold_applies_before_counting() -> None:
    frame = minimal(1500, event_value=np.where(np.arange(1500) < 1000, 4.0, 2.0))
    assert validate(frame, event_value_threshold=4.0, now=NOW).ok
    report = validate(frame, event_value_threshold=4.5, now=NOW)
    assert only(report, "min-interactions").count == 0
    no_column = validate(minimal(), event_value_threshold=1.0, event_types=["x"], now=NOW)
    assert {p.column for p in no_column.problems if p.rule == "filter-column-missing"} == {
        "EVENT_TYPE",
        "EVENT_VALUE",
    }


def test_domain_use_cases_need_1000_events_of_their_type() -> None:
    events = ["View"] * 999 + ["Purchase"] * 1001
    frame = minimal(2000, event_type=events)
    report = validate(frame, domain="ECOMMERCE", use_cases=["most-viewed", "best-sellers"], now=NOW)
    problem = only(report, "use-case-minimum")
    assert "most-viewed" in problem.message
    assert problem.count == 999
    assert problem.column == "event_type"
    frame.loc[1999, "event_type"] = "View"
    assert validate(frame, domain="ECOMMERCE", use_cases=["most-viewed"], now=NOW).ok
    # any event type counts for recommended-for-you
    assert validate(minimal(), domain="ECOMMERCE", use_cases=["recommended-for-you"], now=NOW)


def test_use_cases_imply_the_domain_and_check_it() -> None:
    frame = minimal(1000, event_type=["watch"] * 1000)
    report = validate(frame, use_cases=["aws-vod-most-popular"], now=NOW)
    problem = only(report, "use-case-minimum")
    assert problem.fix is not None
    assert "'watch' (1,000)" in problem.fix
    mixed = validate(frame, domain="ECOMMERCE", use_cases=["top-picks", "tv-guide"], now=NOW)
    assert {"use-case-domain", "use-case-unknown"} <= mixed.rules()
    needs_items = validate(frame, use_cases=["more-like-x"], now=NOW)
    assert only(needs_items, "use-case-needs-items").severity == "warning"


def test_metadata_columns_plus_event_types_at_most_ten() -> None:
    # EVENT_TYPE (1) + 9 distinct event types = 10: fine; one more type: 11
    types = [f"e{i}" for i in range(9)] * 112
    frame = minimal(1008, event_type=types)
    assert validate(frame, now=NOW).ok
    frame.loc[0, "event_type"] = "e9"
    problem = only(validate(frame, now=NOW), "metadata-event-types")
    assert (problem.column, problem.count) == ("event_type", 11)
    # metadata columns and EVENT_VALUE count too
    frame = minimal(1008, event_type=types, event_value=1.0, device=["web"] * 1008)
    assert only(validate(frame, now=NOW), "metadata-event-types").count == 12


# ---------------------------------------------------------------- duplicates, references


def test_duplicate_interaction_rows() -> None:
    frame = minimal()
    frame = pd.concat([frame, frame.iloc[[3, 3, 10]]], ignore_index=True)
    report = validate(frame, now=NOW)
    problem = only(report, "duplicate-rows")
    assert (problem.severity, problem.count, problem.rows) == ("warning", 3, (1000, 1001, 1002))
    assert problem.values[0] == repr((3, 3, NOW - DAY - 3))
    assert report.stats["duplicate_rows"] == 3
    # a different event type makes a different row
    frame["event_type"] = ["a"] * 1001 + ["b", "a"]
    assert only(validate(frame, now=NOW), "duplicate-rows").rows == (1000, 1002)


@pytest.mark.parametrize("sample_rows", [None, 10])
def test_interactions_without_rows_or_users_get_a_report_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, sample_rows: int | None
) -> None:
    """No rows at all, or no user in the sample (every USER_ID null): the diagnostics
    have nothing to count, and the report names the rules broken."""
    import personakit.rules.checks.datasets as checks

    if sample_rows:
        monkeypatch.setattr(checks, "_SAMPLE_ROWS", sample_rows)
    empty = pd.DataFrame(
        {
            "USER_ID": pd.Series([], dtype=str),
            "ITEM_ID": pd.Series([], dtype=str),
            "TIMESTAMP": pd.Series([], dtype="int64"),
        }
    )
    rules = {p.rule for p in validate(empty, now=NOW).problems}
    assert {"min-import-records", "min-interactions", "min-users"} <= rules
    no_users = pa.table(
        {
            "USER_ID": pa.nulls(50, pa.string()),
            "ITEM_ID": pa.array([f"i{i % 7}" for i in range(50)]),
            "TIMESTAMP": pa.array([NOW - DAY - i for i in range(50)], pa.int64()),
        }
    )
    report = validate(no_users, now=NOW)
    assert only(report, "required-null").count == 50
    assert report.stats["n_users"] == 0


def test_duplicate_rows_above_the_sample_size_are_estimated_from_a_share_of_users(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above the sample size only every k-th user's rows are scanned: every copy of a row
    has the same user, so the scaled count is unbiased, and each example is a real copy."""
    import personakit.rules.checks.datasets as checks

    rng = np.random.default_rng(7)
    frame = minimal(20_000, users=400)
    copies = frame.iloc[rng.choice(len(frame), 2_000, replace=False)]
    frame = pd.concat([frame, copies], ignore_index=True).sample(frac=1.0, random_state=1)
    frame = frame.reset_index(drop=True)
    truth = set(np.flatnonzero(frame.duplicated().to_numpy()).tolist())
    exact = only(validate(frame, now=NOW), "duplicate-rows")
    assert exact.count == len(truth) == 2_000
    assert "about" not in exact.message

    monkeypatch.setattr(checks, "_SAMPLE_ROWS", 5_500)  # 22,000 rows: 1 in 4 users
    problem = only(validate(frame, now=NOW), "duplicate-rows")
    assert "about" in problem.message
    assert "1 in 4 users" in problem.message
    assert 1_500 <= problem.count <= 2_500  # 2,000 copies, about 500 of them seen
    assert problem.rows
    assert set(problem.rows) <= truth
    assert problem.values[0] == repr(tuple(frame.iloc[problem.rows[0]]))


@st.composite
def interaction_rows(draw: st.DrawFn) -> pd.DataFrame:
    """Small frames with many repeated rows: ids (narrow or 62-bit integers, or text,
    with nulls), timestamps (narrow or wide), an event type and value (with nulls)."""
    n = draw(st.integers(2, 40))
    wide = draw(st.booleans())  # a range too wide for one exact key: the hashed path
    user = st.integers(0, 2**62 if wide else 3)
    users: Any = draw(st.lists(user, min_size=n, max_size=n))
    if draw(st.booleans()):
        # nulls, but not in the first row (a column of nulls has no type to infer)
        text = [None if u == 1 and k else f"u{u}" for k, u in enumerate(users)]
        users = pd.array(text, dtype=object)
    frame = pd.DataFrame(
        {
            "user_id": users,
            "item_id": draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)),
            "timestamp": [
                NOW - DAY - t for t in draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
            ],
        }
    )
    if draw(st.booleans()):
        kinds = st.sampled_from(["click", "view", None])
        frame["event_type"] = pd.array(draw(st.lists(kinds, min_size=n, max_size=n)), dtype=object)
    if draw(st.booleans()):
        values = st.sampled_from([1.0, 2.5, math.nan])
        frame["event_value"] = draw(st.lists(values, min_size=n, max_size=n))
    return frame


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interaction_rows(), st.booleans())
def test_duplicate_rows_are_the_rows_pandas_calls_duplicated(
    frame: pd.DataFrame, arrow: bool
) -> None:
    data: Any = pa.Table.from_pandas(frame, preserve_index=False) if arrow else frame
    report = validate(data, now=NOW)
    repeated = np.flatnonzero(frame.duplicated().to_numpy())
    assert report.stats["duplicate_rows"] == len(repeated)
    found = [p for p in report.problems if p.rule == "duplicate-rows"]
    if len(repeated):
        (problem,) = found
        assert problem.count == len(repeated)
        assert list(problem.rows) == repeated[:5].tolist()  # rows of the frame, named
    else:
        assert not found
    # the repeat rate comes from the same sort: the share of (user, item) pairs seen twice
    pairs = frame.dropna(subset=["user_id", "item_id"]).groupby(["user_id", "item_id"]).size()
    if len(pairs):
        assert report.stats["repeat_interaction_rate"] == pytest.approx((pairs > 1).mean())


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(-(10**9), 2 * 10**9),
    width=st.sampled_from([1, 7, 3600, 86_400, 604_800]),
    bins=st.integers(1, 150),
    data=st.data(),
)
def test_histogram_bins_are_numpys(start: int, width: int, bins: int, data: st.DataObject) -> None:
    """The diagnostics' histograms count as np.histogram does (bins [a, b), the last
    [a, b]), on every path: searched edges, divided, and divided exactly (whole seconds)."""
    from personakit.rules.checks.datasets import _binned

    edges = start + width * np.arange(bins + 1, dtype=np.float64)
    on_edges = st.integers(-1, bins + 1).map(lambda k: start + width * k)
    near = st.integers(start - 2 * width, start + (bins + 2) * width)
    values = np.array(data.draw(st.lists(st.one_of(on_edges, near), max_size=60)), np.float64)
    expected = np.histogram(values, bins=edges)[0].tolist()
    assert _binned(values, edges).tolist() == expected
    assert _binned(values, edges, uniform=True).tolist() == expected
    assert _binned(values, edges, uniform=True, whole=True).tolist() == expected


@given(st.lists(st.integers(0, 2**63 - 1), max_size=40), st.integers(0, 2**63))
def test_keys_sorted_in_two_halves_are_sorted(keys: list[int], cut: int) -> None:
    from personakit.rules.checks.datasets import _sorted_in_halves

    values = np.array(keys, dtype=np.uint64)
    assert _sorted_in_halves(values.copy(), cut).tolist() == sorted(keys)


def test_rows_sharing_a_digest_are_compared_by_their_whole_key() -> None:
    """Keys whose 32-bit digests collide are not duplicates unless the keys are equal."""
    from personakit.rules.checks.datasets import _HASH_KEY, _repeats, _RowKeys

    a, inverse = 123_456_789, pow(_HASH_KEY, -1, 2**64)
    # b * K = a * K +/- 1: the same top 32 bits; both below 2**63 (one exact key per row)
    b = a + inverse if a + inverse < 2**63 else a - inverse + 2**64
    values = np.array([0, a, b, a, b, 7, b], dtype=np.int64)  # 0: keys are the values
    keys = _RowKeys([values])
    assert keys.ranges is not None  # exact keys, no hash
    assert len(set(keys.digests(len(values))[1:3].tolist())) == 1
    assert _repeats(keys, len(values)) == (3, [3, 4, 6])
    assert _repeats(_RowKeys([values[:3]]), 3) == (0, [])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(0, 2**63 - 1), min_size=1, max_size=5),
    st.integers(0, 5),
    st.sampled_from(["int64", "uint64", "Int64"]),
)
def test_integer_ids_are_checked_as_the_string_ids_they_are_written_as(
    ids: list[int], extra: int, dtype: str
) -> None:
    frame = minimal(1000 + extra, users=50)
    frame["user_id"] = pd.array(frame["user_id"].to_numpy() + ids[0], dtype=dtype)
    frame.loc[: len(ids) - 1, "item_id"] = ids
    as_text = frame.astype({"user_id": str, "item_id": str})
    report, text_report = validate(frame, now=NOW), validate(as_text, now=NOW)
    assert report.schemas[pk.DatasetType.INTERACTIONS]["USER_ID"].type == "string"
    assert report.rules() == text_report.rules()
    for stat in ("n_users", "n_items", "duplicate_rows", "users_with_2plus_interactions"):
        assert report.stats[stat] == text_report.stats[stat], stat


def test_integer_ids_longer_than_the_limit_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """The id length limit applies to the digits of integer ids (a 3-character limit
    here: no 64-bit integer has 257 digits)."""
    import personakit.rules.checks.fields as fields

    monkeypatch.setattr(fields, "MAX_ID_CHARS", 3)
    frame = minimal()
    frame.loc[[5, 7], "user_id"] = [1234, -100]
    problem = only(validate(frame, now=NOW), "id-too-long")
    assert (problem.column, problem.count, problem.rows) == ("user_id", 2, (5, 7))
    assert list(problem.values) == ["1234", "-100"]  # the reprs of the values
    assert "longer than 3 characters" in problem.message


def test_duplicate_item_ids_keep_the_last_record() -> None:
    items = catalog(5)
    items = pd.concat([items, items.iloc[[1, 1, 3]]], ignore_index=True)
    problem = only(validate(items=items, now=NOW), "duplicate-ids")
    assert problem.severity == "warning"
    assert problem.column == "item_id"
    assert problem.count == 3  # rows replaced by a later one: 1, 5 (by 6) and 3
    assert problem.rows == (1, 3, 5)
    assert "(1, 3)" in problem.message


def test_interactions_referencing_unknown_items_and_users() -> None:
    frame = minimal()
    items = catalog(30)  # items 30..36 are missing: 7 of 37
    users = pd.DataFrame({"user_id": np.arange(100), "age": np.arange(100) % 7})
    users = users[users["user_id"] != 5]
    report = validate(frame, items=items, users=users, now=NOW)
    unknown_items = only(report, "unknown-items")
    assert unknown_items.severity == "warning"
    expected = int((frame["item_id"] >= 30).sum())
    assert unknown_items.count == expected
    assert report.stats["unknown_item_share"] == pytest.approx(expected / 1000)
    assert unknown_items.rows == tuple(np.flatnonzero(frame["item_id"] >= 30)[:5])
    unknown_users = only(report, "unknown-users")
    assert (unknown_users.count, unknown_users.rows) == (10, (5, 105, 205, 305, 405))
    # string ids in the items frame match integer ids in the interactions
    items["item_id"] = items["item_id"].astype(str)
    assert only(validate(frame, items=items, now=NOW), "unknown-items").count == expected


def test_action_interactions() -> None:
    rng = np.random.default_rng(1)
    n = 400
    frame = pd.DataFrame(
        {
            "user_id": rng.integers(0, 50, n),
            "action_id": np.where(np.arange(n) < 300, "a1", "a2"),
            "event_type": np.tile(["Taken", "Not taken", "VIEWED", "clicked"], n // 4),
            "timestamp": NOW - DAY - np.arange(n) * 60,
        }
    )
    actions = pd.DataFrame({"action_id": ["a1"], "value": [10]})
    report = validate(action_interactions=frame, actions=actions, now=NOW)
    odd = only(report, "action-event-type")
    assert (odd.count, odd.rows[:2]) == (100, (3, 7))
    few = only(report, "action-interactions-few")  # a1: 75 taken, 150 others; a2: 25 taken
    assert few.values == (repr("a2"),)
    assert only(report, "unknown-actions").count == 100
    assert report.stats["n_action_interactions"] == n


# ---------------------------------------------------------------- schemas


def test_schema_warnings_are_reported_once() -> None:
    items = catalog(5)
    items["in_stock"] = True
    report = validate(items=items, now=NOW)
    assert [p.rule for p in report.problems] == ["boolean-ignored"]
    bare = validate(items=pd.DataFrame({"item_id": ["a", "b"]}), now=NOW)
    assert [p.rule for p in bare.problems] == ["metadata-missing"]


def test_given_schema_against_the_frame() -> None:
    items = pd.DataFrame(
        {"item_id": ["a", "b", "c"], "year": ["1999", "n/a", None], "extra": [1, 2, 3]}
    )
    schema = pk.Schema(
        "items",
        [
            pk.Field("ITEM_ID", "string", source="item_id"),
            pk.Field("YEAR", "int", source="year"),
            pk.Field("GENRES", "string", categorical=True),
        ],
    )
    report = validate(items=items, schemas={"items": schema}, now=NOW)
    assert only(report, "column-missing").column == "GENRES"
    assert only(report, "column-not-in-schema").column == "extra"
    mismatch = only(report, "type-mismatch")
    assert (mismatch.column, mismatch.rows) == ("year", (1,))
    nulls = only(report, "null-not-nullable")
    assert (nulls.column, nulls.rows) == ("year", (2,))


def test_schema_errors_do_not_stop_the_data_checks() -> None:
    frame = minimal(duration=pd.to_timedelta(np.arange(1000), unit="s"))
    frame["timestamp"] *= 1000
    report = validate(frame, now=NOW)
    assert {"unsupported-type", "timestamp-milliseconds"} <= report.rules()
    # a mixed object column: reported, left out, the rest checked
    frame = minimal(tag=[1, "a"] * 500)
    frame.loc[0, "timestamp"] = 0
    assert {"mixed-types", "timestamp-zero"} <= validate(frame, now=NOW).rules()
    # a domain's required field missing: reported, data checked without it
    items = catalog(4)
    items.loc[2, "item_id"] = items.loc[1, "item_id"]
    report = validate(items=items, domain="VIDEO_ON_DEMAND", now=NOW)
    assert {"required-field-missing", "duplicate-ids"} <= report.rules()


def test_the_report_keeps_the_schemas_and_tables_it_checked() -> None:
    """What validate built on the way (for write_csv): given or inferred schemas, Arrow
    tables of frames converted whole; never a stand-in schema or a partial table."""
    from personakit.rules.schema import DatasetType
    from personakit.rules.validate import ValidationReport

    frame, items = minimal(), catalog(50)
    given = pk.Schema.infer(items, "items")
    assert validate(frame, now=NOW).tables == {}  # no copy of the data kept unless asked
    report = validate(frame, items=items, schemas={"items": given}, now=NOW, keep_tables=True)
    assert isinstance(report, ValidationReport)
    assert report.schemas[DatasetType.ITEMS] is given
    assert report.schemas[DatasetType.INTERACTIONS] == pk.Schema.infer(frame)
    assert report.tables[DatasetType.INTERACTIONS].column_names == list(frame.columns)
    assert report.tables[DatasetType.ITEMS].num_rows == 50
    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert validate(table, now=NOW, keep_tables=True).tables[DatasetType.INTERACTIONS] is table
    assert "tables" not in repr(report)
    assert type(report.merge(report)) is pk.DataReport
    # inference failed: the data is checked against a stand-in, which is not handed back
    odd = minimal(duration=pd.to_timedelta(np.arange(1000), unit="s"))
    report = validate(odd, now=NOW, keep_tables=True)
    assert "unsupported-type" in report.rules()
    assert DatasetType.INTERACTIONS not in report.schemas
    assert DatasetType.INTERACTIONS in report.tables
    # a column Arrow cannot hold: the checks read the rest, which is not handed back
    report = validate(minimal(tag=[1, "a"] * 500), now=NOW, keep_tables=True)
    assert "mixed-types" in report.rules()
    assert report.tables == {}
    assert report.schemas == {}


def test_bad_argument_values_are_reported_wrong_types_raised() -> None:
    report = validate(
        schemas={"nope": pk.Schema.infer(catalog(2), "items")},
        domain="RETAIL",
        now=NOW,
    )
    assert {"schema-key", "domain-unknown"} <= report.rules()
    with pytest.raises(TypeError, match="interactions takes a pandas DataFrame"):
        validate([1, 2], now=NOW)  # type: ignore[arg-type]
    wrong = validate(schemas={"users": pk.Schema.infer(catalog(2), "items")})
    assert only(wrong, "schema-key").severity == "error"
    huge = pd.DataFrame({"user_id": np.array([1, 2**64 - 1], dtype=object), "x": [1, 2]})
    problem = only(validate(huge, now=NOW), "integer-overflow")
    assert (problem.column, problem.rows) == ("user_id", (1,))


# ---------------------------------------------------------------- the report


def broken() -> pd.DataFrame:
    frame = minimal(500)
    frame["timestamp"] = frame["timestamp"].astype("int64") * 1000
    frame["item_id"] = frame["item_id"].astype(str)
    frame.loc[7, "item_id"] = "x" * 300
    frame.loc[8, "item_id"] = ""
    frame["event_type"] = ["click", "view"] * 250
    return frame


EXPECTED_ERRORS = {
    "timestamp-milliseconds",
    "id-too-long",
    "id-empty",
    "min-import-records",
    "min-interactions",
}


def test_raise_for_problems_lists_every_error_at_once() -> None:
    report = validate(broken(), now=NOW)
    assert {p.rule for p in report.errors} == EXPECTED_ERRORS
    with pytest.raises(pk.ValidationError) as info:
        report.raise_for_problems()
    assert info.value.problems == report.errors
    text = str(info.value)
    assert text.startswith(f"{len(EXPECTED_ERRORS)} problem(s) in data")
    for rule in EXPECTED_ERRORS:
        assert rule in text


def test_report_as_frame_and_html() -> None:
    report = validate(broken(), now=NOW)
    table = report.to_frame()
    assert list(table.columns) == [
        "severity",
        "rule",
        "column",
        "count",
        "message",
        "rows",
        "values",
        "fix",
    ]
    assert set(table["rule"]) == EXPECTED_ERRORS
    row = table[table["rule"] == "id-too-long"].iloc[0]
    assert (row["column"], row["count"], row["rows"]) == ("item_id", 1, [7])
    html = report._repr_html_()
    for rule in EXPECTED_ERRORS:
        assert f"<code>{rule}</code>" in html
    assert "NOT OK" in html
    assert "time_span_days" in html


@pytest.mark.parametrize(
    "flavour", ["object", "str", "string[pyarrow]", "category", "arrow-table", "arrow-chunks"]
)
def test_pandas_string_flavours_and_arrow_give_the_same_report(flavour: str) -> None:
    frame = broken()
    expected = validate(frame.astype({"item_id": object, "event_type": object}), now=NOW)
    if flavour in ("arrow-table", "arrow-chunks"):
        data: Any = pa.Table.from_pandas(frame, preserve_index=False)
        if flavour == "arrow-chunks":
            data = pa.Table.from_batches(data.to_batches(max_chunksize=64))
    else:
        data = frame.astype({"item_id": flavour, "event_type": flavour})
    report = validate(data, now=NOW)
    assert report.problems == expected.problems
    assert report.stats == expected.stats


# ---------------------------------------------------------------- integer ids


def id_frames(to_ids: Any) -> dict[str, pd.DataFrame]:
    """Every dataset of a group, ids made by ``to_ids`` from small integers (nulls kept).

    The data has one problem of each id rule: missing user ids, duplicate rows, unknown
    and cold-start items, unknown users and actions, duplicate catalog ids, actions
    with too few events, single-interaction users.
    """
    n = 2000
    user = pd.Series(np.concatenate([np.arange(n) % 200, np.arange(200, 230)]), dtype="Int64")
    user[[4, 17, 900]] = pd.NA
    item = pd.Series(np.concatenate([np.arange(n) * 7 % 60, np.arange(30) % 60]), dtype="Int64")
    item[item == 45] = 46  # item 45 is listed but never used, inside the used range
    frame = pd.DataFrame({"user_id": user, "item_id": item})
    frame["timestamp"] = NOW - DAY - np.arange(len(frame)) * 60
    frame = pd.concat([frame, frame.iloc[[3, 3, 10]]], ignore_index=True)
    items = catalog(50)  # items 50..59 are unknown
    items = pd.concat([items, items.iloc[[1, 1, 3]]], ignore_index=True)
    items.loc[len(items)] = [72, "Action", 1.0]  # listed, never used: cold start, as 45
    users = pd.DataFrame({"user_id": np.arange(230), "age": np.arange(230) % 7})
    users = users[users["user_id"] != 5]
    m = 400
    acts = pd.DataFrame(
        {
            "user_id": np.arange(m) % 50,
            "action_id": pd.Series(np.where(np.arange(m) < 300, 1, 2), dtype="Int64"),
            "event_type": np.tile(["Taken", "Not taken", "VIEWED", "clicked"], m // 4),
            "timestamp": NOW - DAY - np.arange(m) * 60,
        }
    )
    actions = pd.DataFrame({"action_id": [1, 3], "value": [10, 20]})
    for df in (frame, items, users, acts, actions):
        for name in ("user_id", "item_id", "action_id"):
            if name in df:
                df[name] = to_ids(df[name].astype("Int64"))
    return {
        "interactions": frame,
        "items": items,
        "users": users,
        "action_interactions": acts,
        "actions": actions,
    }


def comparable(report: pk.DataReport) -> tuple[object, ...]:
    """A report with quotes dropped, so that ids ``7`` and ``'7'`` read the same."""

    def plain(text: object) -> object:
        return text.replace("'", "") if isinstance(text, str) else text

    problems = [
        (p.severity, p.rule, p.column, p.count, p.rows, p.fix, plain(p.message), p.values)
        for p in report.problems
    ]
    problems = [(*head, tuple(map(plain, values))) for *head, values in problems]
    return tuple(problems), report.stats


@pytest.mark.parametrize(
    "to_ids",
    [
        pytest.param(lambda s: s, id="dense"),
        pytest.param(lambda s: s - 1000, id="dense-negative"),
        pytest.param(lambda s: s.astype("Int32"), id="dense-int32"),
        pytest.param(lambda s: s * 10**12 + 7, id="sparse"),
    ],
)
def test_integer_ids_give_the_report_of_the_same_ids_as_strings(to_ids: Any) -> None:
    as_ints = validate(**id_frames(to_ids), now=NOW)
    as_strings = validate(**id_frames(lambda s: to_ids(s).astype("string")), now=NOW)
    assert comparable(as_ints) == comparable(as_strings)
    expected = {
        "required-null",
        "duplicate-rows",
        "unknown-items",
        "unknown-users",
        "duplicate-ids",
        "unknown-actions",
        "action-interactions-few",
        "action-event-type",
    }
    assert expected <= as_ints.rules()
    assert as_ints.stats["cold_start_item_share"] == pytest.approx(2 / 51)


def test_ids_in_a_narrow_range_skip_the_hash_table() -> None:
    from personakit.rules.checks.columns import Codes

    narrow = Codes.of(pa.chunked_array([pa.array([5, None, 3, 5, 9])]), dense=True)
    assert narrow.ranged
    assert narrow.codes.tolist() == [2, -1, 0, 2, 6]
    assert narrow.counts.tolist() == [1, 0, 2, 0, 0, 0, 1]
    assert narrow.first_seen(narrow.counts > 0) == [5, 3, 9]
    wide = Codes.of(pa.chunked_array([pa.array([5, 10**12, 5])]), dense=True)
    assert not wide.ranged
    assert wide.first_seen(wide.counts > 0) == [5, 10**12]


@pytest.mark.parametrize("kind", ["float", "datetime", "nullable"])
def test_timestamp_diagnostics_do_not_depend_on_the_column_type(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Integer and datetime timestamps take a shortcut (range first, sampled rows); the
    diagnostics must be those of float seconds, which are converted row by row."""
    # sample from 500 rows up, as 10M-row frames do from 1M up
    monkeypatch.setattr(sys.modules["personakit.rules.checks.datasets"], "_SAMPLE_ROWS", 500)
    frame = interactions(5000)
    reference = validate(frame.astype({"timestamp": "float64"}), now=NOW)
    if kind == "datetime":
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s")
    elif kind == "nullable":
        frame["timestamp"] = frame["timestamp"].astype("Int64")
        frame.loc[[3, 40], "timestamp"] = pd.NA
        reference = validate(frame.astype({"timestamp": "float64"}), now=NOW)
    report = validate(frame, now=NOW)
    keys = ["first_timestamp", "last_timestamp", "time_span_days"]
    keys += ["top100_jaccard_first_last_quarter", "repeat_interaction_rate"]
    assert {k: report.stats[k] for k in keys} == {k: reference.stats[k] for k in keys}


# ---------------------------------------------------------------- properties

NAMES = [
    "user_id",
    "USER_ID",
    "userId",
    "item_id",
    "ITEM_ID",
    "item",
    "action_id",
    "timestamp",
    "ts",
    "TIMESTAMP",
    "event_type",
    "EVENT_VALUE",
    "impression",
    "creation_timestamp",
    "expiration_timestamp",
    "genres",
    "price",
    "CATEGORY_L1",
    "rating",
    "a b",
    "1x",
    "",
]


@st.composite
def column(draw: st.DrawFn, n: int) -> pd.Series[Any]:
    kind = draw(
        st.sampled_from(
            ["int", "bigint", "float", "str", "bool", "datetime", "mixed", "none", "cat", "list"]
        )
    )
    size = {"min_size": n, "max_size": n}
    if kind == "int":
        return pd.Series(draw(st.lists(st.integers(-(2**31), 2**31), **size)), dtype="int64")
    if kind == "bigint":
        values = draw(st.lists(st.integers(0, 2**64 - 1), **size))
        return pd.Series(values, dtype="uint64")
    if kind == "float":
        floats = st.one_of(st.floats(), st.none(), st.integers(0, 2 * NOW).map(float))
        return pd.Series(draw(st.lists(floats, **size)), dtype="float64")
    if kind == "str":
        dtype = draw(st.sampled_from(["object", "str"]))
        return pd.Series(
            draw(st.lists(st.one_of(st.text(max_size=4), st.none()), **size)), dtype=dtype
        )
    if kind == "bool":
        return pd.Series(draw(st.lists(st.booleans(), **size)), dtype="bool")
    if kind == "datetime":
        dates = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1))
        return pd.Series(
            draw(st.lists(st.one_of(dates, st.none()), **size)), dtype="datetime64[ns]"
        )
    if kind == "mixed":
        mixed = st.one_of(st.integers(-(2**63), 2**64), st.text(max_size=3), st.floats(), st.none())
        return pd.Series(draw(st.lists(mixed, **size)), dtype="object")
    if kind == "none":
        return pd.Series([None] * n, dtype="object")
    if kind == "cat":
        return pd.Series(draw(st.lists(st.sampled_from(["a", "b|c"]), **size)), dtype="category")
    lists = st.one_of(st.lists(st.text(max_size=3), max_size=3), st.none())
    return pd.Series(draw(st.lists(lists, **size)), dtype="object")


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 8))
    names = draw(
        st.lists(
            st.one_of(st.sampled_from(NAMES), st.text(max_size=5)),
            min_size=1,
            max_size=5,
            unique=True,
        )
    )
    frame = pd.DataFrame({name: draw(column(n)) for name in names})
    if draw(st.booleans()):  # often start from a frame whose roles are recognised
        base = minimal(n, users=3).astype({"user_id": draw(st.sampled_from(["int64", "str"]))})
        frame = pd.concat([base, frame.drop(columns=base.columns, errors="ignore")], axis=1)
    return frame


DATASET_TYPES = ["interactions", "items", "users", "actions", "action_interactions"]
DOMAINS = [None, "ECOMMERCE", "VIDEO_ON_DEMAND"]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.sampled_from(DATASET_TYPES), st.sampled_from(DOMAINS), st.booleans())
def test_validate_reports_instead_of_raising(
    frame: pd.DataFrame, dataset_type: str, domain: str | None, arrow: bool
) -> None:
    data: Any = frame
    if arrow:
        with contextlib.suppress(pa.ArrowException, OverflowError):
            data = pa.Table.from_pandas(frame, preserve_index=False)
    report = validate(**{dataset_type: data}, domain=domain, now=NOW)
    assert isinstance(report, pk.DataReport)
    internal = [p for p in report.problems if p.rule in ("internal-error", "check-failed")]
    assert not internal, report


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.sampled_from(DATASET_TYPES), st.sampled_from(DOMAINS))
def test_infer_returns_a_valid_schema_or_raises_validation_error(
    frame: pd.DataFrame, dataset_type: str, domain: str | None
) -> None:
    try:
        schema = pk.Schema.infer(frame, dataset_type, domain=domain)
    except pk.ValidationError:
        return
    assert schema.check().ok, schema.check()


def test_schema_for_actions_with_a_domain_raises_validation_error() -> None:
    with pytest.raises(pk.ValidationError):
        pk.Schema.infer(pd.DataFrame({"action_id": ["a"], "value": [1]}), "actions", domain="VOD")


def test_infer_on_integers_beyond_64_bits_raises_validation_error() -> None:
    frame = pd.DataFrame({"user_id": np.array([2**63], dtype=object), "x": [1]})
    with pytest.raises(pk.ValidationError):
        pk.Schema.infer(frame, "interactions")


def test_columns_mapping_applies_to_each_frame_it_fits() -> None:
    frame = minimal().rename(columns={"user_id": "who", "item_id": "what", "timestamp": "when"})
    items = catalog(37).rename(columns={"item_id": "what"})
    items["when"] = 1  # not a TIMESTAMP in Items: stays metadata
    mapping = {"who": "USER_ID", "what": "ITEM_ID", "when": "TIMESTAMP"}
    report = validate(frame, items=items, columns=mapping, now=NOW)
    assert report.ok, report
    assert report.stats["unknown_item_share"] == 0
    assert "min-users" not in validate(frame, columns=mapping, now=NOW).rules()


def test_given_schemas_must_match_the_domain_and_the_column_types() -> None:
    schema = pk.Schema.infer(minimal(), "interactions")
    report = validate(minimal(), schemas={"interactions": schema}, domain="ECOMMERCE", now=NOW)
    assert only(report, "schema-domain-mismatch").severity == "error"
    frame = minimal()
    frame["timestamp"] = [[1]] * 1000
    mismatch = only(validate(frame, schemas={"interactions": schema}, now=NOW), "type-mismatch")
    assert (mismatch.column, mismatch.count) == ("timestamp", 1000)
