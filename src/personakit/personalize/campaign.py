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

from botocore.exceptions import ClientError

from personakit.aws.wait import PERSONALIZE_UPDATE
from personakit.errors import ConfigurationError, ResourceStateError
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
        min_tps: Its ``minProvisionedTPS`` (the minimum bill), as the service last said.
        config: Its ``campaignConfig`` as the service last said (``{}`` until read).
        owned: Created by this run (deleted on exit) or adopted.

    The settings are those serving when last read (:meth:`refresh` reads them again):
    an update not yet ``ACTIVE`` is not reported as done.
    """

    _deleted = (
        "campaign {name!r} was deleted: its `with solution.deploy(...) as campaign:` block "
        "ended (or its dataset group's teardown, or campaign.delete(), deleted it). Call "
        "recommend() and rank() inside that block, or deploy with keep=True to keep the "
        "campaign after it (it bills every hour until deleted: campaign.delete() then)"
    )

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
        self.config: dict[str, Any] = {}
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
        min_tps: int | None = None,
        *,
        name: str | None = None,
        exploration_weight: float | None = None,
        exploration_item_age_cut_off: float | None = None,
        enable_metadata: bool | None = None,
        keep: bool = False,
        wait: bool = True,
        timeout_s: float | None = None,
        guard: SpendGuard | None = None,
    ) -> Campaign:
        """Deploy the solution's latest version.

        Args:
            solution: What to deploy (its :attr:`Solution.version_arn`).
            min_tps: ``minProvisionedTPS``: the campaign bills for at least this many
                transactions per second, every hour, used or not (``None``: 1 for a
                new campaign; an existing one keeps its own).
            name: The campaign's name (unique in the account; default: the
                solution's name and the run id).
            exploration_weight: User-Personalization only: 0 (relevance) to 1
                (explore new items); AWS's default is 0.3.
            exploration_item_age_cut_off: User-Personalization only: days an item
                counts as new; AWS's default is 30.
            enable_metadata: ``enableMetadataWithRecommendations`` (extra cost), so
                ``recommend(metadata_columns=...)`` can return item metadata (``None``:
                off for a new campaign; an existing one keeps its own).
            keep: Keep the campaign at exit (and the solution and group it needs); it
                is tagged ``personakit:keep=true`` when created, so ``personakit sweep``
                spares it even if no teardown ever runs.
            wait: Wait until it is ``ACTIVE``.
            timeout_s: Deadline of that wait (None: 1 hour).
            guard: Asked ``guard.check_campaign(min_tps)`` once before
                ``CreateCampaign``, when no campaign of that name exists (a
                :class:`~personakit.CostGuard` checks a month of the TPS floor against
                its budget). A campaign of that name that exists is adopted; if the
                settings given here (``min_tps``, the solution's latest version, the
                exploration settings, ``enable_metadata``) differ from its own, it is
                updated as :meth:`update` does (the guard asked about a higher floor,
                and the update waited for) when this run created it, and refused
                otherwise.

        The returned campaign's ``min_tps``, ``solution_version_arn`` and ``config``
        are what ``DescribeCampaign`` says, never only what was asked.

        Raises:
            BudgetExceededError: From the guard; nothing was created or changed.
            ConfigurationError: A campaign of that name exists with other settings
                and this run did not create it (nothing was changed); or the solution's
                recipe is a USER_SEGMENTATION one (Item-Affinity,
                Item-Attribute-Affinity), which campaigns cannot serve: use
                :attr:`Solution.batch_segments` (nothing is sent).
            ResourceStateError: The solution's version is not ``ACTIVE``: still
                training (call :meth:`Solution.wait` first) or failed.
            QuotaExceededError: 5 active campaigns per dataset group already.
            ResourceFailedError: The campaign reached ``CREATE FAILED``.
        """
        timeout_s = CAMPAIGN_TIMEOUT_S if timeout_s is None else timeout_s
        if min_tps is not None and (
            isinstance(min_tps, bool) or not isinstance(min_tps, int) or min_tps < 1
        ):
            raise ConfigurationError(f"min_tps must be an integer >= 1, got {min_tps!r}")
        tps = 1 if min_tps is None else min_tps
        kind = solution.recipe_type
        if kind == "USER_SEGMENTATION":
            raise ConfigurationError(
                f"solution {solution.name!r} uses {solution.recipe_arn.rsplit('/', 1)[-1]}, a "
                "USER_SEGMENTATION recipe: campaigns cannot serve it. Get its user segments "
                "with a batch segment job instead, solution.batch_segments(items) "
                "(https://docs.aws.amazon.com/personalize/latest/dg/creating-batch-seg-job.html)"
            )
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
            "minProvisionedTPS": tps,
            "tags": ctx.tags(keep=keep),
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

        seen: dict[str, Any] = {}

        def check(arn: str) -> None:
            theirs = ctx.call(personalize.describe_campaign, campaignArn=arn)["campaign"]
            seen.update(theirs)
            serving = str(theirs.get("solutionVersionArn") or "")
            if serving != version and not _same_solution(serving, version):
                raise ConfigurationError(
                    f"a campaign named {cname!r} exists serving {serving} (another "
                    "solution); campaign names are unique in the account: pass another name=..."
                )
            status = str(theirs.get("status", ""))
            if status.upper().startswith("DELETE"):
                raise ConfigurationError(f"campaign {cname!r} is being deleted ({status})")

        if guard is not None and not taken(lookup()):
            # asked once, outside create_or_adopt's retries; an adopted campaign is
            # asked about below, if its floor has to go up
            guard.check_campaign(tps)
        try:
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
        except ClientError as exc:
            # a version not ACTIVE is refused (ResourceInUseException; InvalidInputException
            # is checked too): say why, and what to do
            code = exc.response.get("Error", {}).get("Code")
            if code in ("ResourceInUseException", "InvalidInputException"):
                _raise_if_not_trained(solution, exc)
            raise
        campaign = cls(solution, adopted.arn, cname, version, tps, owned=adopted.owned, entry=entry)
        if not adopted.created:
            campaign._absorb(seen)  # what the service has, not what was asked
            changes = _changes(
                seen,
                min_tps=min_tps,
                version=version,
                exploration=exploration,
                enable_metadata=enable_metadata,
            )
            if changes:
                campaign._redeploy(changes, guard=guard, wait=wait, timeout_s=timeout_s)
        if all(c.arn != campaign.arn for c in solution.campaigns):
            solution.campaigns.append(campaign)
        if wait:
            wait_or_teardown(group._teardown, entry, lambda: campaign.wait(timeout_s))
        return campaign

    def _redeploy(
        self,
        changes: Mapping[str, Any],
        *,
        guard: SpendGuard | None,
        wait: bool,
        timeout_s: float,
    ) -> None:
        """Bring an adopted campaign to the settings of a deploy (``changes``: the
        ``UpdateCampaign`` members that differ), or refuse if this run did not create it."""
        said = "; ".join(_describe_change(k, v, self) for k, v in changes.items())
        if not self.owned:
            raise ConfigurationError(
                f"a campaign named {self.name!r} exists with other settings ({said}) and this "
                "run did not create it, so personakit does not change it: deploy with its "
                "settings to use it as it is (then campaign.update(...) changes it, through "
                "your guard), or pass another name=..."
            )
        logger.info(
            "campaign %s exists with other settings (%s): updating it",
            self.name,
            said,
            extra={"event": "personakit.campaign.redeploy", "arn": self.arn},
        )
        ctx = self.group._ctx
        theirs = ctx.wait(  # UpdateCampaign needs ACTIVE, and no update under way
            lambda: ctx.personalize.describe_campaign(campaignArn=self.arn),
            arn=self.arn,
            timeout_s=timeout_s,
            spec=PERSONALIZE_UPDATE,
            label=self.name,
        ).response
        self._absorb((theirs or {}).get("campaign") or {})
        self._update(
            changes.get("minProvisionedTPS"),
            changes.get("solutionVersionArn"),
            changes.get("campaignConfig") or {},
            wait=wait,
            timeout_s=timeout_s,
            guard=guard,
        )

    def wait(self, timeout_s: float = CAMPAIGN_TIMEOUT_S) -> Campaign:
        """Wait until the campaign is ``ACTIVE``."""
        ctx = self.group._ctx
        result = ctx.wait(
            lambda: ctx.personalize.describe_campaign(campaignArn=self.arn),
            arn=self.arn,
            timeout_s=timeout_s,
            label=self.name,
        )
        self._absorb((result.response or {}).get("campaign") or {})
        return self

    def refresh(self) -> Campaign:
        """Read ``min_tps``, ``solution_version_arn`` and ``config`` again
        (``DescribeCampaign``): the settings serving now."""
        ctx = self.group._ctx
        self._absorb(ctx.call(ctx.personalize.describe_campaign, campaignArn=self.arn)["campaign"])
        return self

    def _absorb(self, described: Mapping[str, Any]) -> None:
        """Take the settings a ``DescribeCampaign`` shows (the ones serving)."""
        if described.get("minProvisionedTPS") is not None:
            self.min_tps = int(described["minProvisionedTPS"])
        if described.get("solutionVersionArn"):
            self.solution_version_arn = str(described["solutionVersionArn"])
        if described.get("campaignConfig") is not None:
            self.config = dict(described["campaignConfig"])

    def update(
        self,
        min_tps: int | None = None,
        *,
        solution_version_arn: str | None = None,
        exploration_weight: float | None = None,
        exploration_item_age_cut_off: float | None = None,
        enable_metadata: bool | None = None,
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
            enable_metadata: New ``enableMetadataWithRecommendations``.
            wait: Wait until the update is ``ACTIVE``; until then the campaign's
                attributes keep the settings serving (see :meth:`refresh`).
            timeout_s: How long to wait.
            guard: When ``min_tps`` raises the floor (``DescribeCampaign``'s
                ``minProvisionedTPS``), asked ``guard.check_campaign(min_tps,
                current_tps=...)`` before ``UpdateCampaign``: the increase is checked.

        The ``campaignConfig`` sent is the current one with these changes merged in,
        so members not named here are kept.

        Raises:
            BudgetExceededError: From the guard; nothing was sent.
        """
        if min_tps is not None and (
            isinstance(min_tps, bool) or not isinstance(min_tps, int) or min_tps < 1
        ):
            raise ConfigurationError(f"min_tps must be an integer >= 1, got {min_tps!r}")
        config: dict[str, Any] = {}
        exploration = item_exploration(exploration_weight, exploration_item_age_cut_off)
        if exploration is not None:
            config["itemExplorationConfig"] = exploration
        if enable_metadata is not None:
            config["enableMetadataWithRecommendations"] = bool(enable_metadata)
        if min_tps is None and solution_version_arn is None and not config:
            raise ConfigurationError("update() needs something to change")
        return self._update(
            min_tps, solution_version_arn, config, wait=wait, timeout_s=timeout_s, guard=guard
        )

    def _update(
        self,
        min_tps: int | None,
        version: str | None,
        config: Mapping[str, Any],
        *,
        wait: bool,
        timeout_s: float,
        guard: SpendGuard | None,
    ) -> Campaign:
        ctx = self.group._ctx
        request: dict[str, Any] = {"campaignArn": self.arn}
        if min_tps is not None:
            request["minProvisionedTPS"] = min_tps
        if version is not None:
            request["solutionVersionArn"] = version
        theirs: Mapping[str, Any] = {}
        if config or (guard is not None and min_tps is not None):
            theirs = ctx.call(ctx.personalize.describe_campaign, campaignArn=self.arn)["campaign"]
        if config:
            request["campaignConfig"] = {**(theirs.get("campaignConfig") or {}), **config}
        if guard is not None and min_tps is not None:
            current = int(theirs.get("minProvisionedTPS") or self.min_tps)
            if min_tps > current:
                guard.check_campaign(min_tps, current_tps=current)
        ctx.call(ctx.personalize.update_campaign, **request)
        if not wait:
            return self  # the settings serving are still the old ones
        result = ctx.wait(
            lambda: ctx.personalize.describe_campaign(campaignArn=self.arn),
            arn=self.arn,
            timeout_s=timeout_s,
            spec=PERSONALIZE_UPDATE,
            label=f"{self.name} update",
        )
        # the update is ACTIVE: the campaign serves what was sent (and what it says)
        if min_tps is not None:
            self.min_tps = min_tps
        if version is not None:
            self.solution_version_arn = version
        if "campaignConfig" in request:
            self.config = dict(request["campaignConfig"])
        self._absorb((result.response or {}).get("campaign") or {})
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
        self._check_alive()
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
        self._check_alive()
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


