"""personakit: Amazon Personalize data, training and serving, offline or on AWS, without leaks.

``personakit quickstart`` runs the whole journey on the local engine (synthetic
data, validation, import, two recipes trained and compared, a batch job, a
campaign with a filter, teardown) and prints what happens; ``personakit schema
FILE --type items`` prints the inferred Avro schema; ``personakit validate
INTERACTIONS [--items F] [--users F]`` prints the report and exits 1 when it has
errors (files are CSV or Parquet, by extension); ``personakit serve --workspace
DIR`` serves the local engine over HTTP for the AWS CLI and other SDKs; ``personakit cost
advise|compare|estimate|running`` and ``personakit sweep`` are described in
:mod:`personakit.cost.cli`.

Every command takes ``--json``: one JSON document on stdout and nothing else there
(progress and logs go to stderr), with the keys docs/getting-started.md, docs/cost.md
and docs/sweep.md list; the exit status is the same. A personakit error then prints
``{"error": {"type": ..., "message": ...}}`` on stdout as well as the message on
stderr, and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from personakit._jsonout import dumps
from personakit._version import __version__
from personakit.errors import ConfigurationError, PersonakitError

if TYPE_CHECKING:
    import pyarrow as pa

#: ``serve``'s default port (``local.wire.server.DEFAULT_PORT``, which a test keeps equal:
#: that module loads the engine and botocore, so only ``serve`` imports it)
SERVE_PORT = 4599


def read_table(path: str | Path) -> pa.Table:
    """Read a CSV or Parquet file into an Arrow table."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return pq.read_table(path)
    import pyarrow.csv as pacsv

    return pacsv.read_csv(path)


def _cmd_schema(args: argparse.Namespace) -> int:
    from personakit.rules.schema import Schema  # subcommands load what they run, not more

    schema = Schema.infer(read_table(args.file), args.type, domain=args.domain)
    problems = schema.check().problems
    if args.json:
        document = {"schema": json.loads(schema.to_json()), "problems": problems}
        print(dumps(document))
        return 0
    print(schema.to_json(indent=2))
    for problem in problems:
        print(problem, file=sys.stderr)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from personakit.rules.validate import validate  # (start-up of `personakit --help`)

    report = validate(
        read_table(args.interactions) if args.interactions else None,
        items=read_table(args.items) if args.items else None,
        users=read_table(args.users) if args.users else None,
        domain=args.domain,
    )
    print(dumps(report) if args.json else report)
    return 0 if report.ok else 1


def _cmd_quickstart(args: argparse.Namespace) -> int:
    from personakit.quickstart import run  # pandas, numpy and the engine: only when run

    result = run(
        args.workspace,
        keep=args.keep,
        n_users=args.users,
        seed=args.seed,
        progress=not args.no_progress,
        out=sys.stderr if args.json else None,  # --json: the narration goes to stderr
        region=args.region,
    )
    if args.json:
        print(dumps(result))
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from personakit.local import LocalEngine  # the engine: only when served
    from personakit.local.wire.server import EngineServer  # (same)

    writer = _import_callable(args.theme_writer, "--theme-writer") if args.theme_writer else None
    try:
        engine = LocalEngine(Path(args.workspace), region=args.region)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
    try:
        engine.register_theme_writer(writer)
        try:
            server = EngineServer(engine, host=args.host, port=args.port)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}; "
                "choose another --port (0 picks a free one)"
            ) from exc
        environment = {
            "AWS_ENDPOINT_URL": server.url,
            "AWS_ACCESS_KEY_ID": "personakit",
            "AWS_SECRET_ACCESS_KEY": "personakit",
            "AWS_DEFAULT_REGION": args.region,
        }
        if args.json:
            print(
                dumps(
                    {
                        "endpoint": server.url,
                        "workspace": str(engine.path),
                        "environment": environment,
                    }
                )
            )
        else:
            print(f"personakit local engine on {server.url} (workspace {engine.path})")
            print("Point any AWS SDK or the AWS CLI at it:")
            for key, value in environment.items():
                print(f"  export {key}={value}")
            print(
                f"  aws personalize list-dataset-groups   # or endpoint_url={server.url!r} in boto3"
            )
            print("Ctrl-C stops it.")
        sys.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
    finally:
        engine.close()
    return 0


