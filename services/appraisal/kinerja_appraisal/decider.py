"""The appraisal decider: pure decisions on `GiveRating`, `AssignIKP` and `CompleteIKP` here,
and on `DraftSKP`, `ApproveSKP`, `ReturnSKP` and `Evaluate` in `skp_decider`.

Every command gives exactly one event: its outcome, or an `AppraisalRefused` naming the first
failing check (codes and order in `reasons`). All of them occur at the time the command was
received (its record timestamp); "the date" of a rule is that time's WIB date.

`GiveRating` (actor = the rater): the relation is derived from the hierarchy on the rating date
— `superior`: the rater is the ratee's direct superior; `subordinate`: the ratee is the rater's
direct superior; `peer`: both have the same direct superior — and must equal the one sent. The
rating date lies in the period's window: from its `opens_day` (default the 20th) to the
`closes_working_day`-th working day of the next month (default the 3rd). Each accepted rating is
a new `RatingGiven`; payroll counts the latest of each rater.

`AssignIKP` (actor = the leader): the leader is above the assignee on the assignment date (the
direct superior or higher up the chain); the title is not blank; the due date is a date of the
period, not before the assignment date. The same leader may amend an IKP until it is completed.

`CompleteIKP` (actor = the assigning leader, who verifies the work, employed on the date):
`completed_at` is judged like a check-in's device time against the record timestamp, and is not
before the assignment. An IKP is completed once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from kinerja_events.commands import (
    ApproveSKP, AssignIKP, CompleteIKP, DraftSKP, Evaluate, GiveRating, ReturnSKP,
)
from kinerja_events.decider import StreamDecider
from kinerja_events.envelope import NewEvent, caused_by
from kinerja_events.events import AppraisalRefused, Data, IKPAssigned, IKPCompleted, RatingGiven
from kinerja_events.hr import Directory
from kinerja_events.types import WIB

from . import reasons, skp_decider
from .model import AppraisalState, empty_state, evolve

AppraisalCommand = (GiveRating | AssignIKP | CompleteIKP | DraftSKP | ApproveSKP | ReturnSKP
                    | Evaluate)
Relation = Literal["superior", "peer", "subordinate"]
Action = Literal["rate", "assign_ikp", "complete_ikp", "draft_skp", "approve_skp", "return_skp",
                 "evaluate"]
ACTIONS: dict[type, Action] = {
    GiveRating: "rate", AssignIKP: "assign_ikp", CompleteIKP: "complete_ikp",
    DraftSKP: "draft_skp", ApproveSKP: "approve_skp", ReturnSKP: "return_skp",
    Evaluate: "evaluate"}


@dataclass(frozen=True)
class AppraisalLimits:
    """The rating window and the tolerance on a completion's device time."""

    opens_day: int = 20  # day of the period's month the window opens (1–28)
    closes_working_day: int = 3  # working day of the next month the window closes after
    max_future_skew: timedelta = timedelta(minutes=5)
    offline_sync_window: timedelta = timedelta(hours=24)


def wib_date(moment: datetime) -> date:
    return moment.astimezone(WIB).date()


def month_bounds(period: str) -> tuple[date, date]:
    """The first and the last date of `period` (YYYY-MM)."""
    year, month = int(period[:4]), int(period[5:7])
    first = date(year, month, 1)
    return first, date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def rating_window(period: str, directory: Directory, limits: AppraisalLimits
                  ) -> tuple[date, date]:
    """The first and the last date on which ratings of `period` are accepted."""
    first, last = month_bounds(period)
    opens = first.replace(day=min(max(1, limits.opens_day), 28))
    return opens, directory.nth_working_day(last + timedelta(days=1),
                                            max(1, limits.closes_working_day))


