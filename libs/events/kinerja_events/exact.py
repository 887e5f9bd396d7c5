"""Exact arithmetic's wire formats (CONTRACT.md): rupiah rounded half away from zero, and ratios
as decimal strings with exactly six places — from `Fraction`s, never floats."""

from __future__ import annotations

from fractions import Fraction


def round_half_away(x: Fraction) -> int:
    """`x` rounded to an integer, halves away from zero (0.5 → 1, −0.5 → −1)."""
    n, d = abs(x.numerator), x.denominator
    q = (2 * n + d) // (2 * d)
    return q if x >= 0 else -q


def format_ratio(x: Fraction) -> str:
    """`x` as a decimal string with exactly six places, rounded half away from zero."""
    scaled = round_half_away(x * 1_000_000)
    sign = "-" if scaled < 0 else ""
    whole, frac = divmod(abs(scaled), 1_000_000)
    return f"{sign}{whole}.{frac:06d}"
