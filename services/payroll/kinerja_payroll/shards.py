"""Offline compute on several cores: the history sharded by NIP across forked processes.

The fold is per employee, so each shard process reads the whole file but validates and keeps
only the lines of the employees it owns (`crc32(NIP) % shards`), plus the lines that name no
employee (positions, holidays, offices), which every shard keeps. A line's employee is found in
its bytes, before any parsing — the first `"nip":"`, `"ratee_nip":"` or `"assignee_nip":"` —
and confirmed on the validated model; a line where the two disagree (a repeated key, say)
cannot be routed by its bytes.

The result must be the one a single process gives, whatever the history. Within a shard the
facts are exact as ever. Across shards, two lines can only interact through an id they share:
an `event_id` repeated with other content, or an activity, leave, travel or IKP id whose lines
name different employees (its latest record decides whose it is). So each shard also returns a
64-bit hash of every such id it keeps from routed lines, and when any hash occurs in two shards
— or a shard fails, or a line could not be routed — the history is computed again in one process
(`offline.compute_file`), which gives the exact result or the exact error. A clean history, the
one the platform exports, never takes that path.
"""

from __future__ import annotations

import gc
import os
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zlib import crc32

from .facts import Facts
from .fold import PayrollResult, compute_period
from .offline import BUFFER, compute_file, decode_slowly, is_blank, validate_json
from .rules import RuleSet

# Where a line names its employee, in the order tried, and the field of the model that must agree.
SUBJECT_KEYS = ((b'"nip"', "nip"), (b'"ratee_nip"', "ratee_nip"),
                (b'"assignee_nip"', "assignee_nip"))
NIP_LENGTH = 18
JSON_SPACE = b" \t\r\n"
MASK = (1 << 64) - 1
# Below this (about 120,000 lines) forking and every shard's pass over the bytes cost what
# sharing the work saves (measured: a 47 MB audit export, 2.1 s on two cores, 1.6 s on one).
SHARD_FROM_BYTES = 64 * 2**20


class Unroutable(Exception):
    """A line whose bytes name another employee than its content does."""


@dataclass
class ShardOutcome:
    """What a shard returns: its employees' results and the hashes of the ids it keeps."""

    results: list[PayrollResult]
    ids: array


def compute_history(path: str | Path, period: str, rules: RuleSet, workers: int = 1
                    ) -> list[PayrollResult]:
    """The results of `period` from the history at `path`, computed in `workers` processes
    (one: `offline.compute_file`, as for a history under `SHARD_FROM_BYTES`); the same
    results, or the same `HistoryError`, either way."""
    if workers > 1 and Path(path).stat().st_size >= SHARD_FROM_BYTES:
        results = compute_sharded(Path(path), period, rules, workers)
        if results is not None:
            return results
    return compute_file(path, period, rules)


def compute_sharded(path: Path, period: str, rules: RuleSet, shards: int
                    ) -> list[PayrollResult] | None:
    """The results from `shards` forked processes; None when they may differ from one
    process's (see the module's docstring), or a shard failed."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    pipes, processes = [], []
    for shard in range(shards):
        receiving, sending = context.Pipe(duplex=False)
        process = context.Process(target=run_shard, name=f"kinerja-shard-{shard}", daemon=True,
                                  args=(sending, path, period, rules, shard, shards))
        process.start()
        sending.close()
        pipes.append(receiving)
        processes.append(process)
    outcomes = [receive_outcome(receiving) for receiving in pipes]
    for process in processes:
        process.join()
    if any(outcome is None for outcome in outcomes) or ids_overlap(
            [outcome.ids for outcome in outcomes]):  # type: ignore[union-attr]
        return None
    results = [r for outcome in outcomes for r in outcome.results]  # type: ignore[union-attr]
    return sorted(results, key=lambda r: r.nip)


def receive_outcome(receiving: Any) -> ShardOutcome | None:
    try:
        return receiving.recv()
    except EOFError:  # the shard died before it could answer
        return None


def ids_overlap(shard_ids: list[array]) -> bool:
    """True when some hash occurs in two shards' ids."""
    seen: set[int] = set()
    for ids in shard_ids:
        if not seen.isdisjoint(ids):
            return True
        seen.update(ids)
    return False


