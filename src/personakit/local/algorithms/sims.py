"""SIMS and Similar-Items: top-k item neighbours stored as CSR.

**sims** (co-interaction): ``C_ij`` = number of users who interacted with both
items (binary, deduplicated). Pairs with ``C_ij < min_cointeraction_count``
(default 3, 0-10 as in Personalize) are dropped. The similarity is
``W_ij / (sqrt(d_i) · d_j ** β) · C_ij / (C_ij + s)`` with β =
``popularity_discount_factor`` (default 0.5, which is cosine; 0 ranks neighbours by
raw co-counts, i.e. popular items; 1 divides by the neighbour's popularity,
RP3beta-like) and s = ``cointeraction_shrink`` (default 0). ``W_ij`` is the co-count
with each user's co-interaction weighted ``activity(u) ** -α`` (α =
``user_activity_discount``, default 0: plain counts; 1 is RP3beta's user step, a user
who interacted with everything says little about any pair) and, with a finite
``proximity_half_life`` h (default none), by ``0.5 ** ((gap - 1) / h)`` where gap is
how many distinct items apart the two are in the user's history (pairs up to 6 h
apart); ``d`` is the same weighted popularity (Σ_u weight, the users' count when α is
0). The ``neighbours`` (default 100) best per item are kept.

**similar-items** adds item metadata: categorical fields split on ``|``,
free-text fields (more than 3 words on average) split into words, TF-IDF
weighted and L2-normalised, cosine similarity. Score = (1 - γ)·sims + γ·metadata
with γ = 1 for cold items (fewer than ``cold_item_threshold`` = 5 users) and
``metadata_weight`` (0.1) otherwise, so cold items get neighbours by metadata and
can appear as neighbours. Numeric fields are not used.

**Tuning** (``hpo``: ``auto``, the default, up to 50,000 items, ``true`` or ``false``;
Personalize tunes SIMS's ``popularity_discount_factor`` and
``min_cointeraction_count`` with HPO,
https://docs.aws.amazon.com/personalize/latest/dg/native-recipe-sims.html): for every
user (a seeded sample of at most 5,000, fewer above 10,000 items) the last item of
their oldest 90% is the query and their next different item the truth, scored on the
co-interactions of every *other* user (the user's own contribution is subtracted, so
no user is held out of the counts). β in {0, 0.25, 0.5, 0.75} x s in {0, 5, 20} x α in
{0, 0.5, 1} x h in {none, 10} (h = 10 only up to 20M pairs and 512 MiB) are scored
by next-item hit@10 (a tie counts half), and a point replaces the default (β 0.5,
s 0, α 0, h none) only when its paired gain exceeds one standard error (the one-SE
rule, as for user-personalization). A given value stays fixed. The outcome is
``info["tuned"]``, the grid and scores ``info["hpo"]``.

Unknown items, and items without neighbours, get popular items (as the SIMS
recipe documents); short neighbour lists are padded with popular items at score 0.
Co-interactions are computed in item blocks: memory is one block x items (plus the
proximity-weighted counts, sparse, when h is finite).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]

from personakit.local.algorithms.base import Scored, TrainingData
from personakit.local.algorithms.common import (
    BaseModel,
    Events,
    Hyper,
    common_from,
    events_from,
)
from personakit.local.algorithms.metrics import holdout_size

__all__ = ["SimsModel", "item_features", "train_sims"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

_WORD = re.compile(r"[0-9a-z]+")

BETA_GRID = (0.0, 0.25, 0.5, 0.75)
SHRINK_GRID = (0.0, 5.0, 20.0)
#: α, the user-activity discount (RP3beta's user step; 0 = plain co-counts, the default)
USER_DISCOUNT_GRID = (0.0, 0.5, 1.0)
DEFAULT_BETA = 0.5
#: validation users (leave-one-out, so every user can be one), at most this many ...
HPO_MAX_USERS = 5_000
#: ... and at most this many user x item scores per grid point (1,000 users at 50k items)
HPO_CELLS = 50_000_000
HPO_MIN_USERS = 20
#: the proximity half-life h (distinct items apart in a user's history): a pair ``gap``
#: items apart counts ``0.5 ** ((gap - 1) / h)``; inf = plain co-interaction (the default)
PROXIMITY_GRID = (math.inf, 10.0)
#: pairs up to this many half-lives apart count (weight >= 1/64) ...
PROXIMITY_SPAN = 6
#: ... and the search tries a finite half-life only up to this many pairs (time) ...
PROXIMITY_MAX_PAIRS = 20_000_000
#: ... and while its matrices (one per α, 8 bytes an entry at most) fit in this
PROXIMITY_MAX_BYTES = 512 * 2**20
#: a given half-life is refused above this many pairs (its matrix would take GBs)
PROXIMITY_MAX_PAIRS_GIVEN = 100_000_000
#: user x item scores per block of the search (float32, 16 MB per array)
HPO_BLOCK_CELLS = 4_000_000
#: ``hpo=auto`` tunes up to this many items (a held-out block is <= 1,000 x items)
HPO_MAX_ITEMS = 50_000


class SimsModel(BaseModel):
    """Item neighbours (CSR, best first per row) plus the popularity fallback."""

    kind: ClassVar[str] = "sims"

    def __init__(
        self,
        recipe: str,
        *,
        nb_indptr: npt.ArrayLike,
        nb_indices: npt.ArrayLike,
        nb_scores: npt.ArrayLike,
        **common: Any,
    ) -> None:
        super().__init__(recipe, **common)
        self.nb_indptr = np.asarray(nb_indptr, dtype=np.int64)
        self.nb_indices = np.asarray(nb_indices, dtype=np.int32)
        self.nb_scores = np.asarray(nb_scores, dtype=np.float32)

    def neighbours(self, item_id: str) -> Scored:
        """The stored neighbours of an item, best first (empty when unknown)."""
        position = self.items.get(item_id)
        if position is None:
            return []
        lo, hi = self.nb_indptr[position], self.nb_indptr[position + 1]
        names = self.items.names
        return [
            (names[p], float(s))
            for p, s in zip(
                self.nb_indices[lo:hi].tolist(), self.nb_scores[lo:hi].tolist(), strict=True
            )
        ]

    def related(
        self,
        item_id: str,
        n: int,
        *,
        exclude: Collection[str] = (),
        candidates: Collection[str] | None = None,
    ) -> Scored:
        position = self.items.get(item_id)
        excluded = self._excluded([*exclude, item_id])
        pool = self._candidates(candidates)
        if position is None:
            return self._popular(n, excluded, pool)
        lo, hi = self.nb_indptr[position], self.nb_indptr[position + 1]
        found = self.nb_indices[lo:hi].astype(np.int64)
        scores = self.nb_scores[lo:hi]
        keep = np.ones(len(found), dtype=bool)
        if len(excluded):
            keep &= ~np.isin(found, excluded)
        if pool is not None:
            keep &= np.isin(found, pool)
        found, scores = found[keep][:n], scores[keep][:n]
        names = self.items.names
        result: Scored = [
            (names[p], float(s)) for p, s in zip(found.tolist(), scores.tolist(), strict=True)
        ]
        if len(result) < n:
            fill = self._popular_positions(n - len(result), np.concatenate([excluded, found]), pool)
            result.extend((names[p], 0.0) for p in fill.tolist())
        return result

    def recommend(
        self,
        user_id: str | None,
        n: int,
        *,
        history: Sequence[tuple[str, int]] = (),
        exclude: Collection[str] = (),
        candidates: Collection[str] | None = None,
    ) -> Scored:
        """Neighbours of the newest ``history`` item when given, else popular items."""
        if history:
            newest = max(range(len(history)), key=lambda k: (history[k][1], k))
            return self.related(history[newest][0], n, exclude=exclude, candidates=candidates)
        return super().recommend(user_id, n, exclude=exclude, candidates=candidates)

    def _arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {
            "nb_indptr": self.nb_indptr,
            "nb_indices": self.nb_indices,
            "nb_scores": self.nb_scores,
        }

    @classmethod
    def _restore(
        cls, common: dict[str, Any], params: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]
    ) -> SimsModel:
        return cls(
            nb_indptr=arrays["nb_indptr"],
            nb_indices=arrays["nb_indices"],
            nb_scores=arrays["nb_scores"],
            **common,
        )


# --------------------------------------------------------------------------- metadata


def _tokens(value: Any, textual: bool) -> list[str]:
    if not isinstance(value, str) or not value:
        return []
    if textual:
        return [w for w in _WORD.findall(value.lower()) if len(w) > 1]
    return [t.strip().lower() for t in value.split("|") if t.strip()]


def item_features(metadata: Mapping[str, npt.NDArray[Any]], n_items: int) -> Any | None:
    """Items x tokens TF-IDF CSR (rows L2-normalised), or None without usable fields."""
    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for field in sorted(metadata):
        values = np.asarray(metadata[field], dtype=object)
        if len(values) != n_items:
            continue
        strings = [v for v in values.tolist() if isinstance(v, str)]
        if not strings:
            continue  # numeric (or empty) field
        textual = sum(len(s.split()) for s in strings) / len(strings) > 3
        for row, value in enumerate(values.tolist()):
            counts: dict[int, int] = {}
            for token in _tokens(value, textual):
                col = vocabulary.setdefault(f"{field}\x1f{token}", len(vocabulary))
                counts[col] = counts.get(col, 0) + 1
            for col, count in counts.items():
                rows.append(row)
                cols.append(col)
                vals.append(float(count))
    if not vocabulary:
        return None
    tf = sp.csr_matrix(
        (np.asarray(vals, np.float32), (np.asarray(rows), np.asarray(cols))),
        shape=(n_items, len(vocabulary)),
    )
    df = np.diff(sp.csc_matrix(tf).indptr)
    idf = (np.log((1 + n_items) / (1 + df)) + 1.0).astype(np.float32)
    weighted = sp.csr_matrix(tf @ sp.diags(idf))
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags((1.0 / norms).astype(np.float32)) @ weighted)


# --------------------------------------------------------------------------- training


def _top_k_dense(block: F32, k: int) -> tuple[I64, I64, F32]:
    """Per row, the k largest positive entries: (row, col, score) best first per row."""
    n_rows, n_cols = block.shape
    k = min(k, n_cols)
    if k <= 0 or n_rows == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    if k < n_cols:
        part = np.argpartition(-block, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(n_cols), (n_rows, n_cols))
    values = np.take_along_axis(block, part, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    cols = np.take_along_axis(part, order, axis=1)
    values = np.take_along_axis(values, order, axis=1)
    rows = np.repeat(np.arange(n_rows), k).reshape(n_rows, k)
    keep = values > 0
    return rows[keep].astype(np.int64), cols[keep].astype(np.int64), values[keep]


def _user_weights(x: Any, alpha: float) -> F32:
    """Each user's weight ``deg(u) ** -α`` (deg = the user's distinct items)."""
    deg = np.maximum(np.diff(sp.csr_matrix(x).indptr), 1).astype(np.float64)
    return np.asarray(np.power(deg, -alpha), dtype=np.float32)


def _similarity(
    raw: F32, weighted: F32, row_pop: F32, pop: F32, beta: float, shrink: float, threshold: int
) -> F32:
    """``W_ij / (sqrt(d_i) · d_j^β) · C_ij / (C_ij + s)`` where ``C_ij >= threshold``, else 0.

    ``raw`` are the co-counts C (users), ``weighted`` the user-weighted co-counts W,
    ``row_pop``/``pop`` the weighted popularities d of the rows' items and of all items.
    """
    out = weighted / np.sqrt(np.maximum(row_pop, 1e-12))[:, None]
    out /= np.power(np.maximum(np.atleast_2d(pop), 1e-12), beta)  # 1 x items or rows x items
    if shrink > 0:
        out *= raw / (raw + np.float32(shrink))
    out[raw < threshold] = 0.0
    return np.asarray(out, dtype=np.float32)


def _next_items(events: Events, users: I64) -> tuple[I64, I64, I64]:
    """Per user: the last item of the oldest 90% and the first later item that differs
    (users without one are left out): (users, queries, truths)."""
    starts = np.searchsorted(events.users, users, side="left")
    stops = np.searchsorted(events.users, users, side="right")
    kept: list[int] = []
    queries: list[int] = []
    truths: list[int] = []
    for user, lo, hi in zip(users.tolist(), starts.tolist(), stops.tolist(), strict=True):
        cut = hi - holdout_size(hi - lo)
        if cut <= lo:
            continue
        query = int(events.items[cut - 1])
        later = [int(i) for i in events.items[cut:hi].tolist() if i != query]
        if later:
            kept.append(user)
            queries.append(query)
            truths.append(later[0])
    return np.array(kept, np.int64), np.array(queries, np.int64), np.array(truths, np.int64)


def _one_se(default: int, found: Sequence[F32]) -> int:
    means = [float(f.mean()) for f in found]
    best = int(np.argmax(means))
    if best == default:
        return default
    diff = found[best].astype(np.float64) - found[default]
    se = float(diff.std(ddof=1)) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
    return best if float(diff.mean()) > se else default


def _max_gap(half_life: float) -> int:
    return max(1, math.ceil(PROXIMITY_SPAN * half_life))


def _proximity_pairs(indptr: I64, half_life: float) -> int:
    """How many item pairs :func:`_proximity` visits (one direction)."""
    lengths = np.diff(indptr).astype(np.int64)
    gap = _max_gap(half_life)
    near = np.minimum(lengths - 1, gap)
    return int(np.sum(np.maximum(near, 0) * lengths - near * (near + 1) // 2))


def _proximity(
    indptr: I64, items: npt.NDArray[Any], weights: F32, half_life: float, n_items: int
) -> Any:
    """Items x items CSR: ``Σ_u w_u · 0.5 ** ((gap - 1) / h)`` over the pairs of each user's
    distinct items ``gap`` positions apart in the history (up to ``PROXIMITY_SPAN`` · h),
    both directions, no diagonal; ``indptr``/``items`` hold the histories, oldest first."""
    lengths = np.diff(indptr)
    user_of = np.repeat(np.arange(len(lengths)), lengths)
    remaining = indptr[user_of + 1] - np.arange(len(items)) - 1  # later items of the user
    total = sp.csr_matrix((n_items, n_items), dtype=np.float32)
    rows: list[npt.NDArray[Any]] = []
    cols: list[npt.NDArray[Any]] = []
    vals: list[F32] = []
    pending = 0
    for gap in range(1, _max_gap(half_life) + 1):
        at = np.flatnonzero(remaining >= gap)
        if len(at) == 0:
            break
        rows.append(items[at])
        cols.append(items[at + gap])
        vals.append(weights[user_of[at]] * np.float32(0.5 ** ((gap - 1) / half_life)))
        pending += len(at)
        if pending >= 4_000_000:
            total = total + sp.csr_matrix(
                (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                shape=(n_items, n_items),
            )
            rows, cols, vals, pending = [], [], [], 0
    if pending:
        total = total + sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n_items, n_items),
        )
    # an item occurs once in a history of distinct items: no diagonal
    return sp.csr_matrix(total + total.T, dtype=np.float32)


def _leave_one_out_hits(
    events: Events,
    users: I64,
    queries: I64,
    truths: I64,
    points: Sequence[tuple[float, float, float, float]],
    threshold: int,
) -> list[F32]:
    """Per grid point (β, s, α, h), each validation user's next-item hit@10 on the
    co-interactions of every *other* user (the user's own contribution subtracted)."""
    indptr, seq_items, _ = events.sequences()
    x = events.binary()
    n_items = events.n_items
    xt = sp.csr_matrix(x.T)
    xc = sp.csc_matrix(x)
    xr = sp.csr_matrix(x)
    pop = np.asarray(x.sum(axis=0), np.float64).ravel()
    alphas = sorted({p[2] for p in points})
    lives = sorted({p[3] for p in points})
    weights = {a: _user_weights(x, a) for a in alphas}
    weighted_x = {a: sp.csc_matrix(sp.diags(weights[a]) @ x) for a in alphas}
    weighted_pop = {a: np.asarray(weighted_x[a].sum(axis=0), np.float64).ravel() for a in alphas}
    near = {
        (a, h): _proximity(indptr, seq_items, weights[a], h, n_items)
        for a in alphas
        for h in lives
        if not math.isinf(h)
    }
    betas = sorted({p[0] for p in points})
    shrinks = sorted({p[1] for p in points})
    index = {p: k for k, p in enumerate(points)}
    found = [np.zeros(len(users), np.float32) for _ in points]
    block = max(1, min(512, int(HPO_BLOCK_CELLS // max(n_items, 1))))
    for start in range(0, len(users), block):
        rows = np.arange(start, min(start + block, len(users)))
        u, q, t = users[rows], queries[rows], truths[rows]
        local = np.arange(len(rows))
        own = np.asarray(xr[u].toarray(), np.float32)  # the users' own items
        unique, inverse = np.unique(q, return_inverse=True)
        raw = np.asarray((xt[unique] @ xc).toarray(), np.float32)[inverse] - own
        valid = raw >= threshold
        valid[local, q] = False  # never the query itself
        significance = {s: raw / (raw + np.float32(s)) for s in shrinks if s > 0}
        # after the neighbours, the other users' most popular items (as served)
        fill = pop.astype(np.float32)[None, :] - own
        fill[local, q] = -np.inf
        for a in alphas:
            w_u = weights[a][u][:, None]
            d = np.maximum(weighted_pop[a].astype(np.float32)[None, :] - w_u * own, 1e-12)
            discounts = {b: np.power(d, np.float32(-b)) for b in betas if b > 0}
            for h in lives:
                if (betas[0], shrinks[0], a, h) not in index:
                    continue
                if math.isinf(h):
                    co = np.asarray((xt[unique] @ weighted_x[a]).toarray(), np.float32)[inverse]
                    co -= w_u * own
                else:
                    co = np.asarray(near[a, h][q].toarray(), np.float32)
                    co -= _own_proximity(indptr, seq_items, u, q, weights[a], h, n_items)
                co[~valid] = 0.0
                np.maximum(co, 0.0, out=co)
                for b in betas:
                    base = co * discounts[b] if b > 0 else co
                    for s in shrinks:
                        sim = base * significance[s] if s > 0 else base
                        found[index[b, s, a, h]][rows] = _hits_at_10(sim, fill, local, t)
    return found


def _own_proximity(
    indptr: I64,
    seq_items: npt.NDArray[Any],
    users: I64,
    queries: I64,
    weights: F32,
    half_life: float,
    n_items: int,
) -> F32:
    """Each user's own contribution to their query's row of :func:`_proximity`."""
    out = np.zeros((len(users), n_items), np.float32)
    gap_max = _max_gap(half_life)
    for r, (user, query) in enumerate(zip(users.tolist(), queries.tolist(), strict=True)):
        seq = seq_items[indptr[user] : indptr[user + 1]]
        where = np.flatnonzero(seq == query)
        if len(where) == 0:
            continue
        gaps = np.abs(np.arange(len(seq)) - where[0])
        keep = (gaps >= 1) & (gaps <= gap_max)
        out[r, seq[keep]] = float(weights[user]) * np.power(0.5, (gaps[keep] - 1) / half_life)
    return out


def _hits_at_10(sim: F32, fill: F32, local: I64, t: I64) -> F32:
    """1 where the truth is in the top 10: neighbours (sim > 0) best first, then the rest
    by ``fill`` (popularity); a tie counts half (the expected rank of an arbitrary order)."""
    truth = sim[local, t]
    ahead = np.count_nonzero(sim > truth[:, None], axis=1).astype(np.float64)
    close = np.flatnonzero((ahead < 10) & (truth > 0))  # ties matter only near the top
    if len(close):
        tied = np.count_nonzero(sim[close] == truth[close, None], axis=1) - 1
        ahead[close] += tied / 2
    outside = np.flatnonzero(truth <= 0)
    ahead[outside] = np.count_nonzero(sim[outside] > 0, axis=1)
    outside = outside[ahead[outside] < 10]  # the truth among the popular items after them
    if len(outside):
        part = sim[outside] <= 0
        rest = fill[outside]
        level = rest[np.arange(len(outside)), t[outside]][:, None]
        tied = np.count_nonzero((rest == level) & part, axis=1) - 1
        ahead[outside] += np.count_nonzero((rest > level) & part, axis=1) + tied / 2
    return np.asarray(ahead < 10, dtype=np.float32)


def _hl_text(value: float) -> str | float:
    return "inf" if math.isinf(value) else value


def tune_sims(
    events: Events,
    *,
    min_count: int,
    seed: int,
    beta: float | None,
    shrink: float | None,
    alpha: float | None,
    half_life: float | None,
) -> dict[str, Any] | None:
    """β, the shrinkage, α and the proximity half-life on the users' next-item hit@10, each
    user left out of the co-interactions it is scored on (one-SE rule); None with too few
    users."""
    every = np.flatnonzero(np.bincount(events.users, minlength=events.n_users) >= 2)
    users, queries, truths = _next_items(events, every.astype(np.int64))
    if len(users) < HPO_MIN_USERS:
        return None
    cap = int(min(HPO_MAX_USERS, max(HPO_MIN_USERS, HPO_CELLS // max(events.n_items, 1))))
    if len(users) > cap:
        pick = np.sort(np.random.default_rng(seed).permutation(len(users))[:cap])
        users, queries, truths = users[pick], queries[pick], truths[pick]
    betas = list(BETA_GRID) if beta is None else [beta]
    shrinks = list(SHRINK_GRID) if shrink is None else [shrink]
    alphas = list(USER_DISCOUNT_GRID) if alpha is None else [alpha]
    lives = [half_life] if half_life is not None else [math.inf]
    if half_life is None:
        indptr = events.sequences()[0]
        finite = [h for h in PROXIMITY_GRID if not math.isinf(h)]
        pairs = [_proximity_pairs(indptr, h) for h in finite]
        entries = [min(2 * p, events.n_items**2) * 8 * len(alphas) for p in pairs]
        if max(pairs) <= PROXIMITY_MAX_PAIRS and sum(entries) <= PROXIMITY_MAX_BYTES:
            lives = list(PROXIMITY_GRID)
    points = [(b, s, a, h) for h in lives for a in alphas for b in betas for s in shrinks]
    found = _leave_one_out_hits(events, users, queries, truths, points, max(min_count, 1))
    default = points.index(
        (DEFAULT_BETA if beta is None else beta, shrinks[0], alphas[0], lives[0])
    )
    chosen = _one_se(default, found)
    b, s, a, h = points[chosen]
    here = [k for k, p in enumerate(points) if p[2:] == (a, h)]

    def best(position: int, value: float) -> float:
        return round(
            max(float(found[k].mean()) for k, p in enumerate(points) if p[position] == value), 6
        )

    return {
        "popularity_discount_factor": b,
        "cointeraction_shrink": s,
        "user_activity_discount": a,
        "proximity_half_life": _hl_text(h),
        "hpo": {
            "metric": "next_item_hit_at_10",
            "rule": "one-SE",
            "validation": "leave-one-user-out",
            "validation_users": len(users),
            # the β x s grid and its scores at the chosen α and half-life; the best per value
            "beta_shrink": [[points[k][0], points[k][1]] for k in here],
            "scores": [round(float(found[k].mean()), 6) for k in here],
            "user_activity_discount": alphas,
            "best_score_per_discount": [best(2, v) for v in alphas],
            "proximity_half_life": [_hl_text(v) for v in lives],
            "best_score_per_half_life": [best(3, v) for v in lives],
        },
    }


def train_sims(
    recipe: str,
    data: TrainingData,
    hyper: Hyper,
    *,
    use_metadata: bool,
    default_event_type: str | None = None,
    seed: int = 0,
    reuse: Mapping[str, Any] | None = None,
) -> SimsModel:
    """``reuse``: an earlier search's outcome on this data (the metrics run's
    ``info["tuned"]`` with its ``hpo`` report): taken instead of searching again."""
    events = events_from(data, hyper, default_event_type=default_event_type)
    min_count = hyper.integer("min_cointeraction_count", default=3, low=0, high=10)
    beta_given = hyper.given("popularity_discount_factor")
    shrink_given = hyper.given("cointeraction_shrink")
    alpha_given = hyper.given("user_activity_discount")
    life_given = hyper.given("proximity_half_life")
    hpo = hyper.text("hpo", "perform_hpo", default="auto", choices={"auto", "true", "false"})
    beta = hyper.number("popularity_discount_factor", default=DEFAULT_BETA, low=0.0, high=1.0)
    shrink = hyper.number("cointeraction_shrink", default=0.0, low=0.0)
    alpha = hyper.number("user_activity_discount", default=0.0, low=0.0, high=1.0)
    life = hyper.number("proximity_half_life", default=math.inf, low=1.0, allow_inf=True)
    if not math.isinf(life):  # given: refused before any work if its matrix cannot fit
        pairs = _proximity_pairs(events.sequences()[0], life)
        if pairs > PROXIMITY_MAX_PAIRS_GIVEN:
            raise ValueError(
                f"proximity_half_life={life:g} would weigh {pairs:,} item pairs of these "
                f"histories (at most {PROXIMITY_MAX_PAIRS_GIVEN:,}); give a smaller one, or "
                "inf for plain co-interactions"
            )
    k = hyper.integer("neighbours", "max_neighbours", default=100, low=1, high=1000)
    common = common_from(recipe, data, events, hyper)
    n_items = data.n_items
    tuned = None
    search = not (beta_given and shrink_given and alpha_given and life_given) and (
        hpo == "true" or (hpo == "auto" and n_items <= HPO_MAX_ITEMS)
    )
    if search and reuse:
        tuned = dict(reuse)
    elif search:
        tuned = tune_sims(
            events,
            min_count=min_count,
            seed=seed,
            beta=beta if beta_given else None,
            shrink=shrink if shrink_given else None,
            alpha=alpha if alpha_given else None,
            half_life=life if life_given else None,
        )
    if tuned is not None:
        beta = float(tuned["popularity_discount_factor"])
        shrink = float(tuned["cointeraction_shrink"])
        alpha = float(tuned["user_activity_discount"])
        life = float(tuned["proximity_half_life"])
        hyper.used["popularity_discount_factor"] = f"{beta:g}"
        hyper.used["cointeraction_shrink"] = f"{shrink:g}"
        hyper.used["user_activity_discount"] = f"{alpha:g}"
        hyper.used["proximity_half_life"] = f"{life:g}"
    popularity = np.asarray(common["popularity"], dtype=np.float64)

    features = None
    gamma = np.zeros(n_items, np.float32)
    if use_metadata:
        weight = hyper.number("metadata_weight", default=0.1, low=0.0, high=1.0)
        cold_threshold = hyper.integer("cold_item_threshold", default=5, low=0)
        features = item_features(data.item_metadata, n_items)
        if features is not None:
            gamma[:] = weight
            gamma[popularity < cold_threshold] = 1.0
    x = events.binary()
    xt = sp.csr_matrix(x.T)  # items x users
    xc = sp.csc_matrix(x)
    # each co-interaction weighted by the user's activity ** -α (α = 0: plain counts)
    user_weights = _user_weights(x, alpha)
    xw = xc if alpha == 0 else sp.csc_matrix(sp.diags(user_weights) @ x)
    weighted_pop = np.asarray(xw.sum(axis=0), np.float32).ravel()
    near = None
    if not math.isinf(life):  # co-interactions weighted by how close they are in a history
        indptr_seq, seq_items, _ = events.sequences()
        near = _proximity(indptr_seq, seq_items, user_weights, life, n_items)
    threshold = max(min_count, 1)
    block = max(1, min(1024, int(1e7 // max(n_items, 1))))
    all_rows: list[I64] = []
    all_cols: list[I64] = []
    all_vals: list[F32] = []
    for start in range(0, n_items, block):
        stop = min(start + block, n_items)
        raw = np.asarray((xt[start:stop] @ xc).toarray(), np.float32)  # block x items counts
        if near is not None:
            weighted = np.asarray(near[start:stop].toarray(), np.float32)
        elif alpha == 0:
            weighted = raw
        else:
            weighted = np.asarray((xt[start:stop] @ xw).toarray(), np.float32)
        dense = _similarity(
            raw, weighted, weighted_pop[start:stop], weighted_pop, beta, shrink, threshold
        )
        if features is not None:
            g = gamma[start:stop, None]
            meta = np.asarray((features[start:stop] @ features.T).toarray(), dtype=np.float32)
            dense = (1.0 - g) * dense + g * meta
        local = np.arange(stop - start)
        dense[local, local + start] = 0.0  # never an item's own neighbour
        rows, cols, vals = _top_k_dense(dense, k)
        all_rows.append(rows + start)
        all_cols.append(cols)
        all_vals.append(vals)
    rows = np.concatenate(all_rows) if all_rows else np.zeros(0, np.int64)
    cols = np.concatenate(all_cols) if all_cols else np.zeros(0, np.int64)
    vals = np.concatenate(all_vals) if all_vals else np.zeros(0, np.float32)
    indptr = np.zeros(n_items + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n_items), out=indptr[1:])
    model = SimsModel(nb_indptr=indptr, nb_indices=cols, nb_scores=vals, **common)
    model.info.update(
        {
            "algorithm": "similar-items" if use_metadata else "sims",
            "events": events.n_events,
            "metadata_features": 0 if features is None else int(features.shape[1]),
            "items_with_neighbours": int((np.diff(indptr) > 0).sum()),
            "mean_neighbours": float(len(cols) / max(n_items, 1)),
        }
    )
    if tuned is not None:
        model.info["tuned"] = {k: v for k, v in tuned.items() if k != "hpo"}
        model.info["hpo"] = tuned["hpo"]
    return model
