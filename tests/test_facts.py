"""The Personalize facts: one table each, one resolver, and no second copy anywhere in src/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from personakit.errors import ConfigurationError, ValidationError
from personakit.rules import facts
from personakit.rules.facts import (
    ALL_RECIPES,
    USE_CASES,
    Domain,
    find_use_case,
    recipe_arn,
    recipe_name,
    recipe_type,
)

SRC = Path(facts.__file__).resolve().parents[1]
ECOMMERCE, VOD = USE_CASES[Domain.ECOMMERCE], USE_CASES[Domain.VIDEO_ON_DEMAND]


def test_use_case_names_resolve_one_way() -> None:
    arn = "arn:aws:personalize:::recipe/aws-ecomm-popular-items-by-views"
    assert find_use_case(arn) is ECOMMERCE["most-viewed"]
    assert find_use_case("Best_Sellers") is ECOMMERCE["best-sellers"]
    assert find_use_case("top-picks-for-you") is VOD["top-picks"]
    assert find_use_case("popular-items-by-purchases") is ECOMMERCE["best-sellers"]
    assert find_use_case("aws-vod-top-picks") is VOD["top-picks"]
    assert find_use_case("nope") is None
    assert ECOMMERCE["most-viewed"].arn == arn
    assert ECOMMERCE["most-viewed"].events == "View"
    assert VOD["more-like-x"].needs_items
    assert not ECOMMERCE["best-sellers"].explores
    assert VOD["top-picks"].explores


def test_every_use_case_is_a_known_recipe_of_its_domain() -> None:
    for domain, cases in USE_CASES.items():
        for name, case in cases.items():
            assert case.name == name
            assert case.domain is domain
            assert ALL_RECIPES[case.recipe] == case.kind
            assert recipe_type(case.arn) == case.kind
            assert find_use_case(case.recipe) is case
            assert find_use_case(name, domain) is case


def test_recipe_names_arns_and_types() -> None:
    assert recipe_name("User_Personalization_V2") == "aws-user-personalization-v2"
    assert recipe_arn("sims") == "arn:aws:personalize:::recipe/aws-sims"
    assert recipe_type("item-affinity") == "USER_SEGMENTATION"
    assert recipe_type("aws-hrnn") == "USER_PERSONALIZATION"
    with pytest.raises(ConfigurationError, match=r"known: .*user-personalization"):
        recipe_arn("user-personalisation")


def test_domains_parse_their_spellings() -> None:
    assert Domain.parse("vod") is Domain.VIDEO_ON_DEMAND
    assert Domain.parse("e-commerce".replace("-", "")) is Domain.ECOMMERCE
    assert Domain.parse(None) is None
    with pytest.raises(ValidationError, match="unknown domain"):
        Domain.parse("retail")


def test_avro_types_map_to_arrow_types_of_their_width() -> None:
    import pyarrow as pa

    assert facts.arrow_type("int") == pa.int32()
    assert facts.arrow_type("long") == pa.int64()
    assert facts.arrow_type("float") == pa.float32()
    assert facts.arrow_type("boolean") == pa.bool_()


def test_camel_case_of_property_keys() -> None:
    assert facts.camel_case("NUMBER_OF_RATINGS") == "numberOfRatings"
    assert facts.camel_case("GENRES") == "genres"
    assert facts.camel_case("__") == "__"


#: Spellings of a fact that must appear in rules/facts.py and nowhere else in src/.
SPELLED_ONCE = {
    "the recipe ARN prefix": r"arn:aws:personalize:::recipe/",
    "the milliseconds threshold": r"\b(1e11|10\*\*11|100_000_000_000)\b",
    "the run tag": r'"personakit:run"',
    "the keep tag": r'"personakit:keep"',
    "the expiry tag": r'"personakit:expires-at"',
    "the id length": r"\bMAX_ID(_CHARS)? = ",
    "the categorical value length": r"\bMAX_CATEGORICAL_CHARS = ",
    "the textual value length": r"\bMAX_TEXTUAL_CHARS = ",
    "the default numResults": r"\bDEFAULT_RESULTS(: Final)? = ",
    "the batch input size": r"MAX_INPUT_BYTES(: Final)? = ",
    "the default quotas": r'(\b[A-Z_]+_LIMIT(: Final)? = [1-9]\d*\b|"CreateCampaign": \d)',
    "a use case recipe": r'"aws-(ecomm|vod)-[a-z-]+"',
    "the camelCase of property keys": r"def (camel_case|_camel)\b",
    "the filter limits": (
        r"\bMAX_(DISTINCT_FIELDS|GROUP_FILTER_FIELDS|EXPRESSION_CHARS|FILTER_VALUES"
        r"|FILTER_VALUE_CHARS|PARAMETER_NAME)(: Final)? = "
    ),
    "the interactions a filter reads": r"\bINTERACTIONS_PER_EVENT_TYPE(: Final)? = ",
}


def _code(path: Path) -> str:
    """The file's code: comments and docstrings (prose may name a fact) left out."""
    text = path.read_text(encoding="utf-8")
    prose: set[int] = set()
    for node in ast.walk(ast.parse(text)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                prose.update(range(body[0].lineno, (body[0].end_lineno or 0) + 1))
    return "\n".join(
        line
        for number, line in enumerate(text.splitlines(), 1)
        if number not in prose and not line.lstrip().startswith("#")
    )


@pytest.mark.parametrize("fact", sorted(SPELLED_ONCE))
def test_each_fact_is_written_once(fact: str) -> None:
    pattern = re.compile(SPELLED_ONCE[fact])
    where = sorted(
        str(path.relative_to(SRC)) for path in SRC.rglob("*.py") if pattern.search(_code(path))
    )
    assert where == ["rules/facts.py"], f"{fact} is spelled in {where}"
