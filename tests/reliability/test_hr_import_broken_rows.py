"""`kinerja hr import` of charts with broken rows mixed with good ones, against a running
platform (attendance and worklog on their usual databases, as in
tests/integration/test_hr_import_platform.py, whose cases this does not repeat).

docs/hr-import.md: the whole run is checked before anything is published; if anything is wrong
the exit code is 2, every problem is one `FILE:LINE: what is wrong` line on stderr — the line
where its record (JSON) or row (CSV, a quoted cell may span lines) starts — and nothing is
published. The files are checked on their own first, then against what the platform holds
(references, cycles), so each chart is broken twice: with file-level problems, then (those
fixed) with reference problems. After each broken run the `kinerja.hr` topic's end offsets are
unchanged (not one record, not even of a valid file of the same run) and no service holds any
of the chart's good records; then the fixed chart imports fully, and what the services come to
hold of it is exactly what that import published.

The module has a broker and a PostgreSQL server of its own (the services' database names are
the platform's usual ones).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kinerja_cli.main import main
from kinerja_events import topics
from kinerja_events.embedded import Endpoints
from org import hr_platform

pytestmark = pytest.mark.integration

SUMMARY = re.compile(r"^kinerja hr: (\d+) problem\(s\); nothing was published$")
HUGE = 200_000  # characters of one field: more than the CSV reader's default field limit


def nip() -> str:
    return "19" + "".join(random.choices("0123456789", k=16))


@dataclass(frozen=True)
class Platform:
    endpoints: Endpoints
    services: dict[str, Any]


@pytest.fixture(scope="module")
async def platform() -> AsyncIterator[Platform]:
    """The module's broker and PostgreSQL, with attendance and worklog running."""
    async with hr_platform("kinerja-hrb-") as (endpoints, services):
        yield Platform(endpoints, services)


@pytest.fixture
def attached(platform, monkeypatch) -> Platform:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KINERJA_KAFKA", platform.endpoints.kafka_bootstrap)
    monkeypatch.setenv("KINERJA_DATABASE_URL", platform.endpoints.database_base_url)
    return platform


async def kinerja(capsys, *args: str) -> tuple[int, str, list[str]]:  # type: ignore[no-untyped-def]
    """Run `kinerja ARGS` (in a thread: it runs its own event loop); exit code, stdout, and
    stderr's lines."""
    code = await asyncio.to_thread(main, list(args))
    out, err = capsys.readouterr()
    return code, out, err.splitlines()


async def hr_ends(platform: Platform) -> dict[int, int]:
    """The end offset of every partition of `kinerja.hr`."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    probe = AIOKafkaConsumer(bootstrap_servers=platform.endpoints.kafka_bootstrap)
    await probe.start()
    try:
        await probe._client.force_metadata_update()  # noqa: SLF001
        partitions = sorted(probe.partitions_for_topic(topics.HR) or ())
        assert partitions
        ends = await probe.end_offsets([TopicPartition(topics.HR, p) for p in partitions])
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await probe.stop()


# --- a chart and where each of its records is --------------------------------------------------
@dataclass
class Chart:
    """Good records of a chart (fresh keys each), and the files that carry them."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6].upper())
    head: str = field(default_factory=nip)
    analyst: str = field(default_factory=nip)
    clerk: str = field(default_factory=nip)
    holiday: str = field(default_factory=lambda: f"2027-{random.randint(1, 12):02d}-"
                                                 f"{random.randint(1, 28):02d}")

    @property
    def office(self) -> str:
        return f"GS-{self.tag}"

    @property
    def position(self) -> str:
        return f"ANALIS-{self.tag}"

    def office_record(self, **changes: Any) -> dict[str, Any]:
        return {"office_id": self.office, "name": "Gedung Sate", "lat": -6.902481,
                "lon": 107.61881, "radius_m": 200, **changes}

    def position_record(self, **changes: Any) -> dict[str, Any]:
        return {"position_code": self.position, "name": "Analis Kebijakan", "kelas_jabatan": 9,
                "mobile": False, "public_service": False,
                "tasks": [{"task_code": "LAP", "name": "Menyusun laporan", "unit": "dokumen",
                           "minutes_per_unit": 80}], **changes}

    def employee(self, who: str, superior: str | None, **changes: Any) -> dict[str, Any]:
        return {"nip": who, "name": f"Pegawai {who[-4:]}", "position_code": self.position,
                "unit": "Biro Organisasi", "office_id": self.office, "superior_nip": superior,
                **changes}

    def good(self) -> dict[str, list[dict[str, Any]]]:
        return {"offices": [self.office_record()], "positions": [self.position_record()],
                "employees": [self.employee(self.head, None),
                              self.employee(self.analyst, self.head),
                              self.employee(self.clerk, self.analyst)],
                "holidays": [{"date": self.holiday, "name": "Libur", "kind": "national"}]}

    def streams(self) -> list[str]:
        """The streams the good records are published on."""
        return [f"office:{self.office}", f"position:{self.position}",
                f"holiday:{self.holiday}",
                *(f"employee:{n}" for n in (self.head, self.analyst, self.clerk))]


