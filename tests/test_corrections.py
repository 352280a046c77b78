"""Issue 15, spec 4a and 9: corrections (`void`, `patent amend`), the business events that end things
(`license end`, `crosslicense end`, `member retire`, `program amend`) and future-dated facts, through the CLI
on both backends: each kind, each refusal with its exact error line and nothing written, the replay after the
correction, and `verify` (which replays through the same rules) of a ledger holding every kind.

Seqs of the worked example (conftest.build_example): members A=2 B=3 C=4 L1=5, program XR=6, patents 7-14
(US7654321B2=8, CN205123456U=9, US10123456B2=10, CN103456789B=12), status 15, cross-licence A,C 16,
declaration 17, take 18, grants L1=19 C=20, reports 21-22, payments 23-24.
"""

# ruff: noqa: E501
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from conftest import PASSPHRASE, PATENT_HEADER, Pool, members, program
from ledger_support import seeded_key

from ledger.keys import load_key
from ledger.log import Ledger
from patentpool.periods import Period

TODAY = datetime.now(UTC).date()


def size(pool: Pool) -> int:
    return pool.size_and_root()[0]


def refused(pool: Pool, *args: str) -> str:
    """Run a command that must be refused: exit 1, one `Error:` line (returned), nothing appended."""
    before = pool.size_and_root()
    result = pool.run(*args, expect=1)
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert pool.size_and_root() == before
    return lines[0]


def appended(pool: Pool, *args: str) -> list[int]:
    """Run a writing command; the seqs it appended."""
    before = size(pool)
    pool.run(*args)
    return list(range(before + 1, size(pool) + 1))


def entry(pool: Pool, seq: int) -> dict[str, Any]:
    found: list[dict[str, Any]] = pool.json("log", "--since", str(seq))
    return found[0]


def log_rows(pool: Pool) -> dict[int, dict[str, str]]:
    import csv
    import io

    text = pool.run("log", "--format", "csv").stdout
    return {int(row["seq"]): row for row in csv.DictReader(io.StringIO(text))}


def verify_ok(pool: Pool) -> dict[str, Any]:
    data: dict[str, Any] = pool.json("verify")
    assert data["result"] == "ok", data["problems"]
    return data


def allocate(pool: Pool, period: str = "2025Q1") -> dict[str, Any]:
    data: dict[str, Any] = pool.json("allocate", "--program", "XR", "--period", period)
    return data


