"""Statement bundles (spec section 8): everything a member needs to check its statement offline, with the
pool's verifier key alone.

A bundle holds the statement, the entries it rests on (as their exact stored bytes), an RFC 9162 inclusion
proof of each against one signed checkpoint, and optionally a consistency proof from a checkpoint the member
kept earlier. `verify_bundle` trusts nothing in the file but what the key signed: it checks the checkpoint
signature, every entry's signature, key validity and inclusion, then recomputes the member's lines and totals
from the included entries.

This module is imported by `verify-statement`, which must start fast: it uses no database, pandas or rich.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger import merkle
from ledger.checkpoint import Checkpoint, verify_checkpoint
from ledger.entry import Entry, EntryError, decode, entry_hash, signing_message
from ledger.keyring import GENESIS, KEY_KINDS, Keyring, KeyringError
from ledger.keys import VerifierKey
from licenses.fees import parse_fee
from licenses.money import format_money, from_cents, largest_remainder, round_half_up_cents, to_cents
from licenses.schedule import RoyaltySchedule
from patentpool import owners, witness
from patentpool.allocation import memo_split, per_patent
from patentpool.errors import PoolError
from patentpool.splits import integer_weights, split_totals

OWNER_KINDS = ("patent.transfer", "patent.owners")

if TYPE_CHECKING:
    from ledger.log import Reader
    from patentpool.periods import Period
    from patentpool.state import PoolState

BUNDLE_VERSION = 1


class BundleError(PoolError, ValueError):
    pass


# --- making a bundle (administrator side) ------------------------------------------------------------------
def relevant_licensees(body: Mapping[str, Any], member: str) -> list[str]:
    """Licensees whose lines the member's figures depend on: those it has a share from, and those with lines
    made, sold or allocated in a country where it has counting patents (so a member written out of a split,
    or a line moved away from its country by a false claim that the sale country counts, is caught)."""
    mine = {c for c, owners in body["countries"].items() if member in owners}
    found = {lic for lic, _c, who, _g in body["shares"] if who == member}
    for licensee, info in body["licensees"].items():
        if any(line[1] in mine or line[2] in mine or line[5] in mine for line in info["lines"]):
            found.add(licensee)
    return sorted(found)


def bundle_seqs(body: Mapping[str, Any], member: str) -> set[int]:
    """The entries one allocation's lines for `member` rest on, read from the refs the allocation records:
    no replay of the ledger is needed to make a bundle."""
    seqs: set[int] = {int(body["program_seq"])}
    countries: set[str] = set()
    for licensee in relevant_licensees(body, member):
        info = body["licensees"][licensee]
        seqs.update(info["reports"])
        seqs.update(info["earlier_reports"])
        if info["grant"] is not None:
            seqs.add(info["grant"])
        for refs in info["credit_refs"].values():
            seqs.update(refs)
        countries.update(line[5] for line in info["lines"])
    for country, holdings in body["countries"].items():
        for owner, holding in holdings.items():
            if country in countries or owner == member:
                seqs.update(holding["refs"])
    for fee, refs in zip(body["open_license_fees"], body["open_license_refs"], strict=True):
        if fee["owner"] == member or any(
            member in holding and fee["patent"] in holding[member]["patents"]
            for holding in body["countries"].values()
        ):
            seqs.update(refs)
            seqs.update(body["licensees"][fee["licensee"]]["reports"])
            for holding in body["countries"].values():
                for owner_holding in holding.values():
                    if fee["patent"] in owner_holding["patents"]:
                        seqs.update(owner_holding["refs"])
    return seqs


def make_bundle(
    state: PoolState,
    reader: Reader,
    statement: dict[str, Any],
    period: Period,
    program: str | None,
    since_note: str | None,
) -> dict[str, Any]:
    """The bundle of a statement. `state` needs only the allocations (a books replay is enough)."""
    from patentpool.books import allocations_for

    cp = reader.checkpoint()
    seqs: set[int] = set()
    for body in allocations_for(state, period, program, full=True):
        record = state.latest_allocation(body["program"], period.label)
        assert record is not None
        seqs.add(record.ref[0])
        seqs |= bundle_seqs(body, statement["member"])
        # The program.amend in force for the period, whose terms the allocation used (spec 4a).
        seqs |= {ref[0] for ref in state.programs[body["program"]].terms_refs(period.label)}
    # The member's payouts of the period, which the statement lists.
    seqs |= {
        d.ref[0] for d in state.distributions if d.member == statement["member"] and d.period == period.label
    }
    # Every key entry, so the member can judge each author's validity at its seq.
    seqs |= {seq for seq, _raw in reader.raw_entries(kinds=list(KEY_KINDS))}
    wanted = sorted(seqs)
    raws = reader.store.raw_entries(reader.conn, wanted)
    missing = [seq for seq in wanted if seq not in raws]
    if missing:
        raise BundleError(f"seq {missing[0]}: the allocation read an entry the ledger does not hold")
    nodes = reader.store.nodes(reader.conn)
    leaves = {seq - 1: merkle.leaf_hash(raws[seq]) for seq in wanted}
    try:
        # The entries read are checked against the signed root before they go to a member.
        proof, root = merkle.prove_leaves(nodes, leaves, cp.size)
    except LookupError as exc:
        raise BundleError(f"cannot prove the statement's entries: {exc}; run `patentpool verify`") from exc
    if root != cp.root:
        raise BundleError(
            f"the statement's entries are not the ones checkpoint {cp.size} signed; run `patentpool verify`"
        )
    entries = [{"seq": seq, "entry": raws[seq].decode("utf-8")} for seq in wanted]
    doc: dict[str, Any] = {
        "bundle_v": BUNDLE_VERSION,
        "statement": statement,
        "checkpoint": cp.note,
        "entries": entries,
        "inclusion": [base64.b64encode(h).decode() for h in proof],
        "consistency": None,
        # Witnesses' cosigned checkpoints with proofs to this one (spec 8a, Cosignatures).
        "cosigned": witness.bundle_cosigned(reader, cp.size),
    }
    if since_note is not None:
        old = _parse_note_unverified(since_note)
        if old.size > cp.size:
            raise BundleError(
                f"the --since checkpoint (size {old.size}) is newer than the ledger ({cp.size})"
            )
        stored = reader.store.checkpoint_at(reader.conn, old.size) if old.size else None
        if old.size and (stored is None or stored.root != old.root or old.origin != reader.origin):
            raise BundleError(f"the --since checkpoint (size {old.size}) is not one this ledger signed")
        proof = merkle.consistency_proof(nodes, old.size, cp.size) if old.size else []
        doc["consistency"] = {
            "old_checkpoint": since_note,
            "proof": [base64.b64encode(p).decode() for p in proof],
        }
    return doc


def _parse_note_unverified(note: str) -> Checkpoint:
    lines = note.split("\n")
    if len(lines) < 3:
        raise BundleError("the --since file is not a checkpoint")
    return Checkpoint(lines[0], int(lines[1]), base64.b64decode(lines[2]))


def write_bundle(path: Path, doc: dict[str, Any]) -> None:
    text = json.dumps(doc, ensure_ascii=False)  # tens of megabytes: written without another copy
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.write("\n")


# --- verifying a bundle (member side) ----------------------------------------------------------------------
@dataclass
class Verdict:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_bundle_file(
    path: Path, vkey_text: str, since_note: str | None, witnesses: Sequence[str] = ()
) -> Verdict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return Verdict(problems=[f"{path}: not a readable bundle: {exc}"])
    verdict = verify_bundle(doc, vkey_text, since_note, witnesses)
    verdict.lines.append(f"VERDICT: {'statement verified' if verdict.ok else 'NOT VERIFIED'}")
    return verdict


def verify_bundle(doc: Any, vkey_text: str, since_note: str | None, witnesses: Sequence[str] = ()) -> Verdict:
    verdict = Verdict()
    try:
        _verify(doc, vkey_text, since_note, verdict, witnesses)
    except (BundleError, EntryError, KeyringError, ValueError, KeyError, TypeError, IndexError) as exc:
        verdict.problems.append(f"bundle rejected: {exc}")
    return verdict


def _b64list(values: Any, what: str) -> list[bytes]:
    if not isinstance(values, list):
        raise BundleError(f"{what}: not a list of base64 hashes")
    return [base64.b64decode(v, validate=True) for v in values]


# The bundle's shape, checked before anything is read from it: a key that nothing checks could carry a
# figure the member would take as verified, and a wrong type would fail with no useful message.
_DOC_KEYS = {
    "bundle_v": int,
    "statement": dict,
    "checkpoint": str,
    "entries": list,
    "inclusion": list,
    "consistency": (dict, type(None)),
}
# Bundles written before the multi-leaf proof carried an RFC 9162 inclusion proof in each entry instead of
# one `inclusion` for all: still read, so a member's earlier bundles stay checkable.
_DOC_KEYS_PER_ENTRY = {k: v for k, v in _DOC_KEYS.items() if k != "inclusion"}
_STATEMENT_KEYS = {
    "member": str,
    "period": str,
    "currency": str,
    "lines": list,
    "gross": str,
    "admin_fee": str,
    "net": str,
    "open_license_fees": list,
    "patents": list,
    "distributions": list,
    "checkpoint": str,
}
_LINE_KEYS = {"program": str, "licensee": str, "country": str, "patents": list, "gross": str}
_FEE_KEYS = {"licensee": str, "patent": str, "owner": str, "currency": str, "amount": str}
_ITEM_KEYS = {"seq": int, "entry": str}
_ITEM_KEYS_PER_ENTRY = {**_ITEM_KEYS, "proof": list}
_CONSISTENCY_KEYS = {"old_checkpoint": (str, type(None)), "proof": list}


def _shaped(value: Any, keys: Mapping[str, Any], what: str) -> None:
    if not isinstance(value, dict):
        raise BundleError(f"{what}: not a JSON object")
    if set(value) != set(keys):
        extra, missing = sorted(set(value) - set(keys)), sorted(set(keys) - set(value))
        raise BundleError(
            f"{what}: "
            + "; ".join(
                part
                for part in (
                    f"unknown key(s) {', '.join(extra)}" if extra else "",
                    f"missing key(s) {', '.join(missing)}" if missing else "",
                )
                if part
            )
        )
    for key, kind in keys.items():
        # bool is an int to Python, not to a JSON schema: `true` is no version and no seq.
        if not isinstance(value[key], kind) or (kind is int and isinstance(value[key], bool)):
            raise BundleError(f"{what}.{key}: not of the expected type")


def _check_shape(doc: Any) -> None:
    per_entry = "inclusion" not in doc
    keys = _DOC_KEYS_PER_ENTRY if per_entry else _DOC_KEYS
    if isinstance(doc, dict) and "cosigned" in doc:  # bundles made before cosignatures have none
        keys = {**keys, "cosigned": list}
    _shaped(doc, keys, "bundle")
    if doc["bundle_v"] != BUNDLE_VERSION:
        raise BundleError(f"bundle_v {doc['bundle_v']}: this verifier reads version {BUNDLE_VERSION}")
    statement = doc["statement"]
    _shaped(statement, _STATEMENT_KEYS, "statement")
    for i, line in enumerate(statement["lines"]):
        _shaped(line, _LINE_KEYS, f"statement.lines[{i}]")
        if not all(isinstance(n, str) for n in line["patents"]):
            raise BundleError(f"statement.lines[{i}].patents: not a list of patent numbers")
    for i, fee in enumerate(statement["open_license_fees"]):
        _shaped(fee, _FEE_KEYS, f"statement.open_license_fees[{i}]")
    for i, item in enumerate(doc["entries"]):
        _shaped(item, _ITEM_KEYS_PER_ENTRY if per_entry else _ITEM_KEYS, f"entries[{i}]")
    if doc["consistency"] is not None:
        _shaped(doc["consistency"], _CONSISTENCY_KEYS, "consistency")


def _verify(
    doc: Any, vkey_text: str, since_note: str | None, verdict: Verdict, witnesses: Sequence[str] = ()
) -> None:
    if not isinstance(doc, dict) or "bundle_v" not in doc:
        raise BundleError("not a statement bundle")
    _check_shape(doc)
    vkey = VerifierKey.parse(vkey_text)
    origin = vkey.name
    # 1. The checkpoint: signed by the pool's key, for the pool's origin.
    try:
        cp = verify_checkpoint(doc["checkpoint"], vkey, origin)
    except ValueError as exc:
        raise BundleError(f"checkpoint is not signed by {vkey.keyid_string}: {exc}") from exc
    verdict.lines.append(f"checkpoint: tree size {cp.size}, signed by {vkey.keyid_string}")
    if doc["statement"].get("checkpoint") != doc["checkpoint"]:
        raise BundleError("the statement cites another checkpoint than the one the bundle is proven against")
    # 2. Consistency with the checkpoint the member kept.
    _check_consistency(doc, vkey, cp, since_note, verdict)
    # 3. Every entry: bytes, inclusion, signature, key validity.
    entries = _check_entries(doc, vkey, cp, verdict)
    # 4. The statement recomputed from the entries.
    _check_statement(doc["statement"], entries, verdict)
    # 5. Witnesses: cosigned checkpoints that hold the allocation, consistent with the bundle's.
    lines, problems = witness.check_bundle_cosignatures(
        doc, vkey, cp, witness.allocation_seq(entries, doc["statement"]["period"]), witnesses
    )
    verdict.lines += lines
    verdict.problems += problems


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
    proof = _b64list(consistency.get("proof", []), "consistency proof")
    if old.size > cp.size:
        raise BundleError(
            f"the bundle's checkpoint ({cp.size}) is older than yours ({old.size}): ask for a fresh one"
        )
    if not doc.get("consistency") and old.size < cp.size:
        raise BundleError(
            f"the bundle carries no consistency proof from your checkpoint (size {old.size}) "
            "to its own: ask for one made with --since"
        )
    if 0 < old.size < cp.size:
        # A proof from another checkpoint proves nothing about yours, and says nothing against the pool.
        start = consistency.get("old_checkpoint")
        try:
            from_size = _parse_note_unverified(start).size if isinstance(start, str) else None
        except (BundleError, ValueError):
            from_size = None
        if from_size != old.size:
            raise BundleError(
                f"the bundle's consistency proof starts from checkpoint size {from_size}, not from yours "
                f"(size {old.size}): ask for a bundle made with --since your checkpoint"
            )
    try:
        if old.size == 0:
            pass
        elif old.size == cp.size:
            # The bundle's own checkpoint: whatever proof it carries (from another one) is not needed.
            if old.root != cp.root:
                raise merkle.ProofError("same size, different roots")
        else:
            merkle.verify_consistency(old.size, cp.size, old.root, cp.root, proof)
    except merkle.ProofError as exc:
        raise BundleError(
            f"FORKED HISTORY: the ledger at size {cp.size} does not extend the one you kept at size "
            f"{old.size} ({exc}); the administrator rewrote entries you had seen"
        ) from exc
    verdict.lines.append(f"consistency: the ledger you saw at size {old.size} is a prefix of size {cp.size}")


def _check_entries(
    doc: dict[str, Any], vkey: VerifierKey, cp: Checkpoint, verdict: Verdict
) -> dict[int, Entry]:
    items = doc.get("entries")
    if not isinstance(items, list) or not items:
        raise BundleError("the bundle holds no entries")
    entries: dict[int, Entry] = {}
    leaves: dict[int, bytes] = {}
    for item in items:
        raw = item["entry"].encode("utf-8")
        entry = decode(raw)
        if entry.seq != item.get("seq") or entry.seq in entries:
            raise BundleError(f"seq {item.get('seq')}: entry numbered {entry.seq} or given twice")
        if not 1 <= entry.seq <= cp.size:
            raise BundleError(f"seq {entry.seq}: not in the signed tree of size {cp.size}")
        if "proof" in item:
            proof = _b64list(item["proof"], f"seq {entry.seq} proof")
            try:
                merkle.verify_inclusion(merkle.leaf_hash(raw), entry.seq - 1, cp.size, proof, cp.root)
            except (merkle.ProofError, ValueError) as exc:
                raise BundleError(
                    f"seq {entry.seq}: not in the signed tree of size {cp.size}: {exc}"
                ) from exc
        else:
            leaves[entry.seq - 1] = merkle.leaf_hash(raw)
        entries[entry.seq] = entry
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
    # After the signatures, so an edited entry is named by its seq; a multi-leaf proof can only say that
    # the set is not the signed one.
    if "inclusion" in doc:
        try:
            merkle.verify_multi_inclusion(leaves, cp.size, _b64list(doc["inclusion"], "inclusion"), cp.root)
        except (merkle.ProofError, ValueError) as exc:
            raise BundleError(
                f"the {len(leaves)} entries are not all in the signed tree of size {cp.size}: {exc}"
            ) from exc
    verdict.lines.append(f"entries: {len(entries)} signed entries, each proven in the tree")
    return entries


def _money(text: str) -> Decimal:
    return Decimal(text)


def _check_statement(statement: dict[str, Any], entries: dict[int, Entry], verdict: Verdict) -> None:
    member = statement["member"]
    allocations = [
        e
        for e in entries.values()
        if e.kind in ("allocation.run", "allocation.adjust") and e.body["period"] == statement["period"]
    ]
    if not allocations:
        raise BundleError(f"no allocation entry for {statement['period']} in the bundle")
    latest: dict[str, Entry] = {}
    for entry in sorted(allocations, key=lambda e: e.seq):
        latest[entry.body["program"]] = entry
    expected_lines: list[dict[str, Any]] = []
    gross = fee = Decimal(0)
    fees: list[dict[str, Any]] = []
    for program, alloc in sorted(latest.items()):
        body = alloc.body
        if body["currency"] != statement["currency"]:
            raise BundleError(
                f"currency: the statement says {statement['currency']}, "
                f"the allocation is in {body['currency']}"
            )
        used = _inputs(alloc, entries)
        program_entry = _program_entry(used, program, body["period"])
        patents = _patents(used, program, date.fromisoformat(body["day"]))
        lines = _recompute_member(body, member, used, program_entry, patents)
        expected_lines += lines
        p_gross = sum((_money(ln["gross"]) for ln in lines), Decimal(0))
        rate = Decimal(program_entry.body["admin_fee"])
        p_fee = round_half_up_cents(Fraction(p_gross) * Fraction(rate) / 100)
        recorded = body["members"].get(member, {"gross": "0.00", "admin_fee": "0.00"})
        if _money(recorded["gross"]) != p_gross or _money(recorded["admin_fee"]) != p_fee:
            raise BundleError(
                f"{program}: the allocation records gross {recorded['gross']} / fee "
                f"{recorded['admin_fee']}, the entries give {p_gross} / {p_fee}"
            )
        gross += p_gross
        fee += p_fee
        memo = _memo_fees(body, member, used, patents)
        if memo != [f for f in body["open_license_fees"] if f["owner"] == member]:
            raise BundleError(
                f"{program}: the open-licence memo lines differ from the declarations, takes and "
                "reports behind them"
            )
        fees += memo
        verdict.lines.append(
            f"{program}: {len(lines)} line(s) recomputed from the reports, patents and licences"
        )
    _compare(statement, expected_lines, gross, fee, fees)
    patents_want = sorted(
        (p for alloc in latest.values() for p in per_patent(alloc.body, member)),
        key=lambda p: (p.patent, p.country),
    )
    if statement["patents"] != [p.json() for p in patents_want if p.gross]:
        raise BundleError("patents: the per-patent figures differ from the split of your rows (rule 6b)")
    _check_distributions(statement, entries, set(latest))
    verdict.lines.append(
        f"statement: {member} {statement['period']} gross {format_money(gross)}, admin fee "
        f"{format_money(fee)}, net {format_money(gross - fee)} {statement['currency']}"
    )


def _check_distributions(statement: dict[str, Any], entries: dict[int, Entry], programs: set[str]) -> None:
    """The payouts a statement lists are exactly the member's distribution entries of the period."""
    paid = [
        {"date": e.body["date"], "amount": e.body["amount"], "reference": e.body["reference"]}
        for e in sorted(entries.values(), key=lambda e: (e.body.get("date", ""), e.seq))
        if e.kind == "distribution.add"
        and e.body["member"] == statement["member"]
        and e.body["period"] == statement["period"]
        and e.body["program"] in programs
    ]
    if statement["distributions"] != paid:
        raise BundleError("distributions: the statement's payouts differ from the distribution entries")


