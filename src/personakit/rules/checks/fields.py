"""The checks of :func:`~personakit.rules.validate.validate` that look at one column at a time.

Part of :mod:`personakit.rules` (pure, no I/O): column names, nulls, whether values
can take their field's type, id and string lengths, numbers and epoch-seconds
timestamps. Limits: https://docs.aws.amazon.com/personalize/latest/dg/limits.html.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from personakit.rules.arrow import is_string
from personakit.rules.checks.columns import (
    as_array,
    char_lengths,
    greater_than,
    is_integer,
    is_joinable_list,
    is_numeric,
    is_string_list,
    is_temporal,
    largest,
    one_array,
    plain_strings,
    seconds_range,
    to_bools,
    to_floats,
    utf8_length,
)
from personakit.rules.checks.run import Data, Run
from personakit.rules.facts import (
    EPOCH_UNITS,
    MAX_CATEGORICAL_CHARS,
    MAX_ID_CHARS,
    MAX_TEXTUAL_CHARS,
    MAX_TEXTUAL_CHARS_CJK,
    SECONDS_MAX,
)
from personakit.rules.schema import (
    EXPIRATION_FIELDS,
    ID_FIELDS,
    NUMERIC_TYPES,
    RESERVED,
    TIMESTAMP_FIELDS,
    DatasetType,
    Field,
    Reserved,
    Schema,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from personakit.rules.checks.columns import BoolArray, Column

__all__ = ["check_fields"]

#: Timestamps up to a day ahead of ``now`` are not reported as in the future.
FUTURE_SLACK_S = 86_400
#: The values each Avro number type holds (32- and 64-bit integers, 32-bit floats;
#: https://avro.apache.org/docs/1.11.1/specification/).
_RANGES = {
    "int": (-(2.0**31), 2.0**31 - 1),
    "long": (-(2.0**63), 2.0**63 - 1),
    "float": (-3.4028234663852886e38, 3.4028234663852886e38),
}
_NUMERIC_STRING = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
_CJK = "[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]"


def _reserved(schema: Schema) -> Mapping[str, Reserved]:
    key = (schema.dataset_type, schema.domain)
    return RESERVED[key] if key in RESERVED else RESERVED[(schema.dataset_type, None)]


def _check_columns(data: Data, run: Run) -> None:
    names = list(data.table.column_names)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        run.add(
            "error",
            "duplicate-columns",
            f"{data.dtype.value}: duplicate column names {', '.join(dup)}",
            column=dup[0],
            count=len(dup),
        )
    for f in data.schema.fields:
        if f.column not in names:
            run.add(
                "error",
                "column-missing",
                f"{data.dtype.value}: the schema has {f.name} but the frame has no column "
                f"{f.column!r}; Personalize rejects a CSV without every schema column",
                column=f.column,
                count=data.n,
                fix=f"add the column, or map yours with columns={{'yours': {f.name!r}}}",
            )
    used = {f.column for f in data.schema.fields}
    extra = [n for n in names if n not in used]
    if extra and not data.inferred:
        run.add(
            "warning",
            "column-not-in-schema",
            f"{data.dtype.value}: columns not in the schema are not imported: {', '.join(extra)}",
            column=extra[0],
            count=len(extra),
            fix="drop them, or add fields for them to the schema",
        )


def _check_nulls(data: Data, f: Field, col: Column, run: Run) -> None:
    import pyarrow.compute as pc

    if not col.null_count:
        return
    rule = _reserved(data.schema).get(f.name)
    required = bool(rule is not None and rule.required)
    if not required and f.nullable:
        return
    mask = to_bools(pc.is_null(col))
    if required:
        if data.inferred:
            run.required_null.add((data.dtype, f.name))
        run.rows(
            "error",
            "required-null",
            f"{{n}} rows have no {f.name}, which Personalize requires",
            data=data,
            field=f.name,
            mask=mask,
            fix=f"drop those rows: df.dropna(subset=[{f.column!r}])",
        )
    else:
        run.rows(
            "error",
            "null-not-nullable",
            f"{{n}} rows have no {f.name}, which the schema does not allow",
            data=data,
            field=f.name,
            mask=mask,
            fix='make the field nullable (["null", type]) or fill the values',
        )


def _check_type(data: Data, f: Field, col: Column, run: Run) -> bool:
    """Can the column be written as the field's type? Reports it when not."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    t = col.type
    if pat.is_null(t):
        return False
    if f.type in NUMERIC_TYPES:
        if is_numeric(t) or is_temporal(t) or pat.is_boolean(t):
            return True
        if is_string(t):
            numeric = pc.match_substring_regex(plain_strings(one_array(col)), _NUMERIC_STRING)
            bad = ~to_bools(numeric) & ~to_bools(pc.is_null(col))
            tip = " (pk.prep.epoch_seconds for dates)" if f.name in TIMESTAMP_FIELDS else ""
            run.rows(
                "error",
                "type-mismatch",
                f"{{n}} values of {f.name} ({f.type}) are not numbers",
                data=data,
                field=f.name,
                mask=bad,
                fix=f"convert the column to numbers{tip}",
            )
            return False
    elif f.type == "string":
        if is_string(t) or is_numeric(t) or is_temporal(t) or is_string_list(t):
            return True
        if pat.is_boolean(t) or t == pa.null():
            return True
    elif f.type == "boolean" and pat.is_boolean(t):
        return True
    run.add(
        "error",
        "type-mismatch",
        f"{data.dtype.value}: a column of {t} cannot be written as {f.name} ({f.type})",
        column=f.column,
        count=data.n,
        fix=f"convert the column to {f.type} or change the schema",
    )
    return False


