"""The live progress display: one per session, a line per running operation.

What a user relies on: every wait of a session shows on the session's one display
(``session.progress``); a line appears when an operation starts and goes when it ends;
the deadline is never shown as a total; a terminal gets one redrawn block (rich), a
notebook one output per cell (no ipywidgets, no warning), anything else plain lines;
``progress=False`` and ``PERSONAKIT_PROGRESS=0`` switch it off; without rich nothing
breaks.
"""

from __future__ import annotations

import inspect
import io
import re
import subprocess
import sys
import types
import warnings
from pathlib import Path
from typing import Any

import pytest

import personakit as pk
from _local import FAST, interactions
from personakit.aws.progress import (
    ENV_VAR,
    Operation,
    ProgressDisplay,
    env_setting,
    format_duration,
    resource_kind,
)
from personakit.aws.timing import SimulatedClock, Timing
from personakit.aws.wait import WaitResult, wait_for

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SOLUTION = "arn:aws:personalize:us-east-1:111122223333:solution/movies"
VERSION = SOLUTION + "/0a1b2c3d"
TRAINING_DEADLINE_S = 43_200.0  # 12 h, the training wait's default deadline


class TTY(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def text(stream: io.StringIO) -> str:
    """What a stream received, without terminal control sequences."""
    return ANSI.sub("", stream.getvalue())


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def walk(
    *statuses: str,
    display: ProgressDisplay | None = None,
    arn: str = VERSION,
    timeout_s: float = TRAINING_DEADLINE_S,
    clock: SimulatedClock | None = None,
    progress: bool | None = None,
    **options: Any,
) -> WaitResult:
    """A training wait that reads ``statuses`` in turn, on a simulated clock."""
    responses = iter([{"solutionVersion": {"status": s}} for s in statuses])
    return wait_for(
        lambda: next(responses),
        arn=arn,
        timeout_s=timeout_s,
        training=True,
        timing=Timing.simulated(clock or SimulatedClock(), train_poll_s=60.0),
        display=display,
        progress=progress,
        **options,
    )


# ---------------------------------------------------------------- one display, lines


def test_lines_appear_and_disappear_per_operation() -> None:
    display = ProgressDisplay(plain=True, stream=io.StringIO())
    assert display.lines() == []
    still = lambda: 0.0  # noqa: E731 - a clock that never moves
    group = display.operation("movies", kind="dataset group", phase="create", clock=still)
    group.update("CREATE PENDING")
    assert display.lines() == ["dataset group movies (create): CREATE PENDING, 0s"]
    with display.operation(
        "movies", kind="solution version", phase="train", clock=still
    ) as training:
        training.update("CREATE IN_PROGRESS")
        assert [op.title for op in display.running] == [
            "dataset group movies",
            "solution version movies",
        ]
        group.end("ACTIVE")
        assert display.lines() == ["solution version movies (train): CREATE IN_PROGRESS, 0s"]
    assert display.lines() == []
    assert [(f.title, f.status, f.ok) for f in display.finished] == [
        ("dataset group movies", "ACTIVE", True),
        ("solution version movies", "CREATE IN_PROGRESS", True),
    ]
    assert display.mode == "idle"


def test_an_operation_that_raises_ends_as_failed() -> None:
    display = ProgressDisplay(plain=True, stream=io.StringIO())
    with pytest.raises(KeyError), display.operation("movies", kind="campaign", phase="create"):
        raise KeyError("boom")
    assert display.running == ()
    assert display.finished[-1].ok is False
    assert "1 failed" in display.header()


def test_the_deadline_is_never_shown_and_an_estimate_only_once_known() -> None:
    seen: list[list[str]] = []

    class Recording(ProgressDisplay):
        def _update(self, op: Operation, status: str | None) -> None:
            super()._update(op, status)
            seen.append(self.lines())

    out = TTY()
    display = Recording(stream=out, refresh_per_second=0)
    walk("CREATE PENDING", "CREATE IN_PROGRESS", "CREATE IN_PROGRESS", "ACTIVE", display=display)
    first = [line for lines in seen for line in lines]
    assert first
    assert all("est." not in line for line in first)  # nothing known yet
    seen.clear()
    walk("CREATE IN_PROGRESS", "CREATE IN_PROGRESS", "ACTIVE", display=display)
    second = [line for lines in seen for line in lines]
    took = display.finished[0].elapsed_s
    assert all(f"est. ~{format_duration(took)}" in line for line in second)
    drawn = text(out)
    assert "solution version movies" in drawn
    for deadline in ("12h00m", "43200", "43,200", "720m"):
        assert deadline not in drawn
        assert all(deadline not in line for line in first + second)


def test_one_display_per_session_across_a_whole_journey(tmp_path: Path) -> None:
    """The local engine, the whole path: every wait is a line on session.progress."""
    out = io.StringIO()
    most_at_once = 0

    class Counting(ProgressDisplay):
        def operation(self, what: str, **options: Any) -> Operation:
            nonlocal most_at_once
            op = super().operation(what, **options)
            most_at_once = max(most_at_once, len(self.running))
            return op

    display = Counting(plain=True, stream=out)
    with pk.Session.local(tmp_path, timing=FAST, progress=display, min_state_s=0.01) as session:
        assert session.progress is display
        with pk.DatasetGroup.create(session, "movies") as group:
            group.import_frame(interactions())
            group.train("popularity-count")
            assert display.running == ()  # each line went when its wait ended
    kinds = {(f.title.split(" movies")[0], f.phase) for f in display.finished}
    assert {
        ("dataset group", "create"),
        ("dataset", "create"),
        ("dataset import job", "create"),
        ("solution", "create"),
        ("solution version", "train"),
        ("dataset group", "delete"),
    } <= kinds
    assert all(f.ok for f in display.finished)
    assert most_at_once == 1  # sequential waits: one line at a time, on one display
    lines = out.getvalue().splitlines()
    assert lines
    assert all(line.startswith("personakit: ") for line in lines)
    assert any("solution version movies" in line and "ACTIVE after" in line for line in lines)
    assert not any("12h" in line or "43200" in line for line in lines)


def test_a_failed_or_interrupted_wait_ends_its_line() -> None:
    display = ProgressDisplay(plain=True, stream=io.StringIO())
    with pytest.raises(pk.ResourceFailedError):
        walk("CREATE PENDING", "CREATE FAILED", display=display)
    assert display.running == ()
    assert (display.finished[-1].status, display.finished[-1].ok) == ("CREATE FAILED", False)

    def interrupt() -> Any:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        wait_for(interrupt, arn=VERSION, timeout_s=60, timing=Timing.simulated(), display=display)
    assert display.running == ()
    assert display.finished[-1].ok is False


# ---------------------------------------------------------------- where it draws


def test_plain_lines_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    display = ProgressDisplay()  # stderr, looked up now: pytest's capture, no terminal
    op = display.operation("movies", kind="campaign", phase="create", clock=lambda: 0.0)
    assert display.mode == "plain"
    op.update("CREATE PENDING")
    op.end("ACTIVE")
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "personakit: campaign movies (create): CREATE PENDING, 0s",
        "personakit: campaign movies (create): ACTIVE after 0s",
    ]


