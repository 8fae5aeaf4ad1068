"""DESIGN §1's journey on the embedded local engine, and nothing left behind.

Generated data (numpy): about 1500 interactions of 60 users; the popularity-count
recipe keeps training quick. Polls are short (the engine works in background
threads on real time), and every Personalize ``List*`` is empty afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from botocore.exceptions import ClientError

from _local import FAST
from personakit import local
from personakit.aws.session import Session
from personakit.personalize.group import DatasetGroup
from personakit.rules.filters import Filter


def _data(seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n_users, n_items, n = 60, 120, 1500
    popularity = rng.zipf(1.6, n_items).astype(float)
    p = popularity / popularity.sum()
    frame = pd.DataFrame(
        {
            "USER_ID": [f"u{u}" for u in rng.integers(0, n_users, n)],
            "ITEM_ID": [f"i{i}" for i in rng.choice(n_items, n, p=p)],
            "TIMESTAMP": (1_700_000_000 + np.sort(rng.integers(0, 90 * 86_400, n))).astype("int64"),
        }
    ).drop_duplicates()
    genres = rng.choice(["Horror", "Comedy", "Drama"], n_items)
    items = pd.DataFrame({"ITEM_ID": [f"i{i}" for i in range(n_items)], "GENRES": genres})
    return frame, items


def _session(engine: Any) -> Session:
    session = Session(engine, region="us-east-1", bucket="pk-local", role_arn=_ROLE)
    try:
        session.client("s3").create_bucket(Bucket="pk-local")
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    return session


_ROLE = "arn:aws:iam::000000000000:role/pk"


def _leftovers(personalize: Any) -> dict[str, list[Any]]:
    found = {
        "datasetGroups": personalize.list_dataset_groups().get("datasetGroups", []),
        "schemas": personalize.list_schemas().get("schemas", []),
        "solutions": personalize.list_solutions().get("solutions", []),
        "campaigns": personalize.list_campaigns().get("campaigns", []),
        "datasets": personalize.list_datasets().get("datasets", []),
        "filters": personalize.list_filters().get("Filters", []),
    }
    return {key: value for key, value in found.items() if value}


def test_journey_on_the_local_engine_leaves_nothing(tmp_path: Path) -> None:
    with local.LocalEngine(tmp_path) as engine:
        _journey(_session(engine))


def _record(client: Any) -> list[tuple[str, str | None, str | None]]:
    """(operation, first ARN in the request, error code) of every call, in order."""
    calls: list[tuple[str, str | None, str | None]] = []

    def before(params: dict[str, Any], model: Any, **_: Any) -> None:
        arn = next((v for k, v in params.items() if k.endswith("Arn")), None)
        calls.append((model.name, arn, None))

    def after(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        op, arn, _error = calls[-1]
        calls[-1] = (op, arn, (parsed.get("Error") or {}).get("Code"))

    client.meta.events.register("before-parameter-build.personalize.*", before)
    client.meta.events.register("after-call.personalize.*", after)
    return calls


def _journey(session: Session) -> None:
    calls = _record(session.client("personalize"))
    interactions, items = _data()
    with DatasetGroup.create(session, "movies", timing=FAST) as group:
        group.import_frame(interactions)
        group.import_frame(items, dataset_type="items")
        solution = group.train("popularity-count")
        metrics = solution.metrics
        assert metrics.raw, "the engine returned no metrics"
        with solution.deploy(min_tps=1) as campaign:
            recs = campaign.recommend(user_id="u1", n=10)
            assert 0 < len(recs) <= 10
            assert len(set(recs.item_ids)) == len(recs.item_ids)
            no_horror = campaign.recommend(
                user_id="u1",
                n=10,
                filter=Filter.exclude_items("Items.GENRES IN ($genres)"),
                filter_values={"genres": ["Horror"]},
            )
            horror = set(items.loc[items["GENRES"] == "Horror", "ITEM_ID"])
            assert no_horror.item_ids
            assert not horror & set(no_horror.item_ids)
    # every delete confirmed by Describe* -> ResourceNotFoundException, in §8.2 order
    deleted = [(op, arn) for op, arn, error in calls if op.startswith("Delete") and not error]
    assert [op for op, _ in deleted] == [
        "DeleteCampaign",
        "DeleteSolution",
        "DeleteFilter",
        "DeleteDataset",
        "DeleteDataset",
        "DeleteDatasetGroup",
        "DeleteSchema",
        "DeleteSchema",
    ]
    for op, arn in deleted:
        describe = "Describe" + op[len("Delete") :]
        assert (describe, arn, "ResourceNotFoundException") in calls, (op, arn)
    assert _leftovers(session.client("personalize")) == {}
    s3 = session.client("s3")
    listed = s3.list_objects_v2(Bucket="pk-local")
    assert listed.get("KeyCount", len(listed.get("Contents", []))) == 0


def test_import_frame_converts_the_frame_once(monkeypatch: Any, tmp_path: Path) -> None:
    """validate builds the Arrow table; the CSV is written from it, not from the frame."""
    from personakit.rules import writer

    conversions: list[object] = []
    convert = writer.to_arrow

    def counting(data: Any) -> Any:
        conversions.append(data)
        return convert(data)

    monkeypatch.setattr(writer, "to_arrow", counting)
    frame, _ = _data(seed=5)
    with local.LocalEngine(tmp_path, min_state_s=0.01) as engine:
        session = _session(engine)
        with DatasetGroup.create(session, "once", timing=FAST) as group:
            dataset = group.import_frame(frame)
            assert dataset.imports[-1].csv is not None
            assert dataset.imports[-1].csv.rows == len(frame)
    assert conversions == []  # validate's own conversion is not the writer's
