"""Shortcuts forward to their targets: one parameter list, the target's, everywhere."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from personakit.personalize.base import Later
from personakit.personalize.campaign import Campaign
from personakit.personalize.events import EventTracker
from personakit.personalize.group import DatasetGroup
from personakit.personalize.recommender import Recommender
from personakit.personalize.solution import Solution


def _params(fn: object) -> list[str]:
    return list(inspect.signature(fn).parameters)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("shortcut", "target"),
    [
        (DatasetGroup.train, Solution.create),
        (DatasetGroup.recommender, Recommender.create),
        (DatasetGroup.event_tracker, EventTracker.create),
        (Solution.deploy, Campaign.create),
    ],
)
def test_a_shortcut_shows_its_targets_parameters(shortcut: object, target: object) -> None:
    assert _params(shortcut) == _params(target)
    bound = shortcut.__get__(object())  # type: ignore[attr-defined]
    assert _params(bound) == _params(target)[1:]  # the group or solution is bound


def test_a_later_target_loads_on_first_use_only() -> None:
    code = (
        "import sys, inspect, personakit as pk\n"
        "pk.DatasetGroup\n"
        "print('personakit.personalize.solution' in sys.modules)\n"
        "print(list(inspect.signature(pk.DatasetGroup.train).parameters)[1])\n"
        "print('personakit.personalize.solution' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "recipe", "True"]


def test_a_later_calls_and_names_its_target() -> None:
    later = Later("os.path", "join")
    assert later("a", "b").replace("\\", "/") == "a/b"
    assert _params(later) == _params(__import__("os.path").path.join)
    assert repr(later) == "Later('os.path', 'join')"
    with pytest.raises(AttributeError):
        Later("os.path", "no_such_function")()


def test_batch_runners_keep_their_names_and_help() -> None:
    solution = object.__new__(Solution)  # no AWS: only what help() reads is looked at
    runner = solution.batch_recommend
    assert runner.__name__ == "batch_recommend"  # type: ignore[attr-defined]
    assert "batch inference job" in (runner.__doc__ or "")
    assert solution.batch_segments.__name__ == "batch_segments"  # type: ignore[attr-defined]
    assert _params(runner)[:2] == ["data", "n"]
