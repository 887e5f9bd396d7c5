"""`kinerja hr import`: reading org charts (JSON and CSV), every problem on its own line with the
file's line number, and the plan of what to publish against what the platform holds."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from hr_facts import fact
from kinerja_cli.hrimport import (
    ChartErrors, OrgChart, current_of, merge_charts, plan_import, read_chart,
)
from kinerja_cli.main import main
from kinerja_events import events as ev
from kinerja_events.codec import make_codec
from kinerja_events.hr import Directory
from kinerja_events.types import WIB

HEAD = "197501012000031001"
ANALYST = "199001012020121002"
CLERK = "199202022020122003"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=WIB)
EFFECTIVE = date(2026, 10, 1)
codec = make_codec()

CHART_JSON = """\
{
  "effective_date": "2026-10-01",
  "offices": [
    {"office_id": "GS", "name": "Gedung Sate", "lat": -6.902481, "lon": 107.61881,
     "radius_m": 200}
  ],
  "positions": [
    {"position_code": "KABIRO", "name": "Kepala Biro", "kelas_jabatan": 14, "mobile": false,
     "public_service": false, "tasks": []},
    {"position_code": "ANALIS", "name": "Analis Kebijakan", "kelas_jabatan": 9,
     "mobile": false, "public_service": false,
     "tasks": [{"task_code": "LAP", "name": "Menyusun laporan", "unit": "dokumen",
                "minutes_per_unit": 80}]}
  ],
  "employees": [
    {"nip": "197501012000031001", "name": "Ir. Bambang", "position_code": "KABIRO",
     "unit": "Biro Organisasi", "office_id": "GS"},
    {"nip": "199001012020121002", "name": "Siti", "position_code": "ANALIS",
     "unit": "Biro Organisasi", "office_id": "GS", "superior_nip": "197501012000031001",
     "effective_date": "2026-10-15"}
  ],
  "holidays": [{"date": "2026-12-25", "name": "Natal", "kind": "national"}]
}
"""

CSV_HEADER = "nip,name,position_code,unit,office_id,superior_nip,effective_date\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def errors_of(path: Path, effective: date | None = None) -> list[str]:
    """The problems `read_chart` finds, with the directory left out of the file names."""
    with pytest.raises(ChartErrors) as caught:
        read_chart(path, effective)
    return [error.replace(f"{path.parent}/", "") for error in caught.value.errors]


def with_employee(**fields: object) -> str:
    """CHART_JSON whose second employee's record has `fields` changed (on the same lines)."""
    chart = CHART_JSON
    for name, value in fields.items():
        old = {"nip": '"nip": "199001012020121002"', "position_code": '"position_code": "ANALIS",\n     "unit"',
               "superior_nip": '"superior_nip": "197501012000031001"',
               "effective_date": '"effective_date": "2026-10-15"'}[name]
        assert old in chart
        new = old.split(":", 1)[0] + ": " + json.dumps(value) + (
            ',\n     "unit"' if name == "position_code" else "")
        chart = chart.replace(old, new, 1)
    return chart


def employee(nip: str, superior: str | None, *, position: str = "ANALIS", office: str = "GS",
             unit: str = "Biro Organisasi", name: str | None = None,
             start: date = EFFECTIVE) -> ev.EmployeeRegistered:
    return ev.EmployeeRegistered(nip=nip, name=name or f"Pegawai {nip[-3:]}",
                                 position_code=position, unit=unit, office_id=office,
                                 superior_nip=superior, effective_date=start)


OFFICE = ev.OfficeRegistered(office_id="GS", name="Gedung Sate", lat=-6.902481, lon=107.61881,
                             radius_m=200)
ANALIS = ev.PositionDefined(position_code="ANALIS", name="Analis Kebijakan", kelas_jabatan=9,
                            mobile=False, public_service=False, tasks=[])


def held(*records: object, at: datetime = datetime(2026, 10, 1, 8, 0, tzinfo=WIB)) -> object:
    """What a platform holding `records` (as HR facts occurring at `at`) has."""
    return current_of([fact(record, at) for record in records])


