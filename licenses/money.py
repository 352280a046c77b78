"""Money and rates: one spelling per amount, exact arithmetic, and splits that add up to the cent.

Money is always ``decimal.Decimal`` with two decimals. Arithmetic that could lose digits (division, or a
product wider than the default 28-digit decimal context) is done on ``fractions.Fraction`` and rounded
once, at the end, so the result never depends on a decimal context or on a float.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction

from licenses.errors import TermError

__all__ = [
    "MONEY_RE",
    "RATE_RE",
    "format_cents",
    "format_money",
    "format_rate",
    "fraction_to_decimal",
    "from_cents",
    "largest_remainder",
    "parse_money",
    "parse_money_input",
    "parse_rate",
    "round_half_up_cents",
    "to_cents",
]

# The ledger spellings of spec section 3. \A...\Z rather than ^...$ so that a trailing newline never
# matches, whichever of match/search/fullmatch a caller uses; re.ASCII so that \d is only 0-9 (Unicode
# digits such as "٣" would otherwise pass and give a second spelling of the same amount).
MONEY_RE = re.compile(r"\A-?(0|[1-9]\d*)\.\d{2}\Z", re.ASCII)
RATE_RE = re.compile(r"\A(0|[1-9]\d*)(\.\d*[1-9])?\Z", re.ASCII)

_MONEY_INPUT_RE = re.compile(r"(-?)(\d+)(?:\.(\d+))?", re.ASCII)
_RATE_INPUT_RE = re.compile(r"\d+(?:\.\d+)?", re.ASCII)


def _require_str(text: object, field: str) -> str:
    # Ledger bodies come from JSON, where 750 or 7.5e2 arrive as numbers: those are other spellings.
    if not isinstance(text, str):
        raise TermError(f"{field}: expected a decimal string, got {type(text).__name__} {text!r}")
    return text


def _to_fraction(value: Decimal | Fraction | int, field: str) -> Fraction:
    if isinstance(value, bool):
        raise TermError(f"{field}: expected a number, got {value!r}")
    try:
        return Fraction(value)
    except (ValueError, OverflowError, TypeError) as exc:
        # NaN and infinities cannot be money or weights.
        raise TermError(f"{field}: {value!r} is not a finite number") from exc


def _decimal(negative: bool, magnitude: int, exponent: int) -> Decimal:
    # The tuple constructor is exact whatever the context precision, unlike scaleb() or multiplication.
    digits = tuple(int(c) for c in str(magnitude))
    return Decimal((1 if negative and magnitude else 0, digits, exponent))


def from_cents(cents: int) -> Decimal:
    """The amount of ``cents`` as a two-decimal Decimal (``12345`` -> ``Decimal("123.45")``)."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TermError(f"cents: expected an integer, got {cents!r}")
    return _decimal(cents < 0, abs(cents), -2)


def format_cents(cents: int) -> str:
    """The ledger spelling of an amount in integer cents (``-12345`` -> ``"-123.45"``), without going
    through Decimal: the allocation writes millions of these."""
    if cents < 0:
        return "-" + format_cents(-cents)
    whole, part = divmod(cents, 100)
    return "%d.%02d" % (whole, part)  # noqa: UP031  (measurably faster than an f-string here)


_SPELLED: list[str] = []
_SPELLED_UP_TO = 100_000  # 0.00 .. 999.99: most split shares; 100,000 short strings, built once


def cents_speller() -> Callable[[int], str]:
    """A `format_cents` for hot loops: amounts below 1,000.00 are looked up in a table built on first use
    (the allocation spells millions of member shares, most of them small), the rest are formatted."""
    if not _SPELLED:
        _SPELLED.extend("%d.%02d" % divmod(c, 100) for c in range(_SPELLED_UP_TO))  # noqa: UP031
    table = _SPELLED

    def spell(cents: int) -> str:
        return table[cents] if 0 <= cents < _SPELLED_UP_TO else format_cents(cents)

    return spell


_LEDGER_MONEY = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]{2}", re.ASCII)


