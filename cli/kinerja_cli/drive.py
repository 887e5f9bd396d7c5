"""Driving the demo organisation through a running platform: the HR import, then the two months
before this one through the simulated gateway (the first earns the MKD days the second uses),
each closed by payroll once every fact of it is in.

`kinerja demo [--exit]` runs the platform with it (what `make run` does); `--exit` stops after
the report, for CI.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time as clock, timedelta
from typing import Any
from uuid import UUID

import structlog

log = structlog.get_logger("kinerja.demo")

WAIT_SECONDS = 300.0
GRANTED = "MKDGranted"
WORKLOG_FACTS = ("ActivityLogged", "ActivityApproved", "ActivityRejected")
LEADERS = ("SEKDA", "KADIS", "SEKDIS", "KABID", "KASUBBAG")


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add the `demo` options to its parser."""
    from .run import add_platform_options, run_platform

    parser.add_argument("--exit", action="store_true",
                        help="stop after the report (exit 0 when it all worked), e.g. in CI")
    parser.add_argument("--staff-per-section", type=int, default=None, metavar="N",
                        help="a smaller organisation: N staff under each section head "
                             "(default: the full OPD, about 220 employees)")
    add_platform_options(parser)
    parser.set_defaults(func=run_platform, demo=True)


@dataclass
class Driven:
    """What the demo did, for the report."""

    periods: list[str]
    employees: int = 0
    imported: int = 0
    commands: int = 0
    resent: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)
    skps_approved: int = 0
    evaluated: str | None = None
    """The quarter evaluated (e.g. 2026-Q3); None where none has ended since the demo began."""
    predikat: dict[str, int] = field(default_factory=dict)
    sample_skp: str | None = None


def demo_periods(today: date) -> list[str]:
    """The two calendar months before `today`'s, oldest first, preceded by the one before them
    when neither ends a quarter: then the last ended quarter has a demo month to evaluate."""
    months = []
    end = today.replace(day=1)
    for _ in range(3):
        end = end - timedelta(days=1)
        months.insert(0, end)
        end = end.replace(day=1)
        if len(months) == 2 and any(m.month % 3 == 0 for m in months):
            break
    return [f"{m:%Y-%m}" for m in months]


