"""A session and a timing: where the resource classes send their calls and waits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from botocore.exceptions import ClientError

from personakit.aws.progress import ProgressDisplay
from personakit.aws.timing import Timing
from personakit.aws.wait import (
    PERSONALIZE_CREATE,
    PERSONALIZE_DELETE,
    WaitResult,
    WaitSpec,
    wait_for,
)
from personakit.rules.facts import KEEP_TAG, RUN_TAG

if TYPE_CHECKING:
    from mypy_boto3_personalize import PersonalizeClient

    from personakit.aws.session import Session

__all__ = ["Ctx"]

logger = logging.getLogger(__name__)

_P = ParamSpec("_P")
_T = TypeVar("_T")


class Ctx:
    """A session and a timing: where the resource classes send calls and waits."""

    def __init__(
        self, session: Session, timing: Timing | None = None, *, keep: bool = False
    ) -> None:
        if timing is None:
            timing = session.timing or Timing()
        self.session = session
        self.timing = timing
        self.retrier = timing.retrier
        #: Everything created through this context is kept (``DatasetGroup.create(keep=True)``):
        #: :meth:`tags` adds ``personakit:keep=true`` to every new resource.
        self.keep = keep

    @property
    def display(self) -> ProgressDisplay | None:
        """The session's progress display (``session.progress``), where waits show."""
        display = getattr(self.session, "progress", None)
        return display if isinstance(display, ProgressDisplay) else None

    @property
    def personalize(self) -> PersonalizeClient:
        """The session's ``personalize`` client."""
        return self.session.client("personalize")

    def call(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """``fn(*args, **kwargs)`` through the retrier, typed as ``fn`` is."""
        return self.retrier.call(fn, *args, **kwargs)

    def wait(
        self,
        describe: Callable[[], Mapping[str, Any]],
        *,
        arn: str,
        timeout_s: float,
        spec: WaitSpec = PERSONALIZE_CREATE,
        label: str = "",
        training: bool = False,
    ) -> WaitResult:
        """:func:`~personakit.aws.wait.wait_for` on this context's timing, shown on the
        session's progress display."""
        return wait_for(
            describe, arn=arn, timeout_s=timeout_s, spec=spec, timing=self.timing,
            training=training, label=label, display=self.display,
        )  # fmt: skip

    def wait_gone(
        self,
        describe: Callable[[], Mapping[str, Any]],
        *,
        arn: str,
        timeout_s: float | None = None,
        spec: WaitSpec = PERSONALIZE_DELETE,
        label: str = "",
    ) -> WaitResult:
        """:func:`~personakit.aws.wait.wait_for` until gone, on this context's timing
        (deadline: the timing's ``delete_timeout_s``)."""
        timeout = self.timing.delete_timeout_s if timeout_s is None else timeout_s
        return wait_for(
            describe, arn=arn, timeout_s=timeout, spec=spec, timing=self.timing, gone=True,
            label=label, display=self.display,
        )  # fmt: skip

    def tagged_by_this_run(self, arn: str) -> bool:
        """Whether ``arn`` carries ``personakit:run=<this run id>`` (then this run made it)."""
        try:
            tags = self.call(self.personalize.list_tags_for_resource, resourceArn=arn).get(
                "tags", []
            )
        except ClientError as exc:
            logger.debug("could not read the tags of %s: %s", arn, exc)
            return False
        return any(
            t.get("tagKey") == RUN_TAG and t.get("tagValue") == self.session.run_id for t in tags
        )

    def tags(self, *, keep: bool = False) -> list[Any]:
        """Tags for a new Personalize resource (``personakit:run`` and the session's).

        With ``keep`` (or on a context that keeps everything), also
        ``personakit:keep=true``: a resource kept on purpose carries it from its
        ``Create*`` on, so a ``personakit sweep`` spares it even if this process ends
        before any teardown runs.
        """
        if keep or self.keep:
            return list(self.session.personalize_tags({KEEP_TAG: "true"}))
        return list(self.session.personalize_tags())
