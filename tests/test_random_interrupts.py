"""One real Ctrl-C (``SIGINT``) at a random moment of a journey leaves nothing behind
and hangs nowhere: a few dozen runs of ``benchmarks/random_interrupts.py`` (the script
runs hundreds on demand)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "random_interrupts.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("random_interrupts", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_a_ctrl_c_anywhere_in_a_journey_leaves_nothing_and_hangs_nowhere() -> None:
    script = load()
    results = script.run_many(runs=24, seed=12, jobs=2)
    bad = [
        (r.delay_s, r.interrupted, r.hung, r.left, r.stderr[-1500:]) for r in results if not r.ok
    ]
    assert not bad
    totals = script.summary(results)
    # the interrupts did land in the journey, in many different places
    assert totals["runs"] - totals["finished_first"] >= 18, totals
    assert totals["places"] >= 4, totals