# --- void ------------------------------------------------------------------------------------------------
def test_void_refuses_what_cannot_be_voided_with_one_line_naming_it(example_pool: Pool) -> None:
    pool = example_pool
    assert refused(pool, "void", "1", "--reason", "x") == (
        "Error: seqs: seq 1 (pool.genesis) cannot be voided: it founds the pool"
    )
    (key,) = appended(
        pool, "key", "add", "--vkey", str(seeded_key("pool.example/test", 7).verifier()), "--role", "auditor"
    )
    assert refused(pool, "void", str(key), "--reason", "x") == (
        f"Error: seqs: seq {key} (key.add) cannot be voided: keys are revoked (`key revoke`), never voided"
    )
    # What a later fact rests on: the error names that later entry, its kind and why it would break.
    assert refused(pool, "void", "3", "--reason", "x") == (
        "Error: seqs: seq 3 (member.add) cannot be voided: seq 10 (patent.add) rests on it (owner: unknown member 'B')"
    )
    assert refused(pool, "void", "12", "--reason", "x") == (
        "Error: seqs: seq 12 (patent.add) cannot be voided: seq 15 (patent.status) rests on it "
        "(number: unknown patent CN103456789B in CN)"
    )
    assert refused(pool, "void", "17", "--reason", "x") == (
        "Error: seqs: seq 17 (openlicense.declare) cannot be voided: seq 18 (openlicense.take) rests on it "
        "(number: CN205123456U has no open licence declaration at seq 17)"
    )
    assert refused(pool, "void", "3", "2", "--reason", "x") == (
        "Error: seqs: seqs 2-3 cannot be voided: seq 7 (patent.add) rests on them (owner: unknown member 'A')"
    )
    assert refused(pool, "void", "999", "--reason", "x") == (
        "Error: seqs: seq 999 does not exist (the ledger has 25 entries)"
    )
    assert refused(pool, "void", "20-30", "--reason", "x") == (
        "Error: seqs: seq 30 does not exist (the ledger has 25 entries)"
    )
    assert refused(pool, "void", "12a", "--reason", "x") == (
        "Error: seqs: '12a' is not a seq or a range like 120-180"
    )
    # The reason is required (spec 9): exit 1 with one line, not a usage error.
    assert refused(pool, "void", "24") == (
        "Error: reason: missing: say why (--reason TEXT); the ledger keeps it with the entry"
    )
    assert refused(pool, "void", "24", "--reason", "  ") == (
        "Error: reason: missing: say why (--reason TEXT); the ledger keeps it with the entry"
    )
    # A report line superseded by a report.correct.
    fix = pool.write(
        "fix.csv",
        "licensee,program,period,manufacture_country,sale_country,units,net_sales\nL1,XR,2025Q1,CN,CN,3100,558000.00\n",
    )
    assert appended(pool, "report", "import", str(fix), "--correct") == [26]
    assert refused(pool, "void", "21", "--reason", "x") == (
        "Error: seqs: seq 21 (report.add) cannot be voided: seq 26 (report.correct) rests on it "
        "(sale_country: nothing to correct: CN/CN was never reported)"
    )
    # Allocations and distributions are never voided.
    # One part per member with a share and per licensee, then the summary (spec 8a).
    allocated = appended(pool, "allocate", "--program", "XR", "--period", "2025Q1")
    assert allocated == list(range(27, allocated[-1] + 1)) and len(allocated) > 1
    summary = allocated[-1]
    assert refused(pool, "void", str(summary), "--reason", "x") == (
        f"Error: seqs: seq {summary} (allocation.run) cannot be voided: allocations are never voided; a void "
        "of what they read makes them stale, and `allocate` brings them up to date"
    )
    assert refused(pool, "void", "27", "--reason", "x").startswith(
        "Error: seqs: seq 27 (allocation.part) cannot be voided: allocations are never voided"
    )
    paid = appended(pool, "distribute", "--period", "2025Q1", "--program", "XR", "--date", "2025-06-30")
    assert paid
    assert refused(pool, "void", str(paid[0]), "--reason", "x") == (
        f"Error: seqs: seq {paid[0]} (distribution.add) cannot be voided: money paid out is never voided; "
        "the next `distribute` settles any difference"
    )
    # An entry already void.
    void = appended(pool, "void", "24", "--reason", "bounced")[0]
    assert refused(pool, "void", "23-24", "--reason", "x") == (
        f"Error: seqs: seq 24 (payment.add) is already void (seq {void})"
    )


def test_void_replays_as_never_made_and_a_void_of_the_void_undoes_it(example_pool: Pool) -> None:
    pool = example_pool
    # A payment entered with the wrong amount: voided, then entered again under the same reference.
    (void,) = appended(pool, "void", "23", "--reason", "amount mistyped: 570.00 for 750.00")
    assert entry(pool, void)["body"] == {"seqs": [[23, 23]], "reason": "amount mistyped: 570.00 for 750.00"}
    assert [p["seq"] for p in pool.json("payment", "list")] == [24]
    appended(
        pool,
        "payment",
        "add",
        "--licensee",
        "L1",
        "--amount",
        "750.00",
        "--date",
        "2025-04-28",
        "--ref",
        "L1-2025Q1",
    )
    assert [(p["seq"], p["amount"]) for p in pool.json("payment", "list")] == [
        (24, "695.45"),
        (void + 1, "750.00"),
    ]
    rows = log_rows(pool)
    assert rows[23]["void"] == f"voided by seq {void}"
    assert rows[24]["void"] == ""
    assert rows[void]["summary"].startswith("seqs=23, reason=amount mistyped")
    # The JSON log stays each entry exactly as stored.
    assert "void" not in entry(pool, 23)

    # A member added by mistake, voided, and the void voided: the member is back.
    (added,) = appended(pool, "member", "add", "Z", "--name", "Zed Labs", "--role", "licensor")
    (v1,) = appended(pool, "void", str(added), "--reason", "added to the wrong pool")
    assert "Z" not in [m["id"] for m in pool.json("member", "list")]
    (v2,) = appended(pool, "void", str(v1), "--reason", "it was the right pool after all")
    assert "Z" in [m["id"] for m in pool.json("member", "list")]
    rows = log_rows(pool)
    assert rows[added]["void"] == ""
    assert rows[v1]["void"] == f"voided by seq {v2}"
    # Voiding the void of the void voids the member again.
    (v3,) = appended(pool, "void", str(v2), "--reason", "no, wrong pool")
    assert "Z" not in [m["id"] for m in pool.json("member", "list")]
    assert log_rows(pool)[added]["void"] == f"voided by seq {v1}"
    # Once another Z is added, un-voiding the first would make two: refused, naming the later one.
    (again,) = appended(pool, "member", "add", "Z", "--name", "Zed Labs GmbH", "--role", "licensor")
    assert refused(pool, "void", str(v3), "--reason", "x") == (
        f"Error: seqs: seq {v3} (entry.void) cannot be voided: seq {again} (member.add) rests on it "
        "(id: member 'Z' already exists)"
    )
    assert [m["name"] for m in pool.json("member", "list") if m["id"] == "Z"] == ["Zed Labs GmbH"]
    verify_ok(pool)


