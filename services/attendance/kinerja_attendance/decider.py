"""The attendance decider: pure decisions on check-in/out and on the HR leave/travel commands.

`decide_check` turns a `CheckIn`/`CheckOut` into exactly one event: `CheckedIn`/`CheckedOut`, or
`CheckInRejected` with a reason code of `reasons`. Checks run in this order; the first that fails
names the reason:

 1. unknown employee (retryable)        — no `EmployeeRegistered` for the NIP
 2. not yet employed / terminated       — the WIB date of `at` outside [start, end)
 3. mock location                       — the device says the location is mocked
 4. device time in the future           — `at` > received_at + max_future_skew
 5. device time too old                 — `at` < received_at - offline_sync_window
 6. poor accuracy                       — accuracy_m > max_accuracy_m
 7. mode: `office` → unknown office (retryable) / outside geofence (haversine > radius_m);
          `field`  → unknown position (retryable) / mode not allowed (position not mobile);
          `mkd`    → no MKD grant for the WIB date of `at` (retryable)
 8. impossible travel                   — speed from the last accepted position > max_speed_kmh
 9. check-out without check-in          — no accepted check-in at or before `at` that WIB date

Accepted: `office_id` is set only for mode `office`; `at` older than received_at by more than
`offline_sync_flag_after` (and within the window) is flagged `offline_sync`.

`decide_hr` validates the content of `RecordLeave`, `CancelLeave` and `RecordOfficialTravel`
(their HR signature is the pipeline's job) and returns the events, or a `Rejection`: the
command's stored outcome, not a wire event (CONTRACT.md defines `CheckInRejected` only for
check-in/out). A leave or travel id belongs to the first employee it was recorded for; a leave
is at most 1,096 days and a travel at most 366.

Time enters through `Received` (`received_at`, the command's record timestamp) or the command
(`at`, `sent_at`); event ids are derived from the command id, so deciding the same command on the
same state gives the same events. `AttendanceDecider` is this module as a `Decider`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from kinerja_events.commands import CancelLeave, CheckIn, CheckOut, RecordLeave, RecordOfficialTravel
from kinerja_events.decider import Received, Rejection
from kinerja_events.envelope import NewEvent, caused_by
from kinerja_events.events import (
    CheckedIn,
    CheckedOut,
    CheckInRejected,
    Data,
    LeaveCancelled,
    LeaveRecorded,
    OfficialTravelRecorded,
)

from . import reasons
from .geo import haversine_m
from .model import (
    LEAVE,
    TRAVEL,
    AttendanceState,
    Employee,
    Fact,
    Fix,
    attributes_on,
    checked_in_by,
    empty_state,
    evolve,
    has_mkd_grant,
    is_employed_on,
    live_leaves_of,
    owner_of,
    wib_date,
)

CheckCommand = CheckIn | CheckOut
HRCommand = RecordLeave | CancelLeave | RecordOfficialTravel

OFFLINE_SYNC = "offline_sync"
MAX_LEAVE_DAYS = 1096
MAX_TRAVEL_DAYS = 366


@dataclass(frozen=True)
class AttendanceLimits:
    """Every limit the check-in rules use (the service's settings hold one)."""

    max_accuracy_m: float = 100.0
    max_speed_kmh: float = 300.0
    max_future_skew: timedelta = timedelta(minutes=5)
    offline_sync_window: timedelta = timedelta(hours=24)
    offline_sync_flag_after: timedelta = timedelta(minutes=5)


# --- check-in / check-out -------------------------------------------------------------------
def decide_check(
    command: CheckCommand,
    received_at: datetime,
    state: AttendanceState,
    limits: AttendanceLimits | None = None,
) -> list[NewEvent]:
    """Exactly one event: the accepted `CheckedIn`/`CheckedOut`, or a `CheckInRejected`."""
    limits = AttendanceLimits() if limits is None else limits
    refusal = find_refusal(command, received_at, state, limits)
    if refusal is not None:
        return [reject_check(command, received_at, refusal)]
    return [accept_check(command, received_at, state, limits)]


def find_refusal(
    command: CheckCommand, received_at: datetime, state: AttendanceState, limits: AttendanceLimits
) -> str | None:
    """The reason code of the first failing check, in the documented order, or None."""
    nip = command.actor_nip
    day = wib_date(command.at)
    employee = state.employees.get(nip)
    return (
        check_employment(employee, day)
        or check_mock_location(command)
        or check_device_time(command.at, received_at, limits)
        or check_accuracy(command.accuracy_m, limits)
        or check_mode(command, state, employee)
        or check_speed(command, state.last_fix.get(nip), limits)
        or check_checked_in(command, state)
    )


def check_employment(employee: Employee | None, day: date) -> str | None:
    """Unknown, not yet employed, or terminated on the WIB date of `at`."""
    if employee is None or employee.start is None:
        return reasons.UNKNOWN_EMPLOYEE
    if day < employee.start:
        return reasons.NOT_YET_EMPLOYED
    if not is_employed_on(employee, day):
        return reasons.EMPLOYEE_TERMINATED
    return None


def check_mock_location(command: CheckCommand) -> str | None:
    """The device reports a mocked location."""
    return reasons.MOCK_LOCATION if command.mock_location else None


def check_device_time(at: datetime, received_at: datetime, limits: AttendanceLimits) -> str | None:
    """`at` too far in the future, or older than the offline sync window."""
    lag = received_at - at
    if -lag > limits.max_future_skew:
        return reasons.DEVICE_TIME_IN_FUTURE
    if lag > limits.offline_sync_window:
        return reasons.DEVICE_TIME_TOO_OLD
    return None


def check_accuracy(accuracy_m: float, limits: AttendanceLimits) -> str | None:
    """GPS accuracy worse than the limit."""
    return reasons.POOR_ACCURACY if accuracy_m > limits.max_accuracy_m else None


def check_mode(
    command: CheckCommand, state: AttendanceState, employee: Employee | None
) -> str | None:
    """The mode's own rule: office geofence, field for mobile positions, mkd on granted days."""
    day = wib_date(command.at)
    attributes = attributes_on(employee, day) if employee is not None else None
    if attributes is None:
        return reasons.UNKNOWN_EMPLOYEE
    if command.mode == "office":
        office = state.offices.get(attributes.office_id)
        if office is None:
            return reasons.UNKNOWN_OFFICE
        distance = haversine_m(command.lat, command.lon, office.lat, office.lon)
        return reasons.OUTSIDE_GEOFENCE if distance > office.radius_m else None
    if command.mode == "field":
        position = state.positions.get(attributes.position_code)
        if position is None:
            return reasons.UNKNOWN_POSITION
        return None if position.mobile else reasons.MODE_NOT_ALLOWED
    return None if has_mkd_grant(state, command.actor_nip, day) else reasons.NO_MKD_GRANT


def check_speed(command: CheckCommand, last: Fix | None, limits: AttendanceLimits) -> str | None:
    """Travel from the last accepted position faster than the limit.

    The distance counted is what lies beyond the two readings' accuracy circles, so GPS noise
    between two close readings is not taken for travel.
    """
    if last is None:
        return None
    distance_m = haversine_m(last.lat, last.lon, command.lat, command.lon)
    moved_m = distance_m - last.accuracy_m - command.accuracy_m
    if not moved_m > 0:
        return None
    seconds = abs((command.at - last.at).total_seconds())
    if seconds == 0:
        return reasons.IMPOSSIBLE_TRAVEL
    speed_kmh = (moved_m / 1000) / (seconds / 3600)
    return reasons.IMPOSSIBLE_TRAVEL if speed_kmh > limits.max_speed_kmh else None


def check_checked_in(command: CheckCommand, state: AttendanceState) -> str | None:
    """A check-out needs an accepted check-in at or before it on the same WIB date."""
    if isinstance(command, CheckIn) or checked_in_by(state, command.actor_nip, command.at):
        return None
    return reasons.CHECK_OUT_WITHOUT_CHECK_IN


def action_of(command: CheckCommand) -> Literal["check_in", "check_out"]:
    """The `CheckInRejected.action` of a command."""
    return "check_in" if isinstance(command, CheckIn) else "check_out"


def flags_of(at: datetime, received_at: datetime, limits: AttendanceLimits) -> list[str]:
    """`offline_sync` when the capture is older than the flag threshold."""
    return [OFFLINE_SYNC] if received_at - at > limits.offline_sync_flag_after else []


def accept_check(
    command: CheckCommand, received_at: datetime, state: AttendanceState, limits: AttendanceLimits
) -> NewEvent:
    """The `CheckedIn`/`CheckedOut` of an accepted command (occurred at the device's `at`)."""
    employee = state.employees[command.actor_nip]
    attributes = attributes_on(employee, wib_date(command.at))
    office_id = attributes.office_id if command.mode == "office" and attributes else None
    model = CheckedIn if isinstance(command, CheckIn) else CheckedOut
    data = model(
        nip=command.actor_nip,
        at=command.at,
        received_at=received_at,
        mode=command.mode,
        lat=command.lat,
        lon=command.lon,
        accuracy_m=command.accuracy_m,
        office_id=office_id,
        flags=flags_of(command.at, received_at, limits),
    )
    return caused_by(command.command_id, data, command.at)


def reject_check(command: CheckCommand, received_at: datetime, reason: str) -> NewEvent:
    """The `CheckInRejected` of a refused command (occurred when received)."""
    data = CheckInRejected(
        command_id=command.command_id,
        nip=command.actor_nip,
        attempted_at=command.at,
        action=action_of(command),
        reason=reason,
        retryable=reasons.is_retryable(reason),
    )
    return caused_by(command.command_id, data, received_at)


# --- HR: leave and official travel ----------------------------------------------------------
def decide_hr(command: HRCommand, state: AttendanceState) -> list[NewEvent] | Rejection:
    """The events of a valid HR command (occurred at its `sent_at`), or its `Rejection`."""
    if isinstance(command, RecordLeave):
        reason = refuse_leave(command, state)
        data: Data = LeaveRecorded(
            leave_id=command.leave_id,
            nip=command.nip,
            kind=command.kind,
            start_date=command.start_date,
            end_date=command.end_date,
        )
    elif isinstance(command, CancelLeave):
        reason = refuse_cancel(command, state)
        data = LeaveCancelled(leave_id=command.leave_id, nip=command.nip)
    else:
        reason = refuse_travel(command, state)
        data = OfficialTravelRecorded(
            travel_id=command.travel_id,
            nip=command.nip,
            start_date=command.start_date,
            end_date=command.end_date,
        )
    if reason is not None:
        return reject_hr(command, reason)
    return [caused_by(command.command_id, data, command.sent_at)]


def days_in(start: date, end: date) -> int:
    """How many days an inclusive range holds."""
    return (end - start).days + 1


def refuse_leave(command: RecordLeave, state: AttendanceState) -> str | None:
    """Bad or too long a range, a leave id of another NIP or already cancelled, or an overlap
    with a live leave."""
    if command.end_date < command.start_date:
        return reasons.INVALID_DATE_RANGE
    if days_in(command.start_date, command.end_date) > MAX_LEAVE_DAYS:
        return reasons.LEAVE_TOO_LONG
    owner = owner_of(state, LEAVE, command.leave_id)
    if owner is not None and owner != command.nip:
        return reasons.LEAVE_OF_OTHER_EMPLOYEE
    if command.leave_id in state.cancelled_leaves:
        return reasons.LEAVE_CANCELLED
    for leave in live_leaves_of(state, command.nip):
        overlaps = leave.start_date <= command.end_date and command.start_date <= leave.end_date
        if overlaps and leave.leave_id != command.leave_id:
            return reasons.OVERLAPPING_LEAVE
    return None


def refuse_cancel(command: CancelLeave, state: AttendanceState) -> str | None:
    """The leave id must be recorded for this NIP and not cancelled yet."""
    existing = state.leaves.get(command.leave_id)
    if existing is None or existing.nip != command.nip:
        return reasons.UNKNOWN_LEAVE
    if command.leave_id in state.cancelled_leaves:
        return reasons.LEAVE_ALREADY_CANCELLED
    return None


def refuse_travel(command: RecordOfficialTravel, state: AttendanceState) -> str | None:
    """A range that ends before it starts or is too long, or a travel id of another NIP."""
    if command.end_date < command.start_date:
        return reasons.INVALID_DATE_RANGE
    if days_in(command.start_date, command.end_date) > MAX_TRAVEL_DAYS:
        return reasons.TRAVEL_TOO_LONG
    owner = owner_of(state, TRAVEL, command.travel_id)
    if owner is not None and owner != command.nip:
        return reasons.TRAVEL_OF_OTHER_EMPLOYEE
    return None


def reject_hr(command: HRCommand, reason: str) -> Rejection:
    """The stored outcome of a refused HR command."""
    return Rejection(reason=reason, retryable=reasons.is_retryable(reason),
                     detail=reasons.REASONS[reason].description)


# --- one entry point ------------------------------------------------------------------------
def decide(
    command: CheckCommand | HRCommand,
    received_at: datetime,
    state: AttendanceState,
    limits: AttendanceLimits | None = None,
) -> list[NewEvent] | Rejection:
    """Route any attendance command to `decide_check` or `decide_hr`."""
    if isinstance(command, CheckIn | CheckOut):
        return decide_check(command, received_at, state, limits)
    return decide_hr(command, state)


@dataclass(frozen=True)
class AttendanceDecider:
    """The attendance rules as the pipeline's `Decider`: state is an employee's stream folded
    (with the reference data the command needs), time is the command's record timestamp."""

    limits: AttendanceLimits = AttendanceLimits()

    def initial_state(self) -> AttendanceState:
        return empty_state()

    def decide(self, command: Received[CheckCommand | HRCommand], state: AttendanceState
               ) -> list[NewEvent] | Rejection:
        return decide(command.command, command.received_at, state, self.limits)

    def evolve(self, state: AttendanceState, event: Fact) -> AttendanceState:
        return evolve(state, event)

    def is_terminal(self, state: AttendanceState) -> bool:
        return False
