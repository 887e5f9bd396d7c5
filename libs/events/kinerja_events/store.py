"""The event store: append-only streams with optimistic concurrency and idempotent commands.

`PostgresEventStore` writes each appended event and its outbox row in one transaction;
`InMemoryEventStore` has the same semantics for unit tests. Services decide their commands
through `pipeline`, which writes a batch's events, outbox rows and outcomes itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from . import topics
from .codec import Codec, make_codec
from .db import COMMANDS_PKEY, EVENTS_STREAM_VERSION_KEY, commands, outbox
from .db import events as event_table
from .envelope import NewEvent, seal
from .events import EnvelopeBase
from .types import WIB


class ConcurrencyError(Exception):
    """The stream's current version is not the version the writer expected."""

    def __init__(self, stream_id: str, expected: int, actual: int | None = None):
        detail = f", actual {actual}" if actual is not None else ""
        super().__init__(f"stream {stream_id!r}: expected version {expected}{detail}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class DuplicateCommand(Exception):
    """An outcome is already stored for this command id."""

    def __init__(self, command_id: UUID):
        super().__init__(f"command {command_id} already has an outcome")
        self.command_id = command_id


class EventStore(Protocol):
    """What command handlers and exports need from an event store."""

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        source: str,
        command_id: UUID | None = None,
        recorded_at: datetime | None = None,
    ) -> list[EnvelopeBase]:
        """Append `events` atomically at versions `expected_version + 1 ...`.

        Raises `ConcurrencyError` if the stream is not at `expected_version`, and
        `DuplicateCommand` if `command_id` already has an outcome.
        """
        ...

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[EnvelopeBase]:
        """The events of `stream_id` after `after_version` (all by default), in version order."""
        ...

    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version (0 for a stream with no events)."""
        ...

    async def command_outcome(self, command_id: UUID) -> list[EnvelopeBase] | None:
        """The events a command appended, or None if the command id is unknown."""
        ...

    async def read_all(self) -> list[EnvelopeBase]:
        """Every event, ordered by (stream_id, stream_version); for export and replay."""
        ...


def seal_batch(
    new_events: Sequence[NewEvent],
    *,
    stream_id: str,
    expected_version: int,
    source: str,
    recorded_at: datetime | None,
) -> list[EnvelopeBase]:
    """Envelopes of `new_events` at consecutive versions after `expected_version`."""
    if source not in topics.SOURCE_TOPIC:
        raise ValueError(f"unknown source {source!r}")
    if expected_version < 0:
        raise ValueError("expected_version must be >= 0")
    at = recorded_at or datetime.now(WIB)
    return [
        seal(e, source=source, stream_id=stream_id, stream_version=expected_version + i,
             recorded_at=at)
        for i, e in enumerate(new_events, start=1)
    ]


class PostgresEventStore:
    """The event store on PostgreSQL (tables `events`, `outbox`, `commands` of `db`)."""

    def __init__(self, engine: AsyncEngine, codec: Codec | None = None):
        self.engine = engine
        self.codec = codec or make_codec()

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        source: str,
        command_id: UUID | None = None,
        recorded_at: datetime | None = None,
    ) -> list[EnvelopeBase]:
        """See `EventStore.append`; events and outbox rows are written in one transaction."""
        async with self.engine.begin() as conn:
            return await self.append_on(conn, stream_id, expected_version, events,
                                        source=source, command_id=command_id,
                                        recorded_at=recorded_at)

    async def append_on(
        self,
        conn: AsyncConnection,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        source: str,
        command_id: UUID | None = None,
        recorded_at: datetime | None = None,
    ) -> list[EnvelopeBase]:
        """`append` inside the caller's transaction on `conn`, so that a service's own rows
        commit (or roll back) together with its events and their outbox rows."""
        sealed = seal_batch(events, stream_id=stream_id, expected_version=expected_version,
                            source=source, recorded_at=recorded_at)
        try:
            async with conn.begin_nested():
                if command_id is not None:
                    await self._check_command_unknown(conn, command_id)
                    await self._insert_command(conn, command_id, stream_id, sealed, recorded_at)
                actual = await _current_version(conn, stream_id)
                if actual != expected_version:
                    raise ConcurrencyError(stream_id, expected_version, actual)
                if sealed:
                    # A concurrent writer at the same version passes the check above too; the
                    # unique key (stream_id, stream_version) makes exactly one of them commit.
                    await conn.execute(insert(event_table), [self._event_row(e) for e in sealed])
                    await conn.execute(insert(outbox), [self._outbox_row(e) for e in sealed])
        except IntegrityError as exc:
            translated = _translate(exc, stream_id, expected_version, command_id)
            if translated is None:
                raise
            raise translated from exc
        return sealed

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[EnvelopeBase]:
        """See `EventStore.read_stream`."""
        query = (
            select(event_table.c.envelope)
            .where(event_table.c.stream_id == stream_id,
                   event_table.c.stream_version > after_version)
            .order_by(event_table.c.stream_version)
        )
        return await self._decode_rows(query)

    async def stream_version(self, stream_id: str) -> int:
        """See `EventStore.stream_version`."""
        async with self.engine.connect() as conn:
            return await _current_version(conn, stream_id)

    async def command_outcome(self, command_id: UUID) -> list[EnvelopeBase] | None:
        """See `EventStore.command_outcome`."""
        async with self.engine.connect() as conn:
            ids = await conn.scalar(
                select(commands.c.event_ids).where(commands.c.command_id == command_id)
            )
            if ids is None:
                return None
            if not ids:
                return []
            rows = await conn.execute(
                select(event_table.c.envelope)
                .where(event_table.c.event_id.in_(ids))
                .order_by(event_table.c.stream_id, event_table.c.stream_version)
            )
            return [self.codec.decode(row.envelope) for row in rows]

    async def read_all(self) -> list[EnvelopeBase]:
        """See `EventStore.read_all`."""
        query = select(event_table.c.envelope).order_by(event_table.c.stream_id, event_table.c.stream_version)
        return await self._decode_rows(query)

    # --- helpers ------------------------------------------------------------------------------
    async def _decode_rows(self, query: object) -> list[EnvelopeBase]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(query)  # type: ignore[arg-type]
            return [self.codec.decode(row.envelope) for row in rows]

    @staticmethod
    async def _check_command_unknown(conn: AsyncConnection, command_id: UUID) -> None:
        known = await conn.scalar(
            select(func.count()).select_from(commands).where(commands.c.command_id == command_id)
        )
        if known:
            raise DuplicateCommand(command_id)

    @staticmethod
    async def _insert_command(
        conn: AsyncConnection,
        command_id: UUID,
        stream_id: str,
        sealed: list[EnvelopeBase],
        recorded_at: datetime | None,
    ) -> None:
        await conn.execute(
            insert(commands).values(
                command_id=command_id,
                stream_id=stream_id,
                event_ids=[e.event_id for e in sealed],
                recorded_at=recorded_at or datetime.now(WIB),
            )
        )

    def _event_row(self, envelope: EnvelopeBase) -> dict[str, object]:
        return {
            "event_id": envelope.event_id,
            "stream_id": envelope.stream_id,
            "stream_version": envelope.stream_version,
            "type": envelope.type,
            "schema_version": envelope.schema_version,
            "source": envelope.source,
            "occurred_at": envelope.occurred_at,
            "recorded_at": envelope.recorded_at,
            "envelope": envelope.model_dump(mode="json", exclude_unset=True),
        }

    def _outbox_row(self, envelope: EnvelopeBase) -> dict[str, object]:
        data = envelope.data.model_dump(mode="json")
        key = topics.kafka_key(envelope.type, data, envelope.stream_id)
        return {
            "event_id": envelope.event_id,
            "topic": topics.SOURCE_TOPIC[envelope.source],
            "key": key.encode(),
            "payload": self.codec.encode(envelope),
            "stream_id": envelope.stream_id,
            "stream_version": envelope.stream_version,
        }


async def _current_version(conn: AsyncConnection, stream_id: str) -> int:
    version = await conn.scalar(
        select(func.max(event_table.c.stream_version)).where(event_table.c.stream_id == stream_id)
    )
    return int(version or 0)


def _constraint_name(exc: IntegrityError) -> str:
    cause = getattr(exc.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None) or getattr(exc.orig, "constraint_name", None)
    if name:
        return str(name)
    text = str(exc.orig)
    for candidate in (COMMANDS_PKEY, EVENTS_STREAM_VERSION_KEY):
        if candidate in text:
            return candidate
    return ""


def _translate(
    exc: IntegrityError, stream_id: str, expected: int, command_id: UUID | None
) -> Exception | None:
    name = _constraint_name(exc)
    if name == COMMANDS_PKEY and command_id is not None:
        return DuplicateCommand(command_id)
    if name == EVENTS_STREAM_VERSION_KEY:
        return ConcurrencyError(stream_id, expected)
    return None


class InMemoryEventStore:
    """The event store in a dict, with the same semantics as `PostgresEventStore`."""

    def __init__(self) -> None:
        self._streams: dict[str, list[EnvelopeBase]] = {}
        self._commands: dict[UUID, list[UUID]] = {}
        self._by_id: dict[UUID, EnvelopeBase] = {}

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        source: str,
        command_id: UUID | None = None,
        recorded_at: datetime | None = None,
    ) -> list[EnvelopeBase]:
        """See `EventStore.append`."""
        sealed = seal_batch(events, stream_id=stream_id, expected_version=expected_version,
                            source=source, recorded_at=recorded_at)
        # no await between the checks and the writes: the append is atomic on the event loop
        if command_id is not None and command_id in self._commands:
            raise DuplicateCommand(command_id)
        actual = len(self._streams.get(stream_id, []))
        if actual != expected_version:
            raise ConcurrencyError(stream_id, expected_version, actual)
        if any(e.event_id in self._by_id for e in sealed):
            raise ValueError("an event id is already stored")
        self._streams.setdefault(stream_id, []).extend(sealed)
        self._by_id.update((e.event_id, e) for e in sealed)
        if command_id is not None:
            self._commands[command_id] = [e.event_id for e in sealed]
        return list(sealed)

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[EnvelopeBase]:
        """See `EventStore.read_stream`."""
        return list(self._streams.get(stream_id, [])[max(0, after_version):])

    async def stream_version(self, stream_id: str) -> int:
        """See `EventStore.stream_version`."""
        return len(self._streams.get(stream_id, []))

    async def command_outcome(self, command_id: UUID) -> list[EnvelopeBase] | None:
        """See `EventStore.command_outcome`."""
        ids = self._commands.get(command_id)
        return None if ids is None else [self._by_id[i] for i in ids]

    async def read_all(self) -> list[EnvelopeBase]:
        """See `EventStore.read_all`."""
        return [e for sid in sorted(self._streams) for e in self._streams[sid]]
