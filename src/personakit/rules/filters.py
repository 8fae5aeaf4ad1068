"""Personalize filters: a typed builder, a validator, and the ``filterValues`` of a request.

Part of :mod:`personakit.rules` (pure, no I/O). The rules come from the Developer Guide
(https://docs.aws.amazon.com/personalize/latest/dg/filter-expressions.html,
https://docs.aws.amazon.com/personalize/latest/dg/filter-real-time.html) and the
``CreateFilter`` API
(https://docs.aws.amazon.com/personalize/latest/dg/API_CreateFilter.html);
``docs/filters.md`` has the rules table with sources.

The grammar and its parser are in :mod:`personakit.rules.filter_grammar` (the
syntax tree, :class:`Expression` and :class:`Condition`, is exported here too), the
``filterValues`` encoding in :mod:`personakit.rules.filter_values`. ``Filter.parse(text)``
gives a :class:`Filter`; ``str(filter)`` prints canonical text such that
``Filter.parse(str(f)) == f``.
"""

from __future__ import annotations

import difflib
import html
import numbers
from collections.abc import Iterable, Mapping, Sized
from datetime import date
from decimal import Decimal
from typing import Any, Literal, cast

import attrs

from personakit.errors import ValidationError
from personakit.rules.facts import (
    FILTER_GUIDELINES,
    MAX_DISTINCT_FIELDS,
    MAX_EXPRESSION_CHARS,
    MAX_FILTER_VALUE_CHARS,
    MAX_FILTER_VALUES,
    MAX_GROUP_FILTER_FIELDS,
    MAX_PARAMETER_NAME,
)
from personakit.rules.filter_grammar import (
    COMPARISONS,
    DATASET_TYPES,
    IN_OPS,
    INTERACTION_DATASETS,
    TARGET_DATASETS,
    Action,
    Condition,
    Expression,
    FilterSyntaxError,
    Parser,
    Target,
    canon_op,
    number_text,
    parse_expressions,
    show_value,
)
from personakit.rules.filter_values import (
    FilterValue,
    decode_filter_values,
    encode_filter_values,
)
from personakit.rules.report import DataReport, Problem
from personakit.rules.schema import DatasetType, Field, Schema

__all__ = [
    "COMPARISONS",
    "MAX_DISTINCT_FIELDS",
    "MAX_EXPRESSION_CHARS",
    "MAX_FILTER_VALUES",
    "MAX_FILTER_VALUE_CHARS",
    "MAX_GROUP_FILTER_FIELDS",
    "MAX_PARAMETER_NAME",
    "Condition",
    "Expression",
    "Filter",
    "FilterSyntaxError",
    "decode_filter_values",
    "encode_filter_values",
    "group_field_problems",
]

#: What the builders take as a WHERE clause.
Where = str | Condition | Iterable[Condition]


