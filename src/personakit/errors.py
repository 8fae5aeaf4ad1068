"""Exceptions raised by personakit.

Every exception personakit raises on purpose derives from one root, so
``except personakit.PersonakitError`` catches all of them and nothing else::

    PersonakitError
    ├── ValidationError          bad input, found before anything is uploaded (also a ValueError)
    ├── ConfigurationError       a setting is missing or contradictory (also a ValueError)
    ├── ResourceFailedError      a resource reached a failed state (arn, status, failure_reason)
    ├── WaitTimeoutError         a wait passed its deadline (arn, last_status)
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
    "ResourceFailedError",
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


class WaitTimeoutError(PersonakitError, TimeoutError):
    """A wait passed its deadline before the resource reached a terminal state."""

    def __init__(self, arn: str, last_status: str | None, waited_s: float) -> None:
        status = last_status or "unknown"
        super().__init__(f"gave up waiting for {arn} after {waited_s:.0f}s; last status: {status}")
        self.arn = arn
        self.last_status = last_status
        self.waited_s = waited_s


class BudgetExceededError(PersonakitError):
    """Creating a resource would push projected spend past the budget."""
