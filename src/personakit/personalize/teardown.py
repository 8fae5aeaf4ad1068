"""Teardown: a stack of what a run created, deleted in Personalize's dependency order.

Each :class:`Entry` has its delete call, its ``Describe*`` and its rank in the order
(each ``Delete*`` page names what must go first, e.g.
https://docs.aws.amazon.com/personalize/latest/dg/API_DeleteDatasetGroup.html)::

    0  stop in-progress training; let import and batch jobs settle (they cannot be deleted)
    1  campaigns, recommenders
    2  solutions (with all their versions)
    3  event trackers
    4  filters, metric attributions
    5  datasets
    6  the dataset group
    7  schemas personakit created
    8  objects personakit uploaded to S3

:meth:`Teardown.run` deletes rank by rank (within a rank, newest first; deletes of one
rank are issued together, then waited for until ``Describe*`` raises
``ResourceNotFoundException``), retries ``ResourceInUseException`` while dependents are
still deleting (bounded by ``Timing.in_use_timeout_s``), is idempotent, and deletes
only what this run created unless asked otherwise. :func:`wait_or_teardown` (a failed
or interrupted wait deletes what was just created) and :func:`exit_scope` (a ``with``
block's exit) run it on every error path, Ctrl-C included.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

import attrs
from botocore.exceptions import ClientError

from personakit.aws.context import Ctx
from personakit.aws.paging import s3_objects
from personakit.aws.retry import error_code
from personakit.aws.wait import (
    PERSONALIZE_SETTLED,
    normalize_status,
    personalize_not_found,
    personalize_resource,
)
from personakit.errors import TeardownError
from personakit.rules.display import Display, html_table, short_repr
from personakit.rules.facts import KEEP_TAG, RUN_TAG

if TYPE_CHECKING:
    from mypy_boto3_personalize.type_defs import TagTypeDef


__all__ = [
    "KINDS",
    "SETTLED",
    "Entry",
    "Kind",
    "Teardown",
    "TeardownReport",
    "delete_prefix",
    "exit_scope",
    "in_flight",
    "run_guarded",
    "wait_or_teardown",
]

logger = logging.getLogger(__name__)

#: Statuses after which nothing is in flight (or a delete already is): safe to delete.
SETTLED = attrs.evolve(
    PERSONALIZE_SETTLED,
    name="personalize-settled",
    ok={
        "ACTIVE",
        "INACTIVE",
        "COMPLETED",
        "FAILED",
        "CREATE FAILED",
        "CREATE STOPPED",
        "UPDATE FAILED",
        "DELETE FAILED",
        "DELETE PENDING",
        "DELETE IN_PROGRESS",
    },
    gone=personalize_not_found,
)

_IN_FLIGHT = re.compile(r"(PENDING|IN PROGRESS|STOPPING)$")


def in_flight(status: str | None) -> bool:
    """Whether a status is transitional (``CREATE PENDING``, ``UPDATE IN_PROGRESS``, ...)."""
    return status is not None and bool(_IN_FLIGHT.search(normalize_status(status)))


def _deleting(status: str | None) -> bool:
    return status is not None and normalize_status(status).startswith("DELETE")


# --------------------------------------------------------------------------- kinds


Action = Literal["delete", "stop", "settle", "s3"]


@attrs.frozen
class Kind:
    """A resource type personakit can tear down.

    Attributes:
        name: ``"campaign"``, ``"solution"``, ...
        rank: Position in the teardown order, lowest first.
        describe: The ``personalize`` client method that describes one.
        arn_param: Its ARN parameter name (``"campaignArn"``).
        delete: The delete method, or ``None`` for jobs (stopped or settled instead).
        action: ``"delete"``; ``"stop"`` (stop if in progress, then settle);
            ``"settle"`` (wait until not in progress); ``"s3"`` (an uploaded object,
            or every object under a prefix: ``s3_prefix``).
        billable: Bills while it exists (campaigns, recommenders, training).
        in_use_ok: A delete refused with ``ResourceInUseException`` once everything
            of lower rank is gone means someone else uses it: leave it, warn
            (schemas shared with other dataset groups).
    """

    name: str
    rank: int
    describe: str
    arn_param: str
    delete: str | None = None
    action: Action = "delete"
    billable: bool = False
    in_use_ok: bool = False


KINDS: Mapping[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "solution_version",
            0,
            "describe_solution_version",
            "solutionVersionArn",
            action="stop",
            billable=True,
        ),
        Kind(
            "dataset_import_job",
            0,
            "describe_dataset_import_job",
            "datasetImportJobArn",
            action="settle",
        ),
        Kind(
            "batch_inference_job",
            0,
            "describe_batch_inference_job",
            "batchInferenceJobArn",
            action="settle",
        ),
        Kind(
            "batch_segment_job",
            0,
            "describe_batch_segment_job",
            "batchSegmentJobArn",
            action="settle",
        ),
        Kind(
            "campaign",
            1,
            "describe_campaign",
            "campaignArn",
            "delete_campaign",
            billable=True,
        ),
        Kind(
            "recommender",
            1,
            "describe_recommender",
            "recommenderArn",
            "delete_recommender",
            billable=True,
        ),
        Kind("solution", 2, "describe_solution", "solutionArn", "delete_solution", billable=True),
        Kind(
            "event_tracker",
            3,
            "describe_event_tracker",
            "eventTrackerArn",
            "delete_event_tracker",
        ),
        Kind("filter", 4, "describe_filter", "filterArn", "delete_filter"),
        Kind(
            "metric_attribution",
            4,
            "describe_metric_attribution",
            "metricAttributionArn",
            "delete_metric_attribution",
        ),
        Kind("dataset", 5, "describe_dataset", "datasetArn", "delete_dataset"),
        Kind(
            "dataset_group",
            6,
            "describe_dataset_group",
            "datasetGroupArn",
            "delete_dataset_group",
        ),
        Kind("schema", 7, "describe_schema", "schemaArn", "delete_schema", in_use_ok=True),
        Kind("s3_object", 8, "head_object", "Key", "delete_object", action="s3"),
        Kind("s3_prefix", 8, "list_objects_v2", "Prefix", "delete_objects", action="s3"),
    )
}

#: Kinds that go with the dataset group's data: kept whenever the group is kept.
_DATA_KINDS = frozenset(
    {
        "dataset_import_job",
        "event_tracker",
        "filter",
        "metric_attribution",
        "dataset",
        "schema",
        "s3_object",
        "s3_prefix",
    }
)

State = Literal["live", "settled", "deleting", "gone", "left"]


@attrs.define(eq=False)
class Entry:
    """One resource on the teardown stack.

    Attributes:
        kind: Its :class:`Kind`.
        arn: Its ARN (for ``s3_object``: ``s3://bucket/key``).
        owned: Created by this run (deleted at teardown) or adopted (kept).
        parent: The entry it depends on (a campaign's solution, a solution's group);
            tearing down a parent tears down its children first.
        keep: Keep it, and what it needs, at teardown.
        state: ``"live"``; ``"settled"`` (a job known to be finished); ``"deleting"``
            (the delete was accepted, not yet confirmed); ``"gone"``;
            ``"left"`` (could not be deleted because something else uses it).
        seq: Registration order.
        deadline: When this run gives up on removing it (the session clock's seconds):
            ``Timing.delete_timeout_s`` after the run first acts on it; ``None`` before.
    """

    kind: Kind
    arn: str
    owned: bool = True
    parent: Entry | None = None
    keep: bool = False
    state: State = "live"
    seq: int = 0
    label: str = ""
    deadline: float | None = None

    def ancestors(self) -> Iterator[Entry]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def under(self, scope: Entry) -> bool:
        return self is scope or any(a is scope for a in self.ancestors())

    @property
    def name(self) -> str:
        return self.label or self.arn.rsplit("/", 1)[-1]


@attrs.frozen
class TeardownReport(Display):
    """What one :meth:`Teardown.run` did.

    Attributes:
        deleted: ARNs (``s3://`` URIs for objects) deleted and confirmed gone.
        kept: Kept: adopted, or asked for with ``keep``.
        left: Could not be deleted (something else still uses them).
    """

    deleted: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    left: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line: how many were deleted, kept and left."""
        return (
            f"teardown: {len(self.deleted)} deleted, {len(self.kept)} kept, {len(self.left)} left"
        )

    def _rows(self) -> list[tuple[str, str]]:
        return [
            *(("deleted", arn) for arn in self.deleted),
            *(("kept", arn) for arn in self.kept),
            *(("left", arn) for arn in self.left),
        ]

    def __str__(self) -> str:
        return "\n".join([self.summary(), *(f"  {what:<8} {arn}" for what, arn in self._rows())])

    def __repr__(self) -> str:
        return short_repr(self, deleted=len(self.deleted), kept=len(self.kept), left=len(self.left))

    def _repr_html_(self) -> str:
        return html_table(("outcome", "resource"), self._rows(), title=self.summary())


class Teardown:
    """The stack of resources one dataset group (and what hangs off it) created.

    Args:
        ctx: Where calls and waits go.
        keep: Keep everything (``DatasetGroup.create(keep=True)``).
    """

    #: Kinds Personalize's ``TagResource`` accepts (schemas, metric attributions and
    #: S3 objects have no tags; jobs are never swept on their own).
    TAGGABLE = frozenset(
        {
            "dataset_group",
            "dataset",
            "solution",
            "campaign",
            "recommender",
            "event_tracker",
            "filter",
        }
    )

    def __init__(self, ctx: Ctx, *, keep: bool = False) -> None:
        self.ctx = ctx
        self.keep = keep
        self.entries: list[Entry] = []
        self._seq = 0
        self._running = False
        self._marked: set[str] = set()

    # ------------------------------------------------------------------ registry

    def add(
        self,
        kind: str,
        arn: str,
        *,
        owned: bool = True,
        parent: Entry | None = None,
        keep: bool = False,
        label: str = "",
    ) -> Entry:
        """Register a resource (a second registration of the same ARN returns the first).

        What teardown would keep from now on (``keep`` here or on the stack, and what
        a kept resource needs) is tagged ``personakit:keep=true`` at once, not when
        the teardown runs: a sweep after a crash must spare it too. A resource whose
        ``Create*`` already carried the tag is named with :meth:`keep_tagged` first.
        """
        found = self.find(arn)
        if found is not None and found.state not in ("gone",):
            if keep and not found.keep:
                found.keep = True
                self._tag_kept()
            return found
        self._seq += 1
        entry = Entry(KINDS[kind], arn, owned, parent, keep, "live", self._seq, label)
        self.entries.append(entry)
        logger.debug("registered %s %s (owned=%s)", kind, arn, owned)
        self._tag_kept()
        return entry

    def keep_tagged(self, arn: str) -> None:
        """Note that ``arn`` was created carrying ``personakit:keep=true`` (no tagging needed)."""
        self._marked.add(arn)

    def _tag_kept(self) -> None:
        """Tag ``personakit:keep=true`` on what teardown would keep now and is not tagged yet."""
        live = ("live", "settled", "deleting")
        if self.keep:
            kept = [
                e for e in self.entries if e.owned and e.state in live and e.kind.action != "settle"
            ]
        elif any(e.keep for e in self.entries):
            ids = self._kept(self.entries)
            kept = [e for e in self.entries if id(e) in ids and e.owned and e.state in live]
        else:
            return
        self._mark_kept(kept)

    def find(self, arn: str) -> Entry | None:
        """The live entry of ``arn``, if any."""
        for entry in reversed(self.entries):
            if entry.arn == arn:
                return entry
        return None

    def pending(self) -> list[Entry]:
        """Entries teardown would still act on (owned, not gone)."""
        return [e for e in self.entries if e.owned and e.state in ("live", "settled", "deleting")]

    # ------------------------------------------------------------------ run

    def _kept(self, entries: Iterable[Entry]) -> set[int]:
        kept: set[int] = set()
        for entry in entries:
            if entry.keep:
                kept.add(id(entry))
                kept.update(id(a) for a in entry.ancestors())
        groups = [e for e in self.entries if e.kind.name == "dataset_group" and id(e) in kept]
        for entry in self.entries:
            if entry.kind.name in _DATA_KINDS and any(entry.under(g) for g in groups):
                kept.add(id(entry))
            elif entry.kind.rank == 0 and entry.parent is not None and id(entry.parent) in kept:
                kept.add(id(entry))  # training of a kept solution goes on
        return kept

    def run(
        self, scope: Entry | None = None, *, delete_adopted: bool = False, force: bool = False
    ) -> TeardownReport:
        """Delete what this run created, in dependency order, and wait until it is gone.

        Args:
            scope: Only this entry and what depends on it (e.g. one campaign).
            delete_adopted: Delete adopted resources too.
            force: Ignore ``keep`` (an explicit ``delete()``).

        Raises:
            TeardownError: Something could not be deleted (the rest was still tried).
        """
        if self._running:
            return TeardownReport()
        self._running = True
        for entry in self.entries:  # each run has its own deadlines; a resumed one keeps them
            entry.deadline = None
        deferred: KeyboardInterrupt | None = None
        try:
            while True:
                try:
                    report = self._run(scope, delete_adopted, force)
                    break
                except KeyboardInterrupt:
                    if deferred is not None:  # the second Ctrl-C: stop, say what is left
                        self._abandon(scope)
                        raise
                    logger.warning(
                        "Ctrl-C during teardown: finishing it first, so nothing is left "
                        "billing (press Ctrl-C again to stop now)",
                        extra={"event": "personakit.teardown.interrupt_deferred"},
                    )
                    deferred = KeyboardInterrupt()  # the run resumes where it stopped
        finally:
            self._running = False
        if deferred is not None:
            raise deferred
        return report

    def leftovers(self, scope: Entry | None = None) -> list[Entry]:
        """What this run created (in ``scope``) that is not gone yet."""
        return [
            e
            for e in self.entries
            if (scope is None or e.under(scope)) and e.owned and e.state not in ("gone", "left")
        ]

    def sweep_command(self) -> str:
        """The command that finds and deletes what this run left."""
        return self.ctx.session.sweep_command()  # --region, or --workspace when local

    def _abandon(self, scope: Entry | None) -> None:
        left = self.leftovers(scope)
        arns = tuple(e.arn for e in left)
        logger.error(
            "teardown stopped by a second Ctrl-C; %d resource(s) left: %s. Delete them with: %s",
            len(arns),
            ", ".join(arns) or "none",
            self.sweep_command(),
            extra={"event": "personakit.teardown.abandoned", "arns": arns},
        )
        if arns:  # also where a person at a terminal sees it, whatever logging says
            print(
                f"personakit: teardown stopped; {len(arns)} resource(s) left "
                f"(some may bill by the hour). Delete them with:\n  {self.sweep_command()}",
                file=sys.stderr,
            )

    def _run(self, scope: Entry | None, delete_adopted: bool, force: bool) -> TeardownReport:
        in_scope = [e for e in self.entries if scope is None or e.under(scope)]
        live = [e for e in in_scope if e.state in ("live", "settled", "deleting")]
        if self.keep and not force:
            kept_all = tuple(e.arn for e in live if e.owned and e.kind.action != "settle")
            if kept_all:
                logger.warning(
                    "keep=True: leaving %d resource(s) (tag %s=%s): %s",
                    len(kept_all),
                    RUN_TAG,
                    self.ctx.session.run_id,
                    ", ".join(kept_all),
                    extra={"event": "personakit.teardown.kept", "arns": kept_all},
                )
            self._mark_kept(e for e in live if e.owned and e.kind.action != "settle")
            return TeardownReport(kept=kept_all)
        kept_ids = set() if force else self._kept(self.entries)
        kept = tuple(e.arn for e in live if id(e) in kept_ids and e.owned)
        # what a kept entry needs is kept at every later run too: mark it now, in scope or not
        self._mark_kept(
            e
            for e in self.entries
            if id(e) in kept_ids and e.owned and e.state in ("live", "settled", "deleting")
        )
        targets = [e for e in live if id(e) not in kept_ids and (e.owned or delete_adopted)]
        if kept:
            logger.warning(
                "keep=True: leaving %s and what it needs: %s",
                ", ".join(e.arn for e in live if e.keep),
                ", ".join(kept),
                extra={"event": "personakit.teardown.kept", "arns": kept},
            )
        errors: list[tuple[str, BaseException]] = []
        deleted: list[str] = []
        left: list[str] = []
        for rank in sorted({e.kind.rank for e in targets}):
            batch = sorted((e for e in targets if e.kind.rank == rank), key=lambda e: -e.seq)
            waiting: list[Entry] = []
            for entry in batch:
                try:
                    if self._start(entry, fail_fast=bool(errors)):
                        waiting.append(entry)
                except Exception as exc:
                    self._failed(entry, exc, errors)
            for entry in waiting:
                try:
                    self._wait_gone(entry)
                except Exception as exc:
                    self._failed(entry, exc, errors)
            for entry in batch:
                if entry.state == "gone":
                    deleted.append(entry.arn)
                elif entry.state == "left":
                    left.append(entry.arn)
        if errors:
            leftovers = [
                e.arn
                for e in targets
                if e.state in ("live", "deleting") and e.kind.action not in ("settle", "stop")
            ]
            raise TeardownError(errors, leftovers)
        if deleted:
            logger.info(
                "teardown: deleted %d resource(s)",
                len(deleted),
                extra={"event": "personakit.teardown.done", "arns": tuple(deleted)},
            )
        return TeardownReport(tuple(deleted), kept, tuple(left))

    def _mark_kept(self, entries: Iterable[Entry]) -> None:
        """Tag kept entries ``personakit:keep=true`` so a sweep spares them; best effort.

        A resource that cannot be tagged (permissions, throttling beyond the retries) is
        logged at WARNING and left as it is: keeping it matters more than the tag.
        """
        tags: list[TagTypeDef] = [{"tagKey": KEEP_TAG, "tagValue": "true"}]
        for entry in entries:
            if entry.kind.name not in self.TAGGABLE or entry.arn in self._marked:
                continue
            try:
                self.ctx.call(self.ctx.personalize.tag_resource, resourceArn=entry.arn, tags=tags)
            except Exception as exc:
                logger.warning(
                    "keep=True: could not tag %s %s=true (a sweep may delete it): %s",
                    entry.arn,
                    KEEP_TAG,
                    exc,
                    extra={"event": "personakit.teardown.keep_tag_failed", "arn": entry.arn},
                )
                continue
            self._marked.add(entry.arn)
            logger.debug("tagged %s %s=true", entry.arn, KEEP_TAG)

    @staticmethod
    def _failed(entry: Entry, exc: Exception, errors: list[tuple[str, BaseException]]) -> None:
        logger.error(
            "teardown: could not remove %s: %s",
            entry.arn,
            exc,
            extra={"event": "personakit.teardown.failed", "arn": entry.arn},
        )
        errors.append((entry.arn, exc))

    # ------------------------------------------------------------------ steps

    def _left(self, entry: Entry, until: float | None = None) -> float:
        """Seconds left before ``entry``'s deadline (which starts now if it has none),
        or before ``until`` if that is sooner.

        Every call and wait about one resource in a teardown is clamped to this, its
        retries and nested waits included, so none outlives ``Timing.delete_timeout_s``.
        """
        clock = self.ctx.timing.clock
        if entry.deadline is None:
            entry.deadline = clock() + self.ctx.timing.delete_timeout_s
        end = entry.deadline if until is None else min(entry.deadline, until)
        return max(end - clock(), 0.0)

    def _call(
        self, entry: Entry, fn: Callable[..., Any], /, until: float | None = None, **kwargs: Any
    ) -> Any:
        """``fn(**kwargs)`` through the retrier, its deadlines clamped to :meth:`_left`."""
        return self.ctx.retrier.with_deadline(self._left(entry, until)).call(fn, **kwargs)

    def _describe(self, entry: Entry) -> Callable[[], Mapping[str, Any]]:
        fn = getattr(self.ctx.personalize, entry.kind.describe)
        params = {entry.kind.arn_param: entry.arn}
        return lambda: fn(**params)

    def _status(self, entry: Entry, until: float | None = None) -> str | None:
        """The current status, or ``None`` when the resource is gone."""
        try:
            response = self._call(entry, self._describe(entry), until)
        except ClientError as exc:
            if personalize_not_found(exc):
                entry.state = "gone"
                return None
            raise
        status = personalize_resource(response).get("status")
        return "ACTIVE" if status is None else str(status)  # schemas have no status

    def _settle(self, entry: Entry) -> None:
        """Wait until nothing is in flight on ``entry`` (or it is gone)."""
        logger.info("teardown: waiting for %s to settle", entry.name)
        result = self.ctx.wait(
            self._describe(entry),
            arn=entry.arn,
            timeout_s=self._left(entry),
            spec=SETTLED,
            label=entry.name,
        )
        if result.outcome == "gone":
            entry.state = "gone"

    def stop_version(self, arn: str, entry: Entry | None = None) -> None:
        """``StopSolutionVersionCreation``, tolerating a version that just finished
        (within ``entry``'s deadline when given)."""
        logger.warning(
            "teardown: stopping training %s (billed for the hours used so far)",
            arn,
            extra={"event": "personakit.teardown.stop", "arn": arn},
        )
        stop = self.ctx.personalize.stop_solution_version_creation
        try:
            if entry is None:
                self.ctx.call(stop, solutionVersionArn=arn)
            else:
                self._call(entry, stop, solutionVersionArn=arn)
        except ClientError as exc:
            # it finished, failed or was deleted between the describe and the stop
            if error_code(exc) not in (
                "ResourceInUseException",
                "InvalidInputException",
                "ResourceNotFoundException",
            ):
                raise
            logger.info("stopping %s: %s", arn, exc)

    def _start(self, entry: Entry, *, fail_fast: bool) -> bool:
        """Stop, settle or issue the delete of ``entry``; True when a delete is to be awaited."""
        action = entry.kind.action
        if action == "s3":
            self._delete_s3(entry)
            return False
        if action in ("stop", "settle"):
            if entry.state == "settled":
                return False
            status = self._status(entry)
            if status is None:
                return False
            if action == "stop" and in_flight(status) and "STOPPING" not in status.upper():
                self.stop_version(entry.arn, entry)
            if in_flight(status):
                self._settle(entry)
            if entry.state != "gone":
                entry.state = "settled"
            return False
        if entry.state == "deleting":
            return True  # an interrupted teardown: the delete was accepted, wait for it
        return self._delete(entry, fail_fast=fail_fast)

    def _delete(self, entry: Entry, *, fail_fast: bool) -> bool:
        kind = entry.kind
        assert kind.delete is not None
        delete = getattr(self.ctx.personalize, kind.delete)
        clock = self.ctx.timing.clock
        in_use_s = 0.0 if fail_fast else min(self.ctx.timing.in_use_timeout_s, self._left(entry))
        deadline = clock() + in_use_s
        until: float | None = None  # once refused as in use, calls end by that deadline too
        attempt = 0
        while True:
            try:
                self._call(entry, delete, until, **{kind.arn_param: entry.arn})
            except ClientError as exc:
                code = error_code(exc)
                if code == "ResourceNotFoundException":
                    entry.state = "gone"
                    return False
                if code != "ResourceInUseException":
                    raise
                until = deadline
                status = self._status(entry, until)
                if status is None:
                    return False
                if _deleting(status):
                    entry.state = "deleting"
                    return True  # a delete is already under way
                self._unblock(entry)
                if in_flight(status):
                    self._settle(entry)
                    if entry.state == "gone":
                        return False
                    continue
                attempt += 1
                if clock() >= deadline:
                    if kind.in_use_ok:
                        logger.warning(
                            "teardown: %s is still in use by something else; leaving it",
                            entry.arn,
                            extra={"event": "personakit.teardown.left", "arn": entry.arn},
                        )
                        entry.state = "left"
                        return False
                    raise
                pause = min(
                    self.ctx.timing.max_poll_s,
                    self.ctx.timing.poll_s * self.ctx.timing.backoff ** (attempt - 1),
                    max(deadline - clock(), 0.0),
                )
                logger.warning(
                    "teardown: %s is in use (%s); retrying the delete in %.0fs",
                    entry.name,
                    status,
                    pause,
                    extra={"event": "personakit.teardown.in_use", "arn": entry.arn},
                )
                self.ctx.timing.sleep(pause)
                continue
            logger.info("teardown: deleting %s %s", kind.name.replace("_", " "), entry.arn)
            entry.state = "deleting"
            return True

    def _unblock(self, entry: Entry) -> None:
        """Remove what keeps ``entry`` in use that personakit did not register."""
        personalize = self.ctx.personalize
        if entry.kind.name == "solution":
            # versions created by auto-training are not on the stack
            versions = self._call(
                entry, personalize.list_solution_versions, solutionArn=entry.arn, maxResults=100
            ).get("solutionVersions", [])
            for summary in versions:
                status = str(summary.get("status", ""))
                arn = str(summary["solutionVersionArn"])
                if not in_flight(status):
                    continue
                if "STOPPING" not in status.upper():
                    self.stop_version(arn, entry)
                self.ctx.wait(
                    functools.partial(
                        personalize.describe_solution_version, solutionVersionArn=arn
                    ),
                    arn=arn,
                    timeout_s=self._left(entry),
                    spec=SETTLED,
                )

    def _wait_gone(self, entry: Entry) -> None:
        self.ctx.wait_gone(
            self._describe(entry), arn=entry.arn, timeout_s=self._left(entry), label=entry.name
        )
        entry.state = "gone"
        logger.info("teardown: %s is gone", entry.name)

    def _delete_s3(self, entry: Entry) -> None:
        # S3 is called directly: its client keeps botocore's retries (session.SELF_RETRIED);
        # personakit's retrier on top would multiply the attempts.
        bucket, _, key = entry.arn[len("s3://") :].partition("/")
        s3 = self.ctx.session.client("s3")
        if entry.kind.name == "s3_prefix":
            count = delete_prefix(s3, bucket, key)
            logger.info("teardown: deleted %d object(s) under %s", count, entry.arn)
        else:
            s3.delete_object(Bucket=bucket, Key=key)
            logger.info("teardown: deleted %s", entry.arn)
        entry.state = "gone"


#: Keys per ``DeleteObjects`` request (the API's limit).
MAX_DELETE_KEYS = 1000


def delete_prefix(s3: Any, bucket: str, prefix: str) -> int:
    """Delete every object under ``prefix`` (``ListObjectsV2`` + ``DeleteObjects``, paginated).

    Returns the number of objects deleted; an empty prefix is not an error, so a
    second call deletes nothing.

    Raises:
        TeardownError: ``DeleteObjects`` reported keys it could not delete.
        ValueError: ``prefix`` is empty (that would be the whole bucket).
    """
    if not prefix:
        raise ValueError(f"refusing to delete every object of the bucket {bucket!r}")
    deleted = 0
    objects = s3_objects(s3, bucket, prefix, page_size=MAX_DELETE_KEYS)
    while True:  # a page at a time: S3 lists on after the last key, so deleting is safe
        keys = [{"Key": str(o["Key"])} for o in itertools.islice(objects, MAX_DELETE_KEYS)]
        if not keys:
            return deleted
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        failed = answer.get("Errors") or []
        if failed:
            raise TeardownError(
                [
                    (
                        f"s3://{bucket}/{f.get('Key')}",
                        RuntimeError(f"{f.get('Code')}: {f.get('Message')}"),
                    )
                    for f in failed[:5]
                ],
                [f"s3://{bucket}/{f.get('Key')}" for f in failed],
            )
        deleted += len(keys)


def exit_scope(teardown: Teardown, scope: Entry, error: BaseException | None) -> None:
    """What a resource's ``__exit__`` does: tear ``scope`` down; after an error, guarded."""
    if error is None:
        teardown.run(scope)
    else:
        run_guarded(teardown, scope, error)


def wait_or_teardown(teardown: Teardown, scope: Entry, fn: Callable[[], object]) -> None:
    """Call ``fn`` (a wait); if it raises anything, tear ``scope`` down, guarded, and re-raise.

    What a create does after registering what it made: a failed or interrupted wait
    (``KeyboardInterrupt`` included) deletes it before the error propagates.
    """
    try:
        fn()
    except BaseException as exc:
        run_guarded(teardown, scope, exc)
        raise


def run_guarded(teardown: Teardown, scope: Entry | None, error: BaseException) -> None:
    """Tear down ``scope`` after ``error``; a teardown failure is logged, not raised.

    The original error is what the caller re-raises; a teardown failure is attached
    to it as a note (Python 3.11+) and logged at ERROR.
    """
    try:
        teardown.run(scope)
    except Exception as exc:
        logger.error(
            "teardown after %s failed: %s",
            type(error).__name__,
            exc,
            extra={"event": "personakit.teardown.failed"},
        )
        add_note = getattr(error, "add_note", None)
        if callable(add_note):
            add_note(f"personakit teardown also failed: {exc}")
