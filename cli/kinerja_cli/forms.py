"""`kinerja report ...`: the printed forms of e-Kinerja and the export for the national system.

- `kinerja report skp NIP YEAR` writes one PDF: the employee's SKP of the year (the approved
  revision's items and the superior's items they serve), monthly targets against realisation,
  the evaluations with their predikat, and each month's TPP from payroll's closes.
- `kinerja report skp --unit UNIT YEAR` writes one PDF per employee of the unit.
- `kinerja report siasn YEAR [--quarter Q | --annual]` prints the evaluations as JSON records
  for SIASN (fields in docs/skp.md).

They read the running platform's appraisal and payroll databases.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kinerja_events.arguments import nip_argument, year_argument

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
RATING_WORDS = {"above": "above expectations", "meets": "meets expectations",
                "below": "below expectations"}
PREDIKAT_WORDS = {"sangat_baik": "Sangat Baik", "baik": "Baik",
                  "butuh_perbaikan": "Butuh Perbaikan", "kurang": "Kurang",
                  "sangat_kurang": "Sangat Kurang"}


@dataclass(frozen=True)
class MonthTPP:
    """One closed month's TPP of an employee, and what later adjustments changed it by."""

    period: str
    total_rupiah: int
    adjusted_rupiah: int


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add `skp` and `siasn` to the `report` parser."""
    sub = parser.add_subparsers(dest="report_command", metavar="COMMAND")
    sub.required = True
    skp = sub.add_parser("skp", help="an employee's SKP, realisation, evaluations and TPP as a "
                                     "PDF (or one per employee of a unit)")
    skp.add_argument("nip", nargs="?", type=nip_argument, help="the employee's NIP")
    skp.add_argument("year", type=year_argument, help="the year, e.g. 2026")
    skp.add_argument("--unit", help="every employee of this unit instead of one NIP")
    skp.add_argument("--out", type=Path, default=Path("."),
                     help="the directory to write the PDFs to (default: here)")
    skp.add_argument("--json", action="store_true",
                     help="print what was written as JSON instead of a table")
    skp.set_defaults(func=run_skp)
    siasn = sub.add_parser("siasn", help="the evaluations of a year as JSON records for SIASN")
    siasn.add_argument("year", type=year_argument, help="the year")
    which = siasn.add_mutually_exclusive_group()
    which.add_argument("--quarter", type=int, choices=(1, 2, 3, 4), help="one quarter only")
    which.add_argument("--annual", action="store_true", help="the annual evaluations only")
    siasn.add_argument("--out", type=Path, help="write the records to this file (default: "
                                                "print them)")
    siasn.set_defaults(func=run_siasn)


# --- reading --------------------------------------------------------------------------------
async def tpp_by_month(conn: Any, nip: str, year: int) -> list[MonthTPP]:
    """`nip`'s TPP of each closed month of `year` (payroll's `TPPCalculated`), with the sum of
    the adjustments paid for it later (`TPPAdjusted`)."""
    rows = await conn.fetch(
        "SELECT type, envelope->'data'->>'period', "
        "(envelope->'data'->>CASE type WHEN 'TPPCalculated' THEN 'total_rupiah' "
        "ELSE 'delta_rupiah' END)::bigint FROM events "
        "WHERE type IN ('TPPCalculated', 'TPPAdjusted') AND envelope->'data'->>'nip' = $1 "
        "AND envelope->'data'->>'period' LIKE $2", nip, f"{year}-%")
    totals: dict[str, int] = {}
    adjusted: dict[str, int] = {}
    for kind, period, amount in rows:
        if kind == "TPPCalculated":
            totals[period] = amount
        else:
            adjusted[period] = adjusted.get(period, 0) + amount
    return [MonthTPP(p, totals[p], adjusted.get(p, 0)) for p in sorted(totals)]


def read_views(nips: Sequence[str] | None, unit: str | None, year: int) -> Any:
    """The SKP views of `nips` (or of the unit's employees) and their TPP by month; None when a
    database cannot be reached (said on stderr)."""
    from kinerja_appraisal.queries import skp_view, unit_members
    from kinerja_events.runtime import UNREACHABLE, read_service_database
    from kinerja_events.types import WIB

    today = datetime.now(WIB).date()

    async def appraisal(conn: Any, codec: Any) -> Any:
        wanted = list(nips or []) if unit is None else await unit_members(
            conn, codec, unit, year, today)
        return [await skp_view(conn, codec, nip, year, today) for nip in wanted]

    views = read_service_database("kinerja report skp", "appraisal", appraisal)
    if views is UNREACHABLE:
        return None

    async def payroll(conn: Any, codec: Any) -> Any:
        return {v.nip: await tpp_by_month(conn, v.nip, year) for v in views}

    tpp = read_service_database("kinerja report skp", "payroll", payroll)
    return None if tpp is UNREACHABLE else [(view, tpp[view.nip]) for view in views]


# --- writing ----------------------------------------------------------------------------------
def plain(text: Any) -> str:
    """Text the PDF's core font can show (Latin-1; anything else becomes '?')."""
    return str("" if text is None else text).encode("latin-1", "replace").decode("latin-1")


def rupiah(value: int) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}Rp {abs(value):,}".replace(",", ".")


