"""`kinerja audit`: the whole history of a running platform, exported and checked by auditors.

Attendance, worklog and payroll run on a broker of their own and fresh databases. HR publishes a
team; the gateway sends a few days of check-ins and an activity with its approval; payroll
closes October. The export must hold every service's events with exactly their ids, each once;
verify must say MATCH, and name the employee and figure when a fact is removed or a result
changed in the file; copies of one fact that disagree between databases are an audit finding.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import date, datetime, time
from pathlib import Path

import pytest
from org import Team, decide_commands, payroll_config, running
from reading import topic_reader
from sqlalchemy import text

from kinerja_attendance.bootstrap import AttendanceConfig
from kinerja_attendance.bootstrap import build_service as build_attendance
from kinerja_attendance.handlers import Keys
from kinerja_cli.audit import export_history, verify_history
from kinerja_cli.main import main
from kinerja_events import commands as cmd
from kinerja_events import events as ev
from kinerja_events.codec import make_codec
from kinerja_events.publishing import envelope_of, publish_envelopes, send_command
from kinerja_events.store import PostgresEventStore
from kinerja_events.types import WIB
from kinerja_payroll.bootstrap import PayrollConfig
from kinerja_payroll.bootstrap import build_service as build_payroll
from kinerja_payroll.ledger import close_period
from kinerja_payroll.offline import compute_file
from kinerja_payroll.rules import load_default_rules
from kinerja_worklog.bootstrap import WorklogConfig
from kinerja_worklog.bootstrap import build_service as build_worklog

pytestmark = pytest.mark.integration

PERIOD = "2026-10"
CLOSED_AT = datetime(2026, 11, 2, 9, 0, tzinfo=WIB)
GATEWAY_KEY, HR_KEY = b"audit-gateway", b"audit-hr"
OFFICE = ev.OfficeRegistered(office_id="GS", name="Gedung Sate", lat=-6.902481, lon=107.618810,
                             radius_m=200)
PRESENT_DAYS = (date(2026, 10, 5), date(2026, 10, 6), date(2026, 10, 7))
PAYROLL_DATABASE = f"au_pay_{uuid.uuid4().hex[:12]}"
codec = make_codec()


@pytest.fixture(scope="module")
async def attendance(infra, bus):
    config = AttendanceConfig(keys=Keys(GATEWAY_KEY, HR_KEY))
    async with running(infra, bus, build_attendance, config,
                       f"au_att_{uuid.uuid4().hex[:12]}") as service:
        yield service


@pytest.fixture(scope="module")
async def worklog(infra, bus):
    config = WorklogConfig(gateway_key=GATEWAY_KEY, payroll_database=PAYROLL_DATABASE)
    async with running(infra, bus, build_worklog, config,
                       f"au_wl_{uuid.uuid4().hex[:12]}") as service:
        yield service


@pytest.fixture(scope="module")
async def payroll(infra, bus, tmp_path_factory):
    async with running(infra, bus, build_payroll, payroll_config(tmp_path_factory),
                       PAYROLL_DATABASE) as service:
        yield service


@pytest.fixture(scope="module")
async def month(attendance, worklog, payroll, producer, bus):
    """October driven through the services and closed: the team, its HR facts, the close."""
    team = Team()
    hr = [envelope_of(OFFICE, source="hr", stream_id="office:GS",
                      occurred_at=datetime(2026, 9, 20, 9, 0, tzinfo=WIB)), *team.facts()]
    await publish_envelopes(producer, codec, hr)
    await wait_for_ids(attendance.engine, "reference_facts", ids_of(hr))
    await wait_for_ids(worklog.engine, "reference_facts", ids_of(team.hr))

    checks = [*attendance_days(team.clerk, PRESENT_DAYS, time(7, 20)),
              *attendance_days(team.junior, PRESENT_DAYS[:1], time(8, 15))]
    for command in checks:
        await send_command(producer, "attendance", command, GATEWAY_KEY,
                           received_at=command.sent_at)
    recorded = {uuid.uuid5(c.command_id, "CheckedIn" if isinstance(c, cmd.CheckIn)
                           else "CheckedOut") for c in checks}
    await wait_for_ids(attendance.engine, "events", recorded)

    activity = await log_and_approve(team, producer, bus)
    await wait_for_ids(payroll.engine, "facts", ids_of(hr) | recorded | activity)
    close = await close_period(payroll.engine, PostgresEventStore(payroll.engine), PERIOD,
                               PayrollConfig().rule_file(), CLOSED_AT)
    return team, hr, close


@pytest.fixture(scope="module")
async def exported(month, attendance, worklog, payroll, tmp_path_factory):
    """The platform's history exported once, and what the export reported."""
    out = tmp_path_factory.mktemp("audit") / "history.jsonl"
    report = await export_history(engines(attendance, worklog, payroll), out)
    return out, report


