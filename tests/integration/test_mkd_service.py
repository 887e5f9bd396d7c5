"""MKD end to end through the real broker and PostgreSQL: payroll closes last month → its
eligibility for this month reaches the MKD service → the employee requests days of this month's
first week → the superior grants one → attendance accepts an `mkd` check-in that day and refuses
one the day after → a lower eligibility revokes the granted day → attendance refuses it too.

Commands are received at the simulated moments (record timestamps) of this month's first week.
The module has a broker of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from datetime import date, datetime, time, timedelta

import pytest
from history import NIP_A, NIP_BOSS, History, weekdays

from kinerja_attendance.bootstrap import AttendanceConfig, Keys
from kinerja_attendance.bootstrap import build_service as build_attendance
from kinerja_events import commands as cmd
from kinerja_events import events as ev
from kinerja_events import topics
from kinerja_events.publishing import envelope_of, publish_envelopes
from kinerja_events.store import PostgresEventStore
from kinerja_events.topics import kafka_key
from kinerja_events.types import WIB
from kinerja_mkd.bootstrap import MKDConfig, build_service
from kinerja_mkd.model import mondays_of
from kinerja_payroll.bootstrap import PayrollConfig
from kinerja_payroll.ledger import close_period
from org import codec, decide_commands, http_get, payroll_config, running
from reading import topic_reader

pytestmark = pytest.mark.integration

GATEWAY_KEY = b"test-mkd-gateway-key"
NOW = datetime.now(WIB)
THIS_MONTH = NOW.strftime("%Y-%m")
LAST_MONTH = (NOW.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
MONDAY = mondays_of(THIS_MONTH)[0]
TUESDAY, WEDNESDAY = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=WIB)


@pytest.fixture(scope="module")
async def services(infra, bus, tmp_path_factory):  # type: ignore[no-untyped-def]
    from kinerja_payroll.bootstrap import build_service as build_payroll

    async with contextlib.AsyncExitStack() as stack:
        yield {name: await stack.enter_async_context(running(
                   infra, bus, build, config, f"{name[:3]}_{uuid.uuid4().hex[:12]}"))
               for name, build, config in (
                   ("mkd", build_service, MKDConfig(gateway_key=GATEWAY_KEY)),
                   ("attendance", build_attendance,
                    AttendanceConfig(keys=Keys(GATEWAY_KEY, b"hr"))),
                   ("payroll", build_payroll, payroll_config(tmp_path_factory)))}


def good_month() -> History:
    """NIP_A's perfect last month under NIP_BOSS: on time every weekday, 300 approved minutes a
    day, rated 5 by the superior — four MKD days a week this month (RULES.md §8)."""
    h = History()
    h.position("P7", 7)
    h.position("P9", 9)
    h.employee(NIP_BOSS, "P9", f"{LAST_MONTH}-01")
    h.employee(NIP_A, "P7", f"{LAST_MONTH}-01", superior_nip=NIP_BOSS)
    h.rating(NIP_BOSS, NIP_A, LAST_MONTH, "superior", 5)
    for day in weekdays(LAST_MONTH):
        h.day(NIP_A, day)
        h.work(NIP_A, day, 300)
    return h


async def publish(producer, envelopes: list[dict]) -> None:  # type: ignore[no-untyped-def]
    for e in envelopes:
        await producer.send_and_wait(topics.SOURCE_TOPIC[e["source"]], json.dumps(e).encode(),
                                     key=kafka_key(e["type"], e["data"], e["stream_id"]).encode())


async def held(service, table: str, event_ids: list, timeout: float = 90) -> None:  # type: ignore[no-untyped-def]
    """Until `service` has every one of `event_ids` in `table` (e.g. its reference facts)."""
    wanted = [uuid.UUID(str(i)) for i in event_ids]
    async with asyncio.timeout(timeout):
        while True:
            async with service.engine.connect() as connection:
                conn = (await connection.get_raw_connection()).driver_connection
                count = await conn.fetchval(f"SELECT count(*) FROM {table} "
                                            "WHERE event_id = ANY($1::uuid[])", wanted)
            if count == len(wanted):
                return
            await asyncio.sleep(0.1)


def check_in(day: date, hour: int) -> cmd.CheckIn:
    return cmd.CheckIn(command_id=uuid.uuid4(), actor_nip=NIP_A, sent_at=at(day, hour),
                       at=at(day, hour), lat=-6.2, lon=106.8, accuracy_m=15.0, mode="mkd")


async def test_eligibility_from_a_close_gives_a_grant_that_attendance_honours_until_revoked(
        services, producer, bus):  # type: ignore[no-untyped-def]
    mkd, attendance, payroll = services["mkd"], services["attendance"], services["payroll"]
    read_topic = topic_reader(bus.kafka_bootstrap)
    history = good_month()
    await publish(producer, history.events)
    hr_ids = [e["event_id"] for e in history.events if e["source"] == "hr"]
    await held(payroll, "facts", [e["event_id"] for e in history.events])
    close = await close_period(payroll.engine, PostgresEventStore(payroll.engine), LAST_MONTH,
                               PayrollConfig().rule_file(), NOW)
    [result] = [r for r in close.results if r.nip == NIP_A]
    assert (result.mkd_period, result.mkd_days_per_week) == (THIS_MONTH, 4)

    def is_eligibility(record) -> bool:  # type: ignore[no-untyped-def]
        e = json.loads(record.value)
        return e["type"] == "MKDEligibilityDetermined" and e["data"]["nip"] == NIP_A
    records = await read_topic(topics.PAYROLL, until=lambda rs: any(map(is_eligibility, rs)))
    [eligibility] = [json.loads(r.value) for r in records if is_eligibility(r)]
    await held(mkd, "reference_facts", [*hr_ids, eligibility["event_id"]])
    await held(attendance, "reference_facts", hr_ids)

    request = cmd.RequestMKD(command_id=uuid.uuid4(), actor_nip=NIP_A, sent_at=at(MONDAY, 7),
                             request_id=f"MKD-{uuid.uuid4().hex[:8]}", week_start=MONDAY,
                             days=[TUESDAY, WEDNESDAY])
    by_peer = cmd.DecideMKD(command_id=uuid.uuid4(), actor_nip=NIP_A, sent_at=at(MONDAY, 8),
                            request_id=request.request_id, grant=True)
    grant = cmd.DecideMKD(command_id=uuid.uuid4(), actor_nip=NIP_BOSS, sent_at=at(MONDAY, 8),
                          request_id=request.request_id, grant=True, days=[TUESDAY])
    decided = await decide_commands(
        producer, read_topic, "mkd", GATEWAY_KEY, [request, by_peer, grant],
        ("MKDRequested", "MKDGranted", "MKDDenied", "MKDRefused"),
        [at(MONDAY, 7), at(MONDAY, 8), at(MONDAY, 8, 5)])
    assert decided[request.command_id]["type"] == "MKDRequested"
    assert decided[by_peer.command_id]["data"]["reason"] == "own_request"
    granted = decided[grant.command_id]
    assert (granted["type"], granted["data"]["days"]) == ("MKDGranted", [TUESDAY.isoformat()])

    await held(attendance, "reference_facts", [granted["event_id"]])
    checks = [check_in(TUESDAY, 7), check_in(WEDNESDAY, 7)]
    outcomes = await decide_commands(producer, read_topic, "attendance", GATEWAY_KEY, checks,
                                     ("CheckedIn", "CheckInRejected"),
                                     [at(TUESDAY, 7, 1), at(WEDNESDAY, 7, 1)])
    assert outcomes[checks[0].command_id]["type"] == "CheckedIn"
    assert outcomes[checks[0].command_id]["data"]["mode"] == "mkd"
    assert outcomes[checks[1].command_id]["data"]["reason"] == "no_mkd_grant"

    lower = envelope_of(ev.MKDEligibilityDetermined(nip=NIP_A, period=THIS_MONTH,
                                                    days_per_week=0, reasons=["recomputed"]),
                        source="payroll", stream_id=f"mkd-eligibility:{NIP_A}:{THIS_MONTH}",
                        occurred_at=datetime.now(WIB))
    await publish_envelopes(producer, codec, [lower])
    revoked_id = uuid.uuid5(lower.event_id, request.request_id)
    records = await read_topic(topics.MKD, until=lambda rs: any(
        json.loads(r.value)["event_id"] == str(revoked_id) for r in rs))
    [revoked] = [json.loads(r.value) for r in records
                 if json.loads(r.value)["event_id"] == str(revoked_id)]
    assert (revoked["type"], revoked["data"]["days"], revoked["data"]["reason"]) == (
        "MKDRevoked", [TUESDAY.isoformat()], "quota_lowered")
    assert revoked["stream_id"] == f"mkd:{request.request_id}"

    await held(attendance, "reference_facts", [revoked_id])
    again = check_in(TUESDAY, 12)
    outcomes = await decide_commands(producer, read_topic, "attendance", GATEWAY_KEY, [again],
                                     ("CheckedIn", "CheckInRejected"), at(TUESDAY, 12, 1))
    assert outcomes[again.command_id]["data"]["reason"] == "no_mkd_grant"

    weeks = await http_get(mkd, f"/mkd/weeks?nip={NIP_A}&period={THIS_MONTH}")
    first = weeks["weeks"][0]
    assert (first["week_start"], first["quota"], first["granted"], first["revoked"]) == (
        MONDAY.isoformat(), 0, [], [TUESDAY.isoformat()])
    assert mkd.registry.get_sample_value("kinerja_mkd_revocations_total",
                                         {"reason": "quota_lowered"}) == 1
    assert mkd.registry.get_sample_value("kinerja_mkd_outcomes_total", {
        "action": "DecideMKD", "outcome": "granted", "reason": ""}) == 1
    assert (mkd.registry.get_sample_value("kinerja_mkd_granted_days_per_week_count"),
            mkd.registry.get_sample_value("kinerja_mkd_granted_days_per_week_sum")) == (1, 1)
