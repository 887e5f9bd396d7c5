"""Every event of CONTRACT.md: its `data` model, and the envelope that carries it.

`Event` is the discriminated union (on `type`) of all envelopes; `EVENT_DATA` maps a type name
to its data model. Names are the contract's, never Python module paths.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, Union
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, create_model

from .types import FROZEN_STRICT, NIP, NonEmpty, Period, Ratio6, Rupiah, Score


class Data(BaseModel):
    """Base of every event's `data`: frozen, unknown fields refused."""

    model_config = FROZEN_STRICT


# --- hr -------------------------------------------------------------------------------------
class OfficeRegistered(Data):
    office_id: NonEmpty
    name: str
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: float = Field(gt=0)


class Task(Data):
    task_code: NonEmpty
    name: str
    unit: str
    minutes_per_unit: int = Field(ge=0)


class PositionDefined(Data):
    position_code: NonEmpty
    name: str
    kelas_jabatan: int = Field(ge=1, le=17)
    mobile: bool
    public_service: bool
    tasks: list[Task]


class EmployeeRegistered(Data):
    nip: NIP
    name: str
    position_code: NonEmpty
    unit: str
    office_id: NonEmpty
    superior_nip: NIP | None
    effective_date: date


class EmployeeChanged(Data):
    nip: NIP
    effective_date: date
    position_code: NonEmpty | None = None
    unit: str | None = None
    office_id: NonEmpty | None = None
    superior_nip: NIP | None = None

    def changed_fields(self) -> dict[str, Any]:
        """The attributes this change carries (those explicitly present on the wire)."""
        return {k: getattr(self, k) for k in self.model_fields_set - {"nip", "effective_date"}}


class EmployeeTerminated(Data):
    nip: NIP
    effective_date: date


class HolidayDeclared(Data):
    date: date
    name: str
    kind: Literal["national", "joint_leave"]


# --- attendance -----------------------------------------------------------------------------
Mode = Literal["office", "field", "mkd"]


class _Check(Data):
    nip: NIP
    at: AwareDatetime
    received_at: AwareDatetime
    mode: Mode
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float = Field(ge=0)
    office_id: str | None
    flags: list[str] = []


class CheckedIn(_Check):
    pass


class CheckedOut(_Check):
    pass


class CheckInRejected(Data):
    command_id: UUID
    nip: NIP
    attempted_at: AwareDatetime
    action: Literal["check_in", "check_out"]
    reason: NonEmpty
    retryable: bool


LeaveKind = Literal["annual", "sick", "important", "maternity", "long", "unpaid"]


class LeaveRecorded(Data):
    leave_id: NonEmpty
    nip: NIP
    kind: LeaveKind
    start_date: date
    end_date: date


class LeaveCancelled(Data):
    leave_id: NonEmpty
    nip: NIP


class OfficialTravelRecorded(Data):
    travel_id: NonEmpty
    nip: NIP
    start_date: date
    end_date: date


# --- worklog --------------------------------------------------------------------------------
class ActivityLogged(Data):
    activity_id: NonEmpty
    nip: NIP
    work_date: date
    task_code: NonEmpty
    quantity: int = Field(ge=0)
    minutes: int = Field(ge=0)
    description: str
    evidence_ref: str | None


class ActivityApproved(Data):
    activity_id: NonEmpty
    nip: NIP
    approver_nip: NIP
    approved_minutes: int = Field(ge=0)


class ActivityRejected(Data):
    activity_id: NonEmpty
    nip: NIP
    approver_nip: NIP
    reason: str


# --- appraisal ------------------------------------------------------------------------------
class BerAKHLAKScores(Data):
    berorientasi_pelayanan: Score
    akuntabel: Score
    kompeten: Score
    harmonis: Score
    loyal: Score
    adaptif: Score
    kolaboratif: Score


class RatingGiven(Data):
    rater_nip: NIP
    ratee_nip: NIP
    period: Period
    relation: Literal["superior", "peer", "subordinate"]
    scores: BerAKHLAKScores


class IKPAssigned(Data):
    ikp_id: NonEmpty
    assigner_nip: NIP
    assignee_nip: NIP
    period: Period
    title: str
    due_date: date


class IKPCompleted(Data):
    ikp_id: NonEmpty
    assignee_nip: NIP
    verified_by_nip: NIP
    completed_at: AwareDatetime


# --- mkd ------------------------------------------------------------------------------------
class MKDRequested(Data):
    request_id: NonEmpty
    nip: NIP
    week_start: date
    days: list[date]


class MKDGranted(Data):
    request_id: NonEmpty
    nip: NIP
    approver_nip: NIP
    days: list[date]


class MKDDenied(Data):
    request_id: NonEmpty
    nip: NIP
    reason: str


# --- payroll --------------------------------------------------------------------------------
class TPPCalculated(Data):
    nip: NIP
    period: Period
    rule_set: str
    rule_set_hash: str
    base_rupiah: Rupiah
    productivity_rupiah: Rupiah
    discipline_rupiah: Rupiah
    ikp_rupiah: Rupiah
    total_rupiah: Rupiah
    productivity_ratio: Ratio6
    behaviour_ratio: Ratio6
    discipline_cut: Ratio6
    tk_days: int
    approved_minutes: int
    target_minutes: int
    flags: list[str]


class TPPAdjusted(Data):
    nip: NIP
    period: Period
    paid_in_period: Period
    delta_rupiah: Rupiah
    recomputed_total: Rupiah


class PayrollClosed(Data):
    period: Period
    employees: int
    total_rupiah: Rupiah
    digest: str
    closed_at: AwareDatetime


class MKDEligibilityDetermined(Data):
    nip: NIP
    period: Period
    days_per_week: Literal[0, 1, 3, 4]
    reasons: list[str]


EVENT_DATA: dict[str, type[Data]] = {
    cls.__name__: cls
    for cls in (
        OfficeRegistered, PositionDefined, EmployeeRegistered, EmployeeChanged,
        EmployeeTerminated, HolidayDeclared,
        CheckedIn, CheckedOut, CheckInRejected, LeaveRecorded, LeaveCancelled,
        OfficialTravelRecorded,
        ActivityLogged, ActivityApproved, ActivityRejected,
        RatingGiven, IKPAssigned, IKPCompleted,
        MKDRequested, MKDGranted, MKDDenied,
        TPPCalculated, TPPAdjusted, PayrollClosed, MKDEligibilityDetermined,
    )
}

SOURCES = Literal["hr", "attendance", "worklog", "appraisal", "mkd", "payroll"]


class EnvelopeBase(BaseModel):
    """The envelope fields of CONTRACT.md; subclasses pin `type` and `data`."""

    model_config = FROZEN_STRICT

    event_id: UUID
    type: str
    schema_version: int = Field(default=1, ge=1)
    source: SOURCES
    stream_id: NonEmpty
    stream_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    correlation_id: UUID | None = None
    causation_id: UUID | None = None
    data: Data


def _envelope_model(name: str, data_model: type[Data]) -> type[EnvelopeBase]:
    return create_model(  # type: ignore[call-overload]
        f"{name}Envelope",
        __base__=EnvelopeBase,
        type=(Literal[name], ...),  # type: ignore[valid-type]
        schema_version=(Literal[1], 1),  # contract v1; a v2 model pins its own version
        data=(data_model, ...),
    )


ENVELOPES: dict[str, type[EnvelopeBase]] = {
    name: _envelope_model(name, model) for name, model in EVENT_DATA.items()
}

Event = Annotated[Union[tuple(ENVELOPES.values())], Field(discriminator="type")]  # type: ignore[valid-type]
