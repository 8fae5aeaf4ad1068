"""Payload formats, response parsing, the streaming line buffer and format detection."""

from __future__ import annotations

import json
from typing import Any

import pytest

from personakit.errors import ConfigurationError
from personakit.llm.formats import (
    FORMATS,
    Generation,
    LineBuffer,
    ModelResponseError,
    detect_format,
    get_format,
    iter_stream_text,
    parse_embeddings,
    parse_generation,
    parse_stream_line,
)

from .conftest import load_spec

# ------------------------------------------------------------------ requests


def test_tgi_request_asks_for_details_unless_told_otherwise() -> None:
    tgi = get_format("tgi")
    assert tgi.request("Hi", {"max_new_tokens": 8}) == {
        "inputs": "Hi",
        "parameters": {"max_new_tokens": 8, "details": True},
    }
    assert tgi.request("Hi", {"details": False})["parameters"] == {"details": False}
    assert tgi.request("Hi", {}, stream=True) == {"inputs": "Hi", "parameters": {}, "stream": True}


def test_messages_request_wraps_text_and_renames_max_new_tokens() -> None:
    body = get_format("messages").request("Hi", {"max_new_tokens": 8, "temperature": 0.1})
    assert body == {
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 8,
        "temperature": 0.1,
    }


def test_chat_messages_go_in_the_messages_shape_to_tgi_too() -> None:
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    body = get_format("tgi").request(chat, {"max_new_tokens": 4}, stream=True)
    assert body == {"messages": chat, "max_tokens": 4, "stream": True}


def test_old_hf_container_takes_text_inputs_and_cannot_stream() -> None:
    hf = get_format("hf-text")
    assert hf.request("Hi", {"max_length": 50}) == {"text_inputs": "Hi", "max_length": 50}
    with pytest.raises(ConfigurationError, match="cannot stream"):
        hf.request("Hi", {}, stream=True)
    assert not hf.streams


def test_embedding_format_refuses_generation_and_text_formats_refuse_embedding() -> None:
    assert get_format("embedding").embed_request(["a", "b"]) == {"text_inputs": ["a", "b"]}
    with pytest.raises(ConfigurationError, match="embed"):
        get_format("embedding").request("Hi", {})
    with pytest.raises(ConfigurationError, match="embedding model"):
        get_format("tgi").embed_request(["a"])


def test_unknown_format_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="tgi, lmi, messages, hf-text, embedding"):
        get_format("openai")
    assert set(FORMATS) == {"tgi", "lmi", "messages", "hf-text", "embedding"}


# ------------------------------------------------------------------ responses


def test_tgi_list_response_with_details() -> None:
    body = [
        {
            "generated_text": " Personalize recommends.",
            "details": {"finish_reason": "length", "generated_tokens": 4, "prefill": [{}, {}, {}]},
        }
    ]
    assert parse_generation(body) == Generation(
        " Personalize recommends.", prompt_tokens=3, generated_tokens=4, finish_reason="length"
    )
    assert str(parse_generation(body)) == " Personalize recommends."


def test_lmi_dict_response() -> None:
    generation = parse_generation({"generated_text": "ok", "details": {"generated_tokens": 1}})
    assert (generation.text, generation.generated_tokens) == ("ok", 1)


def test_messages_response_reads_choices_and_usage() -> None:
    body = {
        "choices": [
            {"message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
    }
    generation = parse_generation(body)
    assert generation == Generation(
        "Hello", prompt_tokens=9, generated_tokens=2, finish_reason="stop"
    )
    assert generation.raw is body


def test_old_hf_response_reads_generated_texts() -> None:
    assert parse_generation({"generated_texts": ["one", "two"]}).text == "one"


@pytest.mark.parametrize(
    "body",
    [
        {"error": "Input validation error: inputs too long", "error_type": "validation"},
        [{"error": "CUDA out of memory", "error_type": "generation"}],
    ],
)
def test_error_bodies_raise(body: Any) -> None:
    with pytest.raises(ModelResponseError, match="error"):
        parse_generation(body)


def test_unreadable_body_names_its_keys() -> None:
    with pytest.raises(ModelResponseError, match="keys answer"):
        parse_generation({"answer": "?"})
    with pytest.raises(ModelResponseError, match="empty list"):
        parse_generation([])


def test_embeddings_one_vector_per_text() -> None:
    assert parse_embeddings({"embedding": [[1, 2], [3, 4.5]]}, 2) == [[1.0, 2.0], [3.0, 4.5]]
    assert parse_embeddings({"embedding": [0.5, 0.25]}, 1) == [[0.5, 0.25]]
    with pytest.raises(ModelResponseError, match="sent 3 texts but got 2"):
        parse_embeddings({"embedding": [[1], [2]]}, 3)
    with pytest.raises(ModelResponseError):
        parse_embeddings({"vectors": []})


# ------------------------------------------------------------------ streaming


def test_line_buffer_joins_lines_split_anywhere_even_inside_a_character() -> None:
    data = 'data:{"token": {"text": "café"}}\r\n\ndata:{"token": {"text": "!"}}'.encode()
    cut = data.index("é".encode()) + 1  # between the two bytes of é
    buffer = LineBuffer()
    lines = (
        buffer.feed(data[:cut]) + buffer.feed(data[cut : cut + 5]) + buffer.feed(data[cut + 5 :])
    )
    assert lines == ['data:{"token": {"text": "café"}}', ""]
    assert buffer.flush() == ['data:{"token": {"text": "!"}}']
    assert buffer.flush() == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('data:{"a": 1}', {"a": 1}),
        ('data: {"a": 1}', {"a": 1}),
        ('{"a": 1}', {"a": 1}),
        ("data: [DONE]", None),
        (": keep-alive", None),
        ("event: message", None),
        ("", None),
    ],
)
def test_parse_stream_line(line: str, expected: Any) -> None:
    assert parse_stream_line(line) == expected


