"""The consumer inbox: an event delivered twice (or concurrently) has its effect once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest
from faststream.kafka import KafkaBroker

from kinerja_events.codec import make_codec
from kinerja_events.embedded import create_topics
from kinerja_events.envelope import seal
from kinerja_events.events import EnvelopeBase
from kinerja_events import inbox as inbox_module
from kinerja_events.inbox import already_handled, handle_batch, handle_once, subscribe_inbox
from kinerja_events.outbox import make_producer
from kinerja_events.types import WIB

pytestmark = pytest.mark.integration

FAST_GROUP_JOIN = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 300}


def envelopes(make_leave, nip: str, count: int) -> list[EnvelopeBase]:  # type: ignore[no-untyped-def]
    """`count` sealed events of `employee:nip`."""
    from datetime import datetime

    return [
        seal(make_leave(nip, v), source="attendance", stream_id=f"employee:{nip}",
             stream_version=v, recorded_at=datetime(2026, 10, 1, 8, 0, 1, tzinfo=WIB))
        for v in range(1, count + 1)
    ]


async def test_an_event_handled_twice_has_its_effect_once(
    applied_log, make_leave, unique_nip: Callable[[], str]  # type: ignore[no-untyped-def]
) -> None:
    (event,) = envelopes(make_leave, unique_nip(), 1)

    first = await handle_once(applied_log.engine, "payroll", event, applied_log.effect)
    second = await handle_once(applied_log.engine, "payroll", event, applied_log.effect)

    assert (first, second) == (True, False)
    assert await applied_log.counts({event.event_id}) == {event.event_id: 1}
    assert await already_handled(applied_log.engine, "payroll", event.event_id)


async def test_each_consumer_has_its_own_inbox(
    applied_log, make_leave, unique_nip: Callable[[], str]  # type: ignore[no-untyped-def]
) -> None:
    (event,) = envelopes(make_leave, unique_nip(), 1)

    assert await handle_once(applied_log.engine, "payroll", event, applied_log.effect)
    assert await handle_once(applied_log.engine, "audit", event, applied_log.effect)
    assert await applied_log.counts({event.event_id}) == {event.event_id: 2}


async def test_a_failed_effect_leaves_no_inbox_row_and_is_applied_on_redelivery(
    applied_log, make_leave, unique_nip: Callable[[], str]  # type: ignore[no-untyped-def]
) -> None:
    (event,) = envelopes(make_leave, unique_nip(), 1)

    async def failing(conn, envelope) -> None:  # type: ignore[no-untyped-def]
        await applied_log.effect(conn, envelope)
        raise RuntimeError("effect failed")

    with pytest.raises(RuntimeError):
        await handle_once(applied_log.engine, "payroll", event, failing)
    assert not await already_handled(applied_log.engine, "payroll", event.event_id)
    assert await applied_log.counts({event.event_id}) == {}

    assert await handle_once(applied_log.engine, "payroll", event, applied_log.effect)
    assert await applied_log.counts({event.event_id}) == {event.event_id: 1}


async def test_a_batch_applies_each_new_event_once_and_fails_as_a_whole(
    applied_log, make_leave, unique_nip: Callable[[], str], monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr(inbox_module, "INSERT_ROWS", 2)  # a batch spans several inserts
    first, second, third = envelopes(make_leave, unique_nip(), 3)
    assert await handle_once(applied_log.engine, "payroll", first, applied_log.effect)

    async def failing_on_third(conn, envelope) -> None:  # type: ignore[no-untyped-def]
        await applied_log.effect(conn, envelope)
        if envelope.event_id == third.event_id:
            raise RuntimeError("effect failed")

    with pytest.raises(RuntimeError):
        await handle_batch(applied_log.engine, "payroll", [second, third], failing_on_third)
    assert not await already_handled(applied_log.engine, "payroll", second.event_id)

    batch = [first, second, second, third, first]
    applied = await handle_batch(applied_log.engine, "payroll", batch, applied_log.effect)

    assert applied == 2
    ids = {first.event_id, second.event_id, third.event_id}
    assert await applied_log.counts(ids) == {i: 1 for i in ids}


async def test_concurrent_deliveries_of_one_event_apply_it_once(
    applied_log, make_leave, unique_nip: Callable[[], str]  # type: ignore[no-untyped-def]
) -> None:
    (event,) = envelopes(make_leave, unique_nip(), 1)

    results = await asyncio.gather(*(
        handle_once(applied_log.engine, "payroll", event, applied_log.effect) for _ in range(5)
    ))

    assert sorted(results) == [False, False, False, False, True]
    assert await applied_log.counts({event.event_id}) == {event.event_id: 1}


async def test_a_consumer_fed_every_message_twice_applies_each_once(
    infra, applied_log, wait_caught_up, make_leave, unique_nip: Callable[[], str]  # type: ignore[no-untyped-def]
) -> None:
    topic = f"test.inbox.{uuid.uuid4().hex[:8]}"
    await create_topics(infra.kafka_bootstrap, [topic], partitions=3)
    events = [e for _ in range(3) for e in envelopes(make_leave, unique_nip(), 4)]
    codec = make_codec()
    producer = make_producer(infra.kafka_bootstrap)
    await producer.start()
    try:
        for event in events:
            for _ in range(2):
                await producer.send_and_wait(topic, codec.encode(event),
                                             key=event.data.nip.encode())
    finally:
        await producer.stop()

    group = f"test-inbox-{uuid.uuid4().hex[:8]}"
    broker = KafkaBroker(infra.kafka_bootstrap, logger=None)
    subscribe_inbox(broker, topic, consumer=group, engine=applied_log.engine,
                    effect=applied_log.effect, **FAST_GROUP_JOIN)
    await broker.start()
    try:
        await wait_caught_up(group, topic)
    finally:
        await broker.stop()

    ids = {e.event_id for e in events}
    assert await applied_log.counts(ids) == {i: 1 for i in ids}
