"""Batch inference and batch segment jobs of the local engine (the work behind the twin).

The control plane (:class:`~personakit.local.jobs.PersonalizeControlPlane`) runs
:func:`run_batch_job` in a worker thread once a job enters ``CREATE IN_PROGRESS``. The
job reads JSON Lines from the S3 twin, answers every line with the model the solution
version trained (the same ``Model.recommend`` / ``related`` / ``rank`` /
``users_for_items`` calls the runtime twin makes for ``GetRecommendations``), and
writes ``<input file name>.out`` under the output prefix
(https://docs.aws.amazon.com/personalize/latest/dg/batch-inference-job-output-examples.html).

Formats (one JSON object per line):

* inference input: ``{"userId": "4638"}`` (USER_PERSONALIZATION, POPULAR_ITEMS),
  ``{"itemId": "105"}`` (RELATED_ITEMS), ``{"userId": "891", "itemList": ["27", "886"]}``
  (PERSONALIZED_RANKING); each may carry ``"filterValues": {"GENRES": "\\"horror\\""}``
  (https://docs.aws.amazon.com/personalize/latest/dg/filter-batch.html);
* inference output: ``{"input": {...}, "output": {"recommendedItems": [...],
  "scores": [...]}, "error": null}``; a line that cannot be answered (no userId, an
  INCLUDE placeholder without a value ...) gets ``"output": null`` and the message in
  ``"error"``, and the job still succeeds;
* themed inference (``batchInferenceJobMode="THEME_GENERATION"``, Similar-Items only,
  at most 100 lines a file): input ``{"itemId": "40"}``, output ``{"input": {...},
  "output": {"recommendedItems": [...], "theme": "...", "itemsThemeRelevanceScores":
  [...]}}`` with the items ranked by relevance; a line whose theme cannot be written
  (the registered theme writer raised or returned no text) gets ``{"input": {...},
  "error": "..."}`` and the others still get theirs
  (https://docs.aws.amazon.com/personalize/latest/dg/themed-batch-recommendations.html;
  :mod:`personakit.local.themes` says how themes and scores are made offline);
* segment input: ``{"itemId": "105"}`` (Item-Affinity, at most 500 lines a file) or
  ``{"itemAttributes": "ITEMS.genres = \\"Comedy\\" AND ITEMS.genres = \\"Action\\""}``
  (Item-Attribute-Affinity, at most 10 queries a file; only ``=`` and ``AND``,
  https://docs.aws.amazon.com/personalize/latest/dg/limits.html,
  https://repost.aws/questions/QUmugT1X6YRUeD7Uq231Oy6w);
* segment output: ``{"input": {...}, "output": {"usersList": [...]}}`` (the key the
  service writes, as shown by that re:Post thread; the guide's examples say
  ``recommendedUsers``).

The job fails (``CREATE FAILED`` with a ``failureReason``) when the input is missing,
a line is not a JSON object, the input is over 1 GB or a file over its line quota,
the output bucket does not exist, or the filter no longer exists or is not ACTIVE.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from personakit.errors import ValidationError
from personakit.local.data import GroupData, filter_item_sets
from personakit.local.errors import FilterUnusable, JobFailed
from personakit.local.recipes import recipe_name, recipe_type
from personakit.local.s3 import S3Objects
from personakit.local.themes import (
    ThemeRequest,
    ThemeTable,
    ThemeWriter,
    fallback_theme,
    theme_fields_problem,
    themed_output,
)
from personakit.local.twin import TwinError
from personakit.rules.facts import (
    BATCH_MAX_INPUT_BYTES,
    MAX_ID_CHARS,
    MAX_INPUT_LIST,
    SEGMENT_MAX_ITEMS_PER_FILE,
    SEGMENT_MAX_QUERIES_PER_FILE,
    THEME_MAX_ITEMS_PER_FILE,
    THEMES_GUIDE,
)
from personakit.rules.schema import DatasetType

if TYPE_CHECKING:
    from personakit.local.algorithms.base import Model, Scored
    from personakit.local.control import ControlPlane
    from personakit.local.store import Resource

__all__ = [
    "BATCH_KINDS",
    "BATCH_MAX_INPUT_BYTES",
    "INFERENCE_JOB",
    "SEGMENT_JOB",
    "encode_line",
    "parse_item_attributes",
    "run_batch_job",
]

logger = logging.getLogger(__name__)

INFERENCE_JOB: Final = "batch-inference-job"
SEGMENT_JOB: Final = "batch-segment-job"
BATCH_KINDS: Final = (INFERENCE_JOB, SEGMENT_JOB)
#: How often (lines) a running job checks it was not stopped or taken over.
_CHECK_EVERY: Final = 5000


class LineError(Exception):
    """One input line cannot be answered; the message goes into the line's ``error``."""


