"""One workspace, many users: threads, processes, restarts and crashes.

Subprocesses run small scripts against the same workspace; one is killed with
SIGKILL in the middle of an import or a training, and the next engine must find
a consistent store: the job failed with a reason naming the dead process, the
rest intact, no temporary files left, and new work possible.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from _twin_helpers import RECIPE, Clients, deploy, make_group, poll, status_of

from personakit.local import LocalEngine

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and flock are POSIX")

HERE = Path(__file__).parent


def _script(body: str) -> str:
    return textwrap.dedent(
        f"""
        import json, sys, time
        sys.path.insert(0, {str(HERE)!r})
        from personakit.local import LocalEngine
        from _twin_helpers import *
        workspace = sys.argv[1]
        """
    ) + textwrap.dedent(body)


def _run(tmp_path: Path, body: str, *args: str, timeout: float = 60.0) -> str:
    script = tmp_path / f"script-{time.monotonic_ns()}.py"
    script.write_text(_script(body))
    done = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _spawn(tmp_path: Path, body: str, *args: str) -> subprocess.Popen[str]:
    script = tmp_path / f"script-{time.monotonic_ns()}.py"
    script.write_text(_script(body))
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _integrity(workspace: Path) -> None:
    conn = sqlite3.connect(workspace / "state.sqlite3")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def _temporaries(workspace: Path) -> list[Path]:
    return [p for p in workspace.rglob("*") if ".tmp-" in p.name]


def _clients(engine: LocalEngine) -> Clients:
    return Clients(
        engine,
        engine.client("personalize"),
        engine.client("s3"),
        engine.client("personalize-runtime"),
        engine.client("personalize-events"),
    )


SETUP = """
engine = LocalEngine(workspace, min_state_s=0.0)
c = Clients(engine, engine.client("personalize"), engine.client("s3"),
            engine.client("personalize-runtime"), engine.client("personalize-events"))
c.s3.create_bucket(Bucket=BUCKET)
"""


def test_two_threads_creating_at_once_do_not_corrupt_the_store(engine: LocalEngine) -> None:
    shared = [f"shared-{i}" for i in range(6)]
    won: list[str] = []
    errors: list[BaseException] = []

    def work(k: int) -> None:
        pz = engine.client("personalize")
        try:
            for i in range(12):
                pz.create_dataset_group(name=f"t{k}-{i}")
                pz.create_schema(name=f"s{k}-{i}", schema=_schema())
            for name in shared:
                try:
                    pz.create_dataset_group(name=name)
                    won.append(name)
                except pz.exceptions.ResourceAlreadyExistsException:
                    pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(won) == shared  # every shared name created exactly once
    pz = engine.client("personalize")
    groups = pz.get_paginator("list_dataset_groups").paginate().build_full_result()
    assert len(groups["datasetGroups"]) == 24 + len(shared)
    for g in groups["datasetGroups"]:
        assert poll(status_of(pz, "dataset_group", g["datasetGroupArn"]))[-1] == "ACTIVE"
    assert len(pz.list_schemas(maxResults=100)["schemas"]) == 24
    _integrity(engine.path)


def _schema() -> str:
    from _twin_helpers import INTERACTIONS_SCHEMA

    return INTERACTIONS_SCHEMA


def test_two_processes_share_a_workspace(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    LocalEngine(workspace).close()
    body = """
    engine = LocalEngine(workspace, min_state_s=0.0)
    pz = engine.client("personalize")
    won = []
    for i in range(10):
        pz.create_dataset_group(name=f"{sys.argv[2]}-{i}")
    for i in range(5):
        try:
            pz.create_dataset_group(name=f"shared-{i}")
            won.append(i)
        except pz.exceptions.ResourceAlreadyExistsException:
            pass
    engine.close()
    print(json.dumps(won))
    """
    procs = [_spawn(tmp_path, body, str(workspace), tag) for tag in ("p1", "p2")]
    won: list[int] = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err[-3000:]
        won += json.loads(out.strip().splitlines()[-1])
    assert sorted(won) == [0, 1, 2, 3, 4]
    with LocalEngine(workspace, min_state_s=0.0) as engine:
        pz = engine.client("personalize")
        groups = pz.get_paginator("list_dataset_groups").paginate().build_full_result()
        assert len(groups["datasetGroups"]) == 25
        for g in groups["datasetGroups"]:  # walks left unfinished at close are completed
            assert poll(status_of(pz, "dataset_group", g["datasetGroupArn"]))[-1] == "ACTIVE"
    _integrity(workspace)


def test_a_campaign_created_in_one_process_serves_in_the_next(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    out = _run(
        tmp_path,
        SETUP
        + """
