"""Command throughput of the attendance service on the real broker and PostgreSQL (prints figures;
never fails on a time).

One embedded PostgreSQL + Tansu serves the whole run, and one attendance service runs on it,
started as the integration tests start it. Each run measures, in turn:
(a) baseline: `--commands` signed CheckIn messages sent one by one with `send_command` (as the
    gateway sends them) to a topic of their own and read back by a plain aiokafka consumer: the
    broker round trip alone, no service and no database;
(b) the service: as many signed CheckIn commands sent to `kinerja.commands.attendance`, from
    ~50 employees registered for that run (office mode, at the office, `at` a few seconds ago,
    a fresh command id each), timed from the first send until the service's `commands` table
    holds every command id (polled every 0.1 s).
Every run prints messages/s of (a), decided commands/s of (b), how many commands were accepted
and rejected (the event types their outcomes stored in `events`), and the p50/p95 of the service's
own `kinerja_attendance_command_seconds` histogram over that run (interpolated in its buckets, as
Prometheus' `histogram_quantile` does). Then come the medians and the ratio of the median times.

Each run registers employees of its own (`--employees`, default 50), so that every run starts
from empty employee streams; fewer employees make longer streams (an instance folds an
employee's stream once and then reads only what was appended since, so length should not
matter: `--employees 5` shows whether it does). A few commands are
decided before the first run, untimed, so that no run pays for the consumer group joining or the
connection pools filling.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

GATEWAY_KEY = b"bench-gateway-key"
HR_KEY = b"bench-hr-key"
EMPLOYEES = 50
WARM_UP_COMMANDS = 20
POLL_SECONDS = 0.1
# Not a performance target: only how long to wait before calling the service stuck.
DECIDE_TIMEOUT_SECONDS = 300.0
LATENCY_METRIC = "kinerja_attendance_command_seconds"
OFFICE_ID = "BENCH-GS"
DESK_CODE = "BENCH-DESK"


@dataclass(frozen=True)
class ServiceRun:
    """What one run of (b) measured."""

    seconds: float
    send_seconds: float
    outcomes: dict[str, int]
    latency_p50: float | None
    latency_p95: float | None


@dataclass(frozen=True)
class Bench:
    """The running pieces a measurement needs."""

    bootstrap: str
    producer: Any
    service: Any
    registry: Any
    engine: Any


# --- commands and reference data ------------------------------------------------------------
def office() -> Any:
    from kinerja_events import events as ev

    return ev.OfficeRegistered(office_id=OFFICE_ID, name="Gedung Sate", lat=-6.902481,
                               lon=107.618810, radius_m=200)


def desk() -> Any:
    from kinerja_events import events as ev

    return ev.PositionDefined(position_code=DESK_CODE, name="Analis", kelas_jabatan=9,
                              mobile=False, public_service=False, tasks=[])


def random_nips(count: int) -> list[str]:
    return ["19" + "".join(random.choices("0123456789", k=16)) for _ in range(count)]


def make_check_ins(nips: list[str], count: int) -> list[Any]:
    """`count` valid office check-ins, round-robin over `nips`, each with its own command id."""
    from kinerja_events import commands as cmd
    from kinerja_events.types import WIB

    place = office()
    now = datetime.now(WIB).replace(microsecond=0)
    return [
        cmd.CheckIn(command_id=uuid.uuid4(), actor_nip=nips[i % len(nips)], sent_at=now,
                    at=now - timedelta(seconds=3 + i % 5), lat=place.lat, lon=place.lon,
                    accuracy_m=10, mode="office", mock_location=False)
        for i in range(count)
    ]


def employee_envelopes(nips: list[str]) -> list[Any]:
    from kinerja_events import events as ev
    from kinerja_events.publishing import envelope_of
    from kinerja_events.types import WIB

    at = datetime.now(WIB) - timedelta(days=1)
    return [
        envelope_of(ev.EmployeeRegistered(nip=nip, name="Pegawai", position_code=DESK_CODE,
                                          unit="Biro", office_id=OFFICE_ID, superior_nip=None,
                                          effective_date=date(2026, 1, 1)),
                    source="hr", stream_id=f"employee:{nip}", occurred_at=at)
        for nip in nips
    ]


def workplace_envelopes() -> list[Any]:
    from kinerja_events.publishing import envelope_of
    from kinerja_events.types import WIB

    at = datetime.now(WIB) - timedelta(days=1)
    return [envelope_of(office(), source="hr", stream_id=f"office:{OFFICE_ID}", occurred_at=at),
            envelope_of(desk(), source="hr", stream_id=f"position:{DESK_CODE}", occurred_at=at)]


async def register(bench: Bench, envelopes: list[Any]) -> None:
    """Publish HR facts and wait until the service holds every one of them."""
    from kinerja_attendance.projection import count_held, kept
    from kinerja_events.codec import make_codec
    from kinerja_events.publishing import publish_envelopes

    await publish_envelopes(bench.producer, make_codec(), envelopes)
    async with asyncio.timeout(DECIDE_TIMEOUT_SECONDS):
        while True:
            async with bench.engine.connect() as conn:
                if await conn.scalar(count_held(envelopes)) == kept(envelopes):
                    return
            await asyncio.sleep(POLL_SECONDS)


async def send_all(producer: Any, service: str, commands: list[Any]) -> None:
    from kinerja_events.publishing import send_command

    for command in commands:
        await send_command(producer, service, command, GATEWAY_KEY)


# --- (a) the broker round trip --------------------------------------------------------------
async def time_baseline(bench: Bench, count: int) -> float:
    """Seconds to send `count` signed check-ins to a fresh topic and read them all back."""
    from broker import create_topic, time_round_trip
    from kinerja_events.topics import commands_topic

    service = f"bench-{uuid.uuid4().hex[:8]}"
    await create_topic(bench.bootstrap, commands_topic(service))
    commands = make_check_ins(random_nips(EMPLOYEES), count)
    return await time_round_trip(bench.bootstrap, commands_topic(service), count,
                                 lambda: send_all(bench.producer, service, commands),
                                 DECIDE_TIMEOUT_SECONDS)


# --- (b) the attendance service -------------------------------------------------------------
async def time_service(bench: Bench, count: int, employees: int) -> ServiceRun:
    """Register fresh employees, then time `count` check-ins until every one is decided."""
    nips = random_nips(employees)
    await register(bench, employee_envelopes(nips))
    commands = make_check_ins(nips, count)
    ids = [command.command_id for command in commands]
    latency_before = latency_buckets(bench.registry)
    started = time.perf_counter()
    await send_all(bench.producer, "attendance", commands)
    send_seconds = time.perf_counter() - started
    await wait_decided(bench.engine, ids)
    seconds = time.perf_counter() - started
    latency = subtract_buckets(latency_buckets(bench.registry), latency_before)
    return ServiceRun(seconds=seconds, send_seconds=send_seconds,
                      outcomes=await count_outcomes(bench.engine, ids),
                      latency_p50=quantile(0.5, latency), latency_p95=quantile(0.95, latency))


async def wait_decided(engine: Any, ids: list[uuid.UUID]) -> None:
    """Until the `commands` table holds every one of `ids`."""
    from sqlalchemy import func, select

    from kinerja_events.db import commands

    query = select(func.count()).select_from(commands).where(commands.c.command_id.in_(ids))
    deadline = time.monotonic() + DECIDE_TIMEOUT_SECONDS
    while True:
        async with engine.connect() as conn:
            decided = await conn.scalar(query)
        if decided == len(ids):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the service decided {decided} of {len(ids)} commands "
                               f"in {DECIDE_TIMEOUT_SECONDS:.0f} s: it looks stuck")
        await asyncio.sleep(POLL_SECONDS)


async def count_outcomes(engine: Any, ids: list[uuid.UUID]) -> dict[str, int]:
    """How many events of each type the commands `ids` stored as their outcome."""
    from sqlalchemy import func, select

    from kinerja_events.db import commands, events

    query = (
        select(events.c.type, func.count())
        .select_from(commands.join(events, events.c.event_id == commands.c.event_ids.any_()))
        .where(commands.c.command_id.in_(ids))
        .group_by(events.c.type)
    )
    async with engine.connect() as conn:
        return {row[0]: row[1] for row in await conn.execute(query)}


# --- the service's latency histogram --------------------------------------------------------
def latency_buckets(registry: Any) -> list[tuple[float, float]] | None:
    """The cumulative (upper bound, count) buckets of the CheckIn latency, or None when the
    registry has no such histogram."""
    for metric in registry.collect():
        if metric.name != LATENCY_METRIC:
            continue
        if metric.type != "histogram":
            return None
        return sorted((float(sample.labels["le"]), sample.value) for sample in metric.samples
                      if sample.name.endswith("_bucket") and sample.labels.get("type") == "CheckIn")
    return None


def subtract_buckets(after: list[tuple[float, float]] | None,
                     before: list[tuple[float, float]] | None) -> list[tuple[float, float]] | None:
    """The buckets of what was observed between two snapshots."""
    if after is None:
        return None
    earlier = dict(before or ())
    return [(bound, count - earlier.get(bound, 0.0)) for bound, count in after]


def quantile(q: float, buckets: list[tuple[float, float]] | None) -> float | None:
    """The `q` quantile, interpolated linearly inside its bucket (as `histogram_quantile`)."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # beyond the highest finite bucket: its bound is all we know
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 1.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return None


