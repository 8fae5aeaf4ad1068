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
* ``popularity-count``: the local recipe;
* the stronger bar, each tuned on the validation split with the recency half-life h
  in ``HALF_LIVES`` (the input's distinct items weighted ``0.5 ** (age / h)``, age =
  number of later items): ``EASE+recency`` (λ), ``iALS+recency`` (the engine's iALS,
  reg x alpha) and ``SLIST`` (Choi et al., WWW 2021, https://arxiv.org/abs/2103.16104:
  item similarity plus item-to-next-item transitions in one closed form; α x λ).

Over several seeds (``--seeds``; one user split each) it prints each model's mean ± SE
and ``TARGET`` lines: user-personalization / the best baseline on NDCG@10 and MRR@25.
Then the other recipes the same way (``--no-related`` skips them): SIMS against
item-kNN (cosine, shrinkage tuned) and RP3beta (α, β tuned) on next-item hit rate@10/@25
(the test user's last input item as the query, their next different item as the
truth), and item-affinity against Personalize's activity baseline (the most active
users) on hit and recall at 1% (:func:`personakit.local.evaluation.evaluate`,
``extended=True``). ``--no-quality`` skips user-personalization.

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
from personakit.local.algorithms.common import Events, recency_weights
from personakit.local.algorithms.ials import IalsScorer, fit_ials
from personakit.local.algorithms.slist import fit_slist
from personakit.local.evaluation import UserSplit, score_item_lists, split

RECIPE = "aws-user-personalization"
EASE_GRID = (25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0)
ALS_GRID = [
    (f, reg, alpha) for f in (64, 128) for reg in (1.0, 10.0, 50.0) for alpha in (1.0, 5.0, 20.0)
]
#: the recency half-lives every recency-weighted baseline is tuned over (events)
HALF_LIVES = (1.0, 2.0, 5.0, 10.0, 20.0, float("inf"))
IALS_RECENCY_GRID = [(reg, alpha) for reg in (10.0, 50.0) for alpha in (2.0, 8.0, 32.0)]
SLIST_GRID = [(alpha, lam, 1.0) for alpha in (0.2, 0.5, 0.8) for lam in (1.0, 10.0)]
NDCG = "normalized_discounted_cumulative_gain_at_10"
MRR = "mean_reciprocal_rank_at_25"
BASELINES = ("EASE", "implicit ALS", "EASE+recency", "iALS+recency", "SLIST")
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
        events = Events.from_arrays(
            data.users, data.items, data.timestamps, data.n_users, data.n_items
        )
        self.train_indptr, self.train_items, _ = events.sequences()
        # each test user's distinct input items, oldest first, each at its newest position
        # (what the engine scores), for the recency-weighted baselines
        self.seqs: list[np.ndarray] = []
        for events_k in parts.inputs:
            order = [self.position[item] for item, _ in events_k if item in self.position]
            last = {p: k for k, p in enumerate(order)}
            self.seqs.append(np.array(sorted(last, key=last.__getitem__), dtype=np.int64))

    def weighted(self, half_life: float) -> Any:
        """Test users x items CSR of the inputs weighted 0.5 ** (age / half_life)."""
        rows, cols, vals = [], [], []
        for k, seq in enumerate(self.seqs):
            rows.append(np.full(len(seq), k))
            cols.append(seq)
            vals.append(recency_weights(len(seq), half_life))
        shape = (len(self.seqs), self.n_items)
        if not rows:
            return sp.csr_matrix(shape, dtype=np.float32)
        return sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape
        )

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


def scorer_rank(score_batch: Callable[[Any], Any], task: Task, half_life: float) -> list[list[int]]:
    """Top-25 per test user from a scorer over the recency-weighted inputs (inputs masked)."""
    weighted = task.weighted(half_life)
    out: list[list[int]] = []
    for start in range(0, weighted.shape[0], 1000):
        stop = start + 1000
        out.extend(top_k_masked(score_batch(weighted[start:stop]), task.inputs[start:stop]))
    return out


