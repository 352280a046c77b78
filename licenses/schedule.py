"""Royalty rate schedules: volume tiers read as marginal rates, and an annual cap (spec section 6, step 3).

``"1000:0,5000:0.20,*:0.10"`` means units 1-1,000 at 0, units 1,001-5,000 at 0.20 and every unit above
5,000 at 0.10, counted cumulatively over the licensee's calendar year. T(units) is the royalty of the first
``units`` units; it is exact (a rate times a unit count has finitely many decimals); R(units), the capped
figure rounded half-up to the cent, is what a period's royalty is the difference of.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from licenses.errors import TermError
from licenses.money import (
    format_money,
    format_rate,
    fraction_to_decimal,
    parse_money_input,
    parse_rate,
    round_half_up_cents,
)

__all__ = ["RoyaltySchedule", "Tier", "TierSchedule"]

_THRESHOLD_RE = re.compile(r"\d+", re.ASCII)


def _check_units(units: int, field: str) -> None:
    if isinstance(units, bool) or not isinstance(units, int) or units < 0:
        raise TermError(f"{field}: expected a whole number of units >= 0, got {units!r}")


@dataclass(frozen=True)
class Tier:
    """Units up to and including cumulative unit ``upto`` (``None``: without end) bear ``rate`` each."""

    upto: int | None
    rate: Decimal

    def __post_init__(self) -> None:
        if self.upto is not None and (
            isinstance(self.upto, bool) or not isinstance(self.upto, int) or self.upto <= 0
        ):
            raise TermError(f"tiers: threshold {self.upto!r} is not a positive whole number")
        if not isinstance(self.rate, Decimal) or not self.rate.is_finite() or self.rate < 0:
            raise TermError(f"tiers: rate {self.rate!r} is not a non-negative decimal")


@dataclass(frozen=True)
class TierSchedule:
    """Tiers in increasing order of threshold; the last one has no end, so every unit has a rate."""

    tiers: tuple[Tier, ...]

    def __post_init__(self) -> None:
        if not self.tiers:
            raise TermError("tiers: at least one tier is needed, e.g. *:0.10")
        *bounded, last = self.tiers
        previous = 0
        for tier in bounded:
            if tier.upto is None:
                raise TermError("tiers: only the last tier may be open-ended (*)")
            if tier.upto <= previous:
                raise TermError(f"tiers: thresholds must increase, {tier.upto} follows {previous}")
            previous = tier.upto
        if last.upto is not None:
            raise TermError(f"tiers: the last tier must be open-ended (*:RATE), not {last.upto}:...")

    @classmethod
    def parse(cls, text: str, *, field: str = "tiers") -> TierSchedule:
        """Read ``THRESHOLD:RATE,...,*:RATE``; blanks around the parts are forgiven."""
        if not isinstance(text, str) or not text.strip():
            raise TermError(f"{field}: empty; expected e.g. 1000:0,5000:0.20,*:0.10")
        tiers: list[Tier] = []
        for part in text.split(","):
            bound, sep, rate_text = part.partition(":")
            bound = bound.strip()
            if not sep or not bound:
                raise TermError(f"{field}: {part.strip()!r} is not THRESHOLD:RATE (e.g. 5000:0.20 or *:0.10)")
            rate = parse_rate(rate_text, field=f"{field} rate for {bound}")
            if bound == "*":
                tiers.append(Tier(None, rate))
            elif _THRESHOLD_RE.fullmatch(bound):
                tiers.append(Tier(int(bound), rate))
            else:
                raise TermError(f"{field}: threshold {bound!r} is not a whole number of units or *")
        return cls(tuple(tiers))

    def canonical(self) -> str:
        """The one spelling of this schedule, e.g. ``1000:0,5000:0.2,*:0.1``."""
        return ",".join(f"{'*' if t.upto is None else t.upto}:{format_rate(t.rate)}" for t in self.tiers)

    def cumulative_exact(self, units: int) -> Fraction:
        """T(units) as an exact fraction, for callers that go on computing before rounding."""
        _check_units(units, "units")
        total = Fraction(0)
        lower = 0
        for tier in self.tiers:
            upper = units if tier.upto is None else min(units, tier.upto)
            if upper <= lower:
                break
            total += (upper - lower) * Fraction(tier.rate)
            lower = upper
        return total

    def cumulative(self, units: int) -> Decimal:
        """T(units): the royalty of the first ``units`` units of the year, exact (not rounded)."""
        return fraction_to_decimal(self.cumulative_exact(units))


@dataclass(frozen=True)
class RoyaltySchedule:
    """A program's per-licensee royalty: tiers over calendar-year units, capped per calendar year."""

    tiers: TierSchedule
    annual_cap: Decimal | None = None

    def __post_init__(self) -> None:
        if self.annual_cap is not None:
            if not isinstance(self.annual_cap, Decimal) or not self.annual_cap.is_finite():
                raise TermError(f"annual_cap: {self.annual_cap!r} is not an amount")
            if self.annual_cap < 0:
                raise TermError(f"annual_cap: {self.annual_cap} must not be negative")
            if (Fraction(self.annual_cap) * 100).denominator != 1:
                raise TermError(f"annual_cap: {self.annual_cap} has a fraction of a cent")

    @classmethod
    def parse(cls, tiers: str, annual_cap: str | None = None) -> RoyaltySchedule:
        """From the CLI or a program body: a tier string and an optional cap (blank means no cap)."""
        cap = None
        if annual_cap is not None and annual_cap.strip():
            cap = parse_money_input(annual_cap, field="annual_cap")
        return cls(TierSchedule.parse(tiers), cap)

    def cap_text(self) -> str | None:
        """The cap in ledger spelling, or None without a cap."""
        return None if self.annual_cap is None else format_money(self.annual_cap)

    def _capped(self, units: int) -> Fraction:
        value = self.tiers.cumulative_exact(units)
        if self.annual_cap is not None:
            value = min(value, Fraction(self.annual_cap))
        return value

    def cumulative_royalty(self, units: int) -> Decimal:
        """R(units) = min(T(units), cap) rounded half-up to the cent (spec 6 rule 3)."""
        _check_units(units, "units")
        return round_half_up_cents(self._capped(units))

    def period_royalty(self, units_before: int, units_through: int) -> Decimal:
        """R(through) - R(before): each cumulative figure rounded, then the difference (spec 6 rule 3).

        ``units_before`` is the licensee's bearing units of the calendar year before this period and
        ``units_through`` the same including this period. Rounding each cumulative figure rather than the
        difference makes a year's periods add up to the year's rounded royalty, with no drift at sub-cent
        rates.
        """
        _check_units(units_before, "units_before")
        _check_units(units_through, "units_through")
        if units_through < units_before:
            raise TermError(
                f"units_through: {units_through} is less than the units before the period ({units_before})"
            )
        return self.cumulative_royalty(units_through) - self.cumulative_royalty(units_before)
