"""`invoice` reads the period's latest summaries with only the licensee's own parts, member entry and payments
(`PoolService.read_period(licensee=...)`): it must give what a read of all the books gives, and hold no
member's part, no other member and no distribution."""

from __future__ import annotations

import re

from conftest import Pool
from ledger_support import drop_triggers, raw_rows, set_raw

from patentpool import books
from patentpool.periods import Period
from patentpool.service import BOOK_KINDS, PoolService, only_period

PERIOD = "2025Q1"


def test_an_invoice_reads_only_its_licensees_parts(example_pool: Pool) -> None:
    pool = example_pool
    pool.run("allocate", "--program", "XR", "--period", PERIOD)
    corrected = pool.write(
        "corrected.csv",
        "licensee,program,period,manufacture_country,sale_country,units,net_sales\n"
        "L1,XR,2025Q1,CN,US,2400,504000.00\n",
    )
    pool.run("report", "import", "--correct", str(corrected))
    pool.run("allocate", "--program", "XR", "--period", PERIOD)  # an adjustment: new parts for some parties
    svc = PoolService(pool.db, pool.key)
    per = Period.parse(PERIOD)
    for licensee in ("L1", "C"):  # C is a member too: its member part is not read
        with svc.read_period(PERIOD, licensee=licensee) as (state, _reader):
            narrow = books.invoice(state, licensee, per, None)
            assert {(i.kind, i.name) for i in state.part_info.values()} == {("licensee", licensee)}
            # Of the members and payments, only the licensee's own; no member's distribution.
            assert set(state.members) == {licensee}
            assert {p.licensee for p in state.payments} <= {licensee} and not state.distributions
        with svc.read(kinds=BOOK_KINDS, needles=only_period(PERIOD)) as (state, _reader):
            wide = books.invoice(state, licensee, per, None)
            assert ("member", "A") in {(i.kind, i.name) for i in state.part_info.values()}
        assert narrow == wide
        assert pool.json("invoice", "--licensee", licensee, "--period", PERIOD) == wide
    svc.store.close()


def test_an_edited_payment_stops_the_invoice_before_it_is_built(example_pool: Pool) -> None:
    # The rows an invoice reads are checked against the checkpoint together (`Reader.one_check`), before
    # any figure is computed from them: a payment edited in the database stops the read.
    pool = example_pool
    pool.run("allocate", "--program", "XR", "--period", PERIOD)
    rows = raw_rows(pool.db)
    seq = max(s for s, raw in rows.items() if b'"kind":"payment.add"' in raw and b'"licensee":"L1"' in raw)
    edited = re.sub(rb'"amount":"([0-9]+)\.', rb'"amount":"9\1.', rows[seq], count=1)
    assert edited != rows[seq]
    drop_triggers(pool.db)
    set_raw(pool.db, seq, edited)
    result = pool.run("invoice", "--licensee", "L1", "--period", PERIOD, expect=1)
    assert "not all ones checkpoint" in result.stderr and "changed outside patentpool" in result.stderr


def test_a_summary_edited_so_it_does_not_parse_is_reported_as_edited(example_pool: Pool) -> None:
    # A statement or invoice decides what else to read from the summary before the batch of rows is checked
    # (`Reader.one_check`): a summary edited out of shape must still be named an edit, not crash the read.
    pool = example_pool
    pool.run("allocate", "--program", "XR", "--period", PERIOD)
    pool.run("member", "add", "Z", "--name", "Zed", "--role", "licensee")  # the summary is not the head
    rows = raw_rows(pool.db)
    seq = max(s for s, raw in rows.items() if b'"kind":"allocation.run"' in raw)
    drop_triggers(pool.db)
    set_raw(pool.db, seq, rows[seq].replace(b'"parts":', b'"partz":', 1))
    for command in (("invoice", "--licensee", "L1"), ("statement", "--member", "A")):
        result = pool.run(*command, "--period", PERIOD, "-f", "json", expect=1)
        assert result.stderr.startswith("Error: the ") and "changed outside patentpool" in result.stderr
        assert len(result.stderr.splitlines()) == 1


def test_an_unknown_party_is_named_with_the_member_it_may_mean(example_pool: Pool) -> None:
    pool = example_pool
    pool.run("allocate", "--program", "XR", "--period", PERIOD)
    for command, said in (
        (("invoice", "--licensee", "l1"), "Error: unknown member 'l1'; did you mean L1?\n"),
        (("statement", "--member", "a"), "Error: unknown member 'a'; did you mean A?\n"),
        (("statement", "--member", "a", "--year", "2025"), "Error: unknown member 'a'; did you mean A?\n"),
    ):
        period = () if "--year" in command else ("--period", PERIOD)
        assert pool.run(*command, *period, "-f", "json", expect=1).stderr == said
