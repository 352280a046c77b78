"""Witnesses and auditors: `cosign`, and the cosigned checkpoints that statement bundles carry.

A witness (or an auditor) holds its own cosigner key (ledger.cosignature, type 0x04) and a small state
directory of its own: for each pool origin, the pool key it met first and the last checkpoint it cosigned.
`cosign` verifies the whole ledger up to a new checkpoint (every signature, key, chain link, the Merkle root,
and every pool rule and allocation replayed, as `verify` does), checks that the new checkpoint extends the
last one it cosigned (C2SP tlog-witness: same size and root, or a larger tree whose prefix is the old one),
and only then signs a C2SP tlog-cosignature and records the new state. What its cosignature tells a member:
someone other than the administrator replayed these books to this size and found them right, and saw no
other history of them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ledger import merkle
from ledger.checkpoint import Checkpoint, parse_checkpoint, split_note, verify_checkpoint
from ledger.cosignature import Cosignature, Cosigner, CosignerKey, cosign
from ledger.cosigned import CosignedError, Witnessed, check_items
from ledger.keys import VerifierKey, VerifierKeyError
from patentpool.errors import PoolError

STATE_FORMAT = "patentpool-witness-state/v1"


class WitnessError(PoolError):
    """The witness refuses to cosign (or its state is unusable); nothing was signed or recorded."""


# --- the witness's state -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class WitnessState:
    """What a witness remembers of one pool: the pool key it met first and the last checkpoint it cosigned."""

    origin: str
    pool_key: str  # the pool's verifier key string, pinned at the first cosignature
    checkpoint: str  # the pool-signed note last cosigned
    size: int
    root: bytes
    timestamp: int  # of the witness's cosignature
    cosigner: str  # the witness's key id string

    def to_json(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "origin": self.origin,
            "pool_key": self.pool_key,
            "checkpoint": self.checkpoint,
            "timestamp": self.timestamp,
            "cosigner": self.cosigner,
        }


def default_state_dir(key_path: Path) -> Path:
    """Beside the witness's key file: the state belongs to the key that signed what it records."""
    return key_path.with_name(key_path.name + ".state")


def state_path(state_dir: Path, origin: str) -> Path:
    return state_dir / f"{quote(origin, safe='')}.json"


def read_state(state_dir: Path, origin: str) -> WitnessState | None:
    """The state for `origin`, re-checked (its checkpoint must verify under the pinned pool key)."""
    path = state_path(state_dir, origin)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise WitnessError(f"{path}: unreadable witness state: {exc}") from exc
    try:
        if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT or doc.get("origin") != origin:
            raise ValueError(f"not a {STATE_FORMAT} file for origin {origin}")
        pool_key = VerifierKey.parse(str(doc["pool_key"]))
        note = str(doc["checkpoint"])
        cp = verify_checkpoint(note, pool_key, origin)
        timestamp = doc["timestamp"]
        if not isinstance(timestamp, int) or isinstance(timestamp, bool):
            raise ValueError("timestamp is not an integer")
        return WitnessState(origin, str(pool_key), note, cp.size, cp.root, timestamp, str(doc["cosigner"]))
    except (KeyError, ValueError) as exc:
        raise WitnessError(f"{path}: unusable witness state: {exc}") from exc


