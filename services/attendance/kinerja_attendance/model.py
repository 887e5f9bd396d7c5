"""The reference state the attendance decider reads, and pure `evolve` functions that build it.

State is immutable: every `evolve` returns a new `AttendanceState` and never mutates its input.
It is folded from facts: HR reference data (`kinerja.hr`), MKD grants (`kinerja.mkd`) and the
service's own attendance events. A fact is anything with `data`, `occurred_at` and `event_id`
(an envelope, or a `NewEvent` the decider just produced). Where two facts of one kind disagree,
the later wins (greatest `occurred_at`, then greatest `event_id` string; RULES.md), so the state
does not depend on arrival order. Dates are WIB dates (RULES.md §1).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from kinerja_events.events import (
    CheckedIn,
    CheckedOut,
    Data,
    EmployeeChanged,
    EmployeeRegistered,
    EmployeeTerminated,
    LeaveCancelled,
    LeaveRecorded,
    MKDGranted,
    MKDRevoked,
    OfficeRegistered,
    OfficialTravelRecorded,
    PositionDefined,
)
from kinerja_events.types import WIB

LEAVE = "leave"
TRAVEL = "travel"

Stamp = tuple[datetime, UUID]
"""The order of two facts of one kind: (occurred_at, event_id), which orders as the event id's
lowercase text does."""


class Fact(Protocol):
    """What `evolve` needs of an event: an envelope or a `NewEvent` both fit."""

    @property
    def data(self) -> Data: ...

    @property
    def occurred_at(self) -> datetime: ...

    @property
    def event_id(self) -> UUID: ...


# --- state ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AttributeChange:
    """A registration or change of an employee, effective from `effective_date`."""

    effective_date: date
    stamp: Stamp
    position_code: str | None = None
    office_id: str | None = None


@dataclass(frozen=True)
class EmployeeAttributes:
    """What the decider needs of an employee on one date."""

    position_code: str
    office_id: str


@dataclass(frozen=True)
class Employee:
    """One NIP's employment window and its attribute timeline (sorted by date, then stamp)."""

    nip: str
    start: date | None = None
    end: date | None = None
    changes: tuple[AttributeChange, ...] = ()


@dataclass(frozen=True)
class Office:
    office_id: str
    lat: float
    lon: float
    radius_m: float
    stamp: Stamp


@dataclass(frozen=True)
class Position:
    position_code: str
    mobile: bool
    stamp: Stamp


@dataclass(frozen=True)
class Fix:
    """An accepted position of an employee at a device time."""

    at: datetime
    lat: float
    lon: float
    accuracy_m: float


@dataclass(frozen=True)
class Leave:
    leave_id: str
    nip: str
    kind: str
    start_date: date
    end_date: date
    stamp: Stamp


@dataclass(frozen=True)
class Travel:
    travel_id: str
    nip: str
    start_date: date
    end_date: date


@dataclass(frozen=True)
class AttendanceState:
    """Everything the attendance decider reads. Build it with `empty_state()` and `evolve`."""

    employees: Mapping[str, Employee] = field(default_factory=dict)
    offices: Mapping[str, Office] = field(default_factory=dict)
    positions: Mapping[str, Position] = field(default_factory=dict)
    mkd_granted: Mapping[str, Mapping[str, frozenset[date]]] = field(default_factory=dict)
    """NIP -> MKD request id -> the days granted by it."""
    mkd_revoked: Mapping[str, Mapping[str, frozenset[date]]] = field(default_factory=dict)
    """NIP -> MKD request id -> the days of it withdrawn since."""
    last_fix: Mapping[str, Fix] = field(default_factory=dict)
    first_check_in: Mapping[tuple[str, date], datetime] = field(default_factory=dict)
    """The earliest accepted check-in per (nip, WIB date): all a check-out needs to know."""
    leaves: Mapping[str, Leave] = field(default_factory=dict)
    cancelled_leaves: frozenset[str] = frozenset()
    travels: Mapping[str, Travel] = field(default_factory=dict)
    claims: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """(`leave` | `travel`, id) -> the NIP that id was first recorded for, across employees."""


