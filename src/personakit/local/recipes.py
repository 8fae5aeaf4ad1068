"""The recipes the local engine serves, and which of its algorithms serves each.

Light on purpose (no numpy): the twins check recipes with it, and
:mod:`personakit.local.algorithms` trains with it. Recipe types and use cases come
from :mod:`personakit.rules.facts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from personakit.rules.facts import (
    ALL_RECIPES,
    CUSTOM_RECIPES,
    USE_CASES,
    Domain,
    RecipeType,
    find_use_case,
)

__all__ = [
    "ALGORITHMS",
    "RECIPES",
    "recipe_domain",
    "recipe_event_type",
    "recipe_name",
    "recipe_type",
]

_E, _V = Domain.ECOMMERCE, Domain.VIDEO_ON_DEMAND
#: The local algorithm of each domain use case (by domain and use case name).
_USE_CASE_ALGORITHMS: Final[Mapping[tuple[Domain, str], str]] = {
    (_E, "most-viewed"): "popularity",
    (_E, "best-sellers"): "popularity",
    (_E, "frequently-bought-together"): "sims",
    (_E, "customers-who-viewed-x-also-viewed"): "sims",
    (_E, "recommended-for-you"): "personalization",
    (_V, "because-you-watched-x"): "sims",
    (_V, "more-like-x"): "similar-items",
    (_V, "most-popular"): "popularity",
    (_V, "trending-now"): "trending",
    (_V, "top-picks"): "personalization",
}
#: Each recipe the engine serves (its name in the ARN) -> the local algorithm that serves it.
ALGORITHMS: Final[Mapping[str, str]] = {
    "aws-user-personalization": "personalization",
    "aws-user-personalization-v2": "personalization",
    "aws-hrnn": "personalization",
    "aws-hrnn-metadata": "personalization",
    "aws-hrnn-coldstart": "personalization",
    "aws-popularity-count": "popularity",
    "aws-trending-now": "trending",
    "aws-sims": "sims",
    "aws-similar-items": "similar-items",
    "aws-semantic-similarity": "similar-items",
    "aws-personalized-ranking": "personalization",
    "aws-personalized-ranking-v2": "personalization",
    "aws-item-affinity": "segmentation",
    "aws-item-attribute-affinity": "segmentation",
    **{USE_CASES[d][name].recipe: algo for (d, name), algo in _USE_CASE_ALGORITHMS.items()},
}

#: Each recipe the engine serves -> its recipe type (:data:`~personakit.rules.facts.ALL_RECIPES`).
RECIPES: Final[Mapping[str, RecipeType]] = {name: ALL_RECIPES[name] for name in ALGORITHMS}


def recipe_name(recipe: str) -> str:
    """``arn:aws:personalize:::recipe/aws-sims`` or ``aws-sims`` -> ``aws-sims``."""
    name = recipe.rsplit("/", 1)[-1] if recipe.startswith("arn:") else recipe
    if name not in ALGORITHMS:
        raise ValueError(
            f"recipe {recipe!r} is not supported locally; supported: {sorted(ALGORITHMS)}"
        )
    return name


def recipe_type(recipe: str) -> RecipeType:
    """The recipe type (``"RELATED_ITEMS"`` ...) of a supported recipe."""
    return RECIPES[recipe_name(recipe)]


def recipe_event_type(recipe: str) -> str | None:
    """The event type a domain use case trains on (``Purchase``, ``View``, ``Watch``), if any."""
    name = recipe_name(recipe)
    case = None if name in CUSTOM_RECIPES else find_use_case(name)
    return case.events if case is not None else None


def recipe_domain(recipe: str) -> str | None:
    """The domain (``"ECOMMERCE"``) of a use case's recipe; None for a custom recipe."""
    if recipe in CUSTOM_RECIPES:
        return None
    case = find_use_case(recipe)
    return case.domain.value if case is not None else None
