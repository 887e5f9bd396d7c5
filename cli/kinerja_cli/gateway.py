"""The mobile gateway's side of the bus: signed commands out, their outcomes back.

A command's outcome is the event its service records for it — the one whose `causation_id` is
the command's id — on the service's topic. The gateway sends a command, and sends it again with
the same `command_id` (and the same record timestamp) until that outcome appears: a service
answers a repeat from its stored outcome, so resending is safe, and a platform that crashed
before deciding a command still gets it. A real gateway must do the same.

`kinerja gateway send SERVICE COMMAND` publishes one command by hand (for trying things and for
support staff) and prints its outcome.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import structlog

log = structlog.get_logger("kinerja.gateway")

COMMAND_SERVICES = ("attendance", "worklog", "appraisal", "mkd")
RESEND_AFTER_SECONDS = 10.0
GIVE_UP_SECONDS = 300.0


class GaveUp(RuntimeError):
    """Commands whose outcome never appeared, however often they were sent."""


@dataclass(frozen=True)
class Outcome:
    """An event a command produced."""

    event_id: UUID
    type: str
    data: Mapping[str, Any]


def signing_keys(env: Mapping[str, str] = os.environ) -> dict[str, bytes]:
    """The gateway's and the HR side's keys, as the services read them."""
    from kinerja_events.signing import gateway_key, hr_key

    return {"gateway": gateway_key(env), "hr": hr_key(env)}


def signer_of(command_type: str) -> str:
    """Who signs a command of `command_type`: "hr" or "gateway"."""
    from kinerja_events.signing import HR_SIGNED

    return "hr" if command_type in HR_SIGNED else "gateway"


class Gateway:
    """Sends signed commands and collects their outcomes from the services' topics."""

    def __init__(self, bootstrap: str, keys: Mapping[str, bytes], *,
                 resend_after: float = RESEND_AFTER_SECONDS, give_up: float = GIVE_UP_SECONDS):
        self.bootstrap = bootstrap
        self.keys = dict(keys)
        self.resend_after = resend_after
        self.give_up = give_up
        self.outcomes: dict[UUID, list[Outcome]] = {}
        self.arrived = asyncio.Event()
        self.producer: Any = None
        self.consumer: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.resent = 0

    async def start(self) -> None:
        """Start producing, and reading the services' topics from their beginning."""
        from aiokafka import AIOKafkaConsumer

        from kinerja_events import topics
        from kinerja_events.outbox import make_producer

        self.producer = make_producer(self.bootstrap, linger_ms=5)
        await self.producer.start()
        self.consumer = AIOKafkaConsumer(
            *(topics.SOURCE_TOPIC[s] for s in COMMAND_SERVICES), bootstrap_servers=self.bootstrap,
            group_id=None, auto_offset_reset="earliest", enable_auto_commit=False,
            fetch_max_wait_ms=20)
        await self.consumer.start()
        self.reader = asyncio.create_task(self.read_outcomes(), name="gateway-outcomes")

    async def stop(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)
        for client in (self.consumer, self.producer):
            if client is not None:
                await client.stop()

    async def read_outcomes(self) -> None:
        """Note every event that names a command as its cause (anything else is skipped)."""
        while True:
            polled = await self.consumer.getmany(timeout_ms=500, max_records=5000)
            for records in polled.values():
                for record in records:
                    self.note(record.value)
            if polled:
                self.arrived.set()

    def note(self, value: bytes | None) -> None:
        try:
            event = json.loads(value or b"")
            cause = UUID(event["causation_id"])
            outcome = Outcome(UUID(event["event_id"]), str(event["type"]), event["data"])
        except (ValueError, KeyError, TypeError):
            return
        known = self.outcomes.setdefault(cause, [])
        if all(o.event_id != outcome.event_id for o in known):
            known.append(outcome)

    async def send(self, service: str, command: Any, *, received_at: datetime | None = None
                   ) -> None:
        """Publish `command` to `service` signed with its signer's key; the record's timestamp
        is `received_at` (a simulated moment) or now."""
        from kinerja_events.publishing import command_body, timestamp_ms
        from kinerja_events.signing import SIGNATURE_HEADER, sign
        from kinerja_events.topics import commands_topic

        body = command_body(command)
        key = self.keys[signer_of(command.type)]
        await self.producer.send(commands_topic(service), value=body,
                                 key=command.actor_nip.encode(),
                                 headers=[(SIGNATURE_HEADER, sign(body, key).encode())],
                                 timestamp_ms=timestamp_ms(received_at))

    async def decide(self, sends: Sequence[tuple[str, Any, datetime | None]]
                     ) -> dict[UUID, list[Outcome]]:
        """Send each (service, command, record time) and wait for every outcome, sending the
        missing ones again every `resend_after` seconds; `GaveUp` after `give_up` seconds."""
        waiting = {command.command_id: (service, command, moment)
                   for service, command, moment in sends}
        started = time.monotonic()
        first = True
        while True:
            missing = [waiting[c] for c in waiting if c not in self.outcomes]
            if not missing:
                return {c: self.outcomes[c] for c in waiting}
            if time.monotonic() - started > self.give_up:
                raise GaveUp(f"no outcome after {self.give_up:.0f}s for {len(missing)} "
                             f"command(s), e.g. {missing[0][1].type} {missing[0][1].command_id}")
            if not first:
                self.resent += len(missing)
                log.warning("resending", commands=len(missing))
            for service, command, moment in missing:
                await self.send(service, command, received_at=moment)
            await self.producer.flush()
            first = False
            await self.wait_for(set(waiting), self.resend_after)

    async def wait_for(self, command_ids: set[UUID], seconds: float) -> None:
        """Until every command in `command_ids` has an outcome, or `seconds` passed."""
        deadline = time.monotonic() + seconds
        while not command_ids <= self.outcomes.keys():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), min(left, 1.0))
            except TimeoutError:
                pass


