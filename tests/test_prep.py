"""pk.prep: everyday data to frames in Personalize's shape."""

from __future__ import annotations

import datetime as dt
import doctest
import importlib
import pkgutil
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import personakit as pk
from personakit.rules import prep

if TYPE_CHECKING:
    import numpy.typing as npt

NEW_YEAR_2020 = 1_577_836_800  # 2020-01-01T00:00:00Z
UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def movielens_ratings() -> pd.DataFrame:
    """ratings.csv as pd.read_csv gives it: ints, float ratings, int seconds."""
    return pd.DataFrame(
        {
            "userId": np.array([1, 1, 1, 2, 2, 3, 3, 3], dtype=np.int64),
            "movieId": np.array([1, 3, 6, 1, 50, 6, 70, 101], dtype=np.int64),
            "rating": [4.0, 4.0, 3.0, 5.0, 2.5, 3.5, 0.5, 4.5],
            "timestamp": np.array(
                [
                    964982703,
                    964981247,
                    964982224,
                    964983815,
                    964982931,
                    964982400,
                    964980868,
                    964982224,
                ],
                dtype=np.int64,
            ),
        }
    )


def movies() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "movieId": [1, 2, 3],
            "title": ["Toy Story (1995)", "Jumanji (1995)", "Grumpier Old Men (1995)"],
            "genres": [
                "Adventure|Animation|Children",
                "Adventure|Children|Fantasy",
                "Comedy|Romance",
            ],
        }
    )


def problem_rules(exc: pytest.ExceptionInfo[pk.ValidationError]) -> list[str]:
    return [p.rule for p in exc.value.problems]


def is_text(s: pd.Series[Any]) -> bool:
    """A string column by pandas' standard (str in pandas 3, object of str in pandas 2)."""
    return pd.api.types.is_string_dtype(s.dtype) and all(isinstance(v, str) for v in s.dropna())


# ------------------------------------------------------------------ input flavours

Flavour = Callable[[pd.DataFrame], Any]


