"""Table tests: given facts → expected figures and rupiah, one rule at a time (RULES.md)."""

from fractions import Fraction

import pytest
from history import NIP_A, NIP_BOSS, NIP_PEER, NIP_SUB, History, event_uuid, wib
from scenario import B7, FRI, OCT, SAT, THU, attend, hired, run

from kinerja_payroll.closing import close_guard
from kinerja_payroll.fold import IncompleteFacts, format_ratio, round_half_away
from kinerja_payroll.rules import load_default_rules, parse_rules
from importlib import resources


def perfect_total():
    return B7  # R_p = 1, R_b = 1, C = 0, k = 0


def test_a_perfect_month_pays_the_whole_base():
    tpp, result, _ = run(attend(hired()))
    assert (tpp["total_rupiah"], tpp["discipline_cut"], tpp["productivity_ratio"]) == (
        4_500_000, "0.000000", "1.000000")
    assert tpp["target_minutes"] == 22 * 300 and tpp["approved_minutes"] == 22 * 300


# --- §3 lateness and early leave bands ------------------------------------------------------
@pytest.mark.parametrize("check_in, minutes, cut", [
    ("07:30:00", 0, "0.000000"),
    ("07:30:59", 0, "0.000000"),
    ("07:31:00", 1, "0.005000"),
    ("07:31:59", 1, "0.005000"),
    ("08:00:00", 30, "0.005000"),
    ("08:00:59", 30, "0.005000"),
    ("08:01:00", 31, "0.010000"),
    ("08:30:00", 60, "0.010000"),
    ("08:31:00", 61, "0.012500"),
    ("09:00:00", 90, "0.012500"),
    ("09:01:00", 91, "0.015000"),
    ("12:00:00", 270, "0.015000"),
])
def test_lateness_bands_with_seconds_truncated(check_in, minutes, cut):
    tpp, _, a = run(attend(hired(), special={THU: (check_in, "16:00")}))
    day = next(d for d in a.days if str(d.date) == THU)
    assert day.lateness == minutes
    assert tpp["discipline_cut"] == cut
    assert tpp["discipline_rupiah"] == round_half_away(B7 * Fraction(2, 5) * (1 - Fraction(cut)))


@pytest.mark.parametrize("check_out, minutes, cut", [
    ("16:00:00", 0, "0.000000"),
    ("17:30:00", 0, "0.000000"),
    ("15:59:01", 0, "0.000000"),
    ("15:59:00", 1, "0.005000"),
    ("15:30:00", 30, "0.005000"),
    ("15:29:01", 30, "0.005000"),
    ("15:29:00", 31, "0.010000"),
    ("15:00:00", 60, "0.010000"),
    ("14:59:00", 61, "0.012500"),
    ("14:30:00", 90, "0.012500"),
    ("14:29:00", 91, "0.015000"),
])
def test_early_leave_bands_with_seconds_truncated(check_out, minutes, cut):
    tpp, _, a = run(attend(hired(), special={THU: ("07:30", check_out)}))
    day = next(d for d in a.days if str(d.date) == THU)
    assert day.early_leave == minutes
    assert tpp["discipline_cut"] == cut


def test_friday_ends_at_16_30():
    tpp, _, _ = run(attend(hired(), special={FRI: ("07:30", "16:00")}))
    assert tpp["discipline_cut"] == "0.005000"


def test_lateness_and_early_leave_cut_on_their_own_and_add_up():
    tpp, _, _ = run(attend(hired(), special={THU: ("08:45", "14:00")}))  # 75 → 1.25 %, 120 → 1.5 %
    assert tpp["discipline_cut"] == "0.027500"


def test_check_in_time_is_converted_from_its_offset_to_wib():
    h = hired()
    attend(h, skip=(THU,))
    h.check_in(NIP_A, "2026-10-08T00:45:00+00:00")  # 07:45 WIB
    h.check_out(NIP_A, "2026-10-08T09:00:00Z")       # 16:00 WIB
    tpp, _, a = run(h)
    assert next(d for d in a.days if str(d.date) == THU).lateness == 15
    assert tpp["discipline_cut"] == "0.005000"


