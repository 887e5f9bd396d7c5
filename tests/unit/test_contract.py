"""The wire contract: every event and command round-trips through JSON; bad input names its field."""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from kinerja_events import commands as cmd
from kinerja_events.codec import ContractError, Registry, make_codec
from kinerja_events.envelope import name_based_id
from kinerja_events.events import ENVELOPES, EVENT_DATA, Data, EnvelopeBase, HolidayDeclared
from kinerja_events.topics import all_topics, kafka_key

NIP_A = "199001012020121001"
NIP_B = "198502022010012002"
AT = "2026-10-05T07:21:09+07:00"
SCORES = {k: 4 for k in (
    "berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif",
    "kolaboratif")}
SKP_ITEM = {"item_id": "C1", "indicator": "Laporan kepegawaian tersusun", "target_quantity": 12,
            "unit": "laporan", "monthly_targets": [1] * 12, "supports_item_id": "B1",
            "unit_goal": None}
CHECK = {"nip": NIP_A, "at": AT, "received_at": AT, "mode": "office", "lat": -6.9, "lon": 107.6,
         "accuracy_m": 8.5, "office_id": "GS", "flags": ["offline_sync"]}

SAMPLE_DATA: dict[str, dict[str, Any]] = {
    "OfficeRegistered": {"office_id": "GS", "name": "Gedung Sate", "lat": -6.9025,
                         "lon": 107.6188, "radius_m": 150},
    "PositionDefined": {"position_code": "ANL-7", "name": "Analis", "kelas_jabatan": 7,
                        "mobile": False, "public_service": False,
                        "tasks": [{"task_code": "T1", "name": "Menyusun laporan",
                                   "unit": "dokumen", "minutes_per_unit": 60}]},
    "EmployeeRegistered": {"nip": NIP_A, "name": "Siti", "position_code": "ANL-7",
                           "unit": "Biro Umum", "office_id": "GS", "superior_nip": NIP_B,
                           "effective_date": "2026-01-01"},
    "EmployeeChanged": {"nip": NIP_A, "effective_date": "2026-10-15", "unit": "Biro Hukum"},
    "EmployeeTerminated": {"nip": NIP_A, "effective_date": "2026-12-01"},
    "HolidayDeclared": {"date": "2026-12-25", "name": "Natal", "kind": "national"},
    "CheckedIn": CHECK,
    "CheckedOut": {**CHECK, "mode": "field", "office_id": None, "flags": []},
    "CheckInRejected": {"command_id": "0b6f1f1e-61c4-4b8e-9d1c-8f4f1d2c3b4a", "nip": NIP_A,
                        "attempted_at": AT, "action": "check_in", "reason": "outside_geofence",
                        "retryable": False},
    "LeaveRecorded": {"leave_id": "L1", "nip": NIP_A, "kind": "sick",
                      "start_date": "2026-10-06", "end_date": "2026-10-07"},
    "LeaveCancelled": {"leave_id": "L1", "nip": NIP_A},
    "OfficialTravelRecorded": {"travel_id": "D1", "nip": NIP_A, "start_date": "2026-10-08",
                               "end_date": "2026-10-09"},
    "ActivityLogged": {"activity_id": "A1", "nip": NIP_A, "work_date": "2026-10-05",
                       "task_code": "T1", "quantity": 2, "minutes": 120,
                       "description": "laporan", "evidence_ref": None},
    "ActivityApproved": {"activity_id": "A1", "nip": NIP_A, "approver_nip": NIP_B,
                         "approved_minutes": 120},
    "ActivityRejected": {"activity_id": "A1", "nip": NIP_A, "approver_nip": NIP_B,
                         "reason": "tidak sesuai"},
    "ActivityRefused": {"command_id": "0b6f1f1e-61c4-4b8e-9d1c-8f4f1d2c3b4a", "nip": NIP_B,
                        "action": "approve", "activity_id": "A1",
                        "reason": "not_the_superior", "retryable": False},
    "RatingGiven": {"rater_nip": NIP_B, "ratee_nip": NIP_A, "period": "2026-10",
                    "relation": "superior", "scores": SCORES},
    "IKPAssigned": {"ikp_id": "I1", "assigner_nip": NIP_B, "assignee_nip": NIP_A,
                    "period": "2026-10", "title": "Rekap", "due_date": "2026-10-20"},
    "IKPCompleted": {"ikp_id": "I1", "assignee_nip": NIP_A, "verified_by_nip": NIP_B,
                     "completed_at": AT},
    "AppraisalRefused": {"command_id": "0b6f1f1e-61c4-4b8e-9d1c-8f4f1d2c3b4a", "nip": NIP_B,
                         "action": "rate", "subject": NIP_A, "reason": "not_related",
                         "retryable": False},
    "SKPDrafted": {"skp_id": "S1", "nip": NIP_A, "year": 2026, "revision": 1, "items": [
        SKP_ITEM]},
    "SKPApproved": {"skp_id": "S1", "nip": NIP_A, "revision": 1, "approver_nip": NIP_B},
    "SKPReturned": {"skp_id": "S1", "nip": NIP_A, "revision": 1, "approver_nip": NIP_B,
                    "notes": "Target terlalu rendah"},
    "EvaluationGiven": {"nip": NIP_A, "year": 2026, "quarter": 3, "evaluator_nip": NIP_B,
                        "proposed_result": "above", "proposed_behaviour": "meets",
                        "result_rating": "meets", "behaviour_rating": "meets",
                        "predikat": "baik", "override_reason": "Separuh laporan dari tim"},
    "MKDRequested": {"request_id": "R1", "nip": NIP_A, "week_start": "2026-11-02",
                     "days": ["2026-11-03", "2026-11-04"]},
    "MKDGranted": {"request_id": "R1", "nip": NIP_A, "approver_nip": NIP_B,
                   "days": ["2026-11-03"]},
    "MKDDenied": {"request_id": "R1", "nip": NIP_A, "reason": "kuota"},
    "MKDRevoked": {"request_id": "R1", "nip": NIP_A, "days": ["2026-11-03"],
                   "reason": "quota_lowered"},
    "MKDRefused": {"command_id": "0b6f1f1e-61c4-4b8e-9d1c-8f4f1d2c3b4a", "nip": NIP_B,
                   "action": "decide", "request_id": "R1", "reason": "not_the_superior",
                   "retryable": False},
    "TPPCalculated": {"nip": NIP_A, "period": "2026-10", "rule_set": "jabar-2026",
                      "rule_set_hash": "ab" * 32, "base_rupiah": 4500000,
                      "productivity_rupiah": 2648455, "discipline_rupiah": 1692000,
                      "ikp_rupiah": 0, "total_rupiah": 4340455,
                      "productivity_ratio": "0.972727", "behaviour_ratio": "1.000000",
                      "discipline_cut": "0.060000", "tk_days": 1, "approved_minutes": 6720,
                      "target_minutes": 6600, "flags": []},
    "TPPAdjusted": {"nip": NIP_A, "period": "2026-10", "paid_in_period": "2026-11",
                    "delta_rupiah": -12000, "recomputed_total": 4328455},
    "PayrollClosed": {"period": "2026-10", "employees": 1, "total_rupiah": 4340455,
                      "digest": "cd" * 32, "closed_at": AT},
    "MKDEligibilityDetermined": {"nip": NIP_A, "period": "2026-11", "days_per_week": 0,
                                 "reasons": ["discipline_cut_above_5_percent"]},
}

