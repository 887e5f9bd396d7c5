"""Database plumbing shared by every service: engine, schema of the shared tables, databases.

The tables (SQLAlchemy Core, one `MetaData`):
- `events`: the append-only event store; `UNIQUE (stream_id, stream_version)` is the optimistic
  concurrency check.
- `outbox`: one row per appended event, written in the append's transaction; the relay publishes
  and marks it.
- `commands`: the outcome of each command id, for idempotent commands: the event ids it
  appended, or the `reason` (and `detail`) of a refusal that has no event of its own.
- `inbox`: `(consumer, event_id)` of every event a consumer has applied (dedupe), with a digest
  of its content, so a second delivery of one event id with other content is caught.
- `dead_letters`: messages a consumer could not handle after its retries, parked whole so the
  partition moves on; an operator lists, inspects and replays them (`kinerja deadletters`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

metadata = MetaData()

EVENTS_STREAM_VERSION_KEY = "events_stream_version_key"
EVENTS_EVENT_ID_KEY = "events_event_id_key"
COMMANDS_PKEY = "commands_pkey"

events = Table(
    "events",
    metadata,
    Column("position", BigInteger, Identity(), primary_key=True),
    Column("event_id", Uuid, nullable=False),
    Column("stream_id", Text, nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("type", Text, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("source", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("envelope", JSONB, nullable=False),
    UniqueConstraint("stream_id", "stream_version", name=EVENTS_STREAM_VERSION_KEY),
    UniqueConstraint("event_id", name=EVENTS_EVENT_ID_KEY),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    # Not unique: a row is written only with its event, whose id `events` keeps unique.
    Column("event_id", Uuid, nullable=False),
    Column("topic", Text, nullable=False),
    Column("key", LargeBinary, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("stream_id", Text, nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Index("outbox_unsent_id_idx", "id", postgresql_where=text("sent_at IS NULL")),
)

commands = Table(
    "commands",
    metadata,
    Column("command_id", Uuid, nullable=False),
    Column("stream_id", Text, nullable=False),
    Column("event_ids", ARRAY(Uuid), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=True),
    Column("detail", Text, nullable=True),
    Column("retryable", Boolean, nullable=True),
    PrimaryKeyConstraint("command_id", name=COMMANDS_PKEY),
)

inbox = Table(
    "inbox",
    metadata,
    Column("consumer", Text, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("digest", LargeBinary, nullable=True),
    PrimaryKeyConstraint("consumer", "event_id", name="inbox_pkey"),
)


dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("consumer", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("key", LargeBinary, nullable=True),
    Column("headers", JSONB, nullable=False),
    Column("body", LargeBinary, nullable=True),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("first_failure", DateTime(timezone=True), nullable=False),
    Column("last_failure", DateTime(timezone=True), nullable=False),
    Column("replayed_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("consumer", "topic", "partition", "offset", name="dead_letters_record_key"),
)

# Changes after a table's first release: `create_all` does not make them in a database made by
# an older version (e.g. a `./var` kept from an earlier `make run`).
_LATER_CHANGES = (
    "DROP INDEX IF EXISTS outbox_unsent_idx",  # the relay claims by id alone since 2026-12
    # redundant with events' own key, and every outbox row written and marked sent paid for it
    "ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_event_id_key",
    "ALTER TABLE commands ADD COLUMN IF NOT EXISTS reason text",
    "ALTER TABLE commands ADD COLUMN IF NOT EXISTS detail text",
    "ALTER TABLE commands ADD COLUMN IF NOT EXISTS retryable boolean",
    "ALTER TABLE inbox ADD COLUMN IF NOT EXISTS digest bytea",
)


def make_engine(url: str, **options: object) -> AsyncEngine:
    """An async SQLAlchemy engine (asyncpg) for `url`; a plain `postgresql://` URL is accepted."""
    return create_async_engine(asyncpg_url(url), **options)


async def create_schema(engine: AsyncEngine) -> None:
    """Create the shared tables (events, outbox, commands, inbox, dead letters) if they do not
    exist, and make the changes later versions made (columns added, an index dropped)."""
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        for statement in _LATER_CHANGES:
            await conn.execute(text(statement))


def asyncpg_url(url: str) -> str:
    """`url` with the `postgresql+asyncpg` driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def service_database_url(base_url: str, dbname: str) -> str:
    """The URL of database `dbname` on the server of `base_url` (asyncpg driver)."""
    return make_url(asyncpg_url(base_url)).set(database=dbname).render_as_string(
        hide_password=False
    )


@asynccontextmanager
async def admin_connection(url: str) -> AsyncIterator[AsyncConnection]:
    """An autocommit connection to the `postgres` database of the server of `url` (for work
    outside any one database: creating, dropping, configuring), closed with its engine."""
    admin = make_engine(service_database_url(url, "postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            yield conn
    finally:
        await admin.dispose()


async def ensure_database(url: str) -> bool:
    """Create the database named in `url` if it does not exist; True if it was created."""
    dbname = make_url(url).database
    if not dbname:
        raise ValueError(f"no database name in {url!r}")
    async with admin_connection(url) as conn:
        exists = await conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": dbname}
        )
        if exists:
            return False
        quoted = conn.dialect.identifier_preparer.quote_identifier(dbname)
        try:
            await conn.execute(text(f"CREATE DATABASE {quoted}"))
        except DBAPIError as exc:  # created concurrently by another process
            if "already exists" in str(exc.orig):
                return False
            raise
        return True


async def apply_settings(url: str, settings: dict[str, str]) -> None:
    """`ALTER SYSTEM SET` each of `settings` on the server of `url` and reload its
    configuration (reloadable settings only; they are kept in its data directory)."""
    async with admin_connection(url) as conn:
        for name, value in settings.items():
            quoted = conn.dialect.identifier_preparer.quote_identifier(name)
            literal = value.replace("'", "''")  # ALTER SYSTEM takes no parameters
            await conn.execute(text(f"ALTER SYSTEM SET {quoted} = '{literal}'"))
        await conn.execute(text("SELECT pg_reload_conf()"))


async def drop_database(url: str) -> None:
    """Drop the database named in `url` (closing its other sessions), if it exists."""
    dbname = make_url(url).database
    async with admin_connection(url) as conn:
        quoted = conn.dialect.identifier_preparer.quote_identifier(dbname)
        await conn.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
