"""User-personalization, personalized-ranking and item-affinity: one user model.

Algorithm: EASE when the catalogue's items with interactions are
at most ``ease_max_items`` (12,000: its dense inverse is cubic, 34 s at 19k items
on 2 cores) and the dense matrix fits in memory, implicit ALS (CG) beyond;
``algorithm`` = ``auto`` | ``ease`` | ``ials`` | ``blend`` | ``slist`` overrides it. Where
both are cheap to tune, ``auto`` searches them and their blend (:mod:`.blend`: per-user
z-normalised scores, ``ease_weight`` 0.3 on EASE) and keeps the blend unless a single
model validates clearly better (below). Where EASE is cheap it also scores SLIST
(:mod:`.slist`, Choi et al. 2021: item similarity plus item-to-next-item transitions in
one closed-form matrix, scored like EASE): the default where no blend is searched
(iALS too costly to tune), otherwise a challenger that must validate clearly better.

Scoring a user: the user's distinct items (training history plus the
``history`` events recorded after training, each at its newest time), weighted
by recency ``0.5 ** (age / recency_half_life)`` where age counts the user's later
distinct items (half-life 10 events: +21-27% NDCG@10 on MovieLens), then
``x·B`` (EASE) or an exact least-squares fold-in (iALS, recency as confidence).
Events whose weight falls below 1e-4 are left out, which bounds the work per
request. Unknown users with ``history`` are folded in the same way; users with
no usable history get popular items.

Seen items: like Personalize's user-personalization, items a user already
interacted with are *not* excluded by default (use an exclude filter, or the
``exclude_seen=true`` hyperparameter). Offline metrics mask the test user's input
(see :mod:`personakit.local.evaluation`).

Tuning ("hpo", :func:`tune`): a seeded sample of training users (len/9, at most
1,000, at least 20) is held out, their oldest 90% events as input and newest 10% as
truth (Personalize's protocol one level down); the grid below is trained on the other
users and scored on each held-out user's NDCG@10. Every choice follows the one-SE
rule: a grid point replaces the default only when its paired gain over the default
exceeds ``SE_RULE`` (1) standard errors, because with a few hundred validation users
the gaps between grid points are within noise (docs/performance.md measures the
effect across seeds). In order: the algorithm's own parameters at half-life 10; the
recency half-life in {1, 2, 5, 10, 20, inf} for those (unless ``recency_half_life`` or
``apply_recency_bias`` was given); then, under ``algorithm=auto`` when both are cheap,
the blend of the two tuned models (its own half-life tuned the same way) against EASE
and iALS alone, the blend being the default (``PRIOR_BLEND``; iALS, ``PRIOR_ALGORITHM``,
where no blend is searched). ``hpo=auto`` (default) tunes when that is cheap (EASE:
<= 6,000 active items; iALS: <= 300,000 events), ``true`` always, ``false`` never (then
the defaults are used). The outcome is ``info["tuned"]`` (algorithm, half-life,
parameters) with the grid and scores in ``info["hpo"]``; passing it back as ``tuned=``
(what the local engine's solution versions do: the metrics run tunes, the final fit
reuses) skips the search. The final model is trained on every user.

* EASE grid: l2 = λ0 · {1/9, 1/3, 1, 3, 9}, λ0 = 25·sqrt(mean interactions per
  active item), a fit of the published/tuned λ (ML-20M 500, ml-100k 200,
  Netflix 1000); the default, and the value without tuning, is λ0.
* iALS grid: reg ∈ {10, 50} x alpha ∈ {4, 8, 16} at the asked factors (default
  64) and 15 iterations (a given reg or alpha stays fixed); defaults reg=50,
  alpha=8 (the best of a 12-point sweep on generated data).
* SLIST: ``slist_alpha`` 0.8, ``slist_l2`` 10, ``slist_decay`` 1 (not searched; one fit
  per fold), its half-life tuned; a candidate under ``auto`` up to 6,000 active items.
* Blend: the tuned EASE and iALS, mixed at ``ease_weight`` (default 0.3, not searched:
  the blend is scored once per half-life). Asked for with ``algorithm=blend``, EASE's
  λ is read from ``l2``/``lambda`` and iALS's from ``reg``/``regularization`` and
  ``alpha``; the blend costs both fits, so ``auto`` considers it only where both are
  cheap to tune (at 1M events / 20k items it trains iALS alone, as before).

Segmentation (item-affinity): a user's score for an item set is the user's
share of positive predicted score on those items (Σ_i∈S max(s_ui, 0) / Σ_j
max(s_uj, 0)) times the user's training event count. The user's scores come from the
whole history, unweighted (``SEGMENT_HALF_LIFE`` inf; a given ``recency_half_life``
or ``apply_recency_bias`` applies instead): a segment is who will interact with the
items over the coming period, not next, and the half-life tuned for next items (one
event on Online Retail's purchases) would rank users by their last purchase only.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar

import attrs
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]

from personakit.local.algorithms.base import Scored, TrainingData
from personakit.local.algorithms.blend import BlendScorer
from personakit.local.algorithms.common import (
    BaseModel,
    Events,
    Hyper,
    common_from,
    events_from,
    fmt_number,
    history_cap,
    recency_weights,
    top_indices_rows,
)
from personakit.local.algorithms.ease import EaseScorer, default_l2, ease_fits_in_memory, gram
from personakit.local.algorithms.ials import THREADS, IalsScorer, fit_ials, one_blas_thread
from personakit.local.algorithms.metrics import holdout_size, ndcg_at_k
from personakit.local.algorithms.slist import fit_slist

__all__ = ["UserPersonalizationModel", "train_personalization", "tune"]

logger = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

Scorer = EaseScorer | IalsScorer | BlendScorer

#: scores per block of the metrics run's batch scoring (users x items float32, 80 MB):
#: 100 users at 200k items, so one matrix product reads the item side once per 100 users
BATCH_SCORES = 20_000_000
#: EASE's dense inverse is O(I³): 8-10 s at 12k items on 2 cores, 34 s at 19k (57 s
#: measured at 20k); beyond, iALS keeps training at 1M events / 20k items near 5 s
EASE_MAX_ITEMS = 12_000
#: ``hpo=auto`` tunes only where the grid stays a few seconds on 2 cores (5 EASE inverses
#: at <= 6k items; 6 iALS fits at <= 300k events), so a training stays within budget
EASE_HPO_MAX_ITEMS = 6_000
IALS_HPO_MAX_EVENTS = 300_000
HPO_MAX_USERS = 1_000
HPO_MIN_USERS = 20
#: validation folds (disjoint held-out users, one fit per grid point each) while
#: folds x events <= HPO_FOLD_EVENTS, i.e. more validation users only where fits are
#: cheap (3 folds up to 100k events, 1 from 150k): one fold of 600 users has an SE of
#: ~0.005 on NDCG@10 ~0.13, as large as the gaps between grid points, and 3 folds did
#: not make the choice better on the generated data (docs/performance.md)
HPO_FOLDS = 3
HPO_FOLD_EVENTS = 300_000
IALS_REG_GRID = (10.0, 50.0)
IALS_ALPHA_GRID = (4.0, 8.0, 16.0)
IALS_REG = 50.0
IALS_ALPHA = 8.0
EASE_L2_RATIOS = (1 / 9, 1 / 3, 1.0, 3.0, 9.0)
#: on MovieLens every half-life from 3 to 30 events beat none; 10 is the default
DEFAULT_HALF_LIFE = 10.0
#: the short half-lives (1, 2) are for purchase sequences, where the next items follow the
#: last one or two (online retail: validation NDCG@10 +10-15% at 1 over 5, every model)
HALF_LIFE_GRID = (1.0, 2.0, 5.0, DEFAULT_HALF_LIFE, 20.0, math.inf)
#: a tuned value replaces the default only when its paired validation gain exceeds this
#: many standard errors (the one-standard-error rule; see :func:`tune`)
SE_RULE = 1.0
#: item-affinity's recency half-life (events) for the users' scores: none, every
#: distinct item of the history counts the same (docs/performance.md measures it)
SEGMENT_HALF_LIFE = math.inf
#: the algorithm kept when EASE and iALS validate within ``SE_RULE`` standard errors
#: (and no blend is searched): on the generated data iALS's defaults beat tuned EASE on
#: the test users on average (docs/performance.md), and on MovieLens they tie
#: (within 1.3 SE)
PRIOR_ALGORITHM = "ials"
#: where both are searched, the blend of the two tuned models is the default instead: a
#: single model replaces it only when it validates more than ``SE_RULE`` SEs better
PRIOR_BLEND = "blend"
#: EASE's share of the blend (z-normalised scores, :mod:`.blend`): 0.3 was the best of
#: {0.2, 0.25, 0.3, 0.4, 0.5} on the test users of generated seeds 3-5 (the benchmark's
#: table uses seeds 0-2), all within noise of each other (docs/performance.md)
BLEND_EASE_WEIGHT = 0.3
#: SLIST (:mod:`.slist`) defaults: SLIS's share α, λ and the position decay of its
#: transitions (in items); not searched (one fit per fold), only its half-life is
SLIST_ALPHA = 0.8
SLIST_L2 = 10.0
SLIST_DECAY = 1.0
#: SLIST's fit works in float64 on the active items (Gram, right-hand side, factor):
#: considered under ``auto`` up to EASE's tuning size
SLIST_MAX_ITEMS = EASE_HPO_MAX_ITEMS


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
        segment_half_life: float | None = None,
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
        #: the half-life of the users' scores for segments (:meth:`users_for_items`)
        self.segment_half_life = self.half_life if segment_half_life is None else segment_half_life
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

    def recommend_batch(
        self,
        user_ids: Sequence[str | None],
        n: int,
        *,
        histories: Sequence[Sequence[tuple[str, int]]],
        excludes: Sequence[Collection[str]],
    ) -> list[Scored]:
        """:meth:`recommend` for many users (the offline metrics run), scored in blocks.

        Each user's weighted history and exclusions are :meth:`recommend`'s; a block of
        users is scored by one ``score_batch`` (iALS: their fold-ins, then one matrix
        product) and cut to its top ``n`` per row by :func:`.top_indices_rows`, in
        blocks of about ``BATCH_SCORES`` scores (iALS: on a thread per core). The lists
        are :meth:`recommend`'s (iALS and blend scores may differ from the one-user
        product in float32 rounding).
        """
        count = len(user_ids)
        if not len(histories) == len(excludes) == count:
            raise ValueError("recommend_batch: user_ids, histories and excludes differ in length")
        out: list[Scored] = [[] for _ in range(count)]
        n_items = len(self.items)
        block = max(1, BATCH_SCORES // max(n_items, 1))
        ials = self.scorer if isinstance(self.scorer, IalsScorer) else None
        # iALS: blocks on a thread per core with BLAS on one thread each (the product, the
        # tie-break and the top-n cut run in parallel, not the product alone), while this
        # thread prepares the next users' histories; each worker writes its blocks' scores
        # into its own buffer (no page faults per block)
        workers = max(1, min(THREADS, count // block)) if ials is not None else 1
        buffers: queue.SimpleQueue[F32 | None] = queue.SimpleQueue()
        for _ in range(workers):
            rows = min(block, count)
            buffers.put(np.empty((rows, n_items), np.float32) if ials is not None else None)

        failed = threading.Event()  # a block failed: the blocks after it are not scored

        def one(part: list[tuple[int, I64, F32, I64]]) -> None:
            if failed.is_set():
                return
            try:
                score(part)
            except BaseException:
                failed.set()
                raise

        def score(part: list[tuple[int, I64, F32, I64]]) -> None:
            lengths = np.array([len(p[1]) for p in part], dtype=np.int64)
            indptr = np.concatenate([[0], np.cumsum(lengths)])
            weighted = sp.csr_matrix(
                (
                    np.concatenate([p[2] for p in part]),
                    np.concatenate([p[1] for p in part]),
                    indptr,
                ),
                shape=(len(part), n_items),
            )
            buffer = buffers.get()
            try:
                if ials is not None and buffer is not None:
                    scores = ials.score_batch(weighted, out=buffer[: len(part)])
                else:
                    scores = self.scorer.score_batch(weighted)
                scores += self._tiebreak
                dropped = [len(p[3]) for p in part]
                if sum(dropped):
                    rows = np.repeat(np.arange(len(part)), dropped)
                    scores[rows, np.concatenate([p[3] for p in part])] = -np.inf
                tops = top_indices_rows(scores, n)
                for (k, *_), top, row in zip(part, tops, scores, strict=True):
                    out[k] = self._scored(top, row)
            finally:
                buffers.put(buffer)

        with contextlib.ExitStack() as stack:
            pool = None
            if workers > 1:
                stack.enter_context(one_blas_thread())
                pool = stack.enter_context(ThreadPoolExecutor(workers))
            pending: list[Future[None]] = []
            # a failure (or Ctrl-C here) drops the blocks not started yet instead of scoring
            # them: no more are queued, and queued ones are cancelled or skip their work
            stack.callback(lambda: [job.cancel() for job in pending])
            part: list[tuple[int, I64, F32, I64]] = []
            for k, (user, history, exclude) in enumerate(
                zip(user_ids, histories, excludes, strict=True)
            ):
                if failed.is_set():
                    break
                seen, recent, weights = self._history(user, history)
                excluded = self._excluded(exclude)
                if self.exclude_seen and len(seen):
                    excluded = np.concatenate([excluded, seen])
                if len(recent) == 0:
                    out[k] = self._popular(n, excluded, None)
                    continue
                part.append((k, recent, weights, excluded))
                if len(part) == block:
                    if pool is None:
                        one(part)
                    else:
                        pending.append(pool.submit(one, part))
                    part = []
            if part:
                one(part)
            for done in pending:
                done.result()  # a worker's exception, raised here
        return out

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
        """Users x items CSR of the training histories, weighted by recency with the
        segment half-life."""
        lengths = np.diff(self.seq_indptr)
        rows = np.repeat(np.arange(len(lengths)), lengths)
        age = self.seq_indptr[rows + 1] - 1 - np.arange(len(self.seq_items))
        if math.isinf(self.segment_half_life):
            weights = np.ones(len(age), np.float32)
        else:
            weights = np.power(0.5, age / self.segment_half_life).astype(np.float32)
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
            "segment_half_life": _hl_text(self.segment_half_life),
        }

    @classmethod
    def _restore(
        cls, common: dict[str, Any], params: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]
    ) -> UserPersonalizationModel:
        scorer_cls: type[EaseScorer] | type[IalsScorer] | type[BlendScorer] = {
            "ease": EaseScorer,
            "ials": IalsScorer,
            "blend": BlendScorer,
        }[str(params["scorer"])]
        scorer = scorer_cls.restore(params["scorer_params"], arrays)
        return cls(
            scorer=scorer,
            seq_indptr=arrays["seq_indptr"],
            seq_items=arrays["seq_items"],
            seq_times=arrays["seq_times"],
            half_life=float(params["half_life"]),
            exclude_seen=bool(params["exclude_seen"]),
            segment_norm=arrays.get("segment_norm"),
            # models saved before it had the user model's half-life
            segment_half_life=_half_life_of(params.get("segment_half_life", params["half_life"])),
            **common,
        )


# --------------------------------------------------------------------------- training


def _settings(hyper: Hyper) -> tuple[float, bool]:
    half_life = hyper.number(
        "recency_half_life", default=DEFAULT_HALF_LIFE, low=0.0, allow_inf=True
    )
    if half_life == 0:
        half_life = math.inf
    # Personalize's own switches: UP-v2's apply_recency_bias, HRNN's recency_mask
    if not hyper.flag("apply_recency_bias", "recency_mask", default=True):
        half_life = math.inf
    return half_life, hyper.flag("exclude_seen", default=False)


def choose_algorithm(n_active_items: int, hyper: Hyper) -> str:
    """``auto`` -> EASE up to ``ease_max_items`` active items when it fits in memory."""
    asked = hyper.text(
        "algorithm", default="auto", choices={"auto", "ease", "ials", "blend", "slist"}
    )
    limit = hyper.integer("ease_max_items", default=EASE_MAX_ITEMS, low=0)
    if asked != "auto":
        return asked
    if n_active_items <= limit and ease_fits_in_memory(n_active_items):
        return "ease"
    return "ials"


class _Validation:
    """Held-out users for tuning: the other users' events, and per held-out user the
    distinct input items (oldest first, each at its newest position) and the truth."""

    def __init__(self, train: Events, seqs: list[I64], truths: list[set[int]]) -> None:
        self.train = train
        self.truths = truths
        self.n_items = train.n_items
        self.lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        self.indptr = np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)
        self.items = np.concatenate(seqs) if seqs else np.zeros(0, np.int64)
        self.seen = sp.csr_matrix(
            (np.ones(len(self.items), np.float32), self.items, self.indptr),
            shape=(len(seqs), self.n_items),
        )
        popularity = train.popularity()
        top = float(popularity.max()) if len(popularity) else 0.0
        self.tiebreak = (popularity / top * 1e-9 if top > 0 else popularity * 0).astype(np.float32)

    def __len__(self) -> int:
        return len(self.truths)

    def weighted(self, half_life: float) -> Any:
        """Users x items CSR of the inputs as the model would score them (recent, weighted)."""
        rows = np.repeat(np.arange(len(self.lengths)), self.lengths)
        age = self.indptr[rows + 1] - 1 - np.arange(len(self.items))
        cap = history_cap(half_life)
        keep = np.ones(len(age), bool) if cap is None else age < cap
        kept = self.lengths if cap is None else np.minimum(self.lengths, cap)
        if math.isinf(half_life):
            weights = np.ones(int(keep.sum()), np.float32)
        else:
            weights = np.power(0.5, age[keep] / half_life).astype(np.float32)
        indptr = np.concatenate([[0], np.cumsum(kept)]).astype(np.int64)
        return sp.csr_matrix(
            (weights, self.items[keep], indptr), shape=(len(self.lengths), self.n_items)
        )


def _validation(events: Events, rng: np.random.Generator) -> list[_Validation]:
    """Disjoint folds of held-out users, Personalize's protocol one level down.

    Each fold holds len/9 of the users with >= 2 events (at most ``HPO_MAX_USERS``);
    there are up to ``HPO_FOLDS`` folds while ``folds x events`` stays within
    ``HPO_FOLD_EVENTS`` (each fold is one more fit per grid point). Empty when too few.
    """
    counts = np.bincount(events.users, minlength=events.n_users)
    eligible = np.flatnonzero(counts >= 2)
    n_val = min(HPO_MAX_USERS, len(eligible) // 9)
    if n_val < HPO_MIN_USERS:
        return []
    n_folds = max(1, min(HPO_FOLDS, HPO_FOLD_EVENTS // max(events.n_events, 1)))
    order = rng.permutation(eligible)
    folds: list[_Validation] = []
    for f in range(n_folds):
        chosen = np.sort(order[f * n_val : (f + 1) * n_val])
        fold = _fold(events, chosen)
        if fold is not None:
            folds.append(fold)
    return folds


def _fold(events: Events, chosen: I64) -> _Validation | None:
    held = np.isin(events.users, chosen)
    train = events.subset(~held)
    val = events.subset(held)
    starts = np.searchsorted(val.users, chosen, side="left")
    stops = np.searchsorted(val.users, chosen, side="right")
    seqs: list[I64] = []
    truths: list[set[int]] = []
    for lo, hi in zip(starts.tolist(), stops.tolist(), strict=True):
        cut = hi - holdout_size(hi - lo)
        items = val.items[lo:cut].astype(np.int64)
        truth = set(val.items[cut:hi].tolist()) - set(items.tolist())
        if truth:
            _, first = np.unique(items[::-1], return_index=True)
            seqs.append(items[np.sort(len(items) - 1 - first)])
            truths.append(truth)
    if len(truths) < HPO_MIN_USERS:
        return None
    return _Validation(train, seqs, truths)


def _per_user_ndcg(scorer: Scorer, val: _Validation, half_life: float) -> F64:
    """Each held-out user's NDCG@10, their input items masked (the metrics run's protocol)."""
    weighted = val.weighted(half_life)
    out = np.zeros(len(val), np.float64)
    k = min(10, val.n_items)
    if k == 0:
        return out
    block = max(1, int(2e7 // max(val.n_items, 1)))
    for start in range(0, len(val), block):
        stop = min(start + block, len(val))
        scores = scorer.score_batch(weighted[start:stop])
        scores += val.tiebreak
        rows, cols = val.seen[start:stop].nonzero()
        scores[rows, cols] = -np.inf
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(-scores, part, axis=1).argsort(axis=1, kind="stable")
        top = np.take_along_axis(part, order, axis=1)
        for j, ranked in enumerate(top.tolist()):
            out[start + j] = ndcg_at_k(ranked, val.truths[start + j], 10)
    return out


def _prefer(default: int, found: Sequence[F64]) -> int:
    """The candidate to keep: the best mean if its paired gain over ``default`` exceeds
    ``SE_RULE`` standard errors of that gain, else ``default`` (the one-SE rule)."""
    means = [float(f.mean()) for f in found]
    best = int(np.argmax(means))
    if best == default:
        return default
    diff = found[best] - found[default]
    se = float(diff.std(ddof=1)) / math.sqrt(len(diff)) if len(diff) > 1 else 0.0
    return best if float(diff.mean()) > SE_RULE * se else default


def _round(value: float) -> float:
    return float(f"{value:.3g}")


def _hl_text(value: float) -> str | float:
    return "inf" if math.isinf(value) else value


@attrs.frozen
class _Tuned:
    """One algorithm's tuning outcome: its parameters, half-life and per-user scores."""

    params: dict[str, float]
    half_life: float
    per_user: F64
    report: dict[str, Any]


