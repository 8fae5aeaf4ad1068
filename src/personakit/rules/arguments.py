"""Arguments of the wrong Python type: one ``TypeError`` each, checked in one place.

Part of :mod:`personakit.rules` (pure, no I/O). The entry points that take data
(``Schema.infer``, ``validate``, the ``pk.prep`` helpers, ``write_csv``) answer bad
*data* with a :class:`~personakit.ValidationError` (see :mod:`personakit.rules.values`)
and a bad *argument* as Python does:

* the wrong Python type (``booleans=5``, ``columns=["a"]``, ``now="yesterday"``) is a
  ``TypeError`` naming the argument, what it takes and what it was given;
* the right type with a value that is not allowed (``booleans="maybe"``, ``how="cross"``)
  is a :class:`~personakit.ValidationError`, like bad data.

Column names are strings: a frame's columns are known by the text of their labels
(:func:`personakit.rules.values.label_text`), so the columns of a headerless CSV are
``"0"``, ``"1"`` ...
"""

from __future__ import annotations

import datetime as dt
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from personakit.errors import ValidationError

__all__ = [
    "check",
    "choice",
    "column",
    "column_list",
    "column_map",
    "flag",
    "frame",
    "integer",
    "moment",
    "number",
    "text",
]

T = TypeVar("T")


def _got(value: object) -> str:
    return f"got {type(value).__name__} {_short(value)}"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check(name: str, value: T, test: Callable[[object], bool], wanted: str) -> T:
    """``value`` when ``test(value)``, else a TypeError saying what ``name`` takes."""
    if not test(value):
        raise TypeError(f"{name} takes {wanted}; {_got(value)}")
    return value


def frame(name: str, value: object, *, optional: bool = False) -> None:
    """A pandas DataFrame, a pyarrow Table or RecordBatch (or None when optional)."""
    if value is None and optional:
        return
    import pandas as pd
    import pyarrow as pa

    if not isinstance(value, (pd.DataFrame, pa.Table, pa.RecordBatch)):
        raise TypeError(
            f"{name} takes a pandas DataFrame or a pyarrow Table/RecordBatch; {_got(value)}"
        )


def text(name: str, value: object, *, optional: bool = False) -> str | None:
    """A string (or None when optional)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} takes a string{' or None' if optional else ''}; {_got(value)}")
    return value


def column(name: str, value: object, *, optional: bool = False) -> str | None:
    """A column name: a string (or None when optional)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        hint = (
            f" (columns are named by their text: pass {str(value)!r})"
            if isinstance(value, (int, float)) and not isinstance(value, bool)
            else ""
        )
        raise TypeError(
            f"{name} takes a column name (a string{' or None' if optional else ''}); "
            f"{_got(value)}{hint}"
        )
    return value


def column_list(
    name: str, value: object, *, single: bool = True, what: str = "column names"
) -> list[str]:
    """Column names (or other ``what``): a list, tuple or other iterable of strings, or
    one string when ``single``."""
    if isinstance(value, str):
        if single:
            return [value]
        raise TypeError(f"{name} takes a list of {what}; {_got(value)}")
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise TypeError(f"{name} takes a list of {what}; {_got(value)}")
    items = list(value)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"each of {name} must be a string ({what}); {_got(item)}")
    return items


def column_map(
    name: str,
    value: object,
    *,
    values: str = "field names",
    strings: bool = True,
    optional: bool = True,
) -> dict[str, Any]:
    """A mapping from column names (strings) to ``values`` (strings when ``strings``), or
    None (an empty dict) when optional."""
    if value is None and optional:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} takes a mapping of column -> {values}; {_got(value)}")
    for key, item in value.items():
        column(f"the keys of {name}", key)
        if strings and not isinstance(item, str):
            raise TypeError(f"{name}[{key!r}] takes a string ({values}); {_got(item)}")
    return dict(value)


def choice(name: str, value: object, choices: Sequence[str]) -> str:
    """One of ``choices``: another type is a TypeError, another string a ValidationError."""
    allowed = ", ".join(map(repr, choices))
    if not isinstance(value, str):
        raise TypeError(f"{name} takes one of {allowed}; {_got(value)}")
    if value not in choices:
        raise ValidationError(f"{name}={value!r}: expected one of {allowed}")
    return value


def number(name: str, value: object, *, optional: bool = False) -> float | None:
    """A real number (int, float, numpy number; not a bool), or None when optional."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} takes a number{' or None' if optional else ''}; {_got(value)}")
    return float(value)


def integer(name: str, value: object, *, optional: bool = False) -> int | None:
    """An integer (int, numpy integer; not a bool), or None when optional."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} takes an integer{' or None' if optional else ''}; {_got(value)}")
    return int(value)


def flag(name: str, value: object) -> bool:
    """A bool (or numpy bool)."""
    if type(value).__name__ not in ("bool", "bool_"):
        raise TypeError(f"{name} takes True or False; {_got(value)}")
    return bool(value)


def moment(name: str, value: object) -> None:
    """A datetime, epoch seconds (a number) or None."""
    if value is None or isinstance(value, dt.datetime):
        return
    number(name, value)