def test_plain_lines_repeat_a_long_unchanged_status_every_heartbeat() -> None:
    out = io.StringIO()
    clock = SimulatedClock()
    walk(
        *(["CREATE IN_PROGRESS"] * 30 + ["ACTIVE"]),
        display=ProgressDisplay(plain=True, stream=out, heartbeat_s=600),
        clock=clock,
    )
    lines = out.getvalue().splitlines()
    still = [line for line in lines if "still" in line]
    assert len(still) == pytest.approx(sum(clock.sleeps) / 600, abs=1)
    assert lines[-1].startswith("personakit: solution version movies (train): ACTIVE after")


def test_a_terminal_gets_one_redrawn_block() -> None:
    pytest.importorskip("rich")
    out = TTY()
    display = ProgressDisplay(stream=out, refresh_per_second=0)
    first = display.operation("movies", kind="dataset group", phase="create")
    first.update("CREATE IN_PROGRESS")
    second = display.operation("movies", kind="solution version", phase="train")
    second.update("CREATE PENDING")
    assert display.mode == "terminal"
    drawn = text(out)
    assert "dataset group movies" in drawn
    assert "solution version movies" in drawn
    assert "\x1b[1A" in out.getvalue()  # redrawn in place: the cursor goes back up
    assert "personakit: 2 running, 0 done" in drawn
    first.end("ACTIVE")
    second.end("ACTIVE")
    assert display.mode == "idle"
    assert "\x1b[?25h" in out.getvalue()  # the block is gone, the cursor is back