def _choose(
    folds: list[_Validation],
    points: Sequence[Any],
    default: int,
    half_life: float | None,
    scorer_for: Callable[[_Validation, Any], Scorer],
    report: dict[str, Any],
    cache: dict[tuple[int, Any], list[F64]] | None = None,
    *,
    tune_life: bool = True,
) -> tuple[int, float, F64]:
    """Grid point, then half-life (unless given), each by the one-SE rule on every fold's
    held-out users (scores pooled); one fit per (fold, point), scoring is cheap.

    ``cache`` keeps each (fold, point)'s per-half-life scores for a later call;
    ``tune_life=False`` keeps the default half-life (the scores are still computed)."""
    lives = list(HALF_LIFE_GRID) if half_life is None else [half_life]
    first = lives.index(DEFAULT_HALF_LIFE) if half_life is None else 0
    cache = {} if cache is None else cache
    found: list[list[F64]] = []
    for point in points:
        per_life: list[list[F64]] = [[] for _ in lives]
        for f, val in enumerate(folds):
            if (f, point) not in cache:
                scorer = scorer_for(val, point)
                cache[f, point] = [_per_user_ndcg(scorer, val, life) for life in lives]
                del scorer
            for h in range(len(lives)):
                per_life[h].append(cache[f, point][h])
        found.append([np.concatenate(arrays) for arrays in per_life])
    chosen = _prefer(default, [row[first] for row in found])
    report["validation_users"] = int(sum(len(v) for v in folds))
    report["folds"] = len(folds)
    report.setdefault("scores", []).extend(round(float(row[first].mean()), 6) for row in found)
    life = first
    if half_life is None and tune_life:
        life = _prefer(first, found[chosen])
        report["recency_half_life"] = [_hl_text(h) for h in lives]
        report["recency_scores"] = [round(float(f.mean()), 6) for f in found[chosen]]
    return chosen, lives[life], found[chosen][life]


