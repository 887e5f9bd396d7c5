"""Faults against the whole platform, each service a process of its own: nothing lost, nothing
doubled, every rupiah as the offline compute of the audit export says.

A small organisation of the demo (29 people) lives its last two months through the simulated
gateway, which sends each command again with the same id until its outcome appears. While it
does, the services are killed with SIGKILL in the middle of the stream of commands and started
again, one of them at a moment its outbox holds events its relay has not published yet,
PostgreSQL is stopped and restarted under them, and later a consumer is held a day behind and
the broker is lost, replaced by an empty one, and rebuilt from the event stores. After each: every command the gateway sent
(and the broker acknowledged) has exactly one outcome, payroll holds every fact once, and
`kinerja audit verify` reproduces each closed month, digest included.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import subprocess
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from kinerja_cli.drive import DemoDriver, Driven, Progress, demo_periods
from kinerja_cli.gateway import Gateway, signing_keys
from kinerja_cli.services import SERVICE_MODULES
from kinerja_events.queries import on_connection
from kinerja_events.types import WIB
from kinerja_payroll.intake import PAYROLL_TYPES_IGNORED
from processes import ServiceProcesses, endpoints_file, kinerja, platform_environment
from reading import group_caught_up
from temporary import temporary_infra

pytestmark = pytest.mark.integration

COMMAND_SERVICES = ("attendance", "worklog", "appraisal", "mkd")
RESEND_AFTER = 2.0  # the gateway's patience before sending again (a real one: 10 s)
DOWN_SECONDS = 1.0  # how long a killed service stays down
OUTAGE_SECONDS = 3.0  # how long PostgreSQL stays down
CLI_SECONDS = 180.0


class RecordingGateway(Gateway):
    """The demo's gateway, noting every command the broker acknowledged, per service."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sent: dict[str, set[UUID]] = defaultdict(set)

    async def send(self, service: str, command: Any, *, received_at: datetime | None = None
                   ) -> None:
        await super().send(service, command, received_at=received_at)
        self.sent[service].add(command.command_id)  # `decide` waits for the acks (flush)


class FaultyDays(Progress):
    """The demo's progress, quiet, starting the planned fault as a simulated day ends."""

    def __init__(self, faults: list[tuple[int, Callable[[], Awaitable[str]]]]):
        super().__init__(io.StringIO())
        self.faults = faults
        self.tasks: list[asyncio.Task[str]] = []

    def advance(self, done: int, day: date, commands: int) -> None:
        super().advance(done, day, commands)
        self.tasks += [asyncio.create_task(fault()) for after, fault in self.faults
                       if after == done]

    async def survived(self) -> list[str]:
        """What each fault did, once all are over."""
        return list(await asyncio.gather(*self.tasks))


@dataclass
class Platform:
    """The infrastructure, the service processes and the demo's driver and gateway."""

    infra: Any
    endpoints: Any
    processes: ServiceProcesses
    driver: DemoDriver
    gateway: RecordingGateway
    periods: list[str]
    survived: list[str] = field(default_factory=list)

    def database(self, service: str) -> str:
        return self.endpoints.database_url(
            importlib.import_module(SERVICE_MODULES[service]).DATABASE)

    # --- faults -------------------------------------------------------------------------------
    def kill(self, *services: str) -> Callable[[], Awaitable[str]]:
        """SIGKILL `services` in the middle of the stream, and start them again a moment
        later."""
        async def fault() -> str:
            for service in services:
                self.processes.kill(service)
            await asyncio.sleep(DOWN_SECONDS)
            for service in services:
                self.processes.start(service)
            return f"SIGKILL {', '.join(services)}"
        return fault

    def postgres_outage(self) -> Callable[[], Awaitable[str]]:
        """Stop PostgreSQL under the running services and start it again."""
        async def fault() -> str:
            await self.infra.stop_postgres()
            await asyncio.sleep(OUTAGE_SECONDS)
            await self.infra.start_postgres()
            await self.driver.close_engines()  # the driver's pooled connections died with it
            return "PostgreSQL stopped and restarted"
        return fault

    def kill_relay_with_backlog(self, service: str) -> Callable[[], Awaitable[str]]:
        """SIGKILL `service` at a moment its outbox holds rows its relay has not published."""
        async def fault() -> str:
            from kinerja_events.db import make_engine

            engine = make_engine(self.database(service))
            try:
                unsent = await on_connection(engine, lambda conn: wait_for_unsent(conn))
            finally:
                await engine.dispose()
            self.processes.kill(service)
            await asyncio.sleep(DOWN_SECONDS)
            self.processes.start(service)
            return f"SIGKILL {service} with {len(unsent)} event(s) unpublished"
        return fault