def _raise_if_not_trained(solution: Deployable, exc: ClientError) -> None:
    """After ``CreateCampaign`` refused the version (``ResourceInUseException``): raise
    :class:`ResourceStateError` if the version is not ``ACTIVE`` (still training, or
    failed), saying what to do; return otherwise (the caller re-raises ``exc``)."""
    version = solution.version_arn
    ctx = solution.group._ctx
    try:
        described = ctx.call(ctx.personalize.describe_solution_version, solutionVersionArn=version)
    except ClientError:
        return
    status = str(described.get("solutionVersion", {}).get("status") or "")
    if not status or status.upper() == "ACTIVE":
        return
    if "FAILED" in status.upper() or "STOP" in status.upper():
        reason = described["solutionVersion"].get("failureReason")
        fix = (
            f"its training ended {status}{f' ({reason})' if reason else ''}: train a new "
            "version with solution.retrain(), then deploy"
        )
    else:
        fix = (
            f"it is still training ({status}): call solution.wait() first (it returns when "
            "the version is ACTIVE), then deploy; or train with wait=True, the default"
        )
    raise ResourceStateError(
        f"cannot deploy solution {solution.name!r}: a campaign serves an ACTIVE solution "
        f"version, and {version} is not; {fix} "
        "(https://docs.aws.amazon.com/personalize/latest/dg/API_CreateCampaign.html)",
        arn=version,
        status=status,
    ) from exc


