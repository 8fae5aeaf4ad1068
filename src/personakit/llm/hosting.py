"""SageMaker hosting pieces :class:`~personakit.llm.endpoint.LLMEndpoint` is built from.

The timing of its calls and waits (:class:`EndpointTiming`), what a deploy asks
before it creates anything (:class:`DeployGuard`, e.g. ``CostGuard``), the
``personakit:expires-at`` tag, the waits until a deleted endpoint, config or model is
gone, and the reading of SageMaker's answers (a resource not found, a failure reason,
an endpoint that exists, the payload format of an endpoint made elsewhere). The sweep
(:mod:`personakit.cost.sweep`) deletes endpoints with the same pieces.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs
from botocore.exceptions import ClientError

from personakit.aws.progress import ProgressDisplay
from personakit.aws.retry import Retrier, error_code
from personakit.aws.timing import Timing
from personakit.aws.wait import WaitSpec, sagemaker_not_found, wait_for
from personakit.errors import ConfigurationError, PersonakitError
from personakit.llm.formats import detect_format
from personakit.llm.resolve import (
    JUMPSTART_CONFIG_TAG,
    JUMPSTART_ID_TAG,
    JUMPSTART_VERSION_TAG,
    apply_inference_config,
)

if TYPE_CHECKING:
    from personakit.aws.session import Session
    from personakit.llm.jumpstart import JumpStartCatalog

__all__ = [
    "ENDPOINT_SETTLED",
    "SAGEMAKER_GONE",
    "DeployGuard",
    "EndpointTiming",
    "delete_and_wait",
    "detect_attached_format",
    "failure_hint",
    "is_not_found",
    "refuse_existing",
]

logger = logging.getLogger(__name__)


#: Any status that ends a ``Creating``/``Updating`` endpoint (DeleteEndpoint is refused
#: before); ``EndpointStatus`` in
#: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html.
ENDPOINT_SETTLED = WaitSpec(
    name="sagemaker-endpoint-settled",
    status="EndpointStatus",
    reason="FailureReason",
    ok={"InService", "Failed", "OutOfService", "UpdateRollbackFailed", "Deleting"},
    failed_suffix=None,
)


def _present(_: Mapping[str, Any]) -> str:
    return "Present"


#: ``DescribeEndpointConfig`` / ``DescribeModel`` until ``ValidationException`` ("Could not find").
SAGEMAKER_GONE = WaitSpec(
    name="sagemaker-gone",
    status=_present,
    reason=lambda _: None,
    ok=(),
    failed_suffix=None,
    gone=sagemaker_not_found,
)


class DeployGuard(Protocol):
    """What :meth:`LLMEndpoint.deploy` asks before creating anything (e.g. ``CostGuard``).

    ``check_deploy`` raises :class:`~personakit.errors.BudgetExceededError` to refuse;
    what it returns is ignored.
    """

    def check_deploy(self, instance_type: str, count: int, region: str) -> object: ...


def failure_hint(reason: str) -> str:
    """What an endpoint's ``FailureReason`` usually means and how to fix it (``""``: no hint)."""
    text = reason.lower()
    if "ping health check" in text or "health check" in text:
        return (
            "the container did not answer /ping in time: usually out of GPU memory (a larger "
            "instance), a wrong SM_NUM_GPUS, or a too short "
            "ContainerStartupHealthCheckTimeoutInSeconds"
        )
    if "invalid combination" in text or "cuda" in text:
        return "the image does not fit the instance (a GPU image on a CPU or too old GPU instance)"
    if "capacity" in text:
        return "AWS has no capacity for this instance type right now: retry later or elsewhere"
    if "could not assume role" in text or "not authorized" in text:
        return "the execution role must trust sagemaker.amazonaws.com and may read the model data"
    return ""


