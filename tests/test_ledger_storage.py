"""Storage on both backends: the append-only triggers reject every change the spec names, and a ledger
exported with `patentpool export` restores byte for byte with `patentpool load`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSPHRASE, PG_ADMIN, Pool, create_pg_database, drop_pg_database
from ledger_support import jcs, raw_rows
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

import ledger.store
from ledger import merkle, triggers
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.entry import ZERO_HASH, entry_hash
from ledger.keys import SigningKey, save_key
from ledger.store import Store, StoreError
from ledger.verify import verify_store

ORIGIN = "pool.example/test"


def fresh_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Another empty database on the same backend as `db_url`, dropped after the test."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / f'other-{uuid.uuid4().hex[:8]}.db'}"
    name = create_pg_database()
    request.addfinalizer(lambda: drop_pg_database(name))
    return f"{PG_ADMIN.rpartition('/')[0]}/{name}"


# --- triggers --------------------------------------------------------------------------------------------
@dataclass
class Built:
    url: str
    dialect: str
    head: int
    head_hash: bytes
    hashes: dict[int, bytes]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """One small pool per backend; the trigger tests only try changes that must fail, so they can share it."""
    workdir = tmp_path_factory.mktemp(f"triggers-{request.param}")
    pg_name = None
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'pool.db'}"
    else:
        request.getfixturevalue("postgres_available")
        pg_name = create_pg_database()
        url = f"{PG_ADMIN.rpartition('/')[0]}/{pg_name}"
    try:
        pool = Pool(url, workdir / "root.key", workdir)
        pool.run("init", "--name", "Trigger Pool", "--origin", ORIGIN, "--currency", "USD")
        for member in "AB":
            pool.run("member", "add", member, "--name", f"Member {member}", "--role", "both")
        store = Store(url)
        with store.engine.connect() as conn:
            hashes = {
                int(r.seq): bytes(r.hash) for r in conn.execute(text("SELECT seq, hash FROM ledger_entries"))
            }
        store.close()
        head = max(hashes)
        before = raw_rows(url)
        yield Built(url, store.dialect, head, hashes[head], hashes)
        # Nothing any test tried got through.
        assert raw_rows(url) == before
        store = Store(url)
        with store.reader() as conn:
            report = verify_store(store, conn)
            assert report.ok and report.size == head, report.problems
            assert [cp.size for cp in store.all_checkpoints(conn)] == [1, 2, 3]
        store.close()
    finally:
        if pg_name:
            drop_pg_database(pg_name)


def _row(built: Built, seq: int, prev: bytes, **overrides: Any) -> dict[str, Any]:
    raw = jcs({"seq": seq, "note": "forged"})
    row = {
        "seq": seq,
        "prev": prev,
        "hash": entry_hash(raw),
        "kind": "test.note",
        "author": "x",
        "time": "2030-01-01T00:00:00.000000Z",
        "raw": raw,
    }
    row.update(overrides)
    return row


INSERT = (
    "INSERT INTO ledger_entries (seq, prev, hash, kind, author, time, raw) "
    "VALUES (:seq, :prev, :hash, :kind, :author, :time, :raw)"
)
COLUMNS = "(seq, prev, hash, kind, author, time, raw)"
VALUES = "(:seq, :prev, :hash, :kind, :author, :time, :raw)"


def _rejected(built: Built, sql: str, params: Any = None, match: str = "") -> None:
    store = Store(built.url)
    try:
        with pytest.raises(sa_exc.DBAPIError) as info, store.engine.begin() as conn:
            conn.execute(text(sql), params if params is not None else {})
        assert match in str(info.value.orig), str(info.value.orig)
    finally:
        store.close()


APPEND_ONLY = "is append-only"
CHAIN = "seq must be head+1 and prev the head hash"
CP_SIZE = "size must be the head and grow"


def test_update_of_an_entry_is_rejected(built: Built) -> None:
    _rejected(
        built,
        "UPDATE ledger_entries SET kind = 'member.update' WHERE seq = 2",
        match=f"{APPEND_ONLY}: UPDATE",
    )
    _rejected(
        built, "UPDATE ledger_entries SET raw = raw WHERE seq = :s", {"s": built.head}, match=APPEND_ONLY
    )
    _rejected(built, "UPDATE ledger_entries SET seq = seq + 100", match=APPEND_ONLY)


def test_delete_of_entries_is_rejected(built: Built) -> None:
    _rejected(
        built, "DELETE FROM ledger_entries WHERE seq = :s", {"s": built.head}, match=f"{APPEND_ONLY}: DELETE"
    )
    _rejected(built, "DELETE FROM ledger_entries WHERE seq = 1", match=APPEND_ONLY)
    # Without WHERE (SQLite's truncate optimisation must not bypass the trigger).
    _rejected(built, "DELETE FROM ledger_entries", match=APPEND_ONLY)


def test_truncate_is_rejected(built: Built) -> None:
    if built.dialect != "postgresql":
        # SQLite has no TRUNCATE: its equivalent is DELETE without WHERE (the truncate optimisation).
        _rejected(built, "DELETE FROM ledger_entries", match=APPEND_ONLY)
        _rejected(built, "DELETE FROM ledger_checkpoints", match=APPEND_ONLY)
        return
    _rejected(built, "TRUNCATE ledger_entries", match=f"{APPEND_ONLY}: TRUNCATE")
    _rejected(built, "TRUNCATE ledger_entries CASCADE", match=APPEND_ONLY)
    _rejected(built, "TRUNCATE ledger_checkpoints", match=f"{APPEND_ONLY}: TRUNCATE")


def test_replacing_an_entry_is_rejected(built: Built) -> None:
    # Replace the head (or an earlier entry) by an entry with the same seq and the right prev.
    for seq in (built.head, 2):
        params = _row(built, seq, built.hashes[seq - 1])
        if built.dialect == "sqlite":
            _rejected(
                built, f"INSERT OR REPLACE INTO ledger_entries {COLUMNS} VALUES {VALUES}", params, CHAIN
            )
            _rejected(built, f"REPLACE INTO ledger_entries {COLUMNS} VALUES {VALUES}", params, CHAIN)
        # The upsert spelling both backends accept.
        _rejected(
            built,
            f"INSERT INTO ledger_entries {COLUMNS} VALUES {VALUES} "
            "ON CONFLICT (seq) DO UPDATE SET raw = excluded.raw, hash = excluded.hash",
            params,
            CHAIN,
        )
        _rejected(
            built,
            f"INSERT INTO ledger_entries {COLUMNS} VALUES {VALUES} ON CONFLICT (seq) DO NOTHING",
            params,
            CHAIN,
        )


@pytest.mark.parametrize(
    "case",
    [
        "skip-a-seq",
        "wrong-prev",
        "prev-of-an-older-entry",
        "zero-prev",
        "second-genesis",
        "seq-zero",
        "repeat-head-seq",
    ],
)
def test_out_of_order_insert_is_rejected(built: Built, case: str) -> None:
    head, h = built.head, built.head_hash
    params = {
        "skip-a-seq": _row(built, head + 2, h),
        "wrong-prev": _row(built, head + 1, bytes(32 * [0xAB])),
        "prev-of-an-older-entry": _row(built, head + 1, built.hashes[head - 1]),
        "zero-prev": _row(built, head + 1, bytes.fromhex(ZERO_HASH)),
        "second-genesis": _row(built, 1, bytes.fromhex(ZERO_HASH)),
        "seq-zero": _row(built, 0, bytes.fromhex(ZERO_HASH)),
        "repeat-head-seq": _row(built, head, built.hashes[head - 1]),
    }[case]
    _rejected(built, INSERT, params, CHAIN)


def test_a_batch_with_one_bad_row_is_rejected_whole(built: Built) -> None:
    first = _row(built, built.head + 1, built.head_hash)
    bad = _row(built, built.head + 3, first["hash"])
    _rejected(built, INSERT, [first, bad], CHAIN)


def test_the_bulk_insert_path_is_checked_by_the_triggers_too(built: Built) -> None:
    # Appends go through Store.insert_entries (COPY on PostgreSQL, executemany on SQLite): a batch with a
    # row out of the chain is refused whole, with the trigger's reason, and nothing stays.
    store = Store(built.url)
    try:
        first = _row(built, built.head + 1, built.head_hash)
        bad = _row(built, built.head + 3, first["hash"])
        columns = ("seq", "prev", "hash", "kind", "author", "time", "raw")
        with pytest.raises((StoreError, sa_exc.DBAPIError)) as info, store.engine.begin() as conn:
            store.insert_entries(conn, [(*(row[c] for c in columns), None) for row in (first, bad)])
        assert CHAIN in str(info.value)
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT MAX(seq) FROM ledger_entries")).scalar_one() == built.head
    finally:
        store.close()


def test_the_next_entry_and_its_checkpoint_are_accepted(built: Built) -> None:
    # The triggers reject only what is wrong: head+1 with the head's hash goes in (rolled back here).
    store = Store(built.url)
    try:
        with store.engine.connect() as conn:
            tx = conn.begin()
            first = _row(built, built.head + 1, built.head_hash)
            conn.execute(text(INSERT), [first, _row(built, built.head + 2, first["hash"])])
            conn.execute(
                text(
                    "INSERT INTO ledger_checkpoints (size, root, note, created) "
                    "VALUES (:size, :root, 'n', 'c')"
                ),
                {"size": built.head + 2, "root": bytes(32)},
            )
            assert conn.execute(text("SELECT MAX(seq) FROM ledger_entries")).scalar_one() == built.head + 2
            tx.rollback()
    finally:
        store.close()


def test_checkpoints_cannot_change(built: Built) -> None:
    _rejected(
        built, "UPDATE ledger_checkpoints SET note = 'forged' WHERE size = 1", match=f"{APPEND_ONLY}: UPDATE"
    )
    _rejected(
        built,
        "DELETE FROM ledger_checkpoints WHERE size = :s",
        {"s": built.head},
        match=f"{APPEND_ONLY}: DELETE",
    )
    _rejected(built, "DELETE FROM ledger_checkpoints", match=APPEND_ONLY)


@pytest.mark.parametrize("size", ["below-head", "above-head", "same-as-latest", "zero"])
def test_a_checkpoint_of_a_bad_size_is_rejected(built: Built, size: str) -> None:
    value = {
        "below-head": built.head - 1,
        "above-head": built.head + 1,
        "same-as-latest": built.head,
        "zero": 0,
    }[size]
    params = {"size": value, "root": bytes(32)}
    _rejected(
        built,
        "INSERT INTO ledger_checkpoints (size, root, note, created) VALUES (:size, :root, 'n', 'c')",
        params,
        CP_SIZE,
    )
    if built.dialect == "sqlite":
        _rejected(
            built,
            "INSERT OR REPLACE INTO ledger_checkpoints (size, root, note, created) "
            "VALUES (:size, :root, 'n', 'c')",
            params,
            CP_SIZE,
        )


def test_the_migration_created_every_trigger(built: Built) -> None:
    store = Store(built.url)
    try:
        with store.engine.connect() as conn:
            if built.dialect == "sqlite":
                names = {
                    r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
                }
            else:
                names = {
                    r[0] for r in conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))
                }
    finally:
        store.close()
    statements = triggers.drop_statements(built.dialect) + triggers.cosignature_drop_statements(built.dialect)
    dropped = {s.split("IF EXISTS ")[1].split()[0] for s in statements}
    assert names == dropped


# --- export and restore ----------------------------------------------------------------------------------
def _export(pool: Pool, name: str = "export.jsonl") -> tuple[Path, Path, list[bytes]]:
    path = pool.workdir / name
    pool.run("export", "-o", str(path))
    checkpoint = pool.write(f"{name}.checkpoint.txt", pool.run("checkpoint").stdout)
    return path, checkpoint, path.read_bytes().splitlines()


def test_export_load_and_verify_from_export(
    example_pool: Pool, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    pool = example_pool
    size, root = pool.size_and_root()
    path, cp_file, lines = _export(pool)
    # The export is exactly the stored bytes, one entry per line, in seq order.
    assert lines == [raw for _seq, raw in sorted(raw_rows(pool.db).items())]
    assert len(lines) == size and path.read_bytes().endswith(b"\n")

    fresh = fresh_url(pool.db, tmp_path, request)
    # `--db` names the target, overriding PATENTPOOL_DB (still the source); the key comes from PATENTPOOL_KEY.
    pool.run("--db", fresh, "load", str(path), "--checkpoint", str(cp_file))
    restored = Pool(fresh, pool.key, tmp_path)
    assert restored.size_and_root() == (size, root)
    assert json.loads(restored.run("verify").stdout)["result"] == "ok"
    again, _cp, _lines = _export(restored, "again.jsonl")
    assert again.read_bytes() == path.read_bytes()
    # The restored ledger takes appends and stays consistent with the old checkpoint.
    restored.run("member", "add", "Z", "--name", "Member Z", "--role", "both")
    proof = json.loads(restored.run("prove", "consistency", str(size), str(size + 1)).stdout)
    assert proof["old_checkpoint"].splitlines()[2] == root

    result = pool.run("verify", "--from-export", str(path), "--checkpoint", str(cp_file))
    data = json.loads(result.stdout)
    assert data["result"] == "ok" and data["problems"] == []
    assert data["entries"] == size and data["root"] == root
    assert data["root_key"] == pool.run("key", "show").stdout.strip()


def _modified(lines: list[bytes], how: str) -> tuple[list[bytes], int]:
    """The export's lines changed as `how` says, and the seq where the change shows first."""
    lines = list(lines)
    if how == "body":
        obj = json.loads(lines[2])
        obj["body"]["name"] = "Mallory"
        lines[2] = jcs(obj)
        return lines, 3
    if how == "swap":
        lines[1], lines[2] = lines[2], lines[1]
        return lines, 2
    if how == "drop":
        del lines[2]
        return lines, 3
    if how == "respell":
        lines[1] = lines[1].replace(b'"seq":2', b'"seq": 2')
        return lines, 2
    raise AssertionError(how)


