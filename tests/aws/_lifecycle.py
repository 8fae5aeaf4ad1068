"""Helpers for the stubbed lifecycle tests: ARNs, data, a request log, a fake clock, scripts.

The ``personalize`` client is a real boto3 client under ``botocore.stub.Stubber``:
every request is validated against botocore's service model and compared with the
expected parameters, every stubbed response against the output shape. S3 is moto.

A *script* is the exact sequence of Personalize calls a scenario makes; the
``expect_*`` functions append the calls of one lifecycle step (or of the teardown
of what exists), with the exact parameters personakit must send.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
import numpy as np
import pandas as pd
from botocore.stub import ANY, Stubber

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "pk-lifecycle"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/personakit"
RUN = "run-1"
TAGS = [{"tagKey": "personakit:run", "tagValue": RUN}]
#: The tags of a resource created with keep=True.
KEPT_TAGS = [*TAGS, {"tagKey": "personakit:keep", "tagValue": "true"}]

A = f"arn:aws:personalize:{REGION}:{ACCOUNT}"
DSG = f"{A}:dataset-group/movies"
SCHEMA_I = f"{A}:schema/pk-interactions"
SCHEMA_T = f"{A}:schema/pk-items"
DS_I = f"{A}:dataset/movies/INTERACTIONS"
DS_T = f"{A}:dataset/movies/ITEMS"
JOB_I = f"{A}:dataset-import-job/movies-interactions-1"
JOB_T = f"{A}:dataset-import-job/movies-items-1"
SOL = f"{A}:solution/movies-up"
SV = f"{A}:solution/movies-up/1a2b3c4d"
CAMP = f"{A}:campaign/movies-up-run-1"
FLT = f"{A}:filter/movies-no-horror"
RECIPE_UP = "arn:aws:personalize:::recipe/aws-user-personalization"
NO_HORROR = 'EXCLUDE ItemID WHERE Items.GENRES IN ("Horror")'

SCHEMA_JSON_I = json.dumps(
    {
        "type": "record",
        "name": "Interactions",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [
            {"name": "USER_ID", "type": "string"},
            {"name": "ITEM_ID", "type": "string"},
            {"name": "TIMESTAMP", "type": "long"},
        ],
        "version": "1.0",
    }
)
SCHEMA_JSON_T = json.dumps(
    {
        "type": "record",
        "name": "Items",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [
            {"name": "ITEM_ID", "type": "string"},
            {"name": "GENRES", "type": "string", "categorical": True},
        ],
        "version": "1.0",
    }
)

#: The journey's steps, in order; fault injection raises after each in turn.
STEPS = ("group", "import_interactions", "import_items", "train", "metrics", "deploy", "recommend")


def interactions(n: int = 1500, users: int = 60, items: int = 200, seed: int = 7) -> pd.DataFrame:
    """Valid interactions: ``n`` rows, every user with several."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "USER_ID": [f"u{i}" for i in rng.integers(0, users, n)],
            "ITEM_ID": [f"i{i}" for i in rng.integers(0, items, n)],
            "TIMESTAMP": (1_700_000_000 + np.arange(n) * 60).astype("int64"),
        }
    )
    return frame


def items(n: int = 200, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "ITEM_ID": [f"i{i}" for i in range(n)],
            "GENRES": rng.choice(["Horror", "Comedy", "Drama|Horror"], n),
        }
    )


# --------------------------------------------------------------------------- request log


@attrs.define
class Call:
    service: str
    op: str
    params: dict[str, Any]
    error: str | None = None
    response: dict[str, Any] = attrs.field(factory=dict)

    def arn(self) -> str | None:
        """The first ARN in the request (what a Describe/Delete is about)."""
        for key, value in self.params.items():
            if key.endswith("Arn") and isinstance(value, str):
                return value
        return None


