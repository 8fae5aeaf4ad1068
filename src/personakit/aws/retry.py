"""Retries for AWS calls: bounded, jittered, chosen by error code and message.

Every control-plane call personakit makes (``personalize``, ``sagemaker``,
``s3``, ``pricing``) goes through :class:`Retrier`, which wraps the call in a
tenacity loop built per call from a :class:`RetryPolicy`. Nothing retries
forever: each class of error has an attempt budget and a deadline.

What is retried (``docs/waits-and-retries.md`` has the table with sources):

* **Throttling** (``ThrottlingException``, ``TooManyRequestsException``,
  ``Throttling``, ``RequestLimitExceeded``, ``ProvisionedThroughputExceededException``,
  HTTP 429, and a ``LimitExceededException`` whose message speaks of a request
  *rate*) and **transient** failures (HTTP 500/502/503/504, ``ServiceUnavailable``,
  ``InternalServerError``, ``RequestTimeout``, botocore's connection and read
  timeout errors): exponential backoff with "equal jitter" (a wait is drawn
  uniformly from ``[c/2, c]`` where ``c = min(cap_s, base_s * 2**(n-1))``),
  at most ``max_attempts`` attempts and ``deadline_s`` seconds.
* **Pending-jobs quota**: Personalize's ``LimitExceededException`` "More than 5
  resources with PENDING or IN_PROGRESS status"
  (https://docs.aws.amazon.com/personalize/latest/dg/limits.html) drains by
  itself as running jobs finish, so it gets the same backoff with minute-scale
  numbers (``quota_base_s``, ``quota_cap_s``) until ``quota_deadline_s``
  (30 minutes by default); when that passes it is raised as
  :class:`~personakit.errors.QuotaExceededError`.

What is not retried:

* Other quota errors (``LimitExceededException`` for ACTIVE counts, e.g. "More
  than 5 resources in ACTIVE state" for campaigns; SageMaker's
  ``ResourceLimitExceeded``) never drain by themselves: they are raised at once
  as :class:`~personakit.errors.QuotaExceededError`, which names the quota AWS's
  message names (:func:`quota_error`) and says how to fix it; the ``ClientError``
  is its ``__cause__``.
* Everything else (``InvalidInputException``, ``ValidationException``,
  ``ResourceNotFoundException``, ``ResourceAlreadyExistsException``,
  ``ResourceInUseException``, ``AccessDenied*``, credentials and parameter
  errors) is re-raised unchanged at the first attempt. ``ResourceInUseException``
  means "wait for a dependent resource", which the resource classes do by
  polling the dependent (``_wait``), not by blind retries.

Interplay with botocore's own retries (``botocore/retries/standard.py``,
``botocore/data/_retry.json``, botocore 1.44): the default ``retry_mode`` is
``standard`` with 3 attempts, and standard mode counts ``LimitExceededException``
as a throttling code, so a quota error would be retried twice, within
milliseconds, before personakit ever saw it; ``legacy`` mode retries only HTTP
509 for "limit exceeded". Retries of the two layers multiply. So
``Session.aws`` builds control-plane clients with
``Config(retries={"mode": "standard", "total_max_attempts": 1})`` (merged into
the caller's config, not replacing it) and lets this module decide; runtime
clients (``personalize-runtime``, ``sagemaker-runtime``) keep botocore's
standard retries, because a recommendation request is latency-bound and is not
wrapped here. A caller who configures more botocore attempts on a control-plane
client gets botocore's retries inside each of personakit's attempts.

A retried ``Create*`` whose first attempt reached AWS but whose response was
lost (read timeout, 5xx) may come back as ``ResourceAlreadyExistsException``:
Personalize and SageMaker names are unique, so nothing is created twice, and the
resource classes adopt the existing resource. They also look for it before
resending (``personakit.personalize.base.create_or_adopt``), which is what keeps
a ``CreateSolutionVersion``, whose ARN is not made from a name, from starting a
second training.

Every retry is logged at WARNING on ``personakit.aws.retry`` with
``extra={"event": "personakit.retry", "operation", "code", "kind", "attempt",
"wait_s"}``; giving up is logged once with ``event="personakit.retry.giveup"``.
``sleep``, ``clock`` and the random source are injectable, so tests run in no
time and can assert every wait.
"""