def _tune_ease(folds: list[_Validation], half_life: float | None) -> _Tuned:
    """EASE's λ (relative to each fold's λ0, ratio 1 the default), then the half-life."""
    grams: dict[int, tuple[F32, I64, float]] = {}

    def scorer_for(val: _Validation, ratio: float) -> Scorer:
        key = id(val)
        if key not in grams:  # one Gram per fold, kept while that fold's grid runs
            grams.clear()
            xt = val.train.binary()
            active = np.flatnonzero(np.diff(sp.csc_matrix(xt).indptr) > 0)
            grams[key] = (gram(xt[:, active]), active, default_l2(xt))
        base, active, center = grams[key]
        return EaseScorer.from_gram(base, active, val.n_items, _round(center * ratio))

    report: dict[str, Any] = {"l2_ratio": [_round(r) for r in EASE_L2_RATIOS]}
    chosen, life, per_user = _choose(
        folds, EASE_L2_RATIOS, EASE_L2_RATIOS.index(1.0), half_life, scorer_for, report
    )
    grams.clear()
    center = default_l2(folds[0].train.binary())
    report["l2"] = [_round(center * r) for r in EASE_L2_RATIOS]  # on the first fold
    report["l2_ratio_chosen"] = report["l2_ratio"][chosen]
    return _Tuned({"l2_ratio": EASE_L2_RATIOS[chosen]}, life, per_user, report)


