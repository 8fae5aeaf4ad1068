"""Personalize-ready CSV: header, conversions, quoting, streaming, result, atomic writes."""

from __future__ import annotations

import calendar
import hashlib
import io
import math
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import personakit as pk
from personakit.rules.writer import _csv_bytes, _render, prepare_table, write_csv

# The reader docs/csv.md documents for files written by write_csv.
READ_OPTIONS: dict[str, object] = {
    "dtype": str,
    "keep_default_na": False,
    "na_values": [""],
    "escapechar": "\\",
    "doublequote": False,
    "encoding": "utf-8",
}


def read_back(data: bytes) -> pd.DataFrame:
    frame: pd.DataFrame = pd.read_csv(io.BytesIO(data), **READ_OPTIONS)  # type: ignore[call-overload]
    return frame


def csv_bytes(data: object, schema: pk.Schema | None = None, **kwargs: object) -> bytes:
    sink = io.BytesIO()
    write_csv(data, sink, schema, **kwargs)  # type: ignore[arg-type]
    return sink.getvalue()


def lines(data: bytes) -> list[str]:
    return data.decode("utf-8").split("\n")


def interactions_schema() -> pk.Schema:
    return pk.Schema(
        "interactions",
        [
            pk.Field("USER_ID", "string", source="user"),
            pk.Field("ITEM_ID", "string", source="item"),
            pk.Field("TIMESTAMP", "long", source="ts"),
            pk.Field("EVENT_TYPE", "string", nullable=True, source="event"),
            pk.Field("EVENT_VALUE", "float", nullable=True, source="value"),
        ],
    )


def interactions(n: int = 100) -> pd.DataFrame:
    """A frame that exercises every path: int and string ids, floats with NaN,
    datetimes, and a few event names with commas and quotes (the quoting path)."""
    rng = np.random.default_rng(7)
    events = np.array(["click", "view", 'buy "now"', "a,b", "back\\slash", "multi\nline"])
    value = rng.normal(size=n)
    value[::9] = np.nan
    return pd.DataFrame(
        {
            "user": rng.integers(0, 20, n),
            "item": [f"item-{i}" for i in rng.integers(0, 30, n)],
            "ts": pd.to_datetime(1_600_000_000 + rng.integers(0, 10**7, n), unit="s"),
            "event": np.where(rng.random(n) < 0.15, events[rng.integers(2, 6, n)], events[0]),
            "value": value,
            "ignored": rng.random(n),
        }
    )


# --------------------------------------------------------------------------- header


def test_header_follows_schema_order_unquoted_and_reads_field_sources() -> None:
    frame = pd.DataFrame({"ts": [1_600_000_000], "item": ["i1"], "user": ["u1"], "x": [1]})
    schema = pk.Schema(
        "interactions",
        [
            pk.Field("USER_ID", "string", source="user"),
            pk.Field("ITEM_ID", "string", source="item"),
            pk.Field("TIMESTAMP", "long", source="ts"),
        ],
    )
    out = lines(csv_bytes(frame, schema))
    assert out[0] == "USER_ID,ITEM_ID,TIMESTAMP"  # no quotes, schema order, no extra column
    assert out[1] == "u1,i1,1600000000"
    assert out[2:] == [""]  # one LF per row, no CR


def test_inferred_schema_names_the_header() -> None:
    frame = pd.DataFrame({"userId": [1, 2], "movieId": [10, 20], "timestamp": [5, 6]})
    out = lines(csv_bytes(frame))
    assert out[:3] == ["USER_ID,ITEM_ID,TIMESTAMP", "1,10,5", "2,20,6"]


# --------------------------------------------------------------------------- conversions


def test_naive_and_aware_datetimes_become_utc_epoch_seconds() -> None:
    wall = "2021-03-04 05:06:07"
    naive_s = calendar.timegm((2021, 3, 4, 5, 6, 7))
    frame = pd.DataFrame(
        {
            "user": ["u"] * 3,
            "item": ["i"] * 3,
            "naive": pd.to_datetime([wall, wall, "1969-12-31 23:59:59.250"], format="ISO8601"),
            "paris": pd.to_datetime([wall] * 3).tz_localize("Europe/Paris"),
            "ny_ms": pd.to_datetime([wall] * 3)
            .tz_localize("America/New_York")
            .astype("datetime64[ms, America/New_York]"),
            "day": [pd.Timestamp("2021-03-04").date()] * 3,
        }
    )
    schema = pk.Schema(
        "interactions",
        [
            pk.Field("USER_ID", "string", source="user"),
            pk.Field("ITEM_ID", "string", source="item"),
            pk.Field("TIMESTAMP", "long", source="naive"),
            pk.Field("PARIS", "long", source="paris"),
            pk.Field("NY", "long", source="ny_ms"),
            pk.Field("DAY", "long", source="day"),
        ],
    )
    rows = [line.split(",") for line in lines(csv_bytes(frame, schema))[1:4]]
    assert rows[0][2:] == [
        str(naive_s),  # naive: taken as UTC
        str(naive_s - 3600),  # Paris is UTC+1 in March
        str(naive_s + 5 * 3600),  # New York is UTC-5 before DST
        str(calendar.timegm((2021, 3, 4, 0, 0, 0))),
    ]
    assert rows[2][2] == "-1"  # floored, not truncated towards zero


