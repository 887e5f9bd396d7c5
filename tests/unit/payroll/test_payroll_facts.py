"""Facts: a set keyed by event_id, built incrementally from dicts or models."""

import copy

import pytest
from history import NIP_A, worked_example

from kinerja_events.codec import ContractError, make_codec
from kinerja_payroll.facts import ConflictingEvent, Facts, build_facts
from kinerja_payroll.fold import compute_period
from kinerja_payroll.rules import load_default_rules


def test_adding_the_same_event_twice_is_a_no_op():
    events = worked_example().events
    facts = Facts()
    assert all(facts.add(e) for e in events)
    assert not any(facts.add(e) for e in events)
    assert len(facts.seen) == len(events)


def test_models_and_dicts_give_the_same_facts():
    events = worked_example().events
    codec = make_codec()
    rules = load_default_rules()
    from_models = compute_period(build_facts(codec.decode(e) for e in events), "2026-10", rules)
    from_dicts = compute_period(build_facts(events), "2026-10", rules)
    assert [r.tpp for r in from_models] == [r.tpp for r in from_dicts]


def test_a_repeated_event_id_with_other_content_raises():
    events = worked_example().events
    facts = build_facts(events)
    changed = copy.deepcopy(events[-1])
    changed["data"]["relation"] = "peer"
    with pytest.raises(ConflictingEvent) as err:
        facts.add(changed)
    assert err.value.event_id == events[-1]["event_id"]


def test_a_contract_violation_raises_the_codec_error():
    bad = copy.deepcopy(worked_example().events[5])
    bad["data"]["nip"] = "x"
    with pytest.raises(ContractError) as err:
        Facts().add(bad)
    assert err.value.field == "data.nip"


def test_ignored_event_types_are_remembered_only_for_deduplication():
    h = worked_example()
    h.emit("CheckInRejected", {"command_id": "5eed0000-0000-0000-0000-0000000000aa", "nip": NIP_A,
                               "attempted_at": "2026-10-05T07:00:00+07:00", "action": "check_in",
                               "reason": "outside_geofence", "retryable": False},
           source="attendance", stream_id=f"employee:{NIP_A}")
    facts = build_facts(h.events)
    assert len(facts.seen) == len(h.events)
    assert compute_period(facts, "2026-10", load_default_rules())[1].tpp["total_rupiah"] == 4_340_455
