"""One way to turn personakit's result objects into JSON (the CLI's ``--json``).

:func:`jsonable` walks an attrs instance field by field (plus the computed
properties listed in :data:`PROPERTIES`, minus the fields in :data:`EXCLUDED`)
and converts what JSON lacks: datetimes and dates to ISO 8601 text, durations to
seconds, ``Decimal`` to float, enums to their value, paths to text, mappings to
objects with text keys, tuples and sets to arrays, NaN and infinities to
``null``, a pandas DataFrame to an array of row objects. :func:`dumps` is the
document the CLI prints. Keys are attribute names, so they are as stable as the
Python API (docs/cost.md, docs/sweep.md and docs/getting-started.md list them).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import attrs

__all__ = ["EXCLUDED", "PROPERTIES", "dumps", "jsonable"]

#: Computed properties added to an attrs class's fields, by class name.
PROPERTIES: Mapping[str, tuple[str, ...]] = {
    "Option": (
        "name",
        "fits",
        "need_gib",
        "free_gib",
        "usd_per_hour",
        "usd_per_month",
        "usd_per_million_tokens",
        "workload_instances",
        "workload_usd_per_month",
    ),
    "Advice": ("names",),
    "LabRow": (
        "exists",
        "verdict",
        "usd_per_hour",
        "usd_per_month",
        "tokens_per_second",
        "usd_per_million_tokens",
        "need_gib",
        "available_gib",
        "headroom_gib",
        "memory_utilisation",
        "over_utilisation_limit",
        "price_as_of",
        "price_source",
    ),
    "Claim": ("text",),
    "Estimate": ("total_usd", "complete", "verified"),
    "Inventory": ("usd_per_hour", "usd_per_month", "complete", "gaps"),
    "BudgetStatus": ("over_budget",),
    "SweepReport": ("ok",),
    "DataReport": ("ok",),
    "ValidationReport": ("ok",),
}

#: Fields left out, by class name: Arrow tables, schemas and the histograms behind the
#: diagnostics (a validate report: its ``stats`` summarise them), the inventory a budget
#: status repeats (``cost running`` prints it once), the comparison behind a claim check
#: (its figures are the check's ratios and the lab's rows).
EXCLUDED: Mapping[str, frozenset[str]] = {
    "DataReport": frozenset({"histograms"}),
    "ValidationReport": frozenset({"schemas", "tables", "histograms"}),
    "BudgetStatus": frozenset({"inventory"}),
    "ClaimCheck": frozenset({"comparison"}),
}


def _key(key: Any) -> str:
    if isinstance(key, enum.Enum):
        return str(key.value)
    return str(key)


def jsonable(value: Any) -> Any:
    """``value`` as JSON-ready builtins (dict, list, str, int, float, bool, None)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, decimal.Decimal):
        return jsonable(float(value))
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, PurePath):
        return str(value)
    cls = type(value)
    if attrs.has(cls):
        name = cls.__name__
        skip = EXCLUDED.get(name, frozenset())
        out = {
            f.name: jsonable(getattr(value, f.name))
            for f in attrs.fields(cls)
            if f.name not in skip and not f.name.startswith("_")
        }
        for prop in PROPERTIES.get(name, ()):
            out[prop] = jsonable(getattr(value, prop))
        return out
    if isinstance(value, Mapping):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [jsonable(v) for v in items]
    if cls.__name__ == "DataFrame" and hasattr(value, "to_dict"):  # pandas, not imported
        return [jsonable(row) for row in value.to_dict(orient="records")]
    if hasattr(value, "item") and callable(value.item):  # a numpy scalar
        try:
            return jsonable(value.item())
        except (TypeError, ValueError):
            pass
    if hasattr(value, "tolist") and callable(value.tolist):  # a numpy array
        return jsonable(value.tolist())
    return str(value)


def dumps(value: Any) -> str:
    """The JSON document of ``value`` (strict JSON: no NaN), indented for people."""
    return json.dumps(jsonable(value), indent=2, allow_nan=False)
