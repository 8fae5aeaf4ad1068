"""Errors as the service model declares them: the code an operation declares, its HTTP status.

:func:`modeled_error` builds the :class:`~personakit.local.twin.TwinError` an operation
answers with, refusing (``AssertionError``, a bug of the engine) a code the operation
does not declare in botocore's model unless it is one of AWS's common errors
(https://docs.aws.amazon.com/personalize/latest/dg/CommonErrors.html), and taking the
HTTP status from the error shape's ``error.httpStatusCode`` (400 when the model gives
none, as for every Personalize and SageMaker error).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Final

from personakit.local.twin import TwinError, service_model

__all__ = ["COMMON_ERRORS", "declared_errors", "error_status", "modeled_error"]

#: Errors any AWS operation may answer with, with their HTTP status
#: (https://docs.aws.amazon.com/personalize/latest/dg/CommonErrors.html).
COMMON_ERRORS: Final[Mapping[str, int]] = {
    "AccessDeniedException": 400,
    "IncompleteSignature": 400,
    "InternalFailure": 500,
    "InvalidAction": 400,
    "InvalidClientTokenId": 403,
    "NotAuthorized": 400,
    "OptInRequired": 403,
    "RequestExpired": 400,
    "ServiceUnavailable": 503,
    "ThrottlingException": 400,
    "ValidationError": 400,
    "ValidationException": 400,
}


@cache
def declared_errors(service: str, operation: str) -> frozenset[str]:
    """The error codes ``operation`` of ``service`` declares in botocore's model."""
    model = service_model(service).operation_model(operation)
    return frozenset(
        str(shape.metadata.get("error", {}).get("code") or shape.name)
        for shape in model.error_shapes
    )


@cache
def error_status(service: str, code: str) -> int:
    """The HTTP status the model gives error ``code`` of ``service`` (else the common
    error's, else 400)."""
    try:
        shape = service_model(service).shape_for(code)
    except Exception:
        return COMMON_ERRORS.get(code, 400)
    status = shape.metadata.get("error", {}).get("httpStatusCode")
    return int(status) if status else COMMON_ERRORS.get(code, 400)


def modeled_error(
    service: str,
    operation: str,
    code: str,
    message: str,
    *,
    extra: Mapping[str, Any] | None = None,
) -> TwinError:
    """The :class:`TwinError` ``operation`` answers with: a declared (or common) ``code``
    and the model's HTTP status."""
    assert code in declared_errors(service, operation) or code in COMMON_ERRORS, (
        f"{service}.{operation} does not declare {code}"
    )
    return TwinError(code, message, status=error_status(service, code), extra=extra)
