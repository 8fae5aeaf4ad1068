"""Fixtures of the LLM tests: real spec documents, a moto JumpStart bucket, fake time."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import boto3
import botocore.session
import pytest
from moto import mock_aws

from personakit.aws.session import Session
from personakit.llm.hosting import EndpointTiming
from personakit.llm.jumpstart import JumpStartCatalog, snapshot_manifest, snapshot_spec

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/personakit-sagemaker"
RUN = "test-run"
BUCKET = f"jumpstart-cache-prod-{REGION}"
FIXTURES = Path(__file__).parent / "fixtures"
NOW = "2026-11-29T12:00:00Z"


def load_spec(name: str) -> dict[str, Any]:
    """A real spec from ``fixtures/specs`` (``<model_id>@<version>``), or from the snapshot."""
    path = FIXTURES / "specs" / f"{name}.json"
    if path.exists():
        spec: dict[str, Any] = json.loads(path.read_text("utf-8"))
        return spec
    model_id, _, version = name.partition("@")
    entry = next(e for e in snapshot_manifest() if (e.model_id, e.version) == (model_id, version))
    return snapshot_spec(entry)


def spec_key(model_id: str, version: str) -> str:
    return f"community_models/{model_id}/specs_v{version}.json"


#: Everything the moto bucket serves: real specs plus the snapshot's CDK-based ones.
BUCKET_SPECS = [
    "huggingface-llm-gemma-2b-instruct@1.1.0",
    "meta-textgeneration-llama-3-1-70b@2.16.2",
    "openai-reasoning-gpt-oss-20b@3.38.0",
    "huggingface-spc-bert-base-cased@2.0.3",
    "huggingface-text2text-flan-t5-xxl-fp16@1.0.0",
    "huggingface-text2text-flan-t5-xxl-fp16@1.1.2",
    "huggingface-text2text-flan-t5-base@2.2.3",
    "pytorch-ic-mobilenet-v2@3.0.25",
    "huggingface-llm-falcon-7b-bf16@1.0.0",
    "huggingface-llm-falcon-7b-bf16@4.1.23",
    "huggingface-textgeneration-gpt2@1.5.0",
    "huggingface-sentencesimilarity-all-MiniLM-L6-v2@2.1.21",
    "huggingface-textembedding-all-MiniLM-L6-v2@1.0.0",
]


def bucket_manifest() -> list[dict[str, Any]]:
    """The real 3-entry manifest excerpt plus headers for the other specs served."""
    rows: list[dict[str, Any]] = json.loads((FIXTURES / "models_manifest.json").read_text("utf-8"))
    known = {(r["model_id"], r["version"]) for r in rows}
    for name in BUCKET_SPECS:
        model_id, _, version = name.partition("@")
        if (model_id, version) not in known:
            rows.append(
                {
                    "model_id": model_id,
                    "version": version,
                    "min_version": "2.189.0",
                    "spec_key": spec_key(model_id, version),
                }
            )
    return rows


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(var, raising=False)
    for var in (
        "REGION",
        "BUCKET",
        "PREFIX",
        "ROLE_ARN",
        "SAGEMAKER_ROLE_ARN",
        "KMS_KEY_ARN",
        "JUMPSTART_OFFLINE",
    ):
        monkeypatch.delenv(f"PERSONAKIT_{var}", raising=False)
    for var in (
        "CONTENT_BUCKET",
        "GATED_CONTENT_BUCKET",
        "MODEL_BUCKET",
        "SCRIPT_BUCKET",
        "MANIFEST_LOCAL_ROOT_DIR",
        "SPECS_LOCAL_ROOT_DIR",
    ):
        monkeypatch.delenv(f"AWS_JUMPSTART_{var}_OVERRIDE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("PERSONAKIT_CACHE_DIR", str(tmp_path / "user-cache"))


@attrs.define
class FakeTime:
    """A clock that moves only when someone sleeps; ``fault`` is raised by the next sleep."""

    now: float = 10_000.0
    sleeps: list[float] = attrs.field(factory=list)
    fault: BaseException | None = None

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        if self.fault is not None:
            exc, self.fault = self.fault, None
            raise exc
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def timing(fake_time: FakeTime) -> EndpointTiming:
    import datetime as dt

    fixed = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.timezone.utc)
    return EndpointTiming(sleep=fake_time.sleep, clock=fake_time.clock, now=lambda: fixed)


@attrs.define
class GetLog:
    """``GetObject`` calls on one s3 client: (key, IfNoneMatch sent, HTTP status)."""

    calls: list[tuple[str, str | None, int]] = attrs.field(factory=list)
    _sent: tuple[str, str | None] = ("", None)

    def hook(self, client: Any) -> None:
        def before(params: dict[str, Any], **_: Any) -> None:
            self._sent = (params["Key"], params.get("IfNoneMatch"))

        def after(http_response: Any, **_: Any) -> None:
            self.calls.append((*self._sent, http_response.status_code))

        client.meta.events.register("provide-client-params.s3.GetObject", before)
        client.meta.events.register("after-call.s3.GetObject", after)

    @property
    def downloads(self) -> list[str]:
        return [key for key, _, status in self.calls if status == 200]

    @property
    def not_modified(self) -> list[str]:
        return [key for key, _, status in self.calls if status == 304]


def put_bucket(s3: Any, manifest: list[dict[str, Any]] | None = None) -> None:
    """Fill the moto JumpStart bucket with the manifest and every served spec."""
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(
        Bucket=BUCKET, Key="models_manifest.json", Body=json.dumps(manifest or bucket_manifest())
    )
    for name in BUCKET_SPECS:
        model_id, _, version = name.partition("@")
        s3.put_object(
            Bucket=BUCKET, Key=spec_key(model_id, version), Body=json.dumps(load_spec(name))
        )


def _botocore_instance_types() -> frozenset[str]:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return frozenset(model.shape_for("ProductionVariantInstanceType").enum)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto for S3 and SageMaker.

    moto 5.2.5 validates ``InstanceType`` against a list that predates g5/g6; the
    real API takes every value of botocore's ``ProductionVariantInstanceType`` enum,
    so the fake validates against that instead.
    """
    from moto.sagemaker import models as sm_models
    from moto.sagemaker.exceptions import ValidationError

    allowed = _botocore_instance_types()

    def validate(self: Any, instance_type: str) -> None:
        if instance_type not in allowed:
            raise ValidationError(message=f"Value '{instance_type}' at 'instanceType' is invalid")

    monkeypatch.setattr(sm_models.FakeEndpointConfig, "validate_instance_type", validate)
    with mock_aws():
        yield


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3", region_name=REGION)
    put_bucket(client)
    return client