def empty_state() -> AttendanceState:
    """The state before any fact."""
    return AttendanceState()


def updated(state: AttendanceState, **changes: Any) -> AttendanceState:
    """A new state: `state` with `changes` (what `dataclasses.replace` gives, without running
    `__init__` again: every command evolves a state, and this is four times cheaper). The
    fields are set here once, as in `__init__`; `state` itself is not touched."""
    new = object.__new__(AttendanceState)
    new.__dict__.update(state.__dict__, **changes)
    return new


# --- queries --------------------------------------------------------------------------------
def wib_date(moment: datetime) -> date:
    """The WIB calendar date of an aware instant (clamped at the calendar's ends)."""
    try:
        return moment.astimezone(WIB).date()
    except OverflowError:
        return date.max if moment.year > 1 else date.min


def attributes_on(employee: Employee, day: date) -> EmployeeAttributes | None:
    """The employee's position and office on `day`, or None when nothing is effective yet."""
    position_code: str | None = None
    office_id: str | None = None
    for change in employee.changes:
        if change.effective_date > day:
            break
        position_code = change.position_code or position_code
        office_id = change.office_id or office_id
    if position_code is None or office_id is None:
        return None
    return EmployeeAttributes(position_code=position_code, office_id=office_id)


def is_employed_on(employee: Employee, day: date) -> bool:
    """True when `day` is in [start, end)."""
    if employee.start is None or day < employee.start:
        return False
    return employee.end is None or day < employee.end


def live_leaves_of(state: AttendanceState, nip: str) -> list[Leave]:
    """The employee's recorded, not cancelled leaves."""
    return [
        leave
        for leave in state.leaves.values()
        if leave.nip == nip and leave.leave_id not in state.cancelled_leaves
    ]


def owner_of(state: AttendanceState, kind: str, item_id: str) -> str | None:
    """The NIP a leave or travel id belongs to: its claim across employees, else the
    employee's own record of it."""
    claimed = state.claims.get((kind, item_id))
    if claimed is not None:
        return claimed
    own = state.leaves.get(item_id) if kind == LEAVE else state.travels.get(item_id)
    return None if own is None else own.nip


def checked_in_by(state: AttendanceState, nip: str, moment: datetime) -> bool:
    """True when the employee has an accepted check-in on `moment`'s WIB date, at or before it."""
    first = state.first_check_in.get((nip, wib_date(moment)))
    return first is not None and first <= moment


# --- evolve ---------------------------------------------------------------------------------
def stamp_of(fact: Fact) -> Stamp:
    """The "later wins" order key of a fact: its occurrence, then its event id (UUIDs order as
    their lowercase text does, without making the text for every fact folded)."""
    return (fact.occurred_at, fact.event_id)


def _with(mapping: Mapping[Any, Any], key: Any, value: Any) -> dict[Any, Any]:
    return {**mapping, key: value}


def _employee(state: AttendanceState, nip: str) -> Employee:
    return state.employees.get(nip) or Employee(nip=nip)


def _add_change(employee: Employee, change: AttributeChange) -> Employee:
    changes = sorted((*employee.changes, change), key=lambda c: (c.effective_date, c.stamp))
    return replace(employee, changes=tuple(changes))


def _earliest(current: date | None, candidate: date) -> date:
    return candidate if current is None else min(current, candidate)


def apply_employee_registered(
    state: AttendanceState, data: EmployeeRegistered, stamp: Stamp
) -> AttendanceState:
    """Employment starts at the earliest registration; its attributes join the timeline."""
    employee = _employee(state, data.nip)
    change = AttributeChange(data.effective_date, stamp, data.position_code, data.office_id)
    employee = replace(_add_change(employee, change), start=_earliest(employee.start, data.effective_date))
    return updated(state, employees=_with(state.employees, data.nip, employee))


