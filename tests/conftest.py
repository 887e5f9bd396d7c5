"""Shared fixtures: ONE embedded PostgreSQL + Tansu for the whole run, a fresh database per test.

- `infra`: the session's `EmbeddedInfra` (`infra.kafka_bootstrap`, `infra.database_url(name)`).
- `database_url`: URL of a new, empty database for this test (dropped afterwards).
- `engine`: an async engine on `database_url`, with the shared tables (`db.create_schema`).
- `new_database`: a factory for more fresh databases in one test (e.g. a consumer's).
- `make_leave`, `unique_nip`: small builders of test events.
"""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime

import pytest

from kinerja_events.db import create_schema, drop_database, make_engine
from kinerja_events.embedded import EmbeddedInfra
from kinerja_events.envelope import NewEvent, new_event
from kinerja_events.events import LeaveRecorded
from kinerja_events.types import WIB
from reading import group_caught_up, topic_reader
from temporary import temporary_infra


def pytest_configure(config: pytest.Config) -> None:
    """Services log JSON at WARNING and above during tests (debug lines would drown reports)."""
    from kinerja_events.observability import configure_logging

    configure_logging("WARNING")


@pytest.fixture(scope="session")
async def infra() -> AsyncIterator[EmbeddedInfra]:
    """One embedded PostgreSQL server and one Tansu broker for the whole test run."""
    async with temporary_infra("kinerja-it-") as embedded:
        yield embedded


@pytest.fixture
async def new_database(infra: EmbeddedInfra) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """A factory of fresh empty databases; all are dropped after the test."""
    created: list[str] = []

    async def create() -> str:
        url = await infra.create_database(f"t_{uuid.uuid4().hex[:16]}")
        created.append(url)
        return url

    yield create
    for url in created:
        await drop_database(url)


@pytest.fixture
async def database_url(new_database: Callable[[], Awaitable[str]]) -> str:
    """URL of a fresh empty database for this test."""
    return await new_database()


@pytest.fixture
async def engine(database_url: str):  # type: ignore[no-untyped-def]
    """An async engine on this test's database, with the shared tables created."""
    eng = make_engine(database_url)
    await create_schema(eng)
    try:
        yield eng
    finally:
        await eng.dispose()


def random_nip() -> str:
    """An 18-digit NIP unlikely to collide with another test's."""
    return "19" + "".join(random.choices("0123456789", k=16))


@pytest.fixture
def unique_nip() -> Callable[[], str]:
    """A factory of fresh NIPs."""
    return random_nip


def leave(nip: str, n: int = 1) -> NewEvent:
    """A `LeaveRecorded` event for `nip` (the n-th leave)."""
    return new_event(
        LeaveRecorded(
            leave_id=f"L-{n}", nip=nip, kind="annual",
            start_date=date(2026, 10, 5), end_date=date(2026, 10, 6),
        ),
        datetime(2026, 10, 1, 8, 0, tzinfo=WIB),
    )


@pytest.fixture(scope="module")
async def bus() -> AsyncIterator[EmbeddedInfra]:
    """A broker for one test module alone (no PostgreSQL): its topics hold exactly what the
    module publishes (e.g. so a payroll instance consumes only the module's facts)."""
    async with temporary_infra("kinerja-bus-", postgres=False) as embedded:
        yield embedded


@pytest.fixture(scope="module")
async def producer(bus: EmbeddedInfra):  # type: ignore[no-untyped-def]
    """A started producer on the module's own broker (`bus`); modules on the shared broker
    define a `producer` of their own."""
    from kinerja_events.outbox import make_producer

    p = make_producer(bus.kafka_bootstrap)
    await p.start()
    yield p
    await p.stop()


@pytest.fixture
def make_leave() -> Callable[..., NewEvent]:
    """`make_leave(nip, n=1)` builds a `LeaveRecorded` event."""
    return leave


# --- Kafka and consumer-side helpers ---------------------------------------------------------

@pytest.fixture
def read_topic(infra: EmbeddedInfra) -> Callable[..., Awaitable[list]]:
    """`await read_topic(topic, until=pred, timeout=45)`: every record of `topic` from the
    beginning (no consumer group), read until `pred(records)` holds; raises on timeout."""
    return topic_reader(infra.kafka_bootstrap)


@pytest.fixture
def wait_caught_up(infra: EmbeddedInfra) -> Callable[..., Awaitable[None]]:
    """`await wait_caught_up(group, topic)`: until `group` has committed the end offset of
    every partition of `topic` (as of the call)."""
    return functools.partial(group_caught_up, infra.kafka_bootstrap)


class AppliedLog:
    """A consumer's database whose effect appends one `applied` row per application (no
    unique key, so a double application would show)."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.engine = engine

    async def effect(self, conn, envelope) -> None:  # type: ignore[no-untyped-def]
        from sqlalchemy import text

        await conn.execute(
            text("INSERT INTO applied (event_id, stream_id, stream_version) "
                 "VALUES (:id, :stream, :version)"),
            {"id": envelope.event_id, "stream": envelope.stream_id,
             "version": envelope.stream_version},
        )

    async def counts(self, event_ids: set) -> dict:
        """How many times each of `event_ids` was applied."""
        from sqlalchemy import text

        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT event_id, count(*) AS n FROM applied GROUP BY event_id"))
            return {r.event_id: r.n for r in rows if r.event_id in event_ids}


@pytest.fixture
async def applied_log(new_database: Callable[[], Awaitable[str]]) -> AsyncIterator[AppliedLog]:
    """A fresh consumer database (shared tables + `applied`) and its counting effect."""
    from sqlalchemy import text

    eng = make_engine(await new_database())
    await create_schema(eng)
    async with eng.begin() as conn:
        await conn.execute(text(
            "CREATE TABLE applied (event_id uuid NOT NULL, stream_id text NOT NULL, "
            "stream_version int NOT NULL)"))
    try:
        yield AppliedLog(eng)
    finally:
        await eng.dispose()
