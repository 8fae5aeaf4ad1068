"""Helpers of the local-engine twin tests: a response-shape checker, polling, data, setups.

``check_shape`` validates a response against an operation's output shape the way
a strict reader of botocore's model would: required members present, no member
the shape does not define, every value of the right type (strings, tz-aware
datetimes, ints that are not bools ...), string enums, patterns and length
limits, list and map limits, recursively.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs
import botocore.session
import numpy as np
import pandas as pd
from botocore.model import Shape
from botocore.response import StreamingBody

from personakit.local import LocalEngine

REGION = "us-east-1"
ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/personakit-test"
BUCKET = "pk-test"
RECIPE = "arn:aws:personalize:::recipe/"

_SESSION = botocore.session.get_session()


def model(service: str) -> Any:
    return _SESSION.get_service_model(service)


# --------------------------------------------------------------------------- shapes


def _pattern_ok(pattern: str, value: str) -> bool:
    try:
        compiled = re.compile(pattern)
    except re.error:  # Java-only syntax such as \p{ASCII}
        return True
    return compiled.fullmatch(value) is not None or compiled.match(value) is not None


#: members boto3 itself returns as None: botocore's GetBucketLocation hook gives
#: ``{"LocationConstraint": None}`` for us-east-1
_NONE_OK = frozenset({"LocationConstraint"})


def check_shape(value: Any, shape: Shape, path: str = "$") -> list[str]:
    """Every way ``value`` departs from ``shape`` (empty list: it conforms)."""
    problems: list[str] = []
    t = shape.type_name
    meta = shape.metadata
    if t == "structure":
        if not isinstance(value, Mapping):
            return [f"{path}: expected a structure, got {type(value).__name__}"]
        for name in getattr(shape, "required_members", []):
            if name not in value:
                problems.append(f"{path}: required member {name} missing")
        for name, member_value in value.items():
            if name == "ResponseMetadata" and path == "$":
                continue
            if name not in shape.members:
                problems.append(f"{path}: unexpected member {name}")
                continue
            if member_value is None and name in _NONE_OK:
                continue
            problems.extend(check_shape(member_value, shape.members[name], f"{path}.{name}"))
    elif t == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} entries > max {meta['max']}")
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"{path}: {len(value)} entries < min {meta['min']}")
        for i, item in enumerate(value):
            problems.extend(check_shape(item, shape.member, f"{path}[{i}]"))
    elif t == "map":
        if not isinstance(value, Mapping):
            return [f"{path}: expected a map, got {type(value).__name__}"]
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} entries > max {meta['max']}")
        for key, item in value.items():
            problems.extend(check_shape(key, shape.key, f"{path}<key>"))
            problems.extend(check_shape(item, shape.value, f"{path}[{key!r}]"))
    elif t == "string":
        if not isinstance(value, str):
            return [f"{path}: expected a string, got {type(value).__name__}"]
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            problems.append(f"{path}: {value!r} not in enum {enum}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: length {len(value)} > max {meta['max']}")
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"{path}: length {len(value)} < min {meta['min']}")
        # the model types echoed roleArn/kmsKeyArn members as Personalize ARNs; AWS
        # returns the IAM role / KMS key given, so those patterns are not checked
        foreign = value.startswith(("arn:aws:iam::", "arn:aws:kms:"))
        if "pattern" in meta and not foreign and not _pattern_ok(meta["pattern"], value):
            problems.append(f"{path}: {value!r} does not match {meta['pattern']}")
    elif t in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{path}: expected an integer, got {type(value).__name__}"]
    elif t in ("float", "double"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return [f"{path}: expected a number, got {type(value).__name__}"]
    elif t == "boolean":
        if not isinstance(value, bool):
            return [f"{path}: expected a boolean, got {type(value).__name__}"]
    elif t == "timestamp":
        if not isinstance(value, datetime) or value.tzinfo is None:
            return [f"{path}: expected a tz-aware datetime, got {value!r}"]
    elif t == "blob" and not isinstance(value, (bytes, bytearray, StreamingBody)):
        return [f"{path}: expected bytes or a StreamingBody, got {type(value).__name__}"]
    return problems


def assert_conforms(service: str, operation: str, response: Mapping[str, Any]) -> None:
    """``response`` matches the output shape of ``service.operation`` and has ResponseMetadata."""
    op = model(service).operation_model(operation)
    meta = response.get("ResponseMetadata")
    assert isinstance(meta, Mapping), f"{operation}: no ResponseMetadata"
    assert isinstance(meta.get("RequestId"), str)
    assert meta["RequestId"]
    assert isinstance(meta.get("HTTPStatusCode"), int)
    assert meta["HTTPStatusCode"] < 300
    if op.output_shape is None:
        assert set(response) == {"ResponseMetadata"}, f"{operation}: {sorted(response)}"
        return
    problems = check_shape(response, op.output_shape)
    assert not problems, f"{operation} response does not match its shape:\n" + "\n".join(problems)


class Checked:
    """A client proxy asserting every response against its operation's output shape."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.service = client.meta.service_model.service_name
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        ops = self._client.meta.method_to_api_mapping
        if name not in ops:
            return attr

        def call(**kwargs: Any) -> Any:
            response = attr(**kwargs)
            assert_conforms(self.service, ops[name], response)
            self.calls.append(ops[name])
            return response

        return call


