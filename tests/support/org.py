"""A small organisation for service tests: its HR facts, running services on a test broker
(one, or several started together), publishing HR facts to a service and waiting until it holds
them, asking a service's read API, and reading payroll's projection."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any

from kinerja_events import events as ev
from kinerja_events.codec import make_codec
from kinerja_events.publishing import envelope_of, publish_envelopes
from kinerja_events.reference import NewFacts
from kinerja_events.types import WIB

codec = make_codec()


def nip() -> str:
    return "19" + "".join(random.choices("0123456789", k=16))


class Team:
    """A head; a boss under the head; a clerk and a peer under the boss; a junior under the
    clerk — fresh NIPs, one position with one task (60 minutes a report)."""

    def __init__(self) -> None:
        self.head, self.boss, self.clerk, self.peer, self.junior = (nip() for _ in range(5))
        self.position = f"ANALIS-{uuid.uuid4().hex[:6]}"
        self.hr: list = []

    def facts(self) -> list:
        at = datetime.now(WIB) - timedelta(days=40)
        position = ev.PositionDefined(
            position_code=self.position, name="Analis", kelas_jabatan=7, mobile=False,
            public_service=False, tasks=[ev.Task(task_code="LAP", name="Menyusun laporan",
                                                 unit="laporan", minutes_per_unit=60)])
        self.hr = [envelope_of(position, source="hr", stream_id=f"position:{self.position}",
                               occurred_at=at)]
        for person, superior in ((self.head, None), (self.boss, self.head),
                                 (self.clerk, self.boss), (self.peer, self.boss),
                                 (self.junior, self.clerk)):
            self.hr.append(envelope_of(ev.EmployeeRegistered(
                nip=person, name=f"Pegawai {person[-4:]}", position_code=self.position,
                unit="Biro Umum", office_id="GS", superior_nip=superior,
                effective_date=date(2020, 1, 1)), source="hr", stream_id=f"employee:{person}",
                occurred_at=at))
        return self.hr


FAST_GROUP_JOIN = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 300}
"""Consumer options for `running`: consumers that join their groups in a second (the embedded
broker answers a group join after half the session timeout: 5 s with the default 10 s, for each
of a service's consumers)."""


@asynccontextmanager
async def running(infra: Any, bus: Any, build: Any, config: Any, database: str,
                  **consumer_options: Any) -> AsyncIterator[Any]:
    """A service built by `build` with `config` on `bus`, on a new database named `database`
    and consumer groups of its own, started (its metrics registry as `.registry`); stopped
    after. `consumer_options` (e.g. `FAST_GROUP_JOIN`) go to `build` as they are."""
    from kinerja_events.observability import make_registry

    url = await infra.create_database(database)
    registry = make_registry()
    service = await build(bus.kafka_bootstrap, url, config, registry,
                          group_prefix=f"{database}-{uuid.uuid4().hex[:8]}", **consumer_options)
    service.registry = registry
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


@asynccontextmanager
async def running_all(infra: Any, bus: Any, services: Mapping[str, tuple[Any, Any, str]],
                      **consumer_options: Any) -> AsyncIterator[dict[str, Any]]:
    """`running` for each of `services` (name -> build, config, database), started together;
    the services by name. All are stopped after."""
    async with AsyncExitStack() as stack:
        started = await asyncio.gather(*(stack.enter_async_context(running(
            infra, bus, build, config, database, **consumer_options))
            for build, config, database in services.values()))
        yield dict(zip(services, started))


def payroll_config(tmp_path_factory: Any) -> Any:
    """Payroll's settings for a test module (exports in a temporary directory)."""
    from kinerja_payroll.bootstrap import PayrollConfig

    return PayrollConfig(export_dir=tmp_path_factory.mktemp("exports"))


async def publish_hr(producer: Any, service: Any, envelopes: list) -> None:
    """Publish HR facts and wait until the service holds each one (by event id)."""
    await publish_envelopes(producer, codec, envelopes)
    wanted = {e.event_id for e in envelopes}
    held: set = set()
    reader = NewFacts(codec)
    async with asyncio.timeout(60):
        while not wanted <= held:
            async with service.engine.connect() as connection:
                conn = (await connection.get_raw_connection()).driver_connection
                held |= {f.event_id for f in await reader.read_new(conn)}
            await asyncio.sleep(0.1)


async def http_get(service: Any, path: str) -> Any:
    """GET `path` from a metrics server serving the service's queries (a thread of its own, as
    in a service process), and its JSON."""
    from urllib.request import urlopen

    from kinerja_events.observability import QueryRoutes, make_registry, start_metrics_server

    routes = QueryRoutes()
    routes.add(service.queries)
    server = start_metrics_server(make_registry(), 0, addr="127.0.0.1", queries=routes)
    try:
        url = f"http://127.0.0.1:{server.server_port}{path}"
        body = await asyncio.to_thread(lambda: urlopen(url, timeout=30).read())
        return json.loads(body)
    finally:
        server.shutdown()


async def projected_data(payroll: Any, period: str, nip: str) -> Any:
    """`nip`'s month in payroll's projection, or None."""
    from sqlalchemy import select

    from kinerja_payroll.tables import projection

    async with payroll.engine.connect() as conn:
        return await conn.scalar(select(projection.c.data).where(
            projection.c.period == period, projection.c.nip == nip))


async def projected_until(payroll: Any, period: str, nip: str, until: Any,
                          timeout: float = 90) -> Any:
    """`nip`'s month in payroll's projection, once `until(data)` holds."""
    data = None
    async with asyncio.timeout(timeout):
        while data is None or not until(data):
            data = await projected_data(payroll, period, nip)
            await asyncio.sleep(0.1)
    return data


async def decide_commands(producer: Any, read_topic: Any, service: str, key: bytes,
                          commands: list, outcome_types: tuple[str, ...],
                          received_at: datetime | None = None) -> dict:
    """Send `commands` to `service` signed with `key`, one after another; each one's outcome
    event on the service's topic (waited for by the ids a command's outcomes get), by command
    id. Each command is received at `received_at` (a datetime, or a list of one per command;
    None: now)."""
    from kinerja_events import topics
    from kinerja_events.publishing import send_command

    times = received_at if isinstance(received_at, list) else [received_at] * len(commands)
    outcomes: dict = {}
    for command, at in zip(commands, times):
        await send_command(producer, service, command, key, received_at=at)
        ids = {uuid.uuid5(command.command_id, t) for t in outcome_types}

        def event_id(record: Any) -> uuid.UUID:
            return uuid.UUID(json.loads(record.value)["event_id"])

        records = await read_topic(topics.SOURCE_TOPIC[service],
                                   until=lambda rs: any(event_id(r) in ids for r in rs))
        [found] = [json.loads(r.value) for r in records if event_id(r) in ids]
        outcomes[command.command_id] = found
    return outcomes


async def fetchval(service: Any, sql: str, *args: Any) -> Any:
    """One value of `sql` on a running service's database (asyncpg placeholders)."""
    async with service.engine.connect() as connection:
        conn = (await connection.get_raw_connection()).driver_connection
        return await conn.fetchval(sql, *args)


async def held(service: Any, event_ids: list[uuid.UUID], timeout: float = 60) -> None:
    """Until a running `service` keeps every one of `event_ids` among its reference facts."""
    async with asyncio.timeout(timeout):
        while await fetchval(service, "SELECT count(*) FROM reference_facts "
                             "WHERE event_id = ANY($1::uuid[])", event_ids) < len(event_ids):
            await asyncio.sleep(0.1)


@asynccontextmanager
async def hr_platform(prefix: str) -> AsyncIterator[tuple[Any, dict[str, Any]]]:
    """A broker and PostgreSQL of their own with attendance and worklog running (the services
    whose reference data tells what the platform holds of an HR import): their endpoints and
    the services by name."""
    from kinerja_attendance.bootstrap import AttendanceConfig
    from kinerja_attendance.bootstrap import build_service as build_attendance
    from kinerja_events.embedded import Endpoints
    from kinerja_worklog.bootstrap import WorklogConfig
    from kinerja_worklog.bootstrap import build_service as build_worklog
    from temporary import temporary_infra

    async with temporary_infra(prefix) as infra, AsyncExitStack() as stack:
        attendance, worklog = await asyncio.gather(  # each takes seconds to join its groups
            stack.enter_async_context(running(infra, infra, build_attendance,
                                              AttendanceConfig(), "attendance")),
            stack.enter_async_context(running(infra, infra, build_worklog, WorklogConfig(),
                                              "worklog")))
        yield (Endpoints(infra.kafka_bootstrap, infra.database_url("postgres"), None),
               {"attendance": attendance, "worklog": worklog})
