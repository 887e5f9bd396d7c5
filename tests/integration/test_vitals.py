"""A service's vitals on the real broker and database: consumer lag per partition, outbox
backlog and parked dead letters, in `/health` and in the metrics."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime

import pytest

from kinerja_events import commands as cmd
from kinerja_events import topics
from kinerja_events.types import WIB
from kinerja_events.vitals import read_backlogs, read_consumer_lag, read_vitals
from kinerja_worklog.bootstrap import WorklogConfig, build_service
from org import decide_commands, nip, running
from reading import topic_reader

pytestmark = pytest.mark.integration

GATEWAY_KEY = b"test-vitals-gateway-key"
COMMANDS = topics.commands_topic("worklog")


@pytest.fixture(scope="module")
async def service(infra, bus):  # type: ignore[no-untyped-def]
    config = WorklogConfig(gateway_key=GATEWAY_KEY, payroll_database=f"vp_{uuid.uuid4().hex[:8]}")
    async with running(infra, bus, build_service, config, f"vt_{uuid.uuid4().hex[:12]}") as svc:
        yield svc


def log_activity() -> cmd.LogActivity:
    """A report by somebody the service has never heard of (refused, but decided)."""
    return cmd.LogActivity(command_id=uuid.uuid4(), actor_nip=nip(), sent_at=datetime.now(WIB),
                           activity_id=f"a-{uuid.uuid4().hex[:8]}", work_date=date(2026, 10, 1),
                           task_code="LAP", quantity=1, description="Laporan")


async def test_lag_backlog_and_dead_letters_are_sampled(service, bus, producer):  # type: ignore[no-untyped-def]
    sent = [log_activity() for _ in range(4)]
    outcomes = await decide_commands(producer, topic_reader(bus.kafka_bootstrap), "worklog",
                                     GATEWAY_KEY, sent, ("ActivityRefused",))
    assert {o["type"] for o in outcomes.values()} == {"ActivityRefused"}

    # A group that never consumed is behind by every command sent on the topic (this module's
    # broker holds only these); the service's own group catches up to zero.
    never = await read_consumer_lag(bus.kafka_bootstrap, {"nobody": [COMMANDS]})
    assert sum(never["nobody"].values()) == len(sent)
    assert set(never["nobody"]) == {f"{COMMANDS}/{p}" for p in range(3)}

    groups = {group: [COMMANDS] for group in [service.commands.group_id]}
    async with asyncio.timeout(60):
        while (vitals := await read_vitals(service.engine, bus.kafka_bootstrap, groups)
               ).lag_total or vitals.outbox_backlog:
            await asyncio.sleep(0.2)
    assert set(vitals.consumer_lag[service.commands.group_id]) == {
        f"{COMMANDS}/{p}" for p in range(3)}
    assert vitals.dead_letters == 0

    # /health shows the same for the service, once its sampler has run.
    async with asyncio.timeout(30):
        while "consumer_lag" not in service.health.report()["services"].get("worklog", {}):
            await asyncio.sleep(0.2)
    report = service.health.report()["services"]["worklog"]
    assert report["postgresql"]["up"] is True
    assert set(report["consumer_lag"]) == {service.commands.group_id,
                                           service.commands.group_id.replace("-commands",
                                                                             "-reference")}
    assert report["outbox_backlog"] == 0 and report["dead_letters"] == 0
    exposed = {(s.name, s.labels.get("group")) for family in service.registry.collect()
               for s in family.samples}
    assert ("kinerja_consumer_lag", service.commands.group_id) in exposed
    assert ("kinerja_outbox_backlog", None) in exposed


async def test_a_parked_message_counts_until_replayed(service):  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from kinerja_events.db import dead_letters
    from kinerja_events.deadletters import park_record

    class Record:  # a command record as the consumer saw it
        topic, partition, offset, key, timestamp = COMMANDS, 0, 10_000_000, b"k", 0
        value, headers = b"{\"type\": \"LogActivity\"", []

    before = (await read_backlogs(service.engine))[1]
    await park_record(service.engine, "worklog-commands", Record(), "unexpected",
                      RuntimeError("boom"), 3)
    assert (await read_backlogs(service.engine))[1] == before + 1
    async with service.engine.begin() as conn:
        await conn.execute(update(dead_letters).where(dead_letters.c.offset == 10_000_000)
                           .values(replayed_at=datetime.now(WIB)))
    assert (await read_backlogs(service.engine))[1] == before
