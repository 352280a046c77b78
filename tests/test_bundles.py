"""Statement bundles checked offline (spec sections 3 and 8): `statement --bundle`, `verify-statement`,
`checkpoint`, `prove consistency`, all through the CLI, on SQLite and PostgreSQL.

Each backend's pools are built once per module (the `books` fixture) and their bundles written to files.
Every test then verifies a bundle, or a copy that it edits as a dishonest administrator or a man in the
middle would, with `verify-statement` and no database, and asserts the exit code and the precise message.

The "forged" tests go one step further: they play an administrator who holds the pool key, rewrites the
ledger (re-signing every entry after the edit, re-chaining `prev` and the allocation's `inputs`), rebuilds
the tree and signs a new checkpoint. Such a bundle is internally consistent, so only recomputation (or the
member's kept checkpoint) can catch it.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import PASSPHRASE, Pool, _admin_url, build_example, create_pg_database, drop_pg_database

from cli import main
from ledger import merkle
from ledger.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from ledger.entry import decode, entry_hash, signing_message
from ledger.keys import SigningKey, VerifierKey, load_key
from ledger.log import Ledger

DATA = Path(__file__).resolve().parent / "data" / "pool-2025q1"
ORIGIN = "pool.example/test"
OTHER_ORIGIN = "other.example/pool"
PERIOD = "2025Q1"
# The entries of the worked example as built by `_build` (checked in the fixture): the two reports, the
# allocation, and the tree sizes before and after the payments are imported.
L1_REPORT, C_REPORT = 21, 22
OLD_SIZE = 23
# verify-statement must not need a database or a key file: point both somewhere that does not exist.
NO_DB_ENV = {
    "PATENTPOOL_DB": "sqlite:////nonexistent-dir/never.db",
    "PATENTPOOL_KEY": "/nonexistent-dir/no.key",
    "NO_COLOR": "1",
}


# --- building the pools once per backend --------------------------------------------------------------------
def _build(pool: Pool, data: Path) -> None:
    """conftest.build_example's steps from `data`, without the payments (they come after the allocation)."""
    build_example(pool, data, payments=False)
    pool.run("allocate", "--program", "XR", "--period", PERIOD)


def _raw_ledger(pool: Pool) -> dict[int, bytes]:
    with Ledger.open(pool.db).reader() as reader:
        return dict(reader.raw_entries())


