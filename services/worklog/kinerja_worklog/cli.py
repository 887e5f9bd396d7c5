"""`kinerja worklog ...`: run the worklog service; a superior's pending approvals; an employee's
month of activities."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from kinerja_events.arguments import nip_argument, period_argument
from kinerja_events.display import table
from kinerja_events.runtime import (
    UNREACHABLE, add_serve_command, on_service_database, serve_bootstrap,
)

from .bootstrap import DATABASE


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add the worklog subcommands to `parser`."""
    sub = parser.add_subparsers(dest="worklog_command", metavar="COMMAND")
    add_serve_command(sub, "consume gateway commands and HR reference data", serve)
    pending = sub.add_parser("pending", help="the activities a superior may approve today")
    pending.add_argument("approver", type=nip_argument, help="the superior's NIP")
    pending.add_argument("--json", action="store_true", help="one JSON object per activity")
    pending.set_defaults(func=lambda args: show_pending(args.approver, args.json))
    month = sub.add_parser("month", help="an employee's activities of a month, per day")
    month.add_argument("nip", type=nip_argument, help="the employee's NIP")
    month.add_argument("period", type=period_argument, help="YYYY-MM")
    month.add_argument("--json", action="store_true", help="the month as one JSON object")
    month.set_defaults(func=lambda args: show_month(args.nip, args.period, args.json))


async def serve(metrics_port: int) -> None:
    """Run the worklog service (embedded infrastructure where not configured)."""
    from . import bootstrap

    await serve_bootstrap(bootstrap, metrics_port)


def on_database(read: Callable[[Any, Any, str], Awaitable[Any]]) -> Any:
    """`read(asyncpg connection, codec, payroll database URL)` on the running platform's
    worklog database; `UNREACHABLE` when it cannot be reached (said on stderr)."""
    from kinerja_events.codec import make_codec
    from kinerja_events.queries import on_connection

    async def work(engine: Any, endpoints: Any) -> Any:
        return await on_connection(
            engine, lambda conn: read(conn, make_codec(), endpoints.database_url("payroll")))

    return on_service_database("kinerja worklog", DATABASE, work)


def show_pending(approver: str, as_json: bool) -> int:
    from kinerja_events.types import WIB

    from .queries import pending_approvals

    today = datetime.now(WIB).date()
    activities = on_database(lambda conn, codec, _: pending_approvals(conn, codec, approver,
                                                                      today))
    if activities is UNREACHABLE:
        return 1
    if as_json:
        for activity in activities:
            print(json.dumps(activity.as_json(), sort_keys=True))
        return 0
    if not activities:
        print(f"nothing waits for {approver}'s decision")
        return 0
    rows = [("work date", "NIP", "activity", "task", "qty", "minutes", "description")]
    rows += [(a.work_date.isoformat(), a.nip, a.activity_id, a.task_code, str(a.quantity),
              f"{a.minutes:,}", a.description[:40]) for a in activities]
    print(table(rows))
    print(f"{len(activities)} activities, {sum(a.minutes for a in activities):,} minutes, "
          f"wait for {approver}")
    return 0


def show_month(nip: str, period: str, as_json: bool) -> int:
    from .queries import DAILY_CAP_MINUTES, employee_month

    month = on_database(lambda conn, codec, payroll_url: employee_month(
        conn, codec, nip, period, payroll_url))
    if month is UNREACHABLE:
        return 1
    if as_json:
        print(json.dumps(month.as_json(), sort_keys=True))
        return 0
    print(f"{month.name or 'unknown employee'} ({nip}), {period}: daily cap "
          f"{DAILY_CAP_MINUTES:,} approved minutes")
    rows = [("work date", "logged", "approved", "rejected", "pending", "counted")]
    for day in month.days():
        rows.append((day["work_date"], *(f"{day[k]:,}" for k in (
            "logged_minutes", "approved_minutes", "rejected_minutes", "pending_minutes",
            "counted_minutes"))))
    totals = month.totals()
    rows.append(("total", *(f"{totals[k]:,}" for k in (
        "logged_minutes", "approved_minutes", "rejected_minutes", "pending_minutes",
        "counted_minutes"))))
    print(table(rows))
    value = month.minute_value_rupiah
    print("value of one approved minute (payroll's projection): "
          + (f"Rp {value}" if value is not None else "not available"))
    return 0