# --------------------------------------------------------------------------- polling


def poll(
    read: Callable[[], str | None],
    until: Iterable[str] = ("ACTIVE",),
    *,
    timeout: float = 60.0,
    every: float = 0.005,
) -> list[str]:
    """Poll ``read()`` (a status, or None once gone) until it is in ``until``; the walk seen."""
    targets = set(until)
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        status = read()
        label = "GONE" if status is None else status
        if not seen or seen[-1] != label:
            seen.append(label)
        if label in targets or (label.endswith("FAILED") and label not in targets):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {targets}; saw {seen}")
        time.sleep(every)


def status_of(client: Any, kind: str, arn: str) -> Callable[[], str | None]:
    """A reader for ``poll``: ``Describe<Kind>``'s status, None on ResourceNotFound."""
    op = {
        "dataset_group": ("describe_dataset_group", "datasetGroupArn", "datasetGroup"),
        "dataset": ("describe_dataset", "datasetArn", "dataset"),
        "import_job": ("describe_dataset_import_job", "datasetImportJobArn", "datasetImportJob"),
        "solution": ("describe_solution", "solutionArn", "solution"),
        "version": ("describe_solution_version", "solutionVersionArn", "solutionVersion"),
        "campaign": ("describe_campaign", "campaignArn", "campaign"),
        "recommender": ("describe_recommender", "recommenderArn", "recommender"),
        "event_tracker": ("describe_event_tracker", "eventTrackerArn", "eventTracker"),
        "filter": ("describe_filter", "filterArn", "filter"),
    }[kind]

    def read() -> str | None:
        try:
            return str(getattr(client, op[0])(**{op[1]: arn})[op[2]]["status"])
        except client.exceptions.ResourceNotFoundException:
            return None

    return read


# --------------------------------------------------------------------------- data


def schema_json(name: str, fields: list[dict[str, Any]]) -> str:
    return json.dumps(
        {
            "type": "record",
            "name": name,
            "namespace": "com.amazonaws.personalize.schema",
            "fields": fields,
            "version": "1.0",
        }
    )


INTERACTIONS_SCHEMA = schema_json(
    "Interactions",
    [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
    ],
)
ITEMS_SCHEMA = schema_json(
    "Items",
    [
        {"name": "ITEM_ID", "type": "string"},
        {"name": "GENRES", "type": "string", "categorical": True},
        {"name": "NUMBER_OF_RATINGS", "type": ["null", "int"]},
    ],
)


