"""Per-party bundles (spec section 8a, bundle v2): what a member needs to check its statement, or a licensee
its invoice, offline with the pool's verifier key alone, without seeing any other party's figures.

A bundle holds the party's statement or invoice, the entries it rests on (their exact stored bytes: the
allocation's summary, the party's own part, its own patents', reports', licences' and payments' entries,
every key entry), one multi-leaf RFC 9162 inclusion proof against a signed checkpoint, and optionally a
consistency proof from a checkpoint the party kept. `verify_bundle` trusts nothing in the file but what the
key signed, and recomputes what the party's own entries determine with the same rule functions the
allocation uses (`parts`, `allocation`, `licenses.schedule`); what rests on other parties' figures is listed
as what only an auditor can check.

This module is imported by `verify-statement`, which must start fast: it uses no database, pandas or rich.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger import kept as kept_messages
from ledger import merkle
from ledger.checkpoint import Checkpoint, verify_checkpoint
from ledger.entry import Entry, EntryError, decode, entry_hash, signing_message
from ledger.keyring import GENESIS, KEY_KINDS, Keyring, KeyringError
from ledger.keys import VerifierKey
from licenses.money import cents_of, format_cents, largest_remainder, round_half_up_cents, to_cents
from licenses.schedule import RoyaltySchedule
from patentpool import jsonout, owners, parts, witness
from patentpool.allocation import POLICY, read_weight
from patentpool.errors import PoolError

if TYPE_CHECKING:
    from ledger.log import Reader
    from patentpool.outputs import Guard
    from patentpool.periods import Period
    from patentpool.state import AllocationRecord, PoolState

BUNDLE_VERSION = 2
SUMMARY_KINDS = ("allocation.run", "allocation.adjust")
# A bundle is nested a few levels deep; anything deeper is not one (and would exhaust the parser's stack).
MAX_DEPTH = 64

AUDITOR_ONLY_MEMBER = (
    "that each licensee's units and royalty are what its reports say (you see only the royalty attributed "
    "to each country, never the reports)",
    "that the other members' weights and the credit bucket make up each country's total weight",
    "that the open-licence memo amounts follow from the licensees' reports",
)
AUDITOR_ONLY_LICENSEE = (
    "that the members' split of your royalty follows their patents (you see only each country's total "
    "weight)",
    "the exact credit where buckets tie (rule 10 breaks ties by other members' weights): checked to one "
    "cent a line",
)


class BundleError(PoolError, ValueError):
    pass


# A statement's lines and per-patent figures follow from the member's parts (rule 6b), which the bundle
# carries: they are left out of the bundle's statement and `verify-statement` shows them as it recomputes
# them. Carrying them made the top member's bundle several times the size of its part.
RECOMPUTED = ("lines", "patents")


def bundled_statement(statement: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in statement.items() if k not in RECOMPUTED}


# --- making a bundle (administrator side) -------------------------------------------------------------------
def member_bundle(
    state: PoolState,
    reader: Reader,
    statement: dict[str, Any],
    period: Period,
    program: str | None,
    since_note: str | None,
) -> dict[str, Any]:
    """A member's bundle: the summaries, its own parts, its patents' entries, its payouts, the programs'
    terms and every key entry; no other party's part, report or invoice."""
    from patentpool.books import records_for

    member = statement["member"]
    seqs: set[int] = set()
    for record in records_for(state, period, program):
        seqs |= _summary_seqs(state, record, period)
        found = record.parts.get(("member", member))
        if found is None:
            continue
        seqs.add(found[0])
        part = state.member_part(record, member)
        assert part is not None
        for holding in part["holdings"].values():
            seqs.update(holding["refs"])
    seqs |= {d.ref[0] for d in state.distributions if d.member == member and d.period == period.label}
    return _bundle(
        reader, "statement", {"member": member}, period, bundled_statement(statement), seqs, since_note
    )


def licensee_bundle(
    state: PoolState,
    reader: Reader,
    invoice: dict[str, Any],
    period: Period,
    program: str | None,
    since_note: str | None,
) -> dict[str, Any]:
    """A licensee's bundle: the summaries of the period and of the earlier periods of the year, its own
    part, report, correction, licence, payment and open-licence entries, and the entries of the patents
    credited to it; no member's part and no other licensee's figures."""
    from patentpool.books import records_for

    licensee = invoice["licensee"]
    seqs: set[int] = set()
    for record in records_for(state, period, program):
        seqs |= _summary_seqs(state, record, period)
        found = record.parts.get(("licensee", licensee))
        if found is None:
            continue
        seqs.add(found[0])
        part = state.entry_body(found[0])
        seqs.update(ref[0] for ref in part["earlier"])
        seqs.update(part["reports"])
        seqs.update(part["earlier_reports"])
        if part["grant"] is not None:
            seqs.add(part["grant"])
        for refs in part["credit_refs"].values():
            seqs.update(refs)
        for refs in part["open_license_refs"]:
            seqs.update(refs)  # the declaration, its withdrawal, the take, and the patent's own entries
        for refs in part["credited_entries"].values():
            seqs.update(refs)
    seqs |= {p.ref[0] for p in state.payments if p.licensee == licensee}
    return _bundle(reader, "invoice", {"licensee": licensee}, period, invoice, seqs, since_note)