# --------------------------------------------------------------------------- input / output


def _sources(plane: ControlPlane, uri: str) -> list[tuple[str, str, Path, int]]:
    """``(bucket, key, file, size)`` of the input: one object, or every object of a prefix."""
    objects = S3Objects(plane.store)
    bucket, _, key = uri[len("s3://") :].partition("/") if uri.startswith("s3://") else ("", "", "")
    if not bucket or objects.bucket(bucket) is None:
        raise JobFailed(f"Input bucket {bucket or uri} does not exist.")
    row = objects.get(bucket, key) if key and not key.endswith("/") else None
    rows = [row] if row is not None else objects.keys(bucket, key)
    rows = [r for r in rows if not str(r["key"]).endswith("/")]
    if not rows:
        raise JobFailed(f"No input file found at {uri}.")
    total = sum(int(r["size"]) for r in rows)
    if total > BATCH_MAX_INPUT_BYTES:
        raise JobFailed(
            f"The input at {uri} is {total:,} bytes; a batch job takes at most "
            f"{BATCH_MAX_INPUT_BYTES:,} bytes (1 GB)."
        )
    return [(bucket, str(r["key"]), objects.path_of(r), int(r["size"])) for r in rows]


def _read_lines(path: Path, uri: str) -> list[dict[str, Any]]:
    """The JSON objects of a JSON Lines file (blank lines skipped)."""
    out: list[dict[str, Any]] = []
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            text = raw.strip()
            if not text:
                continue
            try:
                value = json.loads(text)
            except (ValueError, UnicodeDecodeError) as exc:
                raise JobFailed(
                    f"Invalid JSON on line {number} of {uri}: {exc}. Each line must be one JSON "
                    'object, e.g. {"userId": "42"}.'
                ) from None
            if not isinstance(value, dict):
                raise JobFailed(
                    f"Line {number} of {uri} is not a JSON object ({type(value).__name__})."
                )
            out.append(value)
    return out


def _output_prefix(plane: ControlPlane, uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/") if uri.startswith("s3://") else ("", "", "")
    if not bucket or S3Objects(plane.store).bucket(bucket) is None:
        raise JobFailed(f"Output bucket {bucket or uri} does not exist.")
    if key and not key.endswith("/"):
        key += "/"
    return bucket, key


#: One output line as JSON (UTF-8 text, no NaN), without the newline.
encode_line: Final = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False
).encode


def _write(plane: ControlPlane, bucket: str, key: str, lines: Sequence[Mapping[str, Any]]) -> None:
    """Write JSON Lines to the S3 twin (a temporary file, then one put)."""
    fd, name = tempfile.mkstemp(prefix="pk-batch-", suffix=".out")
    dumps = encode_line
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.writelines((dumps(line) + "\n").encode("utf-8") for line in lines)
        with open(name, "rb") as body:
            S3Objects(plane.store).put(bucket, key, body, content_type="application/json")
    finally:
        Path(name).unlink(missing_ok=True)


# --------------------------------------------------------------------------- shared pieces


def _user_dependent(expression: str) -> bool:
    text = expression.lower()
    return any(t in text for t in ("interactions.", "users.", "currentuser."))


def _item_dependent(expression: str) -> bool:
    return "currentitem." in expression.lower()


def _text(line: Mapping[str, Any], key: str, *, required: bool) -> str | None:
    value = line.get(key)
    if value is None:
        if required:
            raise LineError(f"{key} is required.")
        return None
    if not isinstance(value, str) or not value:
        raise LineError(f"{key} must be a non-empty string, got {value!r}.")
    if len(value) > MAX_ID_CHARS:
        raise LineError(f"{key} must be at most {MAX_ID_CHARS} characters ({len(value)} given).")
    return value