def test_a_check_in_dated_by_wib_not_by_utc():
    h = hired()
    attend(h, skip=(THU,))
    h.check_in(NIP_A, "2026-10-07T23:45:00+00:00")  # 06:45 WIB on the 8th
    h.check_out(NIP_A, "2026-10-08 16:00")
    tpp, _, _ = run(h)
    assert (tpp["tk_days"], tpp["discipline_cut"]) == (0, "0.000000")


# --- make-up, missing check-out, several check-ins -----------------------------------------
@pytest.mark.parametrize("check_in, check_out, cut", [
    ("07:45", "16:15", "0.000000"),      # L = 15, out ≥ end + 15 → TL waived
    ("07:45", "16:14:59", "0.005000"),   # one second short
    ("08:00", "16:30", "0.000000"),      # L = 30, made up
    ("08:01", "17:00", "0.010000"),      # L = 31: no make-up
    ("07:31", "16:00", "0.005000"),      # L = 1, out at end: not made up
])
def test_make_up_waives_small_lateness(check_in, check_out, cut):
    tpp, _, _ = run(attend(hired(), special={THU: (check_in, check_out)}))
    assert tpp["discipline_cut"] == cut


def test_a_missing_check_out_cuts_psw_1_5_percent():
    tpp, _, _ = run(attend(hired(), special={THU: ("07:30", None)}))
    assert tpp["discipline_cut"] == "0.015000"


def test_a_check_out_before_the_check_in_does_not_count():
    h = attend(hired(), special={THU: ("07:30", None)})
    h.check_out(NIP_A, f"{THU} 07:00")
    assert run(h)[0]["discipline_cut"] == "0.015000"


def test_earliest_check_in_and_latest_check_out_count():
    h = attend(hired(), special={THU: ("09:00", "12:00")})
    h.check_in(NIP_A, f"{THU} 07:20")
    h.check_out(NIP_A, f"{THU} 16:05")
    assert run(h)[0]["discipline_cut"] == "0.000000"


# --- absence, leave, travel, holiday, weekend ----------------------------------------------
def test_absence_cuts_5_percent_and_deducts_300_minutes():
    tpp, _, a = run(attend(hired(), skip=(THU,)))
    assert (tpp["tk_days"], tpp["discipline_cut"]) == (1, "0.050000")
    assert tpp["approved_minutes"] == 21 * 300 and a.A == 21 * 300 - 300
    assert tpp["productivity_ratio"] == format_ratio(Fraction(21 * 300 - 300, 22 * 300))


def test_absence_deduction_never_makes_a_negative():
    tpp, _, a = run(attend(hired(), minutes=0, skip=(THU, FRI)))
    assert a.A == 0 and tpp["productivity_ratio"] == "0.000000"


def test_the_cut_is_capped_at_100_percent():
    tpp, _, _ = run(attend(hired(), only=()))  # 22 absent days: 110 %
    assert (tpp["tk_days"], tpp["discipline_cut"], tpp["discipline_rupiah"]) == (22, "1.000000", 0)


def test_leave_wins_over_a_late_check_in_and_lowers_the_target():
    h = attend(hired(), special={THU: ("10:00", "12:00")})
    h.leave(NIP_A, "L1", THU, THU)
    tpp, _, _ = run(h)
    assert (tpp["discipline_cut"], tpp["tk_days"], tpp["target_minutes"]) == ("0.000000", 0, 21 * 300)


def test_a_leave_re_recorded_under_its_id_replaces_its_dates():
    h = attend(hired(), skip=(THU, FRI))
    h.leave(NIP_A, "L1", THU, THU)
    h.leave(NIP_A, "L1", FRI, FRI)  # later: the leave is now on Friday
    tpp, _, _ = run(h)
    assert (tpp["tk_days"], tpp["target_minutes"]) == (1, 21 * 300)
    assert [d.status for d in run(h)[2].days if str(d.date) in (THU, FRI)] == ["absent", "leave"]


