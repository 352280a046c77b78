"""Per-party bundles (spec section 8a, bundle v2) checked offline: `statement --bundle` (a member's),
`invoice --bundle` (a licensee's), `verify-statement`, `checkpoint`, `prove consistency`, through the CLI on
SQLite and PostgreSQL.

Each backend's pools are built once per module (the `books` fixture) and their bundles written to files.
Every test then verifies a bundle, or a copy that it edits as a dishonest administrator or a man in the
middle would, with `verify-statement` and no database, and asserts the exit code and the precise message.

The "forged" tests go one step further: they play an administrator who holds the pool key, rewrites the
ledger (re-signing every entry after the edit, re-chaining `prev` and re-listing the parts' hashes in the
summary), rebuilds the tree and signs a new checkpoint. Such a bundle is internally consistent, so only
recomputation from the party's own entries (or the party's kept checkpoint) can catch it.

The confidentiality tests search every honest bundle's bytes for what its party must not see; the mutation
test feeds a few hundred seeded random edits of honest bundles to `bundles.verify_bundle` directly.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import random
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
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
from licenses.money import format_cents, round_half_up_cents, to_cents
from patentpool import bundles, parts

DATA = Path(__file__).resolve().parent / "data" / "pool-2025q1"
ORIGIN = "pool.example/test"
OTHER_ORIGIN = "other.example/pool"
PERIOD = "2025Q1"
DAY = "2025-03-31"
# The worked example as built by `_build` (checked in the fixture): the two reports, the parts, the summary.
L1_REPORT, C_REPORT = 21, 22
LICENSEE_PART = {"C": 23, "L1": 24}
MEMBER_PART = {"A": 25, "B": 26, "C": 27}
OLD_SIZE = 28  # the allocation.run summary; the member keeps this checkpoint
# After the payments (29, 30), L2 joins and reports while L1 corrects a line; the period is adjusted.
L2_REPORT, ADJUST = 34, 40
ADJ_LICENSEE_PART = {"C": 23, "L1": 35, "L2": 36}
ADJ_MEMBER_PART = {"A": 37, "B": 38, "C": 39}
# L2's figures are chosen to be found by a byte search: nobody else has these numbers.
L2_LINES = (("CN", "US", 1357, "271400.13"), ("US", "DE", 2468, "493600.87"))
L2_ROYALTY = "565.00"  # R(3825) = (3825 - 1000) x 0.20
# verify-statement must not need a database or a key file: point both somewhere that does not exist.
NO_DB_ENV = {
    "PATENTPOOL_DB": "sqlite:////nonexistent-dir/never.db",
    "PATENTPOOL_KEY": "/nonexistent-dir/no.key",
    "NO_COLOR": "1",
}
REPORT_HEADER = "licensee,program,period,manufacture_country,sale_country,units,net_sales\n"


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
    """One backend's pools and the files a party (or an attacker) would hold."""

    dir: Path
    pool: Pool  # the honest pool P
    vkey: str  # P's verifier key string
    old_cp: Path  # P's checkpoint after reports + allocation, kept by the parties
    new_cp: Path  # P's checkpoint after the payments
    bundles: dict[str, Path] = field(default_factory=dict)
    documents: dict[str, Any] = field(default_factory=dict)  # `statement`/`invoice --format json` output
    ledger: dict[int, bytes] = field(default_factory=dict)  # P's raw entries at OLD_SIZE
    adjusted_ledger: dict[int, bytes] = field(default_factory=dict)  # P's raw entries after the adjust
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

    def bundle(
        pool: Pool, name: str, party: str = "C", since: Path | None = None, invoice: bool = False
    ) -> None:
        path = work / f"{name}.json"
        command = ["invoice", "--licensee"] if invoice else ["statement", "--member"]
        args = [*command, party, "--period", PERIOD, "--bundle", str(path)]
        result = pool.run(*args, "--format", "json", *(["--since", str(since)] if since else []))
        assert f"wrote {'invoice' if invoice else 'statement'} bundle {path}" in result.stderr
        fx.bundles[name] = path
        fx.documents[name] = json.loads(result.stdout)

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
        # P, the honest pool: the parties keep the checkpoint after the allocation; payments come later.
        pool = init(url("honest"), work / "honest.key", ORIGIN)
        _build(pool, DATA)
        old_cp = work / "old.cp"
        old_cp.write_text(pool.run("checkpoint").stdout, encoding="utf-8")
        fx = Books(work, pool, pool.run("key", "show").stdout.strip(), old_cp, work / "new.cp")
        fx.keys["pool"] = pool.key
        fx.ledger = _raw_ledger(pool)
        assert len(fx.ledger) == OLD_SIZE
        kinds = {seq: json.loads(raw)["kind"] for seq, raw in fx.ledger.items()}
        assert json.loads(fx.ledger[L1_REPORT])["body"]["licensee"] == "L1"
        assert json.loads(fx.ledger[C_REPORT])["body"]["licensee"] == "C"
        for role, found in (("licensee", LICENSEE_PART), ("member", MEMBER_PART)):
            for name, seq in found.items():
                assert kinds[seq] == "allocation.part"
                assert json.loads(fx.ledger[seq])["body"][role] == name
        assert kinds[OLD_SIZE] == "allocation.run"
        for member in "ABC":
            bundle(pool, member, member)
        for licensee in ("L1", "C"):
            bundle(pool, f"inv-{licensee}", licensee, invoice=True)
        pool.run("payment", "import", str(DATA / "payments.csv"))
        fx.new_cp.write_text(pool.run("checkpoint").stdout, encoding="utf-8")
        new_size = int(fx.new_cp.read_text().splitlines()[1])
        assert new_size > OLD_SIZE
        bundle(pool, "C-since", since=old_cp)  # an honest continuation, proven from old.cp
        bundle(pool, "C-new")  # the same, made without --since
        bundle(pool, "inv-L1-since", "L1", since=old_cp, invoice=True)
        fx.consistency = json.loads(pool.run("prove", "consistency", str(OLD_SIZE), str(new_size)).stdout)
        # Then L2 joins and reports, L1 corrects a line, and the period is allocated again: allocation.adjust.
        pool.run("member", "add", "L2", "--name", "Lynx Wearables", "--role", "licensee")
        pool.run("license", "grant", "--licensee", "L2", "--program", "XR", "--from", "2025-01-01")
        corrected = pool.write("corrected.csv", REPORT_HEADER + "L1,XR,2025Q1,CN,US,2400,504000.00\n")
        pool.run("report", "import", "--correct", str(corrected))
        rows = "".join(f"L2,XR,{PERIOD},{m},{s},{u},{n}\n" for m, s, u, n in L2_LINES)
        pool.run("report", "import", str(pool.write("l2.csv", REPORT_HEADER + rows)))
        assert "allocation.adjust" in pool.run("allocate", "--program", "XR", "--period", PERIOD).stderr
        fx.adjusted_ledger = _raw_ledger(pool)
        assert json.loads(fx.adjusted_ledger[ADJUST])["kind"] == "allocation.adjust"
        assert json.loads(fx.adjusted_ledger[L2_REPORT])["body"]["licensee"] == "L2"
        for member in "ABC":
            bundle(pool, f"adj-{member}", member, since=fx.new_cp)
        for licensee in ("L1", "C", "L2"):
            bundle(pool, f"adj-inv-{licensee}", licensee, invoice=True)

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
            bundle(other, f"inv-{name}", "L1", invoice=True)
            fx.vkeys[name] = other.run("key", "show").stdout.strip()
            fx.keys[name] = other.key
            if name == "same-origin":
                fx.same_origin_ledger = _raw_ledger(other)
        yield fx
    finally:
        for name in created:
            drop_pg_database(name)


# --- helpers ------------------------------------------------------------------------------------------------
def verify(bundle: Path, vkey: str, since: Path | None = None, *expect: str) -> Result:
    args = ["verify-statement", str(bundle), "--vkey", vkey, *(["--since", str(since)] if since else [])]
    return CliRunner().invoke(main, [*args, *expect], env=NO_DB_ENV, catch_exceptions=False)


def verified(result: Result, what: str = "statement") -> None:
    assert result.exit_code == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.stdout.rstrip().endswith(f"VERDICT: {what} verified")
    assert result.stderr == ""


