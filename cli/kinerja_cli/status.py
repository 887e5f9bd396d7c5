"""`kinerja status`: every service of the running platform at a glance — whether its database
and the broker answer, how far its consumer groups are behind, what its relay has not published,
what it parked — the same figures each service's `/health` shows, as one table (or `--json`)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from typing import Any

from .services import SERVICE_MODULES

UP, DOWN = "up", "DOWN"


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add the `status` options to its parser."""
    parser.add_argument("--json", action="store_true", help="one JSON object per service")
    parser.set_defaults(func=run_status)


def run_status(args: argparse.Namespace) -> int:
    """Print the platform's status; exit 1 when something is down or not running."""
    from kinerja_events.embedded import PlatformNotRunning, attach_endpoints
    from kinerja_events.settings import load_settings

    try:
        endpoints = asyncio.run(attach_endpoints(load_settings()))
    except PlatformNotRunning as exc:
        print(f"kinerja status: {exc}", file=sys.stderr)
        return 1
    rows = asyncio.run(read_all(endpoints))
    if args.json:
        for row in rows:
            print(json.dumps(row, sort_keys=True))
    else:
        print(render(rows, endpoints.kafka_bootstrap))
    return 0 if all(row["postgresql"] == UP and row["kafka"] == UP for row in rows) else 1


async def read_all(endpoints: Any) -> list[dict[str, Any]]:
    """One status row per service, read side by side."""
    return list(await asyncio.gather(*(read_service(name, endpoints)
                                       for name in SERVICE_MODULES)))


async def read_service(name: str, endpoints: Any) -> dict[str, Any]:
    """`name`'s row: reachability, events and commands stored, lag, backlog, dead letters."""
    from kinerja_events.db import make_engine
    from kinerja_events.vitals import read_backlogs, read_consumer_lag

    bootstrap = importlib.import_module(SERVICE_MODULES[name])
    groups = {f"{name}-{part}": list(topics) for part, topics in bootstrap.CONSUMES.items()}
    row: dict[str, Any] = {"service": name, "postgresql": DOWN, "kafka": DOWN, "events": None,
                           "commands": None, "outbox_backlog": None, "dead_letters": None,
                           "consumer_lag": {}, "lag_total": None, "errors": []}
    engine = make_engine(endpoints.database_url(bootstrap.DATABASE))
    try:
        row["events"], row["commands"] = await count_stored(engine)
        row["outbox_backlog"], row["dead_letters"] = await read_backlogs(engine)
        row["postgresql"] = UP
    except Exception as exc:
        row["errors"].append(f"postgresql: {type(exc).__name__}: {str(exc)[:160]}")
    finally:
        await engine.dispose()
    try:
        row["consumer_lag"] = await asyncio.wait_for(
            read_consumer_lag(endpoints.kafka_bootstrap, groups), 20)
        row["lag_total"] = sum(sum(lags.values()) for lags in row["consumer_lag"].values())
        row["kafka"] = UP
    except Exception as exc:
        row["errors"].append(f"kafka: {type(exc).__name__}: {str(exc)[:160]}")
    return row


async def count_stored(engine: Any) -> tuple[int, int]:
    """(events in the service's store, commands it decided)."""
    from sqlalchemy import func, select

    from kinerja_events.db import commands, events

    async with engine.connect() as conn:
        stored = await conn.scalar(select(func.count()).select_from(events))
        decided = await conn.scalar(select(func.count()).select_from(commands))
    return int(stored or 0), int(decided or 0)


def render(rows: list[dict[str, Any]], kafka: str) -> str:
    """The status table, its totals, and what is wrong, if anything."""
    from kinerja_events.display import table

    def number(value: Any) -> str:
        return "?" if value is None else f"{value:,}"

    lines = [["service", "database", "broker", "events", "commands", "lag", "outbox",
              "dead letters"]]
    for row in rows:
        lines.append([row["service"], row["postgresql"], row["kafka"], number(row["events"]),
                      number(row["commands"]), number(row["lag_total"]),
                      number(row["outbox_backlog"]), number(row["dead_letters"])])
    totals = ["total", "", ""] + [number(sum(r[k] or 0 for r in rows)) for k in
                                  ("events", "commands", "lag_total", "outbox_backlog",
                                   "dead_letters")]
    lines.append(totals)
    out = [table(lines), f"broker {kafka}; lag = messages not yet consumed, outbox = events "
                         "not yet published, dead letters = parked and not replayed"]
    out += [f"  {row['service']}: {error}" for row in rows for error in row["errors"]]
    if any(row["dead_letters"] for row in rows):
        out.append("see them with: kinerja deadletters list SERVICE")
    return "\n".join(out)
