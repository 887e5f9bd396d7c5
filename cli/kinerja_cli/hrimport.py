"""`kinerja hr import FILE...`: the HR (SIMPEG) side's import of an org chart onto `kinerja.hr`.

A chart — JSON with offices, positions and their tasks, employees and holidays, or CSV with the
employees of a SIMPEG export — is read and validated whole first: every problem is one
`FILE:LINE: ...` line, and nothing is published unless there is none. It is then compared with
what the platform holds (the reference facts the running attendance and worklog services keep),
and only the differences are published, as sealed envelopes of source `hr`: a new office,
position, holiday or employee is registered; a changed office or position is registered or
defined again; an employee whose position, unit, office or superior changed gets one
`EmployeeChanged` carrying only what changed. Importing the same chart again publishes nothing.

Event ids are uuid5 of the whole envelope's content (and `recorded_at` is `occurred_at`), so
an id never names two contents: a publish interrupted half-way and run again can never make a
consumer's inbox see a `ConflictingDuplicate`. An import's facts occur after every HR fact the
platform holds, so under RULES.md §1's order (effective_date, occurred_at, event_id) the later
import's change wins. docs/hr-import.md describes the formats.

The library API — `read_chart`, `read_current`, `plan_import`, `publish_plan` — is also what the
demo calls, with an `OrgChart` built in memory.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from bisect import bisect_left
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

if TYPE_CHECKING:
    from kinerja_events import events as ev
    from kinerja_events.hr import Directory

PROGRAM = "kinerja hr"
EXIT_FAILED = 1
EXIT_INVALID = 2
SOURCE = "hr"
KINDS = ("office", "position", "holiday", "employee")
"""The kinds of record of a chart, in the order their facts are published."""
STATUSES = ("new", "changed", "unchanged")
SECTIONS = {"office": "offices", "position": "positions", "holiday": "holidays",
            "employee": "employees"}
KEY_FIELDS = {"office": "office_id", "position": "position_code", "holiday": "date",
              "employee": "nip"}
DATE_FIELDS = {"holiday": ("date",), "employee": ("effective_date",)}
CSV_COLUMNS = ("nip", "name", "position_code", "unit", "office_id", "superior_nip",
               "effective_date")
ATTRIBUTES = ("position_code", "unit", "office_id", "superior_nip")
HELD_BY = {
    "attendance": ("OfficeRegistered", "PositionDefined", "EmployeeRegistered",
                   "EmployeeChanged", "EmployeeTerminated"),
    "worklog": ("HolidayDeclared",),
}
"""Which running service's `reference_facts` tell what the platform holds of which HR type
(attendance keeps no holidays; worklog keeps no offices)."""
HR_TYPES = frozenset(name for types in HELD_BY.values() for name in types)
READ_HELD = "SELECT envelope::text FROM reference_facts WHERE type = ANY($1::text[])"
FACT_ID_NAMESPACE = UUID("0f6d3c1e-8a4b-5c7d-9e2f-6b696e65686f")
LATER = timedelta(milliseconds=1)
PROGRESS_EVERY = 1000
IN_MEMORY = "<chart>"
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
PLACE = re.compile(r"^(.*?):(\d+): ")


# --- the chart ------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrgChart:
    """An org chart to import: records of the `kinerja.hr` event models (an employee is the
    `EmployeeRegistered` they would be registered with), and where each came from."""

    offices: list[ev.OfficeRegistered] = field(default_factory=list)
    positions: list[ev.PositionDefined] = field(default_factory=list)
    employees: list[ev.EmployeeRegistered] = field(default_factory=list)
    holidays: list[ev.HolidayDeclared] = field(default_factory=list)
    origins: dict[str, list[str]] = field(default_factory=dict, compare=False, repr=False)
    """`FILE:LINE` of each record, per kind, in its list's order (none for a chart in memory)."""

    def records(self, kind: str) -> list[Any]:
        """The records of `kind` ("office", "position", "holiday" or "employee")."""
        return getattr(self, SECTIONS[kind])  # type: ignore[no-any-return]

    def where(self, kind: str, index: int) -> str:
        """Where the `index`-th record of `kind` came from (`<chart>` when built in memory)."""
        places = self.origins.get(kind, [])
        return places[index] if index < len(places) else IN_MEMORY


class ChartErrors(ValueError):
    """A chart that cannot be imported: `.errors` holds one `FILE:LINE: what is wrong` each."""

    def __init__(self, errors: Sequence[str]):
        super().__init__(f"{len(errors)} problem(s) in the chart")
        self.errors = sorted(errors, key=place_order)


def place_order(error: str) -> tuple[str, int]:
    """Sort key of an error: its file, then its line (charts built in memory last)."""
    found = PLACE.match(error)
    return (found.group(1), int(found.group(2))) if found else ("\uffff", 0)