group = make_group(c)
d = deploy(c, group, "aws-popularity-count")
print(d.campaign_arn)
recs = c.runtime.get_recommendations(campaignArn=d.campaign_arn, numResults=5)
print(json.dumps(recs["itemList"]))
engine.close()
""",
        str(workspace),
    )
    campaign, first = out.strip().splitlines()[-2:]
    with LocalEngine(workspace) as engine:
        pz = engine.client("personalize")
        assert pz.describe_campaign(campaignArn=campaign)["campaign"]["status"] == "ACTIVE"
        rt = engine.client("personalize-runtime")
        recs = rt.get_recommendations(campaignArn=campaign, numResults=5)["itemList"]
        assert recs == json.loads(first)  # the same model answers the same way


KILL_IN = {
    "import": (
        "personakit.local.jobs",
        "read_csv",
        """
group = make_group(c)
from personakit.local import jobs
real = jobs.read_csv
def slow(*a, **k):
    print("WORKING", flush=True)
    time.sleep(120)
jobs.read_csv = slow
uri = put_csv(c.s3, "again.csv", interactions(n=1600))
job = c.pz.create_dataset_import_job(jobName="doomed", datasetArn=group.dataset_arn,
                                     dataSource={"dataLocation": uri})["datasetImportJobArn"]
print(job, flush=True)
time.sleep(120)
""",
    ),
    "training": (
        "personakit.local.algorithms",
        "train",
        """
group = make_group(c)
solution = c.pz.create_solution(name="doomed", datasetGroupArn=group.arn,
                                recipeArn=RECIPE + "aws-popularity-count")["solutionArn"]
poll(status_of(c.pz, "solution", solution))
from personakit.local import algorithms
from personakit.local import evaluation
real = algorithms.train
def slow(*a, **k):
    model = real(*a, **k)
    print("WORKING", flush=True)
    time.sleep(120)
    return model
algorithms.train = slow
evaluation.train = slow
version = c.pz.create_solution_version(solutionArn=solution)["solutionVersionArn"]
print(version, flush=True)
time.sleep(120)
""",
    ),
}


@pytest.mark.parametrize("where", sorted(KILL_IN))
def test_a_process_killed_mid_job_leaves_a_consistent_store(tmp_path: Path, where: str) -> None:
    workspace = tmp_path / "ws"
    proc = _spawn(tmp_path, SETUP + KILL_IN[where][2], str(workspace))
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while "WORKING" not in lines or not any(line.startswith("arn:") for line in lines):
        line = proc.stdout.readline()
        assert line or proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        lines.append(line.strip())
        assert time.monotonic() < deadline, lines
    job = next(line for line in lines if line.startswith("arn:"))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    # a stray temporary of the dead process, as if it died while writing a file
    stray = workspace / "artifacts" / "models" / f".x.tmp-{_owner_of(workspace, job)}-dead"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"half a model")
    _integrity(workspace)
    with LocalEngine(workspace, min_state_s=0.0) as engine:
        c = _clients(engine)
        pz = c.pz
        if where == "import":
            described = pz.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"]
        else:
            described = pz.describe_solution_version(solutionVersionArn=job)["solutionVersion"]
        assert described["status"] == "CREATE FAILED"
        assert f"pid {proc.pid}" in described["failureReason"]
        assert "ended before the job finished" in described["failureReason"]
        assert _temporaries(workspace) == []
        groups = pz.list_dataset_groups()["datasetGroups"]
        assert [g["status"] for g in groups] == ["ACTIVE"]
        group_arn = groups[0]["datasetGroupArn"]
        datasets = pz.list_datasets(datasetGroupArn=group_arn)["datasets"]
        assert [d["status"] for d in datasets] == ["ACTIVE"]
        # new work succeeds on the recovered workspace
        solution = pz.create_solution(
            name="after", datasetGroupArn=group_arn, recipeArn=RECIPE + "aws-popularity-count"
        )["solutionArn"]
        poll(status_of(pz, "solution", solution))
        version = pz.create_solution_version(solutionArn=solution)["solutionVersionArn"]
        assert poll(status_of(pz, "version", version))[-1] == "ACTIVE"
    _integrity(workspace)


def _owner_of(workspace: Path, arn: str) -> str:
    conn = sqlite3.connect(workspace / "state.sqlite3")
    try:
        row = conn.execute("SELECT owner FROM resources WHERE arn = ?", (arn,)).fetchone()
    finally:
        conn.close()
    return str(row[0])


def test_walks_left_by_a_killed_process_are_resumed(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    proc = _spawn(
        tmp_path,
        """
