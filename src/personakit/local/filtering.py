"""Filter evaluation for the local engine : which ids a filter lets through.

The engine calls :func:`apply_filter` once per recommendation request with the
dataset group's tables; the result says which candidate ids may be recommended::

    result = apply_filter(flt, filter_values=request.get("filterValues"), user_id="42",
                          item_id=None, items=items, users=users,
                          user_interactions=history_of_42, all_item_ids=catalog)
    allowed = result.allowed(catalog)          # or result.mask(ids) / id in result

Semantics (https://docs.aws.amazon.com/personalize/latest/dg/filter-expressions.html,
https://docs.aws.amazon.com/personalize/latest/dg/multiple-expression-example.html):

* ``INCLUDE A | INCLUDE B`` = include A ∪ B; ``EXCLUDE A | EXCLUDE B`` = exclude
  A ∪ B; INCLUDEs and EXCLUDEs together = (∪ includes) − (∪ excludes); order of
  the expressions does not matter.
* ``IN`` / ``NOT IN`` match exact strings; a categorical field holding several
  values joined with ``|`` (``"Comedy|Drama"``) matches ``IN ("Comedy")``.
  ``NOT IN`` is the negation of ``IN``: an item without a value (null, or no row
  in the Items data) is ``NOT IN`` anything and ``IN`` nothing.
* Comparisons are numeric; a null value compares false. ``=`` and ``!=`` with a
  placeholder value that is not a number compare strings (``IF
  CurrentUser.MEMBERSHIP = $PREMIUM``).
* ``AND`` binds tighter than ``OR`` (``A OR B AND C`` = ``A OR (B AND C)``) —
  the guide does not say; this is the usual precedence.
* Interactions conditions read the user's own interactions, at most the 100
  most recent per event type (https://docs.aws.amazon.com/personalize/latest/dg/limits.html);
  event types match case-insensitively and ``"*"`` matches any event type.
* An ``IF CurrentUser...`` clause is evaluated on the user's row of the Users
  data; when it is false (or the user has no row), the expression does not apply.
* A placeholder of an EXCLUDE expression missing from ``filter_values``: that
  condition is ignored (an expression left with no condition is ignored; a
  missing IF placeholder ignores the whole expression). A missing placeholder of
  an INCLUDE expression raises :class:`~personakit.ValidationError`, which the
  engine turns into the service's ``InvalidInputException`` (``filterValues`` of
  https://docs.aws.amazon.com/personalize/latest/dg/API_RS_GetRecommendations.html).

Evaluation over the candidate table is vectorised with ``pyarrow.compute``; the
``|``-split of a multi-value column and the id array are cached per table.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from personakit.errors import ValidationError
from personakit.rules.facts import INTERACTIONS_PER_EVENT_TYPE
from personakit.rules.filters import (
    Condition,
    Expression,
    Filter,
    decode_filter_values,
    encode_filter_values,
)
from personakit.rules.report import DataReport

__all__ = [
    "INTERACTIONS_PER_EVENT_TYPE",
    "FilterResult",
    "apply_filter",
    "decode_filter_values",
    "rows_of_user",
]

BoolArray = npt.NDArray[np.bool_]
#: Arrow arrays inside this module. pyarrow-stubs type compute functions per scalar
#: type; the code here dispatches on runtime types, so arrays are ``Any`` inside
#: (the same convention as ``personakit.rules.writer``).
_Array = Any

_ID_COLUMN = {"ItemID": "ITEM_ID", "ActionID": "ACTION_ID", "UserID": "USER_ID"}
#: The dataset whose rows are the candidates, and the interactions dataset, per target.
_CANDIDATES = {"ItemID": "Items", "ActionID": "Actions", "UserID": "Users"}
_INTERACTIONS = {
    "ItemID": "Interactions",
    "ActionID": "Action_Interactions",
    "UserID": "Interactions",
}


# --------------------------------------------------------------------------- result


@attrs.frozen
class FilterResult:
    """What a filter lets through: ``(include or every candidate) - exclude``.

    ``include`` is ``None`` when no INCLUDE expression applied (no restriction);
    an empty frozenset means nothing is included. Use :meth:`allowed`,
    :meth:`mask` or ``id in result`` rather than ``include or ...`` (an empty
    include set is falsy but means "nothing").
    """

    include: frozenset[str] | None
    exclude: frozenset[str]

    def __contains__(self, candidate: object) -> bool:
        if candidate in self.exclude:
            return False
        return self.include is None or candidate in self.include

    def allowed(self, candidates: Iterable[str]) -> list[str]:
        """The allowed candidates, in the order given."""
        return [c for c in candidates if c in self]

    def mask(self, candidates: Sequence[str] | pa.Array[Any] | pa.ChunkedArray[Any]) -> BoolArray:
        """A boolean array over ``candidates``: True where the id is allowed."""
        arr = (
            candidates
            if isinstance(candidates, (pa.Array, pa.ChunkedArray))
            else pa.array(list(candidates), pa.string())
        )
        keep = np.ones(len(arr), dtype=bool) if self.include is None else _is_in(arr, self.include)
        if self.exclude:
            keep &= ~_is_in(arr, self.exclude)
        return keep

    @property
    def unrestricted(self) -> bool:
        """True when the filter removes nothing."""
        return self.include is None and not self.exclude


def _is_in(arr: _Array, values: Iterable[str]) -> BoolArray:
    value_set = pa.array(list(values), pa.string())
    if not pa.types.is_string(arr.type):
        arr = pc.cast(arr, pa.string())
    return _np_bool(pc.is_in(arr, value_set=value_set))


def _np_bool(arr: _Array) -> BoolArray:
    filled = pc.fill_null(arr, False)
    if isinstance(filled, pa.ChunkedArray):
        if filled.num_chunks == 0:
            return np.zeros(0, dtype=bool)
        filled = filled.combine_chunks()
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)


# --------------------------------------------------------------------------- caches


class _TableCache:
    """Per-table derived arrays (ids, ``|``-splits), keyed by ``id(table)``.

    The cache keeps each table alive, so an id is never reused while
    its entry lives; the least recently used tables are dropped first.
    """

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[int, tuple[pa.Table, dict[Any, Any]]] = OrderedDict()

    def get(self, table: pa.Table, key: Any, build: Callable[[], Any]) -> Any:
        with self._lock:
            entry = self._entries.get(id(table))
            if entry is None or entry[0] is not table:
                entry = (table, {})
                self._entries[id(table)] = entry
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
            else:
                self._entries.move_to_end(id(table))
            store = entry[1]
            if key in store:
                return store[key]
        value = build()
        with self._lock:
            store[key] = value
        return value


_CACHE = _TableCache()


def rows_of_user(table: pa.Table, user_id: str, column: str = "USER_ID") -> pa.Table:
    """The rows of ``table`` whose ``column`` is ``user_id``, in table order.

    An index (rows sorted by user, stably) is built once per table and kept in the
    per-table cache, so a request reads one user's rows instead of scanning the
    whole Interactions table.
    """

    def build() -> tuple[npt.NDArray[np.int64], dict[str, tuple[int, int]]]:
        compute: Any = pc  # the stubs' overloads do not follow ChunkedArray columns
        filled = compute.fill_null(table.column(column), "")
        ids = np.asarray(filled.to_pylist(), dtype=str)
        order = np.argsort(ids, kind="stable")
        names, starts = np.unique(ids[order], return_index=True)
        stops = np.append(starts[1:], len(order))
        bounds = {
            str(n): (int(a), int(b))
            for n, a, b in zip(names.tolist(), starts.tolist(), stops.tolist(), strict=True)
        }
        return order.astype(np.int64), bounds

    order, bounds = _CACHE.get(table, ("rows-of-user", column), build)
    lo, hi = bounds.get(user_id, (0, 0))
    return table.take(order[lo:hi])


def _column_name(table: pa.Table, field: str, dataset: str) -> str:
    names = table.column_names
    if field in names:
        return field
    upper = field.upper()
    for name in names:
        if name.upper() == upper:
            return name
    raise ValidationError(
        f"the filter reads {dataset}.{field}, but the {dataset} data has no such column "
        f"(columns: {', '.join(names)})"
    )


def _as_array(col: _Array) -> _Array:
    if isinstance(col, pa.ChunkedArray):
        if col.num_chunks == 1:
            return col.chunk(0)
        if col.num_chunks == 0:
            return pa.array([], col.type)
        return col.combine_chunks()
    return col


def _string_array(col: _Array) -> _Array:
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return col
    if pa.types.is_floating(col.type):
        # 3.0 -> "3", as Personalize writes numbers it reads as categories
        texts = [None if v is None else _float_text(v) for v in col.to_pylist()]
        return pa.array(texts, pa.string())
    return pc.cast(col, pa.string())


def _float_text(value: float) -> str:
    return str(int(value)) if math.isfinite(value) and value.is_integer() else repr(value)


@attrs.frozen
class _Split:
    """A string column split on ``|``: flat values and the row each came from."""

    rows: int
    flat: _Array
    parents: npt.NDArray[np.int64] | None  # None: no multi-value cells, flat is the column


def _split(table: pa.Table, column: str) -> _Split:
    def build() -> _Split:
        col = _string_array(_as_array(table.column(column)))
        if not pc.any(pc.match_substring(col, "|")).as_py():
            return _Split(len(col), col, None)
        lists = pc.split_pattern(col, "|")
        flat = pc.list_flatten(lists)
        parents = np.asarray(pc.list_parent_indices(lists).to_numpy(), dtype=np.int64)
        return _Split(len(col), flat, parents)

    result: _Split = _CACHE.get(table, ("split", column), build)
    return result


def _ids(table: pa.Table, column: str) -> npt.NDArray[np.object_]:
    def build() -> npt.NDArray[np.object_]:
        col = _string_array(_as_array(table.column(column)))
        return np.asarray(col.to_pylist(), dtype=object)

    result: npt.NDArray[np.object_] = _CACHE.get(table, ("ids", column), build)
    return result


def _numeric(table: pa.Table, column: str) -> _Array:
    def build() -> _Array:
        col = _as_array(table.column(column))
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        if pa.types.is_timestamp(col.type):
            return pc.cast(pc.cast(col, pa.timestamp("s")), pa.int64())
        if pa.types.is_date(col.type):
            return pc.cast(pc.cast(col, pa.timestamp("s")), pa.int64())
        if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
            return col
        if pa.types.is_boolean(col.type):
            return pc.cast(col, pa.int64())
        texts = _string_array(col).to_pylist()
        return pa.array([_to_float(t) for t in texts], pa.float64())

    return _CACHE.get(table, ("numeric", column), build)


def _to_float(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


# --------------------------------------------------------------------------- context


@attrs.define
class _Context:
    target: str
    values: dict[str, list[str]]
    user_id: str | None
    item_id: str | None
    tables: dict[str, pa.Table | None]
    interactions: pa.Table | None
    all_ids: Sequence[str]
    per_event_type: int
    _user_row: dict[str, Any] | None = None
    _user_row_done: bool = False
    _item_row: dict[str, Any] | None = None
    _item_row_done: bool = False
    _history: pa.Table | None = None
    _history_done: bool = False

    # ------------------------------------------------------------------ rows
    def user_row(self) -> dict[str, Any] | None:
        if not self._user_row_done:
            self._user_row_done = True
            self._user_row = _row(self.tables.get("Users"), "USER_ID", self.user_id)
        return self._user_row

    def item_row(self, field: str) -> dict[str, Any] | None:
        if self.item_id is None:
            raise ValidationError(
                f"the filter uses CurrentItem.{field}, which needs the itemId of a "
                "related-items request"
            )
        if not self._item_row_done:
            self._item_row_done = True
            self._item_row = _row(self.tables.get("Items"), "ITEM_ID", self.item_id)
        return self._item_row

    # ------------------------------------------------------------------ operands
    def param_values(self, name: str) -> list[str]:
        return self.values[name]

    def set_operand(self, c: Condition) -> list[str]:
        """The strings an IN / NOT IN condition matches against."""
        if c.param is not None:
            return self.param_values(c.param)
        if c.current_item is not None:
            row = self.item_row(c.current_item)
            return _cell_values(_get(row, c.current_item))
        return [_value_text(v) for v in c.values]

    def scalar_operand(self, c: Condition) -> float | str | None:
        """The number (or, for = and !=, string) a comparison compares with."""
        if c.param is not None:
            given = self.param_values(c.param)
            if len(given) != 1:
                raise ValidationError(
                    f"${c.param} is compared with {c.op}; give exactly one value, got {given!r}"
                )
            return _comparable(given[0], c, f"${c.param}")
        if c.current_item is not None:
            value = _get(self.item_row(c.current_item), c.current_item)
            if value is None:
                return None
            # a current item whose value is not a number orders nothing (= / != compare text)
            return _comparable(value, c, f"CurrentItem.{c.current_item}", strict=False)
        return float(c.values[0])

    # ------------------------------------------------------------------ interactions
    def history(self) -> pa.Table | None:
        """The interactions the filter considers, with a lower-cased ``_EVENT`` column."""
        if not self._history_done:
            self._history_done = True
            self._history = _history(
                self.interactions,
                _ID_COLUMN[self.target],
                self.user_id if self.target != "UserID" else None,
                self.per_event_type if self.target != "UserID" else None,
            )
        return self._history


def _row(table: pa.Table | None, id_column: str, key: str | None) -> dict[str, Any] | None:
    if table is None or key is None or table.num_rows == 0:
        return None
    name = _column_name(table, id_column, id_column)
    ids = _ids(table, name)
    hits = np.flatnonzero(ids == key)
    if hits.size == 0:
        return None
    row: dict[str, Any] = table.slice(int(hits[0]), 1).to_pylist()[0]
    return row


def _get(row: Mapping[str, Any] | None, field: str) -> Any:
    if row is None:
        return None
    if field in row:
        return row[field]
    upper = field.upper()
    for key, value in row.items():
        if key.upper() == upper:
            return value
    raise ValidationError(f"the filter reads field {field!r}, which the data does not have")


def _value_text(value: object) -> str:
    if isinstance(value, float):
        return _float_text(value)
    return str(value)


def _cell_values(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [_value_text(v) for v in value if v is not None]
    return _value_text(value).split("|")


def _comparable(
    value: object, c: Condition, what: str, *, strict: bool = True
) -> float | str | None:
    number = _to_float(value)
    if number is not None:
        return number
    if c.op in ("=", "!="):
        return _value_text(value)
    if strict:
        raise ValidationError(f"{c.qualified} {c.op} {what}: {value!r} is not a number")
    return None


def _history(
    table: pa.Table | None, id_column: str, user_id: str | None, limit: int | None
) -> pa.Table | None:
    if table is None:
        return None
    idc = _column_name(table, id_column, "Interactions")
    if user_id is not None and "USER_ID" in table.column_names and idc != "USER_ID":
        owners: _Array = _string_array(_as_array(table.column("USER_ID")))
        mine: _Array = pc.equal(owners, pa.scalar(user_id, pa.string()))
        table = table.filter(mine)
    ids = _string_array(_as_array(table.column(idc)))
    if "EVENT_TYPE" in table.column_names:
        events = pc.utf8_lower(_string_array(_as_array(table.column("EVENT_TYPE"))))
    else:
        events = pa.nulls(table.num_rows, pa.string())
    out = pa.table({"_ID": ids, "_EVENT": events})
    if limit is None or table.num_rows <= limit:
        return out
    if "TIMESTAMP" in table.column_names:
        out = out.append_column("_TS", _as_array(table.column("TIMESTAMP")))
        order = pc.sort_indices(out, sort_keys=[("_EVENT", "ascending"), ("_TS", "descending")])
    else:  # no timestamps: keep the last rows, taken as the most recent
        out = out.append_column("_TS", pa.array(np.arange(table.num_rows)))
        order = pc.sort_indices(out, sort_keys=[("_EVENT", "ascending"), ("_TS", "descending")])
    out = out.take(order)
    ev = np.asarray(out.column("_EVENT").to_pylist(), dtype=object)
    starts = np.r_[True, ev[1:] != ev[:-1]] if len(ev) else np.zeros(0, bool)
    group_start = np.maximum.accumulate(np.where(starts, np.arange(len(ev)), 0))
    keep = (np.arange(len(ev)) - group_start) < limit
    return out.filter(pa.array(keep)).select(["_ID", "_EVENT"])


# --------------------------------------------------------------------------- evaluation


def _groups(e: Expression) -> list[list[Condition]]:
    """WHERE conditions as OR-ed groups of AND-ed conditions (AND binds tighter)."""
    groups: list[list[Condition]] = [[e.conditions[0]]]
    for connector, cond in zip(e.connectors, e.conditions[1:], strict=True):
        if connector == "AND":
            groups[-1].append(cond)
        else:
            groups.append([cond])
    return groups


def _if_holds(c: Condition, ctx: _Context) -> bool:
    row = ctx.user_row()
    if row is None:
        return False
    value = _get(row, c.field)
    if c.op in ("IN", "NOT IN"):
        hit = bool(set(_cell_values(value)) & set(ctx.set_operand(c)))
        return hit if c.op == "IN" else not hit
    if value is None:
        return False
    operand = ctx.scalar_operand(c)
    if operand is None:
        return False
    return _compare_scalar(value, c.op, operand)


def _compare_scalar(value: object, op: str, operand: float | str) -> bool:
    left = _to_float(value)
    if isinstance(operand, float) and left is not None:
        return _CMP[op](left, operand)
    if op in ("=", "!="):
        equal = _value_text(value) == (
            _float_text(operand) if isinstance(operand, float) else operand
        )
        return equal if op == "=" else not equal
    return False


_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}
_PC_CMP: dict[str, Callable[[Any, Any], Any]] = {
    "=": pc.equal,
    "!=": pc.not_equal,
    "<": pc.less,
    "<=": pc.less_equal,
    ">": pc.greater,
    ">=": pc.greater_equal,
}


def _table_mask(c: Condition, table: pa.Table, ctx: _Context) -> BoolArray:
    column = _column_name(table, c.field, c.dataset)
    if c.op in ("IN", "NOT IN"):
        wanted = ctx.set_operand(c)
        split = _split(table, column)
        hit = np.zeros(split.rows, dtype=bool)
        if wanted:
            flat_hit = _np_bool(pc.is_in(split.flat, value_set=pa.array(wanted, pa.string())))
            if split.parents is None:
                hit = flat_hit
            else:
                hit[split.parents[flat_hit]] = True
        return hit if c.op == "IN" else ~hit
    operand = ctx.scalar_operand(c)
    if operand is None:
        return np.zeros(table.num_rows, dtype=bool)
    if isinstance(operand, str):  # = / != against a non-numeric value: compare text
        col = _string_array(_as_array(table.column(column)))
        return _np_bool(_PC_CMP[c.op](col, operand))
    return _np_bool(_PC_CMP[c.op](_numeric(table, column), operand))


def _null_row_matches(groups: list[list[Condition]]) -> bool:
    """Whether a candidate with no row (every field null) matches the WHERE clause."""
    return any(all(c.op == "NOT IN" for c in group) for group in groups)


def _candidate_ids(
    groups: list[list[Condition]], dataset: str, ctx: _Context
) -> set[str] | frozenset[str]:
    table = ctx.tables.get(dataset)
    if table is None:
        raise ValidationError(
            f"the filter reads {dataset} fields, but the dataset group has no {dataset} data"
        )
    id_column = _column_name(table, _ID_COLUMN[ctx.target], dataset)
    mask: BoolArray | None = None
    for group in groups:
        part: BoolArray | None = None
        for c in group:
            m = _table_mask(c, table, ctx)
            part = m if part is None else part & m
        assert part is not None
        mask = part if mask is None else mask | part
    assert mask is not None
    ids = _ids(table, id_column)
    matched: set[str] | frozenset[str] = frozenset(ids[mask].tolist())
    if _null_row_matches(groups):
        present = set(ids.tolist())
        extra = [i for i in ctx.all_ids if i not in present]
        if extra:
            matched = set(matched) | set(extra)
    return matched


def _interaction_ids(groups: list[list[Condition]], ctx: _Context) -> set[str]:
    history = ctx.history()
    if history is None or history.num_rows == 0:
        return set()
    ids = history.column("_ID")
    events = history.column("_EVENT")
    result: set[str] = set()
    for group in groups:
        part: set[str] | None = None
        for c in group:
            if c.field.upper() != "EVENT_TYPE" or c.op not in ("IN", "NOT IN"):
                raise ValidationError(
                    f"{c}: interactions filters can only use EVENT_TYPE IN / NOT IN"
                )
            wanted = [w.lower() for w in ctx.set_operand(c)]
            if "*" in wanted:
                hit = np.ones(history.num_rows, dtype=bool)
            else:
                hit = _np_bool(pc.is_in(events, value_set=pa.array(wanted, pa.string())))
            if c.op == "NOT IN":
                hit = ~hit
            found: set[str] = {str(i) for i in pc.filter(ids, pa.array(hit)).to_pylist()}
            part = found if part is None else part & found
        result |= part or set()
    return result


def _evaluate(e: Expression, ctx: _Context) -> set[str] | frozenset[str] | None:
    """The ids an expression matches, or None when it does not apply."""
    for c in e.if_conditions:
        if c.param is not None and c.param not in ctx.values:
            return None  # only EXCLUDE placeholders may be missing (checked before)
    groups = [
        [c for c in group if c.param is None or c.param in ctx.values] for group in _groups(e)
    ]
    groups = [g for g in groups if g]
    if not groups:
        return None
    if not all(_if_holds(c, ctx) for c in e.if_conditions):
        return None
    dataset = e.conditions[0].dataset
    if dataset == _CANDIDATES[ctx.target]:
        return _candidate_ids(groups, dataset, ctx)
    if dataset == _INTERACTIONS[ctx.target]:
        return _interaction_ids(groups, ctx)
    raise ValidationError(
        f"{e}: {ctx.target} filters evaluate {_CANDIDATES[ctx.target]} or "
        f"{_INTERACTIONS[ctx.target]} conditions, not {dataset}"
    )


@lru_cache(maxsize=256)
def _structural_errors(flt: Filter) -> DataReport:
    report = flt.validate()
    return DataReport(report.errors, subject="filter")


def apply_filter(
    flt: Filter | str,
    *,
    filter_values: Mapping[str, str] | None,
    user_id: str | None,
    item_id: str | None,
    items: pa.Table | None,
    users: pa.Table | None,
    user_interactions: pa.Table | None,
    all_item_ids: Sequence[str],
    target: str = "ItemID",
    actions: pa.Table | None = None,
    interactions_per_event_type: int = INTERACTIONS_PER_EVENT_TYPE,
) -> FilterResult:
    """Evaluate a filter for one request; see the module docstring for the semantics.

    Args:
        flt: the filter (or its expression text).
        filter_values: the request's ``filterValues`` as sent to the service
            (encoded: ``{"GENRES": '"Comedy","Drama"'}``), read with
            :func:`~personakit.rules.filter_values.decode_filter_values`: exactly the
            encoding personakit sends, so each quoted value is one value; a ``"``,
            ``,`` or ``\\`` inside a quoted value is an invalid input.
        user_id: the request's user (for Interactions conditions and IF CurrentUser).
        item_id: the request's item (related-items recipes; for CurrentItem).
        items: the Items data (``ITEM_ID`` plus fields), or None.
        users: the Users data (``USER_ID`` plus fields), or None.
        user_interactions: this user's interactions (``ITEM_ID``, ``EVENT_TYPE``,
            ``TIMESTAMP``; rows of other users are dropped if ``USER_ID`` is
            present). For ``target="UserID"`` (user segments): the interactions of
            every candidate user (``USER_ID``, ``EVENT_TYPE``). For
            ``target="ActionID"``: action interactions (``ACTION_ID``, ...).
        all_item_ids: every candidate id (items; users for ``UserID``; actions for
            ``ActionID``). Candidates without a data row count as having null fields.
        target: ``"ItemID"``, ``"UserID"`` or ``"ActionID"``: what is being filtered.
        actions: the Actions data (``ACTION_ID`` plus fields), for ``ActionID``.
        interactions_per_event_type: how many recent interactions per event type
            the filter considers (Personalize's default quota: 100).

    Raises:
        ValidationError: the filter breaks a rule, its target is not ``target``,
            an INCLUDE placeholder has no value, a compared value is not a number,
            or the filter reads data the dataset group does not have.
    """
    f = Filter.parse(flt)
    _structural_errors(f).raise_for_problems()
    canon = {"itemid": "ItemID", "userid": "UserID", "actionid": "ActionID"}.get(target.lower())
    if canon is None:
        raise ValidationError(f"target must be ItemID, UserID or ActionID, got {target!r}")
    wrong = sorted({e.target for e in f.expressions} - {canon})
    if wrong:
        raise ValidationError(
            f"this filter selects {', '.join(wrong)}, but the request recommends {canon}s"
        )
    encoded = {
        k: v if isinstance(v, str) else encode_filter_values({k: v}).get(k, "")
        for k, v in (filter_values or {}).items()
    }
    values = {k: v for k, v in decode_filter_values(encoded).items() if v}
    missing = sorted(p for p in f.include_parameters if p not in values)
    if missing:
        raise ValidationError(
            "filterValues must give every placeholder of an INCLUDE expression; missing: "
            + ", ".join(f"${p}" for p in missing)
        )
    ctx = _Context(
        target=canon,
        values=values,
        user_id=user_id,
        item_id=item_id,
        tables={"Items": items, "Users": users, "Actions": actions},
        interactions=user_interactions,
        all_ids=all_item_ids,
        per_event_type=interactions_per_event_type,
    )
    includes: list[set[str] | frozenset[str]] = []
    excludes: list[set[str] | frozenset[str]] = []
    for e in f.expressions:
        matched = _evaluate(e, ctx)
        if matched is not None:
            (includes if e.action == "INCLUDE" else excludes).append(matched)
    return FilterResult(_union(includes) if includes else None, _union(excludes))


def _union(sets: list[set[str] | frozenset[str]]) -> frozenset[str]:
    if len(sets) == 1 and isinstance(sets[0], frozenset):
        return sets[0]  # the common case: no copy of a large set
    return frozenset().union(*sets)
