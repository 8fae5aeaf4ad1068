"""Data to try personakit on: seeded synthetic logs, and the MovieLens ratings.

* :func:`synthetic` / :func:`synthetic_movielens` (:mod:`personakit.samples.generator`):
  seeded data with the structure of real interaction logs, for trying personakit
  out, for tests and for benchmarks;
* :func:`load_movielens` (:mod:`personakit.samples.movielens`): GroupLens' MovieLens
  ratings, downloaded once into a cache and checked.
"""

from __future__ import annotations

from personakit.samples.generator import (
    AGE_GROUPS,
    GENRES,
    MEMBERSHIPS,
    SyntheticData,
    synthetic,
    synthetic_movielens,
)
from personakit.samples.movielens import (
    MOVIELENS_MD5,
    MOVIELENS_VARIANTS,
    MovieLens,
    load_movielens,
)

__all__ = [
    "AGE_GROUPS",
    "GENRES",
    "MEMBERSHIPS",
    "MOVIELENS_MD5",
    "MOVIELENS_VARIANTS",
    "MovieLens",
    "SyntheticData",
    "load_movielens",
    "synthetic",
    "synthetic_movielens",
]
