"""Local-engine benchmark: recommendation quality, training time, memory and latency.

Quality (Personalize's offline protocol, :mod:`personakit.local.evaluation`): one
seeded 90/10 user split; every model is trained on the training users and asked
for 25 items per test user from the oldest 90% of that user's events (input items
excluded), scored against the newest 10%. Compared in one process, on the same
split:

* ``user-personalization``: the local engine's recipe code path
  (``algorithms.train("aws-user-personalization", ...)`` + ``model.recommend``),
  with its defaults (``hpo=auto``: it tunes itself on held-out folds of the training
  users, the one-SE rule preferring its defaults and, where EASE and iALS are both
  cheap, their blend);
* ``EASE``: plain EASE (Steck 2019), λ tuned on the validation split;
* ``implicit ALS``: the ``implicit`` library's CPU ALS (conjugate gradient),
  factors x regularization x alpha tuned on the validation split, test users
  folded in with ``recalculate_user=True``;
* ``popularity-count``: the local recipe.

Data: generated (``personakit.samples.synthetic``), then real purchases: the UCI
"Online Retail" data set (CC BY 4.0; 541,909 invoice lines of a UK gift retailer,
2010-12 to 2011-12), read from ``../shared/data/online-retail/online-retail.parquet``
next to the repository (``--online-retail PATH`` elsewhere; skipped with a note when
absent, it is not part of the repository) and prepared as a user would with
``pk.prep`` (:func:`prepare_online_retail`), then checked with ``pk.validate``;
``--no-online-retail`` leaves it out.

The validation split is the same protocol one level down: fold 0 of 9 user folds
of the training users (their oldest 90% as input, newest 10% as truth), as in
Personalize's protocol
(https://docs.aws.amazon.com/personalize/latest/dg/working-with-training-metrics.html).
Printed: NDCG@10, precision@10 and MRR@25 per model, the ratio of
user-personalization to the better of EASE and implicit ALS, and to popularity,
and each model's training time (final fit; tuning time separately).

``implicit`` is not a dependency of personakit; install it for this benchmark::

    .venv/bin/pip install implicit      # skipped, with a note, when absent

Runs (a default run takes a few minutes on 2 cores)::

    python benchmarks/bench_local.py                       # quality (generated, retail) + latency
    python benchmarks/bench_local.py --no-generated --no-latency   # quality on online retail only
    python benchmarks/bench_local.py --csv ratings.csv     # + quality on an interactions CSV
    python benchmarks/bench_local.py --speed               # a solution version at 1M / 20k items
    python benchmarks/bench_local.py --seeds 0,1,2 --no-latency   # quality over 3 seeds (splits)
    python benchmarks/bench_local.py --scale 100000,1000000,10000000   # time and peak RSS per size

``--csv`` takes Personalize's layout (USER_ID, ITEM_ID, TIMESTAMP) or MovieLens'
(userId, movieId, timestamp[, rating]; ``--min-rating`` keeps ratings >= it).
``--scale`` runs each size in a fresh process (so each peak RSS is its own) with
the engine's automatic choice (iALS at these catalogue sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.linalg import lapack

import personakit as pk
from personakit import samples
from personakit.local.algorithms import TrainingData, train
from personakit.local.evaluation import UserSplit, score_item_lists, split

RECIPE = "aws-user-personalization"
EASE_GRID = (25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0)
ALS_GRID = [
    (f, reg, alpha) for f in (64, 128) for reg in (1.0, 10.0, 50.0) for alpha in (1.0, 5.0, 20.0)
]
ONLINE_RETAIL = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "online-retail"
    / "online-retail.parquet"
)


# --------------------------------------------------------------------------- data


def to_training_data(frame: pd.DataFrame) -> TrainingData:
    """USER_ID, ITEM_ID, TIMESTAMP frame -> the engine's integer-coded TrainingData."""
    users = frame["USER_ID"].astype(str).to_numpy()
    items = frame["ITEM_ID"].astype(str).to_numpy()
    stamps = frame["TIMESTAMP"].to_numpy(dtype=np.int64)
    user_ids, user_codes = np.unique(users, return_inverse=True)
    item_ids, item_codes = np.unique(items, return_inverse=True)
    order = np.argsort(stamps, kind="stable")
    return TrainingData(
        user_ids=user_ids.astype(np.str_),
        item_ids=item_ids.astype(np.str_),
        users=user_codes[order].astype(np.int32),
        items=item_codes[order].astype(np.int32),
        timestamps=stamps[order],
    )