def apply_employee_changed(
    state: AttendanceState, data: EmployeeChanged, stamp: Stamp
) -> AttendanceState:
    """A change overrides the position/office it carries from its effective date."""
    fields = data.changed_fields()
    change = AttributeChange(
        data.effective_date, stamp, fields.get("position_code"), fields.get("office_id")
    )
    employee = _add_change(_employee(state, data.nip), change)
    return updated(state, employees=_with(state.employees, data.nip, employee))


def apply_employee_terminated(
    state: AttendanceState, data: EmployeeTerminated, stamp: Stamp
) -> AttendanceState:
    """Employment ends (exclusive) at the earliest termination date."""
    employee = _employee(state, data.nip)
    employee = replace(employee, end=_earliest(employee.end, data.effective_date))
    return updated(state, employees=_with(state.employees, data.nip, employee))


def apply_office_registered(
    state: AttendanceState, data: OfficeRegistered, stamp: Stamp
) -> AttendanceState:
    """The latest registration of an office id wins."""
    current = state.offices.get(data.office_id)
    if current is not None and current.stamp > stamp:
        return state
    office = Office(data.office_id, data.lat, data.lon, data.radius_m, stamp)
    return updated(state, offices=_with(state.offices, data.office_id, office))


def apply_position_defined(
    state: AttendanceState, data: PositionDefined, stamp: Stamp
) -> AttendanceState:
    """The latest definition of a position code wins."""
    current = state.positions.get(data.position_code)
    if current is not None and current.stamp > stamp:
        return state
    position = Position(data.position_code, data.mobile, stamp)
    return updated(state, positions=_with(state.positions, data.position_code, position))


def apply_mkd_granted(state: AttendanceState, data: MKDGranted, stamp: Stamp) -> AttendanceState:
    """Granted MKD days accumulate per request."""
    return updated(state, mkd_granted=_with_days(state.mkd_granted, data.nip, data.request_id,
                                                 data.days))


def apply_mkd_revoked(state: AttendanceState, data: MKDRevoked, stamp: Stamp) -> AttendanceState:
    """Withdrawn MKD days accumulate per request (whichever arrives first)."""
    return updated(state, mkd_revoked=_with_days(state.mkd_revoked, data.nip, data.request_id,
                                                 data.days))


def _with_days(by_nip: Mapping[str, Mapping[str, frozenset[date]]], nip: str, request_id: str,
               days: Any) -> Mapping[str, Mapping[str, frozenset[date]]]:
    own = by_nip.get(nip, {})
    return _with(by_nip, nip, _with(own, request_id, own.get(request_id, frozenset())
                                    | frozenset(days)))


def has_mkd_grant(state: AttendanceState, nip: str, day: date) -> bool:
    """Whether `day` is granted to `nip` by some request and not withdrawn from it."""
    revoked = state.mkd_revoked.get(nip, {})
    return any(day in days and day not in revoked.get(request_id, ())
               for request_id, days in state.mkd_granted.get(nip, {}).items())


def _fix_order(fix: Fix) -> tuple[datetime, float, float, float]:
    return (fix.at, fix.lat, fix.lon, fix.accuracy_m)


def _later_fix(current: Fix | None, candidate: Fix) -> Fix:
    """The fix with the greatest `at` (ties broken on position, so arrival order is moot)."""
    if current is None or _fix_order(candidate) > _fix_order(current):
        return candidate
    return current


def _fix_of(data: CheckedIn | CheckedOut) -> Fix:
    return Fix(at=data.at, lat=data.lat, lon=data.lon, accuracy_m=data.accuracy_m)


