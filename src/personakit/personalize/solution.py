"""Solutions, solution versions (training) and their offline metrics.

::

    solution = group.train("user-personalization")   # CreateSolution + CreateSolutionVersion, waits
    print(solution.metrics)                          # coverage, precision_at_10, ndcg ...
    solution.retrain()                               # a new FULL version
    with solution.deploy(min_tps=1) as campaign:     # see personakit.personalize.campaign
        ...

Decisions (``docs/solutions.md`` has the why):

* ``performAutoTraining`` is sent as ``False`` unless ``auto_training=True`` (or a
  ``"rate(N days)"`` schedule): AWS defaults it to ``True``, which trains a new
  version every 7 days, for money, until the solution is deleted
  (https://docs.aws.amazon.com/personalize/latest/dg/solution-config-auto-training.html).
* Recipes take short names (``"user-personalization"``, ``"sims"``, ...), mapped to
  ``arn:aws:personalize:::recipe/aws-...``; full ARNs pass through.
* A version that fails raises :class:`~personakit.errors.ResourceFailedError` at
  once, with Personalize's ``failureReason``. If :meth:`Solution.create` fails, times
  out or is interrupted, the solution it created is deleted (in-progress training
  stopped first), unless the group keeps everything.
"""

from __future__ import annotations

import html
import json
import logging
import re
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import attrs

from personakit.errors import ConfigurationError
from personakit.personalize.base import (
    CLOCK_SKEW,
    Group,
    Scoped,
    create_and_register,
    create_or_adopt,
    find_all,
    find_by,
    forwards_to,
    resource_name,
    short_hash,
)
from personakit.personalize.campaign import Campaign
from personakit.personalize.teardown import (
    SETTLED,
    Entry,
    TeardownReport,
    run_guarded,
    wait_or_teardown,
)
from personakit.rules.display import Display, short_repr
from personakit.rules.facts import RecipeType, recipe_arn, recipe_type

if TYPE_CHECKING:
    import pandas as pd

    from personakit.personalize.batch import BatchRunner


__all__ = ["METRIC_LABELS", "Solution", "SolutionMetrics", "version_label"]

logger = logging.getLogger(__name__)

_SCHEDULE = re.compile(r"^rate\((\d+) days?\)\Z")
_CONFIG_KEYS = frozenset(
    {
        "eventValueThreshold",
        "hpoConfig",
        "algorithmHyperParameters",
        "featureTransformationParameters",
        "autoMLConfig",
        "eventsConfig",
        "optimizationObjective",
        "trainingDataConfig",
        "autoTrainingConfig",
    }
)

#: Default deadlines (seconds).
TRAIN_TIMEOUT_S = 12 * 3600.0
SOLUTION_TIMEOUT_S = 1800.0
STOP_TIMEOUT_S = 3600.0


def _schedule(auto_training: bool | str) -> str | None:
    if not isinstance(auto_training, str):
        return None
    match = _SCHEDULE.match(auto_training.strip())
    if not match or not 1 <= int(match.group(1)) <= 30:
        raise ConfigurationError(
            f"auto_training takes True, False or 'rate(N days)' with N from 1 to 30, "
            f"got {auto_training!r}"
        )
    return auto_training.strip()


# --------------------------------------------------------------------------- metrics


_METRIC_KEYS = {
    "coverage": "coverage",
    "mean_reciprocal_rank_at_25": "mean_reciprocal_rank_at_25",
    "ndcg_at_5": "normalized_discounted_cumulative_gain_at_5",
    "ndcg_at_10": "normalized_discounted_cumulative_gain_at_10",
    "ndcg_at_25": "normalized_discounted_cumulative_gain_at_25",
    "precision_at_5": "precision_at_5",
    "precision_at_10": "precision_at_10",
    "precision_at_25": "precision_at_25",
    "average_rewards_at_k": "average_rewards_at_k",
}