def generated(n_users: int, n_items: int, n_interactions: int, seed: int) -> TrainingData:
    data = samples.synthetic(
        n_users=n_users,
        n_items=n_items,
        n_interactions=n_interactions,
        seed=seed,
        event_types=("View",),
        event_value=False,
    )
    return to_training_data(data.interactions)


def read_csv(path: str, min_rating: float | None) -> TrainingData:
    frame = pd.read_csv(path)
    lower = {c.lower(): c for c in frame.columns}
    if {"user_id", "item_id", "timestamp"} <= set(lower):
        frame = frame.rename(
            columns={
                lower["user_id"]: "USER_ID",
                lower["item_id"]: "ITEM_ID",
                lower["timestamp"]: "TIMESTAMP",
            }
        )
    elif {"userid", "movieid", "timestamp"} <= set(lower):
        if min_rating is not None:
            frame = frame[frame[lower["rating"]] >= min_rating]
        frame = frame.rename(
            columns={
                lower["userid"]: "USER_ID",
                lower["movieid"]: "ITEM_ID",
                lower["timestamp"]: "TIMESTAMP",
            }
        )
    else:
        raise SystemExit(
            f"{path}: expected columns USER_ID, ITEM_ID, TIMESTAMP (or MovieLens' userId, "
            f"movieId, timestamp); found {list(frame.columns)}"
        )
    return to_training_data(frame)


def prepare_online_retail(
    lines: pd.DataFrame, counts: dict[str, int] | None = None
) -> pd.DataFrame:
    """Online Retail invoice lines -> a Personalize Interactions frame, as a user would.

    ``lines`` has the published columns (InvoiceNo, StockCode, Quantity, InvoiceDate,
    CustomerID, ...). A purchase is a line of an invoice with a known customer:

    * cancellations (InvoiceNo starting with "C") and the other lines with
      Quantity <= 0 (adjustments) are not purchases: dropped (plain pandas);
    * stock codes that are not products (postage "POST"/"DOT", carriage "C2",
      manual "M", bank charges, "PADS" ...; products' codes start with five digits):
      dropped (plain pandas);
    * lines without a CustomerID cannot be attributed to a user: dropped with
      ``pk.prep.fill_missing(..., {"CustomerID": "drop"})``;
    * InvoiceDate is UK local time: localised to Europe/London (GMT/BST), then
      epoch seconds, ids as strings (``17850.0`` -> ``"17850"``) and EVENT_TYPE
      "Purchase" with ``pk.prep.ratings_to_interactions``;
    * buying an item again later is another event and is kept; the same item twice
      on one invoice (same user, item and minute) is one purchase: the exact
      duplicate rows are dropped, as ``pk.validate``'s duplicate-rows warning advises.

    ``counts`` (if given) receives the number of rows each step dropped.
    """
    invoice = lines["InvoiceNo"].astype("str")
    cancelled = invoice.str.startswith("C").to_numpy(dtype=bool)
    returned = (lines["Quantity"] <= 0).to_numpy(dtype=bool)
    product = lines["StockCode"].astype("str").str.match(r"\d{5}").to_numpy(dtype=bool)
    bought = lines[~cancelled & ~returned & product]
    known = pk.prep.fill_missing(bought, {"CustomerID": "drop"})
    local = known["InvoiceDate"].dt.tz_localize("Europe/London")
    interactions = pk.prep.ratings_to_interactions(
        known.assign(InvoiceDate=local),
        user="CustomerID",
        item="StockCode",
        timestamp="InvoiceDate",
        event_type="Purchase",
        sort=True,
    )
    out = interactions.drop_duplicates(ignore_index=True)
    if counts is not None:
        counts.update(
            {
                "invoice lines": len(lines),
                "cancellations": int(cancelled.sum()),
                "other quantities <= 0": int((returned & ~cancelled).sum()),
                "not products": int((~product & ~cancelled & ~returned).sum()),
                "no customer": len(bought) - len(known),
                "same item again on one invoice": len(interactions) - len(out),
                "purchase events": len(out),
            }
        )
    return out


