"""Render the progress display as a terminal and a notebook show it, for the docs.

    python docs/plots/make_progress_screenshots.py

Writes docs/images/progress-terminal.svg (rich's own recording of the terminal block)
and docs/images/progress-notebook.html (the HTML the notebook output holds), from a
display with three operations running on a fixed clock.
"""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from personakit import ProgressDisplay
from personakit.aws import progress

IMAGES = Path(__file__).resolve().parents[1] / "images"


def main() -> None:
    now = [1000.0]
    display = ProgressDisplay(plain=True, stream=io.StringIO())
    for kind, phase, seconds in (
        ("solution version", "train", 1900.0),
        ("campaign", "create", 610.0),
    ):
        done = display.operation("earlier", kind=kind, phase=phase, clock=lambda: now[0])
        now[0] += seconds
        done.end("ACTIVE")
    clock = lambda: now[0]  # noqa: E731 - one fixed clock for every line
    ops = [display.operation("movies-pop", kind="solution version", phase="train", clock=clock)]
    ops[0].update("CREATE IN_PROGRESS")
    now[0] += 35.0
    ops.append(display.operation("movies-up", kind="solution version", phase="train", clock=clock))
    ops[1].update("CREATE IN_PROGRESS")
    now[0] += 590.0
    ops.append(display.operation("movies-pop", kind="campaign", phase="create", clock=clock))
    ops[2].update("CREATE PENDING")
    now[0] += 65.0

    terminal = progress._Terminal.__new__(progress._Terminal)  # its renderable, no live thread
    terminal._display = display
    terminal._spinners = {}
    console = Console(record=True, width=100, file=io.StringIO(), force_terminal=True)
    console.print(terminal._renderable())
    console.save_svg(str(IMAGES / "progress-terminal.svg"), title="personakit: a terminal")
    html = display.snapshot()._repr_html_()
    (IMAGES / "progress-notebook.html").write_text(html + "\n", encoding="utf-8")
    for op in ops:
        op.end("ACTIVE")


if __name__ == "__main__":
    main()