def _summary_seqs(state: PoolState, record: AllocationRecord, period: Period) -> set[int]:
    seqs = {record.ref[0], int(record.body["program_seq"])}
    program = state.programs.get(record.body["program"])
    if program is not None:  # the program.amend in force, whose terms the allocation used (spec 4a)
        seqs |= {ref[0] for ref in program.terms_refs(period.label)}
    return seqs


def _bundle(
    reader: Reader,
    kind: str,
    party: dict[str, str],
    period: Period,
    document: dict[str, Any],
    seqs: set[int],
    since_note: str | None,
) -> dict[str, Any]:
    cp = reader.checkpoint()
    # Every key entry (genesis included), so each author's validity can be judged at its seq.
    seqs = set(seqs) | {1} | {seq for seq, _raw in reader.raw_entries(kinds=list(KEY_KINDS))}
    wanted = sorted(s for s in seqs if s <= cp.size)
    raws = reader.store.raw_entries(reader.conn, wanted)
    missing = [seq for seq in wanted if seq not in raws]
    if missing:
        raise BundleError(f"seq {missing[0]}: the allocation read an entry the ledger does not hold")
    nodes = reader.store.nodes(reader.conn)
    leaves = {seq - 1: merkle.leaf_hash(raws[seq]) for seq in wanted}
    try:
        # The entries read are checked against the signed root before they go to a party.
        proof, root = merkle.prove_leaves(nodes, leaves, cp.size)
    except LookupError as exc:
        raise BundleError(f"cannot prove the bundle's entries: {exc}; run `patentpool verify`") from exc
    if root != cp.root:
        raise BundleError(f"the bundle's entries are not the ones checkpoint {cp.size} signed; run verify")
    doc: dict[str, Any] = {
        "bundle_v": BUNDLE_VERSION,
        "kind": kind,
        "party": party,
        "period": period.label,
        kind: document,
        "checkpoint": cp.note,
        "entries": [{"seq": seq, "entry": raws[seq].decode("utf-8")} for seq in wanted],
        "inclusion": [base64.b64encode(h).decode() for h in proof],
        "consistency": None,
        # Witnesses' cosigned checkpoints with proofs to this one (spec 8a, Cosignatures).
        "cosigned": witness.bundle_cosigned(reader, cp.size),
    }
    if since_note is not None:
        doc["consistency"] = _consistency_from(reader, nodes, cp, since_note)
    return doc


def _consistency_from(reader: Reader, nodes: Any, cp: Any, since_note: str) -> dict[str, Any]:
    try:
        old = verify_checkpoint(since_note, reader.root_key, reader.origin)
    except ValueError as exc:
        # Only a checkpoint the pool's key did not sign is the user's mistake.
        raise BundleError(f"the --since checkpoint is not one this pool's key signed: {exc}") from exc
    # Signed by the pool's key: if this ledger does not contain it, that is evidence against the ledger
    # (ledger.kept), not a wrong file.
    name = "the --since checkpoint"
    if old.size > cp.size:
        raise BundleError(kept_messages.rollback(name, old.size, cp.size))
    try:
        proof = merkle.consistency_proof(nodes, old.size, cp.size) if 0 < old.size < cp.size else []
        if old.size == cp.size and old.root != cp.root:
            raise merkle.ProofError("same size, different roots")
        if 0 < old.size < cp.size:
            merkle.verify_consistency(old.size, cp.size, old.root, cp.root, proof)
    except (merkle.ProofError, LookupError) as exc:
        raise BundleError(
            f"{kept_messages.fork(name, old.size)} ({exc}; or the Merkle node table is damaged: run "
            "`patentpool verify --checkpoint` with it)"
        ) from exc
    return {"old_checkpoint": since_note, "proof": [base64.b64encode(p).decode() for p in proof]}


def _parse_note_unverified(note: str) -> Checkpoint:
    lines = note.split("\n")
    # A tree size has at most 19 digits (2^63 - 1): a longer one is refused before int() reads it.
    if len(lines) < 3 or not lines[1].isdigit() or len(lines[1]) > 19:
        raise BundleError("not a checkpoint note")
    try:
        return Checkpoint(lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True))
    except ValueError as exc:
        raise BundleError(f"not a checkpoint note: {exc}") from None


def write_bundle(path: Path, doc: dict[str, Any], guard: Guard | None = None) -> None:
    """Write the bundle through `patentpool.outputs` (never over an existing file without `guard.force`,
    never over the database or a key file)."""
    from patentpool.outputs import Guard, open_output

    data = jsonout.dumps_bytes(doc, indent=False) + b"\n"
    with open_output(path, guard or Guard(), binary=True) as handle:
        handle.write(data)


# --- verifying a bundle (party side) ------------------------------------------------------------------------
@dataclass
class Verdict:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    auditor_only: tuple[str, ...] = ()
    document: dict[str, Any] | None = None  # the statement or invoice, once verified

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Expect:
    """What the reader of a bundle says it is: whose, for which period (None: not asked)."""

    member: str | None = None
    licensee: str | None = None
    period: str | None = None


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKETS = re.compile(r"[\[\]{}]")