def read_online_retail(path: Path) -> TrainingData:
    """The parquet file, prepared (:func:`prepare_online_retail`) and validated."""
    counts: dict[str, int] = {}
    frame = prepare_online_retail(pd.read_parquet(path), counts)
    report = pk.validate(frame)
    report.raise_for_problems(warnings_as_errors=True)
    print(f"\n== online retail: {path}")
    lines, events = counts.pop("invoice lines"), counts.pop("purchase events")
    dropped = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    print(f"prep: {lines:,} invoice lines -> {events:,} purchase events (dropped: {dropped})")
    print(
        f"pk.validate: {len(report.errors)} error(s), {len(report.problems)} problem(s); "
        f"{frame['USER_ID'].nunique():,} users, {frame['ITEM_ID'].nunique():,} items, "
        f"{len(frame):,} interactions"
    )
    return to_training_data(frame)


# --------------------------------------------------------------------------- protocol


class Task:
    """One split, as integer arrays, for the baselines (same users/items as the engine's)."""

    def __init__(self, parts: UserSplit) -> None:
        self.parts = parts
        data = parts.train
        self.n_items = data.n_items
        self.position = {name: k for k, name in enumerate(np.asarray(data.item_ids).tolist())}
        x = sp.csr_matrix(
            (np.ones(data.n_interactions, np.float32), (data.users, data.items)),
            shape=(data.n_users, data.n_items),
        )
        x.data[:] = 1.0  # duplicates summed by the constructor: binary again
        self.x = x
        rows: list[int] = []
        cols: list[int] = []
        for k, events in enumerate(parts.inputs):
            seen = {self.position[item] for item, _ in events if item in self.position}
            rows.extend([k] * len(seen))
            cols.extend(sorted(seen))
        self.inputs = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(parts.inputs), self.n_items)
        )
        self.names = np.asarray(data.item_ids).astype(str)

    def score(self, ranked: Sequence[Sequence[int]]) -> dict[str, float]:
        lists = [[str(self.names[p]) for p in row] for row in ranked]
        truths = [
            t - {i for i, _ in events}
            for t, events in zip(self.parts.truths, self.parts.inputs, strict=True)
        ]
        return score_item_lists(lists, truths, self.n_items)


def top_k_masked(scores: np.ndarray, mask: Any, k: int = 25) -> list[list[int]]:
    """Top-k per row of a dense score block, the row's input items excluded."""
    scores = np.asarray(scores, dtype=np.float32)
    rows, cols = mask.nonzero()
    scores[rows, cols] = -np.inf
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(-scores, part, axis=1).argsort(axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1).tolist()


# --------------------------------------------------------------------------- models


def ease_fit(x: Any, lam: float) -> np.ndarray:
    g = np.asarray((x.T @ x).toarray(), dtype=np.float32)
    g[np.diag_indices_from(g)] += np.float32(lam)
    chol, info = lapack.spotrf(g, lower=0, overwrite_a=1, clean=1)
    inv, info2 = lapack.spotri(chol, lower=0, overwrite_c=1)
    if info or info2:
        raise np.linalg.LinAlgError("EASE: not positive definite")
    p = np.triu(inv) + np.triu(inv, 1).T
    b = p / (-np.diag(p))[np.newaxis, :]
    b[np.diag_indices_from(b)] = 0.0
    return b


def ease_rank(b: np.ndarray, task: Task) -> list[list[int]]:
    out: list[list[int]] = []
    for start in range(0, task.inputs.shape[0], 1000):
        block = task.inputs[start : start + 1000]
        out.extend(top_k_masked(block @ b, block))
    return out


def als_fit(x: Any, factors: int, reg: float, alpha: float, seed: int) -> Any:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    model = AlternatingLeastSquares(
        factors=factors, regularization=reg, alpha=alpha, iterations=15, random_state=seed
    )
    with threadpool_limits(1, "blas"):  # implicit's README: one BLAS thread
        model.fit(x, show_progress=False)
    return model


def als_rank(model: Any, task: Task) -> list[list[int]]:
    users = np.arange(task.inputs.shape[0])
    ids, _ = model.recommend(
        users, task.inputs, N=25, filter_already_liked_items=True, recalculate_user=True
    )
    return [[int(i) for i in row if i >= 0] for row in np.atleast_2d(ids)]


def engine_rank(model: Any, parts: UserSplit) -> list[list[int]]:
    position = {name: k for k, name in enumerate(np.asarray(parts.train.item_ids).tolist())}
    out: list[list[int]] = []
    for user, events in zip(parts.test_users, parts.inputs, strict=True):
        given = {item for item, _ in events}
        found = model.recommend(user, 25, history=list(events), exclude=given)
        out.append([position[item] for item, _ in found])
    return out


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


