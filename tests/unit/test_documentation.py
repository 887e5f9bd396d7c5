"""The README documents every reason code of every service exactly as the service defines it
(code, whether a retry may help, meaning), so what a gateway developer reads is what they get."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def row(reason) -> str:  # type: ignore[no-untyped-def]
    return (f"| `{reason.code}` | {'yes' if reason.retryable else 'no'} | "
            f"{reason.description} |")


@pytest.mark.parametrize("module", ["kinerja_attendance.reasons", "kinerja_worklog.reasons",
                                    "kinerja_appraisal.reasons", "kinerja_mkd.reasons"])
def test_every_reason_code_is_in_the_readme_as_the_service_defines_it(module):  # type: ignore[no-untyped-def]
    lines = set(README.read_text().splitlines())
    missing = [row(r) for r in importlib.import_module(module).REASONS.values()
               if row(r) not in lines]
    assert missing == []
