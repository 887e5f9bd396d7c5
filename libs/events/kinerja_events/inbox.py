"""The consumer inbox: apply each event at most once per consumer, atomically with its effect.

The effect and the inbox row `(consumer, event_id)` are written in one transaction; the Kafka
offset is committed only after that transaction (FastStream `AckPolicy.NACK_ON_ERROR`), so a
redelivered event is a no-op and a failed one is redelivered.

Messages are consumed in batches (up to `max_records` of one poll): a batch's inbox rows and
effects commit in one transaction and its offsets in one commit, so a backlog is not paid for
with a transaction and an offset commit per message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
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
DEFAULT_BATCH = 500
INSERT_ROWS = 5000


async def handle_once(
    engine: AsyncEngine, consumer: str, envelope: EnvelopeBase, effect: Effect
) -> bool:
    """Apply `effect` for `envelope` unless `consumer` already did; True if it ran now."""
    return await handle_batch(engine, consumer, [envelope], effect) == 1


async def handle_batch(
    engine: AsyncEngine, consumer: str, envelopes: Sequence[EnvelopeBase], effect: Effect
) -> int:
    """Apply `effect` once for each of `envelopes` that `consumer` has not applied, in one
    transaction; return how many ran now.

    The inbox rows and the effects share the transaction: an effect that raises leaves no inbox
    row (the batch will be applied on redelivery). A concurrent duplicate waits for the first
    transaction and then finds the rows. An event id twice in `envelopes` is applied once.
    """
    if not envelopes:
        return 0
    async with engine.begin() as conn:
        new: set[Any] = set()
        for start in range(0, len(envelopes), INSERT_ROWS):  # within asyncpg's bind limit
            inserted = await conn.execute(
                insert(inbox)
                .values([{"consumer": consumer, "event_id": e.event_id}
                         for e in envelopes[start:start + INSERT_ROWS]])
                .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
                .returning(inbox.c.event_id)
            )
            new.update(inserted.scalars())
        applied = 0
        for envelope in envelopes:
            if envelope.event_id in new:
                new.discard(envelope.event_id)
                await effect(conn, envelope)
                applied += 1
        return applied


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
    """Subscribe `effect` (through `handle_batch`) to `topics` on a FastStream `KafkaBroker`.

    The consumer group is `consumer`; messages come in batches of up to `max_records`
    (default `DEFAULT_BATCH`); acks are `AckPolicy.NACK_ON_ERROR` (offsets committed after the
    batch's transaction; an error seeks each partition back so the batch is redelivered);
    reading starts at the earliest offset for a new group. A message that breaks the contract
    is logged, counted in `kinerja_inbox_refused_total{consumer,field}` and skipped. `options`
    go to `broker.subscriber`. Returns the subscriber.
    """
    from faststream import AckPolicy

    decoder = codec or make_codec()
    options.setdefault("auto_offset_reset", "earliest")
    options.setdefault("max_records", DEFAULT_BATCH)

    async def apply_from_inbox(message: Any) -> None:
        envelopes = [envelope for record in records_of(message)
                     if (envelope := decode_or_refuse(record)) is not None]
        applied = await handle_batch(engine, consumer, envelopes, effect)
        if applied < len(envelopes):
            log.debug("inbox_duplicates", consumer=consumer, skipped=len(envelopes) - applied)

    def decode_or_refuse(record: Any) -> EnvelopeBase | None:
        try:
            return decoder.decode(record.value or b"")
        except ContractError as exc:
            # Redelivery cannot fix a message that breaks the contract: it is refused (logged,
            # counted) and skipped, so it neither blocks its partition nor changes anything.
            refused_counter(registry).labels(consumer=consumer, field=exc.field).inc()
            log.error("message_refused", consumer=consumer, field=exc.field,
                      error=exc.message[:300], topic=record.topic, offset=record.offset)
            return None

    subscriber = broker.subscriber(
        *topics, group_id=consumer, ack_policy=AckPolicy.NACK_ON_ERROR, batch=True, **options
    )
    return subscriber(_with_message_context(apply_from_inbox, consumer))


def records_of(message: Any) -> tuple[Any, ...]:
    """The Kafka records of a FastStream message: a batch's tuple, or the one record."""
    raw = message.raw_message
    return raw if isinstance(raw, tuple) else (raw,)


def _with_message_context(
    apply: Callable[[Any], Awaitable[None]], consumer: str
) -> Callable[..., Awaitable[None]]:
    """A FastStream handler that receives the raw `KafkaMessage` (via its context)."""
    from faststream import Context

    async def handler(body: Any, message: Any = Context("message")) -> None:
        await apply(message)

    handler.__name__ = f"inbox_{consumer.replace('-', '_').replace('.', '_')}"
    return handler
