"""Recommenders (domain use cases) against a real boto3 client under Stubber.

Every request is validated by botocore and compared with the exact parameters
expected; every run must end with the recommender deleted and confirmed gone by
``DescribeRecommender``, including after ``CREATE FAILED`` and a Ctrl-C in the wait.
"""

from __future__ import annotations

from typing import Any

import pytest
from _env import Env
from _lifecycle import DSG, GONE, KEPT_TAGS, RECS, TAGS, A, Script

from personakit.errors import ConfigurationError, ResourceFailedError
from personakit.personalize.group import DatasetGroup
from personakit.personalize.recommender import Recommender, resolve_use_case
from personakit.rules.facts import USE_CASES

REC = f"{A}:recommender/movies-top-picks"
TRACKER = f"{A}:event-tracker/movies-events"
TOP_PICKS = "arn:aws:personalize:::recipe/aws-vod-top-picks"


def expect_group(s: Script, domain: str | None = "VIDEO_ON_DEMAND") -> None:
    params: dict[str, Any] = {"name": "movies", "tags": TAGS}
    if domain:
        params["domain"] = domain
    s.ok("create_dataset_group", params, {"datasetGroupArn": DSG})
    s.describe("dataset_group", DSG, "ACTIVE")


def expect_group_gone(s: Script) -> None:
    s.delete("dataset_group", DSG)
    s.describe("dataset_group", DSG, GONE)


def describe(
    s: Script,
    *statuses: str,
    reason: str | None = None,
    config: dict[str, Any] | None = None,
    update: str | None = None,
) -> None:
    for status in statuses:
        if status == GONE:
            s.err("describe_recommender", "ResourceNotFoundException", {"recommenderArn": REC})
            continue
        body: dict[str, Any] = {
            "recommenderArn": REC,
            "name": "movies-top-picks",
            "datasetGroupArn": DSG,
            "recipeArn": TOP_PICKS,
            "status": status,
        }
        if reason is not None and "FAILED" in status:
            body["failureReason"] = reason
        if config is not None:
            body["recommenderConfig"] = config
        if update is not None:
            body["latestRecommenderUpdate"] = {"status": update}
        s.ok("describe_recommender", {"recommenderArn": REC}, {"recommender": body})


def expect_create(
    s: Script, config: dict[str, Any] | None = None, tags: list[dict[str, str]] = TAGS
) -> None:
    s.ok(
        "create_recommender",
        {
            "name": "movies-top-picks",
            "datasetGroupArn": DSG,
            "recipeArn": TOP_PICKS,
            "recommenderConfig": config or {"minRecommendationRequestsPerSecond": 1},
            "tags": tags,
        },
        {"recommenderArn": REC},
    )


def expect_deleted(s: Script) -> None:
    s.ok("delete_recommender", {"recommenderArn": REC})
    describe(s, "DELETE PENDING", GONE)


def test_lifecycle_sends_exact_requests_and_deletes_on_exit(env: Env) -> None:
    s, rt = env.script, env.rt
    config = {
        "minRecommendationRequestsPerSecond": 2,
        "itemExplorationConfig": {"explorationWeight": "0.5"},
    }
    expect_group(s)
    expect_create(s, config)
    describe(s, "CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE")
    rt.ok("get_recommendations", {"recommenderArn": REC, "numResults": 5, "userId": "u1"}, RECS)
    # stop: ACTIVE -> STOP PENDING -> STOP IN_PROGRESS -> INACTIVE
    describe(s, "ACTIVE")
    s.ok("stop_recommender", {"recommenderArn": REC})
    describe(s, "STOP PENDING", "STOP IN_PROGRESS", "INACTIVE")
    describe(s, "INACTIVE", "INACTIVE")  # a second stop only looks
    # start: INACTIVE -> START PENDING -> START IN_PROGRESS -> ACTIVE
    describe(s, "INACTIVE")
    s.ok("start_recommender", {"recommenderArn": REC})
    describe(s, "START PENDING", "START IN_PROGRESS", "ACTIVE")
    # update: the current config with the change merged in
    describe(s, "ACTIVE", config=config)
    s.ok(
        "update_recommender",
        {
            "recommenderArn": REC,
            "recommenderConfig": {**config, "minRecommendationRequestsPerSecond": 3},
        },
        {"recommenderArn": REC},
    )
    describe(s, "ACTIVE", update="CREATE IN_PROGRESS")
    describe(s, "ACTIVE", update="ACTIVE")
    expect_deleted(s)
    expect_group_gone(s)

    with DatasetGroup.create(
        env.session, "movies", timing=env.timing, domain="VIDEO_ON_DEMAND"
    ) as group:
        with group.recommender("top-picks", min_rps=2, exploration_weight=0.5) as rec:
            assert rec.min_rps == 2
            recs = rec.recommend(user_id="u1", n=5)
            assert recs.item_ids == ["i3", "i7"]
            assert recs.recommendation_id == "RID-1"
            with pytest.raises(ConfigurationError, match="needs user_id"):
                rec.recommend()
            with pytest.raises(ConfigurationError, match="takes no item_id"):
                rec.recommend(user_id="u1", item_id="i1")
            with pytest.raises(ConfigurationError, match="between 1 and 50 with metadata"):
                rec.recommend(user_id="u1", n=60, metadata_columns=["GENRES"])
            assert rec.stop() == "INACTIVE"
            assert rec.stop() == "INACTIVE"
            assert rec.start() == "ACTIVE"
            rec.update(min_rps=3)
            assert rec.min_rps == 3
        assert group.recommenders == [rec]
    ops = env.log.ops()
    assert ops.index("DeleteRecommender") < ops.index("DeleteDatasetGroup")
    env.log.assert_deleted_and_gone(REC, "Recommender")
    env.verify()


