"""One live progress display per session: a line per running operation.

Every wait of a session (:func:`~personakit.aws.wait.wait_for`, through the resource
classes) reports to the session's one :class:`ProgressDisplay` (``session.progress``).
It shows a line per running operation: what (the kind of resource and its name), the
phase (create, train, delete...), the last status AWS reported, the time elapsed, and an
estimate where one exists: the ``estimate_s`` a caller passes, or how long the same kind
of operation took earlier in this session. Never the wait's deadline (12 hours for a
training): a deadline is when personakit gives up, not when the work ends.

Where it draws is decided when an operation starts, so the same session behaves well
wherever it runs:

* **a terminal** (stderr is a TTY): one block, redrawn in place by rich's live display
  (the optional extra ``pip install "personakit[progress]"``); a line appears when an
  operation starts and goes when it ends, and the block goes when nothing runs;
* **a notebook** (a Jupyter kernel): one output per cell, updated in place through
  IPython's ``display(..., display_id=True)`` (no ipywidgets needed, no extra needed);
  when nothing runs it says how many operations finished and how the last one ended;
* **anything else** (a log file, CI, a pipe), and a terminal without rich: plain lines
  on stderr, one when a status changes (unless within a second of the last), one when
  an operation ends, and a reminder every ``heartbeat_s`` (5 minutes) while nothing
  changes.

Switch it off with ``progress=False`` on any ``Session`` constructor or
``PERSONAKIT_PROGRESS=0`` (``off``, ``false``, ``no``); ``PERSONAKIT_PROGRESS=plain``
asks for plain lines even in a terminal or notebook. An explicit ``progress=``
argument wins over the environment variable.
"""

from __future__ import annotations

import importlib
import logging
import os
import statistics
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import IO, Any, Literal

import attrs

from personakit.errors import ConfigurationError
from personakit.rules.display import esc, html_table

__all__ = [
    "ENV_VAR",
    "FinishedOperation",
    "Operation",
    "ProgressDisplay",
    "format_duration",
    "resource_kind",
    "resource_name",
]

logger = logging.getLogger(__name__)

#: The environment variable that switches progress off (``0``) or to plain lines.
ENV_VAR = "PERSONAKIT_PROGRESS"
_OFF = frozenset({"0", "off", "false", "no", "none"})
_ON = frozenset({"1", "on", "true", "yes", "auto"})
_QUICK_S = 1.0
_KEEP_FINISHED = 1000  # records of ended operations a display keeps
_KEEP_DURATIONS = 20  # durations per kind and phase an estimate is the median of
_HINT = "progress: a terminal gets one redrawn block with rich: pip install 'personakit[progress]'"

Mode = Literal["off", "idle", "plain", "terminal", "notebook"]


def format_duration(seconds: float) -> str:
    """``0.42`` -> ``"0.4s"``, ``5`` -> ``"5s"``, ``65`` -> ``"1m05s"``, ``7380`` -> ``"2h03m"``
    (rounded down)."""
    if 0 < seconds < 10 and seconds != int(seconds):
        return f"{int(seconds * 10) / 10:.1f}s"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def resource_kind(arn: str) -> str:
    """The kind of resource an ARN names: ``"solution version"``, ``"dataset group"``...

    ``""`` when ``arn`` is no ARN (a SageMaker endpoint name, say).
    """
    if not arn.startswith("arn:") or arn.count(":") < 5:
        return ""
    parts = arn.split(":", 5)[5].split("/")
    if parts[0] == "solution" and len(parts) > 2:
        return "solution version"
    return parts[0].replace("-", " ")


def resource_name(arn: str) -> str:
    """The name in an ARN (``.../solution/movies/1a2b`` -> ``movies``), else ``arn``."""
    if not arn.startswith("arn:") or arn.count(":") < 5:
        return arn
    parts = arn.split(":", 5)[5].split("/")
    return parts[1] if len(parts) > 1 else parts[0]


def env_setting(environ: Mapping[str, str] | None = None) -> bool | Literal["plain"] | None:
    """What ``PERSONAKIT_PROGRESS`` asks for: ``False`` (off), ``True`` (on), ``"plain"``,
    or ``None`` when unset or empty."""
    raw = (os.environ if environ is None else environ).get(ENV_VAR, "")
    value = raw.strip().lower()
    if not value:
        return None
    if value in _OFF:
        return False
    if value in _ON:
        return True
    if value == "plain":
        return "plain"
    raise ConfigurationError(
        f"{ENV_VAR}={raw!r}: use 0 (or off) to switch progress off, 1 (or on, the default) "
        "for a live display, or plain for one line per change"
    )


