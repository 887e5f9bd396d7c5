"""The attendance service on the command pipeline: its commands, its decider, its reference data,
and what it counts.

Check-ins and check-outs must be signed with the mobile gateway's key, leave and travel with the
HR side's key; the pipeline refuses anything else before deciding. Each command is decided on the
stream of the employee it concerns (`employee:<nip>`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from pydantic import TypeAdapter

from kinerja_events.commands import AttendanceCommand
from kinerja_events.pipeline import CommandModels, Decided

from .projection import nip_of

SOURCE = "attendance"
GATEWAY_TYPES = ("CheckIn", "CheckOut")
HR_TYPES = ("RecordLeave", "CancelLeave", "RecordOfficialTravel")


@dataclass(frozen=True)
class Keys:
    """HMAC keys: the mobile gateway's, and the HR side's."""

    gateway: bytes
    hr: bytes


def stream_of(command: Any) -> str:
    """The stream an attendance command is decided on: its employee's."""
    return f"employee:{nip_of(command)}"


def command_models(keys: Keys) -> CommandModels[Any]:
    """Attendance's commands for the pipeline: the contract models and who signs which."""
    signers = {**{t: keys.gateway for t in GATEWAY_TYPES}, **{t: keys.hr for t in HR_TYPES}}
    return CommandModels(adapter=TypeAdapter(AttendanceCommand), keys=signers,
                         stream_of=stream_of)


@dataclass(frozen=True)
class Metrics:
    """What ops watch besides the pipeline's own counts: check-ins by mode and reason, and the
    HR commands' outcomes."""

    checks: Counter
    hr_outcomes: Counter


def make_metrics(registry: CollectorRegistry) -> Metrics:
    """Register the attendance metrics on `registry`."""
    return Metrics(
        checks=Counter("kinerja_attendance_checks", "Check-ins/outs decided, by outcome",
                       ["action", "mode", "outcome", "reason"], registry=registry),
        hr_outcomes=Counter("kinerja_attendance_hr_commands", "HR commands decided",
                            ["type", "outcome", "reason"], registry=registry),
    )


def count_outcomes(metrics: Metrics):  # type: ignore[no-untyped-def]
    """The pipeline's `on_decided` hook: count each newly decided command once."""

    def count(decided: Sequence[Decided[Any]]) -> None:
        for outcome in decided:
            command = outcome.received.command
            if outcome.rejection is not None:
                metrics.hr_outcomes.labels(command.type, "rejected",
                                           outcome.rejection.reason).inc()
            for event in outcome.events:
                count_event(metrics, command, event)

    return count


def count_event(metrics: Metrics, command: Any, event: Any) -> None:
    """Count one decided event by its kind."""
    if event.type == "CheckInRejected":
        metrics.checks.labels(event.data.action, command.mode, "rejected",
                              event.data.reason).inc()
    elif event.type in ("CheckedIn", "CheckedOut"):
        action = "check_in" if event.type == "CheckedIn" else "check_out"
        metrics.checks.labels(action, event.data.mode, "accepted", "").inc()
    else:
        metrics.hr_outcomes.labels(command.type, "accepted", "").inc()
