"""The ``filterValues`` of a request: encoded the way Personalize reads them, and back.

Part of :mod:`personakit.rules` (pure, no I/O). Each value is a string of double-quoted,
comma-separated literals, e.g. ``{"GENRES": "\\"comedy\\",\\"drama\\""}``; numbers go
bare (``"20"``) (https://docs.aws.amazon.com/personalize/latest/dg/filter-real-time.html).

**Every value is encoded here, never passed through.** A Python ``str`` is always one
value and a list is several; a string that merely *looks* encoded
(``'"alice","bob"'``) is not trusted to be. Neither the API reference (``filterValues``
of https://docs.aws.amazon.com/personalize/latest/dg/API_RS_GetRecommendations.html:
"Separate multiple values for one parameter with a comma") nor the Developer Guide
(https://docs.aws.amazon.com/personalize/latest/dg/filter-real-time.html,
https://docs.aws.amazon.com/personalize/latest/dg/filter-expression-guidelines-requirements.html)
says how a ``"``, a ``\\`` or a ``,`` *inside* a value is written, so no escaping of
them can be relied on: a value holding one of them is refused
(:class:`~personakit.errors.ValidationError` naming the placeholder and the value)
rather than risk the service reading it as several values. What is sent is therefore
unambiguous under any reading of the format: the only quotes and commas in it are the
ones personakit put there. :func:`decode_filter_values` reads exactly this encoding back
(the local engine decodes requests with it).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone
from decimal import Decimal

from personakit.errors import ValidationError
from personakit.rules.facts import MAX_FILTER_VALUE_CHARS, MAX_FILTER_VALUES, MAX_PARAMETER_NAME
from personakit.rules.filter_grammar import PARAM_RE, number_text, show_value
from personakit.rules.report import DataReport, Problem

__all__ = [
    "FORBIDDEN_CHARS",
    "MAX_FILTER_VALUES",
    "MAX_FILTER_VALUE_CHARS",
    "MAX_PARAMETER_NAME",
    "FilterValue",
    "Scalar",
    "check_text",
    "decode_filter_values",
    "encode_filter_values",
    "quote_value",
]

Scalar = str | int | float | bool | date | Decimal
#: What ``encode_filter_values`` accepts for one placeholder.
FilterValue = Scalar | Iterable[Scalar] | None

#: Characters a string value may not hold: the format has no documented escape for them.
FORBIDDEN_CHARS = '",\\'
_REAL_TIME = "https://docs.aws.amazon.com/personalize/latest/dg/filter-real-time.html"
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
_QUOTED_RE = re.compile(r'"[^"]*"')


class _UnsafeText(ValidationError):
    """A string that cannot be sent as exactly one value."""


class _BadNumber(ValidationError):
    """A number that is not finite as a double."""


def check_text(name: str, text: str) -> str | None:
    """Why ``text`` cannot be one value of placeholder ``name``, or None when it can."""
    bad = next((ch for ch in FORBIDDEN_CHARS if ch in text), None)
    if bad is not None:
        return (
            f"${name}: the value {show_value(text)} holds {bad!r}, which a filter value "
            "cannot carry: Personalize documents no way to escape it inside a value "
            f"({_REAL_TIME}), so it could be read as more than one value"
        )
    if _SURROGATE_RE.search(text):
        return f"${name}: the value {show_value(text)} is not valid Unicode (a lone surrogate)"
    return None


def quote_value(name: str, text: str) -> str:
    """``text`` as one double-quoted value; raises ValidationError if it cannot be one."""
    problem = check_text(name, text)
    if problem is not None:
        raise _UnsafeText(problem)
    return '"' + text + '"'


def _encode_scalar(name: str, value: object) -> str | None:
    if isinstance(value, bool):
        return quote_value(name, str(value))  # booleans are filtered as "True"/"False"
    if isinstance(value, (numbers.Number, Decimal)):
        try:
            return number_text(value)
        except TypeError:
            return None  # complex numbers and the like
        except ValidationError as exc:
            raise _BadNumber(f"${name}: {exc}") from None
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return str(math.floor(aware.timestamp()))
    if isinstance(value, date):
        midnight = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
        return str(int(midnight.timestamp()))
    return None


def _encode_item(name: str, value: object) -> str:
    if isinstance(value, str):
        return quote_value(name, value)
    scalar = _encode_scalar(name, value)
    if scalar is None:
        raise ValidationError(
            f"${name}: {show_value(value)} is not a string, number, boolean or date"
        )
    return scalar


def _encode_value(name: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return quote_value(name, value)
    if isinstance(value, (bytes, bytearray, Mapping)):
        raise ValidationError(
            f"${name}: {show_value(value)} is not a string, number or list of them"
        )
    scalar = _encode_scalar(name, value)
    if scalar is not None:
        return scalar
    if isinstance(value, Iterable):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
        if not items:
            return None
        return ",".join(_encode_item(name, v) for v in items)
    raise ValidationError(f"${name}: {show_value(value)} is not a string, number or list of them")


def encode_filter_values(values: Mapping[str, FilterValue]) -> dict[str, str]:
    """Encode placeholder values the way Personalize's ``filterValues`` wants them.

    * a ``str`` is **one** value, always quoted: ``"comedy"`` -> ``'"comedy"'``;
      nothing is passed through as "already encoded";
    * a list (tuple, set, array) is several: ``["comedy", "drama"]`` ->
      ``'"comedy","drama"'`` (sets are sorted);
    * numbers go bare (``20``, ``4.5``; finite only, within a double's range),
      booleans as ``"True"``/``"False"``, dates and datetimes as epoch seconds
      (naive ones read as UTC);
    * ``None`` or an empty list leaves the key out (for an EXCLUDE placeholder,
      Personalize then ignores that part of the filter).

    Raises:
        ValidationError: listing every key that breaks the limits (name
            ``[A-Za-z0-9_]+`` of at most 50 characters, at most 25 keys, each value
            at most 1000 characters encoded), has a value of an unsupported type or
            a non-finite number, or a string holding ``"``, ``,`` or ``\\`` (which the
            format has no documented escape for).
    """
    problems: list[Problem] = []
    out: dict[str, str] = {}
    for key, value in values.items():
        name = key if isinstance(key, str) else show_value(key)
        if not PARAM_RE.fullmatch(name) or len(name) > MAX_PARAMETER_NAME:
            problems.append(
                Problem(
                    "error",
                    "filter-values-key",
                    f"{show_value(name)} is not a valid filterValues key "
                    f"([A-Za-z0-9_]+, at most {MAX_PARAMETER_NAME} characters)",
                    column=name[:MAX_PARAMETER_NAME],
                    fix="use the placeholder's name without the $",
                )
            )
            continue
        try:
            encoded = _encode_value(name, value)
        except _UnsafeText as exc:
            problems.append(
                Problem(
                    "error",
                    "filter-values-character",
                    str(exc),
                    column=name,
                    fix="pass several values as a list; a value holding a quote, comma or "
                    "backslash can only be matched with a literal in the filter expression",
                )
            )
            continue
        except _BadNumber as exc:
            problems.append(Problem("error", "filter-values-number", str(exc), column=name))
            continue
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
                    f"filterValues[{name!r}]: unterminated quoted value at position {pos}: "
                    f"{show_value(text)}"
                )
            value = m.group()[1:-1]
            if "\\" in value or "," in value:
                raise ValidationError(
                    f"filterValues[{name!r}]: a backslash or comma inside a quoted value "
                    f"({show_value(text)}); Personalize documents no escapes in filter "
                    f"values ({_REAL_TIME}), and personakit never sends one"
                )
            out.append(value)
            pos = m.end()
            while pos < n and text[pos].isspace():
                pos += 1
        else:
            end = text.find(",", pos)
            end = n if end < 0 else end
            token = text[pos:end].strip()
            if '"' in token or "\\" in token:
                raise ValidationError(
                    f"filterValues[{name!r}]: stray quote or backslash in {show_value(text)}"
                )
            out.append(token)
            pos = end
        if pos >= n:
            return out
        if text[pos] != ",":
            raise ValidationError(
                f"filterValues[{name!r}]: expected ',' at position {pos} of {show_value(text)}"
            )
        pos += 1


def decode_filter_values(encoded: Mapping[str, str]) -> dict[str, list[str]]:
    """The inverse of :func:`encode_filter_values`: ``{"G": '"a","b"'}`` -> ``{"G": ["a", "b"]}``.

    Exactly the encoding personakit sends: values in double quotes (which hold no
    ``"``, ``,`` or ``\\``) or bare (numbers, kept as their text), separated by commas.

    Raises:
        ValidationError: the text is not in that encoding.
    """
    return {str(k): _decode_value(str(k), str(v)) for k, v in encoded.items()}
