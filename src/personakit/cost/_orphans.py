"""What a crashed run leaves that takes no tags: its uploads and its schemas.

:mod:`~personakit.cost.sweep` finds tagged resources by their ``personakit:run`` tag;
two things personakit makes cannot carry one, and are recognised here instead, by
what personakit provably made:

* **uploads** under the session's bucket and prefix
  (https://docs.aws.amazon.com/personalize/latest/dg/bulk-data-import-step.html):
  a dataset import's CSV is ``<prefix><group>/<run id>/<type>-<n>-<hash>.csv``
  (the run id is in the key), a batch job's folder is ``<prefix>batch/<job>/`` with
  ``input/`` and ``output/`` (its input carries the ``personakit-run`` user metadata;
  older inputs are proven by the job's own run tag, looked up by the sweep);
  everything else under the prefix is not personakit's to delete;
* **schemas** (``CreateSchema`` takes no tags,
  https://docs.aws.amazon.com/personalize/latest/dg/API_CreateSchema.html): personakit
  names a schema ``pk-<dataset type>-<hash>`` after its own Avro JSON and domain, so a
  schema whose name is that function of its content is personakit's.

An upload is due only when no job still running reads or writes it
(:func:`running_locations`); which runs, ages and groups are swept is the sweep's call.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Container, Mapping
from typing import Any, Literal

import attrs
from botocore.exceptions import ClientError

from personakit.aws.context import Ctx
from personakit.aws.paging import s3_objects
from personakit.aws.session import RUN_METADATA
from personakit.aws.wait import personalize_resource
from personakit.cost._scan import aware
from personakit.errors import PersonakitError
from personakit.personalize.base import find_all
from personakit.personalize.group import schema_name
from personakit.personalize.teardown import KINDS, in_flight
from personakit.rules.schema import DatasetType, Schema

__all__ = [
    "BATCH_LISTERS",
    "SCHEMA_NAME",
    "BatchLister",
    "Job",
    "Upload",
    "batch_jobs",
    "covers",
    "our_schema",
    "running_locations",
    "scan_uploads",
]

_TYPES = "|".join(sorted((t.value.lower() for t in DatasetType), key=len, reverse=True))
_NAME = r"[A-Za-z0-9][A-Za-z0-9_-]*"
#: A dataset import's upload under the prefix (``DatasetGroup.import_frame``).
_IMPORT_KEY = re.compile(
    rf"^(?P<group>{_NAME})/(?P<run>[A-Za-z0-9][A-Za-z0-9_-]{{0,39}})/"
    rf"(?:{_TYPES})-\d+-[0-9a-f]{{12}}\.csv$"
)
#: A batch job's folder under the prefix (``Solution.batch_recommend`` / ``batch_segments``).
_BATCH_KEY = re.compile(rf"^batch/(?P<job>{_NAME})/(?P<part>input|output)/")
#: Schema names personakit gives (:func:`personakit.personalize.group.schema_name`).
SCHEMA_NAME = re.compile(rf"^pk-(?P<type>{_TYPES})-[0-9a-f]{{16}}$")
#: Folders of objects not provably personakit's listed one by one; the rest are counted.
_MAX_LISTED = 20

BatchLister = Literal["list_batch_inference_jobs", "list_batch_segment_jobs"]
#: Batch jobs: (kind, lister, list member, ARN member).
BATCH_LISTERS: tuple[tuple[str, BatchLister, str, str], ...] = (
    (
        "batch_inference_job",
        "list_batch_inference_jobs",
        "batchInferenceJobs",
        "batchInferenceJobArn",
    ),
    ("batch_segment_job", "list_batch_segment_jobs", "batchSegmentJobs", "batchSegmentJobArn"),
)


@attrs.frozen(kw_only=True)
class Upload:
    """An object personakit uploaded, or a batch job's folder.

    Attributes:
        kind: ``"s3_object"`` (an import's CSV) or ``"s3_prefix"`` (a batch job's folder).
        bucket: The bucket.
        key: The object's key, or the folder's (ending in ``/``).
        objects: How many objects (1 for an object).
        modified: The newest ``LastModified`` among them.
        run_id: The run that uploaded it, when proven; ``None`` otherwise.
        proof: How ``run_id`` is known.
        group: The dataset group's name (imports).
        job: The batch job's name (batch folders).
    """

    kind: Literal["s3_object", "s3_prefix"]
    bucket: str
    key: str
    objects: int = 1
    modified: dt.datetime | None = None
    run_id: str | None = None
    proof: str = ""
    group: str | None = None
    job: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def _newest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return b if a is None else a if b is None else max(a, b)


def scan_uploads(s3: Any, bucket: str, prefix: str) -> tuple[list[Upload], list[str]]:
    """personakit's uploads under ``prefix`` of ``bucket``, and a note on everything else.

    Returns:
        The imports' objects (their run id from the key) and the batch folders (their
        run id from their input's ``personakit-run`` metadata, or ``None``); and one
        line per folder of other objects (at most 20, then a count): not personakit's.
    """
    uploads: list[Upload] = []
    folders: dict[str, dict[str, Any]] = {}
    others: dict[str, int] = {}
    for obj in s3_objects(s3, bucket, prefix):
        key = str(obj["Key"])
        rest = key[len(prefix) :]
        modified = aware(obj.get("LastModified"))
        if m := _IMPORT_KEY.match(rest):
            uploads.append(
                Upload(
                    kind="s3_object",
                    bucket=bucket,
                    key=key,
                    modified=modified,
                    run_id=m["run"],
                    proof="run id in its key",
                    group=m["group"],
                )
            )
        elif m := _BATCH_KEY.match(rest):
            folder = folders.setdefault(m["job"], {"objects": 0, "modified": None, "input": None})
            folder["objects"] += 1
            folder["modified"] = _newest(folder["modified"], modified)
            if m["part"] == "input" and folder["input"] is None:
                folder["input"] = key
        else:
            top = rest.split("/", 1)[0] + ("/" if "/" in rest else "")
            others[top] = others.get(top, 0) + 1
    for job, folder in folders.items():
        run: str | None = None
        if folder["input"] is not None:
            try:
                head = s3.head_object(Bucket=bucket, Key=folder["input"])
            except ClientError:  # gone meanwhile, or not readable: not proven, so left
                head = {}
            run = (head.get("Metadata") or {}).get(RUN_METADATA) or None
        uploads.append(
            Upload(
                kind="s3_prefix",
                bucket=bucket,
                key=f"{prefix}batch/{job}/",
                objects=int(folder["objects"]),
                modified=folder["modified"],
                run_id=run,
                proof=f"{RUN_METADATA} metadata of its input" if run else "",
                job=job,
            )
        )
    lines = [
        f"s3://{bucket}/{prefix}{top}: {count} object(s) not provably personakit's "
        f"(no run id in the key, no {RUN_METADATA} metadata); left"
        for top, count in sorted(others.items())[:_MAX_LISTED]
    ]
    if len(others) > _MAX_LISTED:
        rest_count = sum(count for _, count in sorted(others.items())[_MAX_LISTED:])
        lines.append(
            f"s3://{bucket}/{prefix}: {rest_count} more object(s) in "
            f"{len(others) - _MAX_LISTED} other folder(s), not personakit's; left"
        )
    return uploads, lines


def covers(location: str, upload: Upload) -> bool:
    """Whether a job reading or writing ``location`` (``s3://...``) needs ``upload``."""
    if upload.kind == "s3_prefix":
        return location.startswith(upload.uri) or upload.uri.startswith(location)
    return location == upload.uri or (location.endswith("/") and upload.uri.startswith(location))


def our_schema(name: str, avro_json: str, domain: str | None) -> bool:
    """Whether a schema's name is the one personakit derives from its content.

    The JSON is taken as stored, then as personakit writes it (should the service have
    reformatted it).
    """
    m = SCHEMA_NAME.match(name)
    if m is None:
        return False
    if schema_name(avro_json, m["type"], domain) == name:
        return True
    try:
        text = Schema.from_json(avro_json, domain=domain or None).to_json()
    except (PersonakitError, ValueError, TypeError, KeyError):
        return False
    return schema_name(text, m["type"], domain) == name


# --------------------------------------------------------------------------- jobs


@attrs.frozen(kw_only=True)
class Job:
    """A batch job, as its ``List*`` summary gives it (``solution``: its solution's ARN)."""

    kind: str
    arn: str
    status: str
    solution: str


def batch_jobs(ctx: Ctx) -> dict[str, Job]:
    """Every batch inference and segment job, by name."""
    out: dict[str, Job] = {}
    for kind, method, key, arn_key in BATCH_LISTERS:
        for job in find_all(ctx, method, key):
            out[str(job.get("jobName"))] = Job(
                kind=kind,
                arn=str(job[arn_key]),
                status=str(job.get("status") or ""),
                solution=str(job.get("solutionVersionArn") or "").rsplit("/", 1)[0],
            )
    return out


def running_locations(
    ctx: Ctx, jobs: Mapping[str, Job], *, swept: Container[str]
) -> dict[str, str]:
    """S3 locations that jobs still running read or write, and which job.

    Jobs in ``swept`` are left out: the sweep lets them settle before deleting anything.
    """
    running = [
        ("dataset_import_job", str(j["datasetImportJobArn"]), str(j.get("jobName")))
        for j in find_all(ctx, "list_dataset_import_jobs", "datasetImportJobs")
        if in_flight(str(j.get("status") or ""))
    ]
    running += [(j.kind, j.arn, name) for name, j in jobs.items() if in_flight(j.status)]
    out: dict[str, str] = {}
    for kind, arn, name in running:
        if arn in swept:
            continue
        spec = KINDS[kind]
        body = personalize_resource(
            ctx.call(getattr(ctx.personalize, spec.describe), **{spec.arn_param: arn})
        )
        paths = [
            (body.get("dataSource") or {}).get("dataLocation"),
            ((body.get("jobInput") or {}).get("s3DataSource") or {}).get("path"),
            ((body.get("jobOutput") or {}).get("s3DataDestination") or {}).get("path"),
        ]
        out.update({str(path): f"{kind.replace('_', ' ')} {name}" for path in paths if path})
    return out
