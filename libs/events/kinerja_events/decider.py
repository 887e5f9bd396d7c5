"""The Decider (Chassaing): pure `decide(command, state) -> events` and `evolve(state, event)`.

Time and identity enter through the command: the pipeline hands a decider `Received(command,
received_at)`, where `received_at` is the Kafka record's timestamp. A refusal is an explicit
rejection event where the contract has one; where it has none (e.g. attendance's HR commands) it is
a `Rejection`, stored as the command's outcome — never a silent empty list. `is_terminal(state)`
says the stream accepts nothing more (e.g. a closed month).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

C = TypeVar("C")
E = TypeVar("E")
S = TypeVar("S")
Cc = TypeVar("Cc", contravariant=True)


@dataclass(frozen=True)
class Received(Generic[C]):
    """A command as the service received it: `received_at` is its Kafka record's timestamp."""

    command: C
    received_at: datetime


@dataclass(frozen=True)
class Reason:
    """A documented reason code of a service: its wire string, a one-line description, and
    whether a retry may help (the cause may be reference data not received yet)."""

    code: str
    description: str
    retryable: bool


@dataclass(frozen=True)
class Rejection:
    """A refusal that has no event of its own in the contract: stored as the command's outcome
    (`reason` is a documented code; `retryable` where reference data may still arrive)."""

    reason: str
    retryable: bool = False
    detail: str = ""


class Decider(Protocol, Generic[Cc, E, S]):
    def initial_state(self) -> S: ...

    def decide(self, command: Cc, state: S) -> Sequence[E] | Rejection: ...

    def evolve(self, state: S, event: E) -> S: ...

    def is_terminal(self, state: S) -> bool: ...


@dataclass(frozen=True)
class StreamDecider(Generic[C, E, S]):
    """A `Decider` made of a service's plain functions: `decide(command, received_at, state)`,
    its initial state and `evolve`; its streams are never closed."""

    decide_at: Callable[[C, datetime, S], list[E]]
    initial: Callable[[], S]
    evolve_with: Callable[[S, E], S]

    def initial_state(self) -> S:
        return self.initial()

    def decide(self, command: Received[C], state: S) -> list[E]:
        return self.decide_at(command.command, command.received_at, state)

    def evolve(self, state: S, event: E) -> S:
        return self.evolve_with(state, event)

    def is_terminal(self, state: S) -> bool:
        return False


def fold_state(decider: Decider[Cc, E, S], events: Iterable[E], state: S | None = None) -> S:
    """The state after `events`, from `state` (the decider's initial state by default)."""
    current = decider.initial_state() if state is None else state
    for event in events:
        current = decider.evolve(current, event)
    return current
