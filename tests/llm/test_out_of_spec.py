"""An instance type the JumpStart spec does not list: deployed as the SageMaker SDK does
(the family variant's image), with an OutOfSpecInstanceWarning; the guard prices it."""

from __future__ import annotations

import warnings

import pytest

from personakit.aws.session import Session
from personakit.cost import Catalog, CostGuard
from personakit.cost.guard import DeployCheck
from personakit.errors import BudgetExceededError, UnsupportedInstanceError
from personakit.llm import OutOfSpecInstanceWarning
from personakit.llm.endpoint import LLMEndpoint
from personakit.llm.hosting import EndpointTiming
from personakit.llm.jumpstart import JumpStartCatalog
from personakit.local.sagemaker import LocalModels

from .conftest import (
    EMPTY,
    REGION,
    load_spec,
    local_llm_session,
    sagemaker_state,
)

FALCON = "huggingface-llm-falcon-7b-bf16"
FALCON_SPEC = load_spec(f"{FALCON}@4.1.23")
G6_XLARGE_USD = 1.1267  # the packaged catalog's us-east-1 Hosting price of ml.g6.xlarge


class RecordingGuard:
    """A CostGuard that keeps what each check allowed."""

    def __init__(self, guard: CostGuard) -> None:
        self.guard = guard
        self.checks: list[DeployCheck] = []

    def check_deploy(self, instance_type: str, count: int, region: str) -> DeployCheck:
        check = self.guard.check_deploy(instance_type, count, region)
        self.checks.append(check)
        return check


@pytest.fixture
def local() -> Session:
    models = LocalModels(chunk_bytes=5)
    models.register(FALCON, generate=lambda prompt, params: f"You asked: {prompt}")
    return local_llm_session(models)


def _guard(session: Session, budget_usd: float) -> CostGuard:
    return CostGuard(session, budget_usd=budget_usd, catalog=Catalog.load(), count_running=False)


def _g6_image() -> str:
    variants = FALCON_SPEC["hosting_instance_type_variants"]
    alias = variants["variants"]["g6"]["regional_properties"]["image_uri"]
    return str(variants["regional_aliases"][REGION][alias[1:]])


def test_falcon_on_an_unlisted_g6_deploys_with_a_warning_and_the_g6_image(
    local: Session, offline: JumpStartCatalog, timing: EndpointTiming
) -> None:
    guard = RecordingGuard(_guard(local, 15_000))
    with pytest.warns(OutOfSpecInstanceWarning) as caught:
        endpoint = LLMEndpoint.deploy(
            local, FALCON, "ml.g6.xlarge", catalog=offline, timing=timing, guard=guard
        )
    message = str(caught[0].message)
    assert "ml.g6.xlarge is not in the spec's supported_inference_instance_types" in message
    assert "ml.g5.2xlarge, ml.g5.4xlarge, ml.g5.8xlarge, ml.g5.16xlarge" in message
    assert caught[0].filename == __file__  # points at the deploy call
    with endpoint as llm:
        assert llm.model is not None
        assert (llm.model.in_spec, llm.model.image_variant) == (False, "g6")
        sm = local.client("sagemaker")
        container = sm.describe_model(ModelName=llm.model_names[0])["PrimaryContainer"]
        assert container["Image"] == _g6_image()
        assert container["Environment"]["SM_NUM_GPUS"] == "1"  # no g6 override: the spec's
        config = sm.describe_endpoint_config(EndpointConfigName=llm.config_name)
        assert config["ProductionVariants"][0]["InstanceType"] == "ml.g6.xlarge"
        assert llm.generate("Hi").text == "You asked: Hi"
    assert sagemaker_state(local) == EMPTY
    # the guard priced the unlisted type like any other
    [check] = guard.checks
    assert (check.instance_type, check.count) == ("ml.g6.xlarge", 1)
    assert check.usd_per_hour == pytest.approx(G6_XLARGE_USD)
    assert check.usd_per_month == pytest.approx(G6_XLARGE_USD * 730)


def test_a_listed_type_deploys_without_the_warning(
    local: Session, offline: JumpStartCatalog, timing: EndpointTiming
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutOfSpecInstanceWarning)
        with LLMEndpoint.deploy(
            local, FALCON, "ml.g5.2xlarge", catalog=offline, timing=timing
        ) as llm:
            assert llm.model is not None
            assert (llm.model.in_spec, llm.model.image_variant) == (True, "g5")


def test_the_guard_refuses_an_unlisted_type_past_the_budget_before_anything_exists(
    local: Session, offline: JumpStartCatalog, timing: EndpointTiming
) -> None:
    # a month of ml.g6.xlarge: 1.1267 x 730 = $822.49 > $500
    with (
        pytest.warns(OutOfSpecInstanceWarning),
        pytest.raises(BudgetExceededError, match=r"1 x ml\.g6\.xlarge costs \$1\.13/h"),
    ):
        LLMEndpoint.deploy(
            local, FALCON, "ml.g6.xlarge", catalog=offline, timing=timing, guard=_guard(local, 500)
        )
    assert sagemaker_state(local) == EMPTY


def test_an_unlisted_type_without_an_image_is_refused_before_anything_exists(
    local: Session, offline: JumpStartCatalog, timing: EndpointTiming
) -> None:
    with pytest.raises(UnsupportedInstanceError, match=r"no image for ml\.m5\.xlarge"):
        LLMEndpoint.deploy(local, FALCON, "ml.m5.xlarge", catalog=offline, timing=timing)
    assert sagemaker_state(local) == EMPTY
