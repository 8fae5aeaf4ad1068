"""Check data against every Amazon Personalize data rule, before anything is uploaded.

Layer 1 (pure rules, no I/O). :func:`validate` takes the frames of a dataset group
(pandas DataFrames or pyarrow Tables), infers or takes their schemas, and returns
one :class:`~personakit.DataReport` listing every problem (rule, column, count,
example rows and values, fix) plus diagnostics in ``report.stats``. It does not
raise for bad data: call ``report.raise_for_problems()``.

Every number that comes from AWS cites ``shared/reference/personalize.md``
(§1.2 reserved fields, §1.4 value limits, §2.1 training minimums, §3.3 domain use
cases). The checks run on Arrow columns with ``pyarrow.compute`` and numpy: a few
vectorised passes per column, no Python loop over rows. Ids are encoded once (integer
ids in a range no wider than the column as ``value - min``, others with Arrow's
dictionary encoding) and every id rule works on the distinct values. Integer and
datetime timestamps are checked on their extremes first and converted row by row only
when a rule has something to report.

Duplicate rows are found through a 64-bit hash of each row (all columns), sorted
with numpy on a second thread while the other Interactions checks run; two different
rows with the same hash (odds about n²/2⁶⁵) would be counted as duplicates.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import attrs

from personakit.errors import ValidationError
from personakit.rules.facts import (
    EPOCH_UNITS,
    SECONDS_MAX,
    USE_CASES,
    Domain,
    UseCase,
    find_use_case,
)
from personakit.rules.report import DataReport, Problem, Severity
from personakit.rules.schema import (
    NUMERIC_TYPES,
    RESERVED,
    DatasetType,
    Field,
    FrameLike,
    Schema,
    to_arrow,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

    BoolArray = npt.NDArray[np.bool_]
    IntArray = npt.NDArray[np.int64]
    CodeArray = npt.NDArray[np.int32]
    FloatArray = npt.NDArray[np.float64]
    Column = pa.ChunkedArray[Any]

__all__ = ["validate"]

# --------------------------------------------------------------------------- limits

#: USER_ID / ITEM_ID / ACTION_ID values: at most 256 characters (reference §1.4).
MAX_ID_CHARS = 256
#: Categorical values (measured ``|``-joined), IMPRESSION values and the other string
#: values of Items: at most 1000 characters, or the import job fails (reference §1.4).
MAX_CATEGORICAL_CHARS = 1000
#: Textual values: longer ones are truncated (20,000; 7,000 for Chinese/Japanese; §1.4).
MAX_TEXTUAL_CHARS = 20_000
MAX_TEXTUAL_CHARS_CJK = 7_000
#: Training minimums (reference §2.1).
MIN_INTERACTIONS = 1000
MIN_IMPORT_RECORDS = 1000
MIN_USERS_2PLUS = 25
MIN_USERS_2PLUS_SHARE = 0.01
MIN_USE_CASE_EVENTS = 1000
#: (optional metadata columns incl. EVENT_TYPE/EVENT_VALUE) + distinct event types (§1.2).
MAX_METADATA_PLUS_EVENT_TYPES = 10
#: Next-Best-Action: per action, 50 TAKEN and 50 NOT_TAKEN/VIEWED within 6 weeks (§2.1).
NBA_MIN_PER_ACTION = 50
NBA_WINDOW_S = 42 * 86_400
FUTURE_SLACK_S = 86_400
#: Diagnostics that earn a warning.
MANY_SINGLE_USERS = 0.5
CONCENTRATED_TOP1PCT = 0.8

_ID_FIELDS = ("USER_ID", "ITEM_ID", "ACTION_ID")
_TIMESTAMP_FIELDS = (
    "TIMESTAMP",
    "CREATION_TIMESTAMP",
    "EXPIRATION_TIMESTAMP",
    "ACTION_EXPIRATION_TIMESTAMP",
)
_EXPIRATION_FIELDS = ("EXPIRATION_TIMESTAMP", "ACTION_EXPIRATION_TIMESTAMP")
_RANGES = {
    "int": (-(2.0**31), 2.0**31 - 1),
    "long": (-(2.0**63), 2.0**63 - 1),
    "float": (-3.4028234663852886e38, 3.4028234663852886e38),
}
_NUMERIC_STRING = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
_CJK = "[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]"
_ACTION_KINDS = ("TAKEN", "NOT_TAKEN", "VIEWED")
_CATALOG_IDS = {
    DatasetType.ITEMS: "ITEM_ID",
    DatasetType.USERS: "USER_ID",
    DatasetType.ACTIONS: "ACTION_ID",
}
_DRIFT_TOP = 100
_USE_CASE_NAMES = frozenset(n for cases in USE_CASES.values() for n in cases)
#: Above this many interactions, the repeat rate and the drift diagnostics are estimated
#: from about this many rows (a share of the users; every k-th row).
_SAMPLE_ROWS = 1_000_000
_HASH_KEY = 0x9E3779B97F4A7C15
#: Integer ids whose range (max - min + 1) is at most max(rows, this) are encoded as
#: ``value - min`` rather than through a hash table (:meth:`_Codes.of`).
_DENSE_MIN_SPAN = 1 << 16


# --------------------------------------------------------------------------- arrow helpers


def _is_stringy(t: pa.DataType) -> bool:
    import pyarrow as pa
    import pyarrow.types as pat

    if pat.is_dictionary(t):
        return _is_stringy(cast("pa.DictionaryType[Any, Any]", t).value_type)
    return bool(pat.is_string(t) or pat.is_large_string(t) or t == pa.string_view())


def _is_list(t: pa.DataType) -> bool:
    import pyarrow.types as pat

    return bool(pat.is_list(t) or pat.is_large_list(t) or pat.is_fixed_size_list(t))


def _is_string_list(t: pa.DataType) -> bool:
    return _is_list(t) and _is_stringy(cast("pa.ListType[Any]", t).value_type)


def _is_numeric(t: pa.DataType) -> bool:
    import pyarrow.types as pat

    return bool(pat.is_integer(t) or pat.is_floating(t) or pat.is_decimal(t))


def _is_temporal(t: pa.DataType) -> bool:
    import pyarrow.types as pat

    return bool(pat.is_timestamp(t) or pat.is_date(t))


def _one_array(values: Any) -> pa.Array[Any]:
    """One contiguous Arrow array from an array or chunked array."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks == 0:
            return cast("pa.Array[Any]", pa.array([], type=values.type))
        one = values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()
        return cast("pa.Array[Any]", one)
    return cast("pa.Array[Any]", values)


def _arr(values: object) -> pa.Array[Any]:
    """The result of a ``pyarrow.compute`` call on an array (the stubs type it loosely)."""
    return cast("pa.Array[Any]", values)


def _bools(mask: Any) -> BoolArray:
    """An Arrow boolean (chunked) array as numpy, nulls as False."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    filled = _arr(pc.fill_null(_one_array(mask), pa.scalar(False)))
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)


def _floats(col: Column, step: int = 1) -> FloatArray:
    """A numeric or temporal column as float64 numpy, nulls as NaN (temporal: seconds).

    With ``step``, only every ``step``-th row (from the first), the same values as
    ``_floats(col)[::step]`` without converting the other rows.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    arr = _one_array(col)
    t = arr.type
    scale = 1.0
    if pat.is_timestamp(t):
        unit = t.unit
        scale = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[unit]
        arr = arr.view(pa.int64())
    elif pat.is_date32(t):
        scale, arr = 86_400.0, arr.view(pa.int32())
    elif pat.is_date64(t):
        scale, arr = 1e-3, arr.view(pa.int64())
    if arr.null_count or not (pat.is_integer(arr.type) or pat.is_floating(arr.type)):
        values = _arr(pc.cast(arr, pa.float64(), safe=False))
        arr = _arr(pc.fill_null(values, pa.scalar(math.nan)))
    raw = np.asarray(arr.to_numpy(zero_copy_only=False))  # no copy for numbers without nulls
    if step > 1:
        raw = raw[::step]
    out: FloatArray = (
        np.multiply(raw, scale, dtype=np.float64)
        if scale != 1.0
        else np.asarray(raw, dtype=np.float64)
    )
    return out


