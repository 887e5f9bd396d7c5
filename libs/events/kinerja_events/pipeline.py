"""The command pipeline: how every service decides the commands on `kinerja.commands.<service>`.

A poll of the command topic gives up to `batch_size` records. Each is checked on its own — the
message bounds (size, depth, 64-bit integers, U+0000), JSON, the signature of the key its type
requires, the contract — and one that fails is refused: counted by a reason of a fixed list,
logged, and it changes nothing. The rest are decided in order, in one transaction:

1. the transaction begins holding the batch's streams' locks (a transaction-level advisory lock
   per stream, taken in one sorted order, so two instances never decide one stream at once and
   never deadlock);
2. the command ids already decided are read (a repeat is answered by its stored outcome),
   together with each stream's events after what this instance has folded (`StreamCache`);
3. the reference data the batch names is read by the service (`ReferenceData`);
4. each command is decided by the service's `Decider` on its stream's state, seeing the events of
   the commands before it in the batch, and sealed at the stream's next versions;
5. every event, outbox row and command outcome is written (COPY), with the service's own rows.

Under load every round trip to PostgreSQL waits for two busy processes to be scheduled, so a
batch takes as few as it can: steps 1, 2 and 3 take one each. Offsets are committed after the
transaction. The time a command was received is its record's timestamp, never this process's
clock.

What fails for another reason than the contract is never allowed to block the partition: an
unreachable database is waited out with back-off (`resilience`); any other failure splits the
batch in halves until the failing command stands alone, which is retried a few times with
back-off and then parked in `dead_letters` (`kinerja deadletters list|show|replay`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import weakref
from collections import Counter as Counter_
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from . import topics
from .codec import Codec, ContractError, contract_error, load_object
from .decider import Decider, Received, Rejection, fold_state
from .envelope import NewEvent, seal
from .events import EnvelopeBase
from .resilience import (
    POSTGRESQL, Backoff, Health, left_in_transaction, pooled_asyncpg, retry_while_unreachable,
    settle_apart,
)
from .signing import SIGNATURE_HEADER, verify
from .types import EARLIEST_WORK_DATE, LATEST_DATE, WIB

log = structlog.get_logger("kinerja.pipeline")

C = TypeVar("C")
S = TypeVar("S")

DEFAULT_BATCH = 500
STREAM_LOCK_CLASS = 0x4B4A  # advisory lock key space of the pipeline's stream locks ("KJ")


# --- what a service contributes ---------------------------------------------------------------
@dataclass(frozen=True)
class CommandModels(Generic[C]):
    """A service's commands: their contract models, the HMAC key each type must be signed with,
    and the stream each command is decided on."""

    adapter: TypeAdapter[C]
    keys: Mapping[str, bytes]
    stream_of: Callable[[C], str]


class BatchReference(Protocol[C, S]):
    """The reference data read for one batch."""

    def prepare(self, state: S, command: C) -> S:
        """`state` (the command's stream folded) with the reference data the command needs."""
        ...

    def record(self, events: Sequence[EnvelopeBase]) -> None:
        """A decided command's events, so the batch's later commands see them."""
        ...

    async def write(self, conn: Any, events: Sequence[EnvelopeBase]) -> None:
        """The service's own rows for the batch's events, in the batch's transaction
        (`conn` is an asyncpg connection)."""
        ...


class ReferenceData(Protocol[C, S]):
    """The reference data a service keeps."""

    async def read(self, conn: Any, commands: Sequence[C]) -> BatchReference[C, S]:
        """What `commands` need, in a few queries (`conn`: an asyncpg connection)."""
        ...


# --- what flows through -----------------------------------------------------------------------
class Refused(Exception):
    """A message refused before deciding: `reason` is one of a fixed list (metric label)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class Decided(Generic[C]):
    """One command's outcome in a batch: its events, or its `Rejection`, or a repeat."""

    received: Received[C]
    stream_id: str
    events: list[EnvelopeBase] = field(default_factory=list)
    rejection: Rejection | None = None
    repeat: bool = False
    state: Any = None
    """The state the command was decided on (its stream with the reference data), for what a
    service counts of it (e.g. how long an activity waited for its approval)."""


@dataclass(frozen=True)
class Item(Generic[C]):
    """A checked record and the command it carries."""

    record: Any
    received: Received[C]


# --- metrics ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PipelineMetrics:
    commands: Counter
    refused: Counter
    dead_letters: Counter
    batch_seconds: Histogram
    lag_seconds: Histogram


_METRICS: weakref.WeakKeyDictionary[CollectorRegistry, PipelineMetrics] = (
    weakref.WeakKeyDictionary())


def pipeline_metrics(registry: CollectorRegistry | None = None) -> PipelineMetrics:
    """The pipeline's metrics on `registry` (one set per registry, labelled by service)."""
    registry = registry if registry is not None else REGISTRY
    metrics = _METRICS.get(registry)
    if metrics is None:
        metrics = _METRICS[registry] = PipelineMetrics(
            commands=Counter("kinerja_commands", "Commands decided, counted once per command id "
                             "(a repeated id is a repeat)", ["service", "type", "outcome"],
                             registry=registry),
            refused=Counter("kinerja_commands_refused", "Command messages refused before "
                            "deciding (bounds, JSON, signature, contract)", ["service", "reason"],
                            registry=registry),
            dead_letters=Counter("kinerja_dead_letters", "Messages parked after their retries",
                                 ["consumer", "reason"], registry=registry),
            batch_seconds=Histogram("kinerja_pipeline_batch_seconds", "Time to decide and store "
                                    "one batch of commands", ["service"], registry=registry),
            lag_seconds=Histogram("kinerja_command_lag_seconds", "From a command's record "
                                  "timestamp to its outcome's commit", ["service"],
                                  buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30,
                                           60, 300, 3600, float("inf")), registry=registry),
        )
    return metrics


