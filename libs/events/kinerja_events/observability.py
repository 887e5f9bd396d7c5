"""Logging (structlog, JSON lines, `correlation_id` from contextvars) and Prometheus metrics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any
from uuid import UUID

import structlog
from prometheus_client import CollectorRegistry


def configure_logging(level: str | int = "INFO", log_file: Any = None) -> None:
    """Render every structlog record as one JSON line on stdout (or appended to `log_file`),
    at `level` and above.

    Values bound with `bind_correlation_id` (or `structlog.contextvars`) appear on every record
    of the current task. The stdlib root logger is left alone (no `basicConfig`).
    """
    numeric = level if isinstance(level, int) else logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=log_stream(log_file)),
        cache_logger_on_first_use=False,
    )


def log_stream(log_file: Any) -> Any:
    """stdout, or `log_file` opened for appending (its directory made)."""
    if log_file is None:
        return sys.stdout
    from pathlib import Path

    path = Path(log_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a", encoding="utf-8", buffering=1)


def bind_correlation_id(correlation_id: UUID | str | None) -> None:
    """Put `correlation_id` on every log record of the current context."""
    if correlation_id is None:
        structlog.contextvars.unbind_contextvars("correlation_id")
    else:
        structlog.contextvars.bind_contextvars(correlation_id=str(correlation_id))


@contextlib.contextmanager
def correlation(correlation_id: UUID | str | None, **values: Any) -> Iterator[None]:
    """Bind `correlation_id` (and `values`) to log records inside the block only."""
    bound = {"correlation_id": None if correlation_id is None else str(correlation_id), **values}
    with structlog.contextvars.bound_contextvars(**bound):
        yield


def make_registry() -> CollectorRegistry:
    """A fresh Prometheus registry (one per service process, passed to what records metrics)."""
    return CollectorRegistry()


class QueryError(Exception):
    """A query's parameters are wrong: answered 400 with this message."""


Query = Callable[[Mapping[str, str]], Awaitable[Any]]


class QueryRoutes:
    """JSON GET endpoints served beside `/metrics`: each path's query runs on the event loop
    that added it (where the service's database engine lives) and answers a JSON value."""

    def __init__(self) -> None:
        self.routes: dict[str, Query] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    def add(self, routes: Mapping[str, Query]) -> None:
        """Serve `routes` (call from the service's event loop)."""
        self.loop = asyncio.get_running_loop()
        self.routes.update(routes)

    def answer(self, path: str, query_string: str) -> tuple[str, bytes] | None:
        """The (status, JSON body) for `path`, or None when no query is served there."""
        from urllib.parse import parse_qsl

        query = self.routes.get(path)
        if query is None or self.loop is None:
            return None
        try:
            params = dict(parse_qsl(query_string, max_num_fields=20))
            result = asyncio.run_coroutine_threadsafe(query(params), self.loop).result(30)
            return "200 OK", json.dumps(result, sort_keys=True).encode()
        except (QueryError, ValueError) as exc:
            return "400 Bad Request", json.dumps({"error": str(exc)[:300]}).encode()
        except Exception:
            structlog.get_logger("kinerja.http").exception("query_failed", path=path)
            return "500 Internal Server Error", b'{"error": "the query failed"}'


def start_metrics_server(
    registry: CollectorRegistry, port: int, addr: str = "0.0.0.0", health: Any = None,
    queries: QueryRoutes | None = None,
) -> Any:
    """Serve `registry` at `http://addr:port/metrics`, `health.report()` (a
    `resilience.Health`) as JSON at `/health` (503 while a dependency is down), and the JSON
    `queries` at their paths, from a daemon thread; return the server (`.shutdown()` stops it)."""
    import threading
    from wsgiref.simple_server import make_server

    from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler, make_wsgi_app

    metrics = make_wsgi_app(registry)

    def reply(start_response: Any, status: str, body: bytes) -> list[bytes]:
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(body)))])
        return [body]

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/health" and health is not None:
            status = "200 OK" if health.is_up() else "503 Service Unavailable"
            return reply(start_response, status, json.dumps(health.report()).encode())
        answer = queries.answer(path, environ.get("QUERY_STRING", "")) if queries else None
        if answer is not None:
            return reply(start_response, *answer)
        return metrics(environ, start_response)

    server = make_server(addr, port, app, ThreadingWSGIServer, handler_class=_SilentHandler)
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics-http").start()
    return server
