"""The reference data the attendance service keeps, and how a batch of commands reads it.

Each consumed fact of `kinerja.hr` and `kinerja.mkd` is kept whole in `reference_facts`, written
through the inbox (one transaction with the inbox row). `claims` holds, for every leave and travel
id, the NIP it was first recorded for: written in the same transaction as the events that record
them, so an id can never belong to two employees, whichever instance decides the commands.

A batch reads, in three queries, the reference facts of the employees it names, the offices and
positions those name, and the claims of the leave and travel ids it names (`AttendanceReference`).
A command's state is then its employee's stream folded (the pipeline's cache) with those facts —
all order-insensitive (see `model`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Column, DateTime, MetaData, Table, Text, Uuid, func, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kinerja_events.codec import Codec
from kinerja_events.commands import CheckIn, CheckOut, RecordLeave, RecordOfficialTravel
from kinerja_events.events import EnvelopeBase, OfficeRegistered

from .model import LEAVE, TRAVEL, AttendanceState, empty_state, evolve, with_reference

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

claims = Table(
    "claims",
    metadata,
    Column("kind", Text, primary_key=True),
    Column("id", Text, primary_key=True),
    Column("nip", Text, nullable=False),
)

KEPT_TYPES = frozenset({
    "OfficeRegistered", "PositionDefined", "EmployeeRegistered", "EmployeeChanged",
    "EmployeeTerminated", "MKDGranted", "MKDRevoked",
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
            envelope=envelope.model_dump(mode="json", exclude_unset=True),
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


SHARED_KEY_SQL = ("(coalesce(envelope->'data'->>'office_id', "
                  "envelope->'data'->>'position_code'))")
"""The office id or position code of a shared fact (indexed by `create_tables`)."""

READ_REFERENCE = (
    "WITH own AS (SELECT event_id, envelope FROM reference_facts WHERE nip = ANY($1::text[])) "
    "SELECT event_id, envelope::text, true FROM own "
    "UNION ALL "
    "SELECT event_id, envelope::text, false FROM reference_facts "
    f"WHERE type = ANY($2::text[]) AND {SHARED_KEY_SQL} = ANY(ARRAY("
    "  SELECT key FROM own, LATERAL (VALUES (envelope->'data'->>'office_id'),"
    "                                       (envelope->'data'->>'position_code')) AS k(key)"
    "  WHERE key IS NOT NULL))")
"""The reference facts of some employees (flagged true), and the office and position facts those
name (`named_keys` in SQL), in one round trip."""


async def create_tables(engine: AsyncEngine) -> None:
    """Create the reference tables and the shared facts' key index if they do not exist, and
    claim the leave and travel ids of a store kept from before `claims` existed (first
    recorded wins)."""
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(text(
            f"CREATE INDEX IF NOT EXISTS reference_facts_shared_key ON reference_facts "
            f"({SHARED_KEY_SQL})"))
        await conn.execute(text(
            "INSERT INTO claims (kind, id, nip) "
            "SELECT DISTINCT ON (kind, id) kind, id, nip FROM ("
            " SELECT CASE type WHEN 'LeaveRecorded' THEN 'leave' ELSE 'travel' END AS kind,"
            " coalesce(envelope->'data'->>'leave_id', envelope->'data'->>'travel_id') AS id,"
            " envelope->'data'->>'nip' AS nip, position FROM events"
            " WHERE type IN ('LeaveRecorded', 'OfficialTravelRecorded')) AS recorded "
            "ORDER BY kind, id, position "
            "ON CONFLICT DO NOTHING"))


def fold_facts(facts: Iterable[Any], state: AttendanceState | None = None) -> AttendanceState:
    """The decider's state after `facts` (reference data and the employee's own stream)."""
    current = empty_state() if state is None else state
    for fact in facts:
        current = evolve(current, fact)
    return current


def nip_of(command: Any) -> str:
    """The employee whose stream a command is decided on."""
    return command.actor_nip if isinstance(command, CheckIn | CheckOut) else command.nip


def claim_of(command: Any) -> tuple[str, str] | None:
    """The (kind, id) a leave or travel command names, if any."""
    if isinstance(command, RecordLeave):
        return (LEAVE, command.leave_id)
    if isinstance(command, RecordOfficialTravel):
        return (TRAVEL, command.travel_id)
    return None


CLAIMED_BY = {"LeaveRecorded": LEAVE, "OfficialTravelRecorded": TRAVEL}


def shared_key(fact: EnvelopeBase) -> str:
    """The office id or position code an office or position fact is about."""
    data = fact.data
    return data.office_id if isinstance(data, OfficeRegistered) else data.position_code  # type: ignore[attr-defined]


def named_keys(facts: Iterable[EnvelopeBase]) -> set[str]:
    """The office ids and position codes an employee's facts name."""
    keys: set[str] = set()
    for fact in facts:
        for name in ("office_id", "position_code"):
            value = fact.data.__dict__.get(name)
            if isinstance(value, str):
                keys.add(value)
    return keys


