"""CostGuard: advice, estimates, what is running, and a budget check before anything bills.

It talks to the ``pricing`` client of a :class:`~personakit.aws.session.Session`
(live prices) and, through :func:`~personakit.cost.inventory.running`, to its
``personalize`` and ``sagemaker`` clients (what already bills)::

    guard = pk.cost.CostGuard(session, budget_usd=15_000, credit_expires="2027-03-31")
    print(guard.advise("huggingface-llm-falcon-7b-bf16"))
    print(guard.status())                            # burn rate, projection to expiry
    guard.check_deploy("ml.g5.2xlarge", count=1)     # raises BudgetExceededError if too dear

``check_deploy`` refuses a deployment when a month (730 h) of it, plus a month of
what already runs, exceeds ``budget_usd - spent_usd``.

What already runs comes from a lean listing (:func:`~personakit.cost.running` with
``lean=True``: no tags, no batch jobs), bounded by ``deadline_s`` and kept for
``cache_s`` so a burst of deploys lists the account once. A check that passes adds
its hourly cost to a pending amount for ``cache_s`` (the new resource may not be
listed yet). A listing with gaps (access denied, a connection error, the deadline,
a resource without a price) never passes silently: the check logs a WARNING and says
so in its ``note``; with ``strict=True`` it refuses.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from personakit.cost.advice import Advice, Comparison, advise, compare
from personakit.cost.catalog import HOURS_PER_MONTH, Catalog, Price
from personakit.cost.inventory import RPS_HOUR_USD, Inventory, running
from personakit.cost.personalize import PRICES, PRICING_URL, TPS_HOUR_TIERS, Estimate, estimate
from personakit.cost.pricing import refresh
from personakit.errors import BudgetExceededError, ConfigurationError
from personakit.rules.display import Display, html_fields, short_repr

if TYPE_CHECKING:
    from personakit.aws.session import Session
    from personakit.aws.timing import Timing

__all__ = ["BudgetCheck", "BudgetStatus", "CostGuard", "DeployCheck"]

logger = logging.getLogger(__name__)


def _to_date(value: dt.date | dt.datetime | str | None) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ConfigurationError(
            f"credit_expires={value!r}: pass a date or an ISO date string like '2027-03-31'"
        ) from None


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


@attrs.frozen(kw_only=True)
class DeployCheck(Display):
    """A deployment :meth:`CostGuard.check_deploy` allowed, and what it will cost."""

    instance_type: str
    count: int
    region: str
    price: Price
    usd_per_hour: float
    usd_per_month: float
    remaining_usd: float
    note: str | None = None
    running_usd_per_hour: float = 0.0
    gaps: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether what already runs was fully listed and priced (no :attr:`gaps`)."""
        return not self.gaps

    def __str__(self) -> str:
        already = (
            f" after {_usd(self.running_usd_per_hour * HOURS_PER_MONTH)}/month already running"
            if self.running_usd_per_hour
            else ""
        )
        text = (
            f"{self.count} x {self.instance_type} in {self.region}: ${self.usd_per_hour:,.4g}/h, "
            f"${self.usd_per_month:,.2f}/month; ${self.remaining_usd:,.2f} of the budget left"
            f"{already}"
        )
        return text + (f" ({self.note})" if self.note else "")

    def __repr__(self) -> str:
        return short_repr(
            self,
            f"{self.count} x {self.instance_type}",
            region=self.region,
            usd_per_hour=round(self.usd_per_hour, 4),
            remaining_usd=round(self.remaining_usd, 2),
        )

    def _repr_html_(self) -> str:
        return html_fields(
            [
                ("instance type", f"{self.count} x {self.instance_type}"),
                ("region", self.region),
                ("per hour", f"${self.usd_per_hour:,.4g}"),
                ("per month", _usd(self.usd_per_month)),
                ("already running", f"{_usd(self.running_usd_per_hour)}/h"),
                ("budget left", _usd(self.remaining_usd)),
                ("note", self.note),
            ],
            title="Deploy allowed",
            notes=self.gaps,
        )


