"""The ledger commands of the CLI on both backends: init, key show/add/revoke, checkpoint, prove, log, verify.

Proofs and checkpoints are checked the way a member would check them: with ledger.merkle's RFC 9162 verifiers
and ledger.checkpoint's C2SP note verifier, against the pool's verifier key string from `key show`.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSPHRASE, PG_ADMIN, Pool, create_pg_database, drop_pg_database
from ledger_support import raw_rows, seeded_key

from ledger import merkle
from ledger.checkpoint import Checkpoint, CheckpointError, NoteError, verify_checkpoint
from ledger.keys import VerifierKey, save_key
from ledger.store import Store

ORIGIN = "pool.example/test"


def other_url(like: str, tmp_path: Path, request: pytest.FixtureRequest, name: str = "other") -> str:
    if like.startswith("sqlite"):
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    db = create_pg_database()
    request.addfinalizer(lambda: drop_pg_database(db))
    return f"{PG_ADMIN.rpartition('/')[0]}/{db}"


def exported(pool: Pool) -> list[bytes]:
    path = pool.workdir / "cli-export.jsonl"
    pool.run("export", "-o", str(path))
    return path.read_bytes().splitlines()


def verified(note: str, vkey: VerifierKey) -> Checkpoint:
    return verify_checkpoint(note, vkey, ORIGIN)


# --- a pool with several checkpoints, shared by the read-only tests ---------------------------------------
@dataclass
class Built:
    pool: Pool
    vkey: VerifierKey
    lines: list[bytes]
    sizes: list[int]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    workdir = tmp_path_factory.mktemp(f"cli-{request.param}")
    pg_name = None
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'pool.db'}"
    else:
        request.getfixturevalue("postgres_available")
        pg_name = create_pg_database()
        url = f"{PG_ADMIN.rpartition('/')[0]}/{pg_name}"
    try:
        pool = Pool(url, workdir / "root.key", workdir)
        init = pool.run("init", "--name", "CLI Pool", "--origin", ORIGIN, "--currency", "USD")
        pool.run("member", "add", "A", "--name", "Member A", "--role", "both")
        pool.run("member", "add", "B", "--name", "Bé Ltd", "--role", "licensor")
        csv = pool.write(
            "members.csv", "id,name,role\n" + "".join(f"M{i},Member {i},licensee\n" for i in range(6))
        )
        pool.run("member", "import", str(csv))
        pool.run("key", "add", "--vkey", str(seeded_key(ORIGIN, 3).verifier()), "--role", "auditor")
        pool.run("member", "add", "C", "--name", "Member C", "--role", "both")
        vkey = VerifierKey.parse(pool.run("key", "show").stdout.strip())
        assert init.stdout.strip() == str(vkey)
        yield Built(pool, vkey, exported(pool), [1, 2, 3, 9, 10, 11])
    finally:
        if pg_name:
            drop_pg_database(pg_name)


def test_checkpoint_prints_a_note_that_verifies(built: Built) -> None:
    pool, lines = built.pool, built.lines
    store = Store(pool.db)
    with store.reader() as conn:
        assert [cp.size for cp in store.all_checkpoints(conn)] == built.sizes
    store.close()
    note = pool.run("checkpoint").stdout
    cp = verified(note, built.vkey)
    assert note.splitlines()[:3] == [ORIGIN, str(len(lines)), base64.b64encode(cp.root).decode()]
    assert note.splitlines()[4].startswith(f"— {ORIGIN} ")
    assert cp.size == len(lines) == 11
    leaves = [merkle.leaf_hash(raw) for raw in lines]
    assert cp.root == merkle.root_of(leaves)
    for size in built.sizes:
        old = verified(pool.run("checkpoint", "--size", str(size)).stdout, built.vkey)
        assert (old.size, old.root) == (size, merkle.root_of(leaves[:size]))
    # Only the pool's key, and only for the pool's origin.
    with pytest.raises(NoteError):
        verify_checkpoint(note, seeded_key(ORIGIN, 3).verifier(), ORIGIN)
    with pytest.raises(CheckpointError):
        verify_checkpoint(note, built.vkey, "pool.example/other")
    result = pool.run("checkpoint", "--size", "4", expect=1)
    assert result.stderr.startswith("Error: no signed checkpoint at tree size 4")


def _inclusion(pool: Pool, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(pool.run("prove", "inclusion", *args).stdout)
    return result


def test_prove_inclusion_verifies_against_the_checkpoint(built: Built) -> None:
    pool, lines = built.pool, built.lines
    for seq in range(1, len(lines) + 1):
        proof = _inclusion(pool, str(seq))
        cp = verified(proof["checkpoint"], built.vkey)
        leaf = merkle.leaf_hash(lines[seq - 1])
        hashes = [base64.b64decode(h) for h in proof["proof"]]
        assert (proof["seq"], proof["leaf_index"], proof["tree_size"]) == (seq, seq - 1, cp.size)
        assert base64.b64decode(proof["leaf_hash"]) == leaf
        merkle.verify_inclusion(leaf, seq - 1, cp.size, hashes, cp.root)
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(
                merkle.leaf_hash(lines[seq - 1] + b" "), seq - 1, cp.size, hashes, cp.root
            )
    # Against an older signed checkpoint.
    for size, seq in [(3, 2), (9, 9), (9, 4), (1, 1)]:
        proof = _inclusion(pool, str(seq), "--size", str(size))
        cp = verified(proof["checkpoint"], built.vkey)
        assert cp.size == size == proof["tree_size"]
        merkle.verify_inclusion(
            merkle.leaf_hash(lines[seq - 1]),
            seq - 1,
            size,
            [base64.b64decode(h) for h in proof["proof"]],
            cp.root,
        )
    for bad in (["0"], [str(len(lines) + 1)], ["5", "--size", "3"], ["2", "--size", "5"]):
        result = pool.run("prove", "inclusion", *bad, expect=1)
        assert result.stderr.startswith("Error: ") and len(result.stderr.splitlines()) == 1


def test_prove_consistency_verifies_between_checkpoints(built: Built) -> None:
    pool = built.pool
    roots = {
        size: verified(pool.run("checkpoint", "--size", str(size)).stdout, built.vkey).root
        for size in built.sizes
    }
    pairs = [(old, new) for old in built.sizes for new in built.sizes if old < new]
    assert len(pairs) == 15
    for old, new in pairs:
        out = json.loads(pool.run("prove", "consistency", str(old), str(new)).stdout)
        assert (out["old_size"], out["new_size"]) == (old, new)
        assert verified(out["old_checkpoint"], built.vkey).root == roots[old]
        assert verified(out["new_checkpoint"], built.vkey).root == roots[new]
        proof = [base64.b64decode(h) for h in out["proof"]]
        merkle.verify_consistency(old, new, roots[old], roots[new], proof)
        if proof:
            with pytest.raises(merkle.ProofError):
                merkle.verify_consistency(old, new, roots[old], roots[new], proof[:-1])
    result = pool.run("prove", "consistency", "3", "4", expect=1)
    assert "no signed checkpoint at tree size 4" in result.stderr
    result = pool.run("prove", "consistency", "9", "3", expect=1)
    assert result.stderr.startswith("Error: consistency needs 0 <= OLD <= NEW")


def test_log_by_kind_as_json(built: Built) -> None:
    pool, lines = built.pool, built.lines
    entries = [json.loads(raw) for raw in lines]
    got = json.loads(pool.run("log", "--kind", "member.add", "-f", "json").stdout)
    want = [e for e in entries if e["kind"] == "member.add"]
    assert got == want and len(got) == 9
    assert [e["body"]["id"] for e in got] == ["A", "B", *(f"M{i}" for i in range(6)), "C"]
    assert json.loads(pool.run("log", "--kind", "key.add", "-f", "json").stdout) == [entries[9]]
    assert json.loads(pool.run("log", "-f", "json").stdout) == entries
    assert json.loads(pool.run("log", "--since", "10", "-f", "json").stdout) == entries[9:]
    unknown = pool.run("log", "--kind", "no.such.kind", "-f", "json", expect=2)
    assert "unknown entry kind 'no.such.kind'" in unknown.stderr and "member.add" in unknown.stderr
    assert unknown.stdout == ""
    assert pool.run("log", "--kind", "patent.add", "-f", "json").stdout == "[]\n"


def test_log_as_csv_and_table(built: Built) -> None:
    pool, lines = built.pool, built.lines
    entries = [json.loads(raw) for raw in lines]
    rows = list(csv.DictReader(io.StringIO(pool.run("log", "-f", "csv").stdout)))
    assert [int(r["seq"]) for r in rows] == [e["seq"] for e in entries]
    assert [r["kind"] for r in rows] == [e["kind"] for e in entries]
    genesis = entries[0]["body"]
    # The whole summary in CSV, every top-level text field of the body.
    assert (
        f"name={genesis['name']}" in rows[0]["summary"]
        and f"root_key={genesis['root_key']}" in rows[0]["summary"]
    )
    assert len(rows[0]["summary"]) > 100
    table = pool.run("log", "-f", "table").stdout
    assert "Ledger" in table and "\u2026" in table  # the genesis summary is cut, and says so


def test_verify_with_two_jobs(built: Built) -> None:
    one = json.loads(built.pool.run("verify").stdout)
    two = json.loads(built.pool.run("verify", "--jobs", "2").stdout)
    assert one == two
    assert two["result"] == "ok" and two["entries"] == 11 and two["members"] == 9
    assert base64.b64decode(two["root"]) == verified(built.pool.run("checkpoint").stdout, built.vkey).root


# --- init ------------------------------------------------------------------------------------------------
def test_init_refuses_an_initialised_database(built: Built) -> None:
    pool = built.pool
    before = raw_rows(pool.db)
    for origin in (ORIGIN, "pool.example/other"):
        result = pool.run("init", "--name", "Again", "--origin", origin, "--currency", "EUR", expect=1)
        assert result.stderr.startswith("Error: ") and "already holds a pool ledger" in result.stderr
        assert len(result.stderr.splitlines()) == 1
    assert raw_rows(pool.db) == before


def test_init_refuses_a_key_file_made_for_another_origin(
    built: Built, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    pool = built.pool
    key_bytes = pool.key.read_bytes()
    other = Pool(other_url(pool.db, tmp_path, request), pool.key, tmp_path)
    result = other.run(
        "init", "--name", "Other", "--origin", "pool.example/other", "--currency", "USD", expect=1
    )
    assert result.stderr.startswith("Error: key file ") and f"belongs to origin '{ORIGIN}'" in result.stderr
    assert pool.key.read_bytes() == key_bytes
    assert not Store(other.db).exists()
    # The same key file for its own origin starts another ledger under the same root key.
    ok = other.run("init", "--name", "Other", "--origin", ORIGIN, "--currency", "USD")
    assert ok.stdout.strip() == pool.run("key", "show").stdout.strip()


# --- keys ------------------------------------------------------------------------------------------------
def test_key_show_prints_the_verifier_key(built: Built, tmp_path: Path) -> None:
    pool = Pool(built.pool.db, built.pool.key, tmp_path)
    text = pool.run("key", "show").stdout
    assert text.endswith("\n") and len(text.splitlines()) == 1
    vkey = VerifierKey.parse(text.strip())
    assert vkey.name == ORIGIN and str(vkey) == text.strip()
    genesis = json.loads(pool.run("log", "-f", "json").stdout)[0]
    assert genesis["body"]["root_key"] == str(vkey)
    assert genesis["author"] == vkey.keyid_string
    # key show needs no passphrase: it reads only the public half.
    pool.env.pop("PATENTPOOL_PASSPHRASE")
    assert pool.run("key", "show").stdout == text
    missing = Pool(pool.db, pool.workdir / "missing.key", pool.workdir)
    assert missing.run("key", "show", expect=1).stderr.startswith("Error: no key file at")


ADMIN_KEY, AUDITOR_KEY = seeded_key(ORIGIN, 11), seeded_key(ORIGIN, 12)


@pytest.fixture(scope="module")
def role_key_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Key files of an admin and an auditor key, written once (scrypt is slow on purpose)."""
    workdir = tmp_path_factory.mktemp("role-keys")
    save_key(workdir / "admin.key", ADMIN_KEY, PASSPHRASE)
    save_key(workdir / "auditor.key", AUDITOR_KEY, PASSPHRASE)
    return workdir / "admin.key", workdir / "auditor.key"