def key_of(kind: str, record: Any) -> str:
    """The key of a record: office id, position code, holiday date or NIP."""
    value = getattr(record, KEY_FIELDS[kind])
    return value.isoformat() if isinstance(value, date) else str(value)


def stream_id_of(data: Any) -> str:
    """The HR import's stream of a record (what `kafka_key` falls back to for reference data)."""
    from kinerja_events import events as ev

    match data:
        case ev.OfficeRegistered():
            return f"office:{data.office_id}"
        case ev.PositionDefined():
            return f"position:{data.position_code}"
        case ev.HolidayDeclared():
            return f"holiday:{data.date.isoformat()}"
        case _:
            return f"employee:{data.nip}"


# --- reading files --------------------------------------------------------------------------
def read_chart(path: Path, effective: date | None = None) -> OrgChart:
    """The chart in `path` (JSON, or CSV of employees), every record validated against its
    event model and no key given twice; `effective` is the effective date of employees whose
    record and file give none. Raises `ChartErrors` listing every problem."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ChartErrors([f"{path}: cannot be read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise ChartErrors([f"{path}:{line}: not UTF-8 text"]) from None
    reader = read_json_text if is_json(path, text) else read_csv_text
    builder = reader(str(path), text, effective)
    chart = builder.chart()
    errors = builder.errors + duplicate_errors(chart)
    if errors:
        raise ChartErrors(errors)
    return chart


def is_json(path: Path, text: str) -> bool:
    """True for a `.json` file, or one of another name that starts with `{`."""
    if path.suffix.lower() in (".json", ".csv"):
        return path.suffix.lower() == ".json"
    return text.lstrip().startswith("{")


class ChartBuilder:
    """Collects a file's records, validated one by one, where each came from, and problems."""

    def __init__(self) -> None:
        self.records: dict[str, list[Any]] = {kind: [] for kind in KINDS}
        self.origins: dict[str, list[str]] = {kind: [] for kind in KINDS}
        self.errors: list[str] = []

    def add(self, kind: str, raw: dict[str, Any], where: str) -> None:
        """Validate `raw` as a record of `kind` found at `where`; keep it or its problems."""
        record, problems = parse_record(kind, raw)
        label = record_label(kind, raw, len(self.records[kind]))
        self.errors += [f"{where}: {label}: {problem}" for problem in problems]
        if record is not None:
            self.records[kind].append(record)
            self.origins[kind].append(where)

    def fail(self, where: str, problem: str) -> None:
        """Note a problem that is not about one record's fields."""
        self.errors.append(f"{where}: {problem}")

    def chart(self) -> OrgChart:
        """The chart of the valid records (whatever problems were noted)."""
        return OrgChart(**{SECTIONS[kind]: self.records[kind] for kind in KINDS},
                        origins=self.origins)


def record_label(kind: str, raw: dict[str, Any], index: int) -> str:
    """How an error names a record: its kind and key, or its position in its section."""
    key = raw.get(KEY_FIELDS[kind])
    return f"{kind} {key}" if isinstance(key, str) and key else f"{kind} #{index + 1}"


def parse_record(kind: str, raw: dict[str, Any]) -> tuple[Any, list[str]]:
    """The event model of `raw`, or None and what is wrong with it (readable sentences)."""
    from pydantic import ValidationError

    from kinerja_events import events as ev

    model = {"office": ev.OfficeRegistered, "position": ev.PositionDefined,
             "holiday": ev.HolidayDeclared, "employee": ev.EmployeeRegistered}[kind]
    malformed = malformed_dates(kind, raw)
    try:
        record = model.model_validate(raw)
    except ValidationError as exc:
        problems = [readable(error) for error in exc.errors()
                    if not malformed.keys() & set(error["loc"][:1])]
        return None, [*malformed.values(), *problems]
    return (None, list(malformed.values())) if malformed else (record, [])


def malformed_dates(kind: str, raw: dict[str, Any]) -> dict[str, str]:
    """What is wrong with each date field of `raw` not written `YYYY-MM-DD` (pydantic would
    take other forms, such as a number of seconds)."""
    return {name: f"{name} must be a date YYYY-MM-DD, got {shown(raw[name])}"
            for name in DATE_FIELDS.get(kind, ())
            if raw.get(name) is not None and not isinstance(raw[name], date)
            and not (isinstance(raw[name], str) and DATE_TEXT.fullmatch(raw[name]))}


