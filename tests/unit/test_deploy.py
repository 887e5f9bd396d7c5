"""The production stack (docker-compose.yml, deploy/) holds together. It cannot be started here (no
Docker engine), so what `docker compose up` would trip over is checked from the files: a service
without its container, a setting a service reads that its container leaves unset, a compose
default that differs from the code's, an undeclared volume, two containers on one host port,
Prometheus scraping something else than the services, a Dockerfile that leaves out what
`pip install .` needs, a healthcheck that does not notice a dependency down. (That every metric
the dashboard queries exists: tests/integration/test_deploy_metrics.py.)"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from kinerja_cli.services import SERVICE_MODULES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "kinerja.json"

# What an operator's .env holds (docs/production.md): the secrets, and nothing else.
DOTENV = {"KINERJA_GATEWAY_KEY": "gateway-key-from-dotenv", "KINERJA_HR_KEY": "hr-key-from-dotenv",
          "KINERJA_POSTGRES_PASSWORD": "pgpassword", "KINERJA_GRAFANA_PASSWORD": "grafana"}
# Config fields the stack sets on purpose to other values than the code's development defaults.
DELIBERATE = {"keys", "gateway_key", "export_dir"}
ALWAYS_RUNNING = {"kafka", "postgres", *SERVICE_MODULES, "prometheus", "grafana"}


# --- reading the files ------------------------------------------------------------------------
class UndefinedVariable(Exception):
    """A `${NAME}` the environment leaves unset, with no default."""


VARIABLE = re.compile(r"\$\$"
                      r"|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
                      r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)")


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """`value` with compose's `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}`
    and `$$` resolved from `env`, in every string of it."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value
    return VARIABLE.sub(lambda match: substitute(match, env), value)


def substitute(match: re.Match[str], env: Mapping[str, str]) -> str:
    """What compose puts in place of one variable reference."""
    if match.group(0) == "$$":
        return "$"
    name = match.group("name") or match.group("bare")
    op, arg = match.group("op"), match.group("arg")
    found = env.get(name)
    missing = found is None or (found == "" and op is not None and op.startswith(":"))
    if not missing:
        return found
    if op in (":-", "-"):
        return arg
    raise UndefinedVariable(f"{name}: {arg}" if op in (":?", "?") else name)


def compose(env: Mapping[str, str] = DOTENV) -> dict[str, Any]:
    """docker-compose.yml as compose reads it with `env` (anchors merged, variables resolved)."""
    return interpolate(yaml.safe_load(COMPOSE.read_text()), env)


def containers(env: Mapping[str, str] = DOTENV) -> dict[str, dict[str, Any]]:
    """The services of the compose file, by name."""
    return compose(env)["services"]


def serving(env: Mapping[str, str] = DOTENV) -> dict[str, tuple[str, dict[str, Any]]]:
    """Platform service -> (container name, container) of the container running
    `kinerja <service> serve`."""
    found = {}
    for name, container in containers(env).items():
        command = container.get("command") or []
        if len(command) >= 2 and command[1] == "serve":
            found[command[0]] = (name, container)
    return found


def metrics_port(container: dict[str, Any]) -> int:
    """The `--metrics-port` of a service container's command."""
    command = container["command"]
    return int(command[command.index("--metrics-port") + 1])


