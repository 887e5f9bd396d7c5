"""Builders of envelope dicts (passing the codec) for payroll tests.

`History` collects envelopes; each builder appends one and returns it. `occurred_at` defaults
to a clock that advances one second per event, so an event built later is "later" unless the
test says otherwise. Event ids are deterministic (from a counter) unless given.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from kinerja_events.types import WIB

NIP_A = "199001012020121001"
NIP_B = "199002022020122002"
NIP_BOSS = "198001012010011001"
NIP_PEER = "199103032020121003"
NIP_SUB = "199504042022031004"

SCORE_NAMES = ("berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal",
               "adaptif", "kolaboratif")


def wib(text: str) -> datetime:
    """`2026-10-05 07:30:00` (or with seconds omitted) as a WIB datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=WIB)


def event_uuid(n: int) -> str:
    """A deterministic UUID string for counter `n`."""
    return str(uuid.UUID(int=(0x5EED << 96) | n))


class History:
    """An event history under construction (a list of envelope dicts)."""

    def __init__(self, clock: datetime | None = None):
        self.events: list[dict[str, Any]] = []
        self._clock = clock or wib("2026-09-01 00:00:00")
        self._versions: dict[str, int] = {}
        self._n = 0

    # --- the envelope ---------------------------------------------------------------------
    def emit(self, type_: str, data: dict[str, Any], *, source: str, stream_id: str,
             occurred_at: datetime | str | None = None, event_id: str | None = None) -> dict:
        """Append one envelope and return it."""
        self._n += 1
        self._clock += timedelta(seconds=1)
        when = occurred_at if occurred_at is not None else self._clock
        if isinstance(when, str):
            when = datetime.fromisoformat(when)
        version = self._versions[stream_id] = self._versions.get(stream_id, 0) + 1
        envelope = {
            "event_id": event_id or event_uuid(self._n),
            "type": type_, "schema_version": 1, "source": source,
            "stream_id": stream_id, "stream_version": version,
            "occurred_at": when.isoformat(), "recorded_at": when.isoformat(),
            "correlation_id": None, "causation_id": None, "data": data,
        }
        self.events.append(envelope)
        return envelope

    # --- hr -------------------------------------------------------------------------------
    def position(self, code: str, kelas: int, *, public_service: bool = False, **kw: Any) -> dict:
        data = {"position_code": code, "name": f"Jabatan {code}", "kelas_jabatan": kelas,
                "mobile": True, "public_service": public_service, "tasks": []}
        return self.emit("PositionDefined", data, source="hr", stream_id=f"position:{code}", **kw)

    def employee(self, nip: str, position_code: str, effective_date: str = "2026-01-01",
                 *, superior_nip: str | None = None, **kw: Any) -> dict:
        data = {"nip": nip, "name": f"Pegawai {nip[-4:]}", "position_code": position_code,
                "unit": "Biro Umum", "office_id": "bdg-1", "superior_nip": superior_nip,
                "effective_date": effective_date}
        return self.emit("EmployeeRegistered", data, source="hr", stream_id=f"employee:{nip}", **kw)

    def change(self, nip: str, effective_date: str, *, occurred_at: Any = None,
               event_id: str | None = None, **fields: Any) -> dict:
        data = {"nip": nip, "effective_date": effective_date, **fields}
        return self.emit("EmployeeChanged", data, source="hr", stream_id=f"employee:{nip}",
                         occurred_at=occurred_at, event_id=event_id)

    def terminate(self, nip: str, effective_date: str, **kw: Any) -> dict:
        return self.emit("EmployeeTerminated", {"nip": nip, "effective_date": effective_date},
                         source="hr", stream_id=f"employee:{nip}", **kw)

    def holiday(self, day: str, name: str = "Libur", kind: str = "national", **kw: Any) -> dict:
        return self.emit("HolidayDeclared", {"date": day, "name": name, "kind": kind},
                         source="hr", stream_id=f"calendar:{day[:4]}", **kw)

    # --- attendance -----------------------------------------------------------------------
    def _check(self, type_: str, nip: str, at: str | datetime, **kw: Any) -> dict:
        when = at if isinstance(at, datetime) else (
            datetime.fromisoformat(at) if "+" in at or at.endswith("Z") else wib(at))
        data = {"nip": nip, "at": when.isoformat(), "received_at": when.isoformat(),
                "mode": "office", "lat": -6.9, "lon": 107.6, "accuracy_m": 10.0,
                "office_id": "bdg-1", "flags": []}
        return self.emit(type_, data, source="attendance", stream_id=f"employee:{nip}", **kw)

    def check_in(self, nip: str, at: str | datetime, **kw: Any) -> dict:
        """`at` is `YYYY-MM-DD HH:MM[:SS]` in WIB, or any RFC 3339 text / aware datetime."""
        return self._check("CheckedIn", nip, at, **kw)

    def check_out(self, nip: str, at: str | datetime, **kw: Any) -> dict:
        return self._check("CheckedOut", nip, at, **kw)

    def day(self, nip: str, day: str, check_in: str | None = "07:30",
            check_out: str | None = "schedule") -> None:
        """Check in (and out; default: at the schedule's end) on `day` in WIB."""
        if check_in is not None:
            self.check_in(nip, f"{day} {check_in}")
        if check_out == "schedule":
            check_out = "16:30" if date.fromisoformat(day).isoweekday() == 5 else "16:00"
        if check_out is not None:
            self.check_out(nip, f"{day} {check_out}")

    def leave(self, nip: str, leave_id: str, start: str, end: str, kind: str = "annual",
              **kw: Any) -> dict:
        data = {"leave_id": leave_id, "nip": nip, "kind": kind, "start_date": start,
                "end_date": end}
        return self.emit("LeaveRecorded", data, source="attendance", stream_id=f"employee:{nip}", **kw)

    def cancel_leave(self, nip: str, leave_id: str, **kw: Any) -> dict:
        return self.emit("LeaveCancelled", {"leave_id": leave_id, "nip": nip},
                         source="attendance", stream_id=f"employee:{nip}", **kw)

    def travel(self, nip: str, travel_id: str, start: str, end: str, **kw: Any) -> dict:
        data = {"travel_id": travel_id, "nip": nip, "start_date": start, "end_date": end}
        return self.emit("OfficialTravelRecorded", data, source="attendance",
                         stream_id=f"employee:{nip}", **kw)

    # --- worklog --------------------------------------------------------------------------
    def activity(self, nip: str, activity_id: str, work_date: str, minutes: int = 60,
                 **kw: Any) -> dict:
        data = {"activity_id": activity_id, "nip": nip, "work_date": work_date,
                "task_code": "T1", "quantity": 1, "minutes": minutes, "description": "kerja",
                "evidence_ref": None}
        return self.emit("ActivityLogged", data, source="worklog", stream_id=f"activity:{activity_id}", **kw)

    def approve(self, nip: str, activity_id: str, minutes: int, approver: str = NIP_BOSS,
                **kw: Any) -> dict:
        data = {"activity_id": activity_id, "nip": nip, "approver_nip": approver,
                "approved_minutes": minutes}
        return self.emit("ActivityApproved", data, source="worklog", stream_id=f"activity:{activity_id}", **kw)

    def reject(self, nip: str, activity_id: str, approver: str = NIP_BOSS, **kw: Any) -> dict:
        data = {"activity_id": activity_id, "nip": nip, "approver_nip": approver,
                "reason": "bukti kurang"}
        return self.emit("ActivityRejected", data, source="worklog", stream_id=f"activity:{activity_id}", **kw)

    def work(self, nip: str, work_date: str, minutes: int) -> str:
        """Log an activity and approve it at `minutes`; returns the activity id."""
        activity_id = f"act-{nip[-4:]}-{work_date}-{self._n}"
        self.activity(nip, activity_id, work_date, minutes)
        self.approve(nip, activity_id, minutes)
        return activity_id

    # --- appraisal ------------------------------------------------------------------------
    def rating(self, rater: str, ratee: str, period: str, relation: str,
               scores: int | tuple[int, ...] = 4, **kw: Any) -> dict:
        values = (scores,) * 7 if isinstance(scores, int) else scores
        data = {"rater_nip": rater, "ratee_nip": ratee, "period": period, "relation": relation,
                "scores": dict(zip(SCORE_NAMES, values, strict=True))}
        return self.emit("RatingGiven", data, source="appraisal", stream_id=f"employee:{ratee}", **kw)

    def ikp(self, ikp_id: str, assignee: str, period: str, due_date: str,
            assigner: str = NIP_BOSS, **kw: Any) -> dict:
        data = {"ikp_id": ikp_id, "assigner_nip": assigner, "assignee_nip": assignee,
                "period": period, "title": f"Instruksi {ikp_id}", "due_date": due_date}
        return self.emit("IKPAssigned", data, source="appraisal", stream_id=f"ikp:{ikp_id}", **kw)

    def complete_ikp(self, ikp_id: str, assignee: str, completed_at: str,
                     verifier: str = NIP_BOSS, **kw: Any) -> dict:
        when = datetime.fromisoformat(completed_at) if "+" in completed_at else wib(completed_at)
        data = {"ikp_id": ikp_id, "assignee_nip": assignee, "verified_by_nip": verifier,
                "completed_at": when.isoformat()}
        return self.emit("IKPCompleted", data, source="appraisal", stream_id=f"ikp:{ikp_id}", **kw)


def weekdays(period: str) -> list[str]:
    """The Monday–Friday dates of `period` (YYYY-MM) as ISO strings."""
    first = date.fromisoformat(period + "-01")
    out, d = [], first
    while d.month == first.month:
        if d.isoweekday() <= 5:
            out.append(d.isoformat())
        d += timedelta(days=1)
    return out


def worked_example(nip: str = NIP_A) -> History:
    """RULES.md §10: kelas 7, October 2026, one day 08:15, one day absent, 320 min a day."""
    h = History()
    h.position("P7", 7)
    h.position("PBOSS", 12)
    h.employee(NIP_BOSS, "PBOSS", "2026-10-01")
    h.employee(nip, "P7", "2026-10-01", superior_nip=NIP_BOSS)
    days = weekdays("2026-10")
    for i, day in enumerate(days):
        if i == 10:
            continue  # no check-in: TK
        h.day(nip, day, check_in="08:15" if i == 5 else "07:30")
        h.work(nip, day, 320)
    h.rating(NIP_BOSS, nip, "2026-10", "superior", 4)
    return h
