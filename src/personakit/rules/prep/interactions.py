"""Interactions from ratings, clicks or purchases (:func:`ratings_to_interactions`).

Part of :mod:`personakit.rules` (pure, no I/O; see :mod:`personakit.rules.prep`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import pandas as pd
import pyarrow as pa

from personakit.errors import ValidationError
from personakit.rules import arguments
from personakit.rules.arrow import UNITS_PER_SECOND, FrameLike
from personakit.rules.prep.base import (
    EventType,
    Unit,
    as_frame,
    as_string,
    from_arrow,
    make_problem,
    null_mask,
    raise_all,
    require_columns,
)
from personakit.rules.prep.columns import keep_mapping, metadata_column
from personakit.rules.prep.timestamps import epoch_problems, to_epoch
from personakit.rules.report import Problem
from personakit.rules.schema import (
    squash_name,
)
from personakit.rules.values import CONVERSION_ERRORS, label_text

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["ratings_to_interactions"]


def _numeric_column(
    s: pd.Series[Any], column: str, problems: list[Problem]
) -> npt.NDArray[np.float64]:
    if pd.api.types.is_bool_dtype(s.dtype) or not (
        pd.api.types.is_numeric_dtype(s.dtype)
        or pd.api.types.infer_dtype(s, skipna=True)
        in ("integer", "floating", "mixed-integer-float", "decimal", "empty")
    ):
        numbers = pd.to_numeric(s, errors="coerce")
        bad = ~null_mask(s) & null_mask(numbers)
        if bad.any():
            problems.append(
                make_problem(
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


def _looked_up(rating: pd.Series[Any], spec: Mapping[Any, str]) -> pd.Series[Any]:
    """Each rating's event type in ``spec`` (null when it has none)."""
    try:
        return rating.map(dict(spec))
    except CONVERSION_ERRORS:  # ratings pandas cannot look up (lists ...): one at a time
        values = rating.to_numpy(dtype=object)
        found = [spec.get(v) if isinstance(v, Hashable) else None for v in values]
        return pd.Series(found, index=rating.index, dtype=object)


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
        return from_arrow(
            pa.repeat(pa.scalar(spec, pa.string()), n),
            pd.Series(index=index, name="EVENT_TYPE", dtype=object),
        )
    assert rating is not None
    if isinstance(spec, Mapping):
        raw: Any = _looked_up(rating, spec)
        unmapped = ~null_mask(rating) & null_mask(raw)
        if unmapped.any():
            try:
                missing = list(pd.unique(rating[unmapped]))[:10]
            except CONVERSION_ERRORS:  # ratings pandas cannot hash (lists ...)
                missing = list(rating[unmapped].iloc[:10])
            problems.append(
                make_problem(
                    "event-type-unmapped",
                    f"ratings {', '.join(map(label_text, missing))} have no event type in the "
                    "mapping",
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
    # objects: pandas would infer a string dtype, which lone surrogates break
    types = as_string(pd.Series(raw, index=index, name="EVENT_TYPE", dtype=object))
    nulls = null_mask(types) & ~null_mask(rating)
    if nulls.any() and not isinstance(spec, Mapping):
        problems.append(
            make_problem(
                "event-type-missing",
                "the event_type callable returned nulls",
                column="EVENT_TYPE",
                mask=nulls,
                values=rating,
                fix="return an event type for every rating",
            )
        )
    return types


def _rows(s: pd.Series[Any], rows: npt.NDArray[np.intp] | None) -> pd.Series[Any]:
    """``s`` at positions ``rows`` (all rows when None), with a fresh RangeIndex."""
    if rows is None:
        return s.reset_index(drop=True)
    if isinstance(s.dtype, np.dtype):  # numpy's take: no index to carry along
        return pd.Series(s.to_numpy()[rows], name=s.name, copy=False)
    return s.take(rows).reset_index(drop=True)


def _is_integer(s: pd.Series[Any]) -> bool:
    """Integer ids (numpy, pandas nullable or Arrow integers), kept as they are: the CSV
    holds their digits, the same text as strings would give."""
    if isinstance(s.dtype, pd.ArrowDtype):
        return bool(pa.types.is_integer(s.dtype.pyarrow_dtype))
    return bool(pd.api.types.is_integer_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype))


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
    sort: bool = False,
    string_ids: bool = False,
) -> pd.DataFrame:
    """An Interactions frame from explicit ratings (MovieLens ``ratings.csv`` and the like).

    Personalize learns from implicit events, so a common recipe keeps the ratings
    that signal interest (``min_rating=3.5``) and records them as one event type
    (``"Watch"``), or maps ratings to event types (``{5: "love", 4: "like"}``), or
    keeps the rating as ``EVENT_VALUE`` for ``eventValueThreshold`` at training.

    Output columns, in this order: ``USER_ID``, ``ITEM_ID``, ``TIMESTAMP``
    (``int64`` epoch seconds, see :func:`epoch_seconds`), ``EVENT_TYPE`` (if
    ``event_type``), ``EVENT_VALUE`` (``float32``, if ``event_value``), then the
    ``keep`` columns as metadata (UPPER_SNAKE names; lists joined with ``|``,
    booleans ``"True"``/``"False"``, datetimes in seconds).

    Integer ids stay integers (Personalize's ids are strings, but the CSV holds the
    same digits either way: :func:`~personakit.rules.validate.validate` checks them
    as string ids and :func:`~personakit.rules.writer.write_csv` writes their
    digits); other ids become strings (``1.0`` -> ``"1"``), as do integer ids with
    ``string_ids=True``. Rows keep their input order (Personalize does not need
    them sorted) unless ``sort=True``; either way they get a fresh RangeIndex.

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
        sort: sort the rows by ``TIMESTAMP`` (stable: ties keep their input order).
        string_ids: convert integer ids to strings too (``42`` -> ``"42"``), e.g. to
            merge with frames whose ids are text.

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
           USER_ID  ITEM_ID  TIMESTAMP EVENT_TYPE
        0        1       10  964982703      Watch
        1        2       10  964982224      Watch
        >>> prep.ratings_to_interactions(ratings, min_rating=3.5, sort=True, string_ids=True)
          USER_ID ITEM_ID  TIMESTAMP
        0       2      10  964982224
        1       1      10  964982703
    """
    for name, value in (
        ("user", user),
        ("item", item),
        ("timestamp", timestamp),
        ("rating", rating),
    ):
        arguments.column(name, value)
    arguments.number("min_rating", min_rating, optional=True)
    arguments.flag("event_value", event_value)
    arguments.flag("sort", sort)
    arguments.flag("string_ids", string_ids)
    arguments.check(
        "event_type",
        event_type,
        lambda v: v is None or isinstance(v, (str, Mapping)) or callable(v),
        "None, an event type (a string), a mapping from rating to event type or a callable",
    )
    keep_map = keep_mapping(keep)
    arguments.choice("timestamp_unit", timestamp_unit, ("auto", *UNITS_PER_SECOND))
    data = as_frame(ratings, "ratings")
    needs_number = min_rating is not None or event_value
    needs_rating = needs_number or (event_type is not None and not isinstance(event_type, str))
    wanted: dict[str, str | list[str]] = {"user": user, "item": item, "timestamp": timestamp}
    if needs_rating:
        wanted["rating"] = rating
    wanted["keep"] = list(keep_map)
    problems = require_columns(data, wanted, "ratings")
    raise_all(problems, "ratings")

    rating_values: npt.NDArray[np.float64] | None = None
    if needs_number:
        rating_values = _numeric_column(data[rating], rating, problems)
        raise_all(problems, "ratings")
    mask: npt.NDArray[np.bool_] | None = None
    kept: npt.NDArray[np.intp] | None = None
    if min_rating is not None:
        assert rating_values is not None
        with np.errstate(invalid="ignore"):
            mask = rating_values >= min_rating
        kept = np.flatnonzero(mask)

    def take(column: str) -> pd.Series[Any]:
        """The kept rows of ``column``, with a fresh RangeIndex."""
        return _rows(data[column], kept)

    ts = take(timestamp)
    secs, nulls, invalid, found = to_epoch(ts, unit=timestamp_unit, column=timestamp)
    # rows of the kept ratings (sorted by time from here on with sort=True): problems
    # found in them are reported with the row numbers of the input (see _to_input_rows)
    later: list[Problem] = found
    later += epoch_problems(
        ts, nulls, invalid, column=timestamp, on_missing="raise", on_invalid="raise"
    )
    problems += _to_input_rows(later, mask, None)
    del ts
    order: npt.NDArray[np.intp] | None = None
    if sort and len(secs) > 1 and not bool(np.all(secs[1:] >= secs[:-1])):
        order = np.argsort(secs, kind="stable")
    n = len(secs)
    later = []

    def ordered(s: pd.Series[Any]) -> pd.Series[Any]:
        return s if order is None else _rows(s, order)

    columns: dict[str, pd.Series[Any]] = {}
    for role, column in (("USER_ID", user), ("ITEM_ID", item)):
        ids = ordered(take(column))
        if string_ids or not _is_integer(ids):
            ids = as_string(ids)
        null_ids = null_mask(ids)
        if null_ids.any():
            later.append(
                make_problem(
                    "id-missing",
                    f"{role} is required and cannot be null",
                    column=column,
                    mask=null_ids,
                    fix="drop those rows first: "
                    f"pk.prep.fill_missing(frame, {{{column!r}: 'drop'}})",
                )
            )
        ids.name = role  # a Series of our own (taken or converted above)
        columns[role] = ids
    columns["TIMESTAMP"] = pd.Series(secs if order is None else secs[order], name="TIMESTAMP")
    if event_type is not None:
        raw_rating = ordered(take(rating)) if needs_rating else None
        columns["EVENT_TYPE"] = _event_types(event_type, raw_rating, n, later).rename("EVENT_TYPE")
    if event_value:
        assert rating_values is not None
        r = rating_values[kept] if kept is not None else rating_values
        r = r[order] if order is not None else r
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
        columns[name] = metadata_column(
            ordered(take(column)), column=column, bool_mode="string", problems=later
        ).rename(name)
    problems += _to_input_rows(later, mask, order)
    raise_all(problems, "ratings")
    return pd.DataFrame(columns, copy=False)
