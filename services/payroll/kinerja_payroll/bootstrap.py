"""The payroll service's composition root: everything it runs on is made here, from settings."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from kinerja_events import topics
from kinerja_events.codec import make_codec
from kinerja_events.db import create_schema, ensure_database, make_engine
from kinerja_events.inbox import subscribe_inbox
from kinerja_events.outbox import OutboxRelay, make_producer
from kinerja_events.resilience import Health
from kinerja_events.settings import EMBEDDED_FETCH_MAX_WAIT_MS
from kinerja_events.vitals import VitalsSampler

from .intake import keep_facts
from .ledger import CloseCounter, RuleFile
from .projection import ProjectionKeeper
from .rules import default_rules_bytes
from .tables import create_tables

log = structlog.get_logger("kinerja.payroll")

DATABASE = "payroll"
# What its consumer groups (`<group prefix>-<part>`) read.
CONSUMES = {"facts": list(topics.FACT_TOPICS)}


@dataclass(frozen=True)
class PayrollConfig:
    """The service's own settings: the rule file in force and where CSV exports go."""

    rules_path: Path | None = None
    export_dir: Path = Path("./var/exports")

    def rule_file(self) -> RuleFile:
        """The rule file in force (the packaged `jabar-2026` unless configured)."""
        if self.rules_path is not None:
            return RuleFile.parse(self.rules_path.read_bytes())
        return RuleFile.parse(default_rules_bytes())


def load_config(env: Mapping[str, str] = os.environ) -> PayrollConfig:
    """Config from `KINERJA_PAYROLL_RULES` (a rule file) and `KINERJA_DATA_DIR`."""
    rules = env.get("KINERJA_PAYROLL_RULES", "").strip()
    data_dir = Path(env.get("KINERJA_DATA_DIR", "").strip() or "./var")
    return PayrollConfig(rules_path=Path(rules) if rules else None,
                         export_dir=data_dir / "exports")


class PayrollService:
    """A running payroll service: its fact consumer, projection keeper and outbox relay."""

    def __init__(self, *, engine: Any, broker: Any, relay: OutboxRelay, producer: Any,
                 keeper: ProjectionKeeper, sampler: VitalsSampler, closes: CloseCounter):
        self.engine = engine
        self.sampler = sampler
        self.closes = closes
        self.broker = broker
        self.relay = relay
        self.producer = producer
        self.keeper = keeper
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start consuming facts, keeping the projection and relaying the outbox."""
        await self.producer.start()
        await self.broker.start()
        self._tasks = [
            asyncio.create_task(self.relay.run_forever(), name="payroll-relay"),
            asyncio.create_task(self.keeper.run_forever(), name="payroll-projection"),
            asyncio.create_task(self.sampler.run_forever(), name="payroll-vitals"),
            asyncio.create_task(self.closes.run_forever(), name="payroll-closes"),
        ]
        log.info("payroll_started")

    async def stop(self) -> None:
        """Stop every task and release connections."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.broker.stop()
        await self.producer.stop()
        await self.engine.dispose()


async def open_database(database_url: str) -> Any:
    """An engine on payroll's database, with every table it needs."""
    await ensure_database(database_url)
    engine = make_engine(database_url)
    await create_schema(engine)
    await create_tables(engine)
    return engine


async def build_service(kafka_bootstrap: str, database_url: str, config: PayrollConfig,
                        registry: CollectorRegistry, group_prefix: str = "payroll",
                        health: Health | None = None, **consumer_options: Any
                        ) -> PayrollService:
    """Wire the payroll service on a Kafka cluster and its own database.

    `group_prefix` names its consumer group; `consumer_options` go to the subscriber (e.g.
    `fetch_max_wait_ms`, short on the embedded broker)."""
    from faststream.kafka import KafkaBroker

    consumer_options.setdefault("fetch_max_wait_ms", EMBEDDED_FETCH_MAX_WAIT_MS)
    health = health or Health(registry)
    engine = await open_database(database_url)
    broker = KafkaBroker(kafka_bootstrap, logger=None)
    subscribe_inbox(broker, *CONSUMES["facts"], consumer=f"{group_prefix}-facts",
                    engine=engine, batch_effect=keep_facts, codec=make_codec(), registry=registry,
                    health=health, **consumer_options)
    producer = make_producer(kafka_bootstrap)
    relay = OutboxRelay(engine, producer, registry=registry, health=health, service="payroll")
    keeper = ProjectionKeeper(engine, config.rule_file().rules, registry)
    sampler = VitalsSampler(service="payroll", engine=engine, bootstrap=kafka_bootstrap,
                            groups={f"{group_prefix}-{part}": t for part, t in CONSUMES.items()},
                            registry=registry, health=health)
    return PayrollService(engine=engine, broker=broker, relay=relay, producer=producer,
                          keeper=keeper, sampler=sampler, closes=CloseCounter(engine, registry))
