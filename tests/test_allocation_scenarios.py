"""Issue 4 (royalties): allocation policy v1 (spec section 6) worked through the CLI, scenario by scenario.

Every expected figure is computed by hand in the comment above it, from the rules of spec section 6, never
by calling the code under test. Each scenario builds one small pool (on SQLite and on PostgreSQL through the
`pool` fixture). Notation: T(u) is the tier schedule's royalty of the first u units of the calendar year;
D is the period's last day; "x / y" splits are by the largest-remainder method in integer cents.
"""

from __future__ import annotations

from typing import Any

from conftest import (
    CN_A,
    CN_B,
    CN_C,
    CN_UM,
    EP_DE,
    US_A,
    US_B,
    Pool,
    build_pool,
    grant,
    members,
    open_licence,
    patents,
    program,
    reports,
)


def allocate(pool: Pool, period: str, program_name: str = "XR") -> Any:
    return pool.json("allocate", "--program", program_name, "--period", period)


def m(gross: str, fee: str, net: str) -> dict[str, str]:
    return {"gross": gross, "admin_fee": fee, "net": net}


def inv(royalty: str, credit: str, due: str) -> dict[str, str]:
    return {"royalty": royalty, "credit": credit, "due": due}


def result(
    period: str,
    members_: dict[str, Any],
    invoices: dict[str, Any],
    admin_fee: str,
    total: str,
    fees: list[dict[str, str]] | None = None,
    program_name: str = "XR",
    currency: str = "USD",
) -> dict[str, Any]:
    return {
        "program": program_name,
        "period": period,
        "currency": currency,
        "members": members_,
        "invoices": invoices,
        "admin_fee": admin_fee,
        "total": total,
        "open_license_fees": fees or [],
    }


def statement_lines(pool: Pool, member: str, period: str) -> dict[tuple[str, str], tuple[list[str], str]]:
    data = pool.json("statement", "--member", member, "--period", period)
    return {(ln["licensee"], ln["country"]): (ln["patents"], ln["gross"]) for ln in data["lines"]}


