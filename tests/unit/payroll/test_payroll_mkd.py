"""MKD eligibility for the next period (RULES.md §8): each tier and the TK history rule."""

import pytest
from history import NIP_A, NIP_BOSS, NIP_PEER, NIP_SUB, weekdays
from scenario import OCT, THU, attend, hired, run


def mkd(h):
    _, result, _ = run(h)
    return result.mkd_days_per_week, result.mkd_reasons


def test_a_perfect_month_rated_5_gets_4_days():
    assert mkd(attend(hired(rating=5))) == (4, ("tier_4",))


def test_score_exactly_4_5_gets_4_days():
    h = attend(hired(rating=None))
    h.rating(NIP_BOSS, NIP_A, OCT, "superior", 5)
    h.rating(NIP_PEER, NIP_A, OCT, "peer", 4)
    h.rating(NIP_SUB, NIP_A, OCT, "subordinate", 4)  # 2.5 + 1.2 + 0.8 = 4.5
    assert mkd(h)[0] == 4


def test_any_cut_drops_from_4_to_3_days():
    h = attend(hired(rating=5), special={THU: ("07:45", "16:00")})  # C = 0.5 %
    assert mkd(h) == (3, ("tier_3",))


def test_cut_of_exactly_2_percent_keeps_3_days():
    h = attend(hired(rating=4), special={THU: ("08:45", "14:00"), "2026-10-07": ("07:45", "16:00")})
    # 1.25 % + 1.5 % = 2.75 % -> not 3 days; check 2 % separately below
    assert mkd(h)[0] == 1
    h2 = attend(hired(rating=4), special={THU: ("08:15", "16:00"), "2026-10-07": ("08:15", "16:00")})
    assert run(h2)[0]["discipline_cut"] == "0.020000"
    assert mkd(h2)[0] == 3


def test_productivity_below_0_95_gets_1_day():
    h = attend(hired(rating=5), minutes=285)  # R_p = 0.95 exactly → still 3
    assert mkd(h)[0] == 4 - 1
    h2 = attend(hired(rating=5), minutes=284)  # 0.9466…
    assert mkd(h2)[0] == 1


def test_no_rating_can_only_reach_1_day():
    assert mkd(attend(hired(rating=None))) == (1, ("tier_1",))


def test_a_score_below_3_gets_nothing():
    h = attend(hired(rating=None))
    h.rating(NIP_BOSS, NIP_A, OCT, "superior", (3, 3, 3, 3, 3, 3, 2))
    assert mkd(h) == (0, ("behaviour_score_below_tier_1",))


def test_one_absent_day_gets_nothing():
    days, reasons = mkd(attend(hired(rating=5), skip=(THU,)))
    assert days == 0 and "tk_days_above_tier_1" in reasons


def test_productivity_below_0_85_gets_nothing():
    assert mkd(attend(hired(rating=5), minutes=254)) == (0, ("productivity_below_tier_1",))


def test_a_public_service_position_is_never_eligible():
    assert mkd(attend(hired(public_service=True, rating=5))) == (0, ("public_service",))


def _history_months(tk_by_month, effective="2026-07-01"):
    h = hired(effective, rating=5)
    for period, tk in tk_by_month.items():
        attend(h, period, skip=tuple(weekdays(period)[:tk]))
    return h


def test_three_absences_two_months_back_deny_mkd():
    h = _history_months({"2026-08": 3, "2026-09": 0, "2026-10": 0}, "2026-08-01")
    assert mkd(h) == (0, ("tk_history:2026-08",))


def test_three_absences_last_month_deny_mkd():
    h = _history_months({"2026-08": 0, "2026-09": 3, "2026-10": 0}, "2026-08-01")
    assert mkd(h) == (0, ("tk_history:2026-09",))


def test_two_absences_in_earlier_months_are_not_enough():
    h = _history_months({"2026-08": 2, "2026-09": 2, "2026-10": 0}, "2026-08-01")
    assert mkd(h) == (4, ("tier_4",))


def test_absences_three_months_back_do_not_count():
    h = _history_months({"2026-07": 5, "2026-08": 0, "2026-09": 0, "2026-10": 0})
    assert mkd(h) == (4, ("tier_4",))


def test_months_before_employment_have_no_result_and_do_not_count():
    h = _history_months({"2026-10": 0}, "2026-10-01")
    assert mkd(h) == (4, ("tier_4",))


def test_three_absences_this_month_deny_by_history_rule():
    h = attend(hired(rating=5), skip=tuple(weekdays(OCT)[:3]))
    days, reasons = mkd(h)
    assert days == 0 and reasons == ("tk_history:2026-10",)


@pytest.mark.parametrize("period, expected", [("2026-10", "2026-11"), ("2026-12", "2027-01")])
def test_mkd_applies_to_the_next_period(period, expected):
    h = hired("2026-01-01", rating=None)
    attend(h, period)
    _, result, _ = run(h, period)
    assert result.mkd_period == expected
