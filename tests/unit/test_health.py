"""`/health` beside `/metrics`: which dependency of which service is down, and since when."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from kinerja_events.embedded import free_port
from kinerja_events.observability import make_registry, start_metrics_server
from kinerja_events.resilience import Backoff, Health, is_outage


@pytest.fixture
def served():  # type: ignore[no-untyped-def]
    registry = make_registry()
    health = Health(registry)
    port = free_port()
    server = start_metrics_server(registry, port, addr="127.0.0.1", health=health)
    yield health, registry, f"http://127.0.0.1:{port}"
    server.shutdown()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_health_is_ok_while_every_dependency_is_up(served) -> None:  # type: ignore[no-untyped-def]
    health, _, url = served
    health.watch("attendance", "postgresql")
    health.watch("attendance", "kafka")
    status, body = get(url + "/health")
    report = json.loads(body)
    assert status == 200 and report["status"] == "ok" and report["down"] == []
    assert set(report["services"]["attendance"]) == {"postgresql", "kafka"}


def test_health_names_the_dependency_that_is_down_until_it_returns(served) -> None:  # type: ignore[no-untyped-def]
    health, registry, url = served
    health.watch("attendance", "postgresql")
    health.watch("attendance", "kafka")
    assert health.mark_down("attendance", "postgresql", ConnectionRefusedError("refused"))
    assert not health.mark_down("attendance", "postgresql", ConnectionRefusedError("again"))
    status, body = get(url + "/health")
    report = json.loads(body)
    assert status == 503 and report["down"] == ["attendance/postgresql"]
    assert report["services"]["attendance"]["postgresql"]["retries"] == 2
    assert report["services"]["attendance"]["kafka"]["up"] is True
    assert registry.get_sample_value("kinerja_dependency_up", {
        "service": "attendance", "dependency": "postgresql"}) == 0
    ended = health.mark_up("attendance", "postgresql")
    assert ended is not None and ended.retries == 2
    assert get(url + "/health")[0] == 200
    metrics = get(url + "/metrics")[1]
    assert 'kinerja_dependency_retries_total{dependency="postgresql",service="attendance"} 2.0' \
        in metrics


def test_back_off_doubles_up_to_its_cap() -> None:
    backoff = Backoff(first=0.1, cap=1.0)
    delays = [backoff.next_delay() for _ in range(8)]
    assert all(0.08 <= d <= 0.12 for d in delays[:1])
    assert all(0.8 <= d <= 1.2 for d in delays[4:])
    backoff.reset()
    assert backoff.next_delay() <= 0.12


def test_a_refused_connection_is_an_outage_and_a_refused_value_is_not() -> None:
    import asyncpg

    assert is_outage(ConnectionRefusedError("no server"))
    assert is_outage(asyncpg.exceptions.CannotConnectNowError("starting up"))
    assert not is_outage(asyncpg.exceptions.CharacterNotInRepertoireError("\\x00"))
    assert not is_outage(ValueError("a bug"))
