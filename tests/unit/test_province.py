"""bench/province.py, the seeded synthetic province every benchmark generates its history with.

A small province (30 employees, one month): the same seed gives the same bytes and another seed
other bytes; every line is an envelope of the contract, on streams numbered as the services
number them; every kind of fact the generator promises is there; offline compute pays every
employee employed in the month, and not all the same; about 300 lines per employee.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections import Counter, defaultdict
from datetime import date, time
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from kinerja_events.events import EVENT_DATA, SCHEMA_VERSIONS, Event
from kinerja_events.types import WIB
from kinerja_payroll.offline import compute_file
from kinerja_payroll.rules import load_default_rules

PROVINCE_PY = Path(__file__).resolve().parents[2] / "bench" / "province.py"
EMPLOYEES = 30
SEED = 2026
PERIOD = "2026-10"
PROMISED = {
    "OfficeRegistered", "PositionDefined", "EmployeeRegistered", "EmployeeChanged",
    "EmployeeTerminated", "HolidayDeclared", "CheckedIn", "CheckedOut", "LeaveRecorded",
    "LeaveCancelled", "OfficialTravelRecorded", "ActivityLogged", "ActivityApproved",
    "ActivityRejected", "RatingGiven", "IKPAssigned", "IKPCompleted", "MKDRequested",
    "MKDGranted", "MKDDenied", "MKDRevoked",
}


@pytest.fixture(scope="module")
def province():
    """bench/province.py as a module (bench/ is not a package, nor on the path)."""
    spec = importlib.util.spec_from_file_location("province", PROVINCE_PY)
    module = importlib.util.module_from_spec(spec)
    sys.modules["province"] = module  # dataclasses look their module up while it loads
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["province"]
    return module


@pytest.fixture(scope="module")
def generated(province, tmp_path_factory):
    path = tmp_path_factory.mktemp("province") / "history.jsonl"
    stats = province.generate(path, employees=EMPLOYEES, seed=SEED, period=PERIOD)
    return path, stats


@pytest.fixture(scope="module")
def lines(generated):
    return generated[0].read_bytes().splitlines()


@pytest.fixture(scope="module")
def envelopes(lines):
    validate = TypeAdapter(Event).validate_json
    return [validate(line) for line in lines]


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_bytes(province, generated,
                                                                         tmp_path):
    again, other = tmp_path / "again.jsonl", tmp_path / "other.jsonl"
    province.generate(again, employees=EMPLOYEES, seed=SEED, period=PERIOD)
    province.generate(other, employees=EMPLOYEES, seed=SEED + 1, period=PERIOD)
    assert again.read_bytes() == generated[0].read_bytes()
    assert other.read_bytes() != generated[0].read_bytes()


def test_every_line_is_an_envelope_of_the_contract_at_its_current_version(lines, envelopes):
    assert len(envelopes) == len(lines)
    for envelope in envelopes:
        assert envelope.schema_version == SCHEMA_VERSIONS.get(envelope.type, 1)
    logged = [e for e in envelopes if e.type == "ActivityLogged"]
    assert logged and all(e.data.skp_item_id is None for e in logged)


def test_the_stats_count_what_was_written(generated, lines, envelopes):
    path, stats = generated
    assert stats.lines == len(lines)
    assert stats.bytes == path.stat().st_size
    assert stats.employees == EMPLOYEES
    assert stats.by_type == dict(sorted(Counter(e.type for e in envelopes).items()))


def test_every_promised_kind_of_fact_occurs(envelopes):
    assert PROMISED <= {e.type for e in envelopes}
    checks = [e for e in envelopes if e.type in ("CheckedIn", "CheckedOut")]
    assert {e.data.mode for e in checks} == {"office", "field", "mkd"}
    offsets = {e.data.at.utcoffset().total_seconds() / 3600 for e in checks}
    assert {0, 7, 8} <= offsets
    assert any("offline_sync" in e.data.flags for e in checks)
    assert {h.data.kind for h in envelopes if h.type == "HolidayDeclared"} == {
        "national", "joint_leave"}
    decided_twice = [e for e in envelopes if e.type.startswith("Activity")
                     and e.stream_version == 3]
    assert decided_twice


def test_some_lines_are_delivered_twice_and_only_byte_for_byte(lines, envelopes):
    by_id = defaultdict(set)
    for line, envelope in zip(lines, envelopes):
        by_id[envelope.event_id].add(line)
    assert len(by_id) < len(lines)
    assert all(len(copies) == 1 for copies in by_id.values())


def test_streams_are_numbered_as_the_services_number_them(envelopes):
    """Per (source, stream): versions 1, 2, 3 … without gaps, in the order recorded; every
    outcome of a command carries the command as its cause, and its id is derived from it."""
    streams = defaultdict(dict)
    for e in envelopes:
        streams[(e.source, e.stream_id)][e.event_id] = (e.stream_version, e.recorded_at)
        if e.causation_id is not None and e.type != "MKDRevoked":
            assert e.event_id == uuid.uuid5(e.causation_id, e.type)
    for stream, events in streams.items():
        ordered = sorted(events.values())
        assert [v for v, _ in ordered] == list(range(1, len(ordered) + 1)), stream
        assert [at for _, at in ordered] == sorted(at for _, at in ordered), stream
    prefixes = {(source, stream.split(":")[0]) for source, stream in streams}
    assert prefixes == {("hr", "office"), ("hr", "position"), ("hr", "holiday"),
                        ("hr", "employee"), ("attendance", "employee"), ("worklog", "activity"),
                        ("appraisal", "rating"), ("appraisal", "ikp"), ("mkd", "mkd")}


def test_most_arrive_on_time_some_late_and_a_few_days_are_absent(envelopes):
    start = time(7, 30)
    first_in = {}
    for e in envelopes:
        if e.type == "CheckedIn":
            at = e.data.at.astimezone(WIB)
            key = (e.data.nip, at.date())
            first_in[key] = min(first_in.get(key, at), at)
    late = sum(at.time() > start for at in first_in.values()) / len(first_in)
    assert 0.03 < late < 0.4
    days = {e.data.date for e in envelopes if e.type == "HolidayDeclared"}
    working = [date(2026, 10, d) for d in range(1, 32)
               if date(2026, 10, d).weekday() < 5 and date(2026, 10, d) not in days]
    assert len({at.date() for at in first_in.values()}) == len(working)


def test_offline_compute_pays_every_employee_employed_in_the_month(generated, envelopes):
    results = compute_file(generated[0], PERIOD, load_default_rules())
    first, last = date(2026, 10, 1), date(2026, 10, 31)
    starts = {e.data.nip: e.data.effective_date for e in envelopes
              if e.type == "EmployeeRegistered"}
    ends = {e.data.nip: e.data.effective_date for e in envelopes
            if e.type == "EmployeeTerminated"}
    employed = {nip for nip, start in starts.items()
                if start <= last and ends.get(nip, date.max) > first}
    assert [r.tpp["nip"] for r in results] == sorted(employed)
    totals = [r.tpp["total_rupiah"] for r in results]
    assert all(isinstance(t, int) and t > 0 for t in totals)
    assert len(set(totals)) > len(totals) // 2
    assert len({r.tpp["discipline_cut"] for r in results}) > 3
    assert any(r.tpp["tk_days"] > 0 for r in results)


def test_about_three_hundred_lines_per_employee(generated):
    assert 200 <= generated[1].lines / EMPLOYEES <= 400


def test_its_own_copy_of_the_contract_agrees_with_the_contract(province):
    """The generator writes its templates without importing the models (it must be fast and
    build nothing at import time): its types and versions are the contract's."""
    assert set(province.SOURCES) <= set(EVENT_DATA)
    assert province.SCHEMA_VERSIONS == SCHEMA_VERSIONS