def test_create_failed_raises_with_reason_and_deletes_it(env: Env) -> None:
    s = env.script
    reason = "Dataset has fewer than 1000 interactions after filtering by event type: Watch"
    expect_group(s)
    expect_create(s)
    describe(s, "CREATE PENDING", "CREATE FAILED", reason=reason)
    expect_deleted(s)
    expect_group_gone(s)
    with DatasetGroup.create(
        env.session, "movies", timing=env.timing, domain="VIDEO_ON_DEMAND"
    ) as group:
        with pytest.raises(ResourceFailedError) as caught:
            group.recommender("top-picks")
        assert caught.value.failure_reason == reason
        assert caught.value.arn == REC
    env.log.assert_deleted_and_gone(REC, "Recommender")
    env.verify()


def test_ctrl_c_during_the_wait_still_deletes_the_recommender(env: Env) -> None:
    s = env.script
    expect_group(s)
    expect_create(s)
    describe(s, "CREATE PENDING")  # Ctrl-C while waiting after this
    # it cannot be deleted while being created: settle, then delete and wait
    s.err("delete_recommender", "ResourceInUseException", {"recommenderArn": REC})
    describe(s, "CREATE IN_PROGRESS", "CREATE IN_PROGRESS", "ACTIVE")
    expect_deleted(s)
    expect_group_gone(s)
    env.time.arm(KeyboardInterrupt(), "DescribeRecommender")
    with (
        pytest.raises(KeyboardInterrupt),
        DatasetGroup.create(
            env.session, "movies", timing=env.timing, domain="VIDEO_ON_DEMAND"
        ) as group,
    ):
        group.recommender("top-picks")
    env.log.assert_deleted_and_gone(REC, "Recommender")
    env.log.assert_deleted_and_gone(DSG, "DatasetGroup")
    env.verify()


def test_teardown_order_recommender_then_tracker_then_group_despite_in_use(env: Env) -> None:
    s = env.script
    expect_group(s)
    expect_create(s)
    describe(s, "ACTIVE")
    s.ok("list_event_trackers", {"datasetGroupArn": DSG, "maxResults": 100}, {"eventTrackers": []})
    s.ok(
        "create_event_tracker",
        {"name": "movies-events", "datasetGroupArn": DSG, "tags": TAGS},
        {"eventTrackerArn": TRACKER, "trackingId": "t-1"},
    )
    s.ok(
        "describe_event_tracker",
        {"eventTrackerArn": TRACKER},
        {"eventTracker": {"eventTrackerArn": TRACKER, "status": "ACTIVE"}},
    )
    # teardown, reference §8.2: recommenders (1), event trackers (3), the group (6)
    expect_deleted(s)
    s.err(
        "delete_event_tracker",
        "ResourceInUseException",
        {"eventTrackerArn": TRACKER},
        "The event tracker is in use",
    )
    s.ok(
        "describe_event_tracker",
        {"eventTrackerArn": TRACKER},
        {"eventTracker": {"eventTrackerArn": TRACKER, "status": "ACTIVE"}},
    )
    s.ok("delete_event_tracker", {"eventTrackerArn": TRACKER})
    s.err("describe_event_tracker", "ResourceNotFoundException", {"eventTrackerArn": TRACKER})
    expect_group_gone(s)
    with DatasetGroup.create(
        env.session, "movies", timing=env.timing, domain="VIDEO_ON_DEMAND"
    ) as group:
        group.recommender("top-picks")
        group.event_tracker()
        sleeps = len(env.time.sleeps)
    deletes = [(c.op, c.error) for c in env.log.calls if c.op.startswith("Delete")]
    assert deletes == [
        ("DeleteRecommender", None),
        ("DeleteEventTracker", "ResourceInUseException"),
        ("DeleteEventTracker", None),
        ("DeleteDatasetGroup", None),
    ]
    assert len(env.time.sleeps) > sleeps  # the in-use delete waited before its retry
    env.log.assert_deleted_and_gone(TRACKER, "EventTracker")
    env.log.assert_deleted_and_gone(REC, "Recommender")
    env.verify()