# --- the stream cache -------------------------------------------------------------------------
class StreamCache(Generic[S]):
    """Each recent stream folded up to a version, so a batch reads only what was appended since.
    Streams only grow, so an entry stays exact whatever other instances append; the least
    recently used entries are dropped beyond `capacity`."""

    def __init__(self, capacity: int = 4096):
        self.capacity = capacity
        self.entries: OrderedDict[str, tuple[int, S]] = OrderedDict()

    def get(self, stream_id: str) -> tuple[int, S] | None:
        """The cached (version, state), if any."""
        entry = self.entries.get(stream_id)
        if entry is not None:
            self.entries.move_to_end(stream_id)
        return entry

    def put(self, stream_id: str, version: int, state: S) -> None:
        """Remember `state` as the fold of the stream up to `version`."""
        if self.capacity <= 0:
            return
        self.entries[stream_id] = (version, state)
        self.entries.move_to_end(stream_id)
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)


# --- the pipeline -----------------------------------------------------------------------------
class CommandPipeline(Generic[C, S]):
    """Consumes one service's command topic and decides its commands in batches."""

    def __init__(
        self,
        *,
        service: str,
        engine: AsyncEngine,
        codec: Codec,
        models: CommandModels[C],
        decider: Decider[Received[C], NewEvent, S],
        reference: ReferenceData[C, S],
        health: Health,
        registry: CollectorRegistry | None = None,
        on_decided: Callable[[Sequence[Decided[C]]], None] = lambda decided: None,
        on_committed: Callable[[], None] = lambda: None,
        cache_size: int = 4096,
        attempts: int = 3,
    ):
        self.service = service
        self.engine = engine
        self.codec = codec
        self.models = models
        self.decider = decider
        self.reference = reference
        self.health = health
        self.metrics = pipeline_metrics(registry)
        self.on_decided = on_decided
        self.on_committed = on_committed
        self.streams: StreamCache[S] = StreamCache(cache_size)
        self.attempts = attempts
        health.watch(service, POSTGRESQL)

    # --- one poll ---------------------------------------------------------------------------
    async def handle(self, records: Sequence[Any]) -> None:
        """Check, decide and store one poll's records (in their order). Returns once every
        record is decided, refused or parked; raises only when cancelled."""
        items: list[Item[C]] = []
        for record in records:
            item = await self.check_or_park(record)
            if item is not None:
                items.append(item)
        await self.settle(items)

    async def check_or_park(self, record: Any) -> Item[C] | None:
        """The record's command, or None when it was refused (or, failing unexpectedly,
        parked)."""
        try:
            return Item(record, self.check(record))
        except Refused as refusal:
            self.metrics.refused.labels(self.service, refusal.reason).inc()
            log.warning("command_refused", service=self.service, reason=refusal.reason,
                        detail=refusal.detail[:300], topic=record.topic,
                        partition=record.partition, offset=record.offset)
        except Exception as exc:  # a bug in checking must not stop the partition either
            await self.park(record, exc, attempts=1)
        return None

    def check(self, record: Any) -> Received[C]:
        """The command of `record`, received at its timestamp, if it meets the bounds, is JSON,
        is signed with its type's key and meets the contract; else `Refused`."""
        received_at = record_time(record)
        try:
            raw = load_object(record.value)
        except ContractError as exc:
            raise Refused(exc.reason, str(exc)) from None
        kind = raw.get("type")
        key = self.models.keys.get(kind) if isinstance(kind, str) else None
        if key is None:
            raise Refused("unknown_type", f"not a command of {self.service}: {kind!r:.100}")
        if not verify(record.value, header(record, SIGNATURE_HEADER), key):
            raise Refused("bad_signature", f"{kind} not signed with its key")
        try:
            command = self.models.adapter.validate_python(raw)
        except ValidationError as exc:
            error = contract_error(exc)
            raise Refused(error.reason, str(error)) from None
        return Received(command, received_at)

    # --- deciding, splitting, parking -------------------------------------------------------
    async def settle(self, items: Sequence[Item[C]]) -> None:
        """Decide and store `items`; a failing batch is split so the good ones get through,
        and a command that fails alone after its retries is parked."""
        await settle_apart(items, self.decide_and_count,
                           lambda item, error, attempts: self.park(item.record, error, attempts),
                           health=self.health, service=self.service, attempts=self.attempts)

    async def park(self, record: Any, error: Exception, attempts: int) -> None:
        """Keep `record` in `dead_letters` and move on."""
        from .deadletters import dead_letter_reason, park_record

        reason = dead_letter_reason(error)
        consumer = f"{self.service}-commands"
        await retry_while_unreachable(
            lambda: park_record(self.engine, consumer, record, reason, error, attempts),
            health=self.health, service=self.service, dependency=POSTGRESQL)
        self.metrics.dead_letters.labels(consumer, reason).inc()
        log.error("dead_lettered", consumer=consumer, reason=reason, topic=record.topic,
                  partition=record.partition, offset=record.offset, attempts=attempts,
                  error=f"{type(error).__name__}: {str(error)[:300]}")

    async def decide_and_count(self, items: Sequence[Item[C]]) -> None:
        """`decide_batch`, then count its outcomes and wake the relay."""
        started = time.perf_counter()
        decided = await self.decide_batch(items)
        self.metrics.batch_seconds.labels(self.service).observe(time.perf_counter() - started)
        self.count(decided)
        self.on_committed()

    async def decide_batch(self, items: Sequence[Item[C]]) -> list[Decided[C]]:
        """Decide `items` in one transaction (see the module's steps); the outcomes."""
        stream_of = {id(item): self.models.stream_of(item.received.command) for item in items}
        async with pooled_asyncpg(self.engine) as conn:
            await begin_locking(conn, set(stream_of.values()))
            try:
                decided, folded = await self.decide_on(conn, items, stream_of)
            except BaseException:
                await roll_back(conn)
                raise
            await conn.execute("COMMIT")
        for stream_id, (version, state) in folded.items():
            self.streams.put(stream_id, version, state)
        return decided

    async def decide_on(self, conn: Any, items: Sequence[Item[C]], stream_of: Mapping[int, str]
                        ) -> tuple[list[Decided[C]], dict[str, tuple[int, S]]]:
        """Steps 2–5 on `conn`, inside its transaction, the batch's streams locked."""
        folded = {stream_id: self.streams.get(stream_id) or (0, self.decider.initial_state())
                  for stream_id in sorted(set(stream_of.values()))}
        known, tails = await read_known_and_tails(
            conn, self.codec, [i.received.command.command_id for i in items],  # type: ignore[attr-defined]
            {stream_id: version for stream_id, (version, _) in folded.items()})
        for envelope in tails:
            version, state = folded[envelope.stream_id]
            folded[envelope.stream_id] = (envelope.stream_version,
                                          self.decider.evolve(state, envelope))  # type: ignore[arg-type]
        fresh = [i for i in items if i.received.command.command_id not in known]  # type: ignore[attr-defined]
        reference = await self.reference.read(conn, [i.received.command for i in fresh])
        decided: list[Decided[C]] = []
        for item in items:
            stream_id = stream_of[id(item)]
            command_id = item.received.command.command_id  # type: ignore[attr-defined]
            if command_id in known:
                decided.append(Decided(item.received, stream_id, repeat=True))
                continue
            known.add(command_id)
            outcome = self.decide_one(item.received, stream_id, folded, reference)
            decided.append(outcome)
        await write_outcomes(conn, self.codec, self.service, decided)
        await reference.write(conn, [e for d in decided for e in d.events])
        return decided, folded

    def decide_one(self, received: Received[C], stream_id: str,
                   folded: dict[str, tuple[int, S]], reference: BatchReference[C, S]
                   ) -> Decided[C]:
        """Decide one command on its stream's state; fold and seal what it decided."""
        version, state = folded[stream_id]
        if self.decider.is_terminal(state):
            return Decided(received, stream_id, rejection=Rejection("stream_closed"), state=state)
        prepared = reference.prepare(state, received.command)
        decision = self.decider.decide(received, prepared)
        if isinstance(decision, Rejection):
            return Decided(received, stream_id, rejection=decision, state=prepared)
        sealed = [seal(event, source=self.service, stream_id=stream_id,
                       stream_version=version + n, recorded_at=received.received_at)
                  for n, event in enumerate(decision, start=1)]
        folded[stream_id] = (version + len(sealed), fold_state(self.decider, sealed, state))
        reference.record(sealed)
        return Decided(received, stream_id, events=sealed, state=prepared)

    def count(self, decided: Sequence[Decided[C]]) -> None:
        """Count each outcome once, and the lag from record to commit."""
        now = datetime.now(timezone.utc)
        tally: Counter_[tuple[str, str]] = Counter_()
        lag = self.metrics.lag_seconds.labels(self.service)
        for outcome in decided:
            kind = outcome.received.command.type  # type: ignore[attr-defined]
            label = ("repeat" if outcome.repeat else
                     "rejected" if outcome.rejection or is_rejection_event(outcome.events)
                     else "accepted")
            tally[(kind, label)] += 1
            if not outcome.repeat:
                lag.observe(max(0.0, (now - outcome.received.received_at).total_seconds()))
        for (kind, label), n in tally.items():
            self.metrics.commands.labels(self.service, kind, label).inc(n)
        self.on_decided([d for d in decided if not d.repeat])


