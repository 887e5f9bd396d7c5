"""The outbox relay: publishes unsent outbox rows to Kafka, in stream-version order, then marks
them sent. Delivery is at-least-once: a crash between publish and commit republishes the batch.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from itertools import groupby
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY, CollectorRegistry, Counter
from sqlalchemy import func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .db import outbox

log = structlog.get_logger("kinerja.outbox")


class Producer(Protocol):
    """The part of `AIOKafkaProducer` the relay uses."""

    async def send_and_wait(self, topic: str, value: bytes, key: bytes) -> Any: ...


def make_producer(bootstrap: str, **options: Any) -> AIOKafkaProducer:
    """An (unstarted) aiokafka producer: acks from all replicas, no idempotence (Tansu lacks it)."""
    options.setdefault("acks", "all")
    options.setdefault("enable_idempotence", False)
    return AIOKafkaProducer(bootstrap_servers=bootstrap, **options)


_COUNTERS: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()


def published_counter(registry: CollectorRegistry | None = None) -> Counter:
    """The `kinerja_outbox_published_total{topic}` counter of `registry` (default: global)."""
    registry = registry if registry is not None else REGISTRY
    counter = _COUNTERS.get(registry)
    if counter is None:
        counter = Counter(
            "kinerja_outbox_published",
            "Outbox rows published to Kafka and marked sent.",
            ["topic"],
            registry=registry,
        )
        _COUNTERS[registry] = counter
    return counter


class OutboxRelay:
    """Moves outbox rows of one database to Kafka. Several relays may run on one database."""

    def __init__(
        self,
        engine: AsyncEngine,
        producer: Producer,
        *,
        batch_size: int = 200,
        registry: CollectorRegistry | None = None,
    ):
        self.engine = engine
        self.producer = producer
        self.batch_size = batch_size
        self.published = published_counter(registry)

    async def run_once(self) -> int:
        """Claim, publish and mark one batch; return how many rows were published."""
        async with self.engine.begin() as conn:
            rows = await claim_batch(conn, self.batch_size)
            if not rows:
                return 0
            await self._publish(rows)
            await conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([r.id for r in rows]))
                .values(sent_at=func.now())
            )
        for row in rows:
            self.published.labels(topic=row.topic).inc()
        return len(rows)

    async def run_forever(self, poll_interval: float = 0.2) -> None:
        """Run batches until cancelled; sleep `poll_interval` when idle or after an error."""
        while True:
            try:
                sent = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox_batch_failed")
                sent = 0
            if sent == 0:
                await asyncio.sleep(poll_interval)

    async def _publish(self, rows: Sequence[Row[Any]]) -> None:
        # Streams are independent: publish them concurrently, each one in version order,
        # waiting for the ack of a message before sending the stream's next one.
        try:
            async with asyncio.TaskGroup() as group:
                for _, stream_rows in groupby(rows, key=lambda r: r.stream_id):
                    group.create_task(self._publish_stream(list(stream_rows)))
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from failed

    async def _publish_stream(self, rows: list[Row[Any]]) -> None:
        for row in rows:
            await self.producer.send_and_wait(row.topic, value=row.payload, key=row.key)


async def mark_unsent(engine: AsyncEngine) -> int:
    """Mark every outbox row unsent, so the relay republishes the whole history (e.g. onto a
    fresh in-memory broker); consumers dedupe through their inbox. Returns the row count."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(outbox).where(outbox.c.sent_at.is_not(None)).values(sent_at=None)
        )
        return int(result.rowcount)


async def claim_batch(conn: AsyncConnection, limit: int) -> Sequence[Row[Any]]:
    """Lock up to `limit` unsent rows, ordered by (stream_id, stream_version), for this
    transaction.

    Row locks alone (`FOR UPDATE SKIP LOCKED`) would let a second relay skip the locked versions
    1..k of a stream and publish its version k+1 first. So a relay first takes a transaction-level
    advisory lock per stream (`pg_try_advisory_xact_lock`, skipping streams another relay holds)
    and claims rows only of the streams it holds: all unsent rows of a stream are published by one
    relay at a time, from the stream's lowest unsent version up. Versions of one stream commit in
    order (each append checks the previous version), so a row seen later is always a later one.
    """
    candidates = (
        select(outbox.c.stream_id)
        .where(outbox.c.sent_at.is_(None))
        .group_by(outbox.c.stream_id)
        .order_by(outbox.c.stream_id)
        .limit(limit)
        .subquery()
    )
    held = select(candidates.c.stream_id).where(
        func.pg_try_advisory_xact_lock(func.hashtextextended(candidates.c.stream_id, 0))
    )
    streams = list((await conn.scalars(held)).all())
    if not streams:
        return []
    claim = (
        select(outbox)
        .where(outbox.c.sent_at.is_(None), outbox.c.stream_id.in_(streams))
        .order_by(outbox.c.stream_id, outbox.c.stream_version)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await conn.execute(claim)).all()