def _to_expressions(value: object) -> tuple[Expression, ...]:
    if isinstance(value, str):
        return parse_expressions(value)
    if isinstance(value, Filter):
        return value.expressions
    if isinstance(value, Expression):
        return (value,)
    if isinstance(value, Iterable):
        out = tuple(value)
        if not all(isinstance(e, Expression) for e in out):
            raise TypeError("a Filter is built from Expression objects or a string")
        return cast(tuple[Expression, ...], out)
    raise TypeError(f"cannot build a Filter from a {type(value).__name__}")


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
    :meth:`validate` applies every documented rule of filter expressions
    (https://docs.aws.amazon.com/personalize/latest/dg/filter-expressions.html);
    :meth:`bind` checks and encodes the ``filterValues`` of a request.
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
        if not isinstance(text, str):
            raise TypeError(f"a filter is parsed from a str, not a {type(text).__name__}")
        return cls(parse_expressions(text))

    @property
    def expression(self) -> str:
        """The canonical filter text, as ``CreateFilter(filterExpression=...)`` takes it."""
        return " | ".join(str(e) for e in self.expressions)

    def __str__(self) -> str:
        return self.expression

    def __repr__(self) -> str:
        return f"Filter({self.expression!r})"

    def _repr_html_(self) -> str:

        return f"<code>{html.escape(self.expression)}</code>"

    # ------------------------------------------------------------------ builders
    @classmethod
    def _build(cls, action: Action, target: Target, where: Where) -> Filter:
        if isinstance(where, str):
            parser = Parser(where)
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
        operator = canon_op(op)
        if isinstance(value, str) and value.startswith("$"):
            cond = Condition("CurrentUser", field, operator, param=value[1:])
        elif operator in IN_OPS:
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
        """Apply the element rules and limits of filter expressions; return every problem.

        The rules: https://docs.aws.amazon.com/personalize/latest/dg/filter-expressions.html;
        the limits: https://docs.aws.amazon.com/personalize/latest/dg/limits.html and
        https://docs.aws.amazon.com/personalize/latest/dg/API_CreateFilter.html.

        With ``schemas`` (``{"Items": items_schema, ...}`` or a list of schemas)
        every field is also checked against its dataset's schema: it must exist
        and must not be textual or boolean, and ``< <= > >=`` need a numeric field.
        """
        return DataReport(_validate(self, _schema_map(schemas)), subject="filter")

    def numeric_parameters(
        self, schemas: Mapping[str | DatasetType, Schema] | Iterable[Schema] | None = None
    ) -> frozenset[str]:
        """Placeholders that take one finite number: those compared with ``< <= > >=``
        and, given schemas, those compared with ``=`` / ``!=`` against a numeric field."""
        kinds = _parameter_kinds(self, _schema_map(schemas))
        return frozenset(name for name, (kind, _) in kinds.items() if kind == "number")

    def bind(self, values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> dict[str, str]:
        """Check and encode a request's filter values (``filterValues``).

        ``f.bind(genres=["Horror"])`` is ``f.encode({"genres": ["Horror"]})``; names that
        are not Python identifiers go in the positional mapping. See :meth:`encode`.
        """
        return self.encode({**(values or {}), **kwargs})

    def encode(
        self,
        values: Mapping[str, Any] | None = None,
        *,
        schemas: Mapping[str | DatasetType, Schema] | Iterable[Schema] | None = None,
    ) -> dict[str, str]:
        """Check and encode a request's filter values (``filterValues``).

        Every value is escaped here, never passed through: for an ``IN`` placeholder a
        ``str`` is exactly one value and a list (tuple, set, array) is several; numbers
        and booleans become their text (``1999`` -> ``"1999"``). A string holding
        ``"``, ``,`` or ``\\`` is refused: Personalize documents no escape for them
        (https://docs.aws.amazon.com/personalize/latest/dg/filter-real-time.html).

        A placeholder compared with ``< <= > >=`` (or, given ``schemas``, with ``=`` /
        ``!=`` against a numeric field) takes one finite number: an int, float or
        ``Decimal`` (or a date/datetime, sent as epoch seconds). With ``=`` / ``!=``
        and no numeric field known, one number or one string.

        Every placeholder of an INCLUDE expression needs a value; a placeholder only
        EXCLUDE expressions use may be left out (or given ``None`` / ``[]``), and
        Personalize then ignores that part of the filter (``filterValues`` of
        https://docs.aws.amazon.com/personalize/latest/dg/API_RS_GetRecommendations.html).
        Names are case-sensitive; an unknown name is an error.

        Raises:
            TypeError: a value of the wrong Python type for its placeholder (a ``str``,
                bool or list for a numeric placeholder; a list where one value is
                compared; bytes, a mapping or another object anywhere).
            ValidationError: a required value is missing, a name is unknown, a number
                is not finite (``inf``, ``nan``, ``1e999``), a string cannot be sent
                as one value, or a value breaks the ``filterValues`` limits (see
                :func:`encode_filter_values`); all such problems at once.
        """
        merged: dict[str, Any] = {
            k if isinstance(k, str) else show_value(k): v for k, v in (values or {}).items()
        }
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
                        f"${show_value(key)[1:-1]} is not a placeholder of this filter "
                        f"(it has: {', '.join('$' + n for n in names) or 'none'}){hint}",
                        column=key[:MAX_PARAMETER_NAME],
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
        kinds = _parameter_kinds(self, _schema_map(schemas))
        prepared: dict[str, FilterValue] = {}
        for key, value in merged.items():
            if not _is_empty(value):
                kind, op = kinds[key]
                prepared[key] = _prepare(key, kind, op, value)
        return encode_filter_values(prepared)


def _is_empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, (str, bytes, bytearray, Mapping)):
        return False
    if isinstance(value, Sized):
        return len(value) == 0
    return False


_NUMERIC_TYPES = frozenset({"int", "long", "float", "double"})
_ORDERING = frozenset({"<", "<=", ">", ">="})
_KIND_RANK = {"in": 0, "scalar": 1, "number": 2}


def _dataset_type(c: Condition) -> DatasetType | None:
    """The dataset a condition reads (``CurrentUser``: users, ``CurrentItem``: items)."""
    if c.dataset == "CurrentUser":
        return DatasetType.USERS
    if c.dataset == "CurrentItem":
        return DatasetType.ITEMS
    return DATASET_TYPES.get(c.dataset)


def _numeric_field(c: Condition, schemas: dict[DatasetType, Schema] | None) -> bool:
    if schemas is None:
        return False
    dtype = _dataset_type(c)
    schema = schemas.get(dtype) if dtype is not None else None
    field = _find_field(schema, c.field) if schema is not None else None
    return field is not None and field.type in _NUMERIC_TYPES


def _parameter_kinds(
    flt: Filter, schemas: dict[DatasetType, Schema] | None = None
) -> dict[str, tuple[str, str]]:
    """Each placeholder's kind and the operator that made it so.

    ``number`` (ordered comparisons, or = / != on a numeric field) wins over
    ``scalar`` (= / !=) which wins over ``in``.
    """
    kinds: dict[str, tuple[str, str]] = {}
    for e in flt.expressions:
        for c in (*e.conditions, *e.if_conditions):
            if c.param is None:
                continue
            if c.op in _ORDERING or (c.op in ("=", "!=") and _numeric_field(c, schemas)):
                kind = "number"
            elif c.op in ("=", "!="):
                kind = "scalar"
            else:
                kind = "in"
            old = kinds.get(c.param)
            if old is None or _KIND_RANK[kind] > _KIND_RANK[old[0]]:
                kinds[c.param] = (kind, f"{c.qualified} {c.op}")
    return kinds


def _is_real(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, (numbers.Real, Decimal))


def _wrong_type(name: str, where: str, wanted: str, value: object) -> TypeError:
    return TypeError(
        f"${name} ({where} ${name}) takes {wanted}, not {type(value).__name__} {show_value(value)}"
    )


def _prepare(name: str, kind: str, where: str, value: Any) -> FilterValue:
    """A placeholder's value checked for its kind (TypeError for a wrong Python type)."""
    if kind == "number":
        if _is_real(value) or isinstance(value, date):
            return cast(FilterValue, value)
        raise _wrong_type(
            name,
            where,
            "one finite number (int, float or Decimal; a date is sent as epoch seconds)",
            value,
        )
    if kind == "scalar":
        if isinstance(value, str) or _is_real(value) or isinstance(value, date):
            return cast(FilterValue, value)
        raise _wrong_type(name, where, "one number or one string", value)
    if isinstance(value, str):
        return value
    if _is_real(value):
        return _number_as_text(name, value)
    if isinstance(value, (bool, date)):
        return cast(FilterValue, value)
    if isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray, Mapping)):
        items = list(value)
        for item in items:
            if not isinstance(item, (str, bool, date)) and not _is_real(item):
                raise _wrong_type(name, where, "strings (or numbers, booleans) in its list", item)
        if isinstance(value, (set, frozenset)):
            items = sorted(items, key=str)
        return [_number_as_text(name, v) if _is_real(v) else v for v in items]
    raise _wrong_type(name, where, "a string or a list of strings", value)