def test_an_inactive_recommender_of_that_name_is_adopted_started_and_kept(env: Env) -> None:
    s = env.script
    expect_group(s)
    s.err(
        "create_recommender",
        "ResourceAlreadyExistsException",
        {
            "name": "movies-top-picks",
            "datasetGroupArn": DSG,
            "recipeArn": TOP_PICKS,
            "recommenderConfig": {"minRecommendationRequestsPerSecond": 1},
            "tags": TAGS,
        },
    )
    s.ok(
        "list_recommenders",
        {"datasetGroupArn": DSG, "maxResults": 100},
        {"recommenders": [{"name": "movies-top-picks", "recommenderArn": REC}]},
    )
    describe(s, "INACTIVE", config={"minRecommendationRequestsPerSecond": 4})
    s.ok("list_tags_for_resource", {"resourceArn": REC}, {"tags": []})
    describe(s, "INACTIVE")
    s.ok("start_recommender", {"recommenderArn": REC})
    describe(s, "START PENDING", "ACTIVE")
    expect_group_gone(s)
    with DatasetGroup.create(
        env.session, "movies", timing=env.timing, domain="VIDEO_ON_DEMAND"
    ) as group:
        rec = group.recommender("top-picks")
        assert (rec.owned, rec.min_rps) == (False, 4)
    assert "DeleteRecommender" not in env.log.ops()  # not ours: kept
    env.verify()


def test_custom_groups_and_other_domains_are_refused_before_any_request(env: Env) -> None:
    s = env.script
    expect_group(s, domain=None)
    expect_group_gone(s)
    with (
        DatasetGroup.create(env.session, "movies", timing=env.timing) as group,
        pytest.raises(ConfigurationError, match="custom dataset group"),
    ):
        Recommender.create(group, "top-picks")
    s.ok(
        "create_dataset_group",
        {"name": "shop", "tags": TAGS, "domain": "ECOMMERCE"},
        {"datasetGroupArn": DSG},
    )
    s.describe("dataset_group", DSG, "ACTIVE")
    expect_group_gone(s)
    with DatasetGroup.create(env.session, "shop", timing=env.timing, domain="ECOMMERCE") as shop:
        with pytest.raises(ConfigurationError) as caught:
            shop.recommender("top-picks")
        message = str(caught.value)
        assert "VIDEO_ON_DEMAND use case" in message
        for name in USE_CASES["ECOMMERCE"]:
            assert name in message
        with pytest.raises(ConfigurationError, match="personalized use cases"):
            shop.recommender("best-sellers", exploration_weight=0.2)
        with pytest.raises(ConfigurationError, match="min_rps"):
            shop.recommender("best-sellers", min_rps=0)
    assert not [op for op in env.log.ops() if "Recommender" in op]
    env.verify()


def test_use_case_names() -> None:
    assert {d: sorted(c) for d, c in USE_CASES.items()} == {
        "ECOMMERCE": [
            "best-sellers",
            "customers-who-viewed-x-also-viewed",
            "frequently-bought-together",
            "most-viewed",
            "recommended-for-you",
        ],
        "VIDEO_ON_DEMAND": [
            "because-you-watched-x",
            "more-like-x",
            "most-popular",
            "top-picks",
            "trending-now",
        ],
    }
    prefix = "arn:aws:personalize:::recipe/"
    assert resolve_use_case("best-sellers").arn == prefix + "aws-ecomm-popular-items-by-purchases"
    assert resolve_use_case("Most viewed", "ECOMMERCE").arn == (
        prefix + "aws-ecomm-popular-items-by-views"
    )
    assert resolve_use_case("aws-vod-top-picks").name == "top-picks"
    assert resolve_use_case(prefix + "aws-vod-more-like-x", "VIDEO_ON_DEMAND").item == "required"
    assert resolve_use_case("trending_now", "VIDEO_ON_DEMAND").user == "optional"
    with pytest.raises(ConfigurationError, match="valid: because-you-watched-x"):
        resolve_use_case("sims", "VIDEO_ON_DEMAND")


def test_keep_leaves_the_recommender_and_its_group(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    s = env.script
    expect_group(s)
    # created with the keep tag (a sweep spares it even if no teardown runs); the
    # group it needs is tagged at once
    expect_create(s, tags=KEPT_TAGS)
    s.ok("tag_resource", {"resourceArn": DSG, "tags": KEPT_TAGS[-1:]})
    describe(s, "ACTIVE")
    with (
        DatasetGroup.create(
            env.session, "movies", timing=env.timing, domain="VIDEO_ON_DEMAND"
        ) as group,
        group.recommender("top-picks", keep=True) as rec,
    ):
        assert rec.keep
    assert not [op for op in env.log.ops() if op.startswith("Delete")]
    assert REC in caplog.text  # the warning names what was kept
    env.verify()
