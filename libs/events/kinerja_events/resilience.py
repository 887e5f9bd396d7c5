"""Waiting out an unreachable database or broker: back-off, outage detection, health.

A service that loses PostgreSQL or Kafka keeps what it holds, retries with capped exponential
back-off, logs once when the outage starts and once when it ends, and shows the dependency as
down in `/health` and in `kinerja_dependency_up{service,dependency}` meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from .types import WIB

log = structlog.get_logger("kinerja.resilience")

T = TypeVar("T")

POSTGRESQL = "postgresql"
KAFKA = "kafka"


@dataclass
class Backoff:
    """Delays of `first`, doubling up to `cap` seconds, with ±20 % jitter."""

    first: float = 0.1
    cap: float = 10.0
    attempt: int = 0

    def next_delay(self) -> float:
        """The delay before the next attempt (and count the attempt)."""
        delay = min(self.cap, self.first * 2 ** self.attempt)
        self.attempt += 1
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        """Start again from `first` (after a success)."""
        self.attempt = 0


def is_outage(exc: BaseException) -> bool:
    """True when `exc` says a dependency is unreachable (connection refused or lost, server
    shutting down or starting), rather than that it refused this particular piece of work."""
    import asyncpg
    from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError
    from sqlalchemy.exc import DBAPIError

    unreachable = (
        OSError, ConnectionError, TimeoutError,
        asyncpg.exceptions.PostgresConnectionError,  # class 08: connection exceptions
        asyncpg.exceptions.CannotConnectNowError, asyncpg.exceptions.AdminShutdownError,
        asyncpg.exceptions.CrashShutdownError,
        KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError,
    )
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, unreachable):
            return True
        if isinstance(current, asyncpg.exceptions.InterfaceError) and (
                "connection is closed" in str(current) or "connection was closed" in str(current)):
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


@contextlib.asynccontextmanager
async def pooled_asyncpg(engine: Any) -> AsyncIterator[Any]:
    """An asyncpg connection of `engine`'s pool, for work that raw SQL serves best. It is closed
    instead of going back to the pool when the work failed because the server was unreachable,
    or left it inside a transaction."""
    async with engine.connect() as connection:
        conn = (await connection.get_raw_connection()).driver_connection
        try:
            yield conn
        except BaseException as exc:
            if (isinstance(exc, Exception) and is_outage(exc)) or left_in_transaction(conn):
                await connection.invalidate()
            raise


def left_in_transaction(conn: Any) -> bool:
    """True when asyncpg connection `conn` is open but still inside a transaction (not fit for
    the pool)."""
    return not conn.is_closed() and conn.is_in_transaction()


@dataclass
class DependencyState:
    """Whether one dependency of one service is reachable, since when, and the last error."""

    up: bool = True
    since: datetime = field(default_factory=lambda: datetime.now(WIB))
    error: str = ""
    retries: int = 0


class Health:
    """The reachability of each (service, dependency) of a process, for `/health` and metrics.

    One per process, shared by its services; read from the metrics server's thread (plain
    attribute reads of values the event loop replaces whole)."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.states: dict[tuple[str, str], DependencyState] = {}
        self.vitals: dict[str, Any] = {}  # service -> its latest `vitals.Vitals`
        self._up, self._retries = (None, None) if registry is None else _metrics(registry)

    def watch(self, service: str, dependency: str) -> None:
        """Start reporting `dependency` of `service` (as up)."""
        self.states.setdefault((service, dependency), DependencyState())
        if self._up is not None:
            self._up.labels(service, dependency).set(1)

    def mark_down(self, service: str, dependency: str, error: BaseException) -> bool:
        """Record a failed attempt; True when this starts an outage (the caller logs it)."""
        state = self.states.get((service, dependency)) or DependencyState()
        starts = state.up
        self.states[(service, dependency)] = DependencyState(
            up=False, since=datetime.now(WIB) if starts else state.since,
            error=f"{type(error).__name__}: {str(error)[:200]}", retries=state.retries + 1)
        if self._up is not None:
            self._up.labels(service, dependency).set(0)
            self._retries.labels(service, dependency).inc()  # type: ignore[union-attr]
        return starts

    def mark_up(self, service: str, dependency: str) -> DependencyState | None:
        """Record a success; the state of the outage it ends, if it ends one."""
        state = self.states.get((service, dependency))
        if state is not None and state.up:
            return None
        self.states[(service, dependency)] = DependencyState()
        if self._up is not None:
            self._up.labels(service, dependency).set(1)
        return state

    def show_vitals(self, service: str, vitals: Any) -> None:
        """Report `service`'s latest vitals (lag, outbox backlog, dead letters)."""
        self.vitals[service] = vitals

    def is_up(self) -> bool:
        """True when every watched dependency is reachable."""
        return all(state.up for state in self.states.values())

    def report(self) -> dict[str, Any]:
        """The JSON document of `/health`."""
        services: dict[str, dict[str, Any]] = {}
        for (service, dependency), state in sorted(self.states.items()):
            services.setdefault(service, {})[dependency] = {
                "up": state.up, "since": state.since.isoformat(),
                **({"error": state.error, "retries": state.retries} if not state.up else {}),
            }
        for service, vitals in self.vitals.items():
            services.setdefault(service, {}).update(vitals.as_json())
        down = sorted(f"{s}/{d}" for (s, d), state in self.states.items() if not state.up)
        return {"status": "ok" if not down else "degraded", "down": down, "services": services}


