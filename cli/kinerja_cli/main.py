"""`kinerja`: the one command for people. Each service contributes its own subcommands.

Service modules are imported only when their subcommand tree is built, never at import time.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

# subcommand -> (module providing `add_commands(parser)`, help line)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": ("kinerja_cli.run", "run the platform (embedded PostgreSQL and broker by default)"),
    "demo": ("kinerja_cli.drive", "run the platform with the demo organisation's last two "
                                  "months (make run)"),
    "gateway": ("kinerja_cli.gateway", "send one signed command as the mobile gateway does"),
    "payroll": ("kinerja_payroll.cli", "TPP: compute, explain, close, verify"),
    "attendance": ("kinerja_attendance.cli", "the attendance service (K-MOB presensi)"),
    "worklog": ("kinerja_worklog.cli", "the worklog service (daily activities, approvals)"),
    "appraisal": ("kinerja_appraisal.cli", "the appraisal service (360° ratings, IKP, SKP, "
                                           "evaluations)"),
    "mkd": ("kinerja_mkd.cli", "the MKD service (work from anywhere: requests, grants)"),
    "report": ("kinerja_cli.forms", "printed forms: an SKP with realisation, evaluations and TPP "
                                    "(PDF); evaluations for SIASN (JSON)"),
    "status": ("kinerja_cli.status", "every service's health: database, broker, lag, backlog"),
    "deadletters": ("kinerja_cli.deadletters", "messages a service parked: list, show, replay"),
    "topics": ("kinerja_cli.topics", "create the Kafka topics (for a real cluster)"),
    "bus": ("kinerja_cli.bus", "rebuild the bus from the event stores (after a lost broker)"),
    "audit": ("kinerja_cli.audit", "the whole history for auditors: export, verify a closed month"),
    "hr": ("kinerja_cli.hrimport", "HR reference data: import an org chart (CSV or JSON)"),
    "docs": ("kinerja_cli.asyncapi", "documentation: generate the AsyncAPI documents"),
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
    """Entry point of the `kinerja` console script. A person never gets a traceback: an
    unreachable database or broker, or an unexpected error, is one line on stderr and a
    non-zero exit (`KINERJA_DEBUG=1` shows the traceback)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "--help"])
        return 2
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("KINERJA_DEBUG"):
            raise
        print(f"kinerja: {explain_failure(exc)}", file=sys.stderr)
        return 1


def explain_failure(exc: Exception) -> str:
    """One line saying what went wrong."""
    from kinerja_events.resilience import is_outage

    detail = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    if is_outage(exc):
        return f"cannot reach the database or the broker ({detail}); is the platform running?"
    if isinstance(exc, OSError):
        return f"{detail}"
    return f"unexpected error ({detail}); run with KINERJA_DEBUG=1 for the traceback"


if __name__ == "__main__":
    sys.exit(main())
