"""Problems and the report that collects them.

Part of :mod:`personakit.rules` (pure, no I/O): used by ``schema.check()`` and
``validate()`` alike, so a schema problem and a data problem look the same to the user.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import attrs

from personakit.errors import Problem, Severity, ValidationError
from personakit.rules.display import Display, short_repr

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DataReport", "Problem", "Severity"]


def _problem_tuple(values: Iterable[Problem]) -> tuple[Problem, ...]:
    return tuple(values)


@attrs.frozen
class DataReport(Display):
    """Everything found wrong with a schema or a data set, plus diagnostics.

    ``ok`` is true when there are no errors (warnings are allowed).
    ``raise_for_problems()`` raises one :class:`~personakit.ValidationError`
    listing every error. ``stats`` holds the diagnostics a data scientist wants
    before paying for training (cold-start share, repeat rate, ...).
    """

    problems: tuple[Problem, ...] = attrs.field(default=(), converter=_problem_tuple)
    stats: Mapping[str, float] = attrs.field(factory=dict)
    subject: str = "data"

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems that would make Personalize reject the data."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """Problems Personalize accepts but you probably did not intend."""
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        """True when there are no errors."""
        return not self.errors

    def rules(self) -> set[str]:
        """The set of rule identifiers that fired (errors and warnings)."""
        return {p.rule for p in self.problems}

    def merge(self, other: DataReport) -> DataReport:
        """A report holding the problems and stats of both."""
        return DataReport(
            self.problems + other.problems, {**self.stats, **other.stats}, self.subject
        )

    def raise_for_problems(self, *, warnings_as_errors: bool = False) -> None:
        """Raise one ValidationError listing every error (and warning, if asked)."""
        bad = self.problems if warnings_as_errors else self.errors
        if bad:
            lines = "\n".join(f"  - {p}" for p in bad)
            raise ValidationError(
                f"{len(bad)} problem(s) in {self.subject}:\n{lines}", problems=bad
            )

    def to_frame(self) -> pd.DataFrame:
        """One row a problem: severity, rule, column, count, message, rows, values, fix."""
        import pandas as pd

        columns = ["severity", "rule", "column", "count", "message", "rows", "values", "fix"]
        return pd.DataFrame(
            [
                [
                    p.severity,
                    p.rule,
                    p.column,
                    p.count,
                    p.message,
                    list(p.rows),
                    list(p.values),
                    p.fix,
                ]
                for p in self.problems
            ],
            columns=columns,
        )

    def __str__(self) -> str:
        head = f"{self.subject}: {len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        body = [f"  - {p}" for p in self.problems]
        if self.stats:
            body.append("  stats:")
            body.extend(f"    {k}: {_fmt(v)}" for k, v in self.stats.items())
        return "\n".join([head, *body])

    def __repr__(self) -> str:
        return short_repr(
            self,
            repr(self.subject),
            errors=len(self.errors),
            warnings=len(self.warnings),
            stats=len(self.stats),
        )

    def _repr_html_(self) -> str:
        colour = {"error": "#b00020", "warning": "#9a6700"}
        rows = "".join(
            "<tr>"
            f"<td style='color:{colour[p.severity]}'>{p.severity}</td>"
            f"<td><code>{html.escape(p.rule)}</code></td>"
            f"<td>{html.escape(p.column or '')}</td>"
            f"<td>{p.count}</td>"
            f"<td>{html.escape(p.message)}</td>"
            f"<td>{html.escape(', '.join(map(str, p.rows)))}</td>"
            f"<td>{html.escape(p.fix or '')}</td>"
            "</tr>"
            for p in self.problems
        )
        stats = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(_fmt(v))}</td></tr>"
            for k, v in self.stats.items()
        )
        verdict = "OK" if self.ok else "NOT OK"
        out = (
            f"<div><b>{html.escape(self.subject)}: {verdict}</b> "
            f"({len(self.errors)} errors, {len(self.warnings)} warnings)"
        )
        if rows:
            out += (
                "<table><tr><th>severity</th><th>rule</th><th>column</th><th>count</th>"
                f"<th>message</th><th>example rows</th><th>fix</th></tr>{rows}</table>"
            )
        if stats:
            out += f"<table><tr><th>stat</th><th>value</th></tr>{stats}</table>"
        return out + "</div>"


def _fmt(value: float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.4g}"
    return f"{int(value):,}" if isinstance(value, (int, float)) else str(value)