def test_float_ids_and_long_fields_with_nan_are_written_without_decimals() -> None:
    frame = pd.DataFrame(
        {
            "user": [1.0, np.nan, 123456789.0, 1e17],
            "item": ["a", "b", "c", "d"],
            "ts": [1.6e9, 1.6e9 + 1, np.nan, 1.6e9 + 3],
            "views": pd.array([3, None, 5, 6], dtype="Int64"),
        }
    )
    schema = pk.Schema(
        "interactions",
        [
            pk.Field("USER_ID", "string", nullable=True, source="user"),
            pk.Field("ITEM_ID", "string", source="item"),
            pk.Field("TIMESTAMP", "long", nullable=True, source="ts"),
            pk.Field("VIEWS", "long", nullable=True, source="views"),
        ],
    )
    data = csv_bytes(frame, schema)
    assert lines(data)[1:5] == [
        "1,a,1600000000,3",
        ",b,1600000001,",
        "123456789,c,,5",
        "100000000000000000,d,1600000003,6",
    ]
    assert b".0" not in data
    assert b"nan" not in data.lower()


def test_fractions_in_a_long_field_raise_naming_column_and_row(tmp_path: Path) -> None:
    frame = pd.DataFrame({"user": ["u"] * 3, "item": ["i"] * 3, "ts": [1.0, 2.5, 3.0]})
    schema = interactions_schema()
    schema = pk.Schema("interactions", schema.fields[:3])
    with pytest.raises(pk.ValidationError, match="'ts'") as err:
        write_csv(frame, tmp_path / "x.csv", schema, chunk_rows=2)
    (problem,) = err.value.problems
    assert problem.column == "ts"
    assert problem.rows == (1,)
    assert list(tmp_path.iterdir()) == []


def test_lists_are_pipe_joined_dropping_null_elements() -> None:
    table = pa.table(
        {
            "item": ["i1", "i2", "i3", "i4"],
            "genres": pa.array([["Action", "Crime"], ["Drama", None, "War"], None, []]),
            "sizes": pa.array([[1, 2], [3], None, [4]], pa.list_(pa.int64())),
        }
    )
    schema = pk.Schema(
        "items",
        [
            pk.Field("ITEM_ID", "string", source="item"),
            pk.Field("GENRES", "string", nullable=True, categorical=True, source="genres"),
            pk.Field("SIZES", "string", nullable=True, categorical=True, source="sizes"),
        ],
    )
    data = csv_bytes(table, schema)
    assert csv_bytes(table, schema, chunk_rows=1) == data
    assert lines(data)[1:5] == [
        "i1,Action|Crime,1|2",
        "i2,Drama|War,3",
        "i3,,",
        "i4,,4",
    ]


def test_booleans_in_string_fields_are_True_False_and_dictionaries_decoded() -> None:
    frame = pd.DataFrame(
        {
            "user": ["u1", "u2", "u3"],
            "premium": [True, False, True],
            "plan": pd.Categorical(["gold", "silver, plus", "gold"]),
        }
    )
    schema = pk.Schema(
        "users",
        [
            pk.Field("USER_ID", "string", source="user"),
            pk.Field("PREMIUM", "string", categorical=True, source="premium"),
            pk.Field("PLAN", "string", categorical=True, source="plan"),
        ],
    )
    assert lines(csv_bytes(frame, schema))[1:4] == [
        "u1,True,gold",
        'u2,False,"silver, plus"',
        "u3,True,gold",
    ]


def test_floats_are_written_to_read_back_exactly() -> None:
    values = [0.1, 1 / 3, 1e22, -2.5e-300, 123.0, np.nan, 5e-324, 2**53 + 1.0]
    frame = pd.DataFrame({"item": [str(i) for i in range(len(values))], "price": values})
    schema = pk.Schema(
        "items",
        [
            pk.Field("ITEM_ID", "string", source="item"),
            pk.Field("PRICE", "double", nullable=True, source="price"),
        ],
    )
    back = read_back(csv_bytes(frame, schema))
    for text, value in zip(back["PRICE"], values, strict=True):
        if math.isnan(value):
            assert pd.isna(text)
        else:
            assert float(text) == value


def test_prepare_table_returns_typed_fields_in_schema_order() -> None:
    frame = interactions(10)
    table = prepare_table(pa.Table.from_pandas(frame), interactions_schema())
    assert table.column_names == ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE"]
    assert table.schema.types == [pa.string(), pa.string(), pa.int64(), pa.string(), pa.float64()]
    assert table["USER_ID"].to_pylist() == [str(u) for u in frame["user"]]
    assert (
        table["TIMESTAMP"].to_pylist()
        == frame["ts"].astype("datetime64[s]").astype("int64").tolist()
    )
    assert table["EVENT_VALUE"].null_count == int(frame["value"].isna().sum())


