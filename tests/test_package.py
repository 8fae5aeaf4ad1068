"""The package surface: what `import personakit as pk` gives, and library manners."""

from __future__ import annotations

import logging
import subprocess
import sys

import pandas as pd

import personakit as pk
from personakit import errors

PUBLIC = [
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


def test_public_surface_is_pinned_and_sorted() -> None:
    assert pk.__all__ == PUBLIC
    assert pk.__all__ == sorted(pk.__all__)
    for name in pk.__all__:
        assert hasattr(pk, name), name


def test_version_is_a_pep440_string() -> None:
    from packaging.version import Version

    assert Version(pk.__version__)


def test_every_error_has_one_root() -> None:
    classes = [getattr(errors, name) for name in errors.__all__]
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

    module = importlib.import_module("personakit.validate")
    assert module is not pk.validate
    assert pk.validate is module.validate


def test_resource_classes_are_reached_from_the_top_without_a_heavy_import() -> None:
    code = (
        "import sys, personakit as pk; light = 'personakit.dataset' not in sys.modules; "
        "group = pk.DatasetGroup; print(light, group.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "personakit.dataset"]
    assert {"DatasetGroup", "LLMEndpoint", "CostGuard", "llm"} <= set(dir(pk))
