"""Personalize's offline metric definitions, pure functions
(https://docs.aws.amazon.com/personalize/latest/dg/working-with-training-metrics.html).

Shared by :mod:`personakit.local.evaluation` and the hyperparameter tuning of
the algorithms, so both measure the same thing.

* precision@K = relevant items in the top K / K;
* NDCG@K: gain 1/log2(1 + position), position 1 at the top; the ideal DCG puts
  min(|relevant|, K) relevant items at the top (the textbook normalisation,
  which reproduces the documented worked example: hits at 2 and 5, two relevant
  items, K=5 -> (1/log 3 + 1/log 6)/(1/log 2 + 1/log 3) = 0.6241);
* NDCG-hits@K (``ndcgh``): the ideal DCG is the top K *recommended*
  list sorted by relevance, i.e. only the hits found count; Personalize's
  published numbers fit this reading, which is an inference, not documented;
* reciprocal rank@K = 1/rank of the first relevant item in the top K, 0 if none.

The log base cancels in the ratio.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Sequence

__all__ = [
    "holdout_size",
    "ndcg_at_k",
    "ndcg_hits_at_k",
    "precision_at_k",
    "reciprocal_rank_at_k",
]


def holdout_size(n: int, fraction: float = 0.1) -> int:
    """Events held out as truth from a user's ``n``: max(1, round-half-up(fraction·n)).

    0 when ``n`` is 0. The documented split ("the newest 10%") does not say how
    a fraction rounds; this is our choice.
    """
    if n <= 0:
        return 0
    return max(1, math.floor(fraction * n + 0.5))


def _gain(position: int) -> float:
    return 1.0 / math.log2(1 + position)


def precision_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    hits = sum(1 for item in ranked[:k] if item in relevant)
    return hits / k


def ndcg_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    if not relevant:
        return 0.0
    dcg = sum(_gain(r) for r, item in enumerate(ranked[:k], start=1) if item in relevant)
    ideal = sum(_gain(r) for r in range(1, min(len(relevant), k) + 1))
    return dcg / ideal


def ndcg_hits_at_k(ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    positions = [r for r, item in enumerate(ranked[:k], start=1) if item in relevant]
    if not positions:
        return 0.0
    dcg = sum(_gain(r) for r in positions)
    ideal = sum(_gain(r) for r in range(1, len(positions) + 1))
    return dcg / ideal


def reciprocal_rank_at_k(
    ranked: Sequence[Hashable], relevant: Collection[Hashable], k: int
) -> float:
    for r, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            return 1.0 / r
    return 0.0
