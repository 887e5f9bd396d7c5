"""The worklog service's composition root: everything it runs on is made here, from settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

from kinerja_events import topics
from kinerja_events.signing import DEV_GATEWAY_KEY, gateway_key
from kinerja_events.codec import make_codec
from kinerja_events.db import service_database_url
from kinerja_events.reference import create_reference_table
from kinerja_events.resilience import Health
from kinerja_events.service import (
    CommandService, ServiceParts, assemble_service, open_service_database,
)

from .decider import WorklogLimits, make_decider
from .handlers import SOURCE, command_models, count_outcomes, make_metrics
from .projection import keep_reference_fact, make_reference
from .queries import create_query_index, http_queries

DATABASE = "worklog"
# What its consumer groups (`<group prefix>-<part>`) read.
CONSUMES = {"commands": [topics.commands_topic("worklog")],
            "reference": [topics.HR, topics.APPRAISAL]}


@dataclass(frozen=True)
class WorklogConfig:
    """The service's own settings."""

    gateway_key: bytes = DEV_GATEWAY_KEY.encode()
    limits: WorklogLimits = WorklogLimits()
    payroll_database: str = "payroll"  # whose projection gives the rupiah value of a minute


def load_config(env: Mapping[str, str] = os.environ) -> WorklogConfig:
    """Config from `KINERJA_GATEWAY_KEY` and `KINERJA_WORKLOG_MAX_DAYS_BACK` (default 3)."""
    days_back = int(env.get("KINERJA_WORKLOG_MAX_DAYS_BACK", WorklogLimits.max_days_back))
    return WorklogConfig(gateway_key=gateway_key(env),
                         limits=WorklogLimits(max_days_back=max(0, days_back)))


async def build_service(kafka_bootstrap: str, database_url: str, config: WorklogConfig,
                        registry: CollectorRegistry, group_prefix: str = "worklog",
                        health: Health | None = None, **consumer_options: Any
                        ) -> CommandService:
    """Wire the worklog service on a Kafka cluster and its own database (`group_prefix` and
    `consumer_options` as `assemble_service` takes them)."""
    engine = await open_service_database(database_url)
    await create_reference_table(engine)
    await create_query_index(engine)
    codec = make_codec()
    parts = ServiceParts(
        name=SOURCE, models=command_models(config.gateway_key),
        decider=make_decider(config.limits), reference=make_reference(codec),
        reference_topics=CONSUMES["reference"], keep_reference=keep_reference_fact(codec),
        on_decided=count_outcomes(make_metrics(registry)),
        queries=http_queries(engine, codec,
                             service_database_url(database_url, config.payroll_database)))
    return assemble_service(parts, kafka_bootstrap=kafka_bootstrap, engine=engine, codec=codec,
                            registry=registry, health=health or Health(registry),
                            group_prefix=group_prefix, **consumer_options)
