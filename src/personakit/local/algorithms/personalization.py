"""User-personalization, personalized-ranking and item-affinity: one user model.

Algorithm (recsys.md §6): EASE when the catalogue's items with interactions are
at most ``ease_max_items`` (12,000: its dense inverse is cubic, 34 s at 19k items
on 2 cores) and the dense matrix fits in memory, implicit ALS (CG) beyond;
``algorithm`` = ``auto`` | ``ease`` | ``ials`` overrides it.

Scoring a user: the user's distinct items (training history plus the
``history`` events recorded after training, each at its newest time), weighted
by recency ``0.5 ** (age / recency_half_life)`` where age counts the user's later
distinct items (recsys.md §4.4: half-life 10 events, +21-27% NDCG@10), then
``x·B`` (EASE) or an exact least-squares fold-in (iALS, recency as confidence).
Events whose weight falls below 1e-4 are left out, which bounds the work per
request. Unknown users with ``history`` are folded in the same way; users with
no usable history get popular items.

Seen items: like Personalize's user-personalization, items a user already
interacted with are *not* excluded by default (use an exclude filter, or the
``exclude_seen=true`` hyperparameter). Offline metrics mask the test user's input
(see :mod:`personakit.local.evaluation`).

Tuning ("hpo"): a seeded sample of training users (len/9, at most 1,000, at
least 20) is held out, their oldest 90% events as input and newest 10% as truth;
the grid below is trained on the other users and the best NDCG@10 wins; the
final model is trained on every user. ``hpo=auto`` (default) tunes when that is
cheap (EASE: <= 6,000 active items; iALS: <= 300,000 events), ``true`` always,
``false`` never (then the defaults are used). Under ``algorithm=auto``, when
both are cheap, both grids run and the better algorithm is kept (reported in
``info["algorithm"]`` and the effective ``algorithm`` hyperparameter).

* EASE grid: l2 = λ0 · {1/9, 1/3, 1, 3, 9}, λ0 = 25·sqrt(mean interactions per
  active item), a fit of the published/tuned λ (ML-20M 500, ml-100k 200,
  Netflix 1000); the default without tuning is λ0.
* iALS grid: reg ∈ {10, 50} x alpha ∈ {4, 8, 16} at the asked factors (default
  64) and 15 iterations (a given reg or alpha stays fixed); defaults without
  tuning reg=50, alpha=8 (the best of a 12-point sweep on generated data).

Segmentation (item-affinity): a user's score for an item set is the user's
share of positive predicted score on those items (Σ_i∈S max(s_ui, 0) / Σ_j
max(s_uj, 0)) times the user's training event count (recsys.md §4.5).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]

from personakit.local.algorithms._common import (
    BaseModel,
    Events,
    Hyper,
    common_from,
    events_from,
    fmt_number,
    history_cap,
    recency_weights,
    top_indices,
)
from personakit.local.algorithms._metrics import holdout_size, ndcg_at_k
from personakit.local.algorithms.base import Scored, TrainingData
from personakit.local.algorithms.ease import EaseScorer, default_l2, ease_fits_in_memory, gram
from personakit.local.algorithms.ials import IalsScorer, fit_ials

__all__ = ["UserPersonalizationModel", "train_personalization"]

logger = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

Scorer = EaseScorer | IalsScorer

#: EASE's dense inverse is O(I³): 8-10 s at 12k items on 2 cores, 34 s at 19k (recsys.md §5
#: measured 57 s at 20k); beyond, iALS keeps training at 1M events / 20k items near 5 s
EASE_MAX_ITEMS = 12_000
#: ``hpo=auto`` tunes only where the grid stays a few seconds on 2 cores (5 EASE inverses
#: at <= 6k items; 6 iALS fits at <= 300k events), so a training stays within budget
EASE_HPO_MAX_ITEMS = 6_000
IALS_HPO_MAX_EVENTS = 300_000
HPO_MAX_USERS = 1_000
HPO_MIN_USERS = 20
IALS_REG_GRID = (10.0, 50.0)
IALS_ALPHA_GRID = (4.0, 8.0, 16.0)
IALS_REG = 50.0
IALS_ALPHA = 8.0


class UserPersonalizationModel(BaseModel):
    """A user model (EASE or iALS scorer) plus each training user's recent items."""

    kind: ClassVar[str] = "user-personalization"

    def __init__(
        self,
        recipe: str,
        *,
        scorer: Scorer,
        seq_indptr: npt.ArrayLike,
        seq_items: npt.ArrayLike,
        seq_times: npt.ArrayLike,
        half_life: float,
        exclude_seen: bool = False,
        segment_norm: npt.ArrayLike | None = None,
        **common: Any,
    ) -> None:
        super().__init__(recipe, **common)
        self.scorer = scorer
        self.seq_indptr = np.asarray(seq_indptr, dtype=np.int64)
        self.seq_items = np.asarray(seq_items, dtype=np.int32)
        self.seq_times = np.asarray(seq_times, dtype=np.int64)
        self.half_life = float(half_life)
        self.exclude_seen = bool(exclude_seen)
        self._cap = history_cap(self.half_life)
        self._segment_norm = None if segment_norm is None else np.asarray(segment_norm, np.float64)
        self._users_state: Any = None

    # ---------------------------------------------------------------- history

    def _history(
        self, user_id: str | None, history: Sequence[tuple[str, int]]
    ) -> tuple[I64, I64, F32]:
        """(every distinct item seen, the recent ones that count, their weights)."""
        position = self.users.get(user_id) if user_id is not None else None
        if position is not None:
            lo, hi = self.seq_indptr[position], self.seq_indptr[position + 1]
            items = self.seq_items[lo:hi].astype(np.int64)
            times = self.seq_times[lo:hi].astype(np.float64)
        else:
            items = np.zeros(0, np.int64)
            times = np.zeros(0, np.float64)
        if history:
            extra = [(self.items.get(str(item)), ts) for item, ts in history]
            known = [(p, float(ts)) for p, ts in extra if p is not None]
            if known:
                items = np.concatenate([items, np.array([p for p, _ in known], np.int64)])
                times = np.concatenate([times, np.array([t for _, t in known], np.float64)])
                items = items[np.argsort(times, kind="stable")]
                _, first = np.unique(items[::-1], return_index=True)
                items = items[np.sort(len(items) - 1 - first)]
        recent = items if self._cap is None else items[-self._cap :]
        return items, recent, recency_weights(len(recent), self.half_life)

    # ---------------------------------------------------------------- Model protocol

    def recommend(
        self,
        user_id: str | None,
        n: int,
        *,
        history: Sequence[tuple[str, int]] = (),
        exclude: Collection[str] = (),
        candidates: Collection[str] | None = None,
    ) -> Scored:
        """Top-n items for the user; popular items when there is no usable history."""
        seen, recent, weights = self._history(user_id, history)
        excluded = self._excluded(exclude)
        if self.exclude_seen and len(seen):
            excluded = np.concatenate([excluded, seen])
        pool = self._candidates(candidates)
        if len(recent) == 0:
            return self._popular(n, excluded, pool)
        return self._select(self.scorer.score(recent, weights), n, excluded, pool)

    def rank(
        self, user_id: str, items: Sequence[str], *, history: Sequence[tuple[str, int]] = ()
    ) -> Scored:
        """``items`` by the user's scores; items the model has no signal for (unknown
        ids, items without interactions) last, in input order, with a NaN score."""
        known, _ = self._split_known(items)
        scored = [(name, p) for name, p in known if self.popularity[p] > 0]
        scored_names = {name for name, _ in scored}
        _, recent, weights = self._history(user_id, history)
        targets = np.array([p for _, p in scored], dtype=np.int64)
        if len(targets) == 0:
            values: F64 = np.zeros(0)
        elif len(recent) == 0:
            values = self._pop_score[targets]
        else:
            values = self.scorer.score_some(recent, weights, targets).astype(np.float64)
            values = values + self._tiebreak[targets]
        order = np.argsort(-values, kind="stable")
        result: Scored = [(scored[k][0], float(values[k])) for k in order.tolist()]
        done = set(scored_names)
        for name in items:
            if name not in done:
                done.add(name)
                result.append((name, math.nan))
        return result

    def related(
        self,
        item_id: str,
        n: int,
        *,
        exclude: Collection[str] = (),
        candidates: Collection[str] | None = None,
    ) -> Scored:
        """Items the model associates with ``item_id`` (EASE row, or factor cosine)."""
        position = self.items.get(item_id)
        excluded = self._excluded([*exclude, item_id])
        pool = self._candidates(candidates)
        if position is None or self.popularity[position] == 0:
            return self._popular(n, excluded, pool)
        return self._select(self.scorer.neighbours(position), n, excluded, pool)

    def users_for_items(self, item_ids: Sequence[str], n: int) -> Scored:
        """Users by (share of their positive score on these items) x (their activity)."""
        targets = np.unique(self.items.lookup(item_ids))
        if len(targets) == 0 or len(self.users) == 0:
            return super().users_for_items(item_ids, n)
        state = self._state()
        total = np.zeros(len(self.users), np.float64)
        for start in range(0, len(targets), 256):
            part = self.scorer.user_scores(state, targets[start : start + 256])
            np.maximum(part, 0, out=part)
            total += part.sum(axis=1)
        norm = self.segment_norm()
        share = np.divide(total, norm, out=np.zeros_like(total), where=norm > 0)
        return self._top_users(share * self.activity, n)

    # ---------------------------------------------------------------- segmentation state

    def weighted_users(self) -> Any:
        """Users x items CSR of the training histories, recency-weighted."""
        lengths = np.diff(self.seq_indptr)
        rows = np.repeat(np.arange(len(lengths)), lengths)
        age = self.seq_indptr[rows + 1] - 1 - np.arange(len(self.seq_items))
        if math.isinf(self.half_life):
            weights = np.ones(len(age), np.float32)
        else:
            weights = np.power(0.5, age / self.half_life).astype(np.float32)
        return sp.csr_matrix(
            (weights, self.seq_items, self.seq_indptr), shape=(len(lengths), len(self.items))
        )

    def _state(self) -> Any:
        if self._users_state is None:
            self._users_state = self.scorer.users_state(self.weighted_users())
        return self._users_state

    def segment_norm(self) -> F64:
        """Σ_j max(s_uj, 0) per user (computed once, saved with the model)."""
        if self._segment_norm is None:
            self._segment_norm = self.scorer.user_norm(self._state())
        return self._segment_norm

    # ---------------------------------------------------------------- persistence

    def _arrays(self) -> dict[str, npt.NDArray[Any]]:
        arrays: dict[str, npt.NDArray[Any]] = {
            "seq_indptr": self.seq_indptr,
            "seq_items": self.seq_items,
            "seq_times": self.seq_times,
            **self.scorer.arrays(),
        }
        if self._segment_norm is not None:
            arrays["segment_norm"] = self._segment_norm
        return arrays

    def _params(self) -> dict[str, Any]:
        return {
            "scorer": self.scorer.kind,
            "scorer_params": self.scorer.params(),
            "half_life": "inf" if math.isinf(self.half_life) else self.half_life,
            "exclude_seen": self.exclude_seen,
        }

    @classmethod
    def _restore(
        cls, common: dict[str, Any], params: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]
    ) -> UserPersonalizationModel:
        scorer_cls: type[EaseScorer] | type[IalsScorer] = (
            EaseScorer if params["scorer"] == "ease" else IalsScorer
        )
        scorer = scorer_cls.restore(params["scorer_params"], arrays)
        return cls(
            scorer=scorer,
            seq_indptr=arrays["seq_indptr"],
            seq_items=arrays["seq_items"],
            seq_times=arrays["seq_times"],
            half_life=float(params["half_life"]),
            exclude_seen=bool(params["exclude_seen"]),
            segment_norm=arrays.get("segment_norm"),
            **common,
        )


