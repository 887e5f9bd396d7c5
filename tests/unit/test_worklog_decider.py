"""The worklog decider: every rule and reason code, on a small HR directory."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinerja_events.commands import ApproveActivity, LogActivity, RejectActivity
from kinerja_events.envelope import new_event, seal
from kinerja_events.events import (
    EmployeeChanged,
    EmployeeTerminated,
    PositionDefined,
    SKPApproved,
    SKPDrafted,
    SKPItem,
    Task,
)
from kinerja_events.hr import Directory
from kinerja_events.skp import SKPBook
from kinerja_events.types import WIB
from kinerja_worklog import reasons
from kinerja_worklog.decider import WorklogLimits, decide
from kinerja_worklog.model import empty_state, evolve, with_directory, with_reference
from hr_facts import fact, registered

HEAD = "196001012000011001"     # head of bureau: no superior
BOSS = "197001012000011002"     # head of section, under HEAD
CLERK = "199001012020121003"    # staff, under BOSS
PEER = "199201012020121004"     # staff, under BOSS
NOW = datetime(2026, 10, 7, 10, 0, tzinfo=WIB)   # a Wednesday
TODAY = NOW.date()
SHA = "sha256:" + "ab" * 32


POSITIONS = [
    fact(PositionDefined(position_code="STAFF", name="Analis", kelas_jabatan=7, mobile=False,
                         public_service=False, tasks=[
                             Task(task_code="LAP", name="Menyusun laporan", unit="laporan",
                                  minutes_per_unit=60),
                             Task(task_code="SURAT", name="Mengagendakan surat", unit="surat",
                                  minutes_per_unit=5)])),
    fact(PositionDefined(position_code="KASUBAG", name="Kepala Subbagian", kelas_jabatan=9,
                         mobile=False, public_service=False, tasks=[
                             Task(task_code="RAPAT", name="Memimpin rapat", unit="rapat",
                                  minutes_per_unit=90)])),
]


def directory(*extra) -> Directory:  # type: ignore[no-untyped-def]
    d = Directory()
    d.add([*POSITIONS, registered(HEAD, None, "KASUBAG"), registered(BOSS, HEAD, "KASUBAG"),
           registered(CLERK, BOSS), registered(PEER, BOSS), *extra])
    return d


def log(actor: str = CLERK, **fields):  # type: ignore[no-untyped-def]
    values = {"activity_id": "ACT-1", "work_date": TODAY, "task_code": "LAP", "quantity": 2,
              "description": "Laporan kegiatan", **fields}
    return LogActivity(command_id=uuid.uuid4(), actor_nip=actor, sent_at=NOW, **values)


def approve(actor: str = BOSS, quantity: int = 2, activity_id: str = "ACT-1"):  # type: ignore[no-untyped-def]
    return ApproveActivity(command_id=uuid.uuid4(), actor_nip=actor, sent_at=NOW,
                           activity_id=activity_id, approved_quantity=quantity)


def reject(actor: str = BOSS):  # type: ignore[no-untyped-def]
    return RejectActivity(command_id=uuid.uuid4(), actor_nip=actor, sent_at=NOW,
                          activity_id="ACT-1", reason="bukti tidak ada")


def run(commands, d: Directory | None = None, at: datetime = NOW):  # type: ignore[no-untyped-def]
    """Decide `commands` in order on one activity stream; every event produced."""
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
    return event.data.reason if event.type == "ActivityRefused" else event.type


def test_a_logged_activity_gets_its_minutes_from_the_task_list_not_the_phone():
    [event] = run([log(quantity=3)])
    assert event.type == "ActivityLogged"
    assert (event.data.minutes, event.data.quantity, event.data.nip) == (180, 3, CLERK)
    assert event.data.skp_item_id is None
    assert event.occurred_at == NOW


@pytest.mark.parametrize("command, reason", [
    (log(actor="199901012020121999"), reasons.UNKNOWN_EMPLOYEE),
    (log(work_date=TODAY + timedelta(days=1)), reasons.WORK_DATE_IN_FUTURE),
    (log(work_date=TODAY - timedelta(days=4)), reasons.WORK_DATE_TOO_OLD),
    (log(task_code="RAPAT"), reasons.TASK_NOT_IN_POSITION),
    (log(task_code="LAP", quantity=25), reasons.TOO_MANY_MINUTES),
    (log(evidence_ref="foto.jpg"), reasons.INVALID_EVIDENCE_REF),
    (log(evidence_ref="sha256:" + "AB" * 32), reasons.INVALID_EVIDENCE_REF),
    (log(skp_item_id="SKP-1"), reasons.UNKNOWN_SKP_ITEM),
])
def test_a_log_is_refused_with_its_reason(command, reason):  # type: ignore[no-untyped-def]
    [event] = run([command])
    assert event.type == "ActivityRefused"
    assert (event.data.reason, event.data.action, event.data.nip) == (reason, "log",
                                                                      command.actor_nip)
    assert event.data.retryable == reasons.is_retryable(reason)
    assert event.data.command_id == command.command_id


def skp_book(*facts) -> SKPBook:  # type: ignore[no-untyped-def]
    book = SKPBook()
    book.add([seal(new_event(data, NOW - timedelta(days=30)), source="appraisal",
                   stream_id="skp:S", stream_version=n, recorded_at=NOW)
              for n, data in enumerate(facts, start=1)])
    return book


def skp_item(item_id: str) -> SKPItem:
    return SKPItem(item_id=item_id, indicator="Laporan", target_quantity=12, unit="laporan",
                   monthly_targets=[1] * 12, supports_item_id="B1", unit_goal=None)


def test_an_activity_names_an_item_of_the_employees_approved_skp_of_its_year():
    drafted = [SKPDrafted(skp_id="S", nip=CLERK, year=2026, revision=1,
                          items=[skp_item("C1"), skp_item("C2")]),
               SKPDrafted(skp_id="S", nip=CLERK, year=2026, revision=2,
                          items=[skp_item("C3")])]
    approved = SKPApproved(skp_id="S", nip=CLERK, revision=1, approver_nip=BOSS)

    def logged(item_id: str, book: SKPBook, actor: str = CLERK) -> str:
        state = with_reference(empty_state(), directory(), book)
        [event] = decide(log(actor=actor, skp_item_id=item_id), NOW, state)
        return outcome(event)

    assert logged("C1", skp_book(*drafted)) == reasons.UNKNOWN_SKP_ITEM  # drafted only
    book = skp_book(*drafted, approved)
    assert logged("C1", book) == "ActivityLogged"
    assert logged("C3", book) == reasons.UNKNOWN_SKP_ITEM  # revision 2 is not approved
    assert logged("C1", book, actor=PEER) == reasons.UNKNOWN_SKP_ITEM  # another's SKP
    next_year = skp_book(SKPDrafted(skp_id="S", nip=CLERK, year=2027, revision=1,
                                    items=[skp_item("C1")]),
                         SKPApproved(skp_id="S", nip=CLERK, revision=1, approver_nip=BOSS))
    assert logged("C1", next_year) == reasons.UNKNOWN_SKP_ITEM  # the work date is in 2026
    [event] = decide(log(skp_item_id="C2"), NOW, with_reference(empty_state(), directory(),
                                                                 book))
    assert event.data.skp_item_id == "C2"


def test_three_days_back_is_allowed_and_the_limit_is_a_setting():
    three_back = log(work_date=TODAY - timedelta(days=3))
    assert outcome(run([three_back])[0]) == "ActivityLogged"
    [event] = decide(three_back, NOW, with_directory(empty_state(), directory()),
                     WorklogLimits(max_days_back=2))
    assert outcome(event) == reasons.WORK_DATE_TOO_OLD


def test_evidence_is_a_content_hash_or_nothing():
    assert outcome(run([log(evidence_ref=SHA)])[0]) == "ActivityLogged"


def test_work_outside_employment_is_refused():
    d = directory(registered("199501012020121005", BOSS, start=TODAY),
                  fact(EmployeeTerminated(nip=PEER, effective_date=TODAY)))
    early = log(actor="199501012020121005", work_date=TODAY - timedelta(days=1))
    assert outcome(run([early], d)[0]) == reasons.NOT_YET_EMPLOYED
    assert outcome(run([log(actor=PEER)], d)[0]) == reasons.EMPLOYEE_TERMINATED
    assert outcome(run([log(actor=PEER, work_date=TODAY - timedelta(days=1))], d)[0]) \
        == "ActivityLogged"


def test_an_undefined_position_is_refused_as_retryable():
    d = directory(registered("199501012020121006", BOSS, position="BARU"))
    [event] = run([log(actor="199501012020121006")], d)
    assert (event.data.reason, event.data.retryable) == (reasons.UNKNOWN_POSITION, True)


def test_the_task_list_is_the_position_held_on_the_work_date():
    promoted = fact(EmployeeChanged(nip=CLERK, effective_date=TODAY, position_code="KASUBAG"))
    d = directory(promoted)
    assert outcome(run([log(task_code="RAPAT", quantity=1)], d)[0]) == "ActivityLogged"
    yesterday = log(task_code="RAPAT", quantity=1, work_date=TODAY - timedelta(days=1))
    assert outcome(run([yesterday], d)[0]) == reasons.TASK_NOT_IN_POSITION


def test_a_repeated_activity_id_replaces_the_record_until_it_is_decided():
    events = run([log(quantity=1), log(quantity=4), approve(quantity=4), log(quantity=2)])
    assert [outcome(e) for e in events] == ["ActivityLogged", "ActivityLogged",
                                            "ActivityApproved", reasons.ACTIVITY_ALREADY_DECIDED]
    assert events[2].data.approved_minutes == 240


def test_an_activity_id_of_another_employee_is_refused():
    events = run([log(actor=CLERK), log(actor=PEER)])
    assert outcome(events[1]) == reasons.ACTIVITY_OF_OTHER_EMPLOYEE


def test_the_direct_superior_approves_and_the_minutes_follow_the_logged_record():
    events = run([log(quantity=3), approve(quantity=2)])
    approved = events[1]
    assert approved.type == "ActivityApproved"
    assert (approved.data.nip, approved.data.approver_nip, approved.data.approved_minutes) \
        == (CLERK, BOSS, 120)


@pytest.mark.parametrize("decision, reason", [
    (approve(actor=CLERK), reasons.OWN_ACTIVITY),
    (approve(actor=PEER), reasons.NOT_THE_APPROVER),
    (approve(actor=HEAD), reasons.NOT_THE_APPROVER),
    (approve(quantity=3), reasons.QUANTITY_ABOVE_LOGGED),
    (reject(actor=PEER), reasons.NOT_THE_APPROVER),
])
def test_a_decision_is_refused_with_its_reason(decision, reason):  # type: ignore[no-untyped-def]
    events = run([log(quantity=2), decision])
    assert outcome(events[1]) == reason
    assert events[1].data.action == ("approve" if decision.type == "ApproveActivity"
                                     else "reject")


def test_a_decision_on_an_unknown_activity_is_refused_as_retryable():
    [event] = run([approve()])
    assert (event.data.reason, event.data.retryable) == (reasons.UNKNOWN_ACTIVITY, True)


def test_a_decision_can_be_changed_each_time_a_new_event():
    events = run([log(), approve(), reject(), approve(quantity=1)])
    assert [e.type for e in events] == ["ActivityLogged", "ActivityApproved",
                                        "ActivityRejected", "ActivityApproved"]
    assert events[3].data.approved_minutes == 60


def test_a_superior_change_moves_approval_rights_from_its_date():
    changed = fact(EmployeeChanged(nip=CLERK, effective_date=TODAY, superior_nip=HEAD))
    d = directory(changed)
    before = [log(activity_id="A-old", work_date=TODAY - timedelta(days=1))]
    assert outcome(run([*before, approve(activity_id="A-old")], d)[1]) == "ActivityApproved"
    assert outcome(run([*before, approve(actor=HEAD, activity_id="A-old")], d)[1]) \
        == reasons.NOT_THE_APPROVER
    assert outcome(run([log(), approve(actor=HEAD)], d)[1]) == "ActivityApproved"
    assert outcome(run([log(), approve()], d)[1]) == reasons.NOT_THE_APPROVER


def test_a_vacant_post_passes_approval_to_the_next_superior_up():
    d = directory(fact(EmployeeTerminated(nip=BOSS, effective_date=TODAY)))
    assert outcome(run([log(), approve()], d)[1]) == reasons.NOT_THE_APPROVER
    assert outcome(run([log(), approve(actor=HEAD)], d)[1]) == "ActivityApproved"


def test_the_top_of_the_organisation_has_no_approver():
    events = run([log(actor=HEAD, task_code="RAPAT", quantity=1), approve(actor=BOSS)])
    assert outcome(events[1]) == reasons.NO_APPROVER


def test_every_reason_code_is_documented_and_used_by_a_test():
    tested = {reasons.UNKNOWN_EMPLOYEE, reasons.WORK_DATE_IN_FUTURE, reasons.WORK_DATE_TOO_OLD,
              reasons.NOT_YET_EMPLOYED, reasons.EMPLOYEE_TERMINATED, reasons.UNKNOWN_POSITION,
              reasons.TASK_NOT_IN_POSITION, reasons.TOO_MANY_MINUTES,
              reasons.INVALID_EVIDENCE_REF, reasons.UNKNOWN_SKP_ITEM,
              reasons.ACTIVITY_OF_OTHER_EMPLOYEE, reasons.ACTIVITY_ALREADY_DECIDED,
              reasons.UNKNOWN_ACTIVITY, reasons.OWN_ACTIVITY, reasons.NO_APPROVER,
              reasons.NOT_THE_APPROVER, reasons.QUANTITY_ABOVE_LOGGED}
    assert tested == set(reasons.REASONS)


NIPS = st.sampled_from([HEAD, BOSS, CLERK, PEER, "199901012020121999"])
COMMANDS = st.one_of(
    st.builds(lambda actor, q, task, back, ref: log(actor=actor, quantity=q, task_code=task,
                                                    work_date=TODAY - timedelta(days=back),
                                                    evidence_ref=ref),
              NIPS, st.integers(1, 1000), st.sampled_from(["LAP", "SURAT", "RAPAT", "X"]),
              st.integers(-3, 10), st.sampled_from([None, SHA, "x"])),
    st.builds(lambda actor, q: approve(actor=actor, quantity=q), NIPS, st.integers(0, 1000)),
    st.builds(reject, NIPS),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(COMMANDS, max_size=8))
def test_no_command_sequence_crashes_and_minutes_are_quantity_times_the_rate(commands):  # type: ignore[no-untyped-def]
    rates = {"LAP": 60, "SURAT": 5, "RAPAT": 90}
    logged = None
    for event in run(commands):
        if event.type == "ActivityLogged":
            assert event.data.minutes == event.data.quantity * rates[event.data.task_code]
            logged = event.data
        elif event.type == "ActivityApproved":
            assert logged is not None
            assert event.data.approved_minutes % rates[logged.task_code] == 0
            assert event.data.approved_minutes <= logged.minutes
