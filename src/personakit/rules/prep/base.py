"""What every ``pk.prep`` function shares: reading input, reporting problems, ids as text.

Part of :mod:`personakit.rules` (pure, no I/O; see :mod:`personakit.rules.prep`).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from personakit.rules import arguments
from personakit.rules.arrow import FrameLike
from personakit.rules.report import DataReport, Problem
from personakit.rules.values import (
    CONVERSION_ERRORS,
    decodes,
    explain,
    invalid_text,
    label_problems,
    label_text,
    normalise_array,
    normalise_table,
    not_text,
    object_problems,
    text_labels,
    text_values,
)

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "INT_NULLABLE",
    "SEP",
    "AnyArrow",
    "BooleanMode",
    "EventType",
    "MultiValue",
    "OnInvalid",
    "OnMissing",
    "OnTooLong",
    "Unit",
    "Values",
    "arrow_of",
    "as_frame",
    "as_series",
    "as_string",
    "examples_of",
    "from_arrow",
    "is_arrow",
    "is_bool",
    "is_datetime",
    "is_listlike",
    "label_of",
    "make_problem",
    "null_mask",
    "raise_all",
    "require_columns",
    "warn",
]

#: The package whose frames :func:`warn` skips to point at the caller's line.
_PACKAGE = __name__.rpartition(".")[0]

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

#: Arrow arrays inside :mod:`personakit.rules.prep`. pyarrow-stubs types compute
#: functions per concrete array class (StringArray, ListArray ...), which the code picks
#: at run time.
AnyArrow: TypeAlias = Any

#: The pandas nullable dtype of each Arrow integer type.
INT_NULLABLE: dict[pa.DataType, Any] = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
}
_LIST_TYPES = (list, tuple, set, frozenset, np.ndarray)


def as_frame(data: FrameLike, subject: str = "frame") -> pd.DataFrame:
    """The input as a pandas DataFrame with text column labels, to read from (callers
    never write into it).

    Labels are read as text (:func:`~personakit.rules.values.text_labels`) and object
    columns checked for what pandas cannot handle
    (:func:`~personakit.rules.values.object_problems`): both give one ValidationError.
    Anything but a DataFrame, Table or RecordBatch is a TypeError.
    """
    arguments.frame(subject, data)
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if isinstance(data, pa.Table):
        raise_all(label_problems(data.column_names), subject)
        data = normalise_table(data)
        frame = data.to_pandas()
        # Integers with nulls would become float64 (and lose digits past 2**53).
        for i, name in enumerate(data.column_names):
            col = data.column(i)
            if pa.types.is_integer(col.type) and col.null_count:
                nullable = col.to_pandas(types_mapper=INT_NULLABLE.get).array
                frame = frame.assign(**{name: nullable})
    else:
        frame = text_labels(data, subject)
    problems = [
        p
        for label, dtype in frame.dtypes.items()
        if pd.api.types.is_object_dtype(dtype)
        for p in object_problems(frame[label], str(label))
    ]
    raise_all(problems, subject)
    return frame


def as_series(values: Values) -> pd.Series[Any]:
    """A pandas Series of a column given as Series, Index, ndarray, Arrow array or list.

    Object values are checked as :func:`as_frame` checks them (one ValidationError);
    anything that is not a column of values is a TypeError.
    """
    if isinstance(values, pd.Series):
        s = values
    elif isinstance(values, pd.Index):
        s = pd.Series(values.array, name=values.name)
    elif isinstance(values, (pa.Array, pa.ChunkedArray)):
        s = pd.Series(normalise_array(values).to_pandas(types_mapper=pd.ArrowDtype).array)
    elif isinstance(values, (pd.DataFrame, pa.Table, pa.RecordBatch)):
        raise TypeError("expected one column (a Series, array or list), got a table")
    elif isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise TypeError(
            f"expected a column of values (a Series, array or list), got {type(values).__name__}"
        )
    else:
        raw = values if isinstance(values, np.ndarray) else list(values)
        try:
            s = pd.Series(raw)
        except CONVERSION_ERRORS as exc:  # e.g. pandas 3's str cannot hold lone surrogates
            s = pd.Series(raw, dtype=object)
            found = object_problems(s, "values") or [explain(s, "values", exc)]
            raise_all(found, "column 'values'")
    raise_all(object_problems(s, label_of(s)), f"column {label_of(s)!r}")
    return s


def label_of(s: pd.Series[Any], default: str = "values") -> str:
    """The Series' name as text (:func:`~personakit.rules.values.label_text`: lone
    surrogates escaped, so messages can be printed), or ``default`` when it has none."""
    return default if s.name is None else label_text(s.name)


def arrow_of(s: pd.Series[Any]) -> AnyArrow | None:
    """The column as one Arrow array (``float16`` read as ``float32``, an empty categorical
    as nulls), or None if Arrow cannot hold its values as one column."""
    try:
        arr: Any = pa.array(s, from_pandas=True)
    except CONVERSION_ERRORS:
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return normalise_array(arr)


def from_arrow(arr: AnyArrow, like: pd.Series[Any]) -> pd.Series[Any]:
    """A Series of an Arrow array with the index and name of ``like``.

    Strings become pandas' default string dtype (``str`` in pandas 3, ``object`` in 2.x).
    """
    out: pd.Series[Any] = arr.to_pandas()
    out.index = like.index
    out.name = like.name
    return out


def null_mask(s: pd.Series[Any]) -> npt.NDArray[np.bool_]:
    """Where the values are missing (None, NaN, NaT, NA), as numpy."""
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iub":
        return np.zeros(len(s), dtype=bool)  # numpy integers and booleans cannot be missing
    return np.asarray(s.isna().to_numpy(dtype=bool))


def examples_of(
    s: pd.Series[Any], mask: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.intp], list[Any]]:
    """The first five flagged rows and their values."""
    rows = np.flatnonzero(mask)[:5]
    return rows, list(s.iloc[rows])


def make_problem(
    rule: str,
    message: str,
    *,
    column: str | None,
    mask: npt.NDArray[np.bool_] | None = None,
    values: pd.Series[Any] | None = None,
    fix: str | None = None,
    severity: Literal["error", "warning"] = "error",
) -> Problem:
    """One problem; with ``mask``, counting the flagged rows and showing the first."""
    rows: Iterable[int] = ()
    shown: list[Any] = []
    count = 1
    if mask is not None:
        count = int(mask.sum())
        if values is not None:
            rows, shown = examples_of(values, mask)
        else:
            rows = np.flatnonzero(mask)[:5].tolist()
    return Problem.with_examples(
        severity, rule, message, column=column, count=count, rows=rows, values=shown, fix=fix
    )


def raise_all(problems: Sequence[Problem], subject: str) -> None:
    """Raise one ValidationError listing ``problems``, if there are any."""
    if problems:
        DataReport(problems, subject=subject).raise_for_problems()


def warn(message: str) -> None:
    """A UserWarning pointing at the caller's line, outside :mod:`personakit.rules.prep`."""
    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None and _in_prep(frame.f_globals.get("__name__")):
        frame = frame.f_back
        level += 1
    warnings.warn(message, UserWarning, stacklevel=level)


