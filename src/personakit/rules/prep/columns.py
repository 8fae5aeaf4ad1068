"""Column-wise transforms of a frame: booleans, missing values, reserved names.

Part of :mod:`personakit.rules` (pure, no I/O; see :mod:`personakit.rules.prep`):
:func:`booleans`, :func:`fill_missing`, :func:`rename_reserved`, and how
:func:`~personakit.rules.prep.items` and friends turn one metadata column into its
Personalize shape.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, overload

import numpy as np
import pandas as pd
import pyarrow as pa

from personakit.errors import ValidationError
from personakit.rules import arguments
from personakit.rules.arrow import FrameLike
from personakit.rules.facts import DG, MAX_CATEGORICAL_CHARS, Domain
from personakit.rules.prep.base import (
    BooleanMode,
    as_frame,
    as_series,
    from_arrow,
    is_arrow,
    is_bool,
    is_datetime,
    is_listlike,
    label_of,
    make_problem,
    null_mask,
    raise_all,
    require_columns,
)
from personakit.rules.prep.multivalue import join_column
from personakit.rules.prep.timestamps import timestamp_column
from personakit.rules.report import Problem
from personakit.rules.schema import (
    ID_FIELDS,
    DatasetType,
    field_name_for,
    reserved_fields,
    role_columns,
    squash_name,
)
from personakit.rules.values import (
    CONVERSION_ERRORS,
    TYPES_URL,
    invalid_text,
    is_utf8,
    object_problems,
)

__all__ = [
    "bool_column",
    "booleans",
    "field_names",
    "fill_missing",
    "keep_mapping",
    "metadata_column",
    "rebuild",
    "rename_reserved",
]

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


def _bool_text(value: object) -> str | None:
    """``"True"``/``"False"`` for a bool or a spelling of one, else None.

    Only bools and strings are looked up: a dict lookup would find True for 1 and
    False for 0, and lists or dicts cannot be looked up at all.
    """
    if type(value) in (bool, np.bool_, str):
        return _BOOL_TEXT.get(value)
    return None


def bool_column(
    s: pd.Series[Any], mode: BooleanMode, column: str
) -> tuple[pd.Series[Any], Problem | None]:
    """``"True"``/``"False"`` strings (or 0/1 ``Int8``) of a boolean-like column."""
    if mode == "keep":
        return s, None
    nulls = null_mask(s)
    typed = pd.api.types.is_bool_dtype(s.dtype) and not isinstance(s.dtype, pd.ArrowDtype)
    if typed or is_arrow(s, pa.types.is_boolean):
        flags = s.to_numpy(dtype=bool, na_value=False)
        bad = np.zeros(len(s), dtype=bool)
    else:
        # one Python step per row: the values are Python objects to begin with
        mapped = np.array([_bool_text(v) for v in s.astype(object).to_numpy()], dtype=object)
        bad = ~nulls & np.array([v is None for v in mapped], dtype=bool)
        flags = mapped == "True"
    problem = None
    if bad.any():
        problem = make_problem(
            "not-boolean",
            "values other than True/False cannot be converted to booleans (Personalize "
            f"trains and filters on them as strings: {DG}how-it-works-dataset-schema.html)",
            column=column,
            mask=bad,
            values=s,
            fix="map them to True/False first, or leave the column out of booleans()",
        )
    if mode == "int":
        ints = pd.arrays.IntegerArray(flags.astype(np.int8), nulls | bad)
        return pd.Series(ints, index=s.index, name=s.name), problem
    text = pa.array(np.where(flags, "True", "False"), mask=nulls | bad, type=pa.string())
    return from_arrow(text, s), problem


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
    (https://docs.aws.amazon.com/personalize/latest/dg/how-it-works-dataset-schema.html);
    a categorical string ``"True"``/``"False"`` (or an int 0/1)
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
    arguments.choice("to", to, ("string", "int"))
    if isinstance(data, pd.Series):
        if columns is not None:
            raise ValidationError("columns= is for frames; a Series is one column")
        s = as_series(data)
        out, problem = bool_column(s, to, label_of(s))
        raise_all([problem] if problem else [], f"booleans {label_of(s)!r}")
        return out
    wanted = None if columns is None else arguments.column_list("columns", columns)
    frame = as_frame(data)
    problems = require_columns(frame, {"columns": wanted or []}, "frame")
    raise_all(problems, "booleans input")
    names = wanted if wanted is not None else [c for c in frame.columns if is_bool(frame[c])]
    converted: dict[Any, pd.Series[Any]] = {}
    for name in names:
        out, problem = bool_column(frame[name], to, str(name))
        converted[name] = out
        if problem:
            problems.append(problem)
    raise_all(problems, "booleans")
    return rebuild(frame, converted)


def rebuild(frame: pd.DataFrame, replace: Mapping[Any, pd.Series[Any]]) -> pd.DataFrame:
    """A new frame with some columns replaced (same index, same column order)."""
    data = {c: replace.get(c, frame[c]) for c in frame.columns}
    return pd.DataFrame(data, index=frame.index)


# --------------------------------------------------------------------------- missing values


#: Reserved fields that can never be null, whatever the dataset type.
_NEVER_NULL = (*ID_FIELDS, "TIMESTAMP")


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
    arguments.column_map(
        "policy", policy, values="'drop', 'keep' or a fill value", strings=False, optional=False
    )
    for column, action in policy.items():
        arguments.check(
            f"policy[{column!r}]",
            action,
            lambda v: v is not None and pd.api.types.is_scalar(v),
            "'drop', 'keep' or a fill value (a scalar)",
        )
    dtype = None if dataset_type is None else DatasetType.parse(dataset_type)
    dom = Domain.parse(domain)
    data = as_frame(frame)
    problems = require_columns(data, {"policy": list(policy)}, "frame")
    raise_all(problems, "fill_missing input")
    drop = np.zeros(len(data), dtype=bool)
    fills: dict[str, Any] = {}
    for column, action in policy.items():
        if isinstance(action, str) and action == "drop":
            drop |= null_mask(data[column])
        elif isinstance(action, str) and action == "keep":
            continue
        else:
            fills[column] = action
    kept = data[~drop] if drop.any() else data
    filled = {c: _filled(kept[c], v, c, problems) for c, v in fills.items()}
    raise_all(problems, "fill_missing policy")
    out = rebuild(kept, filled)
    required = set(_NEVER_NULL)
    names = [str(c) for c in out.columns]
    roles: dict[str, str] = {n: n for n in names if n in required}
    if dtype is not None:
        reserved = reserved_fields(dtype, dom)
        required = {name for name, rule in reserved.items() if rule.required}
        roles = {c: r for c, r in role_columns(names, dtype, dom, {}).items() if r in required}
    for column, role in roles.items():
        nulls = null_mask(out[column])
        if nulls.any():
            problems.append(
                make_problem(
                    "required-field-null",
                    f"{role} is required and cannot be null",
                    column=column,
                    mask=nulls,
                    fix=f"policy={{{column!r}: 'drop'}} drops those rows",
                )
            )
    raise_all(problems, "fill_missing result")
    return out


def _filled(s: pd.Series[Any], value: Any, column: str, problems: list[Problem]) -> pd.Series[Any]:
    """``s.fillna(value)``, or ``s`` and a ``fill-value-type`` problem when the column's
    dtype cannot hold the value (pandas would raise, or turn the column into objects)."""
    nulls = null_mask(s)
    if not nulls.any():
        return s
    if isinstance(value, str) and not is_utf8(value):
        problems.append(invalid_text([value] * len(s), np.flatnonzero(nulls), column))
        return s
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas deprecates the upcast refused below
        try:
            out = s.fillna(value)
        except CONVERSION_ERRORS:
            out = None
    if out is not None and (out.dtype == s.dtype or s.dtype == object):
        found = object_problems(out, column)  # a Decimal("sNaN") fill breaks pandas
        if not found:
            return out
        problems.extend(found)
        return s
    problems.append(
        make_problem(
            "fill-value-type",
            f"the fill value {value!r} ({type(value).__name__}) does not fit a column of "
            f"{s.dtype}; filled, the column would mix types, which a Personalize field "
            f"cannot ({TYPES_URL})",
            column=column,
            mask=nulls,
            fix="fill with a value of the column's type, or convert the column first "
            "(e.g. .astype(str) for text)",
        )
    )
    return s


# --------------------------------------------------------------------------- names


def field_names(
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
    dtype = DatasetType.parse(dataset_type)
    explicit = arguments.column_map("columns", columns)
    dom = Domain.parse(domain)
    data = as_frame(frame)
    names = [str(c) for c in data.columns]
    fields, _, problems = field_names(names, dtype, dom, explicit)
    raise_all(problems, f"{dtype.value} columns")
    return data.rename(columns=dict(zip(data.columns, [fields[n] for n in names], strict=True)))


# --------------------------------------------------------------------------- metadata columns


def metadata_column(
    s: pd.Series[Any],
    *,
    column: str,
    bool_mode: BooleanMode,
    problems: list[Problem],
) -> pd.Series[Any]:
    """A metadata column in Personalize's shape: lists joined, booleans, datetimes -> seconds."""
    if is_listlike(s):
        return join_column(
            s,
            sep=None,
            max_chars=MAX_CATEGORICAL_CHARS,
            on_too_long="raise",
            column=column,
            problems=problems,
        )
    if is_bool(s):
        out, problem = bool_column(s, bool_mode, column)
        if problem:
            problems.append(problem)
        return out
    if is_datetime(s):
        return timestamp_column(s, column=column, on_missing="keep", problems=problems)
    return s


def keep_mapping(keep: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    """``keep=`` as column -> field name (a list keeps its names in UPPER_SNAKE_CASE)."""
    if isinstance(keep, Mapping):
        return arguments.column_map("keep", keep)
    return {k: field_name_for(k) for k in arguments.column_list("keep", keep)}
