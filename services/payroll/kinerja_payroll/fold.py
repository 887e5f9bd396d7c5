"""The pure, exact monthly fold of RULES.md (`jabar-2026` and any rule set of its shape).

`compute_period(facts, period, rules)` gives one `PayrollResult` per employee with `W_e > 0`,
sorted by nip: the `TPPCalculated` data (wire format of CONTRACT.md) and MKD eligibility for the
next period. `explain(facts, nip, period, rules)` gives the same computation laid open, and
`render_explanation` prints it for a person to check by hand. Only `Fraction` and `int` are used
for amounts and ratios; times are compared as instants and dated in WIB.

Readings (where RULES.md leaves a choice; each keeps the result a function of the set of facts):
1. Leave, travel, activity, rating, IKP and position "later wins" use the greatest
   (occurred_at as an instant, event_id); a leave / travel / activity belongs to the nip of its
   latest record. A `LeaveCancelled` cancels its `leave_id` whatever its nip or time.
2. `OfficialTravelRecorded` is resolved like leave: the latest record of a `travel_id` counts
   (a re-recorded travel replaces its dates). A day in both a leave and a travel is Leave.
3. An activity counts for the employee of its latest `ActivityLogged`, on that record's
   `work_date`; the decisions' own nip is ignored. The latest decision (by occurred_at, then
   event_id) decides, even if it occurred before the `ActivityLogged`. A decision without any
   `ActivityLogged` counts for nothing.
4. The employee's attributes on a date apply `EmployeeRegistered` and `EmployeeChanged` together
   in (effective_date, occurred_at, event_id) order; a later `EmployeeRegistered` resets every
   field. Employment needs an `EmployeeRegistered`; `EmployeeChanged` alone employs no one.
5. The position on the last employed *calendar* date of the period gives `B` and
   `public_service`. An employee with `W_e > 0` whose position code has no `PositionDefined`
   cannot be paid correctly: `compute_period` raises `IncompleteFacts` naming them, rather
   than paying 0 or skipping.
6. A check-in or check-out is dated by its `at` converted to WIB. `out` must be strictly after
   `in` and on the same WIB date. Seconds are truncated: L = floor((in − start)/60 s) and
   E = floor((end − out)/60 s), both computed on exact microseconds.
7. Check-ins and activities on dates the employee is not employed are ignored; so are ratings
   and IKPs for employees without a result.
8. A rating counts for the ratee of its key (rater, ratee, period); its group is the relation of
   the latest rating of that key. A rater rating themselves is not treated specially.
9. IKP: the latest `IKPAssigned` of an `ikp_id` gives its assignee, period and due date; the
   earliest `IKPCompleted.completed_at` of that id (whatever its assignee field) decides on time
   (≤ 23:59:59.999999 WIB of `due_date`). `k` is clamped after summing.
10. `total_rupiah = max(0, round(productivity) + round(discipline) + round(ikp))` — the sum of
    the three rounded parts (as in the §10 example).
11. MKD history: TK of m−1 and m−2 is computed from the same facts with the same rule set, for
    months in which the employee has `W_e > 0`. MKD `reasons` are codes: `public_service`,
    `tk_history:YYYY-MM`, `tier_4` / `tier_3` / `tier_1` when granted, and, when no tier holds,
    `productivity_below_tier_1`, `discipline_cut_above_tier_1`, `tk_days_above_tier_1`,
    `behaviour_score_below_tier_1` for each failed condition of the lowest tier.
12. `approved_minutes` in the result is Σ over days of min(450, approved minutes of the day),
    only days in the period on which the employee is employed.
13. The only flag is `no_behaviour_rating`.
14. Whitespace-only lines of an exported history are skipped (offline compute).
15. Two deliveries of one event_id are "the same content" when their lines are byte-identical
    (after trimming whitespace), or else when the decoded envelopes are equal (so key order and
    spacing do not matter; a different value — including a time written with another offset —
    does). The in-service builder compares the model's JSON dump.
16. The status order of §3 is applied strictly: Leave, then Travel, then Absent / Present, so a
    check-in on a travel day brings no TL/PSW cut; a check-out with no check-in on a day is
    Absent.
17. `HolidayDeclared` cannot be withdrawn: any declaration of a date makes it a non-working day.
"""

