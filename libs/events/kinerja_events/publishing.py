"""Sending to the bus from outside a service: the HR import's facts and the gateway's commands.

The HR import (SIMPEG side) publishes reference data as envelopes on `kinerja.hr`; the mobile
gateway sends signed commands on `kinerja.commands.<service>`. Tools, the demo and tests use these.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from .codec import Codec
from .envelope import NewEvent, seal
from .events import Data, EnvelopeBase
from .signing import SIGNATURE_HEADER, sign
from .topics import SOURCE_TOPIC, commands_topic, kafka_key
from .types import WIB


def envelope_of(data: Data, *, source: str, stream_id: str, stream_version: int = 1,
                occurred_at: datetime, recorded_at: datetime | None = None) -> EnvelopeBase:
    """A sealed envelope for `data` (for facts of systems outside the platform, e.g. SIMPEG)."""
    event = NewEvent(type=type(data).__name__, data=data, occurred_at=occurred_at)
    return seal(event, source=source, stream_id=stream_id, stream_version=stream_version,
                recorded_at=recorded_at or datetime.now(WIB))


async def publish_envelopes(producer: Any, codec: Codec, envelopes: Iterable[EnvelopeBase]) -> int:
    """Publish envelopes on their source's topic, keyed by NIP; return how many."""
    count = 0
    for envelope in envelopes:
        data = envelope.data.model_dump(mode="json")
        key = kafka_key(envelope.type, data, envelope.stream_id)
        await producer.send_and_wait(SOURCE_TOPIC[envelope.source], value=codec.encode(envelope),
                                     key=key.encode())
        count += 1
    return count


def command_body(command: BaseModel) -> bytes:
    """The wire bytes of a gateway command."""
    return command.model_dump_json().encode()


async def send_command(producer: Any, service: str, command: BaseModel, key: bytes,
                       body: bytes | None = None, received_at: datetime | None = None) -> None:
    """Send `command` (or raw `body`) signed with `key` to `service`'s command topic, keyed by
    its actor's NIP. The record's timestamp is when the service takes it as received: now, or
    `received_at` (a simulation replaying a past month)."""
    payload = command_body(command) if body is None else body
    nip = getattr(command, "actor_nip", "")
    await producer.send_and_wait(commands_topic(service), value=payload, key=nip.encode(),
                                 headers=[(SIGNATURE_HEADER, sign(payload, key).encode())],
                                 timestamp_ms=timestamp_ms(received_at))


def timestamp_ms(moment: datetime | None) -> int | None:
    """A record timestamp (milliseconds since the epoch) of `moment`; None lets the producer
    stamp the time of sending."""
    return None if moment is None else int(moment.timestamp() * 1000)
