"""The Personalize control plane of the local engine: the resource state machine.

:class:`ControlPlane` (one per engine) keeps every Personalize resource in the
engine's store and walks it through the real status strings in the engine's
background threads (each status lasts at least the engine's ``min_state_s``):

* dataset groups, datasets, solutions, campaigns, event trackers, filters:
  ``CREATE PENDING`` -> ``CREATE IN_PROGRESS`` -> ``ACTIVE``;
* import jobs, solution versions, recommenders, batch inference and batch segment
  jobs: the same, the work (:meth:`ControlPlane.work`) done in ``CREATE IN_PROGRESS``,
  ending ``ACTIVE`` or ``CREATE FAILED`` (with Personalize's ``failureReason``); a
  stopped solution version goes ``CREATE STOPPING`` -> ``CREATE STOPPED``
  (``CREATE PENDING`` -> ``CREATE STOPPED``);
* deletes: ``DELETE PENDING`` (-> ``DELETE IN_PROGRESS``) -> gone
  (``ResourceNotFoundException``); recommenders also ``STOP PENDING`` ->
  ``STOP IN_PROGRESS`` -> ``INACTIVE`` and ``START PENDING`` -> ``START IN_PROGRESS``
  -> ``ACTIVE``; updates walk the ``latest*Update`` status the same way and take
  effect when it reaches ``ACTIVE``
  (https://docs.aws.amazon.com/personalize/latest/dg/API_DescribeSolutionVersion.html and
  the other ``Describe*`` pages list each resource's statuses).

Crash recovery (a process killed while it owned background work): light walks
are resumed by the next engine; imports and training that had started
(``CREATE IN_PROGRESS``) are marked ``CREATE FAILED`` with a failureReason saying
the process died, because restarting a job that may have killed its process
could kill the next one too; jobs still ``CREATE PENDING`` are resumed.

The plane also holds what serving needs of the store: a dataset group's current
data (cached), the events recorded after a model was trained, the filters and the
trained models. What a heavy job does is :meth:`ControlPlane.work`, defined by
:class:`personakit.local.jobs.PersonalizeControlPlane`.
"""

from __future__ import annotations

import abc
import logging
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

import attrs

from personakit.local.data import GroupData, artifact_dir
from personakit.local.errors import (
    FilterUnusable,
    JobFailed,
    Stopped,
    exists,
    in_use,
    limit,
    not_found,
)
from personakit.local.store import TRANSITIONAL, Owner, Resource
from personakit.local.twin import Host
from personakit.rules.facts import DEFAULT_QUOTAS

if TYPE_CHECKING:
    from personakit.local.algorithms.base import Model
    from personakit.local.runner import ModelCache, Runner
    from personakit.local.store import Store

__all__ = [
    "ACTIVE_CAMPAIGN_LIMIT",
    "BATCH_JOB_LIMIT",
    "FILTER_LIMIT",
    "GONE",
    "IN_FLIGHT",
    "KINDS",
    "PENDING_IMPORT_LIMIT",
    "PENDING_VERSION_LIMIT",
    "RECOMMENDER_LIMIT",
    "ControlHost",
    "ControlPlane",
    "Engine",
    "Kind",
]

logger = logging.getLogger(__name__)

GONE: Final = "GONE"
#: The statuses of a resource still being created.
IN_FLIGHT: Final = ("CREATE PENDING", "CREATE IN_PROGRESS")
#: How long past its due time a walk's step may be before the engine restarts it.
STALL_S: Final = 1.0
#: The quotas the engine enforces, Personalize's defaults (rules.facts.DEFAULT_QUOTAS).
PENDING_IMPORT_LIMIT: Final = DEFAULT_QUOTAS["CreateDatasetImportJob"]
PENDING_VERSION_LIMIT: Final = DEFAULT_QUOTAS["CreateSolutionVersion"]
BATCH_JOB_LIMIT: Final = DEFAULT_QUOTAS["CreateBatchInferenceJob"]
ACTIVE_CAMPAIGN_LIMIT: Final = DEFAULT_QUOTAS["CreateCampaign"]
RECOMMENDER_LIMIT: Final = DEFAULT_QUOTAS["CreateRecommender"]
FILTER_LIMIT: Final = DEFAULT_QUOTAS["CreateFilter"]