def test_an_earlier_occurring_leave_record_arriving_last_does_not_win():
    h = attend(hired(), skip=(THU, FRI))
    h.leave(NIP_A, "L1", FRI, FRI, occurred_at="2026-10-02T10:00:00+07:00")
    h.leave(NIP_A, "L1", THU, THU, occurred_at="2026-10-01T10:00:00+07:00")
    assert [d.status for d in run(h)[2].days if str(d.date) in (THU, FRI)] == ["absent", "leave"]


def test_leave_records_at_the_same_instant_tie_break_on_the_greatest_event_id():
    h = attend(hired(), skip=(THU, FRI))
    at = "2026-10-01T10:00:00+07:00"
    h.leave(NIP_A, "L1", FRI, FRI, occurred_at=at, event_id=event_uuid(10**6 + 2))
    h.leave(NIP_A, "L1", THU, THU, occurred_at=at, event_id=event_uuid(10**6 + 1))
    assert [d.status for d in run(h)[2].days if str(d.date) in (THU, FRI)] == ["absent", "leave"]


def test_a_cancelled_leave_is_final_even_if_recorded_again_later():
    h = hired()
    h.cancel_leave(NIP_A, "L1")
    attend(h, skip=(THU,))
    h.leave(NIP_A, "L1", THU, THU)
    tpp, _, _ = run(h)
    assert (tpp["tk_days"], tpp["discipline_cut"], tpp["target_minutes"]) == (1, "0.050000", 6600)


def test_official_travel_counts_as_present_without_a_check_in():
    h = attend(hired(), skip=(THU, FRI))
    h.travel(NIP_A, "TR1", THU, FRI)
    tpp, _, _ = run(h)
    assert (tpp["tk_days"], tpp["discipline_cut"], tpp["target_minutes"]) == (0, "0.000000", 6600)


def test_a_declared_holiday_is_not_a_working_day():
    h = attend(hired(), skip=(THU,))
    h.holiday(THU, "Maulid Nabi")
    tpp, _, a = run(h)
    assert (a.W, tpp["tk_days"], tpp["target_minutes"], tpp["total_rupiah"]) == (21, 0, 6300, B7)


def test_weekend_work_counts_minutes_but_weekend_check_ins_bring_no_cut():
    h = attend(hired(), minutes=200)
    h.check_in(NIP_A, f"{SAT} 11:00")
    h.work(NIP_A, SAT, 400)
    tpp, _, _ = run(h)
    assert tpp["approved_minutes"] == 22 * 200 + 400
    assert tpp["discipline_cut"] == "0.000000"


def test_each_day_counts_at_most_450_approved_minutes():
    h = attend(hired(), minutes=0)
    h.work(NIP_A, THU, 300)
    h.work(NIP_A, THU, 300)
    h.work(NIP_A, FRI, 449)
    tpp, _, a = run(h)
    assert tpp["approved_minutes"] == 450 + 449
    assert [(str(d), got, kept) for d, got, kept in a.minutes_by_day] == [
        (THU, 600, 450), (FRI, 449, 449)]


def test_target_zero_gives_zero_productivity_ratio():
    h = hired()
    h.leave(NIP_A, "L1", "2026-10-01", "2026-10-31", kind="maternity")
    h.work(NIP_A, THU, 300)
    tpp, _, a = run(h)
    assert (tpp["target_minutes"], tpp["productivity_ratio"]) == (0, "0.000000")
    assert a.minute_value is None
    # productivity = B × 0.6 × 0.3 × R_b
    assert tpp["productivity_rupiah"] == 810_000 and tpp["discipline_rupiah"] == 1_800_000


# --- §4 approval decisions ------------------------------------------------------------------
def test_the_latest_decision_counts_approve_reject_approve():
    h = attend(hired(), minutes=0)
    h.activity(NIP_A, "A1", THU, 300)
    h.approve(NIP_A, "A1", 300)
    h.reject(NIP_A, "A1")
    h.approve(NIP_A, "A1", 120)
    assert run(h)[0]["approved_minutes"] == 120


def test_a_rejection_occurring_last_wins_whatever_the_arrival_order():
    h = attend(hired(), minutes=0)
    h.activity(NIP_A, "A1", THU, 300)
    h.reject(NIP_A, "A1", occurred_at="2026-10-09T10:00:00+07:00")
    h.approve(NIP_A, "A1", 300, occurred_at="2026-10-08T17:00:00+07:00")
    assert run(h)[0]["approved_minutes"] == 0


