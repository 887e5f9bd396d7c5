"""The MKD decider and its week: every rule and reason code, and revocation's arithmetic.

    BOSS ─┬─ CLERK   (kelas 7 analyst)
          ├─ PEER
          └─ TELLER  (face-to-face public service)
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hr_facts import fact, holiday, registered
from kinerja_events.commands import DecideMKD, RequestMKD
from kinerja_events.events import (
    EmployeeChanged, EmployeeTerminated, MKDGranted, MKDRevoked, PositionDefined,
)
from kinerja_events.hr import Directory
from kinerja_events.types import WIB
from kinerja_mkd import reasons
from kinerja_mkd.decider import decide
from kinerja_mkd.model import History, RequestState, Week, empty_state, evolve, mondays_of

BOSS = "197001012000011002"
CLERK = "199001012020121003"
PEER = "199201012020121004"
TELLER = "199301012020121005"
STRANGER = "199901012020121999"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=WIB)  # a Monday
MON, TUE, WED, THU, FRI, SAT = (date(2026, 11, 23) + timedelta(days=n) for n in range(6))


def directory(*extra) -> Directory:  # type: ignore[no-untyped-def]
    d = Directory()
    d.add([fact(PositionDefined(position_code="STAFF", name="Analis", kelas_jabatan=7,
                                mobile=False, public_service=False, tasks=[])),
           fact(PositionDefined(position_code="LOKET", name="Petugas loket", kelas_jabatan=6,
                                mobile=False, public_service=True, tasks=[])),
           registered(BOSS, None), registered(CLERK, BOSS), registered(PEER, BOSS),
           registered(TELLER, BOSS, "LOKET"), *extra])
    return d


def request(actor: str = CLERK, days=(TUE, WED), week_start: date = MON,  # type: ignore[no-untyped-def]
            request_id: str = "R-1"):
    return RequestMKD(command_id=uuid.uuid4(), actor_nip=actor, sent_at=NOW,
                      request_id=request_id, week_start=week_start, days=list(days))


def grant(actor: str = BOSS, days=(), request_id: str = "R-1"):  # type: ignore[no-untyped-def]
    return DecideMKD(command_id=uuid.uuid4(), actor_nip=actor, sent_at=NOW,
                     request_id=request_id, grant=True, days=list(days))


def deny(actor: str = BOSS, reason: str = "rapat tatap muka"):  # type: ignore[no-untyped-def]
    return DecideMKD(command_id=uuid.uuid4(), actor_nip=actor, sent_at=NOW, request_id="R-1",
                     grant=False, reason=reason)


def run(commands, d: Directory | None = None, quota: int | None = 3,  # type: ignore[no-untyped-def]
        granted: frozenset = frozenset(), at: datetime = NOW):
    """Decide `commands` in order on one request stream, the week holding `granted` days
    already (plus what the stream grants) under `quota`."""
    d = d or directory()
    state, events = empty_state(), []
    for n, command in enumerate(commands):
        week = Week(quota, granted)
        produced = decide(command, at + timedelta(seconds=n),
                          RequestState(state.request, state.decided, d, week))
        assert len(produced) == 1
        for event in produced:
            state = evolve(state, event)
            if event.type == "MKDGranted":
                granted = granted | frozenset(event.data.days)
        events += produced
    return events


def outcome(event) -> str:  # type: ignore[no-untyped-def]
    return event.data.reason if event.type == "MKDRefused" else event.type


def test_a_request_within_the_quota_is_granted_by_the_direct_superior():
    requested, granted = run([request(), grant()])
    assert (requested.type, requested.data.nip, requested.data.days) == (
        "MKDRequested", CLERK, [TUE, WED])
    assert (granted.type, granted.data.approver_nip, granted.data.days) == (
        "MKDGranted", BOSS, [TUE, WED])


def test_a_superior_may_grant_some_of_the_days_or_deny_with_a_reason():
    assert run([request(), grant(days=[WED])])[1].data.days == [WED]
    assert outcome(run([request(), deny()])[1]) == "MKDDenied"


@pytest.mark.parametrize("command, reason", [
    (request(STRANGER), reasons.UNKNOWN_EMPLOYEE),
    (request(week_start=TUE, days=[WED]), reasons.WEEK_START_NOT_MONDAY),
    (request(days=[TUE, MON + timedelta(days=7)]), reasons.DAY_OUTSIDE_WEEK),
    (request(days=[TUE, TUE]), reasons.DUPLICATE_DAY),
    (request(days=[MON - timedelta(days=7)], week_start=MON - timedelta(days=7)),
     reasons.DAY_IN_PAST),
    (request(days=[SAT]), reasons.NOT_A_WORKING_DAY),
    (request(TELLER), reasons.PUBLIC_SERVICE_POSITION),
    (request(days=[TUE, WED, THU, FRI]), reasons.OVER_QUOTA),
])
def test_a_request_is_refused_with_its_reason(command, reason):  # type: ignore[no-untyped-def]
    [event] = run([command])
    assert (outcome(event), event.data.action, event.data.request_id) == (reason, "request",
                                                                          "R-1")
    assert event.data.retryable == reasons.REASONS[reason].retryable


def test_the_quota_counts_the_days_already_granted_in_the_week():
    assert outcome(run([request(days=[WED])], quota=1, granted=frozenset({TUE}))[0]) \
        == reasons.OVER_QUOTA
    assert outcome(run([request(days=[TUE])], quota=3, granted=frozenset({TUE}))[0]) \
        == reasons.DAY_ALREADY_GRANTED
    assert outcome(run([request()], quota=None)[0]) == reasons.NO_ELIGIBILITY
    assert outcome(run([request()], quota=0)[0]) == reasons.OVER_QUOTA


def test_a_holiday_is_not_a_working_day_and_employment_must_cover_the_days():
    assert outcome(run([request()], d=directory(holiday(WED)))[0]) == reasons.NOT_A_WORKING_DAY
    leaving = directory(fact(EmployeeTerminated(nip=CLERK, effective_date=WED)))
    assert outcome(run([request()], d=leaving)[0]) == reasons.NOT_EMPLOYED
    no_position = Directory()
    no_position.add([registered(BOSS, None), registered(CLERK, BOSS)])
    assert outcome(run([request()], d=no_position)[0]) == reasons.UNKNOWN_POSITION


@pytest.mark.parametrize("commands, reason", [
    ([grant()], reasons.UNKNOWN_REQUEST),
    ([request(), request()], reasons.REQUEST_ID_TAKEN),
    ([request(), grant(CLERK)], reasons.OWN_REQUEST),
    ([request(), grant(PEER)], reasons.NOT_THE_SUPERIOR),
    ([request(), grant(), grant()], reasons.ALREADY_DECIDED),
    ([request(), deny(), grant()], reasons.ALREADY_DECIDED),
    ([request(), grant(days=[THU])], reasons.DAYS_NOT_REQUESTED),
    ([request(), deny(reason="  ")], reasons.REASON_REQUIRED),
])
def test_a_decision_is_refused_with_its_reason(commands, reason):  # type: ignore[no-untyped-def]
    assert outcome(run(commands)[-1]) == reason


def test_a_grant_is_checked_against_the_quota_again_and_not_for_past_days():
    [requested] = run([request(days=[WED])], quota=2)
    state = evolve(empty_state(), requested)

    def decided(week: Week, at: datetime = NOW) -> str:
        [event] = decide(grant(), at, RequestState(state.request, False, directory(), week))
        return outcome(event)

    assert decided(Week(2, frozenset({TUE}))) == "MKDGranted"
    # another request took the week's last day in between, or already took that day
    assert decided(Week(2, frozenset({TUE, THU}))) == reasons.OVER_QUOTA
    assert decided(Week(2, frozenset({WED}))) == reasons.DAY_ALREADY_GRANTED
    assert decided(Week(2), at=datetime(2026, 11, 26, 9, 0, tzinfo=WIB)) == reasons.DAY_IN_PAST


def test_only_the_direct_superior_on_the_decision_date_decides():
    moved = directory(fact(EmployeeChanged(nip=CLERK, effective_date=MON, superior_nip=PEER)))
    assert outcome(run([request(), grant(BOSS)], d=moved)[1]) == reasons.NOT_THE_SUPERIOR
    assert outcome(run([request(), grant(PEER)], d=moved)[1]) == "MKDGranted"


def test_every_reason_code_is_documented_and_used_by_a_test():
    tested = {reasons.UNKNOWN_EMPLOYEE, reasons.REQUEST_ID_TAKEN, reasons.WEEK_START_NOT_MONDAY,
              reasons.DAY_OUTSIDE_WEEK, reasons.DUPLICATE_DAY, reasons.DAY_IN_PAST,
              reasons.NOT_A_WORKING_DAY, reasons.NOT_EMPLOYED, reasons.UNKNOWN_POSITION,
              reasons.PUBLIC_SERVICE_POSITION, reasons.DAY_ALREADY_GRANTED,
              reasons.NO_ELIGIBILITY, reasons.OVER_QUOTA, reasons.UNKNOWN_REQUEST,
              reasons.OWN_REQUEST, reasons.NOT_THE_SUPERIOR, reasons.ALREADY_DECIDED,
              reasons.DAYS_NOT_REQUESTED, reasons.REASON_REQUIRED}
    assert tested == set(reasons.REASONS)


# --- the week and revocation -------------------------------------------------------------------
def granted_history(*grants: tuple[str, list[date]]) -> History:
    history = History()
    for request_id, days in grants:
        [requested] = run([request(days=days, request_id=request_id)], quota=4)
        history.add([requested, fact(MKDGranted(request_id=request_id, nip=CLERK,
                                                approver_nip=BOSS, days=days))])
    return history


def test_a_lower_quota_withdraws_the_latest_days_of_the_week_first():
    history = granted_history(("R-1", [TUE, THU]), ("R-2", [WED]))
    assert history.excess(CLERK, MON, 3) == {}
    assert history.excess(CLERK, MON, 1) == {"R-1": [THU], "R-2": [WED]}
    assert history.excess(CLERK, MON, 0) == {"R-1": [TUE, THU], "R-2": [WED]}
    history.add([fact(MKDRevoked(request_id="R-1", nip=CLERK, days=[THU],
                                 reason="quota_lowered"))])
    assert history.granted_in_week(CLERK, MON) == {TUE, WED}
    assert history.excess(CLERK, MON, 1) == {"R-2": [WED]}


def test_the_weeks_of_a_month_are_those_whose_monday_is_in_it():
    assert mondays_of("2026-11") == [date(2026, 11, n) for n in (2, 9, 16, 23, 30)]
    assert mondays_of("2026-12") == [date(2026, 12, n) for n in (7, 14, 21, 28)]


NIPS = st.sampled_from([BOSS, CLERK, PEER, TELLER, STRANGER])
DAYS = st.lists(st.dates(date(2026, 11, 16), date(2026, 12, 6)), min_size=1, max_size=5)
COMMANDS = st.one_of(
    st.builds(lambda actor, days, monday: request(actor, days, monday), NIPS, DAYS,
              st.sampled_from([MON, MON - timedelta(days=7), MON + timedelta(days=7), TUE])),
    st.builds(lambda actor, days: grant(actor, days), NIPS, st.lists(st.sampled_from(
        [MON, TUE, WED, THU, FRI, SAT]), max_size=3)),
    st.builds(deny, NIPS, st.sampled_from(["", "alasan"])),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(COMMANDS, max_size=8), st.sampled_from([None, 0, 1, 3, 4]))
def test_no_command_sequence_crashes_or_grants_beyond_the_quota(commands, quota):  # type: ignore[no-untyped-def]
    events = run(commands, quota=quota)
    assert len(events) == len(commands)
    granted = [d for e in events if e.type == "MKDGranted" for d in e.data.days]
    assert len(granted) <= (quota or 0) and len(set(granted)) == len(granted)
