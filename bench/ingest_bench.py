"""Open-loop ingestion through attendance, alone, and then payroll catching up, on the real
broker and PostgreSQL (prints figures; never fails on a time).

One embedded PostgreSQL + Tansu serves the whole run. Attendance and payroll each run in a
process of their own, the way production runs them: `kinerja attendance serve` and `kinerja
payroll serve` (`python -m kinerja_cli.main`), pointed at the platform by `KINERJA_KAFKA` and
`KINERJA_DATABASE_URL` (each service on its own database, `attendance` and `payroll`, on that
server), with `KINERJA_FETCH_MAX_WAIT_MS=20` and `KINERJA_LOG_LEVEL=ERROR`; their output goes to
log files in a temporary directory (shown if one dies, which stops the bench), and they are
stopped with SIGINT at the end. This process only drives and measures: it reads the services'
databases through engines of its own. Only attendance is started at first. `--employees`
(default 500) employees of one office are registered through HR facts on `kinerja.hr`;
attendance is ready when it holds them, and a few untimed check-ins have been decided, before
anything is timed. A gateway runs in a process of its own (spawned) and sends signed office
`CheckIn`s (`at` = now, a fresh command id each, cycling over the employees, keyed by NIP) open
loop: every ~5 ms it sends the messages due at `--rate` per second (default 3,000) for
`--seconds` (default 60), batched by the producer (linger 10 ms, acks awaited in bulk at the
end), never waiting for anyone. It reports how far it fell behind its schedule and the rate it
achieved. The phases, in this order:
(1) baseline: the same gateway sends as many messages at the same rate to a topic of their own,
    read back live by a plain aiokafka consumer: the broker round trip alone, no service and no
    database; latency = read time - the record's timestamp (the producer's CreateTime);
(2) attendance alone (payroll's process is not running yet): the gateway sends to
    `kinerja.commands.attendance`; the service's outcomes on `kinerja.attendance` (CheckedIn /
    CheckInRejected) are counted live until there is one per command, or for at most 120 s
    after the gateway's last send: the outcomes published by then are the ones "decided".
    Afterwards the run's commands and outcomes (the records stamped in that time) are read back
    in a spawned process, off the measuring event loop, and matched by the outcomes'
    `causation_id`. Latency = the outcome record's timestamp (the relay's CreateTime) - the
    command record's timestamp; the last outcome is reported as seconds after the gateway's
    last send (how far behind the service ended). Also shown: the rows of the service's own
    `commands` table (the commands it recorded since the run began, and all).
In (1) and (2) the p99 of each 15 s of sending is printed, and beside it the cores the embedded
broker kept busy in each (sampled from /proc every second): Tansu lists every stored batch of a
partition on each fetch, so its CPU grows as the run goes on;
(3) payroll catching up: only now is payroll's process started, on an empty database. Its
    consumers read every fact topic from the beginning, so one payroll instance consumes a
    backlog: the HR facts, and every event on `kinerja.attendance` (the warm-up's and the
    run's), of which it keeps all but the rejections. Its `facts` table is sampled every second
    from the moment its process was started; it is ready once it holds the registered HR facts,
    and is then awaited (at most 600 s from its start) until it held as many facts as the
    backlog, and until, besides, none was pending projection. Facts/s = the backlog's facts /
    the seconds from its start to those moments (its start-up included); then how many of the
    backlog's very facts (by event id) it holds.
Rates over a steady window leave out the first and last 5 s of the gateway's sending (a quarter
of it, when shorter than 20 s). The running service(s), the measuring, the gateway, the broker
and PostgreSQL all share the machine's cores; attendance (idle by then) still runs during (3).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, NamedTuple

RATE = 3000
SECONDS = 60.0
QUICK_RATE = 500
QUICK_SECONDS = 10.0
EMPLOYEES = 500
SEED = 1
TICK_SECONDS = 0.005
LINGER_MS = 10
# Every consumer's, the services' too: with aiokafka's 500 ms, Tansu answers fetches late.
FETCH_MAX_WAIT_MS = 20
WINDOW_SECONDS = 15.0
EDGE_SECONDS = 5.0
WARM_UP_COMMANDS = 20
POLL_SECONDS = 0.1
SAMPLE_SECONDS = 1.0
# Not performance targets: only how long to wait before calling a pipeline stuck or done.
SETUP_TIMEOUT_SECONDS = 300.0
OUTCOME_WAIT_SECONDS = 120.0
PAYROLL_WAIT_SECONDS = 600.0
READ_TIMEOUT_SECONDS = 600.0
STOP_SECONDS = 20.0
WATCH_SECONDS = 0.5


@dataclass(frozen=True)
class GatewayPlan:
    """What the gateway process sends: `rate` check-ins/s for `seconds` to `topic`."""

    bootstrap: str
    topic: str
    nips: list[str]
    rate: float
    seconds: float


@dataclass(frozen=True)
class GatewayReport:
    """What the gateway did (wall-clock seconds, the clock of the records' timestamps)."""

    sent: int
    started: float
    finished: float
    max_behind: float

    @property
    def rate(self) -> float:
        return self.sent / max(self.finished - self.started, 1e-9)


class Outcome(NamedTuple):
    """An event on `kinerja.attendance` caused by a command."""

    command_id: str
    type: str
    event_id: str
    timestamp_ms: int


@dataclass(frozen=True)
class ReadBack:
    """The run's commands (command id → record timestamp, ms) and the outcomes after them."""

    sent_ms: dict[str, int]
    outcomes: list[Outcome]


class Read(NamedTuple):
    """When a record was read (wall clock), and its timestamp (ms)."""

    at: float
    timestamp_ms: int


class CpuSample(NamedTuple):
    """The CPU seconds a process had used (user + system) at a moment (wall clock)."""

    at: float
    seconds: float


@dataclass(frozen=True)
class BaselineRun:
    gateway: GatewayReport
    reads: list[Read]
    broker_cpu: list[CpuSample]


@dataclass(frozen=True)
class ServiceRun:
    gateway: GatewayReport
    read_back: ReadBack
    latencies_ms: list[float]
    decided_at: list[float]
    counts: dict[str, int]
    commands_table: tuple[int, int]  # its rows recorded since the run began, all rows
    first_ids: list[str]  # the command of each latency, in the same order
    broker_cpu: list[CpuSample]


class Sample(NamedTuple):
    """Payroll's `facts` table at one moment: the facts stored, and those pending."""

    at: float
    stored: int
    pending: int


@dataclass(frozen=True)
class Backlog:
    """The event ids of the facts payroll keeps from the topics' beginning: HR's, and those
    of the outcomes on `kinerja.attendance` of the warm-up and of the run."""

    hr: list[uuid.UUID]
    warm_up: list[uuid.UUID]
    run: list[uuid.UUID]

    @property
    def ids(self) -> list[uuid.UUID]:
        return self.hr + self.warm_up + self.run


@dataclass(frozen=True)
class PayrollRun:
    """Payroll catching up: when its process was started and held the HR facts (wall clock),
    its samples from then, and how many of the backlog's facts it held at the end."""

    backlog: Backlog
    started: float
    ready: float
    held: int
    samples: list[Sample]


@dataclass(frozen=True)
class ServiceProcess:
    """A `kinerja <name> serve` process and the file its output goes to."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def died(self) -> str | None:
        """Why the bench must stop, if the service has exited."""
        code = self.process.poll()
        if code is None:
            return None
        return f"the {self.name} service exited (code {code}); its log: {self.log}"


class ServiceDied(RuntimeError):
    """A service process exited while the bench needed it."""


@dataclass(frozen=True)
class Bench:
    """The running pieces a measurement needs: the services' processes (watched while they
    run, stopped at the end), what starts another, and engines of the bench's own on their
    databases."""

    bootstrap: str
    producer: Any
    services: list[ServiceProcess]
    environment: dict[str, str]
    run_dir: Path
    attendance_db: Any
    payroll_db: Any
    processes: ProcessPoolExecutor
    broker_pid: int | None

    def launch(self, name: str) -> ServiceProcess:
        """Start `kinerja <name> serve`, watched and stopped with the others."""
        service = start_service(name, self.environment, self.run_dir)
        self.services.append(service)
        return service


# --- the gateway (its own process) ----------------------------------------------------------
def run_gateway(plan: GatewayPlan) -> GatewayReport:
    """The spawned gateway process's entry: send the plan's check-ins open loop."""
    return asyncio.run(publish_open_loop(plan))


async def publish_open_loop(plan: GatewayPlan) -> GatewayReport:
    from kinerja_events.outbox import make_producer

    producer = make_producer(plan.bootstrap, linger_ms=LINGER_MS)
    await producer.start()
    try:
        return await send_at_rate(producer, plan)
    finally:
        await producer.stop()


async def send_at_rate(producer: Any, plan: GatewayPlan) -> GatewayReport:
    """Every tick, send the check-ins due by the wall clock; then await every ack."""
    from attendance_bench import office

    place = office()
    total = round(plan.rate * plan.seconds)
    deliveries: list[Any] = []
    max_behind = 0.0
    started, clock = time.time(), time.monotonic()
    while True:
        elapsed = time.monotonic() - clock
        max_behind = max(max_behind, elapsed - len(deliveries) / plan.rate)
        due = min(total, math.floor(elapsed * plan.rate) + 1)
        for i in range(len(deliveries), due):
            key, body, headers = check_in_record(plan.nips[i % len(plan.nips)], place)
            deliveries.append(await producer.send(plan.topic, body, key=key, headers=headers))
        if len(deliveries) == total:
            break
        await asyncio.sleep(TICK_SECONDS)
    finished = time.time()
    # One at a time: a gather of 180,000 futures, most of them done, would queue a callback for
    # each ahead of the producer's own, and hold the last records back about a second.
    for delivery in deliveries:
        await delivery
    return GatewayReport(total, started, finished, max_behind)


def check_in_record(nip: str, place: Any) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Key, body and signature header of a fresh office check-in of `nip` at `place`, now."""
    from datetime import datetime

    from attendance_bench import GATEWAY_KEY
    from kinerja_events.commands import CheckIn
    from kinerja_events.publishing import command_body
    from kinerja_events.signing import SIGNATURE_HEADER, sign
    from kinerja_events.types import WIB

    now = datetime.now(WIB)
    body = command_body(CheckIn(command_id=uuid.uuid4(), actor_nip=nip, sent_at=now, at=now,
                                lat=place.lat, lon=place.lon, accuracy_m=10, mode="office",
                                mock_location=False))
    return nip.encode(), body, [(SIGNATURE_HEADER, sign(body, GATEWAY_KEY).encode())]