# --------------------------------------------------------------------------- quality


def quality(name: str, data: TrainingData, seed: int, als: bool) -> None:
    print(
        f"\n== quality: {name} ({data.n_interactions:,} events, {data.n_users:,} users, "
        f"{data.n_items:,} items)"
    )
    parts = split(data, seed=seed)
    val = split(parts.train, seed=seed, n_folds=9)  # validation = fold 0 of the training users
    task, vtask = Task(parts), Task(val)
    rows: dict[str, tuple[dict[str, float], float, float, str]] = {}

    model, secs = timed(lambda: train(RECIPE, parts.train, {}, seed=seed))
    info = model.info
    label = f"{info.get('algorithm')}, {json.dumps(model.hyperparameters, sort_keys=True)}"
    rows["user-personalization"] = (task.score(engine_rank(model, parts)), secs, 0.0, label)

    pop, secs = timed(lambda: train("aws-popularity-count", parts.train, {}, seed=seed))
    rows["popularity-count"] = (task.score(engine_rank(pop, parts)), secs, 0.0, "")

    if data.n_items <= 25_000:
        start = time.perf_counter()
        found = []
        for lam in EASE_GRID:
            found.append(vtask.score(ease_rank(ease_fit(vtask.x, lam), vtask)))
        best = int(np.argmax([f["normalized_discounted_cumulative_gain_at_10"] for f in found]))
        tune = time.perf_counter() - start
        b, secs = timed(lambda: ease_fit(task.x, EASE_GRID[best]))
        rows["EASE"] = (task.score(ease_rank(b, task)), secs, tune, f"λ={EASE_GRID[best]:g}")
        del b
    else:
        print("EASE skipped: more than 25k items")

    if als:
        start = time.perf_counter()
        found = []
        for f, reg, alpha in ALS_GRID:
            m = als_fit(vtask.x, f, reg, alpha, seed)
            found.append(vtask.score(als_rank(m, vtask)))
        best = int(np.argmax([f["normalized_discounted_cumulative_gain_at_10"] for f in found]))
        tune = time.perf_counter() - start
        f, reg, alpha = ALS_GRID[best]
        m, secs = timed(lambda: als_fit(task.x, f, reg, alpha, seed))
        rows["implicit ALS"] = (
            task.score(als_rank(m, task)),
            secs,
            tune,
            f"factors={f}, reg={reg:g}, alpha={alpha:g}",
        )

    ndcg, prec, mrr = (
        "normalized_discounted_cumulative_gain_at_10",
        "precision_at_10",
        "mean_reciprocal_rank_at_25",
    )
    print(f"test users: {len(parts.test_users)}, validation users: {len(val.test_users)}")
    print(f"{'model':22} {'NDCG@10':>8} {'P@10':>8} {'MRR@25':>8} {'train s':>8} {'tune s':>8}")
    for key, (metrics, secs, tune, label) in rows.items():
        print(
            f"{key:22} {metrics[ndcg]:8.4f} {metrics[prec]:8.4f} "
            f"{metrics[mrr]:8.4f} {secs:8.2f} {tune:8.2f}  {label}"
        )
    up = rows["user-personalization"][0]
    baselines = [k for k in ("EASE", "implicit ALS") if k in rows]
    for metric, title in ((ndcg, "NDCG@10"), (prec, "precision@10"), (mrr, "MRR@25")):
        if baselines:
            best_key = max(baselines, key=lambda k: rows[k][0][metric])
            value = rows[best_key][0][metric]
            print(
                f"{title}: user-personalization / best baseline ({best_key}) = "
                f"{up[metric] / value:.2f}x"
            )
        value = rows["popularity-count"][0][metric]
        print(f"{title}: user-personalization / popularity-count = {up[metric] / value:.2f}x")


# --------------------------------------------------------------------------- latency


