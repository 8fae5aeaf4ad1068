"""Turn everyday data into frames in Amazon Personalize's shape.

``pk.prep`` takes the tables people have (MovieLens ratings, a product catalogue,
a CRM export) and returns new pandas DataFrames that Personalize accepts as they
are (reference ``personalize.md`` §1):

* reserved columns carry their reserved names (``USER_ID``, ``ITEM_ID``,
  ``TIMESTAMP``, ``EVENT_TYPE``, ``EVENT_VALUE``, ``CREATION_TIMESTAMP`` ...),
  recognised the same way :meth:`personakit.Schema.infer` recognises them;
  metadata columns are renamed to UPPER_SNAKE_CASE with
  :func:`personakit.rules.schema.field_name_for` (``releaseYear`` -> ``RELEASE_YEAR``);
* ids are strings (``1`` -> ``"1"``, an integral float ``1.0`` -> ``"1"``);
* timestamps are ``int64`` Unix epoch **seconds** (:func:`epoch_seconds`);
* multi-value categorical values are ``|``-joined (:func:`join_multi_value`);
* booleans are the strings ``"True"``/``"False"`` (Personalize ignores boolean
  fields for training and filtering, :func:`booleans`).

Every function accepts a pandas DataFrame (pandas 2.2 or 3, any dtype backend) or
a pyarrow Table, never changes its input, and works column-at-a-time (no Python
loop per row, except for object columns holding Python containers, which are
Python objects to begin with). Bad input raises one
:class:`~personakit.ValidationError` listing every problem found, each with the
column, the rule and example rows.

Frames built from scratch (:func:`ratings_to_interactions`, :func:`items`,
:func:`users`, :func:`items_from`, :func:`users_from`,
:func:`aggregate_multi_value`) get a fresh ``RangeIndex``; column-wise
transforms of your frame (:func:`booleans`, :func:`fill_missing`,
:func:`rename_reserved`) keep its index.

Join or concat? Use a **join** (:func:`items_from`, :func:`users_from`) when
several tables describe the *same ids* with *different columns* (movies +
links + aggregated tags: one row per movie, more columns). Use a **concat**
(``pd.concat([a, b], ignore_index=True)``) when tables hold *more rows of the
same columns* (January and February interactions, two catalogues of items);
:func:`items` and :func:`users` then keep the last record of an id, as
Personalize does when the same id is imported twice.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, overload

import attrs
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from personakit.errors import ValidationError
from personakit.rules.facts import EPOCH_UNITS, SECONDS_MAX, Domain
from personakit.rules.report import DataReport, Problem
from personakit.rules.schema import RESERVED, DatasetType, field_name_for, role_columns, squash_name

if TYPE_CHECKING:
    import numpy.typing as npt

    from personakit.rules.schema import FrameLike

__all__ = [
    "MAX_CATEGORICAL_CHARS",
    "MAX_TEXTUAL_CHARS",
    "aggregate_multi_value",
    "booleans",
    "epoch_seconds",
    "fill_missing",
    "items",
    "items_from",
    "join_multi_value",
    "ratings_to_interactions",
    "rename_reserved",
    "users",
    "users_from",
]

#: ``unit="auto"``: numbers with an absolute value above this are milliseconds.
#: Max characters of a categorical value, bars included; longer fails the import (§1.4).
MAX_CATEGORICAL_CHARS = 1000
#: Max characters of a textual value; Personalize truncates longer ones (§1.4).
MAX_TEXTUAL_CHARS = 20_000

#: The separator Personalize reads in multi-value categorical fields.
SEP = "|"

Values: TypeAlias = (
    "pd.Series[Any] | pd.Index[Any] | npt.NDArray[Any] | pa.Array[Any] "
    "| pa.ChunkedArray[Any] | Sequence[Any]"
)
Unit: TypeAlias = Literal["auto", "s", "ms", "us", "ns"]
OnMissing: TypeAlias = Literal["raise", "keep"]
OnInvalid: TypeAlias = Literal["raise", "null"]
OnTooLong: TypeAlias = Literal["raise", "truncate"]
BooleanMode: TypeAlias = Literal["string", "int", "keep"]
EventType: TypeAlias = "str | Mapping[Any, str] | Callable[[pd.Series[Any]], Any] | None"
MultiValue: TypeAlias = "Mapping[str, str | None] | Sequence[str] | None"

#: Arrow arrays inside this module. pyarrow-stubs types compute functions per concrete
#: array class (StringArray, ListArray ...), which the code picks at run time.
_Arrow: TypeAlias = Any

_FACTOR = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_INT_NULLABLE: dict[pa.DataType, Any] = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
}
_BOOL_TEXT = {
    True: "True",
    False: "False",
    "True": "True",
    "False": "False",
    "true": "True",
    "false": "False",
    "TRUE": "True",
    "FALSE": "False",
}
_NUMERIC_TEXT = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
_LIST_TYPES = (list, tuple, set, frozenset, np.ndarray)


# --------------------------------------------------------------------------- plumbing


def _frame(data: FrameLike, subject: str = "frame") -> pd.DataFrame:
    """The input as a pandas DataFrame, to read from (callers never write into it)."""
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if isinstance(data, pa.Table):
        frame = data.to_pandas()
        # Integers with nulls would become float64 (and lose digits past 2**53).
        for i, name in enumerate(data.column_names):
            col = data.column(i)
            if pa.types.is_integer(col.type) and col.null_count:
                nullable = col.to_pandas(types_mapper=_INT_NULLABLE.get).array
                frame = frame.assign(**{name: nullable})
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        raise ValidationError(
            f"{subject}: expected a pandas DataFrame or a pyarrow Table, got {type(data).__name__}"
        )
    if frame.columns.duplicated().any():
        dup = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise ValidationError(f"{subject} has duplicate column names: {', '.join(dup)}")
    return frame


def _series(values: Values) -> pd.Series[Any]:
    """A pandas Series of a column given as Series, Index, ndarray, Arrow array or list."""
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, pd.Index):
        return pd.Series(values.array, name=values.name)
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return pd.Series(values.to_pandas(types_mapper=pd.ArrowDtype).array)
    if isinstance(values, (pd.DataFrame, pa.Table)):
        raise ValidationError("expected one column (a Series, array or list), got a table")
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise ValidationError(
            f"expected a column of values (a Series, array or list), got {type(values).__name__}"
        )
    return pd.Series(values if isinstance(values, np.ndarray) else list(values))


def _label(s: pd.Series[Any], default: str = "values") -> str:
    return default if s.name is None else str(s.name)


def _arrow(s: pd.Series[Any]) -> _Arrow | None:
    """The column as one Arrow array, or None if Arrow cannot hold it as one type."""
    try:
        arr: Any = pa.array(s, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def _from_arrow(arr: _Arrow, like: pd.Series[Any]) -> pd.Series[Any]:
    """A Series of an Arrow array with the index and name of ``like``.

    Strings become pandas' default string dtype (``str`` in pandas 3, ``object`` in 2.x).
    """
    out: pd.Series[Any] = arr.to_pandas()
    out.index = like.index
    out.name = like.name
    return out


def _null_mask(s: pd.Series[Any]) -> npt.NDArray[np.bool_]:
    return np.asarray(s.isna().to_numpy(dtype=bool))


def _examples(
    s: pd.Series[Any], mask: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.intp], list[Any]]:
    rows = np.flatnonzero(mask)[:5]
    return rows, list(s.iloc[rows])


def _problem(
    rule: str,
    message: str,
    *,
    column: str | None,
    mask: npt.NDArray[np.bool_] | None = None,
    values: pd.Series[Any] | None = None,
    fix: str | None = None,
    severity: Literal["error", "warning"] = "error",
) -> Problem:
    rows: Iterable[int] = ()
    shown: list[Any] = []
    count = 1
    if mask is not None:
        count = int(mask.sum())
        if values is not None:
            rows, shown = _examples(values, mask)
        else:
            rows = np.flatnonzero(mask)[:5].tolist()
    return Problem.with_examples(
        severity, rule, message, column=column, count=count, rows=rows, values=shown, fix=fix
    )


def _raise(problems: Sequence[Problem], subject: str) -> None:
    if problems:
        DataReport(problems, subject=subject).raise_for_problems()


def _warn(message: str) -> None:
    """A UserWarning pointing at the caller's line, outside this module."""
    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
        level += 1
    warnings.warn(message, UserWarning, stacklevel=level)


def _require_columns(
    frame: pd.DataFrame, wanted: Mapping[str, str | Iterable[str]], subject: str
) -> list[Problem]:
    """One ``column-missing`` problem per column an argument names and the frame lacks.

    ``wanted`` maps an argument to one column (a string) or to several (a list).
    """
    present = {str(c) for c in frame.columns}
    have = ", ".join(map(str, frame.columns)) or "none"
    problems = []
    for argument, names in wanted.items():
        single = isinstance(names, str)
        for name in [names] if isinstance(names, str) else names:
            if name in present:
                continue
            said = f"{argument}={name!r}" if single else f"{argument} names {name!r}, which"
            problems.append(
                Problem.with_examples(
                    "error",
                    "column-missing",
                    f"{said} is not a column of the {subject} (columns: {have})",
                    column=name,
                    count=1,
                    fix=f"pass {argument}= the name of the column that holds it"
                    if single
                    else "fix the name or leave it out",
                )
            )
    return problems


def _is_arrow(s: pd.Series[Any], test: Callable[[pa.DataType], bool]) -> bool:
    return isinstance(s.dtype, pd.ArrowDtype) and bool(test(s.dtype.pyarrow_dtype))


def _is_bool(s: pd.Series[Any]) -> bool:
    if _is_arrow(s, pa.types.is_boolean):
        return True
    if isinstance(s.dtype, pd.ArrowDtype):
        return False
    if pd.api.types.is_bool_dtype(s.dtype):
        return True
    return bool(
        pd.api.types.is_object_dtype(s.dtype)
        and pd.api.types.infer_dtype(s, skipna=True) == "boolean"
    )


