"""The worklog service end to end through the real broker and PostgreSQL.

Signed `LogActivity` / `ApproveActivity` / `RejectActivity` commands go in on
`kinerja.commands.worklog`; `ActivityLogged` (v2), the decisions and `ActivityRefused` come out
on `kinerja.worklog`, and payroll's projection counts the approved minutes. The module has a
broker of its own, so payroll consumes exactly the facts published here.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from urllib.error import HTTPError

import pytest

from kinerja_events import commands as cmd
from kinerja_events import events as ev
from kinerja_events import topics
from kinerja_events.codec import make_codec
from kinerja_events.publishing import envelope_of
from kinerja_events.types import WIB
from kinerja_payroll.offline import compute_file
from kinerja_payroll.rules import load_default_rules
from kinerja_worklog.bootstrap import WorklogConfig, build_service
from org import payroll_config, running, Team, decide_commands, http_get, projected_data, projected_until, publish_hr
from reading import topic_reader

pytestmark = pytest.mark.integration

GATEWAY_KEY = b"test-worklog-gateway-key"
codec = make_codec()
PAYROLL_DATABASE = f"wlpay_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
async def service(infra, bus):  # type: ignore[no-untyped-def]
    config = WorklogConfig(gateway_key=GATEWAY_KEY, payroll_database=PAYROLL_DATABASE)
    async with running(infra, bus, build_service, config, f"wl_{uuid.uuid4().hex[:12]}") as svc:
        yield svc


@pytest.fixture(scope="module")
async def payroll(infra, bus, tmp_path_factory):  # type: ignore[no-untyped-def]
    from kinerja_payroll.bootstrap import build_service as build_payroll

    async with running(infra, bus, build_payroll, payroll_config(tmp_path_factory),
                       PAYROLL_DATABASE) as svc:
        yield svc


@pytest.fixture(scope="module")
def read_topic(bus):  # type: ignore[no-untyped-def]
    return topic_reader(bus.kafka_bootstrap)


def log(team: Team, activity_id: str, work_date: date, quantity: int = 3,
        actor: str | None = None) -> cmd.LogActivity:
    return cmd.LogActivity(command_id=uuid.uuid4(), actor_nip=actor or team.clerk,
                           sent_at=datetime.now(WIB), activity_id=activity_id,
                           work_date=work_date, task_code="LAP", quantity=quantity,
                           description="Laporan kegiatan")


def approve(actor: str, activity_id: str, quantity: int) -> cmd.ApproveActivity:
    return cmd.ApproveActivity(command_id=uuid.uuid4(), actor_nip=actor,
                               sent_at=datetime.now(WIB), activity_id=activity_id,
                               approved_quantity=quantity)


OUTCOME_TYPES = ("ActivityLogged", "ActivityApproved", "ActivityRejected", "ActivityRefused")


async def decide(producer, read_topic, commands: list, received_at=None) -> dict:  # type: ignore[no-untyped-def]
    """Send `commands` one after another; each one's outcome event (waited for by its id)."""
    return await decide_commands(producer, read_topic, "worklog", GATEWAY_KEY, commands,
                                 OUTCOME_TYPES, received_at)


async def test_log_then_approve_comes_out_in_order_and_payroll_counts_the_minutes(
        service, payroll, producer, read_topic, tmp_path):  # type: ignore[no-untyped-def]
    team = Team()
    await publish_hr(producer, service, team.facts())
    today = datetime.now(WIB).date()
    logged = log(team, f"ACT-{uuid.uuid4().hex[:8]}", today, quantity=3)
    approved = approve(team.boss, logged.activity_id, 2)
    outcomes = await decide(producer, read_topic, [logged, approved])

    logged_event, approved_event = outcomes[logged.command_id], outcomes[approved.command_id]
    assert logged_event["type"] == "ActivityLogged" and logged_event["schema_version"] == 2
    assert logged_event["data"]["minutes"] == 180 and logged_event["data"]["skp_item_id"] is None
    assert approved_event["type"] == "ActivityApproved"
    assert approved_event["data"]["approved_minutes"] == 120
    assert approved_event["data"]["approver_nip"] == team.boss
    assert (logged_event["stream_id"], logged_event["stream_version"]) == (
        f"activity:{logged.activity_id}", 1)
    assert (approved_event["stream_id"], approved_event["stream_version"]) == (
        f"activity:{logged.activity_id}", 2)

    history = tmp_path / "history.jsonl"
    history.write_text("".join(codec.encode(e).decode() + "\n" for e in team.hr)
                       + json.dumps(logged_event) + "\n" + json.dumps(approved_event) + "\n")
    [result] = [r for r in compute_file(history, today.strftime("%Y-%m"), load_default_rules())
                if r.nip == team.clerk]
    assert result.tpp["approved_minutes"] == 120
    period = today.strftime("%Y-%m")
    assert await projected_minutes(payroll, period, team.clerk,
                                   until=lambda minutes: minutes == 120) == 120

    month = await http_get(service, f"/worklog/month?nip={team.clerk}&period={period}")
    projected = await projected_data(payroll, period, team.clerk)
    assert month["totals"]["approved_minutes"] == 120
    assert month["minute_value_rupiah"] == projected["minute_value_rupiah"]
    # none only where payroll has no target yet (the first working day of a month)
    assert (month["minute_value_rupiah"] is None) == (projected["target_minutes"] == 0)