def test_a_stream_line_that_is_not_json_raises() -> None:
    with pytest.raises(ModelResponseError, match="not-json"):
        parse_stream_line("data:not-json")


def _parts(data: bytes, size: int) -> list[dict[str, Any]]:
    return [{"PayloadPart": {"Bytes": data[i : i + size]}} for i in range(0, len(data), size)]


def _tgi_sse(tokens: list[tuple[str, bool]]) -> bytes:
    events = [
        {"index": i, "token": {"id": i, "text": text, "logprob": -0.1, "special": special}}
        for i, (text, special) in enumerate(tokens)
    ]
    events[-1]["generated_text"] = "".join(t for t, s in tokens if not s)
    return b"".join(b"data:" + json.dumps(e).encode() + b"\n\n" for e in events)


@pytest.mark.parametrize("size", [1, 3, 17, 10_000])
def test_tgi_server_sent_events_stream_token_texts_and_skip_special_tokens(size: int) -> None:
    data = _tgi_sse([("Amazon", False), (" Personalize", False), (" ü", False), ("</s>", True)])
    assert list(iter_stream_text(_parts(data, size))) == ["Amazon", " Personalize", " ü"]


def test_lmi_json_lines_and_openai_chunks_stream_too() -> None:
    lmi = b'{"token": {"text": "a"}}\n{"token": {"text": "b"}, "generated_text": "ab"}\n'
    assert list(iter_stream_text(_parts(lmi, 5))) == ["a", "b"]
    old_lmi = b'{"outputs": ["x"]}\n{"outputs": ["y"]}'  # no final newline
    assert list(iter_stream_text(_parts(old_lmi, 4))) == ["x", "y"]
    chunks = (
        b'data: {"choices": [{"delta": {"role": "assistant"}}]}\n\n'
        b'data: {"choices": [{"delta": {"content": "Hi"}}]}\n\n'
        b"data: [DONE]\n\n"
    )
    assert list(iter_stream_text(_parts(chunks, 9))) == ["Hi"]


def test_an_error_inside_the_stream_raises() -> None:
    data = (
        b'data:{"token": {"text": "a"}}\n\n'
        b'data:{"error": "overloaded", "error_type": "overloaded"}\n\n'
    )
    stream = iter_stream_text(_parts(data, 8))
    assert next(stream) == "a"
    with pytest.raises(ModelResponseError, match="overloaded"):
        next(stream)
    events = [{"ModelStreamError": {"Message": "boom", "ErrorCode": "500"}}]
    with pytest.raises(ModelResponseError, match="boom"):
        list(iter_stream_text(events))


# ------------------------------------------------------------------ detection


@pytest.mark.parametrize(
    ("name", "instance", "expected"),
    [
        ("huggingface-llm-gemma-2b-instruct@1.1.0", "ml.g5.2xlarge", "tgi"),
        ("huggingface-llm-falcon-7b-bf16@4.1.23", "ml.g5.2xlarge", "tgi"),
        ("huggingface-textgeneration-gpt2@1.5.0", "ml.p3.2xlarge", "hf-text"),
        ("huggingface-text2text-flan-t5-xxl-fp16@1.1.2", "ml.g5.12xlarge", "hf-text"),
        ("huggingface-textembedding-all-MiniLM-L6-v2@1.0.0", "ml.g5.2xlarge", "embedding"),
        ("meta-textgeneration-llama-3-1-70b@2.16.2", "ml.p4d.24xlarge", "lmi"),
        ("openai-reasoning-gpt-oss-20b@3.38.0", "ml.g6.12xlarge", "messages"),
    ],
)
def test_detected_format_of_real_specs(name: str, instance: str, expected: str) -> None:
    from personakit.llm.resolve import resolve_spec

    model = resolve_spec(load_spec(name), "us-east-1", instance, accept_eula=True)
    assert model.payload_format == expected


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (
            "1.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4.0-tgi2.4.0",
            "tgi",
        ),
        ("1.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-lmi11.0.0-cu124", "lmi"),
        ("1.dkr.ecr.us-east-1.amazonaws.com/vllm:0.18.0-gpu-py312", "messages"),
        ("1.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference:1.13.1-gpu", "hf-text"),
    ],
)
def test_detection_from_the_image_alone(image: str, expected: str) -> None:
    assert detect_format(None, image) == expected
