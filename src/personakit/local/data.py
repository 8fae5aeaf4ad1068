"""The data of a dataset group, as the local engine's imports, training and filters see it.

A dataset's rows are its last bulk import (a parquet snapshot under the workspace's
``artifacts/datasets``), plus the PutItems/PutUsers records and, for Interactions,
the events recorded with PutEvents. :class:`GroupData` assembles them as Arrow
tables with exactly the schema's columns and types
(:func:`personakit.rules.facts.arrow_type`), :func:`read_csv` checks a bulk CSV as
Personalize's import does, :meth:`GroupData.training_data` integer-codes the
interactions for :mod:`personakit.local.algorithms`, and :func:`filter_item_sets`
applies a filter expression to the group's data.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from personakit.errors import ValidationError
from personakit.local.errors import JobFailed, invalid
from personakit.rules.facts import (
    MAX_CATEGORICAL_CHARS,
    MAX_ID_CHARS,
    MIN_INTERACTIONS,
    MIN_USERS_WITH_TWO,
    MIN_USERS_WITH_TWO_SHARE,
    arrow_type,
)
from personakit.rules.schema import DatasetType, Schema

if TYPE_CHECKING:
    import pyarrow as pa

    from personakit.local.algorithms.base import TrainingData  # numpy: loaded when a job trains
    from personakit.local.store import Resource, Store

__all__ = [
    "ID_FIELDS",
    "GroupData",
    "arrow_schema",
    "artifact_dir",
    "check_minimums",
    "conform",
    "dataset_file",
    "dedupe_last",
    "filter_item_sets",
    "read_csv",
    "schema_of",
]

#: The id field of the datasets whose records replace same-id records.
ID_FIELDS: Final = {
    DatasetType.ITEMS: "ITEM_ID",
    DatasetType.USERS: "USER_ID",
    DatasetType.ACTIONS: "ACTION_ID",
}


# --------------------------------------------------------------------------- files


def artifact_dir(store: Store, res: Resource) -> Path:
    """The folder of a dataset's data or a solution version's (or recommender's) model."""
    folder = "models" if res.kind in ("solution-version", "recommender") else "datasets"
    return store.artifacts / folder / str(res.body["_id"])


def dataset_file(store: Store, dataset: Resource) -> Path | None:
    """The parquet snapshot of a dataset's bulk data, or None before its first import."""
    data = dataset.body.get("_data")
    if not data:
        return None
    return artifact_dir(store, dataset) / str(data["file"])


def schema_of(store: Store, dataset: Resource) -> Schema:
    """The schema of a dataset."""
    schema_res = store.get(dataset.body["schemaArn"])
    if schema_res is None:  # pragma: no cover - schemas in use cannot be deleted
        raise JobFailed(f"the schema {dataset.body['schemaArn']} no longer exists")
    return Schema.from_json(schema_res.body["schema"], domain=schema_res.body.get("domain"))


# --------------------------------------------------------------------------- arrow


def arrow_schema(schema: Schema) -> pa.Schema:
    import pyarrow as pa

    return pa.schema([pa.field(f.name, arrow_type(f.type)) for f in schema.fields])


def conform(table: pa.Table, schema: Schema) -> pa.Table:
    """``table`` with exactly the schema's columns, in order and type (missing -> null)."""
    return conform_arrow(table, arrow_schema(schema))


def conform_arrow(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """:func:`conform` to an Arrow schema (one :func:`arrow_schema` made)."""
    import pyarrow as pa

    columns = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            columns.append(col if col.type == f.type else col.cast(f.type, safe=False))
        else:
            columns.append(pa.nulls(len(table), f.type))
    return pa.Table.from_arrays(columns, schema=schema)


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
            cap: int | None = MAX_ID_CHARS
        elif f.textual:
            cap = None  # textual values longer than 20,000 characters are truncated
        elif f.categorical or schema.dataset_type is DatasetType.ITEMS or f.name == "IMPRESSION":
            cap = MAX_CATEGORICAL_CHARS
        else:
            cap = None
        if cap is not None and len(col):
            longest = pc.max(pc.utf8_length(col)).as_py()
            if longest is not None and longest > cap:
                raise JobFailed(
                    f"Length cannot be more than {cap} characters for {f.name}.{_LIMIT_HINT}"
                )
    return conform(table, schema)


class GroupData:
    """The data of one dataset group: bulk imports plus Put* records and events.

    ``upto_event`` caps the recorded events (the id of the last one a model was
    trained with), so training sees one consistent snapshot.
    """

    def __init__(
        self,
        store: Store,
        group_arn: str,
        *,
        upto_event: int | None = None,
        bulk: dict[Any, Any] | None = None,
    ) -> None:
        self.store = store
        self.group_arn = group_arn
        self.upto_event = upto_event
        self._tables: dict[DatasetType, pa.Table | None] = {}
        self._item_ids: list[str] | None = None
        # What does not change when events arrive (the datasets' imported files and
        # Put* records, their item ids): shared by the next GroupData of the group while
        # only events were added, so serving keeps its per-table indexes (see
        # LocalControlPlane.group_data).
        self.bulk: dict[Any, Any] = {} if bulk is None else bulk

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
        return schema_of(self.store, res) if res is not None else None

    def table(self, dtype: DatasetType) -> pa.Table | None:
        """The dataset's rows (schema columns), or None if the group has no such dataset."""
        if dtype not in self._tables:
            self._tables[dtype] = self._load(dtype)
        return self._tables[dtype]

    def item_ids(self) -> list[str]:
        """The catalogue: Items ids and every item with interactions, sorted (read-only)."""
        if self._item_ids is None:
            import pyarrow.compute as pc

            if "item_ids" not in self.bulk:
                bulk: set[str] = set()
                for dtype in (DatasetType.ITEMS, DatasetType.INTERACTIONS):
                    table = self.bulk_table(dtype)
                    if table is not None and len(table):
                        bulk.update(v for v in pc.unique(table.column("ITEM_ID")).to_pylist() if v)
                self.bulk["item_ids"] = (sorted(bulk), frozenset(bulk))
            ids, known = self.bulk["item_ids"]
            if self.dataset(DatasetType.INTERACTIONS) is not None:
                new = self._event_only_items(known)
                if new:  # an event named an item the imports do not have
                    ids = sorted([*ids, *new])
            self._item_ids = ids
        return self._item_ids

    def _event_only_items(self, known: frozenset[str]) -> frozenset[str]:
        """The items recorded events name that the imports do not have.

        Events only accumulate, so what was read is kept with the bulk tables (id of the
        last event read, its items) and a new version of the data reads only the events
        after it: a request after each PutEvents costs the new events, not all of them.
        """
        read: tuple[int, frozenset[str]] = self.bulk.get("event_items", (0, frozenset()))
        last, new = read
        if self.upto_event is not None and self.upto_event < last:  # an older version
            older = self.store.event_items(self.group_arn, upto=self.upto_event)
            return frozenset(i for i in older if i not in known)
        items, last = self.store.event_items_after(self.group_arn, last, upto=self.upto_event)
        new = new | {i for i in items if i not in known}
        self.bulk["event_items"] = (last, new)  # one tuple: threads see both or neither
        return new

    def user_interactions(self, user_id: str) -> pa.Table | None:
        """One user's interactions (imported rows, then recorded events), or None.

        The imported rows come through an index of the bulk table by user, built once
        and kept while only events arrive; the user's events are one indexed query.
        So a filtered request costs the user's rows, not the table's.
        """
        import pyarrow as pa

        from personakit.local.filtering import rows_of_user  # pyarrow: loaded with filters

        bulk = self.bulk_table(DatasetType.INTERACTIONS)
        if bulk is None:
            return None
        mine = rows_of_user(bulk, user_id)
        events = self._events(mine.schema, user=user_id)
        return pa.concat_tables([mine, events]) if len(events) else mine

    def bulk_table(self, dtype: DatasetType) -> pa.Table | None:
        """The dataset's imported rows and Put* records, without recorded events."""
        if dtype not in self.bulk:
            self.bulk[dtype] = self._load_bulk(dtype)
        table: pa.Table | None = self.bulk[dtype]
        return table

    def _load(self, dtype: DatasetType) -> pa.Table | None:
        import pyarrow as pa

        bulk = self.bulk_table(dtype)
        if bulk is None or dtype is not DatasetType.INTERACTIONS:
            return bulk
        events = self._events(bulk.schema)
        if not len(events):
            return bulk
        return pa.concat_tables([bulk, events]).combine_chunks()

    def _load_bulk(self, dtype: DatasetType) -> pa.Table | None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        res = self.dataset(dtype)
        if res is None:
            return None
        schema = schema_of(self.store, res)
        parts: list[pa.Table] = []
        data_file = dataset_file(self.store, res)
        if data_file is not None:
            parts.append(conform(pq.read_table(data_file), schema))
        if dtype in ID_FIELDS:
            records = self.store.records(res.arn)
            if records:
                rows = [{**props, ID_FIELDS[dtype]: rid} for rid, props in records]
                parts.append(conform(pa.Table.from_pylist(rows), schema))
        parts = [p for p in parts if len(p)]
        table = pa.concat_tables(parts) if parts else arrow_schema(schema).empty_table()
        if dtype in ID_FIELDS:
            table = dedupe_last(table, ID_FIELDS[dtype])
        # One chunk per column: serving takes a user's few rows per request, and a take
        # from a table of many chunks costs O(rows) (1 ms at 400k rows in 400 chunks,
        # 0.014 ms from one chunk, pyarrow 26).
        return table.combine_chunks()

    def _events(self, schema: pa.Schema, *, user: str | None = None) -> pa.Table:
        import pyarrow as pa

        rows = []
        for ev in self.store.events(self.group_arn, upto=self.upto_event, user=user):
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
            return schema.empty_table()
        return conform_arrow(pa.Table.from_pylist(rows), schema)

    # ------------------------------------------------------------------ training data
    def training_data(
        self, *, event_type: str | None = None, event_value_threshold: float | None = None
    ) -> TrainingData:
        """Integer-coded interactions (filtered like a solution's eventType/threshold)."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as _pc

        pc: Any = _pc  # the stubs' overloads do not follow ChunkedArray columns

        from personakit.local.algorithms.base import TrainingData  # numpy: loaded when a job trains

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
    """Personalize's training minimums, with its failure reasons
    (https://docs.aws.amazon.com/personalize/latest/dg/limits.html)."""
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
    if with_two < MIN_USERS_WITH_TWO_SHARE * len(active):
        raise JobFailed(
            "Create failed. Fewer than 1% of the users in the dataset have at least "
            "2 interactions each."
        )


# --------------------------------------------------------------------------- filters


def filter_item_sets(
    expression: str,
    values: Mapping[str, str],
    *,
    user_id: str | None,
    item_id: str | None,
    data: GroupData,
) -> tuple[Collection[str], Collection[str] | None]:
    """The hook that applies a filter: ``(items to exclude, allowed items or None)``.

    Evaluates the expression with :func:`personakit.local.filtering.apply_filter` on
    the dataset group's data: its Items and Users tables, the user's interactions
    (bulk imports and recorded events) and the catalogue (Items and interacted
    items). GetRecommendations, GetPersonalizedRanking and batch inference jobs
    all filter through here, so they agree.

    Args:
        expression: The filter expression.
        values: The request's ``filterValues`` (encoded as sent to the service).
        user_id: The request's user, or None.
        item_id: The request's item (related-items recipes), or None.
        data: The dataset group's data (the user's interactions are read through
            :meth:`GroupData.user_interactions`: an index of the imported rows by user,
            kept while events arrive, and the user's recorded events).

    Raises:
        TwinError: ``InvalidInputException`` when the request breaks a rule (a missing
            INCLUDE placeholder ...), as on AWS.
    """
    from personakit.local.filtering import apply_filter  # pyarrow: loaded with the first filter

    items = data.table(DatasetType.ITEMS)
    mine = data.user_interactions(user_id) if user_id is not None else None
    try:
        result = apply_filter(
            expression,
            filter_values=values,
            user_id=user_id,
            item_id=item_id,
            items=items,
            users=data.table(DatasetType.USERS),
            user_interactions=mine,
            all_item_ids=data.item_ids(),
        )
    except ValidationError as exc:
        raise invalid(f"Invalid filter or filterValues: {exc}") from None
    return result.exclude, result.include
