"""`kinerja payroll serve | close | export | preview`: the service and its month-end work.

`close`, `export` and `preview` attach to the payroll database of a running platform (the
configured PostgreSQL, or the embedded one `kinerja run` started); the close's events go to
payroll's outbox, and the running service's relay publishes them on `kinerja.payroll`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from collections.abc import Callable, Coroutine
from typing import Any

from kinerja_events.types import WIB


def add_commands(commands: Any) -> None:
    """Add the database-backed payroll subcommands to `commands` (a subparsers object)."""
    from kinerja_events.runtime import add_serve_command

    from kinerja_events.arguments import period_argument

    add_serve_command(commands, "run the payroll service", serve)
    close = commands.add_parser("close", help="close a month: freeze TPP, pay adjustments")
    close.add_argument("period", type=period_argument, help="YYYY-MM")
    close.set_defaults(func=run_close)
    check = commands.add_parser("check", help="whether a month can be closed now, and what "
                                              "blocks it (writes nothing)")
    check.add_argument("period", type=period_argument, help="YYYY-MM")
    check.set_defaults(func=run_check)
    export = commands.add_parser("export", help="export the history payroll holds (JSONL)")
    export.add_argument("--out", required=True, help="the JSONL file to write")
    export.add_argument("--period", type=period_argument,
                        help="only the facts in this close's cut-off, and its close")
    export.set_defaults(func=run_export)
    preview = commands.add_parser("preview", help="the open month's projected TPP so far")
    preview.add_argument("period", type=period_argument, help="YYYY-MM")
    preview.add_argument("--json", action="store_true", help="one JSON object per employee")
    preview.set_defaults(func=run_preview)
    show = commands.add_parser("show", help="a month's TPP per employee with totals: a closed "
                                            "month from its close, an open one projected")
    show.add_argument("period", type=period_argument, help="YYYY-MM")
    show.add_argument("--json", action="store_true", help="one JSON object per employee")
    show.set_defaults(func=run_show)


async def serve(metrics_port: int) -> None:
    """Run the payroll service (embedded infrastructure where not configured)."""
    from kinerja_events.runtime import serve_service

    from .bootstrap import DATABASE, build_service, load_config

    config = load_config()
    await serve_service(lambda kafka, url, registry, **options: build_service(
        kafka, url, config, registry, **options), DATABASE, metrics_port)


async def attach_database() -> Any:
    """An engine on the running platform's payroll database."""
    from kinerja_events.embedded import attach_endpoints
    from kinerja_events.settings import load_settings

    from .bootstrap import DATABASE, open_database

    endpoints = await attach_endpoints(load_settings())
    return await open_database(endpoints.database_url(DATABASE))


def load_stored_facts() -> Any:
    """Every fact the running platform's payroll holds (for `explain` without a file)."""
    return asyncio.run(_load_stored_facts())


async def _load_stored_facts() -> Any:
    from .ledger import load_facts

    engine = await attach_database()
    try:
        async with engine.connect() as conn:
            return await load_facts(conn)
    finally:
        await engine.dispose()


def attached(command: Callable[..., Coroutine[Any, Any, int]]) -> Callable[..., int]:
    """Run an admin command; a platform that is not running is a clear error, not a trace."""
    def run(*args: Any) -> int:
        from kinerja_events.embedded import PlatformNotRunning

        try:
            return asyncio.run(command(*args))
        except PlatformNotRunning as exc:
            print(f"kinerja payroll: {exc}", file=sys.stderr)
            return 1
    return run


def run_close(args: argparse.Namespace) -> int:
    """Close the period; print its summary and where the CSV went."""
    return attached(close)(args.period)


async def close(period: str) -> int:
    from kinerja_events.store import PostgresEventStore

    from .bootstrap import load_config
    from .closing import AlreadyClosed, CloseRefused
    from .exports import write_close_csv
    from .ledger import close_period
    from .people import names_and_units

    config = load_config()
    engine = await attach_database()
    try:
        done = await close_period(engine, PostgresEventStore(engine), period,
                                  config.rule_file(), datetime.now(WIB))
        async with engine.connect() as conn:
            names = await names_and_units(conn, period)
    except (AlreadyClosed, CloseRefused) as exc:
        print(refusal_text(exc), file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    files = write_close_csv(done, config.export_dir, names)
    print(json.dumps({**done.closed.model_dump(mode="json"),
                      "adjustments_paid_rupiah": done.adjustments_rupiah,
                      "adjustments": len(done.adjustments),
                      "csv": [str(f) for f in files]}, indent=2))
    return 0


def refusal_text(exc: Exception) -> str:
    """A refused close for a person: one line, or one line per reason."""
    problems = getattr(exc, "problems", None)
    if not problems:
        return f"kinerja payroll: {exc}"
    return "\n".join([f"kinerja payroll: {exc.period} cannot be closed:",  # type: ignore[attr-defined]
                      *(f"  - {problem}" for problem in problems)])


def run_check(args: argparse.Namespace) -> int:
    """Say whether the period can be closed now, and what blocks it."""
    return attached(check)(args.period)


async def check(period: str) -> int:
    from .bootstrap import load_config
    from .closing import AlreadyClosed, CloseRefused
    from .ledger import check_close

    engine = await attach_database()
    try:
        would = await check_close(engine, period, load_config().rule_file(), datetime.now(WIB))
    except (AlreadyClosed, CloseRefused) as exc:
        print(refusal_text(exc), file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(f"{period} can be closed: {would.closed.employees} employees, "
          f"Rp {would.closed.total_rupiah:,}; {len(would.adjustments)} adjustment(s) of closed "
          f"months, Rp {would.adjustments_rupiah:,}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Write the history (facts and payroll's events) as JSONL."""
    return attached(export)(Path(args.out), args.period)


async def export(out: Path, period: str | None) -> int:
    from .exports import export_history

    engine = await attach_database()
    try:
        count = await export_history(engine, out, period)
    except LookupError as exc:
        print(f"kinerja payroll: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(f"wrote {count} events to {out}")
    return 0


def run_preview(args: argparse.Namespace) -> int:
    """Print the open month's projection: a table, or JSON lines."""
    return attached(show_month)(args.period, args.json, True)


def run_show(args: argparse.Namespace) -> int:
    """Print a month, closed or open: a table, or JSON lines."""
    return attached(show_month)(args.period, args.json, False)


async def show_month(period: str, as_json: bool, open_only: bool) -> int:
    from .people import month_table, render
    from .projection import pending_facts

    engine = await attach_database()
    try:
        async with engine.connect() as conn:
            table = await month_table(conn, period)
            pending = 0 if table.closed else await pending_facts(conn)
    finally:
        await engine.dispose()
    if table.closed and open_only:
        print(f"kinerja payroll: {period} is closed: `kinerja payroll show {period}` shows its "
              "close", file=sys.stderr)
        return 1
    if pending:
        print(f"kinerja payroll: {pending} facts received are not in this projection yet",
              file=sys.stderr)
    if not table.rows:
        print(f"kinerja payroll: no results for {period} (no facts yet, or a month after the "
              "one in progress)", file=sys.stderr)
        return 1
    if as_json:
        for row in table.as_json():
            print(json.dumps(row, sort_keys=True, separators=(",", ":")))
    else:
        print(render(table))
    return 0
