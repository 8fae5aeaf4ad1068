"""Columns encoded once for :func:`~personakit.rules.validate.validate`.

Part of :mod:`personakit.rules` (pure, no I/O): Arrow columns read as numpy (booleans,
float seconds, character lengths) and :class:`Codes`, a column dictionary-encoded so
every id rule works on the distinct values. Integer ids in a range no wider than the
column are encoded as ``value - min``, others with Arrow's dictionary encoding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import attrs

from personakit.rules.arrow import UNITS_PER_SECOND, is_string

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

    BoolArray = npt.NDArray[np.bool_]
    IntArray = npt.NDArray[np.int64]
    CodeArray = npt.NDArray[np.int32]
    FloatArray = npt.NDArray[np.float64]
    Column = pa.ChunkedArray[Any]

__all__ = [
    "Codes",
    "as_array",
    "bincount",
    "char_lengths",
    "first_rows",
    "greater_than",
    "is_integer",
    "is_joinable_list",
    "is_numeric",
    "is_string_list",
    "is_temporal",
    "largest",
    "one_array",
    "plain_strings",
    "seconds_range",
    "take_values",
    "to_bools",
    "to_floats",
    "utf8_length",
]

#: Seconds per tick of each Arrow timestamp unit.
_SECONDS_PER_TICK = {unit: 1 / per for unit, per in UNITS_PER_SECOND.items()}
#: Integer ids whose range (max - min + 1) is at most max(rows, this) are encoded as
#: ``value - min`` rather than through a hash table (:meth:`Codes.of`).
_DENSE_MIN_SPAN = 1 << 16


def is_joinable_list(t: pa.DataType) -> bool:
    """Lists ``pyarrow.compute.binary_join`` reads (plain, large, fixed-size; not views)."""
    import pyarrow.types as pat

    return bool(pat.is_list(t) or pat.is_large_list(t) or pat.is_fixed_size_list(t))


def is_string_list(t: pa.DataType) -> bool:
    """A joinable list of strings."""
    return is_joinable_list(t) and is_string(cast("pa.ListType[Any]", t).value_type)


def is_integer(t: pa.DataType) -> bool:
    """Signed and unsigned integers."""
    import pyarrow.types as pat

    return bool(pat.is_integer(t))


def is_numeric(t: pa.DataType) -> bool:
    """Integers, floats and decimals."""
    import pyarrow.types as pat

    return bool(pat.is_integer(t) or pat.is_floating(t) or pat.is_decimal(t))


def is_temporal(t: pa.DataType) -> bool:
    """Timestamps and dates."""
    import pyarrow.types as pat

    return bool(pat.is_timestamp(t) or pat.is_date(t))


def one_array(values: Any) -> pa.Array[Any]:
    """One contiguous Arrow array from an array or chunked array."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks == 0:
            return cast("pa.Array[Any]", pa.array([], type=values.type))
        one = values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()
        return cast("pa.Array[Any]", one)
    return cast("pa.Array[Any]", values)


def as_array(values: object) -> pa.Array[Any]:
    """The result of a ``pyarrow.compute`` call on an array (the stubs type it loosely)."""
    return cast("pa.Array[Any]", values)


def to_bools(mask: Any) -> BoolArray:
    """An Arrow boolean (chunked) array as numpy, nulls as False."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    filled = as_array(pc.fill_null(one_array(mask), pa.scalar(False)))
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)


def to_floats(col: Column, step: int = 1) -> FloatArray:
    """A numeric or temporal column as float64 numpy, nulls as NaN (temporal: seconds).

    With ``step``, only every ``step``-th row (from the first), the same values as
    ``to_floats(col)[::step]`` without converting the other rows.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    arr = one_array(col)
    t = arr.type
    scale = 1.0
    if pat.is_timestamp(t):
        unit = t.unit
        scale = _SECONDS_PER_TICK[unit]
        arr = arr.view(pa.int64())
    elif pat.is_date32(t):
        scale, arr = 86_400.0, arr.view(pa.int32())
    elif pat.is_date64(t):
        scale, arr = 1e-3, arr.view(pa.int64())
    if arr.null_count or not (pat.is_integer(arr.type) or pat.is_floating(arr.type)):
        values = as_array(pc.cast(arr, pa.float64(), safe=False))
        arr = as_array(pc.fill_null(values, pa.scalar(math.nan)))
    raw = np.asarray(arr.to_numpy(zero_copy_only=False))  # no copy for numbers without nulls
    if step > 1:
        raw = raw[::step]
    out: FloatArray = (
        np.multiply(raw, scale, dtype=np.float64)
        if scale != 1.0
        else np.asarray(raw, dtype=np.float64)
    )
    return out


