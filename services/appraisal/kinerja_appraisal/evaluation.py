"""Periodic evaluation (e-Kinerja): the proposal from the period's data, and the predikat.

The appraising official (the direct superior) starts from a proposal:

- result: `above` when the realisation is at least 110 % of the period's targets, `meets` from
  80 %, else `below` (a period with no target proposes `meets`: there was nothing to fall short
  of);
- behaviour: from the period's 360° score `S` (RULES.md §5, 1–5): `above` from 4.5, `meets`
  from 3.5, else `below` (no rating proposes `meets`, as payroll takes `R_b` = 1 then).

The official confirms or overrides each rating (with a reason). The predikat follows the matrix
of PermenPANRB 6/2022 (rows: result; columns: behaviour):

| result \\ behaviour | above          | meets           | below          |
|--------------------|----------------|-----------------|----------------|
| above              | sangat_baik    | baik            | kurang         |
| meets              | baik           | baik            | kurang         |
| below              | butuh_perbaikan| butuh_perbaikan | sangat_kurang  |

Behaviour `below` means misconduct: it outweighs any result (`kurang`), and with a result
`below` too the predikat is `sangat_kurang`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

Rating = Literal["above", "meets", "below"]
Predikat = Literal["sangat_baik", "baik", "butuh_perbaikan", "kurang", "sangat_kurang"]

RESULT_ABOVE = Fraction(110, 100)
RESULT_MEETS = Fraction(80, 100)
BEHAVIOUR_ABOVE = Fraction(45, 10)
BEHAVIOUR_MEETS = Fraction(35, 10)

PREDIKAT: dict[tuple[Rating, Rating], Predikat] = {
    ("above", "above"): "sangat_baik",
    ("above", "meets"): "baik",
    ("above", "below"): "kurang",
    ("meets", "above"): "baik",
    ("meets", "meets"): "baik",
    ("meets", "below"): "kurang",
    ("below", "above"): "butuh_perbaikan",
    ("below", "meets"): "butuh_perbaikan",
    ("below", "below"): "sangat_kurang",
}
"""(result rating, behaviour rating) -> predikat, every cell of the matrix."""


def predikat_of(result: Rating, behaviour: Rating) -> Predikat:
    """The predikat of a result rating and a behaviour rating."""
    return PREDIKAT[(result, behaviour)]


def propose_result(realised: int, target: int) -> Rating:
    """The result rating the data proposes: realisation against the period's targets."""
    if target <= 0:
        return "meets"
    ratio = Fraction(realised, target)
    if ratio >= RESULT_ABOVE:
        return "above"
    return "meets" if ratio >= RESULT_MEETS else "below"


def propose_behaviour(score: Fraction | None) -> Rating:
    """The behaviour rating the data proposes from the period's 360° score `S` (None: no
    rating)."""
    if score is None:
        return "meets"
    if score >= BEHAVIOUR_ABOVE:
        return "above"
    return "meets" if score >= BEHAVIOUR_MEETS else "below"
