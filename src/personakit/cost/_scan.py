"""The scanning that :mod:`~personakit.cost.inventory` and :mod:`~personakit.cost.sweep` share.

Both list Personalize and SageMaker resources section by section, read their tags and
turn a listing that fails into a note rather than a crash; both read an endpoint's
invocations to tell whether it is idle (:func:`endpoint_invocations`). :class:`Scanner` holds that
part; each subclass says which errors a listing or a tag read may raise and still be a
note (the inventory, which must not stop a deploy check, tolerates more than the sweep),
which logger its warnings go to, and whether it reads tags at all (``lean``).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from botocore.exceptions import ClientError

from personakit.aws.context import Ctx
from personakit.aws.paging import paginate
from personakit.aws.retry import error_code
from personakit.errors import ConfigurationError
from personakit.rules.facts import EXPIRES_TAG

if TYPE_CHECKING:
    from personakit.aws.session import Session

__all__ = ["Scanner", "aware", "endpoint_invocations", "tag_expiry", "tags_dict", "utcnow"]

logger = logging.getLogger(__name__)

#: The note when a session has no client for a service (e.g. the local engine's SageMaker).
_SKIPPED = {
    "personalize": "Personalize: skipped ({exc})",
    "sagemaker": "SageMaker: skipped, the session has no sagemaker client ({exc})",
}


def utcnow() -> dt.datetime:
    """The current time, tz-aware UTC."""
    return dt.datetime.now(dt.timezone.utc)


def aware(value: Any) -> dt.datetime | None:
    """A tz-aware UTC datetime from a botocore timestamp (or ``None``)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).astimezone(
            dt.timezone.utc
        )
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return aware(parsed)


def tags_dict(
    tags: Sequence[Mapping[str, Any]], key: str = "Key", value: str = "Value"
) -> dict[str, str]:
    """``[{"Key": k, "Value": v}, ...]`` (or other member names) as ``{k: v}``."""
    return {str(t.get(key)): str(t.get(value, "")) for t in tags if t.get(key) is not None}


def tag_expiry(tags: Mapping[str, str]) -> dt.datetime | None:
    """The ``personakit:expires-at`` tag as a UTC datetime (``None``: none, or unreadable)."""
    return aware(tags.get(EXPIRES_TAG)) if tags.get(EXPIRES_TAG) else None


class Scanner:
    """Sections, tags and SageMaker pages of one scan of an account and region.

    Attributes:
        listing_errors: What a section may raise and be a note.
        tag_errors: What a tag read may raise and be read as no tags.
        log: Where warnings go (the subclass's module logger).
        what: How the warnings name the scan (``"inventory"``, ``"sweep"``).
        lean: Read no tags at all (an empty dict for every resource).
    """

    listing_errors: ClassVar[tuple[type[BaseException], ...]] = (ClientError,)
    tag_errors: ClassVar[tuple[type[BaseException], ...]] = (ClientError,)
    log: ClassVar[logging.Logger] = logger
    what: ClassVar[str] = "scan"

    def __init__(self, session: Session, ctx: Ctx, now: dt.datetime) -> None:
        self.session = session
        self.ctx = ctx
        self.now = now
        self.lean = False
        self.notes: list[str] = []

    # ------------------------------------------------------------------ sections

    def available(self, service: Literal["personalize", "sagemaker"]) -> bool:
        """Whether the session has a client for ``service`` (if not, a note says so)."""
        try:
            self.session.client(service)
        except (ValueError, ConfigurationError) as exc:
            self.notes.append(_SKIPPED[service].format(exc=exc))
            return False
        return True

    def section(self, what: str, fn: Callable[[], None]) -> None:
        """Run one listing; what it cannot read becomes a note, not a crash."""
        try:
            fn()
        except self.listing_errors as exc:
            self.unlisted(what, exc)

    def unlisted(self, what: str, exc: BaseException) -> str:
        """Note (and log) a listing that failed; returns the note."""
        code = error_code(exc) or type(exc).__name__
        text = f"{what}: could not be listed ({code}: {exc})"
        self.notes.append(text)
        self.log.warning("%s: %s could not be listed: %s", self.what, what, exc)
        return text

    # ------------------------------------------------------------------ personalize

    def personalize_tags(self, arn: str) -> dict[str, str]:
        """The tags of a Personalize resource (none when they cannot be read)."""
        return self._tags(
            "personalize",
            "list_tags_for_resource",
            arn,
            ("tags", "tagKey", "tagValue"),
            resourceArn=arn,
        )

    def _tags(
        self,
        service: Literal["personalize", "sagemaker"],
        method: str,
        arn: str,
        shape: tuple[str, str, str],
        **kwargs: Any,
    ) -> dict[str, str]:
        """The tags a ``ListTags*`` call returns of ``arn``; none when lean or unreadable.

        ``shape`` names the response's list of tags and each tag's key and value members.
        """
        if self.lean:
            return {}
        try:
            response = self.ctx.call(getattr(self.session.client(service), method), **kwargs)
        except self.tag_errors as exc:
            self.log.debug("could not read the tags of %s: %s", arn, exc)
            return {}
        member, key, value = shape
        return tags_dict(response.get(member, []), key, value)

    # ------------------------------------------------------------------ sagemaker

    def sm(self) -> Any:
        """The session's ``sagemaker`` client."""
        return self.session.client("sagemaker")

    def sm_pages(self, method: str, key: str, **kwargs: Any) -> list[Mapping[str, Any]]:
        """Every member ``key`` of a SageMaker ``List*`` call, all pages (100 a page).

        botocore's paginator reads them; each page goes through the scan's retries.
        """
        return list(paginate(self.ctx.call, self.sm(), method, key, **kwargs))

    def sm_tags(self, arn: str) -> dict[str, str]:
        """The tags of a SageMaker resource (none when they cannot be read)."""
        return self._tags("sagemaker", "list_tags", arn, ("Tags", "Key", "Value"), ResourceArn=arn)


def endpoint_invocations(
    session: Session,
    endpoint_name: str,
    variants: Sequence[str],
    window: dt.timedelta,
    *,
    now: dt.datetime | None = None,
    ctx: Ctx | None = None,
) -> float:
    """Invocations of an endpoint over ``window``, summed over its variants.

    Reads CloudWatch ``AWS/SageMaker`` ``Invocations`` (dimensions ``EndpointName``
    and ``VariantName``) with ``GetMetricStatistics``, statistic ``Sum``; the period
    is a day for windows of a day or more, else an hour (else a minute), so one call
    per variant stays under CloudWatch's 1,440 data points
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html).
    SageMaker publishes the metric only for minutes with traffic: no data points means
    no invocations (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html).
    """
    now = now or utcnow()
    seconds = window.total_seconds()
    period = 86_400 if seconds >= 86_400 else 3600 if seconds >= 3600 else 60
    cloudwatch = session.client("cloudwatch")
    call = (ctx if ctx is not None else Ctx(session)).call
    total = 0.0
    for variant in variants or ["AllTraffic"]:
        response = call(
            cloudwatch.get_metric_statistics,
            Namespace="AWS/SageMaker",
            MetricName="Invocations",
            Dimensions=[
                {"Name": "EndpointName", "Value": endpoint_name},
                {"Name": "VariantName", "Value": variant},
            ],
            StartTime=now - window,
            EndTime=now,
            Period=period,
            Statistics=["Sum"],
        )
        total += math.fsum(float(p.get("Sum") or 0.0) for p in response.get("Datapoints", []))
    return total
