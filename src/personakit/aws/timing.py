"""How personakit retries, polls and gives up: one :class:`Timing` per session.

Every resource class takes its timing from its session (``Session.timing``); tests
inject ``sleep`` and ``clock`` fakes here so they run in no time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import attrs

from personakit.aws.retry import DEFAULT_POLICY, Retrier, RetryPolicy

__all__ = ["Timing"]


@attrs.frozen(kw_only=True)
class Timing:
    """How the resource classes retry, poll and give up; inject fakes in tests.

    Attributes:
        policy: Retry budgets of every control-plane call (see ``docs/waits-and-retries.md``).
        sleep: Sleeps (retries, polls, in-use backoff).
        clock: Monotonic seconds.
        rng: Uniform draws in ``[0, 1)`` for jitter.
        poll_s: First poll interval of waits on quick resources (groups, datasets,
            filters, campaigns).
        max_poll_s: Largest poll interval of those waits.
        train_poll_s: First poll interval while a solution version trains.
        train_max_poll_s: Largest poll interval while training.
        backoff: Growth factor of poll intervals.
        progress: tqdm bars: ``True``, ``False`` or ``None`` (when interactive).
        delete_timeout_s: Deadline of each wait during teardown.
        in_use_timeout_s: How long a delete refused with ``ResourceInUseException``
            (dependents still deleting) is retried.
    """

    policy: RetryPolicy = DEFAULT_POLICY
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: Callable[[], float] = random.random
    poll_s: float = 5.0
    max_poll_s: float = 60.0
    train_poll_s: float = 30.0
    train_max_poll_s: float = 300.0
    backoff: float = 1.5
    progress: bool | None = None
    delete_timeout_s: float = 3600.0
    in_use_timeout_s: float = 900.0

    @property
    def retrier(self) -> Retrier:
        """The :class:`~personakit.aws.retry.Retrier` on this timing's sleep, clock and rng."""
        return Retrier(self.policy, sleep=self.sleep, clock=self.clock, rng=self.rng)
