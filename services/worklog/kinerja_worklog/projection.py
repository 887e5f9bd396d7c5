"""The reference data the worklog service keeps: the HR directory (employees, their superiors
and positions, each position's task list).

The inbox keeps each `kinerja.hr` fact of the directory's types in `reference_facts`; each batch
reads the facts inserted since the previous batch and adds them to the process's `Directory`
(`DirectoryReference`), so a command is decided on every fact committed before its batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from kinerja_events.codec import Codec
from kinerja_events.hr import HR_TYPES
from kinerja_events.reference import DirectoryReference, keeper

from .model import ActivityState, with_directory

KEPT_TYPES = HR_TYPES


def keep_reference_fact(codec: Codec) -> Any:
    """The inbox effect keeping the directory's facts."""
    return keeper(KEPT_TYPES, codec)


class WorklogReference(DirectoryReference[ActivityState]):
    """The worklog service's `ReferenceData` for the command pipeline. It also notes when each
    decided activity was logged, for the approval-lag metric."""

    def __init__(self, codec: Codec):
        super().__init__(codec, with_directory)
        self.logged_at: dict[UUID, datetime] = {}

    async def read(self, conn: Any, commands: Sequence[Any]) -> WorklogReference:
        self.logged_at.clear()
        await super().read(conn, commands)
        return self

    def prepare(self, state: ActivityState, command: Any) -> ActivityState:
        if state.logged is not None:
            self.logged_at[command.command_id] = state.logged.stamp[0]
        return super().prepare(state, command)
