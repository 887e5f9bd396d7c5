"""Keeping each open month's projection current, from the facts payroll has consumed.

The keeper folds stored facts into an in-memory `Facts` as they arrive: it claims facts not yet
projected (a flag, never a tailing sequence number, so a fact committed late is still picked
up), marking them in the same statement, adds them, and recomputes every open period — each
period a fact dates up to the month in progress, less the closed ones — into the `projection`
table, where ops and employees read their month so far. Facts are read as JSON text and
validated straight from it (`Codec.decode_held`), and a batch is folded a slice at a time, so
that the consumer storing facts in the same process is not held up for a whole batch. The
month in progress is judged only up to today: later days bring no cut, no absence and no
target, and its results are flagged `month_in_progress`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import Text, any_, bindparam, cast, delete, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from kinerja_events.events import EnvelopeBase
from kinerja_events.types import WIB

from .facts import Facts, subjects
from .fold import IncompleteFacts, compute_period, index_facts
from .rules import RuleSet
from .tables import closes, facts, projection

log = structlog.get_logger("kinerja.payroll")

DATED_FIELDS = ("at", "work_date", "start_date", "end_date", "date", "due_date")
WRITER_LOCK = 0x4B4A5052  # advisory lock key of the projection's one writer ("KJPR")
CATCH_UP_MOST = 200_000  # facts claimed at once while catching up with a backlog
CATCH_UP_RECOMPUTE_EVERY = 30.0  # seconds between recomputes while catching up
FOLD_SLICE = 500  # facts folded between two turns of the event loop


def period_of(value: str) -> str:
    """The WIB period of a date or an RFC 3339 time."""
    if len(value) == 10:
        return date.fromisoformat(value).strftime("%Y-%m")
    return datetime.fromisoformat(value).astimezone(WIB).strftime("%Y-%m")


def periods_of(envelope: EnvelopeBase) -> set[str]:
    """The periods a fact speaks of (its data's `period`, and the WIB periods of its dates and
    times), for choosing what to recompute."""
    data = envelope.data
    found = set()
    for name in _dated_fields(type(data)):
        value = getattr(data, name)
        if isinstance(value, str):
            found.add(value if name == "period" else period_of(value))
            continue
        if isinstance(value, datetime):
            value = value.astimezone(WIB)
        if isinstance(value, date):
            found.add(f"{value.year:04d}-{value.month:02d}")
    return found


_DATED: dict[type, tuple[str, ...]] = {}


def _dated_fields(model: type) -> tuple[str, ...]:
    """The fields of a data model that `periods_of` reads: `period`, then `DATED_FIELDS`."""
    names = _DATED.get(model)
    if names is None:
        fields = getattr(model, "model_fields", {})
        names = _DATED[model] = tuple(n for n in ("period", *DATED_FIELDS) if n in fields)
    return names


class ProjectionKeeper:
    """Folds new facts into memory and rewrites the open periods' projection."""

    def __init__(self, engine: AsyncEngine, rules: RuleSet, registry: CollectorRegistry,
                 batch_size: int = 5000):
        self.engine = engine
        self.rules = rules
        self.batch_size = batch_size
        self.facts = Facts()
        self.periods: set[str] = set()
        self.shown: set[str] = set()  # periods with projected gauges
        self.dirty: set[str] | None = None  # whose results changed since; None: anyone's
        self.fresh: dict[str, date] = {}  # period -> the day it was last computed whole
        self.totals: dict[str, dict[str, int]] = {}  # period -> nip -> projected total
        self.deferred = False  # facts folded whose recompute was put off (`catch_up`)
        self.writing = False  # this instance holds the writer's lock
        self.folded = Counter("kinerja_payroll_facts_folded", "Facts folded into the projection",
                              ["type"], registry=registry)
        self.month_total = Gauge("kinerja_payroll_projected_total_rupiah",
                                 "Projected TPP of an open period, all employees",
                                 ["period"], registry=registry)
        self.employees = Gauge("kinerja_payroll_projected_employees",
                               "Employees with a result in an open period", ["period"],
                               registry=registry)

    async def load_projected(self) -> None:
        """On becoming the writer: fold every fact already projected (by any earlier writer)."""
        self.facts, self.periods = Facts(), set()
        self.dirty, self.fresh, self.totals = None, {}, {}
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(facts.c.type, cast(facts.c.envelope, Text))
                                      .where(facts.c.projected))
            await self.fold(rows.all())

    async def fold(self, rows: Sequence[Any]) -> None:
        """Fold stored facts, rows of (type, envelope as JSON text), into memory, a slice at a
        time: between slices the event loop runs (the consumer keeps storing facts)."""
        folded: dict[str, int] = {}
        for start in range(0, len(rows), FOLD_SLICE):
            if start:
                await asyncio.sleep(0)
            for event_type, text in rows[start:start + FOLD_SLICE]:
                self.fold_one(text, event_type)
                folded[event_type] = folded.get(event_type, 0) + 1
        for event_type, count in folded.items():
            self.folded.labels(event_type).inc(count)

    def fold_one(self, text: str, event_type: str) -> None:
        """Record one stored fact, noting the periods it speaks of and whose results it may
        change."""
        envelope = self.facts.decode_stored(text, event_type)
        named = subjects(self.facts, envelope)
        if self.facts.add_envelope(envelope, hash(text)) and self.dirty is not None:
            if named is None:
                self.dirty = None
            else:
                self.dirty |= named
        self.periods |= periods_of(envelope)

    async def catch_up(self) -> int:
        """Refresh until a batch comes back short (no backlog left); return the facts folded.

        A backlog is claimed in batches that grow with what is held (a quarter of it, up to
        `CATCH_UP_MOST`), and the open months are recomputed with a batch only every
        `CATCH_UP_RECOMPUTE_EVERY` seconds and with the last one: a province's month is then
        recomputed a few times while it is taken in, not once per batch. Meanwhile the facts
        folded are marked projected before the projection shows them (a restart folds and
        recomputes every projected fact, so nothing is lost)."""
        limit, folded, since = self.batch_size, 0, time.monotonic()
        while True:
            due = time.monotonic() - since >= CATCH_UP_RECOMPUTE_EVERY
            count = await self.refresh_once(limit, defer=not due)
            if due:
                since = time.monotonic()
            folded += count
            if count < limit:
                break
            limit = min(CATCH_UP_MOST, max(self.batch_size, len(self.facts.seen) // 4))
        if self.deferred:  # the last full batch was deferred, and no short one followed
            await self.recompute_all()
        return folded

    async def refresh_once(self, limit: int | None = None, defer: bool = False) -> int:
        """Fold a batch of new facts (`batch_size`, or `limit`) and recompute the open periods
        — unless `defer` and the batch came back full; return how many."""
        limit = limit or self.batch_size
        async with self.engine.begin() as conn:
            claimed = (select(facts.c.event_id).where(facts.c.projected.is_(False))
                       .limit(limit).with_for_update(skip_locked=True))
            rows = (await conn.execute(
                update(facts).where(facts.c.event_id.in_(claimed.scalar_subquery()))
                .values(projected=True)
                .returning(facts.c.type, cast(facts.c.envelope, Text)))).all()
            if not rows:
                return 0
            await self.fold(rows)
            self.deferred = defer and len(rows) == limit
            if not self.deferred:
                await self.recompute_open_periods(conn)
        return len(rows)

    async def recompute_all(self) -> None:
        """Rewrite every open period's projection in a transaction of its own."""
        async with self.engine.begin() as conn:
            await self.recompute_open_periods(conn)

    async def recompute_open_periods(self, conn: Any) -> None:
        """Rewrite the projection of every period facts speak of, and of the month in
        progress (once anyone is employed, before anyone has checked in), that is neither
        closed nor in the future; the month in progress is judged up to today (RULES.md §9).
        The fold runs in a worker thread, so the event loop (the consumer storing facts)
        keeps going."""
        closed = await self.drop_closed(conn)
        today = datetime.now(WIB).date()
        current = f"{today.year:04d}-{today.month:02d}"
        spoken_of = self.periods | ({current} if self.facts.employees else set())
        plan = self.plan(sorted(p for p in spoken_of - closed if p <= current), today)
        computed = await asyncio.to_thread(self.compute, plan, today)
        for period, results in computed.items():
            await self.write(conn, period, results, plan[period])
            if plan[period] is None:
                self.fresh[period] = today
        for period in plan.keys() - computed.keys():
            self.fresh.pop(period, None)  # incomplete: computed whole once it can be
        self.dirty = set()
        self.deferred = False

    def plan(self, periods: list[str], today: date) -> dict[str, set[str] | None]:
        """Whom to recompute in each period: everyone (None) in a period not computed whole
        today, or after a fact that may change everyone's result; else the employees named by
        the facts folded since, and a period nobody's result changed in is left as it is."""
        plan: dict[str, set[str] | None] = {}
        for period in periods:
            if self.dirty is None or self.fresh.get(period) != today:
                plan[period] = None
            elif self.dirty:
                plan[period] = self.dirty
        return plan

    def compute(self, plan: dict[str, set[str] | None], today: date) -> dict[str, list]:
        """Each planned period's results, of everyone or of the employees planned; a period
        whose facts cannot be computed yet (a position not defined) is left out and logged
        (`kinerja payroll check` names what blocks it)."""
        planned = list(plan.values())
        index = index_facts(self.facts, None if None in planned else set().union(*planned))
        computed = {}
        for period, nips in plan.items():
            try:
                computed[period] = compute_period(self.facts, period, self.rules, index,
                                                  as_of=today, nips=nips)
            except IncompleteFacts as exc:
                log.warning("projection_incomplete", period=period, error=str(exc))
        return computed

    async def drop_closed(self, conn: Any) -> set[str]:
        """Drop the projection rows and gauges of closed periods; return the closed periods."""
        closed = set((await conn.scalars(select(closes.c.period))).all())
        if closed:
            await conn.execute(delete(projection).where(projection.c.period.in_(closed)))
        for period in closed:
            self.fresh.pop(period, None)
            self.totals.pop(period, None)
        for period in closed & self.shown:
            self.month_total.remove(period)
            self.employees.remove(period)
        self.shown -= closed
        return closed

    async def forget_closed(self) -> None:
        """Drop the projection of periods closed since the last refresh."""
        async with self.engine.begin() as conn:
            await self.drop_closed(conn)

    async def write(self, conn: Any, period: str, results: list, nips: set[str] | None
                    ) -> None:
        """Replace `period`'s projection rows: all of them, or those of `nips`."""
        now = datetime.now(WIB)
        rows = delete(projection).where(projection.c.period == period)
        if nips is not None:
            rows = rows.where(projection.c.nip == any_(bindparam("nips", sorted(nips),
                                                                type_=ARRAY(Text))))
        await conn.execute(rows)
        if results:
            await conn.execute(insert(projection), [
                {"period": period, "nip": r.nip, "computed_at": now,
                 "data": {**r.tpp, "mkd_days_per_week": r.mkd_days_per_week,
                          "minute_value_rupiah": r.minute_value}}
                for r in results])
        totals = self.totals.setdefault(period, {})
        if nips is None:
            totals.clear()
        else:
            for nip in nips:
                totals.pop(nip, None)
        totals.update((r.nip, r.tpp["total_rupiah"]) for r in results)
        self.month_total.labels(period).set(sum(totals.values()))
        self.employees.labels(period).set(len(totals))
        self.shown.add(period)

    async def run_forever(self, interval: float = 1.0) -> None:
        """Keep the projection until cancelled, as its one writer; an error is logged and
        retried, never fatal.

        Several payroll instances may run on one database: the one holding the keeper's
        advisory lock (on a connection of its own, so it is released if that instance or its
        connection dies) writes the projection, the others wait. A new writer first folds
        every fact already projected, so its projection covers all of them, not only those it
        claims itself. A backlog is taken at once, in growing batches (`catch_up`); facts
        trickling in are folded once per `interval`, since every refresh recomputes the open
        months."""
        while True:
            try:
                async with self.engine.connect() as lock:
                    await self.become_writer(lock, interval)
                    self.writing = True
                    await self.load_projected()
                    await self.recompute_all()
                    while True:
                        await self.catch_up()
                        await self.forget_closed()
                        await lock.scalar(select(1))  # still connected: still the writer
                        await lock.commit()
                        await asyncio.sleep(interval)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("projection_refresh_failed")
                await asyncio.sleep(interval)
            finally:
                self.writing = False

    @staticmethod
    async def become_writer(lock: Any, interval: float) -> None:
        """Wait until this keeper holds the projection writer's lock (session-level)."""
        while not await lock.scalar(select(func.pg_try_advisory_lock(WRITER_LOCK))):
            await lock.commit()
            await asyncio.sleep(interval)
        await lock.commit()


def count_pending() -> Any:
    """The query counting stored facts the projection does not reflect yet."""
    return select(func.count()).select_from(facts).where(facts.c.projected.is_(False))


async def pending_facts(conn: Any) -> int:
    """How many stored facts the projection does not reflect yet."""
    return int(await conn.scalar(count_pending()))
