"""Exceptions raised by personakit.

Every exception personakit raises on purpose derives from one root, so
``except personakit.PersonakitError`` catches all of them and nothing else::

    PersonakitError
    ├── ValidationError              bad input, found before any upload (also a ValueError)
    ├── ConfigurationError           a setting is missing or contradictory (also a ValueError)
    │   ├── ModelNotFoundError       no such JumpStart model id or version (suggestions)
    │   ├── UnsupportedInstanceError the model cannot run on that instance type (supported)
    │   └── EulaRequiredError        a gated model needs accept_eula=True (eula_url)
    ├── ResourceFailedError          a resource reached a failed state (arn, status, failure_reason)
    │   ├── ResourceStoppedError     a resource was stopped before it was ready (CREATE STOPPED)
    │   └── EndpointFailedError      a SageMaker endpoint reached Failed (hint, log_group)
    ├── WaitTimeoutError             a wait passed its deadline (arn, last_status)
    ├── ResourceStateError           a resource is not in a state the call needs (arn, status)
    ├── SessionClosedError           the session (its local engine) was closed (also a RuntimeError)
    ├── QuotaExceededError           an AWS quota refused the request (quota, how_to_fix)
    ├── BudgetExceededError          creating something would break the CostGuard budget
    ├── CredentialsError             no AWS credentials found (how to configure them)
    ├── TeardownError                teardown could not delete everything (errors, leftovers)
    ├── CatalogUnavailableError      the JumpStart catalog could not be read, nothing cached fits
    ├── DatasetUnavailableError      a public data set could not be downloaded or checked (url)
    └── ModelResponseError           a model container answered with an error (detail, status)

Errors coming from AWS itself are left as ``botocore.exceptions.ClientError``
unless personakit can add something the user can act on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import attrs

__all__ = [
    "BudgetExceededError",
    "CatalogUnavailableError",
    "ConfigurationError",
    "CredentialsError",
    "DatasetUnavailableError",
    "EndpointFailedError",
    "EulaRequiredError",
    "ModelNotFoundError",
    "ModelResponseError",
    "PersonakitError",
    "Problem",
    "QuotaExceededError",
    "ResourceFailedError",
    "ResourceStateError",
    "ResourceStoppedError",
    "SessionClosedError",
    "Severity",
    "TeardownError",
    "UnsupportedInstanceError",
    "ValidationError",
    "WaitTimeoutError",
]


Severity = Literal["error", "warning"]

_MAX_EXAMPLES = 5


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _int_tuple(values: Iterable[int]) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def _str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


@attrs.frozen
class Problem:
    """One broken rule.

    Attributes:
        severity: ``"error"`` (Personalize would reject or fail the import or the
            training) or ``"warning"`` (accepted, but probably not what you want).
        rule: a stable identifier, e.g. ``"timestamp-milliseconds"``; safe to match on.
        message: what is wrong, in words.
        column: the column (or schema field) concerned, if any.
        count: how many rows (or fields) break the rule.
        rows: positions (0-based) of a few example rows.
        values: the offending values of those rows, as short reprs.
        fix: what to do about it, when there is a clear answer.
    """

    severity: Severity
    rule: str
    message: str
    column: str | None = None
    count: int = 0
    rows: tuple[int, ...] = attrs.field(default=(), converter=_int_tuple)
    values: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    fix: str | None = None

    @classmethod
    def with_examples(
        cls,
        severity: Severity,
        rule: str,
        message: str,
        *,
        column: str | None = None,
        count: int = 0,
        rows: Iterable[int] = (),
        values: Iterable[object] = (),
        fix: str | None = None,
    ) -> Problem:
        """Build a problem keeping at most five example rows and values."""
        return cls(
            severity,
            rule,
            message,
            column=column,
            count=count,
            rows=tuple(int(r) for r in list(rows)[:_MAX_EXAMPLES]),
            values=tuple(_short(v) for v in list(values)[:_MAX_EXAMPLES]),
            fix=fix,
        )

    def __str__(self) -> str:
        where = f"[{self.column}] " if self.column else ""
        text = f"{self.severity.upper()} {self.rule}: {where}{self.message}"
        if self.rows and len(self.values) == len(self.rows):
            pairs = zip(self.rows, self.values, strict=True)
            text += " (e.g. " + ", ".join(f"row {r}: {v}" for r, v in pairs) + ")"
        elif self.rows:
            text += " (e.g. rows " + ", ".join(map(str, self.rows)) + ")"
        elif self.values:
            text += f" (e.g. {', '.join(self.values)})"
        if self.fix:
            text += f"\n    fix: {self.fix}"
        return text


class PersonakitError(Exception):
    """Root of every exception personakit raises on purpose."""


class ValidationError(PersonakitError, ValueError):
    """Input data or a schema breaks one or more of Personalize's rules.

    ``problems`` lists every problem found (column, rule, count, example rows),
    not only the first, so one run shows everything there is to fix.
    """

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[Problem, ...] = tuple(problems)


class ConfigurationError(PersonakitError, ValueError):
    """A setting personakit needs is missing or contradicts another one."""


class ResourceFailedError(PersonakitError):
    """A resource reached a failed terminal state, e.g. ``CREATE FAILED``."""

    def __init__(self, arn: str, status: str, failure_reason: str | None = None) -> None:
        reason = f": {failure_reason}" if failure_reason else ""
        super().__init__(f"{arn} is {status}{reason}")
        self.arn = arn
        self.status = status
        self.failure_reason = failure_reason


class ResourceStoppedError(ResourceFailedError):
    """A resource was stopped before it was ready (a solution version in ``CREATE STOPPED``)."""


class EndpointFailedError(ResourceFailedError):
    """A SageMaker endpoint reached ``Failed``; ``hint`` says what usually causes the
    reason given, ``log_group`` is where the container logged (CloudWatch)."""

    def __init__(
        self,
        arn: str,
        status: str,
        failure_reason: str | None,
        *,
        endpoint_name: str,
        hint: str = "",
    ) -> None:
        super().__init__(arn, status, failure_reason)
        self.endpoint_name = endpoint_name
        self.log_group = f"/aws/sagemaker/Endpoints/{endpoint_name}"
        self.hint = hint
        extra = f" Hint: {hint}" if hint else ""
        self.args = (f"{self.args[0]}.{extra} Container logs: CloudWatch {self.log_group}",)


class WaitTimeoutError(PersonakitError, TimeoutError):
    """A wait passed its deadline before the resource reached a terminal state."""

    def __init__(self, arn: str, last_status: str | None, waited_s: float) -> None:
        status = last_status or "unknown"
        super().__init__(f"gave up waiting for {arn} after {waited_s:.0f}s; last status: {status}")
        self.arn = arn
        self.last_status = last_status
        self.waited_s = waited_s


class ResourceStateError(PersonakitError):
    """A resource is not in the state the call needs: a solution version still training
    (or failed) when deployed, a campaign already deleted when asked for recommendations.

    ``arn`` is the resource, ``status`` its status as last known (``"CREATE IN_PROGRESS"``,
    ``"DELETED"``); the message says what to do.
    """

    def __init__(self, message: str, *, arn: str, status: str | None = None) -> None:
        super().__init__(message)
        self.arn = arn
        self.status = status


class SessionClosedError(PersonakitError, RuntimeError):
    """A call through a session (or a local engine) that was closed: ``session.close()``
    ran, or its ``with`` block ended. Open a new session, or work inside the block."""


class QuotaExceededError(PersonakitError):
    """An AWS service quota refused the request, and waiting will not help (or did not, in time).

    ``quota`` names the quota (e.g. "active campaigns per dataset group (default 5,
    adjustable)"), ``how_to_fix`` says what to do about it, ``operation`` and
    ``code`` are AWS's operation name and error code, ``detail`` is AWS's message.
    The original ``botocore.exceptions.ClientError`` is the ``__cause__``.
    """

    def __init__(
        self,
        quota: str,
        how_to_fix: str,
        *,
        operation: str = "",
        code: str = "",
        detail: str = "",
    ) -> None:
        where = f"{operation}: " if operation else ""
        said = f" [{code}: {detail}]" if code or detail else ""
        super().__init__(f"{where}quota exceeded: {quota}{said}. How to fix: {how_to_fix}")
        self.quota = quota
        self.how_to_fix = how_to_fix
        self.operation = operation
        self.code = code
        self.detail = detail


class BudgetExceededError(PersonakitError):
    """Creating a resource would push projected spend past the budget.

    The numbers behind the refusal, when the guard knows them: ``what`` was refused
    (``"2 x ml.g5.2xlarge"``), ``projected_usd`` is the spend it would lead to (spent
    + what already runs + the new resource, over the guard's horizon), ``budget_usd``
    the budget, ``remaining_usd`` what is left of it before the new resource
    (negative when what already runs overshoots).
    """

    def __init__(
        self,
        message: str,
        *,
        what: str | None = None,
        projected_usd: float | None = None,
        budget_usd: float | None = None,
        remaining_usd: float | None = None,
    ) -> None:
        super().__init__(message)
        self.what = what
        self.projected_usd = projected_usd
        self.budget_usd = budget_usd
        self.remaining_usd = remaining_usd


class CredentialsError(PersonakitError):
    """No AWS credentials were found for a session on AWS; the message says how to set them.

    Not a :class:`ConfigurationError`: nothing personakit was given is wrong, the
    environment lacks credentials. botocore's ``NoCredentialsError`` is the
    ``__cause__`` when it was raised.
    """


class TeardownError(PersonakitError):
    """Teardown could not delete everything; ``leftovers`` lists what is still there.

    ``errors`` pairs each failed resource (ARN or name) with its exception. Leftovers
    carry the ``personakit:run`` tag, so ``personakit sweep`` can find them later;
    ``how_to_fix`` says how to delete them by hand.
    """

    def __init__(
        self,
        errors: Sequence[tuple[str, BaseException]],
        leftovers: Sequence[str],
        *,
        how_to_fix: str = "delete them by hand or with `personakit sweep`",
    ) -> None:
        lines = "\n".join(f"  - {arn}: {exc}" for arn, exc in errors)
        super().__init__(
            f"teardown left {len(leftovers)} resource(s) behind: {', '.join(leftovers)}\n"
            f"{lines}\n{how_to_fix}"
        )
        self.errors: tuple[tuple[str, BaseException], ...] = tuple(errors)
        self.leftovers: tuple[str, ...] = tuple(leftovers)
        self.how_to_fix = how_to_fix


class ModelNotFoundError(ConfigurationError):
    """No such JumpStart model id, or no version of it matches the one asked for."""

    def __init__(
        self,
        message: str,
        *,
        model_id: str,
        version: str | None = None,
        suggestions: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.model_id = model_id
        self.version = version
        self.suggestions = tuple(suggestions)


class UnsupportedInstanceError(ConfigurationError):
    """The model cannot be deployed on this instance type in this region (or at all,
    from this spec); ``supported`` lists the instance types the spec offers."""

    def __init__(self, message: str, *, supported: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.supported = tuple(supported)


class EulaRequiredError(ConfigurationError):
    """A gated model needs ``accept_eula=True``; ``eula_url`` is the license to read first."""

    def __init__(self, model_id: str, eula_url: str | None) -> None:
        terms = f" See {eula_url} for terms of use." if eula_url else ""
        super().__init__(
            f"Model {model_id!r} requires accepting its end-user license agreement (EULA).{terms} "
            "Pass accept_eula=True to accept it; SageMaker then reads the gated weights."
        )
        self.model_id = model_id
        self.eula_url = eula_url


class CatalogUnavailableError(PersonakitError):
    """The JumpStart bucket could not be read and nothing cached or in the snapshot fits."""


class ModelResponseError(PersonakitError):
    """The model container answered with an error, or with a body personakit cannot read.

    ``detail`` is the container's message (TGI's ``{"error": ..., "error_type": ...}``,
    SageMaker's ``ModelError`` text); ``endpoint_name`` and ``log_group`` say where
    to look (the container logs to CloudWatch ``/aws/sagemaker/Endpoints/<name>``).
    """

    def __init__(
        self,
        message: str,
        *,
        detail: str = "",
        endpoint_name: str | None = None,
        status: int | None = None,
    ) -> None:
        self.detail = detail
        self.endpoint_name = endpoint_name
        self.status = status
        self.log_group = f"/aws/sagemaker/Endpoints/{endpoint_name}" if endpoint_name else None
        where = f" (container logs: CloudWatch {self.log_group})" if self.log_group else ""
        super().__init__(f"{message}{where}")


class DatasetUnavailableError(PersonakitError, OSError):
    """A public data set could not be downloaded, or the archive failed its check.

    ``url`` is where it was looked for; the message says what to do (e.g. download
    the zip by hand and pass ``url="file:///path/to/ml-1m.zip"``).
    """

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url
