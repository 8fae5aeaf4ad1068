"""Price List elements for the cost tests, built on real GetProducts elements.

No verbatim ``AmazonSageMaker`` element exists in public sources (fixtures README),
so SageMaker rows are the real EC2 element's envelope (``product``, ``serviceCode``,
``terms.OnDemand.<sku>.<offer>.priceDimensions.<rate>``, ``version``,
``publicationDate``) with the SageMaker product attributes listed in
shared/reference/jumpstart.md §3.2 and the price, unit and description swapped in.
Every element is returned as the JSON *string* the API sends.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_text(name: str) -> str:
    """The exact text of a fixture element (a PriceList string entry)."""
    return (FIXTURES / name).read_text(encoding="utf-8").strip()


EBS_PIOPS = fixture_text("botocore-example_AmazonEC2_ebs-piops_ca-central-1.json")
EC2_ZERO = fixture_text(
    "ec2-sample_AmazonEC2_t3.micro_windows_dedicated-allocated-reservation_sa-east-1.json"
)
EC2_UNUSED = fixture_text(
    "ec2-sample_AmazonEC2_t3.micro_windows_dedicated-unused-reservation_eu-west-2.json"
)
SDK_DICT = fixture_text("sdk-unit-test_get_instance_rate_per_hour_dict-element.json")
SDK_STRING = fixture_text("sdk-unit-test_get_instance_rate_per_hour_string-element.json")

_USAGE_PREFIX = {"us-east-1": "USE1", "us-east-2": "USE2", "eu-west-1": "EU"}
_LOCATION = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "eu-west-1": "EU (Ireland)",
}
_KIND_USAGE = {"Hosting": "Host", "Training": "Train", "Notebook": "Notebk"}


def sagemaker_element(
    instance: str,
    usd: str,
    *,
    region: str = "us-east-1",
    kind: str = "Hosting",
    unit: str = "Hrs",
    location_type: str = "AWS Region",
    sku: str = "TESTSKU0000000001",
    vcpu: str | None = None,
    memory: str | None = None,
    gpu: str | None = None,
    gpu_memory: str | None = None,
    term: str = "OnDemand",
) -> str:
    """A SageMaker ``PriceList`` string on the real EC2 envelope."""
    element: dict[str, Any] = copy.deepcopy(json.loads(EC2_UNUSED))
    prefix = _USAGE_PREFIX.get(region, "XX")
    location = _LOCATION.get(region, region)
    usage = f"{prefix}-{_KIND_USAGE.get(kind, kind)}:{instance}"
    attributes: dict[str, Any] = {
        "servicecode": "AmazonSageMaker",
        "servicename": "Amazon SageMaker",
        "instanceName": instance,
        "instanceType": f"{instance}-{kind}",
        "component": kind,
        "platoinstancetype": kind,
        "regionCode": region,
        "location": location,
        "locationType": location_type,
        "usagetype": usage,
        "operation": "RunInstance",
        "currentGeneration": "Yes",
    }
    for key, value in (
        ("vCpu", vcpu),
        ("memory", memory),
        ("gpu", gpu),
        ("gpuMemory", gpu_memory),
    ):
        if value is not None:
            attributes[key] = value
    element["product"] = {"productFamily": "ML Instance", "attributes": attributes, "sku": sku}
    element["serviceCode"] = "AmazonSageMaker"
    one_price(
        element,
        sku,
        term=term,
        unit=unit,
        description=f"${float(usd):g} per {kind} {instance} hour in {location}",
        pricePerUnit={"USD": usd},
    )
    return json.dumps(element)


def one_price(
    element: dict[str, Any], sku: str, *, term: str = "OnDemand", **dimension: Any
) -> None:
    """Give ``element`` (a real element, parsed) one term of one price dimension for
    ``sku``: the real term and dimension with ``dimension``'s fields replaced."""
    (old_term,) = element["terms"]["OnDemand"].values()
    (old_dim,) = old_term["priceDimensions"].values()
    offer = old_term["offerTermCode"]
    rate = f"{sku}.{offer}.6YS6EN2CT7"
    new_dim = dict(old_dim, rateCode=rate, **dimension)
    new_term = dict(old_term, sku=sku, priceDimensions={rate: new_dim})
    element["terms"] = {term: {f"{sku}.{offer}": new_term}}


def page(elements: list[str], token: str | None = None) -> dict[str, Any]:
    """A ``GetProducts`` response page."""
    response: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": elements}
    if token:
        response["NextToken"] = token
    return response
