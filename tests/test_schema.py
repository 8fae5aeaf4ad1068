"""Schema inference, Avro JSON and the schema rules of reference §1."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import personakit as pk
from personakit.rules.schema import NAMESPACE, field_name_for


def ratings(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "userId": np.arange(n) % 3,
            "movieId": np.arange(n) + 100,
            "rating": np.linspace(1, 5, n),
            "timestamp": np.arange(n) + 1_600_000_000,
        }
    )


def types(schema: pk.Schema) -> dict[str, object]:
    return {f.name: f.to_avro()["type"] for f in schema.fields}


# ---------------------------------------------------------------- roles and names


def test_movielens_ratings_map_to_reserved_names_and_types() -> None:
    schema = pk.Schema.infer(ratings(), "interactions")
    assert schema.names == ("USER_ID", "ITEM_ID", "RATING", "TIMESTAMP")
    assert types(schema) == {
        "USER_ID": "string",  # integer ids are written as text
        "ITEM_ID": "string",
        "RATING": "double",
        "TIMESTAMP": "long",
    }
    assert schema.columns == {
        "userId": "USER_ID",
        "movieId": "ITEM_ID",
        "rating": "RATING",
        "timestamp": "TIMESTAMP",
    }
    assert schema.check().ok


@pytest.mark.parametrize(
    ("user", "item", "ts"),
    [
        ("user_id", "item_id", "timestamp"),
        ("customer_id", "product_id", "event_time"),
        ("CustomerId", "sku", "ts"),
        ("USER_ID", "ITEM_ID", "TIMESTAMP"),
    ],
)
def test_common_column_names_are_recognised(user: str, item: str, ts: str) -> None:
    frame = pd.DataFrame({user: ["a", "b"], item: ["x", "y"], ts: [1_600_000_000, 1_600_000_001]})
    schema = pk.Schema.infer(frame)
    assert schema.columns == {user: "USER_ID", item: "ITEM_ID", ts: "TIMESTAMP"}


def test_explicit_mapping_wins_and_a_second_item_column_clashes() -> None:
    frame = pd.DataFrame({"who": ["a"], "what": ["x"], "when": [1_600_000_000], "item_id": ["z"]})
    mapping = {"who": "USER_ID", "what": "ITEM_ID", "when": "TIMESTAMP"}
    with pytest.raises(pk.ValidationError, match="item_id -> ITEM_ID") as info:
        pk.Schema.infer(frame, columns=mapping)
    assert [p.rule for p in info.value.problems] == ["field-name-duplicate"]
    schema = pk.Schema.infer(frame.drop(columns="item_id"), columns=mapping)
    assert schema.columns == {"who": "USER_ID", "what": "ITEM_ID", "when": "TIMESTAMP"}


def test_explicit_mapping_leaves_other_columns_as_metadata() -> None:
    frame = pd.DataFrame({"who": ["a"], "what": ["x"], "when": [1_600_000_000], "device": ["ios"]})
    schema = pk.Schema.infer(
        frame, columns={"who": "USER_ID", "what": "ITEM_ID", "when": "TIMESTAMP"}
    )
    assert schema["DEVICE"].categorical
    assert schema["DEVICE"].column == "device"


def test_two_candidates_for_one_role_is_an_error_naming_both() -> None:
    frame = pd.DataFrame({"user_id": ["a"], "userId": ["b"], "item": ["x"], "ts": [1]})
    with pytest.raises(pk.ValidationError, match=r"'user_id', 'userId'.*USER_ID"):
        pk.Schema.infer(frame)


def test_mapping_a_missing_column_is_an_error() -> None:
    with pytest.raises(pk.ValidationError, match="nope"):
        pk.Schema.infer(ratings(), columns={"nope": "USER_ID"})


def test_missing_required_column_is_reported_with_the_columns_seen() -> None:
    frame = pd.DataFrame({"userId": ["a"], "movieId": ["x"]})
    with pytest.raises(pk.ValidationError) as info:
        pk.Schema.infer(frame)
    assert {p.rule for p in info.value.problems} == {"required-field-missing"}
    assert "TIMESTAMP" in str(info.value)
    assert "columns seen: userId -> USER_ID" in str(info.value)


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("releaseYear", "RELEASE_YEAR"),
        ("number of ratings", "NUMBER_OF_RATINGS"),
        ("price-usd", "PRICE_USD"),
        ("2nd_genre", "_2ND_GENRE"),
        ("GENRES", "GENRES"),
        ("x" * 200, "X" * 150),
    ],
)
def test_metadata_field_names_are_upper_snake_and_valid(column: str, field: str) -> None:
    assert field_name_for(column) == field


# ---------------------------------------------------------------- types


def test_numeric_widths_nulls_and_datetimes() -> None:
    frame = pd.DataFrame(
        {
            "user_id": ["a", "b"],
            "item_id": ["x", "y"],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
            "small": np.array([1, 2], dtype="int32"),
            "big": np.array([1, 2], dtype="int64"),
            "f32": np.array([1.5, 2.5], dtype="float32"),
            "maybe": [1.0, np.nan],
        }
    )
    schema = pk.Schema.infer(frame)
    assert types(schema) == {
        "USER_ID": "string",
        "ITEM_ID": "string",
        "TIMESTAMP": "long",
        "SMALL": "int",
        "BIG": "long",
        "F32": "float",
        "MAYBE": ["null", "double"],
    }


def test_event_value_is_float_even_from_float64_or_int() -> None:
    frame = ratings().rename(columns={"rating": "event_value"})
    assert pk.Schema.infer(frame)["EVENT_VALUE"].type == "float"
    frame["event_value"] = frame["event_value"].astype("int64")
    assert pk.Schema.infer(frame)["EVENT_VALUE"].type == "float"


def test_event_type_is_a_plain_string_never_categorical() -> None:
    frame = ratings().assign(event_type="watch")
    field = pk.Schema.infer(frame)["EVENT_TYPE"]
    assert (field.type, field.categorical) == ("string", False)


def test_booleans_are_flagged_with_the_fix_or_made_categorical() -> None:
    items = pd.DataFrame({"item_id": ["a", "b"], "is_vegetarian": [True, False]})
    flagged = pk.Schema.infer(items, "items")
    assert flagged["IS_VEGETARIAN"].type == "boolean"
    report = flagged.check()
    assert report.ok  # accepted by Personalize ...
    (warning,) = report.warnings  # ... but ignored for training and filtering
    assert warning.rule == "boolean-ignored"
    assert warning.column == "IS_VEGETARIAN"
    assert "categorical" in (warning.fix or "")

    fixed = pk.Schema.infer(items, "items", booleans="categorical")
    assert fixed["IS_VEGETARIAN"].type == "string"
    assert fixed["IS_VEGETARIAN"].categorical
    assert not fixed.check().warnings


@pytest.mark.parametrize("dtype", ["object", "string", "str", "category"])
def test_string_columns_of_every_pandas_flavour(dtype: str) -> None:
    items = pd.DataFrame({"item_id": ["a", "b", "c"], "genres": ["Drama|War", "Comedy", None]})
    items = items.astype({"item_id": dtype, "genres": dtype})
    field = pk.Schema.infer(items, "items")["GENRES"]
    assert (field.type, field.categorical, field.nullable) == ("string", True, True)


def test_pyarrow_table_and_list_columns() -> None:
    table = pa.table(
        {
            "item_id": ["a", "b"],
            "genres": pa.array([["Drama", "War"], ["Comedy"]], pa.list_(pa.string())),
            "price": pa.array([9.99, 5.0], pa.float64()),
        }
    )
    schema = pk.Schema.infer(table, "items")
    assert schema["GENRES"].categorical
    assert schema["PRICE"].type == "float"


def test_unsupported_types_are_errors_naming_the_column() -> None:
    table = pa.table({"item_id": ["a"], "blob": pa.array([b"\x00"], pa.binary())})
    with pytest.raises(pk.ValidationError) as info:
        pk.Schema.infer(table, "items")
    (problem,) = info.value.problems
    assert (problem.rule, problem.column) == ("unsupported-type", "blob")


def test_mixed_object_column_names_the_column_and_rows() -> None:
    frame = pd.DataFrame(
        {"item_id": ["a", "b", "c", "d"], "year": [1999, 2001, "unknown", 2005]}, dtype=object
    )
    with pytest.raises(pk.ValidationError) as info:
        pk.Schema.infer(frame, "items")
    (problem,) = info.value.problems
    assert problem.rule == "mixed-types"
    assert problem.column == "year"
    assert problem.rows == (2,)
    assert problem.values == ("'unknown'",)


# ---------------------------------------------------------------- categorical / textual

DESCRIPTIONS = [
    "A retired cop is pulled back into one last job across a snowy northern town.",
    "Two sisters open a bakery in Lisbon and learn what their grandmother hid for years.",
    "An engineer stranded on a research station has to repair the radio before winter.",
]


def test_one_free_text_column_in_items_is_textual() -> None:
    items = pd.DataFrame(
        {
            "item_id": ["a", "b", "c"],
            "title": ["Heat", "Up", "Alien"],
            "description": DESCRIPTIONS,
            "summary": [d[:45] + " and more words here" for d in DESCRIPTIONS],
        }
    )
    schema = pk.Schema.infer(items, "items")
    assert schema["DESCRIPTION"].textual
    assert not schema["DESCRIPTION"].categorical
    assert schema["TITLE"].categorical
    assert schema["SUMMARY"].categorical  # only one textual field is allowed: the longest wins
    assert schema.check().ok


def test_textual_can_be_chosen_or_turned_off() -> None:
    items = pd.DataFrame(
        {"item_id": ["a", "b", "c"], "description": DESCRIPTIONS, "tagline": ["x", "y", "z"]}
    )
    assert pk.Schema.infer(items, "items", textual="tagline")["TAGLINE"].textual
    assert not pk.Schema.infer(items, "items", textual=False)["DESCRIPTION"].textual


def test_free_text_in_users_stays_categorical() -> None:
    users = pd.DataFrame({"user_id": ["a", "b", "c"], "bio": DESCRIPTIONS})
    schema = pk.Schema.infer(users, "users")
    assert schema["BIO"].categorical
    assert not schema["BIO"].textual


def test_pipe_joined_values_are_categorical_not_textual() -> None:
    long_pipes = ["|".join(f"tag number {i} of {k}" for i in range(8)) for k in range(3)]
    items = pd.DataFrame({"item_id": ["a", "b", "c"], "tags": long_pipes})
    field = pk.Schema.infer(items, "items")["TAGS"]
    assert field.categorical
    assert not field.textual


# ---------------------------------------------------------------- domains


def test_ecommerce_items_need_price_and_category() -> None:
    items = pd.DataFrame({"item_id": ["a"], "price": [1.0], "category_l1": ["shoes"]})
    schema = pk.Schema.infer(items, "items", domain="ECOMMERCE")
    assert schema.domain is pk.Domain.ECOMMERCE
    assert schema["PRICE"].type == "float"
    assert schema["CATEGORY_L1"].categorical
    with pytest.raises(pk.ValidationError, match="CATEGORY_L1"):
        pk.Schema.infer(items.drop(columns="category_l1"), "items", domain="ecommerce")


def test_domain_interactions_need_event_type() -> None:
    with pytest.raises(pk.ValidationError, match="EVENT_TYPE"):
        pk.Schema.infer(ratings(), domain="VIDEO_ON_DEMAND")
    schema = pk.Schema.infer(ratings().assign(event_type="Watch"), domain="vod")
    assert schema.domain is pk.Domain.VIDEO_ON_DEMAND


# ---------------------------------------------------------------- JSON


def test_to_json_is_exactly_the_avro_personalize_takes() -> None:
    schema = pk.Schema(
        "interactions",
        [
            pk.Field("USER_ID", "string"),
            pk.Field("ITEM_ID", "string"),
            pk.Field("TIMESTAMP", "long"),
            pk.Field("EVENT_VALUE", "float", nullable=True),
            pk.Field("DEVICE", "string", categorical=True),
        ],
    )
    assert json.loads(schema.to_json()) == {
        "type": "record",
        "name": "Interactions",
        "namespace": NAMESPACE,
        "fields": [
            {"name": "USER_ID", "type": "string"},
            {"name": "ITEM_ID", "type": "string"},
            {"name": "TIMESTAMP", "type": "long"},
            {"name": "EVENT_VALUE", "type": ["null", "float"]},
            {"name": "DEVICE", "type": "string", "categorical": True},
        ],
        "version": "1.0",
    }


@pytest.mark.parametrize(
    ("dataset_type", "record"),
    [
        ("items", "Items"),
        ("Users", "Users"),
        ("ACTIONS", "Actions"),
        ("action_interactions", "ActionInteractions"),
        ("action-interactions", "ActionInteractions"),
    ],
)
def test_record_name_per_dataset_type(dataset_type: str, record: str) -> None:
    assert pk.DatasetType.parse(dataset_type).record_name == record


def test_from_json_reads_the_lab_movies_schema() -> None:
    text = json.dumps(
        {
            "type": "record",
            "name": "Items",
            "namespace": NAMESPACE,
            "fields": [
                {"name": "ITEM_ID", "type": "string"},
                {"name": "GENRES", "type": ["null", "string"], "categorical": True},
                {"name": "YEAR", "type": "int"},
            ],
            "version": "1.0",
        }
    )
    schema = pk.Schema.from_json(text)
    assert schema.dataset_type is pk.DatasetType.ITEMS
    assert schema["GENRES"] == pk.Field("GENRES", "string", nullable=True, categorical=True)
    assert json.loads(schema.to_json()) == json.loads(text)


@pytest.mark.parametrize(
    ("field", "match"),
    [
        ({"name": "NESTED", "type": {"type": "record", "fields": []}}, "is not one"),
        ({"name": "TAGS", "type": {"type": "array", "items": "string"}}, "is not one"),
        ({"name": "U", "type": ["null", "string", "int"]}, "unions"),
        ({"type": "string"}, "name"),
    ],
)
def test_from_json_rejects_what_personalize_rejects(field: dict[str, object], match: str) -> None:
    text = json.dumps(
        {
            "type": "record",
            "name": "Items",
            "fields": [{"name": "ITEM_ID", "type": "string"}, field],
        }
    )
    with pytest.raises(pk.ValidationError, match=match):
        pk.Schema.from_json(text)


def test_from_json_rejects_non_json_and_non_records() -> None:
    with pytest.raises(pk.ValidationError, match="JSON"):
        pk.Schema.from_json("{nope")
    with pytest.raises(pk.ValidationError, match="record"):
        pk.Schema.from_json('{"type": "enum"}')


_names = st.from_regex(r"[A-Z][A-Z0-9]{0,12}", fullmatch=True).filter(
    lambda n: n not in {"ITEM_ID", "CREATION_TIMESTAMP"}
)
_meta_fields = st.builds(
    lambda name, kind, nullable: pk.Field(
        name,
        "string" if kind in ("categorical", "textual") else kind,
        nullable=nullable,
        categorical=kind == "categorical",
        textual=kind == "textual",
    ),
    _names,
    st.sampled_from(["categorical", "textual", "int", "long", "float", "double", "boolean"]),
    st.booleans(),
)


@given(st.lists(_meta_fields, min_size=1, max_size=8, unique_by=lambda f: f.name))
def test_any_schema_round_trips_through_json(meta: list[pk.Field]) -> None:
    schema = pk.Schema("items", [pk.Field("ITEM_ID", "string"), *meta])
    again = pk.Schema.from_json(schema.to_json())
    assert again == schema
    assert again.to_json() == schema.to_json()


# ---------------------------------------------------------------- check()


def _rules(schema: pk.Schema) -> set[str]:
    return {p.rule for p in schema.check().errors}


BASE = [pk.Field("USER_ID", "string"), pk.Field("ITEM_ID", "string"), pk.Field("TIMESTAMP", "long")]


@pytest.mark.parametrize(
    ("extra", "rule"),
    [
        (pk.Field("EVENT_VALUE", "double"), "reserved-type"),
        (pk.Field("EVENT_TYPE", "string", categorical=True), "reserved-not-categorical"),
        (pk.Field("bad name", "int"), "field-name"),
        (pk.Field("GENRE", "int", categorical=True), "categorical-not-string"),
        (pk.Field("NOTES", "string", textual=True), "textual-not-items"),
        (pk.Field("BOTH", "string", categorical=True, textual=True), "categorical-and-textual"),
    ],
)
def test_schema_rules_on_interactions(extra: pk.Field, rule: str) -> None:
    assert rule in _rules(pk.Schema("interactions", [*BASE, extra]))


def test_required_reserved_fields_cannot_be_nullable_or_wrongly_typed() -> None:
    schema = pk.Schema(
        "interactions",
        [
            pk.Field("USER_ID", "string", nullable=True),
            pk.Field("ITEM_ID", "long"),
            pk.Field("TIMESTAMP", "int"),
        ],
    )
    problems = {(p.rule, p.column) for p in schema.check().errors}
    assert problems == {
        ("reserved-nullable", "USER_ID"),
        ("reserved-type", "ITEM_ID"),
        ("reserved-type", "TIMESTAMP"),
    }


def test_names_equal_once_underscores_are_ignored_clash() -> None:
    schema = pk.Schema(
        "items",
        [
            pk.Field("ITEM_ID", "string"),
            pk.Field("GENRES_FIELD_1", "string", categorical=True),
            pk.Field("GENRESFIELD1", "string", categorical=True),
        ],
    )
    (problem,) = schema.check().errors
    assert (problem.rule, problem.column) == ("field-name-duplicate", "GENRESFIELD1")


def test_metadata_caps_per_dataset_type() -> None:
    def meta(n: int) -> list[pk.Field]:
        return [pk.Field(f"M{i}", "int") for i in range(n)]

    assert "metadata-cap" not in _rules(pk.Schema("interactions", BASE + meta(5)))
    assert "metadata-cap" in _rules(pk.Schema("interactions", BASE + meta(6)))
    users = [pk.Field("USER_ID", "string")]
    assert "metadata-cap" not in _rules(pk.Schema("users", users + meta(25)))
    assert "metadata-cap" in _rules(pk.Schema("users", users + meta(26)))
    items = [pk.Field("ITEM_ID", "string"), pk.Field("CREATION_TIMESTAMP", "long")]
    assert "metadata-cap" not in _rules(pk.Schema("items", items + meta(100)))
    assert "metadata-cap" in _rules(pk.Schema("items", items + meta(101)))


def test_items_users_actions_need_metadata() -> None:
    assert "metadata-missing" in _rules(pk.Schema("users", [pk.Field("USER_ID", "string")]))
    assert "metadata-missing" in _rules(
        pk.Schema("items", [pk.Field("ITEM_ID", "string"), pk.Field("CREATION_TIMESTAMP", "long")])
    )


def test_one_textual_field_per_items_dataset() -> None:
    schema = pk.Schema(
        "items",
        [
            pk.Field("ITEM_ID", "string"),
            pk.Field("A", "string", textual=True),
            pk.Field("B", "string", textual=True),
        ],
    )
    assert "textual-count" in _rules(schema)


def test_schema_json_is_at_most_20000_characters() -> None:
    long_names = [
        pk.Field(f"F{i:03d}_" + "X" * 145, "string", nullable=True, categorical=True)
        for i in range(100)
    ]
    schema = pk.Schema("items", [pk.Field("ITEM_ID", "string"), *long_names])
    assert len(schema.to_json()) > 20_000
    assert "schema-too-long" in _rules(schema)


def test_uncategorised_strings_warn_that_they_are_not_trained_on() -> None:
    schema = pk.Schema("users", [pk.Field("USER_ID", "string"), pk.Field("BIO", "string")])
    assert schema.check().ok
    assert [w.rule for w in schema.check().warnings] == ["string-ignored"]


def test_raise_for_problems_lists_every_error() -> None:
    schema = pk.Schema("interactions", [pk.Field("USER_ID", "int"), pk.Field("bad name", "int")])
    with pytest.raises(pk.ValidationError) as info:
        schema.raise_for_problems()
    rules = [p.rule for p in info.value.problems]
    assert set(rules) >= {"reserved-type", "field-name", "required-field-missing"}
    for rule in rules:
        assert rule in str(info.value)


def test_unknown_types_and_domains_are_rejected() -> None:
    with pytest.raises(pk.ValidationError, match="Avro type"):
        pk.Field("X", "timestamp")
    with pytest.raises(pk.ValidationError, match="dataset type"):
        pk.Schema("ratings", BASE)
    with pytest.raises(pk.ValidationError, match="domain"):
        pk.Schema("interactions", BASE, domain="RETAIL")


def test_notebook_html_lists_fields_and_their_sources() -> None:
    html = pk.Schema.infer(ratings())._repr_html_()
    assert "<code>USER_ID</code>" in html
    assert "userId" in html
