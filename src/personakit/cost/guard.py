"""CostGuard: advice, estimates, what is running, and a budget check before anything bills.

Layer 3: it talks to the ``pricing`` client of a :class:`~personakit.session.Session`
(live prices) and, through :func:`~personakit.cost.inventory.running`, to its
``personalize`` and ``sagemaker`` clients (what already bills)::

    guard = pk.cost.CostGuard(session, budget_usd=15_000, credit_expires="2027-03-31")
    print(guard.advise("huggingface-llm-falcon-7b-bf16"))
    print(guard.status())                            # burn rate, projection to expiry
    guard.check_deploy("ml.g5.2xlarge", count=1)     # raises BudgetExceededError if too dear

``check_deploy`` refuses a deployment when a month (730 h) of it, plus a month of
what already runs, exceeds ``budget_usd - spent_usd``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from personakit.cost.advice import Advice, Comparison, advise, compare
from personakit.cost.catalog import HOURS_PER_MONTH, Catalog, Price
from personakit.cost.inventory import Inventory, running
from personakit.cost.personalize import PRICES, TPS_HOUR_TIERS, Estimate, estimate
from personakit.cost.pricing import refresh
from personakit.errors import BudgetExceededError, ConfigurationError

if TYPE_CHECKING:
    from personakit.session import Session

__all__ = ["BudgetStatus", "CostGuard", "DeployCheck"]

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
class DeployCheck:
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


@attrs.frozen(kw_only=True)
class BudgetStatus:
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

    @property
    def over_budget(self) -> bool:
        """Whether the projection exceeds the budget."""
        return self.projected_usd > self.budget_usd

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

    def _repr_html_(self) -> str:
        import html

        text = "<br>".join(html.escape(line) for line in str(self).splitlines())
        return f"<div>{text}</div>{self.inventory._repr_html_()}"


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
        count_running: count what already runs in the account and region
            (:meth:`running`) in :meth:`check_deploy`; ``False`` checks the new
            deployment alone.
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
    ) -> None:
        if budget_usd < 0 or spent_usd < 0:
            raise ConfigurationError("budget_usd and spent_usd must be >= 0")
        self.session = session
        self.budget_usd = float(budget_usd)
        self.spent_usd = float(spent_usd)
        self.credit_expires = _to_date(credit_expires)
        self.region = region or session.region
        self._catalog = catalog
        self._live = live_prices
        self._today = today
        self.count_running = count_running
        self._lock = threading.Lock()

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
        """:func:`personakit.cost.running` on this guard's session and catalog."""
        kwargs.setdefault("catalog", self.catalog)
        return running(self.session, **kwargs)

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
        ``inventory``, else listed with :meth:`running` (unless the guard was made
        with ``count_running=False``).

        Raises:
            BudgetExceededError: the projection exceeds what is left of the budget,
                or the credits have expired.
            ConfigurationError: ``count`` < 1, or no price is known for the type in
                the region (so the cost cannot be checked).
            KeyError: the instance type is not in the catalog.
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
        remaining, burn, note = self._admit(
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
            remaining_usd=remaining - per_month,
            note=note,
            running_usd_per_hour=burn,
        )
        logger.info("budget check passed: %s", check)
        return check

    def check_campaign(self, min_tps: int, *, inventory: Inventory | None = None) -> float:
        """Allow a campaign with ``min_tps`` only if a month of its floor fits the budget.

        A campaign bills at least ``minProvisionedTPS`` TPS-hours every hour it exists
        (reference personalize.md §9, first tier); :meth:`Solution.deploy
        <personakit.solution.Solution.deploy>` asks this before ``CreateCampaign``.

        Returns:
            The floor's cost per month (USD).

        Raises:
            BudgetExceededError: as :meth:`check_deploy`.
        """
        if isinstance(min_tps, bool) or not isinstance(min_tps, int) or min_tps < 1:
            raise ConfigurationError(f"min_tps must be an integer >= 1, got {min_tps!r}")
        rate = TPS_HOUR_TIERS[0][1]
        per_hour = min_tps * rate
        self._admit(
            f"a campaign at {min_tps} TPS",
            per_hour,
            f"minProvisionedTPS {min_tps} x ${rate:.2f}/TPS-hour (unverified price, "
            "reference personalize.md §9)",
            inventory,
        )
        return per_hour * HOURS_PER_MONTH

    def check_recommender(self, *, inventory: Inventory | None = None) -> float:
        """Allow a domain recommender only if a month of one active-user unit fits.

        A recommender bills per hour for each 100K active users while it is ACTIVE
        (reference personalize.md §9); :meth:`Recommender.create
        <personakit.campaign.Recommender.create>` asks this before ``CreateRecommender``.

        Returns:
            The cost per month of one unit (USD).

        Raises:
            BudgetExceededError: as :meth:`check_deploy`.
        """
        unit = PRICES["recommender"]
        per_hour = float(unit.usd or 0.0)
        self._admit("a recommender", per_hour, f"${per_hour:.3f} per {unit.unit}", inventory)
        return per_hour * HOURS_PER_MONTH

    def _admit(
        self, what: str, per_hour: float, priced: str, inventory: Inventory | None
    ) -> tuple[float, float, str | None]:
        """Refuse ``what`` when a month of it breaks the budget.

        Returns:
            What is left of the budget once what runs is counted (before ``what``),
            the burn rate of what runs, and a note on credits expiring within a month.
        """
        per_month = per_hour * HOURS_PER_MONTH
        if inventory is None and self.count_running:
            inventory = self.running()
        burn = inventory.usd_per_hour if inventory is not None else 0.0
        running_month = burn * HOURS_PER_MONTH
        remaining = self.remaining_usd - running_month
        projected = self.spent_usd + running_month + per_month
        note = None
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
                note = (
                    f"credits expire on {self.credit_expires.isoformat()} ({days} days); "
                    "delete it before then"
                )
        if per_month > remaining:
            already = (
                f" after {_usd(running_month)} a month for the {len(inventory)} resource(s) "
                f"already running ({_usd(burn)}/h)"
                if inventory is not None and burn
                else ""
            )
            raise BudgetExceededError(
                f"{what} costs {_usd(per_hour)}/h, {_usd(per_month)} a month (730 h), but "
                f"only {_usd(remaining)} of the {_usd(self.budget_usd)} budget is left"
                f"{already}; {priced}",
                what=what,
                projected_usd=projected,
                budget_usd=self.budget_usd,
                remaining_usd=remaining,
            )
        return remaining, burn, note

    def __repr__(self) -> str:
        expires = (
            f", credit_expires={self.credit_expires.isoformat()}" if self.credit_expires else ""
        )
        return (
            f"CostGuard(budget_usd={self.budget_usd:g}, spent_usd={self.spent_usd:g}, "
            f"region={self.region!r}{expires})"
        )


def _usd(value: float) -> str:
    return f"${value:,.2f}"
