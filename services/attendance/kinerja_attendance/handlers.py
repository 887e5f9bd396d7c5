"""Handling one gateway message on `kinerja.commands.attendance`.

A message is refused, changing nothing, when it is not JSON, not a known command, or not signed
with the key its type requires (the gateway key for check-in/out, the HR key for leave and
travel): such refusals are counted and logged, never raised (a poison message must not stop the
consumer). A valid command is decided once per `command_id`: the stored outcome answers a repeat.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from kinerja_events.codec import Codec, ContractError, contract_error, load_object
from kinerja_events.commands import AttendanceCommand, CheckIn, CheckOut
from kinerja_events.envelope import NewEvent
from kinerja_events.events import EnvelopeBase
from kinerja_events.observability import correlation
from kinerja_events.signing import verify
from kinerja_events.store import EventStore, execute
from kinerja_events.types import WIB

from .decider import AttendanceLimits, CommandRejected, decide
from .projection import StreamCache, fold_facts, hr_rejections, load_reference
from .reasons import is_retryable

log = structlog.get_logger("kinerja.attendance")

GATEWAY_TYPES = frozenset({"CheckIn", "CheckOut"})
SOURCE = "attendance"


@dataclass(frozen=True)
class Keys:
    """HMAC keys: the mobile gateway's, and the HR side's."""

    gateway: bytes
    hr: bytes


@dataclass(frozen=True)
class Metrics:
    """What ops watch: decided check-ins, refused messages, handling latency."""

    checks: Counter
    refused: Counter
    hr_outcomes: Counter
    latency: Histogram


def make_metrics(registry: CollectorRegistry) -> Metrics:
    """Register the attendance metrics on `registry`."""
    return Metrics(
        checks=Counter("kinerja_attendance_checks", "Check-ins/outs decided, by outcome",
                       ["action", "mode", "outcome", "reason"], registry=registry),
        refused=Counter("kinerja_attendance_messages_refused",
                        "Command messages refused before deciding (malformed, unsigned)",
                        ["reason"], registry=registry),
        hr_outcomes=Counter("kinerja_attendance_hr_commands", "HR commands decided",
                            ["type", "outcome", "reason"], registry=registry),
        latency=Histogram("kinerja_attendance_command_seconds",
                          "Time to handle one command message", ["type"], registry=registry),
    )


class Refused(Exception):
    """A message refused before deciding: `reason` is counted, the message changes nothing."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class HRRefusal(Exception):
    """Carries a `CommandRejected` out of `execute`'s decide callback."""

    def __init__(self, rejection: CommandRejected):
        super().__init__(rejection.reason)
        self.rejection = rejection


@dataclass
class CommandHandler:
    """Decides gateway and HR commands against the store and the local projection."""

    engine: AsyncEngine
    store: EventStore
    codec: Codec
    keys: Keys
    limits: AttendanceLimits
    metrics: Metrics
    trust_gateway_clock: bool = False
    streams: StreamCache = field(default_factory=StreamCache)

    def __post_init__(self) -> None:
        self._adapter: TypeAdapter[Any] = TypeAdapter(AttendanceCommand)

    async def handle_message(self, body: bytes, signature: str | bytes | None,
                             received_at: datetime | None = None) -> list[EnvelopeBase] | CommandRejected | None:
        """Handle one message; the outcome, or None when it was refused unread."""
        started = time.perf_counter()
        kind = "unknown"
        try:
            command = self.parse(body, signature)
            kind = command.type
            with correlation(command.command_id, command_type=kind):
                return await self.decide_command(command, received_at or self.now(command))
        except Refused as refusal:
            self.metrics.refused.labels(refusal.reason).inc()
            log.warning("command_refused", reason=refusal.reason, detail=refusal.detail[:300])
            return None
        finally:
            self.metrics.latency.labels(kind).observe(time.perf_counter() - started)

    def now(self, command: Any) -> datetime:
        """When the command was received: the wall clock, or — only in a simulation that
        replays a past month — the gateway's `sent_at`."""
        return command.sent_at if self.trust_gateway_clock else datetime.now(WIB)

    def parse(self, body: bytes, signature: str | bytes | None) -> Any:
        """The command in `body`, if it is well formed and signed with its type's key."""
        try:
            raw = load_object(body)
        except ContractError as exc:
            raise Refused("malformed", str(exc)) from None
        key = self.keys.gateway if raw.get("type") in GATEWAY_TYPES else self.keys.hr
        if not verify(body, signature, key):
            raise Refused("bad_signature", f"type {raw.get('type')!r}")
        try:
            return self._adapter.validate_python(raw)
        except ValidationError as exc:
            raise Refused("malformed", str(contract_error(exc))) from None

    async def decide_command(self, command: Any, received_at: datetime
                             ) -> list[EnvelopeBase] | CommandRejected:
        """Decide `command` once; a repeated `command_id` gets the stored outcome."""
        if command.type not in GATEWAY_TYPES:  # only HR refusals are stored outside the stream
            stored = await self.stored_rejection(command.command_id)
            if stored is not None:
                return stored
        nip = command.actor_nip if isinstance(command, CheckIn | CheckOut) else command.nip
        stream_id = f"employee:{nip}"
        known_version, known = self.streams.get(stream_id)
        reference = await load_reference(self.engine, self.codec, nip)
        tail: list[EnvelopeBase] = []

        def decide_on(history: list[EnvelopeBase]) -> list[NewEvent]:
            tail[:] = history  # the events after known_version; the state is order-insensitive
            state = fold_facts(reference, fold_facts(history, known))
            outcome = decide(command, received_at, state, self.limits)
            if isinstance(outcome, CommandRejected):
                raise HRRefusal(outcome)
            return outcome

        try:
            events = await execute(self.store, command_id=command.command_id,
                                   stream_id=stream_id, source=SOURCE, decide=decide_on,
                                   known_version=known_version)
        except HRRefusal as refusal:
            self.streams.extend(stream_id, known_version, known, tail)
            await self.store_rejection(refusal.rejection)
            self.metrics.hr_outcomes.labels(command.type, "rejected",
                                            refusal.rejection.reason).inc()
            return refusal.rejection
        self.streams.extend(stream_id, known_version, known, [*tail, *events])
        self.count(command, events)
        return events

    def count(self, command: Any, events: list[EnvelopeBase]) -> None:
        """Record the decided outcome in the metrics."""
        for event in events:
            if event.type == "CheckInRejected":
                self.metrics.checks.labels(event.data.action, command.mode, "rejected",
                                           event.data.reason).inc()
            elif event.type in ("CheckedIn", "CheckedOut"):
                action = "check_in" if event.type == "CheckedIn" else "check_out"
                self.metrics.checks.labels(action, event.data.mode, "accepted", "").inc()
            else:
                self.metrics.hr_outcomes.labels(command.type, "accepted", "").inc()

    async def stored_rejection(self, command_id: Any) -> CommandRejected | None:
        """The stored refusal of an HR command, if this command id was refused before."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(
                select(hr_rejections).where(hr_rejections.c.command_id == command_id))).first()
        if row is None:
            return None
        return CommandRejected(row.command_id, row.reason, is_retryable(row.reason), row.detail)

    async def store_rejection(self, rejection: CommandRejected) -> None:
        """Keep an HR refusal as its command's final outcome."""
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(hr_rejections)
                .values(command_id=rejection.command_id, reason=rejection.reason,
                        detail=rejection.detail, recorded_at=datetime.now(WIB))
                .on_conflict_do_nothing(index_elements=["command_id"])
            )