def rejected(result: Result, *phrases: str) -> None:
    assert result.exit_code == 1, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "VERDICT: NOT VERIFIED" in result.stdout
    assert " verified" not in result.stdout.replace("NOT VERIFIED", "")
    # One line, no traceback.
    assert result.stderr.startswith("Error: bundle rejected: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
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


def keyid(vkey: str) -> str:
    return VerifierKey.parse(vkey).keyid_string


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def body(ledger: dict[int, bytes], seq: int) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(ledger[seq])["body"]
    return found


# --- the forger: an administrator who holds the pool key ----------------------------------------------------
def rewrite(
    ledger: dict[int, bytes],
    key: SigningKey,
    edits: dict[int, Callable[[dict[str, Any]], None]],
    replace: dict[int, bytes] | None = None,
    relist: bool = True,
) -> dict[int, bytes]:
    """The ledger with entry bodies edited (or entries replaced as given, unsigned), every later entry
    re-signed with `prev` re-chained and, unless `relist` is False, every summary's part refs re-hashed."""
    out: dict[int, bytes] = {}
    replace = replace or {}
    for seq in sorted(ledger):
        if seq in replace:
            out[seq] = replace[seq]
            continue
        entry = decode(ledger[seq])
        new_body = copy.deepcopy(dict(entry.body))
        if seq in edits:
            edits[seq](new_body)
        if entry.kind in bundles.SUMMARY_KINDS and relist:
            for role in ("members", "licensees"):
                for name, (part_seq, _h) in new_body["parts"][role].items():
                    new_body["parts"][role][name] = [part_seq, entry_hash(out[part_seq]).hex()]
        prev = entry.prev if seq == 1 else entry_hash(out[seq - 1]).hex()
        new = dataclasses.replace(entry, body=new_body, prev=prev)
        if new.unsigned_bytes() != entry.unsigned_bytes():
            new = dataclasses.replace(new, sig=b64(key.sign(signing_message(key.name, new.unsigned_bytes()))))
        out[seq] = new.encode()
    return out


def reseal(
    doc: dict[str, Any],
    ledger: dict[int, bytes],
    key: SigningKey,
    document: Callable[[dict[str, Any]], None] | None = None,
    add: tuple[int, ...] = (),
) -> dict[str, Any]:
    """A bundle over `ledger`: a tree rebuilt over it, a checkpoint signed by `key`, the bundle's entries
    (and those of `add`) taken from `ledger` and proven, the statement or invoice edited by `document`."""
    tree = merkle.MemoryTree([merkle.leaf_hash(ledger[s]) for s in sorted(ledger)])
    note = sign_checkpoint(Checkpoint(key.name, tree.size, merkle.tree_root(tree, tree.size)), key)
    out = copy.deepcopy(doc)
    kind = out["kind"]
    out["checkpoint"] = out[kind]["checkpoint"] = note
    seqs = sorted({entry["seq"] for entry in out["entries"]} | set(add))
    out["entries"] = [{"seq": s, "entry": ledger[s].decode("utf-8")} for s in seqs]
    out["inclusion"] = [b64(p) for p in merkle.multi_inclusion_proof(tree, [s - 1 for s in seqs], tree.size)]
    if document is not None:
        document(out[kind])
    return out


def forge(
    books: Books,
    name: str,
    edits: dict[int, Callable[[dict[str, Any]], None]],
    document: Callable[[dict[str, Any]], None] | None = None,
    add: tuple[int, ...] = (),
    relist: bool = True,
    restate: int | None = None,
) -> dict[str, Any]:
    """P's ledger rewritten by `edits` and the bundle `name` resealed over it; with `restate`, the statement
    rewritten to follow the (forged) member part at that seq."""
    key = books.signing_key()
    ledger = rewrite(books.ledger, key, edits, relist=relist)
    if restate is not None:
        document = _restate(body(ledger, restate))
    return reseal(books.load(name), ledger, key, document, add)


def reprove(books: Books, doc: dict[str, Any]) -> dict[str, Any]:
    """`doc`'s multi-leaf proof made again for the entries it now holds, from P's tree at OLD_SIZE: what an
    administrator who leaves an entry out would hand over (the proof itself then holds)."""
    tree = merkle.MemoryTree([merkle.leaf_hash(books.ledger[s]) for s in sorted(books.ledger)])
    indices = [entry["seq"] - 1 for entry in doc["entries"]]
    doc["inclusion"] = [b64(p) for p in merkle.multi_inclusion_proof(tree, indices, tree.size)]
    return doc


def refigure(part: dict[str, Any]) -> None:
    """A member part's gross, fee, net and per-patent figures made to follow its (edited) rows: what a
    careful forger writes, so that only the row checks remain to catch it."""
    gross = sum(to_cents(Decimal(row[6])) for row in part["rows"])
    fee = to_cents(round_half_up_cents(Fraction(gross, 100) * Fraction(10, 100)))
    part.update(gross=format_cents(gross), admin_fee=format_cents(fee), net=format_cents(gross - fee))
    part["patents"] = [p.row() for p in parts.per_patent(part)]


def _restate(part: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def edit(statement: dict[str, Any]) -> None:
        statement.update({k: part[k] for k in ("gross", "admin_fee", "net", "open_license_fees")})

    return edit


def member_row(part: dict[str, Any], licensee: str, country: str) -> list[Any]:
    found: list[Any] = next(r for r in part["rows"] if (r[0], r[1]) == (licensee, country))
    return found


# --- honest bundles -----------------------------------------------------------------------------------------
FIGURES = {
    "A": ("150.00", "15.00", "135.00"),
    "B": ("598.38", "59.84", "538.54"),
    "C": ("697.07", "69.71", "627.36"),
}
INVOICES = {"L1": ("900.00", "150.00", "750.00"), "C": ("850.00", "154.55", "695.45")}


@pytest.mark.parametrize("member", ["A", "B", "C"])
def test_honest_member_bundle_verifies(books: Books, member: str) -> None:
    doc = books.load(member)
    assert doc["bundle_v"] == 2 and doc["kind"] == "statement" and doc["party"] == {"member": member}
    assert doc["statement"] == bundles.bundled_statement(books.documents[member])
    assert doc["checkpoint"] == books.old_cp.read_text(encoding="utf-8")
    assert doc["consistency"] is None
    kinds = {json.loads(i["entry"])["kind"] for i in doc["entries"]}
    assert {"pool.genesis", "program.add", "patent.add", "allocation.part", "allocation.run"} <= kinds
    assert not kinds & {"report.add", "report.correct", "license.grant", "payment.add"}
    gross, fee, net = FIGURES[member]
    result = verify(books.bundles[member], books.vkey)
    verified(result)
    assert f"checkpoint: tree size {OLD_SIZE}, signed by {keyid(books.vkey)}" in result.stdout
    assert f"XR {PERIOD}: rests on the allocation at seq {OLD_SIZE}" in result.stdout
    assert f"XR: your part (seq {MEMBER_PART[member]}) is the one the summary lists" in result.stdout
    assert f"statement: {member} {PERIOD} gross {gross}, admin fee {fee}, net {net} USD" in result.stdout
    # It says plainly what only an auditor can check.
    for what in bundles.AUDITOR_ONLY_MEMBER:
        assert f"only an auditor (who replays the whole ledger) can check {what}" in result.stdout


@pytest.mark.parametrize("licensee", ["L1", "C"])
def test_honest_licensee_bundle_verifies(books: Books, licensee: str) -> None:
    name = f"inv-{licensee}"
    doc = books.load(name)
    assert doc["bundle_v"] == 2 and doc["kind"] == "invoice" and doc["party"] == {"licensee": licensee}
    assert doc["invoice"] == books.documents[name]
    kinds = {json.loads(i["entry"])["kind"] for i in doc["entries"]}
    assert {"pool.genesis", "program.add", "report.add", "license.grant", "allocation.part"} <= kinds
    royalty, credit, due = INVOICES[licensee]
    result = verify(books.bundles[name], books.vkey)
    verified(result, "invoice")
    assert (
        f"XR: your part (seq {LICENSEE_PART[licensee]}) is the one the summary lists; royalty {royalty}"
        in (result.stdout)
    )
    assert f"invoice: {licensee} {PERIOD} royalty {royalty}, credit {credit}, due {due} USD" in result.stdout
    for what in bundles.AUDITOR_ONLY_LICENSEE:
        assert f"only an auditor (who replays the whole ledger) can check {what}" in result.stdout


@pytest.mark.parametrize(("member", "countries"), [("B", {"US", "DE"}), ("C", {"CN", "US"})])
def test_member_with_rows_in_several_countries(books: Books, member: str, countries: set[str]) -> None:
    lines = books.documents[member]["lines"]
    assert {ln["country"] for ln in lines} == countries
    result = verify(books.bundles[member], books.vkey)
    verified(result)
    assert f"its {len(lines)} rows, per-patent figures, fee and net add up" in result.stdout


def test_verify_statement_needs_no_database_and_reads_a_key_file(books: Books, tmp_path: Path) -> None:
    key_file = tmp_path / "pool.vkey"
    key_file.write_text(books.vkey + "\n", encoding="utf-8")
    verified(verify(books.bundles["C"], str(key_file)))
    verified(verify(books.bundles["inv-L1"], str(key_file)), "invoice")
    assert not Path("/nonexistent-dir").exists()
    # A key file holding another pool's key is used as such, not ignored.
    key_file.write_text(books.vkeys["same-origin"] + "\n", encoding="utf-8")
    rejected(verify(books.bundles["C"], str(key_file)), "checkpoint is not signed by")


@pytest.mark.parametrize(
    ("name", "expect", "phrase"),
    [
        ("A", ("--member", "B"), "this bundle is A's, not B's"),
        ("A", ("--period", "2025Q2"), f"this bundle is for {PERIOD}, not 2025Q2"),
        ("A", ("--licensee", "A"), "this is a statement bundle of member A, not a licensee one"),
        ("inv-L1", ("--licensee", "C"), "this bundle is L1's, not C's"),
        ("inv-L1", ("--member", "L1"), "this is a invoice bundle of licensee L1"),
        ("inv-C", ("--member", "C"), "this is a invoice bundle of licensee C"),
        ("C", ("--licensee", "C"), "this is a statement bundle of member C"),
    ],
)
def test_bundle_presented_as_another_partys(
    books: Books, name: str, expect: tuple[str, ...], phrase: str
) -> None:
    rejected(verify(books.bundles[name], books.vkey, None, *expect), phrase)


def test_bundle_presented_as_its_own_partys(books: Books) -> None:
    verified(verify(books.bundles["A"], books.vkey, None, "--member", "A", "--period", "2025q1"))
    verified(
        verify(books.bundles["inv-C"], books.vkey, None, "--licensee", "C", "--period", PERIOD), "invoice"
    )


def test_checkpoint_command_prints_a_note_signed_by_the_pool_key(books: Books) -> None:
    vkey = VerifierKey.parse(books.vkey)
    latest = books.pool.run("checkpoint").stdout
    assert verify_checkpoint(latest, vkey, ORIGIN).size == books.pool.size_and_root()[0] > OLD_SIZE
    old_note = books.old_cp.read_text(encoding="utf-8")
    assert verify_checkpoint(old_note, vkey, ORIGIN).size == OLD_SIZE
    assert books.pool.run("checkpoint", "--size", str(OLD_SIZE)).stdout == old_note


# --- an allocation.adjust of the period ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["A", "B", "C", "inv-L1", "inv-C", "C-since"])
def test_bundle_made_before_an_adjust_still_verifies(books: Books, name: str) -> None:
    """The period was adjusted after these bundles were made: each still verifies as what it was."""
    assert json.loads(books.pool.run("checkpoint").stdout.splitlines()[1]) >= ADJUST
    result = verify(books.bundles[name], books.vkey)
    verified(result, books.load(name)["kind"])
    assert f"XR {PERIOD}: rests on the allocation at seq {OLD_SIZE}" in result.stdout
    assert "adjusted" not in result.stdout


@pytest.mark.parametrize(
    ("name", "part", "figures"),
    [
        ("adj-A", ADJ_MEMBER_PART["A"], "gross 152.18, admin fee 15.22, net 136.96"),
        ("adj-B", ADJ_MEMBER_PART["B"], "gross 1060.83, admin fee 106.08, net 954.75"),
        ("adj-C", ADJ_MEMBER_PART["C"], "gross 795.27, admin fee 79.53, net 715.74"),
        ("adj-inv-L1", ADJ_LICENSEE_PART["L1"], "royalty 900.00, credit 152.17, due 747.83"),
        ("adj-inv-C", ADJ_LICENSEE_PART["C"], "royalty 850.00, credit 154.55, due 695.45"),
        ("adj-inv-L2", ADJ_LICENSEE_PART["L2"], f"royalty {L2_ROYALTY}, credit 0.00, due {L2_ROYALTY}"),
    ],
)
def test_bundle_made_after_an_adjust_says_so(books: Books, name: str, part: int, figures: str) -> None:
    doc = books.load(name)
    kinds = {json.loads(i["entry"])["kind"] for i in doc["entries"]}
    assert "allocation.adjust" in kinds
    since = books.new_cp if doc["consistency"] else None
    result = verify(books.bundles[name], books.vkey, since)
    verified(result, doc["kind"])
    assert (
        f"XR {PERIOD}: the period was adjusted before this checkpoint: the allocation at seq {ADJUST} "
        f"supersedes seq {OLD_SIZE}; this bundle rests on seq {ADJUST}"
    ) in result.stdout
    assert f"your part (seq {part}) is the one the summary lists" in result.stdout
    assert figures in result.stdout


def test_after_an_adjust_the_superseded_part_is_not_yours(books: Books, tmp_path: Path) -> None:
    """C's bundle after the adjust with C's superseded part put back in place of its current one."""
    doc = books.load("adj-C")
    doc["entries"].remove(item(doc, ADJ_MEMBER_PART["C"]))
    doc["entries"].append({"seq": MEMBER_PART["C"], "entry": books.ledger[MEMBER_PART["C"]].decode()})
    doc["entries"].sort(key=lambda i: i["seq"])
    tree = merkle.MemoryTree([merkle.leaf_hash(raw) for _s, raw in sorted(books.adjusted_ledger.items())])
    size = int(doc["checkpoint"].splitlines()[1])
    doc["inclusion"] = [
        b64(p) for p in merkle.multi_inclusion_proof(tree, [i["seq"] - 1 for i in doc["entries"]], size)
    ]
    refused(books, tmp_path, doc, f"XR: your part (seq {ADJ_MEMBER_PART['C']}) is missing from the bundle")


# --- what each party must not see ---------------------------------------------------------------------------
def _token(text: str, value: str) -> bool:
    """`value` in `text` as a whole JSON number or string, not as digits inside a hash or a longer number."""
    return re.search(rf"(?<![0-9A-Za-z+/.]){re.escape(value)}(?![0-9A-Za-z+/])", text) is not None


def _secrets(ledger: dict[int, bytes]) -> dict[str, dict[str, set[str]]]:
    """Per party, what only it (and the administrator) may see: a licensee's units, net sales and invoice
    figures; a member's gross, fee, net and per-patent amounts. Each as the text a bundle would hold."""
    out: dict[str, dict[str, set[str]]] = {}
    summary = max(s for s, raw in ledger.items() if json.loads(raw)["kind"] in bundles.SUMMARY_KINDS)
    listed = body(ledger, summary)["parts"]
    for name, (seq, _h) in listed["licensees"].items():
        part = body(ledger, seq)
        mine = out.setdefault(f"licensee {name}", {"figures": set(), "seqs": set()})
        mine["figures"] |= {part[k] for k in ("royalty", "credit", "due") if Decimal(part[k])}
        mine["seqs"] |= set(part["reports"]) | {seq}
        for report in part["reports"]:
            for ln in body(ledger, report)["lines"]:
                mine["figures"] |= {str(ln["units"]), ln["net_sales"]}
    for name, (seq, _h) in listed["members"].items():
        part = body(ledger, seq)
        mine = out.setdefault(f"member {name}", {"figures": set(), "seqs": set()})
        mine["figures"] |= {part[k] for k in ("gross", "admin_fee", "net")}
        mine["figures"] |= {amount for row in part["patents"] for amount in row[2:]}
        mine["seqs"].add(seq)
    return out


CONFIDENTIAL = [
    ("adj-A", "member A"),
    ("adj-B", "member B"),
    ("adj-C", "member C"),
    ("adj-inv-L1", "licensee L1"),
    ("adj-inv-C", "licensee C"),
    ("adj-inv-L2", "licensee L2"),
]


@pytest.mark.parametrize(("name", "party"), CONFIDENTIAL)
def test_a_bundle_holds_no_other_partys_figures(books: Books, name: str, party: str) -> None:
    """Spec 8a: no bundle holds another licensee's units, net sales, report or invoice figure, nor another
    member's part or amounts. L2's figures are chosen so that a byte search cannot miss them."""
    text = books.bundles[name].read_text(encoding="utf-8")
    doc = json.loads(text)
    held = {i["seq"] for i in doc["entries"]}
    secrets = _secrets(books.adjusted_ledger)
    # The control: the party's own figures are in its bundle, so the search would find them.
    for value in secrets[party]["figures"]:
        assert _token(text, value), f"{party}'s own {value} is not in its bundle"
    assert secrets[party]["seqs"] & held
    # What the party itself may legitimately hold (a member sees the royalty attributed to each country,
    # which can equal a licensee's line there): a value of its own is no leak.
    own_part = next(
        json.loads(i["entry"])["body"] for i in doc["entries"] if i["seq"] in secrets[party]["seqs"]
    )
    own = set(re.findall(r'"(\d+\.\d\d)"', json.dumps(own_part))) | secrets[party]["figures"]
    # ... nor is a value of the public terms (L1 reaches the annual cap; 1000 is both a tier bound and a
    # line's units).
    program = body(books.adjusted_ledger, 6)
    own |= set(re.findall(r"\d+(?:\.\d+)?", program["tiers"])) | {program["annual_cap"]}
    for other, found in secrets.items():
        if other == party or (other.split()[1] == party.split()[1] and other.split()[0] != party.split()[0]):
            continue  # C the member and C the licensee are one company, but each bundle holds one role
        leaked = sorted(v for v in found["figures"] - own if _token(text, v))
        assert not leaked, f"{name} holds {other}'s {leaked}"
        assert not found["seqs"] & held, f"{name} holds {other}'s entries {sorted(found['seqs'] & held)}"
    if party != "licensee L2":  # L2's distinctive figures, with no allowance at all
        for made, sold, units, net in L2_LINES:
            assert not _token(text, str(units)) and not _token(text, net)
            assert made and sold
        assert not _token(text, L2_ROYALTY) and L2_REPORT not in held
    if party.startswith("member"):  # a member sees no report, licence or payment at all
        kinds = {json.loads(i["entry"])["kind"] for i in doc["entries"]}
        assert not kinds & {"report.add", "report.correct", "license.grant", "payment.add"}
        assert '"units"' not in text and '"net_sales"' not in text and "net_sales" not in text


def test_a_member_bundle_holds_one_part(books: Books) -> None:
    """A member's bundle holds its own part and the summary, never another party's part."""
    for name, parts_ in (("A", MEMBER_PART), ("adj-B", ADJ_MEMBER_PART)):
        doc = books.load(name)
        own = parts_[doc["party"]["member"]]
        held = [json.loads(i["entry"]) for i in doc["entries"]]
        assert [e["seq"] for e in held if e["kind"] == "allocation.part"] == [own]


# --- the statement or invoice edited ------------------------------------------------------------------------
@pytest.mark.parametrize("key", bundles.RECOMPUTED)
def test_a_statement_carrying_lines_or_per_patent_figures_is_refused(
    books: Books, tmp_path: Path, key: str
) -> None:
    """A member's lines and per-patent figures are recomputed from its part, never read from the bundle: a
    bundle whose statement carries them (true or edited) is not one this tool makes."""
    doc = books.load("C")
    doc["statement"][key] = books.documents["C"][key]
    refused(books, tmp_path, doc, "statement: keys")
    doc["statement"][key] = []
    refused(books, tmp_path, doc, "are not those of a statement")


@pytest.mark.parametrize(("name", "value"), [("gross", "697.08"), ("admin_fee", "69.70"), ("net", "627.37")])
def test_edited_total(books: Books, tmp_path: Path, name: str, value: str) -> None:
    doc = books.load("C")
    doc["statement"][name] = value
    refused(books, tmp_path, doc, f"{name}: the statement differs from your part of the allocation")


def test_edited_totals_in_step(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    doc["statement"].update(gross="797.07", admin_fee="79.71", net="717.36")
    refused(books, tmp_path, doc, "gross: the statement differs from your part of the allocation")


def test_verified_statement_shows_the_lines_recomputed_from_the_part(books: Books) -> None:
    doc = books.load("C")
    assert not set(bundles.RECOMPUTED) & set(doc["statement"])
    verdict = bundles.verify_bundle(doc, books.vkey, None)
    assert verdict.ok, verdict.problems
    assert verdict.document == books.documents["C"]
    assert "lines" not in doc["statement"]  # the caller's document is left as it was


def test_verify_statement_writes_the_verified_statement(books: Books, tmp_path: Path) -> None:
    out = tmp_path / "statement-C.json"
    verified(verify(books.bundles["C"], books.vkey, None, "--document", str(out)))
    assert json.loads(out.read_text(encoding="utf-8")) == books.documents["C"]
    # An existing file is never replaced without --force; a bundle that does not verify writes nothing.
    again = verify(books.bundles["C"], books.vkey, None, "--document", str(out))
    assert again.exit_code == 1 and "already exists" in again.stderr
    forged = books.load("C")
    forged["statement"]["net"] = "0.01"
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged), encoding="utf-8")
    missing = tmp_path / "never.json"
    assert verify(path, books.vkey, None, "--document", str(missing)).exit_code == 1
    assert not missing.exists()


def test_edited_open_licence_memo(books: Books, tmp_path: Path) -> None:
    doc = books.load("A")
    assert doc["statement"]["open_license_fees"][0]["amount"] == "700.00"
    doc["statement"]["open_license_fees"][0]["amount"] = "70.00"
    refused(books, tmp_path, doc, "open_license_fees: the statement differs from your part")


def test_edited_payouts(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    doc["statement"]["distributions"] = [{"date": "2025-05-01", "amount": "627.36", "reference": "x"}]
    refused(books, tmp_path, doc, "distributions: the statement differs from your part")


def test_edited_currency(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    doc["statement"]["currency"] = "EUR"
    refused(books, tmp_path, doc, "currency: the statement says EUR, XR is in USD")


def test_statement_of_another_checkpoint(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    doc["statement"]["checkpoint"] = books.new_cp.read_text(encoding="utf-8")
    refused(books, tmp_path, doc, "the statement cites another checkpoint")


def test_statement_of_another_member(books: Books, tmp_path: Path) -> None:
    """B's statement put in A's bundle (party A): the statement is not A's."""
    doc = books.load("A")
    doc["statement"] = books.load("B")["statement"]
    refused(books, tmp_path, doc, f"the statement is not A's for {PERIOD}")
    # ... and named B's throughout, B's part is not in A's bundle.
    doc["party"] = {"member": "B"}
    refused(books, tmp_path, doc, f"XR: your part (seq {MEMBER_PART['B']}) is missing from the bundle")


@pytest.mark.parametrize(
    ("key", "value", "truth"),
    [("royalty", "899.00", "900.00"), ("credit", "0.00", "150.00"), ("due", "1.00", "750.00")],
)
def test_edited_invoice_figure(books: Books, tmp_path: Path, key: str, value: str, truth: str) -> None:
    doc = books.load("inv-L1")
    doc["invoice"][key] = value
    refused(books, tmp_path, doc, f"{key}: the invoice says {value}, your part gives {truth}")


def test_edited_invoice_memo(books: Books, tmp_path: Path) -> None:
    doc = books.load("inv-L1")
    doc["invoice"]["open_license_fees"] = []
    refused(books, tmp_path, doc, "open_license_fees: the invoice's memo lines differ from your part's")


@pytest.mark.parametrize(
    ("edit", "phrase"),
    [
        (lambda inv: inv.update(currency="EUR"), "currency: the invoice says EUR, XR is in USD"),
        (lambda inv: inv.update(programs=["XR", "AV"]), "programs: the invoice says ['XR', 'AV']"),
        (lambda inv: inv.update(due_date="2025-12-31"), "due_date: the invoice says 2025-12-31"),
        (lambda inv: inv.update(paid="750.00"), "invoice: keys"),
        (lambda inv: inv.pop("due_date"), "invoice: keys"),
    ],
)
def test_edited_invoice_terms(
    books: Books, tmp_path: Path, edit: Callable[[dict[str, Any]], Any], phrase: str
) -> None:
    doc = books.load("inv-L1")
    edit(doc["invoice"])
    refused(books, tmp_path, doc, phrase)


def test_statement_with_a_figure_of_its_own(books: Books, tmp_path: Path) -> None:
    """A key the verifier does not check would be a figure nobody verified: refused."""
    doc = books.load("C")
    doc["statement"]["payments"] = "1000000.00"
    refused(books, tmp_path, doc, "statement: keys", "are not those of a statement")


def test_invoice_of_another_licensee(books: Books, tmp_path: Path) -> None:
    doc = books.load("inv-L1")
    doc["invoice"] = books.load("inv-C")["invoice"]
    refused(books, tmp_path, doc, f"the invoice is not L1's for {PERIOD}")


# --- the entries edited, dropped, repeated, reordered or spliced --------------------------------------------
def test_edited_units_in_a_report_entry(books: Books, tmp_path: Path) -> None:
    doc = books.load("inv-L1")
    entry = item(doc, L1_REPORT)
    assert '"units":2500' in entry["entry"]
    entry["entry"] = entry["entry"].replace('"units":2500', '"units":2600')
    refused(books, tmp_path, doc, f"seq {L1_REPORT}: signature does not verify")


@pytest.mark.parametrize(("name", "seq"), [("C", MEMBER_PART["C"]), ("inv-C", LICENSEE_PART["C"])])
def test_edited_amount_in_the_part_entry(books: Books, tmp_path: Path, name: str, seq: int) -> None:
    doc = books.load(name)
    entry = item(doc, seq)
    old = '"160.71"' if name == "C" else '"154.55"'
    assert old in entry["entry"]
    entry["entry"] = entry["entry"].replace(old, '"170.71"')
    refused(books, tmp_path, doc, f"seq {seq}: signature does not verify")


def test_edited_summary_entry(books: Books, tmp_path: Path) -> None:
    doc = books.load("A")
    entry = item(doc, OLD_SIZE)
    assert '"CN":"3"' in entry["entry"]
    entry["entry"] = entry["entry"].replace('"CN":"3"', '"CN":"2"')
    refused(books, tmp_path, doc, f"seq {OLD_SIZE}: signature does not verify")


@pytest.mark.parametrize(
    ("name", "seq", "phrase"),
    [
        ("inv-L1", L1_REPORT, f"seq {L1_REPORT}: your report entry is missing from the bundle"),
        ("C", MEMBER_PART["C"], f"XR: your part (seq {MEMBER_PART['C']}) is missing from the bundle"),
        ("inv-C", LICENSEE_PART["C"], f"XR: your part (seq {LICENSEE_PART['C']}) is missing from the bundle"),
        ("C", OLD_SIZE, f"no allocation summary for {PERIOD} in the bundle"),
        ("inv-L1", OLD_SIZE, f"no allocation summary for {PERIOD} in the bundle"),
        ("C", 14, "CN110123456B (CN): its entries are missing from the bundle"),
        ("C", 6, "XR: the program.add entry is missing"),
    ],
)
def test_dropped_entry(books: Books, tmp_path: Path, name: str, seq: int, phrase: str) -> None:
    """An entry left out, with the multi-leaf proof made again for the rest (the proof itself holds)."""
    doc = books.load(name)
    doc["entries"].remove(item(doc, seq))
    refused(books, tmp_path, reprove(books, doc), phrase)


def test_dropped_genesis(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    doc["entries"].remove(item(doc, 1))
    refused(books, tmp_path, reprove(books, doc), "the genesis entry (seq 1) is missing")


def test_entry_given_twice(books: Books, tmp_path: Path) -> None:
    doc = books.load("inv-L1")
    doc["entries"].append(dict(item(doc, L1_REPORT)))
    refused(books, tmp_path, doc, f"seq {L1_REPORT}: entries out of order, repeated or misnumbered")


def test_entries_reordered(books: Books, tmp_path: Path) -> None:
    doc = books.load("inv-L1")
    doc["entries"].reverse()
    refused(books, tmp_path, doc, "entries out of order, repeated or misnumbered")


def test_changed_seq(books: Books, tmp_path: Path) -> None:
    doc = books.load("inv-C")
    item(doc, C_REPORT)["seq"] = 21
    refused(books, tmp_path, doc, "seq 21: entries out of order, repeated or misnumbered")


@pytest.mark.parametrize("other", ["other-origin", "same-origin"])
def test_entry_from_another_ledger(books: Books, tmp_path: Path, other: str) -> None:
    """The other ledger holds the same books at the same seqs; its entry is spliced in."""
    doc, foreign = books.load("inv-L1"), books.load(f"inv-{other}")
    mine, theirs = item(doc, L1_REPORT), item(foreign, L1_REPORT)
    assert json.loads(mine["entry"])["body"] == json.loads(theirs["entry"])["body"]
    mine.update(entry=theirs["entry"])
    refused(books, tmp_path, doc, f"seq {L1_REPORT}: author", "is not a key of this pool")


@pytest.mark.parametrize("other", ["other-origin", "same-origin"])
def test_another_ledgers_checkpoint_and_entries(books: Books, tmp_path: Path, other: str) -> None:
    """All the other ledger's evidence under this pool's statement: its checkpoint is not this pool's."""
    doc, foreign = books.load("C"), books.load(other)
    doc.update(checkpoint=foreign["checkpoint"], entries=foreign["entries"], inclusion=foreign["inclusion"])
    doc["statement"]["checkpoint"] = foreign["checkpoint"]
    refused(books, tmp_path, doc, f"checkpoint is not signed by {keyid(books.vkey)}")
    # ... and the other ledger's own bundle does not verify with this pool's key either.
    rejected(verify(books.bundles[other], books.vkey), f"checkpoint is not signed by {keyid(books.vkey)}")
    verified(verify(books.bundles[other], books.vkeys[other]))


def test_entry_carrying_a_per_entry_proof(books: Books, tmp_path: Path) -> None:
    """v1 bundles carried a proof in each entry; v2 has one multi-leaf proof and refuses anything else."""
    doc = books.load("C")
    doc["entries"][0]["proof"] = doc["inclusion"][:1]
    refused(books, tmp_path, doc, "entries: each is {seq, entry}")


# --- the multi-leaf proof for the wrong leaves or size ----------------------------------------------------
def test_swapped_multi_leaf_proof_hashes(books: Books, tmp_path: Path) -> None:
    doc = books.load("C")
    proof = doc["inclusion"]
    assert len(proof) >= 2
    proof[0], proof[-1] = proof[-1], proof[0]
    refused(books, tmp_path, doc, f"entries are not all in the signed tree of size {OLD_SIZE}")


@pytest.mark.parametrize("how", ["truncated", "extended", "empty", "flipped"])
def test_mangled_multi_leaf_proof(books: Books, tmp_path: Path, how: str) -> None:
    doc = books.load("inv-C")
    proof = doc["inclusion"]
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
    refused(books, tmp_path, doc, f"entries are not all in the signed tree of size {OLD_SIZE}")


def test_another_signed_entry_added_without_its_proof(books: Books, tmp_path: Path) -> None:
    """A signed entry of the ledger added to the bundle, the proof left as it was for the others."""
    doc = books.load("C")
    extra = next(s for s in sorted(books.ledger) if s not in {e["seq"] for e in doc["entries"]})
    doc["entries"].append({"seq": extra, "entry": books.ledger[extra].decode("utf-8")})
    doc["entries"].sort(key=lambda i: i["seq"])
    refused(books, tmp_path, doc, f"entries are not all in the signed tree of size {OLD_SIZE}")


def test_proof_of_one_party_under_anothers_entries(books: Books, tmp_path: Path) -> None:
    """A's proof (for A's leaves) under C's entries: same tree, other leaves."""
    doc = books.load("C")
    doc["inclusion"] = books.load("A")["inclusion"]
    refused(books, tmp_path, doc, f"entries are not all in the signed tree of size {OLD_SIZE}")


def test_proof_for_an_older_tree_size(books: Books, tmp_path: Path) -> None:
    """The continuation's checkpoint (after the payments) with the proof made for the old checkpoint."""
    doc, old = books.load("C-since"), books.load("C")
    new_size = int(doc["checkpoint"].splitlines()[1])
    doc["inclusion"] = old["inclusion"]
    refused(books, tmp_path, doc, f"entries are not all in the signed tree of size {new_size}")


def test_older_checkpoint_with_newer_proofs(books: Books, tmp_path: Path) -> None:
    """A genuine, validly signed older checkpoint does not cover a proof made for a bigger tree."""
    doc = books.load("C-new")
    doc["checkpoint"] = doc["statement"]["checkpoint"] = books.old_cp.read_text(encoding="utf-8")
    refused(books, tmp_path, doc, f"in the signed tree of size {OLD_SIZE}")


def test_entry_beyond_the_checkpoint(books: Books, tmp_path: Path) -> None:
    """The adjusted bundle's entries under the older checkpoint: the adjust is not in that tree."""
    doc = books.load("adj-inv-L2")
    doc["checkpoint"] = doc["invoice"]["checkpoint"] = books.new_cp.read_text(encoding="utf-8")
    new_size = int(books.new_cp.read_text().splitlines()[1])
    refused(books, tmp_path, doc, f"not in the signed tree of size {new_size}")


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
    for name in ("C", "inv-L1"):
        rejected(
            verify(books.bundles[name], books.vkeys[other]),
            f"checkpoint is not signed by {keyid(books.vkeys[other])}",
        )


# --- consistency with the party's kept checkpoint -----------------------------------------------------------
@pytest.mark.parametrize("name", ["C-since", "inv-L1-since"])
def test_honest_continuation_is_consistent(books: Books, name: str) -> None:
    doc = books.load(name)
    new_size = int(books.new_cp.read_text().splitlines()[1])
    assert doc["consistency"]["old_checkpoint"] == books.old_cp.read_text(encoding="utf-8")
    # `prove consistency OLD NEW` serves the very proof the bundle carries.
    assert books.consistency["proof"] == doc["consistency"]["proof"]
    assert books.consistency["old_checkpoint"] == books.old_cp.read_text(encoding="utf-8")
    assert books.consistency["new_checkpoint"] == doc["checkpoint"] == books.new_cp.read_text("utf-8")
    result = verify(books.bundles[name], books.vkey, since=books.old_cp)
    verified(result, doc["kind"])
    assert f"the ledger you saw at size {OLD_SIZE} is a prefix of size {new_size}" in result.stdout
    # The party's checkpoint may be the bundle's own.
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


def test_consistency_proof_from_another_checkpoint_is_no_fork(books: Books) -> None:
    # adj-C is proven from new.cp; a member holding old.cp needs a proof from old.cp, and the pool has done
    # nothing wrong: the bundle is refused without crying fork.
    result = verify(books.bundles["adj-C"], books.vkey, since=books.old_cp)
    rejected(result, "the bundle's consistency proof does not start from your checkpoint")
    assert "FORKED" not in result.stdout + result.stderr
    # The bundle's own checkpoint, given as --since, needs no proof at all.
    own = books.dir / "adj-c.cp"
    own.write_text(books.load("adj-C")["checkpoint"], encoding="utf-8")
    verified(verify(books.bundles["adj-C"], books.vkey, since=own))


# --- forged by an administrator holding the pool key --------------------------------------------------------
@pytest.mark.parametrize("name", ["C", "inv-L1"])
def test_forger_control_an_unchanged_rewrite_verifies(books: Books, tmp_path: Path, name: str) -> None:
    key = books.signing_key()
    assert rewrite(books.ledger, key, {}) == books.ledger
    verified(verify(write(tmp_path, forge(books, name, {})), books.vkey), books.load(name)["kind"])


def test_forged_entry_with_a_broken_signature(books: Books, tmp_path: Path) -> None:
    """An entry edited in the tree itself (a checkpoint signed over it) still carries the old signature."""
    raw = books.ledger[L1_REPORT].replace(b'"units":2500', b'"units":2600')
    doc = reseal(books.load("inv-L1"), {**books.ledger, L1_REPORT: raw}, books.signing_key())
    refused(books, tmp_path, doc, f"seq {L1_REPORT}: signature does not verify under {keyid(books.vkey)}")


def test_forged_tree_with_another_ledgers_entry(books: Books, tmp_path: Path) -> None:
    """Another ledger's (validly signed) entry placed in this pool's tree: its author is not a pool key."""
    foreign = books.same_origin_ledger[L1_REPORT]
    doc = reseal(books.load("inv-L1"), {**books.ledger, L1_REPORT: foreign}, books.signing_key())
    refused(books, tmp_path, doc, f"author {keyid(books.vkeys['same-origin'])} is not a key of this pool")


def test_forged_tree_with_another_ledgers_genesis(books: Books, tmp_path: Path) -> None:
    doc = reseal(books.load("C"), {**books.ledger, 1: books.same_origin_ledger[1]}, books.signing_key())
    refused(books, tmp_path, doc, "the ledger's root key is not the key you gave")


# ... a member's part
def test_forged_member_rows_that_do_not_add_up(books: Books, tmp_path: Path) -> None:
    """C's L1/US row raised by 10.00, its gross, fee and net left as they were."""

    def raise_row(part: dict[str, Any]) -> None:
        member_row(part, "L1", "US")[6] = "170.71"

    doc = forge(books, "C", {MEMBER_PART["C"]: raise_row})
    refused(
        books, tmp_path, doc, "your part's gross, fee and net do not add up from its rows and the admin fee"
    )


def test_forged_member_per_patent_figures(books: Books, tmp_path: Path) -> None:
    """C's per-patent split moved a cent from one patent to the other; rows and totals untouched."""

    def shift(part: dict[str, Any]) -> None:
        part["patents"][0][2:] = ["227.28", "22.73", "204.55"]
        part["patents"][1][2:] = ["469.79", "46.98", "422.81"]

    doc = forge(books, "C", {MEMBER_PART["C"]: shift}, restate=MEMBER_PART["C"])
    refused(books, tmp_path, doc, "your per-patent figures do not follow rule 6b from your rows")


def test_forged_member_row_far_from_royalty_times_weight(books: Books, tmp_path: Path) -> None:
    """C's L1/US row raised by 10.00 with gross, fee, net, per-patent figures and the statement all in step:
    only royalty x weight / total weight (321.43 x 1 / 2 = 160.715) catches it."""

    def raise_row(part: dict[str, Any]) -> None:
        member_row(part, "L1", "US")[6] = "170.71"
        refigure(part)

    doc = forge(books, "C", {MEMBER_PART["C"]: raise_row}, restate=MEMBER_PART["C"])
    assert doc["statement"]["gross"] == "707.07"
    refused(books, tmp_path, doc, "L1 US: 170.71 is more than 1 cent(s) from royalty 321.43 x 1 / 2")


def test_forged_member_row_within_the_spec_tolerance(books: Books, tmp_path: Path) -> None:
    """The tolerance is a cent a line (the largest-remainder split may move a cent by others' weights):
    a row of one line two cents away is refused, one cent away is within what a member can check."""
    for amount, ok in (("160.73", False), ("160.72", True)):

        def edit(part: dict[str, Any], amount: str = amount) -> None:
            member_row(part, "L1", "US")[6] = amount
            refigure(part)

        doc = forge(books, "C", {MEMBER_PART["C"]: edit}, restate=MEMBER_PART["C"])
        result = verify(write(tmp_path, doc), books.vkey)
        if ok:
            verified(result)
        else:
            rejected(result, f"L1 US: {amount} is more than 1 cent(s) from royalty 321.43 x 1 / 2")


def test_forged_holding_with_another_members_patent(books: Books, tmp_path: Path) -> None:
    """B's US10123456B2 (its entry in C's bundle) claimed as C's in C's US holding."""

    def claim(part: dict[str, Any]) -> None:
        part["holdings"]["US"] = {
            "patents": ["US10123456B2", "US11234567B1"],
            "refs": [10, 13],
            "weight": "2",
        }
        refigure(part)

    doc = forge(books, "C", {MEMBER_PART["C"]: claim}, add=(10,))
    refused(books, tmp_path, doc, f"US10123456B2 (US) is not yours on {DAY}")


def test_forged_holding_with_a_patent_whose_entries_are_withheld(books: Books, tmp_path: Path) -> None:
    def claim(part: dict[str, Any]) -> None:
        part["holdings"]["US"] = {
            "patents": ["US10123456B2", "US11234567B1"],
            "refs": [10, 13],
            "weight": "2",
        }
        refigure(part)

    doc = forge(books, "C", {MEMBER_PART["C"]: claim})
    refused(books, tmp_path, doc, "US10123456B2 (US): its entries are missing from the bundle")


@pytest.mark.parametrize(
    ("member", "country", "number", "add"),
    [("A", "US", "US7654321B2", (8,)), ("B", "CN", "CN103456789B", (12, 15))],
)
def test_forged_holding_with_a_patent_that_does_not_count(
    books: Books, tmp_path: Path, member: str, country: str, number: str, add: tuple[int, ...]
) -> None:
    """A's US7654321B2 expired on 2025-02-10; B's CN103456789B was invalidated on 2025-02-15 (its
    patent.status entry in the bundle): neither counts on the period's last day."""

    def claim(part: dict[str, Any]) -> None:
        part["holdings"][country] = {"patents": [number], "refs": list(add), "weight": "1"}

    doc = forge(books, member, {MEMBER_PART[member]: claim}, add=add)
    refused(books, tmp_path, doc, f"{number} ({country}) does not count on {DAY}")


def test_forged_holding_weight(books: Books, tmp_path: Path) -> None:
    def heavier(part: dict[str, Any]) -> None:
        part["holdings"]["CN"]["weight"] = "2"

    doc = forge(books, "C", {MEMBER_PART["C"]: heavier})
    refused(books, tmp_path, doc, "CN: your holding's weight is not the sum of your patents' weights")


@pytest.mark.parametrize(
    ("index", "value", "phrase"),
    [
        (5, "2", "L1 CN: the row's total weight is not the summary's"),
        (4, "2", "L1 CN: the row's weight is not that of your uncredited patents"),
    ],
)
def test_forged_row_weights(books: Books, tmp_path: Path, index: int, value: str, phrase: str) -> None:
    def edit(part: dict[str, Any]) -> None:
        member_row(part, "L1", "CN")[index] = value

    refused(books, tmp_path, forge(books, "C", {MEMBER_PART["C"]: edit}), phrase)


def test_forged_summary_total_weight(books: Books, tmp_path: Path) -> None:
    """The summary's CN total weight lowered (so each member's CN share looks bigger to a licensee)."""

    def lighter(summary: dict[str, Any]) -> None:
        summary["countries"]["CN"] = "2"

    refused(
        books, tmp_path, forge(books, "C", {OLD_SIZE: lighter}), "the row's total weight is not the summary's"
    )


def test_forged_summary_listing_another_members_part(books: Books, tmp_path: Path) -> None:
    """The summary lists B's part for A (B's part entry in A's bundle)."""

    def swap(summary: dict[str, Any]) -> None:
        summary["parts"]["members"]["A"] = [MEMBER_PART["B"], ""]

    def relist_b_for_a(summary: dict[str, Any]) -> None:
        swap(summary)

    key = books.signing_key()
    ledger = rewrite(books.ledger, key, {OLD_SIZE: relist_b_for_a})
    # rewrite re-hashes every listed ref: A's now names B's part with B's hash.
    assert body(ledger, OLD_SIZE)["parts"]["members"]["A"][0] == MEMBER_PART["B"]
    doc = reseal(books.load("A"), ledger, key, add=(MEMBER_PART["B"],))
    refused(
        books, tmp_path, doc, f"seq {MEMBER_PART['B']}: the summary lists it for A, it is another party's"
    )


def test_forged_part_the_summary_does_not_list(books: Books, tmp_path: Path) -> None:
    """A's part rewritten (and re-signed) after the summary listed its hash: not the listed part."""

    def edit(part: dict[str, Any]) -> None:
        part["open_license_fees"] = []

    doc = forge(books, "A", {MEMBER_PART["A"]: edit}, relist=False)
    refused(books, tmp_path, doc, f"seq {MEMBER_PART['A']}: not the part the summary lists for A")


@pytest.mark.parametrize(
    ("key", "value", "phrase"),
    [
        ("tiers", "1000:0,5000:0.1,*:0.1", "XR: the summary's schedule is not the program's"),
        ("annual_cap", "800.00", "XR: the summary's schedule is not the program's"),
        ("admin_fee", "5", "XR: the summary's admin fee is not the program's"),
    ],
)
def test_forged_summary_schedule(books: Books, tmp_path: Path, key: str, value: str, phrase: str) -> None:
    def edit(summary: dict[str, Any]) -> None:
        summary["schedule"][key] = value

    for name in ("C", "inv-L1"):
        refused(books, tmp_path, forge(books, name, {OLD_SIZE: edit}), phrase)


def test_forged_summary_of_another_policy(books: Books, tmp_path: Path) -> None:
    def v1(summary: dict[str, Any]) -> None:
        summary["policy"] = "v1"

    refused(
        books,
        tmp_path,
        forge(books, "C", {OLD_SIZE: v1}),
        f"seq {OLD_SIZE}: policy 'v1'; this verifier reads v2",
    )


# ... a licensee's part
def test_forged_royalty_that_does_not_follow_the_tiers(books: Books, tmp_path: Path) -> None:
    """L1's royalty raised above the tiers (and the cap), its due and invoice in step."""

    def more(part: dict[str, Any]) -> None:
        part.update(royalty="1000.00", due="850.00")

    doc = forge(
        books, "inv-L1", {LICENSEE_PART["L1"]: more}, lambda inv: inv.update(royalty="1000.00", due="850.00")
    )
    refused(books, tmp_path, doc, "royalty: rule 3 gives 900.00, your part says 1000.00")


def test_forged_report_is_caught_by_recomputation(books: Books, tmp_path: Path) -> None:
    """The administrator rewrites L1's CN/US report line to 2400 units (re-signing everything after it);
    L1's part still says 2500 units on that line, which the rewritten report no longer does."""

    def fewer_units(report: dict[str, Any]) -> None:
        report["lines"][1]["units"] = 2400

    doc = forge(books, "inv-L1", {L1_REPORT: fewer_units})
    refused(books, tmp_path, doc, "your part's lines are not the bearing lines of your reports")


def test_forged_report_of_another_period(books: Books, tmp_path: Path) -> None:
    def other_period(report: dict[str, Any]) -> None:
        report["period"] = "2024Q4"

    doc = forge(books, "inv-L1", {L1_REPORT: other_period})
    refused(books, tmp_path, doc, "your part's lines are not the bearing lines of your reports")


def test_forged_part_that_leaves_out_a_bearing_line(books: Books, tmp_path: Path) -> None:
    """L1's CN/JP line dropped from its part (units and spread in step): every bearing line must be there."""

    def drop(part: dict[str, Any]) -> None:
        part["lines"] = [ln for ln in part["lines"] if ln[2] != "JP"]
        part["units"] -= 500

    doc = forge(books, "inv-L1", {LICENSEE_PART["L1"]: drop})
    refused(books, tmp_path, doc, "your part's lines are not the bearing lines of your reports")


def test_forged_part_resting_on_another_licensees_report(books: Books, tmp_path: Path) -> None:
    def add(part: dict[str, Any]) -> None:
        part["reports"] = [L1_REPORT, C_REPORT]

    doc = forge(books, "inv-L1", {LICENSEE_PART["L1"]: add}, add=(C_REPORT,))
    refused(books, tmp_path, doc, f"seq {C_REPORT}: not your report for XR")


@pytest.mark.parametrize(
    ("key", "value", "phrase"),
    [
        ("units_before", 2000, "units: your reports give 0 before and 7000 in the period"),
        ("units", 6000, "units: your reports give 0 before and 7000 in the period"),
    ],
)
def test_forged_units(books: Books, tmp_path: Path, key: str, value: int, phrase: str) -> None:
    """Units of earlier quarters raised to push L1 up the tiers, or units of the period lowered."""

    def edit(part: dict[str, Any]) -> None:
        part[key] = value

    refused(books, tmp_path, forge(books, "inv-L1", {LICENSEE_PART["L1"]: edit}), phrase)


def test_forged_allocation_country(books: Books, tmp_path: Path) -> None:
    """L1's CN/JP line (JP has no counting patent: it goes to its manufacture country CN) sent to DE."""

    def to_de(part: dict[str, Any]) -> None:
        part["lines"] = [[*ln[:5], "DE"] if ln[2] == "JP" else ln for ln in part["lines"]]

    doc = forge(books, "inv-L1", {LICENSEE_PART["L1"]: to_de})
    refused(books, tmp_path, doc, "line CN/JP: allocated to DE, not as rule 5 says")


def test_forged_spread_of_the_royalty(books: Books, tmp_path: Path) -> None:
    """Two of L1's line amounts swapped: the total holds, the spread by units does not."""

    def swap(part: dict[str, Any]) -> None:
        part["lines"][0][4], part["lines"][1][4] = part["lines"][1][4], part["lines"][0][4]

    doc = forge(books, "inv-L1", {LICENSEE_PART["L1"]: swap})
    refused(books, tmp_path, doc, "line CN/CN: 128.57, the spread by units gives 385.71")


def test_forged_credit_naming_the_licensees_own_patent(books: Books, tmp_path: Path) -> None:
    """C (a licensee and a member) credited for its own CN110123456B (its entry in the bundle)."""

    def own(part: dict[str, Any]) -> None:
        part["credited"]["CN"] = ["CN102345678B", "CN110123456B", "CN205123456U"]

    doc = forge(books, "inv-C", {LICENSEE_PART["C"]: own}, add=(14,))
    refused(books, tmp_path, doc, "CN110123456B (CN): your own patent is never credited")


def test_forged_credit_naming_a_patent_that_does_not_count(books: Books, tmp_path: Path) -> None:
    """L1 credited for B's invalidated CN103456789B (its patent.status entry in the bundle)."""

    def dead(part: dict[str, Any]) -> None:
        part["credited"]["CN"] = ["CN103456789B", "CN205123456U"]

    doc = forge(books, "inv-L1", {LICENSEE_PART["L1"]: dead}, add=(12, 15))
    refused(books, tmp_path, doc, "CN103456789B (CN): credited, but the bundle does not show it counting")


def test_forged_credit_amount(books: Books, tmp_path: Path) -> None:
    """C's credit raised, its due and invoice in step: the credited patents' share of each country's weight
    gives 154.55."""

    def more(part: dict[str, Any]) -> None:
        part.update(credit="200.00", due="650.00")

    doc = forge(
        books, "inv-C", {LICENSEE_PART["C"]: more}, lambda inv: inv.update(credit="200.00", due="650.00")
    )
    refused(books, tmp_path, doc, "credit: 200.00 is more than a cent a line from your licences' share")


def test_forged_due(books: Books, tmp_path: Path) -> None:
    def less(part: dict[str, Any]) -> None:
        part["due"] = "650.00"

    doc = forge(books, "inv-C", {LICENSEE_PART["C"]: less}, lambda inv: inv.update(due="650.00"))
    refused(books, tmp_path, doc, "due: not royalty minus credit")


# --- files that are not bundles -----------------------------------------------------------------------------
def test_duplicate_json_key_is_refused(books: Books, tmp_path: Path) -> None:
    """Two figures for one name: a reader taking the last one would see 150.00, another 999.00."""
    text = books.bundles["A"].read_text(encoding="utf-8")
    assert '"gross":"150.00"' in text
    path = tmp_path / "dup.json"
    path.write_text(text.replace('"gross":"150.00"', '"gross":"999.00","gross":"150.00"', 1), "utf-8")
    result = verify(path, books.vkey)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {path}: not a readable bundle: duplicate key 'gross' in the bundle\n"
    assert "VERDICT: NOT VERIFIED" in result.stdout
    with pytest.raises(bundles.BundleError, match="duplicate key 'gross'"):
        bundles.read_bundle(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deeply_nested_file_is_refused_in_one_line(tmp_path: Path, opener: str) -> None:
    path = tmp_path / "deep.json"
    closer = "]" if opener == "[" else "}"
    path.write_text(opener * 100_000 + "1" + closer * 100_000, encoding="utf-8")
    result = verify(path, "pool.example/test+00000000+AAAA")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path}: not a readable bundle: "
        f"nested more than {bundles.MAX_DEPTH} levels deep: not a bundle\n"
    )


@pytest.mark.parametrize(
    ("edit", "phrase"),
    [
        (lambda d: d.update(extra=1), "keys ['extra']: not those of a v2 bundle"),
        (lambda d: d.pop("consistency"), "keys ['consistency']: not those of a v2 bundle"),
        (lambda d: d.update(bundle_v=1), "bundle_v 1: this verifier reads version 2"),
        (lambda d: d.update(bundle_v=True), "bundle_v True: this verifier reads version 2"),
        (lambda d: d.update(kind="invoice"), "keys ['invoice', 'statement']: not those of a v2 bundle"),
        (lambda d: d.update(kind="audit"), "kind: must be statement or invoice"),
        (lambda d: d.update(statement=None), "party: a statement bundle names one member"),
        (lambda d: d.update(party={"licensee": "C"}), "party: a statement bundle names one member"),
        (lambda d: d.update(entries=[]), "the bundle holds no entries"),
        (lambda d: d.update(inclusion="x"), "inclusion: not a list of base64 hashes"),
        (lambda d: d["entries"][0].update(seq=True), "entries out of order, repeated or misnumbered"),
        (lambda d: d["entries"][0].update(entry=1), "entries: each is {seq, entry}"),
    ],
)
def test_bundle_of_another_shape(
    books: Books, tmp_path: Path, edit: Callable[[dict[str, Any]], Any], phrase: str
) -> None:
    doc = books.load("C")
    edit(doc)
    refused(books, tmp_path, doc, phrase)


@pytest.mark.parametrize(
    ("consistency", "phrase"),
    [
        ("x", "consistency: not an object"),
        ([], "the bundle carries no consistency proof from your checkpoint"),
        (
            {"old_checkpoint": 1, "proof": []},
            "the bundle's consistency proof does not start from your checkpoint",
        ),
        ({"proof": "x"}, "consistency proof: not a list of base64 hashes"),
        ({"proof": ["!"]}, "bundle rejected"),
    ],
)
def test_consistency_of_another_shape(books: Books, tmp_path: Path, consistency: Any, phrase: str) -> None:
    doc = books.load("C-since")
    doc["consistency"] = consistency
    refused(books, tmp_path, doc, phrase, since=books.old_cp)


# --- seeded random mutations --------------------------------------------------------------------------------
def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in a JSON document."""
    out = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += _paths(child, (*prefix, index))
    return out


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _mutated_value(rng: random.Random, value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return rng.choice([0, 1, "", [], {}, not value])
    if isinstance(value, int):
        return rng.choice([value + 1, value - 1, -value, 0, 2**63, str(value), float(value)])
    if isinstance(value, str):
        if re.fullmatch(r"-?\d+\.\d\d", value):
            cents = to_cents(Decimal(value))
            return rng.choice([format_cents(cents + rng.choice([-1, 1, 100])), value + "0", "-" + value, ""])
        if value and rng.random() < 0.5:
            i = rng.randrange(len(value))
            return value[:i] + chr(ord(value[i]) ^ rng.choice([1, 2, 32])) + value[i + 1 :]
        return rng.choice(["", value + value, value[::-1], 0, None])
    if isinstance(value, list):
        if value and rng.random() < 0.5:
            copy_ = list(value)
            rng.shuffle(copy_)
            return copy_[:-1] if rng.random() < 0.5 else copy_
        return [*value, *value[:1]] if value else [None]
    if isinstance(value, dict):
        if value:
            key = rng.choice(list(value))
            return {k: v for k, v in value.items() if k != key}
        return {"x": 1}
    return None


def _mutate_entry(rng: random.Random, doc: dict[str, Any], entry: dict[str, Any]) -> None:
    """An entry's body edited (not re-signed), or the entry's text edited byte-wise."""
    if rng.random() < 0.5:
        parsed = json.loads(entry["entry"])
        paths = [p for p in _paths(parsed["body"]) if p]
        if paths:
            path = rng.choice(paths)
            _get(parsed["body"], path[:-1])[path[-1]] = _mutated_value(rng, _get(parsed["body"], path))
        entry["entry"] = json.dumps(parsed, separators=(",", ":"))
    else:
        text = entry["entry"]
        i = rng.randrange(len(text))
        entry["entry"] = text[:i] + rng.choice('0123456789"{}[],:ax ') + text[i + 1 :]


def test_random_mutations_are_refused_or_harmless(books: Books) -> None:
    """A few hundred seeded random edits of honest member and licensee bundles, verified in memory: every
    one either gives a Verdict with problems or leaves the verified statement or invoice unchanged; none
    raises."""
    rng = random.Random(20260607)
    accepted_changed: list[str] = []
    rejected_count = 0
    for name in ("C", "A", "inv-L1", "inv-C", "adj-B", "adj-inv-L2"):
        text = books.bundles[name].read_text(encoding="utf-8")
        honest = json.loads(text)
        kind = honest["kind"]
        assert bundles.verify_bundle(honest, books.vkey, None).ok
        for trial in range(60):
            doc = copy.deepcopy(honest)
            how = trial % 4
            label = f"{name} #{trial}"
            if how == 0:  # the statement or invoice
                path = rng.choice([p for p in _paths(doc[kind]) if p])
                _get(doc[kind], path[:-1])[path[-1]] = _mutated_value(rng, _get(doc[kind], path))
                label += f" {kind}{list(path)}"
            elif how == 1:  # an entry
                _mutate_entry(rng, doc, rng.choice(doc["entries"]))
                label += " entry"
            elif how == 2:  # anything in the document
                path = rng.choice([p for p in _paths(doc) if p])
                _get(doc, path[:-1])[path[-1]] = _mutated_value(rng, _get(doc, path))
                label += f" {list(path)}"
            else:  # the file's bytes
                raw = bytearray(text.encode("utf-8"))
                for _ in range(rng.randint(1, 3)):
                    raw[rng.randrange(len(raw))] = rng.randrange(32, 127)
                try:
                    doc = bundles.read_bundle(raw.decode("utf-8", errors="replace"))
                except ValueError:
                    continue  # refused before verification: the one-line error verify_bundle_file prints
                label += " bytes"
            # With the checkpoint the party kept (the bundle's own when it carries no proof) half the time.
            since = (
                books.new_cp.read_text(encoding="utf-8") if honest["consistency"] else honest["checkpoint"]
            )
            since = since if rng.random() < 0.5 else None
            verdict = bundles.verify_bundle(doc, books.vkey, since)
            assert isinstance(verdict, bundles.Verdict)
            if verdict.ok:
                # Accepted: then the party's document and every entry it rests on are the honest ones.
                if not isinstance(doc, dict) or (doc.get(kind), doc.get("entries")) != (
                    honest[kind],
                    honest["entries"],
                ):
                    accepted_changed.append(label)
            else:
                rejected_count += 1
                assert all(p.startswith("bundle rejected: ") for p in verdict.problems)
                assert all("\n" not in p for p in verdict.problems)
    assert not accepted_changed, accepted_changed
    assert rejected_count > 250  # the edits are real ones: the few accepted are no-ops (checked above)


def test_forged_open_licence_memo_of_a_licensee(books: Books, tmp_path: Path) -> None:
    """L1's memo fee on A's utility model lowered from 700.00 (7,000 units made in CN x 0.10): the licensee
    recomputes it from its own reports, the declaration and its take."""

    def lower(part: dict[str, Any]) -> None:
        part["open_license_fees"][0]["amount"] = "600.00"

    def lower_invoice(inv: dict[str, Any]) -> None:
        inv["open_license_fees"][0]["amount"] = "600.00"

    doc = forge(books, "inv-L1", {LICENSEE_PART["L1"]: lower}, lower_invoice)
    refused(books, tmp_path, doc, "open_license_fees: your memo lines do not follow from your open licences")