def readable(error: Any) -> str:
    """One pydantic error as a short sentence naming the field (e.g. `tasks[0].name`)."""
    name = "".join(f"[{part}]" if isinstance(part, int) else f".{part}"
                   for part in error["loc"]).lstrip(".") or "the record"
    kind, message, value = error["type"], error["msg"], error.get("input")
    if kind == "missing":
        hint = " (give it in the file or with --effective)" if name == "effective_date" else ""
        return f"{name} is missing{hint}"
    if kind == "extra_forbidden":
        return f"{name} is not a field of this record"
    if kind == "string_pattern_mismatch":
        if name.endswith("nip"):
            return f"{name} must be 18 digits, got {shown(value)}"
        return f"{name} must not be empty" if value == "" else f"{name} must not hold U+0000"
    if kind.startswith("date_"):
        return f"{name} must be a date YYYY-MM-DD, got {shown(value)}"
    if message.startswith("Input should"):
        sentence = f"{name} should{message[len('Input should'):]}"
    else:
        sentence = f"{name}: {message[:1].lower()}{message[1:]}"
    return sentence if isinstance(value, dict | list) else f"{sentence}, got {shown(value)}"


def shown(value: Any) -> str:
    """A value as an error quotes it (at most 60 characters)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# JSON
class Located(dict):  # type: ignore[type-arg]
    """A JSON object that knows the line it starts on."""

    line = 0


class LocatedList(list):  # type: ignore[type-arg]
    """A JSON array that knows the line it starts on."""

    line = 0


def decode_located(text: str) -> Any:
    """The JSON value of `text`, each object and array in it a `Located`/`LocatedList`.
    Raises `json.JSONDecodeError` (with its line) on a syntax error."""
    newlines = [found.start() for found in re.finditer("\n", text)]

    def line_at(index: int) -> int:
        return bisect_left(newlines, index) + 1

    def parse_object(s_and_end: tuple[str, int], *args: Any) -> tuple[Located, int]:
        value, end = json.decoder.JSONObject(s_and_end, *args)
        located = Located(value)
        located.line = line_at(s_and_end[1] - 1)
        return located, end

    def parse_array(s_and_end: tuple[str, int], *args: Any) -> tuple[LocatedList, int]:
        value, end = json.decoder.JSONArray(s_and_end, *args)
        located = LocatedList(value)
        located.line = line_at(s_and_end[1] - 1)
        return located, end

    decoder = json.JSONDecoder()
    decoder.parse_object = parse_object  # type: ignore[assignment]
    decoder.parse_array = parse_array  # type: ignore[assignment]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # the C scanner would bypass them
    return decoder.decode(text)


def read_json_text(name: str, text: str, effective: date | None) -> ChartBuilder:
    """The records of a JSON file's `text` and their problems (`name` is how errors call the
    file); `ChartErrors` when it is not a JSON object."""
    try:
        top = decode_located(text)
    except json.JSONDecodeError as exc:
        raise ChartErrors([f"{name}:{exc.lineno}: not valid JSON: {exc.msg} "
                           f"(column {exc.colno})"]) from None
    except RecursionError:
        raise ChartErrors([f"{name}:1: not valid JSON: nested too deeply"]) from None
    if not isinstance(top, Located):
        raise ChartErrors([f"{name}:1: a chart is one JSON object with "
                           f"{', '.join(['effective_date', *SECTIONS.values()])}"])
    builder = ChartBuilder()
    where = f"{name}:{top.line}"
    for unknown in sorted(set(top) - {"effective_date", *SECTIONS.values()}):
        builder.fail(where, f"unknown section {unknown!r} (a chart has effective_date, "
                            f"{', '.join(SECTIONS.values())})")
    default = file_effective_date(top.get("effective_date"), where, builder) or effective
    for kind in KINDS:
        add_section(builder, name, kind, top.get(SECTIONS[kind], []), top.line, default)
    return builder


def file_effective_date(value: Any, where: str, builder: ChartBuilder) -> date | None:
    """The chart's own `effective_date`, if it gives a valid one (a problem noted if not)."""
    if value is None:
        return None
    try:
        if isinstance(value, str) and DATE_TEXT.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    builder.fail(where, f"effective_date must be a date YYYY-MM-DD, got {shown(value)}")
    return None


def add_section(builder: ChartBuilder, name: str, kind: str, items: Any, top_line: int,
                default: date | None) -> None:
    """Add the records of one JSON section (`offices`, ...) to `builder`."""
    section = SECTIONS[kind]
    if not isinstance(items, list):
        builder.fail(f"{name}:{top_line}", f"{section} must be a list")
        return
    for index, item in enumerate(items):
        if not isinstance(item, Located):
            builder.fail(f"{name}:{getattr(items, 'line', top_line)}",
                         f"{section}[{index}] must be an object, got {shown(item)}")
            continue
        raw: dict[str, Any] = dict(item)
        if kind == "employee":
            raw.setdefault("superior_nip", None)
            with_effective_date(raw, default)
        builder.add(kind, raw, f"{name}:{item.line}")