#: Short names of the metrics, for the ticks of a chart.
METRIC_LABELS = {
    "coverage": "coverage",
    "mean_reciprocal_rank_at_25": "MRR@25",
    "ndcg_at_5": "NDCG@5",
    "ndcg_at_10": "NDCG@10",
    "ndcg_at_25": "NDCG@25",
    "precision_at_5": "precision@5",
    "precision_at_10": "precision@10",
    "precision_at_25": "precision@25",
    "average_rewards_at_k": "rewards@k",
}


def version_label(arn: str) -> str:
    """``"movies-up/1a2b3c4d"`` for ``arn:aws:personalize:...:solution/movies-up/1a2b3c4d``."""
    return arn.partition(":solution/")[2] or arn


def _floats(value: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): float(v) for k, v in value.items()}


@attrs.frozen
class SolutionMetrics(Display):
    """Offline metrics of a solution version (``GetSolutionMetrics``).

    Personalize computes them on a hold-out: the latest 10 % of each of 10 % of
    users' interactions
    (https://docs.aws.amazon.com/personalize/latest/dg/working-with-training-metrics.html).
    A metric the recipe does not produce is
    ``None``; ``raw`` has every key Personalize returned.

    Attributes:
        solution_version_arn: The version measured.
        coverage: Share of items that might be recommended.
        mean_reciprocal_rank_at_25: Mean of 1/rank of the first relevant item in the top 25.
        ndcg_at_5, ndcg_at_10, ndcg_at_25: NDCG at K (Personalize's key:
            ``normalized_discounted_cumulative_gain_at_K``, kept in ``raw``).
        precision_at_5, precision_at_10, precision_at_25: Relevant items in the top K / K.
        average_rewards_at_k: With an optimization objective only.
        raw: Every metric, by Personalize's own key.
    """

    solution_version_arn: str
    coverage: float | None = None
    mean_reciprocal_rank_at_25: float | None = None
    ndcg_at_5: float | None = None
    ndcg_at_10: float | None = None
    ndcg_at_25: float | None = None
    precision_at_5: float | None = None
    precision_at_10: float | None = None
    precision_at_25: float | None = None
    average_rewards_at_k: float | None = None
    raw: Mapping[str, float] = attrs.field(factory=dict, converter=_floats)

    @classmethod
    def from_response(cls, response: Mapping[str, Any]) -> SolutionMetrics:
        """Build from a ``GetSolutionMetrics`` response."""
        raw = _floats(response.get("metrics") or {})
        known: dict[str, Any] = {attr: raw.get(key) for attr, key in _METRIC_KEYS.items()}
        return cls(str(response.get("solutionVersionArn", "")), raw=raw, **known)

    def to_frame(self) -> pd.DataFrame:
        """One row per metric Personalize returned, indexed by ``metric``, column ``value``.

        Rows are named as the attributes are (``ndcg_at_10``); a key Personalize
        returned that has no attribute keeps its own name (``raw`` has them all as sent).
        """
        import pandas as pd

        present = self._present()
        return pd.DataFrame(
            {"metric": [name for name, _ in present], "value": [value for _, value in present]}
        ).set_index("metric")

    def to_dict(self) -> dict[str, float]:
        """The metrics the recipe produced, by attribute name (``ndcg_at_10``, ...)."""
        return {a: v for a in _METRIC_KEYS if (v := getattr(self, a)) is not None}

    def plot(self, ax: Any = None, *, label: str | None = None) -> Any:
        """A bar per metric; :func:`personakit.compare_solutions` puts several versions
        side by side. Needs matplotlib (``pip install 'personakit[plots]'``).

        Args:
            ax: The matplotlib Axes to draw on; a new figure when ``None``.
            label: The legend entry; the solution name and version id by default.

        Returns:
            The Axes.
        """
        from personakit.rules import plots  # matplotlib only when a plot is drawn

        values = self.to_dict()
        name = label or version_label(self.solution_version_arn)
        return plots.grouped_bars(
            [METRIC_LABELS[a] for a in values],
            {name: list(values.values())},
            ax=ax,
            what="SolutionMetrics.plot()",
            title="Offline metrics (Personalize's hold-out)",
            ylabel="score",
        )

    def _present(self) -> list[tuple[str, float]]:
        shown = [(a, v) for a in _METRIC_KEYS if (v := getattr(self, a)) is not None]
        extra = [(k, v) for k, v in self.raw.items() if k not in _METRIC_KEYS.values()]
        return shown + extra

    def __str__(self) -> str:
        lines = [f"  {name:<28} {value:.4f}" for name, value in self._present()]
        return "\n".join([f"SolutionMetrics({self.solution_version_arn})", *lines])

    def __repr__(self) -> str:
        shown = {k: round(v, 4) for k, v in self._present()[:3]}
        return short_repr(self, repr(self.solution_version_arn), **shown)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{html.escape(k)}</code></td><td>{v:.4f}</td></tr>"
            for k, v in self._present()
        )
        return (
            f"<div><b>Solution metrics</b> <code>{html.escape(self.solution_version_arn)}</code>"
            f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table></div>"
        )