def test_a_modified_export_fails_verify_and_load(
    pool: Pool, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    for member in "ABC":
        pool.run("member", "add", member, "--name", f"Member {member}", "--role", "both")
    path, cp_file, lines = _export(pool)
    target = Pool(fresh_url(pool.db, tmp_path, request), pool.key, tmp_path)
    for how in ("body", "swap", "drop", "respell"):
        changed, seq = _modified(lines, how)
        bad = tmp_path / f"{how}.jsonl"
        bad.write_bytes(b"\n".join(changed) + b"\n")
        result = pool.run("verify", "--from-export", str(bad), "--checkpoint", str(cp_file), expect=1)
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error: seq ")]
        assert errors and errors[0].startswith(f"Error: seq {seq}: "), (how, result.stderr)
        result = target.run("load", str(bad), "--checkpoint", str(cp_file), expect=1)
        assert result.stderr.startswith(f"Error: seq {seq}: "), (how, result.stderr)
        # Load checks with verify's own checks: its line is verify's first.
        assert result.stderr.strip() == errors[0], (how, result.stderr, errors)
        assert len(result.stderr.strip().splitlines()) == 1
        # A refused load writes nothing: the database is still empty.
        assert not Store(target.db).exists(), how
    # A truncated export is a valid shorter ledger, but not the one the checkpoint signed.
    short = tmp_path / "short.jsonl"
    short.write_bytes(b"\n".join(lines[:-1]) + b"\n")
    result = pool.run("verify", "--from-export", str(short), "--checkpoint", str(cp_file), expect=1)
    assert (
        f"Error: seq {len(lines)}: checkpoint {len(lines)} was signed but the ledger holds only"
        in result.stderr
    )
    # Loaded, it would have the root key sign a tree inconsistent with the checkpoints it signed: a fork.
    result = target.run("load", str(short), "--checkpoint", str(cp_file), expect=1)
    assert f"the checkpoint signs {len(lines)} entries and the export holds {len(lines) - 1}" in result.stderr
    assert not Store(target.db).exists()
    # So would a longer one, or the right length under another tree's checkpoint.
    pool.run("member", "add", "D", "--name", "Member D", "--role", "both")
    longer, later_cp, _lines = _export(pool, "longer.jsonl")
    result = target.run("load", str(longer), "--checkpoint", str(cp_file), expect=1)
    assert "the export holds" in result.stderr and not Store(target.db).exists()
    # A checkpoint of another pool (or not signed by this root key) is refused too.
    other_key = SigningKey.generate("other.example/pool")
    note = sign_checkpoint(Checkpoint("other.example/pool", len(lines), merkle.EMPTY_ROOT), other_key)
    alien = pool.write("alien.cp", note)
    result = target.run("load", str(path), "--checkpoint", str(alien), expect=1)
    assert result.stderr.startswith("Error: the checkpoint: ") and not Store(target.db).exists()

    # The root key named by the export's genesis is needed to sign the restored ledger's checkpoint.
    save_key(tmp_path / "stranger.key", SigningKey.generate(ORIGIN), PASSPHRASE)
    stranger = Pool(target.db, tmp_path / "stranger.key", tmp_path)
    assert (
        "not the root key" in stranger.run("load", str(path), "--checkpoint", str(cp_file), expect=1).stderr
    )
    assert not Store(target.db).exists()
    # Without its checkpoint, a load is a usage error.
    assert target.run("load", str(path), expect=2).stderr
    # After all those refusals the good export loads, once.
    target.run("load", str(path), "--checkpoint", str(cp_file))
    assert target.size_and_root()[0] == len(lines)
    again = target.run("load", str(path), "--checkpoint", str(cp_file), expect=1)
    assert "already holds a pool ledger" in again.stderr
    mine = pool.run("load", str(longer), "--checkpoint", str(later_cp), expect=1)
    assert "already holds a pool ledger" in mine.stderr


@pytest.mark.parametrize("page_bytes", [1, 600, 1 << 30])
def test_entries_stream_in_order_whatever_the_page_size(
    built: Built, monkeypatch: pytest.MonkeyPatch, page_bytes: int
) -> None:
    # A page holds entries up to PAGE_BYTES, and always at least one (a large entry comes alone).
    monkeypatch.setattr(ledger.store, "PAGE_BYTES", page_bytes)
    expected = raw_rows(built.url)
    store = Store(built.url)
    try:
        with store.reader() as conn:
            assert dict(store.iter_raw(conn, batch=2)) == expected
            assert list(store.iter_raw(conn, batch=2)) == sorted(expected.items())
            assert [seq for seq, _raw in store.iter_raw(conn, since=2, until=3, batch=1)] == [2, 3]
    finally:
        store.close()


@pytest.mark.parametrize("run", [1, 2, 16])
def test_raw_entries_by_seq_runs_and_lists(built: Built, monkeypatch: pytest.MonkeyPatch, run: int) -> None:
    # Runs of `run` or more seqs are read as ranges, the rest by IN lists; seqs the table lacks are left out.
    monkeypatch.setattr(ledger.store, "RUN_AS_RANGE", run)
    expected = raw_rows(built.url)
    store = Store(built.url)
    try:
        with store.reader() as conn:
            for wanted in ([1, 2, 3], [3, 1], [1, 3], [2], [2, 3, 99, 100], []):
                got = store.raw_entries(conn, wanted)
                assert got == {seq: expected[seq] for seq in wanted if seq in expected}
    finally:
        store.close()


def test_kind_filtered_pages_whether_the_kinds_are_dense_or_sparse(built: Built) -> None:
    # On SQLite a kind that is most of the range is paged by the primary key, a rare one by the kind index
    # (`Store._kind_filter`): either way the rows are exactly those of the kinds, in seq order.
    store = Store(built.url)
    try:
        with store.reader() as conn:
            every = list(store.iter_entries(conn))
            for kinds in (["member.add"], ["pool.genesis"], ["member.add", "pool.genesis"], ["key.add"]):
                for since, until in ((1, None), (2, None), (1, 2), (3, 3)):
                    got = list(store.iter_entries(conn, since=since, until=until, kinds=kinds, batch=1))
                    want = [
                        row
                        for row in every
                        if row[1] in kinds and row[0] >= since and (until is None or row[0] <= until)
                    ]
                    assert got == want
    finally:
        store.close()
