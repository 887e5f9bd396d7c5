"""Small scenarios for the payroll table tests (one employee, kelas 7, October 2026)."""

from __future__ import annotations

from history import NIP_A, NIP_BOSS, History, weekdays

from kinerja_payroll.facts import build_facts
from kinerja_payroll.fold import compute_period, explain
from kinerja_payroll.rules import RuleSet, load_default_rules

OCT = "2026-10"
THU = "2026-10-08"  # a Thursday (ends 16:00)
FRI = "2026-10-09"  # a Friday (ends 16:30)
SAT = "2026-10-10"
B7 = 4_500_000


def hired(effective: str = "2026-10-01", *, public_service: bool = False,
          rating: int | None = 4) -> History:
    """Kelas 7 employee NIP_A from `effective`, rated by the superior for October."""
    h = History()
    h.position("P7", 7, public_service=public_service)
    h.position("P9", 9)
    h.employee(NIP_A, "P7", effective, superior_nip=NIP_BOSS)
    if rating is not None:
        h.rating(NIP_BOSS, NIP_A, OCT, "superior", rating)
    return h


def attend(h: History, period: str = OCT, *, skip: tuple[str, ...] = (),
           special: dict[str, tuple] | None = None, minutes: int = 300, nip: str = NIP_A,
           only: tuple[str, ...] | None = None) -> History:
    """On time every weekday of `period` (except `skip`), `minutes` approved each day.

    `special[day] = (check_in, check_out)` overrides a day's times (None: no such event).
    """
    special = special or {}
    for day in weekdays(period):
        if day in skip or (only is not None and day not in only):
            continue
        check_in, check_out = special.get(day, ("07:30", "schedule"))
        h.day(nip, day, check_in, check_out)
        if minutes:
            h.work(nip, day, minutes)
    return h


def run(h: History, period: str = OCT, nip: str = NIP_A, rules: RuleSet | None = None):
    """(TPPCalculated data, PayrollResult, Assessment) of `nip`."""
    rules = rules or load_default_rules()
    facts = build_facts(h.events)
    results = {r.nip: r for r in compute_period(facts, period, rules)}
    result = results.get(nip)
    return (result.tpp if result else None), result, explain(facts, nip, period, rules)
