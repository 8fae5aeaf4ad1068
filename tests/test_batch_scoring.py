"""The metrics run's block scoring gives the lists one ``recommend`` per user gives.

``recommend_batch`` (what :func:`personakit.local.evaluation.evaluate` asks) scores the
held-out users in blocks; the solution version's metrics must not depend on it. EASE
and SLIST scores are bit-identical to the one-user path; iALS (and the blend) fold in
and multiply in blocks, so their scores agree to float32 rounding.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from personakit.local.algorithms import Model, Scored, TrainingData, train
from personakit.local.algorithms.common import BaseModel, top_indices, top_indices_rows
from personakit.local.evaluation import evaluate, score_item_lists, split
from test_evaluation import synthetic

RECIPE = "aws-user-personalization"
#: scores of the blocked iALS product against the one-user product (float32 rounding)
TOLERANCE = 1e-5


def _reference_top(row: Sequence[float], n: int) -> list[int]:
    """The documented order, spelled out: score descending, then position; NaN last;
    the first ``n``; non-finite ones dropped."""
    keyed = sorted(
        range(len(row)), key=lambda p: (math.isnan(row[p]), -row[p] if row[p] == row[p] else 0, p)
    )
    return [p for p in keyed[:n] if math.isfinite(row[p])]


scores_with_ties = st.sampled_from([0.0, 0.5, 1.0, 2.0, -1.0, -math.inf, math.inf, math.nan])


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 6),
    arrays(
        np.float32,
        st.tuples(st.integers(1, 4), st.just(400)),
        elements=scores_with_ties | st.floats(-3, 3, width=32),
    ),
)
def test_top_indices_rows_and_top_indices_order_ties_by_position(
    n: int, block: npt.NDArray[np.float32]
) -> None:
    by_rows = top_indices_rows(block, n)  # 400 columns >= 64 n: the threshold path runs
    for row, found in zip(block, by_rows, strict=True):
        expected = _reference_top(row.tolist(), n)
        assert found.tolist() == expected
        assert top_indices(row, n).tolist() == expected


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 30),
    st.lists(st.lists(scores_with_ties, min_size=30, max_size=30), min_size=1, max_size=3),
)
def test_top_indices_rows_on_small_blocks_is_top_indices(n: int, rows: list[list[float]]) -> None:
    block = np.array(rows, dtype=np.float32)
    for row, found in zip(block, top_indices_rows(block, n), strict=True):
        assert found.tolist() == _reference_top(row.tolist(), n)


@functools.cache
def _data(n_items: int) -> TrainingData:
    return synthetic(0, n_users=1200, n_items=n_items)


@functools.cache
def _model(n_items: int, **hyper: str) -> Model:
    parts = split(_data(n_items), seed=0)
    return train(RECIPE, parts.train, {"hpo": "false", **hyper}, seed=0)


def _assert_same(one: list[Scored], batch: list[Scored], *, exact: bool) -> None:
    assert len(one) == len(batch)
    identical = 0
    for a, b in zip(one, batch, strict=True):
        assert len(a) == len(b)
        if exact:
            assert a == b
        else:  # rank by rank the same scores (a swap of two items tied to 1e-5 allowed)
            assert np.allclose([s for _, s in a], [s for _, s in b], rtol=0, atol=TOLERANCE)
        identical += [i for i, _ in a] == [i for i, _ in b]
    assert identical >= 0.95 * len(one)


def _per_user(model: Model, users: Sequence[str | None], inputs: Any, excludes: Any) -> Any:
    return [
        model.recommend(u, 25, history=list(h), exclude=e)
        for u, h, e in zip(users, inputs, excludes, strict=True)
    ]


@pytest.mark.parametrize(
    ("hyper", "exact"),
    [
        ({"algorithm": "ease"}, True),
        ({"algorithm": "slist"}, True),
        ({"algorithm": "ials"}, False),
        ({"algorithm": "blend"}, False),
        ({"algorithm": "ease", "recency_half_life": "inf"}, True),
        ({"algorithm": "ials", "recency_half_life": "2"}, False),
        ({"algorithm": "ease", "exclude_seen": "true"}, True),
        ({"algorithm": "ials", "exclude_seen": "true"}, False),
    ],
    ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else str(v),
)
def test_block_scoring_gives_the_per_user_lists_of_the_metrics_run(
    hyper: dict[str, str], exact: bool
) -> None:
    """Held-out users (their input excluded, as the metrics run asks), plus known
    training users with no extra history and one with no usable history at all."""
    _check_metrics_run_users(300, hyper, exact=exact)


@pytest.mark.parametrize(
    ("algorithm", "exact"), [("ease", True), ("ials", False), ("blend", False)]
)
def test_block_scoring_selects_by_threshold_on_larger_catalogues(
    algorithm: str, exact: bool
) -> None:
    """1,700 items: each row's top 25 come from the scores above its run-maxima bound."""
    _check_metrics_run_users(1700, {"algorithm": algorithm}, exact=exact)


