"""The quickstart: personakit's whole journey on the local engine, in a few seconds.

``personakit quickstart`` (or ``python examples/quickstart.py``) runs :func:`run`.
This module is meant to be read top to bottom: :func:`run` is the code you would
write in a notebook, step by step, with only printing and progress added.

1. make a MovieLens-like data set (:func:`personakit.samples.synthetic_movielens`);
2. prepare it for Personalize (:mod:`personakit.rules.prep`);
3. check every Personalize rule before anything is uploaded (:func:`personakit.rules.validate`);
4. open a local session (:meth:`personakit.Session.local`): the embedded engine,
   offline and free, which answers the same requests AWS would;
5. create a dataset group and import interactions and items;
6. train two recipes, ``user-personalization`` and the ``popularity-count``
   baseline, and compare their offline metrics;
7. recommend for every user at once with a batch inference job (no campaign);
8. deploy a campaign and ask it for recommendations, with a filter;
9. tear everything down, and say what was deleted;
10. price what the run did as AWS would bill it (:func:`personakit.cost.bill`).

On AWS the same code runs with ``pk.Session.aws(region_name=..., bucket=...,
role_arn=...)`` in step 4 (and costs money: a campaign bills by the hour).
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs

import personakit as pk
from personakit.aws.progress import Operation, ProgressDisplay
from personakit.cost.bill import bill as aws_bill
from personakit.cost.personalize import Estimate

if TYPE_CHECKING:
    import pandas as pd

    from personakit.personalize.solution import SolutionMetrics

__all__ = ["MIN_USERS", "RECIPES", "QuickstartResult", "journey", "run"]

logger = logging.getLogger(__name__)

#: The recipes trained, the baseline last.
RECIPES: tuple[str, ...] = ("user-personalization", "popularity-count")
#: The fewest users for which the data passes Personalize's minimum of 1,000
#: interactions
#: (https://docs.aws.amazon.com/personalize/latest/dg/limits.html) after keeping ratings >= 3.5.
MIN_USERS = 60
#: Ratings per user, and the rating from which a rating counts as interest.
RATINGS_PER_USER = 30
MIN_RATING = 3.5
#: The genre the recommendation filter leaves out.
EXCLUDED_GENRE = "Horror"
#: Metrics shown side by side, in Personalize's names as personakit spells them.
SHOWN_METRICS: tuple[str, ...] = (
    "ndcg_at_10",
    "precision_at_10",
    "mean_reciprocal_rank_at_25",
    "coverage",
)


@attrs.frozen
class QuickstartResult:
    """What :func:`run` did, for code that calls it (the CLI only prints).

    Attributes:
        workspace: The local engine's folder (deleted afterwards when it was a
            temporary folder and ``keep`` was false).
        metrics: Offline metrics by recipe.
        user_id: The user recommendations were asked for.
        recommendations: The recommended item ids, best first.
        batch: The batch inference job's results: one row per user with
            ``user_id``, ``item_ids``, ``scores`` and ``error``.
        deleted: What teardown deleted (ARNs and S3 URIs), in deletion order.
        kept: What ``keep=True`` kept.
        seconds: Wall time of the run.
        bill: What the run would cost on AWS in ``region``
            (:func:`personakit.cost.bill`): line items, sources, total.
    """

    workspace: Path
    metrics: Mapping[str, SolutionMetrics]
    user_id: str
    recommendations: tuple[str, ...]
    batch: pd.DataFrame = attrs.field(eq=False)
    deleted: tuple[str, ...]
    kept: tuple[str, ...]
    seconds: float
    bill: Estimate | None = attrs.field(default=None, eq=False)


def run(
    workspace: str | Path | None = None,
    *,
    keep: bool = False,
    n_users: int = 300,
    seed: int = 0,
    progress: bool = True,
    out: IO[str] | None = None,
    region: str = "us-east-1",
) -> QuickstartResult:
    """Run the quickstart journey on a local engine and print what happens.

    Args:
        workspace: The local engine's folder; a temporary one (deleted at the end
            unless ``keep``) when None.
        keep: Keep the dataset group, solutions and campaign (and the temporary
            workspace) instead of tearing them down.
        n_users: How many users the synthetic data has (at least :data:`MIN_USERS`);
            there are about 4/3 as many movies and 30 ratings per user.
        seed: Seed of the synthetic data.
        progress: Show the steps and the waits inside them on stderr (one redrawn
            block in a terminal, plain lines otherwise); ``PERSONAKIT_PROGRESS=0``
            switches it off too.
        out: Where results are printed (stdout by default).
        region: Where the run's AWS bill is priced (a Personalize region).

    Returns:
        A :class:`QuickstartResult`.

    Raises:
        ValueError: ``n_users`` below :data:`MIN_USERS`.
        ConfigurationError: ``region`` is not a Personalize region.
    """
    pk.cost.personalize_prices.check_region(region)
    if n_users < MIN_USERS:
        raise ValueError(
            f"n_users must be at least {MIN_USERS}: Amazon Personalize trains on at least "
            "1,000 interactions, and a user rates 30 movies (about 18 at 3.5 or more)"
        )
    started = time.monotonic()
    say = _Printer(out or sys.stdout)
    folder, temporary = _workspace(workspace)
    step = _Steps(total=9, enabled=progress)
    try:
        result = journey(
            folder, keep=keep, n_users=n_users, seed=seed, step=step, say=say,
            progress=step.display, region=region,
        )  # fmt: skip
    finally:
        step.close()
        if temporary and not keep:
            shutil.rmtree(folder, ignore_errors=True)
    seconds = time.monotonic() - started
    say("")
    if result.deleted:
        say(f"Deleted {len(result.deleted)} resource(s):")
        for what in result.deleted:
            say(f"  - {what}")
    if result.kept:
        say(f"Kept {len(result.kept)} resource(s) in {folder}; open it with pk.Session.local(...):")
        for what in result.kept:
            say(f"  - {what}")
    if result.bill is not None:
        say("")
        say(_bill_text(result.bill))
    say(f"Done in {seconds:.1f} s.")
    return attrs.evolve(result, seconds=seconds)


def journey(
    folder: Path,
    *,
    keep: bool,
    n_users: int,
    seed: int,
    step: Callable[[str], None],
    say: Callable[[str], None],
    progress: bool | ProgressDisplay = False,
    region: str = "us-east-1",
) -> QuickstartResult:
    """The journey itself, step by step (what :func:`run` runs).

    Args:
        folder: The local engine's workspace.
        keep: Keep what was created instead of tearing it down.
        n_users: Users in the synthetic data.
        seed: Seed of the synthetic data.
        step: Called with the name of each step as it starts (progress).
        say: Called with each line of results.
        progress: The session's progress display, or whether it has one.
        region: Where the run's AWS bill is priced.
    """
    started = time.time()
    # 1. Data: ratings and movies in the MovieLens layout (userId, movieId, rating,
    #    timestamp; movieId, title, genres "Comedy|Drama"), with real structure.
    step("generating synthetic ratings")
    n_items = max(50, n_users * 4 // 3)
    n_ratings = min(RATINGS_PER_USER * n_users, n_users * n_items // 2)
    ratings, movies = pk.samples.synthetic_movielens(n_users, n_items, n_ratings, seed=seed)

    # 2. Prepare: Personalize learns from implicit events, so keep the ratings that
    #    show interest and record them as "Watch" events; movies become Items with
    #    the multi-value GENRES field ("Comedy|Drama").
    step("preparing interactions and items")
    interactions = pk.prep.ratings_to_interactions(
        ratings,
        user="userId",
        item="movieId",
        rating="rating",
        timestamp="timestamp",
        min_rating=MIN_RATING,
        event_type="Watch",
    )
    items = pk.prep.items(movies, item="movieId", multi_value={"genres": "|"})
    say(
        f"Data: {len(ratings):,} ratings -> {len(interactions):,} interactions "
        f"(rating >= {MIN_RATING}) of {interactions['USER_ID'].nunique():,} users "
        f"on {len(items):,} movies"
    )

    # 3. Validate: every Personalize rule at once; one ValidationError lists them all.
    step("validating against Personalize's rules")
    report = pk.validate(interactions, items=items)
    report.raise_for_problems()
    say(f"Validation: ok ({len(report.warnings)} warning(s))")

    # 4. A session on the embedded local engine. Closing it (the `with`) stops the
    #    engine; the workspace keeps its state for the next session that opens it.
    # 5. A dataset group, as a context manager: leaving the block deletes what this
    #    run created in it, in dependency order, even on an error or Ctrl-C.
    with (
        pk.Session.local(folder, progress=progress) as session,
        pk.DatasetGroup.create(session, "quickstart-movies", keep=keep) as group,
    ):
        step("importing interactions and items")
        group.import_frame(interactions)  # schema inferred, CSV written, uploaded
        group.import_frame(items, dataset_type="items")

        # 6. Train both recipes; each wait polls DescribeSolutionVersion.
        solutions = {}
        for recipe in RECIPES:
            step(f"training {recipe}")
            solutions[recipe] = group.train(recipe)
        metrics = {recipe: solution.metrics for recipe, solution in solutions.items()}
        say("")
        say(_metrics_table(metrics))

        # 7. Recommendations for every user at once, without a campaign: a batch
        #    inference job reads user ids as JSON Lines from S3 and writes its
        #    answers next to them; personakit reads them back as a DataFrame.
        step("batch recommendations for every user")
        users = sorted(interactions["USER_ID"].unique())
        batch = solutions["user-personalization"].batch_recommend(users, n=10)
        failed = int(batch["error"].notna().sum())
        say(f"Batch inference: {len(batch):,} users, 10 movies each, {failed} error(s)")

        # 8. Deploy user-personalization as a campaign (a context manager too: a
        #    campaign bills by the hour on AWS) and ask it for recommendations,
        #    leaving one genre out with a filter and its value.
        step("deploying a campaign")
        user_id = str(interactions["USER_ID"].value_counts().index[0])
        no_genre = pk.Filter.exclude_items("Items.GENRES IN ($genres)")
        with solutions["user-personalization"].deploy(min_tps=1, keep=keep) as campaign:
            recommendations = campaign.recommend(
                user_id=user_id,
                n=10,
                filter=no_genre,
                filter_values={"genres": [EXCLUDED_GENRE]},
            )
        say("")
        say(_recommendations_table(user_id, recommendations.item_ids, items))

        # 9. Tear down now, to print what was deleted (leaving the `with` would
        #    do the same, silently).
        step("tearing down")
        deleted: tuple[str, ...] = () if keep else (campaign.arn,)
        teardown = group.teardown()
        deleted += teardown.deleted
        kept = ((campaign.arn,) if keep else ()) + teardown.kept

        # 10. What this run would have cost on AWS: the workspace recorded what it did
        #     (bytes imported, training time, the campaign's lifetime and floor, the
        #     batch recommendations), priced with Personalize's dated prices.
        estimate = aws_bill(session, region=region, since=started)
    return QuickstartResult(
        workspace=folder,
        metrics=metrics,
        user_id=user_id,
        recommendations=tuple(recommendations.item_ids),
        batch=batch,
        deleted=deleted,
        kept=kept,
        seconds=0.0,
        bill=estimate,
    )


# --------------------------------------------------------------------------- printing


def _bill_text(estimate: Estimate) -> str:
    """ "On AWS this run would cost about $X", then the line items and their sources."""
    total = f"${estimate.total_usd:,.2f}"
    if not estimate.complete:
        total += " plus what has no known price"
    return f"On AWS ({estimate.region}) this run would cost about {total}:\n{estimate}"


def _metrics_table(metrics: Mapping[str, SolutionMetrics]) -> str:
    """The recipes' offline metrics side by side, one row per metric."""
    recipes = list(metrics)
    width = max(len(r) for r in recipes) + 2
    lines = [
        "Offline metrics (each user's latest interactions held out, as Personalize does):",
        f"  {'metric':<28}" + "".join(f"{r:>{width}}" for r in recipes),
    ]
    for name in SHOWN_METRICS:
        values = [getattr(metrics[r], name) for r in recipes]
        cells = "".join(f"{'-' if v is None else f'{v:.4f}':>{width}}" for v in values)
        lines.append(f"  {name:<28}{cells}")
    return "\n".join(lines)


