"""Multi-value categorical values, ``|``-joined as Personalize reads them.

Part of :mod:`personakit.rules` (pure, no I/O; see :mod:`personakit.rules.prep`):
:func:`join_multi_value` and :func:`aggregate_multi_value`. A categorical value, bars
included, is at most 1000 characters
(https://docs.aws.amazon.com/personalize/latest/dg/limits.html).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from personakit.errors import ValidationError
from personakit.rules import arguments
from personakit.rules.arrow import FrameLike
from personakit.rules.facts import MAX_CATEGORICAL_CHARS
from personakit.rules.prep.base import (
    SEP,
    AnyArrow,
    OnTooLong,
    Values,
    arrow_of,
    as_frame,
    as_series,
    as_string,
    from_arrow,
    label_of,
    make_problem,
    null_mask,
    raise_all,
    require_columns,
)
from personakit.rules.report import Problem
from personakit.rules.values import (
    CONVERSION_ERRORS,
    invalid_text,
    is_text_like,
    is_utf8,
    not_text,
)

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["aggregate_multi_value", "join_column", "join_multi_value", "text_lengths"]


def _to_lists(
    s: pd.Series[Any], sep: str | None, column: str
) -> tuple[npt.NDArray[np.int64], AnyArrow]:
    """(row of each part, parts as strings) of a column of lists, sets or joined strings."""
    arr = arrow_of(s)
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
        arr = _lists_slow(s, sep, column)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    t = arr.type
    if pa.types.is_null(t):
        return np.zeros(0, dtype=np.int64), pa.array([], pa.string())
    lists: AnyArrow
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        lists = arr
    else:
        text = arr if pa.types.is_string(t) or pa.types.is_large_string(t) else None
        if text is None:
            text = _as_string_arrow(arr, column)
        lists = pc.split_pattern(text, sep) if sep else _wrap(text)
    parent_index: AnyArrow = pc.list_parent_indices(lists)
    parents = parent_index.to_numpy(zero_copy_only=False).astype(np.int64)
    parts: AnyArrow = pc.list_flatten(lists)
    value_type = parts.type
    if pa.types.is_dictionary(value_type):
        parts = parts.dictionary_decode()
        value_type = parts.type
    if not (pa.types.is_string(value_type) or pa.types.is_large_string(value_type)):
        parts = _as_string_arrow(parts, column)
    return parents, parts


def _as_string_arrow(arr: AnyArrow, column: str) -> AnyArrow:
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.string())
    series = as_string(pd.Series(arr.to_pandas(types_mapper=pd.ArrowDtype).array), column)
    out = arrow_of(series)
    assert out is not None
    return out


def _wrap(text: AnyArrow) -> AnyArrow:
    """Each string as a one-element list (a null string is a null part, dropped later)."""
    offsets: AnyArrow = pa.array(np.arange(len(text) + 1, dtype=np.int64))
    return pa.LargeListArray.from_arrays(offsets, text)


def _lists_slow(s: pd.Series[Any], sep: str | None, column: str) -> AnyArrow:
    """Object columns mixing strings, lists, sets and scalars: one Python step per row.

    Values (and the values of lists) must have a text: bytes, dicts and nested lists are
    a ``not-text`` problem, lone surrogates a ``text-invalid`` one (one ValidationError).
    """
    wrong: list[int] = []

    def text(x: Any, row: int) -> str:
        if not is_text_like(x):
            wrong.append(row)
        return str(x)

    def parts(v: Any, row: int) -> list[str] | None:
        if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
            return None
        if isinstance(v, str):
            return v.split(sep) if sep else [v]
        if isinstance(v, (set, frozenset)):
            return sorted(text(x, row) for x in v if not _is_na(x))
        if isinstance(v, (list, tuple, np.ndarray)):
            return [text(x, row) for x in v if not _is_na(x)]
        return [text(v, row)]

    values = s.to_numpy(dtype=object)
    rows = [parts(v, i) for i, v in enumerate(values)]
    if wrong:
        bad = sorted(set(wrong))
        kinds = ", ".join(sorted({type(values[i]).__name__ for i in bad}))
        raise_all(
            [
                not_text(
                    column, f"{kinds} (or values in them)", len(bad), bad[:5], list(values[bad[:5]])
                )
            ],
            f"multi-value column {column!r}",
        )
    try:
        return pa.array(rows, type=pa.large_list(pa.string()))
    except CONVERSION_ERRORS:  # lone surrogates: find the rows
        invalid = np.flatnonzero([r is not None and not all(map(is_utf8, r)) for r in rows])
        raise_all([invalid_text(values, invalid, column)], f"multi-value column {column!r}")
        raise  # pragma: no cover - the problem above is always raised


def _is_na(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def text_lengths(arr: Any) -> npt.NDArray[np.int64]:
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
    parts: AnyArrow,
    n: int,
    *,
    max_chars: int | None,
    on_too_long: OnTooLong,
) -> tuple[AnyArrow, npt.NDArray[np.bool_]]:
    """Join the parts of each of ``n`` rows with ``|``.

    Parts are trimmed, bars inside them become spaces, empty parts are dropped and
    repeated parts of a row are kept once (first occurrence). ``parents`` must be
    non-decreasing. Returns the joined strings (null where a row has no parts) and
    the rows longer than ``max_chars`` (after truncation if asked).
    """
    if pa.types.is_large_string(parts.type):
        parts = pc.cast(parts, pa.string())
    parts = pc.utf8_trim_whitespace(pc.replace_substring(parts, SEP, " "))
    keep = text_lengths(parts) > 0
    parents = parents[keep]
    parts = parts.filter(pa.array(keep))
    first = ~_repeated_in_row(parents, _codes(parts))
    if not first.all():
        parents = parents[first]
        parts = parts.filter(pa.array(first))
    if max_chars is not None and on_too_long == "truncate" and len(parts):
        # keep each row's first values while the joined text fits (whole values only)
        width = text_lengths(parts) + 1
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
    too_long = np.zeros(n, dtype=bool) if max_chars is None else text_lengths(joined) > max_chars
    return joined, too_long


def _too_long_problem(
    column: str, mask: npt.NDArray[np.bool_], shown: pd.Series[Any], max_chars: int
) -> Problem:
    return make_problem(
        "multi-value-too-long",
        f"joined values longer than {max_chars:,} characters (bars included); "
        "Personalize fails the whole import job on them",
        column=column,
        mask=mask,
        values=shown,
        fix="keep fewer values (aggregate_multi_value(..., top=N)) or pass "
        "on_too_long='truncate' to keep each row's first values that fit",
    )


def join_column(
    s: pd.Series[Any],
    *,
    sep: str | None,
    max_chars: int | None,
    on_too_long: OnTooLong,
    column: str,
    problems: list[Problem],
) -> pd.Series[Any]:
    """One column ``|``-joined (:func:`join_multi_value`), too-long rows added to ``problems``."""
    parents, parts = _to_lists(s, sep, column)
    joined, too_long = _join_parts(
        parents, parts, len(s), max_chars=max_chars, on_too_long=on_too_long
    )
    out = from_arrow(joined, s)
    if too_long.any() and max_chars is not None:
        problems.append(_too_long_problem(column, too_long, out, max_chars))
    return out


def _options(sep: object, max_chars: object, on_too_long: object) -> None:
    """TypeErrors for options of the wrong type (a ValidationError for an unknown mode)."""
    arguments.text("sep", sep, optional=True)
    arguments.integer("max_chars", max_chars, optional=True)
    arguments.choice("on_too_long", on_too_long, ("raise", "truncate"))


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
    is longer than 1,000 characters
    (https://docs.aws.amazon.com/personalize/latest/dg/limits.html), so by default such rows raise;
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
    _options(sep, max_chars, on_too_long)
    s = as_series(values)
    label = label_of(s)
    problems: list[Problem] = []
    out = join_column(
        s, sep=sep, max_chars=max_chars, on_too_long=on_too_long, column=label, problems=problems
    )
    raise_all(problems, f"multi-value column {label!r}")
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
    arguments.column("key", key)
    arguments.column("column", column)
    _options(sep, max_chars, on_too_long)
    top = arguments.integer("top", top, optional=True)
    if top is not None and top < 1:
        raise ValidationError(f"top={top!r}: expected a positive number of values per key")
    data = as_frame(frame, "frame")
    problems = require_columns(data, {"key": key, "column": column}, "frame")
    raise_all(problems, "aggregate_multi_value input")
    keys = data[key]
    null_keys = null_mask(keys)
    if null_keys.any():
        problems.append(
            make_problem(
                "key-missing",
                f"rows without a {key} cannot be aggregated",
                column=key,
                mask=null_keys,
                values=data[column],
                fix="drop them first: frame.dropna(subset=[key])",
            )
        )
    raise_all(problems, f"{column!r} by {key!r}")
    try:
        codes, uniques = pd.factorize(keys, sort=False)
    except CONVERSION_ERRORS:  # keys pandas cannot hash: lists, dicts, structs
        kept = np.flatnonzero(~null_keys)[:5]
        kinds = str(keys.dtype) if keys.dtype != object else "object (lists, dicts ...)"
        problem = not_text(
            key, kinds, int((~null_keys).sum()), kept.tolist(), list(keys.iloc[kept])
        )
        raise_all([problem], f"{column!r} by {key!r}")
        raise  # pragma: no cover - the problem above is always raised
    row_of_part, parts = _to_lists(data[column], sep, column)
    parents = codes[row_of_part].astype(np.int64)
    if top is not None and len(parts):
        # rank values per key by count (desc), then first appearance
        trimmed = pc.utf8_trim_whitespace(pc.replace_substring(parts, SEP, " "))
        valid = text_lengths(trimmed) > 0
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
    values = from_arrow(joined, pd.Series(index=key_col.index, name=column, dtype=object))
    if too_long.any() and max_chars is not None:
        problems.append(_too_long_problem(column, too_long, key_col, max_chars))
        raise_all(problems, f"{column!r} by {key!r}")
    return pd.DataFrame({key: key_col, column: values})
