"""Fuzzing the fact topics: hostile messages derived from each event's envelope model, against
payroll's fact consumer and the services' reference-data consumers.

For every event type of each fact topic (`topics.FACT_TOPICS`: `kinerja.hr`, `.attendance`,
`.worklog`, `.appraisal`, `.mkd`), valid envelopes are generated from the envelope model's JSON
schema (`fuzzing.generate_messages`, hypothesis) and broken one defect at a time
(`fuzzing.Mutator`, the same categories as `test_fuzz_commands`): truncated and malformed JSON,
arbitrary bytes, a wrong type, a missing or an extra field (in the envelope or its `data`),
strings and arrays beyond their bounds, nesting beyond 8 levels, numbers out of range, U+0000,
an unknown `type`, and a `schema_version` this code does not know (a later one, or one no
upcaster leads from), which is parked in `dead_letters` rather than refused (a later version of
the code may read it). Some hostile messages, and some valid facts, carry Kafka header values
that are not UTF-8, or null.

Two levels:
- the inbox's decoding of one message (`inbox.receive`, no broker): whatever the bytes, it
  returns the delivery of a valid envelope (its text as it came) or raises `ContractError` with
  exactly the reason the defect predicts — never another exception;
- payroll and the four command services running on a broker of this module's own: about
  470 hostile messages on the partitions of two employees' facts, then one valid fact per
  topic and employee after them. Each consumer applies every valid fact of its topics exactly
  once (waited for by event id in its inbox), counts each hostile message in
  `kinerja_inbox_refused_total{consumer,reason}` by the predicted reason or parks it (unknown
  versions, with that reason), and keeps nothing else: payroll's `facts` and the services'
  `reference_facts` hold the valid facts only; no metric label carries message content.

A bug this found (fixed in `kinerja_events.inbox`): FastStream decodes every Kafka header value
as UTF-8 when it parses a batch; a value that is not (or a null one) failed the parse, the batch
was neither applied nor nacked, and the next batch's commit skipped it — the valid facts beside
the hostile message were lost without a trace. The inbox now gives FastStream's parser copies of
such records with those values emptied (`inbox.readable_headers`);
`test_facts_whose_headers_are_not_utf8_or_null_are_applied_with_the_facts_beside_them` is the
failing test that proves it on one batch.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from kinerja_appraisal.bootstrap import CONSUMES as APPRAISAL_CONSUMES
from kinerja_appraisal.bootstrap import AppraisalConfig
from kinerja_appraisal.bootstrap import build_service as build_appraisal
from kinerja_appraisal.projection import KEPT_TYPES as APPRAISAL_KEPT
from kinerja_attendance.bootstrap import CONSUMES as ATTENDANCE_CONSUMES
from kinerja_attendance.bootstrap import AttendanceConfig
from kinerja_attendance.bootstrap import build_service as build_attendance
from kinerja_attendance.projection import KEPT_TYPES as ATTENDANCE_KEPT
from kinerja_events import events as ev
from kinerja_events import topics
from kinerja_events.codec import REFUSAL_REASONS, ContractError, make_codec
from kinerja_events.deadletters import list_dead_letters
from kinerja_events.embedded import create_topics
from kinerja_events.envelope import seal
from kinerja_events.inbox import receive, subscribe_inbox
from kinerja_events.observability import make_registry
from kinerja_events.outbox import make_producer
from kinerja_events.publishing import envelope_of
from kinerja_events.topics import kafka_key
from kinerja_events.types import WIB
from kinerja_events.upcasters import UPCASTERS
from kinerja_mkd.bootstrap import CONSUMES as MKD_CONSUMES
from kinerja_mkd.bootstrap import MKDConfig
from kinerja_mkd.bootstrap import build_service as build_mkd
from kinerja_mkd.projection import KEPT_TYPES as MKD_KEPT
from kinerja_payroll.bootstrap import CONSUMES as PAYROLL_CONSUMES
from kinerja_payroll.bootstrap import PayrollConfig
from kinerja_payroll.bootstrap import build_service as build_payroll
from kinerja_payroll.intake import PAYROLL_TYPES_IGNORED
from kinerja_worklog.bootstrap import CONSUMES as WORKLOG_CONSUMES
from kinerja_worklog.bootstrap import WorklogConfig
from kinerja_worklog.bootstrap import build_service as build_worklog
from kinerja_worklog.projection import KEPT_TYPES as WORKLOG_KEPT
from fuzzing import (CATEGORIES, Mutator, Path, RefusalMetric, assert_accounting_catches,
                     encode, generate_messages, mutate_each_category, remove_at,
                     take_examples)
from org import FAST_GROUP_JOIN, running_all

pytestmark = pytest.mark.reliability

REFUSALS = frozenset(REFUSAL_REASONS) - {"unknown_version"}  # an unknown version is parked
REFUSED = RefusalMetric("kinerja_inbox_refused_total", REFUSALS)  # a registry has one inbox
JUNK_HEADERS = [("x-fuzz-junk", b"\xff\xfe\x00"), ("x-fuzz-null", None)]
"""Header values FastStream cannot decode: not UTF-8, and null."""

TOPIC_TYPES: dict[str, tuple[str, ...]] = {  # docs/contract.md, "Topics"
    topics.HR: ("OfficeRegistered", "PositionDefined", "EmployeeRegistered", "EmployeeChanged",
                "EmployeeTerminated", "HolidayDeclared"),
    topics.ATTENDANCE: ("CheckedIn", "CheckedOut", "CheckInRejected", "LeaveRecorded",
                        "LeaveCancelled", "OfficialTravelRecorded"),
    topics.WORKLOG: ("ActivityLogged", "ActivityApproved", "ActivityRejected", "ActivityRefused"),
    topics.APPRAISAL: ("RatingGiven", "IKPAssigned", "IKPCompleted", "SKPDrafted", "SKPApproved",
                       "SKPReturned", "EvaluationGiven", "AppraisalRefused"),
    topics.MKD: ("MKDRequested", "MKDGranted", "MKDDenied", "MKDRevoked", "MKDRefused"),
}
SOURCE_OF = {topic: source for source, topic in topics.SOURCE_TOPIC.items()}
assert set(TOPIC_TYPES) == set(topics.FACT_TOPICS) and {
    kind for kinds in TOPIC_TYPES.values() for kind in kinds} == set(ev.ENVELOPES) - {
    "TPPCalculated", "TPPAdjusted", "PayrollClosed", "MKDEligibilityDetermined"}, \
    "every event type of the contract on a fact topic (payroll's own travel on kinerja.payroll)"


# --- breaking an envelope, one defect at a time ---------------------------------------------
class FactMutator(Mutator):
    """`Mutator` for an envelope: a `schema_version` set to an integer is judged as the codec
    must — the current one is no defect, an older one with upcasters up to the current one is
    read (`ActivityLogged` v1), any other is unknown (parked); so the predicted reason of a
    version may be None, a valid message."""

    def __init__(self, kind: str):
        super().__init__(ev.ENVELOPES[kind], other_types=("CheckIn", "LeaveInvented"))
        self.kind = kind
        self.current = ev.SCHEMA_VERSIONS.get(kind, 1)

    def version_reason(self, version: int) -> str | None:
        while version < self.current and (self.kind, version) in UPCASTERS:
            version += 1
        return None if version == self.current else "unknown_version"

    def reason_for(self, path: Path, value: Any) -> str | None:
        if path == ("schema_version",) and isinstance(value, int) and not isinstance(value, bool):
            return self.version_reason(value)
        return super().reason_for(path, value)

    def missing(self, rnd: random.Random, raw: dict) -> tuple[str | None, bytes]:
        if rnd.random() < 0.15:  # not required by the model (it has a default), but by the codec
            return "invalid", encode(remove_at(raw, ("schema_version",)))
        return super().missing(rnd, raw)

    def future_version(self, rnd: random.Random, raw: dict) -> tuple[str | None, bytes]:
        """A version this code does not know: later, or earlier than any upcaster leads from."""
        version = rnd.choice([self.current + 1, 99, 2**31, 2**63 - 1, 0, -1, -(2**63)])
        return self.version_reason(version), encode({**raw, "schema_version": version})


KEY_FIELD = {"RatingGiven": "ratee_nip", "IKPAssigned": "assignee_nip",
             "IKPCompleted": "assignee_nip"}  # `topics.kafka_key`: the NIP a fact is keyed by


def as_employees(raw: dict, nip: str) -> dict:
    """A generated envelope as a fact about an employee: their NIP where its key is, a fresh
    event id."""
    data = dict(raw["data"])
    field = KEY_FIELD.get(raw["type"], "nip")
    if field in data:
        data[field] = nip
    return {**raw, "event_id": str(uuid.uuid4()), "data": data}


def envelope_values(kind: str) -> st.SearchStrategy[dict]:
    return generate_messages(ev.ENVELOPES[kind])


# --- the consumers ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ConsumerUnderTest:
    name: str
    build: Any
    config: Any
    topics: tuple[str, ...]  # the fact topics its inbox reads
    kept: frozenset[str]  # the types it keeps in `tables`
    tables: tuple[str, ...]  # where it keeps them (appraisal: worklog's apart, by NIP)

    def inbox_consumer(self, service: Any) -> str:
        """The inbox's consumer name (its consumer group)."""
        if self.name == "payroll":
            return next(g for g in service.sampler.groups if g.endswith("-facts"))
        return service.commands.group_id.removesuffix("commands") + "reference"


