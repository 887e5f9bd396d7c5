"""Command-line argument types shared by payroll's commands (offline and service-backed)."""

from __future__ import annotations

import argparse


def period_argument(text: str) -> str:
    """A `YYYY-MM` command-line argument of the contract's calendar (2000–2099); argparse
    reports anything else as a usage error."""
    from pydantic import TypeAdapter, ValidationError

    from kinerja_events.types import Period

    try:
        return TypeAdapter(Period).validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError(
            f"period must be YYYY-MM of 2000-2099, got {text!r}") from None
