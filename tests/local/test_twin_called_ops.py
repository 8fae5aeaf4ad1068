"""Every operation personakit calls has a local handler, and the ones added answer as AWS does.

* A scan of personakit's own code (outside ``local/``) for the operations of the
  services the engine serves: each must have an ``_op_<Operation>`` handler, so no
  library code needs a special case for the engine.
* Metric attributions (https://docs.aws.amazon.com/personalize/latest/dg/API_CreateMetricAttribution.html):
  the status walk, the rules, updates, the delete walk, and a sweep that finds one.
* ``GetActionRecommendations`` on campaigns of other recipe types, and missing ones.
* SageMaker's notebook, training and transform job operations (the cost inventory's).
* Recipes the engine cannot train, ``performAutoML`` and a ``THEME_GENERATION`` batch job
  on a recipe other than Similar-Items: modeled ``InvalidInputException`` answers, not
  Python exceptions.

Every error is checked for a code the operation declares in botocore's model (or a
common AWS error) and the model's HTTP status.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _twin_helpers import (
    ITEMS_SCHEMA,
    RECIPE,
    ROLE,
    Clients,
    Deployed,
    Group,
    model,
    poll,
)
from botocore import xform_name
from botocore.exceptions import ClientError

import personakit
from personakit.aws.session import Session
from personakit.cost.sweep import sweep
from personakit.local import LocalEngine
from personakit.local.modeled import COMMON_ERRORS, declared_errors, error_status
from personakit.local.personalize import PersonalizeTwin
from personakit.local.runtime import PersonalizeEventsTwin, PersonalizeRuntimeTwin
from personakit.local.s3 import S3Twin
from personakit.local.sagemaker import SageMakerRuntimeTwin, SageMakerTwin

HANDLERS: dict[str, type[Any]] = {
    "personalize": PersonalizeTwin,
    "personalize-runtime": PersonalizeRuntimeTwin,
    "personalize-events": PersonalizeEventsTwin,
    "s3": S3Twin,
    "sagemaker": SageMakerTwin,
    "sagemaker-runtime": SageMakerRuntimeTwin,
}
#: Names that match an operation but are not calls of it.
NOT_CALLS = {("sagemaker", "Search"): "re.search / pattern.search, not SageMaker's Search"}
#: What boto3's transfer manager calls for ``upload_file`` / ``download_file``.
TRANSFER_OPS = {
    "s3": (
        "PutObject",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
        "HeadObject",
        "GetObject",
    )
}


def _library_sources() -> dict[Path, str]:
    root = Path(personakit.__file__).parent
    return {
        path: path.read_text(encoding="utf-8")
        for path in root.rglob("*.py")
        if "local" not in path.relative_to(root).parts
    }


def called_operations() -> dict[tuple[str, str], list[str]]:
    """The operations of the engine's services that personakit's library code names
    (``client.list_x(...)``, ``"list_x"`` for paginators and ``getattr``), with where."""
    words = {path: set(re.findall(r"\w+", text)) for path, text in _library_sources().items()}
    found: dict[tuple[str, str], list[str]] = {}
    for service in HANDLERS:
        for op in model(service).operation_names:
            name = xform_name(op)
            where = [path.name for path, names in words.items() if name in names]
            if where and (service, op) not in NOT_CALLS:
                found[(service, op)] = where
    for service, ops in TRANSFER_OPS.items():
        for op in ops:
            found.setdefault((service, op), ["boto3's transfer manager"])
    return found


def test_every_operation_personakit_calls_has_a_handler() -> None:
    called = called_operations()
    assert ("personalize", "DeleteMetricAttribution") in called  # the scan sees the library
    missing = {
        f"{service}.{op}": where
        for (service, op), where in sorted(called.items())
        if not hasattr(HANDLERS[service], f"_op_{op}")
    }
    assert missing == {}


def test_library_code_has_no_special_case_for_the_engine() -> None:
    offenders = [
        path.name
        for path, text in _library_sources().items()
        if re.search(r"except[^:\n]*\bNotImplementedError\b", text)
    ]
    assert offenders == []


def assert_modeled(
    exc: pytest.ExceptionInfo[ClientError], service: str, operation: str, code: str
) -> None:
    """``exc`` is ``code``, declared by ``operation`` (or common), with the model's status."""
    response: Any = exc.value.response
    assert response["Error"]["Code"] == code
    assert code in declared_errors(service, operation) or code in COMMON_ERRORS
    assert response["ResponseMetadata"]["HTTPStatusCode"] == error_status(service, code)


