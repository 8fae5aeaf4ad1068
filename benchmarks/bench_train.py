"""iALS training speed: the local engine's fit against the ``implicit`` library's, same process.

On one generated users x items matrix (``personakit.samples.synthetic``, one event type,
distinct pairs), with the same settings (64 factors, 15 iterations, reg 50, alpha 8:
the engine's defaults; all cores, one BLAS thread for implicit as its README asks):

* ``implicit``: the baseline, ``implicit.cpu.als.AlternatingLeastSquares(...).fit``
  with its own initialisation (conjugate gradient, 3 steps per half-sweep);
* ``engine (implicit)``: ``personakit.local.algorithms.ials.fit_ials`` on its
  ``implicit`` backend (the default when ``implicit`` is installed: the ``fast`` extra);
* ``engine (numpy)``: the same function on its numpy backend (the fallback).

Runs alternate (``--repeat`` rounds); printed: each fit's seconds, the median of each
over the rounds, each engine backend's ratio against implicit's median (target <= 1.0
for the default backend), and the training loss of every fit (one numpy function for
all) so equal speed is not bought with a worse optimum.

``--solution-version`` also times what CreateSolutionVersion runs (the metrics run on a
90% split with its tuning, then the final fit reusing it) at 10M interactions / 200k
items / 500k users in a fresh process, with its peak RSS (targets: 120 s, 8 GiB;
expensive, several minutes: run it once; ``--sv-size 1000000,20000,50000`` for a
routine one). ``--sv-backend numpy`` runs it with ``implicit`` blocked from importing
(the fallback path).

Runs::

    .venv/bin/pip install implicit                   # or: pip install 'personakit[fast]'
    .venv/bin/python benchmarks/bench_train.py                       # 1M / 20k items, ~1 min
    .venv/bin/python benchmarks/bench_train.py --interactions 6600000 --items 100000
    .venv/bin/python benchmarks/bench_train.py --no-fits --solution-version
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from bench_local import generated  # the same generated data as the quality runs

from personakit.local.algorithms import TrainingData
from personakit.local.algorithms.ials import fit_ials, implicit_als, one_blas_thread

RECIPE = "aws-user-personalization"
FACTORS, ITERATIONS, REG, ALPHA = 64, 15, 50.0, 8.0  # the engine's iALS defaults
SV_TARGET_S = 120.0
SV_TARGET_GIB = 8.0
SV_SIZE = (10_000_000, 200_000, 500_000)


def binary(data: TrainingData) -> Any:
    """Users x items CSR, 1.0 per distinct pair (what the engine's recipe trains on)."""
    n_users, n_items = len(data.user_ids), len(data.item_ids)
    ones = np.ones(len(data.users), np.float32)
    x = sp.csr_matrix((ones, (data.users, data.items)), shape=(n_users, n_items))
    x.data[:] = 1.0
    x.sort_indices()
    return x


def loss(x: Any, users: np.ndarray, items: np.ndarray) -> float:
    """The iALS loss of ``fit_ials``' docstring, per user-item pair of the matrix."""
    u = users.astype(np.float64)
    v = items.astype(np.float64)
    rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
    total = 0.0
    observed_sq = 0.0
    for lo in range(0, len(rows), 1 << 20):
        r, c = rows[lo : lo + (1 << 20)], x.indices[lo : lo + (1 << 20)]
        pred = np.einsum("nf,nf->n", u[r], v[c])
        total += float((ALPHA * (1.0 - pred) ** 2).sum())
        observed_sq += float((pred**2).sum())
    everything = float(np.sum((u.T @ u) * (v.T @ v)))  # sum over all pairs of (x_u . y_i)^2
    total += everything - observed_sq + REG * float((u**2).sum() + (v**2).sum())
    return total / (x.shape[0] * x.shape[1])


def implicit_fit(x: Any, seed: int) -> tuple[np.ndarray, np.ndarray]:
    als_cls = implicit_als()
    assert als_cls is not None
    with one_blas_thread():  # implicit's README: one BLAS thread
        model = als_cls(
            factors=FACTORS,
            regularization=REG,
            alpha=ALPHA,
            iterations=ITERATIONS,
            random_state=seed,
        )
        model.fit(x, show_progress=False)
    return model.user_factors, model.item_factors


def engine_fit(backend: str) -> Callable[[Any, int], tuple[np.ndarray, np.ndarray]]:
    def fit(x: Any, seed: int) -> tuple[np.ndarray, np.ndarray]:
        return fit_ials(
            x,
            factors=FACTORS,
            reg=REG,
            alpha=ALPHA,
            iterations=ITERATIONS,
            seed=seed,
            backend=backend,
        )

    return fit


def fits(n_interactions: int, n_items: int, n_users: int, seed: int, repeat: int) -> None:
    start = time.perf_counter()
    x = binary(generated(n_users, n_items, n_interactions, seed))
    print(
        f"data: {x.nnz:,} distinct user-item pairs ({n_interactions:,} generated events), "
        f"{x.shape[0]:,} users x {x.shape[1]:,} items, generated in "
        f"{time.perf_counter() - start:.1f} s; {FACTORS} factors, {ITERATIONS} iterations, "
        f"reg {REG:g}, alpha {ALPHA:g}, {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}"
    )
    runners: dict[str, Callable[[Any, int], tuple[np.ndarray, np.ndarray]]] = {}
    if implicit_als() is not None:
        runners["implicit"] = implicit_fit
        runners["engine (implicit)"] = engine_fit("implicit")
    else:
        print("implicit is not installed: only the numpy backend runs (pip install implicit)")
    runners["engine (numpy)"] = engine_fit("numpy")
    times: dict[str, list[float]] = {name: [] for name in runners}
    cpu: dict[str, list[float]] = {name: [] for name in runners}
    for round_ in range(repeat):
        for name, run in runners.items():
            t0, c0 = time.perf_counter(), time.process_time()
            users, items = run(x, seed)
            took, used = time.perf_counter() - t0, time.process_time() - c0
            times[name].append(took)
            cpu[name].append(used)
            print(
                f"  round {round_ + 1} {name:<18} {took:7.2f} s (CPU {used:6.2f} s)  "
                f"loss {loss(x, users, items):.6f}"
            )
    print(f"load after the fits {os.getloadavg()[0]:.2f}")
    base = statistics.median(times["implicit"]) if "implicit" in times else None
    base_cpu = statistics.median(cpu["implicit"]) if "implicit" in cpu else None
    for name, took in times.items():
        median, median_cpu = statistics.median(took), statistics.median(cpu[name])
        ratio = ""
        if base and base_cpu:
            ratio = (
                f"; / implicit {median / base:.2f}x (target <= 1.0; CPU time "
                f"{median_cpu / base_cpu:.2f}x)"
            )
        print(f"{name:<18} median {median:7.2f} s (CPU {median_cpu:6.2f} s){ratio}")


# --------------------------------------------------------------------------- solution version


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def one_solution_version(n_interactions: int, n_items: int, n_users: int, seed: int) -> None:
    """In a fresh process: generate, metrics run + final fit as CreateSolutionVersion; JSON."""
    from personakit.local.algorithms import train
    from personakit.local.evaluation import evaluate_and_tune

    t0 = time.perf_counter()
    data = generated(n_users, n_items, n_interactions, seed)
    gen = time.perf_counter() - t0
    c0 = time.process_time()
    t0 = time.perf_counter()
    result = evaluate_and_tune(RECIPE, data, {}, seed=seed)
    evaluate = time.perf_counter() - t0
    c1 = time.process_time()
    t0 = time.perf_counter()
    model = train(RECIPE, data, {}, seed=seed, tuned=result.tuned)
    fit = time.perf_counter() - t0
    out = {
        "generate_s": round(gen, 1),
        "evaluate_s": round(evaluate, 1),
        "train_s": round(fit, 1),
        "cpu_s": round(time.process_time() - c0, 1),
        "cpu_evaluate_s": round(c1 - c0, 1),
        "ndcg_at_10": round(result.metrics["normalized_discounted_cumulative_gain_at_10"], 6),
        "algorithm": model.info.get("algorithm"),
        "implicit_loaded": sys.modules.get("implicit.cpu.als") is not None,
        "peak_rss_gib": round(peak_rss_gib(), 2),
    }
    print(json.dumps(out))


BLOCK_IMPLICIT = "sys.modules['implicit'] = None; "  # `import implicit...` then fails


def solution_version(seed: int, backend: str, size: tuple[int, int, int] = SV_SIZE) -> None:
    n, items, users = size
    print(
        f"\n== solution version at {n:,} interactions / {items:,} items / {users:,} users "
        f"(fresh process; backend {backend})"
    )
    here = os.path.dirname(os.path.abspath(__file__))  # run_path does not add it
    code = f"import sys, runpy; sys.path.insert(0, {here!r}); "
    code += BLOCK_IMPLICIT if backend == "numpy" else ""
    code += (
        f"sys.argv = [{__file__!r}, '--one-sv', '{n},{items},{users}', '--seed', '{seed}']; "
        f"runpy.run_path({__file__!r}, run_name='__main__')"
    )
    load = os.getloadavg()[0]
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    total = r["evaluate_s"] + r["train_s"]
    print(
        f"{r['algorithm']}: metrics run {r['evaluate_s']} s + final fit {r['train_s']} s = "
        f"{total:.1f} s (data generation {r['generate_s']} s, not counted); target "
        f"{SV_TARGET_S:g} s -> {total / SV_TARGET_S:.2f}x (CPU time of both "
        f"{r['cpu_s']} s, metrics run {r['cpu_evaluate_s']} s; NDCG@10 {r['ndcg_at_10']}); "
        f"peak RSS {r['peak_rss_gib']} GiB "
        f"(whole process) -> {r['peak_rss_gib'] / SV_TARGET_GIB:.2f}x of {SV_TARGET_GIB:g} GiB; "
        f"implicit loaded: {r['implicit_loaded']}; load {load:.2f} at start, "
        f"{os.getloadavg()[0]:.2f} at the end"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=0, help="default: interactions / 20")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2, help="alternating rounds")
    parser.add_argument("--no-fits", action="store_true", help="skip the fit comparison")
    parser.add_argument("--solution-version", action="store_true", help="the 10M / 200k run")
    parser.add_argument("--sv-backend", choices=("auto", "numpy"), default="auto")
    parser.add_argument(
        "--sv-size", default="10000000,200000,500000", help="interactions,items,users"
    )
    parser.add_argument("--one-sv", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_sv:
        n, items, users = (int(v) for v in args.one_sv.split(","))
        one_solution_version(n, items, users, args.seed)
        return
    if not args.no_fits:
        users = args.users or max(args.interactions // 20, 1000)
        fits(args.interactions, args.items, users, args.seed, args.repeat)
    if args.solution_version:
        n, items, users = (int(v) for v in args.sv_size.split(","))
        solution_version(args.seed, args.sv_backend, (n, items, users))


if __name__ == "__main__":
    main()