def with_effective_date(raw: dict[str, Any], default: date | None) -> None:
    """Give an employee record without an `effective_date` (absent, null or empty) the
    default one, if there is one."""
    if raw.get("effective_date") in (None, ""):
        raw.pop("effective_date", None)
        if default is not None:
            raw["effective_date"] = default.isoformat()


# CSV
def read_csv_text(name: str, text: str, effective: date | None) -> ChartBuilder:
    """The employees of a CSV file's `text` and their problems: one a row under the header
    `nip,name,position_code,unit,office_id,superior_nip,effective_date` (in any order);
    `ChartErrors` when the header is wrong or the text is not CSV."""
    builder = ChartBuilder()
    reader = csv.reader(io.StringIO(text, newline=""))
    # No cell is too large to read (the csv module's default limit, 128 KiB, would end the
    # whole file at one huge cell): the record's model bounds each field, on the row's line.
    limit = csv.field_size_limit(max(csv.field_size_limit(), len(text)))
    try:
        columns = [cell.strip().lower() for cell in next(reader, [])]
        header_problem = csv_header_problem(columns)
        if header_problem:
            raise ChartErrors([f"{name}:1: {header_problem}"])
        start = reader.line_num + 1
        for cells in reader:
            line, start = start, reader.line_num + 1
            if any(cell.strip() for cell in cells):
                add_csv_row(builder, f"{name}:{line}", columns, cells, effective)
    except csv.Error as exc:
        raise ChartErrors([f"{name}:{reader.line_num}: not valid CSV: {exc}"]) from None
    finally:
        csv.field_size_limit(limit)
    return builder


def csv_header_problem(columns: list[str]) -> str | None:
    """What is wrong with a CSV header, if anything."""
    expected = ",".join(CSV_COLUMNS)
    if not any(columns):
        return f"the header is missing: expected {expected}"
    missing = [c for c in CSV_COLUMNS if c not in columns]
    unknown = [repr(c) for c in columns if c not in CSV_COLUMNS]
    repeated = sorted(c for c, n in Counter(columns).items() if n > 1)
    parts = [f"{what} {', '.join(names)}" for what, names in (
        ("missing", missing), ("unknown", unknown), ("repeated", repeated)) if names]
    return f"the header must be {expected} ({'; '.join(parts)})" if parts else None


def add_csv_row(builder: ChartBuilder, where: str, columns: list[str], cells: list[str],
                effective: date | None) -> None:
    """Add one CSV row's employee to `builder`."""
    if len(cells) != len(columns):
        builder.fail(where, f"the row has {len(cells)} cells, the header {len(columns)}")
        return
    raw: dict[str, Any] = dict(zip(columns, (cell.strip() for cell in cells)))
    raw["superior_nip"] = raw["superior_nip"] or None
    with_effective_date(raw, effective)
    builder.add("employee", raw, where)


# several files
def read_charts(paths: Iterable[Path], effective: date | None = None) -> OrgChart:
    """One chart of every file in `paths` (an import run): every file's problems are listed."""
    charts, errors = [], []
    for path in paths:
        try:
            charts.append(read_chart(path, effective))
        except ChartErrors as exc:
            errors += exc.errors
    if errors:
        raise ChartErrors(errors)
    return merge_charts(charts)


def merge_charts(charts: Sequence[OrgChart]) -> OrgChart:
    """The charts as one; `ChartErrors` if one key is given in two of them."""
    lists: dict[str, list[Any]] = {kind: [] for kind in KINDS}
    origins: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for chart in charts:
        for kind in KINDS:
            records = chart.records(kind)
            lists[kind] += records
            origins[kind] += [chart.where(kind, index) for index in range(len(records))]
    merged = OrgChart(**{SECTIONS[kind]: lists[kind] for kind in KINDS}, origins=origins)
    errors = duplicate_errors(merged)
    if errors:
        raise ChartErrors(errors)
    return merged


def duplicate_errors(chart: OrgChart) -> list[str]:
    """A problem for every key given a second time, and every task code given twice in one
    position."""
    errors = []
    for kind in KINDS:
        first: dict[str, int] = {}
        for index, record in enumerate(chart.records(kind)):
            key = key_of(kind, record)
            if key in first:
                errors.append(f"{chart.where(kind, index)}: {kind} {key} is given again "
                              f"(first at {chart.where(kind, first[key])})")
            else:
                first[key] = index
    for index, position in enumerate(chart.positions):
        codes = Counter(task.task_code for task in position.tasks)
        repeated = sorted(code for code, n in codes.items() if n > 1)
        if repeated:
            errors.append(f"{chart.where('position', index)}: position "
                          f"{position.position_code}: task_code {', '.join(repeated)} is "
                          "given more than once")
    return errors


