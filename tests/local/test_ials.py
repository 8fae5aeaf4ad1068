"""iALS training: the numpy solver, the optional ``implicit`` backend, and the fallback."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from personakit.local.algorithms import ials
from personakit.local.algorithms.ials import (
    IalsScorer,
    cg_solve,
    fit_ials,
    ials_backend,
    implicit_als,
    one_blas_thread,
)

HAS_IMPLICIT = implicit_als() is not None


def clustered(n_users: int = 300, n_items: int = 120, seed: int = 0) -> Any:
    """Users of four tastes, each liking about 12 items of its quarter of the catalogue."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for u in range(n_users):
        block = u % 4
        picked = rng.choice(n_items // 4, size=12, replace=False) + block * (n_items // 4)
        rows += [u] * len(picked)
        cols += picked.tolist()
    x = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))
    x.sort_indices()
    return x


def loss(x: Any, users: np.ndarray, items: np.ndarray, reg: float, alpha: float) -> float:
    """Σ c (p - x·y)² + reg (|X|² + |Y|²), c = alpha on observed pairs (p = 1), 1 elsewhere."""
    pred = users.astype(np.float64) @ items.astype(np.float64).T
    dense = x.toarray() > 0
    conf = np.where(dense, alpha, 1.0)
    return float((conf * (dense - pred) ** 2).sum() + reg * ((users**2).sum() + (items**2).sum()))


def fit(x: Any, backend: str, **kw: Any) -> tuple[np.ndarray, np.ndarray]:
    args = {"factors": 8, "reg": 1.0, "alpha": 8.0, "iterations": 10, "seed": 3, **kw}
    return fit_ials(x, backend=backend, **args)


def test_cg_solve_with_enough_steps_is_the_exact_least_squares_fold_in() -> None:
    x = clustered()
    items = np.random.default_rng(1).standard_normal((x.shape[1], 8)).astype(np.float32) * 0.3
    conf = x.copy()
    conf.data[:] = 8.0
    users = np.zeros((x.shape[0], 8), np.float32)
    cg_solve(conf, items, users, reg=1.0, steps=16)
    exact = IalsScorer(items, reg=1.0, alpha=8.0)
    for u in (0, 1, 57, 299):
        row = x.indices[x.indptr[u] : x.indptr[u + 1]].astype(np.int64)
        want = exact.fold_in(row, np.ones(len(row), np.float32))
        np.testing.assert_allclose(users[u], want, rtol=2e-3, atol=2e-4)


