"""What leaves payroll as files: exported histories (JSONL, for auditors and `verify`) and the
payroll office's CSV of a close."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kinerja_events.db import events as event_table
from kinerja_events.events import TPPAdjusted

from .closing import Close
from .ledger import load_envelopes
from .tables import closes


async def export_history(engine: AsyncEngine, out: Path, period: str | None = None) -> int:
    """Write an exported history (one envelope per line): the facts in `period`'s close
    cut-off and payroll's events up to that close (everything, without a period)."""
    async with engine.connect() as conn:
        seq = None
        if period is not None:
            seq = await conn.scalar(select(closes.c.seq).where(closes.c.period == period))
            if seq is None:
                raise LookupError(f"{period} is not closed")
        lines = [*await load_envelopes(conn, up_to_seq=seq),
                 *await load_payroll_events(conn, up_to_seq=seq)]
    return write_jsonl(out, lines)


async def load_payroll_events(conn: AsyncConnection, up_to_seq: int | None) -> list[dict]:
    """Payroll's own events, of the closes with ordinal ≤ `up_to_seq` (all without one)."""
    streams = select(func.concat("payroll:", closes.c.period))
    if up_to_seq is not None:
        streams = streams.where(closes.c.seq <= up_to_seq)
    rows = await conn.execute(select(event_table.c.envelope)
                              .where(event_table.c.stream_id.in_(streams))
                              .order_by(event_table.c.stream_id, event_table.c.stream_version))
    return [row.envelope for row in rows]


def write_jsonl(out: Path, envelopes: Iterable[dict]) -> int:
    """Write one compact JSON envelope per line; return how many."""
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with out.open("w", encoding="utf-8") as stream:
        for envelope in envelopes:
            stream.write(json.dumps(envelope, separators=(",", ":"), ensure_ascii=False) + "\n")
            count += 1
    return count


CSV_FIELDS = ["nip", "name", "unit", "period", "base_rupiah", "productivity_rupiah", "discipline_rupiah",
              "ikp_rupiah", "total_rupiah", "productivity_ratio", "behaviour_ratio",
              "discipline_cut", "tk_days", "approved_minutes", "target_minutes", "flags",
              "mkd_days_per_week_next", "rule_set", "rule_set_hash"]


def write_close_csv(close: Close, directory: Path,
                    names: dict[str, tuple[str, str]] | None = None) -> list[Path]:
    """The payroll office's CSV of a close (and of the adjustments it pays, if any), with each
    employee's (name, unit) from `names` where given."""
    names = names or {}
    directory.mkdir(parents=True, exist_ok=True)
    main = directory / f"tpp-{close.period}.csv"
    with main.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for r in close.results:
            name, unit = names.get(r.nip, ("", ""))
            writer.writerow({**{k: r.tpp[k] for k in CSV_FIELDS if k in r.tpp},
                             "name": name, "unit": unit, "flags": " ".join(r.tpp["flags"]),
                             "mkd_days_per_week_next": r.mkd_days_per_week})
    written = [main]
    if close.adjustments:
        extra = directory / f"tpp-adjustments-paid-in-{close.period}.csv"
        with extra.open("w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, fieldnames=list(TPPAdjusted.model_fields))
            writer.writeheader()
            for a in close.adjustments:
                writer.writerow(a.model_dump())
        written.append(extra)
    return written

