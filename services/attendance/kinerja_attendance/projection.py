"""The attendance service's local copy of reference data (`kinerja.hr`, `kinerja.mkd`).

Each consumed fact is kept whole in `reference_facts`, written through the inbox (one transaction
with the inbox row). A command's state is folded from the offices and positions, that employee's
HR facts and MKD grants, and the employee's own stream — all order-insensitive (see `model`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, Table, Text, Uuid, func, or_, select
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


async def create_tables(engine: AsyncEngine) -> None:
    """Create the projection tables if they do not exist."""
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)


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


async def load_reference(engine: AsyncEngine, codec: Codec, nip: str) -> list[EnvelopeBase]:
    """The reference facts a command of `nip` is decided on."""
    query = select(reference_facts.c.envelope).where(
        or_(reference_facts.c.type.in_(SHARED_TYPES), reference_facts.c.nip == nip)
    )
    async with engine.connect() as conn:
        rows = await conn.execute(query)
        return [codec.decode(row.envelope) for row in rows]


def fold_facts(facts: Iterable[EnvelopeBase], state: AttendanceState | None = None
               ) -> AttendanceState:
    """The decider's state after `facts` (reference data and the employee's own stream)."""
    current = empty_state() if state is None else state
    for fact in facts:
        current = evolve(current, fact)
    return current
