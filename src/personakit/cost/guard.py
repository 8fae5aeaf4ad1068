"""CostGuard: advice, estimates and a budget check before anything that bills by the hour.

This is the first half of CostGuard (layer 3: it talks to the ``pricing`` client
of a :class:`~personakit.session.Session`). It gives the advice functions a
catalog with the session's live prices, and refuses a deployment whose projected
monthly cost exceeds what is left of the budget::

    guard = pk.cost.CostGuard(session, budget_usd=15_000, credit_expires="2027-03-31")
    print(guard.advise("huggingface-llm-falcon-7b-bf16"))
    guard.check_deploy("ml.g5.2xlarge", count=1)     # raises BudgetExceededError if too dear

What is left of the budget is ``budget_usd - spent_usd`` here; the inventory of
running resources (endpoints, campaigns) is not subtracted yet.
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
from personakit.cost.personalize import Estimate, estimate
from personakit.cost.pricing import refresh
from personakit.errors import BudgetExceededError, ConfigurationError

if TYPE_CHECKING:
    from personakit.session import Session

__all__ = ["CostGuard", "DeployCheck"]

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

    def __str__(self) -> str:
        text = (
            f"{self.count} x {self.instance_type} in {self.region}: ${self.usd_per_hour:,.4g}/h, "
            f"${self.usd_per_month:,.2f}/month; ${self.remaining_usd:,.2f} of the budget left"
        )
        return text + (f" ({self.note})" if self.note else "")


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
        """``budget_usd - spent_usd`` (running resources are not counted yet)."""
        return self.budget_usd - self.spent_usd

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
        self, instance_type: str, count: int = 1, region: str | None = None
    ) -> DeployCheck:
        """Allow ``count`` x ``instance_type`` only if a month of it fits the remaining budget.

        The projection is ``price per hour x count x 730 h``.

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
        remaining = self.remaining_usd
        today = self._today()
        note = None
        if self.credit_expires is not None:
            days = (self.credit_expires - today).days
            if days < 0:
                raise BudgetExceededError(
                    f"the credits expired on {self.credit_expires.isoformat()}: {count} x "
                    f"{instance_type} ({_usd(per_month)}/month) would be billed to you"
                )
            if days * 24 < HOURS_PER_MONTH:
                note = (
                    f"credits expire on {self.credit_expires.isoformat()} ({days} days); "
                    "delete the endpoint before then"
                )
        if per_month > remaining:
            raise BudgetExceededError(
                f"{count} x {instance_type} in {region} costs {_usd(per_hour)}/h, "
                f"{_usd(per_month)} a month (730 h), but only {_usd(remaining)} of the "
                f"{_usd(self.budget_usd)} budget is left; price {price} from {price.source}"
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
        )
        logger.info("budget check passed: %s", check)
        return check

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