def read_bundle(text: str) -> Any:
    """The bundle's JSON, strictly: a duplicate key (two figures for one name) is refused, not last-wins."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise BundleError(f"duplicate key {key!r} in the bundle")
            out[key] = value
        return out

    # Refuse a deeply nested file before the parser's recursion does: count brackets outside strings (an
    # unterminated string runs to the end, as the parser reads it).
    structure = _STRING.sub("", text)
    if (cut := structure.find('"')) >= 0:
        structure = structure[:cut]
    depth = 0
    for bracket in _BRACKETS.findall(structure):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            raise BundleError(f"nested more than {MAX_DEPTH} levels deep: not a bundle")
    return json.loads(text, object_pairs_hook=no_duplicates)


def verify_bundle_file(
    path: Path,
    vkey_text: str,
    since_note: str | None,
    expect: Expect | None = None,
    witnesses: Sequence[str] = (),
) -> Verdict:
    try:
        doc = read_bundle(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return Verdict(lines=["VERDICT: NOT VERIFIED"], problems=[f"{path}: not a readable bundle: {exc}"])
    verdict = verify_bundle(doc, vkey_text, since_note, expect, witnesses)
    what = "statement" if isinstance(doc, dict) and doc.get("kind") == "statement" else "invoice"
    verdict.lines.append(f"VERDICT: {what + ' verified' if verdict.ok else 'NOT VERIFIED'}")
    return verdict


def verify_bundle(
    doc: Any,
    vkey_text: str,
    since_note: str | None,
    expect: Expect | None = None,
    witnesses: Sequence[str] = (),
) -> Verdict:
    verdict = Verdict()
    try:
        _verify(doc, vkey_text, since_note, expect or Expect(), verdict, witnesses)
    except (
        BundleError,
        EntryError,
        KeyringError,
        ValueError,
        KeyError,
        TypeError,
        IndexError,
        AttributeError,
        RecursionError,
    ) as exc:
        verdict.problems.append(f"bundle rejected: {exc}")
    return verdict


_DOC_KEYS = {"bundle_v", "kind", "party", "period", "checkpoint", "entries", "inclusion", "consistency"}


def _check_shape(doc: Any, expect: Expect) -> str:
    if not isinstance(doc, dict) or "bundle_v" not in doc:
        raise BundleError("not a bundle")
    if doc["bundle_v"] != BUNDLE_VERSION:
        raise BundleError(f"bundle_v {doc['bundle_v']!r}: this verifier reads version {BUNDLE_VERSION}")
    kind = doc.get("kind")
    if kind not in ("statement", "invoice"):
        raise BundleError("kind: must be statement or invoice")
    # `cosigned` (witnesses' cosigned checkpoints) is checked by patentpool.witness; bundles made before
    # there were cosignatures have none.
    keys = _DOC_KEYS | {kind} | ({"cosigned"} & set(doc))
    if set(doc) != keys:
        raise BundleError(f"keys {sorted(set(doc) ^ keys)}: not those of a v2 bundle")
    party, document = doc["party"], doc[kind]
    role = "member" if kind == "statement" else "licensee"
    if not isinstance(party, dict) or set(party) != {role} or not isinstance(document, dict):
        raise BundleError(f"party: a {kind} bundle names one {role}")
    name = party[role]
    if document.get(role) != name or document.get("period") != doc["period"]:
        raise BundleError(f"the {kind} is not {name}'s for {doc['period']}")
    wanted = expect.member if role == "member" else expect.licensee
    other = expect.licensee if role == "member" else expect.member
    if other is not None:
        raise BundleError(
            f"this is a {kind} bundle of {role} {name}, not a {'licensee' if other else ''} one"
        )
    if wanted is not None and wanted != name:
        raise BundleError(f"this bundle is {name}'s, not {wanted}'s")
    if expect.period is not None and expect.period.upper() != doc["period"]:
        raise BundleError(f"this bundle is for {doc['period']}, not {expect.period}")
    return str(kind)


def _verify(
    doc: Any,
    vkey_text: str,
    since: str | None,
    expect: Expect,
    verdict: Verdict,
    witnesses: Sequence[str] = (),
) -> None:
    kind = _check_shape(doc, expect)
    vkey = VerifierKey.parse(vkey_text)
    try:
        cp = verify_checkpoint(doc["checkpoint"], vkey, vkey.name)
    except ValueError as exc:
        raise BundleError(f"checkpoint is not signed by {vkey.keyid_string}: {exc}") from exc
    verdict.lines.append(f"checkpoint: tree size {cp.size}, signed by {vkey.keyid_string}")
    document = dict(doc[kind])  # a statement gets its recomputed lines back: the caller's doc is kept
    if document.get("checkpoint", doc["checkpoint"]) != doc["checkpoint"]:
        raise BundleError(f"the {kind} cites another checkpoint than the one the bundle is proven against")
    _check_consistency(doc, vkey, cp, since, verdict)
    entries, hashes = _check_entries(doc, vkey, cp, verdict)
    summaries = _summaries(entries, doc["period"], verdict)
    if kind == "statement":
        _check_statement(document, summaries, entries, hashes, verdict)
        verdict.auditor_only = AUDITOR_ONLY_MEMBER
    else:
        _check_invoice(document, summaries, entries, hashes, verdict)
        verdict.auditor_only = AUDITOR_ONLY_LICENSEE
    # Witnesses: cosigned checkpoints that hold the allocation the bundle rests on, consistent with its own.
    allocation = max(entry.seq for entry in summaries.values())
    lines, problems = witness.check_bundle_cosignatures(doc, vkey, cp, allocation, witnesses)
    verdict.lines += lines
    verdict.problems += problems
    verdict.lines += [
        f"only an auditor (who replays the whole ledger) can check {what}" for what in verdict.auditor_only
    ]
    verdict.document = document


def _check_consistency(
    doc: dict[str, Any], vkey: VerifierKey, cp: Checkpoint, since: str | None, verdict: Verdict
) -> None:
    if since is None:
        return
    try:
        old = verify_checkpoint(since, vkey, vkey.name)
    except ValueError as exc:
        raise BundleError(f"your --since checkpoint does not verify with this key: {exc}") from exc
    consistency = doc.get("consistency") or {}
    if not isinstance(consistency, dict):
        raise BundleError("consistency: not an object")
    proof = _b64list(consistency.get("proof", []), "consistency proof")
    if old.size > cp.size:
        raise BundleError(
            f"the bundle's checkpoint ({cp.size}) is older than yours ({old.size}): ask for a fresh one; if "
            "the pool says it is the latest, this is a POSSIBLE ROLLBACK of entries the pool signed"
        )
    if not doc.get("consistency") and old.size < cp.size:
        raise BundleError(
            f"the bundle carries no consistency proof from your checkpoint (size {old.size}): ask for one "
            "made with --since"
        )
    try:
        if old.size == cp.size:
            if old.root != cp.root:
                raise merkle.ProofError("same size, different roots")
        elif old.size:
            start = consistency.get("old_checkpoint")
            if not isinstance(start, str) or _parse_note_unverified(start).size != old.size:
                raise BundleError("the bundle's consistency proof does not start from your checkpoint")
            merkle.verify_consistency(old.size, cp.size, old.root, cp.root, proof)
    except merkle.ProofError as exc:
        raise BundleError(
            f"FORKED HISTORY: the ledger at size {cp.size} does not extend the one you kept at size "
            f"{old.size} ({exc}); the administrator rewrote entries you had seen"
        ) from exc
    verdict.lines.append(f"consistency: the ledger you saw at size {old.size} is a prefix of size {cp.size}")


def _b64list(values: Any, what: str) -> list[bytes]:
    if not isinstance(values, list):
        raise BundleError(f"{what}: not a list of base64 hashes")
    return [base64.b64decode(v, validate=True) for v in values]


def _check_entries(
    doc: dict[str, Any], vkey: VerifierKey, cp: Checkpoint, verdict: Verdict
) -> tuple[dict[int, Entry], dict[int, str]]:
    """Every entry decoded strictly, in seq order, signed by a key valid at its seq, and all of them proven
    in the signed tree by the one multi-leaf proof; with each entry's hash h."""
    items = doc["entries"]
    if not isinstance(items, list) or not items:
        raise BundleError("the bundle holds no entries")
    entries: dict[int, Entry] = {}
    hashes: dict[int, str] = {}
    leaves: dict[int, bytes] = {}
    last = 0
    for item in items:
        if not isinstance(item, dict) or set(item) != {"seq", "entry"} or not isinstance(item["entry"], str):
            raise BundleError("entries: each is {seq, entry}")
        raw = item["entry"].encode("utf-8")
        entry = decode(raw)
        # type(): JSON `true` is not seq 1, though True == 1 in Python.
        if type(item["seq"]) is not int or entry.seq != item["seq"] or entry.seq <= last:
            raise BundleError(f"seq {item['seq']!r}: entries out of order, repeated or misnumbered")
        if entry.seq > cp.size:
            raise BundleError(f"seq {entry.seq}: not in the signed tree of size {cp.size}")
        last = entry.seq
        leaves[entry.seq - 1] = merkle.leaf_hash(raw)
        entries[entry.seq] = entry
        hashes[entry.seq] = entry_hash(raw).hex()
    genesis = entries.get(1)
    if genesis is None or genesis.kind != GENESIS:
        raise BundleError("the genesis entry (seq 1) is missing")
    ring = Keyring.from_genesis(genesis.body)
    if ring.root != vkey:
        raise BundleError("the ledger's root key is not the key you gave: an entry from another ledger")
    for seq in sorted(entries):
        entry = entries[seq]
        try:
            signer = ring.root if seq == 1 else ring.check_author(seq, entry.author, entry.kind)
        except KeyringError as exc:
            raise BundleError(f"seq {seq}: {exc}") from exc
        if not signer.verify(entry.signature, signing_message(ring.origin, entry.unsigned_bytes())):
            raise BundleError(f"seq {seq}: signature does not verify under {entry.author}")
        if entry.kind in KEY_KINDS and seq > 1:
            ring.apply(seq, entry.kind, entry.body)
    try:
        merkle.verify_multi_inclusion(leaves, cp.size, _b64list(doc["inclusion"], "inclusion"), cp.root)
    except (merkle.ProofError, ValueError) as exc:
        raise BundleError(
            f"the {len(leaves)} entries are not all in the signed tree of size {cp.size}: {exc}"
        ) from exc
    verdict.lines.append(f"entries: {len(entries)} signed entries, proven in the tree of size {cp.size}")
    return entries, hashes


