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

from personakit import errors, iam
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
    TeardownError,
    ValidationError,
    WaitTimeoutError,
)
from personakit.schema import DatasetType, Domain, Field, Schema
from personakit.session import AccessReport, Session
from personakit.validate import validate

if TYPE_CHECKING:
    from personakit import cost as cost
    from personakit import datasets as datasets
    from personakit import llm as llm
    from personakit import prep as prep
    from personakit._resource import Timing
    from personakit.batch import BatchJob
    from personakit.campaign import (
        Campaign,
        Promotion,
        Recommendation,
        Recommendations,
        Recommender,
    )
    from personakit.cost import CostGuard
    from personakit.cost.sweep import sweep
    from personakit.dataset import Dataset, DatasetGroup, ImportJob
    from personakit.events import EventTracker, PutResult
    from personakit.filters import Filter
    from personakit.llm import Generation, JumpStartCatalog, LLMEndpoint
    from personakit.solution import Solution, SolutionMetrics

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: Submodules reached as attributes (``pk.prep``), imported on first use so that
#: ``import personakit`` stays cheap.
_LAZY_SUBMODULES = frozenset({"cost", "datasets", "llm", "prep"})

#: Classes that live in modules importing pandas or boto3: name -> module.
_LAZY_ATTRIBUTES = {
    "BatchJob": "batch",
    "Campaign": "campaign",
    "CostGuard": "cost",
    "Dataset": "dataset",
    "DatasetGroup": "dataset",
    "EventTracker": "events",
    "Filter": "filters",
    "Generation": "llm",
    "ImportJob": "dataset",
    "JumpStartCatalog": "llm",
    "LLMEndpoint": "llm",
    "Promotion": "campaign",
    "PutResult": "events",
    "Recommendation": "campaign",
    "Recommendations": "campaign",
    "Recommender": "campaign",
    "Solution": "solution",
    "SolutionMetrics": "solution",
    "Timing": "_resource",
    "sweep": "cost",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    module = _LAZY_ATTRIBUTES.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_SUBMODULES, *_LAZY_ATTRIBUTES})


__all__ = [
    "AccessReport",
    "BatchJob",
    "BudgetExceededError",
    "Campaign",
    "ConfigurationError",
    "CostGuard",
    "CsvResult",
    "DataReport",
    "Dataset",
    "DatasetGroup",
    "DatasetType",
    "Domain",
    "EventTracker",
    "Field",
    "Filter",
    "Generation",
    "ImportJob",
    "JumpStartCatalog",
    "LLMEndpoint",
    "PersonakitError",
    "Problem",
    "Promotion",
    "PutResult",
    "QuotaExceededError",
    "Recommendation",
    "Recommendations",
    "Recommender",
    "ResourceFailedError",
    "ResourceStoppedError",
    "Schema",
    "Session",
    "Solution",
    "SolutionMetrics",
    "TeardownError",
    "Timing",
    "ValidationError",
    "WaitTimeoutError",
    "__version__",
    "cost",
    "datasets",
    "errors",
    "iam",
    "llm",
    "prep",
    "sweep",
    "validate",
    "write_csv",
]