def write_skp_pdf(view: Any, tpp: Sequence[MonthTPP], path: Path) -> Path:
    """Write the SKP form of `view` (an `SKPView`) with its TPP months to `path`."""
    from fpdf import FPDF

    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, plain(f"SASARAN KINERJA PEGAWAI (SKP) {view.year}"),
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    for line in identity_lines(view):
        pdf.cell(0, 5, plain(line), new_x="LMARGIN", new_y="NEXT")
    section(pdf, "1. Items and the superior's items they serve (cascading)")
    grid(pdf, [["No", "Item", "Indicator", "Target", "Unit", "Serves"],
               *([str(n), i.item_id, i.indicator, f"{i.target_quantity:,}", i.unit,
                  serves(i)] for n, i in enumerate(view.items, start=1))],
         widths=(8, 22, 100, 18, 30, 99))
    section(pdf, "2. Monthly targets (T) against realisation (R): approved quantity of "
                 "activities naming the item")
    rows = [["Item", "", *MONTHS, "Year"]]
    for i in view.items:
        rows.append([i.item_id, "T", *map(str, i.monthly_targets), str(sum(i.monthly_targets))])
        rows.append(["", "R", *map(str, i.realised), str(sum(i.realised))])
    grid(pdf, rows, widths=(30, 7, *([17] * 12), 20))
    section(pdf, "3. Evaluations (result and behaviour: proposed from data / given)")
    grid(pdf, [["Period", "Result", "Behaviour", "Predikat", "Evaluator", "Override reason"],
               *([e.period, f"{e.proposed_result} / {e.result_rating}",
                  f"{e.proposed_behaviour} / {e.behaviour_rating}",
                  PREDIKAT_WORDS[e.predikat],
                  f"{e.evaluator_name or ''} ({e.evaluator_nip})", e.override_reason or "-"]
                 for e in view.evaluations)],
         widths=(22, 38, 38, 32, 75, 72))
    section(pdf, "4. TPP of each closed month (payroll)")
    grid(pdf, [["Month", "TPP at close", "Adjusted later", "TPP after adjustments"],
               *([m.period, rupiah(m.total_rupiah), rupiah(m.adjusted_rupiah),
                  rupiah(m.total_rupiah + m.adjusted_rupiah)] for m in tpp)],
         widths=(30, 50, 50, 50))
    pdf.set_font("Helvetica", "I", 7)
    pdf.cell(0, 6, plain(f"Printed by Kinerja at {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
                         " from the appraisal and payroll event stores."),
             new_x="LMARGIN", new_y="NEXT")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def identity_lines(view: Any) -> list[str]:
    status = {None: "no SKP drafted", "drafted": "awaiting the superior's decision",
              "approved": "approved", "returned": "returned"}[view.latest_status]
    lines = [f"Employee: {view.name or '?'}  NIP {view.nip}   Unit: {view.unit or '-'}",
             f"Appraising official: {view.superior_name or '-'}  "
             f"{'NIP ' + view.superior_nip if view.superior_nip else '(no superior)'}",
             f"SKP: {view.skp_id or '-'}   approved revision: {view.approved_revision or '-'}   "
             f"latest revision {view.latest_revision or '-'}: {status}"]
    if view.return_notes:
        lines.append(f"Returned with notes: {view.return_notes}")
    return lines


def serves(item: Any) -> str:
    if item.supports_item_id is None:
        return f"unit goal: {item.unit_goal or '-'}"
    return f"{item.supports_item_id}: {item.supports_indicator or '(not found)'}"


def section(pdf: Any, title: str) -> None:
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 6, plain(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)


def grid(pdf: Any, rows: list[list[str]], widths: Sequence[int]) -> None:
    """A table with a header row; a table with no data rows says so."""
    if len(rows) == 1:
        rows = [*rows, ["(none)", *([""] * (len(rows[0]) - 1))]]
    with pdf.table(col_widths=widths, width=sum(widths), align="LEFT",
                   line_height=4.5) as table:
        for values in rows:
            row = table.row()
            for value in values:
                row.cell(plain(value))


def file_name(view: Any) -> str:
    return f"SKP-{view.year}-{view.nip}.pdf"


# --- the commands -------------------------------------------------------------------------------
def run_skp(args: argparse.Namespace) -> int:
    if (args.nip is None) == (args.unit is None):
        print("kinerja report skp: give a NIP or --unit UNIT (one of them)", file=sys.stderr)
        return 2
    found = read_views([args.nip] if args.nip else None, args.unit, args.year)
    if found is None:
        return 1
    if not found:
        print(f"kinerja report skp: nobody of unit {args.unit!r} is employed in {args.year}",
              file=sys.stderr)
        return 1
    written = []
    for n, (view, tpp) in enumerate(found, start=1):
        path = write_skp_pdf(view, tpp, args.out / file_name(view))
        written.append({"nip": view.nip, "name": view.name, "items": len(view.items),
                        "evaluations": [f"{e.period} {e.predikat}" for e in view.evaluations],
                        "months_of_tpp": len(tpp), "pdf": str(path)})
        if len(found) > 1 and not args.json:
            print(f"[{n}/{len(found)}] {path}", file=sys.stderr)
    print_written(written, args.json)
    return 0


def print_written(written: list[dict[str, Any]], as_json: bool) -> None:
    from kinerja_events.display import table

    if as_json:
        print(json.dumps(written, indent=2))
        return
    print(table([["NIP", "name", "items", "evaluations", "TPP months", "PDF"],
                 *([w["nip"], w["name"] or "", str(w["items"]),
                    ", ".join(w["evaluations"]) or "-", str(w["months_of_tpp"]), w["pdf"]]
                   for w in written)]))


def run_siasn(args: argparse.Namespace) -> int:
    from kinerja_appraisal.queries import siasn_records
    from kinerja_events.runtime import UNREACHABLE, read_service_database

    quarter: int | None | str = args.quarter if args.quarter else (None if args.annual
                                                                  else "any")
    records = read_service_database("kinerja report siasn", "appraisal", lambda conn, codec:
                                    siasn_records(conn, codec, args.year, quarter))
    if records is UNREACHABLE:
        return 1
    text = json.dumps(records, indent=2, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n")
        print(f"{len(records)} evaluation record(s) written to {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0
