"""Session: settings precedence, the client factory, tags, S3 URIs, IAM policies, check_access.

AWS is faked with moto (S3, IAM, STS, KMS) and botocore's Stubber; fake
credentials come from the environment and nothing reaches the network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.stub import Stubber
from moto import mock_aws

import personakit.aws.iam as pki
from personakit._version import __version__
from personakit.aws.access import AccessReport
from personakit.aws.clients import (
    SERVICES,
    Boto3Provider,
    ClientProvider,
    merge_config,
    pricing_region,
)
from personakit.aws.session import Session
from personakit.errors import ConfigurationError
from personakit.rules.facts import RUN_TAG

ACCOUNT = "123456789012"  # moto's account
REGION = "eu-west-1"
BUCKET = "pk-data"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/personakit"
UA = f"personakit/{__version__}"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Fake credentials, no region, no profile, no PERSONAKIT_* settings, no IMDS."""
    for var in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_RETRY_MODE",
        "AWS_MAX_ATTEMPTS",
        "PERSONAKIT_REGION",
        "PERSONAKIT_BUCKET",
        "PERSONAKIT_PREFIX",
        "PERSONAKIT_ROLE_ARN",
        "PERSONAKIT_KMS_KEY_ARN",
        "PERSONAKIT_SAGEMAKER_ROLE_ARN",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing-token")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


# --------------------------------------------------------------------------- precedence


@pytest.mark.parametrize(
    ("argument", "env", "default", "expected"),
    [
        ("eu-west-1", "us-west-2", "ap-south-1", "eu-west-1"),
        (None, "us-west-2", "ap-south-1", "us-west-2"),
        (None, None, "ap-south-1", "ap-south-1"),
    ],
)
def test_region_precedence_argument_env_default(
    monkeypatch: pytest.MonkeyPatch,
    argument: str | None,
    env: str | None,
    default: str,
    expected: str,
) -> None:
    if env:
        monkeypatch.setenv("PERSONAKIT_REGION", env)
    monkeypatch.setenv("AWS_DEFAULT_REGION", default)
    session = Session.aws(region_name=argument)
    assert session.region == expected
    assert session.client("personalize").meta.region_name == expected


def test_region_from_a_given_boto3_session() -> None:
    session = Session.aws(boto3.Session(region_name="ca-central-1"))
    assert session.region == "ca-central-1"
    assert session.client("s3").meta.region_name == "ca-central-1"


def test_region_falls_back_to_aws_region_and_then_to_given_clients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-2")
    assert Session.aws().region == "us-east-2"
    monkeypatch.delenv("AWS_REGION")
    client = boto3.client("personalize", region_name="ap-northeast-1")
    assert Session.aws(clients={"personalize": client}).region == "ap-northeast-1"


def test_missing_region_says_how_to_set_it() -> None:
    with pytest.raises(ConfigurationError) as info:
        Session.aws()
    text = str(info.value)
    for hint in ("region_name=", "PERSONAKIT_REGION", "AWS_DEFAULT_REGION", "~/.aws/config"):
        assert hint in text
    assert "eu-west-1" in text  # lists where Personalize runs


def test_region_argument_contradicting_config_region_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match="contradicts"):
        Session.aws(region_name="eu-west-1", config=Config(region_name="us-east-1"))
    assert Session.aws(config=Config(region_name="us-east-1")).region == "us-east-1"


SETTINGS = [
    # (argument, env var, argument value, env value, attribute, expected default)
    ("bucket", "PERSONAKIT_BUCKET", "arg-bucket", "env-bucket", "bucket", None),
    ("prefix", "PERSONAKIT_PREFIX", "arg/", "env/", "prefix", "personakit/"),
    (
        "role_arn",
        "PERSONAKIT_ROLE_ARN",
        f"arn:aws:iam::{ACCOUNT}:role/arg",
        f"arn:aws:iam::{ACCOUNT}:role/env",
        "role_arn",
        None,
    ),
    (
        "sagemaker_role_arn",
        "PERSONAKIT_SAGEMAKER_ROLE_ARN",
        f"arn:aws:iam::{ACCOUNT}:role/sm-arg",
        f"arn:aws:iam::{ACCOUNT}:role/sm-env",
        "sagemaker_role_arn",
        None,
    ),
    (
        "kms_key_arn",
        "PERSONAKIT_KMS_KEY_ARN",
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/arg",
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/env",
        "kms_key_arn",
        None,
    ),
]