def test_a_whole_import_is_voided_as_one_entry_and_can_be_imported_again(pool: Pool) -> None:
    members(pool, "A,Aurora,licensor")
    program(pool, "1000:0,*:0.10")
    text = (
        f"{PATENT_HEADER}\n"
        "CN102345678B,A,CN,invention,2012-03-01,2013-05-08,,XR,Waveguide,\n"
        "CN110123456B,A,CN,invention,2015-06-01,2019-09-10,,XR,Audio,\n"
        "CN103456789B,A,CN,invention,2013-04-01,2016-08-17,,XR,Eye tracking,\n"
    )
    seqs = appended(pool, "patent", "import", str(pool.write("patents.csv", text)))
    assert len(seqs) == 3
    (void,) = appended(pool, "void", f"{seqs[0]}-{seqs[-1]}", "--reason", "wrong file")
    assert entry(pool, void)["body"]["seqs"] == [[seqs[0], seqs[-1]]]
    assert pool.json("patent", "list") == []
    # Replay treats the import as never made, so the same file imports again.
    again = appended(pool, "patent", "import", str(pool.write("patents.csv", text)))
    assert len(again) == 3
    assert len(pool.json("patent", "list")) == 3
    verify_ok(pool)


# --- patent amend ------------------------------------------------------------------------------------------
def test_patent_amend_corrects_facts_for_every_date_and_the_allocation_follows(example_pool: Pool) -> None:
    pool = example_pool
    before = allocate(pool)
    # US7654321B2 was entered filed 2005-02-10, so it expired 2025-02-10 and did not count in 2025Q1.
    # It was filed a year later: the term's end is recomputed from the amended filing date.
    (seq,) = appended(
        pool, "patent", "amend", "US7654321B2", "--filed", "2006-02-10", "--reason", "filing year mistyped"
    )
    body = entry(pool, seq)["body"]
    assert body == {
        "number": "US7654321B2",
        "country": "US",
        "filed": "2006-02-10",
        "expires": "2026-02-10",
        "expires_given": False,
        "reason": "filing year mistyped",
    }
    listed = {p["number"]: p for p in pool.json("patent", "list")}
    assert listed["US7654321B2"]["expires"] == "2026-02-10"
    shown = pool.json("patent", "show", "US7654321B2")
    assert shown["amendments"] == [
        {
            "seq": seq,
            "country": "US",
            "filed": "2006-02-10",
            "expires": "2026-02-10",
            "expires_given": False,
            "reason": "filing year mistyped",
            "void": "",
        }
    ]
    assert (
        shown["history"][-1]["event"]
        == "amended: filed 2006-02-10, expires 2026-02-10 (reason: filing year mistyped)"
    )
    # Allocating again uses the amended facts: A now has a counting US patent, so its gross grows, and C,
    # which holds A's patents under the cross-licence, is credited for it.
    after = allocate(pool)
    assert entry(pool, size(pool))["kind"] == "allocation.adjust"
    assert Decimal(after["members"]["A"]["gross"]) > Decimal(before["members"]["A"]["gross"])
    assert Decimal(after["invoices"]["C"]["credit"]) > Decimal(before["invoices"]["C"]["credit"])
    verify_ok(pool)
    # Refusals, each one line, nothing written.
    assert refused(pool, "patent", "amend", "US7654321B2", "--filed", "2007-01-01") == (
        "Error: reason: missing: say why (--reason TEXT); the ledger keeps it with the entry"
    )
    assert refused(pool, "patent", "amend", "US7654321B2", "--filed", "2006-02-10", "--reason", "x") == (
        "Error: number: the amendment changes nothing: US7654321B2 already has these facts"
    )
    assert refused(pool, "patent", "amend", "US7654321B2", "--granted", "2005-01-01", "--reason", "x") == (
        "Error: granted: 2005-01-01 is before the filing date 2006-02-10"
    )
    assert refused(pool, "patent", "amend", "US7654321B2", "--program", "NOPE", "--reason", "x") == (
        "Error: program: unknown program 'NOPE'"
    )
    assert refused(pool, "patent", "amend", "US7654321B2", "--reason", "x") == (
        "Error: number: nothing to amend: give --filed, --granted, --expires, --type, --title, --weight..."
    )
    # What is recorded on the patent stays valid: its status of 2025-02-15 cannot precede its filing.
    assert refused(
        pool,
        "patent",
        "amend",
        "CN103456789B",
        "--filed",
        "2025-03-01",
        "--granted",
        "2025-04-01",
        "--reason",
        "x",
    ) == ("Error: filed: 2025-03-01 is after the effective date 2025-02-15 of seq 15 on this patent")
    # The open licence on CN205123456U runs to 2026-05-09: an expiry before that is refused.
    assert refused(pool, "patent", "amend", "CN205123456U", "--expires", "2026-01-01", "--reason", "x") == (
        "Error: expires: 2026-01-01 would end the patent before its open licence (seq 17) ends"
    )


