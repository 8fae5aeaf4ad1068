"""Turn everyday data into frames in Amazon Personalize's shape.

``pk.prep`` takes the tables people have (MovieLens ratings, a product catalogue,
a CRM export) and returns new pandas DataFrames that Personalize accepts as they
are (https://docs.aws.amazon.com/personalize/latest/dg/custom-datasets-and-schemas.html):

* reserved columns carry their reserved names (``USER_ID``, ``ITEM_ID``,
  ``TIMESTAMP``, ``EVENT_TYPE``, ``EVENT_VALUE``, ``CREATION_TIMESTAMP`` ...),
  recognised the same way :meth:`personakit.Schema.infer` recognises them;
  metadata columns are renamed to UPPER_SNAKE_CASE with
  :func:`personakit.rules.schema.field_name_for` (``releaseYear`` -> ``RELEASE_YEAR``);
* ids are strings (``1`` -> ``"1"``, an integral float ``1.0`` -> ``"1"``);
* timestamps are ``int64`` Unix epoch **seconds** (:func:`epoch_seconds`);
* multi-value categorical values are ``|``-joined (:func:`join_multi_value`);
* booleans are the strings ``"True"``/``"False"`` (Personalize ignores boolean
  fields for training and filtering, :func:`booleans`).

Every function accepts a pandas DataFrame (pandas 2.2 or 3, any dtype backend) or
a pyarrow Table, never changes its input, and works column-at-a-time (no Python
loop per row, except for object columns holding Python containers, which are
Python objects to begin with). Bad input raises one
:class:`~personakit.ValidationError` listing every problem found, each with the
column, the rule and example rows.

Frames built from scratch (:func:`ratings_to_interactions`, :func:`items`,
:func:`users`, :func:`items_from`, :func:`users_from`,
:func:`aggregate_multi_value`) get a fresh ``RangeIndex``; column-wise
transforms of your frame (:func:`booleans`, :func:`fill_missing`,
:func:`rename_reserved`) keep its index.

Join or concat? Use a **join** (:func:`items_from`, :func:`users_from`) when
several tables describe the *same ids* with *different columns* (movies +
links + aggregated tags: one row per movie, more columns). Use a **concat**
(``pd.concat([a, b], ignore_index=True)``) when tables hold *more rows of the
same columns* (January and February interactions, two catalogues of items);
:func:`items` and :func:`users` then keep the last record of an id, as
Personalize does when the same id is imported twice.

The functions live in submodules by what they shape (:mod:`~personakit.rules.prep.timestamps`,
:mod:`~personakit.rules.prep.multivalue`, :mod:`~personakit.rules.prep.columns`,
:mod:`~personakit.rules.prep.interactions`, :mod:`~personakit.rules.prep.catalog`, all
on :mod:`~personakit.rules.prep.base`); use them from here.
"""

from __future__ import annotations

from personakit.rules.facts import MAX_CATEGORICAL_CHARS, MAX_TEXTUAL_CHARS

# the types of the arguments, reachable as pk.prep.Unit ... (not in __all__, as before)
from personakit.rules.prep.base import SEP as SEP
from personakit.rules.prep.base import BooleanMode as BooleanMode
from personakit.rules.prep.base import EventType as EventType
from personakit.rules.prep.base import MultiValue as MultiValue
from personakit.rules.prep.base import OnInvalid as OnInvalid
from personakit.rules.prep.base import OnMissing as OnMissing
from personakit.rules.prep.base import OnTooLong as OnTooLong
from personakit.rules.prep.base import Unit as Unit
from personakit.rules.prep.base import Values as Values
from personakit.rules.prep.catalog import items, items_from, users, users_from
from personakit.rules.prep.columns import booleans, fill_missing, rename_reserved
from personakit.rules.prep.interactions import ratings_to_interactions
from personakit.rules.prep.multivalue import aggregate_multi_value, join_multi_value
from personakit.rules.prep.timestamps import epoch_seconds

__all__ = [
    "MAX_CATEGORICAL_CHARS",
    "MAX_TEXTUAL_CHARS",
    "aggregate_multi_value",
    "booleans",
    "epoch_seconds",
    "fill_missing",
    "items",
    "items_from",
    "join_multi_value",
    "ratings_to_interactions",
    "rename_reserved",
    "users",
    "users_from",
]
