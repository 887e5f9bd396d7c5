"""The reference data the appraisal service keeps, and how a batch of commands reads it.

- The HR directory (employees and their superiors over time, the holiday calendar of the rating
  window): each `kinerja.hr` fact is kept in `reference_facts`, and each batch adds the facts
  inserted since the previous batch to the process's `Directory`.
- Worklog's facts of activities (`ActivityLogged`, `ActivityApproved`, `ActivityRejected`), kept
  in `worklog_facts` by NIP: the realisation of SKP items an evaluation proposes from.
- `skps`: which `skp_id` holds each employee's year, written in the same transaction as the
  first draft, so an employee never has two SKPs of a year, whichever instance decides.

A batch with SKP or evaluation commands reads, beyond the directory: the SKPs they name and the
SKPs of the year of everyone who has been their employees' superior (from `skps` and the SKP
streams), and, for evaluations, the employee's activities and ratings (`SKPBatch`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kinerja_events.codec import Codec
from kinerja_events.commands import ApproveSKP, DraftSKP, Evaluate, ReturnSKP
from kinerja_events.events import EnvelopeBase, SKPDrafted
from kinerja_events.hr import HR_TYPES, Directory
from kinerja_events.reference import DirectoryReference, keeper
from kinerja_events.skp import SKPBook

from .evaluation import monthly_scores, realisation
from .model import AppraisalState, SKPContext, with_context, with_directory

WORKLOG_TYPES = frozenset({"ActivityLogged", "ActivityApproved", "ActivityRejected"})
KEPT_TYPES = HR_TYPES | WORKLOG_TYPES
CREATE = (
    "CREATE TABLE IF NOT EXISTS worklog_facts ("
    " event_id uuid PRIMARY KEY, nip text NOT NULL, type text NOT NULL,"
    " envelope jsonb NOT NULL)",
    "CREATE INDEX IF NOT EXISTS worklog_facts_nip ON worklog_facts (nip)",
    "CREATE TABLE IF NOT EXISTS skps ("
    " skp_id text PRIMARY KEY, nip text NOT NULL, year integer NOT NULL, UNIQUE (nip, year))",
)
KEEP_WORKLOG = text(
    "INSERT INTO worklog_facts (event_id, nip, type, envelope) "
    "VALUES (:event_id, :nip, :type, CAST(:envelope AS jsonb)) ON CONFLICT (event_id) DO NOTHING")
SKP_COMMANDS = (DraftSKP, ApproveSKP, ReturnSKP, Evaluate)


async def create_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for statement in CREATE:
            await conn.execute(text(statement))


def keep_reference_fact(codec: Codec) -> Any:
    """The inbox effect keeping the directory's facts and worklog's activity facts."""
    keep_hr = keeper(HR_TYPES, codec)

    async def keep(conn: AsyncConnection, envelope: EnvelopeBase) -> None:
        if envelope.type in WORKLOG_TYPES:
            await conn.execute(KEEP_WORKLOG, {
                "event_id": envelope.event_id, "nip": envelope.data.nip,  # type: ignore[attr-defined]
                "type": envelope.type, "envelope": codec.encode(envelope).decode()})
        else:
            await keep_hr(conn, envelope)

    return keep


def superiors_ever(directory: Directory, nip: str) -> set[str]:
    """Everyone the directory has ever named as `nip`'s direct superior."""
    person = directory.person(nip)
    if person is None:
        return set()
    return {c.fields["superior_nip"] for c in person.changes
            if c.fields.get("superior_nip") is not None}


def owner_year(command: DraftSKP | Evaluate) -> tuple[str, int]:
    """The employee and year whose SKP a draft or an evaluation is about."""
    return (command.nip if isinstance(command, Evaluate) else command.actor_nip), command.year


class AppraisalReference:
    """The appraisal service's `ReferenceData` for the command pipeline."""

    def __init__(self, codec: Codec):
        self.codec = codec
        self.directory_reference = DirectoryReference(codec, with_directory)

    @property
    def directory(self) -> Directory:
        return self.directory_reference.directory

    async def read(self, conn: Any, commands: Sequence[Any]) -> Any:
        """The directory always; for SKP and evaluation commands, what `SKPBatch` holds."""
        await self.directory_reference.read(conn, commands)
        skp_commands = [c for c in commands if isinstance(c, SKP_COMMANDS)]
        if not skp_commands:
            return self.directory_reference
        return await SKPBatch.read(conn, self.codec, self.directory, skp_commands)