def as_object(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(dict.fromkeys(frame.select_dtypes(exclude="number").columns, object))


def as_str(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(dict.fromkeys(frame.select_dtypes(exclude="number").columns, "string"))


FLAVOURS: dict[str, Flavour] = {
    "default": lambda f: f,
    "object": as_object,
    "string": as_str,
    "pyarrow-dtypes": lambda f: f.convert_dtypes(dtype_backend="pyarrow"),
    "arrow-table": lambda f: pa.Table.from_pandas(f, preserve_index=False),
}


# ------------------------------------------------------------------ ratings -> interactions


def test_movielens_ratings_become_interactions_with_reserved_columns_and_dtypes() -> None:
    out = prep.ratings_to_interactions(movielens_ratings(), min_rating=3.5)

    assert list(out.columns) == ["USER_ID", "ITEM_ID", "TIMESTAMP"]
    assert len(out) == 5  # 4.0, 4.0, 5.0, 3.5, 4.5 are >= 3.5
    # integer ids stay integers (the CSV holds the same digits), rows keep input order
    assert out["USER_ID"].dtype == np.int64
    assert out["ITEM_ID"].dtype == np.int64
    assert out["TIMESTAMP"].dtype == np.int64
    assert out["ITEM_ID"].tolist() == [1, 3, 1, 6, 101]
    assert isinstance(out.index, pd.RangeIndex)
    schema = pk.Schema.infer(out, "interactions")
    assert schema.check().ok
    assert schema["USER_ID"].type == "string"
    assert schema["TIMESTAMP"].type == "long"
    text = prep.ratings_to_interactions(movielens_ratings(), min_rating=3.5, string_ids=True)
    assert is_text(text["USER_ID"])
    assert is_text(text["ITEM_ID"])
    assert set(text["USER_ID"]) == {"1", "2", "3"}  # "1", never "1.0"
    assert text["ITEM_ID"].tolist() == ["1", "3", "1", "6", "101"]


def test_sort_by_timestamp_is_stable_for_ties() -> None:
    out = prep.ratings_to_interactions(movielens_ratings(), sort=True)
    assert out["TIMESTAMP"].is_monotonic_increasing
    assert isinstance(out.index, pd.RangeIndex)
    ties = out[out["TIMESTAMP"] == 964982224]
    # movie 6 (user 1) comes before movie 101 (user 3) in the input
    assert ties["ITEM_ID"].tolist() == [6, 101]
    # many ties, as in a log with second resolution: input order kept within a second
    rng = np.random.default_rng(7)
    log = pd.DataFrame(
        {
            "userId": np.arange(2000),
            "movieId": np.arange(2000),
            "timestamp": rng.integers(0, 20, 2000) + 1_600_000_000,
        }
    )
    out = prep.ratings_to_interactions(log, sort=True)
    order = out["USER_ID"].to_numpy()
    expected = log.sort_values("timestamp", kind="stable")["userId"].to_numpy()
    np.testing.assert_array_equal(order, expected)


@pytest.mark.parametrize("flavour", list(FLAVOURS))
def test_interactions_are_the_same_from_every_input_flavour(flavour: str) -> None:
    expected = prep.ratings_to_interactions(movielens_ratings(), min_rating=3.0, event_value=True)
    data = FLAVOURS[flavour](movielens_ratings())
    out = prep.ratings_to_interactions(data, min_rating=3.0, event_value=True)
    assert out["USER_ID"].tolist() == expected["USER_ID"].tolist()
    liked = prep.ratings_to_interactions(
        data, min_rating=3.0, event_type={5: "love", 4.5: "like"} | {4: "like", 3.5: "ok", 3: "ok"}
    )
    assert liked["EVENT_TYPE"].value_counts().to_dict() == {"like": 3, "ok": 2, "love": 1}
    assert out["ITEM_ID"].tolist() == expected["ITEM_ID"].tolist()
    assert out["TIMESTAMP"].dtype == np.int64
    assert out["EVENT_VALUE"].dtype == np.float32
    assert out["TIMESTAMP"].tolist() == expected["TIMESTAMP"].tolist()


def test_event_type_from_a_mapping_of_ratings() -> None:
    mapping = {5.0: "love", 4.5: "like", 4.0: "like", 3.5: "watch"}
    out = prep.ratings_to_interactions(
        movielens_ratings(), min_rating=3.5, event_type=mapping, string_ids=True
    )
    by_item = dict(zip(out["ITEM_ID"] + "/" + out["USER_ID"], out["EVENT_TYPE"], strict=True))
    assert by_item == {
        "1/1": "like",
        "3/1": "like",
        "1/2": "love",
        "6/3": "watch",
        "101/3": "like",
    }
    assert is_text(out["EVENT_TYPE"])


def test_event_type_mapping_missing_a_rating_names_it() -> None:
    with pytest.raises(pk.ValidationError) as exc:
        prep.ratings_to_interactions(movielens_ratings(), event_type={5: "love", 4: "like"})
    (problem,) = exc.value.problems
    assert problem.rule == "event-type-unmapped"
    assert problem.column == "rating"
    assert problem.count == 5  # 3.0, 2.5, 3.5, 0.5, 4.5
    assert "0.5" in problem.message


def test_event_type_constant_and_callable() -> None:
    watch = prep.ratings_to_interactions(movielens_ratings(), event_type="Watch")
    assert set(watch["EVENT_TYPE"]) == {"Watch"}
    tiers = prep.ratings_to_interactions(
        movielens_ratings(), event_type=lambda r: np.where(r >= 4, "like", "watch")
    )
    liked = tiers.loc[tiers["EVENT_TYPE"] == "like", "ITEM_ID"]
    assert sorted(liked) == [1, 1, 3, 101]
    assert "EVENT_TYPE" not in prep.ratings_to_interactions(movielens_ratings()).columns


def test_event_value_is_the_rating_as_float32_and_keep_adds_metadata() -> None:
    ratings = movielens_ratings().assign(
        device=["tv", "web", "tv", "ios", "tv", "web", "tv", "ios"]
    )
    out = prep.ratings_to_interactions(ratings, event_value=True, keep=["device"], sort=True)
    assert list(out.columns) == ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_VALUE", "DEVICE"]
    assert out["EVENT_VALUE"].dtype == np.float32
    first = out.iloc[0]  # the earliest rating: user 3, movie 70, 0.5
    assert (first["USER_ID"], first["EVENT_VALUE"], first["DEVICE"]) == (3, 0.5, "tv")


def test_every_missing_column_is_reported_at_once() -> None:
    with pytest.raises(pk.ValidationError) as exc:
        prep.ratings_to_interactions(
            movielens_ratings(), user="user_id", item="item_id", min_rating=3
        )
    assert problem_rules(exc) == ["column-missing", "column-missing"]
    assert [p.column for p in exc.value.problems] == ["user_id", "item_id"]
    assert "userId" in str(exc.value)  # the columns that are there


def test_null_ids_and_timestamps_are_reported_with_rows() -> None:
    ratings = movielens_ratings().astype({"userId": "Int64"})
    ratings.loc[2, "userId"] = pd.NA
    ratings["timestamp"] = ratings["timestamp"].astype("float64")
    ratings.loc[5, "timestamp"] = np.nan
    with pytest.raises(pk.ValidationError) as exc:
        prep.ratings_to_interactions(ratings)
    assert sorted(problem_rules(exc)) == ["id-missing", "timestamp-missing"]
    by_rule = {p.rule: p for p in exc.value.problems}
    assert by_rule["timestamp-missing"].rows == (5,)
    assert by_rule["id-missing"].rows == (2,)


def test_problems_name_rows_of_the_input_not_of_the_filtered_sorted_output() -> None:
    ratings = movielens_ratings().astype({"userId": "Int64"})
    ratings.loc[7, "userId"] = pd.NA  # rating 4.5: kept, and 2nd once sorted by time
    with pytest.raises(pk.ValidationError) as exc:
        prep.ratings_to_interactions(ratings, min_rating=3.5)
    (problem,) = exc.value.problems
    assert (problem.rule, problem.rows) == ("id-missing", (7,))


def test_rows_keep_their_input_order_unless_sort_is_asked() -> None:
    ratings = movielens_ratings()
    out = prep.ratings_to_interactions(ratings)
    assert out["TIMESTAMP"].tolist() == ratings["timestamp"].tolist()
    assert not out["TIMESTAMP"].is_monotonic_increasing
    ordered = prep.ratings_to_interactions(ratings, sort=True)
    assert ordered["TIMESTAMP"].is_monotonic_increasing
    with pytest.raises(TypeError, match="sort takes True or False"):
        prep.ratings_to_interactions(ratings, sort="yes")  # type: ignore[arg-type]


ID_FLAVOURS: dict[str, Callable[[npt.NDArray[np.int64]], Any]] = {
    "int64": lambda v: v,
    "int32": lambda v: v.astype(np.int32),
    "uint64": lambda v: v.astype(np.uint64),
    "Int64": lambda v: pd.array(v, dtype="Int64"),
    "arrow-int": lambda v: pd.array(v, dtype=pd.ArrowDtype(pa.int64())),
    "float": lambda v: v.astype(np.float64),
    "str": lambda v: v.astype(str).astype(object),
}


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 2**31 - 1),
            st.integers(0, 30),
            st.sampled_from([0.5, 1.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, np.nan]),
            st.integers(946_684_800, 946_684_900),  # many ties within a second
        ),
        max_size=40,
    ),
    flavour=st.sampled_from(list(ID_FLAVOURS)),
    min_rating=st.one_of(st.none(), st.sampled_from([0.5, 3.5, 4.5])),
)
def test_ratings_to_interactions_keeps_rows_in_order_and_ids_as_given(
    rows: list[tuple[int, int, float, int]], flavour: str, min_rating: float | None
) -> None:
    users = np.array([r[0] for r in rows], dtype=np.int64)
    ratings = pd.DataFrame(
        {
            "userId": ID_FLAVOURS[flavour](users),
            "movieId": np.array([r[1] for r in rows], dtype=np.int64),
            "rating": np.array([r[2] for r in rows], dtype=np.float64),
            "timestamp": np.array([r[3] for r in rows], dtype=np.int64),
        }
    )
    kept = np.ones(len(rows), dtype=bool)
    if min_rating is not None:
        kept = ratings["rating"].to_numpy() >= min_rating
    out = prep.ratings_to_interactions(ratings, min_rating=min_rating)
    assert isinstance(out.index, pd.RangeIndex)
    # the kept rows, in input order
    assert out["TIMESTAMP"].tolist() == ratings["timestamp"][kept].tolist()
    assert out["ITEM_ID"].tolist() == ratings["movieId"][kept].tolist()
    integer = flavour not in ("float", "str")
    if integer:  # integers stay integers, with their values
        assert pd.api.types.is_integer_dtype(out["USER_ID"].dtype)
        assert [int(v) for v in out["USER_ID"]] == users[kept].tolist()
    else:  # others become their text; integral floats without ".0"
        assert is_text(out["USER_ID"])
        assert out["USER_ID"].tolist() == [str(v) for v in users[kept]]
    # string_ids: the digits of the same ids
    text = prep.ratings_to_interactions(ratings, min_rating=min_rating, string_ids=True)
    assert is_text(text["USER_ID"])
    assert is_text(text["ITEM_ID"])
    assert text["USER_ID"].tolist() == [str(v) for v in users[kept]]
    # sort: the same rows, stably sorted by time (ties in input order)
    ordered = prep.ratings_to_interactions(ratings, min_rating=min_rating, sort=True)
    expected = out.sort_values("TIMESTAMP", kind="stable", ignore_index=True)
    pd.testing.assert_frame_equal(ordered, expected)