def _seconds_range(col: Column) -> tuple[float, float] | None:
    """(min, max) of an integer or temporal column as :func:`_floats` gives them.

    One Arrow pass, no float copy of the column: scaling is monotonic, so the extremes
    of the scaled values are the scaled extremes. ``None`` for other types (floats
    may hold NaN) and for columns without a value.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    t = col.type
    if not (pat.is_integer(t) or _is_temporal(t)) or col.null_count == len(col):
        return None
    scale = 1.0
    if pat.is_timestamp(t):
        scale = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[t.unit]
        col = col.cast(pa.int64())
    elif pat.is_date32(t):
        scale, col = 86_400.0, col.cast(pa.int32())
    elif pat.is_date64(t):
        scale, col = 1e-3, col.cast(pa.int64())
    lo_hi = pc.min_max(col)
    ends = np.array([lo_hi["min"].as_py(), lo_hi["max"].as_py()], dtype=col.type.to_pandas_dtype())
    scaled = np.multiply(ends, scale, dtype=np.float64) if scale != 1.0 else ends.astype(np.float64)
    return float(scaled[0]), float(scaled[1])


def _plain(arr: pa.Array[Any]) -> pa.Array[Any]:
    """Dictionary-decoded, list values ``|``-joined, as Arrow strings."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    if pat.is_dictionary(arr.type):
        arr = cast("pa.DictionaryArray[Any, Any]", arr).dictionary_decode()
    if _is_list(arr.type):
        arr = cast("pa.Array[Any]", pc.binary_join(arr, pa.scalar("|")))
    return arr


def _lengths(col: Column) -> pa.Array[Any]:
    """Characters per value (lists measured ``|``-joined) as int64, nulls kept."""
    import pyarrow.compute as pc
    import pyarrow.types as pat

    arr = _one_array(col)
    if pat.is_dictionary(arr.type):  # measure the dictionary once, then look up
        dictionary = cast("pa.DictionaryArray[Any, Any]", arr)
        per_value = _utf8_length(_plain(dictionary.dictionary))
        return _arr(pc.take(per_value, dictionary.indices))
    return _utf8_length(_plain(arr))


