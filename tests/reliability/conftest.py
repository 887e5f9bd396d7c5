"""The reliability and security suite: faults, hostile input and intruders against the platform.

Every test here runs on the real embedded PostgreSQL and broker. Test module names are unique
across `tests/` (the directories are not packages)."""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this directory `reliability` (`pytest -m reliability` runs them)."""
    for item in items:
        if "tests/reliability/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.reliability)
