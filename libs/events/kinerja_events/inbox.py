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
import dataclasses
import hashlib
import weakref
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Uuid, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from prometheus_client import REGISTRY, CollectorRegistry, Counter

from .codec import Codec, ContractError, load_object, make_codec
from .db import inbox
from .events import EnvelopeBase
from .resilience import POSTGRESQL, Health, retry_while_unreachable, settle_apart

log = structlog.get_logger("kinerja.inbox")

DEFAULT_BATCH = 500


@dataclass(frozen=True, slots=True)
class Delivery:
    """A validated envelope and its JSON text: the message as it came, or the envelope's own
    JSON when the codec upcast it (or it came from no message). `canonical` says `json` is the
    envelope's own JSON (`model_dump_json(exclude_unset=True)`), which `digest` then reuses."""

    envelope: EnvelopeBase
    json: str
    canonical: bool = False

    @classmethod
    def of(cls, envelope: EnvelopeBase) -> Delivery:
        return cls(envelope, envelope.model_dump_json(exclude_unset=True), True)

    def digest(self) -> bytes:
        """A digest of the envelope's content (not of its formatting): of its own JSON."""
        own = self.json if self.canonical else self.envelope.model_dump_json(exclude_unset=True)
        return hashlib.sha256(own.encode()).digest()


class ConflictingDuplicate(Exception):
    """An event id delivered again with other content than the first time (an invalid
    history: the first is kept, this one is parked)."""

    reason = "conflicting_duplicate"

    def __init__(self, event_id: Any):
        super().__init__(f"event {event_id} was delivered before with other content")
        self.event_id = event_id


Effect = Callable[[AsyncConnection, EnvelopeBase], Awaitable[None]]
BatchEffect = Callable[[AsyncConnection, Sequence[Delivery]], Awaitable[None]]
"""Applies a batch's new events: not yet in the inbox, each id once, in arrival order."""

