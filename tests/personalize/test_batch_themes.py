"""``solution.batch_recommend(..., themes=...)``: batch recommendations with themes offline.

One local session (``Session.local(..., theme_writer=...)``) and one dataset group with
an Items dataset (TITLE names, a textual DESCRIPTION, categorical GENRES) serve the
module; a Similar-Items and a SIMS solution are trained once. The theme writer is the
engine's registered callable; ``register_theme_writer(None)`` goes back to themes
built from item metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import attrs
import numpy as np
import pandas as pd
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _local import FAST
from personakit.aws.session import Session
from personakit.errors import ConfigurationError, ValidationError
from personakit.local.themes import ThemeRequest
from personakit.personalize.batch import BatchJob
from personakit.personalize.group import DatasetGroup
from personakit.personalize.solution import Solution
from personakit.rules.schema import Schema

GUIDE = "https://docs.aws.amazon.com/personalize/latest/dg/themed-batch-recommendations.html"
GENRES = ["Horror", "Comedy", "Drama"]


def _data(seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n_users, n_items, n = 60, 120, 1500
    p = rng.zipf(1.6, n_items).astype(float)
    frame = pd.DataFrame(
        {
            "USER_ID": [f"u{u}" for u in np.arange(n) % n_users],
            "ITEM_ID": [f"i{i}" for i in rng.choice(n_items, n, p=p / p.sum())],
            "TIMESTAMP": (1_700_000_000 + np.sort(rng.integers(0, 90 * 86_400, n))).astype("int64"),
        }
    ).drop_duplicates()
    items = pd.DataFrame(
        {
            "ITEM_ID": [f"i{i}" for i in range(n_items)],
            "TITLE": [f"Title {i}" for i in range(n_items)],
            "DESCRIPTION": [
                f"A {GENRES[i % 3].lower()} film about item {i}, told slowly."
                for i in range(n_items)
            ],
            "GENRES": [GENRES[i % 3] for i in range(n_items)],
        }
    )
    return frame, items


def _writer(request: ThemeRequest) -> str:
    if request.source.item_id == "i13":
        raise TimeoutError("the LLM did not answer")
    name = request.source.name or request.source.item_id
    return f"More like {name} ({len(request.items)} picks)"


@attrs.define
class World:
    session: Session
    group: DatasetGroup
    similar: Solution
    sims: Solution


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path: Path = tmp_path_factory.mktemp("themes")
    with Session.local(
        path, bucket="pk-themes", theme_writer=_writer, timing=FAST, progress=False, min_state_s=0
    ) as session:
        interactions, items = _data()
        with DatasetGroup.create(session, "themes", timing=FAST) as group:
            group.import_frame(interactions)
            schema = Schema.infer(items, "items", textual="DESCRIPTION")
            group.import_frame(items, dataset_type="items", schema=schema)
            similar = group.train("similar-items")
            sims = group.train("sims")
            yield World(session, group, similar, sims)


def _batch_objects(world: World) -> list[str]:
    listed = world.session.client("s3").list_objects_v2(Bucket="pk-themes", Prefix="personakit/")
    return [o["Key"] for o in listed.get("Contents", []) if "/batch/" in o["Key"]]


def test_themes_from_the_registered_writer_with_one_failing_item(world: World) -> None:
    frame = world.similar.batch_recommend(["i1", "i13", "i2"], n=6, themes="TITLE")
    assert list(frame.columns) == ["item_id", "item_ids", "theme", "theme_scores", "error"]
    assert frame["item_id"].tolist() == ["i1", "i13", "i2"]
    assert frame["theme"].tolist() == [
        "More like Title 1 (6 picks)",
        None,
        "More like Title 2 (6 picks)",
    ]
    assert frame["error"][0] is None
    assert frame["error"][2] is None
    assert frame["error"][1] == (
        "Theme generation failed for item i13: TimeoutError: the LLM did not answer"
    )
    assert frame["item_ids"][1] == []
    assert frame["theme_scores"][1] == []
    plain = world.similar.batch_recommend(["i1", "i2"], n=6)
    for k, row in zip((0, 2), plain.itertuples(), strict=True):
        assert sorted(frame["item_ids"][k]) == sorted(row.item_ids)  # the same related items
        scores = frame["theme_scores"][k]
        assert len(scores) == 6
        assert scores == sorted(scores, reverse=True)


def test_without_a_writer_the_theme_comes_from_metadata(world: World) -> None:
    engine = world.session.engine
    engine.register_theme_writer(None)  # type: ignore[attr-defined]
    try:
        job = world.similar.batch_recommend(["i4", "i5"], n=5, themes="title", wait=False)
        assert isinstance(job, BatchJob)
        assert job.describe()["batchInferenceJobMode"] == "THEME_GENERATION"
        assert job.describe()["themeGenerationConfig"] == {
            "fieldsForThemeGeneration": {"itemName": "title"}
        }
        frame = job.result()
    finally:
        engine.register_theme_writer(_writer)  # type: ignore[attr-defined]
    for row in frame.itertuples():
        assert row.error is None
        assert row.theme.endswith(f"icks like Title {row.item_id[1:]}")


def test_more_than_100_items_are_split_into_files_of_one_job(world: World) -> None:
    ids = [f"i{i}" for i in range(120)]
    job = world.similar.batch_recommend(ids, n=3, themes="TITLE", wait=False)
    files = [k for k in _batch_objects(world) if k.startswith(job.input_uri.split("/", 3)[3])]
    assert sorted(f.rsplit("/", 1)[-1] for f in files) == ["input-0000.json", "input-0001.json"]
    frame = job.result()
    assert frame["item_id"].tolist() == ids
    assert frame.loc[frame["item_id"] != "i13", "error"].isna().all()


def test_wrong_recipe_or_column_is_refused_before_anything_is_sent(world: World) -> None:
    before = _batch_objects(world)
    with pytest.raises(ConfigurationError) as info:
        world.sims.batch_recommend(["i1"], themes="TITLE")
    text = str(info.value)
    assert "need a Similar-Items solution (aws-similar-items)" in text
    assert "uses aws-sims" in text
    assert GUIDE in text
    with pytest.raises(ConfigurationError, match="themes are for batch_recommend"):
        world.similar.batch_segments(["i1"], themes="TITLE")
    for bad in ("", "TITLE; DROP", "1st_name", "T" * 151, 5):
        with pytest.raises(ValidationError, match="themes must name the Items column"):
            world.similar.batch_recommend(["i1"], themes=bad)  # type: ignore[arg-type]
    assert _batch_objects(world) == before
    # a column the Items dataset lacks: the service (here the engine) refuses the job
    with pytest.raises(ClientError) as refused:
        world.similar.batch_recommend(["i1"], themes="TITEL")
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidInputException"
    assert "Did you mean TITLE?" in error["Message"]


#: ids the Items dataset does not have (its ids are i0 ... i119)
_ids = st.text(min_size=1, max_size=24).filter(
    lambda s: s.strip() != "" and re.fullmatch(r"i\d+", s) is None
)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ids=st.lists(_ids, min_size=1, max_size=4, unique=True))
def test_item_ids_of_any_characters_come_back_themed(world: World, ids: list[str]) -> None:
    frame = world.similar.batch_recommend(ids, n=3, themes="TITLE")
    assert frame["item_id"].tolist() == ids
    for row in frame.itertuples():
        assert row.error is None, row.error
        assert row.theme == f"More like {row.item_id} (3 picks)"  # unknown items: their id
        assert len(row.item_ids) == len(row.theme_scores) == 3
