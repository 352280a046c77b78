"""Entry subjects (schema 0003): each entry is stored with the program (and period) it belongs to, so that the
staleness check of rule 13 asks the database's (kind, subject) index instead of reading every entry appended
after an allocation; entries stored before the upgrade (no subject) are still found by their bytes; and
`verify` refuses a stored subject that is not the entry's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.config import Config
from conftest import Pool, build_example
from ledger_support import create_triggers, drop_triggers, execute
from sqlalchemy import text

from ledger.store import MIGRATIONS, Store
from patentpool.periods import Period
from patentpool.service import PoolService, changed_after


def _stored(pool: Pool) -> list[tuple[int, str, str | None]]:
    store = Store(pool.db)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT seq, kind, subject FROM ledger_entries ORDER BY seq"))
            return [(int(seq), str(kind), subject) for seq, kind, subject in rows]
    finally:
        store.close()


def _migrate(url: str, revision: str) -> None:
    store = Store(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with store.engine.connect() as conn:
            config.attributes["connection"] = conn
            if revision == "head":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)
            conn.commit()
    finally:
        store.close()


def _patent(pool: Pool, number: str, program: str | None) -> None:
    pool.run(
        "patent",
        "add",
        number,
        "--owner",
        "A",
        "--country",
        "CN",
        "--type",
        "invention",
        "--filed",
        "2016-03-01",
        "--granted",
        "2019-05-01",
        *(["--program", program] if program else []),
    )


def _add_program(pool: Pool, name: str) -> None:
    pool.run("program", "add", name, "--currency", "USD", "--tiers", "*:0.10", "--admin-fee", "10")


def _changed(pool: Pool, program: str = "XR", period: str = "2025Q1") -> Iterator[bool]:
    service = PoolService(pool.db, pool.key)
    with service.ledger.reader() as reader:
        allocations = [s for s, kind, _ in _stored(pool) if kind == "allocation.run"]
        yield changed_after(reader, allocations[-1], program, Period.parse(period))
    service.store.close()


@pytest.fixture
def allocated(pool: Pool) -> Pool:
    build_example(pool)
    _add_program(pool, "YR")
    pool.run("allocate", "--program", "XR", "--period", "2025Q1")
    return pool


def test_pool_entries_are_stored_with_their_program_and_period(allocated: Pool) -> None:
    _patent(allocated, "CN109999991B", "YR")
    _patent(allocated, "CN109999992B", None)
    subjects = {(kind, subject) for _seq, kind, subject in _stored(allocated)}
    assert ("patent.add", "XR") in subjects
    assert ("patent.add", "YR") in subjects
    assert ("patent.add", "") in subjects  # a patent of no program
    assert ("report.add", "XR 2025Q1") in subjects
    # A party's own entries carry the party (a statement or invoice reads only its own).
    assert {subject for kind, subject in subjects if kind == "member.add"} == {"A", "B", "C", "L1"}
    assert {subject for kind, subject in subjects if kind == "payment.add"} == {"C", "L1"}
    # Kinds that are not searched by subject keep none.
    assert {subject for kind, subject in subjects if kind == "license.grant"} == {None}
    assert {kind for kind, subject in subjects if subject is not None} == {
        "patent.add",
        "report.add",
        "member.add",
        "payment.add",
    }


def test_other_programs_patents_leave_an_allocation_unchanged(allocated: Pool) -> None:
    _patent(allocated, "CN109999991B", "YR")
    _patent(allocated, "CN109999992B", None)
    assert list(_changed(allocated)) == [False]
    _patent(allocated, "CN109999993B", "XR")
    assert list(_changed(allocated)) == [True]


def test_reports_of_later_periods_leave_an_allocation_unchanged(allocated: Pool) -> None:
    header = "licensee,program,period,manufacture_country,sale_country,units,net_sales\n"
    q2 = allocated.write("q2.csv", header + "L1,XR,2025Q2,CN,CN,10,100.00\n")
    allocated.run("report", "import", str(q2))
    assert list(_changed(allocated)) == [False]
    q1 = allocated.write("q1.csv", header + "L1,XR,2025Q1,CN,US,10,100.00\n")
    allocated.run("report", "import", str(q1), "--correct")
    assert list(_changed(allocated)) == [True]


def test_entries_stored_before_the_upgrade_are_found_by_their_bytes(allocated: Pool) -> None:
    _patent(allocated, "CN109999991B", "YR")
    # Back to schema 0002 and up again: every stored entry now has no subject, as on an upgraded ledger.
    _migrate(allocated.db, "0002")
    _migrate(allocated.db, "head")
    assert {subject for _seq, _kind, subject in _stored(allocated)} == {None}
    assert list(_changed(allocated)) == [False]
    _migrate(allocated.db, "0002")
    assert "patentpool upgrade" in allocated.run("patent", "list", expect=1).stderr
    _migrate(allocated.db, "head")
    _patent(allocated, "CN109999993B", "XR")
    assert list(_changed(allocated)) == [True]
    assert allocated.json("verify")["result"] == "ok"


def test_verify_refuses_a_stored_subject_that_is_not_the_entrys(allocated: Pool) -> None:
    seq = next(s for s, kind, subject in _stored(allocated) if kind == "patent.add" and subject == "XR")
    drop_triggers(allocated.db)
    execute(allocated.db, "UPDATE ledger_entries SET subject = 'YR' WHERE seq = :seq", {"seq": seq})
    create_triggers(allocated.db)
    result = allocated.run("verify", "--format", "json", expect=None)
    assert f"seq {seq}: stored subject 'YR' is not the entry's ('XR')" in result.stdout
    # A subject removed (NULL: not known) only makes the check read that entry's bytes: not a problem.
    drop_triggers(allocated.db)
    execute(allocated.db, "UPDATE ledger_entries SET subject = NULL WHERE seq = :seq", {"seq": seq})
    create_triggers(allocated.db)
    assert allocated.json("verify")["result"] == "ok"


def _invoice_and_statement(pool: Pool) -> tuple[object, object]:
    invoice = pool.json("invoice", "--licensee", "L1", "--period", "2025Q1")
    statement = pool.json("statement", "--member", "A", "--period", "2025Q1")
    return invoice, statement


def test_a_partys_own_entries_are_found_by_subject_or_by_bytes(allocated: Pool) -> None:
    allocated.run("distribute", "--program", "XR", "--period", "2025Q1", "--date", "2025-05-01")
    found = _invoice_and_statement(allocated)
    assert found[0]["credit"] != "0.00" and found[1]["distributions"]  # type: ignore[index]
    # Stored before the upgrade (no subject): the same payments and payouts, found by their bytes.
    _migrate(allocated.db, "0002")
    _migrate(allocated.db, "head")
    assert _invoice_and_statement(allocated) == found


def test_a_row_relabelled_to_another_party_is_not_read_as_its(allocated: Pool) -> None:
    seq = next(s for s, kind, subject in _stored(allocated) if kind == "payment.add" and subject == "C")
    before = allocated.json("invoice", "--licensee", "L1", "--period", "2025Q1")
    drop_triggers(allocated.db)
    execute(allocated.db, "UPDATE ledger_entries SET subject = 'L1' WHERE seq = :seq", {"seq": seq})
    create_triggers(allocated.db)
    # L1's invoice holds its needle to the bytes: C's payment is not L1's, whatever its stored subject says.
    assert allocated.json("invoice", "--licensee", "L1", "--period", "2025Q1") == before
    result = allocated.run("verify", "--format", "json", expect=None)
    assert f"seq {seq}: stored subject 'L1' is not the entry's ('C')" in result.stdout


def test_a_write_refuses_a_stored_subject_that_is_not_the_entrys(allocated: Pool) -> None:
    # A subject relabelled away from its party would hide the row from the party's reads: like the kind
    # column, the next writer's whole replay finds it and appends nothing.
    seq = next(s for s, kind, subject in _stored(allocated) if kind == "payment.add" and subject == "L1")
    size, _root = allocated.size_and_root()
    drop_triggers(allocated.db)
    execute(allocated.db, "UPDATE ledger_entries SET subject = 'C' WHERE seq = :seq", {"seq": seq})
    create_triggers(allocated.db)
    refused = allocated.run("member", "add", "Z", "--name", "Zed", "--role", "licensee", expect=1)
    assert refused.stderr == (
        f"Error: seq {seq}: the stored subject 'C' is not the entry's ('L1'): the database was changed "
        "outside patentpool; run `patentpool verify`\n"
    )
    assert allocated.size_and_root()[0] == size
