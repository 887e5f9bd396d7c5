"""The attendance service end to end through the real broker and PostgreSQL.

A signed gateway command goes in on `kinerja.commands.attendance`; the fact (or its rejection)
comes out on `kinerja.attendance`, keyed by the employee's NIP.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from kinerja_attendance.bootstrap import AttendanceConfig, build_service
from kinerja_attendance.handlers import Keys
from kinerja_attendance.projection import count_held, kept
from kinerja_events.db import commands as command_table
from kinerja_events import commands as cmd
from kinerja_events import events as ev
from kinerja_events import topics
from kinerja_events.codec import make_codec
from kinerja_events.observability import make_registry
from kinerja_events.outbox import make_producer
from kinerja_events.publishing import envelope_of, publish_envelopes, send_command
from kinerja_events.types import WIB


GATEWAY_KEY = b"test-gateway-key"
HR_KEY = b"test-hr-key"
OFFICE = ev.OfficeRegistered(office_id="GS-T", name="Gedung Sate", lat=-6.902481,
                             lon=107.618810, radius_m=200)
DESK = ev.PositionDefined(position_code="DESK-T", name="Analis", kelas_jabatan=9, mobile=False,
                          public_service=False, tasks=[])
FIELD = ev.PositionDefined(position_code="FIELD-T", name="Pengawas", kelas_jabatan=7,
                           mobile=True, public_service=False, tasks=[])


@pytest.fixture(scope="module")
async def service(infra, tmp_path_factory):
    registry = make_registry()
    url = await infra.create_database(f"att_{uuid.uuid4().hex[:12]}")
    svc = await build_service(infra.kafka_bootstrap, url, AttendanceConfig(
        keys=Keys(GATEWAY_KEY, HR_KEY)), registry, group_prefix=f"att-{uuid.uuid4().hex[:8]}")
    await svc.start()
    svc.registry = registry
    yield svc
    await svc.stop()


@pytest.fixture(scope="module")
async def producer(infra):
    p = make_producer(infra.kafka_bootstrap)
    await p.start()
    yield p
    await p.stop()


def random_nip() -> str:
    return "19" + "".join(random.choices("0123456789", k=16))


def now() -> datetime:
    return datetime.now(WIB).replace(microsecond=0)


async def register(producer, service, nip: str, position: ev.PositionDefined = DESK,
                   terminated: date | None = None) -> None:
    """Publish the HR facts of one employee and wait until the service has them."""
    at = now() - timedelta(days=1)
    facts = [
        envelope_of(OFFICE, source="hr", stream_id="office:GS-T", occurred_at=at),
        envelope_of(position, source="hr", stream_id=f"position:{position.position_code}",
                    occurred_at=at),
        envelope_of(ev.EmployeeRegistered(nip=nip, name="Uji", position_code=position.position_code,
                                          unit="Biro", office_id="GS-T", superior_nip=None,
                                          effective_date=date(2026, 1, 1)),
                    source="hr", stream_id=f"employee:{nip}", occurred_at=at),
    ]
    if terminated:
        facts.append(envelope_of(ev.EmployeeTerminated(nip=nip, effective_date=terminated),
                                 source="hr", stream_id=f"employee:{nip}", stream_version=2,
                                 occurred_at=at))
    await publish_envelopes(producer, make_codec(), facts)
    await wait_for_reference(service, facts)


async def wait_for_reference(service, envelopes: list, timeout: float = 60) -> None:
    """Until the service holds every one of `envelopes` (office and position facts travel on
    partitions of their own, so they may arrive after the employee's)."""
    async with asyncio.timeout(timeout):
        while True:
            async with service.engine.connect() as conn:
                if await conn.scalar(count_held(envelopes)) == kept(envelopes):
                    return
            await asyncio.sleep(0.1)


def check(kind=cmd.CheckIn, nip: str = "", **fields) -> cmd.CheckIn | cmd.CheckOut:
    values = dict(command_id=uuid.uuid4(), actor_nip=nip, sent_at=now(), at=now(),
                  lat=OFFICE.lat, lon=OFFICE.lon, accuracy_m=10, mode="office",
                  mock_location=False)
    values.update(fields)
    return kind(**values)


async def outcome_of(read_topic, command_id: uuid.UUID, *, count: int = 1) -> list[dict]:
    """The `kinerja.attendance` events caused by `command_id` (waits for `count`)."""
    def caused(records):
        return [json.loads(r.value) for r in records
                if json.loads(r.value)["causation_id"] == str(command_id)]

    records = await read_topic(topics.ATTENDANCE, until=lambda rs: len(caused(rs)) >= count)
    return caused(records)


async def test_a_check_in_inside_the_office_radius_becomes_checked_in_keyed_by_nip(
        service, producer, read_topic):
    nip = random_nip()
    await register(producer, service, nip)
    command = check(nip=nip)
    await send_command(producer, "attendance", command, GATEWAY_KEY)
    [event] = await outcome_of(read_topic, command.command_id)
    assert event["type"] == "CheckedIn"
    assert event["data"]["nip"] == nip and event["data"]["office_id"] == "GS-T"
    assert event["stream_id"] == f"employee:{nip}"
    records = await read_topic(topics.ATTENDANCE, until=lambda rs: any(
        r.key == nip.encode() for r in rs))
    assert any(json.loads(r.value)["event_id"] == event["event_id"] for r in records
               if r.key == nip.encode())


REFUSALS = [
    ("outside_geofence", dict(lat=OFFICE.lat + 0.01), False),
    ("mode_not_allowed", dict(mode="field"), False),
    ("no_mkd_grant", dict(mode="mkd"), True),
    ("mock_location", dict(mock_location=True), False),
    ("poor_accuracy", dict(accuracy_m=500), False),
    ("device_time_in_future", dict(at=now() + timedelta(hours=2)), False),
    ("device_time_too_old", dict(at=now() - timedelta(hours=30)), False),
]


@pytest.mark.parametrize("reason,fields,retryable", REFUSALS, ids=[r[0] for r in REFUSALS])
async def test_each_refused_check_in_is_published_as_a_rejection_with_its_reason(
        service, producer, read_topic, reason, fields, retryable):
    nip = random_nip()
    await register(producer, service, nip)
    command = check(nip=nip, **fields)
    await send_command(producer, "attendance", command, GATEWAY_KEY)
    [event] = await outcome_of(read_topic, command.command_id)
    assert event["type"] == "CheckInRejected"
    assert event["data"]["reason"] == reason
    assert event["data"]["retryable"] is retryable
    assert event["data"]["command_id"] == str(command.command_id)


async def test_an_unknown_employee_is_refused_as_retryable(service, producer, read_topic):
    command = check(nip=random_nip())
    await send_command(producer, "attendance", command, GATEWAY_KEY)
    [event] = await outcome_of(read_topic, command.command_id)
    assert (event["data"]["reason"], event["data"]["retryable"]) == ("unknown_employee", True)


async def test_a_terminated_employee_is_refused(service, producer, read_topic):
    nip = random_nip()
    await register(producer, service, nip, terminated=date(2026, 2, 1))
    command = check(nip=nip)
    await send_command(producer, "attendance", command, GATEWAY_KEY)
    [event] = await outcome_of(read_topic, command.command_id)
    assert event["data"]["reason"] == "employee_terminated"


async def test_a_field_check_in_of_a_mobile_position_is_accepted_anywhere(
        service, producer, read_topic):
    nip = random_nip()
    await register(producer, service, nip, position=FIELD)
    command = check(nip=nip, mode="field", lat=-6.95, lon=107.70)
    await send_command(producer, "attendance", command, GATEWAY_KEY)
    [event] = await outcome_of(read_topic, command.command_id)
    assert event["type"] == "CheckedIn" and event["data"]["office_id"] is None


async def test_a_check_out_without_a_check_in_that_day_is_refused(service, producer, read_topic):
    nip = random_nip()
    await register(producer, service, nip)
    command = check(cmd.CheckOut, nip=nip)
    await send_command(producer, "attendance", command, GATEWAY_KEY)
    [event] = await outcome_of(read_topic, command.command_id)
    assert (event["data"]["reason"], event["data"]["action"]) == (
        "check_out_without_check_in", "check_out")


async def test_a_jump_faster_than_any_vehicle_is_refused(service, producer, read_topic):
    nip = random_nip()
    await register(producer, service, nip, position=FIELD)
    first = check(nip=nip, mode="field", at=now() - timedelta(minutes=10))
    await send_command(producer, "attendance", first, GATEWAY_KEY)
    await outcome_of(read_topic, first.command_id)
    jump = check(cmd.CheckOut, nip=nip, mode="field", lat=-7.80, lon=110.36)  # Yogyakarta
    await send_command(producer, "attendance", jump, GATEWAY_KEY)
    [event] = await outcome_of(read_topic, jump.command_id)
    assert event["data"]["reason"] == "impossible_travel"


async def test_the_same_command_twice_gives_one_event(service, producer, read_topic):
    nip = random_nip()
    await register(producer, service, nip)
    command = check(nip=nip)
    await send_command(producer, "attendance", command, GATEWAY_KEY)
    await send_command(producer, "attendance", command, GATEWAY_KEY)
    sentinel = check(cmd.CheckOut, nip=nip, at=now() + timedelta(seconds=1))
    await send_command(producer, "attendance", sentinel, GATEWAY_KEY)
    await outcome_of(read_topic, sentinel.command_id)
    events = await outcome_of(read_topic, command.command_id)
    assert [e["type"] for e in events] == ["CheckedIn"]


def refused(service, reason: str) -> float:
    return service.registry.get_sample_value(
        "kinerja_commands_refused_total", {"service": "attendance", "reason": reason}) or 0


async def test_an_unsigned_or_malformed_command_changes_nothing_and_is_counted(
        service, producer, read_topic):
    nip = random_nip()
    await register(producer, service, nip)
    before = {r: refused(service, r) for r in ("bad_signature", "not_json")}
    forged = check(nip=nip)
    await send_command(producer, "attendance", forged, b"not-the-gateway-key")
    await send_command(producer, "attendance", forged, GATEWAY_KEY, body=b"{not json")
    hr_signed_checkin = check(nip=nip)
    await send_command(producer, "attendance", hr_signed_checkin, HR_KEY)
    sentinel = check(nip=nip)
    await send_command(producer, "attendance", sentinel, GATEWAY_KEY)
    # All four travel on the employee's partition, in order: once the sentinel's outcome is
    # on the topic, an outcome of the others would be there before it.
    await outcome_of(read_topic, sentinel.command_id)
    records = await read_topic(topics.ATTENDANCE, until=lambda rs: any(
        json.loads(r.value)["causation_id"] == str(sentinel.command_id) for r in rs))
    caused = {json.loads(r.value)["causation_id"] for r in records}
    assert str(forged.command_id) not in caused
    assert str(hr_signed_checkin.command_id) not in caused
    async with service.engine.connect() as conn:
        stored = await conn.scalar(select(func.count()).select_from(command_table).where(
            command_table.c.command_id.in_([forged.command_id, hr_signed_checkin.command_id])))
    assert stored == 0
    assert refused(service, "bad_signature") == before["bad_signature"] + 2
    assert refused(service, "not_json") == before["not_json"] + 1


async def test_leave_from_hr_is_recorded_and_an_overlapping_one_refused(
        service, producer, read_topic):
    nip = random_nip()
    await register(producer, service, nip)
    hr_officer = random_nip()
    first = cmd.RecordLeave(command_id=uuid.uuid4(), actor_nip=hr_officer, sent_at=now(),
                            leave_id="CUTI-1", nip=nip, kind="annual",
                            start_date=date(2026, 10, 5), end_date=date(2026, 10, 7))
    await send_command(producer, "attendance", first, HR_KEY)
    [event] = await outcome_of(read_topic, first.command_id)
    assert event["type"] == "LeaveRecorded" and event["data"]["leave_id"] == "CUTI-1"
    overlapping = first.model_copy(update={"command_id": uuid.uuid4(), "leave_id": "CUTI-2",
                                           "start_date": date(2026, 10, 7),
                                           "end_date": date(2026, 10, 9)})
    await send_command(producer, "attendance", overlapping, HR_KEY)
    row = await stored_outcome(service, overlapping.command_id)
    assert (row.reason, row.retryable, row.event_ids) == ("overlapping_leave", False, [])


async def stored_outcome(service, command_id: uuid.UUID):
    """The `commands` row of `command_id`, once the service has decided it."""
    async with asyncio.timeout(60):
        while True:
            async with service.engine.connect() as conn:
                row = (await conn.execute(select(command_table).where(
                    command_table.c.command_id == command_id))).first()
            if row is not None:
                return row
            await asyncio.sleep(0.1)


async def test_decided_check_ins_are_counted_by_mode_and_reason(service, producer, read_topic):
    nip = random_nip()
    await register(producer, service, nip)
    before = service.registry.get_sample_value(
        "kinerja_attendance_checks_total",
        {"action": "check_in", "mode": "office", "outcome": "rejected",
         "reason": "outside_geofence"}) or 0
    command = check(nip=nip, lat=OFFICE.lat + 0.02)
    await send_command(producer, "attendance", command, GATEWAY_KEY)
    await outcome_of(read_topic, command.command_id)
    after = service.registry.get_sample_value(
        "kinerja_attendance_checks_total",
        {"action": "check_in", "mode": "office", "outcome": "rejected",
         "reason": "outside_geofence"})
    assert after == before + 1
    assert service.registry.get_sample_value(
        "kinerja_pipeline_batch_seconds_count", {"service": "attendance"}) >= 1
