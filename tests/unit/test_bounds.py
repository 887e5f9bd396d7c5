"""The contract's bounds (CONTRACT.md "Bounds"): every message and every model refuses what breaks
them with a reason of a fixed list, and never with another kind of error."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from kinerja_events import commands as cmd
from kinerja_events import events as ev
from kinerja_events.codec import (
    MAX_MESSAGE_BYTES, REFUSAL_REASONS, ContractError, check_values, load_object,
)
from kinerja_events.pipeline import Refused, record_time
from kinerja_events.types import WIB


@pytest.mark.parametrize("body,reason", [
    (b"", "empty"),
    (None, "empty"),
    (b" " * (MAX_MESSAGE_BYTES + 1), "too_large"),
    (b"\xff\xfe{}", "not_utf8"),
    (b"{not json", "not_json"),
    (b'{"a": NaN}', "not_json"),
    (b"[1, 2]", "not_object"),
    (b"null", "not_object"),
    (b"[" * 100_000, "too_deep"),
    (b'{"a": ' + b"[" * 8 + b"]" * 8 + b"}", "too_deep"),
    (b'{"a": ' + b"9" * 5000 + b"}", "integer_out_of_range"),
    (b'{"a": 9223372036854775808}', "integer_out_of_range"),
    (b'{"a": "x\\u0000y"}', "nul_character"),
    (b'{"a\\u0000": 1}', "nul_character"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_message_breaking_a_bound_is_refused_with_its_reason(body, reason) -> None:
    with pytest.raises(ContractError) as refused:
        load_object(body)
    assert refused.value.reason == reason


def test_a_message_at_the_bounds_is_accepted() -> None:
    eight_deep = b'{"a": ' + b"[" * 7 + b"]" * 7 + b"}"
    assert load_object(eight_deep) == {"a": [[[[[[[]]]]]]]}
    assert load_object(b'{"a": -9223372036854775808}') == {"a": -(2 ** 63)}
    padded = b'{"a": "' + b"x" * (MAX_MESSAGE_BYTES - 9) + b'"}'
    assert len(padded) == MAX_MESSAGE_BYTES and load_object(padded)["a"]


_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(min_value=-(2 ** 63) - 2, max_value=2 ** 63 + 1)
    | st.sampled_from([2 ** 63 - 1, 2 ** 63, -(2 ** 63), -(2 ** 63) - 1])
    | st.text(alphabet="ab\\u0", max_size=8) | st.just("a\x00"),
    lambda inner: (st.lists(inner, max_size=3)
                   | st.dictionaries(st.text(alphabet="ab", max_size=2) | st.just("\x00"), inner,
                                     max_size=3)
                   | st.tuples(st.integers(1, 9), inner).map(lambda n: _nested(n[1], n[0]))),
    max_leaves=20)


def _nested(value, levels: int):
    for _ in range(levels):
        value = [value]
    return value


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.text(alphabet="ab", max_size=3), _VALUES, max_size=4))
def test_a_message_is_refused_for_the_bound_a_walk_over_every_value_finds(message) -> None:
    """`load_object` skips the walk over every value when the text shows no escaped U+0000 and
    a quick look finds containers and integers in bounds: never with another verdict."""
    body = json.dumps(message).encode()
    try:
        check_values(json.loads(body))
        walked = None
    except ContractError as exc:
        walked = exc.reason
    try:
        load_object(body)
        loaded = None
    except ContractError as exc:
        loaded = exc.reason
    assert loaded == walked


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600) | st.text(max_size=300).map(str.encode))
def test_no_byte_sequence_raises_anything_but_a_contract_error(body: bytes) -> None:
    try:
        load_object(body)
    except ContractError as exc:
        assert exc.reason in REFUSAL_REASONS


def leave(**fields):
    values = dict(leave_id="L-1", nip="199001012020121001", kind="annual",
                  start_date=date(2026, 10, 5), end_date=date(2026, 10, 6))
    return ev.LeaveRecorded(**{**values, **fields})


@pytest.mark.parametrize("fields", [
    {"leave_id": "x\x00y"},
    {"leave_id": "x" * 101},
    {"leave_id": ""},
    {"start_date": date(1999, 12, 31)},
    {"end_date": date(2100, 1, 1)},
], ids=["nul", "id too long", "empty id", "before 2000", "after 2099"])
def test_a_fact_of_work_outside_the_bounds_cannot_be_built(fields) -> None:
    with pytest.raises(ValidationError):
        leave(**fields)


def test_reference_data_may_reach_back_to_1950_but_not_further() -> None:
    def registered(effective: date) -> ev.EmployeeRegistered:
        return ev.EmployeeRegistered(nip="195001011970031001", name="Pensiunan",
                                     position_code="P", unit="U", office_id="O",
                                     superior_nip=None, effective_date=effective)

    assert registered(date(1950, 1, 1)).effective_date == date(1950, 1, 1)
    with pytest.raises(ValidationError):
        registered(date(1949, 12, 31))


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
                                "2099-12-31T17:00:00Z"])
def test_a_check_in_time_outside_the_calendar_is_refused(at) -> None:
    # 2099-12-31T17:00Z is 2100-01-01 in WIB: outside.
    raw = {"type": "CheckIn", "command_id": str(uuid4()), "actor_nip": "199001012020121001",
           "sent_at": "2026-10-05T07:00:00+07:00", "at": at, "lat": 0, "lon": 0,
           "accuracy_m": 1, "mode": "office"}
    with pytest.raises(ValidationError):
        TypeAdapter(cmd.AttendanceCommand).validate_python(raw)


def test_lists_names_and_descriptions_have_their_limits() -> None:
    task = ev.Task(task_code="T", name="n" * 500, unit="u", minutes_per_unit=10)
    with pytest.raises(ValidationError):
        ev.PositionDefined(position_code="P", name="p", kelas_jabatan=5, mobile=False,
                           public_service=False, tasks=[task] * 1001)
    with pytest.raises(ValidationError):
        ev.Task(task_code="T", name="n" * 501, unit="u", minutes_per_unit=10)
    with pytest.raises(ValidationError):
        cmd.LogActivity(command_id=uuid4(), actor_nip="199001012020121001",
                        sent_at=datetime(2026, 10, 5, tzinfo=WIB), activity_id="A",
                        work_date=date(2026, 10, 5), task_code="T", quantity=1001,
                        description="d")
    with pytest.raises(ValidationError):
        ev.ActivityApproved(activity_id="A", nip="199001012020121001",
                            approver_nip="198001012010011001", approved_minutes=1441)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_no_float_of_the_contract_is_nan_or_infinite(value) -> None:
    with pytest.raises(ValidationError):
        ev.OfficeRegistered(office_id="O", name="o", lat=0, lon=0, radius_m=value)


@dataclass
class Record:
    timestamp: object


@pytest.mark.parametrize("timestamp", [None, -1, 0, 946_684_800_000 - 25_200_001,
                                       4_102_444_800_000, 10 ** 20])
def test_a_record_timestamp_outside_the_calendar_is_refused(timestamp) -> None:
    with pytest.raises(Refused) as refused:
        record_time(Record(timestamp))
    assert refused.value.reason == "bad_timestamp"


def test_the_time_received_is_the_record_timestamp_in_wib() -> None:
    moment = datetime(2026, 10, 5, 7, 21, 9, 412000, tzinfo=WIB)
    assert record_time(Record(int(moment.timestamp() * 1000))) == moment