class JsonLayout:
    """A JSON chart written one record a line, remembering the line each record starts on."""

    def __init__(self) -> None:
        self.lines = ["{", '"effective_date": "2026-10-01",']
        self.at: dict[str, int] = {}

    def section(self, name: str, records: list[tuple[str | None, dict[str, Any]]],
                last: bool = False) -> None:
        self.lines.append(f'"{name}": [')
        for n, (label, record) in enumerate(records):
            if label is not None:
                self.at[label] = len(self.lines) + 1
            self.lines.append(json.dumps(record) + ("," if n < len(records) - 1 else ""))
        self.lines.append("]" + ("" if last else ","))

    def write(self, path: Path) -> Path:
        path.write_text("\n".join([*self.lines, "}"]) + "\n")
        return path


def json_chart(chart: Chart, broken: dict[str, list[tuple[str, dict[str, Any]]]]) -> JsonLayout:
    """The chart's good records with `broken` ones (labelled) mixed in, section by section."""
    layout = JsonLayout()
    good = chart.good()
    names = ["offices", "positions", "employees", "holidays"]
    for name in names:
        records: list[tuple[str | None, dict[str, Any]]] = []
        extra = broken.get(name, [])
        for n, record in enumerate(good[name]):  # a broken record between good ones
            records.append((f"good {name} {n}", record))
            if n == 0:
                records += extra
        layout.section(name, records, last=name == names[-1])
    return layout


# --- what is refused -------------------------------------------------------------------------
def problems(err: list[str]) -> list[tuple[str, int, str]]:
    """(file, line, what) of every problem line of stderr; the summary checked to count them."""
    *lines, summary = err
    found = SUMMARY.match(summary)
    assert found is not None, summary
    assert int(found.group(1)) == len(lines)
    parsed = []
    for line in lines:
        place = re.match(r"^(.+?):(\d+): (.*)$", line, flags=re.DOTALL)
        assert place is not None, f"no FILE:LINE: {line[:200]}"
        parsed.append((place.group(1), int(place.group(2)), place.group(3)))
    return parsed


def assert_refused(err: list[str], expected: dict[tuple[str, int], str]) -> None:
    """Every expected (file, line) has one problem containing its words, and there is no
    other problem."""
    found = problems(err)
    places = [(file, line) for file, line, _ in found]
    assert sorted(places) == sorted(expected), "\n".join(e[:200] for e in err)
    for file, line, what in found:
        assert expected[(file, line)] in what, (file, line, what[:200])
        assert len(what) < 400  # a huge value is not echoed whole


async def held_of(platform: Platform, streams: list[str]) -> dict[str, set[str]]:
    """The reference facts each service holds on `streams`, by event id."""
    held = {}
    for name, service in platform.services.items():
        async with service.engine.connect() as connection:
            conn = (await connection.get_raw_connection()).driver_connection
            rows = await conn.fetch("SELECT event_id FROM reference_facts "
                                    "WHERE envelope->>'stream_id' = ANY($1::text[])", streams)
        held[name] = {str(row[0]) for row in rows}
    return held


async def refused_whole(platform: Platform, capsys, files: list[Path],  # type: ignore[no-untyped-def]
                        expected: dict[tuple[str, int], str], chart: Chart) -> None:
    """Import `files`: exit 2 with exactly the `expected` problems, nothing on `kinerja.hr`,
    nothing of the chart held by any service."""
    before = await hr_ends(platform)
    code, out, err = await kinerja(capsys, "hr", "import", *map(str, files))
    assert (code, out) == (2, "")
    assert_refused(err, expected)
    assert await hr_ends(platform) == before
    assert await held_of(platform, chart.streams()) == {"attendance": set(), "worklog": set()}


