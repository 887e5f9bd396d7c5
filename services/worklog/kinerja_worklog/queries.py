"""What people ask the worklog service: a superior's pending approvals, and an employee's month.

Both read the service's own database: the activity streams in `events` and the HR directory in
`reference_facts` (asyncpg connections).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from kinerja_events.codec import Codec
from kinerja_events.hr import Directory
from kinerja_events.reference import read_directory

DAILY_CAP_MINUTES = 450  # RULES.md §4: each day counts at most 7.5 hours
ACTIVITY_TYPES = ["ActivityLogged", "ActivityApproved", "ActivityRejected"]
NIP_INDEX = ("CREATE INDEX IF NOT EXISTS events_activity_nip ON events "
             "((envelope->'data'->>'nip'), type) WHERE stream_id LIKE 'activity:%'")


async def create_query_index(engine: Any) -> None:
    """Index the activity events by employee (what both queries filter on)."""
    from sqlalchemy import text

    async with engine.begin() as conn:
        await conn.execute(text(NIP_INDEX))


@dataclass
class Activity:
    """An activity as it stands: its latest record and latest decision."""

    activity_id: str
    nip: str
    work_date: date
    task_code: str
    quantity: int
    minutes: int
    description: str
    logged_at: datetime
    status: str = "pending"  # pending | approved | rejected
    approved_minutes: int = 0
    decided_by: str | None = None
    reason: str | None = None
    stamps: dict[str, Any] = field(default_factory=dict, repr=False)

    def as_json(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "stamps"}
        return {**data, "work_date": self.work_date.isoformat(),
                "logged_at": self.logged_at.isoformat()}


async def activities_of(conn: Any, codec: Codec, nips: Iterable[str], first: date,
                        last: date) -> list[Activity]:
    """The activities of `nips` with a work date in [first, last], as they stand (the later
    record and the later decision win, as in RULES.md §4)."""
    rows = await conn.fetch(
        "SELECT envelope::text FROM events WHERE stream_id LIKE 'activity:%' "
        "AND envelope->'data'->>'nip' = ANY($1::text[]) AND type = ANY($2::text[])",
        sorted(set(nips)), ACTIVITY_TYPES)
    logged: dict[str, Activity] = {}
    decisions: list[Any] = []
    for (text,) in rows:
        envelope = codec.decode(text)
        if envelope.type == "ActivityLogged":
            add_logged(logged, envelope)
        else:
            decisions.append(envelope)
    for envelope in decisions:
        add_decision(logged, envelope)
    return sorted((a for a in logged.values() if first <= a.work_date <= last),
                  key=lambda a: (a.work_date, a.logged_at, a.activity_id))


def stamp(envelope: Any) -> tuple[datetime, str]:
    return (envelope.occurred_at, str(envelope.event_id))


def add_logged(logged: dict[str, Activity], envelope: Any) -> None:
    data = envelope.data
    current = logged.get(data.activity_id)
    if current is not None and current.stamps["logged"] > stamp(envelope):
        return
    activity = Activity(data.activity_id, data.nip, data.work_date, data.task_code,
                        data.quantity, data.minutes, data.description, envelope.occurred_at)
    if current is not None and "decision" in current.stamps:
        activity.status, activity.approved_minutes = current.status, current.approved_minutes
        activity.decided_by, activity.reason = current.decided_by, current.reason
        activity.stamps["decision"] = current.stamps["decision"]
    activity.stamps["logged"] = stamp(envelope)
    logged[data.activity_id] = activity


def add_decision(logged: dict[str, Activity], envelope: Any) -> None:
    activity = logged.get(envelope.data.activity_id)
    if activity is None or activity.stamps.get("decision", stamp(envelope)) > stamp(envelope):
        return
    approved = envelope.type == "ActivityApproved"
    activity.status = "approved" if approved else "rejected"
    activity.approved_minutes = envelope.data.approved_minutes if approved else 0
    activity.decided_by = envelope.data.approver_nip
    activity.reason = None if approved else envelope.data.reason
    activity.stamps["decision"] = stamp(envelope)


def reports_of(directory: Directory, approver: str) -> set[str]:
    """Everyone whose superior, at any time, is `approver` or (transitively) one of theirs: the
    people `approver` may have to decide for when a post below is vacant."""
    below: dict[str, set[str]] = {}
    for person in directory.people.values():
        for change in person.changes:
            superior = change.fields.get("superior_nip")
            if superior:
                below.setdefault(superior, set()).add(person.nip)
    found: set[str] = set()
    frontier = [approver]
    while frontier:
        nip = frontier.pop()
        for report in below.get(nip, ()):
            if report not in found and report != approver:
                found.add(report)
                frontier.append(report)
    return found


async def pending_approvals(conn: Any, codec: Codec, approver: str, today: date,
                            days_back: int = 62) -> list[Activity]:
    """The undecided activities `approver` may decide today (work dates up to `days_back`
    days back), oldest first."""
    directory = await read_directory(conn, codec)
    first = today - timedelta(days=days_back)
    activities = await activities_of(conn, codec, reports_of(directory, approver), first, today)
    return [a for a in activities if a.status == "pending"
            and directory.approver_of(a.nip, a.work_date, today) == approver]


@dataclass
class Month:
    """An employee's month of activities, with each day's totals."""

    nip: str
    name: str | None
    period: str
    activities: list[Activity]
    minute_value_rupiah: str | None = None
    """From payroll's projection of the month, where it has one."""

    def days(self) -> list[dict[str, Any]]:
        by_day: dict[date, list[Activity]] = {}
        for activity in self.activities:
            by_day.setdefault(activity.work_date, []).append(activity)
        return [{"work_date": day.isoformat(),
                 "logged_minutes": sum(a.minutes for a in acts),
                 "approved_minutes": sum(a.approved_minutes for a in acts),
                 "rejected_minutes": sum(a.minutes for a in acts if a.status == "rejected"),
                 "pending_minutes": sum(a.minutes for a in acts if a.status == "pending"),
                 "counted_minutes": min(DAILY_CAP_MINUTES, sum(a.approved_minutes for a in acts)),
                 "activities": [a.as_json() for a in acts]}
                for day, acts in sorted(by_day.items())]

    def totals(self) -> dict[str, int]:
        days = self.days()
        return {key: sum(d[key] for d in days) for key in (
            "logged_minutes", "approved_minutes", "rejected_minutes", "pending_minutes",
            "counted_minutes")}

    def as_json(self) -> dict[str, Any]:
        return {"nip": self.nip, "name": self.name, "period": self.period,
                "daily_cap_minutes": DAILY_CAP_MINUTES, "totals": self.totals(),
                "minute_value_rupiah": self.minute_value_rupiah, "days": self.days()}


