"""The engine's clients behave as boto3's against AWS: errors, constraints, paginators,
waiters, hooks, and a loud refusal of what the engine does not implement.

(They are boto3's own client classes: tests/local/test_wire.py.)
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from _twin_helpers import BUCKET, REGION, Clients, model
from botocore import xform_name
from botocore.exceptions import ClientError, OperationNotPageableError
from botocore.paginate import Paginator
from botocore.stub import Stubber

from personakit.local import LocalEngine

SERVICES = ("personalize", "personalize-runtime", "personalize-events", "s3")


def test_errors_are_client_errors_like_botocores(engine: LocalEngine) -> None:
    pz = engine.client("personalize")
    arn = "arn:aws:personalize:us-east-1:000000000000:dataset-group/nope"
    with pytest.raises(pz.exceptions.ResourceNotFoundException) as info:
        pz.describe_dataset_group(datasetGroupArn=arn)
    exc = info.value
    assert isinstance(exc, ClientError)
    assert exc.operation_name == "DescribeDatasetGroup"
    assert exc.response["Error"] == {
        "Code": "ResourceNotFoundException",
        "Message": f"Resource Arn {arn} does not exist.",
    }
    assert exc.response["message"] == f"Resource Arn {arn} does not exist."
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert str(exc) == (
        "An error occurred (ResourceNotFoundException) when calling the DescribeDatasetGroup "
        f"operation: Resource Arn {arn} does not exist."
    )
    real = boto3.client("personalize", region_name=REGION)
    assert sorted(dir(pz.exceptions)) == sorted(dir(real.exceptions))


def test_service_constraints_answer_validation_exception(engine: LocalEngine) -> None:
    pz = engine.client("personalize")
    with pytest.raises(ClientError) as info:
        pz.create_dataset_group(name="has spaces")
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert info.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'has spaces' at 'name' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9][a-zA-Z0-9\\-_]*"
    )
    with pytest.raises(ClientError, match="enum value set: \\[FULL, INCREMENTAL\\]"):
        pz.create_dataset_import_job(
            jobName="j",
            datasetArn="arn:aws:personalize:us-east-1:000000000000:dataset/g/INTERACTIONS",
            dataSource={"dataLocation": "s3://b/k.csv"},
            importMode="SOMETIMES",
        )


def test_unimplemented_operations_say_so(engine: LocalEngine) -> None:
    pz = engine.client("personalize")
    with pytest.raises(NotImplementedError, match="CreateDatasetExportJob"):
        pz.create_dataset_export_job(
            jobName="export",
            datasetArn="arn:aws:personalize:us-east-1:000000000000:dataset/g/INTERACTIONS",
            roleArn="arn:aws:iam::000000000000:role/r",
            jobOutput={"s3DataDestination": {"path": "s3://b/out/"}},
        )
    with pytest.raises(ValueError, match="the local engine has no 'pricing'"):
        engine.client("pricing")


def test_paginators_are_botocores_and_honour_max_results(clients: Clients) -> None:
    pz = clients.engine.client("personalize")
    real = boto3.client("personalize", region_name=REGION)
    for op in model("personalize").operation_names:
        name = xform_name(op)
        assert pz.can_paginate(name) == real.can_paginate(name), name
    names = [f"group-{i:02d}" for i in range(7)]
    for name in names:
        pz.create_dataset_group(name=name)
    paginator = pz.get_paginator("list_dataset_groups")
    assert isinstance(paginator, Paginator)
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 3}))
    assert [len(p["datasetGroups"]) for p in pages] == [3, 3, 1]
    listed = [g["name"] for p in pages for g in p["datasetGroups"]]
    assert sorted(listed) == names
    full = paginator.paginate(PaginationConfig={"MaxItems": 5}).build_full_result()
    assert len(full["datasetGroups"]) == 5
    first = pz.list_dataset_groups(maxResults=4)
    second = pz.list_dataset_groups(maxResults=4, nextToken=first["nextToken"])
    assert "nextToken" not in second
    assert {g["name"] for g in first["datasetGroups"] + second["datasetGroups"]} == set(names)
    with pytest.raises(pz.exceptions.InvalidNextTokenException):
        pz.list_dataset_groups(nextToken="garbage")
    with pytest.raises(pz.exceptions.InvalidNextTokenException):
        pz.list_schemas(nextToken=first["nextToken"])  # a token of another listing
    with pytest.raises(OperationNotPageableError):
        pz.get_paginator("describe_dataset_group")


def test_waiters_like_boto3(clients: Clients) -> None:
    pz = clients.engine.client("personalize")
    with pytest.raises(ValueError, match="Waiter does not exist: campaign_active"):
        pz.get_waiter("campaign_active")
    s3 = clients.engine.client("s3")
    s3.get_waiter("bucket_exists").wait(Bucket=BUCKET, WaiterConfig={"Delay": 0})
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"x")
    s3.get_waiter("object_exists").wait(Bucket=BUCKET, Key="k", WaiterConfig={"Delay": 0})
    s3.delete_object(Bucket=BUCKET, Key="k")
    s3.get_waiter("object_not_exists").wait(Bucket=BUCKET, Key="k", WaiterConfig={"Delay": 0})


def test_event_hooks_and_stubber_work_on_a_twin(engine: LocalEngine) -> None:
    pz = engine.client("personalize")
    seen: list[tuple[str, Any]] = []
    pz.meta.events.register(
        "before-parameter-build.personalize.*",
        lambda params, model, **_: seen.append(("before", model.name)),
    )
    pz.meta.events.register(
        "after-call.personalize.*",
        lambda parsed, model, **_: seen.append(
            ("after", (model.name, parsed.get("Error", {}).get("Code")))
        ),
    )
    pz.list_schemas()
    with pytest.raises(ClientError):
        pz.describe_schema(schemaArn="arn:aws:personalize:us-east-1:000000000000:schema/x")
    assert seen == [
        ("before", "ListSchemas"),
        ("after", ("ListSchemas", None)),
        ("before", "DescribeSchema"),
        ("after", ("DescribeSchema", "ResourceNotFoundException")),
    ]
    with Stubber(pz) as stubber:
        stubber.add_response("list_schemas", {"schemas": []}, {"maxResults": 5})
        assert pz.list_schemas(maxResults=5)["schemas"] == []
        stubber.assert_no_pending_responses()


def test_closed_engine_refuses_calls(tmp_path: Any) -> None:
    engine = LocalEngine(tmp_path / "ws")
    pz = engine.client("personalize")
    engine.close()
    engine.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        pz.list_schemas()
    with pytest.raises(RuntimeError, match="closed"):
        engine.client("s3")
    with pytest.raises(ValueError, match="region"):
        LocalEngine(tmp_path / "other", region="moon")
