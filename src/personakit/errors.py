"""Exceptions raised by personakit.

Every exception personakit raises on purpose derives from one root, so
``except personakit.PersonakitError`` catches all of them and nothing else::

    PersonakitError
    ├── ValidationError          bad input, found before anything is uploaded (also a ValueError)
    ├── ConfigurationError       a setting is missing or contradictory (also a ValueError)
    ├── ResourceFailedError      a resource reached a failed state (arn, status, failure_reason)
    │   └── ResourceStoppedError a resource was stopped before it was ready (e.g. CREATE STOPPED)
    ├── WaitTimeoutError         a wait passed its deadline (arn, last_status)
    ├── QuotaExceededError       an AWS quota refused the request (quota, how_to_fix)
    └── BudgetExceededError      creating something would break the CostGuard budget

Errors coming from AWS itself are left as ``botocore.exceptions.ClientError``
unless personakit can add something the user can act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from personakit._report import Problem

__all__ = [
    "BudgetExceededError",
    "ConfigurationError",
    "PersonakitError",
    "QuotaExceededError",
    "ResourceFailedError",
    "ResourceStoppedError",
    "ValidationError",
    "WaitTimeoutError",
]


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


class WaitTimeoutError(PersonakitError, TimeoutError):
    """A wait passed its deadline before the resource reached a terminal state."""

    def __init__(self, arn: str, last_status: str | None, waited_s: float) -> None:
        status = last_status or "unknown"
        super().__init__(f"gave up waiting for {arn} after {waited_s:.0f}s; last status: {status}")
        self.arn = arn
        self.last_status = last_status
        self.waited_s = waited_s


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
    """Creating a resource would push projected spend past the budget."""