def tune_recency(
    name: str,
    grid: Sequence[Any],
    fit: Callable[[Task, Any], Any],
    vtask: Task,
    task: Task,
) -> tuple[dict[str, float], float, float, str]:
    """A baseline at its best on the validation split: every grid point x half-life
    (``HALF_LIVES``) scored on the validation users, the best NDCG@10 refit on the
    training users and scored once on the test users."""
    start = time.perf_counter()
    best: tuple[float, Any, float] = (-1.0, None, 0.0)
    for point in grid:
        try:
            scorer = fit(vtask, point)
        except np.linalg.LinAlgError:
            continue
        for life in HALF_LIVES:
            value = vtask.score(scorer_rank(scorer.score_batch, vtask, life))[NDCG]
            if value > best[0]:
                best = (value, point, life)
        del scorer
    tune = time.perf_counter() - start
    _, point, life = best
    scorer, secs = timed(lambda: fit(task, point))
    metrics = task.score(scorer_rank(scorer.score_batch, task, life))
    return metrics, secs, tune, f"{name}: {point}, half-life {life:g}"


def ease_recency_fit(t: Task, lam: float) -> Any:
    from personakit.local.algorithms.ease import EaseScorer

    return EaseScorer.fit(t.x, lam)


def ials_recency_fit(t: Task, point: tuple[float, float]) -> Any:
    reg, alpha = point
    _, items = fit_ials(t.x, factors=64, reg=reg, alpha=alpha, iterations=15, seed=0)
    return IalsScorer(items, reg, alpha)


def slist_fit(t: Task, point: tuple[float, float, float]) -> Any:
    alpha, lam, decay = point
    return fit_slist(t.x, t.train_indptr, t.train_items, alpha=alpha, l2=lam, decay=decay)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


# --------------------------------------------------------------------------- quality


def quality(
    name: str, data: TrainingData, seed: int, als: bool, plain_only: bool = False
) -> dict[str, dict[str, float]]:
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

    if data.n_items <= 25_000 and not plain_only:
        rows["EASE+recency"] = tune_recency("λ", EASE_GRID, ease_recency_fit, vtask, task)
        rows["iALS+recency"] = tune_recency(
            "(reg, alpha)", IALS_RECENCY_GRID, ials_recency_fit, vtask, task
        )
        rows["SLIST"] = tune_recency("(α, λ, decay)", SLIST_GRID, slist_fit, vtask, task)

    ndcg, prec, mrr = NDCG, "precision_at_10", "mean_reciprocal_rank_at_25"
    print(f"test users: {len(parts.test_users)}, validation users: {len(val.test_users)}")
    print(f"{'model':22} {'NDCG@10':>8} {'P@10':>8} {'MRR@25':>8} {'train s':>8} {'tune s':>8}")
    for key, (metrics, secs, tune, label) in rows.items():
        print(
            f"{key:22} {metrics[ndcg]:8.4f} {metrics[prec]:8.4f} "
            f"{metrics[mrr]:8.4f} {secs:8.2f} {tune:8.2f}  {label}"
        )
    up = rows["user-personalization"][0]
    baselines = [k for k in BASELINES if k in rows]
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
    return {key: row[0] for key, row in rows.items()}