# --- reading ----------------------------------------------------------------------------------
def test_a_json_chart_gives_every_record_with_the_files_effective_date_as_default(tmp_path):
    chart = read_chart(write(tmp_path, "chart.json", CHART_JSON))

    assert [o.office_id for o in chart.offices] == ["GS"]
    assert [p.position_code for p in chart.positions] == ["KABIRO", "ANALIS"]
    assert chart.positions[1].tasks[0].minutes_per_unit == 80
    head, analyst = chart.employees
    assert (head.nip, head.superior_nip, head.effective_date) == (HEAD, None, EFFECTIVE)
    assert (analyst.superior_nip, analyst.effective_date) == (HEAD, date(2026, 10, 15))
    assert chart.holidays == [ev.HolidayDeclared(date=date(2026, 12, 25), name="Natal",
                                                 kind="national")]
    assert chart.where("employee", 1) == f"{tmp_path}/chart.json:18"


def test_a_csv_export_gives_its_employees_with_the_effective_option_for_empty_dates(tmp_path):
    path = write(tmp_path, "simpeg.csv", CSV_HEADER
                 + f"{HEAD},Ir. Bambang,KABIRO,Biro Organisasi,GS,,\n"
                 + f'{ANALYST},"Siti\nNurhaliza",ANALIS,Biro Organisasi,GS,{HEAD},2026-10-15\n'
                 + "\n"
                 + f"{CLERK},Asep,ANALIS,Biro Organisasi,GS,{ANALYST},\n")

    chart = read_chart(path, effective=EFFECTIVE)

    assert [(e.nip, e.superior_nip, e.effective_date) for e in chart.employees] == [
        (HEAD, None, EFFECTIVE), (ANALYST, HEAD, date(2026, 10, 15)), (CLERK, ANALYST, EFFECTIVE)]
    assert chart.employees[1].name == "Siti\nNurhaliza"
    assert [chart.where("employee", i).rsplit(":", 1)[1] for i in range(3)] == ["2", "3", "6"]
    assert chart.offices == chart.positions == chart.holidays == []


def test_a_csv_header_in_another_order_is_read_by_name(tmp_path):
    path = write(tmp_path, "simpeg.csv", "name,nip,effective_date,unit,office_id,position_code,"
                 f"superior_nip\nIr. Bambang,{HEAD},2026-10-01,Biro,GS,KABIRO,\n")

    assert read_chart(path).employees == [employee(HEAD, None, position="KABIRO", unit="Biro",
                                                   name="Ir. Bambang")]


# --- every problem with its line --------------------------------------------------------------
def test_a_json_syntax_error_names_its_line(tmp_path):
    path = write(tmp_path, "chart.json", CHART_JSON.replace('"radius_m": 200}', '"radius_m": 200,}'))

    assert errors_of(path) == [
        "chart.json:5: not valid JSON: Expecting property name enclosed in double quotes "
        "(column 22)"]


def test_malformed_nip_and_date_are_reported_on_the_line_where_the_record_starts(tmp_path):
    path = write(tmp_path, "chart.json", with_employee(nip="19900101202012100",
                                                       effective_date="15/10/2026"))

    assert errors_of(path) == [
        "chart.json:18: employee 19900101202012100: effective_date must be a date YYYY-MM-DD, "
        "got '15/10/2026'",
        "chart.json:18: employee 19900101202012100: nip must be 18 digits, "
        "got '19900101202012100'"]


def test_contract_violations_are_readable_sentences_naming_the_field(tmp_path):
    chart = (CHART_JSON.replace('"kelas_jabatan": 9', '"kelas_jabatan": 18')
             .replace('"minutes_per_unit": 80', '"minutes_per_unit": 2000')
             .replace('"kind": "national"', '"kind": "religious"')
             .replace('"radius_m": 200}', '"radius_m": 200, "floor": 3}'))
    path = write(tmp_path, "chart.json", chart)

    assert errors_of(path) == [
        "chart.json:4: office GS: floor is not a field of this record",
        "chart.json:10: position ANALIS: kelas_jabatan should be less than or equal to 17, "
        "got 18",
        "chart.json:10: position ANALIS: tasks[0].minutes_per_unit should be less than or equal "
        "to 1440, got 2000",
        "chart.json:22: holiday 2026-12-25: kind should be 'national' or 'joint_leave', "
        "got 'religious'"]


