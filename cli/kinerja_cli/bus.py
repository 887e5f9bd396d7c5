"""`kinerja bus rebuild`: put the platform's whole history back on a broker that lost it.

The service event stores are the durable truth; the bus is only their copy in transit. When the
broker loses its records (the embedded broker keeps them in memory; a real cluster can be lost
or replaced), this command:

1. creates the topics the broker lacks;
2. publishes again, on `kinerja.hr`, every HR fact the platform holds (the services keep them as
   reference data, payroll as facts), in the order they were recorded;
3. marks every service's outbox unsent, so each running relay publishes its service's history
   again, stream by stream in version order;
4. waits until every outbox is published (or says which service must be started to do it).

Every consumer dedupes through its inbox, so what it already applied is a no-op: no fact is
doubled and no closed month changes. `kinerja run` does the same by itself when it starts a new
embedded broker.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from .services import SERVICE_MODULES

PROGRAM = "kinerja bus"
DRAIN_SECONDS = 300.0
HR_FACTS = {
    "reference": "SELECT envelope::text FROM reference_facts WHERE envelope->>'source' = 'hr'",
    "payroll": "SELECT envelope::text FROM facts WHERE envelope->>'source' = 'hr'",
}


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add `rebuild` to the `bus` parser."""
    sub = parser.add_subparsers(dest="bus_command", metavar="COMMAND")
    sub.required = True
    rebuild = sub.add_parser(
        "rebuild", help="republish every service's history and the HR facts (after the broker "
                        "lost its records)",
        description="Create missing topics, republish the HR facts the platform holds, and "
                    "have every service's relay publish its whole outbox again; consumers "
                    "ignore what they already applied.")
    rebuild.add_argument("--no-wait", action="store_true",
                         help="do not wait for the relays to publish the outboxes")
    rebuild.add_argument("--json", action="store_true", help="the summary as one JSON object")
    rebuild.set_defaults(func=run_rebuild)


def run_rebuild(args: argparse.Namespace) -> int:
    """Rebuild the bus of the running platform; exit 1 when it cannot be reached or an outbox
    is still unpublished at the end of the wait."""
    from kinerja_events.runtime import UNREACHABLE, on_service_database

    payroll_database = importlib.import_module(SERVICE_MODULES["payroll"]).DATABASE
    outcome = on_service_database(PROGRAM, payroll_database, lambda _, endpoints: rebuild_bus(
        endpoints, wait=not args.no_wait, progress=say))
    if outcome is UNREACHABLE:
        return 1
    print(json.dumps(outcome) if args.json else render(outcome))
    return 0 if args.no_wait or not any(outcome["unpublished"].values()) else 1


async def rebuild_bus(endpoints: Any, *, wait: bool = True,
                      progress: Callable[[str], None] = lambda line: None,
                      drain_seconds: float = DRAIN_SECONDS) -> dict[str, Any]:
    """Rebuild the bus at `endpoints` (see the module's docstring): per service, the events
    marked for republishing and those still unpublished; the HR facts republished."""
    from kinerja_events import topics
    from kinerja_events.embedded import DEFAULT_PARTITIONS

    from .topics import create_all

    await create_all(endpoints.kafka_bootstrap, DEFAULT_PARTITIONS)
    engines = {name: await open_database(endpoints, name) for name in SERVICE_MODULES}
    try:
        hr = await republish_hr_facts(endpoints.kafka_bootstrap, engines)
        progress(f"republished {hr:,} HR facts on {topics.HR}")
        marked = await mark_outboxes_unsent(engines)
        progress(f"marked {sum(marked.values()):,} events for the relays to publish again")
        unpublished = (await drain_outboxes(engines, drain_seconds, progress) if wait
                       else dict.fromkeys(engines, 0))
    finally:
        for engine in engines.values():
            await engine.dispose()
    return {"hr_facts": hr, "republished": marked, "unpublished": unpublished}


async def open_database(endpoints: Any, service: str) -> Any:
    """An engine on `service`'s database (created with its tables when new)."""
    from kinerja_events.service import open_service_database

    return await open_service_database(endpoints.database_url(
        importlib.import_module(SERVICE_MODULES[service]).DATABASE))


async def republish_hr_facts(bootstrap: str, engines: Mapping[str, Any]) -> int:
    """Publish every HR fact any database holds (each event id once), in recorded order; how
    many."""
    from kinerja_events.codec import make_codec
    from kinerja_events.outbox import make_producer
    from kinerja_events.publishing import publish_envelopes

    codec = make_codec()
    facts: dict[Any, Any] = {}
    for name, engine in engines.items():
        for text in await read_hr_facts(name, engine):
            envelope = codec.decode(text)
            facts.setdefault(envelope.event_id, envelope)
    ordered = sorted(facts.values(), key=lambda e: (e.recorded_at, e.stream_id,
                                                    e.stream_version))
    if not ordered:
        return 0
    producer = make_producer(bootstrap)
    await producer.start()
    try:
        return await publish_envelopes(producer, codec, ordered)
    finally:
        await producer.stop()


async def read_hr_facts(service: str, engine: Any) -> list[str]:
    """The HR envelopes `service`'s database keeps, as JSON text."""
    from kinerja_events.queries import on_connection

    async def read(conn: Any) -> list[str]:
        texts: list[str] = []
        if await conn.fetchval("SELECT to_regclass('reference_facts') IS NOT NULL"):
            texts += [row[0] for row in await conn.fetch(HR_FACTS["reference"])]
        if service == "payroll":
            texts += [row[0] for row in await conn.fetch(HR_FACTS["payroll"])]
        return texts

    return await on_connection(engine, read)


async def mark_outboxes_unsent(engines: Mapping[str, Any]) -> dict[str, int]:
    """Mark every service's outbox unsent; how many rows per service."""
    from kinerja_events.outbox import mark_unsent

    return {name: await mark_unsent(engine) for name, engine in engines.items()}


async def drain_outboxes(engines: Mapping[str, Any], seconds: float,
                         progress: Callable[[str], None]) -> dict[str, int]:
    """Wait until no outbox holds an unsent row, or `seconds` passed; the unsent rows left."""
    deadline = time.monotonic() + seconds
    said = 0.0
    while True:
        left = {name: await count_unsent(engine) for name, engine in engines.items()}
        if not any(left.values()) or time.monotonic() > deadline:
            return left
        if time.monotonic() - said > 5:
            progress("waiting for the relays: " + ", ".join(
                f"{name} {count:,}" for name, count in left.items() if count))
            said = time.monotonic()
        await asyncio.sleep(0.2)


async def count_unsent(engine: Any) -> int:
    """The outbox rows not published yet (the backlog `/health` shows)."""
    from kinerja_events.vitals import read_backlogs

    unsent, _ = await read_backlogs(engine)
    return unsent


def render(outcome: Mapping[str, Any]) -> str:
    """The summary for a person: a row per service."""
    lines = [f"HR facts republished on kinerja.hr: {outcome['hr_facts']:,}", "",
             f"{'service':<12}{'republished':>12}{'unpublished':>13}"]
    for name, count in outcome["republished"].items():
        lines.append(f"{name:<12}{count:>12,}{outcome['unpublished'][name]:>13,}")
    lines.append(f"{'total':<12}{sum(outcome['republished'].values()):>12,}"
                 f"{sum(outcome['unpublished'].values()):>13,}")
    stuck = [name for name, count in outcome["unpublished"].items() if count]
    if stuck:
        lines += ["", f"Still unpublished: start {', '.join(stuck)} (`kinerja <service> serve` "
                      "or `kinerja run`); its relay publishes them."]
    return "\n".join(lines)


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