def _is_datetime(s: pd.Series[Any]) -> bool:
    if isinstance(s.dtype, pd.ArrowDtype):
        t = s.dtype.pyarrow_dtype
        return bool(pa.types.is_timestamp(t) or pa.types.is_date(t))
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return True
    return bool(
        pd.api.types.is_object_dtype(s.dtype)
        and pd.api.types.infer_dtype(s, skipna=True) in ("datetime", "datetime64", "date")
    )


def _is_listlike(s: pd.Series[Any]) -> bool:
    if isinstance(s.dtype, pd.ArrowDtype):
        t = s.dtype.pyarrow_dtype
        return bool(
            pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)
        )
    if not pd.api.types.is_object_dtype(s.dtype):
        return False
    head = s.iloc[:1000].dropna()
    return len(head) > 0 and all(isinstance(v, _LIST_TYPES) for v in head)


# --------------------------------------------------------------------------- ids as strings


def _as_string(s: pd.Series[Any]) -> pd.Series[Any]:
    """The column as strings, nulls kept.

    ``1`` -> ``"1"``, ``1.0`` -> ``"1"`` (integral floats, e.g. ids read with nulls),
    ``True`` -> ``"True"``. Strings already in pandas' string dtype are returned as
    they are.
    """
    arr = _arrow(s)
    if arr is None:  # an object column mixing types, e.g. 1 and "a": str() of each
        nulls = _null_mask(s)
        text = s.astype(object).astype(str).to_numpy(dtype=object)
        out_text = pa.array(text, mask=nulls, type=pa.string())
        return _from_arrow(out_text, s)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        if not isinstance(s.dtype, pd.ArrowDtype) and not pd.api.types.is_object_dtype(s.dtype):
            return s  # already pandas' string dtype
        out: _Arrow = arr
    elif pa.types.is_integer(t):
        out = pc.cast(arr, pa.string())
    elif pa.types.is_floating(t):
        finite = pc.is_finite(arr)
        integral = pc.all(pc.equal(pc.floor(arr), arr)).as_py() is not False
        big = pc.max(pc.abs(arr)).as_py() or 0.0
        if integral and pc.all(finite).as_py() is not False and big < 2**63:
            out = pc.cast(pc.cast(arr, pa.int64()), pa.string())
        else:
            out = pc.cast(arr, pa.string())
    elif pa.types.is_boolean(t):
        out = pc.if_else(arr, "True", "False")
    elif pa.types.is_null(t):
        out = pa.nulls(len(arr), pa.string())
    else:
        out = pc.cast(arr, pa.string())
    return _from_arrow(out, s)


# --------------------------------------------------------------------------- epoch seconds


def _numeric_seconds(
    values: npt.NDArray[Any],
    nulls: npt.NDArray[np.bool_],
    unit: Unit,
    column: str,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Seconds from numbers in ``unit`` (or detected per value); returns (seconds, invalid)."""
    invalid = np.zeros(len(values), dtype=bool)
    if values.dtype.kind == "f":
        finite = np.isfinite(values) | nulls
        invalid |= ~finite
        safe = np.where(nulls | ~finite, 0.0, values)
    else:
        safe = (np.where(nulls, 0, values) if nulls.any() else values).astype(np.int64, copy=False)
    factor: npt.NDArray[np.int64] | int
    if unit == "auto":
        size = np.abs(safe)
        if not len(size) or size.max() <= SECONDS_MAX:
            factor = 1  # all seconds: the common case, no per-value work
        else:
            magnitude = np.zeros(len(size), dtype=np.int8)
            for _, _, low, _ in EPOCH_UNITS:
                magnitude += size > low
            factor = np.array([1, 10**3, 10**6, 10**9], dtype=np.int64)[magnitude]
            counts = np.bincount(magnitude[~(nulls | invalid)], minlength=4)
            if (counts > 0).sum() > 1:
                names = ("s", "ms", "us", "ns")
                found = ", ".join(f"{c:,} in {u}" for c, u in zip(counts, names, strict=True) if c)
                _warn(
                    f"{column}: unit='auto' found numbers of several magnitudes ({found}); "
                    "each was converted by its own magnitude. Pass unit= if the column has "
                    "one unit."
                )
    else:
        factor = _FACTOR[unit]
    if safe.dtype.kind == "f":
        seconds_f = np.floor(safe / factor)
        out_of_range = ~(np.abs(seconds_f) < 2.0**62)
        invalid |= out_of_range & ~nulls
        seconds = np.where(out_of_range, 0.0, seconds_f).astype(np.int64)
    elif isinstance(factor, int) and factor == 1:
        seconds = safe
    else:
        seconds = np.floor_divide(safe, factor)
    if (nulls | invalid).any():
        seconds = np.where(nulls | invalid, 0, seconds)
    return seconds.astype(np.int64, copy=False), invalid


def _datetime_seconds(
    values: npt.NDArray[np.datetime64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Seconds (floored) and NaT mask of a naive-UTC datetime64 array of any resolution."""
    nat = np.isnat(values)
    unit = np.datetime_data(values.dtype)[0]
    ticks = values.view(np.int64)
    factor = _FACTOR.get(unit)
    if factor is None:  # D, h, m ... : go through seconds
        ticks = values.astype("datetime64[s]").view(np.int64)
        factor = 1
    return np.where(nat, 0, np.floor_divide(ticks, factor)).astype(np.int64), nat


def _parse_datetime_text(s: pd.Series[Any], fmt: str | None) -> pd.Series[Any]:
    """Parse date/time strings to UTC, NaT where unparseable.

    With ``fmt=None`` the format is inferred from the first value (fast, vectorised);
    values that do not match are retried as ISO 8601, then one by one (``mixed``).
    """
    s = s.reset_index(drop=True)  # positional: the index may repeat labels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "could not infer format"
        parsed = pd.to_datetime(s, utc=True, errors="coerce", format=fmt)
        if fmt is None:
            for retry in ("ISO8601", "mixed"):
                failed = parsed.isna() & s.notna()
                if not failed.any():
                    break
                again = pd.to_datetime(s[failed], utc=True, errors="coerce", format=retry)
                if again.dtype != parsed.dtype:  # resolutions differ: us holds both
                    parsed = parsed.astype("datetime64[us, UTC]")
                    again = again.astype("datetime64[us, UTC]")
                parsed = parsed.where(~failed, again)
    return parsed


def _epoch(
    s: pd.Series[Any],
    *,
    unit: Unit = "auto",
    fmt: str | None = None,
    column: str | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.bool_], list[Problem]]:
    """Epoch seconds of a column: (seconds, null mask, invalid mask, type problems)."""
    label = column or _label(s)
    if unit not in ("auto", *_FACTOR):
        raise ValidationError(f"unit={unit!r}: expected 'auto', 's', 'ms', 'us' or 'ns'")
    n = len(s)
    nulls = _null_mask(s)
    no = np.zeros(n, dtype=bool)
    dtype = s.dtype
    if isinstance(dtype, pd.ArrowDtype):
        t = dtype.pyarrow_dtype
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            arr: _Arrow = _arrow(s)
            if pa.types.is_date(t):
                arr = pc.cast(arr, pa.timestamp("s"))
                factor = 1
            else:
                factor = _FACTOR[str(getattr(t, "unit"))]  # noqa: B009 - untyped in stubs
            ints: _Arrow = pc.cast(arr, pa.int64())
            ticks = ints.fill_null(0).to_numpy(zero_copy_only=False)
            return np.floor_divide(ticks, factor).astype(np.int64), nulls, no, []
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            kind = "float64" if not pa.types.is_integer(t) else "int64"
            raw = s.to_numpy(dtype=kind, na_value=0)
            secs, invalid = _numeric_seconds(raw, nulls, unit, label)
            return secs, nulls, invalid, []
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return _epoch(s.astype(object), unit=unit, fmt=fmt, column=label)
    elif isinstance(dtype, pd.CategoricalDtype):
        return _epoch(pd.Series(np.asarray(s), index=s.index), unit=unit, fmt=fmt, column=label)
    elif isinstance(dtype, pd.DatetimeTZDtype):
        naive = s.dt.tz_convert(None).to_numpy()
        secs, nat = _datetime_seconds(naive)
        return secs, nat, no, []
    elif pd.api.types.is_datetime64_dtype(dtype):
        secs, nat = _datetime_seconds(s.to_numpy())
        return secs, nat, no, []
    elif pd.api.types.is_bool_dtype(dtype):
        pass
    elif pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
        kind = "int64" if pd.api.types.is_integer_dtype(dtype) else "float64"
        raw = s.to_numpy(dtype=kind, na_value=0)
        secs, invalid = _numeric_seconds(raw, nulls, unit, label)
        return secs, nulls, invalid, []
    elif pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        if inferred == "empty":
            return np.zeros(n, dtype=np.int64), nulls, no, []
        text = inferred == "string"
        if text:
            sample = s[~nulls].iloc[:1000].astype(str)
            text = not all(_NUMERIC_TEXT.match(v) for v in sample)
        if not text and inferred in ("string", "integer", "floating", "mixed-integer-float"):
            numbers = pd.to_numeric(s, errors="coerce")
            bad = ~nulls & _null_mask(numbers)
            kind = "int64" if pd.api.types.is_integer_dtype(numbers.dtype) else "float64"
            raw = numbers.to_numpy(dtype=kind, na_value=0)
            secs, invalid = _numeric_seconds(raw, nulls | bad, unit, label)
            return secs, nulls, invalid | bad, []
        if inferred in ("string", "datetime", "datetime64", "date", "mixed"):
            parsed = _parse_datetime_text(s, fmt)
            nat = _null_mask(parsed)
            secs, _ = _datetime_seconds(parsed.dt.tz_convert(None).to_numpy())
            return secs, nulls, nat & ~nulls, []
    problem = Problem.with_examples(
        "error",
        "timestamp-type",
        f"a {dtype} column cannot be read as timestamps",
        column=label,
        count=int((~nulls).sum()),
        rows=np.flatnonzero(~nulls)[:5].tolist(),
        values=list(s[~nulls].iloc[:5]),
        fix="give datetimes, date/time strings or numbers (epoch s/ms/us/ns)",
    )
    return np.zeros(n, dtype=np.int64), nulls, no, [problem]