def _program_entry(entries: dict[int, Entry], program: str, period: str) -> Entry:
    """The program.add entry, its terms (tiers, cap, admin fee) replaced by those of the `program.amend` in
    force for `period` if the allocation read one (spec 4a)."""
    from dataclasses import replace

    from patentpool.periods import Period

    added = None
    amends = []
    start = Period.parse(period).start
    for seq in sorted(entries):
        entry = entries[seq]
        if entry.kind == "program.add" and entry.body["name"] == program:
            added = entry
        elif (
            entry.kind == "program.amend"
            and entry.body["name"] == program
            and Period.parse(entry.body["from_period"]).start <= start
        ):
            amends.append((Period.parse(entry.body["from_period"]).start, seq, entry))
    if added is None:
        raise BundleError(f"the program.add entry of {program} is missing")
    if not amends:
        return added
    terms = max(amends, key=lambda a: (a[0], a[1]))[2].body
    keys = ("tiers", "annual_cap", "admin_fee")
    return replace(added, body={**added.body, **{k: terms.get(k) for k in keys}})


def _inputs(alloc: Entry, entries: dict[int, Entry]) -> dict[int, Entry]:
    """The included entries that the allocation says it read, each with exactly the hash it lists.

    Only these are used to recompute, so an entry the allocation did not read cannot change the result."""
    listed = {int(seq): h for seq, h in alloc.body["inputs"]}
    used = {}
    for seq, entry in entries.items():
        if seq not in listed:
            continue
        if entry_hash(entry.encode()).hex() != listed[seq]:
            raise BundleError(f"seq {seq}: the allocation read an entry with another hash")
        used[seq] = entry
    return used


