"""Closing a month in payroll's database: the guards, the cut-off, the results and the
adjustments, in one transaction; and reading back what was closed."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from sqlalchemy import Text, and_, cast, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kinerja_events.store import PostgresEventStore

from .closing import (
    AlreadyClosed, Close, CloseRefused, close_guard, make_close, plan_adjustments, stream_of,
)
from .facts import Facts
from .fold import IncompleteFacts, compute_period, index_facts
from .rules import RuleSet, parse_rules
from .tables import adjustments, close_attempts, closes, facts, results

CLOSE_OUTCOMES = ("closed", "refused", "already_closed")


@dataclass(frozen=True)
class RuleFile:
    """A rule set with the exact bytes it was read from (kept with each close)."""

    raw: bytes
    rules: RuleSet

    @classmethod
    def parse(cls, raw: bytes) -> RuleFile:
        return cls(raw, parse_rules(raw))


async def close_period(engine: AsyncEngine, store: PostgresEventStore, period: str,
                       rule_file: RuleFile, closed_at: datetime) -> Close:
    """`close_once`, with the attempt, its outcome and its duration kept in `close_attempts`."""
    started = time.perf_counter()
    outcome = "refused"
    try:
        close = await close_once(engine, store, period, rule_file, closed_at)
        outcome = "closed"
        return close
    except AlreadyClosed:
        outcome = "already_closed"
        raise
    finally:
        with contextlib.suppress(Exception):  # the close stands even if this note is lost
            async with engine.begin() as conn:
                await conn.execute(close_attempts.insert().values(
                    period=period, outcome=outcome, seconds=time.perf_counter() - started))


async def close_once(engine: AsyncEngine, store: PostgresEventStore, period: str,
                     rule_file: RuleFile, closed_at: datetime) -> Close:
    """Close `period` from every fact recorded so far, in one transaction.

    Closes are serialised by a table lock. The cut-off is every fact stored up to the moment
    `fix_cutoff` fixes; a fact committed later waits for the next close. Raises `AlreadyClosed`
    for a closed period, and `CloseRefused` (writing nothing) for a month not ended, out of
    order, or with facts that cannot be computed.
    """
    async with engine.begin() as conn:
        await conn.execute(text("LOCK TABLE closes IN EXCLUSIVE MODE"))
        await refuse_unless_closable(conn, period, closed_at)
        seq = (await conn.scalar(select(func.max(closes.c.seq))) or 0) + 1
        cut = CutOff(seq, await fix_cutoff(engine))
        known = await load_facts(conn, cut)
        own, owed = await compute_close(conn, known, period, rule_file)
        close = make_close(period, own, owed, closed_at)
        await record_close(conn, close, cut, rule_file)
        await store.append_on(conn, stream_of(period), 0, close.events(), source="payroll",
                              recorded_at=closed_at)
    return close


@dataclass(frozen=True)
class CutOff:
    """The facts close `seq` took in: those stamped with an ordinal up to `seq` (closes made
    before cut-offs were numbers), and the unstamped ones stored up to `cutoff`."""

    seq: int
    cutoff: int | None

    def holds(self) -> Any:
        """The condition on `facts` of being in this cut-off."""
        stamped = facts.c.close_seq <= self.seq
        if self.cutoff is None:
            return stamped
        return or_(stamped, and_(facts.c.close_seq.is_(None), facts.c.stored_seq <= self.cutoff))


async def fix_cutoff(engine: AsyncEngine) -> int:
    """The greatest `stored_seq` of the facts stored so far, read while no fact is being
    stored: the share lock waits for every transaction storing facts to end and holds new ones
    back for this one statement, so every fact numbered up to it is committed, and every fact
    stored later is numbered above it."""
    async with engine.begin() as conn:
        await conn.execute(text("LOCK TABLE facts IN SHARE MODE"))
        return int(await conn.scalar(select(func.coalesce(func.max(facts.c.stored_seq), 0))))


async def cut_off_of(conn: AsyncConnection, seq: int) -> CutOff:
    """The cut-off of the close with ordinal `seq`."""
    cutoff = await conn.scalar(select(closes.c.cutoff).where(closes.c.seq == seq))
    return CutOff(seq, cutoff)


async def refuse_unless_closable(conn: AsyncConnection, period: str, now: datetime) -> None:
    """`AlreadyClosed`, or `CloseRefused` when `period` has not ended or is out of order."""
    if await conn.scalar(select(closes.c.seq).where(closes.c.period == period)):
        raise AlreadyClosed(period)
    latest = await conn.scalar(select(func.max(closes.c.period)))
    problems = close_guard(period, latest, now)
    if problems:
        raise CloseRefused(period, problems)


async def compute_close(conn: AsyncConnection, known: Facts, period: str, rule_file: RuleFile
                        ) -> tuple[list, list]:
    """`period`'s results and the adjustments owed for the closed months; `CloseRefused`
    naming every employee whose result cannot be computed, in any of those months."""
    index = index_facts(known)
    problems: list[str] = []
    own: list = []
    try:
        own = compute_period(known, period, rule_file.rules, index)
    except IncompleteFacts as exc:
        problems.append(str(exc))
    owed, incomplete = await recompute_closed_months(conn, known, index, paid_in=period)
    problems += incomplete
    if problems:
        raise CloseRefused(period, problems)
    return own, owed


async def check_close(engine: AsyncEngine, period: str, rule_file: RuleFile, now: datetime
                      ) -> Close:
    """What closing `period` now would give, from every fact held, writing nothing; raises as
    `close_period` would."""
    async with engine.connect() as conn:
        await refuse_unless_closable(conn, period, now)
        known = await load_facts(conn)
        own, owed = await compute_close(conn, known, period, rule_file)
    return make_close(period, own, owed, now)


LOAD_SLICE = 10_000  # rows fetched at a time: a province's month never sits in memory as rows


async def load_facts(conn: AsyncConnection, cut: CutOff | None = None) -> Facts:
    """Stored facts folded into `Facts`: all, or those in the cut-off `cut`.

    Read as JSON text a slice at a time and recorded straight from it (`Facts.add_stored`),
    as the projection folds them. The collector is paused meanwhile (see `offline.gc_paused`)."""
    from .offline import gc_paused

    known = Facts()
    query = select(facts.c.type, cast(facts.c.envelope, Text))
    if cut is not None:
        query = query.where(cut.holds())
    rows = await conn.stream(query.execution_options(yield_per=LOAD_SLICE))
    with gc_paused():
        async for slice_ in rows.partitions():
            for event_type, json_text in slice_:
                known.add_stored(json_text, event_type)
    return known


async def load_envelopes(conn: AsyncConnection, up_to_seq: int | None = None
                         ) -> list[dict[str, Any]]:
    """Stored facts as envelope dicts: all, or those in the cut-off of close `up_to_seq`."""
    query = select(facts.c.envelope)
    if up_to_seq is not None:
        query = query.where((await cut_off_of(conn, up_to_seq)).holds())
    return [row.envelope for row in await conn.execute(query)]


async def recompute_closed_months(conn: AsyncConnection, known: Facts, index: Any,
                                  paid_in: str) -> tuple[list, list[str]]:
    """Adjustments for every closed month, each recomputed with its own rule set; and what
    keeps a closed month from being recomputed."""
    owed, incomplete = [], []
    for row in await conn.execute(select(closes.c.period, closes.c.rules_file)
                                  .order_by(closes.c.period)):
        rules = parse_rules(row.rules_file)
        try:
            recomputed = compute_period(known, row.period, rules, index)
        except IncompleteFacts as exc:
            incomplete.append(f"recomputing closed {exc}")
            continue
        owed += plan_adjustments(row.period, paid_in, recomputed, await paid_for(conn, row.period))
    return owed, incomplete


async def paid_for(conn: AsyncConnection, period: str) -> dict[str, int]:
    """What each employee has been paid for `period`: the close's total plus adjustments."""
    paid: dict[str, int] = defaultdict(int)
    for row in await conn.execute(select(results.c.nip, results.c.total_rupiah)
                                  .where(results.c.period == period)):
        paid[row.nip] += row.total_rupiah
    for row in await conn.execute(select(adjustments.c.nip, adjustments.c.delta_rupiah)
                                  .where(adjustments.c.period == period)):
        paid[row.nip] += row.delta_rupiah
    return dict(paid)