from __future__ import annotations

import enum
import functools
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

import attrs
import tenacity
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from personakit.errors import QuotaExceededError
from personakit.rules.facts import DEFAULT_QUOTAS as _Q

__all__ = [
    "DEFAULT_POLICY",
    "NO_RETRY",
    "QUOTAS",
    "ErrorKind",
    "Quota",
    "Retrier",
    "RetryPolicy",
    "call",
    "classify",
    "error_code",
    "named_quota",
    "quota_error",
]

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: Error codes that mean "slow down" (botocore ``ThrottledRetryableChecker``'s
#: union, without ``LimitExceededException``, which is classified by message).
THROTTLING_CODES: frozenset[str] = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "RequestThrottled",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "SlowDown",
        "EC2ThrottledException",
    }
)
#: Error codes of server-side hiccups (botocore ``TransientRetryableChecker`` plus
#: the 5xx codes AWS services send).
TRANSIENT_CODES: frozenset[str] = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerError",
        "InternalServerException",
        "InternalFailure",
        "InternalError",
    }
)
#: Error codes of quota refusals; which of them drain by themselves is decided by message.
QUOTA_CODES: frozenset[str] = frozenset(
    {"LimitExceededException", "ResourceLimitExceeded", "ServiceQuotaExceededException"}
)
THROTTLING_STATUS: frozenset[int] = frozenset({429})
TRANSIENT_STATUS: frozenset[int] = frozenset({500, 502, 503, 504})

#: "More than 5 resources with PENDING or IN_PROGRESS status" and its relatives:
#: a count of unfinished jobs, which drains as they finish.
_PENDING_RE = re.compile(r"\bpending\b|\bin[ _]progress\b", re.IGNORECASE)
#: A LimitExceededException about request rate (its modeled documentation) is throttling.
_RATE_RE = re.compile(
    r"rate exceeded|requests? per second|too many requests|throttl|request rate", re.IGNORECASE
)
#: SageMaker: "The account-level service limit 'ml.g5.2xlarge for endpoint usage' is 0 ..."
_SAGEMAKER_LIMIT_RE = re.compile(r"service limit '([^']+)'")


class ErrorKind(enum.Enum):
    """How an exception from an AWS call is handled."""

    THROTTLED = "throttled"
    """Slow down and retry (short backoff)."""
    TRANSIENT = "transient"
    """Server or network hiccup: retry (short backoff)."""
    PENDING_QUOTA = "pending-quota"
    """Too many unfinished jobs: retry with a long backoff until ``quota_deadline_s``."""
    QUOTA = "quota"
    """A quota that does not drain by itself: raise ``QuotaExceededError`` at once."""
    FATAL = "fatal"
    """Anything else: re-raise at once."""

    @property
    def retryable(self) -> bool:
        """Whether errors of this kind are retried."""
        return self in (ErrorKind.THROTTLED, ErrorKind.TRANSIENT, ErrorKind.PENDING_QUOTA)


