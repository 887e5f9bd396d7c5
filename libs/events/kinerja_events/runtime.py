"""Running a service process until it is told to stop (SIGINT/SIGTERM)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger("kinerja.runtime")


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
    """`start()`, wait for a stop signal, then `stop()` (also when start fails half way)."""
    try:
        await start()
        await wait_for_stop_signal()
        log.info("stopping")
    finally:
        await stop()
