"""Amazon Personalize's offline evaluation protocol, run on the local algorithms.

The documented protocol
(https://docs.aws.amazon.com/personalize/latest/dg/working-with-training-metrics.html):

* all recipe types but USER_SEGMENTATION: 10% of the users (a seeded random
  permutation of the sorted user ids, cut into ``n_folds`` = 10 folds with
  ``numpy.array_split``; fold ``fold`` is the test set) are held out; the model
  is trained on the other 90% with all their interactions; each test user's
  interactions, sorted by (timestamp, item id), are cut into the oldest 90%,
  given to the model as input, and the newest ``max(1, round-half-up(10%))``,
  the truth;
* USER_SEGMENTATION: the oldest 80% of every user's interactions train the
  model, the newest 20% are the truth.

What the documentation leaves open, chosen and stated here so results are
reproducible: the test user's input items are excluded from
their recommendations (``exclude_input``; what an "exclude interacted items"
filter does; without it EASE's P@10 falls from 0.057 to 0.016 on MovieLens) and
then dropped from the truth; test users whose truth is empty are skipped;
RELATED_ITEMS recipes are queried with the newest input item;
PERSONALIZED_RANKING recipes rank the whole catalogue (there is no input list
offline); 25 items are asked for. The test users are scored in blocks
(``recommend_batch``: one fold-in and matrix product per block of users), which gives
the lists one ``recommend`` call per user gives; RELATED_ITEMS asks per user.

Item metrics (Personalize's keys): ``coverage`` (distinct items recommended to
the test users / items in the catalogue, Interactions ∪ Items),
``mean_reciprocal_rank_at_25``, ``normalized_discounted_cumulative_gain_at_{5,10,25}``,
``precision_at_{5,10,25}``, averaged over test users; definitions in
:mod:`personakit.local.algorithms.metrics` (textbook NDCG normalisation; with
``extended=True`` the ``…_hits_at_K`` variant, whose ideal DCG counts only the hits
found and which Personalize's published figures fit, is added, with ``test_users``).

Segmentation metrics (key spelling is not documented; ours): for each item
with new users in the truth (at most 1,000 items, a seeded sample), K = ceil(1%
of users) users are asked for, leaving out users who already had the item;
``hit_at_1_percent`` = mean number of true users among them,
``recall_at_1_percent`` = mean hit / |true users|, ``coverage`` = distinct users
returned / users. ``extended=True`` adds the activity-only baseline
(``…_activity_baseline``): on MovieLens, user activity alone rivals the models.

Hyperparameter search runs once per solution version: the model of the metrics run
tunes itself on validation users drawn from the training users only (never the test
users), and :func:`evaluate_and_tune` hands its outcome back (``Evaluation.tuned``)
so the final fit on all the data reuses it (``algorithms.train(..., tuned=...)``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from personakit.local.algorithms import (
    BaseModel,
    Model,
    TrainingData,
    recipe_event_type,
    recipe_type,
    train,
)
from personakit.local.algorithms.common import Hyper, event_mask, group_order
from personakit.local.algorithms.metrics import (
    holdout_size,
    ndcg_at_k,
    ndcg_hits_at_k,
    precision_at_k,
    reciprocal_rank_at_k,
)

__all__ = [
    "ITEM_METRICS",
    "SEGMENT_METRICS",
    "Evaluation",
    "SegmentSplit",
    "UserSplit",
    "evaluate",
    "evaluate_and_tune",
    "score_item_lists",
    "split",
    "split_per_user",
]

ITEM_METRICS = (
    "coverage",
    "mean_reciprocal_rank_at_25",
    "normalized_discounted_cumulative_gain_at_5",
    "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
    "precision_at_5",
    "precision_at_10",
    "precision_at_25",
)
SEGMENT_METRICS = ("coverage", "hit_at_1_percent", "recall_at_1_percent")
_KS = (5, 10, 25)
MAX_SEGMENT_ITEMS = 1000

Event = tuple[str, int]


@attrs.frozen
class Evaluation:
    """What a solution version's metrics run yields: the metrics and the tuning outcome."""

    #: Personalize's metric keys for the recipe type (see the module docstring)
    metrics: dict[str, float]
    #: the hyperparameter search's outcome, to pass as ``algorithms.train(..., tuned=)``
    #: so the final fit does not search again; ``{}`` when no search ran
    tuned: dict[str, Any]


@attrs.frozen
class UserSplit:
    """The 90/10 user split: training data, and per test user input events and truth."""

    train: TrainingData
    test_users: tuple[str, ...]
    #: per test user, the oldest 90% as (item id, timestamp), oldest first
    inputs: tuple[tuple[Event, ...], ...]
    #: per test user, the items of the newest 10%
    truths: tuple[frozenset[str], ...]