from __future__ import annotations

import calendar as _calendar
from collections import defaultdict
from collections.abc import Callable, Iterable, Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from math import lcm
from typing import Any

from kinerja_events.exact import format_ratio, round_half_away

from .facts import EmployeeFacts, Facts
from .rules import RuleSet

ONE_MINUTE = timedelta(minutes=1)
GROUPS = ("superior", "peer", "subordinate")
NO_BEHAVIOUR_RATING = "no_behaviour_rating"
MONTH_IN_PROGRESS = "month_in_progress"
PENDING = "pending"
ZERO = Fraction(0)


class IncompleteFacts(ValueError):
    """The facts cannot give a correct result (e.g. an employee's position is not defined)."""


# --- exact arithmetic and wire formats -----------------------------------------------------
def _exact_sum(values: Iterable[Fraction]) -> Fraction:
    """Σ `values`, exactly: each distinct value times its count.

    The day cuts of a month are a handful of Fraction objects (the rule set's bands) repeated
    on many days. Adding them costs a gcd each, and hashing a Fraction a modular inverse, so
    they are counted by object identity: equal values held in distinct objects are merely
    counted apart, and the sum stays exact.
    """
    counts: dict[int, list] = {}
    for value in values:
        seen = counts.get(id(value))
        if seen is None:
            counts[id(value)] = [value, 1]
        else:
            seen[1] += 1
    return sum((value * n for value, n in counts.values()), ZERO)


class computed_once:  # noqa: N801 - used as a decorator, like the property it stands for
    """A property computed on first use and then kept in the instance's `__dict__`, which
    shadows it from then on: `functools.cached_property` without the lock Python 3.11 takes on
    every first use (about a tenth of a fold's time, with a dozen figures per employee)."""

    def __init__(self, compute: Callable[[Any], Any]):
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


