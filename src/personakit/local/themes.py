"""Themes for batch recommendations (Personalize Content Generator) on the local engine.

A batch inference job with ``batchInferenceJobMode="THEME_GENERATION"`` answers each
input item (``{"itemId": "40"}``) with its related items, a descriptive theme for the
group and one relevance score per item
(https://docs.aws.amazon.com/personalize/latest/dg/themed-batch-recommendations.html)::

    {"input":{"itemId":"40"},"output":{"recommendedItems":["36","50"],
     "theme":"Movies with a strong female lead","itemsThemeRelevanceScores":[0.19,0.18]}}

On AWS a generative model managed by Personalize writes the theme. The local engine
has none: it asks the *theme writer* registered on the engine
(:meth:`~personakit.local.LocalEngine.register_theme_writer`, or
``Session.local(..., theme_writer=...)``), a callable that takes a
:class:`ThemeRequest` (the input item and its related items, with their names,
textual descriptions and other metadata) and returns the theme text; wire it to an
LLM with ``lambda request: my_llm(request.prompt)``. Without one, the theme is built
deterministically from the items' metadata by :func:`fallback_theme`.

Relevance scores (what the local engine computes, not AWS's model): the cosine
similarity, in ``[0, 1]``, between the words of an item (its name, textual fields
and categorical values) and the words of the theme plus the rest of the group. Items
come back ranked by that score, highest first, as the service ranks them; AWS's own
scores lie roughly between -0.1 and 0.6.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from personakit.rules.facts import THEMES_GUIDE

if TYPE_CHECKING:
    import pyarrow as pa

    from personakit.rules.schema import Schema

__all__ = [
    "ThemeItem",
    "ThemeRequest",
    "ThemeTable",
    "ThemeWriter",
    "fallback_theme",
    "item_vector",
    "relevance_scores",
    "theme_fields_problem",
    "themed_output",
]

#: Characters of an item name kept in a fallback theme.
_NAME_CHARS: Final = 60
#: Items a job keeps read (and their words) before it starts over.
_CACHED_ITEMS: Final = 100_000
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class ThemeItem:
    """One item of a group to name: its id, name, textual text and other metadata."""

    item_id: str
    name: str | None = None
    description: str | None = None
    #: The item's other Items-dataset fields (categorical lists split on ``|``).
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ThemeRequest:
    """What a theme writer gets: the input item and its related items, best first.

    Attributes:
        source: The input line's item.
        items: Its related items (the job's ``recommendedItems``), in rank order.
    """

    source: ThemeItem
    items: tuple[ThemeItem, ...]

    @property
    def names(self) -> list[str]:
        """The related items' names (their ids where a name is missing)."""
        return [item.name or item.item_id for item in self.items]

    @property
    def prompt(self) -> str:
        """A prompt asking an LLM for the theme (the text only, a few words)."""
        lines = [
            "Write a short, catchy theme (at most 8 words) for a carousel of related items.",
            "Answer with the theme only.",
            f"The items are related to: {_describe(self.source)}",
            "Items:",
        ]
        lines.extend(f"- {_describe(item)}" for item in self.items)
        return "\n".join(lines)


#: A theme writer: a :class:`ThemeRequest` in, the theme text out.
ThemeWriter = Callable[[ThemeRequest], str]


def _describe(item: ThemeItem) -> str:
    text = item.name or item.item_id
    return f"{text}: {item.description}" if item.description else text


# --------------------------------------------------------------------------- checks


def theme_fields_problem(schema: Schema | None, item_name: str, group: str) -> str | None:
    """What keeps the dataset group from theme generation (None when nothing does).

    The Items dataset must exist, have the string column ``item_name``
    (``themeGenerationConfig.fieldsForThemeGeneration.itemName``) and a textual field
    (https://docs.aws.amazon.com/personalize/latest/dg/themed-batch-recommendations.html).
    """
    if schema is None:
        return (
            f"Theme generation needs an Items dataset with an item-name column and a textual "
            f"field; the dataset group {group} has no Items dataset ({THEMES_GUIDE})."
        )
    strings = [f.name for f in schema.fields if f.type == "string" and f.name != "ITEM_ID"]
    found = resolve_field(schema, item_name)
    if found is None:
        close = difflib.get_close_matches(item_name.upper(), [s.upper() for s in strings], n=1)
        hint = ""
        if close:
            hint = f" Did you mean {next(s for s in strings if s.upper() == close[0])}?"
        return (
            f"themeGenerationConfig.fieldsForThemeGeneration.itemName {item_name} is not a "
            f"column of the Items dataset (string columns: {', '.join(strings) or 'none'})."
            f"{hint} ({THEMES_GUIDE})"
        )
    if schema[found].type != "string":
        return (
            f"The item-name column {found} must be a string column, not {schema[found].type} "
            f"({THEMES_GUIDE})."
        )
    if not any(f.textual for f in schema.fields):
        return (
            "Theme generation needs a textual field (such as DESCRIPTION) in the Items dataset; "
            f"it has none ({THEMES_GUIDE})."
        )
    return None


def resolve_field(schema: Schema, name: str) -> str | None:
    """The schema's field called ``name`` (exact, else case-insensitive), or None."""
    if name in schema:
        return name
    return next((f.name for f in schema.fields if f.name.lower() == name.lower()), None)


# --------------------------------------------------------------------------- item data


class ThemeTable:
    """The Items dataset, as the themes of one job read it (built once per job)."""

    def __init__(self, table: pa.Table, schema: Schema, item_name: str) -> None:
        self.table = table
        self.name_field = resolve_field(schema, item_name)
        self.textual = [f.name for f in schema.fields if f.textual and f.name in table.column_names]
        self.categorical = {f.name for f in schema.fields if f.categorical}
        ids = table.column("ITEM_ID").to_pylist() if "ITEM_ID" in table.column_names else []
        self._row = {str(item): k for k, item in enumerate(ids)}
        self._items: dict[str, ThemeItem] = {}
        self._vectors: dict[str, dict[str, float]] = {}

    def vector(self, item: ThemeItem) -> dict[str, float]:
        """The item's words (see :func:`relevance_scores`), computed once per job."""
        found = self._vectors.get(item.item_id)
        if found is None:
            found = self._vectors[item.item_id] = item_vector(item)
        return found

    def items(self, item_ids: Sequence[str]) -> list[ThemeItem]:
        """The :class:`ThemeItem` of each id (an id without a row has only its id)."""
        if len(self._items) > _CACHED_ITEMS:  # a bound on the cache of a huge catalogue
            self._items.clear()
            self._vectors.clear()
        missing = sorted({i for i in item_ids if i not in self._items})
        rows = [self._row.get(i) for i in missing]
        known = [r for r in rows if r is not None]
        records = iter(self.table.take(known).to_pylist()) if known else iter(())
        for item, row in zip(missing, rows, strict=True):
            self._items[item] = ThemeItem(item) if row is None else self._item(item, next(records))
        return [self._items[i] for i in item_ids]

    def _item(self, item: str, record: Mapping[str, Any]) -> ThemeItem:
        name = record.get(self.name_field) if self.name_field else None
        texts = [str(record[t]) for t in self.textual if record.get(t)]
        metadata = {
            key: _split(value) if key in self.categorical else value
            for key, value in record.items()
            if key not in ("ITEM_ID", self.name_field) and key not in self.textual
        }
        return ThemeItem(
            item,
            name=str(name) if name is not None and str(name) else None,
            description=" ".join(texts) or None,
            metadata=metadata,
        )


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [part for part in value.split("|") if part]
    return value


# --------------------------------------------------------------------------- themes


def _categories(item: ThemeItem) -> list[str]:
    out: list[str] = []
    for value in item.metadata.values():
        if isinstance(value, list):
            out.extend(str(v).strip() for v in value if str(v).strip())
    return out


def fallback_theme(request: ThemeRequest) -> str:
    """A theme from the items' metadata alone, the same for the same items.

    The one or two categorical values most of the group shares (ties broken
    alphabetically) and the input item's name: ``"Comedy and Drama picks like Toy
    Story"``; ``"Picks like Toy Story"`` when the group shares no value.
    """
    counts: Counter[str] = Counter()
    for item in (request.source, *request.items):
        counts.update(set(_categories(item)))
    shared = sorted((v for v, c in counts.items() if c >= 2), key=lambda v: (-counts[v], v))[:2]
    name = " ".join((request.source.name or request.source.item_id).split())
    if len(name) > _NAME_CHARS:
        name = name[: _NAME_CHARS - 1].rstrip() + "…"
    if shared:
        return f"{' and '.join(shared)} picks like {name}"
    return f"Picks like {name}"


def _words(text: str) -> dict[str, float]:
    """The words of ``text`` (lower-cased), as a vector of unit length."""
    counts = Counter(w.lower() for w in _WORD.findall(text))
    norm = math.sqrt(sum(c * c for c in counts.values()))
    return {w: c / norm for w, c in counts.items()} if norm else {}


def item_vector(item: ThemeItem) -> dict[str, float]:
    """The words of an item's name, textual fields and categorical values (unit length)."""
    return _words(" ".join([item.name or "", item.description or "", *_categories(item)]))


def relevance_scores(
    request: ThemeRequest,
    theme: str,
    vector: Callable[[ThemeItem], Mapping[str, float]] = item_vector,
) -> list[float]:
    """Each related item's relevance to the theme and the group, in ``[0, 1]``.

    The cosine similarity between the item's words (name, textual fields, categorical
    values) and the words of the theme, the input item and the other related items
    (each one's words a vector of unit length first, so a long description does not
    drown the rest), rounded to 8 digits. ``vector`` gives an item's words
    (:func:`item_vector`, or a cache of it).
    """
    vectors = [vector(item) for item in request.items]
    total: dict[str, float] = {}
    for words in (_words(theme), vector(request.source), *vectors):
        for word, value in words.items():
            total[word] = total.get(word, 0.0) + value
    total_sq = sum(v * v for v in total.values())
    scores: list[float] = []
    for words in vectors:
        # rest = total - words (every component stays >= 0): its dot with words and norm
        own = sum(v * v for v in words.values())
        dot = sum(v * total[w] for w, v in words.items()) - own
        rest_sq = total_sq - 2 * (dot + own) + own
        score = dot / math.sqrt(own * rest_sq) if dot > 1e-12 and own and rest_sq > 1e-12 else 0.0
        scores.append(round(min(1.0, max(0.0, score)), 8))
    return scores


def themed_output(
    request: ThemeRequest,
    theme: str,
    vector: Callable[[ThemeItem], Mapping[str, float]] = item_vector,
) -> dict[str, Any]:
    """The ``output`` of one themed line: the related items ranked by relevance (highest
    first, ties in their recommendation order), the theme and the scores."""
    scores = relevance_scores(request, theme, vector)
    order = sorted(range(len(scores)), key=lambda k: -scores[k])  # stable
    return {
        "recommendedItems": [request.items[k].item_id for k in order],
        "theme": theme,
        "itemsThemeRelevanceScores": [scores[k] for k in order],
    }
