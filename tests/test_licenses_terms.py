"""Patent terms, royalty schedules and open-licence fees."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licenses.errors import TermError
from licenses.fees import Fee, parse_fee
from licenses.schedule import RoyaltySchedule, Tier, TierSchedule
from licenses.terms import add_years, expiry, in_force, parse_patent_type, term_years

# --- expiry ----------------------------------------------------------------------------------------


def test_invention_runs_twenty_years_everywhere() -> None:
    # US7654321B2 of the worked example: filed 2005-02-10, expired 2025-02-10.
    assert expiry("invention", "US", date(2005, 2, 10), None) == date(2025, 2, 10)
    assert expiry("invention", "CN", date(2010, 3, 1)) == date(2030, 3, 1)
    assert expiry("invention", "DE", date(2009, 9, 15)) == date(2029, 9, 15)


def test_29_february_becomes_28_february() -> None:
    assert expiry("invention", "CN", date(2004, 2, 29)) == date(2024, 2, 29)  # leap year to leap year
    assert expiry("utility", "CN", date(2016, 2, 29)) == date(2026, 2, 28)
    assert expiry("design", "CN", date(2024, 2, 29)) == date(2039, 2, 28)
    assert add_years(date(2000, 2, 29), 1) == date(2001, 2, 28)


def test_china_utility_model_runs_ten_years() -> None:
    # CN205123456U of the worked example: filed 2016-05-10, in force until 2026-05-09.
    assert expiry("utility", "CN", date(2016, 5, 10)) == date(2026, 5, 10)


def test_china_design_term_depends_on_the_filing_date() -> None:
    assert expiry("design", "CN", date(2021, 5, 31)) == date(2031, 5, 31)
    assert expiry("design", "CN", date(2021, 6, 1)) == date(2036, 6, 1)
    assert term_years("design", "CN", date(2021, 6, 1)) == 15
    assert term_years("design", "CN", date(2021, 5, 31)) == 10


def test_explicit_expiry_wins() -> None:
    # Patent term adjustment, extensions, non-CN designs: the pool records the real date.
    assert expiry("invention", "US", date(2011, 6, 1), date(2032, 1, 17)) == date(2032, 1, 17)
    assert expiry("design", "CN", date(2022, 1, 1), date(2030, 1, 1)) == date(2030, 1, 1)
    assert expiry("design", "US", date(2020, 1, 1), date(2037, 3, 2)) == date(2037, 3, 2)


def test_explicit_expiry_must_follow_filing() -> None:
    with pytest.raises(TermError, match="not after the filing date"):
        expiry("invention", "US", date(2011, 6, 1), date(2011, 6, 1))


@pytest.mark.parametrize(("patent_type", "country"), [("utility", "DE"), ("design", "US"), ("design", "JP")])
def test_non_chinese_utility_and_design_need_an_explicit_expiry(patent_type: str, country: str) -> None:
    with pytest.raises(TermError, match=r"--expires"):
        expiry(patent_type, country, date(2020, 1, 1))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("patent_type", "country"), [("gadget", "CN"), ("invention", "cn"), ("invention", "CHN")]
)
def test_bad_type_or_country(patent_type: str, country: str) -> None:
    with pytest.raises(TermError):
        expiry(patent_type, country, date(2020, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(TermError):  # checked even when the expiry is given
        expiry(patent_type, country, date(2020, 1, 1), date(2040, 1, 1))  # type: ignore[arg-type]


def test_in_force_is_strictly_before_expiry() -> None:
    assert in_force(date(2025, 2, 10), date(2025, 2, 9))
    assert not in_force(date(2025, 2, 10), date(2025, 2, 10))


def test_parse_patent_type() -> None:
    assert parse_patent_type(" Utility ") == "utility"
    with pytest.raises(TermError, match="invention, utility or design"):
        parse_patent_type("utility model")


# --- tier schedules --------------------------------------------------------------------------------

SPEC_TIERS = "1000:0,5000:0.20,*:0.10"


def test_tier_parse_and_canonical() -> None:
    schedule = TierSchedule.parse(SPEC_TIERS)
    assert schedule.tiers == (
        Tier(1000, Decimal("0")),
        Tier(5000, Decimal("0.20")),
        Tier(None, Decimal("0.10")),
    )
    assert schedule.canonical() == "1000:0,5000:0.2,*:0.1"
    assert TierSchedule.parse(" 1000 : 0 , * : 0.10 ").canonical() == "1000:0,*:0.1"
    assert TierSchedule.parse("*:0.25").canonical() == "*:0.25"
    assert TierSchedule.parse(schedule.canonical()) == schedule


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("1000:0,5000:0.20", "last tier must be open-ended"),
        ("*:0.1,1000:0.2", "only the last tier"),
        ("5000:0.2,1000:0.1,*:0", "must increase"),
        ("1000:0,1000:0.2,*:0.1", "must increase"),
        ("0:0.1,*:0.1", "positive whole number"),
        ("1000:-0.1,*:0.1", "must not be negative"),
        ("1000:0,*:abc", "is not a rate"),
        ("1k:0,*:0.1", "is not a whole number"),
        ("1_000:0,*:0.1", "is not a whole number"),
        ("1000.5:0,*:0.1", "is not a whole number"),
        ("1000,*:0.1", "THRESHOLD:RATE"),
        ("1000:0,,*:0.1", "THRESHOLD:RATE"),
        (":0.1", "THRESHOLD:RATE"),
        ("1000:0,*:0.1,", "THRESHOLD:RATE"),
    ],
)
def test_tier_parse_errors(text: str, reason: str) -> None:
    with pytest.raises(TermError, match=reason):
        TierSchedule.parse(text)


@pytest.mark.parametrize(
    ("units", "royalty"),
    [(0, "0"), (1, "0"), (1000, "0"), (1001, "0.20"), (5000, "800"), (5500, "850.00"), (7000, "1000.00")],
)
def test_cumulative_royalty(units: int, royalty: str) -> None:
    assert TierSchedule.parse(SPEC_TIERS).cumulative(units) == Decimal(royalty)


def test_cumulative_is_exact_beyond_the_decimal_context() -> None:
    schedule = TierSchedule.parse("*:0.1234567890123456789")
    units = 2**52
    exact = schedule.cumulative(units)
    assert Fraction(exact) == units * Fraction(Decimal("0.1234567890123456789"))
    # More significant digits than the default 28-digit context, which would have rounded a Decimal product.
    assert len(exact.as_tuple().digits) > 28


def test_cumulative_rejects_bad_units() -> None:
    schedule = TierSchedule.parse(SPEC_TIERS)
    for bad in (-1, 1.5, True):
        with pytest.raises(TermError):
            schedule.cumulative(bad)  # type: ignore[arg-type]


def test_worked_example_royalties() -> None:
    # examples/pool-2025q1: L1 bears 7000 units, capped at 900.00; C bears 5500.
    schedule = RoyaltySchedule.parse(SPEC_TIERS, "900.00")
    assert schedule.period_royalty(0, 7000) == Decimal("900.00")
    assert schedule.period_royalty(0, 5500) == Decimal("850.00")
    assert schedule.cap_text() == "900.00"


def test_period_royalty_across_quarters() -> None:
    schedule = RoyaltySchedule.parse(SPEC_TIERS, "900.00")
    # Q1 3,000 units, Q2 2,500 more, Q3 1,500 more (hits the cap), Q4 2,000 more (nothing left to pay).
    q1 = schedule.period_royalty(0, 3000)
    q2 = schedule.period_royalty(3000, 5500)
    q3 = schedule.period_royalty(5500, 7000)
    q4 = schedule.period_royalty(7000, 9000)
    assert (q1, q2, q3, q4) == (Decimal("400.00"), Decimal("450.00"), Decimal("50.00"), Decimal("0.00"))
    assert q1 + q2 + q3 + q4 == schedule.period_royalty(0, 9000)
    uncapped = RoyaltySchedule(TierSchedule.parse(SPEC_TIERS))
    assert uncapped.period_royalty(5500, 7000) == Decimal("150.00")
    assert uncapped.cap_text() is None


def test_period_royalty_rounds_each_cumulative_figure() -> None:
    schedule = RoyaltySchedule(TierSchedule.parse("*:0.125"))
    # Spec 6 rule 3 (revised): R(1) = 0.125 -> 0.13, R(2) = 0.25: the second unit's royalty is
    # R(2) - R(1) = 0.12, so the two periods add up to the year's rounded royalty 0.25 (no drift).
    assert schedule.period_royalty(0, 1) == Decimal("0.13")
    assert schedule.period_royalty(1, 2) == Decimal("0.12")
    assert schedule.period_royalty(0, 2) == Decimal("0.25")


def test_no_drift_at_sub_cent_rates_over_a_year() -> None:
    # The case: 0.005 a unit, one unit a quarter: the year's royalty is R(4) = 0.02, not 4 x 0.01.
    schedule = RoyaltySchedule(TierSchedule.parse("*:0.005"))
    quarters = [schedule.period_royalty(q, q + 1) for q in range(4)]
    assert quarters == [Decimal("0.01"), Decimal("0.00"), Decimal("0.01"), Decimal("0.00")]
    assert sum(quarters) == schedule.cumulative_royalty(4) == Decimal("0.02")


def test_period_royalty_errors() -> None:
    schedule = RoyaltySchedule.parse(SPEC_TIERS)
    with pytest.raises(TermError, match="less than"):
        schedule.period_royalty(100, 50)
    with pytest.raises(TermError):
        schedule.period_royalty(-1, 50)
    with pytest.raises(TermError, match="annual_cap"):
        RoyaltySchedule.parse(SPEC_TIERS, "900.005")
    with pytest.raises(TermError, match="annual_cap"):
        RoyaltySchedule(TierSchedule.parse(SPEC_TIERS), Decimal("-1"))
    assert RoyaltySchedule.parse(SPEC_TIERS, "  ").annual_cap is None


@given(
    a=st.integers(min_value=0, max_value=10**7),
    b=st.integers(min_value=0, max_value=10**7),
    c=st.integers(min_value=0, max_value=10**7),
)
def test_period_royalties_are_non_negative_and_bounded_by_the_cap(a: int, b: int, c: int) -> None:
    before, through = sorted((a, b))
    schedule = RoyaltySchedule.parse(SPEC_TIERS, "900.00")
    royalty = schedule.period_royalty(before, through)
    assert Decimal("0.00") <= royalty <= Decimal("900.00")
    # Splitting a period in two changes the total by at most a cent of rounding per part.
    mid = min(max(c, before), through)
    parts = schedule.period_royalty(before, mid) + schedule.period_royalty(mid, through)
    assert abs(parts - royalty) <= Decimal("0.01")


# --- open-licence fees -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "amount", "canonical"),
    [
        ("0.10/unit", "unit", "0.10", "0.1/unit"),
        ("0.005 / UNIT", "unit", "0.005", "0.005/unit"),
        ("3%", "percent", "3", "3%"),
        (" 2.50 % ", "percent", "2.50", "2.5%"),
        ("5000/year", "lump", "5000", "5000/year"),
        ("5000.00/Year", "lump", "5000.00", "5000/year"),
        ("0/unit", "unit", "0", "0/unit"),
    ],
)
def test_parse_fee(text: str, kind: str, amount: str, canonical: str) -> None:
    fee = parse_fee(text)
    assert fee == Fee(kind, Decimal(amount))  # type: ignore[arg-type]
    assert fee.canonical() == canonical
    assert parse_fee(canonical) == fee
    assert Fee.parse(text) == fee


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0.10", "is not a fee"),
        ("0.10/piece", "per unit or per year"),
        ("0.10/month", "per unit or per year"),
        ("¥0.10/unit", "is not a rate"),
        ("-1/unit", "must not be negative"),
        ("101%", "more than all"),
        ("5000.005/year", "fraction of a cent"),
        ("1,000/year", "is not a rate"),
        ("", "is not a fee"),
    ],
)
def test_parse_fee_errors(text: str, reason: str) -> None:
    with pytest.raises(TermError, match=reason):
        parse_fee(text)


def test_fee_due() -> None:
    # examples/pool-2025q1: L1 owes A 0.10 x 7000 units made in CN.
    assert parse_fee("0.10/unit").due(7000, Decimal("0"), 3) == Decimal("700.00")
    assert parse_fee("3%").due(7000, Decimal("540000.00"), 3) == Decimal("16200.00")
    assert parse_fee("2.5%").due(1, Decimal("0.20"), 3) == Decimal("0.01")  # 0.005 rounds half up
    assert parse_fee("5000/year").due(0, Decimal("0"), 3) == Decimal("1250.00")
    assert parse_fee("5000/year").due(0, Decimal("0"), 6) == Decimal("2500.00")
    assert parse_fee("1000/year").due(0, Decimal("0"), 1) == Decimal("83.33")
    assert parse_fee("0.005/unit").due(3, Decimal("0"), 3) == Decimal("0.02")  # 0.015 -> 0.02


def test_fee_due_errors() -> None:
    fee = parse_fee("3%")
    with pytest.raises(TermError, match="units"):
        fee.due(-1, Decimal("0"), 3)
    with pytest.raises(TermError, match="net_sales"):
        fee.due(1, Decimal("-1.00"), 3)
    with pytest.raises(TermError, match="months"):
        fee.due(1, Decimal("1.00"), 13)