# --- what the platform holds ------------------------------------------------------------------
@dataclass(frozen=True)
class Current:
    """What the platform holds of `kinerja.hr`: the HR directory (employees over time), the
    latest office, position and holiday of each key, the highest stream version of each
    stream, and the latest `occurred_at` of all."""

    directory: Directory
    shared: dict[tuple[str, str], Any]
    versions: dict[str, int]
    newest: datetime | None


def current_of(facts: Iterable[Any]) -> Current:
    """The `Current` of HR fact envelopes (any order; other types are left out)."""
    from kinerja_events.hr import Directory, stamp_of

    kinds = {"OfficeRegistered": "office", "PositionDefined": "position",
             "HolidayDeclared": "holiday"}
    held = [fact for fact in facts if fact.type in HR_TYPES]
    directory = Directory()
    directory.add(held)
    latest: dict[tuple[str, str], Any] = {}
    versions: dict[str, int] = {}
    for fact in held:
        versions[fact.stream_id] = max(versions.get(fact.stream_id, 0), fact.stream_version)
        kind = kinds.get(fact.type)
        if kind is not None:
            slot = (kind, key_of(kind, fact.data))
            if slot not in latest or stamp_of(fact) > stamp_of(latest[slot]):
                latest[slot] = fact
    return Current(directory=directory,
                   shared={slot: fact.data for slot, fact in latest.items()},
                   versions=versions,
                   newest=max((fact.occurred_at for fact in held), default=None))


async def read_current(endpoints: Any) -> Current:
    """What the running platform holds (`endpoints` from `attach_endpoints`): offices,
    positions and employees as attendance keeps them, holidays as worklog keeps them."""
    facts: list[Any] = []
    for database, types in HELD_BY.items():
        facts += await read_held(endpoints.database_url(database), types)
    return current_of(facts)


async def read_held(database_url: str, types: Sequence[str]) -> list[Any]:
    """The reference facts of `types` a service keeps in its database, decoded."""
    from kinerja_events.codec import make_codec
    from kinerja_events.db import make_engine
    from kinerja_events.queries import on_connection

    codec = make_codec()
    engine = make_engine(database_url)
    try:
        rows = await on_connection(engine, lambda conn: conn.fetch(READ_HELD, list(types)))
    finally:
        await engine.dispose()
    return [codec.decode(row[0]) for row in rows]


# --- the plan ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanEntry:
    """One record of the chart: whether it is new, changed or unchanged on the platform, and
    the envelope that publishes it (None when unchanged)."""

    kind: str
    key: str
    status: str
    where: str
    envelope: Any = None


@dataclass(frozen=True)
class ImportPlan:
    """What an import publishes, record by record, in publishing order."""

    entries: tuple[PlanEntry, ...]

    @property
    def envelopes(self) -> list[Any]:
        """The envelopes to publish, in order."""
        return [entry.envelope for entry in self.entries if entry.envelope is not None]

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """How many records of each kind are new, changed and unchanged."""
        counts = {kind: dict.fromkeys(STATUSES, 0) for kind in KINDS}
        for entry in self.entries:
            counts[entry.kind][entry.status] += 1
        return counts


def plan_import(chart: OrgChart, current: Current, now: datetime) -> ImportPlan:
    """The envelopes that make the platform hold `chart`, given what it holds (`current`), as
    facts occurring at `now` (or just after the newest fact held). Raises `ChartErrors`, and
    plans nothing, when the chart names an office, position or superior neither it nor the
    platform has, closes a superior cycle, or contradicts an employment the platform holds."""
    errors = [*duplicate_errors(chart), *reference_errors(chart, current),
              *cycle_errors(chart, current), *employment_errors(chart, current)]
    if errors:
        raise ChartErrors(errors)
    at = import_time(current, now)
    entries = [shared_entry(kind, index, record, chart, current, at)
               for kind in KINDS if kind != "employee"
               for index, record in enumerate(chart.records(kind))]
    entries += [employee_entry(index, row, chart, current, at)
                for index, row in enumerate(chart.employees)]
    errors = size_errors(entries)
    if errors:
        raise ChartErrors(errors)
    return ImportPlan(tuple(entries))


def import_time(current: Current, now: datetime) -> datetime:
    """When an import's facts occur: `now`, or just after the newest HR fact held (so the
    later import wins even over a clock that ran ahead)."""
    from kinerja_events.types import WIB

    if now.tzinfo is None:
        raise ValueError("plan_import needs an aware `now`")
    if current.newest is not None and now <= current.newest:
        now = current.newest + LATER
    return now.astimezone(WIB)


