"""A consumer inbox skips messages that break the contract, counts them, and keeps going; what it
cannot apply for another reason is parked, and the messages beside it are applied."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

import pytest
from faststream.kafka import KafkaBroker

from kinerja_events.codec import make_codec
from kinerja_events.deadletters import list_dead_letters
from kinerja_events.embedded import create_topics
from kinerja_events.envelope import seal
from kinerja_events.inbox import each, subscribe_inbox
from kinerja_events.observability import make_registry
from kinerja_events.outbox import make_producer
from kinerja_events.types import WIB

pytestmark = pytest.mark.integration

FAST_GROUP_JOIN = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 300}


def refused(registry, consumer: str, reason: str) -> float:  # type: ignore[no-untyped-def]
    """The `kinerja_inbox_refused_total{consumer,reason}` sample (0 when never counted)."""
    value = registry.get_sample_value("kinerja_inbox_refused_total",
                                      {"consumer": consumer, "reason": reason})
    return value or 0.0


@pytest.mark.parametrize("kind", ["effect", "batch_effect"])
async def test_malformed_messages_are_refused_and_counted_and_a_valid_one_after_them_applies_once(
    infra, applied_log, wait_caught_up, make_leave, unique_nip: Callable[[], str], kind: str  # type: ignore[no-untyped-def]
) -> None:
    topic = f"test.refuse.{uuid.uuid4().hex[:8]}"
    await create_topics(infra.kafka_bootstrap, [topic], partitions=1)
    nip = unique_nip()
    valid = seal(make_leave(nip), source="attendance", stream_id=f"employee:{nip}",
                 stream_version=1, recorded_at=datetime(2026, 10, 1, 8, 0, 1, tzinfo=WIB))
    codec = make_codec()
    unknown_type = codec.encode(valid).replace(b'"LeaveRecorded"', b'"LeaveInvented"')
    producer = make_producer(infra.kafka_bootstrap)
    await producer.start()
    try:
        for body in (b"\x00this is not JSON", unknown_type, codec.encode(valid)):
            await producer.send_and_wait(topic, body, key=nip.encode())
    finally:
        await producer.stop()

    group = f"test-refuse-{uuid.uuid4().hex[:8]}"
    registry = make_registry()
    broker = KafkaBroker(infra.kafka_bootstrap, logger=None)
    effect = {"effect": applied_log.effect, "batch_effect": each(applied_log.effect)}[kind]
    subscribe_inbox(broker, topic, consumer=group, engine=applied_log.engine,
                    registry=registry, **{kind: effect}, **FAST_GROUP_JOIN)
    await broker.start()
    try:
        await wait_caught_up(group, topic)
    finally:
        await broker.stop()

    assert await applied_log.counts({valid.event_id}) == {valid.event_id: 1}
    assert refused(registry, group, "not_json") == 1
    assert refused(registry, group, "unknown_type") == 1


async def test_what_cannot_be_applied_is_parked_and_the_facts_beside_it_are_applied(
    infra, applied_log, wait_caught_up, make_leave, unique_nip: Callable[[], str]  # type: ignore[no-untyped-def]
) -> None:
    topic = f"test.park.{uuid.uuid4().hex[:8]}"
    await create_topics(infra.kafka_bootstrap, [topic], partitions=1)
    codec = make_codec()
    at = datetime(2026, 10, 1, 8, 0, 1, tzinfo=WIB)

    def leave_of(nip: str, n: int = 1):  # type: ignore[no-untyped-def]
        return seal(make_leave(nip, n), source="attendance", stream_id=f"employee:{nip}",
                    stream_version=n, recorded_at=at)

    good = [leave_of(unique_nip()) for _ in range(4)]
    refused_by_database = leave_of(unique_nip())
    first = leave_of(unique_nip())
    other_content = codec.encode(first).replace(b'"annual"', b'"sick"')
    newer_version = codec.encode(leave_of(unique_nip())).replace(
        b'"schema_version":1', b'"schema_version":9')
    async with applied_log.engine.begin() as conn:  # the database refuses one employee's fact
        from sqlalchemy import text

        await conn.execute(text(
            f"ALTER TABLE applied ADD CONSTRAINT refuse_one "
            f"CHECK (stream_id <> '{refused_by_database.stream_id}')"))
    bodies = [codec.encode(good[0]), codec.encode(first), codec.encode(refused_by_database),
              codec.encode(good[1]), other_content, newer_version, codec.encode(good[2]),
              codec.encode(good[3])]
    producer = make_producer(infra.kafka_bootstrap)
    await producer.start()
    try:
        for body in bodies:
            await producer.send_and_wait(topic, body, key=b"k")
    finally:
        await producer.stop()

    group = f"test-park-{uuid.uuid4().hex[:8]}"
    registry = make_registry()
    broker = KafkaBroker(infra.kafka_bootstrap, logger=None)
    subscribe_inbox(broker, topic, consumer=group, engine=applied_log.engine,
                    registry=registry, effect=applied_log.effect, **FAST_GROUP_JOIN)
    await broker.start()
    try:
        await wait_caught_up(group, topic)
    finally:
        await broker.stop()

    applied = await applied_log.counts({e.event_id for e in [*good, first, refused_by_database]})
    assert applied == {**{e.event_id: 1 for e in good}, first.event_id: 1}
    parked = {(letter.offset, letter.reason)
              for letter in await list_dead_letters(applied_log.engine)}
    assert parked == {(2, "database_refused"), (4, "conflicting_duplicate"),
                      (5, "unknown_version")}
    assert all(registry.get_sample_value("kinerja_dead_letters_total",
                                         {"consumer": group, "reason": reason}) == 1
               for reason in ("database_refused", "conflicting_duplicate", "unknown_version"))