def latency(n_items: int, n_interactions: int, seed: int, calls: int) -> None:
    print(f"\n== GetRecommendations latency: warm model, {n_items:,} items")
    data = generated(n_interactions // 20, n_items, n_interactions, seed)
    model, secs = timed(lambda: train(RECIPE, data, {}, seed=seed))
    print(
        f"trained {model.info.get('algorithm')} in {secs:.1f} s on {data.n_interactions:,} events"
    )
    rng = np.random.default_rng(seed)
    users = np.asarray(data.user_ids)[rng.integers(0, data.n_users, calls)].tolist()
    for user in users[:100]:  # warm up
        model.recommend(user, 25)
    ours = []
    for user in users:
        start = time.perf_counter()
        model.recommend(user, 25)
        ours.append(time.perf_counter() - start)
    # baseline: a plain numpy top-k over the same catalogue (one dense score vector)
    factors = rng.standard_normal((data.n_items, 64)).astype(np.float32)
    base = []
    for _ in users:
        start = time.perf_counter()
        scores = factors @ rng.standard_normal(64).astype(np.float32)
        top = np.argpartition(-scores, 24)[:25]
        top[np.argsort(-scores[top])].tolist()
        base.append(time.perf_counter() - start)
    p99, b99 = np.percentile(ours, 99) * 1e3, np.percentile(base, 99) * 1e3
    print(f"recommend p50 {np.percentile(ours, 50) * 1e3:.2f} ms, p99 {p99:.2f} ms ({calls} calls)")
    print(f"numpy matvec + top-k p99 {b99:.2f} ms; ratio {p99 / b99:.1f}x")


def twin_latency(n_items: int, n_interactions: int, seed: int, calls: int) -> None:
    """GetRecommendations p99 through the runtime twin on a warm LocalEngine campaign."""
    import tempfile

    import boto3

    from personakit.local import LocalEngine
    from personakit.local.wire.server import EngineServer

    print(f"\n== GetRecommendations through personalize-runtime (LocalEngine), {n_items:,} items")
    frame = samples.synthetic(
        n_users=n_interactions // 20,
        n_items=n_items,
        n_interactions=n_interactions,
        seed=seed,
        event_types=("View", "Purchase"),
        event_value=False,
    ).interactions[["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"]]
    fields = [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
        {"name": "EVENT_TYPE", "type": "string"},
    ]
    schema = {"type": "record", "name": "Interactions", "fields": fields, "version": "1.0"}
    schema["namespace"] = "com.amazonaws.personalize.schema"

    def wait(read: Callable[[], str]) -> None:
        while (status := read()) != "ACTIVE":
            if status.endswith("FAILED"):
                raise SystemExit(f"twin setup failed: {status}")
            time.sleep(0.05)

    with tempfile.TemporaryDirectory() as folder, LocalEngine(folder) as engine:
        pz, s3 = engine.client("personalize"), engine.client("s3")
        runtime = engine.client("personalize-runtime")
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="i.csv", Body=frame.to_csv(index=False).encode())
        group = pz.create_dataset_group(name="bench")["datasetGroupArn"]
        wait(lambda: pz.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]["status"])
        schema_arn = pz.create_schema(name="bench", schema=json.dumps(schema))["schemaArn"]
        dataset = pz.create_dataset(
            name="bench", schemaArn=schema_arn, datasetGroupArn=group, datasetType="Interactions"
        )["datasetArn"]
        wait(lambda: pz.describe_dataset(datasetArn=dataset)["dataset"]["status"])
        job = pz.create_dataset_import_job(
            jobName="bench",
            datasetArn=dataset,
            dataSource={"dataLocation": "s3://bench/i.csv"},
            roleArn="arn:aws:iam::000000000000:role/bench",
        )["datasetImportJobArn"]
        read_job = pz.describe_dataset_import_job
        wait(lambda: read_job(datasetImportJobArn=job)["datasetImportJob"]["status"])
        solution = pz.create_solution(
            name="bench",
            datasetGroupArn=group,
            recipeArn="arn:aws:personalize:::recipe/aws-user-personalization",
        )["solutionArn"]
        wait(lambda: pz.describe_solution(solutionArn=solution)["solution"]["status"])
        start = time.perf_counter()
        version = pz.create_solution_version(solutionArn=solution)["solutionVersionArn"]
        read_version = pz.describe_solution_version
        wait(lambda: read_version(solutionVersionArn=version)["solutionVersion"]["status"])
        print(f"solution version (metrics run + fit): {time.perf_counter() - start:.1f} s")
        campaign = pz.create_campaign(name="bench", solutionVersionArn=version)["campaignArn"]
        wait(lambda: pz.describe_campaign(campaignArn=campaign)["campaign"]["status"])
        filt = pz.create_filter(
            name="bench",
            datasetGroupArn=group,
            filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("Purchase")',
        )["filterArn"]
        wait(lambda: pz.describe_filter(filterArn=filt)["filter"]["status"])
        rng = np.random.default_rng(seed)
        users = frame["USER_ID"].astype(str).unique()
        picked = users[rng.integers(0, len(users), calls)].tolist()
        handler = engine.handler("personalize-runtime")  # the same answer, without the wire
        operation = handler.service_model.operation_model("GetRecommendations")
        server = EngineServer(engine, port=0).start()  # and through `personakit serve`
        served = boto3.client(
            "personalize-runtime",
            region_name=engine.region,
            endpoint_url=server.url,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )

        def timings(call: Callable[[str], Any]) -> list[float]:
            for user in picked[:50]:  # warm up
                call(user)
            took = []
            for user in picked:
                t0 = time.perf_counter()
                call(user)
                took.append(time.perf_counter() - t0)
            return took

        for label, extra in (("no filter", {}), ("with filter", {"filterArn": filt})):
            direct = timings(
                lambda u, x=extra: handler.answer(
                    operation, {"campaignArn": campaign, "userId": u, **x}
                )
            )
            wire = timings(
                lambda u, x=extra: served.get_recommendations(campaignArn=campaign, userId=u, **x)
            )
            took = timings(
                lambda u, x=extra: runtime.get_recommendations(campaignArn=campaign, userId=u, **x)
            )
            d50, w99 = np.percentile(direct, 50) * 1e3, np.percentile(wire, 99) * 1e3
            print(
                f"{label}: handler called directly p50 {d50:.2f} ms; in-process client p50 "
                f"{np.percentile(took, 50) * 1e3:.2f} ms (wire overhead "
                f"{(np.percentile(took, 50) * 1e3 - d50):.2f} ms/call, "
                f"{np.percentile(took, 50) * 1e3 / d50:.2f}x); through serve p50 "
                f"{np.percentile(wire, 50) * 1e3:.2f} ms, p99 {w99:.2f} ms (target 5 ms)"
            )
            factors = rng.standard_normal((n_items, 64)).astype(np.float32)
            base = []
            for _ in picked:
                t0 = time.perf_counter()
                scores = factors @ rng.standard_normal(64).astype(np.float32)
                top = np.argpartition(-scores, 24)[:25]
                top[np.argsort(-scores[top])].tolist()
                base.append(time.perf_counter() - t0)
            p99, b99 = np.percentile(took, 99) * 1e3, np.percentile(base, 99) * 1e3
            print(
                f"{label}: p50 {np.percentile(took, 50) * 1e3:.2f} ms, p99 {p99:.2f} ms "
                f"({calls} calls, in-process; target 2 ms); numpy top-k p99 {b99:.2f} ms; "
                f"ratio {p99 / b99:.1f}x"
            )
        server.stop()