def _mean(values: list[Fraction]) -> Fraction:
    """The exact mean of `values`, over their common denominator: one reduction, rather than
    one per addition (ratings are sevenths, a handful per group)."""
    common = lcm(*(v.denominator for v in values))
    return Fraction(sum(v.numerator * (common // v.denominator) for v in values),
                    common * len(values))


# --- periods and calendar ------------------------------------------------------------------
@dataclass(frozen=True)
class Month:
    """A calendar month `YYYY-MM`."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """The month of `YYYY-MM`; raises ValueError otherwise."""
        if len(text) != 7 or text[4] != "-" or not (text[:4] + text[5:]).isdigit():
            raise ValueError(f"period must be YYYY-MM, got {text!r}")
        month = cls(int(text[:4]), int(text[5:]))
        if not 1 <= month.month <= 12:
            raise ValueError(f"period must be YYYY-MM, got {text!r}")
        return month

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return date(self.year, self.month, _calendar.monthrange(self.year, self.month)[1])

    def shift(self, months: int) -> Month:
        """The month `months` later (negative: earlier)."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def _dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def working_days(month: Month, facts: Facts, rules: RuleSet) -> list[date]:
    """Scheduled weekdays of `month` that are not declared holidays."""
    return [d for d in _dates(month.first, month.last)
            if d.isoweekday() in rules.schedule and d not in facts.holidays]


# --- the per-nip view of the resolved facts -----------------------------------------------
@dataclass
class Index:
    """Resolved facts grouped by nip (built once per computation)."""

    leaves: dict[str, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    travels: dict[str, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    minutes: dict[str, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    ratings: dict[tuple[str, str], list[tuple]] = field(default_factory=lambda: defaultdict(list))
    ikps: dict[tuple[str, str], list[tuple]] = field(default_factory=lambda: defaultdict(list))


def index_facts(facts: Facts, nips: AbstractSet[str] | None = None) -> Index:
    """Group the resolved (latest-wins) facts by nip: of every employee, or of `nips` only."""
    idx = Index()
    for leave_id, (_, nip, kind, start, end) in facts.leaves.items():
        if leave_id not in facts.cancelled_leaves and (nips is None or nip in nips):
            idx.leaves[nip].append((start, end, leave_id, kind))
    for travel_id, (_, nip, start, end) in facts.travels.items():
        if nips is None or nip in nips:
            idx.travels[nip].append((start, end, travel_id))
    minutes = idx.minutes
    for activity_id, (logged, decision) in facts.activities.items():
        # Counted: logged, and the latest decision is an approval (reading 3).
        if logged is not None and decision is not None and decision[1] is not None and (
                nips is None or logged[1] in nips):
            minutes[logged[1]].append((logged[2], decision[1], activity_id, logged[3]))
    for (rater, ratee, period), (_, relation, total) in facts.ratings.items():
        if nips is None or ratee in nips:
            idx.ratings[(ratee, period)].append((rater, relation, Fraction(total, 7)))
    for ikp_id, (_, assignee, period, due, title) in facts.ikps.items():
        if nips is None or assignee in nips:
            idx.ikps[(assignee, period)].append((ikp_id, due, title))
    return idx


# --- the assessment of one employee for one month ------------------------------------------
@dataclass
class Day:
    """One working day on which the employee is employed: its status and cut."""

    date: date
    status: str  # leave | travel | absent | present | pending (not judged yet: month in progress)
    check_in: datetime | None = None
    check_out: datetime | None = None
    lateness: int = 0
    early_leave: int = 0
    tl_cut: Fraction = ZERO
    psw_cut: Fraction = ZERO
    tk_cut: Fraction = ZERO
    made_up: bool = False
    reference: str | None = None  # leave_id / travel_id

    @property
    def cut(self) -> Fraction:
        """TL + PSW + TK cut of the day."""
        cut = self.tl_cut + self.psw_cut if self.psw_cut else self.tl_cut
        return cut + self.tk_cut if self.tk_cut else cut


@dataclass
class Assessment:
    """Everything the fold computed for one employee and month, exact."""

    nip: str
    month: Month
    rules: RuleSet
    position_code: str | None
    position: tuple | None
    W: int
    W_e: int
    days: list[Day]
    minutes_by_day: list[tuple[date, int, int]]  # (work_date, approved, counted)
    activities: list[tuple]
    ratings: list[tuple[str, str, Fraction]]
    ikps: list[tuple[str, str, date, datetime | None, bool]]
    B: int = 0
    flags: list[str] = field(default_factory=list)

    # derived figures ----------------------------------------------------------------------
    @computed_once
    def tk(self) -> int:
        return sum(1 for d in self.days if d.status == "absent")

    @computed_once
    def leave_days(self) -> int:
        return sum(1 for d in self.days if d.status == "leave")

    @computed_once
    def C(self) -> Fraction:
        cuts = (cut for d in self.days if d.status != "leave"
                for cut in (d.tl_cut, d.psw_cut, d.tk_cut) if cut)
        return min(self.rules.cut_cap, _exact_sum(cuts))

    @computed_once
    def B_e(self) -> Fraction:
        return Fraction(self.B * self.W_e, self.W)

    @computed_once
    def capped_minutes(self) -> int:
        return sum(counted for _, _, counted in self.minutes_by_day)

    @computed_once
    def A(self) -> int:
        return max(0, self.capped_minutes - self.rules.absence_deduction_minutes * self.tk)

    @computed_once
    def pending_days(self) -> int:
        return sum(1 for d in self.days if d.status == PENDING)

    @computed_once
    def T(self) -> int:
        return self.rules.target_minutes_per_day * (self.W_e - self.leave_days - self.pending_days)

    @computed_once
    def R_p(self) -> Fraction:
        return Fraction(0) if self.T <= 0 else min(Fraction(1), Fraction(self.A, self.T))

    @computed_once
    def group_scores(self) -> dict[str, Fraction]:
        groups: dict[str, list[Fraction]] = defaultdict(list)
        for _, relation, score in self.ratings:
            groups[relation].append(score)
        return {g: _mean(v) for g, v in groups.items() if v}

    @computed_once
    def S(self) -> Fraction | None:
        scores = self.group_scores
        if not scores:
            return None
        weights = self.rules.group_weights
        total_weight = sum(weights[g] for g in scores)
        return sum(weights[g] * s for g, s in scores.items()) / total_weight

    @computed_once
    def R_b(self) -> Fraction:
        s = self.S
        return Fraction(1) if s is None else min(Fraction(1), s / self.rules.behaviour_divisor)

    @computed_once
    def k(self) -> Fraction:
        r = self.rules
        raw = sum((r.ikp_on_time if on_time else r.ikp_missed for *_, on_time in self.ikps),
                  Fraction(0))
        return max(-r.ikp_clamp, min(r.ikp_clamp, raw))

    @computed_once
    def productivity(self) -> Fraction:
        r = self.rules
        return self.B_e * r.productivity_share * (r.work_weight * self.R_p
                                                  + r.behaviour_weight * self.R_b)

    @computed_once
    def discipline(self) -> Fraction:
        return self.B_e * self.rules.discipline_share * (1 - self.C)

    @computed_once
    def ikp(self) -> Fraction:
        return self.B_e * self.k

    @computed_once
    def minute_value(self) -> Fraction | None:
        """Rupiah value of one approved minute: B_e × 0.60 × 0.7 / T (None when T = 0)."""
        if self.T <= 0:
            return None
        return self.B_e * self.rules.productivity_share * self.rules.work_weight / self.T

    @computed_once
    def total(self) -> int:
        return max(0, round_half_away(self.productivity) + round_half_away(self.discipline)
                   + round_half_away(self.ikp))

    def tpp_calculated(self) -> dict[str, Any]:
        """The `TPPCalculated` data of CONTRACT.md."""
        return {
            "nip": self.nip,
            "period": str(self.month),
            "rule_set": self.rules.id,
            "rule_set_hash": self.rules.hash,
            "base_rupiah": self.B,
            "productivity_rupiah": round_half_away(self.productivity),
            "discipline_rupiah": round_half_away(self.discipline),
            "ikp_rupiah": round_half_away(self.ikp),
            "total_rupiah": self.total,
            "productivity_ratio": format_ratio(self.R_p),
            "behaviour_ratio": format_ratio(self.R_b),
            "discipline_cut": format_ratio(self.C),
            "tk_days": self.tk,
            "approved_minutes": self.capped_minutes,
            "target_minutes": self.T,
            "flags": sorted(self.flags),
        }


@dataclass(frozen=True)
class PayrollResult:
    """One employee's result for a period, and MKD eligibility for the next period."""

    nip: str
    tpp: dict[str, Any]
    mkd_period: str
    mkd_days_per_week: int
    mkd_reasons: tuple[str, ...]
    minute_value: str | None = None
    """Rupiah value of one approved minute (six places; None when T = 0): what a minute of
    work adds while R_p < 1. Not part of `TPPCalculated`."""

    def offline_line(self) -> dict[str, Any]:
        """What `kinerja payroll compute` prints: TPPCalculated data + `mkd_days_per_week`."""
        return {**self.tpp, "mkd_days_per_week": self.mkd_days_per_week}


def employment_window(emp: EmployeeFacts, month: Month) -> tuple[date, date] | None:
    """First and last employed calendar dates of `month` (None if never employed in it)."""
    if emp.registered_from is None:
        return None
    first = max(month.first, emp.registered_from)
    last = month.last
    if emp.terminated_from is not None:
        last = min(last, emp.terminated_from - timedelta(days=1))
    return (first, last) if first <= last else None


def attributes_on(emp: EmployeeFacts, day: date) -> dict[str, Any]:
    """The employee's attributes on `day` (RULES.md §1)."""
    attrs: dict[str, Any] = {}
    ordered = sorted((v for v in emp.versions if v.effective_date <= day),
                     key=lambda v: (v.effective_date, v.occurred_at, v.event_int))
    for version in ordered:
        if version.registration:
            attrs = {}
        attrs.update(version.fields)
    return attrs


def _in_any(day: date, ranges: list[tuple]) -> tuple | None:
    for row in ranges:
        if row[0] <= day <= row[1]:
            return row
    return None


def _employed_days(work_days: list[date], window: tuple[date, date]) -> list[date]:
    first, last = window
    return [d for d in work_days if first <= d <= last]


def _earliest_check_ins(emp: EmployeeFacts, wanted: set[date]) -> dict[date, datetime]:
    """The earliest check-in of each WIB date in `wanted` that has one."""
    ins: dict[date, datetime] = {}
    for at in emp.check_ins:
        d = at.date()
        if d in wanted:
            current = ins.get(d)
            if current is None or at < current:
                ins[d] = at
    return ins


def _excused(d: date, leaves: list[tuple], travels: list[tuple]) -> tuple[str, tuple] | None:
    """("leave" | "travel", the leave / travel row) when §3 steps 1–2 decide `d`, else None."""
    leave = _in_any(d, leaves)
    if leave is not None:
        return "leave", leave
    travel = _in_any(d, travels)
    if travel is not None:
        return "travel", travel
    return None


def assess_days(emp: EmployeeFacts, idx: Index, month: Month, facts: Facts, rules: RuleSet,
                window: tuple[date, date], work_days: list[date], as_of: date | None = None
                ) -> list[Day]:
    """The status and cut of each working day of `month` on which `emp` is employed; in the
    month in progress, the days from `as_of` on (today included: it is not over) are
    `pending`, with no cut, no absence and no target."""
    days = _employed_days(work_days, window)
    if in_progress(month, as_of):
        judged = [d for d in days if d < as_of]  # type: ignore[operator]
        return [*assess_days(emp, idx, month, facts, rules, window, judged),
                *(Day(d, PENDING) for d in days if d >= as_of)]  # type: ignore[operator]
    wanted = set(days)
    ins = _earliest_check_ins(emp, wanted)
    outs: dict[date, list[datetime]] = defaultdict(list)
    for at in emp.check_outs:
        d = at.date()
        if d in wanted:
            outs[d].append(at)
    leaves, travels = idx.leaves.get(emp.nip, []), idx.travels.get(emp.nip, [])
    return [_assess_day(d, ins.get(d), outs.get(d, []), leaves, travels, rules) for d in days]


def absent_days(emp: EmployeeFacts, idx: Index, window: tuple[date, date],
                work_days: list[date]) -> int | None:
    """TK of `assess_days` (same §3 order) without building the days; None when no day."""
    days = _employed_days(work_days, window)
    if not days:
        return None
    ins = _earliest_check_ins(emp, set(days))
    leaves, travels = idx.leaves.get(emp.nip, []), idx.travels.get(emp.nip, [])
    return sum(1 for d in days if d not in ins and _excused(d, leaves, travels) is None)


def _assess_day(d: date, check_in: datetime | None, check_outs: list[datetime],
                leaves: list[tuple], travels: list[tuple], rules: RuleSet) -> Day:
    excused = _excused(d, leaves, travels)
    if excused is not None:
        status, row = excused
        return Day(d, status, reference=row[2])
    if check_in is None:
        return Day(d, "absent", tk_cut=rules.absent_cut)
    start_t, end_t = rules.schedule[d.isoweekday()]
    start = datetime.combine(d, start_t, rules.tz)
    end = datetime.combine(d, end_t, rules.tz)
    after = [o for o in check_outs if o > check_in]
    check_out = max(after) if after else None
    lateness = (check_in - start) // ONE_MINUTE if check_in > start else 0
    day = Day(d, "present", check_in=check_in, check_out=check_out, lateness=lateness,
              tl_cut=rules.band_cut(lateness))
    if check_out is None:
        day.psw_cut = rules.missing_checkout_cut
        return day
    day.early_leave = (end - check_out) // ONE_MINUTE if check_out < end else 0
    day.psw_cut = rules.band_cut(day.early_leave)
    if 1 <= lateness <= rules.makeup_max_lateness_minutes and check_out >= end + lateness * ONE_MINUTE:
        day.tl_cut, day.made_up = Fraction(0), True
    return day


def assess(facts: Facts, idx: Index, nip: str, month: Month, rules: RuleSet,
           work_days: list[date] | None = None, as_of: date | None = None
           ) -> Assessment | None:
    """The full assessment of `nip` for `month`, or None when `W_e = 0`. With `as_of` inside
    the month (the month in progress), only the days before it are judged (RULES.md §9)."""
    emp = facts.employees.get(nip)
    if emp is None:
        return None
    work_days = working_days(month, facts, rules) if work_days is None else work_days
    window = employment_window(emp, month)
    if window is None:
        return None
    days = assess_days(emp, idx, month, facts, rules, window, work_days, as_of)
    if not days:
        return None
    first, last = window
    position_code = attributes_on(emp, last).get("position_code")
    position = facts.positions.get(position_code) if position_code else None
    per_day: dict[date, int] = defaultdict(int)
    activities = []
    for row in idx.minutes.get(nip, []):
        if first <= row[0] <= last:
            per_day[row[0]] += row[1]
            activities.append(row)
    cap = rules.day_cap_minutes
    minutes_by_day = [(d, m, min(cap, m)) for d, m in sorted(per_day.items())]
    period = str(month)
    ratings = sorted(idx.ratings.get((nip, period), []))
    ikps = []
    for ikp_id, due, title in sorted(idx.ikps.get((nip, period), [])):
        done = facts.ikp_completions.get(ikp_id)
        deadline = datetime.combine(due + timedelta(days=1), time(0), rules.tz)
        ikps.append((ikp_id, title, due, done, done is not None and done < deadline))
    result = Assessment(
        nip=nip, month=month, rules=rules, position_code=position_code, position=position,
        W=len(work_days), W_e=len(days), days=days, minutes_by_day=minutes_by_day,
        activities=sorted(activities), ratings=ratings, ikps=ikps,
    )
    if position is not None:
        result.B = rules.base_rupiah[position[1]]
    if not ratings:
        result.flags.append(NO_BEHAVIOUR_RATING)
    if in_progress(month, as_of):
        result.flags.append(MONTH_IN_PROGRESS)
    return result


def in_progress(month: Month, as_of: date | None) -> bool:
    """True when `as_of` (today) lies inside `month`: its later days are not judged yet."""
    return as_of is not None and month.first <= as_of <= month.last


# --- MKD -----------------------------------------------------------------------------------
def tk_of(facts: Facts, idx: Index, nip: str, month: Month, rules: RuleSet,
          work_days: list[date] | None = None) -> int | None:
    """TK of `nip` in `month`, or None when the employee has no result that month."""
    emp = facts.employees.get(nip)
    window = employment_window(emp, month) if emp is not None else None
    if window is None:
        return None
    if work_days is None:
        work_days = working_days(month, facts, rules)
    return absent_days(emp, idx, window, work_days)


def decide_mkd(a: Assessment, facts: Facts, idx: Index,
               work_days_of: dict[Month, list[date]] | None = None) -> tuple[int, tuple[str, ...]]:
    """MKD days per week for the month after `a.month`, with reason codes (RULES.md §8).

    `work_days_of` optionally gives the working days of the history months, so that a fold
    over thousands of employees computes each month's calendar once.
    """
    rules = a.rules
    if a.position is not None and a.position[2]:
        return 0, ("public_service",)
    history = []
    for back in range(rules.mkd_history_months):
        month = a.month.shift(-back)
        if back == 0:
            tk = a.tk
        else:
            work_days = work_days_of.get(month) if work_days_of is not None else None
            tk = tk_of(facts, idx, a.nip, month, rules, work_days)
        if tk is not None and tk >= rules.mkd_history_tk_threshold:
            history.append(f"tk_history:{month}")
    if history:
        return 0, tuple(history)
    for tier in rules.mkd_tiers:
        if not _tier_failures(a, tier):
            return tier.days, (f"tier_{tier.days}",)
    lowest = rules.mkd_tiers[-1] if rules.mkd_tiers else None
    return 0, tuple(_tier_failures(a, lowest)) if lowest else ()


def _tier_failures(a: Assessment, tier: Any) -> list[str]:
    s, failures = a.S, []
    if a.R_p < tier.min_productivity_ratio:
        failures.append("productivity_below_tier_{}".format(tier.days))
    if a.C > tier.max_discipline_cut:
        failures.append("discipline_cut_above_tier_{}".format(tier.days))
    if tier.max_tk_days is not None and a.tk > tier.max_tk_days:
        failures.append("tk_days_above_tier_{}".format(tier.days))
    if s is None and tier.rating_required:
        failures.append("no_behaviour_rating")
    elif s is not None and s < tier.min_score:
        failures.append("behaviour_score_below_tier_{}".format(tier.days))
    return failures


# --- the public fold -----------------------------------------------------------------------
def compute_period(facts: Facts, period: str, rules: RuleSet,
                   index: Index | None = None, as_of: date | None = None,
                   nips: AbstractSet[str] | None = None) -> list[PayrollResult]:
    """Every employee's result for `period` (W_e > 0), sorted by nip; pure and exact. `as_of`
    (today, for the projection) makes the month in progress judged only up to yesterday.
    `nips` limits it to those employees (an `index` given must cover them): an employee's
    result depends only on the facts naming them, the positions and the holidays."""
    month = Month.parse(period)
    idx = index_facts(facts, nips) if index is None else index
    work_days = working_days(month, facts, rules)
    wanted = facts.employees if nips is None else nips & facts.employees.keys()
    assessments = [a for nip in sorted(wanted)
                   if (a := assess(facts, idx, nip, month, rules, work_days, as_of)) is not None]
    missing = [a.nip for a in assessments if a.position is None]
    if missing:
        raise IncompleteFacts(
            f"{period}: no PositionDefined for the position of {len(missing)} employee(s): "
            + ", ".join(f"{n} ({a.position_code})" for n, a in
                        ((a.nip, a) for a in assessments if a.position is None))
        )
    next_period = str(month.shift(1))
    history = {m: working_days(m, facts, rules)
               for m in (month.shift(-back) for back in range(1, rules.mkd_history_months))}
    results = []
    for a in assessments:
        days, reasons = decide_mkd(a, facts, idx, history)
        value = a.minute_value
        results.append(PayrollResult(a.nip, a.tpp_calculated(), next_period, days, reasons,
                                     None if value is None else format_ratio(value)))
    return results


def explain(facts: Facts, nip: str, period: str, rules: RuleSet) -> Assessment | None:
    """The assessment of one employee (None when W_e = 0), for `render_explanation`."""
    return assess(facts, index_facts(facts), nip, Month.parse(period), rules)


def _hm(at: datetime | None) -> str:
    return at.astimezone(at.tzinfo).strftime("%H:%M:%S") if at is not None else "-"


def _pct(x: Fraction) -> str:
    return format_ratio(x * 100).rstrip("0").rstrip(".") + " %"


def _exact(x: Fraction) -> str:
    return f"{x.numerator}/{x.denominator} ≈ {format_ratio(x)}" if x.denominator != 1 else str(x.numerator)


def render_explanation(a: Assessment, facts: Facts) -> str:
    """A human-readable account of one employee's month that can be checked by hand."""
    r = a.rules
    out = [f"TPP of {a.nip} for {a.month} — rule set {r.id} ({r.hash})"]
    kelas = a.position[1] if a.position else "?"
    out.append(f"Position on last employed date: {a.position_code} (kelas {kelas}); "
               f"B = {a.B:,} rupiah")
    out.append(f"W = {a.W} working days; employed on W_e = {a.W_e}; B_e = B × W_e / W = {_exact(a.B_e)}")
    out.append("")
    out.append("Working days (WIB):")
    for d in a.days:
        line = f"  {d.date} {d.date.strftime('%a')}  {d.status:<7}"
        if d.status == "present":
            line += (f" in {_hm(d.check_in)} (L={d.lateness}) out {_hm(d.check_out)}"
                     f" (E={d.early_leave if d.check_out else 'no check-out'})")
            if d.made_up:
                line += " TL made up"
        elif d.reference:
            line += f" ({d.reference})"
        if d.status == "absent":
            line += f"  TK {_pct(d.tk_cut)}"
        else:
            line += f"  TL {_pct(d.tl_cut)} PSW {_pct(d.psw_cut)}"
        line += f" → day cut {_pct(d.cut)}"
        out.append(line)
    out.append(f"TK = {a.tk}; leave days L_d = {a.leave_days}; C = min(100 %, Σ day cuts) = {_pct(a.C)}")
    out.append("")
    out.append(f"Approved minutes per work date (cap {r.day_cap_minutes}):")
    for d, approved, counted in a.minutes_by_day:
        removed = approved - counted
        out.append(f"  {d}  approved {approved}  counted {counted}"
                   + (f"  (cap removed {removed})" if removed else ""))
    out.append(f"Σ counted = {a.capped_minutes}; A = max(0, Σ − {r.absence_deduction_minutes} × TK) = {a.A}")
    out.append(f"T = {r.target_minutes_per_day} × (W_e − L_d) = {a.T}; R_p = {_exact(a.R_p)}")
    value = a.minute_value
    out.append("Rupiah value of one approved minute = B_e × "
               f"{r.productivity_share} × {r.work_weight} / T = "
               + ("none (T = 0)" if value is None else _exact(value)))
    out.append("")
    out.append("Ratings used (latest per rater):")
    for rater, relation, score in a.ratings:
        out.append(f"  {relation:<11} {rater}: mean of seven = {_exact(score)}")
    for g, s in sorted(a.group_scores.items()):
        out.append(f"  group {g}: mean {_exact(s)} weight {r.group_weights[g]}")
    s = a.S
    out.append("  no rating: R_b = 1" if s is None else f"  S = {_exact(s)}; R_b = min(1, S / {r.behaviour_divisor}) = {_exact(a.R_b)}")
    out.append("")
    out.append("IKP:")
    for ikp_id, title, due, done, on_time in a.ikps:
        out.append(f"  {ikp_id} {title!r} due {due}: "
                   + (f"completed {done.isoformat()}" if done else "never completed")
                   + (f" → on time {_pct(r.ikp_on_time)}" if on_time else f" → {_pct(r.ikp_missed)}"))
    out.append(f"  k = clamp(Σ, ±{_pct(r.ikp_clamp)}) = {_pct(a.k)}")
    out.append("")
    p, dsc, ikp = a.productivity, a.discipline, a.ikp
    out.append(f"productivity = B_e × {r.productivity_share} × ({r.work_weight} × R_p + "
               f"{r.behaviour_weight} × R_b) = {_exact(p)} → {round_half_away(p):,}")
    out.append(f"discipline   = B_e × {r.discipline_share} × (1 − C) = {_exact(dsc)} → {round_half_away(dsc):,}")
    out.append(f"ikp          = B_e × k = {_exact(ikp)} → {round_half_away(ikp):,}")
    out.append(f"total        = max(0, sum of the rounded parts) = {a.total:,} rupiah")
    idx = index_facts(facts)
    if a.position is not None:
        days, reasons = decide_mkd(a, facts, idx)
        out.append(f"MKD for {a.month.shift(1)}: {days} day(s)/week ({', '.join(reasons)})")
    return "\n".join(out) + "\n"
