"""MovieLens on Amazon Personalize, end to end, and nothing left running afterwards.

The journey: MovieLens ratings -> interactions and items -> every Personalize rule
checked -> a dataset group with both datasets imported -> user-personalization
trained, its offline metrics printed -> a cost estimate and a budget check -> a
campaign (1 TPS) with a "no Horror" filter -> new events streamed for one user,
whose recommendations change -> a batch inference job for a sample of users ->
everything deleted, in dependency order, on errors and Ctrl-C too.

**On AWS this bills your account**: training takes 30-90 minutes, and a campaign
costs about $0.20 per TPS-hour while it exists (https://aws.amazon.com/personalize/pricing/). It
runs on AWS only when told so with ``--yes-i-have-aws`` (or
``PERSONAKIT_EXAMPLES_AWS=1``), and needs a bucket and a role Personalize can
use (``personakit.aws.iam`` prints the policies; ``session.check_access()`` says what
is missing). ``--local`` runs the very same code on the embedded engine with
synthetic MovieLens-like data, offline and in seconds::

    python examples/aws_end_to_end.py --local
    python examples/aws_end_to_end.py --yes-i-have-aws --region eu-west-1 \\
        --bucket my-personalize-bucket \\
        --role-arn arn:aws:iam::111122223333:role/personalize-s3

Leftovers of a run killed hard (``kill -9``, a lost laptop) carry the
``personakit:run`` tag: ``personakit sweep`` lists them and ``--yes`` deletes them.
Importing this file does nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from personakit import Session

#: Monthly budget the deploy is checked against (USD).
BUDGET_USD = 500.0
#: Users sent to the batch inference job.
BATCH_USERS = 100


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--local", action="store_true", help="run on the embedded engine")
    parser.add_argument("--workspace", default=None, help="local engine folder (with --local)")
    parser.add_argument("--variant", default="ml-latest-small", help="MovieLens release")
    parser.add_argument("--region", default=None, help="default: your AWS configuration's")
    parser.add_argument("--bucket", default=None, help="S3 bucket Personalize can read")
    parser.add_argument("--role-arn", default=None, help="role Personalize assumes")
    parser.add_argument("--name", default="pk-movielens", help="dataset group name")
    parser.add_argument("--yes-i-have-aws", action="store_true", help="really run on AWS (bills!)")
    return parser


def journey(session: Session, ratings: pd.DataFrame, movies: pd.DataFrame, name: str) -> Any:
    """The whole journey on any session (AWS or local); returns the batch results."""
    import personakit as pk

    interactions = pk.prep.ratings_to_interactions(
        ratings,
        user="userId",
        item="movieId",
        rating="rating",
        timestamp="timestamp",
        min_rating=3.5,
        event_type="Watch",
    )
    items = pk.prep.items(movies, item="movieId", multi_value={"genres": "|"})
    report = pk.validate(interactions, items=items)
    print(report)
    report.raise_for_problems()  # nothing is uploaded when the data breaks a rule

    megabytes = (interactions.memory_usage(deep=True).sum() + items.memory_usage().sum()) / 1e6
    plan = pk.cost.estimate(
        data_gb=megabytes / 1000, training_hours=2, campaign_tps_hours=(1, 2), region=session.region
    )
    print(plan)
    guard = pk.CostGuard(session, budget_usd=BUDGET_USD)

    with pk.DatasetGroup.create(session, name) as group:  # deleted on exit, errors included
        group.import_frame(interactions)
        group.import_frame(items, dataset_type="items")
        solution = group.train("user-personalization")
        print(solution.metrics)

        no_horror = pk.Filter.exclude_items("Items.GENRES IN ($genres)")
        user = str(interactions["USER_ID"].iloc[0])
        # The guard refuses (BudgetExceededError, nothing created) if a month of the
        # campaign's 1 TPS floor would not fit next to what already runs.
        with solution.deploy(min_tps=1, guard=guard) as campaign:
            print(guard.status())  # burn rate of what runs in the account, this campaign too
            before = campaign.recommend(
                user_id=user, n=10, filter=no_horror, filter_values={"genres": ["Horror"]}
            )
            print(before.to_frame())

            # Stream what the user watches next: the campaign takes it into account.
            tracker = group.event_tracker()
            watched = [i for i in items["ITEM_ID"] if i not in set(before.item_ids)][:3]
            tracker.put_events(
                [{"USER_ID": user, "ITEM_ID": item, "EVENT_TYPE": "Watch"} for item in watched]
            )
            after = campaign.recommend(user_id=user, n=10)
            print(f"after 3 new events: {after.item_ids}")

        users = sorted(interactions["USER_ID"].unique())[:BATCH_USERS]
        batch = solution.batch_recommend(users, n=10)
        print(batch.head())
    return batch


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import personakit as pk

    if args.local:
        ratings, movies = pk.samples.synthetic_movielens(300, 400, 9000, seed=0)
        with pk.Session.local(args.workspace or "./pk-workspace") as session:
            journey(session, ratings, movies, args.name)
        return 0
    if not (args.yes_i_have_aws or os.environ.get("PERSONAKIT_EXAMPLES_AWS") == "1"):
        print(
            "This example trains a solution and runs a campaign on Amazon Personalize, which "
            "bills your account. Re-run with --yes-i-have-aws, or try --local first.",
            file=sys.stderr,
        )
        return 2
    session = pk.Session.aws(region_name=args.region, bucket=args.bucket, role_arn=args.role_arn)
    session.check_access().raise_for_problems()
    movielens = pk.samples.load_movielens(args.variant)
    journey(session, movielens.ratings, movielens.movies, args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