def _one_field(array: pa.Array[Any], avro: str) -> tuple[pa.Table, pk.Schema]:
    table = pa.table({"id": [f"i{i}" for i in range(len(array))], "v": array})
    schema = pk.Schema(
        "items",
        [
            pk.Field("ITEM_ID", "string", source="id"),
            pk.Field("V", avro, nullable=True, source="v"),
        ],
    )
    return table, schema


@pytest.mark.parametrize(
    ("array", "avro", "expected"),
    [
        (pa.array([1.5, float("nan"), None]), "double", ["1.5", "", ""]),
        (pa.array([7.0, float("nan"), 2.5, -0.0]), "string", ["7", "", "2.5", "0"]),
        (pa.array([3.0, float("nan")], pa.float32()), "long", ["3", ""]),
        (pa.array([0.1, 2.0], pa.float32()), "float", ["0.1", "2"]),
        (pa.array(["a", None], pa.string_view()), "string", ["a", ""]),
        (pa.array(["a", "b,c"], pa.large_string()), "string", ["a", '"b,c"']),
        (pa.array([86_400_000, -1], pa.date64()), "long", ["86400", "-1"]),
        (pa.array([5, -5], pa.timestamp("s")), "long", ["5", "-5"]),
        (pa.array([1_500_000, -1_500_000], pa.timestamp("us", "UTC")), "long", ["1", "-2"]),
        (pa.array([1_500_000_000_000], pa.timestamp("ms")), "float", ["1500000000"]),
        (pa.array([0], pa.timestamp("s")), "string", ["0"]),
        (pa.array([Decimal("1.50"), None]), "double", ["1.5", ""]),
        (pa.array([Decimal("12"), None]), "long", ["12", ""]),
        (pa.array([Decimal("3.25")]), "string", ["3.25"]),
        (pa.array(["12", None]), "long", ["12", ""]),
        (pa.array(["2.5", "nan"]), "float", ["2.5", ""]),
        (pa.array([True, False]), "long", ["1", "0"]),
        (pa.array([True, None]), "double", ["1", ""]),
        (pa.array([True, None]), "boolean", ["true", ""]),
        (pa.array(["true", "0"]), "boolean", ["true", "false"]),
        (pa.array([1, 0], pa.int8()), "boolean", ["true", "false"]),
        (pa.array([10, None], pa.int8()), "float", ["10", ""]),
        (pa.array([[1.5, 2.0]]), "string", ["1.5|2"]),
        (pa.array([["a", None]], pa.large_list(pa.string())), "string", ["a"]),
        (
            pa.array([["x", "y"]], pa.list_(pa.dictionary(pa.int8(), pa.string()))),
            "string",
            ["x|y"],
        ),
        (pa.nulls(2), "long", ["", ""]),
    ],
)
def test_conversion_table(array: pa.Array[Any], avro: str, expected: list[str]) -> None:
    table, schema = _one_field(array, avro)
    out = [line.split(",", 1)[1] for line in lines(csv_bytes(table, schema))[1:-1]]
    assert out == expected
    prepared = prepare_table(table, schema).column("V")
    want = {"string": pa.string(), "long": pa.int64(), "boolean": pa.bool_()}.get(avro)
    assert want is None or prepared.type == want


@pytest.mark.parametrize(
    ("array", "avro", "rule", "rows"),
    [
        (pa.array(["12", "x", None, "y"]), "long", "value-type", (1, 3)),
        (pa.array([2**64 - 1], pa.uint64()), "long", "value-type", (0,)),
        (pa.array([1.0, float("inf"), 2.5]), "long", "value-type", (1, 2)),
        (pa.array(["1.5", "abc"]), "double", "value-type", (1,)),
        (pa.array([1.0, None, float("-inf")]), "float", "value-type", (2,)),
        (pa.array([b"x"]), "string", "column-type", ()),
        (pa.array([{"a": 1}]), "string", "column-type", ()),
        (pa.array([[{"a": 1}]]), "string", "column-type", ()),
        (pa.array([b"x"]), "long", "column-type", ()),
        (pa.array([b"x"]), "double", "column-type", ()),
        (pa.array([1.5]), "boolean", "column-type", ()),
    ],
)
def test_values_that_cannot_take_the_field_type_raise(
    array: pa.Array[Any], avro: str, rule: str, rows: tuple[int, ...]
) -> None:
    table, schema = _one_field(array, avro)
    with pytest.raises(pk.ValidationError, match="'v'") as err:
        csv_bytes(table, schema)
    (problem,) = err.value.problems
    assert (problem.rule, problem.column, problem.rows) == (rule, "v", rows)


# --------------------------------------------------------------------------- quoting


