"""Decisions on SKPs and periodic evaluations (e-Kinerja); `decider.decide` routes to them.

`DraftSKP` (actor = the employee): one SKP per employee per year, drafted again as often as
needed (revision 1, 2, …; a new draft supersedes an undecided one). Every item's 12 monthly
targets sum to its target quantity. Cascading: an employee with a direct superior on the
drafting date ties every item to an item of that superior's approved SKP of the year
(`supports_item_id`); one with none names a `unit_goal` instead.

`ApproveSKP` / `ReturnSKP` (actor = the direct superior on the decision date, or the next one up
where that post is vacant; for the top of the hierarchy, who has nobody above in the platform,
the official themself, recording the SKP agreed with the regional head outside it): only the
latest revision, once. An approval checks the cascading
links again against the superior's SKP as approved then. An approved SKP stays in force until a
later revision is approved.

`Evaluate` (actor = the direct superior on the period's last day, or the next one up where that
post is vacant on the evaluation date), after the quarter or the year has ended, once per
period. The proposal is computed from the data held on receipt (`evaluation`); a rating that
differs from its proposal needs an `override_reason`, and the predikat follows the matrix.
"""

from __future__ import annotations

from datetime import date, timedelta

from kinerja_events.commands import ApproveSKP, DraftSKP, Evaluate, ReturnSKP
from kinerja_events.events import (
    EvaluationGiven, Rating, SKPApproved, SKPDrafted, SKPItem, SKPReturned,
)
from kinerja_events.hr import Directory, Person

from . import reasons
from .evaluation import (
    period_bounds, period_realised, period_score, period_target, predikat_of, propose_behaviour,
    propose_result,
)
from .model import AppraisalState, SKPContext


def employed_between(person: Person, first: date, last: date) -> bool:
    """Employed on at least one day of `first` … `last`."""
    return (person.start is not None and person.start <= last
            and (person.end is None or person.end > first))


# --- DraftSKP -----------------------------------------------------------------------------------
def refuse_draft(command: DraftSKP, today: date, state: AppraisalState) -> str | None:
    """The reason code of the first failing check, or None."""
    directory = state.directory or Directory()
    context = state.context or SKPContext()
    person = directory.person(command.actor_nip)
    if person is None or person.start is None:
        return reasons.UNKNOWN_EMPLOYEE
    if state.skp is not None and state.skp.nip != command.actor_nip:
        return reasons.SKP_OF_OTHER_EMPLOYEE
    if state.skp is not None and state.skp.year != command.year:
        return reasons.SKP_YEAR_MISMATCH
    if not employed_between(person, date(command.year, 1, 1), date(command.year, 12, 31)):
        return reasons.NOT_EMPLOYED_IN_YEAR
    if context.year_owner not in (None, command.skp_id):
        return reasons.SKP_EXISTS_FOR_YEAR
    return refuse_items(command.items) or refuse_links(
        command.items, directory.superior_of(command.actor_nip, today), context)


def refuse_items(items: list[SKPItem]) -> str | None:
    """The first fault of the items themselves, or None."""
    if not items:
        return reasons.NO_ITEMS
    if len({item.item_id for item in items}) < len(items):
        return reasons.DUPLICATE_ITEM_ID
    for item in items:
        if not item.indicator.strip():
            return reasons.EMPTY_INDICATOR
        if not item.unit.strip():
            return reasons.EMPTY_UNIT
        if sum(item.monthly_targets) != item.target_quantity:
            return reasons.MONTHLY_TARGETS_DO_NOT_SUM
    return None


def refuse_links(items: list[SKPItem] | tuple[SKPItem, ...], superior: str | None,
                 context: SKPContext) -> str | None:
    """The first broken cascading link, or None: each item serves an item of `superior`'s
    approved SKP, or, with no superior, names a unit goal."""
    if superior is None:
        if any(item.supports_item_id is not None for item in items):
            return reasons.NO_SUPERIOR_TO_SUPPORT
        if any(not (item.unit_goal or "").strip() for item in items):
            return reasons.UNIT_GOAL_MISSING
        return None
    if any(item.supports_item_id is None for item in items):
        return reasons.SUPPORTS_ITEM_MISSING
    record = context.superior_skps.get(superior)
    served = {item.item_id for item in record.approved_items()} if record else set()
    if not served:
        return reasons.SUPERIOR_SKP_NOT_APPROVED
    if any(item.supports_item_id not in served for item in items):
        return reasons.SUPPORTS_UNKNOWN_ITEM
    return None