def summary(name: str, runs: Sequence[dict[str, dict[str, float]]]) -> None:
    """Mean ± standard error over the user folds (one per seed) and the targets' ratios:
    user-personalization against the best baseline (by its mean), per metric."""
    if not runs:
        return
    n = len(runs)
    print(f"\n== quality summary: {name}, mean ± SE over {n} user fold(s) (seeds)")
    print(f"{'model':22} {'NDCG@10':>17} {'MRR@25':>17}")

    def stats(key: str, metric: str) -> tuple[float, float]:
        values = np.array([run[key][metric] for run in runs])
        se = float(values.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        return float(values.mean()), se

    keys = [k for k in runs[0] if all(k in run for run in runs)]
    for key in keys:
        (m1, s1), (m2, s2) = stats(key, NDCG), stats(key, MRR)
        print(f"{key:22} {m1:8.4f} ± {s1:6.4f} {m2:8.4f} ± {s2:6.4f}")
    baselines = [k for k in BASELINES if k in keys]
    for metric, title in ((NDCG, "NDCG@10"), (MRR, "MRR@25")):
        if not baselines:
            continue
        best = max(baselines, key=lambda k: stats(k, metric)[0])
        ratios = np.array([run["user-personalization"][metric] / run[best][metric] for run in runs])
        se = float(ratios.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        folds = ", ".join(f"{r:.2f}" for r in ratios)
        print(
            f"TARGET {title}: user-personalization / best baseline ({best}) = "
            f"{stats('user-personalization', metric)[0] / stats(best, metric)[0]:.3f}x "
            f"(per fold {folds}; mean {ratios.mean():.3f} ± {se:.3f}; target >= 1.0)"
        )


# --------------------------------------------------------------------------- related items


def next_item_pairs(data: TrainingData, parts: UserSplit) -> list[tuple[int, int]]:
    """Per test user: (the last input item, the first later item that differs from it),
    as item positions in the training data; users whose items are unknown are left out."""
    from personakit.local.algorithms.metrics import holdout_size

    names = np.asarray(data.item_ids).astype(str)
    position = {name: k for k, name in enumerate(np.asarray(parts.train.item_ids).tolist())}
    users = np.asarray(data.users)
    order = np.lexsort((np.arange(len(users)), users))  # by user, chronological within
    bounds = np.flatnonzero(np.diff(users[order])) + 1
    wanted = set(parts.test_users)
    user_names = np.asarray(data.user_ids).astype(str)
    pairs: list[tuple[int, int]] = []
    for chunk in np.split(order, bounds) if len(order) else []:
        if str(user_names[users[chunk[0]]]) not in wanted:
            continue
        items = [str(names[data.items[k]]) for k in chunk]
        cut = len(items) - holdout_size(len(items))
        last = items[cut - 1] if cut > 0 else None
        after = [item for item in items[cut:] if item != last]
        if last in position and after and after[0] in position:
            pairs.append((position[last], position[after[0]]))
    return pairs


def hit_rates(
    ranked: Sequence[Sequence[int]], pairs: Sequence[tuple[int, int]]
) -> dict[str, float]:
    out = {}
    for k in (10, 25):
        out[f"hit@{k}"] = float(
            np.mean([t in r[:k] for r, (_, t) in zip(ranked, pairs, strict=True)])
        )
    return out


def related_rank(sim: np.ndarray, pairs: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Top-25 neighbours of each query item from a dense item x item score matrix."""
    queries = np.array([q for q, _ in pairs], dtype=np.int64)
    scores = np.array(sim[queries], dtype=np.float32)
    scores[np.arange(len(queries)), queries] = -np.inf
    mask = sp.csr_matrix(scores.shape, dtype=np.float32)
    return top_k_masked(scores, mask)


def knn_sim(x: Any, shrink: float) -> np.ndarray:
    """Item-kNN: cosine of the binary item columns, ``C_ij / (sqrt(pop_i pop_j) + shrink)``."""
    g = np.asarray((x.T @ x).toarray(), dtype=np.float32)
    pop = np.sqrt(np.maximum(np.diag(g), 1.0))
    return g / (np.outer(pop, pop) + np.float32(shrink))


def rp3_sim(x: Any, point: tuple[float, float]) -> np.ndarray:
    """RP3beta (Paudel et al. 2017): the 3-step walk item -> user -> item with each
    transition probability raised to α, the end item's popularity discounted by β
    (row i's factor deg(i)^-α does not change its ranking and is left out)."""
    alpha, beta = point
    deg = np.maximum(np.asarray(x.sum(axis=1)).ravel(), 1.0)
    xw = sp.diags(np.power(deg, -alpha)) @ x
    g = np.asarray((x.T @ xw).toarray(), dtype=np.float32)
    pop = np.maximum(np.asarray(x.sum(axis=0)).ravel(), 1.0)
    return g / np.power(pop, beta).astype(np.float32)[np.newaxis, :]


KNN_GRID = (0.0, 10.0, 100.0)
RP3_GRID = [(a, b) for a in (0.5, 1.0) for b in (0.0, 0.25, 0.5, 0.75)]


def related_quality(name: str, data: TrainingData, seed: int) -> dict[str, dict[str, float]]:
    """SIMS against item-kNN and RP3beta on next-item hit rate (the test users' last input
    item as the query, their next item as the truth); the baselines tuned on validation."""
    parts = split(data, seed=seed)
    val = split(parts.train, seed=seed, n_folds=9)
    task, vtask = Task(parts), Task(val)
    pairs, vpairs = next_item_pairs(data, parts), next_item_pairs(parts.train, val)
    rows: dict[str, tuple[dict[str, float], str]] = {}
    sims = train("aws-sims", parts.train, {}, seed=seed)
    names = task.names
    ranked = [[task.position[i] for i, _ in sims.related(str(names[q]), 25)] for q, _ in pairs]
    rows["sims"] = (hit_rates(ranked, pairs), json.dumps(sims.hyperparameters, sort_keys=True))
    for label, grid, fn in (("item-kNN", KNN_GRID, knn_sim), ("RP3beta", RP3_GRID, rp3_sim)):
        found = [hit_rates(related_rank(fn(vtask.x, p), vpairs), vpairs)["hit@10"] for p in grid]
        best = grid[int(np.argmax(found))]
        rows[label] = (hit_rates(related_rank(fn(task.x, best), pairs), pairs), f"{best}")
    print(f"\n== related items (next-item hit rate): {name}, {len(pairs)} test queries")
    for key, (metrics, label) in rows.items():
        print(f"{key:10} hit@10 {metrics['hit@10']:.4f}  hit@25 {metrics['hit@25']:.4f}  {label}")
    for metric in ("hit@10", "hit@25"):
        best_key = max(("item-kNN", "RP3beta"), key=lambda k: rows[k][0][metric])
        print(
            f"TARGET next-item {metric}: sims / best baseline ({best_key}) = "
            f"{rows['sims'][0][metric] / rows[best_key][0][metric]:.3f}x (target >= 1.0)"
        )
    return {key: row[0] for key, row in rows.items()}


def related_summary(name: str, runs: Sequence[dict[str, dict[str, float]]]) -> None:
    """Mean ± SE of the next-item hit rates over the user folds, and SIMS's ratio."""
    if not runs:
        return
    n = len(runs)
    print(f"\n== related items summary: {name}, mean ± SE over {n} user fold(s) (seeds)")

    def stats(key: str, metric: str) -> tuple[float, float]:
        values = np.array([run[key][metric] for run in runs])
        se = float(values.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        return float(values.mean()), se

    for key in runs[0]:
        (a, sa), (b, sb) = stats(key, "hit@10"), stats(key, "hit@25")
        print(f"{key:10} hit@10 {a:.4f} ± {sa:.4f}  hit@25 {b:.4f} ± {sb:.4f}")
    for metric in ("hit@10", "hit@25"):
        best = max(("item-kNN", "RP3beta"), key=lambda k: stats(k, metric)[0])
        print(
            f"TARGET next-item {metric}: sims / best baseline ({best}) = "
            f"{stats('sims', metric)[0] / stats(best, metric)[0]:.3f}x over {n} fold(s) "
            "(target >= 1.0)"
        )


def affinity_quality(name: str, data: TrainingData, seed: int) -> dict[str, float]:
    """Item-affinity against the activity baseline (the most active users), Personalize's
    segmentation metrics (hit and recall at 1%, the per-user newest 20% as truth)."""
    from personakit.local.evaluation import evaluate

    m = evaluate("aws-item-affinity", data, {}, seed=seed, extended=True)
    print(f"\n== item-affinity: {name} ({int(m['test_items'])} test items)")
    for metric in ("hit_at_1_percent", "recall_at_1_percent"):
        ours, base = m[metric], m[f"{metric}_activity_baseline"]
        print(
            f"TARGET {metric}: item-affinity {ours:.4f} / activity baseline {base:.4f} = "
            f"{ours / base if base else float('inf'):.3f}x (target >= 1.0)"
        )
    return m


def affinity_summary(name: str, runs: Sequence[dict[str, float]]) -> None:
    """Mean ± SE of item-affinity's and the activity baseline's hit and recall at 1% over
    the seeds (the model's seed and the sample of test items), and their ratio."""
    if not runs:
        return
    n = len(runs)
    print(f"\n== item-affinity summary: {name}, mean ± SE over {n} seed(s)")

    def stats(key: str) -> tuple[float, float]:
        values = np.array([run[key] for run in runs])
        se = float(values.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        return float(values.mean()), se

    for metric in ("hit_at_1_percent", "recall_at_1_percent"):
        (ours, s_ours), (base, s_base) = stats(metric), stats(f"{metric}_activity_baseline")
        print(
            f"TARGET {metric}: item-affinity {ours:.4f} ± {s_ours:.4f} / activity baseline "
            f"{base:.4f} ± {s_base:.4f} = {ours / base if base else float('inf'):.3f}x "
            f"over {n} seed(s) (target >= 1.0)"
        )


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
        # events arriving between requests: each request must see the user's new
        # purchase, and no event may cost a reload of the imported table
        tracker = pz.create_event_tracker(name="bench", datasetGroupArn=group)
        arn = tracker["eventTrackerArn"]
        wait(lambda: pz.describe_event_tracker(eventTrackerArn=arn)["eventTracker"]["status"])
        events = engine.client("personalize-events")
        items = frame["ITEM_ID"].astype(str).unique()
        bought = items[rng.integers(0, len(items), len(picked))].tolist()
        sent, asked = [], []
        for k, (user, item) in enumerate(zip(picked, bought, strict=True)):
            t0 = time.perf_counter()
            events.put_events(
                trackingId=tracker["trackingId"],
                userId=user,
                sessionId=user,
                eventList=[{"eventType": "Purchase", "itemId": item, "sentAt": 1.9e9 + k}],
            )
            t1 = time.perf_counter()
            runtime.get_recommendations(campaignArn=campaign, userId=user, filterArn=filt)
            sent.append(t1 - t0)
            asked.append(time.perf_counter() - t1)
        a50, a99 = (np.percentile(asked, q) * 1e3 for q in (50, 99))
        print(
            f"with filter, a purchase recorded before each request: GetRecommendations p50 "
            f"{a50:.2f} ms, p99 {a99:.2f} ms; PutEvents p50 "
            f"{np.percentile(sent, 50) * 1e3:.2f} ms ({calls} calls, in-process)"
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


def every_seed(
    title: str,
    named: Callable[[int], tuple[str, TrainingData]],
    seeds: Sequence[int],
    args: argparse.Namespace,
    als: bool,
) -> None:
    """The quality runs of one data set (``named(seed)``: its name and data), then their
    mean ± SE over the seeds."""
    runs, related, affinity = [], [], []
    for seed in seeds:
        name, data = named(seed)
        if not args.no_quality:
            runs.append(quality(name, data, seed, als, args.plain_only))
        if not args.no_related:
            related.append(related_quality(name, data, seed))
            affinity.append(affinity_quality(name, data, seed))
    summary(title, runs)
    related_summary(title, related)
    affinity_summary(title, affinity)


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
    parser.add_argument("--no-quality", action="store_true", help="skip user-personalization")
    parser.add_argument(
        "--no-related", action="store_true", help="skip SIMS and item-affinity against baselines"
    )
    parser.add_argument(
        "--plain-only",
        action="store_true",
        help="only the plain EASE / implicit ALS baselines (not the recency-weighted / SLIST)",
    )
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
        every_seed(
            "generated",
            lambda seed: (
                f"generated (personakit.samples.synthetic, seed {seed})",
                generated(args.users, args.items, args.interactions, seed),
            ),
            seeds,
            args,
            als,
        )
    if not args.no_online_retail:
        retail = args.online_retail or ONLINE_RETAIL
        if retail.is_file():
            data = read_online_retail(retail)  # one user split per seed
            named = lambda seed: (f"online retail (purchases, seed {seed})", data)  # noqa: E731
            every_seed("online retail", named, seeds, args, als)
        elif args.online_retail is not None:
            parser.error(f"--online-retail {retail}: no such file")
        else:
            print(
                f"\nonline retail skipped: {retail} not found (the UCI Online Retail data set, "
                "CC BY 4.0, is not in the repository; pass --online-retail PATH)"
            )
    for path in args.csv:
        summary(path, [quality(path, read_csv(path, args.min_rating), args.seed, als)])
    if not args.no_latency:
        latency(args.latency_items, args.latency_interactions, args.seed, args.latency_calls)
        twin_latency(args.latency_items, args.latency_interactions, args.seed, args.latency_calls)
    if args.speed:
        speed(args.seed)
    if args.scale:
        scale([int(v) for v in args.scale.split(",")], args.seed)


if __name__ == "__main__":
    main()
