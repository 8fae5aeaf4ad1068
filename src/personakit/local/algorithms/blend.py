"""A blend of EASE and iALS: per-user z-normalised scores, mixed with a fixed weight.

Each model's scores for a user are standardised over the whole catalogue (mean 0, unit
standard deviation; a constant score vector stays 0), then combined as
``w·z_ease + (1 - w)·z_ials``. The two scales differ per user and per model (EASE's
``x·B`` grows with the history's weight, iALS's fold-in shrinks with ``reg``), so raw
scores cannot be added; standardising is the usual score-fusion step and costs two
passes over one score vector. Both models score the same recency-weighted history.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from personakit.local.algorithms.ease import EaseScorer
from personakit.local.algorithms.ials import IalsScorer

__all__ = ["BlendScorer", "standardise"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def standardise(scores: npt.NDArray[Any]) -> F32:
    """Rows (or one vector) to mean 0 and unit standard deviation; constant rows to 0."""
    values = np.asarray(scores, dtype=np.float32)
    mean = values.mean(axis=-1, keepdims=True)
    std = values.std(axis=-1, keepdims=True)
    std[std == 0] = 1.0
    return np.asarray((values - mean) / std, dtype=np.float32)


def _combine(ease: npt.NDArray[Any], ials: npt.NDArray[Any], weight: float) -> F32:
    out = standardise(ease)
    out *= np.float32(weight)
    out += np.float32(1.0 - weight) * standardise(ials)
    return out


class BlendScorer:
    """EASE and iALS over the same items, scores mixed as ``w·z_ease + (1 - w)·z_ials``."""

    kind = "blend"

    def __init__(self, ease: EaseScorer, ials: IalsScorer, weight: float) -> None:
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"blend weight {weight!r} must be within [0, 1]")
        if ease.n_items != ials.n_items:
            raise ValueError(f"blend: EASE has {ease.n_items} items, iALS {ials.n_items}")
        self.ease = ease
        self.ials = ials
        self.weight = float(weight)
        self.n_items = ease.n_items

    def score(self, positions: I64, weights: F32) -> F32:
        return _combine(
            self.ease.score(positions, weights), self.ials.score(positions, weights), self.weight
        )

    def score_batch(self, weighted: Any) -> F32:
        return _combine(
            self.ease.score_batch(weighted), self.ials.score_batch(weighted), self.weight
        )

    def score_some(self, positions: I64, weights: F32, targets: I64) -> F32:
        """Blended scores of ``targets`` (standardised over the whole catalogue)."""
        return self.score(positions, weights)[targets]

    def neighbours(self, position: int) -> F32:
        return _combine(self.ease.neighbours(position), self.ials.neighbours(position), self.weight)

    # users x items, for segmentation ------------------------------------------------

    def users_state(self, weighted: Any) -> tuple[Any, F32, F64]:
        """Each model's state plus every user's score mean and std per model (4 columns)."""
        ease_state = self.ease.users_state(weighted)
        ials_state = self.ials.users_state(weighted)
        n_users = weighted.shape[0]
        stats = np.zeros((n_users, 4), np.float64)
        block = max(1, int(2e7 // max(self.n_items, 1)))
        everything = np.arange(self.n_items, dtype=np.int64)
        for start in range(0, n_users, block):
            stop = min(start + block, n_users)
            e = self.ease.user_scores(ease_state[start:stop], everything)
            i = self.ials.user_scores(ials_state[start:stop], everything)
            stats[start:stop] = np.stack([e.mean(1), e.std(1), i.mean(1), i.std(1)], axis=1)
        stats[:, 1][stats[:, 1] == 0] = 1.0
        stats[:, 3][stats[:, 3] == 0] = 1.0
        return ease_state, ials_state, stats

    def _mixed(self, state: tuple[Any, F32, F64], rows: slice, targets: I64) -> F64:
        ease_state, ials_state, stats = state
        s = stats[rows]
        e = self.ease.user_scores(ease_state[rows], targets)
        i = self.ials.user_scores(ials_state[rows], targets)
        e = (e - s[:, :1]) / s[:, 1:2]
        i = (i - s[:, 2:3]) / s[:, 3:4]
        return np.asarray(self.weight * e + (1.0 - self.weight) * i, dtype=np.float64)

    def user_scores(self, state: tuple[Any, F32, F64], targets: I64) -> F64:
        return self._mixed(state, slice(None), targets)

    def user_norm(self, state: tuple[Any, F32, F64]) -> F64:
        """Σ_j max(blended score_uj, 0) per user, in user blocks."""
        n_users = state[2].shape[0]
        out = np.zeros(n_users, np.float64)
        block = max(1, int(2e7 // max(self.n_items, 1)))
        everything = np.arange(self.n_items, dtype=np.int64)
        for start in range(0, n_users, block):
            stop = min(start + block, n_users)
            scores = self._mixed(state, slice(start, stop), everything)
            np.maximum(scores, 0, out=scores)
            out[start:stop] = scores.sum(axis=1)
        return out

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {**self.ease.arrays(), **self.ials.arrays()}

    def params(self) -> dict[str, Any]:
        return {"ease": self.ease.params(), "ials": self.ials.params(), "weight": self.weight}

    @classmethod
    def restore(cls, params: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> BlendScorer:
        ease = EaseScorer.restore(params["ease"], arrays)
        ials = IalsScorer.restore(params["ials"], arrays)
        return cls(ease, ials, float(params["weight"]))