def test_a_terminal_without_rich_gets_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("rich", "rich.console", "rich.live"):
        monkeypatch.setitem(sys.modules, name, None)  # import now raises ImportError
    out = TTY()
    display = ProgressDisplay(stream=out)
    assert walk("CREATE PENDING", "ACTIVE", display=display).status == "ACTIVE"
    assert display.finished[-1].ok
    assert text(out).splitlines() == [
        "personakit: solution version movies (train): CREATE PENDING, 0s",
        "personakit: solution version movies (train): ACTIVE after 1m00s",
    ]


def test_a_terminal_whose_live_display_cannot_start_gets_plain_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    live = pytest.importorskip("rich.live")

    def refuse(self: Any, refresh: bool = False) -> None:
        raise RuntimeError("can't create new thread at interpreter shutdown")

    monkeypatch.setattr(live.Live, "start", refuse)
    out = TTY()
    display = ProgressDisplay(stream=out)
    stderr = sys.stderr
    assert walk("CREATE PENDING", "ACTIVE", display=display).status == "ACTIVE"
    assert sys.stderr is stderr
    assert text(out).splitlines()[-1].endswith("ACTIVE after 1m00s")


class FakeShell:
    """What IPython's ``get_ipython()`` returns in a Jupyter kernel."""

    def __init__(self) -> None:
        self.execution_count = 1


class FakeHandle:
    def __init__(self, shown: Any) -> None:
        self.shown = [shown]

    def update(self, obj: Any) -> None:
        self.shown.append(obj)


@pytest.fixture
def notebook(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeShell, list[FakeHandle]]:
    """A Jupyter kernel, as far as personakit can tell: IPython with a ZMQ shell whose
    ``display(..., display_id=True)`` returns a handle; no ipywidgets anywhere."""
    shell_class = type("ZMQInteractiveShell", (FakeShell,), {})
    shell = shell_class()
    handles: list[FakeHandle] = []

    def display(obj: Any, *, display_id: bool = False) -> FakeHandle:
        assert display_id is True
        handles.append(FakeHandle(obj))
        return handles[-1]

    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell  # type: ignore[attr-defined]
    ipython_display = types.ModuleType("IPython.display")
    ipython_display.display = display  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", ipython_display)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    return shell, handles