async def imported_fully(platform: Platform, capsys, files: list[Path], chart: Chart,  # type: ignore[no-untyped-def]
                         records: int) -> None:
    """Import `files`: every one of the chart's `records` is new and published, the topic grows
    by exactly that, and the services come to hold exactly what was published."""
    before = await hr_ends(platform)
    code, out, err = await kinerja(capsys, "hr", "import", *map(str, files), "--json")
    assert (code, err) == (0, [])
    report = json.loads(out)
    assert report["total"] == {"new": records, "changed": 0, "unchanged": 0}
    assert report["published"] == records
    after = await hr_ends(platform)
    assert sum(after.values()) - sum(before.values()) == records
    published = {e["event_id"]: e["kind"] for e in report["events"]}
    wanted = {"attendance": {i for i, kind in published.items() if kind != "holiday"},
              "worklog": {i for i, kind in published.items() if kind != "office"}}
    async with asyncio.timeout(60):
        while (held := await held_of(platform, chart.streams())) != wanted:
            assert all(held[name] <= wanted[name] for name in held), held
            await asyncio.sleep(0.1)


# --- the tests ---------------------------------------------------------------------------------
async def test_a_json_chart_with_broken_records_publishes_nothing_until_it_is_fixed(
        attached, tmp_path, capsys):  # type: ignore[no-untyped-def]
    chart = Chart()
    path = tmp_path / "chart.json"
    other = nip()
    file_level = {
        "offices": [("zero radius", chart.office_record(office_id=f"X-{chart.tag}",
                                                        radius_m=0))],
        "positions": [("kelas 18", chart.position_record(position_code=f"Y-{chart.tag}",
                                                         kelas_jabatan=18))],
        "employees": [
            ("bad nip", chart.employee("1990010120201210", chart.head)),
            ("impossible date", chart.employee(nip(), chart.head, effective_date="2026-02-30")),
            ("date before 1950", chart.employee(nip(), chart.head, effective_date="1949-12-31")),
            ("date not written YYYY-MM-DD", chart.employee(nip(), chart.head,
                                                           effective_date="01/10/2026")),
            ("duplicate nip", chart.employee(chart.head, None, name="Bambang lagi")),
            ("U+0000", chart.employee(nip(), chart.head, name="Si\u0000ti")),
            ("huge field", chart.employee(nip(), chart.head, name="x" * HUGE)),
            ("unknown field", {**chart.employee(nip(), chart.head), "jabatan": "Analis"}),
            ("missing field", {k: v for k, v in chart.employee(nip(), chart.head).items()
                               if k != "unit"}),
        ],
        "holidays": [("month 13", {"date": "2026-13-01", "name": "Libur", "kind": "national"})],
    }
    layout = json_chart(chart, file_level)
    layout.write(path)
    at = layout.at
    words = {"zero radius": "radius_m should be greater than 0",
             "kelas 18": "kelas_jabatan should be less than or equal to 17",
             "bad nip": "nip must be 18 digits",
             "impossible date": "effective_date must be a date YYYY-MM-DD, got '2026-02-30'",
             "date before 1950": "effective_date should be greater than or equal to 1950-01-01",
             "date not written YYYY-MM-DD": "effective_date must be a date YYYY-MM-DD",
             "duplicate nip": f"employee {chart.head} is given again (first at {path}:"
                              f"{at['good employees 0']})",
             "U+0000": "name must not hold U+0000",
             "huge field": "name: string should have at most 500 characters",
             "unknown field": "jabatan is not a field of this record",
             "missing field": "unit is missing",
             "month 13": "date must be a date YYYY-MM-DD, got '2026-13-01'"}
    await refused_whole(attached, capsys, [path],
                        {(str(path), at[label]): words[label] for label in words}, chart)

    a, b = nip(), nip()
    references = {"employees": [
        ("unknown position", chart.employee(nip(), chart.head, position_code="NOPE")),
        ("unknown office", chart.employee(nip(), chart.head, office_id="NOWHERE")),
        ("unknown superior", chart.employee(nip(), other)),
        ("cycle", chart.employee(a, b)),
        (None, chart.employee(b, a))]}  # the cycle is reported once, at its first member
    layout = json_chart(chart, references)
    layout.write(path)
    await refused_whole(attached, capsys, [path], {
        (str(path), layout.at["unknown position"]): "position_code NOPE is neither in this "
                                                    "import nor on the platform",
        (str(path), layout.at["unknown office"]): "office_id NOWHERE is neither",
        (str(path), layout.at["unknown superior"]): f"superior_nip {other} is neither",
        (str(path), layout.at["cycle"]): f"employee {a}: superior cycle {a} -> {b} -> {a}",
    }, chart)

    json_chart(chart, {}).write(path)
    await imported_fully(attached, capsys, [path], chart, records=6)