def environment(container: dict[str, Any]) -> dict[str, str]:
    """A container's environment as its process sees it (values as strings)."""
    env = container.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def volume_mounts(container: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(source, target) of each of a container's volumes (short syntax)."""
    for entry in container.get("volumes") or []:
        source, target = entry.split(":")[:2]
        yield source, target


def published_ports(container: dict[str, Any]) -> Iterator[tuple[str, int, int]]:
    """(host address, host port, container port) of each published port."""
    for entry in container.get("ports") or []:
        parts = str(entry).split(":")
        address = parts[0] if len(parts) == 3 else "0.0.0.0"
        yield address, int(parts[-2]), int(parts[-1])


def dashboard_exprs() -> list[str]:
    """Every PromQL expression of the Grafana dashboard."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


class ReadRecorder(dict):
    """An environment that records every `KINERJA_*` name read from it."""

    def __init__(self, values: Mapping[str, str]):
        super().__init__(values)
        self.read: set[str] = set()

    def note(self, key: object) -> None:
        if isinstance(key, str) and key.startswith("KINERJA_"):
            self.read.add(key)

    def __getitem__(self, key: str) -> str:
        self.note(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.note(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.note(key)
        return super().__contains__(key)


def settings_read_by(command: list[str], monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Every `KINERJA_*` variable `kinerja COMMAND` reads: while its arguments are parsed, by
    the process settings, and (for `SERVICE serve`) by the service's own config."""
    import argparse

    from kinerja_cli.main import SUBCOMMANDS, add_service_commands
    from kinerja_events.settings import load_settings

    recorder = ReadRecorder(os.environ)
    with monkeypatch.context() as patch:
        patch.setattr(os, "environ", recorder)
        parser = argparse.ArgumentParser(prog=f"kinerja {command[0]}")
        add_service_commands(parser, SUBCOMMANDS[command[0]][0])
        parser.parse_args(command[1:])
    load_settings(recorder)
    if command[0] in SERVICE_MODULES:
        importlib.import_module(SERVICE_MODULES[command[0]]).load_config(recorder)
    return recorder.read


# --- the services -----------------------------------------------------------------------------
def test_every_platform_service_has_a_container_serving_it_with_metrics():
    found = serving()
    assert sorted(found) == sorted(SERVICE_MODULES)
    for service, (name, container) in found.items():
        assert name == service
        assert container["command"] == [service, "serve", "--metrics-port", "9100"]
        assert environment(container)["KINERJA_METRICS_PORT"] == "9100"
        assert "9100" in [str(port) for port in container["expose"]]


@pytest.mark.parametrize("service", sorted(SERVICE_MODULES))
def test_every_setting_a_service_reads_is_set_in_its_container(service, monkeypatch):
    _, container = serving()[service]
    read = settings_read_by(container["command"], monkeypatch)
    assert {"KINERJA_KAFKA", "KINERJA_DATABASE_URL"} <= read  # the recorder sees the reads
    assert sorted(read - set(environment(container))) == []


def test_the_topics_job_and_the_admin_container_have_every_setting_they_read(monkeypatch):
    found = containers()
    topics = found["topics"]
    assert topics["command"][:2] == ["topics", "create"]
    assert sorted(settings_read_by(topics["command"], monkeypatch)
                  - set(environment(topics))) == []
    every_service = set().union(*(settings_read_by([name, "serve"], monkeypatch)
                                  for name in SERVICE_MODULES))
    assert sorted(every_service - set(environment(found["cli"]))) == []


@pytest.mark.parametrize("service", sorted(SERVICE_MODULES))
def test_a_service_runs_with_the_code_defaults_except_its_keys_and_data_directory(service):
    bootstrap = importlib.import_module(SERVICE_MODULES[service])
    _, container = serving()[service]
    env = environment(container)
    configured, default = bootstrap.load_config(env), bootstrap.load_config({})
    differing = {field.name for field in dataclasses.fields(configured)
                 if getattr(configured, field.name) != getattr(default, field.name)}
    assert differing <= DELIBERATE
    for key in ("KINERJA_GATEWAY_KEY", "KINERJA_HR_KEY"):
        if key in env:
            assert env[key] == DOTENV[key]  # from .env, never a development key


def test_the_process_settings_point_at_the_stack_with_the_code_defaults_for_real_kafka():
    from kinerja_events.settings import load_settings

    found = containers()
    for service in SERVICE_MODULES:
        settings = load_settings(environment(found[service]))
        assert settings.kafka == "kafka:9092"
        assert "@postgres:5432/" in settings.database_url
        assert settings.log_level == "INFO"
        assert settings.consumer_options() == load_settings(
            {"KINERJA_KAFKA": "kafka:9092"}).consumer_options()
    assert "PLAINTEXT://kafka:9092" in found["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    password = found["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert f"kinerja:{password}@postgres" in environment(found["payroll"])["KINERJA_DATABASE_URL"]


@pytest.mark.parametrize("secret", sorted(DOTENV))
def test_the_stack_refuses_to_start_without_each_secret(secret):
    with pytest.raises(UndefinedVariable, match=secret):
        compose({name: value for name, value in DOTENV.items() if name != secret})


def test_payroll_exports_land_on_a_named_volume_the_admin_container_shares():
    from kinerja_payroll.bootstrap import load_config

    found = containers()
    export_dir = str(load_config(environment(found["payroll"])).export_dir)
    for name in ("payroll", "cli"):
        assert (("exports", export_dir) in set(volume_mounts(found[name]))), name


def test_services_start_after_their_dependencies_and_the_topics():
    found = containers()
    for service in SERVICE_MODULES:
        assert found[service]["depends_on"] == {
            "kafka": {"condition": "service_healthy"},
            "postgres": {"condition": "service_healthy"},
            "topics": {"condition": "service_completed_successfully"}}


# --- volumes, ports, restarts, healthchecks ---------------------------------------------------
def test_every_named_volume_is_declared_and_every_bind_mount_exists():
    config = compose()
    declared = set(config["volumes"])
    named = set()
    for name, container in config["services"].items():
        for source, target in volume_mounts(container):
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: {source}"
            else:
                named.add(source)
    assert sorted(named - declared) == []
    assert sorted(declared - named) == []  # and none declared for nothing


def test_published_host_ports_do_not_collide_and_each_service_has_its_own():
    found = containers()
    published = [(address, host) for container in found.values()
                 for address, host, _ in published_ports(container)]
    assert len(published) == len(set(published))
    assert len({host for _, host in published}) == len(published)
    for service, (_, container) in serving().items():
        [(_, _, inside)] = list(published_ports(container))
        assert inside == metrics_port(container), service
    assert [p[2] for p in published_ports(found["prometheus"])] == [9090]
    assert [p[2] for p in published_ports(found["grafana"])] == [3000]


def test_published_ports_listen_on_loopback_unless_an_address_is_given():
    everywhere = containers({**DOTENV, "KINERJA_PUBLISH_ADDRESS": "0.0.0.0"})
    for name, container in containers().items():
        addresses = {address for address, _, _ in published_ports(container)}
        assert addresses <= {"127.0.0.1"}, name
        assert {a for a, _, _ in published_ports(everywhere[name])} <= {"0.0.0.0"}, name


def test_long_running_containers_restart_and_one_shot_ones_do_not():
    found = containers()
    for name in ALWAYS_RUNNING:
        assert found[name]["restart"] == "unless-stopped", name
    assert found["topics"]["restart"] == "no"
    assert found["cli"]["restart"] == "no" and found["cli"]["profiles"] == ["tools"]
    assert set(found) == ALWAYS_RUNNING | {"topics", "cli"}


def test_every_long_running_container_has_a_healthcheck():
    found = containers()
    for name in ALWAYS_RUNNING:
        assert found[name]["healthcheck"]["test"], name
    for service, (_, container) in serving().items():
        test = container["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"]
        assert f"http://localhost:{metrics_port(container)}/health" in test[3], service


def test_the_service_healthcheck_passes_while_health_is_up_and_fails_while_a_dependency_is_down():
    from kinerja_events.observability import make_registry, start_metrics_server
    from kinerja_events.resilience import Health

    _, container = serving()["attendance"]
    code = container["healthcheck"]["test"][3]
    health = Health(make_registry())
    health.watch("attendance", "postgresql")
    server = start_metrics_server(make_registry(), 0, addr="127.0.0.1", health=health)
    try:
        probe = [sys.executable, "-c", code.replace(":9100/", f":{server.server_port}/")]
        assert subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
        health.mark_down("attendance", "postgresql", ConnectionRefusedError("refused"))
        assert subprocess.run(probe, capture_output=True, timeout=30).returncode != 0
    finally:
        server.shutdown()


# --- Prometheus and Grafana -------------------------------------------------------------------
def prometheus_targets() -> set[str]:
    """Every `host:port` Prometheus scrapes (static targets and DNS-discovered names)."""
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    targets = set()
    for job in config["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics"
        for static in job.get("static_configs", []):
            targets |= set(static["targets"])
        for dns in job.get("dns_sd_configs", []):
            assert dns["type"] == "A"
            targets |= {f"{name}:{dns['port']}" for name in dns["names"]}
    return targets


def test_prometheus_scrapes_exactly_the_service_containers_metrics_ports():
    expected = {f"{name}:{metrics_port(container)}" for name, container in serving().values()}
    assert prometheus_targets() == expected


def test_prometheus_and_grafana_read_the_files_of_deploy():
    found = containers()
    assert ("./deploy/prometheus.yml", "/etc/prometheus/prometheus.yml") in set(
        volume_mounts(found["prometheus"]))
    grafana = dict(volume_mounts(found["grafana"]))
    provisioning = DEPLOY / "grafana" / "provisioning"
    assert grafana["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    [source] = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())[
        "datasources"]
    assert source["url"] == "http://prometheus:9090" and source["isDefault"]
    [provider] = yaml.safe_load((provisioning / "dashboards" / "kinerja.yml").read_text())[
        "providers"]
    assert grafana["./deploy/grafana/dashboards"] == provider["options"]["path"]
    home = environment(found["grafana"])["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{DASHBOARD.name}"


def test_the_dashboard_panels_are_distinct_do_not_overlap_and_each_has_a_query():
    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        assert panel["targets"] and all(t["expr"] and t["refId"] for t in panel["targets"])
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, (panel["title"], cells.get((x, y)))
                cells[(x, y)] = panel["title"]


@pytest.mark.parametrize("what", [
    "kinerja_commands_total", "kinerja_consumer_lag", "kinerja_commands_refused_total",
    "kinerja_outbox_backlog", "kinerja_dead_letters_total", "kinerja_dead_letters_parked",
    "kinerja_payroll_close_seconds_bucket", "kinerja_payroll_closes_total",
    "kinerja_dependency_up", 'kinerja_attendance_checks_total{outcome="rejected"}',
    'kinerja_worklog_outcomes_total{outcome="refused"}',
    'kinerja_appraisal_outcomes_total{outcome="refused"}',
    'kinerja_mkd_outcomes_total{outcome="refused"}',
    # the panels the dashboard had before
    'kinerja_attendance_checks_total{outcome="accepted"}', "kinerja_command_lag_seconds_bucket",
    "kinerja_outbox_published_total", "kinerja_inbox_refused_total",
    "kinerja_payroll_facts_folded_total", "kinerja_payroll_projected_total_rupiah",
    "kinerja_payroll_projected_employees"])
def test_the_dashboard_shows(what):
    assert any(re.search(rf"{re.escape(what)}(?![A-Za-z0-9_])", expr) for expr in dashboard_exprs())


# --- the image --------------------------------------------------------------------------------
def dockerfile_copies() -> list[str]:
    """The sources of the Dockerfile's COPY instructions from the build context."""
    sources = []
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources += [w for w in words[1:-1] if not w.startswith("--")]
    return sources


def test_the_dockerfile_copies_everything_pip_install_reads():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    copied = dockerfile_copies()
    needed = ["pyproject.toml",
              *project["tool"]["setuptools"]["packages"]["find"]["where"]]
    if isinstance(project["project"].get("readme"), str):
        needed.append(project["project"]["readme"])
    for path in needed:
        assert any(path == source or path.startswith(f"{source}/") for source in copied), path
    for source in copied:
        assert (ROOT / source).exists(), source
    for package, patterns in project["tool"]["setuptools"].get("package-data", {}).items():
        for pattern in patterns:
            assert list(ROOT.glob(f"services/*/{package}/{pattern}")), (package, pattern)


def test_the_build_context_keeps_what_the_dockerfile_copies():
    ignore = [line.strip() for line in (DEPLOY / "Dockerfile.dockerignore").read_text()
              .splitlines() if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*"  # nothing but what is let back in
    kept = {line[1:] for line in ignore if line.startswith("!")}
    assert set(dockerfile_copies()) == kept


def test_the_image_runs_kinerja_as_an_unprivileged_user():
    lines = [line.split() for line in (DEPLOY / "Dockerfile").read_text().splitlines()]
    instructions = [words for words in lines if words and not words[0].startswith("#")]
    assert ["ENTRYPOINT", '["kinerja"]'] in instructions
    users = [words[1] for words in instructions if words[0] == "USER"]
    assert users and users[-1] not in ("root", "0")
    for name in SERVICE_MODULES:
        assert containers()[name]["build"]["dockerfile"] == "deploy/Dockerfile"
