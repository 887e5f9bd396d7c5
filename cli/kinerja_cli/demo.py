"""The demo organisation and its simulated months, for `make run` / `kinerja demo` and the tests.

The organisation is an OPD — Dinas Penanaman Modal dan PTSP — of a little over 200 employees: a
head (Kepala Dinas) under the Sekretaris Daerah, a secretary and four heads of division (kabid),
heads of sub-division or section (kasubbag / kasi), and their staff; two offices; positions with
task lists, field (mobile) posts and face-to-face public-service posts; the year's holidays and
cuti bersama. It reaches the platform the way the HR side sends it (`hrimport`).

A month is what the mobile gateway and the HR side send, day by day, as `Wave`s of signed
commands, each stamped with the simulated moment it is sent: check-ins with realistic lateness
(and some outside the geofence, sent again from inside), field staff in field mode, activities
against the position's tasks, their approval or rejection by the superior the same evening,
360° ratings from the 20th, IKP assigned and completed (some late, some never), leave and travel
from the HR side, and — once payroll has determined eligibility from the month before — MKD
requests on Mondays, the superior's decision and check-ins from home on the days granted.

Before the first month, everyone drafts an SKP for each year the demo touches, level by level
down the hierarchy (one item per task of the position, each serving an item of the superior's
SKP; the Sekretaris Daerah at the top names the unit's goal), and the superiors approve them;
activities then name the item of their task. After the months, each superior evaluates the last
quarter that has ended, confirming the proposal the data gives or, now and then, overriding it
with a reason.

Everything is a function of the seed: the same month gives the same command ids on every run,
so a platform restarted halfway through answers the commands it already decided as repeats.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from uuid import UUID

from kinerja_events import commands as cmd
from kinerja_events import events as ev
from kinerja_events.types import WIB

OPD = "DPMPTSP"
TARGET_MINUTES = 300  # a day's work the rule set expects (jabar-2026)
SEKDA_UNIT = "Sekretariat Daerah"  # outside the OPD: only the head's superior
DEMO_SEED = 2026

KANTOR = ev.OfficeRegistered(office_id="DPMPTSP", name="Kantor DPMPTSP Jl. Sumatera",
                             lat=-6.911520, lon=107.617030, radius_m=150)
MPP = ev.OfficeRegistered(office_id="MPP", name="Mal Pelayanan Publik", lat=-6.921800,
                          lon=107.607100, radius_m=120)
GEDUNG_SATE = ev.OfficeRegistered(office_id="GS", name="Gedung Sate", lat=-6.902481,
                                  lon=107.618810, radius_m=200)
OFFICES = (KANTOR, MPP, GEDUNG_SATE)


def task(code: str, name: str, unit: str, minutes: int) -> ev.Task:
    return ev.Task(task_code=code, name=name, unit=unit, minutes_per_unit=minutes)


LEAD = [task("RAP", "Memimpin rapat koordinasi", "rapat", 90),
        task("TTD", "Menelaah dan menandatangani naskah dinas", "naskah", 20),
        task("BIN", "Membina dan mengevaluasi bawahan", "kegiatan", 60),
        task("LAP", "Menyusun laporan pimpinan", "laporan", 120)]
POSITIONS = (
    ev.PositionDefined(position_code="SEKDA", name="Sekretaris Daerah", kelas_jabatan=16,
                       mobile=False, public_service=False, tasks=LEAD),
    ev.PositionDefined(position_code="KADIS", name="Kepala Dinas", kelas_jabatan=14,
                       mobile=False, public_service=False, tasks=LEAD),
    ev.PositionDefined(position_code="SEKDIS", name="Sekretaris Dinas", kelas_jabatan=12,
                       mobile=False, public_service=False, tasks=LEAD),
    ev.PositionDefined(position_code="KABID", name="Kepala Bidang", kelas_jabatan=12,
                       mobile=False, public_service=False, tasks=LEAD),
    ev.PositionDefined(position_code="KASUBBAG", name="Kepala Sub Bagian / Seksi",
                       kelas_jabatan=9, mobile=False, public_service=False, tasks=LEAD),
    ev.PositionDefined(
        position_code="ANALIS", name="Analis Kebijakan", kelas_jabatan=8, mobile=False,
        public_service=False,
        tasks=[task("KAJ", "Menyusun kajian kebijakan", "kajian", 150),
               task("NDN", "Menyusun nota dinas", "nota", 45),
               task("DAT", "Mengolah data perizinan", "berkas", 30)]),
    ev.PositionDefined(
        position_code="PENGADM", name="Pengadministrasi Umum", kelas_jabatan=5, mobile=False,
        public_service=False,
        tasks=[task("ARS", "Mengarsipkan surat", "surat", 10),
               task("AGD", "Mengagendakan surat masuk", "surat", 8),
               task("ENT", "Menginput data kepegawaian", "berkas", 15)]),
    ev.PositionDefined(
        position_code="VERIF", name="Verifikator Perizinan", kelas_jabatan=7, mobile=False,
        public_service=False,
        tasks=[task("VRF", "Memverifikasi berkas permohonan izin", "berkas", 25),
               task("BAP", "Menyusun berita acara pemeriksaan", "berita acara", 60)]),
    ev.PositionDefined(
        position_code="PENGAWAS", name="Pengawas Lapangan", kelas_jabatan=7, mobile=True,
        public_service=False,
        tasks=[task("INS", "Inspeksi lokasi usaha", "lokasi", 120),
               task("BAP", "Menyusun berita acara pemeriksaan", "berita acara", 60)]),
    ev.PositionDefined(
        position_code="LOKET", name="Petugas Layanan Perizinan", kelas_jabatan=6, mobile=False,
        public_service=True,
        tasks=[task("LYN", "Melayani pemohon di loket", "pemohon", 15),
               task("KNS", "Memberi konsultasi perizinan", "konsultasi", 30)]),
)
POSITION = {p.position_code: p for p in POSITIONS}

# (unit, its head's title, staff positions, office of the staff)
DIVISIONS = (
    ("Sekretariat", "SEKDIS", ("Umum dan Kepegawaian", "Keuangan", "Perencanaan"),
     ("PENGADM", "ANALIS"), "DPMPTSP"),
    ("Bidang Perizinan", "KABID", ("Perizinan Usaha", "Perizinan Non Usaha"),
     ("VERIF", "ANALIS"), "DPMPTSP"),
    ("Bidang Pelayanan", "KABID", ("Loket Terpadu", "Pengaduan"), ("LOKET",), "MPP"),
    ("Bidang Pengawasan", "KABID", ("Pengawasan Usaha", "Pengendalian"), ("PENGAWAS",),
     "DPMPTSP"),
    ("Bidang Promosi", "KABID", ("Promosi", "Kerja Sama"), ("ANALIS", "PENGADM"), "DPMPTSP"),
)
STAFF_PER_SECTION = {"Sekretariat": 14}
OUTPUT = (1.2, 1.15, 1.15, 1.1, 1.1, 1.05, 1.0, 0.95, 0.9, 0.8, 0.7, 0.6)  # share of the target
DEFAULT_STAFF_PER_SECTION = 20

FIRST = ("Agus", "Asep", "Budi", "Cecep", "Dadang", "Dede", "Deden", "Dewi", "Dian", "Endang",
         "Euis", "Fajar", "Gilang", "Hendra", "Ika", "Imas", "Indra", "Lilis", "Neng", "Nia",
         "Nurul", "Oman", "Pipit", "Rina", "Rudi", "Siti", "Tati", "Ujang", "Wawan", "Yanti",
         "Yayat", "Yusuf", "Rizky", "Sri", "Ratna", "Taufik", "Lina", "Hadi", "Iwan", "Eneng")
LAST = ("Hidayat", "Suryana", "Rahmawati", "Setiawan", "Permana", "Kurniawan", "Nurhayati",
        "Saepudin", "Sulaeman", "Gunawan", "Lestari", "Maulana", "Wulandari", "Firmansyah",
        "Supriatna", "Komariah", "Hermawan", "Marlina", "Rohman", "Sopandi", "Kusnadi")

# The national holidays and cuti bersama the demo declares (SKB 3 Menteri), by year; any
# other year gets the fixed-date ones only.
MOVING_HOLIDAYS: dict[int, tuple[tuple[str, str, str], ...]] = {
    2026: (("01-16", "Isra Mikraj Nabi Muhammad SAW", "national"),
           ("02-17", "Tahun Baru Imlek", "national"),
           ("03-19", "Hari Suci Nyepi", "national"),
           ("03-20", "Idul Fitri 1447 H", "national"),
           ("03-21", "Idul Fitri 1447 H", "national"),
           ("03-18", "Cuti bersama Idul Fitri", "joint_leave"),
           ("03-23", "Cuti bersama Idul Fitri", "joint_leave"),
           ("03-24", "Cuti bersama Idul Fitri", "joint_leave"),
           ("04-03", "Wafat Yesus Kristus", "national"),
           ("05-14", "Kenaikan Yesus Kristus", "national"),
           ("05-15", "Cuti bersama Kenaikan Yesus Kristus", "joint_leave"),
           ("05-27", "Idul Adha 1447 H", "national"),
           ("05-31", "Hari Raya Waisak", "national"),
           ("06-16", "Tahun Baru Islam 1448 H", "national"),
           ("08-25", "Maulid Nabi Muhammad SAW", "national"),
           ("12-24", "Cuti bersama Hari Raya Natal", "joint_leave")),
    2027: (("01-05", "Isra Mikraj Nabi Muhammad SAW", "national"),
           ("02-06", "Tahun Baru Imlek", "national"),
           ("03-09", "Idul Fitri 1448 H", "national"),
           ("03-10", "Idul Fitri 1448 H", "national"),
           ("03-08", "Cuti bersama Idul Fitri", "joint_leave"),
           ("03-11", "Cuti bersama Idul Fitri", "joint_leave"),
           ("03-26", "Wafat Yesus Kristus", "national"),
           ("05-06", "Kenaikan Yesus Kristus", "national"),
           ("05-17", "Idul Adha 1448 H", "national"),
           ("05-20", "Hari Raya Waisak", "national"),
           ("06-06", "Tahun Baru Islam 1449 H", "national"),
           ("08-15", "Maulid Nabi Muhammad SAW", "national"),
           ("12-24", "Cuti bersama Hari Raya Natal", "joint_leave")),
}
FIXED_HOLIDAYS = (("01-01", "Tahun Baru Masehi", "national"), ("05-01", "Hari Buruh", "national"),
                  ("06-01", "Hari Lahir Pancasila", "national"),
                  ("08-17", "Hari Kemerdekaan RI", "national"),
                  ("12-25", "Hari Raya Natal", "national"))


@dataclass(frozen=True)
class Person:
    """An employee and how they tend to work (drives the simulation only, never the rupiah)."""

    nip: str
    name: str
    position_code: str
    unit: str
    office_id: str
    superior_nip: str | None
    diligence: float  # chance of an on-time, present day
    output: float  # share of a full day's work they report
    conduct: int  # the score (1-5) colleagues tend to give them
    home: tuple[float, float]

    @property
    def position(self) -> ev.PositionDefined:
        return POSITION[self.position_code]

    @property
    def in_opd(self) -> bool:
        return self.unit != SEKDA_UNIT


@dataclass(frozen=True)
class Organisation:
    offices: Sequence[ev.OfficeRegistered]
    positions: Sequence[ev.PositionDefined]
    people: Sequence[Person]

    def by_nip(self) -> dict[str, Person]:
        return {p.nip: p for p in self.people}

    def subordinates(self) -> dict[str, list[Person]]:
        """Each superior's direct subordinates."""
        out: dict[str, list[Person]] = {}
        for person in self.people:
            if person.superior_nip:
                out.setdefault(person.superior_nip, []).append(person)
        return out