class SKPBatch:
    """A batch's SKPs (by owner and year), and its evaluated employees' activities and ratings
    (the pipeline's `BatchReference`)."""

    def __init__(self, directory: Directory, book: SKPBook, owners: dict[str, tuple[str, int]],
                 activities: dict[str, list[EnvelopeBase]], ratings: dict[str, list[EnvelopeBase]]):
        self.directory = directory
        self.book = book
        self.owners = owners
        self.activities = activities
        self.ratings = ratings
        self.new_owners: dict[str, tuple[str, int]] = {}

    @classmethod
    async def read(cls, conn: Any, codec: Codec, directory: Directory,
                   commands: Sequence[Any]) -> SKPBatch:
        named = sorted({c.skp_id for c in commands if isinstance(c, ApproveSKP | ReturnSKP)})
        owners = {row[0]: (row[1], row[2]) for row in await conn.fetch(
            "SELECT skp_id, nip, year FROM skps WHERE skp_id = ANY($1::text[])", named)}
        pairs = set(owners.values()) | {owner_year(c) for c in commands
                                        if isinstance(c, DraftSKP | Evaluate)}
        for nip, year in list(pairs):
            pairs.update((superior, year) for superior in superiors_ever(directory, nip))
        rows = await conn.fetch(
            "SELECT s.skp_id, s.nip, s.year, e.envelope::text FROM skps s "
            "JOIN unnest($1::text[], $2::int[]) AS p(nip, year) USING (nip, year) "
            "LEFT JOIN events e ON e.stream_id = 'skp:' || s.skp_id ORDER BY e.stream_version",
            [p[0] for p in pairs], [p[1] for p in pairs])
        book = SKPBook()
        for skp_id, nip, year, envelope in rows:
            owners[skp_id] = (nip, year)
            if envelope is not None:
                book.add([codec.decode(envelope)])
        evaluations = [c for c in commands if isinstance(c, Evaluate)]
        activities = await read_grouped(
            conn, codec, "SELECT nip, envelope::text FROM worklog_facts WHERE nip = ANY($1)",
            sorted({c.nip for c in evaluations}))
        ratings = await read_grouped(
            conn, codec, "SELECT envelope->'data'->>'ratee_nip', envelope::text FROM events "
            "WHERE stream_id = ANY($1) AND type = 'RatingGiven'",
            sorted({f"rating:{c.nip}:{c.year}-{m:02d}" for c in evaluations
                    for m in range(1, 13)}))
        return cls(directory, book, owners, activities, ratings)

    def prepare(self, state: AppraisalState, command: Any) -> AppraisalState:
        """`state` with the directory and, for an SKP or evaluation command, its context."""
        if not isinstance(command, SKP_COMMANDS):
            return with_directory(state, self.directory)
        return with_context(state, self.directory, self.context_of(command, state))

    def context_of(self, command: Any, state: AppraisalState) -> SKPContext:
        if isinstance(command, Evaluate):
            year = command.year
            return SKPContext(
                evaluated_skp=self.book.of(command.nip, year),
                realised=realisation(self.activities.get(command.nip, ()), year),
                scores=monthly_scores(self.ratings.get(command.nip, ()), year))
        if isinstance(command, DraftSKP):
            nip, year = command.actor_nip, command.year
        elif state.skp is not None:
            nip, year = state.skp.nip, state.skp.year
        else:
            return SKPContext()
        owner = self.book.owners.get((nip, year))
        superiors = {s: record for s in superiors_ever(self.directory, nip)
                     if (record := self.book.of(s, year)) is not None}
        return SKPContext(year_owner=owner, superior_skps=superiors)

    def record(self, events: Sequence[EnvelopeBase]) -> None:
        """Fold the batch's SKP facts in, for its later commands; note new SKPs' owners."""
        self.book.add(events)
        for event in events:
            data = event.data
            if isinstance(data, SKPDrafted) and data.skp_id not in self.owners:
                self.owners[data.skp_id] = self.new_owners[data.skp_id] = (data.nip, data.year)

    async def write(self, conn: Any, events: Sequence[EnvelopeBase]) -> None:
        """Insert the new SKPs' owners. A plain insert: an employee's year taken meanwhile by
        another instance fails the batch, which is then decided again on a fresh read."""
        if self.new_owners:
            await conn.copy_records_to_table("skps", columns=("skp_id", "nip", "year"), records=[
                (skp_id, nip, year) for skp_id, (nip, year) in self.new_owners.items()])


async def read_grouped(conn: Any, codec: Codec, query: str, keys: list[str]
                       ) -> dict[str, list[EnvelopeBase]]:
    """`(nip, envelope text)` rows of `query` for `keys`, decoded and grouped by NIP."""
    grouped: dict[str, list[EnvelopeBase]] = defaultdict(list)
    if keys:
        for nip, envelope in await conn.fetch(query, keys):
            grouped[nip].append(codec.decode(envelope))
    return grouped


def make_reference(codec: Codec) -> AppraisalReference:
    """The appraisal service's `ReferenceData` for the command pipeline."""
    return AppraisalReference(codec)
