"""`kinerja attendance ...`: run the attendance service."""

from __future__ import annotations

import argparse
import asyncio
import os

from kinerja_events.embedded import start_endpoints
from kinerja_events.observability import configure_logging, make_registry, start_metrics_server
from kinerja_events.runtime import run_until_stopped
from kinerja_events.settings import load_settings

from .bootstrap import DATABASE, build_service, load_config


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add the attendance subcommands to `parser`."""
    sub = parser.add_subparsers(dest="attendance_command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="consume gateway commands and reference data")
    serve.add_argument("--metrics-port", type=int,
                       default=int(os.environ.get("KINERJA_METRICS_PORT", "0")),
                       help="serve Prometheus /metrics on this port (0: off)")
    serve.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Run the service until SIGINT/SIGTERM."""
    asyncio.run(serve(args.metrics_port))
    return 0


async def serve(metrics_port: int) -> None:
    """Start the endpoints (embedded where not configured) and the service."""
    settings = load_settings()
    configure_logging(settings.log_level)
    endpoints = await start_endpoints(settings)
    registry = make_registry()
    if metrics_port:
        start_metrics_server(registry, metrics_port)
    service = await build_service(endpoints.kafka_bootstrap, endpoints.database_url(DATABASE),
                                  load_config(), registry)

    async def stop() -> None:
        await service.stop()
        await endpoints.stop()

    await run_until_stopped(service.start, stop)
