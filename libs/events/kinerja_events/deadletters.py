"""Dead letters: messages a consumer could not handle after its retries, parked in its own database.

A parked record keeps everything needed to look at it and to send it again: topic, partition,
offset, key, headers, body and timestamp, with the reason (a fixed list), the error, the number
of attempts and the first and last failure. `replay` publishes the record again, unchanged and with
its original timestamp, to its topic (so a command is judged as of when it was first received);
the consumer then handles it like any message, and its command id keeps it from deciding twice.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from .db import dead_letters
from .types import WIB

HANDLER_ERROR = "handler_error"
DATABASE_REFUSED = "database_refused"
UNKNOWN_VERSION = "unknown_version"
CONFLICTING_DUPLICATE = "conflicting_duplicate"


def dead_letter_reason(error: BaseException) -> str:
    """Why a message was parked, one of the four reasons above: an event of a schema version
    the consumer does not know yet, an event id delivered again with other content, PostgreSQL
    refusing the work (a value, a constraint), or anything else (a bug)."""
    import asyncpg

    named = getattr(error, "reason", None)  # ContractError, inbox.ConflictingDuplicate
    if named in (UNKNOWN_VERSION, CONFLICTING_DUPLICATE):
        return named
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, DBAPIError | asyncpg.PostgresError):
            return DATABASE_REFUSED
        current = current.__cause__
    return HANDLER_ERROR


def _headers_of(record: Any) -> list[list[str]]:
    """Headers as JSON-safe `[name, base64 value]` pairs."""
    return [[str(name), base64.b64encode(value or b"").decode()]
            for name, value in record.headers or ()]


async def park_record(engine: AsyncEngine, consumer: str, record: Any, reason: str,
                      error: BaseException, attempts: int) -> None:
    """Keep `record` as a dead letter of `consumer` (again: the latest failure is noted)."""
    now = datetime.now(WIB)
    values = dict(consumer=consumer, topic=record.topic, partition=record.partition,
                  offset=record.offset, key=record.key, headers=_headers_of(record),
                  body=record.value, timestamp_ms=max(0, int(record.timestamp or 0)),
                  reason=reason, error=f"{type(error).__name__}: {str(error)[:2000]}",
                  attempts=attempts, first_failure=now, last_failure=now)
    statement = insert(dead_letters).values(**values)
    statement = statement.on_conflict_do_update(
        constraint="dead_letters_record_key",
        set_={"last_failure": now, "reason": reason, "error": values["error"],
              "attempts": dead_letters.c.attempts + attempts, "replayed_at": None})
    async with engine.begin() as conn:
        await conn.execute(statement)


@dataclass(frozen=True)
class DeadLetter:
    """One parked record, as `kinerja deadletters` shows it."""

    id: int
    consumer: str
    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: list[tuple[str, bytes]]
    body: bytes | None
    timestamp_ms: int
    reason: str
    error: str
    attempts: int
    first_failure: datetime
    last_failure: datetime
    replayed_at: datetime | None

    def summary(self) -> dict[str, Any]:
        """A JSON-safe description (the body as text where it is UTF-8, else base64)."""
        return {
            "id": self.id, "consumer": self.consumer, "topic": self.topic,
            "partition": self.partition, "offset": self.offset,
            "key": printable(self.key), "reason": self.reason, "error": self.error,
            "attempts": self.attempts, "first_failure": self.first_failure.isoformat(),
            "last_failure": self.last_failure.isoformat(),
            "replayed_at": self.replayed_at.isoformat() if self.replayed_at else None,
            "bytes": len(self.body or b""),
        }


def printable(value: bytes | None) -> str | None:
    """`value` as text where it is UTF-8, else base64 (prefixed `base64:`)."""
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(value).decode()


def _dead_letter(row: Any) -> DeadLetter:
    headers = [(name, base64.b64decode(value)) for name, value in row.headers]
    return DeadLetter(row.id, row.consumer, row.topic, row.partition, row.offset, row.key,
                      headers, row.body, row.timestamp_ms, row.reason, row.error, row.attempts,
                      row.first_failure, row.last_failure, row.replayed_at)


async def list_dead_letters(engine: AsyncEngine, *, include_replayed: bool = False
                            ) -> list[DeadLetter]:
    """The parked records (not yet replayed, unless asked), oldest first."""
    query = select(dead_letters).order_by(dead_letters.c.id)
    if not include_replayed:
        query = query.where(dead_letters.c.replayed_at.is_(None))
    async with engine.connect() as conn:
        return [_dead_letter(row) for row in await conn.execute(query)]


async def get_dead_letter(engine: AsyncEngine, dead_letter_id: int) -> DeadLetter | None:
    """One parked record by its id."""
    async with engine.connect() as conn:
        row = (await conn.execute(
            select(dead_letters).where(dead_letters.c.id == dead_letter_id))).first()
    return None if row is None else _dead_letter(row)


async def count_dead_letters(engine: AsyncEngine) -> int:
    """How many parked records wait for an operator."""
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(dead_letters).where(
            dead_letters.c.replayed_at.is_(None))) or 0)


async def replay_dead_letters(engine: AsyncEngine, producer: Any,
                              letters: Sequence[DeadLetter]) -> int:
    """Publish each of `letters` again to its topic, as it was first received (key, headers,
    body, timestamp), and mark it replayed. Returns how many."""
    for letter in letters:
        await producer.send_and_wait(letter.topic, value=letter.body, key=letter.key,
                                     headers=letter.headers,
                                     timestamp_ms=letter.timestamp_ms or None)
        async with engine.begin() as conn:
            await conn.execute(update(dead_letters).where(dead_letters.c.id == letter.id)
                               .values(replayed_at=datetime.now(WIB)))
    return len(letters)
