"""One poller for every resource: a deadline, a growing poll interval, typed outcomes.

Personalize has no botocore waiters (botocore ships none for it) and SageMaker's poll every
30 s for a fixed number of attempts, so personakit polls with :func:`wait_for`:

* the first ``Describe*`` is sent at once; between polls the interval grows from
  ``poll_s`` by ``backoff`` up to ``max_poll_s`` and never sleeps past the deadline;
  one last poll is made at the deadline;
* a status in the spec's ``ok`` set returns a :class:`WaitResult`;
* a failed status (in ``failed``, or ending in ``FAILED`` where the spec says so)
  raises :class:`~personakit.errors.ResourceFailedError` at once, with the ARN,
  the status and the resource's ``failureReason``; a stopped one (``CREATE STOPPED``)
  raises its subclass :class:`~personakit.errors.ResourceStoppedError`;
* passing the deadline raises :class:`~personakit.errors.WaitTimeoutError` with the
  last status seen;
* for deletions (``wait_for(..., gone=True)``), the "not found" error of ``Describe*`` means
  done (``ResourceNotFoundException`` for Personalize, ``ValidationException`` for
  SageMaker's ``DescribeEndpoint``, as botocore's ``EndpointDeleted`` waiter has it).

Every ``Describe*`` goes through :class:`~personakit.aws.retry.Retrier` with its
deadlines clamped to the time left; a throttling storm that outlasts the retry
budget costs a poll, not the wait. Statuses are compared after normalisation
(upper case, ``_`` read as a space), so ``IN_PROGRESS`` and ``IN PROGRESS`` and
SageMaker's ``InService`` and ``INSERVICE`` match.

Logging (logger ``personakit.aws.wait``): each status change at INFO with
``event="personakit.wait.status"``, success at INFO ``personakit.wait.done``,
failure at WARNING ``personakit.wait.failed``, deadline at WARNING
``personakit.wait.timeout``; ``extra`` carries ``arn``, ``status``, ``label``,
``waited_s`` and ``polls``. Each wait is a line on the session's progress display
(:mod:`personakit.aws.progress`): what, phase, status, elapsed, and an estimate where
one exists, never the deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeAlias

import attrs

from personakit.aws.progress import (
    Operation,
    ProgressDisplay,
    interactive,
    resource_kind,
    resource_name,
)
from personakit.aws.retry import Retrier, classify, error_code
from personakit.aws.timing import Timing
from personakit.errors import ResourceFailedError, ResourceStoppedError, WaitTimeoutError

__all__ = [
    "PERSONALIZE_CREATE",
    "PERSONALIZE_DATA_DELETION",
    "PERSONALIZE_DELETE",
    "PERSONALIZE_SETTLED",
    "PERSONALIZE_START",
    "PERSONALIZE_STOP",
    "PERSONALIZE_UPDATE",
    "SAGEMAKER_ENDPOINT",
    "SAGEMAKER_ENDPOINT_DELETE",
    "WaitResult",
    "WaitSpec",
    "normalize_status",
    "wait_for",
]

logger = logging.getLogger(__name__)

Response: TypeAlias = Mapping[str, Any]
#: A dotted path into the response (``"solutionVersion.status"``) or a function of it.
Extractor: TypeAlias = str | Callable[[Response], str | None]
Verdict = Literal["ok", "failed", "stopped", "pending"]


def normalize_status(status: str) -> str:
    """``"create in_progress"`` -> ``"CREATE IN PROGRESS"``: upper case, ``_`` as space."""
    return " ".join(status.replace("_", " ").upper().split())


def _normalized(statuses: Iterable[str]) -> frozenset[str]:
    return frozenset(normalize_status(s) for s in statuses)


def _dig(response: Response, path: str) -> str | None:
    node: Any = response
    for key in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return None if node is None else str(node)


def _extract(extractor: Extractor, response: Response) -> str | None:
    if isinstance(extractor, str):
        return _dig(response, extractor)
    return extractor(response)


# ------------------------------------------------------------------ Personalize shapes


def personalize_resource(response: Response) -> Mapping[str, Any]:
    """The resource in a Personalize ``Describe*`` response (``{"campaign": {...}}``)."""
    found = [
        value
        for key, value in response.items()
        if key != "ResponseMetadata" and isinstance(value, Mapping)
    ]
    return found[0] if len(found) == 1 else {}


def personalize_status(response: Response) -> str | None:
    """``status`` of the resource in a Personalize ``Describe*`` response."""
    status = personalize_resource(response).get("status")
    return None if status is None else str(status)


def personalize_reason(response: Response) -> str | None:
    """``failureReason`` of the resource in a Personalize ``Describe*`` response."""
    reason = personalize_resource(response).get("failureReason")
    return None if reason is None else str(reason)


def _latest_update(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    for key, value in resource.items():
        if key.startswith("latest") and key.endswith("Update") and isinstance(value, Mapping):
            return value
    return {}


def personalize_update_status(response: Response) -> str | None:
    """Status of an update (campaign, solution, recommender).

    The resource's own status while it is not ``ACTIVE`` (``UPDATE IN_PROGRESS``),
    else the status of its ``latest*Update`` (``CREATE IN_PROGRESS`` -> ``ACTIVE``
    | ``CREATE FAILED``, botocore's ``CampaignUpdateSummary``).
    """
    resource = personalize_resource(response)
    status = resource.get("status")
    if status is not None and normalize_status(str(status)) != "ACTIVE":
        return str(status)
    update_status = _latest_update(resource).get("status")
    if update_status is not None:
        return str(update_status)
    return None if status is None else str(status)


def personalize_update_reason(response: Response) -> str | None:
    """``failureReason`` of the latest update, else of the resource."""
    resource = personalize_resource(response)
    reason = _latest_update(resource).get("failureReason") or resource.get("failureReason")
    return None if reason is None else str(reason)


def personalize_not_found(exc: BaseException) -> bool:
    """``Describe*`` of a deleted Personalize resource raises ``ResourceNotFoundException``."""
    return error_code(exc) == "ResourceNotFoundException"


def sagemaker_not_found(exc: BaseException) -> bool:
    """``DescribeEndpoint`` of a deleted endpoint raises ``ValidationException``.

    botocore's ``EndpointDeleted`` waiter accepts any ``ValidationException`` as success.
    """
    return error_code(exc) == "ValidationException"


# ------------------------------------------------------------------ specs


@attrs.frozen(kw_only=True)
class WaitSpec:
    """What to read from a ``Describe*`` response and which statuses end the wait.

    Args:
        status: Dotted path or function giving the status.
        reason: Dotted path or function giving the failure reason.
        ok: Statuses that end the wait successfully (checked first).
        failed: Statuses that raise :class:`~personakit.errors.ResourceFailedError`.
        failed_suffix: A status ending in this (``"FAILED"``) is failed too; ``None``
            to rely on ``failed`` alone.
        stopped: Statuses that raise :class:`~personakit.errors.ResourceStoppedError`.
        gone: Tells whether an exception from ``Describe*`` means the resource is
            gone (deletion waits); ``None`` lets every exception propagate.
        name: A name for logs and reprs.

    Specs are frozen; derive one with ``attrs.evolve(PERSONALIZE_CREATE, ok={...})``.
    """

    status: Extractor
    reason: Extractor
    ok: frozenset[str] = attrs.field(converter=_normalized)
    failed: frozenset[str] = attrs.field(default=frozenset(), converter=_normalized)
    failed_suffix: str | None = "FAILED"
    stopped: frozenset[str] = attrs.field(default=frozenset(), converter=_normalized)
    gone: Callable[[BaseException], bool] | None = None
    name: str = ""

    def verdict(self, status: str | None) -> Verdict:
        """Whether ``status`` ends the wait, and how."""
        if status is None:
            return "pending"
        norm = normalize_status(status)
        if norm in self.ok:
            return "ok"
        if norm in self.failed or (
            self.failed_suffix is not None and norm.endswith(normalize_status(self.failed_suffix))
        ):
            return "failed"
        if norm in self.stopped:
            return "stopped"
        return "pending"

    def status_of(self, response: Response) -> str | None:
        """The status in a ``Describe*`` response."""
        return _extract(self.status, response)

    def reason_of(self, response: Response) -> str | None:
        """The failure reason in a ``Describe*`` response."""
        return _extract(self.reason, response)


#: Any Personalize resource or job until ``ACTIVE`` (the statuses of
#: https://docs.aws.amazon.com/personalize/latest/dg/API_DescribeSolutionVersion.html
#: and the other Describe* pages); ``CREATE STOPPED``
#: raises ``ResourceStoppedError``. Batch jobs walk ``PENDING`` -> ``IN PROGRESS`` -> ``ACTIVE``.
PERSONALIZE_CREATE = WaitSpec(
    name="personalize-create",
    status=personalize_status,
    reason=personalize_reason,
    ok={"ACTIVE"},
    stopped={"CREATE STOPPED"},
)
#: Campaign, solution or recommender updates: the resource's ``UPDATE ...`` status, then
#: its ``latest*Update`` until ``ACTIVE``.
PERSONALIZE_UPDATE = WaitSpec(
    name="personalize-update",
    status=personalize_update_status,
    reason=personalize_update_reason,
    ok={"ACTIVE"},
)
#: Deletion: ``DELETE PENDING`` -> ``DELETE IN_PROGRESS`` -> ``ResourceNotFoundException``.
#: Only ``DELETE FAILED`` fails: a first describe may still show the old ``CREATE FAILED``.
PERSONALIZE_DELETE = WaitSpec(
    name="personalize-delete",
    status=personalize_status,
    reason=personalize_reason,
    ok=(),
    failed={"DELETE FAILED"},
    failed_suffix=None,
    gone=personalize_not_found,
)
#: Recommender stop: ``STOP PENDING`` -> ``STOP IN_PROGRESS`` -> ``INACTIVE``.
PERSONALIZE_STOP = WaitSpec(
    name="personalize-stop",
    status=personalize_status,
    reason=personalize_reason,
    ok={"INACTIVE"},
)
#: Recommender start: ``START PENDING`` -> ``START IN_PROGRESS`` -> ``ACTIVE``.
PERSONALIZE_START = attrs.evolve(PERSONALIZE_CREATE, name="personalize-start")
#: Data deletion jobs: ``PENDING`` -> ``IN_PROGRESS`` -> ``COMPLETED`` | ``FAILED``.
PERSONALIZE_DATA_DELETION = WaitSpec(
    name="personalize-data-deletion",
    status=personalize_status,
    reason=personalize_reason,
    ok={"COMPLETED"},
)
#: Teardown: wait until nothing is in flight, whatever the outcome (never raises on a
#: terminal status), e.g. import jobs that cannot be deleted, or a stopped training.
PERSONALIZE_SETTLED = WaitSpec(
    name="personalize-settled",
    status=personalize_status,
    reason=personalize_reason,
    ok={"ACTIVE", "CREATE FAILED", "CREATE STOPPED", "INACTIVE", "COMPLETED", "FAILED"},
    failed_suffix=None,
)
#: SageMaker ``DescribeEndpoint`` until ``InService``; ``Failed`` (and
#: ``UpdateRollbackFailed``) raise with ``FailureReason``.
SAGEMAKER_ENDPOINT = WaitSpec(
    name="sagemaker-endpoint",
    status="EndpointStatus",
    reason="FailureReason",
    ok={"InService"},
    failed={"Failed"},
)
#: SageMaker endpoint deletion: ``Deleting`` -> ``ValidationException`` ("Could not find
#: endpoint"); ``Failed`` raises, as in botocore's ``EndpointDeleted`` waiter.
SAGEMAKER_ENDPOINT_DELETE = WaitSpec(
    name="sagemaker-endpoint-delete",
    status="EndpointStatus",
    reason="FailureReason",
    ok=(),
    failed={"Failed"},
    failed_suffix=None,
    gone=sagemaker_not_found,
)


@attrs.frozen
class WaitResult:
    """How a wait ended well.

    Attributes:
        arn: What was waited for.
        outcome: ``"ok"`` (an ``ok`` status) or ``"gone"`` (deleted).
        status: The last status seen (``None`` if none was ever read).
        waited_s: Seconds from the first poll to the end.
        polls: ``Describe*`` calls made (retries inside a poll not counted).
        statuses: Every distinct status seen, in order.
        response: The last ``Describe*`` response (``None`` when gone).
    """

    arn: str
    outcome: Literal["ok", "gone"]
    status: str | None
    waited_s: float
    polls: int
    statuses: tuple[str, ...] = ()
    response: Response | None = attrs.field(default=None, repr=False)


# ------------------------------------------------------------------ progress

#: The phase a wait shows on the progress display, by spec name.
_PHASES = {
    "personalize-create": "create",
    "personalize-update": "update",
    "personalize-delete": "delete",
    "personalize-stop": "stop",
    "personalize-start": "start",
    "personalize-data-deletion": "delete data",
    "personalize-settled": "settle",
    "sagemaker-endpoint": "create",
    "sagemaker-endpoint-delete": "delete",
    "sagemaker-endpoint-settled": "settle",
}


def _operation(
    display: ProgressDisplay | None,
    progress: bool | None,
    *,
    arn: str,
    label: str,
    kind: str,
    phase: str,
    estimate_s: float | None,
    clock: Callable[[], float],
) -> tuple[Operation | None, ProgressDisplay | None]:
    """The wait's line on ``display`` (the session's), or on a display of its own when
    asked (``progress=True``, or ``None`` when interactive and no display is given);
    the second item is a display the wait made and must close."""
    if progress is False:
        return None, None
    owned = None
    if display is None or not display.enabled:
        if not (progress or (display is None and progress is None and interactive())):
            return None, None
        # asked for: on; by default: unless PERSONAKIT_PROGRESS switches it off
        display = owned = ProgressDisplay() if progress else ProgressDisplay.resolve(None)
    op = display.operation(
        label or resource_name(arn), kind=kind, phase=phase, estimate_s=estimate_s, clock=clock
    )
    return op, owned


# ------------------------------------------------------------------ the poller


def _check_args(timeout_s: float, poll_s: float, max_poll_s: float, backoff: float) -> None:
    if not timeout_s >= 0:
        raise ValueError(f"timeout_s must be >= 0, got {timeout_s!r}")
    if not poll_s > 0:
        raise ValueError(f"poll_s must be > 0, got {poll_s!r}")
    if not max_poll_s >= poll_s:
        raise ValueError(f"max_poll_s must be >= poll_s, got {max_poll_s!r} < {poll_s!r}")
    if not backoff >= 1:
        raise ValueError(f"backoff must be >= 1, got {backoff!r}")


def wait_for(
    describe: Callable[[], Response],
    *,
    arn: str,
    timeout_s: float,
    spec: WaitSpec = PERSONALIZE_CREATE,
    timing: Timing | None = None,
    training: bool = False,
    gone: bool = False,
    label: str = "",
    poll_s: float | None = None,
    progress: bool | None = None,
    retrier: Retrier | None = None,
    display: ProgressDisplay | None = None,
    kind: str | None = None,
    estimate_s: float | None = None,
) -> WaitResult:
    """Poll ``describe()`` until ``spec`` says the wait is over.

    Args:
        describe: Sends the ``Describe*`` request, e.g.
            ``lambda: client.describe_solution_version(solutionVersionArn=arn)``.
        arn: What is waited for (ARN or name), for errors, logs and the bar.
        timeout_s: The deadline, in seconds from the first poll.
        spec: Where the status is and which statuses end the wait.
        timing: Polls, backoff, sleep, clock, retries and progress
            (:class:`~personakit.aws.timing.Timing`; default: real time and its defaults;
            ``Timing.simulated()`` in tests).
        training: Poll at the timing's training pace (``train_poll_s``...).
        gone: Wait until ``describe()`` says the resource is gone (``spec`` must have a
            ``gone`` test, as :data:`PERSONALIZE_DELETE`; an ``ok`` status also ends it).
        label: Short name for logs and the progress line (default: the end of ``arn``
            in logs, the name in ``arn`` on the progress line).
        poll_s: First interval between polls, instead of the timing's.
        progress: ``False``: no progress line. With a ``display``, its line is shown
            unless ``False``; without one (or with one switched off), ``True`` shows
            the wait on a display of its own, and ``None`` defers to
            ``timing.progress`` (``None`` there: when stderr is a terminal or in a
            notebook).
        retrier: Runs each ``describe()``; default: the timing's.
        display: The :class:`~personakit.aws.progress.ProgressDisplay` to show the
            wait on: the session's (``session.progress``), so one display shows every
            wait of a session.
        kind: What kind of resource it is on the progress line (default: read from
            ``arn``: ``"solution version"``, ``"dataset group"``...).
        estimate_s: How long this usually takes, shown on the progress line
            (default: how long the same kind and phase took earlier on ``display``).
            The deadline ``timeout_s`` is never shown as one.

    Returns:
        The :class:`WaitResult` (``outcome="ok"``, or ``"gone"`` when ``spec.gone``
        recognised the ``Describe*`` error).

    Raises:
        ResourceFailedError: The resource reached a failed status.
        ResourceStoppedError: The resource reached a stopped status.
        WaitTimeoutError: ``timeout_s`` passed first.
        botocore.exceptions.ClientError: ``describe()`` failed for a reason that is
            neither retryable nor ``spec.gone``.
    """
    if gone and spec.gone is None:
        raise ValueError(f"spec {spec.name or spec!r} cannot tell when a resource is gone")
    timing = timing if timing is not None else Timing()
    max_poll_s = timing.train_max_poll_s if training else timing.max_poll_s
    if poll_s is None:
        poll_s = timing.train_poll_s if training else timing.poll_s
    backoff, sleep, clock = timing.backoff, timing.sleep, timing.clock
    if progress is None and display is None:
        progress = timing.progress
    _check_args(timeout_s, poll_s, max_poll_s, backoff)
    retrier = retrier if retrier is not None else timing.retrier
    given_label, label = label, label or arn.rsplit(":", 1)[-1]
    start = clock()
    deadline = start + timeout_s
    interval = poll_s
    polls = 0
    last: str | None = None
    statuses: list[str] = []
    phase = "train" if training else "delete" if gone else _PHASES.get(spec.name, "wait")
    if kind is None:
        kind = resource_kind(arn) or ("endpoint" if spec.name.startswith("sagemaker-end") else "")
    op, owned = _operation(
        display, progress, arn=arn, label=given_label, kind=kind, phase=phase,
        estimate_s=estimate_s, clock=clock,
    )  # fmt: skip

    def extra(event: str, **more: Any) -> dict[str, Any]:
        return {
            "event": event,
            "arn": arn,
            "label": label,
            "status": last,
            "waited_s": clock() - start,
            "polls": polls,
            "spec": spec.name,
            **more,
        }

    try:
        while True:
            polls += 1
            response: Response | None = None
            try:
                response = retrier.with_deadline(deadline - clock()).call(describe)
            except Exception as exc:
                if spec.gone is not None and spec.gone(exc):
                    waited = clock() - start
                    logger.info(
                        "%s is gone after %.0fs", label, waited, extra=extra("personakit.wait.done")
                    )
                    if op is not None:
                        op.end("gone")
                    return WaitResult(arn, "gone", last, waited, polls, tuple(statuses))
                if not classify(exc).retryable:
                    raise
                # The retrier gave up on throttling within this poll: a missed poll, and
                # the wait goes on until its own deadline.
            if response is not None:
                status = spec.status_of(response)
                if status is not None and status != last:
                    logger.info(
                        "%s: %s -> %s",
                        label,
                        last or "(start)",
                        status,
                        extra=extra("personakit.wait.status", status=status, previous=last),
                    )
                    statuses.append(status)
                    if op is not None and spec.verdict(status) == "pending":
                        op.update(status)
                last = status if status is not None else last
                verdict = spec.verdict(status)
                if verdict == "ok":
                    waited = clock() - start
                    logger.info(
                        "%s is %s after %.0fs",
                        label,
                        status,
                        waited,
                        extra=extra("personakit.wait.done"),
                    )
                    if op is not None:
                        op.end(status)
                    return WaitResult(arn, "ok", status, waited, polls, tuple(statuses), response)
                if verdict in ("failed", "stopped"):
                    assert status is not None
                    reason = spec.reason_of(response)
                    logger.warning(
                        "%s is %s: %s",
                        label,
                        status,
                        reason or "no reason given",
                        extra=extra("personakit.wait.failed", reason=reason),
                    )
                    if op is not None:
                        op.end(status, ok=False)
                    if verdict == "stopped":
                        raise ResourceStoppedError(arn, status, reason)
                    raise ResourceFailedError(arn, status, reason)
            now = clock()
            if now >= deadline:
                logger.warning(
                    "%s: no terminal status after %.0fs (last: %s)",
                    label,
                    now - start,
                    last,
                    extra=extra("personakit.wait.timeout"),
                )
                if op is not None:
                    op.end(f"{last or 'no status'}, deadline passed", ok=False)
                raise WaitTimeoutError(arn, last, now - start)
            step = min(interval, deadline - now)
            sleep(step)
            interval = min(interval * backoff, max_poll_s)
            if op is not None:
                op.update()
    finally:
        if op is not None:
            op.end(ok=False)  # an exception or Ctrl-C: no-op when ended above
        if owned is not None:
            owned.close()
