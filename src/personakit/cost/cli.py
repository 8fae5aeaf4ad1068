"""The ``personakit cost ...`` and ``personakit sweep`` commands.

``register(subparsers)`` adds them to the ``personakit`` parser:

* ``personakit cost advise MODEL [--instance TYPE ...] [--spec-only]`` ranks the
  instances that fit a model (packaged prices, or ``--live`` for the Price List API);
  ``--instance`` (repeatable) judges only those types; each row says whether the
  model's JumpStart spec lists the type (``in spec``; ``in_spec`` in ``--json``), and
  ``--spec-only`` drops the types it does not list;
* ``personakit cost compare A B [--model M]`` puts two instance types side by side
  (price per hour and month; with ``--model``, fit, tokens/s and $/1M tokens), with
  the ratios B/A;
* ``personakit cost lab [--region R]`` runs the lab's scenarios (each model on each
  instance type: fit, price, tokens/s, $/1M tokens, memory against the 50% rule), flags
  the instance types that do not exist, and checks the g4dn.4xlarge-against-p3.2xlarge
  claim, offline on the packaged prices;
* ``personakit cost estimate --data-gb 10 --training-hours 20 --campaign-tps 1``
  prints a month of Amazon Personalize;
* ``personakit cost bill --workspace DIR [--region R] [--training-hours H]`` prices
  what a local engine's workspace recorded as AWS would bill it (the AWS bill of a
  local run: line items, sources, whether the total is complete);
* ``personakit cost running [--budget 15000 --credit-expires 2027-03-31] [--region R |
  --workspace DIR]`` lists what bills now, the burn rate and, with a budget, the
  projection, on AWS or in a local engine's workspace;
* ``personakit sweep [--yes --older-than 2h | --yes --run-id ID] [--include-kept]
  [--include-idle-endpoints] [--region R | --workspace DIR] [--bucket B --prefix P]``
  lists (default: dry run) or deletes what crashed runs left behind, on AWS or, with
  ``--workspace``, in a local engine's workspace; ``--yes`` needs ``--older-than`` or
  ``--run-id`` (``--older-than 0s``: everything), and what was kept on purpose
  (``personakit:keep=true``) is spared unless ``--include-kept``.

Every command takes ``--json``: one JSON document on stdout (keys: docs/cost.md,
docs/sweep.md), nothing else there. An instance type that does not exist exits 2
with the family's sizes and a "did you mean".

Exit status: 0 when all is well; 1 when ``sweep`` (dry run) found leftovers or
could not delete something, or ``cost running --budget`` projects past the budget;
2 for a personakit error (printed, no traceback).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from personakit._jsonout import dumps
from personakit.errors import ConfigurationError
from personakit.rules.facts import KEEP_TAG, RUN_TAG

if TYPE_CHECKING:
    from personakit.aws.session import Session

__all__ = [
    "SessionFactory",
    "add_json_argument",
    "aws_session",
    "register",
    "workspace_session",
]

SessionFactory = Callable[[argparse.Namespace], "Session"]


def aws_session(args: argparse.Namespace) -> Session:
    """A ``Session.aws`` from ``--profile`` and ``--region``."""
    import boto3

    from personakit.aws.session import Session  # boto3 loads on use: `--help` stays quick

    try:
        boto3_session = boto3.Session(profile_name=args.profile) if args.profile else None
    except Exception as exc:  # botocore.exceptions.ProfileNotFound
        raise ConfigurationError(f"--profile {args.profile}: {exc}") from exc
    return Session.aws(
        boto3_session,
        region_name=args.region,
        bucket=getattr(args, "bucket", None),
        prefix=getattr(args, "prefix", None),
    )


def workspace_session(args: argparse.Namespace) -> Session:
    """A ``Session.local`` on the workspace ``--workspace`` names (it must exist)."""
    from personakit.aws.session import Session  # the engine loads numpy: only when asked
    from personakit.local.store import is_workspace  # (with the engine, above)

    path = Path(args.workspace).expanduser()
    if not is_workspace(path):
        raise ConfigurationError(
            f"--workspace {args.workspace}: no personakit workspace there (the folder "
            "Session.local(path) was given holds state.sqlite3)"
        )
    options: dict[str, Any] = {"progress": False}
    if getattr(args, "bucket", None) is not None:
        options["bucket"] = args.bucket
    if getattr(args, "prefix", None) is not None:
        options["prefix"] = args.prefix
    return Session.local(path, **options)


def open_session(args: argparse.Namespace, stack: contextlib.ExitStack) -> Session:
    """The session a command works in: a local engine's workspace (``--workspace``,
    closed with ``stack``) or an AWS account (``--region`` / ``--profile``), not both."""
    if args.workspace is None:
        session: Session = args.session_factory(args)
        return session
    if args.region or args.profile:
        given = "--region" if args.region else "--profile"
        raise ConfigurationError(
            f"--workspace and {given} exclude each other: --workspace DIR works in a local "
            "engine's workspace (Session.local), --region and --profile in an AWS account; "
            "give one or the other"
        )
    return stack.enter_context(workspace_session(args))  # closes the engine


def add_json_argument(
    parser: argparse.ArgumentParser, keys: str = "docs/cost.md, docs/sweep.md"
) -> None:
    """``--json``: one JSON document on stdout instead of the text (``keys``: where the
    keys are documented)."""
    parser.add_argument(
        "--json",
        action="store_true",
        help=f"print one JSON document on stdout (keys: {keys})",
    )


def _connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", help="AWS region (default: PERSONAKIT_REGION, the profile's)")
    parser.add_argument("--profile", help="AWS profile from ~/.aws/config")


def _advise(args: argparse.Namespace) -> int:
    from personakit.cost.advice import advise  # per command: --help stays quick
    from personakit.cost.catalog import Catalog  # per command: --help stays quick

    region = args.region or "us-east-1"
    if args.live:
        from personakit.cost.pricing import refresh  # botocore only with --live

        catalog = refresh(args.session_factory(args), region)
    else:
        catalog = Catalog.load()
    kwargs: dict[str, Any] = {"catalog": catalog, "region": region, "batch": args.batch}
    if args.dtype:
        kwargs["dtype"] = args.dtype
    if args.context_tokens:
        kwargs["context_tokens"] = args.context_tokens
    if args.instance:
        kwargs["instances"] = list(dict.fromkeys(args.instance))
    if args.spec_only:
        kwargs["spec_only"] = True
    advice = advise(args.model, **kwargs)
    print(dumps(advice) if args.json else advice)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from personakit.cost.advice import compare  # per command: --help stays quick
    from personakit.cost.catalog import Catalog  # per command: --help stays quick

    region = args.region or "us-east-1"
    kwargs: dict[str, Any] = {"catalog": Catalog.load(), "region": region, "batch": args.batch}
    if args.dtype:
        kwargs["dtype"] = args.dtype
    if args.context_tokens:
        kwargs["context_tokens"] = args.context_tokens
    # compare(b, a): its ratios are then B/A and its sentence reads "B vs A: x% of ..."
    comparison = compare(args.b, args.a, model=args.model, **kwargs)
    oa, ob = comparison.b, comparison.a
    ratios: dict[str, float | None] = {
        "usd_per_hour": comparison.price_ratio,
        "usd_per_month": comparison.price_ratio,
        "memory_bandwidth": comparison.bandwidth_ratio,
        "memory": comparison.memory_ratio,
    }
    if args.model is not None:
        ratios["tokens_per_second"] = _ratio(ob.tokens_per_second, oa.tokens_per_second)
        ratios["usd_per_million_tokens"] = _ratio(
            ob.usd_per_million_tokens, oa.usd_per_million_tokens
        )
    if args.json:
        document = {
            "region": region,
            "model": comparison.model,
            "a": oa,
            "b": ob,
            "ratios": ratios,
            "text": comparison.text,
        }
        print(dumps(document))
        return 0
    print(_side_by_side(oa, ob, ratios, with_model=args.model is not None))
    print()
    print(comparison.text)
    return 0


def _ratio(b: float | None, a: float | None) -> float | None:
    return None if a is None or b is None or a == 0 else b / a


def _side_by_side(oa: Any, ob: Any, ratios: dict[str, float | None], *, with_model: bool) -> str:
    def num(value: float | None, fmt: str) -> str:
        return "?" if value is None else format(value, fmt)

    def pct(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}x"

    def row(label: str, a: float | None, b: float | None, fmt: str, ratio: str) -> list[str]:
        return [label, num(a, fmt), num(b, fmt), pct(ratios[ratio])]

    def memory(option: Any) -> float:
        i = option.instance
        return float(i.accelerator_memory_gib_total if i.has_accelerator else i.memory_gib)

    rows = [
        ["", oa.name, ob.name, "B/A"],
        row("$/hour", oa.usd_per_hour, ob.usd_per_hour, ",.4g", "usd_per_hour"),
        row("$/month", oa.usd_per_month, ob.usd_per_month, ",.2f", "usd_per_month"),
        row(
            "memory GB/s",
            oa.instance.total_bandwidth_gbps,
            ob.instance.total_bandwidth_gbps,
            "g",
            "memory_bandwidth",
        ),
        row("memory GiB", memory(oa), memory(ob), "g", "memory"),
    ]
    if with_model:
        rows += [
            ["fit", oa.verdict, ob.verdict, ""],
            row("tokens/s", oa.tokens_per_second, ob.tokens_per_second, ".0f", "tokens_per_second"),
            row(
                "$/1M tokens",
                oa.usd_per_million_tokens,
                ob.usd_per_million_tokens,
                ",.4g",
                "usd_per_million_tokens",
            ),
        ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in rows
    )


def _lab(args: argparse.Namespace) -> int:
    from personakit.cost.catalog import Catalog  # per command: --help stays quick
    from personakit.cost.lab import lab  # per command: --help stays quick

    report = lab(catalog=Catalog.load(), region=args.region or "us-east-1")
    print(dumps(report) if args.json else report)
    return 0


def _estimate(args: argparse.Namespace) -> int:
    from personakit.cost.personalize import estimate  # per command: --help stays quick

    result = estimate(
        data_gb=args.data_gb,
        training_hours=args.training_hours,
        campaign_tps_hours=(args.campaign_tps, args.hours) if args.campaign_tps else 0,
        recommender_hours=args.recommender_hours,
        recommender_users=args.recommender_users,
        region=args.region or "us-east-1",
        free_tier=args.free_tier,
    )
    print(dumps(result) if args.json else result)
    return 0


def _bill(args: argparse.Namespace) -> int:
    from personakit.cost.bill import bill  # per command: --help stays quick

    with workspace_session(args) as session:
        result = bill(
            session, region=args.region or "us-east-1", training_hours=args.training_hours
        )
    print(dumps(result) if args.json else result)
    return 0


def _running(args: argparse.Namespace) -> int:
    from personakit.cost.catalog import Catalog  # per command: --help stays quick
    from personakit.cost.guard import CostGuard  # per command: --help stays quick
    from personakit.cost.inventory import running  # per command: --help stays quick

    with contextlib.ExitStack() as stack:
        session = open_session(args, stack)
        inventory = running(session, catalog=Catalog.load(), idle_window=args.idle_for)
        if args.budget is None:
            print(dumps({"inventory": inventory, "budget": None}) if args.json else inventory)
            return 0
        guard = CostGuard(
            session,
            budget_usd=args.budget,
            credit_expires=args.credit_expires,
            spent_usd=args.spent,
            catalog=Catalog.load(),
        )
        status = guard.status(inventory)
    if args.json:
        print(dumps({"inventory": inventory, "budget": status}))
    else:
        print(inventory)
        print()
        print(status)
    return 1 if status.over_budget else 0


def _sweep(args: argparse.Namespace) -> int:
    from personakit.cost.sweep import sweep  # per command: --help stays quick

    if args.yes and args.older_than is None and not args.run_id:
        raise ConfigurationError(
            "sweep --yes needs --older-than or --run-id, or it would delete a run still "
            "going (a colleague's notebook, a job in progress): add --older-than 2h to spare "
            "anything younger, --run-id ID to sweep one run, or --older-than 0s to mean "
            "everything"
        )
    with contextlib.ExitStack() as stack:
        session = open_session(args, stack)
        report = sweep(
            session,
            dry_run=not args.yes,
            older_than=args.older_than,
            run_id=args.run_id,
            include_kept=args.include_kept,
            include_idle_endpoints=args.include_idle_endpoints,
            idle_window=args.idle_for,
        )
    print(dumps(report) if args.json else report)
    if report.dry_run:
        return 1 if report.items else 0
    return 0 if report.ok else 1


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    *,
    session_factory: SessionFactory = aws_session,
) -> None:
    """Add ``cost`` (``advise``, ``compare``, ``lab``, ``estimate``, ``running``) and ``sweep``.

    Each command sets ``func`` (returns the exit status) on the parsed namespace.

    Args:
        subparsers: What ``parser.add_subparsers()`` returned.
        session_factory: Makes the session from the parsed arguments (``--region``,
            ``--profile``); :meth:`Session.aws` by default. ``sweep --workspace DIR``
            opens :meth:`Session.local` on that workspace instead.
    """
    cost = subparsers.add_parser("cost", help="instance advice, estimates, what is running")
    commands = cost.add_subparsers(dest="cost_command", required=True)

    advise = commands.add_parser("advise", help="which instances fit a model, and their price")
    advise.add_argument("model", help="JumpStart model id or short name (falcon-7b)")
    advise.add_argument("--dtype", help="serve at this dtype (fp16, int8, ...)")
    advise.add_argument("--context-tokens", type=int, help="tokens per sequence")
    advise.add_argument("--batch", type=int, default=1, help="sequences at once (default 1)")
    advise.add_argument("--live", action="store_true", help="today's prices (Price List API)")
    advise.add_argument(
        "--instance",
        action="append",
        metavar="TYPE",
        help="judge only this instance type (repeatable; default: the whole catalog)",
    )
    advise.add_argument(
        "--spec-only",
        action="store_true",
        help="rank only the types the model's JumpStart spec lists (default: all, marked)",
    )
    _connection(advise)
    add_json_argument(advise)
    advise.set_defaults(func=_advise, session_factory=session_factory)

    comp = commands.add_parser(
        "compare", help="two instance types side by side (price; fit and speed with --model)"
    )
    comp.add_argument("a", metavar="A", help="instance type, e.g. ml.p3.2xlarge")
    comp.add_argument("b", metavar="B", help="instance type, e.g. ml.g4dn.4xlarge")
    comp.add_argument("--model", help="JumpStart model id or short name: fit, tokens/s, $/1M")
    comp.add_argument("--dtype", help="serve at this dtype (fp16, int8, ...)")
    comp.add_argument("--context-tokens", type=int, help="tokens per sequence")
    comp.add_argument("--batch", type=int, default=1, help="sequences at once (default 1)")
    comp.add_argument("--region", help="region whose prices to use (default us-east-1)")
    add_json_argument(comp)
    comp.set_defaults(func=_compare)

    lab = commands.add_parser(
        "lab",
        help="the lab's scenarios: fit, price, tokens/s, memory against 50%%, the "
        "g4dn.4xlarge-vs-p3.2xlarge claim",
    )
    lab.add_argument("--region", help="region whose prices to use (default us-east-1)")
    add_json_argument(lab)
    lab.set_defaults(func=_lab)

    est = commands.add_parser("estimate", help="a month of Amazon Personalize")
    est.add_argument("--data-gb", type=float, default=0.0, help="data ingested, GB")
    est.add_argument("--training-hours", type=float, default=0.0, help="billed training hours")
    est.add_argument("--campaign-tps", type=float, default=0.0, help="a campaign's minimum TPS")
    est.add_argument(
        "--hours", type=float, default=730.0, help="hours the campaign runs (default 730)"
    )
    est.add_argument("--recommender-hours", type=float, default=0.0, help="recommender hours")
    est.add_argument(
        "--recommender-users", type=float, default=100_000, help="active users (default 100000)"
    )
    est.add_argument("--free-tier", action="store_true", help="subtract the free tier")
    est.add_argument("--region", help="region (default us-east-1)")
    add_json_argument(est)
    est.set_defaults(func=_estimate)

    billed = commands.add_parser(
        "bill", help="what a local workspace's run would cost on AWS, line by line"
    )
    billed.add_argument(
        "--workspace", metavar="DIR", required=True, help="the local engine's workspace"
    )
    billed.add_argument("--region", help="Personalize region to price it in (default us-east-1)")
    billed.add_argument(
        "--training-hours",
        type=float,
        default=None,
        help="billed training hours per solution version (default: the engine's wall clock)",
    )
    add_json_argument(billed)
    billed.set_defaults(func=_bill)

    run = commands.add_parser("running", help="what bills now, the burn rate, the budget")
    run.add_argument("--budget", type=float, help="budget (or credits) in USD")
    run.add_argument("--credit-expires", help="when the credits expire (YYYY-MM-DD)")
    run.add_argument("--spent", type=float, default=0.0, help="already spent, USD")
    run.add_argument(
        "--idle-for", metavar="DURATION", help="check endpoint invocations over e.g. 1d"
    )
    _connection(run)
    run.add_argument(
        "--workspace",
        metavar="DIR",
        help="what runs in a local engine's workspace (Session.local) instead of AWS",
    )
    add_json_argument(run)
    run.set_defaults(func=_running, session_factory=session_factory)

    sweep = subparsers.add_parser(
        "sweep", help="list (default) or delete what crashed personakit runs left behind"
    )
    mode = sweep.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="only list (the default)")
    mode.add_argument(
        "--yes",
        action="store_true",
        help="delete what is found (needs --older-than or --run-id)",
    )
    sweep.add_argument(
        "--older-than", metavar="DURATION", help="spare younger ones, e.g. 2h (0s: none)"
    )
    sweep.add_argument("--run-id", help=f"only this run's resources ({RUN_TAG} value)")
    sweep.add_argument(
        "--include-kept",
        action="store_true",
        help=f"also what was kept on purpose (tagged {KEEP_TAG}=true)",
    )
    sweep.add_argument(
        "--include-idle-endpoints",
        action="store_true",
        help="also untagged endpoints without invocations over --idle-for (default 14d)",
    )
    sweep.add_argument("--idle-for", metavar="DURATION", help="idle window, e.g. 3d")
    _connection(sweep)
    sweep.add_argument(
        "--workspace",
        metavar="DIR",
        help="sweep a local engine's workspace (Session.local) instead of AWS",
    )
    sweep.add_argument(
        "--bucket",
        help="the bucket of personakit's uploads (default: PERSONAKIT_BUCKET; "
        "personakit-local with --workspace)",
    )
    sweep.add_argument(
        "--prefix",
        help="their key prefix (default: personakit/, or PERSONAKIT_PREFIX on AWS)",
    )
    add_json_argument(sweep)
    sweep.set_defaults(func=_sweep, session_factory=session_factory)
