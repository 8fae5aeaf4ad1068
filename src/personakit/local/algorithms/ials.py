"""Implicit ALS (Hu, Koren, Volinsky 2008) solved by conjugate gradient (Takács et al.).

Loss over every user-item pair: ``Σ c_ui (p_ui - x_u·y_i)² + reg (|x|² + |y|²)``
with ``p_ui = 1`` and ``c_ui = alpha·r_ui`` for observed pairs (``r`` = 1, or the
recency weight at fold-in) and ``p = 0``, ``c = 1`` elsewhere: implicit ≥ 0.7's
semantics, so its published grids transfer. Each half-sweep runs a few CG steps
for all users (or items) at once: per-nonzero dot products over gathered factor
rows plus one sparse x dense product, in chunks of rows that bound memory;
never a Python loop per user. Float32 factors, cost O(nnz·f + (U+I)·f²) per step.

Training (:func:`fit_ials`) runs those sweeps on the ``implicit`` library's C++
solver when it is installed (the ``fast`` extra; 3-5x faster than numpy here), else
on :func:`cg_solve`: the same sweeps from the same start either way. Serving and
segmentation (:class:`IalsScorer`) are numpy only.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]

from personakit.local.algorithms.common import chunks, on_this_thread

__all__ = [
    "BACKENDS",
    "IalsScorer",
    "cg_solve",
    "fit_ials",
    "ials_backend",
    "implicit_als",
    "one_blas_thread",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: non-zeros handled per chunk: bounds the gathered (nnz x f) float32 blocks
CHUNK_NNZ = 1 << 16
#: batched fold-in (:meth:`IalsScorer.fold_in_batch`): rows longer than this are solved
#: one at a time; a group's padded rows x width stays under ``FOLD_IN_CELLS`` (x f x 8 B)
FOLD_IN_WIDTH = 512
FOLD_IN_CELLS = 1 << 14
#: threads of the numpy solver (one per core; 1 runs the chunks in turn)
THREADS = min(os.cpu_count() or 1, 8)


def cg_solve(
    conf: Any,
    fixed: F32,
    solve: F32,
    reg: float,
    steps: int,
) -> None:
    """A few CG steps, in place on ``solve``, for every row of the CSR ``conf``.

    Row ``u`` solves ``(FᵀF + reg·I + Σ_i (c_ui - 1) f_i f_iᵀ) x_u = Σ_i c_ui f_i``
    where ``F`` = ``fixed`` (the other side's factors) and ``c_ui`` = ``conf``'s
    values. Rows without non-zeros go to 0. Chunks of rows are independent: they
    run on a thread per core (numpy and scipy release the GIL in these loops).
    """
    factors = fixed.shape[1]
    gram = (fixed.T.astype(np.float64) @ fixed.astype(np.float64)).astype(np.float32)
    gram[np.diag_indices(factors)] += np.float32(reg)
    indptr = np.asarray(conf.indptr, dtype=np.int64)
    data = conf.data.astype(np.float32)

    def one(bounds: tuple[int, int]) -> None:
        _cg_chunk(indptr, conf.indices, data, fixed, gram, solve, bounds, steps)

    parts = list(chunks(indptr, CHUNK_NNZ))
    with one_blas_thread():
        if THREADS < 2 or len(parts) < 2:
            for bounds in parts:
                one(bounds)
        else:
            with ThreadPoolExecutor(THREADS) as pool:
                list(pool.map(one, parts))


#: the threads inside :func:`one_blas_thread` and the limit they share (under the lock)
_BLAS_LOCK = threading.Lock()
_blas_users = 0
_blas_limit: Any = None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread while the solvers run (``threadpoolctl``, when installed).

    Their matrix products are small (a chunk's rows x f x f): a threaded BLAS spends
    more time waking and syncing its threads than multiplying (3x the CPU time and wall
    time of one thread on 2 shared cores), and the solvers use the cores themselves.

    The limit is the process's: threads of the engine (a training, a batch job) that
    enter at once share one, set by the first to enter and lifted by the last to leave
    (nested ``threadpool_limits`` left in another order would restore one thread for
    good).
    """
    global _blas_users, _blas_limit
    try:
        limits = importlib.import_module("threadpoolctl").threadpool_limits
    except ImportError:
        yield
        return
    with _BLAS_LOCK:
        if _blas_users == 0:
            _blas_limit = limits(1, "blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limit.restore_original_limits()
                _blas_limit = None


def _cg_chunk(
    indptr: I64,
    indices: Any,
    data: F32,
    fixed: F32,
    gram: F32,
    solve: F32,
    bounds: tuple[int, int],
    steps: int,
) -> None:
    """:func:`cg_solve` on rows ``start:stop``."""
    start, stop = bounds
    lo, hi = int(indptr[start]), int(indptr[stop])
    n = stop - start
    local_ptr = indptr[start : stop + 1] - lo
    cols = indices[lo:hi]
    c = data[lo:hi]
    gathered = np.take(fixed, cols, axis=0)  # nnz x f, fixed during these CG steps
    counts = np.diff(local_ptr)
    x = solve[start:stop].astype(np.float32)

    def sparse(values: F32) -> Any:
        return sp.csr_matrix((values, cols, local_ptr), shape=(n, fixed.shape[0]))

    dots = np.einsum("nf,nf->n", gathered, np.repeat(x, counts, axis=0))
    r = sparse(c - (c - 1.0) * dots) @ fixed - x @ gram
    r = np.asarray(r, dtype=np.float32)
    p = r.copy()
    rs = np.einsum("nf,nf->n", r, r)
    for _ in range(steps):
        dots = np.einsum("nf,nf->n", gathered, np.repeat(p, counts, axis=0))
        ap = np.asarray(sparse((c - 1.0) * dots) @ fixed, dtype=np.float32) + p @ gram
        pap = np.einsum("nf,nf->n", p, ap)
        step = np.divide(rs, pap, out=np.zeros_like(rs), where=pap > 1e-20)
        x += step[:, None] * p
        r -= step[:, None] * ap
        rs_new = np.einsum("nf,nf->n", r, r)
        beta = np.divide(rs_new, rs, out=np.zeros_like(rs), where=rs > 1e-20)
        p = r + beta[:, None] * p
        rs = rs_new
    solve[start:stop] = x


#: the backends :func:`fit_ials` takes: ``auto`` is ``implicit`` when it imports, else numpy
BACKENDS = ("auto", "numpy", "implicit")


def implicit_als() -> Any | None:
    """``implicit``'s CPU ALS class, or None when the library is not installed."""
    try:
        module = importlib.import_module("implicit.cpu.als")
    except ImportError:
        return None
    return getattr(module, "AlternatingLeastSquares", None)


def ials_backend(backend: str = "auto") -> str:
    """The backend ``backend`` resolves to: ``implicit`` or ``numpy``.

    ``auto`` is ``implicit`` when ``implicit.cpu.als`` imports, else ``numpy``;
    ``implicit`` without the library raises :class:`ImportError`.
    """
    if backend not in BACKENDS:
        raise ValueError(f"iALS backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if backend == "numpy":
        return "numpy"
    if implicit_als() is None:
        if backend == "implicit":
            raise ImportError("the implicit backend needs `pip install personakit[fast]`")
        return "numpy"
    return "implicit"


def fit_ials(
    x: Any,
    *,
    factors: int,
    reg: float,
    alpha: float,
    iterations: int,
    seed: int,
    cg_steps: int = 3,
    backend: str = "auto",
) -> tuple[F32, F32]:
    """User and item factors from a binary users x items CSR.

    Users start at 0 and items at small seeded normals; the first sweep runs twice the
    CG steps (from 0 the users need them), the others ``cg_steps``. ``backend``:
    ``implicit`` runs the sweeps with the ``implicit`` library's conjugate-gradient
    solver (C++/OpenMP over all cores; the ``fast`` extra), ``numpy`` with
    :func:`cg_solve`; ``auto`` (the default) takes ``implicit`` when it is installed.
    Both solve the same equations from the same start, so they agree to float32
    rounding.
    """
    kind = ials_backend(backend)
    n_users, n_items = x.shape
    rng = np.random.default_rng(seed)
    users = np.zeros((n_users, factors), np.float32)
    items = (rng.standard_normal((n_items, factors)) * (0.1 / np.sqrt(factors))).astype(np.float32)
    cui = sp.csr_matrix(x, dtype=np.float32, copy=True)
    cui.data[:] = alpha
    if kind == "implicit":
        _fit_implicit(cui, users, items, reg=reg, iterations=iterations, cg_steps=cg_steps)
        return users, items
    ciu = sp.csr_matrix(cui.T)
    for iteration in range(iterations):
        steps = cg_steps * 2 if iteration == 0 else cg_steps
        cg_solve(cui, items, users, reg, steps)
        cg_solve(ciu, users, items, reg, steps)
    return users, items


def _fit_implicit(
    cui: Any, users: F32, items: F32, *, reg: float, iterations: int, cg_steps: int
) -> None:
    """The sweeps of :func:`fit_ials` by ``implicit`` (>= 0.7), in place on the factors.

    ``cui`` already holds the confidences ``alpha·r``, so implicit's ``alpha`` is 1 (it
    multiplies ``user_items`` by it); its loss is the one in this module's docstring.
    One BLAS thread, as implicit asks: its solver parallelises over users itself.
    """
    als_cls = implicit_als()
    assert als_cls is not None  # ials_backend checked
    with one_blas_thread():  # implicit needs threadpoolctl, so this limits
        model = als_cls(
            factors=users.shape[1],
            regularization=reg,
            alpha=1.0,
            iterations=1,
            use_cg=True,
            use_native=True,
            dtype=np.float32,
            num_threads=0,
        )
        model.user_factors, model.item_factors = users, items
        for first, sweeps in ((True, min(iterations, 1)), (False, iterations - 1)):
            if sweeps <= 0:
                continue
            model.iterations = sweeps
            model.cg_steps = cg_steps * 2 if first else cg_steps
            model.fit(cui, show_progress=False)
    if model.user_factors is not users or model.item_factors is not items:
        users[:] = model.user_factors
        items[:] = model.item_factors


class IalsScorer:
    """Fold-in scoring from the item factors: users are solved exactly per request."""

    kind = "ials"

    def __init__(self, items: F32, reg: float, alpha: float) -> None:
        self.items = np.ascontiguousarray(items, dtype=np.float32)
        self.reg = float(reg)
        self.alpha = float(alpha)
        self.n_items, self.factors = self.items.shape
        y = self.items.astype(np.float64)
        self._gram = y.T @ y + self.reg * np.eye(self.factors)

    def fold_in(self, positions: I64, weights: F32) -> F64:
        """Exact least-squares user factor for a (weighted) history."""
        y = self.items[positions].astype(np.float64)
        c = self.alpha * weights.astype(np.float64)
        a = self._gram + (y.T * (c - 1.0)) @ y
        b = y.T @ c
        return np.asarray(np.linalg.solve(a, b), dtype=np.float64)

    @functools.cached_property
    def _columns(self) -> F32:
        """The item factors transposed, for :func:`on_this_thread` (made on first request)."""
        return np.ascontiguousarray(self.items.T)

    def score(self, positions: I64, weights: F32) -> F32:
        return on_this_thread(self._columns, self.fold_in(positions, weights))

    def score_batch(self, weighted: Any, *, out: F32 | None = None) -> F32:
        """Scores for a users x items CSR of weighted histories: every row's exact fold-in
        (:meth:`fold_in_batch`), then one matrix product with the item factors, into
        ``out`` when given (a rows x items float32 buffer reused across blocks: a fresh
        80 MB array per block costs its page faults again)."""
        users = self.fold_in_batch(weighted)
        # the C-contiguous transpose: sgemm reads it 20-25% faster than ``items.T``
        if out is None:
            return np.asarray(users @ self._columns, dtype=np.float32)
        return np.matmul(users, self._columns, out=out)

    def fold_in_batch(self, weighted: Any) -> F32:
        """:meth:`fold_in` of every row of a users x items CSR (zeros for empty rows).

        Rows of up to ``FOLD_IN_WIDTH`` entries are solved together: their item factors
        gathered into a zero-padded rows x width x f block (a pad adds nothing), one
        stacked product for the normal equations and one stacked ``solve``; longer rows
        one at a time. The same equations as :meth:`fold_in`, so the factors agree to
        float64 rounding.
        """
        rows = sp.csr_matrix(weighted)
        indptr = np.asarray(rows.indptr, dtype=np.int64)
        lengths = np.diff(indptr)
        users = np.zeros((rows.shape[0], self.factors), np.float32)
        for k in np.flatnonzero(lengths > FOLD_IN_WIDTH).tolist():
            lo, hi = indptr[k], indptr[k + 1]
            users[k] = self.fold_in(rows.indices[lo:hi].astype(np.int64), rows.data[lo:hi])
        short = np.flatnonzero((lengths > 0) & (lengths <= FOLD_IN_WIDTH))
        start = 0
        while start < len(short):
            width = int(lengths[short[start]])
            stop = start + 1
            while stop < len(short):  # grow the group while rows x width stays bounded
                wider = max(width, int(lengths[short[stop]]))
                if wider * (stop + 1 - start) > FOLD_IN_CELLS:
                    break
                width, stop = wider, stop + 1
            group = short[start:stop]
            counts = lengths[group]
            row_of = np.repeat(np.arange(len(group)), counts)
            slot = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
            entries = np.repeat(indptr[group], counts) + slot
            y = np.zeros((len(group), width, self.factors), np.float64)
            y[row_of, slot] = self.items[rows.indices[entries]]
            c = np.zeros((len(group), width), np.float64)
            c[row_of, slot] = self.alpha * np.asarray(rows.data[entries], np.float64)
            a = self._gram + np.matmul(y.transpose(0, 2, 1) * (c - 1.0)[:, None, :], y)
            b = np.matmul(y.transpose(0, 2, 1), c[:, :, None])
            users[group] = np.linalg.solve(a, b)[:, :, 0]
            start = stop
        return users

    def score_some(self, positions: I64, weights: F32, targets: I64) -> F32:
        return on_this_thread(self.items[targets].T, self.fold_in(positions, weights))

    def neighbours(self, position: int) -> F32:
        """Cosine of item factors."""
        norms = np.linalg.norm(self.items, axis=1)
        norms[norms == 0] = 1.0
        out: F32 = on_this_thread(self._columns, self.items[position]) / (norms * norms[position])
        return out.astype(np.float32)

    # users x items, for segmentation ------------------------------------------------

    def users_state(self, weighted: Any) -> F32:
        """Every user's factor, folded in from their weighted history by CG."""
        conf = sp.csr_matrix(weighted, dtype=np.float32, copy=True)
        conf.data *= np.float32(self.alpha)
        users = np.zeros((conf.shape[0], self.factors), np.float32)
        cg_solve(conf, self.items, users, self.reg, steps=min(self.factors, 24))
        return users

    def user_scores(self, state: F32, targets: I64) -> F64:
        return (state @ self.items[targets].T).astype(np.float64)

    def user_norm(self, state: F32) -> F64:
        n_users = state.shape[0]
        out = np.zeros(n_users, np.float64)
        block = max(1, int(2e7 // max(self.n_items, 1)))
        for start in range(0, n_users, block):
            scores = state[start : start + block] @ self.items.T
            np.maximum(scores, 0, out=scores)
            out[start : start + block] = scores.sum(axis=1)
        return out

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {"ials_items": self.items}

    def params(self) -> dict[str, Any]:
        return {"reg": self.reg, "alpha": self.alpha}

    @classmethod
    def restore(cls, params: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> IalsScorer:
        return cls(arrays.pop("ials_items"), float(params["reg"]), float(params["alpha"]))
