"""Prepare, validate and write a Personalize data set (the README's main job).

Builds a synthetic data set in the MovieLens layout (``ratings.csv`` and
``movies.csv`` as ``pd.read_csv`` would give them), turns it into Personalize's
Interactions, Items and Users shapes with ``personakit.rules.prep``, infers the schemas,
checks every Personalize data rule at once with ``personakit.rules.validate``, and,
when nothing is wrong, writes the three CSVs an import job takes::

    python examples/prepare_data.py --out ./out
    python examples/prepare_data.py --users 6040 --items 3706 --interactions 1000209

Exit status: 0 when the data passes, 1 when the report has errors (then no CSV is
written), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import personakit as pk
from personakit.samples import synthetic_movielens


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the CSVs")
    parser.add_argument("--users", type=positive, default=610, help="number of users")
    parser.add_argument("--items", type=positive, default=9_742, help="number of movies")
    parser.add_argument(
        "--interactions", type=positive, default=100_836, help="number of ratings drawn"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument(
        "--min-rating", type=float, default=3.5, help="ratings kept as Watch events"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()

    # 1. the raw data, as a MovieLens user has it
    try:
        ratings, movies = synthetic_movielens(args.users, args.items, args.interactions, args.seed)
    except ValueError as exc:  # e.g. more ratings than users x movies allow
        print(f"prepare_data.py: error: {exc}", file=sys.stderr)
        return 2
    print(f"ratings: {len(ratings):,} rows, movies: {len(movies):,} rows (seed {args.seed})")

    # 2. Personalize's shapes
    interactions = pk.prep.ratings_to_interactions(
        ratings,
        user="userId",
        item="movieId",
        timestamp="timestamp",
        rating="rating",
        min_rating=args.min_rating,
        event_type="Watch",
        event_value=True,
    )
    catalogue = movies.assign(
        year=movies["title"].str.extract(r"\((\d{4})\)\s*$", expand=False).astype("Int64")
    ).drop(columns="title")
    items = pk.prep.items(catalogue, item="movieId", multi_value={"genres": "|"})
    # user metadata derived from behaviour: when they joined, how much they rate
    per_user = ratings.groupby("userId")["timestamp"].agg(["min", "size"])
    people = pd.DataFrame(
        {
            "userId": per_user.index,
            "member_since": pd.to_datetime(per_user["min"], unit="s"),
            "activity": np.select(
                [per_user["size"] >= 200, per_user["size"] >= 50], ["heavy", "regular"], "light"
            ),
        }
    )
    users = pk.prep.users(people, user="userId")

    # 3. schemas, then every rule at once
    frames = {"interactions": interactions, "items": items, "users": users}
    schemas = {name: pk.Schema.infer(frame, name) for name, frame in frames.items()}
    report = pk.validate(interactions, items=items, users=users, schemas=schemas)
    print(report)
    for name, schema in schemas.items():
        print(f"\n{name} schema:\n{schema.to_json(indent=2)}")
    if report.errors:
        print(f"\n{len(report.errors)} error(s): nothing written", file=sys.stderr)
        return 1

    # 4. the CSVs an import job takes
    args.out.mkdir(parents=True, exist_ok=True)
    print()
    for name, frame in frames.items():
        result = pk.write_csv(frame, args.out / f"{name}.csv", schemas[name])
        print(
            f"{result.path}: {result.rows:,} rows, {result.bytes:,} bytes, "
            f"sha256 {result.sha256[:12]}"
        )
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
