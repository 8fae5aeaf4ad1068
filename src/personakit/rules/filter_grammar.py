"""The grammar of Personalize filter expressions: its syntax tree and its parser.

Part of :mod:`personakit.rules` (pure, no I/O). The grammar is assembled from the
elements the Developer Guide documents
(https://docs.aws.amazon.com/personalize/latest/dg/filter-expressions.html)::

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

:func:`parse_expressions` gives an immutable syntax tree (:class:`Expression`,
:class:`Condition`); ``str()`` of each prints canonical text that parses back to it.
The :class:`~personakit.rules.filters.Filter` builder sits on top.
"""

from __future__ import annotations

import math
import numbers
import re
import sys
from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache
from typing import Literal, NoReturn, cast

import attrs

from personakit.errors import ValidationError
from personakit.rules.report import Problem
from personakit.rules.schema import DatasetType

__all__ = [
    "COMPARISONS",
    "DATASET_TYPES",
    "INTERACTION_DATASETS",
    "IN_OPS",
    "PARAM_RE",
    "TARGET_DATASETS",
    "Action",
    "Condition",
    "Connector",
    "Expression",
    "FilterSyntaxError",
    "Operator",
    "Parser",
    "Target",
    "Value",
    "canon_op",
    "is_number",
    "number_text",
    "parse_expressions",
    "show_value",
    "unquote",
]

Action = Literal["INCLUDE", "EXCLUDE"]
Target = Literal["ItemID", "UserID", "ActionID"]
Operator = Literal["IN", "NOT IN", "=", "!=", "<", "<=", ">", ">="]
Connector = Literal["AND", "OR"]
#: A literal value in a condition: a double-quoted string or a number.
Value = str | int | float


COMPARISONS: frozenset[str] = frozenset({"=", "!=", "<", "<=", ">", ">="})
IN_OPS: frozenset[str] = frozenset({"IN", "NOT IN"})
_OPERATORS: frozenset[str] = COMPARISONS | IN_OPS

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
DATASET_TYPES: dict[str, DatasetType] = {
    "Items": DatasetType.ITEMS,
    "Interactions": DatasetType.INTERACTIONS,
    "Users": DatasetType.USERS,
    "Actions": DatasetType.ACTIONS,
    "Action_Interactions": DatasetType.ACTION_INTERACTIONS,
}
INTERACTION_DATASETS = frozenset({"Interactions", "Action_Interactions"})
_TARGETS: dict[str, Target] = {"itemid": "ItemID", "userid": "UserID", "actionid": "ActionID"}
#: Datasets documented for each target
#: (https://docs.aws.amazon.com/personalize/latest/dg/filter-expressions.html).
TARGET_DATASETS: dict[str, frozenset[str]] = {
    "ItemID": frozenset({"Items", "Interactions"}),
    "ActionID": frozenset({"Actions", "Action_Interactions"}),
    "UserID": frozenset({"Users", "Interactions"}),
}

_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PARAM_RE = re.compile(r"[A-Za-z0-9_]+")


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
        # every whitespace character shown as one space, so the caret stays aligned
        snippet = "".join(" " if c.isspace() else c for c in text[start : position + 50])
        caret = " " * (position - start) + "^"
        found_text = "the end of the expression" if not found else show_value(found)
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


def canon_op(value: str) -> Operator:
    """An operator in its canonical spelling (``"not  in"`` -> ``"NOT IN"``)."""
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


