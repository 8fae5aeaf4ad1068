"""What one :func:`~personakit.rules.validate.validate` call works on and has found.

Part of :mod:`personakit.rules` (pure, no I/O): :class:`Data` is one dataset (its Arrow
table, its schema, its columns encoded once); :class:`Run` holds the options of the
call and the problems and statistics found so far, which every check adds to.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

from personakit.rules.checks.columns import (
    Codes,
    first_rows,
    is_numeric,
    is_temporal,
    take_values,
    to_floats,
)
from personakit.rules.facts import Domain, UseCase
from personakit.rules.report import Histogram, Problem, Severity
from personakit.rules.schema import ID_FIELDS, DatasetType, Field, Schema

if TYPE_CHECKING:
    import pyarrow as pa

    from personakit.rules.checks.columns import BoolArray, Column, FloatArray

__all__ = ["Data", "Run"]

T = TypeVar("T")


@attrs.define
class Data:
    """One dataset: its Arrow table, its schema, and per-column work done once."""

    dtype: DatasetType
    table: pa.Table
    schema: Schema
    inferred: bool
    #: work done once per run (encoded columns, the sampled rows), by key
    _memo: dict[str, Any] = attrs.field(factory=dict)
    #: one lock per key: checks on two threads do each piece of work once
    _locks: dict[str, threading.Lock] = attrs.field(factory=dict)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    @property
    def n(self) -> int:
        """The number of rows."""
        return int(self.table.num_rows)

    def field(self, name: str) -> Field | None:
        """The schema's field ``name``, or None."""
        return self.schema[name] if name in self.schema else None  # noqa: SIM401

    def col(self, name: str) -> Column | None:
        """The column the field ``name`` is read from, or None."""
        f = self.field(name)
        if f is None or f.column not in self.table.column_names:
            return None
        return self.table.column(f.column)

    def column_of(self, name: str) -> str:
        """The frame's column name of the field ``name`` (for messages)."""
        f = self.field(name)
        return f.column if f is not None else name

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()``'s value, computed once per run whichever thread asks first."""
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._memo:
                self._memo[key] = compute()
            return cast("T", self._memo[key])

    def codes(self, name: str) -> Codes | None:
        """The field's column encoded (:class:`Codes`), once per run; None without it."""
        col = self.col(name)
        if col is None:
            return None
        return self.once(f"codes:{name}", lambda: Codes.of(col, dense=name in ID_FIELDS))

    def floats(self, name: str) -> FloatArray | None:
        """A numeric or temporal column as float64 (NaN for null; temporal: seconds).

        Not cached: holding it would cost 8 bytes a row for the whole run.
        """
        col = self.col(name)
        if col is None or not (is_numeric(col.type) or is_temporal(col.type)):
            return None
        return to_floats(col)


@attrs.define
class Run:
    """The options of one ``validate`` call and what it has found so far."""

    now: float
    event_types: tuple[str, ...] | None
    event_value_threshold: float | None
    domain: Domain | None = None
    use_cases: tuple[UseCase, ...] = ()
    problems: list[Problem] = attrs.field(factory=list)
    stats: dict[str, float] = attrs.field(factory=dict)
    #: the distributions behind the diagnostics (:attr:`DataReport.histograms`)
    histograms: dict[str, Histogram] = attrs.field(factory=dict)
    #: (dataset type, field) pairs whose missing values were reported row by row
    required_null: set[tuple[DatasetType, str]] = attrs.field(factory=set)

    def child(self) -> Run:
        """A run with the same options and nothing found yet (for another thread)."""
        return Run(
            self.now, self.event_types, self.event_value_threshold, self.domain, self.use_cases
        )

    def merge(self, other: Run) -> None:
        """Add what ``other`` (a :meth:`child`) found, after what this run found."""
        self.problems.extend(other.problems)
        self.stats.update(other.stats)
        self.histograms.update(other.histograms)
        self.required_null |= other.required_null

    def add(
        self,
        severity: Severity,
        rule: str,
        message: str,
        *,
        column: str | None = None,
        count: int = 0,
        rows: Sequence[int] = (),
        values: Sequence[object] = (),
        fix: str | None = None,
    ) -> None:
        """Add one problem (at most five example rows and values are kept)."""
        self.problems.append(
            Problem.with_examples(
                severity,
                rule,
                message,
                column=column,
                count=count,
                rows=rows,
                values=values,
                fix=fix,
            )
        )

    def rows(
        self,
        severity: Severity,
        rule: str,
        message: str,
        *,
        data: Data,
        field: str,
        mask: BoolArray,
        fix: str | None = None,
    ) -> int:
        """Report the rows ``mask`` flags, if any; ``{n}`` in the message is their count."""
        count = int(mask.sum())
        if count:
            rows = first_rows(mask)
            self.add(
                severity,
                rule,
                f"{data.dtype.value}: {message.replace('{n}', f'{count:,}')}",
                column=data.column_of(field),
                count=count,
                rows=rows,
                values=take_values(data.col(field), rows),
                fix=fix,
            )
        return count

    def guard(self, data: Data, what: str, check: Callable[[], object]) -> None:
        """Run one check; an Arrow error on odd data becomes a warning, not a crash."""
        import pyarrow as pa

        try:
            check()
        except pa.ArrowException as exc:
            self.add(
                "warning",
                "check-failed",
                f"{data.dtype.value}: could not check {what} ({type(exc).__name__}: {exc})",
            )