REFUSAL_TYPES = frozenset({"CheckInRejected", "ActivityRefused", "AppraisalRefused",
                           "MKDRefused"})


def is_rejection_event(events: Sequence[EnvelopeBase]) -> bool:
    """True when a command's only event is its refusal (e.g. `CheckInRejected`; not an
    `ActivityRejected`, which is a superior's accepted decision)."""
    return len(events) == 1 and events[0].type in REFUSAL_TYPES


# --- records ----------------------------------------------------------------------------------
def record_time(record: Any) -> datetime:
    """When a command was received: its record's timestamp, which must lie in the bounds."""
    timestamp = getattr(record, "timestamp", None)
    if not isinstance(timestamp, int) or timestamp < 0:
        raise Refused("bad_timestamp", f"record timestamp {timestamp!r}")
    try:
        moment = datetime.fromtimestamp(timestamp / 1000, WIB)
    except (OverflowError, OSError, ValueError):
        raise Refused("bad_timestamp", f"record timestamp {timestamp}") from None
    if not EARLIEST_WORK_DATE <= moment.date() <= LATEST_DATE:
        raise Refused("bad_timestamp", f"record timestamp {moment.isoformat()}")
    return moment


def header(record: Any, name: str) -> bytes | None:
    """The value of header `name` of `record`, if present."""
    for key, value in record.headers or ():
        if key == name:
            return value
    return None


