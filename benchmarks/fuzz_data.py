"""Fuzz every public entry point that takes data with random frames (run on demand).

Generates random pandas DataFrames (and some pyarrow Tables and RecordBatches) of the
kinds real data brings and personakit must survive: column labels that are ints,
``None``, tuples or duplicates; object columns mixing types; ``float16``; ``Decimal``
infinities and signalling NaNs; integers beyond 64 bits; bytes (UTF-8 or not); lists,
sets and dicts; categoricals (empty ones too); Arrow list, dictionary, struct, map and
binary types through ``pd.ArrowDtype``; lone surrogates; NaN/NaT/None; empty frames.
Each frame goes through every entry point (``Schema.infer`` per dataset type,
``validate`` per dataset slot, every ``pk.prep`` helper, ``write_csv`` per dataset
type), with plausible arguments and, now and then, arguments of the wrong Python type.

What an entry point may do: return, raise ``ValidationError`` (bad data, bad values),
or raise ``TypeError`` for an argument of the wrong Python type. Anything else, and a
``TypeError`` from a call whose arguments all had the right types (the data was bad,
which is a ``ValidationError``), counts under **other exceptions**, grouped by
signature (exception type + innermost personakit frame) with one reproducer each::

    python benchmarks/fuzz_data.py --frames 10000 --seed 0
    python benchmarks/fuzz_data.py --seed 0 --frame 1234 --entry prep.items   # one reproducer

Frame ``i`` of seed ``s`` is the same on every run (its own ``random.Random``), so a
reproducer is a seed, a frame number and an entry point. Exit status 1 when any call
raised something else.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import io
import multiprocessing
import os
import random
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

import personakit as pk
from personakit.errors import ValidationError
from personakit.rules.schema import Field, Schema

DTYPES = ["interactions", "items", "users", "actions", "action_interactions"]
SLOW_S = 2.0

# --------------------------------------------------------------------------- labels

_ROLE_LABELS = [
    "userId",
    "user_id",
    "USER_ID",
    "customer_id",
    "movieId",
    "item_id",
    "ITEM_ID",
    "sku",
    "timestamp",
    "TIMESTAMP",
    "created_at",
    "rating",
    "event_type",
    "EVENT_TYPE",
    "EVENT_VALUE",
    "action_id",
    "ACTION_ID",
    "IMPRESSION",
    "genres",
    "title",
    "price",
    "description",
    "plan",
    "flag",
]
_ODD_LABELS: list[Any] = [
    0,
    1,
    2,
    None,
    1.5,
    True,
    ("a", "b"),
    "",
    " ",
    "a,b",
    'q"t',
    "x" * 300,
    "名前",
    "lone\ud800",
    "ünïcode",
    "with space",
    "0",
]


def _label(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.6:
        return rng.choice(_ROLE_LABELS)
    if roll < 0.85:
        return rng.choice(_ODD_LABELS)
    return "c" + str(rng.randint(0, 99))


# --------------------------------------------------------------------------- values


def _ints(rng: random.Random, n: int, lo: int = 0, hi: int = 20) -> list[int]:
    return [rng.randint(lo, hi) for _ in range(n)]


def _holes(rng: random.Random, values: list[Any], missing: Any = None) -> list[Any]:
    return [missing if rng.random() < 0.2 else v for v in values]


def _words(rng: random.Random, n: int) -> list[str]:
    pool = ["a", "b", "Drama", "Comedy|Crime", "click", "view", "x y z", "1", "2.5", "True"]
    return [rng.choice(pool) for _ in range(n)]


def _arrow_series(arr: pa.Array[Any] | pa.ChunkedArray[Any]) -> pd.Series[Any]:
    return pd.Series(pd.arrays.ArrowExtensionArray(arr))


_NOW = 1_700_000_000
_DECIMALS = [
    "1.5",
    "2",
    "Infinity",
    "-Infinity",
    "NaN",
    "sNaN",
    "1e400",
    "-0",
    "12345678901234567890.5",
]
_ODD_STRINGS = [
    "",
    "   ",
    "a,b",
    'say "hi"',
    "back\\slash",
    "line\nbreak",
    "cr\rlf",
    "x" * 1500,
    "lone\ud800surrogate",
    "\udfff",
    "2020-01-01T00:00:00Z",
    "not a date",
    "名前",
    "nul\x00byte",
]


def _kinds() -> dict[str, Callable[[random.Random, int], Any]]:
    """Column makers: name -> f(rng, n) giving a Series (or a list for object columns)."""

    def ser(values: list[Any], dtype: Any = None) -> pd.Series[Any]:
        return pd.Series(values, dtype=dtype)

    return {
        "int64": lambda r, n: ser(_ints(r, n), "int64"),
        "int32": lambda r, n: ser(_ints(r, n, -5, 5), "int32"),
        "int8": lambda r, n: ser(_ints(r, n, -100, 100), "int8"),
        "uint64_big": lambda r, n: ser([2**63 + r.randint(0, 9) for _ in range(n)], "uint64"),
        "epoch_s": lambda r, n: ser(_ints(r, n, _NOW - 10**8, _NOW), "int64"),
        "epoch_ms": lambda r, n: ser(_ints(r, n, _NOW * 1000 - 10**11, _NOW * 1000), "int64"),
        "epoch_mixed": lambda r, n: ser(
            [r.choice([0, -5, _NOW, _NOW * 1000, _NOW * 10**9, 2**62]) for _ in range(n)], "int64"
        ),
        "Int64_na": lambda r, n: ser(_holes(r, _ints(r, n)), "Int64"),
        "float64": lambda r, n: ser(
            [r.choice([1.0, 2.5, -3.0, float("nan"), float("inf"), 1e300, 0.0]) for _ in range(n)]
        ),
        "float_ids": lambda r, n: ser(_holes(r, [float(v) for v in _ints(r, n)], float("nan"))),
        "float32": lambda r, n: ser([r.random() * 10 for _ in range(n)], "float32"),
        "float16": lambda r, n: ser(
            [r.choice([1.0, 2.0, 65504.0, float("nan"), float("inf")]) for _ in range(n)],
            "float16",
        ),
        "bool": lambda r, n: ser([r.random() < 0.5 for _ in range(n)], "bool"),
        "boolean_na": lambda r, n: ser(_holes(r, [r.random() < 0.5 for _ in range(n)]), "boolean"),
        "str": lambda r, n: ser(_holes(r, _words(r, n)), "str"),
        "string_pyarrow": lambda r, n: ser(_holes(r, _words(r, n)), "string[pyarrow]"),
        "object_str": lambda r, n: ser(_holes(r, _words(r, n)), object),
        "odd_strings": lambda r, n: ser([r.choice(_ODD_STRINGS) for _ in range(n)], object),
        "surrogates": lambda r, n: ser(
            [r.choice(["ok", "a\ud800", "\udc80b", None]) for _ in range(n)], object
        ),
        "object_mixed": lambda r, n: ser(
            [r.choice([1, "a", 2.5, None, True, "2", float("nan")]) for _ in range(n)], object
        ),
        "object_none": lambda r, n: ser([None] * n, object),
        "decimal": lambda r, n: ser(
            _holes(r, [Decimal(r.choice(_DECIMALS)) for _ in range(n)]), object
        ),
        "huge_int": lambda r, n: ser(
            [r.choice([2**64, -(2**70), 5, 2**63, None]) for _ in range(n)], object
        ),
        "bytes": lambda r, n: ser(
            [r.choice([b"abc", b"\xff\xfe", b"", None, b"caf\xc3\xa9"]) for _ in range(n)], object
        ),
        "lists_str": lambda r, n: ser(
            [r.choice([["a", "b"], [], None, ["c"], ["a|b", " d "]]) for _ in range(n)], object
        ),
        "lists_int": lambda r, n: ser(
            [r.choice([[1, 2], [3], [], None]) for _ in range(n)], object
        ),
        "lists_mixed": lambda r, n: ser(
            [
                r.choice([[1, "a"], "x|y", {"s", "t"}, None, ("t",), np.array([1, 2])])
                for _ in range(n)
            ],
            object,
        ),
        "nested_lists": lambda r, n: ser(
            [r.choice([[["a"]], [[1, 2]], None]) for _ in range(n)], object
        ),
        "dicts": lambda r, n: ser(
            [r.choice([{"a": 1}, {"b": "x"}, None, {}]) for _ in range(n)], object
        ),
        "sets": lambda r, n: ser(
            [r.choice([{"a", "b"}, frozenset(), None]) for _ in range(n)], object
        ),
        "categorical": lambda r, n: ser(_holes(r, _words(r, n)), "category"),
        "categorical_empty": lambda r, n: pd.Series(
            pd.Categorical([None] * n, categories=pd.Index([], dtype=object))
        ),
        "categorical_int": lambda r, n: ser(_ints(r, n), "category"),
        "categorical_unused": lambda r, n: pd.Series(
            pd.Categorical([None] * n, categories=["a", "b"])
        ),
        "arrow_list_str": lambda r, n: _arrow_series(
            pa.array(
                [r.choice([["a"], [], None, ["b", None]]) for _ in range(n)], pa.list_(pa.string())
            )
        ),
        "arrow_list_int": lambda r, n: _arrow_series(
            pa.array([r.choice([[1], [], None, [2, 3]]) for _ in range(n)], pa.list_(pa.int64()))
        ),
        "arrow_large_list": lambda r, n: _arrow_series(
            pa.array([r.choice([["a"], None]) for _ in range(n)], pa.large_list(pa.string()))
        ),
        "arrow_dict_str": lambda r, n: _arrow_series(
            pa.array(_holes(r, _words(r, n)), pa.string()).dictionary_encode()
        ),
        "arrow_dict_int": lambda r, n: _arrow_series(
            pa.array(_holes(r, _ints(r, n)), pa.int64()).dictionary_encode()
        ),
        "arrow_struct": lambda r, n: _arrow_series(
            pa.array(
                [r.choice([{"a": 1}, None, {"a": None}]) for _ in range(n)],
                pa.struct([("a", pa.int64())]),
            )
        ),
        "arrow_map": lambda r, n: _arrow_series(
            pa.array(
                [r.choice([[("k", 1)], None]) for _ in range(n)], pa.map_(pa.string(), pa.int64())
            )
        ),
        "arrow_binary": lambda r, n: _arrow_series(
            pa.array([r.choice([b"a", b"\xff", None]) for _ in range(n)], pa.binary())
        ),
        "arrow_large_string": lambda r, n: _arrow_series(pa.array(_words(r, n), pa.large_string())),
        "arrow_string": lambda r, n: _arrow_series(pa.array(_holes(r, _words(r, n)), pa.string())),
        "arrow_timestamp": lambda r, n: _arrow_series(
            pa.array(_holes(r, _ints(r, n, 0, _NOW)), pa.timestamp("s"))
        ),
        "arrow_timestamp_tz": lambda r, n: _arrow_series(
            pa.array(_ints(r, n, 0, _NOW * 1000), pa.timestamp("ms", tz="UTC"))
        ),
        "arrow_date": lambda r, n: _arrow_series(
            pa.array(_holes(r, _ints(r, n, 0, 20000)), pa.date32())
        ),
        "arrow_decimal": lambda r, n: _arrow_series(
            pa.array(
                _holes(r, [Decimal(str(r.randint(0, 999))) / 10 for _ in range(n)]),
                pa.decimal128(10, 1),
            )
        ),
        "arrow_null": lambda r, n: _arrow_series(pa.nulls(n)),
        "arrow_duration": lambda r, n: _arrow_series(pa.array(_ints(r, n), pa.duration("s"))),
        "arrow_float16": lambda r, n: _arrow_series(
            pa.array(np.array([r.random() for _ in range(n)], dtype=np.float16))
        ),
        "arrow_bool": lambda r, n: _arrow_series(
            pa.array(_holes(r, [r.random() < 0.5 for _ in range(n)]))
        ),
        "arrow_int": lambda r, n: _arrow_series(pa.array(_holes(r, _ints(r, n)), pa.int64())),
        "arrow_uint64": lambda r, n: _arrow_series(
            pa.array([2**64 - 1 - r.randint(0, 3) for _ in range(n)], pa.uint64())
        ),
        "arrow_time": lambda r, n: _arrow_series(pa.array(_ints(r, n, 0, 86399), pa.time32("s"))),
        "datetime64": lambda r, n: pd.Series(
            pd.to_datetime(_holes(r, _ints(r, n, 0, _NOW)), unit="s")
        ),
        "datetime_tz": lambda r, n: pd.Series(
            pd.to_datetime(_ints(r, n, 0, _NOW), unit="s", utc=True).tz_convert("Europe/Paris")
        ),
        "datetime_far": lambda r, n: pd.Series(
            np.array(
                [r.choice(["1600-01-01", "2262-04-11", "1970-01-01"]) for _ in range(n)],
                dtype="datetime64[s]",
            )
        ),
        "timedelta": lambda r, n: pd.Series(pd.to_timedelta(_ints(r, n), unit="s")),
        "date_objects": lambda r, n: ser(
            _holes(r, [dt.date(2020, 1, 1 + r.randint(0, 27)) for _ in range(n)]), object
        ),
        "datetime_strings": lambda r, n: ser(
            [
                r.choice(["2020-01-01", "2020-01-01T10:00:00+02:00", "01/02/2020", "soon", None])
                for _ in range(n)
            ],
            object,
        ),
        "mixed_time": lambda r, n: ser(
            [r.choice([dt.datetime(2020, 1, 1), "2020-01-01", 5, None, pd.NaT]) for _ in range(n)],
            object,
        ),
        "nat": lambda r, n: pd.Series([pd.NaT] * n),
        "period": lambda r, n: pd.Series(pd.period_range("2020-01", periods=n, freq="M")),
        "interval": lambda r, n: (
            pd.Series(pd.interval_range(0, n + 1)[:n]) if n else pd.Series([], dtype=object)
        ),
        "complex": lambda r, n: ser([complex(r.random(), 1) for _ in range(n)]),
        "numeric_strings": lambda r, n: ser(
            [r.choice(["1", "2.5", "1e3", " 7 ", "x", None, "1e999", "-0"]) for _ in range(n)],
            object,
        ),
        "bool_strings": lambda r, n: ser(
            [r.choice(["True", "false", "yes", "1", None]) for _ in range(n)], object
        ),
        "objects": lambda r, n: ser([r.choice([object(), None, 1]) for _ in range(n)], object),
        "numpy_scalars": lambda r, n: ser(
            [
                r.choice(
                    [
                        np.int64(3),
                        np.float32(1.5),
                        np.bool_(True),
                        np.str_("s"),
                        np.datetime64("2020-01-01"),
                    ]
                )
                for _ in range(n)
            ],
            object,
        ),
    }


KINDS = _kinds()
KIND_NAMES = sorted(KINDS)


def _column(rng: random.Random, n: int) -> tuple[str, pd.Series[Any]]:
    name = rng.choice(KIND_NAMES)
    try:
        s = KINDS[name](rng, n)
    except Exception as exc:  # a maker that cannot build this size: note it, use objects
        s = pd.Series([repr(exc)[:20]] * n, dtype=object)
        name += "(fallback)"
    return name, pd.Series(s).reset_index(drop=True)


def make_frame(seed: int, index: int) -> tuple[Any, str]:
    """Frame ``index`` of ``seed``: the data and a one-line description of it."""
    rng = random.Random(seed * 1_000_003 + index)
    n = rng.choice([0, 1, 2, 3, 4, 5, 8, 13, 30, 60])
    ncols = rng.choice([0, 1, 2, 3, 3, 4, 4, 5, 6])
    labels = [_label(rng) for _ in range(ncols)]
    kinds, columns = [], []
    for _ in range(ncols):
        kind, s = _column(rng, n)
        kinds.append(kind)
        columns.append(s)
    if columns:
        frame = pd.concat(columns, axis=1, ignore_index=True)
    else:
        frame = pd.DataFrame(index=pd.RangeIndex(n))
    frame.columns = pd.Index(labels, dtype=object)
    if rng.random() < 0.1 and n:  # an index that is not 0..n-1
        frame.index = pd.Index([rng.choice(["a", "b", 3]) for _ in range(n)], dtype=object)
    desc = ", ".join(f"{lab!r}:{kind}" for lab, kind in zip(labels, kinds, strict=True))
    roll = rng.random()
    if roll < 0.15:
        return _as_arrow(frame, rng, batch=roll < 0.03), f"arrow[{n} rows] {desc}"
    return frame, f"pandas[{n} rows] {desc}"


def _crashes_pyarrow(column: pd.Series[Any]) -> bool:
    """numpy datetime64 objects mixed with other numpy scalars: pyarrow's type inference
    crashes the process on them (pyarrow 26), so the fuzzer does not build Arrow
    tables of them (personakit refuses them before Arrow sees them)."""
    if column.dtype != object:
        return False
    kinds = set(map(type, column.to_numpy()))
    return np.datetime64 in kinds and len(kinds) > 1


def _as_arrow(frame: pd.DataFrame, rng: random.Random, *, batch: bool) -> Any:
    """The frame as a pyarrow Table (or RecordBatch); columns Arrow cannot hold become
    Arrow-native odd types (float16, dictionary, list, map, binary, null, ...)."""
    arrays, names = [], []
    for i, label in enumerate(frame.columns):
        try:
            column = frame.iloc[:, i]
            if _crashes_pyarrow(column):
                raise ValueError("not for Arrow")
            arr = pa.array(column, from_pandas=True)
        except Exception:
            n = len(frame)
            arr = rng.choice(
                [
                    pa.array(np.zeros(n, dtype=np.float16)),
                    pa.array(["a"] * n).dictionary_encode(),
                    pa.array([["a", None]] * n, pa.list_(pa.string())),
                    pa.array([[("k", 1)]] * n, pa.map_(pa.string(), pa.int64())),
                    pa.array([b"\xff"] * n, pa.binary()),
                    pa.nulls(n),
                ]
            )
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        arrays.append(arr)
        names.append(
            str(label) if not isinstance(label, str) else label.encode("utf-8", "replace").decode()
        )
    if batch:
        return pa.RecordBatch.from_arrays(arrays, names=names)
    return pa.Table.from_arrays(arrays, names=names)


# --------------------------------------------------------------------------- arguments


class Args:
    """Arguments drawn for one call; ``ill`` names those of a wrong Python type."""

    def __init__(self, rng: random.Random, frame: Any) -> None:
        self.rng = rng
        self.frame = frame
        self.ill: list[str] = []
        if isinstance(frame, pd.DataFrame):
            self.labels = [str(c) for c in frame.columns]
        elif isinstance(frame, (pa.Table, pa.RecordBatch)):
            self.labels = list(frame.schema.names)
        else:
            self.labels = []

    def odd(self, name: str, choices: list[Any]) -> Any:
        self.ill.append(name)
        return self.rng.choice(choices)

    def column(
        self, name: str, *, optional: bool = False, p_ill: float = 0.05, key: bool = False
    ) -> Any:
        r = self.rng.random()
        if r < p_ill:
            return self.odd(name, [5, 3.5, b"x", None] if key else [5, ["a"], 3.5, b"x", {"a": 1}])
        if optional and r < 0.3:
            return None
        if self.labels and r < 0.9:
            return self.rng.choice(self.labels)
        return "no_such_column"

    def columns(self, name: str) -> list[Any]:
        if self.rng.random() < 0.05:
            return self.odd(name, [5, 2.5, [1, 2]])
        return [self.column(name, p_ill=0.0) for _ in range(self.rng.randint(0, 2))]

    def choice(self, name: str, good: list[Any], ill: list[Any], p_ill: float = 0.05) -> Any:
        if self.rng.random() < p_ill:
            return self.odd(name, ill)
        return self.rng.choice(good)

    def mapping(self, name: str, roles: list[str]) -> Any:
        r = self.rng.random()
        if r < 0.05:
            return self.odd(name, [["USER_ID"], "USER_ID", 5])
        if r < 0.6 or not self.labels:
            return None
        return {
            self.rng.choice(self.labels): self.rng.choice(roles)
            for _ in range(self.rng.randint(1, 2))
        }

    def fill_value(self) -> Any:
        if self.rng.random() < 0.05:
            return self.odd("policy value", [[1], {"a": 1}, None, (1, 2)])
        return self.rng.choice(
            [
                "drop",
                "keep",
                0,
                -1,
                "Unknown",
                1.5,
                True,
                Decimal("NaN"),
                Decimal("sNaN"),
                pd.Timestamp("2020-01-01"),
                2**64,
                b"\xff",
                "x\ud800",
                float("inf"),
                np.int8(3),
            ]
        )


def _random_schema(rng: random.Random, labels: list[str], dtype: str) -> Schema | None:
    """A hand-made schema whose fields read random columns with random types."""
    names = {
        "interactions": ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE", "RATING"],
        "items": ["ITEM_ID", "GENRES", "PRICE", "CREATION_TIMESTAMP", "DESCRIPTION"],
        "users": ["USER_ID", "PLAN", "AGE"],
        "actions": ["ACTION_ID", "VALUE", "CREATION_TIMESTAMP", "TYPE"],
        "action_interactions": ["USER_ID", "ACTION_ID", "EVENT_TYPE", "TIMESTAMP"],
    }[dtype]
    fields = []
    for name in rng.sample(names, rng.randint(1, len(names))):
        avro = rng.choice(["string", "int", "long", "float", "double", "boolean"])
        source = rng.choice(labels) if labels and rng.random() < 0.85 else name
        fields.append(
            Field(
                name,
                avro,
                nullable=rng.random() < 0.4,
                categorical=avro == "string" and rng.random() < 0.5,
                textual=avro == "string" and name == "DESCRIPTION" and rng.random() < 0.5,
                source=source,
            )
        )
    try:
        return Schema(dtype, fields)
    except ValidationError:
        return None


Call = tuple[str, Callable[[], Any], list[str]]  # (arguments shown, thunk, ill-typed names)
Task = tuple[int, int, int, "str | None"]  # (seed, first frame, end, entry point or None)


def _infer_call(dtype: str) -> Callable[[Any, random.Random], Call]:
    def make(frame: Any, rng: random.Random) -> Call:
        a = Args(rng, frame)
        kw = {
            "domain": a.choice("domain", [None, None, "ECOMMERCE", "VIDEO_ON_DEMAND"], [5, ["x"]]),
            "columns": a.mapping(
                "columns", ["USER_ID", "ITEM_ID", "TIMESTAMP", "ACTION_ID", "GENRES"]
            ),
            "booleans": a.choice("booleans", ["flag", "categorical"], [5, ["flag"], None, b"flag"]),
            "textual": a.choice("textual", [None, False, *(a.labels[:2])], [3, ["a"], 2.5]),
        }
        if isinstance(kw["domain"], str) and dtype in ("actions", "action_interactions"):
            kw["domain"] = None
        return repr(kw), lambda: Schema.infer(frame, dtype, **kw), a.ill

    return make


def _validate_call(slot: str) -> Callable[[Any, random.Random], Call]:
    def make(frame: Any, rng: random.Random) -> Call:
        a = Args(rng, frame)
        kw: dict[str, Any] = {slot: frame}
        if rng.random() < 0.3:
            kw["domain"] = a.choice("domain", ["ECOMMERCE", "VIDEO_ON_DEMAND", "bogus"], [5])
        if rng.random() < 0.3:
            kw["event_types"] = a.choice("event_types", [["click"], ("view", "x")], [5, 2.5])
        if rng.random() < 0.2:
            kw["event_value_threshold"] = a.choice("event_value_threshold", [0.5, 3], ["high", [1]])
        if rng.random() < 0.2:
            kw["use_cases"] = a.choice("use_cases", [["most-viewed"], "top-picks", ["nope"]], [5])
        if rng.random() < 0.2:
            kw["now"] = a.choice("now", [_NOW, dt.datetime(2024, 1, 1)], ["yesterday", [1]])
        if rng.random() < 0.3:
            kw["columns"] = a.mapping("columns", ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"])
        if rng.random() < 0.25:
            if rng.random() < 0.05:
                kw["schemas"] = a.odd("schemas", [["x"], 5])
            else:
                kw["schemas"] = {slot: _random_schema(rng, a.labels, slot)}
        kw["keep_tables"] = rng.random() < 0.5
        shown = {k: v for k, v in kw.items() if k != slot}
        return repr(shown), lambda: pk.validate(**kw), a.ill

    return make


def _ratings(frame: Any, rng: random.Random) -> Call:
    a = Args(rng, frame)
    kw = {
        "user": a.column("user"),
        "item": a.column("item"),
        "timestamp": a.column("timestamp"),
        "rating": a.column("rating"),
        "min_rating": a.choice("min_rating", [None, None, 3.5, 0], ["high", [1]]),
        "event_type": a.choice(
            "event_type",
            [
                None,
                "Watch",
                {1: "like", 2.5: "watch"},
                lambda r: np.where(np.arange(len(r)) % 2 == 0, "a", "b"),
                "",
            ],
            [5, ["a"]],
        ),
        "event_value": rng.random() < 0.3,
        "keep": a.columns("keep") if rng.random() < 0.3 else a.choice("keep", [(), {}], [5, 2.5]),
        "timestamp_unit": a.choice("timestamp_unit", ["auto", "s", "ms", "bogus"], [5, None]),
    }
    return repr(kw), lambda: pk.prep.ratings_to_interactions(frame, **kw), a.ill


def _entity_kwargs(a: Args, key: str, items: bool) -> dict[str, Any]:
    rng = a.rng
    kw: dict[str, Any] = {key: a.column(key, optional=True)}
    r = rng.random()
    if r < 0.05:
        kw["multi_value"] = a.odd("multi_value", [5, 2.5])
    elif r < 0.4:
        cols = [a.column("multi_value", p_ill=0.0) for _ in range(rng.randint(0, 2))]
        kw["multi_value"] = rng.choice([cols, {c: rng.choice(["|", ",", None]) for c in cols}])
    kw["booleans"] = a.choice("booleans", ["string", "int", "keep"], [5, ["string"], None, 1.5])
    kw["drop"] = a.columns("drop") if rng.random() < 0.3 else ()
    kw["domain"] = a.choice("domain", [None, None, "ECOMMERCE", "VIDEO_ON_DEMAND"], [5])
    if items:
        kw["creation_timestamp"] = a.choice(
            "creation_timestamp", [None, False, a.column("creation_timestamp", p_ill=0)], [5, True]
        )
        kw["textual"] = a.column("textual", optional=True)
    return kw


def _entity_call(kind: str) -> Callable[[Any, random.Random], Call]:
    def make(frame: Any, rng: random.Random) -> Call:
        a = Args(rng, frame)
        items = kind.startswith("items")
        key = "item" if items else "user"
        kw = _entity_kwargs(a, key, items)
        if kind.endswith("_from"):
            other, _ = make_frame(rng.randint(0, 10**6), rng.randint(0, 10**6))
            tables = [frame] if rng.random() < 0.3 else [frame, rng.choice([frame, other])]
            kw["how"] = a.choice("how", ["left", "inner", "outer", "cross"], [5])
            fn = pk.prep.items_from if items else pk.prep.users_from
            return repr(kw), lambda: fn(*tables, **kw), a.ill
        fn = pk.prep.items if items else pk.prep.users
        return repr(kw), lambda: fn(frame, **kw), a.ill

    return make


def _aggregate(frame: Any, rng: random.Random) -> Call:
    a = Args(rng, frame)
    key, column = a.column("key"), a.column("column")
    kw = {
        "sep": a.choice("sep", [None, "|", ","], [5, ["|"]]),
        "top": a.choice("top", [None, 1, 2, 0], ["2", 1.5]),
        "max_chars": a.choice("max_chars", [1000, 5, None], ["10"]),
        "on_too_long": a.choice("on_too_long", ["raise", "truncate"], [5]),
    }
    return (
        repr({"key": key, "column": column, **kw}),
        lambda: pk.prep.aggregate_multi_value(frame, key, column, **kw),
        a.ill,
    )


def _series(frame: Any, rng: random.Random) -> tuple[Any, str]:
    """One column of the frame as the user would pass it (Series, Arrow array or list)."""
    if isinstance(frame, pd.DataFrame):
        if not len(frame.columns):
            return pd.Series([], dtype=object), "empty"
        i = rng.randrange(len(frame.columns))
        s = frame.iloc[:, i]
        return (s.tolist() if rng.random() < 0.1 else s), f"column {i}"
    if not frame.num_columns:
        return [], "empty list"
    i = rng.randrange(frame.num_columns)
    return frame.column(i), f"arrow column {i}"


def _join(frame: Any, rng: random.Random) -> Call:
    a = Args(rng, frame)
    values, which = _series(frame, rng)
    kw = {
        "sep": a.choice("sep", [None, "|", ","], [5]),
        "max_chars": a.choice("max_chars", [1000, 3, None], ["10", [1]]),
        "on_too_long": a.choice("on_too_long", ["raise", "truncate"], [None]),
    }
    return f"{which} {kw!r}", lambda: pk.prep.join_multi_value(values, **kw), a.ill


def _epoch(frame: Any, rng: random.Random) -> Call:
    a = Args(rng, frame)
    values, which = _series(frame, rng)
    if rng.random() < 0.03:
        values = a.odd("values", [5, "2020-01-01", None])
    kw = {
        "unit": a.choice("unit", ["auto", "s", "ms", "us", "ns"], [5, None]),
        "format": a.choice("format", [None, None, "%Y-%m-%d", "%d/%m/%Y"], [5]),
        "on_missing": a.choice("on_missing", ["raise", "keep"], [5]),
        "on_invalid": a.choice("on_invalid", ["raise", "null"], [5]),
    }
    return f"{which} {kw!r}", lambda: pk.prep.epoch_seconds(values, **kw), a.ill


def _booleans_frame(frame: Any, rng: random.Random) -> Call:
    a = Args(rng, frame)
    cols = None if rng.random() < 0.5 else a.columns("columns")
    kw = {"columns": cols, "to": a.choice("to", ["string", "int"], [5, ["int"]])}
    return repr(kw), lambda: pk.prep.booleans(frame, **kw), a.ill


def _booleans_series(frame: Any, rng: random.Random) -> Call:
    a = Args(rng, frame)
    values, which = _series(frame, rng)
    if isinstance(values, list):  # booleans() takes a Series or a frame
        values = pd.Series(values, dtype=object)
    elif not isinstance(values, pd.Series):
        values = values.to_pandas()
    kw = {"to": a.choice("to", ["string", "int"], [5, None])}
    return f"{which} {kw!r}", lambda: pk.prep.booleans(values, **kw), a.ill


def _fill(frame: Any, rng: random.Random) -> Call:
    a = Args(rng, frame)
    if rng.random() < 0.04:
        policy: Any = a.odd("policy", [["a"], 5, "drop"])
    else:
        policy = {}
        for _ in range(rng.randint(0, 3)):
            key = a.column("policy", p_ill=0.02, key=True)
            if key not in policy:
                policy[key] = a.fill_value()
    kw = {
        "dataset_type": a.choice("dataset_type", [None, *DTYPES], [5, ["items"]]),
        "domain": a.choice("domain", [None, None, "ECOMMERCE"], [5]),
    }
    if kw["dataset_type"] in ("actions", "action_interactions") and isinstance(kw["domain"], str):
        kw["domain"] = None
    return repr({"policy": policy, **kw}), lambda: pk.prep.fill_missing(frame, policy, **kw), a.ill


def _rename(frame: Any, rng: random.Random) -> Call:
    a = Args(rng, frame)
    kw = {
        "dataset_type": a.choice("dataset_type", DTYPES, [5, None]),
        "columns": a.mapping("columns", ["USER_ID", "ITEM_ID", "X_Y"]),
        "domain": a.choice("domain", [None, None, "VIDEO_ON_DEMAND"], [5]),
    }
    if kw["dataset_type"] in ("actions", "action_interactions") and isinstance(kw["domain"], str):
        kw["domain"] = None
    return repr(kw), lambda: pk.prep.rename_reserved(frame, **kw), a.ill


def _write_call(dtype: str) -> Callable[[Any, random.Random], Call]:
    def make(frame: Any, rng: random.Random) -> Call:
        a = Args(rng, frame)
        r = rng.random()
        schema: Any = None
        if r < 0.4:
            schema = _random_schema(rng, a.labels, dtype)
        elif r < 0.42:
            schema = a.odd("schema", ["schema", {"fields": []}])
        chunk_rows = a.choice("chunk_rows", [1, 2, 1_000_000], ["10", 2.5])
        data = frame
        if rng.random() < 0.1 and isinstance(frame, pd.DataFrame):  # a stream of chunks
            data = iter([frame.iloc[:2], frame.iloc[2:]])
        kw = {"schema": schema, "dataset_type": dtype, "chunk_rows": chunk_rows}
        return (
            repr({**kw, "schema": schema.to_json() if isinstance(schema, Schema) else schema}),
            lambda: pk.write_csv(data, io.BytesIO(), **kw),
            a.ill,
        )

    return make


ENTRIES: dict[str, Callable[[Any, random.Random], Call]] = {
    **{f"Schema.infer[{d}]": _infer_call(d) for d in DTYPES},
    **{f"validate[{d}]": _validate_call(d) for d in DTYPES},
    "prep.ratings_to_interactions": _ratings,
    "prep.items": _entity_call("items"),
    "prep.users": _entity_call("users"),
    "prep.items_from": _entity_call("items_from"),
    "prep.users_from": _entity_call("users_from"),
    "prep.aggregate_multi_value": _aggregate,
    "prep.join_multi_value": _join,
    "prep.epoch_seconds": _epoch,
    "prep.booleans[frame]": _booleans_frame,
    "prep.booleans[series]": _booleans_series,
    "prep.fill_missing": _fill,
    "prep.rename_reserved": _rename,
    **{f"write_csv[{d}]": _write_call(d) for d in DTYPES},
}


# --------------------------------------------------------------------------- running


def _signature(exc: BaseException, well_typed: bool) -> str:
    where = "<no personakit frame>"
    for frame, line in traceback.walk_tb(exc.__traceback__):
        path = Path(frame.f_code.co_filename)
        if "personakit" in path.parts:
            rel = path.parts[path.parts.index("personakit") :]
            where = f"{'/'.join(rel)}:{line} in {frame.f_code.co_name}"
    name = type(exc).__name__
    if isinstance(exc, TypeError) and well_typed:
        name += " (arguments well typed: the data was bad)"
    return f"{name} at {where}"


def run_frame(seed: int, index: int, only: str | None = None) -> dict[str, Any]:
    """Every entry point on frame ``index``; counts and the other exceptions seen."""
    frame, desc = make_frame(seed, index)
    out: dict[str, Any] = {
        "calls": 0,
        "ok": 0,
        "validation": 0,
        "type": 0,
        "other": [],
        "validate_frames": 0,
        "slow": [],
        "no_problems": [],
        "ill_not_type": [],
    }
    validate_failed = False
    for name, make in ENTRIES.items():
        rng = random.Random(f"{seed}/{index}/{name}")
        if only is not None and name != only:
            continue
        try:
            shown, thunk, ill = make(frame, rng)
        except Exception as exc:  # the fuzzer's own bug: say so, loudly
            raise RuntimeError(f"fuzzer could not build {name} for frame {index}") from exc
        out["calls"] += 1
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                thunk()
                out["ok"] += 1
                if ill:
                    out["ill_not_type"].append((name, ill[0], "returned"))
            except ValidationError as exc:
                out["validation"] += 1
                try:  # a message that cannot be printed is no answer either
                    str(exc).encode("utf-8")
                except UnicodeEncodeError as bad:
                    out["other"].append(
                        (
                            _signature(exc, False) + " (unprintable message)",
                            name,
                            desc,
                            shown,
                            _short(bad),
                        )
                    )
                if ill:
                    out["ill_not_type"].append((name, ill[0], "ValidationError"))
                elif not getattr(exc, "problems", ()):
                    out["no_problems"].append((name, str(exc).split("\n")[0][:90]))
            except TypeError as exc:
                if ill:
                    out["type"] += 1
                else:
                    out["other"].append((_signature(exc, True), name, desc, shown, _short(exc)))
                    validate_failed |= name.startswith("validate")
            except Exception as exc:
                out["other"].append((_signature(exc, False), name, desc, shown, _short(exc)))
                validate_failed |= name.startswith("validate")
        took = time.perf_counter() - start
        if took > SLOW_S:
            out["slow"].append((took, name, index))
    out["validate_frames"] = int(validate_failed)
    return out


def _short(exc: BaseException) -> str:
    text = _safe(f"{type(exc).__name__}: {exc}".replace("\n", " "))
    return text if len(text) < 200 else text[:197] + "..."


def _safe(text: str) -> str:
    """Printable text: lone surrogates escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _work(task: Task) -> dict[str, Any]:
    seed, start, stop, only = task
    total: dict[str, Any] = collections.defaultdict(int)
    others: list[Any] = []
    slow: list[Any] = []
    ill: list[Any] = []
    bare: list[Any] = []
    for i in range(start, stop):
        res = run_frame(seed, i, only)
        for key in ("calls", "ok", "validation", "type", "validate_frames"):
            total[key] += res[key]
        ill.extend(res["ill_not_type"])
        bare.extend(res["no_problems"])
        others.extend((*o, i) for o in res["other"])
        slow.extend(res["slow"])
    return {"total": dict(total), "others": others, "slow": slow, "ill": ill, "bare": bare}