def _status(pz: Any, arn: str) -> Callable[[], str | None]:
    def read() -> str | None:
        try:
            return str(
                pz.describe_metric_attribution(metricAttributionArn=arn)["metricAttribution"][
                    "status"
                ]
            )
        except pz.exceptions.ResourceNotFoundException:
            return None

    return read


OUTPUT = {"roleArn": ROLE, "s3DataDestination": {"path": "s3://pk-test/attribution/"}}
CLICKS = {"eventType": "click", "metricName": "clicks", "expression": "SAMPLECOUNT()"}


def _attribution(clients: Clients, group: Group, **extra: Any) -> str:
    request = {
        "name": "impact",
        "datasetGroupArn": group.arn,
        "metrics": [CLICKS],
        "metricsOutputConfig": OUTPUT,
        **extra,
    }
    return str(clients.pz.create_metric_attribution(**request)["metricAttributionArn"])


# --------------------------------------------------------------------------- metric attributions


def test_a_metric_attribution_walks_lists_updates_and_goes(clients: Clients, group: Group) -> None:
    pz = clients.pz
    arn = _attribution(clients, group)
    pz.tag_resource(resourceArn=arn, tags=[{"tagKey": "team", "tagValue": "recs"}])
    assert arn.endswith(":metric-attribution/impact")
    walk = poll(_status(pz, arn))
    assert walk[-1] == "ACTIVE"
    assert set(walk) <= {"CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE"}
    described = pz.describe_metric_attribution(metricAttributionArn=arn)["metricAttribution"]
    assert described["datasetGroupArn"] == group.arn
    assert described["metricsOutputConfig"] == OUTPUT
    assert described["name"] == "impact"
    listed = pz.list_metric_attributions(datasetGroupArn=group.arn)["metricAttributions"]
    assert [a["metricAttributionArn"] for a in listed] == [arn]
    assert (
        pz.list_metric_attributions(datasetGroupArn=group.arn.replace("movies", "other"))[
            "metricAttributions"
        ]
        == []
    )
    assert {"tagKey": "team", "tagValue": "recs"} in pz.list_tags_for_resource(resourceArn=arn)[
        "tags"
    ]
    metrics = pz.list_metric_attribution_metrics(metricAttributionArn=arn)["metrics"]
    assert metrics == [CLICKS]

    views = {"eventType": "view", "metricName": "views", "expression": "SAMPLECOUNT()"}
    pz.update_metric_attribution(
        metricAttributionArn=arn, addMetrics=[views], removeMetrics=["clicks"]
    )
    assert pz.list_metric_attribution_metrics(metricAttributionArn=arn)["metrics"] == [views]
    with pytest.raises(ClientError) as exc:
        pz.update_metric_attribution(metricAttributionArn=arn, addMetrics=[views])
    assert_modeled(exc, "personalize", "UpdateMetricAttribution", "ResourceAlreadyExistsException")

    with pytest.raises(ClientError) as exc:  # a dataset group with an attribution stays
        pz.delete_dataset_group(datasetGroupArn=group.arn)
    assert_modeled(exc, "personalize", "DeleteDatasetGroup", "ResourceInUseException")
    assert "metric attribution" in str(exc.value)

    pz.delete_metric_attribution(metricAttributionArn=arn)
    with pytest.raises(ClientError) as exc:
        pz.delete_metric_attribution(metricAttributionArn=arn)  # already being deleted
    assert_modeled(exc, "personalize", "DeleteMetricAttribution", "ResourceInUseException")
    assert poll(_status(pz, arn), until=("GONE",))[-1] == "GONE"
    with pytest.raises(ClientError) as exc:
        pz.describe_metric_attribution(metricAttributionArn=arn)
    assert_modeled(exc, "personalize", "DescribeMetricAttribution", "ResourceNotFoundException")
    with pytest.raises(ClientError) as exc:
        pz.list_metric_attribution_metrics(metricAttributionArn=arn)
    assert_modeled(exc, "personalize", "ListMetricAttributionMetrics", "InvalidInputException")


