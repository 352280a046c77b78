"""Signing over damage, on both backends: a writer's root key signs no checkpoint over a database whose index
columns, Merkle nodes or checkpoint rows are not what the entries make them (ledger.sidetables), and
`verify` reports what a writer cannot see: missing triggers, impossible `created` times, deleted checkpoint
rows, and a checkpoint someone kept that the ledger does not contain (a rollback or a fork).

One pool is built per backend: 10 entries (genesis, then members M1..M9), one command and one checkpoint
each. Each test tampers with it and its tables are put back afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import PG_ADMIN, Pool, build_example, create_pg_database, drop_pg_database
from ledger_support import (
    Snapshot,
    create_triggers,
    delete_entries,
    drop_triggers,
    execute,
    raw_rows,
    restore,
    snapshot,
)

HEAD = 10
ORIGIN = "pool.example/test"


@dataclass
class Built:
    url: str
    key: Path
    workdir: Path
    snapshot: Snapshot
    notes: dict[int, str]  # the checkpoint note of each size, as `checkpoint --size` prints it


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    workdir = tmp_path_factory.mktemp(f"append-{request.param}")
    pg_name = None
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'pool.db'}"
    else:
        request.getfixturevalue("postgres_available")
        pg_name = create_pg_database()
        url = f"{PG_ADMIN.rpartition('/')[0]}/{pg_name}"
    try:
        pool = Pool(url, workdir / "pool.key", workdir)
        pool.run("init", "--name", "P", "--origin", ORIGIN, "--currency", "USD")
        for i in range(1, HEAD):
            pool.run("member", "add", f"M{i}", "--name", f"Member {i}", "--role", "both")
        notes = {size: pool.run("checkpoint", "--size", str(size)).stdout for size in range(1, HEAD + 1)}
        yield Built(url, pool.key, workdir, snapshot(url), notes)
    finally:
        if pg_name:
            drop_pg_database(pg_name)


@pytest.fixture
def pool(built: Built, tmp_path: Path) -> Iterator[Pool]:
    """The built pool with its append-only triggers dropped; afterwards every table is put back as built."""
    drop_triggers(built.url)
    try:
        yield Pool(built.url, built.key, tmp_path)
    finally:
        restore(built.url, built.snapshot)


def append_refused(pool: Pool, mentions: str) -> None:
    """`member add` refuses with one `Error:` line; no entry and no checkpoint is written."""
    before = snapshot(pool.db)
    result = pool.run("member", "add", "Z", "--name", "Member Z", "--role", "both", expect=1)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert mentions in lines[0], lines[0]
    assert "checkpoint signed" not in result.stderr
    assert snapshot(pool.db) == before


def verify_problems(pool: Pool, *args: str) -> list[str]:
    result = pool.run("verify", *args, expect=1)
    data = json.loads(result.stdout)
    assert [f"Error: {p}" for p in data["problems"]] == result.stderr.strip().splitlines()
    return list(data["problems"])


def mentions(problems: list[str], text: str) -> bool:
    return any(text in p for p in problems)


def keep(pool: Pool, built: Built, size: int) -> Path:
    return pool.write(f"kept-{size}.cp", built.notes[size])


# --- what a writer refuses to sign over ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("column", "seq", "value"),
    [
        ("author", 3, "pool.example/test+00000000"),
        ("time", 4, "2020-01-01T00:00:00.000000Z"),
        ("prev", 5, b"\x01" * 32),
        ("hash", 6, b"\x02" * 32),
    ],
)
def test_an_edited_index_column_stops_every_writer(pool: Pool, column: str, seq: int, value: object) -> None:
    execute(pool.db, f"UPDATE ledger_entries SET {column} = :v WHERE seq = :s", {"v": value, "s": seq})
    append_refused(pool, f"seq {seq}: the stored index column(s) {column} differ")
    assert mentions(verify_problems(pool), f"seq {seq}: the stored {column} column(s) differ")


@pytest.mark.parametrize(
    ("sql", "level"),
    [
        ("UPDATE ledger_nodes SET hash = :h WHERE level = 2 AND idx = 0", "level 2"),
        ("UPDATE ledger_nodes SET hash = :h WHERE level = 0 AND idx = 3", "level 0"),
        ("DELETE FROM ledger_nodes WHERE level = 1 AND idx = 2", "level 1"),
        ("INSERT INTO ledger_nodes (level, idx, hash) VALUES (0, 40, :h)", "beyond the signed tree"),
    ],
)
def test_a_damaged_node_table_stops_every_writer(pool: Pool, sql: str, level: str) -> None:
    # None of these nodes is on the right edge the new entries are folded onto: only proofs would suffer.
    execute(pool.db, sql, {"h": b"\x07" * 32})
    append_refused(pool, level)
    assert mentions(verify_problems(pool), "Merkle node table")


def test_an_old_checkpoint_with_a_broken_signature_stops_every_writer(pool: Pool, built: Built) -> None:
    note = built.notes[5]
    broken = note[:-10] + ("A" if note[-10] != "A" else "B") + note[-9:]
    execute(pool.db, "UPDATE ledger_checkpoints SET note = :n WHERE size = 5", {"n": broken})
    append_refused(pool, "stored checkpoint 5 does not verify")
    assert mentions(verify_problems(pool), "checkpoint 5: signature or form")


def test_an_old_checkpoint_root_column_stops_every_writer(pool: Pool) -> None:
    execute(pool.db, "UPDATE ledger_checkpoints SET root = :r WHERE size = 4", {"r": b"\x03" * 32})
    append_refused(pool, "stored checkpoint 4 is not a signed root")
    assert mentions(verify_problems(pool), "checkpoint 4: stored row differs from its signed note")


def test_an_old_checkpoint_of_another_ledger_stops_every_writer(
    pool: Pool, built: Built, pool_factory: object
) -> None:
    # A note the pool's key really signed, for the same size, but over another history (a fork's).
    other: Pool = pool_factory(f"sqlite:///{pool.workdir / 'fork.db'}", init=False)  # type: ignore[operator]
    other.key = built.key
    other.env["PATENTPOOL_KEY"] = str(built.key)
    other.run("init", "--name", "Fork", "--origin", ORIGIN, "--currency", "USD")
    other.run("member", "add", "X1", "--name", "Someone else", "--role", "both")
    foreign = other.run("checkpoint").stdout
    root = raw_root(foreign)
    execute(
        pool.db,
        "UPDATE ledger_checkpoints SET note = :n, root = :r WHERE size = 2",
        {"n": foreign, "r": root},
    )
    append_refused(pool, "stored checkpoint 2 is not a signed root of the stored entries")
    assert mentions(verify_problems(pool), "checkpoint 2: the stored entries do not hash to its signed root")


def raw_root(note: str) -> bytes:
    import base64

    return base64.b64decode(note.splitlines()[2])


def test_an_untouched_ledger_still_appends_and_verifies(pool: Pool) -> None:
    create_triggers(pool.db)
    pool.run("member", "add", "Z", "--name", "Member Z", "--role", "both")
    assert json.loads(pool.run("verify").stdout)["result"] == "ok"


# --- what verify reports ------------------------------------------------------------------------------------
def test_missing_triggers_are_reported(pool: Pool) -> None:
    problems = verify_problems(pool)
    assert len(problems) == 1 and "append-only trigger" in problems[0] and "missing" in problems[0]
    create_triggers(pool.db)
    assert json.loads(pool.run("verify").stdout)["result"] == "ok"


@pytest.mark.parametrize("created", ["yesterday", "2001-01-01T00:00:00.000000Z"])
def test_an_edited_created_column_is_reported(pool: Pool, created: str) -> None:
    execute(pool.db, "UPDATE ledger_checkpoints SET created = :c WHERE size = 3", {"c": created})
    assert mentions(verify_problems(pool), f"checkpoint 3: its stored created time {created!r}")


def test_a_deleted_checkpoint_row_is_reported_with_a_kept_checkpoint(pool: Pool, built: Built) -> None:
    kept = keep(pool, built, 6)
    execute(pool.db, "DELETE FROM ledger_checkpoints WHERE size = 6")
    problems = verify_problems(pool, "--checkpoint", str(kept))
    assert mentions(problems, f"{kept} (tree size 6) was signed by the pool's key and matches the entries")
    assert mentions(problems, "append-only trigger")  # the deletion needed them gone


def test_a_consistent_rollback_is_a_possible_rollback_for_a_kept_checkpoint(pool: Pool, built: Built) -> None:
    kept = keep(pool, built, HEAD)
    delete_entries(pool.db, [HEAD, HEAD - 1])
    execute(pool.db, "DELETE FROM ledger_checkpoints WHERE size > :s", {"s": HEAD - 2})
    for level in range(5):
        execute(
            pool.db,
            "DELETE FROM ledger_nodes WHERE level = :l AND idx >= :i",
            {"l": level, "i": (HEAD - 2) >> level},
        )
    create_triggers(pool.db)  # the forger puts them back: alone, the shorter ledger is self-consistent
    assert json.loads(pool.run("verify").stdout)["result"] == "ok"
    problems = verify_problems(pool, "--checkpoint", str(kept), "--checkpoint", str(keep(pool, built, 3)))
    assert problems == [
        f"POSSIBLE ROLLBACK: {kept} (tree size {HEAD}) was signed by the pool's key, but this ledger holds "
        f"only {HEAD - 2} entries: entries the pool signed were removed, or this is an old copy of it"
    ]
    assert json.loads(pool.run("verify", "--checkpoint", str(keep(pool, built, 3))).stdout)["result"] == "ok"


def test_a_fork_signed_by_the_same_key_is_a_possible_fork(
    pool: Pool, built: Built, pool_factory: object
) -> None:
    fork: Pool = pool_factory(f"sqlite:///{pool.workdir / 'fork.db'}", init=False)  # type: ignore[operator]
    fork.key = built.key
    fork.env["PATENTPOOL_KEY"] = str(built.key)
    fork.run("init", "--name", "P", "--origin", ORIGIN, "--currency", "USD")
    for i in range(1, 5):
        fork.run("member", "add", f"M{i}", "--name", f"Another {i}", "--role", "both")
    problems = verify_problems(fork, "--checkpoint", str(keep(pool, built, 4)))
    assert problems == [
        f"POSSIBLE FORK: {pool.workdir / 'kept-4.cp'} (tree size 4) was signed by the pool's key, but this "
        "ledger's first 4 entries hash to another root: entries the pool signed were rewritten"
    ]


def test_a_checkpoint_of_another_key_is_the_users_mistake(pool: Pool, pool_factory: object) -> None:
    other: Pool = pool_factory(f"sqlite:///{pool.workdir / 'other.db'}")  # type: ignore[operator]
    note = pool.write("other.cp", other.run("checkpoint").stdout)
    problems = verify_problems(pool, "--checkpoint", str(note))
    assert mentions(problems, f"{note}: not a checkpoint this pool's key signed")
    assert not mentions(problems, "POSSIBLE")


# --- a statement bundle from a rolled-back ledger -----------------------------------------------------------
def test_statement_since_a_checkpoint_the_ledger_lost_is_a_possible_rollback(
    tmp_path: Path, pool_factory: object
) -> None:
    books: Pool = pool_factory(f"sqlite:///{tmp_path / 'books.db'}")  # type: ignore[operator]
    build_example(books, payments=False)
    books.run("allocate", "--program", "XR", "--period", "2025Q1")
    size = books.size_and_root()[0]
    books.run("member", "add", "Z1", "--name", "Later member", "--role", "both")
    kept = books.write("kept.cp", books.run("checkpoint").stdout)
    drop_triggers(books.db)
    delete_entries(books.db, [size + 1])
    execute(books.db, "DELETE FROM ledger_checkpoints WHERE size > :s", {"s": size})
    for level in range(6):
        execute(
            books.db,
            "DELETE FROM ledger_nodes WHERE level = :l AND idx >= :i",
            {"l": level, "i": size >> level},
        )
    create_triggers(books.db)
    assert raw_rows(books.db).keys() == set(range(1, size + 1))
    args = ["statement", "--member", "C", "--period", "2025Q1", "--bundle", str(tmp_path / "b.json")]
    result = books.run(*args, "--since", str(kept), expect=1)
    assert result.stderr.startswith(
        f"Error: POSSIBLE ROLLBACK: the --since checkpoint (tree size {size + 1})"
    )
    assert not (tmp_path / "b.json").exists()
