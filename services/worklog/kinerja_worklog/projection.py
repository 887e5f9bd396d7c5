"""The reference data the worklog service keeps: the HR directory (employees, their superiors
and positions, each position's task list).

The inbox keeps each `kinerja.hr` fact of the directory's types in `reference_facts`; each batch
reads the facts inserted since the previous batch and adds them to the process's `Directory`
(`DirectoryReference`), so a command is decided on every fact committed before its batch.
"""

from __future__ import annotations

from typing import Any

from kinerja_events.codec import Codec
from kinerja_events.hr import HR_TYPES
from kinerja_events.reference import DirectoryReference, keeper

from .model import ActivityState, with_directory

KEPT_TYPES = HR_TYPES


def keep_reference_fact(codec: Codec) -> Any:
    """The inbox effect keeping the directory's facts."""
    return keeper(KEPT_TYPES, codec)


def make_reference(codec: Codec) -> DirectoryReference[ActivityState]:
    """The worklog service's `ReferenceData` for the command pipeline."""
    return DirectoryReference(codec, with_directory)
