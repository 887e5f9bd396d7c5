"""SKP and periodic evaluation end to end through the real broker and PostgreSQL: SKPs cascade
down a hierarchy and are approved, worklog accepts activities naming the approved items,
appraisal counts their approved quantity, the superior evaluates the quarter, and the printed
SKP (a real PDF, read back to text) shows the items, the realisation and the predikat.

Everything happens in the last ended quarter (record timestamps of its days), so it may be
evaluated now.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, time
from fractions import Fraction

import pytest

from kinerja_appraisal.bootstrap import AppraisalConfig
from kinerja_appraisal.bootstrap import build_service as build_appraisal
from kinerja_appraisal.queries import siasn_records, skp_view
from kinerja_events import commands as cmd
from kinerja_events import events as ev
from kinerja_events.codec import make_codec
from kinerja_events.queries import on_connection
from kinerja_events.types import WIB
from kinerja_worklog.bootstrap import WorklogConfig
from kinerja_worklog.bootstrap import build_service as build_worklog
from org import FAST_GROUP_JOIN, Team, decide_commands, fetchval, held, http_get, publish_hr
from org import running_all
from reading import topic_reader

pytestmark = pytest.mark.integration

KEY = b"test-skp-gateway-key"
APPRAISAL_OUTCOMES = ("SKPDrafted", "SKPApproved", "SKPReturned", "EvaluationGiven",
                      "RatingGiven", "AppraisalRefused")
WORKLOG_OUTCOMES = ("ActivityLogged", "ActivityApproved", "ActivityRejected", "ActivityRefused")
TODAY_AT = datetime.now(WIB)
TODAY = TODAY_AT.date()
CURRENT_QUARTER = (TODAY.month - 1) // 3 + 1
YEAR, QUARTER = ((TODAY.year, CURRENT_QUARTER - 1) if CURRENT_QUARTER > 1
                 else (TODAY.year - 1, 4))
M1, M2, M3 = range(3 * QUARTER - 2, 3 * QUARTER + 1)


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime.combine(date(YEAR, month, day), time(hour), WIB)


@pytest.fixture(scope="module")
async def services(infra, bus):  # type: ignore[no-untyped-def]
    suffix = uuid.uuid4().hex[:10]
    async with running_all(infra, bus, {
        "appraisal": (build_appraisal, AppraisalConfig(gateway_key=KEY), f"skpa_{suffix}"),
        "worklog": (build_worklog, WorklogConfig(gateway_key=KEY), f"skpw_{suffix}"),
    }, **FAST_GROUP_JOIN) as started:
        yield started


@pytest.fixture(scope="module")
def read_topic(bus):  # type: ignore[no-untyped-def]
    return topic_reader(bus.kafka_bootstrap)


def item(item_id: str, per_month: int, indicator: str, supports: str | None = None,
         goal: str | None = None) -> ev.SKPItem:
    return ev.SKPItem(item_id=item_id, indicator=indicator, target_quantity=12 * per_month,
                      unit="laporan", monthly_targets=[per_month] * 12,
                      supports_item_id=supports, unit_goal=goal)


def draft(actor: str, skp_id: str, items: list[ev.SKPItem]) -> cmd.DraftSKP:
    return cmd.DraftSKP(command_id=uuid.uuid4(), actor_nip=actor, sent_at=at(M1, 2),
                        skp_id=skp_id, year=YEAR, items=items)


def approve(actor: str, skp_id: str, revision: int = 1) -> cmd.ApproveSKP:
    return cmd.ApproveSKP(command_id=uuid.uuid4(), actor_nip=actor, sent_at=at(M1, 2),
                          skp_id=skp_id, revision=revision)


def log(team: Team, work_date: date, quantity: int, skp_item: str | None) -> cmd.LogActivity:
    return cmd.LogActivity(command_id=uuid.uuid4(), actor_nip=team.clerk,
                           sent_at=at(work_date.month, work_date.day, 17),
                           activity_id=f"ACT-{uuid.uuid4().hex[:10]}", work_date=work_date,
                           task_code="LAP", quantity=quantity, description="Laporan",
                           skp_item_id=skp_item)


def approve_activity(team: Team, activity: cmd.LogActivity, quantity: int
                     ) -> cmd.ApproveActivity:
    return cmd.ApproveActivity(command_id=uuid.uuid4(), actor_nip=team.boss,
                               sent_at=activity.sent_at, activity_id=activity.activity_id,
                               approved_quantity=quantity)


def rate(rater: str, ratee: str, relation: str, score: int, month: int) -> cmd.GiveRating:
    scores = ev.BerAKHLAKScores(**dict.fromkeys(ev.BerAKHLAKScores.model_fields, score))
    return cmd.GiveRating(command_id=uuid.uuid4(), actor_nip=rater, sent_at=at(month, 21),
                          ratee_nip=ratee, period=f"{YEAR}-{month:02d}",
                          relation=relation,  # type: ignore[arg-type]
                          scores=scores)


def evaluate(team: Team, result: str, behaviour: str, reason: str | None = None
             ) -> cmd.Evaluate:
    return cmd.Evaluate(command_id=uuid.uuid4(), actor_nip=team.boss, sent_at=TODAY_AT,
                        nip=team.clerk, year=YEAR, quarter=QUARTER,
                        result_rating=result, behaviour_rating=behaviour,  # type: ignore[arg-type]
                        override_reason=reason)



async def test_skps_cascade_activities_realise_them_and_the_quarter_is_evaluated_and_printed(
        services, producer, read_topic, tmp_path):  # type: ignore[no-untyped-def]
    appraisal, worklog = services["appraisal"], services["worklog"]
    team = Team()
    await publish_hr(producer, appraisal, team.facts())
    await held(worklog, [f.event_id for f in team.hr])

    async def to_appraisal(commands: list, received_at: object) -> dict:
        return await decide_commands(producer, read_topic, "appraisal", KEY, commands,
                                     APPRAISAL_OUTCOMES, received_at)  # type: ignore[arg-type]

    async def to_worklog(commands: list, received_at: object) -> dict:
        return await decide_commands(producer, read_topic, "worklog", KEY, commands,
                                     WORKLOG_OUTCOMES, received_at)  # type: ignore[arg-type]

    # Cascading: the head's unit goals, the boss's items serving them, the clerk's serving
    # the boss's. The clerk's first draft names an item the boss does not have.
    head = draft(team.head, f"SKP-H-{team.head}", [
        item("H1", 10, "Layanan kepegawaian tepat waktu", goal="Birokrasi melayani")])
    boss = draft(team.boss, f"SKP-B-{team.boss}", [
        item("B1", 8, "Usulan kenaikan pangkat diproses", supports="H1"),
        item("B2", 2, "Rekap absensi bulanan", supports="H1")])
    wrong = draft(team.clerk, f"SKP-C-{team.clerk}", [
        item("C1", 4, "Berkas kenaikan pangkat diverifikasi", supports="B9")])
    clerk = draft(team.clerk, f"SKP-C-{team.clerk}", [
        item("C1", 4, "Berkas kenaikan pangkat diverifikasi", supports="B1"),
        item("C2", 1, "Rekap absensi unit disusun", supports="B2")])
    sequence = [head, approve(team.head, head.skp_id), boss, approve(team.head, boss.skp_id),
                wrong, clerk, approve(team.boss, clerk.skp_id)]
    outcomes = await to_appraisal(sequence, [at(M1, 2, h) for h in range(7, 14)])
    assert [outcomes[c.command_id]["type"] for c in sequence] == [
        "SKPDrafted", "SKPApproved", "SKPDrafted", "SKPApproved", "AppraisalRefused",
        "SKPDrafted", "SKPApproved"]
    assert outcomes[wrong.command_id]["data"]["reason"] == "supports_unknown_item"
    assert outcomes[clerk.command_id]["data"]["revision"] == 1
    approved = outcomes[sequence[-1].command_id]

    # Worklog accepts the approved items once it holds the approval.
    await held(worklog, [uuid.UUID(approved["event_id"])])
    activities = [(log(team, date(YEAR, M1, 12), 5, "C1"), 5),
                  (log(team, date(YEAR, M2, 12), 6, "C1"), 4),
                  (log(team, date(YEAR, M3, 12), 5, "C1"), 5),
                  (log(team, date(YEAR, M3, 13), 2, "C2"), 2),
                  (log(team, date(YEAR, M3, 13), 3, None), 3)]
    unknown = log(team, date(YEAR, M3, 13), 1, "C7")
    logged = await to_worklog([a for a, _ in activities] + [unknown],
                              [a.sent_at for a, _ in activities] + [unknown.sent_at])
    assert [logged[a.command_id]["type"] for a, _ in activities] == ["ActivityLogged"] * 5
    assert logged[unknown.command_id]["data"]["reason"] == "unknown_skp_item"
    decisions = [approve_activity(team, a, q) for a, q in activities]
    decided = await to_worklog(decisions, [d.sent_at for d in decisions])
    assert {decided[d.command_id]["type"] for d in decisions} == {"ActivityApproved"}

    ratings = [rate(team.boss, team.clerk, "superior", 5, M2),
               rate(team.peer, team.clerk, "peer", 4, M2)]
    rated = await to_appraisal(ratings, [r.sent_at for r in ratings])
    assert {rated[r.command_id]["type"] for r in ratings} == {"RatingGiven"}

    # Appraisal holds worklog's facts once they arrive on kinerja.worklog.
    wanted = [uuid.UUID(decided[d.command_id]["event_id"]) for d in decisions]
    async with asyncio.timeout(60):
        while await fetchval(appraisal, "SELECT count(*) FROM worklog_facts "
                             "WHERE event_id = ANY($1::uuid[])", wanted) < len(wanted):
            await asyncio.sleep(0.1)

    # Quarter target 4 × 3 + 1 × 3 = 15, realised 14 + 2 = 16 (107 %): meets. S = (0.5 × 5 +
    # 0.3 × 4) / 0.8 = 4.625: above. Confirming "above" for the result needs a reason.
    assert Fraction(16, 15) < Fraction(110, 100)
    shown = await http_get(appraisal, f"/appraisal/proposal?nip={team.clerk}&year={YEAR}"
                                      f"&quarter={QUARTER}")
    assert (shown["target"], shown["realised"], shown["score"], shown["proposed_result"],
            shown["proposed_behaviour"]) == (15, 16, "4.625000", "meets", "above")
    unreasoned = evaluate(team, "above", "above")
    confirmed = evaluate(team, "meets", "above")
    again = evaluate(team, "meets", "above")
    evaluated = await to_appraisal([unreasoned, confirmed, again], TODAY_AT)
    assert evaluated[unreasoned.command_id]["data"]["reason"] == "override_reason_missing"
    assert evaluated[again.command_id]["data"]["reason"] == "already_evaluated"
    given = evaluated[confirmed.command_id]["data"]
    assert (given["proposed_result"], given["proposed_behaviour"], given["predikat"],
            given["override_reason"], given["evaluator_nip"]) == (
        "meets", "above", "baik", None, team.boss)

    codec = make_codec()
    view = await on_connection(appraisal.engine, lambda conn: skp_view(
        conn, codec, team.clerk, YEAR, TODAY))
    assert [(i.item_id, i.supports_item_id, i.supports_indicator) for i in view.items] == [
        ("C1", "B1", "Usulan kenaikan pangkat diproses"),
        ("C2", "B2", "Rekap absensi bulanan")]
    assert view.items[0].realised[M1 - 1:M3] == [5, 4, 5]
    assert view.items[1].realised[M3 - 1] == 2 and sum(view.items[1].realised) == 2
    assert [(e.period, e.predikat) for e in view.evaluations] == [(f"{YEAR}-Q{QUARTER}", "baik")]
    over_http = await http_get(appraisal, f"/appraisal/skp?nip={team.clerk}&year={YEAR}")
    assert over_http["items"][0]["realised"] == view.items[0].realised

    records = await on_connection(appraisal.engine, lambda conn: siasn_records(
        conn, codec, YEAR, QUARTER))
    mine = [r for r in records if r["nip"] == team.clerk]
    assert mine == [{
        "nip": team.clerk, "nama": f"Pegawai {team.clerk[-4:]}", "unit": "Biro Umum",
        "tahun": YEAR, "periode": "triwulan", "triwulan": QUARTER,
        "hasil_kerja": "SESUAI_EKSPEKTASI", "perilaku_kerja": "DIATAS_EKSPEKTASI",
        "predikat": "BAIK", "pejabat_penilai_nip": team.boss,
        "pejabat_penilai_nama": f"Pegawai {team.boss[-4:]}",
        "tanggal_penilaian": TODAY_AT.date().isoformat(), "alasan_penyesuaian": None}]

    from kinerja_cli.forms import MonthTPP, write_skp_pdf
    from pypdf import PdfReader

    pdf = write_skp_pdf(view, [MonthTPP(f"{YEAR}-{M1:02d}", 4_340_455, -12_000)],
                        tmp_path / "skp.pdf")
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    words = " ".join(text.split())
    assert f"SASARAN KINERJA PEGAWAI (SKP) {YEAR}" in words
    assert "Berkas kenaikan pangkat diverifikasi" in words
    assert "B1: Usulan kenaikan pangkat diproses" in words
    assert f"{YEAR}-Q{QUARTER}" in words and "Baik" in words
    assert "meets / meets" in words and "above / above" in words
    realised_row = " ".join(str(n) for n in view.items[0].realised) + " 14"
    assert realised_row in words
    assert "Rp 4.340.455" in words and "Rp 4.328.455" in words
