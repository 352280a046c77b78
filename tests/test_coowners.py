"""Co-owned patents (spec 6a), per-patent figures (rule 6b) and memo fees split by parts (rule 9), through
the CLI on both backends; the figures are the worked example's
(../shared/examples/pool-2025q1-coown/README.md)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from conftest import DATA, Pool, build_example

COOWN = Path(__file__).resolve().parent / "data" / "pool-2025q1-coown"


@pytest.fixture
def coowned_pool(pool: Pool) -> Pool:
    build_example(pool, payments=False)
    pool.run("patent", "import", str(COOWN / "patents-coowned.csv"))
    return pool


def test_coowned_allocation_matches_the_worked_example(coowned_pool: Pool) -> None:
    got = coowned_pool.json("allocate", "--program", "XR", "--period", "2025Q1")
    assert got["members"] == {
        "A": {"gross": "214.29", "admin_fee": "21.43", "net": "192.86"},
        "B": {"gross": "484.63", "admin_fee": "48.46", "net": "436.17"},
        "C": {"gross": "540.47", "admin_fee": "54.05", "net": "486.42"},
    }
    # C's cross-licence with A (one co-owner) credits the whole co-owned patent on C's US line.
    assert got["invoices"]["C"] == {"royalty": "850.00", "credit": "360.61", "due": "489.39"}
    assert got["invoices"]["L1"] == {"royalty": "900.00", "credit": "150.00", "due": "750.00"}
    assert (got["total"], got["admin_fee"]) == ("1239.39", "123.94")


def test_statement_per_patent_figures_sum_to_the_members(coowned_pool: Pool) -> None:
    coowned_pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    b = coowned_pool.json("statement", "--member", "B", "--period", "2025Q1")
    assert b["patents"] == [
        {"patent": "EP2345678B1", "country": "DE", "gross": "128.57", "admin_fee": "12.86", "net": "115.71"},
        {"patent": "US10123456B2", "country": "US", "gross": "313.20", "admin_fee": "31.32", "net": "281.88"},
        {"patent": "US11999999B2", "country": "US", "gross": "42.86", "admin_fee": "4.28", "net": "38.58"},
    ]
    a = coowned_pool.json("statement", "--member", "A", "--period", "2025Q1")
    assert [p["admin_fee"] for p in a["patents"]] == ["15.00", "6.43"]
    for st in (a, b):
        for key in ("gross", "admin_fee", "net"):
            assert sum(Decimal(p[key]) for p in st["patents"]) == Decimal(st[key])


def test_coowned_bundle_verifies_and_verify_replays_owners(coowned_pool: Pool, tmp_path: Path) -> None:
    coowned_pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    bundle = tmp_path / "b.json"
    coowned_pool.run("statement", "--member", "A", "--period", "2025Q1", "--bundle", str(bundle))
    vkey = coowned_pool.run("key", "show").stdout.strip()
    coowned_pool.run("verify-statement", str(bundle), "--vkey", vkey)
    coowned_pool.run("verify")


def test_owners_change_mid_year_moves_the_split(pool: Pool) -> None:
    build_example(pool, payments=False)
    pool.run("patent", "import", str(COOWN / "patents-coowned.csv"))
    # From 2025-02-01 B holds 3 parts to A's 1: on D = 2025-03-31 A's weight is 0.25, B's 0.75.
    pool.run("patent", "owners", "US11999999B2", "--owners", "A:1,B:3", "--effective", "2025-02-01")
    got = pool.json("allocate", "--program", "XR", "--period", "2025Q1")
    # L1's US line 321.43 over A 0.25, B 1.75, C 1 (of 3): A 26.79 (26.7858), B 187.50, C 107.14.
    a = pool.json("statement", "--member", "A", "--period", "2025Q1")
    us = [p for p in a["patents"] if p["patent"] == "US11999999B2"]
    assert us[0]["gross"] == "26.79"
    assert Decimal(got["members"]["A"]["gross"]) == Decimal("150.00") + Decimal("26.79")
    shown = pool.json("patent", "show", "US11999999B2")
    assert "A:1,B:3" in str(shown) or "A:1;B:3" in str(shown)


def test_owners_are_validated(pool: Pool) -> None:
    build_example(pool, payments=False)
    bad = pool.run(
        "patent",
        "add",
        "US11888888B2",
        "--owners",
        "A:60,ZZ:40",
        "--country",
        "US",
        "--type",
        "invention",
        "--filed",
        "2018-03-01",
        expect=1,
    )
    assert "owners" in bad.stderr and "ZZ" in bad.stderr
    twice = pool.run(
        "patent",
        "add",
        "US11888888B2",
        "--owners",
        "A:60,A:40",
        "--country",
        "US",
        "--type",
        "invention",
        "--filed",
        "2018-03-01",
        expect=1,
    )
    assert "named twice" in twice.stderr
    neither = pool.run(
        "patent",
        "add",
        "US11888888B2",
        "--country",
        "US",
        "--type",
        "invention",
        "--filed",
        "2018-03-01",
        expect=2,
    )
    assert "--owners" in neither.stderr


def test_memo_fee_split_by_parts_and_never_owed_to_itself(pool: Pool) -> None:
    build_example(pool, payments=False)
    # L1 takes the open licence on A's utility model; then A and L1's member... L1 is a licensee only, so
    # make C (both) a co-owner with A: C's part of a fee C owes is dropped, A's part stays.
    pool.run("openlicense", "take", "CN205123456U", "--licensee", "C", "--notice-date", "2025-01-20")
    pool.run("patent", "owners", "CN205123456U", "--owners", "A:50,C:50", "--effective", "2025-02-01")
    got = pool.json("allocate", "--program", "XR", "--period", "2025Q1")
    fees = {(f["licensee"], f["owner"]): f["amount"] for f in got["open_license_fees"]}
    # L1: 3,000 + 2,500 + 1,000 + 500 units made in CN = 7,000 x 0.10 = 700.00, split 350.00 / 350.00.
    assert fees[("L1", "A")] == "350.00" and fees[("L1", "C")] == "350.00"
    # C: 1,500 units made in CN x 0.10 = 150.00: A's half is owed, C's own half is not shown.
    assert fees[("C", "A")] == "75.00"
    assert ("C", "C") not in fees


def test_data_dir_of_the_first_example_is_unchanged() -> None:
    # The first worked example has no co-owners: its inputs stay single-owner files.
    assert "owners" not in (DATA / "patents.csv").read_text().splitlines()[0]


def test_statement_by_patent_and_owners_on_a_date(pool: Pool) -> None:
    build_example(pool, payments=False)
    pool.run("patent", "import", str(COOWN / "patents-coowned.csv"))
    pool.run("patent", "owners", "US11999999B2", "--owners", "A:1,B:3", "--effective", "2025-02-01")
    pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    rows = pool.run("statement", "--member", "A", "--period", "2025Q1", "--by", "patent", "-f", "csv").stdout
    assert rows.splitlines() == [
        "patent,country,gross,admin_fee,net,currency",
        "CN102345678B,CN,150.00,15.00,135.00,USD",
        "US11999999B2,US,26.79,2.68,24.11,USD",
    ]
    before = pool.json("patent", "show", "US11999999B2", "--on", "2025-01-31")["countries"][0]
    after = pool.json("patent", "show", "US11999999B2", "--on", "2025-02-01")["countries"][0]
    assert (before["owner"], after["owner"]) == ("A:60,B:40", "A:1,B:3")
    listed = pool.json("patent", "list", "--owner", "B", "--on", "2025-01-31")
    assert [(p["number"], p["owner"]) for p in listed if p["number"] == "US11999999B2"] == [
        ("US11999999B2", "A:60,B:40")
    ]


def test_a_coowner_who_is_the_licensee_is_never_credited_its_patent(pool: Pool) -> None:
    """US11777777B2 co-owned by B and C (50:50); C, also a licensee, holds a cross-licence with B. On C's US
    line (618.18): B's own US10123456B2 is credited (the cross-licence), the co-owned patent is not (C co-owns
    it: rule 6), so the weights are B 0.5, C 1 + 0.5, credit 1 (of 3): B 103.03, C 309.09, credit 206.06."""
    build_example(pool, payments=False)
    pool.run(
        "patent",
        "add",
        "US11777777B2",
        "--owners",
        "B:50,C:50",
        "--country",
        "US",
        "--type",
        "invention",
        "--filed",
        "2019-01-10",
        "--granted",
        "2022-03-01",
        "--program",
        "XR",
    )
    pool.run("crosslicense", "add", "--members", "B,C", "--from", "2024-01-01")
    got = pool.json("allocate", "--program", "XR", "--period", "2025Q1")
    assert got["invoices"]["C"] == {"royalty": "850.00", "credit": "360.61", "due": "489.39"}
    b = pool.json("statement", "--member", "B", "--period", "2025Q1")
    assert [(ln["patents"], ln["gross"]) for ln in b["lines"] if ln["licensee"] == "C"] == [
        (["US11777777B2"], "103.03")
    ]
    c = pool.json("statement", "--member", "C", "--period", "2025Q1")
    assert [
        (ln["patents"], ln["gross"]) for ln in c["lines"] if (ln["licensee"], ln["country"]) == ("C", "US")
    ] == [(["US11234567B1", "US11777777B2"], "309.09")]


def test_coowners_of_a_patent_in_several_countries(pool: Pool) -> None:
    """EP2345678B1 is in force in DE (the example) and FR; `patent owners` without --country gives both A
    and B half from 2025-01-01. L1's DE line (128.57, B's alone before) splits 6,428.5 cents each: the tied
    cent goes to the lower member id, A 64.29, B 64.28."""
    build_example(pool, payments=False)
    pool.run(
        "patent",
        "add",
        "EP2345678B1",
        "--owner",
        "B",
        "--country",
        "FR",
        "--type",
        "invention",
        "--filed",
        "2009-09-15",
        "--granted",
        "2014-03-05",
        "--program",
        "XR",
    )
    pool.run("patent", "owners", "EP2345678B1", "--owners", "A:50,B:50", "--effective", "2025-01-01")
    shown = pool.json("patent", "show", "EP2345678B1", "--on", "2025-03-31")
    assert {(c["country"], c["owner"]) for c in shown["countries"]} == {
        ("DE", "A:50,B:50"),
        ("FR", "A:50,B:50"),
    }
    pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    for member, amount in (("A", "64.29"), ("B", "64.28")):
        st = pool.json("statement", "--member", member, "--period", "2025Q1")
        assert [ln["gross"] for ln in st["lines"] if (ln["licensee"], ln["country"]) == ("L1", "DE")] == [
            amount
        ]
        de = [p for p in st["patents"] if (p["patent"], p["country"]) == ("EP2345678B1", "DE")]
        assert de[0]["gross"] == amount