@dataclass
class Books:
    """One backend's pools and the files a member (or an attacker) would hold."""

    dir: Path
    pool: Pool  # the honest pool P
    vkey: str  # P's verifier key string
    old_cp: Path  # P's checkpoint after reports + allocation, kept by the member
    new_cp: Path  # P's checkpoint after the payments
    bundles: dict[str, Path] = field(default_factory=dict)
    statements: dict[str, Any] = field(default_factory=dict)  # `statement --format json` of each member
    ledger: dict[int, bytes] = field(default_factory=dict)  # P's raw entries at OLD_SIZE
    same_origin_ledger: dict[int, bytes] = field(default_factory=dict)
    vkeys: dict[str, str] = field(default_factory=dict)  # "same-origin", "other-origin"
    keys: dict[str, Path] = field(default_factory=dict)
    consistency: Any = None  # `prove consistency OLD NEW` output
    _loaded: dict[str, SigningKey] = field(default_factory=dict)

    def load(self, name: str) -> Any:
        return json.loads(self.bundles[name].read_text(encoding="utf-8"))

    def signing_key(self, which: str = "pool") -> SigningKey:
        if which not in self._loaded:  # scrypt is slow on purpose: decrypt each key once
            self._loaded[which] = load_key(self.keys[which], PASSPHRASE)
        return self._loaded[which]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def books(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Books]:
    work = tmp_path_factory.mktemp(f"bundles-{request.param}")
    created: list[str] = []
    if request.param == "postgresql":
        request.getfixturevalue("postgres_available")

    def url(name: str) -> str:
        if request.param == "sqlite":
            return f"sqlite:///{work / name}.db"
        created.append(create_pg_database())
        return _admin_url(created[-1])

    def init(db: str, key: Path, origin: str) -> Pool:
        pool = Pool(db, key, work)
        pool.run("init", "--name", "Test Pool", "--origin", origin, "--currency", "USD", "--admin-fee", "10")
        return pool

    def bundle(pool: Pool, name: str, member: str = "C", since: Path | None = None) -> None:
        path = work / f"{name}.json"
        args = ["statement", "--member", member, "--period", PERIOD, "--bundle", str(path)]
        result = pool.run(*args, "--format", "json", *(["--since", str(since)] if since else []))
        assert f"wrote statement bundle {path}" in result.stderr
        fx.bundles[name] = path
        fx.statements[name] = json.loads(result.stdout)

    def forged_since(pool: Pool, name: str, since: Path) -> None:
        """What a forking administrator hands out: patentpool refuses to prove consistency from a checkpoint
        its ledger never signed, so the forger attaches the proof its own ledger serves between the sizes."""
        bundle(pool, name)
        doc = json.loads(fx.bundles[name].read_text(encoding="utf-8"))
        old_size = int(since.read_text(encoding="utf-8").splitlines()[1])
        new_size = int(doc["checkpoint"].splitlines()[1])
        proof = json.loads(pool.run("prove", "consistency", str(old_size), str(new_size)).stdout)["proof"]
        doc["consistency"] = {
            "old_checkpoint": since.read_text(encoding="utf-8"),
            "proof": proof if old_size != new_size else [],
        }
        fx.bundles[name].write_text(json.dumps(doc), encoding="utf-8")

    try:
        # P, the honest pool: the member keeps the checkpoint after the allocation; payments come later.
        pool = init(url("honest"), work / "honest.key", ORIGIN)
        _build(pool, DATA)
        old_cp = work / "old.cp"
        old_cp.write_text(pool.run("checkpoint").stdout, encoding="utf-8")
        fx = Books(work, pool, pool.run("key", "show").stdout.strip(), old_cp, work / "new.cp")
        fx.keys["pool"] = pool.key
        fx.ledger = _raw_ledger(pool)
        assert len(fx.ledger) == OLD_SIZE
        assert json.loads(fx.ledger[L1_REPORT])["body"]["licensee"] == "L1"
        assert json.loads(fx.ledger[C_REPORT])["body"]["licensee"] == "C"
        assert json.loads(fx.ledger[OLD_SIZE])["kind"] == "allocation.run"
        for member in "ABC":
            bundle(pool, member, member)
        pool.run("payment", "import", str(DATA / "payments.csv"))
        fx.new_cp.write_text(pool.run("checkpoint").stdout, encoding="utf-8")
        new_size = int(fx.new_cp.read_text().splitlines()[1])
        assert new_size > OLD_SIZE
        bundle(pool, "C-since", since=old_cp)  # an honest continuation, proven from old.cp
        bundle(pool, "C-new")  # the same, made without --since
        fx.consistency = json.loads(pool.run("prove", "consistency", str(OLD_SIZE), str(new_size)).stdout)
        # Then L1 corrects a report line and the period is allocated again: report.correct, allocation.adjust.
        corrected = work / "corrected.csv"
        corrected.write_text(
            "licensee,program,period,manufacture_country,sale_country,units,net_sales\n"
            "L1,XR,2025Q1,CN,US,2400,504000.00\n",
            encoding="utf-8",
        )
        pool.run("report", "import", "--correct", str(corrected))
        assert "allocation.adjust" in pool.run("allocate", "--program", "XR", "--period", PERIOD).stderr
        bundle(pool, "C-adjusted", since=fx.new_cp)

        # F, the forked history: a NEW database, the SAME key file and origin, one old report line changed.
        edited = work / "edited-data"
        shutil.copytree(DATA, edited)
        reports = (DATA / "reports.csv").read_text(encoding="utf-8")
        assert "L1,XR,2025Q1,CN,US,2500,525000.00" in reports
        (edited / "reports.csv").write_text(
            reports.replace("L1,XR,2025Q1,CN,US,2500,525000.00", "L1,XR,2025Q1,CN,US,2400,504000.00"),
            encoding="utf-8",
        )
        fork = init(url("fork"), pool.key, ORIGIN)
        _build(fork, edited)
        assert fork.size_and_root()[0] == OLD_SIZE
        refusal = fork.run(
            "statement",
            "--member",
            "C",
            "--period",
            PERIOD,
            "--bundle",
            str(work / "x.json"),
            "--since",
            str(old_cp),
            expect=1,
        )
        assert "POSSIBLE FORK" in refusal.stderr  # the pool's key signed old_cp: evidence, not a mistake
        forged_since(fork, "fork-same-size", old_cp)
        fork.run("payment", "import", str(edited / "payments.csv"))
        forged_since(fork, "fork", old_cp)
        bundle(fork, "fork-without-since")

        # Two other ledgers with the same books: another origin and key; the same origin with another key.
        for name, origin in (("other-origin", OTHER_ORIGIN), ("same-origin", ORIGIN)):
            other = init(url(name), work / f"{name}.key", origin)
            _build(other, DATA)
            bundle(other, name)
            fx.vkeys[name] = other.run("key", "show").stdout.strip()
            fx.keys[name] = other.key
            if name == "same-origin":
                fx.same_origin_ledger = _raw_ledger(other)
        yield fx
    finally:
        for name in created:
            drop_pg_database(name)


# --- helpers ------------------------------------------------------------------------------------------------
def verify(bundle: Path, vkey: str, since: Path | None = None) -> Result:
    args = ["verify-statement", str(bundle), "--vkey", vkey, *(["--since", str(since)] if since else [])]
    return CliRunner().invoke(main, args, env=NO_DB_ENV, catch_exceptions=False)


def verified(result: Result) -> None:
    assert result.exit_code == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.stdout.rstrip().endswith("VERDICT: statement verified")
    assert result.stderr == ""


def rejected(result: Result, *phrases: str) -> None:
    assert result.exit_code == 1, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "VERDICT: NOT VERIFIED" in result.stdout
    assert "statement verified" not in result.stdout
    assert result.stderr.startswith("Error: bundle rejected: "), result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, f"{phrase!r} not in {result.stderr!r}"


def refused(books: Books, tmp_path: Path, doc: Any, *phrases: str, since: Path | None = None) -> None:
    """`doc`, written to a file, is rejected by verify-statement with every phrase in the message."""
    rejected(verify(write(tmp_path, doc), books.vkey, since), *phrases)


