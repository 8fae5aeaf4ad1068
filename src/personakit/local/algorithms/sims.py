"""SIMS and Similar-Items: top-k item neighbours stored as CSR.

**sims** (co-interaction): ``C_ij`` = number of users who interacted with both
items (binary, deduplicated). Pairs with ``C_ij < min_cointeraction_count``
(default 3, 0-10 as in Personalize) are dropped. The similarity is
``C_ij / (sqrt(pop_i) · pop_j ** β)`` with β = ``popularity_discount_factor``
(default 0.5, which is cosine; 0 ranks neighbours by raw co-counts, i.e. popular
items; 1 divides by the neighbour's popularity, RP3beta-like). The
``neighbours`` (default 100) best per item are kept.

**similar-items** adds item metadata: categorical fields split on ``|``,
free-text fields (more than 3 words on average) split into words, TF-IDF
weighted and L2-normalised, cosine similarity. Score = (1 - γ)·sims + γ·metadata
with γ = 1 for cold items (fewer than ``cold_item_threshold`` = 5 users) and
``metadata_weight`` (0.1) otherwise, so cold items get neighbours by metadata and
can appear as neighbours. Numeric fields are not used.

**Tuning** (``hpo``: ``auto``, the default, ``true`` or ``false``; Personalize tunes
SIMS's ``popularity_discount_factor`` and ``min_cointeraction_count`` with HPO,
https://docs.aws.amazon.com/personalize/latest/dg/native-recipe-sims.html): a seeded
sample of users (len/9, at most 1,000, at least 20) is held out; for each, the last
item of their oldest 90% is the query and their next different item the truth. β in
{0, 0.25, 0.5, 0.75} and a significance shrinkage ``C_ij / (C_ij + s)`` with s =
``cointeraction_shrink`` in {0, 5, 20} (default 0, none) are scored by each held-out
user's next-item hit@10 on the other users' co-interactions, and a value replaces the
default (β 0.5, s 0) only when its paired gain exceeds one standard error (the
one-SE rule, as for user-personalization). A given β or s stays fixed. The outcome is
``info["tuned"]``, the grid and scores ``info["hpo"]``.

Unknown items, and items without neighbours, get popular items (as the SIMS
recipe documents); short neighbour lists are padded with popular items at score 0.
Co-interactions are computed in item blocks: memory is one block x items.
"""

from __future__ import annotations

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
DEFAULT_BETA = 0.5
HPO_MAX_USERS = 1_000
HPO_MIN_USERS = 20
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


def _weigh(counts: F32, row_pop: F32, pop: F32, beta: float, shrink: float) -> F32:
    """Co-counts (already thresholded) -> ``C / (sqrt(pop_i) · pop_j^β) · C / (C + s)``."""
    out = counts / np.sqrt(np.maximum(row_pop, 1.0))[:, None]
    out /= np.power(np.maximum(pop, 1.0), beta)[None, :]
    if shrink > 0:
        out *= counts / (counts + np.float32(shrink))
    return np.asarray(out, dtype=np.float32)


def _next_items(events: Events, users: I64) -> tuple[I64, I64]:
    """Per user: the last item of the oldest 90% and the first later item that differs
    (users without one are left out)."""
    starts = np.searchsorted(events.users, users, side="left")
    stops = np.searchsorted(events.users, users, side="right")
    queries: list[int] = []
    truths: list[int] = []
    for lo, hi in zip(starts.tolist(), stops.tolist(), strict=True):
        cut = hi - holdout_size(hi - lo)
        if cut <= lo:
            continue
        query = int(events.items[cut - 1])
        later = [int(i) for i in events.items[cut:hi].tolist() if i != query]
        if later:
            queries.append(query)
            truths.append(later[0])
    return np.array(queries, np.int64), np.array(truths, np.int64)


def _one_se(default: int, found: Sequence[F32]) -> int:
    means = [float(f.mean()) for f in found]
    best = int(np.argmax(means))
    if best == default:
        return default
    diff = found[best].astype(np.float64) - found[default]
    se = float(diff.std(ddof=1)) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
    return best if float(diff.mean()) > se else default