def build_organisation(staff_per_section: int | None = None, seed: int = DEMO_SEED
                       ) -> Organisation:
    """The demo OPD (`staff_per_section` shrinks it, for tests)."""
    rng = random.Random(seed)
    people: list[Person] = []
    used: set[str] = set()

    def hire(position: str, unit: str, office: str, superior: str | None, title: str = "",
             diligence: float | None = None) -> Person:
        person = Person(nip=new_nip(rng, used), name=title + person_name(rng),
                        position_code=position, unit=unit, office_id=office,
                        superior_nip=superior,
                        diligence=diligence if diligence is not None else profile(rng),
                        output=rng.choice(OUTPUT), conduct=rng.choice(
                            (3, 4, 4, 4, 5, 5)), home=near(rng, KANTOR, 3_000, 15_000))
        people.append(person)
        return person

    sekda = hire("SEKDA", SEKDA_UNIT, "GS", None, "Dr. H. ", 0.99)
    head = hire("KADIS", "Pimpinan", "DPMPTSP", sekda.nip, "Dr. Ir. ", 0.97)
    for unit, head_title, sections, staff_positions, office in DIVISIONS:
        chief = hire(head_title, unit, "DPMPTSP", head.nip, "Drs. ")
        for _ in sections:
            lead = hire("KASUBBAG", f"{unit}", "DPMPTSP", chief.nip)
            count = staff_per_section or STAFF_PER_SECTION.get(unit, DEFAULT_STAFF_PER_SECTION)
            for n in range(count):
                hire(staff_positions[n % len(staff_positions)], unit, office, lead.nip)
    return Organisation(OFFICES, POSITIONS, people)