async def record_close(conn: AsyncConnection, close: Close, cut: CutOff, rule_file: RuleFile
                       ) -> None:
    """Keep the close with its cut-off, its frozen results and the adjustments it pays."""
    await conn.execute(insert(closes).values(
        period=close.period, seq=cut.seq, cutoff=cut.cutoff, closed_at=close.closed.closed_at,
        rule_set=rule_file.rules.id, rule_set_hash=rule_file.rules.hash,
        rules_file=rule_file.raw, employees=close.closed.employees,
        total_rupiah=close.closed.total_rupiah, adjustments_rupiah=close.adjustments_rupiah,
        digest=close.closed.digest))
    if close.results:
        await conn.execute(insert(results), [
            {"period": close.period, "nip": r.nip, "total_rupiah": r.tpp["total_rupiah"],
             "data": r.tpp, "mkd_days_per_week": r.mkd_days_per_week} for r in close.results])
    if close.adjustments:
        await conn.execute(insert(adjustments), [a.model_dump() for a in close.adjustments])


class CloseCounter:
    """Counts the closes tried against payroll's database (by the CLI or any other process) into
    `kinerja_payroll_closes_total{outcome}` and `kinerja_payroll_close_seconds`: every few
    seconds it reads the attempts it has not counted yet."""

    def __init__(self, engine: AsyncEngine, registry: CollectorRegistry, every: float = 5.0):
        self.engine = engine
        self.every = every
        self.seen = 0
        self.closes = Counter("kinerja_payroll_closes", "Month closes tried, by outcome",
                              ["outcome"], registry=registry)
        self.seconds = Histogram("kinerja_payroll_close_seconds", "Time a close took",
                                 registry=registry,
                                 buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
        for outcome in CLOSE_OUTCOMES:
            self.closes.labels(outcome)

    async def run_forever(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # the database down: /health says so
                await self.count_new()
            await asyncio.sleep(self.every)

    async def count_new(self) -> None:
        """Count the attempts recorded since the last call."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(close_attempts.c.id, close_attempts.c.outcome, close_attempts.c.seconds)
                .where(close_attempts.c.id > self.seen).order_by(close_attempts.c.id))).all()
        for row in rows:
            outcome = row.outcome if row.outcome in CLOSE_OUTCOMES else "refused"
            self.closes.labels(outcome).inc()
            if outcome == "closed":
                self.seconds.observe(row.seconds)
            self.seen = row.id