class AttendanceReference:
    """The attendance service's `ReferenceData` for the command pipeline. Facts never change, so
    decoded facts are kept by event id, and an employee's reference data folded is kept by the
    set of facts it was folded from: a batch decodes and folds only what is new."""

    def __init__(self, codec: Codec, decoded_cache: int = 50_000):
        self.codec = codec
        self.capacity = decoded_cache
        self.decoded: OrderedDict[UUID, EnvelopeBase] = OrderedDict()
        self.folded: OrderedDict[tuple[UUID, ...], AttendanceState] = OrderedDict()

    def fold_reference(self, facts: Sequence[EnvelopeBase]) -> AttendanceState:
        """The state of reference `facts` alone (kept for the next batch)."""
        key = tuple(sorted(fact.event_id for fact in facts))
        state = self.folded.get(key)
        if state is None:
            state = self.folded[key] = fold_facts(facts)
            if len(self.folded) > self.capacity:
                self.folded.popitem(last=False)
        else:
            self.folded.move_to_end(key)
        return state

    async def read(self, conn: Any, commands: Sequence[Any]) -> BatchReference:
        """The reference facts and claims `commands` need (`conn`: asyncpg)."""
        nips = sorted({nip_of(c) for c in commands})
        rows = await conn.fetch(READ_REFERENCE, nips, list(SHARED_TYPES))
        own = self.decode_rows([(event_id, body) for event_id, body, mine in rows if mine])
        shared = self.decode_rows([(event_id, body) for event_id, body, mine in rows if not mine])
        named = sorted({claim for c in commands if (claim := claim_of(c)) is not None})
        known = {(row[0], row[1]): row[2] for row in await conn.fetch(
            "SELECT k.kind, k.id, c.nip FROM unnest($1::text[], $2::text[]) AS k(kind, id) "
            "CROSS JOIN LATERAL (SELECT nip FROM claims "
            "  WHERE kind = k.kind AND id = k.id OFFSET 0) c",  # an index probe per id
            [k for k, _ in named], [i for _, i in named])} if named else {}
        return BatchReference(self, own, shared, known)

    def decode_rows(self, rows: Sequence[Any]) -> list[EnvelopeBase]:
        """The envelopes of `(event_id, envelope text)` rows, decoding each fact once."""
        out = []
        for event_id, envelope_text in rows:
            envelope = self.decoded.get(event_id)
            if envelope is None:
                envelope = self.decoded[event_id] = self.codec.decode(envelope_text)
                if len(self.decoded) > self.capacity:
                    self.decoded.popitem(last=False)
            out.append(envelope)
        return out


class BatchReference:
    """The reference data read for one batch (the pipeline's `BatchReference`)."""

    def __init__(self, data: AttendanceReference, own: list[EnvelopeBase],
                 shared: list[EnvelopeBase], claims: dict[tuple[str, str], str]):
        self.data = data
        self.facts: dict[str, list[EnvelopeBase]] = {}
        for fact in own:
            self.facts.setdefault(fact.data.nip, []).append(fact)  # type: ignore[attr-defined]
        self.shared: dict[str, list[EnvelopeBase]] = {}
        for fact in shared:
            self.shared.setdefault(shared_key(fact), []).append(fact)
        self.claims = claims
        self.new_claims: dict[tuple[str, str], str] = {}
        self.states: dict[str, AttendanceState] = {}

    def prepare(self, state: AttendanceState, command: Any) -> AttendanceState:
        """The employee's stream state with their HR facts, MKD grants, the offices and
        positions, and the claims of the batch."""
        nip = nip_of(command)
        reference = self.states.get(nip)
        if reference is None:
            own = self.facts.get(nip, [])
            shared = [fact for key in named_keys(own) for fact in self.shared.get(key, ())]
            reference = self.states[nip] = self.data.fold_reference([*own, *shared])
        return with_reference(state, reference, self.claims)

    def record(self, events: Sequence[EnvelopeBase]) -> None:
        """Claim the leave and travel ids the events record, for the batch's later commands."""
        for event in events:
            kind = CLAIMED_BY.get(event.type)
            if kind is None:
                continue
            item_id = getattr(event.data, "leave_id" if kind == LEAVE else "travel_id")
            if (kind, item_id) not in self.claims:
                self.claims[(kind, item_id)] = self.new_claims[(kind, item_id)] = event.data.nip  # type: ignore[attr-defined]

    async def write(self, conn: Any, events: Sequence[EnvelopeBase]) -> None:
        """Insert the batch's new claims. A plain insert: an id claimed meanwhile by another
        instance fails the batch, which is then decided again on a fresh read."""
        if self.new_claims:
            await conn.copy_records_to_table("claims", columns=("kind", "id", "nip"), records=[
                (kind, item_id, nip) for (kind, item_id), nip in self.new_claims.items()])
