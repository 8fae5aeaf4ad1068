"""Batch recommendations and user segments: a DataFrame in, a DataFrame out.

::

    recs = solution.batch_recommend(["u1", "u2", "u3"], n=10)        # one row per user
    recs = solution.batch_recommend(users, filter=no_horror, filter_values={"genres": ["Horror"]})
    job = solution.batch_recommend(users, wait=False)                # a BatchJob
    job.wait(); frame = job.result()
    segments = affinity.batch_segments(["i1", "i2"], n=1000)        # Item-Affinity solutions
    themed = similar.batch_recommend(["i1", "i2"], themes="TITLE")  # Similar-Items + themes

What happens
(https://docs.aws.amazon.com/personalize/latest/dg/recommendations-batch.html):
the input is checked (ids present, non-empty, at most
256 characters; ranking lists of 1-500 ids; 1 GB at most), written as JSON Lines to
``s3://<bucket>/<prefix>batch/<job>/input/``, and a ``CreateBatchInferenceJob`` (or
``CreateBatchSegmentJob``) is sent with the session's role and run tags. The job is
waited for with the shared poller (deadline, progress, ``ResourceFailedError`` with
Personalize's ``failureReason``), then its output files are read back and parsed.
With ``themes=<item-name column>`` (Similar-Items solutions only) the job runs in
``THEME_GENERATION`` mode: Personalize Content Generator names a theme for each
input item's related items, at most 100 items per input file
(https://docs.aws.amazon.com/personalize/latest/dg/themed-batch-recommendations.html).
No campaign is needed: batch jobs are billed per recommendation, not per hour
(``docs/batch.md``). The job's S3 folder (input and output) is registered for
teardown when the job starts and removed with the dataset group's other uploads,
whether the result was read or not; a job in progress cannot be stopped, so teardown
waits for it to settle first.
"""

from __future__ import annotations

import html
import io
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast, overload

from personakit.aws.paging import s3_objects
from personakit.errors import ConfigurationError, ResourceFailedError, ValidationError
from personakit.personalize.base import (
    Deployable,
    create_or_adopt,
    find_by,
    resource_name,
    short_hash,
)
from personakit.personalize.serving import FilterLike, filter_request
from personakit.personalize.teardown import Entry
from personakit.rules.facts import (
    BATCH_MAX_INPUT_BYTES,
    BATCH_MAX_RESULTS,
    DEFAULT_RESULTS,
    MAX_ID_CHARS,
    MAX_INPUT_LIST,
    SEGMENT_MAX_ITEMS_PER_FILE,
    SEGMENT_MAX_QUERIES_PER_FILE,
    SEGMENT_MAX_USERS,
    THEME_MAX_ITEMS_PER_FILE,
    THEME_RECIPES,
    THEMES_GUIDE,
    recipe_name,
)
from personakit.rules.filters import encode_filter_values
from personakit.rules.names import FIELD_NAME_RE, MAX_FIELD_NAME
from personakit.rules.report import Problem

if TYPE_CHECKING:
    import pandas as pd


__all__ = ["BATCH_TIMEOUT_S", "BatchJob", "BatchRunner", "batch_runner", "start_job"]

logger = logging.getLogger(__name__)

#: Default deadline of a batch job (seconds); large jobs take hours on AWS.
BATCH_TIMEOUT_S = 6 * 3600.0

Kind = Literal["inference", "segment"]

_USER_KEYS = ("user_id", "USER_ID", "userId")
_ITEM_KEYS = ("item_id", "ITEM_ID", "itemId")
_LIST_KEYS = ("items", "item_list", "itemList", "ITEM_LIST")
_ATTR_KEYS = ("item_attributes", "itemAttributes", "ITEM_ATTRIBUTES")
_VALUES_KEYS = ("filter_values", "filterValues")


# --------------------------------------------------------------------------- input


def _column(frame: pd.DataFrame, names: Sequence[str]) -> str | None:
    return next((n for n in names if n in frame.columns), None)


