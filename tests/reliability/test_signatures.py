"""Intruders on the command topics: messages not signed with the key their type requires.

The four command services (attendance, worklog, appraisal, MKD) run on a broker of this module's
own, with one gateway key between them (as in production, `KINERJA_GATEWAY_KEY`) and attendance
also holding the HR side's key. For every command type of every service the intruder sends a
command that would be decided if it were signed right:

- unsigned (no `x-kinerja-signature` header; or the right signature under another header name);
- signed with a random key;
- tampered: signed, then one character of a field changed (the last digit of `actor_nip`: the
  gateway's user claiming to be someone else);
- signed with a real key of the platform that this type does not take: the gateway's key on
  attendance's HR commands, the HR side's key on every gateway command;
- a signature header of garbage: empty, the wrong length, not hex, not ASCII, 256 KiB, the
  signature of another command, a second header after a wrong first one.

docs/reasons.md ("Refused before deciding"): each is refused with `bad_signature`, counted in
`kinerja_commands_refused_total{service,reason}` (exactly once per message, no other reason
counted), changes nothing (no event caused by it, no outcome stored under its `command_id`, no
row of the service's tables at all besides the sentinel's, nothing parked) — and a correctly
signed command sent after them on the same Kafka key (so on the same partition, behind them) is
decided and accepted: the intruders neither stop nor poison the partition.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from kinerja_appraisal.bootstrap import AppraisalConfig
from kinerja_appraisal.bootstrap import build_service as build_appraisal
from kinerja_attendance.bootstrap import AttendanceConfig
from kinerja_attendance.bootstrap import build_service as build_attendance
from kinerja_attendance.handlers import Keys
from kinerja_events import commands as cmd
from kinerja_events import events as ev
from kinerja_events import topics
from kinerja_events.publishing import command_body, envelope_of, publish_envelopes
from kinerja_events.signing import HR_SIGNED, SIGNATURE_HEADER, sign
from kinerja_events.types import WIB
from kinerja_mkd.bootstrap import MKDConfig
from kinerja_mkd.bootstrap import build_service as build_mkd
from kinerja_worklog.bootstrap import WorklogConfig
from kinerja_worklog.bootstrap import build_service as build_worklog
from org import Team, codec, fetchval, held, running_all

pytestmark = pytest.mark.integration

GATEWAY_KEY = b"reliability-gateway-key"
HR_KEY = b"reliability-hr-key"
SERVICES = ("attendance", "worklog", "appraisal", "mkd")
ACCEPTED = {"attendance": "CheckedIn", "worklog": "ActivityLogged", "appraisal": "IKPAssigned",
            "mkd": "MKDRequested"}
"""The event of each service's sentinel: a correctly signed command that is accepted."""
OFFICE = ev.OfficeRegistered(office_id="GS", name="Gedung Sate", lat=-6.902481, lon=107.61881,
                             radius_m=200)
TABLES = ("events", "commands", "outbox", "dead_letters")
ADAPTERS = {"attendance": TypeAdapter(cmd.AttendanceCommand),
            "worklog": TypeAdapter(cmd.WorklogCommand),
            "appraisal": TypeAdapter(cmd.AppraisalCommand), "mkd": TypeAdapter(cmd.MKDCommand)}


def now() -> datetime:
    return datetime.now(WIB)


def next_monday() -> date:
    today = now().date()
    return today + timedelta(days=7 - today.weekday())


def key_of(command: BaseModel) -> bytes:
    """The key the platform requires for `command`'s type (signing.HR_SIGNED)."""
    return HR_KEY if command.type in HR_SIGNED else GATEWAY_KEY  # type: ignore[attr-defined]


# --- the platform ------------------------------------------------------------------------------
@dataclass
class Platform:
    services: dict[str, Any]
    team: Team


