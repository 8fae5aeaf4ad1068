"""Batch recommendations and segments end to end on the embedded local engine.

One dataset group (generated data, like ``test_journey_local``) is shared by the
module: user-personalization, personalized-ranking and item-affinity solutions are
trained once. Results are compared with what a campaign answers for the same user.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd
import pytest

from _local import FAST
from personakit import local
from personakit.aws.session import Session
from personakit.errors import ConfigurationError, ResourceFailedError, ValidationError
from personakit.personalize.batch import BatchJob
from personakit.personalize.group import DatasetGroup
from personakit.personalize.solution import Solution
from personakit.rules.filters import Filter

ROLE = "arn:aws:iam::000000000000:role/pk"
BUCKET = "pk-local"
NO_GENRE = Filter.exclude_items("Items.GENRES IN ($genres)")


def _data(seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n_users, n_items, n = 60, 120, 1500
    popularity = rng.zipf(1.6, n_items).astype(float)
    p = popularity / popularity.sum()
    frame = pd.DataFrame(
        {
            "USER_ID": [f"u{u}" for u in np.arange(n) % n_users],
            "ITEM_ID": [f"i{i}" for i in rng.choice(n_items, n, p=p)],
            "TIMESTAMP": (1_700_000_000 + np.sort(rng.integers(0, 90 * 86_400, n))).astype("int64"),
        }
    ).drop_duplicates()
    genres = rng.choice(["Horror", "Comedy", "Drama"], n_items)
    items = pd.DataFrame({"ITEM_ID": [f"i{i}" for i in range(n_items)], "GENRES": genres})
    return frame, items


@attrs.define
class World:
    session: Session
    group: DatasetGroup
    items: pd.DataFrame
    up: Solution
    ranking: Solution
    affinity: Solution


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path: Path = tmp_path_factory.mktemp("batch")
    with local.LocalEngine(path, min_state_s=0.02) as engine:
        session = Session(engine, region="us-east-1", bucket=BUCKET, role_arn=ROLE)
        session.client("s3").create_bucket(Bucket=BUCKET)
        interactions, items = _data()
        with DatasetGroup.create(session, "batch", timing=FAST) as group:
            group.import_frame(interactions)
            group.import_frame(items, dataset_type="items")
            up = group.train("user-personalization")
            ranking = group.train("personalized-ranking")
            affinity = group.train("item-affinity")
            yield World(session, group, items, up, ranking, affinity)
        # the group's teardown removed every job input and output object
        listed = session.client("s3").list_objects_v2(Bucket=BUCKET)
        assert listed.get("KeyCount", 0) == 0, [o["Key"] for o in listed.get("Contents", [])]


def _batch_objects(world: World) -> list[str]:
    listed = world.session.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="personakit/batch/")
    return [o["Key"] for o in listed.get("Contents", [])]


def test_batch_recommendations_equal_the_campaigns(world: World) -> None:
    users = ["u1", "u7", "u42", "stranger"]
    frame = world.up.batch_recommend(users, n=10)
    assert list(frame.columns) == ["user_id", "item_ids", "scores", "error"]
    assert frame["user_id"].tolist() == users
    assert frame["error"].isna().all()
    with world.up.deploy(min_tps=1) as campaign:
        for row in frame.itertuples():
            live = campaign.recommend(user_id=row.user_id, n=10)
            assert row.item_ids == live.item_ids
            assert row.scores == pytest.approx([r.score for r in live])
        filtered = world.up.batch_recommend(
            users, n=10, filter=NO_GENRE, filter_values={"genres": ["Horror"]}
        )
        horror = set(world.items.loc[world.items["GENRES"] == "Horror", "ITEM_ID"])
        for row in filtered.itertuples():
            assert row.item_ids
            assert not horror & set(row.item_ids)
            live = campaign.recommend(
                user_id=row.user_id, n=10, filter=NO_GENRE, filter_values={"genres": ["Horror"]}
            )
            assert row.item_ids == live.item_ids


def test_per_row_filter_values_and_duplicate_users(world: World) -> None:
    frame = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2"],
            "filter_values": [{"genres": ["Horror"]}, {"genres": ["Comedy"]}, None],
        }
    )
    out = world.up.batch_recommend(frame, n=15, filter=NO_GENRE)
    genre = dict(zip(world.items["ITEM_ID"], world.items["GENRES"], strict=True))
    assert out["user_id"].tolist() == ["u1", "u1", "u2"]
    assert {genre[i] for i in out["item_ids"][0]} <= {"Comedy", "Drama"}
    assert {genre[i] for i in out["item_ids"][1]} <= {"Horror", "Drama"}
    assert len(out["item_ids"][2]) == 15


def test_bad_input_is_refused_before_anything_is_uploaded(world: World) -> None:
    before = _batch_objects(world)
    with pytest.raises(ValidationError) as info:
        world.up.batch_recommend(["u1", None, "", "x" * 300])
    text = str(info.value)
    assert "2 row(s) have no userId" in text
    assert "longer than 256" in text
    assert {p.rule for p in info.value.problems} == {"id-missing", "id-too-long"}
    with pytest.raises(ValidationError, match="user_id"):
        world.up.batch_recommend(pd.DataFrame({"customer": ["u1"]}))
    with pytest.raises(ValidationError, match="empty"):
        world.up.batch_recommend([])
    with pytest.raises(ConfigurationError, match="n must be"):
        world.up.batch_recommend(["u1"], n=501)
    with pytest.raises(ConfigurationError, match="batch_segments"):
        world.affinity.batch_recommend(["u1"])
    assert _batch_objects(world) == before


def test_a_failed_job_raises_with_the_failure_reason(world: World) -> None:
    nope = "arn:aws:personalize:us-east-1:000000000000:filter/nope"
    with pytest.raises(ResourceFailedError) as info:
        world.up.batch_recommend(["u1"], filter=nope)
    assert info.value.status == "CREATE FAILED"
    assert info.value.failure_reason is not None
    assert f"The filter {nope} does not exist" in info.value.failure_reason
    assert ":batch-inference-job/" in info.value.arn


def test_wait_false_returns_a_job(world: World) -> None:
    job = world.up.batch_recommend(["u3", "u4"], n=5, wait=False, job_name="by-hand")
    assert isinstance(job, BatchJob)
    assert job.arn == "arn:aws:personalize:us-east-1:000000000000:batch-inference-job/by-hand"
    assert job.input_uri == f"s3://{BUCKET}/personakit/batch/by-hand/input/"
    assert job.wait() is job
    assert job.status == "ACTIVE"
    frame = job.result()
    assert frame["user_id"].tolist() == ["u3", "u4"]
    assert all(len(ids) == 5 for ids in frame["item_ids"])
    again = world.up.batch_recommend(["u3", "u4"], n=5, wait=False, job_name="by-hand")
    assert again.arn == job.arn  # the same request adopts the job of this run


def test_ranking_input_is_ranked(world: World) -> None:
    frame = pd.DataFrame(
        {"user_id": ["u5", "u6"], "items": [["i1", "i2", "i3", "zz"], ["i4", "i5"]]}
    )
    out = world.ranking.batch_recommend(frame)
    assert list(out.columns) == ["user_id", "items", "item_ids", "scores", "error"]
    assert sorted(out["item_ids"][0]) == ["i1", "i2", "i3", "zz"]
    assert out["item_ids"][0][-1] == "zz"
    assert out["scores"][0][-1] is None
    with world.ranking.deploy(min_tps=1) as campaign:
        live = campaign.rank("u6", ["i4", "i5"])
        assert out["item_ids"][1] == live.item_ids
    with pytest.raises(ValidationError, match="1 to 500"):
        world.ranking.batch_recommend({"u5": []})


def test_item_affinity_segments(world: World) -> None:
    out = world.affinity.batch_segments(["i1", "i2", "i3"], n=7)
    assert list(out.columns) == ["item_id", "user_ids", "error"]
    assert out["item_id"].tolist() == ["i1", "i2", "i3"]
    for users in out["user_ids"]:
        assert len(users) == 7
        assert len(set(users)) == 7
    with pytest.raises(ConfigurationError, match="batch_recommend"):
        world.up.batch_segments(["i1"])
    with pytest.raises(ValidationError, match="no itemId"):
        world.affinity.batch_segments(["i1", None])


def test_segments_of_more_items_than_a_file_holds(world: World, monkeypatch: Any) -> None:
    import personakit.personalize.batch as pkb

    monkeypatch.setattr(pkb, "SEGMENT_MAX_ITEMS_PER_FILE", 2)
    out = world.affinity.batch_segments(["i1", "i2", "i3", "i4", "i5"], n=3)
    assert out["item_id"].tolist() == ["i1", "i2", "i3", "i4", "i5"]
    assert out["error"].isna().all()
    assert all(len(u) == 3 for u in out["user_ids"])


def _objects_under(session: Session, prefix: str) -> list[str]:
    listed = session.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


def test_unread_and_failed_jobs_leave_nothing_in_the_bucket(world: World, monkeypatch: Any) -> None:
    """Input and output are removed with the group whether the result was read or not."""
    import personakit.personalize.batch as pkb

    interactions, _ = _data(seed=12)
    items = [f"i{k}" for k in range(501)]
    with DatasetGroup.create(world.session, "batch-leaks", timing=FAST) as group:
        group.import_frame(interactions)
        affinity = group.train("item-affinity")
        waited = affinity.batch_segments(["i1", "i2"], n=3, wait=False, job_name="waited")
        waited.wait()  # finished, its output written, never read
        assert any(
            k.endswith(".out") for k in _objects_under(world.session, "personakit/batch/waited/")
        )
        affinity.batch_segments(["i3"], n=3, wait=False, job_name="never-waited")
        # bad input the engine refuses: one file of 501 Item-Affinity lines (at most 500)
        monkeypatch.setattr(pkb, "SEGMENT_MAX_ITEMS_PER_FILE", 1000)
        with pytest.raises(ResourceFailedError, match="501 lines"):
            affinity.batch_segments(items, n=3, job_name="bad-input")
        assert _objects_under(world.session, "personakit/batch/bad-input/input/")
    for name in ("waited", "never-waited", "bad-input"):
        assert _objects_under(world.session, f"personakit/batch/{name}/") == []
