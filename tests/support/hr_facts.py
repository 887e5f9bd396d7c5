"""HR facts for decider tests: sealed envelopes of registrations, changes and holidays."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from kinerja_events.envelope import new_event, seal
from kinerja_events.events import EmployeeRegistered, HolidayDeclared
from kinerja_events.types import WIB

LONG_AGO = datetime(2026, 1, 1, tzinfo=WIB)


def fact(data: Any, at: datetime = LONG_AGO) -> Any:
    """`data` as a sealed `kinerja.hr` envelope occurring at `at`."""
    return seal(new_event(data, at), source="hr", stream_id="hr", stream_version=1,
                recorded_at=at)


def registered(nip: str, superior: str | None, position: str = "STAFF",
               start: date = date(2020, 1, 1)) -> Any:
    return fact(EmployeeRegistered(nip=nip, name=f"Pegawai {nip[-3:]}", position_code=position,
                                   unit="Biro Umum", office_id="GS", superior_nip=superior,
                                   effective_date=start))


def holiday(day: date, name: str = "Libur nasional") -> Any:
    return fact(HolidayDeclared(date=day, name=name, kind="national"))
