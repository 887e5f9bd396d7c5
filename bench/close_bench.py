"""Payroll at province scale from its own database: replay, projection and close (prints
figures; never fails on a time).

A seeded synthetic province (`province.py`) writes one month's history; one embedded PostgreSQL
serves the run. Measured, in this order, on one fresh payroll database:
(a) baselines: `json.loads` of every line, and PostgreSQL's own floor for storing them — the
    lines sent with COPY into a table of one `jsonb` column;
(b) replay: the history stored as payroll's fact consumer stores a backlog — each line decoded
    and validated (`inbox.receive`), then claimed in the inbox and kept (`intake.keep_facts`),
    5,000 a transaction — as an operator rebuilding payroll's store from an audit export would;
(c) projection: the projection keeper catching up with that backlog as the running service
    does (`refresh_once` while batches come full), until no fact is pending; then kept current
    while facts arrive at ingest rate: `--live` seconds (default 10) of 3,000 check-ins a
    second (the attendance pipeline's rate; copies of the month's own check-ins under new event
    ids), each second's stored and refreshed in turn, beside one whole recompute of the month;
(d) close: `close_period` of the month, from every stored fact, as `kinerja payroll close` runs
    it (results, MKD eligibility, the close's events in payroll's store).
Each stage prints its seconds and events/s, beside the baselines measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, time as clock
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

PERIOD = "2026-10"
BATCH = 5_000  # the fact consumer's poll, at most (`inbox.DEFAULT_BATCH` × partitions)
LIVE_RATE = 3_000  # facts a second while the projection is kept current
LIVE_SECONDS = 10


def generate(path: Path, employees: int, seed: int) -> int:
    import province

    return province.generate(path, employees=employees, seed=seed, period=PERIOD).lines


def time_json(path: Path) -> float:
    started = time.perf_counter()
    loads = json.loads
    with path.open("rb") as lines:
        for line in lines:
            loads(line)
    return time.perf_counter() - started


async def time_copy(engine: Any, path: Path) -> float:
    """Seconds to COPY every line into a one-column `jsonb` table (PostgreSQL's floor)."""
    async with engine.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE bench_floor (envelope jsonb NOT NULL)")
    started = time.perf_counter()
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        for chunk in chunks(path, BATCH * 10):
            await raw.copy_records_to_table("bench_floor", records=[(line,) for line in chunk],
                                            columns=["envelope"])
    seconds = time.perf_counter() - started
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DROP TABLE bench_floor")
    return seconds


def chunks(path: Path, size: int):
    """The history's lines (as text, blank lines left out), `size` at a time."""
    chunk: list[str] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                chunk.append(line.rstrip("\n"))
                if len(chunk) == size:
                    yield chunk
                    chunk = []
    if chunk:
        yield chunk


async def replay(engine: Any, path: Path, progress: Progress) -> int:
    """Store the history as payroll's consumer stores a backlog; the deliveries applied."""
    from kinerja_events.codec import make_codec
    from kinerja_events.inbox import apply_batch, receive
    from kinerja_payroll.intake import keep_facts

    codec, applied = make_codec(), 0
    for chunk in chunks(path, BATCH):
        deliveries = [receive(codec, line.encode()) for line in chunk]
        applied += await apply_batch(engine, "payroll-replay", deliveries, keep_facts)
        progress.add(len(chunk))
    return applied


async def project(engine: Any, rules: Any) -> tuple[Any, int]:
    """Catch the projection up with every stored fact, as the running keeper does; the keeper
    and the facts it folded."""
    from prometheus_client import CollectorRegistry

    from kinerja_payroll.projection import ProjectionKeeper, pending_facts

    keeper = ProjectionKeeper(engine, rules, CollectorRegistry())
    folded = await keeper.catch_up()
    async with engine.connect() as conn:
        assert await pending_facts(conn) == 0, "the projection left facts pending"
    return keeper, folded


async def time_whole_recompute(keeper: Any) -> float:
    """Seconds for the keeper to recompute every open month whole (as on a new day)."""
    keeper.fresh.clear()
    started = time.perf_counter()
    await keeper.recompute_all()
    return time.perf_counter() - started


def check_ins(path: Path, wanted: int) -> list[str]:
    """Up to `wanted` of the history's `CheckedIn` lines."""
    found: list[str] = []
    for chunk in chunks(path, BATCH):
        found += [line for line in chunk if '"type":"CheckedIn"' in line.replace(" ", "")]
        if len(found) >= wanted:
            break
    return found[:wanted]


async def keep_current(engine: Any, keeper: Any, path: Path, seconds: int
                       ) -> tuple[list[float], list[int]]:
    """Each simulated second: `LIVE_RATE` new check-ins (copies of the month's, under new event
    ids) stored as the fact consumer stores them, then one refresh of the keeper; the
    refreshes' seconds, and how many employees each second's check-ins named."""
    import uuid

    from kinerja_events.codec import make_codec
    from kinerja_events.inbox import apply_batch, receive
    from kinerja_payroll.intake import keep_facts

    codec, originals = make_codec(), check_ins(path, LIVE_RATE * seconds)
    refreshes, named = [], []
    for second in range(seconds):
        deliveries, nips = [], set()
        for n in range(second * LIVE_RATE, (second + 1) * LIVE_RATE):
            line = originals[n % len(originals)]  # a small province has fewer: copied again
            envelope = json.loads(line)
            envelope["event_id"] = str(uuid.uuid4())
            nips.add(envelope["data"]["nip"])
            deliveries.append(receive(codec, json.dumps(envelope).encode()))
        named.append(len(nips))
        await apply_batch(engine, "payroll-live", deliveries, keep_facts)
        started = time.perf_counter()
        await keeper.refresh_once()
        refreshes.append(time.perf_counter() - started)
    return refreshes, named


async def close(engine: Any) -> Any:
    from kinerja_events.store import PostgresEventStore
    from kinerja_events.types import WIB
    from kinerja_payroll.bootstrap import PayrollConfig
    from kinerja_payroll.ledger import close_period

    closed_at = datetime.combine(datetime.now(WIB).date(), clock(9), WIB)
    return await close_period(engine, PostgresEventStore(engine), PERIOD,
                              PayrollConfig().rule_file(), closed_at)


class Progress:
    """One line, rewritten: what a stage has done of its total."""

    def __init__(self, stage: str, total: int):
        self.stage, self.total, self.done = stage, total, 0
        self.started = time.perf_counter()

    def add(self, count: int) -> None:
        self.done += count
        elapsed = time.perf_counter() - self.started
        rate = self.done / elapsed if elapsed else 0.0
        print(f"\r  {self.stage}: {self.done:,}/{self.total:,} ({rate:,.0f}/s)", end="",
              file=sys.stderr, flush=True)

    def end(self) -> None:
        print(file=sys.stderr, flush=True)


def figure(name: str, count: int, seconds: float, baseline: float | None = None) -> str:
    ratio = f"   {seconds / baseline:5.2f}× json.loads" if baseline else ""
    return f"{name:<36}{count / seconds:>12,.0f} events/s  ({seconds:7.2f} s){ratio}"


async def measure(employees: int, seed: int, live: int = LIVE_SECONDS) -> int:
    from kinerja_events.embedded import EmbeddedInfra
    from kinerja_payroll.bootstrap import open_database
    from kinerja_payroll.rules import load_default_rules

    from kinerja_events.runtime import tune_garbage_collector
    from machine import describe

    tune_garbage_collector()  # as `kinerja payroll serve` does
    print(describe(employees=employees, seed=str(seed)), flush=True)
    data_dir = Path(tempfile.mkdtemp(prefix="kinerja-close-bench-"))
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(shutil.rmtree, data_dir, ignore_errors=True)
        history = data_dir / "history.jsonl"
        started = time.perf_counter()
        lines = generate(history, employees, seed)
        print(f"generated {lines:,} events of {employees:,} employees, seed {seed} "
              f"({history.stat().st_size / 2**20:,.0f} MiB) in {time.perf_counter() - started:.1f} s",
              flush=True)
        infra = EmbeddedInfra(data_dir / "infra", kafka=False, cleanup_mode="delete")
        stack.push_async_callback(infra.stop)
        await infra.start()
        engine = await open_database(infra.database_url("payroll"))
        stack.push_async_callback(engine.dispose)

        loads = time_json(history)
        print(figure("(a) json.loads", lines, loads), flush=True)
        floor = await time_copy(engine, history)
        print(figure("(a) COPY into a jsonb table", lines, floor, loads), flush=True)

        progress = Progress("replay", lines)
        started = time.perf_counter()
        stored = await replay(engine, history, progress)
        replayed = time.perf_counter() - started
        progress.end()
        print(figure("(b) replay into payroll's store", lines, replayed, loads)
              + f"   ({stored:,} facts kept)", flush=True)

        print("  projection catching up ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        keeper, folded = await project(engine, load_default_rules())
        projected = time.perf_counter() - started
        print(figure("(c) projection catching up", folded, projected, loads), flush=True)
        whole = await time_whole_recompute(keeper)
        refreshes, named = await keep_current(engine, keeper, history, live)
        refreshes.sort()
        print(f"(c) projection kept current: {len(refreshes)} s of {LIVE_RATE:,} facts/s "
              f"(naming {min(named):,}–{max(named):,} employees a second), a refresh median "
              f"{refreshes[len(refreshes) // 2]:.2f} s, max {refreshes[-1]:.2f} s   beside a "
              f"whole recompute of the month: {whole:.2f} s", flush=True)
        del keeper  # its facts: a province's month would otherwise be held twice by the close

        started = time.perf_counter()
        done = await close(engine)
        closing = time.perf_counter() - started
        print(figure("(d) close from payroll's database", stored, closing, loads)
              + f"   ({done.closed.employees:,} employees, Rp {done.closed.total_rupiah:,})",
              flush=True)
        peak = peak_mib()
        print(f"peak RSS of this process: {peak:,.0f} MiB ({peak / (lines / 1e6):,.0f} MiB per "
              "million events)")
    return 0


def peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = 50_000 if os.environ.get("BENCH_SCALE") == "jabar" else 1_000
    parser.add_argument("--employees", type=int, default=default,
                        help=f"province size (default {default:,}; BENCH_SCALE=jabar: 50,000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--live", type=int, default=LIVE_SECONDS,
                        help=f"seconds of {LIVE_RATE:,} facts/s the projection is kept current "
                             f"through (default {LIVE_SECONDS})")
    args = parser.parse_args(argv)
    return asyncio.run(measure(args.employees, args.seed, max(1, args.live)))


if __name__ == "__main__":
    sys.exit(main())