def test_metric_attribution_rules(clients: Clients, group: Group) -> None:
    pz = clients.pz

    def refused(code: str, **changes: Any) -> str:
        request = {
            "name": "impact",
            "datasetGroupArn": group.arn,
            "metrics": [CLICKS],
            "metricsOutputConfig": OUTPUT,
            **changes,
        }
        with pytest.raises(ClientError) as exc:
            pz.create_metric_attribution(**request)
        assert_modeled(exc, "personalize", "CreateMetricAttribution", code)
        return str(exc.value)

    missing = group.arn.replace("movies", "nope")
    refused("ResourceNotFoundException", datasetGroupArn=missing)
    bad = {"eventType": "click", "metricName": "m", "expression": "AVG(Items.PRICE)"}
    assert "SAMPLECOUNT()" in refused("InvalidInputException", metrics=[bad])
    users = {"eventType": "click", "metricName": "m", "expression": "SUM(Users.AGE)"}
    refused("InvalidInputException", metrics=[users])
    # the Interactions schema exists: the column must be one of its numeric fields
    unknown = {"eventType": "click", "metricName": "m", "expression": "SUM(Interactions.PRICE)"}
    assert "no field PRICE" in refused("InvalidInputException", metrics=[unknown])
    text = {"eventType": "click", "metricName": "m", "expression": "SUM(Interactions.USER_ID)"}
    assert "not numeric" in refused("InvalidInputException", metrics=[text])
    refused("InvalidInputException", metrics=[])
    refused("InvalidInputException", metrics=[CLICKS, CLICKS])  # metric names are unique
    eleven = [{**CLICKS, "metricName": f"m{i}"} for i in range(11)]
    refused("ValidationException", metrics=eleven)  # the model's limit of 10
    refused(  # the model's S3Location pattern, checked by the front end
        "ValidationException",
        metricsOutputConfig={"roleArn": ROLE, "s3DataDestination": {"path": "bucket/x"}},
    )
    # no Items dataset yet: SUM(Items.PRICE) is accepted (the data may come later)
    price = {"eventType": "purchase", "metricName": "revenue", "expression": "SUM(Items.PRICE)"}
    arn = _attribution(clients, group, metrics=[price, CLICKS])
    assert "already has a metric attribution" in refused(
        "ResourceAlreadyExistsException", name="second"
    )
    with pytest.raises(ClientError) as exc:  # still CREATE PENDING or IN_PROGRESS
        pz.update_metric_attribution(metricAttributionArn=arn, removeMetrics=["clicks"])
    assert_modeled(exc, "personalize", "UpdateMetricAttribution", "ResourceInUseException")
    poll(_status(pz, arn))
    with pytest.raises(ClientError) as exc:
        pz.update_metric_attribution(metricAttributionArn=arn, removeMetrics=["nope"])
    assert_modeled(exc, "personalize", "UpdateMetricAttribution", "InvalidInputException")


def test_sum_over_an_items_column_needs_a_numeric_field(clients: Clients, group: Group) -> None:
    pz = clients.pz
    schema = pz.create_schema(name="items", schema=ITEMS_SCHEMA)["schemaArn"]
    dataset = pz.create_dataset(
        name="items", datasetGroupArn=group.arn, datasetType="Items", schemaArn=schema
    )["datasetArn"]
    poll(lambda: pz.describe_dataset(datasetArn=dataset)["dataset"]["status"])
    genres = {"eventType": "click", "metricName": "m", "expression": "SUM(Items.GENRES)"}
    with pytest.raises(ClientError, match="not numeric"):
        _attribution(clients, group, metrics=[genres])
    ratings = {
        "eventType": "click",
        "metricName": "m",
        "expression": "SUM(Items.NUMBER_OF_RATINGS)",
    }
    assert _attribution(clients, group, metrics=[ratings])


def test_a_sweep_finds_and_deletes_a_metric_attribution(tmp_path: Path) -> None:
    with Session.local(tmp_path / "ws", run_id="run-a", progress=False, min_state_s=0.01) as s:
        pz = s.client("personalize")
        tags = list(s.personalize_tags())
        group = pz.create_dataset_group(name="swept", tags=tags)["datasetGroupArn"]
        poll(lambda: pz.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]["status"])
        arn = pz.create_metric_attribution(
            name="impact",
            datasetGroupArn=group,
            metrics=[CLICKS],
            metricsOutputConfig={"roleArn": ROLE},
        )["metricAttributionArn"]
        poll(_status(pz, arn))

        report = sweep(s, dry_run=False, run_id="run-a")

        assert report.ok, report
        assert not report.notes, report.notes
        assert {(i.kind, i.outcome) for i in report.items} == {
            ("metric_attribution", "deleted"),
            ("dataset_group", "deleted"),
        }
        assert pz.list_metric_attributions()["metricAttributions"] == []


