"""The attendance service's composition root: everything it runs on is made here, from settings."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from kinerja_events import topics
from kinerja_events.codec import make_codec
from kinerja_events.db import create_schema, ensure_database, make_engine
from kinerja_events.inbox import subscribe_inbox
from kinerja_events.outbox import OutboxRelay, make_producer
from kinerja_events.signing import SIGNATURE_HEADER
from kinerja_events.store import PostgresEventStore

from .decider import AttendanceLimits
from .handlers import CommandHandler, Keys, make_metrics
from .projection import StreamCache, create_tables, keep_reference_fact

log = structlog.get_logger("kinerja.attendance")

DEV_GATEWAY_KEY = "kinerja-dev-gateway-key"
DEV_HR_KEY = "kinerja-dev-hr-key"
DATABASE = "attendance"


@dataclass(frozen=True)
class AttendanceConfig:
    """The service's own settings: HMAC keys and every check-in limit."""

    keys: Keys = field(default_factory=lambda: Keys(DEV_GATEWAY_KEY.encode(), DEV_HR_KEY.encode()))
    limits: AttendanceLimits = field(default_factory=AttendanceLimits)
    # Simulations only (the demo, end-to-end tests): take the gateway's `sent_at` as the time
    # received, so a past month can be replayed through the real rules. Never in production.
    trust_gateway_clock: bool = False
    # Employees whose own stream an instance keeps folded (least recently used dropped). An
    # entry costs about 30 KiB per year of the employee's history; a miss reads the stream.
    stream_cache_size: int = 4096


def load_config(env: Mapping[str, str] = os.environ) -> AttendanceConfig:
    """Config from `KINERJA_GATEWAY_KEY`, `KINERJA_HR_KEY` and `KINERJA_ATTENDANCE_*` limits."""
    defaults = AttendanceLimits()

    def number(name: str, default: float) -> float:
        return float(env.get(f"KINERJA_ATTENDANCE_{name}", default))

    limits = AttendanceLimits(
        max_accuracy_m=number("MAX_ACCURACY_M", defaults.max_accuracy_m),
        max_speed_kmh=number("MAX_SPEED_KMH", defaults.max_speed_kmh),
        max_future_skew=timedelta(seconds=number(
            "MAX_FUTURE_SKEW_S", defaults.max_future_skew.total_seconds())),
        offline_sync_window=timedelta(seconds=number(
            "OFFLINE_SYNC_WINDOW_S", defaults.offline_sync_window.total_seconds())),
        offline_sync_flag_after=timedelta(seconds=number(
            "OFFLINE_SYNC_FLAG_AFTER_S", defaults.offline_sync_flag_after.total_seconds())),
    )
    keys = Keys(env.get("KINERJA_GATEWAY_KEY", DEV_GATEWAY_KEY).encode(),
                env.get("KINERJA_HR_KEY", DEV_HR_KEY).encode())
    cache = int(env.get("KINERJA_ATTENDANCE_STREAM_CACHE", AttendanceConfig.stream_cache_size))
    return AttendanceConfig(keys=keys, limits=limits, stream_cache_size=max(0, cache))


class AttendanceService:
    """A running attendance service: its consumers, its outbox relay, its database."""

    def __init__(self, *, engine: Any, broker: Any, relay: OutboxRelay, producer: Any,
                 handler: CommandHandler):
        self.engine = engine
        self.broker = broker
        self.relay = relay
        self.producer = producer
        self.handler = handler
        self._relay_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start consuming commands and reference data, and relaying the outbox."""
        await self.producer.start()
        await self.broker.start()
        self._relay_task = asyncio.create_task(self.relay.run_forever(), name="attendance-relay")
        log.info("attendance_started")

    async def stop(self) -> None:
        """Stop consuming and relaying; release connections."""
        if self._relay_task is not None:
            self._relay_task.cancel()
            await asyncio.gather(self._relay_task, return_exceptions=True)
        await self.broker.stop()
        await self.producer.stop()
        await self.engine.dispose()


async def build_service(kafka_bootstrap: str, database_url: str, config: AttendanceConfig,
                        registry: CollectorRegistry, group_prefix: str = "attendance",
                        **consumer_options: Any) -> AttendanceService:
    """Wire the attendance service on a Kafka cluster and its own database.

    `group_prefix` names its consumer groups (one instance set per prefix)."""
    from faststream import AckPolicy, Context
    from faststream.kafka import KafkaBroker

    await ensure_database(database_url)
    engine = make_engine(database_url)
    await create_schema(engine)
    await create_tables(engine)
    codec = make_codec()
    handler = CommandHandler(engine=engine, store=PostgresEventStore(engine, codec), codec=codec,
                             keys=config.keys, limits=config.limits,
                             metrics=make_metrics(registry),
                             trust_gateway_clock=config.trust_gateway_clock,
                             streams=StreamCache(config.stream_cache_size))
    if config.trust_gateway_clock:
        log.warning("simulated_clock", detail="received_at is taken from the gateway's sent_at")
    broker = KafkaBroker(kafka_bootstrap, logger=None)
    subscribe_inbox(broker, topics.HR, topics.MKD, consumer=f"{group_prefix}-reference",
                    engine=engine, effect=keep_reference_fact, codec=codec, registry=registry,
                    **consumer_options)

    @broker.subscriber(topics.commands_topic("attendance"), group_id=f"{group_prefix}-commands",
                       ack_policy=AckPolicy.NACK_ON_ERROR, auto_offset_reset="earliest",
                       **consumer_options)
    async def on_command(body: Any, message: Any = Context("message")) -> None:
        await handler.handle_message(message.body, message.headers.get(SIGNATURE_HEADER))

    producer = make_producer(kafka_bootstrap)
    relay = OutboxRelay(engine, producer, registry=registry)
    return AttendanceService(engine=engine, broker=broker, relay=relay, producer=producer,
                             handler=handler)



