"""Every item of a paginated AWS call, through botocore's paginator, one retried page at a time.

:func:`paginate` asks ``client.get_paginator(operation)`` for the pages and sends each
round trip through a ``call`` (a :class:`~personakit.aws.retry.Retrier`'s or a
:class:`~personakit.aws.context.Ctx`'s), so a throttled page is retried on its own with
the retry budgets and deadlines of that ``call``; the paginator's resume token carries on
where the last page stopped. botocore's Stubber and moto answer it like any call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["PAGE_SIZE", "paginate", "s3_objects"]

#: Items asked for per page (``MaxResults``): the most the SageMaker ``List*`` calls and
#: Price List ``GetProducts`` return at once
#: (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListEndpoints.html;
#: https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html)
PAGE_SIZE = 100


def _pages(paginator: Any, request: Mapping[str, Any], config: Mapping[str, Any]) -> Any:
    """One round of ``paginator``: at most ``MaxItems`` items, and where to go on from."""
    return paginator.paginate(**request, PaginationConfig=dict(config)).build_full_result()


def paginate(
    call: Callable[..., Any],
    client: Any,
    operation: str,
    key: str,
    *,
    page_size: int = PAGE_SIZE,
    **request: Any,
) -> Iterator[Any]:
    """Every member ``key`` of ``client.<operation>(**request)``, all pages, in order.

    Args:
        call: Runs one round trip, ``call(fn, **kwargs)``: a retrier's or a context's
            ``call`` (its retries and deadline apply to each page).
        client: A botocore client (or the local engine's twin of one).
        operation: The paginated operation, e.g. ``"list_endpoints"``.
        key: The result key, e.g. ``"Endpoints"``.
        page_size: Items per page (``MaxResults``).
        request: The operation's other parameters.
    """
    paginator = client.get_paginator(operation)
    page = functools.partial(_pages)  # named after the operation in retry logs
    page.__name__ = operation  # type: ignore[attr-defined]
    token: str | None = None
    while True:
        config: dict[str, Any] = {"PageSize": page_size, "MaxItems": page_size}
        if token:
            config["StartingToken"] = token
        result = call(page, paginator=paginator, request=request, config=config)
        yield from result.get(key, [])
        token = result.get("NextToken")
        if not token:
            return


def s3_objects(s3: Any, bucket: str, prefix: str, *, page_size: int = 1000) -> Iterator[Any]:
    """Every object summary under ``prefix`` (``ListObjectsV2``, all pages, in key order).

    S3 is called directly: its client keeps botocore's retries (personakit's retrier on
    top would multiply the attempts). Each page is asked for when the previous one is
    used up, and S3 lists on after the last key returned, so the caller may delete what
    it has seen before asking for more.
    """
    token: str | None = None
    while True:
        request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": page_size}
        if token:
            request["ContinuationToken"] = token
        page = s3.list_objects_v2(**request)
        yield from page.get("Contents", [])
        token = page.get("NextContinuationToken")
        if not token:
            return