def test_an_employee_without_any_effective_date_is_refused_unless_the_option_gives_one(
        tmp_path):
    path = write(tmp_path, "chart.json", CHART_JSON.replace('"effective_date": "2026-10-01",\n',
                                                            ""))

    assert errors_of(path) == [
        "chart.json:15: employee 197501012000031001: effective_date is missing (give it in the "
        "file or with --effective)"]
    assert read_chart(path, EFFECTIVE).employees[0].effective_date == EFFECTIVE


def test_a_nip_given_twice_is_reported_at_its_second_line_naming_the_first(tmp_path):
    path = write(tmp_path, "chart.json", with_employee(nip=HEAD))

    assert errors_of(path) == [
        f"chart.json:18: employee {HEAD} is given again (first at chart.json:16)"]


def test_a_task_code_twice_in_one_position_is_refused(tmp_path):
    task = '{"task_code": "LAP", "name": "Menyusun laporan", "unit": "dokumen",'
    path = write(tmp_path, "chart.json", CHART_JSON.replace(
        '"tasks": []', f'"tasks": [{task} "minutes_per_unit": 1}}, {task} "minutes_per_unit": 2}}]'))

    assert errors_of(path) == [
        "chart.json:8: position KABIRO: task_code LAP is given more than once"]


def test_csv_problems_are_reported_on_the_rows_lines(tmp_path):
    path = write(tmp_path, "simpeg.csv", CSV_HEADER
                 + f"{HEAD},Ir. Bambang,KABIRO,Biro,GS,,2026-10-01\n"
                 + f'{ANALYST},"Siti\nNurhaliza",ANALIS,Biro,GS,{HEAD},2026-02-30\n'
                 + f"{CLERK},Asep,ANALIS,Biro,GS,{ANALYST},2026-10-01,spare\n"
                 + f"{HEAD},Bambang lagi,KABIRO,Biro,GS,,2026-10-01\n"
                 + "1992,Dadang,ANALIS,Biro,GS,,\n")

    assert errors_of(path) == [
        "simpeg.csv:3: employee 199001012020121002: effective_date must be a date YYYY-MM-DD, "
        "got '2026-02-30'",
        "simpeg.csv:5: the row has 8 cells, the header 7",
        f"simpeg.csv:6: employee {HEAD} is given again (first at simpeg.csv:2)",
        "simpeg.csv:7: employee 1992: nip must be 18 digits, got '1992'",
        "simpeg.csv:7: employee 1992: effective_date is missing (give it in the file or with "
        "--effective)"]


def test_a_csv_header_without_a_column_is_refused_on_line_1(tmp_path):
    path = write(tmp_path, "simpeg.csv", "nip,name,position,unit,office_id,superior_nip,"
                 f"effective_date\n{HEAD},Ir. Bambang,KABIRO,Biro,GS,,2026-10-01\n")

    assert errors_of(path) == [
        "simpeg.csv:1: the header must be nip,name,position_code,unit,office_id,superior_nip,"
        "effective_date (missing position_code; unknown 'position')"]


def test_a_key_given_in_two_files_of_one_import_is_refused(tmp_path):
    json_chart = read_chart(write(tmp_path, "chart.json", CHART_JSON))
    csv_chart = read_chart(write(tmp_path, "simpeg.csv", CSV_HEADER
                                 + f"{CLERK},Asep,ANALIS,Biro,GS,{HEAD},\n"
                                 + f"{ANALYST},Siti,ANALIS,Biro,GS,{HEAD},\n"), EFFECTIVE)

    with pytest.raises(ChartErrors) as caught:
        merge_charts([json_chart, csv_chart])

    assert caught.value.errors == [f"{tmp_path}/simpeg.csv:3: employee {ANALYST} is given "
                                   f"again (first at {tmp_path}/chart.json:18)"]


# --- the plan against what the platform holds --------------------------------------------------
KABIRO = ev.PositionDefined(position_code="KABIRO", name="Kepala Biro", kelas_jabatan=14,
                            mobile=False, public_service=False, tasks=[])
CHRISTMAS = ev.HolidayDeclared(date=date(2026, 12, 25), name="Natal", kind="national")


def chart_of(*employees: ev.EmployeeRegistered, positions=(ANALIS, KABIRO),
             holidays=(CHRISTMAS,)) -> OrgChart:
    return OrgChart(offices=[OFFICE], positions=list(positions), employees=list(employees),
                    holidays=list(holidays))


