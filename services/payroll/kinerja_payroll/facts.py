"""The facts payroll needs, taken from envelopes and kept as a *set*.

`Facts.add` takes one envelope (a contract model, or a dict that the codec validates) and
records what payroll uses from it. Every "later wins" choice of RULES.md is kept as a running
maximum of the order key `(occurred_at as an instant, event_id)` — an event_id's lowercase
canonical string orders exactly as its 128-bit integer, which is what is stored — and every
"any of" as a union or a minimum, so the facts are the same whatever the arrival order, and a
repeated `event_id` is recorded once. A repeated `event_id` whose content differs raises
`ConflictingEvent`: the history is invalid.

Event types payroll does not use (CheckInRejected, OfficeRegistered, MKD*, payroll's own) are
only remembered by `event_id`, for the duplicate check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kinerja_events.types import WIB

Key = tuple[datetime, int]
"""Order key of a fact: (occurred_at, event_id as its 128-bit integer)."""


class ConflictingEvent(ValueError):
    """Two deliveries of one `event_id` carry different content."""

    def __init__(self, event_id: str):
        super().__init__(f"event_id {event_id} was delivered twice with different content")
        self.event_id = event_id


@dataclass(frozen=True)
class Version:
    """An `EmployeeRegistered` (all fields) or `EmployeeChanged` (the fields it carries)."""

    effective_date: date
    occurred_at: datetime
    event_int: int
    fields: tuple[tuple[str, Any], ...]
    registration: bool


@dataclass
class EmployeeFacts:
    """One NIP's own facts: HR history and raw check-ins / check-outs (instants in WIB)."""

    nip: str
    versions: list[Version] = field(default_factory=list)
    registered_from: date | None = None
    terminated_from: date | None = None
    check_ins: list[datetime] = field(default_factory=list)
    check_outs: list[datetime] = field(default_factory=list)


class Facts:
    """The set of facts payroll folds. Build with `build_facts` or `add` one envelope at a time.

    Resolved-by-id tables hold, per id, the tuple of the latest event (its `Key` first):
    - `positions`: code -> (key, kelas_jabatan, public_service, name)
    - `leaves`: leave_id -> (key, nip, kind, start_date, end_date); `cancelled_leaves`: ids
    - `travels`: travel_id -> (key, nip, start_date, end_date)
    - `activities`: activity_id -> [logged, decision], a two-slot list where
      `logged` = (key, nip, work_date, task_code, minutes) of the latest `ActivityLogged` and
      `decision` = (key, approved_minutes or None for a rejection, approver_nip) of the latest
      decision, each None until one arrives. One table for both (rather than two) saves the
      fold a second lookup per activity — a province-scale history is mostly activities and
      their decisions — at a few MiB more per million events than two tables.
    - `ratings`: (rater, ratee, period) -> (key, relation, sum of the seven scores)
    - `ikps`: ikp_id -> (key, assignee_nip, period, due_date, title)
    - `ikp_completions`: ikp_id -> earliest completed_at
    - `holidays`: date -> (key, name, kind)
    """

    def __init__(self) -> None:
        self.seen: dict[int, int] = {}
        self.employees: dict[str, EmployeeFacts] = {}
        self.positions: dict[str, tuple] = {}
        self.holidays: dict[date, tuple] = {}
        self.leaves: dict[str, tuple] = {}
        self.cancelled_leaves: set[str] = set()
        self.travels: dict[str, tuple] = {}
        self.activities: dict[str, list[tuple | None]] = {}
        self.ratings: dict[tuple[str, str, str], tuple] = {}
        self.ikps: dict[str, tuple] = {}
        self.ikp_completions: dict[str, datetime] = {}
        self._codec: Any = None

    def add(self, envelope: Any, fingerprint: int | None = None) -> bool:
        """Record one envelope; False if its `event_id` was already recorded (a no-op).

        `envelope` is a contract envelope model or a dict (validated by the codec, which raises
        `ContractError`). `fingerprint` identifies the content for the duplicate check (the
        offline reader passes a hash of the raw line); by default it is computed from the model.
        Raises `ConflictingEvent` when the `event_id` was seen with another fingerprint.
        """
        if isinstance(envelope, dict):
            envelope = self._decode(envelope)
        if fingerprint is None:
            fingerprint = hash(envelope.model_dump_json())
        return self.add_envelope(envelope, fingerprint)

    def add_envelope(self, envelope: Any, fingerprint: int) -> bool:
        """`add` for a validated envelope model and its fingerprint (the offline hot path)."""
        event_int = envelope.event_id.int
        seen = self.seen
        size = len(seen)
        # One hash-table probe for both "seen before?" and "remember it" (a million of them).
        known = seen.setdefault(event_int, fingerprint)
        if len(seen) == size:
            if known != fingerprint:
                raise ConflictingEvent(str(envelope.event_id))
            return False
        handler = _HANDLERS.get(envelope.type)
        if handler is not None:
            try:
                handler(self, envelope.data, (envelope.occurred_at, event_int))
            except BaseException:
                del seen[event_int]  # not recorded after all
                raise
        return True

    def add_stored(self, text: str, event_type: str) -> Any:
        """Record a fact stored as JSON text by its type (`decode_stored`); return its
        envelope. The store holds an event id once, so the text's hash serves as its
        fingerprint."""
        envelope = self.decode_stored(text, event_type)
        self.add_envelope(envelope, hash(text))
        return envelope

    def decode_stored(self, text: str, event_type: str) -> Any:
        """The envelope of a fact stored as JSON text, validated straight from the text
        (`Codec.decode_held`); not recorded."""
        return self.codec().decode_held(text, event_type)

    def employee(self, nip: str) -> EmployeeFacts:
        """The facts of `nip` (created empty on first use)."""
        emp = self.employees.get(nip)
        if emp is None:
            emp = self.employees[nip] = EmployeeFacts(nip)
        return emp

    def _decode(self, raw: dict[str, Any]) -> Any:
        return self.codec().decode(raw)

    def codec(self) -> Any:
        """The contract codec facts are validated with (made on first use)."""
        if self._codec is None:
            from kinerja_events.codec import make_codec

            self._codec = make_codec()
        return self._codec


