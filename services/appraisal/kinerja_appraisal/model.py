"""The state the appraisal decider reads: one stream folded, with the HR directory.

Four kinds of stream: a ratee's ratings of a period (`rating:<ratee_nip>:<period>`), which no
rule needs to read back (every accepted rating is a new `RatingGiven`; the latest per rater
counts); an IKP (`ikp:<ikp_id>`); an SKP (`skp:<skp_id>`, its revisions and decisions); and an
evaluation (`evaluation:<nip>:<year>:<q1…q4 | year>`). Where two assignments of an IKP disagree the later wins — greatest
`occurred_at`, then greatest `event_id` string (RULES.md §6) — and of two completions the
earlier `completed_at` counts, as payroll counts them. The directory is attached per batch
(`with_directory`), and so is what an SKP or evaluation command needs from other streams and
from worklog's facts (`SKPContext`, `with_context`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from fractions import Fraction

from kinerja_events.events import EvaluationGiven, IKPAssigned, IKPCompleted
from kinerja_events.hr import Directory, Stamp, stamp_of
from kinerja_events.skp import SKPRecord, evolve_record
from kinerja_events.types import WIB


@dataclass(frozen=True)
class Assignment:
    """An IKP as last assigned, and when it was first assigned."""

    assigner_nip: str
    assignee_nip: str
    period: str
    title: str
    due_date: date
    stamp: Stamp
    first_assigned_at: datetime


@dataclass(frozen=True)
class Completion:
    completed_at: datetime
    verified_by_nip: str


@dataclass(frozen=True)
class SKPContext:
    """What an SKP or evaluation command needs beyond its own stream, read for its batch."""

    year_owner: str | None = None
    """The `skp_id` already holding the employee's year (drafting), if any."""
    superior_skps: Mapping[str, SKPRecord] = field(default_factory=dict)
    """The SKPs of the year of everyone who is or was the employee's superior, by NIP."""
    evaluated_skp: SKPRecord | None = None
    """The evaluated employee's SKP of the year (evaluating)."""
    realised: Mapping[tuple[str, int], int] = field(default_factory=dict)
    """Approved quantity of the evaluated employee's activities, by (SKP item, month)."""
    scores: Mapping[int, Fraction] = field(default_factory=dict)
    """The evaluated employee's 360° score `S` by month of the year (months rated only)."""


@dataclass(frozen=True)
class AppraisalState:
    assignment: Assignment | None = None
    completion: Completion | None = None
    skp: SKPRecord | None = None
    evaluation: EvaluationGiven | None = None
    directory: Directory | None = None
    context: SKPContext | None = None


def empty_state() -> AppraisalState:
    return AppraisalState()


def with_directory(state: AppraisalState, directory: Directory) -> AppraisalState:
    return replace(state, directory=directory)


def with_context(state: AppraisalState, directory: Directory, context: SKPContext
                 ) -> AppraisalState:
    return replace(state, directory=directory, context=context)


def evolve(state: AppraisalState, fact: object) -> AppraisalState:
    """The state after `fact` (an envelope or a `NewEvent`); other facts change nothing."""
    data = fact.data  # type: ignore[attr-defined]
    if isinstance(data, IKPAssigned):
        return assigned(state, data, stamp_of(fact))
    if isinstance(data, IKPCompleted):
        current = state.completion
        if current is not None and current.completed_at <= data.completed_at:
            return state
        return replace(state, completion=Completion(data.completed_at, data.verified_by_nip))
    if isinstance(data, EvaluationGiven):
        return replace(state, evaluation=data)
    skp = evolve_record(state.skp, data)
    return state if skp is state.skp else replace(state, skp=skp)


def assigned(state: AppraisalState, data: IKPAssigned, stamp: Stamp) -> AppraisalState:
    current = state.assignment
    first = stamp[0] if current is None else min(current.first_assigned_at, stamp[0])
    if current is not None and current.stamp > stamp:
        return replace(state, assignment=replace(current, first_assigned_at=first))
    return replace(state, assignment=Assignment(data.assigner_nip, data.assignee_nip,
                                                data.period, data.title, data.due_date, stamp,
                                                first))


def is_on_time(completed_at: datetime, due_date: date) -> bool:
    """Completed on or before the end (23:59:59.999999 WIB) of the due date (RULES.md §6)."""
    return completed_at.astimezone(WIB).date() <= due_date