def test_textual_values_are_quoted_backslash_escaped_and_read_back() -> None:
    text = 'He said "hi, there"\nthen left C:\\temp\\ \\"ok\\"\r\nend'
    frame = pd.DataFrame({"item": ["i1", "i2"], "desc": [text, "plain words"]})
    schema = pk.Schema(
        "items",
        [
            pk.Field("ITEM_ID", "string", source="item"),
            pk.Field("DESCRIPTION", "string", textual=True, source="desc"),
        ],
    )
    data = csv_bytes(frame, schema)
    assert lines(data)[1:3] == [
        r'i1,"He said \"hi, there\" then left C:\\temp\\ \\\"ok\\\" end"',
        'i2,"plain words"',  # textual values are always wrapped in double quotes
    ]
    back = read_back(data)
    assert back["DESCRIPTION"].tolist() == [
        'He said "hi, there" then left C:\\temp\\ \\"ok\\" end',  # line breaks -> spaces
        "plain words",
    ]


def test_categorical_values_needing_quotes_round_trip_losslessly() -> None:
    values = ["a,b", 'say "x"', "ends\\", "two\nlines", "plain"]
    frame = pd.DataFrame({"item": list("abcde"), "cat": values})
    schema = pk.Schema(
        "items",
        [
            pk.Field("ITEM_ID", "string", source="item"),
            pk.Field("CAT", "string", categorical=True, source="cat"),
        ],
    )
    data = csv_bytes(frame, schema)
    assert b'\na,"a,b"\n' in data
    assert b'\nb,"say \\"x\\""\n' in data
    assert b'\nc,"ends\\\\"\n' in data
    assert b"\ne,plain\n" in data  # bare when nothing needs quoting
    assert read_back(data)["CAT"].tolist() == values


def test_quoting_path_and_pyarrow_writer_give_the_same_bytes() -> None:
    table = pa.table(
        {
            "s": pa.array(["a", None, "", "ünï", "x y"]),
            "i": pa.array([1, -2, None, 2**62, 0], pa.int64()),
            "u": pa.array([0, 1, 2, 2**63 - 1, None], pa.uint64()),
            "f": pa.array([0.1, 1e22, None, -0.0, 1 / 3]),
            "f32": pa.array([0.1, 1.5, None, 3e38, -1e-30], pa.float32()),
            "b": pa.array([True, False, None, True, False]),
            "n": pa.nulls(5),
            "d": pa.array(["x", "y", None, "x", "y"]).dictionary_encode(),
        }
    )
    types = {"s": "string", "i": "long", "u": "long", "f": "double", "f32": "float"}
    types |= {"b": "boolean", "n": "string", "d": "string"}
    schema = pk.Schema("users", [pk.Field(c.upper(), t, source=c) for c, t in types.items()])
    columns = [table.column(f.column).combine_chunks() for f in schema.fields]
    via_writer = bytes(_csv_bytes(columns, schema, 0))
    converted = [
        prepare_table(table, schema).column(i).combine_chunks() for i in range(len(columns))
    ]
    via_render = bytes(_render(converted, schema.fields))
    assert via_writer == via_render
    assert via_writer.count(b"\n") == 5
    assert b'"' not in via_writer


# --------------------------------------------------------------------------- streaming


def test_chunked_and_streamed_inputs_give_byte_identical_files(tmp_path: Path) -> None:
    frame = interactions(100)
    schema = interactions_schema()
    expected = csv_bytes(frame, schema)
    assert expected.count(b'"') > 0  # some chunks take the quoting path, others do not
    table = pa.Table.from_pandas(frame, preserve_index=False)

    def frames() -> Iterator[pd.DataFrame]:
        for start in range(0, 100, 13):
            yield frame.iloc[start : start + 13]

    folder = tmp_path / "parquet"
    folder.mkdir()
    for n, start in enumerate(range(0, 100, 30)):
        pq.write_table(table.slice(start, 30), folder / f"part-{n:02d}.parquet")
    dataset = pads.dataset(folder, format="parquet")

    assert csv_bytes(frame, schema, chunk_rows=7) == expected
    assert csv_bytes(table, schema, chunk_rows=7) == expected
    assert csv_bytes(table.to_batches()[0], schema, chunk_rows=11) == expected
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=9))
    assert csv_bytes(reader, schema) == expected
    assert csv_bytes(frames(), schema) == expected
    assert csv_bytes(dataset, schema, chunk_rows=16) == expected
    assert csv_bytes(iter(table.to_batches(max_chunksize=5)), schema) == expected


