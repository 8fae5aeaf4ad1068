"""Event trackers, and real-time data: ``PutEvents``, ``PutItems``, ``PutUsers``.

::

    tracker = group.event_tracker()                   # one per dataset group, created on first use
    tracker.put_events(clicks)                        # DataFrame or dicts, 10 events a call
    tracker.put_items(new_items)                      # PutItems into the group's Items dataset
    tracker.put_users(new_users)                      # PutUsers into its Users dataset

Events recorded with ``PutEvents`` are added to the dataset group's Item
interactions dataset and change a user's next recommendations from a campaign
or recommender at once
(https://docs.aws.amazon.com/personalize/latest/dg/recording-item-interaction-events.html);
``PutItems`` and ``PutUsers`` records
add to or replace the Items and Users datasets.

What personakit does for you (``docs/events.md`` has the details):

* rows become requests of at most 10 records (the API's limit:
https://docs.aws.amazon.com/personalize/latest/dg/API_UBS_PutEvents.html); events are
  grouped by user and session, as one ``PutEvents`` call carries one ``userId``
  and one ``sessionId``;
* columns are matched to fields by name (``USER_ID``, ``userId`` and ``user_id``
  are the same), ``TIMESTAMP`` becomes ``sentAt`` in epoch seconds (datetimes
  are converted; naive ones are UTC), and every other column of the schema goes
  into ``properties``, JSON text with camelCase keys (``NUMBER_OF_RATINGS`` ->
  ``numberOfRatings``), as Personalize wants it;
* ``sessionId`` is required by the API: without a ``SESSION_ID`` column or
  ``session_id=``, each user gets a generated one, kept by the tracker object so
  later calls in the same process continue that session;
* everything is checked before the first request (required fields, lengths,
  types against the schema, ``properties`` size, ...), and all problems are
  raised together as one :class:`~personakit.errors.ValidationError`;
* each call goes through personakit's retries (throttling is retried, bounded);
  every event without an ``EVENT_ID`` gets a generated ``eventId`` first, so a
  retried request re-sends the same ids and Personalize does not train on an
  event twice.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from personakit.errors import ConfigurationError
from personakit.personalize.base import Group, Scoped, create_or_adopt, find_all, resource_name
from personakit.personalize.teardown import Entry, TeardownReport, wait_or_teardown
from personakit.rules.display import Display, html_table, short_repr
from personakit.rules.facts import MAX_ID_CHARS, SECONDS_MAX, camel_case
from personakit.rules.report import DataReport, Problem
from personakit.rules.schema import RESERVED, DatasetType, Schema, field_name_for

__all__ = [
    "DEFAULT_EVENT_TYPE",
    "MAX_BATCH",
    "EventTracker",
    "PutResult",
    "camel_case",
]

logger = logging.getLogger(__name__)

#: Default deadline of event tracker creation (seconds).
TRACKER_TIMEOUT_S = 1800.0
#: Records per PutEvents / PutItems / PutUsers call (``eventList``, ``items``, ``users``:
#: 1-10: https://docs.aws.amazon.com/personalize/latest/dg/API_UBS_PutEvents.html).
MAX_BATCH = 10
#: ``eventType`` sent when the data has no EVENT_TYPE and the schema has no such field
#: (the API requires one: https://docs.aws.amazon.com/personalize/latest/dg/API_UBS_Event.html).
DEFAULT_EVENT_TYPE = "event"
MAX_RECOMMENDATION_ID = 40
MAX_IMPRESSION = 25
MAX_ATTRIBUTION_SOURCE = 1024
#: ``properties`` length limits by request
#: (https://docs.aws.amazon.com/personalize/latest/dg/API_UBS_Event.html,
#: https://docs.aws.amazon.com/personalize/latest/dg/API_UBS_Item.html).
MAX_PROPERTIES = {"events": 1024, "items": 32_000, "users": 24_000}

#: Columns PutEvents takes as members of the event or the request, not as properties.
_EVENT_COLUMNS = frozenset(RESERVED[(DatasetType.INTERACTIONS, None)]) | {"SESSION_ID", "EVENT_ID"}
#: Other spellings of event columns, after :func:`~personakit.rules.schema.field_name_for`.
_ALIASES = {"SENT_AT": "TIMESTAMP", "IMPRESSIONS": "IMPRESSION"}


@attrs.frozen
class PutResult(Display):
    """What one ``put_events`` / ``put_items`` / ``put_users`` sent.

    Attributes:
        sent: Events (or item / user records) sent.
        calls: Requests made (each carries at most 10).
        session_ids: ``user id -> sessionId`` generated for users without one
            (``put_events`` only); pass one back as ``user_id`` to get
            recommendations for an anonymous session.
    """

    sent: int
    calls: int
    session_ids: Mapping[str, str] = attrs.field(factory=dict)

    def __str__(self) -> str:
        text = f"sent {self.sent:,} record(s) in {self.calls:,} call(s)"
        if self.session_ids:
            text += f"; {len(self.session_ids):,} new session id(s)"
        return text

    def __repr__(self) -> str:
        return short_repr(self, sent=self.sent, calls=self.calls, session_ids=len(self.session_ids))

    def _repr_html_(self) -> str:
        return html_table(
            ("user id", "session id"), sorted(self.session_ids.items()), title=str(self)
        )


# --------------------------------------------------------------------------- values


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (str, bytes, list, tuple, dict)):
        return False
    try:
        return bool(value != value)  # NaN, NaT
    except (TypeError, ValueError):
        return type(value).__name__ == "NAType"  # pd.NA


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as Python values; datetime64 as a datetime (UTC)."""
    kind = type(value).__module__
    if kind == "numpy":
        name = type(value).__name__
        if name == "datetime64":
            seconds = value.astype("datetime64[us]").astype("int64") / 1e6
            return dt.datetime.fromtimestamp(float(seconds), dt.timezone.utc)
        if name == "ndarray":
            return [_plain(v) for v in value.tolist()]
        return value.item()
    return value


