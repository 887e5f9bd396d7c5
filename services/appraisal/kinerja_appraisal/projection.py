"""The reference data the appraisal service keeps: the HR directory (employees and their
superiors over time, and the holiday calendar of the rating window).

The inbox keeps each `kinerja.hr` fact of the directory's types in `reference_facts`; each batch
reads the facts inserted since the previous batch and adds them to the process's `Directory`
(`DirectoryReference`), so a command is decided on every fact committed before its batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from kinerja_events.codec import Codec
from kinerja_events.hr import HR_TYPES
from kinerja_events.reference import DirectoryReference, keeper

from .model import AppraisalState, with_directory

KEPT_TYPES = HR_TYPES


def keep_reference_fact(codec: Codec) -> Any:
    """The inbox effect keeping the directory's facts."""
    return keeper(KEPT_TYPES, codec)


class AppraisalReference(DirectoryReference[AppraisalState]):
    """The appraisal service's `ReferenceData` for the command pipeline. It also notes the due
    date of each IKP a command is decided on, to count completions on time and late."""

    def __init__(self, codec: Codec):
        super().__init__(codec, with_directory)
        self.due_dates: dict[UUID, date] = {}

    async def read(self, conn: Any, commands: Sequence[Any]) -> AppraisalReference:
        self.due_dates.clear()
        await super().read(conn, commands)
        return self

    def prepare(self, state: AppraisalState, command: Any) -> AppraisalState:
        if state.assignment is not None:
            self.due_dates[command.command_id] = state.assignment.due_date
        return super().prepare(state, command)
