"""Money and rate spellings, half-up rounding, and largest-remainder splits."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licenses.errors import TermError
from licenses.money import (
    MONEY_RE,
    RATE_RE,
    format_money,
    format_rate,
    fraction_to_decimal,
    from_cents,
    largest_remainder,
    parse_money,
    parse_money_input,
    parse_rate,
    round_half_up_cents,
    to_cents,
)

# --- ledger spelling -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0.00", "750.00", "1445.45", "-12.30", "123456789012345678901234567890.01"])
def test_money_ledger_spelling_accepted(text: str) -> None:
    amount = parse_money(text, allow_negative=True)
    assert format_money(amount) == text


@pytest.mark.parametrize(
    "text",
    [
        "750",
        "750.0",
        "750.000",
        "0750.00",
        ".50",
        "1,234.50",
        "1e3",
        "NaN",
        "+1.00",
        " 1.00",
        "1.00\n",
        "-0.00",
        "１.００",
        "٣.00",
        "",
    ],
)
def test_money_ledger_spelling_rejected(text: str) -> None:
    with pytest.raises(TermError):
        parse_money(text, allow_negative=True)


def test_money_regexes_never_match_a_trailing_newline() -> None:
    assert MONEY_RE.match("1.00\n") is None
    assert RATE_RE.match("0.2\n") is None


def test_negative_money_needs_permission_and_names_the_field() -> None:
    with pytest.raises(TermError, match=r"^payment: '-1.00' must not be negative$"):
        parse_money("-1.00", field="payment")
    assert parse_money("-1.00", allow_negative=True) == Decimal("-1.00")


def test_money_from_json_numbers_is_rejected() -> None:
    with pytest.raises(TermError, match="expected a decimal string"):
        parse_money(750.0)  # type: ignore[arg-type]


# --- user input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("750", "750.00"), ("750.5", "750.50"), ("750.50", "750.50"), (" 0750.5 ", "750.50"), ("0", "0.00")],
)
def test_money_input_accepted(text: str, value: str) -> None:
    amount = parse_money_input(text)
    assert format_money(amount) == value
    assert amount.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1,234.50", "comma"),
        ("750,5", "comma"),
        ("750.505", "more than two decimals"),
        ("750.500", "more than two decimals"),
        ("1e3", "exponent"),
        ("NaN", "not a finite amount"),
        ("-inf", "not a finite amount"),
        ("-5", "must not be negative"),
        ("+5", "is not an amount"),
        ("$5", "is not an amount"),
        ("5 000", "is not an amount"),
        ("", "empty"),
        ("  ", "empty"),
    ],
)
def test_money_input_rejected(text: str, reason: str) -> None:
    with pytest.raises(TermError, match=reason):
        parse_money_input(text, field="amount")


def test_money_input_negative_when_allowed() -> None:
    assert parse_money_input("-5.5", allow_negative=True) == Decimal("-5.50")
    assert format_money(parse_money_input("-0", allow_negative=True)) == "0.00"


# --- formatting and cents --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("1.5"), "1.50"),
        (Decimal("-0.00"), "0.00"),
        (Decimal("-0"), "0.00"),
        (Decimal("1E+3"), "1000.00"),
        (Decimal("0.100"), "0.10"),
        (Decimal("-12.3"), "-12.30"),
    ],
)
def test_format_money(amount: Decimal, text: str) -> None:
    assert format_money(amount) == text


@pytest.mark.parametrize("amount", [Decimal("1.005"), Decimal("NaN"), Decimal("Infinity")])
def test_format_money_refuses_to_round(amount: Decimal) -> None:
    with pytest.raises(TermError):
        format_money(amount)


def test_cents_round_trip() -> None:
    assert to_cents(Decimal("123.45")) == 12345
    assert from_cents(12345) == Decimal("123.45")
    assert str(from_cents(-5)) == "-0.05"
    assert str(from_cents(0)) == "0.00"
    # Wider than the default 28-digit decimal context: still exact.
    big = 10**40 + 1
    assert to_cents(from_cents(big)) == big


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        (Decimal("0.005"), "0.01"),
        (Decimal("0.0049999"), "0.00"),
        (Decimal("2.675"), "2.68"),
        (Decimal("-0.005"), "-0.01"),  # halves away from zero: adjustments mirror amounts
        (Decimal("-0.004"), "0.00"),  # never -0.00
        (Fraction(5000, 12), "416.67"),
        (Fraction(1, 200), "0.01"),
        (7, "7.00"),
    ],
)
def test_round_half_up_cents(value: Decimal | Fraction | int, rounded: str) -> None:
    assert str(round_half_up_cents(value)) == rounded


def test_fraction_to_decimal_is_exact_or_refuses() -> None:
    assert fraction_to_decimal(Fraction(1, 8)) == Decimal("0.125")
    assert fraction_to_decimal(Fraction(-3, 20)) == Decimal("-0.15")
    with pytest.raises(TermError):
        fraction_to_decimal(Fraction(1, 3))


# --- rates -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("0.20", "0.2"),
        ("10", "10"),
        ("10.0", "10"),
        ("0", "0"),
        ("0.000", "0"),
        ("007.50", "7.5"),
        ("0.125", "0.125"),
        (" 3 ", "3"),
    ],
)
def test_rate_input_and_canonical(text: str, canonical: str) -> None:
    rate = parse_rate(text)
    assert format_rate(rate) == canonical
    assert RATE_RE.match(canonical)
    assert parse_rate(canonical, strict=True) == rate


@pytest.mark.parametrize("text", ["-0.1", ".5", "1.", "1e2", "NaN", "0,5", "", "1/2"])
def test_rate_input_rejected(text: str) -> None:
    with pytest.raises(TermError):
        parse_rate(text)


@pytest.mark.parametrize("text", ["0.20", "10.0", "00", "01", " 1"])
def test_rate_strict_rejects_other_spellings(text: str) -> None:
    with pytest.raises(TermError, match="ledger spelling"):
        parse_rate(text, strict=True)


def test_format_rate_never_uses_an_exponent() -> None:
    assert format_rate(Decimal("1E+1")) == "10"
    assert format_rate(Decimal("1E-7")) == "0.0000001"
    assert format_rate(Decimal("-0")) == "0"
    with pytest.raises(TermError):
        format_rate(Decimal("-0.1"))


# --- largest remainder -----------------------------------------------------------------------------


def test_largest_remainder_spec_example() -> None:
    # L1's 900.00 over its four lines by units (examples/pool-2025q1): 385.71, 321.43, 128.57, 64.29.
    assert largest_remainder(90000, [3000, 2500, 1000, 500]) == [38571, 32143, 12857, 6429]


def test_largest_remainder_tie_goes_to_the_earlier_item() -> None:
    assert largest_remainder(32143, [1, 1]) == [16072, 16071]
    assert largest_remainder(2, [1, 1, 1]) == [1, 1, 0]


def test_largest_remainder_negative_total_mirrors_positive() -> None:
    assert largest_remainder(-32143, [1, 1]) == [-16072, -16071]
    assert largest_remainder(-90000, [3000, 2500, 1000, 500]) == [-38571, -32143, -12857, -6429]


def test_largest_remainder_edge_cases() -> None:
    assert largest_remainder(0, [1, 2]) == [0, 0]
    assert largest_remainder(100, [0, 1, 0]) == [0, 100, 0]
    assert largest_remainder(1, [Decimal("0.5"), Decimal("1.5")]) == [0, 1]
    with pytest.raises(TermError, match="all zero"):
        largest_remainder(100, [0, 0])
    with pytest.raises(TermError, match="nothing to split"):
        largest_remainder(100, [])
    with pytest.raises(TermError, match="negative"):
        largest_remainder(100, [1, -1])
    with pytest.raises(TermError):
        largest_remainder(100, [Decimal("NaN")])
    with pytest.raises(TermError):
        largest_remainder(1.5, [1])  # type: ignore[arg-type]


_weights = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=10**9),
        st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=30,
).filter(lambda ws: any(w > 0 for w in ws))


@given(total=st.integers(min_value=-(10**15), max_value=10**15), weights=_weights)
def test_largest_remainder_properties(total: int, weights: list[Decimal | int]) -> None:
    parts = largest_remainder(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    weight_sum = sum((Fraction(w) for w in weights), Fraction(0))
    for part, weight in zip(parts, weights, strict=True):
        share = total * Fraction(weight) / weight_sum
        assert abs(part - share) < 1
        if weight == 0:
            assert part == 0
    assert largest_remainder(total, weights) == parts  # deterministic
    assert largest_remainder(-total, weights) == [-p for p in parts]  # symmetric


@given(
    total=st.integers(min_value=-(10**15), max_value=10**15),
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30).filter(any),
)
def test_largest_remainder_integer_path_equals_the_exact_one(total: int, weights: list[int]) -> None:
    # Integer weights take a divmod path; as Fractions they take the general one: same parts, same ties.
    assert largest_remainder(total, weights) == largest_remainder(total, [Fraction(w) for w in weights])


@given(st.integers(-(10**15), 10**15))
def test_cents_of_reads_the_ledger_spelling_exactly(cents: int) -> None:
    from licenses.money import cents_of, format_cents

    text = format_cents(cents)
    assert cents_of(text) == cents == to_cents(Decimal(text))


@pytest.mark.parametrize("text", ["1.5", "01.00", "1.000", "+1.00", "1,00", " 1.00", "-0.5", "1e2", ""])
def test_cents_of_refuses_any_other_spelling(text: str) -> None:
    from licenses.money import cents_of

    with pytest.raises(TermError):
        cents_of(text)