def _recommendations_table(user_id: str, item_ids: list[str], items: Any) -> str:
    """Recommended movies with their titles and genres."""
    catalog = items.set_index("ITEM_ID")
    lines = [f"Top {len(item_ids)} for user {user_id}, no {EXCLUDED_GENRE}:"]
    for rank, item in enumerate(item_ids, 1):
        title = catalog.at[item, "TITLE"] if item in catalog.index else "?"
        genres = catalog.at[item, "GENRES"] if item in catalog.index else "?"
        lines.append(f"  {rank:>2}. {title}  [{genres}]")
    return "\n".join(lines)


class _Printer:
    """Prints results to ``out`` (progress goes to stderr)."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out

    def __call__(self, text: str) -> None:
        print(text, file=self._out, flush=True)


class _Steps:
    """Step progress: a "quickstart" line on the run's progress display, which the
    session shares, so the steps and the waits inside them show as one display."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._total = total
        self._done = 0
        # on unless switched off here or by PERSONAKIT_PROGRESS
        self.display = ProgressDisplay.resolve(None if enabled else False)
        self._op: Operation | None = None

    def __call__(self, label: str) -> None:
        self._done += 1
        logger.info("quickstart step %d/%d: %s", self._done, self._total, label)
        if self._op is None:
            self._op = self.display.operation("quickstart", phase=f"{self._total} steps")
        self._op.update(f"step {self._done}/{self._total}: {label}")

    def close(self) -> None:
        if self._op is not None:
            self._op.end(f"{self._done}/{self._total} steps")
            self._op = None
        self.display.close()


def _workspace(workspace: str | Path | None) -> tuple[Path, bool]:
    """The workspace folder, and whether it is a temporary one."""
    if workspace is None:
        return Path(tempfile.mkdtemp(prefix="personakit-quickstart-")), True
    return Path(workspace).expanduser(), False
