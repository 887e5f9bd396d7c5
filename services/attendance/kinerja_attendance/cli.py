"""`kinerja attendance ...`: run the attendance service."""

from __future__ import annotations

import argparse
import asyncio
import os

from kinerja_events.runtime import serve_service

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
    """Run the attendance service (embedded infrastructure where not configured)."""
    config = load_config()
    await serve_service(lambda kafka, url, registry: build_service(kafka, url, config, registry),
                        DATABASE, metrics_port)