def apply_checked_out(state: AttendanceState, data: CheckedOut, stamp: Stamp) -> AttendanceState:
    """An accepted check-out moves the employee's last position (if it is the latest by `at`)."""
    fix = _later_fix(state.last_fix.get(data.nip), _fix_of(data))
    return updated(state, last_fix=_with(state.last_fix, data.nip, fix))


def apply_checked_in(state: AttendanceState, data: CheckedIn, stamp: Stamp) -> AttendanceState:
    """An accepted check-in may be the day's first, and may move the last position."""
    key = (data.nip, wib_date(data.at))
    first = state.first_check_in.get(key)
    earliest = data.at if first is None or data.at < first else first
    fix = _later_fix(state.last_fix.get(data.nip), _fix_of(data))
    return updated(
        state,
        first_check_in=state.first_check_in if earliest is first else _with(
            state.first_check_in, key, earliest),
        last_fix=_with(state.last_fix, data.nip, fix),
    )


def apply_leave_recorded(
    state: AttendanceState, data: LeaveRecorded, stamp: Stamp
) -> AttendanceState:
    """The latest recording of a leave id wins (it replaces itself)."""
    current = state.leaves.get(data.leave_id)
    if current is not None and current.stamp > stamp:
        return state
    leave = Leave(data.leave_id, data.nip, data.kind, data.start_date, data.end_date, stamp)
    return updated(state, leaves=_with(state.leaves, data.leave_id, leave))


def apply_leave_cancelled(
    state: AttendanceState, data: LeaveCancelled, stamp: Stamp
) -> AttendanceState:
    """A cancellation is final for its leave id."""
    return updated(state, cancelled_leaves=state.cancelled_leaves | {data.leave_id})


def apply_official_travel_recorded(
    state: AttendanceState, data: OfficialTravelRecorded, stamp: Stamp
) -> AttendanceState:
    """Official travel is kept by travel id."""
    travel = Travel(data.travel_id, data.nip, data.start_date, data.end_date)
    return updated(state, travels=_with(state.travels, data.travel_id, travel))


EVOLVERS: Mapping[type[Data], Callable[[AttendanceState, Any, Stamp], AttendanceState]] = {
    EmployeeRegistered: apply_employee_registered,
    EmployeeChanged: apply_employee_changed,
    EmployeeTerminated: apply_employee_terminated,
    OfficeRegistered: apply_office_registered,
    PositionDefined: apply_position_defined,
    MKDGranted: apply_mkd_granted,
    MKDRevoked: apply_mkd_revoked,
    CheckedIn: apply_checked_in,
    CheckedOut: apply_checked_out,
    LeaveRecorded: apply_leave_recorded,
    LeaveCancelled: apply_leave_cancelled,
    OfficialTravelRecorded: apply_official_travel_recorded,
}
"""Which event data changes the state, and how (plain routing data); others leave it as is."""


def with_reference(state: AttendanceState, reference: AttendanceState,
                   claims: Mapping[tuple[str, str], str]) -> AttendanceState:
    """An employee's own stream folded (`state`) with the reference data folded apart
    (`reference`: HR facts, offices, positions, MKD grants) and the batch's `claims`. Each kind
    of fact sets fields of its own (see `EVOLVERS`), so this equals folding both together."""
    return updated(state, employees=reference.employees, offices=reference.offices,
                   positions=reference.positions, mkd_granted=reference.mkd_granted,
                   mkd_revoked=reference.mkd_revoked,
                   claims={**state.claims, **claims} if claims else state.claims)


def with_claims(state: AttendanceState, claims: Mapping[tuple[str, str], str]
                ) -> AttendanceState:
    """`state` knowing which NIP each of `claims`' leave and travel ids belongs to."""
    return updated(state, claims={**state.claims, **claims}) if claims else state


def evolve(state: AttendanceState, fact: Fact) -> AttendanceState:
    """The state after `fact`; facts the decider does not need change nothing."""
    apply = EVOLVERS.get(type(fact.data))
    return state if apply is None else apply(state, fact.data, stamp_of(fact))
