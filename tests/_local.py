"""What the local-engine tests share: a timing (quick polls, no progress bars, deadlines
of minutes: a test that waits that long has found a bug) and a small interactions frame."""

from __future__ import annotations

import pandas as pd

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


def interactions() -> pd.DataFrame:
    """1,200 interactions of 40 users with 97 items, one second apart."""
    n = 1200
    return pd.DataFrame(
        {
            "USER_ID": [f"u{i % 40}" for i in range(n)],
            "ITEM_ID": [f"i{i % 97}" for i in range(n)],
            "TIMESTAMP": [1_700_000_000 + i for i in range(n)],
        }
    )
