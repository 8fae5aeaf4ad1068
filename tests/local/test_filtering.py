"""The local engine's filter evaluator: reference §6.2 semantics over pyarrow tables."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import personakit as pk
from personakit.local import filtering
from personakit.local.filtering import FilterResult, apply_filter, decode_filter_values
from personakit.rules.filters import Filter, encode_filter_values

ITEMS = pa.table(
    {
        "ITEM_ID": ["i1", "i2", "i3", "i4", "i5", "i6"],
        "GENRES": ["Comedy", "Comedy|Drama", "Horror", "Drama|Horror", None, "Documentary"],
        "PRICE": [5.0, 15.0, 25.0, 35.0, 45.0, None],
        "CATEGORY": ["shoe", "shoe", "shoe", "hat", "hat", "hat"],
        "STYLE": ["boot", "sandal|boot", "sandal", "boot", None, "cap"],
        "IS_VEGETARIAN": ["True", "True", "False", "False", "True", "False"],
        "FOOD_CATEGORY": ["vegetable", "fruit", "meat", "fish", "grain", "meat"],
    }
)
#: i7 is a known item with no Items row (e.g. only seen in interactions)
ALL = ["i1", "i2", "i3", "i4", "i5", "i6", "i7"]
USERS = pa.table(
    {
        "USER_ID": ["u1", "u2", "u3"],
        "AGE": [16, 40, None],
        "MEMBERSHIP": ["premium", "basic", "premium"],
        "IS_VEGETARIAN": [1, 0, 1],
    }
)
HISTORY = pa.table(
    {
        "USER_ID": ["u1", "u1", "u1", "u2"],
        "ITEM_ID": ["i1", "i2", "i3", "i4"],
        "EVENT_TYPE": ["Click", "STREAM", "purchase", "click"],
        "TIMESTAMP": [1, 2, 3, 4],
    }
)


def run(text: str | Filter, values: dict[str, Any] | None = None, **kw: Any) -> FilterResult:
    args: dict[str, Any] = {
        "filter_values": encode_filter_values(values or {}),
        "user_id": "u1",
        "item_id": None,
        "items": ITEMS,
        "users": USERS,
        "user_interactions": HISTORY,
        "all_item_ids": ALL,
    }
    args.update(kw)
    return apply_filter(Filter.parse(text), **args)


def allowed(text: str | Filter, values: dict[str, Any] | None = None, **kw: Any) -> list[str]:
    return run(text, values, **kw).allowed(ALL)


# ---------------------------------------------------------------- IN / NOT IN, multi-value


def test_in_matches_one_of_the_pipe_separated_values() -> None:
    assert allowed('INCLUDE ItemID WHERE Items.GENRES IN ("Drama")') == ["i2", "i4"]
    assert allowed("EXCLUDE ItemID WHERE Items.GENRES IN ($g)", {"g": ["Horror", "Comedy"]}) == [
        "i5",
        "i6",
        "i7",
    ]


def test_in_is_an_exact_case_sensitive_match() -> None:
    assert allowed('INCLUDE ItemID WHERE Items.GENRES IN ("drama", "Dram")') == []


def test_not_in_is_the_negation_of_in_including_items_without_a_value() -> None:
    # i2 has boot among its values; i5 (null) and i7 (no row) have no style at all
    assert allowed('INCLUDE ItemID WHERE Items.STYLE NOT IN ("boot")') == ["i3", "i5", "i6", "i7"]
    # the guide's example: exclude shoes that are not boots
    assert allowed(
        'EXCLUDE ItemID WHERE Items.CATEGORY IN ("shoe") AND Items.STYLE NOT IN ("boot")'
    ) == ["i1", "i2", "i4", "i5", "i6", "i7"]


def test_and_binds_tighter_than_or() -> None:
    text = (
        'INCLUDE ItemID WHERE Items.GENRES IN ("Documentary") OR '
        'Items.CATEGORY IN ("shoe") AND Items.GENRES IN ("Horror")'
    )
    assert allowed(text) == ["i3", "i6"]


# ---------------------------------------------------------------- chaining


def test_chained_excludes_exclude_the_union() -> None:
    text = (
        'EXCLUDE ItemID WHERE Items.GENRES IN ("Comedy") | '
        'EXCLUDE ItemID WHERE Items.CATEGORY IN ("hat")'
    )
    result = run(text)
    assert result.include is None
    assert result.exclude == {"i1", "i2", "i4", "i5", "i6"}
    assert result.allowed(ALL) == ["i3", "i7"]


def test_chained_includes_include_the_union() -> None:
    text = (
        'INCLUDE ItemID WHERE Items.GENRES IN ("Comedy") | '
        'INCLUDE ItemID WHERE Items.GENRES IN ("Horror")'
    )
    assert run(text).include == {"i1", "i2", "i3", "i4"}


def test_includes_minus_excludes_whatever_the_order() -> None:
    a = 'INCLUDE ItemID WHERE Items.GENRES IN ("Comedy")'
    b = 'INCLUDE ItemID WHERE Items.CATEGORY IN ("hat")'
    c = 'EXCLUDE ItemID WHERE Items.GENRES IN ("Drama")'
    d = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")'
    expected = ["i5", "i6"]  # (A ∪ B = i1 i2 i4 i5 i6) − (C ∪ D = i2 i4 ∪ i1)
    assert allowed(" | ".join([a, b, c, d])) == expected
    assert allowed(" | ".join([d, c, b, a])) == expected


# ---------------------------------------------------------------- interactions


def test_event_types_match_case_insensitively_on_this_users_history() -> None:
    text = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")'
    assert run(text).exclude == {"i1", "i2"}  # u2's click on i4 is not u1's
    assert run(text, user_id="u2").exclude == {"i4"}
    assert run(text, user_id=None, user_interactions=None).unrestricted


def test_star_means_any_event_type_and_placeholders_work_too() -> None:
    assert run(Filter.exclude_items_interacted()).exclude == {"i1", "i2", "i3"}
    assert run(Filter.include_items_interacted("$T"), {"T": ["PURCHASE"]}).include == {"i3"}
    assert run('INCLUDE ItemID WHERE Interactions.EVENT_TYPE NOT IN ("click")').include == {
        "i2",
        "i3",
    }


def test_only_the_100_most_recent_interactions_per_event_type_count() -> None:
    n = 105
    history = pa.table(
        {
            "ITEM_ID": [f"old{i}" for i in range(n)] + ["p1"],
            "EVENT_TYPE": ["click"] * n + ["purchase"],
            "TIMESTAMP": [*range(n), 0],
        }
    )
    result = run(Filter.exclude_items_interacted(), user_interactions=history)
    assert len(result.exclude) == 101
    assert {f"old{i}" for i in range(5)}.isdisjoint(result.exclude)  # the 5 oldest clicks
    assert "p1" in result.exclude  # its own event type's budget
    wider = run(
        Filter.exclude_items_interacted(),
        user_interactions=history,
        interactions_per_event_type=200,
    )
    assert len(wider.exclude) == 106


# ---------------------------------------------------------------- IF CurrentUser


def test_if_current_user_applies_the_expression_only_when_true() -> None:
    text = 'INCLUDE ItemID WHERE Items.GENRES IN ("Comedy") IF CurrentUser.AGE > 18'
    assert run(text, user_id="u2").include == {"i1", "i2"}
    assert run(text, user_id="u1").unrestricted  # 16: the expression does not apply
    assert run(text, user_id="u3").unrestricted  # no age
    assert run(text, user_id="nobody").unrestricted
    assert run(text, user_id="u2", users=None).unrestricted


def test_if_compares_strings_for_equality_with_a_placeholder() -> None:
    text = (
        'INCLUDE ItemID WHERE Items.CATEGORY IN ("hat") IF CurrentUser.MEMBERSHIP = $PREMIUM '
        "AND CurrentUser.AGE >= $ADULT"
    )
    values = {"PREMIUM": "premium", "ADULT": 16}
    assert run(text, values, user_id="u1").include == {"i4", "i5", "i6"}
    assert run(text, values, user_id="u2").unrestricted


def test_vegetarian_filters() -> None:
    assert allowed('INCLUDE ItemID WHERE Items.IS_VEGETARIAN IN ("True")') == ["i1", "i2", "i5"]
    per_request = Filter.parse("EXCLUDE ItemID WHERE Items.FOOD_CATEGORY IN ($EXCLUDED)")
    assert run(per_request, {"EXCLUDED": ["meat", "fish"]}).exclude == {"i3", "i4", "i6"}
    for_vegetarians = (
        'EXCLUDE ItemID WHERE Items.FOOD_CATEGORY IN ("meat") IF CurrentUser.IS_VEGETARIAN = 1'
    )
    assert run(for_vegetarians, user_id="u1").exclude == {"i3", "i6"}
    assert run(for_vegetarians, user_id="u2").unrestricted


# ---------------------------------------------------------------- CurrentItem


def test_current_item_compares_with_the_requested_items_values() -> None:
    text = (
        "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE "
        "AND Items.GENRES IN CurrentItem.GENRES"
    )
    assert run(text, item_id="i4").include == {"i2", "i3"}  # cheaper than 35, Drama or Horror
    assert run("INCLUDE ItemID WHERE Items.PRICE >= CurrentItem.PRICE", item_id="i3").include == {
        "i3",
        "i4",
        "i5",
    }
    assert run(text, item_id="i7").include == set()  # no row: nothing compares true
    # a current value that is not a number orders nothing
    assert (
        run("INCLUDE ItemID WHERE Items.PRICE < CurrentItem.GENRES", item_id="i1").include == set()
    )
    with pytest.raises(pk.ValidationError, match="itemId"):
        run(text, item_id=None)


# ---------------------------------------------------------------- placeholders


def test_missing_exclude_parameter_ignores_that_condition() -> None:
    text = (
        "EXCLUDE ItemID WHERE Items.GENRES IN ($G) AND Items.CATEGORY IN ($C) "
        "| EXCLUDE ItemID WHERE Items.PRICE > $MAX"
    )
    assert run(text, {"G": ["Horror"], "C": ["shoe"]}).exclude == {"i3"}
    assert run(text, {"G": ["Horror"]}).exclude == {"i3", "i4"}
    assert run(text, {"MAX": 30}).exclude == {"i4", "i5"}
    assert run(text).unrestricted
    # a missing IF placeholder ignores the whole expression
    assert run(
        'EXCLUDE ItemID WHERE Items.GENRES IN ("Horror") IF CurrentUser.AGE > $AGE'
    ).unrestricted


def test_missing_include_parameter_is_an_invalid_input() -> None:
    with pytest.raises(pk.ValidationError, match=r"\$PRICE"):
        run("INCLUDE ItemID WHERE Items.PRICE <= $PRICE | EXCLUDE ItemID WHERE Items.G IN ($G)")


def test_numeric_comparison_with_a_placeholder() -> None:
    text = "INCLUDE ItemID WHERE Items.PRICE <= $PRICE"
    assert run(text, {"PRICE": 25}).include == {"i1", "i2", "i3"}
    assert run(text, {"PRICE": "15.5"}).include == {"i1", "i2"}  # a quoted number works too
    assert run(text, filter_values={"PRICE": "5"}).include == {"i1"}
    with pytest.raises(pk.ValidationError, match="not a number"):
        run(text, {"PRICE": "cheap"})
    with pytest.raises(pk.ValidationError, match="exactly one value"):
        run(text, {"PRICE": [1, 2]})


def test_numbers_stored_as_strings_and_timestamps_compare_numerically() -> None:
    items = pa.table(
        {
            "ITEM_ID": ["a", "b", "c"],
            "YEAR": ["1999", "2005", "n/a"],
            "CREATED": pa.array([0, 86_400 * 365, None], pa.timestamp("s")),
        }
    )
    assert run(
        "INCLUDE ItemID WHERE Items.YEAR > 2000", items=items, all_item_ids=["a", "b", "c"]
    ).include == {"b"}
    assert run(
        "INCLUDE ItemID WHERE Items.CREATED < $DATE",
        {"DATE": 86_400},
        items=items,
        all_item_ids=["a", "b", "c"],
    ).include == {"a"}


# ---------------------------------------------------------------- user segments, errors


def test_user_id_target_filters_users() -> None:
    users = ["u1", "u2", "u3"]
    kw: dict[str, Any] = {"target": "UserID", "all_item_ids": users, "user_id": None}
    assert run("EXCLUDE UserID WHERE Users.AGE < $AGE", {"AGE": 18}, **kw).exclude == {"u1"}
    assert run(
        "INCLUDE UserID WHERE Users.MEMBERSHIP IN ($M)", {"M": ["premium"]}, **kw
    ).include == {"u1", "u3"}
    assert run('INCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("CLICK")', **kw).include == {
        "u1",
        "u2",
    }


def test_filter_for_another_target_or_missing_data_is_rejected() -> None:
    with pytest.raises(pk.ValidationError, match="UserID"):
        run("EXCLUDE UserID WHERE Users.AGE < 3")
    with pytest.raises(pk.ValidationError, match="no Items data"):
        run('EXCLUDE ItemID WHERE Items.GENRES IN ("x")', items=None)
    with pytest.raises(pk.ValidationError, match="no such column"):
        run('EXCLUDE ItemID WHERE Items.COLOR IN ("x")')
    with pytest.raises(pk.ValidationError, match="filter-mixed-datasets"):
        run('EXCLUDE ItemID WHERE Items.G IN ("x") AND Interactions.EVENT_TYPE IN ("y")')


# ---------------------------------------------------------------- result helpers


def test_result_helpers_agree_and_an_empty_include_means_nothing() -> None:
    result = run(
        'INCLUDE ItemID WHERE Items.GENRES IN ("Comedy") | '
        'EXCLUDE ItemID WHERE Items.GENRES IN ("Drama")'
    )
    assert result.allowed(ALL) == ["i1"]
    assert result.mask(ALL).tolist() == [c in result for c in ALL]
    assert result.mask(pa.array(ALL)).tolist() == [True] + [False] * 6
    nothing = run('INCLUDE ItemID WHERE Items.GENRES IN ("Western")')
    assert nothing.include == frozenset()
    assert nothing.allowed(ALL) == []
    assert not nothing.mask(ALL).any()


def test_decode_is_the_inverse_of_the_encoding() -> None:
    values = {"GENRES": ["comedy", "sci-fi (old)", "a|b", " x "], "PRICE": [20]}
    assert decode_filter_values(encode_filter_values(values)) == {
        "GENRES": ["comedy", "sci-fi (old)", "a|b", " x "],
        "PRICE": ["20"],
    }
    # what personakit refuses to encode, the engine refuses to decode
    for value in ('say "hi"', "a,b", "a\\b"):
        with pytest.raises(pk.ValidationError):
            encode_filter_values({"G": value})
    for wire in ('"say \\"hi\\""', '"a,b"', '"a\\b"'):
        with pytest.raises(pk.ValidationError):
            decode_filter_values({"G": wire})
        with pytest.raises(pk.ValidationError):
            run("EXCLUDE ItemID WHERE Items.GENRES IN ($G)", filter_values={"G": wire})


# ---------------------------------------------------------------- speed


def test_filters_over_100k_items_split_multi_value_columns_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Speed is a benchmark's business; here: right answers at scale, and the
    # derived arrays (ids, "|"-splits) built once per table, not per call.
    n = 100_000
    rng = np.random.default_rng(7)
    combos = np.array(["Action", "Comedy|Drama", "Horror", "Drama|Horror|Thriller", "Romance"])
    ids = [f"i{i}" for i in range(n)]
    genres = combos[rng.integers(0, len(combos), n)]
    prices = rng.uniform(0, 100, n)
    items = pa.table({"ITEM_ID": ids, "GENRES": genres, "PRICE": prices})

    builds: list[Any] = []

    class Counting(filtering._TableCache):
        def get(self, table: pa.Table, key: Any, build: Any) -> Any:
            def counted() -> Any:
                builds.append(key)
                return build()

            return super().get(table, key, counted)

    monkeypatch.setattr(filtering, "_CACHE", Counting())
    cases = [
        (Filter.exclude_items("Items.GENRES IN ($g)"), {"g": ["Horror"]}),
        (Filter.include_items("Items.PRICE <= $P"), {"P": 50}),
    ]
    expected = [
        [i for i, g in zip(ids, genres, strict=True) if "Horror" not in g.split("|")],
        [i for i, price in zip(ids, prices, strict=True) if price <= 50],
    ]
    for (flt, values), want in zip(cases, expected, strict=True):
        kw: dict[str, Any] = {"items": items, "all_item_ids": ids}
        assert run(flt, values, **kw).allowed(ids) == want
        built = len(builds)
        for _ in range(3):
            assert run(flt, values, **kw).allowed(ids) == want
        assert len(builds) == built, builds  # later calls reuse the cached arrays
    assert builds  # the first calls did build them


def test_a_users_rows_come_from_an_index_in_table_order() -> None:
    from personakit.local.filtering import rows_of_user

    table = pa.table(
        {
            "USER_ID": ["b", "a", None, "b", "a", "b"],
            "ITEM_ID": ["i1", "i2", "i3", "i4", "i5", "i6"],
        }
    )
    assert rows_of_user(table, "b").column("ITEM_ID").to_pylist() == ["i1", "i4", "i6"]
    assert rows_of_user(table, "a").column("ITEM_ID").to_pylist() == ["i2", "i5"]
    assert rows_of_user(table, "nobody").num_rows == 0
    other = pa.table({"USER_ID": ["b"], "ITEM_ID": ["new"]})  # another table: its own index
    assert rows_of_user(other, "b").column("ITEM_ID").to_pylist() == ["new"]
