"""LLMEndpoint: deploy a JumpStart model with plain boto3, invoke it, and always tear it down.

::

    with pk.LLMEndpoint.deploy(session, "huggingface-llm-falcon-7b-bf16") as llm:
        print(llm.generate("What is Amazon Personalize?", max_new_tokens=64))
        for piece in llm.stream("Tell me a story", max_new_tokens=128):
            print(piece, end="", flush=True)

:meth:`LLMEndpoint.deploy` resolves the model (:mod:`personakit.llm.jumpstart`,
:mod:`personakit.llm.resolve`), asks the optional guard, then sends ``CreateModel``,
``CreateEndpointConfig`` and ``CreateEndpoint`` (all three tagged ``personakit:run``
plus the JumpStart model tags and, with ``max_lifetime``, ``personakit:expires-at``)
and waits for ``InService``. Whatever goes wrong on the way (an AWS error, a failed endpoint,
the deadline, an exception, Ctrl-C) deletes every resource it had created before
the error is raised. Leaving the ``with`` block deletes the endpoint, then its
config, then the model, waiting until ``Describe*`` says each is gone; so does
:meth:`LLMEndpoint.delete`, and, for an endpoint deployed with ``keep=False`` and
never deleted, the interpreter's exit. Timing, waits and the reading of SageMaker's
answers are in :mod:`personakit.llm.hosting`.
"""

from __future__ import annotations

import atexit
import datetime as dt
import html
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from personakit.aws.retry import Retrier, error_code
from personakit.aws.wait import SAGEMAKER_ENDPOINT, SAGEMAKER_ENDPOINT_DELETE, WaitResult, wait_for
from personakit.errors import (
    ConfigurationError,
    EndpointFailedError,
    PersonakitError,
    QuotaExceededError,
    ResourceFailedError,
    TeardownError,
)
from personakit.llm.formats import (
    MAX_PAYLOAD_BYTES,
    Generation,
    ModelResponseError,
    PayloadFormat,
    Prompt,
    get_format,
    iter_stream_text,
    parse_embeddings,
    parse_generation,
)
from personakit.llm.hosting import (
    ENDPOINT_SETTLED,
    DeployGuard,
    EndpointTiming,
    delete_and_wait,
    detect_attached_format,
    failure_hint,
    is_not_found,
    refuse_existing,
)
from personakit.rules.facts import EXPIRES_TAG, KEEP_TAG, RUN_TAG

if TYPE_CHECKING:
    from personakit.aws.session import Session
    from personakit.llm.jumpstart import JumpStartCatalog
    from personakit.llm.resolve import ResolvedModel

__all__ = ["LLMEndpoint"]

logger = logging.getLogger(__name__)

#: ``ResourceLimitExceeded`` names the account quota: "... service limit '<quota>' ..."
#: (https://docs.aws.amazon.com/sagemaker/latest/dg/regions-quotas.html).
_LIMIT_RE = re.compile(r"service limit '([^']+)'")
#: Endpoint names: 1-63 letters, digits and hyphens
#: (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpoint.html).
_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}\Z")
_MAX_NAME = 63
#: ``EndpointStatus`` values of an endpoint still changing
#: (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html).
_IN_PROGRESS = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})


def _lifetime_seconds(max_lifetime: float | dt.timedelta | None) -> float | None:
    if max_lifetime is None:
        return None
    seconds = (
        max_lifetime.total_seconds() if isinstance(max_lifetime, dt.timedelta) else max_lifetime
    )
    if not seconds > 0:
        raise ConfigurationError(f"max_lifetime must be positive, got {max_lifetime!r}")
    return float(seconds)


def _default_name(model: ResolvedModel, now: dt.datetime) -> str:
    base = str(model.spec.get("resource_name_base") or model.model_id)
    base = re.sub(r"[^a-zA-Z0-9]+", "-", base).strip("-").lower()
    suffix = f"{now:%y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    room = _MAX_NAME - len("pk--") - len(suffix)
    return f"pk-{base[:room].rstrip('-')}-{suffix}"


def _check_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise ConfigurationError(
            f"endpoint name {name!r}: use 1-{_MAX_NAME} letters, digits and hyphens, starting and "
            "ending with a letter or digit"
        )
    return name


