"""Popularity-Count and Trending-Now: one ranking of items, the same for every user.

* **popularity-count**: distinct users per item, the documented definition
  (https://docs.aws.amazon.com/personalize/latest/dg/native-recipe-popularity.html);
  score = share of users who interacted with the item.
* **trending-now**: events per item in the most recent window ``(t_end - w, t_end]``
  against the one before, ``t_end`` = the newest event in the training data.
  growth = (recent - previous) / (previous + m), m = mean events per item that
  had events in the previous window (at least 1), so an item going 0 -> 20
  outranks 100 -> 150 and 0 -> 1 is not a trend. Items that grew come first
  by growth; the rest follow by recent events, then popularity. With both
  windows empty the result is popular items (documented behaviour).
  The window is ``trend_discovery_frequency`` (``30 minutes``, ``1 hour``,
  ``3 hours``, ``1 day``, or seconds). Its default depends on the data span:
  Personalize's default 3 hours when the two windows then hold at least
  min(1,000, 10% of events), else the smallest of 1 day / 7 / 30 / 90 / 365
  days that does, else half the span.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from personakit.local.algorithms.base import TrainingData
from personakit.local.algorithms.common import BaseModel, Hyper, common_from, events_from

__all__ = ["PopularityModel", "train_popularity", "train_trending"]

HOUR = 3600
DAY = 86400
_LADDER = (DAY, 7 * DAY, 30 * DAY, 90 * DAY, 365 * DAY)
_UNITS = {"minute": 60, "minutes": 60, "hour": HOUR, "hours": HOUR, "day": DAY, "days": DAY}


class PopularityModel(BaseModel):
    """A fixed ranking of items (``order``) with a score per item."""

    kind: ClassVar[str] = "popularity"

    def __init__(
        self, recipe: str, *, ranking: npt.ArrayLike, scores: npt.ArrayLike, **common: Any
    ) -> None:
        super().__init__(recipe, **common)
        self.ranking = np.asarray(ranking, dtype=np.int64)
        self.scores = np.asarray(scores, dtype=np.float64)
        # reuse the base class's popularity fallback machinery with this ranking
        self._pop_order = self.ranking
        self._pop_rank = np.empty_like(self.ranking)
        self._pop_rank[self.ranking] = np.arange(len(self.ranking))
        self._pop_score = self.scores

    def _arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {"ranking": self.ranking, "scores": self.scores}

    @classmethod
    def _restore(
        cls, common: dict[str, Any], params: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]
    ) -> PopularityModel:
        return cls(ranking=arrays["ranking"], scores=arrays["scores"], **common)


def train_popularity(
    recipe: str, data: TrainingData, hyper: Hyper, *, default_event_type: str | None = None
) -> PopularityModel:
    events = events_from(data, hyper, default_event_type=default_event_type)
    common = common_from(recipe, data, events, hyper)
    popularity = common["popularity"]
    ranking = np.lexsort((np.arange(len(popularity)), -popularity))
    scores = popularity / max(data.n_users, 1)
    model = PopularityModel(ranking=ranking, scores=scores, **common)
    model.info.update({"algorithm": "popularity-count", "events": events.n_events})
    return model


def parse_window(text: str) -> int:
    """``"3 hours"`` / ``"30 minutes"`` / ``"1 day"`` / ``"3600"`` -> seconds."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    else:
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-z]+)", text)
        if not match or match.group(2) not in _UNITS:
            raise ValueError(
                f"trend_discovery_frequency={text!r}: expected e.g. '30 minutes', '1 hour', "
                "'3 hours', '1 day' or seconds"
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("trend_discovery_frequency must be positive")
    return int(seconds)


def default_window(times: npt.NDArray[np.int64]) -> int:
    if len(times) == 0:
        return 3 * HOUR
    end = int(times.max())
    need = min(1000, max(1, int(0.1 * len(times))))
    for window in (3 * HOUR, *_LADDER):
        if int((times > end - 2 * window).sum()) >= need:
            return window
    span = end - int(times.min())
    return max(1, span // 2)


def train_trending(recipe: str, data: TrainingData, hyper: Hyper) -> PopularityModel:
    events = events_from(data, hyper)
    common = common_from(recipe, data, events, hyper)
    popularity = common["popularity"]
    if hyper.given("trend_discovery_frequency", "window_seconds"):
        raw = hyper.values.get("trend_discovery_frequency") or hyper.values["window_seconds"]
        window = parse_window(raw)
    else:
        window = default_window(events.times)
    hyper.used["trend_discovery_frequency"] = str(window)
    n = data.n_items
    if events.n_events:
        end = int(events.times.max())
        recent_mask = events.times > end - window
        previous_mask = (events.times > end - 2 * window) & ~recent_mask
        recent = np.bincount(events.items[recent_mask], minlength=n).astype(np.float64)
        previous = np.bincount(events.items[previous_mask], minlength=n).astype(np.float64)
    else:
        recent = np.zeros(n)
        previous = np.zeros(n)
    had = previous > 0
    prior = max(1.0, float(previous[had].mean())) if had.any() else 1.0
    growth = (recent - previous) / (previous + prior)
    grew = growth > 0
    # grown items by growth; then by recent events; then popularity; then position
    ranking = np.lexsort((np.arange(n), -popularity, -recent, -np.where(grew, growth, 0.0), ~grew))
    scores = np.where(grew, growth, 0.0)
    model = PopularityModel(ranking=ranking, scores=scores, **common)
    model.info.update(
        {
            "algorithm": "trending-now",
            "window_seconds": window,
            "events_recent_window": int(recent.sum()),
            "events_previous_window": int(previous.sum()),
        }
    )
    return model
