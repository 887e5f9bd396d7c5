"""`kinerja run [--demo]` and `kinerja demo`: the whole platform in one process.

PostgreSQL and the broker are embedded under `KINERJA_DATA_DIR` (default `./var`) unless
`KINERJA_DATABASE_URL` / `KINERJA_KAFKA` name real ones. The five services run side by side,
each on its own database, with one Prometheus registry served on `--metrics-port` (`/metrics`,
`/health` and the services' read APIs). The endpoints are written to `<data dir>/endpoints.json`
so admin commands (`kinerja payroll close`, `kinerja status`, ...) can attach.

Restarts: the embedded PostgreSQL keeps its data under `<data dir>/pg`, while the embedded broker
is memory-only. On a fresh broker every service's outbox is marked unsent, so the relays rebuild
the bus from the durable event stores (consumers dedupe through their inboxes). The demo is
idempotent: its ids are deterministic, months already closed are not simulated again, and a
month interrupted halfway is sent again whole (the services answer what they decided as repeats).

Stopping (Ctrl-C, SIGTERM): the services first, then the broker and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import importlib
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from .services import SERVICE_MODULES

log = structlog.get_logger("kinerja.run")

DEFAULT_METRICS_PORT = 9100
READY_LINE = "Kinerja is running."
NO_SERVICES = "none: start them with `kinerja <service> serve` in other terminals"


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add the `run` options to its parser."""
    parser.add_argument("--demo", action="store_true",
                        help="import the demo organisation and simulate its last two months "
                             "(what `kinerja demo` does)")
    parser.add_argument("--exit", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--staff-per-section", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--services", default="all", metavar="LIST",
                        help="which services to run: all (default), none (PostgreSQL and the "
                             "broker only, for `kinerja <service> serve` in other terminals), "
                             "or a comma-separated list")
    add_platform_options(parser)
    parser.set_defaults(func=run_platform)


def add_platform_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics-port", type=int,
                        default=int(os.environ.get("KINERJA_METRICS_PORT",
                                                   str(DEFAULT_METRICS_PORT))),
                        help="serve /metrics, /health and the read APIs on this port (0: off; "
                             f"default $KINERJA_METRICS_PORT or {DEFAULT_METRICS_PORT})")


def run_platform(args: argparse.Namespace) -> int:
    """Run the platform until SIGINT/SIGTERM (or, with `--exit`, until the demo's report);
    exit code 0 after a clean stop."""
    from kinerja_events.observability import configure_logging
    from kinerja_events.runtime import run_until_stopped
    from kinerja_events.settings import load_settings

    settings = load_settings()
    log_file = settings.data_dir / "kinerja.log" if args.demo else None
    configure_logging(settings.log_level, log_file=log_file)
    quiet_libraries(log_file)
    chosen = chosen_services(getattr(args, "services", "all"))
    if chosen is None or (args.demo and chosen != list(SERVICE_MODULES)):
        print("kinerja run: --services takes all, none or names of "
              f"{', '.join(SERVICE_MODULES)} (the demo needs all)", file=sys.stderr)
        return 2
    platform = Platform(settings, demo=args.demo, metrics_port=args.metrics_port,
                        staff_per_section=args.staff_per_section, log_file=log_file,
                        services=chosen)
    try:
        if args.exit:
            asyncio.run(platform.run_once())
        else:
            asyncio.run(run_until_stopped(platform.start, platform.stop))
    except OSError as exc:
        hint = (f" (is port {args.metrics_port} taken? choose another with --metrics-port or "
                "KINERJA_METRICS_PORT, or 0 for none)" if exc.errno == errno.EADDRINUSE else "")
        print(f"kinerja: {exc}{hint}", file=sys.stderr)
        return 1
    except TimeoutError as exc:
        print(f"kinerja: {exc}" + (f"; see {log_file}" if log_file else ""), file=sys.stderr)
        return 1
    return 0