def _epoch_problems(
    s: pd.Series[Any],
    nulls: npt.NDArray[np.bool_],
    invalid: npt.NDArray[np.bool_],
    *,
    column: str,
    on_missing: OnMissing,
    on_invalid: OnInvalid,
) -> list[Problem]:
    problems = []
    if on_missing == "raise" and nulls.any():
        problems.append(
            _problem(
                "timestamp-missing",
                "missing timestamps (null, NaN or NaT)",
                column=column,
                mask=nulls,
                fix=f"drop those rows (pk.prep.fill_missing(frame, {{{column!r}: 'drop'}})) "
                "or keep them null with on_missing='keep' where the field is optional",
            )
        )
    if on_invalid == "raise" and invalid.any():
        problems.append(
            _problem(
                "timestamp-unparseable",
                "values that cannot be read as a point in time",
                column=column,
                mask=invalid,
                values=s,
                fix="pass format= (e.g. '%d/%m/%Y %H:%M'), fix or drop those rows, "
                "or turn them into nulls with on_invalid='null'",
            )
        )
    return problems


def _seconds_series(
    secs: npt.NDArray[np.int64],
    missing: npt.NDArray[np.bool_],
    index: pd.Index[Any],
    name: Any,
) -> pd.Series[Any]:
    if missing.any():
        return pd.Series(pd.arrays.IntegerArray(secs, missing), index=index, name=name)
    return pd.Series(secs, index=index, name=name, dtype=np.int64)


def epoch_seconds(
    values: Values,
    *,
    unit: Unit = "auto",
    format: str | None = None,
    on_missing: OnMissing = "raise",
    on_invalid: OnInvalid = "raise",
) -> pd.Series[Any]:
    """Any column of timestamps as Unix epoch seconds (``int64``), what Personalize reads.

    Accepted values:

    * datetimes: ``datetime64`` of any resolution (naive values are taken as UTC),
      tz-aware datetimes (converted to UTC), Arrow ``timestamp``/``date`` columns,
      ``datetime.datetime``/``datetime.date``/``pd.Timestamp`` objects;
    * strings: ISO 8601 (``"2020-01-01T00:00:00Z"``, ``"2020-01-01 02:00:00+02:00"``,
      ``"2020-01-01"``) or any format pandas can read; with ``format=None`` the format
      is inferred from the first value and values that do not match are retried as
      ISO 8601, then one by one; strings of digits are numbers;
    * numbers (int or float, numpy, nullable or Arrow) in seconds, milliseconds,
      microseconds or nanoseconds.

    With ``unit="auto"`` each number's unit is read from its magnitude: an
    absolute value above ``1e17`` is nanoseconds, above ``1e14`` microseconds,
    above ``1e11`` milliseconds, anything else seconds (the thresholds
    ``pk.validate`` uses to flag them). The thresholds are right for
    every date from 1973-03-03 to the year 5138 in any of the four units; a column
    mixing magnitudes is converted value by value and a ``UserWarning`` says so.
    Pass ``unit=`` for older dates or to turn detection off.

    Fractions of a second are floored (``12:00:00.9`` -> ``12:00:00``), which for
    dates after 1970 equals ``int(dt.timestamp())``.

    Args:
        values: a Series, Index, ndarray, Arrow array or list.
        unit: ``"auto"``, ``"s"``, ``"ms"``, ``"us"`` or ``"ns"``, for numbers.
        format: a ``strftime`` format for strings (``"%d/%m/%Y %H:%M"``); ``None``
            infers it.
        on_missing: ``"raise"`` (nulls, NaN and NaT raise) or ``"keep"`` (they stay
            null, and the result is pandas' nullable ``Int64``). Required fields
            (``TIMESTAMP``) cannot be null.
        on_invalid: ``"raise"`` (strings that are not a date, infinities, numbers
            out of range raise) or ``"null"`` (they become nulls, kept as with
            ``on_missing="keep"``).

    Returns:
        A Series with the index and name of ``values`` (a RangeIndex for other
        inputs): ``int64``, or ``Int64`` if nulls are kept.

    Raises:
        ValidationError: missing or unparseable values (column, rule, example rows),
            or a column that holds no kind of time (booleans, text that is not a date).

    Examples:
        >>> import pandas as pd
        >>> from personakit import prep
        >>> prep.epoch_seconds(pd.Series(["2020-01-01T00:00:00Z", "2020-01-01 01:00:00+01:00"]))
        0    1577836800
        1    1577836800
        dtype: int64
        >>> prep.epoch_seconds([1577836800000, 1577836800999]).tolist()  # ms, detected
        [1577836800, 1577836800]
    """
    s = _series(values)
    label = _label(s)
    secs, nulls, invalid, problems = _epoch(s, unit=unit, fmt=format, column=label)
    problems += _epoch_problems(
        s, nulls, invalid, column=label, on_missing=on_missing, on_invalid=on_invalid
    )
    _raise(problems, f"timestamps {label!r}")
    return _seconds_series(secs, nulls | invalid, s.index, s.name)


def _timestamp_column(
    s: pd.Series[Any],
    *,
    column: str,
    unit: Unit = "auto",
    on_missing: OnMissing,
    problems: list[Problem],
) -> pd.Series[Any]:
    """Epoch seconds of a frame column, problems appended instead of raised."""
    secs, nulls, invalid, found = _epoch(s, unit=unit, column=column)
    problems += found
    problems += _epoch_problems(
        s, nulls, invalid, column=column, on_missing=on_missing, on_invalid="raise"
    )
    return _seconds_series(secs, nulls | invalid, s.index, s.name)


# --------------------------------------------------------------------------- multi-value


def _to_lists(s: pd.Series[Any], sep: str | None) -> tuple[npt.NDArray[np.int64], _Arrow]:
    """(row of each part, parts as strings) of a column of lists, sets or joined strings."""
    arr = _arrow(s)
    if (
        arr is not None
        and pd.api.types.is_object_dtype(s.dtype)
        and not isinstance(s.dtype, pd.ArrowDtype)
    ):
        # Arrow reads sets as lists in arbitrary order: sort them (Python sets have no order).
        kinds = set(map(type, s.to_numpy()))
        if kinds & {set, frozenset}:
            arr = None
    if arr is None:
        arr = _lists_slow(s, sep)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    t = arr.type
    if pa.types.is_null(t):
        return np.zeros(0, dtype=np.int64), pa.array([], pa.string())
    lists: _Arrow
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        lists = arr
    else:
        text = arr if pa.types.is_string(t) or pa.types.is_large_string(t) else None
        if text is None:
            text = _as_string_arrow(arr)
        lists = pc.split_pattern(text, sep) if sep else _wrap(text)
    parent_index: _Arrow = pc.list_parent_indices(lists)
    parents = parent_index.to_numpy(zero_copy_only=False).astype(np.int64)
    parts: _Arrow = pc.list_flatten(lists)
    value_type = parts.type
    if pa.types.is_dictionary(value_type):
        parts = parts.dictionary_decode()
        value_type = parts.type
    if not (pa.types.is_string(value_type) or pa.types.is_large_string(value_type)):
        parts = _as_string_arrow(parts)
    return parents, parts


def _as_string_arrow(arr: _Arrow) -> _Arrow:
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.string())
    series = _as_string(pd.Series(arr.to_pandas(types_mapper=pd.ArrowDtype).array))
    out = _arrow(series)
    assert out is not None
    return out


def _wrap(text: _Arrow) -> _Arrow:
    """Each string as a one-element list (a null string is a null part, dropped later)."""
    offsets: _Arrow = pa.array(np.arange(len(text) + 1, dtype=np.int64))
    return pa.LargeListArray.from_arrays(offsets, text)


def _lists_slow(s: pd.Series[Any], sep: str | None) -> _Arrow:
    """Object columns mixing strings, lists, sets and scalars: one Python step per row."""

    def parts(v: Any) -> list[str] | None:
        if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
            return None
        if isinstance(v, str):
            return v.split(sep) if sep else [v]
        if isinstance(v, (set, frozenset)):
            return sorted(str(x) for x in v if not _is_na(x))
        if isinstance(v, (list, tuple, np.ndarray)):
            return [str(x) for x in v if not _is_na(x)]
        return [str(v)]

    return pa.array([parts(v) for v in s.to_numpy()], type=pa.large_list(pa.string()))


def _is_na(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _lengths(arr: Any) -> npt.NDArray[np.int64]:
    """Characters of each string of an Arrow array (0 for nulls)."""
    out: Any = pc.fill_null(pc.utf8_length(arr), 0)
    return np.asarray(out.to_numpy(zero_copy_only=False), dtype=np.int64)


def _codes(arr: Any) -> npt.NDArray[np.int64]:
    """Dictionary codes of an Arrow array without nulls."""
    encoded: Any = pc.dictionary_encode(arr)
    return np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)