@attrs.frozen(kw_only=True)
class BudgetCheck(Display):
    """A Personalize deploy (or a raised floor) :class:`CostGuard` allowed, and its cost.

    Attributes:
        what: What was checked (``"a campaign at 2 TPS"``, ``"raising a campaign
            from 1 to 3 TPS"``).
        usd_per_hour: What it adds per hour (for a raised floor, the increase only).
        usd_per_month: The same over a month (730 h).
        remaining_usd: What is left of the budget after a month of it and of what
            already runs.
        running_usd_per_hour: The burn rate of what already runs (with what the
            guard approved in the last ``cache_s`` seconds).
        note: Credits expiring within a month; what already runs may be more than
            counted (see :attr:`gaps`).
        gaps: Why the burn rate may be understated (what could not be listed or
            priced); empty when the listing was complete.
    """

    what: str
    usd_per_hour: float
    usd_per_month: float
    remaining_usd: float
    running_usd_per_hour: float = 0.0
    note: str | None = None
    gaps: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether what already runs was fully listed and priced (no :attr:`gaps`)."""
        return not self.gaps

    def __str__(self) -> str:
        text = (
            f"{self.what}: ${self.usd_per_hour:,.4g}/h, ${self.usd_per_month:,.2f}/month; "
            f"${self.remaining_usd:,.2f} of the budget left"
        )
        return text + (f" ({self.note})" if self.note else "")

    def __repr__(self) -> str:
        return short_repr(
            self,
            repr(self.what),
            usd_per_hour=round(self.usd_per_hour, 4),
            remaining_usd=round(self.remaining_usd, 2),
        )

    def _repr_html_(self) -> str:
        return html_fields(
            [
                ("what", self.what),
                ("per hour", f"${self.usd_per_hour:,.4g}"),
                ("per month", _usd(self.usd_per_month)),
                ("already running", f"{_usd(self.running_usd_per_hour)}/h"),
                ("budget left", _usd(self.remaining_usd)),
                ("note", self.note),
            ],
            title="Budget check passed",
            notes=self.gaps,
        )


@attrs.frozen(kw_only=True)
class _Admitted:
    remaining: float
    burn: float
    note: str | None
    gaps: tuple[str, ...]


@attrs.frozen(kw_only=True)
class BudgetStatus(Display):
    """Where the budget stands: spent, burning, projected to the credits' expiry.

    Attributes:
        budget_usd: The budget.
        spent_usd: Already spent.
        usd_per_hour: The burn rate of what runs now (:attr:`Inventory.usd_per_hour`).
        horizon_hours: Hours projected over: until the credits expire, else a month.
        projected_usd: ``spent_usd + usd_per_hour x horizon_hours``.
        remaining_usd: ``budget_usd - projected_usd`` (negative: the budget runs out).
        credit_expires: When the credits expire, if known.
        runs_out_at: When, at this burn rate, ``spent_usd`` reaches the budget
            (``None`` when nothing burns).
        inventory: What runs.
        as_of: When the projection starts (the listing's time, unless
            :meth:`CostGuard.status` was given ``now``).
    """

    budget_usd: float
    spent_usd: float
    usd_per_hour: float
    horizon_hours: float
    projected_usd: float
    remaining_usd: float
    credit_expires: dt.date | None
    runs_out_at: dt.datetime | None
    inventory: Inventory
    as_of: dt.datetime | None = None

    @property
    def over_budget(self) -> bool:
        """Whether the projection exceeds the budget."""
        return self.projected_usd > self.budget_usd

    def plot(self, ax: Any = None) -> Any:
        """The credits burning down: what is left of the budget from now to the credits'
        expiry (else over :attr:`horizon_hours`) at the current burn rate, where it runs
        out, and what is over budget or left unused at the end.

        Needs matplotlib (``pip install 'personakit[plots]'``).

        Args:
            ax: The matplotlib Axes to draw on; a new figure when ``None``.

        Returns:
            The Axes.
        """
        from personakit.rules import plots  # matplotlib only when a plot is drawn

        start = self.as_of or self.inventory.taken_at
        expires = (
            dt.datetime.combine(self.credit_expires, dt.time(), tzinfo=dt.timezone.utc)
            if self.credit_expires is not None
            else None
        )
        return plots.burndown(
            start=start,
            end=start + dt.timedelta(hours=self.horizon_hours),
            left_usd=self.budget_usd - self.spent_usd,
            usd_per_hour=self.usd_per_hour,
            budget_usd=self.budget_usd,
            expires=expires,
            runs_out=self.runs_out_at,
            ax=ax,
            what="BudgetStatus.plot()",
        )

    def __str__(self) -> str:
        until = (
            f"to the credits' expiry on {self.credit_expires.isoformat()}"
            if self.credit_expires
            else "over a month"
        )
        lines = [
            f"budget {_usd(self.budget_usd)}, spent {_usd(self.spent_usd)}, burning "
            f"{_usd(self.usd_per_hour)}/h ({_usd(self.usd_per_hour * 24)}/day)",
            f"projected {_usd(self.projected_usd)} {until} ({self.horizon_hours:,.0f} h): "
            + (
                f"{_usd(-self.remaining_usd)} OVER budget"
                if self.over_budget
                else f"{_usd(self.remaining_usd)} left"
            ),
        ]
        if self.runs_out_at is not None:
            lines.append(
                f"at this rate the budget runs out on {self.runs_out_at:%Y-%m-%d %H:%M} UTC"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return short_repr(
            self,
            budget_usd=self.budget_usd,
            spent_usd=self.spent_usd,
            usd_per_hour=round(self.usd_per_hour, 4),
            remaining_usd=round(self.remaining_usd, 2),
        )

    def _repr_html_(self) -> str:
        fields = html_fields(
            [
                ("budget", _usd(self.budget_usd)),
                ("spent", _usd(self.spent_usd)),
                ("burning", f"{_usd(self.usd_per_hour)}/h ({_usd(self.usd_per_hour * 24)}/day)"),
                (
                    "credits expire",
                    self.credit_expires.isoformat() if self.credit_expires else None,
                ),
                (f"projected ({self.horizon_hours:,.0f} h)", _usd(self.projected_usd)),
                (
                    "over budget" if self.over_budget else "left",
                    _usd(abs(self.remaining_usd)),
                ),
                (
                    "runs out",
                    f"{self.runs_out_at:%Y-%m-%d %H:%M} UTC" if self.runs_out_at else None,
                ),
            ],
            title="Budget status",
        )
        return fields + self.inventory._repr_html_()


class CostGuard:
    """A budget, a price catalog and the advice built on them.

    Args:
        session: the session whose ``pricing`` client reads live prices.
        budget_usd: the money (or credits) available.
        credit_expires: when the credits expire (a date or ISO string); after that,
            nothing more may be deployed against them.
        spent_usd: already spent from the budget.
        catalog: use this catalog instead of reading prices (tests, offline work).
        region: the region deployments go to; the session's by default.
        live_prices: read prices from the Price List API on first use (falls back
            to the packaged snapshot offline); ``False`` uses the snapshot directly.
        today: the clock for credit expiry (injectable for tests).
        count_running: count what already runs in the account and region in the
            checks (a lean listing, see :meth:`inventory`); ``False`` checks the new
            deployment alone.
        strict: refuse (:class:`~personakit.errors.BudgetExceededError`) when what
            already runs could not be fully listed or priced; by default such a check
            passes on what was counted, with a WARNING and the gaps in its ``note``.
        deadline_s: how long the listing of what runs may take; it stops there and
            says what it did not list.
        cache_s: how long a listing is reused by later checks; a check that passes
            counts its own cost on top for as long.
        timing: retry policy, sleeps and clock of the listing (tests); the clock
            also times ``deadline_s`` and ``cache_s``.
    """

    def __init__(
        self,
        session: Session,
        budget_usd: float,
        *,
        credit_expires: dt.date | dt.datetime | str | None = None,
        spent_usd: float = 0.0,
        catalog: Catalog | None = None,
        region: str | None = None,
        live_prices: bool = True,
        today: Callable[[], dt.date] = _today,
        count_running: bool = True,
        strict: bool = False,
        deadline_s: float = 30.0,
        cache_s: float = 60.0,
        timing: Timing | None = None,
    ) -> None:
        if budget_usd < 0 or spent_usd < 0:
            raise ConfigurationError("budget_usd and spent_usd must be >= 0")
        if not deadline_s > 0 or cache_s < 0:
            raise ConfigurationError(
                f"deadline_s must be > 0 and cache_s >= 0, got {deadline_s!r} and {cache_s!r}"
            )
        self.session = session
        self.budget_usd = float(budget_usd)
        self.spent_usd = float(spent_usd)
        self.credit_expires = _to_date(credit_expires)
        self.region = region or session.region
        self._catalog = catalog
        self._live = live_prices
        self._today = today
        self.count_running = count_running
        self.strict = strict
        self.deadline_s = float(deadline_s)
        self.cache_s = float(cache_s)
        self._timing = timing
        effective = timing if timing is not None else session.timing
        self._clock: Callable[[], float] = (
            effective.clock if effective is not None else time.monotonic
        )
        # one lock: the catalog, the cached listing and the pending amounts; a check
        # holds it from the listing to the approval, so two threads cannot both
        # spend the same money
        self._lock = threading.RLock()
        self._listed: tuple[float, Inventory] | None = None
        self._pending: list[tuple[float, float]] = []

    # ------------------------------------------------------------------ catalog

    @property
    def catalog(self) -> Catalog:
        """The price catalog: given, else read live once (falling back offline)."""
        with self._lock:
            if self._catalog is None:
                self._catalog = refresh(self.session, self.region) if self._live else Catalog.load()
            return self._catalog

    @property
    def remaining_usd(self) -> float:
        """``budget_usd - spent_usd``; :meth:`status` projects what runs on top."""
        return self.budget_usd - self.spent_usd

    # ------------------------------------------------------------------ running

    def running(self, **kwargs: Any) -> Inventory:
        """:func:`personakit.cost.running` on this guard's session and catalog (a full listing)."""
        kwargs.setdefault("catalog", self.catalog)
        kwargs.setdefault("timing", self._timing)
        return running(self.session, **kwargs)

    def inventory(self, *, refresh: bool = False) -> Inventory:
        """What the checks count as running: a lean listing, reused for ``cache_s``.

        :func:`personakit.cost.running` with ``lean=True`` and ``deadline_s``; the
        approvals of the last ``cache_s`` seconds are not in it (see
        :attr:`pending_usd_per_hour`).

        Args:
            refresh: List again even if the cached listing is fresh.
        """
        with self._lock:
            now = self._clock()
            if not refresh and self._listed is not None and now - self._listed[0] < self.cache_s:
                return self._listed[1]
            listed = running(
                self.session,
                catalog=self.catalog,
                timing=self._timing,
                lean=True,
                deadline_s=self.deadline_s,
            )
            self._listed = (now, listed)
            return listed

    @property
    def pending_usd_per_hour(self) -> float:
        """What checks approved in the last ``cache_s`` seconds, per hour.

        The checks count it on top of :meth:`inventory`: a resource approved a
        moment ago may not be listed yet (its create may still be retrying). Once
        it is listed, it is counted twice until its approval is ``cache_s`` old: the
        guard errs towards refusing.
        """
        with self._lock:
            return self._pending_total(self._clock())

    def _pending_total(self, now: float) -> float:
        self._pending = [(t, usd) for t, usd in self._pending if now - t < self.cache_s]
        return math.fsum(usd for _, usd in self._pending)

    def status(
        self, inventory: Inventory | None = None, *, now: dt.datetime | None = None
    ) -> BudgetStatus:
        """Burn rate, spend projected to the credits' expiry (else over a month), what is left.

        Args:
            inventory: What runs; listed with :meth:`running` when ``None``.
            now: The current time (tests); UTC now when ``None``.
        """
        inventory = inventory if inventory is not None else self.running()
        now = now or inventory.taken_at
        if self.credit_expires is not None:
            end = dt.datetime.combine(self.credit_expires, dt.time(), tzinfo=dt.timezone.utc)
            horizon = max(0.0, (end - now).total_seconds() / 3600)
        else:
            horizon = HOURS_PER_MONTH
        burn = inventory.usd_per_hour
        projected = self.spent_usd + burn * horizon
        runs_out = None
        if burn > 0:
            hours = max(0.0, self.budget_usd - self.spent_usd) / burn
            runs_out = now + dt.timedelta(hours=hours)
        return BudgetStatus(
            budget_usd=self.budget_usd,
            spent_usd=self.spent_usd,
            usd_per_hour=burn,
            horizon_hours=horizon,
            projected_usd=projected,
            remaining_usd=self.budget_usd - projected,
            credit_expires=self.credit_expires,
            runs_out_at=runs_out,
            inventory=inventory,
            as_of=now,
        )

    # ------------------------------------------------------------------ advice

    def advise(self, model: Any, **kwargs: Any) -> Advice:
        """:func:`personakit.cost.advise` on this guard's catalog and region."""
        kwargs.setdefault("region", self.region)
        kwargs.setdefault("catalog", self.catalog)
        return advise(model, **kwargs)

    def compare(self, a: str, b: str, **kwargs: Any) -> Comparison:
        """:func:`personakit.cost.compare` on this guard's catalog and region."""
        kwargs.setdefault("region", self.region)
        kwargs.setdefault("catalog", self.catalog)
        return compare(a, b, **kwargs)

    def estimate(self, **kwargs: Any) -> Estimate:
        """:func:`personakit.cost.estimate` (Amazon Personalize) in this guard's region."""
        kwargs.setdefault("region", self.region)
        return estimate(**kwargs)

    # ------------------------------------------------------------------ budget

    def check_deploy(
        self,
        instance_type: str,
        count: int = 1,
        region: str | None = None,
        *,
        inventory: Inventory | None = None,
    ) -> DeployCheck:
        """Allow ``count`` x ``instance_type`` only if a month of it fits the remaining budget.

        The projection is ``(price per hour x count + what already runs per hour) x
        730 h`` against ``budget_usd - spent_usd``. What already runs is
        ``inventory``, else the guard's cached lean listing (:meth:`inventory`) plus
        what it approved in the last ``cache_s`` seconds (unless the guard was made
        with ``count_running=False``).

        Raises:
            BudgetExceededError: the projection exceeds what is left of the budget,
                the credits have expired, or (``strict=True``) what already runs
                could not be fully listed or priced.
            ConfigurationError: ``count`` < 1, or no price is known for the type in
                the region (so the cost cannot be checked).
            UnsupportedInstanceError: the instance type is not in the catalog (a
                ``ConfigurationError``; the message names the family's sizes and a
                "did you mean").
        """
        if count < 1:
            raise ConfigurationError(f"count must be >= 1, got {count!r}")
        region = region or self.region
        price = self.catalog.price(instance_type, region)
        if price is None:
            raise ConfigurationError(
                f"no Hosting price for {instance_type} in {region} in the catalog "
                f"({self.catalog.describe_age()}), so its cost cannot be checked; refresh "
                "prices with personakit.cost.refresh(session, region) or pass a catalog"
            )
        per_hour = price.usd_per_hour * count
        per_month = per_hour * HOURS_PER_MONTH
        admitted = self._admit(
            f"{count} x {instance_type}",
            per_hour,
            f"price {price} in {region} from {price.source}",
            inventory,
        )
        check = DeployCheck(
            instance_type=instance_type,
            count=count,
            region=region,
            price=price,
            usd_per_hour=per_hour,
            usd_per_month=per_month,
            remaining_usd=admitted.remaining - per_month,
            note=admitted.note,
            running_usd_per_hour=admitted.burn,
            gaps=admitted.gaps,
        )
        logger.info("budget check passed: %s", check)
        return check

    def check_campaign(
        self,
        min_tps: int,
        *,
        current_tps: int | None = None,
        inventory: Inventory | None = None,
    ) -> BudgetCheck:
        """Allow a campaign with ``min_tps`` only if a month of its floor fits the budget.

        A campaign bills at least ``minProvisionedTPS`` TPS-hours every hour it exists
        (the first TPS-hour tier, an unverified rate: https://aws.amazon.com/personalize/pricing/);
        :meth:`Solution.deploy
        <personakit.personalize.solution.Solution.deploy>` asks this before ``CreateCampaign``
        (only when no campaign of that name exists), :meth:`Campaign.update
        <personakit.personalize.campaign.Campaign.update>` before raising ``minProvisionedTPS``.

        Args:
            min_tps: The (new) floor.
            current_tps: The campaign's floor now, when raising it: only the increase
                is checked (nothing, when it is not an increase).
            inventory: What already runs; the guard's listing when ``None``.

        Raises:
            BudgetExceededError: as :meth:`check_deploy`.
        """
        _positive_int("min_tps", min_tps)
        if current_tps is not None:
            _positive_int("current_tps", current_tps)
        rate = TPS_HOUR_TIERS[0][1]
        more = min_tps - (current_tps or 0)
        what = (
            f"a campaign at {min_tps} TPS"
            if current_tps is None
            else f"raising a campaign from {current_tps} to {min_tps} TPS"
        )
        priced = (
            f"minProvisionedTPS {more} x ${rate:.2f}/TPS-hour (unverified price, {PRICING_URL})"
        )
        return self._budget_check(what, max(0, more) * rate, priced, inventory)

    def check_recommender(
        self,
        *,
        min_rps: int = 1,
        current_rps: int | None = None,
        inventory: Inventory | None = None,
    ) -> BudgetCheck:
        """Allow a domain recommender only if a month of its floor fits the budget.

        A recommender bills per hour for each 100K active users while it is ACTIVE,
        and for at least ``minRecommendationRequestsPerSecond`` x 3,600
        recommendations an hour (unverified prices: https://aws.amazon.com/personalize/pricing/).
        The guard counts one active-user unit plus each request per second above the
        first as 3,600 extra recommendations an hour (≈$0.0833 per 1,000): an upper
        bound, as some recommendations each hour are free. :meth:`Recommender.create
        <personakit.personalize.recommender.Recommender.create>` asks this before
        ``CreateRecommender`` (only when no recommender of that name exists),
        :meth:`Recommender.update <personakit.personalize.recommender.Recommender.update>` before
        raising ``min_rps``.

        Args:
            min_rps: The (new) ``minRecommendationRequestsPerSecond``.
            current_rps: The recommender's floor now, when raising it: only the
                increase is checked (nothing, when it is not an increase).
            inventory: What already runs; the guard's listing when ``None``.

        Raises:
            BudgetExceededError: as :meth:`check_deploy`.
        """
        _positive_int("min_rps", min_rps)
        unit = PRICES["recommender"]
        unit_usd = float(unit.usd or 0.0)
        if current_rps is None:
            more = min_rps - 1
            per_hour = unit_usd + more * RPS_HOUR_USD
            what = "a recommender" + (f" at {min_rps} requests/s" if min_rps > 1 else "")
            priced = (
                f"${unit_usd:.3f} per {unit.unit}"
                + (
                    f" + {more} request(s)/s above the first x ${RPS_HOUR_USD:.4g}/h"
                    if more
                    else ""
                )
                + f" (unverified prices, {PRICING_URL})"
            )
        else:
            _positive_int("current_rps", current_rps)
            more = min_rps - current_rps
            per_hour = max(0, more) * RPS_HOUR_USD
            what = f"raising a recommender from {current_rps} to {min_rps} requests/s"
            priced = (
                f"{more} request(s)/s x ${RPS_HOUR_USD:.4g}/h (3,600 extra recommendations an "
                f"hour at ≈$0.0833 per 1,000; unverified price, {PRICING_URL})"
            )
        return self._budget_check(what, per_hour, priced, inventory)

    def check_plan(
        self,
        plan: Estimate,
        *,
        times: float = 1.0,
        what: str | None = None,
        inventory: Inventory | None = None,
    ) -> BudgetCheck:
        """Allow a plan on AWS only if what it would cost fits the remaining budget.

        ``plan`` is what a run would cost: :func:`personakit.cost.bill` of a local run
        (the same journey, rehearsed offline), or any :class:`Estimate`. Ask this
        before the first billable ``Create*`` on AWS: it sends no ``Create*`` request,
        and refuses when ``plan.total_usd x times`` plus a month of what already runs
        exceeds ``budget_usd - spent_usd``. Line items without a known price are not
        in the total: the check says so in its note, and a ``strict`` guard refuses.

        Args:
            plan: The estimate of the run.
            times: How many times the run will be made (a run a day for a month: 30).
            what: How to name the plan in messages.
            inventory: What already runs; the guard's listing when ``None``.

        Raises:
            BudgetExceededError: the plan does not fit, the credits have expired, or
                (``strict``) the plan or the listing of what runs is incomplete.
        """
        if not times > 0 or math.isinf(times):
            raise ConfigurationError(f"times must be a positive number, got {times!r}")
        cost = plan.total_usd * times
        label = what or f"the plan ({plan.period} in {plan.region}" + (
            f", x {times:g})" if times != 1 else ")"
        )
        unpriced = [i.item for i in plan.items if i.subtotal_usd is None]
        if unpriced and self.strict:
            raise BudgetExceededError(
                f"{label} refused: the guard is strict and the plan has lines without a known "
                f"price ({', '.join(unpriced)}; {PRICING_URL}), so its cost is not known",
                what=label,
                projected_usd=self.spent_usd + cost,
                budget_usd=self.budget_usd,
                remaining_usd=self.remaining_usd,
            )
        priced = f"the plan's line items total {_usd(cost)}" + (
            f" (without {', '.join(unpriced)}: no known price)" if unpriced else ""
        )
        try:
            # a month of per-hour cost is the plan's cost: the same admission as a deploy
            check = self._budget_check(label, cost / HOURS_PER_MONTH, priced, inventory)
        except BudgetExceededError as exc:
            raise BudgetExceededError(
                f"{label} would cost about {_usd(cost)} on AWS; refused before anything is "
                f"created ({exc})",
                what=label,
                projected_usd=exc.projected_usd,
                budget_usd=exc.budget_usd,
                remaining_usd=exc.remaining_usd,
            ) from None
        if unpriced:
            extra = f"not counted, no known price: {', '.join(unpriced)}"
            note = f"{check.note}; {extra}" if check.note else extra
            check = attrs.evolve(check, note=note)
        return check

    def _budget_check(
        self, what: str, per_hour: float, priced: str, inventory: Inventory | None
    ) -> BudgetCheck:
        if per_hour <= 0:
            # lowering (or keeping) a floor costs nothing more: nothing to list
            return BudgetCheck(
                what=what, usd_per_hour=0.0, usd_per_month=0.0, remaining_usd=self.remaining_usd
            )
        admitted = self._admit(what, per_hour, priced, inventory)
        per_month = per_hour * HOURS_PER_MONTH
        check = BudgetCheck(
            what=what,
            usd_per_hour=per_hour,
            usd_per_month=per_month,
            remaining_usd=admitted.remaining - per_month,
            running_usd_per_hour=admitted.burn,
            note=admitted.note,
            gaps=admitted.gaps,
        )
        logger.info("budget check passed: %s", check)
        return check

    def _admit(
        self, what: str, per_hour: float, priced: str, inventory: Inventory | None
    ) -> _Admitted:
        """Refuse ``what`` when a month of it breaks the budget; else count it as pending.

        Holds the guard's lock from the listing to the approval.

        Returns:
            What is left of the budget once what runs is counted (before ``what``),
            the burn rate of what runs, a note (credits expiring within a month; gaps
            in the listing) and the gaps.
        """
        with self._lock:
            return self._admit_locked(what, per_hour, priced, inventory)

    def _admit_locked(
        self, what: str, per_hour: float, priced: str, inventory: Inventory | None
    ) -> _Admitted:
        per_month = per_hour * HOURS_PER_MONTH
        own = inventory is None and self.count_running
        pending = 0.0
        if own:
            inventory = self.inventory()
            pending = self._pending_total(self._clock())
        gaps = inventory.gaps if inventory is not None else ()
        listed = inventory.usd_per_hour if inventory is not None else 0.0
        burn = listed + pending
        running_month = burn * HOURS_PER_MONTH
        remaining = self.remaining_usd - running_month
        projected = self.spent_usd + running_month + per_month
        gap_text = (
            "what already runs may cost more than counted, the listing is incomplete: "
            + "; ".join(gaps)
            if gaps
            else None
        )
        if gaps and self.strict:
            raise BudgetExceededError(
                f"{what} ({_usd(per_month)}/month) refused: the guard is strict and {gap_text}",
                what=what,
                projected_usd=projected,
                budget_usd=self.budget_usd,
                remaining_usd=remaining,
            )
        notes = []
        if self.credit_expires is not None:
            days = (self.credit_expires - self._today()).days
            if days < 0:
                raise BudgetExceededError(
                    f"the credits expired on {self.credit_expires.isoformat()}: {what} "
                    f"({_usd(per_month)}/month) would be billed to you",
                    what=what,
                    projected_usd=projected,
                    budget_usd=self.budget_usd,
                    remaining_usd=0.0,
                )
            if days * 24 < HOURS_PER_MONTH:
                notes.append(
                    f"credits expire on {self.credit_expires.isoformat()} ({days} days); "
                    "delete it before then"
                )
        if per_month > remaining:
            already = ""
            if burn:
                count = len(inventory) if inventory is not None else 0
                recent = (
                    f" and {len(self._pending)} deploy(s) approved in the last {self.cache_s:g} s"
                    if pending
                    else ""
                )
                already = (
                    f" after {_usd(running_month)} a month for the {count} resource(s){recent} "
                    f"already running ({_usd(burn)}/h)"
                )
            left = (
                f"only {_usd(remaining)} of the {_usd(self.budget_usd)} budget is left{already}"
                if remaining >= 0
                else f"nothing is left of the {_usd(self.budget_usd)} budget: it is already "
                f"over budget by {_usd(-remaining)}{already}"
            )
            raise BudgetExceededError(
                f"{what} costs {_usd(per_hour)}/h, {_usd(per_month)} a month (730 h), but "
                f"{left}; {priced}" + (f"; note: {gap_text}" if gap_text else "") + ". "
                "To go ahead, delete what you no longer need (`personakit cost running` "
                "lists what bills), pick a cheaper instance type (`personakit cost advise "
                "MODEL`), or raise budget_usd",
                what=what,
                projected_usd=projected,
                budget_usd=self.budget_usd,
                remaining_usd=remaining,
            )
        if gap_text:
            logger.warning("budget check of %s passed on an incomplete count: %s", what, gap_text)
            notes.append(gap_text)
        if own:
            self._pending.append((self._clock(), per_hour))
        return _Admitted(
            remaining=remaining,
            burn=burn,
            note="; ".join(notes) or None,
            gaps=gaps,
        )

    def __repr__(self) -> str:
        expires = (
            f", credit_expires={self.credit_expires.isoformat()}" if self.credit_expires else ""
        )
        strict = ", strict=True" if self.strict else ""
        return (
            f"CostGuard(budget_usd={self.budget_usd:g}, spent_usd={self.spent_usd:g}, "
            f"region={self.region!r}{expires}{strict})"
        )


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be an integer >= 1, got {value!r}")
