"""A small organisation's month through the whole stack, and the auditors' recomputation.

HR publishes the organisation; a simulated gateway sends a month of signed check-ins and
check-outs to the attendance service; worklog and appraisal facts are published as those
services would. Payroll closes the month. The closed TPP must equal `kinerja payroll compute`
run on the history exported from the sources (HR, attendance's event store, worklog, appraisal),
rupiah for rupiah, and `kinerja payroll verify` must say MATCH on payroll's own export.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import uuid
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kinerja_attendance.bootstrap import AttendanceConfig
from kinerja_attendance.bootstrap import build_service as build_attendance
from kinerja_attendance.handlers import Keys
from kinerja_attendance.projection import count_held, kept
from kinerja_cli.demo import (
    demo_people, demo_reference_data, reference_stream_id, simulate_month,
)
from kinerja_events.codec import make_codec
from kinerja_events.db import commands as command_table
from kinerja_events.embedded import EmbeddedInfra
from kinerja_events.observability import make_registry
from kinerja_events.outbox import make_producer
from kinerja_events.publishing import envelope_of, publish_envelopes, send_command
from kinerja_events.store import PostgresEventStore
from kinerja_events.types import WIB
from kinerja_payroll.bootstrap import PayrollConfig
from kinerja_payroll.bootstrap import build_service as build_payroll
from kinerja_payroll.exports import export_history, write_jsonl
from kinerja_payroll.ledger import close_period
from kinerja_payroll.tables import facts as payroll_facts

PERIOD = "2026-10"
GATEWAY_KEY, HR_KEY = b"e2e-gateway", b"e2e-hr"
FAST_GROUP = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 300}


@pytest.fixture(scope="module")
async def stack(infra):
    """A broker of its own, and the attendance and payroll services on fresh databases."""
    bus = EmbeddedInfra(Path(tempfile.mkdtemp(prefix="kinerja-e2e-")), postgres=False)
    await bus.start()
    registry = make_registry()
    attendance = await build_attendance(
        bus.kafka_bootstrap, await infra.create_database(f"e2e_att_{uuid.uuid4().hex[:8]}"),
        AttendanceConfig(keys=Keys(GATEWAY_KEY, HR_KEY)), registry,
        **FAST_GROUP)
    payroll = await build_payroll(
        bus.kafka_bootstrap, await infra.create_database(f"e2e_pay_{uuid.uuid4().hex[:8]}"),
        PayrollConfig(export_dir=Path(tempfile.mkdtemp())), registry, **FAST_GROUP)
    await attendance.start()
    await payroll.start()
    yield bus, attendance, payroll
    await payroll.stop()
    await attendance.stop()
    await bus.stop()


def source_envelopes(people) -> tuple[list, list, list]:
    """HR's reference envelopes, and worklog/appraisal envelopes of the simulated month."""
    hr_at = datetime(2026, 9, 25, 9, 0, tzinfo=WIB)
    hr = [envelope_of(d, source="hr", stream_id=reference_stream_id(d), occurred_at=hr_at)
          for d in demo_reference_data(people, date(2026, 1, 1))]
    versions: dict[str, int] = defaultdict(int)
    others = []
    month = simulate_month(people, PERIOD, seed=11)
    for source, data, at in month.facts:
        stream = f"{source}:{getattr(data, 'nip', None) or data.ratee_nip}"
        versions[stream] += 1
        others.append(envelope_of(data, source=source, stream_id=stream,
                                  stream_version=versions[stream], occurred_at=at))
    return hr, others, month.commands


async def wait_until(predicate, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.2)


async def count(engine, table, *where) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(table).where(*where))


def kinerja(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kinerja_cli.main", *args],
                          capture_output=True, text=True, timeout=120)


async def test_a_month_closed_by_the_platform_equals_the_auditors_offline_compute(
        stack, tmp_path):
    bus, attendance, payroll = stack
    people = demo_people(8)
    hr, others, commands = source_envelopes(people)
    producer = make_producer(bus.kafka_bootstrap)
    await producer.start()
    try:
        await publish_envelopes(producer, make_codec(), hr)
        await wait_until(lambda: _holds_all(attendance.engine, hr))
        for command in commands:  # as the gateway sent them last month: record time = sent_at
            await send_command(producer, "attendance", command, GATEWAY_KEY,
                               received_at=command.sent_at)
        await publish_envelopes(producer, make_codec(), others)
    finally:
        await producer.stop()

    await wait_until(lambda: _has(attendance.engine, command_table, len(commands)))
    source_history = [*hr, *others, *await PostgresEventStore(attendance.engine).read_all()]
    decided = [e for e in source_history if e.type in ("CheckedIn", "CheckedOut")]
    assert len(decided) > 0.9 * len(commands)  # the simulated gateway stays inside the rules
    expected_facts = len(hr) + len(others) + len(decided)
    await wait_until(lambda: _has(payroll.engine, payroll_facts, expected_facts))

    close = await close_period(payroll.engine, PostgresEventStore(payroll.engine), PERIOD,
                               PayrollConfig().rule_file(), datetime.now(WIB))
    assert close.closed.employees == len(people)

    history = tmp_path / "sources.jsonl"
    write_jsonl(history, [e.model_dump(mode="json") for e in source_history])
    computed = kinerja("payroll", "compute", "--events", str(history), "--period", PERIOD)
    assert computed.returncode == 0, computed.stderr
    offline = [json.loads(line) for line in computed.stdout.splitlines()]
    assert [{k: v for k, v in line.items() if k != "mkd_days_per_week"} for line in offline] \
        == [r.tpp for r in close.results]
    assert [line["mkd_days_per_week"] for line in offline] == [
        r.mkd_days_per_week for r in close.results]
    assert sum(line["total_rupiah"] for line in offline) == close.closed.total_rupiah
    assert len({line["total_rupiah"] for line in offline}) > 1  # people differ: so do rupiah

    exported = tmp_path / "payroll-export.jsonl"
    await export_history(payroll.engine, exported, PERIOD)
    verified = kinerja("payroll", "verify", PERIOD, "--events", str(exported))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("MATCH")


async def _holds_all(engine, envelopes) -> bool:
    async with engine.connect() as conn:
        return await conn.scalar(count_held(envelopes)) == kept(envelopes)


async def _has(engine, table, at_least: int) -> bool:
    return await count(engine, table) >= at_least
