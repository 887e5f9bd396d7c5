"""The command pipeline under the attendance service, through the real broker and PostgreSQL.

What a user (or an operator) would check: poison messages are refused and counted without
blocking the employee's partition; a batch mixing good and bad commands decides every good one
exactly once; a lagging consumer judges commands by their record timestamps; leave and travel
ids belong to one employee; two instances on one database decide every command once, with gapless
streams; a PostgreSQL outage is waited out with back-off; a message the database refuses is
parked and `kinerja deadletters` replays it.

The broker is shared by the whole test session, and every attendance service started here reads
the command topic from the beginning: each test uses fresh NIPs, fresh consumer groups, and waits
for the exact command ids it sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from structlog.testing import capture_logs

from kinerja_attendance.bootstrap import DATABASE, AttendanceConfig, build_service
from kinerja_attendance.handlers import Keys
from kinerja_attendance.projection import count_held, kept
from kinerja_events import commands as cmd
from kinerja_events import events as ev
from kinerja_events import topics
from kinerja_events.codec import make_codec
from kinerja_events.embedded import EmbeddedInfra
from kinerja_events.observability import make_registry
from kinerja_events.outbox import make_producer
from kinerja_events.publishing import command_body, envelope_of, publish_envelopes, send_command
from kinerja_events.signing import SIGNATURE_HEADER, sign
from kinerja_events.types import WIB
from reading import group_caught_up
from temporary import temporary_infra

pytestmark = pytest.mark.integration

T = TypeVar("T")

COMMANDS = topics.commands_topic("attendance")
GATEWAY_KEY = b"pipeline-gateway-key"
HR_KEY = b"pipeline-hr-key"
OFFICE = ev.OfficeRegistered(office_id="GS-P", name="Gedung Sate", lat=-6.902481,
                             lon=107.618810, radius_m=200)
DESK = ev.PositionDefined(position_code="DESK-P", name="Analis", kelas_jabatan=9, mobile=False,
                          public_service=False, tasks=[])
MiB = 1024 * 1024


# --- builders ---------------------------------------------------------------------------------
def random_nip() -> str:
    return "19" + "".join(random.choices("0123456789", k=16))


def now() -> datetime:
    return datetime.now(WIB).replace(microsecond=0)


def check(kind: type = cmd.CheckIn, nip: str = "", **fields: Any) -> Any:
    """A check-in (or check-out) inside the office's radius, now."""
    values = dict(command_id=uuid.uuid4(), actor_nip=nip, sent_at=now(), at=now(),
                  lat=OFFICE.lat, lon=OFFICE.lon, accuracy_m=10, mode="office",
                  mock_location=False)
    values.update(fields)
    return kind(**values)


def record_leave(nip: str, leave_id: str, start: date, end: date) -> cmd.RecordLeave:
    return cmd.RecordLeave(command_id=uuid.uuid4(), actor_nip=random_nip(), sent_at=now(),
                           leave_id=leave_id, nip=nip, kind="annual", start_date=start,
                           end_date=end)


def record_travel(nip: str, travel_id: str, start: date, end: date) -> cmd.RecordOfficialTravel:
    return cmd.RecordOfficialTravel(command_id=uuid.uuid4(), actor_nip=random_nip(),
                                    sent_at=now(), travel_id=travel_id, nip=nip,
                                    start_date=start, end_date=end)


def signed(body: bytes, key: bytes) -> list[tuple[str, bytes]]:
    """The headers of a body signed with `key`."""
    return [(SIGNATURE_HEADER, sign(body, key).encode())]


