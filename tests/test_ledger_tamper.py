"""Tamper evidence, on both backends: with the append-only triggers dropped, any change to the stored ledger
is
caught by `patentpool verify` (exit 1, an `Error:` line naming the seq), and an appending command refuses a
ledger whose stored head no longer matches its latest signed checkpoint.

One pool is built per backend; each test tampers with it and its tables are put back afterwards. Its entries:
  1 pool.genesis   2 member.add A   3 member.add B   4 member.add C   5 key.add ADMIN (admin)
  6 member.add D (signed by ADMIN)  7 key.revoke ADMIN   8 member.add E
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSPHRASE, PG_ADMIN, Pool, create_pg_database, drop_pg_database
from ledger_support import (
    Snapshot,
    create_triggers,
    delete_entries,
    drop_triggers,
    edit_entry,
    execute,
    insert_entry_row,
    jcs,
    raw_rows,
    resign,
    restore,
    seeded_key,
    set_raw,
    sign_entry,
    snapshot,
)

from ledger import merkle
from ledger.entry import Entry, decode, entry_hash
from ledger.keys import SigningKey, load_key, save_key
from ledger.log import Appender, Ledger, LedgerError, _chained, load_keyring
from ledger.store import Store
from ledger.verify import verify_store

ORIGIN = "pool.example/test"
ADMIN = seeded_key(ORIGIN, 7)
HEAD = 8


@dataclass
class Built:
    url: str
    root_key: Path
    snapshot: Snapshot


@pytest.fixture(scope="module")
def admin_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tamper-keys") / "admin.key"
    save_key(path, ADMIN, PASSPHRASE)  # once for both backends: scrypt is slow on purpose
    return path


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, admin_key_file: Path
) -> Iterator[Built]:
    workdir = tmp_path_factory.mktemp(f"tamper-{request.param}")
    pg_name = None
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'pool.db'}"
    else:
        request.getfixturevalue("postgres_available")
        pg_name = create_pg_database()
        url = f"{PG_ADMIN.rpartition('/')[0]}/{pg_name}"
    try:
        root = Pool(url, workdir / "root.key", workdir)
        root.run(
            "init", "--name", "Tamper Pool", "--origin", ORIGIN, "--currency", "USD", "--admin-fee", "10"
        )
        for member in "ABC":
            root.run("member", "add", member, "--name", f"Member {member}", "--role", "both")
        root.run("key", "add", "--vkey", str(ADMIN.verifier()), "--role", "admin")
        admin = Pool(url, admin_key_file, workdir)
        admin.env["PATENTPOOL_ROOT_KEY"] = str(root.key)
        admin.run("member", "add", "D", "--name", "Member D", "--role", "licensee")
        root.run("key", "revoke", ADMIN.verifier().keyid_string)
        root.run("member", "add", "E", "--name", "Member E", "--role", "licensor")
        assert root.size_and_root()[0] == HEAD
        yield Built(url, root.key, snapshot(url))
        # Whatever the tests did was undone.
        assert json.loads(root.run("verify").stdout)["result"] == "ok"
        assert root.size_and_root()[0] == HEAD
    finally:
        if pg_name:
            drop_pg_database(pg_name)


@pytest.fixture
def pool(built: Built, tmp_path: Path) -> Iterator[Pool]:
    """The built pool with its append-only triggers dropped; afterwards every table is put back as built."""
    drop_triggers(built.url)
    try:
        yield Pool(built.url, built.root_key, tmp_path)
    finally:
        restore(built.url, built.snapshot)


@functools.cache
def _load_key(path: Path) -> SigningKey:
    return load_key(path, PASSPHRASE)


def root_key(pool: Pool) -> SigningKey:
    return _load_key(pool.key)


def verify_fails(pool: Pool, *, first: int, also: tuple[str, ...] = ()) -> list[str]:
    """Run `verify`: exit 1, every problem an `Error:` line, the first one naming seq `first`."""
    result = pool.run("verify", expect=1)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    data = json.loads(result.stdout)
    assert data["result"] != "ok" and data["problems"], data
    assert errors == [f"Error: {p}" for p in data["problems"]]
    seqs = [int(m.group(1)) for line in errors if (m := re.match(r"Error: seq (\d+):", line))]
    assert seqs and seqs[0] == first, errors
    for text in also:
        assert any(text in line for line in errors), (text, errors)
    # The fixture dropped the append-only triggers to tamper; verify says so too (test_ledger_tamper_append).
    assert any("append-only trigger" in line for line in errors), errors
    return [line for line in errors if "append-only trigger" not in line]


def append_refused(pool: Pool, *, mentions: str) -> None:
    """An appending command refuses with one `Error:` line and writes nothing."""
    before = raw_rows(pool.db)
    result = pool.run("member", "add", "Z", "--name", "Member Z", "--role", "both", expect=1)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert mentions in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert raw_rows(pool.db) == before


# --- an untouched copy ---------------------------------------------------------------------------------
def test_untouched_ledger_verifies_clean_and_appends(pool: Pool) -> None:
    create_triggers(pool.db)  # the fixture dropped them; verify reports that (test_ledger_tamper_append)
    result = pool.run("verify")
    data = json.loads(result.stdout)
    assert data["result"] == "ok" and data["problems"] == [] and data["entries"] == HEAD
    assert "Error" not in result.stderr
    pool.run("member", "add", "Z", "--name", "Member Z", "--role", "both")
    assert pool.size_and_root()[0] == HEAD + 1
    pool.run("verify")


# --- one field of one stored entry --------------------------------------------------------------------------
FIELD_CHANGES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "kind": lambda o: {"kind": "member.update"},
    "body-value": lambda o: {"body": {**o["body"], "name": "Mallory"}},
    "body-extra-key": lambda o: {"body": {**o["body"], "x": 1}},
    "time": lambda o: {"time": "2020-02-29T12:00:00.000001Z"},
    "author": lambda o: {"author": ADMIN.verifier().keyid_string},
    "prev": lambda o: {"prev": ("0" if o["prev"][0] != "0" else "1") + o["prev"][1:]},
    "seq": lambda o: {"seq": o["seq"] + 10},
    "sig": lambda o: {"sig": resign({**o, "body": {**o["body"], "name": "x"}}, ADMIN, ORIGIN)["sig"]},
    "v": lambda o: {"v": 2},
}


@pytest.mark.parametrize("field", sorted(FIELD_CHANGES))
def test_changing_one_field_of_an_entry_fails_verify(pool: Pool, field: str) -> None:
    seq = 4
    obj = json.loads(raw_rows(pool.db)[seq])
    changed = edit_entry(pool.db, seq, FIELD_CHANGES[field](obj))
    assert changed != obj
    verify_fails(pool, first=seq)


@pytest.mark.parametrize("field", ["body-value", "time", "sig", "seq"])
def test_changing_the_head_entry_fails_verify_and_appends_refuse(pool: Pool, field: str) -> None:
    obj = json.loads(raw_rows(pool.db)[HEAD])
    edit_entry(pool.db, HEAD, FIELD_CHANGES[field](obj))
    verify_fails(pool, first=HEAD)
    append_refused(pool, mentions="run `patentpool verify`")


def test_a_non_canonical_respelling_fails_verify(pool: Pool) -> None:
    raw = raw_rows(pool.db)[4]
    set_raw(pool.db, 4, raw.replace(b'"seq":4', b'"seq": 4'))
    verify_fails(pool, first=4, also=("seq 4: malformed entry", "canonical"))


def test_an_entry_resigned_by_the_root_key_breaks_the_chain(pool: Pool) -> None:
    # Whoever holds the root key can sign a changed entry, but the next entry's prev and every signed
    # checkpoint since still commit to the original bytes.
    obj = json.loads(raw_rows(pool.db)[4])
    forged = resign({**obj, "body": {**obj["body"], "name": "Mallory"}}, root_key(pool), ORIGIN)
    set_raw(pool.db, 4, jcs(forged))
    verify_fails(
        pool,
        first=4,
        also=(
            "seq 4: the stored hash column(s) differ from the entry's bytes",
            "seq 5: prev is not the hash",
            "checkpoint 4: the stored entries do not",
        ),
    )


# --- whole entries ------------------------------------------------------------------------------------------
def test_deleting_an_entry_fails_verify_and_appends_refuse(pool: Pool) -> None:
    delete_entries(pool.db, [4])
    verify_fails(pool, first=5, also=("seq 5: follows seq 3",))
    append_refused(pool, mentions="run `patentpool verify`")


def test_swapping_two_entries_fails_verify(pool: Pool) -> None:
    rows = raw_rows(pool.db)
    set_raw(pool.db, 3, rows[4])
    set_raw(pool.db, 4, rows[3])
    verify_fails(pool, first=3, also=("seq 3: stored at seq 3 but the entry says seq 4",))


def test_swapping_the_last_two_entries_makes_appends_refuse(pool: Pool) -> None:
    rows = raw_rows(pool.db)
    set_raw(pool.db, HEAD - 1, rows[HEAD])
    set_raw(pool.db, HEAD, rows[HEAD - 1])
    verify_fails(pool, first=HEAD - 1)
    append_refused(pool, mentions="run `patentpool verify`")


def test_truncating_the_tail_fails_verify_and_appends_refuse(pool: Pool) -> None:
    delete_entries(pool.db, [HEAD, HEAD - 1])
    verify_fails(pool, first=HEAD - 1, also=("the tail was removed",))
    append_refused(pool, mentions=f"stored head is seq {HEAD - 2} but the latest checkpoint covers {HEAD}")


def test_truncating_tail_and_checkpoints_is_caught_by_a_kept_checkpoint(pool: Pool) -> None:
    # Removing the tail together with its checkpoints leaves a self-consistent shorter ledger; the checkpoint
    # a member kept from before proves it was rewritten.
    kept = pool.write("kept.txt", pool.run("checkpoint").stdout)
    delete_entries(pool.db, [HEAD, HEAD - 1])
    execute(pool.db, "DELETE FROM ledger_checkpoints WHERE size > :size", {"size": HEAD - 2})
    export = pool.workdir / "short.jsonl"
    pool.run("export", "-o", str(export))
    result = pool.run("verify", "--from-export", str(export), "--checkpoint", str(kept), expect=1)
    assert (
        f"Error: seq {HEAD - 1}: checkpoint {HEAD} was signed but the ledger holds only {HEAD - 2}"
        in result.stderr
    )
    # The database itself, given the kept checkpoint, says the same.
    result = pool.run("verify", "--checkpoint", str(kept), expect=1)
    assert f"POSSIBLE ROLLBACK: {kept} (tree size {HEAD})" in result.stderr


# --- signatures and keys ------------------------------------------------------------------------------------
def test_a_valid_signature_by_another_key_fails(pool: Pool) -> None:
    # The admin key's genuine signature over exactly this entry (author left as the root key).
    obj = json.loads(raw_rows(pool.db)[4])
    edit_entry(pool.db, 4, {"sig": resign(obj, ADMIN, ORIGIN)["sig"]})
    verify_fails(pool, first=4, also=("seq 4: signature does not verify under the author key",))


def test_an_entry_signed_by_a_key_before_it_was_added_fails(pool: Pool) -> None:
    obj = json.loads(raw_rows(pool.db)[4])
    forged = resign({**obj, "author": ADMIN.verifier().keyid_string}, ADMIN, ORIGIN)
    edit_entry(pool.db, 4, forged)
    verify_fails(pool, first=4, also=("is not a key of this pool",))


def test_an_entry_rewritten_to_a_revoked_key_fails(pool: Pool) -> None:
    obj = json.loads(raw_rows(pool.db)[HEAD])
    forged = resign({**obj, "author": ADMIN.verifier().keyid_string}, ADMIN, ORIGIN)
    edit_entry(pool.db, HEAD, forged)
    verify_fails(pool, first=HEAD, also=(f"was revoked at seq {HEAD - 1}",))


def _revoked_key_entry(pool: Pool) -> Entry:
    head = raw_rows(pool.db)[HEAD]
    body = {"id": "F", "name": "Member F", "role": "both"}
    return sign_entry(
        ADMIN,
        ORIGIN,
        seq=HEAD + 1,
        prev=entry_hash(head).hex(),
        kind="member.add",
        body=body,
        time=json.loads(head)["time"],
    )


def test_appending_with_a_revoked_key_fails_verify(pool: Pool) -> None:
    insert_entry_row(pool.db, _revoked_key_entry(pool))
    verify_fails(
        pool,
        first=HEAD + 1,
        also=(f"seq {HEAD + 1}: author {ADMIN.verifier().keyid_string} was revoked", "not signed for"),
    )
    append_refused(pool, mentions=f"stored head is seq {HEAD + 1}")


def test_a_revoked_key_entry_fails_even_under_a_signed_checkpoint(pool: Pool) -> None:
    # The forger also stores Merkle nodes and a root-signed checkpoint over it: only the key rule is left
    # to catch it.
    entry = _revoked_key_entry(pool)
    ledger = Ledger.open(pool.db)
    key = root_key(pool)
    with ledger.store.writer() as conn:
        ring = load_keyring(ledger.store, conn)
        previous = ledger.store.latest_checkpoint(conn)
        appender = Appender(ledger.store, conn, ring, key)
        appender.store_raw(entry, entry.encode())
        ledger._commit(appender, key, previous)
    ledger.store.close()
    errors = verify_fails(pool, first=HEAD + 1)
    assert errors == [
        f"Error: seq {HEAD + 1}: author {ADMIN.verifier().keyid_string} was revoked at seq {HEAD - 1}"
    ]


def test_the_admin_key_history_stays_valid_after_revocation(pool: Pool) -> None:
    # Entry 6 was signed by the admin key before its revocation at 7: still valid.
    store = Store(pool.db)
    try:
        with store.reader() as conn:
            report = verify_store(store, conn)
            # Only the triggers the fixture dropped are reported.
            assert [p for p in report.problems if "append-only trigger" not in str(p)] == []
            assert report.size == HEAD
            sixth = decode(store.raw_entry(conn, 6) or b"")
    finally:
        store.close()
    assert sixth.author == ADMIN.verifier().keyid_string


def test_verify_with_two_jobs_reports_the_same_problems(pool: Pool) -> None:
    edit_entry(pool.db, 3, {"time": "2020-01-01T00:00:00.000000Z"})
    one = pool.run("verify", expect=1)
    two = pool.run("verify", "--jobs", "2", expect=1)
    assert one.stderr == two.stderr and "Error: seq 3: signature does not verify" in two.stderr
    assert json.loads(one.stdout) == json.loads(two.stdout)


# --- every command reads only signed entries ----------------------------------------------------------------
def read_refused(pool: Pool, *args: str, mentions: str) -> None:
    result = pool.run(*args, expect=1)
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("Error: ") and mentions in lines[-1], result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == "", "a refused read shows nothing of what it read"


@pytest.mark.parametrize("field", ["body-value", "time", "author"])
def test_an_entry_edited_mid_ledger_is_refused_by_every_command(pool: Pool, field: str) -> None:
    # The head still matches the latest checkpoint, so only the read itself can tell: a writer must not
    # compute (and sign) new entries from a forged one, and a reader must not show it.
    obj = json.loads(raw_rows(pool.db)[4])
    edit_entry(pool.db, 4, FIELD_CHANGES[field](obj))
    append_refused(pool, mentions="seq 5: its prev is not the hash of seq 4")
    read_refused(pool, "member", "list", "-f", "json", mentions="seq 5: its prev is not the hash of seq 4")
    read_refused(pool, "log", "-f", "json", mentions="seq 5: its prev is not the hash of seq 4")
    read_refused(pool, "export", "-o", str(pool.workdir / "x.jsonl"), mentions="run `patentpool verify`")
    read_refused(pool, "log", "--since", "3", "-f", "json", mentions="the 6 entries read are not all ones")
    read_refused(pool, "log", "--kind", "member.add", "-f", "json", mentions="entries read are not all ones")
    assert not (pool.workdir / "x.jsonl").exists()  # a refused export leaves no file
    assert not list(pool.workdir.glob(".x.jsonl*"))


def test_a_forged_chain_under_the_old_checkpoints_is_refused(pool: Pool) -> None:
    # Whoever holds the root key re-signs entry 4 and every entry after it, so the chain is whole again
    # (key entries 5 and 7 included: the keyring's check is the first to see it).
    rows = raw_rows(pool.db)
    key = root_key(pool)
    prev = entry_hash(rows[3]).hex()
    for seq in range(4, HEAD + 1):
        obj = json.loads(rows[seq])
        if seq == 4:
            obj["body"] = {**obj["body"], "name": "Mallory"}
        obj["prev"] = prev
        obj["author"] = key.verifier().keyid_string
        forged = jcs(resign(obj, key, ORIGIN))
        set_raw(pool.db, seq, forged)
        prev = entry_hash(forged).hex()
    execute(
        pool.db,
        "UPDATE ledger_entries SET hash = :h WHERE seq = :seq",
        {"h": bytes.fromhex(prev), "seq": HEAD},
    )
    read_refused(pool, "member", "list", "-f", "json", mentions=f"checkpoint {HEAD} signed")
    append_refused(pool, mentions=f"checkpoint {HEAD} signed")


def test_a_rechained_whole_read_is_caught_by_the_fold(pool: Pool) -> None:
    # Entries rewritten from seq 6 to the head by the root key, chain whole: only the fold of every leaf
    # into the signed root tells (in the CLI the key entries' check, which uses stored nodes, sees it first).
    ledger = Ledger.open(pool.db)
    try:
        with ledger.reader() as reader:
            rows = [(seq, kind, raw) for seq, kind, raw, _h in reader.signed_rows()]
            signed = reader.signed
    finally:
        ledger.store.close()
    key = root_key(pool)
    forged = [row for row in rows if row[0] < 6]
    for seq, kind, raw in rows[5:]:
        obj = json.loads(raw)
        obj["prev"] = entry_hash(forged[-1][2]).hex()
        obj["author"] = key.verifier().keyid_string
        if seq == 6:
            obj["body"] = {**obj["body"], "name": "Mallory"}
        forged.append((seq, kind, jcs(resign(obj, key, ORIGIN))))
    with pytest.raises(LedgerError, match=f"do not hash to the root of checkpoint {HEAD}"):
        list(_chained(forged, signed))
    assert len(list(_chained(rows, signed))) == HEAD


def test_a_relabelled_kind_column_stops_every_writer(pool: Pool) -> None:
    # The keyring reads key entries by the kind column: relabelled, the revocation at seq 7 would vanish
    # from it and the revoked admin key could write again. The writer's whole read compares the column.
    execute(pool.db, "UPDATE ledger_entries SET kind = 'member.add' WHERE seq = 7")
    append_refused(pool, mentions="seq 7: the stored kind column is not the entry's kind")


def test_an_unreadable_row_that_keeps_its_prev_is_named(pool: Pool) -> None:
    raw = raw_rows(pool.db)[4]
    set_raw(pool.db, 4, raw[1:])  # still holds its prev and kind, but is no JSON object any more
    append_refused(pool, mentions="seq 4: the stored entry is not readable")
    read_refused(pool, "log", "-f", "json", mentions="seq 4: the stored entry is not well-formed")


def test_a_forged_key_entry_is_refused_before_it_is_trusted(pool: Pool) -> None:
    # The keyring is read before the checkpoint can be checked: its entries are checked right after.
    obj = json.loads(raw_rows(pool.db)[5])
    edit_entry(pool.db, 5, {"body": {**obj["body"], "role": "auditor"}})
    read_refused(pool, "member", "list", mentions="entries read are not all ones checkpoint 8 signed")
    append_refused(pool, mentions="entries read are not all ones checkpoint 8 signed")


def test_a_partial_read_checks_its_entries_against_the_signed_root(pool: Pool) -> None:
    obj = json.loads(raw_rows(pool.db)[3])
    edit_entry(pool.db, 3, {"body": {**obj["body"], "name": "Mallory"}})
    ledger = Ledger.open(pool.db)
    try:
        with ledger.reader() as reader:
            rows = reader.signed_rows(kinds=("member.add",))
            with pytest.raises(LedgerError, match="the 5 entries read are not all ones checkpoint 8"):
                list(rows)
            # Entries of kinds left untouched still read.
            assert [seq for seq, *_ in reader.signed_rows(kinds=("key.add", "key.revoke"))] == [5, 7]
    finally:
        ledger.store.close()


def test_reads_in_one_check_are_checked_together_when_it_ends(pool: Pool) -> None:
    obj = json.loads(raw_rows(pool.db)[3])
    edit_entry(pool.db, 3, {"body": {**obj["body"], "name": "Mallory"}})
    ledger = Ledger.open(pool.db)
    try:
        with ledger.reader() as reader:
            refused = pytest.raises(LedgerError, match="the 7 entries read are not all ones checkpoint 8")
            with refused, reader.one_check():
                assert len(list(reader.signed_rows(kinds=("member.add",)))) == 5  # not yet refused
                list(reader.signed_rows(kinds=("key.add", "key.revoke")))
            # Outside the block each read is checked by itself again.
            assert [seq for seq, *_ in reader.signed_rows(kinds=("key.add", "key.revoke"))] == [5, 7]
    finally:
        ledger.store.close()


def test_a_forged_stored_node_cannot_vouch_for_a_forged_entry(pool: Pool) -> None:
    # The forger changes entry 3 and its stored leaf: the recomputed root still differs from the signed one.
    obj = json.loads(raw_rows(pool.db)[3])
    forged = edit_entry(pool.db, 3, {"body": {**obj["body"], "name": "Mallory"}})
    execute(
        pool.db,
        "UPDATE ledger_nodes SET hash = :h WHERE level = 0 AND idx = 2",
        {"h": merkle.leaf_hash(jcs(forged))},
    )
    ledger = Ledger.open(pool.db)
    try:
        with ledger.reader() as reader, pytest.raises(LedgerError, match="not all ones checkpoint 8"):
            list(reader.signed_rows(kinds=("member.add",)))
    finally:
        ledger.store.close()


# --- the derived tables verify checks too -------------------------------------------------------------------
def verify_problems(pool: Pool) -> list[str]:
    result = pool.run("verify", expect=1)
    data = json.loads(result.stdout)
    assert [f"Error: {p}" for p in data["problems"]] == result.stderr.strip().splitlines()
    # The fixture dropped the append-only triggers to tamper; verify says so too (test_ledger_tamper_append).
    assert any("append-only trigger" in p for p in data["problems"])
    return [p for p in data["problems"] if "append-only trigger" not in p]


def test_a_wrong_stored_node_fails_verify(pool: Pool) -> None:
    execute(pool.db, "UPDATE ledger_nodes SET hash = :h WHERE level = 1 AND idx = 2", {"h": b"\0" * 32})
    assert verify_problems(pool) == [
        "Merkle node table: 1 stored node(s) differ from the tree of the stored entries (the first at "
        "level 1, index 2): proofs served from it would not verify; the database was changed outside "
        "patentpool"
    ]


def test_a_missing_and_an_extra_node_on_one_level_are_both_reported(pool: Pool) -> None:
    execute(pool.db, "DELETE FROM ledger_nodes WHERE level = 0 AND idx = 5")
    execute(pool.db, "INSERT INTO ledger_nodes (level, idx, hash) VALUES (0, 9, :h)", {"h": b"\1" * 32})
    problems = verify_problems(pool)
    assert "level 0, index 5" in problems[0]
    assert problems[1] == "Merkle node table: 1 stored node(s) beyond the tree of the stored entries"


def test_a_missing_or_extra_stored_node_fails_verify(pool: Pool) -> None:
    execute(pool.db, "DELETE FROM ledger_nodes WHERE level = 0 AND idx = 5")
    execute(pool.db, "INSERT INTO ledger_nodes (level, idx, hash) VALUES (3, 7, :h)", {"h": b"\1" * 32})
    problems = verify_problems(pool)
    assert (
        problems[0].startswith("Merkle node table: 1 stored node(s) differ")
        and "level 0, index 5" in problems[0]
    )
    assert problems[1] == "Merkle node table: 1 stored node(s) beyond the tree of the stored entries"


@pytest.mark.parametrize(("column", "value"), [("kind", "payment.add"), ("author", "x"), ("time", "t")])
def test_a_changed_index_column_fails_verify(pool: Pool, column: str, value: str) -> None:
    execute(pool.db, f"UPDATE ledger_entries SET {column} = :v WHERE seq = 3", {"v": value})
    assert verify_problems(pool) == [
        f"seq 3: the stored {column} column(s) differ from the entry's bytes (partial reads choose rows by "
        "them): the database was changed outside patentpool"
    ]


@pytest.mark.parametrize("batch", [1, 2, 3])
def test_a_partial_read_checked_a_few_leaves_at_a_time(
    pool: Pool, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    import ledger.log

    monkeypatch.setattr(ledger.log, "CHECK_BATCH", batch)
    monkeypatch.setattr(ledger.log, "SMALL_READ", batch)  # stream from the first batch on
    ledger_ = Ledger.open(pool.db)
    try:
        with ledger_.reader() as reader:
            assert [s for s, *_ in reader.signed_rows(kinds=("member.add",))] == [2, 3, 4, 6, 8]
            assert [s for s, *_ in reader.signed_rows(since=4)] == [4, 5, 6, 7, 8]
        obj = json.loads(raw_rows(pool.db)[6])
        edit_entry(pool.db, 6, {"body": {**obj["body"], "name": "Mallory"}})
        with ledger_.reader() as reader, pytest.raises(LedgerError, match="the 5 entries read are not all"):
            list(reader.signed_rows(kinds=("member.add",)))
    finally:
        ledger_.store.close()
