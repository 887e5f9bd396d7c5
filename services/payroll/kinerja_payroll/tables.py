"""Payroll's own tables (beside the shared event store, outbox and inbox).

- `facts`: every fact payroll consumed, whole. `close_seq` is the ordinal of the first close
  whose cut-off included it (null until then): the cut-off of close `n` is every fact with
  `close_seq <= n`, so a close's set of included event ids is kept exactly, without a row per id.
  `projected` marks facts already folded into the open months' projection.
- `closes`: one row per closed period, with the rule file it was computed under.
- `results`: the frozen `TPPCalculated` data of each close.
- `adjustments`: every `TPPAdjusted` paid.
- `projection`: the open months' current figures, per employee.
- `close_attempts`: every close tried (by whichever process), its outcome and duration, which
  the service turns into `kinerja_payroll_closes_total` and `kinerja_payroll_close_seconds`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger, Boolean, Column, DateTime, Float, Identity, Integer, LargeBinary, MetaData,
    PrimaryKeyConstraint, Table, Text, Uuid, func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

metadata = MetaData()

facts = Table(
    "facts", metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("type", Text, nullable=False),
    Column("envelope", JSONB, nullable=False),
    Column("stored_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("close_seq", Integer, nullable=True, index=True),
    Column("projected", Boolean, nullable=False, server_default="false", index=True),
)

closes = Table(
    "closes", metadata,
    Column("period", Text, primary_key=True),
    Column("seq", Integer, nullable=False, unique=True),
    Column("closed_at", DateTime(timezone=True), nullable=False),
    Column("rule_set", Text, nullable=False),
    Column("rule_set_hash", Text, nullable=False),
    Column("rules_file", LargeBinary, nullable=False),
    Column("employees", Integer, nullable=False),
    Column("total_rupiah", BigInteger, nullable=False),
    Column("adjustments_rupiah", BigInteger, nullable=False),
    Column("digest", Text, nullable=False),
)

results = Table(
    "results", metadata,
    Column("period", Text, nullable=False),
    Column("nip", Text, nullable=False),
    Column("total_rupiah", BigInteger, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("mkd_days_per_week", Integer, nullable=False),
    PrimaryKeyConstraint("period", "nip"),
)

adjustments = Table(
    "adjustments", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("nip", Text, nullable=False),
    Column("period", Text, nullable=False, index=True),
    Column("paid_in_period", Text, nullable=False),
    Column("delta_rupiah", BigInteger, nullable=False),
    Column("recomputed_total", BigInteger, nullable=False),
)

projection = Table(
    "projection", metadata,
    Column("period", Text, nullable=False),
    Column("nip", Text, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("period", "nip"),
)

close_attempts = Table(
    "close_attempts", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("period", Text, nullable=False),
    Column("outcome", Text, nullable=False),  # closed | refused | already_closed
    Column("seconds", Float, nullable=False),
    Column("attempted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


async def create_tables(engine: AsyncEngine) -> None:
    """Create payroll's tables if they do not exist."""
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