def test_integer_ids_are_written_as_the_text_of_the_same_ids_as_strings() -> None:
    """Ids in a narrow range take a shortcut (their text rendered once per column,
    widened as later chunks need); the bytes must be those of the same ids as text."""
    from personakit.rules.writer import _IntText

    rng = np.random.default_rng(3)
    n = 1200
    user = pd.Series(rng.integers(0, 40, n), dtype="Int64")
    user[100:300] = user[100:300] - 60  # a later chunk widens the range below zero
    user[[5, 650]] = pd.NA
    item = pd.Series(rng.integers(0, 30, n), dtype="Int32")
    item[900:] = item[900:] + (2**31 - 100)  # the last chunks are too wide for the shortcut
    frame = pd.DataFrame({"user": user, "item": item, "ts": 1_700_000_000 + rng.integers(0, 9, n)})
    schema = pk.Schema(
        "interactions",
        [
            pk.Field("USER_ID", "string", source="user"),
            pk.Field("ITEM_ID", "string", source="item"),
            pk.Field("TIMESTAMP", "long", source="ts"),
        ],
    )
    as_text = frame.astype({"user": "string", "item": "string"})
    for chunk_rows in (100, 450, n):
        assert csv_bytes(frame, schema, chunk_rows=chunk_rows) == csv_bytes(as_text, schema)
    first = _IntText.cover(pa.array([3, 9] * 10 + [None]), schema.fields[0], None)
    assert first is not None
    assert first.text.to_pylist()[:2] == ["3", "4"]
    assert _IntText.cover(pa.array([-2, 4]), schema.fields[0], first) is None  # 12 values
    wider = _IntText.cover(pa.array([-2] * 30), schema.fields[0], first)
    assert wider is not None
    assert (wider.lo, wider.hi) == (-2, 9)
    assert _IntText.cover(pa.array(["3"]), schema.fields[0], None) is None


def test_stream_without_schema_infers_it_from_the_first_chunk() -> None:
    def frames() -> Iterator[pd.DataFrame]:
        yield pd.DataFrame({"userId": [], "movieId": [], "timestamp": []}).astype("int64")
        yield pd.DataFrame({"userId": [1], "movieId": [2], "timestamp": [3]})
        yield pd.DataFrame({"userId": [4], "movieId": [5], "timestamp": [6]})

    assert lines(csv_bytes(frames())) == ["USER_ID,ITEM_ID,TIMESTAMP", "1,2,3", "4,5,6", ""]


def test_dataset_without_schema_and_non_string_labels(tmp_path: Path) -> None:
    table = pa.table({"user_id": ["u1", "u2"], "item_id": ["i1", "i2"], "timestamp": [1, 2]})
    pq.write_table(table, tmp_path / "part.parquet")
    dataset = pads.dataset(tmp_path / "part.parquet")
    assert lines(csv_bytes(dataset)) == ["USER_ID,ITEM_ID,TIMESTAMP", "u1,i1,1", "u2,i2,2", ""]
    frame = pd.DataFrame({0: ["u1"], 1: ["i1"], 2: [5]})
    schema = pk.Schema(
        "interactions",
        [
            pk.Field("USER_ID", "string", source="0"),
            pk.Field("ITEM_ID", "string", source="1"),
            pk.Field("TIMESTAMP", "long", source="2"),
        ],
    )
    assert lines(csv_bytes(frame, schema))[1] == "u1,i1,5"


def test_duplicate_columns_and_unquotable_names_are_rejected() -> None:
    batch = pa.RecordBatch.from_arrays(
        [pa.array(["u"]), pa.array(["i"]), pa.array([1]), pa.array(["x"])],
        names=["user", "item", "ts", "user"],
    )
    schema = pk.Schema("interactions", interactions_schema().fields[:3])
    with pytest.raises(pk.ValidationError, match="duplicate-columns: \\[user\\] 2 columns"):
        csv_bytes(batch, schema)
    bad = pk.Schema("users", [pk.Field("USER_ID", "string"), pk.Field("A,B", "long")])
    with pytest.raises(pk.ValidationError, match="quoting"):
        csv_bytes(pd.DataFrame({"USER_ID": ["u"], "A,B": [1]}), bad)


def test_empty_input_with_a_schema_writes_the_header_only() -> None:
    schema = interactions_schema()
    result_sink = io.BytesIO()
    result = write_csv(iter([]), result_sink, schema)
    assert result_sink.getvalue() == b"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n"
    assert result.rows == 0
    assert csv_bytes(interactions(0), schema) == result_sink.getvalue()


# --------------------------------------------------------------------------- result and files


def test_result_counts_rows_bytes_and_hashes_the_file(tmp_path: Path) -> None:
    dest = tmp_path / "interactions.csv"
    result = write_csv(interactions(100), dest, interactions_schema(), chunk_rows=32)
    content = dest.read_bytes()
    assert result.path == dest
    assert result.rows == 100 == len(read_back(content))
    assert result.bytes == len(content)
    assert result.sha256 == hashlib.sha256(content).hexdigest()
    assert result.columns == ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE")
    assert [p.name for p in tmp_path.iterdir()] == ["interactions.csv"]

    sink = io.BytesIO()
    streamed = write_csv(interactions(100), sink, interactions_schema())
    assert streamed.path is None
    assert (streamed.sha256, streamed.bytes) == (result.sha256, result.bytes)
    assert "100 rows" in streamed._repr_html_()