def _import_callable(spec: str, option: str) -> Callable[..., Any]:
    """The callable ``MODULE:NAME`` names (``mypkg.themes:write``), imported as
    ``python -m`` would from the current folder; a clear error for each way it fails."""
    import importlib  # only for an option that names a callable
    import os  # (same)

    module_name, colon, name = spec.partition(":")
    if not colon or not module_name or not name:
        raise ConfigurationError(
            f"{option} takes MODULE:FUNCTION (mypkg.themes:write), got {spec!r}"
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise ConfigurationError(
                f"{option}: no module named {module_name!r} here ({os.getcwd()}) or installed"
            ) from None
        raise ConfigurationError(f"{option}: importing {module_name!r} failed: {exc}") from exc
    except Exception as exc:  # the module's own code failed
        raise ConfigurationError(
            f"{option}: importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    target: Any = module
    for part in name.split("."):
        if not hasattr(target, part):
            raise ConfigurationError(f"{option}: module {module_name!r} has no {name!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ConfigurationError(f"{option}: {spec} is a {type(target).__name__}, not a function")
    return target  # type: ignore[no-any-return]


def add_quickstart_arguments(parser: argparse.ArgumentParser) -> None:
    """The quickstart's options (shared with ``examples/quickstart.py``)."""
    from personakit.quickstart import MIN_USERS  # quickstart loads pandas: not for --help

    def users(text: str) -> int:
        value = int(text)
        if value < MIN_USERS:
            raise argparse.ArgumentTypeError(
                f"at least {MIN_USERS} (Personalize trains on 1,000 interactions or more)"
            )
        return value

    parser.add_argument(
        "--workspace",
        default=None,
        help="the local engine's folder (default: a temporary folder, deleted afterwards)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the dataset group, solutions and campaign (and the workspace)",
    )
    parser.add_argument(
        "--users",
        type=users,
        default=300,
        help="users in the synthetic data (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the synthetic data (default: %(default)s)"
    )
    parser.add_argument(
        "--region",
        default="us-east-1",
        help="where the run's AWS bill is priced, a Personalize region (default: %(default)s)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress on stderr")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the docs and tests)."""
    from personakit.cost.cli import add_json_argument  # cost subcommands: only with the parser
    from personakit.cost.cli import register as register_cost  # (same)

    parser = argparse.ArgumentParser(prog="personakit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"personakit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    quick = sub.add_parser(
        "quickstart",
        help="run the whole journey offline on the local engine, in seconds",
        description="Synthetic ratings -> prep -> validate -> dataset group -> "
        "user-personalization and popularity-count trained and compared -> batch "
        "inference -> campaign with a filter -> teardown, on the embedded local engine "
        "(no AWS account).",
    )
    add_quickstart_arguments(quick)
    add_json_argument(quick, keys="docs/getting-started.md")
    quick.set_defaults(func=_cmd_quickstart)

    schema = sub.add_parser("schema", help="infer and print a dataset's Avro schema")
    schema.add_argument("file", help="CSV or Parquet file")
    schema.add_argument(
        "--type", default="interactions", help="dataset type (default: %(default)s)"
    )
    schema.add_argument("--domain", default=None, help="ECOMMERCE or VIDEO_ON_DEMAND")
    add_json_argument(schema, keys="docs/getting-started.md")
    schema.set_defaults(func=_cmd_schema)

    check = sub.add_parser("validate", help="check data against Personalize's rules")
    check.add_argument("interactions", nargs="?", help="interactions CSV or Parquet file")
    check.add_argument("--items", help="items CSV or Parquet file")
    check.add_argument("--users", help="users CSV or Parquet file")
    check.add_argument("--domain", default=None, help="ECOMMERCE or VIDEO_ON_DEMAND")
    add_json_argument(check, keys="docs/getting-started.md")
    check.set_defaults(func=_cmd_validate)

    serve = sub.add_parser(
        "serve",
        help="serve the local engine over HTTP for the AWS CLI and every AWS SDK",
        description="The local engine behind an HTTP endpoint speaking AWS's wire protocols "
        "(Personalize, its runtime and events, S3, SageMaker, SageMaker Runtime): set "
        "AWS_ENDPOINT_URL to the printed URL. A Session.local on the same workspace sees the "
        "same Personalize and S3 resources.",
    )
    serve.add_argument("--workspace", required=True, help="the engine's folder (made if missing)")
    serve.add_argument(
        "--port",
        type=int,
        default=SERVE_PORT,
        help="default: %(default)s; 0 picks a free one",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to bind (default: %(default)s, this machine only)",
    )
    serve.add_argument(
        "--region", default="us-east-1", help="the region in ARNs (default: %(default)s)"
    )
    serve.add_argument(
        "--theme-writer",
        metavar="MODULE:FUNCTION",
        default=None,
        help="names the themes of THEME_GENERATION batch inference jobs: a function taking "
        "a ThemeRequest and returning the theme's text (e.g. mythemes:write, imported from "
        "this folder or an installed package); default: themes from item metadata",
    )
    add_json_argument(serve, keys="docs/local-engine.md")
    serve.set_defaults(func=_cmd_serve)

    register_cost(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``personakit`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args)
    except PersonakitError as exc:
        print(f"personakit: {exc}", file=sys.stderr)
        if getattr(args, "json", False):
            print(dumps({"error": {"type": type(exc).__name__, "message": str(exc)}}))
        return 2
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