def _records(data: Any, key_names: Sequence[str], what: str) -> list[dict[str, Any]]:
    """Rows as dicts from a DataFrame, a mapping (ranking) or a sequence of ids."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        key = _column(data, key_names)
        if key is None:
            raise ValidationError(
                f"the frame needs a {what} column ({' or '.join(key_names)}); it has "
                f"{', '.join(map(str, data.columns)) or 'no columns'}"
            )
        out: list[dict[str, Any]] = []
        lists = _column(data, _LIST_KEYS)
        values = _column(data, _VALUES_KEYS)
        columns = [str(c) for c in data.columns]
        for row in data.itertuples(index=False, name=None):
            record = dict(zip(columns, row, strict=True))
            entry: dict[str, Any] = {"id": record.get(key)}
            if lists is not None:
                entry["items"] = record.get(lists)
            if values is not None:
                entry["values"] = record.get(values)
            out.append(entry)
        return out
    if isinstance(data, (str, bytes)):
        raise ValidationError(f"pass a sequence of {what}s or a DataFrame, not one string")
    if isinstance(data, Mapping):
        return [{"id": k, "items": v} for k, v in data.items()]
    return [
        {"id": v[0], "items": v[1]} if isinstance(v, tuple) and len(v) == 2 else {"id": v}
        for v in data
    ]


def _check_ids(
    records: Sequence[Mapping[str, Any]], field: str, problems: list[Problem], *, column: str
) -> list[str]:
    """Ids as strings; problems for missing, empty or too long ones."""

    ids: list[str] = []
    missing: list[int] = []
    long: list[int] = []
    for k, record in enumerate(records):
        value = record.get("id")
        if value is None or (isinstance(value, float) and math.isnan(value)):
            missing.append(k)
            ids.append("")
            continue
        text = str(value)
        if not text.strip():
            missing.append(k)
        elif len(text) > MAX_ID_CHARS:
            long.append(k)
        ids.append(text)
    if missing:
        problems.append(
            Problem(
                "error",
                "id-missing",
                f"{len(missing)} row(s) have no {field}",
                column=column,
                count=len(missing),
                rows=missing[:5],
                fix=f"drop those rows, or give every row a {field}",
            )
        )
    if long:
        problems.append(
            Problem(
                "error",
                "id-too-long",
                f"{len(long)} {field}(s) are longer than {MAX_ID_CHARS} characters",
                column=column,
                count=len(long),
                rows=long[:5],
                values=[ids[k][:40] + "..." for k in long[:5]],
            )
        )
    return ids


def _raise(problems: list[Problem], what: str) -> None:
    if problems:
        lines = "\n".join(
            f"  - {p.message}" + (f" (rows {list(p.rows)})" if p.rows else "") for p in problems
        )
        raise ValidationError(f"the {what} input breaks Personalize's rules:\n{lines}", problems)


def _line_values(
    per_row: Any, shared: Mapping[str, str], k: int, problems: list[Problem]
) -> dict[str, str]:
    values = dict(shared)
    if per_row is None or (isinstance(per_row, float) and per_row != per_row):
        return values
    if not isinstance(per_row, Mapping):
        problems.append(
            Problem(
                "error",
                "filter-values-type",
                f"row {k}: filter_values must be a mapping, got {type(per_row).__name__}",
                column="filter_values",
                rows=[k],
            )
        )
        return values
    values.update(encode_filter_values(per_row))
    return values


def inference_lines(
    data: Any,
    recipe_type: str,
    *,
    shared_values: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The JSON Lines objects of a batch inference job, checked
    (https://docs.aws.amazon.com/personalize/latest/dg/batch-data-upload.html).

    Raises:
        ValidationError: Every problem found (missing, empty or too long ids; ranking
            lists that are empty, too long or hold empty ids).
    """
    problems: list[Problem] = []
    related = recipe_type == "RELATED_ITEMS"
    ranking = recipe_type == "PERSONALIZED_RANKING"
    field, keys = ("itemId", _ITEM_KEYS) if related else ("userId", _USER_KEYS)
    records = _records(data, keys, "item id" if related else "user id")
    if not records:
        raise ValidationError("the batch input is empty: give at least one id")
    ids = _check_ids(records, field, problems, column=keys[0])
    lines: list[dict[str, Any]] = []
    bad_lists: list[int] = []
    for k, (record, ident) in enumerate(zip(records, ids, strict=True)):
        line: dict[str, Any] = {field: ident}
        if ranking:
            items = record.get("items")
            if isinstance(items, str) or not isinstance(items, Iterable):
                bad_lists.append(k)
                items = []
            item_list = [str(i) for i in items]
            if not 1 <= len(item_list) <= MAX_INPUT_LIST or not all(
                i.strip() and len(i) <= MAX_ID_CHARS for i in item_list
            ):
                bad_lists.append(k)
            line["itemList"] = item_list
        values = _line_values(record.get("values"), shared_values or {}, k, problems)
        if values:
            line["filterValues"] = values
        lines.append(line)
    if ranking and bad_lists:
        rows = sorted(set(bad_lists))
        problems.append(
            Problem(
                "error",
                "item-list",
                f"{len(rows)} row(s) need a list of 1 to {MAX_INPUT_LIST} non-empty item ids "
                "to rank (Personalized-Ranking input: user_id and items)",
                column="items",
                count=len(rows),
                rows=rows[:5],
            )
        )
    _raise(problems, "batch inference")
    return lines