@attrs.frozen
class SegmentSplit:
    """The 80/20 per-user split for USER_SEGMENTATION."""

    train: TrainingData
    #: item id -> users who interacted with it in their newest 20% (and not before)
    truth: Mapping[str, frozenset[str]]
    #: item id -> users who interacted with it in their oldest 80%
    seen: Mapping[str, frozenset[str]]


def _subset(
    data: TrainingData, mask: npt.NDArray[np.bool_], keep_users: npt.NDArray[np.bool_] | None = None
) -> TrainingData:
    """Events under ``mask``; with ``keep_users``, only those users remain (re-coded)."""
    users = np.asarray(data.users)[mask]
    user_ids = np.asarray(data.user_ids)
    user_metadata = dict(data.user_metadata)
    if keep_users is not None:
        recode = np.cumsum(keep_users) - 1
        users = recode[users]
        user_ids = user_ids[keep_users]
        user_metadata = {k: np.asarray(v)[keep_users] for k, v in user_metadata.items()}
    return attrs.evolve(
        data,
        user_ids=user_ids,
        users=users.astype(np.int32),
        items=np.asarray(data.items)[mask],
        timestamps=np.asarray(data.timestamps)[mask],
        event_types=None if data.event_types is None else np.asarray(data.event_types)[mask],
        event_values=None if data.event_values is None else np.asarray(data.event_values)[mask],
        user_metadata=user_metadata,
    )


def _user_order(data: TrainingData) -> npt.NDArray[np.int64]:
    """Events grouped by user, each user's sorted by (timestamp, item id), stable."""
    users, times = np.asarray(data.users), np.asarray(data.timestamps)
    item_names = np.asarray(data.item_ids).astype(str)
    item_rank = np.empty(len(item_names), np.int64)
    item_rank[np.argsort(item_names, kind="stable")] = np.arange(len(item_names))
    if len(times) < 2 or not bool((times[1:] >= times[:-1]).all()):
        return np.lexsort((item_rank[np.asarray(data.items)], times, users))
    # TrainingData comes sorted by time: grouping by user (a counting sort, stable) gives
    # (user, time) order; only runs of one user's events at one time still need their
    # item order (a lexsort of those events alone: 0.5 s at 10M events, not 4 s)
    order = group_order(users, data.n_users)
    u, t = users[order], times[order]
    tied = (u[1:] == u[:-1]) & (t[1:] == t[:-1])
    if tied.any():
        in_run = np.zeros(len(order), dtype=bool)
        in_run[1:] |= tied
        in_run[:-1] |= tied
        run_id = np.cumsum(np.concatenate([[True], ~tied]))[in_run]  # (user, time) runs
        runs = order[in_run]
        order[in_run] = runs[np.lexsort((item_rank[np.asarray(data.items)[runs]], run_id))]
    return order


def split(data: TrainingData, *, seed: int = 0, fold: int = 0, n_folds: int = 10) -> UserSplit:
    """Personalize's user split: fold ``fold`` of ``n_folds`` user folds is the test set."""
    if not 0 <= fold < n_folds:
        raise ValueError(f"fold must be within [0, {n_folds})")
    user_names = np.asarray(data.user_ids).astype(str)
    users = np.asarray(data.users)
    active = np.flatnonzero(np.bincount(users, minlength=len(user_names)))  # np.unique's
    # the seeded permutation of the sorted names, applied to their positions (the same
    # shuffle: it depends on the length only), so no string set or np.isin over names
    by_name = active[np.argsort(user_names[active], kind="stable")]
    permuted = np.random.default_rng(seed).permutation(by_name)
    is_test_user = np.zeros(len(user_names), dtype=bool)
    is_test_user[np.array_split(permuted, n_folds)[fold]] = True
    test_event = is_test_user[users]
    train_data = _subset(data, ~test_event, keep_users=~is_test_user)

    order = _user_order(data)
    order = order[test_event[order]]
    grouped_users = users[order]
    item_names: list[str] = np.asarray(data.item_ids).astype(str).tolist()
    user_list: list[str] = user_names.tolist()
    seq_items: list[int] = np.asarray(data.items)[order].tolist()
    seq_times: list[int] = np.asarray(data.timestamps)[order].tolist()
    bounds = (np.flatnonzero(np.diff(grouped_users)) + 1).tolist()
    test_users: list[str] = []
    inputs: list[tuple[Event, ...]] = []
    truths: list[frozenset[str]] = []
    for lo, hi in zip([0, *bounds], [*bounds, len(order)], strict=True) if len(order) else []:
        cut = hi - holdout_size(hi - lo)
        test_users.append(user_list[int(grouped_users[lo])])
        names = [item_names[i] for i in seq_items[lo:hi]]
        inputs.append(tuple(zip(names[: cut - lo], seq_times[lo:cut], strict=True)))
        truths.append(frozenset(names[cut - lo :]))
    return UserSplit(train_data, tuple(test_users), tuple(inputs), tuple(truths))


