"""A month's TPP as the payroll office reads it: one row per employee with their name and unit,
each part, the total, TK and the discipline cut, and the totals.

A closed month is shown from its close (the frozen `TPPCalculated` data), an open one from the
projection. Names and units are the employee's attributes on the month's last day (RULES.md
§1), from the HR facts payroll holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from .facts import build_facts
from .fold import Month, attributes_on
from .tables import closes, facts, projection, results

EMPLOYEE_TYPES = ("EmployeeRegistered", "EmployeeChanged")
PARTS = ("base_rupiah", "productivity_rupiah", "discipline_rupiah", "ikp_rupiah", "total_rupiah")


@dataclass(frozen=True)
class Row:
    """One employee's month: the `TPPCalculated` data, with name and unit."""

    name: str
    unit: str
    tpp: dict[str, Any]


@dataclass(frozen=True)
class MonthTable:
    """A month's rows, and whether they come from a close or from the projection."""

    period: str
    closed: bool
    rows: list[Row]

    def totals(self) -> dict[str, int]:
        """Σ of each rupiah part, and of TK days."""
        sums = {part: sum(r.tpp[part] for r in self.rows) for part in PARTS}
        return {**sums, "tk_days": sum(r.tpp["tk_days"] for r in self.rows)}

    def as_json(self) -> Iterable[dict[str, Any]]:
        """One object per employee: the `TPPCalculated` data with `name` and `unit`."""
        for row in self.rows:
            yield {**row.tpp, "name": row.name, "unit": row.unit}


async def month_table(conn: AsyncConnection, period: str) -> MonthTable:
    """`period` from its close if it is closed, else from the projection."""
    closed = await conn.scalar(select(closes.c.seq).where(closes.c.period == period)) is not None
    source = (select(results.c.data).where(results.c.period == period) if closed else
              select(projection.c.data).where(projection.c.period == period))
    data = [row.data for row in await conn.execute(source)]
    names = await names_and_units(conn, period)
    rows = [Row(*names.get(d["nip"], ("", "")), tpp=d) for d in data]
    rows.sort(key=lambda r: (r.unit, r.tpp["nip"]))
    return MonthTable(period, closed, rows)


async def names_and_units(conn: AsyncConnection, period: str) -> dict[str, tuple[str, str]]:
    """Each employee's (name, unit) on the last day of `period`."""
    envelopes = [row.envelope for row in await conn.execute(
        select(facts.c.envelope).where(facts.c.type.in_(EMPLOYEE_TYPES)))]
    last = Month.parse(period).last
    out = {}
    for nip, employee in build_facts(envelopes).employees.items():
        attributes = attributes_on(employee, last)
        out[nip] = (str(attributes.get("name") or ""), str(attributes.get("unit") or ""))
    return out


def render(table: MonthTable) -> str:
    """The month as a fixed-width table with a totals line."""
    head = ("NIP", "Name", "Unit", "Base", "Productivity", "Discipline", "IKP", "Total", "TK",
            "Cut %")
    lines = [table_row(head), table_row(tuple("-" * width for width in WIDTHS))]
    for row in table.rows:
        t = row.tpp
        lines.append(table_row((t["nip"], row.name, row.unit, *(rupiah(t[p]) for p in PARTS),
                                str(t["tk_days"]), percent(t["discipline_cut"]))))
    totals = table.totals()
    lines.append(table_row(tuple("-" * width for width in WIDTHS)))
    lines.append(table_row((f"{len(table.rows)} employees", "", "",
                            *(rupiah(totals[p]) for p in PARTS), str(totals["tk_days"]), "")))
    state = "closed" if table.closed else "open: projected so far"
    return "\n".join([f"TPP {table.period} ({state})", *lines])


WIDTHS = (18, 24, 20, 12, 13, 12, 11, 12, 3, 6)
RIGHT = (False, False, False, True, True, True, True, True, True, True)


def table_row(cells: Sequence[str]) -> str:
    """Cells padded (and cut) to the table's widths."""
    return "  ".join(cell[:width].rjust(width) if right else cell[:width].ljust(width)
                     for cell, width, right in zip(cells, WIDTHS, RIGHT, strict=True)).rstrip()


def rupiah(value: int) -> str:
    """Whole rupiah with thousands separated by dots, as Indonesians write them."""
    return f"{value:,}".replace(",", ".")


def percent(ratio: str) -> str:
    """A six-place ratio string as a percentage with two places."""
    whole, _, fraction = ratio.partition(".")
    hundredths = int(whole) * 10_000 + int(fraction[:4])
    return f"{hundredths // 100}.{hundredths % 100:02d}"
