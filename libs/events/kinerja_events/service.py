"""A running command-taking service: its command consumer, its reference-data consumer, its
outbox relay and its database — started and stopped in one order for every service."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import structlog

from .observability import Query
from .outbox import OutboxRelay
from .pipeline import CommandConsumer, CommandPipeline
from .resilience import Health

log = structlog.get_logger("kinerja.service")


class CommandService:
    """What a service's `build_service` returns."""

    def __init__(self, *, name: str, engine: Any, broker: Any, commands: CommandConsumer,
                 relay: OutboxRelay, producer: Any, pipeline: CommandPipeline[Any, Any],
                 health: Health, queries: Mapping[str, Query] | None = None):
        self.name = name
        self.engine = engine
        self.broker = broker
        self.commands = commands
        self.relay = relay
        self.producer = producer
        self.pipeline = pipeline
        self.health = health
        self.queries = dict(queries or {})  # JSON GET endpoints, served beside /metrics
        self._relay_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start consuming commands and reference data, and relaying the outbox."""
        await self.producer.start()
        await self.broker.start()
        await self.commands.start()
        self._relay_task = asyncio.create_task(self.relay.run_forever(),
                                               name=f"{self.name}-relay")
        log.info("service_started", service=self.name)

    async def stop(self) -> None:
        """Stop consuming and relaying; release connections."""
        await self.commands.stop()
        if self._relay_task is not None:
            self._relay_task.cancel()
            await asyncio.gather(self._relay_task, return_exceptions=True)
        await self.broker.stop()
        await self.producer.stop()
        await self.engine.dispose()
