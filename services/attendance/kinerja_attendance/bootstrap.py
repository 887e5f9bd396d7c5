"""The attendance service's composition root: everything it runs on is made here, from settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry

from kinerja_events import topics
from kinerja_events.codec import make_codec
from kinerja_events.db import create_schema, ensure_database, make_engine
from kinerja_events.inbox import subscribe_inbox
from kinerja_events.outbox import OutboxRelay, make_producer
from kinerja_events.pipeline import CommandConsumer, CommandPipeline
from kinerja_events.resilience import Health
from kinerja_events.service import CommandService
from kinerja_events.settings import EMBEDDED_FETCH_MAX_WAIT_MS

from .decider import AttendanceDecider, AttendanceLimits
from .handlers import SOURCE, Keys, command_models, count_outcomes, make_metrics
from .projection import AttendanceReference, create_tables, keep_reference_fact

DEV_GATEWAY_KEY = "kinerja-dev-gateway-key"
DEV_HR_KEY = "kinerja-dev-hr-key"
DATABASE = "attendance"


@dataclass(frozen=True)
class AttendanceConfig:
    """The service's own settings: HMAC keys and every check-in limit."""

    keys: Keys = field(default_factory=lambda: Keys(DEV_GATEWAY_KEY.encode(), DEV_HR_KEY.encode()))
    limits: AttendanceLimits = field(default_factory=AttendanceLimits)
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


async def build_service(kafka_bootstrap: str, database_url: str, config: AttendanceConfig,
                        registry: CollectorRegistry, group_prefix: str = "attendance",
                        health: Health | None = None, **consumer_options: Any
                        ) -> CommandService:
    """Wire the attendance service on a Kafka cluster and its own database.

    `group_prefix` names its consumer groups (one instance set per prefix); `consumer_options`
    go to both consumers (e.g. `fetch_max_wait_ms`, short on the embedded broker)."""
    from faststream.kafka import KafkaBroker

    consumer_options.setdefault("fetch_max_wait_ms", EMBEDDED_FETCH_MAX_WAIT_MS)
    health = health or Health(registry)
    await ensure_database(database_url)
    engine = make_engine(database_url)
    await create_schema(engine)
    await create_tables(engine)
    codec = make_codec()
    producer = make_producer(kafka_bootstrap)
    relay = OutboxRelay(engine, producer, registry=registry, health=health, service=SOURCE)
    pipeline = CommandPipeline(
        service=SOURCE, engine=engine, codec=codec, models=command_models(config.keys),
        decider=AttendanceDecider(config.limits), reference=AttendanceReference(codec),
        health=health, registry=registry, on_decided=count_outcomes(make_metrics(registry)),
        on_committed=relay.wake, cache_size=config.stream_cache_size)
    commands = CommandConsumer(pipeline, bootstrap=kafka_bootstrap,
                               topic=topics.commands_topic(SOURCE),
                               group_id=f"{group_prefix}-commands", **consumer_options)
    broker = KafkaBroker(kafka_bootstrap, logger=None)
    subscribe_inbox(broker, topics.HR, topics.MKD, consumer=f"{group_prefix}-reference",
                    engine=engine, effect=keep_reference_fact, codec=codec, registry=registry,
                    health=health, **consumer_options)
    return CommandService(name=SOURCE, engine=engine, broker=broker, commands=commands,
                          relay=relay, producer=producer, pipeline=pipeline, health=health)
