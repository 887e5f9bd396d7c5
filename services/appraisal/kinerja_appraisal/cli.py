"""`kinerja appraisal ...`: run the appraisal service; whom an employee may rate; the ratings an
employee received; a leader's IKPs."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from kinerja_events.arguments import nip_argument, period_argument
from kinerja_events.display import table
from kinerja_events.runtime import (
    UNREACHABLE, add_serve_command, read_service_database, serve_bootstrap,
)

from .bootstrap import DATABASE, load_config


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add the appraisal subcommands to `parser`."""
    sub = parser.add_subparsers(dest="appraisal_command", metavar="COMMAND")
    add_serve_command(sub, "consume gateway commands and HR reference data", serve)
    rateable = sub.add_parser("rateable", help="whom an employee may rate, with which relation")
    rateable.add_argument("nip", type=nip_argument, help="the rater's NIP")
    rateable.add_argument("--period", type=period_argument,
                          help="YYYY-MM (default: the period whose rating window is open)")
    rateable.add_argument("--json", action="store_true", help="the answer as one JSON object")
    rateable.set_defaults(func=lambda args: show_rateable(args.nip, args.period, args.json))
    received = sub.add_parser("received", help="an employee's ratings of a month, by group")
    received.add_argument("nip", type=nip_argument, help="the ratee's NIP")
    received.add_argument("period", type=period_argument, help="YYYY-MM")
    received.add_argument("--json", action="store_true", help="the answer as one JSON object")
    received.set_defaults(func=lambda args: show_received(args.nip, args.period, args.json))
    ikp = sub.add_parser("ikp", help="a leader's open and overdue IKPs")
    ikp.add_argument("leader", type=nip_argument, help="the leader's NIP")
    ikp.add_argument("--all", action="store_true", help="completed IKPs too")
    ikp.add_argument("--json", action="store_true", help="one JSON object per IKP")
    ikp.set_defaults(func=lambda args: show_ikps(args.leader, args.all, args.json))


async def serve(metrics_port: int) -> None:
    """Run the appraisal service (embedded infrastructure where not configured)."""
    from . import bootstrap

    await serve_bootstrap(bootstrap, metrics_port)


def on_database(read: Callable[[Any, Any], Awaitable[Any]]) -> Any:
    """`read(asyncpg connection, codec)` on the running platform's appraisal database."""
    return read_service_database("kinerja appraisal", DATABASE, read)


def today() -> date:
    from kinerja_events.types import WIB

    return datetime.now(WIB).date()


def show_rateable(nip: str, period: str | None, as_json: bool) -> int:
    from .queries import rating_options

    limits = load_config().limits
    options = on_database(lambda conn, codec: rating_options(conn, codec, nip, period, today(),
                                                             limits))
    if options is UNREACHABLE:
        return 1
    if as_json:
        print(json.dumps(options.as_json(), sort_keys=True))
        return 0
    state = "open" if options.window_open else "not open to this rater today"
    print(f"{options.name or 'unknown employee'} ({nip}) rates for {options.period}: window "
          f"{options.window_opens} … {options.window_closes}, {state}")
    if not options.ratees:
        print("nobody to rate: no superior, peer or subordinate in the hierarchy today")
        return 0
    rows = [("relation", "NIP", "name", "rated")]
    rows += [(r["relation"], r["nip"], r["name"] or "", r["rated_at"] or "not yet")
             for r in options.ratees]
    print(table(rows))
    return 0


def show_received(nip: str, period: str, as_json: bool) -> int:
    from .queries import ratings_received

    found = on_database(lambda conn, codec: ratings_received(conn, codec, nip, period))
    if found is UNREACHABLE:
        return 1
    answer = found.as_json()
    if as_json:
        print(json.dumps(answer, sort_keys=True))
        return 0
    print(f"{found.name or 'unknown employee'} ({nip}), ratings of {period} "
          "(each rater's latest; no rater is named)")
    rows = [("group", "raters", "mean score", "weight")]
    rows += [(group, str(g["raters"]), g["score"] or "-", g["weight"] or "-")
             for group, g in answer["groups"].items()]
    print(table(rows))
    print(f"weighted score S = {answer['weighted_score'] or 'none (no rating)'}; "
          f"behaviour ratio R_b = min(1, S / 4) = {answer['behaviour_ratio']}")
    return 0


def show_ikps(leader: str, include_completed: bool, as_json: bool) -> int:
    from .queries import leader_ikps

    views = on_database(lambda conn, codec: leader_ikps(conn, codec, leader, today()))
    if views is UNREACHABLE:
        return 1
    shown = [v for v in views if include_completed or not v.status.startswith("completed")]
    if as_json:
        for view in shown:
            print(json.dumps(view.as_json(), sort_keys=True))
        return 0
    if not shown:
        print(f"{leader} has no {'' if include_completed else 'open or overdue '}IKP")
        return 0
    rows = [("due", "status", "IKP", "assignee", "name", "title")]
    rows += [(v.due_date.isoformat(), v.status, v.ikp_id, v.assignee_nip, v.assignee_name or "",
              v.title[:40]) for v in shown]
    print(table(rows))
    counts = {s: sum(v.status == s for v in views) for s in ("open", "overdue")}
    print(f"{counts['open']} open, {counts['overdue']} overdue, "
          f"{len(views) - sum(counts.values())} completed")
    return 0
