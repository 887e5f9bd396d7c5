"""`ActivityLogged` v2 and its upcaster: history written as v1 still folds, to the same rupiah."""

from __future__ import annotations

import json
from pathlib import Path

from history import NIP_A, worked_example
from kinerja_payroll.offline import compute_file
from kinerja_payroll.rules import load_default_rules


def as_v2(envelope: dict) -> dict:
    if envelope["type"] != "ActivityLogged":
        return envelope
    return {**envelope, "schema_version": 2, "data": {**envelope["data"], "skp_item_id": None}}


def write(path: Path, envelopes: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in envelopes))
    return path


def test_a_v1_history_and_its_v2_twin_fold_to_the_same_rupiah(tmp_path: Path) -> None:
    v1 = worked_example().events
    assert any(e["type"] == "ActivityLogged" and e["schema_version"] == 1 for e in v1)
    rules = load_default_rules()
    from_v1 = compute_file(write(tmp_path / "v1.jsonl", v1), "2026-10", rules)
    from_v2 = compute_file(write(tmp_path / "v2.jsonl", [as_v2(e) for e in v1]), "2026-10", rules)
    assert [r.tpp for r in from_v1] == [r.tpp for r in from_v2]
    [worker] = [r for r in from_v1 if r.nip == NIP_A]
    assert worker.tpp["approved_minutes"] > 0 and worker.tpp["total_rupiah"] > 0
