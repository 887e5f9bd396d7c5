"""`kinerja run [--demo]`: the whole platform in one process (what `make run` starts).

PostgreSQL and the broker are embedded under `KINERJA_DATA_DIR` (default `./var`) unless
`KINERJA_DATABASE_URL` / `KINERJA_KAFKA` name real ones. The services run side by side, each on its
own database, with one Prometheus registry served on `--metrics-port`. The endpoints are written
to `<data dir>/endpoints.json` so admin commands (`kinerja payroll close`, ...) can attach.

Restarts: the embedded PostgreSQL keeps its data under `<data dir>/pg`, while the embedded broker
is memory-only. On a fresh broker every service's outbox is marked unsent, so the relays rebuild
the bus from the durable event stores (consumers dedupe through their inboxes). The demo seeding
is idempotent: its event ids and command ids are deterministic, so a second `make run` in the same
month adds nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import importlib
import os
import sys
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid5

import structlog

from .services import SERVICE_MODULES

log = structlog.get_logger("kinerja.run")

DEFAULT_METRICS_PORT = 9100
SEEDED_LINE = "Demo seeded"
# Deterministic ids of the demo's facts: the same fact gets the same event_id on every run.
DEMO_NAMESPACE = UUID("5b0e6a52-3c1e-4f7e-9a57-6b696e65726a")
REFERENCE_WAIT_SECONDS = 60.0
DECIDED_WAIT_SECONDS = 120.0


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add the `run` options to its parser."""
    parser.add_argument("--demo", action="store_true",
                        help="seed a demo organisation and last month's simulated work")
    parser.add_argument("--metrics-port", type=int,
                        default=int(os.environ.get("KINERJA_METRICS_PORT",
                                                   str(DEFAULT_METRICS_PORT))),
                        help="serve Prometheus /metrics on this port (0: off; default "
                             f"$KINERJA_METRICS_PORT or {DEFAULT_METRICS_PORT})")
    parser.set_defaults(func=run_platform)


def run_platform(args: argparse.Namespace) -> int:
    """Run the platform until SIGINT/SIGTERM; exit code 0 after a clean stop."""
    from kinerja_events.observability import configure_logging
    from kinerja_events.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_level)
    platform = Platform(settings, demo=args.demo, metrics_port=args.metrics_port)
    try:
        from kinerja_events.runtime import run_until_stopped

        asyncio.run(run_until_stopped(platform.start, platform.stop))
    except OSError as exc:
        hint = (f" (is port {args.metrics_port} taken? choose another with --metrics-port or "
                "KINERJA_METRICS_PORT, or 0 for none)" if exc.errno == errno.EADDRINUSE else "")
        print(f"kinerja run: {exc}{hint}", file=sys.stderr)
        return 1
    return 0