def _summaries(entries: dict[int, Entry], period: str, verdict: Verdict) -> dict[str, Entry]:
    """The latest summary of each program for the period (a bundle made after an adjustment rests on it)."""
    latest: dict[str, Entry] = {}
    for seq in sorted(entries):
        entry = entries[seq]
        if entry.kind in SUMMARY_KINDS and entry.body.get("period") == period:
            if entry.body.get("policy") != POLICY:
                raise BundleError(
                    f"seq {seq}: policy {entry.body.get('policy')!r}; this verifier reads {POLICY}"
                )
            latest[entry.body["program"]] = entry
    if not latest:
        raise BundleError(f"no allocation summary for {period} in the bundle")
    for program, entry in sorted(latest.items()):
        if entry.kind == "allocation.adjust":
            verdict.lines.append(
                f"{program} {period}: the period was adjusted before this checkpoint: the allocation at "
                f"seq {entry.seq} supersedes seq {entry.body.get('supersedes')}; this bundle rests on "
                f"seq {entry.seq}"
            )
        else:
            verdict.lines.append(f"{program} {period}: rests on the allocation at seq {entry.seq}")
    return latest


def _own_part(
    summary: Entry, entries: dict[int, Entry], hashes: dict[int, str], role: str, name: str
) -> Entry | None:
    listed = summary.body["parts"][f"{role}s"].get(name)
    if listed is None:
        return None
    seq, h = listed
    part = entries.get(seq)
    if part is None or part.kind != parts.PART:
        raise BundleError(f"{summary.body['program']}: your part (seq {seq}) is missing from the bundle")
    if hashes.get(seq) != h:
        raise BundleError(f"seq {seq}: not the part the summary lists for {name}")
    if part.body.get(role) != name or part.body.get("period") != summary.body["period"]:
        raise BundleError(f"seq {seq}: the summary lists it for {name}, it is another party's")
    return part


