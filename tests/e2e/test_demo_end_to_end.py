"""`kinerja demo` (what `make run` starts): the demo organisation's months driven through all
five services by the simulated gateway, closed, audited from `kinerja audit export`, observable
on `/metrics` and `/health`, attachable, and stopped cleanly by SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from kinerja_cli.drive import LEADERS, demo_periods
from kinerja_cli.run import READY_LINE
from kinerja_events.embedded import (
    ENDPOINTS_FILE,
    PlatformNotRunning,
    attach_endpoints,
    free_port,
)
from kinerja_events.settings import Settings
from kinerja_events.types import WIB

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DEMO_TIMEOUT = 400.0  # a stuck-detector, not a speed target (about 70 s here)
STOP_TIMEOUT = 30.0
STAFF = "2"  # staff per section: a 40-person OPD keeps the test short


def test_the_demo_months_are_the_two_before_today_and_reach_back_to_a_quarters_end() -> None:
    from kinerja_cli.demo import evaluation_quarter

    assert demo_periods(date(2026, 11, 22)) == ["2026-09", "2026-10"]
    assert demo_periods(date(2026, 1, 1)) == ["2025-11", "2025-12"]
    assert demo_periods(date(2026, 3, 31)) == ["2025-12", "2026-01", "2026-02"]
    assert demo_periods(date(2026, 12, 7)) == ["2026-09", "2026-10", "2026-11"]
    assert evaluation_quarter(demo_periods(date(2026, 12, 7)), date(2026, 12, 7)) == (2026, 3)
    day = date(2025, 1, 1)
    while day.year == 2025:  # every day of a year: some quarter is evaluated
        assert evaluation_quarter(demo_periods(day), day) is not None, day
        day += timedelta(days=1)


def test_each_demo_month_sends_the_same_commands_on_every_run_and_others_than_its_neighbour(
        ) -> None:
    from kinerja_cli.demo import build_organisation, simulate_month

    org = build_organisation(2)

    def ids(period: str) -> set:
        return {s.command.command_id for day in simulate_month(org, period) for w in day.waves
                for s in w.sends}

    assert ids("2026-10") == ids("2026-10")
    assert not ids("2026-09") & ids("2026-10")


def test_the_demo_organisation_is_an_opd_of_over_200_in_four_levels() -> None:
    from kinerja_cli.demo import build_organisation

    org = build_organisation()
    assert len(org.people) >= 200
    levels = {p.position_code for p in org.people}
    assert {"KADIS", "KABID", "KASUBBAG"} <= levels
    assert any(p.position.mobile for p in org.people)
    assert any(p.position.public_service for p in org.people)


async def test_attaching_without_a_running_platform_says_how_to_start_it() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="kinerja-attach-"))
    try:
        with pytest.raises(PlatformNotRunning, match="start it with `make run`"):
            await attach_endpoints(Settings(data_dir=data_dir))
        (data_dir / ENDPOINTS_FILE).write_text(
            '{"kafka_bootstrap": "127.0.0.1:1", "database_base_url": "x", "pid": 999999999}')
        with pytest.raises(PlatformNotRunning, match="is gone"):
            await attach_endpoints(Settings(data_dir=data_dir))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fresh data directory (not under pytest's basetemp, which other runs may delete)."""
    path = Path(tempfile.mkdtemp(prefix="kinerja-run-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("KINERJA_KAFKA", "KINERJA_DATABASE_URL")}
    env.update(KINERJA_DATA_DIR=str(data_dir), **extra)
    return env


def start_demo(data_dir: Path, metrics_port: int) -> subprocess.Popen[bytes]:
    """`kinerja demo` on the embedded default under `data_dir`; stdout to out.log."""
    with open(data_dir / "out.log", "wb") as out, open(data_dir / "err.log", "wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "kinerja_cli.main", "demo", "--staff-per-section", STAFF],
            cwd=REPO, env=environment(data_dir, KINERJA_METRICS_PORT=str(metrics_port)),
            stdout=out, stderr=err, stdin=subprocess.DEVNULL)


async def wait_for_line(process: subprocess.Popen[bytes], log: Path, text: str,
                        timeout: float) -> None:
    """Until `log` has a line containing `text`; fails if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            pytest.fail(f"kinerja demo exited with {process.returncode}:\n"
                        f"{(log.parent / 'err.log').read_text(errors='replace')[-3000:]}")
        await asyncio.sleep(0.5)
    pytest.fail(f"no {text!r} in {log} after {timeout}s")


def run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A `kinerja` command attached to the platform running under `data_dir`."""
    return subprocess.run([sys.executable, "-m", "kinerja_cli.main", *args], cwd=REPO,
                          env=environment(data_dir), capture_output=True, text=True,
                          timeout=120)


def processes_mentioning(*needles: str) -> list[str]:
    """Command lines of live processes that contain any of `needles`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().split(") ", 1)[1][:1]
        except OSError:
            continue
        if state != "Z" and any(n in cmdline for n in needles):
            found.append(cmdline)
    return found


def scrape(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        return response.read().decode()


def sample(metrics: str, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    total = 0.0
    for line in metrics.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


async def check_skps_and_evaluations(data_dir: Path, out: str) -> None:
    """The demo's SKPs and its quarter's evaluation, as the report, SIASN's export and the
    printed form show them."""
    from pypdf import PdfReader

    from kinerja_cli.demo import build_organisation, evaluation_quarter

    today = datetime.now(WIB).date()
    org = build_organisation(int(STAFF))
    years = {p[:4] for p in demo_periods(today)}
    assert f"SKP: {len(org.people) * len(years)} approved" in out.replace(",", "")
    found = evaluation_quarter(demo_periods(today), today)
    assert found is not None
    year, quarter = found
    assert f"Evaluation {year}-Q{quarter}: " in out
    exported = await asyncio.to_thread(run_cli, data_dir, "report", "siasn", str(year),
                                       "--quarter", str(quarter))
    assert exported.returncode == 0, exported.stderr
    records = json.loads(exported.stdout)
    evaluated = {p.nip for p in org.people if p.superior_nip is not None}
    assert {r["nip"] for r in records} == evaluated
    assert {r["triwulan"] for r in records} == {quarter}
    assert {r["predikat"] for r in records} <= {"SANGAT_BAIK", "BAIK", "BUTUH_PERBAIKAN",
                                                "KURANG", "SANGAT_KURANG"}
    staff = next(p for p in org.people if p.position_code not in LEADERS)
    mine = next(r for r in records if r["nip"] == staff.nip)
    printed = await asyncio.to_thread(run_cli, data_dir, "report", "skp", staff.nip, str(year),
                                      "--out", str(data_dir / "forms"), "--json")
    assert printed.returncode == 0, printed.stderr
    [written] = json.loads(printed.stdout)
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(written["pdf"]).pages)
                    .split())
    assert staff.name in text and f"{year}-Q{quarter}" in text
    assert mine["predikat"].replace("_", " ").title() in text
    assert all(f"{t.name} ({t.unit})" in text for t in staff.position.tasks)
    assert "Sample SKP form (PDF): " in out


async def test_the_demo_closes_two_months_that_the_audit_export_reproduces(data_dir: Path
                                                                           ) -> None:
    metrics_port = free_port()
    last = demo_periods(datetime.now(WIB).date())[-1]
    process = start_demo(data_dir, metrics_port)
    try:
        await wait_for_line(process, data_dir / "out.log", READY_LINE, DEMO_TIMEOUT)
        out = (data_dir / "out.log").read_text()
        assert f"TPP {last} per unit (closed):" in out
        assert "Top 5" in out and "Bottom 5" in out and "MKD earned for" in out
        assert "Bidang Pengawasan" in out and "TOTAL" in out

        # The closed month, as the payroll office sees it, is what the audit export computes.
        shown = await asyncio.to_thread(run_cli, data_dir, "payroll", "show", last, "--json")
        assert shown.returncode == 0, shown.stderr
        closed = {row["nip"]: row["total_rupiah"] for row in map(json.loads,
                                                                  shown.stdout.splitlines())}
        history = data_dir / "history.jsonl"
        exported = await asyncio.to_thread(run_cli, data_dir, "audit", "export", "--out",
                                           str(history))
        assert exported.returncode == 0, exported.stderr
        computed = await asyncio.to_thread(run_cli, data_dir, "payroll", "compute", "--events",
                                           str(history), "--period", last)
        assert computed.returncode == 0, computed.stderr
        assert {row["nip"]: row["total_rupiah"] for row in map(
            json.loads, computed.stdout.splitlines())} == closed
        sources = {json.loads(line)["source"] for line in history.read_text().splitlines()}
        assert sources == {"hr", "attendance", "worklog", "appraisal", "mkd", "payroll"}
        verified = await asyncio.to_thread(run_cli, data_dir, "audit", "verify", last,
                                           "--events", str(history))
        assert verified.returncode == 0 and "MATCH" in verified.stdout, verified.stdout

        # What the demo did shows in /metrics and /health.
        metrics = await asyncio.to_thread(scrape, metrics_port, "/metrics")
        for service in ("attendance", "worklog", "appraisal", "mkd"):
            assert sample(metrics, "kinerja_commands_total", service=service,
                          outcome="accepted") > 0, service
        assert sample(metrics, "kinerja_outbox_published_total") > 0
        assert sample(metrics, "kinerja_payroll_facts_folded_total") > 0
        deadline = time.monotonic() + 30  # the close counter reads every few seconds
        while sample(metrics, "kinerja_payroll_closes_total", outcome="closed") < 2:
            assert time.monotonic() < deadline, "the two closes were not counted"
            await asyncio.sleep(1)
            metrics = await asyncio.to_thread(scrape, metrics_port, "/metrics")
        assert sample(metrics, "kinerja_payroll_close_seconds_count") >= 2
        health = json.loads(await asyncio.to_thread(scrape, metrics_port, "/health"))
        assert health["status"] == "ok"
        for service in ("attendance", "worklog", "appraisal", "mkd", "payroll"):
            assert {"consumer_lag", "outbox_backlog", "dead_letters"} <= set(
                health["services"][service]), service

        await check_skps_and_evaluations(data_dir, out)

        status = await asyncio.to_thread(run_cli, data_dir, "status")
        assert status.returncode == 0, status.stderr
        for service in ("attendance", "worklog", "appraisal", "mkd", "payroll"):
            assert f"\n{service}" in status.stdout

        endpoints = await attach_endpoints(Settings(data_dir=data_dir))
        process.send_signal(signal.SIGTERM)
        returncode = await asyncio.to_thread(process.wait, STOP_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert returncode == 0
    assert "Traceback" not in (data_dir / "err.log").read_text()
    assert not (data_dir / ENDPOINTS_FILE).exists()
    broker_port = endpoints.kafka_bootstrap.rpartition(":")[2]
    assert processes_mentioning(str(data_dir / "pg"), f"127.0.0.1:{broker_port}") == []
