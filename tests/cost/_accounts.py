"""Helpers of the inventory, sweep and CLI tests: a crashed run on the local engine,
SageMaker endpoints in moto."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import boto3
import numpy as np
import pandas as pd
from moto import mock_aws

from _local import FAST
from personakit.aws.session import Session
from personakit.personalize.group import DatasetGroup
from personakit.rules.facts import EXPIRES_TAG, RUN_TAG

REGION = "us-east-1"
ROLE = "arn:aws:iam::000000000000:role/pk"
SM_ROLE = "arn:aws:iam::123456789012:role/personakit-sagemaker"
BUCKET = "pk-local"


def interactions(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 1200
    return pd.DataFrame(
        {
            "USER_ID": [f"u{u}" for u in rng.integers(0, 60, n)],
            "ITEM_ID": [f"i{i}" for i in rng.integers(0, 80, n)],
            "TIMESTAMP": (1_700_000_000 + np.sort(rng.integers(0, 86_400 * 30, n))).astype("int64"),
            "EVENT_TYPE": rng.choice(["click", "watch"], n),
        }
    ).drop_duplicates()


def session(engine: Any, run_id: str, clients: Mapping[str, Any] | None = None) -> Session:
    """A session on the local engine (and moto clients for what the engine lacks)."""
    engine.ensure_bucket(BUCKET)
    return Session(
        engine,
        region=REGION,
        bucket=BUCKET,
        role_arn=ROLE,
        run_id=run_id,
        clients=clients,
        timing=FAST,
    )


def crash_a_run(session: Session, name: str = "movies", min_tps: int = 2) -> dict[str, str]:
    """Build a group, a trained solution, a campaign and a filter; never tear them down."""
    group = DatasetGroup.create(session, name, timing=FAST)
    group.import_frame(interactions())
    group.filter_arn('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")')
    solution = group.train("popularity-count")
    campaign = solution.deploy(min_tps=min_tps)
    return {"group": group.arn, "solution": solution.arn, "campaign": campaign.arn}


def personalize_lists(personalize: Any) -> dict[str, list[Any]]:
    """Every Personalize List* of the account, the empty ones left out."""
    found = {
        "datasetGroups": personalize.list_dataset_groups()["datasetGroups"],
        "schemas": personalize.list_schemas()["schemas"],
        "solutions": personalize.list_solutions()["solutions"],
        "campaigns": personalize.list_campaigns()["campaigns"],
        "datasets": personalize.list_datasets()["datasets"],
        "filters": personalize.list_filters()["Filters"],
    }
    return {key: value for key, value in found.items() if value}


@contextmanager
def moto_clients() -> Iterator[dict[str, Any]]:
    """moto ``sagemaker`` and ``cloudwatch`` clients."""
    with mock_aws():
        yield {
            "sagemaker": boto3.client("sagemaker", region_name=REGION),
            "cloudwatch": boto3.client("cloudwatch", region_name=REGION),
        }


def make_endpoint(
    sm: Any,
    name: str,
    *,
    run_id: str | None = None,
    expires: dt.datetime | None = None,
    instance_type: str = "ml.g4dn.xlarge",
    count: int = 1,
) -> str:
    """A model, a config and an endpoint named ``name`` (tagged as LLMEndpoint tags them)."""
    tags = []
    if run_id is not None:
        tags.append({"Key": RUN_TAG, "Value": run_id})
    if expires is not None:
        tags.append({"Key": EXPIRES_TAG, "Value": expires.strftime("%Y-%m-%dT%H:%M:%SZ")})
    extra: dict[str, Any] = {"Tags": tags} if tags else {}
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=SM_ROLE,
        PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/tgi:latest"},
        **extra,
    )
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InstanceType": instance_type,
                "InitialInstanceCount": count,
            }
        ],
        **extra,
    )
    arn: str = sm.create_endpoint(EndpointName=name, EndpointConfigName=name, **extra)[
        "EndpointArn"
    ]
    return arn


def sagemaker_names(sm: Any) -> dict[str, set[str]]:
    return {
        "endpoints": {e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]},
        "configs": {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]},
        "models": {m["ModelName"] for m in sm.list_models()["Models"]},
    }


__all__ = [
    "FAST",
    "SM_ROLE",
    "crash_a_run",
    "make_endpoint",
    "moto_clients",
    "personalize_lists",
    "sagemaker_names",
    "session",
]
