"""Datasets and their import jobs (one dataset per dataset type of a dataset group)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from personakit.personalize.teardown import Entry

if TYPE_CHECKING:
    from personakit.aws.context import Ctx
    from personakit.rules.schema import DatasetType, FrameLike, Schema
    from personakit.rules.writer import CsvResult

__all__ = ["IMPORT_TIMEOUT_S", "Dataset", "ImportJob", "ImportMode"]

ImportMode = Literal["FULL", "INCREMENTAL"]

#: Default deadline of an import job (seconds).
IMPORT_TIMEOUT_S = 6 * 3600.0


class _Home(Protocol):
    """What a dataset needs of its group (:class:`~personakit.personalize.group.DatasetGroup`)."""

    @property
    def _ctx(self) -> Ctx: ...

    def import_frame(
        self,
        frame: FrameLike,
        dataset_type: str | DatasetType = ...,
        *,
        schema: Schema | str | Mapping[str, Any] | None = ...,
        mode: ImportMode = ...,
        columns: Mapping[str, str] | None = ...,
        wait: bool = ...,
        timeout_s: float = ...,
    ) -> Dataset: ...


# --------------------------------------------------------------------------- import jobs


class ImportJob:
    """One dataset import job: where the data came from and how the import went.

    Attributes:
        arn: The import job's ARN.
        name: Its ``jobName``.
        dataset: The :class:`Dataset` it imports into.
        source: The S3 URI imported (a file or a prefix).
        mode: ``"FULL"`` or ``"INCREMENTAL"``.
        csv: What was written and uploaded (rows, bytes, sha256), or ``None`` for
            :meth:`DatasetGroup.import_s3`.
        status: The last status seen.
        failure_reason: Personalize's ``failureReason`` when it failed.
    """

    def __init__(
        self,
        dataset: Dataset,
        arn: str,
        name: str,
        source: str,
        mode: ImportMode,
        csv: CsvResult | None,
        entry: Entry,
    ) -> None:
        self.dataset = dataset
        self.arn = arn
        self.name = name
        self.source = source
        self.mode = mode
        self.csv = csv
        self.status: str | None = None
        self.failure_reason: str | None = None
        self._entry = entry

    def wait(self, timeout_s: float = IMPORT_TIMEOUT_S) -> ImportJob:
        """Wait until the import is ``ACTIVE``.

        Raises:
            ResourceFailedError: The import failed (``failure_reason`` says why).
            WaitTimeoutError: ``timeout_s`` passed first.
        """
        ctx = self.dataset.group._ctx
        personalize = ctx.personalize
        try:
            result = ctx.wait(
                lambda: personalize.describe_dataset_import_job(datasetImportJobArn=self.arn),
                arn=self.arn,
                timeout_s=timeout_s,
                label=self.name,
            )
        except Exception as exc:
            self.status = getattr(exc, "status", None) or getattr(exc, "last_status", None)
            self.failure_reason = getattr(exc, "failure_reason", None)
            if self.status and "FAILED" in self.status.upper():
                self._entry.state = "settled"
            raise
        self.status = result.status
        self._entry.state = "settled"
        return self

    def __repr__(self) -> str:
        rows = f", rows={self.csv.rows}" if self.csv is not None else ""
        return f"ImportJob({self.name!r}, {self.mode}, status={self.status!r}{rows})"


# --------------------------------------------------------------------------- datasets


class Dataset:
    """A dataset of a :class:`DatasetGroup` (one per dataset type).

    Attributes:
        group: The dataset group.
        arn: The dataset's ARN.
        name: Its name.
        dataset_type: Its :class:`~personakit.rules.schema.DatasetType`.
        schema: Its :class:`~personakit.rules.schema.Schema` (``None`` until known for a
            dataset found in an attached group).
        schema_arn: The schema resource's ARN.
        imports: The import jobs run into it by this object, oldest first.
    """

    def __init__(
        self,
        group: _Home,
        arn: str,
        name: str,
        dataset_type: DatasetType,
        schema: Schema | None,
        schema_arn: str | None,
        entry: Entry,
    ) -> None:
        self.group = group
        self.arn = arn
        self.name = name
        self.dataset_type = dataset_type
        self.schema = schema
        self.schema_arn = schema_arn
        self.imports: list[ImportJob] = []
        self._entry = entry

    @property
    def tracking_id(self) -> str | None:
        """The dataset's ``trackingId`` (Action interactions datasets only)."""
        described = self.group._ctx.call(
            self.group._ctx.personalize.describe_dataset, datasetArn=self.arn
        )
        value = described["dataset"].get("trackingId")
        return None if value is None else str(value)

    def import_frame(
        self,
        frame: FrameLike,
        *,
        mode: ImportMode = "FULL",
        columns: Mapping[str, str] | None = None,
        wait: bool = True,
        timeout_s: float = IMPORT_TIMEOUT_S,
    ) -> Dataset:
        """:meth:`DatasetGroup.import_frame` into this dataset, with its schema."""
        return self.group.import_frame(
            frame,
            self.dataset_type,
            schema=self.schema,
            mode=mode,
            columns=columns,
            wait=wait,
            timeout_s=timeout_s,
        )

    def __repr__(self) -> str:
        return f"Dataset({self.dataset_type.value}, arn={self.arn!r}, imports={len(self.imports)})"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{html.escape(j.name)}</code></td><td>{j.mode}</td>"
            f"<td>{html.escape(str(j.status))}</td>"
            f"<td>{'' if j.csv is None else f'{j.csv.rows:,}'}</td>"
            f"<td><code>{html.escape(j.source)}</code></td></tr>"
            for j in self.imports
        )
        schema = self.schema._repr_html_() if self.schema is not None else ""
        return (
            f"<div><b>{self.dataset_type.value} dataset</b> <code>{html.escape(self.arn)}</code>"
            f"{schema}<table><tr><th>import</th><th>mode</th><th>status</th><th>rows</th>"
            f"<th>source</th></tr>{rows}</table></div>"
        )