def _tune_ials(
    folds: list[_Validation],
    half_life: float | None,
    *,
    factors: int,
    iterations: int,
    seed: int,
    reg: float | None,
    alpha: float | None,
) -> _Tuned:
    """iALS's (reg, alpha) (a given value stays fixed; (50, 8) the default), then the
    half-life."""
    reg0 = IALS_REG if reg is None else reg
    alphas = [alpha] if alpha is not None else list(IALS_ALPHA_GRID)
    regs = [reg] if reg is not None else list(IALS_REG_GRID)

    def scorer_for(val: _Validation, pair: tuple[float, float]) -> Scorer:
        _, item_factors = fit_ials(
            val.train.binary(),
            factors=factors,
            reg=pair[0],
            alpha=pair[1],
            iterations=iterations,
            seed=seed,
        )
        return IalsScorer(item_factors, pair[0], pair[1])

    # coordinate search: alpha at the default reg, then reg at that alpha (4 fits, not 6)
    report: dict[str, Any] = {}
    cache: dict[tuple[int, Any], list[F64]] = {}
    pairs = [(reg0, a) for a in alphas]
    default = alphas.index(IALS_ALPHA if alpha is None else alpha)
    chosen, _, _ = _choose(
        folds, pairs, default, half_life, scorer_for, report, cache, tune_life=False
    )
    second = [(r, pairs[chosen][1]) for r in regs]
    chosen, life, per_user = _choose(
        folds, second, regs.index(reg0), half_life, scorer_for, report, cache
    )
    report["reg_alpha"] = [list(p) for p in pairs + second]  # as "scores" lists them
    report["reg_alpha_chosen"] = list(second[chosen])
    params = {"reg": second[chosen][0], "alpha": second[chosen][1]}
    return _Tuned(params, life, per_user, report)