def _report_lines(
    body: Mapping[str, Any], entries: dict[int, Entry], seqs: list[int], licensee: str, periods: set[str]
) -> dict[tuple[str, str, str], tuple[int, int, Decimal]]:
    """The licensee's current report lines, (period, manufacture, sale) -> (seq, units, net sales), from the
    report entries the allocation names; a later entry supersedes an earlier one for the same key."""
    current: dict[tuple[str, str, str], tuple[int, int, Decimal]] = {}
    for seq in sorted(seqs):
        report = entries.get(seq)
        if report is None:
            raise BundleError(
                f"report entry seq {seq} of {licensee} is missing or not an input of the allocation"
            )
        if report.kind not in ("report.add", "report.correct"):
            raise BundleError(f"seq {seq}: a {report.kind} entry, not a report")
        b = report.body
        if b["licensee"] != licensee or b["program"] != body["program"] or b["period"] not in periods:
            raise BundleError(
                f"seq {seq}: a report of {b['licensee']} {b['program']} {b['period']}, not one "
                f"of {licensee}'s {body['program']} reports this allocation reads"
            )
        for line in b["lines"]:
            current[(b["period"], line["manufacture"], line["sale"])] = (
                seq,
                line["units"],
                _money(line["net_sales"]),
            )
    return current