def test_patent_amend_keeps_a_given_expiry_and_is_voidable(pool: Pool) -> None:
    members(pool, "A,Aurora,licensor")
    pool.run(
        "patent",
        "add",
        "CN102345678B",
        "--owner",
        "A",
        "--country",
        "CN",
        "--type",
        "invention",
        "--filed",
        "2012-03-01",
        "--expires",
        "2030-01-01",
    )
    (seq,) = appended(
        pool, "patent", "amend", "CN102345678B", "--filed", "2022-03-01", "--weight", "2", "--reason", "typo"
    )
    assert entry(pool, seq)["body"] == {
        "number": "CN102345678B",
        "country": "CN",
        "filed": "2022-03-01",
        "weight": "2",
        "reason": "typo",
    }
    (patent,) = pool.json("patent", "list")
    assert (patent["expires"], patent["weight"]) == ("2030-01-01", "2")
    (void,) = appended(pool, "void", str(seq), "--reason", "the first filing date was right")
    (patent,) = pool.json("patent", "list")
    assert (patent["expires"], patent["weight"]) == ("2030-01-01", "1")
    assert pool.json("patent", "show", "CN102345678B")["amendments"][0]["void"] == f"voided by seq {void}"
    verify_ok(pool)


# --- license end, crosslicense end -------------------------------------------------------------------------
REPORT_HEADER = "licensee,program,period,manufacture_country,sale_country,units,net_sales\n"


def test_license_end_refuses_reports_after_it(example_pool: Pool) -> None:
    pool = example_pool
    q2 = pool.write("q2.csv", REPORT_HEADER + "C,XR,2025Q2,CN,CN,100,20000.00\n")
    pool.run("report", "import", str(q2))
    assert refused(pool, "license", "end", "--licensee", "C", "--program", "XR", "--to", "2025-03-31") == (
        f"Error: to: C already reported 2025Q2 (seq {size(pool)}), which starts after 2025-03-31"
    )
    assert refused(pool, "license", "end", "--licensee", "L1", "--program", "XR", "--to", "2024-12-31") == (
        "Error: to: 2024-12-31 is before the licence starts (2025-01-01)"
    )
    assert refused(pool, "license", "end", "--licensee", "L1", "--program", "NOPE", "--to", "2025-03-31") == (
        "Error: licensee: L1 holds no NOPE licence"
    )
    (seq,) = appended(
        pool,
        "license",
        "end",
        "--licensee",
        "L1",
        "--program",
        "XR",
        "--to",
        "2025-03-31",
        "--reason",
        "contract ended",
    )
    assert entry(pool, seq)["body"] == {
        "licensee": "L1",
        "program": "XR",
        "to": "2025-03-31",
        "reason": "contract ended",
    }
    assert [(r["licensee"], r["to"]) for r in pool.json("license", "list") if r["type"] == "pool"] == [
        ("L1", "2025-03-31"),
        ("C", None),
    ]
    assert refused(pool, "license", "end", "--licensee", "L1", "--program", "XR", "--to", "2025-06-30") == (
        "Error: licensee: L1's XR licence already ended on 2025-03-31"
    )
    late = pool.write("late.csv", REPORT_HEADER + "L1,XR,2025Q2,CN,CN,100,20000.00\n")
    line = refused(pool, "report", "import", str(late))
    assert line.endswith(
        "late.csv:2: period: 2025Q2 starts after L1's XR licence ended (2025-03-31); nothing was written"
    )
    verify_ok(pool)