def shared_entry(kind: str, index: int, record: Any, chart: OrgChart, current: Current,
                 at: datetime) -> PlanEntry:
    """The entry of an office, position or holiday: new, changed (defined again) or not."""
    key = key_of(kind, record)
    held = current.shared.get((kind, key))
    if held is None:
        status = "new"
    else:
        status = "unchanged" if comparable(held) == comparable(record) else "changed"
    envelope = None if status == "unchanged" else fact_envelope(record, current, at)
    return PlanEntry(kind, key, status, chart.where(kind, index), envelope)


def comparable(record: Any) -> dict[str, Any]:
    """A record's content as compared with what is held (a position's tasks in any order)."""
    content = record.model_dump(mode="json")
    if "tasks" in content:
        content["tasks"] = sorted(content["tasks"], key=lambda task: task["task_code"])
    return content  # type: ignore[no-any-return]


def employee_entry(index: int, row: Any, chart: OrgChart, current: Current,
                   at: datetime) -> PlanEntry:
    """An employee's entry: registered when new (or again when the name changed), an
    `EmployeeChanged` of the attributes that differ on the row's effective date, or none."""
    from kinerja_events import events as ev

    person = current.directory.person(row.nip)
    where = chart.where("employee", index)
    if person is None or person.start is None:
        return PlanEntry("employee", row.nip, "new", where, fact_envelope(row, current, at))
    if person.name != row.name:
        return PlanEntry("employee", row.nip, "changed", where, fact_envelope(row, current, at))
    changed = changed_attributes(row, person.attributes_on(row.effective_date))
    if not changed:
        return PlanEntry("employee", row.nip, "unchanged", where)
    change = ev.EmployeeChanged(nip=row.nip, effective_date=row.effective_date, **changed)
    return PlanEntry("employee", row.nip, "changed", where, fact_envelope(change, current, at))


def changed_attributes(row: Any, held: dict[str, Any]) -> dict[str, Any]:
    """The row's position, unit, office and superior where they differ from `held`."""
    absent = object()
    return {name: getattr(row, name) for name in ATTRIBUTES
            if held.get(name, absent) != getattr(row, name)}


def reference_errors(chart: OrgChart, current: Current) -> list[str]:
    """A problem for every office, position or superior an employee names that neither the
    import nor the platform has."""
    known = {kind: {key_of(kind, record) for record in chart.records(kind)}
             | {key for held_kind, key in current.shared if held_kind == kind}
             for kind in ("office", "position")}
    people = {row.nip for row in chart.employees} | {
        nip for nip, person in current.directory.people.items() if person.start is not None}
    errors = []
    for index, row in enumerate(chart.employees):
        named = [("position_code", row.position_code, known["position"]),
                 ("office_id", row.office_id, known["office"]),
                 ("superior_nip", row.superior_nip, people)]
        errors += [f"{chart.where('employee', index)}: employee {row.nip}: {name} {value} is "
                   "neither in this import nor on the platform"
                   for name, value, among in named if value is not None and value not in among]
    return errors


def cycle_errors(chart: OrgChart, current: Current) -> list[str]:
    """A problem for every superior cycle the import closes (each once, at the line of its
    first member in the import); superiors not in the import are the platform's on the
    row's effective date."""
    rows = {row.nip: (index, row) for index, row in enumerate(chart.employees)}
    reported: set[frozenset[str]] = set()
    errors = []
    for row in chart.employees:
        cycle = superior_cycle(row, rows, current)
        if cycle is None or frozenset(cycle) in reported:
            continue
        reported.add(frozenset(cycle))
        first = min((rows[nip][0] for nip in cycle if nip in rows))
        start = cycle.index(chart.employees[first].nip)
        loop = cycle[start:] + cycle[:start]
        errors.append(f"{chart.where('employee', first)}: employee {loop[0]}: superior cycle "
                      f"{' -> '.join([*loop, loop[0]])}")
    return errors


def superior_cycle(row: Any, rows: dict[str, tuple[int, Any]], current: Current
                   ) -> list[str] | None:
    """The cycle reached by following superiors up from `row`, if it has a member in the
    import."""
    chain = [row.nip]
    superior = row.superior_nip
    while superior is not None and superior not in chain:
        chain.append(superior)
        superior = (rows[superior][1].superior_nip if superior in rows
                    else current.directory.superior_of(superior, row.effective_date))
    if superior is None:
        return None
    cycle = chain[chain.index(superior):]
    return cycle if any(nip in rows for nip in cycle) else None


