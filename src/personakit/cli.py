"""The ``personakit`` command.

``personakit schema FILE --type items`` prints the inferred Avro schema;
``personakit validate INTERACTIONS [--items F] [--users F]`` prints the report and
exits 1 when it has errors. Files are CSV or Parquet (by extension).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from personakit._version import __version__
from personakit.errors import PersonakitError

if TYPE_CHECKING:
    import pyarrow as pa


def read_table(path: str | Path) -> pa.Table:
    """Read a CSV or Parquet file into an Arrow table."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return pq.read_table(path)
    import pyarrow.csv as pacsv

    return pacsv.read_csv(path)


def _cmd_schema(args: argparse.Namespace) -> int:
    from personakit.schema import Schema

    schema = Schema.infer(read_table(args.file), args.type, domain=args.domain)
    print(schema.to_json(indent=2))
    for problem in schema.check().problems:
        print(problem, file=sys.stderr)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from personakit.validate import validate

    report = validate(
        read_table(args.interactions) if args.interactions else None,
        items=read_table(args.items) if args.items else None,
        users=read_table(args.users) if args.users else None,
        domain=args.domain,
    )
    print(report)
    return 0 if report.ok else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the docs and tests)."""
    parser = argparse.ArgumentParser(prog="personakit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"personakit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    schema = sub.add_parser("schema", help="infer and print a dataset's Avro schema")
    schema.add_argument("file", help="CSV or Parquet file")
    schema.add_argument(
        "--type", default="interactions", help="dataset type (default: %(default)s)"
    )
    schema.add_argument("--domain", default=None, help="ECOMMERCE or VIDEO_ON_DEMAND")
    schema.set_defaults(func=_cmd_schema)

    check = sub.add_parser("validate", help="check data against Personalize's rules")
    check.add_argument("interactions", nargs="?", help="interactions CSV or Parquet file")
    check.add_argument("--items", help="items CSV or Parquet file")
    check.add_argument("--users", help="users CSV or Parquet file")
    check.add_argument("--domain", default=None, help="ECOMMERCE or VIDEO_ON_DEMAND")
    check.set_defaults(func=_cmd_validate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``personakit`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args)
    except PersonakitError as exc:
        print(f"personakit: {exc}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