def engines(attendance, worklog, payroll) -> dict:
    return {"attendance": attendance.engine, "worklog": worklog.engine,
            "payroll": payroll.engine}


def attendance_days(nip: str, days, arrival: time) -> list:
    """A check-in at `arrival` and a check-out at 16:35 on each of `days`, each received
    (record timestamp) when it was made."""
    commands = []
    for day in days:
        for kind, at in ((cmd.CheckIn, arrival), (cmd.CheckOut, time(16, 35))):
            moment = datetime.combine(day, at, WIB)
            commands.append(kind(command_id=uuid.uuid4(), actor_nip=nip, sent_at=moment,
                                 at=moment, lat=OFFICE.lat, lon=OFFICE.lon, accuracy_m=10,
                                 mode="office", mock_location=False))
    return commands


async def log_and_approve(team: Team, producer, bus) -> set:
    """The clerk logs three reports on 6 October; the boss approves two the next morning."""
    logged = cmd.LogActivity(command_id=uuid.uuid4(), actor_nip=team.clerk,
                             sent_at=datetime(2026, 10, 6, 17, 0, tzinfo=WIB),
                             activity_id=f"ACT-{uuid.uuid4().hex[:8]}", work_date=PRESENT_DAYS[1],
                             task_code="LAP", quantity=3, description="Laporan kegiatan")
    approved = cmd.ApproveActivity(command_id=uuid.uuid4(), actor_nip=team.boss,
                                   sent_at=datetime(2026, 10, 7, 9, 0, tzinfo=WIB),
                                   activity_id=logged.activity_id, approved_quantity=2)
    outcomes = await decide_commands(
        producer, topic_reader(bus.kafka_bootstrap), "worklog", GATEWAY_KEY, [logged, approved],
        ("ActivityLogged", "ActivityApproved", "ActivityRefused"),
        [logged.sent_at, approved.sent_at])
    assert [e["type"] for e in outcomes.values()] == ["ActivityLogged", "ActivityApproved"]
    return {uuid.UUID(e["event_id"]) for e in outcomes.values()}


def ids_of(envelopes) -> set:
    return {e.event_id for e in envelopes}


async def wait_for_ids(engine, table: str, ids: set, timeout: float = 90) -> None:
    """Until `table` of `engine`'s database holds every one of `ids`."""
    query = text(f"SELECT count(*) FROM {table} WHERE event_id = ANY(CAST(:ids AS uuid[]))")
    async with asyncio.timeout(timeout):
        while True:
            async with engine.connect() as conn:
                if await conn.scalar(query, {"ids": list(ids)}) == len(ids):
                    return
            await asyncio.sleep(0.1)


async def stored_ids(engine) -> set:
    """The event ids of a service's event store."""
    async with engine.connect() as conn:
        return {row[0] for row in await conn.execute(text("SELECT event_id FROM events"))}


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_lines(path: Path, envelopes: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in envelopes))
    return path