def planned(plan) -> list[tuple[str, str, dict]]:
    """(type, kafka key, data as on the wire) of every envelope the plan publishes."""
    from kinerja_events.topics import key_of

    return [(e.type, key_of(e).decode(), json.loads(codec.encode(e))["data"])
            for e in plan.envelopes]


def test_a_chart_the_platform_does_not_hold_is_planned_whole_reference_data_first():
    chart = chart_of(employee(HEAD, None, position="KABIRO"), employee(ANALYST, HEAD))

    plan = plan_import(chart, current_of([]), NOW)

    assert [(kind, key) for kind, key, _ in planned(plan)] == [
        ("OfficeRegistered", "office:GS"), ("PositionDefined", "position:ANALIS"),
        ("PositionDefined", "position:KABIRO"), ("HolidayDeclared", "holiday:2026-12-25"),
        ("EmployeeRegistered", HEAD), ("EmployeeRegistered", ANALYST)]
    assert {e.source for e in plan.envelopes} == {"hr"}
    assert {e.occurred_at for e in plan.envelopes} == {NOW}
    assert plan.counts == {"office": {"new": 1, "changed": 0, "unchanged": 0},
                           "position": {"new": 2, "changed": 0, "unchanged": 0},
                           "holiday": {"new": 1, "changed": 0, "unchanged": 0},
                           "employee": {"new": 2, "changed": 0, "unchanged": 0}}


def test_only_the_differences_are_planned_a_changed_employee_carrying_only_what_changed():
    retasked = ANALIS.model_copy(update={"tasks": [ev.Task(task_code="LAP", name="Laporan",
                                                           unit="dokumen", minutes_per_unit=80)]})
    current = held(OFFICE, ANALIS, KABIRO, employee(HEAD, None, position="KABIRO"),
                   employee(ANALYST, None, unit="Biro Umum"))
    chart = chart_of(employee(HEAD, None, position="KABIRO"),
                     employee(ANALYST, HEAD, start=date(2026, 10, 15)),
                     employee(CLERK, ANALYST), positions=(retasked, KABIRO))

    plan = plan_import(chart, current, NOW)

    assert planned(plan) == [
        ("PositionDefined", "position:ANALIS", retasked.model_dump(mode="json")),
        ("HolidayDeclared", "holiday:2026-12-25", CHRISTMAS.model_dump(mode="json")),
        ("EmployeeChanged", ANALYST, {"nip": ANALYST, "effective_date": "2026-10-15",
                                      "unit": "Biro Organisasi", "superior_nip": HEAD}),
        ("EmployeeRegistered", CLERK, employee(CLERK, ANALYST).model_dump(mode="json"))]
    assert plan.counts == {"office": {"new": 0, "changed": 0, "unchanged": 1},
                           "position": {"new": 0, "changed": 1, "unchanged": 1},
                           "holiday": {"new": 1, "changed": 0, "unchanged": 0},
                           "employee": {"new": 1, "changed": 1, "unchanged": 1}}


def test_a_superior_set_to_none_is_carried_as_an_explicit_null():
    current = held(OFFICE, ANALIS, employee(HEAD, None), employee(ANALYST, HEAD))

    plan = plan_import(chart_of(employee(HEAD, None), employee(ANALYST, None), holidays=()),
                       current, NOW)

    assert planned(plan)[-1] == ("EmployeeChanged", ANALYST, {
        "nip": ANALYST, "effective_date": "2026-10-01", "superior_nip": None})


def test_a_changed_name_registers_the_employee_again_and_the_office_changed_is_registered_again():
    moved = OFFICE.model_copy(update={"radius_m": 350.0})
    current = held(OFFICE, ANALIS, KABIRO, CHRISTMAS, employee(HEAD, None, name="Bambang"))

    chart = OrgChart(offices=[moved], positions=[ANALIS, KABIRO], holidays=[CHRISTMAS],
                     employees=[employee(HEAD, None, name="Ir. Bambang Sutrisno")])

    plan = plan_import(chart, current, NOW)

    assert [(kind, key) for kind, key, _ in planned(plan)] == [
        ("OfficeRegistered", "office:GS"), ("EmployeeRegistered", HEAD)]
    assert plan.counts["employee"] == {"new": 0, "changed": 1, "unchanged": 0}
    assert plan.counts["office"] == {"new": 0, "changed": 1, "unchanged": 0}