def test_float_ids_from_a_csv_with_gaps_become_integer_strings() -> None:
    ratings = movielens_ratings().astype({"userId": "float64", "movieId": "float64"})
    out = prep.ratings_to_interactions(ratings)
    assert set(out["USER_ID"]) == {"1", "2", "3"}
    assert "101" in set(out["ITEM_ID"])


def test_ids_of_mixed_types_become_strings() -> None:
    ratings = movielens_ratings().astype({"movieId": object})
    ratings.loc[0, "movieId"] = "tt0114709"
    out = prep.ratings_to_interactions(ratings)
    assert set(out["ITEM_ID"]) >= {"tt0114709", "101"}
    assert is_text(out["ITEM_ID"])


def test_non_numeric_ratings_and_bad_callables_are_reported() -> None:
    ratings = movielens_ratings().astype({"rating": object})
    ratings.loc[3, "rating"] = "five stars"
    with pytest.raises(pk.ValidationError) as exc:
        prep.ratings_to_interactions(ratings, min_rating=3)
    (problem,) = exc.value.problems
    assert (problem.rule, problem.rows) == ("rating-not-numeric", (3,))
    with pytest.raises(pk.ValidationError, match="called once with the whole rating column"):
        prep.ratings_to_interactions(movielens_ratings(), event_type=lambda r: ["like", "watch"])


