"""The Personalize control-plane twin, and the background work behind it.

:class:`PersonalizeTwin` answers ``boto3.client("personalize")`` requests from the
engine's store; :class:`ControlPlane` (one per engine) walks resources through the
real status strings in background threads, imports CSV data from the S3 twin and
trains models with :mod:`personakit.local.algorithms`.

Status walks (each status lasts at least the engine's ``min_state_s``):

* dataset groups, datasets, solutions, campaigns, event trackers, filters:
  ``CREATE PENDING`` -> ``CREATE IN_PROGRESS`` -> ``ACTIVE``;
* import jobs, solution versions, recommenders, batch inference and batch segment
  jobs (:mod:`personakit.local.batch`): the same, the work done in
  ``CREATE IN_PROGRESS``, ending ``ACTIVE`` or ``CREATE FAILED`` (with
  Personalize's ``failureReason``); a stopped solution version goes
  ``CREATE STOPPING`` -> ``CREATE STOPPED`` (``CREATE PENDING`` -> ``CREATE STOPPED``);
* deletes: ``DELETE PENDING`` (-> ``DELETE IN_PROGRESS``) -> gone
  (``ResourceNotFoundException``); recommenders also ``STOP PENDING`` ->
  ``STOP IN_PROGRESS`` -> ``INACTIVE`` and ``START PENDING`` -> ``START IN_PROGRESS``
  -> ``ACTIVE``; updates walk the ``latest*Update`` status the same way and take
  effect when it reaches ``ACTIVE``.

Crash recovery (a process killed while it owned background work): light walks
are resumed by the next engine; imports and training that had started
(``CREATE IN_PROGRESS``) are marked ``CREATE FAILED`` with a failureReason saying
the process died, because restarting a job that may have killed its process
could kill the next one too; jobs still ``CREATE PENDING`` are resumed.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import re
import secrets
import shutil
import threading
import time
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

import attrs

from personakit.errors import ValidationError
from personakit.local._twin import (
    EngineTwin,
    TwinError,
    from_epoch,
    keep_members,
    page,
    service_model,
)
from personakit.local.store import TRANSITIONAL, Owner, Resource
from personakit.rules.schema import DatasetType, Schema

if TYPE_CHECKING:
    import pyarrow as pa

    from personakit.local.algorithms.base import TrainingData
    from personakit.local.engine import LocalEngine
    from personakit.local.store import Store

__all__ = ["ControlPlane", "GroupData", "PersonalizeTwin", "camel_case"]

logger = logging.getLogger(__name__)

RECIPE_PREFIX: Final = "arn:aws:personalize:::recipe/"
GONE: Final = "GONE"
MIN_INTERACTIONS: Final = 1000
MIN_USERS_WITH_TWO: Final = 25
PENDING_IMPORT_LIMIT: Final = 5
PENDING_VERSION_LIMIT: Final = 20
ACTIVE_CAMPAIGN_LIMIT: Final = 5
RECOMMENDER_LIMIT: Final = 5
FILTER_LIMIT: Final = 30
TAG_KEY_LIMIT: Final = 50
#: Batch inference jobs and batch segment jobs in flight per region (5 each, the
#: first adjustable; reference §8.4 and §5.3, [DG:limits]).
BATCH_JOB_LIMIT: Final = 5
#: ``numResults`` of a batch inference job: default 25, at most 500 (the runtime's
#: cap, reference §5.2/§5.3); a segment holds at most 5 million users ([DG:limits]).
BATCH_MAX_RESULTS: Final = 500
SEGMENT_MAX_USERS: Final = 5_000_000
#: Recipes without batch inference (reference §3.2, §5.3).
_NO_BATCH_RECIPES: Final = frozenset({"aws-trending-now", "aws-vod-trending-now"})

#: Every recipe AWS offers (reference §3.2/§3.3); those the local algorithms lack
#: raise NotImplementedError rather than ResourceNotFoundException.
AWS_RECIPES: Final = frozenset(
    {
        "aws-user-personalization-v2",
        "aws-user-personalization",
        "aws-trending-now",
        "aws-popularity-count",
        "aws-personalized-ranking-v2",
        "aws-personalized-ranking",
        "aws-similar-items",
        "aws-sims",
        "aws-semantic-similarity",
        "aws-next-best-action",
        "aws-item-affinity",
        "aws-item-attribute-affinity",
        "aws-hrnn",
        "aws-hrnn-metadata",
        "aws-hrnn-coldstart",
    }
)
DOMAIN_RECIPES: Final[dict[str, tuple[str, ...]]] = {
    "ECOMMERCE": (
        "aws-ecomm-popular-items-by-views",
        "aws-ecomm-popular-items-by-purchases",
        "aws-ecomm-frequently-bought-together",
        "aws-ecomm-customers-who-viewed-x-also-viewed",
        "aws-ecomm-recommended-for-you",
    ),
    "VIDEO_ON_DEMAND": (
        "aws-vod-because-you-watched-x",
        "aws-vod-more-like-x",
        "aws-vod-most-popular",
        "aws-vod-trending-now",
        "aws-vod-top-picks",
    ),
}
_DOMAIN_OF_RECIPE: Final = {r: d for d, names in DOMAIN_RECIPES.items() for r in names}
_UPDATE_RECIPES: Final = frozenset({"aws-user-personalization", "aws-hrnn-coldstart"})

_ID_FIELD: Final = {
    DatasetType.ITEMS: "ITEM_ID",
    DatasetType.USERS: "USER_ID",
    DatasetType.ACTIONS: "ACTION_ID",
}
_IN_FLIGHT: Final = ("CREATE PENDING", "CREATE IN_PROGRESS")


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
    )
}
_UPDATE_KEY: Final = {
    "campaign": "latestCampaignUpdate",
    "solution": "latestSolutionUpdate",
    "recommender": "latestRecommenderUpdate",
    "dataset": "latestDatasetUpdate",
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


def camel_case(field: str) -> str:
    """``NUMBER_OF_RATINGS`` -> ``numberOfRatings`` (PutItems/PutUsers/PutEvents keys)."""
    parts = [p for p in field.lower().split("_") if p]
    if not parts:
        return field
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


# --------------------------------------------------------------------------- errors


def not_found(arn: str) -> TwinError:
    return TwinError("ResourceNotFoundException", f"Resource Arn {arn} does not exist.")


def exists(arn: str) -> TwinError:
    return TwinError(
        "ResourceAlreadyExistsException", f"Another resource with Arn {arn} already exists."
    )


def in_use(message: str) -> TwinError:
    return TwinError("ResourceInUseException", message)


def invalid(message: str) -> TwinError:
    return TwinError("InvalidInputException", message)


def limit(message: str) -> TwinError:
    return TwinError("LimitExceededException", message)


class JobFailed(Exception):
    """An import or a training failed; the message is the ``failureReason``."""


class FilterUnusable(Exception):
    """A filter cannot be applied: it is gone, not ACTIVE, or of another dataset group.

    Raised by :meth:`ControlPlane.resolve_filter`; each twin maps it to its own
    error (the runtime twin to ``ResourceNotFoundException`` or
    ``InvalidInputException``, a batch job to its ``failureReason``).

    Attributes:
        arn: The filter's ARN.
        reason: ``"missing"``, ``"inactive"`` or ``"foreign"`` (another dataset group).
        status: The filter's status (for ``"inactive"`` and ``"foreign"``), else None.
    """

    def __init__(self, arn: str, reason: str, status: str | None = None) -> None:
        if reason == "missing":
            message = f"The filter {arn} does not exist."
        elif reason == "inactive":
            message = f"The filter {arn} is not ACTIVE (status: {status})."
        else:
            message = f"The filter {arn} belongs to another dataset group."
        super().__init__(message)
        self.arn = arn
        self.reason = reason
        self.status = status


# --------------------------------------------------------------------------- data


def arrow_type(field_type: str) -> pa.DataType:
    import pyarrow as pa

    types: dict[str, pa.DataType] = {
        "string": pa.string(),
        "int": pa.int32(),
        "long": pa.int64(),
        "float": pa.float32(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
    }
    return types[field_type]


def arrow_schema(schema: Schema) -> pa.Schema:
    import pyarrow as pa

    return pa.schema([pa.field(f.name, arrow_type(f.type)) for f in schema.fields])


def conform(table: pa.Table, schema: Schema) -> pa.Table:
    """``table`` with exactly the schema's columns, in order and type (missing -> null)."""
    import pyarrow as pa

    columns = []
    for f in schema.fields:
        t = arrow_type(f.type)
        if f.name in table.column_names:
            col = table.column(f.name)
            columns.append(col if col.type == t else col.cast(t, safe=False))
        else:
            columns.append(pa.nulls(len(table), cast(Any, t)))
    return pa.Table.from_arrays(columns, schema=arrow_schema(schema))


def dedupe_last(table: pa.Table, id_field: str) -> pa.Table:
    """Keep the last row of every id (INCREMENTAL imports and Put* replace same-id records)."""
    import numpy as np

    if len(table) == 0:
        return table
    ids = np.asarray(table.column(id_field).to_pylist(), dtype=object)
    rev = ids[::-1]
    _, first_in_rev = np.unique(rev.astype(str), return_index=True)
    keep = np.sort(len(ids) - 1 - first_in_rev)
    return table.take(keep)


