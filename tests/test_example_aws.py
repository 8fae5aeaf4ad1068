"""examples/aws_end_to_end.py: importable without side effects, refuses to bill unless told,
and its journey runs as is on the local engine."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "aws_end_to_end.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aws_end_to_end_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_importing_the_example_creates_no_clients() -> None:
    # in a fresh interpreter: in this one, other tests have imported boto3 already
    code = (
        "import importlib.util, sys; "
        f"spec = importlib.util.spec_from_file_location('example', {str(EXAMPLE)!r}); "
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); "
        "print('boto3' in sys.modules, hasattr(module, 'main'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_without_the_flag_it_refuses_to_touch_aws(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PERSONAKIT_EXAMPLES_AWS", raising=False)
    module = load()
    monkeypatch.setattr(module, "journey", lambda *a: pytest.fail("must not run"))
    assert module.main([]) == 2
    assert "--yes-i-have-aws" in capsys.readouterr().err


def test_the_same_journey_runs_on_the_local_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from personakit.local import LocalEngine

    module = load()
    assert module.main(["--local", "--workspace", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ndcg_at_10" in out  # the solution's offline metrics
    assert "burning $0.20/h" in out  # the guard sees the 1 TPS campaign
    assert "after 3 new events:" in out
    with LocalEngine(tmp_path) as engine:  # everything deleted on the way out
        personalize = engine.client("personalize")
        assert personalize.list_dataset_groups()["datasetGroups"] == []
        assert personalize.list_campaigns()["campaigns"] == []
        assert personalize.list_event_trackers()["eventTrackers"] == []