@pytest.fixture(scope="module")
async def platform(infra, bus, producer):  # type: ignore[no-untyped-def]
    """The four command services on the module's broker, holding one team (and the office, and
    an MKD eligibility for the clerk's next week)."""
    async with running_all(infra, bus, {
        "attendance": (build_attendance, AttendanceConfig(keys=Keys(GATEWAY_KEY, HR_KEY)),
                       f"sig_att_{uuid.uuid4().hex[:10]}"),
        "worklog": (build_worklog, WorklogConfig(gateway_key=GATEWAY_KEY),
                    f"sig_wor_{uuid.uuid4().hex[:10]}"),
        "appraisal": (build_appraisal, AppraisalConfig(gateway_key=GATEWAY_KEY),
                      f"sig_app_{uuid.uuid4().hex[:10]}"),
        "mkd": (build_mkd, MKDConfig(gateway_key=GATEWAY_KEY), f"sig_mkd_{uuid.uuid4().hex[:10]}"),
    }) as services:  # started together: each takes seconds to join its consumer groups
        team = Team()
        period = next_monday().strftime("%Y-%m")
        facts = [*team.facts(),
                 envelope_of(OFFICE, source="hr", stream_id="office:GS",
                             occurred_at=now() - timedelta(days=40)),
                 envelope_of(ev.MKDEligibilityDetermined(nip=team.clerk, period=period,
                                                         days_per_week=4, reasons=["tier_4"]),
                             source="payroll", stream_id=f"mkd-eligibility:{team.clerk}:{period}",
                             occurred_at=now())]
        await publish_envelopes(producer, codec, facts)
        hr = [f.event_id for f in facts if f.source == "hr"]
        await asyncio.gather(
            held(services["attendance"], hr), held(services["worklog"], hr[:-1]),
            held(services["appraisal"], hr[:-1]),
            held(services["mkd"], [*hr[:-1], facts[-1].event_id]))
        yield Platform(services, team)


# --- what each service is sent -----------------------------------------------------------------
def every_command(service: str, team: Team) -> list[BaseModel]:
    """One command of every type `service` takes, each one it would decide if signed right."""
    base = lambda actor: dict(command_id=uuid.uuid4(), actor_nip=actor, sent_at=now())  # noqa: E731
    tag = uuid.uuid4().hex[:8]
    today = now().date()
    check = dict(at=now(), lat=OFFICE.lat, lon=OFFICE.lon, accuracy_m=10, mode="office")
    if service == "attendance":
        officer = team.head  # any actor: what the HR side may send is its key's to say
        return [cmd.CheckIn(**base(team.clerk), **check), cmd.CheckOut(**base(team.clerk), **check),
                cmd.RecordLeave(**base(officer), leave_id=f"CUTI-{tag}", nip=team.clerk,
                                kind="annual", start_date=today + timedelta(days=30),
                                end_date=today + timedelta(days=31)),
                cmd.CancelLeave(**base(officer), leave_id=f"CUTI-{tag}", nip=team.clerk),
                cmd.RecordOfficialTravel(**base(officer), travel_id=f"SPPD-{tag}", nip=team.clerk,
                                         start_date=today + timedelta(days=40),
                                         end_date=today + timedelta(days=41))]
    if service == "worklog":
        return [cmd.LogActivity(**base(team.clerk), activity_id=f"ACT-{tag}", work_date=today,
                                task_code="LAP", quantity=2, description="Laporan"),
                cmd.ApproveActivity(**base(team.boss), activity_id=f"ACT-{tag}",
                                    approved_quantity=2),
                cmd.RejectActivity(**base(team.boss), activity_id=f"ACT-{tag}", reason="tidak")]
    if service == "appraisal":
        period = today.strftime("%Y-%m")
        return [cmd.GiveRating(**base(team.boss), ratee_nip=team.clerk, period=period,
                               relation="superior", scores=ev.BerAKHLAKScores(
                                   berorientasi_pelayanan=4, akuntabel=4, kompeten=4,
                                   harmonis=4, loyal=4, adaptif=4, kolaboratif=4)),
                assign_ikp(team, f"IKP-{tag}"),
                cmd.CompleteIKP(**base(team.boss), ikp_id=f"IKP-{tag}", completed_at=now()),
                cmd.DraftSKP(**base(team.head), skp_id=f"SKP-{tag}", year=today.year, items=[
                    ev.SKPItem(item_id="H1", indicator="Layanan tepat waktu", target_quantity=12,
                               unit="laporan", monthly_targets=[1] * 12, supports_item_id=None,
                               unit_goal="Birokrasi melayani")]),
                cmd.ApproveSKP(**base(team.head), skp_id=f"SKP-{tag}", revision=1),
                cmd.ReturnSKP(**base(team.head), skp_id=f"SKP-{tag}", revision=1,
                              notes="Lengkapi indikator"),
                cmd.Evaluate(**base(team.boss), nip=team.clerk, year=today.year - 1, quarter=4,
                             result_rating="meets", behaviour_rating="meets")]
    monday = next_monday()
    return [request_mkd(team, f"MKD-{tag}"),
            cmd.DecideMKD(**base(team.boss), request_id=f"MKD-{tag}", grant=True,
                          days=[monday + timedelta(days=1)])]


