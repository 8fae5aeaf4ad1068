"""What a frame may hold: column labels as text, and values Arrow can hold, checked in one place.

Part of :mod:`personakit.rules` (pure, no I/O). Every public entry point that takes data
(``Schema.infer``, ``validate``, the ``pk.prep`` helpers, ``write_csv``) reads a pandas
frame through here, so odd input gets the same answer everywhere: one
:class:`~personakit.ValidationError` whose problems name the column, the rule and
example rows, never a ``KeyError`` or an Arrow error from deep inside.

* Labels (:func:`text_labels`): a column is named by the text of its label, as Arrow
  names it (a headerless CSV's ``0``, ``1`` ... are ``"0"``, ``"1"``; ``None`` is
  ``"None"``). Labels whose text collides, or that are not valid Unicode text (lone
  surrogates), are problems.
* Kinds (:func:`object_problems`): object columns are looked at before anything converts
  them, at C speed (``pandas.api.types.infer_dtype``); only a column that mixes kinds or
  holds ``Decimal`` objects is scanned value by value, for what neither pandas nor Arrow
  survives: ``Decimal`` infinities and signalling NaNs (pandas cannot even test a
  signalling NaN for missing), and numpy ``datetime64`` objects mixed with other numpy
  scalars (on which pyarrow's type inference crashes the process).
* Conversion (:func:`explain`, :func:`text_values`): a column Arrow cannot convert is
  diagnosed after the conversion fails (lone surrogates, integers beyond 64 bits,
  decimals beyond 76 digits, mixed types), so clean data pays nothing for the diagnosis.
* Arrow types (:func:`normalise_array`, :func:`normalise_table`): ``float16`` is read as
  ``float32`` (same values; Arrow has few kernels for half floats) and a dictionary of
  nothing (an empty categorical) as a column of nulls.

The CSV Personalize imports is UTF-8
(https://docs.aws.amazon.com/personalize/latest/dg/data-prep-formatting.html) and its
numbers are Avro ``int``/``long``/``float``/``double``
(https://docs.aws.amazon.com/personalize/latest/dg/custom-datasets-and-schemas.html).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from personakit.rules.facts import DG
from personakit.rules.report import DataReport, Problem

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "CONVERSION_ERRORS",
    "FORMATTING_URL",
    "TYPES_URL",
    "decodes",
    "explain",
    "invalid_text",
    "is_text_like",
    "is_utf8",
    "label_problems",
    "label_text",
    "normalise_array",
    "normalise_table",
    "not_text",
    "object_problems",
    "raise_problems",
    "text_labels",
    "text_values",
]

#: Where Personalize says its CSV files are UTF-8 and how they are formatted.
FORMATTING_URL = DG + "data-prep-formatting.html"
#: Where Personalize lists the Avro types a field can have.
TYPES_URL = DG + "custom-datasets-and-schemas.html"

#: What converting a pandas column to Arrow raises on values it cannot hold: Arrow's
#: errors, and Python's from the objects themselves (``OverflowError`` for integers
#: beyond 64 bits, ``UnicodeEncodeError`` for lone surrogates, ``TypeError`` for a
#: ``Decimal("Infinity")``, ``decimal.InvalidOperation`` for a signalling NaN).
CONVERSION_ERRORS: tuple[type[BaseException], ...] = (
    ArithmeticError,  # OverflowError, decimal.InvalidOperation
    TypeError,  # pyarrow.ArrowTypeError too
    ValueError,  # pyarrow.ArrowInvalid and UnicodeEncodeError too
    NotImplementedError,  # pyarrow.ArrowNotImplementedError
)

#: ``infer_dtype`` results of object columns that are scanned value by value.
_SCANNED = frozenset({"mixed", "mixed-integer", "mixed-integer-float", "decimal", "unknown-array"})
#: Kinds that are no value at all.
_MISSING_KINDS = ("NoneType", "NaTType", "NAType")


# --------------------------------------------------------------------------- labels


def label_text(label: object) -> str:
    """The text a column label is known by: ``str(label)``, lone surrogates escaped."""
    text = label if isinstance(label, str) else str(label)
    if not is_utf8(text):
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def text_labels(frame: pd.DataFrame, subject: str = "frame") -> pd.DataFrame:
    """The frame with every column label as text (no data copied), or a ValidationError
    listing the labels that are not valid text and the texts two labels share."""
    import pandas as pd

    labels = list(frame.columns)
    plain = all(type(c) is str for c in labels)
    if plain and len(set(labels)) == len(labels) and all(map(is_utf8, labels)):
        return frame
    problems = label_problems(labels)
    raise_problems(problems, subject)
    out = frame.copy(deep=False)
    out.columns = pd.Index([label_text(c) for c in labels], dtype=object)
    return out


def label_problems(labels: Sequence[object]) -> list[Problem]:
    """``column-label`` for labels that are not valid text, ``duplicate-columns`` for
    texts two labels share (``1`` and ``"1"``, or the same name twice)."""
    problems = []
    texts = [label_text(c) for c in labels]
    for label, text in zip(labels, texts, strict=True):
        if isinstance(label, str) and not is_utf8(label):
            problems.append(
                Problem.with_examples(
                    "error",
                    "column-label",
                    f"the column name {text!r} is not valid Unicode text (a lone surrogate), so "
                    f"it cannot be written to the UTF-8 CSV Personalize reads ({FORMATTING_URL})",
                    column=text,
                    count=1,
                    fix="rename the column: frame.rename(columns={old: 'new_name'})",
                )
            )
    seen: dict[str, list[object]] = {}
    for label, text in zip(labels, texts, strict=True):
        seen.setdefault(text, []).append(label)
    for text, same in seen.items():
        if len(same) > 1:
            shown = ", ".join(repr(label_text(c)) if isinstance(c, str) else repr(c) for c in same)
            problems.append(
                Problem.with_examples(
                    "error",
                    "duplicate-columns",
                    f"{len(same)} columns are named {text!r} ({shown}); a Personalize CSV has "
                    f"one column per field ({FORMATTING_URL})",
                    column=text,
                    count=len(same),
                    fix="rename or drop all but one of them "
                    "(a headerless CSV: read it with names=[...])",
                )
            )
    return problems


def is_utf8(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def decodes(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def raise_problems(problems: Sequence[Problem], subject: str) -> None:
    """One ValidationError listing ``problems``, if there are any."""
    if problems:
        DataReport(problems, subject=subject).raise_for_problems()


# --------------------------------------------------------------------------- kinds


def object_problems(s: pd.Series[Any], column: str) -> list[Problem]:
    """What an object column holds that neither pandas nor Arrow survives.

    One C-speed pass (``infer_dtype``) for every object column; a Python pass over the
    values only for columns of ``Decimal`` objects or mixed kinds (lists, dicts and
    mixes are Python objects to begin with).
    """
    import numpy as np
    import pandas as pd

    if s.dtype != object or not len(s):
        return []
    if pd.api.types.infer_dtype(s, skipna=True) not in _SCANNED:
        return []
    values = s.to_numpy(dtype=object)
    kinds = set(map(type, values))
    problems = []
    if any(issubclass(k, decimal.Decimal) for k in kinds):
        bad = np.flatnonzero(
            [isinstance(v, decimal.Decimal) and (v.is_infinite() or v.is_snan()) for v in values]
        )
        if len(bad):
            problems.append(
                Problem.with_examples(
                    "error",
                    "decimal-not-finite",
                    "Decimal infinities and signalling NaNs are not numbers an Avro field can "
                    f"carry ({TYPES_URL})",
                    column=column,
                    count=len(bad),
                    rows=bad[:5].tolist(),
                    values=[values[i] for i in bad[:5]],
                    fix="replace them with None (missing) or a finite number, "
                    "or convert the column: pd.to_numeric(col, errors='coerce')",
                )
            )
    if np.datetime64 in kinds and any(
        issubclass(k, np.generic) and k is not np.datetime64 for k in kinds
    ):
        # pyarrow's type inference crashes the process on these (pyarrow 26): never hand them over
        problems.append(_mixed(values, column, "numpy datetime64 values mixed with other values"))
    return problems


def _kind_names(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    import numpy as np

    return np.array([type(v).__name__ for v in values], dtype=object)


def _present(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Values that are not None, NaN, NaT or NA (never raises, even on a signalling NaN)."""
    import numpy as np

    def missing(v: object) -> bool:
        if v is None or type(v).__name__ in _MISSING_KINDS:
            return True
        if isinstance(v, float):
            return v != v
        if isinstance(v, decimal.Decimal):
            return v.is_qnan()
        return False

    return ~np.array([missing(v) for v in values], dtype=bool)


