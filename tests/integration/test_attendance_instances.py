"""Two attendance instances on one database: a command reads only the events appended since its
instance's cached fold of the stream, and still decides on everything the other one recorded.

Pipelines are driven directly with records (signed bodies with a record timestamp, as the
consumer hands them over), on the real PostgreSQL, so the assertions are about the store and the
cache, not the broker.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from kinerja_attendance.bootstrap import load_config
from kinerja_attendance.decider import AttendanceDecider
from kinerja_attendance.handlers import SOURCE, Keys, command_models
from kinerja_attendance.projection import (
    AttendanceReference,
    create_tables,
    keep_reference_fact,
)
from kinerja_events import commands as cmd
from kinerja_events import events as ev
from kinerja_events.codec import make_codec
from kinerja_events.db import commands as command_table
from kinerja_events.db import create_schema, make_engine
from kinerja_events.observability import make_registry
from kinerja_events.pipeline import CommandPipeline
from kinerja_events.publishing import command_body, envelope_of, timestamp_ms
from kinerja_events.resilience import Health
from kinerja_events.signing import SIGNATURE_HEADER, sign
from kinerja_events.store import PostgresEventStore
from kinerja_events.types import WIB

pytestmark = pytest.mark.integration

GATEWAY_KEY = b"instances-gateway-key"
NIP = "198001012010011001"
OFFICE = ev.OfficeRegistered(office_id="GS-I", name="Gedung Sate", lat=-6.902481,
                             lon=107.618810, radius_m=200)
ELSEWHERE = ev.OfficeRegistered(office_id="DISDIK", name="Dinas Pendidikan", lat=-6.91,
                                lon=107.60, radius_m=150)
DESK = ev.PositionDefined(position_code="DESK-I", name="Analis", kelas_jabatan=9, mobile=False,
                          public_service=False, tasks=[])
MOBILE = ev.PositionDefined(position_code="FIELD-I", name="Pengawas", kelas_jabatan=7,
                            mobile=True, public_service=False, tasks=[])
MORNING = datetime(2026, 10, 5, 7, 0, tzinfo=WIB)


@pytest.fixture
async def engine(new_database):
    engine = make_engine(await new_database())
    await create_schema(engine)
    await create_tables(engine)
    codec = make_codec()
    at = MORNING - timedelta(days=30)
    reference = [envelope_of(fact, source="hr", stream_id=stream, occurred_at=at)
                 for fact, stream in ((OFFICE, "office:GS-I"), (ELSEWHERE, "office:DISDIK"),
                                      (DESK, "position:DESK-I"), (MOBILE, "position:FIELD-I"))]
    reference.append(envelope_of(
        ev.EmployeeRegistered(nip=NIP, name="Uji", position_code="DESK-I", unit="Biro",
                              office_id="GS-I", superior_nip=None,
                              effective_date=date(2026, 1, 1)),
        source="hr", stream_id=f"employee:{NIP}", occurred_at=at))
    async with engine.begin() as conn:
        for envelope in reference:
            await keep_reference_fact(conn, codec.decode(codec.encode(envelope)))
    yield engine
    await engine.dispose()


@dataclass(frozen=True)
class Record:
    """What the pipeline reads of a Kafka record."""

    value: bytes
    timestamp: int
    headers: tuple
    topic: str = "kinerja.commands.attendance"
    partition: int = 0
    offset: int = 0
    key: bytes = NIP.encode()


def instance(engine, cache_size: int = 4096) -> CommandPipeline:
    codec = make_codec()
    return CommandPipeline(
        service=SOURCE, engine=engine, codec=codec,
        models=command_models(Keys(GATEWAY_KEY, b"instances-hr-key")),
        decider=AttendanceDecider(), reference=AttendanceReference(codec),
        health=Health(), registry=make_registry(), cache_size=cache_size)


def check_in(kind, at: datetime) -> cmd.CheckIn:
    return kind(command_id=uuid.uuid4(), actor_nip=NIP, sent_at=at, at=at, lat=OFFICE.lat,
                lon=OFFICE.lon, accuracy_m=10, mode="office", mock_location=False)


def record_of(command, received_at: datetime) -> Record:
    body = command_body(command)
    return Record(body, timestamp_ms(received_at),
                  ((SIGNATURE_HEADER, sign(body, GATEWAY_KEY).encode()),))


async def outcome(engine, command) -> list:
    """The events `command` appended (in version order)."""
    async with engine.connect() as conn:
        ids = await conn.scalar(select(command_table.c.event_ids).where(
            command_table.c.command_id == command.command_id))
    events = await PostgresEventStore(engine).read_stream(f"employee:{NIP}")
    return [e for e in events if e.event_id in set(ids or ())]


async def submit(pipeline: CommandPipeline, kind, at: datetime) -> list:
    command = check_in(kind, at)
    await pipeline.handle([record_of(command, at)])
    return await outcome(pipeline.engine, command)


async def test_an_instance_decides_on_what_another_instance_appended_since_its_cache(engine):
    a, b = instance(engine), instance(engine)
    [first] = await submit(a, cmd.CheckIn, MORNING - timedelta(days=3))
    assert first.type == "CheckedIn"
    assert a.streams.get(f"employee:{NIP}")[0] == 1

    [checked_in] = await submit(b, cmd.CheckIn, MORNING)  # the other instance, today
    assert checked_in.type == "CheckedIn" and checked_in.stream_version == 2

    [checked_out] = await submit(a, cmd.CheckOut, MORNING + timedelta(hours=9))
    assert checked_out.type == "CheckedOut"  # a saw b's check-in: no check_out_without_check_in
    assert checked_out.stream_version == 3
    assert a.streams.get(f"employee:{NIP}")[0] == 3


async def test_without_a_cache_an_instance_reads_the_whole_stream_and_decides_the_same(engine):
    assert load_config({"KINERJA_ATTENDANCE_STREAM_CACHE": "0"}).stream_cache_size == 0
    a = instance(engine, cache_size=0)
    [checked_in] = await submit(a, cmd.CheckIn, MORNING)
    [checked_out] = await submit(a, cmd.CheckOut, MORNING + timedelta(hours=9))
    assert (checked_in.type, checked_out.type) == ("CheckedIn", "CheckedOut")
    assert checked_out.stream_version == 2 and a.streams.entries == {}


async def test_a_repeated_command_leaves_the_cache_at_the_streams_own_version(engine):
    a = instance(engine)
    command = check_in(cmd.CheckIn, MORNING)
    await a.handle([record_of(command, MORNING)])
    await a.handle([record_of(command, MORNING)])
    [event] = await outcome(engine, command)
    assert event.stream_version == 1
    assert a.streams.get(f"employee:{NIP}")[0] == 1
    [out] = await submit(a, cmd.CheckOut, MORNING + timedelta(hours=9))
    assert out.stream_version == 2


async def test_commands_of_one_stream_in_one_batch_each_see_the_ones_before(engine):
    a = instance(engine)
    morning, evening = check_in(cmd.CheckIn, MORNING), check_in(
        cmd.CheckOut, MORNING + timedelta(hours=9))
    await a.handle([record_of(morning, MORNING),
                    record_of(evening, MORNING + timedelta(hours=9))])
    [checked_in], [checked_out] = await outcome(engine, morning), await outcome(engine, evening)
    assert (checked_in.type, checked_in.stream_version) == ("CheckedIn", 1)
    assert (checked_out.type, checked_out.stream_version) == ("CheckedOut", 2)


async def test_a_batch_reads_only_the_offices_and_positions_its_employees_name(engine):
    codec = make_codec()
    reference = AttendanceReference(codec)
    async with engine.connect() as connection:
        conn = (await connection.get_raw_connection()).driver_connection
        batch = await reference.read(conn, [check_in(cmd.CheckIn, MORNING)])
    assert sorted(batch.shared) == ["DESK-I", "GS-I"]  # not DISDIK, not FIELD-I
