"""personakit: typed Amazon Personalize and SageMaker JumpStart workflows, with an offline twin.

One import, few nouns::

    import personakit as pk

    schema = pk.Schema.infer(interactions, "interactions")
    report = pk.validate(interactions, items=items)
    report.raise_for_problems()

The face is lazy: ``import personakit`` loads only :mod:`personakit.errors`; every
other name is imported from its own (public) module on first use, so a script pays
for pandas, pyarrow and botocore only when it touches them. The layers behind the
face are drawn in ``docs/architecture.md``.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from typing import TYPE_CHECKING, Any

from personakit import errors
from personakit._version import __version__ as __version__
from personakit.errors import *  # noqa: F403 - every exception at the top level

if TYPE_CHECKING:
    from personakit import cost as cost
    from personakit import llm as llm
    from personakit import marketing as marketing
    from personakit import samples as samples
    from personakit.aws import iam as iam
    from personakit.aws.access import AccessReport as AccessReport
    from personakit.aws.progress import ProgressDisplay as ProgressDisplay
    from personakit.aws.session import Session as Session
    from personakit.aws.timing import Timing as Timing
    from personakit.cost.guard import CostGuard as CostGuard
    from personakit.cost.sweep import sweep as sweep
    from personakit.llm import (
        Generation as Generation,
    )
    from personakit.llm import (
        JumpStartCatalog as JumpStartCatalog,
    )
    from personakit.llm import (
        LLMEndpoint as LLMEndpoint,
    )
    from personakit.personalize.batch import BatchJob as BatchJob
    from personakit.personalize.campaign import Campaign as Campaign
    from personakit.personalize.compare import SolutionComparison as SolutionComparison
    from personakit.personalize.compare import compare_solutions as compare_solutions
    from personakit.personalize.dataset import Dataset as Dataset
    from personakit.personalize.dataset import ImportJob as ImportJob
    from personakit.personalize.events import EventTracker as EventTracker
    from personakit.personalize.events import PutResult as PutResult
    from personakit.personalize.group import DatasetGroup as DatasetGroup
    from personakit.personalize.recommender import Recommender as Recommender
    from personakit.personalize.serving import (
        Promotion as Promotion,
    )
    from personakit.personalize.serving import (
        Recommendation as Recommendation,
    )
    from personakit.personalize.serving import (
        Recommendations as Recommendations,
    )
    from personakit.personalize.solution import (
        Solution as Solution,
    )
    from personakit.personalize.solution import (
        SolutionMetrics as SolutionMetrics,
    )
    from personakit.rules import prep as prep
    from personakit.rules.facts import Domain as Domain
    from personakit.rules.filters import Filter as Filter
    from personakit.rules.report import DataReport as DataReport
    from personakit.rules.schema import DatasetType as DatasetType
    from personakit.rules.schema import Field as Field
    from personakit.rules.schema import Schema as Schema
    from personakit.rules.validate import ValidationReport as ValidationReport
    from personakit.rules.validate import validate as validate
    from personakit.rules.writer import CsvResult as CsvResult
    from personakit.rules.writer import write_csv as write_csv

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: Every name the face exports on first use: name -> the public module that defines
#: it (a module name ending in ``:`` is the module itself). The ``TYPE_CHECKING``
#: block above says the same for type checkers; tests/test_package.py holds the two
#: against each other and against the modules' own ``__all__``. Every exception of
#: :mod:`personakit.errors` is exported as it is (imported eagerly: it is cheap).
_LAZY: dict[str, str] = {
    "AccessReport": "personakit.aws.access",
    "BatchJob": "personakit.personalize.batch",
    "Campaign": "personakit.personalize.campaign",
    "CostGuard": "personakit.cost.guard",
    "CsvResult": "personakit.rules.writer",
    "DataReport": "personakit.rules.report",
    "Dataset": "personakit.personalize.dataset",
    "DatasetGroup": "personakit.personalize.group",
    "DatasetType": "personakit.rules.schema",
    "Domain": "personakit.rules.facts",
    "EventTracker": "personakit.personalize.events",
    "Field": "personakit.rules.schema",
    "Filter": "personakit.rules.filters",
    "Generation": "personakit.llm.formats",
    "ImportJob": "personakit.personalize.dataset",
    "JumpStartCatalog": "personakit.llm.jumpstart",
    "LLMEndpoint": "personakit.llm.endpoint",
    "ProgressDisplay": "personakit.aws.progress",
    "Promotion": "personakit.personalize.serving",
    "PutResult": "personakit.personalize.events",
    "Recommendation": "personakit.personalize.serving",
    "Recommendations": "personakit.personalize.serving",
    "Recommender": "personakit.personalize.recommender",
    "Schema": "personakit.rules.schema",
    "Session": "personakit.aws.session",
    "Solution": "personakit.personalize.solution",
    "SolutionMetrics": "personakit.personalize.solution",
    "SolutionComparison": "personakit.personalize.compare",
    "Timing": "personakit.aws.timing",
    "compare_solutions": "personakit.personalize.compare",
    "sweep": "personakit.cost.sweep",
    "ValidationReport": "personakit.rules.validate",
    "validate": "personakit.rules.validate",
    "write_csv": "personakit.rules.writer",
    # submodules reached as attributes (``pk.prep``)
    "cost": "personakit.cost:",
    "datasets": "personakit.datasets:",
    "iam": "personakit.aws.iam:",
    "llm": "personakit.llm:",
    "marketing": "personakit.marketing:",
    "prep": "personakit.rules.prep:",
    "samples": "personakit.samples:",
}

_EAGER = ("__version__", "errors", *errors.__all__)


#: Names kept one release for old code; each warns where it is used.
_DEPRECATED = {"datasets": "personakit.datasets is now personakit.samples"}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name in _DEPRECATED:
        warnings.warn(
            f"{_DEPRECATED[name]}; the old name goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        with warnings.catch_warnings():  # said once, here, at the caller's line
            warnings.simplefilter("ignore", DeprecationWarning)
            return importlib.import_module(target.partition(":")[0])
    module_name, _, _ = target.partition(":")
    module = importlib.import_module(module_name)
    value = module if target.endswith(":") else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = sorted({*_EAGER, *_LAZY} - set(_DEPRECATED))
