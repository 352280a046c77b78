"""Witnesses through the CLI (spec 7 and 8a, Cosignatures), on SQLite and PostgreSQL: `key generate-witness`,
`cosign` (from an export or a database, consistent with the witness's own state), `checkpoint
add-cosignature` into the append-only cosignatures table, and bundles whose cosigned checkpoints
`verify-statement --witness` requires."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import Pool
from ledger_support import execute
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cli import main
from ledger import triggers
from ledger.checkpoint import split_note
from ledger.cosignature import CosignerKey, verify_cosignatures
from ledger.store import Store

PERIOD = "2025Q1"
ORIGIN = "pool.example/test"
# verify-statement needs no database or key file: point both somewhere that does not exist.
OFFLINE_ENV = {
    "PATENTPOOL_DB": "sqlite:////nonexistent-dir/never.db",
    "PATENTPOOL_KEY": "/nonexistent-dir/no.key",
    "NO_COLOR": "1",
}


class Witness:
    """A witness (or auditor) with its own key file and state directory, running the CLI as its operator."""

    def __init__(self, pool: Pool, name: str) -> None:
        self.pool = pool
        self.key = pool.workdir / f"{name.replace('/', '_')}.key"
        self.vkey = pool.run("key", "generate-witness", name, "--key", str(self.key)).stdout.strip()
        self.state = pool.workdir / f"{name.replace('/', '_')}.state"

    @property
    def keyid(self) -> str:
        """<name>+<8 hex key id>: the verifier key string without its key (split at the first two '+')."""
        return "+".join(self.vkey.split("+", 2)[:2])

    def cosign(self, checkpoint: Path, *source: str, expect: int = 0) -> Result:
        args = ["cosign", str(checkpoint), "--key", str(self.key), "--state", str(self.state), *source]
        return self.pool.run(*args, expect=expect)

    def state_file(self) -> Path:
        return self.state / "pool.example%2Ftest.json"


def checkpoint_file(pool: Pool, name: str) -> Path:
    return pool.write(name, pool.run("checkpoint").stdout)


def export(pool: Pool, name: str = "export.jsonl") -> Path:
    path = pool.workdir / name
    pool.run("export", "-o", str(path))
    return path


def size_of(note: str) -> int:
    return int(note.splitlines()[1])


def stored(pool: Pool) -> list[Any]:
    store = Store(pool.db)
    try:
        with store.engine.connect() as conn:
            return store.cosignatures(conn)
    finally:
        store.close()


def bundle(pool: Pool, name: str, member: str = "A") -> tuple[Path, dict[str, Any]]:
    path = pool.workdir / name
    pool.run("statement", "--member", member, "--period", PERIOD, "--bundle", str(path), "-f", "json")
    return path, json.loads(path.read_text(encoding="utf-8"))


def verify_statement(pool: Pool, path: Path, *witnesses: str) -> Result:
    vkey = pool.run("key", "show").stdout.strip()
    args = ["verify-statement", str(path), "--vkey", vkey, *[a for w in witnesses for a in ("--witness", w)]]
    return CliRunner().invoke(main, args, env=OFFLINE_ENV, catch_exceptions=False)


@pytest.fixture
def allocated(example_pool: Pool) -> Pool:
    example_pool.run("allocate", "--program", "XR", "--period", PERIOD)
    return example_pool


# --- cosign, add, require ----------------------------------------------------------------------------------
def test_cosign_add_and_require_in_a_bundle(allocated: Pool) -> None:
    pool = allocated
    cp = checkpoint_file(pool, "cp.txt")
    note = cp.read_text(encoding="utf-8")
    w1, w2 = Witness(pool, "witness.example/w1"), Witness(pool, "auditor.example/a1")
    assert w1.vkey.startswith("witness.example/w1+") and CosignerKey.parse(w1.vkey)

    # w1 works from the export, w2 from the database itself.
    first = w1.cosign(cp, "--export", str(export(pool)))
    second = w2.cosign(cp, "--db", pool.db)
    for result, witness in ((first, w1), (second, w2)):
        assert result.stdout.startswith(note)  # the pool's note, then one more signature line
        extra = result.stdout[len(note) :].splitlines()
        assert len(extra) == 1 and extra[0].startswith(f"— {witness.vkey.split('+')[0]} ")
        body, cosignatures = verify_cosignatures(result.stdout, CosignerKey.parse(witness.vkey))
        assert body == split_note(note)[0] and len(cosignatures) == 1
        assert "first cosignature for pool.example/test: pinned the pool key" in result.stderr
        state = json.loads(witness.state_file().read_text(encoding="utf-8"))
        assert state["checkpoint"] == note and state["cosigner"] == witness.keyid

    cosigned = [pool.write("w1.cosigned", first.stdout), pool.write("w2.cosigned", second.stdout)]
    added = pool.run("checkpoint", "add-cosignature", str(cosigned[0]), "--witness", w1.vkey)
    assert f"stored: cosignature by {w1.keyid} of checkpoint {size_of(note)}" in added.stderr
    again = pool.run("checkpoint", "add-cosignature", str(cosigned[0]), "--witness", w1.vkey)
    assert "already stored" in again.stderr
    # Both witnesses' lines in one note, the witness key given as a file.
    both = pool.write("both.cosigned", first.stdout + second.stdout[len(note) :])
    w2_file = pool.write("w2.vkey", w2.vkey + "\n")
    pool.run("checkpoint", "add-cosignature", str(both), "--witness", w1.vkey, "--witness", str(w2_file))
    rows = stored(pool)
    assert sorted(r.cosigner for r in rows) == sorted(w.keyid for w in (w1, w2))
    assert {r.size for r in rows} == {size_of(note)}

    # `checkpoint --cosigned` prints the note with every cosignature the pool keeps for it.
    printed = pool.run("checkpoint", "--cosigned").stdout
    assert printed.startswith(note)
    assert sorted(printed[len(note) :].splitlines()) == sorted(both.read_text()[len(note) :].splitlines())
    assert pool.run("checkpoint").stdout == note

    path, doc = bundle(pool, "a.json")
    assert len(doc["cosigned"]) == 1
    item = doc["cosigned"][0]
    assert sorted(item["witnesses"]) == sorted([w1.vkey, w2.vkey])
    assert item["consistency"] == []  # the bundle's checkpoint is the one they cosigned
    result = verify_statement(pool, path, w1.vkey, w2.vkey)
    assert result.exit_code == 0, result.output
    for w in (w1, w2):
        assert f"witness {w.keyid}: cosigned checkpoint {size_of(note)}" in result.stdout
    assert "VERDICT: statement verified" in result.stdout
    # A licensee's invoice bundle carries them too.
    invoice = pool.workdir / "l1.json"
    pool.run("invoice", "--licensee", "L1", "--period", PERIOD, "--bundle", str(invoice), "-f", "json")
    assert json.loads(invoice.read_text(encoding="utf-8"))["cosigned"] == doc["cosigned"]
    result = verify_statement(pool, invoice, w1.vkey)
    assert result.exit_code == 0, result.output
    assert f"witness {w1.keyid}: cosigned checkpoint {size_of(note)}" in result.stdout
    assert "VERDICT: invoice verified" in result.stdout
    # The stored cosignatures pass `verify`.
    assert pool.json("verify")["result"] == "ok"


def test_cosignatures_table_is_append_only(pool: Pool) -> None:
    pool.run("member", "add", "A", "--name", "Alpha", "--role", "both")
    cp = checkpoint_file(pool, "cp.txt")
    w1 = Witness(pool, "witness.example/w1")
    cosigned = pool.write("cp.cosigned", w1.cosign(cp, "--db", pool.db).stdout)
    pool.run("checkpoint", "add-cosignature", str(cosigned), "--witness", w1.vkey)
    before = stored(pool)
    assert len(before) == 1
    dialect = Store(pool.db).dialect
    changes = [
        "UPDATE ledger_cosignatures SET line = 'x'",
        "UPDATE ledger_cosignatures SET timestamp = timestamp + 1",
        "DELETE FROM ledger_cosignatures",
        # A row beside no stored checkpoint.
        "INSERT INTO ledger_cosignatures VALUES (999, 'w+00000000', 1, 'v', 'l', 'c')",
    ]
    if dialect == "postgresql":
        changes.append("TRUNCATE ledger_cosignatures")
    for sql in changes:
        with pytest.raises(DBAPIError):
            execute(pool.db, sql)
    assert stored(pool) == before


def test_a_witness_is_required_for_the_allocation(example_pool: Pool) -> None:
    pool = example_pool
    w1, w3 = Witness(pool, "witness.example/w1"), Witness(pool, "witness.example/w3")
    early = checkpoint_file(pool, "early.txt")  # before the allocation
    pool.run(
        "checkpoint",
        "add-cosignature",
        str(pool.write("early.cosigned", w1.cosign(early, "--db", pool.db).stdout)),
        "--witness",
        w1.vkey,
    )
    pool.run("allocate", "--program", "XR", "--period", PERIOD)
    path, doc = bundle(pool, "a.json")
    assert doc["cosigned"][0]["consistency"]  # a proof from the early checkpoint to the bundle's

    # Too small: cosigned, but before the allocation was recorded.
    result = verify_statement(pool, path, w1.vkey)
    assert result.exit_code == 1
    assert "is " + str(size_of(early.read_text())) + ", older than the allocation" in result.stderr
    # Missing: a witness that never cosigned.
    result = verify_statement(pool, path, w3.vkey)
    assert result.exit_code == 1
    assert f"witness {w3.keyid}: the bundle carries no cosignature" in result.stderr
    # Without --witness the cosignature is checked and listed, and said not to cover the allocation.
    result = verify_statement(pool, path)
    assert result.exit_code == 0, result.output
    assert "does NOT hold the allocation" in result.stdout
    # A bundle made before bundles carried cosignatures still verifies, and satisfies no --witness.
    legacy = {k: v for k, v in doc.items() if k != "cosigned"}
    legacy_path = pool.write("legacy.json", json.dumps(legacy))
    result = verify_statement(pool, legacy_path)
    assert result.exit_code == 0, result.output
    assert "cosignatures: none in the bundle" in result.stdout
    result = verify_statement(pool, legacy_path, w1.vkey)
    assert result.exit_code == 1 and "carries no cosignature by this witness" in result.stderr

    # The witness cosigns the newer checkpoint, which extends the one it cosigned before.
    late = checkpoint_file(pool, "late.txt")
    result = w1.cosign(late, "--export", str(export(pool)))
    assert f"extends checkpoint {size_of(early.read_text())}, cosigned before" in result.stderr
    pool.run(
        "checkpoint", "add-cosignature", str(pool.write("late.cosigned", result.stdout)), "--witness", w1.vkey
    )
    path, doc = bundle(pool, "b.json")
    assert [size_of(item["checkpoint"]) for item in doc["cosigned"]] == [size_of(late.read_text())]
    result = verify_statement(pool, path, w1.vkey)
    assert result.exit_code == 0, result.output
    assert "which holds the allocation" in result.stdout


def test_a_known_witness_needs_no_key_the_second_time(pool: Pool) -> None:
    """`checkpoint add-cosignature FILE` (spec 7): the witness's key is given once, then the pool uses the key
    it recorded; a witness it does not know is refused with the one line saying what to give."""
    pool.run("member", "add", "A", "--name", "Alpha", "--role", "both")
    w1, w2 = Witness(pool, "witness.example/w1"), Witness(pool, "witness.example/w2")
    first = pool.write(
        "first.cosigned", w1.cosign(checkpoint_file(pool, "first.txt"), "--db", pool.db).stdout
    )
    unknown = pool.run("checkpoint", "add-cosignature", str(first), expect=1)
    assert unknown.stderr.strip() == (
        f"Error: {w1.keyid}: this pool has no key recorded for that witness: give its verifier key once with "
        "--witness VKEY (a cosignature is checked against it, never against a key the note names)"
    )
    assert stored(pool) == []
    pool.run("checkpoint", "add-cosignature", str(first), "--witness", w1.vkey)
    pool.run("member", "add", "B", "--name", "Beta", "--role", "both")
    second = pool.write(
        "second.cosigned", w1.cosign(checkpoint_file(pool, "second.txt"), "--db", pool.db).stdout
    )
    added = pool.run("checkpoint", "add-cosignature", str(second))
    assert f"stored: cosignature by {w1.keyid} of checkpoint" in added.stderr
    assert len(stored(pool)) == 2
    # Another witness's line beside a known one: refused whole until its key is given.
    other = pool.write(
        "other.cosigned", w2.cosign(checkpoint_file(pool, "other.txt"), "--db", pool.db).stdout
    )
    assert (
        f"Error: {w2.keyid}: this pool has no key"
        in pool.run("checkpoint", "add-cosignature", str(other), expect=1).stderr
    )
    assert len(stored(pool)) == 2


# --- what a witness refuses --------------------------------------------------------------------------------
def test_a_fork_is_refused(db_url: str, pool_factory: Any, tmp_path: Path) -> None:
    honest = pool_factory(db_url)
    honest.run("member", "add", "A", "--name", "Alpha", "--role", "both")
    w1 = Witness(honest, "witness.example/w1")
    cp = checkpoint_file(honest, "honest.txt")
    w1.cosign(cp, "--export", str(export(honest)))
    state = w1.state_file().read_bytes()

    # The administrator (same key, same origin) shows the witness another history of the pool.
    other_db = f"sqlite:///{tmp_path / 'fork.db'}"
    fork = Pool(other_db, honest.key, tmp_path)
    fork.run("init", "--name", "Test Pool", "--origin", ORIGIN, "--currency", "USD", "--admin-fee", "10")
    fork.run("member", "add", "B", "--name", "Beta", "--role", "both")
    fork.run("member", "add", "C", "--name", "Gamma", "--role", "both")
    assert size_of(fork.run("checkpoint").stdout) > size_of(cp.read_text())
    fork_cp = checkpoint_file(fork, "fork.txt")
    for source in (["--export", str(export(fork, "fork.jsonl"))], ["--db", other_db]):
        result = w1.cosign(fork_cp, *source, expect=1)
        assert "Error: FORKED HISTORY: this ledger at size" in result.stderr
        assert result.stdout == ""
    assert w1.state_file().read_bytes() == state  # nothing recorded

    # Same size, another root.
    same_size = Pool(f"sqlite:///{tmp_path / 'same.db'}", honest.key, tmp_path)
    same_size.run("init", "--name", "Test Pool", "--origin", ORIGIN, "--currency", "USD", "--admin-fee", "10")
    same_size.run("member", "add", "Z", "--name", "Zeta", "--role", "both")
    same_cp = checkpoint_file(same_size, "same.txt")
    assert size_of(same_cp.read_text()) == size_of(cp.read_text())
    result = w1.cosign(same_cp, "--export", str(export(same_size, "same.jsonl")), expect=1)
    assert "FORKED HISTORY" in result.stderr

    # An older checkpoint than the last cosigned: a witness only moves forward.
    honest.run("member", "add", "D", "--name", "Delta", "--role", "both")
    newer = checkpoint_file(honest, "newer.txt")
    w1.cosign(newer, "--db", honest.db)
    result = w1.cosign(cp, "--db", honest.db, expect=1)
    assert "is older than checkpoint" in result.stderr

    # Another pool key under the same origin is another log.
    stranger = pool_factory(f"sqlite:///{tmp_path / 'stranger.db'}")
    stranger.run("member", "add", "A", "--name", "Alpha", "--role", "both")
    result = w1.cosign(checkpoint_file(stranger, "stranger.txt"), "--db", stranger.db, expect=1)
    assert "is not the pool key this witness knows for pool.example/test" in result.stderr


def test_a_ledger_that_does_not_verify_is_not_cosigned(pool: Pool) -> None:
    pool.run("member", "add", "A", "--name", "Alpha", "--role", "both")
    cp = checkpoint_file(pool, "cp.txt")
    path = export(pool)
    lines = path.read_bytes().splitlines()
    lines[1] = lines[1].replace(b'"Alpha"', b'"Alpho"')
    path.write_bytes(b"\n".join(lines) + b"\n")
    w1 = Witness(pool, "witness.example/w1")
    result = w1.cosign(cp, "--export", str(path), expect=1)
    assert "Error: the ledger does not verify: seq 2:" in result.stderr
    assert "not cosigned" in result.stderr and result.stdout == ""
    assert not w1.state_file().exists()


def test_add_cosignature_refusals(pool: Pool, pool_factory: Any, tmp_path: Path) -> None:
    pool.run("member", "add", "A", "--name", "Alpha", "--role", "both")
    cp = checkpoint_file(pool, "cp.txt")
    w1, w2 = Witness(pool, "witness.example/w1"), Witness(pool, "witness.example/w2")
    cosigned = w1.cosign(cp, "--db", pool.db).stdout
    path = pool.write("cp.cosigned", cosigned)

    result = pool.run("checkpoint", "add-cosignature", str(path), "--witness", w2.vkey, expect=1)
    assert "the note carries no cosignature by witness.example/w2+" in result.stderr
    # A cosignature line whose time was edited.
    line = cosigned.splitlines()[-1]
    prefix, blob = line.rsplit(" ", 1)
    edited = blob[:8] + ("B" if blob[8] != "B" else "C") + blob[9:]
    bad = pool.write("bad.cosigned", cosigned.replace(line, f"{prefix} {edited}"))
    result = pool.run("checkpoint", "add-cosignature", str(bad), "--witness", w1.vkey, expect=1)
    assert "does not verify" in result.stderr
    # A pool key is no witness key.
    pool_vkey = pool.run("key", "show").stdout.strip()
    result = pool.run("checkpoint", "add-cosignature", str(path), "--witness", pool_vkey, expect=1)
    assert "type 0x01" in result.stderr
    # A checkpoint of another pool.
    other = pool_factory(f"sqlite:///{tmp_path / 'other.db'}", origin="other.example/pool")
    w9 = Witness(other, "witness.example/w9")
    other_path = pool.write("o.cosigned", w9.cosign(checkpoint_file(other, "o.txt"), "--db", other.db).stdout)
    result = pool.run("checkpoint", "add-cosignature", str(other_path), "--witness", w9.vkey, expect=1)
    assert "not a checkpoint this pool signed" in result.stderr
    assert stored(pool) == []


def test_witness_and_pool_keys_are_not_interchangeable(pool: Pool) -> None:
    w1 = Witness(pool, "witness.example/w1")
    result = pool.run(
        "--key", str(w1.key), "member", "add", "A", "--name", "Alpha", "--role", "both", expect=1
    )
    assert "is a witness (cosigner) key, not a pool key" in result.stderr
    cp = checkpoint_file(pool, "cp.txt")
    args = ["cosign", str(cp), "--key", str(pool.key), "--db", pool.db]
    assert "is a pool key, not a witness" in pool.run(*args, expect=1).stderr
    assert pool.run("--key", str(w1.key), "key", "show").stdout.strip() == w1.vkey


def test_a_bundle_with_a_tampered_cosignature_is_rejected(allocated: Pool) -> None:
    pool = allocated
    w1 = Witness(pool, "witness.example/w1")
    early = checkpoint_file(pool, "cp.txt")
    cosigned = pool.write("cp.cosigned", w1.cosign(early, "--db", pool.db).stdout)
    pool.run("checkpoint", "add-cosignature", str(cosigned), "--witness", w1.vkey)
    pool.run("payment", "add", "--licensee", "L1", "--amount", "10.00", "--date", "2025-04-02", "--ref", "X")
    _path, doc = bundle(pool, "a.json")
    assert doc["cosigned"][0]["consistency"]

    proofless = json.loads(json.dumps(doc))
    proofless["cosigned"][0]["consistency"] = proofless["cosigned"][0]["consistency"][1:]
    edited = json.loads(json.dumps(doc))
    line = edited["cosigned"][0]["checkpoint"].splitlines()[-1]
    edited["cosigned"][0]["checkpoint"] = edited["cosigned"][0]["checkpoint"].replace(
        line, line[:-6] + "AAAA=="
    )
    for name, tampered, message in (
        ("proofless", proofless, "FORKED HISTORY"),
        ("edited", edited, "does not verify"),
    ):
        target = pool.write(f"{name}.json", json.dumps(tampered))
        for witnesses in ((), (w1.vkey,)):
            result = verify_statement(pool, target, *witnesses)
            assert result.exit_code == 1, result.output
            assert message in result.stderr


def test_verify_finds_a_cosignature_changed_behind_its_back(pool: Pool) -> None:
    pool.run("member", "add", "A", "--name", "Alpha", "--role", "both")
    w1 = Witness(pool, "witness.example/w1")
    cosigned = pool.write("cp.cosigned", w1.cosign(checkpoint_file(pool, "cp.txt"), "--db", pool.db).stdout)
    pool.run("checkpoint", "add-cosignature", str(cosigned), "--witness", w1.vkey)
    store = Store(pool.db)
    try:
        with store.engine.begin() as conn:
            for statement in triggers.cosignature_drop_statements(store.dialect):
                conn.execute(text(statement))
            conn.execute(text("UPDATE ledger_cosignatures SET timestamp = timestamp + 1"))
    finally:
        store.close()
    result = pool.run("verify", "-f", "json", expect=1)
    assert "the append-only trigger ledger_cosignatures_no_" in result.stderr
    assert "its time column differs from its line" in result.stderr
    # With the triggers back, the changed row alone.
    store = Store(pool.db)
    try:
        with store.engine.begin() as conn:
            for statement in triggers.cosignature_statements(store.dialect):
                conn.execute(text(statement))
    finally:
        store.close()
    result = pool.run("verify", "-f", "json", expect=1)
    problems = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(problems) == 1 and "its time column differs from its line" in problems[0], problems


def test_cosign_an_older_checkpoint_from_a_longer_export(pool: Pool) -> None:
    pool.run("member", "add", "A", "--name", "Alpha", "--role", "both")
    cp = checkpoint_file(pool, "cp.txt")
    pool.run("member", "add", "B", "--name", "Beta", "--role", "both")
    path = export(pool)
    assert len(path.read_bytes().splitlines()) == size_of(cp.read_text()) + 1
    result = Witness(pool, "witness.example/w1").cosign(cp, "--export", str(path))
    # Only the tree the checkpoint signs is verified (and cosigned).
    assert f"verified {size_of(cp.read_text())} entries" in result.stderr
    assert result.stdout.startswith(cp.read_text())


def test_random_edits_of_cosigned_checkpoints_are_refused_or_harmless(allocated: Pool) -> None:
    """Seeded random edits of a bundle's cosigned checkpoints, verified in memory with the witness required:
    each is refused (a `bundle rejected:` or `witness` problem) or leaves the witness's cosignature intact."""
    import copy
    import random

    from patentpool import bundles

    pool = allocated
    w1 = Witness(pool, "witness.example/w1")
    cosigned = pool.write("cp.cosigned", w1.cosign(checkpoint_file(pool, "cp.txt"), "--db", pool.db).stdout)
    pool.run("checkpoint", "add-cosignature", str(cosigned), "--witness", w1.vkey)
    pool.run("payment", "add", "--licensee", "L1", "--amount", "10.00", "--date", "2025-04-02", "--ref", "X")
    _path, honest = bundle(pool, "a.json")
    vkey = pool.run("key", "show").stdout.strip()
    assert bundles.verify_bundle(honest, vkey, None, witnesses=[w1.vkey]).ok
    rng = random.Random(20261207)
    refused = 0
    for _trial in range(120):
        doc = copy.deepcopy(honest)
        item = doc["cosigned"][0]
        field = rng.choice(["checkpoint", "witnesses", "consistency"])
        if field == "checkpoint":
            text = item["checkpoint"]
            i = rng.randrange(len(text))
            item["checkpoint"] = text[:i] + rng.choice("AZaz09+/=\n — ") + text[i + 1 :]
        else:
            values = item[field]
            i = rng.randrange(len(values))
            text = values[i]
            j = rng.randrange(len(text))
            values[i] = text[:j] + rng.choice("AZaz09+/=") + text[j + 1 :]
        verdict = bundles.verify_bundle(doc, vkey, None, witnesses=[w1.vkey])
        if verdict.ok:
            # Accepted: what it found is the honest cosignature of the honest checkpoint.
            size = size_of(honest["cosigned"][0]["checkpoint"])
            assert any(f"witness {w1.keyid}: cosigned checkpoint {size} " in line for line in verdict.lines)
        else:
            refused += 1
            assert all(p.startswith(("bundle rejected: ", "witness ")) for p in verdict.problems), verdict
    assert refused > 90


def test_cosign_output_file_is_guarded(pool: Pool) -> None:
    pool.run("member", "add", "A", "--name", "Alpha", "--role", "both")
    cp = checkpoint_file(pool, "cp.txt")
    w1 = Witness(pool, "witness.example/w1")
    taken = pool.write("taken.txt", "keep me\n")
    # Refused before anything is verified, signed or recorded.
    result = w1.cosign(cp, "--db", pool.db, "-o", str(taken), expect=1)
    assert "Error: " in result.stderr and taken.read_text() == "keep me\n"
    assert not w1.state_file().exists()
    key_bytes = w1.key.read_bytes()
    w1.cosign(cp, "--db", pool.db, "-o", str(w1.key), "--force", expect=1)
    assert w1.key.read_bytes() == key_bytes
    w1.cosign(cp, "--db", pool.db, "-o", str(taken), "--force")
    assert taken.read_text().startswith(cp.read_text()) and w1.state_file().exists()
