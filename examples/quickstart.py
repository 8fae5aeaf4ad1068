"""personakit's quickstart as a script: the same journey as `personakit quickstart`.

Synthetic MovieLens-like ratings are prepared, validated, imported into a dataset
group on the embedded local engine (no AWS account, no cost), two recipes are
trained and compared, a campaign answers with a filter, and everything is torn
down. Read ``personakit/quickstart.py`` for the journey itself, step by step.

    python examples/quickstart.py --workspace ./pk-workspace --users 500
"""

from __future__ import annotations

import argparse

from personakit.quickstart import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", help="local engine folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep what was created")
    parser.add_argument("--users", type=int, default=300, help="users in the synthetic data")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    parser.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    args = parser.parse_args()
    run(
        args.workspace,
        keep=args.keep,
        n_users=args.users,
        seed=args.seed,
        progress=not args.no_progress,
    )


if __name__ == "__main__":
    main()