def test_importing_what_the_platform_already_holds_plans_nothing():
    chart = chart_of(employee(HEAD, None, position="KABIRO"), employee(ANALYST, HEAD))
    first = plan_import(chart, current_of([]), NOW)

    again = plan_import(chart, current_of(first.envelopes), NOW + timedelta(days=1))

    assert again.envelopes == []
    assert {kind: counts["unchanged"] for kind, counts in again.counts.items()} == {
        "office": 1, "position": 2, "holiday": 1, "employee": 2}


def test_the_later_import_wins_even_on_the_same_effective_date_and_a_clock_behind():
    ahead = NOW + timedelta(hours=3)  # the first import's clock ran ahead
    first = [fact(record, ahead) for record in (OFFICE, ANALIS, employee(HEAD, None),
                                               employee(CLERK, None), employee(ANALYST, HEAD))]

    plan = plan_import(chart_of(employee(HEAD, None), employee(CLERK, None),
                                employee(ANALYST, CLERK), positions=(ANALIS,), holidays=()),
                       current_of(first), NOW)

    [change] = plan.envelopes
    assert change.occurred_at > ahead
    directory = Directory()
    directory.add([*first, change])
    assert directory.superior_of(ANALYST, EFFECTIVE) == CLERK


def test_event_ids_come_from_the_content_so_one_id_never_carries_two_contents():
    chart = chart_of(employee(HEAD, None, position="KABIRO"), employee(ANALYST, HEAD))

    once = plan_import(chart, current_of([]), NOW)
    twice = plan_import(chart, current_of([]), NOW)
    later = plan_import(chart, current_of([]), NOW + timedelta(seconds=1))

    assert [codec.encode(e) for e in once.envelopes] == [codec.encode(e) for e in twice.envelopes]
    assert len({e.event_id for e in once.envelopes}) == len(once.envelopes)
    assert not {e.event_id for e in once.envelopes} & {e.event_id for e in later.envelopes}


def test_a_change_is_the_next_version_of_the_employees_stream():
    from kinerja_events.envelope import new_event, seal

    registered = seal(new_event(employee(ANALYST, None), NOW - timedelta(days=30)), source="hr",
                      stream_id=f"employee:{ANALYST}", stream_version=1,
                      recorded_at=NOW - timedelta(days=30))
    current = current_of([registered, fact(OFFICE), fact(ANALIS)])

    [change] = plan_import(chart_of(employee(ANALYST, None, unit="Biro Umum"),
                                    positions=(ANALIS,), holidays=()), current, NOW).envelopes

    assert (change.type, change.stream_id, change.stream_version) == (
        "EmployeeChanged", f"employee:{ANALYST}", 2)


# --- problems only the platform's data shows, and nothing planned -----------------------------
def plan_errors(path: Path, current, effective: date | None = EFFECTIVE) -> list[str]:
    with pytest.raises(ChartErrors) as caught:
        plan_import(read_chart(path, effective), current, NOW)
    return [error.replace(f"{path.parent}/", "") for error in caught.value.errors]


def test_unknown_references_and_a_superior_cycle_are_reported_on_their_lines(tmp_path):
    unknown = "199912312020121999"
    path = write(tmp_path, "simpeg.csv", CSV_HEADER
                 + f"{HEAD},Bambang,ANALIS,Biro,GS,{CLERK},\n"
                 + f"{ANALYST},Siti,NOPE,Biro,GS,{HEAD},\n"
                 + f"{CLERK},Asep,ANALIS,Biro,XX,{ANALYST},\n"
                 + f"199303032020123004,Dewi,ANALIS,Biro,GS,{unknown},\n")

    assert plan_errors(path, held(OFFICE, ANALIS)) == [
        f"simpeg.csv:2: employee {HEAD}: superior cycle {HEAD} -> {CLERK} -> {ANALYST} -> {HEAD}",
        f"simpeg.csv:3: employee {ANALYST}: position_code NOPE is neither in this import nor on "
        "the platform",
        f"simpeg.csv:4: employee {CLERK}: office_id XX is neither in this import nor on the "
        "platform",
        f"simpeg.csv:5: employee 199303032020123004: superior_nip {unknown} is neither in this "
        "import nor on the platform"]