@pytest.mark.parametrize(("arg", "env", "arg_value", "env_value", "attr", "default"), SETTINGS)
def test_setting_precedence_argument_env_default(
    monkeypatch: pytest.MonkeyPatch,
    arg: str,
    env: str,
    arg_value: str,
    env_value: str,
    attr: str,
    default: str | None,
) -> None:
    assert getattr(Session.aws(region_name=REGION), attr) == default
    monkeypatch.setenv(env, env_value)
    assert getattr(Session.aws(region_name=REGION), attr) == env_value
    assert getattr(Session.aws(region_name=REGION, **{arg: arg_value}), attr) == arg_value


def test_prefix_is_normalised_and_may_be_the_bucket_root(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Session.aws(region_name=REGION, prefix="/runs/a").prefix == "runs/a/"
    assert Session.aws(region_name=REGION, prefix="").prefix == ""
    monkeypatch.setenv("PERSONAKIT_PREFIX", "")  # empty env var = unset
    assert Session.aws(region_name=REGION).prefix == "personakit/"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bucket": "s3://my-bucket/some/path"}, "bucket='my-bucket', prefix='some/path'"),
        ({"role_arn": "personakit-role"}, "not an IAM role ARN"),
        ({"kms_key_arn": "alias/my-key"}, "no aliases"),
        ({"run_id": "has spaces"}, "run_id"),
        ({"tags": {"aws:owner": "me"}}, "reserved by AWS"),
        ({"tags": {RUN_TAG: "x"}}, "run_id="),
    ],
)
def test_malformed_settings_are_configuration_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        Session.aws(region_name=REGION, **kwargs)


# --------------------------------------------------------------------------- client factory


def test_user_agent_appended_and_caller_config_kept() -> None:
    caller = Config(
        connect_timeout=7,
        read_timeout=21,
        retries={"mode": "adaptive", "max_attempts": 9},
        user_agent_extra="myapp/1.0",
    )
    session = Session.aws(region_name=REGION, config=caller)
    config = session.client("personalize").meta.config
    assert config.user_agent_extra == f"myapp/1.0 {UA}"
    assert config.connect_timeout == 7
    assert config.read_timeout == 21
    assert config.retries["mode"] == "adaptive"
    assert config.retries["total_max_attempts"] == 10  # max_attempts counts retries
    assert caller.user_agent_extra == "myapp/1.0"  # the caller's object is not mutated


SELF_RETRIED = ("personalize", "personalize-events", "sagemaker", "pricing", "cloudwatch")
BOTOCORE_RETRIED = ("personalize-runtime", "sagemaker-runtime", "s3", "iam", "sts", "kms")


def test_every_service_is_retried_by_exactly_one_layer() -> None:
    """A service in both lists would multiply attempts (8 x 3); in neither, get none."""
    import personakit.aws.clients as pks

    assert set(SELF_RETRIED) == pks.SELF_RETRIED
    assert set(SELF_RETRIED) | set(BOTOCORE_RETRIED) == set(SERVICES)
    assert not set(SELF_RETRIED) & set(BOTOCORE_RETRIED)


@pytest.mark.parametrize("service", SELF_RETRIED)
def test_clients_personakit_retries_itself_make_one_botocore_attempt(service: str) -> None:
    config = Session.aws(region_name=REGION).client(service).meta.config  # type: ignore[call-overload]
    assert config.user_agent_extra == UA
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}


@pytest.mark.parametrize("service", BOTOCORE_RETRIED)
def test_other_clients_keep_botocores_standard_three_attempts(service: str) -> None:
    config = Session.aws(region_name=REGION).client(service).meta.config  # type: ignore[call-overload]
    assert config.user_agent_extra == UA
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}


def test_a_quota_error_reaches_personakit_after_one_call() -> None:
    """botocore's standard mode retries LimitExceededException as throttling; not here."""
    personalize = Session.aws(region_name=REGION).client("personalize")
    calls: list[str] = []
    personalize.meta.events.register(
        "before-send.personalize.CreateSolution", lambda **_: calls.append("sent")
    )

    def quota(**_: Any) -> AWSResponse:
        body = b'{"__type": "LimitExceededException", "message": "More than 5 resources"}'
        return AWSResponse("https://personalize", 400, {}, _Raw(body))

    personalize.meta.events.register("before-send.personalize.CreateSolution", quota)
    with pytest.raises(personalize.exceptions.LimitExceededException):
        personalize.create_solution(
            name="s", datasetGroupArn=f"arn:aws:personalize:{REGION}:{ACCOUNT}:dataset-group/g"
        )
    assert calls == ["sent"]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@pytest.mark.parametrize("service", ["personalize", "s3"])
