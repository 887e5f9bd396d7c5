"""SKPs as their facts say: each employee's SKP of a year, its revisions, and which is approved.

Shared by the appraisal service (which decides on SKPs) and the worklog service (which accepts an
activity's `skp_item_id` only for an item of the employee's approved SKP). The fold does not
depend on the order facts arrive in: revisions are kept by number, decisions by the revision they
name, and the approved SKP is the highest-numbered approved revision that is known.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .events import SKPApproved, SKPDrafted, SKPItem, SKPReturned

SKP_TYPES = frozenset({"SKPDrafted", "SKPApproved", "SKPReturned"})
Status = Literal["drafted", "approved", "returned"]


@dataclass(frozen=True)
class Decision:
    """A superior's decision on one revision."""

    approved: bool
    approver_nip: str
    notes: str


@dataclass(frozen=True)
class SKPRecord:
    """One SKP (`skp_id`): its owner and year, its revisions by number, their decisions."""

    skp_id: str
    nip: str
    year: int
    revisions: dict[int, tuple[SKPItem, ...]] = field(default_factory=dict)
    decisions: dict[int, Decision] = field(default_factory=dict)

    @property
    def latest(self) -> int:
        """The highest revision drafted (0 before the first draft is known)."""
        return max(self.revisions, default=0)

    def status(self, revision: int) -> Status:
        decision = self.decisions.get(revision)
        if decision is None:
            return "drafted"
        return "approved" if decision.approved else "returned"

    @property
    def approved_revision(self) -> int | None:
        """The highest-numbered approved revision whose draft is known (None: not approved)."""
        approved = [n for n, d in self.decisions.items() if d.approved and n in self.revisions]
        return max(approved, default=None)

    def approved_items(self) -> tuple[SKPItem, ...]:
        """The items of the approved revision (none before an approval)."""
        revision = self.approved_revision
        return () if revision is None else self.revisions[revision]


def evolve_record(record: SKPRecord | None, data: Any) -> SKPRecord | None:
    """The SKP after one of its facts' `data` (other data changes nothing)."""
    if isinstance(data, SKPDrafted):
        record = record or SKPRecord(data.skp_id, data.nip, data.year)
        return replace(record, year=data.year,
                       revisions={**record.revisions, data.revision: tuple(data.items)})
    if isinstance(data, SKPApproved | SKPReturned):
        record = record or SKPRecord(data.skp_id, data.nip, 0)
        notes = data.notes if isinstance(data, SKPReturned) else ""
        decision = Decision(isinstance(data, SKPApproved), data.approver_nip, notes)
        return replace(record, decisions={**record.decisions, data.revision: decision})
    return record


@dataclass
class SKPBook:
    """Every SKP of the facts added so far, by `skp_id`, and each employee's by year."""

    records: dict[str, SKPRecord] = field(default_factory=dict)
    owners: dict[tuple[str, int], str] = field(default_factory=dict)

    def add(self, facts: Iterable[Any]) -> None:
        """Fold in SKP facts (envelopes); other types are skipped."""
        for fact in facts:
            if fact.type in SKP_TYPES:
                data = fact.data
                updated = evolve_record(self.records.get(data.skp_id), data)
                assert updated is not None
                self.records[data.skp_id] = updated
                if isinstance(data, SKPDrafted):
                    self.owners.setdefault((data.nip, data.year), data.skp_id)

    def of(self, nip: str, year: int) -> SKPRecord | None:
        """`nip`'s SKP of `year` (an employee has one per year)."""
        skp_id = self.owners.get((nip, year))
        return None if skp_id is None else self.records[skp_id]
