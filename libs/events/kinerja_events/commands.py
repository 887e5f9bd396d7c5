"""Every command of CONTRACT.md, as sent by the mobile gateway on `kinerja.commands.<service>`.

Wire shape (JSON object): `type`, `command_id`, `actor_nip`, `sent_at`, then the command's own
fields. The signature travels in the Kafka header `x-kinerja-signature` (see `signing`).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union
from uuid import UUID

from pydantic import BaseModel, Field, TypeAdapter

from .events import BerAKHLAKScores, LeaveKind, Mode, Quarter, Rating, SKPItem, Year
from .types import (
    FROZEN_STRICT, MAX_ITEMS, MAX_QUANTITY, NIP, Id, Instant, Items, Name, NonEmpty, Period, Text,
    WorkDate, WorkInstant,
)


class Command(BaseModel):
    """Fields every command carries."""

    model_config = FROZEN_STRICT

    command_id: UUID
    actor_nip: NIP
    sent_at: Instant


# --- attendance -----------------------------------------------------------------------------
class _Check(Command):
    at: WorkInstant
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
    leave_id: Id
    nip: NIP
    kind: LeaveKind
    start_date: WorkDate
    end_date: WorkDate


class CancelLeave(Command):
    type: Literal["CancelLeave"] = "CancelLeave"
    leave_id: Id
    nip: NIP


class RecordOfficialTravel(Command):
    type: Literal["RecordOfficialTravel"] = "RecordOfficialTravel"
    travel_id: Id
    nip: NIP
    start_date: WorkDate
    end_date: WorkDate


# --- worklog --------------------------------------------------------------------------------
class LogActivity(Command):
    type: Literal["LogActivity"] = "LogActivity"
    activity_id: Id
    work_date: WorkDate
    task_code: Id
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    description: Text
    evidence_ref: Id | None = None
    skp_item_id: Id | None = None


class ApproveActivity(Command):
    type: Literal["ApproveActivity"] = "ApproveActivity"
    activity_id: Id
    approved_quantity: int = Field(ge=0, le=MAX_QUANTITY)


class RejectActivity(Command):
    type: Literal["RejectActivity"] = "RejectActivity"
    activity_id: Id
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
    ikp_id: Id
    assignee_nip: NIP
    period: Period
    title: NonEmpty
    due_date: WorkDate


class CompleteIKP(Command):
    type: Literal["CompleteIKP"] = "CompleteIKP"
    ikp_id: Id
    completed_at: WorkInstant


# --- appraisal: SKP and periodic evaluation --------------------------------------------------
class DraftSKP(Command):
    type: Literal["DraftSKP"] = "DraftSKP"
    skp_id: Id
    year: Year
    items: Items[SKPItem]


class ApproveSKP(Command):
    type: Literal["ApproveSKP"] = "ApproveSKP"
    skp_id: Id
    revision: int = Field(ge=1, le=MAX_ITEMS)


class ReturnSKP(Command):
    type: Literal["ReturnSKP"] = "ReturnSKP"
    skp_id: Id
    revision: int = Field(ge=1, le=MAX_ITEMS)
    notes: Text


class Evaluate(Command):
    type: Literal["Evaluate"] = "Evaluate"
    nip: NIP
    year: Year
    quarter: Quarter | None
    result_rating: Rating
    behaviour_rating: Rating
    override_reason: Name | None = None


# --- mkd ------------------------------------------------------------------------------------
class RequestMKD(Command):
    type: Literal["RequestMKD"] = "RequestMKD"
    request_id: Id
    week_start: WorkDate
    days: Items[WorkDate] = Field(min_length=1)


class DecideMKD(Command):
    type: Literal["DecideMKD"] = "DecideMKD"
    request_id: Id
    grant: bool
    days: Items[WorkDate] = []
    reason: Name = ""


AttendanceCommand = Annotated[
    Union[CheckIn, CheckOut, RecordLeave, CancelLeave, RecordOfficialTravel],
    Field(discriminator="type"),
]
WorklogCommand = Annotated[
    Union[LogActivity, ApproveActivity, RejectActivity], Field(discriminator="type")
]
AppraisalCommand = Annotated[
    Union[GiveRating, AssignIKP, CompleteIKP, DraftSKP, ApproveSKP, ReturnSKP, Evaluate],
    Field(discriminator="type"),
]
MKDCommand = Annotated[Union[RequestMKD, DecideMKD], Field(discriminator="type")]
AnyCommand = Annotated[
    Union[
        CheckIn, CheckOut, RecordLeave, CancelLeave, RecordOfficialTravel,
        LogActivity, ApproveActivity, RejectActivity,
        GiveRating, AssignIKP, CompleteIKP, DraftSKP, ApproveSKP, ReturnSKP, Evaluate,
        RequestMKD, DecideMKD,
    ],
    Field(discriminator="type"),
]


def command_adapter() -> TypeAdapter[AnyCommand]:
    """A validator for any command (built on call, not at import)."""
    return TypeAdapter(AnyCommand)