def _in_prep(module: object) -> bool:
    return isinstance(module, str) and (module == _PACKAGE or module.startswith(_PACKAGE + "."))


def require_columns(
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


def is_arrow(s: pd.Series[Any], test: Callable[[pa.DataType], bool]) -> bool:
    """An Arrow-backed column whose Arrow type passes ``test``."""
    return isinstance(s.dtype, pd.ArrowDtype) and bool(test(s.dtype.pyarrow_dtype))


def is_bool(s: pd.Series[Any]) -> bool:
    """A column of booleans (numpy, pandas, Arrow, or objects that are all bool)."""
    if is_arrow(s, pa.types.is_boolean):
        return True
    if isinstance(s.dtype, pd.ArrowDtype):
        return False
    if pd.api.types.is_bool_dtype(s.dtype):
        return True
    return bool(
        pd.api.types.is_object_dtype(s.dtype)
        and pd.api.types.infer_dtype(s, skipna=True) == "boolean"
    )


def is_datetime(s: pd.Series[Any]) -> bool:
    """A column of datetimes or dates (numpy, Arrow, or Python objects)."""
    if isinstance(s.dtype, pd.ArrowDtype):
        t = s.dtype.pyarrow_dtype
        return bool(pa.types.is_timestamp(t) or pa.types.is_date(t))
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return True
    return bool(
        pd.api.types.is_object_dtype(s.dtype)
        and pd.api.types.infer_dtype(s, skipna=True) in ("datetime", "datetime64", "date")
    )


def is_listlike(s: pd.Series[Any]) -> bool:
    """A column of lists (Arrow lists, or objects that are lists, tuples, sets, arrays)."""
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


def as_string(s: pd.Series[Any], column: str | None = None) -> pd.Series[Any]:
    """The column as strings, nulls kept.

    ``1`` -> ``"1"``, ``1.0`` -> ``"1"`` (integral floats, e.g. ids read with nulls),
    ``True`` -> ``"True"``, UTF-8 bytes decoded. Strings already in pandas' string dtype
    are returned as they are. Values that have no text (lists, dicts, durations,
    bytes that are not UTF-8, lone surrogates) are one ValidationError naming
    ``column`` (the Series' name by default).
    """
    label = column or label_of(s)
    arr = arrow_of(s)
    if arr is None:  # an object column mixing types, e.g. 1 and "a": the text of each
        return from_arrow(text_values(s, label), s)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or t == pa.string_view():
        if isinstance(s.dtype, pd.StringDtype):
            return s  # already pandas' string dtype
        out: AnyArrow = arr.cast(pa.string()) if t == pa.string_view() else arr
    elif pa.types.is_integer(t) or pa.types.is_decimal(t):
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
    elif pa.types.is_timestamp(t) or pa.types.is_date(t):
        out = pc.cast(arr, pa.string())
    elif pa.types.is_binary(t) or pa.types.is_large_binary(t):
        out = _decoded(arr, label)
    else:
        kept = np.flatnonzero(~null_mask(s))
        rows, shown = kept[:5], list(s.iloc[kept[:5]])
        raise_all([not_text(label, str(t), len(kept), rows.tolist(), shown)], f"column {label!r}")
    return from_arrow(out, s)


def _decoded(arr: AnyArrow, column: str) -> AnyArrow:
    """Bytes as UTF-8 text; bytes that are not UTF-8 are one ValidationError."""
    try:
        return arr.cast(pa.string())
    except CONVERSION_ERRORS:
        values = arr.to_pylist()
        rows = np.flatnonzero([v is not None and not decodes(v) for v in values])
        raise_all([invalid_text(values, rows, column)], f"column {column!r}")
        raise  # pragma: no cover - the problem above is always raised