def _check_metrics_run_users(n_items: int, hyper: dict[str, str], *, exact: bool) -> None:
    parts = split(_data(n_items), seed=0)
    model = _model(n_items, **hyper)
    assert isinstance(model, BaseModel)
    known = [str(u) for u in parts.train.user_ids[:20]]
    users: list[str | None] = [*parts.test_users, *known, None]
    inputs = [*parts.inputs, *([()] * len(known)), ()]
    excludes = [{i for i, _ in h} for h in inputs]
    batch = model.recommend_batch(users, 25, histories=inputs, excludes=excludes)
    _assert_same(_per_user(model, users, inputs, excludes), batch, exact=exact)
    assert batch[-1] == model.recommend(None, 25)  # no history: the popular items


def test_popularity_recipes_batch_the_per_user_lists() -> None:
    parts = split(_data(300), seed=0)
    for recipe in ("aws-popularity-count", "aws-trending-now"):
        model = train(recipe, parts.train, {}, seed=0)
        assert isinstance(model, BaseModel)
        excludes = [{i for i, _ in h} for h in parts.inputs]
        users = list(parts.test_users)
        batch = model.recommend_batch(users, 25, histories=parts.inputs, excludes=excludes)
        assert batch == _per_user(model, users, parts.inputs, excludes)


item_names = st.integers(0, 320).map(lambda i: f"item{i}")  # 300..320 are unknown ids
events = st.lists(st.tuples(item_names, st.integers(0, 50)), max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["ease", "ials"]),
    st.lists(
        st.tuples(
            st.sampled_from([None, "user0", "user5", "nobody"]),
            events,
            st.lists(item_names, max_size=5),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_block_scoring_matches_recommend_on_any_history(
    algorithm: str, asks: list[tuple[str | None, list[tuple[str, int]], list[str]]]
) -> None:
    """Duplicated, unknown and out-of-order events; unknown and known users; any
    exclusions: the batch gives each user's ``recommend`` list."""
    model = _model(300, algorithm=algorithm)
    assert isinstance(model, BaseModel)
    users = [u for u, _, _ in asks]
    histories = [h for _, h, _ in asks]
    excludes = [set(e) for _, _, e in asks]
    batch = model.recommend_batch(users, 25, histories=histories, excludes=excludes)
    one = _per_user(model, users, histories, excludes)
    for a, b in zip(one, batch, strict=True):
        if algorithm == "ease":
            assert a == b
        else:
            assert np.allclose([s for _, s in a], [s for _, s in b], rtol=0, atol=TOLERANCE)


def test_recommend_batch_refuses_lists_of_different_lengths() -> None:
    model = _model(300, algorithm="ease")
    assert isinstance(model, BaseModel)
    with pytest.raises(ValueError, match="differ in length"):
        model.recommend_batch(["user0", "user1"], 5, histories=[()], excludes=[set(), set()])


@pytest.mark.parametrize("algorithm", ["ease", "ials"])
def test_evaluate_scores_as_one_recommend_per_user(algorithm: str) -> None:
    """The metrics of :func:`evaluate` (block scoring) equal those of the one-user path."""
    data = _data(300)
    hyper = {"algorithm": algorithm, "hpo": "false"}
    metrics = evaluate(RECIPE, data, hyper, seed=0)
    parts = split(data, seed=0)
    model = train(RECIPE, parts.train, hyper, seed=0)
    givens = [{i for i, _ in h} for h in parts.inputs]
    lists = [
        [i for i, _ in scored]
        for scored in _per_user(model, list(parts.test_users), parts.inputs, givens)
    ]
    truths = [t - g for t, g in zip(parts.truths, givens, strict=True)]
    expected = score_item_lists(lists, truths, data.n_items)
    assert metrics == pytest.approx(expected, abs=1e-3 if algorithm == "ials" else 0)