async def wait_for_unsent(conn: Any, seconds: float = 120.0) -> list[UUID]:
    """The event ids of the outbox's unsent rows, as soon as there are some."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = await conn.fetch("SELECT event_id FROM outbox WHERE sent_at IS NULL")
        if rows:
            return [row[0] for row in rows]
        await asyncio.sleep(0.002)
    raise TimeoutError("the relay never had a backlog to be killed with")


@pytest.fixture(scope="module")
async def platform():  # type: ignore[no-untyped-def]
    from kinerja_payroll.bootstrap import load_config

    periods = demo_periods(datetime.now(WIB).date())[-2:]  # two months hold every fault
    async with temporary_infra("kinerja-faults-") as infra:
        with endpoints_file(infra) as endpoints:
            processes = ServiceProcesses(infra.data_dir)
            processes.start_all()
            for name in SERVICE_MODULES:
                await processes.wait_started(name)
            config = load_config({"KINERJA_DATA_DIR": str(infra.data_dir)})
            driver = DemoDriver(endpoints, lambda service: endpoints.database_url(
                importlib.import_module(SERVICE_MODULES[service]).DATABASE), config, 1,
                Progress(io.StringIO()))
            gateway = RecordingGateway(endpoints.kafka_bootstrap, signing_keys({}),
                                       resend_after=RESEND_AFTER, give_up=240)
            await gateway.start()
            try:
                await driver.import_organisation(date.fromisoformat(f"{periods[0]}-01"))
                await driver.agree_skps(periods, gateway, Driven(periods))
                yield Platform(infra, endpoints, processes, driver, gateway, periods)
            finally:
                await gateway.stop()
                await driver.close_engines()
                processes.stop_all()


async def live_month(platform: Platform, period: str, quota: dict[str, int],
                     faults: list[tuple[int, Callable[[], Awaitable[str]]]]) -> None:
    """Simulate `period` with `faults` on the way, and close it."""
    progress = FaultyDays(faults)
    platform.driver.progress = progress
    await platform.driver.simulate(period, quota, platform.gateway, Driven([period]))
    platform.survived += await progress.survived()
    await platform.driver.close(period)


@pytest.fixture(scope="module")
async def first_month(platform: Platform) -> str:
    """The first month, lived through a SIGKILL of every service and a PostgreSQL outage."""
    period = platform.periods[0]
    await live_month(platform, period, {}, [
        (2, platform.kill("attendance", "worklog", "payroll", "mkd")),
        (8, platform.postgres_outage()),
        (day_before(platform, period, {}, "appraisal"), platform.kill("appraisal")),
    ])
    return period


@pytest.fixture(scope="module")
async def second_month(platform: Platform, first_month: str) -> str:
    """The second month, with MKD days earned by the first: the MKD service killed amid its
    requests, payroll with it, and attendance and worklog each killed at a moment its outbox
    held events its relay had not published."""
    period = platform.periods[1]
    quota = await platform.driver.eligibility_after(first_month)
    assert any(quota.values()), "the first month earned no MKD day"
    await live_month(platform, period, quota, [
        (1, platform.kill_relay_with_backlog("attendance")),
        (2, platform.kill_relay_with_backlog("worklog")),
        (day_before(platform, period, quota, "mkd"), platform.kill("mkd", "payroll")),
    ])
    return period


def day_before(platform: Platform, period: str, quota: dict[str, int], service: str) -> int:
    """The number of the simulated day after which comes the first day with commands to
    `service` (a fault then hits them in flight)."""
    from kinerja_cli.demo import simulate_month

    days = simulate_month(platform.driver.org, period, quota)
    return next(n for n, day in enumerate(days) if n > 0 and any(
        send.service == service for wave in day.waves for send in wave.sends))


# --- what must hold after every fault ------------------------------------------------------------
async def fetch(platform: Platform, service: str, query: str, *args: Any) -> list[Any]:
    from kinerja_events.db import make_engine

    engine = make_engine(platform.database(service))
    try:
        return await on_connection(engine, lambda conn: conn.fetch(query, *args))
    finally:
        await engine.dispose()


async def assert_every_command_has_exactly_one_outcome(platform: Platform) -> int:
    """Each command the gateway sent has one stored outcome, and the events caused by it are
    exactly that outcome's (a command decided twice would add events); how many commands."""
    checked = 0
    for service in COMMAND_SERVICES:
        sent = sorted(platform.gateway.sent[service])
        stored = {row[0]: set(row[1]) for row in await fetch(
            platform, service, "SELECT command_id, event_ids FROM commands "
                               "WHERE command_id = ANY($1::uuid[])", sent)}
        assert not set(sent) - stored.keys(), (
            f"{service}: {len(set(sent) - stored.keys())} acknowledged command(s) without an "
            "outcome")
        caused: dict[UUID, set[UUID]] = defaultdict(set)
        for row in await fetch(platform, service,
                               "SELECT (envelope->>'causation_id')::uuid, event_id FROM events "
                               "WHERE envelope->>'causation_id' = ANY($1::text[])",
                               [str(c) for c in sent]):
            caused[row[0]].add(row[1])
        doubled = [c for c in sent if caused.get(c, set()) != stored[c]]
        assert not doubled, f"{service}: {len(doubled)} command(s) with events beside their " \
                            f"outcome, e.g. {doubled[0]}"
        checked += len(sent)
    return checked


