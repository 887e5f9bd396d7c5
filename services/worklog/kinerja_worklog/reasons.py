"""The worklog service's documented reason codes, carried by `ActivityRefused.reason`.

A code is *retryable* where the cause may be reference data or an activity not received yet: the
same request may succeed later under a new `command_id`.
"""

from __future__ import annotations

from kinerja_events.decider import Reason

# --- LogActivity, in the order the decider checks them -----------------------------------------
UNKNOWN_EMPLOYEE = "unknown_employee"
WORK_DATE_IN_FUTURE = "work_date_in_future"
WORK_DATE_TOO_OLD = "work_date_too_old"
NOT_YET_EMPLOYED = "not_yet_employed"
EMPLOYEE_TERMINATED = "employee_terminated"
UNKNOWN_POSITION = "unknown_position"
TASK_NOT_IN_POSITION = "task_not_in_position"
TOO_MANY_MINUTES = "too_many_minutes"
INVALID_EVIDENCE_REF = "invalid_evidence_ref"
UNKNOWN_SKP_ITEM = "unknown_skp_item"
ACTIVITY_OF_OTHER_EMPLOYEE = "activity_of_other_employee"
ACTIVITY_ALREADY_DECIDED = "activity_already_decided"
# --- ApproveActivity / RejectActivity -----------------------------------------------------------
UNKNOWN_ACTIVITY = "unknown_activity"
OWN_ACTIVITY = "own_activity"
NO_APPROVER = "no_approver"
NOT_THE_APPROVER = "not_the_approver"
QUANTITY_ABOVE_LOGGED = "quantity_above_logged"

REASONS: dict[str, Reason] = {
    r.code: r
    for r in (
        Reason(UNKNOWN_EMPLOYEE, "no EmployeeRegistered for the actor's NIP (yet)", True),
        Reason(WORK_DATE_IN_FUTURE, "work_date is after the WIB date the command was received",
               False),
        Reason(WORK_DATE_TOO_OLD, "work_date is more days back than the service allows "
               "(KINERJA_WORKLOG_MAX_DAYS_BACK, default 3)", False),
        Reason(NOT_YET_EMPLOYED, "work_date is before the employment start", False),
        Reason(EMPLOYEE_TERMINATED, "work_date is on or after the termination date", False),
        Reason(UNKNOWN_POSITION, "the position held on work_date is not defined (yet)", True),
        Reason(TASK_NOT_IN_POSITION, "task_code is not in the task list of the position held on "
               "work_date", False),
        Reason(TOO_MANY_MINUTES, "quantity × minutes_per_unit is more than 1,440 minutes",
               False),
        Reason(INVALID_EVIDENCE_REF, "evidence_ref is neither null nor `sha256:` and 64 "
               "lowercase hex digits", False),
        Reason(UNKNOWN_SKP_ITEM, "skp_item_id names no item of the employee's approved SKP of "
               "the work date's year (yet: the approval may still be on its way)", True),
        Reason(ACTIVITY_OF_OTHER_EMPLOYEE, "the activity_id was logged by another employee",
               False),
        Reason(ACTIVITY_ALREADY_DECIDED, "the activity was approved or rejected; it can no "
               "longer be replaced", False),
        Reason(UNKNOWN_ACTIVITY, "no ActivityLogged with this activity_id (yet)", True),
        Reason(OWN_ACTIVITY, "an employee cannot approve or reject their own activity", False),
        Reason(NO_APPROVER, "the employee has no superior (and none up the chain is employed "
               "on the decision date)", False),
        Reason(NOT_THE_APPROVER, "the actor is not the employee's superior on the work date "
               "(or, that post being vacant, the next superior up)", False),
        Reason(QUANTITY_ABOVE_LOGGED, "approved_quantity is more than the logged quantity",
               False),
    )
}
"""Every reason code, by code (plain data)."""


def is_retryable(code: str) -> bool:
    return REASONS[code].retryable
