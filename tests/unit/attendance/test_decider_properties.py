"""Properties: no command the models accept crashes the attendance decider, and a check always
gives exactly one event (an HR command: one event or one `Rejection`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import reduce

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kinerja_events.commands import CancelLeave, CheckIn, CheckOut, RecordLeave, RecordOfficialTravel
from kinerja_events.envelope import new_event
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
    OfficeRegistered,
    PositionDefined,
)

from kinerja_attendance.decider import AttendanceLimits, decide_check, decide_hr
from kinerja_events.decider import Rejection
from kinerja_attendance.model import AttendanceState, empty_state, evolve
from kinerja_attendance.reasons import REASONS

KNOWN_NIPS = ["199001012020121001", "199202022020122002", "198803032010011003"]
OFFICE_IDS = ["KANTOR-1", "KANTOR-2"]
POSITIONS = ["STAF", "SURVEI"]
LEAVE_IDS = ["L-1", "L-2", "L-3"]

offsets = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23, minutes=-59),
                            max_value=timedelta(hours=23, minutes=59)))
# Inside the contract's bounds (work facts: 2000 … 2099), which the models refuse to leave.
any_instant = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30),
                           timezones=offsets)
recent_instant = st.datetimes(
    min_value=datetime(2026, 9, 1), max_value=datetime(2026, 11, 30), timezones=offsets)
nips = st.sampled_from(KNOWN_NIPS) | st.from_regex(r"[0-9]{18}", fullmatch=True)
days = (st.dates(min_value=date(2026, 8, 1), max_value=date(2026, 12, 31))
        | st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
# Any text the contract takes: no U+0000 (its bounds), no lone surrogate (not UTF-8, so no
# producer can send one).
ids = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=100)
lats = st.floats(min_value=-90, max_value=90)
lons = st.floats(min_value=-180, max_value=180)
accuracies = st.floats(min_value=0, allow_infinity=False) | st.floats(min_value=0, max_value=150)
near_office_lat = st.floats(min_value=-6.91, max_value=-6.89)
near_office_lon = st.floats(min_value=107.61, max_value=107.63)


def reference_facts() -> st.SearchStrategy[Data]:
    """HR, MKD and attendance facts over a small world, so that ids collide and rules fire."""
    return st.one_of(
        st.builds(OfficeRegistered, office_id=st.sampled_from(OFFICE_IDS), name=st.just("o"),
                  lat=near_office_lat | lats, lon=near_office_lon | lons,
                  radius_m=st.floats(min_value=1, max_value=10_000)),
        st.builds(PositionDefined, position_code=st.sampled_from(POSITIONS), name=st.just("p"),
                  kelas_jabatan=st.integers(1, 17), mobile=st.booleans(),
                  public_service=st.booleans(), tasks=st.just([])),
        st.builds(EmployeeRegistered, nip=nips, name=st.just("e"),
                  position_code=st.sampled_from(POSITIONS), unit=st.just("u"),
                  office_id=st.sampled_from(OFFICE_IDS), superior_nip=st.none(),
                  effective_date=days),
        st.builds(EmployeeChanged, nip=nips, effective_date=days,
                  office_id=st.sampled_from(OFFICE_IDS)),
        st.builds(EmployeeTerminated, nip=nips, effective_date=days),
        st.builds(MKDGranted, request_id=st.just("R"), nip=nips, approver_nip=nips,
                  days=st.lists(days, max_size=3)),
        st.builds(CheckedIn, nip=nips, at=recent_instant | any_instant,
                  received_at=recent_instant, mode=st.sampled_from(["office", "field", "mkd"]),
                  lat=lats, lon=lons, accuracy_m=accuracies, office_id=st.none(),
                  flags=st.just([])),
        st.builds(LeaveRecorded, leave_id=st.sampled_from(LEAVE_IDS), nip=nips,
                  kind=st.just("annual"), start_date=days, end_date=days),
        st.builds(LeaveCancelled, leave_id=st.sampled_from(LEAVE_IDS), nip=nips),
    )


@st.composite
def states(draw: st.DrawFn) -> AttendanceState:
    facts = draw(st.lists(st.tuples(reference_facts(), any_instant), max_size=25))
    return reduce(evolve, [new_event(data, at) for data, at in facts], empty_state())


def check_commands(model: type[CheckIn] | type[CheckOut]) -> st.SearchStrategy[CheckIn]:
    return st.builds(
        model, command_id=st.uuids(), actor_nip=nips, sent_at=any_instant,
        at=recent_instant | any_instant, lat=near_office_lat | lats, lon=near_office_lon | lons,
        accuracy_m=accuracies, mode=st.sampled_from(["office", "field", "mkd"]),
        mock_location=st.booleans(),
    )


hr_commands = st.one_of(
    st.builds(RecordLeave, command_id=st.uuids(), actor_nip=nips, sent_at=any_instant,
              leave_id=st.sampled_from(LEAVE_IDS) | ids, nip=nips,
              kind=st.sampled_from(["annual", "sick", "important", "maternity", "long", "unpaid"]),
              start_date=days, end_date=days),
    st.builds(CancelLeave, command_id=st.uuids(), actor_nip=nips, sent_at=any_instant,
              leave_id=st.sampled_from(LEAVE_IDS) | ids, nip=nips),
    st.builds(RecordOfficialTravel, command_id=st.uuids(), actor_nip=nips, sent_at=any_instant,
              travel_id=ids, nip=nips, start_date=days, end_date=days),
)

limits = st.just(AttendanceLimits()) | st.builds(
    AttendanceLimits,
    max_accuracy_m=st.floats(min_value=0, max_value=1e6),
    max_speed_kmh=st.floats(min_value=0, max_value=1e6),
    max_future_skew=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
    offline_sync_window=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
    offline_sync_flag_after=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
)

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    command=check_commands(CheckIn) | check_commands(CheckOut),
    received_at=recent_instant | any_instant,
    state=states(),
    limits=limits,
)
def test_a_check_command_always_gives_exactly_one_well_formed_event(
    command: CheckIn | CheckOut, received_at: datetime, state: AttendanceState,
    limits: AttendanceLimits,
) -> None:
    events = decide_check(command, received_at, state, limits)
    assert len(events) == 1
    data = events[0].data
    accepted = CheckedIn if isinstance(command, CheckIn) else CheckedOut
    assert isinstance(data, accepted | CheckInRejected)
    assert type(data).model_validate(data.model_dump()) == data
    assert events[0].causation_id == command.command_id
    if isinstance(data, CheckInRejected):
        assert data.command_id == command.command_id
        assert data.retryable == REASONS[data.reason].retryable
        assert data.action == ("check_in" if isinstance(command, CheckIn) else "check_out")
    else:
        assert data.nip == command.actor_nip
        assert (data.office_id is not None) == (command.mode == "office")
        evolve(state, events[0])


@SETTINGS
@given(command=hr_commands, state=states())
def test_an_hr_command_always_gives_one_event_or_one_rejection(
    command: RecordLeave | CancelLeave | RecordOfficialTravel, state: AttendanceState
) -> None:
    outcome = decide_hr(command, state)
    if isinstance(outcome, Rejection):
        assert outcome.reason in REASONS
    else:
        assert len(outcome) == 1
        evolve(state, outcome[0])


@SETTINGS
@given(command=check_commands(CheckIn), received_at=recent_instant, state=states())
def test_deciding_is_pure(
    command: CheckIn, received_at: datetime, state: AttendanceState
) -> None:
    assert decide_check(command, received_at, state) == decide_check(command, received_at, state)


@SETTINGS
@given(facts=st.lists(st.tuples(reference_facts(), any_instant), max_size=12),
       command=check_commands(CheckIn), received_at=recent_instant, seed=st.randoms())
def test_the_decision_does_not_depend_on_the_order_reference_facts_arrive_in(
    facts: list[tuple[Data, datetime]], command: CheckIn, received_at: datetime, seed: object,
) -> None:
    events = [new_event(data, at) for data, at in facts]
    shuffled = list(events)
    seed.shuffle(shuffled)  # type: ignore[attr-defined]
    one = reduce(evolve, events, empty_state())
    other = reduce(evolve, shuffled, empty_state())
    assert decide_check(command, received_at, one) == decide_check(command, received_at, other)