def profile(rng: random.Random) -> float:
    """How diligent a new hire is: most are, some are not."""
    return rng.choice((0.98, 0.97, 0.95, 0.95, 0.93, 0.9, 0.9, 0.85, 0.8, 0.7, 0.55))


def new_nip(rng: random.Random, used: set[str]) -> str:
    """An 18-digit NIP: birth date, CPNS month, gender, number."""
    while True:
        born = date(rng.randint(1966, 1998), rng.randint(1, 12), rng.randint(1, 28))
        hired = min(born.year + rng.randint(22, 30), 2024)
        nip = (f"{born:%Y%m%d}{hired}{rng.randint(1, 12):02d}{rng.randint(1, 2)}"
               f"{rng.randint(1, 999):03d}")
        if nip not in used:
            used.add(nip)
            return nip


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def near(rng: random.Random, office: ev.OfficeRegistered, low_m: float, high_m: float
         ) -> tuple[float, float]:
    """A point `low_m`..`high_m` metres from `office`, in a random direction."""
    import math

    distance, bearing = rng.uniform(low_m, high_m), rng.uniform(0, 2 * math.pi)
    return (office.lat + distance * math.cos(bearing) / 111_320,
            office.lon + distance * math.sin(bearing) / (111_320 * math.cos(math.radians(
                office.lat))))