def build_facts(envelopes: Iterable[Any]) -> Facts:
    """The facts of every envelope (models or dicts), in any order, duplicates allowed."""
    facts = Facts()
    for envelope in envelopes:
        facts.add(envelope)
    return facts


def subjects(facts: Facts, envelope: Any) -> set[str] | None:
    """The employees whose results recording `envelope` into `facts` may change — asked
    before it is recorded, so that an id taken over from another employee (a leave, a travel,
    an activity or an IKP recorded again for someone else) names both; None when it may change
    everyone's (a position or a holiday). An employee's result depends only on the facts
    naming them, the positions and the holidays (see `fold.compute_period`)."""
    kind = envelope.type
    if kind not in _HANDLERS:
        return set()
    named = _SUBJECTS.get(kind)
    if named is None:
        return None
    return {nip for nip in named(facts, envelope.data) if nip is not None}


def _holder(row: tuple | None) -> str | None:
    """The NIP a resolved leave, travel, activity or IKP row belongs to, if it is known."""
    return row[1] if row is not None else None


def _logged_nip(facts: Facts, activity_id: str) -> str | None:
    slots = facts.activities.get(activity_id)
    return _holder(slots[0]) if slots is not None else None


_SUBJECTS: dict[str, Any] = {
    "EmployeeRegistered": lambda f, d: (d.nip,),
    "EmployeeChanged": lambda f, d: (d.nip,),
    "EmployeeTerminated": lambda f, d: (d.nip,),
    "CheckedIn": lambda f, d: (d.nip,),
    "CheckedOut": lambda f, d: (d.nip,),
    "LeaveRecorded": lambda f, d: (d.nip, _holder(f.leaves.get(d.leave_id))),
    "LeaveCancelled": lambda f, d: (_holder(f.leaves.get(d.leave_id)),),
    "OfficialTravelRecorded": lambda f, d: (d.nip, _holder(f.travels.get(d.travel_id))),
    "ActivityLogged": lambda f, d: (d.nip, _logged_nip(f, d.activity_id)),
    "ActivityApproved": lambda f, d: (_logged_nip(f, d.activity_id),),
    "ActivityRejected": lambda f, d: (_logged_nip(f, d.activity_id),),
    "RatingGiven": lambda f, d: (d.ratee_nip,),
    "IKPAssigned": lambda f, d: (d.assignee_nip, _holder(f.ikps.get(d.ikp_id))),
    "IKPCompleted": lambda f, d: (_holder(f.ikps.get(d.ikp_id)),),
}


def _keep_latest(table: dict, ident: Any, row: tuple) -> None:
    current = table.get(ident)
    if current is None or row[0] > current[0]:
        table[ident] = row


# --- handlers: (facts, data, key) -> None ---------------------------------------------------
def _position_defined(facts: Facts, d: Any, key: Key) -> None:
    _keep_latest(facts.positions, d.position_code, (key, d.kelas_jabatan, d.public_service, d.name))


def _holiday_declared(facts: Facts, d: Any, key: Key) -> None:
    _keep_latest(facts.holidays, d.date, (key, d.name, d.kind))


