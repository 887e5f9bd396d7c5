"""The SKP and evaluation rules of the appraisal decider, as tables: drafting, revision, approval
and return, cascading links, monthly sums, realisation, the proposal and its override.

    HEAD ─── BOSS ─┬─ CLERK
                   └─ PEER
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest

from hr_facts import fact, registered
from kinerja_appraisal import reasons
from kinerja_appraisal.decider import decide
from kinerja_appraisal.evaluation import monthly_scores, realisation
from kinerja_appraisal.model import SKPContext, empty_state, evolve, with_context
from kinerja_events.commands import ApproveSKP, DraftSKP, Evaluate, ReturnSKP
from kinerja_events.envelope import new_event, seal
from kinerja_events.events import (
    ActivityApproved, ActivityLogged, ActivityRejected, BerAKHLAKScores, EmployeeChanged,
    EmployeeTerminated, RatingGiven, SKPApproved, SKPDrafted, SKPItem, SKPReturned,
)
from kinerja_events.hr import Directory
from kinerja_events.skp import SKPBook, SKPRecord
from kinerja_events.types import WIB

HEAD = "196001012000011001"
BOSS = "197001012000011002"
CLERK = "199001012020121003"
PEER = "199201012020121004"
STRANGER = "199901012020121999"
DRAFTED_AT = datetime(2026, 1, 12, 9, 0, tzinfo=WIB)
AFTER_Q1 = datetime(2026, 4, 6, 9, 0, tzinfo=WIB)
MONTHLY = [1] * 12


def directory(*extra) -> Directory:  # type: ignore[no-untyped-def]
    d = Directory()
    d.add([registered(HEAD, None), registered(BOSS, HEAD), registered(CLERK, BOSS),
           registered(PEER, BOSS), *extra])
    return d


def item(item_id: str, supports: str | None = None, goal: str | None = None,
         monthly: list[int] = MONTHLY, total: int | None = None, indicator: str = "Laporan",
         unit: str = "dokumen") -> SKPItem:
    return SKPItem(item_id=item_id, indicator=indicator, unit=unit, monthly_targets=monthly,
                   target_quantity=sum(monthly) if total is None else total,
                   supports_item_id=supports, unit_goal=goal)


def draft(actor: str, items: list[SKPItem], skp_id: str = "SKP-C", year: int = 2026
          ) -> DraftSKP:
    return DraftSKP(command_id=uuid.uuid4(), actor_nip=actor, sent_at=DRAFTED_AT, skp_id=skp_id,
                    year=year, items=items)


def approve(actor: str, revision: int = 1, skp_id: str = "SKP-C") -> ApproveSKP:
    return ApproveSKP(command_id=uuid.uuid4(), actor_nip=actor, sent_at=DRAFTED_AT,
                      skp_id=skp_id, revision=revision)


def give_back(actor: str, revision: int = 1, notes: str = "Target terlalu rendah",
              skp_id: str = "SKP-C") -> ReturnSKP:
    return ReturnSKP(command_id=uuid.uuid4(), actor_nip=actor, sent_at=DRAFTED_AT,
                     skp_id=skp_id, revision=revision, notes=notes)


def evaluate(actor: str = BOSS, nip: str = CLERK, quarter: int | None = 1,
             result: str = "meets", behaviour: str = "meets", reason: str | None = None
             ) -> Evaluate:
    return Evaluate(command_id=uuid.uuid4(), actor_nip=actor, sent_at=AFTER_Q1, nip=nip,
                    year=2026, quarter=quarter, result_rating=result,  # type: ignore[arg-type]
                    behaviour_rating=behaviour, override_reason=reason)  # type: ignore[arg-type]


def envelope(data, at: datetime = DRAFTED_AT):  # type: ignore[no-untyped-def]
    return seal(new_event(data, at), source="appraisal", stream_id="s", stream_version=1,
                recorded_at=at)


def approved_skp(nip: str, items: list[SKPItem], skp_id: str = "SKP-B") -> SKPRecord:
    book = SKPBook()
    book.add([envelope(SKPDrafted(skp_id=skp_id, nip=nip, year=2026, revision=1, items=items)),
              envelope(SKPApproved(skp_id=skp_id, nip=nip, revision=1, approver_nip=HEAD))])
    record = book.of(nip, 2026)
    assert record is not None
    return record


BOSS_SKP = approved_skp(BOSS, [item("B1", goal=None, supports="H1"), item("B2", supports="H1")])
CONTEXT = SKPContext(superior_skps={BOSS: BOSS_SKP})


def run(commands, context: SKPContext = CONTEXT, d: Directory | None = None,
        at: datetime = DRAFTED_AT):  # type: ignore[no-untyped-def]
    """Decide `commands` in order on one stream, a second apart from `at`; every event."""
    d = d or directory()
    state, events = empty_state(), []
    for n, command in enumerate(commands):
        produced = decide(command, at + timedelta(seconds=n), with_context(state, d, context))
        assert len(produced) == 1
        for event in produced:
            state = evolve(state, event)
        events += produced
    return events


def outcome(event) -> str:  # type: ignore[no-untyped-def]
    return event.data.reason if event.type == "AppraisalRefused" else event.type


# --- drafting, revisions, decisions -------------------------------------------------------------
def test_a_draft_cascading_from_the_superiors_items_is_approved_by_the_superior():
    events = run([draft(CLERK, [item("C1", supports="B1"), item("C2", supports="B2")]),
                  approve(BOSS)])
    assert [e.type for e in events] == ["SKPDrafted", "SKPApproved"]
    drafted, approved = events[0].data, events[1].data
    assert (drafted.nip, drafted.year, drafted.revision) == (CLERK, 2026, 1)
    assert [i.supports_item_id for i in drafted.items] == ["B1", "B2"]
    assert (approved.nip, approved.revision, approved.approver_nip) == (CLERK, 1, BOSS)


def test_each_draft_is_a_new_revision_and_only_the_latest_may_be_decided():
    events = run([draft(CLERK, [item("C1", supports="B1")]),
                  give_back(BOSS), draft(CLERK, [item("C1", supports="B1", monthly=[2] * 12)]),
                  approve(BOSS, revision=1), approve(BOSS, revision=2), approve(BOSS, revision=2),
                  draft(CLERK, [item("C1", supports="B2")]), give_back(BOSS, revision=3)])
    assert [outcome(e) for e in events] == [
        "SKPDrafted", "SKPReturned", "SKPDrafted", reasons.STALE_REVISION, "SKPApproved",
        reasons.REVISION_ALREADY_DECIDED, "SKPDrafted", "SKPReturned"]
    assert [e.data.revision for e in events if e.type == "SKPDrafted"] == [1, 2, 3]
    assert events[1].data.notes == "Target terlalu rendah"


def test_an_approved_skp_stays_in_force_until_a_later_revision_is_approved():
    state = empty_state()
    for event in run([draft(CLERK, [item("C1", supports="B1")]), approve(BOSS),
                      draft(CLERK, [item("C9", supports="B2")]), give_back(BOSS, revision=2)]):
        state = evolve(state, event)
    assert state.skp is not None
    assert state.skp.approved_revision == 1
    assert [i.item_id for i in state.skp.approved_items()] == ["C1"]
    state = evolve(state, envelope(SKPDrafted(skp_id="SKP-C", nip=CLERK, year=2026, revision=3,
                                              items=[item("C9", supports="B2")])))
    state = evolve(state, envelope(SKPApproved(skp_id="SKP-C", nip=CLERK, revision=3,
                                               approver_nip=BOSS)))
    assert [i.item_id for i in state.skp.approved_items()] == ["C9"]


def test_the_fold_of_skp_facts_does_not_depend_on_their_order():
    facts = [envelope(SKPDrafted(skp_id="S", nip=CLERK, year=2026, revision=1,
                                 items=[item("C1", supports="B1")])),
             envelope(SKPApproved(skp_id="S", nip=CLERK, revision=1, approver_nip=BOSS)),
             envelope(SKPDrafted(skp_id="S", nip=CLERK, year=2026, revision=2,
                                 items=[item("C2", supports="B1")])),
             envelope(SKPReturned(skp_id="S", nip=CLERK, revision=2, approver_nip=BOSS,
                                  notes="x"))]
    for order in (facts, facts[::-1], [facts[1], facts[3], facts[0], facts[2]]):
        book = SKPBook()
        book.add(order)
        record = book.of(CLERK, 2026)
        assert record is not None and record.year == 2026
        assert [i.item_id for i in record.approved_items()] == ["C1"]
        assert record.status(2) == "returned"


@pytest.mark.parametrize(("commands", "context", "reason"), [
    ([draft(STRANGER, [item("C1", supports="B1")])], CONTEXT, reasons.UNKNOWN_EMPLOYEE),
    ([draft(CLERK, [item("C1", supports="B1")]), draft(PEER, [item("P1", supports="B1")])],
     CONTEXT, reasons.SKP_OF_OTHER_EMPLOYEE),
    ([draft(CLERK, [item("C1", supports="B1")]),
      draft(CLERK, [item("C1", supports="B1")], year=2027)], CONTEXT, reasons.SKP_YEAR_MISMATCH),
    ([draft(CLERK, [item("C1", supports="B1")], year=2019)], CONTEXT,
     reasons.NOT_EMPLOYED_IN_YEAR),
    ([draft(CLERK, [item("C1", supports="B1")])],
     SKPContext(year_owner="SKP-OLD", superior_skps={BOSS: BOSS_SKP}),
     reasons.SKP_EXISTS_FOR_YEAR),
    ([draft(CLERK, [])], CONTEXT, reasons.NO_ITEMS),
    ([draft(CLERK, [item("C1", supports="B1"), item("C1", supports="B2")])], CONTEXT,
     reasons.DUPLICATE_ITEM_ID),
    ([draft(CLERK, [item("C1", supports="B1", indicator="  ")])], CONTEXT,
     reasons.EMPTY_INDICATOR),
    ([draft(CLERK, [item("C1", supports="B1", unit="")])], CONTEXT, reasons.EMPTY_UNIT),
    ([draft(CLERK, [item("C1", supports="B1", total=13)])], CONTEXT,
     reasons.MONTHLY_TARGETS_DO_NOT_SUM),
    ([draft(CLERK, [item("C1", supports="B1", monthly=[0] * 11 + [5], total=4)])], CONTEXT,
     reasons.MONTHLY_TARGETS_DO_NOT_SUM),
    ([draft(HEAD, [item("H1", supports="B1", goal="Pelayanan prima")])], CONTEXT,
     reasons.NO_SUPERIOR_TO_SUPPORT),
    ([draft(HEAD, [item("H1", goal=" ")])], CONTEXT, reasons.UNIT_GOAL_MISSING),
    ([draft(CLERK, [item("C1", supports="B1"), item("C2", goal="Pelayanan prima")])], CONTEXT,
     reasons.SUPPORTS_ITEM_MISSING),
    ([draft(CLERK, [item("C1", supports="B1")])], SKPContext(), reasons.SUPERIOR_SKP_NOT_APPROVED),
    ([draft(CLERK, [item("C1", supports="B1")])],
     SKPContext(superior_skps={HEAD: approved_skp(HEAD, [item("B1", goal="g")])}),
     reasons.SUPERIOR_SKP_NOT_APPROVED),  # the other SKP is not the direct superior's
    ([draft(CLERK, [item("C1", supports="B1"), item("C2", supports="H1")])], CONTEXT,
     reasons.SUPPORTS_UNKNOWN_ITEM),
    ([approve(BOSS)], CONTEXT, reasons.UNKNOWN_SKP),
    ([draft(CLERK, [item("C1", supports="B1")]), approve(CLERK)], CONTEXT, reasons.OWN_SKP),
    ([draft(CLERK, [item("C1", supports="B1")]), approve(PEER)], CONTEXT,
     reasons.NOT_THE_APPROVER),
    ([draft(CLERK, [item("C1", supports="B1")]), approve(HEAD)], CONTEXT,
     reasons.NOT_THE_APPROVER),
    ([draft(CLERK, [item("C1", supports="B1")]), approve(BOSS, revision=2)], CONTEXT,
     reasons.STALE_REVISION),
    ([draft(CLERK, [item("C1", supports="B1")]), give_back(BOSS, notes=" \n")], CONTEXT,
     reasons.EMPTY_NOTES),
])
def test_an_skp_command_is_refused_with_its_reason(commands, context, reason):  # type: ignore[no-untyped-def]
    events = run(commands, context)
    assert outcome(events[-1]) == reason
    refusal = events[-1].data
    assert refusal.subject == commands[-1].skp_id
    assert refusal.retryable == reasons.is_retryable(reason)


def test_an_approval_checks_the_links_against_the_superiors_skp_as_approved_then():
    revised_boss = approved_skp(BOSS, [item("B7", supports="H1")])
    state = empty_state()
    d = directory()
    accepted = decide(draft(CLERK, [item("C1", supports="B1")]), DRAFTED_AT,
                      with_context(state, d, CONTEXT))
    state = evolve(state, accepted[0])
    refused = decide(approve(BOSS), DRAFTED_AT, with_context(
        state, d, SKPContext(superior_skps={BOSS: revised_boss})))
    assert outcome(refused[0]) == reasons.SUPPORTS_UNKNOWN_ITEM


def test_the_top_of_the_hierarchy_names_unit_goals_and_records_its_own_approval():
    events = run([draft(HEAD, [item("H1", goal="Pelayanan publik prima")], skp_id="SKP-H"),
                  approve(BOSS, skp_id="SKP-H"), approve(HEAD, skp_id="SKP-H")])
    assert [outcome(e) for e in events] == ["SKPDrafted", reasons.NOT_THE_APPROVER,
                                            "SKPApproved"]
    assert events[-1].data.approver_nip == HEAD


def test_where_the_superior_has_left_the_next_one_up_decides():
    d = directory(fact(EmployeeTerminated(nip=BOSS, effective_date=date(2026, 1, 10))))
    context = SKPContext(superior_skps={BOSS: BOSS_SKP})
    events = run([draft(CLERK, [item("C1", supports="B1")]), approve(BOSS), approve(HEAD)],
                 context, d)
    assert [outcome(e) for e in events] == ["SKPDrafted", reasons.NOT_THE_APPROVER,
                                            "SKPApproved"]


def test_a_new_superior_means_linking_to_the_new_superiors_items():
    d = directory(fact(EmployeeChanged(nip=CLERK, effective_date=date(2026, 1, 1),
                                       superior_nip=HEAD)))
    head_skp = approved_skp(HEAD, [item("H1", goal="Pelayanan prima")], skp_id="SKP-H")
    context = SKPContext(superior_skps={BOSS: BOSS_SKP, HEAD: head_skp})
    events = run([draft(CLERK, [item("C1", supports="B1")]),
                  draft(CLERK, [item("C1", supports="H1")]), approve(HEAD)],
                 context, d)
    assert [outcome(e) for e in events] == [reasons.SUPPORTS_UNKNOWN_ITEM, "SKPDrafted",
                                            "SKPApproved"]


# --- realisation --------------------------------------------------------------------------------
def activity(activity_id: str, work_date: date, quantity: int, skp_item: str | None,
             minutes_per_unit: int = 30, at: datetime = AFTER_Q1) -> object:
    return envelope(ActivityLogged(
        activity_id=activity_id, nip=CLERK, work_date=work_date, task_code="T1",
        quantity=quantity, minutes=quantity * minutes_per_unit, description="",
        evidence_ref=None, skp_item_id=skp_item), at=at)


def approval(activity_id: str, approved_minutes: int, at: datetime = AFTER_Q1) -> object:
    return envelope(ActivityApproved(activity_id=activity_id, nip=CLERK, approver_nip=BOSS,
                                     approved_minutes=approved_minutes), at=at)


def rejection(activity_id: str, at: datetime) -> object:
    return envelope(ActivityRejected(activity_id=activity_id, nip=CLERK, approver_nip=BOSS,
                                     reason="bukti kurang"), at=at)


def test_realisation_is_the_approved_quantity_by_item_and_month_of_the_work_date():
    later = AFTER_Q1 + timedelta(hours=1)
    facts = [
        activity("A1", date(2026, 1, 5), 3, "C1"), approval("A1", 60),  # 2 of 3 approved
        activity("A2", date(2026, 1, 6), 4, "C1", 15), approval("A2", 60),  # all 4
        activity("A3", date(2026, 2, 2), 5, "C2"), approval("A3", 150),
        activity("A4", date(2026, 2, 3), 5, "C2"),  # not decided
        activity("A5", date(2026, 2, 4), 5, "C2"), approval("A5", 150), rejection("A5", later),
        activity("A6", date(2026, 2, 5), 5, None), approval("A6", 150),  # no item
        activity("A7", date(2025, 12, 31), 5, "C1"), approval("A7", 150),  # another year
        activity("A8", date(2026, 3, 2), 2, "C1"), approval("A8", 60),
        activity("A8", date(2026, 3, 2), 2, None, at=later),  # re-logged without the item
        activity("A9", date(2026, 3, 3), 1, "C1", 0), approval("A9", 0),  # a task of 0 minutes
    ]
    expected = {("C1", 1): 6, ("C2", 2): 5}
    assert realisation(facts, 2026) == expected
    assert realisation(facts[::-1], 2026) == expected


def test_a_months_score_is_payrolls_s_and_only_the_latest_rating_of_a_rater_counts():
    def rating(rater: str, relation: str, score: int, period: str, at: datetime):  # type: ignore[no-untyped-def]
        scores = BerAKHLAKScores(**dict.fromkeys(BerAKHLAKScores.model_fields, score))
        return envelope(RatingGiven(rater_nip=rater, ratee_nip=CLERK, period=period,
                                    relation=relation, scores=scores), at=at)  # type: ignore[arg-type]

    ratings = [rating(BOSS, "superior", 5, "2026-01", AFTER_Q1),
               rating(BOSS, "superior", 3, "2026-01", AFTER_Q1 - timedelta(days=1)),
               rating(PEER, "peer", 2, "2026-01", AFTER_Q1),
               rating(PEER, "peer", 4, "2026-03", AFTER_Q1),
               rating(PEER, "peer", 4, "2025-03", AFTER_Q1)]
    # January: (0.5 × 5 + 0.3 × 2) / 0.8; March: the peers' group alone.
    assert monthly_scores(ratings, 2026) == {1: Fraction(31, 8), 3: Fraction(4)}


# --- evaluation ---------------------------------------------------------------------------------
CLERK_SKP = approved_skp(CLERK, [item("C1", supports="B1", monthly=[10] * 12),
                                 item("C2", supports="B2", monthly=[0, 0, 10] + [0] * 9, total=10)],
                         skp_id="SKP-C")


def evaluation_context(realised_q1: int, scores: dict[int, Fraction] | None = None
                       ) -> SKPContext:
    """Q1 targets: C1 30 + C2 10 = 40; `realised_q1` spread over C1 in January."""
    return SKPContext(evaluated_skp=CLERK_SKP, realised={("C1", 1): realised_q1},
                      scores=scores or {})


@pytest.mark.parametrize(("realised", "scores", "proposed"), [
    (44, {1: Fraction(9, 2)}, ("above", "above")),    # 110 %, S 4.5
    (43, {1: Fraction(9, 2)}, ("meets", "above")),    # 107.5 %
    (32, {1: Fraction(7, 2)}, ("meets", "meets")),    # 80 %, S 3.5
    (31, {1: Fraction(349, 100)}, ("below", "below")),
    (32, {}, ("meets", "meets")),                     # no rating: meets
    (32, {1: Fraction(5), 2: Fraction(3)}, ("meets", "meets")),  # the months' mean, 4
    (32, {1: Fraction(5), 4: Fraction(1)}, ("meets", "above")),  # April is not in Q1
])
def test_the_proposal_comes_from_realisation_against_targets_and_the_360_score(
        realised, scores, proposed):  # type: ignore[no-untyped-def]
    events = run([evaluate(result=proposed[0], behaviour=proposed[1])],
                 evaluation_context(realised, scores), at=AFTER_Q1)
    given = events[0].data
    assert events[0].type == "EvaluationGiven"
    assert (given.proposed_result, given.proposed_behaviour) == proposed
    assert (given.result_rating, given.behaviour_rating) == proposed
    assert given.override_reason is None


def test_the_annual_evaluation_takes_the_whole_years_targets():
    context = SKPContext(evaluated_skp=CLERK_SKP, realised={("C1", m): 10 for m in range(1, 13)})
    events = run([evaluate(quarter=None)], context, at=datetime(2027, 1, 5, tzinfo=WIB))
    given = events[0].data
    assert (given.quarter, given.proposed_result, given.predikat) == (None, "meets", "baik")
    # 120 of the year's 130 (92 %); the first quarter alone would be 30 of 40 (75 %): below.
    events = run([evaluate(quarter=1)], context, at=AFTER_Q1)
    assert outcome(events[0]) == reasons.OVERRIDE_REASON_MISSING


def test_an_override_needs_a_reason_and_the_predikat_follows_the_ratings_given():
    context = evaluation_context(44, {1: Fraction(9, 2)})
    events = run([evaluate(result="meets", behaviour="below"),
                  evaluate(result="meets", behaviour="below", reason="Teguran tertulis Maret")],
                 context, at=AFTER_Q1)
    assert outcome(events[0]) == reasons.OVERRIDE_REASON_MISSING
    given = events[1].data
    assert (given.proposed_result, given.proposed_behaviour) == ("above", "above")
    assert (given.result_rating, given.behaviour_rating, given.predikat) == (
        "meets", "below", "kurang")
    assert given.override_reason == "Teguran tertulis Maret"


@pytest.mark.parametrize(("command", "context", "at", "reason"), [
    (evaluate(actor=STRANGER), evaluation_context(40), AFTER_Q1, reasons.UNKNOWN_EMPLOYEE),
    (evaluate(nip=STRANGER), evaluation_context(40), AFTER_Q1, reasons.UNKNOWN_EVALUATEE),
    (evaluate(actor=CLERK), evaluation_context(40), AFTER_Q1, reasons.SELF_EVALUATION),
    (evaluate(), evaluation_context(40), datetime(2026, 3, 31, 23, 0, tzinfo=WIB),
     reasons.PERIOD_NOT_ENDED),
    (evaluate(quarter=None), evaluation_context(40), AFTER_Q1, reasons.PERIOD_NOT_ENDED),
    (evaluate(actor=PEER), evaluation_context(40), AFTER_Q1, reasons.NOT_THE_EVALUATOR),
    (evaluate(actor=HEAD), evaluation_context(40), AFTER_Q1, reasons.NOT_THE_EVALUATOR),
    (evaluate(), SKPContext(), AFTER_Q1, reasons.NO_APPROVED_SKP),
    (evaluate(reason="Sudah sesuai"), evaluation_context(40), AFTER_Q1,
     reasons.OVERRIDE_REASON_UNNEEDED),
])
def test_an_evaluation_is_refused_with_its_reason(command, context, at, reason):  # type: ignore[no-untyped-def]
    events = run([command], context, at=at)
    assert outcome(events[0]) == reason
    assert events[0].data.subject == command.nip


def test_a_period_is_evaluated_once_and_only_for_someone_employed_in_it():
    events = run([evaluate(), evaluate()], evaluation_context(40), at=AFTER_Q1)
    assert [outcome(e) for e in events] == ["EvaluationGiven", reasons.ALREADY_EVALUATED]
    joined_in_may = Directory()
    joined_in_may.add([registered(HEAD, None), registered(BOSS, HEAD),
                       registered(CLERK, BOSS, start=date(2026, 5, 4))])
    events = run([evaluate()], evaluation_context(40), d=joined_in_may, at=AFTER_Q1)
    assert outcome(events[0]) == reasons.EVALUATEE_NOT_EMPLOYED


def test_every_skp_and_evaluation_reason_is_used_by_a_test_here():
    source = Path(__file__).read_text()
    skp_codes = {code for name, code in vars(reasons).items()
                 if name.isupper() and isinstance(code, str) and code in reasons.REASONS
                 and f"reasons.{name}" in source}
    first_skp = list(reasons.REASONS).index(reasons.SKP_OF_OTHER_EMPLOYEE)
    assert skp_codes >= set(list(reasons.REASONS)[first_skp:])
