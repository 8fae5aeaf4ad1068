"""EASE (Steck, WWW 2019): a closed-form item-item model with a zero diagonal.

``B = I - P diag(1/diag(P))`` with ``P = (XᵀX + λI)⁻¹``, in float32 through a
Cholesky factorisation done in place (``spotrf`` + ``spotri``, 4-6x faster than
``np.linalg.inv``):
one dense items x items matrix, about ``4·I²`` bytes (1.6 GB at 20k items).
A user's scores are ``x·B`` for the (recency-weighted) history vector ``x``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]
from scipy.linalg import lapack  # type: ignore[import-untyped]

__all__ = [
    "EaseScorer",
    "available_memory",
    "default_l2",
    "ease_fits_in_memory",
    "ease_from_gram",
    "gram",
]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

#: bytes per I² float32 entry needed at peak: Gram/inverse in place, the kept copy
#: during tuning, blocks for symmetrising and headroom
_PEAK_MATRICES = 2.5


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes (None where unknown)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def ease_fits_in_memory(n_items: int, *, copies: float = _PEAK_MATRICES) -> bool:
    """Whether the dense I x I float32 work fits in the memory available now."""
    need = copies * 4.0 * n_items * n_items
    free = available_memory()
    if free is None:  # not Linux: assume a laptop with 8 GB to spare
        free = 8 * 1024**3
    return need <= 0.8 * free


def gram(x: Any, *, block: int = 2048) -> F32:
    """Dense XᵀX (float32) built from item blocks, never holding a big sparse product."""
    n_items = x.shape[1]
    out = np.zeros((n_items, n_items), dtype=np.float32)
    xt = sp.csr_matrix(x.T, dtype=np.float32)
    xc = sp.csc_matrix(x, dtype=np.float32)
    for start in range(0, n_items, block):
        stop = min(start + block, n_items)
        part = xt @ xc[:, start:stop]  # items x block, sparse
        out[:, start:stop] = part.toarray()
    return out


def ease_from_gram(g: F32, l2: float, *, overwrite: bool = False) -> F32:
    """B from a Gram matrix; with ``overwrite`` the Gram's memory becomes B."""
    n = g.shape[0]
    work = g if overwrite else g.copy()
    if n == 0:
        return work
    work[np.diag_indices(n)] += np.float32(l2)
    # ``work`` is C-ordered and symmetric: its transpose is a Fortran view of the
    # same memory, so LAPACK factorises in place (lower in Fortran = upper in C).
    fortran = work.T
    chol, info = lapack.spotrf(fortran, lower=1, overwrite_a=1, clean=0)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE: Cholesky failed (info={info}); raise l2")
    inv, info = lapack.spotri(chol, lower=1, overwrite_c=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE: inverse failed (info={info}); raise l2")
    p = inv.T  # C view; the valid triangle is the upper one
    if not np.shares_memory(p, work):  # LAPACK copied after all: keep going on its result
        work = np.ascontiguousarray(p)
    _symmetrise_from_upper(work)
    diag = work.diagonal().copy()
    work /= -diag[np.newaxis, :]
    work[np.diag_indices(n)] = 0.0
    return work


def _symmetrise_from_upper(a: F32, block: int = 1024) -> None:
    n = a.shape[0]
    for start in range(0, n, block):
        stop = min(start + block, n)
        if start:
            a[start:stop, :start] = a[:start, start:stop].T
        tile = a[start:stop, start:stop]
        tile[...] = np.triu(tile) + np.triu(tile, 1).T


def default_l2(x: Any) -> float:
    """25·sqrt(mean item popularity), fitted to the published and tuned λ (see personalization)."""
    nnz = x.nnz
    active = int((np.diff(sp.csc_matrix(x).indptr) > 0).sum())
    mean_pop = nnz / active if active else 1.0
    return float(np.clip(25.0 * math.sqrt(mean_pop), 10.0, 1e5))


class EaseScorer:
    """Scores from B, kept over the items that have interactions only (cold items score 0)."""

    kind = "ease"

    def __init__(self, b: F32, active: I64, n_items: int) -> None:
        self.b = np.ascontiguousarray(b, dtype=np.float32)
        self.active = np.asarray(active, dtype=np.int64)
        self.n_items = int(n_items)
        self.to_active = np.full(self.n_items, -1, dtype=np.int64)
        self.to_active[self.active] = np.arange(len(self.active))
        self._all_active = len(self.active) == self.n_items

    @classmethod
    def fit(cls, x: Any, l2: float) -> EaseScorer:
        active = np.flatnonzero(np.diff(sp.csc_matrix(x).indptr) > 0)
        return cls.from_gram(gram(x[:, active]), active, x.shape[1], l2, overwrite=True)

    @classmethod
    def from_gram(
        cls, g: F32, active: I64, n_items: int, l2: float, *, overwrite: bool = False
    ) -> EaseScorer:
        return cls(ease_from_gram(g, l2, overwrite=overwrite), active, n_items)

    def _full(self, active_scores: F32) -> F32:
        if self._all_active:
            return active_scores
        out = np.zeros(self.n_items, np.float32)
        out[self.active] = active_scores
        return out

    def score(self, positions: I64, weights: F32) -> F32:
        """x·B over all items: a sparse row times the dense B (no row copies)."""
        a = self.to_active[positions]
        keep = a >= 0
        vector = sp.csr_matrix(
            (weights[keep].astype(np.float32), a[keep], np.array([0, int(keep.sum())])),
            shape=(1, len(self.active)),
        )
        out = np.asarray(vector @ self.b, dtype=np.float32).ravel()
        return self._full(out)

    def score_batch(self, weighted: Any) -> F32:
        """Scores for a users x items CSR of weighted histories (rows x all items).

        Each row's entries keep their order (items without interactions dropped), so a
        row's sum runs as in :meth:`score` and gives the same float32 scores.
        """
        rows = sp.csr_matrix(weighted)
        a = self.to_active[rows.indices]
        keep = a >= 0
        kept = np.concatenate([[0], np.cumsum(keep)])[np.asarray(rows.indptr, np.int64)]
        vectors = sp.csr_matrix(
            (np.asarray(rows.data, np.float32)[keep], a[keep], kept),
            shape=(rows.shape[0], len(self.active)),
        )
        part = np.asarray(vectors @ self.b, dtype=np.float32)
        if self._all_active:
            return part
        out = np.zeros((part.shape[0], self.n_items), np.float32)
        out[:, self.active] = part
        return out

    def score_some(self, positions: I64, weights: F32, targets: I64) -> F32:
        a = self.to_active[positions]
        keep = a >= 0
        t = self.to_active[targets]
        known = t >= 0
        out = np.zeros(len(targets), np.float32)
        sub = self.b[np.ix_(a[keep], t[known])]
        out[known] = weights[keep].astype(np.float32) @ sub
        return out

    def neighbours(self, position: int) -> F32:
        a = int(self.to_active[position])
        if a < 0:
            return np.zeros(self.n_items, np.float32)
        return self._full(self.b[a].copy())

    # users x items, for segmentation ------------------------------------------------

    def users_state(self, weighted: Any) -> Any:
        return sp.csr_matrix(sp.csc_matrix(weighted, dtype=np.float32)[:, self.active])

    def user_scores(self, state: Any, targets: I64) -> npt.NDArray[np.float64]:
        t = self.to_active[targets]
        known = t >= 0
        out = np.zeros((state.shape[0], len(targets)), np.float64)
        if known.any():
            out[:, known] = np.asarray(state @ self.b[:, t[known]], dtype=np.float64)
        return out

    def user_norm(self, state: Any) -> npt.NDArray[np.float64]:
        """Σ_j max(score_uj, 0) per user, in user blocks (for the score share)."""
        n_users = state.shape[0]
        out = np.zeros(n_users, np.float64)
        block = max(1, int(2e7 // max(len(self.active), 1)))
        for start in range(0, n_users, block):
            stop = min(start + block, n_users)
            scores = np.asarray(state[start:stop] @ self.b)
            np.maximum(scores, 0, out=scores)
            out[start:stop] = scores.sum(axis=1)
        return out

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {"ease_b": self.b, "ease_active": self.active}

    def params(self) -> dict[str, Any]:
        return {"n_items": self.n_items}

    @classmethod
    def restore(cls, params: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> EaseScorer:
        return cls(arrays.pop("ease_b"), arrays.pop("ease_active"), int(params["n_items"]))