_LIMIT_HINT = (
    " If no values exceed the character limit, make sure your data follows the formatting "
    "guidelines listed in https://docs.aws.amazon.com/personalize/latest/dg/data-prep-formatting.html."
)


def read_csv(path: Path, schema: Schema, uri: str) -> pa.Table:
    """One bulk CSV, checked like Personalize's import: headers, types, nulls, lengths."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    with path.open("rb") as fh:
        first = fh.readline()
    try:
        header = next(csv.reader([first.decode("utf-8-sig").rstrip("\r\n")]), [])
    except UnicodeDecodeError:
        raise JobFailed(f"{uri} is not UTF-8 encoded text.") from None
    header = [h.strip() for h in header]
    missing = [name for name in schema.names if name not in header]
    if missing:
        raise JobFailed(f"Input CSV is missing the following columns: [{', '.join(missing)}]")
    types = {f.name: arrow_type(f.type) for f in schema.fields}
    try:
        table = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pcsv.ParseOptions(escape_char="\\", newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types=types,
                include_columns=list(schema.names),
                strings_can_be_null=True,
                null_values=[""],
                true_values=["true", "True", "TRUE", "1"],
                false_values=["false", "False", "FALSE", "0"],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError) as exc:
        text = str(exc)
        found = re.match(r"In CSV column #(\d+): CSV conversion error to \w+: (.*)", text)
        if found and int(found.group(1)) < len(header):
            name = header[int(found.group(1))]
            kind = schema[name].type if name in schema else "value"
            text = f"column {name} ({kind}): {found.group(2)}"
        raise JobFailed(f"Failed to parse {uri}: {text}") from None
    for f in schema.fields:
        col = table.column(f.name)
        if col.null_count and not f.nullable:
            raise JobFailed(
                f"Column {f.name} has {col.null_count} empty values in {uri}, but the schema "
                f'field is not nullable (declare it as ["null", "{f.type}"]).'
            )
        if f.type != "string":
            continue
        if f.name in ("USER_ID", "ITEM_ID", "ACTION_ID"):
            cap: int | None = 256
        elif f.textual:
            cap = None  # textual values longer than 20,000 characters are truncated
        elif f.categorical or schema.dataset_type is DatasetType.ITEMS or f.name == "IMPRESSION":
            cap = 1000
        else:
            cap = None
        if cap is not None and len(col):
            longest = pc.max(pc.utf8_length(col)).as_py()
            if longest is not None and longest > cap:
                raise JobFailed(
                    f"Length cannot be more than {cap} characters for {f.name}.{_LIMIT_HINT}"
                )
    return conform(table, schema)


@attrs.define
class _Table:
    schema: Schema
    table: pa.Table


class GroupData:
    """The data of one dataset group: bulk imports plus Put* records and events.

    ``upto_event`` caps the recorded events (the id of the last one a model was
    trained with), so training sees one consistent snapshot.
    """

    def __init__(self, plane: ControlPlane, group_arn: str, *, upto_event: int | None = None):
        self.plane = plane
        self.store = plane.store
        self.group_arn = group_arn
        self.upto_event = upto_event
        self._tables: dict[DatasetType, _Table | None] = {}
        self._item_ids: list[str] | None = None

    def dataset(self, dtype: DatasetType) -> Resource | None:
        for res in self.store.find("dataset", parent=self.group_arn):
            if DatasetType.parse(res.body["datasetType"]) is dtype and res.status not in (
                "DELETE PENDING",
                "DELETE IN_PROGRESS",
            ):
                return res
        return None

    def schema(self, dtype: DatasetType) -> Schema | None:
        res = self.dataset(dtype)
        return self.plane.schema_of(res) if res is not None else None

    def table(self, dtype: DatasetType) -> pa.Table | None:
        """The dataset's rows (schema columns), or None if the group has no such dataset."""
        if dtype not in self._tables:
            self._tables[dtype] = self._load(dtype)
        found = self._tables[dtype]
        return found.table if found is not None else None

    def item_ids(self) -> list[str]:
        """The catalogue: Items ids and every item with interactions, sorted."""
        if self._item_ids is None:
            import pyarrow.compute as pc

            ids: set[str] = set()
            for dtype in (DatasetType.ITEMS, DatasetType.INTERACTIONS):
                table = self.table(dtype)
                if table is not None and len(table):
                    ids.update(v for v in pc.unique(table.column("ITEM_ID")).to_pylist() if v)
            self._item_ids = sorted(ids)
        return self._item_ids

    def _load(self, dtype: DatasetType) -> _Table | None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        res = self.dataset(dtype)
        if res is None:
            return None
        schema = self.plane.schema_of(res)
        parts: list[pa.Table] = []
        data_file = self.plane.data_file(res)
        if data_file is not None:
            parts.append(conform(pq.read_table(data_file), schema))
        if dtype is DatasetType.INTERACTIONS:
            parts.append(self._events(schema))
        elif dtype in _ID_FIELD:
            records = self.store.records(res.arn)
            if records:
                rows = [{**props, _ID_FIELD[dtype]: rid} for rid, props in records]
                parts.append(conform(pa.Table.from_pylist(rows), schema))
        parts = [p for p in parts if len(p)]
        table = pa.concat_tables(parts) if parts else arrow_schema(schema).empty_table()
        if dtype in _ID_FIELD:
            table = dedupe_last(table, _ID_FIELD[dtype])
        return _Table(schema, table)

    def _events(self, schema: Schema) -> pa.Table:
        import pyarrow as pa

        rows = []
        for ev in self.store.events(self.group_arn, upto=self.upto_event):
            row: dict[str, Any] = json.loads(ev["properties"] or "{}")
            row.update(
                USER_ID=ev["user_id"] or ev["session_id"],
                ITEM_ID=ev["item_id"],
                TIMESTAMP=int(ev["sent_at"]),
                EVENT_TYPE=ev["event_type"],
                EVENT_VALUE=ev["event_value"],
                RECOMMENDATION_ID=ev["recommendation_id"],
                IMPRESSION=ev["impression"],
            )
            rows.append(row)
        if not rows:
            return arrow_schema(schema).empty_table()
        return conform(pa.Table.from_pylist(rows), schema)

    # ------------------------------------------------------------------ training data
    def training_data(
        self, *, event_type: str | None = None, event_value_threshold: float | None = None
    ) -> TrainingData:
        """Integer-coded interactions (filtered like a solution's eventType/threshold)."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as _pc

        pc: Any = _pc  # the stubs' overloads do not follow ChunkedArray columns

        from personakit.local.algorithms.base import TrainingData

        inter: Any = self.table(DatasetType.INTERACTIONS)
        if inter is None:
            raise JobFailed(
                "Create failed. The dataset group has no Item interactions dataset; "
                "create one and import data first."
            )
        inter = inter.filter(
            pc.and_(pc.is_valid(inter.column("USER_ID")), pc.is_valid(inter.column("ITEM_ID")))
        )
        if event_type and "EVENT_TYPE" in inter.column_names:
            inter = inter.filter(pc.equal(inter.column("EVENT_TYPE"), pa.scalar(event_type)))
        elif event_type:
            inter = inter.slice(0, 0)
        if event_value_threshold is not None and "EVENT_VALUE" in inter.column_names:
            values = pc.fill_null(inter.column("EVENT_VALUE").cast(pa.float64()), -math.inf)
            inter = inter.filter(pc.greater_equal(values, event_value_threshold))
        users = np.asarray(inter.column("USER_ID").to_pylist(), dtype=np.str_)
        items = np.asarray(inter.column("ITEM_ID").to_pylist(), dtype=np.str_)
        stamps = np.asarray(
            pc.fill_null(inter.column("TIMESTAMP").cast(pa.int64()), 0).to_numpy(), dtype=np.int64
        )
        order = np.argsort(stamps, kind="stable")
        users, items, stamps = users[order], items[order], stamps[order]
        item_table = self.table(DatasetType.ITEMS)
        user_table = self.table(DatasetType.USERS)
        known_items = (
            np.asarray(item_table.column("ITEM_ID").to_pylist(), dtype=np.str_)
            if item_table is not None and len(item_table)
            else np.zeros(0, dtype=np.str_)
        )
        known_users = (
            np.asarray(user_table.column("USER_ID").to_pylist(), dtype=np.str_)
            if user_table is not None and len(user_table)
            else np.zeros(0, dtype=np.str_)
        )
        user_ids = np.unique(np.concatenate([users, known_users])).astype(np.str_)
        item_ids = np.unique(np.concatenate([items, known_items])).astype(np.str_)
        event_types = None
        if "EVENT_TYPE" in inter.column_names:
            event_types = np.asarray(
                pc.fill_null(inter.column("EVENT_TYPE"), "").to_pylist(), dtype=str
            )[order]
        event_values = None
        if "EVENT_VALUE" in inter.column_names:
            event_values = np.asarray(
                inter.column("EVENT_VALUE").cast(pa.float64()).to_numpy(zero_copy_only=False),
                dtype=np.float32,
            )[order]
        item_meta, creation = self._metadata(item_table, "ITEM_ID", item_ids, items=True)
        user_meta, _ = self._metadata(user_table, "USER_ID", user_ids, items=False)
        return TrainingData(
            user_ids=user_ids,
            item_ids=item_ids,
            users=np.searchsorted(user_ids, users).astype(np.int32),
            items=np.searchsorted(item_ids, items).astype(np.int32),
            timestamps=stamps,
            event_types=event_types,
            event_values=event_values,
            item_metadata=item_meta,
            user_metadata=user_meta,
            creation_timestamps=creation,
        )

    @staticmethod
    def _metadata(
        table: pa.Table | None, id_field: str, ids: Any, *, items: bool
    ) -> tuple[dict[str, Any], Any]:
        import numpy as np
        import pyarrow as pa

        meta: dict[str, Any] = {}
        creation = None
        if table is None or not len(table):
            return meta, creation
        positions = np.searchsorted(ids, np.asarray(table.column(id_field).to_pylist(), dtype=str))
        for name in table.column_names:
            if name == id_field:
                continue
            col = table.column(name)
            if items and name == "CREATION_TIMESTAMP":
                stamps = np.zeros(len(ids), dtype=np.int64)
                values = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
                stamps[positions] = np.nan_to_num(values, nan=0.0).astype(np.int64)
                creation = stamps
                continue
            out = np.full(len(ids), None, dtype=object)
            raw = col.to_pylist()
            if pa.types.is_boolean(col.type):
                raw = [None if v is None else str(v) for v in raw]
            elif pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
                raw = [None if v is None else float(v) for v in raw]
            out[positions] = np.asarray(raw, dtype=object)
            meta[name] = out
        return meta, creation


def check_minimums(data: TrainingData, *, event_type: str | None, domain: bool = False) -> None:
    """Personalize's training minimums (reference §2.1), with its failure reasons."""
    import numpy as np

    if data.n_interactions < MIN_INTERACTIONS:
        if event_type:
            prefix = "" if domain else "Create failed. "
            raise JobFailed(
                f"{prefix}Dataset has fewer than {MIN_INTERACTIONS} interactions after "
                f"filtering by event type: {event_type}"
            )
        raise JobFailed(f"Create failed. Dataset has fewer than {MIN_INTERACTIONS} interactions.")
    per_user = np.bincount(np.asarray(data.users), minlength=data.n_users)
    active = per_user[per_user > 0]
    with_two = int((active >= 2).sum())
    if with_two < MIN_USERS_WITH_TWO:
        raise JobFailed(
            f"Create failed. Dataset has fewer than {MIN_USERS_WITH_TWO} users with at least "
            "2 interactions each."
        )
    if with_two < 0.01 * len(active):
        raise JobFailed(
            "Create failed. Fewer than 1% of the users in the dataset have at least "
            "2 interactions each."
        )


