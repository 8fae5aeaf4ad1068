"""User-personalization's sequential candidate (SLIST): what a user relies on.

On purchase sequences the next items follow the last ones; the SLIST candidate
(:mod:`personakit.local.algorithms.slist`) recommends what follows the user's last item,
the tuner picks it on validation when it is clearly better and keeps its default
otherwise, and a trained SLIST model saves and loads exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from personakit.local.algorithms import TrainingData, load, train
from personakit.local.algorithms.slist import fit_slist, transitions

RING = 24


def ring_data(
    *, n_users: int = 300, pairs: int = 4, ordered: bool = True, seed: int = 0
) -> TrainingData:
    """Items r0..r23 on a ring; each user buys ``pairs`` pairs (r_k, then r_k+1) at random k.

    Co-occurrence is symmetric (r_k appears with r_k-1 and with r_k+1 equally often), so
    only the order tells that r_k+1 follows r_k. With ``ordered=False`` each user's
    times are shuffled: the same items, no order to learn."""
    rng = np.random.default_rng(seed)
    item_ids = [f"r{k}" for k in range(RING)]
    users, items, times = [], [], []
    for u in range(n_users):
        walk = [
            item for k in rng.integers(RING, size=pairs).tolist() for item in (k, (k + 1) % RING)
        ]
        stamps = np.arange(len(walk)) if ordered else rng.permutation(len(walk))
        for j, item in enumerate(walk):
            users.append(u)
            items.append(item)
            times.append(1_600_000_000 + u * 100 + int(stamps[j]))
    order = np.argsort(times, kind="stable")
    return TrainingData(
        user_ids=np.array([f"u{u}" for u in range(n_users)]),
        item_ids=np.array(item_ids),
        users=np.array(users, np.int32)[order],
        items=np.array(items, np.int32)[order],
        timestamps=np.array(times, np.int64)[order],
    )


def test_slist_recommends_the_item_that_follows_the_last_one() -> None:
    model = train("aws-user-personalization", ring_data(), {"algorithm": "slist", "hpo": "false"})
    assert model.info["algorithm"] == "slist"
    for last in (3, 10, 23):
        history = [("r15", 1_700_000_000), ("r16", 1_700_000_001), (f"r{last}", 1_700_000_002)]
        seen = {item for item, _ in history}
        top = model.recommend(None, 1, history=history, exclude=seen)
        assert top[0][0] == f"r{(last + 1) % RING}"


def test_the_tuner_picks_slist_when_it_validates_clearly_better() -> None:
    model = train("aws-user-personalization", ring_data(), seed=1)
    hpo = model.info["hpo"]
    assert "slist" in hpo
    assert model.info["algorithm"] == "slist"
    assert model.hyperparameters["slist_alpha"] == "0.8"


def test_the_tuner_keeps_its_default_when_order_carries_no_signal() -> None:
    model = train("aws-user-personalization", ring_data(ordered=False), seed=1)
    assert "slist" in model.info["hpo"]
    assert model.info["algorithm"] != "slist"
    assert "slist_alpha" not in model.hyperparameters


def test_slist_settings_are_read_and_checked() -> None:
    asked = {"algorithm": "slist", "hpo": "false", "slist_alpha": "0.5", "slist_decay": "2"}
    model = train("aws-user-personalization", ring_data(n_users=60), asked)
    assert model.hyperparameters["slist_alpha"] == "0.5"
    assert model.hyperparameters["slist_decay"] == "2"
    bad = {"algorithm": "slist", "hpo": "false", "slist_alpha": "1.5"}
    with pytest.raises(ValueError, match="slist_alpha"):
        train("aws-user-personalization", ring_data(n_users=60), bad)


def test_a_slist_model_saves_and_loads_exactly(tmp_path: Path) -> None:
    model = train("aws-user-personalization", ring_data(), {"algorithm": "slist", "hpo": "false"})
    model.save(tmp_path)
    again = load(tmp_path)
    history = [("r4", 1_700_000_000), ("r5", 1_700_000_100)]
    for user in ("u1", "u7", "nobody"):
        assert again.recommend(user, 10, history=history) == model.recommend(
            user, 10, history=history
        )
    assert again.related("r2", 5) == model.related("r2", 5)


sequences = st.lists(st.lists(st.integers(0, 9), min_size=1, max_size=12), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(seqs=sequences, decay=st.sampled_from([0.5, 1.0, 3.0]))
def test_transitions_split_each_sequence_into_past_and_future(
    seqs: list[list[int]], decay: float
) -> None:
    indptr = np.concatenate([[0], np.cumsum([len(s) for s in seqs])])
    flat = np.array([i for s in seqs for i in s], np.int64)
    source, target = transitions(indptr, flat, 10, decay)
    assert source.shape == target.shape == (sum(len(s) - 1 for s in seqs), 10)
    row = 0
    for seq in seqs:
        for t in range(len(seq) - 1):
            past = source[row].toarray().ravel()
            future = target[row].toarray().ravel()
            assert abs(past.sum() - 1.0) < 1e-9  # l1-normalised
            assert set(np.flatnonzero(past)) <= set(seq[: t + 1])
            assert seq[t] in set(np.flatnonzero(past))  # the newest past item always counts
            assert set(np.flatnonzero(future)) <= set(seq[t + 1 :])
            assert seq[t + 1] in set(np.flatnonzero(future))
            row += 1


@settings(max_examples=30, deadline=None)
@given(seqs=sequences, alpha=st.sampled_from([0.0, 0.5, 1.0]))
def test_fit_slist_gives_finite_scores_over_active_items_only(
    seqs: list[list[int]], alpha: float
) -> None:
    indptr = np.concatenate([[0], np.cumsum([len(s) for s in seqs])])
    flat = np.array([i for s in seqs for i in s], np.int64)
    rows = np.repeat(np.arange(len(seqs)), [len(s) for s in seqs])
    x = sp.csr_matrix((np.ones(len(flat), np.float32), (rows, flat)), shape=(len(seqs), 12))
    x.data[:] = 1.0
    scorer = fit_slist(x, indptr, flat, alpha=alpha, l2=1.0, decay=1.0)
    scores = scorer.score(np.array([flat[-1]]), np.ones(1, np.float32))
    assert scores.shape == (12,)
    assert np.isfinite(scores).all()
    inactive = np.setdiff1d(np.arange(12), flat)
    assert (scores[inactive] == 0).all()


def test_without_a_blend_slist_is_the_default_that_ease_must_beat() -> None:
    from personakit.local.algorithms.common import Events
    from personakit.local.algorithms.personalization import tune

    for ordered in (True, False):
        data = ring_data(ordered=ordered)
        events = Events.from_arrays(
            data.users, data.items, data.timestamps, data.n_users, data.n_items
        )
        found = tune(events, ["ease", "slist"], half_life=None, factors=8, iterations=2, seed=1)
        assert found is not None
        assert found["hpo"]["rule"].endswith("prior slist")
        if ordered:  # the order carries the signal: SLIST, and clearly so
            assert found["algorithm"] == "slist"
