"""Find and delete what crashed runs left behind (resources tagged ``personakit:run``).

Every resource personakit creates carries ``personakit:run=<run id>``; a
run that crashed, or a notebook killed mid-way, leaves them billing. ``sweep``
finds them and, unless it is a dry run, deletes them::

    report = pk.cost.sweep(session)                          # dry run: lists, deletes nothing
    print(report)
    report = pk.cost.sweep(session, dry_run=False, older_than="2h")
    report = pk.cost.sweep(session, dry_run=False, run_id="20261129-0815-ab12")

What it deletes:

* Amazon Personalize: dataset groups tagged ``personakit:run`` with everything in
  them (a group can only be deleted empty), and tagged resources in other groups
  (campaigns, recommenders, solutions, event trackers, filters, datasets) with
  what depends on them; the schemas of the deleted datasets when personakit named
  them (``pk-<type>-<hash>``) and nothing else uses them; and, in a sweep without
  ``run_id``, every schema personakit named after its content that no dataset uses
  (schemas take no tags: a crash between ``CreateSchema`` and ``CreateDataset``, or
  during a teardown, leaves one). The order, the stopping
  of training still in progress, the retries of ``ResourceInUseException`` and the
  waits until ``Describe*`` says each is gone are those of
  :class:`personakit.personalize.teardown.Teardown` (the order of
  https://docs.aws.amazon.com/personalize/latest/dg/gs-cleanup.html).
* SageMaker: endpoints tagged ``personakit:run`` (with their tagged config and
  models), endpoints past their ``personakit:expires-at`` time whatever their age,
  tagged endpoint configs and models no endpoint uses, and, only with
  ``include_idle_endpoints=True``, untagged endpoints without a single invocation
  over ``idle_window`` (the endpoint only: its config and model cost nothing and let
  you recreate it). Endpoints are deleted as :meth:`LLMEndpoint.delete
  <personakit.llm.LLMEndpoint.delete>` does.
* S3: what personakit uploaded under the session's bucket and prefix (import CSVs,
  whose key holds the run id; batch job folders, whose input carries the run id in
  its ``personakit-run`` metadata, or whose job is tagged) when no job still running
  reads it, deleted after the Personalize resources. Everything else there is left
  and listed (see :mod:`personakit.cost._orphans`).

The session may be :meth:`Session.local <personakit.aws.session.Session.local>`: the
same code sweeps a local workspace (``personakit sweep --workspace DIR``).

What it spares: resources tagged ``personakit:keep=true`` (what a teardown kept on
purpose: ``keep=True`` dataset groups, campaigns, recommenders and endpoints,
``personakit quickstart --keep``) unless ``include_kept=True``, and whatever holds
them (a dataset group with a kept campaign inside is not emptied).
``older_than`` spares anything younger (a run still going); ``run_id`` restricts
the sweep to one run. A real sweep needs one of the two (``older_than="0s"`` means
everything), so a colleague's run in progress is not deleted by accident. Errors
are collected per resource, never fatal midway: the report lists what was
deleted, what was left and why.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs
from botocore.exceptions import BotoCoreError, ClientError

from personakit.aws.context import Ctx
from personakit.aws.retry import error_code
from personakit.aws.session import RUN_METADATA
from personakit.aws.timing import Timing
from personakit.cost._orphans import (
    BATCH_LISTERS,
    SCHEMA_NAME,
    BatchLister,
    Job,
    Upload,
    batch_jobs,
    covers,
    our_schema,
    running_locations,
    scan_uploads,
)
from personakit.cost._scan import Scanner, aware, endpoint_invocations, tag_expiry, utcnow
from personakit.cost.inventory import format_age, parse_duration, table
from personakit.errors import ConfigurationError, TeardownError
from personakit.llm.endpoint import LLMEndpoint
from personakit.llm.hosting import EndpointTiming, delete_and_wait
from personakit.personalize.base import find_all
from personakit.personalize.teardown import KINDS, Entry, Teardown, in_flight
from personakit.rules.display import Display, short_repr
from personakit.rules.facts import EXPIRES_TAG, KEEP_TAG, RUN_TAG

if TYPE_CHECKING:
    import pandas as pd

    from personakit.aws.session import Session

__all__ = ["SweepItem", "SweepReport", "sweep"]

logger = logging.getLogger(__name__)

#: Default idle window: ``Invocations`` summed over 14 days, the default of aws-doctor's
#: idle-endpoint check (https://github.com/elC0mpa/aws-doctor/pull/130); SageMaker
#: publishes the metric per endpoint and variant
#: (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html).
DEFAULT_IDLE_WINDOW = dt.timedelta(days=14)

#: Personalize ``List*`` paginators of a dataset group's contents, and of batch jobs.
_GroupLister = Literal["list_recommenders", "list_event_trackers", "list_filters"]
Outcome = Literal["would delete", "deleted", "stopped", "settled", "left", "failed"]
Service = Literal["personalize", "sagemaker", "s3"]


@attrs.frozen(kw_only=True)
class SweepItem:
    """One resource the sweep found, why, and what became of it.

    Attributes:
        service: ``"personalize"``, ``"sagemaker"`` or ``"s3"``.
        kind: ``"dataset_group"``, ``"campaign"``, ``"endpoint"``, ``"endpoint_config"``,
            ``"s3_object"`` (an upload), ``"s3_prefix"`` (a batch job's folder), ...
        name: Its name (for S3: its key).
        arn: Its ARN (or name, for SageMaker configs and models without one; for S3,
            ``s3://bucket/key``).
        reason: Why it was picked (its run tag, its expiry, idleness, its parent).
        run_id: Its ``personakit:run`` tag, if any.
        created: When it was created, if known.
        outcome: ``"would delete"`` (dry run), ``"deleted"``, ``"stopped"`` /
            ``"settled"`` (jobs: they cannot be deleted), ``"left"`` (in use by
            something the sweep does not own), ``"failed"``.
        error: What went wrong, for ``"failed"``.
    """

    service: Service
    kind: str
    name: str
    arn: str
    reason: str
    run_id: str | None = None
    created: dt.datetime | None = None
    outcome: Outcome = "would delete"
    error: str | None = None


@attrs.frozen(kw_only=True)
class SweepReport(Display):
    """What :func:`sweep` found and did.

    Attributes:
        region: Where it looked.
        dry_run: Whether it only listed.
        workspace: The local engine's workspace it looked in, if local.
        items: Everything picked, in deletion order.
        spared: Resources of personakit seen but spared (kept on purpose, too young,
            another run), as text.
        notes: What could not be listed.
        taken_at: When the sweep started (UTC).
    """

    region: str
    dry_run: bool
    items: tuple[SweepItem, ...]
    spared: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    taken_at: dt.datetime = attrs.field(factory=utcnow)
    workspace: str | None = None

    def __len__(self) -> int:
        return len(self.items)

    @property
    def deleted(self) -> tuple[SweepItem, ...]:
        """Items deleted (or stopped/settled jobs)."""
        return tuple(i for i in self.items if i.outcome in ("deleted", "stopped", "settled"))

    @property
    def failed(self) -> tuple[SweepItem, ...]:
        """Items that could not be deleted."""
        return tuple(i for i in self.items if i.outcome == "failed")

    @property
    def ok(self) -> bool:
        """No deletion failed."""
        return not self.failed

    def raise_for_errors(self) -> None:
        """Raise :class:`~personakit.errors.TeardownError` when something could not be deleted."""
        if self.failed:
            raise TeardownError(
                [(i.arn, RuntimeError(i.error or "failed")) for i in self.failed],
                [i.arn for i in self.failed],
                how_to_fix="run `personakit sweep --yes` again, or delete them by hand",
            )

    def to_frame(self) -> pd.DataFrame:
        """One row per item."""
        import pandas as pd

        columns = [f.name for f in attrs.fields(SweepItem)]
        return pd.DataFrame([attrs.asdict(i) for i in self.items], columns=columns)

    def summary(self) -> str:
        """One line: how many found, deleted, failed."""
        where = self.region if self.workspace is None else f"workspace {self.workspace}"
        if self.dry_run:
            return f"sweep of {where} (dry run): {len(self.items)} resource(s) would be deleted" + (
                "; run with dry_run=False and older_than= or run_id= (CLI: --yes "
                "--older-than 2h) to delete them"
                if self
                else ""
            )
        return (
            f"sweep of {where}: {len(self.deleted)} of {len(self.items)} resource(s) "
            f"deleted, {len(self.failed)} failed"
        )

    def _rows(self) -> list[list[str]]:
        return [
            [
                i.outcome,
                i.service,
                i.kind.replace("_", " "),
                i.name,
                i.run_id or "-",
                format_age(None if i.created is None else self.taken_at - i.created),
                i.reason + (f" [{i.error}]" if i.error else ""),
            ]
            for i in self.items
        ]

    def __str__(self) -> str:
        out = [self.summary()]
        if self.items:
            head = ["action", "service", "kind", "name", "run", "age", "why"]
            out.append(table(head, self._rows(), right=(5,)))
        out.extend(f"spared: {s}" for s in self.spared)
        out.extend(f"note: {n}" for n in self.notes)
        return "\n".join(out)

    def __repr__(self) -> str:
        where = self.region if self.workspace is None else self.workspace
        return short_repr(
            self, repr(where), dry_run=self.dry_run, items=len(self.items), failed=len(self.failed)
        )

    def _repr_html_(self) -> str:
        head = "".join(
            f"<th>{h}</th>" for h in ("action", "service", "kind", "name", "run", "age", "why")
        )
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in self._rows()
        )
        extra = "".join(
            f"<li>{html.escape(t)}</li>"
            for t in [*(f"spared: {s}" for s in self.spared), *self.notes]
        )
        return (
            f"<div><b>{html.escape(self.summary())}</b>"
            + (f"<table><tr>{head}</tr>{body}</table>" if self.items else "")
            + (f"<ul>{extra}</ul>" if extra else "")
            + "</div>"
        )


# --------------------------------------------------------------------------- finding


@attrs.define(eq=False)
class _Pick:
    item: SweepItem
    parent: _Pick | None = None

    def under(self, top: _Pick) -> bool:
        node: _Pick | None = self
        while node is not None:
            if node is top:
                return True
            node = node.parent
        return False

    def top(self) -> _Pick:
        node = self
        while node.parent is not None:
            node = node.parent
        return node


def _kept(tags: Mapping[str, str]) -> bool:
    """Whether a resource carries ``personakit:keep=true`` (kept on purpose)."""
    return tags.get(KEEP_TAG, "").strip().lower() in ("true", "yes", "1")


class _Sweeper(Scanner):
    log = logger
    what = "sweep"

    def __init__(
        self,
        session: Session,
        *,
        run_id: str | None,
        older_than: dt.timedelta | None,
        idle_window: dt.timedelta | None,
        include_kept: bool,
        timing: Timing | None,
        now: dt.datetime,
    ) -> None:
        super().__init__(session, Ctx(session, timing), now)
        self.run_id = run_id
        self.older_than = older_than
        self.idle_window = idle_window
        self.include_kept = include_kept
        self.picks: dict[str, _Pick] = {}
        self.spared: list[str] = []
        #: Picks holding a kept resource: unpicked (with what is under them) after listing.
        self.blocked: list[tuple[_Pick, str]] = []
        #: Dataset groups by name: (ARN, run tag), and every solution seen: the uploads
        #: of a group or solution that is not swept (kept, too young, ...) are spared.
        self.groups: dict[str, list[tuple[str, str | None]]] = {}
        self.solutions: set[str] = set()

    # ------------------------------------------------------------------ rules

    def ours(self, tags: Mapping[str, str]) -> bool:
        value = tags.get(RUN_TAG)
        return value is not None and (self.run_id is None or value == self.run_id)

    def old_enough(self, created: dt.datetime | None) -> bool:
        if self.older_than is None or not self.older_than:
            return True  # no age limit, or older_than="0s": everything, even of unknown age
        return created is not None and self.now - created >= self.older_than

    def judge(self, tags: Mapping[str, str], created: dt.datetime | None, label: str) -> str | None:
        """The reason to sweep a tagged resource, or None (noting why it is spared)."""
        value = tags.get(RUN_TAG)
        if value is None:
            return None
        if not self.ours(tags):
            self.spared.append(f"{label}: run {value}, not {self.run_id}")
            return None
        if self.spare_kept(tags, label):
            return None
        if not self.old_enough(created):
            age = format_age(None if created is None else self.now - created)
            self.spared.append(f"{label}: {age} old, younger than {format_age(self.older_than)}")
            return None
        return f"{RUN_TAG}={value}"

    def spare_kept(self, tags: Mapping[str, str], label: str) -> bool:
        """Whether ``tags`` say kept on purpose and the sweep spares it (noting why)."""
        if self.include_kept or not _kept(tags):
            return False
        self.spared.append(
            f"{label}: kept on purpose ({KEEP_TAG}=true); include_kept=True "
            "(--include-kept) sweeps it"
        )
        return True

    def unpick(self, top: _Pick, why: str) -> None:
        """Drop ``top`` and everything picked under it (it holds something kept)."""
        dropped = [arn for arn, p in self.picks.items() if p.under(top)]
        for arn in dropped:
            del self.picks[arn]
        self.spared.append(
            f"{top.item.kind.replace('_', ' ')} {top.item.name} and {len(dropped) - 1} "
            f"resource(s) in it: {why}"
        )

    def pick(
        self,
        service: Service,
        kind: str,
        arn: str,
        name: str,
        reason: str,
        *,
        tags: Mapping[str, str] | None = None,
        created: dt.datetime | None = None,
        parent: _Pick | None = None,
    ) -> _Pick:
        found = self.picks.get(arn)
        if found is not None:
            return found
        item = SweepItem(
            service=service,
            kind=kind,
            name=name,
            arn=arn,
            reason=reason,
            run_id=(tags or {}).get(RUN_TAG),
            created=created,
        )
        self.picks[arn] = _Pick(item, parent)
        return self.picks[arn]

    # ------------------------------------------------------------------ personalize

    def child(
        self,
        kind: str,
        summary: Mapping[str, Any],
        arn_key: str,
        parent: _Pick | None,
        parent_label: str,
    ) -> _Pick | None:
        """Pick a resource when its parent is picked, or when it is tagged and due itself."""
        arn = str(summary[arn_key])
        name = str(summary.get("name") or summary.get("jobName") or arn.rsplit("/", 1)[-1])
        created = aware(summary.get("creationDateTime"))
        status = str(summary.get("status") or "")
        tags = self.personalize_tags(arn)
        if parent is not None:
            label = f"{kind.replace('_', ' ')} {name}"
            if self.spare_kept(tags, label):
                self.blocked.append((parent.top(), f"holds {label}, kept on purpose"))
                return None
            return self.pick(
                "personalize",
                kind,
                arn,
                name,
                f"in {parent_label}",
                tags=tags,
                created=created,
                parent=parent,
            )
        reason = self.judge(tags, created, f"{kind.replace('_', ' ')} {name}")
        if reason is None or (kind in _JOB_KINDS and not in_flight(status)):
            return None
        return self.pick("personalize", kind, arn, name, reason, tags=tags, created=created)

    def personalize(self) -> None:
        for group in find_all(self.ctx, "list_dataset_groups", "datasetGroups"):
            arn = str(group["datasetGroupArn"])
            name = str(group.get("name") or arn.rsplit("/", 1)[-1])
            status = str(group.get("status") or "")
            created = aware(group.get("creationDateTime"))
            tags = self.personalize_tags(arn)
            self.groups.setdefault(name, []).append((arn, tags.get(RUN_TAG)))
            reason = self.judge(tags, created, f"dataset group {name}")
            picked = (
                self.pick(
                    "personalize", "dataset_group", arn, name, reason, tags=tags, created=created
                )
                if reason is not None and not status.startswith("DELETE")
                else None
            )
            label = f"dataset group {name}"
            self.section(f"contents of {label}", functools.partial(self.group, arn, picked, label))

    def unblock(self) -> None:
        """Unpick what holds a kept resource: Personalize deletes a parent only empty."""
        for top, why in self.blocked:
            if self.picks.get(top.item.arn) is top:
                self.unpick(top, why)
        self.blocked.clear()

    def group(self, group_arn: str, picked: _Pick | None, label: str) -> None:
        p = self.ctx.personalize
        ctx = self.ctx
        for summary in find_all(ctx, "list_solutions", "solutions", datasetGroupArn=group_arn):
            solution = self.child("solution", summary, "solutionArn", picked, label)
            sol_label = f"solution {summary.get('name')}"
            sol_arn = str(summary["solutionArn"])
            self.solutions.add(sol_arn)
            for c in find_all(ctx, "list_campaigns", "campaigns", solutionArn=sol_arn):
                self.child("campaign", c, "campaignArn", solution, sol_label)
            for v in find_all(
                ctx,
                "list_solution_versions",
                "solutionVersions",
                solutionArn=sol_arn,
            ):
                if in_flight(str(v.get("status") or "")):
                    self.child("solution_version", v, "solutionVersionArn", solution, sol_label)
        listers: tuple[tuple[str, _GroupLister, str, str], ...] = (
            ("recommender", "list_recommenders", "recommenders", "recommenderArn"),
            ("event_tracker", "list_event_trackers", "eventTrackers", "eventTrackerArn"),
            ("filter", "list_filters", "Filters", "filterArn"),
        )
        for kind, method, key, arn_key in listers:
            for summary in find_all(ctx, method, key, datasetGroupArn=group_arn):
                self.child(kind, summary, arn_key, picked, label)

        def attributions() -> None:
            for summary in find_all(
                ctx,
                "list_metric_attributions",
                "metricAttributions",
                datasetGroupArn=group_arn,
            ):
                self.child("metric_attribution", summary, "metricAttributionArn", picked, label)

        self.section("Personalize metric attributions", attributions)
        for summary in find_all(ctx, "list_datasets", "datasets", datasetGroupArn=group_arn):
            dataset = self.child("dataset", summary, "datasetArn", picked, label)
            # a dataset already being deleted (a teardown stopped in its wait) is not
            # picked again, but its schema is still to go with the group
            deleting = str(summary.get("status") or "").startswith("DELETE")
            if dataset is None and not (deleting and picked is not None):
                continue
            data_arn = str(summary["datasetArn"])
            lister = "list_dataset_import_jobs"
            jobs = (
                []
                if dataset is None
                else find_all(ctx, lister, "datasetImportJobs", datasetArn=data_arn)
            )
            for job in jobs:
                if in_flight(str(job.get("status") or "")):
                    self.child(
                        "dataset_import_job", job, "datasetImportJobArn", dataset, "its dataset"
                    )
            schema_arn = ctx.call(p.describe_dataset, datasetArn=data_arn)["dataset"].get(
                "schemaArn"
            )
            schema_name = str(schema_arn or "").rsplit("/", 1)[-1]
            if schema_arn and SCHEMA_NAME.match(schema_name):
                self.pick(
                    "personalize",
                    "schema",
                    str(schema_arn),
                    schema_name,
                    f"schema of dataset {summary.get('name')} (kept if still in use)",
                    parent=dataset or picked,
                )

    def batch_jobs(self) -> None:
        """In-flight batch jobs on a picked solution's versions: settled before it is deleted."""
        solutions = {i.arn for i in (x.item for x in self.picks.values()) if i.kind == "solution"}
        if not solutions:
            return
        for kind, method, key, arn_key in BATCH_LISTERS:

            def scan(
                method: BatchLister = method,
                key: str = key,
                kind: str = kind,
                arn_key: str = arn_key,
            ) -> None:
                for job in find_all(self.ctx, method, key):
                    version = str(job.get("solutionVersionArn") or "")
                    solution = version.rsplit("/", 1)[0]
                    pick = self.picks.get(solution)
                    if pick is not None and in_flight(str(job.get("status") or "")):
                        self.child(kind, job, arn_key, pick, "its solution")

            self.section(f"Personalize {kind.replace('_', ' ')}s", scan)

    # ------------------------------------------------------------------ orphans

    def schemas(self) -> None:
        """Settle the schemas: those picked with their datasets, and the unused ones.

        A picked schema that a dataset the sweep leaves still uses is unpicked (it
        would be refused as in use). A schema personakit named after its content that
        no dataset uses is picked by a sweep without ``run_id`` when old enough; with
        one it is listed (schemas take no tags, so it cannot be tied to a run).
        """
        ctx = self.ctx
        picked = {a: p.item.name for a, p in self.picks.items() if p.item.kind == "schema"}
        candidates = [
            s
            for s in find_all(ctx, "list_schemas", "schemas")
            if str(s["schemaArn"]) not in self.picks and SCHEMA_NAME.match(str(s.get("name")))
        ]
        if not candidates and not picked:
            return
        users: dict[str, list[str]] = {}  # schema ARN: the datasets left that use it
        for summary in find_all(ctx, "list_datasets", "datasets"):
            arn = str(summary["datasetArn"])
            if arn in self.picks:
                continue  # deleted before the schemas
            found = ctx.call(ctx.personalize.describe_dataset, datasetArn=arn)["dataset"]
            if str(found.get("status", "")).startswith("DELETE"):
                continue  # going away: the schema's delete waits for it (in-use retries)
            update = found.get("latestDatasetUpdate") or {}
            for schema in {found.get("schemaArn"), update.get("schemaArn")} - {None}:
                users.setdefault(str(schema), []).append(str(summary.get("name") or arn))
        run_groups = [  # when this run's dataset groups were made
            p.item.created
            for p in self.picks.values()
            if p.item.kind == "dataset_group" and p.item.created is not None
        ]
        for arn, name in picked.items():
            if arn in users:
                del self.picks[arn]
                self.spared.append(f"schema {name}: still used by dataset {', '.join(users[arn])}")
        for summary in candidates:
            arn, name = str(summary["schemaArn"]), str(summary["name"])
            if arn in users:
                continue
            text = ctx.call(ctx.personalize.describe_schema, schemaArn=arn)["schema"]
            created = aware(summary.get("creationDateTime"))
            label = f"schema {name}"
            if not our_schema(name, str(text.get("schema") or ""), text.get("domain")):
                self.spared.append(f"{label}: named like personakit's, not after its content")
            elif self.run_id is not None:
                if run_groups and created is not None and created >= min(run_groups):
                    # made while this run's dataset group existed, and unused since: the
                    # run's (a teardown stopped after its dataset's delete leaves it so)
                    reason = f"personakit's, unused, made during run {self.run_id}"
                    self.pick("personalize", "schema", arn, name, reason, created=created)
                    continue
                self.spared.append(
                    f"{label}: personakit's and unused, but schemas take no tags, so it cannot "
                    f"be tied to run {self.run_id}; a sweep without a run id deletes it"
                )
            elif not self.young(created, label):
                reason = "personakit's (named after its content), no dataset uses it"
                self.pick("personalize", "schema", arn, name, reason, created=created)

    def young(self, created: dt.datetime | None, label: str) -> bool:
        """Whether ``created`` is too recent to sweep (noting it as spared)."""
        if self.old_enough(created):
            return False
        age = format_age(None if created is None else self.now - created)
        self.spared.append(f"{label}: {age} old, younger than {format_age(self.older_than)}")
        return True

    def uploads(self) -> None:
        """What personakit uploaded under the session's bucket and prefix, run by run."""
        bucket, prefix = self.session.bucket, self.session.prefix
        if bucket is None:
            self.notes.append("S3: skipped, the session has no bucket (CLI: --bucket)")
            return
        found, others = scan_uploads(self.session.client("s3"), bucket, prefix)
        self.spared.extend(others)
        if not found:
            return
        jobs = batch_jobs(self.ctx)
        needed = running_locations(self.ctx, jobs, swept=self.picks)
        for upload in found:
            run, proof = upload.run_id, upload.proof
            job = jobs.get(upload.job or "")
            if run is None and job is not None:
                run = self.personalize_tags(job.arn).get(RUN_TAG)
                proof = f"its batch job {upload.job} is tagged"
            if run is None:
                self.spared.append(
                    f"{upload.uri}: not provably personakit's (its input has no "
                    f"{RUN_METADATA} metadata and no batch job of that name is tagged); left"
                )
            elif self.upload_due(upload, run, job, needed):
                what = "batch job folder" if upload.kind == "s3_prefix" else "import upload"
                self.pick(
                    "s3",
                    upload.kind,
                    upload.uri,
                    upload.key,
                    f"{what} of run {run} ({proof})",
                    tags={RUN_TAG: run},
                    created=upload.modified,
                )

    def upload_due(
        self, upload: Upload, run: str, job: Job | None, needed: Mapping[str, str]
    ) -> bool:
        """Whether run ``run``'s upload is to be swept (if not, noting why)."""
        label = f"{upload.uri} ({upload.objects} object(s))"
        groups = self.groups.get(upload.group or "", [])
        solution = job.solution if job is not None else ""
        why: str | None = None
        if self.run_id is not None and run != self.run_id:
            why = f"run {run}, not {self.run_id}"
        elif any(tag == run and arn not in self.picks for arn, tag in groups):
            why = f"its dataset group {upload.group} is not swept"
        elif solution in self.solutions and solution not in self.picks:
            why = f"its batch job's solution {solution.rsplit('/', 1)[-1]} is not swept"
        elif by := next((user for where, user in needed.items() if covers(where, upload)), None):
            why = f"{by}, still running, uses it"
        elif self.young(upload.modified, label):
            return False
        if why is not None:
            self.spared.append(f"{label}: {why}")
        return why is None

    # ------------------------------------------------------------------ sagemaker

    def sagemaker(self, include_idle: bool) -> None:
        in_use: dict[str, set[str]] = {"config": set(), "model": set()}
        chosen: dict[str, tuple[str | None, list[str]]] = {}
        for summary in self.sm_pages("list_endpoints", "Endpoints"):
            name = str(summary["EndpointName"])
            status = str(summary.get("EndpointStatus") or "")
            if status == "Deleting":
                continue
            arn = str(summary.get("EndpointArn") or name)
            created = aware(summary.get("CreationTime"))
            tags = self.sm_tags(arn)
            config_name, models = self.endpoint_parts(name)
            reason: str | None = self.endpoint_reason(name, tags, created, include_idle)
            if reason is None:
                if config_name:
                    in_use["config"].add(config_name)
                in_use["model"].update(models)
                continue
            self.pick("sagemaker", "endpoint", arn, name, reason, tags=tags, created=created)
            chosen[arn] = (config_name, models)
        # configs and models: those of a picked endpoint when tagged by personakit, and
        # tagged orphans; never one a spared endpoint uses
        endpoint_of = {
            part: arn
            for arn, (config_name, models) in chosen.items()
            for part in [config_name, *models]
            if part
        }
        for kind, method, key, name_key, arn_key in (
            (
                "endpoint_config",
                "list_endpoint_configs",
                "EndpointConfigs",
                "EndpointConfigName",
                "EndpointConfigArn",
            ),
            ("model", "list_models", "Models", "ModelName", "ModelArn"),
        ):
            for summary in self.sm_pages(method, key):
                name = str(summary[name_key])
                if name in in_use["config" if kind == "endpoint_config" else "model"]:
                    continue
                arn = str(summary.get(arn_key) or name)
                created = aware(summary.get("CreationTime"))
                tags = self.sm_tags(arn)
                parent = self.picks.get(endpoint_of.get(name, ""))
                if self.spare_kept(tags, f"{kind.replace('_', ' ')} {name}"):
                    continue
                if parent is not None and RUN_TAG in tags:
                    reason = f"of endpoint {parent.item.name}"
                else:
                    reason = self.judge(tags, created, f"{kind.replace('_', ' ')} {name}")
                if reason is not None:
                    self.pick(
                        "sagemaker",
                        kind,
                        arn,
                        name,
                        reason,
                        tags=tags,
                        created=created,
                        parent=parent,
                    )

    def endpoint_parts(self, name: str) -> tuple[str | None, list[str]]:
        sm = self.sm()
        try:
            endpoint = self.ctx.call(sm.describe_endpoint, EndpointName=name)
            config_name = str(endpoint["EndpointConfigName"])
            config = self.ctx.call(sm.describe_endpoint_config, EndpointConfigName=config_name)
        except ClientError as exc:
            if error_code(exc) != "ValidationException":
                raise
            return None, []
        models = [
            str(v["ModelName"])
            for v in config.get("ProductionVariants") or []
            if v.get("ModelName")
        ]
        return config_name, models

    def endpoint_reason(
        self,
        name: str,
        tags: Mapping[str, str],
        created: dt.datetime | None,
        include_idle: bool,
    ) -> str | None:
        expires = tag_expiry(tags)
        if (
            expires is not None
            and expires <= self.now
            and (self.run_id is None or tags.get(RUN_TAG) == self.run_id)
        ):
            return f"expired at {expires:%Y-%m-%d %H:%M} UTC ({EXPIRES_TAG})"
        if RUN_TAG in tags:
            return self.judge(tags, created, f"endpoint {name}")
        if not include_idle or self.run_id is not None:
            return None
        if self.spare_kept(tags, f"endpoint {name}"):
            return None
        window = self.idle_window or DEFAULT_IDLE_WINDOW
        if created is None or self.now - created < window or not self.old_enough(created):
            self.spared.append(f"endpoint {name}: untagged, younger than the idle window")
            return None
        try:
            endpoint = self.ctx.call(self.sm().describe_endpoint, EndpointName=name)
            variants = [str(v["VariantName"]) for v in endpoint.get("ProductionVariants") or []]
            total = endpoint_invocations(
                self.session, name, variants, window, now=self.now, ctx=self.ctx
            )
        except (ClientError, BotoCoreError) as exc:
            # one endpoint whose idleness cannot be read is spared, not the whole section
            code = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
            self.notes.append(
                f"endpoint {name}: its invocations could not be read ({code}: {exc}); "
                "not deleted as idle"
            )
            logger.warning("sweep: invocations of endpoint %s could not be read: %s", name, exc)
            return None
        if total > 0:
            return None
        return f"untagged, no invocations in {format_age(window)}"


_JOB_KINDS = frozenset(
    {"solution_version", "dataset_import_job", "batch_inference_job", "batch_segment_job"}
)


# --------------------------------------------------------------------------- deleting


def _delete_personalize(sweeper: _Sweeper, picks: Sequence[_Pick]) -> dict[str, SweepItem]:
    """Hand the picks to a :class:`Teardown` (its order, waits and in-use retries).

    S3 uploads go there too (rank 8: after the jobs that read them have settled).
    Each entry is registered under its parent's (picks come parents first), so a
    resource whose dependent could not be deleted is reported ``left`` at once.
    """
    teardown = Teardown(sweeper.ctx)
    entries: dict[str, Entry] = {}
    for pick in picks:
        item = pick.item
        parent = entries.get(pick.parent.item.arn) if pick.parent is not None else None
        entries[item.arn] = teardown.add(
            item.kind, item.arn, owned=True, parent=parent, label=item.name
        )
    errors: dict[str, BaseException] = {}
    try:
        teardown.run()
    except TeardownError as exc:
        errors = dict(exc.errors)
    out = {}
    for pick in picks:
        item = pick.item
        entry = entries[item.arn]
        if item.arn in errors:
            out[item.arn] = attrs.evolve(item, outcome="failed", error=str(errors[item.arn]))
        elif entry.state == "gone":
            out[item.arn] = attrs.evolve(item, outcome="deleted")
        elif entry.state == "left":
            out[item.arn] = attrs.evolve(item, outcome="left")
        elif entry.state == "settled":
            out[item.arn] = attrs.evolve(
                item, outcome="stopped" if item.kind == "solution_version" else "settled"
            )
        else:
            out[item.arn] = attrs.evolve(
                item, outcome="failed", error=f"not deleted (state {entry.state})"
            )
    # a parent refused as in use because a dependent of it could not be deleted is left,
    # not failed: the dependent's failure is the one to fix (children come after parents)
    blocker: dict[str, str] = {}
    for pick in reversed(picks):
        item, up = pick.item, pick.parent
        if up is None or _RANK.get(item.kind, 9) >= _RANK.get(up.item.kind, 9):
            continue
        if out[item.arn].outcome == "failed" or item.arn in blocker:
            blocker.setdefault(up.item.arn, f"{item.kind.replace('_', ' ')} {item.name}")
    for arn, what in blocker.items():
        error = errors.get(arn)
        if error is not None and error_code(error) == "ResourceInUseException":
            out[arn] = attrs.evolve(
                out[arn], outcome="left", error=f"{what} in it could not be deleted"
            )
    return out


def _delete_sagemaker(
    sweeper: _Sweeper, picks: Sequence[_Pick], timing: EndpointTiming
) -> dict[str, SweepItem]:
    """Endpoints (with their picked config and models) as :meth:`LLMEndpoint.delete` does.

    Configs and models whose endpoint is already gone are deleted on their own.
    """
    out: dict[str, SweepItem] = {}
    for pick in (p for p in picks if p.item.kind == "endpoint"):
        out.update(_delete_endpoint(sweeper, pick, [p for p in picks if p.parent is pick], timing))
    for pick in picks:
        item = pick.item
        if item.arn in out:
            continue
        try:
            _delete_orphan(sweeper, item.kind, item.name, timing)
            out[item.arn] = attrs.evolve(item, outcome="deleted")
        except Exception as exc:
            logger.error("sweep: could not delete %s %s: %s", item.kind, item.name, exc)
            out[item.arn] = attrs.evolve(item, outcome="failed", error=str(exc))
    return out


def _delete_endpoint(
    sweeper: _Sweeper, pick: _Pick, parts: Sequence[_Pick], timing: EndpointTiming
) -> dict[str, SweepItem]:
    item = pick.item
    config = next((p.item.name for p in parts if p.item.kind == "endpoint_config"), None)
    models = [p.item.name for p in parts if p.item.kind == "model"]
    errors: dict[str, BaseException] = {}
    try:
        LLMEndpoint(
            sweeper.session,
            item.name,
            config_name=config,
            model_names=models,
            owned=True,
            timing=timing,
        ).delete(wait=True)
    except TeardownError as exc:
        errors = dict(exc.errors)
    except Exception as exc:
        errors = {f"endpoint {item.name}": exc}
    out: dict[str, SweepItem] = {}
    failed = errors.get(f"endpoint {item.name}")
    if failed is not None:
        logger.error("sweep: could not delete endpoint %s: %s", item.name, failed)
        out[item.arn] = attrs.evolve(item, outcome="failed", error=str(failed))
    else:
        out[item.arn] = attrs.evolve(item, outcome="deleted")
    for part in parts:
        what = part.item.kind.replace("_", " ")
        error = errors.get(f"{what} {part.item.name}")
        if failed is not None:
            out[part.item.arn] = attrs.evolve(
                part.item, outcome="left", error="its endpoint could not be deleted"
            )
        elif error is not None:
            logger.error("sweep: could not delete %s %s: %s", what, part.item.name, error)
            out[part.item.arn] = attrs.evolve(part.item, outcome="failed", error=str(error))
        else:
            out[part.item.arn] = attrs.evolve(part.item, outcome="deleted")
    return out


def _delete_orphan(sweeper: _Sweeper, kind: str, name: str, timing: EndpointTiming) -> None:
    """Delete an endpoint config or model no endpoint uses; wait until it is gone."""
    sm = sweeper.sm()
    delete, describe, key = (
        (sm.delete_endpoint_config, sm.describe_endpoint_config, "EndpointConfigName")
        if kind == "endpoint_config"
        else (sm.delete_model, sm.describe_model, "ModelName")
    )
    delete_and_wait(sweeper.ctx.call, delete, describe, key, name, timing=timing)


def sweep(
    session: Session,
    *,
    dry_run: bool = True,
    older_than: str | float | dt.timedelta | None = None,
    run_id: str | None = None,
    include_kept: bool = False,
    include_idle_endpoints: bool = False,
    idle_window: str | float | dt.timedelta | None = None,
    services: Sequence[Service] = ("personalize", "sagemaker", "s3"),
    timing: Timing | None = None,
    now: dt.datetime | None = None,
) -> SweepReport:
    """Find personakit's leftovers in the session's account and region; delete them unless dry.

    Args:
        session: Where to look (a :meth:`Session.local <personakit.aws.session.Session.local>`
            session: its workspace). Its own ``run_id`` plays no part: a new session
            sweeps what earlier ones left; its ``bucket`` and ``prefix`` say where the
            uploads are.
        dry_run: Only list what would be deleted (the default). A real sweep
            (``False``) needs ``older_than`` or ``run_id``.
        older_than: Spare anything younger (``"2h"``, ``"3d"``, a timedelta, or
            hours), so a run still going is not swept; ``"0s"`` spares nothing.
            Endpoints past their ``personakit:expires-at`` time go whatever their age.
        run_id: Sweep only this run's resources (its ``personakit:run`` value).
        include_kept: Also sweep resources tagged ``personakit:keep=true`` (kept on
            purpose with ``keep=True``); spared, and listed as such, by default.
        include_idle_endpoints: Also delete untagged SageMaker endpoints without a
            single invocation over ``idle_window`` (the endpoint only; never with
            ``run_id``).
        idle_window: The idle check's window; 14 days when ``None``.
        services: Which services to sweep (``"s3"``: the uploads under the session's
            bucket and prefix).
        timing: Retries, polls and deadlines of the calls and waits (tests); the
            session's ``timing`` attribute, else the defaults.
        now: The current time (tests); UTC now when ``None``.

    Returns:
        A :class:`SweepReport`; nothing is raised for a resource that could not be
        deleted (see :attr:`SweepReport.failed`, :meth:`SweepReport.raise_for_errors`).

    Raises:
        ConfigurationError: ``dry_run=False`` with neither ``older_than`` nor
            ``run_id`` (it would delete runs still going); a bad duration.
    """
    if not dry_run and older_than is None and not run_id:
        raise ConfigurationError(
            "a sweep that deletes (dry_run=False) needs older_than or run_id, or it would "
            "delete a run still going (a colleague's notebook, a job in progress): pass "
            'older_than="2h" to spare anything younger, run_id="..." to sweep one run, or '
            'older_than="0s" to mean everything'
        )
    now_ = aware(now) or utcnow()
    sweeper = _Sweeper(
        session,
        run_id=run_id,
        older_than=parse_duration(older_than) if older_than is not None else None,
        idle_window=parse_duration(idle_window) if idle_window is not None else None,
        include_kept=include_kept,
        timing=timing,
        now=now_,
    )
    personalize_ok = "personalize" in services and sweeper.available("personalize")
    if personalize_ok:
        sweeper.section("Personalize dataset groups", sweeper.personalize)
        sweeper.unblock()  # before batch_jobs, which looks for picked solutions
        sweeper.batch_jobs()
        sweeper.unblock()
        sweeper.section("Personalize schemas", sweeper.schemas)
    if "s3" in services and personalize_ok:  # which uploads are due depends on Personalize
        sweeper.section(f"S3 uploads of s3://{session.bucket}/{session.prefix}", sweeper.uploads)
    if "sagemaker" in services and sweeper.available("sagemaker"):
        sweeper.section("SageMaker endpoints", lambda: sweeper.sagemaker(include_idle_endpoints))
    picks = list(sweeper.picks.values())
    personalize = [p for p in picks if p.item.service in ("personalize", "s3")]
    sagemaker = [p for p in picks if p.item.service == "sagemaker"]
    done: dict[str, SweepItem] = {}
    if not dry_run:
        if sagemaker:
            timing_ = EndpointTiming.from_timing(sweeper.ctx.timing)
            done.update(_delete_sagemaker(sweeper, sagemaker, timing_))
        if personalize:
            done.update(_delete_personalize(sweeper, personalize))
    order = {"sagemaker": 0, "personalize": 1, "s3": 2}
    items = sorted(
        (done.get(p.item.arn, p.item) for p in picks),
        key=lambda i: (order[i.service], _RANK.get(i.kind, 9)),
    )
    report = SweepReport(
        region=session.region,
        dry_run=dry_run,
        items=tuple(items),
        spared=tuple(sweeper.spared),
        notes=tuple(dict.fromkeys(sweeper.notes)),
        taken_at=now_,
        workspace=None if session.workspace is None else str(session.workspace),
    )
    logger.info("%s", report.summary())
    return report


def _rank() -> dict[str, int]:
    ranks = {name: kind.rank for name, kind in KINDS.items()}
    ranks.update({"endpoint": 0, "endpoint_config": 1, "model": 2})
    return ranks


_RANK = _rank()