def assign_ikp(team: Team, ikp_id: str) -> cmd.AssignIKP:
    today = now().date()
    last = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return cmd.AssignIKP(command_id=uuid.uuid4(), actor_nip=team.boss, sent_at=now(),
                         ikp_id=ikp_id, assignee_nip=team.clerk, period=today.strftime("%Y-%m"),
                         title="Rekap data pegawai", due_date=last)


def request_mkd(team: Team, request_id: str) -> cmd.RequestMKD:
    monday = next_monday()
    return cmd.RequestMKD(command_id=uuid.uuid4(), actor_nip=team.clerk, sent_at=now(),
                          request_id=request_id, week_start=monday,
                          days=[monday + timedelta(days=1)])


def sentinel(service: str, team: Team) -> BaseModel:
    """A correctly signed command of `service` that it accepts."""
    tag = uuid.uuid4().hex[:8]
    if service == "attendance":
        return cmd.CheckIn(command_id=uuid.uuid4(), actor_nip=team.clerk, sent_at=now(),
                           at=now(), lat=OFFICE.lat, lon=OFFICE.lon, accuracy_m=10,
                           mode="office")
    if service == "worklog":
        return cmd.LogActivity(command_id=uuid.uuid4(), actor_nip=team.clerk, sent_at=now(),
                               activity_id=f"ACT-{tag}", work_date=now().date(),
                               task_code="LAP", quantity=1, description="Laporan")
    if service == "appraisal":
        return assign_ikp(team, f"IKP-{tag}")
    return request_mkd(team, f"MKD-{tag}")


Header = tuple[str, bytes | None]


@dataclass(frozen=True)
class Intruder:
    what: str
    command: BaseModel
    body: bytes
    headers: list[Header]


def signed(body: bytes, key: bytes) -> list[Header]:
    return [(SIGNATURE_HEADER, sign(body, key).encode())]


def tamper(service: str, command: BaseModel) -> bytes:
    """`command`'s body with the last digit of `actor_nip` changed — still a valid command of
    `service`, so only its signature can give it away."""
    nip = command.actor_nip  # type: ignore[attr-defined]
    other = nip[:-1] + str((int(nip[-1]) + 1) % 10)
    body = command_body(command)
    tampered = body.replace(f'"actor_nip":"{nip}"'.encode(), f'"actor_nip":"{other}"'.encode())
    assert len(tampered) == len(body) and sum(a != b for a, b in zip(body, tampered)) == 1
    ADAPTERS[service].validate_json(tampered)
    return tampered


def unsigned(service: str, commands: list[BaseModel]) -> list[Intruder]:
    found = [Intruder(f"{c.type} without a signature", c, command_body(c), [])  # type: ignore[attr-defined]
             for c in commands]
    first = commands[0]
    found.append(Intruder("the right signature under another header name", first,
                          command_body(first),
                          [("X-Kinerja-Signature", sign(command_body(first), key_of(first))
                            .encode())]))
    return found


def random_key(service: str, commands: list[BaseModel]) -> list[Intruder]:
    return [Intruder(f"{c.type} signed with a random key", c, command_body(c),  # type: ignore[attr-defined]
                     signed(command_body(c), os.urandom(32))) for c in commands]


def tampered(service: str, commands: list[BaseModel]) -> list[Intruder]:
    return [Intruder(f"{c.type} changed after signing", c, tamper(service, c),  # type: ignore[attr-defined]
                     signed(command_body(c), key_of(c))) for c in commands]