_METRICS: weakref.WeakKeyDictionary[CollectorRegistry, tuple[Gauge, Counter]] = (
    weakref.WeakKeyDictionary())


def _metrics(registry: CollectorRegistry) -> tuple[Gauge, Counter]:
    """`kinerja_dependency_up` and `kinerja_dependency_retries_total` of `registry` (once)."""
    found = _METRICS.get(registry)
    if found is None:
        found = _METRICS[registry] = (
            Gauge("kinerja_dependency_up", "1 while a dependency is reachable",
                  ["service", "dependency"], registry=registry),
            Counter("kinerja_dependency_retries",
                    "Attempts retried because a dependency was unreachable",
                    ["service", "dependency"], registry=registry))
    return found


async def retry_while_unreachable(work: Callable[[], Awaitable[T]], *, health: Health,
                                  service: str, dependency: str,
                                  backoff: Backoff | None = None) -> T:
    """`await work()`, retried with back-off for as long as it fails with an outage; any
    other error is raised at once. Logs once when the outage starts and once when it ends."""
    backoff = backoff or Backoff()
    started = 0.0
    while True:
        try:
            result = await work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not is_outage(exc):
                raise
            if health.mark_down(service, dependency, exc):
                started = time.monotonic()
                log.warning("dependency_down", service=service, dependency=dependency,
                            error=f"{type(exc).__name__}: {str(exc)[:200]}",
                            detail="retrying with back-off")
            await asyncio.sleep(backoff.next_delay())
            continue
        ended = health.mark_up(service, dependency)
        if ended is not None:
            log.warning("dependency_up", service=service, dependency=dependency,
                        retries=ended.retries, down_seconds=round(time.monotonic() - started, 1))
        return result


async def settle_apart(items: Sequence[T], attempt: Callable[[Sequence[T]], Awaitable[Any]],
                       park: Callable[[T, Exception, int], Awaitable[None]], *, health: Health,
                       service: str, attempts: int = 3) -> None:
    """`attempt(items)` (waiting out database outages), so that one bad item never holds back
    the others: a failing batch is split in halves until the failing item stands alone, which
    is tried `attempts` times in all, with back-off, and then handed to `park`."""
    if not items:
        return
    try:
        await retry_while_unreachable(lambda: attempt(items), health=health, service=service,
                                      dependency=POSTGRESQL)
        return
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        error = exc
    if len(items) > 1:
        log.warning("batch_failed_splitting", service=service, size=len(items),
                    error=f"{type(error).__name__}: {str(error)[:200]}")
        middle = len(items) // 2
        for half in (items[:middle], items[middle:]):
            await settle_apart(half, attempt, park, health=health, service=service,
                               attempts=attempts)
        return
    backoff = Backoff(first=0.1, cap=2.0)
    for _ in range(attempts - 1):
        await asyncio.sleep(backoff.next_delay())
        try:
            await retry_while_unreachable(lambda: attempt(items), health=health,
                                          service=service, dependency=POSTGRESQL)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = exc
    await park(items[0], error, attempts)