SOURCE_OF = {
    **dict.fromkeys(["OfficeRegistered", "PositionDefined", "EmployeeRegistered",
                     "EmployeeChanged", "EmployeeTerminated", "HolidayDeclared"], "hr"),
    **dict.fromkeys(["CheckedIn", "CheckedOut", "CheckInRejected", "LeaveRecorded",
                     "LeaveCancelled", "OfficialTravelRecorded"], "attendance"),
    **dict.fromkeys(["ActivityLogged", "ActivityApproved", "ActivityRejected",
                     "ActivityRefused"], "worklog"),
    **dict.fromkeys(["RatingGiven", "IKPAssigned", "IKPCompleted", "AppraisalRefused",
                     "SKPDrafted", "SKPApproved", "SKPReturned", "EvaluationGiven"],
                    "appraisal"),
    **dict.fromkeys(["MKDRequested", "MKDGranted", "MKDDenied", "MKDRevoked",
                     "MKDRefused"], "mkd"),
    **dict.fromkeys(["TPPCalculated", "TPPAdjusted", "PayrollClosed",
                     "MKDEligibilityDetermined"], "payroll"),
}


def envelope_of(event_type: str, **overrides: Any) -> dict[str, Any]:
    raw = {"event_id": "6a0f0e2c-7f6a-4a55-9f3a-0c6a4b6e1a11", "type": event_type,
           "schema_version": 1, "source": SOURCE_OF[event_type],
           "stream_id": f"employee:{NIP_A}", "stream_version": 7, "occurred_at": AT,
           "recorded_at": "2026-10-05T07:21:09.412+07:00", "correlation_id": None,
           "causation_id": None, "data": SAMPLE_DATA[event_type]}
    raw.update(overrides)
    return raw


