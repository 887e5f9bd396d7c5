"""The reference data the MKD service keeps, the week a batch reads, and revocations.

Kept through the inbox in `reference_facts`: the HR directory (`kinerja.hr`: employees, their
superiors and positions, holidays) and payroll's `MKDEligibilityDetermined` (`kinerja.payroll`).

An employee's week is shared by their requests, which are separate streams, so the week is
guarded by a lock of its own: a batch first finds the (employee, week) pairs its commands are
about, takes their transaction locks (after the pipeline's stream locks, in sorted order), and
only then reads what is new, the eligibility and the week's grants. A new eligibility takes the
same locks before it withdraws the days over its quota, so a grant and a lowered quota never
miss each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date
from typing import Any
from uuid import uuid5

from kinerja_events.codec import Codec
from kinerja_events.commands import DecideMKD, RequestMKD
from kinerja_events.envelope import NewEvent
from kinerja_events.events import EnvelopeBase, MKDRevoked
from kinerja_events.hr import HR_TYPES, Directory
from kinerja_events.reference import NewFacts, keeper
from kinerja_events.store import PostgresEventStore

from .model import REVOKE_REASON, Eligibility, History, RequestState, Week, mondays_of

KEPT_TYPES = HR_TYPES | {"MKDEligibilityDetermined"}
WEEK_LOCK_CLASS = 0x4D4B  # advisory lock key space of (employee, week) locks ("MK")
HISTORY_TYPES = ["MKDRequested", "MKDGranted", "MKDDenied", "MKDRevoked"]
NIP_INDEX = ("CREATE INDEX IF NOT EXISTS events_mkd_nip ON events "
             "((envelope->'data'->>'nip'), type) WHERE stream_id LIKE 'mkd:%'")


async def create_mkd_index(engine: Any) -> None:
    from sqlalchemy import text

    async with engine.begin() as conn:
        await conn.execute(text(NIP_INDEX))


def week_key(nip: str, week_start: date) -> int:
    """A 32-bit lock key of an (employee, week)."""
    digest = hashlib.blake2b(f"{nip}:{week_start}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_weeks(conn: Any, pairs: Iterable[tuple[str, date]]) -> None:
    """Take the transaction locks of (employee, week) pairs, in one sorted order."""
    keys = sorted({week_key(nip, week) for nip, week in pairs})
    if keys:
        await conn.execute("SELECT pg_advisory_xact_lock($1, k) FROM unnest($2::int[]) AS k "
                           "ORDER BY k", WEEK_LOCK_CLASS, keys)


async def read_history(conn: Any, codec: Codec, nips: Iterable[str]) -> History:
    """The MKD requests, grants and revocations of `nips` (asyncpg connection)."""
    history = History()
    rows = await conn.fetch(
        "SELECT envelope::text FROM events WHERE stream_id LIKE 'mkd:%' "
        "AND envelope->'data'->>'nip' = ANY($1::text[]) AND type = ANY($2::text[])",
        sorted(set(nips)), HISTORY_TYPES)
    history.add(codec.decode(text) for (text,) in rows)
    return history


async def requests_of(conn: Any, request_ids: Sequence[str]) -> list[tuple[str, date]]:
    """The (employee, week) of each known request among `request_ids`."""
    rows = await conn.fetch(
        "SELECT envelope->'data'->>'nip', (envelope->'data'->>'week_start')::date FROM events "
        "WHERE stream_id = ANY($1::text[]) AND type = 'MKDRequested'",
        [f"mkd:{r}" for r in request_ids])
    return [(row[0], row[1]) for row in rows]


class MKDReference:
    """The MKD service's `ReferenceData` for the command pipeline."""

    def __init__(self, codec: Codec):
        self.codec = codec
        self.directory = Directory()
        self.eligibility = Eligibility()
        self.new_facts = NewFacts(codec)

    async def read(self, conn: Any, commands: Sequence[Any]) -> BatchWeeks:
        pairs = {(c.actor_nip, c.week_start) for c in commands if isinstance(c, RequestMKD)}
        decisions = [c.request_id for c in commands if isinstance(c, DecideMKD)]
        if decisions:
            pairs |= set(await requests_of(conn, decisions))
        await lock_weeks(conn, pairs)
        facts = await self.new_facts.read_new(conn)
        self.directory.add(facts)
        self.eligibility.add(facts)
        history = await read_history(conn, self.codec, {nip for nip, _ in pairs})
        return BatchWeeks(self.directory, self.eligibility, history)