class Platform:
    """The endpoints, the services and the metrics server of one `kinerja run`."""

    def __init__(self, settings: Any, *, demo: bool, metrics_port: int):
        self.settings = settings
        self.demo = demo
        self.metrics_port = metrics_port
        self.endpoints: Any = None
        self.services: dict[str, Any] = {}
        self.configs: dict[str, Any] = {}
        self.missing: list[str] = []
        self.metrics_server: Any = None
        self.wrote_endpoints = False
        self.demo_size = 0

    async def start(self) -> None:
        """Start metrics, endpoints and services; seed the demo; print what runs."""
        from kinerja_events.embedded import start_endpoints, write_endpoints_file
        from kinerja_events.observability import QueryRoutes, make_registry, start_metrics_server

        from kinerja_events.resilience import Health
        from kinerja_events.runtime import tune_garbage_collector

        registry = make_registry()
        health = Health(registry)
        queries = QueryRoutes()
        if self.metrics_port:
            self.metrics_server = start_metrics_server(registry, self.metrics_port, health=health,
                                                       queries=queries)
        self.endpoints = await start_endpoints(self.settings)
        await self.build_services(registry, health)
        if self.settings.embedded_kafka:
            await self.republish_outboxes()
        for name, service in self.services.items():
            await service.start()
            queries.add(getattr(service, "queries", {}))
            log.info("service_started", service=name)
        tune_garbage_collector()
        write_endpoints_file(self.settings.data_dir, self.endpoints)
        self.wrote_endpoints = True
        period = None
        if self.demo:
            period = previous_period(datetime.now(wib()).date())
            await self.seed_demo(period)
        print(welcome(self, period), flush=True)

    async def stop(self) -> None:
        """Stop the services (last started first), the embedded infrastructure and metrics."""
        from kinerja_events.embedded import remove_endpoints_file

        if self.wrote_endpoints:
            remove_endpoints_file(self.settings.data_dir)
        for name, service in reversed(list(self.services.items())):
            try:
                await service.stop()
            except Exception:
                log.exception("service_stop_failed", service=name)
        self.services.clear()
        if self.endpoints is not None:
            await self.endpoints.stop()
            self.endpoints = None
        if self.metrics_server is not None:
            self.metrics_server.shutdown()
            self.metrics_server = None
        log.info("stopped")

    # --- services ------------------------------------------------------------------------------
    async def build_services(self, registry: Any, health: Any) -> None:
        """Build every service on its own database (payroll only once its bootstrap exists)."""
        for name, module_name in SERVICE_MODULES.items():
            module = import_service(module_name)
            if module is None:
                self.missing.append(name)
                log.warning("service_not_installed", service=name, module=module_name)
                continue
            config = self.configs[name] = module.load_config()
            self.services[name] = await module.build_service(
                self.endpoints.kafka_bootstrap, self.database_url(name), config, registry,
                health=health, **self.settings.consumer_options())

    def database_url(self, service: str) -> str:
        """URL of `service`'s own database."""
        module = importlib.import_module(SERVICE_MODULES[service])
        return self.endpoints.database_url(module.DATABASE)

    async def republish_outboxes(self) -> None:
        """The broker is new (memory-only): have every relay publish its whole outbox again."""
        from kinerja_events.db import make_engine
        from kinerja_events.outbox import mark_unsent

        for name in self.services:
            engine = make_engine(self.database_url(name))
            try:
                count = await mark_unsent(engine)
            finally:
                await engine.dispose()
            if count:
                log.info("outbox_republishing", service=name, events=count)

    # --- demo ----------------------------------------------------------------------------------
    async def seed_demo(self, period: str) -> None:
        """Publish the demo's reference data, then last month's commands and facts."""
        from kinerja_cli.demo import demo_people, demo_reference_data, simulate_month
        from kinerja_events.codec import make_codec
        from kinerja_events.outbox import make_producer
        from kinerja_events.publishing import publish_envelopes, send_command

        people = demo_people()
        self.demo_size = len(people)
        month = simulate_month(people, period, seed=demo_seed(period))
        codec = make_codec()
        producer = make_producer(self.endpoints.kafka_bootstrap)
        await producer.start()
        try:
            # The organisation starts with its first simulated month, so no earlier month
            # (without facts, hence all absent) weighs on MKD eligibility.
            start = date.fromisoformat(f"{period}-01")
            reference = reference_envelopes(demo_reference_data(people, start), start)
            await publish_envelopes(producer, codec, reference)
            await wait_for_reference(self.database_url("attendance"), reference)
            gateway_key = self.configs["attendance"].keys.gateway
            for command in month.commands:
                # The demo replays last month: each command is published with the record
                # timestamp of its simulated moment, so the real rules judge it as of then.
                await send_command(producer, "attendance", command, gateway_key,
                                   received_at=command.sent_at)
            facts = fact_envelopes(month.facts)
            await publish_envelopes(producer, codec, facts)
        finally:
            await producer.stop()
        decided = await wait_for_decisions(self.database_url("attendance"),
                                           [c.command_id for c in month.commands])
        outcomes = Tally(kind for _, kind in decided)
        if "payroll" in self.services:
            sent = [e.event_id for e in [*reference, *facts]]
            recorded = [event_id for event_id, kind in decided if kind != "CheckInRejected"]
            await wait_for_payroll(self.database_url("payroll"), [*sent, *recorded])
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(outcomes.items()))
        print(f"{SEEDED_LINE}: {len(people)} employees, period {period}: "
              f"{len(month.commands)} check-in/out commands ({summary}), "
              f"{len(facts)} worklog/appraisal facts", flush=True)


