"""Issue 3, pool administration through the CLI: members, programs, patents (numbers, expiry, status,
transfers), open licences, cross-licences, pool and direct licences, and the read commands that show them.

Every test runs on SQLite and PostgreSQL. Tests that write use the function-scoped `pool`; the read-command
format checks share one populated pool per backend (they never write).
"""

# ruff: noqa: E501
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSPHRASE, Pool, open_licence, shared_pool

from ledger.keys import load_key
from ledger.log import Ledger

MEMBERS_CSV = """id,name,role
A,Aurora Optics Co.,licensor
B,Beacon Semiconductor Ltd.,licensor
C,Cobalt Devices Inc.,both
L1,Lumen Headsets Co.,licensee
L2,Lattice Wearables,licensee
"""


def members_and_program(pool: Pool) -> None:
    pool.run("member", "import", str(pool.write("members.csv", MEMBERS_CSV)))
    pool.run("program", "add", "XR", "--currency", "USD", "--tiers", "1000:0,5000:0.20,*:0.10")


def add_patent(
    pool: Pool, number: str, owner: str, country: str, type_: str, filed: str, *extra: str
) -> None:
    pool.run(
        "patent",
        "add",
        number,
        "--owner",
        owner,
        "--country",
        country,
        "--type",
        type_,
        "--filed",
        filed,
        *extra,
    )


def patents_by_key(pool: Pool, *args: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(p["number"], p["country"]): p for p in pool.json("patent", "list", *args)}


def ledger(pool: Pool, kind: str) -> list[dict[str, Any]]:
    """The entries of one kind as stored in the ledger (the source of truth), oldest first."""
    entries: list[dict[str, Any]] = pool.json("log", "--kind", kind)
    return entries


def appended(pool: Pool, *args: str) -> int:
    """Run a writing command and return how many entries it appended."""
    before = pool.size_and_root()[0]
    pool.run(*args)
    return pool.size_and_root()[0] - before


# --- patent numbers and expiry -----------------------------------------------------------------------------
def test_patent_numbers_are_stored_normalised_and_expiry_follows_type_and_filing(pool: Pool) -> None:
    members_and_program(pool)
    add_patent(
        pool,
        "us 10,123,456 b2",
        "A",
        "US",
        "invention",
        "2011-06-01",
        "--granted",
        "2018-11-13",
        "--program",
        "XR",
        "--title",
        "Low-latency display pipeline",
    )
    add_patent(
        pool, "ep 345678 b1", "B", "de", "invention", "2009-09-15"
    )  # EP zero-padded, country upper-cased
    add_patent(pool, "CN 201234567 U", "A", "CN", "utility", "2016-02-29")  # 10 years, 29 Feb -> 28 Feb
    add_patent(pool, "CN305123456S", "A", "CN", "design", "2021-06-01")  # filed from 2021-06-01: 15 years
    add_patent(pool, "CN305123457S", "A", "CN", "design", "2021-05-31")  # filed before: 10 years
    add_patent(pool, "CN102345678B", "C", "CN", "invention", "2010-03-01", "--expires", "2033-01-15")  # wins
    add_patent(pool, "usd 912,345 s", "C", "US", "design", "2019-03-01", "--expires", "2034-03-01")

    got = patents_by_key(pool)
    assert {key: p["expires"] for key, p in got.items()} == {
        ("US10123456B2", "US"): "2031-06-01",
        ("EP0345678B1", "DE"): "2029-09-15",
        ("CN201234567U", "CN"): "2026-02-28",
        ("CN305123456S", "CN"): "2036-06-01",
        ("CN305123457S", "CN"): "2031-05-31",
        ("CN102345678B", "CN"): "2033-01-15",
        ("USD912345S", "US"): "2034-03-01",
    }
    us = got[("US10123456B2", "US")]
    assert (us["owner"], us["type"], us["program"], us["filed"], us["granted"], us["weight"]) == (
        "A",
        "invention",
        "XR",
        "2011-06-01",
        "2018-11-13",
        "1",
    )
    ep = got[("EP0345678B1", "DE")]
    assert (ep["granted"], ep["program"], ep["status"]) == (None, None, "pending")

    # The ledger holds the one spelling, and whether the expiry was given or computed.
    bodies = {(e["body"]["number"], e["body"]["country"]): e["body"] for e in ledger(pool, "patent.add")}
    assert set(bodies) == set(got)
    assert bodies[("US10123456B2", "US")]["title"] == "Low-latency display pipeline"
    assert bodies[("US10123456B2", "US")]["expires_given"] is False
    assert bodies[("CN102345678B", "CN")]["expires_given"] is True

    # A number is found however it is typed.
    shown = pool.json("patent", "show", "US 10,123,456 b2")
    assert shown["number"] == "US10123456B2"
    assert [c["country"] for c in shown["countries"]] == ["US"]

    # An EP patent is entered once per country where it is in force, under the same number.
    add_patent(pool, "EP 0345678 B1", "B", "FR", "invention", "2009-09-15")
    shown = pool.json("patent", "show", "EP345678B1")
    assert [(c["country"], c["owner"], c["expires"]) for c in shown["countries"]] == [
        ("DE", "B", "2029-09-15"),
        ("FR", "B", "2029-09-15"),
    ]