def write(tmp_path: Path, doc: Any, name: str = "tampered.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def item(doc: dict[str, Any], seq: int) -> dict[str, Any]:
    found: dict[str, Any] = next(i for i in doc["entries"] if i["seq"] == seq)
    return found


def line(doc: dict[str, Any], licensee: str, country: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        ln for ln in doc["statement"]["lines"] if (ln["licensee"], ln["country"]) == (licensee, country)
    )
    return found


def keyid(vkey: str) -> str:
    return VerifierKey.parse(vkey).keyid_string


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# --- the forger: an administrator who holds the pool key ----------------------------------------------------
def rewrite(
    ledger: dict[int, bytes],
    key: SigningKey,
    edits: dict[int, Callable[[dict[str, Any]], None]],
    replace: dict[int, bytes] | None = None,
) -> dict[int, bytes]:
    """The ledger with entry bodies edited (or entries replaced as given, unsigned), every later entry
    re-signed with `prev` re-chained and every allocation's `inputs` re-hashed, as a full rewrite would."""
    out: dict[int, bytes] = {}
    replace = replace or {}
    for seq in sorted(ledger):
        if seq in replace:
            out[seq] = replace[seq]
            continue
        entry = decode(ledger[seq])
        body = copy.deepcopy(dict(entry.body))
        if seq in edits:
            edits[seq](body)
        if entry.kind.startswith("allocation."):
            body["inputs"] = [[s, entry_hash(out[s]).hex()] for s, _h in body["inputs"]]
        prev = entry.prev if seq == 1 else entry_hash(out[seq - 1]).hex()
        new = dataclasses.replace(entry, body=body, prev=prev)
        if new.unsigned_bytes() != entry.unsigned_bytes():
            new = dataclasses.replace(new, sig=b64(key.sign(signing_message(key.name, new.unsigned_bytes()))))
        out[seq] = new.encode()
    return out


def reseal(
    doc: dict[str, Any],
    ledger: dict[int, bytes],
    key: SigningKey,
    statement: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """A bundle over `ledger`: a tree rebuilt over it, a checkpoint signed by `key`, every entry proven."""
    tree = merkle.MemoryTree([merkle.leaf_hash(ledger[s]) for s in sorted(ledger)])
    note = sign_checkpoint(Checkpoint(key.name, tree.size, merkle.tree_root(tree, tree.size)), key)
    out = copy.deepcopy(doc)
    out["checkpoint"] = out["statement"]["checkpoint"] = note
    for entry in out["entries"]:
        entry["entry"] = ledger[entry["seq"]].decode("utf-8")
    seqs = [entry["seq"] for entry in out["entries"]]
    out["inclusion"] = [b64(p) for p in merkle.multi_inclusion_proof(tree, [s - 1 for s in seqs], tree.size)]
    if statement is not None:
        statement(out["statement"])
    return out


def reprove(books: Books, doc: dict[str, Any]) -> dict[str, Any]:
    """`doc`'s multi-leaf proof made again for the entries it now holds, from P's tree at OLD_SIZE: what an
    administrator who leaves an entry out would hand over (the proof itself then holds)."""
    tree = merkle.MemoryTree([merkle.leaf_hash(books.ledger[s]) for s in sorted(books.ledger)])
    indices = [entry["seq"] - 1 for entry in doc["entries"]]
    doc["inclusion"] = [b64(p) for p in merkle.multi_inclusion_proof(tree, indices, tree.size)]
    return doc


def per_entry(books: Books, doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` (proven at OLD_SIZE) in the form bundles had before the multi-leaf proof: an RFC 9162 inclusion
    proof in each entry."""
    tree = merkle.MemoryTree([merkle.leaf_hash(books.ledger[s]) for s in sorted(books.ledger)])
    out = copy.deepcopy(doc)
    del out["inclusion"]
    for entry in out["entries"]:
        entry["proof"] = [b64(p) for p in merkle.inclusion_proof(tree, entry["seq"] - 1, tree.size)]
    return out


# --- honest bundles -----------------------------------------------------------------------------------------
FIGURES = {
    "A": ("150.00", "15.00", "135.00"),
    "B": ("598.38", "59.84", "538.54"),
    "C": ("697.07", "69.71", "627.36"),
}


@pytest.mark.parametrize("member", ["A", "B", "C"])
def test_honest_bundle_of_each_member_verifies(books: Books, member: str) -> None:
    doc = books.load(member)
    assert doc["bundle_v"] == 1
    assert doc["statement"] == books.statements[member]
    assert doc["checkpoint"] == books.old_cp.read_text(encoding="utf-8")
    assert doc["consistency"] is None
    kinds = {json.loads(i["entry"])["kind"] for i in doc["entries"]}
    assert {"pool.genesis", "program.add", "patent.add", "report.add", "allocation.run"} <= kinds
    gross, fee, net = FIGURES[member]
    result = verify(books.bundles[member], books.vkey)
    verified(result)
    assert f"checkpoint: tree size {OLD_SIZE}, signed by {keyid(books.vkey)}" in result.stdout
    assert f"statement: {member} {PERIOD} gross {gross}, admin fee {fee}, net {net} USD" in result.stdout


@pytest.mark.parametrize(("member", "countries"), [("B", {"US", "DE"}), ("C", {"CN", "US"})])
def test_member_with_lines_in_several_countries(books: Books, member: str, countries: set[str]) -> None:
    doc = books.load(member)
    lines = doc["statement"]["lines"]
    assert {ln["country"] for ln in lines} == countries
    result = verify(books.bundles[member], books.vkey)
    verified(result)
    assert f"XR: {len(lines)} line(s) recomputed" in result.stdout


def test_verify_statement_needs_no_database_and_reads_a_key_file(books: Books, tmp_path: Path) -> None:
    key_file = tmp_path / "pool.vkey"
    key_file.write_text(books.vkey + "\n", encoding="utf-8")
    verified(verify(books.bundles["C"], str(key_file)))
    assert not Path("/nonexistent-dir").exists()
    # A key file holding another pool's key is used as such, not ignored.
    key_file.write_text(books.vkeys["same-origin"] + "\n", encoding="utf-8")
    rejected(verify(books.bundles["C"], str(key_file)), "checkpoint is not signed by")


def test_checkpoint_command_prints_a_note_signed_by_the_pool_key(books: Books) -> None:
    vkey = VerifierKey.parse(books.vkey)
    latest = books.pool.run("checkpoint").stdout
    assert verify_checkpoint(latest, vkey, ORIGIN).size == books.pool.size_and_root()[0] > OLD_SIZE
    assert verify_checkpoint(books.old_cp.read_text(encoding="utf-8"), vkey, ORIGIN).size == OLD_SIZE
    old_note = books.old_cp.read_text(encoding="utf-8")
    assert books.pool.run("checkpoint", "--size", str(OLD_SIZE)).stdout == old_note


def test_corrected_report_and_adjusted_allocation_verify(books: Books) -> None:
    """The latest allocation, an allocation.adjust resting on the report.correct line, is the one checked."""
    doc = books.load("C-adjusted")
    kinds = {json.loads(i["entry"])["kind"] for i in doc["entries"]}
    assert {"report.correct", "allocation.adjust"} <= kinds
    assert doc["statement"]["gross"] != FIGURES["C"][0]
    result = verify(books.bundles["C-adjusted"], books.vkey, since=books.new_cp)
    verified(result)
    assert f"statement: C {PERIOD} gross {doc['statement']['gross']}," in result.stdout


# --- the statement edited -----------------------------------------------------------------------------------
def test_edited_line_amount(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    line(doc, "L1", "US")["gross"] = "160.72"
    refused(
        books, tmp_path, doc, "line ('XR', 'L1', 'US'): the statement says 160.72, the entries give 160.71"
    )


def test_edited_line_patents(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    line(doc, "L1", "US")["patents"] = ["US11234567B1", "US10123456B2"]
    refused(
        books,
        tmp_path,
        doc,
        "line ('XR', 'L1', 'US'): the statement lists patents "
        "US11234567B1, US10123456B2, the entries give US11234567B1",
    )


@pytest.mark.parametrize(
    ("name", "value", "truth"),
    [("gross", "697.08", "697.07"), ("admin_fee", "69.70", "69.71"), ("net", "627.37", "627.36")],
)
def test_edited_total(books: Books, tmp_path: Path, name: str, value: str, truth: str) -> None:
    doc = books.load("C")
    doc["statement"][name] = value
    refused(books, tmp_path, doc, f"{name}: the statement says {value}, the entries give {truth}")


def test_edited_total_in_step_with_an_edited_line(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    line(doc, "C", "US")["gross"] = "409.09"
    doc["statement"].update(gross="797.07", admin_fee="79.71", net="717.36")
    refused(books, tmp_path, doc, "line ('XR', 'C', 'US'): the statement says 409.09")


def test_dropped_line(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    doc["statement"]["lines"].remove(line(doc, "L1", "CN"))
    doc["statement"].update(gross="547.07", admin_fee="54.71", net="492.36")
    refused(
        books,
        tmp_path,
        doc,
        "the statement drops the line ('XR', 'L1', 'CN') (150.00) that the allocation gives you",
    )


def test_added_line(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    doc["statement"]["lines"].append(
        {"program": "XR", "licensee": "L1", "country": "DE", "patents": ["US11234567B1"], "gross": "10.00"}
    )
    refused(
        books,
        tmp_path,
        doc,
        "the statement has a line ('XR', 'L1', 'DE') that the allocation does not give you",
    )


def test_repeated_line(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    doc["statement"]["lines"].append(dict(line(doc, "L1", "CN")))
    refused(books, tmp_path, doc, "the statement repeats a line")


def test_edited_open_licence_memo(books: Books, tmp_path: Path) -> None:
    doc = books.load("A")
    assert doc["statement"]["open_license_fees"][0]["amount"] == "700.00"
    doc["statement"]["open_license_fees"][0]["amount"] = "70.00"
    refused(books, tmp_path, doc, "the open-licence memo lines differ")


def test_edited_currency(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    doc["statement"]["currency"] = "EUR"
    refused(books, tmp_path, doc, "currency: the statement says EUR, the allocation is in USD")


def test_statement_of_another_checkpoint(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    doc["statement"]["checkpoint"] = books.new_cp.read_text(encoding="utf-8")
    refused(books, tmp_path, doc, "the statement cites another checkpoint")


# --- the entries edited, dropped or spliced -----------------------------------------------------------------
def test_edited_amount_in_an_entry(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    entry = item(doc, L1_REPORT)
    assert '"units":2500' in entry["entry"]
    entry["entry"] = entry["entry"].replace('"units":2500', '"units":2600')
    refused(books, tmp_path, doc, f"seq {L1_REPORT}: signature does not verify")


def test_edited_amount_in_the_allocation_entry(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    entry = item(doc, OLD_SIZE)
    assert '["L1","US","C","160.71"]' in entry["entry"]
    entry["entry"] = entry["entry"].replace('["L1","US","C","160.71"]', '["L1","US","C","170.71"]')
    refused(books, tmp_path, doc, f"seq {OLD_SIZE}: signature does not verify")


def test_dropped_report_entry(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    doc["entries"].remove(item(doc, L1_REPORT))
    refused(books, tmp_path, reprove(books, doc), f"report entry seq {L1_REPORT} of L1 is missing")


def test_dropped_allocation_entry(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    doc["entries"].remove(item(doc, OLD_SIZE))
    refused(books, tmp_path, reprove(books, doc), f"no allocation entry for {PERIOD} in the bundle")


def test_dropped_genesis(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    doc["entries"].remove(item(doc, 1))
    refused(books, tmp_path, doc, "the genesis entry (seq 1) is missing")


def test_entry_given_twice(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    doc["entries"].append(dict(item(doc, L1_REPORT)))
    refused(books, tmp_path, doc, f"seq {L1_REPORT}: entry numbered {L1_REPORT} or given twice")


@pytest.mark.parametrize("other", ["other-origin", "same-origin"])
def test_entry_from_another_ledger(books: Books, tmp_path: Path, other: str) -> None:
    """The other ledger holds the same books at the same seqs; its entry and proof are spliced in."""
    doc, foreign = books.load("C"), books.load(other)
    mine, theirs = item(doc, L1_REPORT), item(foreign, L1_REPORT)
    assert json.loads(mine["entry"])["body"] == json.loads(theirs["entry"])["body"]
    mine.update(entry=theirs["entry"])
    refused(books, tmp_path, doc, f"seq {L1_REPORT}: author", "is not a key of this pool")


@pytest.mark.parametrize("other", ["other-origin", "same-origin"])
def test_another_ledgers_checkpoint_and_entries(books: Books, tmp_path: Path, other: str) -> None:
    """All the other ledger's evidence under this pool's statement: its checkpoint is not this pool's."""
    doc, foreign = books.load("C"), books.load(other)
    doc.update(checkpoint=foreign["checkpoint"], entries=foreign["entries"])
    refused(books, tmp_path, doc, f"checkpoint is not signed by {keyid(books.vkey)}")
    # ... and the other ledger's own bundle does not verify with this pool's key either.
    rejected(verify(books.bundles[other], books.vkey), f"checkpoint is not signed by {keyid(books.vkey)}")
    verified(verify(books.bundles[other], books.vkeys[other]))


# --- proofs for the wrong index or size ---------------------------------------------------------------------
def test_honest_bundle_in_the_per_entry_form_verifies(books: Books, tmp_path: Path) -> None:
    verified(verify(write(tmp_path, per_entry(books, books.load("C"))), books.vkey))


def test_per_entry_and_multi_leaf_proofs_are_not_mixed(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    doc["entries"] = per_entry(books, doc)["entries"]
    refused(books, tmp_path, doc, "entries[0]: unknown key(s) proof")


def test_swapped_proofs(books: Books, tmp_path: Path) -> None:
    doc = per_entry(books, books.load("C"))
    first, second = item(doc, L1_REPORT), item(doc, C_REPORT)
    assert len(first["proof"]) == len(second["proof"])
    first["proof"], second["proof"] = second["proof"], first["proof"]
    refused(books, tmp_path, doc, f"seq {L1_REPORT}: not in the signed tree of size {OLD_SIZE}")


def test_swapped_multi_leaf_proof_hashes(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    proof = doc["inclusion"]
    assert len(proof) >= 2
    proof[0], proof[-1] = proof[-1], proof[0]
    refused(books, tmp_path, doc, f"entries are not all in the signed tree of size {OLD_SIZE}")


def _mangle(proof: list[str], how: str) -> None:
    if how == "truncated":
        proof.pop()
    elif how == "extended":
        proof.append(proof[0])
    elif how == "empty":
        proof.clear()
    else:
        raw = bytearray(base64.b64decode(proof[0]))
        raw[0] ^= 1
        proof[0] = b64(bytes(raw))


@pytest.mark.parametrize("how", ["truncated", "extended", "empty", "flipped"])
def test_mangled_proof(books: Books, tmp_path: Path, how: str) -> None:
    doc = per_entry(books, books.load("C"))
    _mangle(item(doc, C_REPORT)["proof"], how)
    refused(books, tmp_path, doc, f"seq {C_REPORT}: not in the signed tree of size {OLD_SIZE}")


@pytest.mark.parametrize("how", ["truncated", "extended", "empty", "flipped"])
def test_mangled_multi_leaf_proof(books: Books, tmp_path: Path, how: str) -> None:
    doc = books.load("C")
    _mangle(doc["inclusion"], how)
    refused(books, tmp_path, doc, f"entries are not all in the signed tree of size {OLD_SIZE}")


def test_entry_moved_to_another_seq_with_a_matching_proof(books: Books, tmp_path: Path) -> None:
    """A signed entry left out and another signed entry of the ledger put in: the signatures hold, and the
    multi-leaf proof is the honest one for the other set of leaves."""
    doc = books.load("C")
    extra = next(s for s in sorted(books.ledger) if s not in {e["seq"] for e in doc["entries"]})
    doc["entries"].append({"seq": extra, "entry": books.ledger[extra].decode("utf-8")})
    refused(
        books,
        tmp_path,
        doc,
        f"entries are not all in the signed tree of size {OLD_SIZE}",
        "multi-leaf proof has",
    )


def test_changed_seq(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    item(doc, C_REPORT)["seq"] = 23
    refused(books, tmp_path, doc, "seq 23: entry numbered 22 or given twice")


def test_proof_for_an_older_tree_size(books: Books, tmp_path: Path) -> None:
    """The continuation's checkpoint (after the payments) with proofs made for the old checkpoint's size."""
    doc, old = books.load("C-since"), books.load("C")
    new_size = int(doc["checkpoint"].splitlines()[1])
    doc["inclusion"] = old["inclusion"]
    refused(books, tmp_path, doc, f"entries are not all in the signed tree of size {new_size}")


def test_older_checkpoint_with_newer_proofs(books: Books, tmp_path: Path) -> None:
    """A genuine, validly signed older checkpoint does not cover proofs made for a bigger tree."""
    doc = books.load("C-new")
    doc["checkpoint"] = doc["statement"]["checkpoint"] = books.old_cp.read_text(encoding="utf-8")
    refused(books, tmp_path, doc, f"in the signed tree of size {OLD_SIZE}")


# --- the checkpoint -----------------------------------------------------------------------------------------
def test_checkpoint_signed_by_another_key_of_the_same_origin(books: Books, tmp_path: Path) -> None:
    """The right origin, size and root, signed by another key named like the pool."""
    doc = books.load("C")
    cp = verify_checkpoint(doc["checkpoint"], VerifierKey.parse(books.vkey), ORIGIN)
    doc["checkpoint"] = doc["statement"]["checkpoint"] = sign_checkpoint(cp, books.signing_key("same-origin"))
    refused(
        books,
        tmp_path,
        doc,
        f"checkpoint is not signed by {keyid(books.vkey)}",
        f"note has no signature by key {keyid(books.vkey)}",
    )


def test_checkpoint_with_an_edited_size(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    doc["checkpoint"] = doc["checkpoint"].replace(f"\n{OLD_SIZE}\n", f"\n{OLD_SIZE + 1}\n", 1)
    refused(books, tmp_path, doc, f"checkpoint is not signed by {keyid(books.vkey)}", "is invalid")


@pytest.mark.parametrize("other", ["other-origin", "same-origin"])
def test_verified_with_another_pools_key(books: Books, other: str) -> None:
    rejected(
        verify(books.bundles["C"], books.vkeys[other]),
        f"checkpoint is not signed by {keyid(books.vkeys[other])}",
    )


# --- consistency with the member's kept checkpoint ----------------------------------------------------------
def test_honest_continuation_is_consistent(books: Books) -> None:
    doc = books.load("C-since")
    new_size = int(books.new_cp.read_text().splitlines()[1])
    assert doc["consistency"]["old_checkpoint"] == books.old_cp.read_text(encoding="utf-8")
    # `prove consistency OLD NEW` serves the very proof the bundle carries.
    assert books.consistency["proof"] == doc["consistency"]["proof"]
    assert books.consistency["old_checkpoint"] == books.old_cp.read_text(encoding="utf-8")
    assert books.consistency["new_checkpoint"] == doc["checkpoint"] == books.new_cp.read_text("utf-8")
    result = verify(books.bundles["C-since"], books.vkey, since=books.old_cp)
    verified(result)
    assert f"the ledger you saw at size {OLD_SIZE} is a prefix of size {new_size}" in result.stdout
    # The member's checkpoint may be the bundle's own.
    verified(verify(books.bundles["C"], books.vkey, since=books.old_cp))


def test_forked_history_is_caught(books: Books) -> None:
    """Same key, same origin, a new database with one old report line changed."""
    new_size = int(books.load("fork")["checkpoint"].splitlines()[1])
    rejected(
        verify(books.bundles["fork"], books.vkey, since=books.old_cp),
        f"FORKED HISTORY: the ledger at size {new_size} does not extend the one you kept at size {OLD_SIZE}",
    )
    rejected(
        verify(books.bundles["fork-same-size"], books.vkey, since=books.old_cp),
        f"FORKED HISTORY: the ledger at size {OLD_SIZE} does not extend the one you kept at size {OLD_SIZE}",
    )
    # The fork is internally consistent: without the kept checkpoint nothing can tell it from the truth.
    verified(verify(books.bundles["fork-without-since"], books.vkey))


def test_forked_history_with_the_honest_proof(books: Books, tmp_path: Path) -> None:
    """The fork's bundle carrying the honest ledger's consistency proof is caught just the same."""
    doc = books.load("fork")
    doc["consistency"] = books.load("C-since")["consistency"]
    refused(books, tmp_path, doc, "FORKED HISTORY", since=books.old_cp)


def test_tampered_consistency_proof(books: Books, tmp_path: Path) -> None:
    doc = books.load("C-since")
    doc["consistency"]["proof"].pop()
    refused(books, tmp_path, doc, "FORKED HISTORY", since=books.old_cp)


def test_since_without_a_consistency_proof(books: Books) -> None:
    """An honest bundle made without --since cannot prove the prefix: said so, not called a fork."""
    result = verify(books.bundles["C-new"], books.vkey, since=books.old_cp)
    rejected(result, f"the bundle carries no consistency proof from your checkpoint (size {OLD_SIZE})")
    assert "FORKED" not in result.stderr


def test_since_newer_than_the_bundle(books: Books) -> None:
    rejected(
        verify(books.bundles["C"], books.vkey, since=books.new_cp),
        f"the bundle's checkpoint ({OLD_SIZE}) is older than yours",
    )


def test_since_checkpoint_of_another_key(books: Books, tmp_path: Path) -> None:
    other_cp = tmp_path / "other.cp"
    other_cp.write_text(books.load("same-origin")["checkpoint"], encoding="utf-8")
    rejected(
        verify(books.bundles["C-since"], books.vkey, since=other_cp),
        "your --since checkpoint does not verify with this key",
    )


# --- forged by an administrator holding the pool key --------------------------------------------------------
def test_forger_control_an_unchanged_rewrite_verifies(books: Books, tmp_path: Path) -> None:
    key = books.signing_key()
    assert rewrite(books.ledger, key, {}) == books.ledger
    verified(verify(write(tmp_path, reseal(books.load("C"), books.ledger, key)), books.vkey))


def test_forged_entry_with_a_broken_signature(books: Books, tmp_path: Path) -> None:
    """An entry edited in the tree itself (a checkpoint signed over it) still carries the old signature."""
    raw = books.ledger[L1_REPORT].replace(b'"units":2500', b'"units":2600')
    ledger = {**books.ledger, L1_REPORT: raw}
    doc = reseal(books.load("C"), ledger, books.signing_key())
    refused(books, tmp_path, doc, f"seq {L1_REPORT}: signature does not verify under {keyid(books.vkey)}")


def test_forged_tree_with_another_ledgers_entry(books: Books, tmp_path: Path) -> None:
    """Another ledger's (validly signed) entry placed in this pool's tree: its author is not a pool key."""
    foreign = books.same_origin_ledger[L1_REPORT]
    doc = reseal(books.load("C"), {**books.ledger, L1_REPORT: foreign}, books.signing_key())
    refused(books, tmp_path, doc, f"author {keyid(books.vkeys['same-origin'])} is not a key of this pool")


def test_forged_tree_with_another_ledgers_genesis(books: Books, tmp_path: Path) -> None:
    doc = reseal(books.load("C"), {**books.ledger, 1: books.same_origin_ledger[1]}, books.signing_key())
    refused(books, tmp_path, doc, "the ledger's root key is not the key you gave")


def test_forged_report_is_caught_by_recomputation(books: Books, tmp_path: Path) -> None:
    """The administrator rewrites L1's CN/US report line (re-signing everything after it); the allocation
    still says 2500 units, which the rewritten report no longer does."""

    def fewer_units(body: dict[str, Any]) -> None:
        body["lines"][1]["units"] = 2400

    key = books.signing_key()
    doc = reseal(books.load("C"), rewrite(books.ledger, key, {L1_REPORT: fewer_units}), key)
    refused(books, tmp_path, doc, f"seq {L1_REPORT}: the report does not say 2500 units CN/US")


def test_forged_share_is_caught_by_recomputation(books: Books, tmp_path: Path) -> None:
    """The allocation re-signed with a cent of C's L1/US share moved to B, the statement to match."""

    def cent_to_b(body: dict[str, Any]) -> None:
        moved = {"B": "160.73", "C": "160.70"}
        body["shares"] = [
            [lic, c, who, moved[who] if (lic, c) == ("L1", "US") else g] for lic, c, who, g in body["shares"]
        ]
        body["members"]["C"] = {"gross": "697.06", "admin_fee": "69.71", "net": "627.35"}

    def statement(st: dict[str, Any]) -> None:
        next(ln for ln in st["lines"] if (ln["licensee"], ln["country"]) == ("L1", "US"))["gross"] = "160.70"
        st.update(gross="697.06", net="627.35")

    key = books.signing_key()
    doc = reseal(books.load("C"), rewrite(books.ledger, key, {OLD_SIZE: cent_to_b}), key, statement)
    refused(books, tmp_path, doc, "L1 US: the allocation gives C 160.70, the entries give 160.71")


def test_forged_allocation_country(books: Books, tmp_path: Path) -> None:
    """L1's CN/JP line (JP has no patent, so it goes to its manufacture country CN) sent to DE instead, where
    C has no patent: C loses 21.43 although the reports, patents and licences are untouched."""

    def jp_line_to_de(body: dict[str, Any]) -> None:
        body["licensees"]["L1"]["lines"] = [
            [*ln[:5], "DE"] if ln[2] == "JP" else ln for ln in body["licensees"]["L1"]["lines"]
        ]
        body["shares"] = [
            [lic, c, who, "128.57"] if (lic, c, who) == ("L1", "CN", "C") else [lic, c, who, g]
            for lic, c, who, g in body["shares"]
        ]
        body["members"]["C"] = {"gross": "675.64", "admin_fee": "67.56", "net": "608.08"}

    def statement(st: dict[str, Any]) -> None:
        next(ln for ln in st["lines"] if (ln["licensee"], ln["country"]) == ("L1", "CN"))["gross"] = "128.57"
        st.update(gross="675.64", admin_fee="67.56", net="608.08")

    key = books.signing_key()
    doc = reseal(books.load("C"), rewrite(books.ledger, key, {OLD_SIZE: jp_line_to_de}), key, statement)
    refused(books, tmp_path, doc, "L1: line seq 21 CN/JP is allocated to DE")


def test_forged_report_of_another_period(books: Books, tmp_path: Path) -> None:
    """The allocation of 2025Q1 resting on a report the ledger files under another period."""

    def other_period(body: dict[str, Any]) -> None:
        body["period"] = "2024Q4"

    key = books.signing_key()
    doc = reseal(books.load("C"), rewrite(books.ledger, key, {L1_REPORT: other_period}), key)
    refused(books, tmp_path, doc, f"seq {L1_REPORT}: a report of L1 XR 2024Q4, not one of")


def test_forged_allocation_that_writes_a_member_out(books: Books, tmp_path: Path) -> None:
    """A's shares dropped; A's bundle still holds A's counting patent CN102345678B, behind a line that pays
    nothing to A. The verifier recomputes every licensee with lines where A has counting patents."""

    def a_out(body: dict[str, Any]) -> None:
        body["shares"] = [share for share in body["shares"] if share[2] != "A"]
        body["members"].pop("A")

    def statement(st: dict[str, Any]) -> None:
        st.update(lines=[], gross="0.00", admin_fee="0.00", net="0.00")

    key = books.signing_key()
    doc = reseal(books.load("A"), rewrite(books.ledger, key, {OLD_SIZE: a_out}), key, statement)
    assert any('"number":"CN102345678B"' in i["entry"] for i in doc["entries"])
    refused(books, tmp_path, doc, "L1 CN: the allocation gives A 0.00, the entries give 150.00")


def test_forged_allocation_that_leaves_out_a_bearing_line(books: Books, tmp_path: Path) -> None:
    """C's CN/CN line dropped from the allocation: every bearing line of C's reports must be there."""

    def drop_line(body: dict[str, Any]) -> None:
        body["licensees"]["C"]["lines"] = [
            ln for ln in body["licensees"]["C"]["lines"] if ln[1:3] != ["CN", "CN"]
        ]

    key = books.signing_key()
    doc = reseal(books.load("B"), rewrite(books.ledger, key, {OLD_SIZE: drop_line}), key)
    refused(books, tmp_path, doc, "C: the allocation's lines", "are not the bearing lines of its reports")


def test_forged_units_before_the_period(books: Books, tmp_path: Path) -> None:
    """Units of earlier quarters raised to push C up the tiers: recomputed from its earlier reports."""

    def more_before(body: dict[str, Any]) -> None:
        body["licensees"]["C"]["units_before"] = 2000

    key = books.signing_key()
    doc = reseal(books.load("B"), rewrite(books.ledger, key, {OLD_SIZE: more_before}), key)
    refused(
        books,
        tmp_path,
        doc,
        "C: 2000 bearing units before this period are recorded, its earlier reports give 0",
    )


def test_forged_credit_without_a_licence(books: Books, tmp_path: Path) -> None:
    """B's US patent moved into L1's credit bucket with no licence behind it."""

    def false_credit(body: dict[str, Any]) -> None:
        body["licensees"]["L1"]["credited"]["US"] = ["US10123456B2"]

    key = books.signing_key()
    doc = reseal(books.load("B"), rewrite(books.ledger, key, {OLD_SIZE: false_credit}), key)
    refused(books, tmp_path, doc, "L1 US: US10123456B2 is credited, but no licence entry")


def test_forged_open_licence_memo(books: Books, tmp_path: Path) -> None:
    """A's memo fee lowered in the allocation and the statement alike: recomputed from the declaration,
    the take and L1's report lines."""

    def lower_fee(body: dict[str, Any]) -> None:
        body["open_license_fees"][0]["amount"] = "600.00"

    def statement(st: dict[str, Any]) -> None:
        st["open_license_fees"][0]["amount"] = "600.00"

    key = books.signing_key()
    doc = reseal(books.load("A"), rewrite(books.ledger, key, {OLD_SIZE: lower_fee}), key, statement)
    refused(
        books, tmp_path, doc, "the open-licence memo lines differ from the declarations, takes and reports"
    )


def test_forged_holding_that_leaves_out_a_members_patent(books: Books, tmp_path: Path) -> None:
    """A's CN holding lists CN205123456U only: its counting CN102345678B (in the bundle) is left out."""

    def drop_patent(body: dict[str, Any]) -> None:
        body["countries"]["CN"]["A"]["patents"] = ["CN205123456U"]
        body["countries"]["CN"]["A"]["weight"] = "1"

    key = books.signing_key()
    doc = reseal(books.load("A"), rewrite(books.ledger, key, {OLD_SIZE: drop_patent}), key)
    refused(books, tmp_path, doc, "CN: your counting patent(s) CN102345678B are left out of your holding")


def test_forged_counting_country_that_moves_a_line_away(books: Books, tmp_path: Path) -> None:
    """L1's CN/JP line (JP has no patent: it belongs to CN, where C earns) moved to JP by a claimed JP
    patent that no entry backs."""

    def invent_jp(body: dict[str, Any]) -> None:
        body["countries"]["JP"] = {"B": {"weight": "1", "patents": ["JP4219000B2"], "refs": []}}
        body["licensees"]["L1"]["lines"] = [
            [*ln[:5], "JP"] if ln[2] == "JP" else ln for ln in body["licensees"]["L1"]["lines"]
        ]

    key = books.signing_key()
    doc = reseal(books.load("C"), rewrite(books.ledger, key, {OLD_SIZE: invent_jp}), key)
    refused(books, tmp_path, doc, "L1: line seq 21 CN/JP is allocated to JP, but no entry in the bundle")


def test_forged_country_without_counting_patents_that_pulls_a_line_in(books: Books, tmp_path: Path) -> None:
    """DE (B's counting EP2345678B1) claimed to have no counting patent, so L1's CN/DE line goes to CN."""

    def drop_de(body: dict[str, Any]) -> None:
        del body["countries"]["DE"]
        body["licensees"]["L1"]["lines"] = [
            [*ln[:5], "CN"] if ln[2] == "DE" else ln for ln in body["licensees"]["L1"]["lines"]
        ]

    key = books.signing_key()
    doc = reseal(books.load("C"), rewrite(books.ledger, key, {OLD_SIZE: drop_de}), key)
    refused(books, tmp_path, doc, "CN/DE is allocated to CN, but the entries show a counting patent in DE")


def test_forged_allocation_that_drops_a_memo_fee(books: Books, tmp_path: Path) -> None:
    """A's open-licence fee left out of the allocation and the statement alike; the declaration, the take
    and L1's CN lines are in A's bundle (the take also moves the patent into L1's credit)."""

    def no_fees(body: dict[str, Any]) -> None:
        body["open_license_fees"] = []
        body["open_license_refs"] = []

    def statement(st: dict[str, Any]) -> None:
        st["open_license_fees"] = []

    key = books.signing_key()
    doc = reseal(books.load("A"), rewrite(books.ledger, key, {OLD_SIZE: no_fees}), key, statement)
    refused(books, tmp_path, doc, "open licence CN205123456U: L1 holds it", "lists no memo fee for it")


def test_consistency_proof_from_another_checkpoint_is_no_fork(books: Books) -> None:
    # C-adjusted is proven from new.cp; a member holding old.cp needs a proof from old.cp, and the pool
    # has done nothing wrong: the bundle is refused without crying fork.
    result = verify(books.bundles["C-adjusted"], books.vkey, since=books.old_cp)
    rejected(result, "consistency proof starts from checkpoint size", f"not from yours (size {OLD_SIZE})")
    assert "FORKED" not in result.stdout + result.stderr
    # The bundle's own checkpoint, given as --since, needs no proof at all.
    own = books.dir / "c-adjusted.cp"
    own.write_text(books.load("C-adjusted")["checkpoint"], encoding="utf-8")
    verified(verify(books.bundles["C-adjusted"], books.vkey, since=own))


@pytest.mark.parametrize(
    ("edit", "phrase"),
    [
        (lambda d: d["statement"].update(payments="1000000.00"), "statement: unknown key(s) payments"),
        (lambda d: d["statement"]["lines"][0].update(units=1), "statement.lines[0]: unknown key(s) units"),
        (lambda d: d["statement"].pop("net"), "statement: missing key(s) net"),
        (lambda d: d.update(extra=1), "bundle: unknown key(s) extra"),
        (lambda d: d.update(bundle_v=True), "bundle.bundle_v: not of the expected type"),
        (lambda d: d.update(bundle_v=2), "bundle_v 2: this verifier reads version 1"),
        (lambda d: d.update(statement=None), "bundle.statement: not of the expected type"),
        (lambda d: d.update(consistency="x"), "bundle.consistency: not of the expected type"),
        (lambda d: d["entries"][0].update(seq=True), "entries[0].seq: not of the expected type"),
        (lambda d: d["statement"]["lines"][0].update(patents=[1]), "patents: not a list of patent numbers"),
    ],
)
def test_bundle_of_another_shape(
    books: Books, tmp_path: Path, edit: Callable[[dict[str, Any]], Any], phrase: str
) -> None:
    doc = books.load("C")
    edit(doc)
    refused(books, tmp_path, doc, phrase)
