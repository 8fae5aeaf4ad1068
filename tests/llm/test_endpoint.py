"""LLMEndpoint.deploy / attach / teardown against moto's SageMaker, and Stubber where moto
cannot fail (FailureReason, ResourceLimitExceeded, endpoints stuck in Creating)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from personakit.aws.session import Session
from personakit.errors import (
    BudgetExceededError,
    ConfigurationError,
    EndpointFailedError,
    EulaRequiredError,
    QuotaExceededError,
    TeardownError,
)
from personakit.llm.endpoint import LLMEndpoint
from personakit.llm.hosting import EndpointTiming
from personakit.llm.jumpstart import JumpStartCatalog
from personakit.rules.facts import EXPIRES_TAG

from .conftest import EMPTY, REGION, ROLE, RUN, ExitHooks, FakeTime, sagemaker_state

GEMMA = "huggingface-llm-gemma-2b-instruct"
FALCON = "huggingface-llm-falcon-7b-bf16"


def deploy(
    session: Session, catalog: JumpStartCatalog, timing: EndpointTiming, **kw: Any
) -> LLMEndpoint:
    kw.setdefault("accept_eula", True)
    return LLMEndpoint.deploy(
        session, kw.pop("model_id", GEMMA), catalog=catalog, timing=timing, **kw
    )


def tags_of(session: Session, arn: str) -> dict[str, str]:
    listed = session.client("sagemaker").list_tags(ResourceArn=arn)["Tags"]
    return {t["Key"]: t["Value"] for t in listed}


# ------------------------------------------------------------------ moto: the happy path


def test_deploy_creates_tagged_model_config_and_endpoint_and_exit_deletes_them(
    session: Session, catalog: JumpStartCatalog, timing: EndpointTiming
) -> None:
    sm = session.client("sagemaker")
    sent: list[dict[str, Any]] = []
    sm.meta.events.register(
        "provide-client-params.sagemaker.CreateModel", lambda params, **_: sent.append(params)
    )
    with deploy(session, catalog, timing, instance_type="ml.g5.12xlarge") as llm:
        assert llm.name.startswith("pk-hf-llm-gemma-2b-instruct-261129-120000-")
        assert sagemaker_state(session) == {
            "models": [llm.name],
            "configs": [llm.name],
            "endpoints": [llm.name],
        }
        model = sm.describe_model(ModelName=llm.name)
        container = model["PrimaryContainer"]
        assert container["Environment"]["SM_NUM_GPUS"] == "4"
        assert container["ModelDataSource"]["S3DataSource"]["ModelAccessConfig"] == {
            "AcceptEula": True
        }
        assert model["ExecutionRoleArn"] == ROLE
        assert sent[0]["EnableNetworkIsolation"] is True  # moto does not keep it
        (variant,) = sm.describe_endpoint_config(EndpointConfigName=llm.name)["ProductionVariants"]
        assert variant["InstanceType"] == "ml.g5.12xlarge"
        assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 1200
        endpoint = sm.describe_endpoint(EndpointName=llm.name)
        assert llm.status() == "InService"
        for arn in (
            model["ModelArn"],
            sm.describe_endpoint_config(EndpointConfigName=llm.name)["EndpointConfigArn"],
            endpoint["EndpointArn"],
        ):
            tags = tags_of(session, arn)
            assert tags["personakit:run"] == RUN
            assert tags["sagemaker-sdk:jumpstart-model-id"] == GEMMA
            assert tags["sagemaker-sdk:jumpstart-model-version"] == "1.1.0"
            assert EXPIRES_TAG not in tags
    assert sagemaker_state(session) == EMPTY
    assert llm.deleted
    assert llm.status() == "Deleted"
    llm.delete()  # idempotent


def test_max_lifetime_tags_everything_with_an_expiry(
    session: Session, catalog: JumpStartCatalog, timing: EndpointTiming
) -> None:
    with deploy(session, catalog, timing, max_lifetime=dt.timedelta(hours=2)) as llm:
        sm = session.client("sagemaker")
        arn = sm.describe_endpoint(EndpointName=llm.name)["EndpointArn"]
        model_arn = sm.describe_model(ModelName=llm.name)["ModelArn"]
        assert tags_of(session, arn)[EXPIRES_TAG] == "2026-11-29T14:00:00Z"
        assert tags_of(session, model_arn)[EXPIRES_TAG] == "2026-11-29T14:00:00Z"


def test_keep_leaves_the_endpoint_running_until_delete(
    session: Session, catalog: JumpStartCatalog, timing: EndpointTiming
) -> None:
    with deploy(session, catalog, timing, keep=True) as llm:
        pass
    assert sagemaker_state(session)["endpoints"] == [llm.name]
    llm.delete()
    llm.delete()
    assert sagemaker_state(session) == EMPTY


@pytest.mark.parametrize("error", [RuntimeError("bug in my loop"), KeyboardInterrupt()])
def test_an_exception_inside_the_block_still_tears_down(
    session: Session, catalog: JumpStartCatalog, timing: EndpointTiming, error: BaseException
) -> None:
    with pytest.raises(type(error)), deploy(session, catalog, timing):
        raise error
    assert sagemaker_state(session) == EMPTY


# ------------------------------------------------------------------ before anything is created


class Guard:
    def __init__(self, session: Session, refuse: bool) -> None:
        self.session = session
        self.refuse = refuse
        self.calls: list[tuple[str, int, str, dict[str, list[str]]]] = []

    def check_deploy(self, instance_type: str, count: int, region: str) -> None:
        self.calls.append((instance_type, count, region, sagemaker_state(self.session)))
        if self.refuse:
            raise BudgetExceededError("2 x ml.g5.2xlarge would cost $72.72 a day; budget is $50")


def test_the_guard_is_asked_before_anything_is_created_and_may_refuse(
    session: Session, catalog: JumpStartCatalog, timing: EndpointTiming
) -> None:
    guard = Guard(session, refuse=True)
    with pytest.raises(BudgetExceededError, match="budget"):
        deploy(session, catalog, timing, guard=guard, initial_instance_count=2)
    assert guard.calls == [("ml.g5.xlarge", 2, REGION, EMPTY)]
    assert sagemaker_state(session) == EMPTY
    allowing = Guard(session, refuse=False)
    with deploy(session, catalog, timing, guard=allowing):
        assert allowing.calls[0][3] == EMPTY


def test_a_gated_model_without_accept_eula_creates_nothing(
    session: Session, catalog: JumpStartCatalog, timing: EndpointTiming
) -> None:
    with pytest.raises(EulaRequiredError, match=r"gemmaTerms\.txt"):
        deploy(session, catalog, timing, accept_eula=False)
    assert sagemaker_state(session) == EMPTY


def test_an_existing_endpoint_name_is_refused_and_left_alone(
    session: Session, catalog: JumpStartCatalog, timing: EndpointTiming
) -> None:
    with deploy(session, catalog, timing, endpoint_name="team-llm", keep=True):
        with pytest.raises(ConfigurationError, match=r"LLMEndpoint\.attach"):
            deploy(session, catalog, timing, endpoint_name="team-llm")
        assert sagemaker_state(session)["endpoints"] == ["team-llm"]
    LLMEndpoint.attach(session, "team-llm", catalog=catalog, timing=timing).delete()
    assert sagemaker_state(session) == EMPTY


def test_no_role_anywhere_is_refused(
    catalog: JumpStartCatalog, timing: EndpointTiming, aws: None
) -> None:
    session = Session.aws(region_name=REGION, run_id=RUN)
    with pytest.raises(ConfigurationError, match=r"sagemaker\.amazonaws\.com"):
        deploy(session, catalog, timing)
    assert sagemaker_state(session) == EMPTY


# ------------------------------------------------------------------ moto: fault injection


def _inject(session: Session, operation: str, error: BaseException, fake_time: FakeTime) -> None:
    events = session.client("sagemaker").meta.events
    if operation == "wait":
        # The first DescribeEndpoint says Creating; Ctrl-C (or a bug) hits during the sleep.
        answered: list[bool] = []

        def creating(**_: Any) -> Any:
            if answered:
                return None
            answered.append(True)
            return (AWSResponse("https://x", 200, {}, None), {"EndpointStatus": "Creating"})

        events.register_first("before-call.sagemaker.DescribeEndpoint", creating)
        fake_time.fault = error
        return

    raised: list[bool] = []

    def fail(**_: Any) -> None:
        if not raised:  # once: teardown may call again
            raised.append(True)
            raise error

    events.register(f"after-call.sagemaker.{operation}", fail)


@pytest.mark.parametrize(
    "error", [RuntimeError("injected"), KeyboardInterrupt()], ids=["error", "ctrl-c"]
)
@pytest.mark.parametrize("step", ["CreateModel", "CreateEndpointConfig", "CreateEndpoint", "wait"])
def test_a_failure_at_any_deploy_step_leaves_nothing_behind(
    session: Session,
    catalog: JumpStartCatalog,
    timing: EndpointTiming,
    fake_time: FakeTime,
    step: str,
    error: BaseException,
) -> None:
    _inject(session, step, error, fake_time)
    with pytest.raises(type(error)):
        deploy(session, catalog, timing)
    assert sagemaker_state(session) == EMPTY


# ------------------------------------------------------------------ attach


def test_attach_reads_the_format_from_the_jumpstart_tags_and_keeps_by_default(
    session: Session, catalog: JumpStartCatalog, timing: EndpointTiming
) -> None:
    deployed = deploy(session, catalog, timing, model_id="openai-reasoning-gpt-oss-20b", keep=True)
    attached = LLMEndpoint.attach(session, deployed.name, catalog=catalog, timing=timing)
    assert attached.payload_format is not None
    assert attached.payload_format.name == "messages"
    assert attached.instance_type == deployed.instance_type
    assert attached.model_names == (deployed.name,)
    with attached:
        pass
    assert sagemaker_state(session)["endpoints"] == [deployed.name]
    attached.delete()
    assert sagemaker_state(session) == EMPTY


# ------------------------------------------------------------------ Stubber: what moto cannot do


@pytest.fixture
def stubbed(memory_catalog: JumpStartCatalog) -> Iterator[tuple[Session, Stubber]]:
    client = boto3.client("sagemaker", region_name=REGION)
    session = Session.aws(
        region_name=REGION, role_arn=ROLE, run_id=RUN, clients={"sagemaker": client}
    )
    with Stubber(client) as stubber:
        yield session, stubber
        stubber.assert_no_pending_responses()


def _not_found(stubber: Stubber, method: str, what: str) -> None:
    stubber.add_client_error(
        method, service_error_code="ValidationException", service_message=f"Could not find {what}."
    )


def _expect_creates(stubber: Stubber, name: str, *, endpoint_error: str | None = None) -> None:
    arn = f"arn:aws:sagemaker:{REGION}:123456789012"
    _not_found(stubber, "describe_endpoint", "endpoint")  # the name is free
    stubber.add_response(
        "create_model",
        {"ModelArn": f"{arn}:model/{name}"},
        {
            "ModelName": name,
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": ANY,
            "EnableNetworkIsolation": False,
            "Tags": ANY,
        },
    )
    stubber.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": f"{arn}:endpoint-config/{name}"},
        {"EndpointConfigName": name, "ProductionVariants": ANY, "Tags": ANY},
    )
    if endpoint_error:
        stubber.add_client_error(
            "create_endpoint",
            service_error_code="ResourceLimitExceeded",
            service_message=endpoint_error,
            expected_params={"EndpointName": name, "EndpointConfigName": name, "Tags": ANY},
        )
    else:
        stubber.add_response(
            "create_endpoint",
            {"EndpointArn": f"{arn}:endpoint/{name}"},
            {"EndpointName": name, "EndpointConfigName": name, "Tags": ANY},
        )


def _described(name: str, status: str, reason: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "EndpointName": name,
        "EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{name}",
        "EndpointStatus": status,
        "CreationTime": dt.datetime(2026, 11, 29),
        "LastModifiedTime": dt.datetime(2026, 11, 29),
    }
    if reason:
        response["FailureReason"] = reason
    return response


def _expect_config_and_model_deletion(stubber: Stubber, name: str) -> None:
    stubber.add_response("delete_endpoint_config", {}, {"EndpointConfigName": name})
    _not_found(stubber, "describe_endpoint_config", "endpoint configuration")
    stubber.add_response("delete_model", {}, {"ModelName": name})
    _not_found(stubber, "describe_model", "model")


QUOTA_MESSAGE = (
    "The account-level service limit 'ml.g5.2xlarge for endpoint usage' is 0 Instances, with "
    "current utilization of 0 Instances and a request delta of 1 Instances. Please use AWS "
    "Service Quotas to request an increase for this quota."
)


def test_resource_limit_exceeded_names_the_quota_and_other_instances_and_cleans_up(
    stubbed: tuple[Session, Stubber], memory_catalog: JumpStartCatalog, timing: EndpointTiming
) -> None:
    session, stubber = stubbed
    _expect_creates(stubber, "llm", endpoint_error=QUOTA_MESSAGE)
    _expect_config_and_model_deletion(stubber, "llm")
    with pytest.raises(QuotaExceededError) as info:
        deploy(session, memory_catalog, timing, model_id=FALCON, endpoint_name="llm")
    error = info.value
    assert error.quota == "SageMaker account quota 'ml.g5.2xlarge for endpoint usage'"
    assert "Service Quotas" in error.how_to_fix
    assert "ml.g5.4xlarge, ml.g5.8xlarge, ml.g5.16xlarge" in error.how_to_fix
    assert "ml.g5.2xlarge for endpoint usage" in str(error)
    assert error.operation == "CreateEndpoint"


def test_a_failed_endpoint_raises_its_failure_reason_and_everything_is_deleted(
    stubbed: tuple[Session, Stubber],
    memory_catalog: JumpStartCatalog,
    timing: EndpointTiming,
    fake_time: FakeTime,
) -> None:
    session, stubber = stubbed
    reason = (
        "The primary container for production variant AllTraffic did not pass the ping health "
        "check. Please check CloudWatch logs for this endpoint."
    )
    _expect_creates(stubber, "llm")
    stubber.add_response(
        "describe_endpoint", _described("llm", "Creating"), {"EndpointName": "llm"}
    )
    stubber.add_response(
        "describe_endpoint", _described("llm", "Failed", reason), {"EndpointName": "llm"}
    )
    stubber.add_response("delete_endpoint", {}, {"EndpointName": "llm"})
    _not_found(stubber, "describe_endpoint", "endpoint")
    _expect_config_and_model_deletion(stubber, "llm")
    with pytest.raises(EndpointFailedError) as info:
        deploy(session, memory_catalog, timing, model_id=FALCON, endpoint_name="llm")
    error = info.value
    assert error.failure_reason == reason
    assert error.status == "Failed"
    assert "ContainerStartupHealthCheckTimeoutInSeconds" in error.hint
    assert "/aws/sagemaker/Endpoints/llm" in str(error)
    assert fake_time.sleeps == [15.0]  # one poll interval, no real sleeping


def test_ctrl_c_while_creating_waits_until_sagemaker_lets_the_endpoint_be_deleted(
    stubbed: tuple[Session, Stubber],
    memory_catalog: JumpStartCatalog,
    timing: EndpointTiming,
    fake_time: FakeTime,
) -> None:
    session, stubber = stubbed
    _expect_creates(stubber, "llm")
    stubber.add_response(
        "describe_endpoint", _described("llm", "Creating"), {"EndpointName": "llm"}
    )
    # rollback: DeleteEndpoint is refused while Creating, so wait until it settles
    stubber.add_client_error(
        "delete_endpoint",
        service_error_code="ValidationException",
        service_message="Cannot update in-progress endpoint",
    )
    stubber.add_response(
        "describe_endpoint", _described("llm", "Creating"), {"EndpointName": "llm"}
    )
    stubber.add_response(
        "describe_endpoint", _described("llm", "Creating"), {"EndpointName": "llm"}
    )
    stubber.add_response(
        "describe_endpoint", _described("llm", "InService"), {"EndpointName": "llm"}
    )
    stubber.add_response("delete_endpoint", {}, {"EndpointName": "llm"})
    stubber.add_response(
        "describe_endpoint", _described("llm", "Deleting"), {"EndpointName": "llm"}
    )
    _not_found(stubber, "describe_endpoint", "endpoint")
    _expect_config_and_model_deletion(stubber, "llm")
    fake_time.fault = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        deploy(session, memory_catalog, timing, model_id=FALCON, endpoint_name="llm")


def test_a_failed_endpoint_deletion_keeps_config_and_model_and_says_what_is_left(
    stubbed: tuple[Session, Stubber], memory_catalog: JumpStartCatalog, timing: EndpointTiming
) -> None:
    session, stubber = stubbed
    llm = LLMEndpoint(
        session, "llm", config_name="llm", model_names=["llm"], payload_format="tgi", timing=timing
    )
    stubber.add_client_error(
        "delete_endpoint", service_error_code="AccessDeniedException", service_message="denied"
    )
    with pytest.raises(TeardownError) as info:
        llm.delete()
    assert info.value.leftovers == ("llm",)
    assert "denied" in str(info.value)
    assert not llm.deleted
    stubber.add_response("delete_endpoint", {}, {"EndpointName": "llm"})
    _not_found(stubber, "describe_endpoint", "endpoint")
    _expect_config_and_model_deletion(stubber, "llm")
    llm.delete()  # a retry finishes the job
    assert llm.deleted


# ------------------------------------------------------------------ teardown that fails


def _deny(session: Session, operation: str) -> Callable[[], None]:
    """AWS refuses ``operation`` until the returned function is called."""
    event = f"before-call.sagemaker.{operation}"

    def denied(**_: Any) -> Any:
        error = {"Code": "AccessDeniedException", "Message": f"not allowed to {operation}"}
        return (
            AWSResponse("https://x", 400, {}, None),
            {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}},
        )

    events = session.client("sagemaker").meta.events
    events.register_first(event, denied)
    return lambda: events.unregister(event, denied)


def test_a_failed_cleanup_is_attached_to_the_deploy_error_and_spares_nothing_else(
    session: Session, catalog: JumpStartCatalog, timing: EndpointTiming, fake_time: FakeTime
) -> None:
    _inject(session, "CreateEndpoint", RuntimeError("injected"), fake_time)
    _deny(session, "DeleteModel")
    with pytest.raises(RuntimeError, match="injected") as info:
        deploy(session, catalog, timing)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "could not clean up" in notes
    assert "not allowed to DeleteModel" in notes
    state = sagemaker_state(session)
    assert state["endpoints"] == []
    assert state["configs"] == []
    assert len(state["models"]) == 1  # the one AWS refused to delete, named in the note
    assert state["models"][0] in notes


def test_a_teardown_failure_inside_an_exception_keeps_the_original_error(
    session: Session, catalog: JumpStartCatalog, timing: EndpointTiming
) -> None:
    endpoints: list[LLMEndpoint] = []
    allow: list[Callable[[], None]] = []

    def buggy_block() -> None:
        with deploy(session, catalog, timing) as llm:
            endpoints.append(llm)
            allow.append(_deny(session, "DeleteEndpoint"))
            raise ValueError("my bug")

    with pytest.raises(ValueError, match="my bug") as info:
        buggy_block()
    (llm,) = endpoints
    assert f"could not delete {llm.name}" in "\n".join(info.value.__notes__)
    assert sagemaker_state(session)["endpoints"] == [llm.name]  # still there: and said so
    allow[0]()
    llm.delete()
    assert sagemaker_state(session) == EMPTY


def test_a_teardown_failure_after_a_clean_block_raises(
    session: Session, catalog: JumpStartCatalog, timing: EndpointTiming
) -> None:
    with pytest.raises(TeardownError) as info, deploy(session, catalog, timing) as llm:
        allow = _deny(session, "DeleteEndpoint")
    assert info.value.leftovers == (llm.name,)
    assert not llm.deleted
    allow()
    llm.delete()
    assert llm.deleted


# ------------------------------------------------------------------ attach without tags, display


def test_attach_to_an_endpoint_made_elsewhere_guesses_the_format_from_its_image(
    session: Session, catalog: JumpStartCatalog, timing: EndpointTiming
) -> None:
    sm = session.client("sagemaker")
    image = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4.0"
    sm.create_model(ModelName="theirs", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": image})
    sm.create_endpoint_config(
        EndpointConfigName="theirs",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "theirs",
                "InstanceType": "ml.g5.2xlarge",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName="theirs", EndpointConfigName="theirs")
    llm = LLMEndpoint.attach(session, "theirs", catalog=catalog, timing=timing)
    assert llm.payload_format is not None
    assert llm.payload_format.name == "tgi"
    assert llm.instance_type == "ml.g5.2xlarge"
    assert "theirs" in repr(llm)
    assert "<table>" in llm._repr_html_()
    with llm:
        pass
    assert sagemaker_state(session)["endpoints"] == ["theirs"]
    llm.delete()
    assert sagemaker_state(session) == EMPTY


def test_an_endpoint_never_deleted_is_deleted_at_exit_unless_kept(
    session: Session, catalog: JumpStartCatalog, timing: EndpointTiming, exit_hooks: ExitHooks
) -> None:
    kept = deploy(session, catalog, timing, keep=True)
    assert exit_hooks.hooks == []
    forgotten = deploy(session, catalog, timing)
    assert len(exit_hooks.hooks) == 1
    for hook in exit_hooks.hooks:  # the interpreter exits
        hook()
    assert sagemaker_state(session)["endpoints"] == [kept.name]
    assert forgotten.status() == "Deleted"
    kept.delete()
    assert sagemaker_state(session) == EMPTY


def test_delete_unregisters_the_exit_hook(
    session: Session, catalog: JumpStartCatalog, timing: EndpointTiming, exit_hooks: ExitHooks
) -> None:
    with deploy(session, catalog, timing):
        assert len(exit_hooks.hooks) == 1
    assert exit_hooks.hooks == []


def test_a_role_sagemaker_cannot_assume_gets_a_hint(
    stubbed: tuple[Session, Stubber], memory_catalog: JumpStartCatalog, timing: EndpointTiming
) -> None:
    session, stubber = stubbed
    _not_found(stubber, "describe_endpoint", "endpoint")
    stubber.add_client_error(
        "create_model",
        service_error_code="ValidationException",
        service_message=f"Could not assume role {ROLE}. Please ensure that the role exists and "
        "allows principal 'sagemaker.amazonaws.com' to assume the role.",
    )
    with pytest.raises(ClientError) as info:
        deploy(session, memory_catalog, timing, model_id=FALCON, endpoint_name="llm")
    assert "trust sagemaker.amazonaws.com" in "\n".join(info.value.__notes__)