# --------------------------------------------------------------------------- speed and scale


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def one_size(n_interactions: int, n_items: int, n_users: int, seed: int, evaluate: bool) -> None:
    """Generate, train (and with ``evaluate``, the engine's metrics run too); print JSON."""
    from personakit.local.evaluation import evaluate_and_tune

    data, gen = timed(lambda: generated(n_users, n_items, n_interactions, seed))
    rss_data = peak_rss_gib()
    tuned: dict[str, Any] | None = None
    ev = 0.0
    if evaluate:  # what CreateSolutionVersion does: the metrics run tunes, the fit reuses
        result, ev = timed(lambda: evaluate_and_tune(RECIPE, data, {}, seed=seed))
        tuned = result.tuned
    model, secs = timed(lambda: train(RECIPE, data, {}, seed=seed, tuned=tuned))
    out: dict[str, Any] = {
        "interactions": n_interactions,
        "items": n_items,
        "users": n_users,
        "generate_s": round(gen, 1),
        "train_s": round(secs, 1),
        "algorithm": model.info.get("algorithm"),
        "hpo": "hpo" in model.info,
        "peak_rss_after_data_gib": round(rss_data, 2),
    }
    if evaluate:
        out["evaluate_s"] = round(ev, 1)
    out["peak_rss_gib"] = round(peak_rss_gib(), 2)
    print(json.dumps(out))


