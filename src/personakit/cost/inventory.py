"""What is billing right now: an inventory of running resources and their hourly cost.

It lists through the session's ``personalize``, ``sagemaker`` and (for idle
detection) ``cloudwatch`` clients, so it runs the same on AWS and on the local
engine (which answers every listing; it has no CloudWatch, so ``idle_window`` is a
note there)::

    inventory = pk.cost.running(session)
    print(inventory)                    # aligned table, burn rate, what could not be read
    inventory.usd_per_hour              # the burn rate: sum of the known hourly costs
    inventory.to_frame()                # one row per resource

What counts as billing (hourly costs in parentheses; Personalize's $ figures are
unverified placeholders, see :mod:`personakit.cost.personalize` and
https://aws.amazon.com/personalize/pricing/):

* Personalize campaigns not failed or deleting (``minProvisionedTPS`` x the first
  TPS-hour tier: the floor, billed ``max(min, actual)``), ``ACTIVE`` recommenders
  (one 100K-active-user unit per hour: a floor), solutions with
  ``performAutoTraining`` (the last billed ``trainingHours`` spread over the
  retraining interval, 7 days by default), solution versions still training (one
  training hour per hour: a floor), batch inference and segment jobs in progress
  (per recommendation: no hourly price);
* SageMaker endpoints ``InService``/``Creating``/``Updating`` (instance type and
  count from the endpoint config, the Hosting price from the catalog; serverless
  variants bill per use), notebook instances ``InService``, training and transform
  jobs ``InProgress`` (the Hosting price of the instance type as an approximation).

Each record says who made it: the ``personakit:run`` tag and, for endpoints
deployed with ``max_lifetime``, the ``personakit:expires-at`` tag. With
``idle_window=`` each endpoint's ``AWS/SageMaker`` ``Invocations`` are summed over
that window per variant (``GetMetricStatistics``); an endpoint with none is idle.

``running(session, lean=True, deadline_s=30)`` is the listing :class:`CostGuard
<personakit.cost.CostGuard>` asks for before a deploy: no tags, no batch jobs and no
solution versions in training (one ``List*`` per kind, a ``Describe*`` only where the
hourly cost needs one), and it stops once ``deadline_s`` has passed. What it could not
list (an error, the deadline) is in :attr:`Inventory.incomplete`; with the resources it
could not price, in :attr:`Inventory.gaps`.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

import attrs
from botocore.exceptions import BotoCoreError, ClientError

from personakit.aws.context import Ctx
from personakit.aws.retry import error_code
from personakit.aws.timing import Timing
from personakit.cost._scan import Scanner, aware, endpoint_invocations, tag_expiry, utcnow
from personakit.cost.catalog import HOURS_PER_MONTH, Catalog
from personakit.cost.personalize import PRICES, PRICING_URL, TPS_HOUR_TIERS
from personakit.errors import ConfigurationError, QuotaExceededError, UnsupportedInstanceError
from personakit.personalize.base import find_all
from personakit.personalize.teardown import in_flight
from personakit.rules.display import Display, short_repr
from personakit.rules.facts import RUN_TAG

if TYPE_CHECKING:
    import pandas as pd

    from personakit.aws.session import Session

__all__ = [
    "Inventory",
    "RunningResource",
    "format_age",
    "parse_duration",
    "running",
]

logger = logging.getLogger(__name__)

Service = Literal["personalize", "sagemaker"]
_BatchLister = Literal["list_batch_inference_jobs", "list_batch_segment_jobs"]
_P = ParamSpec("_P")
_T = TypeVar("_T")

_TPS_HOUR_USD = TPS_HOUR_TIERS[0][1]
_TRAINING_HOUR_USD = float(PRICES["training"].usd or 0.0)
_RECOMMENDER_UNIT_USD = float(PRICES["recommender"].usd or 0.0)
#: One request per second above the first, for an hour, at the extra-recommendation rate.
RPS_HOUR_USD = 3600 * float(PRICES["recommender_extra"].usd or 0.0)
#: Kinds billed per use, not per hour: no hourly price is not a gap in the burn rate.
_PER_USE_KINDS = frozenset({"batch_inference_job", "batch_segment_job"})
#: Errors of one listing that become a note (and a gap) rather than a crash.
_LISTING_ERRORS: tuple[type[BaseException], ...] = (
    ClientError,
    BotoCoreError,
    QuotaExceededError,
)
#: ``EndpointStatus`` values of an endpoint that bills
#: (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html).
_ENDPOINT_BILLING = frozenset(
    {"InService", "Creating", "Updating", "SystemUpdating", "RollingBack"}
)
#: Auto-training schedules: ``rate(<n> days)``, every 7 days by default
#: (https://docs.aws.amazon.com/personalize/latest/dg/API_AutoTrainingConfig.html).
_RATE = re.compile(r"rate\((\d+) days?\)")
_AUTO_TRAINING_DAYS = 7
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800, "": 3600}


# --------------------------------------------------------------------------- helpers


def parse_duration(value: str | float | dt.timedelta) -> dt.timedelta:
    """``"2h"``, ``"30m"``, ``"3d"``, ``"1w"``, ``"90s"`` (or a number of hours) as a timedelta.

    Raises:
        ConfigurationError: the text is not a positive duration.
    """
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)):
        seconds = float(value) * 3600
    else:
        match = _DURATION.match(value)
        if not match:
            raise ConfigurationError(
                f"duration {value!r}: use a number and a unit, e.g. '90s', '30m', '2h', '3d', '1w'"
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if seconds < 0:
        raise ConfigurationError(f"duration {value!r} is negative")
    return dt.timedelta(seconds=seconds)


def format_age(age: dt.timedelta | None) -> str:
    """``"3d4h"``, ``"2h05m"``, ``"7m"``: short, for tables."""
    if age is None:
        return "?"
    minutes = max(0, int(age.total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{mins:02d}m"
    return f"{mins}m"


def _usd(value: float | None, digits: int = 2) -> str:
    return "?" if value is None else f"${value:,.{digits}f}"


def table(head: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """Plain-text, aligned columns (two spaces apart), a rule under the header."""
    widths = [max([len(h), *(len(r[k]) for r in rows)]) for k, h in enumerate(head)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if k in right else c.ljust(w)
            for k, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(head), "  ".join("-" * w for w in widths), *map(line, rows)])


def _str_map(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


# --------------------------------------------------------------------------- records


@attrs.frozen(kw_only=True)
class RunningResource:
    """One resource that bills (or is about to) and what it costs per hour.

    Attributes:
        service: ``"personalize"`` or ``"sagemaker"``.
        kind: ``"campaign"``, ``"recommender"``, ``"solution"`` (auto-training),
            ``"solution_version"``, ``"batch_inference_job"``, ``"batch_segment_job"``,
            ``"endpoint"``, ``"notebook_instance"``, ``"training_job"`` or ``"transform_job"``.
        name: Its name.
        arn: Its ARN.
        status: Its status as AWS reports it.
        created: When it was created (UTC), if known.
        usd_per_hour: What it costs per hour (``None`` when there is no hourly price).
        basis: How ``usd_per_hour`` was worked out, or why it is unknown.
        instance_type: SageMaker instance type, if any.
        instance_count: Instances billed, if any.
        run_id: Its ``personakit:run`` tag (``None``: not made by personakit).
        expires_at: Its ``personakit:expires-at`` tag (UTC), if any.
        invocations: Endpoint invocations over the idle window (``None``: not read).
        idle: ``True`` when an endpoint at least as old as the window had no
            invocations in it; ``None`` when not checked or too young to tell.
        tags: All its tags.
    """

    service: Service
    kind: str
    name: str
    arn: str
    status: str
    created: dt.datetime | None = None
    usd_per_hour: float | None = None
    basis: str = ""
    instance_type: str | None = None
    instance_count: int | None = None
    run_id: str | None = None
    expires_at: dt.datetime | None = None
    invocations: float | None = None
    idle: bool | None = None
    tags: Mapping[str, str] = attrs.field(factory=dict, converter=_str_map)

    def age(self, now: dt.datetime | None = None) -> dt.timedelta | None:
        """Time since creation (``None`` when unknown)."""
        if self.created is None:
            return None
        return (now or utcnow()) - self.created

    def expired(self, now: dt.datetime | None = None) -> bool:
        """Whether its ``personakit:expires-at`` time has passed."""
        return self.expires_at is not None and self.expires_at <= (now or utcnow())


@attrs.frozen(kw_only=True)
class Inventory(Display):
    """Running resources in one account and region, with their burn rate.

    Attributes:
        region: Where they were listed.
        resources: One record per resource, most expensive first.
        taken_at: When the listing was made (UTC).
        notes: What could not be read (a service the engine lacks, access denied,
            the listing's deadline).
        idle_window: The window of the idle check, if one was made.
        incomplete: The notes that mean something may bill unseen: a listing that
            failed (access denied, a connection error) or was cut short by the
            deadline. A service the engine does not have is a note, not a gap.
    """

    region: str
    resources: tuple[RunningResource, ...]
    taken_at: dt.datetime
    notes: tuple[str, ...] = ()
    idle_window: dt.timedelta | None = None
    incomplete: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[RunningResource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    @property
    def usd_per_hour(self) -> float:
        """The burn rate: the sum of the known hourly costs."""
        return math.fsum(r.usd_per_hour for r in self.resources if r.usd_per_hour is not None)

    @property
    def usd_per_month(self) -> float:
        """The burn rate over a month (730 hours)."""
        return self.usd_per_hour * HOURS_PER_MONTH

    @property
    def unpriced(self) -> tuple[RunningResource, ...]:
        """Resources without an hourly price (batch jobs, serverless, unknown types)."""
        return tuple(r for r in self.resources if r.usd_per_hour is None)

    @property
    def gaps(self) -> tuple[str, ...]:
        """Why :attr:`usd_per_hour` may understate the burn rate.

        What could not be listed (:attr:`incomplete`), then each resource billed by
        the hour whose cost is unknown (batch jobs, billed per recommendation, are
        not gaps).
        """
        unpriced = tuple(
            f"{r.kind.replace('_', ' ')} {r.name}: no hourly price ({r.basis})"
            for r in self.unpriced
            if r.kind not in _PER_USE_KINDS
        )
        return self.incomplete + unpriced

    @property
    def complete(self) -> bool:
        """Whether everything was listed and priced (no :attr:`gaps`)."""
        return not self.gaps

    @property
    def idle(self) -> tuple[RunningResource, ...]:
        """Endpoints found idle over :attr:`idle_window`."""
        return tuple(r for r in self.resources if r.idle)

    def projected_usd(self, hours: float) -> float:
        """What the running resources cost over ``hours`` if nothing changes."""
        return self.usd_per_hour * max(0.0, hours)

    def by_run(self) -> dict[str | None, tuple[RunningResource, ...]]:
        """Resources grouped by ``personakit:run`` (``None``: not personakit's)."""
        out: dict[str | None, list[RunningResource]] = {}
        for r in self.resources:
            out.setdefault(r.run_id, []).append(r)
        return {k: tuple(v) for k, v in out.items()}

    def to_frame(self) -> pd.DataFrame:
        """One row per resource (ages in hours at :attr:`taken_at`)."""
        import pandas as pd

        columns = [
            "service",
            "kind",
            "name",
            "status",
            "instance_type",
            "instance_count",
            "usd_per_hour",
            "created",
            "age_hours",
            "run_id",
            "expires_at",
            "invocations",
            "idle",
            "basis",
            "arn",
        ]
        rows = []
        for r in self.resources:
            age = r.age(self.taken_at)
            row = {c: getattr(r, c, None) for c in columns}
            row["age_hours"] = None if age is None else age.total_seconds() / 3600
            rows.append(row)
        return pd.DataFrame(rows, columns=columns)

    def _rows(self) -> list[list[str]]:
        rows = []
        for r in self.resources:
            what = r.kind.replace("_", " ")
            if r.instance_type:
                what += f" ({r.instance_count or 1} x {r.instance_type})"
            expires = r.expires_at.strftime("%Y-%m-%d %H:%M") if r.expires_at else ""
            if r.expired(self.taken_at):
                expires += " EXPIRED"
            idle = "" if r.idle is None else ("idle" if r.idle else f"{r.invocations or 0:,.0f}")
            rows.append(
                [
                    r.service,
                    what,
                    r.name,
                    r.status,
                    _usd(r.usd_per_hour, 3),
                    format_age(r.age(self.taken_at)),
                    r.run_id or "-",
                    expires,
                    idle,
                ]
            )
        return rows

    def summary(self) -> str:
        """One line: how many, the burn rate per hour, day and month.

        When a listing failed (:attr:`incomplete`) the counts are lower bounds and
        the line says so ("at least 0 running resource(s) ... (2 checks failed: ...)"),
        never a plain "0 running resource(s) ... $0.00/h".
        """
        extra = f" + {len(self.unpriced)} without an hourly price" if self.unpriced else ""
        at_least = "at least " if self.incomplete else ""
        line = (
            f"{at_least}{len(self.resources)} running resource(s) in {self.region}: "
            f"{at_least}{_usd(self.usd_per_hour)}/h, {_usd(self.usd_per_hour * 24)}/day, "
            f"{_usd(self.usd_per_month)}/month{extra}"
        )
        if self.incomplete:
            failed = ", ".join(note.split(":", 1)[0] for note in self.incomplete)
            checks = "check" if len(self.incomplete) == 1 else "checks"
            line += (
                f" (incomplete: {len(self.incomplete)} {checks} failed: {failed}; see the notes)"
            )
        return line

    def __str__(self) -> str:
        head = ["service", "what", "name", "status", "$/h", "age", "run", "expires", "calls"]
        out = [self.summary()]
        if self.resources:
            out.append(table(head, self._rows(), right=(4, 5)))
        notes = [f"{r.name}: {r.basis}" for r in self.resources if r.basis]
        if notes:
            out.append("how the hourly costs were worked out:")
            out.extend(f"  - {n}" for n in notes)
        out.extend(f"note: {n}" for n in self.notes)
        return "\n".join(out)

    def __repr__(self) -> str:
        return short_repr(
            self,
            region=self.region,
            resources=len(self.resources),
            usd_per_hour=round(self.usd_per_hour, 4),
            complete=not self.incomplete,
        )

    def _repr_html_(self) -> str:
        head = "".join(
            f"<th>{h}</th>"
            for h in ("service", "what", "name", "status", "$/h", "age", "run", "expires", "calls")
        )
        body = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(c)}</td>" for c in row)
            + f"<td style='font-size:smaller'>{html.escape(r.basis)}</td></tr>"
            for row, r in zip(self._rows(), self.resources, strict=True)
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (
            f"<div><b>{html.escape(self.summary())}</b>"
            + (f"<table><tr>{head}<th>basis</th></tr>{body}</table>" if self.resources else "")
            + (f"<ul>{notes}</ul>" if notes else "")
            + "</div>"
        )


# --------------------------------------------------------------------------- listing


class _DeadlinePassed(Exception):
    """The listing's deadline has passed: no further calls."""


class _ListingCtx(Ctx):
    """A :class:`Ctx` whose calls stop at the listing's deadline and retry only until it."""

    def __init__(self, session: Session, timing: Timing | None, deadline_s: float | None) -> None:
        super().__init__(session, timing)
        self.deadline_s = deadline_s
        self.start = self.timing.clock()

    def left(self) -> float | None:
        """Seconds left before the deadline (``None``: no deadline)."""
        if self.deadline_s is None:
            return None
        return self.deadline_s - (self.timing.clock() - self.start)

    def call(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """``fn(*args, **kwargs)`` through the retrier, its retries clamped to the time left.

        Raises:
            _DeadlinePassed: The deadline passed before the call.
        """
        left = self.left()
        if left is None:
            return self.retrier.call(fn, *args, **kwargs)
        if left <= 0:
            raise _DeadlinePassed
        return self.retrier.with_deadline(left).call(fn, *args, **kwargs)


class _Lister(Scanner):
    listing_errors = _LISTING_ERRORS
    tag_errors = (ClientError, BotoCoreError)
    log = logger
    what = "inventory"
    ctx: _ListingCtx

    def __init__(
        self,
        session: Session,
        *,
        catalog: Catalog,
        timing: Timing | None,
        now: dt.datetime,
        idle_window: dt.timedelta | None,
        lean: bool = False,
        deadline_s: float | None = None,
    ) -> None:
        ctx = _ListingCtx(session, timing, deadline_s)
        super().__init__(session, ctx, now)
        self.ctx = ctx
        self.catalog = catalog
        self.idle_window = idle_window
        self.lean = lean
        self.region = session.region
        self.found: list[RunningResource] = []
        self.incomplete: list[str] = []
        self.cut: list[str] = []

    def section(self, what: str, fn: Callable[[], None]) -> None:
        """Run one listing; what it cannot read becomes a note, not a crash.

        A failed listing (any ``ClientError`` or ``BotoCoreError``, e.g. access
        denied or no connection) and one the deadline cut short are also recorded as
        :attr:`Inventory.incomplete`: something may bill unseen. A call the engine
        does not implement is only a note (that engine has no such resource).
        """
        left = self.ctx.left()
        if left is not None and left <= 0:
            self.cut.append(what)
            return
        try:
            super().section(what, fn)
        except _DeadlinePassed:
            self.cut.append(what)

    def unlisted(self, what: str, exc: BaseException) -> str:
        """Note a failed listing, and record it as a gap: something may bill unseen."""
        text = super().unlisted(what, exc)
        self.incomplete.append(text)
        return text

    def finish(self) -> None:
        """Turn the sections the deadline cut short into one note (and a gap)."""
        if not self.cut:
            return
        text = (
            f"the listing stopped at its {self.ctx.deadline_s:g} s deadline: "
            f"{', '.join(self.cut)} not (fully) listed"
        )
        self.notes.append(text)
        self.incomplete.append(text)
        logger.warning("inventory: %s", text)

    # ------------------------------------------------------------------ personalize

    def describe(self, fn: Callable[..., Any], key: str, **kwargs: Any) -> Mapping[str, Any] | None:
        """A Personalize ``Describe*`` member, ``None`` when deleted since the listing."""
        try:
            described: Mapping[str, Any] = self.ctx.call(fn, **kwargs)[key]
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        return described

    def add(self, **kwargs: Any) -> None:
        tags: dict[str, str] = kwargs.pop("tags", {})
        self.found.append(
            RunningResource(
                run_id=tags.get(RUN_TAG), expires_at=tag_expiry(tags), tags=tags, **kwargs
            )
        )

    def campaigns(self) -> None:
        p = self.ctx.personalize
        for summary in find_all(self.ctx, "list_campaigns", "campaigns"):
            status = str(summary.get("status", ""))
            if status.endswith("FAILED") or status.startswith("DELETE"):
                continue
            arn = str(summary["campaignArn"])
            campaign = self.describe(p.describe_campaign, "campaign", campaignArn=arn)
            if campaign is None:
                continue
            tps = int(campaign.get("minProvisionedTPS") or 1)
            self.add(
                service="personalize",
                kind="campaign",
                name=str(summary.get("name", arn.rsplit("/", 1)[-1])),
                arn=arn,
                status=status,
                created=aware(campaign.get("creationDateTime")),
                usd_per_hour=tps * _TPS_HOUR_USD,
                basis=(
                    f"minProvisionedTPS {tps} x ${_TPS_HOUR_USD:.2f}/TPS-hour, a floor: billed "
                    f"max(min, actual) every hour (unverified price, {PRICING_URL})"
                ),
                tags=self.personalize_tags(arn),
            )

    def recommenders(self) -> None:
        p = self.ctx.personalize
        for summary in find_all(self.ctx, "list_recommenders", "recommenders"):
            status = str(summary.get("status", ""))
            if status != "ACTIVE":
                continue  # INACTIVE (stopped), failed and deleting ones do not bill
            arn = str(summary["recommenderArn"])
            recommender = self.describe(p.describe_recommender, "recommender", recommenderArn=arn)
            if recommender is None:
                continue
            config = recommender.get("recommenderConfig") or {}
            rps = max(1, int(config.get("minRecommendationRequestsPerSecond") or 1))
            extra = (
                f" + {rps - 1} request(s)/s above the first x ${RPS_HOUR_USD:.4g}/h "
                "(3,600 extra recommendations an hour each)"
                if rps > 1
                else ""
            )
            self.add(
                service="personalize",
                kind="recommender",
                name=str(summary.get("name", arn.rsplit("/", 1)[-1])),
                arn=arn,
                status=status,
                created=aware(summary.get("creationDateTime")),
                usd_per_hour=_RECOMMENDER_UNIT_USD + (rps - 1) * RPS_HOUR_USD,
                basis=(
                    f"${_RECOMMENDER_UNIT_USD:.3f}/h per 100K active users, one unit as a floor"
                    f"{extra} (unverified prices, {PRICING_URL}); stop it to stop the bill"
                ),
                tags=self.personalize_tags(arn),
            )

    def solutions(self) -> None:
        p = self.ctx.personalize
        for summary in find_all(self.ctx, "list_solutions", "solutions"):
            status = str(summary.get("status", ""))
            if status.endswith("FAILED") or status.startswith("DELETE"):
                continue
            arn = str(summary["solutionArn"])
            solution = self.describe(p.describe_solution, "solution", solutionArn=arn)
            if solution is None or not solution.get("performAutoTraining"):
                continue
            config = solution.get("solutionConfig") or {}
            expression = str((config.get("autoTrainingConfig") or {}).get("schedulingExpression"))
            match = _RATE.fullmatch(expression)
            days = int(match.group(1)) if match else _AUTO_TRAINING_DAYS
            hours = self._last_training_hours(arn)
            if hours is None:
                per_hour, basis = (
                    None,
                    (
                        f"auto-training every {days} day(s); each run bills its training hours "
                        f"(${_TRAINING_HOUR_USD:.2f} each); no finished version to estimate from"
                    ),
                )
            else:
                per_hour = hours * _TRAINING_HOUR_USD / (days * 24)
                basis = (
                    f"auto-training every {days} day(s): last run {hours:g} training hour(s) x "
                    f"${_TRAINING_HOUR_USD:.2f}, spread over {days * 24} h (unverified price, "
                    f"{PRICING_URL})"
                )
            self.add(
                service="personalize",
                kind="solution",
                name=str(summary.get("name", arn.rsplit("/", 1)[-1])),
                arn=arn,
                status=f"{status}, auto-training",
                created=aware(solution.get("creationDateTime")),
                usd_per_hour=per_hour,
                basis=basis,
                tags=self.personalize_tags(arn),
            )

    def _last_training_hours(self, solution_arn: str) -> float | None:
        p = self.ctx.personalize
        versions = find_all(
            self.ctx,
            "list_solution_versions",
            "solutionVersions",
            solutionArn=solution_arn,
        )
        done = [v for v in versions if v.get("status") == "ACTIVE"]
        if not done:
            return None
        last = max(done, key=lambda v: aware(v.get("creationDateTime")) or self.now)
        version = self.ctx.call(
            p.describe_solution_version, solutionVersionArn=str(last["solutionVersionArn"])
        )["solutionVersion"]
        hours = version.get("trainingHours")
        return None if hours is None else float(hours)

    def versions(self) -> None:
        for summary in find_all(self.ctx, "list_solution_versions", "solutionVersions"):
            status = str(summary.get("status", ""))
            if not in_flight(status):
                continue
            arn = str(summary["solutionVersionArn"])
            self.add(
                service="personalize",
                kind="solution_version",
                name=arn.split("/", 1)[-1],
                arn=arn,
                status=status,
                created=aware(summary.get("creationDateTime")),
                usd_per_hour=_TRAINING_HOUR_USD,
                basis=(
                    f"training: at least ${_TRAINING_HOUR_USD:.2f} per hour (one training hour "
                    "= 4 vCPU + 8 GiB; bigger instances bill more; unverified price, "
                    f"{PRICING_URL})"
                ),
                tags=self.personalize_tags(arn),
            )

    def batch_jobs(self, kind: str, list_name: _BatchLister, key: str, arn_key: str) -> None:
        for summary in find_all(self.ctx, list_name, key):
            status = str(summary.get("status", ""))
            if not in_flight(status):
                continue
            arn = str(summary[arn_key])
            self.add(
                service="personalize",
                kind=kind,
                name=str(summary.get("jobName", arn.rsplit("/", 1)[-1])),
                arn=arn,
                status=status,
                created=aware(summary.get("creationDateTime")),
                usd_per_hour=None,
                basis="billed per recommendation, not per hour (no rate known)",
                tags=self.personalize_tags(arn),
            )

    # ------------------------------------------------------------------ sagemaker

    def hourly(
        self, instance_type: str, count: int, *, approx: str = ""
    ) -> tuple[float | None, str]:
        try:
            price = self.catalog.price(instance_type, self.region)
        except UnsupportedInstanceError:
            return None, f"{instance_type} is not in the instance catalog: no price"
        if price is None:
            return None, (
                f"no Hosting price for {instance_type} in {self.region} "
                f"({self.catalog.describe_age()})"
            )
        basis = f"{count} x {instance_type} x ${price.usd_per_hour:g}/h ({price.source})"
        return price.usd_per_hour * count, basis + approx

    def endpoints(self) -> None:
        sm = self.sm()
        for summary in self.sm_pages("list_endpoints", "Endpoints"):
            status = str(summary.get("EndpointStatus", ""))
            if status not in _ENDPOINT_BILLING:
                continue
            name = str(summary["EndpointName"])
            try:
                endpoint = self.ctx.call(sm.describe_endpoint, EndpointName=name)
                config = self.ctx.call(
                    sm.describe_endpoint_config, EndpointConfigName=endpoint["EndpointConfigName"]
                )
            except ClientError as exc:
                if error_code(exc) == "ValidationException":
                    continue  # deleted between the list and the describe
                raise
            current = {
                str(v.get("VariantName")): v.get("CurrentInstanceCount")
                for v in endpoint.get("ProductionVariants") or []
            }
            per_hour: float | None = 0.0
            bases: list[str] = []
            types: list[str] = []
            total = 0
            for variant in config.get("ProductionVariants") or []:
                if variant.get("ServerlessConfig"):
                    bases.append(
                        f"variant {variant.get('VariantName')}: serverless, billed per use"
                    )
                    continue
                instance_type = str(variant.get("InstanceType") or "")
                if not instance_type:
                    continue
                count = current.get(str(variant.get("VariantName")))
                count = int(count if count is not None else variant.get("InitialInstanceCount", 1))
                total += count
                types.append(instance_type)
                cost, basis = self.hourly(instance_type, count)
                bases.append(basis)
                per_hour = None if cost is None or per_hour is None else per_hour + cost
            arn = str(endpoint.get("EndpointArn") or summary.get("EndpointArn"))
            invocations, idle = self.invocations(name, endpoint, config)
            self.add(
                service="sagemaker",
                kind="endpoint",
                name=name,
                arn=arn,
                status=status,
                created=aware(endpoint.get("CreationTime") or summary.get("CreationTime")),
                usd_per_hour=per_hour,
                basis="; ".join(bases),
                instance_type=", ".join(dict.fromkeys(types)) or None,
                instance_count=total or None,
                invocations=invocations,
                idle=idle,
                tags=self.sm_tags(arn),
            )

    def invocations(
        self, name: str, endpoint: Mapping[str, Any], config: Mapping[str, Any]
    ) -> tuple[float | None, bool | None]:
        if self.idle_window is None:
            return None, None
        variants = [
            str(v["VariantName"])
            for v in (endpoint.get("ProductionVariants") or config.get("ProductionVariants") or [])
            if v.get("VariantName")
        ]
        created = aware(endpoint.get("CreationTime"))
        try:
            total = endpoint_invocations(
                self.session, name, variants, self.idle_window, now=self.now, ctx=self.ctx
            )
        except (
            ClientError,
            BotoCoreError,
            ConfigurationError,
            ValueError,
        ) as exc:
            self.notes.append(f"invocations of {name}: could not be read ({exc})")
            return None, None
        old_enough = created is not None and self.now - created >= self.idle_window
        return total, (total == 0 if old_enough else None)

    def notebooks(self) -> None:
        for summary in self.sm_pages(
            "list_notebook_instances", "NotebookInstances", StatusEquals="InService"
        ):
            instance_type = str(summary.get("InstanceType", ""))
            arn = str(summary["NotebookInstanceArn"])
            cost, basis = self.hourly(
                instance_type, 1, approx="; approximated by the Hosting price"
            )
            self.add(
                service="sagemaker",
                kind="notebook_instance",
                name=str(summary["NotebookInstanceName"]),
                arn=arn,
                status=str(summary.get("NotebookInstanceStatus", "InService")),
                created=aware(summary.get("CreationTime")),
                usd_per_hour=cost,
                basis=basis,
                instance_type=instance_type or None,
                instance_count=1,
                tags=self.sm_tags(arn),
            )

    def jobs(self, kind: str, list_name: str, key: str, describe: str, name_key: str) -> None:
        sm = self.sm()
        for summary in self.sm_pages(list_name, key, StatusEquals="InProgress"):
            name = str(summary[name_key])
            job = self.ctx.call(getattr(sm, describe), **{name_key: name})
            resources = job.get("ResourceConfig") or job.get("TransformResources") or {}
            instance_type = str(resources.get("InstanceType") or "")
            count = int(resources.get("InstanceCount") or 1)
            arn = str(job.get(name_key.replace("Name", "Arn")) or "")
            if instance_type:
                cost, basis = self.hourly(
                    instance_type, count, approx="; approximated by the Hosting price"
                )
            else:
                cost, basis = None, "no instance type (e.g. a warm pool or serverless job)"
            self.add(
                service="sagemaker",
                kind=kind,
                name=name,
                arn=arn,
                status="InProgress",
                created=aware(job.get("CreationTime") or summary.get("CreationTime")),
                usd_per_hour=cost,
                basis=basis,
                instance_type=instance_type or None,
                instance_count=count,
                tags=self.sm_tags(arn) if arn else {},
            )

    def sagemaker(self) -> None:
        if not self.available("sagemaker"):
            return
        self.section("SageMaker endpoints", self.endpoints)
        self.section("SageMaker notebook instances", self.notebooks)
        self.section(
            "SageMaker training jobs",
            lambda: self.jobs(
                "training_job",
                "list_training_jobs",
                "TrainingJobSummaries",
                "describe_training_job",
                "TrainingJobName",
            ),
        )
        self.section(
            "SageMaker transform jobs",
            lambda: self.jobs(
                "transform_job",
                "list_transform_jobs",
                "TransformJobSummaries",
                "describe_transform_job",
                "TransformJobName",
            ),
        )

    def personalize(self) -> None:
        if not self.available("personalize"):
            return
        self.section("Personalize campaigns", self.campaigns)
        self.section("Personalize recommenders", self.recommenders)
        self.section("Personalize solutions", self.solutions)
        if self.lean:
            return  # training versions end by themselves; batch jobs bill per recommendation
        self.section("Personalize solution versions", self.versions)
        self.section(
            "Personalize batch inference jobs",
            lambda: self.batch_jobs(
                "batch_inference_job",
                "list_batch_inference_jobs",
                "batchInferenceJobs",
                "batchInferenceJobArn",
            ),
        )
        self.section(
            "Personalize batch segment jobs",
            lambda: self.batch_jobs(
                "batch_segment_job",
                "list_batch_segment_jobs",
                "batchSegmentJobs",
                "batchSegmentJobArn",
            ),
        )


def running(
    session: Session,
    *,
    catalog: Catalog | None = None,
    services: Sequence[Service] = ("personalize", "sagemaker"),
    idle_window: str | float | dt.timedelta | None = None,
    timing: Timing | None = None,
    now: dt.datetime | None = None,
    lean: bool = False,
    deadline_s: float | None = None,
) -> Inventory:
    """List what bills in the session's account and region, with hourly costs.

    Args:
        session: Where to look (its ``personalize``, ``sagemaker`` and, with
            ``idle_window``, ``cloudwatch`` clients).
        catalog: Instance prices; the packaged snapshot when ``None``.
        services: Which services to list.
        idle_window: Read each endpoint's invocations over this window (``"14d"``,
            a timedelta, or hours) and mark those without any as idle.
        timing: Retry policy, sleeps and clock of the calls (tests).
        now: The current time (tests); UTC now when ``None``.
        lean: List only what an hourly budget needs: no tags (so no ``run_id``,
            ``expires_at``), no batch jobs (billed per recommendation) and no
            solution versions in training (a training ends by itself).
        deadline_s: Stop listing once this many seconds (on ``timing``'s clock) have
            passed: no call starts after it, and retries of throttled calls end at
            it. What was not listed is said in ``notes`` and ``incomplete``.

    Returns:
        An :class:`Inventory`; what could not be listed is in its ``notes`` (and,
        when something may bill unseen, in ``incomplete``).
    """
    if deadline_s is not None and not deadline_s > 0:
        raise ConfigurationError(f"deadline_s must be > 0, got {deadline_s!r}")
    unknown = set(services) - {"personalize", "sagemaker"}
    if unknown:
        raise ConfigurationError(
            f"services {sorted(unknown)}: choose from 'personalize' and 'sagemaker'"
        )
    window = parse_duration(idle_window) if idle_window is not None else None
    lister = _Lister(
        session,
        catalog=catalog if catalog is not None else Catalog.load(),
        timing=timing,
        now=aware(now) or utcnow(),
        idle_window=window,
        lean=lean,
        deadline_s=deadline_s,
    )
    if "personalize" in services:
        lister.personalize()
    if "sagemaker" in services:
        lister.sagemaker()
    lister.finish()
    ordered = sorted(
        lister.found,
        key=lambda r: (r.usd_per_hour is None, -(r.usd_per_hour or 0.0), r.service, r.name),
    )
    inventory = Inventory(
        region=session.region,
        resources=tuple(ordered),
        taken_at=lister.now,
        notes=tuple(lister.notes),
        idle_window=window,
        incomplete=tuple(lister.incomplete),
    )
    logger.info("%s", inventory.summary())
    return inventory
