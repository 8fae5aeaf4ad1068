"""Ctrl-C at random moments of a journey: does anything stay behind, does anything hang?

Each run starts a child process that runs a small journey on the embedded engine (a
dataset group with imported interactions and items, a trained solution, a campaign, a
filter, recommendations, all in ``with`` blocks), and sends it one real ``SIGINT`` at a
random moment of the journey. The parent then waits for the child (a child still alive
after ``--hang-s`` seconds is *hung* and killed), opens the workspace with a fresh
session and lists what is left there: dataset groups, datasets, schemas, solutions,
campaigns, filters and uploaded objects.

    python benchmarks/random_interrupts.py --runs 200 --seed 1 --jobs 2

prints one line per run that left something or hung, then the totals::

    200 runs (interrupted in 38 places), 0 left something, 0 hung

tests/test_random_interrupts.py runs a few dozen of these in CI.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

READY = "journey: ready"
DONE = "journey: done"
HANG_S = 60.0


# ----------------------------------------------------------------------------- the child


def journey(workspace: Path) -> None:
    """What a user's script does, with every billable thing in a ``with`` block."""
    import pandas as pd

    import personakit as pk

    n_users, n_items, n = 60, 120, 3000
    rng = random.Random(7)
    interactions = pd.DataFrame(
        {
            "USER_ID": [f"u{rng.randrange(n_users)}" for _ in range(n)],
            "ITEM_ID": [f"i{rng.randrange(n_items)}" for _ in range(n)],
            "TIMESTAMP": [1_700_000_000 + i for i in range(n)],
        }
    )
    items = pd.DataFrame(
        {
            "ITEM_ID": [f"i{i}" for i in range(n_items)],
            "GENRES": [("Drama", "Comedy|Drama", "Action")[i % 3] for i in range(n_items)],
        }
    )
    with pk.Session.local(workspace, progress=False, min_state_s=0.02) as session:
        print(READY, flush=True)
        start = time.perf_counter()
        with pk.DatasetGroup.create(session, "interrupted") as group:
            group.import_frame(interactions)
            group.import_frame(items, dataset_type="items")
            solution = group.train("popularity-count")
            no_drama = pk.Filter.exclude_items("Items.GENRES IN ($genres)")
            with solution.deploy(min_tps=1) as campaign:
                for user in ("u1", "u2", "u3"):
                    campaign.recommend(
                        user_id=user, n=5, filter=no_drama, filter_values={"genres": ["Drama"]}
                    )
    print(f"{DONE} in {time.perf_counter() - start:.3f}s", flush=True)


def child(workspace: Path) -> int:
    faulthandler.register(signal.SIGTERM, all_threads=True)  # a hung child shows its stacks
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        journey(workspace)
    except KeyboardInterrupt:
        # where the Ctrl-C landed: the innermost personakit frame of the traceback
        frames = traceback.extract_tb(sys.exc_info()[2])
        ours = [f for f in frames if "personakit" in f.filename and "benchmarks" not in f.filename]
        where = ours[-1] if ours else frames[-1]
        print(f"interrupted: {Path(where.filename).name}:{where.lineno} {where.name}", flush=True)
        return 130
    return 0


# ----------------------------------------------------------------------------- the parent


@dataclass
class Run:
    """One interrupted journey."""

    delay_s: float
    interrupted: str = ""
    finished_s: float | None = None
    hung: bool = False
    left: dict[str, list[str]] = field(default_factory=dict)
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return not self.hung and not self.left


def left_in(workspace: Path) -> dict[str, list[str]]:
    """What a fresh session on ``workspace`` still finds, by kind."""
    import personakit as pk

    with pk.Session.local(workspace, progress=False) as session:
        personalize = session.client("personalize")
        found: dict[str, list[str]] = {
            "dataset groups": [
                g["datasetGroupArn"] for g in personalize.list_dataset_groups()["datasetGroups"]
            ],
            "datasets": [d["datasetArn"] for d in personalize.list_datasets()["datasets"]],
            "schemas": [s["schemaArn"] for s in personalize.list_schemas()["schemas"]],
            "solutions": [s["solutionArn"] for s in personalize.list_solutions()["solutions"]],
            "campaigns": [c["campaignArn"] for c in personalize.list_campaigns()["campaigns"]],
            "filters": [f["filterArn"] for f in personalize.list_filters()["Filters"]],
        }
        s3 = session.client("s3")
        found["uploads"] = [
            o["Key"] for o in s3.list_objects_v2(Bucket=session.bucket).get("Contents", [])
        ]
    return {kind: arns for kind, arns in found.items() if arns}


def run_once(delay_s: float, hang_s: float = HANG_S) -> Run:
    """One journey, a ``SIGINT`` ``delay_s`` seconds after it is ready, then the count."""
    run = Run(delay_s)
    with tempfile.TemporaryDirectory(prefix="pk-interrupt-") as tmp:
        workspace = Path(tmp) / "ws"
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", str(workspace)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() == READY:
            try:
                proc.wait(timeout=delay_s)  # it may finish first
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGINT)  # what Ctrl-C in a terminal sends
        try:
            out, err = proc.communicate(timeout=hang_s)
        except subprocess.TimeoutExpired:
            run.hung = True
            proc.terminate()  # the child prints every thread's stack, then is killed
            time.sleep(1.0)
            proc.kill()
            out, err = proc.communicate()
        run.stderr = err[-6000:]
        for text in out.splitlines():
            if text.startswith("interrupted: "):
                run.interrupted = text.removeprefix("interrupted: ")
            elif text.startswith(DONE):
                run.finished_s = float(text.split()[-1].rstrip("s"))
        run.left = left_in(workspace)
    return run


def journey_s() -> float:
    """How long one journey takes, uninterrupted (the range the delays are drawn from)."""
    run = run_once(delay_s=1e9)
    if run.finished_s is None or not run.ok:
        raise SystemExit(f"the journey itself fails:\n{run.stderr}")
    return run.finished_s


def run_many(runs: int, seed: int, jobs: int = 1, span_s: float | None = None) -> list[Run]:
    """``runs`` journeys, each interrupted at a uniform random moment of ``span_s``
    (measured with one uninterrupted journey when not given)."""
    span = journey_s() if span_s is None else span_s
    rng = random.Random(seed)
    delays = [rng.uniform(0.0, span) for _ in range(runs)]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(run_once, delays))


def summary(results: Sequence[Run]) -> dict[str, Any]:
    return {
        "runs": len(results),
        "places": len({r.interrupted for r in results if r.interrupted}),
        "finished_first": sum(r.finished_s is not None for r in results),
        "left_something": sum(bool(r.left) for r in results),
        "hung": sum(r.hung for r in results),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="journeys at once")
    parser.add_argument("--delay", type=float, help="every run: this many seconds")
    parser.add_argument("--json", action="store_true", help="print the totals as JSON")
    parser.add_argument("--child", metavar="WORKSPACE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(Path(args.child))
    if args.delay is not None:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(run_once, [args.delay] * args.runs))
    else:
        results = run_many(args.runs, args.seed, args.jobs)
    for r in results:
        if not r.ok:
            what = "HUNG" if r.hung else f"LEFT {r.left}"
            print(f"delay {r.delay_s:.3f}s at {r.interrupted or '?'}: {what}\n{r.stderr}")
    totals = summary(results)
    if args.json:
        print(json.dumps(totals))
    else:
        print(
            f"{totals['runs']} runs (interrupted in {totals['places']} places, "
            f"{totals['finished_first']} finished first), "
            f"{totals['left_something']} left something, {totals['hung']} hung"
        )
    return 0 if totals["left_something"] == totals["hung"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