def _recompute_member(
    body: Mapping[str, Any],
    member: str,
    entries: dict[int, Entry],
    program_entry: Entry,
    patents: dict[tuple[str, str], dict[str, Any]],
) -> list[dict[str, Any]]:
    """The member's lines from the report, patent and licence entries, by policy v1 (spec section 6)."""
    day = date.fromisoformat(body["day"])
    # A country's buckets when the licensee has no credited patent there: the same for every such licensee.
    uncredited: dict[str, tuple[list[str], list[int]]] = {}
    schedule = RoyaltySchedule.parse(program_entry.body["tiers"], program_entry.body.get("annual_cap"))
    counting = set(body["countries"])
    shares = {(lic, c): _money(g) for lic, c, who, g in body["shares"] if who == member}
    share_countries: dict[str, set[str]] = defaultdict(set)
    for lic, c in shares:
        share_countries[lic].add(c)
    own_countries = {c for (_n, c), p in patents.items() if _owns(p, member) and p["counts"]}
    for country in sorted(own_countries):
        if member not in body["countries"].get(country, {}):
            raise BundleError(f"{country}: your counting patents there are missing from the allocation")
        listed = set(body["countries"][country][member]["patents"])
        left_out = sorted(
            n for (n, c), p in patents.items() if c == country and _owns(p, member) and p["counts"]
        )
        left_out = [n for n in left_out if n not in listed]
        if left_out:
            raise BundleError(
                f"{country}: your counting patent(s) {', '.join(left_out)} are left out of your holding "
                "in the allocation"
            )
    # Which countries have a counting patent decides where a line goes (spec 6.5): a claim the entries
    # contradict, or that no entry backs, could move a line away from (or into) the member's countries.
    backed = {c for (_n, c), p in patents.items() if p["counts"]}
    out = []
    for licensee in relevant_licensees(body, member):
        info = body["licensees"][licensee]
        lines = info["lines"]
        # Every bearing line of the licensee's reports is in the allocation, and nothing else (spec 6.2).
        current = _report_lines(body, entries, info["reports"], licensee, {body["period"]})
        bearing = sorted((m, s) for (_p, m, s) in current if m in counting or s in counting)
        if [(ln[1], ln[2]) for ln in lines] != bearing:
            raise BundleError(
                f"{licensee}: the allocation's lines {[(ln[1], ln[2]) for ln in lines]} are not the "
                f"bearing lines of its reports {bearing}"
            )
        for seq, made, sold, units, _amount, _country in lines:
            if current[(body["period"], made, sold)][:2] != (seq, units):
                raise BundleError(f"seq {seq}: the report does not say {units} units {made}/{sold}")
        # Units of the year before this period, judged at each earlier period's end (spec 6.3).
        earlier = _report_lines(body, entries, info["earlier_reports"], licensee, set(body["earlier"]))
        before = sum(
            units
            for (per, m, s), (_seq, units, _net) in earlier.items()
            if m in body["earlier"][per] or s in body["earlier"][per]
        )
        if before != info["units_before"]:
            raise BundleError(
                f"{licensee}: {info['units_before']} bearing units before this period are recorded, "
                f"its earlier reports give {before}"
            )
        royalty = schedule.period_royalty(info["units_before"], info["units_before"] + info["units"])
        if info["units"] != sum(ln[3] for ln in lines) or format_money(royalty) != info["royalty"]:
            raise BundleError(f"{licensee}: royalty {info['royalty']} does not follow from its report lines")
        total = to_cents(royalty)
        cents = largest_remainder(total, [ln[3] for ln in lines]) if lines and total else [0] * len(lines)
        per_country: dict[str, int] = defaultdict(int)
        groups: dict[str, list[int]] = defaultdict(list)  # country -> cents of the lines allocated there
        for (seq, made, sold, _u, amount, country), line_cents in zip(lines, cents, strict=True):
            # Spec 6.5: the sale country if it has a counting patent, else the manufacture country.
            if country != (sold if sold in counting else made):
                raise BundleError(
                    f"{licensee}: line seq {seq} {made}/{sold} is allocated to {country}, "
                    f"not to its sale country (if it has a counting patent) or else {made}"
                )
            if country != made and country not in backed:
                raise BundleError(
                    f"{licensee}: line seq {seq} {made}/{sold} is allocated to {sold}, but no entry in the "
                    f"bundle shows a counting patent in {sold} on {body['day']}"
                )
            if country != sold and sold in backed:
                raise BundleError(
                    f"{licensee}: line seq {seq} {made}/{sold} is allocated to {made}, but the entries show "
                    f"a counting patent in {sold} on {body['day']}"
                )
            if to_cents(_money(amount)) != line_cents:
                raise BundleError(
                    f"{licensee}: line seq {seq} is {amount}, the spread gives "
                    f"{format_money(from_cents(line_cents))}"
                )
            if (licensee, country) in shares or member in body["countries"].get(country, {}):
                groups[country].append(line_cents)
        for country, group in groups.items():
            # The buckets are the same for all of a licensee's lines in one country: built once, and the
            # per-line splits summed (split_totals does each line's largest remainder exactly).
            if body["licensees"][licensee]["credited"].get(country):
                names, fractions = _buckets(body, licensee, country, patents, entries, day)
                weights = integer_weights(fractions)
            else:
                if country not in uncredited:
                    names, fractions = _buckets(body, licensee, country, patents, entries, day)
                    uncredited[country] = (names, integer_weights(fractions))
                names, weights = uncredited[country]
            if member in names:
                per_country[country] = split_totals(group, weights)[names.index(member)]
        for country in sorted(set(per_country) | share_countries.get(licensee, set())):
            amount = shares.get((licensee, country), Decimal(0))
            if to_cents(amount) != per_country.get(country, 0):
                raise BundleError(
                    f"{licensee} {country}: the allocation gives {member} {format_money(amount)}, "
                    f"the entries give {format_money(from_cents(per_country.get(country, 0)))}"
                )
            if (licensee, country) not in shares:
                continue
            credited = set(info["credited"].get(country, []))
            numbers = [n for n in body["countries"][country][member]["patents"] if n not in credited]
            out.append(
                {
                    "program": body["program"],
                    "licensee": licensee,
                    "country": country,
                    "patents": numbers,
                    "gross": format_money(amount),
                }
            )
    return sorted(out, key=lambda ln: (ln["licensee"], ln["country"]))


