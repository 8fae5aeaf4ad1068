"""The contract between the local engine and its recommender algorithms.

The engine (``personakit.local``) turns imported datasets into a
:class:`TrainingData`, calls :func:`personakit.local.algorithms.train` for a
recipe, stores the returned :class:`Model` with ``save`` and serves it after
``load``. Filters are evaluated by the engine and reach the model as
``exclude`` / ``candidates`` item sets, so models only rank.

Pure numpy/scipy: no I/O other than ``save``/``load`` under a folder the engine
owns, no boto3, no SQLite.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import attrs
import numpy as np
import numpy.typing as npt

__all__ = ["Model", "Scored", "TrainingData"]

#: (id, score) pairs, best first.
Scored = list[tuple[str, float]]


@attrs.frozen
class TrainingData:
    """Interactions as integer-coded arrays plus optional item and user metadata.

    ``user_ids[users[k]]`` and ``item_ids[items[k]]`` are the ids of interaction
    ``k``; ids are strings. ``item_ids`` holds every known item: those of the
    Items dataset with no interactions too (cold items). Arrays are aligned and
    sorted by timestamp (stable).
    """

    user_ids: npt.NDArray[np.str_]
    item_ids: npt.NDArray[np.str_]
    users: npt.NDArray[np.int32]
    items: npt.NDArray[np.int32]
    timestamps: npt.NDArray[np.int64]
    event_types: npt.NDArray[np.str_] | None = None
    event_values: npt.NDArray[np.float32] | None = None
    #: item metadata: field name -> values aligned with ``item_ids`` (strings for
    #: categorical fields, ``|``-joined; floats for numeric; None where missing)
    item_metadata: Mapping[str, npt.NDArray[np.object_]] = attrs.field(factory=dict)
    user_metadata: Mapping[str, npt.NDArray[np.object_]] = attrs.field(factory=dict)
    creation_timestamps: npt.NDArray[np.int64] | None = None

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_interactions(self) -> int:
        return len(self.users)


@runtime_checkable
class Model(Protocol):
    """A trained model for one recipe. Unknown ids never raise: they get fallbacks."""

    recipe: str

    def recommend(
        self,
        user_id: str | None,
        n: int,
        *,
        history: Sequence[tuple[str, int]] = (),
        exclude: Collection[str] = (),
        candidates: Collection[str] | None = None,
    ) -> Scored:
        """Top-``n`` items for a user (USER_PERSONALIZATION, POPULAR_ITEMS).

        ``history`` adds (item_id, epoch seconds) events recorded after training
        (PutEvents): they change the user's next recommendations, as the real
        service does. ``exclude`` removes items; ``candidates``, when given, is the
        only set items may come from.
        """
        ...

    def recommend_batch(
        self,
        user_ids: Sequence[str | None],
        n: int,
        *,
        histories: Sequence[Sequence[tuple[str, int]]],
        excludes: Sequence[Collection[str]],
    ) -> list[Scored]:
        """:meth:`recommend` for many users at once, the same lists (no ``candidates``):
        the offline metrics run and batch inference jobs; user models score in blocks."""
        ...

    def related(
        self,
        item_id: str,
        n: int,
        *,
        exclude: Collection[str] = (),
        candidates: Collection[str] | None = None,
    ) -> Scored:
        """Top-``n`` items related to an item (RELATED_ITEMS); popular items for unknown ones."""
        ...

    def rank(
        self, user_id: str, items: Sequence[str], *, history: Sequence[tuple[str, int]] = ()
    ) -> Scored:
        """``items`` re-ranked for the user (PERSONALIZED_RANKING); unknown items last."""
        ...

    def users_for_items(self, item_ids: Sequence[str], n: int) -> Scored:
        """Users most likely to interact with any of the items (USER_SEGMENTATION)."""
        ...

    def save(self, folder: Path) -> None:
        """Write the model under ``folder`` (created by the engine)."""
        ...