def _employee_registered(facts: Facts, d: Any, key: Key) -> None:
    emp = facts.employee(d.nip)
    fields = (("position_code", d.position_code), ("unit", d.unit), ("office_id", d.office_id),
              ("superior_nip", d.superior_nip), ("name", d.name))
    emp.versions.append(Version(d.effective_date, key[0], key[1], fields, True))
    if emp.registered_from is None or d.effective_date < emp.registered_from:
        emp.registered_from = d.effective_date


def _employee_changed(facts: Facts, d: Any, key: Key) -> None:
    fields = tuple(sorted(d.changed_fields().items()))
    facts.employee(d.nip).versions.append(Version(d.effective_date, key[0], key[1], fields, False))


def _employee_terminated(facts: Facts, d: Any, key: Key) -> None:
    emp = facts.employee(d.nip)
    if emp.terminated_from is None or d.effective_date < emp.terminated_from:
        emp.terminated_from = d.effective_date


def _checked_in(facts: Facts, d: Any, key: Key) -> None:
    emp = facts.employees.get(d.nip) or facts.employee(d.nip)
    emp.check_ins.append(d.at.astimezone(WIB))


def _checked_out(facts: Facts, d: Any, key: Key) -> None:
    emp = facts.employees.get(d.nip) or facts.employee(d.nip)
    emp.check_outs.append(d.at.astimezone(WIB))


def _leave_recorded(facts: Facts, d: Any, key: Key) -> None:
    _keep_latest(facts.leaves, d.leave_id, (key, d.nip, d.kind, d.start_date, d.end_date))


def _leave_cancelled(facts: Facts, d: Any, key: Key) -> None:
    facts.cancelled_leaves.add(d.leave_id)


def _travel_recorded(facts: Facts, d: Any, key: Key) -> None:
    _keep_latest(facts.travels, d.travel_id, (key, d.nip, d.start_date, d.end_date))


def _activity_slots(facts: Facts, activity_id: str) -> list[tuple | None]:
    slots = facts.activities.get(activity_id)
    if slots is None:
        slots = facts.activities[activity_id] = [None, None]
    return slots


def _activity_logged(facts: Facts, d: Any, key: Key) -> None:
    slots = _activity_slots(facts, d.activity_id)
    current = slots[0]
    if current is None or key > current[0]:
        slots[0] = (key, d.nip, d.work_date, d.task_code, d.minutes)


def _activity_decided(facts: Facts, activity_id: str, row: tuple) -> None:
    slots = _activity_slots(facts, activity_id)
    current = slots[1]
    if current is None or row[0] > current[0]:
        slots[1] = row


def _activity_approved(facts: Facts, d: Any, key: Key) -> None:
    _activity_decided(facts, d.activity_id, (key, d.approved_minutes, d.approver_nip))


def _activity_rejected(facts: Facts, d: Any, key: Key) -> None:
    _activity_decided(facts, d.activity_id, (key, None, d.approver_nip))


def _rating_given(facts: Facts, d: Any, key: Key) -> None:
    s = d.scores
    total = (s.berorientasi_pelayanan + s.akuntabel + s.kompeten + s.harmonis + s.loyal
             + s.adaptif + s.kolaboratif)
    _keep_latest(facts.ratings, (d.rater_nip, d.ratee_nip, d.period), (key, d.relation, total))


def _ikp_assigned(facts: Facts, d: Any, key: Key) -> None:
    _keep_latest(facts.ikps, d.ikp_id, (key, d.assignee_nip, d.period, d.due_date, d.title))


def _ikp_completed(facts: Facts, d: Any, key: Key) -> None:
    current = facts.ikp_completions.get(d.ikp_id)
    if current is None or d.completed_at < current:
        facts.ikp_completions[d.ikp_id] = d.completed_at


_HANDLERS = {
    "PositionDefined": _position_defined,
    "HolidayDeclared": _holiday_declared,
    "EmployeeRegistered": _employee_registered,
    "EmployeeChanged": _employee_changed,
    "EmployeeTerminated": _employee_terminated,
    "CheckedIn": _checked_in,
    "CheckedOut": _checked_out,
    "LeaveRecorded": _leave_recorded,
    "LeaveCancelled": _leave_cancelled,
    "OfficialTravelRecorded": _travel_recorded,
    "ActivityLogged": _activity_logged,
    "ActivityApproved": _activity_approved,
    "ActivityRejected": _activity_rejected,
    "RatingGiven": _rating_given,
    "IKPAssigned": _ikp_assigned,
    "IKPCompleted": _ikp_completed,
}
