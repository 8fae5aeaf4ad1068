"""How result objects show themselves: ``repr()``, IPython's terminal, a notebook.

Part of :mod:`personakit.rules` (pure, no I/O), so every layer can use it. A result
class inherits :class:`Display` for IPython's pretty display (the same text as
``str()``) and builds its ``_repr_html_`` with :func:`html_table` or
:func:`html_fields`, which escape every value (:func:`html.escape`).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

__all__ = ["Display", "esc", "html_fields", "html_table", "short_repr"]


class PrettyPrinter(Protocol):
    """The part of ``IPython.lib.pretty.RepresentationPrinter`` a display uses."""

    def text(self, obj: str) -> Any:
        """Write ``obj``."""


class Display:
    """Mixin: IPython shows ``str(obj)`` (``repr`` on a cycle); a notebook its HTML.

    The default ``_repr_html_`` is ``str(obj)`` in an escaped ``<pre>`` block; a
    class with rows of data overrides it with :func:`html_table`.
    """

    __slots__ = ()

    def _repr_pretty_(self, p: PrettyPrinter, cycle: bool) -> None:
        p.text(repr(self) if cycle else str(self))

    def _repr_html_(self) -> str:
        return f"<pre>{esc(str(self))}</pre>"


def esc(value: object) -> str:
    """``value`` as escaped HTML text (``None`` is empty)."""
    return "" if value is None else html.escape(str(value))


def short_repr(obj: object, *parts: str, **fields: object) -> str:
    """``Name(part, key=value, ...)``: the class name and a few telling fields."""
    args = [*parts, *(f"{k}={v!r}" for k, v in fields.items())]
    return f"{type(obj).__name__}({', '.join(args)})"


def html_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    title: str | None = None,
    notes: Iterable[str] = (),
) -> str:
    """An HTML table (every cell escaped) under an optional bold ``title``, notes below."""
    head = "".join(f"<th style='text-align:left'>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return _box(f"<table><tr>{head}</tr>{body}</table>", title, notes)


def html_fields(
    fields: Iterable[tuple[str, object]], *, title: str | None = None, notes: Iterable[str] = ()
) -> str:
    """A two-column table, one row a ``(name, value)`` pair; ``None`` values are skipped."""
    rows = [(k, v) for k, v in fields if v is not None]
    body = "".join(
        f"<tr><th style='text-align:left'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows
    )
    return _box(f"<table>{body}</table>", title, notes)


def _box(table: str, title: str | None, notes: Iterable[str]) -> str:
    """``table`` in a ``<div>``, under an optional bold ``title``, with ``notes`` below."""
    items = "".join(f"<li>{esc(n)}</li>" for n in notes)
    return (
        "<div>"
        + (f"<b>{esc(title)}</b>" if title else "")
        + table
        + (f"<ul>{items}</ul>" if items else "")
        + "</div>"
    )
