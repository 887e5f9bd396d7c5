"""The appraisal decider: every rule and reason code of ratings and IKP, on a small hierarchy.

    HEAD ─┬─ BOSS ──────┬─ CLERK
          │             └─ PEER
          └─ OTHER_BOSS ─── FAR
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hr_facts import fact, holiday, registered
from kinerja_appraisal import reasons
from kinerja_appraisal.decider import AppraisalLimits, decide, rating_window
from kinerja_appraisal.model import empty_state, evolve, is_on_time, with_directory
from kinerja_events.commands import AssignIKP, CompleteIKP, GiveRating
from kinerja_events.events import BerAKHLAKScores, EmployeeChanged, EmployeeTerminated
from kinerja_events.hr import Directory
from kinerja_events.types import WIB

HEAD = "196001012000011001"
BOSS = "197001012000011002"
OTHER_BOSS = "197101012000011005"
CLERK = "199001012020121003"
PEER = "199201012020121004"
FAR = "199301012020121006"
STRANGER = "199901012020121999"  # never registered
NOW = datetime(2026, 10, 21, 10, 0, tzinfo=WIB)  # a Wednesday, in October's rating window
SCORES = BerAKHLAKScores(berorientasi_pelayanan=4, akuntabel=5, kompeten=4, harmonis=3, loyal=5,
                         adaptif=4, kolaboratif=3)


def directory(*extra) -> Directory:  # type: ignore[no-untyped-def]
    d = Directory()
    d.add([registered(HEAD, None), registered(BOSS, HEAD), registered(OTHER_BOSS, HEAD),
           registered(CLERK, BOSS), registered(PEER, BOSS), registered(FAR, OTHER_BOSS), *extra])
    return d


def rate(rater: str, ratee: str, relation: str, period: str = "2026-10"):  # type: ignore[no-untyped-def]
    return GiveRating(command_id=uuid.uuid4(), actor_nip=rater, sent_at=NOW, ratee_nip=ratee,
                      period=period, relation=relation, scores=SCORES)


def assign(leader: str = BOSS, assignee: str = CLERK, ikp_id: str = "IKP-1", **fields):  # type: ignore[no-untyped-def]
    values = {"period": "2026-10", "title": "Rekap data pegawai", "due_date": date(2026, 10, 30),
              **fields}
    return AssignIKP(command_id=uuid.uuid4(), actor_nip=leader, sent_at=NOW, ikp_id=ikp_id,
                     assignee_nip=assignee, **values)


def complete(leader: str = BOSS, at: datetime = NOW + timedelta(minutes=1),
             ikp_id: str = "IKP-1"):  # type: ignore[no-untyped-def]
    return CompleteIKP(command_id=uuid.uuid4(), actor_nip=leader, sent_at=at, ikp_id=ikp_id,
                       completed_at=at)


def run(commands, d: Directory | None = None, at: datetime = NOW):  # type: ignore[no-untyped-def]
    """Decide `commands` in order on one stream, received a second apart from `at`; every
    event produced."""
    d = d or directory()
    state, events = empty_state(), []
    for n, command in enumerate(commands):
        produced = decide(command, at + timedelta(seconds=n), with_directory(state, d))
        assert len(produced) == 1
        for event in produced:
            state = evolve(state, event)
        events += produced
    return events


def outcome(event) -> str:  # type: ignore[no-untyped-def]
    return event.data.reason if event.type == "AppraisalRefused" else event.type


# --- ratings ----------------------------------------------------------------------------------
@pytest.mark.parametrize("rater, ratee, relation", [
    (BOSS, CLERK, "superior"), (CLERK, BOSS, "subordinate"), (PEER, CLERK, "peer"),
    (OTHER_BOSS, BOSS, "peer"), (HEAD, BOSS, "superior")])
def test_a_rating_is_accepted_with_the_relation_the_hierarchy_gives(rater, ratee, relation):  # type: ignore[no-untyped-def]
    [event] = run([rate(rater, ratee, relation)])
    assert event.type == "RatingGiven"
    assert (event.data.rater_nip, event.data.ratee_nip, event.data.relation) == (rater, ratee,
                                                                                 relation)
    assert event.data.scores == SCORES and event.occurred_at == NOW


@pytest.mark.parametrize("command, reason", [
    (rate(STRANGER, CLERK, "peer"), reasons.UNKNOWN_EMPLOYEE),
    (rate(BOSS, STRANGER, "superior"), reasons.UNKNOWN_RATEE),
    (rate(CLERK, CLERK, "peer"), reasons.SELF_RATING),
    (rate(HEAD, CLERK, "superior"), reasons.NOT_RELATED),  # two levels up is not a relation
    (rate(FAR, CLERK, "peer"), reasons.NOT_RELATED),  # cousins are not peers
    (rate(BOSS, CLERK, "peer"), reasons.RELATION_MISMATCH),
    (rate(CLERK, BOSS, "superior"), reasons.RELATION_MISMATCH),
])
def test_a_rating_is_refused_with_its_reason(command, reason):  # type: ignore[no-untyped-def]
    [event] = run([command])
    assert event.type == "AppraisalRefused"
    assert (event.data.reason, event.data.action, event.data.subject) == (
        reason, "rate", command.ratee_nip)
    assert event.data.nip == command.actor_nip and event.data.command_id == command.command_id
    assert event.data.retryable == reasons.REASONS[reason].retryable


def test_the_window_runs_from_the_20th_to_the_third_working_day_of_the_next_month():
    opened = datetime(2026, 10, 20, 0, 0, 1, tzinfo=WIB)
    last = datetime(2026, 11, 4, 23, 59, tzinfo=WIB)  # Mon 2, Tue 3, Wed 4 November
    assert outcome(run([rate(BOSS, CLERK, "superior")], at=opened - timedelta(seconds=2))[0]) \
        == reasons.RATING_WINDOW_NOT_OPEN
    assert outcome(run([rate(BOSS, CLERK, "superior")], at=opened)[0]) == "RatingGiven"
    assert outcome(run([rate(BOSS, CLERK, "superior")], at=last)[0]) == "RatingGiven"
    assert outcome(run([rate(BOSS, CLERK, "superior")], at=last + timedelta(minutes=2))[0]) \
        == reasons.RATING_WINDOW_CLOSED


def test_a_holiday_moves_the_window_close_by_a_working_day():
    thursday = datetime(2026, 11, 5, 9, 0, tzinfo=WIB)
    with_holiday = directory(holiday(date(2026, 11, 3)))
    assert outcome(run([rate(BOSS, CLERK, "superior")], at=thursday)[0]) \
        == reasons.RATING_WINDOW_CLOSED
    assert outcome(run([rate(BOSS, CLERK, "superior")], d=with_holiday, at=thursday)[0]) \
        == "RatingGiven"
    assert rating_window("2026-10", with_holiday, AppraisalLimits()) == (date(2026, 10, 20),
                                                                         date(2026, 11, 5))


def test_the_window_is_configurable():
    limits = AppraisalLimits(opens_day=25, closes_working_day=1)
    assert rating_window("2026-12", Directory(), limits) == (date(2026, 12, 25), date(2027, 1, 1))
    assert rating_window("2026-12", directory(holiday(date(2027, 1, 1))), limits) == (
        date(2026, 12, 25), date(2027, 1, 4))


def test_a_rater_who_has_left_cannot_rate_and_a_ratee_must_have_worked_in_the_period():
    left = directory(fact(EmployeeTerminated(nip=PEER, effective_date=date(2026, 10, 21))))
    assert outcome(run([rate(PEER, CLERK, "peer")], d=left)[0]) == reasons.RATER_NOT_EMPLOYED
    newcomer = "199501012026111007"
    joined = directory(registered(newcomer, BOSS, start=date(2026, 11, 1)))
    on_november_2 = datetime(2026, 11, 2, 9, 0, tzinfo=WIB)
    assert outcome(run([rate(BOSS, newcomer, "superior")], d=joined, at=on_november_2)[0]) \
        == reasons.RATEE_NOT_EMPLOYED
    assert outcome(run([rate(BOSS, CLERK, "superior")], d=joined, at=on_november_2)[0]) \
        == "RatingGiven"


def test_a_superior_change_mid_month_changes_who_rates_whom_from_that_date():
    moved = directory(fact(EmployeeChanged(nip=CLERK, effective_date=date(2026, 10, 15),
                                           superior_nip=OTHER_BOSS)))
    assert outcome(run([rate(OTHER_BOSS, CLERK, "superior")], d=moved)[0]) == "RatingGiven"
    assert outcome(run([rate(FAR, CLERK, "peer")], d=moved)[0]) == "RatingGiven"
    assert outcome(run([rate(BOSS, CLERK, "superior")], d=moved)[0]) == reasons.NOT_RELATED
    assert outcome(run([rate(PEER, CLERK, "peer")], d=moved)[0]) == reasons.NOT_RELATED
    later = directory(fact(EmployeeChanged(nip=CLERK, effective_date=date(2026, 10, 25),
                                           superior_nip=OTHER_BOSS)))
    assert outcome(run([rate(BOSS, CLERK, "superior")], d=later)[0]) == "RatingGiven"
    assert outcome(run([rate(BOSS, CLERK, "superior")], d=later,
                       at=datetime(2026, 10, 26, 9, 0, tzinfo=WIB))[0]) == reasons.NOT_RELATED


def test_a_re_rating_is_a_new_fact_that_supersedes_the_first():
    first, second = run([rate(BOSS, CLERK, "superior"), rate(BOSS, CLERK, "superior")])
    assert (first.type, second.type) == ("RatingGiven", "RatingGiven")
    assert first.event_id != second.event_id and second.occurred_at > first.occurred_at


# --- IKP --------------------------------------------------------------------------------------
def test_a_direct_superior_or_a_leader_higher_up_assigns_an_ikp():
    [by_boss] = run([assign(BOSS)])
    [by_head] = run([assign(HEAD)])
    assert by_boss.type == by_head.type == "IKPAssigned"
    assert (by_head.data.assigner_nip, by_head.data.assignee_nip, by_head.data.due_date) == (
        HEAD, CLERK, date(2026, 10, 30))


@pytest.mark.parametrize("command, reason", [
    (assign(STRANGER), reasons.UNKNOWN_EMPLOYEE),
    (assign(assignee=STRANGER), reasons.UNKNOWN_ASSIGNEE),
    (assign(BOSS, BOSS), reasons.SELF_ASSIGNMENT),
    (assign(PEER), reasons.NOT_ABOVE_ASSIGNEE),
    (assign(OTHER_BOSS), reasons.NOT_ABOVE_ASSIGNEE),
    (assign(CLERK, BOSS), reasons.NOT_ABOVE_ASSIGNEE),
    (assign(title="   "), reasons.EMPTY_TITLE),
    (assign(due_date=date(2026, 11, 2)), reasons.DUE_DATE_OUTSIDE_PERIOD),
    (assign(period="2026-11"), reasons.DUE_DATE_OUTSIDE_PERIOD),
    (assign(due_date=date(2026, 10, 20)), reasons.DUE_DATE_IN_PAST),
])
def test_an_assignment_is_refused_with_its_reason(command, reason):  # type: ignore[no-untyped-def]
    [event] = run([command])
    assert (outcome(event), event.data.action, event.data.subject) == (reason, "assign_ikp",
                                                                       "IKP-1")


def test_a_due_date_today_is_not_in_the_past():
    assert outcome(run([assign(due_date=NOW.date())])[0]) == "IKPAssigned"


def test_leader_and_assignee_must_be_employed_on_the_assignment_date():
    boss_left = directory(fact(EmployeeTerminated(nip=BOSS, effective_date=date(2026, 10, 1))))
    clerk_left = directory(fact(EmployeeTerminated(nip=CLERK, effective_date=date(2026, 10, 21))))
    assert outcome(run([assign()], d=boss_left)[0]) == reasons.ASSIGNER_NOT_EMPLOYED
    assert outcome(run([assign()], d=clerk_left)[0]) == reasons.ASSIGNEE_NOT_EMPLOYED


def test_the_assigning_leader_may_amend_an_ikp_until_it_is_completed_and_nobody_else_may():
    events = run([assign(due_date=date(2026, 10, 30)), assign(due_date=date(2026, 10, 28)),
                  assign(HEAD), complete(), assign(due_date=date(2026, 10, 29))])
    assert [outcome(e) for e in events] == [
        "IKPAssigned", "IKPAssigned", reasons.IKP_OF_OTHER_LEADER, "IKPCompleted",
        reasons.ALREADY_COMPLETED]


def test_only_the_assigning_leader_completes_an_ikp_and_only_once():
    events = run([complete(), assign(), complete(leader=CLERK), complete(leader=HEAD),
                  complete(), complete()])
    assert [outcome(e) for e in events] == [
        reasons.UNKNOWN_IKP, "IKPAssigned", reasons.NOT_THE_ASSIGNER, reasons.NOT_THE_ASSIGNER,
        "IKPCompleted", reasons.ALREADY_COMPLETED]
    done = events[4].data
    assert (done.assignee_nip, done.verified_by_nip) == (CLERK, BOSS)
    assert events[0].data.retryable is True and events[5].data.retryable is False


def test_completed_at_is_judged_against_the_record_timestamp():
    received = NOW + timedelta(hours=2)

    def completion(at: datetime) -> str:
        state = with_directory(empty_state(), directory())
        for event in decide(assign(), NOW, state):
            state = evolve(state, event)
        [event] = decide(CompleteIKP(command_id=uuid.uuid4(), actor_nip=BOSS, sent_at=received,
                                     ikp_id="IKP-1", completed_at=at), received, state)
        return outcome(event)

    assert completion(received + timedelta(minutes=5)) == "IKPCompleted"
    assert completion(received + timedelta(minutes=5, seconds=1)) == reasons.COMPLETED_IN_FUTURE
    assert completion(NOW + timedelta(minutes=1)) == "IKPCompleted"
    assert completion(NOW - timedelta(minutes=1)) == reasons.COMPLETED_BEFORE_ASSIGNED
    late = NOW + timedelta(days=2)
    state = with_directory(empty_state(), directory())
    for event in decide(assign(), NOW, state):
        state = evolve(state, event)
    [event] = decide(CompleteIKP(command_id=uuid.uuid4(), actor_nip=BOSS, sent_at=late,
                                 ikp_id="IKP-1", completed_at=NOW + timedelta(hours=1)),
                     late, state)
    assert outcome(event) == reasons.COMPLETED_TOO_OLD


def test_on_time_means_by_the_end_of_the_due_date_in_wib():
    due = date(2026, 10, 30)
    assert is_on_time(datetime(2026, 10, 30, 23, 59, 59, 999999, tzinfo=WIB), due)
    assert not is_on_time(datetime(2026, 10, 31, 0, 0, tzinfo=WIB), due)
    assert not is_on_time(datetime(2026, 10, 30, 17, 0, 0, tzinfo=WIB) + timedelta(hours=7), due)


def test_every_reason_code_is_documented_and_used_by_a_test():
    tested = {
        reasons.UNKNOWN_EMPLOYEE, reasons.UNKNOWN_RATEE, reasons.SELF_RATING,
        reasons.RATING_WINDOW_NOT_OPEN, reasons.RATING_WINDOW_CLOSED, reasons.RATER_NOT_EMPLOYED,
        reasons.RATEE_NOT_EMPLOYED, reasons.NOT_RELATED, reasons.RELATION_MISMATCH,
        reasons.UNKNOWN_ASSIGNEE, reasons.SELF_ASSIGNMENT, reasons.ASSIGNER_NOT_EMPLOYED,
        reasons.ASSIGNEE_NOT_EMPLOYED, reasons.NOT_ABOVE_ASSIGNEE, reasons.EMPTY_TITLE,
        reasons.DUE_DATE_OUTSIDE_PERIOD, reasons.DUE_DATE_IN_PAST, reasons.IKP_OF_OTHER_LEADER,
        reasons.UNKNOWN_IKP, reasons.NOT_THE_ASSIGNER, reasons.ALREADY_COMPLETED,
        reasons.COMPLETED_IN_FUTURE, reasons.COMPLETED_TOO_OLD,
        reasons.COMPLETED_BEFORE_ASSIGNED}
    first_skp = list(reasons.REASONS).index(reasons.SKP_OF_OTHER_EMPLOYEE)
    assert tested == set(list(reasons.REASONS)[:first_skp])  # the rest: test_skp_decider.py


# --- no command crashes the decider ---------------------------------------------------------------
NIPS = st.sampled_from([HEAD, BOSS, OTHER_BOSS, CLERK, PEER, FAR, STRANGER])
PERIODS = st.sampled_from(["2026-09", "2026-10", "2026-11", "2099-12", "2000-01"])
MOMENTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 30),
                       timezones=st.just(WIB))
COMMANDS = st.one_of(
    st.builds(rate, NIPS, NIPS, st.sampled_from(["superior", "peer", "subordinate"]), PERIODS),
    st.builds(lambda leader, assignee, period, due, title: assign(
        leader, assignee, period=period, due_date=due, title=title), NIPS, NIPS, PERIODS,
        st.dates(date(2000, 1, 1), date(2099, 12, 31)), st.sampled_from(["Rekap", " ", "x"])),
    st.builds(lambda leader, at: complete(leader, at), NIPS, MOMENTS),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(COMMANDS, max_size=8), MOMENTS, st.booleans())
def test_no_command_sequence_crashes_and_an_ikp_is_completed_at_most_once(commands, at, holidays):  # type: ignore[no-untyped-def]
    d = directory(*(holiday(date(2026, 11, n)) for n in range(2, 30))) if holidays else None
    events = run(commands, d=d, at=at)
    assert len(events) == len(commands)
    assert sum(e.type == "IKPCompleted" for e in events) <= 1
    for event in events:
        if event.type == "RatingGiven":
            assert event.data.rater_nip != event.data.ratee_nip