def test_keep_column_clashing_with_a_reserved_name_is_rejected() -> None:
    ratings = movielens_ratings().assign(event_type="click")
    with pytest.raises(pk.ValidationError) as exc:
        prep.ratings_to_interactions(ratings, event_type="Watch", keep=["event_type"])
    assert problem_rules(exc) == ["field-name-conflict"]


# ------------------------------------------------------------------ epoch seconds


@pytest.mark.parametrize(
    ("values", "unit"),
    [
        ([NEW_YEAR_2020], "auto"),
        ([NEW_YEAR_2020 * 1000 + 999], "auto"),  # ms, fraction floored
        ([NEW_YEAR_2020 * 10**6 + 5], "auto"),  # us
        ([NEW_YEAR_2020 * 10**9 + 999_999_999], "auto"),  # ns
        ([NEW_YEAR_2020 * 1000.0 + 123.0], "auto"),  # ms as float (JSON)
        ([NEW_YEAR_2020 * 1000], "ms"),
        ([NEW_YEAR_2020 * 10**6], "us"),
        ([NEW_YEAR_2020 * 10**9], "ns"),
        ([NEW_YEAR_2020 + 0.75], "s"),
        (["1577836800"], "auto"),  # digits read from a CSV as text
    ],
)
def test_epoch_seconds_of_numbers_in_every_unit(values: list[Any], unit: prep.Unit) -> None:
    assert prep.epoch_seconds(values, unit=unit).tolist() == [NEW_YEAR_2020]


@pytest.mark.parametrize(
    "text",
    [
        "2020-01-01T00:00:00Z",
        "2020-01-01T00:00:00.000Z",
        "2020-01-01T00:00:00+00:00",
        "2020-01-01T01:00:00+01:00",
        "2019-12-31T19:00:00-05:00",
        "2020-01-01 00:00:00",
        "2020-01-01",
    ],
)
def test_epoch_seconds_of_iso_strings(text: str) -> None:
    assert prep.epoch_seconds(pd.Series([text])).tolist() == [NEW_YEAR_2020]


def test_iso_strings_with_different_offsets_in_one_column() -> None:
    column = pd.Series(["2020-01-01T00:00:00Z", "2020-01-01T09:00:00+09:00", "2020-01-01"])
    assert prep.epoch_seconds(column).tolist() == [NEW_YEAR_2020] * 3


def test_format_reads_day_first_dates() -> None:
    out = prep.epoch_seconds(pd.Series(["01/02/2020", "31/12/2020"]), format="%d/%m/%Y")
    assert out.tolist() == [1_580_515_200, 1_609_372_800]


def test_epoch_seconds_of_datetimes() -> None:
    naive = pd.Series(pd.to_datetime(["2020-01-01 00:00:00.9"]))
    aware = naive.dt.floor("s").dt.tz_localize("UTC").dt.tz_convert("America/New_York")
    seconds_res = pd.Series(np.array(["2020-01-01"], dtype="datetime64[s]"))
    arrow_ts = pd.Series(pd.array([pd.Timestamp("2020-01-01", tz="UTC")])).astype(
        "timestamp[ms, tz=UTC][pyarrow]"
    )
    dates = pd.Series([dt.date(2020, 1, 1)])
    objects = pd.Series([dt.datetime(2020, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))])
    for values in (naive, aware, seconds_res, arrow_ts, dates, objects):
        assert prep.epoch_seconds(values).tolist() == [NEW_YEAR_2020], values.dtype
    chunked = pa.chunked_array([pa.array([dt.date(2020, 1, 1)], pa.date32())])
    assert prep.epoch_seconds(chunked).tolist() == [NEW_YEAR_2020]
    arrow_text = pa.array(["2020-01-01T00:00:00Z", None])
    out = prep.epoch_seconds(arrow_text, on_missing="keep")
    assert out.iloc[0] == NEW_YEAR_2020
    assert pd.isna(out.iloc[1])


def test_unknown_unit_is_rejected() -> None:
    with pytest.raises(pk.ValidationError, match="unit="):
        prep.epoch_seconds([1], unit="minutes")  # type: ignore[arg-type]


def test_epoch_seconds_keeps_index_and_name() -> None:
    values = pd.Series([NEW_YEAR_2020], index=[42], name="ts")
    out = prep.epoch_seconds(values)
    assert out.index.tolist() == [42]
    assert out.name == "ts"
    assert out.dtype == np.int64


def test_unparseable_strings_and_nulls_raise_with_example_rows() -> None:
    values = pd.Series(["2020-01-01", "not a date", None, "2020-13-45"], name="when")
    with pytest.raises(pk.ValidationError) as exc:
        prep.epoch_seconds(values)
    problems = {p.rule: p for p in exc.value.problems}
    assert set(problems) == {"timestamp-missing", "timestamp-unparseable"}
    assert problems["timestamp-unparseable"].rows == (1, 3)
    assert "'not a date'" in problems["timestamp-unparseable"].values
    assert problems["timestamp-missing"].rows == (2,)
    assert problems["timestamp-missing"].column == "when"


