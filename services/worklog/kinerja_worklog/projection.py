"""The reference data the worklog service keeps: the HR directory (employees, their superiors
and positions, each position's task list) and the SKPs (which items of an employee's SKP are
approved, for an activity's `skp_item_id`).

The inbox keeps each `kinerja.hr` fact of the directory's types and each SKP fact of
`kinerja.appraisal` in `reference_facts`; each batch reads the facts inserted since the previous
batch and adds them to the process's `Directory` and `SKPBook` (`WorklogReference`), so a command
is decided on every fact committed before its batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kinerja_events.codec import Codec
from kinerja_events.events import EnvelopeBase
from kinerja_events.hr import HR_TYPES, Directory
from kinerja_events.reference import DirectoryReference, keeper
from kinerja_events.skp import SKP_TYPES, SKPBook

from .model import ActivityState, with_reference

KEPT_TYPES = HR_TYPES | SKP_TYPES


def keep_reference_fact(codec: Codec) -> Any:
    """The inbox effect keeping the directory's and the SKPs' facts."""
    return keeper(KEPT_TYPES, codec)


class WorklogReference(DirectoryReference[ActivityState]):
    """The directory, and the SKPs folded from the same kept facts."""

    def __init__(self, codec: Codec):
        super().__init__(codec, self.attach_reference)
        self.skps = SKPBook()

    def add(self, facts: Sequence[EnvelopeBase]) -> None:
        super().add(facts)
        self.skps.add(facts)

    def attach_reference(self, state: ActivityState, directory: Directory) -> ActivityState:
        return with_reference(state, directory, self.skps)


def make_reference(codec: Codec) -> WorklogReference:
    """The worklog service's `ReferenceData` for the command pipeline."""
    return WorklogReference(codec)
