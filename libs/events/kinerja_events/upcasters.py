"""Upcasters: each lifts a raw envelope of one type from schema version n to n + 1.

History is never rewritten: an event stored or published under an older version is read through
these steps, so every consumer and every replay sees the current version only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


def activity_logged_v1_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """`ActivityLogged` v2 adds `skp_item_id`; a v1 activity served no SKP item."""
    data = raw.get("data")
    if not isinstance(data, dict):
        return raw  # left for validation to refuse, naming the field
    return {**raw, "data": {**data, "skp_item_id": None}}


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("ActivityLogged", 1): activity_logged_v1_to_v2,
}
"""(type, version) → the step from that version to the next."""
