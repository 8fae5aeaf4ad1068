"""Items and Users frames: from one table (:func:`items`, :func:`users`) or joined
from several (:func:`items_from`, :func:`users_from`).

Part of :mod:`personakit.rules` (pure, no I/O; see :mod:`personakit.rules.prep`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from personakit.errors import ValidationError
from personakit.rules import arguments
from personakit.rules.arrow import FrameLike
from personakit.rules.facts import DG, MAX_CATEGORICAL_CHARS, MAX_TEXTUAL_CHARS, Domain
from personakit.rules.prep.base import (
    INT_NULLABLE,
    SEP,
    BooleanMode,
    MultiValue,
    arrow_of,
    as_frame,
    as_string,
    examples_of,
    from_arrow,
    make_problem,
    null_mask,
    raise_all,
    require_columns,
    warn,
)
from personakit.rules.prep.columns import field_names, metadata_column, rebuild
from personakit.rules.prep.multivalue import join_column, text_lengths
from personakit.rules.prep.timestamps import timestamp_column
from personakit.rules.report import Problem
from personakit.rules.schema import RESERVED, DatasetType, field_name_for, role_columns

__all__ = ["items", "items_from", "users", "users_from"]


def _multi_value_map(multi_value: MultiValue) -> dict[str, str | None]:
    if multi_value is None:
        return {}
    if isinstance(multi_value, Mapping):
        mapping = arguments.column_map(
            "multi_value", multi_value, values="separators", strings=False
        )
        for column, sep in mapping.items():
            arguments.text(f"multi_value[{column!r}]", sep, optional=True)
        return mapping
    return dict.fromkeys(arguments.column_list("multi_value", multi_value), SEP)


def _arguments(
    id_argument: str,
    id_column: str | None,
    creation_timestamp: str | Literal[False] | None,
    textual: str | None,
    booleans: BooleanMode,
    drop: Sequence[str],
) -> list[str]:
    """TypeErrors for arguments of the wrong type; the ``drop`` columns."""
    arguments.column(id_argument, id_column, optional=True)
    arguments.check(
        "creation_timestamp",
        creation_timestamp,
        lambda v: v is None or v is False or isinstance(v, str),
        "a column name, False or None",
    )
    arguments.column("textual", textual, optional=True)
    arguments.choice("booleans", booleans, ("string", "int", "keep"))
    return arguments.column_list("drop", drop)


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
    drop = _arguments(id_argument, id_column, creation_timestamp, textual, bool_mode, drop)
    multi = _multi_value_map(multi_value)
    wanted: dict[str, str | list[str]] = {"drop": list(drop), "multi_value": list(multi)}
    if id_column is not None:
        wanted[id_argument] = id_column
    if creation_timestamp:
        wanted["creation_timestamp"] = creation_timestamp
    if textual is not None:
        wanted["textual"] = textual
    problems = require_columns(data, wanted, f"{subject} frame")
    raise_all(problems, f"{subject} frame")
    if drop:
        data = data.drop(columns=list(drop))
    names = [str(c) for c in data.columns]
    explicit = {id_column: id_role} if id_column is not None else {}
    if creation_timestamp:
        explicit[creation_timestamp] = "CREATION_TIMESTAMP"
    fields, roles, problems = field_names(
        names,
        dtype,
        domain,
        explicit,
        exclude_roles=["CREATION_TIMESTAMP"] if creation_timestamp is False else (),
    )
    id_cols = [c for c, r in roles.items() if r == id_role]
    if not id_cols:
        message = (
            f"no {id_role} column in the {subject} frame (columns: {', '.join(names)}); "
            f"name it with {id_argument}='yourIdColumn'"
        )
        problem = Problem(
            "error",
            "column-missing",
            f"{message} (every {dtype.value} record has an {id_role}: "
            f"{DG}custom-datasets-and-schemas.html)",
            column=id_role,
            count=1,
            fix=f"pass {id_argument}= the name of the column that holds the ids",
        )
        raise ValidationError(message, problems=[problem])
    (id_col,) = id_cols
    reserved = RESERVED[(dtype, domain)]
    out: dict[str, pd.Series[Any]] = {}
    for column in names:
        s = data[column]
        name = fields[column]
        role = roles.get(column)
        if role == id_role:
            col = as_string(s)
            nulls = null_mask(col)
            if nulls.any():
                problems.append(
                    make_problem(
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
            col = timestamp_column(
                s, column=column, on_missing="raise" if required else "keep", problems=problems
            )
        elif column in multi:
            col = join_column(
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
            col = metadata_column(s, column=column, bool_mode=bool_mode, problems=problems)
        out[name] = col.rename(name).reset_index(drop=True)
    raise_all(problems, f"{subject} frame")
    id_name = fields[id_col]
    ids = out[id_name]
    dup = ids.duplicated(keep="last").to_numpy(dtype=bool)
    if dup.any():
        rows, shown = examples_of(ids, dup)
        pairs = ", ".join(f"row {r}: {v!r}" for r, v in zip(rows, shown, strict=True))
        warn(
            f"{subject}: {int(dup.sum()):,} rows repeat an {id_role} already seen later in the "
            f"frame; kept the last record of each id, as Personalize does ({pairs})",
        )
        out = {k: v[~dup].reset_index(drop=True) for k, v in out.items()}
    ordered = {id_name: out.pop(id_name), **out}
    return pd.DataFrame(ordered)


def _textual_column(s: pd.Series[Any], column: str) -> pd.Series[Any]:
    """Free text as a string column, line breaks and tabs as spaces, length checked."""
    text = as_string(s)
    arr = arrow_of(text)
    assert arr is not None
    arr = pc.replace_substring_regex(arr, r"[\r\n\t]+", " ")
    over = text_lengths(arr) > MAX_TEXTUAL_CHARS
    if over.any():
        rows = np.flatnonzero(over)[:5].tolist()
        warn(
            f"{column}: {int(over.sum()):,} textual values exceed {MAX_TEXTUAL_CHARS:,} "
            f"characters; Personalize truncates them (rows {rows})",
        )
    return from_arrow(arr, s)


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
    dom = Domain.parse(domain)
    _arguments("item", item, creation_timestamp, textual, booleans, drop)
    _multi_value_map(multi_value)
    return _entity(
        as_frame(frame, "items frame"),
        DatasetType.ITEMS,
        "ITEM_ID",
        item,
        id_argument="item",
        multi_value=multi_value,
        creation_timestamp=creation_timestamp,
        textual=textual,
        bool_mode=booleans,
        drop=drop,
        domain=dom,
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
    dom = Domain.parse(domain)
    _arguments("user", user, False, None, booleans, drop)
    _multi_value_map(multi_value)
    return _entity(
        as_frame(frame, "users frame"),
        DatasetType.USERS,
        "USER_ID",
        user,
        id_argument="user",
        multi_value=multi_value,
        creation_timestamp=False,
        textual=None,
        bool_mode=booleans,
        drop=drop,
        domain=dom,
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
    arguments.choice("how", how, ("left", "inner", "outer"))
    arguments.column("item" if role == "ITEM_ID" else "user", key, optional=True)
    frames = [as_frame(t, f"table {i}") for i, t in enumerate(tables)]
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
    raise_all(problems, "tables to join")
    base_key = keys[0]
    joined_names = {field_name_for(c): (0, c) for c in map(str, frames[0].columns) if c != keys[0]}
    parts: list[pd.DataFrame] = []
    for i, (f, k) in enumerate(zip(frames, keys, strict=True)):
        ids = as_string(f[k])
        nulls = null_mask(ids)
        if nulls.any():
            problems.append(
                make_problem(
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
                make_problem(
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
        part = rebuild(f, {k: ids})
        parts.append(part.rename(columns={k: base_key}) if k != base_key else part)
    raise_all(problems, "tables to join")
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
            nullable = INT_NULLABLE[pa.from_numpy_dtype(dtype)]
            convert[column] = frame[column].astype(nullable)
        elif isinstance(dtype, np.dtype) and dtype.kind == "b":
            convert[column] = frame[column].astype("boolean")
    return rebuild(frame, convert) if convert else frame


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
    Domain.parse(domain)
    _arguments("item", item, creation_timestamp, textual, booleans, drop)
    _multi_value_map(multi_value)
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
    Domain.parse(domain)
    _arguments("user", user, False, None, booleans, drop)
    _multi_value_map(multi_value)
    merged, key = _join(tables, user, DatasetType.USERS, "USER_ID", how)
    return users(
        merged, user=key, multi_value=multi_value, booleans=booleans, drop=drop, domain=domain
    )
