"""Canonical result lines and the close digest (RULES.md §9)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any


def canonical_line(tpp: Mapping[str, Any]) -> str:
    """One `TPPCalculated` data as canonical JSON: keys sorted, no spaces, UTF-8 text."""
    return json.dumps(tpp, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(results: Iterable[Mapping[str, Any]]) -> bytes:
    """The canonical lines of `results` (TPPCalculated data), sorted by nip, joined by '\\n'."""
    ordered = sorted(results, key=lambda tpp: tpp["nip"])
    return "\n".join(canonical_line(tpp) for tpp in ordered).encode("utf-8")


def digest(results: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 hex of the canonical bytes of `results` (TPPCalculated data dicts)."""
    return hashlib.sha256(canonical_bytes(results)).hexdigest()