def holidays(years: Iterable[int]) -> list[ev.HolidayDeclared]:
    """The demo's holidays and cuti bersama of `years`."""
    out = []
    for year in sorted(set(years)):
        for day, name, kind in (*FIXED_HOLIDAYS, *MOVING_HOLIDAYS.get(year, ())):
            out.append(ev.HolidayDeclared(date=date.fromisoformat(f"{year}-{day}"), name=name,
                                          kind=kind))  # type: ignore[arg-type]
    return sorted(out, key=lambda h: h.date)


def chart_of(org: Organisation, effective: date) -> object:
    """The organisation as the HR import's org chart, effective from `effective`."""
    from .hrimport import OrgChart

    employees = [ev.EmployeeRegistered(nip=p.nip, name=p.name, position_code=p.position_code,
                                       unit=p.unit, office_id=p.office_id,
                                       superior_nip=p.superior_nip, effective_date=effective)
                 for p in org.people]
    return OrgChart(offices=list(org.offices), positions=list(org.positions),
                    employees=employees,
                    holidays=holidays({effective.year, effective.year + 1}))


# --- a simulated month ------------------------------------------------------------------------
@dataclass(frozen=True)
class Send:
    """One command and who signs it: the mobile gateway, or the HR side."""

    service: str
    command: cmd.Command
    signer: str = "gateway"


@dataclass
class Wave:
    """Commands sent at about the same simulated time; the next wave waits for their outcomes
    (an approval needs its activity decided first)."""

    at: datetime
    label: str
    sends: list[Send] = field(default_factory=list)


@dataclass
class Day:
    day: date
    waves: list[Wave]

    def commands(self) -> int:
        return sum(len(w.sends) for w in self.waves)


def working_days(period: str, holidays_: Iterable[ev.HolidayDeclared]) -> list[date]:
    """Monday–Friday of `period` that are not declared holidays."""
    off = {h.date for h in holidays_}
    year, month = map(int, period.split("-"))
    days = (date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1))
    return [d for d in days if d.weekday() < 5 and d not in off]


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), WIB)