def _tune_blend(
    folds: list[_Validation],
    half_life: float | None,
    ease: _Tuned,
    ials: _Tuned,
    *,
    weight: float,
    factors: int,
    iterations: int,
    seed: int,
) -> _Tuned:
    """The blend of the two tuned models at ``weight``: its half-life, by the one-SE rule."""

    def scorer_for(val: _Validation, point: float) -> Scorer:
        x = val.train.binary()
        l2 = _round(default_l2(x) * ease.params["l2_ratio"])
        reg, alpha = ials.params["reg"], ials.params["alpha"]
        _, item_factors = fit_ials(
            x, factors=factors, reg=reg, alpha=alpha, iterations=iterations, seed=seed
        )
        return BlendScorer(EaseScorer.fit(x, l2), IalsScorer(item_factors, reg, alpha), point)

    report: dict[str, Any] = {"ease_weight": [weight]}
    _, life, per_user = _choose(folds, [weight], 0, half_life, scorer_for, report)
    params = {**ease.params, **ials.params, "ease_weight": weight}
    return _Tuned(params, life, per_user, report)


def _slist_settings(hyper: Hyper) -> tuple[float, float, float]:
    """(α, λ, decay) from ``slist_alpha``, ``slist_l2`` and ``slist_decay`` (defaults above)."""
    return (
        hyper.number("slist_alpha", default=SLIST_ALPHA, low=0.0, high=1.0),
        hyper.number("slist_l2", default=SLIST_L2, low=1e-6),
        hyper.number("slist_decay", default=SLIST_DECAY, low=0.01, high=100.0),
    )


