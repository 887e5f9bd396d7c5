"""Payroll as the payroll office meets it mid-month, on a broker and database of its own (no
month is closed before these tests): the month in progress shows no absence for the days to
come, and a fact dated 2099-12-31 (inside the contract's bounds) breaks neither the preview,
nor a close, nor offline compute."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from history import History

from kinerja_events.observability import make_registry
from kinerja_events.store import PostgresEventStore
from kinerja_events.types import WIB
from kinerja_payroll.bootstrap import PayrollConfig, build_service
from kinerja_payroll.exports import export_history
from kinerja_payroll.ledger import close_period
from kinerja_payroll.offline import compute_file
from kinerja_payroll.people import month_table
from kinerja_payroll.rules import load_default_rules
from test_payroll_service import publish, wait_for_ids

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def payroll(infra, bus, tmp_path_factory):  # type: ignore[no-untyped-def]
    url = await infra.create_database(f"mip_{uuid.uuid4().hex[:12]}")
    config = PayrollConfig(export_dir=tmp_path_factory.mktemp("exports"))
    service = await build_service(bus.kafka_bootstrap, url, config, make_registry())
    await service.start()
    service.config = config
    yield service
    await service.stop()


def weekdays(first: date, end: date) -> int:
    """Mondays to Fridays in [first, end) (no holiday is declared here)."""
    return sum(1 for n in range((end - first).days)
               if (first + timedelta(days=n)).weekday() < 5)


def month_start(day: date) -> date:
    return day.replace(day=1)


async def test_mid_month_no_absence_for_days_to_come_and_a_2099_fact_breaks_nothing(
        payroll, producer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(WIB)
    today = now.date()
    nip = "19" + uuid.uuid4().int.__str__()[:16]
    history = History(clock=now - timedelta(days=60))
    history.position("MIP", 7)
    history.employee(nip, "MIP", "2026-01-01")
    history.check_in(nip, "2099-12-31 08:00")
    envelopes = [{**e, "event_id": str(uuid.uuid4())} for e in history.events]
    await publish(producer, envelopes)
    await wait_for_ids(payroll, [e["event_id"] for e in envelopes])

    period = today.strftime("%Y-%m")
    async with payroll.engine.connect() as conn:
        table = await month_table(conn, period)
    [row] = [r.tpp for r in table.rows if r.tpp["nip"] == nip]
    judged = weekdays(month_start(today), today)  # today and later are still to come
    assert (row["tk_days"], row["target_minutes"]) == (judged, 300 * judged)
    assert "month_in_progress" in row["flags"]

    previous = month_start(today) - timedelta(days=1)
    close = await close_period(payroll.engine, PostgresEventStore(payroll.engine),
                               previous.strftime("%Y-%m"), payroll.config.rule_file(), now)
    [closed] = [r.tpp for r in close.results if r.nip == nip]
    assert closed["tk_days"] == weekdays(month_start(previous), previous + timedelta(days=1))
    assert "month_in_progress" not in closed["flags"]

    exported = tmp_path / "history.jsonl"
    await export_history(payroll.engine, exported)
    rules = load_default_rules()
    offline = compute_file(exported, previous.strftime("%Y-%m"), rules)
    assert [r.tpp for r in offline if r.nip == nip] == [closed]
    [far] = [r.tpp for r in compute_file(exported, "2099-12", rules) if r.nip == nip]
    assert far["tk_days"] == weekdays(date(2099, 12, 1), date(2100, 1, 1)) - 1
