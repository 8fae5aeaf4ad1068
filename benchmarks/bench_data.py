"""Data-layer benchmark: prepare, validate and write a Personalize-ready CSV.

**The user's route** (``--routes user``), on a MovieLens-shaped ratings frame as
``pd.read_csv("ratings.csv")`` gives it (userId int64, movieId int64, rating float64,
timestamp int64 epoch seconds), from the raw ratings to the CSV:

* ``pandas``: filter on the rating, rename, ``astype(str)`` the ids, epoch seconds,
  ``to_csv``;
* ``raw``: pyarrow's ``write_csv`` of the already-clean table (USER_ID, ITEM_ID
  strings, TIMESTAMP int64);
* ``personakit``: ``pk.prep.ratings_to_interactions(ratings, min_rating=...)``, then
  ``pk.validate`` and ``pk.write_csv`` of the frame it returned, as a user writes them.

Each route writes a new file. ``write_csv`` writes a temporary file and renames it over
the target, so a failed write never leaves half a file; replacing an existing file
makes the file system free the old one, which is timed on its own line.

**The prepared frame** (``--routes prepared``): three routes over a frame whose
timestamps are datetime64:

* ``pandas``: the usual way: filter, rename, ``astype(str)``, datetime to epoch
  seconds, ``to_csv``;
* ``raw``: pyarrow's ``write_csv`` of the already-clean table (USER_ID, ITEM_ID
  strings, TIMESTAMP int64): the floor for writing the file at all;
* ``personakit``: the same filter, then ``Schema.infer`` + ``validate`` + ``write_csv``
  on the frame as the user has it.

Prints each figure as a ratio against its baseline run in the same process, plus the
peak memory the personakit route adds, as a multiple of the clean Arrow table's size::

    python benchmarks/bench_data.py --rows 10000000 --repeat 3
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

import personakit as pk
from personakit.rules.writer import write_csv

COLUMNS = {"userId": "USER_ID", "movieId": "ITEM_ID", "timestamp": "TIMESTAMP"}


def _polars_version() -> str | None:
    """The installed polars's version (any of its distributions), without importing it:
    with the fast extra, write_csv renders large files of ids and integers with it."""
    try:
        if importlib.util.find_spec("polars") is None:
            return None
    except (ImportError, ValueError):  # ValueError: sys.modules["polars"] is None
        return None
    dists = importlib.metadata.packages_distributions().get("polars", ["polars"])
    return importlib.metadata.version(dists[0])


POLARS = _polars_version()


def ratings(rows: int, seed: int = 0) -> pd.DataFrame:
    """A MovieLens-shaped ratings frame with power-law item popularity."""
    rng = np.random.default_rng(seed)
    n_users, n_items = max(rows // 100, 100), max(rows // 50, 100)
    items = (rng.zipf(1.3, rows) - 1) % n_items
    start = np.datetime64("2020-01-01T00:00:00", "s").astype("int64")
    seconds = start + rng.integers(0, 3 * 365 * 86400, rows)
    return pd.DataFrame(
        {
            "userId": rng.integers(0, n_users, rows),
            "movieId": items.astype("int64"),
            "rating": rng.integers(1, 11, rows) / 2.0,
            "timestamp": pd.to_datetime(seconds, unit="s"),
        }
    )


def raw_ratings(rows: int, seed: int = 0) -> pd.DataFrame:
    """:func:`ratings` as ``pd.read_csv("ratings.csv")`` gives it: epoch seconds as int64."""
    frame = ratings(rows, seed)
    return frame.assign(timestamp=frame["timestamp"].astype("datetime64[s]").astype("int64"))


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextmanager
def peak_rss() -> Iterator[dict[str, int]]:
    """Peak resident memory above the starting point, sampled every 2 ms."""
    gc.collect()
    out = {"start": _rss(), "peak": _rss()}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            out["peak"] = max(out["peak"], _rss())
            time.sleep(0.002)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield out
    finally:
        stop.set()
        thread.join()
        out["peak"] = max(out["peak"], _rss())
        out["extra"] = out["peak"] - out["start"]


@contextmanager
def without_polars() -> Iterator[None]:
    """write_csv as it runs without the ``fast`` extra: pyarrow renders every slice."""
    from personakit.rules import writer

    saved = getattr(writer, "_polars", None)  # None: code from before polars
    if saved is not None:
        writer._polars = lambda rows: None
    try:
        yield
    finally:
        if saved is not None:
            writer._polars = saved


def polars_import_seconds() -> float:
    """How long ``import polars`` takes in a fresh interpreter (median of 3)."""
    code = "import time; t = time.perf_counter(); import polars; print(time.perf_counter() - t)"
    runs = [float(subprocess.check_output([sys.executable, "-c", code])) for _ in range(3)]
    return sorted(runs)[1]


def timed(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def user_route(args: argparse.Namespace, tmp: Path) -> None:
    """The route a user runs, from the raw ratings to the CSV, against pandas and raw."""
    frame = raw_ratings(args.rows)
    keep = frame["rating"] >= args.min_rating

    def pandas_route() -> None:
        df = frame[frame["rating"] >= args.min_rating]
        df = df.rename(columns=COLUMNS)
        df = df.astype({"USER_ID": str, "ITEM_ID": str})
        df["TIMESTAMP"] = df["TIMESTAMP"].astype("int64")  # already epoch seconds
        df[["USER_ID", "ITEM_ID", "TIMESTAMP"]].to_csv(tmp / "user-pandas.csv", index=False)

    clean = pa.table(
        {
            "USER_ID": pa.array(frame["userId"][keep]).cast(pa.string()),
            "ITEM_ID": pa.array(frame["movieId"][keep]).cast(pa.string()),
            "TIMESTAMP": pa.array(frame["timestamp"][keep]),
        }
    )

    # CPU seconds (all threads; best of --repeat) tell the work apart from the waiting
    # a loaded machine adds to the wall-clock figures
    steps: dict[str, dict[str, float]] = {}
    cpu: dict[str, dict[str, float]] = {}

    def keep_best(table: dict[str, dict[str, float]], route: str, name: str, value: float) -> None:
        row = table.setdefault(route, {})
        row[name] = min(row.get(name, float("inf")), value)

    def raw_route() -> None:
        c0 = time.process_time()
        pacsv.write_csv(clean, tmp / "user-raw.csv")
        keep_best(cpu, "raw", "write", time.process_time() - c0)

    def personakit_route(name: str, polars: bool) -> Callable[[], None]:
        def route() -> None:
            t0, c0 = time.perf_counter(), time.process_time()
            interactions = pk.prep.ratings_to_interactions(frame, min_rating=args.min_rating)
            t1, c1 = time.perf_counter(), time.process_time()
            pk.validate(interactions).raise_for_problems()
            t2, c2 = time.perf_counter(), time.process_time()
            with without_polars() if not polars else nullcontext():
                pk.write_csv(interactions, tmp / f"user-{name}.csv")
            t3, c3 = time.perf_counter(), time.process_time()
            for step, took, used in (
                ("prep", t1 - t0, c1 - c0),
                ("validate", t2 - t1, c2 - c1),
                ("write", t3 - t2, c3 - c2),
            ):
                keep_best(steps, name, step, took)
                keep_best(cpu, name, step, used)

        return route

    # in turns, best of --repeat: a burst of load on the machine hits every route alike;
    # each writes a new file (the last run's is removed untimed): replacing a file is the
    # file system's work, measured on its own below
    routes = {"pandas": pandas_route, "raw": raw_route}
    if POLARS:
        routes["personakit"] = personakit_route("personakit", polars=True)
    routes["pyarrow"] = personakit_route("pyarrow", polars=False)
    best = dict.fromkeys(routes, float("inf"))
    for _ in range(args.repeat):
        for name, route in routes.items():
            (tmp / f"user-{name}.csv").unlink(missing_ok=True)
            best[name] = min(best[name], timed(route, 1))
    t_pandas, t_raw = best["pandas"], best["raw"]
    interactions = pk.prep.ratings_to_interactions(frame, min_rating=args.min_rating)
    first = next(name for name in ("personakit", "pyarrow") if name in best)
    t_over = timed(lambda: pk.write_csv(interactions, tmp / f"user-{first}.csv"), args.repeat)
    pandas_csv = (tmp / "user-pandas.csv").read_bytes()
    print(f"== the user's route: {int(keep.sum()):,} of {args.rows:,} ratings kept ==")
    print(f"pandas route (filter, rename, astype(str), to_csv):       {t_pandas:7.2f} s")
    print(f"raw pyarrow write_csv of the clean table:                 {t_raw:7.2f} s")
    for name, label in (("personakit", f"polars {POLARS}"), ("pyarrow", "pyarrow only")):
        if name not in best:
            continue
        t_pk, took, used = best[name], steps[name], cpu[name]
        same = (tmp / f"user-{name}.csv").read_bytes() == pandas_csv
        print(f"-- ratings_to_interactions + validate + write_csv, CSV rendered by {label}:")
        print(
            f"   route {t_pk:.2f} s (prep {took['prep']:.2f} s, validate "
            f"{took['validate']:.2f} s, write {took['write']:.2f} s)"
        )
        print(f"   speed-up over pandas route:       {t_pandas / t_pk:5.1f}x   (target >= 5x)")
        print(f"   personakit / raw write:           {t_pk / t_raw:5.2f}x   (target <= 1.5x)")
        print(
            f"   CPU seconds (all threads): prep {used['prep']:.2f}, validate "
            f"{used['validate']:.2f}, write {used['write']:.2f}; "
            f"raw write {cpu['raw']['write']:.2f}"
        )
        print(f"   byte-identical to the pandas CSV: {same}")
    print(
        f"write_csv over an existing file:     {t_over:5.2f} s   (a new file: "
        f"{steps[first]['write']:.2f} s; the rename over the old file is atomic)"
    )
    if POLARS:
        print(f"polars's import, once per process:  {polars_import_seconds():5.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--min-rating", type=float, default=3.5)
    parser.add_argument(
        "--routes",
        choices=("all", "user", "prepared"),
        default="all",
        help="the user's route from raw ratings, the prepared frame's, or both",
    )
    args = parser.parse_args()
    print(
        f"pandas {pd.__version__}, pyarrow {pa.__version__}, numpy {np.__version__}; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    tmp = Path(tempfile.mkdtemp())
    if args.routes in ("all", "user"):
        user_route(args, tmp)
    if args.routes in ("all", "prepared"):
        prepared_route(args, tmp)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def prepared_route(args: argparse.Namespace, tmp: Path) -> None:
    """infer + validate + write on a frame pandas already prepared."""
    frame = ratings(args.rows)
    keep = frame["rating"] >= args.min_rating

    def pandas_route() -> None:
        df = frame[frame["rating"] >= args.min_rating]
        df = df.rename(columns=COLUMNS)
        df = df.astype({"USER_ID": str, "ITEM_ID": str})
        df["TIMESTAMP"] = df["TIMESTAMP"].astype("datetime64[s]").astype("int64")
        df[["USER_ID", "ITEM_ID", "TIMESTAMP"]].to_csv(tmp / "pandas.csv", index=False)

    clean = pa.table(
        {
            "USER_ID": pa.array(frame["userId"][keep]).cast(pa.string()),
            "ITEM_ID": pa.array(frame["movieId"][keep]).cast(pa.string()),
            "TIMESTAMP": pa.array(frame["timestamp"][keep].astype("datetime64[s]").astype("int64")),
        }
    )

    def raw_route() -> None:
        pacsv.write_csv(clean, tmp / "raw.csv")

    def infer_validate() -> pk.DataReport:
        df = frame.loc[keep, ["userId", "movieId", "timestamp"]]
        schema = pk.Schema.infer(df, "interactions", columns=COLUMNS)
        report = pk.validate(df, schemas={"interactions": schema})
        report.raise_for_problems()
        return report

    def personakit_route() -> None:
        df = frame.loc[frame["rating"] >= args.min_rating, ["userId", "movieId", "timestamp"]]
        schema = pk.Schema.infer(df, "interactions", columns=COLUMNS)
        pk.validate(df, schemas={"interactions": schema}).raise_for_problems()
        write_csv(df, tmp / "personakit.csv", schema)

    t_pandas = timed(pandas_route, args.repeat)
    t_raw = timed(raw_route, args.repeat)
    t_check = timed(infer_validate, args.repeat)
    with peak_rss() as mem:
        t0 = time.perf_counter()
        personakit_route()
        t_pk = time.perf_counter() - t0
    same = (tmp / "pandas.csv").read_bytes() == (tmp / "personakit.csv").read_bytes()

    rows = int(keep.sum())
    print(f"== the prepared frame: {rows:,} of {args.rows:,} ratings written ==")
    print(f"pandas route (filter, rename, astype(str), epoch, to_csv): {t_pandas:7.2f} s")
    print(f"raw pyarrow write_csv of the clean table:                 {t_raw:7.2f} s")
    print(f"personakit infer + validate:                              {t_check:7.2f} s")
    print(f"personakit infer + validate + write_csv:                  {t_pk:7.2f} s")
    print(f"speed-up over pandas route:          {t_pandas / t_pk:5.1f}x   (target >= 5x)")
    print(f"personakit / raw write:              {t_pk / t_raw:5.2f}x   (target <= 2x)")
    print(f"infer + validate / pandas route:     {t_check / t_pandas:5.1%}   (target < 30%)")
    print(
        f"peak extra memory / Arrow table:     {mem['extra'] / clean.nbytes:5.2f}x   "
        f"({mem['extra'] / 2**20:,.0f} MiB over a {clean.nbytes / 2**20:,.0f} MiB table; "
        "target < 2.5x)"
    )
    print(f"byte-identical to the pandas CSV:    {same}")


if __name__ == "__main__":
    main()