def fact_topics(consumes: Iterable[str]) -> tuple[str, ...]:
    return tuple(t for t in consumes if t in topics.FACT_TOPICS)


CONSUMERS = {c.name: c for c in (
    ConsumerUnderTest("payroll", build_payroll, None, fact_topics(PAYROLL_CONSUMES["facts"]),
                      frozenset(ev.ENVELOPES) - PAYROLL_TYPES_IGNORED, ("facts",)),
    ConsumerUnderTest("attendance", build_attendance, AttendanceConfig(),
                      fact_topics(ATTENDANCE_CONSUMES["reference"]), ATTENDANCE_KEPT,
                      ("reference_facts",)),
    ConsumerUnderTest("worklog", build_worklog, WorklogConfig(),
                      fact_topics(WORKLOG_CONSUMES["reference"]), WORKLOG_KEPT,
                      ("reference_facts",)),
    ConsumerUnderTest("appraisal", build_appraisal, AppraisalConfig(),
                      fact_topics(APPRAISAL_CONSUMES["reference"]), APPRAISAL_KEPT,
                      ("reference_facts", "worklog_facts")),
    ConsumerUnderTest("mkd", build_mkd, MKDConfig(), fact_topics(MKD_CONSUMES["reference"]),
                      MKD_KEPT, ("reference_facts",)),
)}

