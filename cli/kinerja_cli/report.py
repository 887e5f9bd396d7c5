"""What `make run` prints once the demo's last month is closed: the TPP per unit with totals,
the top and bottom five employees with the reason in a few words, the MKD days earned for this
month, and where to look next."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from .demo import SEKDA_UNIT

TOP = 5


def rupiah(value: int) -> str:
    """Whole rupiah as Indonesians write them: Rp 1.234.567."""
    sign = "-" if value < 0 else ""
    return f"{sign}Rp {abs(value):,}".replace(",", ".")


def percent(numerator: int, denominator: int) -> str:
    return f"{100 * numerator // denominator}%" if denominator else "-"


def unit_table(rows: Sequence[Any]) -> str:
    """Per unit: employees, each part of the TPP, TK days; and the totals."""
    from kinerja_events.display import table

    parts = ("base_rupiah", "productivity_rupiah", "discipline_rupiah", "ikp_rupiah",
             "total_rupiah")
    units: dict[str, list[Any]] = {}
    for row in rows:
        units.setdefault(row.unit or "(no unit)", []).append(row)
    lines = [["unit", "employees", "base", "productivity", "discipline", "IKP", "total TPP",
              "TK days"]]

    def line(name: str, members: Sequence[Any]) -> list[str]:
        sums = [sum(m.tpp[p] for m in members) for p in parts]
        return [name, str(len(members)), *map(rupiah, sums),
                str(sum(m.tpp["tk_days"] for m in members))]

    lines += [line(unit, members) for unit, members in sorted(units.items())]
    lines.append(line("TOTAL", rows))
    return table(lines)


def in_a_few_words(tpp: dict[str, Any]) -> str:
    """Why an employee's TPP is what it is, in a few words."""
    words = [f"work {percent(tpp['approved_minutes'], tpp['target_minutes'])} of target"]
    if tpp["tk_days"]:
        words.append(f"{tpp['tk_days']} day(s) absent (TK)")
    cut = float(tpp["discipline_cut"])
    if cut:
        words.append(f"discipline cut {cut * 100:.1f}%")
    words.append(f"behaviour {float(tpp['behaviour_ratio']) * 100:.0f}%")
    if tpp["ikp_rupiah"] > 0:
        words.append("IKP done")
    elif tpp["ikp_rupiah"] < 0:
        words.append("IKP not done")
    return ", ".join(words)


def ranked(rows: Sequence[Any]) -> list[Any]:
    """The OPD's employees by the share of their base TPP they earned, best first."""
    mine = [r for r in rows if r.unit != SEKDA_UNIT and r.tpp["base_rupiah"]]
    return sorted(mine, key=lambda r: (-r.tpp["total_rupiah"] / r.tpp["base_rupiah"],
                                       r.tpp["nip"]))


def people_table(rows: Sequence[Any]) -> str:
    from kinerja_events.display import table

    lines = [["NIP", "name", "unit", "TPP", "of base", "why"]]
    for row in rows:
        t = row.tpp
        lines.append([t["nip"], row.name, row.unit, rupiah(t["total_rupiah"]),
                      percent(t["total_rupiah"], t["base_rupiah"]), in_a_few_words(t)])
    return table(lines)


def mkd_lines(eligibility: dict[str, int], next_period: str) -> list[str]:
    """How many employees earned how many MKD days a week."""
    tally = Counter(eligibility.values())
    shown = ", ".join(f"{tally[days]} employees {days} day(s) a week" for days in (4, 3, 1)
                      if tally[days])
    return [f"MKD earned for {next_period} (from this close): {shown or 'none'}; "
            f"{tally[0]} not eligible."]


def render(table: Any, driven: Any, eligibility: dict[str, int], next_period: str) -> str:
    """The whole report."""
    rows = table.rows
    best = ranked(rows)
    outcome_counts = ", ".join(f"{n:,} {kind}" for kind, n in sorted(driven.outcomes.items()))
    out = [
        "",
        f"Demo: {driven.employees} employees of DPMPTSP; months {', '.join(driven.periods)} "
        f"simulated through the gateway and closed "
        f"({driven.commands:,} commands in {driven.seconds:.0f}s"
        + (f", {driven.resent:,} resent" if driven.resent else "") + ")"
        + (f"; already closed before: {', '.join(driven.skipped)}" if driven.skipped else ""),
    ]
    if outcome_counts:
        out.append(f"  outcomes: {outcome_counts}")
    out += ["", f"TPP {table.period} per unit (closed):", unit_table(rows), "",
            f"Top {TOP} (share of base TPP earned):", people_table(best[:TOP]), "",
            f"Bottom {TOP}:", people_table(best[-TOP:][::-1]), "",
            *mkd_lines(eligibility, next_period), "", *skp_lines(driven)]
    return "\n".join(out)


PREDIKAT_ORDER = ("sangat_baik", "baik", "butuh_perbaikan", "kurang", "sangat_kurang")


def skp_lines(driven: Any) -> list[str]:
    """The SKPs agreed, the quarter's evaluations by predikat, and the sample form."""
    lines = [f"SKP: {driven.skps_approved:,} approved down the hierarchy (kinerja appraisal skp "
             "NIP YEAR)"]
    if driven.evaluated is None:
        lines.append("Evaluation: no quarter has ended since the demo's first month")
    else:
        counts = ", ".join(f"{driven.predikat.get(p, 0)} {p}" for p in PREDIKAT_ORDER)
        lines.append(f"Evaluation {driven.evaluated}: {counts} (kinerja report siasn "
                     f"{driven.evaluated[:4]} --quarter {driven.evaluated[-1]})")
    if driven.sample_skp:
        lines.append(f"Sample SKP form (PDF): {driven.sample_skp}")
    return lines
