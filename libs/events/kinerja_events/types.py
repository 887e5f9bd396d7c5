"""Scalar types shared by the contract (CONTRACT.md): NIP, period, WIB time zone, and the bounds.

The bounds of CONTRACT.md ("Bounds") live in these types, so every producer that builds a model
and every consumer that validates one refuses the same values: dates and instants inside the
calendar's range, no U+0000 in any string, names ≤ 500 characters, descriptions ≤ 4,000, ids ≤ 100,
lists ≤ 1,000 items, no NaN or infinity. The message-level bounds (size, depth, 64-bit integers)
are checked on the raw bytes by `codec.load_object`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any, TypeVar

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints

WIB = timezone(timedelta(hours=7), "WIB")

EARLIEST_DATE = date(1950, 1, 1)
EARLIEST_WORK_DATE = date(2000, 1, 1)
LATEST_DATE = date(2099, 12, 31)
MAX_ID = 100
MAX_NAME = 500
MAX_TEXT = 4000
MAX_ITEMS = 1000
MAX_MINUTES = 1440
MAX_QUANTITY = 1000

_NO_NUL = r"^[^\x00]*$"
_NO_NUL_NON_EMPTY = r"^[^\x00]+$"


def _instants_from(earliest: date) -> Any:
    """Bounds of an aware time whose WIB date lies in `earliest` … `LATEST_DATE` (checked by
    pydantic-core, which also compares times in other offsets)."""
    return Field(ge=datetime.combine(earliest, time.min, WIB),
                 lt=datetime.combine(LATEST_DATE + timedelta(days=1), time.min, WIB))


# Digits are [0-9]: `\d` would take the digits of every script (e.g. Arabic-Indic).
NIP = Annotated[str, StringConstraints(pattern=r"^[0-9]{18}$")]
Period = Annotated[str, StringConstraints(pattern=r"^20[0-9][0-9]-(0[1-9]|1[0-2])$")]
Ratio6 = Annotated[str, StringConstraints(pattern=r"^-?[0-9]+\.[0-9]{6}$", max_length=40)]
Rupiah = int
Score = Annotated[int, Field(ge=1, le=5)]

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID, pattern=_NO_NUL_NON_EMPTY)]
"""An identifier (office, position, task, leave, activity, …): 1–100 characters."""
NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME,
                                            pattern=_NO_NUL_NON_EMPTY)]
"""A required name, title or reason: 1–500 characters."""
Name = Annotated[str, StringConstraints(max_length=MAX_NAME, pattern=_NO_NUL)]
"""A name, title, unit or reason: at most 500 characters."""
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT, pattern=_NO_NUL)]
"""A description or notes: at most 4,000 characters."""
Minutes = Annotated[int, Field(ge=0, le=MAX_MINUTES)]

AnyDate = Annotated[date, Field(ge=EARLIEST_DATE, le=LATEST_DATE)]
"""A date of reference data (e.g. an employment's effective date): 1950-01-01 … 2099-12-31."""
WorkDate = Annotated[date, Field(ge=EARLIEST_WORK_DATE, le=LATEST_DATE)]
"""A date of a fact of work (attendance, activity, leave, travel, IKP, MKD): 2000 … 2099."""
Instant = Annotated[AwareDatetime, _instants_from(EARLIEST_DATE)]
"""An aware time whose WIB date lies in 1950-01-01 … 2099-12-31."""
WorkInstant = Annotated[AwareDatetime, _instants_from(EARLIEST_WORK_DATE)]
"""An aware time of a fact of work: its WIB date lies in 2000-01-01 … 2099-12-31."""

T = TypeVar("T")
Items = Annotated[list[T], Field(max_length=MAX_ITEMS)]
"""A list of at most 1,000 items."""

FROZEN_STRICT = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
