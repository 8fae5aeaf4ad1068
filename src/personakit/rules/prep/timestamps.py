"""Timestamps as Unix epoch seconds, what Personalize reads (:func:`epoch_seconds`).

Part of :mod:`personakit.rules` (pure, no I/O; see :mod:`personakit.rules.prep`).
Personalize reads ``TIMESTAMP`` and ``CREATION_TIMESTAMP`` as epoch seconds
(https://docs.aws.amazon.com/personalize/latest/dg/interactions-datasets.html).
"""

from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from personakit.rules import arguments
from personakit.rules.arrow import UNITS_PER_SECOND
from personakit.rules.facts import EPOCH_UNITS, SECONDS_MAX
from personakit.rules.prep.base import (
    AnyArrow,
    OnInvalid,
    OnMissing,
    Unit,
    Values,
    arrow_of,
    as_series,
    label_of,
    make_problem,
    null_mask,
    raise_all,
    warn,
)
from personakit.rules.report import Problem
from personakit.rules.values import invalid_text, is_utf8

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["epoch_problems", "epoch_seconds", "timestamp_column", "to_epoch"]

_NUMERIC_TEXT = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


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
        if not len(safe) or (safe.min() >= -SECONDS_MAX and safe.max() <= SECONDS_MAX):
            factor = 1  # all seconds: the common case, no per-value work
        else:
            size = np.abs(safe)
            magnitude = np.zeros(len(size), dtype=np.int8)
            for _, _, low, _ in EPOCH_UNITS:
                magnitude += size > low
            factor = np.array([1, 10**3, 10**6, 10**9], dtype=np.int64)[magnitude]
            counts = np.bincount(magnitude[~(nulls | invalid)], minlength=4)
            if (counts > 0).sum() > 1:
                names = ("s", "ms", "us", "ns")
                found = ", ".join(f"{c:,} in {u}" for c, u in zip(counts, names, strict=True) if c)
                warn(
                    f"{column}: unit='auto' found numbers of several magnitudes ({found}); "
                    "each was converted by its own magnitude. Pass unit= if the column has "
                    "one unit."
                )
    else:
        factor = UNITS_PER_SECOND[unit]
    if safe.dtype.kind == "f":
        seconds_f = np.floor(safe / factor)
        out_of_range = ~(np.abs(seconds_f) < 2.0**62)
        invalid |= out_of_range & ~nulls
        seconds = np.where(out_of_range, 0.0, seconds_f).astype(np.int64)
    elif isinstance(factor, int) and factor == 1:
        seconds = safe
    else:
        seconds = np.floor_divide(safe, factor)
    if nulls.any() or invalid.any():
        seconds = np.where(nulls | invalid, 0, seconds)
    return seconds.astype(np.int64, copy=False), invalid


