"""The Personalize control-plane twin: the whole lifecycle, every response shape-checked.

Statuses are observed by polling (the engine works in background threads on real
time); error codes and messages are the service's; deletion order is enforced as
AWS enforces it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _twin_helpers import (
    ITEMS_SCHEMA,
    RECIPE,
    ROLE,
    Checked,
    Clients,
    Group,
    deploy,
    interactions,
    items_frame,
    make_group,
    poll,
    put_csv,
    schema_json,
    status_of,
)
from botocore.exceptions import ClientError

from personakit.local import LocalEngine

A = "arn:aws:personalize:us-east-1:000000000000"
WALK = ["CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE"]


def code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def message(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Message"])


@pytest.fixture
def slow(tmp_path: Path) -> Any:
    """Clients of an engine whose statuses last 50 ms, so every step of a walk is seen."""
    with LocalEngine(tmp_path / "slow", min_state_s=0.05) as eng:
        s3 = Checked(eng.client("s3"))
        s3.create_bucket(Bucket="pk-test")
        yield Clients(
            eng,
            Checked(eng.client("personalize")),
            s3,
            Checked(eng.client("personalize-runtime")),
            Checked(eng.client("personalize-events")),
        )


def test_the_whole_lifecycle_walks_real_statuses(slow: Clients) -> None:
    c = slow
    pz = c.pz
    group = pz.create_dataset_group(name="movies", tags=[{"tagKey": "k", "tagValue": "v"}])
    arn = group["datasetGroupArn"]
    assert arn == f"{A}:dataset-group/movies"
    assert poll(status_of(pz, "dataset_group", arn)) == WALK
    schema = pz.create_schema(name="movies-interactions", schema=interactions_schema())
    assert pz.describe_schema(schemaArn=schema["schemaArn"])["schema"]["schema"] == (
        interactions_schema()
    )
    dataset = pz.create_dataset(
        name="movies-interactions",
        schemaArn=schema["schemaArn"],
        datasetGroupArn=arn,
        datasetType="Interactions",
    )["datasetArn"]
    assert dataset == f"{A}:dataset/movies/INTERACTIONS"
    assert poll(status_of(pz, "dataset", dataset)) == WALK
    uri = put_csv(c.s3, "in/interactions.csv", interactions(event_types=["watched", "rated"]))
    job = pz.create_dataset_import_job(
        jobName="movies-1", datasetArn=dataset, dataSource={"dataLocation": uri}, roleArn=ROLE
    )["datasetImportJobArn"]
    assert poll(status_of(pz, "import_job", job)) == WALK
    described = pz.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"]
    assert described["importMode"] == "FULL"
    assert described["dataSource"] == {"dataLocation": uri}
    solution = pz.create_solution(
        name="movies-pop", datasetGroupArn=arn, recipeArn=RECIPE + "aws-popularity-count"
    )["solutionArn"]
    assert poll(status_of(pz, "solution", solution)) == WALK
    assert pz.describe_solution(solutionArn=solution)["solution"]["performAutoTraining"] is True
    version = pz.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    assert version.startswith(f"{solution}/")
    assert poll(status_of(pz, "version", version)) == WALK
    sv = pz.describe_solution_version(solutionVersionArn=version)["solutionVersion"]
    assert sv["trainingMode"] == "FULL"
    assert sv["trainingHours"] >= 0
    latest = pz.describe_solution(solutionArn=solution)["solution"]["latestSolutionVersion"]
    assert latest["solutionVersionArn"] == version
    metrics = pz.get_solution_metrics(solutionVersionArn=version)["metrics"]
    assert {"coverage", "precision_at_10", "normalized_discounted_cumulative_gain_at_25"} <= set(
        metrics
    )
    campaign = pz.create_campaign(name="movies-pop", solutionVersionArn=version)["campaignArn"]
    assert poll(status_of(pz, "campaign", campaign)) == WALK
    assert pz.describe_campaign(campaignArn=campaign)["campaign"]["minProvisionedTPS"] == 1
    recs = c.runtime.get_recommendations(campaignArn=campaign, userId="u1")
    assert len(recs["itemList"]) == 25
    # update: the old configuration serves until the update is ACTIVE
    pz.update_campaign(campaignArn=campaign, minProvisionedTPS=3)
    update_walk = poll(
        lambda: pz.describe_campaign(campaignArn=campaign)["campaign"]["latestCampaignUpdate"][
            "status"
        ]
    )
    assert update_walk == WALK
    assert pz.describe_campaign(campaignArn=campaign)["campaign"]["minProvisionedTPS"] == 3
    tracker = pz.create_event_tracker(name="movies-events", datasetGroupArn=arn)
    assert poll(status_of(pz, "event_tracker", tracker["eventTrackerArn"])) == WALK
    flt = pz.create_filter(
        name="no-horror",
        datasetGroupArn=arn,
        filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watched")',
    )["filterArn"]
    assert poll(status_of(pz, "filter", flt)) == WALK
    # lists see everything, filtered by parent
    assert [d["datasetArn"] for d in pz.list_datasets(datasetGroupArn=arn)["datasets"]] == [dataset]
    assert [j["datasetImportJobArn"] for j in pz.list_dataset_import_jobs()["datasetImportJobs"]]
    assert (
        pz.list_solution_versions(solutionArn=solution)["solutionVersions"][0]["solutionVersionArn"]
        == version
    )
    assert pz.list_campaigns(solutionArn=solution)["campaigns"][0]["campaignArn"] == campaign
    assert pz.list_filters(datasetGroupArn=arn)["Filters"][0]["filterArn"] == flt
    assert pz.list_event_trackers(datasetGroupArn=arn)["eventTrackers"]
    # teardown in dependency order, each delete observed until gone
    for kind, arn_, delete in (
        ("campaign", campaign, lambda: pz.delete_campaign(campaignArn=campaign)),
        ("solution", solution, lambda: pz.delete_solution(solutionArn=solution)),
        ("event_tracker", tracker["eventTrackerArn"], None),
        ("filter", flt, lambda: pz.delete_filter(filterArn=flt)),
        ("dataset", dataset, lambda: pz.delete_dataset(datasetArn=dataset)),
        ("dataset_group", arn, lambda: pz.delete_dataset_group(datasetGroupArn=arn)),
    ):
        if delete is None:
            pz.delete_event_tracker(eventTrackerArn=arn_)
        else:
            delete()
        walk = poll(status_of(pz, kind, arn_), until=("GONE",))
        assert walk[0] == "DELETE PENDING", (kind, walk)
        assert walk[-1] == "GONE"
    with pytest.raises(pz.exceptions.ResourceNotFoundException):
        pz.describe_solution_version(solutionVersionArn=version)  # went with its solution
    pz.delete_schema(schemaArn=schema["schemaArn"])
    for listing, key in (
        (pz.list_dataset_groups(), "datasetGroups"),
        (pz.list_schemas(), "schemas"),
        (pz.list_solutions(), "solutions"),
        (pz.list_campaigns(), "campaigns"),
        (pz.list_datasets(), "datasets"),
        (pz.list_dataset_import_jobs(), "datasetImportJobs"),
        (pz.list_filters(), "Filters"),
        (pz.list_event_trackers(), "eventTrackers"),
    ):
        assert listing[key] == [], key


def interactions_schema() -> str:
    return schema_json(
        "Interactions",
        [
            {"name": "USER_ID", "type": "string"},
            {"name": "ITEM_ID", "type": "string"},
            {"name": "TIMESTAMP", "type": "long"},
            {"name": "EVENT_TYPE", "type": ["null", "string"]},
        ],
    )


def test_unknown_arns_are_resource_not_found(clients: Clients) -> None:
    pz = clients.pz
    for method, key, kind in (
        ("describe_dataset_group", "datasetGroupArn", "dataset-group/x"),
        ("describe_dataset", "datasetArn", "dataset/x/INTERACTIONS"),
        ("describe_dataset_import_job", "datasetImportJobArn", "dataset-import-job/x"),
        ("describe_schema", "schemaArn", "schema/x"),
        ("describe_solution", "solutionArn", "solution/x"),
        ("describe_solution_version", "solutionVersionArn", "solution/x/12345678"),
        ("describe_campaign", "campaignArn", "campaign/x"),
        ("describe_recommender", "recommenderArn", "recommender/x"),
        ("describe_event_tracker", "eventTrackerArn", "event-tracker/x"),
        ("describe_filter", "filterArn", "filter/x"),
        ("delete_dataset_group", "datasetGroupArn", "dataset-group/x"),
        ("delete_campaign", "campaignArn", "campaign/x"),
        ("get_solution_metrics", "solutionVersionArn", "solution/x/12345678"),
        ("list_tags_for_resource", "resourceArn", "campaign/x"),
    ):
        arn = f"{A}:{kind}"
        with pytest.raises(ClientError) as info:
            getattr(pz, method)(**{key: arn})
        assert code(info) == "ResourceNotFoundException", method
        assert message(info) == f"Resource Arn {arn} does not exist."
    with pytest.raises(pz.exceptions.ResourceNotFoundException):
        pz.create_solution(
            name="s",
            datasetGroupArn=f"{A}:dataset-group/x",
            recipeArn=RECIPE + "aws-popularity-count",
        )


def test_duplicates_are_resource_already_exists(clients: Clients, group: Group) -> None:
    pz = clients.pz
    with pytest.raises(pz.exceptions.ResourceAlreadyExistsException) as info:
        pz.create_dataset_group(name="movies")
    assert message(info) == f"Another resource with Arn {group.arn} already exists."
    with pytest.raises(pz.exceptions.ResourceAlreadyExistsException):
        pz.create_schema(name="movies-interactions", schema=interactions_schema())
    with pytest.raises(pz.exceptions.ResourceAlreadyExistsException):  # one per dataset type
        pz.create_dataset(
            name="another",
            schemaArn=group.schema_arn,
            datasetGroupArn=group.arn,
            datasetType="Interactions",
        )
    pz.create_event_tracker(name="t1", datasetGroupArn=group.arn)
    with pytest.raises(pz.exceptions.ResourceAlreadyExistsException):  # one per dataset group
        pz.create_event_tracker(name="t2", datasetGroupArn=group.arn)


def test_wrong_order_deletes_are_resource_in_use(clients: Clients, group: Group) -> None:
    pz = clients.pz
    with pytest.raises(pz.exceptions.ResourceInUseException) as info:
        pz.delete_dataset_group(datasetGroupArn=group.arn)
    assert "1 datasets" in message(info)
    with pytest.raises(pz.exceptions.ResourceInUseException):
        pz.delete_schema(schemaArn=group.schema_arn)
    deployed = deploy(clients, group, "aws-popularity-count")
    with pytest.raises(pz.exceptions.ResourceInUseException) as info:
        pz.delete_solution(solutionArn=deployed.solution_arn)
    assert deployed.campaign_arn in message(info)
    with pytest.raises(pz.exceptions.ResourceInUseException) as info:
        pz.delete_dataset_group(datasetGroupArn=group.arn)
    assert "1 datasets, 1 solutions" in message(info)
    # something in flight cannot be deleted; deleting twice is in use too
    new_group = pz.create_dataset_group(name="fresh")["datasetGroupArn"]
    with pytest.raises(pz.exceptions.ResourceInUseException):
        pz.delete_dataset_group(datasetGroupArn=new_group)
    poll(status_of(pz, "dataset_group", new_group))
    pz.delete_dataset_group(datasetGroupArn=new_group)
    with pytest.raises(pz.exceptions.ResourceInUseException, match="already being deleted"):
        pz.delete_dataset_group(datasetGroupArn=new_group)


def test_dataset_with_an_import_in_progress_is_in_use(tmp_path: Path) -> None:
    with LocalEngine(tmp_path / "ws", min_state_s=0.5) as eng:
        c = Clients(
            eng,
            eng.client("personalize"),
            eng.client("s3"),
            eng.client("personalize-runtime"),
            eng.client("personalize-events"),
        )
        c.s3.create_bucket(Bucket="pk-test")
        eng.min_state_s = 0.0
        group = make_group(c)
        eng.min_state_s = 0.5
        uri = put_csv(c.s3, "again.csv", interactions())
        c.pz.create_dataset_import_job(
            jobName="again", datasetArn=group.dataset_arn, dataSource={"dataLocation": uri}
        )
        with pytest.raises(c.pz.exceptions.ResourceInUseException, match="again"):
            c.pz.delete_dataset(datasetArn=group.dataset_arn)


def test_sixth_pending_import_is_limit_exceeded(tmp_path: Path) -> None:
    with LocalEngine(tmp_path / "ws", min_state_s=0.0) as eng:
        pz, s3 = eng.client("personalize"), eng.client("s3")
        s3.create_bucket(Bucket="pk-test")
        c = Clients(eng, pz, s3, None, None)
        group = make_group(c)
        eng.min_state_s = 2.0  # keep the next jobs PENDING
        uri = put_csv(s3, "more.csv", interactions())
        for i in range(5):
            pz.create_dataset_import_job(
                jobName=f"job-{i}",
                datasetArn=group.dataset_arn,
                dataSource={"dataLocation": uri},
                importMode="INCREMENTAL",
            )
        with pytest.raises(pz.exceptions.LimitExceededException) as info:
            pz.create_dataset_import_job(
                jobName="job-6", datasetArn=group.dataset_arn, dataSource={"dataLocation": uri}
            )
        assert message(info) == "More than 5 resources with PENDING or IN_PROGRESS status."


def test_bad_schemas_are_invalid_input_listing_every_problem(clients: Clients) -> None:
    pz = clients.pz
    bad = schema_json(
        "Interactions",
        [
            {"name": "USER_ID", "type": "string"},
            {"name": "TIMESTAMP", "type": "string"},
            {"name": "EVENT_TYPE", "type": "string", "categorical": True},
        ],
    )
    with pytest.raises(pz.exceptions.InvalidInputException) as info:
        pz.create_schema(name="bad", schema=bad)
    text = message(info)
    assert "ITEM_ID" in text
    assert "TIMESTAMP must be of type long" in text
    assert "EVENT_TYPE cannot be categorical" in text
    with pytest.raises(pz.exceptions.InvalidInputException, match="not valid JSON"):
        pz.create_schema(name="bad2", schema="{not json")
    with pytest.raises(pz.exceptions.InvalidInputException):
        pz.create_schema(name="bad3", schema=schema_json("Ratings", [{"name": "A", "type": "int"}]))
    assert pz.list_schemas()["schemas"] == []


def test_schema_and_dataset_must_agree(clients: Clients) -> None:
    pz = clients.pz
    arn = pz.create_dataset_group(name="g")["datasetGroupArn"]
    poll(status_of(pz, "dataset_group", arn))
    items = pz.create_schema(name="items", schema=ITEMS_SCHEMA)["schemaArn"]
    with pytest.raises(pz.exceptions.InvalidInputException, match="for Items datasets"):
        pz.create_dataset(name="d", schemaArn=items, datasetGroupArn=arn, datasetType="Users")
    domain = pz.create_schema(name="ecomm", schema=ecommerce_schema(), domain="ECOMMERCE")
    with pytest.raises(pz.exceptions.InvalidInputException, match="domain"):
        pz.create_dataset(
            name="d",
            schemaArn=domain["schemaArn"],
            datasetGroupArn=arn,
            datasetType="Interactions",
        )


def test_csv_checked_against_the_schema(clients: Clients, group: Group) -> None:
    pz, s3 = clients.pz, clients.s3
    frame = interactions().drop(columns=["TIMESTAMP"])
    uri = put_csv(s3, "missing.csv", frame)
    job = pz.create_dataset_import_job(
        jobName="missing", datasetArn=group.dataset_arn, dataSource={"dataLocation": uri}
    )["datasetImportJobArn"]
    assert poll(status_of(pz, "import_job", job))[-1] == "CREATE FAILED"
    described = pz.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"]
    assert described["failureReason"] == "Input CSV is missing the following columns: [TIMESTAMP]"
    typed = interactions()
    typed["TIMESTAMP"] = "yesterday"
    job = pz.create_dataset_import_job(
        jobName="typed",
        datasetArn=group.dataset_arn,
        dataSource={"dataLocation": put_csv(s3, "typed.csv", typed)},
    )["datasetImportJobArn"]
    assert poll(status_of(pz, "import_job", job))[-1] == "CREATE FAILED"
    reason = pz.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"][
        "failureReason"
    ]
    assert reason == (
        "Failed to parse s3://pk-test/typed.csv: column TIMESTAMP (long): invalid value 'yesterday'"
    )
    job = pz.create_dataset_import_job(
        jobName="nowhere",
        datasetArn=group.dataset_arn,
        dataSource={"dataLocation": "s3://pk-test/none/"},
    )["datasetImportJobArn"]
    assert poll(status_of(pz, "import_job", job))[-1] == "CREATE FAILED"
    with pytest.raises(pz.exceptions.InvalidInputException, match="Invalid Data location"):
        pz.create_dataset_import_job(
            jobName="bad-uri",
            datasetArn=group.dataset_arn,
            dataSource={"dataLocation": "https://example.com/x.csv"},
        )


def test_a_prefix_imports_every_csv_in_it(clients: Clients, group: Group) -> None:
    pz, s3 = clients.pz, clients.s3
    frame = interactions(n=2000, seed=3)
    put_csv(s3, "parts/a.csv", frame.iloc[:1000])
    put_csv(s3, "parts/b.csv", frame.iloc[1000:])
    s3.put_object(Bucket="pk-test", Key="parts/readme.txt", Body=b"not data")
    job = pz.create_dataset_import_job(
        jobName="parts",
        datasetArn=group.dataset_arn,
        dataSource={"dataLocation": "s3://pk-test/parts/"},
    )["datasetImportJobArn"]
    assert poll(status_of(pz, "import_job", job))[-1] == "ACTIVE"
    from personakit.rules.schema import DatasetType

    data = clients.engine.control.group_data(group.arn)
    assert len(data.table(DatasetType.INTERACTIONS)) == 2000  # FULL replaced the first import


def test_incremental_items_import_replaces_same_ids(clients: Clients, group: Group) -> None:
    pz, s3 = clients.pz, clients.s3
    schema = pz.create_schema(name="items", schema=ITEMS_SCHEMA)["schemaArn"]
    dataset = pz.create_dataset(
        name="items", schemaArn=schema, datasetGroupArn=group.arn, datasetType="Items"
    )["datasetArn"]
    poll(status_of(pz, "dataset", dataset))
    with pytest.raises(pz.exceptions.InvalidInputException, match="FULL"):
        pz.create_dataset_import_job(
            jobName="too-early",
            datasetArn=dataset,
            dataSource={"dataLocation": "s3://pk-test/x.csv"},
            importMode="INCREMENTAL",
        )
    first = items_frame(10)
    job = pz.create_dataset_import_job(
        jobName="items-1",
        datasetArn=dataset,
        dataSource={"dataLocation": put_csv(s3, "items1.csv", first)},
    )["datasetImportJobArn"]
    assert poll(status_of(pz, "import_job", job))[-1] == "ACTIVE"
    second = first.iloc[:3].copy()
    second["ITEM_ID"] = ["i0", "i1", "i99"]
    second["GENRES"] = "Western"
    job = pz.create_dataset_import_job(
        jobName="items-2",
        datasetArn=dataset,
        dataSource={"dataLocation": put_csv(s3, "items2.csv", second)},
        importMode="INCREMENTAL",
    )["datasetImportJobArn"]
    assert poll(status_of(pz, "import_job", job))[-1] == "ACTIVE"
    from personakit.rules.schema import DatasetType

    table = clients.engine.control.group_data(group.arn).table(DatasetType.ITEMS)
    ids, values = table.column("ITEM_ID").to_pylist(), table.column("GENRES").to_pylist()
    genres = dict(zip(ids, values, strict=True))
    assert len(genres) == 11
    assert genres["i0"] == genres["i1"] == genres["i99"] == "Western"
    assert genres["i2"] == first.loc[2, "GENRES"]


def test_training_minimums_fail_with_personalizes_reasons(clients: Clients) -> None:
    pz = clients.pz
    few = make_group(clients, "few", frame=interactions(n=900))
    solution = pz.create_solution(
        name="few", datasetGroupArn=few.arn, recipeArn=RECIPE + "aws-popularity-count"
    )["solutionArn"]
    poll(status_of(pz, "solution", solution))
    version = pz.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    assert poll(status_of(pz, "version", version))[-1] == "CREATE FAILED"
    described = pz.describe_solution_version(solutionVersionArn=version)["solutionVersion"]
    assert described["failureReason"] == "Create failed. Dataset has fewer than 1000 interactions."
    with pytest.raises(pz.exceptions.ResourceInUseException):
        pz.get_solution_metrics(solutionVersionArn=version)
    lonely = make_group(clients, "lonely", frame=interactions(n=1200, users=20))
    solution = pz.create_solution(
        name="lonely", datasetGroupArn=lonely.arn, recipeArn=RECIPE + "aws-popularity-count"
    )["solutionArn"]
    poll(status_of(pz, "solution", solution))
    version = pz.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    assert poll(status_of(pz, "version", version))[-1] == "CREATE FAILED"
    assert pz.describe_solution_version(solutionVersionArn=version)["solutionVersion"][
        "failureReason"
    ] == ("Create failed. Dataset has fewer than 25 users with at least 2 interactions each.")


def test_event_type_filters_before_the_minimums(clients: Clients) -> None:
    pz = clients.pz
    frame = interactions(n=1500, event_types=["click", "watch"])
    schema = interactions_schema()
    group = make_group(clients, "typed", frame=frame, schema=schema)
    solution = pz.create_solution(
        name="typed",
        datasetGroupArn=group.arn,
        recipeArn=RECIPE + "aws-popularity-count",
        eventType="watch",
    )["solutionArn"]
    poll(status_of(pz, "solution", solution))
    version = pz.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    assert poll(status_of(pz, "version", version))[-1] == "CREATE FAILED"
    assert pz.describe_solution_version(solutionVersionArn=version)["solutionVersion"][
        "failureReason"
    ] == (
        "Create failed. Dataset has fewer than 1000 interactions after filtering by event "
        "type: watch"
    )


def test_stopping_a_solution_version(tmp_path: Path) -> None:
    with LocalEngine(tmp_path / "ws", min_state_s=0.0) as eng:
        pz, s3 = Checked(eng.client("personalize")), eng.client("s3")
        s3.create_bucket(Bucket="pk-test")
        group = make_group(Clients(eng, pz, s3, None, None))
        solution = pz.create_solution(
            name="s", datasetGroupArn=group.arn, recipeArn=RECIPE + "aws-popularity-count"
        )["solutionArn"]
        poll(status_of(pz, "solution", solution))
        eng.min_state_s = 0.3
        pending = pz.create_solution_version(solutionArn=solution)["solutionVersionArn"]
        pz.stop_solution_version_creation(solutionVersionArn=pending)
        assert poll(status_of(pz, "version", pending), until=("CREATE STOPPED",)) == [
            "CREATE STOPPED"
        ]
        running = pz.create_solution_version(solutionArn=solution)["solutionVersionArn"]
        poll(status_of(pz, "version", running), until=("CREATE IN_PROGRESS",))
        pz.stop_solution_version_creation(solutionVersionArn=running)
        walk = poll(status_of(pz, "version", running), until=("CREATE STOPPED",))
        assert walk == ["CREATE STOPPING", "CREATE STOPPED"]
        with pytest.raises(pz.exceptions.ResourceInUseException):
            pz.stop_solution_version_creation(solutionVersionArn=running)
        assert not (eng.store.artifacts / "models").exists() or not any(
            (eng.store.artifacts / "models").iterdir()
        )


def test_solution_options_and_updates(clients: Clients, group: Group) -> None:
    pz = clients.pz
    with pytest.raises(pz.exceptions.ResourceNotFoundException):
        pz.create_solution(name="s", datasetGroupArn=group.arn, recipeArn=RECIPE + "aws-nope")
    with pytest.raises(pz.exceptions.InvalidInputException, match="aws-next-best-action"):
        pz.create_solution(
            name="s", datasetGroupArn=group.arn, recipeArn=RECIPE + "aws-next-best-action"
        )
    with pytest.raises(pz.exceptions.InvalidInputException, match="recommender"):
        pz.create_solution(
            name="s", datasetGroupArn=group.arn, recipeArn=RECIPE + "aws-vod-top-picks"
        )
    solution = pz.create_solution(
        name="s",
        datasetGroupArn=group.arn,
        recipeArn=RECIPE + "aws-popularity-count",
        solutionConfig={"autoTrainingConfig": {"schedulingExpression": "rate(3 days)"}},
    )["solutionArn"]
    poll(status_of(pz, "solution", solution))
    pz.update_solution(solutionArn=solution, performAutoTraining=False)
    walk = poll(
        lambda: pz.describe_solution(solutionArn=solution)["solution"]["latestSolutionUpdate"][
            "status"
        ]
    )
    assert walk[-1] == "ACTIVE"
    described = pz.describe_solution(solutionArn=solution)["solution"]
    assert described["performAutoTraining"] is False
    assert described["solutionConfig"]["autoTrainingConfig"] == {
        "schedulingExpression": "rate(3 days)"
    }
    with pytest.raises(pz.exceptions.InvalidInputException, match="UPDATE"):
        pz.create_solution_version(solutionArn=solution, trainingMode="UPDATE")


def test_recipes(clients: Clients) -> None:
    pz = clients.pz
    recipes = {r["name"]: r for r in pz.list_recipes()["recipes"]}
    assert "aws-user-personalization" in recipes
    assert "aws-ecomm-recommended-for-you" in recipes
    vod = pz.list_recipes(domain="VIDEO_ON_DEMAND")["recipes"]
    assert vod
    assert all(r["name"].startswith("aws-vod-") for r in vod)
    sims = pz.describe_recipe(recipeArn=RECIPE + "aws-sims")["recipe"]
    assert sims["recipeType"] == "RELATED_ITEMS"


def test_tags(clients: Clients, group: Group) -> None:
    pz = clients.pz
    pz.tag_resource(resourceArn=group.arn, tags=[{"tagKey": "team", "tagValue": "recs"}])
    pz.tag_resource(resourceArn=group.arn, tags=[{"tagKey": "team", "tagValue": "ml"}])
    assert pz.list_tags_for_resource(resourceArn=group.arn)["tags"] == [
        {"tagKey": "team", "tagValue": "ml"}
    ]
    pz.untag_resource(resourceArn=group.arn, tagKeys=["team"])
    assert pz.list_tags_for_resource(resourceArn=group.arn)["tags"] == []
    many = [{"tagKey": f"k{i}", "tagValue": "v"} for i in range(51)]
    with pytest.raises(pz.exceptions.TooManyTagsException):
        pz.tag_resource(resourceArn=group.arn, tags=many)
    job = pz.describe_dataset_import_job(datasetImportJobArn=group.job_arn)
    assert job["datasetImportJob"]["status"] == "ACTIVE"
    tagged = pz.create_dataset_group(name="tagged", tags=[{"tagKey": "a", "tagValue": "b"}])
    assert pz.list_tags_for_resource(resourceArn=tagged["datasetGroupArn"])["tags"] == [
        {"tagKey": "a", "tagValue": "b"}
    ]


def test_campaign_rules(clients: Clients, group: Group) -> None:
    pz = clients.pz
    deployed = deploy(clients, group, "aws-popularity-count")
    solution = deployed.solution_arn
    latest = pz.create_campaign(
        name="latest",
        solutionVersionArn=f"{solution}/$LATEST",
        campaignConfig={"syncWithLatestSolutionVersion": True},
    )["campaignArn"]
    poll(status_of(pz, "campaign", latest))
    with pytest.raises(pz.exceptions.InvalidInputException, match=r"\$LATEST"):
        pz.create_campaign(
            name="nolatest",
            solutionVersionArn=deployed.version_arn,
            campaignConfig={"syncWithLatestSolutionVersion": True},
        )
    clients.engine.min_state_s = 60.0  # the next campaigns stay CREATE PENDING
    for i in range(3):
        pz.create_campaign(name=f"more-{i}", solutionVersionArn=deployed.version_arn)
    with pytest.raises(pz.exceptions.LimitExceededException) as info:
        pz.create_campaign(name="sixth", solutionVersionArn=deployed.version_arn)
    assert message(info) == (
        "Cannot create a campaign. More than 5 resources in ACTIVE state. "
        "Please delete some and try again."
    )
    with pytest.raises(pz.exceptions.ResourceInUseException):  # still CREATE PENDING
        pz.update_campaign(campaignArn=f"{A}:campaign/more-0", minProvisionedTPS=2)


def ecommerce_schema() -> str:
    return schema_json(
        "Interactions",
        [
            {"name": "USER_ID", "type": "string"},
            {"name": "ITEM_ID", "type": "string"},
            {"name": "TIMESTAMP", "type": "long"},
            {"name": "EVENT_TYPE", "type": "string"},
        ],
    )


def test_domain_group_recommender_lifecycle(clients: Clients) -> None:
    pz = clients.pz
    frame = interactions(n=2400, event_types=["View", "View", "Purchase"])
    group = make_group(clients, "shop", frame=frame, schema=ecommerce_schema(), domain="ECOMMERCE")
    described = pz.describe_dataset_group(datasetGroupArn=group.arn)["datasetGroup"]
    assert described["domain"] == "ECOMMERCE"
    with pytest.raises(pz.exceptions.InvalidInputException, match="not a ECOMMERCE use case"):
        pz.create_recommender(
            name="r", datasetGroupArn=group.arn, recipeArn=RECIPE + "aws-vod-top-picks"
        )
    rec = pz.create_recommender(
        name="views",
        datasetGroupArn=group.arn,
        recipeArn=RECIPE + "aws-ecomm-popular-items-by-views",
    )["recommenderArn"]
    assert poll(status_of(pz, "recommender", rec)) == WALK
    described = pz.describe_recommender(recommenderArn=rec)["recommender"]
    assert described["recommenderConfig"]["minRecommendationRequestsPerSecond"] == 1
    assert "coverage" in described["modelMetrics"]
    items = clients.runtime.get_recommendations(recommenderArn=rec, userId="u3", numResults=5)
    assert len(items["itemList"]) == 5
    pz.stop_recommender(recommenderArn=rec)
    assert poll(status_of(pz, "recommender", rec), until=("INACTIVE",))[-1] == "INACTIVE"
    with pytest.raises(clients.runtime.exceptions.ResourceNotFoundException):
        clients.runtime.get_recommendations(recommenderArn=rec, userId="u3")
    pz.start_recommender(recommenderArn=rec)
    assert poll(status_of(pz, "recommender", rec))[-1] == "ACTIVE"
    buys = pz.create_recommender(
        name="buys",
        datasetGroupArn=group.arn,
        recipeArn=RECIPE + "aws-ecomm-popular-items-by-purchases",
    )["recommenderArn"]
    assert poll(status_of(pz, "recommender", buys))[-1] == "CREATE FAILED"
    assert pz.describe_recommender(recommenderArn=buys)["recommender"]["failureReason"] == (
        "Dataset has fewer than 1000 interactions after filtering by event type: Purchase"
    )
    with pytest.raises(pz.exceptions.ResourceInUseException, match="2 recommenders"):
        pz.delete_dataset_group(datasetGroupArn=group.arn)
    pz.delete_recommender(recommenderArn=rec)
    assert poll(status_of(pz, "recommender", rec), until=("GONE",))[-1] == "GONE"


def test_custom_groups_cannot_have_recommenders(clients: Clients, group: Group) -> None:
    with pytest.raises(clients.pz.exceptions.InvalidInputException, match="custom"):
        clients.pz.create_recommender(
            name="r", datasetGroupArn=group.arn, recipeArn=RECIPE + "aws-ecomm-recommended-for-you"
        )


def test_filter_expressions_are_validated(clients: Clients) -> None:
    pz = clients.pz
    frame = interactions(event_types=["click", "watch"])
    group = make_group(clients, "typed", frame=frame, schema=interactions_schema())
    with pytest.raises(pz.exceptions.InvalidInputException, match="Could not create filter"):
        pz.create_filter(name="bad", datasetGroupArn=group.arn, filterExpression="EXCLUDE stuff")
    with pytest.raises(pz.exceptions.InvalidInputException, match="NOT_A_FIELD"):
        pz.create_filter(
            name="unknown-field",
            datasetGroupArn=group.arn,
            filterExpression='EXCLUDE ItemID WHERE Interactions.NOT_A_FIELD IN ("x")',
        )
    good = pz.create_filter(
        name="good",
        datasetGroupArn=group.arn,
        filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")',
    )
    assert pz.describe_filter(filterArn=good["filterArn"])["filter"]["filterExpression"]


def test_describe_bodies_round_trip_json(clients: Clients, group: Group) -> None:
    described = clients.pz.describe_dataset(datasetArn=group.dataset_arn)["dataset"]
    assert described["schemaArn"] == group.schema_arn
    assert described["datasetType"] == "Interactions"
    assert described["creationDateTime"].tzinfo is not None
    assert json.loads(clients.pz.describe_schema(schemaArn=group.schema_arn)["schema"]["schema"])
