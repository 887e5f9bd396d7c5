"""What people ask the appraisal service: whom an employee may rate (what the phone shows), the
ratings an employee received (by group, never by rater), a leader's open and overdue IKPs, an
employee's SKP of a year with its realisation and evaluations, and the evaluations of a period
(what the national system, SIASN, takes).

All read the service's own database: the rating and IKP streams in `events` and the HR directory
in `reference_facts` (asyncpg connections).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from kinerja_events.codec import Codec
from kinerja_events.exact import format_ratio
from kinerja_events.hr import Directory
from kinerja_events.reference import read_directory

from .decider import AppraisalLimits, employed_in, rating_window, relation_between
from kinerja_events.events import EvaluationGiven
from kinerja_events.skp import SKPBook, SKPRecord
from kinerja_events.types import WIB

from .evaluation import (
    GROUP_WEIGHTS, group_scores, monthly_scores, period_bounds, period_label, period_realised,
    period_score, period_target, realisation, weighted_score,
)
from .skp_decider import proposal
from .model import AppraisalState, SKPContext, evolve, is_on_time

# RULES.md §5: S / 4 capped at 1.
BEHAVIOUR_DIVISOR = Fraction(4)
INDEXES = (
    "CREATE INDEX IF NOT EXISTS events_rating_rater ON events "
    "((envelope->'data'->>'rater_nip'), (envelope->'data'->>'period')) "
    "WHERE type = 'RatingGiven'",
    "CREATE INDEX IF NOT EXISTS events_ikp_assigner ON events "
    "((envelope->'data'->>'assigner_nip')) WHERE type = 'IKPAssigned'",
    "CREATE INDEX IF NOT EXISTS events_ikp_assigned ON events (stream_id, occurred_at, event_id) "
    "WHERE type = 'IKPAssigned'",
)


async def create_query_indexes(engine: Any) -> None:
    """Index ratings by rater and IKPs by leader (what the queries filter on)."""
    from sqlalchemy import text

    async with engine.begin() as conn:
        for statement in INDEXES:
            await conn.execute(text(statement))


# --- whom an employee may rate --------------------------------------------------------------------
@dataclass
class RatingOptions:
    """What the phone shows a rater for a period."""

    nip: str
    name: str | None
    period: str
    window_opens: date
    window_closes: date
    window_open: bool
    ratees: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "window_opens": self.window_opens.isoformat(),
                "window_closes": self.window_closes.isoformat()}


def default_period(directory: Directory, today: date, limits: AppraisalLimits) -> str:
    """The period whose rating window is open today: last month's while it is still open,
    this month's otherwise."""
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    _, closes = rating_window(last_month, directory, limits)
    return last_month if today <= closes else today.strftime("%Y-%m")


async def rating_options(conn: Any, codec: Codec, rater: str, period: str | None, today: date,
                         limits: AppraisalLimits) -> RatingOptions:
    """Everyone `rater` may rate for `period` (by default the one open today) with the relation
    the hierarchy gives today, and when the rater last rated each."""
    directory = await read_directory(conn, codec)
    period = period or default_period(directory, today, limits)
    opens, closes = rating_window(period, directory, limits)
    rated = {row[0]: row[1] for row in await conn.fetch(
        "SELECT envelope->'data'->>'ratee_nip', max(occurred_at) FROM events "
        "WHERE type = 'RatingGiven' AND envelope->'data'->>'rater_nip' = $1 "
        "AND envelope->'data'->>'period' = $2 GROUP BY 1", rater, period)}
    ratees = []
    for person in sorted(directory.people.values(), key=lambda p: p.nip):
        relation = relation_between(directory, rater, person.nip, today)
        if relation is not None and employed_in(directory, person.nip, period):
            last = rated.get(person.nip)
            ratees.append({"nip": person.nip, "name": person.name, "relation": relation,
                           "rated_at": last.isoformat() if last else None})
    ratees.sort(key=lambda r: (list(GROUP_WEIGHTS).index(r["relation"]), r["name"] or "",
                               r["nip"]))
    rater_person = directory.person(rater)
    return RatingOptions(rater, rater_person.name if rater_person else None, period, opens,
                         closes, opens <= today <= closes and rater_person is not None
                         and rater_person.is_employed_on(today), ratees)


