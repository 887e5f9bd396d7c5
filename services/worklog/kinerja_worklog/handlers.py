"""The worklog service on the command pipeline: its commands, its streams, what it counts.

Every worklog command comes from the mobile gateway and must be signed with its key. Each is
decided on the stream of the activity it names (`activity:<activity_id>`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client import Counter as PromCounter
from pydantic import TypeAdapter

from kinerja_events.commands import WorklogCommand
from kinerja_events.pipeline import CommandModels, Decided


SOURCE = "worklog"
COMMAND_TYPES = ("LogActivity", "ApproveActivity", "RejectActivity")
OUTCOMES = {"ActivityLogged": "logged", "ActivityApproved": "approved",
            "ActivityRejected": "rejected", "ActivityRefused": "refused"}


def stream_of(command: Any) -> str:
    """The stream a worklog command is decided on: its activity's."""
    return f"activity:{command.activity_id}"


def command_models(gateway_key: bytes) -> CommandModels[Any]:
    return CommandModels(adapter=TypeAdapter(WorklogCommand),
                         keys=dict.fromkeys(COMMAND_TYPES, gateway_key), stream_of=stream_of)


@dataclass(frozen=True)
class Metrics:
    """Activities logged, approved, rejected and refused (by reason), and the approval lag."""

    outcomes: PromCounter
    approval_lag: Histogram


def make_metrics(registry: CollectorRegistry) -> Metrics:
    return Metrics(
        outcomes=PromCounter("kinerja_worklog_outcomes", "Worklog commands decided, by outcome",
                             ["action", "outcome", "reason"], registry=registry),
        approval_lag=Histogram("kinerja_worklog_approval_lag_seconds",
                               "From an activity's logging to its approval or rejection",
                               buckets=(60, 600, 3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400,
                                        30 * 86400, float("inf")), registry=registry),
    )


def count_outcomes(metrics: Metrics) -> Callable[[Sequence[Decided[Any]]], None]:
    """The pipeline's `on_decided` hook: count each newly decided command once."""

    def count(decided: Sequence[Decided[Any]]) -> None:
        tally: Counter[tuple[str, str, str]] = Counter()
        for outcome in decided:
            command = outcome.received.command
            logged = outcome.state.logged  # the activity as it stood when decided
            for event in outcome.events:
                kind = OUTCOMES[event.type]
                reason = event.data.reason if kind == "refused" else ""  # type: ignore[attr-defined]
                tally[(command.type, kind, reason)] += 1
                if kind in ("approved", "rejected") and logged is not None:
                    metrics.approval_lag.observe(
                        max(0.0, (event.occurred_at - logged.stamp[0]).total_seconds()))
        for labels, n in tally.items():
            metrics.outcomes.labels(*labels).inc(n)

    return count
