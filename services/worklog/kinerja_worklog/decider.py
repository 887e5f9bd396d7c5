"""The worklog decider: pure decisions on `LogActivity`, `ApproveActivity` and `RejectActivity`.

Every command gives exactly one event: its outcome, or an `ActivityRefused` naming the first
failing check (codes and order in `reasons`). All of them occur at the time the command was
received (its record timestamp), so decisions are ordered as the service decided them.

`LogActivity` (actor = the employee): the task must be in the task list of the position the
employee holds on the work date, a `skp_item_id` an item of the employee's approved SKP of the
work date's year (its highest approved revision), and `minutes` = quantity × the task's `minutes_per_unit`,
computed here. The work date lies between the employment start and the termination, not after
the WIB date received and at most `max_days_back` days before it. A repeated activity id
replaces the record until it is decided, and only for the same employee.

`ApproveActivity` / `RejectActivity`: only by the approver of the activity — the employee's
direct superior on the work date or, where that post is vacant on the decision date, the next
superior up (`Directory.approver_of`) — and never by the employee. `approved_minutes` =
approved_quantity × the logged record's minutes per unit. A decision may be changed later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from kinerja_events.commands import ApproveActivity, LogActivity, RejectActivity
from kinerja_events.decider import StreamDecider
from kinerja_events.envelope import NewEvent, caused_by
from kinerja_events.events import (
    ActivityApproved,
    ActivityLogged,
    ActivityRefused,
    ActivityRejected,
    Data,
)
from kinerja_events.hr import Directory
from kinerja_events.types import WIB

from . import reasons
from .model import ActivityState, empty_state, evolve

WorklogCommand = LogActivity | ApproveActivity | RejectActivity
EVIDENCE_REF = re.compile(r"sha256:[0-9a-f]{64}")
MAX_MINUTES = 1440
ACTIONS: dict[type, Literal["log", "approve", "reject"]] = {
    LogActivity: "log", ApproveActivity: "approve", RejectActivity: "reject"}


@dataclass(frozen=True)
class WorklogLimits:
    max_days_back: int = 3


def wib_date(moment: datetime) -> date:
    return moment.astimezone(WIB).date()


# --- LogActivity ------------------------------------------------------------------------------
def refuse_log(command: LogActivity, today: date, state: ActivityState,
               limits: WorklogLimits) -> str | None:
    """The reason code of the first failing check, or None."""
    directory = state.directory or Directory()
    person = directory.person(command.actor_nip)
    if person is None or person.start is None:
        return reasons.UNKNOWN_EMPLOYEE
    day = command.work_date
    if day > today:
        return reasons.WORK_DATE_IN_FUTURE
    if today - day > timedelta(days=limits.max_days_back):
        return reasons.WORK_DATE_TOO_OLD
    if day < person.start:
        return reasons.NOT_YET_EMPLOYED
    if not person.is_employed_on(day):
        return reasons.EMPLOYEE_TERMINATED
    position = directory.positions.get(person.attributes_on(day).get("position_code", ""))
    if position is None:
        return reasons.UNKNOWN_POSITION
    task = position.tasks.get(command.task_code)
    if task is None:
        return reasons.TASK_NOT_IN_POSITION
    if command.quantity * task.minutes_per_unit > MAX_MINUTES:
        return reasons.TOO_MANY_MINUTES
    if command.evidence_ref is not None and not EVIDENCE_REF.fullmatch(command.evidence_ref):
        return reasons.INVALID_EVIDENCE_REF
    if command.skp_item_id is not None and command.skp_item_id not in approved_skp_items(
            state, command.actor_nip, day.year):
        return reasons.UNKNOWN_SKP_ITEM
    if state.logged is not None and state.logged.nip != command.actor_nip:
        return reasons.ACTIVITY_OF_OTHER_EMPLOYEE
    if state.decision is not None:
        return reasons.ACTIVITY_ALREADY_DECIDED
    return None


def approved_skp_items(state: ActivityState, nip: str, year: int) -> set[str]:
    """The item ids of `nip`'s approved SKP of `year` (as the facts held say)."""
    record = state.skps.of(nip, year) if state.skps is not None else None
    return {item.item_id for item in record.approved_items()} if record else set()


def log_activity(command: LogActivity, state: ActivityState) -> ActivityLogged:
    """The `ActivityLogged` of an accepted command, its minutes computed from the task list."""
    directory = state.directory or Directory()
    person = directory.people[command.actor_nip]
    position = directory.positions[person.attributes_on(command.work_date)["position_code"]]
    task = position.tasks[command.task_code]
    return ActivityLogged(
        activity_id=command.activity_id, nip=command.actor_nip, work_date=command.work_date,
        task_code=command.task_code, quantity=command.quantity,
        minutes=command.quantity * task.minutes_per_unit, description=command.description,
        evidence_ref=command.evidence_ref, skp_item_id=command.skp_item_id)


# --- ApproveActivity / RejectActivity -----------------------------------------------------------
def refuse_decision(command: ApproveActivity | RejectActivity, today: date,
                    state: ActivityState) -> str | None:
    """The reason code of the first failing check, or None."""
    logged = state.logged
    if logged is None:
        return reasons.UNKNOWN_ACTIVITY
    if command.actor_nip == logged.nip:
        return reasons.OWN_ACTIVITY
    approver = (state.directory or Directory()).approver_of(logged.nip, logged.work_date, today)
    if approver is None:
        return reasons.NO_APPROVER
    if command.actor_nip != approver:
        return reasons.NOT_THE_APPROVER
    if isinstance(command, ApproveActivity) and command.approved_quantity > logged.quantity:
        return reasons.QUANTITY_ABOVE_LOGGED
    return None


def decision_of(command: ApproveActivity | RejectActivity, state: ActivityState) -> Data:
    logged = state.logged
    assert logged is not None
    if isinstance(command, ApproveActivity):
        return ActivityApproved(
            activity_id=command.activity_id, nip=logged.nip, approver_nip=command.actor_nip,
            approved_minutes=command.approved_quantity * logged.minutes_per_unit)
    return ActivityRejected(activity_id=command.activity_id, nip=logged.nip,
                            approver_nip=command.actor_nip, reason=command.reason)


# --- one entry point ----------------------------------------------------------------------------
def decide(command: WorklogCommand, received_at: datetime, state: ActivityState,
           limits: WorklogLimits | None = None) -> list[NewEvent]:
    """Exactly one event: the command's outcome, or its `ActivityRefused`."""
    limits = limits or WorklogLimits()
    today = wib_date(received_at)
    if isinstance(command, LogActivity):
        reason = refuse_log(command, today, state, limits)
        data: Data = refuse(command, reason) if reason else log_activity(command, state)
    else:
        reason = refuse_decision(command, today, state)
        data = refuse(command, reason) if reason else decision_of(command, state)
    return [caused_by(command.command_id, data, received_at)]


def refuse(command: WorklogCommand, reason: str) -> ActivityRefused:
    return ActivityRefused(command_id=command.command_id, nip=command.actor_nip,
                           action=ACTIONS[type(command)], activity_id=command.activity_id,
                           reason=reason, retryable=reasons.is_retryable(reason))


def make_decider(limits: WorklogLimits) -> StreamDecider[Any, NewEvent, ActivityState]:
    """The worklog rules as the pipeline's `Decider`: state is a stream folded, with the HR
    directory attached; time is the command's record timestamp."""
    return StreamDecider(lambda command, received_at, state: decide(command, received_at, state,
                                                                   limits), empty_state, evolve)
