"""Request and response bodies of the containers JumpStart deploys, and streaming.

Pure functions, no I/O. :class:`~personakit.llm.LLMEndpoint` picks one
:class:`PayloadFormat` per endpoint and sends what it builds; every response goes
through :func:`parse_generation`, which reads all the shapes below, so a wrong
guess of the format costs a request field, never a crash in the parser.

=============  ====================================  ==========================================
format         request body                          response body
=============  ====================================  ==========================================
``tgi``        ``{"inputs", "parameters"}``          ``[{"generated_text", "details"?}]``
``lmi``        ``{"inputs", "parameters"}``          ``{"generated_text", "details"?}``
``messages``   ``{"messages": [...], ...}``          ``{"choices": [{"message"}], "usage"}``
``hf-text``    ``{"text_inputs", ...}``              ``{"generated_texts": [...]}``
``embedding``  ``{"text_inputs": [...]}``            ``{"embedding": [[...], ...]}``
=============  ====================================  ==========================================

(Sources: TGI ``router/src/sagemaker.rs`` and ``server.rs``,
https://github.com/huggingface/text-generation-inference; the JumpStart specs'
``default_payloads``; AWS's example notebooks, https://github.com/aws/amazon-sagemaker-examples;
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html.)

A prompt given as a list of chat messages (``[{"role": "user", "content": ...}]``)
is sent in the messages shape to every container except ``hf-text``: TGI (1.4 and
later), LMI and vLLM all take OpenAI-style chat bodies on ``/invocations``.

Streaming (``InvokeEndpointWithResponseStream``) delivers ``PayloadPart`` byte
chunks that split lines anywhere; :class:`LineBuffer` joins them back into lines
and :func:`stream_text` reads the token text from each: TGI's server-sent events
(``data:{"token": {...}}``), LMI's JSON lines (``{"token": {...}}`` or
``{"outputs": [...]}``) and OpenAI chunks (``data:{"choices": [{"delta": ...}]}``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import attrs

from personakit.errors import ConfigurationError, ModelResponseError
from personakit.rules.display import Display, html_fields, short_repr

__all__ = [
    "FORMATS",
    "MAX_PAYLOAD_BYTES",
    "EmbeddingFormat",
    "Generation",
    "HFTextFormat",
    "LMIFormat",
    "LineBuffer",
    "MessagesFormat",
    "ModelResponseError",
    "PayloadFormat",
    "Prompt",
    "TGIFormat",
    "detect_format",
    "get_format",
    "iter_stream_text",
    "parse_embeddings",
    "parse_generation",
    "parse_stream_line",
    "stream_text",
]

#: SageMaker real-time inference takes request bodies of at most 6 MB (``Body`` of
#: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html).
MAX_PAYLOAD_BYTES = 6_291_456

#: A prompt: plain text, or chat messages ``[{"role": ..., "content": ...}]``.
Prompt = str | Sequence[Mapping[str, Any]]


@attrs.frozen
class Generation(Display):
    """What a text-generation endpoint answered.

    Attributes:
        text: The generated text (without the prompt, unless the container was
            asked for ``return_full_text``).
        prompt_tokens: Tokens in the prompt, when the container reports them
            (messages API ``usage``; TGI with ``decoder_input_details``).
        generated_tokens: Tokens generated, when reported (TGI and LMI ``details``,
            which personakit asks TGI/LMI for by default; messages API ``usage``).
        finish_reason: Why generation stopped (``"length"``, ``"eos_token"``,
            ``"stop_sequence"``, ``"stop"``...), when reported.
        raw: The parsed response body, as the container sent it.

    ``str(generation)`` is the text, so ``print(llm.generate(...))`` prints it.
    """

    text: str
    prompt_tokens: int | None = None
    generated_tokens: int | None = None
    finish_reason: str | None = None
    raw: Any = attrs.field(default=None, repr=False, eq=False)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        text = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return short_repr(
            self,
            repr(text),
            generated_tokens=self.generated_tokens,
            finish_reason=self.finish_reason,
        )

    def _repr_html_(self) -> str:
        return html_fields(
            [
                ("text", self.text),
                ("prompt tokens", self.prompt_tokens),
                ("generated tokens", self.generated_tokens),
                ("finish reason", self.finish_reason),
            ],
            title="Generation",
        )


# ------------------------------------------------------------------ parsing


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _raise_error_body(body: Mapping[str, Any]) -> None:
    error = body.get("error")
    if error is None:
        return
    kind = body.get("error_type")
    text = error.get("message", json.dumps(error)) if isinstance(error, Mapping) else str(error)
    label = f"{kind} error" if kind else "error"
    raise ModelResponseError(f"the model answered with a {label}: {text}", detail=text)


def _keys(body: Any) -> str:
    if isinstance(body, Mapping):
        return "keys " + ", ".join(sorted(map(str, body))) if body else "an empty object"
    return type(body).__name__


def parse_generation(body: Any) -> Generation:
    """Read a text-generation response of any of the shapes in the module docstring.

    Raises:
        ModelResponseError: The body is an error (``{"error": ...}``) or has no text.
    """
    item: Any = body
    if isinstance(body, list):
        if not body:
            raise ModelResponseError("the model answered with an empty list")
        item = body[0]
    if isinstance(item, str):  # some handlers answer a bare list of strings
        return Generation(item, raw=body)
    if not isinstance(item, Mapping):
        raise ModelResponseError(f"cannot read a generation from {_keys(body)}")
    _raise_error_body(item)
    choices = item.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
        choice = choices[0]
        message = choice.get("message")
        text = message.get("content") if isinstance(message, Mapping) else choice.get("text")
        raw_usage = item.get("usage")
        usage: Mapping[str, Any] = raw_usage if isinstance(raw_usage, Mapping) else {}
        return Generation(
            "" if text is None else str(text),
            prompt_tokens=_int(usage.get("prompt_tokens")),
            generated_tokens=_int(usage.get("completion_tokens")),
            finish_reason=choice.get("finish_reason"),
            raw=body,
        )
    if "generated_text" in item:
        raw_details = item.get("details")
        details: Mapping[str, Any] = raw_details if isinstance(raw_details, Mapping) else {}
        prefill = details.get("prefill")
        return Generation(
            str(item["generated_text"] or ""),
            prompt_tokens=len(prefill) if isinstance(prefill, list) and prefill else None,
            generated_tokens=_int(details.get("generated_tokens")),
            finish_reason=details.get("finish_reason"),
            raw=body,
        )
    texts = item.get("generated_texts")
    if isinstance(texts, list) and texts:
        return Generation(str(texts[0]), raw=body)
    outputs = item.get("outputs")  # older LMI handlers
    if isinstance(outputs, list) and outputs and isinstance(outputs[0], str):
        return Generation(outputs[0], raw=body)
    raise ModelResponseError(f"cannot read a generation from a response with {_keys(item)}")


def parse_embeddings(body: Any, count: int | None = None) -> list[list[float]]:
    """Read ``{"embedding": [[...], ...]}`` (or one vector) as a list of vectors.

    Raises:
        ModelResponseError: No embedding in the body, or ``count`` vectors expected
            and a different number came back.
    """
    if isinstance(body, Mapping):
        _raise_error_body(body)
        found = body.get("embedding", body.get("embeddings"))
    else:
        found = body
    if not isinstance(found, list):
        raise ModelResponseError(f"cannot read embeddings from {_keys(body)}")
    vectors: list[list[float]]
    if found and all(isinstance(x, int | float) for x in found):
        vectors = [[float(x) for x in found]]
    elif all(isinstance(v, list) for v in found):
        vectors = [[float(x) for x in v] for v in found]
    else:
        raise ModelResponseError("cannot read embeddings: expected a list of number lists")
    if count is not None and len(vectors) != count:
        raise ModelResponseError(f"sent {count} texts but got {len(vectors)} embeddings back")
    return vectors


# ------------------------------------------------------------------ streaming


class LineBuffer:
    """Joins ``PayloadPart`` byte chunks back into lines.

    A chunk may end anywhere, in the middle of a line or of a UTF-8 character;
    :meth:`feed` returns only complete lines (split on ``\\n``, ``\\r`` stripped)
    and keeps the rest for the next chunk. Splitting bytes (not text) on ``\\n`` is
    safe for UTF-8: that byte never occurs inside a multi-byte character.
    """

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> list[str]:
        """Add a chunk; return the lines it completed."""
        data = self._pending + chunk
        *lines, self._pending = data.split(b"\n")
        return [line.rstrip(b"\r").decode("utf-8") for line in lines]

    def flush(self) -> list[str]:
        """The last line, if the stream did not end with a newline."""
        rest, self._pending = self._pending, b""
        text = rest.rstrip(b"\r").decode("utf-8")
        return [text] if text.strip() else []


def parse_stream_line(line: str) -> Any | None:
    """The JSON of one streamed line, or ``None`` for lines without data.

    Accepts server-sent events (``data:{...}``; comments, ``event:``, ``id:``,
    ``retry:`` lines and ``data:[DONE]`` are skipped) and plain JSON lines.

    Raises:
        ModelResponseError: The line is not JSON.
    """
    text = line.strip()
    if not text or text.startswith(":"):
        return None
    field, sep, rest = text.partition(":")
    if sep and field in ("event", "id", "retry"):
        return None
    if sep and field == "data":
        text = rest.strip()
        if not text or text == "[DONE]":
            return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelResponseError(f"cannot read a streamed line as JSON: {line[:200]!r}") from exc


def stream_text(event: Any) -> str | None:
    """The token text in one streamed JSON event, or ``None`` if it carries none.

    TGI's special tokens (``"special": true``, e.g. ``</s>``) are skipped, as TGI
    leaves them out of ``generated_text`` too.

    Raises:
        ModelResponseError: The event is an error (``{"error": ...}``).
    """
    if not isinstance(event, Mapping):
        return None
    _raise_error_body(event)
    token = event.get("token")
    if isinstance(token, Mapping):
        if token.get("special"):
            return None
        text = token.get("text")
        return None if text is None else str(text)
    choices = event.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
        choice = choices[0]
        delta = choice.get("delta")
        text = delta.get("content") if isinstance(delta, Mapping) else choice.get("text")
        return None if text is None else str(text)
    outputs = event.get("outputs")
    if isinstance(outputs, list) and outputs and isinstance(outputs[0], str):
        return outputs[0]
    return None


def _chunks(events: Iterable[Any]) -> Iterator[bytes]:
    for event in events:
        if not isinstance(event, Mapping):
            continue
        part = event.get("PayloadPart")
        if isinstance(part, Mapping):
            data = part.get("Bytes")
            if data:
                yield bytes(data)
            continue
        for key in ("ModelStreamError", "InternalStreamFailure"):
            error = event.get(key)
            if isinstance(error, Mapping):
                message = str(error.get("Message", error))
                raise ModelResponseError(f"the stream failed ({key}): {message}", detail=message)


def iter_stream_text(events: Iterable[Any]) -> Iterator[str]:
    """Token texts from the ``Body`` events of ``InvokeEndpointWithResponseStream``.

    ``events`` yields ``{"PayloadPart": {"Bytes": b"..."}}`` dicts (what botocore's
    ``EventStream`` yields); in-stream ``ModelStreamError`` / ``InternalStreamFailure``
    events raise :class:`ModelResponseError`.
    """
    buffer = LineBuffer()
    for chunk in _chunks(events):
        for line in buffer.feed(chunk):
            text = stream_text(parse_stream_line(line))
            if text:
                yield text
    for line in buffer.flush():
        text = stream_text(parse_stream_line(line))
        if text:
            yield text


# ------------------------------------------------------------------ formats


def _messages(prompt: Prompt) -> list[dict[str, Any]]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [dict(m) for m in prompt]


def _chat_body(prompt: Prompt, params: Mapping[str, Any], stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": _messages(prompt)}
    for key, value in params.items():
        # One vocabulary for every format: TGI's max_new_tokens is OpenAI's max_tokens.
        body["max_tokens" if key == "max_new_tokens" else key] = value
    if stream:
        body["stream"] = True
    return body


class PayloadFormat:
    """How one container family wants its requests (see the module docstring).

    Subclasses set :attr:`name` and :attr:`streams` and build bodies; the
    responses are read by :func:`parse_generation` / :func:`parse_embeddings`.
    """

    name: ClassVar[str] = ""
    content_type: ClassVar[str] = "application/json"
    accept: ClassVar[str] = "application/json"
    streams: ClassVar[bool] = True
    embeds: ClassVar[bool] = False

    def request(
        self, prompt: Prompt, params: Mapping[str, Any], *, stream: bool = False
    ) -> dict[str, Any]:
        """The JSON body for ``prompt`` with generation ``params``."""
        raise NotImplementedError

    def embed_request(self, texts: Sequence[str]) -> dict[str, Any]:
        """The JSON body asking for embeddings of ``texts``."""
        raise ConfigurationError(
            f"the {self.name!r} payload format generates text; embed() needs an embedding "
            "model (e.g. huggingface-textembedding-all-MiniLM-L6-v2)"
        )

    def __repr__(self) -> str:
        return f"<PayloadFormat {self.name}>"


class TGIFormat(PayloadFormat):
    """Hugging Face TGI: ``{"inputs", "parameters"}`` -> ``[{"generated_text", "details"}]``.

    ``details: true`` is added unless given, so token counts and the finish reason
    come back; streaming sends ``"stream": true`` and reads ``data:{"token": ...}``.
    """

    name = "tgi"

    def request(
        self, prompt: Prompt, params: Mapping[str, Any], *, stream: bool = False
    ) -> dict[str, Any]:
        if not isinstance(prompt, str):
            return _chat_body(prompt, params, stream)
        parameters = dict(params)
        if not stream:
            parameters.setdefault("details", True)
        body: dict[str, Any] = {"inputs": prompt, "parameters": parameters}
        if stream:
            body["stream"] = True
        return body


class LMIFormat(TGIFormat):
    """DJL LMI (``djl-inference``) in its TGI-compatible schema; answers a dict, not a list."""

    name = "lmi"


class MessagesFormat(PayloadFormat):
    """OpenAI-style chat: ``{"messages": [...]}`` -> ``{"choices": [...], "usage": {...}}``.

    Newer LMI and vLLM containers. ``max_new_tokens`` is sent as ``max_tokens``.
    """

    name = "messages"

    def request(
        self, prompt: Prompt, params: Mapping[str, Any], *, stream: bool = False
    ) -> dict[str, Any]:
        return _chat_body(prompt, params, stream)


class HFTextFormat(PayloadFormat):
    """The older HF inference container (gpt2 / bloom / flan-t5 1.x specs).

    ``{"text_inputs": prompt, **params}`` -> ``{"generated_texts": [...]}``.
    Parameters are the container's (``max_length`` counts the prompt,
    ``num_return_sequences``, ``top_k``, ``top_p``, ``do_sample``...); it cannot stream.
    """

    name = "hf-text"
    streams = False

    def request(
        self, prompt: Prompt, params: Mapping[str, Any], *, stream: bool = False
    ) -> dict[str, Any]:
        if not isinstance(prompt, str):
            raise ConfigurationError(
                "this model's container (older HF inference image) takes a text prompt, "
                "not chat messages"
            )
        if stream:
            raise ConfigurationError(
                "this model's container (older HF inference image) cannot stream; "
                "use generate(), or a newer model version served by TGI"
            )
        return {"text_inputs": prompt, **params}


class EmbeddingFormat(PayloadFormat):
    """HF embedding models: ``{"text_inputs": [...]}`` -> ``{"embedding": [[...], ...]}``."""

    name = "embedding"
    streams = False
    embeds = True

    def request(
        self, prompt: Prompt, params: Mapping[str, Any], *, stream: bool = False
    ) -> dict[str, Any]:
        raise ConfigurationError(
            "this is an embedding model: use embed(texts), not generate() or stream()"
        )

    def embed_request(self, texts: Sequence[str]) -> dict[str, Any]:
        return {"text_inputs": list(texts)}


#: Every payload format by name.
FORMATS: Mapping[str, PayloadFormat] = {
    f.name: f
    for f in (TGIFormat(), LMIFormat(), MessagesFormat(), HFTextFormat(), EmbeddingFormat())
}


def get_format(name: str | PayloadFormat) -> PayloadFormat:
    """A format by name (``"tgi"``, ``"lmi"``, ``"messages"``, ``"hf-text"``, ``"embedding"``)."""
    if isinstance(name, PayloadFormat):
        return name
    try:
        return FORMATS[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown payload format {name!r}; known: {', '.join(FORMATS)}"
        ) from None


# ------------------------------------------------------------------ detection

_EMBEDDING_IDS = ("textembedding", "sentencesimilarity", "text-embedding", "-embedding-")


def _payload_bodies(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    payloads = spec.get("default_payloads")
    if not isinstance(payloads, Mapping):
        return []
    bodies = []
    for payload in payloads.values():
        if isinstance(payload, Mapping) and isinstance(payload.get("body"), Mapping):
            bodies.append(payload["body"])
    return bodies


def _output_keys(spec: Mapping[str, Any]) -> set[str]:
    payloads = spec.get("default_payloads")
    keys: set[str] = set()
    if isinstance(payloads, Mapping):
        for payload in payloads.values():
            if isinstance(payload, Mapping) and isinstance(payload.get("output_keys"), Mapping):
                keys.update(payload["output_keys"])
    return keys


def _repository(image_uri: str) -> str:
    path = image_uri.split("/", 1)[-1]
    return path.split(":", 1)[0].split("@", 1)[0]


def detect_format(
    spec: Mapping[str, Any] | None = None, image_uri: str | None = None, model_id: str = ""
) -> str:
    """The payload format of a model, by the first rule that applies.

    1. **Embedding models**: the model id names the task (``textembedding``,
       ``sentencesimilarity``), or the spec's ``default_payloads`` read an
       ``embedding`` output key -> ``embedding``.
    2. **The spec's own sample requests** (``default_payloads[*].body``): a
       ``messages`` body -> ``messages``; ``inputs`` -> ``tgi`` (``lmi`` when the
       image is a DJL one); ``text_inputs`` -> ``hf-text``.
    3. **The image repository**: ``*tgi*`` -> ``tgi``; ``djl-inference`` /
       ``*lmi*`` -> ``lmi``; ``vllm`` -> ``messages``; ``huggingface-pytorch-inference``
       -> ``hf-text``.
    4. **The spec's ``hosting_ecr_specs.framework``**: ``huggingface-llm`` -> ``tgi``;
       ``djl-*`` -> ``lmi``; ``huggingface`` -> ``hf-text``.
    5. Otherwise ``tgi``, the container of every current ``huggingface-llm-*`` model.

    Rule 2 comes before the image because one image family serves both shapes
    (LMI 0.29 specs sample ``inputs``, LMI 0.34 specs sample ``messages``).
    """
    spec = spec or {}
    model_id = model_id or str(spec.get("model_id", ""))
    repo = _repository(image_uri).lower() if image_uri else ""
    djl = "djl" in repo or "lmi" in repo
    if any(token in model_id.lower() for token in _EMBEDDING_IDS) or "embedding" in _output_keys(
        spec
    ):
        return "embedding"
    bodies = _payload_bodies(spec)
    if any("messages" in body for body in bodies):
        return "messages"
    if any("inputs" in body for body in bodies):
        return "lmi" if djl else "tgi"
    if any("text_inputs" in body for body in bodies):
        return "hf-text"
    if repo:
        if "tgi" in repo:
            return "tgi"
        if djl:
            return "lmi"
        if "vllm" in repo:
            return "messages"
        if repo.endswith("huggingface-pytorch-inference"):
            return "hf-text"
    ecr = spec.get("hosting_ecr_specs")
    framework = str(ecr.get("framework", "")) if isinstance(ecr, Mapping) else ""
    if framework == "huggingface-llm":
        return "tgi"
    if framework.startswith("djl"):
        return "lmi"
    if framework == "huggingface":
        return "hf-text"
    return "tgi"