#: Where the item attribute queries of a batch segment job are described.
_SEGMENT_INPUT = "https://docs.aws.amazon.com/personalize/latest/dg/batch-data-upload.html"


def _attributes(values: Sequence[Any]) -> tuple[list[str], list[Problem]]:
    """Item attribute queries: a string as it is, a mapping as ``ITEMS.key = "value"``
    conditions joined with AND. A mapping's key must be a field name and its value free
    of ``"`` and ``\\``, which a query has no documented escape for: an untrusted value
    could otherwise add conditions of its own."""
    queries: list[str] = []
    bad_keys: dict[int, str] = {}
    bad_values: dict[int, str] = {}
    for row, value in enumerate(values):
        if not isinstance(value, Mapping):
            queries.append(str(value))
            continue
        parts = []
        for key, item in value.items():
            text = str(item)
            if not isinstance(key, str) or not FIELD_NAME_RE.match(key):
                bad_keys.setdefault(row, repr(key))
            elif '"' in text or "\\" in text:
                bad_values.setdefault(row, repr(text))
            parts.append(f'ITEMS.{key} = "{text}"')
        queries.append(" AND ".join(parts))
    problems = [
        Problem(
            "error",
            rule,
            f"{len(bad)} item attribute mapping(s) {what} ({_SEGMENT_INPUT})",
            column="item_attributes",
            count=len(bad),
            rows=list(bad)[:5],
            values=list(bad.values())[:5],
            fix=fix,
        )
        for bad, rule, what, fix in (
            (
                bad_keys,
                "query-field",
                "have a key that is not a field name (letters, digits and _)",
                "use the items dataset's field names as keys",
            ),
            (
                bad_values,
                "query-value-character",
                'have a value holding " or \\, which a query cannot escape',
                "leave those values out, or write the query as a string yourself",
            ),
        )
        if bad
    ]
    return queries, problems


