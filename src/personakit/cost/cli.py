"""The ``personakit cost ...`` and ``personakit sweep`` commands.

``register(subparsers)`` adds them to the ``personakit`` parser:

* ``personakit cost advise MODEL`` ranks the instances that fit a model (packaged
  prices, or ``--live`` for the Price List API);
* ``personakit cost estimate --data-gb 10 --training-hours 20 --campaign-tps 1``
  prints a month of Amazon Personalize;
* ``personakit cost running [--budget 15000 --credit-expires 2027-03-31]`` lists
  what bills now, the burn rate and, with a budget, the projection;
* ``personakit sweep [--yes --older-than 2h | --yes --run-id ID] [--include-kept]
  [--include-idle-endpoints] [--region R | --workspace DIR] [--bucket B --prefix P]``
  lists (default: dry run) or deletes what crashed runs left behind, on AWS or, with
  ``--workspace``, in a local engine's workspace; ``--yes`` needs ``--older-than`` or
  ``--run-id`` (``--older-than 0s``: everything), and what was kept on purpose
  (``personakit:keep=true``) is spared unless ``--include-kept``.

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

from personakit.errors import ConfigurationError
from personakit.rules.facts import KEEP_TAG, RUN_TAG

if TYPE_CHECKING:
    from personakit.aws.session import Session

__all__ = ["SessionFactory", "aws_session", "register", "workspace_session"]

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
    if args.bucket is not None:
        options["bucket"] = args.bucket
    if args.prefix is not None:
        options["prefix"] = args.prefix
    return Session.local(path, **options)


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
    print(advise(args.model, **kwargs))
    return 0


def _estimate(args: argparse.Namespace) -> int:
    from personakit.cost.personalize import estimate  # per command: --help stays quick

    print(
        estimate(
            data_gb=args.data_gb,
            training_hours=args.training_hours,
            campaign_tps_hours=(args.campaign_tps, args.hours) if args.campaign_tps else 0,
            recommender_hours=args.recommender_hours,
            recommender_users=args.recommender_users,
            region=args.region or "us-east-1",
            free_tier=args.free_tier,
        )
    )
    return 0


def _running(args: argparse.Namespace) -> int:
    from personakit.cost.catalog import Catalog  # per command: --help stays quick
    from personakit.cost.guard import CostGuard  # per command: --help stays quick
    from personakit.cost.inventory import running  # per command: --help stays quick

    session = args.session_factory(args)
    inventory = running(session, catalog=Catalog.load(), idle_window=args.idle_for)
    print(inventory)
    if args.budget is None:
        return 0
    guard = CostGuard(
        session,
        budget_usd=args.budget,
        credit_expires=args.credit_expires,
        spent_usd=args.spent,
        catalog=Catalog.load(),
    )
    status = guard.status(inventory)
    print()
    print(status)
    return 1 if status.over_budget else 0


def _sweep(args: argparse.Namespace) -> int:
    from personakit.cost.sweep import sweep  # per command: --help stays quick

    if args.workspace is not None and (args.region or args.profile):
        given = "--region" if args.region else "--profile"
        raise ConfigurationError(
            f"--workspace and {given} exclude each other: --workspace DIR sweeps a local "
            "engine's workspace (Session.local), --region and --profile an AWS account; "
            "give one or the other"
        )
    if args.yes and args.older_than is None and not args.run_id:
        raise ConfigurationError(
            "sweep --yes needs --older-than or --run-id, or it would delete a run still "
            "going (a colleague's notebook, a job in progress): add --older-than 2h to spare "
            "anything younger, --run-id ID to sweep one run, or --older-than 0s to mean "
            "everything"
        )
    with contextlib.ExitStack() as stack:
        if args.workspace is not None:
            session = stack.enter_context(workspace_session(args))  # closes the engine
        else:
            session = args.session_factory(args)
        report = sweep(
            session,
            dry_run=not args.yes,
            older_than=args.older_than,
            run_id=args.run_id,
            include_kept=args.include_kept,
            include_idle_endpoints=args.include_idle_endpoints,
            idle_window=args.idle_for,
        )
    print(report)
    if report.dry_run:
        return 1 if report.items else 0
    return 0 if report.ok else 1


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    *,
    session_factory: SessionFactory = aws_session,
) -> None:
    """Add ``cost`` (``advise``, ``estimate``, ``running``) and ``sweep`` to a parser.

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
    _connection(advise)
    advise.set_defaults(func=_advise, session_factory=session_factory)

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
    est.set_defaults(func=_estimate)

    run = commands.add_parser("running", help="what bills now, the burn rate, the budget")
    run.add_argument("--budget", type=float, help="budget (or credits) in USD")
    run.add_argument("--credit-expires", help="when the credits expire (YYYY-MM-DD)")
    run.add_argument("--spent", type=float, default=0.0, help="already spent, USD")
    run.add_argument(
        "--idle-for", metavar="DURATION", help="check endpoint invocations over e.g. 1d"
    )
    _connection(run)
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
    sweep.set_defaults(func=_sweep, session_factory=session_factory)
