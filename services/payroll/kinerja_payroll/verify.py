"""Checking a close against a replay of its facts (RULES.md §9): MATCH, or every difference."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .closing import stream_of
from .digest import digest


@dataclass(frozen=True)
class ClosedRecord:
    """What a close published: its `TPPCalculated` data and `PayrollClosed.digest`."""

    results: list[dict[str, Any]]
    digest: str | None


def read_closed_record(path: Path, period: str) -> ClosedRecord | None:
    """The close of `period` as found in an exported history (None if it holds none)."""
    stream = stream_of(period)
    results, closed_digest, found = [], None, False
    with path.open("rb") as lines:
        for raw in lines:
            if stream.encode() not in raw:
                continue
            envelope = json.loads(raw)
            if envelope.get("stream_id") != stream:
                continue
            found = True
            if envelope["type"] == "TPPCalculated":
                results.append(envelope["data"])
            elif envelope["type"] == "PayrollClosed":
                closed_digest = envelope["data"]["digest"]
    return ClosedRecord(results, closed_digest) if found else None


def differences(closed: Sequence[Mapping[str, Any]], replayed: Sequence[Mapping[str, Any]]
                ) -> list[str]:
    """Every employee and figure where the close and the replay disagree, sorted by nip."""
    before = {r["nip"]: r for r in closed}
    after = {r["nip"]: r for r in replayed}
    found = []
    for nip in sorted(set(before) | set(after)):
        if nip not in after:
            found.append(f"{nip}: in the close, absent from the replay")
        elif nip not in before:
            found.append(f"{nip}: absent from the close, in the replay")
        else:
            found += [f"{nip} {field}: closed {before[nip].get(field)!r}, "
                      f"replayed {after[nip].get(field)!r}"
                      for field in sorted(set(before[nip]) | set(after[nip]))
                      if before[nip].get(field) != after[nip].get(field)]
    return found


def verdict(record: ClosedRecord, replayed: Iterable[Mapping[str, Any]]) -> tuple[bool, list[str]]:
    """(True, [summary]) on a byte-for-byte match; else (False, every difference)."""
    replayed = list(replayed)
    replay_digest = digest(replayed)
    found = differences(record.results, replayed)
    if record.digest is not None and record.digest != digest(record.results):
        found.append(f"the close's digest {record.digest} does not match its own results")
    if found:
        return False, found
    return True, [f"MATCH {len(replayed)} employees, digest {replay_digest}"]