def test_the_callers_retries_win_for_every_client(service: str) -> None:
    caller = Config(retries={"mode": "legacy", "total_max_attempts": 5})
    session = Session.aws(region_name=REGION, config=caller)
    config = session.client(service).meta.config  # type: ignore[call-overload]
    assert config.retries == {"mode": "legacy", "total_max_attempts": 5}


@pytest.mark.parametrize("service", ["personalize", "s3"])
def test_retry_settings_from_the_environment_are_not_overridden(
    monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "7")
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    config = Session.aws(region_name=REGION).client(service).meta.config  # type: ignore[call-overload]
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 7}


def test_an_aws_session_closes_as_a_no_op() -> None:
    with Session.aws(region_name=REGION) as session:
        client = session.client("personalize")
    assert session.closed
    assert session.client("personalize") is client  # clients still work


def test_merge_config_does_not_repeat_the_user_agent() -> None:
    twice = merge_config(merge_config(Config(user_agent_extra="app/2")))
    assert twice.user_agent_extra == f"app/2 {UA}"


def test_clients_are_cached_per_service() -> None:
    session = Session.aws(region_name=REGION)
    assert session.client("personalize") is session.client("personalize")
    assert session.client("personalize") is not session.client("personalize-runtime")


def test_given_clients_are_used_as_given() -> None:
    mine = boto3.client("personalize", region_name=REGION, config=Config(connect_timeout=3))
    session = Session.aws(region_name=REGION, clients={"personalize": mine})
    assert session.client("personalize") is mine
    assert mine.meta.config.user_agent_extra is None  # no merge into a ready client
    assert session.client("s3") is not mine