def test_a_decision_without_its_activity_counts_for_nothing():
    h = attend(hired(), minutes=0)
    h.approve(NIP_A, "GHOST", 300)
    assert run(h)[0]["approved_minutes"] == 0


def test_an_activity_counts_for_the_employee_of_the_activity_not_of_the_decision():
    h = attend(hired(), minutes=0)
    h.activity(NIP_A, "A1", THU, 200)
    h.approve(NIP_BOSS, "A1", 200)
    assert run(h)[0]["approved_minutes"] == 200


def test_an_activity_re_logged_moves_to_its_latest_work_date():
    h = attend(hired(), minutes=0)
    h.activity(NIP_A, "A1", "2026-09-30", 200)
    h.approve(NIP_A, "A1", 200)
    assert run(h)[0]["approved_minutes"] == 0
    h.activity(NIP_A, "A1", THU, 200)
    assert run(h)[0]["approved_minutes"] == 200


# --- §5 behaviour ---------------------------------------------------------------------------
def test_a_rating_revision_replaces_the_earlier_rating():
    h = attend(hired(rating=2))
    h.rating(NIP_BOSS, NIP_A, OCT, "superior", 3)
    tpp, _, _ = run(h)
    assert tpp["behaviour_ratio"] == "0.750000"


def test_groups_are_renormalised_over_those_with_raters():
    h = attend(hired(rating=None))
    h.rating(NIP_BOSS, NIP_A, OCT, "superior", 3)
    h.rating(NIP_PEER, NIP_A, OCT, "peer", 2)
    tpp, _, a = run(h)
    assert a.S == Fraction(21, 8)  # (0.5 × 3 + 0.3 × 2) / 0.8
    assert tpp["behaviour_ratio"] == "0.656250"


def test_all_three_groups_with_means_of_raters_and_of_values():
    h = attend(hired(rating=None))
    h.rating(NIP_BOSS, NIP_A, OCT, "superior", (4, 4, 4, 4, 4, 3, 2))  # 25/7
    h.rating(NIP_PEER, NIP_A, OCT, "peer", 3)
    h.rating("199907072023011007", NIP_A, OCT, "peer", 4)                # peers: 3.5
    h.rating(NIP_SUB, NIP_A, OCT, "subordinate", 2)
    _, _, a = run(h)
    assert a.S == Fraction(1, 2) * Fraction(25, 7) + Fraction(3, 10) * Fraction(7, 2) + Fraction(2, 10) * 2
    assert a.R_b == a.S / 4


def test_ratings_of_another_period_do_not_count():
    h = attend(hired(rating=None))
    h.rating(NIP_BOSS, NIP_A, "2026-09", "superior", 1)
    tpp, _, _ = run(h)
    assert (tpp["behaviour_ratio"], tpp["flags"]) == ("1.000000", ["no_behaviour_rating"])


def test_no_rating_gives_full_behaviour_and_a_flag():
    tpp, _, _ = run(attend(hired(rating=None)))
    assert (tpp["behaviour_ratio"], tpp["flags"], tpp["total_rupiah"]) == (
        "1.000000", ["no_behaviour_rating"], B7)


def test_behaviour_above_4_is_capped_at_1():
    tpp, _, _ = run(attend(hired(rating=5)))
    assert tpp["behaviour_ratio"] == "1.000000"


# --- §6 IKP ---------------------------------------------------------------------------------
@pytest.mark.parametrize("completed_at, rupiah", [
    ("2026-10-20 10:00", 135_000),
    ("2026-10-20 23:59:59.999999", 135_000),
    ("2026-10-20T16:59:59+00:00", 135_000),   # 23:59:59 WIB
    ("2026-10-21 00:00", -225_000),
    ("2026-10-20T17:00:00+00:00", -225_000),  # 00:00 WIB on the 21st
    (None, -225_000),
])
def test_ikp_on_time_late_or_never(completed_at, rupiah):
    h = attend(hired())
    h.ikp("IKP1", NIP_A, OCT, "2026-10-20")
    if completed_at:
        h.complete_ikp("IKP1", NIP_A, completed_at)
    tpp, _, _ = run(h)
    assert tpp["ikp_rupiah"] == rupiah
    assert tpp["total_rupiah"] == B7 + rupiah