def draft_of(command: DraftSKP, state: AppraisalState) -> SKPDrafted:
    revision = (state.skp.latest if state.skp else 0) + 1
    return SKPDrafted(skp_id=command.skp_id, nip=command.actor_nip, year=command.year,
                      revision=revision, items=command.items)


# --- ApproveSKP / ReturnSKP ---------------------------------------------------------------------
def refuse_skp_decision(command: ApproveSKP | ReturnSKP, today: date, state: AppraisalState
                        ) -> str | None:
    """The reason code of the first failing check, or None."""
    record = state.skp
    if record is None or record.latest == 0:
        return reasons.UNKNOWN_SKP
    directory = state.directory or Directory()
    approver = directory.approver_of(record.nip, today, today) or record.nip
    if command.actor_nip != approver:
        return reasons.OWN_SKP if command.actor_nip == record.nip else reasons.NOT_THE_APPROVER
    if command.revision != record.latest:
        return reasons.STALE_REVISION
    if record.status(command.revision) != "drafted":
        return reasons.REVISION_ALREADY_DECIDED
    if isinstance(command, ReturnSKP):
        return None if command.notes.strip() else reasons.EMPTY_NOTES
    return refuse_links(record.revisions[command.revision],
                        directory.superior_of(record.nip, today), state.context or SKPContext())


def skp_decision_of(command: ApproveSKP | ReturnSKP, state: AppraisalState
                    ) -> SKPApproved | SKPReturned:
    record = state.skp
    assert record is not None
    if isinstance(command, ApproveSKP):
        return SKPApproved(skp_id=command.skp_id, nip=record.nip, revision=command.revision,
                           approver_nip=command.actor_nip)
    return SKPReturned(skp_id=command.skp_id, nip=record.nip, revision=command.revision,
                       approver_nip=command.actor_nip, notes=command.notes)


# --- Evaluate -----------------------------------------------------------------------------------
def proposal(quarter: int | None, context: SKPContext) -> tuple[Rating, Rating]:
    """(result, behaviour) of a quarter (None: the year) as the data held proposes them."""
    items = context.evaluated_skp.approved_items() if context.evaluated_skp else ()
    result = propose_result(period_realised(items, context.realised, quarter),
                            period_target(items, quarter))
    return result, propose_behaviour(period_score(context.scores, quarter))


def refuse_evaluation(command: Evaluate, today: date, state: AppraisalState) -> str | None:
    """The reason code of the first failing check, or None."""
    directory = state.directory or Directory()
    context = state.context or SKPContext()
    evaluator, evaluatee = directory.person(command.actor_nip), directory.person(command.nip)
    if evaluator is None or evaluator.start is None:
        return reasons.UNKNOWN_EMPLOYEE
    if evaluatee is None or evaluatee.start is None:
        return reasons.UNKNOWN_EVALUATEE
    if command.actor_nip == command.nip:
        return reasons.SELF_EVALUATION
    first, last = period_bounds(command.year, command.quarter)
    if today <= last:
        return reasons.PERIOD_NOT_ENDED
    if not employed_between(evaluatee, first, last):
        return reasons.EVALUATEE_NOT_EMPLOYED
    last_employed = last if evaluatee.end is None else min(last, evaluatee.end - timedelta(1))
    if command.actor_nip != directory.approver_of(command.nip, last_employed, today):
        return reasons.NOT_THE_EVALUATOR
    if context.evaluated_skp is None or not context.evaluated_skp.approved_items():
        return reasons.NO_APPROVED_SKP
    if state.evaluation is not None:
        return reasons.ALREADY_EVALUATED
    overridden = proposal(command.quarter, context) != (command.result_rating,
                                                        command.behaviour_rating)
    reason_given = bool((command.override_reason or "").strip())
    if overridden and not reason_given:
        return reasons.OVERRIDE_REASON_MISSING
    if reason_given and not overridden:
        return reasons.OVERRIDE_REASON_UNNEEDED
    return None


def evaluation_of(command: Evaluate, state: AppraisalState) -> EvaluationGiven:
    result, behaviour = proposal(command.quarter, state.context or SKPContext())
    overridden = (result, behaviour) != (command.result_rating, command.behaviour_rating)
    return EvaluationGiven(
        nip=command.nip, year=command.year, quarter=command.quarter,
        evaluator_nip=command.actor_nip, proposed_result=result, proposed_behaviour=behaviour,
        result_rating=command.result_rating, behaviour_rating=command.behaviour_rating,
        predikat=predikat_of(command.result_rating, command.behaviour_rating),
        override_reason=command.override_reason if overridden else None)
