"""The payroll service through its own broker and database: facts in, a closed month out.

Each module run gets a broker of its own, so the facts on its topics are exactly the ones
published here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from history import NIP_A, NIP_BOSS, History, worked_example
from sqlalchemy import func, select

from kinerja_events import topics
from kinerja_events.observability import make_registry
from kinerja_events.store import PostgresEventStore
from kinerja_events.topics import kafka_key
from kinerja_events.types import WIB
from kinerja_payroll.bootstrap import PayrollConfig, build_service
from kinerja_payroll.closing import AlreadyClosed, CloseRefused
from kinerja_payroll.exports import export_history, write_close_csv
from kinerja_payroll.ledger import check_close, close_period
from kinerja_payroll.offline import compute_file
from kinerja_payroll.people import names_and_units
from kinerja_payroll.projection import pending_facts
from kinerja_payroll.rules import load_default_rules
from kinerja_payroll.tables import closes, facts, projection, results
from kinerja_payroll.verify import read_closed_record, verdict

FAST_GROUP = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 300}


@pytest.fixture(scope="module")
async def payroll(infra, bus):
    url = await infra.create_database(f"pay_{uuid.uuid4().hex[:12]}")
    config = PayrollConfig(export_dir=Path(tempfile.mkdtemp(prefix="kinerja-exports-")))
    registry = make_registry()
    service = await build_service(bus.kafka_bootstrap, url, config, registry, **FAST_GROUP)
    await service.start()
    service.config = config
    service.registry = registry
    yield service
    await service.stop()


def fresh_ids(history: History) -> list[dict]:
    """The history's envelopes with event ids of their own (several histories share a bus)."""
    return [{**e, "event_id": str(uuid.uuid4())} for e in history.events]


async def publish(producer, envelopes: list[dict]) -> None:
    for e in envelopes:
        key = kafka_key(e["type"], e["data"], e["stream_id"])
        await producer.send_and_wait(topics.SOURCE_TOPIC[e["source"]],
                                     json.dumps(e).encode(), key=key.encode())


async def wait_for_facts(service, count: int, timeout: float = 90) -> None:
    """Until payroll has stored `count` facts and its projection reflects every one."""
    async with asyncio.timeout(timeout):
        while True:
            async with service.engine.connect() as conn:
                stored = await conn.scalar(select(func.count()).select_from(facts))
                pending = await pending_facts(conn)
            if stored >= count and pending == 0:
                return
            await asyncio.sleep(0.1)


async def projected_total(service, period: str, nip: str) -> int | None:
    async with service.engine.connect() as conn:
        data = await conn.scalar(select(projection.c.data).where(
            projection.c.period == period, projection.c.nip == nip))
    return None if data is None else data["total_rupiah"]


def projected_gauge(service, period: str) -> float | None:
    """`kinerja_payroll_projected_employees{period}` as ops see it, or None when not shown."""
    samples = [sample for metric in service.keeper.employees.collect()
               for sample in metric.samples if sample.labels.get("period") == period]
    return samples[0].value if samples else None