class RequestLog:
    """Every request to the hooked clients, with the error code or response it got."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def hook(self, client: Any) -> None:
        service = client.meta.service_model.service_name

        def before(params: dict[str, Any], model: Any, **_: Any) -> None:
            self.calls.append(Call(service, model.name, dict(params)))

        def after(parsed: dict[str, Any], model: Any, **_: Any) -> None:
            for call in reversed(self.calls):
                if call.op == model.name and call.service == service:
                    call.error = (parsed.get("Error") or {}).get("Code")
                    call.response = parsed
                    break

        events = client.meta.events
        events.register_first(f"before-parameter-build.{service}.*", before)
        events.register(f"after-call.{service}.*", after)

    def ops(self, service: str = "personalize") -> list[str]:
        return [c.op for c in self.calls if c.service == service]

    def of(self, op: str) -> list[Call]:
        return [c for c in self.calls if c.op == op]

    def created(self) -> dict[str, str]:
        """ARN -> kind of everything a successful Create* made (kind from the op name)."""
        out: dict[str, str] = {}
        for call in self.calls:
            if call.op.startswith("Create") and call.error is None:
                for key, value in call.response.items():
                    if key.endswith("Arn"):
                        out[str(value)] = call.op[len("Create") :]
        return out

    def assert_deleted_and_gone(self, arn: str, kind: str) -> None:
        """A Delete<kind> for ``arn`` was accepted, and later Describe<kind> said not found."""
        deletes = [
            i
            for i, c in enumerate(self.calls)
            if c.op == f"Delete{kind}" and c.arn() == arn and c.error is None
        ]
        assert deletes, f"no accepted Delete{kind} for {arn}: {self.ops()}"
        gone = [
            i
            for i, c in enumerate(self.calls)
            if c.op == f"Describe{kind}"
            and c.arn() == arn
            and c.error == "ResourceNotFoundException"
            and i > deletes[-1]
        ]
        assert gone, f"Describe{kind} never confirmed {arn} gone after its delete"


# --------------------------------------------------------------------------- fake time


class FakeTime:
    """A clock that moves only when someone sleeps; can raise at a chosen sleep."""

    def __init__(self, log: RequestLog | None = None) -> None:
        self.now = 10_000.0
        self.sleeps: list[float] = []
        self.log = log
        self._fault: BaseException | None = None
        self._after: str | None = None

    def arm(self, exc: BaseException, after_op: str) -> None:
        """Raise ``exc`` from the first sleep that follows a call of ``after_op``."""
        self._fault, self._after = exc, after_op

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        if (
            self._fault is not None
            and self.log is not None
            and self.log.calls
            and self.log.calls[-1].op == self._after
        ):
            exc, self._fault = self._fault, None
            raise exc
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


# --------------------------------------------------------------------------- scripts

_DESCRIBE = {
    "dataset_group": ("describe_dataset_group", "datasetGroupArn", "datasetGroup"),
    "dataset": ("describe_dataset", "datasetArn", "dataset"),
    "dataset_import_job": (
        "describe_dataset_import_job",
        "datasetImportJobArn",
        "datasetImportJob",
    ),
    "solution": ("describe_solution", "solutionArn", "solution"),
    "solution_version": ("describe_solution_version", "solutionVersionArn", "solutionVersion"),
    "campaign": ("describe_campaign", "campaignArn", "campaign"),
    "filter": ("describe_filter", "filterArn", "filter"),
    "schema": ("describe_schema", "schemaArn", "schema"),
}
_DELETE = {
    "dataset_group": "delete_dataset_group",
    "dataset": "delete_dataset",
    "solution": "delete_solution",
    "campaign": "delete_campaign",
    "filter": "delete_filter",
    "schema": "delete_schema",
}
GONE = "GONE"


class Script:
    """Appends expected calls to a Stubber."""

    def __init__(self, stubber: Stubber) -> None:
        self.stubber = stubber

    def ok(
        self, method: str, params: Mapping[str, Any], response: Mapping[str, Any] | None = None
    ) -> None:
        self.stubber.add_response(method, dict(response or {}), dict(params))

    def err(
        self, method: str, code: str, params: Mapping[str, Any], message: str | None = None
    ) -> None:
        self.stubber.add_client_error(
            method,
            service_error_code=code,
            service_message=message or code,
            http_status_code=400,
            expected_params=dict(params),
        )

    def describe(self, kind: str, arn: str, *statuses: str, reason: str | None = None) -> None:
        """``Describe*`` answers: each status in turn; ``GONE`` is ResourceNotFoundException."""
        method, param, key = _DESCRIBE[kind]
        for status in statuses:
            if status == GONE:
                self.err(method, "ResourceNotFoundException", {param: arn}, f"{arn} not found")
                continue
            body: dict[str, Any] = {param: arn}
            if kind != "schema":
                body["status"] = status
            if reason is not None and "FAILED" in status:
                body["failureReason"] = reason
            self.ok(method, {param: arn}, {key: body})

    def delete(self, kind: str, arn: str) -> None:
        """``Delete*`` accepted."""
        _, param, _ = _DESCRIBE[kind]
        self.ok(_DELETE[kind], {param: arn})


# --------------------------------------------------------------------------- the journey


def expect_group(
    s: Script, *, name: str = "movies", extra: Mapping[str, Any] | None = None
) -> None:
    s.ok(
        "create_dataset_group",
        {"name": name, "tags": TAGS, **(extra or {})},
        {"datasetGroupArn": DSG},
    )
    s.describe("dataset_group", DSG, "CREATE PENDING", "ACTIVE")


def expect_import(
    s: Script,
    *,
    kind: str,
    schema_json: str,
    schema_arn: str,
    dataset_arn: str,
    job_arn: str,
    mode: str = "FULL",
    job_statuses: Iterable[str] = ("CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE"),
    new_dataset: bool = True,
) -> None:
    if new_dataset:
        s.ok("create_schema", {"name": ANY, "schema": schema_json}, {"schemaArn": schema_arn})
        s.ok(
            "create_dataset",
            {
                "name": f"movies-{kind.lower()}",
                "schemaArn": schema_arn,
                "datasetGroupArn": DSG,
                "datasetType": kind,
                "tags": TAGS,
            },
            {"datasetArn": dataset_arn},
        )
        s.describe("dataset", dataset_arn, "ACTIVE")
    s.ok(
        "create_dataset_import_job",
        {
            "jobName": ANY,
            "datasetArn": dataset_arn,
            "dataSource": {"dataLocation": ANY},
            "roleArn": ROLE,
            "importMode": mode,
            "tags": TAGS,
        },
        {"datasetImportJobArn": job_arn},
    )
    s.describe("dataset_import_job", job_arn, *job_statuses)


def expect_train(
    s: Script,
    *,
    name: str = "movies-up",
    recipe: str = RECIPE_UP,
    solution_statuses: Iterable[str] = ("CREATE IN_PROGRESS", "ACTIVE"),
    version_statuses: Iterable[str] = ("CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE"),
    reason: str | None = None,
) -> None:
    s.ok(
        "create_solution",
        {
            "name": name,
            "datasetGroupArn": DSG,
            "recipeArn": recipe,
            "performHPO": False,
            "performAutoTraining": False,
            "tags": TAGS,
        },
        {"solutionArn": SOL},
    )
    s.describe("solution", SOL, *solution_statuses)
    s.ok(
        "create_solution_version",
        {"solutionArn": SOL, "name": ANY, "trainingMode": "FULL", "tags": TAGS},
        {"solutionVersionArn": SV},
    )
    s.describe("solution_version", SV, *version_statuses, reason=reason)


METRICS = {
    "coverage": 0.27,
    "mean_reciprocal_rank_at_25": 0.11,
    "normalized_discounted_cumulative_gain_at_5": 0.08,
    "normalized_discounted_cumulative_gain_at_10": 0.10,
    "normalized_discounted_cumulative_gain_at_25": 0.14,
    "precision_at_5": 0.04,
    "precision_at_10": 0.035,
    "precision_at_25": 0.02,
}


def expect_metrics(s: Script) -> None:
    s.ok(
        "get_solution_metrics",
        {"solutionVersionArn": SV},
        {"solutionVersionArn": SV, "metrics": METRICS},
    )


def expect_deploy(
    s: Script,
    *,
    statuses: Iterable[str] = ("CREATE PENDING", "ACTIVE"),
    tags: list[dict[str, str]] = TAGS,
    tagged: Iterable[str] = (),
) -> None:
    """``CreateCampaign`` and its wait; ``tagged``: ARNs tagged ``personakit:keep``
    when the campaign is registered (what a kept campaign needs)."""
    s.ok(
        "create_campaign",
        {
            "name": "movies-up-run-1",
            "solutionVersionArn": SV,
            "minProvisionedTPS": 1,
            "tags": tags,
        },
        {"campaignArn": CAMP},
    )
    for arn in tagged:
        s.ok("tag_resource", {"resourceArn": arn, "tags": KEPT_TAGS[-1:]})
    s.describe("campaign", CAMP, *statuses)


def expect_filter(s: Script) -> None:
    s.ok(
        "create_filter",
        {"name": ANY, "datasetGroupArn": DSG, "filterExpression": NO_HORROR, "tags": TAGS},
        {"filterArn": FLT},
    )
    s.describe("filter", FLT, "CREATE PENDING", "ACTIVE")


RECS = {
    "itemList": [
        {"itemId": "i3", "score": 0.41},
        {"itemId": "i7", "score": 0.22, "promotionName": "new"},
    ],
    "recommendationId": "RID-1",
}


def expect_recommend(rt: Script) -> None:
    rt.ok(
        "get_recommendations",
        {"campaignArn": CAMP, "numResults": 10, "userId": "u1", "filterArn": FLT},
        RECS,
    )


def expect_step(s: Script, step: str, rt: Script | None = None) -> None:
    """The calls of one journey step, as in :func:`run_journey`."""
    if step == "group":
        expect_group(s)
    elif step == "import_interactions":
        expect_import(
            s,
            kind="Interactions",
            schema_json=SCHEMA_JSON_I,
            schema_arn=SCHEMA_I,
            dataset_arn=DS_I,
            job_arn=JOB_I,
        )
    elif step == "import_items":
        expect_import(
            s,
            kind="Items",
            schema_json=SCHEMA_JSON_T,
            schema_arn=SCHEMA_T,
            dataset_arn=DS_T,
            job_arn=JOB_T,
            job_statuses=("CREATE IN_PROGRESS", "ACTIVE"),
        )
    elif step == "train":
        expect_train(s)
    elif step == "metrics":
        expect_metrics(s)
    elif step == "deploy":
        expect_deploy(s)
    elif step == "recommend":
        expect_filter(s)
        if rt is not None:
            expect_recommend(rt)
    else:  # pragma: no cover
        raise AssertionError(step)


def expect_teardown(s: Script, done: Iterable[str], *, campaign_gone: bool = False) -> None:
    """Teardown of what ``done`` steps created, in reference §8.2 order."""
    steps = set(done)
    if "deploy" in steps and not campaign_gone:
        s.delete("campaign", CAMP)
        s.describe("campaign", CAMP, "DELETE PENDING", GONE)
    if "train" in steps:
        s.delete("solution", SOL)
        s.describe("solution", SOL, GONE)
    if "recommend" in steps:
        s.delete("filter", FLT)
        s.describe("filter", FLT, GONE)
    datasets = [
        arn
        for step, arn in (("import_items", DS_T), ("import_interactions", DS_I))
        if step in steps
    ]
    for arn in datasets:  # newest first, all deletes issued, then waited for
        s.delete("dataset", arn)
    for arn in datasets:
        s.describe("dataset", arn, GONE)
    if "group" in steps:
        s.delete("dataset_group", DSG)
        s.describe("dataset_group", DSG, "DELETE PENDING", GONE)
    schemas = [
        arn
        for step, arn in (("import_items", SCHEMA_T), ("import_interactions", SCHEMA_I))
        if step in steps
    ]
    for arn in schemas:
        s.delete("schema", arn)
    for arn in schemas:
        s.describe("schema", arn, GONE)


def run_journey(
    session: Any,
    timing: Any,
    *,
    fault: Callable[[str], None] = lambda step: None,
    inspect: Callable[[str, Any], None] = lambda step, obj: None,
) -> Any:
    """DESIGN §1's journey; ``fault(step)`` is called after each step."""
    import personakit.personalize.group as pkd

    with pkd.DatasetGroup.create(session, "movies", timing=timing) as group:
        fault("group")
        group.import_frame(interactions())
        inspect("import_interactions", group)
        fault("import_interactions")
        group.import_frame(items(), dataset_type="items")
        fault("import_items")
        solution = group.train("user-personalization", name="movies-up")
        fault("train")
        metrics = solution.metrics
        inspect("metrics", metrics)
        fault("metrics")
        with solution.deploy(min_tps=1) as campaign:
            fault("deploy")
            recs = campaign.recommend(user_id="u1", n=10, filter=NO_HORROR)
            inspect("recommend", recs)
            fault("recommend")
    return group