async def projected_minutes(payroll, period: str, nip: str, until):  # type: ignore[no-untyped-def]
    """The approved minutes of `nip`'s month in payroll's projection, once `until` holds."""
    data = await projected_until(payroll, period, nip, lambda d: until(d["approved_minutes"]))
    return data["approved_minutes"]


async def test_a_peer_or_the_employee_cannot_approve(service, producer, read_topic):  # type: ignore[no-untyped-def]
    team = Team()
    await publish_hr(producer, service, team.facts())
    logged = log(team, f"ACT-{uuid.uuid4().hex[:8]}", datetime.now(WIB).date())
    by_peer = approve(team.peer, logged.activity_id, 1)
    by_self = approve(team.clerk, logged.activity_id, 1)

    def refusals(reason: str) -> float:
        return service.registry.get_sample_value("kinerja_worklog_outcomes_total", {
            "action": "ApproveActivity", "outcome": "refused", "reason": reason}) or 0

    before = refusals("not_the_approver"), refusals("own_activity")
    outcomes = await decide(producer, read_topic, [logged, by_peer, by_self])
    assert (refusals("not_the_approver"), refusals("own_activity")) == (before[0] + 1,
                                                                       before[1] + 1)
    assert outcomes[by_peer.command_id]["type"] == "ActivityRefused"
    assert outcomes[by_peer.command_id]["data"]["reason"] == "not_the_approver"
    assert outcomes[by_self.command_id]["data"]["reason"] == "own_activity"
    assert outcomes[by_self.command_id]["data"]["retryable"] is False


async def test_a_superior_change_mid_month_moves_approval_rights_on_that_date(
        service, producer, read_topic):  # type: ignore[no-untyped-def]
    team = Team()
    await publish_hr(producer, service, team.facts())
    today = datetime.now(WIB).date()
    moved = envelope_of(ev.EmployeeChanged(nip=team.clerk, effective_date=today,
                                           superior_nip=team.head),
                        source="hr", stream_id=f"employee:{team.clerk}", stream_version=2,
                        occurred_at=datetime.now(WIB))
    await publish_hr(producer, service, [moved])
    before = log(team, f"ACT-{uuid.uuid4().hex[:8]}", today - timedelta(days=1))
    after = log(team, f"ACT-{uuid.uuid4().hex[:8]}", today)
    old_boss_on_new = approve(team.boss, after.activity_id, 1)
    head_on_new = approve(team.head, after.activity_id, 1)
    head_on_old = approve(team.head, before.activity_id, 1)
    boss_on_old = approve(team.boss, before.activity_id, 1)
    outcomes = await decide(producer, read_topic, [before, after, old_boss_on_new, head_on_new,
                                                   head_on_old, boss_on_old])
    assert outcomes[old_boss_on_new.command_id]["data"]["reason"] == "not_the_approver"
    assert outcomes[head_on_new.command_id]["type"] == "ActivityApproved"
    assert outcomes[head_on_old.command_id]["data"]["reason"] == "not_the_approver"
    assert outcomes[boss_on_old.command_id]["type"] == "ActivityApproved"
    lag = service.registry.get_sample_value("kinerja_worklog_approval_lag_seconds_count")
    assert lag is not None and lag >= 2