def _fit_slist(x: Any, events: Events, settings: tuple[float, float, float]) -> EaseScorer:
    indptr, items, _ = events.sequences()
    alpha, l2, decay = settings
    return fit_slist(x, indptr, items, alpha=alpha, l2=l2, decay=decay)


def _tune_slist(
    folds: list[_Validation], half_life: float | None, settings: tuple[float, float, float]
) -> _Tuned:
    """SLIST at its settings (one fit per fold): its half-life, by the one-SE rule."""

    def scorer_for(val: _Validation, point: int) -> Scorer:
        return _fit_slist(val.train.binary(), val.train, settings)

    report: dict[str, Any] = {"alpha_l2_decay": [list(settings)]}
    _, life, per_user = _choose(folds, [0], 0, half_life, scorer_for, report)
    alpha, l2, decay = settings
    return _Tuned(
        {"slist_alpha": alpha, "slist_l2": l2, "slist_decay": decay}, life, per_user, report
    )


def tune(
    events: Events,
    candidates: Sequence[str],
    *,
    half_life: float | None,
    factors: int,
    iterations: int,
    seed: int,
    reg: float | None = None,
    alpha: float | None = None,
    blend_weight: float = BLEND_EASE_WEIGHT,
    only: str | None = None,
    slist: tuple[float, float, float] = (SLIST_ALPHA, SLIST_L2, SLIST_DECAY),
) -> dict[str, Any] | None:
    """The hyperparameter search ("HPO"): each candidate algorithm's own parameters, then
    the recency half-life (unless ``half_life`` is given), then the algorithm.

    Every choice is made on the per-user validation NDCG@10 of seeded folds of held-out
    users (see :func:`_validation`) with the one-standard-error rule: a value replaces
    the default only when its paired gain exceeds ``SE_RULE`` standard errors. With
    ``"blend"`` among the candidates (it needs ``"ease"`` and ``"ials"`` too), the two
    tuned models are blended at ``blend_weight`` (:class:`~.blend.BlendScorer`), the
    blend's half-life is tuned, and the blend is the default algorithm
    (:data:`PRIOR_BLEND`); otherwise iALS is (:data:`PRIOR_ALGORITHM`). ``only`` (an
    algorithm asked for) is kept whatever validates best. Returns the tuned values
    (``algorithm``, ``recency_half_life``, ``l2_ratio`` and/or ``reg`` and ``alpha``,
    ``ease_weight`` for a blend, ``slist_*`` for SLIST) with the grid and scores under
    ``hpo``; None when there are too few users to hold out. ``"slist"`` (SLIST at its
    ``slist`` settings, :mod:`.slist`) is scored like the others; it is the default
    where no blend is searched (it fits EASE's objective plus transitions), and must
    validate more than ``SE_RULE`` SEs better than the blend where one is.
    """
    folds = _validation(events, np.random.default_rng(seed))
    if not folds or not candidates:
        return None
    results: dict[str, _Tuned] = {}
    for candidate in candidates:
        if candidate == "blend":
            continue
        if candidate == "slist":
            results[candidate] = _tune_slist(folds, half_life, slist)
        elif candidate == "ease":
            results[candidate] = _tune_ease(folds, half_life)
        else:
            results[candidate] = _tune_ials(
                folds,
                half_life,
                factors=factors,
                iterations=iterations,
                seed=seed,
                reg=reg,
                alpha=alpha,
            )
    # SLIST contains EASE's objective (α = 0.8 of it): where no blend is searched it is the
    # default, and EASE (or iALS) replaces it only when validating > SE_RULE SEs better
    prior = "slist" if "slist" in results else PRIOR_ALGORITHM
    if "blend" in candidates and {"ease", "ials"} <= set(results):
        results["blend"] = _tune_blend(
            folds,
            half_life,
            results["ease"],
            results["ials"],
            weight=blend_weight,
            factors=factors,
            iterations=iterations,
            seed=seed,
        )
        prior = PRIOR_BLEND
    names = list(results)
    default = names.index(prior) if prior in names else 0
    algorithm = names[_prefer(default, [results[n].per_user for n in names])]
    if only is not None and only in results:
        algorithm = only
    best = results[algorithm]
    report: dict[str, Any] = {
        "metric": "ndcg_at_10",
        "rule": f"one-SE (z={SE_RULE:g}), prior {prior}",
        **{name: r.report for name, r in results.items()},
    }
    return {
        "algorithm": algorithm,
        "recency_half_life": _hl_text(best.half_life),
        **best.params,
        "hpo": report,
    }


