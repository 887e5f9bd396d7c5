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

A period is a quarter (its three months) or the year (its twelve). Its target is the sum of the
approved SKP items' monthly targets over its months; its realisation the approved quantity of
the activities naming those items, by work date, over the same months. Its 360° score is the
mean of the monthly scores `S` of its months that have ratings — each month weighs the same,
whatever the number of raters — and none when no month has any.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from fractions import Fraction
from typing import Any

from kinerja_events.events import (
    ActivityApproved, ActivityLogged, ActivityRejected, Predikat, Rating, SKPItem,
)
from kinerja_events.hr import Stamp, stamp_of

# RULES.md §5: group weights, renormalised over the groups rated.
GROUP_WEIGHTS = {"superior": Fraction(1, 2), "peer": Fraction(3, 10),
                 "subordinate": Fraction(1, 5)}

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


# --- periods ----------------------------------------------------------------------------------
def months_of(quarter: int | None) -> range:
    """The months (1–12) of a quarter, or of the year (`quarter` None)."""
    return range(1, 13) if quarter is None else range(3 * quarter - 2, 3 * quarter + 1)


def period_bounds(year: int, quarter: int | None) -> tuple[date, date]:
    """The first and the last date of a quarter or of the year."""
    months = months_of(quarter)
    last_month = months[-1]
    last = (date(year + 1, 1, 1) if last_month == 12 else date(year, last_month + 1, 1))
    return date(year, months[0], 1), date.fromordinal(last.toordinal() - 1)


def period_label(year: int, quarter: int | None) -> str:
    return f"{year}" if quarter is None else f"{year}-Q{quarter}"


def period_target(items: Sequence[SKPItem], quarter: int | None) -> int:
    """The sum of the items' monthly targets over the period's months."""
    return sum(item.monthly_targets[m - 1] for item in items for m in months_of(quarter))


def period_realised(items: Sequence[SKPItem], realised: Mapping[tuple[str, int], int],
                    quarter: int | None) -> int:
    """The approved quantity of the items' activities over the period's months."""
    return sum(realised.get((item.item_id, m), 0) for item in items for m in months_of(quarter))


def period_score(scores: Mapping[int, Fraction], quarter: int | None) -> Fraction | None:
    """The mean of the period's monthly 360° scores (None: no month rated)."""
    rated = [scores[m] for m in months_of(quarter) if m in scores]
    return sum(rated, Fraction(0)) / len(rated) if rated else None


# --- the 360° score of a month ------------------------------------------------------------------
def rater_score(scores: Any) -> Fraction:
    """The mean of a rating's seven BerAKHLAK scores."""
    values = list(scores.model_dump().values())
    return Fraction(sum(values), len(values))


def latest_ratings(facts: Iterable[Any]) -> list[Any]:
    """Of `RatingGiven` envelopes of one ratee and month, the latest of each rater."""
    latest: dict[str, Any] = {}
    for fact in facts:
        rater = fact.data.rater_nip
        if rater not in latest or stamp_of(fact) > stamp_of(latest[rater]):
            latest[rater] = fact
    return list(latest.values())


def group_scores(facts: Iterable[Any]) -> dict[str, list[Fraction]]:
    """The latest ratings' scores by the raters' group."""
    groups: dict[str, list[Fraction]] = {g: [] for g in GROUP_WEIGHTS}
    for fact in latest_ratings(facts):
        groups[fact.data.relation].append(rater_score(fact.data.scores))
    return groups


def weighted_score(groups: Mapping[str, Sequence[Fraction]]) -> Fraction | None:
    """`S` (RULES.md §5): the groups' means weighted, renormalised over the groups rated."""
    rated = {g: Fraction(sum(s, Fraction(0))) / len(s) for g, s in groups.items() if s}
    if not rated:
        return None
    total = sum(GROUP_WEIGHTS[g] for g in rated)
    return sum((GROUP_WEIGHTS[g] * mean for g, mean in rated.items()), Fraction(0)) / total


def monthly_scores(ratings: Iterable[Any], year: int) -> dict[int, Fraction]:
    """`S` of each month of `year` that has ratings, from `RatingGiven` envelopes."""
    by_month: dict[int, list[Any]] = defaultdict(list)
    for fact in ratings:
        if fact.data.period.startswith(f"{year}-"):
            by_month[int(fact.data.period[5:7])].append(fact)
    scores = {m: weighted_score(group_scores(facts)) for m, facts in by_month.items()}
    return {m: s for m, s in scores.items() if s is not None}


# --- realisation from worklog's facts ---------------------------------------------------------------
def realisation(facts: Iterable[Any], year: int) -> dict[tuple[str, int], int]:
    """Approved quantity by (SKP item, month of the work date) in `year`, from one employee's
    `ActivityLogged`, `ActivityApproved` and `ActivityRejected` envelopes. Of each activity the
    latest record and the latest decision count (greatest `occurred_at`, then `event_id`);
    approved quantity = approved minutes ÷ the record's minutes per unit (a task worth no
    minutes realises nothing)."""
    logged: dict[str, tuple[Stamp, ActivityLogged]] = {}
    decided: dict[str, tuple[Stamp, int | None]] = {}
    for fact in facts:
        data, stamp = fact.data, stamp_of(fact)
        if isinstance(data, ActivityLogged):
            if data.activity_id not in logged or logged[data.activity_id][0] < stamp:
                logged[data.activity_id] = (stamp, data)
        elif isinstance(data, ActivityApproved | ActivityRejected):
            minutes = data.approved_minutes if isinstance(data, ActivityApproved) else None
            if data.activity_id not in decided or decided[data.activity_id][0] < stamp:
                decided[data.activity_id] = (stamp, minutes)
    realised: dict[tuple[str, int], int] = defaultdict(int)
    for activity_id, (_, record) in logged.items():
        approved_minutes = decided.get(activity_id, (None, None))[1]
        if (record.skp_item_id is None or approved_minutes is None or record.minutes == 0
                or record.work_date.year != year):
            continue
        per_unit = record.minutes // record.quantity
        realised[(record.skp_item_id, record.work_date.month)] += approved_minutes // per_unit
    return dict(realised)