def in_subprocess(args: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def speed(seed: int) -> None:
    print("\n== training at 1M interactions / 20k items (algorithm=auto, hpo=auto)")
    r = in_subprocess(["--one-size", "1000000,20000,50000", "--seed", str(seed), "--evaluate"])
    print(
        f"{r['algorithm']} (hpo: {r['hpo']}): train {r['train_s']} s; the engine's metrics run "
        f"(90% split) {r['evaluate_s']} s; CreateSolutionVersion total ~"
        f"{r['train_s'] + r['evaluate_s']:.1f} s; target 30 s -> "
        f"{(r['train_s'] + r['evaluate_s']) / 30:.2f} of budget; peak RSS {r['peak_rss_gib']} GiB"
    )


def scale(sizes: list[int], seed: int) -> None:
    print("\n== scale: training time and peak RSS (fresh process per size)")
    print(
        f"{'interactions':>12} {'items':>8} {'users':>8} {'algo':>5} {'train s':>8} "
        f"{'x prev':>7} {'peak GiB':>9} {'data GiB':>9}"
    )
    previous = None
    for n in sizes:
        items = 200_000 if n >= 10_000_000 else 20_000
        users = max(n // 20, 1000)
        r = in_subprocess(["--one-size", f"{n},{items},{users}", "--seed", str(seed)])
        growth = f"{r['train_s'] / previous:7.1f}" if previous else "      -"
        previous = r["train_s"] or 0.1
        print(
            f"{n:>12,} {items:>8,} {users:>8,} {r['algorithm']:>5} {r['train_s']:8.1f} "
            f"{growth} {r['peak_rss_gib']:9.2f} {r['peak_rss_after_data_gib']:9.2f}"
        )


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=6_000)
    parser.add_argument("--items", type=int, default=3_000)
    parser.add_argument("--interactions", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", default="", help="comma-separated seeds for the quality runs")
    parser.add_argument("--csv", action="append", default=[], help="interactions CSV (repeatable)")
    parser.add_argument("--min-rating", type=float, default=None)
    parser.add_argument("--no-generated", action="store_true")
    parser.add_argument(
        "--online-retail",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"the Online Retail parquet file (default: {ONLINE_RETAIL}, skipped if absent)",
    )
    parser.add_argument("--no-online-retail", action="store_true")
    parser.add_argument("--latency-items", type=int, default=20_000)
    parser.add_argument("--latency-interactions", type=int, default=400_000)
    parser.add_argument("--latency-calls", type=int, default=2_000)
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--speed", action="store_true", help="training at 1M / 20k items")
    parser.add_argument("--scale", default="", help="comma-separated interaction counts")
    parser.add_argument("--one-size", default="", help=argparse.SUPPRESS)
    parser.add_argument("--evaluate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one_size:
        n, items, users = (int(v) for v in args.one_size.split(","))
        one_size(n, items, users, args.seed, args.evaluate)
        return
    try:
        import implicit  # noqa: F401

        als = True
    except ImportError:
        als = False
        print("implicit is not installed: its ALS baseline is skipped (pip install implicit)")
    print(f"cores: {os.cpu_count()}, numpy {np.__version__}")
    seeds = [int(v) for v in args.seeds.split(",")] if args.seeds else [args.seed]
    if not args.no_generated:
        for seed in seeds:
            data = generated(args.users, args.items, args.interactions, seed)
            quality(f"generated (personakit.samples.synthetic, seed {seed})", data, seed, als)
    if not args.no_online_retail:
        retail = args.online_retail or ONLINE_RETAIL
        if retail.is_file():
            data = read_online_retail(retail)
            for seed in seeds:  # one user split per seed
                quality(f"online retail (purchases, seed {seed})", data, seed, als)
        elif args.online_retail is not None:
            parser.error(f"--online-retail {retail}: no such file")
        else:
            print(
                f"\nonline retail skipped: {retail} not found (the UCI Online Retail data set, "
                "CC BY 4.0, is not in the repository; pass --online-retail PATH)"
            )
    for path in args.csv:
        quality(path, read_csv(path, args.min_rating), args.seed, als)
    if not args.no_latency:
        latency(args.latency_items, args.latency_interactions, args.seed, args.latency_calls)
        twin_latency(args.latency_items, args.latency_interactions, args.seed, args.latency_calls)
    if args.speed:
        speed(args.seed)
    if args.scale:
        scale([int(v) for v in args.scale.split(",")], args.seed)


if __name__ == "__main__":
    main()
