"""Personalize filter expressions: a typed builder, a parser, a validator, filterValues encoding.

Layer 1 (pure rules, no I/O). The grammar and every rule come from
``shared/reference/personalize.md`` §6 (which cites the Developer Guide pages
``filter-expressions``, ``creating-filter-expressions``,
``filter-expression-guidelines-requirements``, ``filter-real-time`` and
botocore's service model); ``docs/filters.md`` has the rules table with sources.

Grammar (reference §6.1)::

    filter      := expression ( "|" expression )*                  # <= 2500 characters
    expression  := ("INCLUDE"|"EXCLUDE") ("ItemID"|"UserID"|"ActionID") "WHERE"
                   condition ( ("AND"|"OR") condition )* [ "IF" condition ( "AND" condition )* ]
    condition   := Dataset "." FIELD ( ["NOT"] "IN" in_operand | cmp cmp_operand )
    in_operand  := "(" string ("," string)* ")" | "(" $PARAM ")" | ["("] CurrentItem.FIELD [")"]
    cmp         := "=" | "!=" | "<" | "<=" | ">" | ">="
    cmp_operand := number | $PARAM | CurrentItem.FIELD   (optionally in parentheses)

Keywords, targets and dataset names are read case-insensitively and printed in
the documented spelling (``INCLUDE``, ``ItemID``, ``Items``); field and
parameter names are kept as written (parameters are case-sensitive).

``Filter.parse(text)`` gives an immutable AST (:class:`Expression`,
:class:`Condition`); ``str(filter)`` prints canonical text such that
``Filter.parse(str(f)) == f``.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Any, Literal, NoReturn, cast

import attrs

from personakit.errors import ValidationError
from personakit.rules.report import DataReport, Problem
from personakit.rules.schema import DatasetType, Field, Schema

__all__ = [
    "COMPARISONS",
    "MAX_DISTINCT_FIELDS",
    "MAX_EXPRESSION_CHARS",
    "MAX_FILTER_VALUES",
    "MAX_FILTER_VALUE_CHARS",
    "MAX_PARAMETER_NAME",
    "Condition",
    "Expression",
    "Filter",
    "FilterSyntaxError",
    "decode_filter_values",
    "encode_filter_values",
]

Action = Literal["INCLUDE", "EXCLUDE"]
Target = Literal["ItemID", "UserID", "ActionID"]
Operator = Literal["IN", "NOT IN", "=", "!=", "<", "<=", ">", ">="]
Connector = Literal["AND", "OR"]
#: A literal value in a condition: a double-quoted string or a number.
Value = str | int | float
Scalar = str | int | float | bool | date
#: What ``encode_filter_values`` accepts for one placeholder.
FilterValue = Scalar | Iterable[Scalar] | None

#: botocore ``FilterExpression`` max length (reference §6.1, [BC]).
MAX_EXPRESSION_CHARS = 2500
#: Distinct dataset fields per filter, chained expressions together (reference §6.2).
MAX_DISTINCT_FIELDS = 10
#: botocore ``FilterValues`` max entries, key and value lengths (reference §5.2, [BC]).
MAX_FILTER_VALUES = 25
MAX_PARAMETER_NAME = 50
MAX_FILTER_VALUE_CHARS = 1000

COMPARISONS: frozenset[str] = frozenset({"=", "!=", "<", "<=", ">", ">="})
_IN_OPS: frozenset[str] = frozenset({"IN", "NOT IN"})
_OPERATORS: frozenset[str] = COMPARISONS | _IN_OPS

_DATASETS: dict[str, str] = {
    "items": "Items",
    "interactions": "Interactions",
    "users": "Users",
    "actions": "Actions",
    "action_interactions": "Action_Interactions",
    "currentuser": "CurrentUser",
    "currentitem": "CurrentItem",
}
#: Datasets a WHERE condition may name, and the dataset type whose schema holds the field.
_DATASET_TYPES: dict[str, DatasetType] = {
    "Items": DatasetType.ITEMS,
    "Interactions": DatasetType.INTERACTIONS,
    "Users": DatasetType.USERS,
    "Actions": DatasetType.ACTIONS,
    "Action_Interactions": DatasetType.ACTION_INTERACTIONS,
}
_INTERACTION_DATASETS = frozenset({"Interactions", "Action_Interactions"})
_TARGETS: dict[str, Target] = {"itemid": "ItemID", "userid": "UserID", "actionid": "ActionID"}
#: Datasets documented for each target (reference §6.2; [DG:filter-expressions]).
_TARGET_DATASETS: dict[str, frozenset[str]] = {
    "ItemID": frozenset({"Items", "Interactions"}),
    "ActionID": frozenset({"Actions", "Action_Interactions"}),
    "UserID": frozenset({"Users", "Interactions"}),
}
_TARGET_NOUN = {"ItemID": "items", "ActionID": "actions", "UserID": "users"}

_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARAM_RE = re.compile(r"[A-Za-z0-9_]+")


# --------------------------------------------------------------------------- errors


class FilterSyntaxError(ValidationError):
    """A filter expression does not parse.

    ``position`` is the 0-based character offset of the offending token,
    ``expected`` what the parser wanted there and ``found`` what it saw. The one
    :class:`~personakit.Problem` in ``problems`` carries the rule id
    (``filter-syntax``, ``filter-if-once`` or ``filter-comma-parameters``).
    """

    def __init__(
        self,
        text: str,
        position: int,
        expected: str,
        found: str,
        *,
        rule: str = "filter-syntax",
        fix: str | None = None,
    ) -> None:
        start = max(0, position - 50)
        snippet = text[start : position + 50].replace("\n", " ")
        caret = " " * (position - start) + "^"
        found_text = "the end of the expression" if not found else repr(found)
        message = (
            f"invalid filter expression at position {position}: expected {expected}, "
            f"found {found_text}\n  {snippet}\n  {caret}"
        )
        if fix:
            message += f"\n  fix: {fix}"
        problem = Problem(
            "error",
            rule,
            f"position {position}: expected {expected}, found {found_text}",
            fix=fix,
        )
        super().__init__(message, problems=(problem,))
        self.text = text
        self.position = position
        self.expected = expected
        self.found = found


# --------------------------------------------------------------------------- AST


def _canon_dataset(value: str) -> str:
    return _DATASETS.get(str(value).lower(), str(value))


def _canon_op(value: str) -> Operator:
    op = " ".join(str(value).upper().split())
    if op == "NOTIN":
        op = "NOT IN"
    if op not in _OPERATORS:
        raise ValidationError(
            f"unknown operator {value!r}; expected IN, NOT IN, =, !=, <, <=, > or >="
        )
    return cast(Operator, op)


def _values_tuple(values: Iterable[Value] | Value) -> tuple[Value, ...]:
    if isinstance(values, (str, int, float)):
        return (values,)
    return tuple(values)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@attrs.frozen
class Condition:
    """One condition: ``Dataset.FIELD <op> <operand>``.

    Exactly one operand form is set: ``values`` (literals: double-quoted strings
    for ``IN``/``NOT IN``, one number for a comparison), ``param`` (a ``$NAME``
    placeholder, without the ``$``) or ``current_item`` (``CurrentItem.<field>``).
    """

    dataset: str = attrs.field(converter=_canon_dataset)
    field: str
    op: Operator = attrs.field(converter=_canon_op)
    values: tuple[Value, ...] = attrs.field(default=(), converter=_values_tuple)
    param: str | None = None
    current_item: str | None = None

    def __attrs_post_init__(self) -> None:
        where = f"{self.dataset}.{self.field}"
        if not _IDENT_RE.fullmatch(self.dataset) or not _IDENT_RE.fullmatch(self.field):
            raise ValidationError(f"{where!r} is not Dataset.FIELD (letters, digits, _)")
        forms = sum((bool(self.values), self.param is not None, self.current_item is not None))
        if forms != 1:
            raise ValidationError(
                f"{where} {self.op}: give exactly one of values, param or current_item"
            )
        if self.param is not None and not _PARAM_RE.fullmatch(self.param):
            raise ValidationError(
                f"placeholder ${self.param} must be letters, digits or _ ([A-Za-z0-9_]+)"
            )
        if self.current_item is not None and not _IDENT_RE.fullmatch(self.current_item):
            raise ValidationError(f"CurrentItem.{self.current_item} is not a field name")
        for v in self.values:
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                raise ValidationError(f"{where}: values must be strings or numbers, got {v!r}")
            if isinstance(v, float) and not math.isfinite(v):
                raise ValidationError(f"{where}: {v!r} is not a finite number")
        if (
            self.op in COMPARISONS
            and self.values
            and (len(self.values) != 1 or not _is_number(self.values[0]))
        ):
            raise ValidationError(
                f"{where} {self.op} takes one number, a $PARAMETER or CurrentItem.<field>; "
                "use IN (...) to match strings"
            )

    # ------------------------------------------------------------------ helpers
    @property
    def is_comparison(self) -> bool:
        """True for ``= != < <= > >=``, false for ``IN`` / ``NOT IN``."""
        return self.op in COMPARISONS

    @property
    def qualified(self) -> str:
        """``Dataset.FIELD``."""
        return f"{self.dataset}.{self.field}"

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Parse one condition, e.g. ``'Items.GENRES IN ($genres)'``."""
        parser = _Parser(text)
        condition = parser.condition()
        parser.expect_end("the end of the condition")
        return condition

    def __str__(self) -> str:
        lhs = self.qualified
        if self.op in _IN_OPS:
            if self.param is not None:
                return f"{lhs} {self.op} (${self.param})"
            if self.current_item is not None:
                return f"{lhs} {self.op} CurrentItem.{self.current_item}"
            return f"{lhs} {self.op} ({', '.join(_format_value(v) for v in self.values)})"
        if self.param is not None:
            operand = f"${self.param}"
        elif self.current_item is not None:
            operand = f"CurrentItem.{self.current_item}"
        else:
            operand = _format_value(self.values[0])
        return f"{lhs} {self.op} {operand}"