def cents_of(text: str) -> int:
    """Integer cents of an amount in its ledger spelling (`-?digits.dd`): a hot path of allocations and
    payouts, where a Decimal and a Fraction per share row cost more than the arithmetic."""
    if not _LEDGER_MONEY.fullmatch(text):
        raise TermError(f"amount: {text!r} is not an amount in ledger spelling (e.g. 12.30)")
    return int(text.replace(".", "", 1))


def to_cents(amount: Decimal) -> int:
    """The amount in integer cents; an amount with a fraction of a cent is an error, never rounded."""
    cents = _to_fraction(amount, "amount") * 100
    if cents.denominator != 1:
        raise TermError(f"amount: {amount} has a fraction of a cent; round it first")
    return cents.numerator


def fraction_to_decimal(value: Fraction) -> Decimal:
    """The exact Decimal of a terminating fraction (such as a rate times a unit count)."""
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        raise TermError(f"{value} has no exact decimal representation")
    places = max(twos, fives)
    scaled = value * 10**places
    return _decimal(scaled < 0, abs(scaled.numerator), -places)


def round_half_up_cents(value: Decimal | Fraction | int) -> Decimal:
    """Round to the cent, halves away from zero (ROUND_HALF_UP), so a negative adjustment mirrors the
    positive one. Accepts a Fraction so that exact intermediate results are rounded only once."""
    exact = _to_fraction(value, "amount")
    magnitude = abs(exact) * 100 + Fraction(1, 2)
    cents = magnitude.numerator // magnitude.denominator
    return _decimal(exact < 0, cents, -2)


def parse_money(text: str, *, field: str = "amount", allow_negative: bool = False) -> Decimal:
    """Read an amount in its one ledger spelling: ``-?(0|[1-9]\\d*)\\.\\d{2}``.

    ``-0.00`` is rejected even with ``allow_negative``: zero has the one spelling ``0.00``.
    """
    text = _require_str(text, field)
    if not MONEY_RE.match(text):
        raise TermError(f"{field}: {text!r} is not an amount with exactly two decimals (e.g. 750.00)")
    amount = Decimal(text)
    if text.startswith("-"):
        if amount == 0:
            raise TermError(f"{field}: write zero as 0.00, not {text!r}")
        if not allow_negative:
            raise TermError(f"{field}: {text!r} must not be negative")
    return amount


def parse_money_input(text: str, *, field: str = "amount", allow_negative: bool = False) -> Decimal:
    """Read an amount typed by a user or found in a CSV cell, and return it with two decimals.

    Accepted: digits with up to two decimals, surrounding blanks and leading zeros (``750``, ``750.5``,
    `` 0750.50 ``). Rejected with a reason: thousands separators (``1,234.50``: in some locales the comma
    is the decimal mark, so guessing could be off by a factor of 1000), more than two decimals (a fraction
    of a cent is never rounded silently), exponents, NaN, infinities, a plus sign, and a minus sign unless
    ``allow_negative``.
    """
    raw = _require_str(text, field)
    text = raw.strip()
    if not text:
        raise TermError(f"{field}: amount is empty")
    m = _MONEY_INPUT_RE.fullmatch(text)
    if m is None:
        if "," in text:
            reason = "has a comma; write it without thousands separators and with a decimal point (1234.50)"
        elif text.lstrip("+-").lower() in {"nan", "snan", "inf", "infinity"}:
            reason = "is not a finite amount"
        elif "e" in text.lower():
            reason = "has an exponent; write the digits out (e.g. 750.00)"
        else:
            reason = "is not an amount (digits with up to two decimals, e.g. 750.00)"
        raise TermError(f"{field}: {raw!r} {reason}")
    sign, whole, frac = m.groups()
    if frac is not None and len(frac) > 2:
        raise TermError(f"{field}: {raw!r} has more than two decimals")
    cents = int(whole) * 100 + int((frac or "").ljust(2, "0"))
    if sign and cents:
        if not allow_negative:
            raise TermError(f"{field}: {raw!r} must not be negative")
        cents = -cents
    return from_cents(cents)


