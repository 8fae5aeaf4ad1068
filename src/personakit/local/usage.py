"""What a local run used, read back from the workspace: the quantities AWS would bill.

The engine already records it: resources carry their creation time and body
(``minProvisionedTPS``, a solution version's ``trainingHours``); a deleted resource
leaves its lifetime and body in the store's ``ledger``; an import job keeps the bytes
it read (``_bytes``), a batch job the recommendations and users it wrote
(``_recommendations``, ``_users``, ``_lines``); SageMaker endpoints keep their
instances and lifetimes in the engine's :class:`~personakit.local.sagemaker.LocalModels`
(in memory: an endpoint of a closed engine is not there).

:func:`read_usage` returns them as a :class:`RunUsage`; pricing them is
:func:`personakit.cost.bill`'s job (this module knows no price).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from personakit.local.s3 import S3Objects

if TYPE_CHECKING:
    from personakit.local.sagemaker import LocalModels
    from personakit.local.store import Resource, Store

__all__ = ["BatchUse", "HourlyUse", "ImportUse", "RunUsage", "TrainingUse", "read_usage"]


@attrs.frozen(kw_only=True)
class ImportUse:
    """A dataset import job that succeeded, and the bytes of the CSV files it read."""

    arn: str
    bytes: int
    at: float


@attrs.frozen(kw_only=True)
class TrainingUse:
    """A trained solution version and the local engine's ``trainingHours`` (wall clock)."""

    arn: str
    recipe: str
    training_hours: float
    at: float


@attrs.frozen(kw_only=True)
class HourlyUse:
    """Something billed per hour while it exists: a campaign, a recommender, an endpoint.

    ``floor`` is the campaign's ``minProvisionedTPS``, the recommender's
    ``minRecommendationRequestsPerSecond`` or the endpoint's instance count;
    ``end`` is ``None`` while it still exists.
    """

    kind: str
    arn: str
    name: str
    start: float
    end: float | None
    floor: float
    instance_type: str | None = None

    def hours(self, now: float) -> float:
        """Hours from creation to deletion (or ``now``)."""
        return max(0.0, ((self.end if self.end is not None else now) - self.start) / 3600.0)


@attrs.frozen(kw_only=True)
class BatchUse:
    """A batch inference or segment job: the recommendations (or users) it wrote."""

    arn: str
    kind: str
    recommendations: int | None
    users: int | None
    lines: int | None
    num_results: int


@attrs.frozen(kw_only=True)
class RunUsage:
    """Everything a local workspace says was used, from ``since`` to ``taken_at``."""

    imports: tuple[ImportUse, ...] = ()
    trainings: tuple[TrainingUse, ...] = ()
    hourly: tuple[HourlyUse, ...] = ()
    batches: tuple[BatchUse, ...] = ()
    taken_at: float = 0.0
    since: float | None = None


