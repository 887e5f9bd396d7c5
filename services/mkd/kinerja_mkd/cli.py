"""`kinerja mkd ...`: run the MKD service; an employee's weeks of a month; a superior's pending
requests."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from kinerja_events.arguments import nip_argument, period_argument
from kinerja_events.display import table
from kinerja_events.runtime import (
    UNREACHABLE, add_serve_command, read_service_database, serve_bootstrap,
)

from .bootstrap import DATABASE


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add the MKD subcommands to `parser`."""
    sub = parser.add_subparsers(dest="mkd_command", metavar="COMMAND")
    add_serve_command(sub, "consume gateway commands, HR reference data and eligibility", serve)
    weeks = sub.add_parser("weeks", help="an employee's MKD quota and days, week by week")
    weeks.add_argument("nip", type=nip_argument, help="the employee's NIP")
    weeks.add_argument("period", type=period_argument, help="YYYY-MM")
    weeks.add_argument("--json", action="store_true", help="the answer as one JSON object")
    weeks.set_defaults(func=lambda args: show_weeks(args.nip, args.period, args.json))
    pending = sub.add_parser("pending", help="the MKD requests a superior may decide")
    pending.add_argument("approver", type=nip_argument, help="the superior's NIP")
    pending.add_argument("--json", action="store_true", help="one JSON object per request")
    pending.set_defaults(func=lambda args: show_pending(args.approver, args.json))


async def serve(metrics_port: int) -> None:
    """Run the MKD service (embedded infrastructure where not configured)."""
    from . import bootstrap

    await serve_bootstrap(bootstrap, metrics_port)


def on_database(read: Callable[[Any, Any], Awaitable[Any]]) -> Any:
    """`read(asyncpg connection, codec)` on the running platform's MKD database."""
    return read_service_database("kinerja mkd", DATABASE, read)


def show_weeks(nip: str, period: str, as_json: bool) -> int:
    from .queries import employee_weeks

    found = on_database(lambda conn, codec: employee_weeks(conn, codec, nip, period))
    if found is UNREACHABLE:
        return 1
    if as_json:
        print(json.dumps(found, sort_keys=True))
        return 0
    print(f"{found['name'] or 'unknown employee'} ({nip}), MKD in {period}")
    rows = [("week of", "quota", "granted", "pending", "revoked")]
    rows += [(w["week_start"], "not determined" if w["quota"] is None else str(w["quota"]),
              ", ".join(w["granted"]) or "-", ", ".join(w["pending"]) or "-",
              ", ".join(w["revoked"]) or "-") for w in found["weeks"]]
    print(table(rows))
    return 0


def show_pending(approver: str, as_json: bool) -> int:
    from kinerja_events.types import WIB

    from .queries import pending_requests

    today = datetime.now(WIB).date()
    found = on_database(lambda conn, codec: pending_requests(conn, codec, approver, today))
    if found is UNREACHABLE:
        return 1
    if as_json:
        for request in found:
            print(json.dumps(request, sort_keys=True))
        return 0
    if not found:
        print(f"no MKD request waits for {approver}'s decision")
        return 0
    rows = [("week of", "NIP", "name", "request", "days", "quota", "granted")]
    rows += [(r["week_start"], r["nip"], r["name"] or "", r["request_id"], ", ".join(r["days"]),
              "-" if r["quota"] is None else str(r["quota"]), ", ".join(r["granted"]) or "-")
             for r in found]
    print(table(rows))
    return 0