# --- what is published ------------------------------------------------------------------------
@dataclass(frozen=True)
class Hostile:
    topic: str
    category: str
    reason: str | None  # None: arbitrary bytes, refused for any reason of the fixed list
    key: bytes
    body: bytes | None
    headers: list[tuple[str, bytes | None]]
    event_id: str | None = None


def hostile_catalogue(topic: str, employees: Sequence[str]) -> list[Hostile]:
    """Every category for every event type of `topic` (twice for a topic of four types), on
    the employees' keys, a fifth of them with headers FastStream cannot decode; a null value.
    At most two messages of a category over 64 KiB per type."""
    catalogue: list[Hostile] = []
    rnd = random.Random(f"fuzz-{topic}")
    per_category = 1 if len(TOPIC_TYPES[topic]) > 4 else 2
    for kind in TOPIC_TYPES[topic]:
        mutator = FactMutator(kind)
        bases = itertools.cycle(take_examples(envelope_values(kind),
                                              len(CATEGORIES) * per_category))
        for category, nip, raw, reason, body in mutate_each_category(
                mutator, rnd, bases, employees, per_category, len(catalogue), as_employees):
            headers = list(JUNK_HEADERS) if rnd.random() < 0.2 else []
            catalogue.append(Hostile(topic, category, reason, nip.encode(), body, headers,
                                     raw["event_id"]))
    catalogue.append(Hostile(topic, "null value", "empty", employees[0].encode(), None,
                             list(JUNK_HEADERS)))
    return catalogue