engine = LocalEngine(workspace, min_state_s=600)
arn = engine.client("personalize").create_dataset_group(name="stuck")["datasetGroupArn"]
print(arn, flush=True)
time.sleep(120)
""",
        str(workspace),
    )
    assert proc.stdout is not None
    arn = proc.stdout.readline().strip()
    assert arn.endswith(":dataset-group/stuck"), proc.stderr.read() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with LocalEngine(workspace, min_state_s=0.05) as engine:
        pz = engine.client("personalize")
        walk = poll(status_of(pz, "dataset_group", arn))
        assert walk[-1] == "ACTIVE"
        assert walk[0] in ("CREATE PENDING", "CREATE IN_PROGRESS")


def test_a_live_process_keeps_its_work(tmp_path: Path) -> None:
    """Recovery only takes over from dead owners: a live engine's walk is left alone."""
    workspace = tmp_path / "ws"
    with LocalEngine(workspace, min_state_s=600) as first:
        arn = first.client("personalize").create_dataset_group(name="slow")["datasetGroupArn"]
        with LocalEngine(workspace, min_state_s=0.0, recover_every_s=0.05) as second:
            time.sleep(0.3)
            status = second.client("personalize").describe_dataset_group(datasetGroupArn=arn)
            assert status["datasetGroup"]["status"] == "CREATE PENDING"


def test_closing_an_engine_fails_its_running_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from personakit.local import algorithms

    release = threading.Event()
    started = threading.Event()
    real = algorithms.train

    def slow(*args: Any, **kwargs: Any) -> Any:
        started.set()
        release.wait(30)
        return real(*args, **kwargs)

    workspace = tmp_path / "ws"
    engine = LocalEngine(workspace, min_state_s=0.0)
    c = _clients(engine)
    c.s3.create_bucket(Bucket="pk-test")
    group = make_group(c)
    solution = c.pz.create_solution(
        name="s", datasetGroupArn=group.arn, recipeArn=RECIPE + "aws-popularity-count"
    )["solutionArn"]
    poll(status_of(c.pz, "solution", solution))
    monkeypatch.setattr(algorithms, "train", slow)
    monkeypatch.setattr("personakit.local.evaluation.train", slow)
    version = c.pz.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    assert started.wait(30)
    engine.close(timeout=0.2)
    release.set()
    with LocalEngine(workspace) as again:
        described = again.client("personalize").describe_solution_version(
            solutionVersionArn=version
        )["solutionVersion"]
        assert described["status"] == "CREATE FAILED"
        assert "closed before this job finished" in described["failureReason"]


def test_deployed_state_survives_restart_in_process(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    with LocalEngine(workspace, min_state_s=0.0) as engine:
        c = _clients(engine)
        c.s3.create_bucket(Bucket="pk-test")
        d = deploy(c, make_group(c), "aws-user-personalization")
    with LocalEngine(workspace) as engine:
        recs = engine.client("personalize-runtime").get_recommendations(
            campaignArn=d.campaign_arn, userId="u2", numResults=3
        )
        assert len(recs["itemList"]) == 3
