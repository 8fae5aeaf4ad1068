"""No wait in a teardown outlives its stated deadline.

A resource that never goes away (its delete refused as "in use" forever, or accepted and
never finished), under a throttling storm on every call about it: the teardown gives up
on it with a :class:`~personakit.errors.TeardownError` within the deadlines the
session's :class:`~personakit.aws.timing.Timing` states, retries and nested waits
included. Time is a :class:`~personakit.aws.timing.SimulatedClock`, so hours of
deadline run at once and every sleep is on the record."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from personakit.aws.session import Session
from personakit.aws.timing import SimulatedClock, Timing
from personakit.errors import TeardownError
from personakit.personalize.group import DatasetGroup

DELETE_S = 600.0
IN_USE_S = 240.0


class Clock(SimulatedClock):
    """Simulated time that also yields a moment of real time on each sleep, so the
    engine's own worker (real time) makes the group ACTIVE while the create waits."""

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        time.sleep(0.002)


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


class Stuck:
    """The engine's ``personalize`` client, except that one resource never goes away.

    Every call naming ``arn`` is first throttled ``storm`` times, then:

    * ``mode="in-use"``: its delete is refused with ``ResourceInUseException`` and its
      describe reports ``status`` (``ACTIVE``: the in-use retries; ``CREATE IN_PROGRESS``:
      the teardown waits for it to settle first);
    * ``mode="deleting"``: its delete is accepted and it reports ``DELETE IN_PROGRESS``
      forever.

    ``seen`` records the simulated time of each call naming ``arn``.
    """

    def __init__(
        self, inner: Any, clock: SimulatedClock, *, mode: str, status: str, storm: int
    ) -> None:
        self.inner, self.clock, self.mode, self.status, self.storm = (
            inner,
            clock,
            mode,
            status,
            storm,
        )
        self.arn: str | None = None
        self.seen: list[float] = []
        self.throttled: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        real = getattr(self.inner, name)
        if not callable(real):
            return real

        def call(**kwargs: Any) -> Any:
            if self.arn is None or self.arn not in kwargs.values():
                return real(**kwargs)
            self.seen.append(self.clock.now)
            done = self.throttled.get(name, 0)
            if done < self.storm:
                self.throttled[name] = done + 1
                raise client_error("ThrottlingException", name)
            self.throttled[name] = 0  # the next call of this operation is throttled again
            if name.startswith("delete_"):
                if self.mode == "in-use":
                    raise client_error("ResourceInUseException", name)
                return {}
            if name.startswith("describe_"):
                response = dict(real(**kwargs))
                key = next(k for k in response if k != "ResponseMetadata")
                status = "DELETE IN_PROGRESS" if self.mode == "deleting" else self.status
                response[key] = {**response[key], "status": status}
                return response
            return real(**kwargs)

        return call


@pytest.mark.parametrize(
    ("mode", "status", "bound"),
    [
        ("in-use", "ACTIVE", IN_USE_S),  # refused while dependents delete: retried that long
        ("in-use", "CREATE IN_PROGRESS", DELETE_S),  # settles first: one wait, not one per retry
        ("deleting", "", DELETE_S),  # accepted, never confirmed
    ],
)
@pytest.mark.parametrize("storm", [0, 3, 50])  # none, short, longer than a call's retry budget
def test_a_resource_that_never_goes_away_is_given_up_on_within_the_stated_deadline(
    tmp_path: Path, mode: str, status: str, bound: float, storm: int
) -> None:
    clock = Clock()
    timing = Timing.simulated(clock, delete_timeout_s=DELETE_S, in_use_timeout_s=IN_USE_S)
    with Session.local(tmp_path, timing=timing, progress=False, min_state_s=0) as session:
        stuck = Stuck(session.client("personalize"), clock, mode=mode, status=status, storm=storm)
        session._clients["personalize"] = stuck
        with (
            pytest.raises(TeardownError) as info,
            DatasetGroup.create(session, "stuck") as group,
        ):
            stuck.arn = group.arn
        assert info.value.leftovers == (group.arn,)
        spent = stuck.seen[-1] - stuck.seen[0]
        assert spent <= bound, (spent, bound)
        # it did try: more than a single round of calls before giving up
        assert len(stuck.seen) > 2


def test_the_deadline_is_per_resource_and_a_resumed_teardown_gets_a_new_one(
    tmp_path: Path,
) -> None:
    clock = Clock()
    timing = Timing.simulated(clock, delete_timeout_s=DELETE_S, in_use_timeout_s=IN_USE_S)
    with Session.local(tmp_path, timing=timing, progress=False, min_state_s=0) as session:
        stuck = Stuck(session.client("personalize"), clock, mode="deleting", status="", storm=0)
        session._clients["personalize"] = stuck
        group = DatasetGroup.create(session, "stuck")
        stuck.arn = group.arn
        with pytest.raises(TeardownError):
            group.teardown()
        first = clock.now - stuck.seen[0]
        stuck.seen.clear()
        with pytest.raises(TeardownError):  # a second attempt waits its own deadline
            group.teardown()
        assert first <= DELETE_S
        assert stuck.seen[-1] - stuck.seen[0] == pytest.approx(DELETE_S, abs=1.0)
        stuck.arn = None  # let it go: the delete it never sent, then a teardown that ends
        stuck.inner.delete_dataset_group(datasetGroupArn=group.arn)
        assert group.teardown().deleted == (group.arn,)
