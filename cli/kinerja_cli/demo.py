"""A demo organisation and a simulated month of its work, for `make run` and the end-to-end test.

The organisation's reference data is what the HR import (SIMPEG side) publishes on `kinerja.hr`.
The month is what the mobile gateway sends (signed `CheckIn`/`CheckOut` commands) plus the facts of
services that have no issue of their own yet (worklog, appraisal), published as those services'
events. Everything is deterministic for a given seed.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

from kinerja_events import commands as cmd
from kinerja_events import events as ev
from kinerja_events.types import WIB

OFFICE = ev.OfficeRegistered(office_id="GS", name="Gedung Sate", lat=-6.902481, lon=107.618810,
                             radius_m=200)
TASKS = [ev.Task(task_code="LAP", name="Menyusun laporan", unit="dokumen", minutes_per_unit=80),
         ev.Task(task_code="RAP", name="Rapat koordinasi", unit="rapat", minutes_per_unit=120),
         ev.Task(task_code="LYN", name="Melayani pemohon", unit="pemohon", minutes_per_unit=20)]
POSITIONS = [
    ev.PositionDefined(position_code="KABIRO", name="Kepala Biro", kelas_jabatan=14,
                       mobile=False, public_service=False, tasks=TASKS),
    ev.PositionDefined(position_code="ANALIS", name="Analis Kebijakan", kelas_jabatan=9,
                       mobile=False, public_service=False, tasks=TASKS),
    ev.PositionDefined(position_code="PENGAWAS", name="Pengawas Lapangan", kelas_jabatan=7,
                       mobile=True, public_service=False, tasks=TASKS),
    ev.PositionDefined(position_code="LOKET", name="Petugas Layanan", kelas_jabatan=5,
                       mobile=False, public_service=True, tasks=TASKS),
]


@dataclass(frozen=True)
class Person:
    nip: str
    name: str
    position_code: str
    superior_nip: str | None
    diligence: float  # chance of a good day; drives the simulation only, never the rupiah


def demo_people(size: int = 8) -> list[Person]:
    """A head of bureau and `size - 1` staff reporting to them."""
    head = Person("197501012000031001", "Ir. Bambang Sutrisno", "KABIRO", None, 0.97)
    staff_positions = ["ANALIS", "ANALIS", "PENGAWAS", "LOKET"]
    names = ["Siti Nurhaliza", "Asep Saepudin", "Dewi Lestari", "Ujang Rahmat", "Rina Marlina",
             "Dadang Hermawan", "Euis Komariah", "Yayat Supriatna", "Neng Ratna", "Cecep Gorbachev"]
    people = [head]
    for i in range(size - 1):
        nip = f"1990{(i % 12) + 1:02d}0120201210{i + 2:02d}"
        people.append(Person(nip, names[i % len(names)], staff_positions[i % 4], head.nip,
                             (0.75, 0.9, 0.97, 1.0)[i % 4]))
    return people


def demo_reference_data(people: list[Person], effective: date) -> list[ev.Data]:
    """Office, positions and employees, in the order the HR import sends them."""
    employees = [
        ev.EmployeeRegistered(nip=p.nip, name=p.name, position_code=p.position_code,
                              unit="Biro Organisasi", office_id=OFFICE.office_id,
                              superior_nip=p.superior_nip, effective_date=effective)
        for p in people
    ]
    return [OFFICE, *POSITIONS, *employees]


def reference_stream_id(data: ev.Data) -> str:
    """The HR import's stream for a reference record."""
    match data:
        case ev.OfficeRegistered():
            return f"office:{data.office_id}"
        case ev.PositionDefined():
            return f"position:{data.position_code}"
        case ev.HolidayDeclared():
            return f"holiday:{data.date.isoformat()}"
        case _:
            return f"employee:{data.nip}"  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SimulatedMonth:
    """The gateway's commands for attendance, and worklog/appraisal facts, for one month."""

    commands: list[cmd.Command]
    facts: list[tuple[str, ev.Data, datetime]]  # (source, data, occurred_at)


def working_days(period: str) -> list[date]:
    """Monday–Friday of `period` (the demo declares no holiday)."""
    year, month = map(int, period.split("-"))
    days = (date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1))
    return [d for d in days if d.weekday() < 5]


