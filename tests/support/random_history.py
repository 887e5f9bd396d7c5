"""A random but valid history of a few employees over two months, for property tests."""

from __future__ import annotations

import random
from datetime import date, timedelta

from history import History, weekdays

NIPS = [f"19900101202012{i:04d}" for i in range(1, 5)]


def random_history(seed: int) -> History:
    """Employees with random attendance, leave, travel, work, decisions, ratings and IKP."""
    rng = random.Random(seed)
    h = History()
    for kelas in (3, 7, 12):
        h.position(f"P{kelas}", kelas, public_service=rng.random() < 0.2)
    if rng.random() < 0.5:
        h.position("P7", rng.choice((5, 9)))
    for n, nip in enumerate(NIPS):
        start = rng.choice(("2026-08-01", "2026-09-01", "2026-09-15", "2026-10-07"))
        h.employee(nip, rng.choice(("P3", "P7", "P12")), start)
        if rng.random() < 0.3:
            h.change(nip, rng.choice(("2026-09-20", "2026-10-12")), position_code="P12")
        if rng.random() < 0.2:
            h.terminate(nip, rng.choice(("2026-10-20", "2026-10-01", "2026-09-10")))
    if rng.random() < 0.5:
        h.holiday(rng.choice(weekdays("2026-10")))
    for nip in NIPS:
        for period in ("2026-09", "2026-10"):
            _random_month(h, rng, nip, period)
    return h


def _random_month(h: History, rng: random.Random, nip: str, period: str) -> None:
    days = weekdays(period)
    for day in days + [d for d in _weekend(period) if rng.random() < 0.1]:
        if rng.random() < 0.1:
            continue
        minute_in = rng.randint(6 * 60, 10 * 60)
        h.check_in(nip, f"{day} {minute_in // 60:02d}:{minute_in % 60:02d}:{rng.randint(0, 59):02d}")
        if rng.random() < 0.9:
            minute_out = rng.randint(13 * 60, 18 * 60)
            h.check_out(nip, f"{day} {minute_out // 60:02d}:{minute_out % 60:02d}:{rng.randint(0, 59):02d}")
        for k in range(rng.randint(0, 3)):
            activity_id = f"a-{nip}-{day}-{k}"
            h.activity(nip, activity_id, day, rng.randint(0, 300))
            for _ in range(rng.randint(0, 3)):
                if rng.random() < 0.7:
                    h.approve(nip, activity_id, rng.randint(0, 300))
                else:
                    h.reject(nip, activity_id)
    for k in range(rng.randint(0, 2)):
        first = rng.choice(days)
        end = (date.fromisoformat(first) + timedelta(days=rng.randint(0, 4))).isoformat()
        leave_id = f"l-{nip}-{period}-{k}"
        h.leave(nip, leave_id, first, end)
        if rng.random() < 0.3:
            h.cancel_leave(nip, leave_id)
    if rng.random() < 0.3:
        first = rng.choice(days)
        h.travel(nip, f"t-{nip}-{period}", first, first)
    for rater in rng.sample(NIPS, rng.randint(0, 3)):
        for _ in range(rng.randint(1, 2)):
            h.rating(rater, nip, period, rng.choice(("superior", "peer", "subordinate")),
                     tuple(rng.randint(1, 5) for _ in range(7)))
    for k in range(rng.randint(0, 5)):
        ikp_id = f"i-{nip}-{period}-{k}"
        due = rng.choice(days)
        h.ikp(ikp_id, nip, period, due)
        if rng.random() < 0.6:
            done = date.fromisoformat(due) + timedelta(days=rng.randint(-3, 2))
            h.complete_ikp(ikp_id, nip, f"{done} {rng.randint(0, 23):02d}:00")


def _weekend(period: str) -> list[str]:
    first = date.fromisoformat(period + "-01")
    out, d = [], first
    while d.month == first.month:
        if d.isoweekday() > 5:
            out.append(d.isoformat())
        d += timedelta(days=1)
    return out
