"""Cash basis (spec 6 rule 12) and stale allocations (rule 13), worked by hand, through the CLI on both
backends.

The pool: program XR with tiers 1000:0,5000:0.20,*:0.10, admin fee 10%; one counting patent in CN for each of
A and B (weights 1:1); licensee L1 reports CN/CN lines.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import CN_A, Pool, build_pool, reports


def _pool(pool: Pool, q1_units: int, q2_units: int | None = None) -> None:
    build_pool(pool)
    report(pool, "2025Q1", q1_units)
    if q2_units is not None:
        report(pool, "2025Q2", q2_units)


def report(pool: Pool, period: str, units: int, correct: bool = False) -> None:
    reports(pool, f"L1,XR,{period},CN,CN,{units},{units * 100}.00", correct=correct)


def pay(pool: Pool, amount: str, day: str, ref: str) -> None:
    pool.run("payment", "add", "--licensee", "L1", "--amount", amount, "--date", day, "--ref", ref)


def distribute(pool: Pool, day: str, *extra: str) -> dict:
    return pool.json("distribute", "--program", "XR", "--period", "2025Q1", "--date", day, *extra)


def test_payouts_follow_the_cash_collected_and_claw_back(pool: Pool) -> None:
    _pool(pool, 2000)
    # R(2000) = 1,000 x 0.20 = 200.00, split A 100.00 / B 100.00.
    assert pool.json("allocate", "--program", "XR", "--period", "2025Q1")["invoices"]["L1"]["due"] == "200.00"
    pay(pool, "150.00", "2025-04-20", "L1-1")
    # 150.00 collected, split by gross from L1 (1:1): 75.00 each, fee 7.50, net 67.50.
    first = distribute(pool, "2025-05-01")
    assert first["members"]["A"] == {
        "collected": "75.00",
        "admin_fee": "7.50",
        "net": "67.50",
        "distributed_before": "0.00",
        "pay": "67.50",
    }
    assert first["collected"] == "150.00" and first["unapplied"] == {}
    # Nothing more came in: a second run pays nothing.
    again = distribute(pool, "2025-05-02")
    assert again["members"]["B"]["pay"] == "0.00"
    # A date before the last distribution is refused.
    early = pool.run("distribute", "--program", "XR", "--period", "2025Q1", "--date", "2025-04-30", expect=1)
    assert "before the last distribution" in early.stderr
    pay(pool, "80.00", "2025-05-10", "L1-2")
    # 230.00 paid, 200.00 applied, 30.00 unapplied; 100.00 each collected, fee 10.00, net 90.00, paid 67.50.
    dry = distribute(pool, "2025-05-15", "--dry-run")
    assert dry["dry_run"] is True and dry["members"]["A"]["pay"] == "22.50"
    assert dry["unapplied"] == {"L1": "30.00"}
    assert distribute(pool, "2025-05-15", "--dry-run") == dry  # the dry run appended nothing
    second = distribute(pool, "2025-05-15")
    assert (
        second["members"]["A"]["distributed_before"] == "67.50" and second["members"]["A"]["pay"] == "22.50"
    )
    st = pool.json("statement", "--member", "A", "--period", "2025Q1")
    assert [d["amount"] for d in st["distributions"]] == ["67.50", "22.50"]
    # The CSV (and table) show them too, as payout rows after the totals.
    csv_lines = pool.run("statement", "--member", "A", "--period", "2025Q1", "-f", "csv").stdout.splitlines()
    payouts = [line for line in csv_lines if line.startswith("payout,")]
    assert [line.split(",")[5] for line in payouts] == ["67.50", "22.50"]
    assert all(",paid 2025-05-" in line for line in payouts)

    # A downward correction: 1,500 units, R(1500) = 100.00: A and B 50.00 each; the invoice is now 100.00.
    report(pool, "2025Q1", 1500, correct=True)
    stale = pool.run("distribute", "--program", "XR", "--period", "2025Q1", "--date", "2025-06-01", expect=1)
    assert "is stale" in stale.stderr and "patentpool allocate --program XR --period 2025Q1" in stale.stderr
    pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    claw = distribute(pool, "2025-06-01")
    # Collected 100.00 (the rest of the 230.00 is unapplied): 50.00 each, fee 5.00, net 45.00, paid 90.00.
    assert claw["members"]["A"] == {
        "collected": "50.00",
        "admin_fee": "5.00",
        "net": "45.00",
        "distributed_before": "90.00",
        "pay": "-45.00",
    }
    assert claw["unapplied"] == {"L1": "130.00"}
    recon = pool.json("reconcile", "--period", "2025Q1", "--program", "XR", "--as-of", "2025-06-30")
    cash = recon["cash"]["USD"]
    # In 230.00; out 90.00 x 2 - 45.00 x 2 = 90.00; fees kept 10.00; cash 130.00 = the unapplied credit.
    assert cash["payments_in"] == "230.00" and cash["distributed"] == "90.00"
    assert cash["admin_fees_kept"] == "10.00" and cash["cash"] == "130.00" and cash["unapplied"] == "130.00"
    assert recon["invariants"] == "ok"


def test_a_correction_makes_later_periods_stale_and_allocate_reruns_them(pool: Pool) -> None:
    _pool(pool, 2000, 3000)
    # Q1: R(2000) = 200.00. Q2: R(5000) - R(2000) = 800.00 - 200.00 = 600.00.
    assert pool.json("allocate", "--program", "XR", "--period", "2025Q1")["total"] == "200.00"
    assert pool.json("allocate", "--program", "XR", "--period", "2025Q2")["total"] == "600.00"
    report(pool, "2025Q1", 3000, correct=True)
    # Both periods are stale now: Q1's own lines changed, and Q2's tiers rest on Q1's units.
    for period in ("2025Q1", "2025Q2"):
        refused = pool.run("invoice", "--licensee", "L1", "--period", period, expect=1)
        assert refused.stderr.startswith("Error: the allocation of XR " + period)
        # The command named is Q1's for both: allocating Q1 re-runs Q2 (rule 13).
        assert "run `patentpool allocate --program XR --period 2025Q1`" in refused.stderr
        assert pool.run("statement", "--member", "A", "--period", period, expect=1).stderr.startswith(
            "Error:"
        )
    recon = pool.run("reconcile", "--period", "2025Q2", "--program", "XR", expect=1)
    assert "stale" in recon.stderr
    dry = pool.run("allocate", "--program", "XR", "--period", "2025Q1", "--dry-run", "-f", "json")
    assert "would be XR 2025Q2: inputs changed since seq" in dry.stderr and "nothing appended" in dry.stderr
    pool.run("invoice", "--licensee", "L1", "--period", "2025Q2", expect=1)  # the dry run mended nothing
    # Q1: R(3000) = 400.00. Q2: R(6000) - R(3000) = (800.00 + 100.00) - 400.00 = 500.00.
    rerun = pool.run("allocate", "--program", "XR", "--period", "2025Q1", "-f", "json")
    assert "XR 2025Q2: inputs changed since seq" in rerun.stderr
    assert "member A gross -50.00, net -45.00" in rerun.stderr
    assert "licensee L1 due -100.00" in rerun.stderr
    assert pool.json("invoice", "--licensee", "L1", "--period", "2025Q1")["due"] == "400.00"
    assert pool.json("invoice", "--licensee", "L1", "--period", "2025Q2")["due"] == "500.00"
    again = pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    assert "XR 2025Q2 already allocated at seq" in again.stderr and "appended 1" not in again.stderr
    pool.run("verify")


def test_a_payout_refuses_a_stale_earlier_period_and_a_future_date(pool: Pool) -> None:
    # Payments go to the oldest invoice first (rule 12): a Q2 payout rests on Q1's due as well as Q2's.
    _pool(pool, 2000, 3000)
    for period in ("2025Q1", "2025Q2"):
        pool.run("allocate", "--program", "XR", "--period", period)
    pay(pool, "600.00", "2025-07-20", "L1-1")
    report(pool, "2025Q1", 2500, correct=True)
    pool.run("allocate", "--program", "XR", "--period", "2025Q2")  # Q2 brought up to date, Q1 left stale
    pool.run("invoice", "--licensee", "L1", "--period", "2025Q2")  # Q2's own figures are fresh
    before = pool.size_and_root()
    refused = pool.run(
        "distribute", "--program", "XR", "--period", "2025Q2", "--date", "2025-08-01", expect=1
    )
    assert refused.stderr.startswith("Error: the allocation of XR 2025Q1 (seq ")
    assert "run `patentpool allocate --program XR --period 2025Q1`" in refused.stderr
    assert pool.size_and_root() == before
    pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    # A payout is a fact recorded once it has happened: dated ahead, it would block every real one before.
    future = pool.run("distribute", "--program", "XR", "--period", "2025Q2", "--date", "2031-01-01", expect=1)
    assert "date: 2031-01-01 is in the future" in future.stderr
    assert pool.json("distribute", "--program", "XR", "--period", "2025Q2", "--date", "2025-08-01")["members"]


@pytest.mark.parametrize("units", [1, 3])
def test_year_adds_up_at_sub_cent_rates(pool: Pool, units: int) -> None:
    # Rule 3: at 0.005 a unit, R rounds each cumulative figure, so four quarters add up to the year's R.
    build_pool(
        pool,
        members_=("A,Aurora,licensor", "L1,Lumen,licensee"),
        tiers="*:0.005",
        patents_=(f"{CN_A},A,CN,invention,2015-06-01,2019-09-10,,XR,,",),
        fee="0",
    )
    total = 0
    for q in range(1, 5):
        report(pool, f"2025Q{q}", units)
        got = pool.json("allocate", "--program", "XR", "--period", f"2025Q{q}")
        total += int(Decimal(got["total"]) * 100)
    # The year: R(4 x units) = 0.02 for 4 units, 0.06 for 12 units (half-up of 0.02 and 0.06).
    assert total == {1: 2, 3: 6}[units]


def test_a_q1_correction_makes_q2_and_q3_stale_and_one_allocate_brings_the_year_up_to_date(
    pool: Pool,
) -> None:
    # Q1 2,000, Q2 3,000, Q3 4,000 units: R(2000) = 200.00; R(5000) - R(2000) = 800.00 - 200.00 = 600.00;
    # R(9000) - R(5000) = (800.00 + 4,000 x 0.10) - 800.00 = 400.00.
    _pool(pool, 2000, 3000)
    report(pool, "2025Q3", 4000)
    totals = [
        pool.json("allocate", "--program", "XR", "--period", p)["total"]
        for p in ("2025Q1", "2025Q2", "2025Q3")
    ]
    assert totals == ["200.00", "600.00", "400.00"]
    # Q1 corrected down to 500 units: R(500) = 0.00; Q2 R(3500) - R(500) = 500.00; Q3 R(7500) - R(3500) =
    # (800.00 + 2,500 x 0.10) - 500.00 = 550.00: the tiers moved under both later quarters.
    report(pool, "2025Q1", 500, correct=True)
    for period in ("2025Q2", "2025Q3"):
        stale = pool.run("invoice", "--licensee", "L1", "--period", period, expect=1).stderr
        # The command named is the earliest stale period's: its allocate re-runs the later ones.
        assert "is stale" in stale and "patentpool allocate --program XR --period 2025Q1`" in stale
        assert f"(it re-runs {period} too)" in stale
    rerun = pool.run("allocate", "--program", "XR", "--period", "2025Q1", "-f", "json")
    assert "XR 2025Q2: inputs changed" in rerun.stderr and "XR 2025Q3: inputs changed" in rerun.stderr
    dues = [
        pool.json("invoice", "--licensee", "L1", "--period", p)["due"] for p in ("2025Q1", "2025Q2", "2025Q3")
    ]
    assert dues == ["0.00", "500.00", "550.00"]
    # The year adds up: R(7500) = 1,050.00 = 0.00 + 500.00 + 550.00.
    a = pool.json("statement", "--member", "A", "--period", "2025Q3")
    assert (a["gross"], a["admin_fee"], a["net"]) == ("275.00", "27.50", "247.50")
    pool.run("verify")


def test_reports_an_allocation_reads_name_the_allocate_that_reruns_it(pool: Pool) -> None:
    _pool(pool, 2000)
    assert pool.json("allocate", "--program", "XR", "--period", "2025Q1")["total"] == "200.00"
    allocated = pool.size_and_root()[0]
    note = (
        f"note: XR 2025Q1 is allocated (seq {allocated}) and reads these reports: `patentpool allocate "
        "--program XR --period 2025Q1` re-runs it and its later periods, appending only what changed"
    )
    said = reports(pool, "L1,XR,2025Q1,CN,CN,3000,300000.00", correct=True).stderr
    assert note in said.splitlines()
    # Q2's reports are no input of Q1 (tiers run on the units before a period, never after): no note.
    assert "note:" not in reports(pool, "L1,XR,2025Q2,CN,CN,10,1000.00").stderr