def _filter_values(line: Mapping[str, Any], has_filter: bool) -> dict[str, str]:
    values = line.get("filterValues")
    if values is None:
        return {}
    if not has_filter:
        raise LineError("filterValues were given but the job has no filterArn.")
    if not isinstance(values, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in values.items()
    ):
        raise LineError(
            'filterValues must map placeholder names to strings, e.g. {"GENRES": "\\"Comedy\\""}.'
        )
    return dict(values)


class _Job:
    """What every line of one job needs: the model, the data, the filter, a cache."""

    def __init__(self, plane: ControlPlane, job: Resource) -> None:
        self.plane = plane
        self.job = job
        version = plane.store.get(str(job.body["_versionArn"]))
        if version is None or version.status != "ACTIVE":
            raise JobFailed(
                f"The solution version {job.body['_versionArn']} does not exist or is not ACTIVE."
            )
        self.version = version
        self.recipe = recipe_name(str(version.body["recipeArn"]))
        self.kind = recipe_type(self.recipe)
        self.group = str(version.body["datasetGroupArn"])
        self.n = int(job.body["numResults"])  # CreateBatch*Job stores its default
        self.expression = self._filter_expression(job.body.get("filterArn"))
        self.model: Model = plane.model(version)
        self._data: GroupData | None = None
        self._cache: dict[Any, tuple[Collection[str], Collection[str] | None]] = {}

    def _filter_expression(self, arn: Any) -> str | None:
        if not arn:
            return None
        try:
            return self.plane.resolve_filter(str(arn), self.group)
        except FilterUnusable as exc:
            if exc.reason == "foreign":
                raise JobFailed(
                    f"The filter {arn} belongs to another dataset group than the solution version."
                ) from None
            raise JobFailed(str(exc)) from None

    @property
    def data(self) -> GroupData:
        if self._data is None:
            self._data = self.plane.group_data(self.group)
        return self._data

    def check_running(self) -> None:
        self.plane.check_running(self.job.arn)

    # ------------------------------------------------------------------ filters
    def item_sets(
        self, values: Mapping[str, str], *, user_id: str | None, item_id: str | None
    ) -> tuple[Collection[str], Collection[str] | None]:
        """``(exclude, candidates)`` of the job's filter for one line (cached when shared).

        The filter is applied by :func:`~personakit.local.data.filter_item_sets`, the
        hook the runtime twin uses too, so a line is filtered as GetRecommendations
        filters the same request.
        """
        if self.expression is None:
            return (), None
        key = (
            tuple(sorted(values.items())),
            user_id if _user_dependent(self.expression) else None,
            item_id if _item_dependent(self.expression) else None,
        )
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        try:
            found = filter_item_sets(
                self.expression,
                values,
                user_id=user_id,
                item_id=item_id,
                data=self.data,
            )
        except TwinError as exc:
            raise LineError(exc.message) from None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = found
        return found


# --------------------------------------------------------------------------- inference


