"""Filter expressions: parser, canonical printing, builders, the §6.2 rules, filterValues."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import personakit as pk
from personakit.personalize.batch import segment_lines
from personakit.rules.filters import (
    MAX_GROUP_FILTER_FIELDS,
    Condition,
    Expression,
    Filter,
    FilterSyntaxError,
    decode_filter_values,
    encode_filter_values,
    group_field_problems,
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
            "DEC": Decimal("2.50"),
            "BIG": Decimal("1E+3"),
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
        "DEC": "2.5",
        "BIG": "1000",
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
#: Any text a value can carry: everything but a quote, a comma, a backslash and surrogates.
_safe_text = st.text(
    alphabet=st.characters(blacklist_characters='",\\', blacklist_categories=("Cs",)),
    max_size=30,
)
_items = st.one_of(_safe_text, st.integers(-(10**9), 10**9))
_value = st.one_of(
    st.lists(_items, min_size=1, max_size=5),
    _safe_text,
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


@pytest.mark.parametrize(
    "bad", ['"unterminated', '"a" "b"', '"a",', 'a"b', '"a\\",\\"b"', '"a,b"', "a\\b"]
)
def test_decode_rejects_malformed_values(bad: str) -> None:
    with pytest.raises(pk.ValidationError):
        decode_filter_values({"X": bad})


def test_bind_requires_include_parameters_and_knows_their_kind() -> None:
    flt = Filter.parse(
        "INCLUDE ItemID WHERE Items.GENRE IN ($GENRE) AND Items.PRICE <= $PRICE "
        "| EXCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)"
    )
    assert flt.bind(GENRE=["drama", 1999], PRICE=20, CATEGORY=[]) == {
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


# ---------------------------------------------------------------- untrusted values (issue H)

OWNER = Filter.include_items("Items.OWNER IN ($owner)")
PRICE = Filter.include_items("Items.PRICE <= $PRICE")


@pytest.mark.parametrize(
    "value",
    [
        '"alice","bob"',  # the measured case: one value that looked like two
        '"alice"',
        'alice","bob',
        "alice,bob",
        "alice\\",
        'alice\\","bob',
        "ali\ud800ce",  # a lone surrogate cannot be sent at all
    ],
)
def test_a_string_that_cannot_be_one_value_is_refused_never_passed_through(value: str) -> None:
    for encode in (lambda: OWNER.bind(owner=value), lambda: encode_filter_values({"owner": value})):
        with pytest.raises(pk.ValidationError) as info:
            encode()
        (problem,) = info.value.problems
        assert problem.rule == "filter-values-character"
        assert problem.column == "owner"
        assert "$owner" in problem.message
        assert repr(value)[:20] in problem.message or "surrogate" in problem.message


def test_a_str_is_one_value_and_a_list_is_several() -> None:
    assert OWNER.bind(owner="alice") == {"owner": '"alice"'}
    assert OWNER.bind(owner="alice OR 1=1") == {"owner": '"alice OR 1=1"'}
    assert OWNER.bind(owner="alice) | INCLUDE ItemID WHERE Items.OWNER IN (bob") == {
        "owner": '"alice) | INCLUDE ItemID WHERE Items.OWNER IN (bob"'
    }
    assert OWNER.bind(owner=["alice", "bob"]) == {"owner": '"alice","bob"'}
    assert OWNER.bind(owner=("bob",)) == {"owner": '"bob"'}
    # what is sent decodes to exactly the values given, one per str
    for value in ("alice OR 1=1", "$bob", "'); DROP", "x|y", " padded "):
        assert decode_filter_values(OWNER.bind(owner=value)) == {"owner": [value]}


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("1 OR 1=1", TypeError),
        ("1e999", TypeError),
        ("20", TypeError),  # no str at all: nothing to parse, nothing to pass through
        ([1, 2], TypeError),
        ((5,), TypeError),
        (True, TypeError),
        (b"1", TypeError),
        ({"a": 1}, TypeError),
        (None, None),  # an INCLUDE placeholder without a value
        (float("inf"), pk.ValidationError),
        (float("-inf"), pk.ValidationError),
        (float("nan"), pk.ValidationError),
        (Decimal("Infinity"), pk.ValidationError),
        (Decimal("NaN"), pk.ValidationError),
        (Decimal("sNaN"), pk.ValidationError),
        (Decimal("1e999"), pk.ValidationError),
        (10**400, pk.ValidationError),
        # beyond Python's int-to-str digit limit (so no repr in the test id either)
        pytest.param(-(10**5000), pk.ValidationError, id="minus-10**5000"),
    ],
)
def test_numeric_placeholders_take_finite_numbers_only(value: Any, error: Any) -> None:
    with pytest.raises(error or pk.ValidationError) as info:
        PRICE.bind(PRICE=value)
    if error is TypeError:
        assert "$PRICE" in str(info.value)
        assert "Items.PRICE <=" in str(info.value)
    elif error is pk.ValidationError:
        (problem,) = info.value.problems
        assert (problem.rule, problem.column) == ("filter-values-number", "PRICE")
        assert "not a finite number" in problem.message


def test_numeric_placeholders_accept_ints_floats_decimals_and_dates() -> None:
    assert PRICE.bind(PRICE=20) == {"PRICE": "20"}
    assert PRICE.bind(PRICE=4.5) == {"PRICE": "4.5"}
    assert PRICE.bind(PRICE=Decimal("19.99")) == {"PRICE": "19.99"}
    assert PRICE.bind(PRICE=np.int64(7)) == {"PRICE": "7"}
    assert PRICE.bind(PRICE=np.float32(0.5)) == {"PRICE": "0.5"}
    assert PRICE.bind(PRICE=-(10**300)) == {"PRICE": str(-(10**300))}
    assert PRICE.bind(PRICE=date(2024, 1, 1)) == {"PRICE": "1704067200"}
    # a placeholder used with IN and with <= is numeric
    both = Filter.parse(
        "INCLUDE ItemID WHERE Items.A IN ($X) | EXCLUDE ItemID WHERE Items.PRICE > $X"
    )
    assert both.numeric_parameters() == {"X"}
    with pytest.raises(TypeError):
        both.bind(X="5")


def test_equality_placeholders_take_one_value_numeric_when_the_field_is() -> None:
    flt = Filter.parse(
        'INCLUDE ItemID WHERE Items.CATEGORY IN ("watch") '
        "IF CurrentUser.MEMBERSHIP_STATUS = $M AND CurrentUser.AGE = $AGE"
    )
    assert flt.numeric_parameters() == frozenset()
    assert flt.bind(M="premium", AGE=30) == {"M": '"premium"', "AGE": "30"}
    assert flt.bind(M="1 OR 1=1", AGE="30") == {"M": '"1 OR 1=1"', "AGE": '"30"'}
    with pytest.raises(TypeError, match=r"\$M .*one number or one string"):
        flt.bind(M=["a", "b"], AGE=30)
    with pytest.raises(pk.ValidationError, match="filter-values-character"):
        flt.bind(M='"a","b"', AGE=30)
    # given the schemas, AGE (an int field of Users) takes numbers only
    assert flt.numeric_parameters(schemas()) == {"AGE"}
    assert flt.encode({"M": "premium", "AGE": 30}, schemas=schemas()) == {
        "M": '"premium"',
        "AGE": "30",
    }
    with pytest.raises(TypeError, match=r"\$AGE"):
        flt.encode({"M": "premium", "AGE": "30"}, schemas=schemas())


def test_in_placeholders_check_every_element() -> None:
    assert OWNER.bind(owner=[1999, 2.5, True]) == {"owner": '"1999","2.5","True"'}
    with pytest.raises(TypeError, match=r"\$owner"):
        OWNER.bind(owner=["alice", None])
    with pytest.raises(TypeError, match=r"\$owner"):
        OWNER.bind(owner=[b"alice"])
    with pytest.raises(TypeError, match=r"\$owner"):
        OWNER.bind(owner=object())
    with pytest.raises(pk.ValidationError, match="not a finite number"):
        OWNER.bind(owner=[float("nan")])
    with pytest.raises(pk.ValidationError, match="filter-values-character"):
        OWNER.bind(owner=["alice", 'bob","eve'])


def test_huge_and_infinite_literals_are_syntax_errors_at_the_literal() -> None:
    prefix = "INCLUDE ItemID WHERE Items.PRICE <= "
    for literal in ("9" * 4301, "-" + "9" * 5000, "1e999", "-1e309"):
        with pytest.raises(FilterSyntaxError) as info:
            Filter.parse(prefix + literal)
        assert info.value.position == len(prefix)
        assert "a finite number" in info.value.expected
        lines = str(info.value).splitlines()
        assert lines[2].index("^") - 2 == lines[1].index(literal[:5]) - 2
    in_list = 'INCLUDE ItemID WHERE Items.YEAR IN ("a", ' + "1" * 4301 + ")"
    with pytest.raises(FilterSyntaxError) as info:
        Filter.parse(in_list)
    assert info.value.position == in_list.index("1111")
    # leading zeros are not digits of the value; an underflow is zero
    assert Filter.parse(prefix + "0" * 5000 + "7").expressions[0].conditions[0].values == (7,)
    assert Filter.parse(prefix + "1e-999").expressions[0].conditions[0].values == (0.0,)
    # the builders refuse what the parser refuses
    with pytest.raises(pk.ValidationError, match="not a finite number"):
        Filter.include_items("Items.PRICE > 1").when_user("AGE", ">", 10**400)
    with pytest.raises(pk.ValidationError, match="not a finite number"):
        Condition("Items", "PRICE", "<", [float("inf")])


def test_the_caret_stays_under_the_error_with_tabs_and_newlines() -> None:
    text = "INCLUDE\tItemID\nWHERE\r\nItems.GENRES INN ($g)"
    with pytest.raises(FilterSyntaxError) as info:
        Filter.parse(text)
    _, snippet, caret = str(info.value).splitlines()[:3]
    assert snippet[caret.index("^") :].startswith("INN")


def test_wrong_python_types_are_type_errors() -> None:
    with pytest.raises(TypeError):
        Filter.parse(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Filter(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Filter(["EXCLUDE ItemID WHERE Items.G IN ($g)"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        Filter.include_items(["Items.G IN ($g)"])  # type: ignore[list-item]


def test_twenty_distinct_fields_per_dataset_group() -> None:
    assert MAX_GROUP_FILTER_FIELDS == 20
    others = [f'EXCLUDE ItemID WHERE Items.F{i} IN ("x")' for i in range(19)]
    new = Filter.parse('EXCLUDE ItemID WHERE Items.F0 IN ("y") AND Items.G IN ("z")')
    assert group_field_problems(new, others) == []  # 19 + G = 20
    wider = Filter.parse('EXCLUDE ItemID WHERE Items.H IN ("z") AND Items.G IN ("z")')
    (problem,) = group_field_problems(wider, [*others, "not a filter"])
    assert problem.rule == "filter-group-too-many-fields"
    assert problem.count == 21
    assert "filter-expression-guidelines-requirements.html" in problem.message


# ---------------------------------------------------------------- the parser never crashes

_TOKENS = [
    "INCLUDE", "EXCLUDE", "include", "ItemID", "UserID", "ActionID", "itemid", "WHERE",
    "Items", "Interactions", "Users", "Actions", "Action_Interactions", "CurrentUser",
    "CurrentItem", "Item", ".", "GENRE", "PRICE", "EVENT_TYPE", "IN", "NOT", "in", "(", ")",
    ",", "|", "AND", "OR", "IF", "=", "!=", "<", "<=", ">", ">=", "==", "!", "$g", "$P1",
    "$", "$$", '"x"', '"*"', '"a\\"b"', '"', '"\\', "'x'", "1", "-2.5", "0.", "1.5e", "-",
    "1e999", "-1e309", "1e-999", "9" * 4301, "0" * 5000 + "1", "*", "\t", "\n", "é", "\x00",
    "\ud800", "..", "ItemID.", "$" + "P" * 60,
]  # fmt: skip

_ENTRY_POINTS: list[Any] = [
    Filter.parse,
    Filter,
    Condition.parse,
    Filter.include_items,
    Filter.exclude_items,
    Filter.include_users,
    Filter.exclude_actions,
    lambda text: OWNER | text,
    lambda text: text | OWNER,
]


def _check_syntax_error(text: str, exc: FilterSyntaxError) -> None:
    assert 0 <= exc.position <= len(text)
    assert exc.problems
    assert exc.problems[0].rule.startswith("filter-")
    assert "^" in str(exc)


def _parses_or_raises_a_syntax_error(text: str) -> None:
    for entry in _ENTRY_POINTS:
        try:
            result = entry(text)
        except FilterSyntaxError as exc:  # the only exception allowed
            _check_syntax_error(text, exc)
            continue
        if isinstance(result, Filter):
            # what parses prints back to itself and validates without crashing
            assert Filter.parse(str(result)) == result
            result.validate()
            result.validate(schemas())


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=25), st.sampled_from(["", " ", "\n"]))
def test_random_token_sequences_parse_or_raise_filter_syntax_error(
    tokens: list[str], sep: str
) -> None:
    _parses_or_raises_a_syntax_error(sep.join(tokens))


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(max_size=80),
        st.text(alphabet='INCLUDEXMWHRtmsd.()$"\\,|<=>!01e- _', max_size=120),
        st.builds(
            lambda a, b: a + b,
            st.sampled_from(
                [
                    "INCLUDE ItemID WHERE ",
                    "EXCLUDE ItemID WHERE Items.G IN ",
                    "INCLUDE ItemID WHERE Items.PRICE <= ",
                    'EXCLUDE ItemID WHERE Items.G IN ("a") IF ',
                ]
            ),
            st.text(max_size=60),
        ),
    )
)
def test_random_text_parses_or_raises_filter_syntax_error(text: str) -> None:
    _parses_or_raises_a_syntax_error(text)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.lists(st.one_of(st.text(max_size=10), st.integers(), st.floats()), max_size=5),
        st.integers(),
        st.floats(),
        st.decimals(),
        st.booleans(),
        st.none(),
        st.binary(max_size=5),
    )
)
def test_binding_any_value_is_one_value_or_a_typed_refusal(value: Any) -> None:
    for flt, name in ((OWNER, "owner"), (PRICE, "PRICE")):
        try:
            encoded = flt.bind({name: value})
        except (TypeError, pk.ValidationError):
            continue
        (decoded,) = decode_filter_values(encoded).values()
        if isinstance(value, str):
            assert decoded == [value]  # a str is exactly one value, unchanged
        elif isinstance(value, list):
            assert len(decoded) == len(value)
        else:
            assert len(decoded) == 1


# ------------------------------------------------------- item attribute queries (segments)


def test_an_item_attribute_mapping_is_one_condition_per_key() -> None:
    lines = segment_lines(
        [{"genres": "Comedy", "colour": "red"}],
        "arn:aws:personalize:::recipe/aws-item-attribute-affinity",
    )
    assert lines == [{"itemAttributes": 'ITEMS.genres = "Comedy" AND ITEMS.colour = "red"'}]


@pytest.mark.parametrize(
    ("mapping", "rule"),
    [
        ({"genres": 'x" OR ITEMS.genres = "y'}, "query-value-character"),  # one value, two
        ({"genres": "x\\"}, "query-value-character"),
        ({'genres = "x" OR ITEMS.genres': "y"}, "query-field"),  # a key with its own query
        ({"1genre": "x"}, "query-field"),
    ],
)
def test_an_untrusted_item_attribute_value_cannot_add_conditions(
    mapping: dict[str, str], rule: str
) -> None:
    with pytest.raises(pk.ValidationError) as info:
        segment_lines([{"genres": "ok"}, mapping], "aws-item-attribute-affinity")
    (problem,) = info.value.problems
    assert problem.rule == rule
    assert problem.rows == (1,)
    assert problem.column == "item_attributes"
    assert "batch-data-upload.html" in problem.message


@given(
    st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=12), min_size=1, max_size=3)
)
@settings(max_examples=200, deadline=None)
def test_a_mapping_either_becomes_exactly_its_conditions_or_is_refused(
    mapping: dict[str, str],
) -> None:
    try:
        (line,) = segment_lines([mapping], "aws-item-attribute-affinity")
    except pk.ValidationError:
        return
    query = line["itemAttributes"]
    # as many conditions as keys, each value inside its own quotes
    assert query.count(" AND ITEMS.") == len(mapping) - 1
    assert query.count('"') == 2 * len(mapping)