def _canon_action(value: str) -> Action:
    action = str(value).upper()
    if action not in ("INCLUDE", "EXCLUDE"):
        raise ValidationError(f"action must be INCLUDE or EXCLUDE, got {value!r}")
    return cast(Action, action)


def _canon_target(value: str) -> Target:
    target = _TARGETS.get(str(value).lower())
    if target is None:
        raise ValidationError(f"target must be ItemID, UserID or ActionID, got {value!r}")
    return target


def _conditions_tuple(values: Iterable[Condition]) -> tuple[Condition, ...]:
    return tuple(values)


def _connectors_tuple(values: Iterable[str]) -> tuple[Connector, ...]:
    out = []
    for v in values:
        c = str(v).upper()
        if c not in ("AND", "OR"):
            raise ValidationError(f"connectors are AND or OR, got {v!r}")
        out.append(cast(Connector, c))
    return tuple(out)


@attrs.frozen
class Expression:
    """``INCLUDE|EXCLUDE <target> WHERE <conditions joined by connectors> [IF <if_conditions>]``.

    ``connectors[i]`` joins ``conditions[i]`` and ``conditions[i + 1]``; the IF
    conditions are joined with ``AND`` (the only connector the IF clause takes).
    """

    action: Action = attrs.field(converter=_canon_action)
    target: Target = attrs.field(converter=_canon_target)
    conditions: tuple[Condition, ...] = attrs.field(converter=_conditions_tuple)
    connectors: tuple[Connector, ...] = attrs.field(default=(), converter=_connectors_tuple)
    if_conditions: tuple[Condition, ...] = attrs.field(default=(), converter=_conditions_tuple)

    def __attrs_post_init__(self) -> None:
        if not self.conditions:
            raise ValidationError("an expression needs at least one WHERE condition")
        if len(self.connectors) != len(self.conditions) - 1:
            raise ValidationError(
                f"{len(self.conditions)} conditions need {len(self.conditions) - 1} "
                f"AND/OR connectors, got {len(self.connectors)}"
            )

    @property
    def parameters(self) -> tuple[str, ...]:
        """Placeholder names in order of appearance (WHERE, then IF), without duplicates."""
        seen: dict[str, None] = {}
        for c in (*self.conditions, *self.if_conditions):
            if c.param is not None:
                seen.setdefault(c.param, None)
        return tuple(seen)

    def __str__(self) -> str:
        parts = [f"{self.action} {self.target} WHERE {self.conditions[0]}"]
        for connector, condition in zip(self.connectors, self.conditions[1:], strict=True):
            parts.append(f"{connector} {condition}")
        if self.if_conditions:
            parts.append("IF " + " AND ".join(str(c) for c in self.if_conditions))
        return " ".join(parts)