# --------------------------------------------------------------------------- control plane


class ControlPlane:
    """Background work of one engine: status walks, imports, training, recovery."""

    def __init__(self, engine: LocalEngine) -> None:
        self.engine = engine
        self.store: Store = engine.store
        self.owner = engine.store.owner
        self.prefix = f"arn:aws:personalize:{engine.region}:{engine.account_id}"
        self._data: OrderedDict[str, tuple[Any, GroupData]] = OrderedDict()
        self._data_lock = threading.Lock()

    # ------------------------------------------------------------------ names and paths
    def arn(self, kind: str, *parts: str) -> str:
        return f"{self.prefix}:{kind}/{'/'.join(parts)}"

    def artifact_dir(self, res: Resource) -> Path:
        folder = "models" if res.kind in ("solution-version", "recommender") else "datasets"
        return self.store.artifacts / folder / str(res.body["_id"])

    def data_file(self, dataset: Resource) -> Path | None:
        data = dataset.body.get("_data")
        if not data:
            return None
        return self.artifact_dir(dataset) / str(data["file"])

    def schema_of(self, dataset: Resource) -> Schema:
        schema_res = self.store.get(dataset.body["schemaArn"])
        if schema_res is None:  # pragma: no cover - schemas in use cannot be deleted
            raise JobFailed(f"the schema {dataset.body['schemaArn']} no longer exists")
        return Schema.from_json(schema_res.body["schema"], domain=schema_res.body.get("domain"))

    def group_data(self, group: str) -> GroupData:
        """The current data of a dataset group, cached until an import, Put* or event."""
        version = self._data_version(group)
        with self._data_lock:
            hit = self._data.get(group)
            if hit is not None and hit[0] == version:
                self._data.move_to_end(group)
                return hit[1]
        data = GroupData(self, group)
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

    def start_update(self, res: Resource, changes: Mapping[str, Any]) -> None:
        """Begin an update walk (``latest*Update``); ``changes`` apply when it is ACTIVE."""
        now = time.time()
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
            paths.append(self.artifact_dir(res))
            for job in self.store.find("dataset-import-job", parent=res.arn):
                self.store.delete(job.arn)
            conn.execute("DELETE FROM records WHERE dataset = ?", (res.arn,))
        elif res.kind == "solution":
            for version in self.store.find("solution-version", parent=res.arn):
                paths.append(self.artifact_dir(version))
                self.store.delete(version.arn)
        elif res.kind == "recommender":
            paths.append(self.artifact_dir(res))
        elif res.kind == "dataset-group":
            conn.execute("DELETE FROM events WHERE dataset_group = ?", (res.arn,))
        self.store.delete(res.arn)
        return paths

    # ------------------------------------------------------------------ recovery
    def recover(self) -> None:
        """Take over (or fail) the background work of engines whose process died."""
        if self.engine.closed:
            return
        rows = self.store.transitional()
        alive: dict[str | None, bool] = {self.owner.token: True}
        resume: list[str] = []
        for row in rows:
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
        referenced: dict[str, Resource] = {}
        for res in self.store.find():
            if "_id" in res.body:
                referenced[str(res.body["_id"])] = res
        for folder in ("datasets", "models"):
            base = self.store.artifacts / folder
            if not base.is_dir():
                continue
            for path in base.iterdir():
                if path.name.startswith("."):
                    continue
                owner = referenced.get(path.name)
                if owner is None or owner.status in ("CREATE FAILED", "CREATE STOPPED"):
                    shutil.rmtree(path, ignore_errors=True)
                elif owner.kind == "dataset":
                    self._sweep_dataset(owner, path, referenced)

    def _sweep_dataset(self, dataset: Resource, folder: Path, ids: Mapping[str, Resource]) -> None:
        current = (dataset.body.get("_data") or {}).get("file")
        for path in folder.glob("data-*.parquet"):
            if path.name == current:
                continue
            job = ids.get(path.stem.removeprefix("data-"))
            if job is not None and job.status in _IN_FLIGHT:
                continue
            with suppress(OSError):
                path.unlink()

    # ------------------------------------------------------------------ heavy jobs
    def run_job(self, arn: str) -> None:
        """Run the work of a job that just entered CREATE IN_PROGRESS."""
        res = self.store.get(arn)
        if res is None or res.status != "CREATE IN_PROGRESS" or res.owner != self.owner.token:
            return
        started = time.time()
        try:
            if res.kind == "dataset-import-job":
                self._run_import(res)
                return
            if res.kind in ("batch-inference-job", "batch-segment-job"):
                from personakit.local.batch import run_batch_job

                run_batch_job(self, res)
                self.finish(arn, "ACTIVE")
                return
            if res.kind == "solution-version":
                changes = self._train_version(res)
            else:
                changes = self._train_recommender(res)
        except JobFailed as exc:
            self.finish(arn, "CREATE FAILED", reason=str(exc))
            return
        except _Stopped:
            return
        except Exception as exc:  # a bug or a bad hyperparameter: fail the job, say why
            if self.engine.closed:  # the engine closed under the job: nothing to report to
                return
            logger.exception("personakit local engine: %s failed", arn)
            self.finish(arn, "CREATE FAILED", reason=f"{type(exc).__name__}: {exc}")
            return
        if res.kind == "solution-version":
            changes["trainingHours"] = round((time.time() - started) / 3600.0, 6)
        if not self.finish(arn, "ACTIVE", body=changes) and not self.engine.closed:
            # stopped, deleted or failed meanwhile: the model it saved serves nothing
            fresh = self.store.get(arn)
            if fresh is None or fresh.status != "ACTIVE":
                shutil.rmtree(self.artifact_dir(res), ignore_errors=True)

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

    def _check_running(self, arn: str) -> None:
        res = self.store.get(arn)
        if (
            self.engine.closed
            or res is None
            or res.status != "CREATE IN_PROGRESS"
            or res.owner != self.owner.token
        ):
            raise _Stopped

    # imports ----------------------------------------------------------------
    def _run_import(self, job: Resource) -> None:
        dataset = self.store.get(str(job.parent))
        if dataset is None:
            self.finish(job.arn, "CREATE FAILED", reason="The dataset no longer exists.")
            return
        uri = str(job.body["dataSource"]["dataLocation"])
        try:
            schema = self.schema_of(dataset)
            tables = [read_csv(path, schema, f"s3://{b}/{k}") for b, k, path in self._sources(uri)]
        except JobFailed as exc:
            self.finish(job.arn, "CREATE FAILED", reason=str(exc))
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        new = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        dtype = DatasetType.parse(dataset.body["datasetType"])
        incremental = job.body.get("importMode") == "INCREMENTAL"
        folder = self.artifact_dir(dataset)
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"data-{job.body['_id']}.parquet"
        for _ in range(5):
            dataset = self.store.get(dataset.arn)
            if dataset is None:
                self.finish(job.arn, "CREATE FAILED", reason="The dataset was deleted.")
                return
            schema = self.schema_of(dataset)
            previous = self.data_file(dataset)
            merged = conform(new, schema)
            if incremental and previous is not None and previous.exists():
                merged = pa.concat_tables([conform(pq.read_table(previous), schema), merged])
            if dtype in _ID_FIELD:
                merged = dedupe_last(merged, _ID_FIELD[dtype])
            tmp = self.store.tmp_path(final)
            pq.write_table(merged, tmp)
            os.replace(tmp, final)
            expected = (dataset.body.get("_data") or {}).get("file")

            def commit(
                _: Resource,
                arn: str = dataset.arn,
                expected: Any = expected,
                rows: int = len(merged),
            ) -> bool:
                current = self.store.get(arn)
                if current is None or (current.body.get("_data") or {}).get("file") != expected:
                    return False
                current.body["_data"] = {"file": final.name, "rows": rows}
                current.updated = time.time()
                self.store.save(current)
                return True

            if self.finish(job.arn, "ACTIVE", also=commit):
                if previous is not None and previous != final:
                    with suppress(OSError):
                        previous.unlink()
                return
            fresh = self.store.get(job.arn)
            if fresh is None or fresh.status != "CREATE IN_PROGRESS":
                with suppress(OSError):
                    final.unlink()
                return
        self.finish(job.arn, "CREATE FAILED", reason="Concurrent imports kept replacing the data.")

    def _sources(self, uri: str) -> list[tuple[str, str, Path]]:
        from personakit.local.s3 import S3Objects

        objects = S3Objects(self.store)
        bucket, _, key = uri[len("s3://") :].partition("/")
        if objects.bucket(bucket) is None:
            raise JobFailed(f"Invalid Data location. The bucket {bucket} does not exist.")
        if key and not key.endswith("/"):
            row = objects.get(bucket, key)
            if row is None:
                raise JobFailed(f"Invalid Data location. No file exists at {uri}.")
            return [(bucket, key, objects.path_of(row))]
        rows = [
            r
            for r in objects.keys(bucket, key)
            if r["key"].lower().endswith(".csv") and "/" not in r["key"][len(key) :]
        ]
        if not rows:
            raise JobFailed(f"Invalid Data location. No CSV files found in {uri}.")
        return [(bucket, r["key"], objects.path_of(r)) for r in rows]

    # training ---------------------------------------------------------------
    def _hyperparameters(self, body: Mapping[str, Any]) -> dict[str, str]:
        config = body.get("solutionConfig") or {}
        hyper = {str(k): str(v) for k, v in (config.get("algorithmHyperParameters") or {}).items()}
        if body.get("performHPO") and "hpo" not in hyper:
            hyper["hpo"] = "true"
        return hyper

    def _train_version(self, version: Resource) -> dict[str, Any]:
        from personakit.local import algorithms

        body = version.body
        group = str(body["datasetGroupArn"])
        recipe = algorithms.recipe_name(str(body["recipeArn"]))
        cutoff = self.store.last_event_id(group)
        config = body.get("solutionConfig") or {}
        threshold = config.get("eventValueThreshold")
        event_type = body.get("eventType") or None
        data = GroupData(self, group, upto_event=cutoff).training_data(
            event_type=event_type,
            event_value_threshold=float(threshold) if threshold not in (None, "") else None,
        )
        check_minimums(
            data,
            event_type=event_type or (f"value >= {threshold}" if threshold else None),
        )
        hyper = self._hyperparameters(body)
        seed = zlib.crc32(str(body["solutionArn"]).encode()) & 0x7FFFFFFF
        self._check_running(version.arn)
        # one hyperparameter search per version: the metrics run tunes on its training
        # users, the final fit reuses the outcome
        metrics, tuned = self._evaluate(recipe, data, hyper, seed)
        self._check_running(version.arn)
        model = algorithms.train(recipe, data, hyper, seed=seed, tuned=tuned)
        self._check_running(version.arn)
        self._save_model(version, model)
        changes: dict[str, Any] = {"_metrics": metrics, "_cutoff": cutoff}
        if body.get("performHPO"):
            effective = getattr(model, "hyperparameters", None)
            if isinstance(effective, Mapping):
                changes["tunedHPOParams"] = {
                    "algorithmHyperParameters": {str(k): str(v) for k, v in effective.items()}
                }
        return changes

    def _train_recommender(self, rec: Resource) -> dict[str, Any]:
        import numpy as np

        from personakit.local import algorithms

        group = str(rec.body["datasetGroupArn"])
        recipe = algorithms.recipe_name(str(rec.body["recipeArn"]))
        cutoff = self.store.last_event_id(group)
        data = GroupData(self, group, upto_event=cutoff).training_data()
        wanted = algorithms.recipe_event_type(recipe)
        if wanted:
            types = (
                np.asarray(data.event_types).astype(str)
                if data.event_types is not None
                else np.zeros(0, dtype=str)
            )
            count = int((types == wanted).sum()) or int(
                (np.char.lower(types) == wanted.lower()).sum()
            )
            if count < MIN_INTERACTIONS:
                raise JobFailed(
                    f"Dataset has fewer than {MIN_INTERACTIONS} interactions after filtering by "
                    f"event type: {wanted}"
                )
        check_minimums(data, event_type=None, domain=True)
        seed = zlib.crc32(rec.arn.encode()) & 0x7FFFFFFF
        self._check_running(rec.arn)
        metrics, tuned = self._evaluate(recipe, data, {}, seed)
        self._check_running(rec.arn)
        model = algorithms.train(recipe, data, {}, seed=seed, tuned=tuned)
        self._check_running(rec.arn)
        self._save_model(rec, model)
        return {"modelMetrics": metrics, "_cutoff": cutoff}

    @staticmethod
    def _evaluate(
        recipe: str, data: TrainingData, hyper: Mapping[str, str], seed: int
    ) -> tuple[dict[str, float], dict[str, Any]]:
        """The metrics run: (metrics, the tuned hyperparameters the final fit reuses)."""
        from personakit.local.evaluation import evaluate_and_tune

        result = evaluate_and_tune(recipe, data, hyper, seed=seed)
        metrics = {str(k): float(v) for k, v in result.metrics.items() if math.isfinite(float(v))}
        return metrics, result.tuned

    def _save_model(self, res: Resource, model: Any) -> None:
        final = self.artifact_dir(res)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.store.tmp_path(final)
        tmp.mkdir(parents=True)
        try:
            model.save(tmp)
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def model_folder(self, res: Resource) -> Path:
        return self.artifact_dir(res)

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