class MonthSimulation:
    """Plans one month of the organisation's commands, day by day (deterministic per seed)."""

    def __init__(self, org: Organisation, period: str, seed: int,
                 mkd_quota: Mapping[str, int] | None = None):
        self.org = org
        self.period = period
        self.rng = random.Random(seed)
        self.people = list(org.people)
        self.nips = org.by_nip()
        self.subordinates = org.subordinates()
        self.days = working_days(period, holidays({int(period[:4])}))
        self.quota = dict(mkd_quota or {})
        self.away = self.plan_leave_and_travel()
        self.ikps = self.plan_ikps()
        self.ratings = self.plan_ratings()
        self.mkd_days: dict[tuple[str, date], bool] = {}
        self.ids = 0

    def command_id(self) -> UUID:
        return UUID(int=self.rng.getrandbits(128), version=4)

    # --- what is decided for the whole month up front -----------------------------------------
    def plan_leave_and_travel(self) -> dict[tuple[str, date], tuple[str, str, date, date]]:
        """(nip, day) -> (kind, id, first day, last day) of each leave and travel."""
        away: dict[tuple[str, date], tuple[str, str, date, date]] = {}
        for person in self.people:
            roll = self.rng.random()
            if roll < 0.10:
                kind, length = "annual", self.rng.randint(1, 3)
            elif roll < 0.15:
                kind, length = "sick", self.rng.randint(1, 2)
            elif roll < 0.22 and person.position_code in ("KABID", "KASUBBAG", "ANALIS"):
                kind, length = "travel", self.rng.randint(2, 3)
            else:
                continue
            start = self.rng.randrange(1, max(2, len(self.days) - length))
            span = self.days[start:start + length]
            record_id = f"{kind[:3].upper()}-{self.period}-{person.nip}"
            for day in span:
                away[(person.nip, day)] = (kind, record_id, span[0], span[-1])
        return away

    def plan_ikps(self) -> list[tuple[str, str, str, date, date, date | None]]:
        """(ikp_id, leader, assignee, assigned on, due, completed on or None)."""
        out = []
        leaders = [p for p in self.people if p.position_code in ("KADIS", "SEKDIS", "KABID",
                                                                  "KASUBBAG")]
        for leader in leaders:
            team = self.subordinates.get(leader.nip, [])
            chosen = team if leader.position_code != "KASUBBAG" else self.rng.sample(
                team, min(2, len(team)))
            for assignee in chosen:
                assigned = self.days[self.rng.randint(1, 3)]
                due = self.days[self.rng.randint(9, len(self.days) - 4)]
                roll = self.rng.random()
                completed: date | None
                if roll < 0.75:
                    completed = self.rng.choice([d for d in self.days if assigned <= d <= due])
                elif roll < 0.9:  # late, but within the month
                    completed = self.rng.choice([d for d in self.days if d > due])
                else:
                    completed = None
                out.append((f"IKP-{self.period}-{len(out) + 1:03d}", leader.nip,
                            assignee.nip, assigned, due, completed))
        return out

    def plan_ratings(self) -> dict[date, list[tuple[Person, Person, str]]]:
        """Rating day -> (rater, ratee, relation): the superior, up to two peers and up to two
        subordinates rate each employee, from the 20th on."""
        window = [d for d in self.days if d.day >= 20] or self.days[-3:]
        out: dict[date, list[tuple[Person, Person, str]]] = {}
        for ratee in self.people:
            raters: list[tuple[Person, str]] = []
            boss = self.nips.get(ratee.superior_nip or "")
            if boss is not None:
                raters.append((boss, "superior"))
                peers = [p for p in self.subordinates.get(boss.nip, []) if p.nip != ratee.nip]
                raters += [(p, "peer") for p in self.rng.sample(peers, min(2, len(peers)))]
            team = self.subordinates.get(ratee.nip, [])
            raters += [(p, "subordinate") for p in self.rng.sample(team, min(2, len(team)))]
            for rater, relation in raters:
                out.setdefault(self.rng.choice(window), []).append((rater, ratee, relation))
        return out

    # --- one day ----------------------------------------------------------------------------
    def simulate(self) -> list[Day]:
        return [self.simulate_day(day) for day in self.days]

    def simulate_day(self, day: date) -> Day:
        morning = Wave(at(day, 6, 30), "leave, travel and MKD requests")
        decisions = Wave(at(day, 7, 5), "MKD decisions")
        office = Wave(at(day, 7, 30), "check-ins, IKP and ratings")
        work = Wave(at(day, 15, 0), "daily reports")
        evening = Wave(at(day, 16, 30), "check-outs and approvals")
        self.send_away(day, morning)
        if self.quota and day.weekday() == 0:  # a week begun last month has no eligibility
            self.send_mkd(day, morning, decisions)
        for person in self.people:
            self.send_person_day(person, day, office, work, evening)
        self.send_ikps(day, office)
        self.send_ratings(day, office)
        waves = [w for w in (morning, decisions, office, work, evening) if w.sends]
        return Day(day, waves)

    def send_away(self, day: date, wave: Wave) -> None:
        """Leave and travel recorded by HR on their first day."""
        for (nip, when), (kind, record_id, first, last) in sorted(self.away.items()):
            if when != day or first != day:
                continue
            common = dict(command_id=self.command_id(), actor_nip=nip,
                          sent_at=at(day, 6, 30), nip=nip, start_date=first, end_date=last)
            if kind == "travel":
                command: cmd.Command = cmd.RecordOfficialTravel(travel_id=record_id, **common)
            else:
                command = cmd.RecordLeave(leave_id=record_id, kind=kind, **common)
            wave.sends.append(Send("attendance", command, "hr"))

    def send_mkd(self, day: date, requests: Wave, decisions: Wave) -> None:
        """On the week's first day: requests within the quota, and the superior's decision."""
        week = [d for d in self.days if d.isocalendar()[:2] == day.isocalendar()[:2]
                and d >= day]
        monday = day - timedelta(days=day.weekday())
        for person in self.people:
            quota = self.quota.get(person.nip, 0)
            if (quota <= 0 or person.position.public_service or not person.superior_nip
                    or person.unit == SEKDA_UNIT or self.rng.random() > 0.6):
                continue
            free = [d for d in week if (person.nip, d) not in self.away]
            if not free:
                continue
            asked = sorted(self.rng.sample(free, min(len(free), self.rng.randint(1, quota))))
            request_id = f"MKD-{person.nip}-{monday.isoformat()}"
            requests.sends.append(Send("mkd", cmd.RequestMKD(
                command_id=self.command_id(), actor_nip=person.nip, sent_at=requests.at,
                request_id=request_id, week_start=monday, days=asked)))
            roll = self.rng.random()
            granted = asked if roll < 0.85 else asked[:1] if roll < 0.95 else []
            decisions.sends.append(Send("mkd", cmd.DecideMKD(
                command_id=self.command_id(), actor_nip=person.superior_nip,
                sent_at=decisions.at, request_id=request_id, grant=bool(granted),
                days=granted, reason="" if granted else "Rapat koordinasi tatap muka")))
            for granted_day in granted:
                self.mkd_days[(person.nip, granted_day)] = True

    def send_person_day(self, person: Person, day: date, office: Wave, work: Wave,
                        evening: Wave) -> None:
        """Check-in, report, check-out and the superior's decision of one employee's day."""
        if (person.nip, day) in self.away:
            return
        if self.rng.random() > person.diligence and self.rng.random() < 0.25:
            return  # absent without leave (TK)
        mode = ("mkd" if self.mkd_days.get((person.nip, day)) else
                "field" if person.position.mobile else "office")
        late = self.rng.random() > person.diligence
        arrival = at(day, 7, 30) + timedelta(
            minutes=self.rng.randint(3, 95) if late else -self.rng.randint(0, 35),
            seconds=self.rng.randint(0, 59))
        where = self.location(person, mode)
        if mode == "office" and self.rng.random() < 0.03:
            # First try from the car park, outside the geofence; again from inside.
            outside = near(self.rng, self.office_of(person), 250, 600)
            office.sends.append(self.check(cmd.CheckIn, person, arrival, outside, mode))
            arrival += timedelta(minutes=self.rng.randint(2, 8))
        office.sends.append(self.check(cmd.CheckIn, person, arrival, where, mode))
        if person.unit != SEKDA_UNIT:
            self.send_reports(person, day, work, evening)
        if self.rng.random() < 0.99:
            end = at(day, 16, 30 if day.weekday() == 4 else 0)
            leaving = end + timedelta(minutes=-self.rng.randint(5, 50) if late and
                                      self.rng.random() < 0.4 else self.rng.randint(0, 45))
            evening.sends.append(self.check(cmd.CheckOut, person, leaving, where, mode))

    def office_of(self, person: Person) -> ev.OfficeRegistered:
        return next(o for o in OFFICES if o.office_id == person.office_id)

    def location(self, person: Person, mode: str) -> tuple[float, float]:
        if mode == "mkd":
            return person.home
        if mode == "field":
            return near(self.rng, KANTOR, 1_000, 25_000)
        return near(self.rng, self.office_of(person), 0, 60)

    def check(self, kind: type[cmd.CheckIn] | type[cmd.CheckOut], person: Person,
              moment: datetime, where: tuple[float, float], mode: str) -> Send:
        return Send("attendance", kind(
            command_id=self.command_id(), actor_nip=person.nip, sent_at=moment, at=moment,
            lat=where[0], lon=where[1], accuracy_m=round(self.rng.uniform(3, 30), 1),
            mode=mode, mock_location=False))  # type: ignore[arg-type]

    def send_reports(self, person: Person, day: date, work: Wave, evening: Wave) -> None:
        """The day's activities against the position's tasks, and the superior's decisions."""
        tasks = list(person.position.tasks)
        budget = int(TARGET_MINUTES * person.output * self.rng.uniform(0.95, 1.15))
        approver = person.superior_nip
        count = self.rng.randint(1, 3)
        for n in range(count):
            chosen = self.rng.choice(tasks)
            quantity = max(1, min(round(budget / count / chosen.minutes_per_unit), 40))
            activity_id = f"{person.nip}-{day.isoformat()}-{n + 1}"
            logged = at(day, 15, self.rng.randint(0, 59))
            work.sends.append(Send("worklog", cmd.LogActivity(
                command_id=self.command_id(), actor_nip=person.nip, sent_at=logged,
                activity_id=activity_id, work_date=day, task_code=chosen.task_code,
                quantity=quantity, description=f"{chosen.name} ({chosen.unit})",
                skp_item_id=chosen.task_code)))
            if approver is None:
                continue
            decided = at(day, 17, self.rng.randint(0, 59))
            roll = self.rng.random()
            if roll < 0.04:
                evening.sends.append(Send("worklog", cmd.RejectActivity(
                    command_id=self.command_id(), actor_nip=approver, sent_at=decided,
                    activity_id=activity_id, reason="Bukti dukung belum dilampirkan")))
                continue
            approved = quantity if roll > 0.1 else max(0, quantity - 1)
            evening.sends.append(Send("worklog", cmd.ApproveActivity(
                command_id=self.command_id(), actor_nip=approver, sent_at=decided,
                activity_id=activity_id, approved_quantity=approved)))

    def send_ikps(self, day: date, wave: Wave) -> None:
        """IKP assigned on their day, completed by the leader on theirs."""
        for ikp_id, leader, assignee, assigned, due, completed in self.ikps:
            if assigned == day:
                wave.sends.append(Send("appraisal", cmd.AssignIKP(
                    command_id=self.command_id(), actor_nip=leader, sent_at=at(day, 9),
                    ikp_id=ikp_id, assignee_nip=assignee, period=self.period,
                    title=f"Instruksi khusus pimpinan: percepatan perizinan ({ikp_id[-3:]})",
                    due_date=due)))
            if completed == day:
                moment = at(day, 14, self.rng.randint(0, 59))
                wave.sends.append(Send("appraisal", cmd.CompleteIKP(
                    command_id=self.command_id(), actor_nip=leader, sent_at=moment,
                    ikp_id=ikp_id, completed_at=moment)))

    def send_ratings(self, day: date, wave: Wave) -> None:
        """The 360° ratings given on `day`."""
        fields = ("berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal",
                  "adaptif", "kolaboratif")
        for rater, ratee, relation in self.ratings.get(day, []):
            scores = {f: min(5, max(1, ratee.conduct + self.rng.choice((-1, 0, 0, 0, 1))))
                      for f in fields}
            wave.sends.append(Send("appraisal", cmd.GiveRating(
                command_id=self.command_id(), actor_nip=rater.nip,
                sent_at=at(day, 10, self.rng.randint(0, 59)), ratee_nip=ratee.nip,
                period=self.period, relation=relation,  # type: ignore[arg-type]
                scores=ev.BerAKHLAKScores(**scores))))


