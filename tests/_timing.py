"""The timing the local-engine tests share: quick polls, no progress bars, deadlines of
minutes (a test that waits that long has found a bug)."""

from __future__ import annotations

from personakit.aws.timing import Timing

FAST = Timing(
    poll_s=0.02,
    max_poll_s=0.2,
    train_poll_s=0.02,
    train_max_poll_s=0.2,
    progress=False,
    delete_timeout_s=120.0,
    in_use_timeout_s=60.0,
)