def test_key_add_and_revoke_only_by_the_root_key(pool: Pool, role_key_files: tuple[Path, Path]) -> None:
    admin_key, auditor_key = ADMIN_KEY, AUDITOR_KEY
    admin = Pool(pool.db, role_key_files[0], pool.workdir)
    admin.env["PATENTPOOL_ROOT_KEY"] = str(pool.key)
    auditor = Pool(pool.db, role_key_files[1], pool.workdir)
    auditor.env["PATENTPOOL_ROOT_KEY"] = str(pool.key)
    admin_id = admin_key.verifier().keyid_string

    def refused(p: Pool, *args: str, mentions: str) -> None:
        before = raw_rows(pool.db)
        result = p.run(*args, expect=1)
        assert result.stderr.startswith("Error: ") and mentions in result.stderr, result.stderr
        assert raw_rows(pool.db) == before

    # Before it is added, the admin key writes nothing.
    refused(admin, "member", "add", "X", "--name", "X", "--role", "both", mentions="not a key of this pool")
    pool.run("key", "add", "--vkey", str(admin_key.verifier()), "--role", "admin")
    pool.run("key", "add", "--vkey", str(auditor_key.verifier()), "--role", "auditor")
    admin.run("member", "add", "A", "--name", "Member A", "--role", "both")
    entries = json.loads(pool.run("log", "-f", "json").stdout)
    assert [(e["kind"], e["author"]) for e in entries[1:]] == [
        ("key.add", VerifierKey.parse(pool.run("key", "show").stdout.strip()).keyid_string),
        ("key.add", entries[1]["author"]),
        ("member.add", admin_id),
    ]
    assert entries[1]["body"] == {"vkey": str(admin_key.verifier()), "role": "admin"}

    # Only the root key adds or revokes keys.
    third = seeded_key(ORIGIN, 13).verifier()
    refused(
        admin,
        "key",
        "add",
        "--vkey",
        str(third),
        "--role",
        "admin",
        mentions="role admin may not write key.add",
    )
    refused(
        admin,
        "key",
        "revoke",
        auditor_key.verifier().keyid_string,
        mentions="role admin may not write key.revoke",
    )
    refused(
        auditor,
        "key",
        "add",
        "--vkey",
        str(third),
        "--role",
        "auditor",
        mentions="role auditor may not write",
    )
    refused(
        auditor, "member", "add", "Y", "--name", "Y", "--role", "both", mentions="role auditor may not write"
    )
    # Without the root key at hand an admin cannot sign the checkpoint.
    admin.env.pop("PATENTPOOL_ROOT_KEY")
    refused(
        admin, "member", "add", "Y", "--name", "Y", "--role", "both", mentions="checkpoints are signed by"
    )
    admin.env["PATENTPOOL_ROOT_KEY"] = str(pool.key)
    # Bad key entries, even from the root key.
    refused(
        pool,
        "key",
        "add",
        "--vkey",
        str(seeded_key("pool.example/other", 14).verifier()),
        "--role",
        "admin",
        mentions="pool keys are named",
    )
    refused(
        pool, "key", "add", "--vkey", str(admin_key.verifier()), "--role", "admin", mentions="already known"
    )
    refused(pool, "key", "add", "--vkey", "not-a-key", "--role", "admin", mentions="vkey")
    refused(
        pool,
        "key",
        "revoke",
        VerifierKey.parse(pool.run("key", "show").stdout.strip()).keyid_string,
        mentions="root key cannot be revoked",
    )
    refused(pool, "key", "revoke", f"{ORIGIN}+00000000", mentions="unknown key")

    pool.run("key", "revoke", admin_id, "--reason", "laptop lost")
    revoked_at = pool.size_and_root()[0]
    refused(pool, "key", "revoke", admin_id, mentions=f"already revoked at seq {revoked_at}")
    refused(
        admin, "member", "add", "Z", "--name", "Z", "--role", "both", mentions=f"revoked at seq {revoked_at}"
    )
    last = json.loads(pool.run("log", "--since", str(revoked_at), "-f", "json").stdout)
    assert last == [{**last[0], "kind": "key.revoke", "body": {"key": admin_id, "reason": "laptop lost"}}]
    # The revocation never un-signs what the admin key wrote before it.
    result = json.loads(pool.run("verify").stdout)
    assert result["result"] == "ok" and result["members"] == 1