class Engine(Host, Protocol):
    """What the control plane needs of its engine (a :class:`~personakit.local.LocalEngine`)."""

    @property
    def min_state_s(self) -> float:
        """Minimum seconds a resource spends in each status."""

    @property
    def closed(self) -> bool:
        """Whether the engine is closed (background work then stops)."""

    @property
    def runner(self) -> Runner:
        """The scheduler and worker threads."""

    @property
    def models(self) -> ModelCache:
        """The loaded models."""


class ControlHost(Host, Protocol):
    """An engine with a control plane: what the Personalize, runtime and events twins need."""

    @property
    def control(self) -> ControlPlane:
        """The engine's control plane."""


# --------------------------------------------------------------------------- kinds


@attrs.frozen
class Kind:
    """How one resource kind appears on the wire."""

    name: str  # "dataset-group" (the ARN's resource type)
    op: str  # "DatasetGroup" -> DescribeDatasetGroup, ListDatasetGroups
    arn_key: str  # "datasetGroupArn"
    describe_key: str  # "datasetGroup"
    list_key: str  # "datasetGroups"
    name_key: str = "name"
    heavy: bool = False  # work happens in CREATE IN_PROGRESS
    short_delete: bool = False  # DELETE PENDING -> gone


def _kind(
    name: str,
    op: str,
    *,
    list_key: str | None = None,
    name_key: str = "name",
    heavy: bool = False,
    short_delete: bool = False,
) -> Kind:
    lower = op[0].lower() + op[1:]
    return Kind(
        name, op, f"{lower}Arn", lower, list_key or f"{lower}s", name_key, heavy, short_delete
    )


KINDS: Final[dict[str, Kind]] = {
    k.name: k
    for k in (
        _kind("dataset-group", "DatasetGroup", short_delete=True),
        _kind("schema", "Schema"),
        _kind("dataset", "Dataset"),
        _kind("dataset-import-job", "DatasetImportJob", name_key="jobName", heavy=True),
        _kind("solution", "Solution"),
        _kind("solution-version", "SolutionVersion", heavy=True),
        _kind("campaign", "Campaign"),
        _kind("recommender", "Recommender", heavy=True),
        _kind("event-tracker", "EventTracker"),
        _kind("filter", "Filter", list_key="Filters", short_delete=True),
        _kind("batch-inference-job", "BatchInferenceJob", name_key="jobName", heavy=True),
        _kind("batch-segment-job", "BatchSegmentJob", name_key="jobName", heavy=True),
        _kind("metric-attribution", "MetricAttribution"),
    )
}
_WALK: Final[dict[str, str]] = {
    "CREATE PENDING": "CREATE IN_PROGRESS",
    "CREATE IN_PROGRESS": "ACTIVE",
    "CREATE STOPPING": "CREATE STOPPED",
    "DELETE PENDING": "DELETE IN_PROGRESS",
    "DELETE IN_PROGRESS": GONE,
    "STOP PENDING": "STOP IN_PROGRESS",
    "STOP IN_PROGRESS": "INACTIVE",
    "START PENDING": "START IN_PROGRESS",
    "START IN_PROGRESS": "ACTIVE",
}