def wrong_key(service: str, commands: list[BaseModel]) -> list[Intruder]:
    """Each type signed with the platform's other real key: an HR command with the gateway's,
    a gateway command with the HR side's."""
    return [Intruder(f"{c.type} signed with the {'gateway' if key_of(c) == HR_KEY else 'HR'} "  # type: ignore[attr-defined]
                     "key", c, command_body(c),
                     signed(command_body(c), GATEWAY_KEY if key_of(c) == HR_KEY else HR_KEY))
            for c in commands]


def garbage(service: str, commands: list[BaseModel]) -> list[Intruder]:
    """Signature headers of garbage, on the service's first command type (a fresh command
    each)."""
    def fresh() -> BaseModel:
        return commands[0].model_copy(update={"command_id": uuid.uuid4()})

    right = lambda c: sign(command_body(c), key_of(c)).encode()  # noqa: E731
    other = commands[1]
    made: list[tuple[str, Callable[[BaseModel], list[Header]]]] = [
        ("an empty signature", lambda c: [(SIGNATURE_HEADER, b"")]),
        ("a signature header without a value", lambda c: [(SIGNATURE_HEADER, None)]),
        ("64 characters that are not hex", lambda c: [(SIGNATURE_HEADER, b"z" * 64)]),
        ("bytes that are not ASCII", lambda c: [(SIGNATURE_HEADER, b"\xff\xfe" * 32)]),
        ("the right signature with one more digit", lambda c: [(SIGNATURE_HEADER,
                                                                right(c) + b"0")]),
        ("the right signature cut short", lambda c: [(SIGNATURE_HEADER, right(c)[:32])]),
        ("a 256 KiB signature", lambda c: [(SIGNATURE_HEADER, b"ab" * 128 * 1024)]),
        ("the signature of another command", lambda c: [(SIGNATURE_HEADER, right(other))]),
        ("a wrong signature, then the right one", lambda c: [(SIGNATURE_HEADER, b"0" * 64),
                                                             (SIGNATURE_HEADER, right(c))]),
    ]
    found = []
    for what, headers in made:
        command = fresh()
        found.append(Intruder(what, command, command_body(command), headers(command)))
    return found


KINDS = {"unsigned": unsigned, "random_key": random_key, "tampered": tampered,
         "wrong_key": wrong_key, "garbage_header": garbage}


# --- what the service holds --------------------------------------------------------------------
def refusals(service: Any, name: str) -> dict[str, float]:
    """`kinerja_commands_refused_total` of service `name`, by reason."""
    return {sample.labels["reason"]: sample.value
            for metric in service.registry.collect() if metric.name == "kinerja_commands_refused"
            for sample in metric.samples
            if sample.name == "kinerja_commands_refused_total"
            and sample.labels["service"] == name}


async def table_sizes(service: Any) -> dict[str, int]:
    return {table: await fetchval(service, f"SELECT count(*) FROM {table}") for table in TABLES}


async def outcome_of(service: Any, command_id: uuid.UUID, timeout: float = 30) -> list[str]:
    """The types of the events `command_id` caused, once its outcome is stored."""
    async with asyncio.timeout(timeout):
        while not await fetchval(service, "SELECT count(*) FROM commands WHERE command_id = $1",
                               command_id):
            await asyncio.sleep(0.05)
    async with service.engine.connect() as connection:
        conn = (await connection.get_raw_connection()).driver_connection
        rows = await conn.fetch("SELECT type FROM events WHERE envelope->>'causation_id' = $1 "
                                "ORDER BY position", str(command_id))
    return [row["type"] for row in rows]


