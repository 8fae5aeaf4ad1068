"""Frames as Arrow tables, and the Arrow type tests schema inference reads them with.

Part of :mod:`personakit.rules` (pure, no I/O): :func:`to_arrow` is the one place a
pandas DataFrame becomes a pyarrow Table; :func:`string_sample` and
:func:`looks_textual` are personakit's free-text heuristic for ``textual`` Items fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Union

from personakit.errors import ValidationError
from personakit.rules.facts import EPOCH_UNITS
from personakit.rules.report import DataReport, Problem

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "TEXTUAL_MIN_MEDIAN_CHARS",
    "TEXTUAL_MIN_MEDIAN_WORDS",
    "UNITS_PER_SECOND",
    "FrameLike",
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

    Raises ValidationError naming the column when a pandas column mixes types
    Arrow cannot hold in one column.
    """
    import pyarrow as pa

    _ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError)
    if isinstance(frame, pa.Table):
        return frame
    if isinstance(frame, pa.RecordBatch):
        return pa.Table.from_batches([frame])
    import numpy as np
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(
            f"expected a pandas DataFrame or a pyarrow Table, got {type(frame).__name__}"
        )
    if frame.columns.duplicated().any():
        dup = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise ValidationError(f"duplicate column names: {', '.join(dup)}")
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except _ARROW_ERRORS:
        pass
    problems = []
    for col in frame.columns:
        try:
            pa.array(frame[col], from_pandas=True)
        except OverflowError:
            raw = frame[col].to_numpy(dtype=object)
            big = np.flatnonzero([isinstance(v, int) and not -(2**63) <= v < 2**63 for v in raw])
            problems.append(
                Problem.with_examples(
                    "error",
                    "integer-overflow",
                    "integers outside the signed 64-bit range cannot be stored as numbers",
                    column=str(col),
                    count=len(big),
                    rows=big[:5].tolist(),
                    values=[raw[i] for i in big[:5]],
                    fix="store these values as strings (.astype(str)); ids are strings anyway",
                )
            )
        except _ARROW_ERRORS as exc:
            raw = frame[col].to_numpy(dtype=object)
            kinds = np.array([type(v).__name__ for v in raw], dtype=object)
            present = frame[col].notna().to_numpy()
            majority = pd.Series(kinds[present]).mode().iloc[0] if present.any() else ""
            odd = np.flatnonzero(present & (kinds != majority))
            problems.append(
                Problem.with_examples(
                    "error",
                    "mixed-types",
                    f"values of several types ({', '.join(sorted(set(kinds[present])))}) cannot "
                    f"form one Arrow column ({exc})",
                    column=str(col),
                    count=len(odd),
                    rows=odd[:5].tolist(),
                    values=[raw[i] for i in odd[:5]],
                    fix="cast the column to one type (e.g. .astype(str))",
                )
            )
    DataReport(problems, subject="frame").raise_for_problems()
    raise ValidationError("frame could not be converted to Arrow")  # pragma: no cover


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
