"""`personakit sweep --workspace DIR`: a crashed run on a local workspace, its uploads and
its schemas found and deleted by the same sweep as on AWS; what is kept, another run's
and what personakit did not provably make are left."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from _accounts import interactions, session
from botocore.exceptions import ClientError
from moto import mock_aws

from personakit import local
from personakit.aws.session import RUN_METADATA, Session
from personakit.cli import main
from personakit.cost import sweep
from personakit.personalize import teardown as td
from personakit.personalize.group import DatasetGroup
from personakit.rules.schema import Schema

BUCKET = "personakit-local"  # Session.local's


def _open(path: Path, run_id: str | None = None, **options: Any) -> Session:
    options.setdefault("min_state_s", 0.01)
    return Session.local(path, run_id=run_id, progress=False, **options)


def inventory(path: Path) -> dict[str, list[str]]:
    """What a workspace holds: Personalize resources by name, S3 keys; the empty left out."""
    with _open(path) as s:
        p = s.client("personalize")
        found = {
            "groups": [g["name"] for g in p.list_dataset_groups()["datasetGroups"]],
            "datasets": [d["name"] for d in p.list_datasets()["datasets"]],
            "schemas": [x["name"] for x in p.list_schemas()["schemas"]],
            "solutions": [x["name"] for x in p.list_solutions()["solutions"]],
            "campaigns": [x["name"] for x in p.list_campaigns()["campaigns"]],
            "filters": [x["name"] for x in p.list_filters()["Filters"]],
            "objects": [
                o["Key"] for o in s.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])
            ],
        }
    return {key: sorted(value) for key, value in found.items() if value}


def _without_event_type(seed: int = 3) -> pd.DataFrame:
    """Interactions with a schema of their own (not shared with ``interactions()``)."""
    return interactions(seed).drop(columns="EVENT_TYPE").drop_duplicates()


def _gone(describe: Any, **kwargs: Any) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            describe(**kwargs)
        except ClientError:
            return
        time.sleep(0.02)
    raise AssertionError(f"still there: {kwargs}")


def test_a_crashed_run_is_swept_from_the_cli_kept_and_other_runs_are_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    with _open(ws, "crashed") as crashed:
        group = DatasetGroup.create(crashed, "movies")
        group.import_frame(_without_event_type())
        solution = group.train("popularity-count")
        solution.batch_recommend(["u1", "u2"], n=3)
        solution.deploy(min_tps=1)
        with DatasetGroup.create(crashed, "kept", keep=True) as kept:  # tagged keep at exit
            kept.import_frame(interactions())
    # the session closed without a teardown of "movies": what a crash leaves
    with _open(ws, "other") as other:
        DatasetGroup.create(other, "theirs").import_frame(interactions(5))
    before = inventory(ws)
    assert len([k for k in before["objects"] if "/batch/" in k]) >= 2  # input and output

    assert main(["sweep", "--workspace", str(ws)]) == 1  # a dry run with leftovers
    out = capsys.readouterr().out
    assert f"sweep of workspace {ws} (dry run)" in out
    assert "import upload of run crashed (run id in its key)" in out
    assert "batch job folder of run crashed (personakit-run metadata of its input)" in out
    assert inventory(ws) == before  # a dry run deletes nothing

    assert main(["sweep", "--workspace", str(ws), "--run-id", "crashed", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "0 failed" in out
    assert "spared: dataset group kept: kept on purpose" in out
    assert "its dataset group kept is not swept" in out
    assert "run other, not crashed" in out

    after = inventory(ws)
    assert after["groups"] == ["kept", "theirs"]
    assert after["datasets"] == ["kept-interactions", "theirs-interactions"]
    assert len(after["schemas"]) == 1  # the shared one; the crashed run's own is gone
    assert "solutions" not in after
    assert "campaigns" not in after
    objects = after["objects"]
    assert len(objects) == 2
    assert any(k.startswith("personakit/kept/crashed/") for k in objects)
    assert any(k.startswith("personakit/theirs/other/") for k in objects)

    assert main(["sweep", "--workspace", str(ws), "--run-id", "crashed"]) == 0  # nothing left
    assert "0 resource(s) would be deleted" in capsys.readouterr().out


def test_the_command_an_interrupted_teardown_prints_runs_as_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "my workspace"  # a space: the printed command quotes it
    with _open(ws) as s:
        group = DatasetGroup.create(s, "twice")
        group.import_frame(interactions())
        fired: list[str] = []
        wait_gone = td.Teardown._wait_gone

        def interrupted(self: Any, entry: Any) -> None:
            if len(fired) < 2:  # Ctrl-C, and Ctrl-C again: the teardown stops
                fired.append(entry.arn)
                raise KeyboardInterrupt
            wait_gone(self, entry)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(td.Teardown, "_wait_gone", interrupted)
            with pytest.raises(KeyboardInterrupt):
                group.teardown()
        assert group._teardown.leftovers()
    printed = capsys.readouterr().err.strip().splitlines()[-1].strip()
    argv = shlex.split(printed)
    assert argv[:4] == ["personakit", "sweep", "--workspace", str(ws)]
    assert inventory(ws)

    assert main(argv[1:]) == 0  # what follows `personakit`
    assert "0 failed" in capsys.readouterr().out
    assert inventory(ws) == {}


def test_a_killed_process_leaves_nothing_the_sweep_does_not_find(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    script = f"""
import os, signal, sys
sys.path[:0] = [{str(Path(__file__).parent)!r}, {str(Path(__file__).parents[1])!r}]
from _accounts import interactions
import personakit as pk
from personakit.personalize.group import DatasetGroup
session = pk.Session.local({str(ws)!r}, run_id="killed", progress=False, min_state_s=0.01)
group = DatasetGroup.create(session, "doomed")
group.import_frame(interactions())
group.train("popularity-count", wait=False)
print("ready", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.strip() == "ready"
    assert inventory(ws)["groups"] == ["doomed"]

    assert main(["sweep", "--workspace", str(ws), "--run-id", "killed", "--yes"]) == 0
    assert inventory(ws) == {}


def test_orphaned_schemas_and_uploads_of_a_crashed_teardown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    with _open(ws, "half") as s:
        p, s3 = s.client("personalize"), s.client("s3")
        group = DatasetGroup.create(s, "half")
        group.import_frame(_without_event_type())
        # a teardown that stopped before the schemas and uploads (ranks 7 and 8)
        dataset = p.list_datasets(datasetGroupArn=group.arn)["datasets"][0]["datasetArn"]
        p.delete_dataset(datasetArn=dataset)
        _gone(p.describe_dataset, datasetArn=dataset)
        p.delete_dataset_group(datasetGroupArn=group.arn)
        _gone(p.describe_dataset_group, datasetGroupArn=group.arn)
        # named like personakit's schemas, but not after its content: not personakit's
        text = Schema.infer(interactions(), "interactions").to_json()
        p.create_schema(name="pk-interactions-0123456789abcdef", schema=text)
        # objects personakit did not provably upload
        s3.put_object(Bucket=BUCKET, Key="personakit/notes/a.txt", Body=b"mine")
        s3.put_object(Bucket=BUCKET, Key="personakit/batch/by-hand/input/x.json", Body=b"{}")
        s3.put_object(Bucket=BUCKET, Key="elsewhere/b.txt", Body=b"not under the prefix")
    before = inventory(ws)
    assert len(before["schemas"]) == 2
    ours = next(n for n in before["schemas"] if n != "pk-interactions-0123456789abcdef")

    # a run-scoped sweep takes the upload; the schema cannot be tied to the run
    assert main(["sweep", "--workspace", str(ws), "--run-id", "half", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "1 of 1 resource(s) deleted" in out
    assert f"schema {ours}: personakit's and unused, but schemas take no tags" in out
    assert "s3://personakit-local/personakit/notes/: 1 object(s) not provably" in out
    assert "s3://personakit-local/personakit/batch/by-hand/: not provably" in out
    assert [k for k in inventory(ws)["objects"] if "/half/" in k] == []

    # a sweep of every run deletes it: personakit named it after its content, unused
    assert main(["sweep", "--workspace", str(ws)]) == 1
    out = capsys.readouterr().out
    assert "personakit's (named after its content), no dataset uses it" in out
    assert "schema pk-interactions-0123456789abcdef: named like personakit's, not after" in out
    assert main(["sweep", "--workspace", str(ws), "--older-than", "0s", "--yes"]) == 0
    after = inventory(ws)
    assert after["schemas"] == ["pk-interactions-0123456789abcdef"]
    assert after["objects"] == [
        "elsewhere/b.txt",
        "personakit/batch/by-hand/input/x.json",
        "personakit/notes/a.txt",
    ]


def test_an_upload_a_running_import_reads_is_spared(tmp_path: Path) -> None:
    with _open(tmp_path, "owner") as owner:
        DatasetGroup.create(owner, "shared").import_frame(interactions())
        # another run adopts the group and imports; its job stays pending for a while
        with _open(tmp_path, "adopter", min_state_s=30) as adopter:
            group = DatasetGroup.create(adopter, "shared")
            group.import_frame(interactions(5), wait=False)

            report = sweep(owner, run_id="adopter")

            assert report.items == ()
            assert any(
                "/shared/adopter/" in s and "still running, uses it" in s for s in report.spared
            )


def test_aws_s3_the_same_code_lists_the_bucket_prefix(tmp_path: Path) -> None:
    """On AWS (moto's S3): only what personakit provably uploaded goes; pages are followed."""
    with mock_aws(), local.LocalEngine(tmp_path) as engine:
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="pk-aws")
        for n in range(1001):  # more than one page of ListObjectsV2
            s3.put_object(Bucket="pk-aws", Key=f"personakit/notes/{n:04d}.txt", Body=b"x")
        csv = "personakit/movies/run-1/interactions-1-0123456789ab.csv"
        s3.put_object(Bucket="pk-aws", Key=csv, Body=b"USER_ID\n")
        s3.put_object(Bucket="pk-aws", Key="personakit/movies/run-2/items-1-0123456789ab.csv")
        meta = {RUN_METADATA: "run-1"}
        s3.put_object(Bucket="pk-aws", Key="personakit/batch/a/input/input.json", Metadata=meta)
        s3.put_object(Bucket="pk-aws", Key="personakit/batch/a/output/input.json.out")
        s3.put_object(Bucket="pk-aws", Key="personakit/batch/b/input/input.json")
        s = Session(engine, region="us-east-1", bucket="pk-aws", clients={"s3": s3})

        report = sweep(s, dry_run=False, run_id="run-1")

        assert report.ok, report
        assert sorted((i.kind, i.name, i.outcome) for i in report.items) == [
            ("s3_object", csv, "deleted"),
            ("s3_prefix", "personakit/batch/a/", "deleted"),
        ]
        assert any("personakit/notes/: 1001 object(s) not provably" in x for x in report.spared)
        assert any("run run-2, not run-1" in x for x in report.spared)
        assert any("personakit/batch/b/: not provably" in x for x in report.spared)
        left = {
            o["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket="pk-aws")
            for o in page.get("Contents", [])
        }
        assert len(left) == 1003
        assert "personakit/batch/b/input/input.json" in left
        assert not any(k.startswith(("personakit/batch/a/", csv)) for k in left)


def test_workspace_and_region_exclude_each_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with _open(tmp_path / "ws"):
        pass
    assert main(["sweep", "--workspace", str(tmp_path / "ws"), "--region", "us-east-1"]) == 2
    assert "--workspace and --region exclude each other" in capsys.readouterr().err
    assert main(["sweep", "--workspace", str(tmp_path / "ws"), "--profile", "dev"]) == 2
    assert "--workspace and --profile exclude each other" in capsys.readouterr().err
    # a folder that is no workspace is not made one
    assert main(["sweep", "--workspace", str(tmp_path / "typo")]) == 2
    assert "no personakit workspace there" in capsys.readouterr().err
    assert not (tmp_path / "typo").exists()


def test_a_local_session_names_its_workspace_in_the_sweep_command(tmp_path: Path) -> None:
    with _open(tmp_path / "a b", "r1", bucket="pk-b", prefix="x/y") as s:
        assert s.sweep_command() == (
            f"personakit sweep --workspace '{tmp_path / 'a b'}' --bucket pk-b "
            "--prefix x/y/ --run-id r1 --yes"
        )
    with local.LocalEngine(tmp_path / "e") as engine:
        assert session(engine, "r2").sweep_command().startswith("personakit sweep --workspace ")
    aws = Session.aws(region_name="eu-west-1", run_id="r3")
    assert aws.sweep_command() == "personakit sweep --region eu-west-1 --run-id r3 --yes"


def test_cost_running_reads_a_workspace_as_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    ws = tmp_path / "my workspace"
    with _open(ws) as s:
        group = DatasetGroup.create(s, "billing")  # not a with block: it stays
        group.import_frame(interactions())
        campaign = group.train("popularity-count").deploy()
    assert main(["cost", "running", "--workspace", str(ws), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    names = {r["name"]: r for r in doc["inventory"]["resources"]}
    assert campaign.name in names
    assert doc["inventory"]["usd_per_hour"] > 0  # the 1 TPS campaign bills
    assert doc["inventory"]["complete"]
    assert main(["cost", "running", "--workspace", str(ws), "--region", "us-east-1"]) == 2
    assert "--workspace and --region exclude each other" in capsys.readouterr().err
    assert main(["cost", "running", "--workspace", str(tmp_path / "nothing")]) == 2
    assert "no personakit workspace there" in capsys.readouterr().err
