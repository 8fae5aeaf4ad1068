"""Local-engine twins of ``sagemaker`` and ``sagemaker-runtime`` for LLM endpoints.

Part of the engine; no resource module imports it. :class:`~personakit.local.LocalEngine`
hands these out as its ``sagemaker`` / ``sagemaker-runtime`` clients, so
:class:`~personakit.llm.LLMEndpoint` deploys, invokes and tears down offline with
exactly the requests it sends to AWS. There is no model inside: you register a
Python callable per model id, and the twin answers with what it returns::

    session = pk.Session.local("./pk-workspace", llm_handlers={
        "huggingface-llm-falcon-7b-bf16": lambda prompt, params: "Personalize recommends items.",
    })
    session.engine.register_model("huggingface-textembedding-all-MiniLM-L6-v2",
                                  embed=lambda texts: [[float(len(t))] for t in texts])

What the twins do, on :class:`personakit.local.twin.Twin` (botocore's own request
validation, real error codes, client events):

* ``ListNotebookInstances``, ``ListTrainingJobs``, ``ListTransformJobs`` (always
  empty, paged as SageMaker pages) and ``DescribeTrainingJob`` /
  ``DescribeTransformJob`` (``ValidationException`` "Requested resource not found.",
  SageMaker's answer for a missing job): the cost inventory's questions;
* ``CreateModel`` / ``CreateEndpointConfig`` / ``CreateEndpoint`` and their
  ``Describe*``, ``Delete*``, ``List*``, plus ``ListTags`` / ``AddTags``; names are
  unique per type ("Cannot create already existing ..."), a missing resource is
  ``ValidationException`` "Could not find ..." as SageMaker answers;
* an endpoint walks ``Creating`` (first describe) -> ``InService``, or -> ``Failed``
  with a ``FailureReason`` saying how to register a callable when none is
  registered for its model (as a container that never passes its health check);
  ``DeleteEndpoint`` of a ``Creating`` endpoint is refused (as SageMaker does), a
  deleted one reads ``Deleting`` once, then is gone;
* ``InvokeEndpoint`` / ``InvokeEndpointWithResponseStream`` find the endpoint's
  model, then the callable registered for its JumpStart model id (the model's
  ``sagemaker-sdk:jumpstart-model-id`` tag) or its model name, and answer in the
  container's shape for the request's shape: TGI (``inputs``), messages API
  (``messages``), the older HF container (``text_inputs`` text) or embeddings
  (``text_inputs`` list); streams are TGI server-sent events or OpenAI chunks,
  delivered as ``PayloadPart`` events cut at arbitrary byte offsets.
  A callable that raises becomes a ``ModelError`` (HTTP 424), like a failing container.

SageMaker resources live in memory, one registry per engine: unlike the
Personalize twins' SQLite store they do not survive the engine (an endpoint of a
closed engine is gone, as nothing can serve it without its Python callable).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs
from botocore.response import StreamingBody

from personakit.local.twin import DEFAULT_ACCOUNT, Twin, TwinError

__all__ = ["EmbedFn", "GenerateFn", "LocalModels", "RawFn", "SageMakerRuntimeTwin", "SageMakerTwin"]

GenerateFn = Callable[[str, Mapping[str, Any]], str]
EmbedFn = Callable[[list[str]], list[list[float]]]
RawFn = Callable[[Mapping[str, Any]], Any]

_ID_TAG = "sagemaker-sdk:jumpstart-model-id"
_HOW_TO_REGISTER = (
    "register a Python callable for it: pk.Session.local(..., llm_handlers={{{model!r}: "
    "lambda prompt, params: ...}}) or session.engine.register_model({model!r}, generate=...) "
    "(the local engine has no LLM of its own)"
)


def _now() -> dt.datetime:
    """botocore parses SageMaker's timestamps into aware datetimes; the twin answers alike."""
    return dt.datetime.now(dt.timezone.utc)


@attrs.define
class _Handler:
    generate: GenerateFn | None = None
    embed: EmbedFn | None = None
    raw: RawFn | None = None


@attrs.define
class _Endpoint:
    name: str
    config: str
    tags: list[dict[str, str]]
    created: dt.datetime
    status: str = "Creating"
    described: int = 0
    failure_reason: str | None = None


