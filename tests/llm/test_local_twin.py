"""The local-engine twins: LLMEndpoint deploys, invokes and tears down with no AWS at all."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from personakit.aws.session import Session
from personakit.llm.endpoint import LLMEndpoint
from personakit.llm.formats import ModelResponseError
from personakit.llm.hosting import EndpointTiming
from personakit.llm.jumpstart import JumpStartCatalog
from personakit.local.sagemaker import LocalModels, SageMakerTwin
from personakit.local.wire import wire_client

from .conftest import EMPTY, REGION, ROLE, local_llm_session, sagemaker_state

FALCON = "huggingface-llm-falcon-7b-bf16"
MINILM = "huggingface-textembedding-all-MiniLM-L6-v2"


@pytest.fixture
def models() -> LocalModels:
    registry = LocalModels(chunk_bytes=5)
    registry.register(FALCON, generate=lambda prompt, params: f"You asked: {prompt}")
    registry.register(MINILM, embed=lambda texts: [[float(len(t)), 1.0] for t in texts])
    return registry


@pytest.fixture
def local(models: LocalModels) -> Session:
    return local_llm_session(models)


def test_deploy_generate_stream_and_teardown_run_on_the_twins(
    local: Session, offline: JumpStartCatalog, timing: EndpointTiming
) -> None:
    with LLMEndpoint.deploy(local, FALCON, catalog=offline, timing=timing) as llm:
        assert llm.status() == "InService"
        answer = llm.generate("What is Personalize?", max_new_tokens=16)
        assert answer.text == "You asked: What is Personalize?"
        assert answer.generated_tokens == 5
        assert "".join(llm.stream("Hello there")) == "You asked: Hello there"
        chat = llm.generate([{"role": "user", "content": "Hi"}])
        assert chat.text == "You asked: Hi"
        assert chat.prompt_tokens == 1
    assert sagemaker_state(local) == EMPTY


def test_the_twin_walks_creating_then_in_service(
    local: Session, offline: JumpStartCatalog, timing: EndpointTiming
) -> None:
    sm = local.client("sagemaker")
    seen: list[str] = []
    sm.meta.events.register(
        "after-call.sagemaker.DescribeEndpoint",
        lambda parsed, **_: seen.append(parsed.get("EndpointStatus", "gone")),
    )
    with LLMEndpoint.deploy(local, FALCON, catalog=offline, timing=timing):
        assert seen == ["Creating", "InService"]


def test_embeddings_on_the_twins(
    local: Session, offline: JumpStartCatalog, timing: EndpointTiming
) -> None:
    with LLMEndpoint.deploy(local, MINILM, "ml.g4dn.xlarge", catalog=offline, timing=timing) as llm:
        assert llm.embed(["ab", "abcd", "x"], batch_size=2) == [[2.0, 1.0], [4.0, 1.0], [1.0, 1.0]]


def test_a_failing_callable_is_a_model_error(
    models: LocalModels, local: Session, offline: JumpStartCatalog, timing: EndpointTiming
) -> None:
    def broken(prompt: str, params: Any) -> str:
        raise RuntimeError("CUDA out of memory")

    models.register(FALCON, generate=broken)
    with LLMEndpoint.deploy(local, FALCON, catalog=offline, timing=timing) as llm:
        failure = pytest.raises(ModelResponseError, match="CUDA out of memory")
        with failure:
            llm.generate("x")


def test_twins_validate_requests_and_answer_sagemakers_errors(models: LocalModels) -> None:
    sm = wire_client(SageMakerTwin(region_name=REGION, models=models), region=REGION)
    with pytest.raises(ParamValidationError):
        sm.create_model(ExecutionRoleArn=ROLE)  # no ModelName
    with pytest.raises(ClientError) as info:
        sm.describe_endpoint(EndpointName="nope")
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert "Could not find endpoint" in info.value.response["Error"]["Message"]
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "i"})
    sm.create_endpoint_config(
        EndpointConfigName="c",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "m",
                "InstanceType": "ml.g5.2xlarge",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName="e", EndpointConfigName="c")
    with pytest.raises(ClientError, match="in-progress"):
        sm.delete_endpoint(EndpointName="e")  # still Creating, as on SageMaker