class BatchWeeks:
    """What one batch reads (the pipeline's `BatchReference`): the directory, and each
    command's week as the batch's earlier commands left it."""

    def __init__(self, directory: Directory, eligibility: Eligibility, history: History):
        self.directory = directory
        self.eligibility = eligibility
        self.history = history

    def prepare(self, state: RequestState, command: Any) -> RequestState:
        if isinstance(command, RequestMKD):
            nip, week = command.actor_nip, command.week_start
        elif state.request is not None:
            nip, week = state.request.nip, state.request.week_start
        else:
            return replace(state, directory=self.directory)
        return replace(state, directory=self.directory, week=Week(
            self.eligibility.quota(nip, week), self.history.granted_in_week(nip, week)))

    def record(self, events: Sequence[EnvelopeBase]) -> None:
        self.history.add(events)

    async def write(self, conn: Any, events: Sequence[EnvelopeBase]) -> None:
        """Nothing: the events and outbox rows the pipeline writes are all there is."""


# --- the inbox: reference facts, and revocations on a lowered quota --------------------------------
def keep_reference_fact(codec: Codec, on_revoked: Callable[[list[EnvelopeBase]], None]
                        = lambda revoked: None) -> Any:
    """The inbox effect: keep the directory's facts and payroll's eligibility; after an
    eligibility, withdraw what its month's weeks hold over the quota (`on_revoked` is told)."""
    keep = keeper(KEPT_TYPES, codec)
    store = PostgresEventStore(None, codec)  # type: ignore[arg-type]  # append_on only

    async def effect(conn: Any, envelope: EnvelopeBase) -> None:
        await keep(conn, envelope)
        if envelope.type == "MKDEligibilityDetermined":
            on_revoked(await revoke_over_quota(conn, codec, store, envelope))

    return effect


async def revoke_over_quota(conn: Any, codec: Codec, store: PostgresEventStore,
                            eligibility: EnvelopeBase) -> list[EnvelopeBase]:
    """`MKDRevoked` for the granted days over the quota in each week of the eligibility's
    month (the latest eligibility of that month, which need not be this one)."""
    data: Any = eligibility.data
    raw = (await conn.get_raw_connection()).driver_connection
    weeks = mondays_of(data.period)
    await lock_weeks(raw, [(data.nip, week) for week in weeks])
    known = Eligibility()
    known.add(codec.decode(text) for (text,) in await raw.fetch(
        "SELECT envelope::text FROM reference_facts WHERE type = 'MKDEligibilityDetermined' "
        "AND envelope->'data'->>'nip' = $1 AND envelope->'data'->>'period' = $2",
        data.nip, data.period))
    history = await read_history(raw, codec, [data.nip])
    revoked = []
    for week in weeks:
        quota = known.quota(data.nip, week) or 0
        for request_id, days in history.excess(data.nip, week, quota).items():
            stream_id = f"mkd:{request_id}"
            version = await raw.fetchval("SELECT coalesce(max(stream_version), 0) FROM events "
                                         "WHERE stream_id = $1", stream_id)
            event = NewEvent(type="MKDRevoked", data=MKDRevoked(
                request_id=request_id, nip=data.nip, days=days, reason=REVOKE_REASON),
                occurred_at=eligibility.occurred_at,
                event_id=uuid5(eligibility.event_id, request_id), causation_id=eligibility.event_id)
            revoked += await store.append_on(conn, stream_id, version, [event], source="mkd",
                                             recorded_at=eligibility.occurred_at)
    return revoked
