"""The reference data the worklog service keeps: the HR directory (employees, their superiors
and positions, each position's task list).

The inbox keeps each `kinerja.hr` fact of the directory's types in `reference_facts`; each batch
reads the facts inserted since the previous batch (one query, usually empty) and adds them to
the process's `Directory`, so a command is decided on every fact committed before its batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from kinerja_events.codec import Codec
from kinerja_events.events import EnvelopeBase
from kinerja_events.hr import HR_TYPES, Directory
from kinerja_events.reference import NewFacts, keeper

from .model import ActivityState, with_directory

KEPT_TYPES = HR_TYPES


def keep_reference_fact(codec: Codec) -> Any:
    """The inbox effect keeping the directory's facts."""
    return keeper(KEPT_TYPES, codec)


class WorklogReference:
    """The worklog service's `ReferenceData` for the command pipeline."""

    def __init__(self, codec: Codec):
        self.directory = Directory()
        self.new_facts = NewFacts(codec)
        self.logged_at: dict[UUID, datetime] = {}

    async def read(self, conn: Any, commands: Sequence[Any]) -> BatchReference:
        self.directory.add(await self.new_facts.read_new(conn))
        self.logged_at.clear()
        return BatchReference(self.directory, self.logged_at)


class BatchReference:
    """The directory as one batch reads it (the pipeline's `BatchReference`). It notes when
    each decided activity was logged, for the approval-lag metric."""

    def __init__(self, directory: Directory, logged_at: dict[UUID, datetime]):
        self.directory = directory
        self.logged_at = logged_at

    def prepare(self, state: ActivityState, command: Any) -> ActivityState:
        if state.logged is not None:
            self.logged_at[command.command_id] = state.logged.stamp[0]
        return with_directory(state, self.directory)

    def record(self, events: Sequence[EnvelopeBase]) -> None:
        """Nothing: an activity's events stay in its own stream."""

    async def write(self, conn: Any, events: Sequence[EnvelopeBase]) -> None:
        """Nothing: the events and outbox rows the pipeline writes are all there is."""