@attrs.frozen(kw_only=True)
class EndpointTiming(Timing):
    """A :class:`~personakit.aws.timing.Timing` at SageMaker endpoints' pace: first poll
    after 15 s (endpoints take minutes) and 30 minutes for each wait of a teardown. Its
    waits show on the session's progress display; ``progress`` is only read by a
    :func:`~personakit.aws.wait.wait_for` given no display."""

    poll_s: float = 15.0
    max_poll_s: float = 60.0
    delete_timeout_s: float = 1800.0
    progress: bool | None = False

    @classmethod
    def for_session(cls, session: Session) -> EndpointTiming:
        """The defaults, or the session's own timing where it has one.

        ``Session.local`` polls from 0.05 s (the local engine is quick); an endpoint
        on it waits the same way instead of SageMaker's 15 s first poll.
        """
        base = session.timing
        return cls() if base is None else cls.from_timing(base)

    @classmethod
    def from_timing(cls, timing: Timing) -> EndpointTiming:
        """The same retries, time and polls as a resource ``Timing``."""
        return cls(**{**attrs.asdict(timing, recurse=False), "progress": False})


def is_not_found(exc: BaseException) -> bool:
    """Whether ``exc`` is SageMaker saying the resource does not exist (``ValidationException``
    "Could not find ..." / "... does not exist"), not another validation error."""
    if error_code(exc) != "ValidationException" or not isinstance(exc, ClientError):
        return False
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return "could not find" in message or "does not exist" in message


def delete_and_wait(
    call: Callable[..., Any],
    delete: Callable[..., Any],
    describe: Callable[..., Any],
    key: str,
    name: str,
    *,
    timing: Timing,
    wait: bool = True,
    retrier: Retrier | None = None,
    display: ProgressDisplay | None = None,
) -> None:
    """Delete a SageMaker endpoint config or model (``delete(**{key: name})`` through
    ``call``, a retrier's or a context's) and wait until ``describe`` says it is gone.

    One that is already gone is fine; the wait polls from at most 5 s (a config or a
    model goes in seconds) until the timing's ``delete_timeout_s``, as a line on
    ``display`` (the session's progress display) when given.
    """
    try:
        call(delete, **{key: name})
    except ClientError as exc:
        if is_not_found(exc):
            return
        raise
    if wait:
        wait_for(
            lambda: describe(**{key: name}),
            arn=name,
            timeout_s=timing.delete_timeout_s,
            spec=SAGEMAKER_GONE,
            timing=timing,
            gone=True,
            retrier=retrier,
            poll_s=min(timing.poll_s, 5.0),
            display=display,
            kind={"EndpointConfigName": "endpoint config", "ModelName": "model"}.get(key, ""),
        )


def refuse_existing(sm: Any, name: str, retrier: Retrier) -> None:
    """Raise :class:`~personakit.errors.ConfigurationError` when endpoint ``name`` exists.

    A deploy under a name the caller chose must not adopt (and later delete) an
    endpoint that is not its own.
    """
    try:
        described = retrier.call(sm.describe_endpoint, EndpointName=name)
    except ClientError as exc:
        if is_not_found(exc):
            return
        raise
    raise ConfigurationError(
        f"endpoint {name!r} exists already ({described.get('EndpointStatus')}); use "
        f"LLMEndpoint.attach(session, {name!r}) to use it, or pick another endpoint_name"
    )


def detect_attached_format(
    sm: Any, retrier: Retrier, model_name: str, catalog: JumpStartCatalog
) -> str | None:
    """The payload format of an existing endpoint's model (``None``: cannot tell).

    Read from the spec its JumpStart tags name (through ``catalog``), else guessed from
    its image (:func:`~personakit.llm.formats.detect_format`).
    """
    try:
        model = retrier.call(sm.describe_model, ModelName=model_name)
    except ClientError as exc:
        logger.debug("cannot describe model %s: %s", model_name, exc)
        return None
    image = str((model.get("PrimaryContainer") or {}).get("Image") or "") or None
    spec: Mapping[str, Any] | None = None
    try:
        listed = retrier.call(sm.list_tags, ResourceArn=model["ModelArn"])
        tags = {t["Key"]: t["Value"] for t in listed.get("Tags", [])}
    except ClientError as exc:
        logger.debug("cannot list the tags of %s: %s", model_name, exc)
        tags = {}
    model_id = tags.get(JUMPSTART_ID_TAG)
    if model_id:
        try:
            spec, _ = apply_inference_config(
                catalog.spec(model_id, tags.get(JUMPSTART_VERSION_TAG)),
                tags.get(JUMPSTART_CONFIG_TAG),
            )
        except PersonakitError as exc:
            logger.debug("cannot read the spec of %s: %s", model_id, exc)
    if spec is None and image is None:
        return None
    return detect_format(spec, image, model_id or "")