def run_shard(sending: Any, path: Path, period: str, rules: RuleSet, shard: int, shards: int
              ) -> None:
    """A shard process: compute, send the outcome (None on any failure: the parent then
    computes in one process, which reports it exactly), and exit without tearing down the
    millions of objects it built."""
    gc.disable()  # the facts hold no cycles (see offline.gc_paused)
    try:
        outcome: ShardOutcome | None = compute_shard(path, period, rules, shard, shards)
    except Exception:  # noqa: BLE001 — reported exactly by the single-process run
        outcome = None
    sending.send(outcome)
    sending.close()
    os._exit(0)


def compute_shard(path: Path, period: str, rules: RuleSet, shard: int, shards: int
                  ) -> ShardOutcome:
    """The results of the employees `shard` owns, and the hashes of its routed ids."""
    facts = Facts()
    shared = read_shard(path, facts, shard, shards)
    for nip in [n for n in facts.employees if owner(n.encode(), shards) != shard]:
        del facts.employees[nip]  # named only by lines every shard keeps; another shard owns it
    return ShardOutcome(compute_period(facts, period, rules), routed_ids(facts, shared))


def owner(nip: bytes, shards: int) -> int:
    return crc32(nip) % shards


def read_shard(path: Path, facts: Facts, shard: int, shards: int) -> set[int]:
    """Keep the lines `shard` owns and those naming no employee in `facts`; return the
    event ids of the latter (every shard keeps them)."""
    from pydantic import ValidationError

    add, validate, shared = facts.add_envelope, validate_json(), set()
    with path.open("rb", buffering=BUFFER) as stream:
        for number, raw in enumerate(stream, 1):  # hot: 10⁶ times and more, so inlined
            at = raw.find(b'"nip":"')  # most lines, written compactly as the platform does
            if at >= 0:
                subject, field = raw[at + 7:at + 7 + NIP_LENGTH], "nip"
            else:
                subject, field = subject_of(raw)
            if subject is not None and crc32(subject) % shards != shard:
                continue
            try:
                envelope = validate(raw)
            except ValidationError:
                if is_blank(raw):
                    continue
                envelope = decode_slowly(raw, number)
            if subject is None:
                shared.add(envelope.event_id.int)
            elif getattr(envelope.data, field, None) != subject.decode():  # type: ignore[arg-type]
                raise Unroutable(f"line {number}")
            add(envelope, hash(raw))  # ConflictingEvent: the single process reports it
    return shared


def subject_of(raw: bytes) -> tuple[bytes | None, str | None]:
    """The NIP a line's bytes name as its employee, and the field; (None, None) if none."""
    for key, field in SUBJECT_KEYS:
        at = raw.find(key)
        if at >= 0:
            rest = raw[at + len(key):at + len(key) + 32].lstrip(JSON_SPACE)
            if rest[:1] != b":":
                return None, None
            rest = rest[1:].lstrip(JSON_SPACE)
            if rest[:1] != b'"':
                return None, None
            return rest[1:1 + NIP_LENGTH], field
    return None, None


def routed_ids(facts: Facts, shared: set[int]) -> array:
    """64-bit hashes of the event ids and entity ids kept from routed lines; entity ids hashed
    with their kind, so that a leave and a travel of one id do not collide."""
    ids = array("Q", (event & MASK for event in facts.seen if event not in shared))
    for kind, tables in (("activity", (facts.activities,)),
                         ("leave", (facts.leaves, facts.cancelled_leaves)),
                         ("travel", (facts.travels,)),
                         ("ikp", (facts.ikps, facts.ikp_completions))):
        ids.extend(hash((kind, ident)) & MASK for table in tables for ident in table)
    return ids
