"""Frames as Arrow tables, and the Arrow type tests schema inference reads them with.

Part of :mod:`personakit.rules` (pure, no I/O): :func:`to_arrow` is the one place a
pandas DataFrame becomes a pyarrow Table; :func:`string_sample` and
:func:`looks_textual` are personakit's free-text heuristic for ``textual`` Items fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Union

from personakit.rules.arguments import frame as frame_argument
from personakit.rules.facts import EPOCH_UNITS
from personakit.rules.values import (
    CONVERSION_ERRORS,
    explain,
    label_problems,
    normalise_table,
    object_problems,
    raise_problems,
    text_labels,
)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "TEXTUAL_MIN_MEDIAN_CHARS",
    "TEXTUAL_MIN_MEDIAN_WORDS",
    "UNITS_PER_SECOND",
    "FrameLike",
    "arrow_table",
    "is_list",
    "is_string",
    "looks_textual",
    "string_sample",
    "to_arrow",
    "value_type",
]

#: What personakit reads data from: a pandas DataFrame, a pyarrow Table or RecordBatch.
FrameLike = Union["pd.DataFrame", "pa.Table", "pa.RecordBatch"]

#: Ticks per second of each Arrow timestamp unit (``s``, ``ms``, ``us``, ``ns``): seconds,
#: then the finer units of :data:`~personakit.rules.facts.EPOCH_UNITS` from the coarsest.
UNITS_PER_SECOND: Mapping[str, int] = {
    "s": 1,
    **{code: per for _, code, _, per in reversed(EPOCH_UNITS)},
}

#: Free-text heuristics for ``textual`` (Items only): median characters and words.
TEXTUAL_MIN_MEDIAN_CHARS = 40
TEXTUAL_MIN_MEDIAN_WORDS = 5
_SAMPLE = 10_000


def to_arrow(frame: FrameLike) -> pa.Table:
    """A pyarrow Table from a DataFrame, Table or RecordBatch (the index is dropped).

    Columns are named by the text of their labels and read through
    :mod:`personakit.rules.values`: ``float16`` becomes ``float32``, an empty categorical
    a column of nulls. Raises ValidationError naming the column, the rule and example
    rows when labels collide or are not text, or a column holds values Arrow cannot
    hold as one column (mixed types, lone surrogates, integers beyond 64 bits, decimal
    infinities); TypeError when ``frame`` is not a frame.
    """
    import pyarrow as pa

    frame_argument("frame", frame)
    if isinstance(frame, (pa.Table, pa.RecordBatch)):
        return arrow_table(frame)
    frame = text_labels(frame)
    columns = [(str(label), frame.iloc[:, i]) for i, label in enumerate(frame.columns)]
    problems = [p for name, col in columns for p in object_problems(col, name)]
    flagged = {p.column for p in problems}
    if flagged:  # the others are still converted, to report every problem at once
        frame = frame.iloc[:, [i for i, (name, _) in enumerate(columns) if name not in flagged]]
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except CONVERSION_ERRORS:  # convert column by column, to say which and why
        arrays, names = [], []
        for name, col in columns:
            if name in flagged:
                continue
            try:
                arrays.append(pa.array(col, from_pandas=True))
                names.append(name)
            except CONVERSION_ERRORS as exc:
                problems.append(explain(col, name, exc))
        raise_problems(problems, "frame")
        table = pa.Table.from_arrays(arrays, names=names)
    raise_problems(problems, "frame")
    return normalise_table(table)


def arrow_table(data: pa.Table | pa.RecordBatch) -> pa.Table:
    """An Arrow table (or batch) as personakit reads it: a name given to two columns is a
    ValidationError, ``float16`` is read as ``float32``, an empty dictionary as nulls.
    A table that needs none of that is returned as it is."""
    import pyarrow as pa

    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    raise_problems(label_problems(table.column_names), "frame")
    return normalise_table(table)


def value_type(t: pa.DataType) -> pa.DataType:
    """The value type of a dictionary or list type."""
    value: pa.DataType = getattr(t, "value_type")  # noqa: B009 - not in the stubs' DataType
    return value


def is_string(t: pa.DataType) -> bool:
    """Strings of any layout (``string``, ``large_string``, ``string_view``), also
    dictionary-encoded."""
    import pyarrow as pa
    import pyarrow.types as pat

    if pat.is_dictionary(t):
        return is_string(value_type(t))
    return bool(pat.is_string(t) or pat.is_large_string(t) or t == pa.string_view())


def is_list(t: pa.DataType) -> bool:
    """Lists of any layout (plain, large, fixed-size, views)."""
    import pyarrow.types as pat

    return bool(
        pat.is_list(t)
        or pat.is_large_list(t)
        or pat.is_fixed_size_list(t)
        or pat.is_list_view(t)
        or pat.is_large_list_view(t)
    )


def string_sample(col: pa.ChunkedArray[Any]) -> list[str]:
    """Up to about 10,000 non-null values of a string column, spread over its first rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    sample = col.slice(0, min(len(col), _SAMPLE * 4)).drop_null()
    if pa.types.is_dictionary(sample.type):
        sample = sample.cast(value_type(sample.type))
    if len(sample) > _SAMPLE:
        step = max(1, len(sample) // _SAMPLE)
        sample = pc.take(sample, pa.array(range(0, len(sample), step)))
    return [str(v) for v in sample.to_pylist()]


def looks_textual(values: list[str]) -> bool:
    """Whether sampled values read like free text: a long median, several words, no bars."""
    if not values:
        return False
    lengths = sorted(len(v) for v in values)
    words = sorted(len(v.split()) for v in values)
    mid = len(values) // 2
    piped = sum("|" in v for v in values) / len(values)
    return (
        lengths[mid] >= TEXTUAL_MIN_MEDIAN_CHARS
        and words[mid] >= TEXTUAL_MIN_MEDIAN_WORDS
        and piped < 0.5
    )
