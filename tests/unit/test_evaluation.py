"""The evaluation's proposal from data, and the predikat matrix of PermenPANRB 6/2022 — every
cell, written out here independently of the code's table."""

from __future__ import annotations

from fractions import Fraction

import pytest

from kinerja_appraisal.evaluation import (
    PREDIKAT, predikat_of, propose_behaviour, propose_result,
)


@pytest.mark.parametrize(("result", "behaviour", "predikat"), [
    ("above", "above", "sangat_baik"),
    ("above", "meets", "baik"),
    ("meets", "above", "baik"),
    ("meets", "meets", "baik"),
    ("below", "above", "butuh_perbaikan"),
    ("below", "meets", "butuh_perbaikan"),
    ("above", "below", "kurang"),
    ("meets", "below", "kurang"),
    ("below", "below", "sangat_kurang"),
])
def test_every_cell_of_the_predikat_matrix(result, behaviour, predikat):
    assert predikat_of(result, behaviour) == predikat


def test_the_matrix_has_exactly_the_nine_cells():
    ratings = ("above", "meets", "below")
    assert set(PREDIKAT) == {(r, b) for r in ratings for b in ratings}


@pytest.mark.parametrize(("realised", "target", "proposed"), [
    (110, 100, "above"),     # exactly 110 %
    (109, 100, "meets"),
    (80, 100, "meets"),      # exactly 80 %
    (79, 100, "below"),
    (0, 100, "below"),
    (11, 10, "above"),
    (1, 3, "below"),
    (0, 0, "meets"),         # no target in the period: nothing to fall short of
    (5, 0, "meets"),
])
def test_the_result_proposal_follows_realisation_against_the_targets(realised, target, proposed):
    assert propose_result(realised, target) == proposed


def test_the_result_thresholds_are_exact_not_floating():
    # 0.8 * 3 is 2.4000000000000004 in floating point; 12/15 is exactly 80 %.
    assert propose_result(12, 15) == "meets"
    assert propose_result(33, 30) == "above"  # exactly 110 %


@pytest.mark.parametrize(("score", "proposed"), [
    (Fraction(5), "above"),
    (Fraction(9, 2), "above"),      # 4.5
    (Fraction(449, 100), "meets"),
    (Fraction(7, 2), "meets"),      # 3.5
    (Fraction(349, 100), "below"),
    (Fraction(1), "below"),
    (None, "meets"),                # no rating
])
def test_the_behaviour_proposal_follows_the_360_score(score, proposed):
    assert propose_behaviour(score) == proposed
