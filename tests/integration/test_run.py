"""`kinerja run --demo`: the whole platform in one process, seeded, attachable, and stopped
cleanly by SIGTERM (no PostgreSQL or broker left behind)."""

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
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kinerja_cli.run import SEEDED_LINE, demo_event_id, demo_seed, previous_period
from kinerja_events.db import events, make_engine
from kinerja_events.embedded import (
    ENDPOINTS_FILE,
    PlatformNotRunning,
    attach_endpoints,
    free_port,
    wait_for_broker,
)
from kinerja_events.settings import Settings
from kinerja_events.types import WIB

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SEED_TIMEOUT = 150.0  # a stuck-detector, not a speed target (seeding takes ~20 s here)
STOP_TIMEOUT = 20.0


def test_the_demo_month_is_the_calendar_month_before_today() -> None:
    assert previous_period(date(2026, 11, 22)) == "2026-10"
    assert previous_period(date(2026, 1, 1)) == "2025-12"
    assert previous_period(date(2026, 3, 31)) == "2026-02"


def test_demo_event_ids_are_the_same_on_every_run() -> None:
    assert demo_event_id("hr", "office:GS", 1) == demo_event_id("hr", "office:GS", 1)
    assert demo_event_id("hr", "office:GS", 1) != demo_event_id("hr", "office:GS", 2)


def test_each_demo_month_has_its_own_command_ids() -> None:
    from kinerja_cli.demo import demo_people, simulate_month

    people = demo_people()
    ids = {period: {c.command_id for c in simulate_month(people, period, demo_seed(period)).commands}
           for period in ("2026-09", "2026-10")}
    assert ids["2026-10"] == {c.command_id for c in simulate_month(
        people, "2026-10", demo_seed("2026-10")).commands}
    assert not ids["2026-09"] & ids["2026-10"]


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


def start_platform(data_dir: Path, metrics_port: int) -> subprocess.Popen[bytes]:
    """`kinerja run --demo` on the embedded default under `data_dir`; stdout to out.log."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("KINERJA_KAFKA", "KINERJA_DATABASE_URL")}
    env.update(KINERJA_DATA_DIR=str(data_dir), KINERJA_METRICS_PORT=str(metrics_port))
    with open(data_dir / "out.log", "wb") as out, open(data_dir / "err.log", "wb") as err:
        return subprocess.Popen([sys.executable, "-m", "kinerja_cli.main", "run", "--demo"],
                                cwd=REPO, env=env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL)


async def wait_for_line(process: subprocess.Popen[bytes], log: Path, text: str,
                        timeout: float) -> str:
    """The first line of `log` containing `text`; fails if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if text in line:
                return line
        if process.poll() is not None:
            pytest.fail(f"kinerja run exited with {process.returncode}:\n"
                        f"{(log.parent / 'err.log').read_text(errors='replace')[-3000:]}")
        await asyncio.sleep(0.2)
    pytest.fail(f"no {text!r} in {log} after {timeout}s")


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


def run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A `kinerja` admin command attached to the platform running under `data_dir`."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("KINERJA_KAFKA", "KINERJA_DATABASE_URL")}
    env["KINERJA_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "kinerja_cli.main", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def demo_size(seeded_line: str) -> int:
    """The employee count in the seeded line ("Demo seeded: 8 employees, ...")."""
    return int(seeded_line.split(SEEDED_LINE + ": ", 1)[1].split(" employees", 1)[0])


async def count_events(database_url: str) -> int:
    """Rows in the event table of the database at `database_url`."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(events))).scalar_one())
    finally:
        await engine.dispose()


async def test_kinerja_run_demo_seeds_is_attachable_and_stops_cleanly_on_sigterm(
        data_dir: Path) -> None:
    metrics_port = free_port()
    process = start_platform(data_dir, metrics_port)
    try:
        seeded = await wait_for_line(process, data_dir / "out.log", SEEDED_LINE, SEED_TIMEOUT)
        assert "CheckedIn" in seeded

        endpoints = await attach_endpoints(Settings(data_dir=data_dir))
        assert endpoints.infra is None
        await wait_for_broker(endpoints.kafka_bootstrap, timeout=5)
        assert await count_events(endpoints.database_url("attendance")) > 0
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as response:
            assert b"kinerja_attendance_checks_total" in response.read()

        # Seeded means payroll already holds and projects the whole demo month.
        period = previous_period(datetime.now(WIB).date())
        preview = await asyncio.to_thread(run_cli, data_dir, "payroll", "preview", period,
                                          "--json")
        assert preview.returncode == 0, preview.stderr
        assert "not in this projection yet" not in preview.stderr
        lines = [json.loads(line) for line in preview.stdout.splitlines()]
        assert len(lines) == demo_size(seeded)
        assert all(line["name"] and line["unit"] == "Biro Organisasi" for line in lines)
        table = await asyncio.to_thread(run_cli, data_dir, "payroll", "show", period)
        assert table.returncode == 0, table.stderr
        assert f"TPP {period} (open: projected so far)" in table.stdout
        assert f"{demo_size(seeded)} employees" in table.stdout
        assert "Ir. Bambang Sutrisno" in table.stdout  # names, not only NIPs
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/health") as response:
            health = json.loads(response.read())
        assert health["status"] == "ok" and {"attendance", "payroll"} <= set(health["services"])

        process.send_signal(signal.SIGTERM)
        returncode = await asyncio.to_thread(process.wait, STOP_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert returncode == 0
    assert not (data_dir / ENDPOINTS_FILE).exists()
    broker_port = endpoints.kafka_bootstrap.rpartition(":")[2]
    assert processes_mentioning(str(data_dir / "pg"), f"127.0.0.1:{broker_port}") == []