async def test_the_export_holds_every_services_events_once_with_exactly_their_ids(
        month, exported, attendance, worklog, payroll):
    _, hr, close = month
    path, report = exported
    lines = lines_of(path)
    ids = [uuid.UUID(e["event_id"]) for e in lines]
    assert len(ids) == len(set(ids))  # no event id twice
    by_source = {source: {uuid.UUID(e["event_id"]) for e in lines if e["source"] == source}
                 for source in ("hr", "attendance", "worklog", "payroll")}
    assert by_source["attendance"] == await stored_ids(attendance.engine)
    assert by_source["worklog"] == await stored_ids(worklog.engine)
    assert by_source["payroll"] == await stored_ids(payroll.engine)
    assert by_source["hr"] == ids_of(hr)
    assert len(by_source["attendance"]) == 8 and len(by_source["worklog"]) == 2
    assert len(by_source["payroll"]) == len(close.events())
    assert report.findings == [] and report.copies_only == {}
    assert report.written == {"hr": len(hr), "attendance": 8, "worklog": 2, "appraisal": 0,
                              "mkd": 0, "payroll": len(close.events())}
    assert report.total == len(lines)
    assert lines[-1]["type"] == "PayrollClosed"  # every fact here is in October's cut-off
    assert all(line.encode() == codec.encode(codec.decode(line))
               for line in path.read_text().splitlines())  # the platform codec's encoding