def test_nulls_kept_and_invalid_coerced_give_nullable_int64() -> None:
    values = pd.Series(["2020-01-01", "garbage", None])
    out = prep.epoch_seconds(values, on_missing="keep", on_invalid="null")
    assert str(out.dtype) == "Int64"
    assert out.isna().tolist() == [False, True, True]
    assert out.iloc[0] == NEW_YEAR_2020
    with pytest.raises(pk.ValidationError, match="timestamp-unparseable"):
        prep.epoch_seconds(values, on_missing="keep")


def test_booleans_are_not_timestamps() -> None:
    with pytest.raises(pk.ValidationError, match="timestamp-type"):
        prep.epoch_seconds(pd.Series([True, False]))


def test_auto_unit_warns_when_a_column_mixes_magnitudes() -> None:
    with pytest.warns(UserWarning, match="several magnitudes"):
        out = prep.epoch_seconds([NEW_YEAR_2020, NEW_YEAR_2020 * 1000])
    assert out.tolist() == [NEW_YEAR_2020, NEW_YEAR_2020]
    # just above the largest number of seconds: milliseconds, fractions included
    with pytest.warns(UserWarning, match="several magnitudes"):
        out = prep.epoch_seconds([1.6e9, 100_000_000_000.5, -100_000_000_000.5])
    assert out.tolist() == [1_600_000_000, 100_000_000, -100_000_001]


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: dt.timezone(dt.timedelta(minutes=m))
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.datetimes(
            min_value=dt.datetime(1970, 1, 2),
            max_value=dt.datetime(2200, 1, 1),
            timezones=st.just(UTC) | offsets,
        ),
        min_size=1,
        max_size=20,
    )
)
def test_epoch_seconds_equals_python_timestamp(datetimes: list[dt.datetime]) -> None:
    out = prep.epoch_seconds(pd.Series(datetimes, dtype=object))
    assert out.tolist() == [int(d.timestamp()) for d in datetimes]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.datetimes(min_value=dt.datetime(1800, 1, 1), max_value=dt.datetime(2200, 1, 1)),
        min_size=1,
        max_size=20,
    )
)
def test_naive_datetimes_are_utc_and_fractions_floor(datetimes: list[dt.datetime]) -> None:
    out = prep.epoch_seconds(pd.Series(pd.to_datetime(datetimes)))
    exact = [(d.replace(tzinfo=UTC) - EPOCH) // dt.timedelta(seconds=1) for d in datetimes]
    assert out.tolist() == exact


# ------------------------------------------------------------------ multi-value


def test_join_multi_value_from_lists_sets_and_joined_strings() -> None:
    values = pd.Series(
        [
            ["Drama", " Crime ", "Drama", ""],
            ("Action",),
            np.array(["Sci-Fi", "Thriller"]),
            {"Western", "Comedy"},  # no order: sorted
            "Adventure|Animation||Children|Adventure",
            ["Rock|Pop"],  # a bar inside one value would split it
            [],
            None,
        ]
    )
    out = prep.join_multi_value(values)
    assert out.iloc[:6].tolist() == [
        "Drama|Crime",
        "Action",
        "Sci-Fi|Thriller",
        "Comedy|Western",
        "Adventure|Animation|Children",
        "Rock Pop",
    ]
    assert out.iloc[6:].isna().all()
    assert is_text(out)


def test_join_multi_value_splits_on_another_separator_and_reads_arrow_lists() -> None:
    assert prep.join_multi_value(pd.Series(["Action, Crime"]), sep=",").tolist() == ["Action|Crime"]
    lists = pa.array([["a", "b", "a"], None, ["c", None]])
    assert prep.join_multi_value(lists).tolist()[::2] == ["a|b", "c"]
    series = pd.Series(lists.to_pylist(), dtype=pd.ArrowDtype(pa.list_(pa.string())))
    assert prep.join_multi_value(series).iloc[0] == "a|b"


def test_joined_values_over_1000_characters_raise_or_truncate() -> None:
    long = "|".join(f"tag{i:04d}" for i in range(200))  # 1,599 characters
    values = pd.Series(["short", long], name="tags")
    with pytest.raises(pk.ValidationError) as exc:
        prep.join_multi_value(values)
    (problem,) = exc.value.problems
    assert (problem.rule, problem.column, problem.rows) == ("multi-value-too-long", "tags", (1,))
    cut = prep.join_multi_value(values, on_too_long="truncate")
    assert cut.iloc[0] == "short"
    assert len(cut.iloc[1]) <= 1000
    kept = cut.iloc[1].split("|")
    assert kept == [f"tag{i:04d}" for i in range(len(kept))]  # whole values, in order
    assert len(cut.iloc[1]) + len("|tag0000") > 1000  # as many as fit


parts = st.text(alphabet=st.sampled_from("ab |xyz-é"), max_size=6)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(parts, max_size=8), min_size=1, max_size=10))
def test_join_multi_value_round_trips(rows: list[list[str]]) -> None:
    out = prep.join_multi_value(pd.Series(rows, dtype=object), max_chars=None)
    for row, joined in zip(rows, out, strict=True):
        cleaned = [v.replace("|", " ").strip() for v in row]
        expected = list(dict.fromkeys(v for v in cleaned if v))
        if expected:
            assert joined.split("|") == expected
        else:
            assert pd.isna(joined)