async def test_a_log_sent_by_another_employee_for_an_activity_id_is_refused(
        service, producer, read_topic):  # type: ignore[no-untyped-def]
    team = Team()
    await publish_hr(producer, service, team.facts())
    activity_id = f"ACT-{uuid.uuid4().hex[:8]}"
    first = log(team, activity_id, datetime.now(WIB).date())
    second = log(team, activity_id, datetime.now(WIB).date(), actor=team.peer)
    outcomes = await decide(producer, read_topic, [first, second])
    assert outcomes[second.command_id]["data"]["reason"] == "activity_of_other_employee"


async def test_a_log_replayed_from_the_past_is_judged_by_its_record_timestamp(
        service, producer, read_topic):  # type: ignore[no-untyped-def]
    team = Team()
    await publish_hr(producer, service, team.facts())
    then = datetime.now(WIB) - timedelta(days=10)
    logged = log(team, f"ACT-{uuid.uuid4().hex[:8]}", then.date())
    outcomes = await decide(producer, read_topic, [logged], received_at=then)
    assert outcomes[logged.command_id]["type"] == "ActivityLogged"


async def test_the_queries_show_a_superiors_pending_work_and_an_employees_month(
        service, producer, read_topic):  # type: ignore[no-untyped-def]
    from kinerja_worklog.queries import employee_month, pending_approvals

    team = Team()
    await publish_hr(producer, service, team.facts())
    today = datetime.now(WIB).date()
    waiting = log(team, f"ACT-{uuid.uuid4().hex[:8]}", today, quantity=2)
    done = log(team, f"ACT-{uuid.uuid4().hex[:8]}", today, quantity=8)
    big = log(team, f"ACT-{uuid.uuid4().hex[:8]}", today, quantity=4)
    await decide(producer, read_topic, [waiting, done, big, approve(team.boss, done.activity_id, 8),
                                        approve(team.boss, big.activity_id, 4)])
    async with service.engine.connect() as connection:
        conn = (await connection.get_raw_connection()).driver_connection
        pending = await pending_approvals(conn, codec, team.boss, today)
        nobody = await pending_approvals(conn, codec, team.peer, today)
        month = await employee_month(conn, codec, team.clerk, today.strftime("%Y-%m"))
    assert [a.activity_id for a in pending] == [waiting.activity_id]
    assert nobody == []
    [day] = month.days()
    assert (day["logged_minutes"], day["approved_minutes"], day["pending_minutes"],
            day["counted_minutes"]) == (840, 720, 120, 450)
    assert month.as_json()["totals"]["counted_minutes"] == 450
    assert month.name == f"Pegawai {team.clerk[-4:]}"

    over_http = await http_get(service, f"/worklog/pending?approver={team.boss}")
    assert [a["activity_id"] for a in over_http["activities"]] == [waiting.activity_id]
    month_json = await http_get(service, f"/worklog/month?nip={team.clerk}&period="
                                         f"{today.strftime('%Y-%m')}")
    assert month_json["totals"]["approved_minutes"] == 720
    with pytest.raises(HTTPError) as refused:
        await http_get(service, "/worklog/month?nip=123&period=2026-10")
    assert refused.value.code == 400
    assert "18-digit NIP" in json.loads(refused.value.read())["error"]


async def test_poison_on_the_command_topic_is_refused_and_the_next_command_decided(
        service, producer, read_topic):  # type: ignore[no-untyped-def]
    team = Team()
    await publish_hr(producer, service, team.facts())
    key = team.clerk.encode()  # the partition of the valid command that follows
    for body in (b'{"type": ["LogActivity"]}', b"[" * 100_000, b"\xff\xfe", b"",
                 b'{"n": ' + b"9" * 5000 + b"}"):
        await producer.send_and_wait(topics.commands_topic("worklog"), body, key=key)
    unsigned = log(team, f"ACT-{uuid.uuid4().hex[:8]}", datetime.now(WIB).date())
    await producer.send_and_wait(topics.commands_topic("worklog"),
                                 unsigned.model_dump_json().encode(), key=key)
    valid = log(team, f"ACT-{uuid.uuid4().hex[:8]}", datetime.now(WIB).date())
    outcomes = await decide(producer, read_topic, [valid])
    assert outcomes[valid.command_id]["type"] == "ActivityLogged"
    refused = service.registry.get_sample_value(
        "kinerja_commands_refused_total", {"service": "worklog", "reason": "bad_signature"})
    assert refused is not None and refused >= 1