# --- members and programs -----------------------------------------------------------------------------------
def test_members_and_programs_are_added_updated_and_listed(pool: Pool) -> None:
    pool.run("member", "add", "A", "--name", "Aurora Optics", "--role", "licensor")
    pool.run("member", "add", "L1", "--name", "Lumen", "--role", "licensee")
    pool.run("member", "add", "N", "--name", "Cafe\u0301 Labs", "--role", "both")  # stored NFC
    pool.run("member", "update", "A", "--name", "Aurora Optics Co.")
    pool.run("member", "update", "L1", "--role", "both")
    rows = {m["id"]: m for m in pool.json("member", "list")}
    assert {k: (m["name"], m["role"]) for k, m in rows.items()} == {
        "A": ("Aurora Optics Co.", "licensor"),
        "L1": ("Lumen", "both"),
        "N": ("Caf\u00e9 Labs", "both"),
    }
    # seq is the entry that last changed the member (its update), so the table points into the ledger.
    updates = {e["body"]["id"]: e["seq"] for e in ledger(pool, "member.update")}
    assert rows["A"]["seq"] == updates["A"] and rows["L1"]["seq"] == updates["L1"]
    assert [e["body"] for e in ledger(pool, "member.update")] == [
        {"id": "A", "name": "Aurora Optics Co.", "role": None},
        {"id": "L1", "name": None, "role": "both"},
    ]
    # A member that owns no patent may become a licensee; one that owns patents may not (see test_cli_errors).
    pool.run("member", "update", "N", "--role", "licensee")
    assert pool.json("member", "list")[2]["role"] == "licensee"

    # Programs keep their schedule, cap, fee and period.
    pool.run(
        "program",
        "add",
        "XR",
        "--currency",
        "usd",
        "--tiers",
        "1000:0,5000:0.20,*:0.10",
        "--annual-cap",
        "900",
    )
    pool.run(
        "program",
        "add",
        "VR",
        "--currency",
        "CNY",
        "--tiers",
        "*:0.5",
        "--admin-fee",
        "12.5%",
        "--period",
        "half",
    )
    rows = {p["name"]: p for p in pool.json("program", "list")}
    xr, vr = rows["XR"], rows["VR"]
    assert (xr["currency"], xr["tiers"], xr["annual_cap"], xr["admin_fee"], xr["period"]) == (
        "USD",
        "1000:0,5000:0.2,*:0.1",
        "900.00",
        "10",
        "quarter",
    )  # admin fee defaults to the pool's 10%
    assert (vr["currency"], vr["annual_cap"], vr["admin_fee"], vr["period"]) == ("CNY", None, "12.5", "half")