class DemoDriver:
    """Imports the organisation and drives its months through the platform's services."""

    def __init__(self, endpoints: Any, database_url: Callable[[str], str], payroll_config: Any,
                 staff_per_section: int | None, progress: Any):
        from .demo import build_organisation

        self.endpoints = endpoints
        self.database_url = database_url
        self.payroll_config = payroll_config
        self.org = build_organisation(staff_per_section)
        self.progress = progress
        self.engines: dict[str, Any] = {}  # one per service database, for the driver's polls
        self.worklog_facts: list[UUID] = []  # the activities' facts appraisal must hold

    def engine(self, service: str) -> Any:
        """The driver's engine on `service`'s database (made once)."""
        from kinerja_events.db import make_engine

        if service not in self.engines:
            self.engines[service] = make_engine(self.database_url(service))
        return self.engines[service]

    async def close_engines(self) -> None:
        for engine in self.engines.values():
            await engine.dispose()
        self.engines.clear()

    async def drive(self, today: date) -> Driven:
        """Import, then simulate and close each demo month not closed yet."""
        from .gateway import Gateway, signing_keys

        started = time.monotonic()
        periods = demo_periods(today)
        driven = Driven(periods, employees=len(self.org.people))
        driven.imported = await self.import_organisation(date.fromisoformat(f"{periods[0]}-01"))
        gateway = Gateway(self.endpoints.kafka_bootstrap, signing_keys())
        await gateway.start()
        try:
            await self.agree_skps(periods, gateway, driven)
            quota: dict[str, int] = {}
            for period in periods:
                if await self.is_closed(period):
                    driven.skipped.append(period)
                else:
                    await self.simulate(period, quota, gateway, driven)
                    await self.close(period)
                quota = await self.eligibility_after(period)
            await self.evaluate_quarter(periods, today, gateway, driven)
        finally:
            await gateway.stop()
        driven.resent = gateway.resent
        driven.seconds = time.monotonic() - started
        return driven

    # --- HR ---------------------------------------------------------------------------------
    async def import_organisation(self, effective: date) -> int:
        """Publish what the platform does not hold yet of the organisation; wait until every
        service holds it."""
        from kinerja_events.outbox import make_producer
        from kinerja_events.types import WIB

        from .demo import chart_of
        from .hrimport import plan_import, publish_plan, read_current

        self.progress.say("Importing the organisation (HR) ...")
        current = await read_current(self.endpoints)
        moment = datetime.combine(effective - timedelta(days=3), clock(8, 0), WIB)
        plan = plan_import(chart_of(self.org, effective), current, moment)  # type: ignore[arg-type]
        envelopes = list(plan.envelopes)
        if not envelopes:
            return 0
        producer = make_producer(self.endpoints.kafka_bootstrap)
        await producer.start()
        try:
            await publish_plan(producer, plan)
        finally:
            await producer.stop()
        ids = [e.event_id for e in envelopes]
        for service, consumer in reference_consumers():
            await self.wait_handled(service, consumer, ids, f"{service} to hold the HR import")
        return len(envelopes)

    # --- SKPs and the quarter's evaluation ---------------------------------------------------
    async def agree_skps(self, periods: Sequence[str], gateway: Any, driven: Driven) -> None:
        """Everyone's SKP of each demo year drafted and approved, level by level; then wait
        until worklog holds the approvals (activities name the items)."""
        from .demo import plan_skps

        self.progress.say("Drafting and approving SKPs down the hierarchy ...")
        approved = []
        for wave in plan_skps(self.org, periods):
            outcomes = await gateway.decide([(s.service, s.command, s.command.sent_at)
                                             for s in wave.sends])
            approved += [o.event_id for events in outcomes.values() for o in events
                         if o.type == "SKPApproved"]
        driven.skps_approved = len(approved)
        await self.wait_handled("worklog", "worklog-reference", approved,
                                "worklog to hold the approved SKPs")

    async def evaluate_quarter(self, periods: Sequence[str], today: date, gateway: Any,
                               driven: Driven) -> None:
        """Each superior evaluates the last ended quarter (from the proposals the data gives
        now), and one employee's SKP is printed as a sample."""
        from kinerja_appraisal.queries import evaluation_proposal
        from kinerja_events.codec import make_codec
        from kinerja_events.queries import on_connection
        from kinerja_events.types import WIB

        from .demo import evaluation_quarter, plan_evaluations

        found = evaluation_quarter(periods, today)
        if found is None:
            return
        year, quarter = found
        driven.evaluated = f"{year}-Q{quarter}"
        self.progress.say(f"Evaluating {driven.evaluated} ...")
        await self.wait_handled("appraisal", "appraisal-reference", self.worklog_facts,
                                "appraisal to hold worklog's activities")
        codec, proposals = make_codec(), {}
        for person in self.org.people:
            shown = await on_connection(self.engine("appraisal"), lambda conn: (
                evaluation_proposal(conn, codec, person.nip, year, quarter)))
            if shown["approved_skp"]:
                proposals[person.nip] = (shown["proposed_result"], shown["proposed_behaviour"])
        wave = plan_evaluations(self.org, year, quarter, proposals, datetime.now(WIB))
        outcomes = await gateway.decide([(s.service, s.command, s.command.sent_at)
                                         for s in wave.sends])
        for events in outcomes.values():
            for event in events:
                if event.type == "EvaluationGiven":
                    predikat = event.data["predikat"]
                    driven.predikat[predikat] = driven.predikat.get(predikat, 0) + 1
        await self.print_sample(year, driven)

    async def print_sample(self, year: int, driven: Driven) -> None:
        """The SKP form of the first staff member of the first section, next to the closes'
        CSVs."""
        from kinerja_appraisal.queries import skp_view
        from kinerja_events.codec import make_codec
        from kinerja_events.queries import on_connection
        from kinerja_events.types import WIB

        from .forms import file_name, tpp_by_month, write_skp_pdf

        sample = next(p for p in self.org.people if p.position_code not in LEADERS)
        today = datetime.now(WIB).date()
        view = await on_connection(self.engine("appraisal"), lambda conn: skp_view(
            conn, make_codec(), sample.nip, year, today))
        tpp = await on_connection(self.engine("payroll"), lambda conn: tpp_by_month(
            conn, sample.nip, year))
        out = self.payroll_config.export_dir / file_name(view)
        driven.sample_skp = str(write_skp_pdf(view, tpp, out))

    # --- a month ----------------------------------------------------------------------------
    async def simulate(self, period: str, quota: dict[str, int], gateway: Any,
                       driven: Driven) -> None:
        """Send `period`'s days through the gateway, wave by wave; wait until payroll holds
        every outcome."""
        from .demo import simulate_month

        days = simulate_month(self.org, period, quota)
        produced: list[UUID] = []
        self.progress.start(period, len(days))
        for n, day in enumerate(days, start=1):
            for wave in day.waves:
                # Each command is received at the moment it was sent in the simulation.
                outcomes = await gateway.decide([(s.service, s.command, s.command.sent_at)
                                                 for s in wave.sends])
                for events in outcomes.values():
                    for outcome in events:
                        driven.outcomes[outcome.type] = driven.outcomes.get(outcome.type, 0) + 1
                        produced.append(outcome.event_id)
                        if outcome.type in WORKLOG_FACTS:
                            self.worklog_facts.append(outcome.event_id)
                driven.commands += len(wave.sends)
                granted = [o.event_id for events in outcomes.values() for o in events
                           if o.type == GRANTED]
                if granted:  # today's MKD check-ins need attendance to know the grants
                    await self.wait_handled("attendance", "attendance-reference", granted,
                                            "attendance to hold the MKD grants")
            self.progress.advance(n, day.day, driven.commands)
        self.progress.finish()
        self.progress.say(f"Waiting for payroll to take in {period} ...")
        await self.wait_handled("payroll", "payroll-facts", produced, "payroll to receive "
                                f"{period}'s facts")
        await self.wait_projected()

    async def close(self, period: str) -> None:
        """Close `period` as the payroll office would (`kinerja payroll close`): the close, and
        its CSV where the office finds it."""
        from kinerja_events.store import PostgresEventStore
        from kinerja_events.types import WIB
        from kinerja_payroll.closing import AlreadyClosed
        from kinerja_payroll.exports import write_close_csv
        from kinerja_payroll.ledger import close_period
        from kinerja_payroll.people import names_and_units

        self.progress.say(f"Closing {period} ...")
        engine = self.engine("payroll")
        try:
            done = await close_period(engine, PostgresEventStore(engine), period,
                                      self.payroll_config.rule_file(), datetime.now(WIB))
        except AlreadyClosed:
            return
        async with engine.connect() as conn:
            names = await names_and_units(conn, period)
        write_close_csv(done, self.payroll_config.export_dir, names)

    async def is_closed(self, period: str) -> bool:
        from sqlalchemy import select

        from kinerja_payroll.tables import closes

        return bool(await self.scalar("payroll", select(closes.c.seq).where(
            closes.c.period == period)))

    async def eligibility_after(self, period: str) -> dict[str, int]:
        """The MKD days per week `period`'s close earned for the next month, once the MKD
        service holds them (its requests are judged on them)."""
        from sqlalchemy import select

        from kinerja_events.db import events
        from kinerja_payroll.closing import stream_of

        async with self.engine("payroll").connect() as conn:
            rows = (await conn.execute(select(events.c.event_id, events.c.envelope).where(
                events.c.stream_id == stream_of(period),
                events.c.type == "MKDEligibilityDetermined"))).all()
        await self.wait_handled("mkd", "mkd-reference", [r.event_id for r in rows],
                                "the MKD service to hold the eligibility")
        return {r.envelope["data"]["nip"]: int(r.envelope["data"]["days_per_week"])
                for r in rows}

    # --- waiting ----------------------------------------------------------------------------
    async def wait_handled(self, service: str, consumer: str, event_ids: Sequence[UUID],
                           what: str) -> None:
        """Until `consumer` of `service` has handled every one of `event_ids`."""
        from sqlalchemy import func, select

        from kinerja_events.db import inbox

        wanted = sorted(set(event_ids))
        for start in range(0, len(wanted), 5000):
            chunk = wanted[start:start + 5000]
            query = select(func.count()).select_from(inbox).where(
                inbox.c.consumer == consumer, inbox.c.event_id.in_(chunk))
            await self.poll(service, query, len(chunk), what)

    async def wait_projected(self) -> None:
        from kinerja_payroll.projection import count_pending

        deadline = time.monotonic() + WAIT_SECONDS
        while await self.scalar("payroll", count_pending()):
            if time.monotonic() > deadline:
                raise TimeoutError("gave up waiting for payroll's projection")
            await asyncio.sleep(0.2)

    async def poll(self, service: str, query: Any, wanted: int, what: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while int(await self.scalar(service, query) or 0) < wanted:
            if time.monotonic() > deadline:
                raise TimeoutError(f"gave up after {WAIT_SECONDS:.0f}s waiting for {what}")
            await asyncio.sleep(0.2)

    async def scalar(self, service: str, query: Any) -> Any:
        async with self.engine(service).connect() as conn:
            return await conn.scalar(query)


def reference_consumers() -> list[tuple[str, str]]:
    """(service, the consumer that takes in HR facts) of every service."""
    import importlib

    from .services import SERVICE_MODULES

    out = []
    for name, module in SERVICE_MODULES.items():
        parts = importlib.import_module(module).CONSUMES
        out.append((name, f"{name}-{'reference' if 'reference' in parts else 'facts'}"))
    return out


class Progress:
    """A progress bar of the simulated days on stderr (a line per few days when not a
    terminal)."""

    WIDTH = 30

    def __init__(self, stream: Any = sys.stderr):
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.period = ""
        self.total = 1

    def say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def start(self, period: str, days: int) -> None:
        self.period, self.total = period, max(1, days)
        self.say(f"Simulating {period}: {days} working days through the gateway")

    def advance(self, done: int, day: date, commands: int) -> None:
        filled = self.WIDTH * done // self.total
        line = (f"  {self.period} [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                f"{done:>2}/{self.total} days  {day.isoformat()}  {commands:,} commands")
        if self.tty:
            print("\r" + line, end="", file=self.stream, flush=True)
        elif done % 5 == 0 or done == self.total:
            self.say(line)

    def finish(self) -> None:
        if self.tty:
            print(file=self.stream, flush=True)