def _program_terms(entries: dict[int, Entry], summary: Entry) -> RoyaltySchedule:
    """The schedule the summary states, checked against the program's entries in the bundle."""
    schedule = summary.body["schedule"]
    added = entries.get(int(summary.body["program_seq"]))
    if added is None or added.kind != "program.add" or added.body["name"] != summary.body["program"]:
        raise BundleError(f"{summary.body['program']}: the program.add entry is missing")
    terms = {
        "tiers": added.body["tiers"],
        "annual_cap": added.body.get("annual_cap"),
        "admin_fee": added.body["admin_fee"],
    }
    from patentpool.periods import Period

    start = Period.parse(summary.body["period"]).start
    amends = [
        e
        for e in entries.values()
        if e.kind == "program.amend"
        and e.body.get("name") == summary.body["program"]
        and Period.parse(e.body["from_period"]).start <= start
    ]
    if amends:
        latest = max(amends, key=lambda e: (Period.parse(e.body["from_period"]).start, e.seq))
        terms.update({k: latest.body[k] for k in ("tiers", "annual_cap", "admin_fee") if k in latest.body})
    sched = RoyaltySchedule.parse(str(terms["tiers"]), terms.get("annual_cap"))
    if sched.tiers.canonical() != schedule["tiers"] or sched.cap_text() != schedule["annual_cap"]:
        raise BundleError(f"{summary.body['program']}: the summary's schedule is not the program's")
    if Decimal(str(terms["admin_fee"])) != Decimal(schedule["admin_fee"]):
        raise BundleError(f"{summary.body['program']}: the summary's admin fee is not the program's")
    return sched


# --- a member's statement -----------------------------------------------------------------------------------
def _check_statement(
    statement: dict[str, Any],
    summaries: dict[str, Entry],
    entries: dict[int, Entry],
    hashes: dict[int, str],
    verdict: Verdict,
) -> None:
    member = statement["member"]
    lines: list[dict[str, Any]] = []
    patents: list[dict[str, Any]] = []
    memo: list[dict[str, Any]] = []
    gross = fee = 0
    for program, summary in sorted(summaries.items()):
        if summary.body["currency"] != statement.get("currency"):
            raise BundleError(
                f"currency: the statement says {statement.get('currency')}, {program} is in "
                f"{summary.body['currency']}"
            )
        _program_terms(entries, summary)
        part = _own_part(summary, entries, hashes, "member", member)
        if part is None:
            verdict.lines.append(f"{program}: you have no share in this allocation (the summary lists none)")
            continue
        body = dict(part.body)
        _check_member_part(body, summary, entries)
        lines += parts.statement_lines(body)
        patents += [
            dict(zip(("patent", "country", "gross", "admin_fee", "net"), r, strict=True))
            for r in body["patents"]
        ]
        memo += body["open_license_fees"]
        gross += cents_of(body["gross"])
        fee += cents_of(body["admin_fee"])
        verdict.lines.append(
            f"{program}: your part (seq {part.seq}) is the one the summary lists; its "
            f"{len(body['rows'])} rows, per-patent figures, fee and net add up; each row is within a "
            "cent a line of royalty x weight / total weight; each patent counts on the period's last day "
            "and is yours by its parts"
        )
    want = {
        "lines": lines,
        "gross": format_cents(gross),
        "admin_fee": format_cents(fee),
        "net": format_cents(gross - fee),
        "open_license_fees": memo,
        "patents": sorted(patents, key=lambda p: (p["patent"], p["country"])),
        "distributions": _payouts(entries, member, statement["period"], set(summaries)),
    }
    if set(statement) != {*want, "member", "period", "currency", "checkpoint"} - set(RECOMPUTED):
        raise BundleError(f"statement: keys {sorted(statement)} are not those of a statement")
    for key, value in want.items():
        if key not in RECOMPUTED and statement.get(key) != value:
            raise BundleError(f"{key}: the statement differs from your part of the allocation")
    statement.update({key: want[key] for key in RECOMPUTED})
    verdict.lines.append(
        f"statement: {member} {statement['period']} gross {want['gross']}, admin fee "
        f"{want['admin_fee']}, net {want['net']} {statement['currency']}; "
        f"{len(want['distributions'])} payout(s) match their entries"
    )