# --------------------------------------------------------------------------- Filter

#: What the builders take as a WHERE clause.
Where = str | Condition | Iterable[Condition]


def _to_expressions(value: object) -> tuple[Expression, ...]:
    if isinstance(value, str):
        return _parse_cached(value)
    if isinstance(value, Filter):
        return value.expressions
    if isinstance(value, Expression):
        return (value,)
    if isinstance(value, Iterable):
        out = tuple(value)
        if not all(isinstance(e, Expression) for e in out):
            raise ValidationError("a Filter is built from Expression objects or a string")
        return cast(tuple[Expression, ...], out)
    raise ValidationError(f"cannot build a Filter from {value!r}")


@attrs.frozen(repr=False)
class Filter:
    """A Personalize filter: one or more expressions chained with ``|``.

    Build one from text (``Filter("EXCLUDE ItemID WHERE ...")`` or
    :meth:`parse`), or with the builders::

        Filter.exclude_items("Items.GENRES IN ($genres)")
        Filter.include_items("Items.PRICE <= $PRICE").when_user("AGE", ">", 18)
        Filter.include_items("Items.GENRE IN ($GENRE)") | Filter.exclude_items_interacted(
            event_types=("click", "stream")
        )

    ``str(f)`` / ``f.expression`` is the canonical text ``CreateFilter`` takes;
    :meth:`validate` applies every rule of reference §6.2; :meth:`bind` checks and
    encodes the ``filterValues`` of a request.
    """

    expressions: tuple[Expression, ...] = attrs.field(converter=_to_expressions)

    def __attrs_post_init__(self) -> None:
        if not self.expressions:
            raise ValidationError("a filter needs at least one expression")

    # ------------------------------------------------------------------ parse / print
    @classmethod
    def parse(cls, text: str | Filter) -> Filter:
        """Parse filter text; raises :class:`FilterSyntaxError` with the position on error."""
        if isinstance(text, Filter):
            return text
        return cls(_parse_cached(str(text)))

    @property
    def expression(self) -> str:
        """The canonical filter text, as ``CreateFilter(filterExpression=...)`` takes it."""
        return " | ".join(str(e) for e in self.expressions)

    def __str__(self) -> str:
        return self.expression

    def __repr__(self) -> str:
        return f"Filter({self.expression!r})"

    def _repr_html_(self) -> str:
        import html

        return f"<code>{html.escape(self.expression)}</code>"

    # ------------------------------------------------------------------ builders
    @classmethod
    def _build(cls, action: Action, target: Target, where: Where) -> Filter:
        if isinstance(where, str):
            parser = _Parser(where)
            conditions, connectors, if_conditions = parser.clause()
            parser.expect_end("AND, OR, IF or the end of the WHERE clause")
        elif isinstance(where, Condition):
            conditions, connectors, if_conditions = [where], [], []
        else:
            conditions = list(where)
            connectors, if_conditions = ["AND"] * (len(conditions) - 1), []
        return cls((Expression(action, target, conditions, connectors, if_conditions),))

    @classmethod
    def include_items(cls, where: Where) -> Filter:
        """``INCLUDE ItemID WHERE <where>``: recommend only items matching ``where``."""
        return cls._build("INCLUDE", "ItemID", where)

    @classmethod
    def exclude_items(cls, where: Where) -> Filter:
        """``EXCLUDE ItemID WHERE <where>``, e.g. ``exclude_items("Items.GENRES IN ($genres)")``."""
        return cls._build("EXCLUDE", "ItemID", where)

    @classmethod
    def include_users(cls, where: Where) -> Filter:
        """``INCLUDE UserID WHERE <where>`` (user segments)."""
        return cls._build("INCLUDE", "UserID", where)

    @classmethod
    def exclude_users(cls, where: Where) -> Filter:
        """``EXCLUDE UserID WHERE <where>`` (user segments)."""
        return cls._build("EXCLUDE", "UserID", where)

    @classmethod
    def include_actions(cls, where: Where) -> Filter:
        """``INCLUDE ActionID WHERE <where>`` (next best action)."""
        return cls._build("INCLUDE", "ActionID", where)

    @classmethod
    def exclude_actions(cls, where: Where) -> Filter:
        """``EXCLUDE ActionID WHERE <where>`` (next best action)."""
        return cls._build("EXCLUDE", "ActionID", where)

    @classmethod
    def _interacted(cls, action: Action, event_types: str | Iterable[str]) -> Filter:
        if isinstance(event_types, str) and event_types.startswith("$"):
            cond = Condition("Interactions", "EVENT_TYPE", "IN", param=event_types[1:])
        else:
            types = (event_types,) if isinstance(event_types, str) else tuple(event_types)
            if not types:
                raise ValidationError('event_types needs at least one type (or "*" for any)')
            cond = Condition("Interactions", "EVENT_TYPE", "IN", [str(t) for t in types])
        return cls._build(action, "ItemID", cond)

    @classmethod
    def exclude_items_interacted(cls, event_types: str | Iterable[str] = "*") -> Filter:
        """Exclude items the user interacted with: ``Interactions.EVENT_TYPE IN (...)``.

        ``event_types`` is one type, several, ``"*"`` (any, the default) or a
        ``"$PARAM"`` placeholder. Event types match case-insensitively.
        """
        return cls._interacted("EXCLUDE", event_types)

    @classmethod
    def include_items_interacted(cls, event_types: str | Iterable[str] = "*") -> Filter:
        """Recommend only items the user interacted with (``"*"``: with any event type)."""
        return cls._interacted("INCLUDE", event_types)

    def when_user(self, field: str, op: str, value: Any) -> Filter:
        """Add ``IF CurrentUser.<field> <op> <value>`` to the last expression.

        ``value`` is a number, or ``"$NAME"`` for a placeholder; with ``IN`` /
        ``NOT IN`` also a string or a list of strings. A second call extends the
        IF clause with ``AND``.
        """
        operator = _canon_op(op)
        if isinstance(value, str) and value.startswith("$"):
            cond = Condition("CurrentUser", field, operator, param=value[1:])
        elif operator in _IN_OPS:
            values = [value] if isinstance(value, (str, int, float)) else list(value)
            cond = Condition("CurrentUser", field, operator, values)
        else:
            cond = Condition("CurrentUser", field, operator, [value])
        last = self.expressions[-1]
        new_last = attrs.evolve(last, if_conditions=(*last.if_conditions, cond))
        return Filter((*self.expressions[:-1], new_last))

    def __or__(self, other: Filter | str) -> Filter:
        if isinstance(other, (Filter, str)):
            return Filter((*self.expressions, *Filter.parse(other).expressions))
        return NotImplemented

    def __ror__(self, other: str) -> Filter:
        if isinstance(other, str):
            return Filter((*Filter.parse(other).expressions, *self.expressions))
        return NotImplemented

    # ------------------------------------------------------------------ introspection
    @property
    def target(self) -> Target:
        """The target of the first expression (``ItemID``, ``UserID`` or ``ActionID``)."""
        return self.expressions[0].target

    @property
    def parameters(self) -> tuple[str, ...]:
        """Placeholder names (case-sensitive, without ``$``) in order of appearance."""
        seen: dict[str, None] = {}
        for e in self.expressions:
            for p in e.parameters:
                seen.setdefault(p, None)
        return tuple(seen)

    @property
    def include_parameters(self) -> frozenset[str]:
        """Placeholders of INCLUDE expressions: every request must give them a value."""
        return frozenset(p for e in self.expressions if e.action == "INCLUDE" for p in e.parameters)

    @property
    def exclude_parameters(self) -> frozenset[str]:
        """Placeholders only EXCLUDE expressions use: omitting one ignores that part."""
        return frozenset(self.parameters) - self.include_parameters

    @property
    def fields(self) -> frozenset[tuple[DatasetType, str]]:
        """Distinct dataset fields read (``CurrentUser`` = Users, ``CurrentItem`` = Items)."""
        out: set[tuple[DatasetType, str]] = set()
        for _, dtype, name, _ in _field_refs(self):
            if dtype is not None:
                out.add((dtype, name.upper()))
        return frozenset(out)

    # ------------------------------------------------------------------ rules
    def validate(
        self, schemas: Mapping[str | DatasetType, Schema] | Iterable[Schema] | None = None
    ) -> DataReport:
        """Apply the element rules and limits of reference §6.2; return every problem.

        With ``schemas`` (``{"Items": items_schema, ...}`` or a list of schemas)
        every field is also checked against its dataset's schema: it must exist
        and must not be textual or boolean, and ``< <= > >=`` need a numeric field.
        """
        return DataReport(_validate(self, _schema_map(schemas)), subject="filter")

    def bind(self, values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> dict[str, str]:
        """Check and encode a request's filter values (``filterValues``).

        Every placeholder of an INCLUDE expression needs a value; a placeholder only
        EXCLUDE expressions use may be left out (or given ``None`` / ``[]``), and
        Personalize then ignores that part of the filter ([BC] ``filterValues``).
        Names are case-sensitive; an unknown name is an error. Values of
        placeholders compared with ``< <= > >= = !=`` are sent as bare numbers
        (a numeric string is converted); values of ``IN`` placeholders as quoted
        strings.

        Raises:
            ValidationError: a required value is missing, a name is unknown, or a
                value breaks the ``filterValues`` limits (see :func:`encode_filter_values`).
        """
        merged: dict[str, Any] = {**(values or {}), **kwargs}
        names = self.parameters
        problems: list[Problem] = []
        for key in merged:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1) or [
                    n for n in names if n.lower() == key.lower()
                ]
                hint = f"; did you mean {close[0]!r}? (names are case-sensitive)" if close else ""
                problems.append(
                    Problem(
                        "error",
                        "filter-unknown-parameter",
                        f"${key} is not a placeholder of this filter "
                        f"(it has: {', '.join('$' + n for n in names) or 'none'}){hint}",
                        column=key,
                        fix=f"use one of {', '.join(names)}" if names else "drop filter_values",
                    )
                )
        given = {k for k, v in merged.items() if not _is_empty(v)}
        for name in names:
            if name in self.include_parameters and name not in given:
                problems.append(
                    Problem(
                        "error",
                        "filter-missing-parameter",
                        f"${name} is used in an INCLUDE expression and needs a value",
                        column=name,
                        fix=f"pass {name}=... (only EXCLUDE placeholders may be omitted)",
                    )
                )
        if problems:
            DataReport(problems, subject="filter values").raise_for_problems()
        kinds = _parameter_kinds(self)
        prepared: dict[str, FilterValue] = {}
        for key, value in merged.items():
            if _is_empty(value):
                continue
            prepared[key] = _coerce_for(kinds.get(key, "in"), value)
        return encode_filter_values(prepared)