async def assert_payroll_holds_every_fact_once(platform: Platform) -> int:
    """Payroll's facts from each service are exactly the events of the service's store it
    keeps: none lost, none extra; how many."""
    held = 0
    for service in COMMAND_SERVICES:
        recorded = {row[0] for row in await fetch(
            platform, service, "SELECT event_id FROM events WHERE NOT (type = ANY($1::text[]))",
            list(PAYROLL_TYPES_IGNORED))}
        kept = {row[0] for row in await fetch(
            platform, "payroll", "SELECT event_id FROM facts WHERE envelope->>'source' = $1",
            service)}
        assert recorded - kept == set(), f"payroll lacks {len(recorded - kept)} {service} fact(s)"
        assert kept - recorded == set(), f"payroll holds {len(kept - recorded)} {service} " \
                                         "fact(s) its store never recorded"
        held += len(kept)
    return held


def run_kinerja(platform: Platform, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(kinerja(*arguments), env=platform_environment(platform.infra.data_dir),
                          capture_output=True, text=True, timeout=CLI_SECONDS)


def audit_verify(platform: Platform, period: str) -> dict[str, Any]:
    """`kinerja audit verify PERIOD --json` on a fresh export of the running platform."""
    done = run_kinerja(platform, "audit", "verify", period, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


async def closes(platform: Platform) -> dict[str, tuple[str, int]]:
    """Each closed month's digest and total."""
    return {row[0]: (row[1], row[2]) for row in await fetch(
        platform, "payroll", "SELECT period, digest, total_rupiah FROM closes")}


async def assert_platform_whole(platform: Platform) -> None:
    await assert_every_command_has_exactly_one_outcome(platform)
    await assert_payroll_holds_every_fact_once(platform)
    for period, (digest, total) in (await closes(platform)).items():
        verdict = audit_verify(platform, period)
        assert verdict["match"] and not verdict["findings"], verdict
        assert (verdict["digest"], verdict["total_rupiah"]) == (digest, total)


# --- the tests ---------------------------------------------------------------------------------
async def test_every_service_killed_mid_stream_and_postgresql_restarted_lose_and_double_nothing(
        platform: Platform, first_month: str) -> None:
    assert sorted(platform.processes.kills) == sorted(SERVICE_MODULES)
    assert "PostgreSQL stopped and restarted" in platform.survived
    commands = await assert_every_command_has_exactly_one_outcome(platform)
    facts = await assert_payroll_holds_every_fact_once(platform)
    assert commands > 3000 and facts > 3000
    digest, total = (await closes(platform))[first_month]
    verdict = audit_verify(platform, first_month)
    assert verdict["match"], verdict["differences"][:5]
    assert (verdict["digest"], verdict["total_rupiah"]) == (digest, total)
    assert total > 0


async def test_a_relay_killed_with_events_unpublished_and_mkd_killed_amid_its_requests_lose_nothing(
        platform: Platform, second_month: str) -> None:
    unpublished = [s for s in platform.survived if "unpublished" in s]
    assert len(unpublished) == 2, platform.survived
    assert platform.gateway.sent["mkd"], "the second month sent no MKD command"
    await assert_platform_whole(platform)


async def test_a_consumer_a_day_behind_decides_every_command_as_of_its_record_timestamp(
        platform: Platform, second_month: str) -> None:
    """Attendance is stopped while a day of check-ins arrives; started again 26 hours later
    (by the record timestamps), it records each at the time the gateway received it — judged by
    its own clock, every one would be refused as too old."""
    check_ins = accepted_office_check_ins(platform)[:20]
    received = datetime.now(WIB) - timedelta(hours=26)
    late = [c.model_copy(update={"command_id": uuid.uuid4(), "sent_at": received,
                                 "at": received - timedelta(seconds=30)}) for c in check_ins]
    platform.processes.stop("attendance")
    for command in late:
        await platform.gateway.send("attendance", command, received_at=received)
    await platform.gateway.producer.flush()
    platform.processes.start("attendance")
    outcomes = await platform.gateway.decide([("attendance", c, received) for c in late])

    decided = [o for c in late for o in outcomes[c.command_id]]
    assert [o.type for o in decided] == ["CheckedIn"] * len(late)
    assert {datetime.fromisoformat(o.data["received_at"]) for o in decided} == {
        received.replace(microsecond=received.microsecond // 1000 * 1000)}
    await assert_every_command_has_exactly_one_outcome(platform)


async def test_a_lost_broker_is_rebuilt_from_the_event_stores_and_no_close_changes(
        platform: Platform, second_month: str) -> None:
    """The broker is lost and an empty one takes its place; the services are restarted (their
    consumers' positions belonged to the lost one) and `kinerja bus rebuild` publishes every
    history again; the consumers' inboxes make it a no-op; a command after it is decided and
    reaches payroll."""
    before = await closes(platform)
    check_in = accepted_office_check_ins(platform)[0]
    facts_before = await fetch(platform, "payroll", "SELECT count(*) FROM facts")
    await platform.gateway.stop()
    platform.processes.stop_all()
    await platform.infra.replace_broker()
    platform.processes.start_all()
    for name in SERVICE_MODULES:
        await platform.processes.wait_started(name)

    done = run_kinerja(platform, "bus", "rebuild", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    rebuilt = json.loads(done.stdout)
    assert rebuilt["hr_facts"] > 29 and all(rebuilt["republished"][s] > 0
                                            for s in COMMAND_SERVICES)
    assert not any(rebuilt["unpublished"].values())
    for topic in ("kinerja.attendance", "kinerja.worklog", "kinerja.appraisal", "kinerja.mkd",
                  "kinerja.hr"):
        try:
            await group_caught_up(platform.endpoints.kafka_bootstrap, "payroll-facts", topic,
                                  timeout=120)
        except TimeoutError:
            raise AssertionError(f"payroll never caught up with {topic} after the rebuild:\n"
                                 + platform.processes.log_tail("payroll")) from None

    assert await fetch(platform, "payroll", "SELECT count(*) FROM facts") == facts_before
    assert await closes(platform) == before
    sent = platform.gateway.sent
    platform.gateway = RecordingGateway(platform.endpoints.kafka_bootstrap, signing_keys({}),
                                        resend_after=RESEND_AFTER, give_up=240)
    platform.gateway.sent = sent
    await platform.gateway.start()
    await assert_a_new_check_in_is_decided_and_reaches_payroll(platform, check_in)
    await assert_platform_whole(platform)


async def assert_a_new_check_in_is_decided_and_reaches_payroll(platform: Platform,
                                                               original: Any) -> None:
    now = datetime.now(WIB)
    command = original.model_copy(update={"command_id": uuid.uuid4(), "sent_at": now,
                                          "at": now - timedelta(seconds=5)})
    outcome = (await platform.gateway.decide([("attendance", command, now)]))[command.command_id]
    assert [o.type for o in outcome] == ["CheckedIn"]
    await platform.driver.wait_handled("payroll", "payroll-facts", [outcome[0].event_id],
                                       "payroll to take in the check-in after the rebuild")


def accepted_office_check_ins(platform: Platform) -> list[Any]:
    """One check-in at the office the platform recorded in the second month, per employee."""
    from kinerja_cli.demo import simulate_month

    days = simulate_month(platform.driver.org, platform.periods[1], {})
    seen: dict[str, Any] = {}
    for send in (s for day in days for wave in day.waves for s in wave.sends):
        command = send.command
        if (command.type == "CheckIn" and command.mode == "office"
                and command.actor_nip not in seen
                and [o.type for o in platform.gateway.outcomes.get(command.command_id, [])]
                == ["CheckedIn"]):
            seen[command.actor_nip] = command
    return list(seen.values())
