"""How personakit retries, polls and gives up: one :class:`Timing` per session.

Every resource class, wait and retry takes its timing from its session
(``Session.timing``): time enters personakit in this one object, nowhere else. The one
switch for tests is :meth:`Timing.simulated`: a timing on a :class:`SimulatedClock`,
whose time moves only when personakit waits, so waits, retries and deadlines of hours
run at once and every sleep is recorded::

    clock = SimulatedClock()
    session = pk.Session.local(path, timing=Timing.simulated(clock))
    ...
    assert sum(clock.sleeps) < 3600
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from typing import Any

import attrs

from personakit.aws.retry import DEFAULT_POLICY, Retrier, RetryPolicy

__all__ = ["SimulatedClock", "Timing"]


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
        progress: The default of a session built on this timing (``False``: its
            progress display is off; ``None``: the session decides, see
            :attr:`~personakit.Session.progress`), and whether a
            :func:`~personakit.aws.wait.wait_for` given no display shows its own
            (``None``: when stderr is a terminal or in a notebook).
        delete_timeout_s: Deadline of each resource's removal during teardown, from
            the first call about it to its confirmed deletion: every call's retries and
            every wait inside (settling, stopping training, waiting until gone) end by it.
        in_use_timeout_s: How long a delete refused with ``ResourceInUseException``
            (dependents still deleting) is retried, within ``delete_timeout_s``.
        now: The current UTC time (for ``personakit:expires-at`` tags).
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
    now: Callable[[], dt.datetime] = attrs.field(default=lambda: dt.datetime.now(dt.timezone.utc))

    @property
    def retrier(self) -> Retrier:
        """The :class:`~personakit.aws.retry.Retrier` on this timing's sleep, clock and rng."""
        return Retrier(self.policy, sleep=self.sleep, clock=self.clock, rng=self.rng)

    @classmethod
    def simulated(cls, clock: SimulatedClock | None = None, **overrides: Any) -> Timing:
        """A timing that never sleeps for real: its ``sleep`` moves ``clock`` (a new
        :class:`SimulatedClock` by default) and records the wait, jitter is its mean,
        and no progress is shown. ``overrides`` set any other attribute."""
        clock = clock if clock is not None else SimulatedClock()
        settings: dict[str, Any] = {
            "sleep": clock.sleep,
            "clock": clock.clock,
            "rng": lambda: 0.5,
            "progress": False,
            **overrides,
        }
        return cls(**settings)


@attrs.define
class SimulatedClock:
    """A monotonic clock that moves only when slept on; it records every sleep.

    Attributes:
        now: Its current time in seconds.
        sleeps: Every sleep asked of it, in order.
    """

    now: float = 5000.0
    sleeps: list[float] = attrs.field(factory=list)

    def sleep(self, seconds: float) -> None:
        """Move the clock by ``seconds`` and record them (negative: ``ValueError``, as
        ``time.sleep``)."""
        if seconds < 0:
            raise ValueError(f"sleep length must be non-negative, got {seconds!r}")
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        """The current time."""
        return self.now
