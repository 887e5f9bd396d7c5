"""Payroll's database work: keep facts, close a month, export and read back what was closed."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kinerja_events.db import events as event_table
from kinerja_events.events import TPPAdjusted
from kinerja_events.inbox import Delivery
from kinerja_events.store import PostgresEventStore

from .closing import (
    AlreadyClosed, Close, CloseRefused, close_guard, make_close, plan_adjustments, stream_of,
)
from .facts import Facts, build_facts
from .fold import IncompleteFacts, compute_period, index_facts
from .rules import RuleSet, parse_rules
from .tables import adjustments, closes, facts, results

PAYROLL_TYPES_IGNORED = frozenset({
    "TPPCalculated", "TPPAdjusted", "PayrollClosed", "MKDEligibilityDetermined",
    "CheckInRejected",
})


STORE_FACTS = text(
    "INSERT INTO facts (event_id, type, envelope) "
    "SELECT * FROM unnest(CAST(:event_ids AS uuid[]), CAST(:types AS text[]), "
    "CAST(:envelopes AS jsonb[])) "
    "ON CONFLICT (event_id) DO NOTHING")


async def keep_facts(conn: AsyncConnection, received: Sequence[Delivery]) -> None:
    """Inbox batch effect: keep the consumed facts whole, as they came, in one statement
    (payroll's own outputs and refusals excepted)."""
    kept = [r for r in received if r.envelope.type not in PAYROLL_TYPES_IGNORED]
    if kept:
        await conn.execute(STORE_FACTS, {"event_ids": [r.envelope.event_id for r in kept],
                                         "types": [r.envelope.type for r in kept],
                                         "envelopes": [r.json for r in kept]})


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
    """Close `period` from every fact recorded so far, in one transaction.

    Closes are serialised by a table lock. The cut-off is fixed by stamping every fact not yet
    in a cut-off with this close's ordinal; a fact committed later has no stamp and waits for
    the next close. Raises `AlreadyClosed` for a closed period, and `CloseRefused` (writing
    nothing) for a month not ended, out of order, or with facts that cannot be computed.
    """
    async with engine.begin() as conn:
        await conn.execute(text("LOCK TABLE closes IN EXCLUSIVE MODE"))
        await refuse_unless_closable(conn, period, closed_at)
        seq = (await conn.scalar(select(func.max(closes.c.seq))) or 0) + 1
        await conn.execute(update(facts).where(facts.c.close_seq.is_(None)).values(close_seq=seq))
        known = build_facts(await load_envelopes(conn, up_to_seq=seq))
        own, owed = await compute_close(conn, known, period, rule_file)
        close = make_close(period, own, owed, closed_at)
        await record_close(conn, close, seq, rule_file)
        await store.append_on(conn, stream_of(period), 0, close.events(), source="payroll",
                              recorded_at=closed_at)
    return close


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
        known = build_facts(await load_envelopes(conn))
        own, owed = await compute_close(conn, known, period, rule_file)
    return make_close(period, own, owed, now)


async def load_envelopes(conn: AsyncConnection, up_to_seq: int | None = None
                         ) -> list[dict[str, Any]]:
    """Stored facts as envelope dicts: all, or those in the cut-off of close `up_to_seq`."""
    query = select(facts.c.envelope)
    if up_to_seq is not None:
        query = query.where(facts.c.close_seq <= up_to_seq)
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


async def record_close(conn: AsyncConnection, close: Close, seq: int, rule_file: RuleFile
                       ) -> None:
    """Keep the close, its frozen results and the adjustments it pays."""
    await conn.execute(insert(closes).values(
        period=close.period, seq=seq, closed_at=close.closed.closed_at,
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


async def export_history(engine: AsyncEngine, out: Path, period: str | None = None) -> int:
    """Write an exported history (one envelope per line): the facts in `period`'s close
    cut-off and payroll's events up to that close (everything, without a period)."""
    async with engine.connect() as conn:
        seq = None
        if period is not None:
            seq = await conn.scalar(select(closes.c.seq).where(closes.c.period == period))
            if seq is None:
                raise LookupError(f"{period} is not closed")
        lines = [*await load_envelopes(conn, up_to_seq=seq),
                 *await load_payroll_events(conn, up_to_seq=seq)]
    return write_jsonl(out, lines)


async def load_payroll_events(conn: AsyncConnection, up_to_seq: int | None) -> list[dict]:
    """Payroll's own events, of the closes with ordinal ≤ `up_to_seq` (all without one)."""
    streams = select(func.concat("payroll:", closes.c.period))
    if up_to_seq is not None:
        streams = streams.where(closes.c.seq <= up_to_seq)
    rows = await conn.execute(select(event_table.c.envelope)
                              .where(event_table.c.stream_id.in_(streams))
                              .order_by(event_table.c.stream_id, event_table.c.stream_version))
    return [row.envelope for row in rows]


def write_jsonl(out: Path, envelopes: Iterable[dict]) -> int:
    """Write one compact JSON envelope per line; return how many."""
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with out.open("w", encoding="utf-8") as stream:
        for envelope in envelopes:
            stream.write(json.dumps(envelope, separators=(",", ":"), ensure_ascii=False) + "\n")
            count += 1
    return count


CSV_FIELDS = ["nip", "name", "unit", "period", "base_rupiah", "productivity_rupiah", "discipline_rupiah",
              "ikp_rupiah", "total_rupiah", "productivity_ratio", "behaviour_ratio",
              "discipline_cut", "tk_days", "approved_minutes", "target_minutes", "flags",
              "mkd_days_per_week_next", "rule_set", "rule_set_hash"]


def write_close_csv(close: Close, directory: Path,
                    names: dict[str, tuple[str, str]] | None = None) -> list[Path]:
    """The payroll office's CSV of a close (and of the adjustments it pays, if any), with each
    employee's (name, unit) from `names` where given."""
    names = names or {}
    directory.mkdir(parents=True, exist_ok=True)
    main = directory / f"tpp-{close.period}.csv"
    with main.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for r in close.results:
            name, unit = names.get(r.nip, ("", ""))
            writer.writerow({**{k: r.tpp[k] for k in CSV_FIELDS if k in r.tpp},
                             "name": name, "unit": unit, "flags": " ".join(r.tpp["flags"]),
                             "mkd_days_per_week_next": r.mkd_days_per_week})
    written = [main]
    if close.adjustments:
        extra = directory / f"tpp-adjustments-paid-in-{close.period}.csv"
        with extra.open("w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, fieldnames=list(TPPAdjusted.model_fields))
            writer.writeheader()
            for a in close.adjustments:
                writer.writerow(a.model_dump())
        written.append(extra)
    return written

