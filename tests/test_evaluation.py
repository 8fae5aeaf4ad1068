"""Personalize's offline protocol: metric values, the split, reproducibility, and
that the local user-personalization really beats the popularity baseline."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from personakit.local.algorithms import TrainingData
from personakit.local.algorithms.metrics import holdout_size
from personakit.local.evaluation import (
    ITEM_METRICS,
    SEGMENT_METRICS,
    evaluate,
    score_item_lists,
    split,
    split_per_user,
)


def synthetic(seed: int = 0, n_users: int = 2000, n_items: int = 500) -> TrainingData:
    """Users with two latent tastes (the older one first), power-law item popularity.

    About 15 distinct items per user (~30k interactions): each user draws items
    from a mix of two of ten topics, weighted by a Zipf(0.8) popularity, and
    consumes the first topic's items before the second's.
    """
    rng = np.random.default_rng(seed)
    topics = 10
    item_topic = rng.integers(0, topics, n_items)
    popularity = (1.0 / np.arange(1, n_items + 1) ** 0.8)[rng.permutation(n_items)]
    lengths = np.clip(rng.lognormal(np.log(12), 0.6, n_users).astype(int), 3, 80)
    users, items, times = [], [], []
    for u in range(n_users):
        first, second = rng.choice(topics, 2, replace=False)
        weight = popularity * (0.03 + (item_topic == first) + (item_topic == second))
        keys = np.log(weight) + rng.gumbel(size=n_items)  # Gumbel top-k = sampling w/o replacement
        chosen = np.argpartition(-keys, lengths[u])[: lengths[u]]
        late = (item_topic[chosen] == second) + 0.8 * rng.random(len(chosen))
        chosen = chosen[np.argsort(late)]
        start = int(rng.integers(1_600_000_000, 1_700_000_000))
        users.extend([u] * len(chosen))
        items.extend(chosen.tolist())
        times.extend(start + 3600 * np.arange(len(chosen)))
    order = np.argsort(np.asarray(times), kind="stable")
    return TrainingData(
        user_ids=np.array([f"user{u}" for u in range(n_users)]),
        item_ids=np.array([f"item{i}" for i in range(n_items)]),
        users=np.asarray(users, np.int32)[order],
        items=np.asarray(items, np.int32)[order],
        timestamps=np.asarray(times, np.int64)[order],
        item_metadata={"GENRES": np.array([f"topic{t}" for t in item_topic], dtype=object)},
    )


@pytest.fixture(scope="module")
def data() -> TrainingData:
    return synthetic()


# --------------------------------------------------------------------------- metric values


def test_metrics_on_a_hand_checked_case() -> None:
    recommended = [
        ["a", "b", "c", "d", "e"],  # truth {b, e}: hits at ranks 2 and 5
        ["x", "y", "z", "w", "v"],  # truth {x}: hit at rank 1
        ["p", "q", "r", "s", "t"],  # truth {zz}: no hit
        ["a", "x", "p"],  # empty truth: skipped
    ]
    truths = [frozenset({"b", "e"}), frozenset({"x"}), frozenset({"zz"}), frozenset()]
    out = score_item_lists(recommended, truths, n_items=30)
    assert set(out) == set(ITEM_METRICS)
    # user 1: NDCG@5 = (1/log2 3 + 1/log2 6) / (1/log2 2 + 1/log2 3) = 1.01778 / 1.63093 = 0.62406
    # (the documentation's worked example, 0.6241); user 2: 1; user 3: 0
    ndcg1 = (1 / math.log2(3) + 1 / math.log2(6)) / (1 + 1 / math.log2(3))
    assert ndcg1 == pytest.approx(0.6241, abs=5e-5)
    assert out["normalized_discounted_cumulative_gain_at_5"] == pytest.approx((ndcg1 + 1 + 0) / 3)
    # NDCG@10 and @25 are the same here: the ideal DCG uses min(|truth|, K) items
    assert out["normalized_discounted_cumulative_gain_at_25"] == pytest.approx((ndcg1 + 1) / 3)
    # precision@K divides by K even for short lists: (2/5 + 1/5 + 0) / 3 = 0.2; @10: 0.1
    assert out["precision_at_5"] == pytest.approx(0.2)
    assert out["precision_at_10"] == pytest.approx(0.1)
    assert out["precision_at_25"] == pytest.approx((2 / 25 + 1 / 25) / 3)
    # MRR@25: (1/2 + 1 + 0) / 3 = 0.5
    assert out["mean_reciprocal_rank_at_25"] == pytest.approx(0.5)
    # coverage: 15 distinct items (a-e, x-v, p-t) out of 30 in the catalogue
    assert out["coverage"] == pytest.approx(0.5)


def test_ndcg_normalisation_variants_differ_as_documented() -> None:
    # one hit at rank 1 out of three relevant items: textbook ideal = 1 + 1/log2 3 + 1/log2 4
    out = score_item_lists([["a", "b", "c"]], [frozenset({"a", "y", "z"})], 10, extended=True)
    assert out["normalized_discounted_cumulative_gain_at_5"] == pytest.approx(
        1 / (1 + 1 / math.log2(3) + 0.5)
    )
    # the "hits" variant (ideal = the recommended list sorted by relevance) gives 1
    assert out["normalized_discounted_cumulative_gain_hits_at_5"] == pytest.approx(1.0)
    assert out["test_users"] == 1


# --------------------------------------------------------------------------- the split


def test_holdout_size_rounds_half_up_and_keeps_one() -> None:
    assert [holdout_size(n) for n in (0, 1, 4, 5, 10, 14, 15, 25)] == [0, 1, 1, 1, 1, 1, 2, 3]


def test_split_holds_out_ten_percent_of_users_newest_ten_percent_as_truth(
    data: TrainingData,
) -> None:
    parts = split(data, seed=3)
    n_active = len(np.unique(data.users))
    assert len(parts.test_users) == math.ceil(n_active / 10)  # np.array_split's first fold
    # test users are gone from the training data, every other user is whole
    train_names = set(parts.train.user_ids.tolist())
    assert not train_names & set(parts.test_users)
    # (each user's items are distinct here, so truth sets lose nothing)
    held = sum(len(i) + len(t) for i, t in zip(parts.inputs, parts.truths, strict=True))
    assert parts.train.n_interactions + held == data.n_interactions
    assert parts.train.n_items == data.n_items  # the catalogue stays whole
    # per test user: input = oldest 90%, truth = newest 10% by timestamp
    names = data.user_ids.tolist()
    for user, given, truth in zip(parts.test_users, parts.inputs, parts.truths, strict=True):
        mine = np.flatnonzero(data.users == names.index(user))
        n = len(mine)
        assert len(given) == n - holdout_size(n)
        assert len(truth) == holdout_size(n)
        newest = max(t for _, t in given)
        truth_times = [data.timestamps[k] for k in mine if data.item_ids[data.items[k]] in truth]
        assert min(truth_times) >= newest
        assert [t for _, t in given] == sorted(t for _, t in given)


def test_split_is_seeded(data: TrainingData) -> None:
    assert split(data, seed=1).test_users == split(data, seed=1).test_users
    assert split(data, seed=1).test_users != split(data, seed=2).test_users
    # the ten folds cover every user exactly once
    folds = [set(split(data, seed=1, fold=f).test_users) for f in range(10)]
    assert sum(len(f) for f in folds) == len(set().union(*folds)) == len(np.unique(data.users))


def test_split_orders_ties_by_item_id() -> None:
    # one user, 10 events at the same second: the truth is the largest item id
    data = TrainingData(
        user_ids=np.array(["u"]),
        item_ids=np.array([f"i{k}" for k in range(10)]),
        users=np.zeros(10, np.int32),
        items=np.array([3, 9, 1, 0, 8, 2, 7, 4, 6, 5], np.int32),
        timestamps=np.full(10, 100, np.int64),
    )
    parts = split(data, n_folds=1)
    assert parts.truths == (frozenset({"i9"}),)


def test_split_per_user_keeps_each_users_oldest_80_percent(data: TrainingData) -> None:
    parts = split_per_user(data)
    counts = np.bincount(data.users, minlength=data.n_users)
    train_counts = np.bincount(parts.train.users, minlength=data.n_users)
    expected = counts - np.array([holdout_size(int(c), 0.2) for c in counts])
    assert (train_counts == expected).all()
    # truth users never had the item in their training part
    for item, users in list(parts.truth.items())[:50]:
        assert not users & parts.seen.get(item, frozenset())


# --------------------------------------------------------------------------- evaluate


def test_evaluate_returns_personalizes_keys_and_is_reproducible(data: TrainingData) -> None:
    first = evaluate("aws-popularity-count", data, seed=5)
    assert set(first) == set(ITEM_METRICS)
    assert first == evaluate("aws-popularity-count", data, seed=5)
    assert first != evaluate("aws-popularity-count", data, seed=6)
    assert all(0.0 <= v <= 1.0 for v in first.values())


def test_user_personalization_beats_popularity_by_a_clear_margin(data: TrainingData) -> None:
    popular = evaluate("aws-popularity-count", data)
    ease = evaluate("aws-user-personalization", data, {"algorithm": "ease"})
    ials = evaluate("aws-user-personalization", data, {"algorithm": "ials", "hpo": "false"})
    for metrics in (ease, ials):
        key = "normalized_discounted_cumulative_gain_at_10"
        assert metrics[key] > 1.25 * popular[key], (metrics, popular)
        assert metrics["precision_at_10"] > 1.15 * popular["precision_at_10"]
        assert metrics["coverage"] > 2 * popular["coverage"]


def test_recency_weighting_lifts_ndcg_on_drifting_tastes(data: TrainingData) -> None:
    key = "normalized_discounted_cumulative_gain_at_10"
    plain = evaluate(
        "aws-user-personalization",
        data,
        {"algorithm": "ease", "l2": "150", "recency_half_life": "inf"},
    )
    recent = evaluate("aws-user-personalization", data, {"algorithm": "ease", "l2": "150"})
    assert recent[key] > plain[key]


def test_related_items_recipes_are_evaluated_from_the_newest_input_item(data: TrainingData) -> None:
    sims = evaluate("aws-sims", data)
    assert set(sims) == set(ITEM_METRICS)
    assert sims["normalized_discounted_cumulative_gain_at_10"] > 0


def test_segmentation_reports_hit_and_recall_at_one_percent(data: TrainingData) -> None:
    out = evaluate("aws-item-affinity", data, extended=True)
    assert set(SEGMENT_METRICS) <= set(out)
    assert set(evaluate("aws-item-affinity", data)) == set(SEGMENT_METRICS)
    # users whose tastes match the item beat "the most active users" on this data
    assert out["hit_at_1_percent"] > out["hit_at_1_percent_activity_baseline"]
    assert 0 < out["recall_at_1_percent"] <= 1


def test_evaluate_applies_the_use_cases_event_type() -> None:
    base = synthetic(n_users=300, n_items=80)
    # every event is a View except for item0, only ever a Purchase
    types = np.where(base.items == 0, "Purchase", "View")
    data = TrainingData(
        user_ids=base.user_ids,
        item_ids=base.item_ids,
        users=base.users,
        items=base.items,
        timestamps=base.timestamps,
        event_types=types,
    )
    views = evaluate("aws-ecomm-popular-items-by-views", data, extended=True)
    purchases = evaluate("aws-ecomm-popular-items-by-purchases", data, extended=True)
    assert purchases["test_users"] < views["test_users"]  # only item0 buyers are test users


# --------------------------------------------------------------------------- one search per version


def test_evaluate_and_tune_hands_the_search_outcome_to_the_final_fit(data: TrainingData) -> None:
    from personakit.local.algorithms import train
    from personakit.local.evaluation import evaluate_and_tune

    result = evaluate_and_tune("aws-user-personalization", data, {"algorithm": "ials"}, seed=0)
    assert result.metrics == evaluate(
        "aws-user-personalization", data, {"algorithm": "ials"}, seed=0
    )
    assert result.tuned["algorithm"] == "ials"
    assert {"recency_half_life", "reg", "alpha", "hpo"} <= set(result.tuned)
    final = train("aws-user-personalization", data, {"algorithm": "ials"}, tuned=result.tuned)
    assert final.info["hpo_reused"] is True
    assert final.hyperparameters["alpha"] == f"{result.tuned['alpha']:g}"
    untuned = evaluate_and_tune("aws-user-personalization", data, {"hpo": "false"}, seed=0)
    assert untuned.tuned == {}


def test_a_solution_version_searches_once_and_reports_the_half_life(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import pandas as pd

    from personakit.local import LocalEngine
    from personakit.local.algorithms import personalization

    calls: list[int] = []
    real = personalization.tune

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(personalization, "tune", counting)
    small = synthetic(seed=1, n_users=400, n_items=120)
    frame = pd.DataFrame(
        {
            "USER_ID": np.asarray(small.user_ids)[small.users],
            "ITEM_ID": np.asarray(small.item_ids)[small.items],
            "TIMESTAMP": small.timestamps,
        }
    )
    schema = {
        "type": "record",
        "name": "Interactions",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [
            {"name": "USER_ID", "type": "string"},
            {"name": "ITEM_ID", "type": "string"},
            {"name": "TIMESTAMP", "type": "long"},
        ],
        "version": "1.0",
    }

    def wait(read: Any) -> str:
        for _ in range(6000):
            status = str(read())
            if status == "ACTIVE" or status.endswith("FAILED"):
                return status
            time.sleep(0.01)
        raise AssertionError("timed out")

    with LocalEngine(tmp_path / "ws", min_state_s=0.0) as engine:
        pz, s3 = engine.client("personalize"), engine.client("s3")
        s3.create_bucket(Bucket="b")
        s3.put_object(Bucket="b", Key="i.csv", Body=frame.to_csv(index=False).encode())
        group = pz.create_dataset_group(name="g")["datasetGroupArn"]
        wait(lambda: pz.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]["status"])
        schema_arn = pz.create_schema(name="s", schema=json.dumps(schema))["schemaArn"]
        dataset = pz.create_dataset(
            name="d", schemaArn=schema_arn, datasetGroupArn=group, datasetType="Interactions"
        )["datasetArn"]
        wait(lambda: pz.describe_dataset(datasetArn=dataset)["dataset"]["status"])
        job = pz.create_dataset_import_job(
            jobName="j",
            datasetArn=dataset,
            dataSource={"dataLocation": "s3://b/i.csv"},
            roleArn="arn:aws:iam::000000000000:role/r",
        )["datasetImportJobArn"]
        read_job = pz.describe_dataset_import_job
        assert wait(lambda: read_job(datasetImportJobArn=job)["datasetImportJob"]["status"]) == (
            "ACTIVE"
        )
        solution = pz.create_solution(
            name="up",
            datasetGroupArn=group,
            recipeArn="arn:aws:personalize:::recipe/aws-user-personalization",
            performHPO=True,
            solutionConfig={"algorithmHyperParameters": {"algorithm": "ials"}},
        )["solutionArn"]
        wait(lambda: pz.describe_solution(solutionArn=solution)["solution"]["status"])
        version = pz.create_solution_version(solutionArn=solution)["solutionVersionArn"]
        read = pz.describe_solution_version
        status = wait(lambda: read(solutionVersionArn=version)["solutionVersion"]["status"])
        described = read(solutionVersionArn=version)["solutionVersion"]
        assert status == "ACTIVE", described.get("failureReason")
    assert calls == [1]  # the metrics run searched; the final fit reused its outcome
    tuned = described["tunedHPOParams"]["algorithmHyperParameters"]
    assert tuned["recency_half_life"] in {"1", "2", "5", "10", "20", "inf"}
    assert tuned["algorithm"] == "ials"