def test_the_samples_cover_every_event_of_the_contract():
    assert set(SAMPLE_DATA) == set(EVENT_DATA) == set(SOURCE_OF)


@pytest.mark.parametrize("event_type", sorted(EVENT_DATA))
def test_every_event_round_trips_through_json(event_type):
    codec = make_codec()
    decoded = codec.decode(json.dumps(envelope_of(event_type)))
    assert type(decoded) is ENVELOPES[event_type]
    again = codec.decode(codec.encode(decoded))
    assert again == decoded
    assert again.data.model_dump(mode="json") == decoded.data.model_dump(mode="json")


def test_a_change_carries_only_the_fields_it_changes_through_a_round_trip():
    codec = make_codec()
    change = codec.decode(json.dumps(envelope_of("EmployeeChanged")))  # unit only
    wire = json.loads(codec.encode(change))
    assert set(wire["data"]) == {"nip", "effective_date", "unit"}
    assert codec.decode(codec.encode(change)).data.changed_fields() == {"unit": "Biro Hukum"}
    to_top = {**envelope_of("EmployeeChanged"), "data": {
        "nip": NIP_A, "effective_date": "2026-10-15", "superior_nip": None}}
    again = codec.decode(codec.encode(codec.decode(json.dumps(to_top))))
    assert again.data.changed_fields() == {"superior_nip": None}  # null: now at the top


@pytest.mark.parametrize("event_type", sorted(EVENT_DATA))
def test_every_event_model_is_frozen(event_type):
    decoded = make_codec().decode(envelope_of(event_type))
    with pytest.raises(ValidationError):
        decoded.stream_version = 99  # type: ignore[misc]


def test_an_unknown_type_is_refused_naming_the_type_field():
    with pytest.raises(ContractError) as err:
        make_codec().decode(envelope_of("CheckedIn", type="CheckedSideways"))
    assert err.value.field == "type"


def test_an_unknown_schema_version_is_refused_naming_schema_version():
    with pytest.raises(ContractError) as err:
        make_codec().decode(envelope_of("CheckedIn", schema_version=9))
    assert err.value.field == "schema_version"


def test_a_missing_data_field_is_refused_naming_it():
    data = {k: v for k, v in SAMPLE_DATA["CheckedIn"].items() if k != "lat"}
    with pytest.raises(ContractError) as err:
        make_codec().decode(envelope_of("CheckedIn", data=data))
    assert err.value.field == "data.lat"


def test_a_wrong_type_is_refused_naming_the_field():
    data = {**SAMPLE_DATA["ActivityApproved"], "approved_minutes": "lots"}
    with pytest.raises(ContractError) as err:
        make_codec().decode(envelope_of("ActivityApproved", data=data))
    assert err.value.field == "data.approved_minutes"


def test_a_missing_envelope_field_is_refused_naming_it():
    raw = envelope_of("HolidayDeclared")
    del raw["occurred_at"]
    with pytest.raises(ContractError) as err:
        make_codec().decode(raw)
    assert err.value.field == "occurred_at"


def test_a_nip_that_is_not_eighteen_digits_is_refused():
    data = {**SAMPLE_DATA["LeaveCancelled"], "nip": "12345"}
    with pytest.raises(ContractError) as err:
        make_codec().decode(envelope_of("LeaveCancelled", data=data))
    assert err.value.field == "data.nip"


