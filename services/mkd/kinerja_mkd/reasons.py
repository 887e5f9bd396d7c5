"""The MKD service's documented reason codes, carried by `MKDRefused.reason`.

A code is *retryable* where the cause may be reference data or a request not received yet: the
same request may succeed later under a new `command_id`.
"""

from __future__ import annotations

from kinerja_events.decider import Reason

# --- RequestMKD, in the order the decider checks them -------------------------------------------
UNKNOWN_EMPLOYEE = "unknown_employee"
REQUEST_ID_TAKEN = "request_id_taken"
WEEK_START_NOT_MONDAY = "week_start_not_monday"
DAY_OUTSIDE_WEEK = "day_outside_week"
DUPLICATE_DAY = "duplicate_day"
DAY_IN_PAST = "day_in_past"
NOT_A_WORKING_DAY = "not_a_working_day"
NOT_EMPLOYED = "not_employed"
UNKNOWN_POSITION = "unknown_position"
PUBLIC_SERVICE_POSITION = "public_service_position"
DAY_ALREADY_GRANTED = "day_already_granted"
NO_ELIGIBILITY = "no_eligibility"
OVER_QUOTA = "over_quota"
# --- DecideMKD ----------------------------------------------------------------------------------
UNKNOWN_REQUEST = "unknown_request"
OWN_REQUEST = "own_request"
NOT_THE_SUPERIOR = "not_the_superior"
ALREADY_DECIDED = "already_decided"
DAYS_NOT_REQUESTED = "days_not_requested"
REASON_REQUIRED = "reason_required"

REASONS: dict[str, Reason] = {
    r.code: r
    for r in (
        Reason(UNKNOWN_EMPLOYEE, "no EmployeeRegistered for the actor's NIP (yet)", True),
        Reason(REQUEST_ID_TAKEN, "a request with this request_id was already made", False),
        Reason(WEEK_START_NOT_MONDAY, "week_start is not a Monday", False),
        Reason(DAY_OUTSIDE_WEEK, "a day is not in the week of week_start", False),
        Reason(DUPLICATE_DAY, "a day is named twice", False),
        Reason(DAY_IN_PAST, "a day is before the WIB date the command was received", False),
        Reason(NOT_A_WORKING_DAY, "a day is a Saturday, a Sunday or a declared holiday", False),
        Reason(NOT_EMPLOYED, "the employee is not employed on a day asked for", False),
        Reason(UNKNOWN_POSITION, "the position held on the request date is not defined (yet)",
               True),
        Reason(PUBLIC_SERVICE_POSITION, "the position held on the request date is face-to-face "
               "public service: never MKD", False),
        Reason(DAY_ALREADY_GRANTED, "a day is already granted to the employee by another "
               "request", False),
        Reason(NO_ELIGIBILITY, "payroll has not determined the employee's MKD eligibility for "
               "the month of week_start (yet)", True),
        Reason(OVER_QUOTA, "the days with those already granted in the week are more than the "
               "month's days_per_week", False),
        Reason(UNKNOWN_REQUEST, "no MKDRequested with this request_id (yet)", True),
        Reason(OWN_REQUEST, "an employee cannot decide their own request", False),
        Reason(NOT_THE_SUPERIOR, "the actor is not the requester's direct superior on the "
               "decision date (or, that post being vacant, the next superior up)", False),
        Reason(ALREADY_DECIDED, "the request was granted or denied already", False),
        Reason(DAYS_NOT_REQUESTED, "a granted day is not one of the request's days", False),
        Reason(REASON_REQUIRED, "a denial must give a reason", False),
    )
}
"""Every reason code, by code (plain data)."""


def is_retryable(code: str) -> bool:
    return REASONS[code].retryable