# --- setting up and tearing down ------------------------------------------------------------
async def start_bench(stack: contextlib.AsyncExitStack) -> Bench:
    """Start the infrastructure, a producer and the service; `stack` stops them all."""
    from kinerja_attendance.bootstrap import AttendanceConfig, build_service
    from kinerja_attendance.handlers import Keys
    from broker import start_platform
    from kinerja_events.db import make_engine
    from kinerja_events.observability import make_registry

    infra, producer = await start_platform(stack)
    url = await infra.create_database(f"bench_{uuid.uuid4().hex[:12]}")
    registry = make_registry()
    # Tansu makes a joining consumer wait about half its session timeout: keep it short.
    service = await build_service(
        infra.kafka_bootstrap, url, AttendanceConfig(keys=Keys(GATEWAY_KEY, HR_KEY)), registry,
        group_prefix=f"bench-{uuid.uuid4().hex[:8]}", session_timeout_ms=2000,
        heartbeat_interval_ms=300)
    stack.push_async_callback(service.stop)
    await service.start()
    # An engine of our own, so that polling takes no connection from the service's pool.
    engine = make_engine(url)
    stack.push_async_callback(engine.dispose)
    return Bench(infra.kafka_bootstrap, producer, service, registry, engine)


async def warm_up(bench: Bench) -> None:
    """Decide a few commands, untimed: the consumer group joins and the pools fill here."""
    await register(bench, workplace_envelopes())
    nips = random_nips(1)
    await register(bench, employee_envelopes(nips))
    commands = make_check_ins(nips, WARM_UP_COMMANDS)
    await send_all(bench.producer, "attendance", commands)
    await wait_decided(bench.engine, [command.command_id for command in commands])