def interactions(
    n: int = 1500, users: int = 60, items: int = 100, seed: int = 7, event_types: Any = None
) -> pd.DataFrame:
    """``n`` interactions of ``users`` users (every user well above 2) over ``items`` items."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, items + 1)
    frame = pd.DataFrame(
        {
            "USER_ID": [f"u{i}" for i in np.arange(n) % users],
            "ITEM_ID": [f"i{i}" for i in rng.choice(items, n, p=weights / weights.sum())],
            "TIMESTAMP": (1_700_000_000 + np.arange(n) * 60).astype("int64"),
        }
    )
    if event_types is not None:
        frame["EVENT_TYPE"] = rng.choice(event_types, n)
    return frame


def items_frame(items: int = 100, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "ITEM_ID": [f"i{i}" for i in range(items)],
            "GENRES": rng.choice(["Horror", "Comedy", "Drama|Horror"], items),
            "NUMBER_OF_RATINGS": rng.integers(0, 500, items),
        }
    )


def put_csv(s3: Any, key: str, frame: pd.DataFrame, bucket: str = BUCKET) -> str:
    s3.put_object(Bucket=bucket, Key=key, Body=frame.to_csv(index=False).encode())
    return f"s3://{bucket}/{key}"


# --------------------------------------------------------------------------- setups


@attrs.define
class Clients:
    engine: LocalEngine
    pz: Any
    s3: Any
    runtime: Any
    events: Any


@attrs.define
class Group:
    """A dataset group with an imported Interactions dataset, all ACTIVE."""

    arn: str
    schema_arn: str
    dataset_arn: str
    job_arn: str


def make_group(
    c: Clients,
    name: str = "movies",
    *,
    frame: Any = None,
    schema: str = INTERACTIONS_SCHEMA,
    domain: str | None = None,
) -> Group:
    extra = {"domain": domain} if domain else {}
    arn = c.pz.create_dataset_group(name=name, **extra)["datasetGroupArn"]
    poll(status_of(c.pz, "dataset_group", arn))
    schema_arn = c.pz.create_schema(name=f"{name}-interactions", schema=schema, **extra)[
        "schemaArn"
    ]
    dataset_arn = c.pz.create_dataset(
        name=f"{name}-interactions",
        schemaArn=schema_arn,
        datasetGroupArn=arn,
        datasetType="Interactions",
    )["datasetArn"]
    poll(status_of(c.pz, "dataset", dataset_arn))
    uri = put_csv(c.s3, f"{name}/interactions.csv", interactions() if frame is None else frame)
    job_arn = c.pz.create_dataset_import_job(
        jobName=f"{name}-import-1",
        datasetArn=dataset_arn,
        dataSource={"dataLocation": uri},
        roleArn=ROLE,
    )["datasetImportJobArn"]
    assert poll(status_of(c.pz, "import_job", job_arn))[-1] == "ACTIVE"
    return Group(arn, schema_arn, dataset_arn, job_arn)


@attrs.define
class Deployed:
    group: Group
    solution_arn: str
    version_arn: str
    campaign_arn: str


def deploy(c: Clients, group: Group, recipe: str, name: str = "sol") -> Deployed:
    solution = c.pz.create_solution(
        name=name,
        datasetGroupArn=group.arn,
        recipeArn=RECIPE + recipe,
        performAutoTraining=False,
    )["solutionArn"]
    poll(status_of(c.pz, "solution", solution))
    version = c.pz.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    walk = poll(status_of(c.pz, "version", version))
    assert walk[-1] == "ACTIVE", c.pz.describe_solution_version(solutionVersionArn=version)
    campaign = c.pz.create_campaign(name=f"{name}-campaign", solutionVersionArn=version)[
        "campaignArn"
    ]
    poll(status_of(c.pz, "campaign", campaign))
    return Deployed(group, solution, version, campaign)