def batch_output_usage(store: Store, job: Resource) -> dict[str, Any]:
    """Count what a batch job just wrote to its output prefix (the ``.out`` files).

    Returns the body changes ``_recommendations`` (items over all output lines),
    ``_users`` (users over all segments) and ``_lines``.
    """
    target = str(job.body["jobOutput"]["s3DataDestination"]["path"])
    bucket, _, prefix = target[len("s3://") :].partition("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    objects = S3Objects(store)
    recommendations = users = lines = 0
    for row in objects.keys(bucket, prefix):
        key = str(row["key"])
        if not key.endswith(".out") or float(row["last_modified"]) < job.created:
            continue
        with objects.open(row) as handle:
            for raw in handle:
                if not raw.strip():
                    continue
                line = json.loads(raw)
                lines += 1
                output = line.get("output") or {}
                recommendations += len(output.get("recommendedItems") or [])
                users += len(output.get("usersList") or [])
    return {"_recommendations": recommendations, "_users": users, "_lines": lines}


def _hourly(
    kind: str, arn: str, name: str, start: float, end: float | None, body: Mapping[str, Any]
) -> HourlyUse:
    if kind == "campaign":
        floor = float(body.get("minProvisionedTPS") or 1)
    else:
        config = body.get("recommenderConfig") or {}
        floor = float(config.get("minRecommendationRequestsPerSecond") or 1)
    return HourlyUse(kind=kind, arn=arn, name=name, start=start, end=end, floor=floor)


def _add(
    usage: dict[str, list[Any]],
    kind: str,
    arn: str,
    name: str,
    created: float,
    end: float | None,
    body: Mapping[str, Any],
) -> None:
    if kind == "dataset-import-job":
        if body.get("_bytes") is not None:  # kept when the import succeeded
            usage["imports"].append(ImportUse(arn=arn, bytes=int(body["_bytes"]), at=created))
    elif kind == "solution-version" and body.get("trainingHours") is not None:
        recipe = str(body.get("recipeArn") or "").rsplit("/", 1)[-1]
        usage["trainings"].append(
            TrainingUse(
                arn=arn, recipe=recipe, training_hours=float(body["trainingHours"]), at=created
            )
        )
    elif kind in ("campaign", "recommender"):
        usage["hourly"].append(_hourly(kind, arn, name, created, end, body))
    elif kind in ("batch-inference-job", "batch-segment-job") and "_lines" in body:
        usage["batches"].append(
            BatchUse(
                arn=arn,
                kind=kind,
                recommendations=int(body["_recommendations"]),
                users=int(body["_users"]),
                lines=int(body["_lines"]),
                num_results=int(body.get("numResults") or 0),
            )
        )


def _seconds(value: dt.datetime) -> float:
    return value.timestamp()


def read_usage(
    store: Store,
    llm: LocalModels | None = None,
    *,
    since: float | None = None,
    now: float | None = None,
) -> RunUsage:
    """What the workspace of ``store`` (and the endpoints of ``llm``) used.

    Args:
        store: The engine's store.
        llm: The engine's SageMaker registry, for endpoint instance-hours.
        since: Count only what was created at or after this time (epoch seconds).
        now: The end of what still exists (epoch seconds; the current time by default).
    """
    now = time.time() if now is None else now
    usage: dict[str, list[Any]] = {"imports": [], "trainings": [], "hourly": [], "batches": []}
    low = -1.0 if since is None else since
    with store.snapshot() as conn:
        live = conn.execute(
            "SELECT arn, kind, name, created, body, status FROM resources WHERE created >= ? "
            "ORDER BY created",
            (low,),
        ).fetchall()
        gone = conn.execute(
            "SELECT arn, kind, name, created, deleted, body FROM ledger WHERE created >= ? "
            "ORDER BY created",
            (low,),
        ).fetchall()
    # what is still there has no end yet (a resource being deleted bills until it is gone)
    ended = [(row, row["deleted"]) for row in gone] + [(row, None) for row in live]
    for row, deleted in ended:
        body = json.loads(row["body"])
        _add(usage, row["kind"], row["arn"], row["name"], row["created"], deleted, body)
    if llm is not None:
        with llm.lock:
            ended = list(llm.ended)
            ended += [
                llm.lifetime(endpoint, None)
                for endpoint in llm.endpoints.values()
                if endpoint.status != "Deleting"  # already in ``ended``
            ]
        for record in ended:
            start = _seconds(record["created"])
            if start < low:
                continue
            end_at = record["ended"]
            for instance_type, count in record["variants"]:
                usage["hourly"].append(
                    HourlyUse(
                        kind="endpoint",
                        arn=str(record["name"]),
                        name=str(record["name"]),
                        start=start,
                        end=None if end_at is None else _seconds(end_at),
                        floor=float(count),
                        instance_type=instance_type,
                    )
                )
    return RunUsage(
        imports=tuple(usage["imports"]),
        trainings=tuple(usage["trainings"]),
        hourly=tuple(usage["hourly"]),
        batches=tuple(usage["batches"]),
        taken_at=now,
        since=since,
    )
