"""Every event of CONTRACT.md: its `data` model, and the envelope that carries it.

`Event` is the discriminated union (on `type`) of all envelopes; `EVENT_DATA` maps a type name
to its data model. Names are the contract's, never Python module paths.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union
from uuid import UUID

from pydantic import BaseModel, Field, create_model

from .types import (
    FROZEN_STRICT, MAX_ITEMS, NIP, AnyDate, Id, Instant, Items, Minutes, Name, NonEmpty, Period, Ratio6,
    Rupiah, Score, Text, WorkDate, WorkInstant,
)


class Data(BaseModel):
    """Base of every event's `data`: frozen, unknown fields refused."""

    model_config = FROZEN_STRICT


# --- hr -------------------------------------------------------------------------------------
class OfficeRegistered(Data):
    office_id: Id
    name: Name
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: float = Field(gt=0)


class Task(Data):
    task_code: Id
    name: Name
    unit: Name
    minutes_per_unit: Minutes


class PositionDefined(Data):
    position_code: Id
    name: Name
    kelas_jabatan: int = Field(ge=1, le=17)
    mobile: bool
    public_service: bool
    tasks: Items[Task]


class EmployeeRegistered(Data):
    nip: NIP
    name: Name
    position_code: Id
    unit: Name
    office_id: Id
    superior_nip: NIP | None
    effective_date: AnyDate


class EmployeeChanged(Data):
    nip: NIP
    effective_date: AnyDate
    position_code: Id | None = None
    unit: Name | None = None
    office_id: Id | None = None
    superior_nip: NIP | None = None

    def changed_fields(self) -> dict[str, Any]:
        """The attributes this change carries (those explicitly present on the wire)."""
        return {k: getattr(self, k) for k in self.model_fields_set - {"nip", "effective_date"}}


class EmployeeTerminated(Data):
    nip: NIP
    effective_date: AnyDate


class HolidayDeclared(Data):
    date: AnyDate
    name: Name
    kind: Literal["national", "joint_leave"]


# --- attendance -----------------------------------------------------------------------------
Mode = Literal["office", "field", "mkd"]


class _Check(Data):
    nip: NIP
    at: WorkInstant
    received_at: WorkInstant
    mode: Mode
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float = Field(ge=0)
    office_id: Id | None
    flags: Items[Id] = []


class CheckedIn(_Check):
    pass


class CheckedOut(_Check):
    pass


class CheckInRejected(Data):
    command_id: UUID
    nip: NIP
    attempted_at: WorkInstant
    action: Literal["check_in", "check_out"]
    reason: Id
    retryable: bool


LeaveKind = Literal["annual", "sick", "important", "maternity", "long", "unpaid"]


class LeaveRecorded(Data):
    leave_id: Id
    nip: NIP
    kind: LeaveKind
    start_date: WorkDate
    end_date: WorkDate


class LeaveCancelled(Data):
    leave_id: Id
    nip: NIP


class OfficialTravelRecorded(Data):
    travel_id: Id
    nip: NIP
    start_date: WorkDate
    end_date: WorkDate


# --- worklog --------------------------------------------------------------------------------
class ActivityLogged(Data):
    """Schema version 2 (version 1 had no `skp_item_id`; `upcasters` lifts it)."""

    activity_id: Id
    nip: NIP
    work_date: WorkDate
    task_code: Id
    quantity: int = Field(ge=1, le=1000)
    minutes: Minutes
    description: Text
    evidence_ref: Id | None
    skp_item_id: Id | None


class ActivityApproved(Data):
    activity_id: Id
    nip: NIP
    approver_nip: NIP
    approved_minutes: Minutes


class ActivityRejected(Data):
    activity_id: Id
    nip: NIP
    approver_nip: NIP
    reason: Name


class ActivityRefused(Data):
    """A worklog command refused: `nip` is the actor's, `reason` a documented code."""

    command_id: UUID
    nip: NIP
    action: Literal["log", "approve", "reject"]
    activity_id: Id
    reason: Id
    retryable: bool


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
    ikp_id: Id
    assigner_nip: NIP
    assignee_nip: NIP
    period: Period
    title: Name
    due_date: WorkDate


class IKPCompleted(Data):
    ikp_id: Id
    assignee_nip: NIP
    verified_by_nip: NIP
    completed_at: WorkInstant


class AppraisalRefused(Data):
    """An appraisal command refused: `nip` is the actor's, `subject` the ratee's NIP (`rate`),
    the `ikp_id` (`assign_ikp`, `complete_ikp`), the `skp_id` (`draft_skp`, `approve_skp`,
    `return_skp`) or the evaluated employee's NIP (`evaluate`); `reason` a documented code."""

    command_id: UUID
    nip: NIP
    action: Literal["rate", "assign_ikp", "complete_ikp", "draft_skp", "approve_skp",
                    "return_skp", "evaluate"]
    subject: Id
    reason: Id
    retryable: bool


