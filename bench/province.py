"""A seeded synthetic province: one month of a West Java–like government as a JSONL history.

`generate(path, employees=N, seed=S, period="YYYY-MM")` writes what the platform's fact topics
carry for a province of N employees in one month, one contract envelope per line:

- the HR import's reference data: offices; a hierarchy of units (the province's Sekretaris
  Daerah and Asisten, then OPDs of about 1,000 employees, each with a head, a secretariat and
  bidang, and subbag / seksi under them) whose every employee names the head above as superior;
  positions of kelas jabatan 1–17 with task lists, some mobile (field) and some face-to-face
  public service; the month's holidays, a joint leave day among them; and, mid-month, a few
  regradings and transfers (`EmployeeChanged`), hires and terminations;
- attendance: a check-in and a check-out on every working day, late or leaving early as each
  person's diligence has it, about 2 % of days absent, device times in the offsets phones use
  (+07:00, Z, +08:00), field staff in `field` mode and granted MKD days in `mkd` mode; leave
  (some of it cancelled) and official travel;
- worklog: several activities a day against the position's tasks (minutes = quantity × the
  task's minutes per unit), most approved by the superior that evening, some rejected, a few
  decided a second time;
- appraisal: 360° ratings (superior, peers, subordinates) in the month's last week, and IKP
  assigned by leaders, completed on time, late, or never;
- MKD: requests of good performers on each week's first day, granted, partly granted or
  denied by the superior, now and then revoked;
- and a small share of lines written twice, as an at-least-once bus delivers them.

That is about 300 lines per employee (West Java: ~50,000 employees, ~15 million events a
month), written day by day in the order things happen. Why this exists: every benchmark needs
a province-sized history, and the same one. The seed makes it reproducible — the same arguments
give byte-identical files (every choice and every uuid comes from one `random.Random`; no wall
clock) — and the size is a parameter. Lines are built from string templates, never pydantic
models (≥ 150,000 lines per second on one core is the aim: a province's month in under two
minutes), and streamed to the file: memory grows with the number of employees only, never with
the number of events.

Streams, versions and times are those the services write (docs/contract.md): the HR import's
`office:`, `position:`, `holiday:` and `employee:<nip>` streams; attendance's
`employee:<nip>` (check-ins, leave, travel; `occurred_at` the device time, `recorded_at` the
record timestamp); `activity:<id>`, `rating:<ratee>:<period>`, `ikp:<id>` and `mkd:<request>`.
Every outcome of a command carries the command id as `causation_id` and an `event_id`
derived from it and the type (uuid5), as the services derive them. What the generator makes up
where a real month would have history: the holidays (the month's second Thursday and, as cuti
bersama, the Friday after), and who may ask for MKD (good performers, as if last month's close
had made them eligible; payroll's own events are not in the history). The Sekretaris Daerah, at
the top, reports no activities: nobody above could approve them.

As a script: `python bench/province.py --employees N --out FILE` writes the history and prints
its counts by type and the lines/s; `--publish` then sends its lines to the running platform's
broker (or `--bootstrap HOST:PORT`) on their source topics, keyed as the platform keys them.
"""

from __future__ import annotations

import argparse
import asyncio
import calendar
import itertools
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from hashlib import sha1
from typing import Any, TextIO

PERIOD = "2026-10"
SEED = 2026
OPD_SIZE = 1_000  # employees of one OPD: West Java has ~50 of them for ~50,000 employees
ASSISTANTS = 3  # Asisten Daerah between the Sekretaris Daerah and the OPD heads
TARGET_MINUTES = 300  # a day's work the rule set expects (jabar-2026)
DAY = 86_400
WORK_START = 7 * 3600 + 30 * 60
WORK_END = 16 * 3600
FRIDAY_END = 16 * 3600 + 30 * 60
ABSENCE_SHARE = 0.15  # P(absent) = (1 - diligence) × this: ~2 % of the province's days
DUPLICATE_RATE = 0.002
OFFLINE_SYNC_RATE = 0.01  # check-ins sent late from a phone that was offline
FLUSH_LINES = 8_192
PUBLISH_BATCH = 5_000
UUID4_CLEAR = ~(0xF000 << 64 | 0xC000 << 48)  # the version and variant bits of a uuid
UUID4_SET = 0x4000 << 64 | 0x8000 << 48  # version 4, RFC 4122 variant

# --- what the province is made of ---------------------------------------------------------------
Task = tuple[str, str, str, int]  # code, name, unit, minutes per unit

LEAD_TASKS: tuple[Task, ...] = (
    ("RAP", "Memimpin rapat koordinasi", "rapat", 90),
    ("TTD", "Menelaah dan menandatangani naskah dinas", "naskah", 20),
    ("BIN", "Membina dan mengevaluasi bawahan", "kegiatan", 60),
    ("LAP", "Menyusun laporan pimpinan", "laporan", 120),
)
ADMIN_TASKS: tuple[Task, ...] = (
    ("ARS", "Mengarsipkan surat", "surat", 10),
    ("AGD", "Mengagendakan surat masuk", "surat", 8),
    ("ENT", "Menginput data kepegawaian", "berkas", 15),
)
# code, name, kelas jabatan, mobile, public service, tasks
POSITIONS: tuple[tuple[str, str, int, bool, bool, tuple[Task, ...]], ...] = (
    ("SEKDA", "Sekretaris Daerah", 17, False, False, LEAD_TASKS),
    ("ASDA", "Asisten Daerah", 16, False, False, LEAD_TASKS),
    ("KABADAN", "Kepala Badan", 15, False, False, LEAD_TASKS),
    ("KADIS", "Kepala Dinas", 14, False, False, LEAD_TASKS),
    ("SEKRETARIS", "Sekretaris Dinas / Badan", 13, False, False, LEAD_TASKS),
    ("KABID", "Kepala Bidang", 12, False, False, LEAD_TASKS),
    ("DOKTER", "Dokter Ahli Madya", 11, False, True, (
        ("PAS", "Memeriksa pasien", "pasien", 20),
        ("RUJ", "Menyusun rujukan", "rujukan", 15),
        ("RKM", "Menulis rekam medis", "berkas", 10))),
    ("AUDITOR", "Auditor Ahli Muda", 10, True, False, (
        ("AUD", "Memeriksa laporan keuangan", "laporan", 120),
        ("KKP", "Menyusun kertas kerja pemeriksaan", "kertas kerja", 60))),
    ("KASUBBAG", "Kepala Subbagian", 9, False, False, LEAD_TASKS),
    ("KASI", "Kepala Seksi", 9, False, False, LEAD_TASKS),
    ("PERENCANA", "Perencana Ahli Muda", 9, False, False, (
        ("REN", "Menyusun rencana kerja", "dokumen", 120),
        ("EVA", "Mengevaluasi capaian program", "laporan", 90))),
    ("ANALIS", "Analis Kebijakan", 8, False, False, (
        ("KAJ", "Menyusun kajian kebijakan", "kajian", 150),
        ("NDN", "Menyusun nota dinas", "nota", 45),
        ("DAT", "Mengolah data", "berkas", 30))),
    ("PRAKOM", "Pranata Komputer", 8, False, False, (
        ("SIS", "Memelihara sistem informasi", "kegiatan", 60),
        ("BCK", "Mencadangkan data", "basis data", 30),
        ("USR", "Melayani permintaan pengguna", "tiket", 15))),
    ("PENYULUH", "Penyuluh Lapangan", 8, True, False, (
        ("PYL", "Memberi penyuluhan kepada kelompok", "kelompok", 90),
        ("KNJ", "Mengunjungi lokasi binaan", "lokasi", 60))),
    ("VERIF", "Verifikator Perizinan", 7, False, False, (
        ("VRF", "Memverifikasi berkas permohonan izin", "berkas", 25),
        ("BAP", "Menyusun berita acara pemeriksaan", "berita acara", 60))),
    ("PENGAWAS", "Pengawas Lapangan", 7, True, False, (
        ("INS", "Inspeksi lokasi usaha", "lokasi", 120),
        ("BAP", "Menyusun berita acara pemeriksaan", "berita acara", 60))),
    ("PERAWAT", "Perawat Terampil", 7, False, True, (
        ("RWT", "Merawat pasien", "pasien", 30),
        ("OBT", "Memberikan obat", "pasien", 10))),
    ("LOKET", "Petugas Layanan", 6, False, True, (
        ("LYN", "Melayani pemohon di loket", "pemohon", 15),
        ("KNS", "Memberi konsultasi", "konsultasi", 30))),
    ("PENGADM", "Pengadministrasi Umum", 5, False, False, ADMIN_TASKS),
    ("PENGARSIP", "Pengarsip", 4, False, False, (
        ("ARS", "Mengarsipkan surat", "surat", 10),
        ("ALH", "Mengalihmediakan arsip", "berkas", 20))),
    ("SATPAM", "Petugas Keamanan", 3, False, False, (
        ("JAG", "Menjaga pos", "jam", 60),
        ("PTR", "Berpatroli di lingkungan kantor", "patroli", 30))),
    ("PENGEMUDI", "Pengemudi", 2, True, False, (
        ("ANT", "Mengantar pejabat", "perjalanan", 60),
        ("RWK", "Merawat kendaraan dinas", "kendaraan", 45))),
    ("PRAMU", "Pramu Bakti", 1, False, False, (
        ("BRS", "Membersihkan ruangan", "ruangan", 20),
        ("SJI", "Menyiapkan ruang rapat", "rapat", 30))),
)
STAFF_POSITIONS = ("DOKTER", "AUDITOR", "PERENCANA", "ANALIS", "PRAKOM", "PENYULUH", "VERIF",
                   "PENGAWAS", "PERAWAT", "LOKET", "PENGADM", "PENGARSIP", "SATPAM",
                   "PENGEMUDI", "PRAMU")

