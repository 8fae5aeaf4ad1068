"""Session.local: the embedded engine behind a Session, its workspace, and LLM handlers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from personakit.aws.session import Session
from personakit.errors import ConfigurationError, EndpointFailedError
from personakit.llm.endpoint import EndpointTiming, LLMEndpoint
from personakit.llm.jumpstart import JumpStartCatalog
from personakit.local import LocalEngine

FALCON = "huggingface-llm-falcon-7b-bf16"
MINILM = "huggingface-textembedding-all-MiniLM-L6-v2"
FAST = EndpointTiming(poll_s=0.01, max_poll_s=0.05, delete_timeout_s=30.0)

# the offline catalog says it uses the packaged snapshot: expected here
pytestmark = pytest.mark.filterwarnings("ignore::personakit.llm.jumpstart.JumpStartWarning")


@pytest.fixture(autouse=True)
def _no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERSONAKIT_SAGEMAKER_ROLE_ARN", raising=False)


@pytest.fixture
def catalog(tmp_path: Path) -> JumpStartCatalog:
    """JumpStart specs from the packaged snapshot: nothing reaches the network."""
    return JumpStartCatalog("us-east-1", offline=True, cache_dir=tmp_path / "jumpstart")


def _endpoints(session: Session) -> list[str]:
    sm = session.client("sagemaker")
    return [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]


def test_local_session_owns_an_engine_with_a_bucket_and_a_role(tmp_path: Path) -> None:
    with Session.local(tmp_path / "ws", region_name="eu-west-1", bucket="my-data") as session:
        assert isinstance(session.engine, LocalEngine)
        assert session.engine.path == (tmp_path / "ws").absolute()
        assert session.region == "eu-west-1"
        assert session.bucket == "my-data"
        assert session.role_arn == session.engine.role_arn
        s3 = session.client("s3")
        s3.head_bucket(Bucket="my-data")  # made by Session.local
        assert s3.get_bucket_location(Bucket="my-data")["LocationConstraint"] == "eu-west-1"
        personalize = session.client("personalize")
        assert personalize.meta.region_name == "eu-west-1"
        assert "workspace" in repr(session)
    assert session.closed
    with pytest.raises(RuntimeError, match="closed"):
        personalize.list_dataset_groups()
    session.close()  # idempotent


def test_a_second_session_on_the_same_path_reuses_the_bucket(tmp_path: Path) -> None:
    with Session.local(tmp_path, bucket="data") as first:
        first.client("s3").put_object(Bucket="data", Key="a.csv", Body=b"x")
    with Session.local(tmp_path, bucket="data") as second:
        body = second.client("s3").get_object(Bucket="data", Key="a.csv")["Body"].read()
    assert body == b"x"


def test_another_process_sees_the_same_resources(tmp_path: Path) -> None:
    with Session.local(tmp_path) as session:
        personalize = session.client("personalize")
        personalize.create_dataset_group(name="shared-group")
        script = (
            "import json, sys\n"
            "import personakit as pk\n"
            "with pk.Session.local(sys.argv[1]) as s:\n"
            "    groups = s.client('personalize').list_dataset_groups()['datasetGroups']\n"
            "    print(json.dumps([g['name'] for g in groups]))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["shared-group"]


def test_bad_settings_are_configuration_errors_and_leave_no_engine_running(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigurationError, match="bucket"):
        Session.local(tmp_path, bucket="s3://data/prefix")
    with pytest.raises(ConfigurationError, match="region"):
        Session.local(tmp_path, region_name="Europe")
    with Session.local(tmp_path) as session:  # the workspace is still usable
        assert session.client("s3").list_buckets()["Buckets"]


def test_sagemaker_role_precedence_on_a_local_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    explicit = "arn:aws:iam::000000000000:role/explicit"
    env = "arn:aws:iam::000000000000:role/from-env"
    with Session.local(tmp_path) as session:
        assert session.sagemaker_role_arn is None
    monkeypatch.setenv("PERSONAKIT_SAGEMAKER_ROLE_ARN", env)
    with Session.local(tmp_path) as session:
        assert session.sagemaker_role_arn == env
    with Session.local(tmp_path, sagemaker_role_arn=explicit) as session:
        assert session.sagemaker_role_arn == explicit


def test_llm_endpoint_answers_from_the_registered_handler_and_tears_down(
    tmp_path: Path, catalog: JumpStartCatalog
) -> None:
    prompts: list[str] = []

    def falcon(prompt: str, params: object) -> str:
        prompts.append(prompt)
        return "Amazon Personalize trains recommenders on your data."

    role = "arn:aws:iam::000000000000:role/sagemaker-exec"
    with Session.local(tmp_path, llm_handlers={FALCON: falcon}, sagemaker_role_arn=role) as session:
        with LLMEndpoint.deploy(session, FALCON, catalog=catalog, timing=FAST) as llm:
            answer = llm.generate("What is Amazon Personalize?", max_new_tokens=32)
            assert answer.text == "Amazon Personalize trains recommenders on your data."
            assert "".join(llm.stream("Again?")) == answer.text
            sm = session.client("sagemaker")
            model = sm.describe_model(ModelName=llm.model_names[0])
            assert model["ExecutionRoleArn"] == role  # the SageMaker role, not role_arn
            assert _endpoints(session) == [llm.name]
        assert prompts == ["What is Amazon Personalize?", "Again?"]
        assert _endpoints(session) == []
        assert session.client("sagemaker").list_models()["Models"] == []
        assert session.client("sagemaker").list_endpoint_configs()["EndpointConfigs"] == []


def test_without_a_handler_the_endpoint_fails_and_says_how_to_register_one(
    tmp_path: Path, catalog: JumpStartCatalog
) -> None:
    with Session.local(tmp_path) as session:
        with pytest.raises(EndpointFailedError) as info:
            LLMEndpoint.deploy(session, FALCON, catalog=catalog, timing=FAST)
        reason = str(info.value.failure_reason)
        assert f"no callable is registered for model '{FALCON}'" in reason
        assert "llm_handlers=" in reason
        assert "register_model(" in reason
        assert _endpoints(session) == []  # the failed deploy cleaned up
        assert session.client("sagemaker").list_models()["Models"] == []


def test_register_model_on_the_engine_serves_embeddings(
    tmp_path: Path, catalog: JumpStartCatalog
) -> None:
    with Session.local(tmp_path) as session:
        engine = session.engine
        assert isinstance(engine, LocalEngine)
        engine.register_model(MINILM, embed=lambda texts: [[float(len(t)), 0.5] for t in texts])
        with LLMEndpoint.deploy(
            session, MINILM, "ml.g4dn.xlarge", catalog=catalog, timing=FAST
        ) as llm:
            assert llm.embed(["ab", "abcd"]) == [[2.0, 0.5], [4.0, 0.5]]
        with pytest.raises(ValueError, match="generate=, embed= or raw="):
            engine.register_model(FALCON)


def test_llm_endpoints_on_a_local_session_poll_as_quickly_as_the_session(tmp_path: Path) -> None:
    with Session.local(tmp_path) as session:
        assert session.timing is not None
        timing = EndpointTiming.for_session(session)
        assert (timing.poll_s, timing.max_poll_s) == (
            session.timing.poll_s,
            session.timing.max_poll_s,
        )
    aws = Session.aws(region_name="us-east-1", clients={})
    assert EndpointTiming.for_session(aws).poll_s == 15.0  # SageMaker's pace on AWS