@pytest.fixture
def catalog(s3: Any, tmp_path: Path) -> JumpStartCatalog:
    return JumpStartCatalog(REGION, s3=s3, cache_dir=tmp_path / "cache")


@pytest.fixture
def session(aws: None) -> Session:
    return Session.aws(region_name=REGION, role_arn=ROLE, run_id=RUN)


def sagemaker_state(session: Session) -> dict[str, list[str]]:
    sm = session.client("sagemaker")
    return {
        "models": [m["ModelName"] for m in sm.list_models()["Models"]],
        "configs": [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]],
        "endpoints": [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]],
    }


EMPTY = {"models": [], "configs": [], "endpoints": []}


def patched(spec: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


class MemoryS3:
    """A read-only s3 client serving the JumpStart bucket's documents from memory."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {
            "models_manifest.json": json.dumps(bucket_manifest()).encode()
        }
        for name in BUCKET_SPECS:
            model_id, _, version = name.partition("@")
            self.objects[spec_key(model_id, version)] = json.dumps(load_spec(name)).encode()

    def get_object(self, *, Bucket: str, Key: str, IfNoneMatch: str | None = None) -> Any:
        import hashlib
        import io

        from botocore.exceptions import ClientError

        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": Key}}, "GetObject")
        data = self.objects[Key]
        etag = '"' + hashlib.md5(data).hexdigest() + '"'
        if IfNoneMatch == etag:
            raise ClientError(
                {
                    "Error": {"Code": "304", "Message": "Not Modified"},
                    "ResponseMetadata": {"HTTPStatusCode": 304},
                },
                "GetObject",
            )
        return {"Body": io.BytesIO(data), "ETag": etag}


@pytest.fixture
def memory_catalog(tmp_path: Path) -> JumpStartCatalog:
    return JumpStartCatalog(REGION, s3=MemoryS3(), cache_dir=tmp_path / "memory-cache")


@attrs.define
class ExitHooks:
    """Stands in for ``atexit`` in ``personakit.llm.endpoint``: nothing runs at real exit."""

    hooks: list[Any] = attrs.field(factory=list)

    def register(self, fn: Any) -> Any:
        self.hooks.append(fn)
        return fn

    def unregister(self, fn: Any) -> None:
        self.hooks[:] = [h for h in self.hooks if h != fn]


@pytest.fixture(autouse=True)
def exit_hooks(monkeypatch: pytest.MonkeyPatch) -> ExitHooks:
    from personakit.llm import endpoint

    hooks = ExitHooks()
    monkeypatch.setattr(endpoint, "atexit", hooks)
    return hooks


class _NoEngine:
    def client(self, service_name: str) -> Any:
        raise AssertionError(f"no {service_name} client expected")


def local_llm_session(models: Any) -> Session:
    """A session whose SageMaker clients are real boto3 clients answered by the local
    engine's SageMaker handlers over ``models`` (a ``LocalModels``); no other client."""
    from personakit.local.sagemaker import SageMakerRuntimeTwin, SageMakerTwin
    from personakit.local.wire import wire_client

    return Session(
        _NoEngine(),
        region=REGION,
        role_arn=ROLE,
        run_id=RUN,
        clients={
            "sagemaker": wire_client(
                SageMakerTwin(region_name=REGION, models=models), region=REGION
            ),
            "sagemaker-runtime": wire_client(
                SageMakerRuntimeTwin(region_name=REGION, models=models), region=REGION
            ),
        },
    )


@pytest.fixture
def offline(tmp_path: Path) -> JumpStartCatalog:
    """The JumpStart catalog offline: an empty bucket, the packaged snapshot behind it."""
    return JumpStartCatalog(REGION, s3=MemoryS3(), cache_dir=tmp_path)
