"""Item-affinity segments users by their whole history, not by their last items.

The user model behind item-affinity tunes its recency half-life for users' *next*
items (one event on purchase data); a segment is who will interact with the items over
the coming period, so the users' scores for segments weigh every distinct item of the
history the same, unless the caller gave a half-life.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sims_quality import T0, interactions, to_data

from personakit.local.algorithms import TrainingData, UserPersonalizationModel, load, train

A_ITEMS = [f"a{k}" for k in range(20)]
#: what a next-item search on purchases found (Online Retail): half-life of one event
NEXT_ITEM_TUNING = {"algorithm": "ease", "recency_half_life": 1.0}


def switchers() -> TrainingData:
    """30 users buy 12 "a" items, 30 buy 12 "b" items; 10 "switchers" buy 12 "a" items
    and then, last, 2 "b" items: by their history they are "a" buyers, and the most
    active ones."""
    rng = np.random.default_rng(0)
    events: list[tuple[str, str, int]] = []
    for group in ("a", "b"):
        for u in range(30):
            for j, k in enumerate(rng.choice(20, 12, replace=False)):
                events.append((f"{group}-user{u}", f"{group}{k}", T0 + 1000 * u + j))
    for u in range(10):
        items = [f"a{k}" for k in rng.choice(20, 12, replace=False)]
        items += [f"b{k}" for k in rng.choice(20, 2, replace=False)]
        events += [(f"switcher{u}", i, T0 + 50_000 + 1000 * u + j) for j, i in enumerate(items)]
    return to_data(events)


def switcher_ranks(model: UserPersonalizationModel) -> list[int]:
    found = model.users_for_items(A_ITEMS, 70)
    return [k for k, (user, _) in enumerate(found) if user.startswith("switcher")]


def test_segments_use_the_whole_history_not_the_next_item_half_life() -> None:
    data = switchers()
    # the final fit reuses the metrics run's next-item search (half-life 1 event)
    model = train("aws-item-affinity", data, {"hpo": "false"}, tuned=NEXT_ITEM_TUNING)
    assert isinstance(model, UserPersonalizationModel)
    assert model.half_life == 1.0  # what recommendations would use
    assert model.info["segment_half_life"] == "inf"
    assert max(switcher_ranks(model)) < 15  # among the first "a" buyers (most active)
    # a half-life the caller gives applies to segments too
    given_hl = train("aws-item-affinity", data, {"hpo": "false", "recency_half_life": "1"})
    assert isinstance(given_hl, UserPersonalizationModel)
    assert given_hl.info["segment_half_life"] == 1.0
    assert switcher_ranks(given_hl) == list(range(30, 40))  # after every "a" user


def test_user_personalization_keeps_its_half_life() -> None:
    model = train("aws-user-personalization", switchers(), {"hpo": "false"})
    assert isinstance(model, UserPersonalizationModel)
    assert model.segment_half_life == model.half_life == 10.0
    assert "segment_half_life" not in model.info


def test_segment_half_life_survives_save_and_load(tmp_path: Path) -> None:
    data = switchers()
    model = train("aws-item-affinity", data, {"hpo": "false"}, tuned=NEXT_ITEM_TUNING)
    model.save(tmp_path / "new")
    again = load(tmp_path / "new")
    assert isinstance(again, UserPersonalizationModel)
    assert again.segment_half_life == np.inf
    assert again.users_for_items(A_ITEMS, 70) == model.users_for_items(A_ITEMS, 70)
    # a model saved before segments had their own half-life keeps the model's
    spec = json.loads((tmp_path / "new" / "model.json").read_text())
    assert spec["params"].pop("segment_half_life") == "inf"
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "model.json").write_text(json.dumps(spec))
    (tmp_path / "old" / "arrays.npz").write_bytes((tmp_path / "new" / "arrays.npz").read_bytes())
    old = load(tmp_path / "old")
    assert isinstance(old, UserPersonalizationModel)
    assert old.segment_half_life == old.half_life == 1.0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=interactions(min_users=2, max_users=20, max_items=10),
    algorithm=st.sampled_from(["ease", "ials"]),
    half_life=st.sampled_from([None, "1", "inf"]),
    n=st.integers(1, 30),
)
def test_segments_are_distinct_users_best_first(
    data: TrainingData, algorithm: str, half_life: str | None, n: int
) -> None:
    hyper = {"hpo": "false", "algorithm": algorithm, "factors": "4"}
    if half_life is not None:
        hyper["recency_half_life"] = half_life
    model = train("aws-item-affinity", data, hyper)
    items = data.item_ids.tolist()
    found = model.users_for_items(items[:2], n)
    users = [u for u, _ in found]
    scores = [s for _, s in found]
    assert len(users) == len(set(users)) == min(n, len(data.user_ids))
    assert set(users) <= set(data.user_ids.tolist())
    assert all(np.isfinite(scores))
    assert scores == sorted(scores, reverse=True)