def test_the_earliest_completion_decides():
    h = attend(hired())
    h.ikp("IKP1", NIP_A, OCT, "2026-10-20")
    h.complete_ikp("IKP1", NIP_A, "2026-10-25 10:00")
    h.complete_ikp("IKP1", NIP_A, "2026-10-19 10:00")
    assert run(h)[0]["ikp_rupiah"] == 135_000


def test_an_ikp_reassigned_counts_once_for_its_latest_assignee_and_period():
    h = attend(hired())
    h.ikp("IKP1", NIP_A, OCT, "2026-10-20")
    h.ikp("IKP1", NIP_A, OCT, "2026-10-20")
    h.ikp("IKP2", NIP_A, OCT, "2026-10-20")
    h.ikp("IKP2", NIP_A, "2026-11", "2026-11-20")
    assert run(h)[0]["ikp_rupiah"] == -225_000


@pytest.mark.parametrize("on_time, missed, k", [
    (6, 0, Fraction(15, 100)), (5, 0, Fraction(15, 100)), (4, 0, Fraction(12, 100)),
    (0, 4, Fraction(-15, 100)), (3, 1, Fraction(4, 100)), (1, 3, Fraction(-12, 100)),
])
def test_ikp_sum_is_clamped_to_15_percent(on_time, missed, k):
    h = attend(hired())
    for i in range(on_time + missed):
        h.ikp(f"IKP{i}", NIP_A, OCT, "2026-10-20")
        if i < on_time:
            h.complete_ikp(f"IKP{i}", NIP_A, "2026-10-19 10:00")
    tpp, _, a = run(h)
    assert a.k == k and tpp["ikp_rupiah"] == round_half_away(B7 * k)


def test_total_never_goes_below_zero():
    h = hired()
    for i in range(4):
        h.ikp(f"IKP{i}", NIP_A, OCT, "2026-10-20")
    h.rating(NIP_BOSS, NIP_A, OCT, "superior", 1)
    h.leave(NIP_A, "L", "2026-10-01", "2026-10-31")   # T = 0
    tpp, _, _ = run(h)
    assert tpp["total_rupiah"] == max(
        0, tpp["productivity_rupiah"] + tpp["discipline_rupiah"] + tpp["ikp_rupiah"])


def test_total_is_floored_at_zero_when_the_parts_are_negative():
    h = hired(rating=1)
    for i in range(4):
        h.ikp(f"IKP{i}", NIP_A, OCT, "2026-10-20")
    tpp, _, _ = run(h)  # 22 absent days: C = 100 %, R_p = 0, R_b = 1/4, k = −15 %
    assert tpp["productivity_rupiah"] == 202_500 and tpp["ikp_rupiah"] == -675_000
    assert tpp["total_rupiah"] == 0


# --- §1/§2 part month, position change ------------------------------------------------------
def test_joining_mid_month_pays_the_employed_share():
    h = attend(hired("2026-10-15"))
    tpp, _, a = run(h)
    assert (a.W, a.W_e) == (22, 12)
    assert tpp["base_rupiah"] == B7
    assert (tpp["productivity_rupiah"], tpp["discipline_rupiah"]) == (1_472_727, 981_818)
    assert tpp["target_minutes"] == 12 * 300 and tpp["tk_days"] == 0


def test_leaving_mid_month_pays_up_to_the_day_before_termination():
    h = attend(hired())
    h.terminate(NIP_A, "2026-10-15")
    tpp, _, a = run(h)
    assert a.W_e == 10
    assert tpp["approved_minutes"] == 10 * 300
    assert tpp["total_rupiah"] == round_half_away(Fraction(B7 * 10, 22) * Fraction(6, 10)) + \
        round_half_away(Fraction(B7 * 10, 22) * Fraction(4, 10))