def employment_errors(chart: OrgChart, current: Current) -> list[str]:
    """A problem for every row the platform's employment of that NIP contradicts: dated before
    its start, on or after its termination, or before a change it holds that the row would
    not override (an older chart than the platform knows)."""
    errors = []
    for index, row in enumerate(chart.employees):
        person = current.directory.person(row.nip)
        if person is None or person.start is None:
            continue
        where, day = f"{chart.where('employee', index)}: employee {row.nip}", row.effective_date
        last = max(change.effective_date for change in person.changes)
        if day < person.start:
            errors.append(f"{where}: effective_date {day} is before the employment the "
                          f"platform holds (from {person.start})")
        elif person.end is not None and day >= person.end:
            errors.append(f"{where}: the platform holds their termination effective "
                          f"{person.end}, on or before effective_date {day}")
        elif last > day and changed_attributes(row, person.attributes_on(last)):
            errors.append(f"{where}: the platform holds a change effective {last}, after "
                          f"effective_date {day}, that this row contradicts; date the row "
                          f"{last} or later")
    return errors


def size_errors(entries: Iterable[PlanEntry]) -> list[str]:
    """A problem for every envelope larger than the contract's message bound."""
    from kinerja_events.codec import MAX_MESSAGE_BYTES, make_codec

    codec = make_codec()
    errors = []
    for entry in entries:
        if entry.envelope is not None:
            size = len(codec.encode(entry.envelope))
            if size > MAX_MESSAGE_BYTES:
                errors.append(f"{entry.where}: {entry.kind} {entry.key}: its event would be "
                              f"{size} bytes, more than the contract's {MAX_MESSAGE_BYTES}")
    return errors


def fact_envelope(data: Any, current: Current, at: datetime) -> Any:
    """The sealed `hr` envelope of `data`, next on its stream, occurring (and recorded) at
    `at`, its id derived from all of that."""
    from kinerja_events.envelope import new_event, seal

    stream_id = stream_id_of(data)
    version = current.versions.get(stream_id, 0) + 1
    event = new_event(data, at, event_id=fact_id(data, stream_id, version, at))
    return seal(event, source=SOURCE, stream_id=stream_id, stream_version=version,
                recorded_at=at)


def fact_id(data: Any, stream_id: str, version: int, at: datetime) -> UUID:
    """uuid5 of everything an envelope carries: one id never names two contents."""
    content = [type(data).__name__, SOURCE, stream_id, version, at.isoformat(),
               data.model_dump(mode="json", exclude_unset=True)]
    return uuid5(FACT_ID_NAMESPACE, json.dumps(content, sort_keys=True, separators=(",", ":"),
                                                ensure_ascii=False))


# --- publishing -------------------------------------------------------------------------------
async def publish_plan(producer: Any, plan: ImportPlan,
                       progress: Callable[[int, int], None] | None = None) -> int:
    """Publish the plan's envelopes on `kinerja.hr`, in order, keyed per `topics.kafka_key`;
    how many. `progress(done, total)` is called after every `PROGRESS_EVERY` of them."""
    from kinerja_events.codec import make_codec
    from kinerja_events.publishing import publish_envelopes

    codec = make_codec()
    envelopes = plan.envelopes
    done = 0
    for start in range(0, len(envelopes), PROGRESS_EVERY):
        done += await publish_envelopes(producer, codec, envelopes[start:start + PROGRESS_EVERY])
        if progress is not None:
            progress(done, len(envelopes))
    return done