class CountingProvider:
    """A stand-in engine, as Session.local will plug in."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def client(self, service_name: str) -> Any:
        self.calls.append(service_name)
        return object()


def test_any_engine_provides_clients_and_the_session_caches_them() -> None:
    engine = CountingProvider()
    assert isinstance(engine, ClientProvider)
    session = Session(engine, region=REGION)
    first = session.client("sagemaker")
    assert session.client("sagemaker") is first
    assert engine.calls == ["sagemaker"]
    assert "engine='fake'" in repr(session)


def test_unknown_services_are_refused() -> None:
    session = Session(CountingProvider(), region=REGION)
    with pytest.raises(ConfigurationError, match="no client for 'personalise'"):
        session.client("personalise")  # type: ignore[call-overload]
    with pytest.raises(ConfigurationError, match="personalize_runtime"):
        Session(CountingProvider(), region=REGION, clients={"personalize_runtime": object()})


def test_every_service_gets_a_real_client() -> None:
    session = Session.aws(region_name=REGION)
    for service in SERVICES:
        assert session.client(service).meta.service_model.service_name  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("region", "endpoint_region"),
    [
        ("eu-west-1", "eu-central-1"),
        ("ap-southeast-1", "ap-south-1"),
        ("us-west-2", "us-east-1"),
        ("cn-north-1", "cn-northwest-1"),
    ],
)
def test_pricing_client_uses_the_nearest_price_list_endpoint(
    region: str, endpoint_region: str
) -> None:
    assert pricing_region(region) == endpoint_region
    if region.startswith("cn-"):
        return  # China needs its own credentials; the mapping is what matters
    pricing = Session.aws(region_name=region).client("pricing")
    assert pricing.meta.region_name == endpoint_region
    assert pricing.meta.config.user_agent_extra == UA


def test_boto3_provider_alone() -> None:
    provider = Boto3Provider(boto3.Session(), region_name="us-west-2")
    assert provider.client("sagemaker-runtime").meta.region_name == "us-west-2"
    assert provider.config.user_agent_extra == UA


# --------------------------------------------------------------------------- tags, URIs, repr


def test_tags_in_both_shapes_carry_the_run_id_and_user_tags() -> None:
    session = Session.aws(region_name=REGION, tags={"team": "recs", "env": "dev"})
    run = session.run_id
    assert session.tags == {RUN_TAG: run, "team": "recs", "env": "dev"}
    assert session.personalize_tags() == [
        {"tagKey": RUN_TAG, "tagValue": run},
        {"tagKey": "team", "tagValue": "recs"},
        {"tagKey": "env", "tagValue": "dev"},
    ]
    assert session.sagemaker_tags({"Name": "falcon"}) == [
        {"Key": RUN_TAG, "Value": run},
        {"Key": "team", "Value": "recs"},
        {"Key": "env", "Value": "dev"},
        {"Key": "Name", "Value": "falcon"},
    ]
    with pytest.raises(ConfigurationError):
        session.personalize_tags({RUN_TAG: "other"})


def test_run_id_is_generated_once_per_session_and_overridable() -> None:
    a, b = Session.aws(region_name=REGION), Session.aws(region_name=REGION)
    assert a.run_id != b.run_id
    assert a.run_id == a.run_id
    assert all(c.isalnum() or c in "-_" for c in a.run_id)  # fits resource names too
    assert Session.aws(region_name=REGION, run_id="ci-1234").personalize_tags()[0] == {
        "tagKey": RUN_TAG,
        "tagValue": "ci-1234",
    }


def test_s3_uri_and_key() -> None:
    session = Session.aws(region_name=REGION, bucket=BUCKET)
    assert session.s3_uri() == f"s3://{BUCKET}/personakit/"
    assert session.s3_uri("runs", "/a.csv") == f"s3://{BUCKET}/personakit/runs/a.csv"
    assert session.s3_uri("batch/in/") == f"s3://{BUCKET}/personakit/batch/in/"
    assert Session.aws(region_name=REGION, bucket=BUCKET, prefix="").s3_key("x.csv") == "x.csv"


def test_s3_uri_without_bucket_says_how_to_set_one() -> None:
    with pytest.raises(ConfigurationError, match="PERSONAKIT_BUCKET"):
        Session.aws(region_name=REGION).s3_uri("x.csv")


def test_repr_shows_settings_and_never_credentials() -> None:
    session = Session.aws(region_name=REGION, bucket=BUCKET, role_arn=ROLE, run_id="r1")
    for shown in (repr(session), session._repr_html_()):
        for value in (REGION, f"s3://{BUCKET}/personakit/", ROLE, "r1"):
            assert value in shown
        for secret in ("testing-secret", "testing-token", "AWS_"):
            assert secret not in shown


@mock_aws
def test_account_id_is_asked_once() -> None:
    session = Session.aws(region_name=REGION)
    assert session.account_id == ACCOUNT
    sts = session.client("sts")
    with Stubber(sts):  # no response queued: a second call would raise
        assert session.account_id == ACCOUNT


# --------------------------------------------------------------------------- IAM policies


def test_trust_policy_has_the_confused_deputy_conditions() -> None:
    policy = json.loads(json.dumps(pki.personalize_trust_policy("111122223333", "eu-west-1")))
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "personalize.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "111122223333"},
        "ArnLike": {"aws:SourceArn": "arn:aws:personalize:eu-west-1:111122223333:*"},
    }
    anywhere = pki.personalize_trust_policy("111122223333")["Statement"][0]
    assert anywhere["Condition"]["ArnLike"]["aws:SourceArn"] == (
        "arn:aws:personalize:*:111122223333:*"
    )


def test_bucket_policy_is_for_the_service_with_conditions_on_every_statement() -> None:
    policy = pki.personalize_bucket_policy(
        BUCKET, "runs", account_id="111122223333", region="eu-west-1", write=False
    )
    json.dumps(policy)
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    assert resources == {f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/runs/*"}
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions == {"s3:GetObject", "s3:ListBucket"}
    for statement in policy["Statement"]:
        assert statement["Principal"] == {"Service": "personalize.amazonaws.com"}
        assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "111122223333"
        assert "aws:SourceArn" in statement["Condition"]["ArnLike"]


def test_role_policy_is_least_privilege() -> None:
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/abc"
    policy = pki.personalize_role_policy(BUCKET, "personakit/", key)
    json.dumps(policy)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    objects = by_sid["PersonakitPersonalizeObjects"]
    assert objects["Action"] == ["s3:GetObject", "s3:PutObject"]
    assert objects["Resource"] == [f"arn:aws:s3:::{BUCKET}/personakit/*"]
    assert by_sid["PersonakitPersonalizeListBucket"]["Resource"] == [f"arn:aws:s3:::{BUCKET}"]
    kms = by_sid["PersonakitPersonalizeKmsKey"]
    assert kms["Resource"] == [key]
    assert set(kms["Action"]) == {
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "kms:DescribeKey",
        "kms:ListGrants",
    }  # kms:CreateGrant belongs in the key policy only
    read_only = pki.personalize_role_policy(BUCKET, write=False)
    assert "s3:PutObject" not in json.dumps(read_only)
    assert read_only["Statement"][0]["Resource"] == [f"arn:aws:s3:::{BUCKET}/*"]


def test_key_policy_statement_names_service_and_role() -> None:
    statement = pki.personalize_key_policy_statement(ROLE, export=True)
    assert statement["Principal"] == {"AWS": ROLE, "Service": "personalize.amazonaws.com"}
    assert "kms:CreateGrant" in statement["Action"]
    assert "kms:GenerateDataKeyWithoutPlaintext" in statement["Action"]


def test_policies_use_the_partition_of_the_region() -> None:
    policy = pki.personalize_bucket_policy(BUCKET, account_id="111122223333", region="cn-north-1")
    assert policy["Statement"][1]["Resource"] == [f"arn:aws-cn:s3:::{BUCKET}"]


def test_policy_arguments_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="12-digit"):
        pki.personalize_trust_policy("1234")
    with pytest.raises(ConfigurationError, match="bucket"):
        pki.personalize_role_policy("s3://x/y")


def test_evaluate_wildcards_not_action_and_deny() -> None:
    obj = f"arn:aws:s3:::{BUCKET}/personakit/a.csv"
    wide = {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    assert pki.evaluate([wide], "s3:GetObject", obj) == "allow"
    not_action = {"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
    assert pki.evaluate([not_action], "s3:GetObject", obj) == "allow"
    deny = {"Statement": [{"Effect": "Deny", "Action": "s3:Get*", "Resource": "*"}]}
    assert pki.evaluate([wide, deny], "s3:GetObject", obj) == "deny"
    other = {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::x/*"}]}
    assert pki.evaluate([other], "s3:GetObject", obj) == "none"
    # documents as IAM returns them elsewhere: URL-encoded JSON
    assert pki.evaluate(["%7B%22Statement%22%3A%5B%5D%7D"], "s3:GetObject", obj) == "none"


# --------------------------------------------------------------------------- check_access


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def make_bucket(session: Session, name: str = BUCKET, region: str = REGION) -> None:
    s3 = boto3.client("s3", region_name=region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})


def put_bucket_policy(session: Session, policy: dict[str, Any] | None = None) -> None:
    assert session.bucket
    policy = policy or pki.personalize_bucket_policy(
        session.bucket, session.prefix, account_id=ACCOUNT, region=session.region
    )
    session.client("s3").put_bucket_policy(Bucket=session.bucket, Policy=json.dumps(policy))


def make_role(session: Session, trust: dict[str, Any] | None = None, s3: bool = True) -> None:
    iam = session.client("iam")
    trust = trust or pki.personalize_trust_policy(ACCOUNT, session.region)
    iam.create_role(RoleName="personakit", AssumeRolePolicyDocument=json.dumps(trust))
    if s3:
        assert session.bucket
        policy = pki.personalize_role_policy(
            session.bucket, session.prefix, session.kms_key_arn, region=session.region
        )
        iam.put_role_policy(
            RoleName="personakit", PolicyName="personakit", PolicyDocument=json.dumps(policy)
        )


@pytest.fixture
def session(aws: None) -> Session:
    return Session.aws(region_name=REGION, bucket=BUCKET, role_arn=ROLE)


def good_setup(session: Session) -> None:
    make_bucket(session)
    put_bucket_policy(session)
    make_role(session)


def test_check_access_on_a_correct_setup_is_ok(session: Session) -> None:
    good_setup(session)
    report = session.check_access()
    assert report.ok, str(report)
    assert {f.check for f in report.findings} == {
        "bucket-region",
        "bucket-policy",
        "role-trust",
        "role-s3-access",
    }
    assert all(f.status == "ok" for f in report.findings)
    report.raise_for_problems()
    assert str(report).startswith("access: ok")


def test_bucket_in_another_region(aws: None) -> None:
    session = Session.aws(region_name=REGION, bucket=BUCKET, role_arn=ROLE)
    make_bucket(session, region="us-east-1")
    put_bucket_policy(session)
    make_role(session)
    report = session.check_access()
    assert not report.ok
    finding = report["bucket-region"]
    assert finding.status == "error"
    assert "us-east-1" in finding.message
    assert REGION in finding.message
    assert finding.fix
    assert "region_name='us-east-1'" in finding.fix


def test_no_bucket_policy(session: Session) -> None:
    make_bucket(session)
    make_role(session)
    finding = session.check_access()["bucket-policy"]
    assert finding.status == "error"
    assert finding.fix
    assert "put_bucket_policy" in finding.fix
    assert finding.policy == pki.personalize_bucket_policy(
        BUCKET, "personakit/", account_id=ACCOUNT, region=REGION
    )


def test_bucket_policy_for_someone_else(session: Session) -> None:
    make_bucket(session)
    make_role(session)
    other = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "glue.amazonaws.com"},
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            }
        ],
    }
    put_bucket_policy(session, other)
    finding = session.check_access()["bucket-policy"]
    assert finding.status == "error"
    assert "s3:GetObject and s3:ListBucket" in finding.message


def test_read_only_bucket_policy_warns_about_batch_jobs(session: Session) -> None:
    make_bucket(session)
    make_role(session)
    put_bucket_policy(
        session,
        pki.personalize_bucket_policy(BUCKET, account_id=ACCOUNT, region=REGION, write=False),
    )
    report = session.check_access()
    assert report.ok  # imports work
    assert report["bucket-policy"].status == "warning"
    assert "batch" in report["bucket-policy"].message


def test_a_conditional_deny_in_the_bucket_policy_is_not_read_as_denying(
    session: Session,
) -> None:
    make_bucket(session)
    make_role(session)
    policy = pki.personalize_bucket_policy(BUCKET, account_id=ACCOUNT, region=REGION)
    policy["Statement"].append(
        {
            "Sid": "TLSOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    put_bucket_policy(session, policy)
    assert session.check_access()["bucket-policy"].status == "ok"


def test_missing_bucket(session: Session) -> None:
    make_role(session)
    report = session.check_access()
    finding = report["bucket-exists"]
    assert finding.status == "error"
    assert finding.fix
    assert "create_bucket" in finding.fix
    assert f"'LocationConstraint': '{REGION}'" in finding.fix


def test_role_without_trust(session: Session) -> None:
    make_bucket(session)
    put_bucket_policy(session)
    ec2 = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    make_role(session, trust=ec2)
    finding = session.check_access()["role-trust"]
    assert finding.status == "error"
    assert "does not trust personalize.amazonaws.com" in finding.message
    assert finding.fix
    assert "update_assume_role_policy" in finding.fix
    assert finding.policy == pki.personalize_trust_policy(ACCOUNT, REGION)


def test_trust_without_confused_deputy_conditions_warns(session: Session) -> None:
    make_bucket(session)
    put_bucket_policy(session)
    bare = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "personalize.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    make_role(session, trust=bare)
    report = session.check_access()
    assert report.ok
    assert report["role-trust"].status == "warning"
    assert "aws:SourceArn" in report["role-trust"].message


def test_role_without_s3_access(session: Session) -> None:
    make_bucket(session)
    put_bucket_policy(session)
    make_role(session, s3=False)
    finding = session.check_access()["role-s3-access"]
    assert finding.status == "error"
    assert "Insufficient privileges" in finding.message
    assert finding.fix
    assert "put_role_policy" in finding.fix
    assert finding.policy == pki.personalize_role_policy(BUCKET, "personakit/", region=REGION)


def test_role_access_through_an_attached_managed_policy(session: Session) -> None:
    make_bucket(session)
    put_bucket_policy(session)
    make_role(session, s3=False)
    iam = session.client("iam")
    arn = iam.create_policy(
        PolicyName="pk-s3",
        PolicyDocument=json.dumps(pki.personalize_role_policy(BUCKET, "personakit/")),
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="personakit", PolicyArn=arn)
    assert session.check_access()["role-s3-access"].status == "ok"


def test_an_explicit_deny_on_the_role_wins(session: Session) -> None:
    good_setup(session)
    deny = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}],
    }
    session.client("iam").put_role_policy(
        RoleName="personakit", PolicyName="deny", PolicyDocument=json.dumps(deny)
    )
    finding = session.check_access()["role-s3-access"]
    assert finding.status == "error"
    assert "s3:GetObject" in finding.message


def test_missing_role(session: Session) -> None:
    make_bucket(session)
    put_bucket_policy(session)
    finding = session.check_access()["role-exists"]
    assert finding.status == "error"
    assert "does not exist" in finding.message
    assert finding.fix
    assert "create_role" in finding.fix


def test_nothing_configured_says_what_to_set(aws: None) -> None:
    report = Session.aws(region_name=REGION).check_access()
    assert report["bucket-configured"].fix
    assert "PERSONAKIT_BUCKET" in (report["bucket-configured"].fix or "")
    assert "PERSONAKIT_ROLE_ARN" in (report["role-configured"].fix or "")
    with pytest.raises(ConfigurationError, match="2 access problem"):
        report.raise_for_problems()


def key_with_policy(session: Session, statements: list[dict[str, Any]]) -> str:
    admin = {
        "Sid": "Admin",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    policy = {"Version": "2012-10-17", "Statement": [admin, *statements]}
    kms = boto3.client("kms", region_name=REGION)
    return str(kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"])


def test_kms_key_policy_and_role_access(aws: None) -> None:
    probe = Session.aws(region_name=REGION, bucket=BUCKET, role_arn=ROLE)
    key = key_with_policy(probe, [pki.personalize_key_policy_statement(ROLE)])
    session = Session.aws(region_name=REGION, bucket=BUCKET, role_arn=ROLE, kms_key_arn=key)
    good_setup(session)
    report = session.check_access()
    assert report.ok, str(report)
    assert report["kms-key-policy"].status == "ok"
    assert report["kms-role-access"].status == "ok"


def test_kms_key_policy_without_personalize(aws: None) -> None:
    probe = Session.aws(region_name=REGION, bucket=BUCKET, role_arn=ROLE)
    key = key_with_policy(probe, [])
    session = Session.aws(region_name=REGION, bucket=BUCKET, role_arn=ROLE, kms_key_arn=key)
    make_bucket(session)
    put_bucket_policy(session)
    make_role(session, s3=False)  # no KMS permissions on the role either
    report = session.check_access()
    finding = report["kms-key-policy"]
    assert finding.status == "error"
    assert "kms:CreateGrant" in finding.message
    assert finding.policy == pki.personalize_key_policy_statement(ROLE)
    role = report["kms-role-access"]
    assert role.status == "error"
    assert role.policy == pki.personalize_role_policy(BUCKET, "personakit/", key, region=REGION)


def test_kms_key_in_another_region(aws: None) -> None:
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abc"
    session = Session.aws(region_name=REGION, bucket=BUCKET, role_arn=ROLE, kms_key_arn=key)
    good_setup(session)
    finding = session.check_access()["kms-key-region"]
    assert finding.status == "error"
    assert finding.fix
    assert REGION in finding.fix


def test_checks_the_caller_may_not_run_become_warnings() -> None:
    s3 = boto3.client("s3", region_name=REGION)
    sts = boto3.client("sts", region_name=REGION)
    session = Session.aws(region_name=REGION, bucket=BUCKET, clients={"s3": s3, "sts": sts})
    with Stubber(s3) as s3_stub, Stubber(sts) as sts_stub:
        s3_stub.add_client_error("get_bucket_location", "AccessDenied", "denied", 403)
        sts_stub.add_response(
            "get_caller_identity",
            {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/me", "UserId": "AIDA"},
        )
        s3_stub.add_client_error("get_bucket_policy", "AccessDenied", "denied", 403)
        report = session.check_access()
        s3_stub.assert_no_pending_responses()
    assert report["bucket-exists"].status == "warning"
    assert "AccessDenied" in report["bucket-exists"].message
    assert report["bucket-policy"].status == "warning"
    assert report["role-configured"].status == "error"


def test_report_renders_fixes_and_policies(session: Session) -> None:
    make_bucket(session)
    make_role(session)
    report = session.check_access()
    assert isinstance(report, AccessReport)
    text = str(report)
    assert "✗ bucket-policy" in text
    assert "put_bucket_policy" in text
    assert '"personalize.amazonaws.com"' in text  # the policy, as JSON
    page = report._repr_html_()
    assert "bucket-policy" in page
    assert "<pre>" in page
    with pytest.raises(KeyError):
        report["no-such-check"]