async def payroll_minute_value(payroll_url: str | None, period: str, nip: str) -> str | None:
    """The rupiah value of one approved minute of `nip`'s `period` in payroll's projection
    (payroll's own database on the same server, read only), or None where payroll has no
    projection of it or cannot be reached."""
    import asyncpg

    if not payroll_url:
        return None
    try:
        conn = await asyncpg.connect(payroll_url.replace("postgresql+asyncpg://", "postgresql://"),
                                     timeout=5)
    except Exception:
        return None
    try:
        value = await conn.fetchval("SELECT data->>'minute_value_rupiah' FROM projection "
                                    "WHERE period = $1 AND nip = $2", period, nip)
    except Exception:  # no projection table yet
        value = None
    finally:
        await conn.close()
    return value


async def employee_month(conn: Any, codec: Codec, nip: str, period: str,
                         payroll_url: str | None = None) -> Month:
    year, month = int(period[:4]), int(period[5:7])
    first = date(year, month, 1)
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    directory = await read_directory(conn, codec)
    person = directory.person(nip)
    return Month(nip, person.name if person else None, period,
                 await activities_of(conn, codec, [nip], first, last),
                 await payroll_minute_value(payroll_url, period, nip))


def http_queries(engine: Any, codec: Codec, payroll_url: str | None = None) -> dict[str, Any]:
    """The JSON GET endpoints: `/worklog/pending?approver=NIP` and
    `/worklog/month?nip=NIP&period=YYYY-MM`."""
    from kinerja_events.queries import nip_param, on_connection, period_param
    from kinerja_events.types import WIB

    async def pending(params: Any) -> Any:
        approver = nip_param(params, "approver")
        today = datetime.now(WIB).date()
        found = await on_connection(engine, lambda conn: pending_approvals(conn, codec, approver,
                                                                           today))
        return {"approver": approver, "activities": [a.as_json() for a in found]}

    async def month(params: Any) -> Any:
        nip, period = nip_param(params, "nip"), period_param(params)
        found = await on_connection(engine, lambda conn: employee_month(conn, codec, nip, period,
                                                                        payroll_url))
        return found.as_json()

    return {"/worklog/pending": pending, "/worklog/month": month}
