"""The state the MKD decider reads: a request's stream folded, with the HR directory and the
week the request is about.

A request is its own stream (`mkd:<request_id>`): its `MKDRequested`, then one decision
(`MKDGranted` or `MKDDenied`), then any `MKDRevoked`. What the rules need beyond the request —
the employee's quota for the week and the days already granted in it — is the `Week`, read per
batch from the employee's other requests and payroll's eligibility (see `projection`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from kinerja_events.events import MKDDenied, MKDGranted, MKDRequested, MKDRevoked
from kinerja_events.hr import Directory, Stamp, stamp_of

REVOKE_REASON = "quota_lowered"


@dataclass(frozen=True)
class Requested:
    nip: str
    week_start: date
    days: tuple[date, ...]


@dataclass(frozen=True)
class Week:
    """An employee's week as the rules see it: the month's quota (None: no eligibility
    determined) and the days granted in it and not revoked."""

    quota: int | None
    granted: frozenset[date] = frozenset()


@dataclass(frozen=True)
class RequestState:
    request: Requested | None = None
    decided: bool = False
    directory: Directory | None = None
    week: Week | None = None


def empty_state() -> RequestState:
    return RequestState()


def evolve(state: RequestState, fact: object) -> RequestState:
    """The state after `fact` (an envelope or a `NewEvent`); other facts change nothing."""
    data = fact.data  # type: ignore[attr-defined]
    if isinstance(data, MKDRequested) and state.request is None:
        return replace(state, request=Requested(data.nip, data.week_start,
                                                tuple(sorted(data.days))))
    if isinstance(data, MKDGranted | MKDDenied):
        return replace(state, decided=True)
    return state


def mondays_of(period: str) -> list[date]:
    """The Mondays of `period` (YYYY-MM): the weeks whose quota is that month's."""
    first = date(int(period[:4]), int(period[5:7]), 1)
    day = first + timedelta(days=(7 - first.weekday()) % 7)
    found = []
    while day.month == first.month:
        found.append(day)
        day += timedelta(days=7)
    return found


@dataclass
class Eligibility:
    """Payroll's MKD eligibility per (NIP, period): the latest determination wins."""

    latest: dict[tuple[str, str], tuple[Stamp, int]] = field(default_factory=dict)

    def add(self, facts: Iterable[object]) -> None:
        for fact in facts:
            if getattr(fact, "type", None) != "MKDEligibilityDetermined":
                continue
            data, stamp = fact.data, stamp_of(fact)  # type: ignore[attr-defined]
            key = (data.nip, data.period)
            if key not in self.latest or self.latest[key][0] < stamp:
                self.latest[key] = (stamp, data.days_per_week)

    def quota(self, nip: str, week_start: date) -> int | None:
        found = self.latest.get((nip, week_start.strftime("%Y-%m")))
        return None if found is None else found[1]


@dataclass
class History:
    """The MKD requests, grants and revocations of some employees (from their events)."""

    weeks: dict[str, tuple[str, date]] = field(default_factory=dict)  # request -> (nip, week)
    granted: dict[str, frozenset[date]] = field(default_factory=dict)
    revoked: dict[str, frozenset[date]] = field(default_factory=dict)
    requested: dict[str, tuple[date, ...]] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)

    def add(self, facts: Iterable[object]) -> None:
        for fact in facts:
            data = fact.data  # type: ignore[attr-defined]
            if isinstance(data, MKDRequested):
                self.weeks[data.request_id] = (data.nip, data.week_start)
                self.requested[data.request_id] = tuple(sorted(data.days))
            elif isinstance(data, MKDDenied):
                self.denied.add(data.request_id)
            elif isinstance(data, MKDGranted):
                self.granted[data.request_id] = self.granted.get(data.request_id, frozenset()) \
                    | frozenset(data.days)
            elif isinstance(data, MKDRevoked):
                self.revoked[data.request_id] = self.revoked.get(data.request_id, frozenset()) \
                    | frozenset(data.days)

    def is_pending(self, request_id: str) -> bool:
        return request_id not in self.granted and request_id not in self.denied

    def granted_by_request(self, nip: str, week_start: date) -> dict[str, frozenset[date]]:
        """The days granted and not revoked in `nip`'s week, per request."""
        return {request_id: days - self.revoked.get(request_id, frozenset())
                for request_id, (owner, week) in self.weeks.items()
                if owner == nip and week == week_start
                and (days := self.granted.get(request_id, frozenset()))}

    def granted_in_week(self, nip: str, week_start: date) -> frozenset[date]:
        return frozenset().union(*self.granted_by_request(nip, week_start).values())

    def excess(self, nip: str, week_start: date, quota: int) -> dict[str, list[date]]:
        """The granted days to withdraw so the week holds at most `quota`: the latest days
        first, by request."""
        by_day = sorted(((day, request_id) for request_id, days
                         in self.granted_by_request(nip, week_start).items() for day in days),
                        reverse=True)
        withdrawn: dict[str, list[date]] = {}
        for day, request_id in by_day[:max(0, len(by_day) - quota)]:
            withdrawn.setdefault(request_id, []).append(day)
        return {r: sorted(days) for r, days in withdrawn.items()}
