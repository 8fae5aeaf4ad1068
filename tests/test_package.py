"""The package surface: what `import personakit as pk` gives, and library manners."""

from __future__ import annotations

import ast
import importlib
import inspect
import logging
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import personakit as pk
from personakit import errors

#: The public surface, pinned: a name leaves or joins it on purpose, in the CHANGELOG.
PUBLIC = [
    "AccessReport",
    "BatchJob",
    "BudgetExceededError",
    "Campaign",
    "CatalogUnavailableError",
    "ConfigurationError",
    "CostGuard",
    "CredentialsError",
    "CsvResult",
    "DataReport",
    "Dataset",
    "DatasetGroup",
    "DatasetType",
    "DatasetUnavailableError",
    "Domain",
    "EndpointFailedError",
    "EulaRequiredError",
    "EventTracker",
    "Field",
    "Filter",
    "Generation",
    "ImportJob",
    "JumpStartCatalog",
    "LLMEndpoint",
    "ModelNotFoundError",
    "ModelResponseError",
    "PersonakitError",
    "Problem",
    "ProgressDisplay",
    "Promotion",
    "PutResult",
    "QuotaExceededError",
    "Recommendation",
    "Recommendations",
    "Recommender",
    "ResourceFailedError",
    "ResourceStateError",
    "ResourceStoppedError",
    "Schema",
    "Session",
    "SessionClosedError",
    "Severity",
    "Solution",
    "SolutionComparison",
    "SolutionMetrics",
    "TeardownError",
    "Timing",
    "UnsupportedInstanceError",
    "ValidationError",
    "ValidationReport",
    "WaitTimeoutError",
    "__version__",
    "compare_solutions",
    "cost",
    "errors",
    "iam",
    "llm",
    "marketing",
    "prep",
    "samples",
    "sweep",
    "validate",
    "write_csv",
]
#: Names the face still answers but no longer advertises (each warns on use).
DEPRECATED = {"datasets"}


def _type_checking_names() -> set[str]:
    """The names the face's ``if TYPE_CHECKING:`` block imports (what type checkers see)."""
    tree = ast.parse(Path(pk.__file__).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    names.update(a.asname or a.name for a in stmt.names)
    return names


def test_face_lists_each_name_once_and_sorted() -> None:
    assert pk.__all__ == PUBLIC
    assert pk.__all__ == sorted(set(pk.__all__))
    assert set(pk.__all__) == {"__version__", "errors", *errors.__all__, *pk._LAZY} - DEPRECATED
    assert _type_checking_names() == set(pk._LAZY) - DEPRECATED  # what type checkers see


@pytest.mark.parametrize("name", sorted(set(pk.__all__) - DEPRECATED - {"__version__"}))
def test_face_exports_each_name_from_its_public_module(name: str) -> None:
    value = getattr(pk, name)
    if inspect.ismodule(value):
        module_name = value.__name__
    elif name in errors.__all__:
        module_name = errors.__name__
    else:
        module_name = value.__module__
        assert pk._LAZY[name] == module_name  # the table names the defining module
        assert name in sys.modules[module_name].__all__, f"{module_name}.__all__ lacks {name}"
    assert not any(part.startswith("_") for part in module_name.split(".")), module_name
    assert getattr(pk, name) is value  # cached, and the same object every time


def test_the_old_datasets_module_is_a_deprecated_alias_of_samples() -> None:
    with pytest.warns(DeprecationWarning, match="personakit.samples") as record:
        module = pk.datasets
    assert [Path(w.filename).name for w in record] == [Path(__file__).name]  # the caller's line
    assert module.synthetic is pk.samples.synthetic
    sys.modules.pop("personakit.datasets", None)
    with pytest.warns(DeprecationWarning, match="personakit.samples"):
        old = importlib.import_module("personakit.datasets")
    assert old.synthetic is pk.samples.synthetic
    assert set(old.__all__) == set(pk.samples.__all__)


def test_version_is_a_pep440_string() -> None:
    from packaging.version import Version

    assert Version(pk.__version__)


def test_every_error_has_one_root() -> None:
    classes = [getattr(errors, name) for name in errors.__all__]
    classes = [c for c in classes if isinstance(c, type) and issubclass(c, BaseException)]
    assert len(classes) == 19
    for cls in classes:
        assert issubclass(cls, pk.PersonakitError)
        assert cls.__name__ in errors.__doc__  # the tree in the docstring names it
    assert issubclass(pk.ValidationError, ValueError)
    assert issubclass(pk.WaitTimeoutError, TimeoutError)


def test_resource_failed_error_carries_arn_status_and_reason() -> None:
    err = pk.ResourceFailedError("arn:aws:personalize:x", "CREATE FAILED", "too few users")
    assert (err.arn, err.status, err.failure_reason) == (
        "arn:aws:personalize:x",
        "CREATE FAILED",
        "too few users",
    )
    assert "too few users" in str(err)


def test_library_logging_is_silent_by_default() -> None:
    handlers = logging.getLogger("personakit").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_import_does_not_pull_heavy_or_optional_modules() -> None:
    heavy = ("sagemaker", "matplotlib", "tqdm", "scipy")
    code = f"import sys, personakit; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_report_renders_for_terminals_frames_and_notebooks() -> None:
    report = pk.DataReport(
        [
            pk.Problem.with_examples(
                "error",
                "timestamp-milliseconds",
                "timestamps look like milliseconds",
                column="TIMESTAMP",
                count=3,
                rows=[0, 1, 2, 3, 4, 5, 6],
                values=[1_600_000_000_000] * 7,
                fix="divide by 1000",
            ),
            pk.Problem("warning", "boolean-ignored", "ignored", column="FLAG", count=1),
        ],
        stats={"n_users": 10, "repeat_rate": 0.125},
    )
    assert not report.ok
    assert [p.rule for p in report.errors] == ["timestamp-milliseconds"]
    assert report.errors[0].rows == (0, 1, 2, 3, 4)  # at most five examples kept
    text = str(report)
    assert "1 error(s), 1 warning(s)" in text
    assert "row 0: 1600000000000" in text
    assert "fix: divide by 1000" in text
    assert "repeat_rate: 0.125" in text
    frame = report.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [
        "severity",
        "rule",
        "column",
        "count",
        "message",
        "rows",
        "values",
        "fix",
    ]
    assert frame["rule"].tolist() == ["timestamp-milliseconds", "boolean-ignored"]
    assert "timestamp-milliseconds" in report._repr_html_()
    assert "NOT OK" in report._repr_html_()


def test_validate_is_the_function_even_after_its_module_is_imported() -> None:
    import importlib

    module = importlib.import_module("personakit.rules.validate")
    assert module is not pk.validate
    assert pk.validate is module.validate


def test_resource_classes_are_reached_from_the_top_without_a_heavy_import() -> None:
    code = (
        "import sys, personakit as pk; light = 'personakit.personalize.group' not in sys.modules; "
        "group = pk.DatasetGroup; print(light, group.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "personakit.personalize.group"]
    assert {"DatasetGroup", "LLMEndpoint", "CostGuard", "llm"} <= set(dir(pk))
