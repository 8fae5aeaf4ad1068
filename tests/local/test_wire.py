"""The local engine speaks AWS's wire protocols: real boto3 clients offline.

Requests go through botocore's serializer, signer, retry handler and parser, and
reach the engine as bytes; the engine answers in the service's wire format with
each error's modeled status.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.client
import botocore.serialize
import pytest
from botocore.config import Config
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError, EndpointConnectionError, EventStreamError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import personakit as pk
from _local import FAST
from personakit.aws.retry import Retrier
from personakit.local import SERVICES, LocalEngine
from personakit.local.personalize import PersonalizeTwin
from personakit.local.runtime import PersonalizeRuntimeTwin
from personakit.local.twin import Twin, TwinError, service_model
from personakit.local.wire import Request, answer, endpoint_url, protocol_for, wire_client
from personakit.local.wire.codec import OutputShapeError
from personakit.local.wire.eventstream import encode_events


@pytest.fixture
def session(tmp_path: Path) -> Iterator[pk.Session]:
    with pk.Session.local(tmp_path / "ws", timing=FAST, min_state_s=0) as s:
        yield s


# --------------------------------------------------------------------------- real clients


@pytest.mark.parametrize("service", SERVICES)
def test_every_local_client_is_the_class_boto3_returns(session: pk.Session, service: str) -> None:
    client: Any = session.client(service)  # type: ignore[call-overload]
    assert isinstance(client, botocore.client.BaseClient)
    assert client.meta.service_model.service_name == service
    assert client.meta.endpoint_url.endswith(".personakit.invalid")
    assert client.meta.region_name == "us-east-1"
    # personakit retries Personalize and SageMaker control calls itself: one botocore attempt
    expected = 1 if service in ("personalize", "personalize-events", "sagemaker") else 3
    assert client.meta.config.retries["total_max_attempts"] == expected


def test_s3_gets_boto3s_transfer_methods_and_presigned_urls(session: pk.Session) -> None:
    s3: Any = session.client("s3")
    s3.upload_fileobj(io.BytesIO(b"a,b\n1,2\n"), "personakit-local", "in/x.csv")
    out = io.BytesIO()
    s3.download_fileobj("personakit-local", "in/x.csv", out)
    assert out.getvalue() == b"a,b\n1,2\n"
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "personakit-local", "Key": "in/x.csv"}
    )
    assert url.startswith("https://s3.us-east-1.personakit.invalid/personakit-local/in/x.csv?")
    assert "Signature=" in url


def test_users_hooks_see_every_event_of_a_call(session: pk.Session) -> None:
    client: Any = session.client("personalize")
    seen: list[str] = []
    for event in ("request-created", "before-sign", "before-send", "needs-retry", "after-call"):
        client.meta.events.register_first(
            f"{event}.personalize.ListDatasetGroups",
            lambda event_name, **_: seen.append(event_name.split(".")[0]),
        )
    client.list_dataset_groups()
    assert seen == ["request-created", "before-sign", "before-send", "needs-retry", "after-call"]


def test_without_the_engine_a_request_cannot_leave_the_machine() -> None:
    import boto3

    client = boto3.client(
        "personalize",
        region_name="us-east-1",
        endpoint_url=endpoint_url("personalize", "us-east-1"),
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=2),
    )
    with pytest.raises(EndpointConnectionError, match=r"personakit\.invalid"):
        client.list_dataset_groups()  # .invalid never resolves (RFC 6761)


# --------------------------------------------------------------------------- errors


def test_runtime_errors_carry_the_status_the_model_gives(session: pk.Session) -> None:
    runtime: Any = session.client("personalize-runtime")
    arn = "arn:aws:personalize:us-east-1:000000000000:campaign/none"
    with pytest.raises(runtime.exceptions.ResourceNotFoundException) as caught:
        runtime.get_recommendations(campaignArn=arn, userId="u1")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    personalize: Any = session.client("personalize")
    with pytest.raises(personalize.exceptions.ResourceNotFoundException) as control:
        personalize.describe_campaign(campaignArn=arn)
    assert control.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400  # JSON protocol


def test_sagemaker_runtime_says_validation_error_for_a_missing_endpoint(
    session: pk.Session,
) -> None:
    runtime: Any = session.client("sagemaker-runtime")
    with pytest.raises(runtime.exceptions.ValidationError) as caught:
        runtime.invoke_endpoint(EndpointName="nope", Body=b"{}", ContentType="application/json")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def _throttled(base: type[Twin], fail: int = 2) -> type[Any]:
    """``base`` answering ThrottlingException for its first ``fail`` calls (``.calls``)."""

    class Throttled(base):  # type: ignore[valid-type, misc]
        calls = 0

        def answer(self, model: Any, params: dict[str, Any]) -> dict[str, Any]:
            type(self).calls += 1
            if type(self).calls <= fail:
                raise TwinError("ThrottlingException", "Rate exceeded")
            return dict(super().answer(model, params))

    return Throttled


def test_botocore_retries_a_throttled_runtime_call_through_the_transport(tmp_path: Path) -> None:
    throttled = _throttled(PersonalizeRuntimeTwin)
    with LocalEngine(tmp_path / "ws") as engine:
        runtime: Any = wire_client(throttled(engine), region=engine.region)
        with pytest.raises(runtime.exceptions.ResourceNotFoundException) as caught:
            runtime.get_recommendations(
                campaignArn="arn:aws:personalize:us-east-1:000000000000:campaign/x", userId="u"
            )
        assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 2
        assert throttled.calls == 3  # botocore's standard mode: 3 attempts in all


def test_personakit_alone_retries_the_calls_it_retries(tmp_path: Path) -> None:
    from personakit.aws.clients import ClientConfigs

    throttled = _throttled(PersonalizeTwin)
    with LocalEngine(tmp_path / "ws") as engine:
        client: Any = wire_client(
            throttled(engine),
            region=engine.region,
            config=ClientConfigs()("personalize"),
        )
        with pytest.raises(ClientError) as first:
            client.list_dataset_groups()
        assert first.value.response["ResponseMetadata"]["RetryAttempts"] == 0
        assert throttled.calls == 1  # one botocore attempt, no hidden retries
        throttled.calls = 0
        waits: list[float] = []
        out = Retrier(sleep=waits.append).call(client.list_dataset_groups)
        assert out["datasetGroups"] == []
        assert throttled.calls == 3
        assert len(waits) == 2


# --------------------------------------------------------------------------- event streams


class _Streaming(Twin):
    service_name = "sagemaker-runtime"

    def _op_InvokeEndpointWithResponseStream(self, params: dict[str, Any]) -> dict[str, Any]:
        def events() -> Iterator[dict[str, Any]]:
            yield {"PayloadPart": {"Bytes": b"data: hello\n\n"}}
            yield {"ModelStreamError": {"Message": "the model fell over", "ErrorCode": "500"}}

        return {"Body": events(), "ContentType": "text/event-stream"}


def test_response_streams_are_botocores_event_streams_with_in_stream_errors() -> None:
    client: Any = wire_client(_Streaming(region_name="us-east-1"), region="us-east-1")
    response = client.invoke_endpoint_with_response_stream(EndpointName="e", Body=b"{}")
    stream = response["Body"]
    assert type(stream).__name__ == "EventStream"
    events = iter(stream)
    assert next(events) == {"PayloadPart": {"Bytes": b"data: hello\n\n"}}
    with pytest.raises(EventStreamError, match="the model fell over"):
        next(events)


def test_event_stream_frames_decode_with_botocores_reader() -> None:
    shape = service_model("sagemaker-runtime").shape_for("ResponseStream")
    problems: list[str] = []
    data = b"".join(encode_events([{"PayloadPart": {"Bytes": b"x" * 70_000}}], shape, problems))
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    (message,) = list(buffer)
    assert message.headers[":event-type"] == "PayloadPart"
    assert message.payload == b"x" * 70_000
    assert problems == []


# --------------------------------------------------------------------------- checks on handlers


class _Sloppy(Twin):
    service_name = "personalize"

    def _op_ListDatasetGroups(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"datasetGroups": [], "nextTokn": "typo"}

    def _op_DescribeDatasetGroup(self, params: dict[str, Any]) -> dict[str, Any]:
        raise TwinError("ResourceInUseException", "not a code DescribeDatasetGroup declares")


def test_a_handler_output_botocore_would_silently_drop_is_an_engine_error() -> None:
    client: Any = wire_client(_Sloppy(region_name="us-east-1"), region="us-east-1")
    with pytest.raises(OutputShapeError, match="unknown member 'nextTokn'"):
        client.list_dataset_groups()
    with pytest.raises(OutputShapeError, match="does not declare"):
        client.describe_dataset_group(datasetGroupArn="arn:aws:personalize:::dataset-group/x")


def test_the_engine_validates_what_a_client_left_unchecked(tmp_path: Path) -> None:
    with LocalEngine(tmp_path / "ws") as engine:
        unchecked: Any = engine.client("personalize", config=Config(parameter_validation=False))
        with pytest.raises(ClientError, match="ValidationException") as caught:
            unchecked.create_dataset_group()  # no name: botocore was told not to look
        assert "name" in caught.value.response["Error"]["Message"]


# --------------------------------------------------------------------------- bad requests


def _raw(service: str, request: Request, tmp_path: Path) -> tuple[int, dict[str, str], bytes]:
    with LocalEngine(tmp_path / "ws") as engine:
        handler = engine.handler(service)
        reply = answer(protocol_for(handler.service_model), handler, request)
        assert isinstance(reply.body, bytes)
        return reply.status, reply.headers, reply.body


def test_bad_json_requests_get_the_errors_aws_sends(tmp_path: Path) -> None:
    target = {"X-Amz-Target": "AmazonPersonalize.CreateDatasetGroup"}
    status, headers, body = _raw(
        "personalize", Request("POST", "/", "", target, b"{nope"), tmp_path
    )
    assert (status, headers["x-amzn-ErrorType"]) == (400, "SerializationException")
    status, headers, _ = _raw(
        "personalize",
        Request("POST", "/", "", {"X-Amz-Target": "AmazonPersonalize.Explode"}, b"{}"),
        tmp_path,
    )
    assert (status, headers["x-amzn-ErrorType"]) == (400, "UnknownOperationException")
    status, headers, body = _raw("personalize", Request("POST", "/", "", target, b"{}"), tmp_path)
    assert headers["x-amzn-ErrorType"] == "ValidationException"
    assert "name" in json.loads(body)["message"]
    status, headers, _ = _raw(
        "personalize", Request("POST", "/", "", target, b'{"name": 7}'), tmp_path
    )
    assert headers["x-amzn-ErrorType"] == "SerializationException"


def test_bad_rest_requests_get_the_errors_aws_sends(tmp_path: Path) -> None:
    status, headers, _ = _raw(
        "personalize-runtime", Request("POST", "/nowhere", "", {}, b"{}"), tmp_path
    )
    assert (status, headers["x-amzn-ErrorType"]) == (404, "UnknownOperationException")
    status, _, body = _raw(
        "s3", Request("POST", "/bucket", "delete", {}, b"<Delete><Object>"), tmp_path
    )
    assert status == 400
    assert b"<Code>MalformedXML</Code>" in body
    bomb = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><Delete>&a;</Delete>'
    status, _, body = _raw("s3", Request("POST", "/bucket", "delete", {}, bomb), tmp_path)
    assert status == 400
    assert b"MalformedXML" in body


def test_s3_reads_the_bucket_from_a_virtual_host_as_from_the_path() -> None:
    protocol = protocol_for(service_model("s3"), host="127.0.0.1:4599")
    for request in (
        Request("GET", "/in/x.csv", "", {"Host": "my-bucket.127.0.0.1:4599"}),
        Request("GET", "/my-bucket/in/x.csv", "", {"Host": "127.0.0.1:4599"}),
    ):
        operation = protocol.operation(request)
        assert operation.name == "GetObject"
        assert protocol.params(request, operation) == {"Bucket": "my-bucket", "Key": "in/x.csv"}
    listing = Request("GET", "/", "list-type=2", {"Host": "my-bucket.127.0.0.1:4599"})
    operation = protocol.operation(listing)
    assert operation.name == "ListObjectsV2"
    assert protocol.params(listing, operation) == {"Bucket": "my-bucket"}


# --------------------------------------------------------------------------- round trips

_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=40,
)


def _serialized(service: str, operation: str, params: dict[str, Any]) -> Request:
    model = service_model(service)
    op = model.operation_model(operation)
    serializer = botocore.serialize.create_serializer(model.protocol, include_validation=False)
    wire = serializer.serialize_to_request(params, op)
    from urllib.parse import urlencode

    raw_query = wire["query_string"]
    query = urlencode(raw_query, doseq=True) if isinstance(raw_query, dict) else raw_query
    body = wire["body"]
    if hasattr(body, "read"):
        body = body.read()
    return Request(wire["method"], wire["url_path"], query, dict(wire["headers"]), body or b"")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=_TEXT, context=st.dictionaries(_TEXT, _TEXT, max_size=3), n=st.integers(1, 500))
def test_a_rest_json_request_reads_back_as_sent(name: str, context: dict[str, str], n: int) -> None:
    params = {
        "campaignArn": "arn:aws:personalize:us-east-1:000000000000:campaign/c",
        "userId": name,
        "numResults": n,
        "context": context,
        "filterValues": {"GENRES": json.dumps(name)},
    }
    request = _serialized("personalize-runtime", "GetRecommendations", params)
    protocol = protocol_for(service_model("personalize-runtime"))
    operation = protocol.operation(request)
    assert operation.name == "GetRecommendations"
    assert protocol.params(request, operation) == params


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=_TEXT.filter(lambda k: not k.startswith("/")),
    meta=st.dictionaries(
        st.text("abcdefghij-", min_size=1, max_size=8),
        st.text("abcdef 0123", max_size=8),
        max_size=3,
    ),
)
def test_an_s3_request_reads_back_as_sent(key: str, meta: dict[str, str]) -> None:
    params = {"Bucket": "bucket-1", "Key": key, "Body": b"payload", "Metadata": meta}
    request = _serialized("s3", "PutObject", params)
    protocol = protocol_for(service_model("s3"))
    operation = protocol.operation(request)
    assert operation.name == "PutObject"
    got = protocol.params(request, operation)
    assert got["Key"] == key
    assert got["Bucket"] == "bucket-1"
    assert got["Body"].read() == b"payload"
    assert got.get("Metadata", {}) == meta


@settings(max_examples=60, deadline=None)
@given(
    payload=st.binary(max_size=5000),
    chunk=st.integers(1, 700),
    reads=st.lists(st.integers(1, 900), min_size=1, max_size=20),
)
def test_an_aws_chunked_body_reads_back_as_botocore_wrote_it(
    payload: bytes, chunk: int, reads: list[int]
) -> None:
    from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum

    from personakit.local.wire.transport import Unchunked

    wire = AwsChunkedWrapper(
        io.BytesIO(payload),
        checksum_cls=Crc32Checksum,
        checksum_name="x-amz-checksum-crc32",
        chunk_size=chunk,
    ).read()
    body = Unchunked(io.BytesIO(wire))
    got = b"".join(body.read(n) for n in reads) + body.read()
    assert got == payload
