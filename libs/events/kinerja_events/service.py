"""A running command-taking service: its command consumer, its reference-data consumer, its
outbox relay and its database — started and stopped in one order for every service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from . import topics
from .codec import Codec
from .db import create_schema, ensure_database, make_engine
from .inbox import Effect, subscribe_inbox
from .observability import Query
from .outbox import OutboxRelay, make_producer
from .pipeline import CommandConsumer, CommandModels, CommandPipeline, Decided
from .resilience import Health
from .settings import EMBEDDED_FETCH_MAX_WAIT_MS
from .vitals import VitalsSampler

log = structlog.get_logger("kinerja.service")


class CommandService:
    """What a service's `build_service` returns."""

    def __init__(self, *, name: str, engine: Any, broker: Any, commands: CommandConsumer,
                 relay: OutboxRelay, producer: Any, pipeline: CommandPipeline[Any, Any],
                 health: Health, queries: Mapping[str, Query] | None = None,
                 background: Sequence[Callable[[], Awaitable[None]]] = ()):
        self.name = name
        self.engine = engine
        self.broker = broker
        self.commands = commands
        self.relay = relay
        self.producer = producer
        self.pipeline = pipeline
        self.health = health
        self.queries = dict(queries or {})  # JSON GET endpoints, served beside /metrics
        self.background = list(background)  # loops run beside the consumers (e.g. gauges)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start consuming commands and reference data, and relaying the outbox."""
        await self.producer.start()
        await self.broker.start()
        await self.commands.start()
        self._tasks = [asyncio.create_task(self.relay.run_forever(), name=f"{self.name}-relay")]
        self._tasks += [asyncio.create_task(loop(), name=f"{self.name}-background")
                        for loop in self.background]
        log.info("service_started", service=self.name)

    async def stop(self) -> None:
        """Stop consuming and relaying; release connections."""
        await self.commands.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.broker.stop()
        await self.producer.stop()
        await self.engine.dispose()


async def open_service_database(database_url: str) -> Any:
    """An engine on a service's own database, created with the event store's tables if new."""
    await ensure_database(database_url)
    engine = make_engine(database_url)
    await create_schema(engine)
    return engine


@dataclass
class ServiceParts:
    """What a command-taking service contributes; `assemble_service` wires the rest."""

    name: str
    models: CommandModels[Any]
    decider: Any
    reference: Any
    reference_topics: Collection[str]
    keep_reference: Effect
    on_decided: Callable[[Sequence[Decided[Any]]], None]
    cache_size: int = 4096
    queries: Mapping[str, Query] = field(default_factory=dict)
    background: Sequence[Callable[[], Awaitable[None]]] = ()


def assemble_service(parts: ServiceParts, *, kafka_bootstrap: str, engine: Any, codec: Codec,
                     registry: CollectorRegistry, health: Health, group_prefix: str,
                     **consumer_options: Any) -> CommandService:
    """The same wiring for every command-taking service: its command pipeline on
    `kinerja.commands.<name>` (group `<group_prefix>-commands`), an outbox relay woken by each
    commit, and an inbox keeping its reference topics (group `<group_prefix>-reference`).
    `consumer_options` go to both consumers (e.g. `fetch_max_wait_ms`, short on the embedded
    broker by default)."""
    from faststream.kafka import KafkaBroker

    consumer_options.setdefault("fetch_max_wait_ms", EMBEDDED_FETCH_MAX_WAIT_MS)
    producer = make_producer(kafka_bootstrap)
    relay = OutboxRelay(engine, producer, registry=registry, health=health, service=parts.name)
    pipeline = CommandPipeline(
        service=parts.name, engine=engine, codec=codec, models=parts.models,
        decider=parts.decider, reference=parts.reference, health=health, registry=registry,
        on_decided=parts.on_decided, on_committed=relay.wake, cache_size=parts.cache_size)
    commands = CommandConsumer(pipeline, bootstrap=kafka_bootstrap,
                               topic=topics.commands_topic(parts.name),
                               group_id=f"{group_prefix}-commands", **consumer_options)
    broker = KafkaBroker(kafka_bootstrap, logger=None)
    subscribe_inbox(broker, *parts.reference_topics, consumer=f"{group_prefix}-reference",
                    engine=engine, effect=parts.keep_reference, codec=codec, registry=registry,
                    health=health, **consumer_options)
    sampler = VitalsSampler(service=parts.name, engine=engine, bootstrap=kafka_bootstrap,
                            groups={f"{group_prefix}-commands": [commands.topic],
                                    f"{group_prefix}-reference": list(parts.reference_topics)},
                            registry=registry, health=health)
    return CommandService(name=parts.name, engine=engine, broker=broker, commands=commands,
                          relay=relay, producer=producer, pipeline=pipeline, health=health,
                          queries=parts.queries,
                          background=[*parts.background, sampler.run_forever])
