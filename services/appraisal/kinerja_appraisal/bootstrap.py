"""The appraisal service's composition root: everything it runs on is made here, from settings."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from kinerja_events import topics
from kinerja_events.signing import DEV_GATEWAY_KEY, gateway_key
from kinerja_events.codec import make_codec
from kinerja_events.queries import on_connection
from kinerja_events.reference import create_reference_table
from kinerja_events.resilience import Health
from kinerja_events.service import (
    CommandService, ServiceParts, assemble_service, open_service_database,
)
from kinerja_events.types import WIB

from .decider import AppraisalLimits, make_decider
from .handlers import SOURCE, Metrics, command_models, count_outcomes, make_metrics
from .projection import create_tables, keep_reference_fact, make_reference
from .queries import create_query_indexes, http_queries, overdue_count

DATABASE = "appraisal"
# What its consumer groups (`<group prefix>-<part>`) read.
CONSUMES = {"commands": [topics.commands_topic("appraisal")],
            "reference": [topics.HR, topics.WORKLOG]}
log = structlog.get_logger("kinerja.appraisal")


@dataclass(frozen=True)
class AppraisalConfig:
    """The service's own settings."""

    gateway_key: bytes = DEV_GATEWAY_KEY.encode()
    limits: AppraisalLimits = AppraisalLimits()
    overdue_refresh_s: float = 60.0  # how often the overdue-IKP gauge is recounted


def load_config(env: Mapping[str, str] = os.environ) -> AppraisalConfig:
    """Config from `KINERJA_GATEWAY_KEY` and `KINERJA_APPRAISAL_*` (see the README)."""
    defaults = AppraisalLimits()

    def number(name: str, default: float) -> float:
        return float(env.get(f"KINERJA_APPRAISAL_{name}", default))

    limits = AppraisalLimits(
        opens_day=min(28, max(1, int(number("RATING_OPENS_DAY", defaults.opens_day)))),
        closes_working_day=min(23, max(1, int(number("RATING_CLOSES_WORKING_DAY",
                                                     defaults.closes_working_day)))),
        max_future_skew=timedelta(seconds=number(
            "MAX_FUTURE_SKEW_S", defaults.max_future_skew.total_seconds())),
        offline_sync_window=timedelta(seconds=number(
            "OFFLINE_SYNC_WINDOW_S", defaults.offline_sync_window.total_seconds())))
    return AppraisalConfig(gateway_key=gateway_key(env),
                           limits=limits,
                           overdue_refresh_s=max(1.0, number("OVERDUE_REFRESH_S", 60.0)))


def refresh_overdue(engine: Any, metrics: Metrics, every: float
                    ) -> Callable[[], Awaitable[None]]:
    """A loop setting the overdue-IKP gauge every `every` seconds (skipped while the database
    is unreachable)."""

    async def loop() -> None:
        while True:
            today = datetime.now(WIB).date()
            try:
                metrics.ikp_overdue.set(await on_connection(
                    engine, lambda conn: overdue_count(conn, today)))
            except Exception as exc:  # an outage: the gauge keeps its last value
                log.warning("overdue_refresh_failed", error=type(exc).__name__)
            await asyncio.sleep(every)

    return loop


async def build_service(kafka_bootstrap: str, database_url: str, config: AppraisalConfig,
                        registry: CollectorRegistry, group_prefix: str = "appraisal",
                        health: Health | None = None, **consumer_options: Any
                        ) -> CommandService:
    """Wire the appraisal service on a Kafka cluster and its own database (`group_prefix` and
    `consumer_options` as `assemble_service` takes them)."""
    engine = await open_service_database(database_url)
    await create_reference_table(engine)
    await create_tables(engine)
    await create_query_indexes(engine)
    codec = make_codec()
    metrics = make_metrics(registry)
    parts = ServiceParts(
        name=SOURCE, models=command_models(config.gateway_key),
        decider=make_decider(config.limits), reference=make_reference(codec),
        reference_topics=CONSUMES["reference"], keep_reference=keep_reference_fact(codec),
        on_decided=count_outcomes(metrics),
        queries=http_queries(engine, codec, config.limits),
        background=[refresh_overdue(engine, metrics, config.overdue_refresh_s)])
    return assemble_service(parts, kafka_bootstrap=kafka_bootstrap, engine=engine, codec=codec,
                            registry=registry, health=health or Health(registry),
                            group_prefix=group_prefix, **consumer_options)