def test_missing_column_raises_naming_it_and_leaves_files_alone(tmp_path: Path) -> None:
    dest = tmp_path / "interactions.csv"
    dest.write_bytes(b"previous content\n")
    frame = interactions(10).drop(columns=["item"])
    with pytest.raises(pk.ValidationError, match="'item'") as err:
        write_csv(frame, dest, interactions_schema())
    assert [p.rule for p in err.value.problems] == ["column-missing"]
    assert dest.read_bytes() == b"previous content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["interactions.csv"]


def test_failure_mid_stream_leaves_no_partial_file(tmp_path: Path) -> None:
    frame = interactions(30)

    def frames() -> Iterator[pd.DataFrame]:
        yield frame.iloc[:10]
        yield frame.iloc[10:20].drop(columns=["event"])  # a later chunk lacks a column

    with pytest.raises(pk.ValidationError, match="'event'"):
        write_csv(frames(), tmp_path / "out.csv", interactions_schema())
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(pk.ConfigurationError, match="chunk_rows"):
        write_csv(interactions(3), io.BytesIO(), interactions_schema(), chunk_rows=0)
    with pytest.raises(TypeError, match="got str"):
        write_csv("not data", io.BytesIO(), interactions_schema())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got int"):
        write_csv([1, 2], io.BytesIO(), interactions_schema())  # type: ignore[list-item]


# --------------------------------------------------------------------------- property

_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(",\"\\\n\r\t |#'")),
        st.characters(exclude_categories=["Cs"]),  # any character but lone surrogates
    ),
    max_size=12,
)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 8))
    texts = draw(st.lists(st.one_of(st.none(), _TEXT), min_size=n, max_size=n))
    ints = draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n))
    floats = draw(
        st.lists(
            st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
            min_size=n,
            max_size=n,
        )
    )
    return pd.DataFrame(
        {
            "item": [f"i{i}" for i in range(n)],
            "text": pd.array(texts, dtype=object),
            "num": np.array(ints, dtype=np.int64),
            "real": np.array([np.nan if f is None else f for f in floats], dtype=np.float64),
        }
    )


PROPERTY_SCHEMA = pk.Schema(
    "items",
    [
        pk.Field("ITEM_ID", "string", source="item"),
        pk.Field("TEXT", "string", nullable=True, categorical=True, source="text"),
        pk.Field("NUM", "long", source="num"),
        pk.Field("REAL", "double", nullable=True, source="real"),
    ],
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), chunk_rows=st.integers(1, 9))
def test_csv_reads_back_as_the_values_written(frame: pd.DataFrame, chunk_rows: int) -> None:
    data = csv_bytes(frame, PROPERTY_SCHEMA, chunk_rows=chunk_rows)
    # chunking decides which rows take the quoting path; the bytes must not change
    assert data == csv_bytes(frame, PROPERTY_SCHEMA)
    back = read_back(data)
    assert list(back.columns) == ["ITEM_ID", "TEXT", "NUM", "REAL"]
    assert len(back) == len(frame)
    for written, value in zip(back["TEXT"], frame["text"], strict=True):
        # an empty string and a missing value are both an empty field
        assert (None if pd.isna(written) else written) == (
            None if pd.isna(value) else value or None
        )
    assert [int(v) for v in back["NUM"]] == frame["num"].tolist()
    for written, value in zip(back["REAL"], frame["real"], strict=True):
        assert pd.isna(written) if math.isnan(value) else float(written) == value


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ids=st.lists(
        st.tuples(st.integers(-(2**63), 2**63 - 1), st.integers(0, 50)), min_size=1, max_size=30
    ),
    chunk_rows=st.integers(1, 9),
)
def test_integer_ids_are_written_as_the_digits_of_their_strings(
    ids: list[tuple[int, int]], chunk_rows: int
) -> None:
    """ratings_to_interactions keeps integer ids as integers: the CSV is the same."""
    ratings = pd.DataFrame(
        {
            "userId": np.array([u for u, _ in ids], dtype=np.int64),
            "movieId": np.array([i for _, i in ids], dtype=np.int64),
            "timestamp": np.arange(len(ids), dtype=np.int64) + 1_600_000_000,
        }
    )
    ints = pk.prep.ratings_to_interactions(ratings)
    text = pk.prep.ratings_to_interactions(ratings, string_ids=True)
    assert ints["USER_ID"].dtype == np.int64
    data = csv_bytes(ints, chunk_rows=chunk_rows)
    assert data == csv_bytes(text, chunk_rows=chunk_rows)
    back = pd.read_csv(io.BytesIO(data), dtype=str)
    assert back["USER_ID"].tolist() == [str(u) for u, _ in ids]


_INT_TYPES = [pa.uint8(), pa.int16(), pa.int32(), pa.uint32(), pa.int64(), pa.uint64()]


