"""Open-licence fees (China Patent Law art. 50-52; spec sections 5 and 6, step 9).

A declaration publishes one fee, written one of three ways:

* ``0.10/unit``: a running royalty per unit made or sold in the patent's country;
* ``3%``: a share of those units' net sales (0-100 %);
* ``5000/year``: a lump sum per year, due pro rata for a period by whole months (3/12 for a quarter,
  6/12 for a half-year) whatever the volume, because the declaration prices a year of use, not units.

The currency is a separate field of the declaration. A fee of zero is allowed: royalty-free open licences
are declared in practice, and recording who took one still matters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal, get_args

from licenses.errors import TermError
from licenses.money import format_rate, parse_rate, round_half_up_cents

__all__ = ["FEE_KINDS", "Fee", "FeeKind", "parse_fee"]

FeeKind = Literal["unit", "percent", "lump"]
FEE_KINDS: tuple[FeeKind, ...] = get_args(FeeKind)

_FEE_RE = re.compile(r"(?P<amount>[^/%\s]+)\s*(?:(?P<percent>%)|/\s*(?P<per>[a-z]+))", re.ASCII)
_PER: dict[str, FeeKind] = {"unit": "unit", "year": "lump"}
_FORMS = "0.10/unit, 3% or 5000/year"


@dataclass(frozen=True)
class Fee:
    """One open-licence fee: ``amount`` per unit, percent of net sales, or per year."""

    kind: FeeKind
    amount: Decimal

    def __post_init__(self) -> None:
        if self.kind not in FEE_KINDS:
            raise TermError(f"fee: kind {self.kind!r} is not one of {', '.join(FEE_KINDS)}")
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite() or self.amount < 0:
            raise TermError(f"fee: amount {self.amount!r} is not a non-negative decimal")
        if self.kind == "percent" and self.amount > 100:
            raise TermError(f"fee: {format_rate(self.amount)}% is more than all of the net sales")
        if self.kind == "lump" and (Fraction(self.amount) * 100).denominator != 1:
            # A yearly sum is money: a fraction of a cent is a typo, not a price.
            raise TermError(f"fee: {format_rate(self.amount)}/year has a fraction of a cent")

    @classmethod
    def parse(cls, text: str) -> Fee:
        return parse_fee(text)

    def canonical(self) -> str:
        """The one spelling: ``0.1/unit``, ``3%``, ``5000/year``."""
        amount = format_rate(self.amount)
        if self.kind == "unit":
            return f"{amount}/unit"
        if self.kind == "percent":
            return f"{amount}%"
        return f"{amount}/year"

    def due(self, units: int, net_sales: Decimal, months: int) -> Decimal:
        """The fee for one period, rounded half-up to the cent once.

        ``units`` and ``net_sales`` are the licensee's figures on the lines the fee applies to, ``months``
        the length of the period (only a lump sum uses it, and only ``units`` or ``net_sales`` matter for
        the others).
        """
        if isinstance(units, bool) or not isinstance(units, int) or units < 0:
            raise TermError(f"units: expected a whole number >= 0, got {units!r}")
        if not isinstance(net_sales, Decimal) or not net_sales.is_finite() or net_sales < 0:
            raise TermError(f"net_sales: expected a non-negative amount, got {net_sales!r}")
        if isinstance(months, bool) or not isinstance(months, int) or not 0 <= months <= 12:
            raise TermError(f"months: expected 0 to 12, got {months!r}")
        amount = Fraction(self.amount)
        if self.kind == "unit":
            exact = amount * units
        elif self.kind == "percent":
            exact = amount * Fraction(net_sales) / 100
        else:
            exact = amount * months / 12
        return round_half_up_cents(exact)


def parse_fee(text: str) -> Fee:
    """Read a fee as written on the command line or in a declaration; case and blanks are forgiven."""
    if not isinstance(text, str):
        raise TermError(f"fee: expected text such as {_FORMS}, got {text!r}")
    m = _FEE_RE.fullmatch(text.strip().lower())
    if m is None:
        raise TermError(f"fee: {text!r} is not a fee; write {_FORMS}")
    per = m.group("per")
    if m.group("percent"):
        kind: FeeKind = "percent"
    elif per in _PER:
        kind = _PER[per]
    else:
        raise TermError(f"fee: {text!r} is per {per!r}; a fee is per unit or per year ({_FORMS})")
    amount = parse_rate(m.group("amount"), field="fee")
    return Fee(kind, amount)
