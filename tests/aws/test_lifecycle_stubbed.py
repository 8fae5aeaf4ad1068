"""The Personalize lifecycle against real boto3 clients under Stubber, S3 on moto.

Every Personalize request is validated against botocore's service model and
compared with the exact parameters expected (tags, ``performAutoTraining``,
``roleArn``...). Faults (an exception, a KeyboardInterrupt) are raised after each
step of the journey and in the middle of each wait; every run must end with each
resource created before the fault deleted and confirmed gone by ``Describe*``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from _env import Env, make_env
from _lifecycle import (
    BUCKET,
    CAMP,
    DS_I,
    DSG,
    FLT,
    GONE,
    JOB_I,
    KEPT_TAGS,
    METRICS,
    NO_HORROR,
    RECIPE_UP,
    ROLE,
    RUN,
    SCHEMA_I,
    SCHEMA_JSON_I,
    SOL,
    STEPS,
    SV,
    TAGS,
    expect_deploy,
    expect_group,
    expect_import,
    expect_step,
    expect_teardown,
    expect_train,
    interactions,
    items,
    run_journey,
)
from botocore.stub import ANY

import personakit.personalize.group as pkd
from personakit.errors import (
    ConfigurationError,
    QuotaExceededError,
    ResourceFailedError,
    TeardownError,
    ValidationError,
)
from personakit.personalize.base import resource_name, short_hash
from personakit.personalize.campaign import Campaign
from personakit.personalize.serving import Recommendation, Recommendations
from personakit.personalize.solution import SolutionMetrics
from personakit.rules.facts import RECIPES, recipe_arn, recipe_type

DatasetGroup = pkd.DatasetGroup

#: What a Create* made -> the kind its Delete*/Describe* are named after.
BILLABLE_KINDS = {
    "DatasetGroup": "DatasetGroup",
    "Dataset": "Dataset",
    "Schema": "Schema",
    "Solution": "Solution",
    "Campaign": "Campaign",
    "Filter": "Filter",
}


def assert_all_gone(env: Env) -> None:
    """Every resource a Create* made was deleted and confirmed gone; S3 is empty."""
    created = env.log.created()
    assert created, "nothing was created"
    for arn, kind in created.items():
        if kind in ("DatasetImportJob", "SolutionVersion"):
            continue  # jobs cannot be deleted; versions go with their solution
        env.log.assert_deleted_and_gone(arn, BILLABLE_KINDS[kind])
    for version in (c for c in env.log.of("CreateSolutionVersion") if c.error is None):
        described = [
            c.response["solutionVersion"]["status"]
            for c in env.log.of("DescribeSolutionVersion")
            if c.error is None
        ]
        if described and described[-1] not in ("ACTIVE", "CREATE FAILED", "CREATE STOPPED"):
            raise AssertionError(f"training {version} left {described[-1]}")
    assert env.objects() == [], "uploaded CSVs were not deleted"
    env.verify()


# --------------------------------------------------------------------------- happy path


def test_journey_sends_exact_requests_and_cleans_up(env: Env) -> None:
    for step in STEPS:
        expect_step(env.script, step, env.rt)
    expect_teardown(env.script, STEPS, campaign_gone=False)
    seen: dict[str, Any] = {}

    def inspect(step: str, obj: Any) -> None:
        if step == "import_interactions":
            keys = env.objects()
            assert len(keys) == 1
            head = env.s3.head_object(Bucket=BUCKET, Key=keys[0])
            seen["sse"] = head["ServerSideEncryption"]
            seen["key"] = keys[0]
            body = env.s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read().decode()
            seen["header"] = body.splitlines()[0]
            seen["rows"] = len(body.splitlines()) - 1
        seen[step] = obj

    group = run_journey(env.session, env.timing, inspect=inspect)

    assert seen["sse"] == "AES256"
    assert seen["header"] == "USER_ID,ITEM_ID,TIMESTAMP"
    assert seen["rows"] == 1500
    assert seen["key"].startswith(f"personakit/movies/{RUN}/interactions-")
    # the import job reads exactly the object uploaded, with the session's role
    job = env.log.of("CreateDatasetImportJob")[0].params
    assert job["dataSource"]["dataLocation"] == f"s3://{BUCKET}/{seen['key']}"
    assert job["roleArn"] == ROLE
    assert re.fullmatch(r"movies-interactions-[0-9a-f]{10}", job["jobName"])
    schema_name = env.log.of("CreateSchema")[0].params["name"]
    assert re.fullmatch(r"pk-interactions-[0-9a-f]{16}", schema_name)
    # auto-training off, every taggable Create* tagged with the run
    solution = env.log.of("CreateSolution")[0].params
    assert solution["performAutoTraining"] is False
    for call in env.log.calls:
        if call.op.startswith("Create") and call.op != "CreateSchema":
            assert call.params["tags"] == TAGS, call.op
    # typed results
    metrics = seen["metrics"]
    assert isinstance(metrics, SolutionMetrics)
    assert metrics.precision_at_10 == pytest.approx(0.035)
    assert metrics.ndcg_at_25 == pytest.approx(0.14)
    recs = seen["recommend"]
    assert recs.item_ids == ["i3", "i7"]
    assert recs.recommendation_id == "RID-1"
    assert recs[1].promotion_name == "new"
    # teardown: reference §8.2 order
    deletes = [c.op for c in env.log.calls if c.op.startswith("Delete")]
    assert deletes == [
        "DeleteCampaign",
        "DeleteSolution",
        "DeleteFilter",
        "DeleteDataset",
        "DeleteDataset",
        "DeleteDatasetGroup",
        "DeleteSchema",
        "DeleteSchema",
    ]
    assert_all_gone(env)
    states = {kind: state for kind, _, state in group.resources}
    assert states.pop("solution_version") == "settled"
    assert states.pop("dataset_import_job") == "settled"
    assert set(states.values()) == {"gone"}
    # no real sleeping: every wait went to the fake clock
    assert env.time.sleeps
    assert sum(env.time.sleeps) > 0


def test_teardown_is_idempotent(env: Env) -> None:
    expect_group(env.script)
    group = DatasetGroup.create(env.session, "movies", timing=env.timing)
    env.script.delete("dataset_group", DSG)
    env.script.describe("dataset_group", DSG, GONE)
    first = group.teardown()
    assert first.deleted == (DSG,)
    calls = len(env.log.calls)
    assert group.teardown().deleted == ()
    with group:
        pass
    assert len(env.log.calls) == calls
    env.verify()


def test_kms_key_encrypts_group_and_upload() -> None:
    import boto3

    for env in make_env(kms_key_arn=None):
        kms = boto3.client("kms", region_name="us-east-1")
        key = kms.create_key()["KeyMetadata"]["Arn"]
        from personakit.aws.session import Session

        session = Session.aws(
            clients={"personalize": env.personalize, "s3": env.s3},
            region_name="us-east-1",
            bucket=BUCKET,
            role_arn=ROLE,
            kms_key_arn=key,
            run_id=RUN,
        )
        expect_group(env.script, extra={"kmsKeyArn": key, "roleArn": ROLE})
        expect_import(
            env.script,
            kind="Interactions",
            schema_json=SCHEMA_JSON_I,
            schema_arn=SCHEMA_I,
            dataset_arn=DS_I,
            job_arn=JOB_I,
        )
        expect_teardown(env.script, ["group", "import_interactions"])
        with DatasetGroup.create(session, "movies", timing=env.timing) as group:
            group.import_frame(interactions())
            head = env.s3.head_object(Bucket=BUCKET, Key=env.objects()[0])
            assert head["ServerSideEncryption"] == "aws:kms"
            assert head["SSEKMSKeyId"] == key
        assert_all_gone(env)


# --------------------------------------------------------------------------- fault injection


class Boom(Exception):
    pass


FAULTS = [Boom, KeyboardInterrupt]


@pytest.mark.parametrize("exc_type", FAULTS, ids=["exception", "keyboard-interrupt"])
@pytest.mark.parametrize("after", STEPS)
def test_fault_after_each_step_tears_everything_down(
    env: Env, after: str, exc_type: type[BaseException]
) -> None:
    done = STEPS[: STEPS.index(after) + 1]
    for step in done:
        expect_step(env.script, step, env.rt)
    expect_teardown(env.script, done)

    def fault(step: str) -> None:
        if step == after:
            raise exc_type(f"fault after {step}")

    with pytest.raises(exc_type, match=f"fault after {after}"):
        run_journey(env.session, env.timing, fault=fault)
    assert_all_gone(env)


def _mid_group(env: Env) -> None:
    s = env.script
    s.ok("create_dataset_group", {"name": "movies", "tags": TAGS}, {"datasetGroupArn": DSG})
    s.describe("dataset_group", DSG, "CREATE PENDING")  # the fault strikes while waiting
    # teardown: the group cannot be deleted while being created: settle, then delete
    s.err("delete_dataset_group", "ResourceInUseException", {"datasetGroupArn": DSG})
    s.describe("dataset_group", DSG, "CREATE IN_PROGRESS", "ACTIVE")
    s.delete("dataset_group", DSG)
    s.describe("dataset_group", DSG, GONE)


def _mid_import(env: Env) -> None:
    s = env.script
    expect_group(s)
    expect_import(
        s,
        kind="Interactions",
        schema_json=SCHEMA_JSON_I,
        schema_arn=SCHEMA_I,
        dataset_arn=DS_I,
        job_arn=JOB_I,
        job_statuses=("CREATE IN_PROGRESS",),
    )
    # teardown: an import job cannot be deleted: let it settle, then delete the dataset
    s.describe("dataset_import_job", JOB_I, "CREATE IN_PROGRESS", "CREATE IN_PROGRESS", "ACTIVE")
    expect_teardown(s, ["group", "import_interactions"])


def _mid_train(env: Env) -> None:
    s = env.script
    for step in ("group", "import_interactions", "import_items"):
        expect_step(s, step)
    expect_train(s, version_statuses=("CREATE PENDING",))
    # Solution.create's own teardown: stop the training, wait, delete the solution
    s.describe("solution_version", SV, "CREATE IN_PROGRESS")
    s.ok("stop_solution_version_creation", {"solutionVersionArn": SV})
    s.describe("solution_version", SV, "CREATE STOPPING", "CREATE STOPPED")
    s.delete("solution", SOL)
    s.describe("solution", SOL, GONE)
    expect_teardown(s, ["group", "import_interactions", "import_items"])


def _mid_deploy(env: Env) -> None:
    s = env.script
    for step in ("group", "import_interactions", "import_items", "train", "metrics"):
        expect_step(s, step)
    expect_deploy(s, statuses=("CREATE PENDING",))
    s.err("delete_campaign", "ResourceInUseException", {"campaignArn": CAMP})
    s.describe("campaign", CAMP, "CREATE IN_PROGRESS", "ACTIVE")
    s.delete("campaign", CAMP)
    s.describe("campaign", CAMP, GONE)
    expect_teardown(
        s, ["group", "import_interactions", "import_items", "train", "metrics"], campaign_gone=True
    )


MID_WAIT = {
    "DescribeDatasetGroup": _mid_group,
    "DescribeDatasetImportJob": _mid_import,
    "DescribeSolutionVersion": _mid_train,
    "DescribeCampaign": _mid_deploy,
}


@pytest.mark.parametrize("exc_type", FAULTS, ids=["exception", "keyboard-interrupt"])
@pytest.mark.parametrize("during", list(MID_WAIT))
def test_fault_during_each_wait_tears_everything_down(
    env: Env, during: str, exc_type: type[BaseException]
) -> None:
    MID_WAIT[during](env)
    env.time.arm(exc_type(f"fault during {during}"), during)
    with pytest.raises(exc_type, match=f"fault during {during}"):
        run_journey(env.session, env.timing)
    assert_all_gone(env)
    if during == "DescribeSolutionVersion":
        assert env.log.ops().count("StopSolutionVersionCreation") == 1


# --------------------------------------------------------------------------- error paths


def test_failed_training_raises_with_reason_and_cleans_up(env: Env) -> None:
    s = env.script
    for step in ("group", "import_interactions"):
        expect_step(s, step)
    reason = "Create failed. Dataset has fewer than 25 users with at least 2 interactions each."
    expect_train(s, version_statuses=("CREATE PENDING", "CREATE FAILED"), reason=reason)
    s.delete("solution", SOL)  # the failed solution goes at once
    s.describe("solution", SOL, GONE)
    expect_teardown(s, ["group", "import_interactions"])
    with (  # noqa: PT012
        pytest.raises(ResourceFailedError) as info,
        DatasetGroup.create(env.session, "movies", timing=env.timing) as group,
    ):
        group.import_frame(interactions())
        group.train("user-personalization", name="movies-up")
    assert info.value.arn == SV
    assert info.value.status == "CREATE FAILED"
    assert info.value.failure_reason == reason
    assert_all_gone(env)


def test_failed_import_raises_with_reason(env: Env) -> None:
    s = env.script
    expect_group(s)
    expect_import(
        s,
        kind="Interactions",
        schema_json=SCHEMA_JSON_I,
        schema_arn=SCHEMA_I,
        dataset_arn=DS_I,
        job_arn=JOB_I,
        job_statuses=("CREATE FAILED",),
    )
    expect_teardown(s, ["group", "import_interactions"])
    with (
        pytest.raises(ResourceFailedError, match="CREATE FAILED"),
        DatasetGroup.create(env.session, "movies", timing=env.timing) as group,
    ):
        group.import_frame(interactions())
    assert_all_gone(env)


def test_throttling_storm_is_survived(env: Env) -> None:
    s = env.script
    params = {"name": "movies", "tags": TAGS}
    for _ in range(5):
        s.err("create_dataset_group", "ThrottlingException", params, "Rate exceeded")
    s.ok("create_dataset_group", params, {"datasetGroupArn": DSG})
    for _ in range(3):
        s.err("describe_dataset_group", "ThrottlingException", {"datasetGroupArn": DSG})
    s.describe("dataset_group", DSG, "ACTIVE")
    s.delete("dataset_group", DSG)
    s.describe("dataset_group", DSG, GONE)
    with DatasetGroup.create(env.session, "movies", timing=env.timing):
        pass
    assert env.log.ops().count("CreateDatasetGroup") == 6
    # jittered exponential backoff (rng = 0.5): 0.75, 1.5, 3, 6, 12 s, then the waits
    assert env.time.sleeps[:5] == pytest.approx([0.75, 1.5, 3.0, 6.0, 12.0])
    env.verify()


def test_pending_jobs_quota_is_waited_out(env: Env) -> None:
    s = env.script
    expect_group(s)
    s.ok("create_schema", {"name": ANY, "schema": SCHEMA_JSON_I}, {"schemaArn": SCHEMA_I})
    s.ok(
        "create_dataset",
        {
            "name": "movies-interactions",
            "schemaArn": SCHEMA_I,
            "datasetGroupArn": DSG,
            "datasetType": "Interactions",
            "tags": TAGS,
        },
        {"datasetArn": DS_I},
    )
    s.describe("dataset", DS_I, "ACTIVE")
    job = {
        "jobName": ANY,
        "datasetArn": DS_I,
        "dataSource": {"dataLocation": ANY},
        "roleArn": ROLE,
        "importMode": "FULL",
        "tags": TAGS,
    }
    message = "More than 5 resources with PENDING or IN_PROGRESS status."
    for _ in range(3):
        s.err("create_dataset_import_job", "LimitExceededException", job, message)
    s.ok("create_dataset_import_job", job, {"datasetImportJobArn": JOB_I})
    s.describe("dataset_import_job", JOB_I, "ACTIVE")
    expect_teardown(s, ["group", "import_interactions"])
    with DatasetGroup.create(env.session, "movies", timing=env.timing) as group:
        before = len(env.time.sleeps)
        group.import_frame(interactions())
        quota_sleeps = env.time.sleeps[before:]
    # long backoff for the quota (15-30 s, 30-60 s, 60-120 s ceilings; rng = 0.5)
    assert quota_sleeps[:3] == pytest.approx([22.5, 45.0, 90.0])
    assert_all_gone(env)


def test_pending_jobs_quota_gives_up_with_quota_error(env: Env) -> None:
    import attrs

    from personakit.aws.retry import RetryPolicy

    timing = attrs.evolve(env.timing, policy=RetryPolicy(quota_deadline_s=60.0))
    s = env.script
    expect_group(s)
    s.ok("create_schema", {"name": ANY, "schema": SCHEMA_JSON_I}, {"schemaArn": SCHEMA_I})
    s.ok(
        "create_dataset",
        {
            "name": "movies-interactions",
            "schemaArn": SCHEMA_I,
            "datasetGroupArn": DSG,
            "datasetType": "Interactions",
            "tags": TAGS,
        },
        {"datasetArn": DS_I},
    )
    s.describe("dataset", DS_I, "ACTIVE")
    message = "More than 5 resources with PENDING or IN_PROGRESS status."
    for _ in range(3):
        s.err("create_dataset_import_job", "LimitExceededException", ANY_JOB, message)
    s.delete("dataset", DS_I)
    s.describe("dataset", DS_I, GONE)
    s.delete("dataset_group", DSG)
    s.describe("dataset_group", DSG, GONE)
    s.delete("schema", SCHEMA_I)
    s.describe("schema", SCHEMA_I, GONE)
    with (
        pytest.raises(QuotaExceededError, match="pending or in-progress dataset import jobs"),
        DatasetGroup.create(env.session, "movies", timing=timing) as group,
    ):
        group.import_frame(interactions())
    assert_all_gone(env)


ANY_JOB = {
    "jobName": ANY,
    "datasetArn": DS_I,
    "dataSource": {"dataLocation": ANY},
    "roleArn": ROLE,
    "importMode": "FULL",
    "tags": TAGS,
}


def test_resource_in_use_on_delete_is_retried(env: Env) -> None:
    s = env.script
    expect_group(s)
    expect_import(
        s,
        kind="Interactions",
        schema_json=SCHEMA_JSON_I,
        schema_arn=SCHEMA_I,
        dataset_arn=DS_I,
        job_arn=JOB_I,
    )
    s.delete("dataset", DS_I)
    s.describe("dataset", DS_I, GONE)
    # the group still sees its dataset for a moment: refused twice, then accepted
    for _ in range(2):
        s.err(
            "delete_dataset_group",
            "ResourceInUseException",
            {"datasetGroupArn": DSG},
            "Dataset group has datasets",
        )
        s.describe("dataset_group", DSG, "ACTIVE")
    s.delete("dataset_group", DSG)
    s.describe("dataset_group", DSG, GONE)
    s.delete("schema", SCHEMA_I)
    s.describe("schema", SCHEMA_I, GONE)
    with DatasetGroup.create(env.session, "movies", timing=env.timing) as group:
        group.import_frame(interactions())
        before = len(env.time.sleeps)
    assert env.time.sleeps[before:] == pytest.approx([5.0, 7.5])
    assert_all_gone(env)


def test_resource_in_use_forever_gives_up_with_teardown_error(env: Env) -> None:
    import attrs

    timing = attrs.evolve(env.timing, in_use_timeout_s=20.0)
    s = env.script
    expect_group(s)
    for _ in range(4):
        s.err("delete_dataset_group", "ResourceInUseException", {"datasetGroupArn": DSG})
        s.describe("dataset_group", DSG, "ACTIVE")
    with (
        pytest.raises(TeardownError) as info,
        DatasetGroup.create(env.session, "movies", timing=timing),
    ):
        pass
    assert info.value.leftovers == (DSG,)
    env.verify()


def test_already_existing_group_is_adopted_and_kept(env: Env) -> None:
    s = env.script
    s.err(
        "create_dataset_group", "ResourceAlreadyExistsException", {"name": "movies", "tags": TAGS}
    )
    s.ok(
        "list_dataset_groups",
        {"maxResults": 100},
        {
            "datasetGroups": [{"name": "other", "datasetGroupArn": f"{A_DSG}other"}],
            "nextToken": "t",
        },
    )
    s.ok(
        "list_dataset_groups",
        {"maxResults": 100, "nextToken": "t"},
        {"datasetGroups": [{"name": "movies", "datasetGroupArn": DSG}]},
    )
    s.ok(
        "describe_dataset_group",
        {"datasetGroupArn": DSG},
        {"datasetGroup": {"name": "movies", "datasetGroupArn": DSG, "status": "ACTIVE"}},
    )
    s.ok(
        "list_tags_for_resource",
        {"resourceArn": DSG},
        {"tags": [{"tagKey": "personakit:run", "tagValue": "an-older-run"}]},
    )
    s.describe("dataset_group", DSG, "ACTIVE")
    with DatasetGroup.create(env.session, "movies", timing=env.timing) as group:
        assert group.owned is False
    assert not any(c.op.startswith("Delete") for c in env.log.calls)
    env.verify()


A_DSG = "arn:aws:personalize:us-east-1:123456789012:dataset-group/"


def test_group_created_by_a_lost_response_is_owned(env: Env) -> None:
    """A retried Create* whose first response was lost: the group carries our tag."""
    s = env.script
    s.err(
        "create_dataset_group", "ResourceAlreadyExistsException", {"name": "movies", "tags": TAGS}
    )
    s.ok(
        "list_dataset_groups",
        {"maxResults": 100},
        {"datasetGroups": [{"name": "movies", "datasetGroupArn": DSG}]},
    )
    s.ok(
        "describe_dataset_group",
        {"datasetGroupArn": DSG},
        {"datasetGroup": {"name": "movies", "datasetGroupArn": DSG, "status": "CREATE PENDING"}},
    )
    s.ok("list_tags_for_resource", {"resourceArn": DSG}, {"tags": TAGS})
    s.describe("dataset_group", DSG, "ACTIVE")
    s.delete("dataset_group", DSG)
    s.describe("dataset_group", DSG, GONE)
    with DatasetGroup.create(env.session, "movies", timing=env.timing) as group:
        assert group.owned is True
    env.log.assert_deleted_and_gone(DSG, "DatasetGroup")
    env.verify()


def test_adopting_a_different_group_is_refused(env: Env) -> None:
    s = env.script
    s.err(
        "create_dataset_group", "ResourceAlreadyExistsException", {"name": "movies", "tags": TAGS}
    )
    s.ok(
        "list_dataset_groups",
        {"maxResults": 100},
        {"datasetGroups": [{"name": "movies", "datasetGroupArn": DSG}]},
    )
    s.ok(
        "describe_dataset_group",
        {"datasetGroupArn": DSG},
        {
            "datasetGroup": {
                "name": "movies",
                "datasetGroupArn": DSG,
                "status": "ACTIVE",
                "domain": "ECOMMERCE",
            }
        },
    )
    with pytest.raises(ConfigurationError, match="domain ECOMMERCE"):
        DatasetGroup.create(env.session, "movies", timing=env.timing)
    env.verify()


def test_adopt_false_refuses_an_existing_name(env: Env) -> None:
    env.script.err(
        "create_dataset_group", "ResourceAlreadyExistsException", {"name": "movies", "tags": TAGS}
    )
    with pytest.raises(ConfigurationError, match="adopt=True"):
        DatasetGroup.create(env.session, "movies", adopt=False, timing=env.timing)
    env.verify()


def test_existing_schema_is_reused_and_not_deleted(env: Env) -> None:
    s = env.script
    expect_group(s)
    s.err("create_schema", "ResourceAlreadyExistsException", {"name": ANY, "schema": SCHEMA_JSON_I})
    # the name personakit asks for is derived from the schema's JSON
    name = resource_name("pk", "interactions", short_hash(SCHEMA_JSON_I, "", n=16))
    s.ok("list_schemas", {"maxResults": 100}, {"schemas": [{"name": name, "schemaArn": SCHEMA_I}]})
    s.ok(
        "describe_schema",
        {"schemaArn": SCHEMA_I},
        {"schema": {"schemaArn": SCHEMA_I, "schema": SCHEMA_JSON_I}},
    )
    s.ok(
        "create_dataset",
        {
            "name": "movies-interactions",
            "schemaArn": SCHEMA_I,
            "datasetGroupArn": DSG,
            "datasetType": "Interactions",
            "tags": TAGS,
        },
        {"datasetArn": DS_I},
    )
    s.describe("dataset", DS_I, "ACTIVE")
    s.ok("create_dataset_import_job", ANY_JOB, {"datasetImportJobArn": JOB_I})
    s.describe("dataset_import_job", JOB_I, "ACTIVE")
    s.delete("dataset", DS_I)
    s.describe("dataset", DS_I, GONE)
    s.delete("dataset_group", DSG)
    s.describe("dataset_group", DSG, GONE)
    with DatasetGroup.create(env.session, "movies", timing=env.timing) as group:
        group.import_frame(interactions())
    assert env.log.of("CreateSchema")[0].params["name"] == name
    assert "DeleteSchema" not in env.log.ops()
    env.verify()


# --------------------------------------------------------------------------- validation


def test_validation_failure_uploads_and_creates_nothing(env: Env) -> None:
    expect_group(env.script)
    env.script.delete("dataset_group", DSG)
    env.script.describe("dataset_group", DSG, GONE)
    bad = interactions().head(10).copy()
    bad.loc[0, "USER_ID"] = None
    with (
        pytest.raises(ValidationError) as info,
        DatasetGroup.create(env.session, "movies", timing=env.timing) as group,
    ):
        group.import_frame(bad)
    rules = {p.rule for p in info.value.problems}
    assert {"required-null", "min-import-records", "min-interactions"} <= rules
    creates = [c.op for c in env.log.calls if c.op.startswith("Create")]
    assert creates == ["CreateDatasetGroup"]
    assert env.objects() == []
    env.verify()


def test_missing_role_is_a_configuration_error_before_anything(env: Env) -> None:
    for nrole in make_env(role_arn=None):
        expect_group(nrole.script)
        nrole.script.delete("dataset_group", DSG)
        nrole.script.describe("dataset_group", DSG, GONE)
        with (
            pytest.raises(ConfigurationError, match="role"),
            DatasetGroup.create(nrole.session, "movies", timing=nrole.timing) as group,
        ):
            group.import_frame(interactions())
        assert [c.op for c in nrole.log.calls if c.op.startswith("Create")] == [
            "CreateDatasetGroup"
        ]
        assert nrole.objects() == []
        nrole.verify()


def test_incremental_import_skips_training_minimums(env: Env) -> None:
    s = env.script
    expect_step(s, "group")
    expect_step(s, "import_interactions")
    expect_import(
        s,
        kind="Interactions",
        schema_json=SCHEMA_JSON_I,
        schema_arn=SCHEMA_I,
        dataset_arn=DS_I,
        job_arn=JOB_I + "-2",
        mode="INCREMENTAL",
        job_statuses=("ACTIVE",),
        new_dataset=False,
    )
    expect_teardown(s, ["group", "import_interactions"])
    few = interactions(n=1000, users=300, seed=3)  # many single-interaction users
    with DatasetGroup.create(env.session, "movies", timing=env.timing) as group:
        group.import_frame(interactions())
        dataset = group.import_frame(few, mode="INCREMENTAL")
        assert [j.mode for j in dataset.imports] == ["FULL", "INCREMENTAL"]
        assert dataset.imports[-1].csv is not None
        assert dataset.imports[-1].csv.rows == 1000
    assert_all_gone(env)


# --------------------------------------------------------------------------- keep


def test_keep_true_keeps_everything(env: Env) -> None:
    # created with the keep tag: a sweep spares it even if no teardown ever runs
    expect_group(env.script, extra={"tags": KEPT_TAGS})
    with DatasetGroup.create(env.session, "movies", keep=True, timing=env.timing):
        pass
    assert not any(c.op.startswith("Delete") for c in env.log.calls)
    assert "TagResource" not in env.log.ops()  # nothing to tag afterwards
    env.verify()


def test_kept_campaign_keeps_what_it_needs(env: Env) -> None:
    s = env.script
    for step in ("group", "import_interactions", "train"):
        expect_step(s, step)
    # the campaign is created with the keep tag; what it needs is tagged at once
    expect_deploy(s, tags=KEPT_TAGS, tagged=[DSG, DS_I, SOL])
    with DatasetGroup.create(env.session, "movies", timing=env.timing) as group:
        group.import_frame(interactions())
        solution = group.train("user-personalization", name="movies-up")
        with solution.deploy(min_tps=1, keep=True) as campaign:
            assert campaign.keep
    assert not any(c.op.startswith("Delete") for c in env.log.calls)
    env.verify()


# --------------------------------------------------------------------------- solutions


def test_train_options_and_retrain_stop_update(env: Env) -> None:
    s = env.script
    expect_step(s, "group")
    expect_step(s, "import_interactions")
    s.ok(
        "create_solution",
        {
            "name": ANY,
            "datasetGroupArn": DSG,
            "recipeArn": "arn:aws:personalize:::recipe/aws-sims",
            "performHPO": False,
            "performAutoTraining": True,
            "eventType": "click",
            "solutionConfig": {
                "eventValueThreshold": "0.5",
                "algorithmHyperParameters": {"min_cointeraction_count": "5"},
                "autoTrainingConfig": {"schedulingExpression": "rate(14 days)"},
            },
            "tags": TAGS,
        },
        {"solutionArn": SOL},
    )
    s.describe("solution", SOL, "ACTIVE")
    s.ok(
        "create_solution_version",
        {"solutionArn": SOL, "name": ANY, "trainingMode": "FULL", "tags": TAGS},
        {"solutionVersionArn": SV},
    )
    s.describe("solution_version", SV, "ACTIVE")
    sv2 = SV + "-2"
    s.ok(
        "create_solution_version",
        {"solutionArn": SOL, "name": ANY, "trainingMode": "FULL", "tags": TAGS},
        {"solutionVersionArn": sv2},
    )
    s.ok("stop_solution_version_creation", {"solutionVersionArn": sv2})
    s.describe("solution_version", sv2, "CREATE STOPPING", "CREATE STOPPED")
    s.ok(
        "create_campaign",
        {"name": "c1", "solutionVersionArn": sv2, "minProvisionedTPS": 2, "tags": TAGS},
        {"campaignArn": CAMP},
    )
    s.ok(
        "update_campaign",
        {"campaignArn": CAMP, "minProvisionedTPS": 3, "solutionVersionArn": SV},
        {"campaignArn": CAMP},
    )
    s.ok(
        "describe_campaign",
        {"campaignArn": CAMP},
        {"campaign": {"campaignArn": CAMP, "status": "UPDATE IN_PROGRESS"}},
    )
    s.ok(
        "describe_campaign",
        {"campaignArn": CAMP},
        {
            "campaign": {
                "campaignArn": CAMP,
                "status": "ACTIVE",
                "latestCampaignUpdate": {"status": "ACTIVE"},
            }
        },
    )
    s.delete("campaign", CAMP)
    s.describe("campaign", CAMP, GONE)
    # the solution has auto-training: its delete is refused while AWS trains a version
    s.err("delete_solution", "ResourceInUseException", {"solutionArn": SOL})
    s.describe("solution", SOL, "ACTIVE")
    s.ok(
        "list_solution_versions",
        {"solutionArn": SOL, "maxResults": 100},
        {
            "solutionVersions": [
                {"solutionVersionArn": SV + "-auto", "status": "CREATE IN_PROGRESS"},
                {"solutionVersionArn": SV, "status": "ACTIVE"},
            ]
        },
    )
    s.ok("stop_solution_version_creation", {"solutionVersionArn": SV + "-auto"})
    s.describe("solution_version", SV + "-auto", "CREATE STOPPED")
    s.delete("solution", SOL)
    s.describe("solution", SOL, GONE)
    expect_teardown(s, ["group", "import_interactions"])
    with DatasetGroup.create(env.session, "movies", timing=env.timing) as group:
        group.import_frame(interactions())
        solution = group.train(
            "sims",
            event_type="click",
            event_value_threshold=0.5,
            hyperparameters={"min_cointeraction_count": 5},
            auto_training="rate(14 days)",
        )
        assert solution.auto_training
        solution.retrain(wait=False)
        assert solution.stop() == "CREATE STOPPED"
        campaign = solution.deploy(2, name="c1", wait=False)
        campaign.update(3, solution_version_arn=SV)
        assert campaign.min_tps == 3
        campaign.delete()
        solution.delete()
    name = env.log.of("CreateSolution")[0].params["name"]
    assert re.fullmatch(r"movies-sims-[0-9a-f]{6}", name)
    env.verify()


def test_recipes_and_names() -> None:
    assert recipe_arn("user-personalization") == RECIPE_UP
    assert recipe_arn("aws-sims") == "arn:aws:personalize:::recipe/aws-sims"
    assert recipe_arn("User_Personalization_V2").endswith("/aws-user-personalization-v2")
    arn = "arn:aws:personalize:::recipe/aws-hrnn"
    assert recipe_arn(arn) == arn
    assert recipe_type("popularity-count") == "POPULAR_ITEMS"
    assert recipe_type(arn) == "USER_PERSONALIZATION"  # legacy HRNN, still a known recipe
    assert recipe_type("arn:aws:personalize:::recipe/aws-not-yet-invented") is None
    assert recipe_type("aws-vod-top-picks") == "USER_PERSONALIZATION"  # a domain recipe
    assert len(RECIPES) == 12
    with pytest.raises(ConfigurationError, match="known:"):
        recipe_arn("deep-magic")
    assert resource_name("movies", "interactions") == "movies-interactions"
    long = resource_name("x" * 80, "y")
    assert len(long) == 63
    assert long != resource_name("x" * 80, "z")
    assert resource_name("-my group!") == "my-group"


def test_solution_metrics_typed() -> None:
    metrics = SolutionMetrics.from_response({"solutionVersionArn": SV, "metrics": METRICS})
    assert metrics.coverage == pytest.approx(0.27)
    assert metrics.ndcg_at_10 == pytest.approx(0.10)
    assert metrics.average_rewards_at_k is None
    frame = metrics.to_frame()
    assert frame.loc["precision_at_5", "value"] == pytest.approx(0.04)
    assert frame.loc["ndcg_at_10", "value"] == pytest.approx(0.10)  # one name per metric
    assert not any(name.startswith("normalized_") for name in frame.index)
    assert metrics.raw["normalized_discounted_cumulative_gain_at_10"] == pytest.approx(0.10)
    assert "precision_at_10" in metrics._repr_html_()
    assert "ndcg_at_5" in str(metrics)


def test_recommendations_typed() -> None:
    recs = Recommendations.from_response(
        {
            "itemList": [
                {"itemId": "a", "score": 0.5, "metadata": {"GENRES": "Comedy"}},
                {"itemId": "b", "reason": ["Promoted item"]},
            ],
            "recommendationId": "r",
        }
    )
    assert [r.item_id for r in recs] == ["a", "b"]
    assert recs[0] == Recommendation("a", 0.5, None, {"GENRES": "Comedy"}, ())
    assert recs[1].score is None
    assert recs[1].reason == ("Promoted item",)
    frame = recs.to_frame()
    assert list(frame["item_id"]) == ["a", "b"]
    assert frame.loc[0, "GENRES"] == "Comedy"
    assert len(recs) == 2
    assert "2 recommendations" in recs._repr_html_()


def test_teardown_order_is_reference_order() -> None:
    from personakit.personalize.teardown import KINDS

    order = sorted(KINDS.values(), key=lambda k: k.rank)
    ranks = {k.name: k.rank for k in order}
    assert ranks["solution_version"] < ranks["campaign"] < ranks["solution"]
    assert ranks["solution"] < ranks["event_tracker"] < ranks["filter"] < ranks["dataset"]
    assert ranks["dataset"] < ranks["dataset_group"] < ranks["schema"]


def test_exploration_only_for_user_personalization(env: Env) -> None:
    from personakit.personalize.solution import Solution

    group = object.__new__(DatasetGroup)
    group._ctx = None  # type: ignore[assignment]
    solution = object.__new__(Solution)
    solution.recipe_arn = "arn:aws:personalize:::recipe/aws-sims"
    solution.group = group
    with pytest.raises(ConfigurationError, match="User-Personalization"):
        Campaign.create(solution, exploration_weight=0.3)
    with pytest.raises(ConfigurationError, match="min_tps"):
        Campaign.create(solution, 0)


# --------------------------------------------------------------------------- more paths


def test_a_ctrl_c_in_teardown_is_deferred_until_the_teardown_is_done(env: Env) -> None:
    s = env.script
    expect_group(s)
    s.delete("dataset_group", DSG)
    s.describe("dataset_group", DSG, "DELETE PENDING")  # Ctrl-C while waiting for this
    s.describe("dataset_group", DSG, GONE)  # the teardown resumes: it only waits
    group = DatasetGroup.create(env.session, "movies", timing=env.timing)
    env.time.arm(KeyboardInterrupt(), "DescribeDatasetGroup")
    with pytest.raises(KeyboardInterrupt):  # delivered after the group is gone
        group.teardown()
    env.log.assert_deleted_and_gone(DSG, "DatasetGroup")
    assert group.teardown().deleted == ()  # nothing left for a second teardown
    env.verify()


def test_attach_import_s3_rank_and_promotions(env: Env) -> None:
    s = env.script
    s.ok(
        "list_dataset_groups",
        {"maxResults": 100},
        {"datasetGroups": [{"name": "movies", "datasetGroupArn": DSG}]},
    )
    s.ok(
        "describe_dataset_group",
        {"datasetGroupArn": DSG},
        {"datasetGroup": {"name": "movies", "datasetGroupArn": DSG, "status": "ACTIVE"}},
    )
    s.ok(
        "list_datasets",
        {"datasetGroupArn": DSG, "maxResults": 100},
        {
            "datasets": [
                {"name": "movies-interactions", "datasetArn": DS_I, "datasetType": "INTERACTIONS"}
            ]
        },
    )
    # import_s3 into the existing dataset: its schema is read and compared
    s.ok(
        "describe_dataset",
        {"datasetArn": DS_I},
        {"dataset": {"datasetArn": DS_I, "schemaArn": SCHEMA_I, "datasetType": "INTERACTIONS"}},
    )
    s.ok(
        "describe_schema",
        {"schemaArn": SCHEMA_I},
        {"schema": {"schemaArn": SCHEMA_I, "schema": SCHEMA_JSON_I}},
    )
    uri = f"s3://{BUCKET}/exports/interactions/"
    s.ok(
        "create_dataset_import_job",
        {
            "jobName": ANY,
            "datasetArn": DS_I,
            "dataSource": {"dataLocation": uri},
            "roleArn": ROLE,
            "importMode": "INCREMENTAL",
            "tags": TAGS,
        },
        {"datasetImportJobArn": JOB_I},
    )
    s.describe("dataset_import_job", JOB_I, "ACTIVE")
    ranking = "arn:aws:personalize:::recipe/aws-personalized-ranking"
    s.ok(
        "create_solution",
        {
            "name": "rank",
            "datasetGroupArn": DSG,
            "recipeArn": ranking,
            "performHPO": False,
            "performAutoTraining": False,
            "tags": TAGS,
        },
        {"solutionArn": SOL},
    )
    s.describe("solution", SOL, "ACTIVE")
    s.ok(
        "create_solution_version",
        {"solutionArn": SOL, "name": ANY, "trainingMode": "FULL", "tags": TAGS},
        {"solutionVersionArn": SV},
    )
    s.describe("solution_version", SV, "ACTIVE")
    s.ok(
        "create_campaign",
        {
            "name": "rank-run-1",
            "solutionVersionArn": SV,
            "minProvisionedTPS": 1,
            "campaignConfig": {"enableMetadataWithRecommendations": True},
            "tags": TAGS,
        },
        {"campaignArn": CAMP},
    )
    s.describe("campaign", CAMP, "ACTIVE")
    flt = f"{DSG}-filter"
    s.ok(
        "create_filter",
        {"name": ANY, "datasetGroupArn": DSG, "filterExpression": NO_HORROR, "tags": TAGS},
        {"filterArn": flt},
    )
    s.describe("filter", flt, "ACTIVE")
    env.rt.ok(
        "get_personalized_ranking",
        {
            "campaignArn": CAMP,
            "userId": "u1",
            "inputList": ["i1", "i2"],
            "filterArn": flt,
            "context": {"DEVICE": "mobile"},
            "metadataColumns": {"ITEMS": ["GENRES"]},
        },
        {
            "personalizedRanking": [
                {"itemId": "i2", "score": 0.7, "metadata": {"GENRES": "Comedy"}},
                {"itemId": "i1", "score": 0.3, "metadata": {"GENRES": "Drama"}},
            ],
            "recommendationId": "RID-2",
        },
    )
    env.rt.ok(
        "get_personalized_ranking",
        {"campaignArn": CAMP, "userId": "u2", "inputList": ["i1"], "filterArn": flt},
        {"personalizedRanking": [{"itemId": "i1"}]},
    )
    s.delete("campaign", CAMP)
    s.describe("campaign", CAMP, GONE)
    s.delete("solution", SOL)
    s.describe("solution", SOL, GONE)
    s.delete("filter", flt)
    s.describe("filter", flt, GONE)
    with DatasetGroup.attach(env.session, "movies", timing=env.timing) as group:
        assert group.owned is False
        dataset = group.import_s3(uri, "interactions", SCHEMA_JSON_I, mode="INCREMENTAL")
        assert dataset.imports[-1].source == uri
        solution = group.train("personalized-ranking", name="rank")
        with solution.deploy(enable_metadata=True) as campaign:
            with pytest.raises(ConfigurationError, match="rank"):
                campaign.recommend(user_id="u1")
            ranked = campaign.rank(
                "u1",
                ["i1", "i2"],
                filter=NO_HORROR,
                context={"DEVICE": "mobile"},
                metadata_columns=["GENRES"],
            )
            assert ranked.item_ids == ["i2", "i1"]
            assert ranked.to_frame()["GENRES"].tolist() == ["Comedy", "Drama"]
            # the same expression reuses the filter created a moment ago
            assert campaign.rank("u2", ["i1"], filter=NO_HORROR)[0].score is None
    # the attached group and its dataset were not ours: not deleted
    assert "DeleteDatasetGroup" not in env.log.ops()
    assert "DeleteDataset" not in env.log.ops()
    assert env.log.ops().count("CreateFilter") == 1
    env.verify()


def test_recommend_with_promotion_and_filter_arn(env: Env) -> None:
    s = env.script
    for step in ("group", "import_interactions", "train"):
        expect_step(s, step)
    expect_deploy(s)
    promo = f"{DSG}-promo"
    env.rt.ok(
        "get_recommendations",
        {
            "campaignArn": CAMP,
            "numResults": 5,
            "userId": "u1",
            "filterArn": promo,
            "promotions": [{"name": "new", "percentPromotedItems": 20, "filterArn": promo}],
        },
        {"itemList": [{"itemId": "i9", "promotionName": "new"}], "recommendationId": "R"},
    )
    expect_teardown(s, ["group", "import_interactions", "train", "deploy"])
    with DatasetGroup.create(env.session, "movies", timing=env.timing) as group:
        group.import_frame(interactions())
        solution = group.train("user-personalization", name="movies-up")
        with solution.deploy() as campaign:
            with pytest.raises(ConfigurationError, match="user_id"):
                campaign.recommend(n=5)
            with pytest.raises(ConfigurationError, match="between 1 and 500"):
                campaign.recommend("u1", n=501)
            recs = campaign.recommend(
                "u1",
                n=5,
                filter=promo,
                promotions=[{"name": "new", "percent": 20, "filter": promo}],
            )
            assert recs[0].promotion_name == "new"
    assert_all_gone(env)


def test_filter_objects_are_checked_created_once_and_bound(env: Env) -> None:
    from personakit.rules.filters import Filter

    s = env.script
    for step in ("group", "import_interactions", "import_items", "train", "deploy"):
        expect_step(s, step)
    expression = "EXCLUDE ItemID WHERE Items.GENRES IN ($genres)"
    s.ok(
        "create_filter",
        {"name": ANY, "datasetGroupArn": DSG, "filterExpression": expression, "tags": TAGS},
        {"filterArn": FLT},
    )
    s.describe("filter", FLT, "ACTIVE")
    for _ in range(2):
        env.rt.ok(
            "get_recommendations",
            {
                "campaignArn": CAMP,
                "numResults": 10,
                "userId": "u1",
                "filterArn": FLT,
                "filterValues": {"genres": '"Horror","Gore"'},
            },
            {"itemList": [{"itemId": "i1"}]},
        )
    expect_teardown(
        s, ["group", "import_interactions", "import_items", "train", "deploy", "recommend"]
    )
    genres = Filter.exclude_items("Items.GENRES IN ($genres)")
    with DatasetGroup.create(env.session, "movies", timing=env.timing) as group:
        group.import_frame(interactions())
        group.import_frame(items(), dataset_type="items")
        solution = group.train("user-personalization", name="movies-up")
        with solution.deploy() as campaign:
            for _ in range(2):  # the second request reuses the filter
                campaign.recommend(
                    "u1", n=10, filter=genres, filter_values={"genres": ["Horror", "Gore"]}
                )
            # checked before CreateFilter: a field the Items schema does not have
            with pytest.raises(ValidationError, match="COLOR"):
                campaign.recommend("u1", filter='EXCLUDE ItemID WHERE Items.COLOR IN ("red")')
            # checked before the request: a placeholder the filter does not have
            with pytest.raises(ValidationError, match="Genres"):
                campaign.recommend("u1", filter=genres, filter_values={"Genres": ["Horror"]})
    assert env.log.ops().count("CreateFilter") == 1
    assert_all_gone(env)