class LocalModels:
    """What the twins serve: SageMaker resources in memory, and one callable per model.

    Shared by a :class:`SageMakerTwin` and a :class:`SageMakerRuntimeTwin`.
    """

    def __init__(
        self, *, account_id: str = DEFAULT_ACCOUNT, region: str = "us-east-1", chunk_bytes: int = 16
    ) -> None:
        self.account_id = account_id
        self.region = region
        self.chunk_bytes = chunk_bytes
        self.handlers: dict[str, _Handler] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.configs: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, _Endpoint] = {}
        #: Deleted endpoints' lifetimes and instances, for the bill of a run.
        self.ended: list[dict[str, Any]] = []
        self.lock = threading.RLock()

    def register(
        self,
        model: str,
        *,
        generate: GenerateFn | None = None,
        embed: EmbedFn | None = None,
        raw: RawFn | None = None,
    ) -> None:
        """Serve ``model`` (a JumpStart model id, or a SageMaker model name).

        ``generate(prompt, params) -> text`` answers text generation in whichever
        shape the request uses; ``embed(texts) -> vectors`` answers embedding
        requests; ``raw(body) -> response body`` takes over completely.
        """
        if generate is None and embed is None and raw is None:
            raise ValueError("register needs generate=, embed= or raw=")
        self.handlers[model] = _Handler(generate, embed, raw)

    def arn(self, kind: str, name: str, region: str) -> str:
        return f"arn:aws:sagemaker:{region}:{self.account_id}:{kind}/{name.lower()}"

    def lifetime(self, endpoint: _Endpoint, ended: dt.datetime | None) -> dict[str, Any]:
        """An endpoint's name, instances (type, count) and lifetime, for the bill of a run."""
        config = self.configs.get(endpoint.config) or {}
        return {
            "name": endpoint.name,
            "variants": [
                (str(v.get("InstanceType") or ""), int(v.get("InitialInstanceCount") or 1))
                for v in config.get("ProductionVariants", [])
            ],
            "created": endpoint.created,
            "ended": ended,
            "status": endpoint.status,
        }

    def model_ids(self, endpoint: _Endpoint) -> list[str]:
        """What a handler may be registered under: JumpStart model id, then model name."""
        config = self.configs.get(endpoint.config) or {}
        keys: list[str] = []
        for variant in config.get("ProductionVariants", []):
            model = self.models.get(variant["ModelName"])
            if model is None:
                continue
            tags = {t["Key"]: t["Value"] for t in model.get("Tags", [])}
            keys += [k for k in (tags.get(_ID_TAG), model["ModelName"]) if k]
        return keys

    def find_handler(self, endpoint: _Endpoint) -> _Handler | None:
        """The callable serving ``endpoint``, or None."""
        keys = [k for k in self.model_ids(endpoint) if k in self.handlers]
        return self.handlers[keys[0]] if keys else None

    def missing_handler(self, endpoint: _Endpoint) -> str:
        """Why ``endpoint`` cannot serve: no callable registered for its model."""
        keys = self.model_ids(endpoint)
        model = keys[0] if keys else endpoint.name
        return f"no callable is registered for model {model!r} in the local engine: " + (
            _HOW_TO_REGISTER.format(model=model)
        )

    def handler_for(self, endpoint_name: str) -> _Handler:
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is None or endpoint.status not in ("InService", "Creating"):
            raise TwinError(  # sagemaker-runtime's code (the control plane says ...Exception)
                "ValidationError",
                f"Endpoint {endpoint_name} of account {self.account_id} not found.",
            )
        handler = self.find_handler(endpoint)
        if handler is None:
            raise self.model_error(endpoint_name, self.missing_handler(endpoint))
        return handler

    def model_error(self, endpoint_name: str, message: str) -> TwinError:
        """``ModelError`` as SageMaker Runtime sends it when the container answers 500:
        https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html
        """
        return TwinError(
            "ModelError",
            f'Received server error (500) from primary with message "{message}"',
            status=424,
            extra={
                "OriginalStatusCode": 500,
                "OriginalMessage": message,
                "LogStreamArn": f"arn:aws:logs:{self.region}:{self.account_id}:log-group:"
                f"/aws/sagemaker/Endpoints/{endpoint_name}",
            },
        )


def _not_found(what: str, arn: str) -> TwinError:
    return TwinError("ValidationException", f"Could not find {what} '{arn}'.")


def _missing_job() -> TwinError:
    return TwinError("ValidationException", "Requested resource not found.")