def test_crosslicense_end_changes_what_it_covers_from_the_day_after(example_pool: Pool) -> None:
    pool = example_pool
    before = allocate(pool)
    assert (
        refused(pool, "crosslicense", "end", "99", "--to", "2025-02-28")
        == "Error: seq: no cross-licence at seq 99"
    )
    assert refused(pool, "crosslicense", "end", "16", "--to", "2023-12-31") == (
        "Error: to: 2023-12-31 is before the cross-licence starts (2024-01-01)"
    )
    (seq,) = appended(pool, "crosslicense", "end", "16", "--to", "2025-02-28")
    assert entry(pool, seq)["body"] == {"seq": 16, "to": "2025-02-28", "reason": None}
    assert [c["to"] for c in pool.json("crosslicense", "list")] == ["2025-02-28"]
    assert refused(pool, "crosslicense", "end", "16", "--to", "2025-01-31") == (
        f"Error: seq: the cross-licence already ended on 2025-02-28 (seq {seq})"
    )
    # On 2025-03-31 C no longer holds A's patents under licence: no credit for them, A is paid instead.
    after = allocate(pool)
    assert after["invoices"]["C"]["credit"] == "0.00"
    assert before["invoices"]["C"]["credit"] != "0.00"
    assert Decimal(after["members"]["A"]["gross"]) > Decimal(before["members"]["A"]["gross"])
    verify_ok(pool)


# --- member retire -----------------------------------------------------------------------------------------
def test_member_retire_only_once_it_owns_nothing_and_holds_no_running_licence(example_pool: Pool) -> None:
    pool = example_pool
    assert refused(pool, "member", "retire", "C", "--effective", "2025-07-01") == (
        "Error: id: member 'C' cannot retire: it owns US11234567B1 (US), CN110123456B (CN) (transfer them first); "
        "it holds pool licence XR (seq 20), cross-licence seq 16 running on 2025-07-01 (end them first)"
    )
    pool.run("license", "end", "--licensee", "L1", "--program", "XR", "--to", "2025-06-30")
    assert refused(pool, "member", "retire", "L1", "--effective", "2025-07-01") == (
        "Error: id: member 'L1' cannot retire: it holds open licence of CN205123456U (seq 18) running on 2025-07-01 (end them first)"
    )
    assert (
        refused(pool, "member", "retire", "NOPE", "--effective", "2025-07-01")
        == "Error: id: unknown member 'NOPE'"
    )
    pool.run("member", "add", "Z", "--name", "Zed Labs", "--role", "licensor")
    (seq,) = appended(pool, "member", "retire", "Z", "--effective", "2025-07-01", "--reason", "left the pool")
    assert entry(pool, seq)["body"] == {"id": "Z", "effective": "2025-07-01", "reason": "left the pool"}
    assert {m["id"]: m["retired"] for m in pool.json("member", "list")} == {
        "A": None,
        "B": None,
        "C": None,
        "L1": None,
        "Z": "2025-07-01",
    }
    assert refused(pool, "member", "retire", "Z", "--effective", "2025-08-01") == (
        f"Error: id: member 'Z' already retired from 2025-07-01 (seq {seq})"
    )
    # A retired member gets no new facts from its retirement on.
    assert refused(
        pool,
        "patent",
        "add",
        "CN111111111B",
        "--owner",
        "Z",
        "--country",
        "CN",
        "--type",
        "invention",
        "--filed",
        "2020-01-01",
    ) == (f"Error: owner: member 'Z' retired from 2025-07-01 (seq {seq})")
    assert refused(pool, "patent", "transfer", "CN102345678B", "--to", "Z", "--effective", "2025-07-01") == (
        f"Error: to: member 'Z' retired from 2025-07-01 (seq {seq})"
    )
    # Before the date it still could have: a transfer effective earlier is a fact of its membership.
    pool.run("patent", "transfer", "CN102345678B", "--to", "Z", "--effective", "2025-06-01")
    verify_ok(pool)


