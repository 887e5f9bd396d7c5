"""RULES.md §10, the worked example, exactly."""

from fractions import Fraction

from history import NIP_A, worked_example

from kinerja_payroll.facts import build_facts
from kinerja_payroll.fold import compute_period, explain
from kinerja_payroll.rules import load_default_rules


def result_of(history, nip=NIP_A, period="2026-10"):
    rules = load_default_rules()
    results = {r.nip: r for r in compute_period(build_facts(history.events), period, rules)}
    return results[nip]


def test_the_worked_example_pays_4_340_455():
    result = result_of(worked_example())
    rules = load_default_rules()
    assert result.tpp == {
        "nip": NIP_A, "period": "2026-10", "rule_set": "jabar-2026",
        "rule_set_hash": rules.hash, "base_rupiah": 4_500_000,
        "productivity_rupiah": 2_648_455, "discipline_rupiah": 1_692_000, "ikp_rupiah": 0,
        "total_rupiah": 4_340_455, "productivity_ratio": "0.972727",
        "behaviour_ratio": "1.000000", "discipline_cut": "0.060000", "tk_days": 1,
        "approved_minutes": 6_720, "target_minutes": 6_600, "flags": [],
    }


def test_the_worked_example_grants_no_mkd_for_november():
    result = result_of(worked_example())
    assert (result.mkd_period, result.mkd_days_per_week) == ("2026-11", 0)
    assert result.mkd_reasons == ("discipline_cut_above_tier_1", "tk_days_above_tier_1")


def test_the_worked_example_figures_are_exact():
    h = worked_example()
    a = explain(build_facts(h.events), NIP_A, "2026-10", load_default_rules())
    assert (a.W, a.W_e, a.tk, a.A, a.T) == (22, 22, 1, 6_420, 6_600)
    assert a.R_p == Fraction(6_420, 6_600)
    assert a.C == Fraction(6, 100)
    assert a.productivity == Fraction(4_500_000) * Fraction(6, 10) * (
        Fraction(7, 10) * Fraction(6_420, 6_600) + Fraction(3, 10))


def test_one_approved_minute_of_the_worked_example_is_worth_b_e_times_0_42_over_t():
    # 4,500,000 × 0.60 × 0.70 / 6,600 = 286.3636…, shown to six places
    assert result_of(worked_example()).minute_value == "286.363636"
