"""Common mistakes raise a ``PersonakitError`` that names the resource and says the fix.

Each test makes one mistake on the embedded local engine (the whole botocore path
included) and checks the exception's class and that its message says what to do,
instead of a raw botocore error or a ``RuntimeError``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import attrs
import numpy as np
import pandas as pd
import pytest

import personakit as pk
from _local import FAST


def _data(seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n_users, n_items, n = 50, 80, 1500
    frame = pd.DataFrame(
        {
            "USER_ID": [f"u{u}" for u in np.arange(n) % n_users],
            "ITEM_ID": [f"i{i}" for i in rng.integers(0, n_items, n)],
            "TIMESTAMP": (1_700_000_000 + np.sort(rng.integers(0, 60 * 86_400, n))).astype("int64"),
        }
    ).drop_duplicates()
    items = pd.DataFrame(
        {
            "ITEM_ID": [f"i{i}" for i in range(n_items)],
            "GENRES": rng.choice(["Horror", "Comedy", "Drama"], n_items),
        }
    )
    return frame, items


@attrs.define
class World:
    session: pk.Session
    group: pk.DatasetGroup


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path: Path = tmp_path_factory.mktemp("mistakes")
    # every status lasts at least 0.2 s: a version just created is still training
    with pk.Session.local(path, timing=FAST, min_state_s=0.2) as session:
        interactions, items = _data()
        with pk.DatasetGroup.create(session, "mistakes") as group:
            group.import_frame(interactions)
            group.import_frame(items, dataset_type="items")
            yield World(session, group)


def _campaigns(world: World) -> list[object]:
    listed = world.session.client("personalize").list_campaigns()
    return list(listed.get("campaigns", []))


def test_deploying_before_training_finished_says_to_wait(world: World) -> None:
    solution = world.group.train("popularity-count", wait=False)
    with pytest.raises(pk.ResourceStateError) as info:
        solution.deploy()
    message = str(info.value)
    assert solution.name in message
    assert "still training" in message
    assert "solution.wait()" in message
    assert info.value.arn == solution.version_arn
    assert info.value.status in ("CREATE PENDING", "CREATE IN_PROGRESS")
    assert _campaigns(world) == []
    # a version whose training was stopped (or failed) needs a new one
    assert solution.stop() == "CREATE STOPPED"
    with pytest.raises(pk.ResourceStateError, match=r"CREATE STOPPED.*solution\.retrain\(\)"):
        solution.deploy()
    # the fix works
    solution.retrain(wait=False).wait()
    with solution.deploy() as campaign:
        assert campaign.recommend(user_id="u1", n=5).item_ids


def test_deploying_a_user_segmentation_solution_says_batch_segments(world: World) -> None:
    solution = world.group.train("item-affinity", wait=False)
    with pytest.raises(pk.ConfigurationError) as info:
        solution.deploy()  # refused before any call: the version need not be trained
    message = str(info.value)
    assert solution.name in message
    assert "USER_SEGMENTATION" in message
    assert "solution.batch_segments(" in message
    assert "/personalize/latest/dg/creating-batch-seg-job.html" in message
    assert _campaigns(world) == []
    solution.delete()


def test_recommending_after_the_with_block_says_it_was_deleted(world: World) -> None:
    solution = world.group.train("popularity-count")
    with solution.deploy() as campaign:
        assert campaign.recommend(user_id="u1", n=5).item_ids
    for call in (
        lambda: campaign.recommend(user_id="u1", n=5),
        lambda: campaign.rank("u1", ["i1", "i2"]),
    ):
        with pytest.raises(pk.ResourceStateError) as info:
            call()
        message = str(info.value)
        assert campaign.name in message
        assert "deleted" in message
        assert "keep=True" in message
        assert info.value.arn == campaign.arn


def test_a_call_after_session_close_says_open_a_new_session(tmp_path: Path) -> None:
    session = pk.Session.local(tmp_path, timing=FAST)
    personalize = session.client("personalize")
    session.close()
    for call in (
        personalize.list_dataset_groups,
        lambda: session.client("personalize-runtime"),
        lambda: pk.DatasetGroup.create(session, "late"),
    ):
        with pytest.raises(pk.SessionClosedError) as info:
            call()
        assert isinstance(info.value, RuntimeError)  # what it raised before
        message = str(info.value)
        assert "closed" in message
        assert f"pk.Session.local({str(tmp_path)!r})" in message
    # the fix works: a new session on the same workspace
    with pk.Session.local(tmp_path, timing=FAST) as again:
        assert again.client("personalize").list_dataset_groups()["datasetGroups"] == []


def test_a_misspelt_recipe_says_did_you_mean(world: World) -> None:
    with pytest.raises(pk.ConfigurationError) as info:
        world.group.train("user-personalisation")
    message = str(info.value)
    assert "'user-personalisation'" in message
    assert "did you mean 'user-personalization' (aws-user-personalization)?" in message
    with pytest.raises(pk.ConfigurationError, match="did you mean 'sims'"):
        world.group.train("simms")


def test_a_misspelt_aws_recipe_name_is_passed_on_with_a_did_you_mean() -> None:
    from personakit.rules.facts import recipe_arn

    with pytest.warns(UserWarning, match="did you mean 'aws-user-personalization'"):
        arn = recipe_arn("aws-user-personalisation")
    assert arn.endswith("/aws-user-personalisation")  # Personalize has the last word
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert recipe_arn("aws-sims").endswith("/aws-sims")  # known: silent
        assert recipe_arn("aws-brand-new-recipe").endswith("/aws-brand-new-recipe")  # newer