# --- program amend -----------------------------------------------------------------------------------------
def test_program_amend_applies_from_its_period_to_year_to_date_figures_whole(example_pool: Pool) -> None:
    pool = example_pool
    q1 = allocate(pool)
    assert refused(pool, "program", "amend", "XR", "--from-period", "2025H2", "--admin-fee", "20") == (
        "Error: from_period: program XR runs by quarter, not 2025H2"
    )
    assert refused(pool, "program", "amend", "XR", "--from-period", "2025Q2") == (
        "Error: tiers: nothing to amend: give --tiers, --annual-cap or --admin-fee"
    )
    assert refused(pool, "program", "amend", "XR", "--from-period", "2025Q2", "--admin-fee", "10") == (
        "Error: from_period: the amendment changes nothing: these are the terms of 2025Q2"
    )
    (seq,) = appended(
        pool,
        "program",
        "amend",
        "XR",
        "--from-period",
        "2025Q2",
        "--tiers",
        "*:0.50",
        "--annual-cap",
        "none",
        "--admin-fee",
        "20",
        "--reason",
        "new price list",
    )
    assert entry(pool, seq)["body"] == {
        "name": "XR",
        "from_period": "2025Q2",
        "tiers": "*:0.5",
        "annual_cap": None,
        "admin_fee": "20",
        "reason": "new price list",
    }
    assert refused(pool, "program", "amend", "XR", "--from-period", "2025Q1", "--admin-fee", "15") == (
        f"Error: from_period: an amendment from 2025Q2 is already recorded (seq {seq}): amendments go in period order"
    )
    # 2025Q1 keeps its terms: allocating it again appends nothing.
    assert appended(pool, "allocate", "--program", "XR", "--period", "2025Q1") == []
    assert allocate(pool) == q1
    # 2025Q2: L1's 7,000 bearing units of Q1 and 100 of Q2 under the new schedule, both R(before) and
    # R(through): 7,100 x 0.50 - 7,000 x 0.50 = 50.00 (under the old schedule the cap of 900.00 was reached
    # in Q1 and Q2 would cost nothing). The admin fee is the new 20%.
    pool.run(
        "report", "import", str(pool.write("q2.csv", REPORT_HEADER + "L1,XR,2025Q2,CN,CN,100,20000.00\n"))
    )
    q2 = allocate(pool, "2025Q2")
    assert q2["invoices"]["L1"]["royalty"] == "50.00"
    for figures in q2["members"].values():
        gross = int(figures["gross"].replace(".", ""))
        assert int(figures["admin_fee"].replace(".", "")) == (gross * 20 + 50) // 100
    assert entry(pool, size(pool))["body"]["schedule"] == {
        "tiers": "*:0.5",
        "annual_cap": None,
        "admin_fee": "20",
    }
    verify_ok(pool)


# --- future-dated facts --------------------------------------------------------------------------------------
def test_future_dated_facts_are_refused_with_one_line(example_pool: Pool) -> None:
    pool = example_pool
    soon, later = TODAY + timedelta(days=1), TODAY + timedelta(days=2)
    future = f"{later} is in the future (today is {TODAY}): a fact is recorded once it has happened"
    assert refused(
        pool,
        "payment",
        "add",
        "--licensee",
        "L1",
        "--amount",
        "20000.00",
        "--date",
        "2062-04-28",
        "--ref",
        "typo",
    ) == (
        f"Error: date: 2062-04-28 is in the future (today is {TODAY}): a fact is recorded once it has happened"
    )
    assert (
        refused(
            pool, "payment", "add", "--licensee", "L1", "--amount", "1.00", "--date", str(later), "--ref", "x"
        )
        == f"Error: date: {future}"
    )
    # A day of slack for time zones.
    pool.run(
        "payment", "add", "--licensee", "L1", "--amount", "1.00", "--date", str(soon), "--ref", "tomorrow"
    )
    assert (
        refused(pool, "patent", "status", "US10123456B2", "lapsed", "--effective", str(later))
        == f"Error: effective: {future}"
    )
    assert (
        refused(pool, "patent", "transfer", "US10123456B2", "--to", "A", "--effective", str(later))
        == f"Error: effective: {future}"
    )
    pool.run(
        "openlicense",
        "declare",
        "CN102345678B",
        "--fee",
        "0.05/unit",
        "--currency",
        "CNY",
        "--from",
        "2025-01-01",
        "--to",
        "2029-12-31",
    )
    assert (
        refused(pool, "openlicense", "take", "CN102345678B", "--licensee", "L1", "--notice-date", str(later))
        == f"Error: notice_date: {future}"
    )
    payments = pool.write("pay.csv", f"licensee,date,amount,currency,reference\nC,{later},5.00,USD,C-late\n")
    line = refused(pool, "payment", "import", str(payments))
    assert line.endswith(f"pay.csv:2: date: {future}; nothing was written")
    # A report for a period that has not ended.
    current = Period.parse(f"{TODAY.year}Q{(TODAY.month - 1) // 3 + 1}")
    report = pool.write("now.csv", REPORT_HEADER + f"L1,XR,{current},CN,CN,10,100.00\n")
    line = refused(pool, "report", "import", str(report))
    assert line.endswith(
        f"now.csv:2: period: {current} has not ended (its last day is {current.end}): report it once it has; nothing was written"
    )
    verify_ok(pool)


