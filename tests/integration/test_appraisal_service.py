"""The appraisal service end to end through the real broker and PostgreSQL.

Signed `GiveRating` / `AssignIKP` / `CompleteIKP` commands go in on
`kinerja.commands.appraisal`; `RatingGiven`, `IKPAssigned`, `IKPCompleted` and
`AppraisalRefused` come out on `kinerja.appraisal`, and payroll's projection takes R_b and the
IKP part from them. Everything happens in last month (record timestamps of last month's days),
so the month's rating window is open and every IKP's due date has passed. The module has a
broker of its own.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta
from fractions import Fraction
from urllib.error import HTTPError

import pytest

from kinerja_appraisal.bootstrap import AppraisalConfig, build_service
from kinerja_events import commands as cmd
from kinerja_events import events as ev
from kinerja_events import topics
from kinerja_events.exact import format_ratio, round_half_away
from kinerja_events.publishing import send_command
from kinerja_events.types import WIB
from org import payroll_config, running, Team, decide_commands, http_get, projected_until, publish_hr
from reading import topic_reader

pytestmark = pytest.mark.integration

GATEWAY_KEY = b"test-appraisal-gateway-key"
OUTCOME_TYPES = ("RatingGiven", "IKPAssigned", "IKPCompleted", "AppraisalRefused")
NOW = datetime.now(WIB)
LAST_MONTH = NOW.replace(day=1) - timedelta(days=1)
PERIOD = LAST_MONTH.strftime("%Y-%m")


def day_of_last_month(day: int, hour: int = 10) -> datetime:
    return LAST_MONTH.replace(day=day, hour=hour, minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
async def service(infra, bus):  # type: ignore[no-untyped-def]
    async with running(infra, bus, build_service, AppraisalConfig(gateway_key=GATEWAY_KEY, overdue_refresh_s=1.0),
                       f"ap_{uuid.uuid4().hex[:12]}") as svc:
        yield svc


@pytest.fixture(scope="module")
async def payroll(infra, bus, tmp_path_factory):  # type: ignore[no-untyped-def]
    from kinerja_payroll.bootstrap import build_service as build_payroll

    async with running(infra, bus, build_payroll, payroll_config(tmp_path_factory),
                       f"appay_{uuid.uuid4().hex[:12]}") as svc:
        yield svc


@pytest.fixture(scope="module")
def read_topic(bus):  # type: ignore[no-untyped-def]
    return topic_reader(bus.kafka_bootstrap)


async def decide(producer, read_topic, commands: list, received_at) -> dict:  # type: ignore[no-untyped-def]
    return await decide_commands(producer, read_topic, "appraisal", GATEWAY_KEY, commands,
                                 OUTCOME_TYPES, received_at)


def scores(*values: int) -> ev.BerAKHLAKScores:
    names = list(ev.BerAKHLAKScores.model_fields)
    return ev.BerAKHLAKScores(**dict(zip(names, values)))


def rate(rater: str, ratee: str, relation: str, given: ev.BerAKHLAKScores) -> cmd.GiveRating:
    return cmd.GiveRating(command_id=uuid.uuid4(), actor_nip=rater, sent_at=NOW,
                          ratee_nip=ratee, period=PERIOD, relation=relation, scores=given)


def assign(leader: str, assignee: str, due_day: int) -> cmd.AssignIKP:
    return cmd.AssignIKP(command_id=uuid.uuid4(), actor_nip=leader, sent_at=NOW,
                         ikp_id=f"IKP-{uuid.uuid4().hex[:8]}", assignee_nip=assignee,
                         period=PERIOD, title="Rekap data pegawai",
                         due_date=day_of_last_month(due_day).date())


def complete(leader: str, ikp_id: str, at: datetime) -> cmd.CompleteIKP:
    return cmd.CompleteIKP(command_id=uuid.uuid4(), actor_nip=leader, sent_at=at, ikp_id=ikp_id,
                           completed_at=at)


async def test_ratings_and_ikps_reach_payrolls_behaviour_ratio_and_ikp_part_exactly(
        service, payroll, producer, read_topic):  # type: ignore[no-untyped-def]
    team = Team()
    await publish_hr(producer, service, team.facts())  # (payroll reads the same topic)
    by_boss = rate(team.boss, team.clerk, "superior", scores(3, 3, 3, 3, 3, 3, 3))
    by_peer = rate(team.peer, team.clerk, "peer", scores(5, 5, 5, 5, 5, 5, 5))
    by_peer_again = rate(team.peer, team.clerk, "peer", scores(2, 2, 2, 2, 2, 2, 3))
    by_junior = rate(team.junior, team.clerk, "subordinate", scores(4, 4, 4, 4, 4, 4, 4))
    mismatch = rate(team.peer, team.clerk, "superior", scores(1, 1, 1, 1, 1, 1, 1))
    skip_level = rate(team.head, team.clerk, "superior", scores(1, 1, 1, 1, 1, 1, 1))
    window = [day_of_last_month(20, h) for h in range(10, 16)]
    rated = await decide(producer, read_topic, [by_boss, by_peer, by_peer_again, by_junior,
                                                mismatch, skip_level], window)
    assert [rated[c.command_id]["type"] for c in (by_boss, by_peer, by_peer_again,
                                                  by_junior)] == ["RatingGiven"] * 4
    assert rated[mismatch.command_id]["data"]["reason"] == "relation_mismatch"
    assert rated[skip_level.command_id]["data"]["reason"] == "not_related"
    given = rated[by_boss.command_id]
    assert (given["stream_id"], given["occurred_at"][:19]) == (
        f"rating:{team.clerk}:{PERIOD}", window[0].isoformat()[:19])

    on_time, late, missed = (assign(team.boss, team.clerk, 10), assign(team.head, team.clerk, 12),
                             assign(team.boss, team.clerk, 20))
    done_on_time = complete(team.boss, on_time.ikp_id, day_of_last_month(9))
    done_late = complete(team.head, late.ikp_id, day_of_last_month(15))
    ikps = await decide(producer, read_topic, [on_time, late, missed, done_on_time, done_late],
                        [day_of_last_month(2)] * 3 + [day_of_last_month(9, 11),
                                                      day_of_last_month(15, 11)])
    assert [ikps[c.command_id]["type"] for c in (on_time, late, missed)] == ["IKPAssigned"] * 3
    assert ikps[done_on_time.command_id]["data"]["assignee_nip"] == team.clerk
    assert ikps[done_late.command_id]["type"] == "IKPCompleted"

    # RULES.md §5: the peer's latest rating counts; S = (0.5×3 + 0.3×15/7 + 0.2×4) / 1
    s = Fraction(1, 2) * 3 + Fraction(3, 10) * Fraction(15, 7) + Fraction(1, 5) * 4
    behaviour = format_ratio(min(Fraction(1), s / 4))
    k = Fraction(3, 100) - Fraction(5, 100) - Fraction(5, 100)  # on time, late, never done
    data = await projected_until(payroll, PERIOD, team.clerk,
                                 lambda d: d["behaviour_ratio"] == behaviour and d["ikp_rupiah"]
                                 == round_half_away(d["base_rupiah"] * k))
    assert data["base_rupiah"] > 0
    assert "no_behaviour_rating" not in data["flags"]

    received = await http_get(service, f"/appraisal/received?nip={team.clerk}&period={PERIOD}")
    assert received["behaviour_ratio"] == behaviour == data["behaviour_ratio"]
    assert {g: v["raters"] for g, v in received["groups"].items()} == {
        "superior": 1, "peer": 1, "subordinate": 1}
    assert received["groups"]["peer"]["score"] == format_ratio(Fraction(15, 7))
    assert not {team.boss, team.peer, team.junior} & set(json.dumps(received).split('"'))

    leader = await http_get(service, f"/appraisal/ikp?leader={team.boss}")
    assert ([i["ikp_id"] for i in leader["overdue"]], leader["open"], leader["completed"]) == (
        [missed.ikp_id], [], 1)

    options = await http_get(service, f"/appraisal/rateable?nip={team.clerk}&period={PERIOD}")
    assert {(r["nip"], r["relation"]) for r in options["ratees"]} == {
        (team.boss, "subordinate"), (team.peer, "peer"), (team.junior, "superior")}

    def sample(name: str, labels: dict) -> float:
        return service.registry.get_sample_value(name, labels) or 0

    assert sample("kinerja_appraisal_ratings_total", {"relation": "peer"}) >= 2
    assert sample("kinerja_appraisal_ikp_total", {"event": "completed_on_time"}) >= 1
    assert sample("kinerja_appraisal_ikp_total", {"event": "completed_late"}) >= 1
    assert sample("kinerja_appraisal_outcomes_total", {
        "action": "GiveRating", "outcome": "refused", "reason": "relation_mismatch"}) >= 1
    async with asyncio.timeout(30):
        while sample("kinerja_appraisal_ikp_overdue", {}) < 1:
            await asyncio.sleep(0.2)


async def test_a_rating_outside_the_window_and_a_wrong_completion_are_refused(
        service, producer, read_topic):  # type: ignore[no-untyped-def]
    team = Team()
    await publish_hr(producer, service, team.facts())
    early = rate(team.boss, team.clerk, "superior", scores(4, 4, 4, 4, 4, 4, 4))
    ikp = assign(team.boss, team.clerk, 25)
    by_assignee = complete(team.clerk, ikp.ikp_id, day_of_last_month(5))
    outcomes = await decide(producer, read_topic, [early, ikp, by_assignee],
                            [day_of_last_month(19), day_of_last_month(2),
                             day_of_last_month(5)])
    assert outcomes[early.command_id]["data"]["reason"] == "rating_window_not_open"
    assert outcomes[by_assignee.command_id]["data"] == {
        "command_id": str(by_assignee.command_id), "nip": team.clerk, "action": "complete_ikp",
        "subject": ikp.ikp_id, "reason": "not_the_assigner", "retryable": False}


async def test_a_command_sent_twice_has_one_outcome(service, producer, read_topic):  # type: ignore[no-untyped-def]
    team = Team()
    await publish_hr(producer, service, team.facts())
    ikp = assign(team.boss, team.clerk, 25)
    done = complete(team.boss, ikp.ikp_id, day_of_last_month(5))
    await decide(producer, read_topic, [ikp, done], [day_of_last_month(2), day_of_last_month(5)])
    await send_command(producer, "appraisal", done, GATEWAY_KEY,
                       received_at=day_of_last_month(5, 12))
    marker = complete(team.boss, f"IKP-{uuid.uuid4().hex[:8]}", day_of_last_month(5))
    outcomes = await decide(producer, read_topic, [marker], day_of_last_month(5, 13))
    assert outcomes[marker.command_id]["data"]["reason"] == "unknown_ikp"
    async with service.engine.connect() as connection:
        conn = (await connection.get_raw_connection()).driver_connection
        caused = await conn.fetch("SELECT type FROM events WHERE envelope->>'causation_id' = $1",
                                  str(done.command_id))
    assert [r["type"] for r in caused] == ["IKPCompleted"]


async def test_poison_and_unsigned_commands_are_refused_and_the_next_one_decided(
        service, producer, read_topic):  # type: ignore[no-untyped-def]
    team = Team()
    await publish_hr(producer, service, team.facts())
    key = team.boss.encode()
    for body in (b'{"type": ["GiveRating"]}', b"[" * 100_000, b"\xff\xfe", b"",
                 b'{"n": ' + b"9" * 5000 + b"}"):
        await producer.send_and_wait(topics.commands_topic("appraisal"), body, key=key)
    unsigned = rate(team.boss, team.clerk, "superior", scores(4, 4, 4, 4, 4, 4, 4))
    await producer.send_and_wait(topics.commands_topic("appraisal"),
                                 unsigned.model_dump_json().encode(), key=key)
    valid = rate(team.boss, team.clerk, "superior", scores(4, 4, 4, 4, 4, 4, 4))
    outcomes = await decide(producer, read_topic, [valid], day_of_last_month(21))
    assert outcomes[valid.command_id]["type"] == "RatingGiven"
    refused = service.registry.get_sample_value(
        "kinerja_commands_refused_total", {"service": "appraisal", "reason": "bad_signature"})
    assert refused is not None and refused >= 1
    with pytest.raises(HTTPError) as bad:
        await http_get(service, "/appraisal/received?nip=1&period=2026-10")
    assert bad.value.code == 400
