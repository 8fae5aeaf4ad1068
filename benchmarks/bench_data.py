"""Data-layer benchmark: infer + validate + write a Personalize-ready CSV.

Compares, in one process and on the same data, three routes over a MovieLens-shaped
ratings frame (userId int64, movieId int64, rating float64, timestamp datetime64):

* ``pandas``: the usual way: filter, rename, ``astype(str)``, datetime to epoch
  seconds, ``to_csv``;
* ``raw``: pyarrow's ``write_csv`` of the already-clean table (USER_ID, ITEM_ID
  strings, TIMESTAMP int64): the floor for writing the file at all;
* ``personakit``: the same filter, then ``Schema.infer`` + ``validate`` + ``write_csv``
  on the frame as the user has it.

Prints each figure as a ratio against its baseline, plus the peak memory the
personakit route adds, as a multiple of the clean Arrow table's size::

    python benchmarks/bench_data.py --rows 10000000
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

import personakit as pk
from personakit.rules.writer import write_csv

COLUMNS = {"userId": "USER_ID", "movieId": "ITEM_ID", "timestamp": "TIMESTAMP"}


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


def timed(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--min-rating", type=float, default=3.5)
    args = parser.parse_args()

    frame = ratings(args.rows)
    keep = frame["rating"] >= args.min_rating
    tmp = Path(tempfile.mkdtemp())

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
    print(f"rows written: {rows:,} of {args.rows:,} ratings")
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