def import_service(module_name: str) -> Any:
    """The service's bootstrap module, or None while it is not written yet."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:  # only the bootstrap itself missing; anything else raises
            return None
        raise


def wib() -> Any:
    """The WIB time zone (UTC+7)."""
    from kinerja_events.types import WIB

    return WIB


def previous_period(today: date) -> str:
    """`YYYY-MM` of the calendar month before `today`'s."""
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def demo_seed(period: str) -> int:
    """The simulation seed of `period`: fixed per month (so a re-run sends the same command ids,
    which attendance answers from their stored outcomes), different between months (so next
    month's demo does not reuse last month's command ids)."""
    year, month = map(int, period.split("-"))
    return year * 100 + month


def demo_event_id(source: str, stream_id: str, stream_version: int) -> UUID:
    """The demo's deterministic event id of a stream's version."""
    return uuid5(DEMO_NAMESPACE, f"{source}/{stream_id}/{stream_version}")


def sealed(data: Any, *, source: str, stream_id: str, stream_version: int,
           occurred_at: datetime, id_key: str | None = None) -> Any:
    """A demo envelope: deterministic id, and `recorded_at` = `occurred_at`, so a re-run
    republishes byte-identical envelopes (payroll refuses one event id with two contents)."""
    from kinerja_events.envelope import new_event, seal

    event = new_event(data, occurred_at,
                      event_id=demo_event_id(source, id_key or stream_id, stream_version))
    return seal(event, source=source, stream_id=stream_id, stream_version=stream_version,
                recorded_at=occurred_at)


def reference_envelopes(records: Iterable[Any], effective: date) -> list[Any]:
    """The HR import's envelopes of the demo's reference records, effective from `effective`.

    Their ids depend on `effective`: a later month's run registers the (already registered)
    employees again under new ids — the earliest registration keeps counting — and never
    re-uses an id for other content."""
    from kinerja_cli.demo import reference_stream_id

    occurred_at = datetime.combine(effective - timedelta(days=1), time(8, 0), wib())
    return [sealed(data, source="hr", stream_id=reference_stream_id(data), stream_version=1,
                   occurred_at=occurred_at, id_key=f"{reference_stream_id(data)}@{effective}")
            for data in records]


def fact_stream_id(data: Any) -> str:
    """The stream a simulated worklog/appraisal fact belongs to in its (future) service."""
    if hasattr(data, "activity_id"):
        return f"activity:{data.activity_id}"
    if type(data).__name__ == "RatingGiven":
        return f"rating:{data.period}:{data.rater_nip}:{data.ratee_nip}"
    return f"employee:{data.nip}"


def fact_envelopes(facts: Iterable[tuple[str, Any, datetime]]) -> list[Any]:
    """Envelopes of the simulated facts, versioned in order within each stream."""
    versions: Tally[str] = Tally()
    out = []
    for source, data, occurred_at in facts:
        stream_id = fact_stream_id(data)
        versions[stream_id] += 1
        out.append(sealed(data, source=source, stream_id=stream_id,
                          stream_version=versions[stream_id], occurred_at=occurred_at))
    return out


async def wait_for_reference(database_url: str, envelopes: list[Any]) -> None:
    """Until attendance holds every reference fact in `envelopes` it keeps (it refuses
    check-ins of an unknown employee or office, finally for that command id)."""
    from kinerja_attendance.projection import count_held, kept

    await poll(database_url, count_held(envelopes), lambda held: held >= kept(envelopes),
               REFERENCE_WAIT_SECONDS, "attendance to receive the demo's reference data")