# --- `kinerja gateway send` ---------------------------------------------------------------------
def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add `send` to the `gateway` parser."""
    sub = parser.add_subparsers(dest="gateway_command", metavar="COMMAND")
    sub.required = True
    send = sub.add_parser(
        "send", help="publish one signed command and print its outcome",
        description="Publish one command, signed like the mobile gateway (or the HR side for "
                    "leave and travel), and print the event its service records for it. "
                    "`command_id` and `sent_at` are filled in when missing.")
    send.add_argument("service", choices=COMMAND_SERVICES)
    send.add_argument("command", help="the command as JSON, or @FILE to read it from a file")
    send.add_argument("--wait", type=float, default=30.0,
                      help="seconds to wait for the outcome (default 30)")
    send.add_argument("--json", action="store_true", help="print the outcome events as JSON")
    send.set_defaults(func=run_send)


def run_send(args: argparse.Namespace) -> int:
    """Validate, send, wait for the outcome, print it."""
    try:
        command = parse_command(args.service, read_argument(args.command))
    except ValueError as exc:
        print(f"kinerja gateway: {exc}", file=sys.stderr)
        return 2
    from kinerja_events.embedded import PlatformNotRunning, attach_endpoints
    from kinerja_events.settings import load_settings

    try:
        endpoints = asyncio.run(attach_endpoints(load_settings()))
    except PlatformNotRunning as exc:
        print(f"kinerja gateway: {exc}", file=sys.stderr)
        return 1
    gateway = Gateway(endpoints.kafka_bootstrap, signing_keys(),
                      resend_after=min(5.0, args.wait), give_up=args.wait)
    try:
        outcomes = asyncio.run(send_one(gateway, args.service, command))
    except GaveUp:
        print(f"kinerja gateway: no outcome for {command.type} {command.command_id} within "
              f"{args.wait:.0f}s (is the {args.service} service running? it will still be "
              "decided when it comes)", file=sys.stderr)
        return 1
    print_outcomes(command, outcomes, as_json=args.json)
    return 0


async def send_one(gateway: Gateway, service: str, command: Any) -> list[Outcome]:
    await gateway.start()
    try:
        return (await gateway.decide([(service, command, None)]))[command.command_id]
    finally:
        await gateway.stop()


def read_argument(value: str) -> str:
    """The command text: `value`, or the file `@PATH` names."""
    if not value.startswith("@"):
        return value
    try:
        with open(value[1:], encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise ValueError(f"cannot read {value[1:]}: {exc.strerror}") from None


def parse_command(service: str, text: str) -> Any:
    """The contract command `text` describes (ids and time filled in); `ValueError` saying
    what is wrong, field by field."""
    from pydantic import TypeAdapter, ValidationError

    from kinerja_events import commands as cmd
    from kinerja_events.types import WIB

    models = {"attendance": cmd.AttendanceCommand, "worklog": cmd.WorklogCommand,
              "appraisal": cmd.AppraisalCommand, "mkd": cmd.MKDCommand}
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(raw, dict):
        raise ValueError("a command is a JSON object")
    raw.setdefault("command_id", str(uuid4()))
    raw.setdefault("sent_at", datetime.now(WIB).isoformat())
    try:
        return TypeAdapter(models[service]).validate_python(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'command'}: {e['msg']}"
                             for e in exc.errors()[:8])
        raise ValueError(f"not a {service} command: {problems}") from None


def print_outcomes(command: Any, outcomes: Sequence[Outcome], *, as_json: bool) -> None:
    if as_json:
        for outcome in outcomes:
            print(json.dumps({"command_id": str(command.command_id), "event_id":
                              str(outcome.event_id), "type": outcome.type,
                              "data": outcome.data}, sort_keys=True))
        return
    print(f"{command.type} {command.command_id}:")
    for outcome in outcomes:
        reason = outcome.data.get("reason")
        print(f"  {outcome.type}" + (f"  reason: {reason}" if reason else ""))