# --- verify --------------------------------------------------------------------------------------------------
def test_verify_replays_a_ledger_holding_every_correction_kind(example_pool: Pool, tmp_path: Any) -> None:
    pool = example_pool
    allocate(pool)
    pool.run("patent", "amend", "US7654321B2", "--filed", "2006-02-10", "--reason", "filing year mistyped")
    pool.run("crosslicense", "end", "16", "--to", "2025-02-28")
    pool.run("program", "amend", "XR", "--from-period", "2025Q2", "--admin-fee", "12")
    pool.run("member", "add", "Z", "--name", "Zed Labs", "--role", "licensor")
    pool.run("member", "retire", "Z", "--effective", "2025-03-01")
    (v1,) = appended(pool, "void", "24", "--reason", "bounced")
    appended(pool, "void", str(v1), "--reason", "it cleared after all")
    pool.run("license", "end", "--licensee", "L1", "--program", "XR", "--to", "2025-06-30")
    allocate(pool)  # the amendment and the cross-licence's end change 2025Q1: allocation.adjust
    kinds = {e["kind"] for e in pool.json("log")}
    assert {
        "entry.void",
        "patent.amend",
        "license.end",
        "crosslicense.end",
        "member.retire",
        "program.amend",
        "allocation.adjust",
    } <= kinds
    data = verify_ok(pool)
    assert data["allocations_recomputed"] == 2
    export = tmp_path / "export.jsonl"
    pool.run("export", "-o", str(export))
    (tmp_path / "cp.txt").write_text(pool.run("checkpoint").stdout, encoding="utf-8")
    data = pool.json("verify", "--from-export", str(export), "--checkpoint", str(tmp_path / "cp.txt"))
    assert data["result"] == "ok", data["problems"]


def test_verify_rejects_a_void_that_breaks_a_later_fact(example_pool: Pool) -> None:
    pool = example_pool
    # Appended with the ledger's own API, past the pool's validators: verify replays the same rules.
    with Ledger.open(pool.db).append(load_key(pool.key, PASSPHRASE)) as appender:
        bad = appender.append("entry.void", {"seqs": [[3, 3]], "reason": "forged"}).seq
    result = pool.run("verify", "--format", "json", expect=1)
    assert json.loads(result.stdout)["problems"] == [
        f"seq {bad}: entry.void: seqs: seq 3 (member.add) cannot be voided: seq 10 (patent.add) rests on it "
        "(owner: unknown member 'B')"
    ]


def test_verify_judges_future_dates_against_the_day_an_entry_was_recorded(example_pool: Pool) -> None:
    pool = example_pool
    later = (TODAY + timedelta(days=30)).isoformat()
    with Ledger.open(pool.db).append(load_key(pool.key, PASSPHRASE)) as appender:
        bad = appender.append(
            "payment.add",
            {"licensee": "L1", "date": later, "amount": "5.00", "currency": "USD", "reference": "forged"},
        ).seq
    problems = json.loads(pool.run("verify", "--format", "json", expect=1).stdout)["problems"]
    assert len(problems) == 1 and problems[0].startswith(
        f"seq {bad}: payment.add: date: {later} is in the future"
    )


def test_a_correction_makes_the_allocation_stale_and_bundles_verify_the_corrected_facts(
    example_pool: Pool, tmp_path: Any
) -> None:
    pool = example_pool
    allocate(pool)
    run_seq = size(pool)
    (void,) = appended(pool, "void", "22", "--reason", "C's report belonged to another licence")
    stale = (
        f"Error: the allocation of XR 2025Q1 (seq {run_seq}) is stale: entries appended since change its figures; "
        "run `patentpool allocate --program XR --period 2025Q1`"
    )
    assert refused(pool, "invoice", "--licensee", "L1", "--period", "2025Q1") == stale
    after = allocate(pool)
    assert "C" not in after["invoices"]
    # Un-voiding brings C's report back.
    pool.run("void", str(void), "--reason", "it was C's after all")
    pool.run("patent", "amend", "US7654321B2", "--filed", "2006-02-10", "--reason", "filing year mistyped")
    pool.run(
        "program", "amend", "XR", "--from-period", "2025Q1", "--admin-fee", "15", "--reason", "board decision"
    )
    final = allocate(pool)
    assert "C" in final["invoices"]
    gross = int(final["members"]["A"]["gross"].replace(".", ""))
    assert int(final["members"]["A"]["admin_fee"].replace(".", "")) == (gross * 15 + 50) // 100
    vkey = pool.run("key", "show").stdout.strip()
    for member in ("A", "B", "C"):
        bundle = tmp_path / f"{member}.json"
        pool.run("statement", "--member", member, "--period", "2025Q1", "--bundle", str(bundle))
        result = pool.run("verify-statement", str(bundle), "--vkey", vkey)
        assert "VERDICT: statement verified" in result.stdout
    verify_ok(pool)


