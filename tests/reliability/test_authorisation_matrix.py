"""Who may send what: every command type of every service, against every kind of actor.

One small organisation (each variant a copy of it with one fact more):

    HEAD ─┬─ BOSS ──────┬─ CLERK ─── JUNIOR        (Biro Umum)
          │             ├─ PEER
          │             └─ GONE      terminated 2026-10-01
          └─ OTHER_BOSS ─── FAR                     (Biro Keuangan: a stranger)
    UNKNOWN: an 18-digit NIP HR never registered; OFFICER: the HR side's officer (not an employee)

    variant `vacant`: BOSS terminated effective 2026-10-21 (today): the clerk's superior's post
    is vacant; variant `leave`: BOSS on leave 2026-10-21..23 (a `LeaveRecorded`).

Every command is about the clerk (their check-out day, leave, activity, rating, IKP, MKD request,
SKP, evaluation), received on Wednesday 2026-10-21 at 10:00 WIB (its record timestamp), and sent
by a role:

| role | actor | variant |
|---|---|---|
| self | CLERK | base |
| superior | BOSS, the clerk's direct superior | base |
| next_up_superior_vacant | HEAD, with BOSS's post vacant | vacant |
| superior_terminated | BOSS, terminated (today) | vacant |
| next_up_superior_on_leave | HEAD, with BOSS on leave | leave |
| next_up_superior_present | HEAD, with BOSS present | base |
| assigner | BOSS, who assigned the IKP (CompleteIKP only) | base |
| peer, subordinate, stranger | PEER, JUNIOR, FAR | base |
| unknown_nip, terminated | UNKNOWN, GONE | base |
| hr | OFFICER, signing with the HR side's key | base |

Everyone but `hr` signs with the gateway's key (the only key a phone has). The expected outcome
of each (command type, role) is in `EXPECTED`: the accepted event's type, or the exact refusal
code — a decider's reason code, or the pipeline's `bad_signature`. The whole matrix runs on the
pure path a command takes (`CommandPipeline.check` — JSON, type, signature, contract — then the
service's decider on the state and reference data its stream would have, built from the
organisation's facts as the unit tests build them); a few rows per service run through the
broker against the running service (one organisation per row, published as HR facts) and must
give the same answers.

What the code and docs/reasons.md say, encoded as is (see the report):
- CheckIn/CheckOut, LogActivity and RequestMKD name no other employee: they are always the
  actor's own (the event's `nip` is the actor's). Anyone employed may check in, log or request
  for themselves; nobody can for someone else — a superior's check-out is their own (and they
  have no check-in), another's log of the clerk's activity id is `activity_of_other_employee`.
- Attendance's HR commands are authorised by the HR key alone: the decider never looks at
  `actor_nip`; any gateway-signed one is `bad_signature`.
- A leave of the superior changes nobody's rights (no decider reads leaves for authority).
- A vacant post passes the decision up for worklog's approvals, MKD decisions, SKP approvals and
  returns, and evaluations (`Directory.approver_of`); ratings and IKP completions have no vacancy
  rule (a rating is a person's own view; an IKP is completed by the leader who gave it).
- An SKP is its owner's: only the clerk drafts a revision of the clerk's SKP (anyone else's
  draft of its `skp_id` is `skp_of_other_employee`). Approving, returning and evaluating look
  at the actor only as the approver or not: a terminated or unknown actor is
  `not_the_approver` / `not_the_evaluator` (an evaluation refuses an unregistered evaluator
  first, as `unknown_employee`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel

from kinerja_appraisal import decider as appraisal_decider
from kinerja_appraisal import handlers as appraisal_handlers
from kinerja_appraisal import model as appraisal_model
from kinerja_appraisal.bootstrap import AppraisalConfig
from kinerja_appraisal.bootstrap import build_service as build_appraisal
from kinerja_appraisal.model import SKPContext
from kinerja_appraisal.projection import SKP_COMMANDS
from kinerja_attendance import handlers as attendance_handlers
from kinerja_attendance.bootstrap import AttendanceConfig
from kinerja_attendance.bootstrap import build_service as build_attendance
from kinerja_attendance.decider import AttendanceDecider
from kinerja_attendance.handlers import Keys
from kinerja_events import commands as cmd
from kinerja_events import events as ev
from kinerja_events import topics
from kinerja_events.codec import make_codec
from kinerja_events.envelope import new_event
from kinerja_events.hr import Directory
from kinerja_events.observability import make_registry
from kinerja_events.pipeline import REFUSAL_TYPES, CommandPipeline, Refused
from kinerja_events.publishing import command_body, envelope_of, publish_envelopes, timestamp_ms
from kinerja_events.resilience import Health
from kinerja_events.signing import SIGNATURE_HEADER, sign
from kinerja_events.skp import SKPBook
from kinerja_events.types import WIB
from kinerja_mkd import handlers as mkd_handlers
from kinerja_mkd import model as mkd_model
from kinerja_mkd.bootstrap import MKDConfig
from kinerja_mkd.bootstrap import build_service as build_mkd
from kinerja_mkd.decider import make_decider as make_mkd_decider
from kinerja_mkd.projection import BatchWeeks
from kinerja_worklog import decider as worklog_decider
from kinerja_worklog import handlers as worklog_handlers
from kinerja_worklog import model as worklog_model
from kinerja_worklog.bootstrap import WorklogConfig
from kinerja_worklog.bootstrap import build_service as build_worklog
from org import held, running_all

pytestmark = pytest.mark.integration

GATEWAY_KEY = b"matrix-gateway-key"
HR_KEY = b"matrix-hr-key"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "reasons.md"
codec = make_codec()

NOW = datetime(2026, 10, 21, 10, 0, tzinfo=WIB)  # a Wednesday, in October's rating window
TODAY = NOW.date()
EARLY = NOW.replace(hour=7, minute=30)
YESTERDAY = NOW - timedelta(days=1)
LONG_AGO = NOW - timedelta(days=30)
MONDAY, TUESDAY = date(2026, 10, 26), date(2026, 10, 27)  # next week's
PERIOD = "2026-10"
YEAR, QUARTER = 2026, 3  # the SKPs' year; the last quarter ended (July–September)
OFFICE = ev.OfficeRegistered(office_id="GS", name="Gedung Sate", lat=-6.902481, lon=107.61881,
                             radius_m=200)
POSITION = ev.PositionDefined(position_code="STAFF", name="Analis", kelas_jabatan=7,
                              mobile=False, public_service=False,
                              tasks=[ev.Task(task_code="LAP", name="Menyusun laporan",
                                             unit="laporan", minutes_per_unit=60)])
SCORES = ev.BerAKHLAKScores(berorientasi_pelayanan=4, akuntabel=4, kompeten=4, harmonis=4,
                            loyal=4, adaptif=4, kolaboratif=4)


def skp_item(item_id: str, supports: str | None = None, goal: str | None = None) -> ev.SKPItem:
    """An SKP item of a report a month (serving `supports`, or, at the top, a unit goal)."""
    return ev.SKPItem(item_id=item_id, indicator="Laporan kegiatan", target_quantity=12,
                      unit="laporan", monthly_targets=[1] * 12, supports_item_id=supports,
                      unit_goal=goal)


# --- the organisation --------------------------------------------------------------------------
ROLES: dict[str, tuple[str, str]] = {
    "self": ("clerk", "base"),
    "superior": ("boss", "base"),
    "next_up_superior_vacant": ("head", "vacant"),
    "superior_terminated": ("boss", "vacant"),
    "next_up_superior_on_leave": ("head", "leave"),
    "next_up_superior_present": ("head", "base"),
    "assigner": ("boss", "base"),
    "peer": ("peer", "base"),
    "subordinate": ("junior", "base"),
    "stranger": ("far", "base"),
    "unknown_nip": ("unknown", "base"),
    "terminated": ("gone", "base"),
    "hr": ("officer", "base"),
}
"""Each role: which member of the organisation acts, in which variant of it."""
IKP_ONLY_ROLES = {"assigner"}


def fresh_nip() -> str:
    return "19" + "".join(random.choices("0123456789", k=16))


@dataclass(frozen=True)
class Org:
    variant: str = "base"
    head: str = "196001012000011001"
    boss: str = "197001012000011002"
    other_boss: str = "197101012000011005"
    clerk: str = "199001012020121003"
    peer: str = "199201012020121004"
    junior: str = "199501012020121007"
    far: str = "199301012020121006"
    gone: str = "199401012020121008"
    unknown: str = "199901012020121999"
    officer: str = "198001012005011009"

    @classmethod
    def fresh(cls, variant: str) -> Org:
        """An organisation of NIPs no other has (for the running services)."""
        return cls(variant, **{name: fresh_nip() for name in (
            "head", "boss", "other_boss", "clerk", "peer", "junior", "far", "gone", "unknown",
            "officer")})

    def actor(self, role: str) -> str:
        return getattr(self, ROLES[role][0])  # type: ignore[no-any-return]

    def employees(self) -> list[tuple[str, str | None, str]]:
        """(nip, superior, unit) of everyone registered."""
        return [(self.head, None, "Biro Umum"), (self.boss, self.head, "Biro Umum"),
                (self.other_boss, self.head, "Biro Keuangan"), (self.clerk, self.boss, "Biro Umum"),
                (self.peer, self.boss, "Biro Umum"), (self.junior, self.clerk, "Biro Umum"),
                (self.far, self.other_boss, "Biro Keuangan"), (self.gone, self.boss, "Biro Umum")]

    def facts(self) -> list[Any]:
        """The organisation's HR facts and payroll's MKD eligibility (envelopes, as published)."""
        facts = [envelope_of(POSITION, source="hr", stream_id="position:STAFF",
                             occurred_at=LONG_AGO),
                 envelope_of(OFFICE, source="hr", stream_id="office:GS", occurred_at=LONG_AGO)]
        for nip, superior, unit in self.employees():
            facts.append(envelope_of(ev.EmployeeRegistered(
                nip=nip, name=f"Pegawai {nip[-4:]}", position_code="STAFF", unit=unit,
                office_id="GS", superior_nip=superior, effective_date=date(2020, 1, 1)),
                source="hr", stream_id=f"employee:{nip}", occurred_at=LONG_AGO))
            facts.append(envelope_of(ev.MKDEligibilityDetermined(
                nip=nip, period=PERIOD, days_per_week=4, reasons=["tier_4"]), source="payroll",
                stream_id=f"mkd-eligibility:{nip}:{PERIOD}", occurred_at=LONG_AGO))
        facts.append(envelope_of(ev.EmployeeTerminated(nip=self.gone,
                                                       effective_date=date(2026, 10, 1)),
                                 source="hr", stream_id=f"employee:{self.gone}",
                                 stream_version=2, occurred_at=LONG_AGO))
        if self.variant == "vacant":
            facts.append(envelope_of(ev.EmployeeTerminated(nip=self.boss, effective_date=TODAY),
                                     source="hr", stream_id=f"employee:{self.boss}",
                                     stream_version=2, occurred_at=YESTERDAY))
        return facts

    def leave(self) -> list[Any]:
        """The superior's leave, in the `leave` variant (an attendance fact: deciders that read
        no leaves get it too, and must not care)."""
        if self.variant != "leave":
            return []
        return [new_event(ev.LeaveRecorded(leave_id="CUTI-BOSS", nip=self.boss, kind="annual",
                                           start_date=TODAY, end_date=TODAY + timedelta(days=2)),
                          YESTERDAY)]


# --- what each (command type, role) sends ------------------------------------------------------
@dataclass(frozen=True)
class Send:
    command: BaseModel
    key: bytes
    received_at: datetime


@dataclass(frozen=True)
class Scenario:
    """The commands sent before (the clerk's check-in, activity, IKP, request...) and the one
    the role sends."""

    setup: list[Send]
    target: Send


RELATION = {"superior": "superior", "superior_terminated": "superior",
            "next_up_superior_vacant": "superior", "next_up_superior_on_leave": "superior",
            "next_up_superior_present": "superior", "subordinate": "subordinate"}
"""The relation a role claims when rating the clerk (their place would give it; else peer)."""


def scenario(kind: str, role: str, org: Org) -> Scenario:
    actor = org.actor(role)
    key = HR_KEY if role == "hr" else GATEWAY_KEY
    tag = uuid.uuid4().hex[:8]

    def base(who: str = actor, at: datetime = NOW) -> dict[str, Any]:
        return dict(command_id=uuid.uuid4(), actor_nip=who, sent_at=at)

    def send(command: BaseModel, at: datetime = NOW, signing_key: bytes = key) -> Send:
        return Send(command, signing_key, at)

    check = dict(lat=OFFICE.lat, lon=OFFICE.lon, accuracy_m=10, mode="office")
    setup: list[Send] = []
    match kind:
        case "CheckIn":
            target = cmd.CheckIn(**base(), at=NOW, **check)
        case "CheckOut":
            setup = [send(cmd.CheckIn(**base(org.clerk, EARLY), at=EARLY, **check), EARLY,
                          GATEWAY_KEY)]
            target = cmd.CheckOut(**base(), at=NOW, **check)
        case "RecordLeave":
            target = cmd.RecordLeave(**base(), leave_id=f"CUTI-{tag}", nip=org.clerk,
                                     kind="annual", start_date=date(2026, 11, 2),
                                     end_date=date(2026, 11, 3))
        case "CancelLeave":
            setup = [send(cmd.RecordLeave(**base(org.officer, EARLY), leave_id=f"CUTI-{tag}",
                                          nip=org.clerk, kind="annual",
                                          start_date=date(2026, 11, 2),
                                          end_date=date(2026, 11, 3)), EARLY, HR_KEY)]
            target = cmd.CancelLeave(**base(), leave_id=f"CUTI-{tag}", nip=org.clerk)
        case "RecordOfficialTravel":
            target = cmd.RecordOfficialTravel(**base(), travel_id=f"SPPD-{tag}", nip=org.clerk,
                                              start_date=date(2026, 11, 9),
                                              end_date=date(2026, 11, 10))
        case "LogActivity" | "ApproveActivity" | "RejectActivity":
            logged_at = NOW.replace(hour=9)
            setup = [send(cmd.LogActivity(**base(org.clerk, logged_at), activity_id=f"ACT-{tag}",
                                          work_date=TODAY, task_code="LAP", quantity=2,
                                          description="Laporan kegiatan"), logged_at,
                          GATEWAY_KEY)]
            if kind == "LogActivity":  # the actor logs the clerk's activity id as theirs
                target = cmd.LogActivity(**base(), activity_id=f"ACT-{tag}", work_date=TODAY,
                                         task_code="LAP", quantity=3, description="Laporan")
            elif kind == "ApproveActivity":
                target = cmd.ApproveActivity(**base(), activity_id=f"ACT-{tag}",
                                             approved_quantity=2)
            else:
                target = cmd.RejectActivity(**base(), activity_id=f"ACT-{tag}",
                                            reason="bukti tidak ada")
        case "GiveRating":
            target = cmd.GiveRating(**base(), ratee_nip=org.clerk, period=PERIOD,
                                    relation=RELATION.get(role, "peer"), scores=SCORES)
        case "AssignIKP":
            target = cmd.AssignIKP(**base(), ikp_id=f"IKP-{tag}", assignee_nip=org.clerk,
                                   period=PERIOD, title="Rekap data pegawai",
                                   due_date=date(2026, 10, 30))
        case "CompleteIKP":  # the IKP the clerk's superior assigned yesterday
            setup = [send(cmd.AssignIKP(**base(org.boss, YESTERDAY), ikp_id=f"IKP-{tag}",
                                        assignee_nip=org.clerk, period=PERIOD,
                                        title="Rekap data pegawai",
                                        due_date=date(2026, 10, 30)), YESTERDAY, GATEWAY_KEY)]
            target = cmd.CompleteIKP(**base(), ikp_id=f"IKP-{tag}",
                                     completed_at=NOW - timedelta(minutes=1))
        case "RequestMKD":
            target = cmd.RequestMKD(**base(), request_id=f"MKD-{tag}", week_start=MONDAY,
                                    days=[TUESDAY])
        case "DecideMKD":
            asked = NOW.replace(hour=9)
            setup = [send(cmd.RequestMKD(**base(org.clerk, asked), request_id=f"MKD-{tag}",
                                         week_start=MONDAY, days=[TUESDAY]), asked,
                          GATEWAY_KEY)]
            target = cmd.DecideMKD(**base(), request_id=f"MKD-{tag}", grant=True,
                                   days=[TUESDAY])
        case "DraftSKP" | "ApproveSKP" | "ReturnSKP" | "Evaluate":
            # a month ago the head's SKP (approved by the head, at the top) and the boss's
            # (approved by the head, serving the head's item); yesterday the clerk's draft,
            # serving the boss's item — and, to be evaluated, its approval by the boss
            skp_id = f"SKP-{tag}"
            steps: list[cmd.DraftSKP | cmd.ApproveSKP] = [
                cmd.DraftSKP(**base(org.head, LONG_AGO), skp_id=f"SKP-H-{tag}", year=YEAR,
                             items=[skp_item("H1", goal="Layanan umum yang andal")]),
                cmd.ApproveSKP(**base(org.head, LONG_AGO), skp_id=f"SKP-H-{tag}", revision=1),
                cmd.DraftSKP(**base(org.boss, LONG_AGO), skp_id=f"SKP-B-{tag}", year=YEAR,
                             items=[skp_item("B1", supports="H1")]),
                cmd.ApproveSKP(**base(org.head, LONG_AGO), skp_id=f"SKP-B-{tag}", revision=1),
                cmd.DraftSKP(**base(org.clerk, YESTERDAY), skp_id=skp_id, year=YEAR,
                             items=[skp_item("C1", supports="B1")])]
            if kind == "Evaluate":
                steps.append(cmd.ApproveSKP(**base(org.boss, YESTERDAY), skp_id=skp_id,
                                            revision=1))
            setup = [send(step, step.sent_at, GATEWAY_KEY) for step in steps]
            if kind == "DraftSKP":  # the actor drafts the clerk's skp_id again: a revision
                target = cmd.DraftSKP(**base(), skp_id=skp_id, year=YEAR,
                                      items=[skp_item("C1", supports="B1"),
                                             skp_item("C2", supports="B1")])
            elif kind == "ApproveSKP":
                target = cmd.ApproveSKP(**base(), skp_id=skp_id, revision=1)
            elif kind == "ReturnSKP":
                target = cmd.ReturnSKP(**base(), skp_id=skp_id, revision=1,
                                       notes="Target terlalu rendah")
            else:  # the quarter ended: nothing realised, nobody rated; confirmed as proposed
                target = cmd.Evaluate(**base(), nip=org.clerk, year=YEAR, quarter=QUARTER,
                                      result_rating="below", behaviour_rating="meets")
        case _:
            raise AssertionError(f"no scenario for {kind}")
    return Scenario(setup, send(target))


# --- the expected outcomes ---------------------------------------------------------------------
def everyone(default: str, **outcomes: str) -> dict[str, str]:
    """`outcomes` by role; `default` for every other role (not `assigner`); `hr` signs with the
    HR key, which no gateway command takes."""
    table = {role: default for role in ROLES if role not in IKP_ONLY_ROLES}
    table["hr"] = "bad_signature"
    table.update(outcomes)
    return table


def hr_only(accepted: str) -> dict[str, str]:
    """An HR command: accepted with the HR key (whoever the officer is); every role of the
    gateway is refused by the pipeline."""
    return {**{role: "bad_signature" for role in ROLES if role not in IKP_ONLY_ROLES},
            "hr": accepted}


NOT_EMPLOYED_THEMSELVES = {"superior_terminated", "terminated"}

EXPECTED: dict[str, dict[str, dict[str, str]]] = {
    "attendance": {
        # always the actor's own check-in (the event's nip is the actor's)
        "CheckIn": everyone("CheckedIn", unknown_nip="unknown_employee",
                            terminated="employee_terminated",
                            superior_terminated="employee_terminated"),
        # only the clerk checked in this morning: anyone else's check-out is their own, of a
        # day they have not begun
        "CheckOut": everyone("check_out_without_check_in", self="CheckedOut",
                             unknown_nip="unknown_employee", terminated="employee_terminated",
                             superior_terminated="employee_terminated"),
        "RecordLeave": hr_only("LeaveRecorded"),
        "CancelLeave": hr_only("LeaveCancelled"),
        "RecordOfficialTravel": hr_only("OfficialTravelRecorded"),
    },
    "worklog": {
        # the clerk logged ACT-… at 09:00; the actor logs that activity id again
        "LogActivity": everyone("activity_of_other_employee", self="ActivityLogged",
                                unknown_nip="unknown_employee",
                                terminated="employee_terminated",
                                superior_terminated="employee_terminated"),
        "ApproveActivity": everyone("not_the_approver", self="own_activity",
                                    superior="ActivityApproved",
                                    next_up_superior_vacant="ActivityApproved"),
        "RejectActivity": everyone("not_the_approver", self="own_activity",
                                   superior="ActivityRejected",
                                   next_up_superior_vacant="ActivityRejected"),
    },
    "appraisal": {
        "GiveRating": everyone("not_related", self="self_rating", superior="RatingGiven",
                               peer="RatingGiven", subordinate="RatingGiven",
                               unknown_nip="unknown_employee",
                               terminated="rater_not_employed",
                               superior_terminated="rater_not_employed"),
        # a new IKP for the clerk: any leader above them (direct superior or higher)
        "AssignIKP": everyone("not_above_assignee", self="self_assignment",
                              superior="IKPAssigned", next_up_superior_vacant="IKPAssigned",
                              next_up_superior_on_leave="IKPAssigned",
                              next_up_superior_present="IKPAssigned",
                              unknown_nip="unknown_employee",
                              terminated="assigner_not_employed",
                              superior_terminated="assigner_not_employed"),
        # the IKP the superior assigned yesterday: only that leader completes it — and not
        # once terminated (a fix: this was accepted)
        "CompleteIKP": everyone("not_the_assigner", assigner="IKPCompleted",
                                superior="IKPCompleted",
                                superior_terminated="assigner_not_employed"),
        # the clerk drafted SKP-… yesterday; the actor drafts that skp_id again (a revision):
        # an SKP is its owner's alone
        "DraftSKP": everyone("skp_of_other_employee", self="SKPDrafted",
                             unknown_nip="unknown_employee"),
        # the clerk's draft of yesterday: the direct superior on the decision date or, that
        # post being vacant, the next superior up (`Directory.approver_of`, as for worklog's
        # approvals); the owner is told it is their own
        "ApproveSKP": everyone("not_the_approver", self="own_skp", superior="SKPApproved",
                               next_up_superior_vacant="SKPApproved"),
        "ReturnSKP": everyone("not_the_approver", self="own_skp", superior="SKPReturned",
                              next_up_superior_vacant="SKPReturned"),
        # the clerk's last quarter (their SKP approved yesterday): the direct superior on its
        # last day (30 September) or, that post being vacant today, the next superior up
        "Evaluate": everyone("not_the_evaluator", self="self_evaluation",
                             superior="EvaluationGiven",
                             next_up_superior_vacant="EvaluationGiven",
                             unknown_nip="unknown_employee"),
    },
    "mkd": {
        # always the actor's own request (every employee here is eligible for 4 days a week)
        "RequestMKD": everyone("MKDRequested", unknown_nip="unknown_employee",
                               terminated="not_employed", superior_terminated="not_employed"),
        # the direct superior on the decision date or, that post being vacant, the next
        # superior up (`Directory.approver_of`, as for worklog's approvals)
        "DecideMKD": everyone("not_the_superior", self="own_request", superior="MKDGranted",
                              next_up_superior_vacant="MKDGranted"),
    },
}
OWN_ONLY = {"CheckIn", "CheckOut", "LogActivity", "RequestMKD", "DraftSKP"}
"""Commands that name no other employee: an accepted one is about the actor."""

ROWS = [(service, kind, role, outcome) for service, kinds in EXPECTED.items()
        for kind, roles in kinds.items() for role, outcome in roles.items()]


# --- the services' own tables ------------------------------------------------------------------
SERVICES: dict[str, Any] = {
    "attendance": SimpleNamespace(models=attendance_handlers.command_models(
        Keys(GATEWAY_KEY, HR_KEY))),
    "worklog": SimpleNamespace(models=worklog_handlers.command_models(GATEWAY_KEY)),
    "appraisal": SimpleNamespace(models=appraisal_handlers.command_models(GATEWAY_KEY)),
    "mkd": SimpleNamespace(models=mkd_handlers.command_models(GATEWAY_KEY)),
}


def documented(service: str) -> set[str]:
    """The codes in docs/reasons.md's table of `service` (attendance → "## Attendance")."""
    heading = {"attendance": "## Attendance", "worklog": "## Worklog",
               "appraisal": "## Appraisal", "mkd": "## MKD",
               "pipeline": "## Refused before deciding"}[service]
    section = DOCS.read_text().split(heading + "\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE))


def test_the_matrix_covers_every_command_type_of_every_service_and_every_role():
    for service, parts in SERVICES.items():
        assert set(EXPECTED[service]) == set(parts.models.keys), service
    for service, kind, roles in ((s, k, r) for s, ks in EXPECTED.items() for k, r in ks.items()):
        wanted = set(ROLES) - (set() if kind == "CompleteIKP" else IKP_ONLY_ROLES)
        assert set(roles) == wanted, (service, kind)


def test_every_refusal_code_of_the_matrix_is_documented_for_its_service():
    events = set(ev.EVENT_DATA)
    for service, kind, role, outcome in ROWS:
        if outcome in events:
            continue
        table = "pipeline" if outcome == "bad_signature" else service
        assert outcome in documented(table), (service, kind, role, outcome)


# --- the pure path: pipeline check, then the decider -------------------------------------------
@functools.cache
def checker(service: str) -> CommandPipeline[Any, Any]:
    """The service's command pipeline, for its `check` alone (bounds, JSON, type, signature,
    contract: no database is touched)."""
    registry = make_registry()
    return CommandPipeline(service=service, engine=None, codec=codec,  # type: ignore[arg-type]
                           models=SERVICES[service].models, decider=None,  # type: ignore[arg-type]
                           reference=None, health=Health(registry),  # type: ignore[arg-type]
                           registry=registry)


def record_of(send: Send) -> Any:
    body = command_body(send.command)
    return SimpleNamespace(value=body, headers=[(SIGNATURE_HEADER, sign(body, send.key).encode())],
                           timestamp=timestamp_ms(send.received_at), topic="", partition=0,
                           offset=0)


@dataclass
class Pure:
    """A service's decider on the state its streams and reference data would have: the
    organisation's facts folded as the service keeps them, each stream the events decided on it."""

    service: str
    org: Org
    streams: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        facts = [*self.org.facts(), *self.org.leave()]
        self.directory = Directory()
        self.directory.add(facts)  # only HR facts: the leave and the eligibility are skipped
        match self.service:
            case "attendance":
                self.decider: Any = AttendanceDecider()
                self.reference = functools.reduce(self.decider.evolve, facts,
                                                  self.decider.initial_state())
            case "worklog":
                self.decider = worklog_decider.make_decider(worklog_decider.WorklogLimits())
            case "appraisal":
                self.decider = appraisal_decider.make_decider(
                    appraisal_decider.AppraisalLimits())
                self.skps = SKPBook()
            case "mkd":
                self.decider = make_mkd_decider()
                eligibility = mkd_model.Eligibility()
                eligibility.add(facts)
                self.weeks = BatchWeeks(self.directory, eligibility, mkd_model.History())

    def prepare(self, state: Any, command: Any) -> Any:
        match self.service:
            case "attendance":  # one state: the reference and every decided event folded
                return self.reference
            case "worklog":
                return worklog_model.with_directory(state, self.directory)
            case "appraisal" if isinstance(command, SKP_COMMANDS):
                return appraisal_model.with_context(state, self.directory,
                                                    self.skp_context(state, command))
            case "appraisal":
                return appraisal_model.with_directory(state, self.directory)
            case _:
                return self.weeks.prepare(state, command)

    def skp_context(self, state: Any, command: Any) -> SKPContext:
        """What an SKP or evaluation command reads beyond its stream, from the SKPs decided so
        far: the SKP holding its owner's year and those of the owner's superiors (the
        organisation's never change), or the evaluated employee's SKP (nobody here logged an
        activity or was rated)."""
        if isinstance(command, cmd.Evaluate):
            return SKPContext(evaluated_skp=self.skps.of(command.nip, command.year))
        if isinstance(command, cmd.DraftSKP):
            nip, year = command.actor_nip, command.year
        elif state.skp is not None:
            nip, year = state.skp.nip, state.skp.year
        else:
            return SKPContext()
        return SKPContext(year_owner=self.skps.owners.get((nip, year)), superior_skps={
            superior: record for superior in self.directory.superiors_of(nip, TODAY)
            if (record := self.skps.of(superior, year)) is not None})

    def send(self, send: Send) -> tuple[str, list[Any]]:
        """The outcome of one command: the accepted event's type or the refusal's code, and
        its events."""
        try:
            received = checker(self.service).check(record_of(send))
        except Refused as refusal:
            return refusal.reason, []
        stream = SERVICES[self.service].models.stream_of(received.command)
        state = self.streams.get(stream, self.decider.initial_state())
        decision = self.decider.decide(received, self.prepare(state, received.command))
        if not isinstance(decision, list):  # a Rejection: attendance's HR commands
            return decision.reason, []
        for event in decision:
            state = self.decider.evolve(state, event)
            if self.service == "attendance":
                self.reference = self.decider.evolve(self.reference, event)
        if self.service == "mkd":
            self.weeks.record(decision)
        if self.service == "appraisal":
            self.skps.add(decision)
        self.streams[stream] = state
        [event] = decision
        return (event.data.reason if event.type in REFUSAL_TYPES else event.type), decision


def decide_purely(service: str, kind: str, role: str) -> tuple[str, list[Any], Org]:
    org = Org(ROLES[role][1])
    pure = Pure(service, org)
    case = scenario(kind, role, org)
    for step in case.setup:
        outcome, _ = pure.send(step)
        assert outcome in ACCEPTED_EVENTS, (step.command, outcome)  # the setup must hold
    outcome, events = pure.send(case.target)
    return outcome, events, org


ACCEPTED_EVENTS = {"CheckedIn", "LeaveRecorded", "ActivityLogged", "IKPAssigned", "MKDRequested",
                   "SKPDrafted", "SKPApproved"}


@pytest.mark.parametrize("service, kind, role, expected", ROWS,
                         ids=[f"{s}-{k}-{r}" for s, k, r, _ in ROWS])
def test_who_may_send_each_command_is_decided_as_documented(service, kind, role, expected):  # type: ignore[no-untyped-def]
    outcome, events, org = decide_purely(service, kind, role)
    assert outcome == expected
    if kind in OWN_ONLY and outcome in ev.EVENT_DATA:
        assert events[0].data.nip == org.actor(role)  # never anyone else's


# --- through the broker ------------------------------------------------------------------------
SAMPLE: dict[str, list[tuple[str, str]]] = {
    "attendance": [("CheckIn", "self"), ("CheckIn", "terminated"), ("CheckIn", "unknown_nip"),
                   ("CheckOut", "superior"), ("CancelLeave", "hr")],
    "worklog": [("ApproveActivity", "superior"), ("ApproveActivity", "next_up_superior_vacant"),
                ("ApproveActivity", "superior_terminated"),
                ("ApproveActivity", "next_up_superior_present"), ("RejectActivity", "self"),
                ("LogActivity", "peer")],
    "appraisal": [("GiveRating", "subordinate"), ("GiveRating", "stranger"),
                  ("AssignIKP", "next_up_superior_present"), ("AssignIKP", "peer"),
                  ("CompleteIKP", "assigner"), ("CompleteIKP", "next_up_superior_present"),
                  ("CompleteIKP", "superior_terminated"), ("DraftSKP", "self"),
                  ("DraftSKP", "peer"), ("ApproveSKP", "superior"),
                  ("ApproveSKP", "next_up_superior_vacant"), ("ApproveSKP", "self"),
                  ("ReturnSKP", "superior"), ("ReturnSKP", "superior_terminated"),
                  ("Evaluate", "superior"), ("Evaluate", "next_up_superior_vacant"),
                  ("Evaluate", "superior_terminated")],
    "mkd": [("RequestMKD", "self"), ("RequestMKD", "terminated"), ("DecideMKD", "superior"),
            ("DecideMKD", "next_up_superior_vacant"), ("DecideMKD", "superior_terminated"),
            ("DecideMKD", "self")],
}
"""A handful of rows per service (each with an organisation of its own), sent to the running
service: it must give the matrix's answers."""


@pytest.fixture(scope="module")
async def platform(infra, bus, producer):  # type: ignore[no-untyped-def]
    """The four command services on the module's broker, holding one organisation per sampled
    row (in the row's variant)."""
    async with running_all(infra, bus, {
        "attendance": (build_attendance, AttendanceConfig(keys=Keys(GATEWAY_KEY, HR_KEY)),
                       f"mx_att_{uuid.uuid4().hex[:10]}"),
        "worklog": (build_worklog, WorklogConfig(gateway_key=GATEWAY_KEY),
                    f"mx_wor_{uuid.uuid4().hex[:10]}"),
        "appraisal": (build_appraisal, AppraisalConfig(gateway_key=GATEWAY_KEY),
                      f"mx_app_{uuid.uuid4().hex[:10]}"),
        "mkd": (build_mkd, MKDConfig(gateway_key=GATEWAY_KEY), f"mx_mkd_{uuid.uuid4().hex[:10]}"),
    }) as services:
        orgs = {(service, kind, role): Org.fresh(ROLES[role][1])
                for service, rows in SAMPLE.items() for kind, role in rows}
        facts = [fact for org in orgs.values() for fact in org.facts()]
        await publish_envelopes(producer, codec, facts)
        await asyncio.gather(*(held(service, [f.event_id for f in facts
                                              if keeps(name, f.type)])
                               for name, service in services.items()))
        yield SimpleNamespace(services=services, orgs=orgs)


def keeps(service: str, kind: str) -> bool:
    """Whether `service` keeps reference facts of type `kind`."""
    from kinerja_appraisal.projection import KEPT_TYPES as appraisal
    from kinerja_attendance.projection import KEPT_TYPES as attendance
    from kinerja_mkd.projection import KEPT_TYPES as mkd
    from kinerja_worklog.projection import KEPT_TYPES as worklog

    return kind in {"attendance": attendance, "worklog": worklog, "appraisal": appraisal,
                    "mkd": mkd}[service]


async def stored_outcome(service: Any, command_id: uuid.UUID, timeout: float = 30
                         ) -> tuple[str, list[dict[str, Any]]]:
    """The command's outcome as the running service stored it (waited for by its id): the
    accepted event's type or the refusal's code, and its events' data."""
    async with asyncio.timeout(timeout):
        while True:
            async with service.engine.connect() as connection:
                conn = (await connection.get_raw_connection()).driver_connection
                row = await conn.fetchrow("SELECT reason, event_ids FROM commands "
                                          "WHERE command_id = $1", command_id)
                if row is not None:
                    events = await conn.fetch(
                        "SELECT type, (envelope->'data')::text AS data FROM events "
                        "WHERE event_id = ANY($1::uuid[]) ORDER BY position", row["event_ids"])
                    break
            await asyncio.sleep(0.05)
    data = [json.loads(e["data"]) for e in events]
    if row["reason"] is not None:
        return row["reason"], data
    [event] = events
    return (data[0]["reason"] if event["type"] in REFUSAL_TYPES else event["type"]), data


async def send_to(producer: Any, service: str, send: Send, partition_key: bytes) -> None:
    body = command_body(send.command)
    await producer.send_and_wait(topics.commands_topic(service), body, key=partition_key,
                                 headers=[(SIGNATURE_HEADER, sign(body, send.key).encode())],
                                 timestamp_ms=timestamp_ms(send.received_at))


@pytest.mark.parametrize("service", list(SAMPLE))
async def test_the_running_service_gives_the_matrix_answers(platform, producer, service):  # type: ignore[no-untyped-def]
    running_service = platform.services[service]
    cases = []
    for kind, role in SAMPLE[service]:
        org = platform.orgs[(service, kind, role)]
        case = scenario(kind, role, org)
        for step in [*case.setup, case.target]:  # one partition per row: setup first
            await send_to(producer, service, step, org.clerk.encode())
        cases.append((kind, role, org, case))
    answers = {}
    for kind, role, org, case in cases:
        outcome, data = await stored_outcome(running_service, case.target.command.command_id)  # type: ignore[attr-defined]
        for step in case.setup:
            setup, _ = await stored_outcome(running_service, step.command.command_id)  # type: ignore[attr-defined]
            assert setup in ACCEPTED_EVENTS, (kind, role, setup)
        if kind in OWN_ONLY and outcome in ev.EVENT_DATA:
            assert data[0]["nip"] == org.actor(role)
        answers[(kind, role)] = outcome
    assert answers == {(kind, role): EXPECTED[service][kind][role]
                       for kind, role in SAMPLE[service]}
