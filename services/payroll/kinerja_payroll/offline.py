"""Offline compute: an exported history (JSONL, any order) to results, with no server.

The hot path parses and validates each line once, in pydantic-core (`validate_json` on the
contract's `Event` union — the same models the codec validates against), then records the
facts. Only a line that fails that fast path goes through `Codec.decode`, which upcasts older
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

    return TypeAdapter(Event)


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
        pass
    from kinerja_events.codec import ContractError

    try:
        return _codec().decode(raw)
    except ContractError as exc:
        raise HistoryError(number, f"contract violation at {exc.field}: {exc.message}") from None


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, 1):
            raw = raw.strip()
            if raw:
                yield number, raw


@contextmanager
def _gc_paused() -> Iterator[None]:
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
    from pydantic import ValidationError

    path = Path(path)
    facts = Facts() if facts is None else facts
    add, validate = facts.add, _event_adapter().validate_json
    with _gc_paused():
        for number, raw in _lines(path):
            try:
                envelope = validate(raw)
            except ValidationError:
                envelope = decode_line(raw, number)
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
    facts = read_history(path)
    with _gc_paused():
        return compute_period(facts, period, rules)
