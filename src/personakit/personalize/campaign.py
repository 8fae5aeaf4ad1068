"""Campaigns: deployed solution versions, and real-time recommendations from them.

::

    with solution.deploy(min_tps=1) as campaign:        # deleted (and waited for) on exit
        recs = campaign.recommend(user_id="42", n=10,
                                  filter=pk.Filter.exclude_items("Items.GENRES IN ($genres)"),
                                  filter_values={"genres": ["Horror"]})
        recs.to_frame()

A campaign bills every hour it exists, for at least ``min_tps`` transactions per
second, whether it serves requests or not; so :meth:`Solution.deploy` returns a
context manager, and the dataset group's teardown deletes the campaign too. A
``filter=`` given as a :class:`personakit.Filter` (or an expression) is created in
the dataset group on first use, cached by expression, and deleted at teardown.
Domain dataset groups serve through a
:class:`~personakit.personalize.recommender.Recommender` instead.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from personakit.aws.wait import PERSONALIZE_UPDATE
from personakit.errors import ConfigurationError
from personakit.personalize.base import (
    Deployable,
    Group,
    Scoped,
    create_and_register,
    find_by,
    resource_name,
)
from personakit.personalize.serving import (
    FilterLike,
    Recommendations,
    Serves,
    SpendGuard,
    add_options,
    item_exploration,
    recommend_request,
    runtime_call,
    taken,
)
from personakit.personalize.teardown import Entry, TeardownReport, wait_or_teardown
from personakit.rules.facts import MAX_ACTIONS, MAX_INPUT_LIST

if TYPE_CHECKING:
    pass

__all__ = ["CAMPAIGN_TIMEOUT_S", "Campaign"]

logger = logging.getLogger(__name__)

#: Default deadline of campaign creation and updates (seconds).
CAMPAIGN_TIMEOUT_S = 3600.0


class Campaign(Serves, Scoped):
    """A deployed solution version answering real-time requests.

    Build one with :meth:`Solution.deploy`; use it as a context manager so it is
    deleted (and waited for) on exit.

    Attributes:
        solution: The solution it serves.
        arn: The campaign's ARN.
        name: Its name.
        solution_version_arn: The version it serves.
        min_tps: Its ``minProvisionedTPS`` (the minimum bill).
        owned: Created by this run (deleted on exit) or adopted.
    """

    def __init__(
        self,
        solution: Deployable,
        arn: str,
        name: str,
        solution_version_arn: str,
        min_tps: int,
        *,
        owned: bool,
        entry: Entry,
    ) -> None:
        self.solution = solution
        self.arn = arn
        self.name = name
        self.solution_version_arn = solution_version_arn
        self.min_tps = min_tps
        self.owned = owned
        self._entry = entry

    @property
    def group(self) -> Group:
        """The dataset group."""
        return self.solution.group

    # ------------------------------------------------------------------ create

    @classmethod
    def create(
        cls,
        solution: Deployable,
        min_tps: int = 1,
        *,
        name: str | None = None,
        exploration_weight: float | None = None,
        exploration_item_age_cut_off: float | None = None,
        enable_metadata: bool = False,
        keep: bool = False,
        wait: bool = True,
        timeout_s: float | None = None,
        guard: SpendGuard | None = None,
    ) -> Campaign:
        """Deploy the solution's latest version.

        Args:
            solution: What to deploy (its :attr:`Solution.version_arn`).
            min_tps: ``minProvisionedTPS``: the campaign bills for at least this many
                transactions per second, every hour, used or not.
            name: The campaign's name (unique in the account; default: the
                solution's name and the run id).
            exploration_weight: User-Personalization only: 0 (relevance) to 1
                (explore new items); AWS's default is 0.3.
            exploration_item_age_cut_off: User-Personalization only: days an item
                counts as new; AWS's default is 30.
            enable_metadata: ``enableMetadataWithRecommendations`` (extra cost), so
                ``recommend(metadata_columns=...)`` can return item metadata.
            keep: Keep the campaign at exit (and the solution and group it needs).
            wait: Wait until it is ``ACTIVE``.
            timeout_s: Deadline of that wait (None: 1 hour).
            guard: Asked ``guard.check_campaign(min_tps)`` once before
                ``CreateCampaign``, when no campaign of that name exists (an adopted
                campaign is not asked about; a :class:`~personakit.CostGuard` checks a
                month of the TPS floor against its budget).

        Raises:
            BudgetExceededError: From the guard; nothing was created.
            QuotaExceededError: 5 active campaigns per dataset group already.
            ResourceFailedError: The campaign reached ``CREATE FAILED``.
        """
        timeout_s = CAMPAIGN_TIMEOUT_S if timeout_s is None else timeout_s
        if isinstance(min_tps, bool) or not isinstance(min_tps, int) or min_tps < 1:
            raise ConfigurationError(f"min_tps must be an integer >= 1, got {min_tps!r}")
        kind = solution.recipe_type
        exploration = item_exploration(exploration_weight, exploration_item_age_cut_off)
        if exploration is not None and kind not in (None, "USER_PERSONALIZATION"):
            raise ConfigurationError(
                f"exploration settings apply to User-Personalization recipes only; "
                f"{solution.recipe_arn} is {kind}"
            )
        group = solution.group
        ctx = group._ctx
        personalize = ctx.personalize
        version = solution.version_arn
        cname = name or resource_name(solution.name, ctx.session.run_id)
        request: dict[str, Any] = {
            "name": cname,
            "solutionVersionArn": version,
            "minProvisionedTPS": min_tps,
            "tags": ctx.tags(),
        }
        config: dict[str, Any] = {}
        if exploration is not None:
            config["itemExplorationConfig"] = exploration
        if enable_metadata:
            config["enableMetadataWithRecommendations"] = True
        if config:
            request["campaignConfig"] = config

        def lookup() -> Mapping[str, Any] | None:
            return find_by(
                ctx,
                "list_campaigns",
                "campaigns",
                lambda s: s["name"] == cname,
            )

        def check(arn: str) -> None:
            theirs = ctx.call(personalize.describe_campaign, campaignArn=arn)["campaign"]
            if theirs.get("solutionVersionArn") != version:
                raise ConfigurationError(
                    f"a campaign named {cname!r} exists serving "
                    f"{theirs.get('solutionVersionArn')}; campaign names are unique in the "
                    "account: pass another name=..."
                )
            status = str(theirs.get("status", ""))
            if status.upper().startswith("DELETE"):
                raise ConfigurationError(f"campaign {cname!r} is being deleted ({status})")

        if guard is not None and not taken(lookup()):
            # asked once, outside create_or_adopt's retries; an adopted campaign costs
            # nothing more
            guard.check_campaign(min_tps)
        adopted, entry = create_and_register(
            ctx,
            group._teardown,
            "campaign",
            name=cname,
            create=lambda: personalize.create_campaign(**request),
            lookup=lookup,
            arn_key="campaignArn",
            parent=solution._entry,
            check=check,
            keep=keep,
        )
        campaign = cls(
            solution, adopted.arn, cname, version, min_tps, owned=adopted.owned, entry=entry
        )
        solution.campaigns.append(campaign)
        if wait:
            wait_or_teardown(group._teardown, entry, lambda: campaign.wait(timeout_s))
        return campaign

    def wait(self, timeout_s: float = CAMPAIGN_TIMEOUT_S) -> Campaign:
        """Wait until the campaign is ``ACTIVE``."""
        ctx = self.group._ctx
        ctx.wait(
            lambda: ctx.personalize.describe_campaign(campaignArn=self.arn),
            arn=self.arn,
            timeout_s=timeout_s,
            label=self.name,
        )
        return self

    def update(
        self,
        min_tps: int | None = None,
        *,
        solution_version_arn: str | None = None,
        exploration_weight: float | None = None,
        exploration_item_age_cut_off: float | None = None,
        wait: bool = True,
        timeout_s: float = CAMPAIGN_TIMEOUT_S,
        guard: SpendGuard | None = None,
    ) -> Campaign:
        """Change the campaign (``UpdateCampaign``); the old version serves until done.

        Args:
            min_tps: New ``minProvisionedTPS``.
            solution_version_arn: Serve this version (e.g. ``solution.version_arn``
                after :meth:`Solution.retrain`).
            exploration_weight: New ``explorationWeight`` (0 to 1).
            exploration_item_age_cut_off: New ``explorationItemAgeCutOff`` (days).
            wait: Wait until the update is ``ACTIVE``.
            timeout_s: How long to wait.
            guard: When ``min_tps`` raises the floor (``DescribeCampaign``'s
                ``minProvisionedTPS``), asked ``guard.check_campaign(min_tps,
                current_tps=...)`` before ``UpdateCampaign``: the increase is checked.

        Raises:
            BudgetExceededError: From the guard; nothing was sent.
        """
        request: dict[str, Any] = {"campaignArn": self.arn}
        if min_tps is not None:
            if isinstance(min_tps, bool) or not isinstance(min_tps, int) or min_tps < 1:
                raise ConfigurationError(f"min_tps must be an integer >= 1, got {min_tps!r}")
            request["minProvisionedTPS"] = min_tps
        if solution_version_arn is not None:
            request["solutionVersionArn"] = solution_version_arn
        exploration = item_exploration(exploration_weight, exploration_item_age_cut_off)
        if exploration is not None:
            request["campaignConfig"] = {"itemExplorationConfig": exploration}
        if len(request) == 1:
            raise ConfigurationError("update() needs something to change")
        ctx = self.group._ctx
        if guard is not None and min_tps is not None:
            theirs = ctx.call(ctx.personalize.describe_campaign, campaignArn=self.arn)["campaign"]
            current = int(theirs.get("minProvisionedTPS") or self.min_tps)
            if min_tps > current:
                guard.check_campaign(min_tps, current_tps=current)
        ctx.call(ctx.personalize.update_campaign, **request)
        if wait:
            ctx.wait(
                lambda: ctx.personalize.describe_campaign(campaignArn=self.arn),
                arn=self.arn,
                timeout_s=timeout_s,
                spec=PERSONALIZE_UPDATE,
                label=f"{self.name} update",
            )
        if min_tps is not None:
            self.min_tps = min_tps
        if solution_version_arn is not None:
            self.solution_version_arn = solution_version_arn
        return self

    # ------------------------------------------------------------------ runtime

    @property
    def _target(self) -> dict[str, str]:
        return {"campaignArn": self.arn}

    def _check_ids(self, user_id: str | None, item_id: str | None) -> None:
        kind = self.solution.recipe_type
        if kind == "PERSONALIZED_RANKING":
            raise ConfigurationError(
                "a Personalized-Ranking campaign ranks: use rank(user_id, items)"
            )
        if kind == "USER_PERSONALIZATION" and user_id is None:
            raise ConfigurationError("User-Personalization recommendations need user_id=")
        if kind == "RELATED_ITEMS" and item_id is None:
            raise ConfigurationError("related-items recommendations need item_id=")

    def recommend_actions(
        self,
        user_id: str,
        n: int = 5,
        *,
        filter: FilterLike | None = None,
        filter_values: Mapping[str, Any] | None = None,
    ) -> Recommendations:
        """The next best actions for a user (``GetActionRecommendations``).

        For campaigns of the ``next-best-action`` recipe (Actions and
        Action-Interactions datasets); each result's ``item_id`` is an action id.

        Args:
            user_id: The user.
            n: How many actions (1-100; Personalize's default is 5).
            filter: A ``personakit.Filter``, an expression or a filter ARN.
            filter_values: Values of the filter's ``$PLACEHOLDERS``.
        """
        kind = self.solution.recipe_type
        if kind not in (None, "PERSONALIZED_ACTIONS"):
            raise ConfigurationError(
                f"recommend_actions() needs a next-best-action campaign; {self.name} serves "
                f"a {kind} recipe: use recommend() or rank()"
            )
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_ACTIONS:
            raise ConfigurationError(f"n must be an integer from 1 to {MAX_ACTIONS}, got {n!r}")
        request = recommend_request(
            self.group,
            {"campaignArn": self.arn},
            user_id=user_id,
            item_id=None,
            n=n,
            filter=filter,
            filter_values=filter_values,
            context=None,
            promotions=None,
            metadata_columns=None,
        )
        return runtime_call(self.group, "get_action_recommendations", request, "actionList")

    def rank(
        self,
        user_id: str,
        items: Sequence[str],
        *,
        filter: FilterLike | None = None,
        filter_values: Mapping[str, Any] | None = None,
        context: Mapping[str, str] | None = None,
        metadata_columns: Mapping[str, Sequence[str]] | Sequence[str] | None = None,
    ) -> Recommendations:
        """Re-rank ``items`` for ``user_id`` (``GetPersonalizedRanking``; at most 500 items)."""
        ids = [str(i) for i in items]
        if not 1 <= len(ids) <= MAX_INPUT_LIST:
            raise ConfigurationError(f"rank() takes 1 to {MAX_INPUT_LIST} items, got {len(ids)}")
        request: dict[str, Any] = {
            "campaignArn": self.arn,
            "userId": str(user_id),
            "inputList": ids,
        }
        add_options(
            self.group,
            request,
            filter=filter,
            filter_values=filter_values,
            context=context,
            promotions=None,
            metadata_columns=metadata_columns,
        )
        return runtime_call(self.group, "get_personalized_ranking", request, "personalizedRanking")

    # ------------------------------------------------------------------ teardown

    def delete(self) -> TeardownReport:
        """Delete the campaign and wait until it is gone (whatever ``keep`` says)."""
        return self._delete_scope()

    # ------------------------------------------------------------------ display

    def __repr__(self) -> str:
        return f"Campaign({self.name!r}, min_tps={self.min_tps}, arn={self.arn!r})"

    def _repr_html_(self) -> str:
        return (
            f"<div><b>Campaign {html.escape(self.name)}</b> (min TPS {self.min_tps})<br>"
            f"<code>{html.escape(self.arn)}</code><br>serving "
            f"<code>{html.escape(self.solution_version_arn)}</code></div>"
        )
