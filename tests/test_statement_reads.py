"""`statement` reads only the members, the programs and each program's latest allocation of the period
(`PoolService.read_period`): it must give what a read of all the books gives, and check what it reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Pool
from ledger_support import drop_triggers, raw_rows, set_raw

from ledger.log import LedgerError
from patentpool import books
from patentpool.periods import Period
from patentpool.service import BOOK_KINDS, PoolService, allocation_program, only_period

PERIOD = "2025Q1"


def _statements(pool: Pool, member: str, program: str | None) -> tuple[dict[str, object], dict[str, object]]:
    """The statement from `read_period` and from a replay of every book entry, by the same function."""
    svc = PoolService(pool.db, pool.key)
    per = Period.parse(PERIOD)
    with svc.read_period(PERIOD, program, shares_of=member) as (state, reader):
        narrow = books.statement(state, member, per, program, reader.checkpoint().note)
    with svc.read(kinds=BOOK_KINDS, needles=only_period(PERIOD)) as (state, reader):
        wide = books.statement(state, member, per, program, reader.checkpoint().note)
    return narrow, wide


def test_allocation_program_is_read_from_the_bytes() -> None:
    body = b'{"body":{"period":"2025Q1","policy":"v1","program":"X\\"R","shares":[]},"kind":"allocation.run"}'
    assert allocation_program(body, "2025Q1") == 'X"R'
    assert allocation_program(body, "2025Q2") is None


def test_latest_allocation_with_other_programs_and_periods(example_pool: Pool, lazy: bool) -> None:
    pool = example_pool
    pool.run("allocate", "--program", "XR", "--period", PERIOD)
    # Another quarterly program, never allocated (its search runs back to its program.add and stops), and a
    # half-yearly one (never searched for a quarter).
    for name, period in (("HQ", "quarter"), ("HH", "half")):
        pool.run("program", "add", name, "--currency", "USD", "--tiers", "*:0.10", "--period", period)
    # A correction and a second allocation: the statement is the adjustment's.
    corrected = pool.write(
        "corrected.csv",
        "licensee,program,period,manufacture_country,sale_country,units,net_sales\n"
        "L1,XR,2025Q1,CN,US,2400,504000.00\n",
    )
    pool.run("report", "import", "--correct", str(corrected))
    assert "allocation.adjust" in pool.run("allocate", "--program", "XR", "--period", PERIOD).stderr
    for member in ("A", "B", "C"):
        for program in (None, "XR"):
            narrow, wide = _statements(pool, member, program)
            assert narrow == wide
            assert narrow["lines"]
    out = pool.json("statement", "--member", "C", "--period", PERIOD)
    assert out == _statements(pool, "C", None)[1]
    # The bundle of a statement read that way verifies offline.
    vkey = pool.run("key", "show").stdout.strip()
    bundle = pool.workdir / f"c-{lazy}.json"
    pool.run("statement", "--member", "C", "--period", PERIOD, "--bundle", str(bundle))
    assert "statement verified" in pool.run("verify-statement", str(bundle), "--vkey", vkey).stdout
    missing = pool.run("statement", "--member", "C", "--period", "2025Q2", expect=1)
    assert missing.stderr == "Error: period 2025Q2 has not been allocated: run `patentpool allocate` first\n"
    other = pool.run("statement", "--member", "C", "--period", PERIOD, "--program", "HQ", expect=1)
    assert "program HQ period 2025Q1 has not been allocated" in other.stderr


def test_an_edited_allocation_row_is_refused(example_pool: Pool, tmp_path: Path) -> None:
    pool = example_pool
    pool.run("allocate", "--program", "XR", "--period", PERIOD)
    # Not the head: the start-up check reads the head alone, so this is the allocation row's own check.
    pool.run("payment", "add", "--licensee", "L1", "--amount", "1.00", "--date", "2025-04-02", "--ref", "X1")
    seq, raw = max((s, r) for s, r in raw_rows(pool.db).items() if b'"kind":"allocation.run"' in r)
    drop_triggers(pool.db)
    doc = json.loads(raw)
    doc["body"]["total"] = "1.00"
    set_raw(pool.db, seq, json.dumps(doc, separators=(",", ":"), sort_keys=True).encode())
    svc = PoolService(pool.db, pool.key)
    with pytest.raises(LedgerError, match="not all ones checkpoint"), svc.read_period(PERIOD):
        pass
    bundle = tmp_path / "c.json"
    result = pool.run("statement", "--member", "C", "--period", PERIOD, "--bundle", str(bundle), expect=1)
    assert result.stderr.startswith("Error: ") and "run `patentpool verify`" in result.stderr
    assert not bundle.exists()