def seconds_range(col: Column) -> tuple[float, float] | None:
    """(min, max) of an integer or temporal column as :func:`to_floats` gives them.

    One Arrow pass, no float copy of the column: scaling is monotonic, so the extremes
    of the scaled values are the scaled extremes. ``None`` for other types (floats
    may hold NaN) and for columns without a value.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    t = col.type
    if not (pat.is_integer(t) or is_temporal(t)) or col.null_count == len(col):
        return None
    scale = 1.0
    if pat.is_timestamp(t):
        scale = _SECONDS_PER_TICK[t.unit]
        col = col.cast(pa.int64())
    elif pat.is_date32(t):
        scale, col = 86_400.0, col.cast(pa.int32())
    elif pat.is_date64(t):
        scale, col = 1e-3, col.cast(pa.int64())
    lo_hi = pc.min_max(col)
    ends = np.array([lo_hi["min"].as_py(), lo_hi["max"].as_py()], dtype=col.type.to_pandas_dtype())
    scaled = np.multiply(ends, scale, dtype=np.float64) if scale != 1.0 else ends.astype(np.float64)
    return float(scaled[0]), float(scaled[1])


def plain_strings(arr: pa.Array[Any]) -> pa.Array[Any]:
    """Dictionary-decoded, list values ``|``-joined, as Arrow strings."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    if pat.is_dictionary(arr.type):
        arr = cast("pa.DictionaryArray[Any, Any]", arr).dictionary_decode()
    if is_joinable_list(arr.type):
        arr = cast("pa.Array[Any]", pc.binary_join(arr, pa.scalar("|")))
    return arr


def char_lengths(col: Column) -> pa.Array[Any]:
    """Characters per value (lists measured ``|``-joined) as int64, nulls kept."""
    import pyarrow.compute as pc
    import pyarrow.types as pat

    arr = one_array(col)
    if pat.is_dictionary(arr.type):  # measure the dictionary once, then look up
        dictionary = cast("pa.DictionaryArray[Any, Any]", arr)
        per_value = utf8_length(plain_strings(dictionary.dictionary))
        return as_array(pc.take(per_value, dictionary.indices))
    return utf8_length(plain_strings(arr))


def utf8_length(arr: pa.Array[Any]) -> pa.Array[Any]:
    """Characters per string, as int64."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lengths: Any = pc.utf8_length(cast(Any, arr))
    return as_array(pc.cast(lengths, pa.int64()))


def largest(values: pa.Array[Any]) -> float:
    """The largest value, ``-inf`` when there is none."""
    import pyarrow.compute as pc

    top = pc.max(values).as_py() if len(values) else None
    return -math.inf if top is None else float(top)


def greater_than(values: pa.Array[Any], limit: float) -> BoolArray:
    """``values > limit`` as numpy, nulls as False."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return to_bools(pc.greater(values, pa.scalar(limit)))


def bincount(codes: CodeArray, size: int) -> IntArray:
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


def first_rows(mask: BoolArray, k: int = 5) -> list[int]:
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


def take_values(col: Column | None, rows: Sequence[int]) -> list[object]:
    """The values of ``col`` at ``rows`` (example values of a problem)."""
    import pyarrow as pa

    if col is None or not rows:
        return []
    return list(col.take(pa.array(list(rows), type=pa.int64())).to_pylist())


@attrs.define
class Codes:
    """A column dictionary-encoded: ``codes[row]`` indexes ``uniques`` (-1 for null)."""

    codes: CodeArray
    uniques: pa.Array[Any]
    counts: IntArray
    nulls: int
    #: True for the dense integer encoding: ``uniques`` is a sorted range.
    ranged: bool = False

    @classmethod
    def of(cls, col: Column, *, dense: bool = False) -> Codes:
        """Encode ``col``; with ``dense``, integers in a narrow range skip the hash table."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.types as pat

        arr = one_array(col)
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
            enc = cast("pa.DictionaryArray[Any, Any]", pc.dictionary_encode(plain_strings(arr)))
            indices = enc.indices
        as_int32 = as_array(pc.cast(indices, pa.int32()))
        nulls = as_int32.null_count
        if nulls:
            as_int32 = as_array(pc.fill_null(as_int32, pa.scalar(-1, pa.int32())))
        codes = np.asarray(as_int32.to_numpy(zero_copy_only=False), dtype=np.int32)
        return cls(codes, enc.dictionary, bincount(codes, len(enc.dictionary)), nulls)

    @classmethod
    def _dense(cls, arr: pa.Array[Any]) -> Codes | None:
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
        filled = as_array(pc.fill_null(arr, lo_hi["min"])) if nulls else arr
        values = np.asarray(filled.to_numpy(zero_copy_only=False))
        codes = np.empty(n, dtype=np.int32)
        # computed in 64 bits (value - min is in 0..span-1 < 2**31), stored as int32
        wide = np.uint64 if values.dtype == np.uint64 else np.int64
        np.subtract(values, wide(lo), out=codes, dtype=wide, casting="unsafe")
        if nulls:
            codes[to_bools(pc.is_null(arr))] = -1
        uniques = pa.array(np.arange(lo, hi + 1, dtype=values.dtype), type=arr.type)
        if not nulls and values.dtype == np.intp and 0 <= lo <= span:
            counts = np.bincount(values, minlength=hi + 1)[lo:]  # no int64 copy of the codes
        else:
            counts = bincount(codes, span)
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