def _tasks(seed: int, frames: int, first: int, only: str | None) -> Iterator[Task]:
    step = 50
    for start in range(first, first + frames, step):
        yield seed, start, min(start + step, first + frames), only


def _run_all(tasks: list[Task], jobs: int) -> list[dict[str, Any]]:
    """Run the tasks on ``jobs`` processes. A process that dies (pyarrow crashes on some
    objects) breaks the pool and fails every task still pending: the first of those is
    run alone, then frame by frame and an entry point at a time, each in a process of
    its own, to name the call that kills the process; the others run again in a new pool."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    results: list[dict[str, Any]] = []
    pending = list(tasks)
    while pending:
        broken: list[Task] = []
        with ProcessPoolExecutor(max(1, jobs), mp_context=context) as pool:
            futures = {pool.submit(_work, t): t for t in pending}
            for future in as_completed(futures):
                try:
                    results.append(future.result())
                except BrokenProcessPool:
                    broken.append(futures[future])
        broken.sort()
        if broken:
            results.extend(_alone(broken[0], context))
        pending = broken[1:]
    return results


def _alone(task: Task, context: Any) -> list[dict[str, Any]]:
    """One task in a process of its own; if that dies, each frame in one of its own."""
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        try:
            return [pool.submit(_work, task).result()]
        except BrokenProcessPool:
            pass
    seed, start, stop, only = task
    out = []
    for index in range(start, stop):
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            try:
                out.append(pool.submit(_work, (seed, index, index + 1, only)).result())
                continue
            except BrokenProcessPool:
                pass
        out.append(_isolated(seed, index, only, context))
    return out


def _isolated(seed: int, index: int, only: str | None, context: Any) -> dict[str, Any]:
    """One frame, each entry point in a fresh process; a dead process is a crash."""
    total: dict[str, Any] = collections.defaultdict(int)
    others: list[Any] = []
    ill: list[Any] = []
    bare: list[Any] = []
    for name in ENTRIES:
        if only is not None and name != only:
            continue
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            try:
                res = pool.submit(_work, (seed, index, index + 1, name)).result()
            except BrokenProcessPool:
                _, desc = make_frame(seed, index)
                total["calls"] += 1
                others.append(("process crashed", name, desc, "", "the process died", index))
                continue
        for key, value in res["total"].items():
            total[key] += value
        others.extend(res["others"])
        ill.extend(res["ill"])
        bare.extend(res["bare"])
    return {"total": dict(total), "others": others, "slow": [], "ill": ill, "bare": bare}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=10_000, help="random frames to try")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--frame", type=int, default=None, help="run this frame only (a reproducer)"
    )
    parser.add_argument(
        "--entry", default=None, help=f"run this entry point only: {', '.join(ENTRIES)}"
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--show", type=int, default=40, help="signatures to print at most")
    parser.add_argument("--traceback", action="store_true", help="with --frame: print tracebacks")
    args = parser.parse_args(argv)
    if args.entry is not None and args.entry not in ENTRIES:
        parser.error(f"unknown entry {args.entry!r}; one of {', '.join(ENTRIES)}")
    if args.frame is not None:
        return _one(args.seed, args.frame, args.entry, args.traceback)
    started = time.perf_counter()
    tasks = list(_tasks(args.seed, args.frames, 0, args.entry))
    total: dict[str, int] = collections.defaultdict(int)
    others: list[Any] = []
    slow: list[Any] = []
    ill: list[Any] = []
    bare: list[Any] = []
    results = _run_all(tasks, args.jobs)
    for res in results:
        for key, value in res["total"].items():
            total[key] += value
        others.extend(res["others"])
        slow.extend(res["slow"])
        ill.extend(res["ill"])
        bare.extend(res["bare"])
    took = time.perf_counter() - started
    by_sig: dict[str, list[Any]] = collections.defaultdict(list)
    for sig, name, desc, shown, text, index in others:
        by_sig[sig].append((index, name, desc, shown, text))
    print(f"frames: {args.frames:,} (seed {args.seed}), entry points: {len(ENTRIES)}, {took:.0f} s")
    print(f"calls: {total['calls']:,}")
    print(f"  returned: {total['ok']:,}")
    print(f"  ValidationError: {total['validation']:,}")
    print(f"  TypeError (an argument of the wrong Python type): {total['type']:,}")
    print(f"other exceptions: {len(others):,}")
    print(f"  distinct signatures: {len(by_sig)}")
    print(f"  frames on which validate raised: {total['validate_frames']:,}")
    print(f"calls with an ill-typed argument not answered with TypeError: {len(ill):,}")
    for (entry, argument, outcome), count in collections.Counter(ill).most_common(args.show):
        print(f"  {count:>6,}  {entry}: {argument} -> {outcome}")
    print(f"ValidationErrors without problems on well-typed calls (bad values): {len(bare):,}")
    for (entry, message), count in collections.Counter(bare).most_common(args.show):
        print(f"  {count:>6,}  {entry}: {message}")
    print(f"slow calls (> {SLOW_S:.0f} s): {len(slow)}")
    for took_s, name, index in sorted(slow, reverse=True)[:5]:
        print(f"  {took_s:.1f} s {name} frame {index}")
    ranked = sorted(by_sig.items(), key=lambda kv: -len(kv[1]))
    for sig, hits in ranked[: args.show]:
        index, name, desc, shown, text = min(hits)
        entries = collections.Counter(h[1] for h in hits)
        print(f"\n[{len(hits)}] {sig}")
        print(f"  entries: {', '.join(f'{e} ({c})' for e, c in entries.most_common(4))}")
        print(f"  {text}")
        print(_safe(f"  frame: {desc[:300]}"))
        print(_safe(f"  args: {shown[:300]}"))
        print(
            f"  reproduce: python benchmarks/fuzz_data.py --seed {args.seed} --frame {index} "
            f"--entry '{name}' --traceback"
        )
    return 1 if others else 0


def _one(seed: int, index: int, only: str | None, show_tb: bool) -> int:
    """Run one frame (and one entry point), printing the frame and every failure."""
    frame, desc = make_frame(seed, index)
    print(desc)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        shown = frame if not isinstance(frame, (pa.Table, pa.RecordBatch)) else frame.schema
        print(_safe(str(shown)))
    bad = 0
    for name in ENTRIES:
        if only is not None and name != only:
            continue
        shown, thunk, ill = ENTRIES[name](frame, random.Random(f"{seed}/{index}/{name}"))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                thunk()
            print(_safe(f"{name}: returned {shown}"))
        except ValidationError as exc:
            print(f"{name}: ValidationError {_short(exc)}")
        except Exception as exc:
            wrong = isinstance(exc, TypeError) and ill
            bad += not wrong
            print(_safe(f"{name}: {'' if wrong else 'OTHER '}{_short(exc)}\n  args {shown}"))
            if show_tb and not wrong:
                traceback.print_exception(exc)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