def valid_fact(topic: str, nip: str, other: str) -> Any:
    """A valid fact about `nip` on `topic` (`other`: a second employee it names)."""
    at = datetime.now(WIB).replace(microsecond=0) - timedelta(hours=1)
    today, code = at.date(), uuid.uuid4().hex[:8]
    data = {
        topics.HR: lambda: ev.EmployeeRegistered(
            nip=nip, name="Pegawai", position_code="ANALIS", unit="Biro Umum", office_id="GS",
            superior_nip=other, effective_date=date(2020, 1, 1)),
        topics.ATTENDANCE: lambda: ev.LeaveRecorded(
            leave_id=f"CUTI-{code}", nip=nip, kind="annual", start_date=today,
            end_date=today + timedelta(days=1)),
        topics.WORKLOG: lambda: ev.ActivityLogged(
            activity_id=f"ACT-{code}", nip=nip, work_date=today, task_code="LAP", quantity=1,
            minutes=60, description="Laporan kegiatan", evidence_ref=None, skp_item_id=None),
        topics.APPRAISAL: lambda: ev.RatingGiven(
            rater_nip=other, ratee_nip=nip, period=at.strftime("%Y-%m"), relation="peer",
            scores=ev.BerAKHLAKScores(**dict.fromkeys(ev.BerAKHLAKScores.model_fields, 4))),
        topics.MKD: lambda: ev.MKDGranted(request_id=f"MKD-{code}", nip=nip,
                                          approver_nip=other, days=[today]),
    }[topic]()
    stream = {topics.HR: f"employee:{nip}", topics.ATTENDANCE: f"employee:{nip}",
              topics.WORKLOG: f"activity:ACT-{code}",
              topics.APPRAISAL: f"rating:{nip}:{at.strftime('%Y-%m')}",
              topics.MKD: f"mkd:MKD-{code}"}[topic]
    return envelope_of(data, source=SOURCE_OF[topic], stream_id=stream, occurred_at=at)


@dataclass
class Published:
    hostile: list[Hostile]
    valid: dict[str, list[Any]]  # topic -> its valid facts (envelopes)
    refused_before: dict[str, Counter[str]]  # consumer -> refusals by reason, before


# --- reading a consumer -----------------------------------------------------------------------
async def applied(engine: Any, consumer: str, event_ids: Sequence[Any], timeout: float = 30
                  ) -> None:
    """Until `consumer`'s inbox holds every one of `event_ids` (polled; fails naming the ones
    not applied after `timeout` seconds)."""
    wanted = {uuid.UUID(str(i)) for i in event_ids}
    held: set[uuid.UUID] = set()
    try:
        async with asyncio.timeout(timeout):
            while held != wanted:
                await asyncio.sleep(0.05)
                async with engine.connect() as conn:
                    held = set((await conn.scalars(text(
                        "SELECT event_id FROM inbox WHERE consumer = :c AND event_id = ANY(:ids)"
                    ), {"c": consumer, "ids": list(wanted)})).all())
    except TimeoutError:
        pytest.fail(f"not applied by {consumer} in {timeout} s (lost, or a stalled partition?): "
                    f"{sorted(map(str, wanted - held))}")