@pytest.mark.parametrize("nip", ["\u0661" * 18, "\uff11" * 18, "1" * 17 + "\u0967"])
def test_a_nip_of_digits_of_another_script_is_refused(nip):
    """Arabic-Indic, full-width or Devanagari digits would key a second record of a person."""
    data = {**SAMPLE_DATA["LeaveCancelled"], "nip": nip}
    with pytest.raises(ContractError) as err:
        make_codec().decode(envelope_of("LeaveCancelled", data=data))
    assert err.value.field == "data.nip"


def test_a_period_of_digits_of_another_script_is_refused():
    with pytest.raises(ValidationError):
        cmd.AssignIKP.model_validate({
            "command_id": "00000000-0000-0000-0000-000000000001", "actor_nip": NIP_A,
            "sent_at": AT, "ikp_id": "IKP-1", "assignee_nip": NIP_B,
            "period": "\u0662\u0660\u0662\u0666-10", "title": "Percepatan", "due_date": "2026-10-30"})


def test_an_unknown_extra_field_is_refused():
    data = {**SAMPLE_DATA["HolidayDeclared"], "colour": "red"}
    with pytest.raises(ContractError) as err:
        make_codec().decode(envelope_of("HolidayDeclared", data=data))
    assert err.value.field == "data.colour"


def test_a_line_that_is_not_json_is_refused():
    with pytest.raises(ContractError):
        make_codec().decode(b"{not json")


class HolidayDeclaredV2(Data):
    date: str
    name: str
    kind: Literal["national", "joint_leave"]
    province: str


class HolidayDeclaredV2Envelope(EnvelopeBase):
    type: Literal["HolidayDeclared"]
    data: HolidayDeclaredV2


def upcast_v1_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """v1 holidays were all province-wide: v2 names the province explicitly."""
    return {**raw, "data": {**raw["data"], "province": "Jawa Barat"}}


def test_an_older_version_is_upcast_to_the_current_one():
    registry = Registry()
    registry.register_version("HolidayDeclared", 2, HolidayDeclaredV2Envelope, upcast_v1_v2)
    decoded = make_codec(registry).decode(envelope_of("HolidayDeclared"))
    assert decoded.schema_version == 2
    assert decoded.data.province == "Jawa Barat"
    assert isinstance(make_codec().decode(envelope_of("HolidayDeclared")).data, HolidayDeclared)


def test_a_version_newer_than_the_registry_knows_is_refused():
    registry = Registry()
    registry.register_version("HolidayDeclared", 2, HolidayDeclaredV2Envelope, upcast_v1_v2)
    with pytest.raises(ContractError) as err:
        make_codec(registry).decode(envelope_of("HolidayDeclared", schema_version=3))
    assert err.value.field == "schema_version"


COMMAND_SAMPLES: list[dict[str, Any]] = [
    {"type": "CheckIn", "at": AT, "lat": -6.9, "lon": 107.6, "accuracy_m": 5, "mode": "office",
     "mock_location": False},
    {"type": "CheckOut", "at": AT, "lat": -6.9, "lon": 107.6, "accuracy_m": 5, "mode": "field"},
    {"type": "RecordLeave", "leave_id": "L1", "nip": NIP_A, "kind": "annual",
     "start_date": "2026-10-06", "end_date": "2026-10-06"},
    {"type": "CancelLeave", "leave_id": "L1", "nip": NIP_A},
    {"type": "RecordOfficialTravel", "travel_id": "D1", "nip": NIP_A,
     "start_date": "2026-10-06", "end_date": "2026-10-08"},
    {"type": "LogActivity", "activity_id": "A1", "work_date": "2026-10-05", "task_code": "T1",
     "quantity": 2, "description": "laporan"},
    {"type": "ApproveActivity", "activity_id": "A1", "approved_quantity": 1},
    {"type": "RejectActivity", "activity_id": "A1", "reason": "kurang bukti"},
    {"type": "GiveRating", "ratee_nip": NIP_A, "period": "2026-10", "relation": "peer",
     "scores": SCORES},
    {"type": "AssignIKP", "ikp_id": "I1", "assignee_nip": NIP_A, "period": "2026-10",
     "title": "Rekap", "due_date": "2026-10-20"},
    {"type": "CompleteIKP", "ikp_id": "I1", "completed_at": AT},
    {"type": "DraftSKP", "skp_id": "S1", "year": 2026, "items": [SKP_ITEM]},
    {"type": "ApproveSKP", "skp_id": "S1", "revision": 1},
    {"type": "ReturnSKP", "skp_id": "S1", "revision": 1, "notes": "Target terlalu rendah"},
    {"type": "Evaluate", "nip": NIP_A, "year": 2026, "quarter": None, "result_rating": "above",
     "behaviour_rating": "meets", "override_reason": None},
    {"type": "RequestMKD", "request_id": "R1", "week_start": "2026-11-02",
     "days": ["2026-11-03"]},
    {"type": "DecideMKD", "request_id": "R1", "grant": True, "days": ["2026-11-03"]},
]


