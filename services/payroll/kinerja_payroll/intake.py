"""Keeping what payroll consumes: every fact of the fact topics, whole, as it came (the inbox's
batch effect)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from kinerja_events.inbox import Delivery

PAYROLL_TYPES_IGNORED = frozenset({
    "TPPCalculated", "TPPAdjusted", "PayrollClosed", "MKDEligibilityDetermined",
    "CheckInRejected", "ActivityRefused", "AppraisalRefused", "MKDRefused",
    "SKPDrafted", "SKPApproved", "SKPReturned", "EvaluationGiven",
})


STORE_FACTS = text(
    "INSERT INTO facts (event_id, type, envelope) "
    "SELECT * FROM unnest(CAST(:event_ids AS uuid[]), CAST(:types AS text[]), "
    "CAST(:envelopes AS jsonb[])) "
    "ON CONFLICT (event_id) DO NOTHING")


async def keep_facts(conn: AsyncConnection, received: Sequence[Delivery]) -> None:
    """Inbox batch effect: keep the consumed facts whole, as they came, in one statement
    (payroll's own outputs, refusals, and SKPs and evaluations, which pay nothing, excepted)."""
    kept = [r for r in received if r.envelope.type not in PAYROLL_TYPES_IGNORED]
    if kept:
        await conn.execute(STORE_FACTS, {"event_ids": [r.envelope.event_id for r in kept],
                                         "types": [r.envelope.type for r in kept],
                                         "envelopes": [r.json for r in kept]})