CLAIM = text(
    "INSERT INTO inbox (consumer, event_id, digest) "
    "SELECT :consumer, event_id, digest "
    "FROM unnest(CAST(:event_ids AS uuid[]), CAST(:digests AS bytea[])) AS d(event_id, digest) "
    "ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id"
).columns(event_id=Uuid)
DIGESTS = text(
    "SELECT event_id, digest FROM inbox "
    "WHERE consumer = :consumer AND event_id = ANY(CAST(:event_ids AS uuid[]))"
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
    transaction and then finds the rows. An event id twice in `received` is applied once. An
    event id delivered before with other content raises `ConflictingDuplicate` and changes
    nothing (`apply_batch_apart` applies the others and returns it).
    """
    applied, conflicting = await apply_batch_apart(engine, consumer, received, effect)
    if conflicting:
        raise ConflictingDuplicate(conflicting[0].envelope.event_id)
    return applied


async def apply_batch_apart(
    engine: AsyncEngine, consumer: str, received: Sequence[Delivery], effect: BatchEffect
) -> tuple[int, list[Delivery]]:
    """`apply_batch`, except that deliveries of an event id held (or earlier in `received`)
    with other content are set apart, unapplied, and returned beside the count applied."""
    if not received:
        return 0, []
    async with engine.begin() as conn:
        new, conflicting = await claim(conn, consumer, received)
        if new:
            await effect(conn, new)
        return len(new), conflicting


async def claim(conn: AsyncConnection, consumer: str, received: Sequence[Delivery]
                ) -> tuple[list[Delivery], list[Delivery]]:
    """Write `consumer`'s inbox rows of `received`; the ones not there before (each id once,
    in arrival order), and those whose id comes with another content than the one already held
    (in this batch or before)."""
    first: dict[Any, Delivery] = {}
    digests: dict[Any, bytes] = {}
    conflicting: list[Delivery] = []
    for r in received:
        event_id, digest = r.envelope.event_id, r.digest()
        if digests.setdefault(event_id, digest) != digest:
            conflicting.append(r)
        else:
            first.setdefault(event_id, r)
    rows = await conn.execute(CLAIM, {"consumer": consumer, "event_ids": list(first),
                                      "digests": [digests[i] for i in first]})
    new = set(rows.scalars())
    held = await held_digests(conn, consumer, [i for i in first if i not in new])
    conflicting += [r for i, r in first.items() if held.get(i) not in (None, digests[i])]
    return [r for event_id, r in first.items() if event_id in new], conflicting


async def held_digests(conn: AsyncConnection, consumer: str, event_ids: list[Any]
                       ) -> dict[Any, bytes | None]:
    """The content digests `consumer` holds for `event_ids` (None for rows from before digests
    were kept, which are taken as the same content)."""
    if not event_ids:
        return {}
    rows = await conn.execute(DIGESTS, {"consumer": consumer, "event_ids": event_ids})
    return {event_id: None if held is None else bytes(held) for event_id, held in rows}


def each(effect: Effect) -> BatchEffect:
    """The batch effect applying `effect` to each new envelope in turn."""

    async def apply_each(conn: AsyncConnection, received: Sequence[Delivery]) -> None:
        for r in received:
            await effect(conn, r.envelope)

    return apply_each


def receive(codec: Codec, value: bytes | None) -> Delivery:
    """Decode one message, keeping its text unless the codec upcast it (which raises the
    envelope's `schema_version`); `ContractError` if it breaks the contract."""
    raw = load_object(value)  # refuses anything but UTF-8 JSON
    version = raw.get("schema_version")
    envelope = codec.decode(raw)
    if envelope.schema_version != version:
        return Delivery.of(envelope)
    return Delivery(envelope, value.decode())  # type: ignore[union-attr]


async def already_handled(engine: AsyncEngine, consumer: str, event_id: Any) -> bool:
    """True if `consumer` has applied the event `event_id`."""
    async with engine.connect() as conn:
        row = await conn.execute(
            inbox.select().where(inbox.c.consumer == consumer, inbox.c.event_id == event_id)
        )
        return row.first() is not None


_REFUSED: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()


def refused_counter(registry: CollectorRegistry | None = None) -> Counter:
    """`kinerja_inbox_refused_total{consumer,reason}`: messages skipped as contract violations
    (`reason` from `codec.REFUSAL_REASONS`, never from the message)."""
    registry = registry if registry is not None else REGISTRY
    counter = _REFUSED.get(registry)
    if counter is None:
        counter = _REFUSED[registry] = Counter(
            "kinerja_inbox_refused", "Consumed messages refused as contract violations",
            ["consumer", "reason"], registry=registry)
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
    health: Health | None = None,
    **options: Any,
) -> Any:
    """Subscribe `batch_effect`, or `effect` applied to each new envelope (one of them), through
    `apply_batch` to `topics` on a FastStream `KafkaBroker`.

    The consumer group is `consumer`; messages come in batches of up to `max_records`
    (default `DEFAULT_BATCH`); acks are `AckPolicy.NACK_ON_ERROR` (offsets committed after the
    batch's transaction); reading starts at the earliest offset for a new group; FastStream
    decodes no body (the handler takes the records from the message). Nothing a message holds
    stops the consumer: one that breaks the contract is logged, counted in
    `kinerja_inbox_refused_total{consumer,reason}` and skipped; one of a `schema_version` this
    consumer does not know yet, one whose event id came before with other content, and one
    whose effect keeps failing (the batch is split so the others are applied) are parked in
    `dead_letters` (`kinerja deadletters`). An unreachable database is waited out with back-off.
    `options` go to `broker.subscriber`. Returns the subscriber.
    """
    from faststream import AckPolicy

    apply = one_batch_effect(effect, batch_effect)
    decoder = codec or make_codec()
    health = health or Health(registry)
    health.watch(consumer, POSTGRESQL)
    refused_counter(registry)  # exposed from the start, so dashboards see it before a refusal
    options.setdefault("auto_offset_reset", "earliest")
    options.setdefault("max_records", DEFAULT_BATCH)

    async def apply_from_inbox(message: Any) -> None:
        items = []
        for record in records_of(message):
            delivery = await receive_or_set_aside(record)
            if delivery is not None:
                items.append((record, delivery))
        await settle_apart(items, apply_items, park_item, health=health, service=consumer)

    async def apply_items(items: Sequence[tuple[Any, Delivery]]) -> None:
        applied, conflicting = await apply_batch_apart(engine, consumer,
                                                       [d for _, d in items], apply)
        record_of = {id(delivery): record for record, delivery in items}
        for delivery in conflicting:  # certain, so parked at once, without retries
            await park(record_of[id(delivery)],
                       ConflictingDuplicate(delivery.envelope.event_id), 1)
        if applied + len(conflicting) < len(items):
            log.debug("inbox_duplicates", consumer=consumer,
                      skipped=len(items) - applied - len(conflicting))

    async def park_item(item: tuple[Any, Delivery], error: Exception, attempts: int) -> None:
        await park(item[0], error, attempts)

    async def receive_or_set_aside(record: Any) -> Delivery | None:
        try:
            return receive(decoder, record.value)
        except ContractError as exc:
            if exc.reason == "unknown_version":  # a later version of this code may read it
                await park(record, exc, 1)
                return None
            # Redelivery cannot fix a message that breaks the contract: it is refused (logged,
            # counted) and skipped, so it neither blocks its partition nor changes anything.
            refused_counter(registry).labels(consumer=consumer, reason=exc.reason).inc()
            log.error("message_refused", consumer=consumer, reason=exc.reason,
                      field=exc.field[:100], error=exc.message[:300], topic=record.topic,
                      partition=record.partition, offset=record.offset)
            return None

    async def park(record: Any, error: Exception, attempts: int) -> None:
        from .deadletters import dead_letter_reason, park_record
        from .pipeline import pipeline_metrics

        reason = dead_letter_reason(error)
        await retry_while_unreachable(
            lambda: park_record(engine, consumer, record, reason, error, attempts),
            health=health, service=consumer, dependency=POSTGRESQL)
        pipeline_metrics(registry).dead_letters.labels(consumer, reason).inc()
        log.error("dead_lettered", consumer=consumer, reason=reason, topic=record.topic,
                  partition=record.partition, offset=record.offset, attempts=attempts,
                  error=f"{type(error).__name__}: {str(error)[:300]}")

    subscriber = broker.subscriber(
        *topics, group_id=consumer, ack_policy=AckPolicy.NACK_ON_ERROR, batch=True,
        decoder=no_body, parser=readable_headers, **options
    )
    return subscriber(_with_message_context(apply_from_inbox, consumer))


