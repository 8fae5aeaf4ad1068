"""Recommender algorithms behind the local engine's recipes (numpy/scipy, sparse).

``train(recipe, data, hyperparameters, seed=...)`` returns a :class:`Model`;
``model.save(folder)`` writes ``model.json`` + ``arrays.npz`` (no pickle) and
``load(folder)`` reads them back. :data:`RECIPES` (from :mod:`personakit.local.recipes`)
maps each supported recipe name (the last part of the recipe ARN) to its recipe
type. Which algorithm serves which recipe (docs/performance.md measures them):

=====================================  ======================================================
recipe                                 local algorithm
=====================================  ======================================================
aws-user-personalization(-v2), hrnn*   EASE (<= 12k items) or iALS, recency-weighted fold-in
aws-personalized-ranking(-v2)          the same user model, scored on the input list
aws-item-affinity, -attribute-affinity the same user model, transposed: score share x activity
aws-popularity-count                   distinct users per item
aws-trending-now                       growth in the newest window against the one before
aws-sims                               co-interaction neighbours (top-k CSR)
aws-similar-items, semantic-similarity co-interaction + metadata (TF-IDF) neighbours
aws-ecomm-* / aws-vod-*                the closest of the above, on the use case's event type
=====================================  ======================================================

Hyperparameters arrive as strings. Common ones: ``event_type``,
``event_value_threshold`` (events used; all of them by default). User models:
``algorithm`` (auto|ease|ials), ``hpo`` (auto|true|false), ``l2``, ``factors``,
``alpha``, ``iterations``, ``recency_half_life`` (events; ``inf`` = off),
``apply_recency_bias``, ``exclude_seen``, ``ease_max_items``. SIMS:
``min_cointeraction_count``, ``popularity_discount_factor``, ``neighbours``,
``metadata_weight``, ``cold_item_threshold``, ``hpo``, and the searched
``cointeraction_shrink``, ``user_activity_discount``, ``proximity_half_life``.
Trending: ``trend_discovery_frequency``.
Unknown keys are ignored (Personalize's own, e.g. ``bptt``, have no local meaning);
a bad value for a known key raises ``ValueError``. ``hpo=true`` is what
CreateSolution's ``performHPO`` maps to.

Scores are the models' raw scores (higher is better, comparable within one
response; popularity recipes: the share of users; SIMS padding: 0.0). ``rank``
gives ``nan`` to the items it cannot score (unknown ids, items without
interactions), which the service returns without a score. Every model also
carries ``hyperparameters`` (the effective values, as strings, tuned ones
included) and ``info`` (JSON-able: algorithm, HPO grid and validation NDCG@10, and
``tuned``, the search's outcome, which ``train(..., tuned=...)`` reuses).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from personakit.local.algorithms.base import Model, Scored, TrainingData
from personakit.local.algorithms.common import BaseModel, Hyper, load_model
from personakit.local.algorithms.personalization import (
    UserPersonalizationModel,
    train_personalization,
)
from personakit.local.algorithms.popularity import PopularityModel, train_popularity, train_trending
from personakit.local.algorithms.sims import SimsModel, train_sims
from personakit.local.recipes import (
    ALGORITHMS,
    RECIPES,
    recipe_event_type,
    recipe_name,
    recipe_type,
)

__all__ = [
    "RECIPES",
    "BaseModel",
    "Model",
    "PopularityModel",
    "Scored",
    "SimsModel",
    "TrainingData",
    "UserPersonalizationModel",
    "load",
    "recipe_event_type",
    "recipe_name",
    "recipe_type",
    "train",
]


def train(
    recipe: str,
    data: TrainingData,
    hyperparameters: Mapping[str, str] = {},
    *,
    seed: int = 0,
    tuned: Mapping[str, Any] | None = None,
) -> Model:
    """Train the local model for ``recipe`` on ``data``; seeded, so reproducible.

    ``tuned``: the outcome of an earlier hyperparameter search on this data (a user or
    SIMS model's ``info["tuned"]``, as :func:`personakit.local.evaluation.evaluate_and_tune`
    returns it; ``{}`` when none ran): the search is not run again. Ignored by recipes
    without one.
    """
    name = recipe_name(recipe)
    algorithm = ALGORITHMS[name]
    event_type = recipe_event_type(name)
    hyper = Hyper(hyperparameters)
    model: BaseModel
    if algorithm == "popularity":
        model = train_popularity(name, data, hyper, default_event_type=event_type)
    elif algorithm == "trending":
        model = train_trending(name, data, hyper)
    elif algorithm in {"sims", "similar-items"}:
        model = train_sims(
            name,
            data,
            hyper,
            use_metadata=algorithm == "similar-items",
            default_event_type=event_type,
            seed=seed,
            reuse=tuned,
        )
    else:
        model = train_personalization(
            name,
            data,
            hyper,
            seed=seed,
            segmentation=algorithm == "segmentation",
            tuned=tuned,
        )
    return model


def load(folder: Path) -> Model:
    """Read a model written by ``Model.save``."""
    return load_model(Path(folder))