# --- the tests ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("name", SERVICES)
async def test_a_command_not_signed_with_its_key_is_refused_counted_and_changes_nothing(
        platform, producer, name, kind):  # type: ignore[no-untyped-def]
    service, team = platform.services[name], platform.team
    intruders = KINDS[kind](name, every_command(name, team))
    honest = sentinel(name, team)
    partition_key = team.clerk.encode()  # everything on one partition: the sentinel comes last
    before, sizes = refusals(service, name), await table_sizes(service)

    for intruder in intruders:
        await producer.send_and_wait(topics.commands_topic(name), intruder.body,
                                     key=partition_key, headers=intruder.headers)
    await producer.send_and_wait(topics.commands_topic(name), command_body(honest),
                                 key=partition_key, headers=signed(command_body(honest),
                                                                   key_of(honest)))

    assert await outcome_of(service, honest.command_id) == [ACCEPTED[name]]
    after = refusals(service, name)
    risen = {reason: after[reason] - before.get(reason, 0) for reason in after
             if after[reason] != before.get(reason, 0)}
    assert risen == {"bad_signature": len(intruders)}, [i.what for i in intruders]
    ids = [i.command.command_id for i in intruders]  # type: ignore[attr-defined]
    assert await fetchval(service, "SELECT count(*) FROM commands WHERE command_id = ANY($1)",
                        ids) == 0
    assert await fetchval(service, "SELECT count(*) FROM events WHERE envelope->>'causation_id' "
                        "= ANY($1::text[])", [str(i) for i in ids]) == 0
    # nothing else either: only the sentinel's outcome, event and outbox row; nothing parked
    assert await table_sizes(service) == {**sizes, "events": sizes["events"] + 1,
                                          "commands": sizes["commands"] + 1,
                                          "outbox": sizes["outbox"] + 1}


async def test_a_signed_command_replayed_under_a_new_command_id_is_refused(platform, producer):  # type: ignore[no-untyped-def]
    """The classic replay-with-a-twist: a captured signed check-in resent with only its
    `command_id` changed (to dodge the repeat check) does not pass on the old signature."""
    service, team = platform.services["attendance"], platform.team
    captured = sentinel("attendance", team)
    replay = captured.model_copy(update={"command_id": uuid.uuid4()})
    before = refusals(service, "attendance").get("bad_signature", 0)
    for body, headers in ((command_body(captured), signed(command_body(captured), GATEWAY_KEY)),
                          (command_body(replay), signed(command_body(captured), GATEWAY_KEY))):
        await producer.send_and_wait(topics.commands_topic("attendance"), body,
                                     key=team.clerk.encode(), headers=headers)
    marker = sentinel("attendance", team)
    await producer.send_and_wait(topics.commands_topic("attendance"), command_body(marker),
                                 key=team.clerk.encode(),
                                 headers=signed(command_body(marker), GATEWAY_KEY))
    assert await outcome_of(service, marker.command_id) == ["CheckedIn"]
    assert await outcome_of(service, captured.command_id) == ["CheckedIn"]
    assert refusals(service, "attendance")["bad_signature"] == before + 1
    assert await fetchval(service, "SELECT count(*) FROM commands WHERE command_id = $1",
                        replay.command_id) == 0


def test_the_refusal_is_documented_and_the_intruders_keys_are_the_services_own():
    """`bad_signature` is docs/reasons.md's reason for a message "not signed with the key its
    type requires (header `x-kinerja-signature`)"; and the key each intruder avoids is the one
    the service's own key table requires (HR key for attendance's HR commands, the gateway's
    for every other command), so a "wrong key" above is wrong for the service too."""
    from kinerja_appraisal.handlers import command_models as appraisal_models
    from kinerja_attendance.handlers import command_models as attendance_models
    from kinerja_mkd.handlers import command_models as mkd_models
    from kinerja_worklog.handlers import command_models as worklog_models

    text = (Path(__file__).resolve().parents[2] / "docs" / "reasons.md").read_text()
    section = text.split("## Refused before deciding", 1)[1].split("\n## ", 1)[0]
    [row] = [line for line in section.splitlines() if line.startswith("| `bad_signature` |")]
    assert f"`{SIGNATURE_HEADER}`" in row
    tables = [attendance_models(Keys(GATEWAY_KEY, HR_KEY)).keys,
              worklog_models(GATEWAY_KEY).keys, appraisal_models(GATEWAY_KEY).keys,
              mkd_models(GATEWAY_KEY).keys]
    team = Team()
    for name, keys in zip(SERVICES, tables):
        commands = every_command(name, team)
        assert sorted(c.type for c in commands) == sorted(keys)  # type: ignore[attr-defined]
        assert all(keys[c.type] == key_of(c) for c in commands)  # type: ignore[attr-defined]
