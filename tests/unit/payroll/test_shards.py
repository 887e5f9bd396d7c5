"""Offline compute sharded by NIP across processes gives what one process gives — the same
results, or the same error — on clean histories and on histories built to cross the shards."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from random_history import NIPS, random_history

from kinerja_payroll.offline import HistoryError, compute_file
from kinerja_payroll.rules import load_default_rules
from kinerja_payroll import shards
from kinerja_payroll.shards import compute_history, compute_sharded, owner

RULES = load_default_rules()
PERIOD = "2026-10"


@pytest.fixture(autouse=True)
def shard_small_histories(monkeypatch: pytest.MonkeyPatch) -> None:
    """These histories are small: `compute_history` shards them all the same."""
    monkeypatch.setattr(shards, "SHARD_FROM_BYTES", 0)


def compact(envelope: dict[str, Any]) -> str:
    return json.dumps(envelope, separators=(",", ":"))


def spaced(envelope: dict[str, Any]) -> str:
    return json.dumps(envelope)


def write(path: Path, envelopes: list[dict[str, Any]], style=compact) -> Path:
    path.write_text("".join(style(e) + "\n" for e in envelopes))
    return path


def paid(results: list[Any]) -> list[tuple]:
    return [(r.nip, r.tpp, r.mkd_days_per_week, r.mkd_reasons) for r in results]


def in_other_shards(shards: int) -> tuple[str, str]:
    """Two of the random history's NIPs that different shards own."""
    first = NIPS[0]
    other = next(n for n in NIPS if owner(n.encode(), shards) != owner(first.encode(), shards))
    return first, other


def test_the_random_historys_employees_fall_in_every_shard() -> None:
    for shards in (2, 3):
        assert {owner(n.encode(), shards) for n in NIPS} == set(range(shards))


@settings(max_examples=12, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), shuffle_seed=st.integers(0, 2**32 - 1),
       shards=st.sampled_from([2, 3]), spacing=st.booleans())
def test_a_clean_history_sharded_pays_what_one_process_pays(
        tmp_path: Path, seed: int, shuffle_seed: int, shards: int, spacing: bool) -> None:
    events = random_history(seed).events
    rng = random.Random(shuffle_seed)
    events = events + [e for e in events if rng.random() < 0.2]  # exact duplicates
    rng.shuffle(events)
    path = write(tmp_path / f"h-{seed}-{shards}.jsonl", events, spaced if spacing else compact)
    sharded = compute_sharded(path, PERIOD, RULES, shards)
    assert sharded is not None  # a clean history never falls back to one process
    assert paid(sharded) == paid(compute_file(path, PERIOD, RULES))


def test_an_activity_whose_lines_name_employees_of_two_shards_is_paid_as_one_process_pays(
        tmp_path: Path) -> None:
    history = random_history(11)
    mine, theirs = in_other_shards(2)
    history.activity(mine, "act-crossing", "2026-10-05", minutes=240)
    history.approve(theirs, "act-crossing", 240)  # the decision names another employee
    path = write(tmp_path / "crossing.jsonl", history.events)
    assert compute_sharded(path, PERIOD, RULES, 2) is None
    single = paid(compute_file(path, PERIOD, RULES))
    assert paid(compute_history(path, PERIOD, RULES, workers=2)) == single


def test_a_leave_recorded_for_one_employee_then_another_is_paid_as_one_process_pays(
        tmp_path: Path) -> None:
    history = random_history(12)
    mine, theirs = in_other_shards(2)
    history.leave(mine, "CUTI-7", "2026-10-12", "2026-10-16")
    history.leave(theirs, "CUTI-7", "2026-10-12", "2026-10-16")  # later: moves the leave
    path = write(tmp_path / "leave.jsonl", history.events)
    assert compute_sharded(path, PERIOD, RULES, 2) is None
    assert paid(compute_history(path, PERIOD, RULES, 2)) == paid(
        compute_file(path, PERIOD, RULES))


def test_an_event_id_repeated_with_another_employee_is_the_same_error_as_in_one_process(
        tmp_path: Path) -> None:
    history = random_history(13)
    mine, theirs = in_other_shards(2)
    first = history.check_in(mine, "2026-10-06 07:10:00")
    history.check_in(theirs, "2026-10-06 07:12:00", event_id=first["event_id"])
    path = write(tmp_path / "repeated.jsonl", history.events)
    with pytest.raises(HistoryError) as single:
        compute_file(path, PERIOD, RULES)
    with pytest.raises(HistoryError) as sharded:
        compute_history(path, PERIOD, RULES, workers=2)
    assert str(sharded.value) == str(single.value)


def test_a_line_whose_bytes_name_another_employee_than_its_content_is_computed_whole(
        tmp_path: Path) -> None:
    history = random_history(14)
    mine, theirs = in_other_shards(2)
    twisted = compact(history.check_in(theirs, "2026-10-07 07:05:00"))
    # A repeated key: the bytes first name `mine`; the content (the last value) is `theirs`.
    twisted = twisted.replace('"data":{', f'"data":{{"nip":"{mine}",', 1)
    path = tmp_path / "twisted.jsonl"
    path.write_text("".join(compact(e) + "\n" for e in history.events[:-1]) + twisted + "\n")
    assert compute_sharded(path, PERIOD, RULES, 2) is None
    assert paid(compute_history(path, PERIOD, RULES, 2)) == paid(
        compute_file(path, PERIOD, RULES))


def test_a_line_that_breaks_the_contract_is_the_same_error_sharded(tmp_path: Path) -> None:
    history = random_history(15)
    lines = [compact(e) for e in history.events]
    lines.insert(len(lines) // 2, lines[3].replace('"schema_version":1', '"schema_version":"x"'))
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(HistoryError) as single:
        compute_file(path, PERIOD, RULES)
    with pytest.raises(HistoryError) as sharded:
        compute_history(path, PERIOD, RULES, workers=3)
    assert str(sharded.value) == str(single.value)
