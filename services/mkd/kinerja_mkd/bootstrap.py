"""The MKD service's composition root: everything it runs on is made here, from settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

from kinerja_events import topics
from kinerja_events.signing import DEV_GATEWAY_KEY, gateway_key
from kinerja_events.codec import make_codec
from kinerja_events.reference import create_reference_table
from kinerja_events.resilience import Health
from kinerja_events.service import (
    CommandService, ServiceParts, assemble_service, open_service_database,
)

from .decider import make_decider
from .handlers import SOURCE, command_models, count_outcomes, count_revocations, make_metrics
from .projection import MKDReference, create_mkd_index, keep_reference_fact
from .queries import http_queries

DATABASE = "mkd"
# What its consumer groups (`<group prefix>-<part>`) read.
CONSUMES = {"commands": [topics.commands_topic("mkd")],
            "reference": [topics.HR, topics.PAYROLL]}


@dataclass(frozen=True)
class MKDConfig:
    """The service's own settings."""

    gateway_key: bytes = DEV_GATEWAY_KEY.encode()


def load_config(env: Mapping[str, str] = os.environ) -> MKDConfig:
    """Config from `KINERJA_GATEWAY_KEY`."""
    return MKDConfig(gateway_key=gateway_key(env))


async def build_service(kafka_bootstrap: str, database_url: str, config: MKDConfig,
                        registry: CollectorRegistry, group_prefix: str = "mkd",
                        health: Health | None = None, **consumer_options: Any
                        ) -> CommandService:
    """Wire the MKD service on a Kafka cluster and its own database (`group_prefix` and
    `consumer_options` as `assemble_service` takes them). Its reference topics are `kinerja.hr`
    and `kinerja.payroll` (the eligibility)."""
    engine = await open_service_database(database_url)
    await create_reference_table(engine)
    await create_mkd_index(engine)
    codec = make_codec()
    reference = MKDReference(codec)
    metrics = make_metrics(registry)
    parts = ServiceParts(
        name=SOURCE, models=command_models(config.gateway_key), decider=make_decider(),
        reference=reference, reference_topics=CONSUMES["reference"],
        keep_reference=keep_reference_fact(codec, lambda revoked: count_revocations(
            metrics, revoked)),
        on_decided=count_outcomes(metrics), queries=http_queries(engine, codec))
    return assemble_service(parts, kafka_bootstrap=kafka_bootstrap, engine=engine, codec=codec,
                            registry=registry, health=health or Health(registry),
                            group_prefix=group_prefix, **consumer_options)