def _memo_fees(
    body: Mapping[str, Any],
    member: str,
    entries: dict[int, Entry],
    patents: dict[tuple[str, str], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Spec 6.9 recomputed for the member's open licences from the declaration, take and report entries."""
    day = date.fromisoformat(body["day"])
    months = 3 if body["period"][4] == "Q" else 6
    out = []
    for fee, refs in zip(body["open_license_fees"], body["open_license_refs"], strict=True):
        if fee["owner"] != member:
            continue
        found = {entries[seq].kind: entries[seq] for seq in refs if seq in entries}
        decl, take = found.get("openlicense.declare"), found.get("openlicense.take")
        if decl is None or take is None:
            raise BundleError(f"open licence {fee['patent']}: the declaration or take entry is missing")
        country = decl.body["country"]
        if (decl.body["number"], take.body["number"], take.body["licensee"]) != (
            fee["patent"],
            fee["patent"],
            fee["licensee"],
        ):
            raise BundleError(f"open licence {fee['patent']}: the entries are of another patent or licensee")
        if not _held_on(take, decl, day):
            raise BundleError(f"open licence {fee['patent']}: not held by {fee['licensee']} on {day}")
        info = body["licensees"][fee["licensee"]]
        lines = _report_lines(body, entries, info["reports"], fee["licensee"], {body["period"]})
        hit = [(units, net) for (_p, m, s), (_seq, units, net) in lines.items() if country in (m, s)]
        terms = parse_fee(decl.body["fee"])
        amount = terms.due(sum(u for u, _n in hit), sum((n for _u, n in hit), Decimal(0)), months)
        currency = body["currency"] if terms.kind == "percent" else decl.body["currency"]
        patent = patents.get((decl.body["number"], country))
        if patent is None or not _owns(patent, member):
            raise BundleError(f"open licence {fee['patent']}: the bundle does not show {member} owning it")
        mine = dict(memo_split(to_cents(amount), patent["owners"])).get(member, 0)
        out.append(
            {
                "licensee": fee["licensee"],
                "patent": fee["patent"],
                "owner": member,
                "currency": currency,
                "amount": format_money(from_cents(mine)),
            }
        )
    _no_fee_left_out(body, member, entries, patents, day, {(f["licensee"], f["patent"]) for f in out})
    return out


def _owns(patent: Mapping[str, Any], member: str) -> bool:
    return member in owners.members(patent["owners"])


def _held_on(take: Entry, decl: Entry, day: date) -> bool:
    """An open licence taken by notice is held from its notice date to the declaration's end (a withdrawal
    does not end it)."""
    return date.fromisoformat(take.body["notice_date"]) <= day <= date.fromisoformat(decl.body["to"])


def _no_fee_left_out(
    body: Mapping[str, Any],
    member: str,
    entries: dict[int, Entry],
    patents: dict[tuple[str, str], dict[str, Any]],
    day: date,
    listed: set[tuple[str, str]],
) -> None:
    """Every open licence of the member's patents that the bundle shows held on `day`, by a licensee with
    lines in the patent's country, has its memo fee in the allocation (one left out would pass unseen)."""
    for take in entries.values():
        if take.kind != "openlicense.take":
            continue
        b = take.body
        decl = entries.get(b["declaration"])
        patent = patents.get((b["number"], b["country"]))
        info = body["licensees"].get(b["licensee"])
        if decl is None or patent is None or info is None or not _owns(patent, member):
            continue
        if not (patent["in_force"] and _held_on(take, decl, day)):
            continue
        lines = _report_lines(body, entries, info["reports"], b["licensee"], {body["period"]})
        hit = [(units, net) for (_p, m, s), (_seq, units, net) in lines.items() if b["country"] in (m, s)]
        if not hit or b["licensee"] == member or (b["licensee"], b["number"]) in listed:
            continue
        terms = parse_fee(decl.body["fee"])
        months = 3 if body["period"][4] == "Q" else 6
        amount = terms.due(sum(u for u, _n in hit), sum((n for _u, n in hit), Decimal(0)), months)
        if dict(memo_split(to_cents(amount), patent["owners"])).get(member, 0):
            raise BundleError(
                f"open licence {b['number']}: {b['licensee']} holds it (seq {take.seq}) and reports lines in "
                f"{b['country']}, but the allocation lists no memo fee for it"
            )


def _patents(entries: dict[int, Entry], program: str, day: date) -> dict[tuple[str, str], dict[str, Any]]:
    """Patents of the program in the bundle, with owner and counting status on `day`."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    # A patent.amend corrects the facts of its patent.add for every date (spec 4a): facts first.
    facts: dict[tuple[str, str], dict[str, Any]] = {}
    for seq in sorted(entries):
        b = entries[seq].body
        key = (str(b.get("number")), str(b.get("country")))
        if entries[seq].kind == "patent.add":
            facts[key] = dict(b)
        elif entries[seq].kind == "patent.amend" and key in facts:
            facts[key].update({k: v for k, v in b.items() if k not in ("number", "country", "reason")})
    for seq in sorted(entries):
        kind = entries[seq].kind
        b = entries[seq].body
        if kind == "patent.add":
            b = facts[(b["number"], b["country"])]
        if kind == "patent.add" and b.get("program") == program:
            granted = b.get("granted")
            in_force = day < date.fromisoformat(b["expires"])
            found[(b["number"], b["country"])] = {
                "owners": owners.from_body(b["owners"]) if "owners" in b else ((b["owner"], Decimal(1)),),
                "weight": Fraction(b["weight"]),
                "counts": in_force and granted is not None and date.fromisoformat(granted) <= day,
                "in_force": in_force,
            }
        elif kind in (*OWNER_KINDS, "patent.status") and (b["number"], b["country"]) in found:
            if date.fromisoformat(b["effective"]) > day:
                continue
            if kind == "patent.transfer":
                found[(b["number"], b["country"])]["owners"] = ((b["to"], Decimal(1)),)
            elif kind == "patent.owners":
                found[(b["number"], b["country"])]["owners"] = owners.from_body(b["owners"], 1)
            else:
                found[(b["number"], b["country"])]["counts"] = False
                found[(b["number"], b["country"])]["in_force"] = False
    return found


def _buckets(
    body: Mapping[str, Any],
    licensee: str,
    country: str,
    patents: dict[tuple[str, str], dict[str, Any]],
    entries: dict[int, Entry],
    day: date,
) -> tuple[list[str], list[Fraction]]:
    credited = set(body["licensees"][licensee]["credited"].get(country, []))
    licences = [
        entries[seq] for seq in body["licensees"][licensee]["credit_refs"].get(country, []) if seq in entries
    ]
    weights: dict[str, Fraction] = defaultdict(Fraction)
    for owner, info in body["countries"][country].items():
        for number in info["patents"]:
            patent = patents.get((number, country))
            if patent is None:
                raise BundleError(f"patent {number} ({country}) behind the split is not in the bundle")
            if not _owns(patent, owner) or not patent["counts"]:
                raise BundleError(
                    f"patent {number} ({country}) is not a counting patent of {owner} on {body['day']}"
                )
            holders = owners.members(patent["owners"])
            bucket = owner
            if number in credited and licensee not in holders:
                # A licence from any co-owner credits the whole patent (spec 6.6).
                if not any(
                    _covers(e, licensee, o, number, country, day, entries) for e in licences for o in holders
                ):
                    raise BundleError(
                        f"{licensee} {country}: {number} is credited, but no licence entry in the "
                        "bundle grants it to the licensee on the period's last day"
                    )
                bucket = "credit"
            weights[bucket] += patent["weight"] * owners.shares(patent["owners"])[owner]
    names = sorted(n for n in weights if n != "credit") + (["credit"] if "credit" in weights else [])
    return names, [weights[n] for n in names]


def _covers(
    entry: Entry, licensee: str, owner: str, number: str, country: str, day: date, entries: dict[int, Entry]
) -> bool:
    """Does this licence entry give `licensee` the patent on `day` (spec 6.6)?"""
    b = entry.body

    def within(start: str, end: str | None) -> bool:
        return date.fromisoformat(start) <= day and (end is None or day <= date.fromisoformat(end))

    if entry.kind == "openlicense.take":
        decl = entries.get(b["declaration"])
        return (
            decl is not None
            and (b["number"], b["country"], b["licensee"]) == (number, country, licensee)
            and _held_on(entry, decl, day)
        )
    if entry.kind == "license.direct":
        return (
            (b["number"], b["country"], b["licensee"]) == (number, country, licensee)
            and within(b["from"], b.get("to"))
            and (b["territory"] == "all" or country in b["territory"])
        )
    if entry.kind == "crosslicense.add":
        return (
            {licensee, owner} <= set(b["members"])
            and within(b["from"], b.get("to"))
            and (b["patents"] == "all" or number in b["patents"])
            and (b["territory"] == "all" or country in b["territory"])
        )
    return False


def _compare(
    statement: dict[str, Any],
    lines: list[dict[str, Any]],
    gross: Decimal,
    fee: Decimal,
    fees: list[dict[str, Any]],
) -> None:
    def key(line: Mapping[str, Any]) -> tuple[str, str, str]:
        return (line["program"], line["licensee"], line["country"])

    given = {key(ln): ln for ln in statement["lines"]}
    want = {key(ln): ln for ln in lines}
    for k in sorted(set(given) - set(want)):
        raise BundleError(f"the statement has a line {k} that the allocation does not give you")
    for k in sorted(set(want) - set(given)):
        raise BundleError(
            f"the statement drops the line {k} ({want[k]['gross']}) that the allocation gives you"
        )
    for k, line in want.items():
        if given[k]["gross"] != line["gross"]:
            raise BundleError(
                f"line {k}: the statement says {given[k]['gross']}, the entries give {line['gross']}"
            )
        if list(given[k]["patents"]) != line["patents"]:
            listed = ", ".join(map(str, given[k]["patents"]))
            raise BundleError(
                f"line {k}: the statement lists patents {listed}, the entries give "
                f"{', '.join(line['patents'])}"
            )
    if len(statement["lines"]) != len(given):
        raise BundleError("the statement repeats a line")
    for name, value in (("gross", gross), ("admin_fee", fee), ("net", gross - fee)):
        if statement[name] != format_money(value):
            raise BundleError(
                f"{name}: the statement says {statement[name]}, the entries give {format_money(value)}"
            )
    if statement["open_license_fees"] != fees:
        raise BundleError("the open-licence memo lines differ from the allocation's")