def signed_command(command: Any, key: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    body = command_body(command)
    return body, signed(body, key)


# --- waiting ----------------------------------------------------------------------------------
async def eventually(probe: Callable[[], Awaitable[T]], timeout: float = 60) -> T:
    """The first truthy result of `probe()`, polled under `timeout`."""
    async with asyncio.timeout(timeout):
        while not (result := await probe()):
            await asyncio.sleep(0.1)
    return result


def caused_by(command_ids: Iterable[Any], types: Iterable[str] | None = None):
    """(`found`, `until`) for `read_topic`: `found[causation_id][event_id]` is each event on the
    topic caused by one of `command_ids` (of `types`, if given); `until` holds once every one
    of them caused one."""
    wanted = {str(c) for c in command_ids}
    kinds = set(types) if types is not None else None
    found: dict[str, dict[str, dict[str, Any]]] = {}
    read = 0

    def until(records: list) -> bool:
        nonlocal read
        for record in records[read:]:
            event = json.loads(record.value)
            if event.get("causation_id") in wanted and (kinds is None or event["type"] in kinds):
                found.setdefault(event["causation_id"], {})[event["event_id"]] = event
        read = len(records)
        return wanted <= found.keys()

    return found, until


async def outcomes(read_topic, command_ids: Iterable[Any], types: Iterable[str] | None = None,
                   timeout: float = 60) -> dict[str, dict[str, dict[str, Any]]]:
    """The `kinerja.attendance` events of each of `command_ids`, by causation and event id."""
    found, until = caused_by(command_ids, types)
    await read_topic(topics.ATTENDANCE, until=until, timeout=timeout)
    return found


async def only_event(read_topic, command_id: Any, types: Iterable[str] | None = None
                     ) -> dict[str, Any]:
    """The one event `command_id` caused (a redelivery has the same event id)."""
    found = await outcomes(read_topic, [command_id], types)
    [event] = found[str(command_id)].values()
    return event


async def command_rows(engine, command_ids: Iterable[Any]) -> dict[uuid.UUID, list[Any]]:
    """The `commands` rows of `command_ids`, by command id."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT command_id, stream_id, event_ids, reason, retryable FROM commands "
            "WHERE command_id = ANY(:ids)"), {"ids": list(command_ids)})).all()
    found: dict[uuid.UUID, list[Any]] = {}
    for row in rows:
        found.setdefault(row.command_id, []).append(row)
    return found


async def stored_outcome(engine, command_id: uuid.UUID):
    """The `commands` row of `command_id`, once decided."""
    async def probe():
        return (await command_rows(engine, [command_id])).get(command_id)

    [row] = await eventually(probe)
    return row


async def every_command_stored(engine, command_ids: list[uuid.UUID], timeout: float = 60
                               ) -> dict[uuid.UUID, list[Any]]:
    async def probe():
        rows = await command_rows(engine, command_ids)
        return rows if set(command_ids) <= rows.keys() else None

    return await eventually(probe, timeout)


def sample(registry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def refused(registry, reason: str) -> float:
    return sample(registry, "kinerja_commands_refused_total", service="attendance", reason=reason)


def decided(registry, kind: str, outcome: str) -> float:
    return sample(registry, "kinerja_commands_total", service="attendance", type=kind,
                  outcome=outcome)


# --- services and infrastructure --------------------------------------------------------------
@contextlib.asynccontextmanager
async def attendance_instances(bootstrap: str, database_url: str, count: int,
                               group_prefix: str | None = None) -> AsyncIterator[list[Any]]:
    """`count` running attendance instances on one database and one set of consumer groups
    (each with its registry as `.registry`), started together so they join the groups at once."""
    prefix = group_prefix or f"pipe-{uuid.uuid4().hex[:8]}"
    instances = []
    for _ in range(count):
        registry = make_registry()
        instance = await build_service(
            bootstrap, database_url, AttendanceConfig(keys=Keys(GATEWAY_KEY, HR_KEY)), registry,
            group_prefix=prefix)
        instance.registry = registry
        instances.append(instance)
    try:
        await asyncio.gather(*(instance.start() for instance in instances))
        yield instances
    finally:
        for instance in instances:
            await instance.stop()


@contextlib.asynccontextmanager
async def attendance(bootstrap: str, database_url: str, group_prefix: str | None = None
                     ) -> AsyncIterator[Any]:
    """A running attendance service (its registry as `.registry`)."""
    async with attendance_instances(bootstrap, database_url, 1, group_prefix) as [service]:
        yield service


@contextlib.asynccontextmanager
async def separate_postgres() -> AsyncIterator[EmbeddedInfra]:
    """An embedded PostgreSQL server of this test's own (no broker)."""
    async with temporary_infra("kinerja-pg-", kafka=False) as server:
        yield server


async def register(producer, service, nips: Iterable[str]) -> None:
    """Publish the HR facts of employees at the desk of `OFFICE`; wait until `service` holds
    every one (office and position facts travel on partitions of their own)."""
    at = now() - timedelta(days=1)
    facts = [
        envelope_of(OFFICE, source="hr", stream_id="office:GS-P", occurred_at=at),
        envelope_of(DESK, source="hr", stream_id="position:DESK-P", occurred_at=at),
    ]
    facts += [envelope_of(ev.EmployeeRegistered(nip=nip, name="Uji", position_code="DESK-P",
                                                unit="Biro", office_id="GS-P",
                                                superior_nip=None,
                                                effective_date=date(2026, 1, 1)),
                          source="hr", stream_id=f"employee:{nip}", occurred_at=at)
              for nip in nips]
    await publish_envelopes(producer, make_codec(), facts)

    async def held() -> bool:
        async with service.engine.connect() as conn:
            return await conn.scalar(count_held(facts)) == kept(facts)

    await eventually(held)


@pytest.fixture(scope="module")
async def producer(infra):
    """A producer that may send the 4 MiB poison message."""
    p = make_producer(infra.kafka_bootstrap, max_request_size=8 * MiB)
    await p.start()
    yield p
    await p.stop()


@pytest.fixture(scope="module")
async def service(infra):
    """One attendance service for the module, caught up with the command topic's history (so
    the counters a test compares move only by what it sends)."""
    url = await infra.create_database(f"pipe_{uuid.uuid4().hex[:12]}")
    prefix = f"pipe-{uuid.uuid4().hex[:8]}"
    async with attendance(infra.kafka_bootstrap, url, prefix) as svc:
        await group_caught_up(infra.kafka_bootstrap, f"{prefix}-commands", COMMANDS)
        yield svc


# --- 1. poison messages -----------------------------------------------------------------------
def poison_messages(nip: str) -> list[tuple[str, bytes | None, list[tuple[str, bytes]]]]:
    """(reason, body, headers) of each poison message for `nip`'s partition."""
    hr_officer = random_nip()
    leave_with_nul = json.dumps({
        "type": "RecordLeave", "command_id": str(uuid.uuid4()), "actor_nip": hr_officer,
        "sent_at": now().isoformat(), "leave_id": "CUTI-\x00-1", "nip": nip, "kind": "annual",
        "start_date": "2027-01-04", "end_date": "2027-01-05"}).encode()
    assert b"\\u0000" in leave_with_nul
    check_in_fields = command_body(check(nip=nip))
    huge_integer = check_in_fields[:-1] + b', "extra": ' + b"9" * 5000 + b"}"
    four_mib = b'{"type": "CheckIn", "pad": "' + b"x" * (4 * MiB) + b'"}'
    return [
        ("unknown_type", b'{"type": ["CheckIn"]}', []),
        ("too_deep", b"[" * 100_000, signed(b"[" * 100_000, GATEWAY_KEY)),
        ("integer_out_of_range", huge_integer, signed(huge_integer, GATEWAY_KEY)),
        ("nul_character", leave_with_nul, signed(leave_with_nul, HR_KEY)),
        ("too_large", four_mib, signed(four_mib, GATEWAY_KEY)),
        ("empty", b"", signed(b"", GATEWAY_KEY)),
        ("empty", None, []),
        ("not_utf8", b"\xff\xfe{", signed(b"\xff\xfe{", GATEWAY_KEY)),
    ]


async def test_poison_messages_on_an_employees_partition_are_refused_counted_and_do_not_block_it(
        service, producer, read_topic):
    nip = random_nip()
    await register(producer, service, [nip])
    poison = poison_messages(nip)
    reasons = Counter(reason for reason, _, _ in poison)
    before = {reason: refused(service.registry, reason) for reason in reasons}

    for _, body, headers in poison:
        await producer.send_and_wait(COMMANDS, value=body, key=nip.encode(), headers=headers)
    valid = check(nip=nip)
    await send_command(producer, "attendance", valid, GATEWAY_KEY)

    async with asyncio.timeout(30):
        event = await only_event(read_topic, valid.command_id)
    assert event["type"] == "CheckedIn"
    after = {reason: refused(service.registry, reason) for reason in reasons}
    assert {r: after[r] - before[r] for r in reasons} == dict(reasons)
    async with service.engine.connect() as conn:
        stored = (await conn.scalars(text("SELECT command_id FROM commands WHERE stream_id = :s"),
                                     {"s": f"employee:{nip}"})).all()
    assert stored == [valid.command_id]


# --- 2. a mixed batch -------------------------------------------------------------------------
NOT_JSON = b'{"type": "CheckIn", oops'


async def test_a_batch_mixing_good_and_bad_commands_decides_every_good_one_exactly_once(
        service, producer, read_topic):
    nips = [random_nip() for _ in range(20)]
    await register(producer, service, nips)
    key = f"gateway-{uuid.uuid4().hex}".encode()  # one key: one partition, one batch
    before = {(kind, outcome): decided(service.registry, kind, outcome)
              for kind in ("CheckIn", "CheckOut") for outcome in ("accepted", "repeat")}
    refusals = ("bad_signature", "not_json", "unknown_type")
    refused_before = {reason: refused(service.registry, reason) for reason in refusals}

    good: dict[uuid.UUID, str] = {}  # command id -> the event type it must cause
    bad: list[uuid.UUID] = []
    messages: list[tuple[bytes, list[tuple[str, bytes]]]] = []
    for n, nip in enumerate(nips):
        check_in = check(nip=nip)
        check_out = check(cmd.CheckOut, nip=nip)
        forged = check(nip=nip)
        unknown = {"type": "PayBonus", "command_id": str(uuid.uuid4()), "actor_nip": nip}
        good[check_in.command_id] = "CheckedIn"
        good[check_out.command_id] = "CheckedOut"
        bad.append(forged.command_id)
        messages.append(signed_command(check_in, GATEWAY_KEY))
        messages.append((command_body(forged), signed(command_body(forged), b"not-the-key")))
        messages.append((NOT_JSON, signed(NOT_JSON, GATEWAY_KEY)))
        body = json.dumps(unknown).encode()
        messages.append((body, signed(body, GATEWAY_KEY)))
        messages.append(signed_command(check_out, GATEWAY_KEY))
        if n == 3:
            repeated = messages[0]  # the first check-in again, same command id
            messages.append(repeated)
    sent = [await producer.send(COMMANDS, value=body, key=key, headers=headers)
            for body, headers in messages]
    await asyncio.gather(*sent)

    await outcomes(read_topic, good)  # every good one decided
    # The same command once more, in a later batch, then a sentinel behind it.
    await producer.send_and_wait(COMMANDS, value=repeated[0], key=key, headers=repeated[1])
    sentinel = check(cmd.CheckOut, nip=nips[1])
    await producer.send_and_wait(COMMANDS, value=command_body(sentinel), key=key,
                                 headers=signed(command_body(sentinel), GATEWAY_KEY))
    await stored_outcome(service.engine, sentinel.command_id)
    found = await outcomes(read_topic, good)
    assert {c: [e["type"] for e in found[str(c)].values()] for c in good} == {
        c: [kind] for c, kind in good.items()}
    rows = await command_rows(service.engine, [*good, *bad])
    assert {c: len(r) for c, r in rows.items()} == {c: 1 for c in good}
    assert all(len(rows[c][0].event_ids) == 1 and rows[c][0].reason is None for c in good)
    assert decided(service.registry, "CheckIn", "accepted") == (
        before["CheckIn", "accepted"] + 20)
    assert decided(service.registry, "CheckOut", "accepted") == (
        before["CheckOut", "accepted"] + 21)  # with the sentinel
    assert decided(service.registry, "CheckIn", "repeat") >= before["CheckIn", "repeat"] + 2
    assert {r: refused(service.registry, r) - refused_before[r] for r in refusals} == {
        r: 20 for r in refusals}


# --- 3. a lagging consumer --------------------------------------------------------------------
async def test_a_consumer_lagging_two_days_decides_check_ins_by_their_record_timestamps(
        service, producer, read_topic):
    nip = random_nip()
    await register(producer, service, [nip])
    two_days_ago = (datetime.now(WIB) - timedelta(days=2)).date()
    morning = datetime(two_days_ago.year, two_days_ago.month, two_days_ago.day, 7, 30, 0,
                       123_000, tzinfo=WIB)
    evening = morning + timedelta(hours=9)
    check_in = check(nip=nip, at=morning, sent_at=morning)
    check_out = check(cmd.CheckOut, nip=nip, at=evening, sent_at=evening)
    await send_command(producer, "attendance", check_in, GATEWAY_KEY, received_at=morning)
    await send_command(producer, "attendance", check_out, GATEWAY_KEY, received_at=evening)

    checked_in = await only_event(read_topic, check_in.command_id)
    checked_out = await only_event(read_topic, check_out.command_id)
    assert (checked_in["type"], checked_out["type"]) == ("CheckedIn", "CheckedOut")
    assert checked_in["data"]["flags"] == [] and checked_out["data"]["flags"] == []
    assert datetime.fromisoformat(checked_in["data"]["received_at"]) == morning
    assert datetime.fromisoformat(checked_out["data"]["received_at"]) == evening


async def test_a_check_in_two_days_older_than_its_record_timestamp_is_too_old(
        service, producer, read_topic):
    nip = random_nip()
    await register(producer, service, [nip])
    stale = check(nip=nip, at=now() - timedelta(days=2))
    await send_command(producer, "attendance", stale, GATEWAY_KEY, received_at=now())
    event = await only_event(read_topic, stale.command_id)
    assert (event["type"], event["data"]["reason"]) == ("CheckInRejected", "device_time_too_old")


# --- 4. leave and travel ids ------------------------------------------------------------------
async def assert_refused_without_event(service, command: Any, reason: str) -> None:
    row = await stored_outcome(service.engine, command.command_id)
    assert (row.reason, row.event_ids) == (reason, [])
    async with service.engine.connect() as conn:
        events = await conn.scalar(text(
            "SELECT count(*) FROM events WHERE envelope->>'causation_id' = :c"),
            {"c": str(command.command_id)})
    assert events == 0


async def test_a_leave_or_travel_id_reused_for_another_employee_is_refused(service, producer):
    first_employee, second_employee = random_nip(), random_nip()
    leave_id, travel_id = f"CUTI-{uuid.uuid4().hex[:8]}", f"SPT-{uuid.uuid4().hex[:8]}"
    start, end = date(2027, 3, 1), date(2027, 3, 3)
    leave = record_leave(first_employee, leave_id, start, end)
    travel = record_travel(first_employee, travel_id, start, end)
    other_leave = record_leave(second_employee, leave_id, start, end)
    other_travel = record_travel(second_employee, travel_id, start, end)
    for owned in (leave, travel):  # recorded for the first employee before the second asks
        await send_command(producer, "attendance", owned, HR_KEY)
        row = await stored_outcome(service.engine, owned.command_id)
        assert row.reason is None and len(row.event_ids) == 1
    for command in (other_leave, other_travel):
        await send_command(producer, "attendance", command, HR_KEY)

    await assert_refused_without_event(service, other_leave, "leave_of_other_employee")
    await assert_refused_without_event(service, other_travel, "travel_of_other_employee")


async def test_a_leave_over_1096_days_and_a_travel_over_366_days_are_refused(service, producer):
    nip = random_nip()
    start = date(2030, 1, 1)
    longest_leave = record_leave(nip, f"CUTI-{uuid.uuid4().hex[:8]}", start,
                                 start + timedelta(days=1095))
    too_long_leave = record_leave(random_nip(), f"CUTI-{uuid.uuid4().hex[:8]}", start,
                                  start + timedelta(days=1096))
    too_long_travel = record_travel(nip, f"SPT-{uuid.uuid4().hex[:8]}", start,
                                    start + timedelta(days=366))
    for command in (longest_leave, too_long_leave, too_long_travel):
        await send_command(producer, "attendance", command, HR_KEY)

    accepted = await stored_outcome(service.engine, longest_leave.command_id)
    assert accepted.reason is None and len(accepted.event_ids) == 1
    await assert_refused_without_event(service, too_long_leave, "leave_too_long")
    await assert_refused_without_event(service, too_long_travel, "travel_too_long")


# --- 5. two instances on one database ---------------------------------------------------------
def record_decisions(service) -> list[uuid.UUID]:
    """The command ids `service` decides from now on (repeats excluded), in order."""
    seen: list[uuid.UUID] = []
    counted = service.pipeline.on_decided

    def on_decided(outcomes: Any) -> None:
        seen.extend(outcome.received.command.command_id for outcome in outcomes)
        counted(outcomes)

    service.pipeline.on_decided = on_decided
    return seen


async def partitions_split(first, second) -> tuple[list[int], list[int]]:
    """Once the two instances share the command topic's partitions: each one's partitions."""
    async def split():
        a, b = ({tp.partition for tp in s.commands.consumer.assignment()} for s in (first, second))
        return (sorted(a), sorted(b)) if a and b and not a & b and len(a | b) == 3 else None

    return await eventually(split)


@pytest.mark.parametrize("hr_elsewhere", [False, True],
                         ids=["each_employee_on_one_instance", "employees_on_both_instances"])
async def test_two_instances_on_one_database_decide_every_command_exactly_once(
        infra, new_database, producer, hr_elsewhere):
    url = await new_database()
    async with attendance_instances(infra.kafka_bootstrap, url, 2) as (first, second):
        owned = await partitions_split(first, second)
        decisions = [record_decisions(first), record_decisions(second)]
        nips = [random_nip() for _ in range(30)]
        await register(producer, first, nips)

        sends: list[tuple[int, bytes, Any, bytes]] = []  # (partition, key, command, signing key)
        start = now() - timedelta(minutes=20)
        for round_ in range(10):
            for n, nip in enumerate(nips):
                home = n % 3
                other = owned[1][0] if home in owned[0] else owned[0][0]
                if hr_elsewhere and round_ == 4:
                    leave = record_leave(nip, f"CUTI-{uuid.uuid4().hex[:10]}",
                                         date(2027, 1, 4), date(2027, 1, 5))
                    sends.append((other, leave.actor_nip.encode(), leave, HR_KEY))
                elif hr_elsewhere and round_ == 7:
                    travel = record_travel(nip, f"SPT-{uuid.uuid4().hex[:10]}",
                                           date(2027, 2, 1), date(2027, 2, 2))
                    sends.append((other, travel.actor_nip.encode(), travel, HR_KEY))
                else:
                    kind = cmd.CheckIn if round_ % 2 == 0 else cmd.CheckOut
                    command = check(kind, nip=nip, at=start + timedelta(minutes=round_))
                    sends.append((home, nip.encode(), command, GATEWAY_KEY))
        futures = []
        for partition, key, command, signing_key in sends:
            body, headers = signed_command(command, signing_key)
            futures.append(await producer.send(COMMANDS, value=body, key=key, headers=headers,
                                               partition=partition))
        await asyncio.gather(*futures)
        ids = [command.command_id for _, _, command, _ in sends]

        rows = await every_command_stored(first.engine, ids)
        assert {c: len(r) for c, r in rows.items()} == {c: 1 for c in ids}

        async def counted_by_the_instances() -> bool:  # counted just after each commit
            return set(ids) <= {*decisions[0], *decisions[1]}

        await eventually(counted_by_the_instances, timeout=10)
        by_instance = [Counter(c for c in seen if c in rows) for seen in decisions]
        assert by_instance[0] + by_instance[1] == Counter(ids)  # each decided once, by one
        assert by_instance[0] and by_instance[1], "both instances decided commands"
        streams = [{rows[c][0].stream_id for c in counted} for counted in by_instance]
        assert len(streams[0] & streams[1]) == (30 if hr_elsewhere else 0)
        async with first.engine.connect() as conn:
            versions = {row.stream_id: row.versions for row in await conn.execute(text(
                "SELECT stream_id, array_agg(stream_version ORDER BY stream_version) AS versions "
                "FROM events WHERE stream_id = ANY(:s) GROUP BY stream_id"),
                {"s": [f"employee:{nip}" for nip in nips]})}
        assert versions == {f"employee:{nip}": list(range(1, 11)) for nip in nips}
        assert sum(len(r[0].event_ids) for r in rows.values()) == 300


# --- 6. PostgreSQL outage ---------------------------------------------------------------------
async def test_postgresql_stopped_and_restarted_is_waited_out_with_back_off(infra, producer):
    async with separate_postgres() as postgres:
        url = await postgres.create_database("attendance_outage")
        async with attendance(infra.kafka_bootstrap, url) as svc:
            nip = random_nip()
            await register(producer, svc, [nip])
            registry = svc.registry
            labels = dict(service="attendance", dependency="postgresql")
            with capture_logs() as logs:
                await postgres.stop_postgres()
                try:
                    sent = []
                    start = now() - timedelta(minutes=30)
                    for n in range(20):
                        kind = cmd.CheckIn if n % 2 == 0 else cmd.CheckOut
                        command = check(kind, nip=nip, at=start + timedelta(minutes=n))
                        await send_command(producer, "attendance", command, GATEWAY_KEY)
                        sent.append(command.command_id)

                    async def reported_down() -> bool:
                        return "attendance/postgresql" in svc.health.report()["down"]

                    await eventually(reported_down, timeout=15)
                    assert not svc.health.is_up()
                    assert sample(registry, "kinerja_dependency_up", **labels) == 0
                    retries_before = sample(registry, "kinerja_dependency_retries_total", **labels)
                    await asyncio.sleep(5)  # a measuring window, not a wait for a condition
                    retries = sample(registry, "kinerja_dependency_retries_total",
                                     **labels) - retries_before
                    assert retries < 100, f"{retries} retries in 5 s: a hot loop"
                    report = svc.health.report()
                    assert report["services"]["attendance"]["postgresql"]["up"] is False
                finally:
                    await postgres.start_postgres()

                rows = await every_command_stored(svc.engine, sent, timeout=60)
                assert {c: len(r) for c, r in rows.items()} == {c: 1 for c in sent}

                async def reported_up() -> bool:
                    return svc.health.is_up()

                await eventually(reported_up, timeout=30)
            assert sample(registry, "kinerja_dependency_up", **labels) == 1
            transitions = [entry["event"] for entry in logs
                           if entry["event"] in ("dependency_down", "dependency_up")
                           and entry.get("service") == "attendance"
                           and entry.get("dependency") == "postgresql"]
            assert transitions == ["dependency_down", "dependency_up"]


# --- 7. dead letters and `kinerja deadletters` -------------------------------------------------
async def kinerja(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run the `kinerja` CLI; its exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kinerja_cli.main", *args, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def refuse_inserts(engine, table: str, name: str, when: str = "") -> None:
    """Make the database refuse the rows of `table` (matching `when`, if given) with a trigger
    `name` and its function `name`() (COPY fires row triggers): not an outage, a refusal."""
    async with engine.begin() as conn:
        await conn.execute(text(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION 'rows of {table} are refused'; END $$"))
        await conn.execute(text(
            f"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW "
            f"{f'WHEN ({when}) ' if when else ''}EXECUTE FUNCTION {name}()"))


async def refuse_events_of(engine, nip: str) -> None:
    """Make the database refuse every event about `nip`."""
    await refuse_inserts(engine, "events", "refuse_events",
                         when=f"NEW.envelope->'data'->>'nip' = '{nip}'")


@contextlib.asynccontextmanager
async def refusing_one_employee(infra, producer) -> AsyncIterator[tuple[Any, Any, str, str]]:
    """An attendance service on a PostgreSQL server of its own, caught up with the command
    topic's history (so its counters move only by what the test sends), two employees
    registered, and the database refusing every event about the second: (service, server, good
    NIP, refused NIP)."""
    async with separate_postgres() as postgres:
        url = await postgres.create_database(DATABASE)
        prefix = f"pipe-{uuid.uuid4().hex[:8]}"
        async with attendance(infra.kafka_bootstrap, url, prefix) as svc:
            await group_caught_up(infra.kafka_bootstrap, f"{prefix}-commands", COMMANDS)
            good_nip, refused_nip = random_nip(), random_nip()
            await register(producer, svc, [good_nip, refused_nip])
            await refuse_events_of(svc.engine, refused_nip)
            yield svc, postgres, good_nip, refused_nip


async def accept_inserts(engine, table: str, name: str) -> None:
    """Take back `refuse_inserts(engine, table, name)`."""
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP TRIGGER {name} ON {table}"))
        await conn.execute(text(f"DROP FUNCTION {name}()"))


async def test_a_command_the_database_refuses_is_parked_and_replayed_by_kinerja_deadletters(
        infra, producer, read_topic):
    async with refusing_one_employee(infra, producer) as (svc, postgres, good_nip, refused_nip):
        key = f"gateway-{uuid.uuid4().hex}".encode()  # one partition, one batch
        refused_command = check(nip=refused_nip)
        good = check(nip=good_nip)
        sending = []
        for command in (refused_command, good):
            body, headers = signed_command(command, GATEWAY_KEY)
            sending.append(await producer.send(COMMANDS, value=body, key=key,
                                               headers=headers))
        parked_record, _ = await asyncio.gather(*sending)

        checked_in = await only_event(read_topic, good.command_id, types=["CheckedIn"])
        assert checked_in["data"]["nip"] == good_nip
        assert (await stored_outcome(svc.engine, good.command_id)).event_ids == [
            uuid.UUID(checked_in["event_id"])]

        async def parked():
            async with svc.engine.connect() as conn:
                return (await conn.execute(text(
                    "SELECT topic, partition, \"offset\", reason, attempts FROM dead_letters "
                    "WHERE replayed_at IS NULL"))).all()

        [letter] = await eventually(parked)
        assert (letter.topic, letter.partition, letter.offset, letter.reason) == (
            COMMANDS, parked_record.partition, parked_record.offset, "database_refused")
        assert sample(svc.registry, "kinerja_dead_letters_total",
                      consumer="attendance-commands", reason="database_refused") == 1
        assert await command_rows(svc.engine, [refused_command.command_id]) == {}

        await accept_inserts(svc.engine, "events", "refuse_events")
        env = {"KINERJA_KAFKA": infra.kafka_bootstrap,
               "KINERJA_DATABASE_URL": postgres.database_url("postgres")}
        code, listed, err = await kinerja("deadletters", "list", "attendance", env=env)
        assert code == 0, err
        assert "database_refused" in listed and "1 dead letter(s)" in listed
        assert COMMANDS in listed and f" {parked_record.offset} " in listed
        code, replayed, err = await kinerja("deadletters", "replay", "attendance", env=env)
        assert code == 0, err
        assert "replayed 1 dead letter(s)" in replayed

        event = await only_event(read_topic, refused_command.command_id,
                                 types=["CheckedIn"])
        assert event["data"]["nip"] == refused_nip
        [row] = (await every_command_stored(svc.engine, [refused_command.command_id])
                 )[refused_command.command_id]
        assert row.event_ids == [uuid.UUID(event["event_id"])]
        code, listed, err = await kinerja("deadletters", "list", "attendance", env=env)
        assert (code, listed.strip()) == (0, "no dead letters in attendance")



async def keys_on_two_partitions(producer) -> tuple[bytes, bytes]:
    """Two message keys of the command topic that land on different partitions."""
    from aiokafka.partitioner import DefaultPartitioner

    partitions = sorted(await producer.partitions_for(COMMANDS))
    choose = DefaultPartitioner()
    keys: dict[int, bytes] = {}
    while len(keys) < 2:
        key = f"gateway-{uuid.uuid4().hex}".encode()
        keys.setdefault(choose(key, partitions, partitions), key)
    first, second = keys.values()
    return first, second


async def test_a_poll_whose_parking_fails_is_fetched_again_and_nothing_behind_it_is_lost(
        infra, producer):
    """Parking fails (the database refuses the dead letter, which is not an outage): the poll is
    fetched again, again and again, while more commands arrive on another partition; once
    parking works, every good command is decided and counted exactly once."""
    async with refusing_one_employee(infra, producer) as (svc, _, good_nip, refused_nip):
        await refuse_inserts(svc.engine, "dead_letters", "refuse_letters")
        accepted_before = decided(svc.registry, "CheckIn", "accepted")
        key, other_key = await keys_on_two_partitions(producer)
        refused_command = check(nip=refused_nip)
        first = [check(nip=good_nip) for _ in range(3)]
        later = [check(nip=good_nip) for _ in range(3)]

        async def send(commands: list[Any], key: bytes) -> None:
            for command in commands:
                body, headers = signed_command(command, GATEWAY_KEY)
                await producer.send_and_wait(COMMANDS, value=body, key=key, headers=headers)

        with capture_logs() as logs:
            await send([refused_command, *first], key)

            async def failed_once() -> bool:
                return any(entry["event"] == "poll_failed" for entry in logs)

            await eventually(failed_once)
            await send(later, other_key)  # arriving while the poll keeps failing

            async def failed_after_later() -> bool:
                return sum(entry["event"] == "poll_failed" for entry in logs) >= 3

            await eventually(failed_after_later)
        await accept_inserts(svc.engine, "dead_letters", "refuse_letters")

        good = [command.command_id for command in [*first, *later]]
        rows = await every_command_stored(svc.engine, good)
        assert all(len(rows[command_id]) == 1 for command_id in good)

        async def parked():
            async with svc.engine.connect() as conn:
                return await conn.scalar(text("SELECT count(*) FROM dead_letters"))

        assert await eventually(parked) == 1
        async with svc.engine.connect() as conn:
            events = (await conn.execute(text(
                "SELECT envelope->>'causation_id' FROM events WHERE type = 'CheckedIn' "
                "AND envelope->'data'->>'nip' = :nip"), {"nip": good_nip})).scalars().all()
        assert sorted(events) == sorted(str(command_id) for command_id in good)
        assert decided(svc.registry, "CheckIn", "accepted") - accepted_before == len(good)
        assert await command_rows(svc.engine, [refused_command.command_id]) == {}
