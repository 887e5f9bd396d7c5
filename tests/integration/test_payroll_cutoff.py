"""A close's cut-off kept as a number, on PostgreSQL: exactly the facts stored before it, beside
the stamps of closes made the older way; a fact being stored while the cut-off is fixed is
waited for, not lost between two closes; and the audit export's ordinal of each fact agrees."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import pytest
from history import History
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert

from kinerja_cli.audit import PAYROLL_FACTS, QUERIES
from kinerja_events.types import WIB
from kinerja_payroll.ledger import fix_cutoff, load_envelopes
from kinerja_payroll.tables import closes, create_tables, facts

pytestmark = pytest.mark.integration


def envelopes(count: int) -> list[dict]:
    h = History()
    return [{**h.check_in("199001012020121001", f"2026-10-{day:02d} 07:30"),
             "event_id": str(uuid.uuid4())} for day in range(1, count + 1)]


async def store(conn, batch: list[dict]) -> None:  # type: ignore[no-untyped-def]
    await conn.execute(insert(facts), [
        {"event_id": uuid.UUID(e["event_id"]), "type": e["type"], "envelope": e} for e in batch])


async def record_close(conn, period: str, seq: int, cutoff: int | None) -> None:  # type: ignore[no-untyped-def]
    await conn.execute(insert(closes).values(
        period=period, seq=seq, cutoff=cutoff, closed_at=datetime(2026, 12, 1, tzinfo=WIB),
        rule_set="test", rule_set_hash="0", rules_file=b"", employees=0, total_rupiah=0,
        adjustments_rupiah=0, digest="0"))


async def audit_ordinals(conn) -> dict[str, int | None]:  # type: ignore[no-untyped-def]
    """Each fact's close ordinal as the audit export reads it."""
    rows = await conn.execute(text(QUERIES[PAYROLL_FACTS]))
    return {str(event_id): ordinal for event_id, _, ordinal in rows}


def ids(batch: list[dict]) -> set[str]:
    return {e["event_id"] for e in batch}


async def test_a_cut_off_is_the_facts_stored_before_it_beside_older_stamped_closes(engine):
    await create_tables(engine)
    stamped, numbered, later = envelopes(2), envelopes(3), envelopes(1)
    async with engine.begin() as conn:
        await store(conn, stamped)
        await conn.execute(update(facts).values(close_seq=1))  # a close made the older way
        await record_close(conn, "2026-09", 1, None)
        await store(conn, numbered)
    cutoff = await fix_cutoff(engine)
    async with engine.begin() as conn:
        await record_close(conn, "2026-10", 2, cutoff)
        await store(conn, later)
    async with engine.connect() as conn:
        assert {e["event_id"] for e in await load_envelopes(conn, up_to_seq=1)} == ids(stamped)
        assert {e["event_id"] for e in await load_envelopes(conn, up_to_seq=2)} == \
            ids(stamped) | ids(numbered)
        ordinals = await audit_ordinals(conn)
    assert ordinals == {**dict.fromkeys(ids(stamped), 1), **dict.fromkeys(ids(numbered), 2),
                        **dict.fromkeys(ids(later), None)}


async def test_a_fact_being_stored_while_the_cut_off_is_fixed_is_waited_for(engine):
    await create_tables(engine)
    pending = envelopes(1)
    async with engine.connect() as storing:
        transaction = await storing.begin()
        await store(storing, pending)
        seq = await storing.scalar(select(facts.c.stored_seq))
        fixing = asyncio.create_task(fix_cutoff(engine))
        async with engine.connect() as watch:
            while not await watch.scalar(text(
                    "SELECT count(*) FROM pg_locks WHERE relation = 'facts'::regclass "
                    "AND mode = 'ShareLock' AND NOT granted")):
                assert not fixing.done(), "the cut-off was fixed past an uncommitted fact"
                await watch.commit()
        await transaction.commit()
    assert await fixing >= seq