class Platform:
    """The endpoints, the services and the metrics server of one `kinerja run`."""

    def __init__(self, settings: Any, *, demo: bool, metrics_port: int,
                 staff_per_section: int | None = None, log_file: Path | None = None,
                 services: list[str] | None = None):
        self.settings = settings
        self.chosen = list(SERVICE_MODULES) if services is None else services
        self.demo = demo
        self.metrics_port = metrics_port
        self.staff_per_section = staff_per_section
        self.log_file = log_file
        self.endpoints: Any = None
        self.services: dict[str, Any] = {}
        self.configs: dict[str, Any] = {}
        self.metrics_server: Any = None
        self.wrote_endpoints = False
        self.exiting = False
        self.where: list[str] = []

    async def run_once(self) -> None:
        """Start, (drive the demo,) stop."""
        self.exiting = True
        try:
            await self.start()
        finally:
            await self.stop()

    async def start(self) -> None:
        """Start metrics, endpoints and services; drive the demo; print what runs."""
        from kinerja_events.embedded import start_endpoints, write_endpoints_file
        from kinerja_events.observability import QueryRoutes, make_registry, start_metrics_server
        from kinerja_events.resilience import Health
        from kinerja_events.runtime import tune_garbage_collector

        say("Starting PostgreSQL and the broker ...")
        registry = make_registry()
        health = Health(registry)
        queries = QueryRoutes()
        if self.metrics_port:
            self.metrics_server = start_metrics_server(registry, self.metrics_port, health=health,
                                                       queries=queries)
        self.endpoints = await start_endpoints(self.settings)
        say(f"Starting the services: {', '.join(self.chosen) or 'none'} ...")
        await self.build_services(registry, health)
        if self.settings.embedded_kafka:
            await rebuild_new_bus(self.endpoints)
        for name, service in self.services.items():
            await service.start()
            queries.add(getattr(service, "queries", {}))
        tune_garbage_collector()
        write_endpoints_file(self.settings.data_dir, self.endpoints)
        self.wrote_endpoints = True
        report = await self.drive_demo() if self.demo else ""
        print(report + welcome(self), flush=True)

    async def stop(self) -> None:
        """Stop the services (last started first), then the embedded infrastructure."""
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

    async def build_services(self, registry: Any, health: Any) -> None:
        """Build every service on its own database."""
        for name in self.chosen:
            module = importlib.import_module(SERVICE_MODULES[name])
            config = self.configs[name] = module.load_config()
            self.services[name] = await module.build_service(
                self.endpoints.kafka_bootstrap, self.database_url(name), config, registry,
                health=health, **self.settings.consumer_options())

    def database_url(self, service: str) -> str:
        """URL of `service`'s own database."""
        return self.endpoints.database_url(importlib.import_module(
            SERVICE_MODULES[service]).DATABASE)

    async def drive_demo(self) -> str:
        """Import the demo organisation, simulate and close its months; the report."""
        from kinerja_events.types import WIB

        from .drive import DemoDriver, Progress

        if self.log_file is not None:
            say(f"(service logs: {self.log_file})")
        driver = DemoDriver(self.endpoints, self.database_url, self.configs["payroll"],
                            self.staff_per_section, Progress())
        try:
            driven = await driver.drive(datetime.now(WIB).date())
            return await self.report(driver, driven)
        finally:
            await driver.close_engines()

    async def report(self, driver: Any, driven: Any) -> str:
        """The closed month's tables, and where its CSV is."""
        from kinerja_payroll.people import month_table

        from .report import render

        period = driven.periods[-1]
        async with driver.engine("payroll").connect() as conn:
            table = await month_table(conn, period)
        csv_path = self.configs["payroll"].export_dir / f"tpp-{period}.csv"
        year, month = map(int, period.split("-"))
        following = f"{year + month // 12:04d}-{month % 12 + 1:02d}"
        eligibility = await driver.eligibility_after(period)
        self.where = where_to_look(self, period, csv_path)
        return render(table, driven, eligibility, following)


def chosen_services(value: str) -> list[str] | None:
    """The services `--services` names (None when it names one that does not exist)."""
    if value == "all":
        return list(SERVICE_MODULES)
    if value == "none":
        return []
    names = [n.strip() for n in value.split(",") if n.strip()]
    return names if names and set(names) <= set(SERVICE_MODULES) else None


async def rebuild_new_bus(endpoints: Any) -> None:
    """The broker is new (memory-only): publish the HR facts again and have every relay
    publish its whole outbox again (`kinerja bus rebuild` without the wait)."""
    from .bus import rebuild_bus

    rebuilt = await rebuild_bus(endpoints, wait=False)
    log.info("bus_rebuilding", hr_facts=rebuilt["hr_facts"], events=rebuilt["republished"])


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def where_to_look(platform: Platform, period: str, csv_path: Path) -> list[str]:
    port = platform.metrics_port
    data_dir = platform.settings.data_dir.resolve()
    lines = ["Where to look:"]
    if port:
        lines += [f"  health     http://localhost:{port}/health",
                  f"  read APIs  http://localhost:{port}/mkd/weeks?nip=NIP  (README: Read APIs)"]
    lines += ["  Grafana    http://localhost:3000 with the production stack (docker compose up)"]
    if csv_path.exists():
        lines.append(f"  CSV        {csv_path.resolve()}")
    lines += [f"  exports    {data_dir / 'exports'}",
              "", "Five commands to try, in another terminal:",
              "  .venv/bin/kinerja status",
              f"  .venv/bin/kinerja payroll show {period}",
              f"  .venv/bin/kinerja payroll explain NIP {period}    # NIP from the tables above",
              "  .venv/bin/kinerja audit export",
              f"  .venv/bin/kinerja audit verify {period}"]
    return lines


def welcome(platform: Platform) -> str:
    """The block printed once everything runs."""
    settings = platform.settings
    data_dir = settings.data_dir.resolve()
    kafka = platform.endpoints.kafka_bootstrap + (" (embedded, in memory)"
                                                  if settings.embedded_kafka else "")
    database = ("embedded PostgreSQL, data in " + str(data_dir / "pg")
                if settings.embedded_database else "PostgreSQL at KINERJA_DATABASE_URL")
    lines = ["", READY_LINE,
             f"  services   {', '.join(platform.services) or NO_SERVICES}",
             f"  broker     {kafka}",
             f"  database   {database}",
             f"  data dir   {data_dir}"]
    if platform.metrics_port:
        lines.append(f"  metrics    http://localhost:{platform.metrics_port}/metrics  and  "
                     f"/health")
    lines += ["", *platform.where, "", "Stopping." if platform.exiting else "Stop with Ctrl-C.",
              ""]
    return "\n".join(lines)


def quiet_libraries(log_file: Path | None) -> None:
    """Send the libraries' own log records (aiokafka, asyncio) to the log file, if any."""
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        logging.basicConfig(filename=log_file, level=logging.WARNING, force=True)
