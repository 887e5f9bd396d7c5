"""A service's vital signs beside its dependencies' reachability: how far its consumer groups
are behind each partition, how many stored events its relay has not published yet, and how many
messages it parked and nobody replayed.

`read_vitals` samples them once (what `kinerja status` prints for every service); a
`VitalsSampler` does so every few seconds inside a service, for `/health` and for the gauges
`kinerja_consumer_lag`, `kinerja_outbox_backlog` and `kinerja_dead_letters_parked`. Every label
comes from the deployment (service, group, topic, partition), never from a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from .db import dead_letters, outbox

log = structlog.get_logger("kinerja.vitals")

SAMPLE_SECONDS = 5.0
KAFKA_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class Vitals:
    """One sample of a service: `consumer_lag` maps each consumer group to "topic/partition" ->
    messages between its committed offset and the end of the partition."""

    outbox_backlog: int = 0
    dead_letters: int = 0
    consumer_lag: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    @property
    def lag_total(self) -> int:
        """Messages behind, over every group and partition."""
        return sum(sum(lags.values()) for lags in self.consumer_lag.values())

    def as_json(self) -> dict[str, Any]:
        """The vitals as `/health` shows them."""
        return {"outbox_backlog": self.outbox_backlog, "dead_letters": self.dead_letters,
                "consumer_lag": {g: dict(sorted(lags.items()))
                                 for g, lags in sorted(self.consumer_lag.items())},
                "lag_total": self.lag_total}


async def read_backlogs(engine: AsyncEngine) -> tuple[int, int]:
    """(events stored but not published, dead letters not replayed) of a service's database."""
    async with engine.connect() as conn:
        unsent = await conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None)))
        parked = await conn.scalar(
            select(func.count()).select_from(dead_letters)
            .where(dead_letters.c.replayed_at.is_(None)))
    return int(unsent or 0), int(parked or 0)


async def read_consumer_lag(bootstrap: str, groups: Mapping[str, Sequence[str]]
                            ) -> dict[str, dict[str, int]]:
    """For each group (-> the topics it consumes), the lag of every partition of those topics:
    the end offset minus the group's committed offset (the whole partition when it has
    committed nothing yet)."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition

    wanted = sorted({t for topics in groups.values() for t in topics})
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=KAFKA_TIMEOUT_MS)
    await reader.start()
    try:
        partitions = [TopicPartition(topic, p) for topic in wanted
                      for p in sorted(await partitions_of(reader, topic))]
        ends = await reader.end_offsets(partitions) if partitions else {}
        lag: dict[str, dict[str, int]] = {}
        for group, topics in groups.items():
            mine = [tp for tp in partitions if tp.topic in topics]
            committed = await committed_offsets(bootstrap, group, mine)
            lag[group] = {f"{tp.topic}/{tp.partition}": max(0, ends[tp] - committed[tp])
                          for tp in mine}
        return lag
    finally:
        await reader.stop()


async def committed_offsets(bootstrap: str, group: str, partitions: Sequence[Any]
                            ) -> dict[Any, int]:
    """`group`'s committed offset of each partition (0 where none), asked as a member that never
    joins (the admin client's offset fetch is not understood by the embedded broker)."""
    from aiokafka import AIOKafkaConsumer

    member = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                              enable_auto_commit=False, request_timeout_ms=KAFKA_TIMEOUT_MS)
    await member.start()
    try:
        return {tp: max(0, await member.committed(tp) or 0) for tp in partitions}
    finally:
        await member.stop()


async def partitions_of(reader: Any, topic: str) -> set[int]:
    """The partition numbers of `topic` (after a metadata refresh)."""
    partitions = reader.partitions_for_topic(topic)
    if partitions is None:
        await reader._client.force_metadata_update()  # noqa: SLF001 (no public refresh)
        partitions = reader.partitions_for_topic(topic)
    return set(partitions or ())


async def read_vitals(engine: AsyncEngine, bootstrap: str,
                      groups: Mapping[str, Sequence[str]]) -> Vitals:
    """One sample of a service's vitals."""
    unsent, parked = await read_backlogs(engine)
    lag = await read_consumer_lag(bootstrap, groups)
    return Vitals(outbox_backlog=unsent, dead_letters=parked, consumer_lag=lag)


_GAUGES: weakref.WeakKeyDictionary[CollectorRegistry, tuple[Gauge, Gauge, Gauge]] = (
    weakref.WeakKeyDictionary())


def vitals_gauges(registry: CollectorRegistry) -> tuple[Gauge, Gauge, Gauge]:
    """`kinerja_consumer_lag`, `kinerja_outbox_backlog` and `kinerja_dead_letters_parked` of
    `registry` (made once per registry; the services of one process share them)."""
    found = _GAUGES.get(registry)
    if found is None:
        found = _GAUGES[registry] = (
            Gauge("kinerja_consumer_lag", "Messages between a consumer group's committed offset "
                  "and the end of the partition", ["service", "group", "topic", "partition"],
                  registry=registry),
            Gauge("kinerja_outbox_backlog", "Events stored but not yet published by the relay",
                  ["service"], registry=registry),
            Gauge("kinerja_dead_letters_parked", "Messages parked and not replayed",
                  ["service"], registry=registry))
    return found


class VitalsSampler:
    """Samples one service's vitals every `every` seconds into the gauges and `health`."""

    def __init__(self, *, service: str, engine: AsyncEngine, bootstrap: str,
                 groups: Mapping[str, Sequence[str]], registry: CollectorRegistry,
                 health: Any, every: float = SAMPLE_SECONDS):
        self.service = service
        self.engine = engine
        self.bootstrap = bootstrap
        self.groups = {g: tuple(t) for g, t in groups.items()}
        self.lag, self.backlog, self.parked = vitals_gauges(registry)
        self.health = health
        self.every = every

    async def run_forever(self) -> None:
        """Sample until cancelled; a failed sample (a dependency down: `/health` says which)
        keeps the previous figures."""
        while True:
            with contextlib.suppress(Exception):
                self.show(await read_vitals(self.engine, self.bootstrap, self.groups))
            await asyncio.sleep(self.every)

    def show(self, vitals: Vitals) -> None:
        """Publish one sample to the gauges and the health report."""
        self.backlog.labels(self.service).set(vitals.outbox_backlog)
        self.parked.labels(self.service).set(vitals.dead_letters)
        for group, lags in vitals.consumer_lag.items():
            for where, behind in lags.items():
                topic, partition = where.rsplit("/", 1)
                self.lag.labels(self.service, group, topic, partition).set(behind)
        self.health.show_vitals(self.service, vitals)
