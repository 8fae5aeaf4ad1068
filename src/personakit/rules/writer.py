"""Personalize-ready CSV files, written with pyarrow one bounded chunk at a time.

Part of :mod:`personakit.rules`; its one I/O is the file or file object it is asked to
write. It turns pandas/pyarrow data into the CSV a dataset import job reads.
:func:`prepare_table` holds the conversions (also used by the S3 upload and the local
engine); :func:`write_csv` streams them to a file or a binary file object.

What Personalize asks of a bulk CSV
(https://docs.aws.amazon.com/personalize/latest/dg/data-prep-formatting.html):

* one header row with the schema's field names, in schema order, **not quoted**
  ("Don't enclose headers in quotation marks");
* UTF-8;
* textual values wrapped in double quotes, with ``"`` and ``\\`` escaped by a
  backslash. Source, the Developer Guide's items page
  (https://docs.aws.amazon.com/personalize/latest/dg/items-datasets.html, "Unstructured
  text metadata"): *"For bulk CSV files, wrap the text in double quotes. Use the ``\\``
  character to escape any double quotes or ``\\`` characters in your data."* That is
  not RFC 4180 (which doubles quotes: ``""``), so pyarrow's own quoting cannot be used
  for such values; see :func:`_quote`.

Quoting rules (documented in ``docs/csv.md``):

* textual fields: every non-null value is quoted, ``\\`` -> ``\\\\`` and ``"`` ->
  ``\\"``; line breaks (``\\r\\n``, ``\\r``, ``\\n``) become one space each, since
  Personalize strips whitespace formatting from textual data before using it
  (https://docs.aws.amazon.com/personalize/latest/dg/items-datasets.html; AWS ML blog
  "Unlock information in unstructured text ...", June 2022 update) and a one-line
  record is what every CSV reader agrees on;
* every other string (ids, categorical values): written bare, unless it contains a
  comma, a double quote, a backslash or a line break, in which case it is quoted and
  escaped exactly like textual values (one escaping dialect per file). Line breaks
  are kept, inside the quotes: silently changing an id or a category would be worse,
  and such values are data errors for validation to report;
* numbers, booleans: bare; nulls (and NaN): an empty field.

The common case (no such characters, no textual field) goes through
``pyarrow.csv.write_csv`` with ``quoting_style="none"``; a chunk that needs quoting is
rendered with ``pyarrow.compute`` instead (:func:`_render`), producing the same bytes
for the same values, so how the input is chunked never changes the file.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import io
import itertools
import logging
import os
import secrets
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Union

import attrs

from personakit.errors import ConfigurationError, ValidationError
from personakit.rules import arguments
from personakit.rules.arrow import UNITS_PER_SECOND, arrow_table
from personakit.rules.display import Display, html_fields, short_repr
from personakit.rules.report import Problem
from personakit.rules.schema import DatasetType, Field, Schema, to_arrow
from personakit.rules.values import text_labels

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as ds

__all__ = ["CsvResult", "prepare_table", "write_csv"]

logger = logging.getLogger(__name__)

#: One item of a stream: what :func:`write_csv` accepts inside an iterable.
Chunk = Union["pd.DataFrame", "pa.Table", "pa.RecordBatch"]
#: Everything :func:`write_csv` reads.
CsvSource = Union[
    "pd.DataFrame",
    "pa.Table",
    "pa.RecordBatch",
    "pa.RecordBatchReader",
    "ds.Dataset",
    Iterable[Chunk],
]

#: Arrow arrays inside this module. pyarrow-stubs type compute functions per scalar
#: type; the conversions here dispatch on runtime types, so arrays are ``Any`` here
#: and the public functions keep precise types.
_Array = Any

#: Bytes that force a string value into quotes (and the slow path).
_SPECIAL = b',"\\\r\n'
_SPECIAL_RE = r'[,"\\\r\n]'
#: Rows pyarrow's CSV writer converts per step, and rows per slice handed to a worker
#: thread (about 4 MB of CSV text for an interactions row).
_WRITER_BATCH = 65_536
_RENDER_ROWS = 131_072
#: Most worker threads rendering slices (pyarrow releases the GIL while converting).
_MAX_WORKERS = 4
_INT64_LIMIT = 2.0**63
#: Most digits :func:`_fixed_width_text` renders (int64 has up to 19).
_MAX_FIXED_DIGITS = 18
#: Once an input has reached this many rows, its chunks are rendered by polars when it
#: is installed (the ``fast`` extra) and every field is an id, a category or an
#: integer: 1.2-1.3x pyarrow's writer. Its import (0.1-0.2 s) is paid once per process;
#: smaller inputs do not import it, but use it when it already is imported.
_POLARS_MIN_ROWS = 1_000_000


# --------------------------------------------------------------------------- result


@attrs.frozen
class CsvResult(Display):
    """What :func:`write_csv` wrote.

    Attributes:
        rows: data rows written (the header not counted).
        bytes: size of the file in bytes, header included.
        sha256: hex SHA-256 of exactly those bytes, computed while writing.
        path: the file written, or ``None`` when writing to a file object.
        columns: the header: field names in schema order.
    """

    rows: int
    bytes: int
    sha256: str
    path: Path | None
    columns: tuple[str, ...]

    def __str__(self) -> str:
        where = str(self.path) if self.path is not None else "file object"
        return (
            f"CSV {where}: {self.rows:,} rows, {self.bytes:,} bytes, "
            f"columns {', '.join(self.columns)}, sha256 {self.sha256}"
        )

    def __repr__(self) -> str:
        path = None if self.path is None else str(self.path)
        return short_repr(self, path=path, rows=self.rows, bytes=self.bytes)

    def _repr_html_(self) -> str:
        return html_fields(
            [
                ("file", str(self.path) if self.path is not None else "file object"),
                ("columns", ", ".join(self.columns)),
                ("sha256", self.sha256),
            ],
            title=f"CSV: {self.rows:,} rows, {self.bytes:,} bytes",
        )


# --------------------------------------------------------------------------- public API


def write_csv(
    data: CsvSource,
    dest: str | os.PathLike[str] | IO[bytes],
    schema: Schema | None = None,
    *,
    dataset_type: str | DatasetType = DatasetType.INTERACTIONS,
    chunk_rows: int = 1_000_000,
) -> CsvResult:
    """Write ``data`` as the CSV a Personalize dataset import job expects.

    Args:
        data: a pandas DataFrame, a pyarrow Table or RecordBatch, a
            ``pyarrow.RecordBatchReader``, a ``pyarrow.dataset.Dataset`` (scanned in
            batches, only the schema's columns read), or any iterable of DataFrames,
            Tables or RecordBatches. Nothing is concatenated: input is converted in
            chunks of at most ``chunk_rows`` rows, about two of them held at once.
            A frame :func:`~personakit.rules.validate.validate` has checked is best
            given as the Arrow table it built, with its schema
            (``write_csv(report.tables[t], dest, report.schemas[t])``): the same bytes,
            without converting the frame or inferring its schema again.
        dest: a path (written to a temporary file in the same folder, then renamed
            over ``dest``, so a failure leaves no partial file and an existing file
            untouched) or a binary file object (written to as is, not closed).
        schema: the dataset schema; each field is read from ``Field.column``. When
            omitted it is inferred with :meth:`Schema.infer` from the data (from the
            first non-empty chunk of a stream).
        dataset_type: used only to infer the schema when ``schema`` is omitted.
        chunk_rows: the most rows converted at once; bounds memory.

    Returns:
        a :class:`CsvResult` with rows, bytes, sha256, path and header.

    Raises:
        ValidationError: a column is missing, or values cannot take their field's
            type (fractions in a ``long`` field, unparsable numbers, ...).
        ConfigurationError: ``chunk_rows`` is not positive.
    """
    arguments.check(
        "schema", schema, lambda v: v is None or isinstance(v, Schema), "a pk.Schema or None"
    )
    arguments.check(
        "dest",
        dest,
        lambda v: isinstance(v, (str, os.PathLike)) or callable(getattr(v, "write", None)),
        "a path or a binary file object",
    )
    if (arguments.integer("chunk_rows", chunk_rows) or 0) < 1:
        raise ConfigurationError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    schema, chunks = _open_source(data, schema, DatasetType.parse(dataset_type), chunk_rows)
    header = _header(schema)
    if isinstance(dest, (str, os.PathLike)):
        path = Path(dest)
        with _atomic_file(path) as fh:
            rows, sink = _write(chunks, schema, fh, header)
    else:
        path = None
        rows, sink = _write(chunks, schema, dest, header)
    result = CsvResult(rows, sink.size, sink.hexdigest(), path, schema.names)
    logger.debug("wrote %s rows (%s bytes) to %s", f"{rows:,}", f"{sink.size:,}", path or "stream")
    return result


def prepare_table(table: pa.Table | pa.RecordBatch, schema: Schema) -> pa.Table:
    """Apply the Personalize conversions and return a table of the schema's fields.

    Columns are named by field and ordered as the schema; each is read from
    ``Field.column``. Output types: ``string`` fields -> ``string``; ``int``/``long``
    -> ``int64``; ``float``/``double`` -> ``float64`` (``float32`` input stays
    ``float32``, so its text does not change); ``boolean`` -> ``bool``. See
    ``docs/csv.md`` for the conversion table. Textual fields keep their text as is
    here (line breaks included); quoting is the CSV writer's business.

    Raises:
        ValidationError: a column is missing or its values cannot take the field's type.
    """
    import pyarrow as pa

    batches = table.to_batches() if isinstance(table, pa.Table) else [table]
    if not batches:
        batches = [_empty_batch(table.schema)]
    out: list[pa.RecordBatch] = []
    offset = 0
    for batch in batches:
        columns = _select(batch, schema)
        arrays = [
            _convert(col, f, for_csv=False, row_offset=offset)
            for col, f in zip(columns, schema.fields, strict=True)
        ]
        out.append(pa.RecordBatch.from_arrays(arrays, names=list(schema.names)))
        offset += batch.num_rows
    return pa.Table.from_batches(out)


# --------------------------------------------------------------------------- sources


def _open_source(
    data: CsvSource, schema: Schema | None, dataset_type: DatasetType, chunk_rows: int
) -> tuple[Schema, Iterator[pa.RecordBatch]]:
    """The schema to write and an iterator of RecordBatches of at most ``chunk_rows``."""
    import pandas as pd
    import pyarrow as pa

    if isinstance(data, pd.DataFrame):
        if schema is None:
            schema = Schema.infer(data, dataset_type)
        return schema, _frame_batches(data, schema, chunk_rows)
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        table = arrow_table(data)  # float16 read as float32, repeated names refused
        if schema is None:
            schema = Schema.infer(table, dataset_type)
        return schema, _slices(table, chunk_rows)
    dataset = _as_dataset(data)
    if dataset is not None:
        if schema is not None:
            names = set(dataset.schema.names)
            _check_columns(names, schema)
            wanted = list(dict.fromkeys(f.column for f in schema.fields))
            batches: Iterable[Any] = dataset.to_batches(columns=wanted, batch_size=chunk_rows)
        else:
            batches = dataset.to_batches(batch_size=chunk_rows)
        return _stream(batches, schema, dataset_type, chunk_rows)
    if isinstance(data, pa.RecordBatchReader):
        return _stream(data, schema, dataset_type, chunk_rows)
    if isinstance(data, Iterable) and not isinstance(data, (str, bytes, os.PathLike)):
        return _stream(data, schema, dataset_type, chunk_rows)
    raise TypeError(
        "write_csv reads a pandas DataFrame, a pyarrow Table, RecordBatch, "
        "RecordBatchReader or dataset, or an iterable of DataFrames/Tables/RecordBatches; "
        f"got {type(data).__name__}"
    )


def _as_dataset(data: object) -> ds.Dataset | None:
    module = type(data).__module__
    if not module.startswith("pyarrow"):
        return None
    import pyarrow.dataset as ds

    return data if isinstance(data, ds.Dataset) else None


def _stream(
    items: Iterable[Any], schema: Schema | None, dataset_type: DatasetType, chunk_rows: int
) -> tuple[Schema, Iterator[pa.RecordBatch]]:
    """Batches of a stream; the schema inferred from its first non-empty chunk if needed."""
    batches = (
        piece
        for item in items
        for batch in _chunk_batches(item, schema)
        for piece in _slices(batch, chunk_rows)
    )
    if schema is not None:
        return schema, batches
    seen: list[pa.RecordBatch] = []
    for batch in batches:
        seen.append(batch)
        if batch.num_rows:
            break
    if not seen:
        raise ValidationError(
            "the input has no data to infer a schema from; pass schema= to write an empty file"
        )
    schema = Schema.infer(seen[-1], dataset_type)
    return schema, itertools.chain(seen, batches)


def _chunk_batches(item: object, schema: Schema | None) -> Iterator[pa.RecordBatch]:
    import pandas as pd
    import pyarrow as pa

    if isinstance(item, pa.RecordBatch):
        table = arrow_table(item)  # float16 read as float32, repeated names refused
        yield from table.to_batches() or [_empty_batch(table.schema)]
    elif isinstance(item, pa.Table):
        yield from arrow_table(item).to_batches()
    elif isinstance(item, pd.DataFrame):
        item = text_labels(item)
        if schema is not None:
            item = item[_frame_labels(item, schema)]
        table = to_arrow(item)
        batches = table.to_batches()
        yield from batches if batches else [_empty_batch(table.schema)]
    else:
        raise TypeError(
            "a stream for write_csv must yield pandas DataFrames, pyarrow Tables or "
            f"RecordBatches; got {type(item).__name__}"
        )


def _frame_batches(
    frame: pd.DataFrame, schema: Schema, chunk_rows: int
) -> Iterator[pa.RecordBatch]:
    """Convert a DataFrame ``chunk_rows`` rows at a time, only the schema's columns."""
    frame = text_labels(frame)
    sub = frame[_frame_labels(frame, schema)]
    for start in range(0, max(len(sub), 1), chunk_rows):
        table = to_arrow(sub.iloc[start : start + chunk_rows])
        batches = table.to_batches()
        yield from batches if batches else [_empty_batch(table.schema)]


def _frame_labels(frame: pd.DataFrame, schema: Schema) -> list[str]:
    """The frame's columns the schema reads (labels are text: :func:`text_labels`)."""
    _check_columns({str(c) for c in frame.columns}, schema)
    return list(dict.fromkeys(f.column for f in schema.fields))


def _slices(data: pa.Table | pa.RecordBatch, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    batches = data.to_batches() if isinstance(data, pa.Table) else [data]
    if not batches:
        batches = [_empty_batch(data.schema)]
    for batch in batches:
        if batch.num_rows <= chunk_rows:
            yield batch
            continue
        for start in range(0, batch.num_rows, chunk_rows):
            yield batch.slice(start, chunk_rows)


def _empty_batch(arrow_schema: pa.Schema) -> pa.RecordBatch:
    import pyarrow as pa

    return pa.RecordBatch.from_arrays(
        [pa.array([], type=f.type) for f in arrow_schema], schema=arrow_schema
    )


def _check_columns(names: set[str], schema: Schema) -> None:
    missing = [f for f in schema.fields if f.column not in names]
    if not missing:
        return
    problems = [
        Problem(
            "error",
            "column-missing",
            f"column {f.column!r} (field {f.name}) is not in the data",
            column=f.column,
            fix="rename the column, or map it with Schema.infer(..., columns={...})",
        )
        for f in missing
    ]
    listed = ", ".join(
        repr(f.column) + (f" (field {f.name})" if f.column != f.name else "") for f in missing
    )
    raise ValidationError(
        f"missing column(s) {listed}; the data has: {', '.join(sorted(names))}",
        problems=problems,
    )


def _select(batch: pa.RecordBatch, schema: Schema) -> list[_Array]:
    """The batch's columns for each field, in schema order."""
    names = batch.schema.names
    _check_columns(set(names), schema)
    out = []
    for f in schema.fields:
        if names.count(f.column) > 1:
            raise ValidationError(
                f"column {f.column!r} appears more than once in the data",
                problems=[Problem("error", "column-duplicate", "duplicate column", f.column)],
            )
        out.append(batch.column(names.index(f.column)))
    return out


# --------------------------------------------------------------------------- conversions


def _convert(col: _Array, field: Field, *, for_csv: bool, row_offset: int) -> _Array:
    """One column converted for its field.

    With ``for_csv`` the result only has to produce the right CSV text, so casts that
    do not change the text (integers, dictionaries, large strings) are skipped.
    """
    import pyarrow as pa
    import pyarrow.types as pat

    t = col.type
    if pat.is_dictionary(t):
        if for_csv and field.type == "string" and _is_text(t.value_type):
            return col
        col = col.dictionary_decode()
        t = col.type
    if getattr(pat, "is_string_view", lambda _: False)(t):  # pyarrow >= 16
        col, t = col.cast(pa.string()), pa.string()
    if pat.is_null(t):
        return pa.nulls(len(col), _target_type(field))
    if field.type == "string":
        return _to_string(col, field, for_csv=for_csv, row_offset=row_offset)
    if field.type in ("int", "long"):
        return _to_integer(col, field, for_csv=for_csv, row_offset=row_offset)
    if field.type in ("float", "double"):
        out = _to_float(col, field, row_offset=row_offset)
        return out if for_csv or pat.is_floating(out.type) else out.cast(pa.float64())
    return _to_boolean(col, field, row_offset=row_offset)


def _target_type(field: Field) -> Any:
    """The Arrow type an all-null column of ``field`` is written as.

    Not :data:`personakit.rules.facts.AVRO_ARROW` (the exact Arrow type of each Avro
    type): the writer widens ``int`` to ``int64`` and ``float`` to ``float64``, the
    types :func:`prepare_table` gives, so formatting the CSV never loses digits.
    """
    import pyarrow as pa

    types: dict[str, Any] = {
        "string": pa.string(),
        "int": pa.int64(),
        "long": pa.int64(),
        "float": pa.float64(),
        "double": pa.float64(),
    }
    return types.get(field.type, pa.bool_())


def _is_text(t: pa.DataType) -> bool:
    import pyarrow.types as pat

    return bool(pat.is_string(t) or pat.is_large_string(t))


def _is_list(t: pa.DataType) -> bool:
    import pyarrow.types as pat

    return bool(pat.is_list(t) or pat.is_large_list(t) or pat.is_fixed_size_list(t))


def _to_string(col: _Array, field: Field, *, for_csv: bool, row_offset: int) -> _Array:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    t = col.type
    if _is_text(t):
        return col if for_csv or pat.is_string(t) else col.cast(pa.string())
    if pat.is_integer(t):
        # integer ids: their decimal text (the CSV writer prints integers identically)
        return col if for_csv else col.cast(pa.string())
    if pat.is_floating(t):
        return _float_ids_to_string(col)
    if pat.is_boolean(t):
        return pc.if_else(col, "True", "False")
    if _is_list(t):
        return _join_list(col, field, row_offset=row_offset)
    if pat.is_timestamp(t) or pat.is_date(t):
        return _epoch_seconds(col).cast(pa.string())
    if pat.is_decimal(t):
        return col.cast(pa.string())
    raise _type_error(field, t, "text")


def _float_ids_to_string(col: _Array) -> _Array:
    """Floats in a string field (ids read as float because of NaN): ``123.0`` -> ``"123"``.

    Whole values within int64 are printed as integers; others keep pyarrow's
    shortest round-trip text. NaN becomes null. Decided per value, not per column,
    so chunking cannot change the text.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    col = _nan_to_null(col)
    whole = _whole(col)  # null where col is null, so nulls stay null below
    as_int = pc.if_else(whole, col, 0).cast(pa.int64()).cast(pa.string())
    return pc.if_else(whole, as_int, col.cast(pa.string()))


def _whole(col: _Array) -> _Array:
    """True where a float is finite, whole and within int64; null stays null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    finite: _Array = pc.is_finite(col)
    safe: _Array = pc.if_else(finite, col, 0.0)
    return pc.and_(
        finite,
        pc.and_(pc.equal(pc.floor(safe), safe), pc.less(pc.abs(safe), pa.scalar(_INT64_LIMIT))),
    )


def _nan_to_null(col: _Array) -> _Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    nan = pc.is_nan(col)
    if not pc.any(nan).as_py():
        return col
    return pc.if_else(nan, pa.scalar(None, col.type), col)


def _join_list(col: _Array, field: Field, *, row_offset: int) -> _Array:
    """list<...> -> ``a|b|c`` (null elements dropped, a null list stays null)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    value_type = col.type.value_type
    if pat.is_dictionary(value_type):
        value_type = value_type.value_type
    if not (_is_text(value_type) or pat.is_integer(value_type) or pat.is_floating(value_type)):
        raise _type_error(field, col.type, "a list of strings or numbers")
    col = col.cast(pa.list_(pa.string()))
    flat: _Array = pc.list_flatten(col)
    if flat.null_count:
        value_lengths: _Array = pc.list_value_length(col)
        parent_indices: _Array = pc.list_parent_indices(col)
        lengths = pc.fill_null(value_lengths, 0).to_numpy(zero_copy_only=False)
        parents = parent_indices.to_numpy(zero_copy_only=False)
        nulls = flat.is_null().to_numpy(zero_copy_only=False)
        lengths = lengths - np.bincount(parents[nulls], minlength=len(col))
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        col = pa.ListArray.from_arrays(
            pa.array(offsets, pa.int32()), flat.filter(flat.is_valid()), mask=col.is_null()
        )
    return pc.binary_join(col, "|")


def _epoch_seconds(col: _Array) -> _Array:
    """Timestamps and dates -> int64 seconds since the Unix epoch, floored.

    Arrow stores tz-aware timestamps as UTC instants; naive ones are taken as UTC.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    t = col.type
    ticks: _Array
    if pat.is_date32(t):
        return pc.multiply(col.cast(pa.int32()).cast(pa.int64()), 86_400)
    if pat.is_date64(t):
        ticks, per_second = col.cast(pa.int64()), 1_000
    else:
        ticks = col.cast(pa.int64())
        per_second = UNITS_PER_SECOND[t.unit]
    if per_second == 1:
        return ticks
    per = pa.scalar(per_second, pa.int64())
    quotient: _Array = pc.divide(ticks, per)  # truncates toward zero
    earliest = pc.min(ticks).as_py()  # one pass, no mask: most data has no negative tick
    if earliest is None or earliest >= 0:
        return quotient
    negative = pc.less(ticks, pa.scalar(0, pa.int64()))
    inexact = pc.not_equal(pc.multiply(quotient, per), ticks)
    one = pa.scalar(1, pa.int64())
    return pc.if_else(pc.and_(negative, inexact), pc.subtract(quotient, one), quotient)


def _to_integer(col: _Array, field: Field, *, for_csv: bool, row_offset: int) -> _Array:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    t = col.type
    if pat.is_integer(t):
        if for_csv and not pat.is_uint64(t):
            return col  # the CSV text of any integer type is the same
        return _cast(col, pa.int64(), field, row_offset)  # uint64 beyond int64 is an error
    if pat.is_timestamp(t) or pat.is_date(t):
        return _epoch_seconds(col)
    if pat.is_boolean(t):
        return col.cast(pa.int64())
    if pat.is_floating(t):
        col = _nan_to_null(col)
        bad = pc.and_(col.is_valid(), pc.invert(pc.fill_null(_whole(col), False)))
        if pc.any(bad).as_py():
            raise _value_error(
                field,
                col,
                pc.indices_nonzero(bad).to_pylist(),
                row_offset,
                "has values with a fraction (or out of the int64 range)",
                "round them (e.g. .round().astype('Int64')) or make the field a float",
            )
        return pc.if_else(_whole(col), col, 0).cast(pa.int64())
    if pat.is_decimal(t) or _is_text(t):
        return _cast(col, pa.int64(), field, row_offset)
    raise _type_error(field, t, "integers")


def _to_float(col: _Array, field: Field, *, row_offset: int) -> _Array:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    t = col.type
    if pat.is_floating(t):
        if pat.is_float16(t):
            col = col.cast(pa.float32())
        inf: _Array = pc.is_inf(col)
        if pc.any(inf).as_py():
            rows: _Array = pc.indices_nonzero(pc.fill_null(inf, False))
            raise _value_error(
                field,
                col,
                rows.to_pylist(),
                row_offset,
                "has infinite values, which Personalize cannot parse",
                "replace them (e.g. with NaN, written as an empty field)",
            )
        return _nan_to_null(col)
    if pat.is_integer(t):
        return col
    if pat.is_timestamp(t) or pat.is_date(t):
        return _epoch_seconds(col)
    if pat.is_boolean(t):
        return col.cast(pa.int64())
    if pat.is_decimal(t) or _is_text(t):
        return _nan_to_null(_cast(col, pa.float64(), field, row_offset))
    raise _type_error(field, t, "numbers")


def _to_boolean(col: _Array, field: Field, *, row_offset: int) -> _Array:
    import pyarrow as pa
    import pyarrow.types as pat

    t = col.type
    if pat.is_boolean(t):
        return col
    if pat.is_integer(t) or _is_text(t):
        return _cast(col, pa.bool_(), field, row_offset)
    raise _type_error(field, t, "booleans")


def _cast(col: _Array, to: pa.DataType, field: Field, row_offset: int) -> _Array:
    """A safe cast; values that do not convert become one ValidationError with examples."""
    import pyarrow as pa

    try:
        return col.cast(to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    idx = _failing_rows(col, to)
    raise _value_error(
        field,
        col,
        idx,
        row_offset,
        f"has values that are not {to} (first {len(idx)} shown)",
        f"clean the column to {to}",
    )


def _failing_rows(col: _Array, to: pa.DataType, limit: int = 5) -> list[int]:
    """The first ``limit`` rows whose value fails a safe cast, found by bisection.

    Only used to report an error: each step is one vectorised cast of a slice, so a
    bad value among millions costs about ``2 * log2(n)`` casts, not a Python loop.
    """
    import pyarrow as pa

    found: list[int] = []

    def visit(start: int, length: int) -> None:
        if len(found) >= limit or length == 0:
            return
        try:
            col.slice(start, length).cast(to)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            if length == 1:
                found.append(start)
                return
            half = length // 2
            visit(start, half)
            visit(start + half, length - half)

    visit(0, len(col))
    return found


def _type_error(field: Field, t: pa.DataType, wanted: str) -> ValidationError:
    message = f"field {field.name} is {field.type}, but column {field.column!r} is {t}"
    return ValidationError(
        f"{message}; personakit can write {wanted} here",
        problems=[Problem("error", "column-type", message, column=field.column, count=1)],
    )


def _value_error(
    field: Field, col: _Array, idx: list[int], row_offset: int, what: str, fix: str
) -> ValidationError:
    problem = Problem.with_examples(
        "error",
        "value-type",
        f"field {field.name} ({field.type}, column {field.column!r}) {what}",
        column=field.column,
        count=len(idx),
        rows=[row_offset + i for i in idx],
        values=[col[i].as_py() for i in idx[:5]],
        fix=fix,
    )
    return ValidationError(str(problem), problems=[problem])


# --------------------------------------------------------------------------- writing


def _header(schema: Schema) -> bytes:
    """The header line, written by hand: pyarrow quotes column names by default
    (``WriteOptions(quoting_header=...)`` only exists in newer pyarrow), and
    Personalize says not to quote headers."""
    bad = [n for n in schema.names if any(chr(b) in n for b in _SPECIAL) or not n]
    if bad:
        raise ValidationError(
            f"field names {bad!r} would need quoting in the CSV header, which Personalize "
            "does not accept; use names matching [A-Za-z_][A-Za-z0-9_]*"
        )
    return (",".join(schema.names) + "\n").encode("utf-8")


class _HashingSink:
    """Forwards writes to a binary file object, counting and hashing the bytes."""

    def __init__(self, target: IO[bytes]) -> None:
        self._target = target
        self._sha = hashlib.sha256()
        self.size = 0

    def write(self, data: Any) -> None:
        view = memoryview(data)
        self._sha.update(view)  # hashlib releases the GIL for large buffers
        self.size += view.nbytes
        self._target.write(view)

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def _write(
    chunks: Iterable[pa.RecordBatch], schema: Schema, target: IO[bytes], header: bytes
) -> tuple[int, _HashingSink]:
    """Render chunks in worker threads, write and hash them in order on this thread.

    Each chunk is cut into slices of ``_RENDER_ROWS`` rows; at most ``workers + 1``
    slices are in flight, so memory stays a few slices of CSV text whatever the input
    size. pyarrow releases the GIL while converting, so the workers run in parallel.
    """
    import pyarrow as pa

    sink = _HashingSink(target)
    sink.write(header)
    workers = max(1, min(_MAX_WORKERS, pa.cpu_count()))
    pending: deque[Future[Any]] = deque()
    rows = 0
    pool = ThreadPoolExecutor(workers, thread_name_prefix="personakit-csv")
    texts: list[_IntText | None] = [None] * len(schema.fields)
    plain = all(f.type in ("string", "int", "long") and not f.textual for f in schema.fields)
    try:
        for batch in chunks:
            columns = _select(batch, schema)
            polars = _polars(rows + batch.num_rows) if plain else None
            texts = [
                None if polars else _IntText.cover(col, f, known)
                for col, f, known in zip(columns, schema.fields, texts, strict=True)
            ]
            for start in range(0, max(batch.num_rows, 1), _RENDER_ROWS):
                piece = [col.slice(start, _RENDER_ROWS) for col in columns]
                args = (piece, schema, rows + start, texts, polars)
                pending.append(pool.submit(_csv_bytes, *args))
                while len(pending) > workers:
                    sink.write(pending.popleft().result())
            rows += batch.num_rows
        while pending:
            sink.write(pending.popleft().result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    target.flush()
    return rows, sink


class _IntText:
    """The decimal text of the integers ``lo..hi``, rendered once per column.

    Formatting integers is most of the CSV writer's work. Ids span a range much
    smaller than the number of rows, so each slice of such a column is handed to the
    writer as strings taken from this text (``index = value - lo``): the same bytes,
    one string copy per row instead of one integer formatting.
    """

    __slots__ = ("hi", "lo", "text")

    def __init__(self, lo: int, hi: int, text: Any) -> None:
        self.lo, self.hi = lo, hi
        self.text = text  # pa.StringArray: text[i] == str(lo + i)

    @classmethod
    def cover(cls, col: _Array, field: Field, known: _IntText | None) -> _IntText | None:
        """The text for ``col``'s range: ``known`` if it covers it, a wider one if the
        range stays at most half the chunk's rows, else ``None`` (format as usual)."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.types as pat

        t = col.type
        if field.type not in ("string", "int", "long") or not pat.is_integer(t):
            return None
        if pat.is_uint64(t):
            return None
        if col.null_count == len(col):
            return known
        lo_hi = pc.min_max(col)
        lo, hi = int(lo_hi["min"].as_py()), int(lo_hi["max"].as_py())
        if known is not None:
            if known.lo <= lo and hi <= known.hi:
                return known
            lo, hi = min(lo, known.lo), max(hi, known.hi)
        if hi - lo + 1 > len(col) // 2:
            return None
        text = pa.array(np.arange(lo, hi + 1, dtype=np.int64)).cast(pa.string())
        return cls(lo, hi, text)

    def encode(self, col: _Array) -> _Array:
        """``col`` (integers within ``lo..hi``) as their text, taken from the rendered
        range (a string array: pyarrow's CSV writer formats dictionary arrays no faster
        than the integers themselves)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        codes = pc.subtract(col.cast(pa.int64()), pa.scalar(self.lo, pa.int64()))
        return self.text.take(codes)


@functools.cache
def _digit_table(width: int) -> Any:
    """The zero-padded decimal text of ``0 .. 10**width - 1``, one little-endian
    integer of ``width`` bytes per number (``width`` 1, 2 or 4)."""
    import numpy as np

    text = "".join(f"{i:0{width}d}" for i in range(10**width)).encode("ascii")
    return np.frombuffer(text, dtype=f"<u{width}")


def _fixed_width_text(col: _Array) -> _Array | None:
    """An integer column's decimal text when every value is non-negative, not null and
    has the same number of digits (epoch seconds: 10 digits from 2001 to 2286);
    ``None`` otherwise (format as usual).

    The same bytes as pyarrow's integer formatting, at about half its cost: each row
    is cut into groups of 1, 2 or 4 digits (``divmod``), and each group's text is
    taken from :func:`_digit_table` into a fixed-width record; the records are the
    string array's data, and its offsets step by the width.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if col.null_count or len(col) == 0:
        return None
    lo_hi = pc.min_max(col)
    lo, hi = int(lo_hi["min"].as_py()), int(lo_hi["max"].as_py())
    digits = len(str(hi))
    if lo < 0 or len(str(lo)) != digits or digits > _MAX_FIXED_DIGITS:
        return None
    fours, left = divmod(digits, 4)
    widths = {0: [], 1: [1], 2: [2], 3: [1, 2]}[left] + [4] * fours
    record = np.dtype(
        {
            "names": [f"g{i}" for i in range(len(widths))],
            "formats": [_digit_table(w).dtype for w in widths],
            "offsets": list(itertools.accumulate([0, *widths[:-1]])),
            "itemsize": digits,
        }
    )
    rest = np.asarray(col.to_numpy(zero_copy_only=False)).astype(np.int64, copy=False)
    out = np.empty(len(rest), dtype=record)
    for i in range(len(widths) - 1, 0, -1):  # from the last digits to the first
        rest, group = np.divmod(rest, 10 ** widths[i])
        out[f"g{i}"] = _digit_table(widths[i]).take(group)
    out["g0"] = _digit_table(widths[0]).take(rest)
    n = len(out)
    offsets = np.arange(0, digits * n + 1, digits, dtype=np.int64)
    kind: pa.DataType = pa.large_string()
    if offsets[-1] < 2**31:
        kind, offsets = pa.string(), offsets.astype(np.int32)
    buffers = [None, pa.py_buffer(offsets.data), pa.py_buffer(out.data)]
    return pa.Array.from_buffers(kind, n, buffers)


def _polars(rows: int) -> Any | None:
    """The polars module, when it is installed and worth importing for an input of
    ``rows`` rows so far (:data:`_POLARS_MIN_ROWS`, or already imported); else None."""
    if rows < _POLARS_MIN_ROWS and "polars" not in sys.modules:
        return None
    return _polars_module()


@functools.cache
def _polars_module() -> Any | None:
    """polars, imported once; None when it is not installed, or does not import (then
    pyarrow writes the same bytes, and the reason is logged)."""
    try:
        return importlib.import_module("polars")  # optional: the fast extra
    except ModuleNotFoundError:
        return None
    except Exception as exc:  # a broken install must not stop a write pyarrow can do
        logger.warning("polars is installed but did not import (%s); using pyarrow", exc)
        return None


def _polars_renders(columns: Sequence[_Array]) -> bool:
    """Whether polars writes these converted columns as pyarrow would: integers, and
    strings or dictionaries of strings that need no quotes."""
    import pyarrow.types as pat

    return all(
        pat.is_integer(t) or _is_text(t) or (pat.is_dictionary(t) and _is_text(t.value_type))
        for t in (c.type for c in columns)
    )


def _polars_csv(polars: Any, columns: Sequence[_Array], names: Sequence[str]) -> Any:
    """The CSV text of integer and string (or dictionary) columns, rendered by polars.

    The same bytes as pyarrow's writer gives them: integers as their digits, strings
    as they are (none needs quotes: :func:`_needs_render` sent those elsewhere; an
    empty string, which polars would quote, stays an empty field with ``never``), a
    null as an empty field.
    """
    import pyarrow as pa

    out = io.BytesIO()
    frame = polars.from_arrow(pa.RecordBatch.from_arrays(list(columns), names=list(names)))
    frame.write_csv(out, include_header=False, quote_style="never")
    return out.getbuffer()


def _csv_bytes(
    columns: Sequence[_Array],
    schema: Schema,
    row_offset: int,
    texts: Sequence[_IntText | None] = (),
    polars: Any | None = None,
) -> Any:
    """The CSV text of one slice (no header): polars's or pyarrow's writer, or
    :func:`_render`.

    ``texts``: per column, the :class:`_IntText` of its integers (or ``None``);
    ``polars``: the module (:func:`_polars`), to render integer and string columns.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.types as pat

    converted = [
        _convert(col, f, for_csv=True, row_offset=row_offset)
        for col, f in zip(columns, schema.fields, strict=True)
    ]
    if not converted or len(converted[0]) == 0:
        return b""
    if _needs_render(converted, schema.fields):
        return _render(converted, schema.fields)
    if polars is not None and _polars_renders(converted):
        return _polars_csv(polars, converted, schema.names)
    for i, col in enumerate(converted):  # integers need no quotes: encoded after the test
        if not pat.is_integer(col.type):
            continue
        text = texts[i] if i < len(texts) else None
        if text is not None:
            converted[i] = text.encode(col)
        elif (fixed := _fixed_width_text(col)) is not None:
            converted[i] = fixed
    out = pa.BufferOutputStream()
    batch = pa.RecordBatch.from_arrays(converted, names=list(schema.names))
    options = pacsv.WriteOptions(
        include_header=False, quoting_style="none", batch_size=_WRITER_BATCH
    )
    pacsv.write_csv(batch, out, options)
    return out.getvalue()


def _needs_render(columns: Sequence[_Array], fields: Sequence[Field]) -> bool:
    """Whether a chunk has a textual field or a string with a character that needs quotes."""
    return any(f.textual or _has_special(col) for col, f in zip(columns, fields, strict=True))


def _has_special(col: _Array) -> bool:
    """Scan a string column's data buffer for ``, " \\ \\r \\n`` (numpy, no per-row work)."""
    import numpy as np
    import pyarrow.types as pat

    if pat.is_dictionary(col.type):
        col = col.dictionary
    if not _is_text(col.type) or len(col) == 0:
        return False
    offsets_buf, data_buf = col.buffers()[1], col.buffers()[2]
    if data_buf is None or offsets_buf is None:
        return False
    width = np.int64 if pat.is_large_string(col.type) else np.int32
    offsets = np.frombuffer(memoryview(offsets_buf), dtype=width, count=len(col) + 1 + col.offset)
    start, end = int(offsets[col.offset]), int(offsets[col.offset + len(col)])
    data = np.frombuffer(memoryview(data_buf), dtype=np.uint8, count=end - start, offset=start)
    return any(bool((data == byte).any()) for byte in _SPECIAL)


def _render(columns: Sequence[_Array], fields: Sequence[Field]) -> pa.Buffer:
    """CSV lines for one chunk with pyarrow.compute; same text as the CSV writer gives."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    texts = []
    for col, f in zip(columns, fields, strict=True):
        if pat.is_dictionary(col.type):
            col = col.dictionary_decode()
        is_text = _is_text(col.type)
        text = col.cast(pa.large_string())
        if f.textual:
            for brk in ("\r\n", "\r", "\n"):
                text = pc.replace_substring(text, brk, " ")
            text = _quote(text)
        elif is_text:
            special = pc.match_substring_regex(text, _SPECIAL_RE)
            if pc.any(special).as_py():
                text = pc.if_else(special, _quote(text), text)
        texts.append(text)
    large = pa.large_string()
    lines = pc.binary_join_element_wise(
        *texts, pa.scalar(",", large), null_handling="replace", null_replacement=""
    )
    lines = pc.binary_join_element_wise(lines, pa.scalar("\n", large), pa.scalar("", large))
    offsets = np.frombuffer(memoryview(lines.buffers()[1]), dtype=np.int64)
    start, end = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    data: pa.Buffer = lines.buffers()[2]
    return data.slice(start, end - start)


def _quote(text: _Array) -> _Array:
    """``a"b\\c`` -> ``"a\\"b\\\\c"``: Personalize's backslash escaping (see module doc)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.replace_substring(text, "\\", "\\\\")
    text = pc.replace_substring(text, '"', '\\"')
    quote = pa.scalar('"', pa.large_string())
    return pc.binary_join_element_wise(quote, text, quote, pa.scalar("", pa.large_string()))


@contextmanager
def _atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """A new file next to ``path``, renamed over it only if the block succeeds."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # os.open with 0o666 lets the umask decide the mode, as open() would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with open(fd, "wb") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
