"""SLIST (Choi et al., WWW 2021): a closed-form item-item model of similarity and transition.

"Session-aware Linear Item-Item Models for Session-based Recommendation"
(https://arxiv.org/abs/2103.16104) unifies two linear models with one weight matrix B:

* SLIS (similarity): each session's item set predicts itself, ``||X − X·B||²``, as EASE;
* SLIT (transition): each prefix of a session predicts the items that follow it,
  ``||T − S·B||²``, where row t of S holds the items up to position t and row t of T
  the items after it, both weighted ``exp(−distance / train_decay)`` by their distance
  from the split point (the paper's "part" direction), S's rows l1-normalised.

SLIST minimises ``α·||X − X·B||² + (1 − α)·||T − S·B||² + λ·||B||²``, whose solution is
``B = P·(α·XₙᵀX + (1 − α)·SₙᵀT)`` with ``P = (α·XₙᵀXₙ + (1 − α)·SₙᵀSₙ + λI)⁻¹``
(Xₙ, Sₙ: the l1-normalised inputs). A "session" here is a user's whole history: the
distinct items, oldest first, each at its newest position (what the user model scores).
Entries lighter than 1e-3 are left out (a window of ``decay·ln(1000)`` items each side),
which bounds S and T to ``O(events · window)`` entries.

The diagonal of B is set to 0 afterwards: it only changes the scores of the items the
user already has, so the ranking of everything else is SLIST's, and the scores served
keep EASE's meaning (a user's own items are not pushed back to the top). Scoring is
EASE's: ``x·B`` for the recency-weighted history ``x`` (:class:`~.ease.EaseScorer`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]
from scipy.linalg import lapack  # type: ignore[import-untyped]

from personakit.local.algorithms.ease import EaseScorer

__all__ = ["fit_slist", "transitions"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

#: entries whose decay weight falls below this are dropped (bounds S and T)
MIN_WEIGHT = 1e-3


def _window(decay: float) -> int:
    return max(1, math.ceil(decay * math.log(1 / MIN_WEIGHT)) + 1)


def transitions(indptr: npt.ArrayLike, items: npt.ArrayLike, n_items: int, decay: float) -> Any:
    """(S, T): one row per split point of each sequence (after position t, t < last).

    Row t of S holds the items at positions <= t weighted ``exp(−(t − s)/decay)``,
    l1-normalised; row t of T the items at positions > t weighted
    ``exp(−(s − t − 1)/decay)``; both within the 1e-3 window."""
    ptr = np.asarray(indptr, dtype=np.int64)
    seq = np.asarray(items, dtype=np.int64)
    n = len(seq)
    owner = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))
    start, stop = ptr[owner], ptr[owner + 1]
    split = np.flatnonzero(np.arange(n) < stop - 1)  # positions followed by another item
    rows = np.arange(len(split))
    window = _window(decay)
    s_rows, s_cols, s_vals, t_rows, t_cols, t_vals = [], [], [], [], [], []
    for d in range(window):
        back = split - d
        ok = back >= start[split]
        s_rows.append(rows[ok])
        s_cols.append(seq[back[ok]])
        s_vals.append(np.full(int(ok.sum()), math.exp(-d / decay)))
        ahead = split + 1 + d
        ok = ahead < stop[split]
        t_rows.append(rows[ok])
        t_cols.append(seq[ahead[ok]])
        t_vals.append(np.full(int(ok.sum()), math.exp(-d / decay)))
    shape = (len(split), n_items)
    source = sp.csr_matrix(
        (np.concatenate(s_vals), (np.concatenate(s_rows), np.concatenate(s_cols))),
        shape=shape,
        dtype=np.float64,
    )
    target = sp.csr_matrix(
        (np.concatenate(t_vals), (np.concatenate(t_rows), np.concatenate(t_cols))),
        shape=shape,
        dtype=np.float64,
    )
    return _l1_rows(source), target


def _l1_rows(x: Any) -> Any:
    sums = np.asarray(abs(x).sum(axis=1)).ravel()
    sums[sums == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / sums) @ x)


def fit_slist(
    x: Any,
    indptr: npt.ArrayLike,
    items: npt.ArrayLike,
    *,
    alpha: float,
    l2: float,
    decay: float,
) -> EaseScorer:
    """SLIST's B over the items with interactions, as an :class:`~.ease.EaseScorer`.

    ``x``: users x items binary CSR; ``indptr``/``items``: each user's distinct items,
    oldest first (``Events.sequences()``); ``alpha``: SLIS's share (1 is EASE without
    its zero-diagonal constraint); ``l2``: λ; ``decay``: the position decay of S and T."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"SLIST alpha {alpha!r} must be within [0, 1]")
    n_items = x.shape[1]
    active = np.flatnonzero(np.diff(sp.csc_matrix(x).indptr) > 0)
    xa = sp.csr_matrix(x, dtype=np.float64)[:, active]
    source, target = transitions(indptr, items, n_items, decay)
    source, target = source[:, active], target[:, active]
    xn = _l1_rows(xa)
    g = (alpha * (xn.T @ xn) + (1 - alpha) * (source.T @ source)).toarray()
    rhs = (alpha * (xn.T @ xa) + (1 - alpha) * (source.T @ target)).toarray()
    n = len(active)
    g[np.diag_indices(n)] += l2
    chol, info = lapack.dpotrf(g, lower=0, overwrite_a=1, clean=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"SLIST: Cholesky failed (info={info}); raise l2")
    b, info = lapack.dpotrs(chol, rhs, lower=0, overwrite_b=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"SLIST: solve failed (info={info})")
    b = np.asarray(b, dtype=np.float32)
    b[np.diag_indices(n)] = 0.0
    return EaseScorer(b, active, n_items)
