"""The attendance service's local copy of reference data (`kinerja.hr`, `kinerja.mkd`).

Each consumed fact is kept whole in `reference_facts`, written through the inbox (one transaction
with the inbox row). A command's state is folded from the offices and positions, that employee's
HR facts and MKD grants, and the employee's own stream — all order-insensitive (see `model`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, Table, Text, Uuid, func, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kinerja_events.codec import Codec
from kinerja_events.events import EnvelopeBase

from .model import AttendanceState, empty_state, evolve

metadata = MetaData()

reference_facts = Table(
    "reference_facts",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("type", Text, nullable=False),
    Column("nip", Text, nullable=True, index=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("envelope", JSONB, nullable=False),
)

hr_rejections = Table(
    "hr_rejections",
    metadata,
    Column("command_id", Uuid, primary_key=True),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

KEPT_TYPES = frozenset({
    "OfficeRegistered", "PositionDefined", "EmployeeRegistered", "EmployeeChanged",
    "EmployeeTerminated", "MKDGranted",
})
SHARED_TYPES = ("OfficeRegistered", "PositionDefined")


async def keep_reference_fact(conn: AsyncConnection, envelope: EnvelopeBase) -> None:
    """Inbox effect: keep the facts the decider needs; ignore the rest of the topic."""
    if envelope.type not in KEPT_TYPES:
        return
    await conn.execute(
        insert(reference_facts)
        .values(
            event_id=envelope.event_id,
            type=envelope.type,
            nip=getattr(envelope.data, "nip", None),
            occurred_at=envelope.occurred_at,
            envelope=envelope.model_dump(mode="json"),
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
    )


def count_held(envelopes: Iterable[EnvelopeBase]) -> Any:
    """The query counting which of the reference facts in `envelopes` attendance holds; with
    `kept(envelopes)` it tells when attendance knows everything a publisher sent."""
    ids = [e.event_id for e in envelopes if e.type in KEPT_TYPES]
    return select(func.count()).select_from(reference_facts).where(
        reference_facts.c.event_id.in_(ids))


def kept(envelopes: Iterable[EnvelopeBase]) -> int:
    """How many of `envelopes` attendance keeps."""
    return sum(1 for e in envelopes if e.type in KEPT_TYPES)


SHARED_KEY = func.coalesce(reference_facts.c.envelope["data"]["office_id"].astext,
                           reference_facts.c.envelope["data"]["position_code"].astext)
"""The office id or position code of a shared fact (indexed by `create_tables`)."""


async def create_tables(engine: AsyncEngine) -> None:
    """Create the projection tables and the shared facts' key index if they do not exist."""
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(text(
            "CREATE INDEX IF NOT EXISTS reference_facts_shared_key ON reference_facts "
            "((coalesce(envelope->'data'->>'office_id', envelope->'data'->>'position_code')))"))


async def load_reference(engine: AsyncEngine, codec: Codec, nip: str) -> list[EnvelopeBase]:
    """The reference facts a command of `nip` is decided on: the employee's own, and the
    offices and positions they name (not the whole province's)."""
    async with engine.connect() as conn:
        own = [codec.decode(row.envelope) for row in await conn.execute(
            select(reference_facts.c.envelope).where(reference_facts.c.nip == nip))]
        keys = {value for fact in own for name in ("office_id", "position_code")
                if isinstance(value := getattr(fact.data, name, None), str)}
        if not keys:
            return own
        shared = await conn.execute(select(reference_facts.c.envelope).where(
            reference_facts.c.type.in_(SHARED_TYPES), SHARED_KEY.in_(keys)))
        return own + [codec.decode(row.envelope) for row in shared]


def fold_facts(facts: Iterable[EnvelopeBase], state: AttendanceState | None = None
               ) -> AttendanceState:
    """The decider's state after `facts` (reference data and the employee's own stream)."""
    current = empty_state() if state is None else state
    for fact in facts:
        current = evolve(current, fact)
    return current


class StreamCache:
    """Each recent employee's own stream folded up to a version, so that a command reads only
    the events appended since. Streams only grow, so an entry stays exact whatever other
    instances append; the least recently used entries are dropped beyond `capacity`."""

    def __init__(self, capacity: int = 4096):
        self.capacity = capacity
        self.entries: OrderedDict[str, tuple[int, AttendanceState]] = OrderedDict()

    def get(self, stream_id: str) -> tuple[int, AttendanceState]:
        """The cached (version, fold), or (0, the empty state)."""
        entry = self.entries.get(stream_id)
        if entry is None:
            return 0, empty_state()
        self.entries.move_to_end(stream_id)
        return entry

    def extend(self, stream_id: str, version: int, state: AttendanceState,
               events: list[EnvelopeBase]) -> None:
        """Cache the fold of `events`, the stream's events right after `version`, onto `state`."""
        versions = [e.stream_version for e in events]
        if not versions or versions != list(range(version + 1, version + 1 + len(versions))):
            return  # not the events right after `version` (e.g. another command's outcome)
        self.entries[stream_id] = (events[-1].stream_version, fold_facts(events, state))
        self.entries.move_to_end(stream_id)
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)
