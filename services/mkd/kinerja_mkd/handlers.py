"""The MKD service on the command pipeline: its commands, its streams, what it counts.

Every MKD command comes from the mobile gateway and must be signed with its key. Each is decided
on the stream of the request it names (`mkd:<request_id>`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client import Counter as PromCounter
from pydantic import TypeAdapter

from kinerja_events.commands import MKDCommand
from kinerja_events.pipeline import CommandModels, Decided

SOURCE = "mkd"
COMMAND_TYPES = ("RequestMKD", "DecideMKD")
OUTCOMES = {"MKDRequested": "requested", "MKDGranted": "granted", "MKDDenied": "denied",
            "MKDRefused": "refused"}


def stream_of(command: Any) -> str:
    """The stream an MKD command is decided on: its request's."""
    return f"mkd:{command.request_id}"


def command_models(gateway_key: bytes) -> CommandModels[Any]:
    return CommandModels(adapter=TypeAdapter(MKDCommand),
                         keys=dict.fromkeys(COMMAND_TYPES, gateway_key), stream_of=stream_of)


@dataclass(frozen=True)
class Metrics:
    """Commands by outcome (refusals by reason), revocations by reason, and the days a week
    holds after each grant."""

    outcomes: PromCounter
    revocations: PromCounter
    granted_days: Histogram


def make_metrics(registry: CollectorRegistry) -> Metrics:
    return Metrics(
        outcomes=PromCounter("kinerja_mkd_outcomes", "MKD commands decided, by outcome",
                             ["action", "outcome", "reason"], registry=registry),
        revocations=PromCounter("kinerja_mkd_revocations", "Granted MKD days withdrawn, by "
                                "reason", ["reason"], registry=registry),
        granted_days=Histogram("kinerja_mkd_granted_days_per_week", "Days granted in a week, "
                               "after each grant", buckets=(1, 2, 3, 4, 5), registry=registry),
    )


def count_outcomes(metrics: Metrics) -> Callable[[Sequence[Decided[Any]]], None]:
    """The pipeline's `on_decided` hook: count each newly decided command once."""

    def count(decided: Sequence[Decided[Any]]) -> None:
        tally: Counter[tuple[str, str, str]] = Counter()
        for outcome in decided:
            for event in outcome.events:
                kind = OUTCOMES[event.type]
                data: Any = event.data
                tally[(outcome.received.command.type, kind,
                       data.reason if kind == "refused" else "")] += 1
                if kind == "granted":  # the week as it stood when decided, and this grant
                    week = outcome.state.week
                    metrics.granted_days.observe(len(week.granted | frozenset(data.days)))
        for labels, n in tally.items():
            metrics.outcomes.labels(*labels).inc(n)

    return count


def count_revocations(metrics: Metrics, revoked: Sequence[Any]) -> None:
    for event in revoked:
        metrics.revocations.labels(event.data.reason).inc(len(event.data.days))