def simulate_month(org: Organisation, period: str, mkd_quota: Mapping[str, int] | None = None
                   ) -> list[Day]:
    """`period`'s days of commands (the seed is the period's, so re-runs send the same ids)."""
    year, month = map(int, period.split("-"))
    return MonthSimulation(org, period, DEMO_SEED * 100 + year * 12 + month, mkd_quota).simulate()


# --- SKPs and the quarter's evaluation -----------------------------------------------------------
UNIT_GOAL = "Iklim investasi yang kondusif dan pelayanan perizinan yang prima"
OVERRIDE_REASON = "Kualitas hasil kerja dinilai langsung oleh atasan, bukan hanya jumlah laporan"


def skp_id_of(nip: str, year: int) -> str:
    return f"SKP-{year}-{nip}"


def levels(org: Organisation) -> list[list[Person]]:
    """The hierarchy from the top down: those with no superior, then their subordinates, …"""
    subordinates = org.subordinates()
    level = [p for p in org.people if p.superior_nip is None]
    out = []
    while level:
        out.append(level)
        level = [s for p in level for s in subordinates.get(p.nip, [])]
    return out


def skp_items(person: Person, served: Sequence[ev.SKPItem], year: int, first_month: int
              ) -> list[ev.SKPItem]:
    """One item per task of the position (its code is the item id): a month's target is the
    quantity a full working day's share of that task gives, from `first_month` on (the months
    before, the employee was not on the platform); each serves an item of the superior's SKP in
    turn, or, at the top, the unit's goal."""
    tasks = person.position.tasks
    days = [len(working_days(f"{year}-{m:02d}", holidays({year}))) for m in range(1, 13)]
    items = []
    for n, chosen in enumerate(tasks):
        monthly = [0 if month < first_month else max(1, round(
            days[month - 1] * TARGET_MINUTES / len(tasks) / chosen.minutes_per_unit))
            for month in range(1, 13)]
        items.append(ev.SKPItem(
            item_id=chosen.task_code, indicator=f"{chosen.name} ({chosen.unit})",
            target_quantity=sum(monthly), unit=chosen.unit, monthly_targets=monthly,
            supports_item_id=served[n % len(served)].item_id if served else None,
            unit_goal=None if served else UNIT_GOAL))
    return items