def _check_member_part(part: dict[str, Any], summary: Entry, entries: dict[int, Entry]) -> None:
    member = part["member"]
    day = date.fromisoformat(summary.body["day"])
    rate = Fraction(Decimal(summary.body["schedule"]["admin_fee"]))
    gross = sum(cents_of(row.amount) for row in parts.member_rows(part))
    fee = to_cents(round_half_up_cents(Fraction(gross, 100) * rate / 100))
    if (format_cents(gross), format_cents(fee), format_cents(gross - fee)) != (
        part["gross"],
        part["admin_fee"],
        part["net"],
    ):
        raise BundleError("your part's gross, fee and net do not add up from its rows and the admin fee")
    if part["patents"] != [p.row() for p in parts.per_patent(part)]:
        raise BundleError("your per-patent figures do not follow rule 6b from your rows")
    facts = patent_facts(entries, day)
    countries = summary.body["countries"]
    for country, holding in part["holdings"].items():
        weight = Fraction(0)
        for number in holding["patents"]:
            fact = facts.get((number, country))
            if fact is None:
                raise BundleError(f"{number} ({country}): its entries are missing from the bundle")
            if not fact.counts:
                raise BundleError(f"{number} ({country}) does not count on {day}")
            share = owners.shares(fact.owners).get(member)
            if share is None:
                raise BundleError(f"{number} ({country}) is not yours on {day}")
            weight += fact.weight * share
        if weight != read_weight(holding["weight"]):
            raise BundleError(f"{country}: your holding's weight is not the sum of your patents' weights")
    _check_rows(part, countries)


def _check_rows(part: dict[str, Any], countries: Mapping[str, str]) -> None:
    """Each row's total weight is the summary's, its weight that of the member's uncredited patents there,
    and its amount within a cent a line of royalty x weight / total weight. Rows of one country and the same
    credited patents share their weight, and weights are spelled alike: each is computed once."""
    weights: dict[tuple[str, tuple[str, ...]], Fraction] = {}
    read: dict[str, Fraction] = {}

    def weight_of(text: str) -> Fraction:
        found = read.get(text)
        if found is None:
            found = read[text] = read_weight(text)
        return found

    for row in parts.member_rows(part):
        licensee, country, count, royalty, w, total, amount, credited = row
        if country not in countries or weight_of(countries[country]) != weight_of(total):
            raise BundleError(f"{licensee} {country}: the row's total weight is not the summary's")
        key = (country, tuple(credited))
        mine = weights.get(key)
        if mine is None:
            mine = weights[key] = sum((pw for _n, pw in parts.row_patents(part, row)), Fraction(0))
        if mine != weight_of(w):
            raise BundleError(
                f"{licensee} {country}: the row's weight is not that of your uncredited patents"
            )
        # |amount - royalty x mine / total| <= count, in integers: mine = a/b, total = c/d.
        whole = weight_of(total)
        a, b, c, d = mine.numerator, mine.denominator, whole.numerator, whole.denominator
        if abs(cents_of(amount) * b * c - cents_of(royalty) * a * d) > count * b * c:
            raise BundleError(
                f"{licensee} {country}: {amount} is more than {count} cent(s) from royalty {royalty} x "
                f"{w} / {total}"
            )


def _payouts(entries: dict[int, Entry], member: str, period: str, programs: set[str]) -> list[dict[str, str]]:
    return [
        {"date": e.body["date"], "amount": e.body["amount"], "reference": e.body["reference"]}
        for e in sorted(entries.values(), key=lambda e: (e.body.get("date", ""), e.seq))
        if e.kind == "distribution.add"
        and e.body["member"] == member
        and e.body["period"] == period
        and e.body["program"] in programs
    ]


# --- the patents' facts, from their entries -----------------------------------------------------------------
@dataclass
class PatentFacts:
    owners: owners.Owners
    weight: Fraction
    counts: bool
    in_force: bool
    program: str | None