class ControlPlane(abc.ABC):
    """The resource state machine of one engine, over its store; see the module docstring.

    Subclasses define :meth:`work`, what a heavy job does in ``CREATE IN_PROGRESS``.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store: Store = engine.store
        self.owner = engine.store.owner
        self.prefix = f"arn:aws:personalize:{engine.region}:{engine.account_id}"
        self._data: OrderedDict[str, tuple[Any, GroupData]] = OrderedDict()
        self._data_lock = threading.Lock()

    # ------------------------------------------------------------------ names and data
    def arn(self, kind: str, *parts: str) -> str:
        """The ARN of a resource of ``kind`` (``"dataset-group"``) in the engine's account."""
        return f"{self.prefix}:{kind}/{'/'.join(parts)}"

    def group_data(self, group: str) -> GroupData:
        """The current data of a dataset group, cached until an import, Put* or event."""
        version = self._data_version(group)
        with self._data_lock:
            hit = self._data.get(group)
            if hit is not None and hit[0] == version:
                self._data.move_to_end(group)
                return hit[1]
        # only events arrived (same datasets and records): keep the imported tables and
        # the indexes built on them; only the events part is read again
        bulk = hit[1].bulk if hit is not None and hit[0][:2] == version[:2] else None
        data = GroupData(self.store, group, bulk=bulk)
        with self._data_lock:
            self._data[group] = (version, data)
            while len(self._data) > 8:
                self._data.popitem(last=False)
        return data

    def _data_version(self, group: str) -> Any:
        with self.store.snapshot() as conn:
            datasets = conn.execute(
                "SELECT arn, status, updated FROM resources WHERE kind = 'dataset' AND parent = ?"
                " ORDER BY arn",
                (group,),
            ).fetchall()
            arns = [row["arn"] for row in datasets]
            marks = ", ".join("?" for _ in arns) or "''"
            records = conn.execute(
                f"SELECT dataset, COUNT(*), MAX(received) FROM records WHERE dataset IN ({marks})"
                " GROUP BY dataset ORDER BY dataset",
                arns,
            ).fetchall()
            last = conn.execute(
                "SELECT MAX(id) FROM events WHERE dataset_group = ?", (group,)
            ).fetchone()[0]
        return (
            tuple((r["arn"], r["status"], r["updated"]) for r in datasets),
            tuple(tuple(r) for r in records),
            last,
        )

    @property
    def min_state(self) -> float:
        return self.engine.min_state_s

    # ------------------------------------------------------------------ creating and owning
    def new(
        self,
        kind: str,
        arn: str,
        name: str,
        *,
        parent: str | None,
        body: dict[str, Any],
        tags: Sequence[Mapping[str, str]] = (),
        status: str | None = "CREATE PENDING",
        check: Callable[[], None] | None = None,
    ) -> Resource:
        """Insert a resource (after ``check``, in the same transaction) and start its walk."""
        now = time.time()
        res = Resource(
            arn=arn,
            kind=kind,
            name=name,
            status=status,
            parent=parent,
            created=now,
            updated=now,
            status_since=now,
            body={**body, "_id": uuid.uuid4().hex[:16]},
            tags=[dict(t) for t in tags],
        )
        self.own(res)
        with self.store.tx():
            if check is not None:
                check()
            if self.store.get(arn) is not None:
                raise exists(arn)
            self.store.insert(res)
        if status in TRANSITIONAL:
            self.schedule(arn)
        return res

    def own(self, res: Resource) -> None:
        res.owner = self.owner.token
        res.owner_pid = self.owner.pid
        res.owner_started = self.owner.started

    def set_status(self, res: Resource, status: str, *, reason: str | None = None) -> None:
        """Move ``res`` to ``status`` now (caller saves), owning it if it is transitional."""
        now = time.time()
        res.status = status
        res.status_since = now
        res.updated = now
        if reason is not None:
            res.failure_reason = reason
        if status in TRANSITIONAL:
            self.own(res)

    def update(self, res: Resource, changes: Mapping[str, Any]) -> None:
        """Begin and schedule an update walk (``latest*Update``); ``changes`` apply when
        it reaches ACTIVE."""
        now = time.time()
        with self.store.tx():
            res.body["_update"] = {
                "status": "CREATE PENDING",
                "since": now,
                "created": now,
                "updated": now,
                "changes": dict(changes),
            }
            res.sub_status = "CREATE PENDING"
            res.updated = now
            self.own(res)
            self.store.save(res)
        self.schedule(res.arn)

    def check_deletable(self, res: Resource, what: str) -> None:
        """Refuse to delete ``res`` (the ``what``) while it is changing status."""
        if res.status in ("DELETE PENDING", "DELETE IN_PROGRESS"):
            raise in_use(f"The {what} {res.arn} is already being deleted.")
        if res.status in TRANSITIONAL or res.sub_status in TRANSITIONAL:
            raise in_use(
                f"The {what} {res.arn} cannot be deleted while its status is "
                f"{res.sub_status if res.sub_status in TRANSITIONAL else res.status}."
            )

    def delete(self, arn: str) -> None:
        """Start the delete walk of ``arn``: ``DELETE PENDING`` (-> ``DELETE IN_PROGRESS``)
        -> gone."""
        with self.store.tx():
            fresh = self.store.get(arn)
            if fresh is None:
                raise not_found(arn)
            self.set_status(fresh, "DELETE PENDING")
            self.store.save(fresh)
        self.schedule(arn)

    def in_flight_limit(self, kind: str, most: int) -> Callable[[], None]:
        """A ``check`` for :meth:`new`: fewer than ``most`` resources of ``kind`` in
        ``CREATE PENDING`` or ``CREATE IN_PROGRESS``, else ``LimitExceededException``."""

        def check() -> None:
            if self.store.count(kind, statuses=IN_FLIGHT) >= most:
                raise limit(f"More than {most} resources with PENDING or IN_PROGRESS status.")

        return check

    def schedule(self, arn: str, delay: float | None = None) -> None:
        self.engine.runner.call_later(
            self.min_state if delay is None else delay, lambda: self.advance(arn)
        )

    # ------------------------------------------------------------------ the walk
    def advance(self, arn: str) -> None:
        """One step of ``arn``'s walk if it is due (scheduled; idempotent)."""
        if self.engine.closed:
            return
        again: float | None = None
        heavy = False
        cleanup: list[Path] = []
        with self.store.tx():
            res = self.store.get(arn)
            if res is None or res.owner != self.owner.token:
                return
            now = time.time()
            changed = False
            if res.sub_status in TRANSITIONAL:
                update = res.body["_update"]
                wait = update["since"] + self.min_state - now
                if wait > 0:
                    again = wait
                else:
                    nxt = _WALK[res.sub_status]
                    update.update(status=nxt, since=now, updated=now)
                    res.sub_status = nxt
                    if nxt == "ACTIVE":
                        self._apply_update(res, update["changes"])
                        res.updated = now
                    else:
                        again = self.min_state
                    changed = True
            if res.status in TRANSITIONAL:
                kind = KINDS[res.kind]
                wait = res.status_since + self.min_state - now
                if wait > 0:
                    again = wait if again is None else min(again, wait)
                elif not (kind.heavy and res.status == "CREATE IN_PROGRESS"):
                    nxt = _WALK[res.status]
                    if res.status == "DELETE PENDING" and kind.short_delete:
                        nxt = GONE
                    if nxt == GONE:
                        cleanup = self._remove(res)
                        changed = False
                        res = None
                    else:
                        self.set_status(res, nxt)
                        changed = True
                        if kind.heavy and nxt == "CREATE IN_PROGRESS":
                            heavy = True
                        elif nxt in TRANSITIONAL:
                            again = self.min_state if again is None else min(again, self.min_state)
            if res is not None and changed:
                self.store.save(res)
        for path in cleanup:
            shutil.rmtree(path, ignore_errors=True)
        if heavy:
            self.engine.runner.submit(lambda: self.run_job(arn))
        if again is not None:
            self.schedule(arn, again)

    def _apply_update(self, res: Resource, changes: Mapping[str, Any]) -> None:
        for key, value in changes.items():
            if key == "campaignConfig" and isinstance(value, Mapping):
                res.body["campaignConfig"] = {**res.body.get("campaignConfig", {}), **value}
            elif key == "recommenderConfig" and isinstance(value, Mapping):
                res.body["recommenderConfig"] = {**res.body.get("recommenderConfig", {}), **value}
            elif key == "solutionUpdateConfig" and isinstance(value, Mapping):
                config = res.body.setdefault("solutionConfig", {})
                config.update(value)
            else:
                res.body[key] = value

    def _remove(self, res: Resource) -> list[Path]:
        """Delete ``res`` and what goes with it (in the caller's transaction); paths to rm."""
        paths: list[Path] = []
        conn = self.store.conn()
        if res.kind == "dataset":
            paths.append(artifact_dir(self.store, res))
            for job in self.store.find("dataset-import-job", parent=res.arn):
                self.store.delete(job.arn)
            conn.execute("DELETE FROM records WHERE dataset = ?", (res.arn,))
        elif res.kind == "solution":
            for version in self.store.find("solution-version", parent=res.arn):
                paths.append(artifact_dir(self.store, version))
                self.store.delete(version.arn)
        elif res.kind == "recommender":
            paths.append(artifact_dir(self.store, res))
        elif res.kind == "dataset-group":
            conn.execute("DELETE FROM events WHERE dataset_group = ?", (res.arn,))
        self.store.delete(res.arn)
        return paths

    # ------------------------------------------------------------------ recovery
    def recover(self) -> None:
        """Take over (or fail) the background work of engines whose process died, and
        restart this engine's own walks whose next step was never scheduled (an
        interrupt between the commit of a status and its scheduling)."""
        if self.engine.closed:
            return
        rows = self.store.transitional()
        alive: dict[str | None, bool] = {self.owner.token: True}
        resume: list[str] = []
        now = time.time()
        for row in rows:
            if row.owner == self.owner.token:
                if self._stalled(row, now):
                    resume.append(row.arn)  # advance() is idempotent: a spare step is harmless
                continue
            if row.owner not in alive:
                alive[row.owner] = Owner.alive(self.store.root, row.owner)
            if alive[row.owner]:
                continue
            with self.store.tx():
                res = self.store.get(row.arn)
                if res is None or res.owner != row.owner:
                    continue
                kind = KINDS[res.kind]
                if kind.heavy and res.status == "CREATE IN_PROGRESS":
                    self.set_status(res, "CREATE FAILED", reason=self._died(res))
                elif res.status == "CREATE STOPPING":
                    self.set_status(res, "CREATE STOPPED")
                else:
                    self.own(res)
                    resume.append(res.arn)
                self.store.save(res)
            logger.warning(
                "personakit local engine: recovered %s left %s by dead process %s",
                row.arn,
                row.status if row.status in TRANSITIONAL else row.sub_status,
                row.owner_pid,
            )
        for arn in resume:
            self.schedule(arn, 0.0)

    def _stalled(self, res: Resource, now: float) -> bool:
        """Whether ``res``'s walk is overdue by a second (its step was never scheduled);
        a heavy job in ``CREATE IN_PROGRESS`` is busy, not stalled."""
        if KINDS[res.kind].heavy and res.status == "CREATE IN_PROGRESS":
            return False
        since = []
        if res.status in TRANSITIONAL:
            since.append(res.status_since)
        if res.sub_status in TRANSITIONAL:
            since.append(float(res.body["_update"]["since"]))
        return bool(since) and min(since) + self.min_state + STALL_S < now

    @staticmethod
    def _died(res: Resource) -> str:
        started = (
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(res.owner_started))
            if res.owner_started
            else "unknown time"
        )
        return (
            f"The personakit local engine process (pid {res.owner_pid}, started {started}) "
            "that was running this job ended before the job finished. Create it again."
        )

    def abandon_heavy_jobs(self) -> None:
        """At close: our imports and training in progress become CREATE FAILED."""
        for res in self.store.transitional():
            if res.owner != self.owner.token or not KINDS[res.kind].heavy:
                continue
            if res.status != "CREATE IN_PROGRESS":
                continue
            with self.store.tx():
                fresh = self.store.get(res.arn)
                if fresh is None or fresh.owner != self.owner.token:
                    continue
                if fresh.status == "CREATE IN_PROGRESS":
                    self.set_status(
                        fresh,
                        "CREATE FAILED",
                        reason="The personakit local engine was closed before this job finished. "
                        "Create it again.",
                    )
                    self.store.save(fresh)

    def sweep(self) -> None:
        """Remove files nothing refers to: temporaries of dead owners, failed models, stale data."""
        self.store.sweep_temporaries()
        Owner.sweep(self.store.root)
        by_id: dict[str, Resource] = {}
        for res in self.store.find():
            if "_id" in res.body:
                by_id[str(res.body["_id"])] = res
        for folder in ("datasets", "models"):
            base = self.store.artifacts / folder
            if not base.is_dir():
                continue
            for path in base.iterdir():
                if path.name.startswith("."):
                    continue
                owner = by_id.get(path.name)
                if owner is None or owner.status in ("CREATE FAILED", "CREATE STOPPED"):
                    shutil.rmtree(path, ignore_errors=True)
                elif owner.kind == "dataset":
                    self._sweep_dataset(owner, path, by_id)

    def _sweep_dataset(self, dataset: Resource, folder: Path, ids: Mapping[str, Resource]) -> None:
        current = (dataset.body.get("_data") or {}).get("file")
        for path in folder.glob("data-*.parquet"):
            if path.name == current:
                continue
            job = ids.get(path.stem.removeprefix("data-"))
            if job is not None and job.status in IN_FLIGHT:
                continue
            with suppress(OSError):
                path.unlink()

    # ------------------------------------------------------------------ heavy jobs
    @abc.abstractmethod
    def work(self, res: Resource) -> dict[str, Any] | None:
        """Do the work of the heavy job ``res``, which just entered ``CREATE IN_PROGRESS``.

        Returns:
            The changes to its body when it ends ``ACTIVE``, or None when the job
            ended itself (with :meth:`finish`).

        Raises:
            JobFailed: The job fails; the message is its ``failureReason``.
            Stopped: The job was stopped, deleted or taken over (see
                :meth:`check_running`).
        """

    def run_job(self, arn: str) -> None:
        """Run the work of a job that just entered CREATE IN_PROGRESS."""
        res = self.store.get(arn)
        if res is None or res.status != "CREATE IN_PROGRESS" or res.owner != self.owner.token:
            return
        try:
            changes = self.work(res)
        except JobFailed as exc:
            self.finish(arn, "CREATE FAILED", reason=str(exc))
            return
        except Stopped:
            return
        except Exception as exc:  # a bug or a bad hyperparameter: fail the job, say why
            if self.engine.closed:  # the engine closed under the job: nothing to report to
                return
            logger.exception("personakit local engine: %s failed", arn)
            self.finish(arn, "CREATE FAILED", reason=f"{type(exc).__name__}: {exc}")
            return
        if changes is None:
            return
        if not self.finish(arn, "ACTIVE", body=changes) and not self.engine.closed:
            # stopped, deleted or failed meanwhile: the model it saved serves nothing
            fresh = self.store.get(arn)
            if fresh is None or fresh.status != "ACTIVE":
                shutil.rmtree(artifact_dir(self.store, res), ignore_errors=True)

    def finish(
        self,
        arn: str,
        status: str,
        *,
        reason: str | None = None,
        body: Mapping[str, Any] | None = None,
        also: Callable[[Resource], bool] | None = None,
    ) -> bool:
        """End a job: after its minimum time in CREATE IN_PROGRESS, if still ours and running.

        ``also`` runs in the same transaction (return False to abort); False is
        returned if the job was stopped, recovered or deleted meanwhile.
        """
        if self.engine.closed:
            return False
        res = self.store.get(arn)
        if res is None:
            return False
        stopping = self.engine.runner.sleep(res.status_since + self.min_state - time.time())
        if stopping or self.engine.runner.stopping:
            return False
        with self.store.tx():
            res = self.store.get(arn)
            if res is None or res.status != "CREATE IN_PROGRESS" or res.owner != self.owner.token:
                return False
            if also is not None and not also(res):
                return False
            res.body.update(body or {})
            self.set_status(res, status, reason=reason)
            self.store.save(res)
        return True

    def check_running(self, arn: str) -> None:
        """Raise :class:`~personakit.local.errors.Stopped` unless the job ``arn`` still
        runs here (a long job asks between its steps)."""
        res = self.store.get(arn)
        if (
            self.engine.closed
            or res is None
            or res.status != "CREATE IN_PROGRESS"
            or res.owner != self.owner.token
        ):
            raise Stopped

    def model(self, res: Resource) -> Model:
        """The model a solution version or a recommender trained (loaded once, cached)."""
        return self.engine.models.get(artifact_dir(self.store, res))

    # ------------------------------------------------------------------ serving (runtime, batch)
    def recorded_history(
        self, owner: Resource, *, user: str | None = None
    ) -> dict[str, list[tuple[str, int]]]:
        """Events recorded after ``owner`` was trained, as ``{user: [(item, sent_at), ...]}``.

        The history a model is handed at serving time (GetRecommendations,
        GetPersonalizedRanking, batch inference): the dataset group's events past the
        training cutoff, kept by the solution's ``eventType`` and
        ``eventValueThreshold`` as training kept them, events without an item left
        out, oldest first. Anonymous events count for their session id.

        Args:
            owner: The solution version or recommender whose model serves.
            user: Only this user's events (and anonymous events of that session id).
        """
        cutoff = int(owner.body.get("_cutoff") or 0)
        event_type = owner.body.get("eventType")
        threshold = (owner.body.get("solutionConfig") or {}).get("eventValueThreshold")
        group = str(owner.body["datasetGroupArn"])
        out: dict[str, list[tuple[str, int]]] = {}
        for ev in self.store.events(group, after=cutoff, user=user):
            if not ev["item_id"]:
                continue
            if event_type and ev["event_type"] != event_type:
                continue
            if threshold not in (None, "") and (
                ev["event_value"] is None or ev["event_value"] < float(threshold)
            ):
                continue
            who = ev["user_id"] if ev["user_id"] is not None else ev["session_id"]
            out.setdefault(str(who), []).append((str(ev["item_id"]), int(ev["sent_at"])))
        return out

    def resolve_filter(self, arn: str, group: str) -> str:
        """The expression of the filter ``arn``, checked usable for dataset group ``group``.

        Raises:
            FilterUnusable: The filter does not exist, is not ACTIVE, or belongs to
                another dataset group (``reason`` says which).
        """
        res = self.store.get(arn)
        if res is None or res.kind != "filter":
            raise FilterUnusable(arn, "missing")
        if res.status != "ACTIVE":
            raise FilterUnusable(arn, "inactive", res.status)
        if res.body.get("datasetGroupArn") != group:
            raise FilterUnusable(arn, "foreign", res.status)
        return str(res.body["filterExpression"])
