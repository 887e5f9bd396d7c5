"""A consumer inbox skips messages that break the contract, counts them, and keeps going."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

import pytest
from faststream.kafka import KafkaBroker

from kinerja_events.codec import make_codec
from kinerja_events.embedded import create_topics
from kinerja_events.envelope import seal
from kinerja_events.inbox import each, subscribe_inbox
from kinerja_events.observability import make_registry
from kinerja_events.outbox import make_producer
from kinerja_events.types import WIB

pytestmark = pytest.mark.integration

FAST_GROUP_JOIN = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 300}


def refused(registry, consumer: str, field: str) -> float:  # type: ignore[no-untyped-def]
    """The `kinerja_inbox_refused_total{consumer,field}` sample (0 when never counted)."""
    value = registry.get_sample_value("kinerja_inbox_refused_total",
                                      {"consumer": consumer, "field": field})
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
    assert refused(registry, group, "(json)") == 1
    assert refused(registry, group, "type") == 1