def _epoch(value: Any) -> tuple[int | None, str | None]:
    """``(epoch seconds, None)``, or ``(None, rule)`` when the value is not a time."""
    value = _plain(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            try:
                value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None, "timestamp-invalid"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return int(value.timestamp()), None
    if isinstance(value, dt.date):
        return int(
            dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc).timestamp()
        ), None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, "timestamp-invalid"
    if not math.isfinite(value) or value <= 0:
        return None, "timestamp-invalid"
    if value >= SECONDS_MAX:
        return None, "timestamp-milliseconds"
    return int(value), None


def _coerce(value: Any, avro: str) -> Any:
    """A value as the JSON type of an Avro field (``""``: as is); ValueError if it is not one."""
    value = _plain(value)
    if avro == "":  # no schema to go by: the value as JSON has it
        if isinstance(value, (dt.datetime, dt.date)):
            return value.isoformat()
        return value
    if avro == "string":
        if isinstance(value, (list, tuple)):
            return "|".join(str(v) for v in value)  # multi-value categorical
        if isinstance(value, dt.datetime):
            return value.isoformat()
        return str(value)
    if avro == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise ValueError(value)
    if isinstance(value, (dt.datetime, dt.date)) and avro in ("int", "long"):
        seconds, rule = _epoch(value)
        if seconds is None:
            raise ValueError(rule)
        return seconds
    if isinstance(value, bool):
        raise ValueError(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    if avro in ("int", "long"):
        if number != int(number):
            raise ValueError(value)
        return int(number)
    return number


def _impression(value: Any) -> list[str]:
    value = _plain(value)
    if isinstance(value, str):
        return [v for v in value.split("|") if v]
    if isinstance(value, Iterable):
        return [str(_plain(v)) for v in value]
    return [str(value)]


# --------------------------------------------------------------------------- rows


class _Problems:
    """Problems collected while reading rows: one :class:`Problem` per (rule, column)."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self._found: dict[tuple[str, str | None], dict[str, Any]] = {}

    def add(
        self,
        rule: str,
        message: str,
        *,
        column: str | None = None,
        row: int | None = None,
        value: Any = None,
        fix: str | None = None,
    ) -> None:
        entry = self._found.setdefault(
            (rule, column), {"message": message, "fix": fix, "rows": [], "values": [], "count": 0}
        )
        entry["count"] += 1
        if row is not None and len(entry["rows"]) < 5:
            entry["rows"].append(row)
            entry["values"].append(value)

    def raise_for_problems(self) -> None:
        problems = []
        for (rule, column), e in self._found.items():
            has_values = any(v is not None for v in e["values"])
            problems.append(
                Problem.with_examples(
                    "error",
                    rule,
                    e["message"],
                    column=column,
                    count=e["count"],
                    rows=e["rows"],
                    values=e["values"] if has_values else (),
                    fix=e["fix"],
                )
            )
        DataReport(problems, {}, self.subject).raise_for_problems()


def _records(
    data: Any, columns: Mapping[str, str] | None, problems: _Problems
) -> list[dict[str, Any]]:
    """Rows of a DataFrame, a pyarrow Table, one mapping or mappings, keyed by field name."""
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # pandas
        raw: list[Mapping[str, Any]] = data.to_dict("records")
    elif hasattr(data, "to_pylist") and hasattr(data, "column_names"):  # pyarrow
        raw = data.to_pylist()
    elif isinstance(data, Mapping):
        raw = [data]
    elif isinstance(data, Iterable) and not isinstance(data, (str, bytes)):
        raw = list(data)
    else:
        raise ConfigurationError(
            f"expected a DataFrame, a pyarrow Table or dicts, got {type(data).__name__}"
        )
    rename = dict(columns or {})
    names: dict[str, str] = {}

    def field(key: Any) -> str:
        key = str(key)
        name = names.get(key)
        if name is None:
            name = rename.get(key) or field_name_for(key)
            name = _ALIASES.get(name, name)
            names[key] = name
        return name

    out: list[dict[str, Any]] = []
    for i, record in enumerate(raw):
        if not isinstance(record, Mapping):
            raise ConfigurationError(
                f"record {i} is a {type(record).__name__}, not a mapping of column to value"
            )
        row: dict[str, Any] = {}
        for key, value in record.items():
            name = field(key)
            if name == "PROPERTIES":
                extra = _properties_in(value, i, problems)
                for k, v in extra.items():
                    row.setdefault(field(k), v)
                continue
            if name in row and not _missing(row[name]) and not _missing(value):
                problems.add(
                    "duplicate-column",
                    f"two columns are the field {name}",
                    column=name,
                    row=i,
                    value=key,
                    fix="keep one of them, or map them with columns={...}",
                )
            if not _missing(value) or name not in row:
                row[name] = value
        out.append(row)
    return out


def _properties_in(value: Any, row: int, problems: _Problems) -> Mapping[str, Any]:
    if _missing(value):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, Mapping):
        problems.add(
            "properties-invalid",
            "properties must be a dict or a JSON object",
            column="PROPERTIES",
            row=row,
            value=value,
        )
        return {}
    return value


def _properties(
    row: Mapping[str, Any],
    row_no: int,
    fields: Mapping[str, str],
    problems: _Problems,
    limit: int,
) -> str | None:
    """``properties`` JSON of one row: the schema fields in ``fields`` (name -> Avro type)."""
    props: dict[str, Any] = {}
    for name, avro in fields.items():
        value = row.get(name)
        if _missing(value):
            continue
        try:
            props[camel_case(name)] = _coerce(value, avro)
        except (TypeError, ValueError):
            problems.add(
                "property-type",
                f"values of {name} must be {avro} (the schema's type)",
                column=name,
                row=row_no,
                value=value,
            )
    if not props:
        return None
    text = json.dumps(props, separators=(",", ":"), ensure_ascii=False)
    if len(text) > limit:
        problems.add(
            "properties-too-long",
            f"properties JSON is longer than {limit} characters",
            row=row_no,
            value=len(text),
            fix="send fewer or shorter metadata columns",
        )
    return text


def _check_id(
    value: Any, name: str, row: int, problems: _Problems, *, limit: int = MAX_ID_CHARS
) -> str | None:
    if _missing(value):
        return None
    value = _plain(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an id column with gaps became float64: 42.0 is "42"
    text = str(value)
    if not text:
        return None
    if len(text) > limit:
        problems.add(
            "value-too-long",
            f"{name} values are at most {limit} characters",
            column=name,
            row=row,
            value=text,
        )
    return text


def _unknown_columns(
    rows: list[dict[str, Any]], known: Iterable[str], schema: Schema | None, problems: _Problems
) -> None:
    known_set = set(known)
    unknown = sorted({k for row in rows for k in row if k not in known_set})
    if not unknown:
        return
    what = f"the {schema.dataset_type.value} schema" if schema is not None else "the request"
    fields = ", ".join(sorted(known_set)) or "none"
    for name in unknown:
        problems.add(
            "unknown-column",
            f"{name} is not a field of {what} (fields: {fields})",
            column=name,
            fix="drop the column, rename it with columns={...}, or add the field to the schema",
        )


# --------------------------------------------------------------------------- tracker


class EventTracker(Scoped):
    """The dataset group's event tracker, and the real-time writes through it.

    Build one with :meth:`create` or ``group.event_tracker()``. The group's
    teardown deletes it (after campaigns, recommenders and solutions, before
    filters and datasets:
    https://docs.aws.amazon.com/personalize/latest/dg/API_DeleteEventTracker.html);
    events already recorded stay in the
    interactions dataset until the dataset is deleted.

    Attributes:
        group: The dataset group.
        arn: The tracker's ARN.
        name: Its name.
        tracking_id: Its ``trackingId`` (what ``PutEvents`` is addressed to).
        owned: Created by this run (deleted at teardown) or adopted.
    """

    def __init__(
        self,
        group: Group,
        arn: str,
        name: str,
        tracking_id: str | None,
        *,
        owned: bool,
        entry: Entry,
    ) -> None:
        self.group = group
        self.arn = arn
        self.name = name
        self._tracking_id = tracking_id
        self.owned = owned
        self._entry = entry
        # user id -> generated sessionId; a tracker shared by web threads must not give
        # one user two sessions, so the look-up-or-create is done under a lock
        self._sessions: dict[str, str] = {}
        self._sessions_lock = threading.Lock()

    @property
    def tracking_id(self) -> str:
        """The ``trackingId`` (read with ``DescribeEventTracker`` if not known yet)."""
        if self._tracking_id is None:
            ctx = self.group._ctx
            described = ctx.call(ctx.personalize.describe_event_tracker, eventTrackerArn=self.arn)
            self._tracking_id = str(described["eventTracker"]["trackingId"])
        return self._tracking_id

    # ------------------------------------------------------------------ create

    @classmethod
    def create(
        cls,
        group: Group,
        name: str | None = None,
        *,
        keep: bool = False,
        wait: bool = True,
        timeout_s: float | None = None,
    ) -> EventTracker:
        """Create the group's event tracker, or adopt the one it has.

        A dataset group has at most one event tracker
        (https://docs.aws.amazon.com/personalize/latest/dg/limits.html), so an
        existing tracker of the group is adopted whatever its name (it is deleted at
        teardown only when this run created it).

        Args:
            group: The dataset group.
            name: The tracker's name (default: ``<group>-events``).
            keep: Keep it at teardown (it is kept anyway when the group is kept).
            wait: Wait until it is ``ACTIVE`` (``PutEvents`` needs that).
            timeout_s: Deadline of that wait (None: 30 minutes).

        Raises:
            ResourceFailedError: It reached ``CREATE FAILED``.
        """
        timeout_s = TRACKER_TIMEOUT_S if timeout_s is None else timeout_s
        ctx = group._ctx
        personalize = ctx.personalize
        tname = name or resource_name(group.name, "events")
        request: dict[str, Any] = {
            "name": tname,
            "datasetGroupArn": group.arn,
            "tags": ctx.tags(keep=keep),
        }

        def existing() -> Mapping[str, Any] | None:
            trackers = find_all(
                ctx,
                "list_event_trackers",
                "eventTrackers",
                datasetGroupArn=group.arn,
            )
            alive = [
                t for t in trackers if not str(t.get("status", "")).upper().startswith("DELETE")
            ]
            named = [t for t in alive if t.get("name") == tname]
            chosen = named or alive
            return chosen[0] if chosen else None

        def find() -> str | None:
            found = existing()
            return None if found is None else str(found["eventTrackerArn"])

        tracking_id: str | None = None
        found = existing()
        if found is not None:
            arn = str(found["eventTrackerArn"])
            owned = ctx.tagged_by_this_run(arn)
            logger.info(
                "dataset group %s already has the event tracker %s: using it%s",
                group.name,
                found.get("name"),
                " (created by this run)" if owned else " (not deleted at teardown)",
                extra={"event": "personakit.adopt", "arn": arn, "owned": owned},
            )
            tname = str(found.get("name") or tname)
        else:
            response: dict[str, Any] = {}

            def create() -> Mapping[str, Any]:
                answer = personalize.create_event_tracker(**request)
                response.update(answer)
                return answer

            adopted = create_or_adopt(
                ctx,
                what="event tracker",
                name=tname,
                create=create,
                arn_key="eventTrackerArn",
                find=find,
                on_lost=lambda arn: group._teardown.add(
                    "event_tracker", arn, parent=group._entry, keep=keep, label=tname
                ),
            )
            arn, owned = adopted.arn, adopted.owned
            tracking_id = response.get("trackingId")
            if adopted.created and (keep or ctx.keep):
                group._teardown.keep_tagged(arn)  # its request carried the keep tag
        entry = group._teardown.add(
            "event_tracker", arn, owned=owned, parent=group._entry, keep=keep, label=tname
        )
        tracker = cls(group, arn, tname, tracking_id, owned=owned, entry=entry)
        if wait:
            wait_or_teardown(group._teardown, entry, lambda: tracker.wait(timeout_s))
        return tracker

    def wait(self, timeout_s: float = TRACKER_TIMEOUT_S) -> EventTracker:
        """Wait until the tracker is ``ACTIVE``."""
        ctx = self.group._ctx
        result = ctx.wait(
            lambda: ctx.personalize.describe_event_tracker(eventTrackerArn=self.arn),
            arn=self.arn,
            timeout_s=timeout_s,
            label=self.name,
        )
        described = (result.response or {}).get("eventTracker") or {}
        if described.get("trackingId"):
            self._tracking_id = str(described["trackingId"])
        return self

    # ------------------------------------------------------------------ events

    def put_events(
        self,
        events: Any,
        *,
        session_id: str | None = None,
        event_type: str | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> PutResult:
        """Record interaction events (``PutEvents``, at most 10 per call).

        Args:
            events: A DataFrame, a pyarrow Table, a dict or dicts with ``USER_ID``,
                ``ITEM_ID``, ``EVENT_TYPE``, ``TIMESTAMP`` (epoch seconds or datetimes;
                default: now) and optionally ``EVENT_VALUE``, ``IMPRESSION`` (a list or
                ``"a|b"``), ``RECOMMENDATION_ID``, ``EVENT_ATTRIBUTION_SOURCE``,
                ``SESSION_ID``, ``EVENT_ID`` and metadata columns of the Interactions
                schema (sent in ``properties``). camelCase names (``userId``,
                ``sentAt``) work too. Rows without ``EVENT_ID`` get a generated one
                (a UUID), so a retried request does not record them twice.
            session_id: The ``sessionId`` of rows without ``SESSION_ID``; default:
                one generated per user, kept by this tracker object (thread-safe: a
                tracker shared by threads gives a user one session).
            event_type: The ``eventType`` of rows without ``EVENT_TYPE``; when the
                schema has no EVENT_TYPE field the default is :data:`DEFAULT_EVENT_TYPE`.
            columns: Column -> field renames (``{"clicked": "ITEM_ID"}``).

        Returns:
            A :class:`PutResult` (events sent, calls made, generated session ids).

        Raises:
            ValidationError: Any row breaks a rule (all problems listed; nothing sent).
            ConfigurationError: ``events`` is not a frame or records.
        """
        group = self.group
        schema = group.schema_of(DatasetType.INTERACTIONS)
        problems = _Problems("events")
        rows = _records(events, columns, problems)
        if not rows:
            return PutResult(0, 0)
        if session_id is not None:
            _check_id(session_id, "SESSION_ID", 0, problems)
        metadata: dict[str, str] = {}
        if schema is not None:
            metadata = {f.name: f.type for f in schema.fields if f.name not in _EVENT_COLUMNS}
            _unknown_columns(rows, _EVENT_COLUMNS | set(metadata), schema, problems)
        else:
            extra = {k for row in rows for k in row if k not in _EVENT_COLUMNS}
            metadata = dict.fromkeys(sorted(extra), "")
        item_required = schema is not None and "ITEM_ID" in schema
        type_required = group.domain is not None or (schema is not None and "EVENT_TYPE" in schema)
        default_type = event_type
        if default_type is None and not type_required:
            default_type = DEFAULT_EVENT_TYPE
        now = _now()
        generated: dict[str, str] = {}
        batches: dict[tuple[str | None, str], list[dict[str, Any]]] = {}
        for i, row in enumerate(rows):
            user = _check_id(row.get("USER_ID"), "USER_ID", i, problems)
            item = _check_id(row.get("ITEM_ID"), "ITEM_ID", i, problems)
            if item is None and item_required:
                problems.add(
                    "missing-value",
                    "every event needs an ITEM_ID (the Interactions schema has one)",
                    column="ITEM_ID",
                    row=i,
                )
            etype = _check_id(row.get("EVENT_TYPE"), "EVENT_TYPE", i, problems) or default_type
            if etype is None:
                problems.add(
                    "missing-value",
                    "every event needs an EVENT_TYPE: this dataset group's interactions "
                    "have event types",
                    column="EVENT_TYPE",
                    row=i,
                    fix="add an EVENT_TYPE column or pass event_type=...",
                )
            session = _check_id(row.get("SESSION_ID"), "SESSION_ID", i, problems) or session_id
            if session is None:
                if user is None:
                    problems.add(
                        "missing-value",
                        "an anonymous event (no USER_ID) needs a SESSION_ID",
                        column="SESSION_ID",
                        row=i,
                        fix="add a SESSION_ID column or pass session_id=...",
                    )
                    session = ""  # nothing is sent: the problem is raised below
                else:
                    with self._sessions_lock:
                        session = self._sessions.get(user)
                        if session is None:
                            session = self._sessions[user] = str(uuid.uuid4())
                            generated[user] = session
            event: dict[str, Any] = {"eventType": etype}
            stamp = row.get("TIMESTAMP")
            if _missing(stamp):
                event["sentAt"] = now
            else:
                seconds, rule = _epoch(stamp)
                if seconds is None:
                    ms = rule == "timestamp-milliseconds"
                    problems.add(
                        str(rule),
                        "TIMESTAMP is in milliseconds; Personalize wants epoch seconds"
                        if ms
                        else "TIMESTAMP must be epoch seconds or a datetime",
                        column="TIMESTAMP",
                        row=i,
                        value=stamp,
                        fix="divide by 1000" if ms else "pk.prep.epoch_seconds(...)",
                    )
                else:
                    event["sentAt"] = seconds
            if item is not None:
                event["itemId"] = item
            value = row.get("EVENT_VALUE")
            if not _missing(value):
                try:
                    number = float(_plain(value))
                    if isinstance(_plain(value), bool) or not math.isfinite(number):
                        raise ValueError(value)
                    event["eventValue"] = number
                except (TypeError, ValueError):
                    problems.add(
                        "event-value-not-number",
                        "EVENT_VALUE must be a number",
                        column="EVENT_VALUE",
                        row=i,
                        value=value,
                    )
            # Every event gets an eventId before batching, so a retried PutEvents (a read
            # timeout or a 5xx whose request did land) re-sends the same ids. See https://docs.aws.amazon.com/personalize/latest/dg/API_UBS_PutEvents.html
            # lists eventId among the Event's members; the rule is in the service model's
            # doc of Event.eventId (API_UBS_Event.html): "Amazon
            # Personalize uses the event ID to distinguish unique events. Any subsequent
            # events after the first with the same event ID are not used in model training."
            event_id = _check_id(row.get("EVENT_ID"), "EVENT_ID", i, problems)
            event["eventId"] = str(uuid.uuid4()) if event_id is None else event_id
            rec_id = _check_id(
                row.get("RECOMMENDATION_ID"),
                "RECOMMENDATION_ID",
                i,
                problems,
                limit=MAX_RECOMMENDATION_ID,
            )
            if rec_id is not None:
                event["recommendationId"] = rec_id
            shown = row.get("IMPRESSION")
            if not _missing(shown):
                impression = _impression(shown)
                if not 1 <= len(impression) <= MAX_IMPRESSION:
                    problems.add(
                        "impression-size",
                        f"IMPRESSION lists 1 to {MAX_IMPRESSION} item ids",
                        column="IMPRESSION",
                        row=i,
                        value=len(impression),
                    )
                elif any(len(v) > MAX_ID_CHARS for v in impression):
                    problems.add(
                        "value-too-long",
                        f"IMPRESSION item ids are at most {MAX_ID_CHARS} characters",
                        column="IMPRESSION",
                        row=i,
                    )
                event["impression"] = impression
            source = _check_id(
                row.get("EVENT_ATTRIBUTION_SOURCE"),
                "EVENT_ATTRIBUTION_SOURCE",
                i,
                problems,
                limit=MAX_ATTRIBUTION_SOURCE,
            )
            if source is not None:
                event["metricAttribution"] = {"eventAttributionSource": source}
            props = _properties(row, i, metadata, problems, MAX_PROPERTIES["events"])
            if props is not None:
                event["properties"] = props
            batches.setdefault((user, session), []).append(event)
        problems.raise_for_problems()
        requests = []
        for (user, session), evs in batches.items():
            for start in range(0, len(evs), MAX_BATCH):
                request: dict[str, Any] = {
                    "trackingId": self.tracking_id,
                    "sessionId": session,
                    "eventList": evs[start : start + MAX_BATCH],
                }
                if user is not None:
                    request["userId"] = user
                requests.append(request)
        client = self.group.session.client("personalize-events")
        sent = self._send(client.put_events, requests, "eventList", "events")
        return PutResult(sent, len(requests), generated)

    # ------------------------------------------------------------------ items, users

    def put_items(self, items: Any, *, columns: Mapping[str, str] | None = None) -> PutResult:
        """Add or replace items in the group's Items dataset (``PutItems``, 10 per call).

        Args:
            items: A DataFrame, pyarrow Table, dict or dicts: ``ITEM_ID`` and the
                Items schema's other fields, which go into ``properties`` (camelCase
                keys, values of the schema's types; multi-value lists are joined
                with ``|``; datetimes in integer fields become epoch seconds).
            columns: Column -> field renames.

        Raises:
            ConfigurationError: The group has no Items dataset yet.
            ValidationError: Any record breaks a rule (all listed; nothing sent).
        """
        return self._put_records(items, DatasetType.ITEMS, columns)

    def put_users(self, users: Any, *, columns: Mapping[str, str] | None = None) -> PutResult:
        """Add or replace users in the group's Users dataset (``PutUsers``, 10 per call).

        Like :meth:`put_items`, with ``USER_ID`` and the Users schema's fields.
        """
        return self._put_records(users, DatasetType.USERS, columns)

    def _put_records(
        self, data: Any, dtype: DatasetType, columns: Mapping[str, str] | None
    ) -> PutResult:
        group = self.group
        dataset = group.datasets.get(dtype)
        what = dtype.value.lower()
        if dataset is None:
            raise ConfigurationError(
                f"dataset group {group.name!r} has no {dtype.value} dataset: import one first "
                f"(group.import_frame(frame, dataset_type={what!r}))"
            )
        schema = group.schema_of(dtype)
        assert schema is not None
        id_field = "ITEM_ID" if dtype is DatasetType.ITEMS else "USER_ID"
        id_key = "itemId" if dtype is DatasetType.ITEMS else "userId"
        fields = {f.name: f.type for f in schema.fields if f.name != id_field}
        required = [f.name for f in schema.fields if f.name != id_field and not f.nullable]
        problems = _Problems(what)
        rows = _records(data, columns, problems)
        if not rows:
            return PutResult(0, 0)
        _unknown_columns(rows, {id_field, *fields}, schema, problems)
        present = {k for row in rows for k in row}
        for name in required:
            if name not in present:
                problems.add(
                    "missing-column",
                    f"the {dtype.value} schema requires {name} (it is not nullable)",
                    column=name,
                )
        records = []
        for i, row in enumerate(rows):
            ident = _check_id(row.get(id_field), id_field, i, problems)
            if ident is None:
                problems.add(
                    "missing-value", f"every record needs an {id_field}", column=id_field, row=i
                )
            for name in required:
                if name in present and _missing(row.get(name)):
                    problems.add(
                        "missing-value",
                        f"{name} is required by the {dtype.value} schema",
                        column=name,
                        row=i,
                    )
            record: dict[str, Any] = {id_key: ident}
            props = _properties(row, i, fields, problems, MAX_PROPERTIES[what])
            if props is not None:
                record["properties"] = props
            records.append(record)
        problems.raise_for_problems()
        key = "items" if dtype is DatasetType.ITEMS else "users"
        requests = [
            {"datasetArn": dataset.arn, key: records[start : start + MAX_BATCH]}
            for start in range(0, len(records), MAX_BATCH)
        ]
        client = group.session.client("personalize-events")
        send = client.put_items if dtype is DatasetType.ITEMS else client.put_users
        sent = self._send(send, requests, key, what)
        return PutResult(sent, len(requests))

    def _send(self, fn: Any, requests: list[dict[str, Any]], key: str, what: str) -> int:
        """Send each request through the retrier; on a failure, say how far it got."""
        ctx = self.group._ctx
        sent = 0
        for n, request in enumerate(requests):
            try:
                ctx.call(fn, **request)
            except Exception as exc:
                total = sum(len(r[key]) for r in requests)
                message = (
                    f"{sent} of {total} {what} were sent ({n} of {len(requests)} requests) "
                    f"before this error; the rest were not"
                )
                logger.error(
                    "%s",
                    message,
                    extra={"event": "personakit.events.failed", "sent": sent},
                )
                add_note = getattr(exc, "add_note", None)
                if callable(add_note):
                    add_note(message)
                raise
            sent += len(request[key])
        logger.info(
            "sent %d %s in %d request(s)",
            sent,
            what,
            len(requests),
            extra={
                "event": "personakit.events.sent",
                "sent": sent,
                "calls": len(requests),
            },
        )
        return sent

    # ------------------------------------------------------------------ teardown

    def delete(self) -> TeardownReport:
        """Delete the tracker and wait until it is gone (recorded events stay)."""
        return self._delete_scope()

    # ------------------------------------------------------------------ display

    def __repr__(self) -> str:
        return f"EventTracker({self.name!r}, tracking_id={self._tracking_id!r}, arn={self.arn!r})"

    def _repr_html_(self) -> str:
        return (
            f"<div><b>Event tracker {html.escape(self.name)}</b> "
            f"(tracking id <code>{html.escape(str(self._tracking_id))}</code>)<br>"
            f"<code>{html.escape(self.arn)}</code></div>"
        )


def _now() -> int:

    return int(time.time())