@settings(max_examples=200, deadline=None)
@given(digits=st.integers(1, 20), kind=st.sampled_from(_INT_TYPES), data=st.data())
def test_fixed_width_integer_text_is_pyarrows_text(
    digits: int, kind: pa.DataType, data: st.DataObject
) -> None:
    """Integers of one digit count (epoch seconds, most ids) are rendered from digit
    tables; the text must be pyarrow's own, and anything else takes pyarrow's path."""
    from personakit.rules.writer import _fixed_width_text

    unsigned = pa.types.is_unsigned_integer(kind)
    least = 0 if unsigned else -(2 ** (kind.bit_width - 1))
    most = 2 ** (kind.bit_width - (0 if unsigned else 1)) - 1
    lo, hi = (0 if digits == 1 else 10 ** (digits - 1)), min(10**digits - 1, most)
    assume(lo <= hi)
    values = data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=40))
    values += data.draw(st.lists(st.integers(least, most), max_size=2))  # maybe mixed
    arr = pa.array(values, kind)
    text = _fixed_width_text(arr)
    if min(values) >= 0 and len({len(str(v)) for v in values}) == 1 and digits <= 18:
        assert text is not None
    assert text is None or text.equals(arr.cast(pa.string()))
    assert _fixed_width_text(pa.array([*values, None], kind)) is None  # nulls: empty fields


_PLAIN_TEXT = st.text(st.characters(exclude_characters=',"\\\r\n', codec="utf-8"), max_size=6)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    n=st.integers(1, 30),
    text_type=st.sampled_from(["string", "large_string", "dictionary"]),
    int_type=st.sampled_from([pa.int8(), pa.uint16(), pa.int64(), pa.uint64()]),
    chunk_rows=st.integers(1, 9),
)
def test_polars_writes_the_bytes_pyarrow_writes(
    data: st.DataObject, n: int, text_type: str, int_type: pa.DataType, chunk_rows: int
) -> None:
    """Large inputs of ids, categories and integers are rendered by polars when it is
    installed: the file must be the one pyarrow writes (empty strings, nulls, text that
    needs no quotes as strings, large strings or dictionaries, integers of any width)."""
    pytest.importorskip("polars")
    from personakit.rules import writer

    bits = int_type.bit_width
    if pa.types.is_unsigned_integer(int_type):
        lo, hi = 0, min(2**bits, 2**63) - 1  # a long field takes what int64 holds
    else:
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    texts = data.draw(st.lists(st.one_of(st.none(), _PLAIN_TEXT), min_size=n, max_size=n))
    ints = data.draw(st.lists(st.one_of(st.none(), st.integers(lo, hi)), min_size=n, max_size=n))
    text = pa.array(texts, pa.large_string() if text_type == "large_string" else pa.string())
    table = pa.table(
        {
            "user": text.dictionary_encode() if text_type == "dictionary" else text,
            "item": pa.array(ints, int_type),
            "ts": pa.array(data.draw(st.lists(st.integers(0, 2**31 - 1), min_size=n, max_size=n))),
        }
    )
    schema = pk.Schema(
        "interactions",
        [
            pk.Field("USER_ID", "string", nullable=True, source="user"),
            pk.Field("ITEM_ID", "long", nullable=True, source="item"),
            pk.Field("TIMESTAMP", "long", source="ts"),
        ],
    )
    rendered = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(writer, "_polars", lambda rows: None)
        by_pyarrow = csv_bytes(table, schema, chunk_rows=chunk_rows)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(writer, "_POLARS_MIN_ROWS", 0)
        real = writer._polars_csv
        mp.setattr(writer, "_polars_csv", lambda *a: rendered.append(1) or real(*a))
        by_polars = csv_bytes(table, schema, chunk_rows=chunk_rows)
    assert rendered  # polars did render
    assert by_polars == by_pyarrow


