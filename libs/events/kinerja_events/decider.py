"""The Decider (Chassaing): pure `decide(command, state) -> events` and `evolve(state, event)`.

Time and identity enter through the command. A refusal is an explicit rejection event, never a
silent empty list. `is_terminal(state)` says the stream accepts nothing more (e.g. a closed month).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Generic, Protocol, TypeVar

C = TypeVar("C", contravariant=True)
E = TypeVar("E")
S = TypeVar("S")


class Decider(Protocol, Generic[C, E, S]):
    def initial_state(self) -> S: ...

    def decide(self, command: C, state: S) -> Sequence[E]: ...

    def evolve(self, state: S, event: E) -> S: ...

    def is_terminal(self, state: S) -> bool: ...


def fold_state(decider: Decider[C, E, S], events: Iterable[E]) -> S:
    """The state after `events`, from the decider's initial state."""
    state = decider.initial_state()
    for event in events:
        state = decider.evolve(state, event)
    return state