def segment_lines(
    data: Any,
    recipe: str,
    *,
    shared_values: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The JSON Lines objects of a batch segment job, checked
    (https://docs.aws.amazon.com/personalize/latest/dg/batch-data-upload.html).

    Item-Affinity takes item ids; Item-Attribute-Affinity takes queries
    (``'ITEMS.genres = "Comedy" AND ITEMS.genres = "Action"'``) or mappings
    (``{"genres": "Comedy"}``, conditions joined with AND).
    """
    problems: list[Problem] = []
    attributes = recipe.endswith("item-attribute-affinity")
    if attributes:
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            key = _column(data, _ATTR_KEYS)
            if key is None:
                raise ValidationError(
                    f"the frame needs an item_attributes column; it has {list(data.columns)}"
                )
            data = data[key].tolist()
        elif isinstance(data, (str, Mapping)):
            data = [data]
        queries, problems = _attributes(list(data))
        if not queries:
            raise ValidationError("the batch input is empty: give at least one query")
        empty = [k for k, q in enumerate(queries) if not q.strip()]
        if empty:
            problems.append(
                Problem(
                    "error",
                    "query-empty",
                    f"{len(empty)} empty item attribute queries",
                    count=len(empty),
                    rows=empty[:5],
                )
            )
        lines: list[dict[str, Any]] = [{"itemAttributes": q} for q in queries]
    else:
        records = _records(data, _ITEM_KEYS, "item id")
        if not records:
            raise ValidationError("the batch input is empty: give at least one item id")
        ids = _check_ids(records, "itemId", problems, column="item_id")
        lines = [{"itemId": i} for i in ids]
    if shared_values:
        for line in lines:
            line["filterValues"] = dict(shared_values)
    _raise(problems, "batch segment")
    return lines


def _jsonl(lines: Sequence[Mapping[str, Any]]) -> bytes:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")


# --------------------------------------------------------------------------- the job


class BatchJob:
    """A batch inference or batch segment job started by personakit.

    Attributes:
        solution: The solution whose latest version answers.
        kind: ``"inference"`` or ``"segment"``.
        arn: The job's ARN.
        name: Its name.
        input_uri: Where its input was written (an S3 prefix).
        output_uri: Where it writes its output (an S3 prefix).
        lines: The input lines sent, in order (results come back in this order).
        themes: The Items column of item names of a job with themes, else None.
    """

    def __init__(
        self,
        solution: Deployable,
        kind: Kind,
        arn: str,
        name: str,
        input_uri: str,
        output_uri: str,
        lines: Sequence[Mapping[str, Any]],
        entry: Entry,
        themes: str | None = None,
    ) -> None:
        self.solution = solution
        self.kind = kind
        self.arn = arn
        self.name = name
        self.input_uri = input_uri
        self.output_uri = output_uri
        self.lines = [dict(line) for line in lines]
        self._entry = entry
        self.themes = themes
        self._result: pd.DataFrame | None = None

    @property
    def _describe_fn(self) -> Any:
        personalize = self.solution.group._ctx.personalize
        if self.kind == "inference":
            return lambda: personalize.describe_batch_inference_job(batchInferenceJobArn=self.arn)
        return lambda: personalize.describe_batch_segment_job(batchSegmentJobArn=self.arn)

    def describe(self) -> Mapping[str, Any]:
        """``DescribeBatchInferenceJob`` / ``DescribeBatchSegmentJob`` of the job."""
        response = self.solution.group._ctx.call(self._describe_fn)
        key = "batchInferenceJob" if self.kind == "inference" else "batchSegmentJob"
        return dict(response[key])

    @property
    def status(self) -> str:
        """The job's status now (``CREATE PENDING`` ... ``ACTIVE`` | ``CREATE FAILED``)."""
        return str(self.describe().get("status"))

    def wait(self, timeout_s: float = BATCH_TIMEOUT_S) -> BatchJob:
        """Wait until the job is ``ACTIVE``.

        Raises:
            ResourceFailedError: The job failed (``failure_reason`` says why).
            WaitTimeoutError: ``timeout_s`` passed first (the job goes on; AWS cannot
                stop it, and the group's teardown waits for it).
        """
        ctx = self.solution.group._ctx
        try:
            ctx.wait(self._describe_fn, arn=self.arn, timeout_s=timeout_s, label=self.name)
        except ResourceFailedError:
            self._entry.state = "settled"
            raise
        self._entry.state = "settled"
        return self

    def result(self, timeout_s: float = BATCH_TIMEOUT_S) -> pd.DataFrame:
        """The output as a DataFrame (waits first if needed), one row per input line.

        Batch inference: ``user_id`` (or ``item_id``), ``items`` for ranking input,
        ``item_ids`` and ``scores`` (lists, best first) and ``error`` (``None`` when
        the line was answered); with themes, ``item_ids`` ranked by relevance to the
        ``theme`` and ``theme_scores`` (``itemsThemeRelevanceScores``) instead of
        ``scores``. Segments: ``item_id`` or ``item_attributes``,
        ``user_ids`` and ``error``.
        """
        if self._result is None:
            if self._entry.state != "settled":
                self.wait(timeout_s)
            self._result = self._read()
        return self._result.copy()

    # ------------------------------------------------------------------ output
    def _read(self) -> pd.DataFrame:
        # S3 is called directly: its client keeps botocore's retries (session.SELF_RETRIED).
        # The output objects are removed with the job's prefix, registered when it started.
        s3 = self.solution.group.session.client("s3")
        bucket, _, prefix = self.output_uri[len("s3://") :].partition("/")
        keys = [str(o["Key"]) for o in s3_objects(s3, bucket, prefix)]
        parsed: list[dict[str, Any]] = []
        for key in sorted(k for k in keys if k.endswith(".out")):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            parsed.extend(
                json.loads(t) for t in io.TextIOWrapper(io.BytesIO(body), "utf-8") if t.strip()
            )
        return self._frame(parsed)

    def _frame(self, parsed: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        import pandas as pd

        by_input: dict[str, list[Mapping[str, Any]]] = {}
        for line in parsed:
            source = line.get("input")
            if not isinstance(source, Mapping):  # Item-Attribute-Affinity per the guide
                source = {k: v for k, v in line.items() if k not in ("output", "error")}
            by_input.setdefault(_key(source), []).append(line)
        rows: list[dict[str, Any]] = []
        missing = 0
        for sent in self.lines:
            queue = by_input.get(_key(sent))
            got: Mapping[str, Any] = queue.pop(0) if queue else {}
            if not got:
                missing += 1
            rows.append(self._row(sent, got))
        if missing:
            logger.warning("%s: %d input line(s) have no output line", self.name, missing)
        columns = list(rows[0]) if rows else ["error"]
        # object columns, so a missing error stays None (not NaN) and lists stay lists
        return pd.DataFrame({c: pd.Series([r.get(c) for r in rows], dtype=object) for c in columns})

    def _row(self, sent: Mapping[str, Any], got: Mapping[str, Any]) -> dict[str, Any]:
        output = got.get("output") if isinstance(got.get("output"), Mapping) else None
        error = got.get("error") if got else "no output line for this input"
        row: dict[str, Any] = {}
        if self.kind == "inference":
            if "userId" in sent:
                row["user_id"] = sent["userId"]
            if "itemId" in sent:
                row["item_id"] = sent["itemId"]
            if "itemList" in sent:
                row["items"] = list(sent["itemList"])
            row["item_ids"] = list(output.get("recommendedItems") or []) if output else []
            if self.themes is not None:
                row["theme"] = str(output["theme"]) if output and "theme" in output else None
                scores = (output.get("itemsThemeRelevanceScores") or []) if output else []
                row["theme_scores"] = [None if s is None else float(s) for s in scores]
                row["error"] = None if error is None else str(error)
                return row
            row["scores"] = (
                [None if s is None else float(s) for s in (output.get("scores") or [])]
                if output
                else []
            )
        else:
            if "itemId" in sent:
                row["item_id"] = sent["itemId"]
            else:
                row["item_attributes"] = sent.get("itemAttributes")
            users = (output.get("usersList") or output.get("recommendedUsers")) if output else None
            row["user_ids"] = list(users or [])
        row["error"] = None if error is None else str(error)
        return row

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        return f"BatchJob({self.kind}, {self.name!r}, lines={len(self.lines)}, arn={self.arn!r})"

    def _repr_html_(self) -> str:
        return (
            f"<div><b>Batch {self.kind} job {html.escape(self.name)}</b> "
            f"({len(self.lines):,} lines)<br><code>{html.escape(self.arn)}</code><br>"
            f"output: <code>{html.escape(self.output_uri)}</code></div>"
        )


def _key(line: Mapping[str, Any]) -> str:
    return json.dumps(dict(line), sort_keys=True, ensure_ascii=False, default=str)


# --------------------------------------------------------------------------- starting jobs


def start_job(
    solution: Deployable,
    kind: Kind,
    data: Any,
    *,
    n: int,
    filter: FilterLike | None,
    filter_values: Mapping[str, Any] | None,
    job_name: str | None,
    themes: str | None = None,
) -> BatchJob:
    """Check the input, write it to S3 and start the job; what both public functions share.

    ``kind`` chooses the checks and the line builder: :func:`inference_lines` for
    ``"inference"``, :func:`segment_lines` for ``"segment"``. ``themes`` (inference
    only) names the Items column of item names and asks for ``THEME_GENERATION``.
    """
    if themes is not None:
        _check_themes(solution, kind, themes)
    if kind == "inference":
        recipe_type = solution.recipe_type or "USER_PERSONALIZATION"
        if recipe_type == "USER_SEGMENTATION":
            raise ConfigurationError(
                "a USER_SEGMENTATION solution makes user segments: use batch_segments(items)"
            )
        if not 1 <= int(n) <= BATCH_MAX_RESULTS:
            raise ConfigurationError(f"n must be between 1 and {BATCH_MAX_RESULTS}, got {n!r}")
    else:
        if solution.recipe_type not in (None, "USER_SEGMENTATION"):
            raise ConfigurationError(
                f"batch_segments needs an item-affinity or item-attribute-affinity solution; "
                f"{solution.name!r} is {solution.recipe_type}: use batch_recommend"
            )
        if not 1 <= int(n) <= SEGMENT_MAX_USERS:
            raise ConfigurationError(f"n must be between 1 and {SEGMENT_MAX_USERS:,}, got {n!r}")
    filter_arn, shared = _filter(solution, filter, filter_values)
    if kind == "inference":
        lines = inference_lines(data, recipe_type, shared_values=shared)
    else:
        lines = segment_lines(data, solution.recipe_arn, shared_values=shared)
    group = solution.group
    ctx = group._ctx
    session = group.session
    role = session.role_arn
    if role is None:
        raise ConfigurationError(
            "batch jobs need an IAM role Personalize can assume to read and write the bucket: "
            "pass Session.aws(role_arn=...) or set PERSONAKIT_ROLE_ARN"
        )
    session.s3_uri()  # ConfigurationError without a bucket, before anything is uploaded
    bucket = session.bucket
    assert bucket is not None
    version = solution.version_arn
    if themes is not None:
        cap = THEME_MAX_ITEMS_PER_FILE  # 100 items a file (themed-batch-recommendations.html)
    elif kind == "inference":
        cap = max(len(lines), 1)  # one file (at most 50M lines: limits.html)
    elif solution.recipe_arn.endswith("item-attribute-affinity"):
        cap = SEGMENT_MAX_QUERIES_PER_FILE
    else:
        cap = SEGMENT_MAX_ITEMS_PER_FILE
    chunks = [lines[k : k + cap] for k in range(0, len(lines), cap)]
    bodies = [_jsonl(chunk) for chunk in chunks]
    size = sum(len(b) for b in bodies)
    if size > BATCH_MAX_INPUT_BYTES:
        raise ValidationError(
            f"the batch input is {size:,} bytes as JSON Lines; a job takes at most 1 GB: split it"
        )
    themed = () if themes is None else ("themes", themes)
    digest = short_hash(session.run_id, version, kind, n, filter_arn, *themed, *bodies, n=10)
    name = job_name or resource_name(solution.name, "batch", digest)
    input_key = session.s3_key("batch", name, "input/")
    output_key = session.s3_key("batch", name, "output/")
    input_uri = f"s3://{bucket}/{input_key}"
    output_uri = f"s3://{bucket}/{output_key}"
    s3 = session.client("s3")
    kms = session.kms_key_arn
    extra: dict[str, Any] = (
        {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms}
        if kms
        else {"ServerSideEncryption": "AES256"}
    )
    # Everything under the job's prefix (input now, output when the job writes it) is
    # removed at teardown, whether the result is read or not, the job fails or a wait
    # times out: teardown lets the job settle first (rank 0), then deletes the prefix.
    job_prefix = session.s3_key("batch", f"{name}/")  # the "/": job "a" never covers "ab"
    group._teardown.add(
        "s3_prefix", f"s3://{bucket}/{job_prefix}", parent=solution._entry, label=job_prefix
    )
    for k, body in enumerate(bodies):
        key = f"{input_key}input.json" if len(bodies) == 1 else f"{input_key}input-{k:04d}.json"
        # S3 directly: its client keeps botocore's retries (session.SELF_RETRIED)
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            Metadata=session.s3_metadata(),  # a sweep can prove the job's folder is ours
            **extra,
        )
    job_input: dict[str, Any] = {"s3DataSource": {"path": input_uri}}
    job_output: dict[str, Any] = {"s3DataDestination": {"path": output_uri}}
    if kms:
        job_input["s3DataSource"]["kmsKeyArn"] = kms
        job_output["s3DataDestination"]["kmsKeyArn"] = kms
    request: dict[str, Any] = {
        "jobName": name,
        "solutionVersionArn": version,
        "numResults": int(n),
        "jobInput": job_input,
        "jobOutput": job_output,
        "roleArn": role,
        "tags": ctx.tags(),
    }
    if filter_arn:
        request["filterArn"] = filter_arn
    if themes is not None:
        request["batchInferenceJobMode"] = "THEME_GENERATION"
        request["themeGenerationConfig"] = {"fieldsForThemeGeneration": {"itemName": themes}}
    personalize = ctx.personalize
    pages: Any
    if kind == "inference":
        create: Any = lambda: personalize.create_batch_inference_job(**request)  # noqa: E731
        arn_key, pages, list_key = (
            "batchInferenceJobArn",
            "list_batch_inference_jobs",
            "batchInferenceJobs",
        )
    else:
        create = lambda: personalize.create_batch_segment_job(**request)  # noqa: E731
        arn_key, pages, list_key = (
            "batchSegmentJobArn",
            "list_batch_segment_jobs",
            "batchSegmentJobs",
        )

    def find() -> str | None:
        found = find_by(
            ctx, pages, list_key, lambda s: s["jobName"] == name, solutionVersionArn=version
        )
        return None if found is None else str(found[arn_key])

    entry_kind = "batch_inference_job" if kind == "inference" else "batch_segment_job"
    adopted = create_or_adopt(
        ctx,
        what=f"batch {kind} job",
        name=name,
        create=create,
        arn_key=arn_key,
        find=find,
        on_lost=lambda arn: group._teardown.add(
            entry_kind, arn, parent=solution._entry, label=name
        ),
    )
    entry = group._teardown.add(
        entry_kind, adopted.arn, owned=True, parent=solution._entry, label=name
    )
    logger.info(
        "batch %s job %s started: %d lines, output %s",
        kind,
        name,
        len(lines),
        output_uri,
        extra={"event": "personakit.batch.start", "arn": adopted.arn},
    )
    return BatchJob(
        solution, kind, adopted.arn, name, input_uri, output_uri, lines, entry, themes=themes
    )


def _check_themes(solution: Deployable, kind: Kind, themes: object) -> None:
    """Themes need a Similar-Items solution, batch inference and a column name, checked
    before anything is uploaded
    (https://docs.aws.amazon.com/personalize/latest/dg/themed-batch-recommendations.html)."""
    if kind != "inference":
        raise ConfigurationError(
            f"themes are for batch_recommend (batch inference jobs), not batch segments "
            f"({THEMES_GUIDE})"
        )
    recipe = recipe_name(solution.recipe_arn)
    if recipe not in THEME_RECIPES:
        raise ConfigurationError(
            f"themes (Content Generator) need a Similar-Items solution "
            f"({', '.join(sorted(THEME_RECIPES))}); {solution.name!r} uses {recipe}: "
            f"train group.train('similar-items') for themes ({THEMES_GUIDE})"
        )
    if (
        not isinstance(themes, str)
        or not FIELD_NAME_RE.match(themes)
        or len(themes) > MAX_FIELD_NAME
    ):
        raise ValidationError(
            f"themes must name the Items column that holds item names (such as 'TITLE'), "
            f"a field name of letters, digits and underscores (at most {MAX_FIELD_NAME}); "
            f"got {themes!r} ({THEMES_GUIDE})"
        )


def _filter(
    solution: Deployable, filter: FilterLike | None, values: Mapping[str, Any] | None
) -> tuple[str | None, dict[str, str]]:
    request = filter_request(solution.group, filter, values)
    return request.get("filterArn"), dict(request.get("filterValues") or {})


class BatchRunner(Protocol):
    """One kind of batch job of a solution, as a function: ``solution.batch_recommend``
    and ``solution.batch_segments`` are two. It waits and returns the DataFrame of the
    results, or with ``wait=False`` the :class:`BatchJob` at once."""

    @overload
    def __call__(
        self,
        data: Any,
        *,
        n: int = ...,
        filter: FilterLike | None = ...,
        filter_values: Mapping[str, Any] | None = ...,
        job_name: str | None = ...,
        wait: Literal[True] = ...,
        timeout_s: float = ...,
        themes: str | None = ...,
    ) -> pd.DataFrame: ...
    @overload
    def __call__(
        self,
        data: Any,
        *,
        n: int = ...,
        filter: FilterLike | None = ...,
        filter_values: Mapping[str, Any] | None = ...,
        job_name: str | None = ...,
        wait: Literal[False],
        timeout_s: float = ...,
        themes: str | None = ...,
    ) -> BatchJob: ...


def batch_runner(
    solution: Deployable, kind: Kind, *, name: str = "", doc: str | None = None
) -> BatchRunner:
    """The :class:`BatchRunner` of one kind of job (``"inference"``, ``"segment"``),
    named ``name`` and documented by ``doc`` for ``help()``."""

    def run(
        data: Any,
        *,
        n: int = DEFAULT_RESULTS,
        filter: FilterLike | None = None,
        filter_values: Mapping[str, Any] | None = None,
        job_name: str | None = None,
        wait: bool = True,
        timeout_s: float = BATCH_TIMEOUT_S,
        themes: str | None = None,
    ) -> pd.DataFrame | BatchJob:
        job = start_job(
            solution,
            kind,
            data,
            n=n,
            filter=filter,
            filter_values=filter_values,
            job_name=job_name,
            themes=themes,
        )
        return job.result(timeout_s) if wait else job

    if name:
        run.__name__ = name
        run.__qualname__ = f"{type(solution).__name__}.{name}"
    run.__doc__ = doc
    return cast(BatchRunner, run)