def _notebook_shell() -> Any:
    """The IPython kernel's shell when the code runs in a notebook, else ``None``."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    names = {cls.__name__ for cls in type(shell).__mro__}
    return shell if "ZMQInteractiveShell" in names else None


def _is_tty(stream: IO[str] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # closed or odd streams
        return False


def interactive(stream: IO[str] | None = None) -> bool:
    """Whether ``stream`` (stderr by default) is a terminal or the code runs in a notebook."""
    return _is_tty(sys.stderr if stream is None else stream) or _notebook_shell() is not None


# --------------------------------------------------------------------------- operations


@attrs.frozen
class FinishedOperation:
    """How an operation ended, as the display recorded it.

    Attributes:
        title: What ran (``"solution version movies"``).
        phase: ``"create"``, ``"train"``, ``"delete"``...
        status: The last status (``"ACTIVE"``, ``"gone"``, ``"CREATE FAILED"``...).
        elapsed_s: Seconds from its start to its end.
        ok: Whether it ended well.
    """

    title: str
    phase: str
    status: str | None
    elapsed_s: float
    ok: bool

    def line(self) -> str:
        """``"solution version movies (train): ACTIVE after 1m55s"``."""
        verb = "after" if self.ok else "failed after"
        status = f"{self.status} " if self.status else ""
        return f"{self.title} ({self.phase}): {status}{verb} {format_duration(self.elapsed_s)}"


class Operation:
    """One running operation on a :class:`ProgressDisplay`; made by
    :meth:`ProgressDisplay.operation`. Report with :meth:`update`, finish with
    :meth:`end` (or leave its ``with`` block)."""

    def __init__(
        self,
        display: ProgressDisplay,
        what: str,
        *,
        kind: str,
        phase: str,
        estimate_s: float | None,
        clock: Callable[[], float],
    ) -> None:
        self._display = display
        self.what = what
        self.kind = kind
        self.phase = phase
        self.estimate_s = estimate_s
        self.status: str | None = None
        self.clock = clock
        self.started = clock()
        self.ended: float | None = None
        self.ok: bool | None = None
        self.last_line = self.started  # when plain mode last wrote about it
        self.lines_written = 0

    @property
    def title(self) -> str:
        """Kind and name: ``"solution version movies"``."""
        return f"{self.kind} {self.what}".strip()

    @property
    def elapsed_s(self) -> float:
        """Seconds since it started (until its end, once ended)."""
        end = self.ended if self.ended is not None else self.clock()
        return max(0.0, end - self.started)

    def cells(self) -> tuple[str, str, str, str, str]:
        """Title, phase, status, elapsed and estimate, as text."""
        estimate = f"est. ~{format_duration(self.estimate_s)}" if self.estimate_s else ""
        return (
            self.title,
            self.phase,
            self.status or "starting",
            format_duration(self.elapsed_s),
            estimate,
        )

    def line(self) -> str:
        """``"solution version movies (train): CREATE IN_PROGRESS, 1m05s (est. ~2m00s)"``."""
        title, phase, status, elapsed, estimate = self.cells()
        return f"{title} ({phase}): {status}, {elapsed}" + (f" ({estimate})" if estimate else "")

    def update(self, status: str | None = None) -> None:
        """Report the current status (``None``: unchanged, only time went by)."""
        self._display._update(self, status)

    def end(self, status: str | None = None, *, ok: bool = True) -> None:
        """Finish it (idempotent): its line goes; ``status`` is how it ended."""
        self._display._end(self, status, ok)

    def __enter__(self) -> Operation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.end(ok=exc is None)

    def __repr__(self) -> str:
        return f"Operation({self.line()!r})"


# --------------------------------------------------------------------------- renderers


class _Renderer:
    """Where a display draws while operations run (one per busy period)."""

    mode: Mode = "plain"

    def started(self, op: Operation) -> None:
        """``op`` began."""

    def updated(self, op: Operation, changed: bool) -> None:
        """``op`` reported (``changed``: a new status)."""

    def ended(self, op: Operation) -> None:
        """``op`` finished."""

    def idle(self) -> None:
        """Nothing runs any more."""


class _Plain(_Renderer):
    """A line per status change and per end, on a stream; a reminder every ``heartbeat_s``.

    A change less than a second after the operation's last line is left out (the local
    engine walks its statuses in milliseconds); the line at the end says how it ended."""

    mode: Mode = "plain"

    def __init__(self, stream: Callable[[], IO[str] | None], heartbeat_s: float) -> None:
        self._stream = stream
        self._heartbeat_s = heartbeat_s

    def _write(self, text: str) -> None:
        stream = self._stream()
        if stream is None:
            return
        try:
            stream.write(f"personakit: {text}\n")
            stream.flush()
        except (OSError, ValueError):  # a closed stream never breaks a wait
            pass

    def updated(self, op: Operation, changed: bool) -> None:
        now = op.clock()
        first = not op.lines_written
        if changed and (first or now - op.last_line >= _QUICK_S):
            op.last_line = now
            op.lines_written += 1
            self._write(op.line())
        elif self._heartbeat_s > 0 and now - op.last_line >= self._heartbeat_s:
            op.last_line = now
            self._write(f"still {op.line()}")

    def ended(self, op: Operation) -> None:
        self._write(_finished(op).line())


class _Terminal(_Renderer):
    """One block redrawn in place by ``rich.live.Live`` on the stream (a TTY)."""

    mode: Mode = "terminal"

    def __init__(self, display: ProgressDisplay, stream: IO[str], refresh_per_second: float):
        from rich.console import Console  # optional extra, only for a terminal
        from rich.live import Live  # (same)

        self._display = display
        self._spinners: dict[int, Any] = {}
        console = Console(file=stream, force_terminal=True, force_jupyter=False)
        # Other writes to the terminal go above the block, not through it; stdout only
        # when it is the terminal too (a pipe, say of --json, keeps its own stream).
        on_stderr = stream is sys.stderr
        self._live = Live(
            get_renderable=self._renderable,
            console=console,
            transient=True,
            auto_refresh=refresh_per_second > 0,
            refresh_per_second=refresh_per_second if refresh_per_second > 0 else 4,
            redirect_stdout=on_stderr and _is_tty(sys.stdout),
            redirect_stderr=on_stderr,
        )
        try:
            self._live.start(refresh=True)
        except BaseException:  # e.g. no new thread at interpreter exit: undo the redirects
            self._live.stop()
            raise

    def _renderable(self) -> Any:
        from rich.console import Group  # optional extra, only for a terminal
        from rich.progress_bar import ProgressBar  # (same)
        from rich.spinner import Spinner  # (same)
        from rich.table import Table  # (same)
        from rich.text import Text  # (same)

        running = self._display.running
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True, width=1)  # spinner
        table.add_column(no_wrap=True, overflow="ellipsis", ratio=1, min_width=12)  # what
        for _ in range(5):  # phase, status, elapsed, bar, estimate: never cut
            table.add_column(no_wrap=True)
        for op in running:
            spinner = self._spinners.setdefault(id(op), Spinner("dots", style="cyan"))
            title, phase, status, elapsed, estimate = op.cells()
            estimate_s = op.estimate_s
            bar = (
                ProgressBar(total=estimate_s, completed=min(op.elapsed_s, estimate_s), width=12)
                if estimate_s
                else ProgressBar(total=None, width=12)  # no estimate: a pulse, never a total
            )
            table.add_row(
                spinner,
                Text(title, style="bold"),
                Text(phase, style="dim"),
                Text(status, style="yellow"),
                Text(elapsed),
                bar,
                Text(estimate, style="dim"),
            )
        return Group(Text(self._display.header(), style="dim"), table)

    def updated(self, op: Operation, changed: bool) -> None:
        if changed:
            self._live.refresh()

    def started(self, op: Operation) -> None:
        self._live.refresh()

    def ended(self, op: Operation) -> None:
        self._spinners.pop(id(op), None)

    def idle(self) -> None:
        self._live.stop()


class _Snapshot:
    """What a notebook output shows: HTML for the notebook, text for anything else."""

    def __init__(self, header: str, rows: list[tuple[str, str, str, str, str]]) -> None:
        self.header = header
        self.rows = rows

    def __repr__(self) -> str:
        return "\n".join([self.header, *("  ".join(c for c in row if c) for row in self.rows)])

    def _repr_html_(self) -> str:
        if not self.rows:
            return f"<div><code>{esc(self.header)}</code></div>"
        headers = ("what", "phase", "status", "elapsed", "estimate")
        return html_table(headers, self.rows, title=self.header)


class _Notebook(_Renderer):
    """One output per notebook cell, updated in place (``display_id``); a ticker keeps
    the elapsed times moving between polls."""

    mode: Mode = "notebook"

    def __init__(self, display: ProgressDisplay, shell: Any, refresh_s: float) -> None:
        ipython_display = importlib.import_module("IPython.display").display  # in a kernel

        self._display = display
        self.cell = getattr(shell, "execution_count", None)
        self._handle = ipython_display(display.snapshot(), display_id=True)
        self._refresh_s = refresh_s
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def _show(self) -> None:
        try:
            self._handle.update(self._display.snapshot())
        except Exception as exc:  # a display never breaks a wait
            logger.debug("could not update the notebook output: %s", exc)

    def _tick(self) -> None:
        while not self._stop.wait(self._refresh_s):
            self._show()

    def started(self, op: Operation) -> None:
        self._show()
        if self._refresh_s > 0 and (self._ticker is None or not self._ticker.is_alive()):
            self._stop.clear()
            self._ticker = threading.Thread(
                target=self._tick, name="personakit-progress", daemon=True
            )
            self._ticker.start()

    def updated(self, op: Operation, changed: bool) -> None:
        self._show()

    def ended(self, op: Operation) -> None:
        self._show()

    def idle(self) -> None:
        self._stop.set()
        self._show()


def _finished(op: Operation) -> FinishedOperation:
    return FinishedOperation(op.title, op.phase, op.status, op.elapsed_s, bool(op.ok))


# --------------------------------------------------------------------------- the display


class ProgressDisplay:
    """The live progress of one session: a line per running operation.

    A :class:`~personakit.Session` makes one (``session.progress``) from its
    ``progress=`` argument; pass one ``ProgressDisplay`` to several sessions to share it.

    Args:
        enabled: ``False`` draws nothing (operations are still tracked).
        plain: Plain lines even in a terminal or a notebook.
        stream: Where terminal and plain output go (stderr, looked up at each use,
            by default).
        heartbeat_s: Plain lines: repeat an unchanged status this often (``0``: never).
        refresh_per_second: Terminal redraws per second (``0``: only on changes).
        notebook_refresh_s: Seconds between notebook updates of elapsed times (``0``:
            only on changes).
    """

    def __init__(
        self,
        enabled: bool = True,
        *,
        plain: bool = False,
        stream: IO[str] | None = None,
        heartbeat_s: float = 300.0,
        refresh_per_second: float = 4.0,
        notebook_refresh_s: float = 1.0,
    ) -> None:
        self._enabled = enabled
        self._plain = plain
        self._stream = stream
        self._heartbeat_s = heartbeat_s
        self._refresh_per_second = refresh_per_second
        self._notebook_refresh_s = notebook_refresh_s
        self._lock = threading.RLock()
        self._running: list[Operation] = []
        self._finished: deque[FinishedOperation] = deque(maxlen=_KEEP_FINISHED)
        self._done = 0
        self._failed = 0
        self._history: dict[tuple[str, str], list[float]] = {}
        self._renderer: _Renderer | None = None
        self._notebook: _Notebook | None = None
        self._hinted = False

    @classmethod
    def resolve(cls, progress: bool | ProgressDisplay | None) -> ProgressDisplay:
        """The display a session gets: ``progress`` itself, or one switched by it (a bool),
        else by ``PERSONAKIT_PROGRESS``, else on.

        Raises:
            ConfigurationError: ``PERSONAKIT_PROGRESS`` holds something else than
                ``0``/``off``, ``1``/``on`` or ``plain``.
        """
        if isinstance(progress, ProgressDisplay):
            return progress
        if progress is not None:
            return cls(enabled=bool(progress))
        setting = env_setting()
        if setting == "plain":
            return cls(plain=True)
        return cls(enabled=setting is not False)

    # ------------------------------------------------------------------ state

    @property
    def enabled(self) -> bool:
        """Whether it draws anything."""
        return self._enabled

    @property
    def mode(self) -> Mode:
        """Where it draws now: ``"off"``, ``"idle"`` (nothing runs), ``"terminal"``,
        ``"notebook"`` or ``"plain"``."""
        if not self._enabled:
            return "off"
        renderer = self._renderer
        return "idle" if renderer is None else renderer.mode

    @property
    def running(self) -> tuple[Operation, ...]:
        """The running operations, oldest first."""
        return tuple(self._running)

    @property
    def finished(self) -> tuple[FinishedOperation, ...]:
        """The operations that ended, in order (the last 1,000)."""
        return tuple(self._finished)

    def header(self) -> str:
        """``"personakit: 1 running, 4 done"`` (and how many failed)."""
        parts = [f"{len(self._running)} running", f"{self._done} done"]
        if self._failed:
            parts.append(f"{self._failed} failed")
        return "personakit: " + ", ".join(parts)

    def lines(self) -> list[str]:
        """The running operations as plain text, one line each (what a log would show)."""
        return [op.line() for op in self.running]

    def snapshot(self) -> _Snapshot:
        """What the notebook output shows now."""
        running = self.running
        if running:
            return _Snapshot(self.header(), [op.cells() for op in running])
        header = self.header()
        if self._finished:
            header += f"; last: {self._finished[-1].line()}"
        return _Snapshot(header, [])

    def estimate(self, kind: str, phase: str) -> float | None:
        """How long ``kind``/``phase`` took earlier here (the median, when a second or
        more), or ``None``."""
        seen = self._history.get((kind, phase))
        median = statistics.median(seen) if seen else None
        return median if median is not None and median >= 1.0 else None  # not "~0.0s"

    # ------------------------------------------------------------------ operations

    def operation(
        self,
        what: str,
        *,
        kind: str = "",
        phase: str = "wait",
        estimate_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> Operation:
        """Start an operation: its line shows until :meth:`Operation.end`.

        Args:
            what: Its name (``"movies"``).
            kind: The kind of resource (``"solution version"``).
            phase: What is being done (``"create"``, ``"train"``, ``"delete"``...).
            estimate_s: How long it usually takes, when known; else the median of the
                same kind and phase earlier on this display, if any.
            clock: Monotonic seconds for its elapsed time (a wait's timing clock).
        """
        if estimate_s is None:
            estimate_s = self.estimate(kind, phase)
        op = Operation(self, what, kind=kind, phase=phase, estimate_s=estimate_s, clock=clock)
        with self._lock:
            self._running.append(op)
            if not self._enabled:
                return op
            if self._renderer is None:
                self._renderer = self._open()
            self._safely(self._renderer.started, op)
        return op

    def _update(self, op: Operation, status: str | None) -> None:
        with self._lock:
            if op.ended is not None:
                return
            changed = status is not None and status != op.status
            if status is not None:
                op.status = status
            if self._renderer is not None:
                self._safely(self._renderer.updated, op, changed)

    def _end(self, op: Operation, status: str | None, ok: bool) -> None:
        with self._lock:
            if op.ended is not None or op not in self._running:
                return
            if status is not None:
                op.status = status
            op.ok = ok
            op.ended = op.clock()
            self._running.remove(op)
            self._finished.append(_finished(op))
            self._done += 1
            self._failed += not ok
            if ok:
                seen = self._history.setdefault((op.kind, op.phase), [])
                seen.append(op.elapsed_s)
                del seen[:-_KEEP_DURATIONS]
            renderer = self._renderer
            if renderer is None:
                return
            self._safely(renderer.ended, op)
            if not self._running:
                self._renderer = None
                self._safely(renderer.idle)

    def _safely(self, method: Callable[..., None], *args: Any) -> None:
        try:
            method(*args)
        except Exception as exc:  # a display never breaks a wait
            logger.debug("progress display: %s", exc, exc_info=True)

    def _stream_now(self) -> IO[str] | None:
        return self._stream if self._stream is not None else sys.stderr

    def _open(self) -> _Renderer:
        """The renderer of a busy period: chosen now, where the code runs now."""
        plain = _Plain(self._stream_now, self._heartbeat_s)
        if self._plain:
            return plain
        shell = _notebook_shell()
        if shell is not None:
            cell = getattr(shell, "execution_count", None)
            notebook = self._notebook
            try:
                if notebook is None or notebook.cell != cell:
                    notebook = self._notebook = _Notebook(self, shell, self._notebook_refresh_s)
            except ImportError:
                return plain
            except Exception as exc:
                logger.debug("no notebook output, plain lines instead: %s", exc)
                return plain
            return notebook
        stream = self._stream_now()
        if _is_tty(stream) and os.environ.get("TERM") != "dumb":
            assert stream is not None
            try:
                return _Terminal(self, stream, self._refresh_per_second)
            except ImportError:
                if not self._hinted:
                    self._hinted = True
                    logger.debug(_HINT)
            except Exception as exc:  # e.g. rich's LiveError: another live display is on
                logger.debug("no live display, plain lines instead: %s", exc)
        return plain

    def close(self) -> None:
        """End every running operation's line and stop drawing (idempotent)."""
        for op in self.running:
            op.end(ok=False)
        with self._lock:
            renderer, self._renderer = self._renderer, None
            if renderer is not None:
                self._safely(renderer.idle)
            if self._notebook is not None:
                self._notebook._stop.set()

    def __repr__(self) -> str:
        return f"ProgressDisplay(mode={self.mode!r}, {self.header().removeprefix('personakit: ')})"