# --- reporting ------------------------------------------------------------------------------
def milliseconds(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.1f} ms"


def describe_outcomes(outcomes: dict[str, int]) -> str:
    return ", ".join(f"{kind} {count:,}" for kind, count in sorted(outcomes.items())) or "none"


def print_run(number: int, count: int, baseline: float, run: ServiceRun) -> None:
    print(f"  run {number} baseline: {count / baseline:>8,.0f} messages/s ({baseline:.2f} s)",
          flush=True)
    latency = (f"; command_seconds p50 {milliseconds(run.latency_p50)}, "
               f"p95 {milliseconds(run.latency_p95)}" if run.latency_p50 is not None else "")
    print(f"  run {number} service : {count / run.seconds:>8,.0f} commands/s ({run.seconds:.2f} s, "
          f"sent in {run.send_seconds:.2f} s; {describe_outcomes(run.outcomes)}{latency})",
          flush=True)


def print_summary(count: int, baselines: list[float], runs: list[ServiceRun]) -> None:
    base_s = statistics.median(baselines)
    service_s = statistics.median(run.seconds for run in runs)
    print(f"medians of {len(runs)} run(s) of {count:,} commands:")
    print(f"(a) broker round trip : {count / base_s:>8,.0f} messages/s ({base_s:.2f} s)")
    print(f"(b) attendance service: {count / service_s:>8,.0f} commands/s ({service_s:.2f} s)")
    p50s = [run.latency_p50 for run in runs if run.latency_p50 is not None]
    p95s = [run.latency_p95 for run in runs if run.latency_p95 is not None]
    if p50s and p95s:
        print(f"    {LATENCY_METRIC}{{type=CheckIn}}: p50 {milliseconds(statistics.median(p50s))}, "
              f"p95 {milliseconds(statistics.median(p95s))}")
    ratios = ", ".join(f"{run.seconds / base:.1f}" for base, run in zip(baselines, runs))
    print(f"ratio (b)/(a) time    : {service_s / base_s:.1f}×  "
          f"(ratio of medians; per run {ratios})")


# --- the whole run --------------------------------------------------------------------------
async def measure_all(count: int, runs: int, employees: int) -> int:
    from kinerja_events.observability import configure_logging
    from machine import describe

    print(describe(commands=count, runs=runs, employees=employees), flush=True)

    configure_logging("WARNING")
    async with contextlib.AsyncExitStack() as stack:
        started = time.perf_counter()
        bench = await start_bench(stack)
        await warm_up(bench)
        print(f"infrastructure and service up, warmed up, in {time.perf_counter() - started:.1f} s",
              flush=True)
        baselines: list[float] = []
        service_runs: list[ServiceRun] = []
        for number in range(1, runs + 1):
            baselines.append(await time_baseline(bench, count))
            service_runs.append(await time_service(bench, count, employees))
            print_run(number, count, baselines[-1], service_runs[-1])
        print_summary(count, baselines, service_runs)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=2000, help="commands per run")
    parser.add_argument("--runs", type=int, default=3, help="runs of (a) and (b) (median)")
    parser.add_argument("--employees", type=int, default=EMPLOYEES,
                        help="employees the commands of a run are spread over (fewer: longer "
                             "streams)")
    args = parser.parse_args(argv)
    return asyncio.run(measure_all(max(1, args.commands), max(1, args.runs),
                                   max(1, args.employees)))


if __name__ == "__main__":
    sys.exit(main())
