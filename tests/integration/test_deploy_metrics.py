"""Every series the Grafana dashboard (deploy/grafana/dashboards/kinerja.json) queries is one a
service exposes: each platform service is built and started as `kinerja SERVICE serve` builds it
(its bootstrap's `load_config` and `build_service`, a fresh registry and a `Health` on it), on
the real embedded PostgreSQL and a broker of the module's own, and its registry is read as
Prometheus would scrape it. A panel querying a name no service exposes shows "No data" forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from kinerja_cli.services import SERVICE_MODULES

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "kinerja.json"

# The series names a family of each type exposes (what PromQL selects), from the family name
# `registry.collect()` gives (a counter's without `_total`).
SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",),
            "histogram": ("_bucket", "_count", "_sum", "_created"),
            "summary": ("", "_count", "_sum", "_created"), "info": ("_info",),
            "stateset": ("",), "unknown": ("",)}


def dashboard_series() -> dict[str, list[str]]:
    """Each `kinerja_*` series name the dashboard's PromQL selects -> the panels selecting it."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    found: dict[str, list[str]] = {}
    for panel in panels:
        for target in panel["targets"]:
            for name in series_in(target["expr"]):
                found.setdefault(name, []).append(panel["title"])
    return found


def series_in(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (label matchers, strings and range
    selectors left out, so a label value or a `by (...)` list is never taken for one)."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    bare = re.sub(r"\{[^}]*\}", "", bare)
    bare = re.sub(r"\[[^\]]*\]", "", bare)
    return set(re.findall(r"(?<![A-Za-z0-9_:])kinerja_[A-Za-z0-9_:]*", bare))


def exposed_series(registry: Any) -> set[str]:
    """Every series name `registry` exposes, or will once its labelled children exist."""
    return {family.name + suffix for family in registry.collect()
            for suffix in SUFFIXES[family.type]}


async def build(service: str, kafka: str, database_url: str, data_dir: Path) -> Any:
    """`service` built as its `serve` builds it, with a fresh registry (as `.registry`)."""
    from kinerja_events.observability import make_registry
    from kinerja_events.resilience import Health
    from kinerja_events.settings import Settings

    bootstrap = importlib.import_module(SERVICE_MODULES[service])
    config = bootstrap.load_config({"KINERJA_DATA_DIR": str(data_dir)})
    registry = make_registry()
    built = await bootstrap.build_service(
        kafka, database_url, config, registry, health=Health(registry),
        group_prefix=f"deploy-{service}-{uuid.uuid4().hex[:8]}", **Settings().consumer_options())
    built.registry = registry
    return built


def test_the_dashboard_queries_series_of_the_platform():
    series = dashboard_series()
    assert "kinerja_commands_total" in series and "kinerja_command_lag_seconds_bucket" in series
    assert series_in('sum by (reason) (rate(kinerja_x_total{outcome="kinerja_y"}[5m]))') == {
        "kinerja_x_total"}


async def test_every_series_the_dashboard_queries_is_exposed_by_a_service(
        bus, new_database: Callable[[], Awaitable[str]], tmp_path):  # type: ignore[no-untyped-def]
    async with contextlib.AsyncExitStack() as stack:
        services = []
        for service in SERVICE_MODULES:
            services.append(await build(service, bus.kafka_bootstrap, await new_database(),
                                        tmp_path))
            stack.push_async_callback(services[-1].stop)
        await asyncio.gather(*(running.start() for running in services))  # each joins its groups
        everywhere = set().union(*(exposed_series(running.registry) for running in services))
    missing = {name: panels for name, panels in dashboard_series().items()
               if name not in everywhere}
    assert missing == {}