def patent_facts(entries: dict[int, Entry], day: date) -> dict[tuple[str, str], PatentFacts]:
    """Each patent in the bundle on `day`: owners with parts, weight, whether it counts (spec 6.1), from its
    patent.add corrected by every patent.amend, then its owner and status changes effective by `day`."""
    added: dict[tuple[str, str], dict[str, Any]] = {}
    for seq in sorted(entries):
        e = entries[seq]
        key = (str(e.body.get("number")), str(e.body.get("country")))
        if e.kind == "patent.add":
            added[key] = dict(e.body)
        elif e.kind == "patent.amend" and key in added:
            if "owner" in e.body or "owners" in e.body:  # the owners corrected replace the ones added
                added[key].pop("owner", None)
                added[key].pop("owners", None)
            added[key].update({k: v for k, v in e.body.items() if k not in ("number", "country", "reason")})
    out = {}
    for key, b in added.items():
        found = owners.from_body(b["owners"]) if "owners" in b else ((b["owner"], Decimal(1)),)
        granted = b.get("granted")
        in_force = day < date.fromisoformat(b["expires"])
        out[key] = PatentFacts(
            found,
            Fraction(Decimal(b["weight"])),
            in_force and granted is not None and date.fromisoformat(granted) <= day,
            in_force,
            b.get("program"),
        )
    for seq in sorted(entries):
        e = entries[seq]
        key = (str(e.body.get("number")), str(e.body.get("country")))
        if key not in out or e.kind not in ("patent.transfer", "patent.owners", "patent.status"):
            continue
        if date.fromisoformat(e.body["effective"]) > day:
            continue
        if e.kind == "patent.transfer":
            out[key].owners = ((e.body["to"], Decimal(1)),)
        elif e.kind == "patent.owners":
            out[key].owners = owners.from_body(e.body["owners"], 1)
        else:
            out[key].counts = out[key].in_force = False
    return out


# --- a licensee's invoice -----------------------------------------------------------------------------------
def _check_invoice(
    invoice: dict[str, Any],
    summaries: dict[str, Entry],
    entries: dict[int, Entry],
    hashes: dict[int, str],
    verdict: Verdict,
) -> None:
    from patentpool.cash import due_date

    licensee = invoice["licensee"]
    keys = {"licensee", "period", "currency", "programs", "royalty", "credit", "due", "due_date"}
    if set(invoice) != keys | {"open_license_fees", "checkpoint"}:
        raise BundleError(f"invoice: keys {sorted(invoice)} are not those of an invoice")
    totals = {"royalty": 0, "credit": 0, "due": 0}
    memo: list[dict[str, Any]] = []
    programs: list[str] = []
    for program, summary in sorted(summaries.items()):
        schedule = _program_terms(entries, summary)
        part = _own_part(summary, entries, hashes, "licensee", licensee)
        if part is None:
            continue
        if summary.body["currency"] != invoice["currency"]:
            raise BundleError(
                f"currency: the invoice says {invoice['currency']}, {program} is in "
                f"{summary.body['currency']}"
            )
        programs.append(program)
        body = dict(part.body)
        _check_licensee_part(body, summary, entries, schedule)
        for key in totals:
            totals[key] += cents_of(body[key])
        memo += body["open_license_fees"]
        verdict.lines.append(
            f"{program}: your part (seq {part.seq}) is the one the summary lists; royalty {body['royalty']} "
            f"recomputed exactly from your {len(body['lines'])} bearing line(s) and your year-to-date units; "
            f"credit {body['credit']} within a cent a line of your licences' share of each country's weight; "
            f"due {body['due']}"
        )
    for key, cents in totals.items():
        if invoice.get(key) != format_cents(cents):
            raise BundleError(
                f"{key}: the invoice says {invoice.get(key)}, your part gives {format_cents(cents)}"
            )
    if invoice.get("open_license_fees") != memo:
        raise BundleError("open_license_fees: the invoice's memo lines differ from your part's")
    if invoice["programs"] != programs:
        raise BundleError(f"programs: the invoice says {invoice['programs']}, your parts are in {programs}")
    if invoice["due_date"] != due_date(invoice["period"]).isoformat():
        raise BundleError(f"due_date: the invoice says {invoice['due_date']}, the payment term gives another")
    verdict.lines.append(
        f"invoice: {licensee} {invoice['period']} royalty {invoice['royalty']}, credit {invoice['credit']}, "
        f"due {invoice['due']} {invoice.get('currency')}"
    )


def _report_lines(
    entries: dict[int, Entry], seqs: list[int], licensee: str, program: str
) -> dict[tuple[str, str, str], tuple[int, int, Decimal]]:
    """(period, manufacture, sale) -> (seq, units, net sales) of the licensee's current report lines."""
    out: dict[tuple[str, str, str], tuple[int, int, Decimal]] = {}
    for seq in sorted(seqs):
        e = entries.get(seq)
        if e is None or e.kind not in ("report.add", "report.correct"):
            raise BundleError(f"seq {seq}: your report entry is missing from the bundle")
        if e.body["licensee"] != licensee or e.body["program"] != program:
            raise BundleError(f"seq {seq}: not your report for {program}")
        for line in e.body["lines"]:
            key = (e.body["period"], line["manufacture"], line["sale"])
            out[key] = (seq, int(line["units"]), Decimal(line["net_sales"]))
    return out


