"""SIMS picks its scorer by each user's next item, on every other user's co-interactions.

What a user of the SIMS recipe relies on: neighbours are real co-interactions (never the
item itself, scores best first), documented hyperparameters still work, and the tuning
chooses the scorer that predicts users' next items, without seeing the user it scores.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from personakit.local.algorithms import SimsModel, TrainingData, sims, train
from test_algorithms import to_data as events_to_data

T0 = 1_600_000_000


def to_data(events: list[tuple[str, str, int]]) -> TrainingData:
    """(user, item, time) events -> TrainingData (items in first-seen order)."""
    return events_to_data(events, list(dict.fromkeys(i for _, i, _ in events)))


def heavy_and_light(seed: int = 0) -> TrainingData:
    """12 light users buy "x" then "y"; 25 heavy users buy "x", "z" and 30 fillers.

    By raw co-counts "z" and every filler (25 users each) beat "y" (12 users) as "x"'s
    neighbour, whatever the popularity discount; weighting each co-interaction by the
    user's activity ** -1 (RP3beta's user step) puts "y" first, and "y" is what follows
    "x" for the light users.
    """
    rng = np.random.default_rng(seed)
    events: list[tuple[str, str, int]] = []
    for u in range(12):
        events += [(f"light{u}", "x", T0 + 100 * u), (f"light{u}", "y", T0 + 100 * u + 1)]
    for u in range(25):
        basket = ["x", "z", *(f"f{k}" for k in rng.permutation(30))]
        events += [(f"heavy{u}", item, T0 + 10_000 + 100 * u + j) for j, item in enumerate(basket)]
    return to_data(events)


def test_user_activity_discount_puts_light_users_pairs_first() -> None:
    data = heavy_and_light()
    plain = train("aws-sims", data, {"hpo": "false"})
    assert plain.hyperparameters["user_activity_discount"] == "0"
    assert "y" not in [i for i, _ in plain.related("x", 10)]  # z and the fillers first
    discounted = train("aws-sims", data, {"hpo": "false", "user_activity_discount": "1"})
    assert discounted.related("x", 1)[0][0] == "y"


def test_tuning_chooses_the_discount_that_predicts_next_items() -> None:
    data = heavy_and_light()
    plain_co_counts = {"proximity_half_life": "inf"}  # stays fixed: α alone is searched here
    model = train("aws-sims", data, plain_co_counts, seed=1)
    tuned = model.info["tuned"]
    assert tuned["user_activity_discount"] > 0
    assert model.hyperparameters["user_activity_discount"] == f"{tuned['user_activity_discount']:g}"
    assert model.related("x", 1)[0][0] == "y"
    hpo = model.info["hpo"]
    assert hpo["validation"] == "leave-one-user-out"
    assert hpo["validation_users"] == 37  # every user, none held out of the neighbours
    assert hpo["user_activity_discount"] == [0.0, 0.5, 1.0]
    best = hpo["best_score_per_discount"]
    assert best[0] < best[-1]  # the light users' next item found only with a discount
    again = train("aws-sims", data, plain_co_counts, seed=1)
    assert again.info == model.info  # seeded: reproducible


def test_given_values_stay_fixed_and_the_grid_shrinks() -> None:
    data = heavy_and_light()
    fixed = train("aws-sims", data, {"user_activity_discount": "0.5"})
    assert fixed.info["hpo"]["user_activity_discount"] == [0.5]
    assert fixed.hyperparameters["user_activity_discount"] == "0.5"
    assert len(fixed.info["hpo"]["beta_shrink"]) == 12
    everything = {
        "proximity_half_life": "inf",
        "user_activity_discount": "1",
        "popularity_discount_factor": "0.25",
        "cointeraction_shrink": "5",
    }
    assert "hpo" not in train("aws-sims", data, everything).info  # nothing left to tune
    with pytest.raises(ValueError, match="user_activity_discount"):
        train("aws-sims", data, {"user_activity_discount": "2"})


def bundles(seed: int = 0) -> TrainingData:
    """60 users each buy all 15 bundles (p_k, then q_k right after), bundles in a random
    order: every pair of items is co-interacted by all 60 users, so co-counts cannot
    tell q_k from any other item; how close the items are in the histories can."""
    rng = np.random.default_rng(seed)
    events: list[tuple[str, str, int]] = []
    for u in range(60):
        items = [item for k in rng.permutation(15) for item in (f"p{k}", f"q{k}")]
        events += [(f"u{u}", item, T0 + 1000 * u + j) for j, item in enumerate(items)]
    return to_data(events)


def test_proximity_half_life_finds_the_item_bought_right_after() -> None:
    data = bundles()
    plain = train("aws-sims", data, {"hpo": "false"})
    assert plain.hyperparameters["proximity_half_life"] == "inf"
    assert len({s for _, s in plain.neighbours("p3")}) == 1  # every neighbour ties
    model = train("aws-sims", data)
    assert model.info["tuned"]["proximity_half_life"] == 10.0
    assert model.hyperparameters["proximity_half_life"] == "10"
    assert model.info["hpo"]["proximity_half_life"] == ["inf", 10.0]
    plain_best, near_best = model.info["hpo"]["best_score_per_half_life"]
    assert plain_best < 0.5 < near_best  # ties are not hits: 28 items tie with the truth
    assert all(model.related(f"p{k}", 1)[0][0] == f"q{k}" for k in range(15))
    given_hl = train("aws-sims", data, {"hpo": "false", "proximity_half_life": "2"})
    assert all(given_hl.related(f"p{k}", 1)[0][0] == f"q{k}" for k in range(15))
    with pytest.raises(ValueError, match="proximity_half_life"):
        train("aws-sims", data, {"proximity_half_life": "0.5"})


def test_proximity_is_searched_only_while_it_stays_cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    data = bundles()  # 60 histories of 30 items: 60 x (30·29/2) pairs at most
    monkeypatch.setattr(sims, "PROXIMITY_MAX_PAIRS", 1_000)
    model = train("aws-sims", data)
    assert model.info["hpo"]["proximity_half_life"] == ["inf"]
    assert model.hyperparameters["proximity_half_life"] == "inf"
    monkeypatch.setattr(sims, "PROXIMITY_MAX_PAIRS", 20_000_000)
    monkeypatch.setattr(sims, "PROXIMITY_MAX_BYTES", 1_000)
    assert train("aws-sims", data).info["hpo"]["proximity_half_life"] == ["inf"]
    # asked for, it is used beyond the search's budget ...
    given_hl = train("aws-sims", data, {"proximity_half_life": "10"})
    assert given_hl.info["hpo"]["proximity_half_life"] == [10.0]
    # ... up to a size whose matrix would not fit: refused, naming the key and the size
    monkeypatch.setattr(sims, "PROXIMITY_MAX_PAIRS_GIVEN", 1_000)
    for hpo in ("false", "true"):  # refused before the search too
        with pytest.raises(ValueError, match=r"proximity_half_life=10 would weigh [\d,]+ item"):
            train("aws-sims", data, {"proximity_half_life": "10", "hpo": hpo})


def test_validation_never_counts_the_scored_users_own_pair() -> None:
    # each user's (query, next item) pair is theirs alone: on the *other* users'
    # co-interactions no grid point can find it (counting the user's own would find all)
    events = []
    for u in range(30):
        events += [(f"u{u}", f"q{u}", T0 + 10 * u), (f"u{u}", f"t{u}", T0 + 10 * u + 1)]
    model = train("aws-sims", to_data(events), {"min_cointeraction_count": "1"})
    assert model.info["hpo"]["validation_users"] == 30
    assert max(model.info["hpo"]["scores"]) == 0.0
    assert max(model.info["hpo"]["best_score_per_discount"]) == 0.0


def test_min_cointeraction_count_still_counts_users_with_a_discount() -> None:
    # "x"-"y" by 2 users, "x"-"z" by 4: the threshold is on users, not weighted counts
    events = [(f"p{k}", "x", k) for k in range(6)]
    events += [("p0", "y", 10), ("p1", "y", 11)]
    events += [(f"p{k}", "z", 20 + k) for k in range(4)]
    data = to_data(events)
    model = train("aws-sims", data, {"hpo": "false", "user_activity_discount": "1"})
    assert [i for i, s in model.related("x", 2) if s > 0] == ["z"]
    loose = train(
        "aws-sims",
        data,
        {"hpo": "false", "user_activity_discount": "1", "min_cointeraction_count": "2"},
    )
    assert {i for i, s in loose.related("x", 2) if s > 0} == {"y", "z"}


@st.composite
def interactions(
    draw: st.DrawFn, min_users: int = 1, max_users: int = 25, max_items: int = 12
) -> TrainingData:
    """Up to ``max_users`` users, each with 1-8 events on up to ``max_items`` items."""
    n_users = draw(st.integers(min_users, max_users))
    n_items = draw(st.integers(2, max_items))
    events = []
    for u in range(n_users):
        picks = draw(st.lists(st.integers(0, n_items - 1), min_size=1, max_size=8))
        events += [(f"u{u}", f"i{i}", T0 + 10 * u + j) for j, i in enumerate(picks)]
    return to_data(events)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=interactions(),
    alpha=st.sampled_from(["0", "0.5", "1", None]),
    half_life=st.sampled_from(["inf", "1", "3", None]),
    hpo=st.sampled_from(["true", "false"]),
)
def test_neighbours_are_distinct_other_items_best_first(
    data: TrainingData, alpha: str | None, half_life: str | None, hpo: str
) -> None:
    hyper = {"hpo": hpo, "min_cointeraction_count": "1"}
    if alpha is not None:
        hyper["user_activity_discount"] = alpha
    if half_life is not None:
        hyper["proximity_half_life"] = half_life
    model = train("aws-sims", data, hyper)
    assert isinstance(model, SimsModel)
    n_items = len(data.item_ids)
    for item in data.item_ids.tolist():
        stored = model.neighbours(item)
        scores = [s for _, s in stored]
        assert item not in {i for i, _ in stored}
        assert all(np.isfinite(scores))
        assert all(s > 0 for s in scores)
        assert scores == sorted(scores, reverse=True)
        related = model.related(item, n_items)
        names = [i for i, _ in related]
        assert len(names) == len(set(names)) == n_items - 1
        assert item not in names


def test_a_solution_versions_final_fit_reuses_the_metrics_runs_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CreateSolutionVersion's final SIMS fit takes its metrics run's search outcome
    (``train(..., tuned=...)``, as ``evaluate_and_tune`` returns it) instead of
    searching again: the same choice and the same neighbours, with no second search."""
    from personakit.local.evaluation import evaluate_and_tune

    data = bundles()
    result = evaluate_and_tune("aws-sims", data, {}, seed=0)
    assert set(result.tuned) >= {"popularity_discount_factor", "proximity_half_life", "hpo"}
    searched = train("aws-sims", data, {}, seed=0)

    def no_search(*args: object, **kwargs: object) -> None:
        raise AssertionError("searched again")

    monkeypatch.setattr(sims, "tune_sims", no_search)
    reused = train("aws-sims", data, {}, seed=0, tuned=result.tuned)
    assert reused.hyperparameters == {
        **searched.hyperparameters,
        **{k: reused.hyperparameters[k] for k in result.tuned if k != "hpo"},
    }
    assert reused.info["hpo"] == result.tuned["hpo"]
    for k, v in result.tuned.items():
        if k != "hpo":
            assert reused.info["tuned"][k] == v
    with pytest.raises(AssertionError, match="searched again"):
        train("aws-sims", data, {}, seed=0)