def relation_between(directory: Directory, rater: str, ratee: str, day: date
                     ) -> Relation | None:
    """What the rater is to the ratee on `day` in the hierarchy, or None."""
    ratee_superior = directory.superior_of(ratee, day)
    rater_superior = directory.superior_of(rater, day)
    if rater == ratee:
        return None
    if ratee_superior == rater:
        return "superior"
    if rater_superior == ratee:
        return "subordinate"
    if ratee_superior is not None and rater_superior == ratee_superior:
        return "peer"
    return None


def employed_in(directory: Directory, nip: str, period: str) -> bool:
    person = directory.person(nip)
    first, last = month_bounds(period)
    return (person is not None and person.start is not None and person.start <= last
            and (person.end is None or person.end > first))


# --- GiveRating ---------------------------------------------------------------------------------
def refuse_rating(command: GiveRating, today: date, directory: Directory,
                  limits: AppraisalLimits) -> str | None:
    """The reason code of the first failing check, or None."""
    rater, ratee = directory.person(command.actor_nip), directory.person(command.ratee_nip)
    if rater is None or rater.start is None:
        return reasons.UNKNOWN_EMPLOYEE
    if ratee is None or ratee.start is None:
        return reasons.UNKNOWN_RATEE
    if command.actor_nip == command.ratee_nip:
        return reasons.SELF_RATING
    opens, closes = rating_window(command.period, directory, limits)
    if today < opens:
        return reasons.RATING_WINDOW_NOT_OPEN
    if today > closes:
        return reasons.RATING_WINDOW_CLOSED
    if not rater.is_employed_on(today):
        return reasons.RATER_NOT_EMPLOYED
    if not employed_in(directory, command.ratee_nip, command.period):
        return reasons.RATEE_NOT_EMPLOYED
    relation = relation_between(directory, command.actor_nip, command.ratee_nip, today)
    if relation is None:
        return reasons.NOT_RELATED
    if relation != command.relation:
        return reasons.RELATION_MISMATCH
    return None


def rating_of(command: GiveRating) -> RatingGiven:
    return RatingGiven(rater_nip=command.actor_nip, ratee_nip=command.ratee_nip,
                       period=command.period, relation=command.relation, scores=command.scores)


# --- AssignIKP ----------------------------------------------------------------------------------
def refuse_assignment(command: AssignIKP, today: date, state: AppraisalState,
                      directory: Directory) -> str | None:
    """The reason code of the first failing check, or None."""
    leader, assignee = directory.person(command.actor_nip), directory.person(command.assignee_nip)
    if leader is None or leader.start is None:
        return reasons.UNKNOWN_EMPLOYEE
    if assignee is None or assignee.start is None:
        return reasons.UNKNOWN_ASSIGNEE
    if command.actor_nip == command.assignee_nip:
        return reasons.SELF_ASSIGNMENT
    if not leader.is_employed_on(today):
        return reasons.ASSIGNER_NOT_EMPLOYED
    if not assignee.is_employed_on(today):
        return reasons.ASSIGNEE_NOT_EMPLOYED
    if command.actor_nip not in directory.superiors_of(command.assignee_nip, today):
        return reasons.NOT_ABOVE_ASSIGNEE
    if not command.title.strip():
        return reasons.EMPTY_TITLE
    first, last = month_bounds(command.period)
    if not first <= command.due_date <= last:
        return reasons.DUE_DATE_OUTSIDE_PERIOD
    if command.due_date < today:
        return reasons.DUE_DATE_IN_PAST
    if state.assignment is not None and state.assignment.assigner_nip != command.actor_nip:
        return reasons.IKP_OF_OTHER_LEADER
    if state.completion is not None:
        return reasons.ALREADY_COMPLETED
    return None


def assignment_of(command: AssignIKP) -> IKPAssigned:
    return IKPAssigned(ikp_id=command.ikp_id, assigner_nip=command.actor_nip,
                       assignee_nip=command.assignee_nip, period=command.period,
                       title=command.title, due_date=command.due_date)


