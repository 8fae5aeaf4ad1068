"""Segments that write their own promotion: Personalize finds the users, an LLM writes the message.

::

    import personakit as pk

    affinity = group.train("item-affinity")
    messages = pk.marketing.promote(
        affinity,
        items=["i1", "i2"],                       # or attributes=[{"GENRES": "Comedy"}]
        metadata=items,                           # the Items frame: TITLE, DESCRIPTION ...
        llm="huggingface-llm-falcon-7b-bf16",     # deployed, used, deleted; or an LLMEndpoint
        guard=pk.CostGuard(session, budget_usd=500),
        users=1000,
    )
    print(messages)                               # per segment: users, message or error
    messages.to_frame()

In order, :func:`promote`:

1. checks everything it can before anything is created: the recipe (Item-Affinity
   or Item-Attribute-Affinity), the segments, the template's fields, the region, the
   JumpStart model and instance type (unknown ones raise a
   :class:`~personakit.errors.ConfigurationError` naming the valid ones, with a
   "did you mean"), and asks ``guard.check_deploy`` about the endpoint: a refusal
   (:class:`~personakit.errors.BudgetExceededError`) leaves nothing created, not even
   the segment job;
2. trains the solution (when given a dataset group) and runs one batch segment job
   (https://docs.aws.amazon.com/personalize/latest/dg/creating-batch-seg-job.html),
   billed per user, with no campaign;
3. deploys the JumpStart model only now, so it bills only while it writes
   (https://docs.aws.amazon.com/sagemaker/latest/dg/studio-jumpstart.html), asks it
   for one message per segment, built from the segment's item metadata, and deletes
   the endpoint, its config and model when done, on errors and on Ctrl-C too.

A segment whose job line failed, that has no users, whose generation failed or came
back empty gets its ``error``; the other segments still get their message.

This module sits above :mod:`personakit.cost` (it uses ``personalize``, ``llm`` and a
guard); nothing in the package imports it.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
import string
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from botocore.exceptions import BotoCoreError, ClientError

from personakit.errors import ConfigurationError, PersonakitError
from personakit.llm.endpoint import LLMEndpoint
from personakit.personalize.batch import BATCH_TIMEOUT_S, segment_lines
from personakit.personalize.group import DatasetGroup
from personakit.personalize.solution import Solution
from personakit.rules.display import Display, html_table, short_repr
from personakit.rules.facts import RECIPES, recipe_arn

if TYPE_CHECKING:
    import pandas as pd

    from personakit.llm.hosting import DeployGuard
    from personakit.llm.jumpstart import JumpStartCatalog
    from personakit.personalize.serving import FilterLike

__all__ = [
    "DEFAULT_TEMPLATE",
    "SEGMENT_RECIPES",
    "SegmentMessage",
    "SegmentMessages",
    "build_prompt",
    "promote",
    "template_fields",
]

logger = logging.getLogger(__name__)

#: The recipes that make user segments, by short name: items -> Item-Affinity,
#: attributes -> Item-Attribute-Affinity
#: (https://docs.aws.amazon.com/personalize/latest/dg/user-segmentation-recipes.html).
SEGMENT_RECIPES: tuple[str, ...] = tuple(
    sorted(short for short, (_, kind) in RECIPES.items() if kind == "USER_SEGMENTATION")
)

#: The prompt of one segment, a :meth:`str.format` template. Its fields:
#: ``{segment}`` (the item id, or the attribute query), ``{item_id}`` (empty for
#: attribute segments), ``{attributes}`` (the query; empty for item segments),
#: ``{details}`` (the item's metadata as ``column: value`` lines, or the attribute
#: conditions), ``{users}`` (how many users the segment has), and each metadata
#: column by its name in lower case (``{title}``, ``{description}``...; empty when
#: the segment has none).
DEFAULT_TEMPLATE = (
    "Write one short promotional message (at most 60 words) for a group of {users} "
    "customers who are likely to be interested in the following. Answer with the "
    "message only.\n{details}\nMessage:"
)

_BASE_FIELDS = ("segment", "item_id", "attributes", "details", "users")
_ITEM_KEYS = ("ITEM_ID", "item_id", "itemId")
#: Columns left out of ``{details}``: the id, and the creation time (an epoch number
#: tells a model nothing); a template may still name them.
_NOT_DETAILS = frozenset({*_ITEM_KEYS, "CREATION_TIMESTAMP", "creation_timestamp"})
#: Longest metadata value put into a prompt (characters); longer ones are cut.
MAX_VALUE_CHARS = 1_000
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOCS = "https://docs.aws.amazon.com/personalize/latest/dg/creating-batch-seg-job.html"


# --------------------------------------------------------------------------- results


@attrs.frozen
class SegmentMessage:
    """One segment and the message written for it.

    Attributes:
        segment: The item id (Item-Affinity) or attribute query (Item-Attribute-Affinity).
        user_ids: The segment's users, most likely first.
        prompt: What the model was asked (``None`` when it was not asked).
        message: The message, or ``None`` when this segment failed.
        error: Why there is no message (the job's error for the line, no users, the
            model's error or an empty answer), else ``None``.
    """

    segment: str
    user_ids: tuple[str, ...]
    prompt: str | None = None
    message: str | None = None
    error: str | None = None

    @property
    def users(self) -> int:
        """How many users the segment has."""
        return len(self.user_ids)

    @property
    def ok(self) -> bool:
        """Whether the segment has its message."""
        return self.error is None and self.message is not None


@attrs.frozen
class SegmentMessages(Display):
    """What :func:`promote` made: one :class:`SegmentMessage` per segment, in input order.

    Iterate it, index it by position or by segment (``messages["i1"]``), or turn it
    into a DataFrame with :meth:`to_frame`.

    Attributes:
        segments: The segments and their messages.
        model: The JumpStart model id (or the endpoint's name when an endpoint was given).
        endpoint_name: The endpoint that wrote the messages (``None``: none was needed).
        endpoint_deleted: Whether :func:`promote` deleted it (an endpoint you passed in
            is yours and is left as it is).
        job_arn: The batch segment job's ARN.
    """

    segments: tuple[SegmentMessage, ...]
    model: str
    endpoint_name: str | None = None
    endpoint_deleted: bool = False
    job_arn: str | None = None

    def __len__(self) -> int:
        return len(self.segments)

    def __iter__(self) -> Iterator[SegmentMessage]:
        return iter(self.segments)

    def __getitem__(self, key: int | str) -> SegmentMessage:
        if isinstance(key, int):
            return self.segments[key]
        for segment in self.segments:
            if segment.segment == key:
                return segment
        raise KeyError(key)

    @property
    def failed(self) -> tuple[SegmentMessage, ...]:
        """The segments without a message."""
        return tuple(s for s in self.segments if not s.ok)

    @property
    def messages(self) -> dict[str, str]:
        """``{segment: message}`` of the segments that have one."""
        return {s.segment: s.message for s in self.segments if s.message is not None and s.ok}

    def to_frame(self) -> pd.DataFrame:
        """One row per segment: ``segment``, ``users``, ``user_ids``, ``message``, ``error``."""
        import pandas as pd

        columns: dict[str, list[Any]] = {
            "segment": [s.segment for s in self.segments],
            "users": [s.users for s in self.segments],
            "user_ids": [list(s.user_ids) for s in self.segments],
            "message": [s.message for s in self.segments],
            "error": [s.error for s in self.segments],
        }
        frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})
        frame["users"] = frame["users"].astype("int64")
        return frame

    def _status(self) -> str:
        if self.endpoint_name is None:
            return "no endpoint was needed"
        state = "deleted" if self.endpoint_deleted else "left running (yours)"
        return f"endpoint {self.endpoint_name} {state}"

    def __str__(self) -> str:
        ok = len(self.segments) - len(self.failed)
        lines = [f"{ok} of {len(self.segments)} segments have a message ({self.model}; "]
        lines[0] += self._status() + ")"
        for s in self.segments:
            text = s.message if s.ok else f"ERROR: {s.error}"
            lines.append(f"- {s.segment} ({s.users:,} users): {_one_line(text or '')}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return short_repr(
            self,
            segments=len(self.segments),
            failed=len(self.failed),
            model=self.model,
            endpoint_deleted=self.endpoint_deleted,
        )

    def _repr_html_(self) -> str:
        rows = [
            (s.segment, f"{s.users:,}", s.message if s.ok else "", s.error or "")
            for s in self.segments
        ]
        ok = len(self.segments) - len(self.failed)
        return html_table(
            ("segment", "users", "message", "error"),
            rows,
            title=f"{ok} of {len(self.segments)} segments have a message",
            notes=[f"{self.model}; {self._status()}"],
        )


def _one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


# --------------------------------------------------------------------------- prompts


def _columns(metadata: pd.DataFrame | None) -> dict[str, str]:
    """Template field -> metadata column: each column by its name in lower case."""
    if metadata is None:
        return {}
    out: dict[str, str] = {}
    for column in metadata.columns:
        name = str(column).lower()
        if _IDENT.fullmatch(name) and name not in _BASE_FIELDS and name not in out:
            out[name] = str(column)
    return out


def template_fields(template: str, metadata: pd.DataFrame | None = None) -> tuple[str, ...]:
    """The fields ``template`` uses, checked against those a prompt has.

    Raises:
        ConfigurationError: A malformed template, a positional, attribute or index
            field (``{0}``, ``{a.b}``, ``{a[0]}``), or an unknown field (the message
            names the valid ones, with a "did you mean").
    """
    if not isinstance(template, str):
        raise ConfigurationError(f"template must be a string, got {type(template).__name__}")
    valid = [*_BASE_FIELDS, *_columns(metadata)]
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigurationError(
            f"template is not a str.format template ({exc}); write a literal brace as {{{{ or }}}}"
        ) from None
    used: list[str] = []
    for _, field, spec, _ in parsed:
        if field is None:
            continue
        if spec and "{" in spec:
            raise ConfigurationError(
                f"template field {{{field}:{spec}}}: a format spec cannot hold another field"
            )
        if not _IDENT.fullmatch(field):
            raise ConfigurationError(
                f"template field {{{field}}}: use a plain name, one of {', '.join(valid)}"
            )
        if field not in valid:
            close = difflib.get_close_matches(field, valid, n=1)
            hint = f"did you mean {{{close[0]}}}? " if close else ""
            raise ConfigurationError(
                f"template field {{{field}}} is not one a prompt has; {hint}"
                f"valid: {', '.join('{' + v + '}' for v in valid)}"
            )
        used.append(field)
    try:  # a bad format spec or conversion shows up only when formatting
        template.format(**dict.fromkeys(valid, ""))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ConfigurationError(f"template cannot be formatted: {exc}") from None
    return tuple(dict.fromkeys(used))


def _text(value: Any) -> str:
    """A metadata value as prompt text: lists joined, missing values empty, long ones cut."""
    if value is None:
        return ""
    if isinstance(value, float) or type(value).__name__.startswith("float"):  # numpy's too
        number = float(value)
        return "" if math.isnan(number) else format(number, ".6g")  # 8.99, not 8.9899997711
    if isinstance(value, (list, tuple)):
        text = ", ".join(_text(v) for v in value if _text(v))
    else:
        try:  # numpy arrays of a list column, pd.NA ...
            import pandas as pd

            if pd.api.types.is_list_like(value) and not isinstance(value, (str, bytes)):
                return _text(list(value))
            if pd.isna(value):
                return ""
        except (TypeError, ValueError):
            pass
        text = str(value)
    text = text.strip()
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def build_prompt(
    template: str,
    segment: str,
    *,
    users: int,
    item: Mapping[str, Any] | None = None,
    attributes: Mapping[str, Any] | None = None,
    columns: Mapping[str, str] | None = None,
) -> str:
    """The prompt of one segment: ``template`` filled from the item's metadata row.

    ``item`` is the item's metadata row (``{column: value}``): the segment is an
    item's; without it the segment is an attribute query, and ``attributes`` its
    conditions when they were given as a mapping (else the query is the details);
    ``columns`` maps template fields to metadata columns (lower-case names). Any text
    in the metadata is taken as it is (it is data, never parsed as a template).

    Raises:
        ConfigurationError: The template does not fit (see :func:`template_fields`).
    """
    columns = dict(columns or {})
    row = {str(k): v for k, v in (item or {}).items()}
    values: dict[str, str] = {field: _text(row.get(column)) for field, column in columns.items()}
    if item is not None:
        details = [
            f"{column}: {text}"
            for column, value in row.items()
            if column not in _NOT_DETAILS and (text := _text(value))
        ]
    elif attributes is not None:
        details = [f"{k}: {_text(v)}" for k, v in attributes.items()]
    else:
        details = []
    values.update(
        segment=segment,
        item_id=segment if item is not None else "",
        attributes="" if item is not None else segment,
        details="\n".join(details) or segment,
        users=f"{users:,}",
    )
    try:
        return template.format(**values)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ConfigurationError(f"template cannot be formatted: {exc!r}") from None


def _metadata_rows(metadata: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    if metadata is None:
        return {}
    key = next((k for k in _ITEM_KEYS if k in metadata.columns), None)
    if key is None:
        raise ConfigurationError(
            f"metadata needs an item id column ({' or '.join(_ITEM_KEYS)}); it has "
            f"{', '.join(map(str, metadata.columns)) or 'no columns'}"
        )
    columns = [str(c) for c in metadata.columns]
    rows: dict[str, dict[str, Any]] = {}
    for values in metadata.itertuples(index=False, name=None):
        row = dict(zip(columns, values, strict=True))
        rows.setdefault(str(row[key]), row)
    return rows


# --------------------------------------------------------------------------- checks


def _segment_recipe(
    source: Solution | DatasetGroup, recipe: str | None, by_attributes: bool
) -> str:
    """The short recipe name the segments need, checked against ``source``."""
    wanted = "item-attribute-affinity" if by_attributes else "item-affinity"
    if isinstance(source, Solution):
        if recipe is not None:
            raise ConfigurationError("recipe= is for a dataset group; a solution has its recipe")
        name = source.recipe_arn.rsplit("/", 1)[-1].removeprefix("aws-")
    elif isinstance(source, DatasetGroup):
        name = (recipe or wanted).strip().lower().removeprefix("aws-")
        if name.startswith("arn:"):
            name = name.rsplit("/", 1)[-1].removeprefix("aws-")
    else:
        raise ConfigurationError(
            f"promote takes a Solution or a DatasetGroup, got {type(source).__name__}"
        )
    if name not in SEGMENT_RECIPES:
        close = difflib.get_close_matches(name, SEGMENT_RECIPES, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigurationError(
            f"user segments need an Item-Affinity or Item-Attribute-Affinity solution; "
            f"recipe {name!r} does not make segments. {hint}Valid: "
            f"{', '.join(SEGMENT_RECIPES)} "
            "(https://docs.aws.amazon.com/personalize/latest/dg/user-segmentation-recipes.html)"
        )
    if name != wanted:
        given = "attributes=" if by_attributes else "items="
        raise ConfigurationError(
            f"{given} segments need the {wanted!r} recipe; this is {name!r}: pass "
            f"{'items=' if by_attributes else 'attributes='} instead, or train {wanted!r}"
        )
    return name


def _check_region(region: str) -> None:
    """A region where Personalize runs (botocore's endpoint data: no network)."""
    import botocore.session

    regions = botocore.session.get_session().get_available_regions("personalize")
    if region in regions:
        return
    close = difflib.get_close_matches(region, regions, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigurationError(
        f"region {region!r} has no Amazon Personalize; {hint}regions: {', '.join(regions)} "
        "(https://docs.aws.amazon.com/general/latest/gr/personalize.html)"
    )


def _check_instance_type(instance_type: str) -> None:
    """An instance type SageMaker Hosting knows (botocore's enum), with a "did you mean"."""
    import botocore.session

    shape = botocore.session.get_session().get_service_model("sagemaker")
    valid: list[str] = list(getattr(shape.shape_for("ProductionVariantInstanceType"), "enum", []))
    if instance_type in valid:
        return
    close = difflib.get_close_matches(instance_type, valid, n=3)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise ConfigurationError(
        f"instance type {instance_type!r} is not one SageMaker Hosting offers; {hint}"
        "the types and their prices: https://aws.amazon.com/sagemaker/pricing/"
    )


def _segments_input(
    items: Sequence[Any] | None, attributes: Any
) -> tuple[list[Any], list[str], list[Mapping[str, Any] | None]]:
    """(the batch job's input, each segment's label, each segment's conditions)."""
    if (items is None) == (attributes is None):
        raise ConfigurationError("pass items=[...] (Item-Affinity) or attributes=[...], not both")
    if items is not None:
        if isinstance(items, (str, bytes)):
            raise ConfigurationError("items= takes a list of item ids, not one string")
        ids: list[Any] = list(items)  # checked by the job's own rules (missing, too long)
        return ids, ["" if i is None else str(i) for i in ids], [None] * len(ids)
    if isinstance(attributes, (str, Mapping)):
        attributes = [attributes]
    data = list(attributes)
    lines = segment_lines(data, recipe_arn("item-attribute-affinity"))
    labels = [str(line["itemAttributes"]) for line in lines]
    conditions: list[Mapping[str, Any] | None] = [
        a if isinstance(a, Mapping) else None for a in data
    ]
    return data, labels, conditions


# --------------------------------------------------------------------------- the journey


def promote(
    source: Solution | DatasetGroup,
    *,
    llm: LLMEndpoint | str,
    items: Sequence[str] | None = None,
    attributes: Any = None,
    metadata: pd.DataFrame | None = None,
    users: int = 100,
    template: str = DEFAULT_TEMPLATE,
    guard: DeployGuard | None = None,
    recipe: str | None = None,
    instance_type: str | None = None,
    version: str | None = None,
    accept_eula: bool = False,
    catalog: JumpStartCatalog | None = None,
    filter: FilterLike | None = None,
    filter_values: Mapping[str, Any] | None = None,
    max_new_tokens: int = 120,
    generation: Mapping[str, Any] | None = None,
    max_lifetime: float = 3600.0,
    timeout_s: float = BATCH_TIMEOUT_S,
) -> SegmentMessages:
    """Find the users of each item (or attribute) and have an LLM write each group a message.

    Args:
        source: An Item-Affinity or Item-Attribute-Affinity :class:`Solution`, or a
            :class:`DatasetGroup` to train one in (``recipe``).
        llm: A JumpStart model id (deployed after the segment job, deleted before
            returning, on errors and Ctrl-C too) or an :class:`LLMEndpoint` you own
            (used as it is, never deleted here).
        items: Item ids: one segment each (Item-Affinity).
        attributes: Attribute queries (``'ITEMS.GENRES = "Comedy"'``) or mappings
            (``{"GENRES": "Comedy"}``): one segment each (Item-Attribute-Affinity).
        metadata: The Items frame (an ``ITEM_ID`` column and any of ``TITLE``,
            ``DESCRIPTION``, ``GENRES``...): the facts a prompt gives the model.
        users: Users per segment (the job's ``numResults``).
        template: The prompt, a :meth:`str.format` template; see :data:`DEFAULT_TEMPLATE`.
        guard: Asked ``check_deploy(instance_type, 1, region)`` before anything is
            created (e.g. a :class:`~personakit.CostGuard`); only with a model id.
        recipe: With a dataset group: ``"item-affinity"`` (default for ``items``) or
            ``"item-attribute-affinity"`` (default for ``attributes``).
        instance_type: The endpoint's instance type (the spec's default when None).
        version: The model's version (exact or wildcard; the latest when None).
        accept_eula: Accept a gated model's license.
        catalog: Where JumpStart specs come from (``JumpStartCatalog(region)`` when None).
        filter: A filter on users of the segment job, and ``filter_values`` its values.
        max_new_tokens: The longest message, in tokens.
        generation: Other generation parameters of the container (``temperature``...).
        max_lifetime: Seconds after which a sweep may delete the endpoint (tagged
            ``personakit:expires-at``), should this process die.
        timeout_s: Deadline of the wait for the segment job.

    The guard is asked once, before anything is created (the segment job included),
    about one instance of the endpoint's type; the endpoint is deployed when the job
    is done.

    Returns:
        One :class:`SegmentMessage` per segment, in input order.

    Raises:
        ConfigurationError: A recipe, region, model, instance type or template field
            that is not valid (named with the valid ones), both or neither of
            ``items`` and ``attributes``; before anything is created.
        ValidationError: The segments break Personalize's input rules.
        BudgetExceededError: The guard refused the endpoint; nothing was created.
        ResourceFailedError: The segment job or the endpoint failed.
    """
    data, labels, conditions = _segments_input(items, attributes)
    name = _segment_recipe(source, recipe, attributes is not None)
    session = source.group.session if isinstance(source, Solution) else source.session
    columns = _columns(metadata)
    template_fields(template, metadata)
    rows = _metadata_rows(metadata)
    if int(max_new_tokens) < 1:
        raise ConfigurationError(f"max_new_tokens must be >= 1, got {max_new_tokens!r}")
    params = {**dict(generation or {}), "max_new_tokens": int(max_new_tokens)}
    model_id: str | None = None
    if isinstance(llm, LLMEndpoint):
        if guard is not None or instance_type is not None or version is not None:
            raise ConfigurationError(
                "guard=, instance_type= and version= are for a model id; the endpoint "
                f"{llm.name!r} exists already"
            )
        label = llm.model.model_id if llm.model is not None else llm.name
    elif isinstance(llm, str):
        _check_region(session.region)
        if instance_type is not None:
            _check_instance_type(instance_type)
        if catalog is None:
            from personakit.llm.jumpstart import JumpStartCatalog  # cache, snapshot: on use

            catalog = JumpStartCatalog(session.region)
        resolved = catalog.resolve(llm, version, instance_type, accept_eula=accept_eula)
        if guard is not None:  # before anything exists: a refusal leaves nothing behind
            guard.check_deploy(resolved.instance_type, 1, session.region)
        model_id = label = llm
    else:
        raise ConfigurationError(
            f"llm takes a JumpStart model id or an LLMEndpoint, got {type(llm).__name__}"
        )

    solution = source if isinstance(source, Solution) else source.train(name)
    job = solution.batch_segments(
        data, n=users, filter=filter, filter_values=filter_values, wait=False
    )
    frame = job.result(timeout_s)
    pending: list[tuple[int, str]] = []
    results: list[SegmentMessage] = []
    for k, (seg, cond, row) in enumerate(
        zip(labels, conditions, frame.to_dict("records"), strict=True)
    ):
        user_ids = tuple(str(u) for u in row["user_ids"] or ())
        if row["error"] is not None:
            results.append(SegmentMessage(seg, user_ids, error=f"segment job: {row['error']}"))
            continue
        if not user_ids:
            results.append(SegmentMessage(seg, user_ids, error="the segment has no users"))
            continue
        item = rows.get(seg) if attributes is None else None
        if attributes is None and metadata is not None and item is None:
            logger.warning("item %r is not in the metadata; its prompt has its id only", seg)
        prompt = build_prompt(
            template,
            seg,
            users=len(user_ids),
            item=item if item is not None else ({"ITEM_ID": seg} if attributes is None else None),
            attributes=cond,
            columns=columns,
        )
        results.append(SegmentMessage(seg, user_ids, prompt=prompt))
        pending.append((k, prompt))

    logger.info(
        "%s: %d of %d segments to write (%s)",
        job.name,
        len(pending),
        len(results),
        label,
        extra={"event": "personakit.marketing.segments", "arn": job.arn},
    )
    if not pending:  # nothing to write: no endpoint is deployed at all
        return SegmentMessages(tuple(results), label, job_arn=job.arn)
    if model_id is None:
        assert isinstance(llm, LLMEndpoint)
        _write(llm, pending, results, params)
        return SegmentMessages(tuple(results), label, endpoint_name=llm.name, job_arn=job.arn)
    endpoint = LLMEndpoint.deploy(
        session,
        model_id,
        instance_type,
        version,
        accept_eula=accept_eula,
        catalog=catalog,
        max_lifetime=max_lifetime,
    )
    with endpoint:  # deleted on leaving: normally, on an exception, on Ctrl-C
        _write(endpoint, pending, results, params)
    return SegmentMessages(
        tuple(results),
        label,
        endpoint_name=endpoint.name,
        endpoint_deleted=endpoint.deleted,
        job_arn=job.arn,
    )


def _write(
    llm: LLMEndpoint,
    pending: Sequence[tuple[int, str]],
    results: list[SegmentMessage],
    params: Mapping[str, Any],
) -> None:
    """Ask ``llm`` for each pending segment's message; a failure is that segment's error."""
    for k, prompt in pending:
        results[k] = _write_one(llm, results[k], prompt, params)


def _write_one(
    llm: LLMEndpoint, segment: SegmentMessage, prompt: str, params: Mapping[str, Any]
) -> SegmentMessage:
    try:
        text = llm.generate(prompt, **params).text.strip()
    except (PersonakitError, ClientError, BotoCoreError) as exc:  # this segment's, not the others'
        logger.warning("segment %s: the model failed: %s", segment.segment, exc)
        return attrs.evolve(segment, error=f"the model failed: {exc}")
    if not text:
        return attrs.evolve(segment, error="the model answered with empty text")
    return attrs.evolve(segment, message=text)