# --------------------------------------------------------------------------- recipes


def test_what_the_engine_cannot_train_is_a_modeled_answer(
    clients: Clients, group: Group, deployed: Callable[[str], Deployed]
) -> None:
    pz = clients.pz
    nba = pz.describe_recipe(recipeArn=RECIPE + "aws-next-best-action")["recipe"]
    assert nba["recipeType"] == "PERSONALIZED_ACTIONS"
    with pytest.raises(ClientError) as exc:
        pz.create_solution(
            name="nba", datasetGroupArn=group.arn, recipeArn=RECIPE + "aws-next-best-action"
        )
    assert_modeled(exc, "personalize", "CreateSolution", "InvalidInputException")
    with pytest.raises(ClientError) as exc:
        pz.create_solution(name="auto", datasetGroupArn=group.arn, performAutoML=True)
    assert_modeled(exc, "personalize", "CreateSolution", "InvalidInputException")
    version = deployed("aws-user-personalization").version_arn
    with pytest.raises(ClientError) as exc:
        pz.create_batch_inference_job(
            jobName="themes",
            solutionVersionArn=version,
            batchInferenceJobMode="THEME_GENERATION",
            jobInput={"s3DataSource": {"path": "s3://pk-test/in.json"}},
            jobOutput={"s3DataDestination": {"path": "s3://pk-test/out/"}},
            roleArn=ROLE,
        )
    assert_modeled(exc, "personalize", "CreateBatchInferenceJob", "InvalidInputException")


# --------------------------------------------------------------------------- runtime


def test_get_action_recommendations_answers_as_aws(
    clients: Clients, deployed: Callable[[str], Deployed]
) -> None:
    runtime = clients.runtime
    campaign = deployed("aws-user-personalization").campaign_arn
    with pytest.raises(ClientError) as exc:
        runtime.get_action_recommendations(campaignArn=campaign, userId="u1")
    assert_modeled(exc, "personalize-runtime", "GetActionRecommendations", "InvalidInputException")
    assert "PERSONALIZED_ACTIONS" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        runtime.get_action_recommendations(campaignArn=campaign + "-gone", userId="u1")
    assert_modeled(
        exc, "personalize-runtime", "GetActionRecommendations", "ResourceNotFoundException"
    )
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(runtime.exceptions.InvalidInputException):
        runtime.get_action_recommendations(userId="u1")  # no campaign


# --------------------------------------------------------------------------- sagemaker


def test_sagemaker_jobs_and_notebooks_are_listed_and_described(engine: LocalEngine) -> None:
    sm = engine.client("sagemaker")
    for method, key, status in (
        ("list_notebook_instances", "NotebookInstances", "InService"),
        ("list_training_jobs", "TrainingJobSummaries", "InProgress"),
        ("list_transform_jobs", "TransformJobSummaries", "InProgress"),
    ):
        answer = getattr(sm, method)(StatusEquals=status, MaxResults=5)
        assert answer[key] == []
        assert "NextToken" not in answer
        pages = list(sm.get_paginator(method).paginate(PaginationConfig={"PageSize": 2}))
        assert [p[key] for p in pages] == [[]]
        with pytest.raises(ClientError) as exc:
            getattr(sm, method)(NextToken="not-a-token")
        assert exc.value.response["Error"]["Code"] == "ValidationException"
    for method, arg, op in (
        ("describe_training_job", "TrainingJobName", "DescribeTrainingJob"),
        ("describe_transform_job", "TransformJobName", "DescribeTransformJob"),
    ):
        with pytest.raises(ClientError) as exc:
            getattr(sm, method)(**{arg: "nope"})
        # SageMaker's answer (the model declares ResourceNotFound, the service does not
        # use it: https://github.com/aws/aws-sdk/issues/165)
        assert_modeled(exc, "sagemaker", op, "ValidationException")
        assert exc.value.response["Error"]["Message"] == "Requested resource not found."


def test_the_cost_inventory_reads_every_section_offline(tmp_path: Path) -> None:
    with Session.local(tmp_path / "ws", progress=False) as s:
        inventory = personakit.cost.running(s)
    assert inventory.notes == ()
    assert inventory.resources == ()