def test_no_result_for_an_employee_not_employed_on_any_working_day():
    h = hired("2026-10-31")  # a Saturday
    assert run(h)[0] is None
    h = hired()
    h.terminate(NIP_A, "2026-10-01")
    assert run(h)[0] is None


def test_the_position_on_the_last_employed_date_gives_the_base():
    h = attend(hired())
    h.change(NIP_A, "2026-10-20", position_code="P9")
    assert run(h)[0]["base_rupiah"] == 6_000_000
    h2 = attend(hired())
    h2.change(NIP_A, "2026-11-01", position_code="P9")
    assert run(h2)[0]["base_rupiah"] == B7


def test_changes_of_one_effective_date_apply_in_occurrence_order():
    h = attend(hired())
    h.change(NIP_A, "2026-10-20", position_code="P7", occurred_at="2026-10-19T10:00:00+07:00")
    h.change(NIP_A, "2026-10-20", position_code="P9", occurred_at="2026-10-18T10:00:00+07:00")
    assert run(h)[0]["base_rupiah"] == B7


def test_a_later_position_definition_regrades():
    h = attend(hired())
    h.position("P7", 9)
    assert run(h)[0]["base_rupiah"] == 6_000_000


def test_an_undefined_position_is_an_error_not_a_silent_zero():
    h = History()
    h.employee(NIP_A, "NOPE", "2026-10-01")
    with pytest.raises(IncompleteFacts, match="NOPE"):
        run(h)


# --- §7 rounding ----------------------------------------------------------------------------
@pytest.mark.parametrize("x, rounded", [
    (Fraction(5, 2), 3), (Fraction(-5, 2), -3), (Fraction(1, 2), 1), (Fraction(-1, 2), -1),
    (Fraction(249999, 100000), 2), (Fraction(7, 3), 2), (Fraction(-7, 3), -2), (Fraction(0), 0),
])
def test_rounding_is_half_away_from_zero(x, rounded):
    assert round_half_away(x) == rounded


@pytest.mark.parametrize("x, text", [
    (Fraction(107, 110), "0.972727"), (Fraction(1, 2_000_000), "0.000001"),
    (Fraction(-1, 2_000_000), "-0.000001"), (Fraction(1, 3), "0.333333"),
    (Fraction(2, 3), "0.666667"), (Fraction(1), "1.000000"), (Fraction(0), "0.000000"),
])
def test_ratios_have_six_places_rounded_half_away_from_zero(x, text):
    assert format_ratio(x) == text


def test_rupiah_halves_round_away_from_zero_in_the_fold():
    raw = resources.files("kinerja_payroll").joinpath("rules", "jabar-2026.toml").read_bytes()
    rules = parse_rules(raw.replace(b"7 = 4_500_000", b"7 = 4_500_050"))
    assert rules.hash != load_default_rules().hash
    h = attend(hired())
    h.ikp("IKP1", NIP_A, OCT, "2026-10-20")
    h.complete_ikp("IKP1", NIP_A, "2026-10-19 10:00")
    h.ikp("IKP2", NIP_A, OCT, "2026-10-20")
    tpp, _, _ = run(h, rules=rules)   # k = −2 %: 4,500,050 × −0.02 = −90,001 exactly
    assert tpp["ikp_rupiah"] == -90_001
    h.complete_ikp("IKP2", NIP_A, "2026-10-19 10:00")
    tpp, _, _ = run(h, rules=rules)   # k = 6 %: 270,003 exactly
    assert tpp["ikp_rupiah"] == 270_003
    h3 = attend(hired())
    h3.ikp("IKP1", NIP_A, OCT, "2026-10-20")
    h3.complete_ikp("IKP1", NIP_A, "2026-10-19 10:00")
    tpp, _, _ = run(h3, rules=rules)  # 3 % of 4,500,050 = 135,001.5 → 135,002
    assert tpp["ikp_rupiah"] == 135_002
    h4 = attend(hired())
    h4.ikp("IKP1", NIP_A, OCT, "2026-10-20")
    tpp, _, _ = run(h4, rules=rules)  # −5 % = −225,002.5 → −225,003
    assert tpp["ikp_rupiah"] == -225_003