def write_state(state_dir: Path, state: WitnessState) -> None:
    """Atomically: a crash leaves the old state or the new one, never half of one."""
    path = state_path(state_dir, state.origin)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    data = (json.dumps(state.to_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    dfd = os.open(state_dir, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


@contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """One cosign at a time per state directory: checking the last state and recording the new one must be
    atomic, or two runs could both extend the same old checkpoint (C2SP tlog-witness, add-checkpoint)."""
    import fcntl

    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (state_dir / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# --- cosign ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CosignResult:
    note: str  # the checkpoint as given, with the witness's cosignature line added
    cosignature: Cosignature
    checkpoint: Checkpoint
    previous: int | None  # the size last cosigned for this origin, None the first time
    pool_key: str
    entries: int  # how many entries were verified
    allocations: int  # how many allocations were recomputed


def cosign_checkpoint(
    note: str,
    cosigner: Cosigner,
    state_dir: Path,
    *,
    export: Path | None = None,
    db: str | None = None,
    pool_vkey: str | None = None,
    jobs: int = 1,
    tick: Callable[[int], None] = lambda _n: None,
    now: int,
    checkpoint_name: str = "checkpoint",
) -> CosignResult:
    """Verify the ledger (an export file, or a database) up to the checkpoint `note`, check it extends the
    last checkpoint this witness cosigned for the pool, cosign it and record it. Raises WitnessError (nothing
    signed or recorded) on any failure."""
    if (export is None) == (db is None):
        raise WitnessError("give the ledger to verify: an export file (--export) or a database (--db)")
    body, claimed = _claimed(note, checkpoint_name)
    if pool_vkey is not None:
        try:
            pool_vkey = str(VerifierKey.parse(pool_vkey))
        except VerifierKeyError as exc:
            raise WitnessError(f"--vkey: {exc}") from exc
    with _locked(state_dir):
        state = read_state(state_dir, claimed.origin)
        pinned = _pinned_key(state, pool_vkey, state_dir, claimed.origin)
        summary, old_root = _verify_ledger(note, export, db, jobs, tick, checkpoint_name, state)
        pool_key = _known_pool_key(summary, pinned, claimed.origin)
        signed = verify_checkpoint(note, pool_key, pool_key.name)
        if state is not None:
            _check_extends(state, signed, old_root)
        cosignature = cosign(body, cosigner, now)
        keyid = cosigner.verifier().keyid_string
        write_state(
            state_dir, WitnessState(signed.origin, str(pool_key), note, signed.size, signed.root, now, keyid)
        )
    return CosignResult(
        note + cosignature.line + "\n",
        cosignature,
        signed,
        None if state is None else state.size,
        str(pool_key),
        int(summary["entries"]),
        int(summary["allocations_recomputed"]),
    )


def _claimed(note: str, checkpoint_name: str) -> tuple[bytes, Checkpoint]:
    """The note's body and the (not yet verified) checkpoint it claims, which must not be empty."""
    try:
        body, _signatures = split_note(note)
        claimed = parse_checkpoint(body, None)
    except ValueError as exc:
        raise WitnessError(f"{checkpoint_name}: {exc}") from exc
    if claimed.size == 0:
        raise WitnessError(f"{checkpoint_name}: an empty tree has nothing to witness")
    return body, claimed


def _pinned_key(
    state: WitnessState | None, pool_vkey: str | None, state_dir: Path, origin: str
) -> str | None:
    """The pool key this witness holds to: the one it met first for the origin, else the one given."""
    if state is not None and pool_vkey is not None and pool_vkey != state.pool_key:
        raise WitnessError(
            f"--vkey is not the pool key this witness met first for {origin} ({state.pool_key}); "
            f"a new key for an origin is a new log: see {state_path(state_dir, origin)}"
        )
    return state.pool_key if state is not None else pool_vkey


def _known_pool_key(summary: dict[str, Any], pinned: str | None, origin: str) -> VerifierKey:
    """The verified ledger's root key, which must be the pinned pool key if there is one."""
    pool_key = VerifierKey.parse(summary["root_key"])
    if pinned is not None and str(pool_key) != pinned:
        raise WitnessError(
            f"the ledger's root key {pool_key.keyid_string} is not the pool key this witness knows for "
            f"{origin} ({pinned}): another log under the same name; not cosigned"
        )
    return pool_key


def _verify_ledger(
    note: str,
    export: Path | None,
    db: str | None,
    jobs: int,
    tick: Callable[[int], None],
    checkpoint_name: str,
    state: WitnessState | None,
) -> tuple[dict[str, Any], bytes | None]:
    """The full verification (patentpool.verification) and, if the witness cosigned before, the root of the
    verified ledger at the size it last cosigned (None if the ledger is shorter than that)."""
    from patentpool import verification

    try:
        if export is not None:
            summary = verification.verify_export(export, note, jobs, tick, checkpoint_name, prefix=True)
        else:
            assert db is not None
            summary = verification.verify_database(db, jobs, tick)
    except PoolError as exc:
        raise WitnessError(f"{exc}; not cosigned") from exc
    if summary["problems"]:
        count = len(summary["problems"])
        raise WitnessError(
            f"the ledger does not verify: {summary['problems'][0]}"
            + (f" (and {count - 1} more problem(s))" if count > 1 else "")
            + "; not cosigned"
        )
    if export is not None:
        signed = parse_checkpoint(split_note(note)[0], None)
        old_root = (
            _prefix_root(export, state.size) if state is not None and state.size < signed.size else None
        )
        return summary, old_root
    assert db is not None
    return _database_checkpoint(db, note, checkpoint_name, summary, state)


def _prefix_root(export: Path, size: int) -> bytes:
    """The RFC 9162 root of the export's first `size` entries (the export was verified just before)."""
    tree = merkle.CompactRange.empty()
    with export.open("rb") as handle:
        for line in handle:
            if tree.size == size:
                break
            tree.append(merkle.leaf_hash(line.rstrip(b"\n")))
    return tree.root()


def _database_checkpoint(
    db: str, note: str, checkpoint_name: str, summary: dict[str, Any], state: WitnessState | None
) -> tuple[dict[str, Any], bytes | None]:
    """A database verified whole: the checkpoint must be one it stores, under its root key; with a state, the
    old root is checked by a consistency proof from the verified tree."""
    from ledger.log import Ledger

    with Ledger.open(db).reader() as reader:
        try:
            signed = verify_checkpoint(note, reader.root_key, reader.origin)
        except ValueError as exc:
            raise WitnessError(f"{checkpoint_name}: not signed by this ledger's root key: {exc}") from exc
        stored = reader.store.checkpoint_at(reader.conn, signed.size)
        if stored is None or stored.root != signed.root:
            raise WitnessError(
                f"{checkpoint_name}: the database holds no checkpoint of size {signed.size} with this root"
            )
        summary = {**summary, "root_key": str(reader.root_key)}
        old_root = None
        if state is not None and 0 < state.size < signed.size:
            proof = merkle.consistency_proof(reader.store.nodes(reader.conn), state.size, signed.size)
            try:
                merkle.verify_consistency(state.size, signed.size, state.root, signed.root, proof)
                old_root = state.root
            except merkle.ProofError:
                old_root = b""  # not the root it cosigned: _check_extends reports the fork
    return summary, old_root


def _check_extends(state: WitnessState, new: Checkpoint, old_root: bytes | None) -> None:
    if new.size < state.size:
        raise WitnessError(
            f"checkpoint {new.size} is older than checkpoint {state.size}, the last this witness cosigned "
            f"for {state.origin}: a witness only moves forward; not cosigned"
        )
    seen = new.root if new.size == state.size else old_root
    if seen != state.root:
        raise WitnessError(
            f"FORKED HISTORY: this ledger at size {state.size} is not the one this witness cosigned for "
            f"{state.origin} (root {_b64(state.root)}): the administrator rewrote entries; not cosigned. "
            "Keep both checkpoints: together they prove the fork"
        )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# --- bundles -----------------------------------------------------------------------------------------------
def check_bundle_cosignatures(
    doc: dict[str, Any],
    pool_key: VerifierKey,
    checkpoint: Checkpoint,
    allocation: int,
    witnesses: Sequence[str],
) -> tuple[list[str], list[str]]:
    """(lines, problems) for `verify-statement`: the cosigned checkpoints the bundle carries, each checked
    (pool signature, consistency with the bundle's checkpoint, every cosignature by a key named), and for each
    `witnesses` key, the largest checkpoint it cosigned that holds the allocation summary (seq `allocation`);
    a key with none is a problem. Without `witnesses`, what is there is listed."""
    lines: list[str] = []
    problems: list[str] = []
    trusted = []
    for text in witnesses:
        try:
            trusted.append(CosignerKey.parse(text.strip()))
        except VerifierKeyError as exc:
            return lines, [f"--witness: {exc}"]
    try:
        found = check_items(doc.get("cosigned", []), pool_key, checkpoint, trusted)
    except (CosignedError, ValueError) as exc:
        # A bundle that carries a cosignature or cosigned checkpoint that does not check out is not trusted.
        return lines, [f"bundle rejected: cosigned: {exc}"]
    for key in trusted:
        mine = [w for w in found if w.cosigner == key.keyid_string]
        covering = [w for w in mine if w.size >= allocation]
        if covering:
            best = max(covering, key=lambda w: (w.size, w.timestamp))
            lines.append(
                f"witness {key.keyid_string}: cosigned checkpoint {best.size} at {best.time}, which holds "
                f"the allocation (seq {allocation}) and is consistent with the bundle's checkpoint "
                f"{checkpoint.size} (a patentpool witness cosigns only once it has replayed the whole ledger "
                "to that size, the checks only an auditor can make included)"
            )
        elif mine:
            largest = max(w.size for w in mine)
            problems.append(
                f"witness {key.keyid_string}: its largest cosigned checkpoint in the bundle is {largest}, "
                f"older than the allocation (seq {allocation}): nobody independent has checked it yet; ask "
                "for a bundle once the witness has cosigned a later checkpoint"
            )
        else:
            problems.append(f"witness {key.keyid_string}: the bundle carries no cosignature by this witness")
    if not trusted:
        lines += [_listed(w, allocation) for w in found]
        if not found:
            lines.append("cosignatures: none in the bundle (no witness or auditor has cosigned yet)")
    return lines, problems


def _listed(w: Witnessed, allocation: int) -> str:
    holds = "holds" if w.size >= allocation else "does NOT hold"
    return (
        f"cosignature: {w.cosigner} cosigned checkpoint {w.size} at {w.time} ({holds} the allocation, seq "
        f"{allocation}); its key came with the bundle: compare it with the witness's published key, or "
        f"require it with --witness {w.vkey}"
    )


def bundle_cosigned(reader: Any, checkpoint_size: int) -> list[dict[str, Any]]:
    """What `statement --bundle` (and any bundle) carries: each witness's largest cosigned checkpoint up to
    the bundle's, with a consistency proof to it."""
    from ledger.cosigned import bundle_items

    return bundle_items(reader.store, reader.conn, checkpoint_size)