def split_per_user(data: TrainingData, *, test_fraction: float = 0.2) -> SegmentSplit:
    """Every user's oldest 80% for training, newest 20% as truth (USER_SEGMENTATION)."""
    users = np.asarray(data.users)
    order = _user_order(data)
    counts = np.bincount(users, minlength=data.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position_in_user = np.arange(len(order)) - starts[users[order]]
    held = np.array([holdout_size(int(c), test_fraction) for c in counts], dtype=np.int64)
    is_truth_sorted = position_in_user >= (counts - held)[users[order]]
    is_truth = np.zeros(len(users), dtype=bool)
    is_truth[order] = is_truth_sorted
    train_data = _subset(data, ~is_truth)
    user_names = np.asarray(data.user_ids).astype(str)
    item_names = np.asarray(data.item_ids).astype(str)
    seen: dict[str, set[str]] = {}
    for u, i in zip(
        users[~is_truth].tolist(), np.asarray(data.items)[~is_truth].tolist(), strict=True
    ):
        seen.setdefault(str(item_names[i]), set()).add(str(user_names[u]))
    truth: dict[str, set[str]] = {}
    for u, i in zip(
        users[is_truth].tolist(), np.asarray(data.items)[is_truth].tolist(), strict=True
    ):
        item, user = str(item_names[i]), str(user_names[u])
        if user not in seen.get(item, ()):
            truth.setdefault(item, set()).add(user)
    return SegmentSplit(
        train_data,
        {k: frozenset(v) for k, v in truth.items()},
        {k: frozenset(v) for k, v in seen.items()},
    )


def score_item_lists(
    recommended: Sequence[Sequence[str]],
    truths: Sequence[frozenset[str] | set[str]],
    n_items: int,
    *,
    extended: bool = False,
) -> dict[str, float]:
    """Personalize's item metrics for ranked lists against truths.

    Users with an empty truth are skipped; coverage counts every list's top 25.
    """
    pairs = [(list(r), t) for r, t in zip(recommended, truths, strict=True) if t]
    out = dict.fromkeys(ITEM_METRICS, 0.0)
    if extended:
        out.update({f"normalized_discounted_cumulative_gain_hits_at_{k}": 0.0 for k in _KS})
    distinct = {item for ranked in recommended for item in ranked[:25]}
    out["coverage"] = len(distinct) / n_items if n_items else 0.0
    if not pairs:
        if extended:
            out["test_users"] = 0.0
        return out
    for ranked, truth in pairs:
        out["mean_reciprocal_rank_at_25"] += reciprocal_rank_at_k(ranked, truth, 25)
        for k in _KS:
            out[f"precision_at_{k}"] += precision_at_k(ranked, truth, k)
            out[f"normalized_discounted_cumulative_gain_at_{k}"] += ndcg_at_k(ranked, truth, k)
            if extended:
                out[f"normalized_discounted_cumulative_gain_hits_at_{k}"] += ndcg_hits_at_k(
                    ranked, truth, k
                )
    for key in out:
        if key != "coverage":
            out[key] /= len(pairs)
    if extended:
        out["test_users"] = float(len(pairs))
    return out


def _ask(
    model: Model, kind: str, user: str, events: Sequence[Event], exclude: set[str]
) -> list[str]:
    if kind == "RELATED_ITEMS":
        query = events[-1][0] if events else ""
        found = model.related(query, 25, exclude=exclude)
    else:
        found = model.recommend(user, 25, history=list(events), exclude=exclude)
    return [item for item, _ in found]


def evaluate(
    recipe: str,
    data: TrainingData,
    hyperparameters: Mapping[str, str] = {},
    *,
    seed: int = 0,
    fold: int = 0,
    n_folds: int = 10,
    exclude_input: bool = True,
    extended: bool = False,
) -> dict[str, float]:
    """Train on the protocol's training part and score it as Personalize documents.

    Returns exactly Personalize's metric keys for the recipe type (see the module
    docstring); ``extended`` adds the variants named there. Seeded: the same
    inputs give the same numbers.
    """
    return evaluate_and_tune(
        recipe,
        data,
        hyperparameters,
        seed=seed,
        fold=fold,
        n_folds=n_folds,
        exclude_input=exclude_input,
        extended=extended,
    ).metrics


def evaluate_and_tune(
    recipe: str,
    data: TrainingData,
    hyperparameters: Mapping[str, str] = {},
    *,
    seed: int = 0,
    fold: int = 0,
    n_folds: int = 10,
    exclude_input: bool = True,
    extended: bool = False,
) -> Evaluation:
    """:func:`evaluate`, plus the hyperparameters the metrics run's model tuned.

    The search (if the recipe has one and it runs) sees only the protocol's training
    users; ``Evaluation.tuned`` is what the final fit passes to ``algorithms.train``.
    """
    kind = recipe_type(recipe)
    mask = event_mask(data, Hyper(hyperparameters), default_event_type=recipe_event_type(recipe))
    if not mask.all():
        data = _subset(data, mask)
    if kind == "USER_SEGMENTATION":
        return _evaluate_segments(recipe, data, hyperparameters, seed=seed, extended=extended)
    parts = split(data, seed=seed, fold=fold, n_folds=n_folds)
    model = train(recipe, parts.train, hyperparameters, seed=seed)
    givens = [{item for item, _ in events} if exclude_input else set() for events in parts.inputs]
    truths = [truth - given for truth, given in zip(parts.truths, givens, strict=True)]
    if kind != "RELATED_ITEMS" and isinstance(model, BaseModel):
        # the same lists as one ``recommend`` per user, scored in blocks of users
        found = model.recommend_batch(
            list(parts.test_users), 25, histories=parts.inputs, excludes=givens
        )
        lists = [[item for item, _ in scored] for scored in found]
    else:
        lists = [
            _ask(model, kind, user, events, given)
            for user, events, given in zip(parts.test_users, parts.inputs, givens, strict=True)
        ]
    metrics = score_item_lists(lists, truths, data.n_items, extended=extended)
    return Evaluation(metrics, _tuned_of(model))


def _tuned_of(model: Model) -> dict[str, Any]:
    """The model's search outcome with its report (``{}`` when it did not search)."""
    info = getattr(model, "info", None) or {}
    tuned = info.get("tuned")
    if not tuned:
        return {}
    out = dict(tuned)
    if "hpo" in info:
        out["hpo"] = info["hpo"]
    return out


def _evaluate_segments(
    recipe: str,
    data: TrainingData,
    hyperparameters: Mapping[str, str],
    *,
    seed: int,
    extended: bool,
) -> Evaluation:
    parts = split_per_user(data)
    model = train(recipe, parts.train, hyperparameters, seed=seed)
    n_users = len(np.unique(np.asarray(data.users)))
    k = max(1, math.ceil(0.01 * n_users))
    items = sorted(parts.truth)
    if len(items) > MAX_SEGMENT_ITEMS:
        rng = np.random.default_rng(seed)
        items = sorted(rng.choice(np.array(items), MAX_SEGMENT_ITEMS, replace=False).tolist())
    activity = np.bincount(np.asarray(parts.train.users), minlength=parts.train.n_users)
    user_names = np.asarray(parts.train.user_ids).astype(str)
    by_activity = [
        user_names[u] for u in np.lexsort((np.arange(len(activity)), -activity)).tolist()
    ]
    hits: list[float] = []
    recalls: list[float] = []
    base_hits: list[float] = []
    base_recalls: list[float] = []
    returned: set[str] = set()
    for item in items:
        truth = parts.truth[item]
        had = parts.seen.get(item, frozenset())
        found = [u for u, _ in model.users_for_items([item], k + len(had)) if u not in had][:k]
        returned.update(found)
        hit = len(truth.intersection(found))
        hits.append(hit)
        recalls.append(hit / len(truth))
        if extended:
            baseline = [u for u in by_activity[: k + len(had)] if u not in had][:k]
            base_hit = len(truth.intersection(baseline))
            base_hits.append(base_hit)
            base_recalls.append(base_hit / len(truth))
    out = {
        "coverage": len(returned) / n_users if n_users else 0.0,
        "hit_at_1_percent": float(np.mean(hits)) if hits else 0.0,
        "recall_at_1_percent": float(np.mean(recalls)) if recalls else 0.0,
    }
    if extended:
        out["hit_at_1_percent_activity_baseline"] = float(np.mean(base_hits)) if base_hits else 0.0
        out["recall_at_1_percent_activity_baseline"] = (
            float(np.mean(base_recalls)) if base_recalls else 0.0
        )
        out["test_items"] = float(len(items))
    return Evaluation(out, _tuned_of(model))