async def wait_until_gone(read, timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while read() is not None:
            await asyncio.sleep(0.1)


async def read_payroll_topic(bus, until, timeout: float = 60) -> list[dict]:
    consumer = AIOKafkaConsumer(topics.PAYROLL, bootstrap_servers=bus.kafka_bootstrap,
                                group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    seen: list[dict] = []
    try:
        async with asyncio.timeout(timeout):
            while not until(seen):
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    seen += [json.loads(r.value) for r in batch]
    finally:
        await consumer.stop()
    return seen


def late_leave_for_the_absent_day(nip: str) -> dict:
    """A sick leave, recorded after the close, for the worked example's day without check-in."""
    h = History(clock=datetime(2026, 11, 3, 9, 0, tzinfo=WIB))
    h.leave(nip, "SAKIT-1", "2026-10-15", "2026-10-15", kind="sick")
    return {**h.events[0], "event_id": str(uuid.uuid4())}


async def test_the_worked_example_flows_from_the_topics_to_a_closed_month(
        payroll, producer, bus, tmp_path):
    history = fresh_ids(worked_example())
    await publish(producer, history)
    await publish(producer, history)  # every fact delivered twice: no second effect
    await wait_for_facts(payroll, len(history))
    assert await projected_total(payroll, "2026-10", NIP_A) == 4_340_455

    assert projected_gauge(payroll, "2026-10") == 2  # employees with a result so far
    close = await close_period(payroll.engine, PostgresEventStore(payroll.engine), "2026-10",
                               payroll.config.rule_file(), datetime.now(WIB))
    await wait_until_gone(lambda: projected_gauge(payroll, "2026-10"))  # closed: not projected
    by_nip = {r.nip: r.tpp for r in close.results}
    assert by_nip[NIP_A]["total_rupiah"] == 4_340_455
    assert by_nip[NIP_A]["productivity_rupiah"] == 2_648_455
    assert close.closed.employees == 2 and close.closed.total_rupiah == sum(
        t["total_rupiah"] for t in by_nip.values())

    published = await read_payroll_topic(bus, lambda seen: any(
        e["type"] == "PayrollClosed" for e in seen))
    calculated = [e for e in published if e["type"] == "TPPCalculated"]
    assert {e["data"]["nip"]: e["data"]["total_rupiah"] for e in calculated} == {
        nip: t["total_rupiah"] for nip, t in by_nip.items()}
    mkd = [e for e in published if e["type"] == "MKDEligibilityDetermined"]
    assert {(e["data"]["nip"], e["data"]["period"], e["data"]["days_per_week"]) for e in mkd} \
        == {(NIP_A, "2026-11", 0), (NIP_BOSS, "2026-11", 0)}
    [closed] = [e for e in published if e["type"] == "PayrollClosed"]
    assert closed["data"]["digest"] == close.closed.digest
    versions_by_key: dict[str, list[int]] = {}
    for e in published:
        key = kafka_key(e["type"], e["data"], e["stream_id"])
        versions_by_key.setdefault(key, []).append(e["stream_version"])
    assert all(v == sorted(v) for v in versions_by_key.values())  # in stream order per key
    assert sorted(sum(versions_by_key.values(), [])) == list(range(1, len(close.events()) + 1))

    exported = tmp_path / "history.jsonl"
    await export_history(payroll.engine, exported, "2026-10")
    offline = compute_file(exported, "2026-10", load_default_rules())
    assert [r.tpp for r in offline] == [r.tpp for r in close.results]
    matched, lines = verdict(read_closed_record(exported, "2026-10"),
                             [r.tpp for r in offline])
    assert matched, lines

    async with payroll.engine.connect() as conn:
        names = await names_and_units(conn, "2026-10")
    [csv_file] = write_close_csv(close, tmp_path, names)
    assert (f"{NIP_A},Pegawai {NIP_A[-4:]},Biro Umum,2026-10,4500000,2648455,1692000,0,4340455"
            in csv_file.read_text())


async def test_a_fact_arriving_after_the_close_is_paid_as_an_adjustment_at_the_next_close(
        payroll, producer, bus, tmp_path):
    store = PostgresEventStore(payroll.engine)
    rules = payroll.config.rule_file()
    closed_before = await closed_results(payroll, "2026-10")
    late = late_leave_for_the_absent_day(NIP_A)
    async with payroll.engine.connect() as conn:
        known = await conn.scalar(select(func.count()).select_from(facts))
    await publish(producer, [late])
    await wait_for_facts(payroll, known + 1)

    with pytest.raises(AlreadyClosed):
        await close_period(payroll.engine, store, "2026-10", rules, datetime.now(WIB))
    november = await close_period(payroll.engine, store, "2026-11", rules, END_OF["2026-11"])

    assert await closed_results(payroll, "2026-10") == closed_before  # a closed month never changes
    everything = tmp_path / "all.jsonl"
    await export_history(payroll.engine, everything)
    recomputed = {r.nip: r.tpp["total_rupiah"]
                  for r in compute_file(everything, "2026-10", rules.rules)}
    assert recomputed[NIP_A] > 4_340_455  # the absent day is now leave: no TK, no deduction
    [adjustment] = november.adjustments
    assert adjustment.nip == NIP_A and adjustment.period == "2026-10"
    assert adjustment.paid_in_period == "2026-11"
    assert adjustment.delta_rupiah == recomputed[NIP_A] - 4_340_455
    assert adjustment.recomputed_total == recomputed[NIP_A]

    published = await read_payroll_topic(bus, lambda seen: any(
        e["type"] == "TPPAdjusted" for e in seen))
    [wire] = [e for e in published if e["type"] == "TPPAdjusted"]
    assert wire["data"]["delta_rupiah"] == adjustment.delta_rupiah

    december = await close_period(payroll.engine, store, "2026-12", rules, END_OF["2026-12"])
    assert december.adjustments == []  # paid once; nothing owed twice


async def test_a_close_of_a_month_not_ended_or_out_of_order_is_refused_and_writes_nothing(
        payroll):
    store, rules = PostgresEventStore(payroll.engine), payroll.config.rule_file()
    before = await close_state(payroll)
    with pytest.raises(CloseRefused) as refused:  # 2027-02 mid-month, and 2027-01 not closed
        await close_period(payroll.engine, store, "2027-02", rules,
                           datetime(2027, 2, 15, 9, 0, tzinfo=WIB))
    assert refused.value.problems == [
        "2027-02 has not ended yet (it ends at 2027-03-01T00:00:00+07:00)",
        "months close in order: the latest closed month is 2026-12, so the next to close "
        "is 2027-01"]
    with pytest.raises(CloseRefused) as early:
        await close_period(payroll.engine, store, "2027-01", rules,
                           datetime(2027, 1, 31, 23, 59, 59, tzinfo=WIB))
    assert early.value.problems == [
        "2027-01 has not ended yet (it ends at 2027-02-01T00:00:00+07:00)"]
    assert await close_state(payroll) == before


async def test_a_close_blocked_by_an_undefined_position_names_it_and_succeeds_once_defined(
        payroll, producer):
    h = History(clock=datetime(2027, 1, 2, 9, 0, tzinfo=WIB))
    h.change(NIP_A, "2027-01-04", position_code="P-BARU")  # regraded to a post not defined yet
    [regrade] = fresh_ids(h)
    async with payroll.engine.connect() as conn:
        known = await conn.scalar(select(func.count()).select_from(facts))
    await publish(producer, [regrade])
    await wait_for_facts(payroll, known + 1)
    store, rules = PostgresEventStore(payroll.engine), payroll.config.rule_file()
    before = await close_state(payroll)
    with pytest.raises(CloseRefused) as refused:
        await check_close(payroll.engine, "2027-01", rules, END_OF["2027-01"])
    assert refused.value.problems == [
        f"2027-01: no PositionDefined for the position of 1 employee(s): {NIP_A} (P-BARU)"]
    with pytest.raises(CloseRefused):
        await close_period(payroll.engine, store, "2027-01", rules, END_OF["2027-01"])
    assert await close_state(payroll) == before

    defined = History(clock=datetime(2027, 2, 1, 8, 0, tzinfo=WIB))
    defined.position("P-BARU", 8)
    await publish(producer, fresh_ids(defined))
    await wait_for_facts(payroll, known + 2)
    would = await check_close(payroll.engine, "2027-01", rules, END_OF["2027-01"])
    january = await close_period(payroll.engine, store, "2027-01", rules, END_OF["2027-01"])
    assert january.closed.digest == would.closed.digest
    assert {r.nip: r.tpp["base_rupiah"] for r in january.results}[NIP_A] == 5_000_000  # kelas 8


END_OF = {"2026-11": datetime(2026, 12, 1, 8, 0, tzinfo=WIB),
          "2026-12": datetime(2027, 1, 2, 8, 0, tzinfo=WIB),
          "2027-01": datetime(2027, 2, 1, 9, 0, tzinfo=WIB)}
"""When the payroll office closes each month: once it has ended."""


async def close_state(service) -> tuple:
    """What a close writes: the closes with their cut-offs, and the facts stamped into one."""
    async with service.engine.connect() as conn:
        closed = (await conn.execute(select(closes.c.period, closes.c.cutoff)
                                     .order_by(closes.c.period))).all()
        stamped = await conn.scalar(select(func.count()).select_from(facts).where(
            facts.c.close_seq.is_not(None)))
    return [tuple(row) for row in closed], stamped


async def closed_results(service, period: str) -> dict[str, dict]:
    async with service.engine.connect() as conn:
        rows = await conn.execute(select(results.c.nip, results.c.data)
                                  .where(results.c.period == period))
        return {row.nip: row.data for row in rows}


async def test_two_instances_on_one_database_keep_one_projection_of_every_fact(
        infra, bus, producer):
    """Both store facts; one writes the projection. When the writer stops, the other takes
    over and its projection still covers the facts the first one projected."""
    url = await infra.create_database(f"pay2_{uuid.uuid4().hex[:12]}")
    config = PayrollConfig(export_dir=Path(tempfile.mkdtemp(prefix="kinerja-exports-")))
    prefix = f"pay2-{uuid.uuid4().hex[:8]}"
    first, second = [await build_service(bus.kafka_bootstrap, url, config, make_registry(),
                                         group_prefix=prefix, **FAST_GROUP) for _ in range(2)]
    nip = "199107072021011007"
    history = fresh_ids(worked_example(nip))
    half = len(history) // 2
    await first.start()
    await second.start()
    try:
        await publish(producer, history[:half])
        await wait_for_ids(first, [e["event_id"] for e in history[:half]])
        async with asyncio.timeout(60):
            while not (first.keeper.writing or second.keeper.writing):
                await asyncio.sleep(0.1)
        writer, other = (first, second) if first.keeper.writing else (second, first)
        assert not other.keeper.writing  # one writer
        await writer.stop()
        await publish(producer, history[half:])
        await wait_for_ids(other, [e["event_id"] for e in history])
        await wait_for_facts(other, len(history))
        assert other.keeper.writing
        assert await projected_total(other, "2026-10", nip) == 4_340_455
    finally:
        for service in (first, second):
            with contextlib.suppress(Exception):
                await service.stop()


async def wait_for_ids(service, event_ids: list[str], timeout: float = 90) -> None:
    """Until `service`'s database holds every one of `event_ids` and projects them all."""
    wanted = [uuid.UUID(i) for i in event_ids]
    async with asyncio.timeout(timeout):
        while True:
            async with service.engine.connect() as conn:
                held = await conn.scalar(select(func.count()).select_from(facts).where(
                    facts.c.event_id.in_(wanted), facts.c.projected))
            if held == len(set(wanted)):
                return
            await asyncio.sleep(0.1)


async def test_poison_on_every_fact_topic_leaves_the_facts_beside_it_stored_and_projected(
        payroll, producer, tmp_path):
    """Bytes that break the contract, on each fact topic and on the partitions of the facts that
    follow, are refused and counted; the valid facts after them are stored and projected, and
    pay what they should."""
    nip = "199208082021012008"
    history = fresh_ids(worked_example(nip))
    registry = payroll.registry
    reasons = ("too_deep", "nul_character", "not_json", "invalid", "empty", "not_utf8")
    before = {r: refused_count(registry, r) for r in reasons}
    deep = b'{"a":' * 2000 + b"1" + b"}" * 2000
    nul_name = json.dumps({**history[2], "event_id": str(uuid.uuid4()), "data": {
        **history[2]["data"], "name": "Pegawai\u0000"}}).encode()
    far_future = json.dumps({**next(e for e in history if e["type"] == "CheckedIn"),
                             "event_id": str(uuid.uuid4())}).replace(
        '"at": "2026-10-01T07:30:00+07:00"', '"at": "9999-12-31T23:59:59+00:00"').encode()
    for topic in topics.FACT_TOPICS:
        for body in (deep, nul_name, b"{not json", far_future, b"", b"\xff\xfe"):
            await producer.send_and_wait(topic, body, key=nip.encode())
    await publish(producer, history)
    await wait_for_ids(payroll, [e["event_id"] for e in history])
    await wait_for_facts(payroll, len(history))
    everything = tmp_path / "all.jsonl"
    await export_history(payroll.engine, everything)
    paid = {r.nip: r.tpp["total_rupiah"] for r in compute_file(
        everything, "2026-10", payroll.config.rule_file().rules)}
    assert paid[nip] == 4_340_455  # (October is closed here: its late facts are adjustments)
    per_topic = len(topics.FACT_TOPICS)
    assert {r: refused_count(registry, r) - before[r] for r in reasons} == {
        "too_deep": per_topic, "nul_character": per_topic, "not_json": per_topic,
        "invalid": per_topic, "empty": per_topic, "not_utf8": per_topic}


def refused_count(registry, reason: str) -> float:
    return registry.get_sample_value("kinerja_inbox_refused_total",
                                     {"consumer": "payroll-facts", "reason": reason}) or 0


async def test_every_close_tried_is_counted_with_its_outcome_and_duration(payroll):
    """Closes run in other processes (`kinerja payroll close`): the service counts them from
    `close_attempts`, each once."""
    from kinerja_payroll.ledger import CloseCounter
    from kinerja_events.observability import make_registry
    from kinerja_payroll.tables import close_attempts

    async with payroll.engine.connect() as conn:
        tried: dict[str, int] = {}
        for row in (await conn.execute(select(close_attempts.c.outcome))).all():
            tried[row.outcome] = tried.get(row.outcome, 0) + 1
    assert tried.get("closed", 0) >= 2 and tried.get("refused", 0) >= 1
    registry = make_registry()
    counter = CloseCounter(payroll.engine, registry)
    await counter.count_new()
    await counter.count_new()  # nothing counted twice
    value = registry.get_sample_value
    for outcome in ("closed", "refused", "already_closed"):
        assert value("kinerja_payroll_closes_total", {"outcome": outcome}) == tried.get(outcome, 0)
    assert value("kinerja_payroll_close_seconds_count") == tried["closed"]
    assert value("kinerja_payroll_close_seconds_sum") > 0
