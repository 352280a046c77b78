"""Issue 4 (royalties): the books read from allocations: invoice, statement, reconcile, distribute.

Figures are worked by hand in the comments (spec section 6) or taken from the worked example's README
(../shared/examples/pool-2025q1). Every read command is checked in each of its formats (table, json, csv).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from conftest import CN_A, US_A, Pool, build_pool, csv_import, reports

from patentpool.books import PAYMENT_TERM_DAYS
from patentpool.service import BOOK_KINDS, PoolService, only_period

# --- the worked example: allocate, invoice, statements, reconcile -------------------------------------------
L1_MEMO = {"licensee": "L1", "patent": "CN205123456U", "owner": "A", "currency": "CNY", "amount": "700.00"}


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_invoice_and_allocate_in_every_format(example_pool: Pool) -> None:
    pool = example_pool
    # Before the allocation the books have nothing to show.
    for args in (
        ("invoice", "--licensee", "L1", "--period", "2025Q1"),
        ("statement", "--member", "A", "--period", "2025Q1"),
        ("reconcile", "--period", "2025Q1"),
        ("distribute", "--period", "2025Q1"),
    ):
        refused = pool.run(*args, expect=1)
        assert refused.stderr.startswith("Error:") and "allocate" in refused.stderr, args

    run = pool.run
    assert json.loads(run("allocate", "--program", "XR", "--period", "2025Q1", "-f", "json").stdout)[
        "total"
    ] == ("1445.45")
    out = run("allocate", "--program", "XR", "--period", "2025Q1", "-f", "csv").stdout
    rows = {r["party"]: r for r in csv_rows(out) if not r["role"].startswith("open licence")}
    memo = [r for r in csv_rows(out) if r["role"].startswith("open licence")]
    # The memo's amount and currency have columns of their own: never in the pool's money columns.
    assert [(r["party"], r["memo"], r["currency"], r["due"]) for r in memo] == [("L1", "700.00", "CNY", "")]
    assert {r["currency"] for r in rows.values()} == {"USD"}
    assert (rows["B"]["gross"], rows["B"]["admin_fee"], rows["B"]["net"]) == ("598.38", "59.84", "538.54")
    assert (rows["L1"]["royalty"], rows["L1"]["credit"], rows["L1"]["due"]) == ("900.00", "150.00", "750.00")
    assert (rows["total"]["gross"], rows["total"]["admin_fee"]) == ("1445.45", "144.55")
    table = run("allocate", "--program", "XR", "--period", "2025Q1", "-f", "table").stdout
    for text in ("1445.45", "144.55", "750.00", "695.45", "700.00", "CNY"):
        assert text in table

    data = pool.json("invoice", "--licensee", "L1", "--period", "2025Q1")
    # README: L1 royalty 900.00 (capped), credit 150.00, due 750.00; memo CNY 700.00 to A.
    assert {
        k: data[k]
        for k in ("licensee", "period", "currency", "royalty", "credit", "due", "open_license_fees")
    } == {
        "licensee": "L1",
        "period": "2025Q1",
        "currency": "USD",
        "royalty": "900.00",
        "credit": "150.00",
        "due": "750.00",
        "open_license_fees": [L1_MEMO],
    }
    c = pool.json("invoice", "--licensee", "C", "--period", "2025Q1", "--program", "XR")
    assert (c["royalty"], c["credit"], c["due"], c["open_license_fees"]) == ("850.00", "154.55", "695.45", [])
    unknown = pool.run("invoice", "--licensee", "ZZ", "--period", "2025Q1", expect=1)
    assert unknown.stderr == "Error: unknown member 'ZZ'\n"
    assert "has no invoice" in pool.run("invoice", "--licensee", "A", "--period", "2025Q1", expect=1).stderr

    rows = csv_rows(pool.run("invoice", "--licensee", "L1", "--period", "2025Q1", "-f", "csv").stdout)
    amounts = {r["item"]: (r["amount"], r["currency"]) for r in rows}
    assert amounts["royalty"] == ("900.00", "USD") and amounts["credit"] == ("150.00", "USD")
    assert amounts["due"] == ("750.00", "USD")
    memo = [item for item in amounts if "CN205123456U" in item]
    assert len(memo) == 1 and amounts[memo[0]] == ("700.00", "CNY")  # memo line, in its own currency

    table = pool.run("invoice", "--licensee", "L1", "--period", "2025Q1", "-f", "table").stdout
    for text in ("900.00", "150.00", "750.00", "700.00", "CNY", "CN205123456U"):
        assert text in table
    assert "\x1b[" not in table  # no colour off a terminal / with NO_COLOR

    out = pool.workdir / "invoice.json"
    pool.run("invoice", "--licensee", "L1", "--period", "2025Q1", "-f", "json", "-o", str(out))
    assert json.loads(out.read_text(encoding="utf-8")) == data


def test_statements_and_reconcile_of_the_worked_example(example_pool: Pool) -> None:
    pool = example_pool
    pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    checkpoint = pool.run("checkpoint").stdout
    # README: A is paid by L1 in CN only: CN/CN 128.57 + the JP line 21.43 = 150.00 for CN102345678B (its
    # utility model is under L1's open licence: credit). From C nothing (A's patents are cross-licensed to C).
    a = pool.json("statement", "--member", "A", "--period", "2025Q1")
    assert a == {
        "member": "A",
        "period": "2025Q1",
        "currency": "USD",
        "lines": [
            {
                "program": "XR",
                "licensee": "L1",
                "country": "CN",
                "patents": ["CN102345678B"],
                "gross": "150.00",
            }
        ],
        "gross": "150.00",
        "admin_fee": "15.00",
        "net": "135.00",
        "open_license_fees": [L1_MEMO],
        "patents": [
            {
                "patent": "CN102345678B",
                "country": "CN",
                "gross": "150.00",
                "admin_fee": "15.00",
                "net": "135.00",
            }
        ],
        "distributions": [],
        "checkpoint": checkpoint,
    }
    # B: L1 US 160.72 (the half cent of the US line goes to B, the lower id), L1 DE 128.57, C US 309.09;
    # B's CN103456789B was invalidated on 2025-02-15 and earns nothing. 598.38, fee 59.84, net 538.54.
    b = pool.json("statement", "--member", "B", "--period", "2025Q1")
    got = sorted((ln["licensee"], ln["country"], ln["patents"], ln["gross"]) for ln in b["lines"])
    assert got == [
        ("C", "US", ["US10123456B2"], "309.09"),
        ("L1", "DE", ["EP2345678B1"], "128.57"),
        ("L1", "US", ["US10123456B2"], "160.72"),
    ]
    assert (b["gross"], b["admin_fee"], b["net"], b["open_license_fees"]) == ("598.38", "59.84", "538.54", [])
    # A pure licensee has no pool lines.
    l1 = pool.json("statement", "--member", "L1", "--period", "2025Q1")
    assert (l1["lines"], l1["gross"], l1["net"]) == ([], "0.00", "0.00")

    rows = csv_rows(pool.run("statement", "--member", "A", "--period", "2025Q1", "-f", "csv").stdout)
    assert list(rows[0]) == ["row", "program", "licensee", "country", "patents", "gross", "memo", "currency"]
    # Totals are rows of their own, marked so: summing the `line` rows gives the gross row.
    assert sum(Decimal(r["gross"]) for r in rows if r["row"] == "line") == Decimal(
        next(r["gross"] for r in rows if r["row"] == "total" and r["licensee"] == "gross")
    )
    cells = [(r["licensee"], r["gross"]) for r in rows]
    assert ("L1", "150.00") in cells and ("gross", "150.00") in cells
    assert ("admin fee", "15.00") in cells and ("net", "135.00") in cells
    memo = [r for r in rows if r["program"] == "memo"]  # a memo line, not pool money
    assert [(r["memo"], r["currency"], r["gross"]) for r in memo] == [("700.00", "CNY", "")]
    assert {r["currency"] for r in rows if r["program"] != "memo"} == {"USD"}
    table = pool.run("statement", "--member", "A", "--period", "2025Q1", "-f", "table").stdout
    for text in ("CN102345678B", "150.00", "15.00", "135.00", "700.00", "CNY"):
        assert text in table

    # What does not exist is refused.
    assert pool.run("statement", "--member", "NOPE", "--period", "2025Q1", expect=1).stderr.startswith(
        "Error:"
    )
    assert pool.run("invoice", "--licensee", "B", "--period", "2025Q1", expect=1).stderr.startswith("Error:")
    assert pool.run("invoice", "--licensee", "L1", "--period", "2025Q2", expect=1).stderr.startswith("Error:")

    # Reconciliation of the example.
    data = pool.json("reconcile", "--period", "2025Q1", "--as-of", "2025-05-31")
    due_date = (date(2025, 3, 31) + timedelta(days=PAYMENT_TERM_DAYS)).isoformat()
    # payments.csv: L1 750.00 on 2025-04-28, C 695.45 on 2025-04-30: both settled, neither after the due date.
    assert {
        r["licensee"]: (r["invoiced"], r["paid"], r["balance"], r["days_late"], r["due_date"])
        for r in data["licensees"]
    } == {"L1": ("750.00", "750.00", "0.00", 0, due_date), "C": ("695.45", "695.45", "0.00", 0, due_date)}
    assert {r["member"]: (r["allocated"], r["distributed"], r["balance"]) for r in data["members"]} == {
        "A": ("135.00", "0.00", "135.00"),
        "B": ("538.54", "0.00", "538.54"),
        "C": ("627.36", "0.00", "627.36"),
    }
    assert (data["invariants"], data["problems"]) == ("ok", [])


# --- a small pool with late and partial payments ------------------------------------------------------------
def build_books_pool(pool: Pool) -> None:
    build_pool(
        pool,
        members_=("A,licensor", "B,licensor", "L1,licensee", "L2,licensee", "L3,licensee"),
        tiers="*:0.10",
        patents_=(
            f"{CN_A},A,CN,invention,2010-03-01,2013-05-08,,XR,,",
            f"{US_A},B,US,invention,2011-06-01,2018-11-13,,XR,,",
        ),
        licensees=("L1", "L2", "L3"),
    )
    reports(
        pool, "L1,XR,2025Q1,CN,CN,1000,1.00", "L2,XR,2025Q1,US,US,500,1.00", "L3,XR,2025Q1,CN,CN,200,1.00"
    )
    csv_import(
        pool,
        "payment",
        "licensee,date,amount,currency,reference",
        ["L1,2025-05-10,60.00,USD,L1-a", "L1,2025-05-25,40.00,USD,L1-b", "L2,2025-04-15,50.00,USD,L2-a"],
    )
    # T = units x 0.10: L1 100.00 and L3 20.00 -> A; L2 50.00 -> B.
    # A gross 120.00, fee 12.00, net 108.00; B gross 50.00, fee 5.00, net 45.00.
    assert pool.json("allocate", "--program", "XR", "--period", "2025Q1")["members"] == {
        "A": {"gross": "120.00", "admin_fee": "12.00", "net": "108.00"},
        "B": {"gross": "50.00", "admin_fee": "5.00", "net": "45.00"},
    }


def licensee_rows(data: dict[str, Any]) -> dict[str, tuple[str, str, str, int]]:
    return {
        r["licensee"]: (r["invoiced"], r["paid"], r["balance"], r["days_late"]) for r in data["licensees"]
    }


def member_rows(data: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {r["member"]: (r["allocated"], r["distributed"], r["balance"]) for r in data["members"]}


def test_reconcile_days_late_and_balances(pool: Pool) -> None:
    build_books_pool(pool)
    due_date = date(2025, 3, 31) + timedelta(days=PAYMENT_TERM_DAYS)
    # As of 2025-06-30: L1 paid 60.00 + 40.00, settled on 2025-05-25; L2 paid on time; L3 paid nothing.
    late_l1 = (date(2025, 5, 25) - due_date).days
    late_l3 = (date(2025, 6, 30) - due_date).days
    data = pool.json("reconcile", "--period", "2025Q1", "--as-of", "2025-06-30")
    assert licensee_rows(data) == {
        "L1": ("100.00", "100.00", "0.00", late_l1),
        "L2": ("50.00", "50.00", "0.00", 0),
        "L3": ("20.00", "0.00", "20.00", late_l3),
    }
    assert member_rows(data) == {"A": ("108.00", "0.00", "108.00"), "B": ("45.00", "0.00", "45.00")}
    assert (data["as_of"], data["invariants"], data["problems"]) == ("2025-06-30", "ok", [])
    assert all(r["due_date"] == due_date.isoformat() for r in data["licensees"])
    # Before the due date nothing is late.
    early = pool.json("reconcile", "--period", "2025Q1", "--as-of", "2025-04-20")
    assert {k: v[3] for k, v in licensee_rows(early).items()} == {"L1": 0, "L2": 0, "L3": 0}

    # `--as-of D` is the position on D: a payment dated after D is not yet received (reading of "as of").
    # On 2025-05-20 L1 has paid only the 60.00 of 2025-05-10: 40.00 open, late since the due date.
    data = pool.json("reconcile", "--period", "2025Q1", "--as-of", "2025-05-20")
    late = (date(2025, 5, 20) - due_date).days
    assert licensee_rows(data)["L1"] == ("100.00", "60.00", "40.00", late)
    assert licensee_rows(data)["L3"] == ("20.00", "0.00", "20.00", late)
    # On 2025-05-01 L1 had paid nothing yet.
    assert licensee_rows(pool.json("reconcile", "--period", "2025Q1", "--as-of", "2025-05-01"))["L1"][:3] == (
        "100.00",
        "0.00",
        "100.00",
    )

    rows = csv_rows(pool.run("reconcile", "--period", "2025Q1", "--as-of", "2025-06-30", "-f", "csv").stdout)
    by_party = {r["party"]: r for r in rows}
    assert (by_party["L3"]["owed"], by_party["L3"]["settled"], by_party["L3"]["balance"]) == (
        "20.00",
        "0.00",
        "20.00",
    )
    assert by_party["L3"]["days_late"] == str(late_l3)
    assert (by_party["A"]["owed"], by_party["A"]["balance"]) == ("108.00", "108.00")
    assert by_party["invariants"]["owed"] == "ok"
    table = pool.run("reconcile", "--period", "2025Q1", "--as-of", "2025-06-30", "-f", "table").stdout
    assert "108.00" in table and "ok" in table and str(late_l3) in table


def test_distribute_pays_balances_once_and_follows_adjustments(pool: Pool) -> None:
    # Spec 6 rule 12 (cash basis): L3 has paid nothing, so A is paid only on L1's 100.00 (fee 10.00).
    build_books_pool(pool)
    paid = pool.json("distribute", "--period", "2025Q1", "--date", "2025-07-15")
    assert {m: (f["collected"], f["pay"]) for m, f in paid["members"].items()} == {
        "A": ("100.00", "90.00"),
        "B": ("50.00", "45.00"),
    }
    logged = pool.json("log", "--kind", "distribution.add")
    assert [(d["body"]["member"], d["body"]["amount"], d["body"]["date"]) for d in logged] == [
        ("A", "90.00", "2025-07-15"),
        ("B", "45.00", "2025-07-15"),
    ]
    assert len({d["body"]["reference"] for d in logged}) == 2
    # A second run distributes nothing and appends nothing.
    size = pool.size_and_root()
    again = pool.run("distribute", "--period", "2025Q1", "--date", "2025-07-16", "-f", "json")
    assert (
        json.loads(again.stdout)["members"]["A"]["pay"] == "0.00" and "nothing to distribute" in again.stderr
    )
    assert pool.size_and_root() == size
    data = pool.json("reconcile", "--period", "2025Q1", "--as-of", "2025-07-31")
    assert member_rows(data) == {"A": ("108.00", "90.00", "18.00"), "B": ("45.00", "45.00", "0.00")}

    # A correction raises L3's royalty: 300 units -> 30.00; A gross 130.00, but L3 has still paid nothing.
    reports(pool, "L3,XR,2025Q1,CN,CN,300,1.00", correct=True)
    pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    assert (
        pool.json("distribute", "--period", "2025Q1", "--date", "2025-07-31")["members"]["A"]["pay"] == "0.00"
    )
    # L3 pays its 30.00: A collected 130.00, fee 13.00, net 117.00, paid 90.00: 27.00 more.
    pool.run(
        "payment", "add", "--licensee", "L3", "--amount", "30.00", "--date", "2025-08-01", "--ref", "L3-a"
    )
    rows = csv_rows(pool.run("distribute", "--period", "2025Q1", "--date", "2025-08-15", "-f", "csv").stdout)
    assert {r["member"]: r["pay"] for r in rows} == {"A": "27.00", "B": "0.00"}
    # A correction down: 100 units -> 10.00: 10.00 of L3's 30.00 is applied, 20.00 unapplied; A collected
    # 110.00, fee 11.00, net 99.00: 18.00 was paid out too much, recorded as a negative payout (claw-back).
    reports(pool, "L3,XR,2025Q1,CN,CN,100,1.00", correct=True)
    pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    claw = pool.json("distribute", "--period", "2025Q1", "--date", "2025-09-15")
    assert claw["members"]["A"]["pay"] == "-18.00" and claw["unapplied"] == {"L3": "20.00"}
    data = pool.json("reconcile", "--period", "2025Q1", "--as-of", "2025-09-30")
    assert member_rows(data) == {"A": ("99.00", "99.00", "0.00"), "B": ("45.00", "45.00", "0.00")}
    assert data["invariants"] == "ok"
    assert len({d["body"]["reference"] for d in pool.json("log", "--kind", "distribution.add")}) == 4


def test_a_books_replay_keeps_only_its_period_allocations(example_pool: Pool) -> None:
    # Statements and invoices replay the allocations of their period only (PostgreSQL searches the bytes
    # itself, SQLite hands them over and the replay checks them): the other period's must not leak in.
    pool = example_pool
    pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    quarter2 = "licensee,program,period,manufacture_country,sale_country,units,net_sales\n"
    pool.run("report", "import", str(pool.write("q2.csv", quarter2 + "L1,XR,2025Q2,CN,US,1200,1.00\n")))
    pool.run("allocate", "--program", "XR", "--period", "2025Q2")
    service = PoolService(pool.db, pool.key)
    for period in ("2025Q1", "2025Q2"):
        with service.read(kinds=BOOK_KINDS, needles=only_period(period)) as (state, _reader):
            assert list(state.allocations) == [("XR", period)]
    with service.read(kinds=BOOK_KINDS) as (state, _reader):
        assert sorted(state.allocations) == [("XR", "2025Q1"), ("XR", "2025Q2")]