def is_number(value: object) -> bool:
    """An int or float, not a bool."""
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
    op: Operator = attrs.field(converter=canon_op)
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
        if self.param is not None and not PARAM_RE.fullmatch(self.param):
            raise ValidationError(
                f"placeholder ${self.param} must be letters, digits or _ ([A-Za-z0-9_]+)"
            )
        if self.current_item is not None and not _IDENT_RE.fullmatch(self.current_item):
            raise ValidationError(f"CurrentItem.{self.current_item} is not a field name")
        for v in self.values:
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                raise ValidationError(
                    f"{where}: values must be strings or numbers, got {show_value(v)}"
                )
            if not isinstance(v, str):
                try:
                    number_text(v)
                except ValidationError as exc:
                    raise ValidationError(f"{where}: {exc}") from None
        if (
            self.op in COMPARISONS
            and self.values
            and (len(self.values) != 1 or not is_number(self.values[0]))
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
        parser = Parser(text)
        condition = parser.condition()
        parser.expect_end("the end of the condition")
        return condition

    def __str__(self) -> str:
        lhs = self.qualified
        if self.op in IN_OPS:
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
    out = tuple(values)
    for c in out:
        if not isinstance(c, Condition):
            raise TypeError(f"conditions are Condition objects, not {type(c).__name__}")
    return out


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


def unquote(literal: str) -> str:
    """A double-quoted literal's text: ``\\"`` and ``\\\\`` unescaped."""
    return re.sub(
        r"\\(.)",
        lambda m: m.group(1) if m.group(1) in '"\\' else m.group(),
        literal[1:-1],
        flags=re.DOTALL,
    )


def _number(text: str) -> int | float | None:
    """A number token's value; None when it is not finite as a double (``1e999``).

    ``float()`` reads any length of digits; ``int()`` is only called on integer text
    of at most 309 digits (what a finite double holds), never on unbounded text
    (Python refuses more than 4300 digits with a ValueError).
    """
    number = float(text)
    if not math.isfinite(number):
        return None
    if any(ch in text for ch in ".eE"):
        return number
    digits = text.lstrip("-").lstrip("0") or "0"
    value = int(digits)
    return -value if text.startswith("-") else value


def _format_value(value: Value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return number_text(value)


def _out_of_range(value: object) -> ValidationError:
    return ValidationError(
        f"{show_value(value)} is not a finite number (filters compare numbers as doubles: "
        f"at most {sys.float_info.max:.6g} in magnitude)"
    )


def number_text(value: object) -> str:
    """A number's text in a filter (``20``, ``4.5``).

    Raises:
        TypeError: ``value`` is not a number (a bool, a string, a list ...).
        ValidationError: it is not finite, or beyond a double's range (``1e999``,
            ``inf``, ``nan``, ``Decimal("sNaN")``, ``10**400``).
    """
    if isinstance(value, bool):
        raise TypeError(f"{show_value(value)} is a bool, not a number")
    if isinstance(value, Decimal):
        if not value.is_finite() or value.adjusted() > sys.float_info.max_10_exp:
            raise _out_of_range(value)
        if value == value.to_integral_value():
            return str(int(value))  # at most 309 digits
        number = float(value)
    elif isinstance(value, numbers.Integral):
        integer = int(value)
        try:
            float(integer)
        except OverflowError:
            raise _out_of_range(value) from None
        return str(integer)  # at most 309 digits
    elif isinstance(value, numbers.Real):
        try:
            number = float(value)
        except OverflowError:
            raise _out_of_range(value) from None
    else:
        raise TypeError(f"{show_value(value)} is a {type(value).__name__}, not a number")
    if not math.isfinite(number):
        raise _out_of_range(value)
    return repr(number)


def show_value(value: object, limit: int = 60) -> str:
    """A short ``repr`` of ``value`` for a message; safe for ints of any size."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 1024:
        return f"<an integer of about {int(value.bit_length() * math.log10(2)) + 1:,} digits>"
    try:
        text = repr(value)
    except Exception:  # a repr that fails must not hide the real error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


_CMP_TEXT = "=, !=, <, <=, > or >="


class Parser:
    """A recursive-descent parser of the grammar in the module docstring."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        """The current token."""
        return self.tokens[self.i]

    def advance(self) -> _Tok:
        """The current token; moves past it (never past the end)."""
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
        """Raise :class:`FilterSyntaxError` at ``tok`` (the current token by default)."""
        at = tok or self.tok
        raise FilterSyntaxError(self.text, at.pos, expected, at.text, rule=rule, fix=fix)

    def word(self, expected: str, *words: str) -> str:
        """One of ``words`` (a keyword, any case), upper-cased."""
        if not self.tok.is_word(*words):
            self.fail(expected)
        return self.advance().text.upper()

    def punct(self, char: str, expected: str) -> None:
        """The punctuation ``char``."""
        if not self.tok.is_punct(char):
            self.fail(expected)
        self.advance()

    def number(self, tok: _Tok) -> int | float:
        """The value of the number token ``tok``; a syntax error if it is not finite."""
        value = _number(tok.text)
        if value is None:
            self.fail(
                "a finite number",
                tok,
                fix=f"filters compare numbers as doubles (at most {sys.float_info.max:.6g})",
            )
        return value

    def expect_end(self, expected: str) -> None:
        """Nothing left to read."""
        if self.tok.kind != "end":
            self.fail(expected)

    # ------------------------------------------------------------------ grammar
    def filter(self) -> tuple[Expression, ...]:
        """``filter := expression ('|' expression)*``, to the end."""
        if self.tok.kind == "end":
            self.fail("INCLUDE or EXCLUDE")
        expressions = [self.expression()]
        while self.tok.is_punct("|"):
            self.advance()
            expressions.append(self.expression())
        self.expect_end("AND, OR, IF, '|' or the end of the filter")
        return tuple(expressions)

    def expression(self) -> Expression:
        """``INCLUDE|EXCLUDE <target> WHERE <clause>``."""
        action = self.word("INCLUDE or EXCLUDE", "INCLUDE", "EXCLUDE")
        tok = self.tok
        if tok.kind != "word" or tok.text.lower() not in _TARGETS:
            self.fail("ItemID, UserID or ActionID")
        self.advance()
        self.word("WHERE", "WHERE")
        conditions, connectors, if_conditions = self.clause()
        return Expression(action, tok.text, conditions, connectors, if_conditions)

    def clause(self) -> tuple[list[Condition], list[str], list[Condition]]:
        """The conditions, their AND/OR connectors, and the IF conditions."""
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
        """``Dataset.FIELD``: the dataset in its canonical spelling, the field, the first token."""
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
        """``Dataset.FIELD <op> <operand>``."""
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
        if op in IN_OPS:
            values, param, current_item = self.in_operand(lhs, op)
        else:
            values, param, current_item = self.cmp_operand(lhs, op)
        try:
            return Condition(dataset, field, op, values, param=param, current_item=current_item)
        except ValidationError as exc:
            self.fail(str(exc), start)

    def current_item(self, expected: str) -> str:
        """``CurrentItem.FIELD``: the field."""
        dataset, field, tok = self.dotted(expected)
        if dataset != "CurrentItem":
            self.fail(expected, tok)
        return field

    def in_operand(self, lhs: str, op: str) -> tuple[list[Value], str | None, str | None]:
        """The operand of IN / NOT IN: (values, parameter, CurrentItem field)."""
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
                values.append(unquote(tok.text))
            elif tok.kind == "number":
                values.append(self.number(tok))
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
        """The operand of a comparison: (values, parameter, CurrentItem field)."""
        expected = f"a number, $PARAMETER or CurrentItem.<field> after {lhs} {op}"
        paren = self.tok.is_punct("(")
        if paren:
            self.advance()
        tok = self.tok
        out: tuple[list[Value], str | None, str | None]
        if tok.kind == "number":
            self.advance()
            out = [self.number(tok)], None, None
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
def parse_expressions(text: str) -> tuple[Expression, ...]:
    """The expressions of a filter text (parsed once per distinct text)."""
    return Parser(text).filter()