CSV_HEADER = "nip,name,position_code,unit,office_id,superior_nip,effective_date\n"


def csv_row(chart: Chart, who: str, superior: str | None, *, name: str | None = None,
            position: str | None = None, office: str | None = None,
            effective: str = "2026-10-01") -> str:
    return ",".join([who, name or f"Pegawai {who[-4:]}", position or chart.position,
                     "Biro Organisasi", office or chart.office, superior or "", effective]) + "\n"


async def test_a_csv_export_with_broken_rows_publishes_nothing_of_the_run_until_it_is_fixed(
        attached, tmp_path, capsys):  # type: ignore[no-untyped-def]
    chart = Chart()
    reference = tmp_path / "chart.json"  # the run's offices, positions and holiday: all valid
    reference.write_text(json.dumps({k: v for k, v in chart.good().items() if k != "employees"}))
    export, headless = tmp_path / "simpeg.csv", tmp_path / "tanpa-kolom.csv"
    good_head = csv_row(chart, chart.head, None)
    analyst = csv_row(chart, chart.analyst, chart.head, name='"Siti\nNurhaliza"')  # 2 lines
    clerk = csv_row(chart, chart.clerk, chart.analyst)
    rows = [good_head,                                                         # 2
            analyst,                                                           # 3–4
            csv_row(chart, "1992", chart.head),                                # 5
            csv_row(chart, nip(), chart.head, effective="2026-02-30"),         # 6
            csv_row(chart, chart.head, None, name="Bambang lagi"),             # 7
            ",".join(csv_row(chart, nip(), chart.head).split(",")[:6]) + "\n",  # 8
            csv_row(chart, nip(), chart.head, name="Si\x00ti"),                # 9
            csv_row(chart, nip(), chart.head, name="x" * HUGE),                # 10
            csv_row(chart, nip(), chart.head, name='"' + "y\n" * 3 + "y" * HUGE + '"'),  # 11–14
            "\n",                                                              # 15: skipped
            csv_row(chart, nip(), chart.head, effective="01/10/2026"),         # 16
            clerk]                                                             # 17
    export.write_text(CSV_HEADER + "".join(rows))
    headless.write_text(CSV_HEADER.replace(",effective_date", "") + good_head.rsplit(",", 1)[0]
                        + "\n")
    expected = {
        (str(export), 5): "employee 1992: nip must be 18 digits, got '1992'",
        (str(export), 6): "effective_date must be a date YYYY-MM-DD, got '2026-02-30'",
        (str(export), 7): f"employee {chart.head} is given again (first at {export}:2)",
        (str(export), 8): "the row has 6 cells, the header 7",
        (str(export), 9): "name must not hold U+0000",
        (str(export), 10): "name: string should have at most 500 characters",
        (str(export), 11): "name: string should have at most 500 characters",
        (str(export), 16): "effective_date must be a date YYYY-MM-DD, got '01/10/2026'",
        (str(headless), 1): "the header must be nip,name,position_code,unit,office_id,"
                            "superior_nip,effective_date (missing effective_date)",
    }
    await refused_whole(attached, capsys, [reference, export, headless], expected, chart)

    a, b, other = nip(), nip(), nip()
    export.write_text(CSV_HEADER + good_head + analyst                        # 2, 3–4
                      + csv_row(chart, nip(), chart.head, position="NOPE")    # 5
                      + csv_row(chart, nip(), chart.head, office="NOWHERE")   # 6
                      + csv_row(chart, nip(), other)                          # 7
                      + csv_row(chart, a, b) + csv_row(chart, b, a)           # 8, 9
                      + clerk)                                                # 10
    await refused_whole(attached, capsys, [reference, export], {
        (str(export), 5): "position_code NOPE is neither in this import nor on the platform",
        (str(export), 6): "office_id NOWHERE is neither in this import nor on the platform",
        (str(export), 7): f"superior_nip {other} is neither in this import nor on the platform",
        (str(export), 8): f"employee {a}: superior cycle {a} -> {b} -> {a}",
    }, chart)

    export.write_text(CSV_HEADER + good_head + analyst + clerk)
    await imported_fully(attached, capsys, [reference, export], chart, records=6)
