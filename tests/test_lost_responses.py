"""Lost responses: a ``Create*`` that succeeds on the service but whose answer never
arrives, so personakit retries it. The fault is injected by a client wrapper that makes
the real call on the local engine and then raises botocore's ``ReadTimeoutError``.

Whatever create loses its answer, the journey ends with exactly one resource of each
kind, every one of them tracked as this run's, and nothing left after the teardown.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Any

import attrs
import pandas as pd
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

import _local
from _local import interactions
from personakit.aws.retry import RetryPolicy
from personakit.aws.session import Session
from personakit.personalize.base import outcome_unknown, resource_name, short_hash
from personakit.personalize.group import DatasetGroup
from personakit.rules.filters import Filter
from personakit.rules.schema import DatasetType, Schema
from personakit.samples import synthetic

#: Quick polls; a lost response is retried after a few milliseconds, not a second.
FAST = attrs.evolve(_local.FAST, policy=RetryPolicy(base_s=0.01, cap_s=0.05))


class LoseResponse:
    """A ``personalize`` client whose ``method`` is carried out, then answered with a read
    timeout (``times`` times): the call succeeded (or failed) on the engine, the caller
    never learns how."""

    def __init__(self, inner: Any, method: str, times: int = 1) -> None:
        self.inner = inner
        self.method = method
        self.times = times
        self.lost = 0
        self.sent = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name != self.method:
            return attr

        def call(**kwargs: Any) -> Any:
            self.sent += 1
            if self.lost >= self.times:
                return attr(**kwargs)
            self.lost += 1
            with contextlib.suppress(ClientError):  # its answer is lost as well
                attr(**kwargs)
            raise ReadTimeoutError(endpoint_url="https://personalize.us-east-1.amazonaws.com")

        return call


def items() -> pd.DataFrame:
    return pd.DataFrame(
        {"ITEM_ID": [f"i{i}" for i in range(97)], "GENRES": ["Horror", "Comedy"] * 48 + ["Drama"]}
    )


NO_HORROR = Filter.exclude_items("Items.GENRES IN ($g)")

#: What each kind's List* call returns, by its key.
LISTS: dict[str, tuple[str, str]] = {
    "dataset_group": ("list_dataset_groups", "datasetGroups"),
    "schema": ("list_schemas", "schemas"),
    "dataset": ("list_datasets", "datasets"),
    "dataset_import_job": ("list_dataset_import_jobs", "datasetImportJobs"),
    "solution": ("list_solutions", "solutions"),
    "solution_version": ("list_solution_versions", "solutionVersions"),
    "campaign": ("list_campaigns", "campaigns"),
    "filter": ("list_filters", "Filters"),
    "event_tracker": ("list_event_trackers", "eventTrackers"),
}
ARN_KEYS = {
    "dataset_group": "datasetGroupArn",
    "schema": "schemaArn",
    "dataset": "datasetArn",
    "dataset_import_job": "datasetImportJobArn",
    "solution": "solutionArn",
    "solution_version": "solutionVersionArn",
    "campaign": "campaignArn",
    "filter": "filterArn",
    "event_tracker": "eventTrackerArn",
}
#: Kinds that are gone once their dataset group is deleted.
DELETED = ("dataset_group", "schema", "dataset", "solution", "campaign", "filter", "event_tracker")


def on_engine(personalize: Any) -> dict[str, list[str]]:
    """The ARNs of each kind the engine holds."""
    return {
        kind: [str(s[ARN_KEYS[kind]]) for s in getattr(personalize, method)()[key]]
        for kind, (method, key) in LISTS.items()
    }


@pytest.mark.parametrize(
    "method",
    [
        "create_solution_version",  # retried blindly, it would start a second training
        "create_schema",  # no tags: it used to be adopted as "not ours" and survive
        "create_dataset_group",
        "create_dataset",
        "create_dataset_import_job",
        "create_solution",
        "create_campaign",
        "create_filter",
        "create_event_tracker",
    ],
)
def test_a_create_whose_response_is_lost_makes_one_resource_tracked_and_deleted(
    tmp_path: Path, method: str
) -> None:
    with Session.local(tmp_path, timing=FAST, min_state_s=0.01) as session:
        real = session.client("personalize")
        lossy = LoseResponse(real, method)
        session._clients["personalize"] = lossy
        with DatasetGroup.create(session, "lost") as group:
            group.import_frame(interactions())
            group.import_frame(items(), dataset_type="items")
            solution = group.train("popularity-count")
            campaign = solution.deploy(min_tps=1)
            campaign.recommend(user_id="u1", n=5, filter=NO_HORROR, filter_values={"g": ["Horror"]})
            group.event_tracker()
            assert lossy.lost == 1  # the fault did fire

            found = on_engine(real)
            two = ("schema", "dataset", "dataset_import_job")  # interactions and items
            expected = {kind: 2 if kind in two else 1 for kind in LISTS}
            assert {kind: len(arns) for kind, arns in found.items()} == expected
            # the lost attempt was found, not sent again
            assert lossy.sent == expected[method.removeprefix("create_")]
            for kind, arns in found.items():  # each one tracked as this run's
                for arn in arns:
                    entry = group._teardown.find(arn)
                    assert entry is not None, (kind, arn)
                    assert entry.owned, (kind, arn)
            assert solution.versions == found["solution_version"]
        left = on_engine(real)
        assert {kind: left[kind] for kind in DELETED} == {kind: [] for kind in DELETED}


class CtrlCAfter(LoseResponse):
    """A ``personalize`` client whose ``method`` is carried out, then interrupted by a
    Ctrl-C before its answer is read: the resource exists, the caller has no ARN."""

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name != self.method:
            return attr

        def call(**kwargs: Any) -> Any:
            answer = attr(**kwargs)
            if self.lost < self.times:
                self.lost += 1
                raise KeyboardInterrupt
            return answer

        return call


@pytest.mark.parametrize(
    "method",
    [
        "create_dataset_group",
        "create_schema",
        "create_dataset",
        "create_dataset_import_job",
        "create_solution",
        "create_solution_version",
        "create_campaign",
        "create_filter",
        "create_event_tracker",
    ],
)
def test_a_ctrl_c_while_a_create_is_answered_leaves_nothing(tmp_path: Path, method: str) -> None:
    with Session.local(tmp_path, timing=FAST, min_state_s=0.01) as session:
        real = session.client("personalize")
        interrupted = CtrlCAfter(real, method)
        session._clients["personalize"] = interrupted

        def journey() -> None:
            with DatasetGroup.create(session, "ctrl-c") as group:
                group.import_frame(interactions())
                group.import_frame(items(), dataset_type="items")
                solution = group.train("popularity-count")
                campaign = solution.deploy(min_tps=1)
                campaign.recommend(
                    user_id="u1", n=5, filter=NO_HORROR, filter_values={"g": ["Horror"]}
                )
                group.event_tracker()

        with pytest.raises(KeyboardInterrupt):
            journey()
        assert interrupted.lost == 1  # the Ctrl-C did land in that create
        left = on_engine(real)
        assert {kind: left[kind] for kind in DELETED} == {kind: [] for kind in DELETED}


def _schema_name(text: str) -> str:
    """The name personakit derives from an interactions schema's content."""
    return resource_name("pk", "interactions", short_hash(text, "", n=16))