# --- the ratings an employee received ---------------------------------------------------------------
@dataclass
class RatingsReceived:
    """A ratee's ratings of a period by group: how many raters, and their mean — no rater's
    identity or own score."""

    nip: str
    name: str | None
    period: str
    groups: dict[str, list[Fraction]]

    def weighted_score(self) -> Fraction | None:
        return weighted_score(self.groups)

    def behaviour_ratio(self) -> Fraction:
        score = self.weighted_score()
        return Fraction(1) if score is None else min(Fraction(1), score / BEHAVIOUR_DIVISOR)

    def as_json(self) -> dict[str, Any]:
        score = self.weighted_score()
        rated = [g for g, s in self.groups.items() if s]
        total = sum((GROUP_WEIGHTS[g] for g in rated), Fraction(0))
        return {
            "nip": self.nip, "name": self.name, "period": self.period,
            "groups": {g: {"raters": len(s),
                           "score": format_ratio(sum(s) / len(s)) if s else None,
                           "weight": format_ratio(GROUP_WEIGHTS[g] / total) if s else None}
                       for g, s in self.groups.items()},
            "weighted_score": None if score is None else format_ratio(score),
            "behaviour_ratio": format_ratio(self.behaviour_ratio()),
            "flags": [] if rated else ["no_behaviour_rating"],
        }


async def ratings_received(conn: Any, codec: Codec, nip: str, period: str) -> RatingsReceived:
    """`nip`'s ratings of `period`: the latest of each rater counts (RULES.md §5)."""
    rows = await conn.fetch("SELECT envelope::text FROM events WHERE stream_id = $1 "
                            "AND type = 'RatingGiven'", f"rating:{nip}:{period}")
    groups = group_scores(codec.decode(text) for (text,) in rows)
    person = (await read_directory(conn, codec)).person(nip)
    return RatingsReceived(nip, person.name if person else None, period, groups)


# --- a leader's IKPs --------------------------------------------------------------------------------
@dataclass
class IKPView:
    ikp_id: str
    assignee_nip: str
    assignee_name: str | None
    title: str
    period: str
    due_date: date
    status: str  # open | overdue | completed_on_time | completed_late
    completed_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "due_date": self.due_date.isoformat(),
                "completed_at": self.completed_at.isoformat() if self.completed_at else None}


def status_of(state: AppraisalState, today: date) -> str:
    assignment = state.assignment
    assert assignment is not None
    if state.completion is not None:
        on_time = is_on_time(state.completion.completed_at, assignment.due_date)
        return "completed_on_time" if on_time else "completed_late"
    return "overdue" if assignment.due_date < today else "open"


async def leader_ikps(conn: Any, codec: Codec, leader: str, today: date) -> list[IKPView]:
    """Every IKP `leader` assigned, as it stands today, by due date."""
    rows = await conn.fetch(
        "SELECT envelope::text FROM events WHERE type IN ('IKPAssigned', 'IKPCompleted') "
        "AND stream_id IN (SELECT stream_id FROM events WHERE type = 'IKPAssigned' "
        "AND envelope->'data'->>'assigner_nip' = $1)", leader)
    states: dict[str, AppraisalState] = defaultdict(AppraisalState)
    for (text,) in rows:
        envelope = codec.decode(text)
        states[envelope.data.ikp_id] = evolve(states[envelope.data.ikp_id], envelope)
    directory = await read_directory(conn, codec)
    views = []
    for ikp_id, state in states.items():
        a = state.assignment
        if a is None or a.assigner_nip != leader:
            continue
        person = directory.person(a.assignee_nip)
        views.append(IKPView(ikp_id, a.assignee_nip, person.name if person else None, a.title,
                             a.period, a.due_date, status_of(state, today),
                             state.completion.completed_at if state.completion else None))
    return sorted(views, key=lambda v: (v.due_date, v.ikp_id))