def test_aggregate_tags_per_movie() -> None:
    tags = pd.DataFrame(
        {
            "userId": [2, 2, 7, 9, 9, 4],
            "movieId": [60756, 60756, 89774, 60756, 89774, 60756],
            "tag": ["funny", "Highly quotable", "Boxing story", "funny ", "MMA", "will ferrell"],
        }
    )
    out = prep.aggregate_multi_value(tags, "movieId", "tag")
    assert out["movieId"].tolist() == [60756, 89774]
    assert out["tag"].tolist() == ["funny|Highly quotable|will ferrell", "Boxing story|MMA"]
    top = prep.aggregate_multi_value(tags, "movieId", "tag", top=1)
    assert top["tag"].tolist() == ["funny", "Boxing story"]  # most frequent, then first seen


def test_aggregate_too_long_names_the_key() -> None:
    tags = pd.DataFrame(
        {"movieId": [1] * 300 + [2], "tag": [f"tag number {i}" for i in range(301)]}
    )
    with pytest.raises(pk.ValidationError) as exc:
        prep.aggregate_multi_value(tags, "movieId", "tag")
    (problem,) = exc.value.problems
    assert problem.rule == "multi-value-too-long"
    assert problem.values == ("1",)  # the movieId
    assert "top=" in (problem.fix or "")


# ------------------------------------------------------------------ booleans


def test_booleans_become_true_false_strings_and_nulls_stay_null() -> None:
    assert prep.booleans(pd.Series([True, False])).tolist() == ["True", "False"]
    nullable = prep.booleans(pd.Series([True, None, False], dtype="boolean"))
    assert nullable.iloc[0] == "True"
    assert pd.isna(nullable.iloc[1])
    mixed = prep.booleans(pd.Series([True, None, "false"], dtype=object))
    assert mixed.iloc[2] == "False"
    assert pd.isna(mixed.iloc[1])
    arrow = prep.booleans(pd.Series([False, None], dtype="bool[pyarrow]"))
    assert arrow.iloc[0] == "False"
    assert pd.isna(arrow.iloc[1])
    assert prep.booleans(pd.Series([True, False]), to="int").tolist() == [1, 0]


def test_booleans_of_a_frame_convert_only_boolean_columns() -> None:
    frame = pd.DataFrame({"adult": [True, False], "year": [1995, 1996], "title": ["a", "b"]})
    out = prep.booleans(frame)
    assert out["adult"].tolist() == ["True", "False"]
    assert out["year"].tolist() == [1995, 1996]
    assert frame["adult"].dtype == bool  # input untouched


def test_booleans_reject_other_values() -> None:
    with pytest.raises(pk.ValidationError) as exc:
        prep.booleans(pd.DataFrame({"flag": [1, 0, 2]}), columns=["flag"])
    assert problem_rules(exc) == ["not-boolean"]
    with pytest.raises(pk.ValidationError) as exc:
        prep.booleans(pd.Series([True, 1, "yes", None], dtype=object, name="ok"))
    (problem,) = exc.value.problems
    assert (problem.column, problem.rows) == ("ok", (1, 2))


# ------------------------------------------------------------------ missing values


def test_fill_missing_drops_fills_and_keeps() -> None:
    users = pd.DataFrame(
        {
            "user_id": ["1", None, "3", "4"],
            "age": [31, 40, None, None],
            "plan": ["a", None, None, "b"],
        }
    )
    out = prep.fill_missing(users, {"user_id": "drop", "age": -1, "plan": "keep"})
    assert out.index.tolist() == [0, 2, 3]
    assert out["age"].tolist() == [31, -1, -1]
    assert out["plan"].isna().tolist() == [False, True, False]
    assert users["age"].isna().sum() == 2  # input untouched


def test_required_fields_cannot_stay_null() -> None:
    frame = pd.DataFrame({"customer": ["1", None], "plan": ["a", "b"]})
    with pytest.raises(pk.ValidationError) as exc:
        prep.fill_missing(frame, {"customer": "keep"}, dataset_type="users")
    (problem,) = exc.value.problems
    assert (problem.rule, problem.column, problem.rows) == ("required-field-null", "customer", (1,))
    with pytest.raises(pk.ValidationError, match="required-field-null"):
        prep.fill_missing(pd.DataFrame({"ITEM_ID": [None, "2"]}), {})
    with pytest.raises(pk.ValidationError, match="column-missing"):
        prep.fill_missing(frame, {"nope": "drop"})


# ------------------------------------------------------------------ names


def test_rename_reserved_uses_schema_recognition() -> None:
    out = prep.rename_reserved(movielens_ratings())
    assert list(out.columns) == ["USER_ID", "ITEM_ID", "RATING", "TIMESTAMP"]
    catalogue = pd.DataFrame({"sku": ["a"], "createdAt": [1], "releaseYear": [1995]})
    assert list(prep.rename_reserved(catalogue, "items").columns) == [
        "ITEM_ID",
        "CREATION_TIMESTAMP",
        "RELEASE_YEAR",
    ]
    explicit = prep.rename_reserved(catalogue, "items", columns={"releaseYear": "YEAR"})
    assert list(explicit.columns)[-1] == "YEAR"
    with pytest.raises(pk.ValidationError, match="field-name-conflict"):
        prep.rename_reserved(
            pd.DataFrame({"user_id": [1], "genre": ["x"], "GENRE": ["y"]}), "users"
        )