# --- status and transfers ------------------------------------------------------------------------------------
def test_status_and_transfer_apply_per_country_and_verify_replays_the_rules(pool: Pool) -> None:
    members_and_program(pool)
    for cc in ("DE", "FR"):
        add_patent(
            pool,
            "EP2345678B1",
            "B",
            cc,
            "invention",
            "2009-09-15",
            "--granted",
            "2014-03-05",
            "--program",
            "XR",
        )
    add_patent(pool, "CN102345678B", "A", "CN", "invention", "2010-03-01", "--granted", "2013-05-08")

    # Without --country: every country the number is entered for; with it: that country only.
    assert appended(pool, "patent", "transfer", "EP2345678B1", "--to", "C", "--effective", "2025-02-01") == 2
    assert (
        appended(
            pool, "patent", "status", "EP2345678B1", "lapsed", "--effective", "2025-03-01", "--country", "fr"
        )
        == 1
    )
    assert appended(pool, "patent", "status", "CN102345678B", "invalidated", "--effective", "2025-02-15") == 1

    def on(day: str, *args: str) -> dict[tuple[str, str], tuple[str, str]]:
        return {k: (p["owner"], p["status"]) for k, p in patents_by_key(pool, "--on", day, *args).items()}

    assert on("2025-01-31") == {
        ("EP2345678B1", "DE"): ("B", "in force"),
        ("EP2345678B1", "FR"): ("B", "in force"),
        ("CN102345678B", "CN"): ("A", "in force"),
    }
    assert on("2025-03-01") == {
        ("EP2345678B1", "DE"): ("C", "in force"),
        ("EP2345678B1", "FR"): ("C", "lapsed 2025-03-01"),
        ("CN102345678B", "CN"): ("A", "invalidated 2025-02-15"),
    }
    assert set(on("2025-03-01", "--owner", "C")) == {("EP2345678B1", "DE"), ("EP2345678B1", "FR")}
    assert set(on("2025-01-31", "--owner", "C")) == set()
    assert set(on("2025-03-01", "--program", "XR")) == {("EP2345678B1", "DE"), ("EP2345678B1", "FR")}
    assert on("2030-01-01")[("EP2345678B1", "DE")] == ("C", "expired 2029-09-15")

    shown = pool.json("patent", "show", "EP2345678B1")
    events = [(h["country"], h["event"]) for h in shown["history"]]
    assert events[2:] == [
        ("DE", "transferred B -> C from 2025-02-01"),
        ("FR", "transferred B -> C from 2025-02-01"),
        ("FR", "lapsed from 2025-03-01"),
    ]
    assert all(e.startswith("added: owner B") for _c, e in events[:2])
    seqs = [h["seq"] for h in shown["history"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # The table shows the countries above the history; the CSV is the history.
    table = pool.run("patent", "show", "EP2345678B1", "-f", "table").stdout
    assert table.index("EP2345678B1 today") < table.index("EP2345678B1: history")
    assert "counting_today" in table and "transferred B -> C" in table
    rows = pool.run("patent", "show", "EP2345678B1", "-f", "csv").stdout.splitlines()
    assert rows[0] == "seq,time,country,event,void" and len(rows) == 1 + len(shown["history"])
    ledger_seqs = {
        e["seq"]
        for kind in ("patent.add", "patent.transfer", "patent.status")
        for e in ledger(pool, kind)
        if e["body"]["number"] == "EP2345678B1"
    }
    assert set(seqs) == ledger_seqs

    # The state is a projection of the ledger, and `verify` replays every validator over it: a correctly
    # signed entry that no command would write (its owner is no member) is found. (Commands replay without
    # re-validating, by design: they trust a ledger whose head matches its signed checkpoint.)
    report = pool.json("verify")
    assert (report["result"], report["members"], report["patents"], report["problems"]) == ("ok", 5, 3, [])
    body = {
        "number": "CN110123456B",
        "country": "CN",
        "owner": "ZZ",
        "type": "invention",
        "filed": "2015-06-01",
        "granted": None,
        "expires": "2035-06-01",
        "expires_given": False,
        "program": None,
        "title": None,
        "weight": "1",
    }
    with Ledger.open(pool.db).append(load_key(pool.key, PASSPHRASE)) as appender:
        bad_seq = appender.append("patent.add", body).seq
    result = pool.run("verify", "--format", "json", expect=1)
    assert json.loads(result.stdout)["problems"] == [f"seq {bad_seq}: patent.add: owner: unknown member 'ZZ'"]
    assert f"Error: seq {bad_seq}: patent.add: owner: unknown member 'ZZ'" in result.stderr


# --- open licences ---------------------------------------------------------------------------------------------
def test_open_licence_declare_take_withdraw_and_taken_licences_survive_the_withdrawal(pool: Pool) -> None:
    members_and_program(pool)
    add_patent(
        pool, "CN205123456U", "A", "CN", "utility", "2016-05-10", "--granted", "2016-10-12", "--program", "XR"
    )
    add_patent(
        pool,
        "CN102345678B",
        "A",
        "CN",
        "invention",
        "2010-03-01",
        "--granted",
        "2013-05-08",
        "--program",
        "XR",
    )
    # The last day of the term may be the day before expiry (2026-05-10), the patent's last day in force.
    pool.run(
        "openlicense",
        "declare",
        "CN205123456U",
        "--fee",
        "0.10/unit",
        "--currency",
        "cny",
        "--from",
        "2025-01-01",
        "--to",
        "2026-05-09",
        "--evaluation-report",
        "CNIPA-PER-2024-0815",
    )
    # An invention needs no evaluation report.
    pool.run(
        "openlicense",
        "declare",
        "CN102345678B",
        "--fee",
        "3%",
        "--currency",
        "USD",
        "--from",
        "2025-01-01",
        "--to",
        "2025-12-31",
    )
    pool.run("openlicense", "take", "CN205123456U", "--licensee", "L1", "--notice-date", "2025-01-15")
    pool.run("openlicense", "withdraw", "CN205123456U", "--effective", "2025-02-01")
    size = pool.size_and_root()
    for day in ("2025-02-01", "2025-03-01"):  # on or after the effective date: refused, nothing written
        refused = pool.run(
            "openlicense", "take", "CN205123456U", "--licensee", "L2", "--notice-date", day, expect=1
        )
        assert "Error: notice_date: the open licence was withdrawn from 2025-02-01" in refused.stderr
        assert pool.size_and_root() == size
    # Notice given before the effective date, recorded after the withdrawal was published: still a licence.
    pool.run("openlicense", "take", "CN205123456U", "--licensee", "L2", "--notice-date", "2025-01-31")

    rows = {r["number"]: r for r in pool.json("openlicense", "list")}
    utility = rows["CN205123456U"]
    assert {k: utility[k] for k in ("country", "fee", "currency", "from", "to", "withdrawn", "taken_by")} == {
        "country": "CN",
        "fee": "0.1/unit",
        "currency": "CNY",
        "from": "2025-01-01",
        "to": "2026-05-09",
        "withdrawn": "2025-02-01",
        "taken_by": ["L1 (2025-01-15)", "L2 (2025-01-31)"],
    }
    assert (
        rows["CN102345678B"]["fee"],
        rows["CN102345678B"]["withdrawn"],
        rows["CN102345678B"]["taken_by"],
    ) == ("3%", None, [])
    declared = ledger(pool, "openlicense.declare")[0]["body"]
    assert declared["evaluation_report"] == "CNIPA-PER-2024-0815"

    # The withdrawal (2025-02-01) does not end the licences taken before it: on 2025-03-31 both licensees still
    # owe the patentee the memo fee on their units made or sold in CN.
    pool.run("license", "grant", "--licensee", "L1", "--program", "XR", "--from", "2025-01-01")
    pool.run("license", "grant", "--licensee", "L2", "--program", "XR", "--from", "2025-01-01")
    reports = pool.write(
        "reports.csv",
        "licensee,program,period,manufacture_country,sale_country,units,net_sales\n"
        "L1,XR,2025Q1,CN,CN,3000,540000.00\nL2,XR,2025Q1,CN,US,1000,200000.00\n"
        "L2,XR,2025Q1,JP,JP,700,140000.00\n",
    )
    pool.run("report", "import", str(reports))
    result = pool.json("allocate", "--program", "XR", "--period", "2025Q1")
    assert result["open_license_fees"] == [
        {"licensee": "L1", "patent": "CN205123456U", "owner": "A", "currency": "CNY", "amount": "300.00"},
        {"licensee": "L2", "patent": "CN205123456U", "owner": "A", "currency": "CNY", "amount": "100.00"},
    ]
    invoice = pool.json("invoice", "--licensee", "L1", "--period", "2025Q1")
    assert invoice["open_license_fees"] == result["open_license_fees"][:1]

    history = pool.json("patent", "show", "CN205123456U")["history"]
    assert [h["event"] for h in history] == [
        history[0]["event"],
        "open licence declared: 0.1/unit CNY, 2025-01-01..2026-05-09",
        "open licence taken by L1 (notice 2025-01-15)",
        "open licence withdrawn from 2025-02-01",
        "open licence taken by L2 (notice 2025-01-31)",
    ]
    assert history[0]["event"].startswith("added: owner A, utility")
    assert pool.json("verify")["result"] == "ok"


# --- cross-licences and licences -------------------------------------------------------------------------------
def test_cross_licences_by_members_patents_territory_and_dates(pool: Pool) -> None:
    members_and_program(pool)
    add_patent(pool, "CN102345678B", "A", "CN", "invention", "2010-03-01")
    add_patent(pool, "CN110123456B", "C", "CN", "invention", "2015-06-01")
    add_patent(pool, "US10123456B2", "B", "US", "invention", "2011-06-01")
    pool.run("crosslicense", "add", "--members", "A,C", "--from", "2024-01-01")
    pool.run(
        "crosslicense",
        "add",
        "--members",
        "C, A ,B",
        "--patents",
        "cn 110123456 b,US10123456B2",
        "--territory",
        "us,cn",
        "--from",
        "2025-01-01",
        "--to",
        "2027-12-31",
        "--terms",
        "balancing-payment",
    )
    rows = pool.json("crosslicense", "list")
    assert [{k: r[k] for k in ("members", "patents", "territory", "from", "to")} for r in rows] == [
        {"members": ["A", "C"], "patents": "all", "territory": "all", "from": "2024-01-01", "to": None},
        {
            "members": ["A", "B", "C"],
            "patents": ["CN110123456B", "US10123456B2"],
            "territory": ["CN", "US"],
            "from": "2025-01-01",
            "to": "2027-12-31",
        },
    ]
    body = ledger(pool, "crosslicense.add")[1]["body"]
    assert (body["members"], body["terms"]) == (["C", "A", "B"], "balancing-payment")
    # Each cross-licence shows in the history of the patents it covers.
    assert [h["event"] for h in pool.json("patent", "show", "CN110123456B")["history"][1:]] == [
        "cross-licence A,C (royalty-free), territory all, from 2024-01-01",
        "cross-licence C,A,B (balancing-payment), territory CN,US, from 2025-01-01 to 2027-12-31",
    ]
    assert [h["event"] for h in pool.json("patent", "show", "CN102345678B")["history"][1:]] == [
        "cross-licence A,C (royalty-free), territory all, from 2024-01-01"
    ]

    # After a transfer, the history also shows the cross-licences of the new owner.
    pool.run("patent", "transfer", "US10123456B2", "--to", "C", "--effective", "2025-06-01")
    pool.run("crosslicense", "add", "--members", "C,L1", "--from", "2025-06-01")
    assert [h["event"] for h in pool.json("patent", "show", "US10123456B2")["history"][1:]] == [
        "cross-licence A,C (royalty-free), territory all, from 2024-01-01",  # covers it once C owns it
        "cross-licence C,A,B (balancing-payment), territory CN,US, from 2025-01-01 to 2027-12-31",
        "transferred B -> C from 2025-06-01",
        "cross-licence C,L1 (royalty-free), territory all, from 2025-06-01",
    ]


def test_pool_licences_per_licensee_and_program_and_direct_licences(pool: Pool) -> None:
    members_and_program(pool)
    pool.run("program", "add", "VR", "--currency", "USD", "--tiers", "*:0.5")
    for cc in ("DE", "FR"):
        add_patent(pool, "EP2345678B1", "B", cc, "invention", "2009-09-15")
    pool.run("license", "grant", "--licensee", "L1", "--program", "XR", "--from", "2025-01-01")
    pool.run("license", "grant", "--licensee", "L1", "--program", "VR", "--from", "2025-07-01")
    pool.run("license", "grant", "--licensee", "C", "--program", "XR", "--from", "2025-04-01")
    assert appended(pool, "license", "direct", "EP2345678B1", "--licensee", "L2", "--from", "2025-01-01") == 2
    assert (
        appended(
            pool,
            "license",
            "direct",
            "EP2345678B1",
            "--licensee",
            "C",
            "--from",
            "2025-01-01",
            "--to",
            "2025-12-31",
            "--country",
            "DE",
            "--territory",
            "de",
        )
        == 1
    )
    rows = pool.json("license", "list")
    assert [(r["type"], r["licensee"], r["what"], r["from"], r["to"], r["exclusive"]) for r in rows] == [
        ("pool", "L1", "XR", "2025-01-01", None, False),
        ("pool", "L1", "VR", "2025-07-01", None, False),
        ("pool", "C", "XR", "2025-04-01", None, False),
        ("direct", "L2", "EP2345678B1 (DE) from B", "2025-01-01", None, False),
        ("direct", "L2", "EP2345678B1 (FR) from B", "2025-01-01", None, False),
        ("direct", "C", "EP2345678B1 (DE) from B", "2025-01-01", "2025-12-31", False),
    ]
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)
    direct = ledger(pool, "license.direct")[-1]["body"]
    assert (direct["licensor"], direct["territory"], direct["exclusive"]) == ("B", ["DE"], False)
    history = pool.json("patent", "show", "EP2345678B1")["history"]
    assert [(h["country"], h["event"]) for h in history[2:]] == [
        ("DE", "direct non-exclusive licence B -> L2 from 2025-01-01"),
        ("FR", "direct non-exclusive licence B -> L2 from 2025-01-01"),
        ("DE", "direct non-exclusive licence B -> C from 2025-01-01"),
    ]

    # An exclusive direct licence bars an open-licence declaration while it runs, and a declaration bars a
    # new exclusive licence; an ordinary licence is fine.
    add_patent(pool, "CN102345678B", "A", "CN", "invention", "2010-03-01", "--granted", "2013-05-08")
    pool.run(
        "license",
        "direct",
        "CN102345678B",
        "--licensee",
        "L1",
        "--from",
        "2024-01-01",
        "--to",
        "2024-12-31",
        "--exclusive",
    )
    size = pool.size_and_root()
    refused = pool.run(
        "openlicense",
        "declare",
        "CN102345678B",
        "--fee",
        "5000/year",
        "--currency",
        "CNY",
        "--from",
        "2024-06-01",
        "--to",
        "2025-12-31",
        expect=1,
    )
    assert "Error: number: CN102345678B is under an exclusive licence (seq" in refused.stderr
    assert pool.size_and_root() == size
    pool.run(
        "openlicense",
        "declare",
        "CN102345678B",
        "--fee",
        "5000/year",
        "--currency",
        "CNY",
        "--from",
        "2025-01-01",
        "--to",
        "2025-12-31",
    )
    pool.run("license", "direct", "CN102345678B", "--licensee", "L2", "--from", "2025-03-01")
    size = pool.size_and_root()
    refused = pool.run(
        "license",
        "direct",
        "CN102345678B",
        "--licensee",
        "C",
        "--from",
        "2025-03-01",
        "--exclusive",
        expect=1,
    )
    assert "Error: exclusive: CN102345678B is under an open licence (seq" in refused.stderr
    assert pool.size_and_root() == size
    rows = pool.json("license", "list")
    assert [(r["type"], r["licensee"], r["what"], r["from"], r["to"], r["exclusive"]) for r in rows[6:]] == [
        ("direct", "L1", "CN102345678B (CN) from A", "2024-01-01", "2024-12-31", True),
        ("direct", "L2", "CN102345678B (CN) from A", "2025-03-01", None, False),
    ]


# --- read commands: table, json, csv and -o FILE -----------------------------------------------------------
def build_populated(pool: Pool) -> None:
    members_and_program(pool)
    patents = pool.write(
        "patents.csv",
        "number,owner,country,type,filed,granted,expires,program,title,weight\n"
        'CN205123456U,A,CN,utility,2016-05-10,2016-10-12,,XR,"Strap, tensioner",\n'
        "CN102345678B,A,CN,invention,2010-03-01,2013-05-08,,XR,Waveguide,2\n"
        "EP2345678B1,B,DE,invention,2009-09-15,2014-03-05,,XR,Foveated rendering,\n"
        "CN110123456B,C,CN,invention,2015-06-01,2019-09-10,,XR,Spatial audio,\n",
    )
    pool.run("patent", "import", str(patents))
    pool.run("patent", "status", "CN110123456B", "invalidated", "--effective", "2025-02-15")
    pool.run("crosslicense", "add", "--members", "A,C", "--from", "2024-01-01")
    open_licence(pool)
    pool.run("license", "grant", "--licensee", "L1", "--program", "XR", "--from", "2025-01-01")
    pool.run("license", "direct", "CN102345678B", "--licensee", "L2", "--from", "2025-01-01", "--exclusive")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def populated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    """One populated pool per backend for the read-only tests (built once, never written to by them)."""
    with shared_pool(request, tmp_path_factory, "reads", build_populated) as pool:
        yield pool


# command -> (args, keys of a JSON row, a (column, value) the CSV must show, a word the table must show, rows)
READS: dict[str, tuple[tuple[str, ...], list[str], tuple[str, str], str, int]] = {
    "member-list": (
        ("member", "list"),
        ["id", "name", "role", "seq", "retired"],
        ("name", "Lattice Wearables"),
        "Lattice",
        5,
    ),
    "program-list": (
        ("program", "list"),
        ["name", "currency", "tiers", "annual_cap", "admin_fee", "period", "seq"],
        ("tiers", "1000:0,5000:0.2,*:0.1"),
        "quarter",
        1,
    ),
    "patent-list": (
        ("patent", "list", "--on", "2025-03-01"),
        [
            "number",
            "country",
            "title",
            "owner",
            "type",
            "program",
            "filed",
            "granted",
            "expires",
            "weight",
            "status",
            "seq",
        ],
        ("status", "invalidated 2025-02-15"),
        "invention",
        4,
    ),
    "patent-show": (
        ("patent", "show", "CN205123456U"),
        ["seq", "time", "country", "event", "void"],
        ("event", "open licence taken by L1 (notice 2025-01-15)"),
        "CN205123456U",
        4,
    ),
    "openlicense-list": (
        ("openlicense", "list"),
        [
            "seq",
            "number",
            "country",
            "fee",
            "currency",
            "from",
            "to",
            "evaluation_report",
            "withdrawn",
            "taken_by",
        ],
        ("taken_by", "L1 (2025-01-15)"),
        "0.1/unit",
        1,
    ),
    "crosslicense-list": (
        ("crosslicense", "list"),
        ["seq", "members", "patents", "territory", "from", "to", "terms"],
        ("members", "A, C"),
        "2024-01-01",
        1,
    ),
    "license-list": (
        ("license", "list"),
        ["seq", "type", "licensee", "what", "from", "to", "exclusive"],
        ("what", "CN102345678B (CN) from A"),
        "direct",
        2,
    ),
}


@pytest.mark.parametrize("name", list(READS))
def test_read_command_formats_and_output_file(populated: Pool, name: str) -> None:
    args, keys, (column, value), word, count = READS[name]
    data = populated.json(*args)
    rows = data["history"] if name == "patent-show" else data
    assert len(rows) == count
    assert all(list(row) == keys for row in rows)

    as_csv = populated.run(*args, "-f", "csv").stdout
    parsed = list(csv.DictReader(io.StringIO(as_csv)))
    assert list(parsed[0]) == keys
    assert [r["seq"] for r in parsed] == [str(r["seq"]) for r in rows]
    assert value in [r[column] for r in parsed]

    table = populated.run(*args, "-f", "table").stdout
    assert word in table and "seq" in table
    assert "\x1b[" not in table  # no colour off a terminal / with NO_COLOR

    # -o FILE writes exactly what stdout would have shown, and nothing to stdout (one format per command,
    # so that every format goes through -o across the commands).
    fmt = ("json", "csv", "table")[list(READS).index(name) % 3]
    target = populated.workdir / f"{name}.{fmt}"
    result = populated.run(*args, "--format", fmt, "-o", str(target))
    assert result.stdout == ""
    written = target.read_text(encoding="utf-8")
    assert (
        (json.loads(written) == data) if fmt == "json" else (written == {"csv": as_csv, "table": table}[fmt])
    )


def test_patent_show_lists_owners_and_every_event_with_its_seq(populated: Pool) -> None:
    data = populated.json("patent", "show", "CN110123456B")
    assert data["number"] == "CN110123456B"
    assert [(c["country"], c["owner"], c["expires"], c["counting_today"]) for c in data["countries"]] == [
        ("CN", "C", "2035-06-01", False)
    ]
    events = [h["event"] for h in data["history"]]
    assert events[0].startswith("added: owner C, invention, filed 2015-06-01, granted 2019-09-10")
    assert events[1:] == [
        "invalidated from 2025-02-15",
        "cross-licence A,C (royalty-free), territory all, from 2024-01-01",
    ]
    log = {e["seq"]: e["kind"] for e in populated.json("log")}
    assert [log[h["seq"]] for h in data["history"]] == ["patent.add", "patent.status", "crosslicense.add"]


def test_an_empty_list_still_has_its_csv_header(populated: Pool) -> None:
    assert populated.run("member", "list", "-f", "csv").stdout.startswith(
        "id,name,role,seq,retired\n"
    )  # passes columns
    assert populated.run("patent", "list", "--owner", "nobody", "-f", "csv").stdout.startswith(
        "number,country,"
    )


def test_csv_and_tables_spell_booleans_as_json_does(populated: Pool) -> None:
    """`exclusive` is false/true in JSON; CSV and tables used Python's False/True."""
    as_json = {r["seq"]: r["exclusive"] for r in populated.json("license", "list")}
    parsed = list(csv.DictReader(io.StringIO(populated.run("license", "list", "-f", "csv").stdout)))
    assert {int(r["seq"]): r["exclusive"] for r in parsed} == {
        seq: json.dumps(value) for seq, value in as_json.items()
    }
    assert sorted(as_json.values()) == [False, True]
    table = populated.run("license", "list", "-f", "table").stdout
    assert "false" in table and "true" in table and "False" not in table and "True" not in table


def test_another_pools_key_is_named_as_such(pool: Pool, pool_factory: Any, tmp_path: Path) -> None:
    """A write with the key file of another pool says so, in one line, and writes nothing."""
    other = pool_factory(f"sqlite:///{tmp_path / 'other.db'}", origin="other.example/pool")
    before = pool.size_and_root()
    wrong = Pool(pool.db, other.key, pool.workdir)
    result = wrong.run("member", "add", "Z", "--name", "Zed", "--role", "licensor", expect=1)
    assert result.stderr == (
        "Error: the key file is a key of other.example/pool, and this database is the ledger of "
        "pool.example/test: give this pool's key file (--key or PATENTPOOL_KEY)\n"
    )
    assert pool.size_and_root() == before
