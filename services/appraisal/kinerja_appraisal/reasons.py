"""The appraisal service's documented reason codes, carried by `AppraisalRefused.reason`.

A code is *retryable* where the cause may be reference data or an IKP not received yet: the same
request may succeed later under a new `command_id`.
"""

from __future__ import annotations

from kinerja_events.decider import Reason

# --- GiveRating, in the order the decider checks them -------------------------------------------
UNKNOWN_EMPLOYEE = "unknown_employee"
UNKNOWN_RATEE = "unknown_ratee"
SELF_RATING = "self_rating"
RATING_WINDOW_NOT_OPEN = "rating_window_not_open"
RATING_WINDOW_CLOSED = "rating_window_closed"
RATER_NOT_EMPLOYED = "rater_not_employed"
RATEE_NOT_EMPLOYED = "ratee_not_employed"
NOT_RELATED = "not_related"
RELATION_MISMATCH = "relation_mismatch"
# --- AssignIKP ----------------------------------------------------------------------------------
UNKNOWN_ASSIGNEE = "unknown_assignee"
SELF_ASSIGNMENT = "self_assignment"
ASSIGNER_NOT_EMPLOYED = "assigner_not_employed"
ASSIGNEE_NOT_EMPLOYED = "assignee_not_employed"
NOT_ABOVE_ASSIGNEE = "not_above_assignee"
EMPTY_TITLE = "empty_title"
DUE_DATE_OUTSIDE_PERIOD = "due_date_outside_period"
DUE_DATE_IN_PAST = "due_date_in_past"
IKP_OF_OTHER_LEADER = "ikp_of_other_leader"
# --- CompleteIKP (and AssignIKP of a completed IKP) ---------------------------------------------
UNKNOWN_IKP = "unknown_ikp"
NOT_THE_ASSIGNER = "not_the_assigner"
ALREADY_COMPLETED = "already_completed"
COMPLETED_IN_FUTURE = "completed_in_future"
COMPLETED_TOO_OLD = "completed_too_old"
COMPLETED_BEFORE_ASSIGNED = "completed_before_assigned"

REASONS: dict[str, Reason] = {
    r.code: r
    for r in (
        Reason(UNKNOWN_EMPLOYEE, "no EmployeeRegistered for the actor's NIP (yet)", True),
        Reason(UNKNOWN_RATEE, "no EmployeeRegistered for ratee_nip (yet)", True),
        Reason(SELF_RATING, "an employee cannot rate themselves", False),
        Reason(RATING_WINDOW_NOT_OPEN, "received before the period's rating window opens (the "
               "20th of the month by default)", False),
        Reason(RATING_WINDOW_CLOSED, "received after the period's rating window closed (the "
               "3rd working day of the next month by default, by the HolidayDeclared "
               "calendar)", False),
        Reason(RATER_NOT_EMPLOYED, "the rater is not employed on the rating date", False),
        Reason(RATEE_NOT_EMPLOYED, "the ratee is employed on no day of the period", False),
        Reason(NOT_RELATED, "on the rating date the rater is neither the ratee's direct "
               "superior, nor a direct subordinate, nor a peer under the same superior", False),
        Reason(RELATION_MISMATCH, "`relation` is not the one the hierarchy gives on the rating "
               "date", False),
        Reason(UNKNOWN_ASSIGNEE, "no EmployeeRegistered for assignee_nip (yet)", True),
        Reason(SELF_ASSIGNMENT, "a leader cannot give an IKP to themselves", False),
        Reason(ASSIGNER_NOT_EMPLOYED, "the leader is not employed on the assignment date (or, "
               "completing the IKP, on the date the completion is received)", False),
        Reason(ASSIGNEE_NOT_EMPLOYED, "the assignee is not employed on the assignment date",
               False),
        Reason(NOT_ABOVE_ASSIGNEE, "the actor is not above the assignee in the hierarchy on the "
               "assignment date (direct superior or higher)", False),
        Reason(EMPTY_TITLE, "the title is blank", False),
        Reason(DUE_DATE_OUTSIDE_PERIOD, "due_date is not a date of `period`", False),
        Reason(DUE_DATE_IN_PAST, "due_date is before the WIB date the command was received",
               False),
        Reason(IKP_OF_OTHER_LEADER, "the ikp_id was assigned by another leader", False),
        Reason(UNKNOWN_IKP, "no IKPAssigned with this ikp_id (yet)", True),
        Reason(NOT_THE_ASSIGNER, "only the leader who assigned the IKP may complete it", False),
        Reason(ALREADY_COMPLETED, "the IKP is completed: a second completion, or a change of "
               "the assignment, is refused", False),
        Reason(COMPLETED_IN_FUTURE, "completed_at is later than the record timestamp by more "
               "than the skew (KINERJA_APPRAISAL_MAX_FUTURE_SKEW_S, default 300)", False),
        Reason(COMPLETED_TOO_OLD, "completed_at is older than the record timestamp by more than "
               "the sync window (KINERJA_APPRAISAL_OFFLINE_SYNC_WINDOW_S, default 86400)",
               False),
        Reason(COMPLETED_BEFORE_ASSIGNED, "completed_at is before the IKP was assigned", False),
    )
}
"""Every reason code, by code (plain data)."""


def is_retryable(code: str) -> bool:
    return REASONS[code].retryable