# ------------------------------------------------------------------ items and users


@pytest.mark.parametrize("flavour", list(FLAVOURS))
def test_movies_become_items(flavour: str) -> None:
    data = movies()
    data.loc[0, "genres"] = " Adventure|Animation||Children|Adventure"
    out = prep.items(FLAVOURS[flavour](data), item="movieId", multi_value={"genres": "|"})
    assert list(out.columns) == ["ITEM_ID", "TITLE", "GENRES"]
    assert out["ITEM_ID"].tolist() == ["1", "2", "3"]
    assert out["GENRES"].tolist() == [
        "Adventure|Animation|Children",
        "Adventure|Children|Fantasy",
        "Comedy|Romance",
    ]
    assert is_text(out["ITEM_ID"])
    schema = pk.Schema.infer(out, "items")
    assert schema["GENRES"].categorical


def test_items_convert_lists_booleans_and_dates() -> None:
    catalogue = pd.DataFrame(
        {
            "item_id": [10, 11],
            "keywords": [["toys", "pixar", "toys"], []],
            "adult": [False, True],
            "release_date": pd.to_datetime(["2020-01-01", None]).tz_localize("UTC"),
            "updated": pd.to_datetime(["2020-01-01", "2020-01-02"]),
            "description": ["A cowboy doll\nis threatened by a spaceman.", None],
        }
    )
    out = prep.items(catalogue, textual="description")
    assert list(out.columns) == [
        "ITEM_ID",
        "KEYWORDS",
        "ADULT",
        "CREATION_TIMESTAMP",
        "UPDATED",
        "DESCRIPTION",
    ]
    assert out["KEYWORDS"].iloc[0] == "toys|pixar"
    assert pd.isna(out["KEYWORDS"].iloc[1])
    assert out["ADULT"].tolist() == ["False", "True"]
    assert out["CREATION_TIMESTAMP"].iloc[0] == NEW_YEAR_2020
    assert pd.isna(out["CREATION_TIMESTAMP"].iloc[1])  # optional in custom Items
    assert out["UPDATED"].tolist() == [NEW_YEAR_2020, NEW_YEAR_2020 + 86400]
    assert out["DESCRIPTION"].iloc[0] == "A cowboy doll is threatened by a spaceman."
    schema = pk.Schema.infer(out, "items", textual="DESCRIPTION")
    assert schema.check().ok
    assert schema["CREATION_TIMESTAMP"].type == "long"
    assert prep.items(catalogue, creation_timestamp=False).columns[3] == "RELEASE_DATE"


def test_arrow_integers_with_nulls_stay_integers() -> None:
    table = pa.table({"item_id": [1, 2], "year": pa.array([1995, None], pa.int64())})
    out = prep.items(table)
    assert str(out["YEAR"].dtype) == "Int64"
    assert pk.Schema.infer(out, "items")["YEAR"].type == "long"  # not a double


def test_textual_values_personalize_would_truncate_are_named() -> None:
    catalogue = pd.DataFrame({"item_id": [1, 2], "text": ["short", "word " * 4001]})
    with pytest.warns(UserWarning, match=r"truncates them \(rows \[1\]\)"):
        prep.items(catalogue, textual="text")


def test_repeated_item_ids_keep_the_last_record_with_a_warning() -> None:
    catalogue = pd.DataFrame({"item_id": [1, 2, 1], "price": [9.0, 5.0, 7.5]})
    with pytest.warns(UserWarning, match="kept the last record"):
        out = prep.items(catalogue)
    assert out.set_index("ITEM_ID")["PRICE"].to_dict() == {"2": 5.0, "1": 7.5}


def test_items_without_an_id_column_say_how_to_name_it() -> None:
    with pytest.raises(pk.ValidationError, match="item='yourIdColumn'"):
        prep.items(pd.DataFrame({"code": [1], "name": ["x"]}))


def test_users_recognise_the_id_and_convert_metadata() -> None:
    people = pd.DataFrame(
        {
            "customer_id": [7, 8],
            "plan": ["free", "pro"],
            "newsletter": [True, False],
            "interests": ["golf|tennis", "chess"],
        }
    )
    out = prep.users(people, multi_value=["interests"], drop=["plan"])
    assert list(out.columns) == ["USER_ID", "NEWSLETTER", "INTERESTS"]
    assert out["USER_ID"].tolist() == ["7", "8"]
    assert out["NEWSLETTER"].tolist() == ["True", "False"]
    assert pk.Schema.infer(out, "users").check().ok


# ------------------------------------------------------------------ joins


