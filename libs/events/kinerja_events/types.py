"""Scalar types shared by the contract (CONTRACT.md): NIP, period, WIB time zone."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

WIB = timezone(timedelta(hours=7), "WIB")

NIP = Annotated[str, StringConstraints(pattern=r"^\d{18}$")]
Period = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Ratio6 = Annotated[str, StringConstraints(pattern=r"^-?\d+\.\d{6}$")]
Rupiah = int
Score = Annotated[int, Field(ge=1, le=5)]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]

FROZEN_STRICT = ConfigDict(frozen=True, extra="forbid")