def test_patent_amend_owners_corrects_the_owners_it_was_added_with(example_pool: Pool, tmp_path: Any) -> None:
    """Spec 4a: `patent amend --owners`. EP2345678B1 (DE) was added as B's; it was B's and C's from the start.
    The allocation follows (both now hold weight in DE), C's bundle proves the patent is C's by its parts, and
    the refusals are one line each."""
    pool = example_pool
    before = allocate(pool)
    pool.run("patent", "amend", "EP2345678B1", "--owners", "B:50,C:50", "--reason", "co-owned from filing")
    shown = pool.json("patent", "show", "EP2345678B1")
    assert [c["owner"] for c in shown["countries"]] == ["B:50,C:50"]
    assert "amended: owners B:50,C:50 (reason: co-owned from filing)" in json.dumps(shown)
    after = allocate(pool)
    assert after["members"]["C"]["gross"] != before["members"]["C"]["gross"]
    statement = pool.json("statement", "--member", "C", "--period", "2025Q1")
    assert "EP2345678B1" in {p["patent"] for p in statement["patents"]}
    vkey = pool.run("key", "show").stdout.strip()
    bundle = tmp_path / "C.json"
    pool.run("statement", "--member", "C", "--period", "2025Q1", "--bundle", str(bundle))
    assert "VERDICT: statement verified" in pool.run("verify-statement", str(bundle), "--vkey", vkey).stdout
    # Refusals: an unknown member, a licensee only, no change, and owners already changed from a date.
    assert refused(pool, "patent", "amend", "EP2345678B1", "--owners", "B:50,Q:50", "--reason", "x") == (
        "Error: owners: unknown member 'Q'"
    )
    assert "L1" in refused(pool, "patent", "amend", "EP2345678B1", "--owners", "B:50,L1:50", "--reason", "x")
    assert "changes nothing" in refused(
        pool, "patent", "amend", "EP2345678B1", "--owners", "B:50,C:50", "--reason", "x"
    )
    pool.run("patent", "transfer", "US11234567B1", "--to", "A", "--effective", "2025-02-01")
    assert refused(pool, "patent", "amend", "US11234567B1", "--owners", "B", "--reason", "x").startswith(
        "Error: owners: US11234567B1 (US) changed owners on 2025-02-01 (seq "
    )
    verify_ok(pool)


def test_patent_show_of_a_voided_patent_shows_its_history_marked_void(pool: Pool) -> None:
    members(pool, "A,Aurora,licensor")
    (added,) = appended(
        pool,
        "patent",
        "add",
        "CN102345678B",
        "--owner",
        "A",
        "--country",
        "CN",
        "--type",
        "invention",
        "--filed",
        "2012-03-01",
    )
    (void,) = appended(pool, "void", str(added), "--reason", "not a pool patent")
    shown = pool.json("patent", "show", "CN102345678B")
    assert shown["countries"] == []
    assert [(h["seq"], h["void"]) for h in shown["history"]] == [(added, f"voided by seq {void}")]
    assert refused(pool, "patent", "show", "CN109999999B") == "Error: number: unknown patent CN109999999B"
    assert refused(pool, "patent", "amend", "CN102345678B", "--weight", "2", "--reason", "x") == (
        "Error: number: unknown patent CN102345678B"
    )


def test_after_a_void_the_allocation_is_the_one_of_a_ledger_that_never_had_the_entries(
    example_pool: Pool,
) -> None:
    pool = example_pool
    pristine = allocate(pool)
    # A patent added to the wrong program's owner and a report line for the wrong licence, by mistake.
    (patent,) = appended(
        pool,
        "patent",
        "add",
        "US9999999B2",
        "--owner",
        "B",
        "--country",
        "US",
        "--type",
        "invention",
        "--filed",
        "2015-01-01",
        "--granted",
        "2018-01-01",
        "--program",
        "XR",
    )
    extra = appended(
        pool,
        "report",
        "import",
        str(pool.write("kr.csv", REPORT_HEADER + "L1,XR,2025Q1,CN,KR,900,90000.00\n")),
    )
    wrong = allocate(pool)
    assert wrong["members"] != pristine["members"] and wrong["invoices"] != pristine["invoices"]
    pool.run("void", str(patent), *map(str, extra), "--reason", "entered in the wrong pool")
    fixed = allocate(pool)
    assert (fixed["members"], fixed["invoices"], fixed["total"]) == (
        pristine["members"],
        pristine["invoices"],
        pristine["total"],
    )
    verify_ok(pool)