def test_a_notebook_gets_one_output_per_cell_and_no_warning(
    notebook: tuple[FakeShell, list[FakeHandle]],
) -> None:
    shell, handles = notebook
    display = ProgressDisplay(notebook_refresh_s=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a TqdmWarning (or any other) fails the test
        walk("CREATE PENDING", "ACTIVE", display=display)
        assert display.mode == "idle"
        walk("CREATE IN_PROGRESS", "ACTIVE", display=display, arn=SOLUTION)
        assert len(handles) == 1  # two waits in one cell: one output, updated in place
        shown = handles[0].shown
        html = shown[1]._repr_html_()
        assert "solution version movies" in html
        assert "<table>" in html
        assert repr(shown[-1]).startswith("personakit: 0 running, 2 done; last: solution movies")
        shell.execution_count = 2
        walk("CREATE PENDING", "ACTIVE", display=display)
    assert len(handles) == 2  # the next cell gets its own output


def test_no_tqdm_and_no_rich_at_import() -> None:
    code = (
        "import sys, personakit, personakit.aws.session, personakit.aws.wait; "
        "print(sorted(m for m in ('tqdm', 'rich') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# ---------------------------------------------------------------- switches


def test_progress_is_a_parameter_of_every_session_constructor() -> None:
    for constructor in (pk.Session.__init__, pk.Session.aws, pk.Session.local):
        assert "progress" in inspect.signature(constructor).parameters, constructor


def test_progress_false_switches_it_off(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pk.Session.local(tmp_path, progress=False, min_state_s=0) as session:
        assert session.progress.enabled is False
        with pk.DatasetGroup.create(session, "quiet"):
            pass
        assert session.progress.mode == "off"
    assert capsys.readouterr().err == ""
    aws = pk.Session.aws(region_name="eu-west-1", progress=False)
    assert aws.progress.enabled is False


def test_the_environment_variable_switches_it_off_and_an_argument_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ENV_VAR, "0")
    with pk.Session.local(tmp_path, min_state_s=0) as session:
        assert session.progress.enabled is False
        with pk.DatasetGroup.create(session, "quiet"):
            pass
    assert capsys.readouterr().err == ""
    assert pk.Session.aws(region_name="eu-west-1").progress.enabled is False
    assert pk.Session.aws(region_name="eu-west-1", progress=True).progress.enabled is True
    monkeypatch.setenv(ENV_VAR, "plain")
    with (
        pk.Session.local(tmp_path, min_state_s=0) as session,
        pk.DatasetGroup.create(session, "loud"),
    ):
        assert session.progress.enabled
    err = capsys.readouterr().err
    assert "personakit: dataset group loud (create): " in err
    monkeypatch.setenv(ENV_VAR, "sometimes")
    with pytest.raises(pk.ConfigurationError, match="PERSONAKIT_PROGRESS"):
        pk.Session.aws(region_name="eu-west-1")


@pytest.mark.parametrize(
    ("value", "setting"),
    [
        ("", None),
        ("0", False),
        ("OFF", False),
        ("no", False),
        ("1", True),
        ("on", True),
        ("plain", "plain"),
        (" Plain ", "plain"),
    ],
)
def test_environment_values(value: str, setting: object) -> None:
    assert env_setting({ENV_VAR: value}) == setting


def test_a_timing_without_progress_keeps_a_session_quiet(tmp_path: Path) -> None:
    with pk.Session.local(tmp_path, timing=Timing.simulated()) as session:
        assert session.progress.enabled is False
    with pk.Session.local(tmp_path, timing=FAST, progress=True) as session:
        assert session.progress.enabled is True


def test_a_shared_display_outlives_a_session_and_an_own_one_closes(tmp_path: Path) -> None:
    shared = ProgressDisplay(plain=True, stream=io.StringIO())
    op = shared.operation("x", phase="wait")
    with pk.Session.local(tmp_path, timing=FAST, progress=shared):
        pass
    assert shared.running == (op,)  # not the session's to close
    op.end()
    session = pk.Session.local(tmp_path, timing=FAST, progress=ProgressDisplay.resolve(True))
    own = pk.Session.local(tmp_path, timing=FAST, progress=True)
    running = own.progress.operation("y", phase="wait")
    own.close()
    session.close()
    assert running.ended is not None


def test_wait_for_alone_shows_its_own_line_only_when_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    walk("CREATE PENDING", "ACTIVE", progress=True, label="training movies")
    err = capsys.readouterr().err
    assert "solution version training movies (train): ACTIVE after" in err
    walk("CREATE PENDING", "ACTIVE", progress=False)
    walk("CREATE PENDING", "ACTIVE")  # None: only when interactive, and pytest's is not
    off = ProgressDisplay(enabled=False)
    walk("CREATE PENDING", "ACTIVE", display=off)
    assert capsys.readouterr().err == ""
    walk("CREATE PENDING", "ACTIVE", display=off, progress=True)  # asked: its own line
    assert "ACTIVE after" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arn", "kind"),
    [
        (VERSION, "solution version"),
        (SOLUTION, "solution"),
        ("arn:aws:personalize:us-east-1:1:dataset-group/movies", "dataset group"),
        ("arn:aws:personalize:us-east-1:1:dataset/movies/INTERACTIONS", "dataset"),
        ("arn:aws:personalize:us-east-1:1:batch-inference-job/b", "batch inference job"),
        ("pk-falcon-7b-20261206", ""),
    ],
)
def test_the_kind_of_resource_comes_from_its_arn(arn: str, kind: str) -> None:
    assert resource_kind(arn) == kind


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (0.42, "0.4s"), (5, "5s"), (65, "1m05s"), (7380, "2h03m"), (43_200, "12h00m")],
)
def test_durations_read_as_people_say_them(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_rich_is_the_optional_progress_extra_and_dev_includes_it() -> None:
    tomllib = pytest.importorskip("tomllib")
    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    assert [r.split(">")[0] for r in extras["progress"]] == ["rich"]
    assert "progress" in extras["dev"][0]
    assert not any("tqdm" in r for reqs in extras.values() for r in reqs)
    assert not any("rich" in r for r in pyproject["project"]["dependencies"])