def _is_empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, (str, bytes)):
        return False
    if isinstance(value, (Sequence, set, frozenset)):
        return len(value) == 0
    return False


def _parameter_kinds(flt: Filter) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for e in flt.expressions:
        for c in (*e.conditions, *e.if_conditions):
            if c.param is not None:
                kinds.setdefault(c.param, "cmp" if c.is_comparison else "in")
    return kinds


def _coerce_for(kind: str, value: Any) -> FilterValue:
    """Numbers for comparison placeholders, strings for IN placeholders."""
    if kind == "cmp":
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return value
            if not math.isfinite(number):
                return value
            return int(number) if number.is_integer() and "." not in value else number
        return cast(FilterValue, value)
    if _is_number(value):
        return _number_text(value)
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes, Mapping)):
        return [_number_text(v) if _is_number(v) else v for v in value]
    return cast(FilterValue, value)


# --------------------------------------------------------------------------- validation


def _schema_map(
    schemas: Mapping[str | DatasetType, Schema] | Iterable[Schema] | None,
) -> dict[DatasetType, Schema] | None:
    if schemas is None:
        return None
    if isinstance(schemas, Mapping):
        return {DatasetType.parse(k): v for k, v in schemas.items()}
    return {s.dataset_type: s for s in schemas}


def _field_refs(
    flt: Filter,
) -> list[tuple[Condition, DatasetType | None, str, str]]:
    """(condition, dataset type, field, role) for every field a filter reads.

    role is ``"lhs"`` for the condition's own field and ``"current_item"`` for a
    ``CurrentItem.<field>`` operand.
    """
    refs: list[tuple[Condition, DatasetType | None, str, str]] = []
    for e in flt.expressions:
        for c in (*e.conditions, *e.if_conditions):
            if c.dataset == "CurrentUser":
                dtype: DatasetType | None = DatasetType.USERS
            elif c.dataset == "CurrentItem":
                dtype = DatasetType.ITEMS
            else:
                dtype = _DATASET_TYPES.get(c.dataset)
            refs.append((c, dtype, c.field, "lhs"))
            if c.current_item is not None:
                refs.append((c, DatasetType.ITEMS, c.current_item, "current_item"))
    return refs