def _mixed(values: npt.NDArray[Any], column: str, why: str | None = None) -> Problem:
    """``mixed-types``: the rows whose kind is not the column's most common one."""
    import numpy as np
    import pandas as pd

    kinds = _kind_names(values)
    present = _present(values)
    majority = pd.Series(kinds[present]).mode().iloc[0] if present.any() else ""
    odd = np.flatnonzero(present & (kinds != majority))
    if not len(odd):  # one Python type, still not one Arrow type (datetimes of two units)
        odd = np.flatnonzero(present)
    found = ", ".join(sorted(set(kinds[present])))
    return Problem.with_examples(
        "error",
        "mixed-types",
        f"values of the types {found} cannot form one column"
        + (f": {label_text(why)}" if why else "")
        + f"; a Personalize field has one type ({TYPES_URL})",
        column=column,
        count=len(odd),
        rows=odd[:5].tolist(),
        values=[values[i] for i in odd[:5]],
        fix="cast the column to one type (e.g. .astype(str))",
    )


# --------------------------------------------------------------------------- conversion


def explain(s: pd.Series[Any], column: str, exc: BaseException) -> Problem:
    """Why Arrow could not convert ``s`` (called after the conversion failed): lone
    surrogates, integers beyond 64 bits, decimals Arrow cannot store, or mixed types."""
    import numpy as np

    if s.dtype != object:
        return Problem.with_examples(
            "error",
            "unconvertible-column",
            f"a column of {s.dtype} cannot be converted ({type(exc).__name__}: {exc})",
            column=column,
            count=len(s),
            fix="convert it to numbers, strings or datetimes, or drop it",
        )
    values = s.to_numpy(dtype=object)
    bad = _invalid_text(values)
    if len(bad):
        return _invalid_text_problem(values, bad, column)
    big = np.flatnonzero(
        [
            isinstance(v, int) and not isinstance(v, bool) and not -(2**63) <= v < 2**63
            for v in values
        ]
    )
    if len(big):
        return Problem.with_examples(
            "error",
            "integer-overflow",
            "integers outside the 64-bit range cannot be stored as numbers "
            f"(Avro long: {TYPES_URL})",
            column=column,
            count=len(big),
            rows=big[:5].tolist(),
            values=[values[i] for i in big[:5]],
            fix="store these values as strings (.astype(str)); ids are strings anyway",
        )
    wide = np.flatnonzero([isinstance(v, decimal.Decimal) and _too_wide(v) for v in values])
    if len(wide):
        return Problem.with_examples(
            "error",
            "decimal-out-of-range",
            f"Decimal values with more than 76 digits cannot be stored as numbers ({TYPES_URL})",
            column=column,
            count=len(wide),
            rows=wide[:5].tolist(),
            values=[values[i] for i in wide[:5]],
            fix="convert the column to float (pd.to_numeric) or round the values",
        )
    return _mixed(values, column, f"{type(exc).__name__}: {exc}")


