"""The appraisal service on the command pipeline: its commands, its streams, what it counts.

Every appraisal command comes from the mobile gateway and must be signed with its key. A rating
is decided on the stream of the ratee's period (`rating:<ratee_nip>:<period>`), an IKP command
on the IKP's own stream (`ikp:<ikp_id>`), an SKP command on the SKP's (`skp:<skp_id>`), and an
evaluation on the employee's period (`evaluation:<nip>:<year>:<q1…q4 | year>`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client import Counter as PromCounter
from pydantic import TypeAdapter

from kinerja_events.commands import (
    AppraisalCommand, ApproveSKP, AssignIKP, CompleteIKP, DraftSKP, Evaluate, GiveRating,
    ReturnSKP,
)
from kinerja_events.pipeline import CommandModels, Decided

from .model import is_on_time

SOURCE = "appraisal"
COMMAND_TYPES = ("GiveRating", "AssignIKP", "CompleteIKP", "DraftSKP", "ApproveSKP",
                 "ReturnSKP", "Evaluate")
OUTCOMES = {"RatingGiven": "rated", "IKPAssigned": "assigned", "IKPCompleted": "completed",
            "SKPDrafted": "drafted", "SKPApproved": "approved", "SKPReturned": "returned",
            "EvaluationGiven": "evaluated", "AppraisalRefused": "refused"}


def stream_of(command: Any) -> str:
    """The stream an appraisal command is decided on."""
    if isinstance(command, GiveRating):
        return f"rating:{command.ratee_nip}:{command.period}"
    if isinstance(command, AssignIKP | CompleteIKP):
        return f"ikp:{command.ikp_id}"
    if isinstance(command, DraftSKP | ApproveSKP | ReturnSKP):
        return f"skp:{command.skp_id}"
    assert isinstance(command, Evaluate)
    return evaluation_stream(command.nip, command.year, command.quarter)


def evaluation_stream(nip: str, year: int, quarter: int | None) -> str:
    return f"evaluation:{nip}:{year}:{'year' if quarter is None else f'q{quarter}'}"


def command_models(gateway_key: bytes) -> CommandModels[Any]:
    return CommandModels(adapter=TypeAdapter(AppraisalCommand),
                         keys=dict.fromkeys(COMMAND_TYPES, gateway_key), stream_of=stream_of)


@dataclass(frozen=True)
class Metrics:
    """Commands by outcome (refusals by reason), ratings by relation, IKPs by how they ended,
    the IKPs overdue now, and evaluations by predikat."""

    outcomes: PromCounter
    ratings: PromCounter
    ikp: PromCounter
    ikp_overdue: Gauge
    predikat: PromCounter


def make_metrics(registry: CollectorRegistry) -> Metrics:
    return Metrics(
        outcomes=PromCounter("kinerja_appraisal_outcomes", "Appraisal commands decided, by "
                             "outcome", ["action", "outcome", "reason"], registry=registry),
        ratings=PromCounter("kinerja_appraisal_ratings", "Ratings given, by the rater's "
                            "relation to the ratee", ["relation"], registry=registry),
        ikp=PromCounter("kinerja_appraisal_ikp", "IKPs assigned (amendments included), and "
                        "completed on time or late", ["event"], registry=registry),
        ikp_overdue=Gauge("kinerja_appraisal_ikp_overdue", "IKPs not completed whose due date "
                          "has passed (as of the last refresh)", registry=registry),
        predikat=PromCounter("kinerja_appraisal_evaluations", "Evaluations given, by period "
                             "kind and predikat", ["period", "predikat"], registry=registry),
    )


def count_outcomes(metrics: Metrics) -> Callable[[Sequence[Decided[Any]]], None]:
    """The pipeline's `on_decided` hook: count each newly decided command once."""

    def count(decided: Sequence[Decided[Any]]) -> None:
        tally: Counter[tuple[str, str, str]] = Counter()
        for outcome in decided:
            command = outcome.received.command
            assignment = outcome.state.assignment  # the IKP as it stood when decided
            for event in outcome.events:
                kind = OUTCOMES[event.type]
                data: Any = event.data
                tally[(command.type, kind, data.reason if kind == "refused" else "")] += 1
                if kind == "rated":
                    metrics.ratings.labels(data.relation).inc()
                elif kind == "assigned":
                    metrics.ikp.labels("assigned").inc()
                elif kind == "evaluated":
                    metrics.predikat.labels("year" if data.quarter is None else "quarter",
                                            data.predikat).inc()
                elif kind == "completed" and assignment is not None:
                    on_time = is_on_time(data.completed_at, assignment.due_date)
                    metrics.ikp.labels("completed_on_time" if on_time else "completed_late").inc()
        for labels, n in tally.items():
            metrics.outcomes.labels(*labels).inc(n)

    return count