def test_an_identical_schema_an_earlier_run_left_is_not_claimed(tmp_path: Path) -> None:
    """The lost answer was "already exists": the schema is older than this run's first
    attempt, so it is someone else's and survives the teardown."""
    text = Schema.infer(interactions(), DatasetType.INTERACTIONS).to_json()
    with Session.local(tmp_path, timing=FAST, min_state_s=0.01) as earlier:
        earlier.client("personalize").create_schema(name=_schema_name(text), schema=text)

    def later() -> dt.datetime:  # this run starts an hour after that schema was made
        return dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)

    timing = attrs.evolve(FAST, now=later)
    with Session.local(tmp_path, timing=timing, min_state_s=0.01) as session:
        real = session.client("personalize")
        lossy = LoseResponse(real, "create_schema")
        session._clients["personalize"] = lossy
        with DatasetGroup.create(session, "later") as group:
            group.import_frame(interactions())
            (schema,) = [e for e in group._teardown.entries if e.kind.name == "schema"]
            assert lossy.lost == 1
            assert not schema.owned
        assert [s["name"] for s in real.list_schemas()["schemas"]] == [_schema_name(text)]


def test_a_schema_made_by_the_lost_attempt_is_claimed(tmp_path: Path) -> None:
    """Same schema, made by this run's own lost attempt: it is this run's and deleted."""
    with Session.local(tmp_path, timing=FAST, min_state_s=0.01) as session:
        real = session.client("personalize")
        session._clients["personalize"] = LoseResponse(real, "create_schema")
        with DatasetGroup.create(session, "claimed") as group:
            group.import_frame(interactions())
            (schema,) = [e for e in group._teardown.entries if e.kind.name == "schema"]
            assert schema.owned
        assert real.list_schemas()["schemas"] == []