class _Inference(_Job):
    def __init__(self, plane: ControlPlane, job: Resource) -> None:
        super().__init__(plane, job)
        self._history = plane.recorded_history(self.version)

    def answer(self, line: Mapping[str, Any]) -> dict[str, Any]:
        kind = self.kind
        values = _filter_values(line, self.expression is not None)
        scored: Scored
        if kind == "PERSONALIZED_RANKING":
            user = _text(line, "userId", required=True)
            assert user is not None
            items = line.get("itemList")
            if not isinstance(items, list) or not items:
                raise LineError("itemList must be a non-empty list of item ids.")
            if len(items) > MAX_INPUT_LIST:
                raise LineError(f"itemList can have at most {MAX_INPUT_LIST} items.")
            if not all(isinstance(i, str) and i for i in items):
                raise LineError("itemList must hold non-empty strings.")
            exclude, candidates = self.item_sets(values, user_id=user, item_id=None)
            ranked = self.model.rank(user, items, history=self._history.get(user, ()))
            excluded = set(exclude)
            allowed = set(candidates) if candidates is not None else None
            scored = [
                (i, s) for i, s in ranked if i not in excluded and (allowed is None or i in allowed)
            ]
        elif kind == "RELATED_ITEMS":
            item = _text(line, "itemId", required=True)
            assert item is not None
            user = _text(line, "userId", required=False)
            exclude, candidates = self.item_sets(values, user_id=user, item_id=item)
            scored = self.model.related(item, self.n, exclude=exclude, candidates=candidates)
        else:
            user, history, exclude, candidates = self._user_request(line, values)
            scored = self.model.recommend(
                user, self.n, history=history, exclude=exclude, candidates=candidates
            )
        return _output(scored)

    def _user_request(
        self, line: Mapping[str, Any], values: Mapping[str, str]
    ) -> tuple[str | None, Sequence[tuple[str, int]], Collection[str], Collection[str] | None]:
        """A recommendation line's user, history, exclusions and candidates."""
        user = _text(line, "userId", required=self.kind == "USER_PERSONALIZATION")
        exclude, candidates = self.item_sets(values, user_id=user, item_id=None)
        history = self._history.get(user, []) if user is not None else []
        return user, history, exclude, candidates

    def run_file(self, lines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Each line's answer, or its error. Recommendation lines without an INCLUDE
        filter's candidates are scored together (``recommend_batch``: one matrix
        product per block of users, the lists ``recommend`` gives), _CHECK_EVERY at a
        time, so a stopped job stops within one block."""
        out: list[dict[str, Any]] = [{} for _ in lines]
        together = self.kind not in ("PERSONALIZED_RANKING", "RELATED_ITEMS")
        for start in range(0, len(lines), _CHECK_EVERY):
            if start:
                self.check_running()
            block: list[tuple[int, str | None, Sequence[tuple[str, int]], Collection[str]]] = []
            for k in range(start, min(start + _CHECK_EVERY, len(lines))):
                line = lines[k]
                try:
                    if not together:
                        out[k] = {"input": line, "output": self.answer(line), "error": None}
                        continue
                    values = _filter_values(line, self.expression is not None)
                    user, history, exclude, candidates = self._user_request(line, values)
                    if candidates is None:
                        block.append((k, user, history, exclude))
                        continue
                    scored = self.model.recommend(
                        user, self.n, history=history, exclude=exclude, candidates=candidates
                    )
                    out[k] = {"input": line, "output": _output(scored), "error": None}
                except (LineError, TwinError) as exc:
                    message = exc.message if isinstance(exc, TwinError) else str(exc)
                    out[k] = {"input": line, "output": None, "error": message}
            if block:
                answers = self.model.recommend_batch(
                    [b[1] for b in block],
                    self.n,
                    histories=[b[2] for b in block],
                    excludes=[b[3] for b in block],
                )
                for (k, *_), scored in zip(block, answers, strict=True):
                    out[k] = {"input": lines[k], "output": _output(scored), "error": None}
        return out


def _output(scored: Scored) -> dict[str, Any]:
    """A recommendation line's output: the items and their scores (null if not finite)."""
    return {
        "recommendedItems": [item for item, _ in scored],
        "scores": [
            float(score) if score is not None and math.isfinite(score) else None
            for _, score in scored
        ],
    }