def _check_ids(data: Data, f: Field, run: Run) -> None:
    """Length and emptiness of id values, computed on the distinct values
    (https://docs.aws.amazon.com/personalize/latest/dg/limits.html)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = data.codes(f.name)
    if codes is None or not is_string(codes.uniques.type):
        return
    lengths = as_array(pc.fill_null(utf8_length(codes.uniques), pa.scalar(0, pa.int64())))
    too_long = np.asarray(lengths.to_numpy(zero_copy_only=False)) > MAX_ID_CHARS
    _too_long(data, f, codes.rows(too_long) if too_long.any() else np.zeros(0, dtype=bool), run)
    trimmed = as_array(pc.utf8_trim_whitespace(cast(Any, codes.uniques)))
    blank = pc.equal(utf8_length(trimmed), pa.scalar(0, pa.int64()))
    empty = to_bools(blank)
    run.rows(
        "error",
        "id-empty",
        f"{{n}} {f.name} values are empty or blank",
        data=data,
        field=f.name,
        mask=codes.rows(empty) if empty.any() else np.zeros(0, dtype=bool),
        fix="drop those rows or give them real ids",
    )


def _check_integer_ids(data: Data, f: Field, col: Column, run: Run) -> None:
    """Integer ids are string ids written as their digits: the same length limit
    (https://docs.aws.amazon.com/personalize/latest/dg/limits.html). The longest text
    is that of the smallest or the largest value, so only those two are measured
    unless one is too long."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if col.null_count == len(col):
        return
    ends = pc.min_max(col)
    if max(len(str(ends["min"].as_py())), len(str(ends["max"].as_py()))) <= MAX_ID_CHARS:
        return
    lengths = utf8_length(as_array(one_array(col).cast(pa.string())))
    _too_long(data, f, greater_than(lengths, MAX_ID_CHARS), run)


def _too_long(data: Data, f: Field, mask: BoolArray, run: Run) -> None:
    """Report the ids ``mask`` flags as longer than Personalize's limit."""
    run.rows(
        "error",
        "id-too-long",
        f"{{n}} {f.name} values are longer than {MAX_ID_CHARS} characters",
        data=data,
        field=f.name,
        mask=mask,
        fix="shorten the ids, e.g. hash them (hashlib.sha256(id.encode()).hexdigest())",
    )


def _check_text(data: Data, f: Field, col: Column, run: Run) -> None:
    """Categorical, IMPRESSION and Items string values <= 1000; textual <= 20,000
    (https://docs.aws.amazon.com/personalize/latest/dg/limits.html)."""
    import numpy as np
    import pyarrow.compute as pc

    impression = f.name == "IMPRESSION"
    if not (f.textual or f.categorical or impression or data.dtype is DatasetType.ITEMS):
        return
    lengths = char_lengths(col)
    longest = largest(lengths)
    if f.textual:
        if longest <= MAX_TEXTUAL_CHARS_CJK:
            return
        flagged = greater_than(lengths, MAX_TEXTUAL_CHARS)
        middle = np.flatnonzero(greater_than(lengths, MAX_TEXTUAL_CHARS_CJK) & ~flagged)
        if len(middle):
            texts = plain_strings(one_array(col.take(middle)))
            flagged[middle[to_bools(pc.match_substring_regex(texts, _CJK))]] = True
        run.rows(
            "warning",
            "textual-too-long",
            f"{{n}} {f.name} texts are longer than {MAX_TEXTUAL_CHARS:,} characters "
            f"({MAX_TEXTUAL_CHARS_CJK:,} in Chinese or Japanese); Personalize truncates them",
            data=data,
            field=f.name,
            mask=flagged,
            fix=f"keep the start: df[{f.column!r}].str.slice(0, {MAX_TEXTUAL_CHARS})",
        )
        return
    if longest <= MAX_CATEGORICAL_CHARS:
        return
    what = "IMPRESSION lists" if impression else f"{f.name} values"
    run.rows(
        "error",
        "impression-too-long" if impression else "categorical-too-long",
        f"{{n}} {what} are longer than {MAX_CATEGORICAL_CHARS} characters (lists measured "
        "|-joined); the import job fails",
        data=data,
        field=f.name,
        mask=greater_than(lengths, MAX_CATEGORICAL_CHARS),
        fix="keep fewer values per row"
        if impression or f.categorical
        else "make it the textual field (Items allow one) or shorten it",
    )


def _check_numbers(data: Data, f: Field, col: Column, run: Run) -> None:
    """Non-finite values, values outside the Avro type, fractions in integer fields."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pat

    t = col.type
    if not is_numeric(t):
        return
    if pat.is_floating(t):
        run.rows(
            "error",
            "numeric-not-finite",
            f"{{n}} {f.name} values are infinite or NaN",
            data=data,
            field=f.name,
            mask=~to_bools(pc.is_finite(col)) & ~to_bools(pc.is_null(col)),
            fix="replace them with null (in a nullable field) or a finite number",
        )
    if f.type not in _RANGES or col.null_count == len(col):
        return
    lo_hi = pc.min_max(col)
    lo, hi = float(lo_hi["min"].as_py()), float(lo_hi["max"].as_py())
    low, high = _RANGES[f.type]
    whole = f.type in ("int", "long")
    if lo < low or hi > high:
        values = to_floats(col)  # not cached: out of range is rare
        if whole and pat.is_unsigned_integer(t):
            outside = to_bools(pc.greater(col, pa.scalar(2**63 - 1, pa.uint64())))
        else:
            with np.errstate(invalid="ignore"):
                outside = np.isfinite(values) & ((values < low) | (values > high))
        run.rows(
            "error",
            "numeric-out-of-range",
            f"{{n}} {f.name} values do not fit the schema's {f.type}",
            data=data,
            field=f.name,
            mask=outside,
            fix="use a wider type (long, double) or rescale the values",
        )
    if whole and pat.is_floating(t) and f.name not in TIMESTAMP_FIELDS:
        values = to_floats(col)  # not cached: such fields are rare
        with np.errstate(invalid="ignore"):
            fraction = np.isfinite(values) & (values != np.floor(values))
        run.rows(
            "warning",
            "numeric-fraction",
            f"{{n}} {f.name} values have fractions, which the {f.type} field drops",
            data=data,
            field=f.name,
            mask=fraction,
            fix="round them, or make the field a float/double",
        )


def _check_timestamps(data: Data, f: Field, col: Column, run: Run) -> None:
    """Epoch seconds: not ms/us/ns, not 0, not negative, not future, whole
    (https://docs.aws.amazon.com/personalize/latest/dg/interactions-datasets.html)."""
    import numpy as np
    import pyarrow.types as pat

    t = col.type
    temporal = is_temporal(t)
    limit = run.now + FUTURE_SLACK_S
    ends = seconds_range(col)
    if ends is not None:  # whole numbers: each rule below needs an extreme past its bound
        lo, hi = ends
        future = f.name not in EXPIRATION_FIELDS and hi > limit
        if lo > 0 and (temporal or hi <= SECONDS_MAX) and not future:
            return
    seconds = data.floats(f.name)
    if seconds is None or not len(seconds):
        return
    lo, hi = float(np.fmin.reduce(seconds)), float(np.fmax.reduce(seconds))  # NaN-skipping
    if math.isnan(lo):
        return
    finite = np.isfinite(seconds) if math.isinf(lo) or math.isinf(hi) else True
    name, source = f.name, f.column
    if not temporal and hi > SECONDS_MAX:
        upper = math.inf
        for unit, code, low, factor in EPOCH_UNITS:
            div = f"{factor:,.0f}".replace(",", "_")
            run.rows(
                "error",
                f"timestamp-{unit}",
                f"{{n}} {name} values look like epoch {unit}; Personalize reads epoch seconds",
                data=data,
                field=name,
                mask=finite & (seconds > low) & (seconds <= upper),
                fix=f"divide by {div}: pk.prep.epoch_seconds(df[{source!r}], unit={code!r}) "
                f"or df[{source!r}] // {div}",
            )
            upper = low
    if lo <= 0:
        run.rows(
            "error",
            "timestamp-zero",
            f"{{n}} {name} values are 0 (1970-01-01), usually a missing value",
            data=data,
            field=name,
            mask=seconds == 0,
            fix="drop those rows or fill in the real time",
        )
        run.rows(
            "error",
            "timestamp-negative",
            f"{{n}} {name} values are negative (before 1970)",
            data=data,
            field=name,
            mask=(seconds < 0) & finite,
            fix="check the unit and the epoch of the source",
        )
    if name not in EXPIRATION_FIELDS and hi > limit:
        run.rows(
            "warning",
            "timestamp-future",
            f"{{n}} {name} values are more than a day in the future",
            data=data,
            field=name,
            mask=(seconds > limit) & ((seconds <= SECONDS_MAX) | temporal) & finite,
            fix="check the clock and time zone of the source (or pass now=)",
        )
    if pat.is_floating(t) or pat.is_decimal(t):
        run.rows(
            "warning",
            "timestamp-fraction",
            f"{{n}} {name} values have fractions of a second, which are truncated",
            data=data,
            field=name,
            mask=finite & (seconds <= SECONDS_MAX) & (seconds != np.floor(seconds)),
            fix=f"pk.prep.epoch_seconds(df[{source!r}]) floors them to int64",
        )


def _record(
    out: list[bool],
    check: Callable[[Data, Field, Column, Run], bool],
    data: Data,
    f: Field,
    col: Column,
    run: Run,
) -> None:
    out.append(check(data, f, col, run))


def check_fields(data: Data, run: Run) -> None:
    """Every check of one column at a time: names, nulls, types, ids, lengths, numbers,
    timestamps."""
    _check_columns(data, run)
    for f in data.schema.fields:
        col = data.col(f.name)
        if col is None:
            continue
        run.guard(data, f"{f.column} nulls", partial(_check_nulls, data, f, col, run))
        typed: list[bool] = []
        run.guard(data, f"{f.column} type", partial(_record, typed, _check_type, data, f, col, run))
        if typed != [True]:
            continue
        if f.type == "string" and (is_string(col.type) or is_joinable_list(col.type)):
            if f.name in ID_FIELDS:
                run.guard(data, f"{f.column} ids", partial(_check_ids, data, f, run))
            else:
                run.guard(data, f"{f.column} lengths", partial(_check_text, data, f, col, run))
        elif f.type == "string" and f.name in ID_FIELDS and is_integer(col.type):
            run.guard(data, f"{f.column} ids", partial(_check_integer_ids, data, f, col, run))
        if f.type in NUMERIC_TYPES:
            run.guard(data, f"{f.column} numbers", partial(_check_numbers, data, f, col, run))
            if f.name in TIMESTAMP_FIELDS:
                run.guard(
                    data, f"{f.column} timestamps", partial(_check_timestamps, data, f, col, run)
                )