def _number_as_text(name: str, value: object) -> str:
    """A number matched as a string by IN: its text (``1999`` -> ``"1999"``)."""
    try:
        return number_text(value)
    except ValidationError as exc:
        raise ValidationError(f"${name}: {exc}") from None


def group_field_problems(flt: Filter, others: Iterable[Filter | str] = ()) -> list[Problem]:
    """The problem when ``flt`` and the other filters of its dataset group together
    read more than 20 distinct dataset fields (``[]`` when they do not).

    ``others`` are the group's other filters (objects or expressions; one that does
    not parse is skipped). The limit: the guidelines page
    (https://docs.aws.amazon.com/personalize/latest/dg/filter-expression-guidelines-requirements.html).
    """
    fields = set(flt.fields)
    for other in others:
        try:
            fields |= Filter.parse(other).fields
        except ValidationError:
            continue
    if len(fields) <= MAX_GROUP_FILTER_FIELDS:
        return []
    names = ", ".join(sorted(f"{t.value}.{f}" for t, f in fields))
    return [
        Problem(
            "error",
            "filter-group-too-many-fields",
            f"With this filter, the dataset group's filters read {len(fields)} distinct "
            f"dataset fields ({names}); the limit is {MAX_GROUP_FILTER_FIELDS} across all "
            f"filters of a dataset group ({FILTER_GUIDELINES})",
            count=len(fields),
            fix="reuse fields the other filters already read, or delete a filter",
        )
    ]


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
            refs.append((c, _dataset_type(c), c.field, "lhs"))
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
            f"{MAX_EXPRESSION_CHARS} "
            "(https://docs.aws.amazon.com/personalize/latest/dg/API_CreateFilter.html)",
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
        real = [c.dataset for c in e.conditions if c.dataset in DATASET_TYPES]
        for c in e.conditions:
            if c.dataset == "CurrentUser":
                add(
                    "error",
                    "filter-if-current-user",
                    f"{where}: {c.qualified} can only be used in the IF clause at the end",
                    column=c.qualified,
                    fix=f"write ... IF {c}",
                )
            elif c.dataset not in DATASET_TYPES:
                _unknown_dataset(add, where, c)
        if len(set(real)) > 1:
            mixed = sorted(set(real))
            interactions_items = bool(INTERACTION_DATASETS & set(mixed)) and bool(
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
            if ds not in TARGET_DATASETS[e.target]:
                allowed = " or ".join(sorted(TARGET_DATASETS[e.target]))
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
                c.dataset in INTERACTION_DATASETS
                and c.field.upper() == "EVENT_TYPE"
                and c.op in IN_OPS
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
            if c.dataset in INTERACTION_DATASETS and c.field.upper() != "EVENT_TYPE":
                add(
                    "error",
                    "filter-interactions-event-type",
                    f"{where}: interactions filters can only use EVENT_TYPE, not {c.qualified}",
                    column=c.qualified,
                )
            if c.op in IN_OPS and any(not isinstance(v, str) for v in c.values):
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
            f"the limit is {MAX_DISTINCT_FIELDS} per filter, chained expressions "
            f"together ({FILTER_GUIDELINES})",
            count=len(fields),
        )
    if len(flt.parameters) > MAX_FILTER_VALUES:
        add(
            "error",
            "filter-too-many-parameters",
            f"the filter has {len(flt.parameters)} placeholders; a request takes at most "
            f"{MAX_FILTER_VALUES} filterValues (https://docs.aws.amazon.com/personalize/"
            "latest/dg/API_RS_GetRecommendations.html)",
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
    close = difflib.get_close_matches(c.dataset, list(DATASET_TYPES), n=1)
    add(
        "error",
        "filter-dataset-unknown",
        f"{where}: {c.dataset!r} is not a dataset (expected {', '.join(DATASET_TYPES)})",
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
