"""Two attendance instances on one database: a command reads only the events appended since its
instance's cached fold of the stream, and still decides on everything the other one recorded.

Handlers are driven directly (signed bodies, as the consumer passes them), on the real
PostgreSQL, so the assertions are about the store and the cache, not the broker.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest

from kinerja_attendance.decider import AttendanceLimits
from kinerja_attendance.handlers import CommandHandler, Keys, make_metrics
from kinerja_attendance.bootstrap import load_config
from kinerja_attendance.projection import (
    StreamCache,
    create_tables,
    keep_reference_fact,
    load_reference,
)
from kinerja_events import commands as cmd
from kinerja_events import events as ev
from kinerja_events.codec import make_codec
from kinerja_events.db import create_schema, make_engine
from kinerja_events.observability import make_registry
from kinerja_events.publishing import command_body, envelope_of
from kinerja_events.signing import sign
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


def instance(engine, cache_size: int = 4096) -> CommandHandler:
    codec = make_codec()
    return CommandHandler(engine=engine, store=PostgresEventStore(engine, codec), codec=codec,
                          keys=Keys(GATEWAY_KEY, b"instances-hr-key"), limits=AttendanceLimits(),
                          metrics=make_metrics(make_registry()), streams=StreamCache(cache_size))


async def submit(handler: CommandHandler, kind, at: datetime) -> list:
    command = kind(command_id=uuid.uuid4(), actor_nip=NIP, sent_at=at, at=at, lat=OFFICE.lat,
                   lon=OFFICE.lon, accuracy_m=10, mode="office", mock_location=False)
    body = command_body(command)
    return await handler.handle_message(body, sign(body, GATEWAY_KEY), received_at=at)


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
    command = cmd.CheckIn(command_id=uuid.uuid4(), actor_nip=NIP, sent_at=MORNING, at=MORNING,
                          lat=OFFICE.lat, lon=OFFICE.lon, accuracy_m=10, mode="office",
                          mock_location=False)
    body = command_body(command)
    first = await a.handle_message(body, sign(body, GATEWAY_KEY), received_at=MORNING)
    again = await a.handle_message(body, sign(body, GATEWAY_KEY), received_at=MORNING)
    assert again == first
    assert a.streams.get(f"employee:{NIP}")[0] == 1
    [out] = await submit(a, cmd.CheckOut, MORNING + timedelta(hours=9))
    assert out.stream_version == 2


async def test_a_command_loads_only_the_offices_and_positions_its_employee_names(engine):
    loaded = await load_reference(engine, make_codec(), NIP)
    assert sorted(f.type for f in loaded) == [
        "EmployeeRegistered", "OfficeRegistered", "PositionDefined"]
    assert {getattr(f.data, "office_id", None) for f in loaded} >= {"GS-I"}
    assert "DISDIK" not in {getattr(f.data, "office_id", None) for f in loaded}
    assert "FIELD-I" not in {getattr(f.data, "position_code", None) for f in loaded}