# --- RULES.md §9: which month may be closed, and when ----------------------------------------


@pytest.mark.parametrize("period,latest,now,problems", [
    ("2026-10", None, "2026-11-01 00:00:00", 0),  # the first close, as October ends
    ("2026-10", None, "2026-10-31 23:59:59", 1),  # its last day is not over
    ("2026-11", "2026-10", "2026-12-05 10:00:00", 0),
    ("2026-12", "2026-10", "2027-01-05 10:00:00", 1),  # November first
    ("2026-09", "2026-10", "2026-12-05 10:00:00", 1),  # backwards
    ("2027-01", "2026-12", "2027-01-20 10:00:00", 1),  # the month in progress
    ("2030-01", "2026-10", "2026-12-05 10:00:00", 2),  # not ended, and out of order
], ids=["first", "not over", "next", "skips one", "backwards", "in progress", "far future"])
def test_a_month_closes_once_it_has_ended_and_after_the_one_before(period, latest, now, problems):
    assert len(close_guard(period, latest, wib(now))) == problems


def test_the_month_in_progress_judges_only_the_days_before_today():
    """On Thursday 2026-10-15 (the 11th working day) an employee who came on time every day so
    far has no absence and no cut for the days to come, and a target of the ten days judged."""
    from datetime import date

    from kinerja_payroll.facts import build_facts
    from kinerja_payroll.fold import compute_period

    rules = load_default_rules()
    h = History()
    h.position("P7", 7)
    h.employee(NIP_A, "P7", "2026-01-01")
    for day in ["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07",
                "2026-10-08", "2026-10-09", "2026-10-12", "2026-10-13", "2026-10-14"]:
        h.day(NIP_A, day)
        h.work(NIP_A, day, 300)
    facts = build_facts(h.events)
    [so_far] = compute_period(facts, "2026-10", rules, as_of=date(2026, 10, 15))
    assert (so_far.tpp["tk_days"], so_far.tpp["discipline_cut"]) == (0, "0.000000")
    assert so_far.tpp["target_minutes"] == 300 * 10
    assert so_far.tpp["productivity_ratio"] == "1.000000"
    assert "month_in_progress" in so_far.tpp["flags"]
    assert so_far.tpp["base_rupiah"] == 4_500_000
    [ended] = compute_period(facts, "2026-10", rules)  # the whole month: 12 absent days
    assert ended.tpp["tk_days"] == 12 and "month_in_progress" not in ended.tpp["flags"]
    [after] = compute_period(facts, "2026-10", rules, as_of=date(2026, 11, 2))
    assert after.tpp == ended.tpp  # once the month has ended, today changes nothing


def test_facts_at_the_edges_of_the_calendar_are_computed_not_raised():
    """Facts the contract accepts at its bounds (2000-01-01 … 2099-12-31) fold like any other:
    the month they fall in is computed, and the others are untouched."""
    from kinerja_payroll.facts import build_facts
    from kinerja_payroll.fold import compute_period, explain, render_explanation

    rules = load_default_rules()
    h = History()
    h.position("P7", 7)
    h.employee(NIP_A, "P7", "1950-01-01")
    h.check_in(NIP_A, "2099-12-31 23:59:59")
    h.check_out(NIP_A, "2099-12-31 23:59:59")
    h.leave(NIP_A, "L-EDGE", "2000-01-01", "2099-12-31")
    h.work(NIP_A, "2099-12-31", 1440)
    h.ikp("IKP-EDGE", NIP_A, "2099-12", "2099-12-31")
    h.complete_ikp("IKP-EDGE", NIP_A, "2099-12-31 23:59:59")
    h.rating(NIP_BOSS, NIP_A, "2099-12", "superior", 5)
    facts = build_facts(h.events)
    for period in ("2000-01", "2026-10", "2099-12"):
        [result] = compute_period(facts, period, rules)
        assert result.tpp["tk_days"] == 0  # on leave every working day of the century
        assert result.tpp["total_rupiah"] >= 0
    assert render_explanation(explain(facts, NIP_A, "2099-12", rules), facts)
