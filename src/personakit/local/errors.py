"""How the Personalize twins fail: the service's error answers and the jobs' failures.

The functions build the :class:`~personakit.local.twin.TwinError` a request is
answered with, in Personalize's codes and wording
(https://docs.aws.amazon.com/personalize/latest/dg/API_Operations.html lists each
operation's errors); the exceptions are the control plane's own: a job that fails
(its message is the ``failureReason``), a job that was stopped while it ran, and a
filter that cannot be applied.
"""

from __future__ import annotations

from personakit.local.twin import TwinError

__all__ = [
    "FilterUnusable",
    "JobFailed",
    "Stopped",
    "exists",
    "in_use",
    "invalid",
    "limit",
    "not_found",
]


def not_found(arn: str) -> TwinError:
    """``ResourceNotFoundException`` for ``arn``."""
    return TwinError("ResourceNotFoundException", f"Resource Arn {arn} does not exist.")


def exists(arn: str) -> TwinError:
    """``ResourceAlreadyExistsException`` for ``arn``."""
    return TwinError(
        "ResourceAlreadyExistsException", f"Another resource with Arn {arn} already exists."
    )


def in_use(message: str) -> TwinError:
    """``ResourceInUseException``: the resource's status does not allow the request."""
    return TwinError("ResourceInUseException", message)


def invalid(message: str) -> TwinError:
    """``InvalidInputException``: the request breaks one of the service's rules."""
    return TwinError("InvalidInputException", message)


def limit(message: str) -> TwinError:
    """``LimitExceededException``: a quota is reached."""
    return TwinError("LimitExceededException", message)


class JobFailed(Exception):
    """An import, a training or a batch job failed; the message is the ``failureReason``."""


class Stopped(Exception):
    """The job was stopped, deleted or taken over while it ran."""


class FilterUnusable(Exception):
    """A filter cannot be applied: it is gone, not ACTIVE, or of another dataset group.

    Raised by :meth:`~personakit.local.control.ControlPlane.resolve_filter`; each twin
    maps it to its own error (the runtime twin to ``ResourceNotFoundException`` or
    ``InvalidInputException``, a batch job to its ``failureReason``).

    Attributes:
        arn: The filter's ARN.
        reason: ``"missing"``, ``"inactive"`` or ``"foreign"`` (another dataset group).
        status: The filter's status (for ``"inactive"`` and ``"foreign"``), else None.
    """

    def __init__(self, arn: str, reason: str, status: str | None = None) -> None:
        if reason == "missing":
            message = f"The filter {arn} does not exist."
        elif reason == "inactive":
            message = f"The filter {arn} is not ACTIVE (status: {status})."
        else:
            message = f"The filter {arn} belongs to another dataset group."
        super().__init__(message)
        self.arn = arn
        self.reason = reason
        self.status = status