def _datetime_seconds(
    values: npt.NDArray[np.datetime64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Seconds (floored) and NaT mask of a naive-UTC datetime64 array of any resolution."""
    nat = np.isnat(values)
    unit = np.datetime_data(values.dtype)[0]
    ticks = values.view(np.int64)
    factor = UNITS_PER_SECOND.get(unit)
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


def to_epoch(
    s: pd.Series[Any],
    *,
    unit: Unit = "auto",
    fmt: str | None = None,
    column: str | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.bool_], list[Problem]]:
    """Epoch seconds of a column: (seconds, null mask, invalid mask, type problems)."""
    label = column or label_of(s)
    arguments.choice("unit", unit, ("auto", *UNITS_PER_SECOND))
    arguments.text("format", fmt, optional=True)
    n = len(s)
    nulls = null_mask(s)
    no = np.zeros(n, dtype=bool)
    dtype = s.dtype
    if isinstance(dtype, pd.ArrowDtype):
        t = dtype.pyarrow_dtype
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            arr: AnyArrow = arrow_of(s)
            if pa.types.is_date(t):
                arr = pc.cast(arr, pa.timestamp("s"))
                factor = 1
            else:
                factor = UNITS_PER_SECOND[str(getattr(t, "unit"))]  # noqa: B009 - untyped in stubs
            ints: AnyArrow = pc.cast(arr, pa.int64())
            ticks = ints.fill_null(0).to_numpy(zero_copy_only=False)
            return np.floor_divide(ticks, factor).astype(np.int64), nulls, no, []
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            kind = "float64" if not pa.types.is_integer(t) else "int64"
            raw = s.to_numpy(dtype=kind, na_value=0)
            secs, invalid = _numeric_seconds(raw, nulls, unit, label)
            return secs, nulls, invalid, []
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return to_epoch(s.astype(object), unit=unit, fmt=fmt, column=label)
    elif isinstance(dtype, pd.CategoricalDtype):
        return to_epoch(pd.Series(np.asarray(s), index=s.index), unit=unit, fmt=fmt, column=label)
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
        try:
            found = _object_epoch(s, inferred, nulls, unit, fmt, label)
        except UnicodeError:  # pandas 3 reads text as str, which lone surrogates break
            values = s.to_numpy(dtype=object)
            rows = np.flatnonzero([isinstance(v, str) and not is_utf8(v) for v in values])
            return np.zeros(n, dtype=np.int64), nulls, no, [invalid_text(values, rows, label)]
        if found is not None:
            return found
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


def _object_epoch(
    s: pd.Series[Any],
    inferred: str,
    nulls: npt.NDArray[np.bool_],
    unit: Unit,
    fmt: str | None,
    label: str,
) -> (
    tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.bool_], list[Problem]] | None
):
    """Epoch seconds of an object or string column of numbers, text or datetimes (None
    when it holds none of those)."""
    text = inferred == "string"
    if text:
        sample = s[~nulls].iloc[:1000].astype(str)
        text = not all(_NUMERIC_TEXT.match(v) for v in sample)
    if not text and inferred in ("string", "integer", "floating", "mixed-integer-float"):
        numbers = pd.to_numeric(s, errors="coerce")
        bad = ~nulls & null_mask(numbers)
        kind = "int64" if pd.api.types.is_integer_dtype(numbers.dtype) else "float64"
        raw = numbers.to_numpy(dtype=kind, na_value=0)
        secs, invalid = _numeric_seconds(raw, nulls | bad, unit, label)
        return secs, nulls, invalid | bad, []
    if inferred in ("string", "datetime", "datetime64", "date", "mixed"):
        parsed = _parse_datetime_text(s, fmt)
        nat = null_mask(parsed)
        secs, _ = _datetime_seconds(parsed.dt.tz_convert(None).to_numpy())
        return secs, nulls, nat & ~nulls, []
    return None


def epoch_problems(
    s: pd.Series[Any],
    nulls: npt.NDArray[np.bool_],
    invalid: npt.NDArray[np.bool_],
    *,
    column: str,
    on_missing: OnMissing,
    on_invalid: OnInvalid,
) -> list[Problem]:
    """The problems of missing and unreadable timestamps, unless ``on_*`` keeps them."""
    problems = []
    if on_missing == "raise" and nulls.any():
        problems.append(
            make_problem(
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
            make_problem(
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
    arguments.choice("unit", unit, ("auto", *UNITS_PER_SECOND))
    arguments.text("format", format, optional=True)
    arguments.choice("on_missing", on_missing, ("raise", "keep"))
    arguments.choice("on_invalid", on_invalid, ("raise", "null"))
    s = as_series(values)
    label = label_of(s)
    secs, nulls, invalid, problems = to_epoch(s, unit=unit, fmt=format, column=label)
    problems += epoch_problems(
        s, nulls, invalid, column=label, on_missing=on_missing, on_invalid=on_invalid
    )
    raise_all(problems, f"timestamps {label!r}")
    return _seconds_series(secs, nulls | invalid, s.index, s.name)


def timestamp_column(
    s: pd.Series[Any],
    *,
    column: str,
    unit: Unit = "auto",
    on_missing: OnMissing,
    problems: list[Problem],
) -> pd.Series[Any]:
    """Epoch seconds of a frame column, problems appended instead of raised."""
    secs, nulls, invalid, found = to_epoch(s, unit=unit, column=column)
    problems += found
    problems += epoch_problems(
        s, nulls, invalid, column=column, on_missing=on_missing, on_invalid="raise"
    )
    return _seconds_series(secs, nulls | invalid, s.index, s.name)