# --------------------------------------------------------------------------- solutions


class Solution(Scoped):
    """A Personalize solution and its versions, trained through a :class:`DatasetGroup`.

    Build one with :meth:`create` (or ``group.train(...)``). Use it as a context
    manager to delete it (and its campaigns) on exit; otherwise the group's teardown
    deletes it.

    Attributes:
        group: The dataset group.
        arn: The solution's ARN.
        name: Its name.
        recipe_arn: Its recipe.
        versions: ARNs of the versions trained through this object, oldest first.
        auto_training: Whether AWS retrains it on a schedule (``performAutoTraining``).
        campaigns: Campaigns deployed from it through this object.
    """

    def __init__(
        self,
        group: Group,
        arn: str,
        name: str,
        recipe: str,
        *,
        auto_training: bool,
        entry: Entry,
    ) -> None:
        self.group = group
        self.arn = arn
        self.name = name
        self.recipe_arn = recipe
        self.auto_training = auto_training
        self.versions: list[str] = []
        self.campaigns: list[Campaign] = []
        self._entry = entry
        self._version_entries: dict[str, Entry] = {}
        self._metrics: dict[str, SolutionMetrics] = {}

    @property
    def recipe_type(self) -> RecipeType | None:
        """The recipe type, when the recipe is one personakit knows."""
        return recipe_type(self.recipe_arn)

    @property
    def version_arn(self) -> str:
        """The latest version trained through this object."""
        if not self.versions:
            raise ConfigurationError(f"solution {self.name!r} has no version yet: retrain() it")
        return self.versions[-1]

    # ------------------------------------------------------------------ create

    @classmethod
    def create(
        cls,
        group: Group,
        recipe: str = "user-personalization",
        *,
        name: str | None = None,
        event_type: str | None = None,
        event_value_threshold: float | None = None,
        hpo: bool = False,
        hyperparameters: Mapping[str, object] | None = None,
        auto_training: bool | str = False,
        training_mode: Literal["FULL", "UPDATE"] = "FULL",
        solution_config: Mapping[str, Any] | None = None,
        wait: bool = True,
        timeout_s: float | None = None,
    ) -> Solution:
        """Create a solution and train its first version.

        Args:
            group: The dataset group with the data.
            recipe: A short name (``"user-personalization"``, ``"sims"``,
                ``"popularity-count"``, ...; see
                :data:`~personakit.rules.facts.RECIPES`) or a recipe ARN.
            name: The solution's name (default: group, recipe and a hash of the
                settings, so the same settings find the same solution again).
            event_type: Train only on interactions of this ``EVENT_TYPE``.
            event_value_threshold: Train only on interactions whose ``EVENT_VALUE`` is
                at least this.
            hpo: Hyperparameter optimization (``performHPO``; costs more training hours).
            hyperparameters: ``algorithmHyperParameters`` (values sent as strings).
            auto_training: ``False`` (default: no surprise bills), ``True`` (AWS's
                weekly retraining) or a schedule ``"rate(N days)"``, N from 1 to 30.
            training_mode: ``"FULL"``, or ``"UPDATE"`` (User-Personalization only,
                needs an earlier FULL version).
            solution_config: More ``solutionConfig`` members, merged over the above.
            wait: Wait for training to finish.
            timeout_s: Deadline of that wait (None: 12 hours).

        Raises:
            ResourceFailedError: Training failed (``failure_reason`` says why).
            ResourceStoppedError: Training was stopped.
            WaitTimeoutError: ``timeout_s`` passed first (the training is then
                stopped and the solution deleted).
        """
        timeout_s = TRAIN_TIMEOUT_S if timeout_s is None else timeout_s
        arn_of_recipe = recipe_arn(recipe)
        schedule = _schedule(auto_training)
        auto = bool(auto_training)
        config: dict[str, Any] = {}
        if event_value_threshold is not None:
            config["eventValueThreshold"] = _num(event_value_threshold)
        if hyperparameters:
            config["algorithmHyperParameters"] = {
                str(k): _num(v) if isinstance(v, (int, float)) else str(v)
                for k, v in hyperparameters.items()
            }
        if schedule is not None:
            config["autoTrainingConfig"] = {"schedulingExpression": schedule}
        for key, value in (solution_config or {}).items():
            if key not in _CONFIG_KEYS:
                known = ", ".join(sorted(_CONFIG_KEYS))
                raise ConfigurationError(f"unknown solutionConfig member {key!r}; known: {known}")
            config[key] = value
        if training_mode not in ("FULL", "UPDATE"):
            raise ConfigurationError(f"training_mode must be FULL or UPDATE, got {training_mode!r}")
        ctx = group._ctx
        personalize = ctx.personalize
        settings = json.dumps(
            [arn_of_recipe, event_type, config, hpo, auto], sort_keys=True, default=str
        )
        short = arn_of_recipe.rsplit("/", 1)[-1].removeprefix("aws-")
        sname = name or resource_name(group.name, short, short_hash(settings, n=6))
        request: dict[str, Any] = {
            "name": sname,
            "datasetGroupArn": group.arn,
            "recipeArn": arn_of_recipe,
            "performHPO": bool(hpo),
            "performAutoTraining": auto,
            "tags": ctx.tags(),
        }
        if event_type is not None:
            request["eventType"] = event_type
        if config:
            request["solutionConfig"] = config

        def lookup() -> Mapping[str, Any] | None:
            return find_by(
                ctx,
                "list_solutions",
                "solutions",
                lambda s: s["name"] == sname,
                datasetGroupArn=group.arn,
            )

        def check(arn: str) -> None:
            theirs = ctx.call(personalize.describe_solution, solutionArn=arn)["solution"]
            problems = []
            if theirs.get("recipeArn") != arn_of_recipe:
                problems.append(f"recipe {theirs.get('recipeArn')}")
            if theirs.get("eventType") != event_type:
                problems.append(f"event type {theirs.get('eventType')!r}")
            if bool(theirs.get("performAutoTraining", True)) != auto:
                problems.append(f"performAutoTraining={theirs.get('performAutoTraining', True)}")
            status = str(theirs.get("status", ""))
            if status.upper().startswith("DELETE"):
                problems.append(f"status {status}")
            if problems:
                raise ConfigurationError(
                    f"a solution named {sname!r} exists with {'; '.join(problems)}: pass "
                    "another name=..."
                )

        adopted, entry = create_and_register(
            ctx,
            group._teardown,
            "solution",
            name=sname,
            create=lambda: personalize.create_solution(**request),
            lookup=lookup,
            arn_key="solutionArn",
            parent=group._entry,
            check=check,
        )
        solution = cls(group, adopted.arn, sname, arn_of_recipe, auto_training=auto, entry=entry)
        group.solutions.append(solution)
        try:
            ctx.wait(
                lambda: personalize.describe_solution(solutionArn=adopted.arn),
                arn=adopted.arn,
                timeout_s=SOLUTION_TIMEOUT_S,
                label=sname,
            )
            solution._new_version(training_mode)
            if wait:
                solution.wait(timeout_s)
        except BaseException as exc:
            if adopted.owned:
                run_guarded(group._teardown, entry, exc)
            else:
                for version in solution._version_entries.values():
                    run_guarded(group._teardown, version, exc)
            raise
        return solution

    def _new_version(self, mode: Literal["FULL", "UPDATE"]) -> str:
        """``CreateSolutionVersion``, sent at most once per call even when a response is lost.

        Every call names its version (``pk-<mode>-<run id>-<random>``). A version's ARN
        is not made from its name, and AWS documents no refusal of a second create for
        the same solution, so a blind resend after a lost response may start (and bill)
        a second training that nothing tracks. Instead, a retry after an attempt whose
        response was lost first lists the solution's versions created since the call
        began and adopts the one of that name; if AWS answers a resend with
        ``ResourceAlreadyExistsException`` (the name) or ``ResourceInUseException``
        (the first training under way), that version is adopted too.
        """
        ctx = self.group._ctx
        personalize = ctx.personalize
        vname = resource_name("pk", mode.lower(), ctx.session.run_id, secrets.token_hex(4))
        since = ctx.timing.now() - CLOCK_SKEW

        def find() -> str | None:
            for summary in find_all(
                ctx, "list_solution_versions", "solutionVersions", solutionArn=self.arn
            ):
                created = summary.get("creationDateTime")
                if created is not None and created < since:
                    continue
                arn = str(summary["solutionVersionArn"])
                described = ctx.call(personalize.describe_solution_version, solutionVersionArn=arn)
                if described["solutionVersion"].get("name") == vname:
                    return arn
            return None

        adopted = create_or_adopt(
            ctx,
            what="solution version",
            name=vname,
            create=lambda: personalize.create_solution_version(
                solutionArn=self.arn, name=vname, trainingMode=mode, tags=ctx.tags()
            ),
            arn_key="solutionVersionArn",
            find=find,
            on_lost=lambda arn: self.group._teardown.add(
                "solution_version", arn, parent=self._entry, label=vname
            ),
        )
        arn = adopted.arn
        self._version_entries[arn] = self.group._teardown.add(
            "solution_version", arn, owned=adopted.owned, parent=self._entry, label=vname
        )
        self.versions.append(arn)
        logger.info(
            "training %s (%s) started: %s",
            self.name,
            mode,
            arn,
            extra={"event": "personakit.train.start", "arn": arn},
        )
        return arn

    # ------------------------------------------------------------------ training

    def wait(self, timeout_s: float = TRAIN_TIMEOUT_S) -> Solution:
        """Wait until the latest version is trained (``ACTIVE``).

        Raises:
            ResourceFailedError: Training failed, with Personalize's ``failureReason``.
            ResourceStoppedError: Training was stopped.
            WaitTimeoutError: ``timeout_s`` passed first.
        """
        arn = self.version_arn
        ctx = self.group._ctx
        personalize = ctx.personalize
        entry = self._version_entries.get(arn)
        try:
            ctx.wait(
                lambda: personalize.describe_solution_version(solutionVersionArn=arn),
                arn=arn,
                timeout_s=timeout_s,
                label=f"{self.name} training",
                training=True,
            )
        except Exception as exc:
            if entry is not None and getattr(exc, "status", None):
                entry.state = "settled"  # failed or stopped: nothing in flight
            raise
        if entry is not None:
            entry.state = "settled"
        return self

    def describe_version(self, arn: str | None = None) -> Mapping[str, Any]:
        """``DescribeSolutionVersion`` of the latest (or the given) version."""
        ctx = self.group._ctx
        response = ctx.call(
            ctx.personalize.describe_solution_version, solutionVersionArn=arn or self.version_arn
        )
        return dict(response["solutionVersion"])

    def stop(self, *, wait: bool = True) -> str:
        """Stop the latest version's training (``StopSolutionVersionCreation``).

        Billed for the training done so far; a stopped version cannot be resumed.
        Returns the version's status (``CREATE STOPPED`` once waited for).
        """
        arn = self.version_arn
        ctx = self.group._ctx
        self.group._teardown.stop_version(arn)
        if not wait:
            return str(self.describe_version(arn).get("status"))
        result = ctx.wait(
            lambda: ctx.personalize.describe_solution_version(solutionVersionArn=arn),
            arn=arn,
            timeout_s=STOP_TIMEOUT_S,
            spec=SETTLED,
            label=f"{self.name} stop",
        )
        entry = self._version_entries.get(arn)
        if entry is not None:
            entry.state = "settled"
        return str(result.status)

    def retrain(
        self,
        mode: Literal["FULL", "UPDATE"] = "FULL",
        *,
        wait: bool = True,
        timeout_s: float = TRAIN_TIMEOUT_S,
    ) -> Solution:
        """Train a new version (``FULL``: on all data; ``UPDATE``: add new items).

        ``UPDATE`` is for User-Personalization and needs a FULL version; it stops
        the automatic 2-hourly updates until the next FULL version
        (https://docs.aws.amazon.com/personalize/latest/dg/API_CreateSolutionVersion.html).
        If the wait is interrupted, the new training is stopped.
        """
        if mode not in ("FULL", "UPDATE"):
            raise ConfigurationError(f"mode must be FULL or UPDATE, got {mode!r}")
        arn = self._new_version(mode)
        if wait:
            wait_or_teardown(
                self.group._teardown, self._version_entries[arn], lambda: self.wait(timeout_s)
            )
        return self

    @property
    def metrics(self) -> SolutionMetrics:
        """Offline metrics of the latest version (``GetSolutionMetrics``, asked once)."""
        arn = self.version_arn
        cached = self._metrics.get(arn)
        if cached is None:
            ctx = self.group._ctx
            response = ctx.call(ctx.personalize.get_solution_metrics, solutionVersionArn=arn)
            cached = SolutionMetrics.from_response(response)
            self._metrics[arn] = cached
        return cached

    # ------------------------------------------------------------------ deploy

    @forwards_to(Campaign.create)
    def deploy(self, *args: Any, **kwargs: Any) -> Campaign:
        """Deploy the latest version as a campaign: :meth:`Campaign.create
        <personakit.personalize.campaign.Campaign.create>` of this solution, same arguments.

        ``guard`` (e.g. a :class:`~personakit.CostGuard`) is asked before
        ``CreateCampaign`` and raises :class:`~personakit.errors.BudgetExceededError`
        when a month of the campaign's TPS floor would break its budget. Deploying
        again (a campaign of that name exists) with another ``min_tps`` updates that
        campaign, the guard asked about the increase first; the campaign returned
        reports what the service has.

        A version still training (``train(..., wait=False)``) raises
        :class:`~personakit.errors.ResourceStateError`: call :meth:`wait` first. An
        Item-Affinity or Item-Attribute-Affinity solution raises
        :class:`~personakit.errors.ConfigurationError` before any call: campaigns
        cannot serve USER_SEGMENTATION recipes, use :attr:`batch_segments`.
        """
        return Campaign.create(self, *args, **kwargs)

    # ------------------------------------------------------------------ batch

    @property
    def batch_recommend(self) -> BatchRunner:
        """Recommendations for many users (or items) with one batch inference job (no campaign).

        Call it as a function (a :class:`~personakit.personalize.batch.BatchRunner`):

        * ``data``: User ids (a sequence, or a DataFrame with ``user_id``); item ids for
          related-items recipes (``item_id``); for Personalized-Ranking, a DataFrame
          with ``user_id`` and ``items`` (lists), a mapping ``{user: [items]}`` or
          ``(user, items)`` pairs. A ``filter_values`` column gives per-row values.
        * ``n``: Recommendations per line (1-500; ignored by ranking, which returns the list).
        * ``filter``: A ``personakit.Filter``, an expression or a filter ARN.
        * ``filter_values``: Placeholder values for every line (lists are encoded as
          Personalize wants them).
        * ``job_name``: The job's name (default: derived from the input, so the same
          request in the same run adopts the job already made).
        * ``wait``: Wait and return the DataFrame; ``False`` returns the :class:`BatchJob`.
        * ``timeout_s``: Deadline of the wait.
        * ``themes``: The Items column holding item names (``"TITLE"``) to get batch
          recommendations with themes (Content Generator, ``THEME_GENERATION``;
          Similar-Items solutions only, whose Items dataset has a textual field): the
          frame gets a ``theme`` per input item and ``theme_scores`` (relevance, the
          ``item_ids`` ranked by it) instead of ``scores``; the input is split into
          files of 100 items
          (https://docs.aws.amazon.com/personalize/latest/dg/themed-batch-recommendations.html).
          On :meth:`Session.local <personakit.aws.session.Session.local>` the theme is
          written by its ``theme_writer``, else built from item metadata.

        Raises:
            ValidationError: The input breaks a rule (every problem listed), before upload.
            ConfigurationError: No role or bucket in the session, or a bad ``n``;
                ``themes`` for a solution that is not Similar-Items (before anything is sent).
            ResourceFailedError: The job failed, with Personalize's ``failureReason``.
        """
        from personakit.personalize.batch import batch_runner  # start-up: only when used

        return batch_runner(
            self, "inference", name="batch_recommend", doc=Solution.batch_recommend.__doc__
        )

    @property
    def batch_segments(self) -> BatchRunner:
        """User segments (users most likely to interact) with one batch segment job.

        For Item-Affinity and Item-Attribute-Affinity solutions.

        Call it as a function (a :class:`~personakit.personalize.batch.BatchRunner`):

        * ``data``: Item ids (Item-Affinity), or attribute queries
          (``'ITEMS.genres = "Comedy"'``) / mappings (``{"genres": "Comedy"}``) for
          Item-Attribute-Affinity. Longer inputs than a file may hold (500 items,
          10 queries) are split into several files of one job.
        * ``n``: Users per segment (1 to 5 million).
        * ``filter``: A filter on users (``INCLUDE UserID WHERE Users.AGE > 30``...).
        * ``filter_values``: Its placeholder values.
        * ``job_name``: The job's name (default: derived from the input).
        * ``wait``: Wait and return the DataFrame; ``False`` returns the :class:`BatchJob`.
        * ``timeout_s``: Deadline of the wait.
        """
        from personakit.personalize.batch import batch_runner  # start-up: only when used

        return batch_runner(
            self, "segment", name="batch_segments", doc=Solution.batch_segments.__doc__
        )

    # ------------------------------------------------------------------ teardown

    def delete(self) -> TeardownReport:
        """Delete the solution now (its campaigns first; training in progress is stopped)."""
        return self.group._teardown.run(self._entry, force=True)

    # ------------------------------------------------------------------ display

    def __repr__(self) -> str:
        recipe = self.recipe_arn.rsplit("/", 1)[-1]
        return f"Solution({self.name!r}, recipe={recipe!r}, versions={len(self.versions)})"

    def _repr_html_(self) -> str:
        versions = "".join(f"<li><code>{html.escape(v)}</code></li>" for v in self.versions)
        metrics = ""
        if self.versions and self.versions[-1] in self._metrics:
            metrics = self._metrics[self.versions[-1]]._repr_html_()
        return (
            f"<div><b>Solution {html.escape(self.name)}</b> "
            f"(<code>{html.escape(self.recipe_arn)}</code>)<ul>{versions}</ul>{metrics}</div>"
        )


def _num(value: object) -> str:
    """A number as Personalize's string-typed members want it (``1.0`` -> ``"1.0"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
