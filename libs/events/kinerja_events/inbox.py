"""The consumer inbox: apply each event at most once per consumer, atomically with its effect.

The effect and the inbox row `(consumer, event_id)` are written in one transaction; the Kafka
offset is committed only after that transaction (FastStream `AckPolicy.NACK_ON_ERROR`), so a
redelivered event is a no-op and a failed one is redelivered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from prometheus_client import REGISTRY, CollectorRegistry, Counter

from .codec import Codec, ContractError, make_codec
from .db import inbox
from .events import EnvelopeBase

log = structlog.get_logger("kinerja.inbox")

Effect = Callable[[AsyncConnection, EnvelopeBase], Awaitable[None]]


async def handle_once(
    engine: AsyncEngine, consumer: str, envelope: EnvelopeBase, effect: Effect
) -> bool:
    """Apply `effect` for `envelope` unless `consumer` already did; True if it ran now.

    The inbox row and the effect share one transaction: an effect that raises leaves no inbox
    row (the event will be applied on redelivery). A concurrent duplicate waits for the first
    transaction and then finds the row.
    """
    async with engine.begin() as conn:
        inserted = await conn.execute(
            insert(inbox)
            .values(consumer=consumer, event_id=envelope.event_id)
            .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        )
        if inserted.rowcount == 0:
            return False
        await effect(conn, envelope)
        return True


async def already_handled(engine: AsyncEngine, consumer: str, event_id: Any) -> bool:
    """True if `consumer` has applied the event `event_id`."""
    async with engine.connect() as conn:
        row = await conn.execute(
            inbox.select().where(inbox.c.consumer == consumer, inbox.c.event_id == event_id)
        )
        return row.first() is not None


_REFUSED: dict[int, Counter] = {}


def refused_counter(registry: CollectorRegistry | None = None) -> Counter:
    """`kinerja_inbox_refused_total{consumer,field}`: messages skipped as contract violations."""
    registry = registry if registry is not None else REGISTRY
    counter = _REFUSED.get(id(registry))
    if counter is None:
        counter = _REFUSED[id(registry)] = Counter(
            "kinerja_inbox_refused", "Consumed messages refused as contract violations",
            ["consumer", "field"], registry=registry)
    return counter


def subscribe_inbox(
    broker: Any,
    *topics: str,
    consumer: str,
    engine: AsyncEngine,
    effect: Effect,
    codec: Codec | None = None,
    registry: CollectorRegistry | None = None,
    **options: Any,
) -> Any:
    """Subscribe `effect` (through `handle_once`) to `topics` on a FastStream `KafkaBroker`.

    The consumer group is `consumer`; acks are `AckPolicy.NACK_ON_ERROR` (offset committed after
    the handler's transaction; an error seeks back so the message is redelivered); reading
    starts at the earliest offset for a new group. A message that breaks the contract is
    logged, counted in `kinerja_inbox_refused_total{consumer,field}` and skipped. `options` go to `broker.subscriber`.
    Returns the subscriber.
    """
    from faststream import AckPolicy
    from faststream.kafka.message import KafkaMessage

    decoder = codec or make_codec()
    options.setdefault("auto_offset_reset", "earliest")

    async def apply_from_inbox(message: Any) -> None:
        raw: KafkaMessage = message
        try:
            envelope = decoder.decode(raw.body)
        except ContractError as exc:
            # Redelivery cannot fix a message that breaks the contract: it is refused (logged,
            # counted) and skipped, so it neither blocks its partition nor changes anything.
            refused_counter(registry).labels(consumer=consumer, field=exc.field).inc()
            log.error("message_refused", consumer=consumer, field=exc.field,
                      error=exc.message[:300], topic=raw.raw_message.topic,
                      offset=raw.raw_message.offset)
            return
        applied = await handle_once(engine, consumer, envelope, effect)
        if not applied:
            log.debug("inbox_duplicate", consumer=consumer, event_id=str(envelope.event_id))

    subscriber = broker.subscriber(
        *topics, group_id=consumer, ack_policy=AckPolicy.NACK_ON_ERROR, **options
    )
    return subscriber(_with_message_context(apply_from_inbox, consumer))


def _with_message_context(
    apply: Callable[[Any], Awaitable[None]], consumer: str
) -> Callable[..., Awaitable[None]]:
    """A FastStream handler that receives the raw `KafkaMessage` (via its context)."""
    from faststream import Context

    async def handler(body: Any, message: Any = Context("message")) -> None:
        await apply(message)

    handler.__name__ = f"inbox_{consumer.replace('-', '_').replace('.', '_')}"
    return handler
