"""Seeded synthetic data with the structure of real interaction logs.

For trying personakit out, for tests and for benchmarks: every frame is ready for
:meth:`personakit.Schema.infer` as it is, and the data has enough structure that a
collaborative-filtering model learns something real from it (a matrix
factorisation beats popularity clearly on each user's latest interactions).

How the data is made (all of it vectorised numpy, one ``numpy.random.Generator``
seeded with ``seed``, so the same arguments give identical frames):

* **Items** have 1 to 3 genres drawn from a Zipf-like genre popularity (the first
  genre, ``Drama``, is the most common), a latent vector, a Zipf popularity
  (exponent ``popularity_exponent``, 1.0 by default, ranks shuffled so ids say
  nothing about popularity), a price, a ``CREATION_TIMESTAMP`` and a description
  assembled from word lists. A share ``new_items`` of them is released during the
  window: nobody interacts with an item before its release, and new items get a
  novelty boost that fades over about two weeks.
* **Users** have an age group (which shifts their genre prior), a taste
  distribution over genres (Dirichlet, concentrated on a few genres), a latent
  vector (a mix of one or two of 24 community centroids, plus noise) and an
  activity level (lognormal, ``activity_sigma``); premium members are the more
  active ones. The ``n_interactions`` rows are shared out by activity with every
  user getting at least ``min_user_interactions``.
* **Time**: each user is active over part of the window, in sessions (bursts of
  events a minute or so apart, sessions days apart); a user's timestamps never go
  backwards. Tastes drift from one genre distribution to another over the window
  and items' popularity drifts up or down (``drift``), so recent history predicts
  better than old history.
* **Choice**: an event picks a genre from the user's taste at that time and one of
  the user's communities, then an item of that genre with probability proportional
  to its popularity times ``exp(2 * affinity)`` (the item's latent vector against
  the community's); candidates drawn that way are resampled for the item's
  popularity drift and novelty, never before its release. This gives co-occurrence
  structure finer than genres, which is what collaborative filtering learns.
* **Event types** form a funnel: the first type (``"View"``) is the most common;
  each later type (``"Purchase"``) re-uses the item of the user's previous event in
  the same session, about ``conversion`` times as often as the type before it,
  more often for items the user likes and for cheap ones. ``EVENT_VALUE`` is an
  engagement fraction in (0, 1] for the first type (higher for items the user
  likes) and the item's price for the others.

Identifiers are strings with a prefix, ``"u1"``..``"u<n_users>"`` and
``"i1"``..``"i<n_items>"``, so a user id is never mistaken for an item id and
CSV readers do not turn them into integers. :func:`synthetic_movielens` gives the
MovieLens layout instead (integer ids, ratings), for the ``personakit.rules.prep`` demos.

String columns are built in Arrow and handed to pandas as Arrow-backed strings, with
no Python object per value (at 10M rows, 0.2 s per id column instead of 6.6 s for
object strings); :meth:`SyntheticData.to_arrow` gives pyarrow Tables.

What it looks like at the defaults (2,000 users, 1,000 items, 50,000 rows; seeds
0-4, measured by ``tests/test_datasets.py``): the top 10% of items get 58-65% of
the interactions; about half of the rows repeat an earlier (user, item) pair (the
same product viewed again, purchases of viewed items); on each user's newest item,
hit@10 is 0.09-0.15 for popularity and 0.23-0.26 for a 32-factor implicit ALS
(1.6-2.7x); 56-61% of users' last interactions are in their most frequent genre,
2.6-3.7x that genre's share of all interactions. Weighting a user's history by
recency (item-kNN, half-life 3 events) lifts hit@10 by 4-7%.
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd
    import pyarrow as pa

    F32 = npt.NDArray[np.float32]
    F64 = npt.NDArray[np.float64]
    I64 = npt.NDArray[np.int64]
    I32 = npt.NDArray[np.int32]
    Bool = npt.NDArray[np.bool_]

#: pyarrow arrays (the stubs' generics do not help here).
_Arrow: TypeAlias = Any

__all__ = [
    "AGE_GROUPS",
    "GENRES",
    "MEMBERSHIPS",
    "SyntheticData",
    "synthetic",
    "synthetic_movielens",
]

logger = logging.getLogger(__name__)

#: Genre names, most common first (MovieLens' 18 genres, roughly in its order of
#: frequency). ``n_genres`` above 18 adds ``Genre19``, ``Genre20`` ...
GENRES: tuple[str, ...] = (
    "Drama",
    "Comedy",
    "Thriller",
    "Action",
    "Romance",
    "Adventure",
    "Crime",
    "Sci-Fi",
    "Horror",
    "Fantasy",
    "Children",
    "Animation",
    "Mystery",
    "Documentary",
    "War",
    "Musical",
    "Western",
    "Film-Noir",
)
AGE_GROUPS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
_AGE_SHARE = (0.18, 0.27, 0.21, 0.15, 0.11, 0.08)
MEMBERSHIPS: tuple[str, ...] = ("free", "premium")

_DAY = 86_400
_LATENT_DIM = 8
_COMMUNITIES = 24  # latent user communities (centroids in the latent space)
_COMMUNITY_AFFINITY = 2.0  # weight of item-community affinity (dot / sqrt(dim) ~ N(0, 1))
_CANDIDATES = 4  # resampling candidates per event (time effects: drift, novelty, release)
_GENRE_EXPONENT = 0.9  # Zipf exponent of genre popularity
_TASTE_CONCENTRATION = 0.05  # Dirichlet concentration per genre of a user's taste
_TASTE_IN_LIKING = 0.7  # weight of genre taste (standardised) in ratings and engagement
_NOVELTY = 3.0  # log-weight boost of a just-released item
_NOVELTY_DAYS = 14.0  # ... fading with this time constant
_TASTE_DRIFT = 0.4  # share of the taste that moves to a fresh draw over the window (drift=1)
_SESSION_FOCUS = 0.7  # share of a session's events on its first event's genre and community
_SESSION_GAP_S = 45.0  # median seconds between events of a session
_CHUNK = 1 << 18  # events per vectorised block (bounds memory)
#: MovieLens ml-latest-small's share of each rating 0.5, 1.0, ... 5.0 (rounded).
_ML_RATING_SHARE = (1.4, 2.8, 1.8, 7.5, 5.5, 19.9, 13.0, 26.6, 8.5, 13.1)

# Word lists for DESCRIPTION and titles (consonant-initial adjectives: "A ...").
_ADJ = (
    "gripping", "quiet", "sprawling", "tender", "bold", "dark", "witty", "haunting",
    "playful", "bittersweet", "restless", "stylish", "sharp", "luminous", "fierce",
    "gentle", "raw", "strange", "sweeping", "minimalist",
)  # fmt: skip
_NOUN = (
    "story", "tale", "portrait", "journey", "chronicle", "odyssey", "drama", "fable",
    "saga", "mystery", "study", "adventure",
)  # fmt: skip
_WHO = (
    "a retired detective", "an estranged sister", "a young inventor", "a small-town nurse",
    "a reluctant heir", "an aging rock star", "a ship's cook", "a grieving father",
    "a teenage hacker", "a travelling clown", "a border guard", "a lighthouse keeper",
    "a disgraced chef", "a former champion", "a rookie pilot", "a village teacher",
)  # fmt: skip
_DOES = (
    "searches for a missing letter", "must choose between love and duty",
    "uncovers a secret that changes everything", "tries to win back a lost fortune",
    "sets out across a frozen country", "learns what home really means",
    "races against time to save a friend", "faces the consequences of one night",
    "rebuilds a life after a long absence", "is drawn into a dangerous game",
)  # fmt: skip
_CLOSE = (
    "Critics praised its performances and its score.",
    "Shot on location over two summers.",
    "A word-of-mouth favourite with a devoted following.",
    "Funny, sad and surprising in equal measure.",
    "Its final act divides audiences to this day.",
    "Based on a celebrated novel.",
    "A modest budget, an unforgettable ending.",
    "Perfect for a long evening in.",
)
_TITLE_NOUN = (
    "River", "Night", "Garden", "Signal", "Harbor", "Summer", "Mirror", "Empire",
    "Letter", "Winter", "Stranger", "Orchard", "Machine", "Road", "Island", "Crown",
)  # fmt: skip


# --------------------------------------------------------------------------- result


@attrs.frozen(eq=False, repr=False)
class SyntheticData:
    """Three Personalize-ready frames and the parameters that generated them.

    Attributes:
        interactions: ``USER_ID``, ``ITEM_ID`` (str), ``TIMESTAMP`` (int64 epoch
            seconds), ``EVENT_TYPE`` (str), ``EVENT_VALUE`` (float32, if asked
            for); sorted by ``TIMESTAMP``.
        items: ``ITEM_ID`` (str), ``GENRES`` (``|``-joined), ``PRICE`` (float32),
            ``CREATION_TIMESTAMP`` (int64 epoch seconds), ``DESCRIPTION`` (free text).
        users: ``USER_ID`` (str), ``AGE_GROUP`` and ``MEMBERSHIP`` (categorical strings).
        genres: the genre names in use, most common first.
        params: every argument of :func:`synthetic`, plus ``start_ts`` and
            ``end_ts`` (the window in epoch seconds, end exclusive).
    """

    interactions: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame
    genres: tuple[str, ...]
    params: dict[str, Any]

    @property
    def frames(self) -> dict[str, pd.DataFrame]:
        """``{"interactions": ..., "items": ..., "users": ...}``: ``pk.validate(**data.frames)``."""
        return {"interactions": self.interactions, "items": self.items, "users": self.users}

    def to_arrow(self) -> dict[str, pa.Table]:
        """The three frames as pyarrow Tables, keyed like :attr:`frames`."""
        import pyarrow as pa

        return {
            name: pa.Table.from_pandas(frame, preserve_index=False)
            for name, frame in self.frames.items()
        }

    def summary(self) -> dict[str, Any]:
        """Counts and shape statistics (rows, users, items, event types, time span ...)."""
        inter = self.interactions
        per_item = inter["ITEM_ID"].value_counts().to_numpy()
        n_items = len(self.items)
        top = max(1, n_items // 10)
        per_user = inter["USER_ID"].value_counts().to_numpy()
        out: dict[str, Any] = {
            "interactions": len(inter),
            "users": len(self.users),
            "items": n_items,
            "density": len(inter) / max(1, len(self.users) * n_items),
            "top 10% items' share": float(np.sort(per_item)[::-1][:top].sum() / max(1, len(inter))),
            "interactions per user (median / max)": (
                f"{np.median(per_user):g} / {per_user.max() if len(per_user) else 0}"
            ),
            "window": f"{_iso(self.params['start_ts'])} .. {_iso(self.params['end_ts'])}",
        }
        if "EVENT_TYPE" in inter:
            counts = inter["EVENT_TYPE"].value_counts()
            out["event types"] = ", ".join(f"{k}: {v}" for k, v in counts.items())
        out["seed"] = self.params["seed"]
        return out

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"SyntheticData(interactions={s['interactions']}, users={s['users']}, "
            f"items={s['items']}, seed={s['seed']})"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_fmt(v))}</td></tr>"
            for k, v in self.summary().items()
        )
        return f"<div><b>SyntheticData</b><table>{rows}</table></div>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _iso(ts: int) -> str:
    return str(np.datetime64(int(ts), "s")).replace("T", " ")[:16]


# --------------------------------------------------------------------------- public API


def synthetic(
    n_users: int = 2_000,
    n_items: int = 1_000,
    n_interactions: int = 50_000,
    *,
    n_genres: int = 18,
    start: str | date | datetime | int = "2024-01-01",
    days: float = 180,
    seed: int = 0,
    event_types: Sequence[str] = ("View", "Purchase"),
    conversion: float = 0.1,
    event_value: bool = True,
    min_user_interactions: int = 2,
    new_items: float = 0.2,
    popularity_exponent: float = 1.0,
    activity_sigma: float = 1.0,
    drift: float = 1.0,
) -> SyntheticData:
    """Interactions, items and users with the structure of a real catalogue.

    See the module docstring for how the data is made. Every count is exact:
    ``len(data.interactions) == n_interactions``, ``len(data.items) == n_items``,
    ``len(data.users) == n_users``, and every user has at least
    ``min_user_interactions`` interactions. 10M interactions (200k users, 20k
    items) take about 10 s and 1.7 GB of memory on two cores.

    Args:
        n_users: number of users.
        n_items: number of items.
        n_interactions: number of interaction rows (all event types together).
        n_genres: number of genres (the first ``n_genres`` of :data:`GENRES`).
        start: start of the time window: an ISO date or datetime (UTC if naive),
            a ``date``/``datetime``, or epoch seconds.
        days: length of the window in days; every ``TIMESTAMP`` is in
            ``[start, start + days)``.
        seed: seed of the ``numpy.random.Generator``; same arguments, same frames.
        event_types: the funnel, most common first (e.g. ``("View", "AddToCart",
            "Purchase")``); one name gives a single event type.
        conversion: each event type is about ``conversion`` times as frequent as the
            one before it (capped by how many events have a predecessor in the same
            session).
        event_value: add ``EVENT_VALUE`` (engagement in (0, 1] for the first event
            type, the item's price for the others).
        min_user_interactions: the fewest interactions a user gets.
        new_items: share of items released during the window (never interacted
            with before their ``CREATION_TIMESTAMP``).
        popularity_exponent: Zipf exponent of item popularity.
        activity_sigma: sigma of the lognormal user activity (heavier tail when larger).
        drift: how far tastes and item popularity move over the window (0: static).

    Returns:
        A :class:`SyntheticData`.

    Raises:
        ValueError: a count or share out of range, or ``n_interactions`` below
            ``n_users * min_user_interactions``.

    Example:
        >>> import personakit as pk
        >>> from personakit.samples import synthetic
        >>> data = synthetic(200, 100, 5_000, seed=1)
        >>> len(data.interactions), sorted(data.interactions["EVENT_TYPE"].unique())
        (5000, ['Purchase', 'View'])
        >>> pk.Schema.infer(data.items, "items").check().ok
        True
    """
    params = {
        "n_users": n_users,
        "n_items": n_items,
        "n_interactions": n_interactions,
        "n_genres": n_genres,
        "start": start,
        "days": days,
        "seed": seed,
        "event_types": tuple(event_types),
        "conversion": conversion,
        "event_value": event_value,
        "min_user_interactions": min_user_interactions,
        "new_items": new_items,
        "popularity_exponent": popularity_exponent,
        "activity_sigma": activity_sigma,
        "drift": drift,
    }
    types = _check_event_types(event_types)
    _check_range("conversion", conversion, 0.0, 1.0, low_open=True)
    gen = _Generator(
        n_users,
        n_items,
        n_interactions,
        n_genres=n_genres,
        start=start,
        days=days,
        rng=np.random.default_rng(seed),
        min_user_interactions=min_user_interactions,
        new_items=new_items,
        popularity_exponent=popularity_exponent,
        activity_sigma=activity_sigma,
        drift=drift,
    )
    ev = gen.events()
    level = gen.funnel(ev, len(types), conversion)
    order = np.argsort(ev.t, kind="stable")
    user, item, ts, level = ev.user[order], ev.item[order], ev.t[order], level[order]
    columns: dict[str, Any] = {
        "USER_ID": _ids("u", user, n_users),
        "ITEM_ID": _ids("i", item, n_items),
        "TIMESTAMP": ts,
        "EVENT_TYPE": _labels(types, level),
    }
    if event_value:
        liking = gen.liking(user, item, ev.affinity[order])
        engagement = 1.0 / (1.0 + np.exp(-(liking + gen.rng.normal(0.5, 1.0, len(ts)))))
        value = np.where(level == 0, np.round(engagement, 2), gen.price[item])
        columns["EVENT_VALUE"] = np.maximum(value, 0.01).astype(np.float32)
    interactions = _frame(columns)
    items = _frame(
        {
            "ITEM_ID": _ids("i", np.arange(n_items), n_items),
            "GENRES": gen.genre_strings(),
            "PRICE": gen.price,
            "CREATION_TIMESTAMP": gen.release,
            "DESCRIPTION": gen.descriptions(),
        }
    )
    users = _frame(
        {
            "USER_ID": _ids("u", np.arange(n_users), n_users),
            "AGE_GROUP": _labels(AGE_GROUPS, gen.age),
            "MEMBERSHIP": _labels(MEMBERSHIPS, gen.premium.astype(np.int8)),
        }
    )
    params["start_ts"] = gen.t0
    params["end_ts"] = gen.t0 + gen.span
    return SyntheticData(interactions, items, users, gen.genres, params)


def synthetic_movielens(
    n_users: int = 610,
    n_items: int = 9_742,
    n_ratings: int = 100_836,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A ratings and a movies frame in the MovieLens layout (defaults: ml-latest-small's size).

    * ``ratings``: ``userId`` (int64, 1-based), ``movieId`` (int64, 1-based),
      ``rating`` (float64, 0.5 to 5.0 in steps of 0.5, distributed like MovieLens',
      higher for movies the user likes), ``timestamp`` (int64 epoch seconds, 2010
      to 2017); one rating per user and movie, exactly ``n_ratings`` rows, sorted by
      ``userId`` then ``movieId`` like ``ratings.csv``.
    * ``movies``: ``movieId``, ``title`` (``"Quiet Harbor (1997)"``), ``genres``
      (``"Comedy|Drama"``), one row per movie, rated or not.

    The users, tastes and sessions are those of :func:`synthetic` (one event type),
    so ``personakit.rules.prep.ratings_to_interactions`` followed by a recommender has
    something to learn.

    Raises:
        ValueError: counts out of range, or more ratings than user-movie pairs
            allow (the catalogue must stay well below saturation).
    """
    if n_users < 1 or n_items < 1:
        raise ValueError("n_users and n_items must be >= 1")
    most = max(1, n_users * n_items // 2)
    if not 1 <= n_ratings <= most:
        raise ValueError(
            f"n_ratings must be between 1 and half of n_users * n_items ({most}), got {n_ratings}"
        )
    per_user = max(1, min(20, n_ratings // n_users))
    factor = 1.15
    for attempt in range(12):
        gen = _Generator(
            n_users,
            n_items,
            max(math.ceil(n_ratings * factor), n_users * per_user),
            n_genres=18,
            start="2010-01-01",
            days=8 * 365,
            rng=np.random.default_rng([seed, attempt]),
            min_user_interactions=per_user,
            new_items=0.1,
            popularity_exponent=1.0,
            activity_sigma=1.2,
            drift=1.0,
        )
        ev = gen.events()
        key = ev.user.astype(np.int64) * n_items + ev.item
        _, first = np.unique(key, return_index=True)  # first rating of each pair, by user
        if len(first) >= n_ratings:
            break
        factor *= 1.5
    else:  # pragma: no cover - guarded by the n_ratings bound
        raise ValueError("could not draw that many distinct ratings; use more users or items")
    keep = np.sort(first)
    extra = len(keep) - n_ratings
    if extra:
        # drop random rows, never a user's first `per_user` distinct ratings
        user = ev.user[keep]
        starts = np.flatnonzero(np.r_[True, user[1:] != user[:-1]])
        rank = np.arange(len(keep)) - np.repeat(starts, np.diff(np.r_[starts, len(keep)]))
        droppable = np.flatnonzero(rank >= per_user)
        if len(droppable) < extra:  # pragma: no cover - heavy duplication only
            droppable = np.arange(len(keep))
        drop = gen.rng.choice(droppable, extra, replace=False)
        keep = np.delete(keep, drop)
    user, item, ts = ev.user[keep], ev.item[keep], ev.t[keep]
    score = gen.liking(user, item, ev.affinity[keep]) + gen.user_bias[user]
    score = score + gen.quality[item]
    score = score + gen.rng.normal(0.0, 0.7, len(score)).astype(np.float32)
    rating = _quantile_ratings(score)
    order = np.lexsort((item, user))
    import pandas as pd

    ratings = pd.DataFrame(
        {
            "userId": user[order].astype(np.int64) + 1,
            "movieId": item[order].astype(np.int64) + 1,
            "rating": rating[order],
            "timestamp": ts[order],
        }
    )
    years = gen.release.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
    movies = _frame(
        {
            "movieId": np.arange(1, n_items + 1, dtype=np.int64),
            "title": gen.titles(years),
            "genres": gen.genre_strings(),
        }
    )
    return ratings, movies


# --------------------------------------------------------------------------- generator


@attrs.frozen
class _Events:
    """Events grouped by user, in time order within each user."""

    user: I32
    item: I32
    t: I64  # epoch seconds
    session: I64  # global session index (non-decreasing)
    affinity: F32  # the user's latent affinity to the chosen item (~ N(0, 1) scale)


class _Generator:
    """Draws the latent world (items, users) at construction, events on demand."""

    def __init__(
        self,
        n_users: int,
        n_items: int,
        n_events: int,
        *,
        n_genres: int,
        start: str | date | datetime | int,
        days: float,
        rng: np.random.Generator,
        min_user_interactions: int,
        new_items: float,
        popularity_exponent: float,
        activity_sigma: float,
        drift: float,
    ) -> None:
        _check_count("n_users", n_users)
        _check_count("n_items", n_items)
        _check_count("n_genres", n_genres)
        _check_count("min_user_interactions", min_user_interactions)
        if n_events < n_users * min_user_interactions:
            raise ValueError(
                f"n_interactions ({n_events}) must be at least n_users * "
                f"min_user_interactions ({n_users} * {min_user_interactions})"
            )
        if not days > 0:
            raise ValueError(f"days must be > 0, got {days!r}")
        _check_range("new_items", new_items, 0.0, 1.0)
        _check_range("popularity_exponent", popularity_exponent, 0.0, 10.0)
        _check_range("activity_sigma", activity_sigma, 0.0, 10.0)
        _check_range("drift", drift, 0.0, 10.0)
        self.rng = rng
        self.n_users, self.n_items, self.n_events = n_users, n_items, n_events
        self.t0 = _epoch(start)
        self.span = max(1, round(days * _DAY))
        self.genres = GENRES[:n_genres] + tuple(
            f"Genre{k}" for k in range(len(GENRES) + 1, n_genres + 1)
        )
        self.min_user = min_user_interactions
        self.drift = drift
        self.centroids = rng.standard_normal((_COMMUNITIES, _LATENT_DIM), dtype=np.float32)
        self._items(new_items, popularity_exponent)
        self._users(activity_sigma)

    # ------------------------------------------------------------------ items
    def _items(self, new_share: float, exponent: float) -> None:
        rng, n, g = self.rng, self.n_items, len(self.genres)
        self.genre_p = _zipf(g, _GENRE_EXPONENT)
        n_genre = rng.choice(np.arange(1, 4), size=n, p=[0.45, 0.35, 0.20])
        n_genre = np.minimum(n_genre, g)
        # distinct weighted genres per item: Gumbel top-3 over log genre popularity
        keys = np.log(self.genre_p) + rng.gumbel(size=(n, g))
        top = np.argsort(-keys, axis=1)[:, : min(3, g)].astype(np.int16)
        self.item_genres = top  # (n, <=3); the first n_genre[i] columns are item i's
        self.item_n_genres = n_genre
        rank = rng.permutation(n)
        pop = (rank + 1.0) ** -exponent
        self.latent_item = rng.standard_normal((n, _LATENT_DIM), dtype=np.float32)
        self.pop_trend = rng.normal(0.0, self.drift, n).astype(np.float32)
        self.quality = rng.normal(0.0, 0.5, n).astype(np.float32)  # rating bias
        is_new = rng.random(n) < new_share
        is_new[rank == 0] = False  # the most popular item exists from the start
        old = self.t0 - (rng.uniform(30, 20 * 365, n) * _DAY).astype(np.int64)
        new = self.t0 + (rng.uniform(0.02, 0.9, n) * self.span).astype(np.int64)
        self.release = np.where(is_new, new, old).astype(np.int64)
        self.is_new = is_new
        genre_price = np.exp(rng.normal(0.0, 0.3, g))
        base = np.exp(rng.normal(math.log(9.0), 0.7, n)) * genre_price[top[:, 0]]
        self.price = (np.floor(base) + 0.99).astype(np.float32)
        self.fallback_item = int(np.argmin(rank))
        # (item, genre) pairs sorted by genre; one draw table per (community, genre):
        # an item's weight is its popularity times exp(affinity to the community)
        member = np.arange(top.shape[1])[None, :] < n_genre[:, None]
        pair_item = np.broadcast_to(np.arange(n)[:, None], top.shape)[member]
        pair_genre = top[member].astype(np.int64)
        order = np.lexsort((pair_item, pair_genre))
        self.pair_item = pair_item[order].astype(np.int32)
        pair_genre = pair_genre[order]
        self.genre_has_items = np.bincount(pair_genre, minlength=g) > 0
        scale = np.float32(_COMMUNITY_AFFINITY / math.sqrt(_LATENT_DIM))
        affinity = (self.centroids @ self.latent_item[self.pair_item].T) * scale  # (M, pairs)
        weight = np.exp(affinity - affinity.max()) * pop[self.pair_item][None, :]
        segment = np.arange(_COMMUNITIES)[:, None] * g + pair_genre[None, :]
        keys = _cdf_keys(segment.ravel(), weight.ravel().astype(np.float64), g)
        self.n_segments = _COMMUNITIES * g
        self.table_frac = keys - segment.ravel()  # cumulative share within the segment
        self.table_start = np.searchsorted(segment.ravel(), np.arange(self.n_segments + 1))

    # ------------------------------------------------------------------ users
    def _users(self, sigma: float) -> None:
        rng, n, g = self.rng, self.n_users, len(self.genres)
        self.age = rng.choice(len(AGE_GROUPS), size=n, p=_AGE_SHARE).astype(np.int8)
        age_prior = np.sqrt(self.genre_p)[None, :] * np.exp(
            rng.normal(0.0, 0.6, (len(AGE_GROUPS), g))
        )
        age_prior /= age_prior.sum(axis=1, keepdims=True)
        shape = _TASTE_CONCENTRATION * g * age_prior[self.age]
        taste0 = _dirichlet(rng, shape)
        # the taste at the end of the window: part of it moves to a fresh draw
        move = min(1.0, _TASTE_DRIFT * self.drift)
        taste1 = (1.0 - move) * taste0 + move * _dirichlet(rng, shape)
        mask = self.genre_has_items[None, :]
        self.taste = _masked(taste0, mask).astype(np.float32)
        # rows 0..n-1: the taste at the start of the window; n..2n-1: at its end
        self.taste_keys = _cdf_keys(None, _masked(np.vstack([taste0, taste1]), mask), g)
        # each user belongs mostly to one community, partly to a second one
        self.community = rng.integers(0, _COMMUNITIES, (n, 2)).astype(np.int64)
        self.community_share = rng.beta(3.0, 1.0, n).astype(np.float32)
        w = self.community_share[:, None]
        self.latent_user = (
            w * self.centroids[self.community[:, 0]]
            + (1 - w) * self.centroids[self.community[:, 1]]
            + rng.normal(0.0, 0.5, (n, _LATENT_DIM)).astype(np.float32)
        ).astype(np.float32)
        self.user_bias = rng.normal(0.0, 0.5, n).astype(np.float32)
        activity = rng.lognormal(0.0, sigma, n)
        self.activity = activity
        # premium members are the more active ones (about 30% of users)
        z = (np.log(activity) / max(sigma, 1e-9)) + rng.normal(0.0, 1.0, n)
        self.premium = z > np.quantile(z, 0.7) if n > 1 else np.zeros(n, dtype=bool)

    # ------------------------------------------------------------------ events
    def events(self) -> _Events:
        rng, n_users, total = self.rng, self.n_users, self.n_events
        extra = total - n_users * self.min_user
        counts = self.min_user + rng.multinomial(extra, self.activity / self.activity.sum())
        user = np.repeat(np.arange(n_users, dtype=np.int32), counts)
        # each user is active over part of the window
        first = rng.beta(0.7, 1.3, n_users)
        length = (1.0 - first) * rng.beta(2.0, 1.0, n_users)
        first_s = first * self.span
        length_s = np.maximum(length * self.span, min(float(_DAY), self.span * 0.1))
        # sessions: about 1 + Exp(4) events each
        k = np.minimum(counts, np.ceil(counts / (1.0 + rng.exponential(4.0, n_users))))
        k = np.maximum(k, 1).astype(np.int64)
        session_frac = _sorted_fractions(k, rng)
        session_user = np.repeat(np.arange(n_users), k)
        session_start = first_s[session_user] + session_frac * length_s[session_user]
        event_frac = _sorted_fractions(counts, rng)
        local = np.minimum((event_frac * k[user]).astype(np.int64), k[user] - 1)
        session = (np.cumsum(k) - k)[user] + local
        gaps = np.exp(rng.normal(math.log(_SESSION_GAP_S), 1.0, total)) + 5.0
        cs = np.cumsum(gaps)
        run_start = np.flatnonzero(np.r_[True, session[1:] != session[:-1]])
        run_len = np.diff(np.r_[run_start, total])
        offset = cs - np.repeat(cs[run_start], run_len)
        rel = (session_start[session] + offset).astype(np.int64)
        # never backwards within a user, never past the window
        stride = np.int64(4 * self.span + 10 * _DAY)
        rel = np.maximum.accumulate(rel + user.astype(np.int64) * stride) - user * stride
        rel = np.minimum(rel, self.span - 1)
        t = self.t0 + rel
        progress = np.clip((rel - first_s[user]) / length_s[user], 0.0, 1.0).astype(np.float32)
        item = self._choose(user, t, progress, run_start, run_len)
        return _Events(user, item, t, session, self._affinity(user, item))

    def liking(self, user: I32, item: I32, affinity: F32) -> F32:
        """How much each user likes each item: latent affinity plus genre taste (~ N(0, 1.5))."""
        genres = self.item_genres[item].astype(np.int64)
        member = np.arange(genres.shape[1])[None, :] < self.item_n_genres[item][:, None]
        taste = np.where(member, self.taste[user[:, None], genres], 0).max(axis=1)
        z = np.log(taste + np.float32(1e-3))
        z = (z - z.mean()) / np.float32(z.std() + 1e-9)
        out: F32 = (affinity + np.float32(_TASTE_IN_LIKING) * z).astype(np.float32)
        return out

    def _affinity(self, user: I32, item: I32) -> F32:
        """The user's latent affinity to the item (about N(0, 1))."""
        out = np.empty(len(user), dtype=np.float32)
        scale = np.float32(1.0 / math.sqrt(_LATENT_DIM))
        for lo in range(0, len(user), _CHUNK):
            hi = min(len(user), lo + _CHUNK)
            u, v = self.latent_user[user[lo:hi]], self.latent_item[item[lo:hi]]
            out[lo:hi] = np.einsum("nd,nd->n", u, v) * scale
        return out

    def _choose(self, user: I32, t: I64, progress: F32, run_start: I64, run_len: I64) -> I32:
        """Genre from the user's taste at time t, a community, then an item (resampled).

        A user's taste moves from the first to the second taste over the user's own
        active span (``progress`` 0 to 1). Sessions keep to a topic: with probability
        ``_SESSION_FOCUS`` an event takes the genre and community of its session's
        first event.
        """
        rng, m, g = self.rng, len(user), len(self.genres)
        tau = ((t - self.t0) / self.span).astype(np.float32)
        segment = np.empty(m, dtype=np.int32)
        for lo in range(0, m, _CHUNK):
            hi = min(m, lo + _CHUNK)
            u = user[lo:hi].astype(np.int64)
            late = rng.random(hi - lo, dtype=np.float32) < progress[lo:hi]
            row = u + late * np.int64(self.n_users)
            pos = np.searchsorted(self.taste_keys, row + rng.random(hi - lo), side="right")
            genre = np.minimum(pos - row * g, g - 1)
            second = rng.random(hi - lo, dtype=np.float32) >= self.community_share[u]
            segment[lo:hi] = self.community[u, second.astype(np.int64)] * g + genre
        focus = rng.random(m, dtype=np.float32) < np.float32(_SESSION_FOCUS)
        segment = np.where(focus, np.repeat(segment[run_start], run_len), segment)
        item = np.full(m, -1, dtype=np.int32)
        todo = np.arange(m)
        for _ in range(8):
            if not len(todo):
                break
            chosen = self._resample(segment[todo], t[todo], tau[todo])
            ok = chosen >= 0
            item[todo[ok]] = chosen[ok]
            todo = todo[~ok]
        item[todo] = self.fallback_item  # eight times nothing released yet: the evergreen
        return item

    def _candidates(self, segment: npt.NDArray[np.int32]) -> I32:
        """``_CANDIDATES`` draws per row from its (community, genre) table.

        Rows are grouped by segment (a radix sort) and each segment's small table is
        searched on its own: cache-friendly, ~5x faster than one global search.
        """
        order = np.argsort(segment.astype(np.int16), kind="stable")
        bounds = np.searchsorted(segment[order], np.arange(self.n_segments + 1))
        out = np.empty((len(segment), _CANDIDATES), dtype=np.int32)
        for s in np.flatnonzero(np.diff(bounds)):
            rows = order[bounds[s] : bounds[s + 1]]
            lo, hi = self.table_start[s], self.table_start[s + 1]
            r = self.rng.random((len(rows), _CANDIDATES))
            pos = np.searchsorted(self.table_frac[lo:hi], r, side="right")
            out[rows] = self.pair_item[(lo + pos) % len(self.pair_item)]
        return out

    def _resample(self, segment: npt.NDArray[np.int32], t: I64, tau: F32) -> I32:
        """One item per row from its (community, genre) table, reweighted for time.

        Candidates come from the table (popularity x community affinity); one is
        kept with probability proportional to exp(popularity drift + novelty), never
        one released after ``t``; -1 where no candidate was released.
        """
        cand_all = self._candidates(segment)
        chosen = np.empty(len(segment), dtype=np.int32)
        for lo in range(0, len(segment), _CHUNK):
            hi = min(len(segment), lo + _CHUNK)
            cand = cand_all[lo:hi]
            m = hi - lo
            age_days = (t[lo:hi, None] - self.release[cand]).astype(np.float32) / np.float32(_DAY)
            logw = self.pop_trend[cand] * (tau[lo:hi, None] - np.float32(0.5))
            logw += np.where(
                self.is_new[cand],
                np.float32(_NOVELTY) * np.exp(-np.maximum(age_days, 0) / np.float32(_NOVELTY_DAYS)),
                np.float32(0),
            )
            logw = np.where(age_days >= 0, logw, -np.inf)
            noise = self.rng.standard_exponential((m, _CANDIDATES), dtype=np.float32)
            race = logw - np.log(noise + np.float32(1e-30))
            pick = np.argmax(race, axis=1)
            rows = np.arange(m)
            ok = np.isfinite(race[rows, pick])
            chosen[lo:hi] = np.where(ok, cand[rows, pick], -1)
        return chosen

    def funnel(self, ev: _Events, n_types: int, conversion: float) -> npt.NDArray[np.int8]:
        """Event-type level per event (0 = first type); later levels copy the previous item."""
        n = len(ev.user)
        level = np.zeros(n, dtype=np.int8)
        if n_types == 1 or n == 0:
            return level
        share = conversion ** np.arange(n_types)
        share /= share.sum()
        same = np.zeros(n, dtype=bool)
        same[1:] = ev.session[1:] == ev.session[:-1]
        log_price = np.log(self.price / np.median(self.price))
        for k in range(1, n_types):
            prev_ok = np.zeros(n, dtype=bool)
            prev_ok[1:] = level[:-1] == k - 1
            # a row that leads into a later step must stay the type before that step
            feeds = np.zeros(n, dtype=bool)
            feeds[:-1] = level[1:] > 0
            cand = np.flatnonzero(same & prev_ok & (level == 0) & ~feeds)
            target = min(len(cand), round(float(n * share[k])))
            if target == 0:
                continue
            prev = cand - 1
            propensity = ev.affinity[prev] - 0.5 * log_price[ev.item[prev]]
            keys = propensity - np.log(self.rng.standard_exponential(len(cand)))
            sel = np.sort(cand[np.argpartition(-keys, target - 1)[:target]])
            if k == 1:  # no two neighbours: the earlier one must stay a first-type event
                chosen = np.zeros(n + 1, dtype=bool)
                chosen[sel] = True
                sel = sel[~chosen[sel - 1]]
            level[sel] = k
            ev.item[sel] = ev.item[sel - 1]
            ev.affinity[sel] = ev.affinity[sel - 1]
        return level

    # ------------------------------------------------------------------ text
    def genre_strings(self) -> _Arrow:
        import pyarrow as pa
        import pyarrow.compute as pc

        names = pa.array(self.genres)
        cols: list[_Arrow] = []
        for j in range(self.item_genres.shape[1]):
            present: _Arrow = pa.array(self.item_n_genres > j)
            index: _Arrow = pa.array(self.item_genres[:, j].astype(np.int32))
            cols.append(
                pc.if_else(present, pc.take(names, index), pa.nulls(self.n_items, pa.string()))
            )
        return pc.binary_join_element_wise(*cols, "|", null_handling="skip")

    def descriptions(self) -> _Arrow:
        rng, n = self.rng, self.n_items
        lower = np.array([g.lower() for g in self.genres], dtype=object)
        parts = [
            np.array(["A "], dtype=object),
            _pick(rng, _ADJ, n),
            np.array([" "], dtype=object),
            lower[self.item_genres[:, 0]],
            np.array([" "], dtype=object),
            _pick(rng, _NOUN, n),
            np.array([" about "], dtype=object),
            _pick(rng, _WHO, n),
            np.array([" who "], dtype=object),
            _pick(rng, _DOES, n),
            np.array([". "], dtype=object),
            _pick(rng, _CLOSE, n),
        ]
        return _concat(parts, n)

    def titles(self, years: I64) -> _Arrow:
        rng, n = self.rng, self.n_items
        adj = np.array([a.capitalize() for a in _ADJ], dtype=object)
        parts = [
            adj[rng.integers(0, len(adj), n)],
            np.array([" "], dtype=object),
            _pick(rng, _TITLE_NOUN, n),
            np.array([" ("], dtype=object),
            years.astype(str).astype(object),
            np.array([")"], dtype=object),
        ]
        return _concat(parts, n)


# --------------------------------------------------------------------------- helpers


def _check_count(name: str, value: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def _check_range(
    name: str, value: float, low: float, high: float, *, low_open: bool = False
) -> None:
    ok = (low < value if low_open else low <= value) and value <= high
    if not ok:
        left = "(" if low_open else "["
        raise ValueError(f"{name} must be in {left}{low}, {high}], got {value!r}")


def _check_event_types(event_types: Sequence[str]) -> tuple[str, ...]:
    types = tuple(event_types)
    if isinstance(event_types, str) or not types:
        raise ValueError("event_types must be a non-empty sequence of names, e.g. ('View',)")
    if len(set(types)) != len(types) or not all(isinstance(t, str) and t for t in types):
        raise ValueError(f"event_types must be distinct non-empty strings, got {types!r}")
    return types


def _epoch(start: str | date | datetime | int) -> int:
    if isinstance(start, (int, np.integer)) and not isinstance(start, bool):
        return int(start)
    import pandas as pd

    ts = pd.Timestamp(start)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return int(ts.value // 1_000_000_000)


def _zipf(n: int, exponent: float) -> F64:
    p = (np.arange(n) + 1.0) ** -exponent
    out: F64 = p / p.sum()
    return out


def _dirichlet(rng: np.random.Generator, shape: F64) -> F64:
    """One Dirichlet draw per row of ``shape`` (vectorised over rows)."""
    x = rng.gamma(shape)
    x[:, 0] += 1e-12  # a row of zeros (tiny shapes underflow) becomes the first genre
    out: F64 = x / x.sum(axis=1, keepdims=True)
    return out


def _masked(p: F64, mask: Bool) -> F64:
    """Rows of ``p`` restricted to ``mask`` and renormalised (uniform over mask if empty)."""
    q = p * mask
    total = q.sum(axis=1, keepdims=True)
    out: F64 = np.where(total > 0, q / np.where(total > 0, total, 1), mask / mask.sum())
    return out


def _cdf_keys(segment: I64 | None, weights: F64, width: int) -> F64:
    """Search keys to draw one member per segment with probability proportional to weight.

    ``segment`` (non-decreasing) gives each weight's segment; ``None`` means
    ``weights`` is a (segments, width) matrix. Key = segment + cumulative share within
    the segment, so ``searchsorted(keys, s + U[0, 1), side="right")`` lands on a
    member of segment ``s`` (zero weights are never drawn).
    """
    if segment is None:
        cum = np.cumsum(weights, axis=1)
        frac = cum / cum[:, -1:]
        frac[:, -1] = 1.0
        keys: F64 = (np.arange(len(weights))[:, None] + frac).ravel()
        return keys
    cs = np.cumsum(weights)
    first = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
    last = np.r_[first[1:], len(segment)] - 1
    length = last - first + 1
    before = np.repeat(cs[first] - weights[first], length)
    total = np.repeat(cs[last], length) - before
    frac = (cs - before) / total
    frac[last] = 1.0
    keys = segment + frac
    return keys


def _sorted_fractions(counts: I64, rng: np.random.Generator) -> F64:
    """For each segment of ``counts[s]`` values, sorted uniforms in (0, 1), concatenated.

    Normalised spacings of exponentials: O(n), no sort.
    """
    n, segments = int(counts.sum()), len(counts)
    e = rng.standard_exponential(n + segments)
    cs = np.cumsum(e)
    end = np.cumsum(counts + 1) - 1  # each segment's trailing gap
    begin = end - counts
    before = cs[begin] - e[begin]
    total = cs[end] - before
    keep = np.ones(n + segments, dtype=bool)
    keep[end] = False
    owner = np.repeat(np.arange(segments), counts)
    out: F64 = (cs[keep] - before[owner]) / total[owner]
    return out


def _quantile_ratings(score: F32) -> F64:
    """Ratings 0.5..5.0 with MovieLens' distribution, ordered like ``score``."""
    share = np.array(_ML_RATING_SHARE) / sum(_ML_RATING_SHARE)
    rank = np.empty(len(score), dtype=np.int64)
    rank[np.argsort(score, kind="stable")] = np.arange(len(score))
    edges = np.cumsum(share)[:-1] * len(score)
    out = (np.searchsorted(edges, rank, side="right") + 1) * 0.5
    return out.astype(np.float64)


def _pick(rng: np.random.Generator, words: Sequence[str], n: int) -> npt.NDArray[np.object_]:
    arr = np.array(words, dtype=object)
    picked: npt.NDArray[np.object_] = arr[rng.integers(0, len(arr), n)]
    return picked


def _concat(parts: list[npt.NDArray[np.object_]], n: int) -> _Arrow:
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays: list[_Arrow] = [pa.array(np.broadcast_to(p, (n,)), type=pa.string()) for p in parts]
    return pc.binary_join_element_wise(*arrays, "")


def _ids(prefix: str, index: npt.NDArray[Any], n: int) -> _Arrow:
    """``prefix + str(index + 1)`` as an Arrow string array, without Python strings per row."""
    return _labels(np.char.add(prefix, (np.arange(n) + 1).astype(str)), index)


def _labels(names: Sequence[str] | npt.NDArray[np.str_], codes: npt.NDArray[Any]) -> _Arrow:
    """``names[codes]`` as an Arrow string array (dictionary decode in C++)."""
    import pyarrow as pa

    dictionary: _Arrow = pa.array(names, type=pa.string())
    indices: _Arrow = pa.array(codes.astype(np.int32, copy=False))
    return pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())


def _frame(columns: dict[str, Any]) -> pd.DataFrame:
    """A DataFrame whose string columns stay Arrow-backed (no Python object per value)."""
    import pandas as pd
    import pyarrow as pa

    table = pa.table(columns)
    if int(pd.__version__.split(".")[0]) >= 3:
        return table.to_pandas()
    mapper: dict[Any, Any] = {pa.string(): pd.StringDtype("pyarrow")}
    frame: pd.DataFrame = table.to_pandas(types_mapper=mapper.get)
    return frame