def format_money(amount: Decimal) -> str:
    """The ledger spelling: exactly two decimals, no exponent, never ``-0.00``.

    An amount with a fraction of a cent is an error: rounding is a decision the caller makes explicitly
    with :func:`round_half_up_cents`.
    """
    cents = to_cents(amount)
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def parse_rate(text: str, *, field: str = "rate", strict: bool = False) -> Decimal:
    """Read a non-negative rate or percentage.

    Lenient by default, for user input: ``0.20``, ``10``, ``10.0`` and ``007`` are accepted (the value is
    what matters; :func:`format_rate` gives its one spelling). With ``strict`` only the ledger spelling
    (:data:`RATE_RE`, no trailing zeros) is accepted, for reading entries back.
    """
    raw = _require_str(text, field)
    value = raw if strict else raw.strip()
    pattern = RATE_RE if strict else _RATE_INPUT_RE
    if not pattern.fullmatch(value):
        if strict:
            raise TermError(f"{field}: {raw!r} is not a rate in ledger spelling (e.g. 0.2, 10, 0)")
        if value.startswith("-"):
            raise TermError(f"{field}: {raw!r} must not be negative")
        raise TermError(f"{field}: {raw!r} is not a rate (digits with an optional decimal part, e.g. 0.20)")
    return Decimal(value)


def format_rate(rate: Decimal) -> str:
    """The one ledger spelling of a non-negative rate: no exponent, no trailing zeros (``0.20`` -> ``0.2``,
    ``10.0`` -> ``10``, ``0.00`` -> ``0``)."""
    _to_fraction(rate, "rate")  # rejects NaN and infinities
    if rate < 0:
        raise TermError(f"rate: {rate} must not be negative")
    # format(..., "f") writes the exact digits without consulting the context precision, unlike normalize().
    text = format(rate, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text == "-0":  # Decimal("-0") is not negative but prints its sign
        text = "0"
    return text


def largest_remainder(total_cents: int, weights: Sequence[Decimal | Fraction | int]) -> list[int]:
    """Split ``total_cents`` in proportion to ``weights`` so that the parts add up exactly.

    Each part is first the floor of its exact share (rational arithmetic, no float); the cents still left
    go one each to the largest remainders, ties to the earlier index, so callers put their items in the
    order of the spec's tie rules. A zero weight gets nothing. A negative total is split as its absolute
    value and negated, so an adjustment splits exactly like the amount it reverses.
    """
    if isinstance(total_cents, bool) or not isinstance(total_cents, int):
        raise TermError(f"total: expected integer cents, got {total_cents!r}")
    if not weights:
        raise TermError("weights: nothing to split over")
    if all(type(w) is int for w in weights):
        return _largest_remainder_int(total_cents, weights)  # type: ignore[arg-type]
    exact = [_to_fraction(w, "weight") for w in weights]
    if any(w < 0 for w in exact):
        raise TermError(f"weights: must not be negative, got {[str(w) for w in weights]}")
    weight_sum = sum(exact, Fraction(0))
    if weight_sum == 0:
        raise TermError("weights: all zero, no basis for a split")
    amount = abs(total_cents)
    shares = [amount * w / weight_sum for w in exact]
    parts = [s.numerator // s.denominator for s in shares]
    left = amount - sum(parts)
    # sorted() is stable, so equal remainders keep index order: the earlier item wins the tie.
    by_remainder = sorted(range(len(shares)), key=lambda i: shares[i] - parts[i], reverse=True)
    for i in by_remainder[:left]:
        parts[i] += 1
    return [-p for p in parts] if total_cents < 0 else parts


def _largest_remainder_int(total_cents: int, weights: Sequence[int]) -> list[int]:
    """`largest_remainder` for integer weights in integer arithmetic: share i is (amount x w_i) / sum, so
    its floor and remainder are a divmod, and remainders compare as integers over the same denominator.
    The allocation splits every line this way, so it avoids Fractions (their cost: bench/README.md)."""
    if min(weights) < 0:
        raise TermError(f"weights: must not be negative, got {list(weights)}")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise TermError("weights: all zero, no basis for a split")
    amount = abs(total_cents)
    split = [divmod(amount * w, weight_sum) for w in weights]
    parts = [q for q, _r in split]
    left = amount - sum(parts)
    if left:
        # Stable sort: equal remainders keep index order, so the earlier item wins the tie.
        for i in sorted(range(len(split)), key=lambda i: split[i][1], reverse=True)[:left]:
            parts[i] += 1
    return [-p for p in parts] if total_cents < 0 else parts