# name, its sections, the staff positions it employs, whether it works at a service office
Division = tuple[str, tuple[str, ...], tuple[str, ...], bool]
SECRETARIAT: Division = (
    "Sekretariat",
    ("Subbagian Umum dan Kepegawaian", "Subbagian Keuangan",
     "Subbagian Perencanaan dan Pelaporan", "Subbagian Aset"),
    ("PENGADM", "PENGADM", "PENGARSIP", "PRAKOM", "PERENCANA", "PRAMU", "PENGEMUDI", "SATPAM"),
    False)
SECTIONS = ("Seksi Program", "Seksi Pelaksanaan", "Seksi Evaluasi", "Seksi Pengendalian")
BIDANG: tuple[Division, ...] = (
    ("Bidang Pelayanan", SECTIONS, ("LOKET", "LOKET", "LOKET", "VERIF", "PENGADM"), True),
    ("Bidang Pengawasan", SECTIONS, ("PENGAWAS", "PENGAWAS", "AUDITOR", "ANALIS"), False),
    ("Bidang Pelayanan Kesehatan", SECTIONS,
     ("PERAWAT", "PERAWAT", "PERAWAT", "DOKTER", "PENGADM"), True),
    ("Bidang Penyuluhan", SECTIONS, ("PENYULUH", "PENYULUH", "PENYULUH", "ANALIS"), False),
    ("Bidang Perencanaan dan Program", SECTIONS,
     ("ANALIS", "ANALIS", "PERENCANA", "PRAKOM"), False),
    ("Bidang Data dan Informasi", SECTIONS, ("PRAKOM", "PRAKOM", "ANALIS", "PENGADM"), False),
)
OPD_NAMES = (
    "Dinas Pendidikan", "Dinas Kesehatan", "Dinas Pekerjaan Umum dan Penataan Ruang",
    "Dinas Perhubungan", "Dinas Sosial", "Dinas Tenaga Kerja dan Transmigrasi",
    "Dinas Lingkungan Hidup", "Dinas Kependudukan dan Pencatatan Sipil",
    "Dinas Koperasi dan Usaha Kecil", "Dinas Penanaman Modal dan PTSP",
    "Dinas Komunikasi dan Informatika", "Dinas Pemuda dan Olahraga",
    "Dinas Kebudayaan dan Pariwisata", "Dinas Perpustakaan dan Kearsipan",
    "Dinas Kelautan dan Perikanan", "Dinas Tanaman Pangan dan Hortikultura",
    "Dinas Ketahanan Pangan dan Peternakan", "Dinas Kehutanan",
    "Dinas Energi dan Sumber Daya Mineral", "Dinas Perindustrian dan Perdagangan",
    "Dinas Perumahan dan Permukiman", "Dinas Sumber Daya Air", "Dinas Bina Marga",
    "Dinas Pemberdayaan Masyarakat dan Desa", "Dinas Pemberdayaan Perempuan",
    "Badan Perencanaan Pembangunan Daerah", "Badan Pengelolaan Keuangan dan Aset Daerah",
    "Badan Pendapatan Daerah", "Badan Kepegawaian Daerah",
    "Badan Pengembangan Sumber Daya Manusia", "Badan Penanggulangan Bencana Daerah",
    "Badan Kesatuan Bangsa dan Politik", "Badan Penghubung", "Inspektorat Daerah",
    "Satuan Polisi Pamong Praja", "Sekretariat DPRD", "RSUD Al Ihsan", "RS Paru",
    "RS Jiwa", "RSUD Jampangkulon",
)
FIRST = ("Agus", "Asep", "Budi", "Cecep", "Dadang", "Dede", "Deden", "Dewi", "Dian", "Endang",
         "Euis", "Fajar", "Gilang", "Hendra", "Ika", "Imas", "Indra", "Lilis", "Neng", "Nia",
         "Nurul", "Oman", "Pipit", "Rina", "Rudi", "Siti", "Tati", "Ujang", "Wawan", "Yanti",
         "Yayat", "Yusuf", "Rizky", "Sri", "Ratna", "Taufik", "Lina", "Hadi", "Iwan", "Eneng")
LAST = ("Hidayat", "Suryana", "Rahmawati", "Setiawan", "Permana", "Kurniawan", "Nurhayati",
        "Saepudin", "Sulaeman", "Gunawan", "Lestari", "Maulana", "Wulandari", "Firmansyah",
        "Supriatna", "Komariah", "Hermawan", "Marlina", "Rohman", "Sopandi", "Kusnadi")
# Where the service offices (UPTD, hospitals, MPP) of OPDs stand: (city, lat, lon).
CITIES = (("Bandung", -6.9175, 107.6191), ("Bogor", -6.5950, 106.8166),
          ("Bekasi", -6.2383, 106.9756), ("Depok", -6.4025, 106.7942),
          ("Cirebon", -6.7320, 108.5523), ("Tasikmalaya", -7.3274, 108.2207),
          ("Sukabumi", -6.9277, 106.9300), ("Garut", -7.2279, 107.9087),
          ("Karawang", -6.3227, 107.3376), ("Purwakarta", -6.5569, 107.4433))
GEDUNG_SATE = ("GS", "Gedung Sate", -6.902481, 107.618810, 200)
DILIGENCE = (0.99, 0.98, 0.97, 0.95, 0.95, 0.93, 0.9, 0.9, 0.85, 0.8, 0.7, 0.55)
OUTPUT = (1.2, 1.15, 1.1, 1.1, 1.05, 1.0, 1.0, 0.95, 0.9, 0.8, 0.7)  # share of the target
CONDUCT = (3, 4, 4, 4, 5, 5)  # the score colleagues tend to give
# A phone's clock: the offset it writes times in (seconds from WIB, suffix), most in WIB.
ZONES = ((0, "+07:00"),) * 17 + ((-7 * 3600, "Z"),) * 2 + ((3600, "+08:00"),)
SCORE_NAMES = ("berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal",
               "adaptif", "kolaboratif")
