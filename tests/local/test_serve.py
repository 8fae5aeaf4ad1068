"""``personakit serve``: the engine behind HTTP, for boto3, the AWS CLI and other SDKs.

Servers here listen on 127.0.0.1 only, on a free port.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

import personakit as pk
from _local import FAST, interactions
from personakit.local import LocalEngine
from personakit.local.wire.server import MAX_BODY, EngineServer

REGION = "us-east-1"
ROLE = "arn:aws:iam::000000000000:role/personalize"


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[str]:
    with LocalEngine(tmp_path / "ws", min_state_s=0) as engine, EngineServer(engine, port=0) as srv:
        yield srv.url


def client(url: str, service: str) -> Any:
    """What an AWS program builds, with only ``endpoint_url`` added."""
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"mode": "standard"}),
    )


def wait(describe: Any, key: str, **kwargs: Any) -> dict[str, Any]:
    """Poll a Describe* until ACTIVE (as every Personalize notebook does)."""
    for _ in range(3000):
        out: dict[str, Any] = describe(**kwargs)[key]
        if out["status"] in ("ACTIVE", "CREATE FAILED"):
            assert out["status"] == "ACTIVE", out.get("failureReason")
            return out
        time.sleep(0.02)
    raise AssertionError(f"{key} never became ACTIVE")


def test_a_plain_boto3_journey_runs_against_serve(endpoint: str) -> None:
    personalize = client(endpoint, "personalize")
    s3 = client(endpoint, "s3")
    runtime = client(endpoint, "personalize-runtime")
    events = client(endpoint, "personalize-events")

    schema = {
        "type": "record",
        "name": "Interactions",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [
            {"name": "USER_ID", "type": "string"},
            {"name": "ITEM_ID", "type": "string"},
            {"name": "EVENT_TYPE", "type": "string"},
            {"name": "TIMESTAMP", "type": "long"},
        ],
        "version": "1.0",
    }
    schema_arn = personalize.create_schema(name="serve-int", schema=json.dumps(schema))["schemaArn"]
    group = personalize.create_dataset_group(name="serve")["datasetGroupArn"]
    wait(personalize.describe_dataset_group, "datasetGroup", datasetGroupArn=group)
    dataset = personalize.create_dataset(
        name="serve-int", schemaArn=schema_arn, datasetGroupArn=group, datasetType="Interactions"
    )["datasetArn"]
    wait(personalize.describe_dataset, "dataset", datasetArn=dataset)
    s3.create_bucket(Bucket="serve-data")
    data = interactions().assign(EVENT_TYPE="purchase").to_csv(index=False).encode()
    s3.upload_fileobj(io.BytesIO(data), "serve-data", "i.csv")
    job = personalize.create_dataset_import_job(
        jobName="serve-import",
        datasetArn=dataset,
        dataSource={"dataLocation": "s3://serve-data/i.csv"},
        roleArn=ROLE,
    )["datasetImportJobArn"]
    wait(personalize.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=job)

    solution = personalize.create_solution(
        name="serve-sol",
        datasetGroupArn=group,
        recipeArn="arn:aws:personalize:::recipe/aws-user-personalization",
    )["solutionArn"]
    wait(personalize.describe_solution, "solution", solutionArn=solution)
    version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    wait(personalize.describe_solution_version, "solutionVersion", solutionVersionArn=version)
    metrics = personalize.get_solution_metrics(solutionVersionArn=version)["metrics"]
    assert 0.0 <= metrics["normalized_discounted_cumulative_gain_at_10"] <= 1.0

    campaign = personalize.create_campaign(
        name="serve-camp", solutionVersionArn=version, minProvisionedTPS=1
    )["campaignArn"]
    wait(personalize.describe_campaign, "campaign", campaignArn=campaign)
    items = runtime.get_recommendations(campaignArn=campaign, userId="u1", numResults=5)
    assert len(items["itemList"]) == 5

    seen = [i["itemId"] for i in items["itemList"][:2]]
    tracker = personalize.create_event_tracker(name="serve-tracker", datasetGroupArn=group)
    wait(
        personalize.describe_event_tracker,
        "eventTracker",
        eventTrackerArn=tracker["eventTrackerArn"],
    )
    events.put_events(
        trackingId=tracker["trackingId"],
        userId="u1",
        sessionId="s1",
        eventList=[
            {"eventType": "click", "itemId": item, "sentAt": 1_800_000_000 + n}
            for n, item in enumerate(seen)
        ],
    )
    filt = personalize.create_filter(
        name="serve-unseen",
        datasetGroupArn=group,
        filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")',
    )["filterArn"]
    wait(personalize.describe_filter, "filter", filterArn=filt)
    filtered = runtime.get_recommendations(
        campaignArn=campaign, userId="u1", numResults=20, filterArn=filt
    )
    assert not {i["itemId"] for i in filtered["itemList"]} & set(seen)

    s3.put_object(Bucket="serve-data", Key="batch/in.json", Body=b'{"userId": "u1"}\n')
    batch = personalize.create_batch_inference_job(
        jobName="serve-batch",
        solutionVersionArn=version,
        roleArn=ROLE,
        jobInput={"s3DataSource": {"path": "s3://serve-data/batch/in.json"}},
        jobOutput={"s3DataDestination": {"path": "s3://serve-data/batch/out/"}},
    )["batchInferenceJobArn"]
    wait(personalize.describe_batch_inference_job, "batchInferenceJob", batchInferenceJobArn=batch)
    keys = [
        o["Key"] for o in s3.list_objects_v2(Bucket="serve-data", Prefix="batch/out/")["Contents"]
    ]
    out = s3.get_object(Bucket="serve-data", Key=keys[0])["Body"].read()
    assert json.loads(out.splitlines()[0])["input"] == {"userId": "u1"}

    # the clean-up, in the order Personalize requires
    personalize.delete_campaign(campaignArn=campaign)
    personalize.delete_filter(filterArn=filt)
    personalize.delete_event_tracker(eventTrackerArn=tracker["eventTrackerArn"])
    for _ in range(500):
        if not personalize.list_campaigns(solutionArn=solution)["campaigns"]:
            break
        time.sleep(0.02)
    personalize.delete_solution(solutionArn=solution)

    def until_free(delete: Any, **kwargs: Any) -> None:  # what's inside is still going
        for _ in range(500):
            try:
                delete(**kwargs)
                return
            except personalize.exceptions.ResourceInUseException:
                time.sleep(0.02)
        raise AssertionError(f"{delete.__name__} stayed in use")

    until_free(personalize.delete_dataset, datasetArn=dataset)
    until_free(personalize.delete_dataset_group, datasetGroupArn=group)
    personalize.delete_schema(schemaArn=schema_arn)
    for _ in range(500):
        if not personalize.list_dataset_groups()["datasetGroups"]:
            break
        time.sleep(0.02)
    assert personalize.list_dataset_groups()["datasetGroups"] == []


def test_a_local_session_on_the_same_workspace_sees_what_serve_made(tmp_path: Path) -> None:
    with LocalEngine(tmp_path / "ws") as engine, EngineServer(engine, port=0) as srv:
        arn = client(srv.url, "personalize").create_dataset_group(name="shared")["datasetGroupArn"]
        with pk.Session.local(tmp_path / "ws", timing=FAST) as session:
            groups = session.client("personalize").list_dataset_groups()["datasetGroups"]
            assert [g["datasetGroupArn"] for g in groups] == [arn]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files in /proc")
def test_many_client_connections_do_not_pile_up_open_files(tmp_path: Path) -> None:
    # each client connection is answered on a thread of its own (the AWS CLI opens one
    # per command); a workspace connection kept per finished thread ran out of files
    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    with LocalEngine(tmp_path / "ws") as engine, EngineServer(engine, port=0) as srv:
        pz = client(srv.url, "personalize")
        pz.list_dataset_groups()
        pz.close()
        before = open_files()
        clients = 80
        for _ in range(clients):
            pz = client(srv.url, "personalize")
            pz.list_dataset_groups()
            pz.close()
        # a kept connection per client is 2 files each (160 here); a few handler threads
        # still winding down, or sockets in flight, hold some
        for _ in range(100):
            if open_files() - before < clients // 2:
                break
            time.sleep(0.02)
        assert open_files() - before < clients // 2


def test_errors_and_streams_travel_as_on_aws(endpoint: str) -> None:
    runtime = client(endpoint, "personalize-runtime")
    with pytest.raises(runtime.exceptions.ResourceNotFoundException) as caught:
        runtime.get_recommendations(
            campaignArn="arn:aws:personalize:us-east-1:000000000000:campaign/none", userId="u"
        )
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket="big")
    blob = os.urandom(3 * 1024 * 1024)
    s3.put_object(Bucket="big", Key="blob", Body=blob)
    body = s3.get_object(Bucket="big", Key="blob")["Body"]
    assert body.read(10) == blob[:10]
    assert body.read() == blob[10:]
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="big", Key="missing")


def _raw_http(url: str, data: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_bad_requests_get_aws_errors_and_the_server_keeps_serving(endpoint: str) -> None:
    auth = (
        b"Authorization: AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/personalize/"
        b"aws4_request, SignedHeaders=host, Signature=00\r\n"
    )
    big = _raw_http(
        endpoint,
        b"POST / HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Length: %d\r\n\r\n" % (MAX_BODY + 1),
    )
    assert big.startswith(b"HTTP/1.1 413")
    garbage = _raw_http(endpoint, b"\x00\x01 not http at all\r\n\r\n")
    assert b"SerializationException" in garbage  # (no status line: it was not HTTP/1.x)
    malformed = _raw_http(
        endpoint,
        b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AmazonPersonalize.CreateSchema\r\n"
        + auth
        + b"Content-Length: 5\r\n\r\n{nope",
    )
    assert malformed.startswith(b"HTTP/1.1 400")
    assert b"SerializationException" in malformed
    unknown = _raw_http(
        endpoint,
        b"POST / HTTP/1.1\r\nHost: x\r\n"
        + auth.replace(b"/personalize/", b"/dynamodb/")
        + b"Content-Length: 2\r\n\r\n{}",
    )
    assert unknown.startswith(b"HTTP/1.1 404")
    assert b"UnknownOperationException" in unknown
    assert client(endpoint, "personalize").list_dataset_groups()["datasetGroups"] == []


def _aws_cli() -> Path:
    cli = Path(sys.executable).parent / "aws"
    if not cli.exists():
        pytest.skip("the AWS CLI (awscli, in the dev extra) is not installed")
    return cli


def test_the_aws_cli_works_against_serve(endpoint: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "personakit",
        "AWS_SECRET_ACCESS_KEY": "personakit",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    cli = str(_aws_cli())

    def aws(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([cli, *args], env=env, capture_output=True, text=True, timeout=120)

    made = aws("personalize", "create-dataset-group", "--name", "from-cli")
    assert made.returncode == 0, made.stderr
    listed = json.loads(aws("personalize", "list-dataset-groups", "--output", "json").stdout)
    assert [g["name"] for g in listed["datasetGroups"]] == ["from-cli"]
    (tmp_path / "hello.txt").write_text("hello")
    assert aws("s3", "mb", "s3://cli-bucket").returncode == 0
    assert (
        aws("s3", "cp", str(tmp_path / "hello.txt"), "s3://cli-bucket/a/hello.txt").returncode == 0
    )
    assert aws("s3", "cp", "s3://cli-bucket/a/hello.txt", "-").stdout == "hello"
    missing = aws(
        "personalize-runtime",
        "get-recommendations",
        "--campaign-arn",
        "arn:aws:personalize:us-east-1:000000000000:campaign/none",
        "--user-id",
        "u1",
    )
    assert missing.returncode == 255
    assert "ResourceNotFoundException" in missing.stderr


def test_the_serve_command_prints_its_endpoint_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "personakit.cli",
            "serve",
            "--workspace",
            str(tmp_path / "ws"),
            "--port",
            "0",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        while not lines or lines[-1] != "}\n":
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            lines.append(line)
        started = json.loads("".join(lines))
        assert started["endpoint"].startswith("http://127.0.0.1:")
        assert started["environment"]["AWS_ENDPOINT_URL"] == started["endpoint"]
        arn = client(started["endpoint"], "personalize").create_dataset_group(name="kept")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    with pk.Session.local(tmp_path / "ws", timing=FAST) as session:  # consistent and kept
        groups = session.client("personalize").list_dataset_groups()["datasetGroups"]
        assert [g["datasetGroupArn"] for g in groups] == [arn["datasetGroupArn"]]


def test_the_cli_names_serves_port_without_loading_the_engine() -> None:
    from personakit.cli import SERVE_PORT
    from personakit.local.wire.server import DEFAULT_PORT

    assert SERVE_PORT == DEFAULT_PORT
    code = (
        "import sys; from personakit.cli import build_parser; build_parser(); "
        "print('personakit.local.engine' in sys.modules, 'boto3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]  # `personakit --help` stays quick
