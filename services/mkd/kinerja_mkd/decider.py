"""The MKD decider: pure decisions on `RequestMKD` and `DecideMKD`.

Every command gives exactly one event: its outcome, or an `MKDRefused` naming the first failing
check (codes and order in `reasons`). All of them occur at the time the command was received
(its record timestamp); "the date" of a rule is that time's WIB date.

`RequestMKD` (actor = the employee): days of one week (`week_start` a Monday), each a working
day of that week (by the `HolidayDeclared` calendar), not in the past, on which the employee is
employed; not in face-to-face public service (the position held on the request date); and with
the days already granted in the week, no more than the quota — `days_per_week` of payroll's
`MKDEligibilityDetermined` for the month of `week_start` (RULES.md §8).

`DecideMKD` (actor = the requester's direct superior on the decision date or, that post being
vacant — the superior no longer employed — the next superior up, as for worklog): grants some
or all of the requested days (no `days`: all of them), again within the quota and not in the
past, or denies with a reason. A request is decided once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from kinerja_events.commands import DecideMKD, RequestMKD
from kinerja_events.decider import StreamDecider
from kinerja_events.envelope import NewEvent, caused_by
from kinerja_events.events import Data, MKDDenied, MKDGranted, MKDRefused, MKDRequested
from kinerja_events.hr import Directory
from kinerja_events.types import WIB

from . import reasons
from .model import RequestState, Week, empty_state, evolve

MKDCommand = RequestMKD | DecideMKD
ACTIONS: dict[type, Literal["request", "decide"]] = {RequestMKD: "request", DecideMKD: "decide"}


def wib_date(moment: datetime) -> date:
    return moment.astimezone(WIB).date()


def refuse_days(days: frozenset[date], today: date, week: Week | None) -> str | None:
    """The checks a request's and a grant's days share: not past, not granted, within quota."""
    if any(day < today for day in days):
        return reasons.DAY_IN_PAST
    week = week or Week(quota=None)
    if days & week.granted:
        return reasons.DAY_ALREADY_GRANTED
    if week.quota is None:
        return reasons.NO_ELIGIBILITY
    if len(days | week.granted) > week.quota:
        return reasons.OVER_QUOTA
    return None


# --- RequestMKD -----------------------------------------------------------------------------------
def refuse_request(command: RequestMKD, today: date, state: RequestState) -> str | None:
    """The reason code of the first failing check, or None."""
    directory = state.directory or Directory()
    person = directory.person(command.actor_nip)
    if person is None or person.start is None:
        return reasons.UNKNOWN_EMPLOYEE
    if state.request is not None:
        return reasons.REQUEST_ID_TAKEN
    monday = command.week_start
    if monday.weekday() != 0:
        return reasons.WEEK_START_NOT_MONDAY
    days = frozenset(command.days)
    if any(not monday <= day <= monday + timedelta(days=6) for day in days):
        return reasons.DAY_OUTSIDE_WEEK
    if len(days) != len(command.days):
        return reasons.DUPLICATE_DAY
    if any(day < today for day in days):
        return reasons.DAY_IN_PAST
    if not all(directory.is_working_day(day) for day in days):
        return reasons.NOT_A_WORKING_DAY
    if not all(person.is_employed_on(day) for day in days):
        return reasons.NOT_EMPLOYED
    position = directory.position_of(command.actor_nip, today)
    if position is None:
        return reasons.UNKNOWN_POSITION
    if position.public_service:
        return reasons.PUBLIC_SERVICE_POSITION
    return refuse_days(days, today, state.week)


def request_of(command: RequestMKD) -> MKDRequested:
    return MKDRequested(request_id=command.request_id, nip=command.actor_nip,
                        week_start=command.week_start, days=sorted(command.days))


# --- DecideMKD ----------------------------------------------------------------------------------
def refuse_decision(command: DecideMKD, today: date, state: RequestState) -> str | None:
    """The reason code of the first failing check, or None."""
    request = state.request
    if request is None:
        return reasons.UNKNOWN_REQUEST
    if command.actor_nip == request.nip:
        return reasons.OWN_REQUEST
    if (state.directory or Directory()).approver_of(request.nip, today, today) \
            != command.actor_nip:
        return reasons.NOT_THE_SUPERIOR
    if state.decided:
        return reasons.ALREADY_DECIDED
    if not command.grant:
        return None if command.reason.strip() else reasons.REASON_REQUIRED
    days = frozenset(command.days or request.days)
    if not days <= frozenset(request.days):
        return reasons.DAYS_NOT_REQUESTED
    return refuse_days(days, today, state.week)


def decision_of(command: DecideMKD, state: RequestState) -> Data:
    request = state.request
    assert request is not None
    if command.grant:
        return MKDGranted(request_id=command.request_id, nip=request.nip,
                          approver_nip=command.actor_nip,
                          days=sorted(set(command.days or request.days)))
    return MKDDenied(request_id=command.request_id, nip=request.nip, reason=command.reason)


# --- one entry point ----------------------------------------------------------------------------
def decide(command: MKDCommand, received_at: datetime, state: RequestState) -> list[NewEvent]:
    """Exactly one event: the command's outcome, or its `MKDRefused`."""
    today = wib_date(received_at)
    data: Data
    if isinstance(command, RequestMKD):
        reason = refuse_request(command, today, state)
        data = refuse(command, reason) if reason else request_of(command)
    else:
        reason = refuse_decision(command, today, state)
        data = refuse(command, reason) if reason else decision_of(command, state)
    return [caused_by(command.command_id, data, received_at)]


def refuse(command: MKDCommand, reason: str) -> MKDRefused:
    return MKDRefused(command_id=command.command_id, nip=command.actor_nip,
                      action=ACTIONS[type(command)], request_id=command.request_id,
                      reason=reason, retryable=reasons.is_retryable(reason))


def make_decider() -> StreamDecider[Any, NewEvent, RequestState]:
    """The MKD rules as the pipeline's `Decider`: state is a request's stream folded, with the
    directory and the week attached; time is the command's record timestamp."""
    return StreamDecider(decide, empty_state, evolve)