_SPLIT_EXAMPLE = (
    "INCLUDE ItemID WHERE Items.GENRE IN ($GENRE) | "
    'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")'
)


def _validate(flt: Filter, schemas: dict[DatasetType, Schema] | None) -> list[Problem]:
    problems: list[Problem] = []

    def add(severity: Literal["error", "warning"], rule: str, message: str, **kw: Any) -> None:
        problems.append(Problem(severity, rule, message, **kw))

    text = flt.expression
    if len(text) > MAX_EXPRESSION_CHARS:
        add(
            "error",
            "filter-too-long",
            f"the filter is {len(text)} characters; CreateFilter takes at most "
            f"{MAX_EXPRESSION_CHARS}",
            count=len(text),
            fix="move fixed value lists into $PARAMETERS given at request time",
        )
    targets = sorted({e.target for e in flt.expressions})
    if len(targets) > 1:
        add(
            "warning",
            "filter-mixed-targets",
            f"expressions filter different things ({', '.join(targets)}); a filter applies "
            "to one kind of recommendation",
            fix="create one filter per target",
        )
    current_item_seen = False
    for n, e in enumerate(flt.expressions, start=1):
        where = f"expression {n}"
        real = [c.dataset for c in e.conditions if c.dataset in _DATASET_TYPES]
        for c in e.conditions:
            if c.dataset == "CurrentUser":
                add(
                    "error",
                    "filter-if-current-user",
                    f"{where}: {c.qualified} can only be used in the IF clause at the end",
                    column=c.qualified,
                    fix=f"write ... IF {c}",
                )
            elif c.dataset not in _DATASET_TYPES:
                _unknown_dataset(add, where, c)
        if len(set(real)) > 1:
            mixed = sorted(set(real))
            interactions_items = bool(_INTERACTION_DATASETS & set(mixed)) and bool(
                {"Items", "Actions"} & set(mixed)
            )
            add(
                "error",
                "filter-mixed-datasets",
                f"{where} mixes datasets {', '.join(mixed)}; conditions joined with AND/OR "
                f"must all use the dataset of the first condition ({real[0]})",
                fix=(
                    "split it into expressions chained with ' | ', one per dataset, e.g. "
                    + _SPLIT_EXAMPLE
                    if interactions_items
                    else "split it into expressions chained with ' | ', one per dataset"
                ),
            )
        for ds in dict.fromkeys(real):
            if ds not in _TARGET_DATASETS[e.target]:
                allowed = " or ".join(sorted(_TARGET_DATASETS[e.target]))
                add(
                    "warning",
                    "filter-dataset-target",
                    f"{where}: {e.target} filters are documented with {allowed} conditions, "
                    f"not {ds}",
                    column=ds,
                )
        for c in e.if_conditions:
            if c.dataset != "CurrentUser":
                add(
                    "error",
                    "filter-if-current-user",
                    f"{where}: IF takes only CurrentUser.<field> conditions, got {c.qualified}",
                    column=c.qualified,
                    fix="put conditions on datasets before IF (in the WHERE clause)",
                )
        for c in (*e.conditions, *e.if_conditions):
            if any(v == "*" for v in c.values) and not (
                c.dataset in _INTERACTION_DATASETS
                and c.field.upper() == "EVENT_TYPE"
                and c.op in _IN_OPS
            ):
                add(
                    "error",
                    "filter-star",
                    f'{where}: "*" (any event type) only works with '
                    f"Interactions.EVENT_TYPE IN (...), not {c.qualified} {c.op}",
                    column=c.qualified,
                )
            if c.param is not None and c.op == "NOT IN":
                add(
                    "error",
                    "filter-placeholder-operator",
                    f"{where}: placeholders work with IN and comparisons, not NOT IN ({c})",
                    column=c.qualified,
                    fix=(
                        "use IN with the opposite action (EXCLUDE ... IN ($X) instead of "
                        "INCLUDE ... NOT IN ($X))"
                    ),
                )
            if c.param is not None and len(c.param) > MAX_PARAMETER_NAME:
                add(
                    "error",
                    "filter-parameter-name",
                    f"{where}: ${c.param[:20]}... is {len(c.param)} characters; filterValues "
                    f"keys take at most {MAX_PARAMETER_NAME}",
                    column=c.param,
                )
            if c.dataset in _INTERACTION_DATASETS and c.field.upper() != "EVENT_TYPE":
                add(
                    "error",
                    "filter-interactions-event-type",
                    f"{where}: interactions filters can only use EVENT_TYPE, not {c.qualified}",
                    column=c.qualified,
                )
            if c.op in _IN_OPS and any(not isinstance(v, str) for v in c.values):
                add(
                    "warning",
                    "filter-unquoted-value",
                    f"{where}: {c} matches strings; every documented IN list is made of "
                    "double-quoted strings",
                    column=c.qualified,
                    fix='quote the values: IN ("1", "2")',
                )
            if c.current_item is not None:
                current_item_seen = True
    if current_item_seen:
        add(
            "warning",
            "filter-current-item",
            "CurrentItem works only with related-items recipes and use cases "
            "(Similar-Items, More like X); other campaigns cannot use this filter",
        )
    fields = flt.fields
    if len(fields) > MAX_DISTINCT_FIELDS:
        names = ", ".join(sorted(f"{t.value}.{f}" for t, f in fields))
        add(
            "error",
            "filter-too-many-fields",
            f"the filter reads {len(fields)} distinct dataset fields ({names}); "
            f"the limit is {MAX_DISTINCT_FIELDS} per filter",
            count=len(fields),
        )
    if len(flt.parameters) > MAX_FILTER_VALUES:
        add(
            "error",
            "filter-too-many-parameters",
            f"the filter has {len(flt.parameters)} placeholders; a request takes at most "
            f"{MAX_FILTER_VALUES} filterValues",
            count=len(flt.parameters),
        )
    if schemas is not None:
        problems.extend(_check_schemas(flt, schemas))
    return problems


