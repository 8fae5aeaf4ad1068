"""examples/llm_endpoint.py: importable without side effects, refuses to bill unless told."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "llm_endpoint.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("llm_endpoint_example", EXAMPLE)
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


def test_without_the_flag_it_refuses_to_deploy(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PERSONAKIT_EXAMPLES_AWS", raising=False)
    module = load()
    monkeypatch.setattr(module, "run", lambda args: pytest.fail("must not deploy"))
    assert module.main([]) == 2
    assert "--yes-i-have-aws" in capsys.readouterr().err


def test_plan_prints_the_requests_offline(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PERSONAKIT_JUMPSTART_OFFLINE", "1")
    with pytest.warns(UserWarning, match="snapshot"):
        assert load().main(["--plan"]) == 0
    out = capsys.readouterr().out
    request = json.loads(out[out.index("{") : out.index("\n}") + 2])
    assert request["ModelName"] == "my-llm"
    assert "huggingface-pytorch-tgi-inference" in request["PrimaryContainer"]["Image"]