class _Themes(_Inference):
    """THEME_GENERATION: related items, a theme for the group, relevance scores."""

    def __init__(self, plane: ControlPlane, job: Resource) -> None:
        super().__init__(plane, job)
        item_name = str(job.body["themeGenerationConfig"]["fieldsForThemeGeneration"]["itemName"])
        schema = self.data.schema(DatasetType.ITEMS)
        table = self.data.table(DatasetType.ITEMS)
        problem = theme_fields_problem(schema, item_name, self.group)
        if problem is not None or schema is None or table is None:
            raise JobFailed(problem or f"The Items dataset has no data ({THEMES_GUIDE}).")
        self.items = ThemeTable(table, schema, item_name)
        # the engine's registered writer (LocalEngine.register_theme_writer), else metadata
        self.writer: ThemeWriter | None = getattr(plane.engine, "theme_writer", None)

    def theme(self, request: ThemeRequest) -> str:
        if self.writer is None:
            return fallback_theme(request)
        try:
            text = self.writer(request)
        except Exception as exc:  # the user's callable: its failure is this line's error
            logger.warning(
                "theme writer failed for item %s: %s", request.source.item_id, exc, exc_info=True
            )
            raise LineError(
                f"Theme generation failed for item {request.source.item_id}: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        if not isinstance(text, str) or not text.strip():
            raise LineError(
                f"Theme generation returned no theme for item {request.source.item_id} "
                f"(got {text!r})."
            )
        return text.strip()

    def run_file(self, lines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for line in lines:
            try:
                related = self.answer(line)["recommendedItems"]
                source, *items = self.items.items([str(line["itemId"]), *related])
                request = ThemeRequest(source, tuple(items))
                output = themed_output(request, self.theme(request), self.items.vector)
                out.append({"input": line, "output": output})
            except (LineError, TwinError) as exc:
                message = exc.message if isinstance(exc, TwinError) else str(exc)
                out.append({"input": line, "error": message})
        return out


# --------------------------------------------------------------------------- segments

_CONDITION = re.compile(
    r"""\s*ITEMS\.(?P<field>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*
        (?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>(?:[^'\\]|\\.)*)'|(?P<bare>[^\s"']+))\s*""",
    re.IGNORECASE | re.VERBOSE,
)
_AND = re.compile(r"AND\b", re.IGNORECASE)


def parse_item_attributes(query: str) -> list[tuple[str, str]]:
    """``'ITEMS.genres = "Comedy" AND ITEMS.genres = "Action"'`` -> ``[("genres", "Comedy"), ...]``.

    Item-Attribute-Affinity queries take ``ITEMS.<field> = <value>`` conditions joined
    with ``AND`` only; ``\\`` escapes quotes in values
    (https://docs.aws.amazon.com/personalize/latest/dg/prepare-input-data-user-segment.html).

    Raises:
        ValueError: The query is not of that form (the message says where).
    """
    out: list[tuple[str, str]] = []
    pos = 0
    while True:
        match = _CONDITION.match(query, pos)
        if match is None:
            raise ValueError(
                f'expected ITEMS.<field> = "value" at character {pos} of {query!r} '
                "(only = and AND are supported)"
            )
        raw = match.group("dq") if match.group("dq") is not None else match.group("sq")
        value = re.sub(r"\\(.)", r"\1", raw) if raw is not None else str(match.group("bare"))
        out.append((match.group("field"), value))
        pos = match.end()
        if pos >= len(query):
            return out
        joiner = _AND.match(query, pos)
        if joiner is None:
            raise ValueError(
                f"expected AND at character {pos} of {query!r} (OR is not supported: "
                "send one query per line instead)"
            )
        pos = joiner.end()


class _Segments(_Job):
    def __init__(self, plane: ControlPlane, job: Resource) -> None:
        super().__init__(plane, job)
        self._allowed: dict[Any, Callable[[str], bool]] = {}

    def _items_with(self, query: str) -> list[str]:
        import pyarrow as pa

        from personakit.local.filtering import apply_filter  # pyarrow, on first use

        try:
            conditions = parse_item_attributes(query)
        except ValueError as exc:
            raise LineError(f"Invalid itemAttributes: {exc}") from None
        items = self.data.table(DatasetType.ITEMS)
        schema = self.data.schema(DatasetType.ITEMS)
        if items is None or schema is None:
            raise LineError("itemAttributes need an Items dataset.")
        by_lower = {name.lower(): name for name in items.column_names}
        chosen: set[str] | None = None
        for field, value in conditions:
            column = by_lower.get(field.lower())
            if column is None or column == "ITEM_ID":
                known = ", ".join(n for n in items.column_names if n != "ITEM_ID")
                raise LineError(f"The Items dataset has no field {field} (fields: {known}).")
            if column in schema and schema[column].textual:
                raise LineError(f"{column} is a textual field; it cannot be an item attribute.")
            numeric = pa.types.is_integer(items.schema.field(column).type) or pa.types.is_floating(
                items.schema.field(column).type
            )
            if numeric:
                try:
                    float(value)
                except ValueError:
                    raise LineError(f"{column} is numeric; {value!r} is not a number.") from None
                expression = f"INCLUDE ItemID WHERE Items.{column} = {value}"
            else:
                if '"' in value:
                    raise LineError(f"Values with double quotes are not supported: {value!r}.")
                expression = f'INCLUDE ItemID WHERE Items.{column} IN ("{value}")'
            try:
                result = apply_filter(
                    expression,
                    filter_values={},
                    user_id=None,
                    item_id=None,
                    items=items,
                    users=None,
                    user_interactions=None,
                    all_item_ids=self.data.item_ids(),
                )
            except ValidationError as exc:
                raise LineError(f"Invalid itemAttributes: {exc}") from None
            found = set(result.include or ())
            chosen = found if chosen is None else chosen & found
        return sorted(chosen or ())

    def _user_filter(self, values: Mapping[str, str]) -> Callable[[str], bool] | None:
        from personakit.local.filtering import apply_filter  # pyarrow, on first use

        if self.expression is None:
            return None
        key = tuple(sorted(values.items()))
        hit = self._allowed.get(key)
        if hit is not None:
            return hit
        data = self.data
        users = getattr(self.model, "users", None)
        candidates: list[str] = list(getattr(users, "names", []))
        try:
            result = apply_filter(
                self.expression,
                filter_values=values,
                user_id=None,
                item_id=None,
                items=data.table(DatasetType.ITEMS),
                users=data.table(DatasetType.USERS),
                user_interactions=data.table(DatasetType.INTERACTIONS),
                all_item_ids=candidates,
                target="UserID",
            )
        except ValidationError as exc:
            raise LineError(f"Invalid filter or filterValues: {exc}") from None
        allowed = result.__contains__
        self._allowed[key] = allowed
        return allowed

    def answer(self, line: Mapping[str, Any]) -> dict[str, Any]:
        values = _filter_values(line, self.expression is not None)
        if self.recipe == "aws-item-attribute-affinity":
            query = line.get("itemAttributes")
            if not isinstance(query, str) or not query.strip():
                raise LineError("itemAttributes must be a non-empty string.")
            items = self._items_with(query)
        else:
            item = _text(line, "itemId", required=True)
            assert item is not None
            items = [item]
        allowed = self._user_filter(values)
        if allowed is None:
            users = self.model.users_for_items(items, self.n)
        else:
            every = self.model.users_for_items(items, len(getattr(self.model, "users", ())))
            users = [pair for pair in every if allowed(pair[0])][: self.n]
        return {"usersList": [user for user, _ in users]}

    def run_file(self, lines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for line in lines:
            try:
                out.append({"input": line, "output": self.answer(line)})
            except LineError as exc:
                out.append({"input": line, "output": None, "error": str(exc)})
        return out


# --------------------------------------------------------------------------- the job


def run_batch_job(plane: ControlPlane, job: Resource) -> None:
    """Answer every input line of ``job`` and write the output files.

    Raises:
        JobFailed: The job cannot run (its message is the ``failureReason``).
    """
    started = time.monotonic()
    segment = job.kind == SEGMENT_JOB
    themed = not segment and job.body.get("batchInferenceJobMode") == "THEME_GENERATION"
    runner: _Inference | _Segments
    if segment:
        runner = _Segments(plane, job)
    else:
        runner = _Themes(plane, job) if themed else _Inference(plane, job)
    if segment and runner.kind != "USER_SEGMENTATION":
        raise JobFailed(f"The solution version {runner.version.arn} is not USER_SEGMENTATION.")
    source = str(job.body["jobInput"]["s3DataSource"]["path"])
    target = str(job.body["jobOutput"]["s3DataDestination"]["path"])
    files = _sources(plane, source)
    out_bucket, out_prefix = _output_prefix(plane, target)
    parsed: list[tuple[str, list[dict[str, Any]]]] = []
    for bucket, key, path, _ in files:
        uri = f"s3://{bucket}/{key}"
        lines = _read_lines(path, uri)
        if segment:
            cap = (
                SEGMENT_MAX_QUERIES_PER_FILE
                if runner.recipe == "aws-item-attribute-affinity"
                else SEGMENT_MAX_ITEMS_PER_FILE
            )
            if len(lines) > cap:
                raise JobFailed(
                    f"{uri} has {len(lines)} lines; a {runner.recipe} batch segment job takes at "
                    f"most {cap} per input file."
                )
        if themed and len(lines) > THEME_MAX_ITEMS_PER_FILE:
            raise JobFailed(
                f"{uri} has {len(lines)} lines; a batch inference job with themes takes at "
                f"most {THEME_MAX_ITEMS_PER_FILE} items per input file ({THEMES_GUIDE})."
            )
        parsed.append((key, lines))
    count = 0
    for key, lines in parsed:
        runner.check_running()
        answered = runner.run_file(lines)
        name = key.rsplit("/", 1)[-1]
        _write(plane, out_bucket, f"{out_prefix}{name}.out", answered)
        count += len(lines)
    logger.info(
        "personakit local engine: %s answered %d lines in %.2fs",
        job.arn,
        count,
        time.monotonic() - started,
    )