def error_code(exc: BaseException) -> str | None:
    """AWS's error code of a ``ClientError`` (``None`` for anything else)."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message") or "")


def _http_status(exc: ClientError) -> int | None:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


def classify(exc: BaseException) -> ErrorKind:
    """Decide how an exception from an AWS call is handled.

    ``ClientError`` is classified by error code, then (for ``LimitExceededException``)
    by message, then by HTTP status; botocore's connection and HTTP client errors
    (including connect and read timeouts) are transient; anything else is fatal.
    """
    if isinstance(exc, ClientError):
        code = error_code(exc) or ""
        if code in THROTTLING_CODES:
            return ErrorKind.THROTTLED
        if code in TRANSIENT_CODES:
            return ErrorKind.TRANSIENT
        if code in QUOTA_CODES:
            message = _message(exc)
            if _PENDING_RE.search(message):
                return ErrorKind.PENDING_QUOTA
            if _RATE_RE.search(message):
                return ErrorKind.THROTTLED
            return ErrorKind.QUOTA
        status = _http_status(exc)
        if status in THROTTLING_STATUS:
            return ErrorKind.THROTTLED
        if status in TRANSIENT_STATUS:
            return ErrorKind.TRANSIENT
        return ErrorKind.FATAL
    if isinstance(exc, BotocoreConnectionError | HTTPClientError):
        return ErrorKind.TRANSIENT
    return ErrorKind.FATAL


# ------------------------------------------------------------------ quotas


@attrs.frozen
class Quota:
    """A quota behind a ``LimitExceededException``: its name and what to do about it.

    ``kind`` is ``"pending"`` for a count of unfinished jobs (it drains by itself) and
    ``"count"`` for a count of resources that exist.
    """

    name: str
    how_to_fix: str
    kind: str = "count"


_MORE = "request an increase in the Service Quotas console (Amazon Personalize)"
_LEFTOVERS = "`personakit sweep` lists leftovers of earlier runs"

#: Quotas by the operation that hits them (https://docs.aws.amazon.com/personalize/latest/dg/limits.html).
QUOTAS: Mapping[str, Quota] = {
    "CreateCampaign": Quota(
        f"active campaigns per dataset group (default {_Q['CreateCampaign']}, adjustable)",
        f"delete campaigns you no longer use (they bill by the hour; {_LEFTOVERS}) or {_MORE}",
    ),
    "CreateDatasetGroup": Quota(
        f"active dataset groups per region (default {_Q['CreateDatasetGroup']}, adjustable)",
        f"delete dataset groups you no longer use ({_LEFTOVERS}) or {_MORE}",
    ),
    "CreateSolution": Quota(
        f"active solutions per dataset group (default {_Q['CreateSolution']}, adjustable)",
        f"delete solutions you no longer use or {_MORE}",
    ),
    "CreateRecommender": Quota(
        f"recommenders per dataset group (default {_Q['CreateRecommender']})",
        f"delete recommenders you no longer use ({_LEFTOVERS}) or {_MORE}",
    ),
    "CreateFilter": Quota(
        f"filters per dataset group (default {_Q['CreateFilter']}, adjustable)",
        f"delete filters you no longer use or {_MORE}",
    ),
    "CreateSchema": Quota(
        f"active schemas per region (default {_Q['CreateSchema']})",
        "delete schemas no dataset uses any more (DeleteSchema)",
    ),
    "CreateEventTracker": Quota(
        f"event trackers per dataset group ({_Q['CreateEventTracker']})",
        "reuse the dataset group's event tracker (ListEventTrackers) or delete it first",
    ),
    "CreateMetricAttribution": Quota(
        f"metric attributions per dataset group ({_Q['CreateMetricAttribution']})",
        "update the existing metric attribution or delete it first",
    ),
    "CreateDatasetImportJob": Quota(
        "pending or in-progress dataset import jobs per region "
        f"({_Q['CreateDatasetImportJob']}, not adjustable)",
        "wait for running import jobs to finish (ListDatasetImportJobs), or allow a longer "
        "RetryPolicy.quota_deadline_s",
        kind="pending",
    ),
    "CreateSolutionVersion": Quota(
        "pending or in-progress solution versions per region "
        f"(default {_Q['CreateSolutionVersion']}, adjustable)",
        f"wait for running trainings to finish, stop the ones you do not need, or {_MORE}",
        kind="pending",
    ),
    "CreateBatchInferenceJob": Quota(
        "concurrent batch inference jobs per region "
        f"(default {_Q['CreateBatchInferenceJob']}, adjustable)",
        f"wait for running batch inference jobs to finish or {_MORE}",
        kind="pending",
    ),
    "CreateBatchSegmentJob": Quota(
        f"concurrent batch segment jobs per region (default {_Q['CreateBatchSegmentJob']})",
        "wait for running batch segment jobs to finish",
        kind="pending",
    ),
    "CreateDataDeletionJob": Quota(
        "PENDING data deletion jobs per dataset group (5)",
        "wait for pending data deletion jobs to finish (they can take a day)",
        kind="pending",
    ),
}
_SAGEMAKER_FIX = (
    "request an increase for this quota in the Service Quotas console (Amazon SageMaker), "
    "or choose another instance type (CostGuard.advise lists those that fit)"
)
_FALLBACK = Quota(
    "a service quota",
    "free capacity by deleting resources you no longer use, or request an increase in the "
    "Service Quotas console; AWS's message names the quota",
)


#: "More than 5 resources with PENDING or IN_PROGRESS status", "Cannot create a
#: campaign. More than 5 resources in ACTIVE state": the count and what is counted.
_MORE_THAN_RE = re.compile(
    r"\bmore than (\d+) ([A-Za-z][A-Za-z -]*?)(?= with | in | exist|[.,;:]|$)", re.IGNORECASE
)
_ACTIVE_RE = re.compile(r"\bACTIVE\b")
_PENDING_FIX = (
    "wait for the resources still being created or run to finish (their List* calls "
    "show their status; `personakit sweep` lists leftovers of earlier runs), or allow a "
    "longer RetryPolicy.quota_deadline_s; the quotas are listed on "
    "https://docs.aws.amazon.com/personalize/latest/dg/limits.html"
)
_COUNT_FIX = (
    f"delete resources you no longer use ({_LEFTOVERS}) or {_MORE}; the quotas are "
    "listed on https://docs.aws.amazon.com/personalize/latest/dg/limits.html"
)


def named_quota(message: str) -> Quota | None:
    """The quota AWS's ``LimitExceededException`` message names, or None when it names none.

    "More than 5 resources with PENDING or IN_PROGRESS status" names a pending-jobs
    quota (``kind="pending"``); "More than 5 resources in ACTIVE state" or "More than
    10 filters exist" a count of resources (``kind="count"``).
    """
    more = _MORE_THAN_RE.search(message)
    what = more.group(2).strip() if more else "resources"
    most = f" (at most {more.group(1)}, AWS says)" if more else ""
    if _PENDING_RE.search(message):
        return Quota(f"{what} with PENDING or IN_PROGRESS status{most}", _PENDING_FIX, "pending")
    if more is None:
        return None
    state = " in ACTIVE state" if _ACTIVE_RE.search(message) else ""
    return Quota(f"{what}{state}{most}", _COUNT_FIX)


def _counts_same(message: str, usual: Quota) -> bool:
    """Whether what the message counts ("resources", "filters") fits the usual quota."""
    more = _MORE_THAN_RE.search(message)
    what = more.group(2).strip().lower() if more else "resources"
    return what == "resources" or what.rstrip("s") in usual.name.lower()


def quota_error(exc: ClientError, *, waited_s: float | None = None) -> QuotaExceededError:
    """The :class:`~personakit.errors.QuotaExceededError` for a quota ``ClientError``.

    The quota is the one AWS's message names (:func:`named_quota`); the operation's
    usual quota (:data:`QUOTAS`) is used when the message names none, or names one
    of the same kind (it says more: the default, whether it is adjustable). A
    pending-jobs limit met by ``CreateDatasetGroup`` is reported as that, not as the
    dataset-group quota. ``waited_s`` is how long a pending-jobs quota was waited
    out before giving up.
    """
    operation = exc.operation_name or ""
    code = error_code(exc) or ""
    message = _message(exc)
    usual = QUOTAS.get(operation)
    named = named_quota(message)
    if named is None:
        quota = usual or _FALLBACK
    elif usual is not None and usual.kind == named.kind and _counts_same(message, usual):
        quota = usual
    else:
        quota = named
    limit = _SAGEMAKER_LIMIT_RE.search(message)
    if limit:
        quota = Quota(f"SageMaker account quota '{limit.group(1)}'", _SAGEMAKER_FIX)
    fix = quota.how_to_fix
    if waited_s is not None:
        fix = f"{fix} (personakit waited {waited_s:.0f}s for it to drain)"
    return QuotaExceededError(quota.name, fix, operation=operation, code=code, detail=message)


# ------------------------------------------------------------------ policy


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _not_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How long and how often to retry; the defaults suit Personalize's control plane.

    Args:
        max_attempts: Attempts in all (the first included) for throttling and
            transient errors.
        base_s: Backoff ceiling of the first throttling retry; doubles per retry.
        cap_s: Largest backoff ceiling for throttling retries.
        deadline_s: Total seconds a call may spend in throttling retries (counted
            from its first attempt).
        quota_base_s: Backoff ceiling of the first pending-jobs-quota retry.
        quota_cap_s: Largest backoff ceiling for pending-jobs-quota retries.
        quota_deadline_s: Total seconds a call may wait for a pending-jobs quota to
            drain; once a call has seen that error, this deadline also bounds its
            throttling retries.

    A wait is drawn uniformly from ``[c/2, c]`` with ``c = min(cap, base * 2**(n-1))``
    for the ``n``-th retry of the kind, and never reaches past the deadline.
    """

    max_attempts: int = attrs.field(default=8, validator=attrs.validators.ge(1))
    base_s: float = attrs.field(default=1.0, validator=_positive)
    cap_s: float = attrs.field(default=20.0, validator=_positive)
    deadline_s: float = attrs.field(default=120.0, validator=_not_negative)
    quota_base_s: float = attrs.field(default=30.0, validator=_positive)
    quota_cap_s: float = attrs.field(default=300.0, validator=_positive)
    quota_deadline_s: float = attrs.field(default=1800.0, validator=_not_negative)

    def ceiling(self, kind: ErrorKind, n: int) -> float:
        """The largest wait before the ``n``-th retry (1-based) of an error of ``kind``."""
        if kind is ErrorKind.PENDING_QUOTA:
            base, cap = self.quota_base_s, self.quota_cap_s
        else:
            base, cap = self.base_s, self.cap_s
        return float(min(cap, base * 2 ** min(max(n - 1, 0), 60)))

    def backoff(self, kind: ErrorKind, n: int, u: float) -> float:
        """The wait before the ``n``-th retry, for a uniform draw ``u`` in ``[0, 1]``."""
        ceiling = self.ceiling(kind, n)
        return ceiling / 2 + min(max(u, 0.0), 1.0) * ceiling / 2

    def with_deadline(self, seconds: float) -> RetryPolicy:
        """This policy with both deadlines clamped to ``seconds`` (used inside waits)."""
        seconds = max(seconds, 0.0)
        return attrs.evolve(
            self,
            deadline_s=min(self.deadline_s, seconds),
            quota_deadline_s=min(self.quota_deadline_s, seconds),
        )


