"""The worklog service's composition root: everything it runs on is made here, from settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

from kinerja_events import topics
from kinerja_events.codec import make_codec
from kinerja_events.db import create_schema, ensure_database, make_engine, service_database_url
from kinerja_events.inbox import subscribe_inbox
from kinerja_events.outbox import OutboxRelay, make_producer
from kinerja_events.pipeline import CommandConsumer, CommandPipeline
from kinerja_events.reference import create_reference_table
from kinerja_events.resilience import Health
from kinerja_events.service import CommandService
from kinerja_events.settings import EMBEDDED_FETCH_MAX_WAIT_MS

from .decider import WorklogDecider, WorklogLimits
from .handlers import SOURCE, command_models, count_outcomes, make_metrics
from .projection import WorklogReference, keep_reference_fact
from .queries import create_query_index, http_queries

DEV_GATEWAY_KEY = "kinerja-dev-gateway-key"
DATABASE = "worklog"


@dataclass(frozen=True)
class WorklogConfig:
    """The service's own settings."""

    gateway_key: bytes = DEV_GATEWAY_KEY.encode()
    limits: WorklogLimits = WorklogLimits()
    payroll_database: str = "payroll"  # whose projection gives the rupiah value of a minute


def load_config(env: Mapping[str, str] = os.environ) -> WorklogConfig:
    """Config from `KINERJA_GATEWAY_KEY` and `KINERJA_WORKLOG_MAX_DAYS_BACK` (default 3)."""
    days_back = int(env.get("KINERJA_WORKLOG_MAX_DAYS_BACK", WorklogLimits.max_days_back))
    return WorklogConfig(gateway_key=env.get("KINERJA_GATEWAY_KEY", DEV_GATEWAY_KEY).encode(),
                         limits=WorklogLimits(max_days_back=max(0, days_back)))


async def build_service(kafka_bootstrap: str, database_url: str, config: WorklogConfig,
                        registry: CollectorRegistry, group_prefix: str = "worklog",
                        health: Health | None = None, **consumer_options: Any
                        ) -> CommandService:
    """Wire the worklog service on a Kafka cluster and its own database (see attendance's
    `build_service` for `group_prefix` and `consumer_options`)."""
    from faststream.kafka import KafkaBroker

    consumer_options.setdefault("fetch_max_wait_ms", EMBEDDED_FETCH_MAX_WAIT_MS)
    health = health or Health(registry)
    await ensure_database(database_url)
    engine = make_engine(database_url)
    await create_schema(engine)
    await create_reference_table(engine)
    await create_query_index(engine)
    codec = make_codec()
    producer = make_producer(kafka_bootstrap)
    relay = OutboxRelay(engine, producer, registry=registry, health=health, service=SOURCE)
    reference = WorklogReference(codec)
    pipeline = CommandPipeline(
        service=SOURCE, engine=engine, codec=codec, models=command_models(config.gateway_key),
        decider=WorklogDecider(config.limits), reference=reference, health=health,
        registry=registry, on_decided=count_outcomes(make_metrics(registry), reference),
        on_committed=relay.wake)
    commands = CommandConsumer(pipeline, bootstrap=kafka_bootstrap,
                               topic=topics.commands_topic(SOURCE),
                               group_id=f"{group_prefix}-commands", **consumer_options)
    broker = KafkaBroker(kafka_bootstrap, logger=None)
    subscribe_inbox(broker, topics.HR, consumer=f"{group_prefix}-reference", engine=engine,
                    effect=keep_reference_fact(codec), codec=codec, registry=registry,
                    health=health, **consumer_options)
    return CommandService(name=SOURCE, engine=engine, broker=broker, commands=commands,
                          relay=relay, producer=producer, pipeline=pipeline, health=health,
                          queries=http_queries(engine, codec,
                                               service_database_url(database_url,
                                                                    config.payroll_database)))
