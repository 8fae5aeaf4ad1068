"""The local algorithms behave as a user of each Personalize recipe relies on."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from personakit.local import algorithms
from personakit.local.algorithms import RECIPES, Model, TrainingData, load, train

GROUPS = ("a", "b", "c")


def grouped(
    *,
    per_group: int = 60,
    items_per_group: int = 12,
    picks: int = 6,
    seed: int = 0,
    extra: list[tuple[str, str, int]] | None = None,
    metadata: bool = False,
) -> TrainingData:
    """Three disjoint tastes: a user of group g takes ``picks`` of g's items plus "hit".

    Items ``a0..a11``, ``b0..``, ``c0..`` and ``hit`` (everyone's, the most
    popular); users ``a-user0..``; ``extra`` adds (user, item, time) events.
    """
    rng = np.random.default_rng(seed)
    item_ids = [f"{g}{k}" for g in GROUPS for k in range(items_per_group)] + ["hit"]
    events: list[tuple[str, str, int]] = []
    for g in GROUPS:
        for u in range(per_group):
            user = f"{g}-user{u}"
            chosen = rng.choice(items_per_group, picks, replace=False)
            t0 = 1_600_000_000 + u * 1000
            events.append((user, "hit", t0))
            events.extend((user, f"{g}{k}", t0 + 10 * (j + 1)) for j, k in enumerate(chosen))
    events.extend(extra or [])
    return to_data(events, item_ids, metadata=metadata)


def to_data(
    events: list[tuple[str, str, int]],
    item_ids: list[str],
    *,
    metadata: bool = False,
    event_types: list[str] | None = None,
) -> TrainingData:
    users = sorted({u for u, _, _ in events})
    items = list(item_ids) + sorted({i for _, i, _ in events} - set(item_ids))
    upos = {u: k for k, u in enumerate(users)}
    ipos = {i: k for k, i in enumerate(items)}
    order = sorted(range(len(events)), key=lambda k: events[k][2])
    meta = {}
    if metadata:
        meta = {
            "GENRES": np.array(
                [f"group-{i[0]}|misc" if i != "hit" else None for i in items], dtype=object
            )
        }
    return TrainingData(
        user_ids=np.array(users),
        item_ids=np.array(items),
        users=np.array([upos[events[k][0]] for k in order], np.int32),
        items=np.array([ipos[events[k][1]] for k in order], np.int32),
        timestamps=np.array([events[k][2] for k in order], np.int64),
        event_types=None if event_types is None else np.array([event_types[k] for k in order]),
        item_metadata=meta,
    )


def groups_of(scored: list[tuple[str, float]]) -> list[str]:
    return [item[0] for item, _ in scored]


@pytest.fixture(scope="module")
def data() -> TrainingData:
    return grouped()


@pytest.fixture(scope="module", params=["ease", "ials", "blend"])
def user_model(request: pytest.FixtureRequest, data: TrainingData) -> Model:
    return train("aws-user-personalization", data, {"algorithm": request.param, "hpo": "false"})


# --------------------------------------------------------------------------- recipes


def test_recipes_map_names_to_recipe_types() -> None:
    assert RECIPES["aws-user-personalization"] == "USER_PERSONALIZATION"
    assert RECIPES["aws-user-personalization-v2"] == "USER_PERSONALIZATION"
    assert RECIPES["aws-popularity-count"] == "POPULAR_ITEMS"
    assert RECIPES["aws-trending-now"] == "POPULAR_ITEMS"
    assert RECIPES["aws-sims"] == RECIPES["aws-similar-items"] == "RELATED_ITEMS"
    assert RECIPES["aws-personalized-ranking-v2"] == "PERSONALIZED_RANKING"
    assert RECIPES["aws-item-attribute-affinity"] == "USER_SEGMENTATION"
    assert RECIPES["aws-vod-because-you-watched-x"] == "RELATED_ITEMS"
    assert RECIPES["aws-ecomm-recommended-for-you"] == "USER_PERSONALIZATION"


def test_train_accepts_arns_and_rejects_unknown_recipes(data: TrainingData) -> None:
    model = train("arn:aws:personalize:::recipe/aws-popularity-count", data)
    assert model.recipe == "aws-popularity-count"
    assert isinstance(model, Model)
    with pytest.raises(ValueError, match="not supported"):
        train("aws-next-best-action", data)


def test_bad_hyperparameter_values_raise(data: TrainingData) -> None:
    with pytest.raises(ValueError, match="algorithm"):
        train("aws-user-personalization", data, {"algorithm": "svd"})
    with pytest.raises(ValueError, match="min_cointeraction_count"):
        train("aws-sims", data, {"min_cointeraction_count": "11"})
    with pytest.raises(ValueError, match="l2"):
        train("aws-user-personalization", data, {"l2": "lots"})


# --------------------------------------------------------------------------- popularity


def test_popularity_counts_distinct_users() -> None:
    # u1 clicks "x" five times; "y" is clicked once each by u2 and u3
    events = [("u1", "x", t) for t in range(5)] + [("u2", "y", 10), ("u3", "y", 11)]
    model = train("aws-popularity-count", to_data(events, ["x", "y", "z"]))
    assert [i for i, _ in model.recommend("anyone", 3)] == ["y", "x", "z"]
    assert model.recommend(None, 1)[0][1] == pytest.approx(2 / 3)  # share of users


def test_popularity_respects_exclude_and_candidates(data: TrainingData) -> None:
    model = train("aws-popularity-count", data)
    assert model.recommend("x", 1)[0][0] == "hit"
    assert model.recommend("x", 1, exclude={"hit"})[0][0] != "hit"
    picked = model.recommend("x", 10, candidates={"a1", "b2", "hit", "nope"}, exclude={"a1"})
    assert [i for i, _ in picked] == ["hit", "b2"]


def test_trending_prefers_items_growing_in_the_recent_window() -> None:
    day = 86_400
    events = []
    # "steady": 30 events per day for 10 days; "rising": 0 then 2 then 20 in the last day
    for d in range(10):
        events += [(f"s{d}-{k}", "steady", d * day + k) for k in range(30)]
    events += [(f"r{k}", "rising", 8 * day + k) for k in range(2)]
    events += [(f"r{k}", "rising", 9 * day + k) for k in range(20)]
    events += [(f"f{k}", "falling", 8 * day + k) for k in range(25)]
    data = to_data(events, ["steady", "rising", "falling", "cold"])
    model = train("aws-trending-now", data, {"trend_discovery_frequency": "1 day"})
    ranked = [i for i, _ in model.recommend(None, 4)]
    assert ranked[0] == "rising"
    assert ranked.index("steady") < ranked.index("falling")  # falling is not a trend
    assert model.info["window_seconds"] == day
    with pytest.raises(ValueError, match="trend_discovery_frequency"):
        train("aws-trending-now", data, {"trend_discovery_frequency": "fortnightly"})


# --------------------------------------------------------------------------- user personalization


def test_auto_picks_ease_for_small_catalogues_and_ials_beyond(data: TrainingData) -> None:
    untuned = {"hpo": "false"}
    assert train("aws-user-personalization", data, untuned).info["algorithm"] == "ease"
    small_limit = {"ease_max_items": "10", "hpo": "false"}
    assert train("aws-user-personalization", data, small_limit).info["algorithm"] == "ials"
    forced = {"algorithm": "ials", "hpo": "false"}
    assert train("aws-user-personalization", data, forced).info["algorithm"] == "ials"


def test_auto_with_hpo_searches_both_and_records_what_it_chose(data: TrainingData) -> None:
    model = train("aws-user-personalization", data, seed=1)
    hpo = model.info["hpo"]
    assert {"ease", "ials", "slist"} <= set(hpo)
    tuned = model.info["tuned"]
    assert model.info["algorithm"] == tuned["algorithm"] == model.hyperparameters["algorithm"]
    assert model.hyperparameters["recency_half_life"] == f"{tuned['recency_half_life']:g}"
    # an explicit choice is not second-guessed
    ease = train("aws-user-personalization", data, {"algorithm": "ease"}, seed=1)
    assert ease.info["algorithm"] == "ease"
    assert set(ease.info["hpo"]) == {"metric", "rule", "ease"}


def test_auto_with_hpo_blends_both_unless_one_validates_clearly_better() -> None:
    data = grouped(per_group=120)
    model = train("aws-user-personalization", data, seed=1)
    hpo = model.info["hpo"]
    assert hpo["rule"].endswith("prior blend")
    assert hpo["blend"]["ease_weight"] == [0.3]
    assert len(hpo["blend"]["recency_scores"]) == 6
    assert "slist" in hpo  # the sequential candidate is searched where EASE is cheap
    tuned = model.info["tuned"]
    assert tuned["algorithm"] in {"ease", "ials", "blend", "slist"}
    if tuned["algorithm"] == "blend":
        assert {"l2", "reg", "alpha", "ease_weight"} <= set(model.hyperparameters)
    # where EASE is not cheap to search (a given l2), no blend is searched
    pinned = train("aws-user-personalization", data, {"l2": "50"}, seed=1)
    assert "hpo" not in pinned.info
    assert pinned.info["algorithm"] == "ease"


def test_blend_weight_ends_recommend_as_the_single_models(data: TrainingData) -> None:
    off = {"hpo": "false"}
    ease = train("aws-user-personalization", data, {**off, "algorithm": "ease"}, seed=4)
    ials = train("aws-user-personalization", data, {**off, "algorithm": "ials"}, seed=4)
    history = [("b1", 1_700_000_000), ("c2", 1_700_000_100)]
    for weight, single in (("1", ease), ("0", ials)):
        asked = {**off, "algorithm": "blend", "ease_weight": weight}
        blend = train("aws-user-personalization", data, asked, seed=4)
        assert blend.info["algorithm"] == "blend"
        assert blend.hyperparameters["ease_weight"] == weight
        for user in ("a-user3", "c-user9"):
            got = [item for item, _ in blend.recommend(user, 8, history=history)]
            assert got == [item for item, _ in single.recommend(user, 8, history=history)]


def test_blend_weight_outside_zero_to_one_is_rejected(data: TrainingData) -> None:
    asked = {"algorithm": "blend", "ease_weight": "1.5", "hpo": "false"}
    with pytest.raises(ValueError, match="ease_weight"):
        train("aws-user-personalization", data, asked)


def test_a_tuned_blend_is_reused_without_searching(data: TrainingData) -> None:
    chosen = {
        "algorithm": "blend",
        "recency_half_life": 20.0,
        "l2_ratio": 1.0,
        "reg": 10.0,
        "alpha": 4.0,
        "ease_weight": 0.5,
    }
    model = train("aws-user-personalization", data, seed=2, tuned=chosen)
    assert model.info["algorithm"] == "blend"
    assert model.info["hpo_reused"] is True
    assert "hpo" not in model.info
    used = model.hyperparameters
    assert (used["reg"], used["alpha"], used["ease_weight"]) == ("10", "4", "0.5")
    assert used["recency_half_life"] == "20"
    assert groups_of(model.recommend("b-user2", 6)).count("b") >= 5


def test_one_se_rule_keeps_the_default_unless_the_gain_is_clear() -> None:
    from personakit.local.algorithms.personalization import _prefer

    rng = np.random.default_rng(0)
    default = rng.uniform(0, 1, 500)
    noise = rng.normal(0, 0.2, 500)
    noisy = default + (noise - noise.mean()) + 0.002  # a higher mean, well within noise
    clear = default + rng.normal(0.05, 0.05, 500)
    assert _prefer(0, [default, noisy]) == 0
    assert _prefer(0, [default, noisy, clear]) == 2
    assert _prefer(1, [clear, default]) == 0


def test_recency_half_life_is_tuned_unless_given() -> None:
    data = grouped(per_group=120)
    tuned = train("aws-user-personalization", data, {"algorithm": "ials"}, seed=3)
    report = tuned.info["hpo"]["ials"]
    assert report["recency_half_life"] == [1.0, 2.0, 5.0, 10.0, 20.0, "inf"]
    assert len(report["recency_scores"]) == 6
    assert tuned.hyperparameters["recency_half_life"] in {"1", "2", "5", "10", "20", "inf"}
    given = train(
        "aws-user-personalization", data, {"algorithm": "ials", "recency_half_life": "7"}, seed=3
    )
    assert "recency_half_life" not in given.info["hpo"]["ials"]
    assert given.hyperparameters["recency_half_life"] == "7"


def test_tuned_values_are_reused_without_searching_again(
    data: TrainingData, monkeypatch: pytest.MonkeyPatch
) -> None:
    from personakit.local.algorithms import personalization

    searched = train("aws-user-personalization", data, {"algorithm": "ials"}, seed=2)
    calls: list[int] = []
    real = personalization.tune

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(personalization, "tune", counting)
    chosen = {**searched.info["tuned"], "recency_half_life": 20.0, "alpha": 16.0}
    reused = train("aws-user-personalization", data, {"algorithm": "ials"}, seed=2, tuned=chosen)
    assert calls == []
    assert reused.hyperparameters["recency_half_life"] == "20"
    assert reused.hyperparameters["alpha"] == "16"
    assert reused.info["hpo_reused"] is True
    # {} (no search ran in the metrics run) means defaults, still no search
    plain = train("aws-user-personalization", data, {"algorithm": "ials"}, seed=2, tuned={})
    assert calls == []
    assert plain.hyperparameters["recency_half_life"] == "10"


def test_tuning_picks_l2_on_held_out_users_reproducibly() -> None:
    data = grouped(per_group=120)
    asked = {"algorithm": "ease"}
    first = train("aws-user-personalization", data, asked, seed=3)
    again = train("aws-user-personalization", data, asked, seed=3)
    hpo = first.info["hpo"]
    assert hpo["metric"] == "ndcg_at_10"
    assert len(hpo["ease"]["l2"]) == len(hpo["ease"]["scores"]) == 5
    assert first.info["tuned"]["l2_ratio"] in hpo["ease"]["l2_ratio"]
    assert first.hyperparameters["l2"] == again.hyperparameters["l2"]
    assert first.info == again.info
    untuned = train("aws-user-personalization", data, {"l2": "77"})
    assert "hpo" not in untuned.info
    assert untuned.hyperparameters["l2"] == "77"


def test_ials_tuning_keeps_a_given_value_fixed() -> None:
    data = grouped(per_group=120)
    model = train("aws-user-personalization", data, {"algorithm": "ials", "alpha": "5"}, seed=3)
    grid = model.info["hpo"]["ials"]["reg_alpha"]
    assert {alpha for _, alpha in grid} == {5.0}
    assert len(grid) > 1
    assert model.hyperparameters["alpha"] == "5"


def test_known_user_gets_their_own_taste(user_model: Model) -> None:
    top = groups_of(user_model.recommend("b-user3", 8, exclude={"hit"}))
    assert top.count("b") >= 6


def test_seen_items_are_not_excluded_unless_asked(data: TrainingData) -> None:
    # like Personalize's user-personalization: a filter (exclude) or exclude_seen removes them
    seen = {data.item_ids[i] for i in data.items[data.users == 0]}
    model = train("aws-user-personalization", data, {"hpo": "false"})
    assert seen & {i for i, _ in model.recommend(str(data.user_ids[0]), 13)}
    strict = train("aws-user-personalization", data, {"hpo": "false", "exclude_seen": "true"})
    assert not seen & {i for i, _ in strict.recommend(str(data.user_ids[0]), 13)}


def test_history_events_change_that_users_recommendations(user_model: Model) -> None:
    before = groups_of(user_model.recommend("a-user1", 6, exclude={"hit"}))
    later = [(f"c{k}", 1_700_000_000 + k) for k in range(6)]
    after = groups_of(user_model.recommend("a-user1", 6, history=later, exclude={"hit"}))
    assert before.count("a") >= 4
    assert after.count("c") > before.count("c")
    # another user is unaffected
    assert user_model.recommend("b-user1", 6) == user_model.recommend("b-user1", 6)


def test_unknown_users_get_popular_items_or_their_folded_in_history(
    user_model: Model, data: TrainingData
) -> None:
    popular = train("aws-popularity-count", data)
    unknown = user_model.recommend("nobody", 5)
    assert [i for i, _ in unknown] == [i for i, _ in popular.recommend("nobody", 5)]
    folded = user_model.recommend(
        "nobody", 6, history=[("c1", 5), ("c2", 6), ("c3", 7)], exclude={"hit"}
    )
    assert groups_of(folded).count("c") >= 5
    # unknown history items are ignored rather than failing
    assert user_model.recommend("nobody", 3, history=[("zzz", 1)]) == user_model.recommend(
        "nobody", 3
    )


def test_recency_weighting_moves_the_ranking_toward_recent_tastes() -> None:
    # "shifter" took 6 items of group a long ago, then 3 of group c
    extra = [("shifter", f"a{k}", 1_000 + k) for k in range(6)]
    extra += [("shifter", f"c{k}", 9_000_000_000 + k) for k in range(3)]
    data = grouped(extra=extra)
    asked = {"hpo": "false", "exclude_seen": "true"}
    plain = train("aws-user-personalization", data, {**asked, "recency_half_life": "inf"})
    recent = train("aws-user-personalization", data, {**asked, "recency_half_life": "3"})
    default = train("aws-user-personalization", data, asked)
    assert default.hyperparameters["recency_half_life"] == "10"
    plain_top = groups_of(plain.recommend("shifter", 5, exclude={"hit"}))
    recent_top = groups_of(recent.recommend("shifter", 5, exclude={"hit"}))
    assert plain_top.count("a") > plain_top.count("c")
    assert recent_top.count("c") > recent_top.count("a")
    # Personalize UP-v2's switch turns it off
    off = train("aws-user-personalization-v2", data, {**asked, "apply_recency_bias": "false"})
    assert off.recommend("shifter", 5) == plain.recommend("shifter", 5)


def test_exclude_and_candidates_are_respected(user_model: Model) -> None:
    out = user_model.recommend("a-user2", 5, exclude={"hit", "a0", "a1"})
    assert not {"hit", "a0", "a1"} & {i for i, _ in out}
    pool = {"b1", "c2", "a3", "missing"}
    out = user_model.recommend("a-user2", 10, candidates=pool, exclude={"c2"})
    assert {i for i, _ in out} == {"b1", "a3"}
    assert out[0][0] == "a3"  # the user's own taste first
    assert user_model.recommend("a-user2", 3, candidates=set()) == []


# --------------------------------------------------------------------------- personalized ranking


def test_personalized_ranking_orders_known_items_and_puts_unknown_last(data: TrainingData) -> None:
    model = train("aws-personalized-ranking", data, {"hpo": "false"})
    ranked = model.rank("b-user0", ["new1", "a3", "b5", "new2", "c1", "b2"])
    names = [i for i, _ in ranked]
    assert names[-2:] == ["new1", "new2"]  # unknown ids last, in input order
    assert all(math.isnan(s) for _, s in ranked[-2:])
    assert names[0][0] == "b"
    assert names[1][0] == "b"
    scores = [s for _, s in ranked[:-2]]
    assert scores == sorted(scores, reverse=True)
    # the same order as the user model would give over the whole catalogue
    full = [i for i, _ in model.recommend("b-user0", 40) if i in {"a3", "b5", "c1", "b2"}]
    assert names[:4] == full


# --------------------------------------------------------------------------- sims


def test_sims_neighbours_share_co_interactions(data: TrainingData) -> None:
    model = train("aws-sims", data)
    related = model.related("a4", 11)
    assert related[0][0] != "a4"
    assert groups_of(related[:8]).count("a") == 8
    assert "a4" not in {i for i, _ in model.related("a4", 40)}


def test_sims_min_cointeraction_count_is_respected() -> None:
    # "x" and "y" are co-interacted by exactly 2 users, "x" and "z" by 4
    events = [(f"p{k}", "x", k) for k in range(6)]
    events += [("p0", "y", 10), ("p1", "y", 11)]
    events += [(f"p{k}", "z", 20 + k) for k in range(4)]
    events += [(f"q{k}", "w", 40 + k) for k in range(9)]  # popular, never with x
    data = to_data(events, ["x", "y", "z", "w"])
    default = train("aws-sims", data)  # min_cointeraction_count = 3
    assert [i for i, s in default.related("x", 3) if s > 0] == ["z"]
    assert [i for i, _ in default.related("x", 3)][1] == "w"  # padded with popular items
    loose = train("aws-sims", data, {"min_cointeraction_count": "2"})
    assert {i for i, s in loose.related("x", 3) if s > 0} == {"y", "z"}


def test_sims_unknown_item_gets_popular_items(data: TrainingData) -> None:
    model = train("aws-sims", data)
    assert model.related("never-seen", 2)[0][0] == "hit"
    # b2 never co-occurs with a1: it can only come as popular padding, at score 0
    assert model.related("a1", 3, candidates={"a2", "b2"}, exclude={"a2"}) == [("b2", 0.0)]


def test_sims_tunes_its_popularity_discount_on_held_out_next_items() -> None:
    data = grouped(per_group=120)
    model = train("aws-sims", data, seed=2)
    hpo = model.info["hpo"]
    assert hpo["metric"] == "next_item_hit_at_10"
    assert len(hpo["scores"]) == len(hpo["beta_shrink"]) == 12
    tuned = model.info["tuned"]
    assert [tuned["popularity_discount_factor"], tuned["cointeraction_shrink"]] in hpo[
        "beta_shrink"
    ]
    assert model.hyperparameters["popularity_discount_factor"] == (
        f"{tuned['popularity_discount_factor']:g}"
    )
    assert train("aws-sims", data, seed=2).info == model.info  # seeded: reproducible
    # a given value stays fixed; hpo=false (or both given) keeps the defaults, no search
    fixed = train("aws-sims", data, {"popularity_discount_factor": "0.75"}, seed=2)
    assert {b for b, _ in fixed.info["hpo"]["beta_shrink"]} == {0.75}
    plain = train("aws-sims", data, {"hpo": "false"})
    assert "hpo" not in plain.info
    assert plain.hyperparameters["popularity_discount_factor"] == "0.5"


def test_sims_shrinkage_keeps_well_supported_neighbours_first() -> None:
    # "x": "y" shares 3 users out of 3 (rare), "z" shares 8 of 40 (well supported)
    events = [(f"p{k}", "x", k) for k in range(10)]
    events += [(f"p{k}", "y", 20 + k) for k in range(3)]
    events += [(f"p{k}", "z", 40 + k) for k in range(3, 10)] + [("p0", "z", 60)]
    events += [(f"q{k}", "z", 100 + k) for k in range(32)]
    data = to_data(events, ["x", "y", "z"])
    off = {"hpo": "false", "popularity_discount_factor": "0.5"}
    assert [i for i, _ in train("aws-sims", data, off).related("x", 2)] == ["y", "z"]
    shrunk = train("aws-sims", data, {**off, "cointeraction_shrink": "20"})
    assert [i for i, _ in shrunk.related("x", 2)] == ["z", "y"]


def test_similar_items_gives_neighbours_to_a_cold_item_by_metadata() -> None:
    data = grouped(metadata=True)
    # add a cold item with group b's genre
    data = TrainingData(
        user_ids=data.user_ids,
        item_ids=np.append(data.item_ids, "b-cold"),
        users=data.users,
        items=data.items,
        timestamps=data.timestamps,
        item_metadata={
            "GENRES": np.append(data.item_metadata["GENRES"], np.array(["group-b"], dtype=object))
        },
    )
    model = train("aws-similar-items", data)
    assert groups_of(model.related("b-cold", 5)).count("b") == 5
    assert train("aws-sims", data).related("b-cold", 1)[0][0] == "hit"  # sims: popular
    # warm items still follow co-interactions
    assert groups_of(model.related("c3", 5)).count("c") == 5


# --------------------------------------------------------------------------- segmentation


@pytest.mark.parametrize("algorithm", ["auto", "blend"])
def test_users_for_items_returns_users_who_like_those_items(
    data: TrainingData, algorithm: str
) -> None:
    model = train("aws-item-affinity", data, {"hpo": "false", "algorithm": algorithm})
    users = model.users_for_items(["c1", "c2", "c5"], 20)
    assert len(users) == 20
    assert all(u.startswith("c-user") for u, _ in users)
    assert [s for _, s in users] == sorted((s for _, s in users), reverse=True)
    # unknown items: the most active users
    assert len(model.users_for_items(["nope"], 5)) == 5


# --------------------------------------------------------------------------- persistence


@pytest.mark.parametrize(
    ("recipe", "hyperparameters"),
    [
        ("aws-user-personalization", {"algorithm": "ease", "hpo": "false"}),
        ("aws-user-personalization", {"algorithm": "ials", "hpo": "false"}),
        ("aws-user-personalization", {"algorithm": "blend", "hpo": "false"}),
        ("aws-item-affinity", {"algorithm": "ials", "hpo": "false"}),
        ("aws-item-affinity", {"algorithm": "blend", "hpo": "false"}),
        ("aws-popularity-count", {}),
        ("aws-trending-now", {}),
        ("aws-sims", {}),
        ("aws-similar-items", {}),
    ],
)
def test_save_load_round_trip_is_exact(
    tmp_path: Path, recipe: str, hyperparameters: dict[str, str]
) -> None:
    data = grouped(metadata=True)
    model = train(recipe, data, hyperparameters, seed=7)
    model.save(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"model.json", "arrays.npz"}
    again = load(tmp_path)
    assert again.recipe == model.recipe
    history = [("c1", 1_700_000_000), ("c2", 1_700_000_100)]
    for user in ("a-user1", "b-user7", "nobody"):
        assert again.recommend(user, 10) == model.recommend(user, 10)
        assert again.recommend(user, 10, history=history) == model.recommend(
            user, 10, history=history
        )
    for item in ("a1", "b2", "hit", "nothing"):
        assert again.related(item, 10) == model.related(item, 10)
    items = ["a1", "b3", "zz", "c2"]
    assert str(again.rank("b-user1", items)) == str(model.rank("b-user1", items))  # NaN-safe
    assert again.users_for_items(["a1", "a2"], 10) == model.users_for_items(["a1", "a2"], 10)


def test_training_is_reproducible_with_a_seed(data: TrainingData) -> None:
    one = train("aws-user-personalization", data, {"algorithm": "ials", "hpo": "false"}, seed=1)
    two = train("aws-user-personalization", data, {"algorithm": "ials", "hpo": "false"}, seed=1)
    assert one.recommend("a-user4", 10) == two.recommend("a-user4", 10)


def test_event_type_filters_training_events() -> None:
    events = [(f"u{k}", "viewed", k) for k in range(10)] + [
        ("u1", "bought", 50),
        ("u2", "bought", 51),
    ]
    types = ["View"] * 10 + ["Purchase"] * 2
    data = to_data(events, ["viewed", "bought"], event_types=types)
    assert train("aws-popularity-count", data).recommend(None, 1)[0][0] == "viewed"
    by_purchases = train("aws-ecomm-popular-items-by-purchases", data)
    assert by_purchases.recommend(None, 1)[0][0] == "bought"
    asked = train("aws-popularity-count", data, {"event_type": "Purchase"})
    assert asked.recommend(None, 1)[0][0] == "bought"


def test_public_surface() -> None:
    assert callable(algorithms.train)
    assert callable(algorithms.load)
