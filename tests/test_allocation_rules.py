"""Allocation policy v1 (docs/policy.md) rule by rule, on pool states built in memory (conftest.MemoryPool):
entries validated and applied through patentpool.rules as replay does, then patentpool.allocation.allocate.
No CLI, no database: each test runs in milliseconds. The same rules are exercised end to end through the CLI
in test_allocation_scenarios.py (slow); the exact `Error:` lines are tested there and in test_pool_errors.py.

Every expected figure is worked by hand in the comment above it.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import MemoryPool, build_example_state
from test_example import EXPECTED

from patentpool.allocation import result_json
from patentpool.books import check_invariants, statement_lines
from patentpool.fields import FieldError

CN_A = "CN102345678B"  # an invention in CN, granted 2013
CN_B = "CN110123456B"  # another, granted 2019
US_B = "US10123456B2"  # an invention in US, granted 2018


def small_pool(tiers: str = "*:0.10", cap: str | None = None, cn_b: bool = False) -> MemoryPool:
    """A licensor A with a CN patent, a licensor B with a US patent (and, with `cn_b`, a CN one), and a
    licensee L1 holding an XR pool licence from 2025-01-01."""
    pool = MemoryPool()
    for member, role in (("A", "licensor"), ("B", "licensor"), ("L1", "licensee")):
        pool.add("member.add", {"id": member, "name": f"{member} Co.", "role": role})
    pool.program("XR", tiers, cap=cap, fee="10")
    patent(pool, CN_A, "A", "CN", "2010-03-01", "2013-05-08")
    patent(pool, US_B, "B", "US", "2011-06-01", "2018-11-13")
    if cn_b:
        patent(pool, CN_B, "B", "CN", "2015-06-01", "2019-09-10")
    pool.grant("L1")
    return pool


def patent(pool: MemoryPool, number: str, owner: str, country: str, filed: str, granted: str | None) -> None:
    from patentpool import bodies

    body = bodies.patent(number, owner, country, "invention", filed, granted, None, "XR", None, None)
    pool.add("patent.add", body)


def report(pool: MemoryPool, period: str, *lines: tuple[str, str, int]) -> None:
    rows = [{"manufacture": m, "sale": s, "units": u, "net_sales": "1.00"} for m, s, u in lines]
    pool.add("report.add", {"licensee": "L1", "program": "XR", "period": period, "lines": rows})


def gross(body: dict[str, Any]) -> dict[str, str]:
    """Member -> gross, leaving out members whose every figure is zero."""
    return {m: f["gross"] for m, f in body["members"].items() if f["gross"] != "0.00"}


def invoice(body: dict[str, Any], licensee: str = "L1") -> tuple[str, str, str]:
    figures = body["invoices"][licensee]
    return figures["royalty"], figures["credit"], figures["due"]


# --- the worked example -------------------------------------------------------------------------------------
def test_worked_example_in_memory_to_the_cent() -> None:
    # The same facts as conftest.build_example, so the same figures as ../shared/examples/pool-2025q1.
    body = build_example_state().allocate("XR", "2025Q1")
    assert result_json(body) == EXPECTED
    assert check_invariants(body) == []
    lines = {
        (ln["licensee"], ln["country"]): (ln["patents"], ln["gross"]) for ln in statement_lines(body, "C")
    }
    assert lines == {
        ("C", "CN"): (["CN110123456B"], "77.27"),
        ("C", "US"): (["US11234567B1"], "309.09"),
        ("L1", "CN"): (["CN110123456B"], "150.00"),
        ("L1", "US"): (["US11234567B1"], "160.71"),
    }


# --- steps 1-2: counting patents and bearing lines ----------------------------------------------------------
def test_lines_go_to_the_owner_of_the_counting_patent_in_their_country() -> None:
    pool = small_pool()
    report(pool, "2025Q1", ("CN", "CN", 1000), ("US", "US", 500))
    body = pool.allocate("XR", "2025Q1")
    # T(1500) at 0.10 = 150.00; spread by units: CN 100.00 (-> A), US 50.00 (-> B).
    # Fees 10%: A 10.00, B 5.00.
    assert body["members"]["A"] == {"gross": "100.00", "admin_fee": "10.00", "net": "90.00"}
    assert body["members"]["B"] == {"gross": "50.00", "admin_fee": "5.00", "net": "45.00"}
    assert invoice(body) == ("150.00", "0.00", "150.00")
    assert check_invariants(body) == []


@pytest.mark.parametrize(("effective", "counts"), [("2025-03-31", False), ("2025-04-01", True)])
def test_an_invalidation_on_the_last_day_stops_the_patent_counting(effective: str, counts: bool) -> None:
    pool = small_pool()
    pool.add(
        "patent.status", {"number": US_B, "country": "US", "status": "invalidated", "effective": effective}
    )
    report(pool, "2025Q1", ("CN", "CN", 1000), ("US", "US", 500))
    body = pool.allocate("XR", "2025Q1")
    if counts:  # effective after D = 2025-03-31: as if nothing happened
        assert gross(body) == {"A": "100.00", "B": "50.00"}
    else:
        # The US line has no counting patent: it bears nothing and is left out of the tiers, T(1000) = 100.00.
        assert gross(body) == {"A": "100.00"}
        assert invoice(body) == ("100.00", "0.00", "100.00")


def test_a_patent_without_a_grant_date_does_not_count() -> None:
    pool = small_pool()
    patent(pool, "CN110123457B", "B", "CN", "2015-06-01", None)  # pending: no grant date
    report(pool, "2025Q1", ("CN", "CN", 1000))
    assert gross(pool.allocate("XR", "2025Q1")) == {"A": "100.00"}


# --- step 3: tiers and the annual cap -----------------------------------------------------------------------
def test_tiers_and_cap_run_over_the_year_to_date() -> None:
    pool = small_pool(tiers="1000:0,*:1", cap="900.00")
    report(pool, "2025Q1", ("CN", "CN", 1500))
    report(pool, "2025Q2", ("CN", "CN", 600))
    # Q1: min(T(1500), 900) - 0 = 500.00. Q2: min(T(2100), 900) - min(T(1500), 900) = 900 - 500 = 400.00.
    assert invoice(pool.allocate("XR", "2025Q1")) == ("500.00", "0.00", "500.00")
    assert invoice(pool.allocate("XR", "2025Q2")) == ("400.00", "0.00", "400.00")


# --- step 5: allocation country -----------------------------------------------------------------------------
def test_a_line_goes_to_its_sale_country_if_it_has_a_counting_patent_else_its_manufacture_country() -> None:
    pool = small_pool()
    report(pool, "2025Q1", ("CN", "US", 100), ("CN", "JP", 100))
    body = pool.allocate("XR", "2025Q1")
    # CN->US: the US has B's patent, so B (10.00); CN->JP: JP has none, so the manufacture country CN, A.
    assert gross(body) == {"A": "10.00", "B": "10.00"}


# --- step 6: weights and the credit bucket ------------------------------------------------------------------
def test_a_direct_licence_moves_the_patent_to_the_credit_bucket() -> None:
    pool = small_pool()
    pool.add(
        "license.direct",
        {
            "number": CN_A,
            "country": "CN",
            "licensee": "L1",
            "licensor": "A",
            "from": "2025-01-01",
            "to": None,
            "exclusive": False,
            "territory": "all",
        },
    )
    report(pool, "2025Q1", ("CN", "CN", 1000), ("US", "US", 500))
    body = pool.allocate("XR", "2025Q1")
    # The CN line's 100.00 goes to the credit bucket: invoice 150.00 - 100.00; A is paid nothing.
    assert invoice(body) == ("150.00", "100.00", "50.00")
    assert gross(body) == {"B": "50.00"}
    assert check_invariants(body) == []


def test_weights_split_a_line_by_largest_remainder() -> None:
    pool = small_pool(cn_b=True)
    report(pool, "2025Q1", ("CN", "CN", 1000))
    assert gross(pool.allocate("XR", "2025Q1")) == {"A": "50.00", "B": "50.00"}


def test_a_half_cent_tie_goes_to_the_lower_member_id() -> None:
    pool = small_pool(tiers="*:0.01", cn_b=True)
    report(pool, "2025Q1", ("CN", "CN", 1))
    # 0.01 over two equal weights: 0.005 each; the tie goes to A, the lower id.
    assert gross(pool.allocate("XR", "2025Q1")) == {"A": "0.01"}


# --- the validators refuse what the commands refuse ---------------------------------------------------------
def test_a_report_for_a_period_before_the_licence_is_refused() -> None:
    pool = small_pool()
    with pytest.raises(FieldError) as refused:
        report(pool, "2024Q4", ("CN", "CN", 10))
    assert refused.value.field == "period" and "before L1's licence starts" in str(refused.value)


def test_a_line_reported_twice_needs_a_correction() -> None:
    pool = small_pool()
    report(pool, "2025Q1", ("CN", "CN", 10))
    with pytest.raises(FieldError, match="already reported: correct it with --correct"):
        report(pool, "2025Q1", ("CN", "CN", 11))