# --------------------------------------------------------------------------- training


def _settings(hyper: Hyper) -> tuple[float, bool]:
    half_life = hyper.number("recency_half_life", default=10.0, low=0.0, allow_inf=True)
    if half_life == 0:
        half_life = math.inf
    # Personalize's own switches: UP-v2's apply_recency_bias, HRNN's recency_mask
    if not hyper.flag("apply_recency_bias", "recency_mask", default=True):
        half_life = math.inf
    return half_life, hyper.flag("exclude_seen", default=False)


def choose_algorithm(n_active_items: int, hyper: Hyper) -> str:
    """``auto`` -> EASE up to ``ease_max_items`` active items when it fits in memory."""
    asked = hyper.text("algorithm", default="auto", choices={"auto", "ease", "ials"})
    limit = hyper.integer("ease_max_items", default=EASE_MAX_ITEMS, low=0)
    if asked != "auto":
        return asked
    if n_active_items <= limit and ease_fits_in_memory(n_active_items):
        return "ease"
    return "ials"


_Split = tuple[Events, list[tuple[I64, npt.NDArray[np.int64]]], list[set[int]]]


def _validation(events: Events, rng: np.random.Generator) -> _Split | None:
    """Hold out a sample of users: (other users' events, inputs, truths)."""
    counts = np.bincount(events.users, minlength=events.n_users)
    eligible = np.flatnonzero(counts >= 2)
    n_val = min(HPO_MAX_USERS, len(eligible) // 9)
    if n_val < HPO_MIN_USERS:
        return None
    chosen = np.sort(rng.choice(eligible, size=n_val, replace=False))
    held = np.isin(events.users, chosen)
    train = events.subset(~held)
    val = events.subset(held)
    starts = np.searchsorted(val.users, chosen, side="left")
    stops = np.searchsorted(val.users, chosen, side="right")
    inputs: list[tuple[I64, npt.NDArray[np.int64]]] = []
    truths: list[set[int]] = []
    for lo, hi in zip(starts.tolist(), stops.tolist(), strict=True):
        cut = hi - holdout_size(hi - lo)
        items = val.items[lo:cut].astype(np.int64)
        truth = set(val.items[cut:hi].tolist()) - set(items.tolist())
        if truth:
            inputs.append((items, val.times[lo:cut]))
            truths.append(truth)
    if len(truths) < HPO_MIN_USERS:
        return None
    return train, inputs, truths


def _validation_ndcg(
    scorer: Scorer,
    popularity: F64,
    inputs: list[tuple[I64, npt.NDArray[np.int64]]],
    truths: list[set[int]],
    half_life: float,
) -> float:
    cap = history_cap(half_life)
    pop_top = np.argsort(-popularity, kind="stable")
    total = 0.0
    for (items, _times), truth in zip(inputs, truths, strict=True):
        _, first = np.unique(items[::-1], return_index=True)
        seq = items[np.sort(len(items) - 1 - first)]
        if len(seq) == 0:
            ranked = pop_top[:10].tolist()
        else:
            recent = seq if cap is None else seq[-cap:]
            scores = scorer.score(recent, recency_weights(len(recent), half_life))
            scores[seq] = -np.inf
            ranked = top_indices(scores, 10).tolist()
        total += ndcg_at_k(ranked, truth, 10)
    return total / len(truths)


def _round(value: float) -> float:
    return float(f"{value:.3g}")


def _tune_ease(
    events: Events, split: _Split, half_life: float
) -> tuple[float, dict[str, float], dict[str, Any]]:
    """EASE's λ on the validation split: one Gram, one inverse per grid point."""
    train_events, inputs, truths = split
    xt = train_events.binary()
    active = np.flatnonzero(np.diff(sp.csc_matrix(xt).indptr) > 0)
    base = gram(xt[:, active])
    center = default_l2(xt)
    ratios = (1 / 9, 1 / 3, 1.0, 3.0, 9.0)
    grid = [_round(center * f) for f in ratios]
    scores = [
        _validation_ndcg(
            EaseScorer.from_gram(base, active, events.n_items, lam),
            train_events.popularity(),
            inputs,
            truths,
            half_life,
        )
        for lam in grid
    ]
    best = int(np.argmax(scores))
    report = {
        "validation_users": len(truths),
        "l2": grid,
        "scores": [round(v, 6) for v in scores],
    }
    return scores[best], {"l2_ratio": grid[best] / center}, report


def _tune_ials(
    split: _Split,
    half_life: float,
    *,
    factors: int,
    iterations: int,
    seed: int,
    reg: float | None,
    alpha: float | None,
) -> tuple[float, dict[str, float], dict[str, Any]]:
    """iALS's (reg, alpha) on the validation split; a given value is kept fixed."""
    train_events, inputs, truths = split
    xt = train_events.binary()
    regs = [reg] if reg is not None else list(IALS_REG_GRID)
    alphas = [alpha] if alpha is not None else list(IALS_ALPHA_GRID)
    pairs = [(r, a) for r in regs for a in alphas]
    found: list[float] = []
    for r, a in pairs:
        _, item_factors = fit_ials(
            xt, factors=factors, reg=r, alpha=a, iterations=iterations, seed=seed
        )
        found.append(
            _validation_ndcg(
                IalsScorer(item_factors, r, a), train_events.popularity(), inputs, truths, half_life
            )
        )
    best = int(np.argmax(found))
    report = {
        "validation_users": len(truths),
        "reg_alpha": [list(p) for p in pairs],
        "scores": [round(v, 6) for v in found],
    }
    return found[best], {"reg": pairs[best][0], "alpha": pairs[best][1]}, report


def train_personalization(
    recipe: str,
    data: TrainingData,
    hyper: Hyper,
    *,
    seed: int,
    default_event_type: str | None = None,
    segmentation: bool = False,
) -> UserPersonalizationModel:
    events = events_from(data, hyper, default_event_type=default_event_type)
    half_life, exclude_seen = _settings(hyper)
    x = events.binary()
    n_active = int((events.popularity() > 0).sum())
    algorithm = choose_algorithm(n_active, hyper)
    hpo = hyper.text("hpo", "perform_hpo", default="auto", choices={"auto", "true", "false"})
    rng = np.random.default_rng(seed)
    info: dict[str, Any] = {
        "algorithm": algorithm,
        "events": events.n_events,
        "active_items": n_active,
    }

    asked_auto = hyper.values.get("algorithm", "auto").strip().lower() == "auto"
    factors = hyper.integer("factors", "hidden_dimension", default=64, low=1, high=1024)
    iterations = hyper.integer("iterations", "epochs", default=15, low=1, high=200)
    l2_given = hyper.given("l2", "lambda", "reg", "regularization")
    alpha_given = hyper.given("alpha")
    cheap = {
        "ease": not l2_given and n_active <= EASE_HPO_MAX_ITEMS,
        "ials": not (l2_given and alpha_given) and events.n_events <= IALS_HPO_MAX_EVENTS,
    }
    # under ``algorithm=auto`` HPO may pick either (validation NDCG@10 decides) when both
    # are cheap; otherwise only the chosen algorithm's own parameters are tuned
    candidates = [algorithm]
    if asked_auto and algorithm == "ease" and cheap["ials"] and cheap["ease"]:
        candidates.append("ials")
    if hpo == "auto":
        candidates = [c for c in candidates if cheap[c]]
    elif hpo == "false":
        candidates = []
    split = _validation(events, rng) if candidates else None
    results: dict[str, tuple[float, dict[str, float], dict[str, Any]]] = {}
    for candidate in candidates:
        if split is None:
            break
        if candidate == "ease" and not l2_given:
            results[candidate] = _tune_ease(events, split, half_life)
        elif candidate == "ials" and not (l2_given and alpha_given):
            results[candidate] = _tune_ials(
                split,
                half_life,
                factors=factors,
                iterations=iterations,
                seed=seed,
                reg=hyper.number("l2", "reg", "regularization", default=IALS_REG)
                if l2_given
                else None,
                alpha=hyper.number("alpha", default=IALS_ALPHA) if alpha_given else None,
            )
    if results:
        algorithm = max(results, key=lambda k: results[k][0])
        info["algorithm"] = algorithm
        info["hpo"] = {"metric": "ndcg_at_10", **{name: r[2] for name, r in results.items()}}
        hyper.used["algorithm"] = algorithm
    tuned = results[algorithm][1] if algorithm in results else {}

    if algorithm == "ease":
        l2 = hyper.number("l2", "lambda", default=_round(default_l2(x)), low=0.0)
        if "l2_ratio" in tuned:
            # the grid is relative to the tuning data's λ0: carry the ratio to the full data
            l2 = _round(default_l2(x) * tuned["l2_ratio"])
        hyper.used["l2"] = fmt_number(l2)
        scorer: Scorer = EaseScorer.fit(x, l2)
    else:
        reg = tuned.get("reg") or hyper.number(
            "l2", "reg", "regularization", default=IALS_REG, low=0.0
        )
        alpha = tuned.get("alpha") or hyper.number("alpha", default=IALS_ALPHA, low=0.0)
        hyper.used["factors"] = str(factors)
        hyper.used["iterations"] = str(iterations)
        hyper.used["l2"] = fmt_number(reg)
        hyper.used["alpha"] = fmt_number(alpha)
        _, item_factors = fit_ials(
            x, factors=factors, reg=reg, alpha=alpha, iterations=iterations, seed=seed
        )
        scorer = IalsScorer(item_factors, reg, alpha)

    indptr, items, times = events.sequences()
    model = UserPersonalizationModel(
        scorer=scorer,
        seq_indptr=indptr,
        seq_items=items,
        seq_times=times,
        half_life=half_life,
        exclude_seen=exclude_seen,
        **common_from(recipe, data, events, hyper),
    )
    model.info.update(info)
    if segmentation:
        model.segment_norm()
    return model