async def test_verify_says_match_and_the_offline_compute_gives_the_closed_results(
        month, exported, capsys):
    _, _, close = month
    path, _ = exported
    verification = verify_history(path, PERIOD)
    assert verification.matched, verification.differences
    assert verification.employees == close.closed.employees == 5
    assert verification.total_rupiah == close.closed.total_rupiah
    assert verification.digest == close.closed.digest

    offline = compute_file(path, PERIOD, load_default_rules())
    assert [r.tpp for r in offline] == [r.tpp for r in close.results]

    assert main(["audit", "verify", PERIOD, "--events", str(path)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"MATCH {PERIOD}: 5 employees, total Rp ")
    assert f"{close.closed.total_rupiah:,}".replace(",", ".") in printed


async def test_a_removed_check_in_makes_verify_name_the_employee_and_the_figures(
        month, exported, tmp_path, capsys):
    team, _, close = month
    path, _ = exported
    closed = {r.nip: r.tpp for r in close.results}
    lines = lines_of(path)
    [dropped] = [e for e in lines if e["type"] == "CheckedIn" and e["data"]["nip"] == team.clerk
                 and e["data"]["at"].startswith("2026-10-07")]
    tampered = write_lines(tmp_path / "without-a-check-in.jsonl",
                           [e for e in lines if e is not dropped])

    verification = verify_history(tampered, PERIOD)
    assert not verification.matched
    by_figure = {d.figure: d for d in verification.differences if d.nip == team.clerk}
    assert (by_figure["tk_days"].closed, by_figure["tk_days"].recomputed) == (
        closed[team.clerk]["tk_days"], closed[team.clerk]["tk_days"] + 1)
    assert by_figure["total_rupiah"].closed == closed[team.clerk]["total_rupiah"]
    assert by_figure["total_rupiah"].recomputed < closed[team.clerk]["total_rupiah"]
    assert by_figure["tk_days"].name == f"Pegawai {team.clerk[-4:]}"
    assert {d.nip for d in verification.differences} == {team.clerk, ""}  # "": the close's total

    assert main(["audit", "verify", PERIOD, "--events", str(tampered)]) == 1
    printed = capsys.readouterr().out
    assert f"{team.clerk}  Pegawai {team.clerk[-4:]}  tk_days" in printed


async def test_a_changed_tpp_figure_makes_verify_name_that_employee_and_figure(
        month, exported, tmp_path):
    team, _, close = month
    path, _ = exported
    paid = {r.nip: r.tpp["total_rupiah"] for r in close.results}[team.junior]
    lines = lines_of(path)
    for e in lines:
        if e["type"] == "TPPCalculated" and e["data"]["nip"] == team.junior:
            e["data"]["total_rupiah"] += 1_000
    tampered = write_lines(tmp_path / "changed-result.jsonl", lines)

    verification = verify_history(tampered, PERIOD)
    [changed] = [d for d in verification.differences if d.nip]
    assert (changed.nip, changed.figure, changed.closed, changed.recomputed) == (
        team.junior, "total_rupiah", paid + 1_000, paid)
    assert [d.figure for d in verification.differences if not d.nip] == [
        "digest of its own TPPCalculated"]


async def test_copies_of_a_fact_that_disagree_between_databases_are_an_audit_finding(
        month, attendance, worklog, payroll, tmp_path):
    team, hr, _ = month
    [registration] = [e for e in hr if e.type == "EmployeeRegistered"
                      and e.data.nip == team.peer]
    change = text("UPDATE reference_facts SET envelope = jsonb_set(envelope, '{data,name}', "
                  "to_jsonb(CAST(:name AS text))) WHERE event_id = :id")
    async with worklog.engine.begin() as conn:
        await conn.execute(change, {"name": "Nama Lain", "id": registration.event_id})
    try:
        report = await export_history(engines(attendance, worklog, payroll),
                                      tmp_path / "history.jsonl")
    finally:
        async with worklog.engine.begin() as conn:
            await conn.execute(change, {"name": registration.data.name,
                                        "id": registration.event_id})
    [finding] = report.findings
    assert str(registration.event_id) in finding and "worklog reference facts" in finding
    assert finding.endswith("differ in data.name")
    [written] = [e for e in lines_of(tmp_path / "history.jsonl")
                 if e["event_id"] == str(registration.event_id)]
    assert written["data"]["name"] == registration.data.name  # payroll's copy, which it folded


async def test_a_late_fact_stays_out_of_the_closed_months_cut_off_and_its_adjustment_is_verified(
        month, attendance, worklog, payroll, producer, tmp_path):
    team, _, october = month
    late = cmd.RecordLeave(command_id=uuid.uuid4(), actor_nip=team.head,
                           sent_at=datetime(2026, 11, 3, 9, 0, tzinfo=WIB),
                           leave_id=f"SAKIT-{uuid.uuid4().hex[:8]}", nip=team.clerk, kind="sick",
                           start_date=date(2026, 10, 8), end_date=date(2026, 10, 8))
    await send_command(producer, "attendance", late, HR_KEY, received_at=late.sent_at)
    await wait_for_ids(payroll.engine, "facts", {uuid.uuid5(late.command_id, "LeaveRecorded")})
    november = await close_period(payroll.engine, PostgresEventStore(payroll.engine), "2026-11",
                                  PayrollConfig().rule_file(),
                                  datetime(2026, 12, 1, 9, 0, tzinfo=WIB))
    [adjustment] = november.adjustments
    assert adjustment.nip == team.clerk and adjustment.delta_rupiah > 0

    path = tmp_path / "history.jsonl"
    report = await export_history(engines(attendance, worklog, payroll), path)
    assert report.findings == []
    assert verify_history(path, PERIOD).matched  # the leave came after October's cut-off
    everything = {r.nip: r.tpp["total_rupiah"] for r in compute_file(path, PERIOD,
                                                                      load_default_rules())}
    paid = {r.nip: r.tpp["total_rupiah"] for r in october.results}
    assert everything[team.clerk] == paid[team.clerk] + adjustment.delta_rupiah
    verification = verify_history(path, "2026-11")
    assert verification.matched, verification.differences
    assert (verification.adjustments, verification.adjustments_rupiah) == (
        1, adjustment.delta_rupiah)

    lines = lines_of(path)
    for e in lines:
        if e["type"] == "TPPAdjusted":
            e["data"]["delta_rupiah"] -= 1
    tampered = verify_history(write_lines(tmp_path / "changed-adjustment.jsonl", lines),
                              "2026-11")
    assert [(d.nip, d.figure, d.closed, d.recomputed) for d in tampered.differences] == [
        (team.clerk, "TPPAdjusted 2026-10 delta_rupiah", adjustment.delta_rupiah - 1,
         adjustment.delta_rupiah)]


async def test_a_month_not_closed_in_the_export_is_a_clear_one_line_error(exported, capsys):
    path, _ = exported
    assert main(["audit", "verify", "2026-09", "--events", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"kinerja audit: 2026-09 is not closed in {path}\n"


def test_export_without_a_running_platform_says_so_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("KINERJA_KAFKA", "KINERJA_DATABASE_URL")}
    done = subprocess.run([sys.executable, "-m", "kinerja_cli.main", "audit", "export"],
                          capture_output=True, text=True, timeout=120,
                          env={**env, "KINERJA_DATA_DIR": str(tmp_path)})
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("kinerja audit: the platform is not running")
    assert len(done.stderr.splitlines()) == 1