OVERDUE = (
    "SELECT count(*) FROM (SELECT DISTINCT ON (stream_id) stream_id, "
    "  (envelope->'data'->>'due_date')::date AS due FROM events WHERE type = 'IKPAssigned' "
    "  ORDER BY stream_id, occurred_at DESC, event_id DESC) a "
    "WHERE a.due < $1 AND NOT EXISTS (SELECT 1 FROM events c "
    "  WHERE c.stream_id = a.stream_id AND c.type = 'IKPCompleted')")


async def overdue_count(conn: Any, today: date) -> int:
    """IKPs not completed whose due date is before `today`."""
    return int(await conn.fetchval(OVERDUE, today))


# --- an employee's SKP of a year -------------------------------------------------------------------
@dataclass
class SKPItemView:
    item_id: str
    indicator: str
    unit: str
    target_quantity: int
    monthly_targets: list[int]
    realised: list[int]
    """Approved quantity by month (January … December)."""
    supports_item_id: str | None
    supports_indicator: str | None
    """The indicator of the superior's item it serves (None where not found)."""
    unit_goal: str | None


@dataclass
class EvaluationView:
    period: str
    quarter: int | None
    evaluator_nip: str
    evaluator_name: str | None
    proposed_result: str
    proposed_behaviour: str
    result_rating: str
    behaviour_rating: str
    predikat: str
    override_reason: str | None
    evaluated_at: datetime


@dataclass
class SKPView:
    """An employee's SKP of a year as it stands: the approved revision's items with monthly
    targets against realisation, the latest revision's status, and the evaluations given."""

    nip: str
    name: str | None
    unit: str | None
    superior_nip: str | None
    superior_name: str | None
    year: int
    skp_id: str | None
    approved_revision: int | None
    latest_revision: int
    latest_status: str | None
    """drafted | approved | returned (None: no SKP)."""
    return_notes: str | None
    items: list[SKPItemView]
    evaluations: list[EvaluationView]

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        for evaluation in body["evaluations"]:
            evaluation["evaluated_at"] = evaluation["evaluated_at"].isoformat()
        return body


def year_day(year: int, today: date) -> date:
    """The day of `year` whose hierarchy an SKP view shows: today, or the year's last day."""
    return min(today, date(year, 12, 31)) if today.year >= year else date(year, 1, 1)


async def skp_record(conn: Any, codec: Codec, nip: str, year: int) -> SKPRecord | None:
    """`nip`'s SKP of `year` from its stream, or None."""
    book = SKPBook()
    book.add(codec.decode(text) for (text,) in await conn.fetch(
        "SELECT e.envelope::text FROM skps s JOIN events e ON e.stream_id = 'skp:' || s.skp_id "
        "WHERE s.nip = $1 AND s.year = $2 ORDER BY e.stream_version", nip, year))
    return book.of(nip, year)


async def evaluations_of(conn: Any, codec: Codec, directory: Directory, year: int,
                         nip: str | None = None, quarter: int | None | str = "any"
                         ) -> list[tuple[EvaluationGiven, datetime]]:
    """The evaluations of `year` (of `nip`; of `quarter`, None meaning the annual ones), with
    when they were given, by NIP then period."""
    rows = await conn.fetch(
        "SELECT envelope::text FROM events WHERE type = 'EvaluationGiven' "
        "AND stream_id LIKE 'evaluation:%' AND (envelope->'data'->>'year')::int = $1 "
        "AND ($2::text IS NULL OR envelope->'data'->>'nip' = $2)", year, nip)
    found = []
    for (text,) in rows:
        envelope = codec.decode(text)
        data = envelope.data
        if quarter == "any" or data.quarter == quarter:
            found.append((data, envelope.occurred_at))
    return sorted(found, key=lambda f: (f[0].nip, 5 if f[0].quarter is None else f[0].quarter))