def _check_licensee_part(
    part: dict[str, Any], summary: Entry, entries: dict[int, Entry], schedule: RoyaltySchedule
) -> None:
    licensee, program, period = part["licensee"], summary.body["program"], summary.body["period"]
    counting = set(summary.body["countries"])
    current = _report_lines(entries, part["reports"], licensee, program)
    bearing = sorted(
        (m, s, seq, units)
        for (per, m, s), (seq, units, _net) in current.items()
        if per == period and (m in counting or s in counting)
    )
    lines = parts.licensee_lines(part["lines"])
    if [(ln.manufacture, ln.sale, ln.report, ln.units) for ln in lines] != bearing:
        raise BundleError("your part's lines are not the bearing lines of your reports")
    earlier = _report_lines(entries, part["earlier_reports"], licensee, program)
    for ref in part["earlier"]:
        e = entries.get(ref[0])
        if e is None or e.kind not in SUMMARY_KINDS:
            raise BundleError(f"seq {ref[0]}: an earlier summary your units rest on is missing")
        if sorted(e.body["countries"]) != sorted(part["earlier_countries"].get(e.body["period"], [])):
            raise BundleError(f"{e.body['period']}: the counting countries differ from that period's summary")
    before = sum(
        units
        for (per, m, s), (_seq, units, _net) in earlier.items()
        if m in part["earlier_countries"].get(per, []) or s in part["earlier_countries"].get(per, [])
    )
    units = sum(ln.units for ln in lines)
    if (before, units) != (part["units_before"], part["units"]):
        raise BundleError(f"units: your reports give {before} before and {units} in the period")
    royalty = to_cents(schedule.period_royalty(before, before + units))
    if format_cents(royalty) != part["royalty"]:
        raise BundleError(f"royalty: rule 3 gives {format_cents(royalty)}, your part says {part['royalty']}")
    spread = largest_remainder(royalty, [ln.units for ln in lines]) if units and royalty else [0] * len(lines)
    credit_exact = Fraction(0)
    facts = patent_facts(entries, date.fromisoformat(summary.body["day"]))
    for line, cents in zip(lines, spread, strict=True):
        made, sold, amount, country = line.manufacture, line.sale, line.amount, line.country
        if country != (sold if sold in counting else made):
            raise BundleError(f"line {made}/{sold}: allocated to {country}, not as rule 5 says")
        if cents_of(amount) != cents:
            raise BundleError(
                f"line {made}/{sold}: {amount}, the spread by units gives {format_cents(cents)}"
            )
        credited = part["credited"].get(country, [])
        weight = Fraction(0)
        for number in credited:
            fact = facts.get((number, country))
            if fact is None or not fact.counts:
                raise BundleError(f"{number} ({country}): credited, but the bundle does not show it counting")
            if licensee in owners.members(fact.owners):
                raise BundleError(f"{number} ({country}): your own patent is never credited")
            weight += fact.weight
        credit_exact += Fraction(cents) * weight / read_weight(summary.body["countries"][country])
    credit = cents_of(part["credit"])
    if abs(credit - credit_exact) > max(1, len(part["lines"])):
        raise BundleError(f"credit: {part['credit']} is more than a cent a line from your licences' share")
    if royalty - credit != cents_of(part["due"]):
        raise BundleError("due: not royalty minus credit")
    _check_memo(part, summary, entries, current, facts)


def _check_memo(
    part: dict[str, Any],
    summary: Entry,
    entries: dict[int, Entry],
    current: dict[tuple[str, str, str], tuple[int, int, Decimal]],
    facts: dict[tuple[str, str], PatentFacts],
) -> None:
    """Spec 6 rule 9 from the licensee's own entries: each memo fee from its declaration and take, on all the
    licensee's lines of the period made or sold in the patent's country, split over the owners on D by parts,
    never owed to itself."""
    from licenses.fees import parse_fee
    from patentpool.allocation import memo_split
    from patentpool.periods import Period

    period = Period.parse(summary.body["period"])
    day = period.end
    expected: list[dict[str, Any]] = []
    seen: set[tuple[int, int]] = set()
    for refs in part["open_license_refs"]:
        found = {entries[seq].kind: entries[seq] for seq in refs if seq in entries}
        decl, take = found.get("openlicense.declare"), found.get("openlicense.take")
        if decl is None or take is None:
            raise BundleError("an open licence's declaration or take entry is missing from the bundle")
        if (decl.seq, take.seq) in seen:
            continue
        seen.add((decl.seq, take.seq))
        key = (decl.body["number"], decl.body["country"])
        fact = facts.get(key)
        if fact is None:
            raise BundleError(f"open licence {key[0]}: the patent's entries are missing from the bundle")
        held = date.fromisoformat(take.body["notice_date"]) <= day <= date.fromisoformat(decl.body["to"])
        if take.body["licensee"] != part["licensee"] or not held or not fact.in_force:
            raise BundleError(f"open licence {key[0]}: not one you hold on {day} on a patent in force")
        hit = [
            (u, n)
            for (per, m, s), (_seq, u, n) in current.items()
            if per == period.label and key[1] in (m, s)
        ]
        terms = parse_fee(decl.body["fee"])
        amount = terms.due(sum(u for u, _n in hit), sum((n for _u, n in hit), Decimal(0)), period.months)
        currency = summary.body["currency"] if terms.kind == "percent" else decl.body["currency"]
        for owner, cents in memo_split(to_cents(amount), fact.owners):
            if owner != part["licensee"] and cents:
                expected.append(
                    {
                        "licensee": part["licensee"],
                        "patent": key[0],
                        "owner": owner,
                        "currency": currency,
                        "amount": format_cents(cents),
                    }
                )
    if sorted(expected, key=json.dumps) != sorted(part["open_license_fees"], key=json.dumps):
        raise BundleError(
            "open_license_fees: your memo lines do not follow from your open licences and reports"
        )