def test_items_from_joins_movies_links_and_aggregated_tags() -> None:
    links = pd.DataFrame({"movieId": ["3", "1"], "imdbId": ["0113228", "0114709"]})
    tags = pd.DataFrame({"movieId": [1, 1, 3], "tag": ["pixar", "fun", "moldy"]})
    out = prep.items_from(
        movies(),
        links,
        prep.aggregate_multi_value(tags, "movieId", "tag"),
        item="movieId",
        multi_value=["genres"],
    )
    assert list(out.columns) == ["ITEM_ID", "TITLE", "GENRES", "IMDB_ID", "TAG"]
    assert out["ITEM_ID"].tolist() == ["1", "2", "3"]  # left join: every movie, in order
    assert out["IMDB_ID"].tolist()[::2] == ["0114709", "0113228"]
    assert out["TAG"].iloc[0] == "pixar|fun"
    assert pd.isna(out["TAG"].iloc[1])
    inner = prep.items_from(movies(), links, how="inner")
    assert inner["ITEM_ID"].tolist() == ["1", "3"]


def test_items_from_a_duplicated_key_raises_naming_key_and_rows() -> None:
    tags = pd.DataFrame({"movieId": [1, 1, 3], "tag": ["pixar", "fun", "moldy"]})
    with pytest.raises(pk.ValidationError) as exc:
        prep.items_from(movies(), tags, item="movieId")
    (problem,) = exc.value.problems
    assert problem.rule == "join-key-duplicated"
    assert problem.column == "movieId"
    assert problem.rows == (0, 1)
    assert "table 1" in problem.message
    assert "aggregate_multi_value" in (problem.fix or "")


def test_items_from_a_missing_key_or_a_repeated_column_raises() -> None:
    with pytest.raises(pk.ValidationError) as exc:
        prep.items_from(movies(), pd.DataFrame({"id": [1], "x": [2]}), item="movieId")
    assert problem_rules(exc) == ["join-key-missing"]
    with pytest.raises(pk.ValidationError) as exc:
        prep.items_from(movies(), pd.DataFrame({"movieId": [1], "Title": ["x"]}))
    assert problem_rules(exc) == ["join-column-conflict"]


def test_a_left_join_keeps_integer_columns_integer() -> None:
    years = pd.DataFrame({"movieId": [1, 3], "year": [1995, 1995]})
    out = prep.items_from(movies(), years)
    assert str(out["YEAR"].dtype) == "Int64"  # not float64 with 1995.0
    assert out["YEAR"].isna().tolist() == [False, True, False]
    assert pk.Schema.infer(out, "items")["YEAR"].type == "long"


def test_frames_with_a_repeated_index_work() -> None:
    ratings = movielens_ratings().set_axis([0, 0, 1, 1, 2, 2, 3, 3])
    ratings["timestamp"] = pd.to_datetime(ratings["timestamp"], unit="s").dt.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    out = prep.ratings_to_interactions(ratings, min_rating=3.5)
    expected = prep.ratings_to_interactions(movielens_ratings(), min_rating=3.5)
    pd.testing.assert_frame_equal(out, expected)
    catalogue = movies().set_axis([7, 7, 7])
    assert prep.items(catalogue, multi_value=["genres"])["ITEM_ID"].tolist() == ["1", "2", "3"]


def test_users_from_recognises_each_tables_key() -> None:
    crm = pd.DataFrame({"customer_id": [1, 2], "plan": ["free", "pro"]})
    web = pd.DataFrame({"user_id": ["2"], "device": ["ios"]})
    out = prep.users_from(crm, web)
    assert out["DEVICE"].isna().tolist() == [True, False]


# ------------------------------------------------------------------ inputs are never changed


def test_no_function_changes_its_input() -> None:
    ratings = movielens_ratings().assign(flag=[True, False] * 4)
    catalogue = movies().assign(kids=[True, True, False], tags=[["a", "b"], [], None])
    tags = pd.DataFrame({"movieId": [1, 1], "tag": ["x", "y"]})
    originals = [f.copy(deep=True) for f in (ratings, catalogue, tags)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prep.ratings_to_interactions(ratings, min_rating=3, event_value=True, keep=["flag"])
        prep.items(catalogue, multi_value={"genres": "|"})
        prep.items_from(catalogue, prep.aggregate_multi_value(tags, "movieId", "tag"))
        prep.booleans(ratings)
        prep.fill_missing(catalogue, {"tags": "drop"})
        prep.rename_reserved(ratings)
        prep.epoch_seconds(ratings["timestamp"])
        prep.join_multi_value(catalogue["tags"])
    for original, after in zip(originals, (ratings, catalogue, tags), strict=True):
        pd.testing.assert_frame_equal(original, after)


@pytest.mark.skipif(int(pd.__version__.split(".")[0]) < 3, reason="reprs of pandas 3")
def test_docstring_examples_run() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an example must not warn
        results = [
            doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
            for module in (prep, *_submodules(prep))
        ]
    assert sum(r.attempted for r in results) > 10
    assert sum(r.failed for r in results) == 0


def _submodules(package: ModuleType) -> list[ModuleType]:
    """The modules of a package (``pk.prep`` defines its functions in submodules)."""
    return [
        importlib.import_module(f"{package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
    ]
