"""The state the worklog decider reads: one activity's stream folded, with the HR directory.

An activity is its own stream (`activity:<activity_id>`). Where two facts of one kind disagree
(two `ActivityLogged`, or two decisions), the later wins — greatest `occurred_at`, then greatest
`event_id` string (RULES.md §4) — so the state does not depend on arrival order, and it agrees
with what payroll counts. The directory and the SKPs are not folded from the stream: the
batch's reference data attaches them (`with_reference`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from kinerja_events.events import ActivityApproved, ActivityLogged, ActivityRejected
from kinerja_events.hr import Directory, Stamp, stamp_of
from kinerja_events.skp import SKPBook


@dataclass(frozen=True)
class Logged:
    """The activity as last logged."""

    nip: str
    work_date: date
    task_code: str
    quantity: int
    minutes: int
    stamp: Stamp

    @property
    def minutes_per_unit(self) -> int:
        return self.minutes // self.quantity


@dataclass(frozen=True)
class Decision:
    """The latest approval or rejection."""

    approved: bool
    approved_minutes: int
    approver_nip: str
    stamp: Stamp


@dataclass(frozen=True)
class ActivityState:
    logged: Logged | None = None
    decision: Decision | None = None
    directory: Directory | None = None
    skps: SKPBook | None = None


def empty_state() -> ActivityState:
    return ActivityState()


def with_directory(state: ActivityState, directory: Directory) -> ActivityState:
    return replace(state, directory=directory)


def with_reference(state: ActivityState, directory: Directory, skps: SKPBook) -> ActivityState:
    return replace(state, directory=directory, skps=skps)


def evolve(state: ActivityState, fact: object) -> ActivityState:
    """The state after `fact` (an envelope or a `NewEvent`); other facts change nothing."""
    data = fact.data  # type: ignore[attr-defined]
    stamp = stamp_of(fact)
    if isinstance(data, ActivityLogged):
        if state.logged is not None and state.logged.stamp > stamp:
            return state
        return replace(state, logged=Logged(data.nip, data.work_date, data.task_code,
                                            data.quantity, data.minutes, stamp))
    if isinstance(data, ActivityApproved | ActivityRejected):
        if state.decision is not None and state.decision.stamp > stamp:
            return state
        approved = isinstance(data, ActivityApproved)
        minutes = data.approved_minutes if isinstance(data, ActivityApproved) else 0
        return replace(state, decision=Decision(approved, minutes, data.approver_nip, stamp))
    return state
