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
# --- DraftSKP (after unknown_employee) ----------------------------------------------------------
SKP_OF_OTHER_EMPLOYEE = "skp_of_other_employee"
SKP_YEAR_MISMATCH = "skp_year_mismatch"
NOT_EMPLOYED_IN_YEAR = "not_employed_in_year"
SKP_EXISTS_FOR_YEAR = "skp_exists_for_year"
NO_ITEMS = "no_items"
DUPLICATE_ITEM_ID = "duplicate_item_id"
EMPTY_INDICATOR = "empty_indicator"
EMPTY_UNIT = "empty_unit"
MONTHLY_TARGETS_DO_NOT_SUM = "monthly_targets_do_not_sum"
NO_SUPERIOR_TO_SUPPORT = "no_superior_to_support"
UNIT_GOAL_MISSING = "unit_goal_missing"
SUPPORTS_ITEM_MISSING = "supports_item_missing"
SUPERIOR_SKP_NOT_APPROVED = "superior_skp_not_approved"
SUPPORTS_UNKNOWN_ITEM = "supports_unknown_item"
# --- ApproveSKP / ReturnSKP (then the cascading checks again, for an approval) --------------------
UNKNOWN_SKP = "unknown_skp"
OWN_SKP = "own_skp"
NOT_THE_APPROVER = "not_the_approver"
STALE_REVISION = "stale_revision"
REVISION_ALREADY_DECIDED = "revision_already_decided"
EMPTY_NOTES = "empty_notes"
# --- Evaluate (after unknown_employee) ----------------------------------------------------------
UNKNOWN_EVALUATEE = "unknown_evaluatee"
SELF_EVALUATION = "self_evaluation"
PERIOD_NOT_ENDED = "period_not_ended"
EVALUATEE_NOT_EMPLOYED = "evaluatee_not_employed"
NOT_THE_EVALUATOR = "not_the_evaluator"
NO_APPROVED_SKP = "no_approved_skp"
ALREADY_EVALUATED = "already_evaluated"
OVERRIDE_REASON_MISSING = "override_reason_missing"
OVERRIDE_REASON_UNNEEDED = "override_reason_unneeded"

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
        Reason(SKP_OF_OTHER_EMPLOYEE, "the skp_id was drafted by another employee", False),
        Reason(SKP_YEAR_MISMATCH, "the skp_id was drafted for another year", False),
        Reason(NOT_EMPLOYED_IN_YEAR, "the employee is employed on no day of the SKP's year",
               False),
        Reason(SKP_EXISTS_FOR_YEAR, "the employee already has an SKP of this year under another "
               "skp_id (one SKP per employee per year; revise that one)", False),
        Reason(NO_ITEMS, "the SKP has no items", False),
        Reason(DUPLICATE_ITEM_ID, "two items share an item_id", False),
        Reason(EMPTY_INDICATOR, "an item's indicator is blank", False),
        Reason(EMPTY_UNIT, "an item's unit is blank", False),
        Reason(MONTHLY_TARGETS_DO_NOT_SUM, "an item's 12 monthly targets do not sum to its "
               "target_quantity", False),
        Reason(NO_SUPERIOR_TO_SUPPORT, "the employee has no direct superior on the drafting "
               "date, yet an item names supports_item_id (name unit_goal instead)", False),
        Reason(UNIT_GOAL_MISSING, "the employee has no direct superior on the drafting date, "
               "and an item names no unit_goal", False),
        Reason(SUPPORTS_ITEM_MISSING, "an item names no supports_item_id, though the employee "
               "has a direct superior (cascading: every item serves one of the superior's)",
               False),
        Reason(SUPERIOR_SKP_NOT_APPROVED, "the direct superior has no approved SKP of the year "
               "(yet)", True),
        Reason(SUPPORTS_UNKNOWN_ITEM, "supports_item_id names no item of the direct "
               "superior's approved SKP of the year (yet)", True),
        Reason(UNKNOWN_SKP, "no SKPDrafted with this skp_id (yet)", True),
        Reason(OWN_SKP, "an employee cannot approve or return their own SKP (only the top of "
               "the hierarchy, with nobody above, records their own)", False),
        Reason(NOT_THE_APPROVER, "the actor is not the SKP owner's direct superior on the "
               "decision date (nor, where that post is vacant, the next superior up)", False),
        Reason(STALE_REVISION, "`revision` is not the SKP's latest revision", False),
        Reason(REVISION_ALREADY_DECIDED, "the revision is already approved or returned", False),
        Reason(EMPTY_NOTES, "a return without notes", False),
        Reason(UNKNOWN_EVALUATEE, "no EmployeeRegistered for nip (yet)", True),
        Reason(SELF_EVALUATION, "an employee cannot evaluate themselves", False),
        Reason(PERIOD_NOT_ENDED, "received on or before the last day of the quarter (or "
               "year) evaluated", True),
        Reason(EVALUATEE_NOT_EMPLOYED, "the employee is employed on no day of the period",
               False),
        Reason(NOT_THE_EVALUATOR, "the actor is not the employee's direct superior on the "
               "period's last day (nor, where that post is vacant on the evaluation date, the "
               "next superior up)", False),
        Reason(NO_APPROVED_SKP, "the employee has no approved SKP of the year (yet)", True),
        Reason(ALREADY_EVALUATED, "the period is already evaluated for the employee", False),
        Reason(OVERRIDE_REASON_MISSING, "a rating differs from its proposal and "
               "override_reason is blank (the proposal is the one computed on receipt)", False),
        Reason(OVERRIDE_REASON_UNNEEDED, "override_reason is given but both ratings equal "
               "their proposals", False),
    )
}
"""Every reason code, by code (plain data)."""


def is_retryable(code: str) -> bool:
    return REASONS[code].retryable
