"""Rule sets: one TOML file per rule set id, loaded into an exact, frozen `RuleSet`.

Every percentage is written as a decimal string and read as a `Fraction`; a TOML float is
refused, so no binary rounding ever reaches a rupiah. `RuleSet.hash` is the SHA-256 hex of the
file's bytes, which every result records.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from datetime import time, timedelta, timezone
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

DEFAULT_RULES = "jabar-2026.toml"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class RuleFileError(ValueError):
    """A rule file that cannot be read as a rule set."""


@dataclass(frozen=True)
class Band:
    """A lateness / early-leave band: `from_minutes` ≤ minutes ≤ `to_minutes` (None: no end)."""

    from_minutes: int
    to_minutes: int | None
    cut: Fraction


@dataclass(frozen=True)
class MKDTier:
    """One MKD tier: days per week granted when all its conditions hold."""

    days: int
    min_productivity_ratio: Fraction
    max_discipline_cut: Fraction
    rating_required: bool
    min_score: Fraction
    max_tk_days: int | None


@dataclass(frozen=True)
class RuleSet:
    """Every parameter of RULES.md, exact. `schedule` maps ISO weekday (1 = Monday) to hours."""

    id: str
    hash: str
    tz: timezone
    schedule: dict[int, tuple[time, time]]
    base_rupiah: dict[int, int]
    absent_cut: Fraction
    missing_checkout_cut: Fraction
    makeup_max_lateness_minutes: int
    cut_cap: Fraction
    bands: tuple[Band, ...]
    day_cap_minutes: int
    absence_deduction_minutes: int
    target_minutes_per_day: int
    behaviour_divisor: Fraction
    group_weights: dict[str, Fraction]
    ikp_on_time: Fraction
    ikp_missed: Fraction
    ikp_clamp: Fraction
    productivity_share: Fraction
    discipline_share: Fraction
    work_weight: Fraction
    behaviour_weight: Fraction
    mkd_history_months: int
    mkd_history_tk_threshold: int
    mkd_tiers: tuple[MKDTier, ...]

    def band_cut(self, minutes: int) -> Fraction:
        """The TL / PSW cut for `minutes` of lateness or early leave (0 for 0 minutes)."""
        table = self.__dict__.get("_band_table")
        if table is None:
            top = max([b.from_minutes for b in self.bands] + [b.to_minutes or 0 for b in self.bands])
            table = tuple(self._band_cut(m) for m in range(top + 2))
            object.__setattr__(self, "_band_table", table)
        return table[minutes] if minutes < len(table) else table[-1]

    def _band_cut(self, minutes: int) -> Fraction:
        for band in self.bands:
            if minutes >= band.from_minutes and (
                band.to_minutes is None or minutes <= band.to_minutes
            ):
                return band.cut
        return Fraction(0)


def load_rules(path: str | Path) -> RuleSet:
    """Read the rule file at `path`; its hash is that of its bytes."""
    return parse_rules(Path(path).read_bytes())


def default_rules_bytes() -> bytes:
    """The bytes of the packaged default rule file, `jabar-2026`."""
    return resources.files("kinerja_payroll").joinpath("rules", DEFAULT_RULES).read_bytes()


def load_default_rules() -> RuleSet:
    """The packaged default rule set, `jabar-2026`."""
    return parse_rules(default_rules_bytes())


def parse_rules(raw: bytes) -> RuleSet:
    """A `RuleSet` from the bytes of a rule file."""
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RuleFileError(f"not a TOML rule file: {exc}") from None
    try:
        return _build(doc, hashlib.sha256(raw).hexdigest())
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, RuleFileError):
            raise
        raise RuleFileError(f"invalid rule file: {exc!r}") from None


def _build(doc: dict[str, Any], digest: str) -> RuleSet:
    disc, prod, beh, ikp, shares, mkd = (
        doc["discipline"], doc["productivity"], doc["behaviour"], doc["ikp"], doc["shares"],
        doc["mkd"],
    )
    return RuleSet(
        id=_text(doc["id"]),
        hash=digest,
        tz=timezone(timedelta(hours=_int(doc["timezone_offset_hours"]))),
        schedule=_schedule(doc["schedule"]),
        base_rupiah={int(k): _int(v) for k, v in doc["base_rupiah"].items()},
        absent_cut=_exact(disc["absent_cut"]),
        missing_checkout_cut=_exact(disc["missing_checkout_cut"]),
        makeup_max_lateness_minutes=_int(disc["makeup_max_lateness_minutes"]),
        cut_cap=_exact(disc["cut_cap"]),
        bands=tuple(
            Band(_int(b["from_minutes"]), _opt_int(b.get("to_minutes")), _exact(b["cut"]))
            for b in disc["bands"]
        ),
        day_cap_minutes=_int(prod["day_cap_minutes"]),
        absence_deduction_minutes=_int(prod["absence_deduction_minutes"]),
        target_minutes_per_day=_int(prod["target_minutes_per_day"]),
        behaviour_divisor=_exact(beh["divisor"]),
        group_weights={g: _exact(beh[g]) for g in ("superior", "peer", "subordinate")},
        ikp_on_time=_exact(ikp["on_time"]),
        ikp_missed=_exact(ikp["missed"]),
        ikp_clamp=_exact(ikp["clamp"]),
        productivity_share=_exact(shares["productivity"]),
        discipline_share=_exact(shares["discipline"]),
        work_weight=_exact(shares["work"]),
        behaviour_weight=_exact(shares["behaviour"]),
        mkd_history_months=_int(mkd["history_months"]),
        mkd_history_tk_threshold=_int(mkd["history_tk_threshold"]),
        mkd_tiers=tuple(_tier(t) for t in mkd["tiers"]),
    )


def _schedule(table: dict[str, Any]) -> dict[int, tuple[time, time]]:
    unknown = set(table) - set(WEEKDAYS)
    if unknown:
        raise RuleFileError(f"unknown weekday(s) in schedule: {sorted(unknown)}")
    hours = {}
    for name, spec in table.items():
        start, end = time.fromisoformat(_text(spec["start"])), time.fromisoformat(_text(spec["end"]))
        if not start < end:
            raise RuleFileError(f"schedule {name}: start must be before end")
        hours[WEEKDAYS.index(name) + 1] = (start, end)
    return hours


def _tier(spec: dict[str, Any]) -> MKDTier:
    return MKDTier(
        days=_int(spec["days"]),
        min_productivity_ratio=_exact(spec["min_productivity_ratio"]),
        max_discipline_cut=_exact(spec["max_discipline_cut"]),
        rating_required=bool(spec["rating_required"]),
        min_score=_exact(spec["min_score"]),
        max_tk_days=_opt_int(spec.get("max_tk_days")),
    )


def _exact(value: Any) -> Fraction:
    if not isinstance(value, str):
        raise RuleFileError(f"fractions must be decimal strings, got {value!r}")
    return Fraction(value)


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise RuleFileError(f"expected an integer, got {value!r}")
    return value


def _opt_int(value: Any) -> int | None:
    return None if value is None else _int(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise RuleFileError(f"expected a string, got {value!r}")
    return value
