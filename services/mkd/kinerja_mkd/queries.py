"""What people ask the MKD service: an employee's quota and days per week, and a superior's
pending requests. Both read the service's own database: the request streams in `events` and
the directory and eligibility in `reference_facts` (asyncpg connections)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from kinerja_events.codec import Codec
from kinerja_events.reference import NewFacts

from .model import Eligibility, History, mondays_of
from .projection import read_history


async def read_reference(conn: Any, codec: Codec) -> tuple[Any, Eligibility]:
    from kinerja_events.hr import Directory

    facts = await NewFacts(codec).read_new(conn)
    directory, eligibility = Directory(), Eligibility()
    directory.add(facts)
    eligibility.add(facts)
    return directory, eligibility


def days_json(days: Any) -> list[str]:
    return [d.isoformat() for d in sorted(days)]


async def employee_weeks(conn: Any, codec: Codec, nip: str, period: str) -> dict[str, Any]:
    """Each week of `period` (by its Monday): the quota, the days granted (and not revoked),
    revoked, and asked for in requests not decided yet."""
    directory, eligibility = await read_reference(conn, codec)
    history = await read_history(conn, codec, [nip])
    weeks = []
    for monday in mondays_of(period):
        requests = [r for r, (owner, week) in history.weeks.items()
                    if owner == nip and week == monday]
        weeks.append({
            "week_start": monday.isoformat(), "quota": eligibility.quota(nip, monday),
            "granted": days_json(history.granted_in_week(nip, monday)),
            "revoked": days_json(set().union(*(history.revoked.get(r, ()) for r in requests))),
            "pending": days_json({d for r in requests if history.is_pending(r)
                                  for d in history.requested[r]})})
    person = directory.person(nip)
    return {"nip": nip, "name": person.name if person else None, "period": period,
            "weeks": weeks}


async def pending_requests(conn: Any, codec: Codec, approver: str, today: date
                           ) -> list[dict[str, Any]]:
    """The undecided requests `approver` may decide today (their direct reports'), by week."""
    directory, eligibility = await read_reference(conn, codec)
    reports = [n for n in directory.people if directory.superior_of(n, today) == approver]
    history: History = await read_history(conn, codec, reports)
    found = []
    for request_id, (nip, week) in history.weeks.items():
        if history.is_pending(request_id) and max(history.requested[request_id]) >= today:
            person = directory.person(nip)
            found.append({"request_id": request_id, "nip": nip,
                          "name": person.name if person else None,
                          "week_start": week.isoformat(),
                          "days": days_json(history.requested[request_id]),
                          "quota": eligibility.quota(nip, week),
                          "granted": days_json(history.granted_in_week(nip, week))})
    return sorted(found, key=lambda r: (r["week_start"], r["nip"], r["request_id"]))


def http_queries(engine: Any, codec: Codec) -> dict[str, Any]:
    """The JSON GET endpoints: `/mkd/weeks?nip=NIP&period=YYYY-MM` and
    `/mkd/pending?approver=NIP`."""
    from kinerja_events.queries import nip_param, on_connection, period_param
    from kinerja_events.types import WIB

    async def weeks(params: Any) -> Any:
        nip, period = nip_param(params, "nip"), period_param(params)
        return await on_connection(engine, lambda conn: employee_weeks(conn, codec, nip, period))

    async def pending(params: Any) -> Any:
        approver = nip_param(params, "approver")
        today = datetime.now(WIB).date()
        found = await on_connection(engine, lambda conn: pending_requests(conn, codec, approver,
                                                                          today))
        return {"approver": approver, "requests": found}

    return {"/mkd/weeks": weeks, "/mkd/pending": pending}
