"""Fuzzing the four command services: hostile messages derived from each command's contract model.

For every command type a service's pipeline accepts, valid messages are generated from the
model's JSON schema (`fuzzing.generate_messages`, hypothesis), then broken one defect at a time
(`fuzzing.Mutator`):
truncated and malformed JSON, arbitrary bytes, a wrong type, a missing or an extra field, strings
and arrays beyond their bounds (and a message of exactly 256 KiB), nesting beyond 8 levels (and
exactly 8), numbers out of range (1e308, -1, 2**63, 2**70, 1e309, NaN and Infinity literals),
U+0000 in a value or a key, an unknown `type`, a `version` or `schema_version` field, non-UUID
ids, impossible or out-of-bounds dates and times. Each mutation predicts the reason the pipeline
must give (the first failing check of docs/reasons.md, "Refused before deciding"); each message
is signed with the key its type requires, so it is refused for its content, not its signature.
Signature and record-timestamp defects are added on otherwise valid commands.

The check of a record's signature raised `TypeError` on a header value that is not ASCII
(`hmac.compare_digest` on a str), so such a record was parked as a `handler_error` instead of
refused as `bad_signature` (fixed in `signing.verify`); "a signature that is not ASCII" keeps
that caught at both levels.

Two levels:
- the pipeline's per-record check (`CommandPipeline.check`, a real pipeline of each service on
  fake records, no broker): whatever the bytes, headers and timestamp, it returns the command or
  raises `Refused` with exactly the predicted reason — never anything else;
- each running service on a broker of this module's own: a few hundred hostile messages on the
  partitions of real employees, then one valid command on each of those keys. The valid ones
  are decided; `kinerja_commands_refused_total{service,reason}` rose by exactly what was sent,
  by reason; nothing was parked; the service stored no event, outbox row or outcome of a hostile
  message; every metric label comes from a fixed list, never from a message.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import text

from kinerja_appraisal.bootstrap import AppraisalConfig
from kinerja_appraisal.bootstrap import build_service as build_appraisal
from kinerja_appraisal.decider import AppraisalLimits
from kinerja_appraisal.decider import make_decider as appraisal_decider
from kinerja_appraisal.handlers import command_models as appraisal_models
from kinerja_attendance.bootstrap import AttendanceConfig
from kinerja_attendance.bootstrap import build_service as build_attendance
from kinerja_attendance.decider import AttendanceDecider
from kinerja_attendance.handlers import Keys
from kinerja_attendance.handlers import command_models as attendance_models
from kinerja_attendance.projection import count_held, kept
from kinerja_events import commands as cmd
from kinerja_events import events as ev
from kinerja_events import topics
from kinerja_events.codec import make_codec
from kinerja_events.pipeline import CommandPipeline, Refused
from kinerja_events.publishing import command_body, envelope_of, publish_envelopes
from kinerja_events.resilience import Health
from kinerja_events.signing import SIGNATURE_HEADER, sign
from kinerja_events.types import WIB
from kinerja_mkd.bootstrap import MKDConfig
from kinerja_mkd.bootstrap import build_service as build_mkd
from kinerja_mkd.decider import make_decider as mkd_decider
from kinerja_mkd.handlers import command_models as mkd_models
from kinerja_worklog.bootstrap import WorklogConfig
from kinerja_worklog.bootstrap import build_service as build_worklog
from kinerja_worklog.decider import WorklogLimits
from kinerja_worklog.decider import make_decider as worklog_decider
from kinerja_worklog.handlers import command_models as worklog_models
from fuzzing import (CATEGORIES, Mutator, RefusalMetric, assert_accounting_catches, encode,
                     generate_messages, mutate_each_category, take_examples)
from org import FAST_GROUP_JOIN, Team, running_all

pytestmark = pytest.mark.reliability

REFUSALS = frozenset({  # docs/reasons.md, "Refused before deciding": the only label values
    "bad_timestamp", "empty", "too_large", "not_utf8", "not_json", "not_object", "too_deep",
    "integer_out_of_range", "nul_character", "unknown_type", "bad_signature", "invalid"})
REFUSED = RefusalMetric("kinerja_commands_refused_total", REFUSALS)

GATEWAY_KEY = b"fuzz-gateway-key"
HR_KEY = b"fuzz-hr-key"
INTRUDER_KEY = b"fuzz-intruder-key"
ATTENDANCE_KEYS = Keys(GATEWAY_KEY, HR_KEY)
MODELS: dict[str, type[BaseModel]] = {  # every command of the contract, by its `type`
    model.model_fields["type"].default: model
    for model in get_args(get_args(cmd.AnyCommand)[0])}
OFFICE = ev.OfficeRegistered(office_id="GS", name="Gedung Sate", lat=-6.902481, lon=107.618810,
                             radius_m=200)

# Record timestamps (ms) the pipeline must refuse: 1970, the last millisecond of 1999 in WIB,
# the first of 2100 in WIB. (946659600000 and 4102419599999 are the bounds' own ends.)
BAD_TIMESTAMPS = (0, 946_659_599_999, 4_102_419_600_000)


# --- signatures and record timestamps ---------------------------------------------------------
Headers = list[tuple[str, bytes | None]]


def signed(body: bytes, key: bytes) -> Headers:
    return [(SIGNATURE_HEADER, sign(body, key).encode())]


def signature_defects(body: bytes, key: bytes, wrong_key: bytes
                      ) -> list[tuple[str, bytes, Headers]]:
    """(what is wrong, body, headers) of a valid command's `body` whose signature is not the
    HMAC of its bytes under `key`: each must be refused as `bad_signature`."""
    right = sign(body, key)
    return [
        ("no signature", body, []),
        ("signed with another key", body, signed(body, wrong_key)),
        ("the right HMAC in upper case", body, [(SIGNATURE_HEADER, right.upper().encode())]),
        ("a signature that is not ASCII", body, [(SIGNATURE_HEADER, b"\xff\xfe" * 32)]),
        ("a null signature header", body, [(SIGNATURE_HEADER, None)]),
        ("the header name in other case", body, [(SIGNATURE_HEADER.upper(), right.encode())]),
        ("the body changed after signing", body + b" ", signed(body, key)),
        ("a wrong signature before the right one", body,
         signed(body, wrong_key) + signed(body, key)),
        ("an empty signature", body, [(SIGNATURE_HEADER, b"")]),
    ]


# --- the four services ------------------------------------------------------------------------
def now() -> datetime:
    return datetime.now(WIB).replace(microsecond=0)


@dataclass
class ServiceUnderTest:
    name: str
    build: Any
    config: Any
    keys: dict[str, bytes]  # command type -> the key its signature must be made with
    employees: Callable[[Team], list[str]]  # the NIPs whose partitions are fuzzed
    valid: Callable[[Team, str], BaseModel]  # the valid command sent on an employee's key
    outcomes: tuple[str, ...]  # the event types a valid command may be decided with
    pipeline: Callable[[], CommandPipeline[Any, Any]]  # a pipeline for `check`, no broker
    hostile_per_category: int = 3


def a_pipeline(service: str, models: Any, decider: Any) -> Callable[[], CommandPipeline]:
    """The service's own pipeline (its models, keys and decider) on no database: `check` needs
    neither the database nor the reference data."""
    no_database: Any = None
    return lambda: CommandPipeline(service=service, engine=no_database, codec=make_codec(),
                                   models=models, decider=decider, reference=no_database,
                                   health=Health())


def last_day_of_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def next_monday(day: date) -> date:
    return day + timedelta(days=7 - day.weekday())


def subordinate_of(team: Team, nip: str) -> str:
    """The direct subordinate `nip` assigns an IKP to (the head's is the boss, and so on)."""
    chain = [team.head, team.boss, team.clerk, team.junior]
    return chain[chain.index(nip) + 1]


SERVICES: dict[str, ServiceUnderTest] = {s.name: s for s in (
    ServiceUnderTest(
        "attendance", build_attendance, AttendanceConfig(keys=ATTENDANCE_KEYS),
        keys=dict(attendance_models(ATTENDANCE_KEYS).keys),
        employees=lambda team: [team.clerk, team.peer, team.junior],
        valid=lambda team, nip: cmd.CheckIn(
            command_id=uuid.uuid4(), actor_nip=nip, sent_at=now(), at=now() - timedelta(
                minutes=1), lat=OFFICE.lat, lon=OFFICE.lon, accuracy_m=10, mode="office"),
        outcomes=("CheckedIn",),
        pipeline=a_pipeline("attendance", attendance_models(ATTENDANCE_KEYS),
                            AttendanceDecider()),
        hostile_per_category=3),
    ServiceUnderTest(
        "worklog", build_worklog, WorklogConfig(gateway_key=GATEWAY_KEY),
        keys=dict(worklog_models(GATEWAY_KEY).keys),
        employees=lambda team: [team.clerk, team.peer, team.junior],
        valid=lambda team, nip: cmd.LogActivity(
            command_id=uuid.uuid4(), actor_nip=nip, sent_at=now(),
            activity_id=f"ACT-{uuid.uuid4().hex[:8]}", work_date=now().date(), task_code="LAP",
            quantity=1, description="Laporan kegiatan"),
        outcomes=("ActivityLogged",),
        pipeline=a_pipeline("worklog", worklog_models(GATEWAY_KEY),
                            worklog_decider(WorklogLimits())),
        hostile_per_category=4),
    ServiceUnderTest(
        "appraisal", build_appraisal, AppraisalConfig(gateway_key=GATEWAY_KEY),
        keys=dict(appraisal_models(GATEWAY_KEY).keys),
        employees=lambda team: [team.head, team.boss, team.clerk],
        valid=lambda team, nip: cmd.AssignIKP(
            command_id=uuid.uuid4(), actor_nip=nip, sent_at=now(),
            ikp_id=f"IKP-{uuid.uuid4().hex[:8]}", assignee_nip=subordinate_of(team, nip),
            period=now().strftime("%Y-%m"), title="Rekap data pegawai",
            due_date=last_day_of_month(now().date())),
        outcomes=("IKPAssigned",),
        pipeline=a_pipeline("appraisal", appraisal_models(GATEWAY_KEY),
                            appraisal_decider(AppraisalLimits())),
        hostile_per_category=4),
    ServiceUnderTest(
        "mkd", build_mkd, MKDConfig(gateway_key=GATEWAY_KEY),
        keys=dict(mkd_models(GATEWAY_KEY).keys),
        employees=lambda team: [team.clerk, team.peer, team.junior],
        valid=lambda team, nip: cmd.RequestMKD(
            command_id=uuid.uuid4(), actor_nip=nip, sent_at=now(),
            request_id=f"MKD-{uuid.uuid4().hex[:8]}", week_start=next_monday(now().date()),
            days=[next_monday(now().date())]),
        outcomes=("MKDRequested", "MKDRefused"),  # (refused while no eligibility is known)
        pipeline=a_pipeline("mkd", mkd_models(GATEWAY_KEY), mkd_decider()),
        hostile_per_category=6),
)}


def other_services_types(service: ServiceUnderTest) -> list[str]:
    return [t for t in MODELS if t not in service.keys]


def wrong_key(service: ServiceUnderTest, kind: str) -> bytes:
    """A key that is not `kind`'s: the other signer's where the service has two, else an
    intruder's."""
    return next((k for k in service.keys.values() if k != service.keys[kind]), INTRUDER_KEY)


# --- the hostile catalogue sent through the broker --------------------------------------------
@dataclass(frozen=True)
class Hostile:
    category: str
    reason: str | None  # None: arbitrary bytes, refused for any reason of the fixed list
    key: bytes
    body: bytes | None
    headers: Headers
    timestamp_ms: int | None = None
    command_id: str | None = None


def hostile_catalogue(service: ServiceUnderTest, employees: Sequence[str]) -> list[Hostile]:
    """Every category for every command type of `service`, `hostile_per_category` times each,
    on the employees' keys; then signature and record-timestamp defects on valid commands; a
    null value. At most two messages of a category over 64 KiB per type (the bus stays fast)."""
    catalogue: list[Hostile] = []
    rnd = random.Random(f"fuzz-{service.name}")
    for kind, key in service.keys.items():
        mutator = Mutator(MODELS[kind], other_services_types(service))
        count = len(CATEGORIES) * service.hostile_per_category + 12
        bases = itertools.cycle(take_examples(generate_messages(MODELS[kind]), count))
        for category, nip, raw, reason, body in mutate_each_category(
                mutator, rnd, bases, employees, service.hostile_per_category, len(catalogue),
                as_employees):
            catalogue.append(Hostile(category, reason, nip.encode(), body, signed(body, key),
                                     command_id=raw["command_id"]))
        for what, body, headers in signature_defects(encode(as_employees(
                next(bases), employees[0])), key, wrong_key(service, kind))[:5]:
            catalogue.append(Hostile(f"signature: {what}", "bad_signature",
                                     employees[0].encode(), body, headers,
                                     command_id=json.loads(body)["command_id"]))
        for timestamp in BAD_TIMESTAMPS[:2]:
            body = encode(as_employees(next(bases), employees[1 % len(employees)]))
            catalogue.append(Hostile("record timestamp", "bad_timestamp",
                                     employees[1 % len(employees)].encode(), body,
                                     signed(body, key), timestamp, json.loads(body)["command_id"]))
    kind, key = next(iter(service.keys.items()))  # the other signature defects, once
    base = take_examples(generate_messages(MODELS[kind]), 1)[0]
    for what, body, headers in signature_defects(
            encode(as_employees(base, employees[-1])), key, wrong_key(service, kind))[5:]:
        catalogue.append(Hostile(f"signature: {what}", "bad_signature", employees[-1].encode(),
                                 body, headers, command_id=json.loads(body)["command_id"]))
    catalogue.append(Hostile("null value", "empty", employees[0].encode(), None, []))
    catalogue.append(Hostile("record timestamp", "bad_timestamp", employees[0].encode(),
                             encode({"type": "CheckIn"}), [], BAD_TIMESTAMPS[2]))
    return catalogue


def as_employees(raw: dict, nip: str) -> dict:
    """A generated command as an employee of the team would send it: their NIP, a fresh id."""
    changed = {**raw, "command_id": str(uuid.uuid4()), "actor_nip": nip}
    if "nip" in raw:
        changed["nip"] = nip
    return changed


# --- reading a service ------------------------------------------------------------------------
async def outcomes_of(engine: Any, command_ids: Sequence[uuid.UUID], timeout: float = 30
                      ) -> dict[uuid.UUID, Any]:
    """The `commands` rows of `command_ids`, once every one is stored (polled; fails naming
    the undecided ones after `timeout` seconds)."""
    rows: dict[uuid.UUID, Any] = {}
    try:
        async with asyncio.timeout(timeout):
            while len(rows) < len(command_ids):
                await asyncio.sleep(0.05)
                async with engine.connect() as conn:
                    rows = {row.command_id: row for row in await conn.execute(text(
                        "SELECT command_id, stream_id, event_ids, reason FROM commands "
                        "WHERE command_id = ANY(:ids)"), {"ids": list(command_ids)})}
    except TimeoutError:
        pytest.fail(f"not decided in {timeout} s (a stalled partition?): "
                    f"{sorted(map(str, set(command_ids) - rows.keys()))}")
    return rows


# --- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
async def fleet(infra, bus, producer):  # type: ignore[no-untyped-def]
    """One team, and the four services running on the module's broker (by name), each on a
    database of its own, all holding the team's HR facts and its office."""
    team = Team()
    async with running_all(infra, bus, {
            name: (service.build, service.config, f"fz{name[:3]}_{uuid.uuid4().hex[:12]}")
            for name, service in SERVICES.items()}, **FAST_GROUP_JOIN) as running_services:
        facts = [envelope_of(OFFICE, source="hr", stream_id="office:GS",
                             occurred_at=now() - timedelta(days=40)), *team.facts()]
        await publish_envelopes(producer, make_codec(), facts)
        await asyncio.gather(*(holds(svc, facts, name == "attendance")
                               for name, svc in running_services.items()))
        yield team, running_services


async def holds(service: Any, facts: list, attendance: bool) -> None:
    """Until `service` holds every HR fact of `facts` it keeps (by event id)."""
    async with asyncio.timeout(30):
        while True:
            async with service.engine.connect() as conn:
                if attendance:
                    done = await conn.scalar(count_held(facts)) == kept(facts)
                else:
                    done = await conn.scalar(text(
                        "SELECT count(*) FROM reference_facts WHERE event_id = ANY(:ids)"),
                        {"ids": [f.event_id for f in facts if f.type != "OfficeRegistered"]}
                    ) == len(facts) - 1
            if done:
                return
            await asyncio.sleep(0.05)


# --- 1. the per-record check, on arbitrary input ----------------------------------------------
@dataclass(frozen=True)
class FakeRecord:
    """What `CommandPipeline.check` reads of a Kafka record."""

    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]]
    timestamp: Any
    key: bytes | None = None
    topic: str = "kinerja.commands.fuzz"
    partition: int = 0
    offset: int = 0