def test_a_stream_switching_to_polars_formats_what_polars_leaves_to_pyarrow() -> None:
    """A small chunk (pyarrow, the ids' text rendered for its range), then large ones
    given to polars, whose slices it leaves to pyarrow: those must not use the first
    chunk's text for ids beyond its range."""
    polars = pytest.importorskip("polars")
    from personakit.rules import writer

    def chunk(start: int, n: int) -> pa.Table:
        ids = pa.array([start + i % 10 for i in range(n)], pa.int64())  # a narrow range
        return pa.table({"user": ids, "item": ids, "ts": ids})

    chunks = [chunk(0, 40), chunk(1000, 400), chunk(5000, 400)]
    schema = pk.Schema(
        "interactions",
        [
            pk.Field("USER_ID", "string", source="user"),
            pk.Field("ITEM_ID", "string", source="item"),
            pk.Field("TIMESTAMP", "long", source="ts"),
        ],
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(writer, "_polars", lambda rows: None)
        expected = csv_bytes(iter(chunks), schema)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(writer, "_polars", lambda rows: polars if rows >= 100 else None)
        mp.setattr(writer, "_polars_renders", lambda columns: False)
        assert csv_bytes(iter(chunks), schema) == expected
    assert expected.count(b"\n") == 841


def test_polars_is_imported_once_an_input_reaches_a_million_rows() -> None:
    """polars's import (0.1-0.2 s) is paid by large inputs only, not by the quickstart's;
    a stream of small chunks takes it from the chunk that reaches a million rows."""
    import subprocess
    import sys

    pytest.importorskip("polars")
    code = (
        "import sys, io, pyarrow as pa, personakit as pk\n"
        "from personakit.rules import writer\n"
        "pk.write_csv(pk.samples.synthetic(n_users=50, n_items=40, n_interactions=2000)"
        ".interactions, io.BytesIO())\n"
        "print('polars' in sys.modules)\n"
        "ids = pa.array(range(400_000))\n"
        "chunk = pa.table({'USER_ID': ids, 'ITEM_ID': ids, 'TIMESTAMP': ids})\n"
        "used = []\n"
        "real = writer._polars_csv\n"
        "writer._polars_csv = lambda *a: used.append(1) or real(*a)\n"
        "pk.write_csv(iter([chunk] * 3), io.BytesIO())\n"
        "print('polars' in sys.modules, len(used) == 400_000 // writer._RENDER_ROWS + 1)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True"]


# --------------------------------------------------------------------------- after validate


def ratings(n: int = 3000) -> pd.DataFrame:
    """Interactions as people have them: int ids, datetimes, a float, a column to map."""
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "userId": rng.integers(0, 200, n),
            "movieId": rng.integers(0, 400, n),
            "when": pd.to_datetime(1_600_000_000 + rng.integers(0, 10**7, n), unit="s"),
            "rating": rng.integers(1, 11, n) / 2.0,
        }
    )


def test_the_table_validate_built_is_written_without_converting_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """One conversion per import: validate hands back its schema and Arrow table, and
    write_csv writes them as it would write the frame, without converting it again."""
    from personakit.rules import writer
    from personakit.rules.schema import DatasetType

    frame = ratings()
    columns = {"when": "TIMESTAMP", "rating": "EVENT_VALUE"}
    report = pk.validate(frame, columns=columns, now=1_700_000_000, keep_tables=True)
    assert report.ok, report
    schema = report.schemas[DatasetType.INTERACTIONS]
    table = report.tables[DatasetType.INTERACTIONS]
    assert schema == pk.Schema.infer(frame, columns=columns)
    assert schema.columns == {
        "userId": "USER_ID",
        "movieId": "ITEM_ID",
        "when": "TIMESTAMP",
        "rating": "EVENT_VALUE",
    }
    assert isinstance(table, pa.Table)
    assert table.num_rows == len(frame)

    calls: list[object] = []
    convert = writer.to_arrow

    def counting(data: Any) -> pa.Table:
        calls.append(data)
        return convert(data)

    def no_inference(*args: object, **kwargs: object) -> pk.Schema:
        raise AssertionError("the schema was inferred again")

    monkeypatch.setattr(writer, "to_arrow", counting)
    monkeypatch.setattr(pk.Schema, "infer", no_inference)
    from_frame = write_csv(frame, tmp_path / "frame.csv", schema, chunk_rows=1000)
    assert len(calls) == 3  # the frame, converted 1000 rows at a time
    calls.clear()
    from_table = write_csv(table, tmp_path / "table.csv", schema, chunk_rows=1000)
    assert calls == []  # the table validate built: nothing converted again
    assert (tmp_path / "table.csv").read_bytes() == (tmp_path / "frame.csv").read_bytes()
    assert (from_table.rows, from_table.sha256) == (from_frame.rows, from_frame.sha256)


def test_tables_validate_built_write_the_bytes_of_their_frames() -> None:
    """Every conversion path (quoted strings, NaN, datetimes, lists, textual, booleans)
    gives the same bytes from validate's table as from the frame, whatever the chunking."""
    from personakit.rules.schema import DatasetType

    frame = interactions(500)
    schema = interactions_schema()
    report = pk.validate(
        frame, schemas={"interactions": schema}, now=1_700_000_000, keep_tables=True
    )
    assert report.schemas[DatasetType.INTERACTIONS] is schema
    table = report.tables[DatasetType.INTERACTIONS]
    assert csv_bytes(table, schema, chunk_rows=64) == csv_bytes(frame, schema)
    catalogue = pd.DataFrame(
        {
            "item": [f"i{k}" for k in range(300)],
            "genres": [["Drama", None, "Crime"], [], None] * 100,
            "plot": ['A "long" story\nover two lines, with commas'] * 300,
            "year": pd.array([1999, None, 2004] * 100, dtype="Int64"),
            "kids": [True, False, None] * 100,
        }
    )
    report = pk.validate(
        items=catalogue, columns={"item": "ITEM_ID"}, now=1_700_000_000, keep_tables=True
    )
    items = report.schemas[DatasetType.ITEMS]
    assert items["PLOT"].textual
    assert items["GENRES"].categorical
    table = report.tables[DatasetType.ITEMS]
    assert csv_bytes(table, items, chunk_rows=7) == csv_bytes(catalogue, items)