# --- the command ------------------------------------------------------------------------------
def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add `import` to the `hr` parser."""
    sub = parser.add_subparsers(dest="hr_command", metavar="COMMAND")
    sub.required = True
    command = sub.add_parser(
        "import", help="publish what an org chart changes on kinerja.hr",
        description="Validate org chart files (JSON: offices, positions, employees, holidays; "
                    "CSV: employees), compare them with what the running platform holds, and "
                    "publish only the differences on kinerja.hr. See docs/hr-import.md.")
    command.add_argument("files", nargs="+", type=Path, metavar="FILE",
                         help="a chart (.json or .csv); several files are one import")
    command.add_argument("--effective", type=date_argument, metavar="YYYY-MM-DD",
                         help="the effective date of employees whose row and file give none")
    command.add_argument("--dry-run", action="store_true",
                         help="show what would be published, publish nothing")
    command.add_argument("--json", action="store_true", help="the report as one JSON object")
    command.set_defaults(func=run_import)


def date_argument(text: str) -> date:
    """A `YYYY-MM-DD` command-line argument; argparse reports anything else."""
    try:
        if DATE_TEXT.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"a date is YYYY-MM-DD, got {text!r}")


def run_import(args: argparse.Namespace) -> int:
    """Validate the files, compare them with the platform, publish the differences (unless
    `--dry-run`), and print what was published: exit 2 when the chart is invalid, 1 when the
    platform cannot be reached."""
    from kinerja_events.runtime import UNREACHABLE, on_service_database

    try:
        chart = read_charts(args.files, args.effective)
        outcome = on_service_database(PROGRAM, "attendance", lambda _, endpoints: import_chart(
            chart, endpoints, dry_run=args.dry_run, progress=show_progress))
    except ChartErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"{PROGRAM}: {len(exc.errors)} problem(s); nothing was published", file=sys.stderr)
        return EXIT_INVALID
    if outcome is UNREACHABLE:
        return EXIT_FAILED
    if isinstance(outcome, str):
        print(f"{PROGRAM}: {outcome}", file=sys.stderr)
        return EXIT_FAILED
    plan, published = outcome
    print(json.dumps(report(plan, published, args.dry_run)) if args.json
          else report_text(plan, published, args.dry_run))
    return 0


async def import_chart(chart: OrgChart, endpoints: Any, *, dry_run: bool,
                       progress: Callable[[int, int], None] | None = None
                       ) -> tuple[ImportPlan, int] | str:
    """Plan `chart` against the platform at `endpoints` and publish it (unless `dry_run`):
    the plan and how many were published, or a line saying what could not be reached."""
    from kinerja_events.outbox import make_producer
    from kinerja_events.types import WIB

    current = await reached("the platform's databases", read_current(endpoints))
    if isinstance(current, str):
        return current
    plan = plan_import(chart, current, datetime.now(WIB))
    if dry_run or not plan.envelopes:
        return plan, 0
    quiet_kafka_client()
    producer = make_producer(endpoints.kafka_bootstrap)
    started = await reached(f"the broker at {endpoints.kafka_bootstrap}", producer.start())
    if isinstance(started, str):
        await producer.stop()
        return started
    try:
        published = await reached("the broker (the import was interrupted: run it again, "
                                  "it publishes only what the platform does not hold yet)",
                                  publish_plan(producer, plan, progress))
    finally:
        await producer.stop()
    return published if isinstance(published, str) else (plan, published)


async def reached(what: str, work: Awaitable[Any]) -> Any:
    """`await work`, or, when a dependency is unreachable, a line saying `what` was not."""
    from kinerja_events.resilience import is_outage

    try:
        return await work
    except Exception as exc:
        if not is_outage(exc):
            raise
        detail = str(exc) if str(exc).startswith(type(exc).__name__) else (
            f"{type(exc).__name__}: {exc}")
        return f"cannot reach {what}: {detail[:200]}"


def quiet_kafka_client() -> None:
    """Keep the Kafka client's own log lines off stderr: an unreachable broker is said once,
    in the command's one line."""
    import logging

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


def show_progress(done: int, total: int) -> None:
    """Say on stderr how far publishing a big import has got."""
    if total > PROGRESS_EVERY:
        print(f"{PROGRAM}: published {done} of {total} events", file=sys.stderr, flush=True)


def report(plan: ImportPlan, published: int, dry_run: bool) -> dict[str, Any]:
    """The report for machines: counts per kind and status, and every event planned."""
    counts = plan.counts
    return {
        "dry_run": dry_run,
        "planned": len(plan.envelopes),
        "published": published,
        "counts": counts,
        "total": {status: sum(c[status] for c in counts.values()) for status in STATUSES},
        "events": [{"kind": entry.kind, "key": entry.key, "status": entry.status,
                    "type": entry.envelope.type, "event_id": str(entry.envelope.event_id),
                    "stream_id": entry.envelope.stream_id}
                   for entry in plan.entries if entry.envelope is not None],
    }


def report_text(plan: ImportPlan, published: int, dry_run: bool) -> str:
    """The report for people: a table of records per kind and status with totals, and a line
    saying what was (or would be) published."""
    from kinerja_events.display import table

    counts = plan.counts
    rows = [["kind", *STATUSES, "total"]]
    rows += [[kind, *(str(counts[kind][s]) for s in STATUSES), str(sum(counts[kind].values()))]
             for kind in KINDS]
    totals = [sum(counts[kind][s] for kind in KINDS) for s in STATUSES]
    rows.append(["total", *map(str, totals), str(sum(totals))])
    types = Counter(envelope.type for envelope in plan.envelopes)
    detail = ", ".join(f"{n} {name}" for name, n in types.items())
    if not plan.envelopes:
        outcome = "nothing to publish: the platform holds all of it already"
    elif dry_run:
        outcome = f"dry run: would publish {len(plan.envelopes)} event(s) on kinerja.hr ({detail})"
    else:
        outcome = f"published {published} event(s) on kinerja.hr ({detail})"
    return f"{table(rows)}\n{outcome}"