class _Stopped(Exception):
    """The job was stopped, deleted or taken over while it ran."""


# --------------------------------------------------------------------------- the twin


def _tags(params: Mapping[str, Any], *, limit_count: bool = True) -> list[dict[str, str]]:
    tags = [dict(t) for t in params.get("tags") or []]
    if limit_count and len(tags) > TAG_KEY_LIMIT:
        raise TwinError(
            "TooManyTagsException",
            f"The request has {len(tags)} tags; a resource can have at most {TAG_KEY_LIMIT}.",
        )
    for tag in tags:
        if tag["tagKey"].lower().startswith("aws:"):
            raise invalid(f"Tag keys cannot start with 'aws:' ({tag['tagKey']}).")
    return tags


class PersonalizeTwin(EngineTwin):
    """Offline twin of ``boto3.client("personalize")``; see the module docstring."""

    service_name = "personalize"

    def __init__(self, engine: LocalEngine, *, region_name: str | None = None) -> None:
        super().__init__(engine, region_name=region_name)
        self._plane = engine.control

    # ------------------------------------------------------------------ generic helpers
    def _get(self, arn: str, kind: str | Sequence[str]) -> Resource:
        kinds = (kind,) if isinstance(kind, str) else tuple(kind)
        res = self._store.get(arn)
        if res is None or res.kind not in kinds:
            raise not_found(arn)
        return res

    def _active(self, arn: str, kind: str, what: str) -> Resource:
        res = self._get(arn, kind)
        if res.status != "ACTIVE":
            raise in_use(f"The {what} {arn} is not in ACTIVE state (status: {res.status}).")
        return res

    def _view(self, res: Resource) -> dict[str, Any]:
        kind = KINDS[res.kind]
        out: dict[str, Any] = {k: v for k, v in res.body.items() if not k.startswith("_")}
        out[kind.name_key] = res.name
        out[kind.arn_key] = res.arn
        if res.status is not None:
            out["status"] = res.status
        out["creationDateTime"] = from_epoch(res.created)
        out["lastUpdatedDateTime"] = from_epoch(res.updated)
        if res.failure_reason:
            out["failureReason"] = res.failure_reason
        update = res.body.get("_update")
        if update and res.kind in _UPDATE_KEY:
            summary: dict[str, Any] = dict(update["changes"])
            summary.update(
                status=update["status"],
                creationDateTime=from_epoch(update["created"]),
                lastUpdatedDateTime=from_epoch(update["updated"]),
            )
            out[_UPDATE_KEY[res.kind]] = summary
        if res.kind == "solution":
            versions = self._store.find("solution-version", parent=res.arn)
            if versions:
                out["latestSolutionVersion"] = self._summary(versions[0])
        if res.kind == "solution-version" and res.status == "ACTIVE":
            out.setdefault("trainingHours", 0.0)
        return out

    def _shape(self, op: str, key: str) -> Any:
        shape = service_model("personalize").operation_model(op).output_shape
        assert shape is not None
        return shape.members[key]

    def _describe(self, kind_name: str, arn: str) -> dict[str, Any]:
        kind = KINDS[kind_name]
        res = self._get(arn, kind_name)
        shape = self._shape(f"Describe{kind.op}", kind.describe_key)
        return {kind.describe_key: _deep_keep(self._view(res), shape)}

    def _summary(self, res: Resource) -> dict[str, Any]:
        kind = KINDS[res.kind]
        shape = self._shape(f"List{kind.op}s", kind.list_key).member
        return _deep_keep(self._view(res), shape)

    def _list(
        self,
        kind_name: str,
        p: Mapping[str, Any],
        *,
        parent: str | None = None,
        where: str = "",
        args: Sequence[Any] = (),
    ) -> dict[str, Any]:
        kind = KINDS[kind_name]
        found = self._store.find(kind_name, parent=parent, where=where, args=args)
        chunk, token = page(found, p, salt=f"{kind_name}|{parent}|{list(args)}")
        out: dict[str, Any] = {kind.list_key: [self._summary(r) for r in chunk]}
        if token:
            out["nextToken"] = token
        return out

    def _delete_checks(self, res: Resource, what: str) -> None:
        if res.status in ("DELETE PENDING", "DELETE IN_PROGRESS"):
            raise in_use(f"The {what} {res.arn} is already being deleted.")
        if res.status in TRANSITIONAL or res.sub_status in TRANSITIONAL:
            raise in_use(
                f"The {what} {res.arn} cannot be deleted while its status is "
                f"{res.sub_status if res.sub_status in TRANSITIONAL else res.status}."
            )

    def _start_delete(self, res: Resource) -> dict[str, Any]:
        with self._store.tx():
            fresh = self._store.get(res.arn)
            if fresh is None:
                raise not_found(res.arn)
            self._plane.set_status(fresh, "DELETE PENDING")
            self._store.save(fresh)
        self._plane.schedule(res.arn)
        return {}

    def _alive(self, kind: str, parent: str) -> list[Resource]:
        return self._store.find(kind, parent=parent)

    # ------------------------------------------------------------------ dataset groups
    def _op_CreateDatasetGroup(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("kmsKeyArn") and not p.get("roleArn"):
            raise invalid("A roleArn that can use the KMS key is required with kmsKeyArn.")
        arn = self._plane.arn("dataset-group", p["name"])
        body = {k: p[k] for k in ("roleArn", "kmsKeyArn", "domain") if p.get(k)}
        self._plane.new("dataset-group", arn, p["name"], parent=None, body=body, tags=_tags(p))
        out: dict[str, Any] = {"datasetGroupArn": arn}
        if p.get("domain"):
            out["domain"] = p["domain"]
        return out

    def _op_DescribeDatasetGroup(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("dataset-group", p["datasetGroupArn"])

    def _op_ListDatasetGroups(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("dataset-group", p)

    def _op_DeleteDatasetGroup(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._get(p["datasetGroupArn"], "dataset-group")
        self._delete_checks(res, "dataset group")
        blocking = []
        for kind, label in (
            ("dataset", "datasets"),
            ("solution", "solutions"),
            ("event-tracker", "event trackers"),
            ("recommender", "recommenders"),
            ("filter", "filters"),
        ):
            n = len(self._alive(kind, res.arn))
            if n:
                blocking.append(f"{n} {label}")
        if blocking:
            raise in_use(
                f"Cannot delete the dataset group {res.arn} because it still has "
                f"{', '.join(blocking)}. Delete them first."
            )
        return self._start_delete(res)

    # ------------------------------------------------------------------ schemas
    def _op_CreateSchema(self, p: dict[str, Any]) -> dict[str, Any]:
        try:
            schema = Schema.from_json(p["schema"], domain=p.get("domain"))
        except ValidationError as exc:
            raise invalid(f"Invalid schema: {exc}") from None
        report = schema.check()
        if report.errors:
            raise invalid(
                "Invalid schema: " + "; ".join(problem.message for problem in report.errors)
            )
        arn = self._plane.arn("schema", p["name"])
        body = {"schema": p["schema"], "_datasetType": schema.dataset_type.value}
        if p.get("domain"):
            body["domain"] = p["domain"]
        self._plane.new("schema", arn, p["name"], parent=None, body=body, status=None)
        return {"schemaArn": arn}

    def _op_DescribeSchema(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("schema", p["schemaArn"])

    def _op_ListSchemas(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("schema", p)

    def _op_DeleteSchema(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._get(p["schemaArn"], "schema")
        with self._store.tx():
            users = [
                d.arn
                for d in self._store.find("dataset")
                if d.body.get("schemaArn") == res.arn
                or (d.body.get("_update") or {}).get("changes", {}).get("schemaArn") == res.arn
            ]
            if users:
                raise in_use(
                    f"Cannot delete the schema {res.arn} because datasets use it: "
                    f"{', '.join(users)}."
                )
            self._store.delete(res.arn)
        return {}

    # ------------------------------------------------------------------ datasets
    def _op_CreateDataset(self, p: dict[str, Any]) -> dict[str, Any]:
        group = self._active(p["datasetGroupArn"], "dataset-group", "dataset group")
        schema_res = self._get(p["schemaArn"], "schema")
        try:
            dtype = DatasetType.parse(p["datasetType"])
        except ValidationError:
            raise invalid(
                f"Invalid datasetType {p['datasetType']!r}; expected one of "
                f"{', '.join(t.value for t in DatasetType)}."
            ) from None
        if DatasetType.parse(schema_res.body["_datasetType"]) is not dtype:
            raise invalid(
                f"The schema {schema_res.arn} is for {schema_res.body['_datasetType']} datasets, "
                f"not {p['datasetType']}."
            )
        group_domain = group.body.get("domain")
        if schema_res.body.get("domain") != group_domain:
            raise invalid(
                f"The schema's domain ({schema_res.body.get('domain') or 'none'}) does not match "
                f"the dataset group's ({group_domain or 'none, a custom dataset group'})."
            )
        arn = self._plane.arn("dataset", group.name, dtype.name)
        body = {
            "datasetGroupArn": group.arn,
            "datasetType": p["datasetType"],
            "schemaArn": schema_res.arn,
        }
        self._plane.new("dataset", arn, p["name"], parent=group.arn, body=body, tags=_tags(p))
        return {"datasetArn": arn}

    def _op_DescribeDataset(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("dataset", p["datasetArn"])

    def _op_ListDatasets(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("dataset", p, parent=p.get("datasetGroupArn"))

    def _op_UpdateDataset(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._active(p["datasetArn"], "dataset", "dataset")
        if res.sub_status in TRANSITIONAL:
            raise in_use(f"An update of the dataset {res.arn} is already in progress.")
        schema_res = self._get(p["schemaArn"], "schema")
        if DatasetType.parse(schema_res.body["_datasetType"]) is not DatasetType.parse(
            res.body["datasetType"]
        ):
            raise invalid(f"The schema {schema_res.arn} is for another dataset type.")
        with self._store.tx():
            self._plane.start_update(res, {"schemaArn": schema_res.arn})
            self._store.save(res)
        self._plane.schedule(res.arn)
        return {"datasetArn": res.arn}

    def _op_DeleteDataset(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._get(p["datasetArn"], "dataset")
        self._delete_checks(res, "dataset")
        jobs = self._store.find("dataset-import-job", parent=res.arn, statuses=_IN_FLIGHT)
        if jobs:
            raise in_use(
                f"Cannot delete the dataset {res.arn} while the dataset import job "
                f"{jobs[0].arn} is {jobs[0].status}."
            )
        group = str(res.body["datasetGroupArn"])
        versions = [
            v
            for v in self._store.find("solution-version", statuses=_IN_FLIGHT)
            if v.body.get("datasetGroupArn") == group
        ]
        if versions:
            raise in_use(
                f"Cannot delete the dataset {res.arn} while the solution version "
                f"{versions[0].arn} is {versions[0].status}."
            )
        return self._start_delete(res)

    # ------------------------------------------------------------------ import jobs
    def _op_CreateDatasetImportJob(self, p: dict[str, Any]) -> dict[str, Any]:
        dataset = self._active(p["datasetArn"], "dataset", "dataset")
        location = p["dataSource"].get("dataLocation") or ""
        if not location.startswith("s3://") or not location[5:].split("/", 1)[0]:
            raise invalid("Invalid Data location.")
        mode = p.get("importMode") or "FULL"
        if mode == "INCREMENTAL":
            prior = self._store.find(
                "dataset-import-job",
                parent=dataset.arn,
                statuses=("ACTIVE", *_IN_FLIGHT),
            )
            if not prior and not dataset.body.get("_data"):
                raise invalid(
                    "You haven't imported bulk records into this dataset yet: the import mode "
                    "can only be FULL."
                )
        arn = self._plane.arn("dataset-import-job", p["jobName"])
        body: dict[str, Any] = {
            "datasetArn": dataset.arn,
            "dataSource": {"dataLocation": location},
            "importMode": mode,
        }
        for key in ("roleArn", "publishAttributionMetricsToS3"):
            if p.get(key) is not None:
                body[key] = p[key]

        def check() -> None:
            pending = self._store.count("dataset-import-job", statuses=_IN_FLIGHT)
            if pending >= PENDING_IMPORT_LIMIT:
                raise limit(
                    f"More than {PENDING_IMPORT_LIMIT} resources with PENDING or IN_PROGRESS "
                    "status."
                )

        self._plane.new(
            "dataset-import-job",
            arn,
            p["jobName"],
            parent=dataset.arn,
            body=body,
            tags=_tags(p),
            check=check,
        )
        return {"datasetImportJobArn": arn}

    def _op_DescribeDatasetImportJob(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("dataset-import-job", p["datasetImportJobArn"])

    def _op_ListDatasetImportJobs(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("dataset-import-job", p, parent=p.get("datasetArn"))

    # ------------------------------------------------------------------ recipes
    def _recipe(self, arn: str) -> str:
        """The local recipe name of ``arn``; errors as AWS (or NotImplementedError)."""
        from personakit.local import algorithms

        name = arn[len(RECIPE_PREFIX) :] if arn.startswith(RECIPE_PREFIX) else None
        if name is None or (name not in AWS_RECIPES and name not in _DOMAIN_OF_RECIPE):
            raise not_found(arn)
        if name not in algorithms.RECIPES:
            raise NotImplementedError(
                f"the recipe {name} is not implemented by the personakit local engine "
                f"(supported: {', '.join(sorted(algorithms.RECIPES))})"
            )
        return name

    def _recipe_view(self, name: str) -> dict[str, Any]:
        from personakit.local import algorithms

        domain = _DOMAIN_OF_RECIPE.get(name)
        epoch = from_epoch(1_546_300_800)  # 2019-01-01
        out: dict[str, Any] = {
            "name": name,
            "recipeArn": RECIPE_PREFIX + name,
            "algorithmArn": f"arn:aws:personalize:::algorithm/{name}",
            "status": "ACTIVE",
            "description": f"{name} (served by the personakit local engine)",
            "recipeType": algorithms.RECIPES[name],
            "creationDateTime": epoch,
            "lastUpdatedDateTime": epoch,
        }
        if domain:
            out["domain"] = domain
        return out

    def _op_ListRecipes(self, p: dict[str, Any]) -> dict[str, Any]:
        from personakit.local import algorithms

        names = sorted(algorithms.RECIPES)
        domain = p.get("domain")
        names = [n for n in names if _DOMAIN_OF_RECIPE.get(n) == domain] if domain else names
        shape = self._shape("ListRecipes", "recipes").member
        chunk, token = page(names, p, salt=f"recipes|{domain}")
        out: dict[str, Any] = {"recipes": [_deep_keep(self._recipe_view(n), shape) for n in chunk]}
        if token:
            out["nextToken"] = token
        return out

    def _op_DescribeRecipe(self, p: dict[str, Any]) -> dict[str, Any]:
        name = self._recipe(p["recipeArn"])
        return {
            "recipe": _deep_keep(self._recipe_view(name), self._shape("DescribeRecipe", "recipe"))
        }

    # ------------------------------------------------------------------ solutions
    def _op_CreateSolution(self, p: dict[str, Any]) -> dict[str, Any]:
        group = self._active(p["datasetGroupArn"], "dataset-group", "dataset group")
        if p.get("performAutoML"):
            raise NotImplementedError(
                "performAutoML is not implemented by the personakit local engine "
                "(AWS does not recommend it either): pass a recipeArn"
            )
        if not p.get("recipeArn"):
            raise invalid("recipeArn is required unless performAutoML is true.")
        recipe = self._recipe(p["recipeArn"])
        if recipe in _DOMAIN_OF_RECIPE:
            raise invalid(
                f"The recipe {p['recipeArn']} is a domain use case: create a recommender with it."
            )
        if p.get("performIncrementalUpdate") and recipe != "aws-semantic-similarity":
            raise invalid("performIncrementalUpdate is supported only for aws-semantic-similarity.")
        config = dict(p.get("solutionConfig") or {})
        threshold = config.get("eventValueThreshold")
        if threshold is not None:
            try:
                float(threshold)
            except ValueError:
                raise invalid(f"eventValueThreshold {threshold!r} is not a number.") from None
        arn = self._plane.arn("solution", p["name"])
        body: dict[str, Any] = {
            "datasetGroupArn": group.arn,
            "recipeArn": p["recipeArn"],
            "performHPO": bool(p.get("performHPO", False)),
            "performAutoML": False,
            "performAutoTraining": bool(p.get("performAutoTraining", True)),
            "performIncrementalUpdate": bool(p.get("performIncrementalUpdate", False)),
        }
        if p.get("eventType"):
            body["eventType"] = p["eventType"]
        if config:
            body["solutionConfig"] = config
        self._plane.new("solution", arn, p["name"], parent=group.arn, body=body, tags=_tags(p))
        return {"solutionArn": arn}

    def _op_DescribeSolution(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("solution", p["solutionArn"])

    def _op_ListSolutions(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("solution", p, parent=p.get("datasetGroupArn"))

    def _op_UpdateSolution(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._active(p["solutionArn"], "solution", "solution")
        if res.sub_status in TRANSITIONAL:
            raise in_use(f"An update of the solution {res.arn} is already in progress.")
        changes: dict[str, Any] = {
            k: p[k]
            for k in ("performAutoTraining", "performIncrementalUpdate", "solutionUpdateConfig")
            if k in p
        }
        if not changes:
            raise invalid("Nothing to update: give performAutoTraining or solutionUpdateConfig.")
        with self._store.tx():
            self._plane.start_update(res, changes)
            self._store.save(res)
        self._plane.schedule(res.arn)
        return {"solutionArn": res.arn}

    def _op_DeleteSolution(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._get(p["solutionArn"], "solution")
        self._delete_checks(res, "solution")
        campaigns = self._store.find("campaign", parent=res.arn)
        if campaigns:
            raise in_use(
                f"Cannot delete the solution {res.arn} because campaigns use it: "
                f"{', '.join(c.arn for c in campaigns)}. Delete the campaigns first."
            )
        busy = self._store.find(
            "solution-version", parent=res.arn, statuses=(*_IN_FLIGHT, "CREATE STOPPING")
        )
        if busy:
            raise in_use(
                f"Cannot delete the solution {res.arn} while its solution version {busy[0].arn} "
                f"is {busy[0].status}."
            )
        versions = {v.arn for v in self._store.find("solution-version", parent=res.arn)}
        for kind in ("batch-inference-job", "batch-segment-job"):
            jobs = [j for j in self._store.find(kind, statuses=_IN_FLIGHT) if j.parent in versions]
            if jobs:
                raise in_use(
                    f"Cannot delete the solution {res.arn} while the {kind.replace('-', ' ')} "
                    f"{jobs[0].arn} is {jobs[0].status}."
                )
        return self._start_delete(res)

    # ------------------------------------------------------------------ solution versions
    def _op_CreateSolutionVersion(self, p: dict[str, Any]) -> dict[str, Any]:
        solution = self._active(p["solutionArn"], "solution", "solution")
        mode = p.get("trainingMode") or "FULL"
        recipe = self._recipe(str(solution.body["recipeArn"]))
        if mode == "UPDATE":
            if recipe not in _UPDATE_RECIPES:
                raise invalid(
                    "trainingMode UPDATE is supported only for aws-user-personalization and "
                    "aws-hrnn-coldstart solutions."
                )
            full = [
                v
                for v in self._store.find(
                    "solution-version", parent=solution.arn, statuses=("ACTIVE",)
                )
                if v.body.get("trainingMode") == "FULL"
            ]
            if not full:
                raise invalid(
                    "trainingMode UPDATE needs an ACTIVE solution version trained with FULL."
                )
        if mode == "AUTOTRAIN":
            raise invalid("trainingMode AUTOTRAIN is reserved for automatic training.")
        version_id = secrets.token_hex(4)
        arn = f"{solution.arn}/{version_id}"
        body: dict[str, Any] = {
            "solutionArn": solution.arn,
            "datasetGroupArn": solution.body["datasetGroupArn"],
            "recipeArn": solution.body["recipeArn"],
            "performHPO": solution.body.get("performHPO", False),
            "performAutoML": False,
            "performIncrementalUpdate": solution.body.get("performIncrementalUpdate", False),
            "trainingMode": mode,
            "trainingType": "MANUAL",
        }
        for key in ("eventType", "solutionConfig"):
            if solution.body.get(key):
                body[key] = solution.body[key]
        name = p.get("name") or version_id

        def check() -> None:
            pending = self._store.count("solution-version", statuses=_IN_FLIGHT)
            if pending >= PENDING_VERSION_LIMIT:
                raise limit(
                    f"More than {PENDING_VERSION_LIMIT} resources with PENDING or IN_PROGRESS "
                    "status."
                )

        if p.get("name"):
            body["name"] = p["name"]
        self._plane.new(
            "solution-version",
            arn,
            name,
            parent=solution.arn,
            body=body,
            tags=_tags(p),
            check=check,
        )
        return {"solutionVersionArn": arn}

    def _op_DescribeSolutionVersion(self, p: dict[str, Any]) -> dict[str, Any]:
        out = self._describe("solution-version", p["solutionVersionArn"])
        res = self._get(p["solutionVersionArn"], "solution-version")
        if not res.body.get("name"):
            out["solutionVersion"].pop("name", None)
        return out

    def _op_ListSolutionVersions(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("solutionArn"):
            self._get(p["solutionArn"], "solution")
        return self._list("solution-version", p, parent=p.get("solutionArn"))

    def _op_StopSolutionVersionCreation(self, p: dict[str, Any]) -> dict[str, Any]:
        arn = p["solutionVersionArn"]
        with self._store.tx():
            res = self._get(arn, "solution-version")
            if res.status == "CREATE PENDING":
                self._plane.set_status(res, "CREATE STOPPED")
            elif res.status == "CREATE IN_PROGRESS":
                self._plane.set_status(res, "CREATE STOPPING")
            else:
                raise in_use(
                    f"The solution version {arn} cannot be stopped: its status is {res.status}."
                )
            self._store.save(res)
        if res.status == "CREATE STOPPING":
            self._plane.schedule(arn)
        return {}

    def _op_GetSolutionMetrics(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._get(p["solutionVersionArn"], "solution-version")
        if res.status != "ACTIVE":
            raise in_use(
                f"The solution version {res.arn} is not ACTIVE (status: {res.status}); "
                "metrics exist once training has finished."
            )
        return {"solutionVersionArn": res.arn, "metrics": dict(res.body.get("_metrics") or {})}

    # ------------------------------------------------------------------ campaigns
    def resolve_version(self, arn: str) -> Resource:
        """A solution version ARN, or ``<solutionArn>/$LATEST`` (newest ACTIVE version)."""
        if arn.endswith("/$LATEST"):
            solution = self._get(arn[: -len("/$LATEST")], "solution")
            active = self._store.find("solution-version", parent=solution.arn, statuses=("ACTIVE",))
            if not active:
                raise in_use(f"The solution {solution.arn} has no ACTIVE solution version.")
            return active[0]
        return self._get(arn, "solution-version")

    def _check_version(self, arn: str, config: Mapping[str, Any]) -> Resource:
        from personakit.local import algorithms

        version = self.resolve_version(arn)
        if version.status != "ACTIVE":
            raise in_use(
                f"The solution version {version.arn} is not ACTIVE (status: {version.status})."
            )
        if config.get("syncWithLatestSolutionVersion") and not arn.endswith("/$LATEST"):
            raise invalid(
                "syncWithLatestSolutionVersion needs solutionVersionArn in the form "
                "<solutionArn>/$LATEST."
            )
        kind = algorithms.recipe_type(str(version.body["recipeArn"]))
        if kind == "USER_SEGMENTATION":
            raise invalid(
                "USER_SEGMENTATION solution versions cannot be deployed to a campaign; use a "
                "batch segment job."
            )
        return version

    def _op_CreateCampaign(self, p: dict[str, Any]) -> dict[str, Any]:
        config = dict(p.get("campaignConfig") or {})
        version = self._check_version(p["solutionVersionArn"], config)
        solution_arn = str(version.body["solutionArn"])
        group = str(version.body["datasetGroupArn"])
        arn = self._plane.arn("campaign", p["name"])
        body: dict[str, Any] = {
            "solutionVersionArn": p["solutionVersionArn"],
            "minProvisionedTPS": int(p.get("minProvisionedTPS") or 1),
            "_datasetGroupArn": group,
        }
        if config:
            body["campaignConfig"] = config

        def check() -> None:
            active = [
                c
                for c in self._store.find(
                    "campaign", statuses=("CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE")
                )
                if c.body.get("_datasetGroupArn") == group
            ]
            if len(active) >= ACTIVE_CAMPAIGN_LIMIT:
                raise limit(
                    f"Cannot create a campaign. More than {ACTIVE_CAMPAIGN_LIMIT} resources in "
                    "ACTIVE state. Please delete some and try again."
                )

        self._plane.new(
            "campaign", arn, p["name"], parent=solution_arn, body=body, tags=_tags(p), check=check
        )
        return {"campaignArn": arn}

    def _op_DescribeCampaign(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("campaign", p["campaignArn"])

    def _op_ListCampaigns(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("campaign", p, parent=p.get("solutionArn"))

    def _op_UpdateCampaign(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._get(p["campaignArn"], "campaign")
        if res.status not in ("ACTIVE", "CREATE FAILED"):
            raise in_use(
                f"The campaign {res.arn} can be updated only when it is ACTIVE or CREATE FAILED "
                f"(status: {res.status})."
            )
        if res.sub_status in TRANSITIONAL:
            raise in_use(f"An update of the campaign {res.arn} is already in progress.")
        changes: dict[str, Any] = {}
        config = {**res.body.get("campaignConfig", {}), **(p.get("campaignConfig") or {})}
        if p.get("solutionVersionArn"):
            self._check_version(p["solutionVersionArn"], config)
            changes["solutionVersionArn"] = p["solutionVersionArn"]
        elif p.get("campaignConfig"):
            self._check_version(str(res.body["solutionVersionArn"]), config)
        if p.get("minProvisionedTPS") is not None:
            changes["minProvisionedTPS"] = int(p["minProvisionedTPS"])
        if p.get("campaignConfig") is not None:
            changes["campaignConfig"] = dict(p["campaignConfig"])
        with self._store.tx():
            self._plane.start_update(res, changes)
            self._store.save(res)
        self._plane.schedule(res.arn)
        return {"campaignArn": res.arn}

    def _op_DeleteCampaign(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._get(p["campaignArn"], "campaign")
        self._delete_checks(res, "campaign")
        return self._start_delete(res)

    # ------------------------------------------------------------------ recommenders
    def _op_CreateRecommender(self, p: dict[str, Any]) -> dict[str, Any]:
        group = self._active(p["datasetGroupArn"], "dataset-group", "dataset group")
        domain = group.body.get("domain")
        if not domain:
            raise invalid(
                f"The dataset group {group.arn} is a custom dataset group: recommenders need a "
                "Domain dataset group (ECOMMERCE or VIDEO_ON_DEMAND)."
            )
        recipe = self._recipe(p["recipeArn"])
        if _DOMAIN_OF_RECIPE.get(recipe) != domain:
            raise invalid(f"The recipe {p['recipeArn']} is not a {domain} use case.")
        config = {"minRecommendationRequestsPerSecond": 1, **(p.get("recommenderConfig") or {})}
        arn = self._plane.arn("recommender", p["name"])
        body = {
            "datasetGroupArn": group.arn,
            "recipeArn": p["recipeArn"],
            "recommenderConfig": config,
        }

        def check() -> None:
            mine = self._store.find("recommender", parent=group.arn)
            if len(mine) >= RECOMMENDER_LIMIT:
                raise limit(
                    f"Cannot create a recommender. More than {RECOMMENDER_LIMIT} recommenders "
                    "exist in the dataset group."
                )

        self._plane.new(
            "recommender", arn, p["name"], parent=group.arn, body=body, tags=_tags(p), check=check
        )
        return {"recommenderArn": arn}

    def _op_DescribeRecommender(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("recommender", p["recommenderArn"])

    def _op_ListRecommenders(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("recommender", p, parent=p.get("datasetGroupArn"))

    def _op_UpdateRecommender(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._active(p["recommenderArn"], "recommender", "recommender")
        if res.sub_status in TRANSITIONAL:
            raise in_use(f"An update of the recommender {res.arn} is already in progress.")
        with self._store.tx():
            self._plane.start_update(res, {"recommenderConfig": dict(p["recommenderConfig"])})
            self._store.save(res)
        self._plane.schedule(res.arn)
        return {"recommenderArn": res.arn}

    def _op_StopRecommender(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._recommender_step(p["recommenderArn"], "ACTIVE", "STOP PENDING")

    def _op_StartRecommender(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._recommender_step(p["recommenderArn"], "INACTIVE", "START PENDING")

    def _recommender_step(self, arn: str, needed: str, to: str) -> dict[str, Any]:
        with self._store.tx():
            res = self._get(arn, "recommender")
            if res.status != needed:
                raise in_use(f"The recommender {arn} is not {needed} (status: {res.status}).")
            self._plane.set_status(res, to)
            self._store.save(res)
        self._plane.schedule(arn)
        return {"recommenderArn": arn}

    def _op_DeleteRecommender(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._get(p["recommenderArn"], "recommender")
        self._delete_checks(res, "recommender")
        return self._start_delete(res)

    # ------------------------------------------------------------------ event trackers
    def _op_CreateEventTracker(self, p: dict[str, Any]) -> dict[str, Any]:
        group = self._active(p["datasetGroupArn"], "dataset-group", "dataset group")
        arn = self._plane.arn("event-tracker", p["name"])
        tracking_id = str(uuid.uuid4())
        body = {
            "datasetGroupArn": group.arn,
            "trackingId": tracking_id,
            "accountId": self._engine.account_id,
        }

        def check() -> None:
            existing = self._store.find("event-tracker", parent=group.arn)
            if existing:
                raise TwinError(
                    "ResourceAlreadyExistsException",
                    f"The dataset group {group.arn} already has an event tracker "
                    f"({existing[0].arn}); only one is allowed per dataset group.",
                )

        self._plane.new(
            "event-tracker", arn, p["name"], parent=group.arn, body=body, tags=_tags(p), check=check
        )
        return {"eventTrackerArn": arn, "trackingId": tracking_id}

    def _op_DescribeEventTracker(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("event-tracker", p["eventTrackerArn"])

    def _op_ListEventTrackers(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("event-tracker", p, parent=p.get("datasetGroupArn"))

    def _op_DeleteEventTracker(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._get(p["eventTrackerArn"], "event-tracker")
        self._delete_checks(res, "event tracker")
        return self._start_delete(res)

    # ------------------------------------------------------------------ filters
    def _op_CreateFilter(self, p: dict[str, Any]) -> dict[str, Any]:
        group = self._active(p["datasetGroupArn"], "dataset-group", "dataset group")
        data = GroupData(self._plane, group.arn)
        schemas = {t: found for t in DatasetType if (found := data.schema(t)) is not None}
        problem = validate_filter_expression(p["filterExpression"], schemas)
        if problem:
            raise invalid(
                f"Could not create filter. Invalid Expression {p['filterExpression']}: {problem}"
            )
        arn = self._plane.arn("filter", p["name"])
        body = {"datasetGroupArn": group.arn, "filterExpression": p["filterExpression"]}

        def check() -> None:
            if len(self._store.find("filter", parent=group.arn)) >= FILTER_LIMIT:
                raise limit(
                    f"Cannot create a filter. More than {FILTER_LIMIT} filters exist in the "
                    "dataset group."
                )

        self._plane.new(
            "filter", arn, p["name"], parent=group.arn, body=body, tags=_tags(p), check=check
        )
        return {"filterArn": arn}

    def _op_DescribeFilter(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("filter", p["filterArn"])

    def _op_ListFilters(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("filter", p, parent=p.get("datasetGroupArn"))

    def _op_DeleteFilter(self, p: dict[str, Any]) -> dict[str, Any]:
        res = self._get(p["filterArn"], "filter")
        self._delete_checks(res, "filter")
        return self._start_delete(res)

    # ------------------------------------------------------------------ batch jobs
    def _batch_request(self, p: Mapping[str, Any], kind: str) -> tuple[Resource, dict[str, Any]]:
        """Checks common to both batch job kinds; the version and the stored body."""
        from personakit.local import algorithms

        version = self.resolve_version(p["solutionVersionArn"])
        if version.status != "ACTIVE":
            raise in_use(
                f"The solution version {version.arn} is not ACTIVE (status: {version.status})."
            )
        recipe = algorithms.recipe_name(str(version.body["recipeArn"]))
        recipe_kind = algorithms.recipe_type(recipe)
        if kind == "batch-segment-job" and recipe_kind != "USER_SEGMENTATION":
            raise invalid(
                f"Batch segment jobs need a USER_SEGMENTATION solution version; {version.arn} "
                f"uses {recipe} ({recipe_kind}): create a batch inference job instead."
            )
        if kind == "batch-inference-job" and recipe_kind == "USER_SEGMENTATION":
            raise invalid(
                f"The solution version {version.arn} uses {recipe} (USER_SEGMENTATION): create "
                "a batch segment job instead."
            )
        if kind == "batch-inference-job" and (
            recipe in _NO_BATCH_RECIPES or recipe_kind == "PERSONALIZED_ACTIONS"
        ):
            raise invalid(f"Batch inference is not supported for the recipe {recipe}.")
        source = str(p["jobInput"]["s3DataSource"]["path"])
        target = str(p["jobOutput"]["s3DataDestination"]["path"])
        for what, path in (("jobInput", source), ("jobOutput", target)):
            if not path.startswith("s3://") or not path[5:].split("/", 1)[0]:
                raise invalid(f"{what} path {path!r} is not an S3 path (s3://bucket/key).")
        if source.rstrip("/") == target.rstrip("/"):
            raise invalid("The output path must be different from the input path.")
        n = p.get("numResults")
        cap = BATCH_MAX_RESULTS if kind == "batch-inference-job" else SEGMENT_MAX_USERS
        if n is not None and not 1 <= int(n) <= cap:
            raise invalid(f"numResults must be between 1 and {cap}, got {n}.")
        body: dict[str, Any] = {
            "solutionVersionArn": p["solutionVersionArn"],
            "numResults": int(n) if n is not None else 25,
            "jobInput": {"s3DataSource": dict(p["jobInput"]["s3DataSource"])},
            "jobOutput": {"s3DataDestination": dict(p["jobOutput"]["s3DataDestination"])},
            "roleArn": p["roleArn"],
            "_versionArn": version.arn,
            "_datasetGroupArn": version.body["datasetGroupArn"],
        }
        if p.get("filterArn"):
            body["filterArn"] = p["filterArn"]
        return version, body

    def _batch_check(self, kind: str) -> Callable[[], None]:
        def check() -> None:
            if self._store.count(kind, statuses=_IN_FLIGHT) >= BATCH_JOB_LIMIT:
                raise limit(
                    f"More than {BATCH_JOB_LIMIT} resources with PENDING or IN_PROGRESS status."
                )

        return check

    def _op_CreateBatchInferenceJob(self, p: dict[str, Any]) -> dict[str, Any]:
        kind = "batch-inference-job"
        mode = p.get("batchInferenceJobMode") or "BATCH_INFERENCE"
        if mode == "THEME_GENERATION":
            raise NotImplementedError(
                "batchInferenceJobMode THEME_GENERATION (Content Generator) is not implemented "
                "by the personakit local engine"
            )
        version, body = self._batch_request(p, kind)
        body["batchInferenceJobMode"] = mode
        config = p.get("batchInferenceJobConfig")
        if config:
            body["batchInferenceJobConfig"] = dict(config)
        arn = self._plane.arn(kind, p["jobName"])
        self._plane.new(
            kind,
            arn,
            p["jobName"],
            parent=version.arn,
            body=body,
            tags=_tags(p),
            check=self._batch_check(kind),
        )
        return {"batchInferenceJobArn": arn}

    def _op_DescribeBatchInferenceJob(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("batch-inference-job", p["batchInferenceJobArn"])

    def _op_ListBatchInferenceJobs(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("batch-inference-job", p, parent=p.get("solutionVersionArn"))

    def _op_CreateBatchSegmentJob(self, p: dict[str, Any]) -> dict[str, Any]:
        kind = "batch-segment-job"
        version, body = self._batch_request(p, kind)
        arn = self._plane.arn(kind, p["jobName"])
        self._plane.new(
            kind,
            arn,
            p["jobName"],
            parent=version.arn,
            body=body,
            tags=_tags(p),
            check=self._batch_check(kind),
        )
        return {"batchSegmentJobArn": arn}

    def _op_DescribeBatchSegmentJob(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._describe("batch-segment-job", p["batchSegmentJobArn"])

    def _op_ListBatchSegmentJobs(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list("batch-segment-job", p, parent=p.get("solutionVersionArn"))

    # ------------------------------------------------------------------ tags
    def _tagged(self, arn: str) -> Resource:
        res = self._store.get(arn)
        if res is None or res.kind == "schema":
            raise not_found(arn)
        return res

    def _op_ListTagsForResource(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"tags": [dict(t) for t in self._tagged(p["resourceArn"]).tags]}

    def _op_TagResource(self, p: dict[str, Any]) -> dict[str, Any]:
        new = {t["tagKey"]: t["tagValue"] for t in _tags(p, limit_count=False)}
        with self._store.tx():
            res = self._tagged(p["resourceArn"])
            merged = {t["tagKey"]: t["tagValue"] for t in res.tags}
            merged.update(new)
            if len(merged) > TAG_KEY_LIMIT:
                raise TwinError(
                    "TooManyTagKeysException",
                    f"A resource can have at most {TAG_KEY_LIMIT} tag keys; this request would "
                    f"give {res.arn} {len(merged)}.",
                )
            res.tags = [{"tagKey": k, "tagValue": v} for k, v in merged.items()]
            self._store.save(res)
        return {}

    def _op_UntagResource(self, p: dict[str, Any]) -> dict[str, Any]:
        drop = set(p["tagKeys"])
        with self._store.tx():
            res = self._tagged(p["resourceArn"])
            res.tags = [t for t in res.tags if t["tagKey"] not in drop]
            self._store.save(res)
        return {}


def _deep_keep(data: Mapping[str, Any], shape: Any) -> dict[str, Any]:
    """``data`` reduced to ``shape``'s members, recursively through nested structures."""
    out = keep_members(data, shape)
    for key, value in list(out.items()):
        member = shape.members[key]
        if member.type_name == "structure" and isinstance(value, Mapping):
            out[key] = _deep_keep(value, member)
    return out


def validate_filter_expression(
    expression: str, schemas: Mapping[DatasetType, Schema]
) -> str | None:
    """What is wrong with a filter expression (``personakit.rules.filters`` rules), or None.

    The expression is parsed and checked with :meth:`personakit.rules.filters.Filter.validate`
    against the schemas of the dataset group's datasets (fields must exist, no
    textual or boolean fields, numeric comparisons on numbers ...).
    """
    from personakit.rules.filters import Filter

    try:
        flt = Filter.parse(expression)
    except ValidationError as exc:
        return str(exc)
    report = flt.validate(list(schemas.values()))
    if report.errors:
        return "; ".join(problem.message for problem in report.errors)
    return None
