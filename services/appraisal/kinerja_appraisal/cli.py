"""`kinerja appraisal ...`: run the appraisal service; whom an employee may rate; the ratings an
employee received; a leader's IKPs; an employee's SKP of a year with realisation and
evaluations; the evaluation a period's data proposes."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from kinerja_events.arguments import nip_argument, period_argument, year_argument
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
    skp = sub.add_parser("skp", help="an employee's SKP of a year: targets against realisation, "
                                     "evaluations (the PDF: kinerja report skp)")
    skp.add_argument("nip", type=nip_argument, help="the employee's NIP")
    skp.add_argument("year", type=year_argument, help="the year, e.g. 2026")
    skp.add_argument("--json", action="store_true", help="the answer as one JSON object")
    skp.set_defaults(func=lambda args: show_skp(args.nip, args.year, args.json))
    proposal = sub.add_parser("proposal", help="what an evaluation of a quarter (or the year) "
                                               "would propose from the data held now")
    proposal.add_argument("nip", type=nip_argument, help="the employee's NIP")
    proposal.add_argument("year", type=year_argument, help="the year")
    proposal.add_argument("--quarter", type=int, choices=(1, 2, 3, 4),
                          help="the quarter (default: the year)")
    proposal.add_argument("--json", action="store_true", help="the answer as one JSON object")
    proposal.set_defaults(func=lambda args: show_proposal(args.nip, args.year, args.quarter,
                                                          args.json))


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


def show_skp(nip: str, year: int, as_json: bool) -> int:
    from .queries import skp_view

    view = on_database(lambda conn, codec: skp_view(conn, codec, nip, year, today()))
    if view is UNREACHABLE:
        return 1
    if as_json:
        print(json.dumps(view.as_json(), sort_keys=True))
        return 0
    print(f"{view.name or 'unknown employee'} ({nip}), SKP {year}: "
          + (f"{view.skp_id}, approved revision {view.approved_revision or 'none'}, latest "
             f"revision {view.latest_revision} {view.latest_status}" if view.skp_id
             else "none drafted"))
    if view.return_notes:
        print(f"returned with notes: {view.return_notes}")
    rows = [("item", "indicator", "serves", "target", "realised", "%")]
    for item in view.items:
        realised = sum(item.realised)
        rows.append((item.item_id, item.indicator[:40],
                     item.supports_item_id or f"goal: {(item.unit_goal or '')[:20]}",
                     f"{item.target_quantity:,}", f"{realised:,}",
                     f"{100 * realised // item.target_quantity}%"))
    print(table(rows))
    for e in view.evaluations:
        print(f"{e.period}: result {e.result_rating} (proposed {e.proposed_result}), behaviour "
              f"{e.behaviour_rating} (proposed {e.proposed_behaviour}) -> {e.predikat}, by "
              f"{e.evaluator_name or e.evaluator_nip}"
              + (f"; override: {e.override_reason}" if e.override_reason else ""))
    return 0


def show_proposal(nip: str, year: int, quarter: int | None, as_json: bool) -> int:
    from .queries import evaluation_proposal

    shown = on_database(lambda conn, codec: evaluation_proposal(conn, codec, nip, year, quarter))
    if shown is UNREACHABLE:
        return 1
    if as_json:
        print(json.dumps(shown, sort_keys=True))
        return 0
    if not shown["approved_skp"]:
        print(f"{nip} has no approved SKP of {year}: an evaluation would be refused")
        return 0
    print(f"{shown['period']} of {nip}: realised {shown['realised']:,} of the target "
          f"{shown['target']:,} -> result {shown['proposed_result']}; 360° score "
          f"{shown['score'] or 'none'} -> behaviour {shown['proposed_behaviour']}")
    return 0