# --- appraisal: SKP and periodic evaluation --------------------------------------------------
Year = Annotated[int, Field(ge=2000, le=2099)]
Quarter = Annotated[int, Field(ge=1, le=4)]
Rating = Literal["above", "meets", "below"]
Predikat = Literal["sangat_baik", "baik", "butuh_perbaikan", "kurang", "sangat_kurang"]


class SKPItem(Data):
    """One target of an SKP: `monthly_targets` (January … December) should sum to
    `target_quantity`, and `supports_item_id` names the item of the direct superior's approved
    SKP it serves (null only for an employee with no superior, who names `unit_goal`)."""

    item_id: Id
    indicator: Name
    target_quantity: int = Field(ge=1)
    unit: Name
    monthly_targets: list[Annotated[int, Field(ge=0)]] = Field(min_length=12, max_length=12)
    supports_item_id: Id | None
    unit_goal: Name | None


class SKPDrafted(Data):
    skp_id: Id
    nip: NIP
    year: Year
    revision: int = Field(ge=1, le=MAX_ITEMS)
    items: Items[SKPItem]


class SKPApproved(Data):
    skp_id: Id
    nip: NIP
    revision: int = Field(ge=1, le=MAX_ITEMS)
    approver_nip: NIP


class SKPReturned(Data):
    skp_id: Id
    nip: NIP
    revision: int = Field(ge=1, le=MAX_ITEMS)
    approver_nip: NIP
    notes: Text


class EvaluationGiven(Data):
    """A periodic evaluation: `quarter` 1–4, or null for the year; the ratings the data proposed,
    the ones the evaluator gave, and `override_reason` (null unless a rating differs)."""

    nip: NIP
    year: Year
    quarter: Quarter | None
    evaluator_nip: NIP
    proposed_result: Rating
    proposed_behaviour: Rating
    result_rating: Rating
    behaviour_rating: Rating
    predikat: Predikat
    override_reason: Name | None


# --- mkd ------------------------------------------------------------------------------------
class MKDRequested(Data):
    request_id: Id
    nip: NIP
    week_start: WorkDate
    days: Items[WorkDate]


class MKDGranted(Data):
    request_id: Id
    nip: NIP
    approver_nip: NIP
    days: Items[WorkDate]


class MKDDenied(Data):
    request_id: Id
    nip: NIP
    reason: Name


class MKDRevoked(Data):
    """Granted days withdrawn (`reason` `quota_lowered`: a new eligibility of the month leaves
    fewer days than were granted in a week; the latest days go first)."""

    request_id: Id
    nip: NIP
    days: Items[WorkDate]
    reason: Id


class MKDRefused(Data):
    """An MKD command refused: `nip` is the actor's, `reason` a documented code."""

    command_id: UUID
    nip: NIP
    action: Literal["request", "decide"]
    request_id: Id
    reason: Id
    retryable: bool


# --- payroll --------------------------------------------------------------------------------
class TPPCalculated(Data):
    nip: NIP
    period: Period
    rule_set: Id
    rule_set_hash: Id
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
    flags: Items[Id]


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
    digest: Id
    closed_at: Instant


class MKDEligibilityDetermined(Data):
    nip: NIP
    period: Period
    days_per_week: Literal[0, 1, 3, 4]
    reasons: Items[Name]


EVENT_DATA: dict[str, type[Data]] = {
    cls.__name__: cls
    for cls in (
        OfficeRegistered, PositionDefined, EmployeeRegistered, EmployeeChanged,
        EmployeeTerminated, HolidayDeclared,
        CheckedIn, CheckedOut, CheckInRejected, LeaveRecorded, LeaveCancelled,
        OfficialTravelRecorded,
        ActivityLogged, ActivityApproved, ActivityRejected, ActivityRefused,
        RatingGiven, IKPAssigned, IKPCompleted, AppraisalRefused,
        SKPDrafted, SKPApproved, SKPReturned, EvaluationGiven,
        MKDRequested, MKDGranted, MKDDenied, MKDRevoked, MKDRefused,
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
    stream_version: int = Field(ge=1, le=2**31 - 1)
    occurred_at: Instant
    recorded_at: Instant
    correlation_id: UUID | None = None
    causation_id: UUID | None = None
    data: Data


SCHEMA_VERSIONS: dict[str, int] = {"ActivityLogged": 2}
"""The current schema version of each type whose version is not 1 (older ones are upcast)."""


def _envelope_model(name: str, data_model: type[Data]) -> type[EnvelopeBase]:
    version = SCHEMA_VERSIONS.get(name, 1)
    return create_model(  # type: ignore[call-overload]
        f"{name}Envelope",
        __base__=EnvelopeBase,
        type=(Literal[name], ...),  # type: ignore[valid-type]
        schema_version=(Literal[version], version),  # type: ignore[valid-type]
        data=(data_model, ...),
    )


ENVELOPES: dict[str, type[EnvelopeBase]] = {
    name: _envelope_model(name, model) for name, model in EVENT_DATA.items()
}

Event = Annotated[Union[tuple(ENVELOPES.values())], Field(discriminator="type")]  # type: ignore[valid-type]