#: The policy personakit uses unless told otherwise.
DEFAULT_POLICY = RetryPolicy()
#: One attempt, no waiting (quota errors are still translated).
NO_RETRY = RetryPolicy(max_attempts=1, deadline_s=0.0, quota_deadline_s=0.0)


# ------------------------------------------------------------------ retrier


def _operation(exc: BaseException, fn: Callable[..., Any]) -> str:
    if isinstance(exc, ClientError) and exc.operation_name:
        return str(exc.operation_name)
    return str(getattr(fn, "__name__", None) or type(fn).__name__)


@attrs.define
class _CallState:
    """Bookkeeping of one retried call, shared by the tenacity callbacks."""

    policy: RetryPolicy
    clock: Callable[[], float]
    rng: Callable[[], float]
    fn: Callable[..., Any]
    start: float
    failures: dict[str, int] = attrs.field(factory=dict)
    seen_pending: bool = False
    kind: ErrorKind = ErrorKind.FATAL
    error: BaseException | None = None

    @staticmethod
    def _group(kind: ErrorKind) -> str:
        return "quota" if kind is ErrorKind.PENDING_QUOTA else "transient"

    def on_failure(self, exc: BaseException) -> bool:
        """tenacity ``retry``: record the failure; say whether it is retryable."""
        self.kind = classify(exc)
        self.error = exc
        if self.kind.retryable:
            group = self._group(self.kind)
            self.failures[group] = self.failures.get(group, 0) + 1
            self.seen_pending = self.seen_pending or self.kind is ErrorKind.PENDING_QUOTA
        return self.kind.retryable

    def _limit(self) -> float:
        if self.kind is ErrorKind.PENDING_QUOTA:
            return self.policy.quota_deadline_s
        if self.seen_pending:  # throttled while waiting out a pending-jobs quota
            return max(self.policy.deadline_s, self.policy.quota_deadline_s)
        return self.policy.deadline_s

    def _remaining(self) -> float:
        return self._limit() - (self.clock() - self.start)

    def stop(self, _: tenacity.RetryCallState) -> bool:
        """tenacity ``stop``: out of attempts (throttling) or out of time."""
        out_of_attempts = (
            self.kind is not ErrorKind.PENDING_QUOTA
            and self.failures.get("transient", 0) >= self.policy.max_attempts
        )
        if out_of_attempts or self._remaining() <= 0:
            assert self.error is not None
            logger.warning(
                "%s: giving up after %d attempt(s) and %.1fs: %s",
                _operation(self.error, self.fn),
                sum(self.failures.values()),
                self.clock() - self.start,
                error_code(self.error) or type(self.error).__name__,
                extra={
                    "event": "personakit.retry.giveup",
                    "operation": _operation(self.error, self.fn),
                    "code": error_code(self.error) or type(self.error).__name__,
                    "kind": self.kind.value,
                    "attempt": sum(self.failures.values()),
                    "waited_s": self.clock() - self.start,
                },
            )
            return True
        return False

    def wait(self, _: tenacity.RetryCallState) -> float:
        """tenacity ``wait``: jittered backoff of the kind, clamped to the deadline."""
        n = self.failures.get(self._group(self.kind), 1)
        seconds = self.policy.backoff(self.kind, n, self.rng())
        return max(0.0, min(seconds, self._remaining()))

    def before_sleep(self, state: tenacity.RetryCallState) -> None:
        """tenacity ``before_sleep``: log the retry at WARNING."""
        assert self.error is not None
        seconds = state.next_action.sleep if state.next_action is not None else 0.0
        operation = _operation(self.error, self.fn)
        code = error_code(self.error) or type(self.error).__name__
        logger.warning(
            "%s failed with %s (%s); retry %d in %.1fs",
            operation,
            code,
            self.kind.value,
            state.attempt_number,
            seconds,
            extra={
                "event": "personakit.retry",
                "operation": operation,
                "code": code,
                "kind": self.kind.value,
                "attempt": state.attempt_number,
                "wait_s": seconds,
            },
        )