def evaluation_view(data: EvaluationGiven, at: datetime, directory: Directory) -> EvaluationView:
    evaluator = directory.person(data.evaluator_nip)
    return EvaluationView(period_label(data.year, data.quarter), data.quarter, data.evaluator_nip,
                          evaluator.name if evaluator else None, data.proposed_result,
                          data.proposed_behaviour, data.result_rating, data.behaviour_rating,
                          data.predikat, data.override_reason, at)


async def skp_view(conn: Any, codec: Codec, nip: str, year: int, today: date) -> SKPView:
    """`nip`'s SKP of `year`, realisation and evaluations (asyncpg connection)."""
    directory = await read_directory(conn, codec)
    person = directory.person(nip)
    day = year_day(year, today)
    superior = directory.superior_of(nip, day)
    record = await skp_record(conn, codec, nip, year)
    served: dict[str, str] = {}
    if superior is not None:
        superior_record = await skp_record(conn, codec, superior, year)
        for revision in (superior_record.revisions.values() if superior_record else ()):
            served.update({i.item_id: i.indicator for i in revision})
    realised = realisation([codec.decode(text) for (text,) in await conn.fetch(
        "SELECT envelope::text FROM worklog_facts WHERE nip = $1", nip)], year)
    items = [SKPItemView(i.item_id, i.indicator, i.unit, i.target_quantity,
                         list(i.monthly_targets),
                         [realised.get((i.item_id, m), 0) for m in range(1, 13)],
                         i.supports_item_id, served.get(i.supports_item_id or ""), i.unit_goal)
             for i in (record.approved_items() if record else ())]
    latest = record.latest if record else 0
    decision = record.decisions.get(latest) if record else None
    superior_person = directory.person(superior) if superior else None
    return SKPView(
        nip, person.name if person else None,
        person.attributes_on(day).get("unit") if person else None, superior,
        superior_person.name if superior_person else None, year,
        record.skp_id if record else None, record.approved_revision if record else None,
        latest, record.status(latest) if record and latest else None,
        decision.notes if decision and not decision.approved else None, items,
        [evaluation_view(data, at, directory)
         for data, at in await evaluations_of(conn, codec, directory, year, nip)])


async def evaluation_proposal(conn: Any, codec: Codec, nip: str, year: int,
                              quarter: int | None) -> dict[str, Any]:
    """What an evaluation of `nip`'s quarter (None: year) would propose now, from the data held
    (what the phone shows the appraising official before they confirm or override)."""
    ratings = [codec.decode(text) for (text,) in await conn.fetch(
        "SELECT envelope::text FROM events WHERE stream_id = ANY($1) AND type = 'RatingGiven'",
        [f"rating:{nip}:{year}-{m:02d}" for m in range(1, 13)])]
    activities = [codec.decode(text) for (text,) in await conn.fetch(
        "SELECT envelope::text FROM worklog_facts WHERE nip = $1", nip)]
    context = SKPContext(evaluated_skp=await skp_record(conn, codec, nip, year),
                         realised=realisation(activities, year),
                         scores=monthly_scores(ratings, year))
    items = context.evaluated_skp.approved_items() if context.evaluated_skp else ()
    score = period_score(context.scores, quarter)
    result, behaviour = proposal(quarter, context)
    return {"nip": nip, "year": year, "quarter": quarter, "period": period_label(year, quarter),
            "approved_skp": bool(items), "target": period_target(items, quarter),
            "realised": period_realised(items, context.realised, quarter),
            "score": None if score is None else format_ratio(score),
            "proposed_result": result, "proposed_behaviour": behaviour}


async def unit_members(conn: Any, codec: Codec, unit: str, year: int, today: date) -> list[str]:
    """The NIPs of everyone employed in `year` whose unit, on the year's shown day, is `unit`."""
    directory = await read_directory(conn, codec)
    day = year_day(year, today)
    return sorted(p.nip for p in directory.people.values()
                  if p.attributes_on(day).get("unit") == unit
                  and employed_in_year(p, year))


def employed_in_year(person: Any, year: int) -> bool:
    return (person.start is not None and person.start <= date(year, 12, 31)
            and (person.end is None or person.end > date(year, 1, 1)))