# --- SQL (asyncpg, inside the batch's transaction) --------------------------------------------
async def begin_locking(conn: Any, stream_ids: Collection[str]) -> None:
    """Begin a transaction that holds each stream's lock, in one round trip: the keys are
    numbers made here (a stream id is never spliced into SQL), taken in ascending order, so two
    instances never decide one stream at once and never deadlock."""
    keys = ",".join(str(key) for key in sorted({stream_lock_key(s) for s in stream_ids}))
    await conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({STREAM_LOCK_CLASS}, key) "
                       f"FROM unnest('{{{keys}}}'::int[]) AS key ORDER BY key")


def stream_lock_key(stream_id: str) -> int:
    """A stream's lock key: 32 bits of its BLAKE2b hash, signed (streams sharing one only wait
    for each other)."""
    digest = hashlib.blake2b(stream_id.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


async def roll_back(conn: Any) -> None:
    """End the batch's transaction unfinished, if the connection still can (the caller closes
    a connection left in it)."""
    with contextlib.suppress(Exception):
        if left_in_transaction(conn):
            await conn.execute("ROLLBACK")


async def read_known_and_tails(conn: Any, codec: Codec, command_ids: Sequence[UUID],
                               after: Mapping[str, int]) -> tuple[set[UUID], list[EnvelopeBase]]:
    """Which of `command_ids` already have an outcome, and the events of each stream after its
    given version (each stream's in version order), in one round trip."""
    # One index probe per stream: the planner, expecting many events per stream, would hash
    # the whole events table instead (42 ms at 150,000 events, growing with history); the
    # OFFSET 0 keeps the lateral subquery from being flattened into that join (1 ms).
    rows = await conn.fetch(
        "SELECT command_id, NULL FROM commands WHERE command_id = ANY($1::uuid[]) "
        "UNION ALL "
        "SELECT NULL, e.envelope::text FROM unnest($2::text[], $3::int[]) AS k(stream_id, version) "
        "CROSS JOIN LATERAL (SELECT envelope FROM events "
        "  WHERE stream_id = k.stream_id AND stream_version > k.version OFFSET 0) e",
        list(command_ids), list(after), list(after.values()))
    known = {command_id for command_id, _ in rows if command_id is not None}
    tails = [codec.decode(envelope) for _, envelope in rows if envelope is not None]
    tails.sort(key=lambda envelope: (envelope.stream_id, envelope.stream_version))
    return known, tails


async def write_outcomes(conn: Any, codec: Codec, source: str,
                         decided: Sequence[Decided[Any]]) -> None:
    """COPY the batch's events, outbox rows and command outcomes."""
    event_rows, outbox_rows, command_rows = [], [], []
    for outcome in decided:
        if outcome.repeat:
            continue
        for envelope in outcome.events:
            payload = codec.encode(envelope)
            event_rows.append((envelope.event_id, envelope.stream_id, envelope.stream_version,
                               envelope.type, envelope.schema_version, envelope.source,
                               envelope.occurred_at, envelope.recorded_at, payload.decode()))
            outbox_rows.append((envelope.event_id, topics.SOURCE_TOPIC[source],
                                topics.key_of(envelope), payload, envelope.stream_id,
                                envelope.stream_version))
        rejection = outcome.rejection
        command_rows.append((
            outcome.received.command.command_id, outcome.stream_id,  # type: ignore[attr-defined]
            [e.event_id for e in outcome.events], outcome.received.received_at,
            rejection.reason if rejection else None, rejection.detail if rejection else None,
            rejection.retryable if rejection else None))
    if event_rows:
        await conn.copy_records_to_table("events", records=event_rows, columns=(
            "event_id", "stream_id", "stream_version", "type", "schema_version", "source",
            "occurred_at", "recorded_at", "envelope"))
        await conn.copy_records_to_table("outbox", records=outbox_rows, columns=(
            "event_id", "topic", "key", "payload", "stream_id", "stream_version"))
    if command_rows:
        await conn.copy_records_to_table("commands", records=command_rows, columns=(
            "command_id", "stream_id", "event_ids", "recorded_at", "reason", "detail",
            "retryable"))


# --- the consumer -----------------------------------------------------------------------------
class CommandConsumer:
    """Polls a command topic and hands each poll to a `CommandPipeline`; commits the offsets
    after it. Never stops on a message: only `stop()` ends it."""

    def __init__(self, pipeline: CommandPipeline[Any, Any], *, bootstrap: str, topic: str,
                 group_id: str, batch_size: int = DEFAULT_BATCH, fetch_max_wait_ms: int = 500,
                 **options: Any):
        self.pipeline = pipeline
        self.bootstrap = bootstrap
        self.topic = topic
        self.group_id = group_id
        self.batch_size = batch_size
        self.options = {"fetch_max_wait_ms": fetch_max_wait_ms, **options}
        self.consumer: Any = None
        self.task: asyncio.Task[None] | None = None
        self.committing: asyncio.Task[None] | None = None
        self.uncommitted: dict[Any, int] = {}

    async def start(self) -> None:
        """Join the consumer group and start polling."""
        from aiokafka import AIOKafkaConsumer

        self.options.setdefault("auto_offset_reset", "earliest")
        self.consumer = AIOKafkaConsumer(
            self.topic, bootstrap_servers=self.bootstrap, group_id=self.group_id,
            enable_auto_commit=False, **self.options)
        await self.consumer.start()
        self.task = asyncio.create_task(self.run(), name=f"{self.group_id}-poll")

    async def stop(self) -> None:
        """Stop polling (a batch in progress is abandoned uncommitted) and leave the group."""
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self.committing is not None:  # the last polls' offsets, if still on their way
            await asyncio.gather(self.committing, return_exceptions=True)
        if self.consumer is not None:
            await self.consumer.stop()

    async def run(self) -> None:
        """Poll, handle, commit — until cancelled. A poll whose handling failed (it only can
        when parking a message fails for a reason other than an outage) is fetched again.

        A poll's offsets are committed while the next polls are handled (`commit_later`): the
        broker's round trip is never waited for between two batches. A commit lost with the
        process only means records decided again, which their command ids answer as repeats."""
        backoff = Backoff()
        while True:
            polled: Mapping[Any, Sequence[Any]] = {}
            try:
                polled = await self.consumer.getmany(timeout_ms=1000, max_records=self.batch_size)
                if not polled:
                    continue
                records = [r for tp in sorted(polled, key=str) for r in polled[tp]]
                await self.pipeline.handle(records)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("poll_failed", group=self.group_id)
                self.rewind(polled)
                await asyncio.sleep(backoff.next_delay())
                continue
            self.commit_later({tp: rs[-1].offset + 1 for tp, rs in polled.items()})
            backoff.reset()

    def commit_later(self, offsets: Mapping[Any, int]) -> None:
        """Have `offsets` committed in the background: one commit in flight at a time, each
        carrying the newest offset decided of each partition (a later offset covers the earlier
        ones), so offsets are committed in order and never wait for each other."""
        self.uncommitted.update(offsets)
        if self.committing is None or self.committing.done():
            self.committing = asyncio.create_task(self.commit_uncommitted())

    async def commit_uncommitted(self) -> None:
        """Commit the offsets decided, newest first taken, until none is left."""
        while self.uncommitted:
            offsets, self.uncommitted = self.uncommitted, {}
            await self.commit(offsets)

    def rewind(self, polled: Mapping[Any, Sequence[Any]]) -> None:
        """Fetch the records of `polled` again on the next poll."""
        for tp, records in (polled or {}).items():
            with contextlib.suppress(Exception):  # a partition taken away meanwhile
                self.consumer.seek(tp, records[0].offset)

    async def commit(self, offsets: Mapping[Any, int]) -> None:
        """Commit `offsets`, waiting out an unreachable broker. A commit refused otherwise (a
        rebalance took the partitions away) is logged, not raised: the next owner reads those
        records again and finds their outcomes stored, so it answers them as repeats."""
        from aiokafka.structs import OffsetAndMetadata

        from .resilience import KAFKA

        commit = {tp: OffsetAndMetadata(offset, "") for tp, offset in offsets.items()}
        try:
            await retry_while_unreachable(lambda: self.consumer.commit(commit),
                                          health=self.pipeline.health,
                                          service=self.pipeline.service, dependency=KAFKA)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("commit_skipped", group=self.group_id,
                        error=f"{type(exc).__name__}: {str(exc)[:200]}")