def entries(pool: Pool, kind: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = pool.json("log", "--kind", kind)
    return found


# --- 1. tiers and the annual cap across quarters ------------------------------------------------------------
def test_tiers_and_annual_cap_across_quarters_and_years(pool: Pool) -> None:
    members(pool, "A,licensor", "B,licensor", "L1,licensee", "L2,licensee")
    program(pool, "1000:0,5000:0.20,*:0.10", cap="900.00", fee="10")
    # A second program whose rate makes a half cent, to see that each cumulative figure is rounded.
    program(pool, "1000:0,*:0.125", fee="0", name="HU")
    # And a half-yearly program.
    program(pool, "1000:0,*:0.50", cap="1000.00", fee="10", period="half", name="HY")
    patents(
        pool,
        f"{CN_A},A,CN,invention,2010-03-01,2013-05-08,,XR,,",
        f"{US_A},A,US,invention,2011-06-01,2018-11-13,,HU,,",
        f"{CN_B},B,CN,invention,2013-04-01,2016-08-17,,HY,,",
    )
    grant(pool, "L1", "L2")
    grant(pool, "L1", program_name="HU")
    grant(pool, "L1", program_name="HY")
    reports(
        pool,
        "L1,XR,2025Q1,CN,CN,800,8000.00",
        "L1,XR,2025Q2,CN,CN,5000,50000.00",
        "L2,XR,2025Q2,CN,CN,1500,15000.00",
        "L1,XR,2025Q3,CN,CN,10000,100000.00",
        "L1,XR,2025Q4,CN,CN,1000,10000.00",
        "L1,XR,2026Q1,CN,CN,2000,20000.00",
        "L1,HU,2025Q1,US,US,1001,100.00",
        "L1,HU,2025Q2,US,US,1,1.00",
        "L1,HY,2025H1,CN,CN,1500,1.00",
        "L1,HY,2025H2,CN,CN,2000,1.00",
    )

    # Q1: L1 has 800 units year to date: T(800) = 0 (first 1,000 free) -> royalty 0.00; A gets 0.00.
    assert allocate(pool, "2025Q1") == result(
        "2025Q1", {"A": m("0.00", "0.00", "0.00")}, {"L1": inv("0.00", "0.00", "0.00")}, "0.00", "0.00"
    )
    # Q2: L1 before = 800, through = 5,800: T(5800) = 4,000 x 0.20 + 800 x 0.10 = 880.00 (under the 900.00
    # cap) - T(800) = 0 -> 880.00. L2 (its own tiers): T(1500) = 500 x 0.20 = 100.00.
    # A gross 980.00, fee 10% = 98.00, net 882.00.
    assert allocate(pool, "2025Q2") == result(
        "2025Q2",
        {"A": m("980.00", "98.00", "882.00")},
        {"L1": inv("880.00", "0.00", "880.00"), "L2": inv("100.00", "0.00", "100.00")},
        "98.00",
        "980.00",
    )
    # Q3: L1 through = 15,800: T = 800 + 10,800 x 0.10 = 1,880.00, capped at 900.00; before: 880.00 -> 20.00.
    assert allocate(pool, "2025Q3") == result(
        "2025Q3", {"A": m("20.00", "2.00", "18.00")}, {"L1": inv("20.00", "0.00", "20.00")}, "2.00", "20.00"
    )
    # Q4: the cap is reached: min(T(16800), 900) - min(T(15800), 900) = 0.00.
    assert allocate(pool, "2025Q4") == result(
        "2025Q4", {"A": m("0.00", "0.00", "0.00")}, {"L1": inv("0.00", "0.00", "0.00")}, "0.00", "0.00"
    )
    # 2026Q1: a new calendar year starts from zero units and an unused cap: T(2000) = 1,000 x 0.20 = 200.00.
    assert allocate(pool, "2026Q1") == result(
        "2026Q1",
        {"A": m("200.00", "20.00", "180.00")},
        {"L1": inv("200.00", "0.00", "200.00")},
        "20.00",
        "200.00",
    )
    # HU Q1: R(1001) = 1 x 0.125 = 0.125 -> half-up 0.13. Q2: R(1002) - R(1001) = 0.25 - 0.13 = 0.12 (rule 3
    # rounds each cumulative figure, so the two quarters sum to the year's 0.25).
    assert allocate(pool, "2025Q1", "HU") == result(
        "2025Q1",
        {"A": m("0.13", "0.00", "0.13")},
        {"L1": inv("0.13", "0.00", "0.13")},
        "0.00",
        "0.13",
        program_name="HU",
    )
    assert allocate(pool, "2025Q2", "HU") == result(
        "2025Q2",
        {"A": m("0.12", "0.00", "0.12")},
        {"L1": inv("0.12", "0.00", "0.12")},
        "0.00",
        "0.12",
        program_name="HU",
    )
    # HY (half-yearly; only B's CN_B counts there, A's CN patent is in XR): H1: T(1500) = 500 x 0.50 = 250.00.
    # H2: T(3500) = 2,500 x 0.50 = 1,250.00 -> capped 1,000.00; minus 250.00 = 750.00
    # (B: fee 75.00, net 675.00).
    assert allocate(pool, "2025H1", "HY")["invoices"] == {"L1": inv("250.00", "0.00", "250.00")}
    assert allocate(pool, "2025H2", "HY") == result(
        "2025H2",
        {"B": m("750.00", "75.00", "675.00")},
        {"L1": inv("750.00", "0.00", "750.00")},
        "75.00",
        "750.00",
        program_name="HY",
    )
    # A quarter of a half-yearly program is refused.
    bad = pool.run("allocate", "--program", "HY", "--period", "2025Q1", expect=1)
    assert bad.stderr.startswith("Error:")


# --- 2. expiry and invalidation in the middle of the year ---------------------------------------------------
def test_expiry_and_invalidation_mid_year(pool: Pool) -> None:
    members(pool, "A,licensor", "B,licensor", "C,licensor", "L1,licensee")
    program(pool, "*:0.10", cap="450.00", fee="10")
    patents(
        pool,
        f"{CN_A},A,CN,invention,2010-03-01,2013-05-08,2025-05-01,XR,,",  # expires in Q2
        f"{CN_B},B,CN,invention,2013-04-01,2016-08-17,,XR,,",  # invalidated on Q2's last day
        f"{CN_C},C,CN,invention,2015-06-01,2019-09-10,2025-07-01,XR,,",  # expires the day after Q2 ends
        f"{US_A},B,US,invention,2011-06-01,2018-11-13,2025-06-30,XR,,",  # expires ON Q2's last day
        f"{US_B},C,US,invention,2019-08-01,2022-01-25,,XR,,",  # invalidated from Q3's first day
        f"{EP_DE},A,DE,invention,2009-09-15,2014-03-05,,XR,,",
    )
    pool.run("patent", "status", CN_B, "invalidated", "--effective", "2025-06-30")
    pool.run("patent", "status", US_B, "invalidated", "--effective", "2025-07-01")
    grant(pool, "L1")
    reports(
        pool,
        "L1,XR,2025Q1,CN,CN,1000,1.00",
        "L1,XR,2025Q1,US,US,1000,1.00",
        "L1,XR,2025Q2,CN,CN,1000,1.00",
        "L1,XR,2025Q2,US,US,1000,1.00",
        "L1,XR,2025Q3,CN,CN,1000,1.00",
        "L1,XR,2025Q3,US,US,1000,1.00",
        "L1,XR,2025Q3,DE,DE,1000,1.00",
    )

    # Q1 (D = 2025-03-31): everything counts. 2,000 units: T = 200.00 (cap 450 not reached).
    # Lines: CN/CN 100.00, US/US 100.00. CN: A, B, C one patent each: 10,000 cents / 3 = 3,333 each and one
    # cent left, remainders equal -> lowest id A: A 33.34, B 33.33, C 33.33. US: B 50.00, C 50.00.
    # Gross A 33.34, B 83.33, C 83.33; 10% half-up: 3.33, 8.33, 8.33 (19.99); net 30.01, 75.00, 75.00.
    assert allocate(pool, "2025Q1") == result(
        "2025Q1",
        {
            "A": m("33.34", "3.33", "30.01"),
            "B": m("83.33", "8.33", "75.00"),
            "C": m("83.33", "8.33", "75.00"),
        },
        {"L1": inv("200.00", "0.00", "200.00")},
        "19.99",
        "200.00",
    )
    # Q2 (D = 2025-06-30): CN_A expired 2025-05-01; CN_B invalidated from D itself; US_A expires on D (expiry
    # must be > D); CN_C (expires 07-01) and US_B (invalidated 07-01) still count. Both lines bear:
    # T(4000) - T(2000) = 200.00: CN 100.00 -> C, US 100.00 -> C. C 200.00, fee 20.00, net 180.00.
    assert allocate(pool, "2025Q2") == result(
        "2025Q2",
        {"C": m("200.00", "20.00", "180.00")},
        {"L1": inv("200.00", "0.00", "200.00")},
        "20.00",
        "200.00",
    )
    # Q3 (D = 2025-09-30): no CN or US patent counts, so those lines bear nothing; DE/DE 1,000 units bears.
    # Earlier lines are judged at their own period end: before = 2,000 (Q1) + 2,000 (Q2) = 4,000.
    # min(T(5000), 450) - min(T(4000), 450) = 450.00 - 400.00 = 50.00 -> DE: A 50.00, fee 5.00, net 45.00.
    # (Judging Q1/Q2 lines at Q3's end would give before = 0 and 100.00.)
    assert allocate(pool, "2025Q3") == result(
        "2025Q3", {"A": m("50.00", "5.00", "45.00")}, {"L1": inv("50.00", "0.00", "50.00")}, "5.00", "50.00"
    )
    # Statements name the counting patents behind each line.
    assert statement_lines(pool, "B", "2025Q1") == {
        ("L1", "CN"): ([CN_B], "33.33"),
        ("L1", "US"): ([US_A], "50.00"),
    }
    assert statement_lines(pool, "C", "2025Q2") == {
        ("L1", "CN"): ([CN_C], "100.00"),
        ("L1", "US"): ([US_B], "100.00"),
    }


# --- 3. transfers: the owner on the period's last day gets the share ----------------------------------------
def test_transfer_owner_on_last_day_gets_it(pool: Pool) -> None:
    members(pool, "A,licensor", "B,licensor", "L1,licensee")
    program(pool, "*:0.10", fee="0")
    patents(
        pool,
        f"{CN_A},A,CN,invention,2010-03-01,2013-05-08,,XR,,",
        f"{CN_B},A,CN,invention,2013-04-01,2016-08-17,,XR,,",
    )
    pool.run("patent", "transfer", CN_A, "--to", "B", "--effective", "2025-03-31")  # on Q1's last day
    pool.run("patent", "transfer", CN_B, "--to", "B", "--effective", "2025-04-01")  # the day after
    grant(pool, "L1")
    reports(pool, "L1,XR,2025Q1,CN,CN,1000,1.00", "L1,XR,2025Q2,CN,CN,1000,1.00")
    # Q1: T(1000) = 100.00 on CN/CN. On D = 03-31 CN_A is B's (effective that day), CN_B still A's:
    # 50.00 each. Admin fee 0%.
    assert allocate(pool, "2025Q1") == result(
        "2025Q1",
        {"A": m("50.00", "0.00", "50.00"), "B": m("50.00", "0.00", "50.00")},
        {"L1": inv("100.00", "0.00", "100.00")},
        "0.00",
        "100.00",
    )
    assert statement_lines(pool, "B", "2025Q1") == {("L1", "CN"): ([CN_A], "50.00")}
    assert statement_lines(pool, "A", "2025Q1") == {("L1", "CN"): ([CN_B], "50.00")}
    # Q2: both are B's: T(2000) - T(1000) = 100.00 -> B.
    assert allocate(pool, "2025Q2") == result(
        "2025Q2",
        {"B": m("100.00", "0.00", "100.00")},
        {"L1": inv("100.00", "0.00", "100.00")},
        "0.00",
        "100.00",
    )
    assert statement_lines(pool, "B", "2025Q2") == {("L1", "CN"): ([CN_A, CN_B], "100.00")}


# --- 4. open licence withdrawn after a take -----------------------------------------------------------------
def test_open_license_withdrawal_keeps_earlier_take(pool: Pool) -> None:
    members(pool, "A,licensor", "B,licensor", "L1,licensee", "L2,licensee")
    program(pool, "*:0.10", fee="10")
    patents(
        pool,
        f"{CN_UM},A,CN,utility,2016-05-10,2016-10-12,,XR,,",  # utility model: expires 2026-05-10
        f"{CN_B},B,CN,invention,2013-04-01,2016-08-17,,XR,,",
    )
    open_licence(pool)
    pool.run("openlicense", "withdraw", CN_UM, "--effective", "2025-02-01")
    size = pool.size_and_root()
    late = pool.run("openlicense", "take", CN_UM, "--licensee", "L2", "--notice-date", "2025-02-10", expect=1)
    assert late.stderr.startswith("Error:") and "withdrawn" in late.stderr
    assert pool.size_and_root() == size  # nothing written
    grant(pool, "L1", "L2")
    reports(
        pool,
        "L1,XR,2025Q1,CN,CN,1000,90000.00",
        "L2,XR,2025Q1,CN,CN,1000,90000.00",
        "L1,XR,2025Q2,CN,CN,1000,90000.00",
    )
    # Q1: each licensee T(1000) = 100.00 on CN/CN, CN buckets by weight 1 each.
    # L1 still holds CN_UM (taken before the withdrawal): buckets B, credit -> 50.00 / 50.00; due 50.00;
    # memo fee to A: CNY 0.10 x 1,000 units made in CN = 100.00.
    # L2 never took it: A 50.00, B 50.00, due 100.00.
    # A 50.00 (fee 5.00, net 45.00), B 100.00 (10.00, 90.00); total 150.00 = 50.00 + 100.00 due.
    memo = {"licensee": "L1", "patent": CN_UM, "owner": "A", "currency": "CNY", "amount": "100.00"}
    assert allocate(pool, "2025Q1") == result(
        "2025Q1",
        {"A": m("50.00", "5.00", "45.00"), "B": m("100.00", "10.00", "90.00")},
        {"L1": inv("100.00", "50.00", "50.00"), "L2": inv("100.00", "0.00", "100.00")},
        "15.00",
        "150.00",
        [memo],
    )
    # Q2: the withdrawal still does not end L1's licence: T(2000) - T(1000) = 100.00, credit 50.00, B 50.00,
    # and the memo fee again (A is paid only outside the pool, so A has no pool figures for Q2).
    assert allocate(pool, "2025Q2") == result(
        "2025Q2",
        {"B": m("50.00", "5.00", "45.00")},
        {"L1": inv("100.00", "50.00", "50.00")},
        "5.00",
        "50.00",
        [memo],
    )
    # A's statement carries the memo line; its pool lines are only L2's.
    statement = pool.json("statement", "--member", "A", "--period", "2025Q1")
    assert statement["open_license_fees"] == [memo]
    assert [(ln["licensee"], ln["patents"], ln["gross"]) for ln in statement["lines"]] == [
        ("L2", [CN_UM], "50.00")
    ]


# --- 5. cross-licence limited to some countries -------------------------------------------------------------
def test_crosslicense_territory_and_own_patents(pool: Pool) -> None:
    members(pool, "A,both", "B,licensor", "C,both")
    program(pool, "*:0.10", fee="10")
    patents(
        pool,
        f"{CN_A},A,CN,invention,2010-03-01,2013-05-08,,XR,,",
        f"{US_A},A,US,invention,2011-06-01,2018-11-13,,XR,,",
        f"{US_B},B,US,invention,2019-08-01,2022-01-25,,XR,,",
        f"{CN_C},C,CN,invention,2015-06-01,2019-09-10,,XR,,",
    )
    pool.run(
        "crosslicense",
        "add",
        "--members",
        "A,C",
        "--patents",
        "all",
        "--territory",
        "CN",
        "--from",
        "2024-01-01",
    )
    grant(pool, "C")
    reports(pool, "C,XR,2025Q1,CN,CN,1000,1.00", "C,XR,2025Q1,US,US,1000,1.00")
    # C: T(2000) = 200.00; CN/CN 100.00, US/US 100.00.
    # CN: C's own CN_C is paid to C (not credited); A's CN_A is cross-licensed in CN -> credit: 50.00 / 50.00.
    # US: the cross-licence does not cover US, so A's US_A is paid: A 50.00, B 50.00.
    # C: royalty 200.00, credit 50.00, due 150.00. A, B, C 50.00 each, fee 5.00, net 45.00; total 150.00.
    assert allocate(pool, "2025Q1") == result(
        "2025Q1",
        {
            "A": m("50.00", "5.00", "45.00"),
            "B": m("50.00", "5.00", "45.00"),
            "C": m("50.00", "5.00", "45.00"),
        },
        {"C": inv("200.00", "50.00", "150.00")},
        "15.00",
        "150.00",
    )
    assert statement_lines(pool, "A", "2025Q1") == {("C", "US"): ([US_A], "50.00")}
    assert statement_lines(pool, "C", "2025Q1") == {("C", "CN"): ([CN_C], "50.00")}


# --- 6. weights ---------------------------------------------------------------------------------------------
def test_weights_split_the_line(pool: Pool) -> None:
    members(pool, "A,licensor", "B,licensor", "C,licensor", "L1,licensee")
    program(pool, "*:0.10", fee="10")
    pool.run(
        "patent",
        "add",
        CN_A,
        "--owner",
        "A",
        "--country",
        "CN",
        "--type",
        "invention",
        "--filed",
        "2010-03-01",
        "--granted",
        "2013-05-08",
        "--program",
        "XR",
        "--weight",
        "2",
    )
    pool.run(
        "patent",
        "add",
        CN_B,
        "--owner",
        "B",
        "--country",
        "CN",
        "--type",
        "invention",
        "--filed",
        "2013-04-01",
        "--granted",
        "2016-08-17",
        "--program",
        "XR",
    )
    pool.run(
        "patent",
        "add",
        CN_C,
        "--owner",
        "C",
        "--country",
        "CN",
        "--type",
        "invention",
        "--filed",
        "2015-06-01",
        "--granted",
        "2019-09-10",
        "--program",
        "XR",
        "--weight",
        "0.5",
    )
    grant(pool, "L1")
    reports(pool, "L1,XR,2025Q1,CN,CN,1000,1.00")
    # T(1000) = 100.00 = 10,000 cents over weights 2 : 1 : 0.5 (sum 3.5):
    # A 5,714.2857 -> 5,714; B 2,857.1429 -> 2,857; C 1,428.5714 -> 1,428; 9,999, one cent left ->
    # largest remainder C (.5714): A 57.14, B 28.57, C 14.29.
    # Fees 10% half-up: 5.714 -> 5.71, 2.857 -> 2.86, 1.429 -> 1.43 (10.00); net 51.43, 25.71, 12.86.
    assert allocate(pool, "2025Q1") == result(
        "2025Q1",
        {
            "A": m("57.14", "5.71", "51.43"),
            "B": m("28.57", "2.86", "25.71"),
            "C": m("14.29", "1.43", "12.86"),
        },
        {"L1": inv("100.00", "0.00", "100.00")},
        "10.00",
        "100.00",
    )


# --- 7. half-cent ties --------------------------------------------------------------------------------------
def test_half_cent_ties(pool: Pool) -> None:
    # Member ids "M10" < "M9" as strings (though 9 < 10 as numbers); "x" sorts after "credit" as a string,
    # yet the credit bucket must still come last.
    members(pool, "M10,licensor", "M9,licensor", "x,licensor", "L1,licensee", "L2,licensee", "L3,licensee")
    program(pool, "*:0.015", fee="25")
    patents(
        pool,
        f"{US_A},M10,US,invention,2011-06-01,2018-11-13,,XR,,",
        f"{US_B},M9,US,invention,2019-08-01,2022-01-25,,XR,,",
        f"{EP_DE},x,DE,invention,2009-09-15,2014-03-05,,XR,,",
        f"{CN_A},x,CN,invention,2010-03-01,2013-05-08,,XR,,",
        f"{CN_B},M9,CN,invention,2013-04-01,2016-08-17,,XR,,",
    )
    pool.run("license", "direct", CN_B, "--licensee", "L3", "--from", "2025-01-01")
    grant(pool, "L1", "L2", "L3")
    reports(
        pool,
        "L1,XR,2025Q1,CN,US,1,1.00",
        "L1,XR,2025Q1,CN,DE,1,1.00",  # listed out of order on purpose
        "L2,XR,2025Q1,US,US,3,1.00",
        "L3,XR,2025Q1,CN,CN,2,1.00",
    )
    # L1: T(2) = 0.03 -> 3 cents over two lines of 1 unit: 1.5 each, tie -> the earlier line in
    #     (manufacture, sale) order, CN/DE, gets 2: DE 0.02 -> x; US 0.01 -> M10 / M9 half each, tie -> the
    #     lower id as a string, "M10": M10 0.01, M9 0.00.
    # L2: T(3) = 0.045 -> half-up 0.05 (half-even would give 0.04); US: 2.5 each -> M10 0.03, M9 0.02.
    # L3: T(2) = 0.03 on CN: x (weight 1) and credit (M9's CN_B, directly licensed; weight 1): 1.5 each,
    #     tie -> the member, credit last: x 0.02, credit 0.01, due 0.02.
    # Gross: M10 0.04, M9 0.02, x 0.04 = 0.10 = dues 0.03 + 0.05 + 0.02.
    # Admin fee 25% half-up: 0.01, 0.005 -> 0.01, 0.01; nets 0.03, 0.01, 0.03.
    assert allocate(pool, "2025Q1") == result(
        "2025Q1",
        {"M10": m("0.04", "0.01", "0.03"), "M9": m("0.02", "0.01", "0.01"), "x": m("0.04", "0.01", "0.03")},
        {
            "L1": inv("0.03", "0.00", "0.03"),
            "L2": inv("0.05", "0.00", "0.05"),
            "L3": inv("0.03", "0.01", "0.02"),
        },
        "0.03",
        "0.10",
    )
    assert statement_lines(pool, "x", "2025Q1") == {
        ("L1", "DE"): ([EP_DE], "0.02"),
        ("L3", "CN"): ([CN_A], "0.02"),
    }
    m10 = statement_lines(pool, "M10", "2025Q1")
    assert m10 == {("L1", "US"): ([US_A], "0.01"), ("L2", "US"): ([US_A], "0.03")}


# --- 8. lines whose countries have no counting patent -------------------------------------------------------
def test_line_without_patent_bears_nothing_and_is_left_out_of_tiers(pool: Pool) -> None:
    build_pool(
        pool,
        members_=("A,licensor", "L1,licensee"),
        tiers="1000:0,*:0.10",
        patents_=(f"{CN_A},A,CN,invention,2010-03-01,2013-05-08,,XR,,",),
    )
    reports(
        pool,
        "L1,XR,2025Q1,BR,BR,5000,1.00",  # no patent in BR: recorded, ignored (also for tiers)
        "L1,XR,2025Q1,IN,BR,100,1.00",  # nor in IN
        "L1,XR,2025Q1,CN,CN,1500,1.00",
        "L1,XR,2025Q1,CN,BR,500,1.00",
    )  # made in CN: bears, allocated to CN (BR has no patent)
    # Bearing units 1,500 + 500 = 2,000: T(2000) = 1,000 x 0.10 = 100.00 (with BR and IN: T(7100) = 610.00).
    # Spread by units: CN/BR 500 -> 25.00, CN/CN 1,500 -> 75.00; both allocated to CN -> A 100.00.
    assert allocate(pool, "2025Q1") == result(
        "2025Q1",
        {"A": m("100.00", "10.00", "90.00")},
        {"L1": inv("100.00", "0.00", "100.00")},
        "10.00",
        "100.00",
    )
    # A licensee none of whose lines bears owes 0.00.
    reports(pool, "L1,XR,2025Q2,BR,BR,9000,1.00")
    assert allocate(pool, "2025Q2") == result(
        "2025Q2", {}, {"L1": inv("0.00", "0.00", "0.00")}, "0.00", "0.00"
    )


# --- 9. percentage and lump-sum open-licence fees -----------------------------------------------------------
def test_percentage_and_lump_sum_open_license_fees(pool: Pool) -> None:
    members(pool, "A,licensor", "B,licensor", "C,licensor", "L1,licensee")
    program(pool, "*:0.10", fee="10")
    patents(
        pool,
        f"{CN_A},A,CN,invention,2010-03-01,2013-05-08,,XR,,",
        f"{CN_B},B,CN,invention,2013-04-01,2016-08-17,,XR,,",
        f"{CN_C},C,CN,invention,2015-06-01,2019-09-10,,XR,,",
    )
    pool.run(
        "openlicense",
        "declare",
        CN_A,
        "--fee",
        "3%",
        "--currency",
        "CNY",
        "--from",
        "2025-01-01",
        "--to",
        "2026-12-31",
    )
    pool.run(
        "openlicense",
        "declare",
        CN_B,
        "--fee",
        "5000/year",
        "--currency",
        "EUR",
        "--from",
        "2025-01-01",
        "--to",
        "2026-12-31",
    )
    pool.run("openlicense", "take", CN_A, "--licensee", "L1", "--notice-date", "2025-01-15")
    pool.run("openlicense", "take", CN_B, "--licensee", "L1", "--notice-date", "2025-01-15")
    grant(pool, "L1")
    reports(
        pool, "L1,XR,2025Q1,CN,CN,100,1000.00", "L1,XR,2025Q1,CN,US,10,7.50", "L1,XR,2025Q1,US,US,50,9999.99"
    )
    # Royalty: US/US bears nothing (no US patent); CN/CN 100 + CN/US 10 = 110 units: T = 11.00.
    # Spread: CN/CN 10.00, CN/US 1.00, both allocated to CN (no US patent).
    # CN buckets: C weight 1, credit weight 2 (A's and B's open licences). Each line is split on its own:
    # 10.00 -> C 333.33 -> 333, credit 666.67 -> 667 (largest remainder): C 3.33, credit 6.67;
    # 1.00 -> C 33.33 -> 33, credit 66.67 -> 67: C 0.33, credit 0.67.
    # C 3.66 (fee 0.366 -> 0.37, net 3.29); credit 7.34; due 3.66.
    # Memo fees: 3% of the net sales of the lines made or sold in CN, in the program's currency (USD):
    # (1,000.00 + 7.50) x 3% = 30.225 -> half-up 30.23 (half-even would give 30.22).
    # 5000/year for a quarter: 5,000 x 3/12 = 1,250.00 EUR.
    got = allocate(pool, "2025Q1")
    fees = sorted(got.pop("open_license_fees"), key=lambda f: f["patent"])
    assert fees == [
        {"licensee": "L1", "patent": CN_A, "owner": "A", "currency": "USD", "amount": "30.23"},
        {"licensee": "L1", "patent": CN_B, "owner": "B", "currency": "EUR", "amount": "1250.00"},
    ]
    assert got == {
        k: v
        for k, v in result(
            "2025Q1", {"C": m("3.66", "0.37", "3.29")}, {"L1": inv("11.00", "7.34", "3.66")}, "0.37", "3.66"
        ).items()
        if k != "open_license_fees"
    }
    invoice = pool.json("invoice", "--licensee", "L1", "--period", "2025Q1")
    assert (invoice["royalty"], invoice["credit"], invoice["due"]) == ("11.00", "7.34", "3.66")
    assert sorted(invoice["open_license_fees"], key=lambda f: f["patent"]) == fees


# --- 10. direct licences (and licences not held on D) -------------------------------------------------------
def test_direct_license_credit(pool: Pool) -> None:
    members(pool, "A,licensor", "B,licensor", "L1,licensee")
    program(pool, "*:0.10", fee="10")
    patents(
        pool,
        f"{CN_A},A,CN,invention,2010-03-01,2013-05-08,,XR,,",
        f"{CN_B},B,CN,invention,2013-04-01,2016-08-17,,XR,,",
        f"{US_A},A,US,invention,2011-06-01,2018-11-13,,XR,,",
    )
    pool.run("license", "direct", CN_A, "--licensee", "L1", "--from", "2025-01-01")
    # Ended before D: not held on D.
    pool.run("license", "direct", US_A, "--licensee", "L1", "--from", "2025-01-01", "--to", "2025-02-28")
    # Territory US only, but CN_B is in force in CN: it does not cover this patent.
    pool.run("license", "direct", CN_B, "--licensee", "L1", "--from", "2025-01-01", "--territory", "US")
    # An open licence on CN_B whose declared term ends on 03-30, the day before D: not held on D either
    # (no credit, no memo fee).
    pool.run(
        "openlicense",
        "declare",
        CN_B,
        "--fee",
        "0.10/unit",
        "--currency",
        "CNY",
        "--from",
        "2025-01-01",
        "--to",
        "2025-03-30",
    )
    pool.run("openlicense", "take", CN_B, "--licensee", "L1", "--notice-date", "2025-01-15")
    grant(pool, "L1")
    reports(pool, "L1,XR,2025Q1,CN,CN,1000,1.00", "L1,XR,2025Q1,US,US,1000,1.00")
    # T(2000) = 200.00: CN/CN 100.00 -> B 50.00, credit (CN_A) 50.00; US/US 100.00 -> A (licence ended).
    # L1: royalty 200.00, credit 50.00, due 150.00. A 100.00 (10.00, 90.00); B 50.00 (5.00, 45.00).
    assert allocate(pool, "2025Q1") == result(
        "2025Q1",
        {"A": m("100.00", "10.00", "90.00"), "B": m("50.00", "5.00", "45.00")},
        {"L1": inv("200.00", "50.00", "150.00")},
        "15.00",
        "150.00",
    )


# --- 11. corrections and re-runs ----------------------------------------------------------------------------
def test_corrections_append_adjustments_with_deltas(pool: Pool) -> None:
    build_pool(
        pool,
        members_=("A,licensor", "B,licensor", "L1,licensee"),
        patents_=(
            f"{CN_A},A,CN,invention,2010-03-01,2013-05-08,,XR,,",
            f"{US_A},B,US,invention,2011-06-01,2018-11-13,,XR,,",
        ),
    )
    reports(
        pool, "L1,XR,2025Q1,CN,CN,3000,1.00", "L1,XR,2025Q1,US,US,1000,1.00", "L1,XR,2025Q2,CN,CN,2000,1.00"
    )
    # Q1: 4,000 units: T = 3,000 x 0.20 = 600.00; CN 3/4 = 450.00 -> A, US 150.00 -> B.
    q1 = result(
        "2025Q1",
        {"A": m("450.00", "45.00", "405.00"), "B": m("150.00", "15.00", "135.00")},
        {"L1": inv("600.00", "0.00", "600.00")},
        "60.00",
        "600.00",
    )
    assert allocate(pool, "2025Q1") == q1
    # Q2: T(6000) - T(4000) = (800 + 100) - 600 = 300.00 -> A.
    q2 = result(
        "2025Q2",
        {"A": m("300.00", "30.00", "270.00")},
        {"L1": inv("300.00", "0.00", "300.00")},
        "30.00",
        "300.00",
    )
    assert allocate(pool, "2025Q2") == q2

    # Re-running with unchanged inputs appends nothing and prints the same figures.
    size = pool.size_and_root()
    assert allocate(pool, "2025Q1") == q1
    assert allocate(pool, "2025Q2") == q2
    assert pool.size_and_root() == size

    # A changed figure without --correct is refused, naming the line, and nothing is written.
    refused = reports(pool, "L1,XR,2025Q1,CN,CN,2000,1.00", "L1,XR,2025Q1,US,US,1000,1.00", expect=1)
    assert refused.stderr.startswith("Error:") and "--correct" in refused.stderr
    assert pool.size_and_root() == size

    # With --correct: CN/CN superseded through report.correct (US/US unchanged: skipped).
    reports(pool, "L1,XR,2025Q1,CN,CN,2000,1.00", "L1,XR,2025Q1,US,US,1000,1.00", correct=True)
    corrections = entries(pool, "report.correct")
    assert len(corrections) == 1 and [ln["manufacture"] for ln in corrections[0]["body"]["lines"]] == ["CN"]
    # Q1 again: 3,000 units: T = 2,000 x 0.20 = 400.00; CN 2/3 = 26,666.67 cents -> 26,666 + the one cent
    # left (remainder .67 beats .33) = 266.67 -> A; US 133.33 -> B.
    # A fee 26.667 -> 26.67, net 240.00; B fee 13.333 -> 13.33, net 120.00. Total 400.00, fees 40.00.
    new_q1 = result(
        "2025Q1",
        {"A": m("266.67", "26.67", "240.00"), "B": m("133.33", "13.33", "120.00")},
        {"L1": inv("400.00", "0.00", "400.00")},
        "40.00",
        "400.00",
    )
    assert allocate(pool, "2025Q1") == new_q1
    # Q2 also changes: before is now 3,000: T(5000) - T(3000) = 800 - 400 = 400.00 -> A (fee 40.00).
    new_q2 = result(
        "2025Q2",
        {"A": m("400.00", "40.00", "360.00")},
        {"L1": inv("400.00", "0.00", "400.00")},
        "40.00",
        "400.00",
    )
    assert allocate(pool, "2025Q2") == new_q2

    adjusts = entries(pool, "allocation.adjust")
    assert [(e["body"]["program"], e["body"]["period"]) for e in adjusts] == [
        ("XR", "2025Q1"),
        ("XR", "2025Q2"),
    ]
    runs = entries(pool, "allocation.run")
    assert [e["body"]["period"] for e in runs] == ["2025Q1", "2025Q2"]
    assert adjusts[0]["body"]["supersedes"] == runs[0]["seq"]

    # Deltas new - old, in the new parts (spec 8a: a part for each party whose figures changed):
    # A 266.67 - 450.00 = -183.33, fee 26.67 - 45.00 = -18.33, net 240.00 - 405.00 = -165.00;
    # B -16.67, -1.67, -15.00; L1 royalty and due -200.00, credit unchanged.
    def deltas(period: str) -> dict[str, dict[str, str]]:
        return {
            e["body"].get("member") or e["body"]["licensee"]: e["body"]["deltas"]
            for e in entries(pool, "allocation.part")
            if e["body"]["period"] == period and "deltas" in e["body"]
        }

    assert deltas("2025Q1") == {
        "A": m("-183.33", "-18.33", "-165.00"),
        "B": m("-16.67", "-1.67", "-15.00"),
        "L1": inv("-200.00", "0.00", "-200.00"),
    }
    # Q2: A +100.00, +10.00, +90.00; L1 +100.00 (its part rests on Q1's new summary too).
    assert deltas("2025Q2") == {"A": m("100.00", "10.00", "90.00"), "L1": inv("100.00", "0.00", "100.00")}
    # The adjusted figures are what the books read, and a further re-run appends nothing.
    size = pool.size_and_root()
    assert allocate(pool, "2025Q1") == new_q1
    assert pool.size_and_root() == size
    invoice = pool.json("invoice", "--licensee", "L1", "--period", "2025Q1")
    assert (invoice["royalty"], invoice["due"]) == ("400.00", "400.00")
    # Importing the same correction file content again appends nothing.
    reports(pool, "L1,XR,2025Q1,CN,CN,2000,1.00", "L1,XR,2025Q1,US,US,1000,1.00", correct=True)
    assert pool.size_and_root() == size


# --- 12. determinism through an export ----------------------------------------------------------------------
def test_export_load_reallocates_identically_and_verify_recomputes(pool: Pool) -> None:
    members(pool, "A,licensor", "B,licensor", "C,both", "L1,licensee")
    program(pool, "1000:0,5000:0.20,*:0.10", cap="900.00", fee="10")
    patents(
        pool,
        f"{CN_A},A,CN,invention,2010-03-01,2013-05-08,,XR,,",
        f"{CN_UM},A,CN,utility,2016-05-10,2016-10-12,,XR,,",
        f"{US_A},B,US,invention,2011-06-01,2018-11-13,,XR,,",
        f"{CN_C},C,CN,invention,2015-06-01,2019-09-10,,XR,,2",
        f"{US_B},C,US,invention,2019-08-01,2022-01-25,,XR,,",
    )
    pool.run("patent", "transfer", US_B, "--to", "B", "--effective", "2025-05-01")
    pool.run("crosslicense", "add", "--members", "A,C", "--from", "2024-01-01")
    open_licence(pool)
    grant(pool, "L1", "C")
    reports(
        pool,
        "L1,XR,2025Q1,CN,CN,3000,1.00",
        "L1,XR,2025Q1,CN,US,2500,1.00",
        "C,XR,2025Q1,US,US,4000,1.00",
        "L1,XR,2025Q2,CN,JP,3333,1.00",
        "C,XR,2025Q2,CN,CN,777,1.00",
    )
    reports(pool, "C,XR,2025Q1,US,US,4100,1.00", correct=True)
    first = {p: allocate(pool, p) for p in ("2025Q1", "2025Q2")}
    export = pool.workdir / "pool.jsonl"
    pool.run("export", "-o", str(export))
    checkpoint = pool.write("pool.cp", pool.run("checkpoint").stdout)

    other = f"sqlite:///{pool.workdir / 'other.db'}"
    pool.run("--db", other, "load", str(export), "--checkpoint", str(checkpoint))
    size = pool.run("--db", other, "checkpoint").stdout
    for period, figures in first.items():
        assert pool.json("--db", other, "allocate", "--program", "XR", "--period", period) == figures
    assert pool.run("--db", other, "checkpoint").stdout == size  # nothing appended: same figures to the cent
    assert pool.run("--db", other, "export").stdout_bytes == export.read_bytes()
    verified = pool.json("--db", other, "verify")
    assert verified["allocations_recomputed"] == 2
    assert (verified["result"], verified["problems"]) == ("ok", [])
