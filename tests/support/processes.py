"""The platform as separate processes, for tests that kill them.

`ServiceProcesses(infra)` runs each service as `kinerja <service> serve` in a process of its
own, attached to `infra` (an `EmbeddedInfra` of the test) through the endpoints file a
`kinerja run` would write in its data directory; `kill(name)` sends SIGKILL, `start(name)`
starts it again. Each process logs to `<data dir>/<service>.log`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from kinerja_events.embedded import (
    Endpoints, free_port, remove_endpoints_file, write_endpoints_file,
)

SERVICES = ("attendance", "worklog", "appraisal", "mkd", "payroll")
SESSION_TIMEOUT_MS = 3000  # a killed consumer's partitions move on after this (default 10 s)
STOP_SECONDS = 20.0
START_SECONDS = 60.0


def platform_environment(data_dir: Path) -> dict[str, str]:
    """The environment of a process of the platform in `data_dir` (embedded endpoints there)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINERJA_")}
    env.update(KINERJA_DATA_DIR=str(data_dir), KINERJA_LOG_LEVEL="WARNING",
               XDG_STATE_HOME=str(data_dir / "state"),
               KINERJA_CONSUMER_SESSION_TIMEOUT_MS=str(SESSION_TIMEOUT_MS))
    return env


def kinerja(*arguments: str) -> list[str]:
    """The command line of `kinerja ARGUMENTS` with this interpreter."""
    return [sys.executable, "-m", "kinerja_cli.main", *arguments]


@contextlib.contextmanager
def endpoints_file(infra: Any) -> Iterator[Endpoints]:
    """Write `infra`'s endpoints where `kinerja` commands with its data directory find them
    (as `kinerja run` does); remove them afterwards."""
    endpoints = Endpoints(infra.kafka_bootstrap, infra.database_url("postgres"), None)
    state = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(infra.data_dir / "state")  # not the user's own note
    try:
        write_endpoints_file(infra.data_dir, endpoints)
        yield endpoints
    finally:
        remove_endpoints_file(infra.data_dir)
        if state is None:
            os.environ.pop("XDG_STATE_HOME", None)
        else:
            os.environ["XDG_STATE_HOME"] = state


class ServiceProcesses:
    """The services of the platform in `data_dir`, one process each."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, IO[bytes]] = {}
        self.kills: dict[str, int] = {}
        self.ports: dict[str, int] = {}

    def start(self, name: str) -> None:
        """Start `kinerja NAME serve` (it must not be running)."""
        if self.running(name):
            raise RuntimeError(f"{name} is already running")
        log = self.logs.get(name) or open(self.data_dir / f"{name}.log", "ab")
        self.logs[name] = log
        self.ports[name] = free_port()
        self.processes[name] = subprocess.Popen(
            kinerja(name, "serve", "--metrics-port", str(self.ports[name])), env=platform_environment(self.data_dir), stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def start_all(self) -> None:
        for name in SERVICES:
            self.start(name)

    async def wait_started(self, name: str) -> None:
        """Until `name`'s `/health` shows its first vitals (its service has started)."""
        deadline = time.monotonic() + START_SECONDS
        while not await asyncio.to_thread(self.started, name):
            if not self.running(name):
                raise RuntimeError(f"{name} exited:\n{self.log_tail(name)}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not start:\n{self.log_tail(name)}")
            await asyncio.sleep(0.1)

    def started(self, name: str) -> bool:
        url = f"http://127.0.0.1:{self.ports[name]}/health"
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                report = json.load(reply)
        except OSError as exc:  # not listening yet, or 503 while a dependency is down
            report = json.load(exc) if hasattr(exc, "read") and exc.fp else {}
        except ValueError:
            return False
        return name in report.get("services", {})

    def running(self, name: str) -> bool:
        process = self.processes.get(name)
        return process is not None and process.poll() is None

    def kill(self, name: str) -> None:
        """SIGKILL `name`'s process: no clean-up, no flushing, no offset commits."""
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=STOP_SECONDS)
        self.kills[name] = self.kills.get(name, 0) + 1

    def stop(self, name: str) -> None:
        """SIGTERM `name`'s process and wait for its clean stop (it leaves its groups)."""
        process = self.processes[name]
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=STOP_SECONDS)

    def stop_all(self) -> None:
        """SIGTERM every running process (a clean stop), SIGKILL what does not stop."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs.values():
            log.close()
        self.logs.clear()

    def log_tail(self, name: str, lines: int = 30) -> str:
        """The end of `name`'s log, for a failure message."""
        path = self.data_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