def _execution_role(session: Session, role_arn: str | None) -> str:
    role = role_arn or session.sagemaker_role_arn or session.role_arn
    if not role:
        raise ConfigurationError(
            "deploying needs a SageMaker execution role: pass role_arn=... (an IAM role that "
            "trusts sagemaker.amazonaws.com), or configure one on the session"
        )
    return str(role)


def _note(exc: BaseException, text: str) -> None:
    add_note = getattr(exc, "add_note", None)
    if callable(add_note):
        add_note(text)


def _body(payload: Mapping[str, Any]) -> bytes:
    data = json.dumps(payload).encode("utf-8")
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ConfigurationError(
            f"request body is {len(data):,} bytes; SageMaker real-time endpoints take at most "
            f"{MAX_PAYLOAD_BYTES:,} (6 MB): send less per call"
        )
    return data


class LLMEndpoint:
    """A SageMaker real-time endpoint serving one JumpStart model.

    Make one with :meth:`deploy` (creates and owns the endpoint) or :meth:`attach`
    (an endpoint that exists). Use it as a context manager: leaving the block
    deletes what it owns unless ``keep=True``.

    Attributes:
        name: The endpoint's name.
        model: The resolution it was deployed from (``None`` when attached and
            the model's spec was not looked up).
        keep: Leave the endpoint running when the ``with`` block ends (a deployed one is
            then tagged ``personakit:keep=true``, which ``personakit sweep`` spares).
    """

    def __init__(
        self,
        session: Session,
        name: str,
        *,
        model: ResolvedModel | None = None,
        payload_format: str | PayloadFormat | None = None,
        config_name: str | None = None,
        model_names: Sequence[str] = (),
        instance_type: str | None = None,
        keep: bool = False,
        owned: bool = True,
        timing: EndpointTiming | None = None,
    ) -> None:
        self._session = session
        self.name = _check_name(name)
        self.model = model
        self.keep = keep
        self._timing = timing or EndpointTiming.for_session(session)
        self._format = get_format(payload_format) if payload_format is not None else None
        self.config_name = config_name
        self.model_names = tuple(model_names)
        self.instance_type = instance_type or (model.instance_type if model else None)
        # What this object deletes, in creation order (endpoint last); names are
        # registered before their Create* call so an interrupted call is cleaned up too.
        self._owned: dict[str, str] = {}
        if owned:
            if config_name:
                self._owned["config"] = config_name
            for i, model_name in enumerate(self.model_names):
                self._owned[f"model{i}"] = model_name
            self._owned["endpoint"] = name
        self._deleted = False
        self._atexit_registered = False
        self._deployed = False  # created by deploy(): tagged personakit:keep when kept
        self._keep_tagged = False

    # ------------------------------------------------------------------ deploy / attach

    @classmethod
    def deploy(
        cls,
        session: Session,
        model_id: str,
        instance_type: str | None = None,
        version: str | None = None,
        *,
        accept_eula: bool = False,
        initial_instance_count: int = 1,
        env: Mapping[str, str] | None = None,
        endpoint_name: str | None = None,
        keep: bool = False,
        max_lifetime: float | dt.timedelta | None = None,
        guard: DeployGuard | None = None,
        timeout_s: float = 3600.0,
        progress: bool | None = None,
        role_arn: str | None = None,
        config_name: str | None = None,
        image_uri: str | None = None,
        payload_format: str | None = None,
        catalog: JumpStartCatalog | None = None,
        timing: EndpointTiming | None = None,
    ) -> LLMEndpoint:
        """Deploy ``model_id`` to a new real-time endpoint and wait until it is ``InService``.

        Args:
            session: Where the clients, the region, the tags and the role come from.
            model_id: JumpStart model id, e.g. ``"huggingface-llm-falcon-7b-bf16"``.
            instance_type: ``ml.*`` instance type; the spec's default when not given.
                One the spec's ``supported_inference_instance_types`` does not list is
                deployed all the same with its family's image, as the SageMaker SDK
                does, after an ``OutOfSpecInstanceWarning``.
            version: Exact version (``"4.1.23"``), a wildcard (``"4.*"``) or ``None``
                for the latest. Pin it: major versions change containers and payloads.
            accept_eula: Accept a gated model's license (Llama, Gemma...).
            initial_instance_count: Instances behind the endpoint.
            env: Environment variables overriding the spec's.
            endpoint_name: Name of the endpoint, config and model; generated when not
                given (``pk-<model>-<time>-<random>``).
            keep: Leave it running when the ``with`` block ends (and at exit).
            max_lifetime: Seconds (or a ``timedelta``) after which a sweep may delete
                it: tagged ``personakit:expires-at`` (UTC, ISO 8601).
            guard: Asked ``guard.check_deploy(instance_type, count, region)`` before
                anything is created; may raise ``BudgetExceededError``.
            timeout_s: Deadline of the wait for ``InService``.
            progress: ``False``: no line on the session's progress display while
                waiting; ``True``: a line even when the session's display is off;
                ``None``: the session's display decides (``session.progress``).
            role_arn: The SageMaker execution role; else the session's
                ``sagemaker_role_arn``, else its ``role_arn``.
            config_name: A named inference config of the spec (``"lmi"``...).
            image_uri: An image to use instead of the spec's.
            payload_format: Force a payload format (``"tgi"``, ``"lmi"``,
                ``"messages"``, ``"hf-text"``, ``"embedding"``).
            catalog: Where specs come from; ``JumpStartCatalog(session.region)``
                (public bucket, disk cache, packaged snapshot) when not given.
            timing: Retries, polls, sleep and clock (inject fakes in tests).

        Warns:
            OutOfSpecInstanceWarning: ``instance_type`` is not in the spec's list
                (the guard still prices it).

        Raises:
            ModelNotFoundError, UnsupportedInstanceError, EulaRequiredError: before
                anything is created (``UnsupportedInstanceError``: the spec has no image
                for the instance type or the region).
            BudgetExceededError: from the guard, before anything is created.
            QuotaExceededError: an account quota (e.g. "ml.g5.2xlarge for endpoint
                usage") refused the endpoint; the message says how to raise it and
                which other instance types the model supports.
            EndpointFailedError: the endpoint reached ``Failed`` (``FailureReason``).
            WaitTimeoutError: not ``InService`` within ``timeout_s``.
        """
        timing = timing or EndpointTiming.for_session(session)
        if initial_instance_count < 1:
            raise ConfigurationError(
                f"initial_instance_count must be >= 1, got {initial_instance_count}"
            )
        lifetime = _lifetime_seconds(max_lifetime)
        if catalog is None:
            from personakit.llm.jumpstart import JumpStartCatalog  # cache, snapshot: on use

            catalog = JumpStartCatalog(session.region)
        resolved = catalog.resolve(
            model_id,
            version,
            instance_type,
            accept_eula=accept_eula,
            env=env,
            config_name=config_name,
            image_uri=image_uri,
            payload_format=payload_format,
        )
        role = _execution_role(session, role_arn)
        if guard is not None:
            guard.check_deploy(resolved.instance_type, initial_instance_count, session.region)
        now = timing.now()
        name = _check_name(endpoint_name) if endpoint_name else _default_name(resolved, now)
        extra = resolved.jumpstart_tags()
        if keep:  # tagged now, not only at exit: a process that dies keeps it spared too
            extra[KEEP_TAG] = "true"
        if lifetime is not None:
            expires = now.astimezone(dt.timezone.utc) + dt.timedelta(seconds=lifetime)
            extra[EXPIRES_TAG] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
        tags = session.sagemaker_tags(extra)
        sm = session.client("sagemaker")
        if endpoint_name:
            refuse_existing(sm, name, timing.retrier)
        endpoint = cls(
            session,
            name,
            model=resolved,
            payload_format=resolved.payload_format,
            keep=keep,
            owned=False,
            timing=timing,
        )
        endpoint._create(resolved, role, tags, initial_instance_count, timeout_s, progress)
        endpoint._deployed = True
        if not keep:
            atexit.register(endpoint._at_exit)
            endpoint._atexit_registered = True
        return endpoint

    def _register(self, kind: str, name: str, call: Callable[[], Any]) -> None:
        """Send one Create* call; the name is owned unless AWS refused the call."""
        self._owned[kind] = name
        try:
            call()
        except (ClientError, QuotaExceededError):
            # AWS answered with an error: nothing was created under this name (and a
            # name that already existed is someone else's, not ours to delete).
            del self._owned[kind]
            raise

    def _create(
        self,
        resolved: ResolvedModel,
        role: str,
        tags: Sequence[Mapping[str, object]],
        count: int,
        timeout_s: float,
        progress: bool | None,
    ) -> WaitResult:
        sm = self._session.client("sagemaker")
        retrier = self._timing.retrier
        name = self.name
        request = resolved.create_model_request(name, role, tags)
        variant = resolved.production_variant(name, count)
        logger.info(
            "deploying %s %s on %d x %s as %s",
            resolved.model_id,
            resolved.version,
            count,
            resolved.instance_type,
            name,
        )
        try:
            self._register("model0", name, lambda: retrier.call(sm.create_model, **request))
            self.model_names = (name,)
            self._register(
                "config",
                name,
                lambda: retrier.call(
                    sm.create_endpoint_config,
                    EndpointConfigName=name,
                    ProductionVariants=[variant],  # type: ignore[list-item]
                    Tags=list(tags),  # type: ignore[arg-type]
                ),
            )
            self.config_name = name
            self._register(
                "endpoint",
                name,
                lambda: retrier.call(
                    sm.create_endpoint,
                    EndpointName=name,
                    EndpointConfigName=name,
                    Tags=list(tags),  # type: ignore[arg-type]
                ),
            )
            return wait_for(
                lambda: sm.describe_endpoint(EndpointName=name),
                timing=self._timing,
                arn=name,
                timeout_s=timeout_s,
                spec=SAGEMAKER_ENDPOINT,
                retrier=retrier,
                label=name,
                progress=progress,  # the deploy's own choice; None: the session's display
                display=self._session.progress,
            )
        except BaseException as exc:
            translated = self._translate(exc, resolved)
            self._rollback(translated)
            if translated is exc:
                raise
            raise translated from exc

    def _translate(self, exc: BaseException, resolved: ResolvedModel) -> BaseException:
        if isinstance(exc, QuotaExceededError) and exc.operation == "CreateEndpoint":
            others = resolved.alternatives
            named = _LIMIT_RE.search(exc.detail)
            quota = named.group(1) if named else f"{resolved.instance_type} for endpoint usage"
            fix = (
                f"request more in Service Quotas (console: Service Quotas > Amazon SageMaker > "
                f"'{quota}'; CLI: aws service-quotas list-service-quotas --service-code "
                f"sagemaker --query \"Quotas[?QuotaName=='{quota}']\" then aws service-quotas "
                "request-service-quota-increase --service-code sagemaker --quota-code <code> "
                f"--desired-value <n>), or deploy on another instance type {resolved.model_id} "
                "supports"
                + (f": {', '.join(others)}" if others else "")
                + " (CostGuard.advise ranks them by price)"
            )
            return QuotaExceededError(
                f"SageMaker account quota '{quota}'",
                fix,
                operation=exc.operation,
                code=exc.code,
                detail=exc.detail,
            )
        if isinstance(exc, ClientError) and error_code(exc) == "ValidationException":
            message = str(exc.response.get("Error", {}).get("Message", "")).lower()
            if "assume" in message or "execution role" in message:
                _note(
                    exc,
                    "hint: the execution role must trust sagemaker.amazonaws.com and be allowed "
                    "to read the model data (pass role_arn=...)",
                )
        if isinstance(exc, ResourceFailedError) and not isinstance(exc, EndpointFailedError):
            return EndpointFailedError(
                exc.arn,
                exc.status,
                exc.failure_reason,
                endpoint_name=self.name,
                hint=failure_hint(exc.failure_reason or ""),
            )
        return exc

    def _rollback(self, exc: BaseException) -> None:
        if not self._owned:
            return
        logger.warning(
            "deploying %s failed (%s); deleting what was created: %s",
            self.name,
            type(exc).__name__,
            ", ".join(sorted(set(self._owned.values()))),
        )
        try:
            self._teardown(wait=True)
        except BaseException as teardown_exc:
            logger.error(
                "cleanup after the failed deploy of %s failed: %s", self.name, teardown_exc
            )
            _note(exc, f"personakit could not clean up: {teardown_exc}")
            if not isinstance(teardown_exc, Exception):
                raise  # a second Ctrl-C: stop, the leftovers are logged and tagged

    @classmethod
    def attach(
        cls,
        session: Session,
        endpoint_name: str,
        *,
        payload_format: str | None = None,
        catalog: JumpStartCatalog | None = None,
        keep: bool = True,
        timing: EndpointTiming | None = None,
    ) -> LLMEndpoint:
        """An :class:`LLMEndpoint` for an endpoint that exists.

        The payload format is ``payload_format``, else read from the spec named by
        the model's JumpStart tags (``sagemaker-sdk:jumpstart-model-id`` /
        ``-version``; via ``catalog``), else guessed from the model's image. With
        ``keep=True`` (the default) leaving a ``with`` block leaves it running;
        :meth:`delete` still deletes it, with its config and models.
        """
        timing = timing or EndpointTiming.for_session(session)
        sm = session.client("sagemaker")
        retrier = timing.retrier
        described = retrier.call(sm.describe_endpoint, EndpointName=endpoint_name)
        config_name = str(described["EndpointConfigName"])
        config = retrier.call(sm.describe_endpoint_config, EndpointConfigName=config_name)
        variants = list(config.get("ProductionVariants") or [])
        model_names = [str(v["ModelName"]) for v in variants if v.get("ModelName")]
        instance_type = next(
            (str(v["InstanceType"]) for v in variants if v.get("InstanceType")), None
        )
        fmt = payload_format
        if fmt is None and model_names:
            if catalog is None:
                from personakit.llm.jumpstart import JumpStartCatalog  # cache, snapshot: on use

                catalog = JumpStartCatalog(session.region)
            fmt = detect_attached_format(sm, retrier, model_names[0], catalog)
        endpoint = cls(
            session,
            endpoint_name,
            payload_format=fmt,
            config_name=config_name,
            model_names=model_names,
            instance_type=instance_type,
            keep=keep,
            owned=True,
            timing=timing,
        )
        status = described.get("EndpointStatus")
        if status != "InService":
            logger.warning("endpoint %s is %s, not InService", endpoint_name, status)
        return endpoint

    # ------------------------------------------------------------------ state

    @property
    def session(self) -> Session:
        """The session this endpoint's clients come from."""
        return self._session

    @property
    def payload_format(self) -> PayloadFormat | None:
        """How requests are built (``None`` if unknown: pass ``payload_format`` to attach)."""
        return self._format

    @property
    def deleted(self) -> bool:
        """Whether :meth:`delete` has run to the end."""
        return self._deleted

    def status(self) -> str:
        """The endpoint's ``EndpointStatus`` now (``"Deleted"`` once gone)."""
        try:
            described = self._session.client("sagemaker").describe_endpoint(EndpointName=self.name)
        except ClientError as exc:
            if is_not_found(exc):
                return "Deleted"
            raise
        return str(described["EndpointStatus"])

    def __repr__(self) -> str:
        model = f" {self.model.model_id} {self.model.version}" if self.model else ""
        state = " deleted" if self._deleted else ""
        return f"<LLMEndpoint {self.name}{model} on {self.instance_type}{state}>"

    def _repr_html_(self) -> str:
        rows = [
            ("endpoint", self.name),
            ("model", f"{self.model.model_id} {self.model.version}" if self.model else "—"),
            ("instance", self.instance_type or "—"),
            ("payload format", self._format.name if self._format else "unknown"),
            ("keep", str(self.keep)),
            ("deleted", str(self._deleted)),
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<table><caption>LLMEndpoint</caption>{body}</table>"

    # ------------------------------------------------------------------ invoke

    def _need_format(self) -> PayloadFormat:
        if self._format is None:
            raise ConfigurationError(
                f"cannot tell which payload format {self.name} takes; pass payload_format= "
                "('tgi', 'lmi', 'messages', 'hf-text', 'embedding') to LLMEndpoint.attach"
            )
        return self._format

    def _invoke(self, payload: Mapping[str, Any], fmt: PayloadFormat) -> Any:
        runtime = self._session.client("sagemaker-runtime")
        try:
            response = runtime.invoke_endpoint(
                EndpointName=self.name,
                Body=_body(payload),
                ContentType=fmt.content_type,
                Accept=fmt.accept,
            )
        except ClientError as exc:
            if error_code(exc) != "ModelError":
                raise
            detail = str(exc.response.get("Error", {}).get("Message", exc))
            status = exc.response.get("OriginalStatusCode")
            raise ModelResponseError(
                f"{self.name}: the model failed: {detail}",
                detail=detail,
                endpoint_name=self.name,
                status=status if isinstance(status, int) else None,
            ) from exc
        data = response["Body"].read()
        try:
            return json.loads(data)
        except ValueError as exc:
            raise ModelResponseError(
                f"{self.name}: the response is not JSON: {data[:200]!r}",
                endpoint_name=self.name,
            ) from exc

    def generate(self, prompt: Prompt, **params: Any) -> Generation:
        """Generate text for ``prompt`` (text, or chat messages) with the container's ``params``.

        ``params`` are the container's generation parameters (TGI: ``max_new_tokens``,
        ``temperature``, ``top_p``, ``top_k``, ``do_sample``, ``stop``, ``seed``...;
        the messages API takes ``max_new_tokens`` too and sends it as ``max_tokens``).

        Raises:
            ModelResponseError: The container answered with an error (CloudWatch
                ``/aws/sagemaker/Endpoints/<name>`` has its logs).
        """
        fmt = self._need_format()
        return parse_generation(self._invoke(fmt.request(prompt, params, stream=False), fmt))

    def stream(self, prompt: Prompt, **params: Any) -> Iterator[str]:
        """Generate text for ``prompt`` and yield it piece by piece as the model writes it.

        Uses ``InvokeEndpointWithResponseStream``; the byte chunks are joined into
        lines and each token's text is yielded (TGI server-sent events, LMI JSON
        lines and OpenAI chunks are all read). Stopping the iteration early closes
        the stream.
        """
        fmt = self._need_format()
        payload = fmt.request(prompt, params, stream=True)
        runtime = self._session.client("sagemaker-runtime")
        response = runtime.invoke_endpoint_with_response_stream(
            EndpointName=self.name,
            Body=_body(payload),
            ContentType=fmt.content_type,
            Accept=fmt.accept,
        )
        body = response["Body"]
        try:
            yield from iter_stream_text(body)
        except ClientError as exc:  # botocore raises in-stream error events
            detail = str(exc.response.get("Error", {}).get("Message", exc))
            raise ModelResponseError(
                f"{self.name}: the stream failed ({error_code(exc)}): {detail}",
                detail=detail,
                endpoint_name=self.name,
            ) from exc
        finally:
            close = getattr(body, "close", None)
            if callable(close):
                close()

    def embed(self, texts: str | Sequence[str], *, batch_size: int = 32) -> list[list[float]]:
        """Embedding vectors of ``texts``, one per text, in order; ``batch_size`` texts a call."""
        fmt = self._need_format()
        items = [texts] if isinstance(texts, str) else list(texts)
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be >= 1, got {batch_size}")
        vectors: list[list[float]] = []
        for start in range(0, len(items), batch_size):
            batch = items[start : start + batch_size]
            body = self._invoke(fmt.embed_request(batch), fmt)
            vectors.extend(parse_embeddings(body, len(batch)))
        return vectors

    # ------------------------------------------------------------------ teardown

    def __enter__(self) -> LLMEndpoint:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._deleted:
            return
        if self.keep:
            self._mark_kept()
            return
        try:
            self.delete()
        except BaseException as teardown_exc:
            if exc is None:
                raise
            logger.error("teardown of %s failed: %s", self.name, teardown_exc)
            _note(exc, f"personakit could not delete {self.name}: {teardown_exc}")
            if not isinstance(teardown_exc, Exception):
                raise

    def delete(self, *, wait: bool = True) -> None:
        """Delete the endpoint, then its config, then its model(s); idempotent.

        With ``wait`` (the default) each deletion is waited for until ``Describe*``
        says the resource is gone. An endpoint still ``Creating`` is waited for first:
        SageMaker deletes an endpoint only once it is ``InService`` or ``Failed``.

        Raises:
            TeardownError: Something could not be deleted (listed in
                ``leftovers``); the endpoint is deleted first, so a failure to delete
                the config or model never leaves an endpoint billing.
        """
        if self._deleted:
            return
        self._teardown(wait=wait)

    def _teardown(self, *, wait: bool) -> None:
        sm = self._session.client("sagemaker")
        retrier = self._timing.retrier
        errors: list[tuple[str, BaseException]] = []
        done: list[str] = []
        try:
            if "endpoint" in self._owned:
                try:
                    self._delete_endpoint(sm, retrier, self._owned["endpoint"], wait)
                    del self._owned["endpoint"]
                except Exception as exc:
                    errors.append((f"endpoint {self.name}", exc))
            if not errors:  # never orphan a billing endpoint from its config and model
                for kind in sorted(self._owned, key=lambda k: (k != "config", k)):
                    resource = self._owned[kind]
                    try:
                        if kind == "config":
                            delete_and_wait(
                                retrier.call,
                                sm.delete_endpoint_config,
                                sm.describe_endpoint_config,
                                "EndpointConfigName",
                                resource,
                                timing=self._timing,
                                wait=wait,
                                retrier=retrier,
                                display=self._session.progress,
                            )
                        else:
                            delete_and_wait(
                                retrier.call,
                                sm.delete_model,
                                sm.describe_model,
                                "ModelName",
                                resource,
                                timing=self._timing,
                                wait=wait,
                                retrier=retrier,
                                display=self._session.progress,
                            )
                        done.append(kind)
                    except Exception as exc:
                        errors.append(
                            (
                                f"{'endpoint config' if kind == 'config' else 'model'} {resource}",
                                exc,
                            )
                        )
                for kind in done:
                    del self._owned[kind]
        except BaseException:
            logger.error(
                "teardown of %s interrupted; still there: %s (tagged %s=%s)",
                self.name,
                ", ".join(sorted(set(self._owned.values()))) or "nothing",
                RUN_TAG,
                self._session.run_id,
            )
            raise
        if errors:
            raise TeardownError(
                errors,
                sorted(set(self._owned.values())),
                how_to_fix=(
                    "delete them by hand (console, or sagemaker delete-endpoint / "
                    "delete-endpoint-config / delete-model) or with `personakit sweep`"
                ),
            )
        self._deleted = True
        if self._atexit_registered:
            atexit.unregister(self._at_exit)
            self._atexit_registered = False
        logger.info("deleted endpoint %s, its config and model", self.name)

    def _delete_endpoint(self, sm: Any, retrier: Retrier, name: str, wait: bool) -> None:
        timing = self._timing

        def describe() -> Mapping[str, Any]:
            response: Mapping[str, Any] = sm.describe_endpoint(EndpointName=name)
            return response

        for _ in range(3):
            try:
                retrier.call(sm.delete_endpoint, EndpointName=name)
                break
            except ClientError as exc:
                if is_not_found(exc):
                    return
                if error_code(exc) != "ValidationException":
                    raise
                try:
                    status = str(describe().get("EndpointStatus"))
                except ClientError as described_exc:
                    if is_not_found(described_exc):
                        return
                    raise
                if status == "Deleting":
                    break
                if status not in _IN_PROGRESS:
                    raise
                logger.warning(
                    "endpoint %s is %s; SageMaker deletes it only once it is InService or "
                    "Failed, waiting for that",
                    name,
                    status,
                )
                wait_for(
                    describe,
                    timing=timing,
                    arn=name,
                    timeout_s=timing.delete_timeout_s,
                    spec=ENDPOINT_SETTLED,
                    retrier=retrier,
                    display=self._session.progress,
                )
        else:  # pragma: no cover - three refusals in a row
            raise PersonakitError(f"SageMaker keeps refusing to delete endpoint {name}")
        if wait:
            wait_for(
                describe,
                timing=timing,
                arn=name,
                timeout_s=timing.delete_timeout_s,
                spec=SAGEMAKER_ENDPOINT_DELETE,
                gone=True,
                retrier=retrier,
                display=self._session.progress,
            )

    def _mark_kept(self) -> None:
        """Tag a deployed endpoint kept at exit ``personakit:keep=true``; best effort.

        A sweep spares endpoints with that tag (its config and
        models with it); a failure to tag is logged, never raised. Attached endpoints
        are not tagged: they were not this object's to delete.
        """
        if not self._deployed or self._keep_tagged:
            return
        sm = self._session.client("sagemaker")
        retrier = self._timing.retrier
        try:
            arn = str(retrier.call(sm.describe_endpoint, EndpointName=self.name)["EndpointArn"])
            retrier.call(sm.add_tags, ResourceArn=arn, Tags=[{"Key": KEEP_TAG, "Value": "true"}])
        except Exception as exc:
            logger.warning(
                "keep=True: could not tag endpoint %s %s=true (a sweep may delete it): %s",
                self.name,
                KEEP_TAG,
                exc,
            )
            return
        self._keep_tagged = True
        logger.info("keeping endpoint %s (tagged %s=true)", self.name, KEEP_TAG)

    def _at_exit(self) -> None:
        if self._deleted or self.keep:
            return
        logger.warning(
            "deleting endpoint %s at exit (deployed with keep=False and never deleted)", self.name
        )
        try:
            self._teardown(wait=False)
        except Exception as exc:
            logger.error("could not delete endpoint %s at exit: %s", self.name, exc)
