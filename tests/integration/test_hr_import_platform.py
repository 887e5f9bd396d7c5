"""`kinerja hr import` against the real embedded broker and PostgreSQL, with the attendance and
worklog services running on their usual databases (as `kinerja run` has them): the first import
publishes the whole chart and the services come to hold it; the same import again publishes
nothing; a changed superior publishes exactly one `EmployeeChanged` on `kinerja.hr`.

The module has a broker and a PostgreSQL server of its own, so `kinerja.hr` holds exactly what
the imports published and the database names are free.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text

from kinerja_cli.hrimport import read_current
from kinerja_cli.main import main
from kinerja_events import topics
from kinerja_events.embedded import Endpoints
from org import hr_platform
from reading import topic_reader

pytestmark = pytest.mark.integration

HEAD, ANALYST, CLERK, PEER = ("197501012000031001", "199001012020121002", "199202022020122003",
                              "199303032020123004")


def chart(clerk_superior: str = ANALYST) -> dict[str, Any]:
    """A bureau: one office, two positions, a head, an analyst under them, a clerk and a peer."""
    def person(nip: str, name: str, position: str, superior: str | None) -> dict[str, Any]:
        return {"nip": nip, "name": name, "position_code": position, "unit": "Biro Organisasi",
                "office_id": "GS", "superior_nip": superior}

    return {
        "effective_date": "2026-10-01",
        "offices": [{"office_id": "GS", "name": "Gedung Sate", "lat": -6.902481,
                     "lon": 107.61881, "radius_m": 200}],
        "positions": [
            {"position_code": "KABIRO", "name": "Kepala Biro", "kelas_jabatan": 14,
             "mobile": False, "public_service": False, "tasks": []},
            {"position_code": "ANALIS", "name": "Analis Kebijakan", "kelas_jabatan": 9,
             "mobile": False, "public_service": False,
             "tasks": [{"task_code": "LAP", "name": "Menyusun laporan", "unit": "dokumen",
                        "minutes_per_unit": 80}]}],
        "employees": [person(HEAD, "Ir. Bambang", "KABIRO", None),
                      person(ANALYST, "Siti", "ANALIS", HEAD),
                      person(CLERK, "Asep", "ANALIS", clerk_superior),
                      person(PEER, "Dewi", "ANALIS", ANALYST)],
        "holidays": [{"date": "2026-12-25", "name": "Natal", "kind": "national"}],
    }


@dataclass(frozen=True)
class Platform:
    """The module's endpoints and its running services, by name."""

    endpoints: Endpoints
    services: dict[str, Any]


@pytest.fixture(scope="module")
async def platform() -> AsyncIterator[Platform]:
    """The module's broker and PostgreSQL, with attendance and worklog running."""
    async with hr_platform("kinerja-hr-") as (endpoints, services):
        yield Platform(endpoints, services)


@pytest.fixture
def attached(platform, monkeypatch) -> Platform:  # type: ignore[no-untyped-def]
    """`kinerja` commands of this test attach to the module's platform."""
    monkeypatch.setenv("KINERJA_KAFKA", platform.endpoints.kafka_bootstrap)
    monkeypatch.setenv("KINERJA_DATABASE_URL", platform.endpoints.database_base_url)
    return platform


async def kinerja(capsys, *args: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """Run `kinerja ARGS` (in a thread: it runs its own event loop); exit code and stdout."""
    code = await asyncio.to_thread(main, list(args))
    out, err = capsys.readouterr()
    assert err == ""
    return code, out


async def import_json(capsys, path: Path, content: dict[str, Any], *options: str  # type: ignore[no-untyped-def]
                      ) -> dict[str, Any]:
    """Write `content` to `path`, import it with `--json`; its report."""
    path.write_text(json.dumps(content, indent=2))
    code, out = await kinerja(capsys, "hr", "import", str(path), "--json", *options)
    assert code == 0
    return json.loads(out)  # type: ignore[no-any-return]


async def wait_until_held(platform: Platform, report: dict[str, Any], timeout: float = 60) -> None:
    """Until attendance holds the report's offices, positions and employees, and worklog its
    holidays (polled by their exact event ids)."""
    wanted = {"attendance": {UUID(e["event_id"]) for e in report["events"]
                             if e["kind"] != "holiday"},
              "worklog": {UUID(e["event_id"]) for e in report["events"]
                          if e["kind"] == "holiday"}}
    async with asyncio.timeout(timeout):
        for name, ids in wanted.items():
            while ids:
                async with platform.services[name].engine.connect() as conn:
                    ids -= set((await conn.execute(text(
                        "SELECT event_id FROM reference_facts WHERE event_id = ANY(:ids)"),
                        {"ids": list(ids)})).scalars())
                await asyncio.sleep(0.1)


async def hr_records(platform: Platform, event_ids: set[str]) -> list[dict[str, Any]]:
    """Every record on `kinerja.hr`, once each of `event_ids` is among them, checked to be all
    the topic holds (its end offsets)."""
    def ids(records: list) -> set[str]:
        return {json.loads(r.value)["event_id"] for r in records}

    bootstrap = platform.endpoints.kafka_bootstrap
    records = await topic_reader(bootstrap)(topics.HR, until=lambda rs: event_ids <= ids(rs))
    assert len(records) == await topic_size(bootstrap, topics.HR)
    return [json.loads(r.value) for r in records]


async def topic_size(bootstrap: str, topic: str) -> int:
    """How many records `topic` holds (the sum of its partitions' end offsets)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await probe.start()
    try:
        await probe._client.force_metadata_update()  # noqa: SLF001
        partitions = probe.partitions_for_topic(topic) or set()
        ends = await probe.end_offsets([TopicPartition(topic, p) for p in partitions])
        return sum(ends.values())
    finally:
        await probe.stop()


async def test_an_import_is_published_once_and_a_changed_superior_as_one_employee_changed(
        attached, tmp_path, capsys):
    path = tmp_path / "chart.json"

    first = await import_json(capsys, path, chart())
    assert first["published"] == 8
    assert first["total"] == {"new": 8, "changed": 0, "unchanged": 0}
    await wait_until_held(attached, first)
    held = await read_current(attached.endpoints)
    assert held.directory.superior_of(CLERK, held.directory.people[CLERK].start) == ANALYST
    assert ("holiday", "2026-12-25") in held.shared

    code, out = await kinerja(capsys, "hr", "import", str(path))
    assert code == 0
    assert out.splitlines()[-2:] == [
        "total     0    0        8          8",
        "nothing to publish: the platform holds all of it already"]

    dry = await import_json(capsys, path, chart(clerk_superior=HEAD), "--dry-run")
    assert (dry["planned"], dry["published"]) == (1, 0)
    changed = await import_json(capsys, path, chart(clerk_superior=HEAD))
    assert changed["published"] == 1
    [event] = changed["events"]
    assert (event["type"], event["key"], event["status"]) == ("EmployeeChanged", CLERK, "changed")

    records = await hr_records(attached, {e["event_id"] for e in first["events"] + [event]})
    assert len(records) == 9
    [employee_changed] = [r for r in records if r["type"] == "EmployeeChanged"]
    assert employee_changed["event_id"] == event["event_id"]
    assert employee_changed["data"] == {"nip": CLERK, "effective_date": "2026-10-01",
                                        "superior_nip": HEAD}
    await wait_until_held(attached, changed)
    again = await import_json(capsys, path, chart(clerk_superior=HEAD))
    assert (again["published"], again["total"]["unchanged"]) == (0, 8)