REJECTIONS = ("Bukti dukung belum dilampirkan", "Uraian tidak sesuai tugas jabatan",
              "Volume kegiatan tidak wajar")
DENIAL = "Rapat koordinasi tatap muka"
LEADER_CODES = frozenset({"SEKDA", "ASDA", "KABADAN", "KADIS", "SEKRETARIS", "KABID",
                          "KASUBBAG", "KASI"})

# The source (the service, or the HR import) of each type the generator writes.
SOURCES = {
    "OfficeRegistered": "hr", "PositionDefined": "hr", "HolidayDeclared": "hr",
    "EmployeeRegistered": "hr", "EmployeeChanged": "hr", "EmployeeTerminated": "hr",
    "CheckedIn": "attendance", "CheckedOut": "attendance", "LeaveRecorded": "attendance",
    "LeaveCancelled": "attendance", "OfficialTravelRecorded": "attendance",
    "ActivityLogged": "worklog", "ActivityApproved": "worklog", "ActivityRejected": "worklog",
    "RatingGiven": "appraisal", "IKPAssigned": "appraisal", "IKPCompleted": "appraisal",
    "MKDRequested": "mkd", "MKDGranted": "mkd", "MKDDenied": "mkd", "MKDRevoked": "mkd",
}
SCHEMA_VERSIONS = {"ActivityLogged": 2}  # as kinerja_events.events.SCHEMA_VERSIONS (a test checks)


@dataclass
class Stats:
    """What `generate` wrote: lines (copies delivered twice included), lines by type,
    employees, bytes, and how many lines are such second copies."""

    lines: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    employees: int = 0
    bytes: int = 0
    duplicates: int = 0


