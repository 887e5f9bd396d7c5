"""Offline compute: an exported history (JSONL, any order) to results, with no server.

The hot path parses and validates each line once, in pydantic-core (`validate_json` on the
contract's `Event` union — the same models the codec validates against), then records the
facts. (Measured and rejected: validating per type after peeking at `"type"` is slower than
the union, whose discriminator lookup is already a dict lookup inside pydantic-core.) Only a line that fails that fast path goes through `Codec.decode`, which upcasts older
schema versions and names the offending field. A repeated `event_id` whose line bytes differ is
compared by content (both lines decoded); different content makes the history invalid.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .facts import ConflictingEvent, Facts
from .fold import PayrollResult, compute_period
from .rules import RuleSet


class HistoryError(ValueError):
    """A line of a history that cannot be used; `line` is its 1-based number."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@functools.cache
def _event_adapter() -> Any:
    from pydantic import TypeAdapter

    from kinerja_events.events import Event

    # Default string cache kept on purpose: `cache_strings="keys"` measured no faster here and
    # costs ~130 MiB more, since cached values (nips, codes) are shared by the facts.
    return TypeAdapter(Event)


@functools.cache
def validate_json() -> Any:
    """`validate_json` of the core validator itself (the TypeAdapter wrapper costs ~0.3 µs a line)."""
    return _event_adapter().validator.validate_json


@functools.cache
def _codec() -> Any:
    from kinerja_events.codec import make_codec

    return make_codec()


def decode_line(raw: bytes, number: int) -> Any:
    """The envelope model of one history line; raises `HistoryError` naming the line."""
    from pydantic import ValidationError

    try:
        return _event_adapter().validate_json(raw)
    except ValidationError:
        return decode_slowly(raw, number)


def decode_slowly(raw: bytes, number: int) -> Any:
    """`decode_line` for a line the fast path refused: an older `schema_version` (upcast), or a
    contract violation named field by field."""
    from kinerja_events.codec import ContractError

    try:
        return _codec().decode(raw)
    except ContractError as exc:
        raise HistoryError(number, f"contract violation at {exc.field}: {exc.message}") from None


BUFFER = 1 << 20  # bytes read at a time


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Every line with its 1-based number, as read (newline included; blank lines too).

    Not stripped: JSON allows the surrounding whitespace, and copying each line to strip it
    is measurable. Blank lines are rare, so the reader only looks for them when a line fails
    validation (`is_blank`).
    """
    with path.open("rb", buffering=BUFFER) as stream:
        yield from enumerate(stream, 1)


def is_blank(raw: bytes) -> bool:
    return not raw or raw.isspace()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector while a million long-lived, acyclic facts are built.

    Each generation-2 pass walks every object kept so far, so collecting during the load
    costs time quadratic in the history; the facts hold no cycles to collect.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_history(path: str | Path, facts: Facts | None = None) -> Facts:
    """The facts of every line of the history at `path` (raises `HistoryError`)."""
    with gc_paused():
        return _read(Path(path), Facts() if facts is None else facts)


def _read(path: Path, facts: Facts) -> Facts:
    """`read_history` without pausing the collector (the caller does)."""
    from pydantic import ValidationError

    add, validate = facts.add_envelope, validate_json()
    with path.open("rb", buffering=BUFFER) as stream:
        for number, raw in enumerate(stream, 1):  # `_lines`, inlined: this loop runs 10⁶ times
            try:
                envelope = validate(raw)
            except ValidationError:
                if is_blank(raw):  # whitespace-only lines are skipped (fold.py reading 14)
                    continue
                envelope = decode_slowly(raw, number)
            # The fingerprint hashes the line as read: two copies that differ only in spacing
            # or line ending get different fingerprints and are then compared by content.
            try:
                add(envelope, hash(raw))
            except ConflictingEvent as exc:
                _check_duplicate(path, envelope, number, exc)
    return facts


def _check_duplicate(path: Path, envelope: Any, number: int, exc: ConflictingEvent) -> None:
    """Accept a repeated event_id written differently but with equal content; else raise."""
    for other_number, raw in _lines(path):
        if other_number >= number:
            break
        if is_blank(raw):
            continue
        other = decode_line(raw, other_number)
        if other.event_id == envelope.event_id:
            if other == envelope:
                return
            raise HistoryError(
                number, f"event_id {exc.event_id} repeats line {other_number} with different content"
            ) from None
    raise HistoryError(number, str(exc)) from None


def compute_file(path: str | Path, period: str, rules: RuleSet) -> list[PayrollResult]:
    """`kinerja payroll compute`: the results of `period` from the history at `path`."""
    with gc_paused():
        return _compute(Path(path), period, rules)


def _compute(path: Path, period: str, rules: RuleSet) -> list[PayrollResult]:
    # A function of its own so that the facts are freed (by reference counting) before the
    # collector is re-enabled: otherwise its first pass would walk millions of live objects.
    return compute_period(_read(path, Facts()), period, rules)
