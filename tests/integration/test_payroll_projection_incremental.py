"""The projection keeper recomputes only the employees the new facts name — and its projection,
read back from PostgreSQL after every refresh, is the projection a whole recompute of every
fact stored so far would give, to the rupiah: with facts arriving in any order and batch,
duplicated, ids (a leave, a travel, an activity, an IKP) recorded again for another employee,
decisions arriving before what they decide, and a position redefined midway."""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime

import pytest
from random_history import NIPS, random_history
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from kinerja_events.observability import make_registry
from kinerja_events.types import WIB
from kinerja_payroll.facts import build_facts
from kinerja_payroll.fold import IncompleteFacts, compute_period
from kinerja_payroll.projection import ProjectionKeeper
from kinerja_payroll.rules import load_default_rules
from kinerja_payroll.tables import create_tables, facts, projection

pytestmark = pytest.mark.integration

PERIODS = ("2026-09", "2026-10")


def history_with_takeovers(seed: int) -> tuple[list[dict], list[dict]]:
    """A random history with ids recorded again for another employee (latest wins), shuffled,
    with some deliveries repeated; then, to arrive one at a time, more ids taken over and a
    position redefined."""
    rng = random.Random(seed)
    h = random_history(seed)
    taken = [e["data"] for e in h.events if e["type"] in ("LeaveRecorded", "ActivityLogged")]
    for data in rng.sample(taken, min(6, len(taken))):
        other = rng.choice([n for n in NIPS if n != data["nip"]])
        if "leave_id" in data:
            h.leave(other, data["leave_id"], data["start_date"], data["end_date"])
        else:
            h.activity(other, data["activity_id"], data["work_date"], data["minutes"])
    h.leave(NIPS[0], "L-shared", "2026-10-01", "2026-10-31")
    h.travel(NIPS[0], "T-shared", "2026-09-01", "2026-09-30")
    h.ikp("IKP-shared", NIPS[2], "2026-10", "2026-10-20")
    h.complete_ikp("IKP-shared", NIPS[2], "2026-10-19T10:00:00+07:00")
    events = list(h.events)
    rng.shuffle(events)
    # Taken over later, so that the first holder's result was projected with them before.
    h.leave(NIPS[1], "L-shared", "2026-10-01", "2026-10-31")
    h.travel(NIPS[1], "T-shared", "2026-09-01", "2026-09-30")
    h.ikp("IKP-shared", NIPS[3], "2026-10", "2026-10-22")
    h.position("P7", 9)
    return events + rng.sample(events, len(events) // 20), h.events[len(events):]


def expected_projection(stored: list[dict], before: dict) -> dict[tuple[str, str], dict]:
    """What a whole recompute of `stored` gives, as the projection's rows hold it; a period
    that cannot be computed yet (a position not defined) keeps its rows of `before`."""
    known, rules = build_facts(stored), load_default_rules()
    today = datetime.now(WIB).date()
    rows = {}
    for period in PERIODS:
        try:
            results = compute_period(known, period, rules, as_of=today)
        except IncompleteFacts:
            rows.update((key, data) for key, data in before.items() if key[0] == period)
            continue
        for r in results:
            rows[(period, r.nip)] = json.loads(json.dumps(
                {**r.tpp, "mkd_days_per_week": r.mkd_days_per_week,
                 "minute_value_rupiah": r.minute_value}))
    return rows


async def store(engine, envelopes: list[dict]) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        await conn.execute(insert(facts).on_conflict_do_nothing(), [
            {"event_id": uuid.UUID(e["event_id"]), "type": e["type"], "envelope": e}
            for e in envelopes])


async def projected(engine) -> dict[tuple[str, str], dict]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        rows = await conn.execute(select(projection.c.period, projection.c.nip,
                                         projection.c.data))
        return {(r.period, r.nip): r.data for r in rows if r.period in PERIODS}


def record_plans(keeper: ProjectionKeeper) -> list[dict]:
    """Every plan the keeper makes from now on (its own `plan`, run as ever)."""
    plans: list[dict] = []
    plan = keeper.plan

    def recorded(periods, today):  # type: ignore[no-untyped-def]
        plans.append(plan(periods, today))
        return plans[-1]

    keeper.plan = recorded  # type: ignore[method-assign]
    return plans


@pytest.mark.parametrize("seed", [3, 17, 2026])
async def test_every_refresh_leaves_the_projection_a_whole_recompute_would(engine, seed):
    await create_tables(engine)
    keeper = ProjectionKeeper(engine, load_default_rules(), make_registry())
    events, takeovers = history_with_takeovers(seed)
    rng = random.Random(seed)
    batches = []
    while sum(map(len, batches)) < len(events):
        start = sum(map(len, batches))
        batches.append(events[start:start + rng.randint(1, len(events) // 4)])
    stored: list[dict] = []
    plans = record_plans(keeper)
    for batch in batches + [[event] for event in takeovers]:
        before = await projected(engine)
        await store(engine, batch)
        stored += batch
        while await keeper.refresh_once(limit=rng.randint(1, 200)):
            pass
        assert await projected(engine) == expected_projection(stored, before), len(stored)
    partial = [p for p in plans if any(nips is not None for nips in p.values())]
    assert partial, "every refresh recomputed everyone: the incremental path was never taken"


async def test_a_batch_naming_one_employee_recomputes_only_them(engine):
    await create_tables(engine)
    keeper = ProjectionKeeper(engine, load_default_rules(), make_registry())
    events = random_history(5).events
    await store(engine, events)
    await keeper.catch_up()
    before = await projected(engine)
    nip = NIPS[1]
    h = random_history(5)
    late = h.check_in(nip, "2026-10-14 07:10:00")
    late["event_id"] = str(uuid.uuid4())
    await store(engine, [late])
    plans = record_plans(keeper)
    await keeper.refresh_once()
    assert set(PERIODS) <= plans[-1].keys()  # the month in progress is open too
    assert all(nips == {nip} for nips in plans[-1].values())
    assert keeper.plan(list(PERIODS), datetime.now(WIB).date()) == {}  # nothing new since
    after = await projected(engine)
    assert after == expected_projection([*events, late], before)
    assert {k: v for k, v in after.items() if k[1] != nip} == \
        {k: v for k, v in before.items() if k[1] != nip}


@pytest.mark.parametrize("backlog", [40, 1000])
async def test_a_backlog_taken_in_is_recomputed_at_its_end(engine, backlog):
    """While a backlog is taken in, full batches put the recompute off; the projection after
    `catch_up` is still the whole recompute — also when the backlog ends on a full batch."""
    await create_tables(engine)
    keeper = ProjectionKeeper(engine, load_default_rules(), make_registry(), batch_size=40)
    events, _ = history_with_takeovers(11)
    events = events[:backlog]  # shuffled: both months are spoken of
    await store(engine, events)
    plans = record_plans(keeper)
    assert await keeper.catch_up() == len(events)
    assert await projected(engine) == expected_projection(events, {})
    assert len(plans) == 1  # one recompute for the whole backlog (well under 30 s here)