def tune_sims(
    events: Events,
    *,
    min_count: int,
    seed: int,
    beta: float | None,
    shrink: float | None,
) -> dict[str, Any] | None:
    """β and the shrinkage on held-out users' next-item hit@10 (one-SE rule); None when
    there are too few users to hold out."""
    counts_per_user = np.bincount(events.users, minlength=events.n_users)
    eligible = np.flatnonzero(counts_per_user >= 2)
    n_val = min(HPO_MAX_USERS, len(eligible) // 9)
    if n_val < HPO_MIN_USERS:
        return None
    held = np.sort(np.random.default_rng(seed).permutation(eligible)[:n_val])
    queries, truths = _next_items(events, held)
    if len(queries) < HPO_MIN_USERS:
        return None
    train = events.subset(~np.isin(events.users, held))
    x = train.binary()
    pop = np.bincount(train.sequences()[1], minlength=events.n_items).astype(np.float32)
    unique, row_of = np.unique(queries, return_inverse=True)
    counts = np.asarray((sp.csr_matrix(x.T)[unique] @ sp.csc_matrix(x)).toarray(), np.float32)
    counts[counts < max(min_count, 1)] = 0.0
    counts[np.arange(len(unique)), unique] = 0.0
    tiebreak = (pop / max(float(pop.max()), 1.0) * 1e-6).astype(np.float32)
    betas = list(BETA_GRID) if beta is None else [beta]
    shrinks = list(SHRINK_GRID) if shrink is None else [shrink]
    points = [(b, s) for b in betas for s in shrinks]
    found: list[F32] = []
    for b, s in points:
        sim = _weigh(counts, pop[unique], pop, b, s)
        sim[sim > 0] += 1.0  # neighbours first, then popular items (as served)
        sim += tiebreak
        sim[np.arange(len(unique)), unique] = -np.inf
        top = np.argpartition(-sim, 9, axis=1)[:, :10]
        found.append(
            np.array([t in top[r] for r, t in zip(row_of, truths, strict=True)], np.float32)
        )
    default = points.index((betas[0] if beta is not None else DEFAULT_BETA, shrinks[0]))
    chosen = _one_se(default, found)
    return {
        "popularity_discount_factor": points[chosen][0],
        "cointeraction_shrink": points[chosen][1],
        "hpo": {
            "metric": "next_item_hit_at_10",
            "rule": "one-SE",
            "validation_users": len(queries),
            "beta_shrink": [list(p) for p in points],
            "scores": [round(float(f.mean()), 6) for f in found],
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
) -> SimsModel:
    events = events_from(data, hyper, default_event_type=default_event_type)
    min_count = hyper.integer("min_cointeraction_count", default=3, low=0, high=10)
    beta_given = hyper.given("popularity_discount_factor")
    shrink_given = hyper.given("cointeraction_shrink")
    hpo = hyper.text("hpo", "perform_hpo", default="auto", choices={"auto", "true", "false"})
    beta = hyper.number("popularity_discount_factor", default=DEFAULT_BETA, low=0.0, high=1.0)
    shrink = hyper.number("cointeraction_shrink", default=0.0, low=0.0)
    k = hyper.integer("neighbours", "max_neighbours", default=100, low=1, high=1000)
    common = common_from(recipe, data, events, hyper)
    n_items = data.n_items
    tuned = None
    search = not (beta_given and shrink_given) and (
        hpo == "true" or (hpo == "auto" and n_items <= HPO_MAX_ITEMS)
    )
    if search:
        tuned = tune_sims(
            events,
            min_count=min_count,
            seed=seed,
            beta=beta if beta_given else None,
            shrink=shrink if shrink_given else None,
        )
    if tuned is not None:
        beta = float(tuned["popularity_discount_factor"])
        shrink = float(tuned["cointeraction_shrink"])
        hyper.used["popularity_discount_factor"] = f"{beta:g}"
        hyper.used["cointeraction_shrink"] = f"{shrink:g}"
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
    row_norm = np.sqrt(np.maximum(popularity, 1.0)).astype(np.float32)
    col_discount = np.power(np.maximum(popularity, 1.0), beta).astype(np.float32)
    threshold = max(min_count, 1)
    block = max(1, min(1024, int(2e7 // max(n_items, 1))))
    all_rows: list[I64] = []
    all_cols: list[I64] = []
    all_vals: list[F32] = []
    for start in range(0, n_items, block):
        stop = min(start + block, n_items)
        co = sp.csr_matrix((xt[start:stop] @ xc).astype(np.float32))  # block x items counts
        co.data[co.data < threshold] = 0.0
        co.eliminate_zeros()
        dense = co.toarray()
        significance = dense / (dense + np.float32(shrink)) if shrink > 0 else None
        dense /= row_norm[start:stop, None]
        dense /= col_discount[None, :]
        if significance is not None:
            dense *= significance
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
