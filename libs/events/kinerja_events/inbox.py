"""The consumer inbox: apply each event at most once per consumer, atomically with its effect.

The effect and the inbox row `(consumer, event_id)` are written in one transaction; the Kafka
offset is committed only after that transaction (FastStream `AckPolicy.NACK_ON_ERROR`), so a
redelivered event is a no-op and a failed one is redelivered.

Messages are consumed in batches (up to `max_records` of one poll): a batch's inbox rows and
effects commit in one transaction and its offsets in one commit, so a backlog is not paid for
with a transaction and an offset commit per message. The inbox rows of a batch are one
statement; a `BatchEffect` receives the batch's new events at once (so it can store them in one
statement too), each with the JSON text it came as, so nothing needs encoding again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Uuid, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from prometheus_client import REGISTRY, CollectorRegistry, Counter

from .codec import Codec, ContractError, load_object, make_codec
from .db import inbox
from .events import EnvelopeBase

log = structlog.get_logger("kinerja.inbox")

DEFAULT_BATCH = 500


@dataclass(frozen=True, slots=True)
class Delivery:
    """A validated envelope and its JSON text: the message as it came, or the envelope's own
    JSON when the codec upcast it (or it came from no message)."""

    envelope: EnvelopeBase
    json: str

    @classmethod
    def of(cls, envelope: EnvelopeBase) -> Delivery:
        return cls(envelope, envelope.model_dump_json(exclude_unset=True))


Effect = Callable[[AsyncConnection, EnvelopeBase], Awaitable[None]]
BatchEffect = Callable[[AsyncConnection, Sequence[Delivery]], Awaitable[None]]
"""Applies a batch's new events: not yet in the inbox, each id once, in arrival order."""

CLAIM = text(
    "INSERT INTO inbox (consumer, event_id) "
    "SELECT :consumer, event_id FROM unnest(CAST(:event_ids AS uuid[])) AS event_id "
    "ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id"
).columns(event_id=Uuid)


async def handle_once(
    engine: AsyncEngine, consumer: str, envelope: EnvelopeBase, effect: Effect
) -> bool:
    """Apply `effect` for `envelope` unless `consumer` already did; True if it ran now."""
    return await handle_batch(engine, consumer, [envelope], effect) == 1


async def handle_batch(
    engine: AsyncEngine, consumer: str, envelopes: Sequence[EnvelopeBase], effect: Effect
) -> int:
    """`apply_batch` with `effect` applied to each new envelope in turn."""
    return await apply_batch(engine, consumer, [Delivery.of(e) for e in envelopes],
                             each(effect))


async def apply_batch(
    engine: AsyncEngine, consumer: str, received: Sequence[Delivery], effect: BatchEffect
) -> int:
    """Apply `effect` to those of `received` that `consumer` has not applied, in one
    transaction; return how many they were.

    The inbox rows and the effect share the transaction: an effect that raises leaves no inbox
    row (the batch will be applied on redelivery). A concurrent duplicate waits for the first
    transaction and then finds the rows. An event id twice in `received` is applied once.
    """
    if not received:
        return 0
    async with engine.begin() as conn:
        new = await claim(conn, consumer, received)
        if new:
            await effect(conn, new)
        return len(new)


async def claim(conn: AsyncConnection, consumer: str, received: Sequence[Delivery]
                ) -> list[Delivery]:
    """Write `consumer`'s inbox rows of `received`; the ones not there before, each id once,
    in arrival order."""
    first: dict[Any, Delivery] = {}
    for r in received:
        first.setdefault(r.envelope.event_id, r)
    rows = await conn.execute(CLAIM, {"consumer": consumer, "event_ids": list(first)})
    new = set(rows.scalars())
    return [r for event_id, r in first.items() if event_id in new]


def each(effect: Effect) -> BatchEffect:
    """The batch effect applying `effect` to each new envelope in turn."""

    async def apply_each(conn: AsyncConnection, received: Sequence[Delivery]) -> None:
        for r in received:
            await effect(conn, r.envelope)

    return apply_each


def receive(codec: Codec, value: bytes) -> Delivery:
    """Decode one message, keeping its text unless the codec upcast it (which raises the
    envelope's `schema_version`); `ContractError` if it breaks the contract."""
    raw = load_object(value)  # refuses anything but UTF-8 JSON
    version = raw.get("schema_version")
    envelope = codec.decode(raw)
    if envelope.schema_version != version:
        return Delivery.of(envelope)
    return Delivery(envelope, value.decode())


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
    effect: Effect | None = None,
    batch_effect: BatchEffect | None = None,
    codec: Codec | None = None,
    registry: CollectorRegistry | None = None,
    **options: Any,
) -> Any:
    """Subscribe `batch_effect`, or `effect` applied to each new envelope (one of them), through
    `apply_batch` to `topics` on a FastStream `KafkaBroker`.

    The consumer group is `consumer`; messages come in batches of up to `max_records`
    (default `DEFAULT_BATCH`); acks are `AckPolicy.NACK_ON_ERROR` (offsets committed after the
    batch's transaction; an error seeks each partition back so the batch is redelivered);
    reading starts at the earliest offset for a new group; FastStream decodes no body (the
    handler takes the records from the message). A message that breaks the contract
    is logged, counted in `kinerja_inbox_refused_total{consumer,field}` and skipped. `options`
    go to `broker.subscriber`. Returns the subscriber.
    """
    from faststream import AckPolicy

    apply = one_batch_effect(effect, batch_effect)
    decoder = codec or make_codec()
    options.setdefault("auto_offset_reset", "earliest")
    options.setdefault("max_records", DEFAULT_BATCH)

    async def apply_from_inbox(message: Any) -> None:
        received = [r for record in records_of(message)
                    if (r := receive_or_refuse(record)) is not None]
        applied = await apply_batch(engine, consumer, received, apply)
        if applied < len(received):
            log.debug("inbox_duplicates", consumer=consumer, skipped=len(received) - applied)

    def receive_or_refuse(record: Any) -> Delivery | None:
        try:
            return receive(decoder, record.value or b"")
        except ContractError as exc:
            # Redelivery cannot fix a message that breaks the contract: it is refused (logged,
            # counted) and skipped, so it neither blocks its partition nor changes anything.
            refused_counter(registry).labels(consumer=consumer, field=exc.field).inc()
            log.error("message_refused", consumer=consumer, field=exc.field,
                      error=exc.message[:300], topic=record.topic, offset=record.offset)
            return None

    subscriber = broker.subscriber(
        *topics, group_id=consumer, ack_policy=AckPolicy.NACK_ON_ERROR, batch=True,
        decoder=no_body, **options
    )
    return subscriber(_with_message_context(apply_from_inbox, consumer))


def one_batch_effect(effect: Effect | None, batch_effect: BatchEffect | None) -> BatchEffect:
    """The one effect given, as a batch effect; `TypeError` unless exactly one is given."""
    if batch_effect is not None and effect is None:
        return batch_effect
    if effect is not None and batch_effect is None:
        return each(effect)
    raise TypeError("give one of effect and batch_effect")


async def no_body(message: Any) -> None:
    """FastStream's decoder for an inbox: none, as `receive` decodes each record (once)."""
    return None


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