def test_the_numpy_solver_gives_the_same_factors_on_one_thread_or_several(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x = clustered(seed=6)
    monkeypatch.setattr(ials, "CHUNK_NNZ", 200)  # about 17 rows per chunk: many chunks
    monkeypatch.setattr(ials, "THREADS", 1)
    alone = fit(x, "numpy")
    monkeypatch.setattr(ials, "THREADS", 3)
    together = fit(x, "numpy")
    np.testing.assert_array_equal(together[0], alone[0])
    np.testing.assert_array_equal(together[1], alone[1])


def test_the_numpy_fit_separates_the_tastes() -> None:
    x = clustered()
    users, items = fit(x, "numpy")
    scores = users @ items.T
    own = np.array([scores[u, (u % 4) * 30 : (u % 4 + 1) * 30].mean() for u in range(300)])
    other = np.array(
        [np.delete(scores[u], np.s_[(u % 4) * 30 : (u % 4 + 1) * 30]).mean() for u in range(300)]
    )
    assert (own > other + 0.2).all()


@pytest.mark.skipif(not HAS_IMPLICIT, reason="implicit is not installed (the fast extra)")
def test_the_implicit_backend_agrees_with_numpy() -> None:
    """Same equations from the same start: the factors agree to float32 rounding."""
    x = clustered()
    nu, ni = fit(x, "numpy")
    iu, ii = fit(x, "implicit")
    assert iu.dtype == ii.dtype == np.float32
    np.testing.assert_allclose(iu @ ii.T, nu @ ni.T, atol=2e-3)
    assert loss(x, iu, ii, 1.0, 8.0) == pytest.approx(loss(x, nu, ni, 1.0, 8.0), rel=1e-4)


@pytest.mark.skipif(not HAS_IMPLICIT, reason="implicit is not installed (the fast extra)")
def test_auto_takes_implicit_when_it_imports() -> None:
    assert ials_backend() == "implicit"
    x = clustered(seed=2)
    np.testing.assert_array_equal(fit(x, "auto")[1], fit(x, "implicit")[1])


def test_without_implicit_auto_falls_back_to_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "implicit" or m.startswith("implicit.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "implicit", None)  # `import implicit...` now fails
    assert implicit_als() is None
    assert ials_backend("auto") == "numpy"
    x = clustered(seed=4)
    np.testing.assert_array_equal(fit(x, "auto")[1], fit(x, "numpy")[1])
    with pytest.raises(ImportError, match=r"personakit\[fast\]"):
        fit(x, "implicit")


def test_without_threadpoolctl_the_numpy_solver_still_trains(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x = clustered(seed=5)
    with_limit = fit(x, "numpy")
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    with one_blas_thread():  # nothing to limit, nothing to fail
        pass
    np.testing.assert_array_equal(fit(x, "numpy")[1], with_limit[1])


def test_an_unknown_backend_is_named() -> None:
    with pytest.raises(ValueError, match=r"'numba'.*auto, numpy, implicit"):
        fit(clustered(), "numba")


@st.composite
def interactions(draw: st.DrawFn) -> Any:
    n_users = draw(st.integers(1, 25))
    n_items = draw(st.integers(1, 20))
    cells = draw(st.sets(st.tuples(st.integers(0, n_users - 1), st.integers(0, n_items - 1))))
    rows = [r for r, _ in cells]
    cols = [c for _, c in cells]
    x = sp.csr_matrix((np.ones(len(cells), np.float32), (rows, cols)), shape=(n_users, n_items))
    x.sort_indices()
    return x


BACKENDS = ["numpy", "implicit"] if HAS_IMPLICIT else ["numpy"]


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    x=interactions(),
    factors=st.integers(1, 6),
    reg=st.sampled_from([0.1, 1.0, 50.0]),
    alpha=st.sampled_from([1.0, 4.0, 16.0]),
    iterations=st.integers(1, 4),
)
def test_any_matrix_trains_to_finite_factors_below_the_starting_loss(
    backend: str, x: Any, factors: int, reg: float, alpha: float, iterations: int
) -> None:
    users, items = fit(x, backend, factors=factors, reg=reg, alpha=alpha, iterations=iterations)
    assert users.shape == (x.shape[0], factors)
    assert items.shape == (x.shape[1], factors)
    assert np.isfinite(users).all()
    assert np.isfinite(items).all()
    empty = np.diff(x.indptr) == 0
    assert not users[empty].any()  # a user without interactions has no taste
    _, start = fit(x, backend, factors=factors, reg=reg, alpha=alpha, iterations=0)
    start_users = np.zeros_like(users)
    assert loss(x, users, items, reg, alpha) <= loss(x, start_users, start, reg, alpha) * (1 + 1e-5)
    # seeded: the same input gives the same factors
    np.testing.assert_array_equal(
        fit(x, backend, factors=factors, reg=reg, alpha=alpha, iterations=iterations)[1], items
    )


def test_request_scores_are_the_factor_product_computed_without_blas() -> None:
    # one request's scores, related items and ranking come from the same factors as
    # batch scoring (which keeps BLAS), to float32 rounding
    rng = np.random.default_rng(3)
    scorer = IalsScorer(rng.standard_normal((500, 16)).astype(np.float32), reg=5.0, alpha=8.0)
    positions = np.array([3, 70, 71, 400], dtype=np.int64)
    weights = np.array([0.25, 0.5, 1.0, 1.0], dtype=np.float32)
    user = scorer.fold_in(positions, weights)
    expected = scorer.items.astype(np.float64) @ user
    np.testing.assert_allclose(scorer.score(positions, weights), expected, rtol=1e-4, atol=1e-4)
    targets = np.array([499, 0, 71], dtype=np.int64)
    np.testing.assert_allclose(
        scorer.score_some(positions, weights, targets), expected[targets], rtol=1e-4, atol=1e-4
    )
    batch = sp.csr_matrix((weights, (np.zeros(4, dtype=np.int64), positions)), shape=(1, 500))
    np.testing.assert_allclose(scorer.score_batch(batch)[0], expected, rtol=1e-4, atol=1e-4)
    norms = np.linalg.norm(scorer.items.astype(np.float64), axis=1)
    cosine = (scorer.items.astype(np.float64) @ scorer.items[7]) / (norms * norms[7])
    np.testing.assert_allclose(scorer.neighbours(7), cosine, rtol=1e-4, atol=1e-5)


def test_threads_leaving_the_blas_limit_in_any_order_restore_blas_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two engine threads (a training and a batch job) inside ``one_blas_thread`` at
    once, the first to enter leaving first: BLAS stays on one thread while the other is
    inside, and gets its threads back once both have left. (Nested ``threadpool_limits``
    exited in that order leave one thread for good.) The library stands in as a
    process-wide thread count with threadpoolctl's set-and-restore semantics, so the
    order of the calls is what is checked."""
    import threading
    import types

    blas = {"threads": 8}

    class Limits:  # threadpoolctl.threadpool_limits: applies at once, restores on exit
        def __init__(self, limits: int, user_api: str) -> None:
            assert user_api == "blas"
            self.original = blas["threads"]
            blas["threads"] = limits

        def restore_original_limits(self) -> None:
            blas["threads"] = self.original

        def __enter__(self) -> Limits:
            return self

        def __exit__(self, *exc: object) -> None:
            self.restore_original_limits()

    monkeypatch.setitem(
        sys.modules, "threadpoolctl", types.SimpleNamespace(threadpool_limits=Limits)
    )
    step = {name: threading.Event() for name in ("in1", "in2", "out1", "go1", "go2")}

    def inside(entered: str, leave: str, left: str | None) -> None:
        with ials.one_blas_thread():
            step[entered].set()
            step[leave].wait(10)
        if left:
            step[left].set()

    first = threading.Thread(target=inside, args=("in1", "go1", "out1"))
    second = threading.Thread(target=inside, args=("in2", "go2", None))
    first.start()
    assert step["in1"].wait(10)
    second.start()
    assert step["in2"].wait(10)
    assert blas["threads"] == 1
    step["go1"].set()  # the first to enter leaves first
    assert step["out1"].wait(10)
    assert blas["threads"] == 1  # the second is still inside
    step["go2"].set()
    first.join(10)
    second.join(10)
    assert blas["threads"] == 8
