"""`personakit quickstart` end to end on the local engine: what a newcomer sees and relies on."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from personakit.cli import main
from personakit.local import LocalEngine
from personakit.quickstart import EXCLUDED_GENRE, MIN_USERS, RECIPES, run
from personakit.samples import synthetic_movielens

# Seed 0 at the default size; the run takes a few seconds (most of it polling).
USERS = 300
SEED = 0


def _personalize_leftovers(workspace: Path) -> dict[str, list[Any]]:
    """Every Personalize List* of a fresh engine on the workspace, non-empty ones only."""
    with LocalEngine(workspace) as engine:
        p = engine.client("personalize")
        found = {
            "datasetGroups": p.list_dataset_groups()["datasetGroups"],
            "datasets": p.list_datasets()["datasets"],
            "schemas": p.list_schemas()["schemas"],
            "solutions": p.list_solutions()["solutions"],
            "solutionVersions": p.list_solution_versions()["solutionVersions"],
            "campaigns": p.list_campaigns()["campaigns"],
            "filters": p.list_filters()["Filters"],
            "eventTrackers": p.list_event_trackers()["eventTrackers"],
            "recommenders": p.list_recommenders()["recommenders"],
            "datasetImportJobs": p.list_dataset_import_jobs()["datasetImportJobs"],
        }
        s3 = engine.client("s3")
        found["s3 objects"] = [
            o["Key"]
            for b in s3.list_buckets()["Buckets"]
            for o in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", [])
        ]
    return {kind: items for kind, items in found.items() if items}


def test_quickstart_runs_the_journey_and_leaves_nothing(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    printed = io.StringIO()
    result = run(workspace, n_users=USERS, seed=SEED, progress=False, out=printed)
    out = printed.getvalue()

    # both recipes' metrics, side by side; the personalized one learns the data's structure
    header = next(line for line in out.splitlines() if line.strip().startswith("metric"))
    assert header.split()[1:] == list(RECIPES)
    ndcg = next(line for line in out.splitlines() if line.strip().startswith("ndcg_at_10"))
    personalized, popular = (float(v) for v in ndcg.split()[1:])
    assert personalized > popular
    assert personalized == pytest.approx(result.metrics["user-personalization"].ndcg_at_10, 1e-3)

    # ten recommendations, none of the filtered genre (checked against the source data)
    _, movies = synthetic_movielens(USERS, USERS * 4 // 3, USERS * 30, seed=SEED)
    genres = dict(zip(movies["movieId"].astype(str), movies["genres"], strict=True))
    assert len(result.recommendations) == 10
    for item in result.recommendations:
        assert EXCLUDED_GENRE not in genres[item].split("|"), item
    ranks = re.findall(r"^\s+(\d+)\. .*\[(.*)\]$", out, flags=re.MULTILINE)
    assert [int(rank) for rank, _ in ranks] == list(range(1, 11))
    assert [g for _, g in ranks] == [genres[item] for item in result.recommendations]

    # a batch inference job answered for every user, ten items each, no errors
    users = sorted(set(result.batch["user_id"]))
    assert len(result.batch) == len(users) > 0
    assert result.batch["error"].isna().all()
    assert all(len(items) == 10 for items in result.batch["item_ids"])
    assert f"Batch inference: {len(users):,} users, 10 movies each, 0 error(s)" in out

    # teardown said what it deleted, and the engine holds nothing any more
    assert f"Deleted {len(result.deleted)} resource(s):" in out
    for arn in result.deleted:
        assert f"  - {arn}" in out
    for kind in (":campaign/", ":solution/", ":filter/", ":dataset-group/", ":schema/", "s3://"):
        assert any(kind in arn for arn in result.deleted), kind
    assert not result.kept
    assert _personalize_leftovers(workspace) == {}


def test_keep_keeps_everything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quickstart", "--workspace", str(tmp_path), "--keep", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "Kept" in out
    assert "Deleted" not in out
    left = _personalize_leftovers(tmp_path)
    assert len(left["datasetGroups"]) == 1
    assert len(left["solutions"]) == len(RECIPES)
    assert len(left["campaigns"]) == 1
    assert all(c["status"] == "ACTIVE" for c in left["campaigns"])


def test_too_few_users_is_refused_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["quickstart", "--users", str(MIN_USERS - 1)])
    assert info.value.code == 2
    assert "1,000 interactions" in capsys.readouterr().err
    with pytest.raises(ValueError, match=f"at least {MIN_USERS}"):
        run(n_users=10)


def test_an_unknown_region_for_the_bill_is_refused_before_the_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["quickstart", "--region", "us-east-7", "--no-progress"]) == 2
    out, err = capsys.readouterr()
    assert "us-east-7" in err
    assert "Did you mean 'us-east-2'" in err
    assert out == ""  # refused before the journey printed anything
