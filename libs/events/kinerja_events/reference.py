"""Reference facts a service keeps (e.g. `kinerja.hr`), and reading what is new since last time.

The inbox keeps each consumed fact of the kept types whole in `reference_facts`, with the id of
the transaction that inserted it. A reader remembers the oldest transaction still running when
it last read (its snapshot's xmin): every fact it has not seen was inserted by that transaction
or a later one, so `read_new` asks only for those — exactly, even with several instances
inserting at once — and skips the few it already holds by event id.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .codec import Codec
from .events import EnvelopeBase
from .hr import Directory

S = TypeVar("S")

CREATE = (
    "CREATE TABLE IF NOT EXISTS reference_facts ("
    " event_id uuid PRIMARY KEY,"
    " type text NOT NULL,"
    " txid bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint,"
    " envelope jsonb NOT NULL)",
    "CREATE INDEX IF NOT EXISTS reference_facts_txid ON reference_facts (txid)",
)
KEEP = text(
    "INSERT INTO reference_facts (event_id, type, envelope) "
    "VALUES (:event_id, :type, CAST(:envelope AS jsonb)) ON CONFLICT (event_id) DO NOTHING")
READ_NEW = (
    "SELECT h.xmin, r.event_id, r.envelope::text "
    "FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin) h "
    "LEFT JOIN reference_facts r ON r.txid >= $1")


async def create_reference_table(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for statement in CREATE:
            await conn.execute(text(statement))


def keeper(kept_types: Collection[str], codec: Codec) -> Any:
    """The inbox effect keeping the facts of `kept_types` (the rest of a topic is ignored)."""

    async def keep(conn: AsyncConnection, envelope: EnvelopeBase) -> None:
        if envelope.type in kept_types:
            await conn.execute(KEEP, {"event_id": envelope.event_id, "type": envelope.type,
                                      "envelope": codec.encode(envelope).decode()})

    return keep


class NewFacts:
    """Reads the reference facts inserted since the previous read (on asyncpg connections)."""

    def __init__(self, codec: Codec):
        self.codec = codec
        self.horizon = 0
        self.seen: set[Any] = set()

    async def read_new(self, conn: Any) -> list[EnvelopeBase]:
        """The facts not returned before, decoded."""
        rows = await conn.fetch(READ_NEW, self.horizon)
        facts = []
        for row in rows:
            event_id = row[1]
            if event_id is not None and event_id not in self.seen:
                self.seen.add(event_id)
                facts.append(self.codec.decode(row[2]))
        self.horizon = rows[0][0]
        return facts



async def read_directory(conn: Any, codec: Codec) -> Directory:
    """The whole HR directory as kept now (for queries; asyncpg connection)."""
    directory = Directory()
    directory.add(await NewFacts(codec).read_new(conn))
    return directory


class DirectoryReference(Generic[S]):
    """The command pipeline's reference data for a service that keeps the HR directory: each
    batch adds the facts kept since the previous one (one query, usually empty), and each
    command's state gets the directory attached by `attach`. It is its own batch reference."""

    def __init__(self, codec: Codec, attach: Callable[[S, Directory], S]):
        self.directory = Directory()
        self.new_facts = NewFacts(codec)
        self.attach = attach

    async def read(self, conn: Any, commands: Sequence[Any]) -> DirectoryReference[S]:
        self.add(await self.new_facts.read_new(conn))
        return self

    def add(self, facts: Sequence[EnvelopeBase]) -> None:
        """Fold newly kept facts in (a service keeping more than the directory adds to it)."""
        self.directory.add(facts)

    def prepare(self, state: S, command: Any) -> S:
        return self.attach(state, self.directory)

    def record(self, events: Sequence[EnvelopeBase]) -> None:
        """Nothing: a command's events stay in its own stream."""

    async def write(self, conn: Any, events: Sequence[EnvelopeBase]) -> None:
        """Nothing: the events and outbox rows the pipeline writes are all there is."""
