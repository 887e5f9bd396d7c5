"""`kinerja`: the one command for people. Each service contributes its own subcommands.

Service modules are imported only when their subcommand tree is built, never at import time.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand -> (module providing `add_commands(parser)`, help line)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": ("kinerja_cli.run", "run the platform (embedded PostgreSQL and broker by default)"),
    "payroll": ("kinerja_payroll.cli", "TPP: compute, explain, close, verify"),
    "attendance": ("kinerja_attendance.cli", "the attendance service (K-MOB presensi)"),
    "deadletters": ("kinerja_cli.deadletters", "messages a service parked: list, show, replay"),
    "topics": ("kinerja_cli.topics", "create the Kafka topics (for a real cluster)"),
}


def build_parser() -> argparse.ArgumentParser:
    """The full `kinerja` argument parser."""
    parser = argparse.ArgumentParser(
        prog="kinerja",
        description="Kinerja: measure ASN work and pay TPP from what was actually done.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_line) in SUBCOMMANDS.items():
        child = sub.add_parser(name, help=help_line, description=help_line)
        add_service_commands(child, module)
    return parser


def add_service_commands(parser: argparse.ArgumentParser, module: str) -> None:
    """Let `module` add its subcommands to `parser`."""
    importlib.import_module(module).add_commands(parser)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `kinerja` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "--help"])
        return 2
    return int(func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