# --- the organisation ---------------------------------------------------------------------------
class Position:
    __slots__ = ("code", "name", "kelas", "mobile", "public_service", "defined", "tasks")

    def __init__(self, code: str, name: str, kelas: int, mobile: bool, public_service: bool,
                 tasks: tuple[Task, ...]):
        self.code, self.name, self.kelas = code, name, kelas
        self.mobile, self.public_service = mobile, public_service
        self.defined = tasks
        # (code, minutes per unit, largest quantity, the description as JSON) of each task
        self.tasks = [(t[0], t[3], min(1000, 1440 // max(1, t[3])), json.dumps(f"{t[1]} ({t[2]})"))
                      for t in tasks]


class Office:
    __slots__ = ("office_id", "name", "lat", "lon", "radius_m", "spots")

    def __init__(self, office_id: str, name: str, lat: float, lon: float, radius_m: int,
                 rng: random.Random):
        self.office_id, self.name, self.lat, self.lon, self.radius_m = (
            office_id, name, lat, lon, radius_m)
        # Where people stand when they check in: the `"lat":…,"lon":…` of points inside.
        self.spots = [place_near(rng, lat, lon, 0, radius_m * 0.4) for _ in range(32)]


class Person:
    """An employee, their place in the hierarchy, and how they tend to work (the simulation's
    own: it drives the events, never the rupiah)."""

    __slots__ = ("index", "nip", "name", "position", "unit", "office", "superior",
                 "subordinates", "diligence", "absence", "early", "output", "conduct", "zone",
                 "home", "start", "end", "away", "mkd_days", "attendance_version",
                 "hr_version", "regular")

    def __init__(self, index: int, nip: str, name: str, position: Position, unit: str,
                 office: Office, superior: Person | None, rng: random.Random):
        self.index, self.nip, self.name, self.position = index, nip, name, position
        self.unit, self.office, self.superior = unit, office, superior
        self.subordinates: list[Person] = []
        self.diligence = rng.choice(DILIGENCE)
        self.absence = (1 - self.diligence) * ABSENCE_SHARE
        self.early = rng.choice((0.0, 0.0, 0.0, 0.02, 0.05, 0.15))  # leaves early now and then
        self.output = rng.choice(OUTPUT)
        self.conduct = rng.choice(CONDUCT)
        self.zone = rng.choice(ZONES)
        self.home = place_near(rng, office.lat, office.lon, 2_000, 15_000)
        self.start = 0  # first working day (index) employed
        self.end = 1 << 30  # first working day no longer employed
        self.away: dict[int, str] | None = None  # day index -> "leave" / "travel"
        self.mkd_days: set[int] | None = None
        self.attendance_version = 0
        self.hr_version = 0
        self.regular = True  # employed all month, no HR change (may be picked for one)


@dataclass
class Province:
    offices: list[Office]
    positions: dict[str, Position]
    people: list[Person]
    nips: set[str]  # every NIP given


def place_near(rng: random.Random, lat: float, lon: float, low_m: float, high_m: float) -> str:
    """`"lat":…,"lon":…` of a point `low_m`..`high_m` metres from (lat, lon)."""
    distance, bearing = rng.uniform(low_m, high_m), rng.uniform(0, 2 * math.pi)
    north = lat + distance * math.cos(bearing) / 111_320
    east = lon + distance * math.sin(bearing) / (111_320 * math.cos(math.radians(lat)))
    return f'"lat":{north:.6f},"lon":{east:.6f}'


def build_province(count: int, rng: random.Random) -> Province:
    """`count` employees: the Sekretaris Daerah, up to three Asisten, then OPDs."""
    positions = {p[0]: Position(*p) for p in POSITIONS}
    gedung_sate = Office(*GEDUNG_SATE, rng)
    offices = [gedung_sate]
    people: list[Person] = []
    used: set[str] = set()

    cap = count  # hire() stops here: the whole province, then each OPD's share

    def hire(code: str, unit: str, office: Office, superior: Person | None,
             title: str = "") -> Person | None:
        if len(people) >= cap:
            return None
        person = Person(len(people), draw_nip(rng, used), title + draw_name(rng),
                        positions[code], unit, office, superior, rng)
        if superior is not None:
            superior.subordinates.append(person)
        people.append(person)
        return person

    sekda = hire("SEKDA", "Sekretariat Daerah", gedung_sate, None, "Dr. H. ")
    opds = max(1, round(count / OPD_SIZE))
    assistants = [a for _ in range(min(ASSISTANTS, opds))
                  if (a := hire("ASDA", "Sekretariat Daerah", gedung_sate, sekda, "Dr. "))]
    sizes = split(count - len(people), opds)
    for number, size in enumerate(sizes):
        if size <= 0:
            continue
        head_of = assistants[number % len(assistants)] if assistants else sekda
        cap = len(people) + size
        build_opd(number, size, head_of, hire, offices, rng)
    return Province(offices, positions, people, used)


def split(total: int, parts: int) -> list[int]:
    """`total` in `parts` sizes differing by at most one."""
    return [total // parts + (1 if k < total % parts else 0) for k in range(parts)]


def build_opd(number: int, size: int, above: Person | None,
              hire: Callable[..., Person | None], offices: list[Office],
              rng: random.Random) -> None:
    """One OPD of `size` employees: its head, one chief per division, section heads, staff."""
    name = OPD_NAMES[number % len(OPD_NAMES)]
    if number >= len(OPD_NAMES):
        name = f"{name} {number // len(OPD_NAMES) + 1}"
    office = Office(f"OPD{number + 1:02d}", f"Kantor {name}", rng.uniform(-6.96, -6.88),
                    rng.uniform(107.55, 107.69), 150, rng)  # somewhere in Bandung
    city, lat, lon = CITIES[number % len(CITIES)]
    service = Office(f"OPD{number + 1:02d}-L", f"Layanan {name} {city}", lat + rng.uniform(
        -0.02, 0.02), lon + rng.uniform(-0.02, 0.02), 120, rng)
    offices += [office, service]
    bidang = max(1, min(len(BIDANG), size // 150))
    divisions = [SECRETARIAT, *(BIDANG[(number + k) % len(BIDANG)] for k in range(bidang))]
    per_division = max(1, min(4, size // (len(divisions) * 40)))
    head = hire("KABADAN" if name.startswith("Badan") else "KADIS", name, office, above,
                "Dr. ")
    if head is None:
        return
    sections: list[tuple[Person, Division, Office]] = []
    chiefs = []
    for division in divisions:
        chief = hire("SEKRETARIS" if division is SECRETARIAT else "KABID",
                     f"{name} - {division[0]}", office, head, "Drs. ")
        if chief is not None:
            chiefs.append((chief, division))
    for chief, division in chiefs:
        seat = service if division[3] else office
        for section in division[1][:per_division]:
            lead = hire("KASUBBAG" if division is SECRETARIAT else "KASI",
                        f"{name} - {division[0]} - {section}", seat, chief)
            if lead is not None:
                sections.append((lead, division, seat))
    if not sections:  # too small for sections: the staff work under the head
        sections = [(head, SECRETARIAT, office)]
    for n in itertools.count():  # staff, section by section in turn, until the OPD is full
        lead, division, seat = sections[n % len(sections)]
        staff_position = division[2][(n // len(sections)) % len(division[2])]
        if hire(staff_position, lead.unit, seat, lead) is None:
            return


def draw_nip(rng: random.Random, used: set[str], hired: str | None = None) -> str:
    """An 18-digit NIP: birth date, CPNS year and month (`hired`, YYYYMM, or a random past
    one), gender, number."""
    while True:
        born_year = rng.randint(1966, 1998)
        hired_on = hired or (f"{min(born_year + rng.randint(22, 30), 2024)}"
                             f"{rng.randint(1, 12):02d}")
        nip = (f"{born_year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{hired_on}"
               f"{rng.randint(1, 2)}{rng.randint(1, 999):03d}")
        if nip not in used:
            used.add(nip)
            return nip


def draw_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


# --- the calendar -------------------------------------------------------------------------------
@dataclass
class Month:
    period: str
    first: date
    holidays: list[tuple[date, str, str]]
    days: list[date]  # working days
    dates: list[tuple[str, str, str]]  # per working day: the ISO dates before, of and after it
    ends: list[int]  # per working day: the schedule's end, in seconds after midnight WIB

    @property
    def count(self) -> int:
        return len(self.days)


def make_month(period: str) -> Month:
    """The period's working days: weekdays less a national holiday (its second Thursday) and
    the joint leave day (cuti bersama) of the Friday after."""
    year, month = int(period[:4]), int(period[5:7])
    first = date(year, month, 1)
    weekdays = [first + timedelta(days=k) for k in range(calendar.monthrange(year, month)[1])
                if (first + timedelta(days=k)).weekday() < 5]
    thursday = [d for d in weekdays if d.weekday() == 3][1]
    holidays = [(thursday, "Hari libur nasional", "national"),
                (thursday + timedelta(days=1), "Cuti bersama", "joint_leave")]
    off = {h[0] for h in holidays}
    days = [d for d in weekdays if d not in off]
    dates = [((d - timedelta(days=1)).isoformat(), d.isoformat(),
              (d + timedelta(days=1)).isoformat()) for d in days]
    ends = [FRIDAY_END if d.weekday() == 4 else WORK_END for d in days]
    return Month(period, first, holidays, days, dates, ends)


# --- lines --------------------------------------------------------------------------------------
def make_clock_tables() -> tuple[list[str], list[str], list[str]]:
    """"HH:MM" of every minute of a day, "SS" of every second, ".mmm000" of every millisecond."""
    return ([f"{m // 60:02d}:{m % 60:02d}" for m in range(1440)],
            [f"{s:02d}" for s in range(60)], [f".{ms:03d}000" for ms in range(1000)])


class Writer:
    """Streams envelopes to a file, counting them; every uuid comes from `rng`."""

    def __init__(self, out: TextIO, rng: random.Random):
        self.out = out
        self.bits = rng.getrandbits
        self.random = rng.random
        self.buffer: list[str] = []
        self.redeliveries: list[str] = []
        self.counts = dict.fromkeys(SOURCES, 0)
        self.duplicates = 0
        self.heads = {t: f'"type":"{t}","schema_version":{SCHEMA_VERSIONS.get(t, 1)},'
                         f'"source":"{s}"' for t, s in SOURCES.items()}
        self.minutes, self.seconds, self.millis = make_clock_tables()
        self.variant = {f"{i:x}": "89ab"[i & 3] for i in range(16)}
        self.names = {t: t.encode() for t in SOURCES}

    # ids
    def uuid(self) -> str:
        """A version-4 uuid from the rng."""
        h = "%032x" % (self.bits(128) & UUID4_CLEAR | UUID4_SET)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    # times
    def stamp(self, dates: tuple[str, str, str], seconds: int, zone: tuple[int, str]) -> str:
        """The instant `seconds` after WIB midnight of `dates[1]`, written in `zone`."""
        day, rest = divmod(seconds + zone[0], DAY)
        return f"{dates[day + 1]}T{self.minutes[rest // 60]}:{self.seconds[rest % 60]}{zone[1]}"

    def stamp_wib(self, dates: tuple[str, str, str], seconds: int) -> str:
        """The instant `seconds` after WIB midnight of `dates[1]` (same day), in WIB."""
        return f"{dates[1]}T{self.minutes[seconds // 60]}:{self.seconds[seconds % 60]}+07:00"

    def stamp_record(self, dates: tuple[str, str, str], seconds: int) -> str:
        """A record timestamp: WIB with milliseconds, as the services write it."""
        day, rest = divmod(seconds, DAY)
        return (f"{dates[day + 1]}T{self.minutes[rest // 60]}:{self.seconds[rest % 60]}"
                f"{self.millis[self.bits(10) % 1000]}+07:00")

    # lines
    def fact(self, type_: str, stream: str, version: int, occurred: str, data: str) -> None:
        """A fact of the HR import: no command behind it."""
        self.write(type_, self.uuid(), stream, version, occurred, occurred, "null", data)

    def write(self, type_: str, event_id: str, stream: str, version: int, occurred: str,
              recorded: str, cause: str, data: str) -> None:
        self.keep(type_, f'{{"event_id":"{event_id}",{self.heads[type_]},"stream_id":"{stream}",'
                         f'"stream_version":{version},"occurred_at":"{occurred}",'
                         f'"recorded_at":"{recorded}","correlation_id":null,'
                         f'"causation_id":{cause},"data":{data}}}\n')

    def outcome(self, type_: str, stream: str, version: int, occurred: str, recorded: str,
                data: str) -> None:
        """The outcome of a command: caused by it, its event id uuid5(command id, type) as
        the services derive it (`write`, inlined: most lines come through here)."""
        n = self.bits(128) & UUID4_CLEAR | UUID4_SET
        h = "%032x" % n
        e = sha1(n.to_bytes(16, "big") + self.names[type_]).hexdigest()
        self.keep(type_, f'{{"event_id":"{e[:8]}-{e[8:12]}-5{e[13:16]}-{self.variant[e[16]]}'
                         f'{e[17:20]}-{e[20:32]}",{self.heads[type_]},"stream_id":"{stream}",'
                         f'"stream_version":{version},"occurred_at":"{occurred}",'
                         f'"recorded_at":"{recorded}","correlation_id":null,"causation_id":'
                         f'"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}","data":{data}}}\n')

    def keep(self, type_: str, line: str) -> None:
        """Buffer `line` (now and then to be delivered twice), count it, flush when full."""
        self.buffer.append(line)
        self.counts[type_] += 1
        if self.random() < DUPLICATE_RATE:  # delivered again a little later
            self.redeliveries.append(line)
            self.counts[type_] += 1
        if len(self.buffer) >= FLUSH_LINES:
            self.flush()

    def redeliver(self) -> None:
        """The lines picked to be delivered twice, once more."""
        self.duplicates += len(self.redeliveries)
        self.buffer += self.redeliveries
        self.redeliveries.clear()

    def flush(self) -> None:
        self.out.write("".join(self.buffer))
        self.buffer.clear()


# --- the month ----------------------------------------------------------------------------------
@dataclass
class Plans:
    """What is decided for the whole month up front, by working-day index."""

    morning: dict[int, list[Callable[[], None]]] = field(default_factory=dict)
    mkd_weeks: dict[int, list[tuple[Person, list[int], str]]] = field(default_factory=dict)
    ikp: dict[int, list[Callable[[], None]]] = field(default_factory=dict)

    def add(self, table: dict[int, list[Any]], day: int, item: Any) -> None:
        table.setdefault(day, []).append(item)


class MonthWriter:
    """Writes one month of a province, day by day, as it happened."""

    def __init__(self, province: Province, month: Month, writer: Writer, rng: random.Random):
        self.province, self.month, self.w, self.rng = province, month, writer, rng
        self.random = rng.random
        self.people = province.people
        self.plans = Plans()
        self.ratings: dict[int, list[tuple[int, Person, Person, str, int]]] = {}
        self.ikp_count = 0
        # `"scores":{…}` choices per conduct, picked from for each rating
        self.scores = {c: [draw_scores(rng, c) for _ in range(64)] for c in set(CONDUCT)}
        self.field_spots = [place_near(rng, -6.9175, 107.6191, 1_000, 25_000) for _ in range(512)]
        self.accuracies = [f"{3 + k * 0.5:.1f}" for k in range(55)]

    def write(self) -> None:
        last = self.month.count - 1
        self.plan_hr_changes()
        self.plan_leave_and_travel()
        self.plan_mkd()
        self.plan_ikps()
        self.write_reference()
        rating_from = max(0, self.month.count - 5)
        for day in range(self.month.count):
            if day == rating_from:
                self.plan_ratings(day, last)
            for action in self.plans.morning.get(day, ()):
                action()
            for request in self.plans.mkd_weeks.get(day, ()):
                self.write_mkd_request(day, *request)
            for action in self.plans.ikp.get(day, ()):
                action()
            for person in self.people:
                if person.start <= day < person.end:
                    self.write_person_day(person, day)
            for rating in self.ratings.pop(day, ()):
                self.write_rating(day, *rating)
            self.w.redeliver()
        self.w.flush()

    # --- reference data (the HR import, the evening before the month) --------------------
    def write_reference(self) -> None:
        eve = self.month.first - timedelta(days=1)
        at = f"{eve.isoformat()}T19:00:00+07:00"
        fact = self.w.fact
        for o in self.province.offices:
            fact("OfficeRegistered", f"office:{o.office_id}", 1, at,
                 f'{{"office_id":"{o.office_id}","name":{json.dumps(o.name)},"lat":{o.lat:.6f},'
                 f'"lon":{o.lon:.6f},"radius_m":{o.radius_m}}}')
        for p in self.province.positions.values():
            tasks = ",".join(
                f'{{"task_code":"{t[0]}","name":{json.dumps(t[1])},"unit":{json.dumps(t[2])},'
                f'"minutes_per_unit":{t[3]}}}' for t in p.defined)
            fact("PositionDefined", f"position:{p.code}", 1, at,
                 f'{{"position_code":"{p.code}","name":{json.dumps(p.name)},'
                 f'"kelas_jabatan":{p.kelas},"mobile":{to_json_bool(p.mobile)},'
                 f'"public_service":{to_json_bool(p.public_service)},"tasks":[{tasks}]}}')
        for day, name, kind in self.month.holidays:
            fact("HolidayDeclared", f"holiday:{day.isoformat()}", 1, at,
                 f'{{"date":"{day.isoformat()}","name":"{name}","kind":"{kind}"}}')
        for person in self.people:
            self.write_registration(person, at)

    def write_registration(self, person: Person, at: str) -> None:
        nip = person.nip
        effective = (self.month.days[person.start].isoformat() if person.start > 0 else
                     f"{nip[8:12]}-{nip[12:14]}-01")  # the CPNS date the NIP holds
        superior = f'"{person.superior.nip}"' if person.superior else "null"
        person.hr_version += 1
        self.w.fact("EmployeeRegistered", f"employee:{nip}", person.hr_version, at,
                    f'{{"nip":"{nip}","name":"{person.name}","position_code":'
                    f'"{person.position.code}","unit":{json.dumps(person.unit)},"office_id":'
                    f'"{person.office.office_id}","superior_nip":{superior},'
                    f'"effective_date":"{effective}"}}')

    # --- plans ----------------------------------------------------------------------------
    def draw_candidates(self) -> list[Person]:
        """Staff who are employed all month with no change yet, in a seeded order."""
        staff = [p for p in self.people if p.regular and p.position.code not in LEADER_CODES]
        self.rng.shuffle(staff)
        return staff

    def plan_hr_changes(self) -> None:
        """Mid-month: a few regradings and transfers, terminations, and hires (whose
        registration, written with the rest, takes effect on their first day)."""
        days = self.month.count
        staff = self.draw_candidates()
        count = len(self.people)
        hires = staff[:max(1, count // 400)]
        leavers = staff[len(hires):len(hires) + max(1, count // 300)]
        changed = staff[len(hires) + len(leavers):len(hires) + len(leavers) + max(2, count // 100)]
        for person in hires:
            person.regular = False
            person.start = self.rng.randint(1, max(1, days // 2))
            person.nip = draw_nip(self.rng, self.province.nips, self.month.period.replace("-", ""))
        for person in leavers:
            person.regular = False
            person.end = self.rng.randint(days // 2, days - 1)
            self.plans.add(self.plans.morning, person.end, lambda p=person: self.terminate(p))
        leads = [p for p in self.people if p.position.code in ("KASI", "KASUBBAG")]
        for n, person in enumerate(changed):
            person.regular = False
            day = self.rng.randint(2, max(2, days // 2))
            if n % 2 == 0 or len(leads) < 2:
                action = (lambda p=person, d=day: self.regrade(p, d))
            else:
                target = self.rng.choice([lead for lead in leads if lead is not person.superior])
                action = (lambda p=person, d=day, t=target: self.transfer(p, d, t))
            self.plans.add(self.plans.morning, day, action)

    def plan_leave_and_travel(self) -> None:
        """Leave (annual, sick, important; some cancelled before it starts) and official
        travel, each of a few percent of the staff."""
        staff = self.draw_candidates()
        count = len(self.people)
        kinds = (("annual", 0.06, 1, 3), ("sick", 0.03, 1, 2), ("important", 0.005, 1, 2),
                 ("cancelled", 0.01, 2, 3), ("travel", 0.04, 2, 3))
        taken = 0
        for kind, share, shortest, longest in kinds:
            chosen = staff[taken:taken + max(1, round(share * count))]
            taken += len(chosen)
            for person in chosen:
                self.plan_away(person, kind, self.rng.randint(shortest, longest))

    def plan_away(self, person: Person, kind: str, length: int) -> None:
        days = self.month.count
        first = self.rng.randint(1, max(1, days - length - 1))
        span = list(range(first, min(days, first + length)))
        start, end = self.month.days[span[0]], self.month.days[span[-1]]
        record_id = f"{'TRV' if kind == 'travel' else 'LV'}-{self.month.period}-{person.nip}"
        # Planned leave is recorded days ahead; sickness and travel on their first morning.
        ahead = self.rng.randint(1, 4) if kind in ("annual", "cancelled") else 0
        recorded_on = max(0, span[0] - ahead)
        person.regular = False
        if kind == "cancelled":
            self.plans.add(self.plans.morning, recorded_on, lambda: self.record_leave(
                person, record_id, "annual", start, end, recorded_on))
            cancel_on = self.rng.randint(recorded_on, span[0])
            self.plans.add(self.plans.morning, cancel_on, lambda: self.cancel_leave(
                person, record_id, cancel_on))
            return
        person.away = dict.fromkeys(span, "travel" if kind == "travel" else "leave")
        if kind == "travel":
            self.plans.add(self.plans.morning, recorded_on, lambda: self.record_travel(
                person, record_id, start, end, recorded_on))
        else:
            self.plans.add(self.plans.morning, recorded_on, lambda: self.record_leave(
                person, record_id, kind, start, end, recorded_on))

    def plan_mkd(self) -> None:
        """Good performers (last month's eligibility, as the generator imagines it) ask for
        some days of each week begun in the month; most are granted, some in part, some
        denied, and now and then a granted day is revoked."""
        eligible = [p for p in self.people if p.regular and p.superior is not None
                    and p.superior.superior is not None and not p.position.public_service]
        good = [p for p in eligible if p.diligence >= 0.95]
        if len(good) < 2:
            good = sorted(eligible, key=lambda p: (-p.diligence, p.index))[:2]
        requests = []
        for first, week in self.list_weeks():
            for person in good:
                if self.random() > 0.6:
                    continue
                quota = 4 if person.diligence >= 0.98 else 3 if person.diligence >= 0.97 else 1
                asked = sorted(self.rng.sample(week, min(len(week), self.rng.randint(1, quota))))
                requests.append((first, person, asked))
        outcomes = ["granted"] * len(requests)
        picks = list(range(len(requests)))
        self.rng.shuffle(picks)
        denied = max(1, round(0.05 * len(requests))) if len(requests) >= 3 else 0
        partial = round(0.10 * len(requests))
        for n in picks[:denied]:
            outcomes[n] = "denied"
        for n in picks[denied:denied + partial]:
            outcomes[n] = "partial"
        revocable = [n for n in picks[denied + partial:] if requests[n][2][-1] > requests[n][0]]
        for n in revocable[:max(1, round(0.01 * len(requests)))]:
            outcomes[n] = "revoked"
        for (first, person, asked), outcome in zip(requests, outcomes):
            self.plans.add(self.plans.mkd_weeks, first, (person, asked, outcome))
            granted = asked if outcome == "granted" else asked[:1] if outcome == "partial" else (
                [d for d in asked if d <= first] if outcome == "revoked" else [])
            if granted:
                person.mkd_days = (person.mkd_days or set()) | set(granted)

    def list_weeks(self) -> list[tuple[int, list[int]]]:
        """(first working day, its week's working days) of each week whose Monday is in the
        month (a week begun last month has no eligibility of this month)."""
        out: dict[tuple[int, int], list[int]] = {}
        for n, day in enumerate(self.month.days):
            if (day - timedelta(days=day.weekday())).month == self.month.first.month:
                out.setdefault(day.isocalendar()[:2], []).append(n)
        return [(days[0], days) for days in out.values()]

    def plan_ikps(self) -> None:
        """Each leader instructs up to two of their team: most complete on time, some late,
        some never."""
        days = self.month.count
        plans = []
        for leader in self.people:
            team = [p for p in leader.subordinates if p.regular]
            for assignee in self.rng.sample(team, min(2, len(team))):
                assigned = self.rng.randint(1, min(3, days - 1))
                due = self.rng.randint(min(9, days - 4), max(min(9, days - 4), days - 4))
                plans.append((leader, assignee, assigned, max(due, assigned)))
        outcomes = ["on_time"] * len(plans)
        picks = list(range(len(plans)))
        self.rng.shuffle(picks)
        never = max(1, round(0.12 * len(plans))) if len(plans) >= 2 else 0
        late = round(0.15 * len(plans))
        for n in picks[:never]:
            outcomes[n] = "never"
        for n in picks[never:never + late]:
            outcomes[n] = "late"
        for (leader, assignee, assigned, due), outcome in zip(plans, outcomes):
            self.ikp_count += 1
            ikp_id = f"IKP-{self.month.period}-{self.ikp_count:06d}"
            self.plans.add(self.plans.ikp, assigned, lambda by=leader, to=assignee, i=ikp_id,
                          on=assigned, d=due: self.assign_ikp(by, to, i, on, d))
            done = (self.rng.randint(assigned, due) if outcome == "on_time" else
                    self.rng.randint(due + 1, days - 1) if outcome == "late" and due + 1 < days
                    else None)
            if done is not None:
                self.plans.add(self.plans.ikp, done, lambda by=leader, to=assignee, i=ikp_id,
                              on=done: self.complete_ikp(by, to, i, on))

    def plan_ratings(self, first: int, last: int) -> None:
        """The 360° ratings of the last week: of each employee employed to the month's end,
        by the superior, up to two peers and up to two subordinates, each on a day of the
        week; the versions of each ratee's stream follow the order they are given in."""
        month_end = self.month.count

        def rates(p: Person) -> bool:
            return p.end >= month_end
        for ratee in self.people:
            if not rates(ratee):
                continue
            raters: list[tuple[Person, str]] = []
            boss = ratee.superior
            if boss is not None:
                raters.append((boss, "superior"))
                peers = [p for p in boss.subordinates if p is not ratee and rates(p)]
                raters += [(p, "peer") for p in self.rng.sample(peers, min(2, len(peers)))]
            team = [p for p in ratee.subordinates if rates(p)]
            raters += [(p, "subordinate") for p in self.rng.sample(team, min(2, len(team)))]
            given = sorted((self.rng.randint(first, last), 8 * 3600 + self.rng.randrange(9 * 3600),
                            n) for n in range(len(raters)))
            for version, (day, seconds, n) in enumerate(given, 1):
                rater, relation = raters[n]
                self.ratings.setdefault(day, []).append((seconds, ratee, rater, relation,
                                                         version))

    # --- HR changes -------------------------------------------------------------------------
    def morning_of(self, day: int) -> str:
        return f"{self.month.days[day].isoformat()}T06:00:00+07:00"

    def terminate(self, person: Person) -> None:
        person.hr_version += 1
        if person.superior is not None:
            person.superior.subordinates.remove(person)
        self.w.fact("EmployeeTerminated", f"employee:{person.nip}", person.hr_version,
                    self.morning_of(person.end),
                    f'{{"nip":"{person.nip}","effective_date":"{self.month.days[person.end]}"}}')

    def regrade(self, person: Person, day: int) -> None:
        """A new position (another kelas) from `day`."""
        codes = [c for c in STAFF_POSITIONS if c != person.position.code]
        person.position = self.province.positions[self.rng.choice(codes)]
        person.hr_version += 1
        self.w.fact("EmployeeChanged", f"employee:{person.nip}", person.hr_version,
                    self.morning_of(day),
                    f'{{"nip":"{person.nip}","effective_date":"{self.month.days[day]}",'
                    f'"position_code":"{person.position.code}"}}')

    def transfer(self, person: Person, day: int, lead: Person) -> None:
        """To `lead`'s section (unit, office and superior) from `day`."""
        if person.superior is not None:
            person.superior.subordinates.remove(person)
        person.superior, person.unit, person.office = lead, lead.unit, lead.office
        lead.subordinates.append(person)
        person.hr_version += 1
        self.w.fact("EmployeeChanged", f"employee:{person.nip}", person.hr_version,
                    self.morning_of(day),
                    f'{{"nip":"{person.nip}","effective_date":"{self.month.days[day]}",'
                    f'"unit":{json.dumps(lead.unit)},"office_id":"{lead.office.office_id}",'
                    f'"superior_nip":"{lead.nip}"}}')

    # --- leave and travel (HR commands to attendance, on the employee's stream) ----------------
    def hr_command(self, person: Person, type_: str, day: int, data: str,
                   minute: int = 0) -> None:
        """An HR command's outcome, sent in the ten minutes from 06:`minute` (before anyone
        checks in, so the employee's stream stays in time order)."""
        dates = self.month.dates[day]
        sent = 6 * 3600 + minute * 60 + self.rng.randrange(600)
        person.attendance_version += 1
        self.w.outcome(type_, f"employee:{person.nip}", person.attendance_version,
                       self.w.stamp_wib(dates, sent), self.w.stamp_record(dates, sent + 1), data)

    def record_leave(self, person: Person, leave_id: str, kind: str, start: date, end: date,
                     day: int) -> None:
        self.hr_command(person, "LeaveRecorded", day,
                        f'{{"leave_id":"{leave_id}","nip":"{person.nip}","kind":"{kind}",'
                        f'"start_date":"{start}","end_date":"{end}"}}')

    def cancel_leave(self, person: Person, leave_id: str, day: int) -> None:
        self.hr_command(person, "LeaveCancelled", day,
                        f'{{"leave_id":"{leave_id}","nip":"{person.nip}"}}', minute=20)

    def record_travel(self, person: Person, travel_id: str, start: date, end: date,
                      day: int) -> None:
        self.hr_command(person, "OfficialTravelRecorded", day,
                        f'{{"travel_id":"{travel_id}","nip":"{person.nip}",'
                        f'"start_date":"{start}","end_date":"{end}"}}')

    # --- MKD ----------------------------------------------------------------------------------
    def write_mkd_request(self, day: int, person: Person, asked: list[int], outcome: str
                          ) -> None:
        """A request on the week's first morning, the superior's decision, and perhaps, at
        noon, the revocation of its later days."""
        dates, days = self.month.dates[day], self.month.days
        monday = days[day] - timedelta(days=days[day].weekday())
        request_id = f"MKD-{person.nip}-{monday.isoformat()}"
        stream, nip = f"mkd:{request_id}", person.nip
        asked_json = ",".join(f'"{days[d]}"' for d in asked)
        sent = 6 * 3600 + self.rng.randrange(900)
        at = self.w.stamp_record(dates, sent)
        self.w.outcome("MKDRequested", stream, 1, at, at,
                       f'{{"request_id":"{request_id}","nip":"{nip}","week_start":"{monday}",'
                       f'"days":[{asked_json}]}}')
        at = self.w.stamp_record(dates, sent + 900 + self.rng.randrange(900))
        if outcome == "denied":
            self.w.outcome("MKDDenied", stream, 2, at, at,
                           f'{{"request_id":"{request_id}","nip":"{nip}","reason":"{DENIAL}"}}')
            return
        granted = asked[:1] if outcome == "partial" else asked
        granted_json = ",".join(f'"{days[d]}"' for d in granted)
        approver = person.superior.nip if person.superior else nip
        self.w.outcome("MKDGranted", stream, 2, at, at,
                       f'{{"request_id":"{request_id}","nip":"{nip}","approver_nip":'
                       f'"{approver}","days":[{granted_json}]}}')
        if outcome == "revoked":
            withdrawn = ",".join(f'"{days[d]}"' for d in reversed(granted) if d > day)
            at = self.w.stamp_record(dates, 12 * 3600 + self.rng.randrange(600))
            self.w.write("MKDRevoked", self.w.uuid(), stream, 3, at, at,
                         f'"{self.w.uuid()}"',  # caused by an eligibility (not in this history)
                         f'{{"request_id":"{request_id}","nip":"{nip}","days":[{withdrawn}],'
                         f'"reason":"quota_lowered"}}')

    # --- IKP ----------------------------------------------------------------------------------
    def assign_ikp(self, leader: Person, assignee: Person, ikp_id: str, day: int, due: int
                   ) -> None:
        at = self.w.stamp_record(self.month.dates[day], 9 * 3600 + self.rng.randrange(3600))
        self.w.outcome("IKPAssigned", f"ikp:{ikp_id}", 1, at, at,
                       f'{{"ikp_id":"{ikp_id}","assigner_nip":"{leader.nip}","assignee_nip":'
                       f'"{assignee.nip}","period":"{self.month.period}","title":'
                       f'"Instruksi khusus pimpinan nomor {ikp_id[-6:]}","due_date":'
                       f'"{self.month.days[due]}"}}')

    def complete_ikp(self, leader: Person, assignee: Person, ikp_id: str, day: int) -> None:
        at = self.w.stamp_record(self.month.dates[day], 14 * 3600 + self.rng.randrange(3600))
        self.w.outcome("IKPCompleted", f"ikp:{ikp_id}", 2, at, at,
                       f'{{"ikp_id":"{ikp_id}","assignee_nip":"{assignee.nip}",'
                       f'"verified_by_nip":"{leader.nip}","completed_at":"{at}"}}')

    # --- ratings ------------------------------------------------------------------------------
    def write_rating(self, day: int, seconds: int, ratee: Person, rater: Person, relation: str,
                     version: int) -> None:
        at = self.w.stamp_record(self.month.dates[day], seconds)
        scores = self.scores[ratee.conduct][self.w.bits(6)]
        self.w.outcome("RatingGiven", f"rating:{ratee.nip}:{self.month.period}", version, at, at,
                       f'{{"rater_nip":"{rater.nip}","ratee_nip":"{ratee.nip}","period":'
                       f'"{self.month.period}","relation":"{relation}","scores":{scores}}}')

    # --- one employee's day (the hot path) -------------------------------------------------------
    def write_person_day(self, person: Person, day: int) -> None:
        """Check-in, the day's activities and their decisions, check-out."""
        away = person.away.get(day) if person.away else None
        if away is not None:
            if away == "travel":  # present by the travel record; the work is still reported
                self.write_activities(person, day)
            return
        if self.random() < person.absence:
            return  # absent without leave (TK)
        r = self.random
        late = r() > person.diligence
        arrival = WORK_START + (60 * (1 + int(r() * 95)) if late else -60 * int(r() * 36)) + int(
            r() * 60)
        end = self.month.ends[day]
        if (late and r() < 0.4) or r() < person.early:
            leaving = end - 60 * (1 + int(r() * 50)) + int(r() * 60)
        else:
            leaving = end + 60 * int(r() * 46) + int(r() * 60)
        mode = ("mkd" if person.mkd_days and day in person.mkd_days else
                "field" if person.position.mobile else "office")
        if mode == "mkd":
            spot, office = person.home, "null"
        elif mode == "field":
            spot, office = self.field_spots[self.w.bits(9)], "null"
        else:
            spot = person.office.spots[self.w.bits(5)]
            office = f'"{person.office.office_id}"'
        place = f'"mode":"{mode}",{spot},"accuracy_m":{self.accuracies[int(r() * 55)]},' \
                f'"office_id":{office}'
        self.write_check(person, day, "CheckedIn", arrival, place)
        self.write_activities(person, day)
        if r() < 0.99:
            self.write_check(person, day, "CheckedOut", leaving, place)

    def write_check(self, person: Person, day: int, type_: str, at: int, place: str) -> None:
        w = self.w
        dates = self.month.dates[day]
        if self.random() < OFFLINE_SYNC_RATE:
            received, flags = at + 360 + int(self.random() * 3 * 3600), '["offline_sync"]'
        else:
            received, flags = at + 1 + int(self.random() * 20), "[]"
        device = w.stamp(dates, at, person.zone)
        received_at = w.stamp_record(dates, received)
        person.attendance_version += 1
        w.outcome(type_, f"employee:{person.nip}", person.attendance_version, device,
                  received_at,
                  f'{{"nip":"{person.nip}","at":"{device}","received_at":"{received_at}",'
                  f'{place},"flags":{flags}}}')

    def write_activities(self, person: Person, day: int) -> None:
        """4–9 activities against the position's tasks, logged through the day; each decided
        by the superior in the evening (most approved, some rejected, a few twice)."""
        approver = person.superior
        if approver is None:  # nobody above to approve: the top reports elsewhere
            return
        w, r = self.w, self.random
        dates = self.month.dates[day]
        work_date = dates[1]
        nip, approver_nip = person.nip, approver.nip
        tasks = person.position.tasks
        count = 4 + int(r() * 6)
        share = TARGET_MINUTES * person.output * (0.95 + 0.2 * r()) / count
        logged = 9 * 3600
        for n in range(count):
            code, per_unit, most, description = tasks[int(r() * len(tasks))]
            quantity = max(1, min(most, round(share / per_unit))) if per_unit else 1
            minutes = quantity * per_unit
            activity_id = f"{nip}-{work_date}-{n + 1}"
            stream = f"activity:{activity_id}"
            logged += 1800 + int(r() * 1800)
            at = w.stamp_record(dates, logged)
            evidence = f'"sha256:{w.bits(256):064x}"' if r() < 0.2 else "null"
            w.outcome("ActivityLogged", stream, 1, at, at,
                      f'{{"activity_id":"{activity_id}","nip":"{nip}","work_date":"{work_date}",'
                      f'"task_code":"{code}","quantity":{quantity},"minutes":{minutes},'
                      f'"description":{description},"evidence_ref":{evidence},'
                      f'"skp_item_id":null}}')
            decided = max(logged, 17 * 3600) + 300 + int(r() * 9000)
            approve = r() >= 0.04
            approved = quantity - 1 if quantity > 1 and r() < 0.08 else quantity
            self.write_decision(stream, activity_id, nip, approver_nip, dates, decided, 2,
                                approve, approved * per_unit)
            if r() < 0.006:  # reconsidered later that evening: the other decision
                self.write_decision(stream, activity_id, nip, approver_nip, dates,
                                    decided + 600 + int(r() * 3000), 3, not approve, minutes)

    def write_decision(self, stream: str, activity_id: str, nip: str, approver_nip: str,
                       dates: tuple[str, str, str], seconds: int, version: int, approve: bool,
                       minutes: int) -> None:
        at = self.w.stamp_record(dates, seconds)
        if approve:
            self.w.outcome("ActivityApproved", stream, version, at, at,
                           f'{{"activity_id":"{activity_id}","nip":"{nip}","approver_nip":'
                           f'"{approver_nip}","approved_minutes":{minutes}}}')
        else:
            self.w.outcome("ActivityRejected", stream, version, at, at,
                           f'{{"activity_id":"{activity_id}","nip":"{nip}","approver_nip":'
                           f'"{approver_nip}","reason":"{REJECTIONS[int(self.random() * 3)]}"}}')


def draw_scores(rng: random.Random, conduct: int) -> str:
    """`{…}` of seven BerAKHLAK scores around `conduct`."""
    return "{" + ",".join(f'"{name}":{min(5, max(1, conduct + rng.choice((-1, 0, 0, 0, 1))))}'
                          for name in SCORE_NAMES) + "}"


def to_json_bool(value: bool) -> str:
    return "true" if value else "false"


# --- the entry point ----------------------------------------------------------------------------
def generate(path: str | os.PathLike[str], *, employees: int, seed: int = SEED,
             period: str = PERIOD) -> Stats:
    """Write one month (`period`, YYYY-MM) of a province of `employees` to `path` as JSONL;
    the same arguments give the same bytes."""
    if employees < 1:
        raise ValueError("employees must be at least 1")
    rng = random.Random(seed)
    month = make_month(period)
    province = build_province(employees, rng)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        writer = Writer(out, rng)
        MonthWriter(province, month, writer, rng).write()
    by_type = {type_: count for type_, count in sorted(writer.counts.items()) if count}
    return Stats(lines=sum(by_type.values()), by_type=by_type,
                 employees=len(province.people), bytes=os.path.getsize(path),
                 duplicates=writer.duplicates)


# --- publishing -----------------------------------------------------------------------------------
async def running_bootstrap() -> str:
    """The broker of the running platform (`kinerja run` / `kinerja infra up`), as the CLI's
    admin commands find it (KINERJA_KAFKA, else the running platform's endpoints file)."""
    from kinerja_events.embedded import attach_endpoints
    from kinerja_events.settings import load_settings

    return (await attach_endpoints(load_settings())).kafka_bootstrap


async def publish(path: str, bootstrap: str, total: int | None = None,
                  batch: int = PUBLISH_BATCH) -> int:
    """Send every line of the history at `path`, as it is, on its source's topic keyed as the
    platform keys it: `batch` sends, then wait for their deliveries, and so on. Prints a
    progress line; returns how many were sent."""
    from kinerja_events.outbox import make_producer
    from kinerja_events.topics import SOURCE_TOPIC, kafka_key

    producer = make_producer(bootstrap, linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    sent, started = 0, time.perf_counter()
    try:
        pending = []
        with open(path, "rb") as lines:
            for raw in lines:
                value = raw.rstrip(b"\n")
                envelope = json.loads(value)
                key = kafka_key(envelope["type"], envelope["data"], envelope["stream_id"])
                pending.append(await producer.send(SOURCE_TOPIC[envelope["source"]], value,
                                                   key=key.encode()))
                if len(pending) >= batch:
                    sent += await await_deliveries(pending)
                    print_progress(sent, total, started)
            sent += await await_deliveries(pending)
            print_progress(sent, total, started)
    finally:
        await producer.stop()
    print()
    return sent


async def await_deliveries(pending: list[Any]) -> int:
    await asyncio.gather(*pending)
    count = len(pending)
    pending.clear()
    return count


def print_progress(sent: int, total: int | None, started: float) -> None:
    rate = sent / max(1e-9, time.perf_counter() - started)
    of = f" of {total:,}" if total else ""
    print(f"\rpublished {sent:,}{of} messages ({rate:,.0f} messages/s)", end="", flush=True)


def print_stats(stats: Stats, seconds: float, cpu_seconds: float) -> None:
    width = max(map(len, stats.by_type), default=4)
    for type_, count in stats.by_type.items():
        print(f"{type_:<{width}}  {count:>12,}")
    print(f"{'lines':<{width}}  {stats.lines:>12,}  ({stats.duplicates:,} delivered twice)")
    print(f"{stats.employees:,} employees, {stats.lines / max(1, stats.employees):.0f} lines "
          f"per employee, {stats.bytes / 2**20:,.1f} MiB")
    # CPU time beside the wall clock: on a shared machine the wall clock counts others' work.
    print(f"generated in {seconds:.1f} s: {stats.lines / max(1e-9, seconds):,.0f} lines/s "
          f"({stats.lines / max(1e-9, cpu_seconds):,.0f} lines per CPU second)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, required=True, help="the province's size")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--period", default=PERIOD, help="the month, YYYY-MM")
    parser.add_argument("--out", required=True, help="the JSONL file to write")
    parser.add_argument("--publish", action="store_true",
                        help="then send its lines to the platform's broker")
    parser.add_argument("--bootstrap", help="HOST:PORT of the broker (default: the running "
                                            "platform's)")
    args = parser.parse_args(argv)
    started, started_cpu = time.perf_counter(), time.process_time()
    stats = generate(args.out, employees=args.employees, seed=args.seed, period=args.period)
    print_stats(stats, time.perf_counter() - started, time.process_time() - started_cpu)
    if args.publish:
        return asyncio.run(publish_history(args.out, args.bootstrap, stats.lines))
    return 0


async def publish_history(path: str, bootstrap: str | None, total: int) -> int:
    from kinerja_events.embedded import PlatformNotRunning

    if bootstrap is None:
        try:
            bootstrap = await running_bootstrap()
        except PlatformNotRunning as exc:
            print(f"cannot publish: {exc} (or give --bootstrap HOST:PORT)", file=sys.stderr)
            return 2
    print(f"publishing to {bootstrap}")
    await publish(path, bootstrap, total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