def _same_solution(a: str, b: str) -> bool:
    """Whether two solution version ARNs (``.../solution/<name>/<id>``) share a solution."""
    return bool(a) and bool(b) and a.rsplit("/", 1)[0] == b.rsplit("/", 1)[0]


def _changes(
    theirs: Mapping[str, Any],
    *,
    min_tps: int | None,
    version: str,
    exploration: Mapping[str, str] | None,
    enable_metadata: bool | None,
) -> dict[str, Any]:
    """What ``UpdateCampaign`` must change for a described campaign to have the settings a
    deploy was given (``None``: not given): ``minProvisionedTPS``, ``solutionVersionArn``
    and the ``campaignConfig`` members a deploy sets (``campaignConfig`` holds only the
    changes)."""
    changes: dict[str, Any] = {}
    tps = theirs.get("minProvisionedTPS")
    if min_tps is not None and (tps is None or int(tps) != min_tps):
        changes["minProvisionedTPS"] = min_tps
    if theirs.get("solutionVersionArn") and theirs["solutionVersionArn"] != version:
        changes["solutionVersionArn"] = version
    config = theirs.get("campaignConfig") or {}
    wanted: dict[str, Any] = {}
    if exploration is not None:
        current = {str(k): str(v) for k, v in (config.get("itemExplorationConfig") or {}).items()}
        if {**current, **exploration} != current:
            wanted["itemExplorationConfig"] = {**current, **exploration}
    metadata = bool(config.get("enableMetadataWithRecommendations", False))
    if enable_metadata is not None and metadata != enable_metadata:
        wanted["enableMetadataWithRecommendations"] = enable_metadata
    if wanted:
        changes["campaignConfig"] = wanted
    return changes


def _describe_change(key: str, value: Any, campaign: Campaign) -> str:
    if key == "minProvisionedTPS":
        return f"min_tps {campaign.min_tps}, asked {value}"
    if key == "solutionVersionArn":
        return f"serving {campaign.solution_version_arn}, asked {value}"
    return f"campaignConfig {campaign.config}, asked {dict(value)}"