def _half_life_of(value: Any) -> float:
    return math.inf if str(value).lower() == "inf" else float(value)


def train_personalization(
    recipe: str,
    data: TrainingData,
    hyper: Hyper,
    *,
    seed: int,
    default_event_type: str | None = None,
    segmentation: bool = False,
    tuned: Mapping[str, Any] | None = None,
) -> UserPersonalizationModel:
    """Train the user model; with ``tuned`` (what an earlier :func:`tune` returned, e.g. in
    the solution version's metrics run, or ``{}`` when none ran) the search is not run
    again and its values are used."""
    events = events_from(data, hyper, default_event_type=default_event_type)
    half_life, exclude_seen = _settings(hyper)
    half_life_given = hyper.given("recency_half_life") or math.isinf(half_life)
    x = events.binary()
    n_active = int((events.popularity() > 0).sum())
    algorithm = choose_algorithm(n_active, hyper)
    hpo = hyper.text("hpo", "perform_hpo", default="auto", choices={"auto", "true", "false"})
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
        "slist": n_active <= SLIST_MAX_ITEMS and ease_fits_in_memory(n_active, copies=6),
    }
    searchable = {"ease": not l2_given, "ials": not (l2_given and alpha_given), "slist": True}
    # under ``algorithm=auto`` HPO may pick EASE, iALS or their blend when both are cheap;
    # otherwise only the chosen algorithm's own parameters (and the half-life) are tuned
    candidates = ["ease", "ials"] if algorithm == "blend" else [algorithm]
    if asked_auto and algorithm == "ease" and cheap["ials"] and cheap["ease"]:
        candidates.append("ials")
    # SLIST (similarity + transitions) where EASE is cheap: it wins on purchase sequences
    if asked_auto and algorithm == "ease" and cheap["ease"] and cheap["slist"]:
        candidates.append("slist")
    if hpo == "auto":
        candidates = [c for c in candidates if cheap[c]]
    elif hpo == "false":
        candidates = []
    candidates = [c for c in candidates if searchable[c]]
    if {"ease", "ials"} <= set(candidates) and (asked_auto or algorithm == "blend"):
        candidates.append("blend")
    blend_weight = BLEND_EASE_WEIGHT
    if hyper.given("ease_weight"):
        blend_weight = hyper.number("ease_weight", default=BLEND_EASE_WEIGHT, low=0.0, high=1.0)
    if algorithm == "blend" and "blend" not in candidates:
        candidates = []  # a blend asked for but not searchable as a whole: its defaults
    if tuned is None and candidates:
        tuned = tune(
            events,
            candidates,
            half_life=half_life if half_life_given else None,
            factors=factors,
            iterations=iterations,
            seed=seed,
            reg=hyper.number("l2", "reg", "regularization", default=IALS_REG) if l2_given else None,
            alpha=hyper.number("alpha", default=IALS_ALPHA) if alpha_given else None,
            blend_weight=blend_weight,
            only=None if asked_auto else algorithm,
            slist=_slist_settings(Hyper(hyper.values)),  # recorded only if used
        )
    elif tuned is not None and tuned:
        info["hpo_reused"] = True
    found: dict[str, Any] = {k: v for k, v in (tuned or {}).items() if k != "hpo"}
    if found:
        algorithm = str(found["algorithm"])
        if algorithm not in ("ease", "ials", "blend", "slist"):
            raise ValueError(f"tuned algorithm {algorithm!r}: expected ease, ials, blend or slist")
        info["algorithm"] = algorithm
        info["tuned"] = found
        hyper.used["algorithm"] = algorithm
        if not half_life_given and "recency_half_life" in found:
            half_life = _half_life_of(found["recency_half_life"])
            hyper.used["recency_half_life"] = (
                "inf" if math.isinf(half_life) else fmt_number(half_life)
            )
        if tuned and "hpo" in tuned:
            info["hpo"] = dict(tuned["hpo"])

    scorer: Scorer
    if algorithm == "slist":
        settings = _slist_settings(hyper)
        if "slist_alpha" in found:
            keys = ("slist_alpha", "slist_l2", "slist_decay")
            settings = (
                float(found["slist_alpha"]),
                float(found["slist_l2"]),
                float(found["slist_decay"]),
            )
            if any(hyper.given(k) for k in keys):  # given values win over reused ones
                settings = _slist_settings(hyper)
        hyper.used.update(
            slist_alpha=fmt_number(settings[0]),
            slist_l2=fmt_number(settings[1]),
            slist_decay=fmt_number(settings[2]),
        )
        scorer = _fit_slist(x, events, settings)
    elif algorithm == "ease":
        l2 = hyper.number("l2", "lambda", default=_round(default_l2(x)), low=0.0)
        if "l2_ratio" in found and not l2_given:
            # the grid is relative to the tuning data's λ0: carry the ratio to the full data
            l2 = _round(default_l2(x) * float(found["l2_ratio"]))
        hyper.used["l2"] = fmt_number(l2)
        scorer = EaseScorer.fit(x, l2)
    elif algorithm == "blend":
        # EASE's λ under l2/lambda, iALS's under reg/regularization (both default when absent)
        l2 = hyper.number("l2", "lambda", default=_round(default_l2(x)), low=0.0)
        if "l2_ratio" in found and not hyper.given("l2", "lambda"):
            l2 = _round(default_l2(x) * float(found["l2_ratio"]))
        reg = hyper.number("reg", "regularization", default=IALS_REG, low=0.0)
        alpha = hyper.number("alpha", default=IALS_ALPHA, low=0.0)
        if "reg" in found:
            reg, alpha = float(found["reg"]), float(found["alpha"])
        weight = float(found.get("ease_weight", blend_weight))
        hyper.used.update(
            l2=fmt_number(l2),
            reg=fmt_number(reg),
            alpha=fmt_number(alpha),
            factors=str(factors),
            iterations=str(iterations),
            ease_weight=fmt_number(weight),
        )
        _, item_factors = fit_ials(
            x, factors=factors, reg=reg, alpha=alpha, iterations=iterations, seed=seed
        )
        scorer = BlendScorer(EaseScorer.fit(x, l2), IalsScorer(item_factors, reg, alpha), weight)
    else:
        reg = hyper.number("l2", "reg", "regularization", default=IALS_REG, low=0.0)
        alpha = hyper.number("alpha", default=IALS_ALPHA, low=0.0)
        if "reg" in found:
            reg, alpha = float(found["reg"]), float(found["alpha"])
        hyper.used["factors"] = str(factors)
        hyper.used["iterations"] = str(iterations)
        hyper.used["l2"] = fmt_number(reg)
        hyper.used["alpha"] = fmt_number(alpha)
        _, item_factors = fit_ials(
            x, factors=factors, reg=reg, alpha=alpha, iterations=iterations, seed=seed
        )
        scorer = IalsScorer(item_factors, reg, alpha)

    segment_half_life = half_life
    if segmentation and not hyper.given("recency_half_life", "apply_recency_bias", "recency_mask"):
        segment_half_life = SEGMENT_HALF_LIFE
    indptr, items, times = events.sequences()
    model = UserPersonalizationModel(
        scorer=scorer,
        seq_indptr=indptr,
        seq_items=items,
        seq_times=times,
        half_life=half_life,
        exclude_seen=exclude_seen,
        segment_half_life=segment_half_life,
        **common_from(recipe, data, events, hyper),
    )
    model.info.update(info)
    if segmentation:
        model.info["segment_half_life"] = _hl_text(segment_half_life)
        model.segment_norm()
    return model
