"""generate / stream / embed through sagemaker-runtime: Stubber for InvokeEndpoint, and the
real botocore event-stream parser (fed encoded bytes) for InvokeEndpointWithResponseStream."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from personakit.aws.session import Session
from personakit.errors import ConfigurationError
from personakit.llm.endpoint import LLMEndpoint
from personakit.llm.formats import Generation, ModelResponseError

from ._eventstream import RawStream, model_stream_error, payload_part
from .conftest import REGION, ROLE, RUN


@pytest.fixture
def runtime() -> Any:
    return boto3.client("sagemaker-runtime", region_name=REGION)


@pytest.fixture
def session(runtime: Any) -> Session:
    return Session.aws(
        region_name=REGION, role_arn=ROLE, run_id=RUN, clients={"sagemaker-runtime": runtime}
    )


@pytest.fixture
def stub(runtime: Any) -> Iterator[Stubber]:
    with Stubber(runtime) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def bodies(runtime: Any) -> list[Any]:
    """The JSON bodies sent to InvokeEndpoint, in order."""
    sent: list[Any] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(json.loads(params["Body"]))

    runtime.meta.events.register("provide-client-params.sagemaker-runtime.InvokeEndpoint", record)
    return sent


def endpoint(session: Session, fmt: str | None) -> LLMEndpoint:
    return LLMEndpoint(session, "llm", payload_format=fmt, owned=False)


def reply(stub: Stubber, body: Any) -> None:
    data = json.dumps(body).encode()
    stub.add_response(
        "invoke_endpoint",
        {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentType": "application/json"},
        {
            "EndpointName": "llm",
            "Body": ANY,
            "ContentType": "application/json",
            "Accept": "application/json",
        },
    )


def test_generate_on_tgi_sends_inputs_and_parameters_and_reads_the_details(
    session: Session, stub: Stubber, bodies: list[Any]
) -> None:
    reply(
        stub,
        [
            {
                "generated_text": " A recommender.",
                "details": {"finish_reason": "eos_token", "generated_tokens": 4},
            }
        ],
    )
    generation = endpoint(session, "tgi").generate("What is Personalize?", max_new_tokens=32)
    assert generation == Generation(
        " A recommender.", generated_tokens=4, finish_reason="eos_token"
    )
    assert bodies == [
        {"inputs": "What is Personalize?", "parameters": {"max_new_tokens": 32, "details": True}}
    ]


def test_generate_on_the_messages_api_reads_usage(
    session: Session, stub: Stubber, bodies: list[Any]
) -> None:
    reply(
        stub,
        {
            "choices": [{"message": {"content": "Hi!"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3},
        },
    )
    generation = endpoint(session, "messages").generate("Hello", max_new_tokens=16)
    assert (generation.text, generation.prompt_tokens, generation.generated_tokens) == (
        "Hi!",
        12,
        3,
    )
    assert bodies[0]["max_tokens"] == 16


def test_a_model_error_says_where_the_container_logs_are(session: Session, stub: Stubber) -> None:
    stub.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        service_message='Received client error (422) from primary with message "{"error":"Input '
        'validation error: `inputs` tokens + `max_new_tokens` must be <= 2048"}"',
        http_status_code=424,
    )
    with pytest.raises(ModelResponseError) as info:
        endpoint(session, "tgi").generate("x" * 10, max_new_tokens=4000)
    assert info.value.log_group == "/aws/sagemaker/Endpoints/llm"
    assert "must be <= 2048" in str(info.value)


def test_embed_batches_texts_and_keeps_their_order(
    session: Session, stub: Stubber, bodies: list[Any]
) -> None:
    reply(stub, {"embedding": [[1.0, 0.0], [0.0, 1.0]]})
    reply(stub, {"embedding": [[0.5, 0.5]]})
    vectors = endpoint(session, "embedding").embed(["a", "b", "c"], batch_size=2)
    assert vectors == [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]
    assert bodies == [{"text_inputs": ["a", "b"]}, {"text_inputs": ["c"]}]


def test_an_oversized_request_is_refused_before_sending(session: Session, stub: Stubber) -> None:
    with pytest.raises(ConfigurationError, match="6 MB"):
        endpoint(session, "tgi").generate("x" * 6_300_000)


def test_an_endpoint_of_unknown_format_asks_for_one(session: Session) -> None:
    with pytest.raises(ConfigurationError, match="payload_format"):
        endpoint(session, None).generate("Hi")


# ------------------------------------------------------------------ streaming


def _serve(runtime: Any, raw: RawStream, sent: list[Any]) -> None:
    def send(request: Any, **_: Any) -> AWSResponse:
        sent.append(json.loads(request.body))
        headers = {"Content-Type": "application/vnd.amazon.eventstream"}
        return AWSResponse(request.url, 200, headers, raw)

    runtime.meta.events.register(
        "before-send.sagemaker-runtime.InvokeEndpointWithResponseStream", send
    )


def _tgi_events(texts: list[str]) -> list[bytes]:
    lines = [
        b"data:"
        + json.dumps({"token": {"id": i, "text": t, "special": t == "</s>"}}).encode()
        + b"\n\n"
        for i, t in enumerate(texts)
    ]
    wire = b"".join(lines)
    # PayloadParts cut the SSE lines at arbitrary places, as the container flushes them
    return [payload_part(wire[i : i + 11]) for i in range(0, len(wire), 11)]


def test_stream_yields_tgi_tokens_through_the_real_event_stream_parser(
    session: Session, runtime: Any
) -> None:
    sent: list[Any] = []
    raw = RawStream(_tgi_events(["Amazon", " Personalize", " is", " neat", "</s>"]), chunk=5)
    _serve(runtime, raw, sent)
    pieces = list(endpoint(session, "tgi").stream("Tell me", max_new_tokens=8))
    assert pieces == ["Amazon", " Personalize", " is", " neat"]
    assert sent == [{"inputs": "Tell me", "parameters": {"max_new_tokens": 8}, "stream": True}]


def test_stopping_early_closes_the_stream(session: Session, runtime: Any) -> None:
    raw = RawStream(_tgi_events(["a", "b", "c"]))
    _serve(runtime, raw, [])
    stream = endpoint(session, "tgi").stream("x")
    assert next(stream) == "a"
    stream.close()
    assert raw.closed


def test_a_model_stream_error_mid_stream_raises(session: Session, runtime: Any) -> None:
    raw = RawStream([*_tgi_events(["a"]), model_stream_error("CUDA out of memory")])
    _serve(runtime, raw, [])
    stream = endpoint(session, "tgi").stream("x")
    assert next(stream) == "a"
    with pytest.raises(ModelResponseError, match="CUDA out of memory") as info:
        next(stream)
    assert info.value.log_group == "/aws/sagemaker/Endpoints/llm"


def test_streaming_on_the_old_hf_container_is_refused_before_sending(session: Session) -> None:
    with pytest.raises(ConfigurationError, match="cannot stream"):
        next(endpoint(session, "hf-text").stream("x"))