async def wait_for_decisions(database_url: str, command_ids: list[UUID]) -> list[Any]:
    """Until attendance has decided every command in `command_ids`; the `(event_id, type)` of
    every event those commands produced."""
    from sqlalchemy import any_, func, select

    from kinerja_events.db import commands, events, make_engine

    decided = select(func.count()).where(commands.c.command_id.in_(command_ids))
    await poll(database_url, decided, lambda n: n >= len(set(command_ids)),
               DECIDED_WAIT_SECONDS, "attendance to decide the demo's commands")
    produced = (select(events.c.event_id, events.c.type)
                .join(commands, events.c.event_id == any_(commands.c.event_ids))
                .where(commands.c.command_id.in_(command_ids)))
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(produced)).all())
    finally:
        await engine.dispose()


async def wait_for_payroll(database_url: str, event_ids: list[UUID]) -> None:
    """Until payroll holds every fact in `event_ids` and its projection reflects them, so a
    `preview` or `close` right after the demo sees the whole month."""
    from sqlalchemy import func, select

    from kinerja_payroll.projection import count_pending
    from kinerja_payroll.tables import facts

    wanted = set(event_ids)
    held = select(func.count()).where(facts.c.event_id.in_(wanted))
    await poll(database_url, held, lambda n: n >= len(wanted), DECIDED_WAIT_SECONDS,
               "payroll to receive the demo's facts")
    await poll(database_url, count_pending(), lambda n: n == 0, DECIDED_WAIT_SECONDS,
               "payroll to project the demo's facts")


async def poll(database_url: str, query: Any, done: Callable[[int], bool], timeout: float,
               what: str) -> None:
    """Run the scalar `query` every 0.2 s until `done(value)`; raise TimeoutError after
    `timeout` seconds naming `what` was awaited."""
    from kinerja_events.db import make_engine

    engine = make_engine(database_url)
    try:
        async with asyncio.timeout(timeout):
            while True:
                async with engine.connect() as conn:
                    if done(int((await conn.execute(query)).scalar_one())):
                        return
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what}") from None
    finally:
        await engine.dispose()


def welcome(platform: Platform, period: str | None) -> str:
    """The friendly block printed once everything runs."""
    endpoints = platform.endpoints
    settings = platform.settings
    data_dir = settings.data_dir.resolve()
    kafka = endpoints.kafka_bootstrap + (" (embedded Tansu, in memory)"
                                         if settings.embedded_kafka else "")
    database = ("embedded PostgreSQL, data in " + str(data_dir / "pg")
                if settings.embedded_database else "PostgreSQL at KINERJA_DATABASE_URL")
    running = ", ".join(platform.services) or "none"
    lines = [
        "",
        "Kinerja is running.",
        f"  services   {running}"
        + (f"  (not installed yet: {', '.join(platform.missing)})" if platform.missing else ""),
        f"  Kafka      {kafka}",
        f"  database   {database}",
        f"  data dir   {data_dir}  (endpoints in {data_dir / 'endpoints.json'})",
        "  metrics    " + (f"http://localhost:{platform.metrics_port}/metrics  and  "
                           f"http://localhost:{platform.metrics_port}/health"
                           if platform.metrics_port else "off"),
    ]
    shown = period or "YYYY-MM"
    if period:
        lines.append(f"  demo       {platform.demo_size} employees of Biro Organisasi, "
                     f"month {period} simulated")
    lines += [
        "",
        "Try, in another terminal:",
        f"  .venv/bin/kinerja payroll show {shown}       # the month so far, with totals",
        f"  .venv/bin/kinerja payroll check {shown}      # can it be closed now?",
        f"  .venv/bin/kinerja payroll close {shown}",
        f"  .venv/bin/kinerja payroll export --period {shown} --out var/history.jsonl",
        f"  .venv/bin/kinerja payroll compute --events var/history.jsonl --period {shown}",
        f"  .venv/bin/kinerja payroll verify {shown} --events var/history.jsonl",
        f"  .venv/bin/kinerja payroll explain NIP {shown} --events var/history.jsonl",
        "  (NIP: e.g. 197501012000031001, the head of bureau)",
        "  .venv/bin/kinerja deadletters list attendance  # messages parked, if any",
        "",
        "Stop with Ctrl-C.",
        "",
    ]
    return "\n".join(lines)