def _sm_page(
    key: str, items: Sequence[Mapping[str, Any]], params: Mapping[str, Any], salt: str
) -> dict[str, Any]:
    """One page of a SageMaker ``List*`` answer: ``MaxResults`` (1-100, default 10 as
    SageMaker's), an opaque ``NextToken``; a token of another listing is refused with
    ``ValidationException`` as SageMaker does."""
    limit = int(params.get("MaxResults") or 10)
    start = 0
    token = params.get("NextToken")
    if token:
        prefix = f"{salt}:"
        if not str(token).startswith(prefix) or not str(token)[len(prefix) :].isdigit():
            raise TwinError("ValidationException", "Invalid pagination token given.")
        start = int(str(token)[len(prefix) :])
    out: dict[str, Any] = {key: [dict(i) for i in items[start : start + limit]]}
    if start + limit < len(items):
        out["NextToken"] = f"{salt}:{start + limit}"
    return out


class SageMakerTwin(Twin):
    """The ``sagemaker`` control plane for models, endpoint configs and endpoints."""

    service_name = "sagemaker"

    def __init__(self, *, region_name: str, models: LocalModels) -> None:
        super().__init__(region_name=region_name)
        self.models = models

    def _arn(self, kind: str, name: str) -> str:
        return self.models.arn(kind, name, str(self.region_name))

    # -- models

    def _op_CreateModel(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.models.lock:
            name = params["ModelName"]
            if name in self.models.models:
                raise TwinError(
                    "ValidationException",
                    f'Cannot create already existing model "{self._arn("model", name)}".',
                )
            self.models.models[name] = {**params, "CreationTime": _now()}
        return {"ModelArn": self._arn("model", name)}

    def _op_DescribeModel(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ModelName"]
        model = self.models.models.get(name)
        if model is None:
            raise _not_found("model", self._arn("model", name))
        keys = ("ModelName", "PrimaryContainer", "ExecutionRoleArn", "EnableNetworkIsolation")
        return {
            **{k: model[k] for k in keys if k in model},
            "ModelArn": self._arn("model", name),
            "CreationTime": model["CreationTime"],
        }

    def _op_DeleteModel(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ModelName"]
        with self.models.lock:
            if self.models.models.pop(name, None) is None:
                raise _not_found("model", self._arn("model", name))
        return {}

    def _op_ListModels(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "Models": [
                {
                    "ModelName": name,
                    "ModelArn": self._arn("model", name),
                    "CreationTime": model["CreationTime"],
                }
                for name, model in sorted(self.models.models.items())
            ]
        }

    # -- endpoint configs

    def _op_CreateEndpointConfig(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointConfigName"]
        with self.models.lock:
            if name in self.models.configs:
                raise TwinError(
                    "ValidationException",
                    "Cannot create already existing endpoint configuration "
                    f'"{self._arn("endpoint-config", name)}".',
                )
            for variant in params["ProductionVariants"]:
                model = str(variant.get("ModelName", ""))
                if model not in self.models.models:
                    raise TwinError(
                        "ValidationException",
                        f'Could not find model "{self._arn("model", model)}".',
                    )
            self.models.configs[name] = {**params, "CreationTime": _now()}
        return {"EndpointConfigArn": self._arn("endpoint-config", name)}

    def _op_DescribeEndpointConfig(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointConfigName"]
        config = self.models.configs.get(name)
        if config is None:
            raise _not_found("endpoint configuration", self._arn("endpoint-config", name))
        return {
            "EndpointConfigName": name,
            "EndpointConfigArn": self._arn("endpoint-config", name),
            "ProductionVariants": config["ProductionVariants"],
            "CreationTime": config["CreationTime"],
        }

    def _op_DeleteEndpointConfig(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointConfigName"]
        with self.models.lock:
            if self.models.configs.pop(name, None) is None:
                raise _not_found("endpoint configuration", self._arn("endpoint-config", name))
        return {}

    def _op_ListEndpointConfigs(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "EndpointConfigs": [
                {
                    "EndpointConfigName": name,
                    "EndpointConfigArn": self._arn("endpoint-config", name),
                    "CreationTime": config["CreationTime"],
                }
                for name, config in sorted(self.models.configs.items())
            ]
        }

    # -- endpoints

    def _op_CreateEndpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        with self.models.lock:
            if name in self.models.endpoints:
                raise TwinError(
                    "ValidationException",
                    f'Cannot create already existing endpoint "{self._arn("endpoint", name)}".',
                )
            if params["EndpointConfigName"] not in self.models.configs:
                raise _not_found(
                    "endpoint configuration",
                    self._arn("endpoint-config", params["EndpointConfigName"]),
                )
            self.models.endpoints[name] = _Endpoint(
                name, params["EndpointConfigName"], list(params.get("Tags", [])), _now()
            )
        return {"EndpointArn": self._arn("endpoint", name)}

    def _op_DescribeEndpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        with self.models.lock:
            endpoint = self.models.endpoints.get(name)
            if endpoint is None:
                raise _not_found("endpoint", self._arn("endpoint", name))
            status = endpoint.status
            endpoint.described += 1
            if status == "Creating" and endpoint.described > 1:
                if self.models.find_handler(endpoint) is None:
                    endpoint.status = status = "Failed"
                    endpoint.failure_reason = self.models.missing_handler(endpoint)
                else:
                    endpoint.status = status = "InService"
            if status == "Deleting":
                del self.models.endpoints[name]  # gone from the next describe on
        response: dict[str, Any] = {
            "EndpointName": name,
            "EndpointArn": self._arn("endpoint", name),
            "EndpointConfigName": endpoint.config,
            "EndpointStatus": status,
            "CreationTime": endpoint.created,
            "LastModifiedTime": _now(),
        }
        if endpoint.failure_reason is not None:
            response["FailureReason"] = endpoint.failure_reason
        return response

    def _op_DeleteEndpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        with self.models.lock:
            endpoint = self.models.endpoints.get(name)
            if endpoint is None:
                raise _not_found("endpoint", self._arn("endpoint", name))
            if endpoint.status == "Creating":
                raise TwinError("ValidationException", "Cannot update in-progress endpoint")
            endpoint.status = "Deleting"
            self.models.ended.append(self.models.lifetime(endpoint, _now()))
        return {}

    def _op_ListEndpoints(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "Endpoints": [
                {
                    "EndpointName": name,
                    "EndpointArn": self._arn("endpoint", name),
                    "EndpointStatus": endpoint.status,
                    "CreationTime": endpoint.created,
                    "LastModifiedTime": endpoint.created,
                }
                for name, endpoint in sorted(self.models.endpoints.items())
            ]
        }

    # -- notebooks, training and transform jobs (the cost inventory lists them)

    def _op_ListNotebookInstances(self, params: dict[str, Any]) -> dict[str, Any]:
        """No notebook instances run offline: an empty, properly paged listing
        (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListNotebookInstances.html)."""
        return _sm_page("NotebookInstances", [], params, "notebook-instances")

    def _op_ListTrainingJobs(self, params: dict[str, Any]) -> dict[str, Any]:
        """No SageMaker training jobs offline (the engine trains Personalize models itself)."""
        return _sm_page("TrainingJobSummaries", [], params, "training-jobs")

    def _op_ListTransformJobs(self, params: dict[str, Any]) -> dict[str, Any]:
        """No batch transform jobs offline."""
        return _sm_page("TransformJobSummaries", [], params, "transform-jobs")

    def _op_DescribeTrainingJob(self, params: dict[str, Any]) -> dict[str, Any]:
        """Every training job is missing offline. The model declares ``ResourceNotFound``
        but SageMaker answers ``ValidationException`` "Requested resource not found."
        (https://github.com/aws/aws-sdk/issues/165); the engine answers as the service does."""
        raise _missing_job()

    def _op_DescribeTransformJob(self, params: dict[str, Any]) -> dict[str, Any]:
        """Every transform job is missing offline (the same answer as DescribeTrainingJob)."""
        raise _missing_job()

    # -- tags

    def _tags(self, arn: str) -> list[dict[str, str]]:
        kind, _, name = arn.rsplit(":", 1)[-1].partition("/")
        for key, value in self.models.models.items():
            if kind == "model" and key.lower() == name:
                tags: list[dict[str, str]] = value.setdefault("Tags", [])
                return tags
        for key, value in self.models.configs.items():
            if kind == "endpoint-config" and key.lower() == name:
                tags = value.setdefault("Tags", [])
                return tags
        for key, endpoint in self.models.endpoints.items():
            if kind == "endpoint" and key.lower() == name:
                return endpoint.tags
        raise TwinError("ValidationException", f"Could not find resource '{arn}'.")

    def _op_ListTags(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"Tags": list(self._tags(params["ResourceArn"]))}

    def _op_AddTags(self, params: dict[str, Any]) -> dict[str, Any]:
        tags = self._tags(params["ResourceArn"])
        new = {t["Key"]: t for t in params["Tags"]}
        tags[:] = [t for t in tags if t["Key"] not in new] + list(new.values())
        return {"Tags": list(tags)}


# ------------------------------------------------------------------ runtime

_TOKEN = re.compile(r"\s*\S+|\s+$")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text) or [text]


def _prompt_of(messages: Sequence[Mapping[str, Any]]) -> str:
    users = [str(m.get("content", "")) for m in messages if m.get("role") == "user"]
    return users[-1] if users else ""


class _Events:
    """The ``Body`` of ``InvokeEndpointWithResponseStream``: PayloadPart events."""

    def __init__(self, data: bytes, chunk: int) -> None:
        self._data = data
        self._chunk = max(1, chunk)
        self.closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for start in range(0, len(self._data), self._chunk):
            if self.closed:
                return
            yield {"PayloadPart": {"Bytes": self._data[start : start + self._chunk]}}

    def close(self) -> None:
        self.closed = True


class SageMakerRuntimeTwin(Twin):
    """``sagemaker-runtime``: invokes the callables registered in :class:`LocalModels`."""

    service_name = "sagemaker-runtime"

    def __init__(self, *, region_name: str, models: LocalModels) -> None:
        super().__init__(region_name=region_name)
        self.models = models

    def _call(self, params: Mapping[str, Any]) -> tuple[_Handler, dict[str, Any]]:
        handler = self.models.handler_for(params["EndpointName"])
        raw = params["Body"]
        data = raw.read() if hasattr(raw, "read") else raw
        try:
            body = json.loads(data)
        except ValueError:
            body = {"text_inputs": data.decode("utf-8") if isinstance(data, bytes) else str(data)}
        return handler, body

    def _answer(
        self, endpoint_name: str, handler: _Handler, body: Mapping[str, Any]
    ) -> tuple[str, Any]:
        """(shape, response body or generated text)."""
        try:
            if handler.raw is not None:
                return "raw", handler.raw(body)
            if "messages" in body:
                assert handler.generate is not None, "no generate= registered"
                params = {k: v for k, v in body.items() if k not in ("messages", "stream")}
                return "messages", handler.generate(_prompt_of(body["messages"]), params)
            if "inputs" in body:
                assert handler.generate is not None, "no generate= registered"
                return "tgi", handler.generate(str(body["inputs"]), body.get("parameters") or {})
            texts = body.get("text_inputs")
            if isinstance(texts, list):
                assert handler.embed is not None, "no embed= registered"
                return "embedding", handler.embed([str(t) for t in texts])
            assert handler.generate is not None, "no generate= registered"
            params = {k: v for k, v in body.items() if k != "text_inputs"}
            return "hf-text", handler.generate(str(texts), params)
        except Exception as exc:
            raise self.models.model_error(endpoint_name, str(exc)) from exc

    def _op_InvokeEndpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        handler, body = self._call(params)
        shape, answer = self._answer(params["EndpointName"], handler, body)
        if shape == "tgi":
            n = len(_tokens(answer))
            response: Any = [
                {
                    "generated_text": answer,
                    "details": {"finish_reason": "eos_token", "generated_tokens": n},
                }
            ]
        elif shape == "messages":
            response = {
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": len(_tokens(_prompt_of(body["messages"]))),
                    "completion_tokens": len(_tokens(answer)),
                },
            }
        elif shape == "hf-text":
            response = {"generated_texts": [answer]}
        elif shape == "embedding":
            response = {"embedding": answer}
        else:
            response = answer
        data = json.dumps(response).encode("utf-8")
        return {
            "Body": StreamingBody(io.BytesIO(data), len(data)),
            "ContentType": "application/json",
            "InvokedProductionVariant": "AllTraffic",
        }

    def _op_InvokeEndpointWithResponseStream(self, params: dict[str, Any]) -> dict[str, Any]:
        handler, body = self._call(params)
        shape, answer = self._answer(params["EndpointName"], handler, body)
        lines: list[bytes] = []
        if shape == "tgi":
            pieces = _tokens(answer)
            for i, piece in enumerate(pieces):
                event = {
                    "index": i,
                    "token": {"id": i, "text": piece, "logprob": 0.0, "special": False},
                    "generated_text": answer if i == len(pieces) - 1 else None,
                    "details": None,
                }
                lines.append(b"data:" + json.dumps(event).encode() + b"\n\n")
        elif shape == "messages":
            for piece in _tokens(answer):
                chunk = {"choices": [{"index": 0, "delta": {"content": piece}}]}
                lines.append(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            lines.append(b"data: [DONE]\n\n")
        else:
            raise TwinError(
                "ValidationException",
                "Streaming is not supported by this model's container.",
            )
        return {
            "Body": _Events(b"".join(lines), self.models.chunk_bytes),
            "ContentType": "text/event-stream",
            "InvokedProductionVariant": "AllTraffic",
        }
