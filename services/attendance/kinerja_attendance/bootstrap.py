"""The attendance service's composition root: everything it runs on is made here, from settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry

from kinerja_events import topics
from kinerja_events.signing import DEV_GATEWAY_KEY, DEV_HR_KEY, gateway_key, hr_key
from kinerja_events.codec import make_codec
from kinerja_events.resilience import Health
from kinerja_events.service import (
    CommandService, ServiceParts, assemble_service, open_service_database,
)

from .decider import AttendanceDecider, AttendanceLimits
from .handlers import SOURCE, Keys, command_models, count_outcomes, make_metrics
from .projection import AttendanceReference, create_tables, keep_reference_fact

DATABASE = "attendance"
# What its consumer groups (`<group prefix>-<part>`) read.
CONSUMES = {"commands": [topics.commands_topic("attendance")],
            "reference": [topics.HR, topics.MKD]}


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
    keys = Keys(gateway_key(env),
                hr_key(env))
    cache = int(env.get("KINERJA_ATTENDANCE_STREAM_CACHE", AttendanceConfig.stream_cache_size))
    return AttendanceConfig(keys=keys, limits=limits, stream_cache_size=max(0, cache))


async def build_service(kafka_bootstrap: str, database_url: str, config: AttendanceConfig,
                        registry: CollectorRegistry, group_prefix: str = "attendance",
                        health: Health | None = None, **consumer_options: Any
                        ) -> CommandService:
    """Wire the attendance service on a Kafka cluster and its own database.

    `group_prefix` names its consumer groups (one instance set per prefix); `consumer_options`
    go to both consumers (e.g. `fetch_max_wait_ms`, short on the embedded broker)."""
    engine = await open_service_database(database_url)
    await create_tables(engine)
    codec = make_codec()
    parts = ServiceParts(
        name=SOURCE, models=command_models(config.keys),
        decider=AttendanceDecider(config.limits), reference=AttendanceReference(codec),
        reference_topics=CONSUMES["reference"], keep_reference=keep_reference_fact,
        on_decided=count_outcomes(make_metrics(registry)), cache_size=config.stream_cache_size)
    return assemble_service(parts, kafka_bootstrap=kafka_bootstrap, engine=engine, codec=codec,
                            registry=registry, health=health or Health(registry),
                            group_prefix=group_prefix, **consumer_options)
