"""Command-line argument types of the contract's values, shared by every service's commands."""

from __future__ import annotations

import argparse


def period_argument(text: str) -> str:
    """A `YYYY-MM` command-line argument of the contract's calendar (2000–2099); argparse
    reports anything else as a usage error."""
    from pydantic import TypeAdapter, ValidationError

    from .types import Period

    try:
        return TypeAdapter(Period).validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError(
            f"period must be YYYY-MM of 2000-2099, got {text!r}") from None


def nip_argument(text: str) -> str:
    """An 18-digit NIP command-line argument; argparse reports anything else as a usage
    error."""
    from pydantic import TypeAdapter, ValidationError

    from .types import NIP

    try:
        return TypeAdapter(NIP).validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError(f"a NIP is 18 digits, got {text!r}") from None


def year_argument(text: str) -> int:
    """A year 2000–2099 (the contract's years)."""
    if not text.isascii() or not text.isdigit() or not 2000 <= int(text) <= 2099:
        raise argparse.ArgumentTypeError(f"a year 2000–2099, got {text!r}")
    return int(text)