def _too_wide(value: decimal.Decimal) -> bool:
    if not value.is_finite():
        return False
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    return max(len(digits), len(digits) + exponent, -exponent) > 76


def _invalid_text(values: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
    """Rows holding strings that are not valid Unicode text (lone surrogates)."""
    import numpy as np

    return np.flatnonzero([isinstance(v, str) and not is_utf8(v) for v in values])


def invalid_text(
    values: npt.NDArray[Any] | Sequence[Any], rows: npt.NDArray[np.intp], column: str
) -> Problem:
    """``text-invalid``: the strings (or bytes) at ``rows`` are not valid UTF-8 text."""
    return _invalid_text_problem(values, rows, column)


def _invalid_text_problem(
    values: npt.NDArray[Any] | Sequence[Any], rows: npt.NDArray[np.intp], column: str
) -> Problem:
    return Problem.with_examples(
        "error",
        "text-invalid",
        "text that is not valid UTF-8 (strings with lone surrogates, often bytes decoded "
        "with errors='surrogateescape', or bytes in another encoding) cannot be written to "
        f"the UTF-8 CSV Personalize reads ({FORMATTING_URL})",
        column=column,
        count=len(rows),
        rows=rows[:5].tolist(),
        values=[values[i] for i in rows[:5]],
        fix="decode bytes with their encoding (col.str.decode('latin-1')); repair strings: "
        "col.str.encode('utf-8', 'replace').str.decode('utf-8')",
    )


def text_values(s: pd.Series[Any], column: str) -> pa.Array[Any]:
    """Each value's text (``str``), for a column whose values Arrow cannot hold as one
    type (``1`` and ``"a"``): nulls stay null; bytes, containers and invalid text are
    problems (a ValidationError), since their ``str`` is not the value."""
    import numpy as np
    import pyarrow as pa

    values = s.to_numpy(dtype=object)
    present = _present(values)
    wrong = np.flatnonzero(present & np.array([not is_text_like(v) for v in values], dtype=bool))
    if len(wrong):
        kinds = ", ".join(sorted({type(values[i]).__name__ for i in wrong}))
        raise_problems(
            [not_text(column, kinds, len(wrong), wrong[:5].tolist(), [values[i] for i in wrong])],
            f"column {column!r}",
        )
    bad = _invalid_text(values)
    if len(bad):
        raise_problems([_invalid_text_problem(values, bad, column)], f"column {column!r}")
    text = np.array(
        [str(v) if p else None for v, p in zip(values, present, strict=True)], dtype=object
    )
    return pa.array(text, type=pa.string())


def not_text(
    column: str, kinds: str, count: int, rows: Sequence[int] = (), values: Sequence[object] = ()
) -> Problem:
    """``not-text``: values of ``kinds`` where text is needed (ids, event types, lists'
    values), since their ``str`` is not the value."""
    return Problem.with_examples(
        "error",
        "not-text",
        f"values of type {kinds} cannot be read as text (ids, event types and categorical "
        f"values are strings in the CSV: {FORMATTING_URL})",
        column=column,
        count=count,
        rows=rows,
        values=values,
        fix="decode bytes (col.str.decode('utf-8')); join lists (pk.prep.join_multi_value) "
        "or drop the column",
    )


def is_text_like(value: object) -> bool:
    """Scalars whose ``str`` is their value as text (numbers, booleans, dates, times)."""
    import numpy as np

    if isinstance(value, (np.bytes_, np.void)):
        return False
    return isinstance(value, (str, int, float, decimal.Decimal, dt.date, dt.time, np.generic))


# --------------------------------------------------------------------------- Arrow types


def _normal_type(t: pa.DataType) -> pa.DataType:
    """The type :func:`normalise_array` gives arrays of type ``t``."""
    import pyarrow as pa
    import pyarrow.types as pat

    if pat.is_float16(t):
        return pa.float32()
    if pat.is_dictionary(t):
        value = getattr(t, "value_type")  # noqa: B009 - not in the stubs' DataType
        if pat.is_null(value):
            return pa.null()
        if pat.is_float16(value):
            return pa.dictionary(getattr(t, "index_type"), pa.float32())  # noqa: B009
    return t


def normalise_array(arr: Any) -> Any:
    """``float16`` as ``float32`` and a dictionary of nulls as nulls; others as they are."""
    import pyarrow as pa

    target = _normal_type(arr.type)
    if target == arr.type:
        return arr
    if pa.types.is_null(target):
        return pa.nulls(len(arr))
    return arr.cast(target)


def normalise_table(table: pa.Table) -> pa.Table:
    """The table with :func:`normalise_array` applied to the columns that need it."""
    import pyarrow as pa

    for i, field in enumerate(table.schema):
        target = _normal_type(field.type)
        if target != field.type:
            chunks = [normalise_array(c) for c in table.column(i).chunks]
            column = pa.chunked_array(chunks, type=cast(Any, target))
            table = table.set_column(i, pa.field(field.name, target), column)
    return table
