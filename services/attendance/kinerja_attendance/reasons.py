"""The attendance service's documented reason codes.

Check-in/out refusals travel in `CheckInRejected.reason` (CONTRACT.md); refusals of the HR
commands (`RecordLeave`, `CancelLeave`, `RecordOfficialTravel`) are stored as the command's
outcome (a `kinerja_events.decider.Rejection` in the `commands` table). A code is *retryable* where the cause may be reference data
not received yet: the same request may succeed later under a new `command_id`.
"""

from __future__ import annotations

from kinerja_events.decider import Reason

# --- check-in / check-out (CheckInRejected), in the order the decider checks them -----------
UNKNOWN_EMPLOYEE = "unknown_employee"
NOT_YET_EMPLOYED = "not_yet_employed"
EMPLOYEE_TERMINATED = "employee_terminated"
MOCK_LOCATION = "mock_location"
DEVICE_TIME_IN_FUTURE = "device_time_in_future"
DEVICE_TIME_TOO_OLD = "device_time_too_old"
POOR_ACCURACY = "poor_accuracy"
UNKNOWN_POSITION = "unknown_position"
MODE_NOT_ALLOWED = "mode_not_allowed"
UNKNOWN_OFFICE = "unknown_office"
OUTSIDE_GEOFENCE = "outside_geofence"
NO_MKD_GRANT = "no_mkd_grant"
IMPOSSIBLE_TRAVEL = "impossible_travel"
CHECK_OUT_WITHOUT_CHECK_IN = "check_out_without_check_in"

# --- HR commands (CommandRejected) ------------------------------------------------------------
INVALID_DATE_RANGE = "invalid_date_range"
LEAVE_TOO_LONG = "leave_too_long"
TRAVEL_TOO_LONG = "travel_too_long"
OVERLAPPING_LEAVE = "overlapping_leave"
LEAVE_OF_OTHER_EMPLOYEE = "leave_of_other_employee"
TRAVEL_OF_OTHER_EMPLOYEE = "travel_of_other_employee"
LEAVE_CANCELLED = "leave_cancelled"
UNKNOWN_LEAVE = "unknown_leave"
LEAVE_ALREADY_CANCELLED = "leave_already_cancelled"

REASONS: dict[str, Reason] = {
    r.code: r
    for r in (
        Reason(UNKNOWN_EMPLOYEE, "no EmployeeRegistered for this NIP (yet)", True),
        Reason(NOT_YET_EMPLOYED, "the WIB date of `at` is before the employment start", False),
        Reason(EMPLOYEE_TERMINATED, "the WIB date of `at` is on/after the termination date", False),
        Reason(MOCK_LOCATION, "the device reported a mocked (fake) location", False),
        Reason(DEVICE_TIME_IN_FUTURE, "`at` is later than received_at by more than the skew", False),
        Reason(DEVICE_TIME_TOO_OLD, "`at` is older than received_at by more than the sync window", False),
        Reason(POOR_ACCURACY, "GPS accuracy_m is worse (larger) than the allowed limit", False),
        Reason(UNKNOWN_POSITION, "mode field, but the employee's position is not defined (yet)", True),
        Reason(MODE_NOT_ALLOWED, "mode field for a position not marked mobile", False),
        Reason(UNKNOWN_OFFICE, "mode office, but the employee's office is not registered (yet)", True),
        Reason(OUTSIDE_GEOFENCE, "mode office, farther from the office than its radius", False),
        Reason(NO_MKD_GRANT, "mode mkd on a WIB date not granted to the employee (yet)", True),
        Reason(IMPOSSIBLE_TRAVEL, "speed from the last accepted position exceeds the limit", False),
        Reason(CHECK_OUT_WITHOUT_CHECK_IN, "check-out with no earlier check-in that WIB date", False),
        Reason(INVALID_DATE_RANGE, "end_date is before start_date", False),
        Reason(LEAVE_TOO_LONG, "the leave is longer than 1,096 days", False),
        Reason(TRAVEL_TOO_LONG, "the travel is longer than 366 days", False),
        Reason(OVERLAPPING_LEAVE, "the range overlaps another live leave of the employee", False),
        Reason(LEAVE_OF_OTHER_EMPLOYEE, "the leave_id is already recorded for another NIP", False),
        Reason(TRAVEL_OF_OTHER_EMPLOYEE, "the travel_id is already recorded for another NIP", False),
        Reason(LEAVE_CANCELLED, "the leave_id was cancelled; a cancellation is final", False),
        Reason(UNKNOWN_LEAVE, "no leave with this leave_id recorded for this NIP", False),
        Reason(LEAVE_ALREADY_CANCELLED, "the leave_id is already cancelled", False),
    )
}
"""Every reason code, by code (plain data)."""


def is_retryable(code: str) -> bool:
    """True when a refusal with `code` may succeed if sent again later."""
    return REASONS[code].retryable