def _utf8_length(arr: pa.Array[Any]) -> pa.Array[Any]:
    """Characters per string, as int64."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lengths: Any = pc.utf8_length(cast(Any, arr))
    return _arr(pc.cast(lengths, pa.int64()))


def _max(values: pa.Array[Any]) -> float:
    import pyarrow.compute as pc

    top = pc.max(values).as_py() if len(values) else None
    return -math.inf if top is None else float(top)


def _greater(values: pa.Array[Any], limit: float) -> BoolArray:
    import pyarrow as pa
    import pyarrow.compute as pc

    return _bools(pc.greater(values, pa.scalar(limit)))


def _bincount(codes: CodeArray, size: int) -> IntArray:
    """Occurrences of each code in ``0..size-1`` (-1 ignored), a block at a time.

    ``np.bincount`` converts its input to int64 first; blocks keep that copy small.
    """
    import numpy as np

    counts = np.zeros(size + 1, dtype=np.int64)
    block = 1 << 20
    for start in range(0, len(codes), block):
        # code -1 -> the extra last bin, dropped below
        chunk = codes[start : start + block].astype(np.int64)
        chunk[chunk < 0] = size
        counts += np.bincount(chunk, minlength=size + 1)
    return counts[:size]


def _first_rows(mask: BoolArray, k: int = 5) -> list[int]:
    """Positions of the first ``k`` true values, scanning a block at a time."""
    import numpy as np

    rows: list[int] = []
    block = 1 << 20
    for start in range(0, len(mask), block):
        hits = np.flatnonzero(mask[start : start + block])[: k - len(rows)]
        rows.extend(int(start + h) for h in hits)
        if len(rows) >= k:
            break
    return rows


def _take(col: Column | None, rows: Sequence[int]) -> list[object]:
    import pyarrow as pa

    if col is None or not rows:
        return []
    return list(col.take(pa.array(list(rows), type=pa.int64())).to_pylist())


@attrs.define
class _Codes:
    """A column dictionary-encoded: ``codes[row]`` indexes ``uniques`` (-1 for null)."""

    codes: CodeArray
    uniques: pa.Array[Any]
    counts: IntArray
    nulls: int
    #: True for the dense integer encoding: ``uniques`` is a sorted range.
    ranged: bool = False

    @classmethod
    def of(cls, col: Column, *, dense: bool = False) -> _Codes:
        """Encode ``col``; with ``dense``, integers in a narrow range skip the hash table."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.types as pat

        arr = _one_array(col)
        if dense and pat.is_integer(arr.type):
            ranged = cls._dense(arr)
            if ranged is not None:
                return ranged
        if pat.is_dictionary(arr.type):
            # a dictionary may repeat values: encode the dictionary, remap the indices
            given = cast("pa.DictionaryArray[Any, Any]", arr)
            enc = cast("pa.DictionaryArray[Any, Any]", pc.dictionary_encode(given.dictionary))
            indices = pc.take(enc.indices, given.indices)
        else:
            enc = cast("pa.DictionaryArray[Any, Any]", pc.dictionary_encode(_plain(arr)))
            indices = enc.indices
        as_int32 = _arr(pc.cast(indices, pa.int32()))
        nulls = as_int32.null_count
        if nulls:
            as_int32 = _arr(pc.fill_null(as_int32, pa.scalar(-1, pa.int32())))
        codes = np.asarray(as_int32.to_numpy(zero_copy_only=False), dtype=np.int32)
        return cls(codes, enc.dictionary, _bincount(codes, len(enc.dictionary)), nulls)

    @classmethod
    def _dense(cls, arr: pa.Array[Any]) -> _Codes | None:
        """Integer ids in a range no wider than the column: ``code = value - min``.

        No hash table: one subtraction per row. ``uniques`` is the whole range
        ``min..max`` in ascending order, so it can hold values no row has (count 0);
        :meth:`first_seen` restores the order a hash encoding would give.
        """
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(arr)
        if n == 0 or arr.null_count == n:
            return None
        lo_hi = pc.min_max(arr)
        lo, hi = int(lo_hi["min"].as_py()), int(lo_hi["max"].as_py())
        span = hi - lo + 1
        if span > max(n, _DENSE_MIN_SPAN) or span >= 2**31:
            return None
        nulls = arr.null_count
        filled = _arr(pc.fill_null(arr, lo_hi["min"])) if nulls else arr
        values = np.asarray(filled.to_numpy(zero_copy_only=False))
        codes = np.empty(n, dtype=np.int32)
        # computed in 64 bits (value - min is in 0..span-1 < 2**31), stored as int32
        wide = np.uint64 if values.dtype == np.uint64 else np.int64
        np.subtract(values, wide(lo), out=codes, dtype=wide, casting="unsafe")
        if nulls:
            codes[_bools(pc.is_null(arr))] = -1
        uniques = pa.array(np.arange(lo, hi + 1, dtype=values.dtype), type=arr.type)
        if not nulls and values.dtype == np.intp and 0 <= lo <= span:
            counts = np.bincount(values, minlength=hi + 1)[lo:]  # no int64 copy of the codes
        else:
            counts = _bincount(codes, span)
        return cls(codes, uniques, counts, nulls, ranged=True)

    def rows(self, flags: BoolArray) -> BoolArray:
        """Rows whose value is flagged (``flags`` has one entry per unique value)."""
        import numpy as np

        lookup = np.append(np.asarray(flags, dtype=bool), False)  # code -1 -> False
        out: BoolArray = lookup[self.codes]
        return out

    def flags(self, test: Callable[[object], bool]) -> BoolArray:
        """``test`` applied to each unique value (few: event types, not ids)."""
        import numpy as np

        return np.array([test(v) for v in self.uniques.to_pylist()], dtype=bool)

    def strings(self, *, present: bool = False) -> pa.Array[Any] | None:
        """The unique values as strings (to compare ids across frames).

        With ``present``, only the values some row has (not aligned with ``counts``).
        """
        import pyarrow as pa

        uniques = self.uniques
        if present and not bool((self.counts > 0).all()):
            uniques = uniques.filter(pa.array(self.counts > 0))
        try:
            return uniques.cast(pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None

    def first_seen(self, flags: BoolArray) -> list[object]:
        """The flagged unique values, in the order of their first row."""
        import numpy as np
        import pyarrow as pa

        flags = np.asarray(flags, dtype=bool)
        if not self.ranged:  # a hash encoding numbers values by first appearance
            return list(self.uniques.filter(pa.array(flags)).to_pylist())
        rows = np.flatnonzero(self.rows(flags))
        found, first = np.unique(self.codes[rows], return_index=True)
        order = found[np.argsort(first, kind="stable")]
        return list(self.uniques.take(pa.array(order, type=pa.int64())).to_pylist())


# --------------------------------------------------------------------------- state


@attrs.define
class _Data:
    """One dataset: its Arrow table, its schema, and per-column work done once."""

    dtype: DatasetType
    table: pa.Table
    schema: Schema
    inferred: bool
    _codes: dict[str, _Codes] = attrs.field(factory=dict)
    #: one lock per column name: checks on two threads encode a column once
    _locks: dict[str, threading.Lock] = attrs.field(factory=dict)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    @property
    def n(self) -> int:
        return int(self.table.num_rows)

    def field(self, name: str) -> Field | None:
        return self.schema[name] if name in self.schema else None  # noqa: SIM401

    def col(self, name: str) -> Column | None:
        f = self.field(name)
        if f is None or f.column not in self.table.column_names:
            return None
        return self.table.column(f.column)

    def column_of(self, name: str) -> str:
        f = self.field(name)
        return f.column if f is not None else name

    def codes(self, name: str) -> _Codes | None:
        with self._lock:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._codes:
                col = self.col(name)
                if col is None:
                    return None
                self._codes[name] = _Codes.of(col, dense=name in _ID_FIELDS)
            return self._codes[name]

    def floats(self, name: str) -> FloatArray | None:
        """A numeric or temporal column as float64 (NaN for null; temporal: seconds).

        Not cached: holding it would cost 8 bytes a row for the whole run.
        """
        col = self.col(name)
        if col is None or not (_is_numeric(col.type) or _is_temporal(col.type)):
            return None
        return _floats(col)


@attrs.define
class _Run:
    """The options of one ``validate`` call and what it has found so far."""

    now: float
    event_types: tuple[str, ...] | None
    event_value_threshold: float | None
    domain: Domain | None = None
    use_cases: tuple[UseCase, ...] = ()
    problems: list[Problem] = attrs.field(factory=list)
    stats: dict[str, float] = attrs.field(factory=dict)
    #: (dataset type, field) pairs whose missing values were reported row by row
    required_null: set[tuple[DatasetType, str]] = attrs.field(factory=set)

    def child(self) -> _Run:
        """A run with the same options and nothing found yet (for another thread)."""
        return _Run(
            self.now, self.event_types, self.event_value_threshold, self.domain, self.use_cases
        )

    def merge(self, other: _Run) -> None:
        """Add what ``other`` (a :meth:`child`) found, after what this run found."""
        self.problems.extend(other.problems)
        self.stats.update(other.stats)
        self.required_null |= other.required_null

    def add(
        self,
        severity: Severity,
        rule: str,
        message: str,
        *,
        column: str | None = None,
        count: int = 0,
        rows: Sequence[int] = (),
        values: Sequence[object] = (),
        fix: str | None = None,
    ) -> None:
        self.problems.append(
            Problem.with_examples(
                severity,
                rule,
                message,
                column=column,
                count=count,
                rows=rows,
                values=values,
                fix=fix,
            )
        )

    def rows(
        self,
        severity: Severity,
        rule: str,
        message: str,
        *,
        data: _Data,
        field: str,
        mask: BoolArray,
        fix: str | None = None,
    ) -> int:
        """Report the rows ``mask`` flags, if any; ``{n}`` in the message is their count."""
        count = int(mask.sum())
        if count:
            rows = _first_rows(mask)
            self.add(
                severity,
                rule,
                f"{data.dtype.value}: {message.replace('{n}', f'{count:,}')}",
                column=data.column_of(field),
                count=count,
                rows=rows,
                values=_take(data.col(field), rows),
                fix=fix,
            )
        return count

    def guard(self, data: _Data, what: str, check: Callable[[], object]) -> None:
        """Run one check; an Arrow error on odd data becomes a warning, not a crash."""
        import pyarrow as pa

        try:
            check()
        except pa.ArrowException as exc:
            self.add(
                "warning",
                "check-failed",
                f"{data.dtype.value}: could not check {what} ({type(exc).__name__}: {exc})",
            )


def _prefixed(p: Problem, dtype: DatasetType) -> Problem:
    prefix = f"{dtype.value}: "
    return p if p.message.startswith(prefix) else attrs.evolve(p, message=prefix + p.message)


def _reserved(schema: Schema) -> Mapping[str, Any]:
    key = (schema.dataset_type, schema.domain)
    return RESERVED[key] if key in RESERVED else RESERVED[(schema.dataset_type, None)]


# --------------------------------------------------------------------------- schemas


def _table(frame: FrameLike, dtype: DatasetType, run: _Run) -> pa.Table | None:
    """The frame as Arrow; columns Arrow cannot hold are reported and left out."""
    import pandas as pd
    import pyarrow as pa

    try:
        return to_arrow(frame)
    except ValidationError as exc:
        problems = list(exc.problems) or [Problem("error", "frame-invalid", str(exc))]
    except (OverflowError, pa.ArrowException):  # to_arrow lets these through
        problems = _unconvertible(frame)
    run.problems.extend(_prefixed(p, dtype) for p in problems)
    bad = {p.column for p in problems if p.rule in ("mixed-types", "unconvertible-column")}
    if not bad or not isinstance(frame, pd.DataFrame):
        return None
    try:
        return to_arrow(frame[[c for c in frame.columns if str(c) not in bad]])
    except (ValidationError, OverflowError, pa.ArrowException):
        return None


def _unconvertible(frame: FrameLike) -> list[Problem]:
    """The pandas columns Arrow cannot convert (e.g. integers beyond 64 bits)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    if not isinstance(frame, pd.DataFrame):
        return [Problem("error", "frame-invalid", "the frame cannot be converted to Arrow")]
    problems = []
    for name in frame.columns:
        column = frame[name]
        try:
            pa.array(column, from_pandas=True)
        except (OverflowError, pa.ArrowException) as exc:
            try:
                numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
            except (TypeError, ValueError):
                numbers = np.zeros(len(column))
            with np.errstate(invalid="ignore"):
                rows = np.flatnonzero(np.abs(numbers) >= 2.0**63)
            problems.append(
                Problem.with_examples(
                    "error",
                    "unconvertible-column",
                    f"Arrow cannot hold these values ({type(exc).__name__}: {exc})",
                    column=str(name),
                    count=len(rows) or len(column),
                    rows=rows[:5].tolist(),
                    values=column.iloc[rows[:5]].tolist(),
                    fix="integers beyond 64 bits: store them as strings (ids) or floats",
                )
            )
    return problems or [Problem("error", "frame-invalid", "the frame cannot be converted to Arrow")]


def _columns_for(
    columns: Mapping[str, str] | None, table: pa.Table, dtype: DatasetType
) -> dict[str, str]:
    """The part of ``columns=`` that applies to this frame."""
    if not columns:
        return {}
    own = {name for (t, _), fields in RESERVED.items() if t is dtype for name in fields}
    anywhere = {name for fields in RESERVED.values() for name in fields}
    names = set(table.column_names)
    return {
        str(c): str(f)
        for c, f in columns.items()
        if str(c) in names and (f in own or f not in anywhere)
    }


def _infer(
    table: pa.Table,
    dtype: DatasetType,
    domain: Domain | None,
    columns: dict[str, str],
    run: _Run,
) -> Schema | None:
    """Schema.infer, reporting its problems and its schema's warnings.

    When inference fails, its errors are reported and a stand-in schema is inferred
    so the data can still be checked: unsupported columns left out, rows missing a
    required value set aside (the data checks report those rows one by one) and,
    if that is not enough, without the domain's required fields.
    """
    try:
        schema = Schema.infer(table, dtype, domain=domain, columns=columns)
    except ValidationError as exc:
        problems = list(exc.problems)
        if not problems:
            problems = [Problem("error", "schema-inference", str(exc).split("\n")[0])]
    except Exception as exc:  # a bug in inference must not hide the data's problems
        run.add(
            "error",
            "internal-error",
            f"{dtype.value}: schema inference failed ({type(exc).__name__}: {exc}); "
            "pass schemas={...} to check the data",
        )
        return None
    else:
        _schema_problems(schema, run, skip_errors=True)
        return schema
    run.problems.extend(_prefixed(p, dtype) for p in problems)
    unsupported = {p.column for p in problems if p.rule == "unsupported-type"}
    required = {p.column for p in problems if p.rule == "reserved-nullable"}
    retry = table.drop_columns([c for c in table.column_names if c in unsupported])
    if required:
        retry = retry.drop_null()
    kept = {c: f for c, f in columns.items() if c in retry.column_names}
    for stand_in_domain in dict.fromkeys((domain, None)):
        try:
            stand_in = Schema.infer(retry, dtype, domain=stand_in_domain, columns=kept)
        except Exception:  # the errors are reported above
            continue
        if stand_in_domain is domain:
            _schema_problems(stand_in, run, skip_errors=True)
        fields = [
            attrs.evolve(f, nullable=True)
            if f.name not in required and table.column(f.column).null_count
            else f
            for f in stand_in.fields
        ]
        return attrs.evolve(stand_in, fields=fields)
    return None


def _schema_problems(schema: Schema, run: _Run, *, skip_errors: bool) -> None:
    try:
        report = schema.check()
    except Exception as exc:  # check() must not take validate down with it
        run.add(
            "error",
            "internal-error",
            f"{schema.dataset_type.value}: schema check failed ({type(exc).__name__}: {exc})",
        )
        return
    for p in report.problems:
        if not (skip_errors and p.severity == "error"):  # inference reported those
            run.problems.append(_prefixed(p, schema.dataset_type))


# --------------------------------------------------------------------------- field checks


def _check_columns(data: _Data, run: _Run) -> None:
    names = list(data.table.column_names)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        run.add(
            "error",
            "duplicate-columns",
            f"{data.dtype.value}: duplicate column names {', '.join(dup)}",
            column=dup[0],
            count=len(dup),
        )
    for f in data.schema.fields:
        if f.column not in names:
            run.add(
                "error",
                "column-missing",
                f"{data.dtype.value}: the schema has {f.name} but the frame has no column "
                f"{f.column!r}; Personalize rejects a CSV without every schema column",
                column=f.column,
                count=data.n,
                fix=f"add the column, or map yours with columns={{'yours': {f.name!r}}}",
            )
    used = {f.column for f in data.schema.fields}
    extra = [n for n in names if n not in used]
    if extra and not data.inferred:
        run.add(
            "warning",
            "column-not-in-schema",
            f"{data.dtype.value}: columns not in the schema are not imported: {', '.join(extra)}",
            column=extra[0],
            count=len(extra),
            fix="drop them, or add fields for them to the schema",
        )


def _check_nulls(data: _Data, f: Field, col: Column, run: _Run) -> None:
    import pyarrow.compute as pc

    if not col.null_count:
        return
    rule = _reserved(data.schema).get(f.name)
    required = bool(rule is not None and rule.required)
    if not required and f.nullable:
        return
    mask = _bools(pc.is_null(col))
    if required:
        if data.inferred:
            run.required_null.add((data.dtype, f.name))
        run.rows(
            "error",
            "required-null",
            f"{{n}} rows have no {f.name}, which Personalize requires",
            data=data,
            field=f.name,
            mask=mask,
            fix=f"drop those rows: df.dropna(subset=[{f.column!r}])",
        )
    else:
        run.rows(
            "error",
            "null-not-nullable",
            f"{{n}} rows have no {f.name}, which the schema does not allow",
            data=data,
            field=f.name,
            mask=mask,
            fix='make the field nullable (["null", type]) or fill the values',
        )


def _check_type(data: _Data, f: Field, col: Column, run: _Run) -> bool:
    """Can the column be written as the field's type? Reports it when not."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    t = col.type
    if pat.is_null(t):
        return False
    if f.type in NUMERIC_TYPES:
        if _is_numeric(t) or _is_temporal(t) or pat.is_boolean(t):
            return True
        if _is_stringy(t):
            numeric = pc.match_substring_regex(_plain(_one_array(col)), _NUMERIC_STRING)
            bad = ~_bools(numeric) & ~_bools(pc.is_null(col))
            tip = " (pk.prep.epoch_seconds for dates)" if f.name in _TIMESTAMP_FIELDS else ""
            run.rows(
                "error",
                "type-mismatch",
                f"{{n}} values of {f.name} ({f.type}) are not numbers",
                data=data,
                field=f.name,
                mask=bad,
                fix=f"convert the column to numbers{tip}",
            )
            return False
    elif f.type == "string":
        if _is_stringy(t) or _is_numeric(t) or _is_temporal(t) or _is_string_list(t):
            return True
        if pat.is_boolean(t) or t == pa.null():
            return True
    elif f.type == "boolean" and pat.is_boolean(t):
        return True
    run.add(
        "error",
        "type-mismatch",
        f"{data.dtype.value}: a column of {t} cannot be written as {f.name} ({f.type})",
        column=f.column,
        count=data.n,
        fix=f"convert the column to {f.type} or change the schema",
    )
    return False


def _check_ids(data: _Data, f: Field, run: _Run) -> None:
    """Length and emptiness of id values, computed on the distinct values (§1.4)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = data.codes(f.name)
    if codes is None or not _is_stringy(codes.uniques.type):
        return
    lengths = _arr(pc.fill_null(_utf8_length(codes.uniques), pa.scalar(0, pa.int64())))
    too_long = np.asarray(lengths.to_numpy(zero_copy_only=False)) > MAX_ID_CHARS
    run.rows(
        "error",
        "id-too-long",
        f"{{n}} {f.name} values are longer than {MAX_ID_CHARS} characters",
        data=data,
        field=f.name,
        mask=codes.rows(too_long) if too_long.any() else np.zeros(0, dtype=bool),
        fix="shorten the ids, e.g. hash them (hashlib.sha256(id.encode()).hexdigest())",
    )
    trimmed = _arr(pc.utf8_trim_whitespace(cast(Any, codes.uniques)))
    blank = pc.equal(_utf8_length(trimmed), pa.scalar(0, pa.int64()))
    empty = _bools(blank)
    run.rows(
        "error",
        "id-empty",
        f"{{n}} {f.name} values are empty or blank",
        data=data,
        field=f.name,
        mask=codes.rows(empty) if empty.any() else np.zeros(0, dtype=bool),
        fix="drop those rows or give them real ids",
    )


def _check_text(data: _Data, f: Field, col: Column, run: _Run) -> None:
    """Categorical, IMPRESSION and Items string values <= 1000; textual <= 20,000 (§1.4)."""
    import numpy as np
    import pyarrow.compute as pc

    impression = f.name == "IMPRESSION"
    if not (f.textual or f.categorical or impression or data.dtype is DatasetType.ITEMS):
        return
    lengths = _lengths(col)
    longest = _max(lengths)
    if f.textual:
        if longest <= MAX_TEXTUAL_CHARS_CJK:
            return
        flagged = _greater(lengths, MAX_TEXTUAL_CHARS)
        middle = np.flatnonzero(_greater(lengths, MAX_TEXTUAL_CHARS_CJK) & ~flagged)
        if len(middle):
            texts = _plain(_one_array(col.take(middle)))
            flagged[middle[_bools(pc.match_substring_regex(texts, _CJK))]] = True
        run.rows(
            "warning",
            "textual-too-long",
            f"{{n}} {f.name} texts are longer than {MAX_TEXTUAL_CHARS:,} characters "
            f"({MAX_TEXTUAL_CHARS_CJK:,} in Chinese or Japanese); Personalize truncates them",
            data=data,
            field=f.name,
            mask=flagged,
            fix=f"keep the start: df[{f.column!r}].str.slice(0, {MAX_TEXTUAL_CHARS})",
        )
        return
    if longest <= MAX_CATEGORICAL_CHARS:
        return
    what = "IMPRESSION lists" if impression else f"{f.name} values"
    run.rows(
        "error",
        "impression-too-long" if impression else "categorical-too-long",
        f"{{n}} {what} are longer than {MAX_CATEGORICAL_CHARS} characters (lists measured "
        "|-joined); the import job fails",
        data=data,
        field=f.name,
        mask=_greater(lengths, MAX_CATEGORICAL_CHARS),
        fix="keep fewer values per row"
        if impression or f.categorical
        else "make it the textual field (Items allow one) or shorten it",
    )


def _check_numbers(data: _Data, f: Field, col: Column, run: _Run) -> None:
    """Non-finite values, values outside the Avro type, fractions in integer fields."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    t = col.type
    if not _is_numeric(t):
        return
    if pat.is_floating(t):
        run.rows(
            "error",
            "numeric-not-finite",
            f"{{n}} {f.name} values are infinite or NaN",
            data=data,
            field=f.name,
            mask=~_bools(pc.is_finite(col)) & ~_bools(pc.is_null(col)),
            fix="replace them with null (in a nullable field) or a finite number",
        )
    if f.type not in _RANGES or col.null_count == len(col):
        return
    lo_hi = pc.min_max(col)
    lo, hi = float(lo_hi["min"].as_py()), float(lo_hi["max"].as_py())
    low, high = _RANGES[f.type]
    whole = f.type in ("int", "long")
    if lo < low or hi > high:
        values = _floats(col)  # not cached: out of range is rare
        if whole and pat.is_unsigned_integer(t):
            outside = _bools(pc.greater(col, pa.scalar(2**63 - 1, pa.uint64())))
        else:
            with np.errstate(invalid="ignore"):
                outside = np.isfinite(values) & ((values < low) | (values > high))
        run.rows(
            "error",
            "numeric-out-of-range",
            f"{{n}} {f.name} values do not fit the schema's {f.type}",
            data=data,
            field=f.name,
            mask=outside,
            fix="use a wider type (long, double) or rescale the values",
        )
    if whole and pat.is_floating(t) and f.name not in _TIMESTAMP_FIELDS:
        values = _floats(col)  # not cached: such fields are rare
        with np.errstate(invalid="ignore"):
            fraction = np.isfinite(values) & (values != np.floor(values))
        run.rows(
            "warning",
            "numeric-fraction",
            f"{{n}} {f.name} values have fractions, which the {f.type} field drops",
            data=data,
            field=f.name,
            mask=fraction,
            fix="round them, or make the field a float/double",
        )


def _check_timestamps(data: _Data, f: Field, col: Column, run: _Run) -> None:
    """Epoch seconds (§1.4): not ms/us/ns, not 0, not negative, not future, whole."""
    import numpy as np
    import pyarrow.types as pat

    t = col.type
    temporal = _is_temporal(t)
    limit = run.now + FUTURE_SLACK_S
    ends = _seconds_range(col)
    if ends is not None:  # whole numbers: each rule below needs an extreme past its bound
        lo, hi = ends
        future = f.name not in _EXPIRATION_FIELDS and hi > limit
        if lo > 0 and (temporal or hi <= SECONDS_MAX) and not future:
            return
    seconds = data.floats(f.name)
    if seconds is None or not len(seconds):
        return
    lo, hi = float(np.fmin.reduce(seconds)), float(np.fmax.reduce(seconds))  # NaN-skipping
    if math.isnan(lo):
        return
    finite = np.isfinite(seconds) if math.isinf(lo) or math.isinf(hi) else True
    name, source = f.name, f.column
    if not temporal and hi > SECONDS_MAX:
        upper = math.inf
        for unit, code, low, factor in EPOCH_UNITS:
            div = f"{factor:,.0f}".replace(",", "_")
            run.rows(
                "error",
                f"timestamp-{unit}",
                f"{{n}} {name} values look like epoch {unit}; Personalize reads epoch seconds",
                data=data,
                field=name,
                mask=finite & (seconds > low) & (seconds <= upper),
                fix=f"divide by {div}: pk.prep.epoch_seconds(df[{source!r}], unit={code!r}) "
                f"or df[{source!r}] // {div}",
            )
            upper = low
    if lo <= 0:
        run.rows(
            "error",
            "timestamp-zero",
            f"{{n}} {name} values are 0 (1970-01-01), usually a missing value",
            data=data,
            field=name,
            mask=seconds == 0,
            fix="drop those rows or fill in the real time",
        )
        run.rows(
            "error",
            "timestamp-negative",
            f"{{n}} {name} values are negative (before 1970)",
            data=data,
            field=name,
            mask=(seconds < 0) & finite,
            fix="check the unit and the epoch of the source",
        )
    if name not in _EXPIRATION_FIELDS and hi > limit:
        run.rows(
            "warning",
            "timestamp-future",
            f"{{n}} {name} values are more than a day in the future",
            data=data,
            field=name,
            mask=(seconds > limit) & ((seconds <= SECONDS_MAX) | temporal) & finite,
            fix="check the clock and time zone of the source (or pass now=)",
        )
    if pat.is_floating(t) or pat.is_decimal(t):
        run.rows(
            "warning",
            "timestamp-fraction",
            f"{{n}} {name} values have fractions of a second, which are truncated",
            data=data,
            field=name,
            mask=finite & (seconds <= SECONDS_MAX) & (seconds != np.floor(seconds)),
            fix=f"pk.prep.epoch_seconds(df[{source!r}]) floors them to int64",
        )


def _record(
    out: list[bool],
    check: Callable[[_Data, Field, Column, _Run], bool],
    data: _Data,
    f: Field,
    col: Column,
    run: _Run,
) -> None:
    out.append(check(data, f, col, run))


def _check_fields(data: _Data, run: _Run) -> None:
    _check_columns(data, run)
    for f in data.schema.fields:
        col = data.col(f.name)
        if col is None:
            continue
        run.guard(data, f"{f.column} nulls", partial(_check_nulls, data, f, col, run))
        typed: list[bool] = []
        run.guard(data, f"{f.column} type", partial(_record, typed, _check_type, data, f, col, run))
        if typed != [True]:
            continue
        if f.type == "string" and (_is_stringy(col.type) or _is_list(col.type)):
            if f.name in _ID_FIELDS:
                run.guard(data, f"{f.column} ids", partial(_check_ids, data, f, run))
            else:
                run.guard(data, f"{f.column} lengths", partial(_check_text, data, f, col, run))
        if f.type in NUMERIC_TYPES:
            run.guard(data, f"{f.column} numbers", partial(_check_numbers, data, f, col, run))
            if f.name in _TIMESTAMP_FIELDS:
                run.guard(
                    data, f"{f.column} timestamps", partial(_check_timestamps, data, f, col, run)
                )


# --------------------------------------------------------------------------- interactions


def _event_counts(data: _Data) -> dict[str, int]:
    codes = data.codes("EVENT_TYPE")
    if codes is None:
        return {}
    return {
        str(v): int(c)
        for v, c in zip(codes.uniques.to_pylist(), codes.counts, strict=True)
        if c > 0
    }


def _near_misses(counts: Mapping[str, int], wanted: Sequence[str]) -> str | None:
    """A hint when the data has the wanted event types in another case."""
    lower = {w.lower() for w in wanted}
    near = {k: v for k, v in counts.items() if k.lower() in lower and k not in wanted}
    if not near:
        return None
    found = ", ".join(f"{k!r} ({v:,})" for k, v in near.items())
    return f"event types are compared exactly; the data has {found}: rename them"


def _training_mask(data: _Data, run: _Run) -> BoolArray | None:
    """Rows a solution trains on after its event-type and event-value filters (§2.1)."""
    import numpy as np

    mask: BoolArray | None = None
    if run.event_types is not None:
        codes = data.codes("EVENT_TYPE")
        if codes is None:
            run.add(
                "error",
                "filter-column-missing",
                "Interactions: event_types= filters on EVENT_TYPE, which the data does not have",
                column="EVENT_TYPE",
                fix="add an EVENT_TYPE column or drop event_types=",
            )
            mask = np.zeros(data.n, dtype=bool)
        else:
            wanted = set(run.event_types)
            mask = codes.rows(codes.flags(lambda v: v in wanted))
    if run.event_value_threshold is not None:
        col = data.col("EVENT_VALUE")
        values = data.floats("EVENT_VALUE") if col is not None and _is_numeric(col.type) else None
        if values is None:
            run.add(
                "error",
                "filter-column-missing",
                "Interactions: event_value_threshold= filters on EVENT_VALUE, which the data "
                "does not have as numbers",
                column="EVENT_VALUE",
                fix="add a numeric EVENT_VALUE column or drop event_value_threshold=",
            )
            above = np.zeros(data.n, dtype=bool)
        else:
            with np.errstate(invalid="ignore"):
                above = values >= run.event_value_threshold
        mask = above if mask is None else mask & above
    return mask


def _filter_text(run: _Run) -> str:
    parts = []
    if run.event_types is not None:
        parts.append(f"event types {', '.join(map(repr, run.event_types))}")
    if run.event_value_threshold is not None:
        parts.append(f"EVENT_VALUE >= {run.event_value_threshold:g}")
    return f" after filtering on {' and '.join(parts)}" if parts else ""


def _check_minimums(data: _Data, run: _Run) -> None:
    """1000 interactions per import job and for training; 25 users and 1% with 2+ (§2.1)."""

    n = data.n
    if n < MIN_IMPORT_RECORDS:
        run.add(
            "error",
            "min-import-records",
            f"Interactions: {n:,} records; an import job needs at least {MIN_IMPORT_RECORDS:,}",
            count=n,
            fix="import at least 1000 interactions in one job",
        )
    mask = _training_mask(data, run)
    n_train = n if mask is None else int(mask.sum())
    run.stats["n_training_interactions"] = float(n_train)
    filtered = _filter_text(run)
    if n_train < MIN_INTERACTIONS:
        hint = _near_misses(_event_counts(data), run.event_types or ())
        run.add(
            "error",
            "min-interactions",
            f"Interactions: {n_train:,} interactions{filtered}; training needs at least "
            f"{MIN_INTERACTIONS:,}",
            column=data.column_of("EVENT_TYPE") if run.event_types else None,
            count=n_train,
            fix=hint or "collect more interactions, or widen the event-type/value filter",
        )
    users = data.codes("USER_ID")
    if users is None:
        return
    if mask is None:
        per_user = users.counts
    else:
        codes = users.codes[mask]
        per_user = _bincount(codes, len(users.uniques))
    n_users = int((per_user > 0).sum())
    two = int((per_user >= 2).sum())
    run.stats["users_with_2plus_interactions"] = float(two)
    if two < MIN_USERS_2PLUS:
        run.add(
            "error",
            "min-users",
            f"Interactions: {two:,} users have 2 or more interactions{filtered}; training "
            f"needs at least {MIN_USERS_2PLUS}",
            column=data.column_of("USER_ID"),
            count=two,
            fix="collect more interactions per user",
        )
    if n_users and two < MIN_USERS_2PLUS_SHARE * n_users:
        run.add(
            "error",
            "min-users-share",
            f"Interactions: {two:,} of {n_users:,} users ({two / n_users:.2%}) have 2 or more "
            f"interactions{filtered}; training needs at least {MIN_USERS_2PLUS_SHARE:.0%}",
            column=data.column_of("USER_ID"),
            count=two,
            fix="drop users with a single interaction, or collect more",
        )


def _check_use_cases(data: _Data, run: _Run) -> None:
    """1000 events of each use case's event type (§2.1, §3.3)."""
    counts = _event_counts(data)
    for case in run.use_cases:
        if case.events is None:
            found, what = data.n, "events"
        else:
            found, what = counts.get(case.events, 0), f"{case.events!r} events"
        if found >= MIN_USE_CASE_EVENTS:
            continue
        hint = _near_misses(counts, [case.events]) if case.events else None
        run.add(
            "error",
            "use-case-minimum",
            f"Interactions: {case.name} ({case.recipe}) needs at least "
            f"{MIN_USE_CASE_EVENTS:,} {what}; found {found:,}",
            column=data.column_of("EVENT_TYPE") if case.events else None,
            count=found,
            fix=hint or "collect more events of that type",
        )


def _check_event_type_budget(data: _Data, run: _Run) -> None:
    """(optional metadata columns incl. EVENT_TYPE/EVENT_VALUE) + event types <= 10 (§1.2)."""
    schema = data.schema
    optional = len(schema.metadata_fields) + sum(n in schema for n in ("EVENT_TYPE", "EVENT_VALUE"))
    n_types = len(_event_counts(data))
    if "EVENT_TYPE" in schema:
        run.stats["n_event_types"] = float(n_types)
    if optional + n_types > MAX_METADATA_PLUS_EVENT_TYPES:
        run.add(
            "error",
            "metadata-event-types",
            f"Interactions: {optional} optional metadata columns (EVENT_TYPE and EVENT_VALUE "
            f"included) plus {n_types} distinct event types make {optional + n_types}; "
            f"Personalize allows {MAX_METADATA_PLUS_EVENT_TYPES}",
            column=data.column_of("EVENT_TYPE"),
            count=optional + n_types,
            fix="merge rare event types, or drop metadata columns",
        )


def _hash_parts(data: _Data) -> list[npt.NDArray[Any]]:
    """Each schema column as integers for hashing (zero-copy where Arrow allows)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    parts: list[npt.NDArray[Any]] = []
    for f in data.schema.fields:
        col = data.col(f.name)
        if col is None:
            continue
        arr, t = _one_array(col), col.type
        if _is_temporal(t):
            arr = arr.view(pa.int32() if pat.is_date32(t) else pa.int64())
        if pat.is_integer(arr.type) or pat.is_boolean(arr.type):
            if arr.null_count or pat.is_boolean(arr.type):
                filled = pc.fill_null(pc.cast(arr, pa.int64()), pa.scalar(-(2**62) - 7))
                arr = _arr(filled)
            parts.append(np.asarray(arr.to_numpy(zero_copy_only=False)))
        elif pat.is_floating(t) or pat.is_decimal(t):
            parts.append(_floats(col).view(np.int64))
        elif _is_stringy(t) or _is_string_list(t):
            codes = data.codes(f.name)
            if codes is not None:
                parts.append(codes.codes)
        # other types cannot be written anyway (type-mismatch)
    return parts


def _row_hashes(parts: Sequence[npt.NDArray[Any]], n: int) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of each row, computed a block of rows at a time to bound memory."""
    import numpy as np

    out = np.empty(n, dtype=np.uint64)
    key, shift = np.uint64(_HASH_KEY), np.uint64(29)
    block = 1 << 18
    for start in range(0, n, block):
        h = np.zeros(min(block, n - start), dtype=np.uint64)
        for part in parts:
            values = part[start : start + block].astype(np.int64, copy=False)
            with np.errstate(over="ignore"):
                h ^= values.view(np.uint64)
                h *= key
                h ^= h >> shift
        out[start : start + block] = h
    return out


def _check_duplicate_rows(data: _Data, run: _Run) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    stat = f"{_stat_prefix(data)}duplicate_rows"
    run.stats[stat] = 0.0
    if data.n < 2:
        return
    parts = _hash_parts(data)
    hashes = _row_hashes(parts, data.n)
    hashes.sort()  # in place: the row order is rebuilt below only if there are duplicates
    same = hashes[1:] == hashes[:-1]
    count = int(same.sum())
    run.stats[stat] = float(count)
    if not count:
        return
    repeated = np.unique(hashes[1:][same])
    del same
    hashes = _row_hashes(parts, data.n)
    candidates = np.flatnonzero(_bools(pc.is_in(pa.array(hashes), value_set=pa.array(repeated))))
    # a duplicate is a row whose hash an earlier row has: all those rows are candidates,
    # so the candidates' first occurrences (in row order) are the kept rows
    head = candidates[:100_000]
    _, first = np.unique(hashes[head], return_index=True)
    later = np.ones(len(head), dtype=bool)
    later[first] = False
    rows = [int(r) for r in head[later][:5]]
    run.add(
        "warning",
        "duplicate-rows",
        f"{data.dtype.value}: {count:,} rows repeat an earlier row exactly; each copy counts "
        "as another interaction",
        count=count,
        rows=rows,
        values=[_row_values(data, r) for r in rows],
        fix="drop them: df.drop_duplicates()",
    )


def _row_values(data: _Data, row: int) -> tuple[object, ...]:
    return tuple(data.table.slice(row, 1).to_pylist()[0].values())


def _stat_prefix(data: _Data) -> str:
    return "action_" if data.dtype is DatasetType.ACTION_INTERACTIONS else ""


def _gini(sorted_counts: IntArray) -> float:
    """Gini coefficient of non-negative counts sorted ascending (0 = even, 1 = one item)."""
    import numpy as np

    n = len(sorted_counts)
    total = float(sorted_counts.sum())
    if n < 2 or total <= 0:
        return 0.0
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float(2.0 * float((ranks * sorted_counts).sum()) / (n * total) - (n + 1) / n)


def _scale_step(n: int) -> int:
    """The stride of the ~100,000 rows :func:`_seconds_scale` reads."""
    return max(1, n // 100_000)


def _seconds_scale(sample: FloatArray) -> float:
    """1 for epoch seconds; 1e3/1e6/1e9 when the median looks like ms/us/ns.

    ``sample``: every :func:`_scale_step`-th value of the column.
    """
    import numpy as np

    sample = sample[np.isfinite(sample)]
    if not len(sample):
        return 1.0
    median = float(np.median(sample))
    for _, _, low, factor in EPOCH_UNITS:
        if median > low:
            return factor
    return 1.0


def _top(codes: CodeArray, n_values: int, k: int) -> set[int]:
    import numpy as np

    counts = _bincount(codes, n_values)
    present = np.flatnonzero(counts)
    if len(present) > k:
        present = present[np.argsort(-counts[present], kind="stable")[:k]]
    return {int(i) for i in present}


def _interaction_stats(data: _Data, run: _Run) -> None:
    """Diagnostics (documented in docs/validation.md), with warnings for the bad ones."""
    import numpy as np

    stats = run.stats
    users, items = data.codes("USER_ID"), data.codes("ITEM_ID")
    if users is None or items is None:
        return
    per_user = users.counts[users.counts > 0]
    stats["n_users"] = float(len(per_user))
    stats["n_items"] = float(int((items.counts > 0).sum()))
    if len(per_user):
        stats["interactions_per_user_median"] = float(np.median(per_user))
        stats["interactions_per_user_mean"] = float(per_user.mean())
        singles = int((per_user == 1).sum())
        share = singles / len(per_user)
        stats["single_interaction_user_share"] = share
        if share > MANY_SINGLE_USERS:
            run.add(
                "warning",
                "single-interaction-users",
                f"Interactions: {share:.0%} of users have a single interaction; models learn "
                "little from them",
                column=data.column_of("USER_ID"),
                count=singles,
                fix="check USER_ID is a stable id (not a session id), or collect more history",
            )
    step = math.ceil(data.n / _SAMPLE_ROWS)
    if step > 1:
        # a diagnostic, not a rule: estimated from every interaction of a fixed share of
        # users (all of their pairs, so the estimate is unbiased), which saves a 10M-row sort
        chosen = np.zeros(len(users.uniques) + 1, dtype=bool)  # last slot: code -1 (null)
        chosen[np.flatnonzero(users.counts)[::step]] = True
        rows = np.flatnonzero(chosen[users.codes])
        user_codes, item_codes = users.codes[rows], items.codes[rows]
        rows = np.flatnonzero(item_codes >= 0)
        user_codes, item_codes = user_codes[rows], item_codes[rows]
    else:
        rows = np.flatnonzero((users.codes >= 0) & (items.codes >= 0))
        user_codes, item_codes = users.codes[rows], items.codes[rows]
    del rows
    pairs = user_codes.astype(np.int64)
    pairs *= max(1, len(items.uniques))
    pairs += item_codes
    del user_codes, item_codes
    if len(pairs):
        pairs.sort()
        same = pairs[1:] == pairs[:-1]  # runs of equal pairs: repeated (user, item)
        repeated = int(same[:1].sum()) + int((same[1:] & ~same[:-1]).sum())
        stats["repeat_interaction_rate"] = repeated / (len(pairs) - int(same.sum()))
        del same
    del pairs
    popularity = np.sort(items.counts[items.counts > 0])
    if len(popularity):
        k = max(1, math.ceil(0.01 * len(popularity)))
        top = float(popularity[-k:].sum()) / float(popularity.sum())
        stats["popularity_top1pct_share"] = top
        stats["item_popularity_gini"] = _gini(popularity)
        if top >= CONCENTRATED_TOP1PCT and len(popularity) >= 100:
            run.add(
                "warning",
                "popularity-concentrated",
                f"Interactions: the top 1% of items ({k:,}) have {top:.0%} of the interactions; "
                "recommendations will mostly be those items",
                column=data.column_of("ITEM_ID"),
                count=k,
                fix="look for bots or placeholder items; consider dropping them",
            )
    col = data.col("TIMESTAMP")
    if col is None or not (_is_numeric(col.type) or _is_temporal(col.type)):
        return
    ends = _seconds_range(col)
    if ends is not None and ends[0] > 0:
        # every value is a positive whole number (or null): the extremes are the range,
        # and only the rows the drift estimate reads are converted
        scale = 1.0
        if not _is_temporal(col.type):
            scale = _seconds_scale(_floats(col, _scale_step(data.n)))
        first, last = ends[0] / scale, ends[1] / scale
        seconds = _floats(col, step) / scale
        ok = np.isfinite(seconds)  # nulls are NaN
    else:
        seconds = _floats(col)
        if not _is_temporal(col.type):
            seconds = seconds / _seconds_scale(seconds[:: _scale_step(len(seconds))])
        ok = np.isfinite(seconds) & (seconds > 0)
        if not ok.any():
            return
        first = float(np.min(seconds, where=ok, initial=math.inf))
        last = float(np.max(seconds, where=ok, initial=-math.inf))
        seconds, ok = seconds[::step], ok[::step]
    span = last - first
    stats["first_timestamp"] = first
    stats["last_timestamp"] = last
    stats["time_span_days"] = span / 86_400
    if span > 0:
        codes = items.codes[::step]
        early = _top(codes[ok & (seconds < first + span / 4)], len(items.uniques), _DRIFT_TOP)
        late = _top(codes[ok & (seconds >= last - span / 4)], len(items.uniques), _DRIFT_TOP)
        if early and late:
            stats["top100_jaccard_first_last_quarter"] = len(early & late) / len(early | late)


def _scan_duplicates(data: _Data, run: _Run) -> None:
    """The second thread of :func:`_check_interactions`."""
    import pyarrow as pa

    # ITEM_ID is encoded here while the first thread encodes USER_ID for the minimums;
    # an error is left for the diagnostics, which encode it again, to report
    with suppress(pa.ArrowException):
        data.codes("ITEM_ID")
    run.guard(data, "duplicate rows", partial(_check_duplicate_rows, data, run))


def _check_interactions(data: _Data, run: _Run) -> None:
    from concurrent.futures import ThreadPoolExecutor

    run.stats["n_interactions"] = float(data.n)
    # The duplicate-row scan (hash and sort every row) runs on a second thread while
    # the other checks run here: numpy releases the GIL for both. Each side reports
    # into its own child run; they are merged in the order the checks are listed.
    duplicates, diagnostics = run.child(), run.child()
    with ThreadPoolExecutor(1, thread_name_prefix="personakit-validate") as pool:
        scan = pool.submit(_scan_duplicates, data, duplicates)
        run.guard(data, "training minimums", partial(_check_minimums, data, run))
        run.guard(data, "use cases", partial(_check_use_cases, data, run))
        run.guard(data, "event types", partial(_check_event_type_budget, data, run))
        diagnostics.guard(data, "diagnostics", partial(_interaction_stats, data, diagnostics))
        scan.result()
    run.merge(duplicates)
    run.merge(diagnostics)


# --------------------------------------------------------------------------- other datasets


def _action_kind(value: object) -> str | None:
    key = re.sub(r"[\s\-]+", "_", str(value).strip().upper())
    return key if key in _ACTION_KINDS else None


def _check_action_events(data: _Data, run: _Run) -> None:
    """Event types and Next-Best-Action's per-action minimums (reference §1.2, §2.1)."""
    import numpy as np

    run.stats["n_action_interactions"] = float(data.n)
    events, actions = data.codes("EVENT_TYPE"), data.codes("ACTION_ID")
    if events is None or actions is None:
        return
    unknown = events.flags(lambda v: _action_kind(v) is None) & (events.counts > 0)
    if unknown.any():
        odd = ", ".join(repr(v) for v in events.uniques.filter(unknown).to_pylist()[:5])
        run.rows(
            "warning",
            "action-event-type",
            f"{{n}} rows have event types Next-Best-Action does not use ({odd}); it learns "
            "from Taken, Not taken and Viewed",
            data=data,
            field="EVENT_TYPE",
            mask=events.rows(unknown),
            fix="map them to TAKEN / NOT_TAKEN / VIEWED",
        )
    recent = np.ones(data.n, dtype=bool)
    seconds = data.floats("TIMESTAMP")
    if seconds is not None and np.isfinite(seconds).any():
        with np.errstate(invalid="ignore"):
            recent = seconds >= np.nanmax(seconds) - NBA_WINDOW_S
    taken = events.rows(events.flags(lambda v: _action_kind(v) == "TAKEN")) & recent
    other = events.rows(events.flags(lambda v: _action_kind(v) in ("NOT_TAKEN", "VIEWED")))
    other &= recent
    size = len(actions.uniques)
    known = actions.codes >= 0
    n_taken = _bincount(actions.codes[taken & known], size)
    n_other = _bincount(actions.codes[other & known], size)
    few = ((n_taken < NBA_MIN_PER_ACTION) | (n_other < NBA_MIN_PER_ACTION)) & (actions.counts > 0)
    if few.any():
        ids = actions.first_seen(few)
        run.add(
            "warning",
            "action-interactions-few",
            f"Action_Interactions: {len(ids):,} of {size:,} actions have fewer than "
            f"{NBA_MIN_PER_ACTION} TAKEN and {NBA_MIN_PER_ACTION} NOT_TAKEN/VIEWED events in "
            "the 6 weeks before the latest one; Next-Best-Action scores them 0.0",
            column=data.column_of("ACTION_ID"),
            count=len(ids),
            values=ids[:5],
            fix="collect more action interactions for those actions",
        )


def _check_duplicate_ids(data: _Data, id_field: str, run: _Run) -> None:
    """Items/Users/Actions: the same id twice; Personalize keeps the last record (§2.4)."""
    import numpy as np

    codes = data.codes(id_field)
    if codes is None:
        return
    run.stats[f"n_catalog_{data.dtype.value.lower()}"] = float(int((codes.counts > 0).sum()))
    repeated = codes.counts > 1
    if not repeated.any():
        return
    rows = np.flatnonzero(codes.rows(repeated))
    last = np.full(len(codes.uniques), -1, dtype=np.int64)
    last[codes.codes[rows]] = rows  # later rows overwrite earlier ones: the last occurrence
    replaced = rows[last[codes.codes[rows]] != rows]
    ids = codes.first_seen(repeated)
    shown = ", ".join(repr(v) for v in ids[:5]) + (" ..." if len(ids) > 5 else "")
    examples = [int(r) for r in replaced[:5]]
    run.add(
        "warning",
        "duplicate-ids",
        f"{data.dtype.value}: {len(ids):,} {id_field} values appear more than once ({shown}); "
        f"Personalize keeps only the last record of each, so {len(replaced):,} rows are lost",
        column=data.column_of(id_field),
        count=len(replaced),
        rows=examples,
        values=_take(data.col(id_field), examples),
        fix=f"df.drop_duplicates(subset=[{data.column_of(id_field)!r}], keep='last')",
    )


def _check_references(source: _Data, field: str, catalog: _Data, kind: str, run: _Run) -> None:
    """Rows whose id is not in the Items/Users/Actions frame (a warning, with the share)."""
    import pyarrow.compute as pc

    used, known = source.codes(field), catalog.codes(field)
    if used is None or known is None:
        return
    used_s, known_s = used.strings(), known.strings()
    # a dense encoding's range can hold values no row has: compare with the present ones
    used_present, known_present = used.strings(present=True), known.strings(present=True)
    if used_s is None or known_s is None or used_present is None or known_present is None:
        return
    missing = ~_bools(pc.is_in(used_s, value_set=known_present)) & (used.counts > 0)
    total = int(used.counts.sum())
    share = int(used.counts[missing].sum()) / total if total else 0.0
    run.stats[f"{_stat_prefix(source)}unknown_{kind}_share"] = share
    if kind == "item" and source.dtype is DatasetType.INTERACTIONS:
        listed = known.counts > 0
        idle = ~_bools(pc.is_in(known_s, value_set=used_present)) & listed
        if listed.any():
            run.stats["cold_start_item_share"] = float(idle.sum() / listed.sum())
    if not missing.any():
        return
    ids = used.first_seen(missing)
    examples = ", ".join(repr(v) for v in ids[:3])
    run.rows(
        "warning",
        f"unknown-{kind}s",
        f"{{n}} rows ({share:.1%}) have {field} values that are not in the "
        f"{catalog.dtype.value} data ({len(ids):,} ids, e.g. {examples}); they get no metadata",
        data=source,
        field=field,
        mask=used.rows(missing),
        fix=f"add them to the {catalog.dtype.value} data, or check that the id formats match",
    )


# --------------------------------------------------------------------------- entry point


def _now_seconds(now: datetime | float | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        return now.timestamp()
    return float(now)


def _given_schemas(
    schemas: Mapping[str | DatasetType, Schema] | None, run: _Run
) -> dict[DatasetType, Schema]:
    given: dict[DatasetType, Schema] = {}
    for key, value in (schemas or {}).items():
        schema: object = value
        try:
            dtype = DatasetType.parse(key)
        except ValidationError as exc:
            run.add("error", "schema-key", str(exc), column=str(key))
            continue
        if not isinstance(schema, Schema):
            run.add(
                "error",
                "schema-key",
                f"schemas[{key!r}] is a {type(schema).__name__}, not a personakit Schema",
                fix="use pk.Schema.from_json(...) or pk.Schema.infer(...)",
            )
        elif schema.dataset_type is not dtype:
            run.add(
                "error",
                "schema-key",
                f"schemas[{key!r}] is a {schema.dataset_type.value} schema",
            )
        else:
            given[dtype] = schema
    return given


def _settle_domain(
    domain: str | Domain | None,
    given: Mapping[DatasetType, Schema],
    use_cases: Sequence[str],
    run: _Run,
) -> None:
    """The domain: given, or the schemas', or the use cases'; and the use cases."""
    try:
        run.domain = Domain.parse(domain)
    except ValidationError as exc:
        run.add("error", "domain-unknown", str(exc))
    from_schemas = {s.domain for s in given.values() if s.domain is not None}
    if run.domain is None and len(from_schemas) == 1:
        run.domain = from_schemas.pop()
    cases: list[UseCase] = []
    for name in use_cases:
        case = find_use_case(name)
        if case is None:
            run.add(
                "error",
                "use-case-unknown",
                f"unknown use case {name!r}; known: {', '.join(sorted(_USE_CASE_NAMES))}",
            )
        else:
            cases.append(case)
    from_cases = {c.domain for c in cases}
    if run.domain is None and len(from_cases) == 1:
        run.domain = from_cases.pop()
    group = run.domain.value if run.domain else "a custom dataset group"
    for case in cases:
        if case.domain is not run.domain:
            run.add(
                "error",
                "use-case-domain",
                f"{case.name} is a {case.domain.value} use case; the data is for {group}",
            )
    run.use_cases = tuple(c for c in cases if c.domain is run.domain)
    for dtype, schema in given.items():
        if dtype in (DatasetType.ACTIONS, DatasetType.ACTION_INTERACTIONS):
            continue
        if schema.domain is not run.domain:
            mine = schema.domain.value if schema.domain else "a custom dataset group"
            run.add(
                "error",
                "schema-domain-mismatch",
                f"the {dtype.value} schema is for {mine}, the data for {group}",
                fix="CreateSchema(domain=...) must match the dataset group's domain",
            )


def _prepare(
    dtype: DatasetType,
    frame: FrameLike,
    schema: Schema | None,
    columns: Mapping[str, str] | None,
    run: _Run,
) -> _Data | None:
    table = _table(frame, dtype, run)
    if table is None:
        return None
    if schema is not None:
        _schema_problems(schema, run, skip_errors=False)
        return _Data(dtype, table, schema, inferred=False)
    # Actions exist in custom dataset groups only (reference §1.2)
    custom_only = dtype in (DatasetType.ACTIONS, DatasetType.ACTION_INTERACTIONS)
    domain = None if custom_only else run.domain
    inferred = _infer(table, dtype, domain, _columns_for(columns, table, dtype), run)
    return None if inferred is None else _Data(dtype, table, inferred, inferred=True)


def validate(
    interactions: FrameLike | None = None,
    *,
    items: FrameLike | None = None,
    users: FrameLike | None = None,
    actions: FrameLike | None = None,
    action_interactions: FrameLike | None = None,
    schemas: Mapping[str | DatasetType, Schema] | None = None,
    domain: str | Domain | None = None,
    event_types: Sequence[str] | None = None,
    event_value_threshold: float | None = None,
    use_cases: Sequence[str] = (),
    now: datetime | float | None = None,
    columns: Mapping[str, str] | None = None,
) -> DataReport:
    """Check a dataset group's data against every Personalize data rule at once.

    Each frame (a pandas DataFrame or a pyarrow Table) is checked against its
    schema: the one in ``schemas``, or the one :meth:`Schema.infer` gives. Bad data
    is reported, never raised: call :meth:`DataReport.raise_for_problems` on the
    result. ``docs/validation.md`` lists every rule and every diagnostic.

    Args:
        interactions: the Interactions data.
        items: the Items data.
        users: the Users data.
        actions: the Actions data.
        action_interactions: the Action interactions data.
        schemas: schemas by dataset type, e.g. ``{"items": schema}``; the others
            are inferred.
        domain: ``"ECOMMERCE"`` or ``"VIDEO_ON_DEMAND"`` for a domain dataset group.
        event_types: the event types a solution trains on; the 1000-interaction and
            user minimums are counted after this filter.
        event_value_threshold: the solution's event value threshold; only events
            with ``EVENT_VALUE`` at or above it count towards the minimums.
        use_cases: domain recommender use cases (``"most-viewed"``, ``"best-sellers"``,
            ``"top-picks"``, or a recipe name or ARN); each needs 1000 events of its
            event type. They imply the domain when ``domain`` is not given.
        now: the time "in the future" is measured from (a datetime, naive ones are
            UTC, or epoch seconds); the current time by default.
        columns: column -> field mapping for :meth:`Schema.infer`; entries for
            columns a frame does not have are ignored for that frame.

    Returns:
        A :class:`DataReport` with subject ``"data"``: every problem found (example
        rows are 0-based positions in the frame) and diagnostics in ``stats``.
    """
    run = _Run(
        now=_now_seconds(now),
        event_types=None if event_types is None else tuple(map(str, event_types)),
        event_value_threshold=None
        if event_value_threshold is None
        else float(event_value_threshold),
    )
    given = _given_schemas(schemas, run)
    _settle_domain(domain, given, [use_cases] if isinstance(use_cases, str) else use_cases, run)
    frames = {
        DatasetType.INTERACTIONS: interactions,
        DatasetType.ITEMS: items,
        DatasetType.USERS: users,
        DatasetType.ACTIONS: actions,
        DatasetType.ACTION_INTERACTIONS: action_interactions,
    }
    data: dict[DatasetType, _Data] = {}
    for dtype, frame in frames.items():
        if frame is None:
            if dtype in given:
                _schema_problems(given[dtype], run, skip_errors=False)
            continue
        prepared = _prepare(dtype, frame, given.get(dtype), columns, run)
        if prepared is None:
            continue
        data[dtype] = prepared
        _check_fields(prepared, run)
        if dtype is DatasetType.INTERACTIONS:
            _check_interactions(prepared, run)
        elif dtype is DatasetType.ACTION_INTERACTIONS:
            run.guard(prepared, "event types", partial(_check_action_events, prepared, run))
            run.guard(prepared, "duplicate rows", partial(_check_duplicate_rows, prepared, run))
        else:
            id_field = _CATALOG_IDS[dtype]
            run.guard(
                prepared, "duplicate ids", partial(_check_duplicate_ids, prepared, id_field, run)
            )
    for case in run.use_cases:
        if case.needs_items and items is None:
            run.add(
                "warning",
                "use-case-needs-items",
                f"{case.name} ({case.recipe}) needs an Items dataset; none was given",
                fix="pass items= (and import Items before creating the recommender)",
            )
    for src_type, field, cat_type, kind in (
        (DatasetType.INTERACTIONS, "ITEM_ID", DatasetType.ITEMS, "item"),
        (DatasetType.INTERACTIONS, "USER_ID", DatasetType.USERS, "user"),
        (DatasetType.ACTION_INTERACTIONS, "ACTION_ID", DatasetType.ACTIONS, "action"),
        (DatasetType.ACTION_INTERACTIONS, "USER_ID", DatasetType.USERS, "user"),
    ):
        src, cat = data.get(src_type), data.get(cat_type)
        if src is not None and cat is not None:
            run.guard(
                src, f"{field} references", partial(_check_references, src, field, cat, kind, run)
            )
    # Schema.infer's "reserved-nullable" is replaced by the row-level "required-null"
    dropped = {(f"{d.value}: ", f) for d, f in run.required_null}
    problems = [
        p
        for p in run.problems
        if not (
            p.rule == "reserved-nullable"
            and any(p.column == f and p.message.startswith(pre) for pre, f in dropped)
        )
    ]
    return DataReport(problems, run.stats, subject="data")