# --- CompleteIKP --------------------------------------------------------------------------------
def refuse_completion(command: CompleteIKP, received_at: datetime, state: AppraisalState,
                      limits: AppraisalLimits) -> str | None:
    """The reason code of the first failing check, or None."""
    assignment = state.assignment
    if assignment is None:
        return reasons.UNKNOWN_IKP
    if command.actor_nip != assignment.assigner_nip:
        return reasons.NOT_THE_ASSIGNER
    leader = (state.directory or Directory()).person(command.actor_nip)
    if leader is not None and not leader.is_employed_on(wib_date(received_at)):
        return reasons.ASSIGNER_NOT_EMPLOYED
    if state.completion is not None:
        return reasons.ALREADY_COMPLETED
    if command.completed_at > received_at + limits.max_future_skew:
        return reasons.COMPLETED_IN_FUTURE
    if command.completed_at < received_at - limits.offline_sync_window:
        return reasons.COMPLETED_TOO_OLD
    if command.completed_at < assignment.first_assigned_at:
        return reasons.COMPLETED_BEFORE_ASSIGNED
    return None


def completion_of(command: CompleteIKP, state: AppraisalState) -> IKPCompleted:
    assert state.assignment is not None
    return IKPCompleted(ikp_id=command.ikp_id, assignee_nip=state.assignment.assignee_nip,
                        verified_by_nip=command.actor_nip, completed_at=command.completed_at)


# --- one entry point ----------------------------------------------------------------------------
def decide(command: AppraisalCommand, received_at: datetime, state: AppraisalState,
           limits: AppraisalLimits | None = None) -> list[NewEvent]:
    """Exactly one event: the command's outcome, or its `AppraisalRefused`."""
    limits = limits or AppraisalLimits()
    today = wib_date(received_at)
    directory = state.directory or Directory()
    data: Data
    if isinstance(command, GiveRating):
        reason = refuse_rating(command, today, directory, limits)
        data = refuse(command, reason) if reason else rating_of(command)
    elif isinstance(command, AssignIKP):
        reason = refuse_assignment(command, today, state, directory)
        data = refuse(command, reason) if reason else assignment_of(command)
    elif isinstance(command, CompleteIKP):
        reason = refuse_completion(command, received_at, state, limits)
        data = refuse(command, reason) if reason else completion_of(command, state)
    elif isinstance(command, DraftSKP):
        reason = skp_decider.refuse_draft(command, today, state)
        data = refuse(command, reason) if reason else skp_decider.draft_of(command, state)
    elif isinstance(command, ApproveSKP | ReturnSKP):
        reason = skp_decider.refuse_skp_decision(command, today, state)
        data = (refuse(command, reason) if reason
                else skp_decider.skp_decision_of(command, state))
    else:
        reason = skp_decider.refuse_evaluation(command, today, state)
        data = refuse(command, reason) if reason else skp_decider.evaluation_of(command, state)
    return [caused_by(command.command_id, data, received_at)]


def subject_of(command: AppraisalCommand) -> str:
    """What a refusal names: the ratee, the IKP, the SKP or the evaluated employee."""
    if isinstance(command, GiveRating):
        return command.ratee_nip
    if isinstance(command, AssignIKP | CompleteIKP):
        return command.ikp_id
    if isinstance(command, Evaluate):
        return command.nip
    return command.skp_id


def refuse(command: AppraisalCommand, reason: str | None) -> AppraisalRefused:
    assert reason is not None
    subject = subject_of(command)
    return AppraisalRefused(command_id=command.command_id, nip=command.actor_nip,
                            action=ACTIONS[type(command)], subject=subject, reason=reason,
                            retryable=reasons.is_retryable(reason))


def make_decider(limits: AppraisalLimits) -> StreamDecider[Any, NewEvent, AppraisalState]:
    """The appraisal rules as the pipeline's `Decider`: state is a stream folded, with the HR
    directory attached; time is the command's record timestamp."""
    return StreamDecider(lambda command, received_at, state: decide(command, received_at, state,
                                                                   limits), empty_state, evolve)