@attrs.frozen
class Retrier:
    """Runs AWS calls under a :class:`RetryPolicy`.

    Args:
        policy: Budgets and backoff.
        sleep: Called with each wait in seconds (inject a fake in tests).
        clock: Monotonic seconds, used for the deadlines (inject a fake in tests).
        rng: Uniform draws in ``[0, 1)`` for the jitter.

    Example::

        retrier = Retrier(RetryPolicy(quota_deadline_s=3600))
        job = retrier.call(client.create_dataset_import_job, jobName="x", ...)
    """

    policy: RetryPolicy = DEFAULT_POLICY
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: Callable[[], float] = random.random

    def call(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Call ``fn(*args, **kwargs)``, retrying as the policy says.

        Raises:
            QuotaExceededError: A quota refused the call (at once for quotas that
                do not drain, after ``quota_deadline_s`` for pending-jobs quotas).
            botocore.exceptions.ClientError: Any other AWS error, unchanged: at
                once if not retryable, after the last attempt if it is.
        """
        state = _CallState(
            policy=self.policy, clock=self.clock, rng=self.rng, fn=fn, start=self.clock()
        )
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(state.on_failure),
            stop=state.stop,
            wait=state.wait,
            sleep=self.sleep,
            before_sleep=state.before_sleep,
            reraise=True,
        )
        try:
            return retrying(fn, *args, **kwargs)
        except ClientError as exc:
            if state.kind is ErrorKind.QUOTA:
                raise quota_error(exc) from exc
            if state.kind is ErrorKind.PENDING_QUOTA:
                raise quota_error(exc, waited_s=self.clock() - state.start) from exc
            raise

    def wrap(self, fn: Callable[P, T]) -> Callable[P, T]:
        """``fn`` with every call going through :meth:`call` (usable as a decorator)."""

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            return self.call(fn, *args, **kwargs)

        return wrapper

    def with_deadline(self, seconds: float) -> Retrier:
        """This retrier with its deadlines clamped to ``seconds``."""
        return attrs.evolve(self, policy=self.policy.with_deadline(seconds))


def call(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Call ``fn(*args, **kwargs)`` under :data:`DEFAULT_POLICY` with real time."""
    return Retrier().call(fn, *args, **kwargs)