def _unknown_dataset(add: Any, where: str, c: Condition) -> None:
    if c.dataset == "CurrentItem":
        add(
            "error",
            "filter-dataset-unknown",
            f"{where}: CurrentItem.{c.field} is a value, not a dataset to filter",
            column=c.qualified,
            fix=f"compare an Items field with it: Items.{c.field} IN CurrentItem.{c.field}",
        )
        return
    close = difflib.get_close_matches(c.dataset, list(_DATASET_TYPES), n=1)
    add(
        "error",
        "filter-dataset-unknown",
        f"{where}: {c.dataset!r} is not a dataset (expected {', '.join(_DATASET_TYPES)})",
        column=c.qualified,
        fix=f"did you mean {close[0]}?" if close else None,
    )


def _find_field(schema: Schema, name: str) -> Field | None:
    for f in schema.fields:
        if f.name == name:
            return f
    for f in schema.fields:
        if f.name.upper() == name.upper():
            return f
    return None


def _check_schemas(flt: Filter, schemas: dict[DatasetType, Schema]) -> list[Problem]:
    problems: list[Problem] = []
    missing_reported: set[DatasetType] = set()
    seen: set[tuple[DatasetType, str, str, str]] = set()
    for cond, dtype, name, role in _field_refs(flt):
        if dtype is None:
            continue
        key = (dtype, name, role, cond.op)
        if key in seen:
            continue
        seen.add(key)
        ref = f"{dtype.value}.{name}" if role == "lhs" else f"CurrentItem.{name}"
        schema = schemas.get(dtype)
        if schema is None:
            if dtype not in missing_reported:
                missing_reported.add(dtype)
                problems.append(
                    Problem(
                        "warning",
                        "filter-schema-missing",
                        f"no {dtype.value} schema given; {dtype.value} fields were not checked",
                        column=dtype.value,
                    )
                )
            continue
        field = _find_field(schema, name)
        if field is None:
            close = difflib.get_close_matches(name.upper(), [f.name for f in schema.fields], n=1)
            problems.append(
                Problem(
                    "error",
                    "filter-field-unknown",
                    f"{ref}: the {dtype.value} schema has no field {name!r} "
                    f"(fields: {', '.join(schema.names)})",
                    column=ref,
                    fix=f"did you mean {close[0]}?" if close else None,
                )
            )
            continue
        if field.textual:
            problems.append(
                Problem(
                    "error",
                    "filter-field-textual",
                    f"{ref} is a textual field; filters can't use unstructured text",
                    column=ref,
                    fix="filter on a categorical field instead",
                )
            )
        if field.type == "boolean":
            problems.append(
                Problem(
                    "error",
                    "filter-field-boolean",
                    f"{ref} is boolean; Personalize can't filter on boolean fields",
                    column=ref,
                    fix=(
                        'store it as a categorical string "True"/"False" '
                        '(Schema.infer(..., booleans="categorical")) or as int 0/1'
                    ),
                )
            )
        if (
            role == "lhs"
            and cond.op in COMPARISONS - {"=", "!="}
            and field.type == "string"
            and not field.textual
        ):
            problems.append(
                Problem(
                    "error",
                    "filter-comparison-numeric",
                    f"{ref} {cond.op}: comparisons need a numeric field, {field.name} is a string",
                    column=ref,
                    fix="use IN (...) for strings, or store the field as int/long/float/double",
                )
            )
    return problems


# --------------------------------------------------------------------------- parser

