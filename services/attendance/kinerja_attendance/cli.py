"""`kinerja attendance ...`: run the attendance service."""

from __future__ import annotations

import argparse

from kinerja_events.runtime import add_serve_command, serve_bootstrap


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add the attendance subcommands to `parser`."""
    sub = parser.add_subparsers(dest="attendance_command", metavar="COMMAND")
    add_serve_command(sub, "consume gateway commands and reference data", serve)


async def serve(metrics_port: int) -> None:
    """Run the attendance service (embedded infrastructure where not configured)."""
    from . import bootstrap

    await serve_bootstrap(bootstrap, metrics_port)