def test_a_cycle_closed_through_the_platforms_superiors_is_refused(tmp_path):
    path = write(tmp_path, "simpeg.csv", CSV_HEADER + f"{HEAD},Bambang,ANALIS,Biro,GS,{ANALYST},\n")

    assert plan_errors(path, held(OFFICE, ANALIS, employee(ANALYST, HEAD))) == [
        f"simpeg.csv:2: employee {HEAD}: superior cycle {HEAD} -> {ANALYST} -> {HEAD}"]


def test_rows_contradicting_the_employment_the_platform_holds_are_refused(tmp_path):
    quitter, moved = "199303032020123004", "199404042020124005"
    current = current_of([
        fact(OFFICE), fact(ANALIS), fact(employee(HEAD, None)), fact(employee(ANALYST, HEAD)),
        fact(employee(quitter, HEAD)),
        fact(ev.EmployeeTerminated(nip=quitter, effective_date=date(2026, 12, 1))),
        fact(employee(moved, HEAD)),
        fact(ev.EmployeeChanged(nip=moved, effective_date=date(2026, 11, 1),
                                superior_nip=ANALYST))])
    path = write(tmp_path, "simpeg.csv", CSV_HEADER
                 + f"{HEAD},Pegawai 001,ANALIS,Biro Organisasi,GS,,2026-10-01\n"
                 + f"{ANALYST},Pegawai 002,ANALIS,Biro Organisasi,GS,{HEAD},2026-09-01\n"
                 + f"{quitter},Pegawai 004,ANALIS,Biro Organisasi,GS,{HEAD},2026-12-01\n"
                 + f"{moved},Pegawai 005,ANALIS,Biro Organisasi,GS,{HEAD},2026-10-15\n")

    assert plan_errors(path, current) == [
        f"simpeg.csv:3: employee {ANALYST}: effective_date 2026-09-01 is before the employment "
        "the platform holds (from 2026-10-01)",
        f"simpeg.csv:4: employee {quitter}: the platform holds their termination effective "
        "2026-12-01, on or before effective_date 2026-12-01",
        f"simpeg.csv:5: employee {moved}: the platform holds a change effective 2026-11-01, "
        "after effective_date 2026-10-15, that this row contradicts; date the row 2026-11-01 "
        "or later"]


def test_an_invalid_chart_in_memory_plans_nothing():
    chart = chart_of(employee(HEAD, None), employee(HEAD, None, name="Twice"))

    with pytest.raises(ChartErrors) as caught:
        plan_import(chart, current_of([]), NOW)

    assert caught.value.errors == [f"<chart>: employee {HEAD} is given again (first at <chart>)"]


# --- the command without a platform -----------------------------------------------------------
@pytest.fixture
def no_platform(tmp_path, monkeypatch):
    monkeypatch.setenv("KINERJA_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("KINERJA_KAFKA", raising=False)
    monkeypatch.delenv("KINERJA_DATABASE_URL", raising=False)


def test_an_invalid_file_exits_2_listing_its_problems_before_any_platform_is_needed(
        tmp_path, no_platform, capsys):
    path = write(tmp_path, "chart.json", with_employee(nip="1990"))

    code = main(["hr", "import", str(path)])

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"{path}:18: employee 1990: nip must be 18 digits, got '1990'",
        "kinerja hr: 1 problem(s); nothing was published"]


def test_a_valid_file_without_a_running_platform_exits_1_with_one_line(tmp_path, no_platform,
                                                                       capsys):
    code = main(["hr", "import", str(write(tmp_path, "chart.json", CHART_JSON))])

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "kinerja hr: the platform is not running: start it with `make run`"]


def test_a_position_whose_event_would_break_the_message_bound_is_refused():
    tasks = [ev.Task(task_code=f"T{n}", name="x" * 500, unit="dokumen", minutes_per_unit=60)
             for n in range(600)]
    huge = ANALIS.model_copy(update={"tasks": tasks})

    with pytest.raises(ChartErrors) as caught:
        plan_import(chart_of(positions=(huge,), holidays=()), current_of([]), NOW)

    [error] = caught.value.errors
    assert error.startswith("<chart>: position ANALIS: its event would be ")
    assert error.endswith("bytes, more than the contract's 262144")
