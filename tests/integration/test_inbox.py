"""The consumer inbox: an event delivered twice (or concurrently) has its effect once."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any, Literal

import pytest
from faststream.kafka import KafkaBroker
from pydantic import create_model

from kinerja_events.codec import ContractError, Registry, make_codec
from kinerja_events.embedded import create_topics
from kinerja_events.envelope import seal
from kinerja_events.events import ENVELOPES, EnvelopeBase
from kinerja_events.inbox import (
    Delivery, already_handled, apply_batch, each, handle_batch, handle_once, receive,
    subscribe_inbox,
)
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
    applied_log, make_leave, unique_nip: Callable[[], str]  # type: ignore[no-untyped-def]
) -> None:
    first, second, third = envelopes(make_leave, unique_nip(), 3)
    assert await handle_once(applied_log.engine, "payroll", first, applied_log.effect)

    async def failing_on_third(conn, envelope) -> None:  # type: ignore[no-untyped-def]
        await applied_log.effect(conn, envelope)
        if envelope.event_id == third.event_id:
            raise RuntimeError("effect failed")

    with pytest.raises(RuntimeError):
        await handle_batch(applied_log.engine, "payroll", [second, third], failing_on_third)
    assert not await already_handled(applied_log.engine, "payroll", second.event_id)
    assert await applied_log.counts({second.event_id, third.event_id}) == {}

    batch = [first, second, second, third, first]
    applied = await handle_batch(applied_log.engine, "payroll", batch, applied_log.effect)

    assert applied == 2
    ids = {first.event_id, second.event_id, third.event_id}
    assert await applied_log.counts(ids) == {i: 1 for i in ids}


async def test_a_batch_effect_gets_the_new_events_once_each_in_arrival_order(
    applied_log, make_leave, unique_nip: Callable[[], str]  # type: ignore[no-untyped-def]
) -> None:
    first, second, third = envelopes(make_leave, unique_nip(), 3)
    assert await handle_once(applied_log.engine, "payroll", first, applied_log.effect)
    batches: list[list[uuid.UUID]] = []

    async def record(conn, received) -> None:  # type: ignore[no-untyped-def]
        batches.append([r.envelope.event_id for r in received])
        for r in received:
            await applied_log.effect(conn, r.envelope)

    batch = [Delivery.of(e) for e in (third, first, second, third, second)]
    applied = await apply_batch(applied_log.engine, "payroll", batch, record)

    assert applied == 2
    assert batches == [[third.event_id, second.event_id]]
    ids = {first.event_id, second.event_id, third.event_id}
    assert await applied_log.counts(ids) == {i: 1 for i in ids}


async def test_a_failed_batch_effect_leaves_nothing_and_is_applied_on_redelivery(
    applied_log, make_leave, unique_nip: Callable[[], str]  # type: ignore[no-untyped-def]
) -> None:
    events = envelopes(make_leave, unique_nip(), 3)
    batch = [Delivery.of(e) for e in events]
    ids = {e.event_id for e in events}

    async def failing(conn, received) -> None:  # type: ignore[no-untyped-def]
        await each(applied_log.effect)(conn, received)
        raise RuntimeError("effect failed")

    with pytest.raises(RuntimeError):
        await apply_batch(applied_log.engine, "payroll", batch, failing)
    for event in events:
        assert not await already_handled(applied_log.engine, "payroll", event.event_id)
    assert await applied_log.counts(ids) == {}

    assert await apply_batch(applied_log.engine, "payroll", batch, each(applied_log.effect)) == 3
    assert await applied_log.counts(ids) == {i: 1 for i in ids}


def test_a_received_message_keeps_its_own_text(
    make_leave, unique_nip: Callable[[], str]  # type: ignore[no-untyped-def]
) -> None:
    (event,) = envelopes(make_leave, unique_nip(), 1)
    codec = make_codec()
    text = json.dumps(json.loads(codec.encode(event)), indent=2)

    received = receive(codec, text.encode())
    assert (received.envelope, received.json) == (event, text)
    with pytest.raises(ContractError):  # the kept text is UTF-8, as the contract's messages
        receive(codec, text.encode("utf-16"))


def leave_v2_codec() -> Any:
    """A codec that knows a `LeaveRecorded` v2 and upcasts v1 to it."""
    registry = Registry()
    v2 = create_model("LeaveRecordedV2", __base__=ENVELOPES["LeaveRecorded"],
                      schema_version=(Literal[2], 2))
    registry.register_version("LeaveRecorded", 2, v2, lambda raw: raw)
    return make_codec(registry)


def test_an_upcast_message_is_kept_as_its_upcast_envelope(
    make_leave, unique_nip: Callable[[], str]  # type: ignore[no-untyped-def]
) -> None:
    (event,) = envelopes(make_leave, unique_nip(), 1)
    received = receive(leave_v2_codec(), make_codec().encode(event))

    assert received.envelope.schema_version == 2
    assert received.json == received.envelope.model_dump_json()
    assert json.loads(received.json)["schema_version"] == 2


def test_a_delivery_digests_its_content_whether_it_came_upcast_or_as_it_was_written(
    make_leave, unique_nip: Callable[[], str]  # type: ignore[no-untyped-def]
) -> None:
    (event,) = envelopes(make_leave, unique_nip(), 1)
    codec = leave_v2_codec()
    upcast = receive(codec, make_codec().encode(event))  # its digest reuses its own JSON
    written = json.loads(upcast.json)
    as_written = receive(codec, json.dumps(written, indent=2).encode())
    changed = receive(codec, json.dumps({**written, "stream_version": 2}).encode())

    assert upcast.json != as_written.json
    assert upcast.digest() == as_written.digest() == Delivery.of(as_written.envelope).digest()
    assert changed.digest() != as_written.digest()


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
