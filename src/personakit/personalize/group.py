"""Dataset groups: imports, filters and the shortcuts to what lives in them, torn down in order.

::

    with pk.DatasetGroup.create(session, "movies") as group:  # deletes what it created on exit
        group.import_frame(interactions)                      # schema inferred, validated,
        group.import_frame(items, dataset_type="items")       # CSV written, uploaded, imported
        solution = group.train("user-personalization")

:meth:`DatasetGroup.import_frame` does, in this order, and stops at the first step
that fails:

1. infer the schema (or take yours) and check the data against every Personalize
   rule (:func:`personakit.rules.validate`): all problems are raised together as one
   :class:`~personakit.errors.ValidationError` **before anything is created or
   uploaded**; a missing role or bucket is a
   :class:`~personakit.errors.ConfigurationError` at the same point;
2. create the schema, named after a hash of its Avro JSON so identical schemas are
   shared (an existing one of that name is reused), and the dataset;
3. write the CSV (:func:`personakit.rules.writer.write_csv`) to a temporary file and upload
   it with boto3's transfer manager (multipart for large files), encrypted with
   SSE-S3, or SSE-KMS when the session or group has a KMS key;
4. run the import job with the session's role and wait for it.

Everything personakit creates is tagged ``personakit:run=<run id>`` (schemas take
no tags) and registered on the group's teardown stack; leaving the ``with`` block,
normally, on an exception or on Ctrl-C, deletes it in dependency order and waits
until ``Describe*`` says it is gone. See ``docs/datasets.md``.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from personakit.aws.context import Ctx
from personakit.aws.timing import Timing
from personakit.errors import ConfigurationError, ValidationError
from personakit.personalize.base import (
    Later,
    create_and_register,
    create_or_adopt,
    find_all,
    find_by,
    forwards_to,
    resource_name,
    short_hash,
)
from personakit.personalize.dataset import IMPORT_TIMEOUT_S, Dataset, ImportJob, ImportMode
from personakit.personalize.teardown import Teardown, TeardownReport, run_guarded
from personakit.rules.facts import Domain
from personakit.rules.filters import Filter, group_field_problems
from personakit.rules.report import DataReport, Problem
from personakit.rules.schema import DatasetType, Schema
from personakit.rules.validate import validate
from personakit.rules.writer import write_csv

if TYPE_CHECKING:
    import pyarrow as pa

    from personakit.aws.session import Session
    from personakit.personalize.events import EventTracker
    from personakit.personalize.recommender import Recommender
    from personakit.personalize.solution import Solution
    from personakit.rules.schema import FrameLike
    from personakit.rules.writer import CsvResult

    _create_solution = Solution.create
    _create_recommender = Recommender.create
    _create_tracker = EventTracker.create
else:  # start-up: a script that only imports data does not load the resources it never makes
    _create_solution = Later("personakit.personalize.solution", "Solution.create")
    _create_recommender = Later("personakit.personalize.recommender", "Recommender.create")
    _create_tracker = Later("personakit.personalize.events", "EventTracker.create")

__all__ = ["DatasetGroup", "schema_name"]

logger = logging.getLogger(__name__)

#: Default deadlines (seconds).
GROUP_TIMEOUT_S = 1800.0
DATASET_TIMEOUT_S = 1800.0
FILTER_TIMEOUT_S = 1800.0
#: Files above this go up in parts of this size, several at once.
MULTIPART_BYTES = 64 * 1024 * 1024

#: Training-wide minimums: they apply to the whole dataset, not to one incremental import.
_TRAINING_RULES = frozenset({"min-interactions", "min-users", "min-users-share"})
_VALIDATE_KW = {
    DatasetType.INTERACTIONS: "interactions",
    DatasetType.ITEMS: "items",
    DatasetType.USERS: "users",
    DatasetType.ACTIONS: "actions",
    DatasetType.ACTION_INTERACTIONS: "action_interactions",
}


def _mode(mode: str) -> ImportMode:
    value = str(mode).upper()
    if value == "FULL":
        return "FULL"
    if value == "INCREMENTAL":
        return "INCREMENTAL"
    raise ConfigurationError(f"mode must be 'FULL' or 'INCREMENTAL', got {mode!r}")


def _avro(schema: Schema) -> dict[str, Any]:
    return json.loads(schema.to_json())  # type: ignore[no-any-return]


def _same_schema(a: Schema, b: Schema) -> bool:
    return _avro(a) == _avro(b) and a.domain == b.domain


def schema_name(avro_json: str, dataset_type: str, domain: str | None = None) -> str:
    """The name personakit gives a schema: ``pk-<dataset type>-<hash of JSON and domain>``.

    Derived from the content, so identical schemas share one, and a schema whose name
    is this function of its own content is provably personakit's (schemas take no tags).
    """
    return resource_name("pk", dataset_type.lower(), short_hash(avro_json, domain or "", n=16))


# --------------------------------------------------------------------------- groups


class DatasetGroup:
    """A Personalize dataset group and everything personakit creates in it.

    Build one with :meth:`create` (a context manager that deletes what it created
    on exit) or :meth:`attach` (an existing group; nothing of it is deleted).

    Attributes:
        session: The :class:`~personakit.aws.session.Session`.
        arn: The dataset group's ARN.
        name: Its name.
        domain: ``None`` (custom) or its :class:`~personakit.rules.schema.Domain`.
        kms_key_arn: Its KMS key, if encrypted with one.
        owned: Whether this run created it (and deletes it at teardown).
        datasets: Its datasets by type.
        solutions: Solutions trained through this object.
        recommenders: Recommenders created through this object (domain groups).
    """

    def __init__(
        self,
        ctx: Ctx,
        arn: str,
        name: str,
        *,
        domain: Domain | None,
        kms_key_arn: str | None,
        owned: bool,
        teardown: Teardown,
    ) -> None:
        self._ctx = ctx
        self.session = ctx.session
        self.arn = arn
        self.name = name
        self.domain = domain
        self.kms_key_arn = kms_key_arn
        self.owned = owned
        self._teardown = teardown
        self._entry = teardown.add("dataset_group", arn, owned=owned, label=name)
        self.datasets: dict[DatasetType, Dataset] = {}
        self.solutions: list[Solution] = []
        self.recommenders: list[Recommender] = []
        self._tracker: EventTracker | None = None
        self._filters: dict[str, str] = {}
        self._imports = 0

    # ------------------------------------------------------------------ construction

    @classmethod
    def create(
        cls,
        session: Session,
        name: str,
        *,
        domain: str | Domain | None = None,
        kms_key_arn: str | None = None,
        role_arn: str | None = None,
        keep: bool = False,
        adopt: bool = True,
        timeout_s: float = GROUP_TIMEOUT_S,
        timing: Timing | None = None,
    ) -> DatasetGroup:
        """Create a dataset group (tagged, waited for), or adopt an existing one by name.

        Use it as a context manager: leaving the ``with`` block (normally, on an
        exception or on Ctrl-C) deletes everything this run created in it, in
        dependency order, and waits until it is gone.

        Args:
            session: Where clients, bucket, role and tags come from.
            name: The dataset group's name (1-63 letters, digits, ``-`` and ``_``).
            domain: ``"ECOMMERCE"`` or ``"VIDEO_ON_DEMAND"`` for a domain group.
            kms_key_arn: Encrypt with this KMS key (default: the session's).
            role_arn: The role Personalize uses with the key (default: the session's);
                sent only with a key, as AWS requires.
            keep: Keep everything at exit (it stays tagged ``personakit:run``); every
                resource created in the group carries ``personakit:keep=true`` from its
                ``Create*`` on, so ``personakit sweep`` spares it even if no teardown runs.
            adopt: When a group of that name exists, use it (it is not deleted at
                exit unless this run created it); ``False`` raises instead.
            timeout_s: Deadline of the wait for ``ACTIVE``.
            timing: Retry and poll settings (tests inject a fake clock here).

        Raises:
            ConfigurationError: The name exists and ``adopt=False``, or the existing
                group differs (domain, key), or a key is given without a role.
            ResourceFailedError: The group reached ``CREATE FAILED``.
        """
        ctx = Ctx(session, timing, keep=keep)  # keep=True: every Create* carries the keep tag
        dom = Domain.parse(domain)
        kms = kms_key_arn if kms_key_arn is not None else session.kms_key_arn
        request: dict[str, Any] = {"name": name, "tags": ctx.tags()}
        if dom is not None:
            request["domain"] = dom.value
        if kms is not None:
            role = role_arn if role_arn is not None else session.role_arn
            if role is None:
                raise ConfigurationError(
                    "a KMS-encrypted dataset group needs a role Personalize can use the key "
                    "with: pass role_arn=... or Session.aws(role_arn=...)"
                )
            request["kmsKeyArn"] = kms
            request["roleArn"] = role
        personalize = ctx.personalize

        def find() -> str | None:
            found = find_by(
                ctx,
                "list_dataset_groups",
                "datasetGroups",
                lambda s: s["name"] == name,
            )
            return None if found is None else str(found["datasetGroupArn"])

        def check(arn: str) -> None:
            group = ctx.call(personalize.describe_dataset_group, datasetGroupArn=arn)[
                "datasetGroup"
            ]
            theirs = Domain.parse(group.get("domain"))
            status = str(group.get("status", ""))
            problems = []
            if theirs != dom:
                have = theirs.value if theirs else None
                problems.append(f"domain {have} (asked: {dom.value if dom else None})")
            if kms is not None and group.get("kmsKeyArn") != kms:
                problems.append(f"KMS key {group.get('kmsKeyArn')} (asked: {kms})")
            if status.upper().startswith("DELETE") or "FAILED" in status.upper():
                problems.append(f"status {status}")
            if problems:
                raise ConfigurationError(
                    f"dataset group {name!r} exists with {'; '.join(problems)}: choose "
                    "another name, or delete it first"
                )

        teardown = Teardown(ctx, keep=keep)
        try:
            adopted = create_or_adopt(
                ctx,
                what="dataset group",
                name=name,
                create=lambda: personalize.create_dataset_group(**request),
                arn_key="datasetGroupArn",
                find=find,
                check=check,
                adopt=adopt,
                on_lost=lambda arn: teardown.add("dataset_group", arn, label=name),
            )
        except BaseException as exc:  # made, but the call never returned: delete it now
            if teardown.entries:
                run_guarded(teardown, None, exc)
            raise
        if keep and adopted.created:
            teardown.keep_tagged(adopted.arn)
        group = cls(
            ctx,
            adopted.arn,
            name,
            domain=dom,
            kms_key_arn=kms,
            owned=adopted.owned,
            teardown=teardown,
        )
        try:
            ctx.wait(
                lambda: personalize.describe_dataset_group(datasetGroupArn=adopted.arn),
                arn=adopted.arn,
                timeout_s=timeout_s,
                label=name,
            )
        except BaseException as exc:
            run_guarded(teardown, None, exc)
            raise
        logger.info("dataset group %s is ACTIVE%s", name, "" if adopted.created else " (existing)")
        return group

    @classmethod
    def attach(
        cls,
        session: Session,
        arn_or_name: str,
        *,
        timing: Timing | None = None,
    ) -> DatasetGroup:
        """An existing dataset group, by ARN or name; nothing of it is deleted at teardown.

        What you create through it (datasets, solutions, campaigns, filters) is still
        this run's, and deleted by :meth:`teardown` or at the end of a ``with`` block.

        Raises:
            ConfigurationError: No dataset group has that name.
        """
        ctx = Ctx(session, timing)
        personalize = ctx.personalize
        arn = arn_or_name
        if not arn_or_name.startswith("arn:"):
            found = find_by(
                ctx,
                "list_dataset_groups",
                "datasetGroups",
                lambda s: s["name"] == arn_or_name,
            )
            if found is None:
                raise ConfigurationError(
                    f"no dataset group named {arn_or_name!r} in {session.region}"
                )
            arn = str(found["datasetGroupArn"])
        described = ctx.call(personalize.describe_dataset_group, datasetGroupArn=arn)[
            "datasetGroup"
        ]
        group = cls(
            ctx,
            arn,
            str(described["name"]),
            domain=Domain.parse(described.get("domain")),
            kms_key_arn=described.get("kmsKeyArn"),
            owned=False,
            teardown=Teardown(ctx),
        )
        summaries = find_all(ctx, "list_datasets", "datasets", datasetGroupArn=arn)
        for summary in summaries:
            dtype = DatasetType.parse(str(summary["datasetType"]))
            dataset_arn = str(summary["datasetArn"])
            entry = group._teardown.add(
                "dataset", dataset_arn, owned=False, parent=group._entry, label=str(summary["name"])
            )
            group.datasets[dtype] = Dataset(
                group, dataset_arn, str(summary["name"]), dtype, None, None, entry
            )
        return group

    # ------------------------------------------------------------------ context manager

    def __enter__(self) -> DatasetGroup:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        if exc is None:
            self.teardown()
        else:
            run_guarded(self._teardown, None, exc)
        return False

    def teardown(self, *, delete_adopted: bool = False) -> TeardownReport:
        """Delete what this run created here, in dependency order; wait until it is gone.

        Idempotent: a second call does nothing more. ``keep=True`` (on the group or a
        campaign) keeps what it says.

        Args:
            delete_adopted: Also delete what was adopted or attached (the group itself,
                datasets found in it).

        Raises:
            TeardownError: Something could not be deleted; ``leftovers`` lists it.
        """
        return self._teardown.run(None, delete_adopted=delete_adopted)

    @property
    def resources(self) -> list[tuple[str, str, str]]:
        """``(kind, arn, state)`` of everything on the teardown stack, oldest first."""
        return [
            (e.kind.name, e.arn, e.state if e.owned else f"{e.state} (adopted)")
            for e in self._teardown.entries
        ]

    def status(self) -> str:
        """The group's current status (``DescribeDatasetGroup``)."""
        described = self._ctx.call(
            self._ctx.personalize.describe_dataset_group, datasetGroupArn=self.arn
        )
        return str(described["datasetGroup"].get("status"))

    # ------------------------------------------------------------------ imports

    def import_frame(
        self,
        frame: FrameLike,
        dataset_type: str | DatasetType = "interactions",
        *,
        schema: Schema | str | Mapping[str, Any] | None = None,
        mode: ImportMode = "FULL",
        columns: Mapping[str, str] | None = None,
        wait: bool = True,
        timeout_s: float = IMPORT_TIMEOUT_S,
    ) -> Dataset:
        """Validate a DataFrame (or pyarrow Table), upload it as CSV and import it.

        Args:
            frame: The data, one column per field (see :meth:`Schema.infer`).
            dataset_type: ``"interactions"``, ``"items"``, ``"users"``, ``"actions"``,
                ``"action_interactions"``.
            schema: The schema (a :class:`Schema` or Avro JSON); inferred when omitted.
                A dataset that already exists keeps its schema: data for it must match.
            mode: ``"FULL"`` replaces the dataset's bulk data; ``"INCREMENTAL"`` adds
                to it (training-wide minimums are then not checked on this frame).
            columns: Column -> field mapping for inference (``{"userId": "USER_ID"}``).
            wait: Wait for the import job (else see ``dataset.imports[-1].wait()``).
            timeout_s: Deadline of that wait.

        Returns:
            The :class:`Dataset` (its ``imports[-1]`` is this import).

        Raises:
            ValidationError: The data or schema breaks Personalize's rules (every
                problem listed); raised before anything is created or uploaded.
            ConfigurationError: No role or bucket in the session.
            ResourceFailedError: The import job failed (with Personalize's reason).
        """
        dtype = DatasetType.parse(dataset_type)
        import_mode = _mode(mode)
        role = self._role()
        self.session.s3_uri()  # ConfigurationError now, not after creating things
        resolved, table = self._checked_schema(frame, dtype, schema, import_mode, columns)
        dataset = self._dataset(dtype, resolved)
        n = self._next_import()
        with tempfile.TemporaryDirectory(prefix="personakit-") as tmp:
            data = frame if table is None else table  # converted once, by validate
            csv = write_csv(data, Path(tmp) / "data.csv", resolved)
            key = self.session.s3_key(
                self.name, self.session.run_id, f"{dtype.value.lower()}-{n}-{csv.sha256[:12]}.csv"
            )
            uri = self._upload(Path(tmp) / "data.csv", key, dataset)
        logger.info("uploaded %s rows (%s bytes) to %s", f"{csv.rows:,}", f"{csv.bytes:,}", uri)
        job = self._start_import(dataset, uri, import_mode, role, csv, n)
        if wait:
            job.wait(timeout_s)
        return dataset

    def import_s3(
        self,
        uri: str,
        dataset_type: str | DatasetType,
        schema: Schema | str | Mapping[str, Any],
        *,
        mode: ImportMode = "FULL",
        wait: bool = True,
        timeout_s: float = IMPORT_TIMEOUT_S,
    ) -> Dataset:
        """Import CSV already in S3 (a file, or a prefix ending in ``/``).

        Nothing is uploaded or validated (personakit cannot see the data); the schema
        is checked against Personalize's schema rules. The bucket must be in the
        session's region and readable by the role.
        """
        if not uri.startswith("s3://"):
            raise ConfigurationError(f"uri must start with s3://, got {uri!r}")
        dtype = DatasetType.parse(dataset_type)
        import_mode = _mode(mode)
        role = self._role()
        resolved = self._parse_schema(schema, dtype)
        resolved.check().raise_for_problems()
        dataset = self._dataset(dtype, resolved)
        job = self._start_import(dataset, uri, import_mode, role, None, self._next_import())
        if wait:
            job.wait(timeout_s)
        return dataset

    # ------------------------------------------------------------------ steps

    def _role(self) -> str:
        role = self.session.role_arn
        if role is None:
            raise ConfigurationError(
                "importing data needs an IAM role Personalize can assume to read the "
                "bucket: pass Session.aws(role_arn=...) or set PERSONAKIT_ROLE_ARN "
                "(session.check_access() shows what the role needs)"
            )
        return role

    def _next_import(self) -> int:
        self._imports += 1
        return self._imports

    def _parse_schema(self, schema: Schema | str | Mapping[str, Any], dtype: DatasetType) -> Schema:
        if isinstance(schema, Schema):
            parsed = schema
        else:
            parsed = Schema.from_json(schema, dataset_type=dtype, domain=self._domain_for(dtype))
        if parsed.dataset_type is not dtype:
            raise ValidationError(
                f"the schema is for {parsed.dataset_type.value}, the import for {dtype.value}"
            )
        return parsed

    def _domain_for(self, dtype: DatasetType) -> Domain | None:
        custom_only = dtype in (DatasetType.ACTIONS, DatasetType.ACTION_INTERACTIONS)
        return None if custom_only else self.domain

    def _checked_schema(
        self,
        frame: FrameLike,
        dtype: DatasetType,
        schema: Schema | str | Mapping[str, Any] | None,
        mode: ImportMode,
        columns: Mapping[str, str] | None,
    ) -> tuple[Schema, pa.Table | None]:
        """The schema to import with, after checking the data against every rule, and the
        Arrow table ``validate`` built of the frame under it (so the CSV writer does not
        convert the frame again; None when it has none).

        The schema is yours, else the existing dataset's, else the one ``validate``
        inferred. All problems found are raised together as one ValidationError.
        """
        domain = self._domain_for(dtype)
        existing = self.datasets.get(dtype)
        given: Schema | None = None
        if schema is not None:
            given = self._parse_schema(schema, dtype)
        elif existing is not None and existing.schema is not None and columns is None:
            given = existing.schema  # data for an existing dataset is read with its schema
        frames: dict[str, Any] = {_VALIDATE_KW[dtype]: frame}
        report = validate(
            **frames,
            schemas=None if given is None else {dtype: given},
            domain=domain,
            columns=columns,
            keep_tables=True,  # the CSV is written from the table validate built
        )
        problems = [
            p for p in report.problems if not (mode == "INCREMENTAL" and p.rule in _TRAINING_RULES)
        ]
        resolved = given
        if resolved is None and not any(p.severity == "error" for p in problems):
            resolved = report.schemas.get(dtype)
            if resolved is None:  # validate could not infer it whole: say why
                resolved = Schema.infer(frame, dtype, domain=domain, columns=columns)
        if resolved is not None:
            if resolved.domain != domain:
                mine = resolved.domain.value if resolved.domain else "a custom dataset group"
                problems.append(
                    _problem(
                        "schema-domain-mismatch",
                        f"the {dtype.value} schema is for {mine}, the dataset group "
                        f"{self.name!r} is {domain.value if domain else 'custom'}",
                    )
                )
            if (
                existing is not None
                and existing.schema is not None
                and not _same_schema(existing.schema, resolved)
            ):
                problems.append(
                    _problem(
                        "schema-differs",
                        f"the {dtype.value} dataset already has a different schema "
                        f"({', '.join(existing.schema.names)}); this data has "
                        f"{', '.join(resolved.names)}",
                        fix=f"import data for that schema (group.datasets[{dtype.value!r}]"
                        ".schema) or use another dataset group",
                    )
                )
        for warning in (p for p in problems if p.severity == "warning"):
            logger.warning("%s", warning, extra={"event": "personakit.validate.warning"})
        DataReport(problems, report.stats, f"{dtype.value} data").raise_for_problems()
        assert resolved is not None
        table = report.tables.get(dtype) if report.schemas.get(dtype) is resolved else None
        return resolved, table

    def _schema_arn(self, schema: Schema) -> str:
        ctx = self._ctx
        personalize = ctx.personalize
        text = schema.to_json()
        domain = schema.domain.value if schema.domain else ""
        name = schema_name(text, schema.dataset_type.value, domain)
        request: dict[str, Any] = {"name": name, "schema": text}
        if schema.domain is not None:
            request["domain"] = domain

        def find() -> str | None:
            found = find_by(
                ctx,
                "list_schemas",
                "schemas",
                lambda s: s["name"] == name,
            )
            return None if found is None else str(found["schemaArn"])

        def check(arn: str) -> None:
            theirs = ctx.call(personalize.describe_schema, schemaArn=arn)["schema"]
            same = (
                json.loads(str(theirs.get("schema", "{}"))) == json.loads(text)
                and (theirs.get("domain") or "") == domain
            )
            if not same:
                raise ConfigurationError(
                    f"a schema named {name!r} exists with different fields; delete it "
                    "(DeleteSchema) or pass a schema of your own"
                )

        def created_at(arn: str) -> dt.datetime | None:
            described = ctx.call(personalize.describe_schema, schemaArn=arn)["schema"]
            return described.get("creationDateTime")

        # Schemas take no tags: the name, derived from the content, is what makes one
        # personakit's; created_at lets create_or_adopt tell one this call made (its
        # response lost) from an identical one an earlier run left (see its docstring).
        adopted = create_or_adopt(
            ctx,
            what="schema",
            name=name,
            create=lambda: personalize.create_schema(**request),
            arn_key="schemaArn",
            find=find,
            check=check,
            taggable=False,
            created_at=created_at,
            on_lost=lambda arn: self._teardown.add("schema", arn, parent=self._entry, label=name),
        )
        self._teardown.add(
            "schema", adopted.arn, owned=adopted.owned, parent=self._entry, label=name
        )
        return adopted.arn

    def _dataset(self, dtype: DatasetType, schema: Schema) -> Dataset:
        existing = self.datasets.get(dtype)
        if existing is not None:
            if existing.schema is None:
                existing.schema_arn, existing.schema = self._describe_schema_of(existing.arn)
                if not _same_schema(existing.schema, schema):
                    raise ConfigurationError(
                        f"the {dtype.value} dataset of {self.name!r} has fields "
                        f"{', '.join(existing.schema.names)}; this data has "
                        f"{', '.join(schema.names)}"
                    )
            return existing
        ctx = self._ctx
        personalize = ctx.personalize
        schema_arn = self._schema_arn(schema)
        name = resource_name(self.name, dtype.value.lower())
        request: dict[str, Any] = {
            "name": name,
            "schemaArn": schema_arn,
            "datasetGroupArn": self.arn,
            "datasetType": dtype.value,
            "tags": ctx.tags(),
        }

        def lookup() -> Mapping[str, Any] | None:
            return find_by(
                ctx,
                "list_datasets",
                "datasets",
                lambda s: (
                    s["name"] == name
                    or str(s.get("datasetType", "")).upper() == dtype.value.upper()
                ),
                datasetGroupArn=self.arn,
            )

        def check(arn: str) -> None:
            their_arn, theirs = self._describe_schema_of(arn)
            if their_arn != schema_arn and not _same_schema(theirs, schema):
                raise ConfigurationError(
                    f"the {dtype.value} dataset of {self.name!r} exists with fields "
                    f"{', '.join(theirs.names)}; this data has {', '.join(schema.names)}: "
                    "import data for that schema, or use another dataset group"
                )

        adopted, entry = create_and_register(
            ctx,
            self._teardown,
            "dataset",
            name=name,
            create=lambda: personalize.create_dataset(**request),
            lookup=lookup,
            arn_key="datasetArn",
            parent=self._entry,
            check=check,
        )
        dataset = Dataset(self, adopted.arn, name, dtype, schema, schema_arn, entry)
        self.datasets[dtype] = dataset
        ctx.wait(
            lambda: personalize.describe_dataset(datasetArn=adopted.arn),
            arn=adopted.arn,
            timeout_s=DATASET_TIMEOUT_S,
            label=name,
        )
        return dataset

    def _describe_schema_of(self, dataset_arn: str) -> tuple[str, Schema]:
        ctx = self._ctx
        described = ctx.call(ctx.personalize.describe_dataset, datasetArn=dataset_arn)["dataset"]
        schema_arn = str(described["schemaArn"])
        dtype = DatasetType.parse(str(described["datasetType"]))
        text = ctx.call(ctx.personalize.describe_schema, schemaArn=schema_arn)["schema"]
        schema = Schema.from_json(
            str(text["schema"]), dataset_type=dtype, domain=text.get("domain")
        )
        return schema_arn, schema

    def _upload(self, path: Path, key: str, dataset: Dataset) -> str:
        """Upload ``path`` to ``key`` in the session's bucket, encrypted; register it."""
        bucket = self.session.bucket
        assert bucket is not None
        s3 = self.session.client("s3")
        kms = self.kms_key_arn or self.session.kms_key_arn
        extra: dict[str, Any] = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms}
            if kms
            else {"ServerSideEncryption": "AES256"}
        )
        extra["Metadata"] = self.session.s3_metadata()  # a sweep can prove it is ours
        uri = f"s3://{bucket}/{key}"
        # registered first: a Ctrl-C during the upload may leave the object, and
        # deleting one that was never written is not an error in S3
        self._teardown.add("s3_object", uri, parent=dataset._entry, label=key)
        upload = getattr(s3, "upload_file", None)
        if callable(upload):
            from boto3.s3.transfer import TransferConfig

            config = TransferConfig(
                multipart_threshold=MULTIPART_BYTES,
                multipart_chunksize=MULTIPART_BYTES,
                max_concurrency=8,
            )
            upload(str(path), bucket, key, ExtraArgs=extra, Config=config)
        else:  # a client without boto3's transfer methods
            with path.open("rb") as fh:
                self._ctx.call(s3.put_object, Bucket=bucket, Key=key, Body=fh, **extra)
        return uri

    def _start_import(
        self,
        dataset: Dataset,
        uri: str,
        mode: ImportMode,
        role: str,
        csv: CsvResult | None,
        n: int,
    ) -> ImportJob:
        ctx = self._ctx
        personalize = ctx.personalize
        name = resource_name(dataset.name, short_hash(self.session.run_id, n, uri, n=10))
        request: dict[str, Any] = {
            "jobName": name,
            "datasetArn": dataset.arn,
            "dataSource": {"dataLocation": uri},
            "roleArn": role,
            "importMode": mode,
            "tags": ctx.tags(),
        }

        def find() -> str | None:
            found = find_by(
                ctx,
                "list_dataset_import_jobs",
                "datasetImportJobs",
                lambda s: s["jobName"] == name,
                datasetArn=dataset.arn,
            )
            return None if found is None else str(found["datasetImportJobArn"])

        adopted = create_or_adopt(
            ctx,
            what="dataset import job",
            name=name,
            create=lambda: personalize.create_dataset_import_job(**request),
            arn_key="datasetImportJobArn",
            find=find,
            on_lost=lambda arn: self._teardown.add(
                "dataset_import_job", arn, parent=dataset._entry, label=name
            ),
        )
        entry = self._teardown.add(
            "dataset_import_job", adopted.arn, owned=True, parent=dataset._entry, label=name
        )
        job = ImportJob(dataset, adopted.arn, name, uri, mode, csv, entry)
        dataset.imports.append(job)
        logger.info("import job %s started (%s, %s)", name, mode, uri)
        return job

    # ------------------------------------------------------------------ filters

    def filter_arn(self, filter: Filter | str, *, name: str | None = None) -> str:
        """The ARN of a filter in this group, created (and waited for) on first use.

        Args:
            filter: A :class:`personakit.Filter`, an expression string
                (``'EXCLUDE ItemID WHERE Items.GENRES IN ($genres)'``), or a filter
                ARN (returned as is).
            name: The filter's name (default: derived from the expression).

        The expression is parsed and checked (every rule of
        https://docs.aws.amazon.com/personalize/latest/dg/filter-expressions.html, and
        against the schemas of this group's datasets) before ``CreateFilter``, and so is
        the limit of 20 distinct dataset fields over the group's filters
        (https://docs.aws.amazon.com/personalize/latest/dg/filter-expression-guidelines-requirements.html;
        counted over the filters this object created or adopted).
        Filters are cached by their canonical expression and deleted at teardown.

        Raises:
            ValidationError: The expression breaks a filter rule (all problems listed;
                :class:`~personakit.rules.filters.FilterSyntaxError` for a syntax error).
        """
        if isinstance(filter, str) and filter.strip().startswith("arn:"):
            return filter.strip()
        parsed = Filter.parse(filter)
        expression = parsed.expression
        cached = self._filters.get(expression)
        if cached is not None:
            return cached
        schemas = [d.schema for d in self.datasets.values() if d.schema is not None]
        # the distinct fields of the group's filters this object created or adopted
        # count too (the service counts every filter of the group; so does the local engine)
        others = DataReport(group_field_problems(parsed, self._filters), subject="filter")
        parsed.validate(schemas).merge(others).raise_for_problems()
        ctx = self._ctx
        personalize = ctx.personalize
        fname = name or resource_name(self.name, "filter", short_hash(expression, n=10))
        request: dict[str, Any] = {
            "name": fname,
            "datasetGroupArn": self.arn,
            "filterExpression": expression,
            "tags": ctx.tags(),
        }

        def lookup() -> Mapping[str, Any] | None:
            return find_by(
                ctx,
                "list_filters",
                "Filters",
                lambda s: s["name"] == fname,
                datasetGroupArn=self.arn,
            )

        def check(arn: str) -> None:
            theirs = ctx.call(personalize.describe_filter, filterArn=arn)["filter"]
            if theirs.get("filterExpression") != expression:
                raise ConfigurationError(
                    f"a filter named {fname!r} exists with expression "
                    f"{theirs.get('filterExpression')!r}; pass another name"
                )

        adopted, _ = create_and_register(
            ctx,
            self._teardown,
            "filter",
            name=fname,
            create=lambda: personalize.create_filter(**request),
            lookup=lookup,
            arn_key="filterArn",
            parent=self._entry,
            check=check,
        )
        ctx.wait(
            lambda: personalize.describe_filter(filterArn=adopted.arn),
            arn=adopted.arn,
            timeout_s=FILTER_TIMEOUT_S,
            label=fname,
        )
        self._filters[expression] = adopted.arn
        return adopted.arn

    # ------------------------------------------------------------------ training

    @forwards_to(_create_solution)
    def train(self, *args: Any, **kwargs: Any) -> Solution:
        """Create a solution and train its first version: :meth:`Solution.create
        <personakit.personalize.solution.Solution.create>` in this group, same arguments."""
        return _create_solution(self, *args, **kwargs)

    # ------------------------------------------------------------------ recommenders

    @forwards_to(_create_recommender)
    def recommender(self, *args: Any, **kwargs: Any) -> Recommender:
        """Create (or adopt) a recommender of a domain use case: :meth:`Recommender.create
        <personakit.personalize.recommender.Recommender.create>` in this group, same arguments.

        ``use_case`` is a short name of the group's domain: ECOMMERCE
        ``customers-who-viewed-x-also-viewed``, ``best-sellers``,
        ``frequently-bought-together``, ``most-viewed``, ``recommended-for-you``;
        VIDEO_ON_DEMAND ``because-you-watched-x``, ``more-like-x``, ``most-popular``,
        ``top-picks``, ``trending-now``.
        """
        return _create_recommender(self, *args, **kwargs)

    # ------------------------------------------------------------------ events

    @forwards_to(_create_tracker)
    def event_tracker(self, *args: Any, **kwargs: Any) -> EventTracker:
        """The group's event tracker, created (or adopted) on first use: :meth:`EventTracker.create
        <personakit.personalize.events.EventTracker.create>` in this group, same arguments.

        A dataset group has at most one event tracker; a second call returns the
        same object.
        """
        if self._tracker is None or self._tracker._entry.state in ("gone", "left"):
            self._tracker = _create_tracker(self, *args, **kwargs)
        return self._tracker

    def schema_of(self, dataset_type: str | DatasetType) -> Schema | None:
        """The schema of the group's dataset of that type (``None`` if it has none).

        Known from the import, or read once (``DescribeDataset``, ``DescribeSchema``)
        for a dataset found in an attached group.
        """
        dataset = self.datasets.get(DatasetType.parse(dataset_type))
        if dataset is None:
            return None
        if dataset.schema is None:
            dataset.schema_arn, dataset.schema = self._describe_schema_of(dataset.arn)
        return dataset.schema

    # ------------------------------------------------------------------ display

    def __repr__(self) -> str:
        dom = f", domain={self.domain.value}" if self.domain else ""
        return (
            f"DatasetGroup({self.name!r}{dom}, datasets="
            f"[{', '.join(d.value for d in self.datasets)}], owned={self.owned})"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(kind)}</td><td><code>{html.escape(arn)}</code></td>"
            f"<td>{html.escape(state)}</td></tr>"
            for kind, arn, state in self.resources
        )
        dom = f" ({self.domain.value})" if self.domain else ""
        return (
            f"<div><b>DatasetGroup {html.escape(self.name)}</b>{dom}<br>"
            f"<code>{html.escape(self.arn)}</code><table><tr><th>resource</th><th>arn</th>"
            f"<th>state</th></tr>{rows}</table></div>"
        )


def _problem(rule: str, message: str, fix: str | None = None) -> Problem:
    return Problem("error", rule, message, count=1, fix=fix)