async def run_in_process(bench: Bench, function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(bench.processes, function, *args)


# --- reading topics -------------------------------------------------------------------------
def now_ms() -> int:
    return math.floor(time.time() * 1000)


def partitions_of(topic: str) -> list[Any]:
    from aiokafka import TopicPartition
    from kinerja_events.embedded import DEFAULT_PARTITIONS

    return [TopicPartition(topic, p) for p in range(DEFAULT_PARTITIONS)]


@contextlib.asynccontextmanager
async def open_consumer(bootstrap: str, topic: str) -> AsyncIterator[Any]:
    """A plain consumer (no group) of every partition of `topic`, from its beginning."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
    await consumer.start()
    try:
        consumer.assign(partitions_of(topic))
        await consumer.seek_to_beginning(*partitions_of(topic))
        yield consumer
    finally:
        await consumer.stop()


async def read_topic(bootstrap: str, topic: str, count: int,
                     take: Callable[[Any], bool]) -> None:
    """Pass `take` the records of `topic` from its beginning until it has counted `count`.

    Not bounded by end offsets: Tansu's ListOffsets answers one past the first record of a
    partition's last batch, short of its end when that batch holds several records."""
    async with open_consumer(bootstrap, topic) as consumer, \
            asyncio.timeout(READ_TIMEOUT_SECONDS):
        counted = 0
        while counted < count:
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            counted += sum(take(record) for records in batches.values() for record in records)


async def read_live(consumer: Any, since_ms: int, reads: list[Read]) -> None:
    """Until cancelled: when each record stamped at or after `since_ms` was read, and its
    timestamp."""
    while True:
        batches = await consumer.getmany(timeout_ms=100)
        now = time.time()
        reads.extend(Read(now, record.timestamp) for records in batches.values()
                     for record in records if record.timestamp >= since_ms)


def outcome_of(record: Any) -> Outcome | None:
    envelope = json.loads(record.value)
    if envelope.get("causation_id") is None:
        return None
    return Outcome(envelope["causation_id"], envelope["type"], envelope["event_id"],
                   record.timestamp)


async def read_outcomes(bootstrap: str, stamped: range, count: int) -> list[Outcome]:
    """The outcomes among the first `count` events on `kinerja.attendance` stamped in
    `stamped` (ms)."""
    from kinerja_events.topics import ATTENDANCE

    outcomes: list[Outcome] = []

    def take(record: Any) -> bool:
        if record.timestamp not in stamped:
            return False
        outcome = outcome_of(record)
        if outcome is not None:
            outcomes.append(outcome)
        return True

    await read_topic(bootstrap, ATTENDANCE, count, take)
    return outcomes


def read_back(bootstrap: str, stamped: range, commands: int, outcomes: int) -> ReadBack:
    """The spawned reader's entry: the run's commands and outcomes (the records stamped in
    `stamped`, ms), read off the services' event loop."""
    return asyncio.run(read_run(bootstrap, stamped, commands, outcomes))


async def read_run(bootstrap: str, stamped: range, commands: int, outcomes: int) -> ReadBack:
    from kinerja_events.topics import commands_topic

    sent_ms: dict[str, int] = {}

    def take(record: Any) -> bool:
        if record.timestamp not in stamped:
            return False
        sent_ms[json.loads(record.value)["command_id"]] = record.timestamp
        return True

    await read_topic(bootstrap, commands_topic("attendance"), commands, take)
    return ReadBack(sent_ms, await read_outcomes(bootstrap, stamped, outcomes))


# --- setting up -----------------------------------------------------------------------------
async def start_bench(stack: contextlib.AsyncExitStack) -> Bench:
    """The platform, the attendance service (a process), engines on both services' databases
    and a spawn process pool; `stack` stops them all, and any service launched later."""
    from broker import start_platform
    from kinerja_events.db import make_engine

    infra, producer = await start_platform(stack)
    run_dir = Path(tempfile.mkdtemp(prefix="kinerja-ingest-services-"))
    services: list[ServiceProcess] = []

    async def stop(kind: type[BaseException] | None, *_: Any) -> None:
        reported = kind is not None and issubclass(kind, ServiceDied)
        await stop_services(services, run_dir, reported)

    stack.push_async_exit(stop)
    env = service_environment(infra.kafka_bootstrap, infra.database_url("postgres"), run_dir)
    services.append(start_service("attendance", env, run_dir))
    attendance_db = make_engine(infra.database_url("attendance"))
    stack.push_async_callback(attendance_db.dispose)
    payroll_db = make_engine(infra.database_url("payroll"))
    stack.push_async_callback(payroll_db.dispose)
    processes = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
    stack.callback(processes.shutdown)
    return Bench(infra.kafka_bootstrap, producer, services, env, run_dir, attendance_db,
                 payroll_db, processes, infra.broker_pid)


def service_environment(bootstrap: str, database_url: str, run_dir: Path) -> dict[str, str]:
    """What `kinerja <service> serve` reads: the platform, the bench's keys, a short fetch wait
    (with the default 500 ms, Tansu answers fetches late), errors only in the logs."""
    from attendance_bench import GATEWAY_KEY, HR_KEY

    data_dir = run_dir / "data"
    data_dir.mkdir(exist_ok=True)
    return {**os.environ,
            "KINERJA_KAFKA": bootstrap,
            "KINERJA_DATABASE_URL": database_url,
            "KINERJA_GATEWAY_KEY": GATEWAY_KEY.decode(),
            "KINERJA_HR_KEY": HR_KEY.decode(),
            "KINERJA_FETCH_MAX_WAIT_MS": str(FETCH_MAX_WAIT_MS),
            "KINERJA_LOG_LEVEL": "ERROR",
            "KINERJA_DATA_DIR": str(data_dir)}


def start_service(name: str, env: dict[str, str], run_dir: Path) -> ServiceProcess:
    """`kinerja <name> serve`, its stdout and stderr to `run_dir/<name>.log`."""
    log = run_dir / f"{name}.log"
    with open(log, "wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "kinerja_cli.main", name, "serve"],
                                   env=env, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT)
    return ServiceProcess(name, process, log)


async def stop_services(services: list[ServiceProcess], run_dir: Path, reported: bool) -> None:
    """SIGINT each service, SIGKILL what has not stopped within `STOP_SECONDS`. The logs are
    kept (and shown, unless `reported` already) when a service died or did not stop cleanly;
    removed otherwise."""
    died = [trouble for service in services if (trouble := service.died()) is not None]
    troubles = [] if reported else died
    running = [service for service in services if service.process.poll() is None]
    for service in running:
        service.process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_SECONDS
    while any(s.process.poll() is None for s in running) and time.monotonic() < deadline:
        await asyncio.sleep(POLL_SECONDS)
    for service in running:
        if service.process.poll() is None:
            service.process.kill()
            service.process.wait()
            troubles.append(f"the {service.name} service did not stop within "
                            f"{STOP_SECONDS:.0f} s of SIGINT and was killed; its log: "
                            f"{service.log}")
        elif service.process.returncode != 0:
            troubles.append(f"the {service.name} service stopped with code "
                            f"{service.process.returncode}; its log: {service.log}")
    for trouble in troubles:
        print(trouble, file=sys.stderr, flush=True)
    if not died and not troubles:
        shutil.rmtree(run_dir, ignore_errors=True)


async def watch_services(services: list[ServiceProcess]) -> str:
    """Return why, as soon as a service has exited."""
    while True:
        for service in services:
            if (trouble := service.died()) is not None:
                return trouble
        await asyncio.sleep(WATCH_SECONDS)


async def while_services_run(services: list[ServiceProcess], work: Awaitable[Any]) -> Any:
    """`await work`, cancelled with `ServiceDied` as soon as a service exits."""
    working = asyncio.ensure_future(work)
    watching = asyncio.create_task(watch_services(services))
    try:
        await asyncio.wait({working, watching}, return_when=asyncio.FIRST_COMPLETED)
        if not working.done():
            working.cancel()
            await asyncio.gather(working, return_exceptions=True)
            raise ServiceDied(watching.result())
        return working.result()
    finally:
        for task in (working, watching):
            task.cancel()
        await asyncio.gather(working, watching, return_exceptions=True)


async def wait_until(ready: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    """Until `ready()`. A database or table that is not there yet (the service creates them
    as it starts) counts as not ready; the last such error is shown on timing out."""
    from sqlalchemy.exc import DBAPIError

    deadline = time.monotonic() + timeout
    error: Exception | None = None
    while True:
        try:
            if await ready():
                return
        except (DBAPIError, OSError) as failure:
            error = failure
        if time.monotonic() > deadline:
            cause = "" if error is None else f" (last error: {str(error).splitlines()[0]})"
            raise TimeoutError(f"{what} within {timeout:.0f} s: the pipeline looks stuck{cause}")
        await asyncio.sleep(POLL_SECONDS)


async def register(bench: Bench, nips: list[str]) -> list[Any]:
    """Publish the office, the position and the employees; wait until attendance holds them.
    Returns the envelopes."""
    from attendance_bench import employee_envelopes, workplace_envelopes
    from kinerja_attendance.projection import count_held, kept
    from kinerja_events.codec import make_codec
    from kinerja_events.publishing import publish_envelopes

    envelopes = workplace_envelopes() + employee_envelopes(nips)
    await publish_envelopes(bench.producer, make_codec(), envelopes)

    async def held() -> bool:
        async with bench.attendance_db.connect() as conn:
            return await conn.scalar(count_held(envelopes)) == kept(envelopes)

    await wait_until(held, SETUP_TIMEOUT_SECONDS, "attendance did not hold the employees")
    return envelopes


async def warm_up(bench: Bench, nips: list[str]) -> list[uuid.UUID]:
    """Have attendance decide a few check-ins, untimed: its consumer group joins and pools
    fill here. Returns the ids of their outcomes that payroll will keep."""
    from kinerja_events.publishing import send_command

    from attendance_bench import GATEWAY_KEY, make_check_ins

    since_ms = now_ms()
    for command in make_check_ins(nips, WARM_UP_COMMANDS):
        await send_command(bench.producer, "attendance", command, GATEWAY_KEY)
    outcomes = await read_outcomes(bench.bootstrap, range(since_ms, sys.maxsize),
                                   WARM_UP_COMMANDS)
    return kept_by_payroll(outcomes)


def kept_by_payroll(outcomes: list[Outcome]) -> list[uuid.UUID]:
    """The event ids of `outcomes` that payroll keeps in its `facts` table."""
    from kinerja_payroll.intake import PAYROLL_TYPES_IGNORED

    return list(dict.fromkeys(uuid.UUID(o.event_id) for o in outcomes
                              if o.type not in PAYROLL_TYPES_IGNORED))


def holds(engine: Any, ids: list[uuid.UUID]) -> Callable[[], Awaitable[bool]]:
    """Whether payroll's `facts` table holds all of `ids`."""
    async def held() -> bool:
        return await count_held_facts(engine, ids) == len(ids)

    return held


async def count_held_facts(engine: Any, ids: list[uuid.UUID]) -> int:
    """How many of `ids` payroll's `facts` table holds."""
    from sqlalchemy import ARRAY, Uuid, any_, bindparam, func, select

    from kinerja_payroll.tables import facts

    among = bindparam("ids", ids, type_=ARRAY(Uuid))
    held = select(func.count()).select_from(facts).where(facts.c.event_id == any_(among))
    async with engine.connect() as conn:
        return int(await conn.scalar(held))


# --- (1) the broker round trip --------------------------------------------------------------
async def measure_baseline(bench: Bench, nips: list[str], rate: float,
                           seconds: float) -> BaselineRun:
    """The gateway sends to a topic of its own; a plain consumer reads it back live."""
    from broker import create_topic

    topic = f"bench.ingest.{uuid.uuid4().hex[:8]}"
    await create_topic(bench.bootstrap, topic)
    reads: list[Read] = []
    async with open_consumer(bench.bootstrap, topic) as consumer, \
            sampling_cpu(bench.broker_pid) as broker_cpu:
        reading = asyncio.create_task(read_live(consumer, 0, reads))
        try:
            gateway = await run_in_process(bench, run_gateway,
                                           GatewayPlan(bench.bootstrap, topic, nips, rate, seconds))
            await wait_for_reads(lambda: len(reads) >= gateway.sent, gateway)
        finally:
            reading.cancel()
    return BaselineRun(gateway, reads, broker_cpu)


async def wait_for_reads(done: Callable[[], bool], gateway: GatewayReport) -> None:
    """Until `done()`, or `OUTCOME_WAIT_SECONDS` after the gateway's last send."""
    while not done() and time.time() < gateway.finished + OUTCOME_WAIT_SECONDS:
        await asyncio.sleep(POLL_SECONDS)


@contextlib.asynccontextmanager
async def sampling_cpu(pid: int | None) -> AsyncIterator[list[CpuSample]]:
    """Samples of process `pid`'s CPU time every `SAMPLE_SECONDS` while the block runs (none
    where /proc cannot tell)."""
    samples: list[CpuSample] = []

    async def sample() -> None:
        while pid is not None and (seconds := cpu_seconds(pid)) is not None:
            samples.append(CpuSample(time.time(), seconds))
            await asyncio.sleep(SAMPLE_SECONDS)

    task = asyncio.create_task(sample())
    try:
        yield samples
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds process `pid` has used, from /proc (None if it cannot tell)."""
    from machine import process_stat

    fields = process_stat(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- (2) attendance alone -------------------------------------------------------------------
async def measure_attendance(bench: Bench, nips: list[str], rate: float,
                             seconds: float) -> tuple[ServiceRun, list[uuid.UUID]]:
    """The gateway sends to attendance while its outcomes are counted live; then the run's
    commands and outcomes (the records stamped from just before the gateway started until the
    outcomes were all in, or the wait for them was over) are read back. Returns the run and
    the ids of its outcomes that payroll will keep."""
    from kinerja_events.topics import ATTENDANCE, commands_topic

    since_ms = now_ms()
    outcomes: list[Read] = []
    async with open_consumer(bench.bootstrap, ATTENDANCE) as consumer, \
            sampling_cpu(bench.broker_pid) as broker_cpu:
        counting = asyncio.create_task(read_live(consumer, since_ms, outcomes))
        try:
            gateway = await run_in_process(
                bench, run_gateway,
                GatewayPlan(bench.bootstrap, commands_topic("attendance"), nips, rate, seconds))
            await wait_for_reads(lambda: len(outcomes) >= gateway.sent, gateway)
        finally:
            counting.cancel()
    stamped = range(since_ms, now_ms() + 1)
    decided = sum(1 for read in outcomes if read.timestamp_ms in stamped)
    read = await run_in_process(bench, read_back, bench.bootstrap, stamped, gateway.sent,
                                decided)
    run = match_outcomes(gateway, read, await count_commands(bench.attendance_db, since_ms),
                         broker_cpu)
    return run, kept_by_payroll([o for o in read.outcomes if o.command_id in read.sent_ms])


async def count_commands(engine: Any, since_ms: int) -> tuple[int, int]:
    """Attendance's own view: the rows of its `commands` table recorded since `since_ms`, and
    all its rows."""
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from kinerja_events.db import commands

    since = datetime.fromtimestamp(since_ms / 1000, UTC)
    rows = select(func.count()).select_from(commands)
    async with engine.connect() as conn:
        return (int(await conn.scalar(rows.where(commands.c.recorded_at >= since))),
                int(await conn.scalar(rows)))


def match_outcomes(gateway: GatewayReport, read: ReadBack, commands_table: tuple[int, int],
                   broker_cpu: list[CpuSample]) -> ServiceRun:
    """The first outcome of each of the run's commands, its latency and the counts per type."""
    first: dict[str, Outcome] = {}
    for outcome in read.outcomes:
        if outcome.command_id in read.sent_ms and outcome.command_id not in first:
            first[outcome.command_id] = outcome
    latencies = [o.timestamp_ms - read.sent_ms[o.command_id] for o in first.values()]
    decided_at = [o.timestamp_ms / 1000 for o in first.values()]
    return ServiceRun(gateway, read, latencies, decided_at,
                      dict(Counter(o.type for o in first.values())), commands_table,
                      list(first), broker_cpu)


# --- (3) payroll catching up ----------------------------------------------------------------
async def measure_payroll(bench: Bench, backlog: Backlog) -> PayrollRun:
    """Start payroll's process and sample its `facts` table from that moment; it is ready once
    it holds the HR facts, and awaited until it stored as many facts as the backlog and none
    is pending projection (or `PAYROLL_WAIT_SECONDS` after its start); then how many of the
    backlog's facts it holds."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import DBAPIError

    from kinerja_payroll.projection import count_pending
    from kinerja_payroll.tables import facts

    samples: list[Sample] = []

    async def sample() -> None:
        """Until cancelled, every second: the facts stored, and those pending (no sample while
        the service has not created its database and tables yet)."""
        while True:
            with contextlib.suppress(DBAPIError, OSError):
                async with bench.payroll_db.connect() as conn:
                    stored = await conn.scalar(select(func.count()).select_from(facts))
                    # Asked after the count, so a fact counted above cannot be missed as
                    # pending here.
                    pending = await conn.scalar(count_pending())
                samples.append(Sample(time.time(), int(stored), int(pending)))
            await asyncio.sleep(SAMPLE_SECONDS)

    started = time.time()
    bench.launch("payroll")
    sampling = asyncio.create_task(sample())
    try:
        await wait_until(holds(bench.payroll_db, backlog.hr), SETUP_TIMEOUT_SECONDS,
                         "payroll did not store the employees")
        ready = time.time()
        deadline = started + PAYROLL_WAIT_SECONDS
        while not (samples and samples[-1].stored >= len(backlog.ids)
                   and samples[-1].pending == 0) and time.time() < deadline:
            await asyncio.sleep(POLL_SECONDS)
    finally:
        sampling.cancel()
    held = await count_held_facts(bench.payroll_db, backlog.ids)
    return PayrollRun(backlog, started, ready, held, samples)


# --- figures --------------------------------------------------------------------------------
def steady_window(gateway: GatewayReport) -> tuple[float, float]:
    """The gateway's sending without its first and last seconds (wall clock)."""
    edge = min(EDGE_SECONDS, (gateway.finished - gateway.started) / 4)
    return gateway.started + edge, gateway.finished - edge


def rate_within(times: list[float], window: tuple[float, float]) -> float:
    start, end = window
    return sum(1 for t in times if start <= t < end) / max(end - start, 1e-9)


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank `q` quantile of `values`."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def first_at(samples: list[Sample], reached: Callable[[Sample], bool]) -> float | None:
    return next((s.at for s in samples if reached(s)), None)


# --- reporting ------------------------------------------------------------------------------
def count(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f} ms"


def seconds_after(moment: float | None, origin: float) -> str:
    return "not within the wait" if moment is None else f"{moment - origin:,.1f} s"


def windowed_p99(sent_ms: list[float], latencies: list[float]) -> str:
    """The p99 latency of each `WINDOW_SECONDS` of sending, in order ("a / b / c"): whether
    latency drifts as the run goes on."""
    if not sent_ms:
        return "n/a"
    start = min(sent_ms)
    windows: dict[int, list[float]] = {}
    for sent, latency in zip(sent_ms, latencies):
        windows.setdefault(int((sent - start) / 1000 // WINDOW_SECONDS), []).append(latency)
    return " / ".join(f"{percentile(windows[n], 0.99) or 0:.0f}" for n in sorted(windows))


def windowed_cpu(samples: list[CpuSample], start: float, end: float) -> str:
    """The cores a process kept busy in each `WINDOW_SECONDS` from `start` to `end` (wall
    clock), in order ("a / b / c"), from the samples nearest each window's bounds; a last
    window shorter than two samples is counted in the one before."""
    bounds = [start + n * WINDOW_SECONDS
              for n in range(math.ceil((end - start - 2 * SAMPLE_SECONDS) / WINDOW_SECONDS))]
    bounds.append(end)
    if len(samples) < 2 or len(bounds) < 2:
        return "n/a"

    def at(moment: float) -> CpuSample:
        return min(samples, key=lambda sample: abs(sample.at - moment))

    shares = []
    for low, high in zip(bounds, bounds[1:]):
        first, last = at(low), at(high)
        shares.append((last.seconds - first.seconds) / max(last.at - first.at, 1e-9))
    return " / ".join(f"{share:.2f}" for share in shares)


def latency_rows(latencies: list[float]) -> list[tuple[str, float | None]]:
    return [("p50", percentile(latencies, 0.50)), ("p95", percentile(latencies, 0.95)),
            ("p99", percentile(latencies, 0.99)), ("max", max(latencies, default=None))]


def print_table(rows: list[tuple[str, ...]]) -> None:
    """Rows of one width: labels left-aligned, figures right-aligned; a rule under the first."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        figures = "  ".join(f"{cell:>{width}}" for cell, width in zip(row[1:], widths[1:]))
        print(f"{row[0]:<{widths[0]}}  {figures}")
        if number == 0:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))


def print_results(base: BaselineRun, run: ServiceRun, payroll: PayrollRun) -> None:
    print("(1) baseline and (2) attendance alone: one attendance instance (`kinerja attendance "
          "serve`, a process of its own); payroll's process not started yet")
    print_table(attendance_rows(base, run))
    print()
    print(f"(3) payroll catching up: one payroll instance (`kinerja payroll serve`, a process of "
          f"its own) started after (2), consuming a backlog of {len(payroll.backlog.ids):,} "
          f"facts from every fact topic's beginning; times from its process's start")
    print_table(payroll_rows(payroll))


def attendance_rows(base: BaselineRun, run: ServiceRun) -> list[tuple[str, str, str]]:
    read_at = [read.at for read in base.reads]
    read_latencies = [read.at * 1000 - read.timestamp_ms for read in base.reads]
    base_rate = rate_within(read_at, steady_window(base.gateway))
    service_rate = rate_within(run.decided_at, steady_window(run.gateway))
    decided = sum(run.counts.values())
    last_read = max(read_at, default=None)
    last_outcome = max(run.decided_at, default=None)
    rows = [
        ("", "attendance alone", "baseline"),
        ("messages sent by the gateway", count(run.gateway.sent), count(base.gateway.sent)),
        ("gateway send rate /s", count(run.gateway.rate), count(base.gateway.rate)),
        ("gateway max behind schedule", ms(run.gateway.max_behind * 1000),
         ms(base.gateway.max_behind * 1000)),
        ("commands read back / records read", count(len(run.read_back.sent_ms)),
         count(len(base.reads))),
        ("outcomes seen (decided)", count(decided), ""),
    ]
    rows += [(f"  {kind}", count(number), "") for kind, number in sorted(run.counts.items())]
    rows += [
        ("steady rate /s (decided / read)", count(service_rate), count(base_rate)),
        ("ratio attendance / baseline", f"{service_rate / max(base_rate, 1e-9):.2f}", ""),
    ]
    rows += [(f"latency {name} (record → event / read)", ms(a), ms(b)) for (name, a), (_, b)
             in zip(latency_rows(run.latencies_ms), latency_rows(read_latencies))]
    sent_ms = [run.read_back.sent_ms[o] for o in run.first_ids]
    rows.append((f"p99 per {WINDOW_SECONDS:.0f} s of sending (ms)",
                 windowed_p99(sent_ms, run.latencies_ms),
                 windowed_p99([read.timestamp_ms for read in base.reads], read_latencies)))
    rows.append((f"broker CPU per {WINDOW_SECONDS:.0f} s of sending (cores)",
                 windowed_cpu(run.broker_cpu, run.gateway.started, run.gateway.finished),
                 windowed_cpu(base.broker_cpu, base.gateway.started, base.gateway.finished)))
    rows += [
        ("last outcome / read after the last send",
         seconds_after(last_outcome, run.gateway.finished),
         seconds_after(last_read, base.gateway.finished)),
        ("its commands table: rows since the run / all",
         f"{run.commands_table[0]:,} / {run.commands_table[1]:,}", ""),
    ]
    return rows


def payroll_rows(payroll: PayrollRun) -> list[tuple[str, str]]:
    backlog = payroll.backlog
    facts = len(backlog.ids)
    stored_at = first_at(payroll.samples, lambda s: s.stored >= facts)
    projected_at = first_at(payroll.samples, lambda s: s.stored >= facts and s.pending == 0)

    def per_second(moment: float | None) -> str:
        return "n/a" if moment is None else count(facts / (moment - payroll.started))

    last = payroll.samples[-1] if payroll.samples else Sample(0.0, 0, 0)
    return [
        ("", "payroll"),
        ("backlog: facts it keeps (HR + warm-up + run)",
         f"{facts:,} ({len(backlog.hr):,} + {len(backlog.warm_up):,} + {len(backlog.run):,})"),
        ("ready (held the HR facts)", seconds_after(payroll.ready, payroll.started)),
        ("all stored", seconds_after(stored_at, payroll.started)),
        ("facts/s stored", per_second(stored_at)),
        ("none pending", seconds_after(projected_at, payroll.started)),
        ("facts/s stored and projected", per_second(projected_at)),
        ("backlog's facts it holds, by event id", f"{payroll.held:,} of {facts:,}"),
        ("at the last sample, stored / pending", f"{last.stored:,} / {last.pending:,}"),
    ]


# --- the whole run --------------------------------------------------------------------------
async def measure_all(rate: float, seconds: float, employees: int, seed: int) -> int:
    from kinerja_events.observability import configure_logging

    from attendance_bench import random_nips
    from machine import describe

    configure_logging("ERROR")  # the services log to their own files; this process only errors
    random.seed(seed)
    nips = random_nips(employees)
    print(describe(employees=employees, check_ins=round(rate * seconds), rate=f"{rate:,.0f}/s",
                   seconds=f"{seconds:g}", seed=seed), flush=True)
    try:
        async with contextlib.AsyncExitStack() as stack:
            started = time.perf_counter()
            bench = await start_bench(stack)
            await while_services_run(bench.services, measure(bench, nips, rate, seconds,
                                                             started))
    except ServiceDied as died:
        print(f"stopped: {died}", file=sys.stderr, flush=True)
        return 1
    return 0


async def measure(bench: Bench, nips: list[str], rate: float, seconds: float,
                  started: float) -> None:
    envelopes = await register(bench, nips)
    warmed = await warm_up(bench, nips)
    print(f"platform up, attendance up (a process), employees registered, warmed up, in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    base = await measure_baseline(bench, nips, rate, seconds)
    print(f"(1) baseline done: {len(base.reads):,} of {base.gateway.sent:,} read", flush=True)
    run, kept = await measure_attendance(bench, nips, rate, seconds)
    print(f"(2) attendance alone done: {sum(run.counts.values()):,} of {run.gateway.sent:,} "
          f"decided", flush=True)
    payroll = await measure_payroll(bench, Backlog([e.event_id for e in envelopes], warmed,
                                                   kept))
    print(f"(3) payroll caught up: {payroll.held:,} of {len(payroll.backlog.ids):,} held",
          flush=True)
    print_results(base, run, payroll)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, help=f"check-ins per second (default {RATE:,})")
    parser.add_argument("--seconds", type=float,
                        help=f"how long the gateway sends (default {SECONDS:g})")
    parser.add_argument("--employees", type=int, default=EMPLOYEES,
                        help="employees the check-ins cycle over")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the employees' NIPs")
    parser.add_argument("--quick", action="store_true",
                        help=f"a smoke run: {QUICK_RATE}/s for {QUICK_SECONDS:g} s unless "
                             "--rate/--seconds say otherwise")
    args = parser.parse_args(argv)
    rate = args.rate or (QUICK_RATE if args.quick else RATE)
    seconds = args.seconds or (QUICK_SECONDS if args.quick else SECONDS)
    return asyncio.run(measure_all(max(1.0, rate), max(1.0, seconds), max(1, args.employees),
                                   args.seed))


if __name__ == "__main__":
    sys.exit(main())
