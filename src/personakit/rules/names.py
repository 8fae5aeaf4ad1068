"""Field names: what Personalize accepts, when two names are the same, and the column
names personakit recognises for each reserved field.

Part of :mod:`personakit.rules` (pure, no I/O). Field names follow the ``ColumnName``
pattern of the API
(https://docs.aws.amazon.com/personalize/latest/dg/API_TrainingDataConfig.html) and
must be unique with underscores and case ignored
(https://docs.aws.amazon.com/personalize/latest/dg/how-it-works-dataset-schema.html).
"""

from __future__ import annotations

import re

__all__ = [
    "FIELD_NAME_RE",
    "MAX_FIELD_NAME",
    "ROLE_ALIASES",
    "alias_key",
    "field_name_for",
    "squash_name",
]

#: Column names: the API's ``ColumnName`` pattern and max length
#: (https://docs.aws.amazon.com/personalize/latest/dg/API_TrainingDataConfig.html).
FIELD_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z\d_]*\Z")
MAX_FIELD_NAME = 150

#: Column names recognised for each reserved role, compared after lower-casing and
#: removing ``_``, ``-`` and spaces.
ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "USER_ID": (
        "userid",
        "user",
        "customerid",
        "customer",
        "visitorid",
        "memberid",
        "accountid",
        "clientid",
        "uid",
    ),
    "ITEM_ID": (
        "itemid",
        "item",
        "movieid",
        "productid",
        "product",
        "sku",
        "articleid",
        "contentid",
        "asin",
        "videoid",
        "trackid",
        "bookid",
        "iid",
    ),
    "ACTION_ID": ("actionid",),
    "TIMESTAMP": (
        "timestamp",
        "ts",
        "eventtime",
        "eventtimestamp",
        "time",
        "datetime",
        "eventdate",
        "date",
        "interactiontime",
    ),
    "CREATION_TIMESTAMP": (
        "creationtimestamp",
        "createdat",
        "creationtime",
        "creationdate",
        "publishedat",
        "releasedate",
    ),
    "EVENT_TYPE": ("eventtype", "event", "interactiontype", "eventname"),
    "EVENT_VALUE": ("eventvalue",),
    "IMPRESSION": ("impression", "impressions"),
    "RECOMMENDATION_ID": ("recommendationid",),
    "EVENT_ATTRIBUTION_SOURCE": ("eventattributionsource",),
}


def alias_key(name: str) -> str:
    """A column name as :data:`ROLE_ALIASES` lists it: lower case, no ``_``, ``-`` or spaces."""
    return re.sub(r"[\s_\-]", "", name).lower()


def field_name_for(column: str) -> str:
    """UPPER_SNAKE_CASE field name for a column (``releaseYear`` -> ``RELEASE_YEAR``).

    Characters outside ``[A-Za-z0-9_]`` become ``_``; a leading digit gets a ``_``
    prefix; the result is cut to 150 characters (:data:`MAX_FIELD_NAME`).
    """
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(column).strip())
    name = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_").upper() or "FIELD"
    if name[0].isdigit():
        name = "_" + name
    return name[:MAX_FIELD_NAME]


def squash_name(name: str) -> str:
    """Personalize treats ``GENRES_FIELD_1`` and ``GENRESFIELD1`` as the same name."""
    return name.replace("_", "").upper()
