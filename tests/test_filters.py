"""Filter expressions: parser, canonical printing, builders, the §6.2 rules, filterValues."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import personakit as pk
from personakit.rules.filters import (
    Condition,
    Expression,
    Filter,
    FilterSyntaxError,
    decode_filter_values,
    encode_filter_values,
)
from personakit.rules.schema import DatasetType, Field, Schema

# ---------------------------------------------------------------- reference §6.4 examples

EXAMPLES = [
    'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")',
    "EXCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)",
    "INCLUDE ItemID WHERE Items.PRICE <= $PRICE",
    "INCLUDE ItemID WHERE Items.CREATION_TIMESTAMP < $DATE",
    "EXCLUDE ItemID WHERE Items.GENRE IN ($GENRE) IF CurrentUser.AGE = $AGE",
    'INCLUDE ItemID WHERE Items.CATEGORY IN ("watch") AND Items.DESCRIPTION IN ("luxury") '
    "IF CurrentUser.AGE > 18",
    "INCLUDE ItemID WHERE Items.GENRE IN ($GENRE) | "
    'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")',
    "INCLUDE UserID WHERE Users.MEMBERSHIP_STATUS IN ($MEMBERSHIP)",
    "EXCLUDE UserID WHERE Users.AGE < $AGE",
    # the vegetarian cases
    'INCLUDE ItemID WHERE Items.IS_VEGETARIAN IN ("True")',
    "EXCLUDE ItemID WHERE Items.FOOD_CATEGORY IN ($EXCLUDED_CATEGORIES)",
    'EXCLUDE ItemID WHERE Items.FOOD_CATEGORY IN ("meat") IF CurrentUser.IS_VEGETARIAN = 1',
    # current guide: related items, and any event type
    "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.GENRE IN CurrentItem.GENRE",
    'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")',
    'EXCLUDE ItemID WHERE Items.CATEGORY_L1 IN ("shoe") AND Items.CATEGORY_L2 NOT IN ("boot")',
]


def schemas() -> dict[str, Schema]:
    """Schemas holding every field the reference examples use."""
    cat = {"categorical": True}
    items = Schema(
        DatasetType.ITEMS,
        [
            Field("ITEM_ID", "string"),
            Field("CATEGORY", "string", **cat),
            Field("CATEGORY_L1", "string", **cat),
            Field("CATEGORY_L2", "string", **cat),
            Field("DESCRIPTION", "string", **cat),
            Field("GENRE", "string", **cat),
            Field("PRICE", "float"),
            Field("CREATION_TIMESTAMP", "long"),
            Field("IS_VEGETARIAN", "string", **cat),
            Field("FOOD_CATEGORY", "string", **cat),
            Field("SUMMARY", "string", textual=True),
            Field("IN_STOCK", "boolean"),
        ],
    )
    users = Schema(
        DatasetType.USERS,
        [
            Field("USER_ID", "string"),
            Field("AGE", "int"),
            Field("MEMBERSHIP_STATUS", "string", **cat),
            Field("IS_VEGETARIAN", "int"),
        ],
    )
    interactions = Schema(
        DatasetType.INTERACTIONS,
        [
            Field("USER_ID", "string"),
            Field("ITEM_ID", "string"),
            Field("TIMESTAMP", "long"),
            Field("EVENT_TYPE", "string"),
        ],
    )
    return {"Items": items, "users": users, "INTERACTIONS": interactions}


@pytest.mark.parametrize("text", EXAMPLES)
def test_reference_examples_parse_print_back_identically_and_validate(text: str) -> None:
    flt = Filter.parse(text)
    assert str(flt) == text
    assert flt.expression == text
    assert Filter.parse(flt.expression) == flt
    report = flt.validate(schemas())
    assert report.ok, str(report)
    # only the related-items example draws a warning (CurrentItem)
    assert report.rules() <= {"filter-current-item"}


def test_example_ast_is_what_the_text_says() -> None:
    flt = Filter.parse(EXAMPLES[5])
    (expr,) = flt.expressions
    assert expr == Expression(
        "INCLUDE",
        "ItemID",
        [
            Condition("Items", "CATEGORY", "IN", ["watch"]),
            Condition("Items", "DESCRIPTION", "IN", ["luxury"]),
        ],
        ["AND"],
        [Condition("CurrentUser", "AGE", ">", [18])],
    )


def test_vegetarian_filters_bind_request_values() -> None:
    static = Filter.parse('INCLUDE ItemID WHERE Items.IS_VEGETARIAN IN ("True")')
    assert static.parameters == ()
    assert static.bind() == {}
    per_request = Filter.parse("EXCLUDE ItemID WHERE Items.FOOD_CATEGORY IN ($EXCLUDED_CATEGORIES)")
    assert per_request.bind(EXCLUDED_CATEGORIES=["meat", "fish"]) == {
        "EXCLUDED_CATEGORIES": '"meat","fish"'
    }
    # an EXCLUDE placeholder may be left out: that part of the filter is then ignored
    assert per_request.bind() == {}
    only_vegetarians = Filter.parse(EXAMPLES[11])
    assert only_vegetarians.expressions[0].if_conditions == (
        Condition("CurrentUser", "IS_VEGETARIAN", "=", [1]),
    )


def test_booleans_cannot_be_filtered_so_vegetarian_must_be_categorical() -> None:
    s = schemas()
    s["Items"] = Schema(
        DatasetType.ITEMS, [Field("ITEM_ID", "string"), Field("IS_VEGETARIAN", "boolean")]
    )
    report = Filter.parse(EXAMPLES[9]).validate(s)
    assert "filter-field-boolean" in report.rules()
    (problem,) = [p for p in report.errors if p.rule == "filter-field-boolean"]
    assert problem.fix is not None
    assert "categorical" in problem.fix


# ---------------------------------------------------------------- canonical forms


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        (
            'exclude itemid where INTERACTIONS.EVENT_TYPE in ("Purchase")',
            'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("Purchase")',
        ),
        (
            "INCLUDE ActionID WHERE Actions.VALUE > ($VALUE)",
            "INCLUDE ActionID WHERE Actions.VALUE > $VALUE",
        ),
        (
            "INCLUDE ItemID WHERE Items.GENRE IN (CurrentItem.GENRE)",
            "INCLUDE ItemID WHERE Items.GENRE IN CurrentItem.GENRE",
        ),
        (
            'INCLUDE  ItemID\nWHERE Items.A IN ("x","y")   OR Items.B not   in ("z")',
            'INCLUDE ItemID WHERE Items.A IN ("x", "y") OR Items.B NOT IN ("z")',
        ),
        (
            'EXCLUDE ItemID WHERE Items.T IN ("say \\"hi\\"", "back\\\\slash")',
            'EXCLUDE ItemID WHERE Items.T IN ("say \\"hi\\"", "back\\\\slash")',
        ),
    ],
)
def test_spellings_normalise_to_the_documented_canonical_text(text: str, canonical: str) -> None:
    assert Filter.parse(text).expression == canonical


def test_string_literals_unescape() -> None:
    cond = Filter.parse(EXAMPLES[0].replace('"click"', '"cl\\"ick"')).expressions[0].conditions[0]
    assert cond.values == ('cl"ick', "stream")


# ---------------------------------------------------------------- hypothesis round trip

_idents = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
_params = st.from_regex(r"[A-Za-z0-9_]{1,10}", fullmatch=True)
_datasets = st.one_of(
    st.sampled_from(["Items", "Interactions", "Users", "Actions", "Action_Interactions"]), _idents
)
_numbers = st.one_of(
    st.integers(-(10**15), 10**15), st.floats(allow_nan=False, allow_infinity=False)
)
_literals = st.one_of(st.text(max_size=12), _numbers)


@st.composite
def _conditions(draw: st.DrawFn, dataset: st.SearchStrategy[str] = _datasets) -> Condition:
    ds, field = draw(dataset), draw(_idents)
    op = draw(st.sampled_from(["IN", "NOT IN", "=", "!=", "<", "<=", ">", ">="]))
    form = draw(st.sampled_from(["values", "param", "current_item"]))
    if form == "param":
        return Condition(ds, field, op, param=draw(_params))
    if form == "current_item":
        return Condition(ds, field, op, current_item=draw(_idents))
    if op in ("IN", "NOT IN"):
        return Condition(ds, field, op, draw(st.lists(_literals, min_size=1, max_size=4)))
    return Condition(ds, field, op, [draw(_numbers)])


@st.composite
def _expressions(draw: st.DrawFn) -> Expression:
    conditions = draw(st.lists(_conditions(), min_size=1, max_size=4))
    connectors = draw(
        st.lists(
            st.sampled_from(["AND", "OR"]),
            min_size=len(conditions) - 1,
            max_size=len(conditions) - 1,
        )
    )
    if_conditions = draw(st.lists(_conditions(st.just("CurrentUser") | _datasets), max_size=3))
    return Expression(
        draw(st.sampled_from(["INCLUDE", "EXCLUDE"])),
        draw(st.sampled_from(["ItemID", "UserID", "ActionID"])),
        conditions,
        connectors,
        if_conditions,
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(_expressions(), min_size=1, max_size=3))
def test_parse_of_printed_ast_is_the_same_ast(expressions: list[Expression]) -> None:
    flt = Filter(expressions)
    assert Filter.parse(str(flt)) == flt
    assert Filter.parse(str(flt)).expression == flt.expression


# ---------------------------------------------------------------- syntax errors


@pytest.mark.parametrize(
    ("text", "position", "expected_words", "rule"),
    [
        ("EXCLUDE ItemID WHERE Items.GENRES INN ($g)", 34, "IN, NOT IN or a comparison", None),
        ("EXCLUDE ItemIDs WHERE Items.G IN ($g)", 8, "ItemID, UserID or ActionID", None),
        ("INCLUDE ItemID Items.G IN ($g)", 15, "WHERE", None),
        ('INCLUDE ItemID WHERE Items.G IN ("a"', 36, "',' or ')'", None),
        ('INCLUDE ItemID WHERE Items.G IN ("a', 33, "closing double quote", None),
        ('INCLUDE ItemID WHERE Items.PRICE < "10"', 35, "a number", None),
        ("INCLUDE ItemID WHERE GENRES IN ($g)", 28, "'.'", None),
        ("", 0, "INCLUDE or EXCLUDE", None),
        ("INCLUDE ItemID WHERE Items.G IN ($A, $B)", 35, "')'", "filter-comma-parameters"),
        ('INCLUDE ItemID WHERE Items.G IN ("a", $B)', 38, "value", "filter-comma-parameters"),
        (
            'INCLUDE ItemID WHERE Items.G IN ("a") IF CurrentUser.A > 1 IF CurrentUser.B = 2',
            59,
            "AND",
            "filter-if-once",
        ),
        (
            'INCLUDE ItemID WHERE Items.G IN ("a") IF CurrentUser.A > 1 OR CurrentUser.B = 2',
            59,
            "AND",
            "filter-if-once",
        ),
    ],
)
def test_syntax_errors_say_where_and_what_was_expected(
    text: str, position: int, expected_words: str, rule: str | None
) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        Filter.parse(text)
    err = info.value
    assert isinstance(err, pk.ValidationError)
    assert err.position == position
    assert expected_words in err.expected
    assert f"position {position}" in str(err)
    assert err.problems[0].rule == (rule or "filter-syntax")


# ---------------------------------------------------------------- builders


def test_builders_read_like_the_design_journey() -> None:
    assert (
        Filter.exclude_items("Items.GENRES IN ($genres)").expression
        == "EXCLUDE ItemID WHERE Items.GENRES IN ($genres)"
    )
    assert (
        Filter.include_items("Items.PRICE <= $PRICE").when_user("AGE", ">", 18).expression
        == "INCLUDE ItemID WHERE Items.PRICE <= $PRICE IF CurrentUser.AGE > 18"
    )
    assert (
        Filter.exclude_items_interacted(event_types=("click", "stream")).expression == EXAMPLES[0]
    )
    assert (
        Filter.include_items_interacted().expression
        == 'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")'
    )
    assert (
        Filter.exclude_items_interacted("$EVENT_TYPE").expression
        == "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ($EVENT_TYPE)"
    )
    assert (
        Filter.include_users("Users.MEMBERSHIP_STATUS IN ($MEMBERSHIP)").expression == EXAMPLES[7]
    )
    assert Filter.exclude_users("Users.AGE < $AGE").expression == EXAMPLES[8]
    chained = Filter.include_items("Items.GENRE IN ($GENRE)") | Filter.exclude_items_interacted(
        ("click", "stream")
    )
    assert chained.expression == EXAMPLES[6]
    assert Filter("INCLUDE ItemID WHERE Items.GENRE IN ($GENRE)") | EXAMPLES[0] == chained
    assert "INCLUDE ItemID WHERE Items.GENRE IN ($GENRE)" | Filter(EXAMPLES[0]) == chained


def test_when_user_extends_the_if_clause_of_the_last_expression() -> None:
    flt = (
        Filter.exclude_items("Items.NUMBER_OF_DOWNLOADS < 20")
        .when_user("AGE", ">", 18)
        .when_user("AGE", "<", 30)
    )
    assert flt.expression == (
        "EXCLUDE ItemID WHERE Items.NUMBER_OF_DOWNLOADS < 20 "
        "IF CurrentUser.AGE > 18 AND CurrentUser.AGE < 30"
    )
    assert (
        Filter.include_actions('Actions.MEMBERSHIP_LEVEL IN ("Premium")')
        .when_user("MEMBERSHIP", "=", "$PREMIUM")
        .expression
        == 'INCLUDE ActionID WHERE Actions.MEMBERSHIP_LEVEL IN ("Premium") '
        "IF CurrentUser.MEMBERSHIP = $PREMIUM"
    )


def test_builders_take_condition_objects() -> None:
    flt = Filter.include_items(
        [
            Condition("Items", "GENRE", "IN", ["drama"]),
            Condition("Items", "PRICE", "<", [20]),
        ]
    )
    assert flt.expression == 'INCLUDE ItemID WHERE Items.GENRE IN ("drama") AND Items.PRICE < 20'
    assert Condition.parse("Items.PRICE < 20") == flt.expressions[0].conditions[1]


@pytest.mark.parametrize(
    "make",
    [
        lambda: Condition("Items", "PRICE", "<", ["cheap"]),  # comparisons are numeric
        lambda: Condition("Items", "G", "IN"),  # no operand
        lambda: Condition("Items", "G", "IN", ["a"], param="P"),  # two operands
        lambda: Condition("Items", "G", "IN", param="A,B"),
        lambda: Condition("Items", "G", "LIKE", ["a"]),
        lambda: Condition("Items", "G", "IN", [True]),
        lambda: Expression("INCLUDE", "ItemID", []),
        lambda: Expression("KEEP", "ItemID", [Condition("Items", "G", "IN", ["a"])]),
        lambda: Filter(()),
    ],
)
def test_ast_rejects_what_cannot_be_printed(make: Any) -> None:
    with pytest.raises(pk.ValidationError):
        make()


def test_parameters_are_ordered_case_sensitive_and_split_by_action() -> None:
    flt = Filter.parse(
        "INCLUDE ItemID WHERE Items.GENRE IN ($genre) AND Items.PRICE <= $Price "
        "| EXCLUDE ItemID WHERE Items.GENRE IN ($GENRE) IF CurrentUser.AGE < $price"
    )
    assert flt.parameters == ("genre", "Price", "GENRE", "price")
    assert flt.include_parameters == {"genre", "Price"}
    assert flt.exclude_parameters == {"GENRE", "price"}


# ---------------------------------------------------------------- validation rules


def rules_of(text: str, **kw: Any) -> set[str]:
    return Filter.parse(text).validate(**kw).rules()


@pytest.mark.parametrize(
    ("text", "rule", "severity"),
    [
        (
            'INCLUDE ItemID WHERE Items.GENRE IN ("drama") '
            'AND Interactions.EVENT_TYPE IN ("click")',
            "filter-mixed-datasets",
            "error",
        ),
        ("INCLUDE ItemID WHERE CurrentUser.AGE > 18", "filter-if-current-user", "error"),
        (
            'INCLUDE ItemID WHERE Items.G IN ("a") IF Items.PRICE > 18',
            "filter-if-current-user",
            "error",
        ),
        ('INCLUDE ItemID WHERE Items.GENRE IN ("*")', "filter-star", "error"),
        (
            "INCLUDE ItemID WHERE Interactions.EVENT_TYPE NOT IN ($TYPES)",
            "filter-placeholder-operator",
            "error",
        ),
        ("EXCLUDE ItemID WHERE Items.G IN ($" + "P" * 51 + ")", "filter-parameter-name", "error"),
        (
            "EXCLUDE ItemID WHERE Interactions.EVENT_VALUE > 3",
            "filter-interactions-event-type",
            "error",
        ),
        ("EXCLUDE ItemID WHERE Item.GENRES IN ($g)", "filter-dataset-unknown", "error"),
        ('EXCLUDE ItemID WHERE CurrentItem.GENRES IN ("a")', "filter-dataset-unknown", "error"),
        ("EXCLUDE ItemID WHERE Users.AGE > 3", "filter-dataset-target", "warning"),
        (
            'EXCLUDE ItemID WHERE Items.G IN ("a") | EXCLUDE UserID WHERE Users.AGE > 3',
            "filter-mixed-targets",
            "warning",
        ),
        ("EXCLUDE ItemID WHERE Items.YEAR IN (1999)", "filter-unquoted-value", "warning"),
        ("INCLUDE ItemID WHERE Items.GENRE IN CurrentItem.GENRE", "filter-current-item", "warning"),
    ],
)
def test_every_rule_fires_with_its_id(text: str, rule: str, severity: str) -> None:
    report = Filter.parse(text).validate()
    fired = [p for p in report.problems if p.rule == rule]
    assert fired, str(report)
    assert fired[0].severity == severity
    assert report.ok is (severity == "warning" and not report.errors)


def test_mixing_items_and_interactions_suggests_chaining_with_a_pipe() -> None:
    report = Filter.parse(
        'INCLUDE ItemID WHERE Items.GENRE IN ("drama") OR Interactions.EVENT_TYPE IN ("click")'
    ).validate()
    (problem,) = report.errors
    assert problem.fix is not None
    assert " | " in problem.fix


def test_length_limit_is_2500_characters() -> None:
    values = ", ".join(f'"genre{i:04d}"' for i in range(240))
    text = f"EXCLUDE ItemID WHERE Items.GENRE IN ({values})"
    assert len(text) > 2500
    assert "filter-too-long" in rules_of(text)
    assert "filter-too-long" not in rules_of(text[: text.index(", ", 2300)] + ")")


def test_at_most_ten_distinct_fields_across_chained_expressions() -> None:
    parts = [f'EXCLUDE ItemID WHERE Items.F{i} IN ("x")' for i in range(10)]
    assert "filter-too-many-fields" not in rules_of(" | ".join(parts))
    # the same field twice counts once; an IF field and a CurrentItem field count
    assert "filter-too-many-fields" not in rules_of(" | ".join([*parts, parts[0]]))
    assert "filter-too-many-fields" in rules_of(" | ".join(parts) + " IF CurrentUser.AGE > 1")
    assert "filter-too-many-fields" in rules_of(
        " | ".join(parts) + " | INCLUDE ItemID WHERE Items.F0 IN CurrentItem.OTHER"
    )


def test_at_most_25_placeholders() -> None:
    text = " | ".join(f"EXCLUDE ItemID WHERE Items.F IN ($P{i})" for i in range(26))
    assert "filter-too-many-parameters" in rules_of(text)
    assert "filter-too-many-parameters" not in rules_of(text.rsplit(" | ", 1)[0])


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ('EXCLUDE ItemID WHERE Items.GENRES IN ("a")', "filter-field-unknown"),
        ('EXCLUDE ItemID WHERE Items.SUMMARY IN ("a")', "filter-field-textual"),
        ('EXCLUDE ItemID WHERE Items.IN_STOCK IN ("True")', "filter-field-boolean"),
        ("EXCLUDE ItemID WHERE Items.CATEGORY < 3", "filter-comparison-numeric"),
        ("EXCLUDE ItemID WHERE Items.GENRE IN CurrentItem.SUMMARY", "filter-field-textual"),
        ("EXCLUDE ItemID WHERE Items.PRICE > 1 IF CurrentUser.HEIGHT > 3", "filter-field-unknown"),
        ('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("a")', "filter-field-unknown"),
    ],
)
def test_schema_rules_fire_with_their_ids(text: str, rule: str) -> None:
    s = schemas()
    s["Interactions"] = Schema(
        DatasetType.INTERACTIONS,
        [Field("USER_ID", "string"), Field("ITEM_ID", "string"), Field("TIMESTAMP", "long")],
    )
    del s["INTERACTIONS"]
    report = Filter.parse(text).validate(s)
    assert rule in {p.rule for p in report.errors}, str(report)


def test_unknown_field_suggests_the_close_name() -> None:
    report = Filter.parse('EXCLUDE ItemID WHERE Items.GENRES IN ("a")').validate(schemas())
    (problem,) = report.errors
    assert problem.fix == "did you mean GENRE?"


def test_missing_schema_is_a_warning_and_field_case_is_ignored() -> None:
    report = Filter.parse('EXCLUDE ItemID WHERE Items.genre IN ("a")').validate(
        [schemas()["Items"]]
    )
    assert report.ok
    report = Filter.parse("EXCLUDE UserID WHERE Users.AGE > 3").validate([schemas()["Items"]])
    assert report.rules() == {"filter-schema-missing"}


# ---------------------------------------------------------------- filterValues


def test_documented_encoding_of_a_list_of_strings() -> None:
    assert encode_filter_values({"GENRES": ["comedy", "drama", "horror"]}) == {
        "GENRES": '"comedy","drama","horror"'
    }
    assert decode_filter_values({"GENRES": '"comedy","drama","horror"'}) == {
        "GENRES": ["comedy", "drama", "horror"]
    }


def test_encoding_of_scalars() -> None:
    assert encode_filter_values(
        {
            "ONE": "comedy",
            "PRICE": 20,
            "RATIO": 0.5,
            "FLAG": True,
            "SET": {"b", "a"},
            "WHEN": datetime(2024, 1, 1, tzinfo=timezone.utc),
            "DAY": date(2024, 1, 1),
            "QUOTE": 'say "hi" \\o/',
            "ALREADY": '"comedy","drama"',
            "NOTHING": None,
            "EMPTY": [],
        }
    ) == {
        "ONE": '"comedy"',
        "PRICE": "20",
        "RATIO": "0.5",
        "FLAG": '"True"',
        "SET": '"a","b"',
        "WHEN": "1704067200",
        "DAY": "1704067200",
        "QUOTE": '"say \\"hi\\" \\\\o/"',
        "ALREADY": '"comedy","drama"',
    }


def test_encoding_limits_all_reported_at_once() -> None:
    with pytest.raises(pk.ValidationError) as info:
        encode_filter_values(
            {
                "bad-key": "x",
                "K" * 51: "x",
                "LONG": ["x" * 500, "y" * 500],
                "OBJ": [object()],
            }
        )
    assert {p.rule for p in info.value.problems} == {
        "filter-values-key",
        "filter-values-too-long",
        "filter-values-type",
    }
    with pytest.raises(pk.ValidationError, match="at most 25"):
        encode_filter_values({f"P{i}": "x" for i in range(26)})
    assert len(encode_filter_values({f"P{i}": "x" for i in range(25)})) == 25


_keys = st.from_regex(r"[A-Za-z0-9_]{1,50}", fullmatch=True)
_items = st.one_of(st.text(max_size=15), st.integers(-(10**9), 10**9))
_value = st.one_of(
    st.lists(_items, min_size=1, max_size=5),
    st.text(max_size=30).filter(lambda s: not s.lstrip().startswith('"')),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
)


def _expected(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [v if isinstance(v, str) else repr(v) for v in items]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_keys, _value, max_size=25))
def test_decode_of_encode_gives_the_values_back(values: dict[str, Any]) -> None:
    assert decode_filter_values(encode_filter_values(values)) == {
        k: _expected(v) for k, v in values.items()
    }


@pytest.mark.parametrize("bad", ['"unterminated', '"a" "b"', '"a",', 'a"b'])
def test_decode_rejects_malformed_values(bad: str) -> None:
    with pytest.raises(pk.ValidationError):
        decode_filter_values({"X": bad})


def test_bind_requires_include_parameters_and_knows_their_kind() -> None:
    flt = Filter.parse(
        "INCLUDE ItemID WHERE Items.GENRE IN ($GENRE) AND Items.PRICE <= $PRICE "
        "| EXCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)"
    )
    assert flt.bind(GENRE=["drama", 1999], PRICE="20", CATEGORY=[]) == {
        "GENRE": '"drama","1999"',  # IN values are strings
        "PRICE": "20",  # comparison values are bare numbers
    }
    with pytest.raises(pk.ValidationError) as info:
        flt.bind(GENRE=["drama"])
    (problem,) = info.value.problems
    assert (problem.rule, problem.column) == ("filter-missing-parameter", "PRICE")


def test_bind_rejects_unknown_names_with_a_case_hint() -> None:
    flt = Filter.exclude_items("Items.GENRES IN ($genres)")
    with pytest.raises(pk.ValidationError) as info:
        flt.bind({"GENRES": ["Horror"]})
    (problem,) = info.value.problems
    assert problem.rule == "filter-unknown-parameter"
    assert "did you mean 'genres'" in problem.message
    # parameter names that are not Python identifiers go in the positional mapping
    assert Filter.exclude_items("Items.G IN ($1st)").bind({"1st": "x"}) == {"1st": '"x"'}
