"""One contract suite run against every event store; plus real concurrency on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import select

from kinerja_events.db import outbox
from kinerja_events.envelope import NewEvent
from kinerja_events.store import (
    ConcurrencyError,
    DuplicateCommand,
    EventStore,
    InMemoryEventStore,
    PostgresEventStore,
)
from kinerja_events import topics

pytestmark = pytest.mark.integration

SOURCE = "attendance"


@pytest.fixture(params=["postgres", "memory"])
def store(request: pytest.FixtureRequest) -> EventStore:
    """Each test of the contract runs once per implementation."""
    if request.param == "memory":
        return InMemoryEventStore()
    return PostgresEventStore(request.getfixturevalue("engine"))


Leave = Callable[..., NewEvent]


async def test_a_new_stream_is_at_version_zero(store: EventStore) -> None:
    assert await store.stream_version("employee:nobody") == 0
    assert await store.read_stream("employee:nobody") == []


async def test_appended_events_get_consecutive_versions_and_read_back_in_order(
    store: EventStore, make_leave: Leave, unique_nip: Callable[[], str]
) -> None:
    nip = unique_nip()
    stream = f"employee:{nip}"
    first = await store.append(stream, 0, [make_leave(nip, 1), make_leave(nip, 2)], source=SOURCE)
    second = await store.append(stream, 2, [make_leave(nip, 3)], source=SOURCE)

    assert [e.stream_version for e in first + second] == [1, 2, 3]
    read = await store.read_stream(stream)
    assert read == first + second
    assert [e.data.leave_id for e in read] == ["L-1", "L-2", "L-3"]
    assert await store.stream_version(stream) == 3
    assert await store.read_stream(stream, after_version=2) == second
    assert await store.read_stream(stream, after_version=3) == []


async def test_an_append_at_a_stale_version_raises_a_concurrency_error(
    store: EventStore, make_leave: Leave, unique_nip: Callable[[], str]
) -> None:
    nip = unique_nip()
    stream = f"employee:{nip}"
    await store.append(stream, 0, [make_leave(nip, 1)], source=SOURCE)

    with pytest.raises(ConcurrencyError):
        await store.append(stream, 0, [make_leave(nip, 2)], source=SOURCE)
    with pytest.raises(ConcurrencyError):  # ahead of the stream: no gaps either
        await store.append(stream, 5, [make_leave(nip, 2)], source=SOURCE)
    assert await store.stream_version(stream) == 1


async def test_a_conflicting_batch_leaves_nothing_behind(
    store: EventStore, make_leave: Leave, unique_nip: Callable[[], str]
) -> None:
    nip = unique_nip()
    stream = f"employee:{nip}"
    winner = await store.append(stream, 0, [make_leave(nip, 1)], source=SOURCE)

    with pytest.raises(ConcurrencyError):
        await store.append(
            stream, 0, [make_leave(nip, 2), make_leave(nip, 3), make_leave(nip, 4)],
            source=SOURCE,
        )
    assert await store.read_stream(stream) == winner
    assert await store.read_all() == winner


async def test_read_all_orders_by_stream_then_version(
    store: EventStore, make_leave: Leave
) -> None:
    nips = ["199001012020121003", "199001012020121001", "199001012020121002"]
    for nip in nips:
        for version in range(3):
            await store.append(f"employee:{nip}", version, [make_leave(nip, version)],
                               source=SOURCE)
    everything = await store.read_all()
    keys = [(e.stream_id, e.stream_version) for e in everything]
    assert keys == sorted(keys) and len(keys) == 9


async def test_a_command_outcome_is_stored_and_a_repeat_is_refused(
    store: EventStore, make_leave: Leave, unique_nip: Callable[[], str]
) -> None:
    nip = unique_nip()
    stream = f"employee:{nip}"
    command_id = uuid.uuid4()
    appended = await store.append(stream, 0, [make_leave(nip, 1), make_leave(nip, 2)],
                                  source=SOURCE, command_id=command_id)

    assert await store.command_outcome(command_id) == appended
    assert await store.command_outcome(uuid.uuid4()) is None
    with pytest.raises(DuplicateCommand):
        await store.append(stream, 2, [make_leave(nip, 3)], source=SOURCE, command_id=command_id)
    with pytest.raises(DuplicateCommand):  # even at the stale version, the duplicate is named
        await store.append(stream, 0, [make_leave(nip, 3)], source=SOURCE, command_id=command_id)
    assert await store.stream_version(stream) == 2


async def test_a_command_with_no_events_still_has_an_outcome(
    store: EventStore, unique_nip: Callable[[], str]
) -> None:
    command_id = uuid.uuid4()
    assert await store.append(f"employee:{unique_nip()}", 0, [], source=SOURCE,
                              command_id=command_id) == []
    assert await store.command_outcome(command_id) == []


# --- PostgreSQL only ------------------------------------------------------------------------

async def test_concurrent_writers_at_one_version_exactly_one_wins(
    engine, make_leave: Leave, unique_nip: Callable[[], str]  # type: ignore[no-untyped-def]
) -> None:
    store = PostgresEventStore(engine)
    nip = unique_nip()
    stream = f"employee:{nip}"

    async def write(n: int):  # type: ignore[no-untyped-def]
        return await store.append(stream, 0, [make_leave(nip, n), make_leave(nip, n + 100)],
                                  source=SOURCE)

    results = await asyncio.gather(*(write(n) for n in range(8)), return_exceptions=True)

    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, ConcurrencyError) for r in losers), losers
    assert await store.read_stream(stream) == winners[0]


async def test_each_appended_event_has_an_unsent_outbox_row(
    engine, make_leave: Leave, unique_nip: Callable[[], str]  # type: ignore[no-untyped-def]
) -> None:
    store = PostgresEventStore(engine)
    nip = unique_nip()
    appended = await store.append(f"employee:{nip}", 0, [make_leave(nip, 1), make_leave(nip, 2)],
                                  source=SOURCE)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(outbox).order_by(outbox.c.stream_version))).all()

    assert [r.event_id for r in rows] == [e.event_id for e in appended]
    assert {r.topic for r in rows} == {topics.ATTENDANCE}
    assert {r.key for r in rows} == {nip.encode()}
    assert all(r.sent_at is None for r in rows)
    assert [store.codec.decode(r.payload) for r in rows] == appended
