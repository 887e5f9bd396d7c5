"""The HR directory: who is employed when, in which position, under which superior, what each
position's task list is, and which dates are holidays — folded from `kinerja.hr` facts, whatever
order they arrive in.

RULES.md §1: an employee's attributes on a date are those of `EmployeeRegistered` and every
`EmployeeChanged` with `effective_date` ≤ that date, in order of (`effective_date`, `occurred_at`,
`event_id`), each overriding the fields it carries (a `superior_nip` carried as null means "no
superior"); employment runs from the earliest registration (inclusive) to the earliest
termination (exclusive); a position is its latest `PositionDefined`; a working day is a Monday to
Friday that no `HolidayDeclared` names.

A `Directory` is updated in place by `add` (a service keeps one per process and adds each new
fact once); everything a decider asks of it is a read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from .events import (
    EmployeeChanged, EmployeeRegistered, EmployeeTerminated, HolidayDeclared, PositionDefined,
)

HR_TYPES = frozenset({"PositionDefined", "EmployeeRegistered", "EmployeeChanged",
                      "EmployeeTerminated", "HolidayDeclared"})
ATTRIBUTES = ("position_code", "unit", "office_id", "superior_nip")
MAX_CHAIN = 32  # superiors followed up a chain at most (a cycle in HR data ends there)

Stamp = tuple[datetime, str]


def stamp_of(fact: Any) -> Stamp:
    """The "later wins" order key of a fact: (occurred_at, event_id as a lowercase string)."""
    return (fact.occurred_at, str(fact.event_id).lower())


@dataclass(frozen=True)
class Change:
    """A registration or change, effective from `effective_date`, setting `fields`."""

    effective_date: date
    stamp: Stamp
    fields: Mapping[str, Any]


@dataclass
class Person:
    """One NIP's employment window and attribute timeline (sorted by date, then stamp)."""

    nip: str
    name: str | None = None
    name_stamp: Stamp | None = None
    start: date | None = None
    end: date | None = None
    changes: list[Change] = field(default_factory=list)

    def attributes_on(self, day: date) -> dict[str, Any]:
        """The attributes in force on `day` (empty before any is effective)."""
        attributes: dict[str, Any] = {}
        for change in self.changes:
            if change.effective_date > day:
                break
            attributes.update(change.fields)
        return attributes

    def is_employed_on(self, day: date) -> bool:
        return (self.start is not None and self.start <= day
                and (self.end is None or day < self.end))


@dataclass(frozen=True)
class TaskInfo:
    task_code: str
    name: str
    unit: str
    minutes_per_unit: int


@dataclass(frozen=True)
class PositionInfo:
    position_code: str
    name: str
    tasks: Mapping[str, TaskInfo]
    stamp: Stamp
    public_service: bool = False
    mobile: bool = False


@dataclass
class Directory:
    """Every employee and position of the facts added so far."""

    people: dict[str, Person] = field(default_factory=dict)
    positions: dict[str, PositionInfo] = field(default_factory=dict)
    holidays: set[date] = field(default_factory=set)

    def add(self, facts: Iterable[Any]) -> None:
        """Fold `facts` in (envelopes; other types are skipped). Each fact should be added
        once (`reference.NewFacts` returns each once): a second time changes no answer, but
        keeps a second copy of the change."""
        for fact in facts:
            if fact.type in HR_TYPES:
                ADDERS[type(fact.data)](self, fact.data, stamp_of(fact))

    def person(self, nip: str) -> Person | None:
        return self.people.get(nip)

    def superior_of(self, nip: str, day: date) -> str | None:
        """The direct superior of `nip` on `day` (None at the top, or for an unknown NIP)."""
        person = self.people.get(nip)
        return None if person is None else person.attributes_on(day).get("superior_nip")

    def superiors_of(self, nip: str, day: date) -> list[str]:
        """The chain of superiors above `nip` on `day`, nearest first (cut where it loops)."""
        chain: list[str] = []
        candidate = self.superior_of(nip, day)
        while candidate is not None and candidate != nip and candidate not in chain:
            chain.append(candidate)
            if len(chain) == MAX_CHAIN:
                break
            candidate = self.superior_of(candidate, day)
        return chain

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday, and no `HolidayDeclared` names it (RULES.md §1)."""
        return day.weekday() < 5 and day not in self.holidays

    def nth_working_day(self, first: date, n: int) -> date:
        """The `n`-th working day (1-based) on or after `first`."""
        day, found = first - timedelta(days=1), 0
        while found < n:
            day += timedelta(days=1)
            found += self.is_working_day(day)
        return day

    def position_of(self, nip: str, day: date) -> PositionInfo | None:
        """The position `nip` holds on `day`, where it is defined."""
        person = self.people.get(nip)
        code = None if person is None else person.attributes_on(day).get("position_code")
        return None if code is None else self.positions.get(code)

    def approver_of(self, nip: str, work_date: date, decision_date: date) -> str | None:
        """Who may decide on `nip`'s work of `work_date` on `decision_date`: the direct
        superior of the work date, or, where that post is vacant on the decision date (the
        superior not employed then), the next superior up. None when nobody is left."""
        candidate = self.superior_of(nip, work_date)
        for _ in range(MAX_CHAIN):
            if candidate is None or candidate == nip:
                return None
            person = self.people.get(candidate)
            if person is not None and person.is_employed_on(decision_date):
                return candidate
            candidate = self.superior_of(candidate, work_date)
        return None


def _person(directory: Directory, nip: str) -> Person:
    person = directory.people.get(nip)
    if person is None:
        person = directory.people[nip] = Person(nip)
    return person


def _add_change(person: Person, change: Change) -> None:
    person.changes.append(change)
    person.changes.sort(key=lambda c: (c.effective_date, c.stamp))


def _registered(directory: Directory, data: EmployeeRegistered, stamp: Stamp) -> None:
    person = _person(directory, data.nip)
    if person.name_stamp is None or stamp > person.name_stamp:
        person.name, person.name_stamp = data.name, stamp
    person.start = data.effective_date if person.start is None else min(person.start,
                                                                        data.effective_date)
    _add_change(person, Change(data.effective_date, stamp,
                               {name: getattr(data, name) for name in ATTRIBUTES}))


def _changed(directory: Directory, data: EmployeeChanged, stamp: Stamp) -> None:
    _add_change(_person(directory, data.nip),
                Change(data.effective_date, stamp, data.changed_fields()))


def _terminated(directory: Directory, data: EmployeeTerminated, stamp: Stamp) -> None:
    person = _person(directory, data.nip)
    person.end = data.effective_date if person.end is None else min(person.end,
                                                                    data.effective_date)


def _position(directory: Directory, data: PositionDefined, stamp: Stamp) -> None:
    current = directory.positions.get(data.position_code)
    if current is not None and current.stamp > stamp:
        return
    tasks = {t.task_code: TaskInfo(t.task_code, t.name, t.unit, t.minutes_per_unit)
             for t in data.tasks}
    directory.positions[data.position_code] = PositionInfo(
        data.position_code, data.name, tasks, stamp, data.public_service, data.mobile)


def _holiday(directory: Directory, data: HolidayDeclared, stamp: Stamp) -> None:
    directory.holidays.add(data.date)


ADDERS = {EmployeeRegistered: _registered, EmployeeChanged: _changed,
          EmployeeTerminated: _terminated, PositionDefined: _position,
          HolidayDeclared: _holiday}