_TOKEN_RE = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![A-Za-z0-9_.]))
    | (?P<param>\$[A-Za-z0-9_]+)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op><=|>=|!=|=|<|>)
    | (?P<punct>[.(),|])
    """,
    re.VERBOSE | re.DOTALL,
)


@attrs.frozen
class _Tok:
    kind: str  # string number param word op punct end
    text: str
    pos: int

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words

    def is_punct(self, char: str) -> bool:
        return self.kind == "punct" and self.text == char


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            ch = text[pos]
            if ch == '"':
                raise FilterSyntaxError(
                    text,
                    pos,
                    "a closing double quote",
                    text[pos : pos + 30],
                    fix="close the string",
                )
            if ch == "$":
                raise FilterSyntaxError(
                    text, pos, "a parameter name ([A-Za-z0-9_]+) after $", text[pos : pos + 2]
                )
            raise FilterSyntaxError(text, pos, "a keyword, name, value or operator", ch)
        kind = cast(str, m.lastgroup)
        if kind != "ws":
            tokens.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    tokens.append(_Tok("end", "", len(text)))
    return tokens


def _unquote(literal: str) -> str:
    return re.sub(
        r"\\(.)",
        lambda m: m.group(1) if m.group(1) in '"\\' else m.group(),
        literal[1:-1],
        flags=re.DOTALL,
    )


def _number(text: str) -> int | float:
    if any(ch in text for ch in ".eE"):
        return float(text)
    return int(text)


def _format_value(value: Value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return _number_text(value)


def _number_text(value: object) -> str:
    if isinstance(value, bool):
        raise ValidationError(f"{value!r} is not a number")
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    raise ValidationError(f"{value!r} is not a number")


_CMP_TEXT = "=, !=, <, <=, > or >="


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def advance(self) -> _Tok:
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def fail(
        self,
        expected: str,
        tok: _Tok | None = None,
        *,
        rule: str = "filter-syntax",
        fix: str | None = None,
    ) -> NoReturn:
        at = tok or self.tok
        raise FilterSyntaxError(self.text, at.pos, expected, at.text, rule=rule, fix=fix)

    def word(self, expected: str, *words: str) -> str:
        if not self.tok.is_word(*words):
            self.fail(expected)
        return self.advance().text.upper()

    def punct(self, char: str, expected: str) -> None:
        if not self.tok.is_punct(char):
            self.fail(expected)
        self.advance()

    def expect_end(self, expected: str) -> None:
        if self.tok.kind != "end":
            self.fail(expected)

    # ------------------------------------------------------------------ grammar
    def filter(self) -> tuple[Expression, ...]:
        if self.tok.kind == "end":
            self.fail("INCLUDE or EXCLUDE")
        expressions = [self.expression()]
        while self.tok.is_punct("|"):
            self.advance()
            expressions.append(self.expression())
        self.expect_end("AND, OR, IF, '|' or the end of the filter")
        return tuple(expressions)

    def expression(self) -> Expression:
        action = self.word("INCLUDE or EXCLUDE", "INCLUDE", "EXCLUDE")
        tok = self.tok
        if tok.kind != "word" or tok.text.lower() not in _TARGETS:
            self.fail("ItemID, UserID or ActionID")
        self.advance()
        self.word("WHERE", "WHERE")
        conditions, connectors, if_conditions = self.clause()
        return Expression(action, tok.text, conditions, connectors, if_conditions)

    def clause(self) -> tuple[list[Condition], list[str], list[Condition]]:
        conditions = [self.condition()]
        connectors: list[str] = []
        while self.tok.is_word("AND", "OR"):
            connectors.append(self.advance().text.upper())
            conditions.append(self.condition())
        if_conditions: list[Condition] = []
        if self.tok.is_word("IF"):
            self.advance()
            if_conditions.append(self.condition())
            while self.tok.is_word("AND"):
                self.advance()
                if_conditions.append(self.condition())
            if self.tok.is_word("OR"):
                self.fail(
                    "AND, '|' or the end of the expression",
                    rule="filter-if-once",
                    fix="IF conditions can only be extended with AND",
                )
            if self.tok.is_word("IF"):
                self.fail(
                    "AND, '|' or the end of the expression",
                    rule="filter-if-once",
                    fix="use IF once, at the end of the expression; join its conditions with AND",
                )
        return conditions, connectors, if_conditions

    def dotted(self, expected: str) -> tuple[str, str, _Tok]:
        start = self.tok
        if start.kind != "word":
            self.fail(expected)
        self.advance()
        if not self.tok.is_punct("."):
            self.fail(f"'.' after {start.text} ({expected})")
        self.advance()
        if self.tok.kind != "word":
            self.fail(f"a field name after {start.text}.")
        field = self.advance().text
        return _canon_dataset(start.text), field, start

    def condition(self) -> Condition:
        dataset, field, start = self.dotted("a condition such as Items.GENRES IN (...)")
        lhs = f"{dataset}.{field}"
        tok = self.tok
        if tok.is_word("NOT"):
            self.advance()
            self.word(f"IN after {lhs} NOT", "IN")
            op = "NOT IN"
        elif tok.is_word("IN"):
            self.advance()
            op = "IN"
        elif tok.kind == "op":
            self.advance()
            op = tok.text
        else:
            self.fail(f"IN, NOT IN or a comparison ({_CMP_TEXT}) after {lhs}")
        values: list[Value] = []
        param: str | None = None
        current_item: str | None = None
        if op in _IN_OPS:
            values, param, current_item = self.in_operand(lhs, op)
        else:
            values, param, current_item = self.cmp_operand(lhs, op)
        try:
            return Condition(dataset, field, op, values, param=param, current_item=current_item)
        except ValidationError as exc:
            self.fail(str(exc), start)

    def current_item(self, expected: str) -> str:
        dataset, field, tok = self.dotted(expected)
        if dataset != "CurrentItem":
            self.fail(expected, tok)
        return field

    def in_operand(self, lhs: str, op: str) -> tuple[list[Value], str | None, str | None]:
        expected = f'("value", ...), ($PARAMETER) or CurrentItem.<field> after {lhs} {op}'
        if self.tok.kind == "word":
            return [], None, self.current_item(expected)
        self.punct("(", expected)
        tok = self.tok
        if tok.kind == "param":
            self.advance()
            if self.tok.is_punct(","):
                self.fail(
                    "')' after the parameter",
                    rule="filter-comma-parameters",
                    fix="use one parameter and pass several values in it: "
                    'filterValues={"X": "\\"a\\",\\"b\\""}',
                )
            self.punct(")", "')' after the parameter")
            return [], tok.text[1:], None
        if tok.kind == "word":
            field = self.current_item(expected)
            self.punct(")", "')'")
            return [], None, field
        values: list[Value] = []
        while True:
            tok = self.tok
            if tok.kind == "string":
                values.append(_unquote(tok.text))
            elif tok.kind == "number":
                values.append(_number(tok.text))
            elif tok.kind == "param":
                self.fail(
                    'a double-quoted "value"',
                    rule="filter-comma-parameters",
                    fix="a parameter must be alone in its parentheses: IN ($X)",
                )
            else:
                self.fail('a double-quoted "value"')
            self.advance()
            if self.tok.is_punct(","):
                self.advance()
                continue
            self.punct(")", "',' or ')'")
            return values, None, None

    def cmp_operand(self, lhs: str, op: str) -> tuple[list[Value], str | None, str | None]:
        expected = f"a number, $PARAMETER or CurrentItem.<field> after {lhs} {op}"
        paren = self.tok.is_punct("(")
        if paren:
            self.advance()
        tok = self.tok
        out: tuple[list[Value], str | None, str | None]
        if tok.kind == "number":
            self.advance()
            out = [_number(tok.text)], None, None
        elif tok.kind == "param":
            self.advance()
            out = [], tok.text[1:], None
        elif tok.kind == "word":
            out = [], None, self.current_item(expected)
        elif tok.kind == "string":
            self.fail(expected, fix=f"comparisons are numeric; match strings with {lhs} IN (...)")
        else:
            self.fail(expected)
        if paren:
            self.punct(")", "')'")
        return out


@lru_cache(maxsize=512)
def _parse_cached(text: str) -> tuple[Expression, ...]:
    return _Parser(text).filter()


# --------------------------------------------------------------------------- filterValues
#
# Encoding (reference §6.3, [DG23:filter-real-time]): each value is a string of
# double-quoted, comma-separated literals, e.g. {"GENRES": "\"comedy\",\"drama\""};
# numbers go bare ("20"). Escaping an embedded double quote: neither the API
# reference (botocore personalize-runtime `filterValues`: "Separate multiple values
# for one parameter with a comma") nor the Developer Guide pages `filter-real-time`
# and `filter-expression-guidelines-requirements` (searched 2025, docs and pages
# corpora) say how a `"` inside a value is written. personakit escapes `"` as `\"`
# and `\` as `\\` (the convention of the JSON in which the guide shows these
# values, and of the string literals this module parses), so that a value holding
# a quote or a comma can never break out of its quotes and decoding is lossless.
# How the service treats such values is unverified (see docs/filters.md).

_QUOTED_RE = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_ENCODED_RE = re.compile(r'\s*"(?:[^"\\]|\\.)*"(?:\s*,\s*"(?:[^"\\]|\\.)*")*\s*', re.DOTALL)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _encode_scalar(value: object) -> str | None:
    if isinstance(value, bool):
        return _quote(str(value))  # booleans are filtered as "True"/"False" strings
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if not math.isfinite(number):
            raise ValidationError(f"{value!r} is not a finite number")
        return repr(number)
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return str(math.floor(aware.timestamp()))
    if isinstance(value, date):
        midnight = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
        return str(int(midnight.timestamp()))
    return None


def _encode_item(value: object) -> str:
    if isinstance(value, str):
        return _quote(value)
    scalar = _encode_scalar(value)
    if scalar is None:
        raise ValidationError(f"{value!r}: filter values are strings, numbers or dates")
    return scalar


def _encode_value(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if _ENCODED_RE.fullmatch(value) else _quote(value)
    if isinstance(value, (bytes, bytearray, Mapping)):
        raise ValidationError(f"{value!r}: filter values are strings, numbers or lists of them")
    scalar = _encode_scalar(value)
    if scalar is not None:
        return scalar
    if isinstance(value, Iterable):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
        if not items:
            return None
        return ",".join(_encode_item(v) for v in items)
    raise ValidationError(f"{value!r}: filter values are strings, numbers or lists of them")


def encode_filter_values(values: Mapping[str, FilterValue]) -> dict[str, str]:
    """Encode placeholder values the way Personalize's ``filterValues`` wants them.

    * a list (tuple, set, array) of strings becomes ``"\\"comedy\\",\\"drama\\""``;
    * a string becomes one quoted value, unless it is already encoded
      (``'"comedy","drama"'`` passes through unchanged);
    * numbers go bare (``20``, ``4.5``), booleans as ``"True"``/``"False"``, dates
      and datetimes as epoch seconds (naive ones read as UTC);
    * ``None`` or an empty list leaves the key out (for an EXCLUDE placeholder,
      Personalize then ignores that part of the filter);
    * a ``"`` or ``\\`` inside a value is escaped with a backslash.

    Raises:
        ValidationError: listing every key that breaks the limits (name
            ``[A-Za-z0-9_]+`` of at most 50 characters, at most 25 keys, each value
            at most 1000 characters encoded) or has a value of an unsupported type.
    """
    problems: list[Problem] = []
    out: dict[str, str] = {}
    for key, value in values.items():
        name = str(key)
        if not _PARAM_RE.fullmatch(name) or len(name) > MAX_PARAMETER_NAME:
            problems.append(
                Problem(
                    "error",
                    "filter-values-key",
                    f"{name!r} is not a valid filterValues key "
                    f"([A-Za-z0-9_]+, at most {MAX_PARAMETER_NAME} characters)",
                    column=name,
                    fix="use the placeholder's name without the $",
                )
            )
            continue
        try:
            encoded = _encode_value(value)
        except ValidationError as exc:
            problems.append(Problem("error", "filter-values-type", str(exc), column=name))
            continue
        if encoded is None:
            continue
        if len(encoded) > MAX_FILTER_VALUE_CHARS:
            problems.append(
                Problem(
                    "error",
                    "filter-values-too-long",
                    f"the encoded value of {name} is {len(encoded)} characters; "
                    f"the limit is {MAX_FILTER_VALUE_CHARS}",
                    column=name,
                    count=len(encoded),
                    fix="filter on a coarser field, or fix the list in the filter expression",
                )
            )
            continue
        out[name] = encoded
    if len(out) > MAX_FILTER_VALUES:
        problems.append(
            Problem(
                "error",
                "filter-values-too-many",
                f"{len(out)} filter values; a request takes at most {MAX_FILTER_VALUES}",
                count=len(out),
            )
        )
    if problems:
        DataReport(problems, subject="filter values").raise_for_problems()
    return out


def _decode_value(name: str, text: str) -> list[str]:
    out: list[str] = []
    pos, n = 0, len(text)
    while True:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            if out:
                raise ValidationError(f"filterValues[{name!r}]: a value is missing after ','")
            return out
        if text[pos] == '"':
            m = _QUOTED_RE.match(text, pos)
            if m is None:
                raise ValidationError(
                    f"filterValues[{name!r}]: unterminated quoted value at position {pos}: {text!r}"
                )
            out.append(_unquote(m.group()))
            pos = m.end()
            while pos < n and text[pos].isspace():
                pos += 1
        else:
            end = text.find(",", pos)
            end = n if end < 0 else end
            token = text[pos:end].strip()
            if '"' in token:
                raise ValidationError(f"filterValues[{name!r}]: stray quote in {text!r}")
            out.append(token)
            pos = end
        if pos >= n:
            return out
        if text[pos] != ",":
            raise ValidationError(
                f"filterValues[{name!r}]: expected ',' at position {pos} of {text!r}"
            )
        pos += 1


def decode_filter_values(encoded: Mapping[str, str]) -> dict[str, list[str]]:
    """The inverse of :func:`encode_filter_values`: ``{"G": '"a","b"'}`` -> ``{"G": ["a", "b"]}``.

    Quoted values are unescaped; bare values (numbers) are kept as their text.
    """
    return {str(k): _decode_value(str(k), str(v)) for k, v in encoded.items()}