@pytest.mark.parametrize("body", COMMAND_SAMPLES, ids=lambda b: b["type"])
def test_every_command_round_trips_through_json(body):
    adapter = cmd.command_adapter()
    wire = {"command_id": "0b6f1f1e-61c4-4b8e-9d1c-8f4f1d2c3b4a", "actor_nip": NIP_A,
            "sent_at": AT, **body}
    command = adapter.validate_json(json.dumps(wire))
    assert type(command).__name__ == body["type"]
    assert adapter.validate_json(adapter.dump_json(command)) == command


def test_a_command_without_its_command_id_is_refused_naming_it():
    with pytest.raises(ValidationError) as err:
        cmd.command_adapter().validate_python(
            {"actor_nip": NIP_A, "sent_at": AT, **COMMAND_SAMPLES[0]})
    assert ("CheckIn", "command_id") in [e["loc"] for e in err.value.errors()]


def test_events_are_keyed_by_the_employee_they_belong_to():
    assert kafka_key("RatingGiven", SAMPLE_DATA["RatingGiven"], "x") == NIP_A
    assert kafka_key("IKPAssigned", SAMPLE_DATA["IKPAssigned"], "x") == NIP_A
    assert kafka_key("CheckedIn", SAMPLE_DATA["CheckedIn"], "x") == NIP_A
    assert kafka_key("OfficeRegistered", SAMPLE_DATA["OfficeRegistered"], "office:GS") == "office:GS"


def test_every_contract_topic_is_known():
    topics = set(all_topics())
    assert {"kinerja.hr", "kinerja.attendance", "kinerja.worklog", "kinerja.appraisal",
            "kinerja.mkd", "kinerja.payroll", "kinerja.commands.attendance"} <= topics


def test_a_v1_activity_logged_is_read_as_v2_serving_no_skp_item():
    envelope = make_codec().decode(envelope_of("ActivityLogged"))
    assert envelope.schema_version == 2
    assert envelope.data.skp_item_id is None
    assert envelope.data.minutes == 120


def test_a_v2_activity_logged_keeps_its_skp_item_and_encodes_as_v2():
    codec = make_codec()
    data = {**SAMPLE_DATA["ActivityLogged"], "skp_item_id": "SKP-1-3"}
    envelope = codec.decode(envelope_of("ActivityLogged", schema_version=2, data=data))
    assert envelope.data.skp_item_id == "SKP-1-3"
    again = json.loads(codec.encode(envelope))
    assert again["schema_version"] == 2 and again["data"]["skp_item_id"] == "SKP-1-3"


def test_an_activity_logged_of_an_unknown_version_is_refused_as_such():
    with pytest.raises(ContractError) as refused:
        make_codec().decode(envelope_of("ActivityLogged", schema_version=3))
    assert refused.value.reason == "unknown_version"


def test_a_v2_activity_logged_must_name_its_skp_item_even_if_null():
    with pytest.raises(ContractError, match="skp_item_id"):
        make_codec().decode(envelope_of("ActivityLogged", schema_version=2))


@given(st.uuids(), st.text(st.characters(codec="utf-8"), max_size=40))
def test_an_outcome_event_id_is_the_uuid5_of_its_command_id_and_type(command_id, name) -> None:
    """The ids two instances derive for one command's outcome agree with RFC 4122's version 5,
    as external clients compute them."""
    assert name_based_id(command_id, name) == uuid.uuid5(command_id, name)