def plan_skps(org: Organisation, periods: Sequence[str], seed: int = DEMO_SEED) -> list[Wave]:
    """For each year of `periods`: each level drafts on the first working day of its first
    demo month, then the level above approves (the top records its own), in waves."""
    rng = random.Random(seed * 7 + 1)
    waves = []
    for year in sorted({int(p[:4]) for p in periods}):
        first_month = min(int(p[5:7]) for p in periods if int(p[:4]) == year)
        day = working_days(f"{year}-{first_month:02d}", holidays({year}))[0]
        items: dict[str, list[ev.SKPItem]] = {}
        for depth, level in enumerate(levels(org)):
            drafts = Wave(at(day, 6, 2 * depth), f"SKP drafts, level {depth + 1}")
            approvals = Wave(at(day, 6, 2 * depth + 1), f"SKP approvals, level {depth + 1}")
            for person in level:
                items[person.nip] = skp_items(person, items.get(person.superior_nip or "", []),
                                              year, first_month)
                skp_id = skp_id_of(person.nip, year)
                drafts.sends.append(Send("appraisal", cmd.DraftSKP(
                    command_id=UUID(int=rng.getrandbits(128), version=4),
                    actor_nip=person.nip, sent_at=drafts.at, skp_id=skp_id, year=year,
                    items=items[person.nip])))
                approvals.sends.append(Send("appraisal", cmd.ApproveSKP(
                    command_id=UUID(int=rng.getrandbits(128), version=4),
                    actor_nip=person.superior_nip or person.nip, sent_at=approvals.at,
                    skp_id=skp_id, revision=1)))
            waves += [drafts, approvals]
    return waves


