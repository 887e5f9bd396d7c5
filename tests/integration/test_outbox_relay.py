"""The outbox relay against real PostgreSQL and the real Tansu broker."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Callable

import pytest
from aiokafka.partitioner import DefaultPartitioner
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from kinerja_events import topics
from kinerja_events.codec import make_codec
from kinerja_events.db import outbox
from kinerja_events.embedded import DEFAULT_PARTITIONS
from kinerja_events.inbox import subscribe_inbox
from kinerja_events.outbox import OutboxRelay, make_producer, mark_unsent
from kinerja_events.store import PostgresEventStore

pytestmark = pytest.mark.integration

SOURCE = "attendance"
codec = make_codec()
# Tansu makes a joining member wait about half the session timeout (5 s by default)
FAST_GROUP_JOIN = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 300}


@pytest.fixture
async def producer(infra):  # type: ignore[no-untyped-def]
    """A started aiokafka producer on the embedded broker."""
    p = make_producer(infra.kafka_bootstrap)
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


class CrashingProducer:
    """The real producer, until `after` record batches were sent: then it raises, or hangs
    until cancelled (a relay killed between publishing and marking)."""

    def __init__(self, real, after: int, mode: str):  # type: ignore[no-untyped-def]
        self.real, self.after, self.mode, self.sent, self.rows = real, after, mode, 0, 0

    def create_batch(self):  # type: ignore[no-untyped-def]
        return self.real.create_batch()

    async def partitions_for(self, topic: str):  # type: ignore[no-untyped-def]
        return await self.real.partitions_for(topic)

    async def send_batch(self, batch, topic: str, *, partition: int):  # type: ignore[no-untyped-def]
        if self.sent >= self.after:
            if self.mode == "raise":
                raise RuntimeError("relay crashed")
            await asyncio.Event().wait()
        self.sent += 1
        self.rows += batch.record_count()
        return await self.real.send_batch(batch, topic, partition=partition)


def nips_on_distinct_partitions(unique_nip: Callable[[], str], count: int) -> Callable[[], str]:
    """A NIP factory whose first `count` NIPs are keyed to `count` different partitions of a
    topic of the embedded size, so a claim of their events is sent in several record batches."""
    partitions = list(range(DEFAULT_PARTITIONS))
    chosen: dict[int, str] = {}
    while len(chosen) < count:
        nip = unique_nip()
        chosen.setdefault(DefaultPartitioner()(nip.encode(), partitions, partitions), nip)
    pending = list(chosen.values())
    return lambda: pending.pop() if pending else unique_nip()


async def append_history(engine, make_leave, unique_nip, streams: int = 3, per_stream: int = 6):  # type: ignore[no-untyped-def]
    """`streams` employees with `per_stream` leave events each, appended in small batches."""
    store = PostgresEventStore(engine)
    appended = []
    for _ in range(streams):
        nip = unique_nip()
        version = 0
        while version < per_stream:
            batch = [make_leave(nip, version + i + 1) for i in range(min(2, per_stream - version))]
            appended += await store.append(f"employee:{nip}", version, batch, source=SOURCE)
            version += len(batch)
    return appended


def records_by_stream(records, stream_ids: set) -> dict:  # type: ignore[no-untyped-def]
    """Envelopes of our streams, per stream, in the order they were read (one partition each)."""
    per_stream = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        envelope = codec.decode(record.value)
        if envelope.stream_id in stream_ids:
            assert record.key == envelope.data.nip.encode()
            per_stream[envelope.stream_id].append(envelope)
    return per_stream


async def unsent_count(engine) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return await conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None)))


async def test_every_committed_event_reaches_its_topic_in_stream_order(
    engine, producer, read_topic, make_leave, unique_nip: Callable[[], str]  # type: ignore[no-untyped-def]
) -> None:
    appended = await append_history(engine, make_leave, unique_nip)
    registry = CollectorRegistry()
    relay = OutboxRelay(engine, producer, batch_size=7, registry=registry)

    published = 0
    while (n := await relay.run_once()) > 0:
        published += n

    assert published == len(appended)
    assert await unsent_count(engine) == 0
    assert registry.get_sample_value(
        "kinerja_outbox_published_total", {"topic": topics.ATTENDANCE}) == len(appended)
    ids = {e.event_id for e in appended}
    records = await read_topic(
        topics.ATTENDANCE,
        until=lambda rs: ids <= {codec.decode(r.value).event_id for r in rs},
    )
    per_stream = records_by_stream(records, {e.stream_id for e in appended})
    for stream_id, envelopes in per_stream.items():
        assert [e.stream_version for e in envelopes] == [1, 2, 3, 4, 5, 6], stream_id
    assert sum(len(v) for v in per_stream.values()) == len(appended)


async def test_two_relays_on_one_database_keep_each_stream_in_order(
    engine, producer, read_topic, make_leave, unique_nip: Callable[[], str]  # type: ignore[no-untyped-def]
) -> None:
    appended = await append_history(engine, make_leave, unique_nip, streams=4, per_stream=6)
    relays = [OutboxRelay(engine, producer, batch_size=3, registry=CollectorRegistry())
              for _ in range(2)]

    async def drain(relay: OutboxRelay) -> int:
        total = 0
        while (n := await relay.run_once()) > 0 or await unsent_count(engine):
            total += n
        return total

    totals = await asyncio.gather(*(drain(r) for r in relays))

    assert sum(totals) == len(appended)
    ids = {e.event_id for e in appended}
    records = await read_topic(
        topics.ATTENDANCE,
        until=lambda rs: ids <= {codec.decode(r.value).event_id for r in rs},
    )
    for stream_id, envelopes in records_by_stream(records, {e.stream_id for e in appended}).items():
        assert [e.stream_version for e in envelopes] == [1, 2, 3, 4, 5, 6], stream_id


@pytest.mark.parametrize("crash", ["raise", "cancel"])
async def test_a_relay_killed_mid_batch_loses_nothing_and_the_inbox_applies_each_once(
    crash: str, engine, producer, infra, read_topic, wait_caught_up, applied_log,  # type: ignore[no-untyped-def]
    make_leave, unique_nip: Callable[[], str],
) -> None:
    appended = await append_history(
        engine, make_leave, nips_on_distinct_partitions(unique_nip, 2))
    crashing = CrashingProducer(producer, after=1, mode=crash)
    killed = OutboxRelay(engine, crashing, registry=CollectorRegistry())

    if crash == "raise":
        with pytest.raises(RuntimeError, match="relay crashed"):
            await killed.run_once()
    else:
        task = asyncio.create_task(killed.run_once())
        while crashing.sent < crashing.after:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert crashing.sent == 1 and 0 < crashing.rows < len(appended)
    assert await unsent_count(engine) == len(appended)  # the claim was rolled back

    restarted = OutboxRelay(engine, producer, registry=CollectorRegistry())
    while await restarted.run_once():
        pass
    assert await unsent_count(engine) == 0

    ids = {e.event_id for e in appended}
    wanted = len(appended) + crashing.rows
    stream_ids = {e.stream_id for e in appended}
    records = await read_topic(
        topics.ATTENDANCE,
        until=lambda rs: sum(map(len, records_by_stream(rs, stream_ids).values())) >= wanted,
    )
    per_stream = records_by_stream(records, stream_ids)
    assert {e.event_id for es in per_stream.values() for e in es} == ids  # nothing lost
    assert sum(map(len, per_stream.values())) == wanted  # the crashed batch's are duplicates
    for stream_id, envelopes in per_stream.items():
        assert [e.stream_version for e in envelopes[-6:]] == [1, 2, 3, 4, 5, 6], stream_id

    group = f"test-consumer-{uuid.uuid4().hex[:8]}"
    broker = KafkaBroker(infra.kafka_bootstrap, logger=None)
    subscribe_inbox(broker, topics.ATTENDANCE, consumer=group, engine=applied_log.engine,
                    effect=applied_log.effect, **FAST_GROUP_JOIN)
    await broker.start()
    try:
        await wait_caught_up(group, topics.ATTENDANCE)
    finally:
        await broker.stop()
    assert await applied_log.counts(ids) == {i: 1 for i in ids}


async def test_a_running_relay_publishes_what_is_appended_later_and_can_republish(
    engine, producer, read_topic, make_leave, unique_nip: Callable[[], str]  # type: ignore[no-untyped-def]
) -> None:
    relay = OutboxRelay(engine, producer, registry=CollectorRegistry())
    running = asyncio.create_task(relay.run_forever(poll_interval=0.02))
    try:
        appended = await append_history(engine, make_leave, unique_nip, streams=2, per_stream=2)
        async with asyncio.timeout(10):
            while await unsent_count(engine):
                await asyncio.sleep(0.02)
        assert await mark_unsent(engine) == len(appended)
        async with asyncio.timeout(10):
            while await unsent_count(engine):
                await asyncio.sleep(0.02)
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running

    stream_ids = {e.stream_id for e in appended}
    records = await read_topic(
        topics.ATTENDANCE,
        until=lambda rs: sum(map(len, records_by_stream(rs, stream_ids).values()))
        >= 2 * len(appended),
    )
    for stream_id, envelopes in records_by_stream(records, stream_ids).items():
        assert [e.stream_version for e in envelopes] == [1, 2, 1, 2], stream_id


class RecordingBatch:
    def __init__(self) -> None:
        self.keys: list[bytes] = []

    def append(self, *, key: bytes, value: bytes, timestamp):  # type: ignore[no-untyped-def]
        self.keys.append(key)
        return self


class RecordingProducer:
    """Records the keys of each claim the relay publishes and acknowledges at once (the claim
    order is what is under test, on the real database)."""

    def __init__(self) -> None:
        self.claims: list[set[bytes]] = [set()]

    def create_batch(self) -> RecordingBatch:
        return RecordingBatch()

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    async def send_batch(self, batch, topic: str, *, partition: int):  # type: ignore[no-untyped-def]
        self.claims[-1].update(batch.keys)
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_a_quiet_stream_is_not_starved_by_a_busy_one(engine, make_leave):
    """A busy stream keeps getting events; one event of a quiet stream, appended between two
    bursts, goes out before the busy stream's later burst (first in, first out), whatever the
    streams' names sort as."""
    store = PostgresEventStore(engine)
    busy, quiet = "190000000000000000", "199999999999999999"  # the quiet one's name sorts last
    version = 0
    for _ in range(3):
        batch = [make_leave(busy, version + i + 1) for i in range(50)]
        await store.append(f"employee:{busy}", version, batch, source=SOURCE)
        version += 50
    await store.append(f"employee:{quiet}", 0, [make_leave(quiet, 1)], source=SOURCE)
    for _ in range(3):
        batch = [make_leave(busy, version + i + 1) for i in range(50)]
        await store.append(f"employee:{busy}", version, batch, source=SOURCE)
        version += 50
    producer = RecordingProducer()
    relay = OutboxRelay(engine, producer, batch_size=40, registry=CollectorRegistry())
    while await relay.run_once():
        producer.claims.append(set())
    assert len(producer.claims) == 1 + 301 // 40 + 1  # 8 claims of 40 rows, and an empty one
    [claim] = [n for n, keys in enumerate(producer.claims) if quiet.encode() in keys]
    assert claim == 150 // 40  # in the claim that follows the first burst's 150 rows
