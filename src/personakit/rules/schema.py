"""Personalize dataset schemas: inference from pandas/pyarrow, Avro JSON in and out, the rules.

Part of :mod:`personakit.rules` (pure, no I/O). The schema rules are those of the
Amazon Personalize Developer Guide
(https://docs.aws.amazon.com/personalize/latest/dg/how-it-works-dataset-schema.html,
https://docs.aws.amazon.com/personalize/latest/dg/custom-datasets-and-schemas.html) and of
the ``CreateSchema`` API
(https://docs.aws.amazon.com/personalize/latest/dg/API_CreateSchema.html).

Inference rules (documented in ``docs/schema.md``):

* Role columns come from ``columns={"userId": "USER_ID"}`` or are recognised by
  name (case and ``_``/``-``/space ignored): see :data:`ROLE_ALIASES`.
* Other columns become metadata fields named in UPPER_SNAKE_CASE (``releaseYear``
  -> ``RELEASE_YEAR``), the convention Personalize's PutItems/PutUsers camelCase
  ``properties`` map back onto.
* Types: integers of 32 bits or fewer -> ``int``, wider -> ``long``; ``float16/32``
  -> ``float``, ``float64`` and decimals -> ``double`` (``EVENT_VALUE`` and
  ``PRICE`` always ``float``); datetimes and dates -> ``long`` epoch seconds;
  booleans stay ``boolean`` with a warning (Personalize ignores them for
  training and filtering) unless ``booleans="categorical"``; a column with
  nulls becomes a ``["null", T]`` union.
* String metadata is ``categorical``, except in Items, where the one column that
  looks like free text (median length >= 40 characters and >= 5 words, no ``|``)
  is ``textual``. List columns and ``|``-joined strings are categorical.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

import attrs

from personakit.errors import ValidationError
from personakit.rules import arguments
from personakit.rules.arrow import (
    FrameLike,
    is_list,
    is_string,
    looks_textual,
    string_sample,
    to_arrow,
    value_type,
)
from personakit.rules.facts import AVRO_ARROW, DG, Domain
from personakit.rules.names import (
    FIELD_NAME_RE,
    MAX_FIELD_NAME,
    ROLE_ALIASES,
    alias_key,
    field_name_for,
    squash_name,
)
from personakit.rules.report import DataReport, Problem

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "AVRO_TYPES",
    "CATALOG_IDS",
    "EXPIRATION_FIELDS",
    "FLOAT_FIELDS",
    "ID_FIELDS",
    "MAX_SCHEMA_CHARS",
    "METADATA_CAP",
    "NAMESPACE",
    "NEEDS_METADATA",
    "NUMERIC_TYPES",
    "RESERVED",
    "ROLE_ALIASES",
    "TIMESTAMP_FIELDS",
    "DatasetType",
    "Field",
    "FrameLike",
    "Reserved",
    "Schema",
    "avro_type_for",
    "field_name_for",
    "reserved_fields",
    "role_columns",
    "squash_name",
    "to_arrow",
]

#: Avro namespace of every schema in the Developer Guide's examples
#: (https://docs.aws.amazon.com/personalize/latest/dg/custom-datasets-and-schemas.html).
NAMESPACE = "com.amazonaws.personalize.schema"
#: Max characters of the schema JSON (``schema`` of
#: https://docs.aws.amazon.com/personalize/latest/dg/API_CreateSchema.html).
MAX_SCHEMA_CHARS = 20_000

#: The Avro field types Personalize accepts: the keys of
#: :data:`~personakit.rules.facts.AVRO_ARROW`.
AVRO_TYPES: frozenset[str] = frozenset(AVRO_ARROW)
NUMERIC_TYPES: frozenset[str] = AVRO_TYPES - {"string", "boolean"}


class DatasetType(str, Enum):
    """Personalize dataset types; the value is what ``CreateDataset(datasetType=)`` takes."""

    INTERACTIONS = "Interactions"
    ITEMS = "Items"
    USERS = "Users"
    ACTIONS = "Actions"
    ACTION_INTERACTIONS = "Action_Interactions"

    @property
    def record_name(self) -> str:
        """The Avro record name Personalize requires for this type
        (https://docs.aws.amazon.com/personalize/latest/dg/how-it-works-dataset-schema.html)."""
        return self.value.replace("_", "")

    @classmethod
    def parse(cls, value: str | DatasetType) -> DatasetType:
        """Accept ``"items"``, ``"Items"``, ``"ITEMS"``, ``"action-interactions"`` ..."""
        if isinstance(value, DatasetType):
            return value
        if not isinstance(value, str):
            raise TypeError(
                f"a dataset type is a string such as 'interactions' or a pk.DatasetType; "
                f"got {type(value).__name__} {value!r}"
            )
        key = re.sub(r"[\s\-_]", "", value).upper()
        for member in cls:
            if member.name.replace("_", "") == key:
                return member
        names = ", ".join(m.value for m in cls)
        raise ValidationError(f"unknown dataset type {value!r}; expected one of {names}")


# --------------------------------------------------------------------------- reserved fields


@attrs.frozen
class Reserved:
    """What Personalize requires of a reserved field: its types, whether the schema
    must have it, and whether it must (or must not) be categorical or textual."""

    types: frozenset[str]
    required: bool = False
    categorical: bool | None = False  # True: must be; False: must not be; None: either
    textual: bool = False


_S = frozenset({"string"})
_LONG = frozenset({"long"})
_FLOAT = frozenset({"float"})

_ID_USER = Reserved(_S, required=True)
_ID_ITEM = Reserved(_S, required=True)
_TS_REQ = Reserved(_LONG, required=True)
_OPT_STR = Reserved(_S)
_CAT = Reserved(_S, categorical=True)
_CAT_REQ = Reserved(_S, required=True, categorical=True)
_TEXT = Reserved(_S, categorical=False, textual=True)

_INTERACTION_OPTIONAL: dict[str, Reserved] = {
    "EVENT_VALUE": Reserved(_FLOAT),
    "IMPRESSION": _OPT_STR,
    "RECOMMENDATION_ID": _OPT_STR,
}

#: Reserved fields by (dataset type, domain or None): custom dataset groups
#: (https://docs.aws.amazon.com/personalize/latest/dg/custom-datasets-and-schemas.html)
#: and domain ones
#: (https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-items-dataset.html,
#: https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-interactions-dataset.html,
#: https://docs.aws.amazon.com/personalize/latest/dg/VIDEO-ON-DEMAND-items-dataset.html,
#: https://docs.aws.amazon.com/personalize/latest/dg/VIDEO-ON-DEMAND-interactions-dataset.html).
RESERVED: dict[tuple[DatasetType, Domain | None], dict[str, Reserved]] = {
    (DatasetType.INTERACTIONS, None): {
        "USER_ID": _ID_USER,
        "ITEM_ID": _ID_ITEM,
        "TIMESTAMP": _TS_REQ,
        "EVENT_TYPE": _OPT_STR,
        **_INTERACTION_OPTIONAL,
        "EVENT_ATTRIBUTION_SOURCE": _OPT_STR,
    },
    (DatasetType.ITEMS, None): {
        "ITEM_ID": _ID_ITEM,
        "CREATION_TIMESTAMP": Reserved(_LONG),
    },
    (DatasetType.USERS, None): {"USER_ID": _ID_USER},
    (DatasetType.ACTIONS, None): {
        "ACTION_ID": Reserved(_S, required=True),
        "CREATION_TIMESTAMP": Reserved(_LONG),
        "VALUE": Reserved(_LONG),
        "TYPE": _OPT_STR,
        # The guide's table says EXPIRATION_TIMESTAMP, its bullets ACTION_EXPIRATION_TIMESTAMP
        # (https://docs.aws.amazon.com/personalize/latest/dg/custom-datasets-and-schemas.html):
        # both are accepted here.
        "EXPIRATION_TIMESTAMP": Reserved(_LONG),
        "ACTION_EXPIRATION_TIMESTAMP": Reserved(_LONG),
        "REPEAT_FREQUENCY": Reserved(_LONG),
    },
    (DatasetType.ACTION_INTERACTIONS, None): {
        "USER_ID": _ID_USER,
        "ACTION_ID": Reserved(_S, required=True),
        "EVENT_TYPE": Reserved(_S, required=True),
        "TIMESTAMP": _TS_REQ,
        "IMPRESSION": _OPT_STR,
        "RECOMMENDATION_ID": _OPT_STR,
    },
}
for _domain in Domain:
    RESERVED[(DatasetType.INTERACTIONS, _domain)] = {
        "USER_ID": _ID_USER,
        "ITEM_ID": _ID_ITEM,
        "TIMESTAMP": _TS_REQ,
        "EVENT_TYPE": Reserved(_S, required=True),
        **_INTERACTION_OPTIONAL,
    }
    RESERVED[(DatasetType.USERS, _domain)] = {"USER_ID": _ID_USER}
RESERVED[(DatasetType.USERS, Domain.VIDEO_ON_DEMAND)]["SUBSCRIPTION_MODEL"] = _CAT
RESERVED[(DatasetType.ITEMS, Domain.ECOMMERCE)] = {
    "ITEM_ID": _ID_ITEM,
    "PRICE": Reserved(_FLOAT, required=True),
    "CATEGORY_L1": _CAT_REQ,
    "CATEGORY_L2": _CAT,
    "CATEGORY_L3": _CAT,
    "PRODUCT_DESCRIPTION": _TEXT,
    # The ECOMMERCE items page types CREATION_TIMESTAMP as float
    # (https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-items-dataset.html).
    "CREATION_TIMESTAMP": Reserved(frozenset({"long", "float"})),
    "AGE_GROUP": _CAT,
    "ADULT": _CAT,
    "GENDER": _CAT,
}
RESERVED[(DatasetType.ITEMS, Domain.VIDEO_ON_DEMAND)] = {
    "ITEM_ID": _ID_ITEM,
    "GENRES": _CAT_REQ,
    "CREATION_TIMESTAMP": Reserved(_LONG, required=True),
    "PRICE": Reserved(_FLOAT),
    "DURATION": Reserved(_FLOAT),
    "AVERAGE_RATING": Reserved(_FLOAT),
    "GENRE_L2": _CAT,
    "GENRE_L3": _CAT,
    "CONTENT_OWNER": _CAT,
    "CONTENT_CLASSIFICATION": _CAT,
    "PRODUCT_DESCRIPTION": _TEXT,
}

#: Fields that are never metadata (identifiers, timestamps, reserved event columns).
#: Metadata caps count every other field, reserved ones excluded
#: (https://docs.aws.amazon.com/personalize/latest/dg/custom-datasets-and-schemas.html).
_NOT_METADATA = frozenset(
    {
        "USER_ID",
        "ITEM_ID",
        "ACTION_ID",
        "TIMESTAMP",
        "EVENT_TYPE",
        "EVENT_VALUE",
        "IMPRESSION",
        "RECOMMENDATION_ID",
        "EVENT_ATTRIBUTION_SOURCE",
    }
)

#: Max metadata fields per dataset type
#: (https://docs.aws.amazon.com/personalize/latest/dg/limits.html).
METADATA_CAP: dict[DatasetType, int] = {
    DatasetType.INTERACTIONS: 5,
    DatasetType.USERS: 25,
    DatasetType.ITEMS: 100,
    DatasetType.ACTIONS: 10,
    DatasetType.ACTION_INTERACTIONS: 5,
}
#: Dataset types that need at least one metadata field besides the id
#: (https://docs.aws.amazon.com/personalize/latest/dg/custom-datasets-and-schemas.html).
NEEDS_METADATA = frozenset({DatasetType.USERS, DatasetType.ITEMS, DatasetType.ACTIONS})

#: The id fields, the epoch-seconds fields and the expiration fields among the reserved
#: ones, and the id field of each catalogue dataset.
ID_FIELDS = ("USER_ID", "ITEM_ID", "ACTION_ID")
TIMESTAMP_FIELDS = (
    "TIMESTAMP",
    "CREATION_TIMESTAMP",
    "EXPIRATION_TIMESTAMP",
    "ACTION_EXPIRATION_TIMESTAMP",
)
EXPIRATION_FIELDS = ("EXPIRATION_TIMESTAMP", "ACTION_EXPIRATION_TIMESTAMP")
CATALOG_IDS: Mapping[DatasetType, str] = {
    DatasetType.ITEMS: "ITEM_ID",
    DatasetType.USERS: "USER_ID",
    DatasetType.ACTIONS: "ACTION_ID",
}
#: Reserved fields whose type is ``float`` only (inference makes them ``float``).
FLOAT_FIELDS = frozenset(
    name for fields in RESERVED.values() for name, rule in fields.items() if rule.types == _FLOAT
)

# --------------------------------------------------------------------------- value limits


# --------------------------------------------------------------------------- Field / Schema


def _check_type(_: object, __: attrs.Attribute[str], value: str) -> None:
    if value not in AVRO_TYPES:
        raise ValidationError(
            f"unsupported Avro type {value!r}; Personalize accepts {sorted(AVRO_TYPES)}"
        )


@attrs.frozen
class Field:
    """One field of a Personalize schema.

    ``source`` is the column of the input frame the field is read from (the
    inferred mapping, e.g. ``movieId`` for ``ITEM_ID``); it is not part of the
    Avro JSON and not compared.
    """

    name: str
    type: str = attrs.field(validator=_check_type)
    nullable: bool = False
    categorical: bool = False
    textual: bool = False
    source: str | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def column(self) -> str:
        """The input column this field is read from."""
        return self.source if self.source is not None else self.name

    def to_avro(self) -> dict[str, Any]:
        """The field as Personalize's Avro JSON object."""
        out: dict[str, Any] = {
            "name": self.name,
            "type": ["null", self.type] if self.nullable else self.type,
        }
        if self.categorical:
            out["categorical"] = True
        if self.textual:
            out["textual"] = True
        return out

    @classmethod
    def from_avro(cls, obj: Mapping[str, Any]) -> Field:
        """Parse one Avro field object; rejects types Personalize does not accept."""
        name = obj.get("name")
        if not isinstance(name, str):
            raise ValidationError(f"schema field without a string name: {obj!r}")
        raw = obj.get("type")
        nullable = False
        if isinstance(raw, list):
            members = [t for t in raw if t != "null"]
            nullable = len(members) < len(raw)
            if len(members) != 1 or not isinstance(members[0], str):
                raise ValidationError(
                    f"field {name!r}: unions must be of 'null' and one type, got {raw!r}"
                )
            raw = members[0]
        if not isinstance(raw, str) or raw not in AVRO_TYPES:
            raise ValidationError(
                f"field {name!r}: type {raw!r} is not one Personalize accepts "
                f"({', '.join(sorted(AVRO_TYPES))}; no records, arrays or maps)"
            )
        return cls(
            name,
            raw,
            nullable=nullable,
            categorical=bool(obj.get("categorical", False)),
            textual=bool(obj.get("textual", False)),
        )


def reserved_fields(dataset_type: DatasetType, domain: Domain | None) -> dict[str, Reserved]:
    """The reserved fields of a dataset type in a domain (ValidationError for a dataset
    type the domain does not have)."""
    _check_pair(dataset_type, domain)
    return RESERVED[(dataset_type, domain)]


def _check_pair(dataset_type: DatasetType, domain: Domain | None) -> None:
    if (dataset_type, domain) not in RESERVED:
        raise ValidationError(
            f"{dataset_type.value} datasets exist only in custom dataset groups (domain=None), "
            f"not in {domain.value if domain else 'custom'} ones"
        )


def _fields_converter(value: Iterable[Field]) -> tuple[Field, ...]:
    return tuple(value)


def _to_dataset_type(value: str | DatasetType) -> DatasetType:
    return DatasetType.parse(value)


def _to_domain(value: str | Domain | None) -> Domain | None:
    return Domain.parse(value)


@attrs.frozen
class Schema:
    """A Personalize dataset schema (frozen).

    Build one with :meth:`infer`, :meth:`from_json` or by hand from :class:`Field`
    objects; :meth:`check` applies every schema rule and :meth:`to_json` gives the
    exact Avro JSON ``CreateSchema`` takes.
    """

    dataset_type: DatasetType = attrs.field(converter=_to_dataset_type)
    fields: tuple[Field, ...] = attrs.field(converter=_fields_converter)
    domain: Domain | None = attrs.field(default=None, converter=_to_domain)
    version: str = "1.0"

    def __attrs_post_init__(self) -> None:
        _check_pair(self.dataset_type, self.domain)

    # ------------------------------------------------------------------ access
    @property
    def names(self) -> tuple[str, ...]:
        """Field names in order (the CSV header)."""
        return tuple(f.name for f in self.fields)

    @property
    def columns(self) -> dict[str, str]:
        """Mapping from input column to field name, in field order."""
        return {f.column: f.name for f in self.fields}

    def __getitem__(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(f.name == name for f in self.fields)

    @property
    def reserved(self) -> dict[str, Reserved]:
        """Reserved fields of this dataset type and domain."""
        return RESERVED[(self.dataset_type, self.domain)]

    @property
    def metadata_fields(self) -> tuple[Field, ...]:
        """Fields that count as metadata (everything but ids, timestamps, event columns)."""
        return tuple(
            f
            for f in self.fields
            if f.name not in _NOT_METADATA
            and not (self.dataset_type is DatasetType.ITEMS and f.name == "CREATION_TIMESTAMP")
        )

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """The Avro schema as a dict."""
        return {
            "type": "record",
            "name": self.dataset_type.record_name,
            "namespace": NAMESPACE,
            "fields": [f.to_avro() for f in self.fields],
            "version": self.version,
        }

    def to_json(self, *, indent: int | None = None) -> str:
        """The Avro JSON string for ``CreateSchema(schema=...)``."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(
        cls,
        text: str | Mapping[str, Any],
        *,
        dataset_type: str | DatasetType | None = None,
        domain: str | Domain | None = None,
    ) -> Schema:
        """Parse Avro JSON (a string or a dict), e.g. from ``DescribeSchema``.

        The dataset type comes from ``dataset_type`` or the record name.
        """
        try:
            obj = json.loads(text) if isinstance(text, str) else dict(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"schema is not valid JSON: {exc}") from None
        if not isinstance(obj, dict) or obj.get("type") != "record":
            raise ValidationError('schema must be an Avro object with "type": "record"')
        raw_fields = obj.get("fields")
        if not isinstance(raw_fields, list) or not raw_fields:
            raise ValidationError('schema must have a non-empty "fields" list')
        dtype = DatasetType.parse(dataset_type or str(obj.get("name", "")))
        return cls(
            dtype,
            [Field.from_avro(f) for f in raw_fields],
            domain=domain,
            version=str(obj.get("version", "1.0")),
        )

    # ------------------------------------------------------------------ rules
    def check(self) -> DataReport:
        """Apply every schema rule and return all problems found."""
        return DataReport(_check_schema(self), subject=f"{self.dataset_type.value} schema")

    def raise_for_problems(self) -> Schema:
        """Raise ValidationError if :meth:`check` finds errors; return self otherwise."""
        self.check().raise_for_problems()
        return self

    # ------------------------------------------------------------------ inference
    @classmethod
    def infer(
        cls,
        frame: FrameLike,
        dataset_type: str | DatasetType = DatasetType.INTERACTIONS,
        *,
        domain: str | Domain | None = None,
        columns: Mapping[str, str] | None = None,
        booleans: Literal["flag", "categorical"] = "flag",
        textual: str | Literal[False] | None = None,
    ) -> Schema:
        """Infer a schema from a pandas DataFrame or a pyarrow Table.

        Args:
            frame: the data, with one column per field.
            dataset_type: ``"interactions"``, ``"items"``, ``"users"``, ``"actions"``
                or ``"action_interactions"``.
            domain: ``None`` (custom) or ``"ECOMMERCE"`` / ``"VIDEO_ON_DEMAND"``.
            columns: explicit column -> field name mapping; wins over recognition.
                Columns you do not want imported must be dropped from the frame.
            booleans: ``"flag"`` keeps boolean columns as ``boolean`` (reported by
                :meth:`check` as ignored by Personalize); ``"categorical"`` makes them
                categorical strings ``"True"``/``"False"``, which can be filtered on.
            textual: name of the Items column to mark textual, ``False`` for none, or
                ``None`` to pick by the free-text rule.

        Raises:
            ValidationError: a column has a type Personalize cannot take or values no
                column can hold, two columns claim the same field, or a mapping names a
                missing column.
            TypeError: an argument of the wrong Python type (``booleans=5``).
        """
        arguments.check(
            "textual",
            textual,
            lambda v: v is None or v is False or isinstance(v, str),
            "a column name, False or None",
        )
        return _infer(
            cls,
            frame,
            DatasetType.parse(dataset_type),
            Domain.parse(domain),
            arguments.column_map("columns", columns),
            arguments.choice("booleans", booleans, ("flag", "categorical")),
            textual,
        )

    # ------------------------------------------------------------------ notebook
    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{f.name}</code></td><td>{f.column}</td><td>{f.type}</td>"
            f"<td>{'yes' if f.nullable else ''}</td>"
            f"<td>{'categorical' if f.categorical else 'textual' if f.textual else ''}</td></tr>"
            for f in self.fields
        )
        dom = f" ({self.domain.value})" if self.domain else ""
        return (
            f"<div><b>{self.dataset_type.value} schema{dom}</b><table>"
            "<tr><th>field</th><th>column</th><th>type</th><th>nullable</th><th>kind</th></tr>"
            f"{rows}</table></div>"
        )


# --------------------------------------------------------------------------- check


def _err(rule: str, message: str, column: str | None = None, fix: str | None = None) -> Problem:
    return Problem("error", rule, message, column=column, count=1, fix=fix)


def _check_schema(schema: Schema) -> Iterable[Problem]:
    dtype = schema.dataset_type
    reserved = schema.reserved
    text = schema.to_json()
    if len(text) > MAX_SCHEMA_CHARS:
        yield _err(
            "schema-too-long",
            f"schema JSON has {len(text):,} characters; Personalize allows {MAX_SCHEMA_CHARS:,}",
        )
    seen: dict[str, str] = {}
    for f in schema.fields:
        if not FIELD_NAME_RE.match(f.name) or len(f.name) > MAX_FIELD_NAME:
            yield _err(
                "field-name",
                f"field name {f.name!r} must match [A-Za-z_][A-Za-z0-9_]* "
                f"and have at most {MAX_FIELD_NAME} characters",
                f.name,
                fix=f"rename it to {field_name_for(f.name)!r}",
            )
        squashed = squash_name(f.name)
        if squashed in seen:
            yield _err(
                "field-name-duplicate",
                f"{f.name!r} and {seen[squashed]!r} are the same name to Personalize "
                "(underscores and case are ignored when names are compared)",
                f.name,
            )
        seen.setdefault(squashed, f.name)
        if f.categorical and f.textual:
            yield _err(
                "categorical-and-textual", "a field cannot be both categorical and textual", f.name
            )
        if (f.categorical or f.textual) and f.type != "string":
            kind = "categorical" if f.categorical else "textual"
            yield _err(
                f"{kind}-not-string", f"{kind} fields must be of type string, not {f.type}", f.name
            )
        if f.textual and dtype is not DatasetType.ITEMS:
            yield _err(
                "textual-not-items",
                "textual fields are allowed only in Items datasets",
                f.name,
                fix="mark it categorical or drop it",
            )
        rule = reserved.get(f.name)
        if rule is not None:
            yield from _check_reserved(f, rule)
        elif f.type == "boolean":
            yield Problem(
                "warning",
                "boolean-ignored",
                "Personalize ignores boolean fields for training and filtering",
                column=f.name,
                count=1,
                fix='store it as a categorical string "True"/"False" '
                '(Schema.infer(..., booleans="categorical") or pk.prep.booleans) '
                "or as int 0/1",
            )
        elif f.type == "string" and not (f.categorical or f.textual) and f.name not in reserved:
            yield Problem(
                "warning",
                "string-ignored",
                "string fields that are neither categorical nor textual are not used for training",
                column=f.name,
                count=1,
                fix='add "categorical": true (or "textual": true in Items)',
            )
    for name, rule in reserved.items():
        if rule.required and name not in seen.values():
            yield _err(
                "required-field-missing",
                f"{dtype.value}{_domain_suffix(schema)} schemas need the field {name} "
                f"({'/'.join(sorted(rule.types))})",
                name,
            )
    if dtype is DatasetType.ACTIONS and {
        "EXPIRATION_TIMESTAMP",
        "ACTION_EXPIRATION_TIMESTAMP",
    } <= set(schema.names):
        yield _err(
            "field-name-duplicate",
            "use one of EXPIRATION_TIMESTAMP and ACTION_EXPIRATION_TIMESTAMP, not both",
            "EXPIRATION_TIMESTAMP",
        )
    textual = [f.name for f in schema.fields if f.textual]
    if len(textual) > 1:
        yield _err(
            "textual-count",
            f"at most one textual field per Items dataset, found "
            f"{len(textual)}: {', '.join(textual)}",
            textual[1],
            fix="keep the richest one textual and make the others categorical",
        )
    meta = schema.metadata_fields
    cap = METADATA_CAP[dtype]
    if len(meta) > cap:
        yield _err(
            "metadata-cap",
            f"{dtype.value} datasets allow at most {cap} metadata fields, "
            f"found {len(meta)}: {', '.join(f.name for f in meta)}",
        )
    if dtype in NEEDS_METADATA and not meta:
        yield _err(
            "metadata-missing",
            f"{dtype.value} datasets need at least one metadata field "
            "(a categorical string or a number) besides the id",
            fix="add a metadata column, or do not import this dataset",
        )


def _domain_suffix(schema: Schema) -> str:
    return f" ({schema.domain.value})" if schema.domain else ""


def _check_reserved(f: Field, rule: Reserved) -> Iterable[Problem]:
    if f.type not in rule.types:
        allowed = " or ".join(sorted(rule.types))
        yield _err(
            "reserved-type",
            f"reserved field {f.name} must be of type {allowed}, not {f.type}",
            f.name,
            fix=f"cast the column to {allowed}",
        )
    if rule.required and f.nullable:
        yield _err(
            "reserved-nullable",
            f"required field {f.name} cannot be nullable",
            f.name,
            fix="drop rows where it is missing",
        )
    if rule.categorical is True and not f.categorical:
        yield _err(
            "reserved-categorical",
            f"reserved field {f.name} must be categorical",
            f.name,
            fix='add "categorical": true',
        )
    if rule.categorical is False and f.categorical:
        yield _err(
            "reserved-not-categorical",
            f"reserved field {f.name} cannot be categorical",
            f.name,
            fix='remove "categorical": true',
        )
    if f.textual and not rule.textual:
        yield _err("reserved-not-textual", f"reserved field {f.name} cannot be textual", f.name)


# --------------------------------------------------------------------------- inference


def avro_type_for(t: pa.DataType, field_name: str) -> str | None:
    """The Avro type a column of Arrow type ``t`` becomes, or None if unsupported."""
    import pyarrow.types as pat

    if pat.is_dictionary(t):
        return avro_type_for(value_type(t), field_name)
    if is_string(t) or (is_list(t) and is_string(value_type(t))):
        return "string"
    if pat.is_boolean(t):
        return "boolean"
    if pat.is_integer(t):
        return (
            "int"
            if t.bit_width <= 32 and not (pat.is_unsigned_integer(t) and t.bit_width == 32)
            else "long"
        )
    if pat.is_floating(t) or pat.is_decimal(t):
        if field_name in FLOAT_FIELDS:
            return "float"
        return "float" if pat.is_floating(t) and t.bit_width <= 32 else "double"
    if pat.is_timestamp(t) or pat.is_date(t):
        return "long"
    if pat.is_null(t):
        return "string"
    return None


def role_columns(
    names: list[str],
    dtype: DatasetType,
    domain: Domain | None,
    explicit: dict[str, str],
) -> dict[str, str]:
    """column -> reserved field, by explicit mapping then by recognised name."""
    reserved = reserved_fields(dtype, domain)
    missing = [c for c in explicit if c not in names]
    if missing:
        problems = [
            Problem(
                "error",
                "column-missing",
                f"columns= maps {c!r} to {explicit[c]}, but the frame has no column {c!r} "
                f"(columns: {', '.join(names) or 'none'})",
                column=c,
                count=1,
                fix="fix the name, or leave it out of columns=",
            )
            for c in missing
        ]
        raise ValidationError(
            f"columns= names {', '.join(map(repr, missing))}, not in the frame "
            f"(columns: {', '.join(names)})",
            problems=problems,
        )
    out = dict(explicit)
    taken = set(explicit.values())
    keys = {c: alias_key(c) for c in names if c not in explicit}
    for role in reserved:
        if role in taken:
            continue
        # the reserved name itself (any case, any underscores), then aliases in listed order
        for alias in (alias_key(role), *ROLE_ALIASES.get(role, ())):
            hits = [c for c, key in keys.items() if key == alias]
            if hits:
                break
        if len(hits) > 1:
            message = (
                f"columns {', '.join(map(repr, hits))} could all be {role}; say which with "
                f"columns={{{hits[0]!r}: {role!r}}}"
            )
            problem = Problem(
                "error",
                "schema-inference",
                message,
                column=hits[0],
                count=len(hits),
                fix=f"map one of them: columns={{{hits[0]!r}: {role!r}}}, or drop the others",
            )
            raise ValidationError(message, problems=[problem])
        if hits:
            out[hits[0]] = role
            del keys[hits[0]]
    return out


def _infer(
    cls: type[Schema],
    frame: FrameLike,
    dtype: DatasetType,
    domain: Domain | None,
    explicit: dict[str, str],
    booleans: str,
    textual: str | Literal[False] | None,
) -> Schema:
    import pyarrow.types as pat

    _check_pair(dtype, domain)
    table = to_arrow(frame)
    names = [str(n) for n in table.column_names]
    roles = role_columns(names, dtype, domain, explicit)
    reserved = RESERVED[(dtype, domain)]
    problems: list[Problem] = []
    fields: list[Field] = []
    textual_candidates: list[tuple[float, int]] = []
    for idx, column in enumerate(names):
        arrow_type = table.schema.field(idx).type
        name = roles.get(column) or field_name_for(column)
        col = table.column(idx)
        avro = avro_type_for(arrow_type, name)
        if avro is None:
            problems.append(
                Problem(
                    "error",
                    "unsupported-type",
                    f"column type {arrow_type} has no Personalize equivalent (field types: "
                    f"{DG}custom-datasets-and-schemas.html)",
                    column=column,
                    count=len(col),
                    fix="convert it to a number or a string, or drop it",
                )
            )
            continue
        rule = reserved.get(name)
        if rule is not None and avro not in rule.types:
            avro = _coerce_reserved(avro, arrow_type, rule)
        categorical = False
        is_textual = False
        if avro == "boolean" and booleans == "categorical" and rule is None:
            avro, categorical = "string", True
        elif avro == "string":
            if rule is not None:
                categorical = rule.categorical is True
                is_textual = rule.textual
            elif is_list((pat.is_dictionary(arrow_type) and value_type(arrow_type)) or arrow_type):
                categorical = True
            else:
                categorical = True
                if dtype is DatasetType.ITEMS:
                    if textual in (column, name):
                        categorical, is_textual = False, True
                    elif textual is None:
                        sample = string_sample(col)
                        if looks_textual(sample):
                            mean_len = sum(map(len, sample)) / len(sample)
                            textual_candidates.append((mean_len, len(fields)))
        nullable = col.null_count > 0 or pat.is_null(arrow_type)
        fields.append(
            Field(
                name,
                avro,
                nullable=nullable,
                categorical=categorical,
                textual=is_textual,
                source=column,
            )
        )
    if textual_candidates:
        _, best = max(textual_candidates)
        f = fields[best]
        fields[best] = attrs.evolve(f, categorical=False, textual=True)
    if (
        isinstance(textual, str)
        and textual not in names
        and textual not in {f.name for f in fields}
    ):
        problems.append(
            Problem(
                "error",
                "textual-column-missing",
                f"textual={textual!r} is not a column of the frame",
                column=textual,
            )
        )
    schema = cls(dtype, fields, domain=domain)
    if not problems:
        problems.extend(schema.check().errors)
    report = DataReport(problems, subject=f"{dtype.value} frame")
    if not report.ok:
        present = ", ".join(f"{c} -> {roles.get(c) or field_name_for(c)}" for c in names)
        raise ValidationError(
            f"{report}\n  columns seen: {present}\n  map columns explicitly with "
            "Schema.infer(..., columns={'yourColumn': 'USER_ID', ...})",
            problems=report.errors,
        )
    return schema


def _coerce_reserved(avro: str, arrow_type: pa.DataType, rule: Reserved) -> str:
    """Reserved fields have fixed types; convert what converts losslessly on write.

    Integer ids (and float ids, which pandas makes of integer ids with nulls) become
    strings; numbers and datetimes take the reserved numeric type (TIMESTAMP long,
    EVENT_VALUE float); anything else keeps its type and ``check`` reports it.
    """
    import pyarrow.types as pat

    numeric_rule = sorted(rule.types & NUMERIC_TYPES, key=["long", "float", "int", "double"].index)
    if "string" in rule.types and (pat.is_integer(arrow_type) or pat.is_floating(arrow_type)):
        return "string"
    if numeric_rule and (avro in NUMERIC_TYPES):
        return numeric_rule[0]
    return avro
