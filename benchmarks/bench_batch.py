"""Batch inference of 100k users on the local engine, against real-time calls.

Generated data (numpy): ``--users`` users (100k), ``--items`` items (3,000), about
``--per-user`` interactions each (Zipf popularity); a user-personalization solution
is trained once (no HPO). Then, in the same process:

* ``batch``: ``solution.batch_recommend(all users, n=25)``, end to end: input checked,
  JSON Lines written to the S3 twin, CreateBatchInferenceJob, the job answering every
  line with the model, the output read back and parsed into a DataFrame;
* ``baseline``: ``campaign.recommend(user, n=25)`` (GetRecommendations through the
  runtime twin) for a sample of ``--sample`` users, extrapolated to every user.

The issue's target is "batch inference of 100k users under 60 s". Run::

    .venv/bin/python benchmarks/bench_batch.py            # 100k users
    .venv/bin/python benchmarks/bench_batch.py --users 20000
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import pandas as pd

from personakit.aws.session import Session
from personakit.aws.timing import Timing
from personakit.local import LocalEngine
from personakit.personalize.group import DatasetGroup

TARGET_S = 60.0
FAST = Timing(poll_s=0.05, max_poll_s=0.5, train_poll_s=0.1, train_max_poll_s=1.0, progress=False)


def interactions(users: int, items: int, per_user: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = users * per_user
    weights = 1.0 / np.arange(1, items + 1) ** 0.8
    user = rng.integers(0, users, n)
    item = rng.choice(items, n, p=weights / weights.sum())
    frame = pd.DataFrame(
        {
            "USER_ID": pd.Series(user).map(lambda u: f"u{u}"),
            "ITEM_ID": pd.Series(item).map(lambda i: f"i{i}"),
            "TIMESTAMP": np.sort(rng.integers(1_600_000_000, 1_700_000_000, n)).astype("int64"),
        }
    )
    return frame.drop_duplicates(["USER_ID", "ITEM_ID"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=3_000)
    parser.add_argument("--per-user", type=int, default=10)
    parser.add_argument("--sample", type=int, default=2_000)
    args = parser.parse_args()

    frame = interactions(args.users, args.items, args.per_user)
    users = sorted(frame["USER_ID"].unique().tolist())
    with tempfile.TemporaryDirectory() as tmp, LocalEngine(tmp) as engine:
        session = Session(engine, region="us-east-1", bucket="bench", role_arn=engine.role_arn)
        engine.ensure_bucket("bench")
        with DatasetGroup.create(session, "bench", timing=FAST) as group:
            started = time.perf_counter()
            group.import_frame(frame)
            solution = group.train("user-personalization", hyperparameters={"hpo": "false"})
            setup = time.perf_counter() - started
            print(
                f"data: {len(frame):,} interactions, {len(users):,} users, {args.items:,} items "
                f"(import + training {setup:.1f}s)"
            )

            started = time.perf_counter()
            result = solution.batch_recommend(users, n=25)
            batch_s = time.perf_counter() - started
            assert len(result) == len(users)
            assert result["error"].isna().all()

            with solution.deploy(min_tps=1) as campaign:
                rng = np.random.default_rng(1)
                sample = rng.choice(users, min(args.sample, len(users)), replace=False).tolist()
                for user in sample[:50]:  # warm the model cache
                    campaign.recommend(user_id=user, n=25)
                started = time.perf_counter()
                for user in sample:
                    campaign.recommend(user_id=user, n=25)
                per_call = (time.perf_counter() - started) / len(sample)
    baseline_s = per_call * len(users)
    print(f"batch_recommend, {len(users):,} users, n=25: {batch_s:.1f}s wall")
    print(
        f"baseline GetRecommendations: {per_call * 1e3:.2f} ms/call on {len(sample):,} users "
        f"-> {baseline_s:.1f}s for {len(users):,} (extrapolated)"
    )
    print(f"ratio batch / baseline: {batch_s / baseline_s:.2f}")
    verdict = "meets" if batch_s < TARGET_S else "MISSES"
    print(f"target: under {TARGET_S:.0f}s for 100k users -> {verdict} ({batch_s:.1f}s)")


if __name__ == "__main__":
    main()
