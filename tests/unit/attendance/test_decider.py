"""Given reference facts, when a command is decided, then exactly these events (or refusal)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import reduce
from math import degrees
from uuid import uuid4

import pytest
from kinerja_events.commands import CancelLeave, CheckIn, CheckOut, RecordLeave, RecordOfficialTravel
from kinerja_events.envelope import NewEvent, new_event
from kinerja_events.events import (
    CheckedIn,
    CheckedOut,
    CheckInRejected,
    Data,
    EmployeeChanged,
    EmployeeRegistered,
    EmployeeTerminated,
    LeaveCancelled,
    LeaveRecorded,
    MKDGranted,
    MKDRevoked,
    OfficeRegistered,
    OfficialTravelRecorded,
    PositionDefined,
)
from kinerja_events.types import WIB

from kinerja_attendance import reasons
from kinerja_events.decider import Rejection
from kinerja_attendance.decider import (
    AttendanceLimits,
    decide,
    decide_check,
    decide_hr,
)
from kinerja_attendance.geo import EARTH_RADIUS_M, haversine_m
from kinerja_attendance.model import (
    AttendanceState, empty_state, evolve, has_mkd_grant, with_claims,
)

# --- the organisation -----------------------------------------------------------------------
OFFICE_LAT, OFFICE_LON = -6.902477, 107.618782  # Gedung Sate, Bandung
RADIUS_M = 100.0
CLERK = "199001012020121001"  # staff position, office KANTOR-1
SURVEYOR = "199202022020122002"  # mobile position
LEAVER = "198803032010011003"  # terminated on 2026-10-01
NEWCOMER = "199504042026011004"  # employed from 2026-11-01
STRANGER = "200001012026011999"  # never registered
HR_OFFICER = "197001011995031001"

RECEIVED = datetime(2026, 10, 5, 7, 21, 9, tzinfo=WIB)  # a Monday
MKD_DAY = date(2026, 10, 6)


def north_of(lat: float, metres: float) -> float:
    """The latitude `metres` due north of `lat`."""
    return lat + degrees(metres / EARTH_RADIUS_M)


def fact(data: Data, occurred_at: datetime = RECEIVED - timedelta(days=30)) -> NewEvent:
    return new_event(data, occurred_at)


def given(*facts: Data | NewEvent, base: AttendanceState | None = None) -> AttendanceState:
    """The state after these facts; bare data occur a month back, one second apart, in order."""
    start = RECEIVED - timedelta(days=30)
    events = [
        f if isinstance(f, NewEvent) else fact(f, start + timedelta(seconds=i))
        for i, f in enumerate(facts)
    ]
    return reduce(evolve, events, base or organisation())


def registered(nip: str, position: str, since: date = date(2020, 1, 1)) -> EmployeeRegistered:
    return EmployeeRegistered(
        nip=nip, name=nip, position_code=position, unit="BKD", office_id="KANTOR-1",
        superior_nip=None, effective_date=since,
    )


def organisation() -> AttendanceState:
    facts: list[Data] = [
        OfficeRegistered(office_id="KANTOR-1", name="Gedung Sate", lat=OFFICE_LAT,
                         lon=OFFICE_LON, radius_m=RADIUS_M),
        PositionDefined(position_code="STAF", name="Staf", kelas_jabatan=7, mobile=False,
                        public_service=False, tasks=[]),
        PositionDefined(position_code="SURVEI", name="Surveyor", kelas_jabatan=7, mobile=True,
                        public_service=False, tasks=[]),
        registered(CLERK, "STAF"),
        registered(SURVEYOR, "SURVEI"),
        registered(LEAVER, "STAF"),
        EmployeeTerminated(nip=LEAVER, effective_date=date(2026, 10, 1)),
        registered(NEWCOMER, "STAF", since=date(2026, 11, 1)),
        MKDGranted(request_id="R-1", nip=CLERK, approver_nip=HR_OFFICER, days=[MKD_DAY]),
    ]
    return reduce(evolve, [fact(d) for d in facts], empty_state())


def check_in(nip: str = CLERK, **fields: object) -> CheckIn:
    values: dict[str, object] = dict(
        command_id=uuid4(), actor_nip=nip, sent_at=RECEIVED, at=RECEIVED,
        lat=OFFICE_LAT, lon=OFFICE_LON, accuracy_m=10.0, mode="office",
    )
    return CheckIn(**(values | fields))


def check_out(nip: str = CLERK, **fields: object) -> CheckOut:
    return CheckOut(**check_in(nip, **fields).model_dump(exclude={"type"}))


def checked_in(nip: str = CLERK, at: datetime = RECEIVED, lat: float = OFFICE_LAT,
               lon: float = OFFICE_LON, accuracy_m: float = 10.0) -> CheckedIn:
    return CheckedIn(nip=nip, at=at, received_at=at, mode="office", lat=lat, lon=lon,
                     accuracy_m=accuracy_m, office_id="KANTOR-1", flags=[])


def only(events: list[NewEvent]) -> Data:
    assert len(events) == 1
    return events[0].data


def refusal(events: list[NewEvent]) -> tuple[str, bool]:
    data = only(events)
    assert isinstance(data, CheckInRejected), data
    return data.reason, data.retryable


# --- accepted check-ins -----------------------------------------------------------------------
def test_an_office_check_in_inside_the_radius_is_accepted_with_its_office() -> None:
    command = check_in(lat=north_of(OFFICE_LAT, 99.0))
    data = only(decide_check(command, RECEIVED, organisation()))
    assert data == CheckedIn(
        nip=CLERK, at=RECEIVED, received_at=RECEIVED, mode="office",
        lat=command.lat, lon=OFFICE_LON, accuracy_m=10.0, office_id="KANTOR-1", flags=[],
    )


def test_an_office_check_in_just_outside_the_radius_is_refused_as_outside_the_geofence() -> None:
    command = check_in(lat=north_of(OFFICE_LAT, 101.0))
    assert refusal(decide_check(command, RECEIVED, organisation())) == (
        reasons.OUTSIDE_GEOFENCE, False)


def test_a_field_check_in_of_a_mobile_position_is_accepted_anywhere_without_an_office() -> None:
    command = check_in(SURVEYOR, mode="field", lat=-7.5, lon=110.0)
    data = only(decide_check(command, RECEIVED, organisation()))
    assert isinstance(data, CheckedIn)
    assert (data.mode, data.office_id, data.lat, data.lon) == ("field", None, -7.5, 110.0)


def test_a_field_check_in_of_a_position_not_marked_mobile_is_refused() -> None:
    command = check_in(CLERK, mode="field")
    assert refusal(decide_check(command, RECEIVED, organisation())) == (
        reasons.MODE_NOT_ALLOWED, False)


def test_an_mkd_check_in_on_a_granted_wib_date_is_accepted_anywhere() -> None:
    at = datetime(2026, 10, 5, 17, 30, tzinfo=WIB.utc)  # 2026-10-06 00:30 WIB
    command = check_in(mode="mkd", at=at, lat=-6.2, lon=106.8)
    data = only(decide_check(command, at, organisation()))
    assert isinstance(data, CheckedIn)
    assert (data.mode, data.office_id) == ("mkd", None)


def test_an_mkd_check_in_on_a_day_not_granted_is_refused_as_retryable() -> None:
    command = check_in(mode="mkd")  # 2026-10-05: not granted
    assert refusal(decide_check(command, RECEIVED, organisation())) == (
        reasons.NO_MKD_GRANT, True)


def test_an_mkd_grant_of_another_employee_does_not_count() -> None:
    at = datetime(2026, 10, 6, 8, 0, tzinfo=WIB)
    command = check_in(SURVEYOR, mode="mkd", at=at)
    assert refusal(decide_check(command, at, organisation()))[0] == reasons.NO_MKD_GRANT


def test_a_revoked_mkd_day_is_refused_whichever_of_grant_and_revocation_came_first() -> None:
    at = datetime(2026, 10, 6, 8, 0, tzinfo=WIB)
    revoked = fact(MKDRevoked(request_id="R-1", nip=CLERK, days=[MKD_DAY],
                              reason="quota_lowered"))
    command = check_in(mode="mkd", at=at, lat=-6.2, lon=106.8)
    assert refusal(decide_check(command, at, evolve(organisation(), revoked)))[0] \
        == reasons.NO_MKD_GRANT
    before = reduce(evolve, [revoked, fact(MKDGranted(request_id="R-1", nip=CLERK,
                                                      approver_nip=HR_OFFICER,
                                                      days=[MKD_DAY]))], empty_state())
    assert not has_mkd_grant(before, CLERK, MKD_DAY)
    regranted = evolve(before, fact(MKDGranted(request_id="R-2", nip=CLERK,
                                               approver_nip=HR_OFFICER, days=[MKD_DAY])))
    assert has_mkd_grant(regranted, CLERK, MKD_DAY)


# --- refusals, one per reason -----------------------------------------------------------------
LATE = RECEIVED + timedelta(hours=9)  # a check-out time that same day

REFUSALS = [
    ("an unknown employee is refused as retryable",
     check_in(STRANGER), RECEIVED, reasons.UNKNOWN_EMPLOYEE, True),
    ("an employee terminated before the date is refused",
     check_in(LEAVER), RECEIVED, reasons.EMPLOYEE_TERMINATED, False),
    ("an employee not employed yet on the date is refused",
     check_in(NEWCOMER), RECEIVED, reasons.NOT_YET_EMPLOYED, False),
    ("a mocked location is refused",
     check_in(mock_location=True), RECEIVED, reasons.MOCK_LOCATION, False),
    ("accuracy worse than the limit is refused",
     check_in(accuracy_m=100.5), RECEIVED, reasons.POOR_ACCURACY, False),
    ("a device time beyond the future skew is refused",
     check_in(at=RECEIVED + timedelta(minutes=5, seconds=1)), RECEIVED,
     reasons.DEVICE_TIME_IN_FUTURE, False),
    ("a device time older than the sync window is refused",
     check_in(at=RECEIVED - timedelta(hours=24, seconds=1)), RECEIVED,
     reasons.DEVICE_TIME_TOO_OLD, False),
    ("a check-out with no check-in that day is refused",
     check_out(at=LATE), LATE, reasons.CHECK_OUT_WITHOUT_CHECK_IN, False),
]


@pytest.mark.parametrize(
    ("command", "received_at", "reason", "retryable"),
    [pytest.param(*row[1:], id=row[0]) for row in REFUSALS],
)
def test_a_check_is_refused_with_its_reason(
    command: CheckIn | CheckOut, received_at: datetime, reason: str, retryable: bool
) -> None:
    events = decide_check(command, received_at, organisation())
    assert refusal(events) == (reason, retryable)
    data = only(events)
    assert isinstance(data, CheckInRejected)
    assert (data.command_id, data.nip, data.attempted_at) == (
        command.command_id, command.actor_nip, command.at)
    assert data.action == ("check_in" if isinstance(command, CheckIn) else "check_out")
    assert events[0].occurred_at == received_at
    assert events[0].causation_id == command.command_id


def test_every_reason_code_is_documented_with_a_description() -> None:
    codes = {v for k, v in vars(reasons).items() if k.isupper() and isinstance(v, str)}
    assert codes == set(reasons.REASONS)
    assert all(r.description for r in reasons.REASONS.values())
    retryable = {c for c, r in reasons.REASONS.items() if r.retryable}
    assert retryable == {reasons.UNKNOWN_EMPLOYEE, reasons.NO_MKD_GRANT,
                         reasons.UNKNOWN_OFFICE, reasons.UNKNOWN_POSITION}


def test_an_office_not_registered_yet_is_refused_as_retryable() -> None:
    state = given(EmployeeChanged(nip=CLERK, effective_date=date(2026, 10, 1),
                                  office_id="KANTOR-BARU"))
    assert refusal(decide_check(check_in(), RECEIVED, state)) == (reasons.UNKNOWN_OFFICE, True)


def test_a_position_not_defined_yet_is_refused_as_retryable_for_field_mode() -> None:
    state = given(registered("199909092020121009", "BELUM-ADA"))
    command = check_in("199909092020121009", mode="field")
    assert refusal(decide_check(command, RECEIVED, state)) == (reasons.UNKNOWN_POSITION, True)


# --- check order ------------------------------------------------------------------------------
def test_an_unknown_employee_is_named_before_any_other_fault() -> None:
    command = check_in(STRANGER, mock_location=True, accuracy_m=500.0,
                       at=RECEIVED + timedelta(hours=1))
    assert refusal(decide_check(command, RECEIVED, organisation()))[0] == reasons.UNKNOWN_EMPLOYEE


def test_a_mocked_location_is_named_before_time_accuracy_and_geofence() -> None:
    command = check_in(mock_location=True, accuracy_m=500.0, lat=0.0, lon=0.0,
                       at=RECEIVED + timedelta(hours=1))
    assert refusal(decide_check(command, RECEIVED, organisation()))[0] == reasons.MOCK_LOCATION


def test_the_device_time_is_checked_before_the_accuracy() -> None:
    command = check_in(accuracy_m=500.0, at=RECEIVED + timedelta(hours=1))
    assert refusal(decide_check(command, RECEIVED, organisation()))[0] == (
        reasons.DEVICE_TIME_IN_FUTURE)


def test_the_accuracy_is_checked_before_the_geofence() -> None:
    command = check_in(accuracy_m=500.0, lat=0.0, lon=0.0)
    assert refusal(decide_check(command, RECEIVED, organisation()))[0] == reasons.POOR_ACCURACY


# --- limits at their edges --------------------------------------------------------------------
def test_accuracy_exactly_at_the_limit_is_accepted() -> None:
    assert isinstance(only(decide_check(check_in(accuracy_m=100.0), RECEIVED, organisation())),
                      CheckedIn)


def test_a_device_time_exactly_at_the_future_skew_is_accepted_unflagged() -> None:
    command = check_in(at=RECEIVED + timedelta(minutes=5))
    data = only(decide_check(command, RECEIVED, organisation()))
    assert isinstance(data, CheckedIn) and data.flags == []


def test_a_capture_within_the_flag_threshold_is_not_flagged() -> None:
    command = check_in(at=RECEIVED - timedelta(minutes=5))
    data = only(decide_check(command, RECEIVED, organisation()))
    assert isinstance(data, CheckedIn) and data.flags == []


def test_an_offline_capture_within_24_hours_is_accepted_and_flagged_offline_sync() -> None:
    at = RECEIVED - timedelta(hours=3)
    events = decide_check(check_in(at=at), RECEIVED, organisation())
    data = only(events)
    assert isinstance(data, CheckedIn)
    assert (data.at, data.received_at, data.flags) == (at, RECEIVED, ["offline_sync"])
    assert events[0].occurred_at == at


def test_an_offline_capture_exactly_24_hours_old_is_still_accepted() -> None:
    at = RECEIVED - timedelta(hours=24)
    data = only(decide_check(check_in(at=at), RECEIVED, organisation()))
    assert isinstance(data, CheckedIn) and data.flags == ["offline_sync"]


def test_limits_come_from_the_settings() -> None:
    strict = AttendanceLimits(max_accuracy_m=5.0)
    assert refusal(decide_check(check_in(), RECEIVED, organisation(), strict))[0] == (
        reasons.POOR_ACCURACY)


# --- travel speed -----------------------------------------------------------------------------
def test_a_position_implying_travel_faster_than_the_limit_is_refused() -> None:
    state = given(checked_in(SURVEYOR, at=RECEIVED))
    later = RECEIVED + timedelta(minutes=10)
    command = check_out(SURVEYOR, mode="field", at=later, lat=north_of(OFFICE_LAT, 100_000))
    assert refusal(decide_check(command, later, state)) == (reasons.IMPOSSIBLE_TRAVEL, False)


def test_a_position_reachable_at_a_plausible_speed_is_accepted() -> None:
    state = given(checked_in(SURVEYOR, at=RECEIVED))
    later = RECEIVED + timedelta(minutes=10)
    command = check_out(SURVEYOR, mode="field", at=later, lat=north_of(OFFICE_LAT, 10_000))
    assert isinstance(only(decide_check(command, later, state)), CheckedOut)


def test_gps_noise_within_the_readings_accuracy_is_not_taken_for_travel() -> None:
    state = given(checked_in(SURVEYOR, at=RECEIVED, accuracy_m=80.0))
    command = check_in(SURVEYOR, mode="field", at=RECEIVED, accuracy_m=80.0,
                       lat=north_of(OFFICE_LAT, 150.0))
    assert isinstance(only(decide_check(command, RECEIVED, state)), CheckedIn)


def test_speed_is_measured_from_the_latest_accepted_position_by_device_time() -> None:
    far = north_of(OFFICE_LAT, 500_000)
    state = given(
        checked_in(SURVEYOR, at=RECEIVED - timedelta(hours=1), lat=far),
        checked_in(SURVEYOR, at=RECEIVED - timedelta(hours=5)),  # older, synced late
    )
    command = check_in(SURVEYOR, mode="field", lat=far)
    assert isinstance(only(decide_check(command, RECEIVED, state)), CheckedIn)


# --- check-out --------------------------------------------------------------------------------
def test_a_check_out_after_a_check_in_that_day_is_accepted() -> None:
    state = given(checked_in(at=RECEIVED))
    data = only(decide_check(check_out(at=LATE), LATE, state))
    assert isinstance(data, CheckedOut) and data.office_id == "KANTOR-1"


def test_a_check_in_on_another_day_does_not_allow_a_check_out() -> None:
    state = given(checked_in(at=RECEIVED - timedelta(days=1)))
    assert refusal(decide_check(check_out(at=LATE), LATE, state))[0] == (
        reasons.CHECK_OUT_WITHOUT_CHECK_IN)


def test_a_check_out_before_the_days_check_in_is_refused() -> None:
    state = given(checked_in(at=LATE))
    assert refusal(decide_check(check_out(at=RECEIVED), LATE, state))[0] == (
        reasons.CHECK_OUT_WITHOUT_CHECK_IN)


def test_check_in_days_are_wib_dates() -> None:
    in_at = datetime(2026, 10, 5, 17, 30, tzinfo=WIB.utc)  # 2026-10-06 00:30 WIB
    out_at = datetime(2026, 10, 6, 9, 0, tzinfo=WIB)
    state = given(checked_in(at=in_at))
    assert isinstance(only(decide_check(check_out(at=out_at), out_at, state)), CheckedOut)


def test_an_accepted_check_in_evolves_into_the_state_that_allows_the_check_out() -> None:
    state = organisation()
    for event in decide_check(check_in(at=RECEIVED), RECEIVED, state):
        state = evolve(state, event)
    assert isinstance(only(decide_check(check_out(at=LATE), LATE, state)), CheckedOut)


# --- reference data over time ---------------------------------------------------------------
def test_an_office_change_applies_from_its_effective_date() -> None:
    new_lat = north_of(OFFICE_LAT, 5_000)
    state = given(
        OfficeRegistered(office_id="KANTOR-2", name="Cabang", lat=new_lat, lon=OFFICE_LON,
                         radius_m=50.0),
        EmployeeChanged(nip=CLERK, effective_date=date(2026, 10, 6), office_id="KANTOR-2"),
    )
    before = decide_check(check_in(), RECEIVED, state)
    tomorrow = RECEIVED + timedelta(days=1)
    after = decide_check(check_in(at=tomorrow, lat=new_lat), tomorrow, state)
    assert only(before).office_id == "KANTOR-1"  # type: ignore[attr-defined]
    assert only(after).office_id == "KANTOR-2"  # type: ignore[attr-defined]


def test_the_latest_office_registration_wins_whatever_the_arrival_order() -> None:
    old = fact(OfficeRegistered(office_id="KANTOR-1", name="x", lat=0.0, lon=0.0, radius_m=1.0),
               occurred_at=RECEIVED - timedelta(days=400))
    state = given(old)  # arrives after the newer registration of organisation()
    assert isinstance(only(decide_check(check_in(), RECEIVED, state)), CheckedIn)


def test_an_employee_terminated_later_is_still_accepted_before_that_date() -> None:
    state = given(EmployeeTerminated(nip=CLERK, effective_date=date(2026, 10, 6)))
    assert isinstance(only(decide_check(check_in(), RECEIVED, state)), CheckedIn)


def test_the_same_command_on_the_same_state_gives_the_same_events() -> None:
    command = check_in()
    first = decide_check(command, RECEIVED, organisation())
    second = decide_check(command, RECEIVED, organisation())
    assert first == second


# --- HR: leave and official travel ----------------------------------------------------------
def record_leave(leave_id: str = "L-1", start: date = date(2026, 10, 12),
                 end: date = date(2026, 10, 14), nip: str = CLERK) -> RecordLeave:
    return RecordLeave(command_id=uuid4(), actor_nip=HR_OFFICER, sent_at=RECEIVED,
                       leave_id=leave_id, nip=nip, kind="annual", start_date=start, end_date=end)


def cancel_leave(leave_id: str = "L-1", nip: str = CLERK) -> CancelLeave:
    return CancelLeave(command_id=uuid4(), actor_nip=HR_OFFICER, sent_at=RECEIVED,
                       leave_id=leave_id, nip=nip)


def leave(leave_id: str = "L-1", start: date = date(2026, 10, 12),
          end: date = date(2026, 10, 14), nip: str = CLERK) -> LeaveRecorded:
    return LeaveRecorded(leave_id=leave_id, nip=nip, kind="annual", start_date=start,
                         end_date=end)


def rejection(outcome: list[NewEvent] | Rejection) -> str:
    assert isinstance(outcome, Rejection), outcome
    return outcome.reason


def test_a_leave_is_recorded_as_given() -> None:
    command = record_leave()
    outcome = decide_hr(command, organisation())
    assert isinstance(outcome, list)
    assert only(outcome) == leave()
    assert outcome[0].occurred_at == RECEIVED
    assert outcome[0].causation_id == command.command_id


def test_a_leave_ending_before_it_starts_is_refused() -> None:
    outcome = decide_hr(record_leave(start=date(2026, 10, 14), end=date(2026, 10, 12)),
                        organisation())
    assert isinstance(outcome, Rejection)
    assert (outcome.reason, outcome.retryable) == (reasons.INVALID_DATE_RANGE, False)
    assert outcome.detail


def test_a_one_day_leave_is_a_valid_range() -> None:
    outcome = decide_hr(record_leave(start=date(2026, 10, 12), end=date(2026, 10, 12)),
                        organisation())
    assert isinstance(outcome, list)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(date(2026, 10, 14), date(2026, 10, 20), id="sharing its last day"),
        pytest.param(date(2026, 10, 1), date(2026, 10, 12), id="sharing its first day"),
        pytest.param(date(2026, 10, 13), date(2026, 10, 13), id="inside it"),
        pytest.param(date(2026, 10, 1), date(2026, 10, 31), id="around it"),
    ],
)
def test_a_leave_overlapping_another_leave_of_the_employee_is_refused(
    start: date, end: date
) -> None:
    outcome = decide_hr(record_leave("L-2", start, end), given(leave()))
    assert rejection(outcome) == reasons.OVERLAPPING_LEAVE


def test_a_leave_next_to_another_is_not_an_overlap() -> None:
    outcome = decide_hr(record_leave("L-2", date(2026, 10, 15), date(2026, 10, 16)),
                        given(leave()))
    assert isinstance(outcome, list)


def test_a_leave_of_another_employee_on_the_same_days_is_not_an_overlap() -> None:
    outcome = decide_hr(record_leave("L-2", nip=SURVEYOR), given(leave()))
    assert isinstance(outcome, list)


def test_a_leave_re_recorded_under_its_own_id_replaces_itself() -> None:
    outcome = decide_hr(record_leave("L-1", date(2026, 10, 13), date(2026, 10, 16)),
                        given(leave()))
    assert isinstance(outcome, list)
    assert only(outcome) == leave(start=date(2026, 10, 13), end=date(2026, 10, 16))


def test_a_re_recorded_leave_frees_the_days_it_no_longer_covers() -> None:
    state = given(leave(), leave(start=date(2026, 10, 20), end=date(2026, 10, 21)))
    outcome = decide_hr(record_leave("L-2"), state)
    assert isinstance(outcome, list)


def test_a_cancelled_leave_does_not_count_as_an_overlap() -> None:
    state = given(leave(), LeaveCancelled(leave_id="L-1", nip=CLERK))
    assert isinstance(decide_hr(record_leave("L-2"), state), list)


def test_a_cancelled_leave_id_cannot_be_recorded_again() -> None:
    state = given(leave(), LeaveCancelled(leave_id="L-1", nip=CLERK))
    assert rejection(decide_hr(record_leave("L-1"), state)) == reasons.LEAVE_CANCELLED


def test_a_leave_id_of_another_employee_cannot_be_recorded_for_this_one() -> None:
    state = given(leave(nip=SURVEYOR))
    assert rejection(decide_hr(record_leave("L-1"), state)) == reasons.LEAVE_OF_OTHER_EMPLOYEE


def test_a_recorded_leave_is_cancelled() -> None:
    outcome = decide_hr(cancel_leave(), given(leave()))
    assert isinstance(outcome, list)
    assert only(outcome) == LeaveCancelled(leave_id="L-1", nip=CLERK)


def test_cancelling_an_unknown_leave_id_is_refused() -> None:
    assert rejection(decide_hr(cancel_leave("L-9"), given(leave()))) == reasons.UNKNOWN_LEAVE


def test_cancelling_a_leave_under_another_nip_is_refused_as_unknown() -> None:
    outcome = decide_hr(cancel_leave(nip=SURVEYOR), given(leave()))
    assert rejection(outcome) == reasons.UNKNOWN_LEAVE


def test_cancelling_a_leave_twice_is_refused() -> None:
    state = given(leave(), LeaveCancelled(leave_id="L-1", nip=CLERK))
    assert rejection(decide_hr(cancel_leave(), state)) == reasons.LEAVE_ALREADY_CANCELLED


def test_official_travel_is_recorded_as_given() -> None:
    command = RecordOfficialTravel(
        command_id=uuid4(), actor_nip=HR_OFFICER, sent_at=RECEIVED, travel_id="T-1",
        nip=CLERK, start_date=date(2026, 10, 7), end_date=date(2026, 10, 9))
    outcome = decide_hr(command, given(leave(start=date(2026, 10, 8))))
    assert isinstance(outcome, list)
    assert only(outcome) == OfficialTravelRecorded(
        travel_id="T-1", nip=CLERK, start_date=date(2026, 10, 7), end_date=date(2026, 10, 9))


def test_official_travel_ending_before_it_starts_is_refused() -> None:
    command = RecordOfficialTravel(
        command_id=uuid4(), actor_nip=HR_OFFICER, sent_at=RECEIVED, travel_id="T-1",
        nip=CLERK, start_date=date(2026, 10, 9), end_date=date(2026, 10, 7))
    assert rejection(decide_hr(command, organisation())) == reasons.INVALID_DATE_RANGE


def test_one_entry_point_routes_check_and_hr_commands() -> None:
    assert isinstance(only(decide(check_in(), RECEIVED, organisation())), CheckedIn)  # type: ignore[arg-type]
    assert isinstance(decide(cancel_leave(), RECEIVED, organisation()), Rejection)


# --- geometry -------------------------------------------------------------------------------
def test_haversine_gives_zero_for_one_point_and_half_the_circumference_for_antipodes() -> None:
    assert haversine_m(OFFICE_LAT, OFFICE_LON, OFFICE_LAT, OFFICE_LON) == 0.0
    antipode = haversine_m(0.0, 0.0, 0.0, 180.0)
    assert antipode == pytest.approx(3.141592653589793 * EARTH_RADIUS_M)


def test_haversine_between_bandung_and_jakarta_is_about_119_km() -> None:
    assert haversine_m(-6.9025, 107.6188, -6.1754, 106.8272) == pytest.approx(119_100, rel=0.005)



# --- ids across employees and the longest ranges ---------------------------------------------
def travel(travel_id: str = "T-1", start: date = date(2026, 10, 12),
           end: date = date(2026, 10, 14), nip: str = CLERK) -> RecordOfficialTravel:
    return RecordOfficialTravel(command_id=uuid4(), actor_nip=HR_OFFICER, sent_at=RECEIVED,
                                travel_id=travel_id, nip=nip, start_date=start, end_date=end)


def claimed(kind: str, item_id: str, nip: str) -> AttendanceState:
    """The organisation knowing that `item_id` was first recorded for `nip` (another stream)."""
    return with_claims(organisation(), {(kind, item_id): nip})


@pytest.mark.parametrize("command,state,reason", [
    (record_leave("L-9"), claimed("leave", "L-9", SURVEYOR), reasons.LEAVE_OF_OTHER_EMPLOYEE),
    (travel("T-9"), claimed("travel", "T-9", SURVEYOR), reasons.TRAVEL_OF_OTHER_EMPLOYEE),
    (record_leave(start=date(2026, 1, 1), end=date(2029, 1, 1)), organisation(),
     reasons.LEAVE_TOO_LONG),  # 1,097 days
    (travel(start=date(2026, 1, 1), end=date(2027, 1, 2)), organisation(),
     reasons.TRAVEL_TOO_LONG),  # 367 days
], ids=["leave id of another", "travel id of another", "leave 1097 days", "travel 367 days"])
def test_an_id_of_another_employee_or_a_range_too_long_is_refused(command, state, reason) -> None:
    assert rejection(decide_hr(command, state)) == reason


@pytest.mark.parametrize("command,state", [
    (record_leave("L-9"), claimed("leave", "L-9", CLERK)),
    (travel("T-9"), claimed("travel", "T-9", CLERK)),
    (record_leave(start=date(2026, 1, 1), end=date(2028, 12, 31)), organisation()),  # 1,096
    (travel(start=date(2026, 1, 1), end=date(2027, 1, 1)), organisation()),  # 366 days
], ids=["own leave id", "own travel id", "leave 1096 days", "travel 366 days"])
def test_an_own_id_and_the_longest_allowed_ranges_are_recorded(command, state) -> None:
    outcome = decide_hr(command, state)
    assert not isinstance(outcome, Rejection), outcome
    assert len(outcome) == 1