# --- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
async def consumers(infra, bus, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Payroll and the four command services on the module's broker (by name), each on a
    database of its own."""
    configs = {name: c.config or PayrollConfig(export_dir=tmp_path_factory.mktemp("exports"))
               for name, c in CONSUMERS.items()}
    async with running_all(infra, bus, {
            name: (c.build, configs[name], f"ff{name[:3]}_{uuid.uuid4().hex[:12]}")
            for name, c in CONSUMERS.items()}, **FAST_GROUP_JOIN) as started:
        yield started


@pytest.fixture(scope="module")
async def published(consumers, producer) -> Published:  # type: ignore[no-untyped-def]
    """The hostile messages of every fact topic on two employees' keys, then one valid fact
    per topic and employee (the first employee's with undecodable headers)."""
    employees = ["19" + "".join(random.choices("0123456789", k=16)) for _ in range(2)]
    refused_before = {name: REFUSED.count_by_reason(svc.registry)
                      for name, svc in consumers.items()}
    hostile = [h for topic in topics.FACT_TOPICS for h in hostile_catalogue(topic, employees)]
    await asyncio.gather(*[await producer.send(h.topic, value=h.body, key=h.key,
                                               headers=h.headers) for h in hostile])
    valid = {topic: [valid_fact(topic, nip, employees[1 - n]) for n, nip in enumerate(employees)]
             for topic in topics.FACT_TOPICS}
    codec = make_codec()
    sending = []
    for facts in valid.values():
        for n, fact in enumerate(facts):
            key = kafka_key(fact.type, fact.data.model_dump(mode="json"), fact.stream_id)
            sending.append(await producer.send(
                topics.SOURCE_TOPIC[fact.source], value=codec.encode(fact), key=key.encode(),
                headers=list(JUNK_HEADERS) if n == 0 else []))
    await asyncio.gather(*sending)
    return Published(hostile, valid, refused_before)


# --- 1. decoding one message ------------------------------------------------------------------
@pytest.mark.parametrize("topic", topics.FACT_TOPICS)
def test_the_inbox_decodes_every_hostile_message_to_its_predicted_refusal_and_nothing_else(
        topic: str) -> None:
    """For 400 generated messages of the topic's event types: `inbox.receive` returns the
    envelope exactly when the message is valid (with the message's own text, unless it was
    upcast), and otherwise raises `ContractError` with the reason its one defect predicts
    (arbitrary bytes and a null value: some reason of the fixed list) — never anything else."""
    codec = make_codec()
    mutators = {kind: FactMutator(kind) for kind in TOPIC_TYPES[topic]}
    categories = (*CATEGORIES, "valid", "null")
    tried: Counter[str] = Counter()

    @settings(max_examples=400, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(*(envelope_values(kind) for kind in TOPIC_TYPES[topic])),
           st.integers(0, 2**32))
    def decode(raw: dict, seed: int) -> None:
        body: bytes | None = encode(raw)
        # The defect and its details, from the drawn seed and the drawn envelope together:
        # hypothesis repeats simple seeds (and the first of a list) often; this spreads them.
        rnd = random.Random(f"{seed}:{body!r}")
        category = rnd.choice(categories)
        tried[category] += 1
        expected: str | None = None
        if category == "null":
            body, expected = rnd.choice([None, b""]), "empty"
        elif category != "valid":
            expected, body = mutators[raw["type"]].mutate(category, rnd, raw)
            expected = expected or ("?" if category == "arbitrary" else None)
        try:
            delivery = receive(codec, body)
        except ContractError as error:
            assert error.reason in REFUSAL_REASONS, error.reason
            assert expected is not None, f"a valid {raw['type']} refused: {error}"
            assert expected in ("?", error.reason), (
                f"{category}: expected {expected}, refused as {error.reason}: {body[:200]!r}")
            return
        assert expected is None, f"{category}: accepted, expected {expected}: {body!r}"
        assert delivery.envelope == codec.decode(json.loads(body))  # type: ignore[arg-type]
        if category == "valid":
            assert delivery.json == body.decode()  # type: ignore[union-attr]

    decode()
    assert set(tried) == set(categories), f"categories not tried: {tried}"


# --- 2. the running consumers -----------------------------------------------------------------
@pytest.mark.parametrize("name", list(CONSUMERS))
async def test_hostile_facts_are_refused_or_parked_and_the_valid_facts_after_them_apply_once(
        name: str, consumers, published: Published) -> None:  # type: ignore[no-untyped-def]
    """Every hostile message of the consumer's fact topics, on two employees' keys, before one
    valid fact per topic and employee: the valid facts are applied, each once (the inbox holds
    their ids; the consumer's table holds each kept one once); every hostile message is
    counted in `kinerja_inbox_refused_total` by its predicted reason, or parked in
    `dead_letters` as `unknown_version` (and counted there); the consumer's table holds no
    hostile fact and its inbox no hostile id; no metric label carries message content."""
    spec, service = CONSUMERS[name], consumers[name]
    consumer = spec.inbox_consumer(service)
    hostile = [h for h in published.hostile if h.topic in spec.topics]
    valid = [fact for topic in spec.topics for fact in published.valid[topic]]

    # (a) the valid facts after the hostile ones are applied — waited for by their ids
    await applied(service.engine, consumer, [fact.event_id for fact in valid])
    async with service.engine.connect() as conn:
        inbox = (await conn.scalars(text("SELECT event_id FROM inbox WHERE consumer = :c"),
                                    {"c": consumer})).all()
        table = [event_id for name in spec.tables for event_id in (
            await conn.scalars(text(f"SELECT event_id FROM {name}"))).all()]
        parked = (await conn.execute(text(
            "SELECT consumer, topic, body, reason FROM dead_letters"))).all()
    kept = [fact.event_id for fact in valid if fact.type in spec.kept]
    assert sorted(map(str, table)) == sorted(map(str, kept)), "kept: the valid facts, once each"

    # (b) refused by reason, or parked as unknown_version
    to_park = [h for h in hostile if h.reason == "unknown_version"]
    assert sorted((p.consumer, p.topic, bytes(p.body), p.reason) for p in parked) == sorted(
        (consumer, h.topic, h.body, "unknown_version") for h in to_park)
    assert (service.registry.get_sample_value("kinerja_dead_letters_total", {
        "consumer": consumer, "reason": "unknown_version"}) or 0) == len(to_park)
    refusals = [h for h in hostile if h.reason != "unknown_version"]
    REFUSED.assert_refusals(published.refused_before[name],
                            REFUSED.count_by_reason(service.registry),
                            Counter(h.reason for h in refusals if h.reason is not None),
                            anything=sum(1 for h in refusals if h.reason is None))

    # (c) nothing of a hostile message held
    hostile_ids = {h.event_id for h in hostile if h.event_id}
    assert not {str(i) for i in inbox} & hostile_ids
    assert {str(f.event_id) for f in valid} <= {str(i) for i in inbox}

    # (d) metric labels only from the fixed lists
    REFUSED.assert_labels_fixed(service.registry, consumer=consumer)
    tally = Counter(h.category for h in hostile)
    print(f"\n{name} ({consumer}): {len(hostile)} hostile on {', '.join(spec.topics)}, "
          f"{len(to_park)} parked, {len(valid)} valid; {dict(tally)}")


# --- 3. header values FastStream cannot decode -----------------------------------------------
async def test_facts_whose_headers_are_not_utf8_or_null_are_applied_with_the_facts_beside_them(
        infra, applied_log, make_leave, unique_nip) -> None:  # type: ignore[no-untyped-def]
    """A batch of four facts on one partition, three of them with header values that are not
    UTF-8 or null: the three valid ones are applied once each and the one of an unknown schema
    version is parked with its headers as they came. (Before the fix in `inbox`, FastStream's
    parser failed on such a batch, which was then neither applied nor nacked: the next commit
    skipped it and all four were lost.)"""
    topic = f"fuzz.headers.{uuid.uuid4().hex[:8]}"
    await create_topics(infra.kafka_bootstrap, [topic], partitions=1)
    nip, codec = unique_nip(), make_codec()
    at = datetime(2026, 10, 1, 8, 0, 1, tzinfo=WIB)
    facts = [seal(make_leave(nip, n), source="attendance", stream_id=f"employee:{nip}",
                  stream_version=n, recorded_at=at) for n in (1, 2, 3)]
    fourth = seal(make_leave(nip, 4), source="attendance", stream_id=f"employee:{nip}",
                  stream_version=4, recorded_at=at)
    later = codec.encode(fourth).replace(b'"schema_version":1', b'"schema_version":2')
    messages = [(codec.encode(facts[0]), list(JUNK_HEADERS)), (later, list(JUNK_HEADERS)),
                (codec.encode(facts[1]), []), (codec.encode(facts[2]), JUNK_HEADERS[1:])]
    producer = make_producer(infra.kafka_bootstrap)
    await producer.start()
    try:  # sent before the consumer starts: one poll, one batch
        await asyncio.gather(*[await producer.send(topic, value=body, key=nip.encode(),
                                                   headers=headers)
                               for body, headers in messages])
    finally:
        await producer.stop()

    group, registry = f"fuzz-headers-{uuid.uuid4().hex[:8]}", make_registry()
    broker = KafkaBroker(infra.kafka_bootstrap, logger=None)
    subscribe_inbox(broker, topic, consumer=group, engine=applied_log.engine, registry=registry,
                    effect=applied_log.effect, **FAST_GROUP_JOIN)
    await broker.start()
    try:
        await applied(applied_log.engine, group, [fact.event_id for fact in facts])
    finally:
        await broker.stop()

    assert await applied_log.counts({f.event_id for f in facts}) == {
        f.event_id: 1 for f in facts}
    [letter] = await list_dead_letters(applied_log.engine)
    assert (letter.offset, letter.reason, letter.body) == (1, "unknown_version", later)
    assert letter.headers == [("x-fuzz-junk", b"\xff\xfe\x00"), ("x-fuzz-null", b"")]
    assert REFUSED.count_by_reason(registry) == Counter()


# --- 4. the accounting above can fail ---------------------------------------------------------
def test_the_refusal_accounting_catches_a_missing_an_extra_or_a_misattributed_refusal() -> None:
    """`REFUSED.assert_refusals` and `.assert_labels_fixed`, given counts that do not add up or
    a label taken from a message, fail: the consumer test above can catch what it claims to."""
    assert_accounting_catches(REFUSED, other="too_deep", unlisted="unknown_version",  # parked
                              content={"consumer": "payroll-facts", "reason": "LeaveInvented"},
                              consumer="payroll-facts")
