"""Closing a month, as pure functions: the events of a close and the adjustments it pays.

At the close of period p (RULES.md §9): p's results are frozen as `TPPCalculated`, each
employee's `MKDEligibilityDetermined` for p+1 follows, then every earlier-closed month m is
recomputed from all facts now known with m's rule set; where an employee's total differs from
what was paid for m so far (original plus earlier adjustments), a `TPPAdjusted` pays the
difference in p. `PayrollClosed` ends the close: it is the terminal event of the period's stream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time

from kinerja_events.envelope import NewEvent, new_event
from kinerja_events.events import (
    MKDEligibilityDetermined, PayrollClosed, TPPAdjusted, TPPCalculated,
)

from kinerja_events.types import WIB

from .digest import digest
from .fold import Month, PayrollResult


class AlreadyClosed(Exception):
    """The period was closed before: a closed month never changes."""

    def __init__(self, period: str):
        super().__init__(f"{period} is already closed; a closed month never changes "
                         "(late facts are paid as TPPAdjusted at the next close)")
        self.period = period


class CloseRefused(Exception):
    """A close that may not happen (yet): every reason, each a sentence a payroll officer can
    act on. Nothing was written."""

    def __init__(self, period: str, problems: Sequence[str]):
        super().__init__(f"{period} cannot be closed: " + "; ".join(problems))
        self.period = period
        self.problems = list(problems)


def close_guard(period: str, latest_closed: str | None, now: datetime) -> list[str]:
    """Why `period` may not be closed at `now` (RULES.md §9), given the latest closed period:
    it has not ended yet (its last day is not over in WIB), or it is not the month after the
    latest closed one. Empty when it may."""
    month = Month.parse(period)
    problems = []
    ends = datetime.combine(month.shift(1).first, time.min, WIB)
    if now < ends:
        problems.append(f"{period} has not ended yet (it ends at {ends.isoformat()})")
    if latest_closed is not None:
        expected = str(Month.parse(latest_closed).shift(1))
        if period != expected:
            problems.append(f"months close in order: the latest closed month is "
                            f"{latest_closed}, so the next to close is {expected}")
    return problems


def stream_of(period: str) -> str:
    """The payroll event stream of a period's close."""
    return f"payroll:{period}"


def plan_adjustments(period: str, paid_in: str, recomputed: Sequence[PayrollResult],
                     paid: Mapping[str, int]) -> list[TPPAdjusted]:
    """The `TPPAdjusted` of closed month `period`, paid in `paid_in`, by nip.

    `paid` is what each employee has been paid for `period` so far; an employee who now has no
    result is owed 0, one who newly has a result was paid 0.
    """
    now_owed = {r.nip: r.tpp["total_rupiah"] for r in recomputed}
    adjustments = []
    for nip in sorted(set(now_owed) | set(paid)):
        owed, so_far = now_owed.get(nip, 0), paid.get(nip, 0)
        if owed != so_far:
            adjustments.append(TPPAdjusted(nip=nip, period=period, paid_in_period=paid_in,
                                           delta_rupiah=owed - so_far, recomputed_total=owed))
    return adjustments


@dataclass(frozen=True)
class Close:
    """Everything a close of `period` records and publishes."""

    period: str
    results: list[PayrollResult]
    adjustments: list[TPPAdjusted]
    closed: PayrollClosed

    @property
    def adjustments_rupiah(self) -> int:
        """The adjustments paid in this period, totalled beside its own results."""
        return sum(a.delta_rupiah for a in self.adjustments)

    def events(self) -> list[NewEvent]:
        """The close's events, in stream order; `PayrollClosed` last."""
        at = self.closed.closed_at
        out = [new_event(TPPCalculated(**r.tpp), at) for r in self.results]
        out += [new_event(MKDEligibilityDetermined(nip=r.nip, period=r.mkd_period,
                                                   days_per_week=r.mkd_days_per_week,
                                                   reasons=list(r.mkd_reasons)), at)
                for r in self.results]
        out += [new_event(a, at) for a in self.adjustments]
        out.append(new_event(self.closed, at))
        return out


def make_close(period: str, results: list[PayrollResult], adjustments: list[TPPAdjusted],
               closed_at: datetime) -> Close:
    """The close of `period` from its results and the adjustments paid in it."""
    tpp = [r.tpp for r in results]
    closed = PayrollClosed(period=period, employees=len(results),
                           total_rupiah=sum(t["total_rupiah"] for t in tpp),
                           digest=digest(tpp), closed_at=closed_at)
    return Close(period, results, adjustments, closed)
