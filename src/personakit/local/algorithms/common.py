"""Shared machinery for the local algorithms: hyperparameters, prepared events,
id lookup, top-n selection, popularity fallback and the save/load format.

Everything here is numpy/scipy; nothing allocates an items x items array.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]

from personakit.local.algorithms.base import Scored, TrainingData

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "BaseModel",
    "Events",
    "Hyper",
    "IdIndex",
    "chunks",
    "common_from",
    "event_mask",
    "events_from",
    "fmt_number",
    "group_order",
    "history_cap",
    "load_model",
    "on_this_thread",
    "recency_weights",
    "top_indices",
    "top_indices_rows",
]

logger = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]

#: Marker written in every model.json; bump ``version`` when the layout changes.
FORMAT = "personakit-local-model"
FORMAT_VERSION = 1

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


# --------------------------------------------------------------------------- hyperparameters


class Hyper:
    """Typed reads of string hyperparameters (they arrive as strings, like Personalize's).

    Every value read is recorded in :attr:`used`, so a model can report the
    effective settings. A bad value raises ``ValueError`` naming the key.
    """

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = {str(k): str(v) for k, v in values.items()}
        self.used: dict[str, str] = {}

    def _raw(self, keys: Sequence[str]) -> tuple[str, str] | None:
        for key in keys:
            if key in self.values:
                return key, self.values[key].strip()
        return None

    def text(self, *keys: str, default: str, choices: Collection[str] | None = None) -> str:
        found = self._raw(keys)
        value = default if found is None else found[1].lower()
        if choices is not None and value not in choices:
            raise ValueError(
                f"hyperparameter {keys[0]}={value!r}: expected one of {sorted(choices)}"
            )
        self.used[keys[0]] = value
        return value

    def number(
        self,
        *keys: str,
        default: float,
        low: float | None = None,
        high: float | None = None,
        allow_inf: bool = False,
    ) -> float:
        found = self._raw(keys)
        if found is None:
            value = default
        else:
            word = found[1].lower()
            if allow_inf and word in {"inf", "infinity", "none", "off"}:
                value = math.inf
            else:
                try:
                    value = float(word)
                except ValueError:
                    raise ValueError(
                        f"hyperparameter {found[0]}={found[1]!r} is not a number"
                    ) from None
                if not math.isfinite(value) and not allow_inf:
                    raise ValueError(f"hyperparameter {found[0]}={found[1]!r} must be finite")
            if (low is not None and value < low) or (high is not None and value > high):
                raise ValueError(
                    f"hyperparameter {found[0]}={found[1]!r} must be within [{low}, {high}]"
                )
        self.used[keys[0]] = "inf" if math.isinf(value) else fmt_number(value)
        return value

    def integer(
        self, *keys: str, default: int, low: int | None = None, high: int | None = None
    ) -> int:
        value = self.number(*keys, default=default, low=low, high=high)
        if value != int(value):
            raise ValueError(f"hyperparameter {keys[0]}={value!r} must be an integer")
        return int(value)

    def flag(self, *keys: str, default: bool) -> bool:
        found = self._raw(keys)
        if found is None:
            value = default
        elif found[1].lower() in _TRUE:
            value = True
        elif found[1].lower() in _FALSE:
            value = False
        else:
            raise ValueError(f"hyperparameter {found[0]}={found[1]!r}: expected true or false")
        self.used[keys[0]] = "true" if value else "false"
        return value

    def given(self, *keys: str) -> bool:
        return self._raw(keys) is not None


def fmt_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


# --------------------------------------------------------------------------- prepared events


@attrs.frozen
class Events:
    """Integer-coded events grouped by user, chronological within a user.

    ``users``/``items``/``times`` hold every (filtered) event; ``n_users`` and
    ``n_items`` are the sizes of the id spaces, not only of the users/items seen.
    """

    users: I32
    items: I32
    times: npt.NDArray[np.int64]
    n_users: int
    n_items: int

    @classmethod
    def from_arrays(
        cls,
        users: npt.ArrayLike,
        items: npt.ArrayLike,
        times: npt.ArrayLike,
        n_users: int,
        n_items: int,
    ) -> Events:
        u = np.asarray(users, dtype=np.int32)
        i = np.asarray(items, dtype=np.int32)
        t = np.asarray(times, dtype=np.int64)
        if len(t) > 1 and bool((t[1:] >= t[:-1]).all()):
            # TrainingData comes sorted by time: grouping by user (stable) is the same
            # order as the lexsort, by a counting sort (0.13 s at 10M events, not 1.2 s)
            order = group_order(u, n_users)
        else:
            order = np.lexsort((t, u))  # stable: ties keep their input order
        return cls(u[order], i[order], t[order], n_users, n_items)

    def subset(self, mask: npt.NDArray[np.bool_]) -> Events:
        return Events(
            self.users[mask], self.items[mask], self.times[mask], self.n_users, self.n_items
        )

    @property
    def n_events(self) -> int:
        return len(self.users)

    def activity(self) -> I64:
        """Events per user (the user activity)."""
        return np.bincount(self.users, minlength=self.n_users).astype(np.int64)

    @functools.cached_property
    def _distinct(self) -> tuple[I64, I64]:
        """Each distinct (user, item) pair's last event: (positions in event order,
        the same positions in (user, item) order). Computed once per ``Events``."""
        key = self.users.astype(np.int64) * max(self.n_items, 1) + self.items
        # events come grouped by user: long sorted runs, so the stable sort (timsort/radix)
        # takes 0.3 s at 10M events where np.unique(return_index) took 3 s
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        last = np.ones(len(key), dtype=bool)
        last[:-1] = sorted_key[1:] != sorted_key[:-1]  # equal keys keep event order
        by_pair = order[last]
        chronological = np.zeros(len(key), dtype=bool)
        chronological[by_pair] = True
        return np.flatnonzero(chronological), by_pair

    def _indptr(self, users: npt.NDArray[np.integer[Any]]) -> I64:
        indptr = np.zeros(self.n_users + 1, np.int64)
        np.cumsum(np.bincount(users, minlength=self.n_users), out=indptr[1:])
        return indptr

    def sequences(self) -> tuple[I64, I32, npt.NDArray[np.int64]]:
        """Per-user distinct items, oldest first, each at its last occurrence.

        Returns CSR-like ``(indptr, items, times)``; ``times`` is the time of
        the item's last event for that user. Fresh arrays on every call (the work
        behind them is done once per ``Events``).
        """
        keep, _ = self._distinct
        return self._indptr(self.users[keep]), self.items[keep], self.times[keep]

    def binary(self) -> Any:
        """Users x items CSR (float32, 1.0 per distinct pair, sorted indices); a new
        matrix on every call, so callers may change it."""
        _, by_pair = self._distinct
        return sp.csr_matrix(
            (
                np.ones(len(by_pair), np.float32),
                self.items[by_pair],
                self._indptr(self.users[by_pair]),
            ),
            shape=(self.n_users, self.n_items),
        )

    @functools.cached_property
    def _popularity(self) -> F64:
        keep, _ = self._distinct
        return np.bincount(self.items[keep], minlength=self.n_items).astype(np.float64)

    def popularity(self) -> F64:
        """Distinct users per item (Popularity-Count's documented definition)."""
        return self._popularity.copy()


def group_order(keys: npt.NDArray[np.integer[Any]], n_groups: int) -> I64:
    """Positions of ``keys`` (integers in ``[0, n_groups)``) grouped by key, in input order
    within a key: ``np.argsort(keys, kind="stable")`` by a counting sort, O(n + groups)."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, np.int64)
    # scipy's COO -> CSR conversion is a counting sort by row; sorting each row's column
    # indices (the positions) makes the order within a key the input order whatever it did
    grouped = sp.coo_matrix(
        (np.ones(n, np.bool_), (keys, np.arange(n, dtype=np.int64))), shape=(n_groups, n)
    ).tocsr(copy=False)
    grouped.sort_indices()
    return np.asarray(grouped.indices, dtype=np.int64)


def event_mask(
    data: TrainingData, hyper: Hyper, *, default_event_type: str | None = None
) -> npt.NDArray[np.bool_]:
    """Which events a recipe trains on: all of them unless an event type / value threshold is asked.

    ``event_type`` (CreateSolution's ``eventType``) keeps one event type;
    ``event_value_threshold`` keeps events whose value is at least the threshold.
    A domain recipe's own event type (e.g. ``Purchase``) is used when the data
    has it (exact match first, then case-insensitive); otherwise every event is
    used and a warning is logged.
    """
    mask = np.ones(data.n_interactions, dtype=bool)
    asked = hyper.values.get("event_type", "").strip()
    if asked:
        hyper.used["event_type"] = asked
    wanted = asked or default_event_type or ""
    if wanted:
        if data.event_types is None:
            logger.warning(
                "event type %r asked but the data has no EVENT_TYPE: using all events", wanted
            )
        else:
            types = np.asarray(data.event_types).astype(str)
            chosen = types == wanted
            if not chosen.any():
                chosen = np.char.lower(types) == wanted.lower()
            if chosen.any():
                mask &= chosen
            else:
                logger.warning("no %r events in the data: using all events", wanted)
    if hyper.given("event_value_threshold"):
        threshold = hyper.number("event_value_threshold", default=0.0)
        if data.event_values is None:
            logger.warning("event_value_threshold asked but the data has no EVENT_VALUE")
        else:
            values = np.asarray(data.event_values, dtype=np.float64)
            mask &= np.nan_to_num(values, nan=-np.inf) >= threshold
    return mask


def events_from(
    data: TrainingData, hyper: Hyper, *, default_event_type: str | None = None
) -> Events:
    """The (filtered) events of ``data``, grouped by user; see :func:`event_mask`."""
    mask = event_mask(data, hyper, default_event_type=default_event_type)
    return Events.from_arrays(
        np.asarray(data.users)[mask],
        np.asarray(data.items)[mask],
        np.asarray(data.timestamps)[mask],
        data.n_users,
        data.n_items,
    )


# --------------------------------------------------------------------------- ids and selection


class IdIndex:
    """String id <-> position, built once per loaded model."""

    def __init__(self, ids: npt.NDArray[np.str_]) -> None:
        self.ids = np.asarray(ids).astype(str)
        self.names: list[str] = self.ids.tolist()
        self.position: dict[str, int] = {name: k for k, name in enumerate(self.names)}

    def __len__(self) -> int:
        return len(self.names)

    def get(self, name: str) -> int | None:
        return self.position.get(name)

    def lookup(self, names: Iterable[str]) -> I64:
        """Positions of the known names (unknown ones dropped), in input order."""
        get = self.position.get
        found = [p for p in map(get, names) if p is not None]
        return np.asarray(found, dtype=np.int64)


def on_this_thread(columns: npt.NDArray[Any], vector: npt.NDArray[Any]) -> F32:
    """``columns.T @ vector`` in float32 on the calling thread, for one request.

    ``columns`` is the factor matrix transposed (factors x items, C-contiguous).
    A BLAS matrix-vector product of a serving size (20k items x 64 factors) wakes
    BLAS's worker threads, and on a machine whose cores are busy it waits for them:
    with two busy processes on 2 cores a request took p50 15.9 ms this way against
    1.3 ms with this loop, which numpy runs without BLAS (OpenBLAS 0.3.31). On idle
    cores it costs 0.12 ms instead of 0.04. Training and batch scoring keep BLAS.
    """
    out: F32 = np.einsum("j,ji->i", vector.astype(np.float32), columns, dtype=np.float32)
    return out


def recency_weights(length: int, half_life: float) -> F32:
    """0.5 ** (age / half_life), age = number of later events (0 for the newest)."""
    if math.isinf(half_life):
        return np.ones(length, np.float32)
    age = np.arange(length - 1, -1, -1, dtype=np.float64)
    return np.power(0.5, age / half_life).astype(np.float32)


def history_cap(half_life: float) -> int | None:
    """How many recent events can matter: weights below 1e-4 are dropped."""
    if math.isinf(half_life):
        return None
    return max(1, math.ceil(half_life * math.log2(1e4)) + 1)


#: the shortest run of columns :func:`top_indices_rows` bounds a row's top n with
_MIN_RUN = 8


def top_indices(scores: npt.NDArray[np.floating[Any]], n: int) -> I64:
    """Positions of the ``n`` largest finite scores, best first, equal scores by position.

    Exactly: sort by (score descending, position), NaN last, take ``n``, drop the
    non-finite. Ties at the n-th score are settled by position too (``argpartition``
    alone picks an arbitrary subset of them), so :func:`top_indices_rows` on a block
    of users gives the same lists.
    """
    size = len(scores)
    n = min(n, size)
    if n <= 0:
        return np.zeros(0, np.int64)
    if size // (8 * n) >= _MIN_RUN:  # a large catalogue: the bound of top_indices_rows
        return top_indices_rows(scores[None, :], n)[0]  # (0.03 ms at 20k, not 0.21)
    negated = -scores
    if n < size:
        part = np.argpartition(negated, n - 1)
        kth = negated[part[n - 1]]
        if np.isnan(kth):  # fewer than n scores that are not NaN: all of those
            chosen = np.flatnonzero(~np.isnan(negated))
        else:
            head = part[:n]
            better = head[negated[head] < kth]
            tied = np.flatnonzero(negated == kth)[: n - len(better)]
            chosen = np.concatenate([better, tied])
        order = chosen[np.lexsort((chosen, negated[chosen]))]
    else:
        order = np.argsort(negated, kind="stable")
    order = order[np.isfinite(scores[order])]
    return np.asarray(order, dtype=np.int64)


def top_indices_rows(scores: npt.NDArray[np.floating[Any]], n: int) -> list[I64]:
    """:func:`top_indices` of every row of a users x items block, without a full
    selection per row.

    Each row is cut into at least ``8·n`` runs of columns; the n-th largest run maximum
    ``t`` is a lower bound of the row's n-th largest score (n runs reach it), so the
    row's top n, ties included, are among its scores ``>= t`` (a few dozen per row):
    those are ordered by (score descending, position). Two vectorised passes over the
    block (run maxima, the comparison) instead of an ``argpartition`` per row.
    """
    rows, size = scores.shape
    n = min(n, size)
    if n <= 0 or rows == 0:
        return [np.zeros(0, np.int64) for _ in range(rows)]
    width = size // (8 * n)
    if width < _MIN_RUN:  # a small catalogue: one selection per row is cheap
        return [top_indices(row, n) for row in scores]
    maxima = np.maximum.reduceat(scores, np.arange(0, size, width), axis=1)
    maxima[np.isnan(maxima)] = -np.inf  # a run holding NaN: still a lower bound
    threshold = np.partition(maxima, maxima.shape[1] - n, axis=1)[:, maxima.shape[1] - n]
    flat = np.flatnonzero(scores >= threshold[:, None])  # 1-D: 15x faster than 2-D nonzero
    row_of, col = np.divmod(flat, size)
    negated = -scores[row_of, col]
    order = np.lexsort((col, negated, row_of))
    row_of, col = row_of[order], col[order]
    bounds = np.searchsorted(row_of, np.arange(rows + 1))
    out: list[I64] = []
    for r in range(rows):
        top = col[bounds[r] : bounds[r] + n]
        out.append(np.asarray(top[np.isfinite(scores[r, top])], dtype=np.int64))
    return out


# --------------------------------------------------------------------------- base model


class BaseModel:
    """What every local model shares: ids, popularity fallback, activity, save/load.

    Subclasses override the Model-protocol methods they really implement; the
    defaults are the documented fallbacks (popular items; most active users).
    """

    kind: ClassVar[str] = "base"
    registry: ClassVar[dict[str, type[BaseModel]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        BaseModel.registry[cls.kind] = cls

    def __init__(
        self,
        recipe: str,
        *,
        item_ids: npt.NDArray[np.str_],
        user_ids: npt.NDArray[np.str_],
        popularity: npt.ArrayLike,
        activity: npt.ArrayLike,
        hyperparameters: Mapping[str, str] | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        self.recipe = recipe
        self.items = IdIndex(item_ids)
        self.users = IdIndex(user_ids)
        self.popularity = np.asarray(popularity, dtype=np.float64)
        self.activity = np.asarray(activity, dtype=np.int64)
        #: the effective hyperparameters, as strings (what was asked + defaults + tuned values)
        self.hyperparameters: dict[str, str] = dict(hyperparameters or {})
        #: JSON-able details: algorithm, HPO grid and validation scores, sizes
        self.info: dict[str, Any] = dict(info or {})
        n_users_total = max(len(self.users), 1)
        # popularity order, ties by position; rank = inverse permutation
        self._pop_order = np.lexsort((np.arange(len(self.popularity)), -self.popularity)).astype(
            np.int64
        )
        self._pop_rank = np.empty_like(self._pop_order)
        self._pop_rank[self._pop_order] = np.arange(len(self._pop_order))
        self._pop_score = (self.popularity / n_users_total).astype(np.float64)
        top = float(self.popularity.max()) if len(self.popularity) else 0.0
        #: a tiny popularity term that only breaks exact ties (e.g. items scored 0)
        self._tiebreak = (
            (self.popularity / top * 1e-9).astype(np.float32)
            if top > 0
            else np.zeros(len(self.popularity), np.float32)
        )

    # ---------------------------------------------------------------- helpers

    def _excluded(self, exclude: Collection[str]) -> I64:
        return self.items.lookup(exclude) if exclude else np.zeros(0, np.int64)

    def _candidates(self, candidates: Collection[str] | None) -> I64 | None:
        if candidates is None:
            return None
        return np.unique(self.items.lookup(candidates))

    def _scored(self, positions: I64, scores: npt.NDArray[np.floating[Any]]) -> Scored:
        names = self.items.names
        return [(names[p], float(scores[p])) for p in positions.tolist()]

    def _popular_positions(self, n: int, excluded: I64, candidates: I64 | None) -> I64:
        if n <= 0:
            return np.zeros(0, np.int64)
        if candidates is not None:
            pool = candidates[~np.isin(candidates, excluded)] if len(excluded) else candidates
            return pool[np.argsort(self._pop_rank[pool], kind="stable")][:n]
        take = self._pop_order[: n + len(excluded)]
        if len(excluded):
            take = take[~np.isin(take, excluded)]
        return take[:n]

    def _popular(self, n: int, excluded: I64, candidates: I64 | None) -> Scored:
        return self._scored(self._popular_positions(n, excluded, candidates), self._pop_score)

    def _select(
        self,
        scores: F32,
        n: int,
        excluded: I64,
        candidates: I64 | None,
    ) -> Scored:
        """Top-n of a dense score vector after exclusions, candidates and tie-breaking."""
        scores += self._tiebreak
        if len(excluded):
            scores[excluded] = -np.inf
        if candidates is not None:
            picked = candidates[top_indices(scores[candidates], n)]
        else:
            picked = top_indices(scores, n)
        return self._scored(picked, scores)

    # ---------------------------------------------------------------- Model protocol defaults

    def recommend(
        self,
        user_id: str | None,
        n: int,
        *,
        history: Sequence[tuple[str, int]] = (),
        exclude: Collection[str] = (),
        candidates: Collection[str] | None = None,
    ) -> Scored:
        """Popular items (the fallback every recipe shares)."""
        return self._popular(n, self._excluded(exclude), self._candidates(candidates))

    def recommend_batch(
        self,
        user_ids: Sequence[str | None],
        n: int,
        *,
        histories: Sequence[Sequence[tuple[str, int]]],
        excludes: Sequence[Collection[str]],
    ) -> list[Scored]:
        """:meth:`recommend` for many users at once (the offline metrics run): the same
        lists. Here one call per user; user models score them in blocks."""
        return [
            self.recommend(user, n, history=history, exclude=exclude)
            for user, history, exclude in zip(user_ids, histories, excludes, strict=True)
        ]

    def related(
        self,
        item_id: str,
        n: int,
        *,
        exclude: Collection[str] = (),
        candidates: Collection[str] | None = None,
    ) -> Scored:
        """Popular items other than ``item_id``."""
        excluded = self._excluded([*exclude, item_id])
        return self._popular(n, excluded, self._candidates(candidates))

    def rank(
        self, user_id: str, items: Sequence[str], *, history: Sequence[tuple[str, int]] = ()
    ) -> Scored:
        """``items`` by popularity; unknown items last, in input order, score NaN."""
        known, unknown = self._split_known(items)
        order = sorted(known, key=lambda pair: self._pop_rank[pair[1]])
        return [(name, float(self._pop_score[p])) for name, p in order] + [
            (name, math.nan) for name in unknown
        ]

    def users_for_items(self, item_ids: Sequence[str], n: int) -> Scored:
        """The most active users (the activity-only baseline of user segmentation)."""
        return self._top_users(self.activity.astype(np.float64), n)

    # ---------------------------------------------------------------- shared pieces

    def _split_known(self, items: Sequence[str]) -> tuple[list[tuple[str, int]], list[str]]:
        seen: set[str] = set()
        known: list[tuple[str, int]] = []
        unknown: list[str] = []
        for name in items:
            if name in seen:
                continue
            seen.add(name)
            position = self.items.get(name)
            if position is None:
                unknown.append(name)
            else:
                known.append((name, position))
        return known, unknown

    def _top_users(self, scores: F64, n: int) -> Scored:
        if n <= 0 or len(scores) == 0:
            return []
        # ties (e.g. all zero) by activity, then position
        key = scores + 1e-12 * (self.activity / max(int(self.activity.max()), 1))
        picked = top_indices(key, n)
        names = self.users.names
        return [(names[p], float(scores[p])) for p in picked.tolist()]

    # ---------------------------------------------------------------- persistence

    def _arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Subclass arrays to save (besides ids, popularity and activity)."""
        return {}

    def _params(self) -> dict[str, Any]:
        """Subclass JSON parameters to save."""
        return {}

    def save(self, folder: Path) -> None:
        """Write ``model.json`` and ``arrays.npz`` (no pickle) under ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, npt.NDArray[Any]] = {
            "item_ids": self.items.ids,
            "user_ids": self.users.ids,
            "popularity": self.popularity,
            "activity": self.activity,
            **self._arrays(),
        }
        for name, array in arrays.items():
            if np.asarray(array).dtype == object:
                raise TypeError(
                    f"array {name!r} has dtype object and cannot be saved without pickle"
                )
        with open(folder / "arrays.npz", "wb") as fh:
            savez: Callable[..., None] = np.savez
            savez(fh, **arrays)
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "kind": self.kind,
            "recipe": self.recipe,
            "hyperparameters": self.hyperparameters,
            "info": self.info,
            "params": self._params(),
        }
        (folder / "model.json").write_text(json.dumps(meta, indent=1, sort_keys=True), "utf-8")

    @classmethod
    def _restore(
        cls, common: dict[str, Any], params: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]
    ) -> BaseModel:
        return cls(**common)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(recipe={self.recipe!r}, items={len(self.items)}, "
            f"users={len(self.users)})"
        )


def load_model(folder: Path) -> BaseModel:
    """Read what :meth:`BaseModel.save` wrote."""
    folder = Path(folder)
    meta = json.loads((folder / "model.json").read_text("utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"{folder} does not hold a personakit local model")
    if int(meta.get("version", 0)) > FORMAT_VERSION:
        raise ValueError(
            f"{folder}: model format version {meta['version']} is newer than this personakit"
        )
    kind = meta["kind"]
    if kind not in BaseModel.registry:
        raise ValueError(f"{folder}: unknown model kind {kind!r}")
    with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    common: dict[str, Any] = {
        "recipe": meta["recipe"],
        "item_ids": arrays.pop("item_ids"),
        "user_ids": arrays.pop("user_ids"),
        "popularity": arrays.pop("popularity"),
        "activity": arrays.pop("activity"),
        "hyperparameters": meta.get("hyperparameters", {}),
        "info": meta.get("info", {}),
    }
    return BaseModel.registry[kind]._restore(common, meta.get("params", {}), arrays)


def common_from(recipe: str, data: TrainingData, events: Events, hyper: Hyper) -> dict[str, Any]:
    """Constructor arguments every model shares."""
    return {
        "recipe": recipe,
        "item_ids": np.asarray(data.item_ids).astype(str),
        "user_ids": np.asarray(data.user_ids).astype(str),
        "popularity": events.popularity(),
        "activity": events.activity(),
        "hyperparameters": hyper.used,
    }


def chunks(indptr: I64, max_nnz: int) -> Iterable[tuple[int, int]]:
    """Row ranges whose non-zeros stay under ``max_nnz`` (at least one row each)."""
    n = len(indptr) - 1
    start = 0
    while start < n:
        limit = indptr[start] + max_nnz
        stop = int(np.searchsorted(indptr, limit, side="right")) - 1
        stop = min(max(stop, start + 1), n)
        yield start, stop
        start = stop