def simulate_month(people: list[Person], period: str, seed: int = 7) -> SimulatedMonth:
    """A month of check-ins, check-outs, approved activities and superior ratings."""
    rng = random.Random(seed)
    commands: list[cmd.Command] = []
    facts: list[tuple[str, ev.Data, datetime]] = []
    for person in people:
        for day in working_days(period):
            if rng.random() > person.diligence and rng.random() < 0.3:
                continue  # absent: no check-in (TK)
            commands += simulate_day(person, day, rng)
            facts += simulate_activity(person, day, rng)
        facts += simulate_rating(person, people, period, rng)
    return SimulatedMonth(commands, facts)


def simulate_day(person: Person, day: date, rng: random.Random) -> list[cmd.Command]:
    """A check-in and (usually) a check-out at the office, sometimes late or early."""
    late = rng.random() > person.diligence
    start = datetime.combine(day, time(7, 30), WIB)
    end = datetime.combine(day, time(16, 30 if day.weekday() == 4 else 16, 0), WIB)
    at_in = start + timedelta(minutes=rng.randint(20, 95) if late else -rng.randint(0, 25),
                              seconds=rng.randint(0, 59))
    at_out = end + timedelta(minutes=-rng.randint(5, 70) if late else rng.randint(0, 40))
    out = [check_command(cmd.CheckIn, person, at_in, rng)]
    if rng.random() < 0.97:
        out.append(check_command(cmd.CheckOut, person, at_out, rng))
    return out


def check_command(kind: type[cmd.CheckIn] | type[cmd.CheckOut], person: Person, at: datetime,
                  rng: random.Random) -> cmd.Command:
    """A gateway check-in/out a few metres from the office."""
    return kind(command_id=UUID(int=rng.getrandbits(128), version=4), actor_nip=person.nip,
                sent_at=at, at=at, lat=OFFICE.lat + rng.uniform(-0.0005, 0.0005),
                lon=OFFICE.lon + rng.uniform(-0.0005, 0.0005), accuracy_m=rng.uniform(3, 25),
                mode="office", mock_location=False)


def simulate_activity(person: Person, day: date, rng: random.Random
                      ) -> list[tuple[str, ev.Data, datetime]]:
    """One logged activity of the day and its superior's decision."""
    activity_id = f"{person.nip}-{day.isoformat()}"
    minutes = rng.choice([240, 280, 320, 360, 400, 480])
    logged_at = datetime.combine(day, time(15, 0), WIB)
    logged = ev.ActivityLogged(activity_id=activity_id, nip=person.nip, work_date=day,
                               task_code="LAP", quantity=minutes // 80, minutes=minutes,
                               description="Menyusun laporan harian", evidence_ref=None,
                               skp_item_id=None)
    approver = person.superior_nip or person.nip
    decided_at = logged_at + timedelta(hours=3)
    if rng.random() < 0.95:
        decision: ev.Data = ev.ActivityApproved(activity_id=activity_id, nip=person.nip,
                                                approver_nip=approver, approved_minutes=minutes)
    else:
        decision = ev.ActivityRejected(activity_id=activity_id, nip=person.nip,
                                       approver_nip=approver, reason="bukti kurang")
    return [("worklog", logged, logged_at), ("worklog", decision, decided_at)]


def simulate_rating(person: Person, people: list[Person], period: str, rng: random.Random
                    ) -> list[tuple[str, ev.Data, datetime]]:
    """The superior's 360° rating of the month (the head of bureau rates themself as a peer)."""
    rater = person.superior_nip or next(p.nip for p in people if p.nip != person.nip)
    relation = "superior" if person.superior_nip else "subordinate"
    base = 5 if person.diligence > 0.95 else 4 if person.diligence > 0.8 else 3
    scores = {f: min(5, max(1, base + rng.choice([-1, 0, 0, 0]))) for f in (
        "berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif",
        "kolaboratif")}
    last_day = working_days(period)[-1]
    rating = ev.RatingGiven(rater_nip=rater, ratee_nip=person.nip, period=period,
                            relation=relation, scores=ev.BerAKHLAKScores(**scores))
    return [("appraisal", rating, datetime.combine(last_day, time(17, 0), WIB))]
