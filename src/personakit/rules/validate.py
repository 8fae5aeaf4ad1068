"""Check data against every Amazon Personalize data rule, before anything is uploaded.

Part of :mod:`personakit.rules` (pure, no I/O). :func:`validate` takes the frames of a
dataset group (pandas DataFrames or pyarrow Tables), infers or takes their schemas,
and returns one :class:`ValidationReport` listing every problem (rule, column, count,
example rows and values, fix) plus diagnostics in ``report.stats``. It does not raise
for bad data: call ``report.raise_for_problems()``.

The rules are those of the Developer Guide: reserved fields
(https://docs.aws.amazon.com/personalize/latest/dg/custom-datasets-and-schemas.html),
value limits and training minimums
(https://docs.aws.amazon.com/personalize/latest/dg/limits.html) and the events each
domain use case needs
(https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-use-cases.html,
https://docs.aws.amazon.com/personalize/latest/dg/VIDEO_ON_DEMAND-use-cases.html).

This module is the driver: schemas given, inferred or reported, the domain settled,
then the checks of :mod:`personakit.rules.checks` per frame. They run on Arrow columns
with ``pyarrow.compute`` and numpy: a few vectorised passes per column, no Python loop
over rows. Ids are encoded once (:class:`~personakit.rules.checks.columns.Codes`) and
every id rule works on the distinct values. Integer and datetime timestamps are checked
on their extremes first and converted row by row only when a rule has something to
report.

One conversion per import: the report keeps the schema each frame was checked against
(``report.schemas``) and, with ``keep_tables=True``, the Arrow table it was read as
(``report.tables``);
``write_csv(report.tables[dtype], path, report.schemas[dtype])`` writes the CSV from
them without converting the frame or inferring the schema again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING

import attrs

from personakit.errors import ValidationError
from personakit.rules import arguments
from personakit.rules.arrow import FrameLike, to_arrow
from personakit.rules.checks.datasets import (
    check_action_events,
    check_duplicate_ids,
    check_duplicate_rows,
    check_interactions,
    check_known_ids,
)
from personakit.rules.checks.fields import check_fields
from personakit.rules.checks.run import Data, Run
from personakit.rules.facts import USE_CASES, Domain, UseCase, find_use_case
from personakit.rules.report import DataReport, Problem
from personakit.rules.schema import CATALOG_IDS, RESERVED, DatasetType, Schema
from personakit.rules.values import label_text

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ValidationReport", "validate"]

_USE_CASE_NAMES = frozenset(n for cases in USE_CASES.values() for n in cases)


@attrs.frozen(repr=False)  # DataReport's short repr
class ValidationReport(DataReport):
    """What :func:`validate` found, and the schemas and Arrow tables it built to find it.

    A :class:`DataReport` (``problems``, ``stats``, ``ok``, ``raise_for_problems()``)
    with two more attributes, neither compared nor printed:

    Attributes:
        schemas: The schema each frame was checked against, by dataset type: the one
            given in ``schemas=``, else the one :meth:`Schema.infer` gave. A frame whose
            schema could not be inferred, or not from all its columns (the report then
            has errors), has none.
        tables: With ``validate(..., keep_tables=True)``: each frame as the Arrow table
            the checks read, by dataset type (a pyarrow Table given is kept as it is).
            A frame Arrow could not convert whole has none.

    ``write_csv(report.tables[t], path, report.schemas[t])`` writes the same bytes as
    ``write_csv(frame, path, schema)`` without converting the frame again. ``merge()``
    returns a plain :class:`DataReport`.
    """

    schemas: Mapping[DatasetType, Schema] = attrs.field(factory=dict, eq=False, repr=False)
    tables: Mapping[DatasetType, pa.Table] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.define
class _Built:
    """What the checks were given, kept for the report: tables and schemas by type."""

    tables: dict[DatasetType, pa.Table] = attrs.field(factory=dict)
    schemas: dict[DatasetType, Schema] = attrs.field(factory=dict)


def _prefixed(p: Problem, dtype: DatasetType) -> Problem:
    prefix = f"{dtype.value}: "
    return p if p.message.startswith(prefix) else attrs.evolve(p, message=prefix + p.message)


def _table(frame: FrameLike, dtype: DatasetType, run: Run) -> tuple[pa.Table, bool] | None:
    """The frame as Arrow, and whether that is the whole frame: columns Arrow cannot
    hold (and labels that collide or are not text) are reported and left out."""
    import pyarrow as pa

    try:
        return to_arrow(frame), True
    except ValidationError as exc:
        problems = list(exc.problems) or [Problem("error", "frame-invalid", str(exc))]
    run.problems.extend(_prefixed(p, dtype) for p in problems)
    bad = {p.column for p in problems if p.column is not None}
    if isinstance(frame, pa.RecordBatch):
        frame = pa.Table.from_batches([frame])
    labels = frame.column_names if isinstance(frame, pa.Table) else list(frame.columns)
    keep = [i for i, label in enumerate(labels) if label_text(label) not in bad]
    if not bad or len(keep) == len(labels):
        return None
    try:
        part = frame.select(keep) if isinstance(frame, pa.Table) else frame.iloc[:, keep]
        return to_arrow(part), False
    except ValidationError as exc:  # to_arrow reports every column at once: not expected
        run.problems.extend(_prefixed(p, dtype) for p in exc.problems)
        return None


def _columns_for(
    columns: Mapping[str, str] | None, table: pa.Table, dtype: DatasetType
) -> dict[str, str]:
    """The part of ``columns=`` that applies to this frame."""
    if not columns:
        return {}
    own = {name for (t, _), fields in RESERVED.items() if t is dtype for name in fields}
    anywhere = {name for fields in RESERVED.values() for name in fields}
    names = set(table.column_names)
    return {
        str(c): str(f)
        for c, f in columns.items()
        if str(c) in names and (f in own or f not in anywhere)
    }


def _infer(
    table: pa.Table,
    dtype: DatasetType,
    domain: Domain | None,
    columns: dict[str, str],
    run: Run,
) -> tuple[Schema, bool] | None:
    """Schema.infer, reporting its problems and its schema's warnings; and whether the
    schema is the one Schema.infer gives (not a stand-in).

    When inference fails, its errors are reported and a stand-in schema is inferred
    so the data can still be checked: unsupported columns left out, rows missing a
    required value set aside (the data checks report those rows one by one) and,
    if that is not enough, without the domain's required fields.
    """
    try:
        schema = Schema.infer(table, dtype, domain=domain, columns=columns)
    except ValidationError as exc:
        problems = list(exc.problems)
        if not problems:
            problems = [Problem("error", "schema-inference", str(exc).split("\n")[0])]
    except Exception as exc:  # a bug in inference must not hide the data's problems
        run.add(
            "error",
            "internal-error",
            f"{dtype.value}: schema inference failed ({type(exc).__name__}: {exc}); "
            "pass schemas={...} to check the data",
        )
        return None
    else:
        _schema_problems(schema, run, skip_errors=True)
        return schema, True
    run.problems.extend(_prefixed(p, dtype) for p in problems)
    unsupported = {p.column for p in problems if p.rule == "unsupported-type"}
    required = {p.column for p in problems if p.rule == "reserved-nullable"}
    retry = table.drop_columns([c for c in table.column_names if c in unsupported])
    if required:
        retry = retry.drop_null()
    kept = {c: f for c, f in columns.items() if c in retry.column_names}
    for stand_in_domain in dict.fromkeys((domain, None)):
        try:
            stand_in = Schema.infer(retry, dtype, domain=stand_in_domain, columns=kept)
        except Exception:  # the errors are reported above
            continue
        if stand_in_domain is domain:
            _schema_problems(stand_in, run, skip_errors=True)
        fields = [
            attrs.evolve(f, nullable=True)
            if f.name not in required and table.column(f.column).null_count
            else f
            for f in stand_in.fields
        ]
        return attrs.evolve(stand_in, fields=fields), False
    return None


def _schema_problems(schema: Schema, run: Run, *, skip_errors: bool) -> None:
    try:
        report = schema.check()
    except Exception as exc:  # check() must not take validate down with it
        run.add(
            "error",
            "internal-error",
            f"{schema.dataset_type.value}: schema check failed ({type(exc).__name__}: {exc})",
        )
        return
    for p in report.problems:
        if not (skip_errors and p.severity == "error"):  # inference reported those
            run.problems.append(_prefixed(p, schema.dataset_type))


def _now_seconds(now: datetime | float | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        return now.timestamp()
    return float(now)


def _given_schemas(
    schemas: Mapping[str | DatasetType, Schema] | None, run: Run
) -> dict[DatasetType, Schema]:
    given: dict[DatasetType, Schema] = {}
    arguments.check(
        "schemas", schemas, lambda v: v is None or isinstance(v, Mapping), "a mapping or None"
    )
    for key, value in (schemas or {}).items():
        schema: object = value
        arguments.check(
            f"schemas[{key!r}]",
            schema,
            lambda v: isinstance(v, Schema),
            "a personakit Schema (pk.Schema.from_json(...) or pk.Schema.infer(...))",
        )
        try:
            dtype = DatasetType.parse(key)
        except ValidationError as exc:
            run.add("error", "schema-key", str(exc), column=str(key))
            continue
        assert isinstance(schema, Schema)
        if schema.dataset_type is not dtype:
            run.add(
                "error",
                "schema-key",
                f"schemas[{key!r}] is a {schema.dataset_type.value} schema",
            )
        else:
            given[dtype] = schema
    return given


def _settle_domain(
    domain: str | Domain | None,
    given: Mapping[DatasetType, Schema],
    use_cases: Sequence[str],
    run: Run,
) -> None:
    """The domain: given, or the schemas', or the use cases'; and the use cases."""
    try:
        run.domain = Domain.parse(domain)
    except ValidationError as exc:
        run.add("error", "domain-unknown", str(exc))
    from_schemas = {s.domain for s in given.values() if s.domain is not None}
    if run.domain is None and len(from_schemas) == 1:
        run.domain = from_schemas.pop()
    cases: list[UseCase] = []
    for name in use_cases:
        case = find_use_case(name)
        if case is None:
            run.add(
                "error",
                "use-case-unknown",
                f"unknown use case {name!r}; known: {', '.join(sorted(_USE_CASE_NAMES))}",
            )
        else:
            cases.append(case)
    from_cases = {c.domain for c in cases}
    if run.domain is None and len(from_cases) == 1:
        run.domain = from_cases.pop()
    group = run.domain.value if run.domain else "a custom dataset group"
    for case in cases:
        if case.domain is not run.domain:
            run.add(
                "error",
                "use-case-domain",
                f"{case.name} is a {case.domain.value} use case; the data is for {group}",
            )
    run.use_cases = tuple(c for c in cases if c.domain is run.domain)
    for dtype, schema in given.items():
        if dtype in (DatasetType.ACTIONS, DatasetType.ACTION_INTERACTIONS):
            continue
        if schema.domain is not run.domain:
            mine = schema.domain.value if schema.domain else "a custom dataset group"
            run.add(
                "error",
                "schema-domain-mismatch",
                f"the {dtype.value} schema is for {mine}, the data for {group}",
                fix="CreateSchema(domain=...) must match the dataset group's domain",
            )


def _prepare(
    dtype: DatasetType,
    frame: FrameLike,
    schema: Schema | None,
    columns: Mapping[str, str] | None,
    run: Run,
    built: _Built,
) -> Data | None:
    """The frame as Arrow with its schema (given or inferred), ready for the checks.

    The table (when it is the whole frame) and the schema (when it is given, or
    inferred from the whole frame and not a stand-in) go into ``built``.
    """
    converted = _table(frame, dtype, run)
    if converted is None:
        return None
    table, whole = converted
    if whole:
        built.tables[dtype] = table
    if schema is not None:
        _schema_problems(schema, run, skip_errors=False)
        built.schemas[dtype] = schema
        return Data(dtype, table, schema, inferred=False)
    # Actions exist in custom dataset groups only
    # (https://docs.aws.amazon.com/personalize/latest/dg/custom-datasets-and-schemas.html)
    custom_only = dtype in (DatasetType.ACTIONS, DatasetType.ACTION_INTERACTIONS)
    domain = None if custom_only else run.domain
    found = _infer(table, dtype, domain, _columns_for(columns, table, dtype), run)
    if found is None:
        return None
    inferred, exact = found
    if exact and whole:
        built.schemas[dtype] = inferred
    return Data(dtype, table, inferred, inferred=True)


def validate(
    interactions: FrameLike | None = None,
    *,
    items: FrameLike | None = None,
    users: FrameLike | None = None,
    actions: FrameLike | None = None,
    action_interactions: FrameLike | None = None,
    schemas: Mapping[str | DatasetType, Schema] | None = None,
    domain: str | Domain | None = None,
    event_types: Sequence[str] | None = None,
    event_value_threshold: float | None = None,
    use_cases: Sequence[str] = (),
    now: datetime | float | None = None,
    columns: Mapping[str, str] | None = None,
    keep_tables: bool = False,
) -> ValidationReport:
    """Check a dataset group's data against every Personalize data rule at once.

    Each frame (a pandas DataFrame or a pyarrow Table) is checked against its
    schema: the one in ``schemas``, or the one :meth:`Schema.infer` gives. Bad data
    is reported, never raised: call :meth:`DataReport.raise_for_problems` on the
    result. ``docs/validation.md`` lists every rule and every diagnostic.

    Args:
        interactions: the Interactions data.
        items: the Items data.
        users: the Users data.
        actions: the Actions data.
        action_interactions: the Action interactions data.
        schemas: schemas by dataset type, e.g. ``{"items": schema}``; the others
            are inferred.
        domain: ``"ECOMMERCE"`` or ``"VIDEO_ON_DEMAND"`` for a domain dataset group.
        event_types: the event types a solution trains on; the 1000-interaction and
            user minimums are counted after this filter.
        event_value_threshold: the solution's event value threshold; only events
            with ``EVENT_VALUE`` at or above it count towards the minimums.
        use_cases: domain recommender use cases (``"most-viewed"``, ``"best-sellers"``,
            ``"top-picks"``, or a recipe name or ARN); each needs 1000 events of its
            event type. They imply the domain when ``domain`` is not given.
        now: the time "in the future" is measured from (a datetime, naive ones are
            UTC, or epoch seconds); the current time by default.
        columns: column -> field mapping for :meth:`Schema.infer`; entries for
            columns a frame does not have are ignored for that frame.
        keep_tables: keep each frame's Arrow table on the report (``tables``), to
            write its CSV without converting it again; off by default, since a report
            kept in a notebook would keep a copy of the data alive.

    Returns:
        A :class:`ValidationReport` (a :class:`DataReport`) with subject ``"data"``:
        every problem found (example rows are 0-based positions in the frame) and
        diagnostics in ``stats``; in ``schemas``, the schema each frame was checked
        against; with ``keep_tables``, in ``tables``, the Arrow table it was read as,
        for :func:`~personakit.rules.writer.write_csv` to write without converting again.
    """
    frames = {
        DatasetType.INTERACTIONS: interactions,
        DatasetType.ITEMS: items,
        DatasetType.USERS: users,
        DatasetType.ACTIONS: actions,
        DatasetType.ACTION_INTERACTIONS: action_interactions,
    }
    for dtype, frame in frames.items():
        arguments.frame(dtype.value.lower(), frame, optional=True)
    arguments.moment("now", now)
    arguments.flag("keep_tables", keep_tables)
    arguments.column_map("columns", columns)
    run = Run(
        now=_now_seconds(now),
        event_types=None
        if event_types is None
        else tuple(arguments.column_list("event_types", event_types, what="event types")),
        event_value_threshold=arguments.number(
            "event_value_threshold", event_value_threshold, optional=True
        ),
    )
    given = _given_schemas(schemas, run)
    cases = arguments.column_list("use_cases", use_cases, what="use case names")
    _settle_domain(domain, given, cases, run)
    data: dict[DatasetType, Data] = {}
    built = _Built()
    for dtype, frame in frames.items():
        if frame is None:
            if dtype in given:
                _schema_problems(given[dtype], run, skip_errors=False)
            continue
        prepared = _prepare(dtype, frame, given.get(dtype), columns, run, built)
        if prepared is None:
            continue
        data[dtype] = prepared
        check_fields(prepared, run)
        if dtype is DatasetType.INTERACTIONS:
            check_interactions(prepared, run)
        elif dtype is DatasetType.ACTION_INTERACTIONS:
            run.guard(prepared, "event types", partial(check_action_events, prepared, run))
            run.guard(prepared, "duplicate rows", partial(check_duplicate_rows, prepared, run))
        else:
            id_field = CATALOG_IDS[dtype]
            run.guard(
                prepared, "duplicate ids", partial(check_duplicate_ids, prepared, id_field, run)
            )
    for case in run.use_cases:
        if case.needs_items and items is None:
            run.add(
                "warning",
                "use-case-needs-items",
                f"{case.name} ({case.recipe}) needs an Items dataset; none was given",
                fix="pass items= (and import Items before creating the recommender)",
            )
    for src_type, field, cat_type, kind in (
        (DatasetType.INTERACTIONS, "ITEM_ID", DatasetType.ITEMS, "item"),
        (DatasetType.INTERACTIONS, "USER_ID", DatasetType.USERS, "user"),
        (DatasetType.ACTION_INTERACTIONS, "ACTION_ID", DatasetType.ACTIONS, "action"),
        (DatasetType.ACTION_INTERACTIONS, "USER_ID", DatasetType.USERS, "user"),
    ):
        src, cat = data.get(src_type), data.get(cat_type)
        if src is not None and cat is not None:
            run.guard(
                src,
                f"{field} values against the {cat_type.value} data",
                partial(check_known_ids, src, field, cat, kind, run),
            )
    # Schema.infer's "reserved-nullable" is replaced by the row-level "required-null"
    dropped = {(f"{d.value}: ", f) for d, f in run.required_null}
    problems = [
        p
        for p in run.problems
        if not (
            p.rule == "reserved-nullable"
            and any(p.column == f and p.message.startswith(pre) for pre, f in dropped)
        )
    ]
    tables = built.tables if keep_tables else {}
    return ValidationReport(
        problems,
        run.stats,
        subject="data",
        histograms=run.histograms,
        schemas=built.schemas,
        tables=tables,
    )