def _repeated_in_row(
    parents: npt.NDArray[np.int64], codes: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """True for a part whose value already appeared earlier in the same row.

    Rows are contiguous runs of ``parents``. Short rows (genres, keywords) compare
    each part with the few before it, vectorised; long rows use a hash table.
    """
    n = len(codes)
    if n == 0:
        return np.zeros(0, dtype=bool)
    longest = int(np.bincount(parents).max())
    if longest <= 32:
        seen = np.zeros(n, dtype=bool)
        for k in range(1, longest):
            seen[k:] |= (codes[k:] == codes[:-k]) & (parents[k:] == parents[:-k])
        return seen
    n_codes = int(codes.max()) + 1
    if n_codes * (int(parents.max()) + 1) < 2**62:
        return np.asarray(pd.Series(parents * n_codes + codes).duplicated().to_numpy())
    return np.asarray(  # pragma: no cover - more than 2**62 (row, value) pairs
        pd.DataFrame({"p": parents, "c": codes}).duplicated().to_numpy()
    )


def _join_parts(
    parents: npt.NDArray[np.int64],
    parts: _Arrow,
    n: int,
    *,
    max_chars: int | None,
    on_too_long: OnTooLong,
) -> tuple[_Arrow, npt.NDArray[np.bool_]]:
    """Join the parts of each of ``n`` rows with ``|``.

    Parts are trimmed, bars inside them become spaces, empty parts are dropped and
    repeated parts of a row are kept once (first occurrence). ``parents`` must be
    non-decreasing. Returns the joined strings (null where a row has no parts) and
    the rows longer than ``max_chars`` (after truncation if asked).
    """
    if pa.types.is_large_string(parts.type):
        parts = pc.cast(parts, pa.string())
    parts = pc.utf8_trim_whitespace(pc.replace_substring(parts, SEP, " "))
    keep = _lengths(parts) > 0
    parents = parents[keep]
    parts = parts.filter(pa.array(keep))
    first = ~_repeated_in_row(parents, _codes(parts))
    if not first.all():
        parents = parents[first]
        parts = parts.filter(pa.array(first))
    if max_chars is not None and on_too_long == "truncate" and len(parts):
        # keep each row's first values while the joined text fits (whole values only)
        width = _lengths(parts) + 1
        running = np.cumsum(width)
        starts = np.r_[0, np.flatnonzero(np.diff(parents)) + 1]
        before = np.repeat(np.r_[0, running][starts], np.diff(np.r_[starts, len(parents)]))
        fits = (running - before - 1) <= max_chars
        parents = parents[fits]
        parts = parts.filter(pa.array(fits))
    counts = np.bincount(parents, minlength=n).astype(np.int64)
    offsets = pa.array(np.r_[0, np.cumsum(counts)].astype(np.int64))
    lists = pa.LargeListArray.from_arrays(offsets, parts)
    joined = pc.binary_join(lists, SEP)
    joined = pc.if_else(pa.array(counts == 0), pa.scalar(None, pa.string()), joined)
    too_long = np.zeros(n, dtype=bool) if max_chars is None else _lengths(joined) > max_chars
    return joined, too_long


def _too_long_problem(
    column: str, mask: npt.NDArray[np.bool_], shown: pd.Series[Any], max_chars: int
) -> Problem:
    return _problem(
        "multi-value-too-long",
        f"joined values longer than {max_chars:,} characters (bars included); "
        "Personalize fails the whole import job on them",
        column=column,
        mask=mask,
        values=shown,
        fix="keep fewer values (aggregate_multi_value(..., top=N)) or pass "
        "on_too_long='truncate' to keep each row's first values that fit",
    )


def _join_column(
    s: pd.Series[Any],
    *,
    sep: str | None,
    max_chars: int | None,
    on_too_long: OnTooLong,
    column: str,
    problems: list[Problem],
) -> pd.Series[Any]:
    parents, parts = _to_lists(s, sep)
    joined, too_long = _join_parts(
        parents, parts, len(s), max_chars=max_chars, on_too_long=on_too_long
    )
    out = _from_arrow(joined, s)
    if too_long.any() and max_chars is not None:
        problems.append(_too_long_problem(column, too_long, out, max_chars))
    return out


def join_multi_value(
    values: Values,
    *,
    sep: str | None = "|",
    max_chars: int | None = MAX_CATEGORICAL_CHARS,
    on_too_long: OnTooLong = "raise",
) -> pd.Series[Any]:
    """Multi-value categorical values as Personalize reads them: ``"Action|Crime|Drama"``.

    Each value may be a list, tuple, ndarray or set (Arrow list columns too), or a
    string already joined with ``sep``. For every row the parts are trimmed, a
    ``|`` inside a part becomes a space (it would split the value), empty and null
    parts are dropped, and repeated parts are kept once, in their first position.
    Sets have no order, so their parts are sorted. A row with no parts left is null.
    The result is always joined with ``|``, whatever ``sep`` is.

    Personalize fails the whole import job when a categorical value (bars included)
    is longer than 1,000 characters (reference §1.4), so by default such rows raise;
    ``on_too_long="truncate"`` keeps each row's first parts that fit, whole.

    Args:
        values: a Series, Index, ndarray, Arrow array or list.
        sep: the separator of values given as strings (``","`` for
            ``"Action, Crime"``); ``None`` to take each string as one value.
        max_chars: the length limit; ``None`` for no check.
        on_too_long: ``"raise"`` or ``"truncate"``.

    Returns:
        A string Series (pandas' default string dtype) with the index and name of
        ``values``.

    Raises:
        ValidationError: a joined value is longer than ``max_chars`` and
            ``on_too_long="raise"``.

    Examples:
        >>> import pandas as pd
        >>> from personakit import prep
        >>> prep.join_multi_value(pd.Series([["Drama", " Crime", "Drama"], "Action|Sci|Fi", []]))
        0    Drama|Crime
        1    Action|Sci|Fi
        2            NaN
        dtype: str
    """
    s = _series(values)
    label = _label(s)
    problems: list[Problem] = []
    out = _join_column(
        s, sep=sep, max_chars=max_chars, on_too_long=on_too_long, column=label, problems=problems
    )
    _raise(problems, f"multi-value column {label!r}")
    return out


def aggregate_multi_value(
    frame: FrameLike,
    key: str,
    column: str,
    *,
    sep: str | None = None,
    top: int | None = None,
    max_chars: int | None = MAX_CATEGORICAL_CHARS,
    on_too_long: OnTooLong = "raise",
) -> pd.DataFrame:
    """One ``|``-joined value per key from one row per (key, value): the MovieLens tags case.

    ``tags.csv`` has a row per (user, movie, tag); Items want one ``TAGS`` value per
    movie. Values are trimmed, deduplicated per key and kept in order of first
    appearance, or, with ``top=N``, the ``N`` most frequent per key, most frequent
    first (ties by first appearance). Lower-case the column first if ``"Funny"`` and
    ``"funny"`` are the same tag to you. Join the result to the items table with
    :func:`items_from`.

    Args:
        frame: the long table (pandas or Arrow).
        key: the id column (e.g. ``"movieId"``); keeps its dtype in the result.
        column: the value column (e.g. ``"tag"``); list values are flattened.
        sep: split string values on it first (``None``: each string is one value).
        top: keep the ``top`` most frequent values per key.
        max_chars: length limit of a joined value (1,000 for Personalize).
        on_too_long: ``"raise"`` or ``"truncate"`` (keep the first values that fit).

    Returns:
        A DataFrame with columns ``key`` and ``column``, one row per key in order of
        first appearance, with a fresh RangeIndex.

    Raises:
        ValidationError: a column is missing, a key is null, or a joined value is
            too long with ``on_too_long="raise"``.

    Examples:
        >>> import pandas as pd
        >>> from personakit import prep
        >>> tags = pd.DataFrame({"movieId": [1, 1, 2, 1], "tag": ["pixar", "fun", "dark", "pixar"]})
        >>> prep.aggregate_multi_value(tags, "movieId", "tag")
           movieId        tag
        0        1  pixar|fun
        1        2       dark
    """
    data = _frame(frame, "frame")
    problems = _require_columns(data, {"key": key, "column": column}, "frame")
    _raise(problems, "aggregate_multi_value input")
    if top is not None and top < 1:
        raise ValidationError(f"top={top!r}: expected a positive number of values per key")
    keys = data[key]
    null_keys = _null_mask(keys)
    if null_keys.any():
        problems.append(
            _problem(
                "key-missing",
                f"rows without a {key} cannot be aggregated",
                column=key,
                mask=null_keys,
                values=data[column],
                fix="drop them first: frame.dropna(subset=[key])",
            )
        )
    _raise(problems, f"{column!r} by {key!r}")
    codes, uniques = pd.factorize(keys, sort=False)
    row_of_part, parts = _to_lists(data[column], sep)
    parents = codes[row_of_part].astype(np.int64)
    if top is not None and len(parts):
        # rank values per key by count (desc), then first appearance
        trimmed = pc.utf8_trim_whitespace(pc.replace_substring(parts, SEP, " "))
        valid = _lengths(trimmed) > 0
        parents, trimmed = parents[valid], trimmed.filter(pa.array(valid))
        vcodes = _codes(trimmed)
        pair = parents * (int(vcodes.max(initial=0)) + 1) + vcodes
        _, first, counts = np.unique(pair, return_index=True, return_counts=True)
        group = parents[first]
        order = np.lexsort((first, -counts, group))
        starts = np.r_[0, np.flatnonzero(np.diff(group[order])) + 1]
        rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        chosen = order[rank < top]  # still by key, then rank
        parents = group[chosen]
        parts = trimmed.take(pa.array(first[chosen]))
    else:
        order = np.argsort(parents, kind="stable")
        parents = parents[order]
        parts = parts.take(order)
    joined, too_long = _join_parts(
        parents, parts, len(uniques), max_chars=max_chars, on_too_long=on_too_long
    )
    key_col = pd.Series(uniques, name=key)
    values = _from_arrow(joined, pd.Series(index=key_col.index, name=column, dtype=object))
    if too_long.any() and max_chars is not None:
        problems.append(_too_long_problem(column, too_long, key_col, max_chars))
        _raise(problems, f"{column!r} by {key!r}")
    return pd.DataFrame({key: key_col, column: values})


# --------------------------------------------------------------------------- booleans


def _bool_column(
    s: pd.Series[Any], mode: BooleanMode, column: str
) -> tuple[pd.Series[Any], Problem | None]:
    """``"True"``/``"False"`` strings (or 0/1 ``Int8``) of a boolean-like column."""
    if mode == "keep":
        return s, None
    nulls = _null_mask(s)
    typed = pd.api.types.is_bool_dtype(s.dtype) and not isinstance(s.dtype, pd.ArrowDtype)
    if typed or _is_arrow(s, pa.types.is_boolean):
        flags = s.to_numpy(dtype=bool, na_value=False)
        bad = np.zeros(len(s), dtype=bool)
    else:
        values = s.astype(object)
        mapped = values.map(_BOOL_TEXT)
        # a dict lookup finds True for 1 and False for 0: accept bools and strings only
        kinds = values.map(type, na_action="ignore")
        typed_ok = kinds.isin([bool, np.bool_, str]).to_numpy(dtype=bool)
        bad = ~nulls & (_null_mask(mapped) | ~typed_ok)
        flags = (mapped == "True").to_numpy(dtype=bool)
    problem = None
    if bad.any():
        problem = _problem(
            "not-boolean",
            "values other than True/False cannot be converted to booleans",
            column=column,
            mask=bad,
            values=s,
            fix="map them to True/False first, or leave the column out of booleans()",
        )
    if mode == "int":
        ints = pd.arrays.IntegerArray(flags.astype(np.int8), nulls | bad)
        return pd.Series(ints, index=s.index, name=s.name), problem
    text = pa.array(np.where(flags, "True", "False"), mask=nulls | bad, type=pa.string())
    return _from_arrow(text, s), problem


@overload
def booleans(
    data: pd.Series[Any], *, columns: None = None, to: Literal["string", "int"] = "string"
) -> pd.Series[Any]: ...
@overload
def booleans(
    data: FrameLike,
    *,
    columns: Sequence[str] | None = None,
    to: Literal["string", "int"] = "string",
) -> pd.DataFrame: ...
def booleans(
    data: pd.Series[Any] | FrameLike,
    *,
    columns: Sequence[str] | None = None,
    to: Literal["string", "int"] = "string",
) -> pd.Series[Any] | pd.DataFrame:
    """Booleans as the strings ``"True"``/``"False"``, which Personalize can train and filter on.

    Personalize ignores ``boolean`` fields for training **and** filtering
    (reference §1.1); a categorical string ``"True"``/``"False"`` (or an int 0/1)
    works. Nulls stay null. Accepted values: ``bool``, pandas ``boolean``,
    ``bool[pyarrow]``, and object columns of ``True``/``False`` or the strings
    ``"True"``/``"False"`` (any case of ``true``/``false``).

    Args:
        data: a Series (returns a Series) or a DataFrame / Arrow table (returns a
            DataFrame with the same index).
        columns: for a frame, the columns to convert; ``None`` converts every
            boolean-typed column and leaves the others alone.
        to: ``"string"`` (``"True"``/``"False"``) or ``"int"`` (nullable ``Int8`` 0/1).

    Returns:
        A new Series or DataFrame.

    Raises:
        ValidationError: a named column holds values other than booleans.

    Examples:
        >>> import pandas as pd
        >>> from personakit import prep
        >>> prep.booleans(pd.Series([True, False, None], dtype="boolean")).tolist()
        ['True', 'False', nan]
    """
    if isinstance(data, pd.Series):
        if columns is not None:
            raise ValidationError("columns= is for frames; a Series is one column")
        out, problem = _bool_column(data, to, _label(data))
        _raise([problem] if problem else [], f"booleans {_label(data)!r}")
        return out
    frame = _frame(data)
    problems = _require_columns(frame, {"columns": list(columns or [])}, "frame")
    _raise(problems, "booleans input")
    names = (
        list(columns) if columns is not None else [c for c in frame.columns if _is_bool(frame[c])]
    )
    converted: dict[Any, pd.Series[Any]] = {}
    for name in names:
        out, problem = _bool_column(frame[name], to, str(name))
        converted[name] = out
        if problem:
            problems.append(problem)
    _raise(problems, "booleans")
    return _rebuild(frame, converted)


def _rebuild(frame: pd.DataFrame, replace: Mapping[Any, pd.Series[Any]]) -> pd.DataFrame:
    """A new frame with some columns replaced (same index, same column order)."""
    data = {c: replace.get(c, frame[c]) for c in frame.columns}
    return pd.DataFrame(data, index=frame.index)


# --------------------------------------------------------------------------- missing values


#: Reserved fields that can never be null, whatever the dataset type.
_NEVER_NULL = ("USER_ID", "ITEM_ID", "ACTION_ID", "TIMESTAMP")


def fill_missing(
    frame: FrameLike,
    policy: Mapping[str, Any],
    *,
    dataset_type: str | DatasetType | None = None,
    domain: str | Domain | None = None,
) -> pd.DataFrame:
    """Apply a missing-value policy column by column.

    ``policy`` maps a column to:

    * ``"drop"``: drop the rows where it is null;
    * ``"keep"``: leave the nulls (the schema field becomes ``["null", T]``);
    * any other value: fill nulls with it (``"Unknown"``, ``0``, ``-1`` ...).

    Columns not in ``policy`` are left alone. Required fields (``USER_ID``,
    ``ITEM_ID``, ``ACTION_ID``, ``TIMESTAMP``, and for ``dataset_type`` / ``domain``
    the fields their schema requires, such as ``EVENT_TYPE`` in domain interactions,
    recognised as :meth:`~personakit.Schema.infer` does) cannot be null: if nulls
    are left in one of them afterwards this raises.

    Args:
        frame: pandas DataFrame or Arrow table.
        policy: column -> ``"drop"``, ``"keep"`` or a fill value.
        dataset_type: check the required fields of this dataset type.
        domain: ``"ECOMMERCE"`` / ``"VIDEO_ON_DEMAND"`` for domain schemas.

    Returns:
        A new DataFrame; kept rows keep their index labels.

    Raises:
        ValidationError: a policy names a missing column, or a required field
            still holds nulls.

    Examples:
        >>> import pandas as pd
        >>> from personakit import prep
        >>> users = pd.DataFrame({"USER_ID": ["1", None, "3"], "AGE": [31, 40, None]})
        >>> prep.fill_missing(users, {"USER_ID": "drop", "AGE": -1})
          USER_ID   AGE
        0       1  31.0
        2       3  -1.0
    """
    data = _frame(frame)
    problems = _require_columns(data, {"policy": list(policy)}, "frame")
    _raise(problems, "fill_missing input")
    drop = np.zeros(len(data), dtype=bool)
    fills: dict[str, Any] = {}
    for column, action in policy.items():
        if isinstance(action, str) and action == "drop":
            drop |= _null_mask(data[column])
        elif isinstance(action, str) and action == "keep":
            continue
        else:
            fills[column] = action
    kept = data[~drop] if drop.any() else data
    out = _rebuild(kept, {c: kept[c].fillna(v) for c, v in fills.items()})
    required = set(_NEVER_NULL)
    names = [str(c) for c in out.columns]
    roles: dict[str, str] = {n: n for n in names if n in required}
    if dataset_type is not None:
        dtype = DatasetType.parse(dataset_type)
        dom = Domain.parse(domain)
        reserved = RESERVED[(dtype, dom)]
        required = {name for name, rule in reserved.items() if rule.required}
        roles = {c: r for c, r in role_columns(names, dtype, dom, {}).items() if r in required}
    for column, role in roles.items():
        nulls = _null_mask(out[column])
        if nulls.any():
            problems.append(
                _problem(
                    "required-field-null",
                    f"{role} is required and cannot be null",
                    column=column,
                    mask=nulls,
                    fix=f"policy={{{column!r}: 'drop'}} drops those rows",
                )
            )
    _raise(problems, "fill_missing result")
    return out


# --------------------------------------------------------------------------- names


def _field_names(
    names: Sequence[str],
    dtype: DatasetType,
    domain: Domain | None,
    explicit: Mapping[str, str],
    *,
    exclude_roles: Iterable[str] = (),
) -> tuple[dict[str, str], dict[str, str], list[Problem]]:
    """(column -> field name, column -> reserved role, name conflicts)."""
    roles = role_columns(list(names), dtype, domain, dict(explicit))
    excluded = set(exclude_roles)
    roles = {c: r for c, r in roles.items() if r not in excluded or c in explicit}
    fields = {c: roles.get(c) or field_name_for(c) for c in names}
    seen: dict[str, str] = {}
    problems = []
    for column, name in fields.items():
        key = squash_name(name)
        if key in seen:
            problems.append(
                Problem.with_examples(
                    "error",
                    "field-name-conflict",
                    f"columns {seen[key]!r} and {column!r} would both be the field {name} "
                    "(Personalize ignores case and underscores when it compares names)",
                    column=column,
                    count=1,
                    fix="drop or rename one of them",
                )
            )
        seen.setdefault(key, column)
    return fields, roles, problems


def rename_reserved(
    frame: FrameLike,
    dataset_type: str | DatasetType = DatasetType.INTERACTIONS,
    *,
    columns: Mapping[str, str] | None = None,
    domain: str | Domain | None = None,
) -> pd.DataFrame:
    """Rename role columns to Personalize's reserved names and the rest to UPPER_SNAKE_CASE.

    Roles are recognised exactly as :meth:`personakit.Schema.infer` recognises them
    (``userId``, ``customer_id`` -> ``USER_ID``; ``movieId``, ``sku`` -> ``ITEM_ID``;
    ``created_at`` -> ``CREATION_TIMESTAMP`` ...; see
    :data:`personakit.rules.schema.ROLE_ALIASES`); ``columns`` wins over recognition.
    Other columns get :func:`~personakit.rules.schema.field_name_for` names
    (``releaseYear`` -> ``RELEASE_YEAR``). Values are not changed.

    Args:
        frame: pandas DataFrame or Arrow table.
        dataset_type: which reserved names apply (``"interactions"``, ``"items"`` ...).
        columns: explicit column -> field name mapping.
        domain: ``"ECOMMERCE"`` / ``"VIDEO_ON_DEMAND"`` for domain reserved names.

    Returns:
        A new DataFrame with renamed columns and the same index.

    Raises:
        ValidationError: two columns would get the same name, or ``columns`` names
            a column the frame lacks.

    Examples:
        >>> import pandas as pd
        >>> from personakit import prep
        >>> ratings = pd.DataFrame({"userId": [1], "movieId": [2], "timestamp": [3],
        ...                         "rating": [4.0]})
        >>> list(prep.rename_reserved(ratings).columns)
        ['USER_ID', 'ITEM_ID', 'TIMESTAMP', 'RATING']
    """
    data = _frame(frame)
    dtype = DatasetType.parse(dataset_type)
    names = [str(c) for c in data.columns]
    fields, _, problems = _field_names(names, dtype, Domain.parse(domain), dict(columns or {}))
    _raise(problems, f"{dtype.value} columns")
    return data.rename(columns=dict(zip(data.columns, [fields[n] for n in names], strict=True)))


# --------------------------------------------------------------------------- metadata columns


def _metadata_column(
    s: pd.Series[Any],
    *,
    column: str,
    bool_mode: BooleanMode,
    problems: list[Problem],
) -> pd.Series[Any]:
    """A metadata column in Personalize's shape: lists joined, booleans, datetimes -> seconds."""
    if _is_listlike(s):
        return _join_column(
            s,
            sep=None,
            max_chars=MAX_CATEGORICAL_CHARS,
            on_too_long="raise",
            column=column,
            problems=problems,
        )
    if _is_bool(s):
        out, problem = _bool_column(s, bool_mode, column)
        if problem:
            problems.append(problem)
        return out
    if _is_datetime(s):
        return _timestamp_column(s, column=column, on_missing="keep", problems=problems)
    return s


def _keep_mapping(keep: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    if isinstance(keep, str):
        return {keep: field_name_for(keep)}
    if isinstance(keep, Mapping):
        return {str(k): str(v) for k, v in keep.items()}
    return {str(k): field_name_for(str(k)) for k in keep}


# --------------------------------------------------------------------------- interactions


def _numeric_column(
    s: pd.Series[Any], column: str, problems: list[Problem]
) -> npt.NDArray[np.float64]:
    if pd.api.types.is_bool_dtype(s.dtype) or not (
        pd.api.types.is_numeric_dtype(s.dtype)
        or pd.api.types.infer_dtype(s, skipna=True)
        in ("integer", "floating", "mixed-integer-float", "decimal", "empty")
    ):
        numbers = pd.to_numeric(s, errors="coerce")
        bad = ~_null_mask(s) & _null_mask(numbers)
        if bad.any():
            problems.append(
                _problem(
                    "rating-not-numeric",
                    "ratings must be numbers",
                    column=column,
                    mask=bad,
                    values=s,
                    fix="convert the column to numbers, e.g. pd.to_numeric(frame[col])",
                )
            )
        s = numbers
    return np.asarray(s.to_numpy(dtype="float64", na_value=np.nan))


def _event_types(
    spec: str | Mapping[Any, str] | Callable[[pd.Series[Any]], Any],
    rating: pd.Series[Any] | None,
    n: int,
    problems: list[Problem],
) -> pd.Series[Any]:
    index = pd.RangeIndex(n)
    if isinstance(spec, str):
        if not spec.strip():
            raise ValidationError("event_type='' : give a non-empty event type such as 'Watch'")
        return _from_arrow(
            pa.repeat(pa.scalar(spec, pa.string()), n),
            pd.Series(index=index, name="EVENT_TYPE", dtype=object),
        )
    assert rating is not None
    if isinstance(spec, Mapping):
        raw: Any = rating.map(dict(spec))
        unmapped = ~_null_mask(rating) & _null_mask(raw)
        if unmapped.any():
            missing = list(pd.unique(rating[unmapped]))[:10]
            problems.append(
                _problem(
                    "event-type-unmapped",
                    f"ratings {', '.join(map(str, missing))} have no event type in the mapping",
                    column=str(rating.name),
                    mask=unmapped,
                    values=rating,
                    fix="add them to event_type={...} or drop them with min_rating=",
                )
            )
    else:
        raw = spec(rating)
    if isinstance(raw, pd.Series):
        raw = raw.to_numpy()
    if np.ndim(raw) == 0:
        raw = np.full(n, raw, dtype=object)
    if len(raw) != n:
        raise ValidationError(
            f"event_type callable returned {len(raw)} values for {n} ratings; it is called "
            "once with the whole rating column and must return one event type per row"
        )
    types = _as_string(pd.Series(raw, index=index, name="EVENT_TYPE"))
    nulls = _null_mask(types) & ~_null_mask(rating)
    if nulls.any() and not isinstance(spec, Mapping):
        problems.append(
            _problem(
                "event-type-missing",
                "the event_type callable returned nulls",
                column="EVENT_TYPE",
                mask=nulls,
                values=rating,
                fix="return an event type for every rating",
            )
        )
    return types


def _to_input_rows(
    problems: list[Problem],
    kept: npt.NDArray[np.bool_] | None,
    order: npt.NDArray[np.intp] | None,
) -> list[Problem]:
    """Problems found in filtered (``kept``) and sorted (``order``) rows, with input rows."""
    if not problems or (kept is None and order is None):
        return problems
    source = np.flatnonzero(kept) if kept is not None else None
    out = []
    for p in problems:
        rows = np.asarray(p.rows, dtype=np.intp)
        if order is not None:
            rows = order[rows]
        if source is not None:
            rows = source[rows]
        if len(p.values) == len(rows):
            pairs = sorted(zip(rows.tolist(), p.values, strict=True))
            out.append(attrs.evolve(p, rows=[r for r, _ in pairs], values=[v for _, v in pairs]))
        else:
            out.append(attrs.evolve(p, rows=sorted(rows.tolist())))
    return out


def ratings_to_interactions(
    ratings: FrameLike,
    *,
    user: str = "userId",
    item: str = "movieId",
    timestamp: str = "timestamp",
    rating: str = "rating",
    min_rating: float | None = None,
    event_type: EventType = None,
    event_value: bool = False,
    keep: Sequence[str] | Mapping[str, str] = (),
    timestamp_unit: Unit = "auto",
) -> pd.DataFrame:
    """An Interactions frame from explicit ratings (MovieLens ``ratings.csv`` and the like).

    Personalize learns from implicit events, so a common recipe keeps the ratings
    that signal interest (``min_rating=3.5``) and records them as one event type
    (``"Watch"``), or maps ratings to event types (``{5: "love", 4: "like"}``), or
    keeps the rating as ``EVENT_VALUE`` for ``eventValueThreshold`` at training.

    Output columns, in this order: ``USER_ID``, ``ITEM_ID`` (strings),
    ``TIMESTAMP`` (``int64`` epoch seconds, see :func:`epoch_seconds`),
    ``EVENT_TYPE`` (if ``event_type``), ``EVENT_VALUE`` (``float32``, if
    ``event_value``), then the ``keep`` columns as metadata (UPPER_SNAKE names;
    lists joined with ``|``, booleans ``"True"``/``"False"``, datetimes in
    seconds). Rows are sorted by ``TIMESTAMP`` (stable: ties keep their input
    order) and get a fresh RangeIndex.

    Args:
        ratings: pandas DataFrame or Arrow table.
        user: user id column.
        item: item id column.
        timestamp: time column (seconds, ms, us, ns, datetimes or strings).
        rating: rating column; needed only by ``min_rating``, ``event_value`` and a
            mapping or callable ``event_type``.
        min_rating: keep rows with ``rating >= min_rating`` (null ratings are dropped).
        event_type: ``None`` (no ``EVENT_TYPE`` column); a string for every row
            (``"Watch"``); a mapping from rating to event type (every kept rating
            must be in it); or a callable called **once** with the rating column
            (a Series) returning one event type per row, e.g.
            ``lambda r: np.where(r >= 4, "like", "watch")``.
        event_value: put the rating into ``EVENT_VALUE`` (``float32``).
        keep: extra columns to keep as metadata, as a list (renamed with
            ``field_name_for``) or a ``{column: FIELD_NAME}`` mapping.
        timestamp_unit: unit of numeric timestamps (``"auto"`` detects it).

    Returns:
        A new DataFrame in Personalize's Interactions shape.

    Raises:
        ValidationError: missing columns, null ids or timestamps, unparseable
            timestamps, non-numeric ratings, ratings without an event type, or
            field-name conflicts; all of them in one error.

    Examples:
        >>> import pandas as pd
        >>> from personakit import prep
        >>> ratings = pd.DataFrame({"userId": [1, 1, 2], "movieId": [10, 20, 10],
        ...                         "rating": [4.5, 2.0, 5.0],
        ...                         "timestamp": [964982703, 964981247, 964982224]})
        >>> prep.ratings_to_interactions(ratings, min_rating=3.5, event_type="Watch")
          USER_ID ITEM_ID  TIMESTAMP EVENT_TYPE
        0       2      10  964982224      Watch
        1       1      10  964982703      Watch
    """
    data = _frame(ratings, "ratings")
    keep_map = _keep_mapping(keep)
    needs_number = min_rating is not None or event_value
    needs_rating = needs_number or (event_type is not None and not isinstance(event_type, str))
    wanted: dict[str, str | list[str]] = {"user": user, "item": item, "timestamp": timestamp}
    if needs_rating:
        wanted["rating"] = rating
    wanted["keep"] = list(keep_map)
    problems = _require_columns(data, wanted, "ratings")
    _raise(problems, "ratings")

    rating_values: npt.NDArray[np.float64] | None = None
    if needs_number:
        rating_values = _numeric_column(data[rating], rating, problems)
        _raise(problems, "ratings")
    mask: npt.NDArray[np.bool_] | None = None
    if min_rating is not None:
        assert rating_values is not None
        with np.errstate(invalid="ignore"):
            mask = rating_values >= min_rating

    def take(column: str) -> pd.Series[Any]:
        s = data[column]
        return s[mask] if mask is not None else s

    ts = take(timestamp)
    secs, nulls, invalid, found = _epoch(ts, unit=timestamp_unit, column=timestamp)
    # rows of the kept ratings, sorted by time from here on: problems found in them
    # are reported with the row numbers of the input (see _to_input_rows)
    later: list[Problem] = found
    later += _epoch_problems(
        ts, nulls, invalid, column=timestamp, on_missing="raise", on_invalid="raise"
    )
    problems += _to_input_rows(later, mask, None)
    order: npt.NDArray[np.intp] | slice = slice(None)
    if len(secs) > 1 and not bool(np.all(secs[1:] >= secs[:-1])):
        order = np.argsort(secs, kind="stable")
    n = len(secs)
    later = []

    def ordered(s: pd.Series[Any]) -> pd.Series[Any]:
        out = s.iloc[order] if isinstance(order, np.ndarray) else s
        return out.reset_index(drop=True)

    columns: dict[str, pd.Series[Any]] = {}
    for role, column in (("USER_ID", user), ("ITEM_ID", item)):
        ids = _as_string(ordered(take(column)))
        null_ids = _null_mask(ids)
        if null_ids.any():
            later.append(
                _problem(
                    "id-missing",
                    f"{role} is required and cannot be null",
                    column=column,
                    mask=null_ids,
                    fix="drop those rows first: "
                    f"pk.prep.fill_missing(frame, {{{column!r}: 'drop'}})",
                )
            )
        columns[role] = ids.rename(role)
    columns["TIMESTAMP"] = pd.Series(
        secs[order] if isinstance(order, np.ndarray) else secs, name="TIMESTAMP"
    )
    if event_type is not None:
        raw_rating = ordered(take(rating)) if needs_rating else None
        columns["EVENT_TYPE"] = _event_types(event_type, raw_rating, n, later).rename("EVENT_TYPE")
    if event_value:
        assert rating_values is not None
        r = rating_values[mask] if mask is not None else rating_values
        r = r[order] if isinstance(order, np.ndarray) else r
        columns["EVENT_VALUE"] = pd.Series(r.astype(np.float32), name="EVENT_VALUE")
    reserved = set(columns)
    seen = {squash_name(name): name for name in columns}
    for column, name in keep_map.items():
        if squash_name(name) in seen:
            later.append(
                Problem.with_examples(
                    "error",
                    "field-name-conflict",
                    f"keep={column!r} would be the field {name}, which is "
                    f"{'reserved' if seen[squash_name(name)] in reserved else 'taken'} here",
                    column=column,
                    count=1,
                    fix="pass keep={column: 'OTHER_NAME'} or leave it out",
                )
            )
            continue
        seen[squash_name(name)] = name
        columns[name] = _metadata_column(
            ordered(take(column)), column=column, bool_mode="string", problems=later
        ).rename(name)
    problems += _to_input_rows(later, mask, order if isinstance(order, np.ndarray) else None)
    _raise(problems, "ratings")
    return pd.DataFrame(columns)


# --------------------------------------------------------------------------- items / users


def _multi_value_map(multi_value: MultiValue) -> dict[str, str | None]:
    if multi_value is None:
        return {}
    if isinstance(multi_value, str):
        return {multi_value: SEP}
    if isinstance(multi_value, Mapping):
        return dict(multi_value)
    return dict.fromkeys(multi_value, SEP)


def _entity(
    data: pd.DataFrame,
    dtype: DatasetType,
    id_role: str,
    id_column: str | None,
    *,
    id_argument: str,
    multi_value: MultiValue,
    creation_timestamp: str | Literal[False] | None,
    textual: str | None,
    bool_mode: BooleanMode,
    drop: Sequence[str],
    domain: Domain | None,
) -> pd.DataFrame:
    subject = dtype.value.lower()
    multi = _multi_value_map(multi_value)
    wanted: dict[str, str | list[str]] = {"drop": list(drop), "multi_value": list(multi)}
    if id_column is not None:
        wanted[id_argument] = id_column
    if creation_timestamp:
        wanted["creation_timestamp"] = creation_timestamp
    if textual is not None:
        wanted["textual"] = textual
    problems = _require_columns(data, wanted, f"{subject} frame")
    _raise(problems, f"{subject} frame")
    if drop:
        data = data.drop(columns=list(drop))
    names = [str(c) for c in data.columns]
    explicit = {id_column: id_role} if id_column is not None else {}
    if creation_timestamp:
        explicit[creation_timestamp] = "CREATION_TIMESTAMP"
    fields, roles, problems = _field_names(
        names,
        dtype,
        domain,
        explicit,
        exclude_roles=["CREATION_TIMESTAMP"] if creation_timestamp is False else (),
    )
    id_cols = [c for c, r in roles.items() if r == id_role]
    if not id_cols:
        raise ValidationError(
            f"no {id_role} column in the {subject} frame (columns: {', '.join(names)}); "
            f"name it with {id_argument}='yourIdColumn'"
        )
    (id_col,) = id_cols
    reserved = RESERVED[(dtype, domain)]
    out: dict[str, pd.Series[Any]] = {}
    for column in names:
        s = data[column]
        name = fields[column]
        role = roles.get(column)
        if role == id_role:
            col = _as_string(s)
            nulls = _null_mask(col)
            if nulls.any():
                problems.append(
                    _problem(
                        "id-missing",
                        f"{id_role} is required and cannot be null",
                        column=column,
                        mask=nulls,
                        fix=f"drop those rows first: pk.prep.fill_missing(frame, "
                        f"{{{column!r}: 'drop'}})",
                    )
                )
        elif role == "CREATION_TIMESTAMP":
            required = reserved["CREATION_TIMESTAMP"].required
            col = _timestamp_column(
                s, column=column, on_missing="raise" if required else "keep", problems=problems
            )
        elif column in multi:
            col = _join_column(
                s,
                sep=multi[column],
                max_chars=MAX_CATEGORICAL_CHARS,
                on_too_long="raise",
                column=column,
                problems=problems,
            )
        elif column == textual:
            col = _textual_column(s, column)
        else:
            col = _metadata_column(s, column=column, bool_mode=bool_mode, problems=problems)
        out[name] = col.rename(name).reset_index(drop=True)
    _raise(problems, f"{subject} frame")
    id_name = fields[id_col]
    ids = out[id_name]
    dup = ids.duplicated(keep="last").to_numpy(dtype=bool)
    if dup.any():
        rows, shown = _examples(ids, dup)
        pairs = ", ".join(f"row {r}: {v!r}" for r, v in zip(rows, shown, strict=True))
        _warn(
            f"{subject}: {int(dup.sum()):,} rows repeat an {id_role} already seen later in the "
            f"frame; kept the last record of each id, as Personalize does ({pairs})",
        )
        out = {k: v[~dup].reset_index(drop=True) for k, v in out.items()}
    ordered = {id_name: out.pop(id_name), **out}
    return pd.DataFrame(ordered)


def _textual_column(s: pd.Series[Any], column: str) -> pd.Series[Any]:
    """Free text as a string column, line breaks and tabs as spaces, length checked."""
    text = _as_string(s)
    arr = _arrow(text)
    assert arr is not None
    arr = pc.replace_substring_regex(arr, r"[\r\n\t]+", " ")
    over = _lengths(arr) > MAX_TEXTUAL_CHARS
    if over.any():
        rows = np.flatnonzero(over)[:5].tolist()
        _warn(
            f"{column}: {int(over.sum()):,} textual values exceed {MAX_TEXTUAL_CHARS:,} "
            f"characters; Personalize truncates them (rows {rows})",
        )
    return _from_arrow(arr, s)


def items(
    frame: FrameLike,
    *,
    item: str | None = None,
    multi_value: MultiValue = None,
    creation_timestamp: str | Literal[False] | None = None,
    textual: str | None = None,
    booleans: BooleanMode = "string",
    drop: Sequence[str] = (),
    domain: str | Domain | None = None,
) -> pd.DataFrame:
    """An Items frame in Personalize's shape from a catalogue table.

    * ``ITEM_ID``: the ``item`` column (or the one recognised as the item id:
      ``item_id``, ``movieId``, ``sku``, ``product_id`` ...), as strings, first.
    * ``multi_value`` columns: ``{"genres": "|"}`` means the column holds text
      joined with ``|`` (or lists); it is split on the given separator, cleaned
      and re-joined with ``|`` (see :func:`join_multi_value`). Columns of lists are
      joined even when not named.
    * ``CREATION_TIMESTAMP``: the ``creation_timestamp`` column, or the one
      recognised by name (``created_at``, ``release_date`` ...; ``False`` for
      none), in epoch seconds. Other datetime columns also become epoch seconds.
    * booleans: ``"True"``/``"False"`` strings by default (see :func:`booleans`).
    * ``textual``: the free-text column (description); kept as a string with line
      breaks and tabs as spaces; a ``UserWarning`` names values over 20,000
      characters, which Personalize truncates. Pass the same name to
      ``Schema.infer(..., textual=...)``.
    * other columns keep their values under UPPER_SNAKE names.

    An id that appears more than once keeps its **last** row (what Personalize
    does when the same id is imported twice), with a ``UserWarning``.

    Args:
        frame: pandas DataFrame or Arrow table, one row per item.
        item: the item id column; ``None`` recognises it by name.
        multi_value: ``{column: separator}`` (``None`` as separator: lists only),
            or a list of columns joined with ``|``.
        creation_timestamp: the creation time column, ``None`` to recognise it,
            ``False`` for none.
        textual: the free-text column, if any.
        booleans: ``"string"``, ``"int"`` (0/1) or ``"keep"``.
        drop: columns to leave out.
        domain: ``"ECOMMERCE"`` / ``"VIDEO_ON_DEMAND"`` for domain reserved names.

    Returns:
        A new DataFrame with a fresh RangeIndex.

    Raises:
        ValidationError: a named column is missing, no item id column, null ids,
            unparseable timestamps, multi-values over 1,000 characters, non-boolean
            values in a boolean column, or field-name conflicts.

    Examples:
        >>> import pandas as pd
        >>> from personakit import prep
        >>> movies = pd.DataFrame({"movieId": [1, 2], "title": ["Toy Story (1995)", "Heat (1995)"],
        ...                        "genres": ["Adventure|Animation|Children", "Action|Crime"]})
        >>> prep.items(movies, item="movieId", multi_value={"genres": "|"})
          ITEM_ID             TITLE                        GENRES
        0       1  Toy Story (1995)  Adventure|Animation|Children
        1       2       Heat (1995)                  Action|Crime
    """
    return _entity(
        _frame(frame, "items frame"),
        DatasetType.ITEMS,
        "ITEM_ID",
        item,
        id_argument="item",
        multi_value=multi_value,
        creation_timestamp=creation_timestamp,
        textual=textual,
        bool_mode=booleans,
        drop=drop,
        domain=Domain.parse(domain),
    )


def users(
    frame: FrameLike,
    *,
    user: str | None = None,
    multi_value: MultiValue = None,
    booleans: BooleanMode = "string",
    drop: Sequence[str] = (),
    domain: str | Domain | None = None,
) -> pd.DataFrame:
    """A Users frame in Personalize's shape from a table of users.

    Same rules as :func:`items`: ``USER_ID`` (the ``user`` column or the one
    recognised by name: ``user_id``, ``customer_id`` ...) as strings and first,
    ``multi_value`` columns split and re-joined with ``|``, booleans as
    ``"True"``/``"False"``, datetimes as epoch seconds, UPPER_SNAKE names, the last
    row of a repeated id kept (``UserWarning``).

    Args:
        frame: pandas DataFrame or Arrow table, one row per user.
        user: the user id column; ``None`` recognises it by name.
        multi_value: ``{column: separator}`` or a list of columns joined with ``|``.
        booleans: ``"string"``, ``"int"`` (0/1) or ``"keep"``.
        drop: columns to leave out (e.g. personal data you do not want to send).
        domain: ``"ECOMMERCE"`` / ``"VIDEO_ON_DEMAND"`` for domain reserved names.

    Returns:
        A new DataFrame with a fresh RangeIndex.

    Raises:
        ValidationError: as for :func:`items`.

    Examples:
        >>> import pandas as pd
        >>> from personakit import prep
        >>> people = pd.DataFrame({"customer_id": [7, 8], "plan": ["free", "pro"],
        ...                        "newsletter": [True, False]})
        >>> prep.users(people)
          USER_ID  PLAN NEWSLETTER
        0       7  free       True
        1       8   pro      False
    """
    return _entity(
        _frame(frame, "users frame"),
        DatasetType.USERS,
        "USER_ID",
        user,
        id_argument="user",
        multi_value=multi_value,
        creation_timestamp=False,
        textual=None,
        bool_mode=booleans,
        drop=drop,
        domain=Domain.parse(domain),
    )


# --------------------------------------------------------------------------- joins


def _join(
    tables: Sequence[FrameLike],
    key: str | None,
    dtype: DatasetType,
    role: str,
    how: Literal["left", "inner", "outer"],
) -> tuple[pd.DataFrame, str]:
    """Join per-id tables on their id column; every problem reported at once."""
    if not tables:
        raise ValidationError("give at least one table to join")
    if how not in ("left", "inner", "outer"):
        raise ValidationError(f"how={how!r}: expected 'left', 'inner' or 'outer'")
    frames = [_frame(t, f"table {i}") for i, t in enumerate(tables)]
    problems: list[Problem] = []
    keys: list[str] = []
    argument = "item" if role == "ITEM_ID" else "user"
    for i, f in enumerate(frames):
        names = [str(c) for c in f.columns]
        if key is not None:
            found = key if key in names else None
        else:
            roles = role_columns(names, dtype, None, {})
            found = next((c for c, r in roles.items() if r == role), None)
        if found is None:
            wanted = repr(key) if key is not None else f"recognisable as {role}"
            problems.append(
                Problem.with_examples(
                    "error",
                    "join-key-missing",
                    f"table {i} has no key column {wanted} (columns: {', '.join(names)})",
                    column=key,
                    count=1,
                    fix=f"rename its id column, or pass {argument}= the common name",
                )
            )
        keys.append(found or "")
    _raise(problems, "tables to join")
    base_key = keys[0]
    joined_names = {field_name_for(c): (0, c) for c in map(str, frames[0].columns) if c != keys[0]}
    parts: list[pd.DataFrame] = []
    for i, (f, k) in enumerate(zip(frames, keys, strict=True)):
        ids = _as_string(f[k])
        nulls = _null_mask(ids)
        if nulls.any():
            problems.append(
                _problem(
                    "join-key-null",
                    f"table {i}: rows without a key cannot be joined",
                    column=k,
                    mask=nulls,
                    fix="drop them first",
                )
            )
        dups = ids.duplicated(keep=False).to_numpy(dtype=bool) & ~nulls
        if dups.any():
            problems.append(
                _problem(
                    "join-key-duplicated",
                    f"table {i}: {k} repeats, so a join would repeat rows; "
                    "each table must have one row per id",
                    column=k,
                    mask=dups,
                    values=ids,
                    fix="aggregate to one row per id first, e.g. pk.prep.aggregate_multi_value("
                    "tags, key, 'tag') or frame.groupby(key).agg(...)",
                )
            )
        if i:
            for c in map(str, f.columns):
                if c == k:
                    continue
                name = field_name_for(c)
                if name in joined_names:
                    j, other = joined_names[name]
                    problems.append(
                        Problem.with_examples(
                            "error",
                            "join-column-conflict",
                            f"table {i} column {c!r} and table {j} column {other!r} would both "
                            f"be {name}",
                            column=c,
                            count=1,
                            fix="drop or rename one of them before joining",
                        )
                    )
                joined_names.setdefault(name, (i, c))
        part = _rebuild(f, {k: ids})
        parts.append(part.rename(columns={k: base_key}) if k != base_key else part)
    _raise(problems, "tables to join")
    if how != "inner":  # rows without a match get nulls: keep integers integers
        parts = [parts[0], *map(_nullable_numbers, parts[1:])]
        if how == "outer":
            parts[0] = _nullable_numbers(parts[0])
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part, on=base_key, how=how, sort=False, validate="one_to_one")
    return merged.reset_index(drop=True), base_key


def _nullable_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """numpy int and bool columns as pandas' nullable types, so a join's nulls keep them."""
    convert: dict[Any, pd.Series[Any]] = {}
    for column in frame.columns:
        dtype = frame[column].dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "iu":
            nullable = _INT_NULLABLE[pa.from_numpy_dtype(dtype)]
            convert[column] = frame[column].astype(nullable)
        elif isinstance(dtype, np.dtype) and dtype.kind == "b":
            convert[column] = frame[column].astype("boolean")
    return _rebuild(frame, convert) if convert else frame


def items_from(
    *tables: FrameLike,
    item: str | None = None,
    how: Literal["left", "inner", "outer"] = "left",
    multi_value: MultiValue = None,
    creation_timestamp: str | Literal[False] | None = None,
    textual: str | None = None,
    booleans: BooleanMode = "string",
    drop: Sequence[str] = (),
    domain: str | Domain | None = None,
) -> pd.DataFrame:
    """An Items frame from several per-item tables **joined** on the item id.

    Join when the tables hold *different columns for the same items* (MovieLens
    ``movies.csv`` + ``links.csv`` + tags aggregated per movie with
    :func:`aggregate_multi_value`); concat (``pd.concat``) when they hold *more
    rows with the same columns*, then call :func:`items`.

    Every table must have one row per id: a repeated or null key raises (a join
    would silently repeat rows), naming the table, the key and example rows. Keys
    are compared as strings, so ``1`` and ``"1"`` match. The result then goes
    through :func:`items` with the remaining arguments.

    Args:
        *tables: the first table decides the rows (``how="left"``) and the key name.
        item: key column, the same name in every table; ``None`` recognises the
            item id column of each table by name (``movieId``, ``item_id`` ...).
        how: ``"left"`` (all items of the first table), ``"inner"`` (items in every
            table) or ``"outer"`` (items in any table).
        multi_value: as in :func:`items`.
        creation_timestamp: as in :func:`items`.
        textual: as in :func:`items`.
        booleans: as in :func:`items`.
        drop: as in :func:`items`.
        domain: as in :func:`items`.

    Returns:
        A new Items DataFrame (see :func:`items`).

    Raises:
        ValidationError: a table lacks the key, a key is null or repeated, two
            tables have the same column, or anything :func:`items` rejects.

    Examples:
        >>> import pandas as pd
        >>> from personakit import prep
        >>> movies = pd.DataFrame({"movieId": [1, 2], "genres": ["Comedy", "Drama|Crime"]})
        >>> tags = pd.DataFrame({"movieId": [1, 1, 2], "tag": ["pixar", "fun", "noir"]})
        >>> prep.items_from(movies, prep.aggregate_multi_value(tags, "movieId", "tag"),
        ...                 item="movieId", multi_value=["genres"])
          ITEM_ID       GENRES        TAG
        0       1       Comedy  pixar|fun
        1       2  Drama|Crime       noir
    """
    merged, key = _join(tables, item, DatasetType.ITEMS, "ITEM_ID", how)
    return items(
        merged,
        item=key,
        multi_value=multi_value,
        creation_timestamp=creation_timestamp,
        textual=textual,
        booleans=booleans,
        drop=drop,
        domain=domain,
    )


def users_from(
    *tables: FrameLike,
    user: str | None = None,
    how: Literal["left", "inner", "outer"] = "left",
    multi_value: MultiValue = None,
    booleans: BooleanMode = "string",
    drop: Sequence[str] = (),
    domain: str | Domain | None = None,
) -> pd.DataFrame:
    """A Users frame from several per-user tables **joined** on the user id.

    The same rules as :func:`items_from` (one row per id in every table, keys
    compared as strings), then :func:`users`.

    Args:
        *tables: the first table decides the rows (``how="left"``) and the key name.
        user: key column, the same name in every table; ``None`` recognises it.
        how: ``"left"``, ``"inner"`` or ``"outer"``.
        multi_value: as in :func:`users`.
        booleans: as in :func:`users`.
        drop: as in :func:`users`.
        domain: as in :func:`users`.

    Returns:
        A new Users DataFrame (see :func:`users`).

    Raises:
        ValidationError: as for :func:`items_from`.

    Examples:
        >>> import pandas as pd
        >>> from personakit import prep
        >>> crm = pd.DataFrame({"customer_id": [1, 2], "plan": ["free", "pro"]})
        >>> web = pd.DataFrame({"customer_id": [2], "device": ["ios"]})
        >>> prep.users_from(crm, web)
          USER_ID  PLAN DEVICE
        0       1  free    NaN
        1       2   pro    ios
    """
    merged, key = _join(tables, user, DatasetType.USERS, "USER_ID", how)
    return users(
        merged, user=key, multi_value=multi_value, booleans=booleans, drop=drop, domain=domain
    )