EXTRA_CATEGORIES = ("valid", "signature", "timestamp", "arbitrary_record")
WITHIN_BOUNDS = (946_659_600_000, 4_102_419_599_999)  # 2000-01-01 00:00 and the last ms of 2099


def arbitrary_record(rnd: random.Random) -> FakeRecord:
    """A record of random bytes, random headers (the signature's among them) and a random
    timestamp of any type."""
    def value() -> bytes | None:
        return rnd.choice([None, b"", rnd.randbytes(rnd.randrange(1, 300))])

    names = [SIGNATURE_HEADER, "x-other", "", rnd.randbytes(8).decode("latin-1")]
    headers = [(rnd.choice(names), value()) for _ in range(rnd.randrange(4))]
    timestamp = rnd.choice([None, rnd.randrange(-(2**70), 2**70), rnd.uniform(-1e20, 1e20),
                            True, "1700000000000", rnd.randrange(946_659_600_000, 2**42)])
    return FakeRecord(value(), headers, timestamp)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_the_pipeline_check_refuses_every_hostile_record_by_its_predicted_reason_and_nothing_else(
        kind: str) -> None:
    """For 300 generated records per command type: the check of the service that takes `kind`
    returns the command exactly when the record is valid (a generated command, signed with its
    key, received in 2000–2099 — the bounds' own ends included), and otherwise raises `Refused`
    with the reason its one defect predicts — arbitrary bytes, headers and timestamps included:
    never another exception, never a reason outside the fixed list."""
    [service] = [s for s in SERVICES.values() if kind in s.keys]
    pipeline = service.pipeline()
    key = service.keys[kind]
    mutator = Mutator(MODELS[kind], other_services_types(service))
    received_now = int(datetime.now(WIB).timestamp() * 1000)
    tried: Counter[str] = Counter()

    @settings(max_examples=300, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(generate_messages(MODELS[kind]), st.integers(0, 2**32))
    def check(raw: dict, seed: int) -> None:
        body = encode(raw)
        # The defect and its details, from the drawn seed and the drawn command together:
        # hypothesis repeats simple seeds (and the first of a list) often; this spreads them.
        rnd = random.Random(f"{seed}:{body!r}")
        category = rnd.choice(CATEGORIES + EXTRA_CATEGORIES)
        tried[category] += 1
        record = FakeRecord(body, signed(body, key), received_now)
        expected: str | None = None
        if category == "signature":
            defects = signature_defects(body, key, wrong_key(service, kind))
            _, defect_body, defect_headers = defects[rnd.randrange(len(defects))]
            record, expected = FakeRecord(defect_body, defect_headers, received_now), \
                "bad_signature"
        elif category == "timestamp":
            record = FakeRecord(body, signed(body, key), rnd.choice(
                [*BAD_TIMESTAMPS, -1, 2**62, 10**30, None, 1.5, "1", True]))
            expected = "bad_timestamp"
        elif category == "valid":
            record = FakeRecord(body, signed(body, key), rnd.choice(
                [received_now, *WITHIN_BOUNDS]))
        elif category == "arbitrary_record":  # anything at all in every attribute
            record, expected = arbitrary_record(rnd), "?"
        else:
            expected, body = mutator.mutate(category, rnd, raw)
            record, expected = FakeRecord(body, signed(body, key), received_now), expected or "?"
        try:
            received = pipeline.check(record)
        except Refused as refusal:
            assert refusal.reason in REFUSALS, refusal.reason
            assert expected is not None, f"a valid {kind} refused: {refusal}"
            assert expected in ("?", refusal.reason), (
                f"{category}: expected {expected}, refused as {refusal.reason}: "
                f"{record.value[:200]!r}")
            return
        assert expected is None, f"{category}: accepted, expected {expected}: {record.value!r}"
        assert received.command == pipeline.models.adapter.validate_python(raw)
        assert received.received_at == datetime.fromtimestamp(record.timestamp / 1000, WIB)

    check()
    assert set(tried) == set(CATEGORIES + EXTRA_CATEGORIES), f"categories not tried: {tried}"


# --- 2. the running services ------------------------------------------------------------------
@pytest.mark.parametrize("name", list(SERVICES))
async def test_hostile_commands_on_employees_partitions_are_refused_by_reason_and_change_nothing(
        name: str, fleet, producer) -> None:  # type: ignore[no-untyped-def]
    """A few hundred hostile messages for every command type of the service, on the partitions
    of three employees, then one valid command on each of those keys: every valid command is
    decided (no partition stalled); the refusal counter rose by exactly the messages sent, by
    the reason each predicts (arbitrary bytes: some reason of the fixed list); nothing was
    parked; the service's commands, events and outbox hold the valid commands' outcomes and
    nothing of a hostile message; no metric label carries message content."""
    service = SERVICES[name]
    team, running_services = fleet
    svc = running_services[name]
    employees = service.employees(team)
    catalogue = hostile_catalogue(service, employees)
    expected = Counter(h.reason for h in catalogue if h.reason is not None)
    anything = sum(1 for h in catalogue if h.reason is None)
    before = REFUSED.count_by_reason(svc.registry, service=name)

    topic = topics.commands_topic(name)
    await asyncio.gather(*[await producer.send(
        topic, value=h.body, key=h.key, headers=h.headers, timestamp_ms=h.timestamp_ms)
        for h in catalogue])
    valid = [service.valid(team, nip) for nip in employees]
    await asyncio.gather(*[await producer.send(
        topic, value=command_body(command), key=nip.encode(),
        headers=signed(command_body(command), service.keys[command.type]))
        for nip, command in zip(employees, valid)])

    # (a) the valid commands, each on a fuzzed key, are decided — by their ids
    outcomes = await outcomes_of(svc.engine, [c.command_id for c in valid])
    async with svc.engine.connect() as conn:
        events = (await conn.execute(text(
            "SELECT event_id, type, envelope->>'causation_id' AS causation FROM events"))).all()
        outbox = await conn.scalar(text("SELECT count(*) FROM outbox"))
        decided = set((await conn.scalars(text("SELECT command_id FROM commands"))).all())
        parked = (await conn.execute(text(
            "SELECT topic, \"offset\", reason, error FROM dead_letters"))).all()
    caused = {str(c.command_id): [e.type for e in events if e.causation == str(c.command_id)]
              for c in valid}
    assert all(len(types) == 1 and types[0] in service.outcomes for types in caused.values()), \
        caused
    assert all(row.reason is None and len(row.event_ids) == 1 for row in outcomes.values())

    # (b) every hostile message refused, by the reason it predicts; none parked
    assert parked == [], f"parked instead of refused: {parked[:3]}"
    REFUSED.assert_refusals(before, REFUSED.count_by_reason(svc.registry, service=name),
                            expected, anything)

    # (c) nothing else changed: only the valid commands' outcomes and events are stored
    hostile_ids = {h.command_id for h in catalogue if h.command_id}
    assert decided == {c.command_id for c in valid}
    assert not {str(c) for c in decided} & hostile_ids
    assert {e.causation for e in events} == {str(c.command_id) for c in valid}
    assert len(events) == outbox == sum(len(row.event_ids) for row in outcomes.values())

    # (d) metric labels only from the fixed lists
    REFUSED.assert_labels_fixed(svc.registry)
    tally = Counter(h.category.split(":")[0] for h in catalogue)
    print(f"\n{name}: {len(catalogue)} hostile messages, {len(valid)} valid; {dict(tally)}")


# --- 3. the accounting above can fail ---------------------------------------------------------
def test_the_refusal_accounting_catches_a_missing_an_extra_or_a_misattributed_refusal() -> None:
    """`REFUSED.assert_refusals` and `.assert_labels_fixed`, given counts that do not add up or
    a label taken from a message, fail: the service test above can catch what it claims to."""
    assert_accounting_catches(REFUSED, other="not_utf8", unlisted="fuzz_type",  # a label of content
                              content={"service": "mkd", "reason": "FuzzCommand"})
