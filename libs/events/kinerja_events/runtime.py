"""Running a service process until it is told to stop (SIGINT/SIGTERM)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog

log = structlog.get_logger("kinerja.runtime")


def tune_garbage_collector() -> None:
    """Collect cycles less often: a service allocates many short-lived objects per message
    (models, dicts), and the default threshold (700 allocations) runs the collector thousands
    of times a second under load; and keep what start-up built out of later collections."""
    gc.set_threshold(20_000, 20, 20)
    gc.freeze()


async def wait_for_stop_signal() -> None:
    """Return when the process receives SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def run_until_stopped(start: Callable[[], Awaitable[None]],
                            stop: Callable[[], Awaitable[None]]) -> None:
    """`start()`, wait for SIGINT/SIGTERM, then `stop()`.

    The signal handlers are installed before `start()`, so a stop signal while starting cancels
    the start and still stops everything it started; a failed start also ends in `stop()`.
    """
    signalled = asyncio.create_task(wait_for_stop_signal(), name="stop-signal")
    await asyncio.sleep(0)  # let it install the signal handlers
    starting = asyncio.create_task(start(), name="start")
    try:
        await asyncio.wait({signalled, starting}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # a failed start raises here
            await signalled
        else:
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
        log.info("stopping")
    finally:
        signalled.cancel()
        await asyncio.gather(signalled, return_exceptions=True)
        await stop()


class Service(Protocol):
    """What a service's composition root returns."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


BuildService = Callable[..., Awaitable[Service]]
"""`build(kafka_bootstrap, database_url, registry, health=..., **consumer_options)`."""


async def serve_service(build: BuildService, database: str, metrics_port: int) -> None:
    """Run one service process: settings, logging, endpoints (those of a running `kinerja infra
    up` or `kinerja run`, else embedded ones of its own, where not configured),
    `/metrics` and `/health`, then `build(kafka_bootstrap, database_url, registry, health=,
    **consumer_options)` until a stop signal."""
    from .embedded import attach_or_start
    from .observability import (
        QueryRoutes, configure_logging, make_registry, start_metrics_server,
    )
    from .resilience import Health
    from .settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_level)
    registry = make_registry()
    health = Health(registry)
    queries = QueryRoutes()
    if metrics_port:
        start_metrics_server(registry, metrics_port, health=health, queries=queries)
    started: dict[str, Any] = {}  # what stop() must undo, filled as start() gets on

    async def start() -> None:
        endpoints = started["endpoints"] = await attach_or_start(settings)
        service = started["service"] = await build(
            endpoints.kafka_bootstrap, endpoints.database_url(database), registry, health=health,
            **settings.consumer_options())
        await service.start()
        queries.add(getattr(service, "queries", {}))
        tune_garbage_collector()

    async def stop() -> None:
        if "service" in started:
            await started["service"].stop()
        if "endpoints" in started:
            await started["endpoints"].stop()

    await run_until_stopped(start, stop)


def add_serve_command(commands: Any, help_line: str,
                      serve: Callable[[int], Awaitable[None]]) -> None:
    """Add `serve [--metrics-port N]` to a service's subcommands; it runs `serve(port)` until a
    stop signal."""
    parser = commands.add_parser("serve", help=help_line)
    parser.add_argument("--metrics-port", type=int,
                        default=int(os.environ.get("KINERJA_METRICS_PORT", "0")),
                        help="serve Prometheus /metrics on this port (0: off)")

    def run(args: argparse.Namespace) -> int:
        asyncio.run(serve(args.metrics_port))
        return 0

    parser.set_defaults(func=run)


UNREACHABLE = object()
"""What `on_service_database` returns when the platform cannot be reached (after saying so)."""


def on_service_database(program: str, database: str,
                        work: Callable[[Any, Any], Awaitable[Any]]) -> Any:
    """Run `work(engine, endpoints)` against database `database` of the running platform, for
    a person's command; `UNREACHABLE` when the platform is not running or that database cannot
    be reached, after one clear line on stderr starting `program:` (never a traceback)."""
    from .db import make_engine
    from .embedded import PlatformNotRunning, attach_endpoints
    from .resilience import is_outage
    from .settings import load_settings

    async def run() -> Any:
        endpoints = await attach_endpoints(load_settings())
        engine = make_engine(endpoints.database_url(database))
        try:
            return await work(engine, endpoints)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except PlatformNotRunning as exc:
        print(f"{program}: {exc}", file=sys.stderr)
    except Exception as exc:
        if not is_outage(exc):
            raise
        print(f"{program}: cannot reach the {database} database: {type(exc).__name__}: "
              f"{str(exc)[:200]}", file=sys.stderr)
    return UNREACHABLE


async def serve_bootstrap(bootstrap: Any, metrics_port: int) -> None:
    """`serve_service` for a service's bootstrap module (its `load_config`, `build_service` and
    `DATABASE`)."""
    config = bootstrap.load_config()
    await serve_service(lambda kafka, url, registry, **options: bootstrap.build_service(
        kafka, url, config, registry, **options), bootstrap.DATABASE, metrics_port)


def read_service_database(program: str, database: str,
                          read: Callable[[Any, Any], Awaitable[Any]]) -> Any:
    """`read(asyncpg connection, codec)` on `database` of the running platform, for a person's
    command; `UNREACHABLE` when it cannot be reached (said on stderr, see
    `on_service_database`)."""
    from .codec import make_codec
    from .queries import on_connection

    async def work(engine: Any, endpoints: Any) -> Any:
        return await on_connection(engine, lambda conn: read(conn, make_codec()))

    return on_service_database(program, database, work)