def one_batch_effect(effect: Effect | None, batch_effect: BatchEffect | None) -> BatchEffect:
    """The one effect given, as a batch effect; `TypeError` unless exactly one is given."""
    if batch_effect is not None and effect is None:
        return batch_effect
    if effect is not None and batch_effect is None:
        return each(effect)
    raise TypeError("give one of effect and batch_effect")


async def readable_headers(records: Any, parse: Callable[[Any], Awaitable[Any]]) -> Any:
    """FastStream's parser, given copies of the records whose header values it can read.

    FastStream decodes every header value as UTF-8 to parse a batch; a value that is not (or a
    null one) fails the parse, and the batch is then neither applied nor nacked, so the next
    batch's commit skips it — the valid facts beside it lost. Headers mean nothing to an inbox:
    the parser gets such values emptied, and the message keeps the records as they came (so a
    parked record keeps its headers)."""
    batch = records if isinstance(records, tuple) else (records,)
    readable = tuple(
        record if all(_readable(value) for _, value in record.headers or ())
        else dataclasses.replace(record, headers=[
            (name, value if _readable(value) else b"") for name, value in record.headers])
        for record in batch)
    message = await parse(readable if isinstance(records, tuple) else readable[0])
    message.raw_message = records
    return message


def _readable(value: Any) -> bool:
    if not isinstance(value, bytes):
        return False
    try:
        value.decode()
    except UnicodeDecodeError:
        return False
    return True


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