def test_a_retrained_version_whose_response_is_lost_is_not_trained_twice(tmp_path: Path) -> None:
    with Session.local(tmp_path, timing=FAST, min_state_s=0.01) as session:
        real = session.client("personalize")
        with DatasetGroup.create(session, "retrain") as group:
            group.import_frame(interactions())
            solution = group.train("popularity-count")
            session._clients["personalize"] = LoseResponse(real, "create_solution_version")
            solution.retrain()
            versions = real.list_solution_versions(solutionArn=solution.arn)["solutionVersions"]
            assert sorted(v["solutionVersionArn"] for v in versions) == sorted(solution.versions)
            assert len(solution.versions) == 2
        assert real.list_solutions()["solutions"] == []


@pytest.mark.parametrize(
    ("exc", "unknown"),
    [
        (ReadTimeoutError(endpoint_url="https://x"), True),  # sent, answer lost
        (ConnectionClosedError(endpoint_url="https://x"), True),
        (ConnectTimeoutError(endpoint_url="https://x"), False),  # never sent
        (EndpointConnectionError(endpoint_url="https://x"), False),
        (
            ClientError(
                {"Error": {"Code": "InternalFailure"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
                "CreateSchema",
            ),
            True,
        ),
        (
            ClientError(
                {
                    "Error": {"Code": "ThrottlingException"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "CreateSchema",
            ),
            False,
        ),
        (ValueError("not a call"), False),
    ],
)
def test_which_failures_may_have_been_carried_out(exc: BaseException, unknown: bool) -> None:
    assert outcome_unknown(exc) is unknown


def test_adopt_false_still_takes_what_its_own_lost_attempt_made(tmp_path: Path) -> None:
    with Session.local(tmp_path, timing=FAST, min_state_s=0.01) as session:
        real = session.client("personalize")
        session._clients["personalize"] = LoseResponse(real, "create_dataset_group")
        with DatasetGroup.create(session, "mine", adopt=False) as group:
            assert group.owned
        assert real.list_dataset_groups()["datasetGroups"] == []


def test_a_batch_job_whose_response_is_lost_runs_once(tmp_path: Path) -> None:
    with Session.local(tmp_path, timing=FAST, min_state_s=0.01) as session:
        real = session.client("personalize")
        with DatasetGroup.create(session, "batch") as group:
            group.import_frame(interactions())
            solution = group.train("user-personalization")
            lossy = LoseResponse(real, "create_batch_inference_job")
            session._clients["personalize"] = lossy
            frame = solution.batch_recommend(["u1", "u2"], n=5)
            assert frame["user_id"].tolist() == ["u1", "u2"]
            assert (lossy.lost, lossy.sent) == (1, 1)
            assert len(real.list_batch_inference_jobs()["batchInferenceJobs"]) == 1


def test_a_recommender_whose_response_is_lost_is_created_once_and_deleted(
    tmp_path: Path,
) -> None:
    data = synthetic(80, 120, 2200, seed=3, event_types=("Click", "Watch"), event_value=False)
    with Session.local(tmp_path, timing=FAST, min_state_s=0.01) as session:
        real = session.client("personalize")
        lossy = LoseResponse(real, "create_recommender")
        session._clients["personalize"] = lossy
        with DatasetGroup.create(session, "vod", domain="VIDEO_ON_DEMAND") as group:
            group.import_frame(data.interactions)
            recommender = group.recommender("top-picks")
            assert recommender.owned
            assert (lossy.lost, lossy.sent) == (1, 1)
            assert len(real.list_recommenders()["recommenders"]) == 1
        assert real.list_recommenders()["recommenders"] == []
