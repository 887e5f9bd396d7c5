"""The attendance service on the command pipeline: its commands, its decider, its reference data,
and what it counts.

Check-ins and check-outs must be signed with the mobile gateway's key, leave and travel with the
HR side's key; the pipeline refuses anything else before deciding. Each command is decided on the
stream of the employee it concerns (`employee:<nip>`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter
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

    checks: PromCounter
    hr_outcomes: PromCounter


def make_metrics(registry: CollectorRegistry) -> Metrics:
    """Register the attendance metrics on `registry`."""
    return Metrics(
        checks=PromCounter("kinerja_attendance_checks", "Check-ins/outs decided, by outcome",
                       ["action", "mode", "outcome", "reason"], registry=registry),
        hr_outcomes=PromCounter("kinerja_attendance_hr_commands", "HR commands decided",
                            ["type", "outcome", "reason"], registry=registry),
    )


def count_outcomes(metrics: Metrics) -> Callable[[Sequence[Decided[Any]]], None]:
    """The pipeline's `on_decided` hook: count each newly decided command once (a batch's
    counts added per label set)."""

    def count(decided: Sequence[Decided[Any]]) -> None:
        checks: Counter[tuple[str, ...]] = Counter()
        hr: Counter[tuple[str, ...]] = Counter()
        for outcome in decided:
            command = outcome.received.command
            if outcome.rejection is not None:
                hr[(command.type, "rejected", outcome.rejection.reason)] += 1
            for event in outcome.events:
                if event.type == "CheckInRejected":
                    checks[(event.data.action, command.mode, "rejected", event.data.reason)] += 1
                elif event.type in ("CheckedIn", "CheckedOut"):
                    action = "check_in" if event.type == "CheckedIn" else "check_out"
                    checks[(action, event.data.mode, "accepted", "")] += 1
                else:
                    hr[(command.type, "accepted", "")] += 1
        for labels, n in checks.items():
            metrics.checks.labels(*labels).inc(n)
        for labels, n in hr.items():
            metrics.hr_outcomes.labels(*labels).inc(n)

    return count
