"""Every command of CONTRACT.md, as sent by the mobile gateway on `kinerja.commands.<service>`.

Wire shape (JSON object): `type`, `command_id`, `actor_nip`, `sent_at`, then the command's own
fields. The signature travels in the Kafka header `x-kinerja-signature` (see `signing`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, Union
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter

from .events import BerAKHLAKScores, LeaveKind, Mode
from .types import FROZEN_STRICT, NIP, NonEmpty, Period


class Command(BaseModel):
    """Fields every command carries."""

    model_config = FROZEN_STRICT

    command_id: UUID
    actor_nip: NIP
    sent_at: AwareDatetime


# --- attendance -----------------------------------------------------------------------------
class _Check(Command):
    at: AwareDatetime
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float = Field(ge=0)
    mode: Mode
    mock_location: bool = False


class CheckIn(_Check):
    type: Literal["CheckIn"] = "CheckIn"


class CheckOut(_Check):
    type: Literal["CheckOut"] = "CheckOut"


class RecordLeave(Command):
    type: Literal["RecordLeave"] = "RecordLeave"
    leave_id: NonEmpty
    nip: NIP
    kind: LeaveKind
    start_date: date
    end_date: date


class CancelLeave(Command):
    type: Literal["CancelLeave"] = "CancelLeave"
    leave_id: NonEmpty
    nip: NIP


class RecordOfficialTravel(Command):
    type: Literal["RecordOfficialTravel"] = "RecordOfficialTravel"
    travel_id: NonEmpty
    nip: NIP
    start_date: date
    end_date: date


# --- worklog --------------------------------------------------------------------------------
class LogActivity(Command):
    type: Literal["LogActivity"] = "LogActivity"
    activity_id: NonEmpty
    work_date: date
    task_code: NonEmpty
    quantity: int = Field(ge=1)
    description: str
    evidence_ref: str | None = None


class ApproveActivity(Command):
    type: Literal["ApproveActivity"] = "ApproveActivity"
    activity_id: NonEmpty
    approved_quantity: int = Field(ge=0)


class RejectActivity(Command):
    type: Literal["RejectActivity"] = "RejectActivity"
    activity_id: NonEmpty
    reason: NonEmpty


# --- appraisal ------------------------------------------------------------------------------
class GiveRating(Command):
    type: Literal["GiveRating"] = "GiveRating"
    ratee_nip: NIP
    period: Period
    relation: Literal["superior", "peer", "subordinate"]
    scores: BerAKHLAKScores


class AssignIKP(Command):
    type: Literal["AssignIKP"] = "AssignIKP"
    ikp_id: NonEmpty
    assignee_nip: NIP
    period: Period
    title: NonEmpty
    due_date: date


class CompleteIKP(Command):
    type: Literal["CompleteIKP"] = "CompleteIKP"
    ikp_id: NonEmpty
    completed_at: AwareDatetime


# --- mkd ------------------------------------------------------------------------------------
class RequestMKD(Command):
    type: Literal["RequestMKD"] = "RequestMKD"
    request_id: NonEmpty
    week_start: date
    days: list[date] = Field(min_length=1)


class DecideMKD(Command):
    type: Literal["DecideMKD"] = "DecideMKD"
    request_id: NonEmpty
    grant: bool
    days: list[date] = []
    reason: str = ""


AttendanceCommand = Annotated[
    Union[CheckIn, CheckOut, RecordLeave, CancelLeave, RecordOfficialTravel],
    Field(discriminator="type"),
]
WorklogCommand = Annotated[
    Union[LogActivity, ApproveActivity, RejectActivity], Field(discriminator="type")
]
AppraisalCommand = Annotated[
    Union[GiveRating, AssignIKP, CompleteIKP], Field(discriminator="type")
]
MKDCommand = Annotated[Union[RequestMKD, DecideMKD], Field(discriminator="type")]
AnyCommand = Annotated[
    Union[
        CheckIn, CheckOut, RecordLeave, CancelLeave, RecordOfficialTravel,
        LogActivity, ApproveActivity, RejectActivity,
        GiveRating, AssignIKP, CompleteIKP,
        RequestMKD, DecideMKD,
    ],
    Field(discriminator="type"),
]


def command_adapter() -> TypeAdapter[AnyCommand]:
    """A validator for any command (built on call, not at import)."""
    return TypeAdapter(AnyCommand)