def evaluation_quarter(periods: Sequence[str], today: date) -> tuple[int, int] | None:
    """The last quarter ended before `today` that a demo month falls in (None: none has)."""
    for period in sorted(periods, reverse=True):
        year, month = int(period[:4]), int(period[5:7])
        quarter = (month - 1) // 3 + 1
        last_month = 3 * quarter
        ends = date(year + last_month // 12, last_month % 12 + 1, 1)
        if ends <= today:
            return year, quarter
    return None


def plan_evaluations(org: Organisation, year: int, quarter: int,
                     proposals: Mapping[str, tuple[str, str]], received: datetime,
                     seed: int = DEMO_SEED) -> Wave:
    """Each superior evaluates their direct subordinates' quarter: the proposal confirmed, or —
    for about one in ten — the result moved a step up or down, with a reason."""
    rng = random.Random(seed * 11 + year * 4 + quarter)
    wave = Wave(received, f"evaluations of {year}-Q{quarter}")
    steps = ("below", "meets", "above")
    for person in org.people:
        command_id = UUID(int=rng.getrandbits(128), version=4)
        override = rng.random() < 0.1
        if person.superior_nip is None or person.nip not in proposals:
            continue
        result, behaviour = proposals[person.nip]
        reason = None
        if override:
            index = steps.index(result)
            result = steps[index + 1 if index < 2 else index - 1]
            reason = OVERRIDE_REASON
        wave.sends.append(Send("appraisal", cmd.Evaluate(
            command_id=command_id, actor_nip=person.superior_nip, sent_at=received,
            nip=person.nip, year=year, quarter=quarter,
            result_rating=result, behaviour_rating=behaviour,  # type: ignore[arg-type]
            override_reason=reason)))
    return wave