async def siasn_records(conn: Any, codec: Codec, year: int, quarter: int | None | str
                        ) -> list[dict[str, Any]]:
    """Per employee and period evaluated: the evaluation as the national system takes it
    (fields in docs/skp.md)."""
    directory = await read_directory(conn, codec)
    records = []
    for data, at in await evaluations_of(conn, codec, directory, year, quarter=quarter):
        person, evaluator = directory.person(data.nip), directory.person(data.evaluator_nip)
        records.append({
            "nip": data.nip, "nama": person.name if person else None,
            "unit": person.attributes_on(period_bounds(data.year, data.quarter)[1]).get("unit")
            if person else None,
            "tahun": data.year, "periode": "tahunan" if data.quarter is None else "triwulan",
            "triwulan": data.quarter,
            "hasil_kerja": SIASN_RATING[data.result_rating],
            "perilaku_kerja": SIASN_RATING[data.behaviour_rating],
            "predikat": SIASN_PREDIKAT[data.predikat],
            "pejabat_penilai_nip": data.evaluator_nip,
            "pejabat_penilai_nama": evaluator.name if evaluator else None,
            "tanggal_penilaian": at.astimezone(WIB).date().isoformat(),
            "alasan_penyesuaian": data.override_reason,
        })
    return records


SIASN_RATING = {"above": "DIATAS_EKSPEKTASI", "meets": "SESUAI_EKSPEKTASI",
                "below": "DIBAWAH_EKSPEKTASI"}
SIASN_PREDIKAT = {"sangat_baik": "SANGAT_BAIK", "baik": "BAIK",
                  "butuh_perbaikan": "BUTUH_PERBAIKAN", "kurang": "KURANG",
                  "sangat_kurang": "SANGAT_KURANG"}


# --- the read API -------------------------------------------------------------------------------
def http_queries(engine: Any, codec: Codec, limits: AppraisalLimits) -> dict[str, Any]:
    """The JSON GET endpoints: `/appraisal/rateable?nip=NIP[&period=YYYY-MM]`,
    `/appraisal/received?nip=NIP&period=YYYY-MM` and `/appraisal/ikp?leader=NIP`."""
    from kinerja_events.events import Quarter
    from kinerja_events.queries import (
        nip_param, on_connection, param, period_param, year_param,
    )

    def today() -> date:
        return datetime.now(WIB).date()

    async def rateable(params: Any) -> Any:
        nip = nip_param(params, "nip")
        period = period_param(params) if params.get("period") else None
        found = await on_connection(engine, lambda conn: rating_options(
            conn, codec, nip, period, today(), limits))
        return found.as_json()

    async def received(params: Any) -> Any:
        nip, period = nip_param(params, "nip"), period_param(params)
        found = await on_connection(engine, lambda conn: ratings_received(conn, codec, nip,
                                                                          period))
        return found.as_json()

    async def ikp(params: Any) -> Any:
        leader = nip_param(params, "leader")
        found = await on_connection(engine, lambda conn: leader_ikps(conn, codec, leader,
                                                                     today()))
        return {"leader": leader,
                "open": [v.as_json() for v in found if v.status == "open"],
                "overdue": [v.as_json() for v in found if v.status == "overdue"],
                "completed": sum(v.status.startswith("completed") for v in found)}

    async def skp(params: Any) -> Any:
        nip, year = nip_param(params, "nip"), year_param(params)
        found = await on_connection(engine, lambda conn: skp_view(conn, codec, nip, year,
                                                                  today()))
        return found.as_json()

    async def proposal_of(params: Any) -> Any:
        nip, year = nip_param(params, "nip"), year_param(params)
        quarter = param(params, "quarter", Quarter, "1–4") if params.get("quarter") else None
        return await on_connection(engine, lambda conn: evaluation_proposal(
            conn, codec, nip, year, quarter))

    return {"/appraisal/rateable": rateable, "/appraisal/received": received,
            "/appraisal/ikp": ikp, "/appraisal/skp": skp, "/appraisal/proposal": proposal_of}
