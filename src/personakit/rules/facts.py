"""Every Amazon Personalize fact personakit relies on, each written once, with its source.

Recipes and their types, domain use cases and their one resolver, the limits of the
runtime, batch jobs and names, the epoch-seconds threshold, the tag keys personakit
writes and the Avro-to-Arrow type map. Everything else imports these; a test checks
that none of them is spelled again elsewhere. Pure: no boto3, no pyarrow at import.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, Literal

import attrs

from personakit.errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ALL_RECIPES",
    "AVRO_ARROW",
    "BATCH_MAX_INPUT_BYTES",
    "BATCH_MAX_RESULTS",
    "CUSTOM_RECIPES",
    "DEFAULT_QUOTAS",
    "DEFAULT_RESULTS",
    "DG",
    "EPOCH_UNITS",
    "EXPIRES_TAG",
    "FILTER_GUIDELINES",
    "INTERACTIONS_PER_EVENT_TYPE",
    "KEEP_TAG",
    "MAX_ACTIONS",
    "MAX_CATEGORICAL_CHARS",
    "MAX_DISTINCT_FIELDS",
    "MAX_EXPRESSION_CHARS",
    "MAX_FILTER_VALUES",
    "MAX_FILTER_VALUE_CHARS",
    "MAX_GROUP_FILTER_FIELDS",
    "MAX_ID_CHARS",
    "MAX_INPUT_LIST",
    "MAX_NAME",
    "MAX_PARAMETER_NAME",
    "MAX_RESULTS",
    "MAX_RESULTS_WITH_METADATA",
    "MAX_TAG_KEYS",
    "MAX_TEXTUAL_CHARS",
    "MAX_TEXTUAL_CHARS_CJK",
    "MIN_INTERACTIONS",
    "MIN_USERS_WITH_TWO",
    "MIN_USERS_WITH_TWO_SHARE",
    "NO_BATCH_RECIPES",
    "RECIPES",
    "RECIPE_PREFIX",
    "RUN_TAG",
    "SECONDS_MAX",
    "SEGMENT_MAX_ITEMS_PER_FILE",
    "SEGMENT_MAX_QUERIES_PER_FILE",
    "SEGMENT_MAX_USERS",
    "THEMES_GUIDE",
    "THEME_MAX_ITEMS_PER_FILE",
    "THEME_RECIPES",
    "UPDATE_RECIPES",
    "USE_CASES",
    "Domain",
    "Need",
    "RecipeType",
    "UseCase",
    "arrow_type",
    "camel_case",
    "find_use_case",
    "recipe_arn",
    "recipe_name",
    "recipe_type",
]

#: The Amazon Personalize Developer Guide; every number below cites a page of it.
DG = "https://docs.aws.amazon.com/personalize/latest/dg/"

# --------------------------------------------------------------------------- tags

#: The tag personakit puts on every resource it creates (value: the run id), so a
#: later sweep finds the leftovers of a crashed run.
RUN_TAG = "personakit:run"
#: A resource carrying this tag is spared by sweeps and teardown (kept on purpose).
KEEP_TAG = "personakit:keep"
#: The tag holding the UTC time (ISO 8601) after which a sweep may delete the resource
#: (personakit's own, on SageMaker endpoints deployed with ``max_lifetime``).
EXPIRES_TAG = "personakit:expires-at"
#: Tag keys per resource: 50 (TagResource answers TooManyTagsException beyond;
#: https://docs.aws.amazon.com/personalize/latest/dg/tagging-resources.html).
MAX_TAG_KEYS = 50

# --------------------------------------------------------------------------- names

#: Every resource name: 1-63 characters, ``^[a-zA-Z0-9][a-zA-Z0-9\-_]*``
#: (https://docs.aws.amazon.com/personalize/latest/dg/API_CreateDatasetGroup.html).
MAX_NAME = 63

# --------------------------------------------------------------------------- data

#: Epoch timestamps are seconds
#: (https://docs.aws.amazon.com/personalize/latest/dg/interactions-datasets.html).
#: Seconds stay below 1e11 until the year 5138 and 1e11 milliseconds is 1973-03-03, so
#: a larger value is in milliseconds (or finer).
SECONDS_MAX = 100_000_000_000
#: Finer units by the smallest epoch value that means them (each boundary is 1973-03-03
#: in its unit): (name, code, threshold, units per second), finest first.
EPOCH_UNITS: tuple[tuple[str, str, int, int], ...] = (
    ("nanoseconds", "ns", 10**17, 10**9),
    ("microseconds", "us", 10**14, 10**6),
    ("milliseconds", "ms", SECONDS_MAX, 10**3),
)
#: Training minimums: 1000 interactions from at least 25 users with 2 or more each
#: (https://docs.aws.amazon.com/personalize/latest/dg/limits.html).
MIN_INTERACTIONS = 1000
MIN_USERS_WITH_TWO = 25
#: ... and those users at least 1% of all users
#: (https://docs.aws.amazon.com/personalize/latest/dg/limits.html).
MIN_USERS_WITH_TWO_SHARE = 0.01
#: USER_ID / ITEM_ID / ACTION_ID values: at most 256 characters; categorical values
#: (measured ``|``-joined), IMPRESSION values and the other string values of Items: at
#: most 1000, or the import job fails (https://docs.aws.amazon.com/personalize/latest/dg/limits.html).
MAX_ID_CHARS = 256
MAX_CATEGORICAL_CHARS = 1000
#: Textual values: longer ones are truncated (20,000 characters; 7,000 in Chinese or
#: Japanese; https://docs.aws.amazon.com/personalize/latest/dg/limits.html).
MAX_TEXTUAL_CHARS = 20_000
MAX_TEXTUAL_CHARS_CJK = 7_000

#: Personalize's default quotas, by the operation that runs into them
#: (https://docs.aws.amazon.com/personalize/latest/dg/limits.html): active campaigns,
#: solutions, recommenders and filters per dataset group; dataset groups and schemas
#: per region; one event tracker and one metric attribution per dataset group; import
#: jobs and solution versions pending or in progress, and batch jobs in flight, per region.
DEFAULT_QUOTAS: Mapping[str, int] = {
    "CreateCampaign": 5,
    "CreateDatasetGroup": 5,
    "CreateSolution": 10,
    "CreateRecommender": 5,
    "CreateFilter": 30,
    "CreateSchema": 500,
    "CreateEventTracker": 1,
    "CreateMetricAttribution": 1,
    "CreateDatasetImportJob": 5,
    "CreateSolutionVersion": 20,
    "CreateBatchInferenceJob": 5,
    "CreateBatchSegmentJob": 5,
}

#: Avro field type -> the Arrow type that holds exactly its values (Avro ``int`` and
#: ``float`` are 32-bit; https://avro.apache.org/docs/1.11.1/specification/, the types
#: https://docs.aws.amazon.com/personalize/latest/dg/how-it-works-dataset-schema.html allows).
AVRO_ARROW: Mapping[str, str] = {
    "string": "string",
    "int": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "boolean": "bool_",
}


def arrow_type(avro_type: str) -> pa.DataType:
    """The Arrow type of an Avro field type (:data:`AVRO_ARROW`)."""
    import pyarrow as pa

    factory = getattr(pa, AVRO_ARROW[avro_type])
    return factory()  # type: ignore[no-any-return]


def camel_case(field: str) -> str:
    """``NUMBER_OF_RATINGS`` -> ``numberOfRatings``: a field's key in the ``properties``
    of PutEvents, PutItems and PutUsers
    (https://docs.aws.amazon.com/personalize/latest/dg/importing-interactions.html)."""
    parts = [p for p in field.lower().split("_") if p]
    if not parts:
        return field
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


# --------------------------------------------------------------------------- runtime

#: ``numResults`` of GetRecommendations: at most 500, 50 with ``metadataColumns``;
#: GetPersonalizedRanking's ``inputList``: at most 500; GetActionRecommendations: 100
#: (https://docs.aws.amazon.com/personalize/latest/dg/API_RS_GetRecommendations.html,
#: https://docs.aws.amazon.com/personalize/latest/dg/API_RS_GetActionRecommendations.html).
MAX_RESULTS = 500
MAX_RESULTS_WITH_METADATA = 50
#: ``numResults`` when none is given: 25 (GetRecommendations and batch inference jobs;
#: https://docs.aws.amazon.com/personalize/latest/dg/API_CreateBatchInferenceJob.html).
DEFAULT_RESULTS = 25
MAX_INPUT_LIST = 500
MAX_ACTIONS = 100
#: A batch job's input: at most 1 GB; an Item-Affinity file at most 500 items, an
#: Item-Attribute-Affinity file at most 10 queries
#: (https://docs.aws.amazon.com/personalize/latest/dg/limits.html).
BATCH_MAX_INPUT_BYTES = 1024**3
SEGMENT_MAX_ITEMS_PER_FILE = 500
SEGMENT_MAX_QUERIES_PER_FILE = 10
#: ``numResults`` of a batch inference job (at most 500, as the runtime) and the users of
#: one segment (5 million; https://docs.aws.amazon.com/personalize/latest/dg/limits.html).
BATCH_MAX_RESULTS = MAX_RESULTS
SEGMENT_MAX_USERS = 5_000_000
#: Batch recommendations with themes (Content Generator, ``batchInferenceJobMode=
#: "THEME_GENERATION"``): Similar-Items solutions only, at most 100 items an input file,
#: an Items dataset with a textual field and a string item-name column
#: (https://docs.aws.amazon.com/personalize/latest/dg/themed-batch-recommendations.html).
THEMES_GUIDE = DG + "themed-batch-recommendations.html"
THEME_RECIPES = frozenset({"aws-similar-items"})
THEME_MAX_ITEMS_PER_FILE = 100

# --------------------------------------------------------------------------- filters

#: The filter guidelines page, which states the distinct-field limits below
#: (https://docs.aws.amazon.com/personalize/latest/dg/filter-expression-guidelines-requirements.html).
FILTER_GUIDELINES = DG + "filter-expression-guidelines-requirements.html"
#: Distinct dataset fields one filter reads, chained expressions together: 10; across
#: all the filters of a dataset group: 20 (the guidelines page above and
#: https://docs.aws.amazon.com/personalize/latest/dg/limits.html; an earlier edition of
#: the guidelines page said 5 and 10).
MAX_DISTINCT_FIELDS = 10
MAX_GROUP_FILTER_FIELDS = 20
#: ``filterExpression`` of CreateFilter: at most 2500 characters
#: (https://docs.aws.amazon.com/personalize/latest/dg/API_CreateFilter.html).
MAX_EXPRESSION_CHARS = 2500
#: ``filterValues`` of a request: at most 25 entries, keys ``[A-Za-z0-9_]+`` of at most
#: 50 characters, values of at most 1000 characters
#: (https://docs.aws.amazon.com/personalize/latest/dg/API_RS_GetRecommendations.html).
MAX_FILTER_VALUES = 25
MAX_PARAMETER_NAME = 50
MAX_FILTER_VALUE_CHARS = 1000
#: Interactions filters consider the most recent 100 interactions per user per event
#: type (adjustable; https://docs.aws.amazon.com/personalize/latest/dg/limits.html).
INTERACTIONS_PER_EVENT_TYPE = 100

# --------------------------------------------------------------------------- recipes

RecipeType = Literal[
    "USER_PERSONALIZATION",
    "POPULAR_ITEMS",
    "PERSONALIZED_RANKING",
    "RELATED_ITEMS",
    "USER_SEGMENTATION",
    "PERSONALIZED_ACTIONS",
]

RECIPE_PREFIX = "arn:aws:personalize:::recipe/"

#: Every custom recipe by its name in the ARN, with its type
#: (https://docs.aws.amazon.com/personalize/latest/dg/working-with-predefined-recipes.html);
#: the ``aws-hrnn*`` recipes are legacy.
CUSTOM_RECIPES: Mapping[str, RecipeType] = {
    "aws-user-personalization-v2": "USER_PERSONALIZATION",
    "aws-user-personalization": "USER_PERSONALIZATION",
    "aws-personalized-ranking-v2": "PERSONALIZED_RANKING",
    "aws-personalized-ranking": "PERSONALIZED_RANKING",
    "aws-similar-items": "RELATED_ITEMS",
    "aws-sims": "RELATED_ITEMS",
    "aws-semantic-similarity": "RELATED_ITEMS",
    "aws-popularity-count": "POPULAR_ITEMS",
    "aws-trending-now": "POPULAR_ITEMS",
    "aws-item-affinity": "USER_SEGMENTATION",
    "aws-item-attribute-affinity": "USER_SEGMENTATION",
    "aws-next-best-action": "PERSONALIZED_ACTIONS",
    "aws-hrnn": "USER_PERSONALIZATION",
    "aws-hrnn-metadata": "USER_PERSONALIZATION",
    "aws-hrnn-coldstart": "USER_PERSONALIZATION",
}
#: Short names personakit accepts -> (recipe name in the ARN, recipe type).
RECIPES: Mapping[str, tuple[str, RecipeType]] = {
    name.removeprefix("aws-"): (name, kind)
    for name, kind in CUSTOM_RECIPES.items()
    if not name.startswith("aws-hrnn")
}
#: Recipes without batch inference: Trending-Now and Next-Best-Action
#: (https://docs.aws.amazon.com/personalize/latest/dg/API_CreateBatchInferenceJob.html).
NO_BATCH_RECIPES = frozenset({"aws-trending-now", "aws-vod-trending-now", "aws-next-best-action"})
#: Recipes whose solution versions can be trained with ``trainingMode="UPDATE"``
#: (https://docs.aws.amazon.com/personalize/latest/dg/API_CreateSolutionVersion.html).
UPDATE_RECIPES = frozenset({"aws-user-personalization", "aws-hrnn-coldstart"})


# --------------------------------------------------------------------------- domains


class Domain(str, Enum):
    """Domain dataset groups (``CreateDatasetGroup(domain=)``;
    https://docs.aws.amazon.com/personalize/latest/dg/domain-dataset-groups.html)."""

    ECOMMERCE = "ECOMMERCE"
    VIDEO_ON_DEMAND = "VIDEO_ON_DEMAND"

    @classmethod
    def parse(cls, value: str | Domain | None) -> Domain | None:
        """Accept ``None``, ``"ecommerce"``, ``"video-on-demand"``, ``"VOD"`` ..."""
        if value is None or isinstance(value, Domain):
            return value
        if not isinstance(value, str):
            raise TypeError(f"a domain is a string or None; got {type(value).__name__} {value!r}")
        key = re.sub(r"[\s\-]", "_", value).upper()
        if key == "VOD":
            return cls.VIDEO_ON_DEMAND
        try:
            return cls(key)
        except ValueError:
            raise ValidationError(
                f"unknown domain {value!r}; expected ECOMMERCE or VIDEO_ON_DEMAND"
            ) from None


Need = Literal["required", "optional", "unused"]


@attrs.frozen
class UseCase:
    """A domain use case: what a recommender serves and what it trains on.

    Attributes:
        name: personakit's short name (``"top-picks"``).
        domain: The domain it belongs to.
        recipe: The recipe's name in its ARN (``"aws-vod-top-picks"``).
        kind: What it returns like: ``"USER_PERSONALIZATION"``, ``"POPULAR_ITEMS"``
            or ``"RELATED_ITEMS"``.
        user: Whether ``GetRecommendations`` needs ``userId``.
        item: Whether it needs ``itemId``.
        events: The event type it needs 1000 of; None: 1000 events of any type.
        needs_items: Whether it needs an Items dataset.
    """

    name: str
    domain: Domain
    recipe: str
    kind: RecipeType
    user: Need
    item: Need
    events: str | None = None
    needs_items: bool = False

    @property
    def arn(self) -> str:
        """The recipe ARN ``CreateRecommender`` takes."""
        return RECIPE_PREFIX + self.recipe

    @property
    def explores(self) -> bool:
        """Whether it takes ``itemExplorationConfig`` (the personalized use cases)."""
        return self.kind == "USER_PERSONALIZATION"


_E, _V = Domain.ECOMMERCE, Domain.VIDEO_ON_DEMAND
#: Domain use cases by domain and short name
#: (https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-use-cases.html,
#: https://docs.aws.amazon.com/personalize/latest/dg/VIDEO_ON_DEMAND-use-cases.html).
USE_CASES: Mapping[Domain, Mapping[str, UseCase]] = {
    domain: {u.name: u for u in cases}
    for domain, cases in (
        (
            _E,
            (
                UseCase(
                    "customers-who-viewed-x-also-viewed",
                    _E,
                    "aws-ecomm-customers-who-viewed-x-also-viewed",
                    "RELATED_ITEMS",
                    "required",
                    "required",
                    "View",
                ),
                UseCase(
                    "best-sellers",
                    _E,
                    "aws-ecomm-popular-items-by-purchases",
                    "POPULAR_ITEMS",
                    "required",
                    "unused",
                    "Purchase",
                ),
                UseCase(
                    "frequently-bought-together",
                    _E,
                    "aws-ecomm-frequently-bought-together",
                    "RELATED_ITEMS",
                    "optional",
                    "required",
                    "Purchase",
                ),
                UseCase(
                    "most-viewed",
                    _E,
                    "aws-ecomm-popular-items-by-views",
                    "POPULAR_ITEMS",
                    "required",
                    "unused",
                    "View",
                ),
                UseCase(
                    "recommended-for-you",
                    _E,
                    "aws-ecomm-recommended-for-you",
                    "USER_PERSONALIZATION",
                    "required",
                    "unused",
                ),
            ),
        ),
        (
            _V,
            (
                UseCase(
                    "because-you-watched-x",
                    _V,
                    "aws-vod-because-you-watched-x",
                    "RELATED_ITEMS",
                    "required",
                    "required",
                    "Watch",
                ),
                UseCase(
                    "more-like-x",
                    _V,
                    "aws-vod-more-like-x",
                    "RELATED_ITEMS",
                    "required",
                    "required",
                    needs_items=True,
                ),
                UseCase(
                    "most-popular",
                    _V,
                    "aws-vod-most-popular",
                    "POPULAR_ITEMS",
                    "required",
                    "unused",
                    "Watch",
                ),
                UseCase(
                    "top-picks",
                    _V,
                    "aws-vod-top-picks",
                    "USER_PERSONALIZATION",
                    "required",
                    "unused",
                ),
                UseCase(
                    "trending-now",
                    _V,
                    "aws-vod-trending-now",
                    "POPULAR_ITEMS",
                    "optional",
                    "unused",
                ),
            ),
        ),
    )
}

#: Every recipe by its name in the ARN (custom and domain) -> its type.
ALL_RECIPES: Mapping[str, RecipeType] = {
    **CUSTOM_RECIPES,
    **{u.recipe: u.kind for cases in USE_CASES.values() for u in cases.values()},
}
_BY_RECIPE: Mapping[str, UseCase] = {
    u.recipe: u for cases in USE_CASES.values() for u in cases.values()
}


def _key(name: str) -> str:
    """The normal form of a recipe or use-case name: the ARN's last part, lower case,
    spaces and ``_`` as ``-``."""
    return re.sub(r"[\s_]+", "-", str(name).strip().lower()).rsplit("/", 1)[-1]


def find_use_case(name: str, domain: str | Domain | None = None) -> UseCase | None:
    """The use case for a short name (``"top-picks"``), a recipe name
    (``"aws-vod-top-picks"``, or without its ``aws-vod-`` prefix) or a recipe ARN; case,
    spaces and ``_`` do not matter. With ``domain``, that domain's use case wins a tie
    (``trending-now``); None when nothing matches."""
    key = _key(name)
    found = _BY_RECIPE.get(key)
    if found is not None:
        return found
    matches = [
        u
        for cases in USE_CASES.values()
        for u in cases.values()
        if key in (u.name, u.recipe.split("-", 2)[2], f"{u.name}-for-you")
    ]
    dom = Domain.parse(domain)
    matches.sort(key=lambda u: u.domain != dom)
    return matches[0] if matches else None


def recipe_name(recipe: str) -> str:
    """The recipe's name in its ARN: ``"sims"``, ``"aws-sims"`` or the ARN -> ``"aws-sims"``.

    Raises:
        ConfigurationError: An unknown short name (the message lists the known ones).
    """
    key = _key(recipe)
    if key in RECIPES:
        return RECIPES[key][0]
    if key.startswith("aws-"):
        if key not in ALL_RECIPES:  # passed on (a recipe newer than personakit?), but
            close = difflib.get_close_matches(key, ALL_RECIPES, n=1, cutoff=0.85)
            if close:  # a near miss is more likely a typo: say so before AWS refuses it
                warnings.warn(
                    f"recipe {recipe!r} is not one personakit knows; did you mean "
                    f"{close[0]!r}? It is sent to Personalize as is (recipes: "
                    "https://docs.aws.amazon.com/personalize/latest/dg/working-with-predefined-recipes.html)",
                    stacklevel=3,
                )
        return key
    known = ", ".join(sorted(RECIPES))
    close = difflib.get_close_matches(key, RECIPES, n=1, cutoff=0.75)
    hint = f"did you mean {close[0]!r} ({RECIPES[close[0]][0]})? " if close else ""
    raise ConfigurationError(
        f"unknown recipe {recipe!r}; {hint}known: {known} (or pass a recipe ARN; "
        "ListRecipes shows every recipe of your region: "
        "https://docs.aws.amazon.com/personalize/latest/dg/working-with-predefined-recipes.html)"
    )


def recipe_arn(recipe: str) -> str:
    """The recipe ARN for a short name (``"sims"``), an ``aws-...`` name or an ARN
    (which passes through).

    Raises:
        ConfigurationError: An unknown short name (the message lists the known ones).
    """
    if recipe.startswith("arn:"):
        return recipe
    return RECIPE_PREFIX + recipe_name(recipe)


def recipe_type(recipe: str) -> RecipeType | None:
    """The recipe type (``"RELATED_ITEMS"`` ...) of a known recipe, else ``None``.

    Raises:
        ConfigurationError: An unknown short name.
    """
    if recipe.startswith("arn:"):
        return ALL_RECIPES.get(recipe.rsplit("/", 1)[-1])
    return ALL_RECIPES.get(recipe_name(recipe))
