"""The ``filterValues`` of a request: encoded the way Personalize reads them, and back.

Part of :mod:`personakit.rules` (pure, no I/O). Each value is a string of double-quoted,
comma-separated literals, e.g. ``{"GENRES": "\\"comedy\\",\\"drama\\""}``; numbers go
bare (``"20"``) (https://docs.aws.amazon.com/personalize/latest/dg/filter-real-time.html).

Escaping an embedded double quote: neither the API documentation (``filterValues`` of
https://docs.aws.amazon.com/personalize/latest/dg/API_RS_GetRecommendations.html:
"Separate multiple values for one parameter with a comma") nor the Developer Guide
pages https://docs.aws.amazon.com/personalize/latest/dg/filter-real-time.html and
https://docs.aws.amazon.com/personalize/latest/dg/filter-expression-guidelines-requirements.html
say how a ``"`` inside a value is written. personakit escapes ``"`` as ``\\"`` and ``\\``
as ``\\\\`` (the convention of the JSON in which the guide shows these values, and of
the string literals filter expressions hold), so that a value holding a quote or a
comma can never break out of its quotes and decoding is lossless. How the service
treats such values is unverified (see ``docs/filters.md``).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone

from personakit.errors import ValidationError
from personakit.rules.filter_grammar import PARAM_RE, unquote
from personakit.rules.report import DataReport, Problem

__all__ = [
    "MAX_FILTER_VALUES",
    "MAX_FILTER_VALUE_CHARS",
    "MAX_PARAMETER_NAME",
    "FilterValue",
    "Scalar",
    "decode_filter_values",
    "encode_filter_values",
]

Scalar = str | int | float | bool | date
#: What ``encode_filter_values`` accepts for one placeholder.
FilterValue = Scalar | Iterable[Scalar] | None

#: ``filterValues`` of a request: at most 25 entries, keys ``[A-Za-z0-9_]+`` of at most
#: 50 characters, values of at most 1000 characters
#: (https://docs.aws.amazon.com/personalize/latest/dg/API_RS_GetRecommendations.html).
MAX_FILTER_VALUES = 25
MAX_PARAMETER_NAME = 50
MAX_FILTER_VALUE_CHARS = 1000

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
        if not PARAM_RE.fullmatch(name) or len(name) > MAX_PARAMETER_NAME:
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
            out.append(unquote(m.group()))
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
