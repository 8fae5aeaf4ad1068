"""personakit: typed Amazon Personalize and SageMaker JumpStart workflows, with an offline twin.

One import, few nouns::

    import personakit as pk

    schema = pk.Schema.infer(interactions, "interactions")
    report = pk.validate(interactions, items=items)
    report.raise_for_problems()
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from personakit import iam
from personakit._csv import CsvResult, write_csv
from personakit._report import DataReport, Problem
from personakit._version import __version__
from personakit.errors import (
    BudgetExceededError,
    ConfigurationError,
    PersonakitError,
    QuotaExceededError,
    ResourceFailedError,
    ResourceStoppedError,
    ValidationError,
    WaitTimeoutError,
)
from personakit.schema import DatasetType, Domain, Field, Schema
from personakit.session import AccessReport, Session
from personakit.validate import validate

if TYPE_CHECKING:
    from personakit import datasets as datasets
    from personakit import prep as prep

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: Submodules reached as attributes (``pk.prep``), imported on first use so that
#: ``import personakit`` stays cheap.
_LAZY_SUBMODULES = frozenset({"datasets", "prep"})


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AccessReport",
    "BudgetExceededError",
    "ConfigurationError",
    "CsvResult",
    "DataReport",
    "DatasetType",
    "Domain",
    "Field",
    "PersonakitError",
    "Problem",
    "QuotaExceededError",
    "ResourceFailedError",
    "ResourceStoppedError",
    "Schema",
    "Session",
    "ValidationError",
    "WaitTimeoutError",
    "__version__",
    "datasets",
    "iam",
    "prep",
    "validate",
    "write_csv",
]
