"""Witnesses' cosignatures of the log's checkpoints: kept by the log, carried with proofs, checked offline.

- `add_cosignatures`: the log stores a witness's cosignature lines (ledger.cosignature) of one of its own
  signed checkpoints, in their own append-only table (a checkpoint row is never updated).
- `bundle_items`: for each witness, its largest cosigned checkpoint up to a given checkpoint, as a note with
  the log's signature and the cosignature lines, and an RFC 9162 consistency proof to the given checkpoint.
- `check_items`: the offline side: every item's log signature, consistency proof and cosignatures.
- `check_stored`: `verify`'s check of the stored rows.

The database side is reached through the Store and connection the caller passes; this module does not import
SQLAlchemy, so the offline checker starts fast.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ledger import merkle
from ledger.checkpoint import Checkpoint, NoteError, split_note, verify_checkpoint
from ledger.cosignature import Cosignature, CosignerKey, verify_cosignatures
from ledger.errors import LedgerError
from ledger.keys import KEY_ID_SIZE, VerifierKey, VerifierKeyError, b64decode_strict

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from ledger.keyring import Keyring
    from ledger.store import Store

# A cosignature dated further ahead than this is refused (spec 9: a fact dated more than a day past today).
FUTURE_SLACK = 24 * 3600


class CosignedError(LedgerError, ValueError):
    """A cosignature or a cosigned checkpoint is refused."""


@dataclass(frozen=True)
class Added:
    cosignature: Cosignature
    size: int
    new: bool  # False: the same line was stored before


def add_cosignatures(
    store: Store, note: str, keys: Sequence[CosignerKey], now: int
) -> tuple[Checkpoint, list[Added], int]:
    """Store the cosignatures in `note` by `keys` of a checkpoint the log signed and stores; return the
    checkpoint, what was added (or already there) and how many signature lines by other keys were ignored.

    Everything is checked before anything is written, in one writer transaction: the note's log signature
    (root key, origin), that the log stores this very checkpoint, and each cosignature. A line already stored
    is not stored twice (the command can be repeated)."""
    from ledger.log import checkpoint_matches, load_keyring

    with store.writer() as conn:
        store.check_schema(conn)
        key_leaves: dict[int, bytes] = {}
        ring = load_keyring(store, conn, key_leaves)
        checkpoint_matches(store, conn, ring, count=False, key_leaves=key_leaves)
        signed = _signed_checkpoint(note, ring)
        if not keys:
            keys = _known_keys(store, conn, note, ring.root)
        _check_stored(store, conn, signed)
        found = _cosignatures_by(note, keys, ring)
        matched = {c.line for _k, c in found}
        _body, lines = split_note(note)
        ignored = sum(
            1 for s in lines if s.line not in matched and not _is_log_line(s.name, s.raw, ring.root)
        )
        added = _store_cosignatures(store, conn, found, signed.size, now)
    return signed, added, ignored


def _signed_checkpoint(note: str, ring: Keyring) -> Checkpoint:
    """The checkpoint `note` carries, which the log's root key must have signed."""
    try:
        return verify_checkpoint(note, ring.root, ring.origin)
    except ValueError as exc:
        raise CosignedError(f"not a checkpoint this pool signed: {exc}") from exc


def _check_stored(store: Store, conn: Connection, signed: Checkpoint) -> None:
    """The log must store the checkpoint with the same root: a cosignature is kept only beside it."""
    stored = store.checkpoint_at(conn, signed.size)
    if stored is None or stored.root != signed.root:
        raise LedgerError(
            f"checkpoint {signed.size} with root {signed.root_b64} is not one this ledger signed and "
            "stores: a cosignature is kept only beside the checkpoint it signs"
        )


def _cosignatures_by(
    note: str, keys: Sequence[CosignerKey], ring: Keyring
) -> list[tuple[CosignerKey, Cosignature]]:
    """Every verified cosignature in `note` by one of `keys` (witnesses, never the pool's own key)."""
    found: list[tuple[CosignerKey, Cosignature]] = []
    for key in keys:
        if key.name == ring.origin and key.public == ring.root.public:
            raise CosignedError("the pool's own key is no witness: a cosigner has a key of its own")
        try:
            _body, cosignatures = verify_cosignatures(note, key)
        except NoteError as exc:
            raise CosignedError(str(exc)) from exc
        found += [(key, c) for c in cosignatures]
    if not found:
        names = ", ".join(k.keyid_string for k in keys)
        raise CosignedError(f"the note carries no cosignature by {names}")
    return found


def _store_cosignatures(
    store: Store, conn: Connection, found: Sequence[tuple[CosignerKey, Cosignature]], size: int, now: int
) -> list[Added]:
    """Insert each dated cosignature of checkpoint `size` not stored yet; a line stored before stays once."""
    from ledger.log import utc_now
    from ledger.store import StoredCosignature

    have = {(c.cosigner, c.timestamp): c for c in store.cosignatures(conn) if c.size == size}
    added: list[Added] = []
    for key, cosignature in found:
        if cosignature.timestamp == 0:
            raise CosignedError(f"cosignature by {key.keyid_string} has no time (timestamp 0)")
        if cosignature.timestamp > now + FUTURE_SLACK:
            raise CosignedError(
                f"cosignature by {key.keyid_string} is dated {cosignature.time}, in the future"
            )
        before = have.get((key.keyid_string, cosignature.timestamp))
        if before is not None:
            if before.line != cosignature.line:
                raise CosignedError(
                    f"another cosignature by {key.keyid_string} at time {cosignature.timestamp} of "
                    f"checkpoint {size} is stored already"
                )
            added.append(Added(cosignature, size, False))
            continue
        row = StoredCosignature(
            size, key.keyid_string, cosignature.timestamp, str(key), cosignature.line, utc_now()
        )
        store.insert_cosignature(conn, row)
        have[(row.cosigner, row.timestamp)] = row
        added.append(Added(cosignature, size, True))
    return added


def _known_keys(store: Store, conn: Connection, note: str, root: VerifierKey) -> list[CosignerKey]:
    """Without --witness: the keys of the witnesses whose lines the note carries, as the pool recorded them
    with an earlier cosignature. A key is never taken from the note itself (a line names a key id, and
    anyone can make a key with a name): a witness new to the pool is given with --witness once."""
    recorded = {c.cosigner: c.vkey for c in store.cosignatures(conn)}
    _body, lines = split_note(note)
    keys, unknown = [], []
    for line in lines:
        if _is_log_line(line.name, line.raw, root):
            continue
        cosigner = f"{line.name}+{line.raw[:KEY_ID_SIZE].hex()}"
        if cosigner in recorded:
            keys.append(CosignerKey.parse(recorded[cosigner]))
        else:
            unknown.append(cosigner)
    if unknown:
        raise CosignedError(
            f"{unknown[0]}: this pool has no key recorded for that witness: give its verifier key once "
            "with --witness VKEY (a cosignature is checked against it, never against a key the note names)"
        )
    if not keys:
        raise CosignedError("the note carries no cosignature line, only the pool's own signature")
    return keys


def _is_log_line(name: str, raw: bytes, root: VerifierKey) -> bool:
    return name == root.name and raw[:KEY_ID_SIZE] == root.key_id


def bundle_items(store: Store, conn: Connection, checkpoint_size: int) -> list[dict[str, Any]]:
    """For each witness, its largest cosigned checkpoint up to `checkpoint_size`: one item per such
    checkpoint, `{"checkpoint": note with the log's and the witnesses' signature lines, "witnesses": their
    verifier keys as the pool recorded them, "consistency": base64 RFC 9162 proof to checkpoint_size}`."""
    latest: dict[str, Any] = {}
    for row in store.cosignatures(conn, until=checkpoint_size):
        best = latest.get(row.cosigner)
        if best is None or (row.size, row.timestamp) > (best.size, best.timestamp):
            latest[row.cosigner] = row
    by_size: dict[int, list[Any]] = {}
    for row in latest.values():
        by_size.setdefault(row.size, []).append(row)
    items = []
    for size in sorted(by_size):
        rows = sorted(by_size[size], key=lambda r: r.cosigner)
        stored = store.checkpoint_at(conn, size)
        if stored is None:  # pragma: no cover - a trigger keeps a cosignature beside its checkpoint
            raise CosignedError(f"cosignatures of checkpoint {size}, which is not stored")
        proof = (
            merkle.consistency_proof(store.nodes(conn), size, checkpoint_size)
            if size < checkpoint_size
            else []
        )
        items.append(
            {
                "checkpoint": stored.note + "".join(f"{r.line}\n" for r in rows),
                "witnesses": [r.vkey for r in rows],
                "consistency": [base64.b64encode(h).decode("ascii") for h in proof],
            }
        )
    return items


@dataclass(frozen=True)
class Witnessed:
    """A verified cosignature of a checkpoint consistent with the one it was checked against."""

    cosigner: str  # <name>+<8 hex key id>
    vkey: str
    size: int
    timestamp: int
    time: str
    trusted: bool  # the key came from the verifier (True) or only from the bundle (False)


_ITEM_KEYS = {"checkpoint": str, "witnesses": list, "consistency": list}


def check_items(
    items: Any, log_key: VerifierKey, checkpoint: Checkpoint, trusted: Sequence[CosignerKey]
) -> list[Witnessed]:
    """Check cosigned checkpoints carried beside `checkpoint` (already verified with `log_key`): each is
    signed by the log, proven consistent with `checkpoint`, and each cosignature line by a trusted key, or by
    a key the item names, verifies. Lines by keys neither names are ignored (C2SP). Any failure raises
    CosignedError: a bundle that carries a cosignature that does not verify is not to be trusted."""
    if not isinstance(items, list):
        raise CosignedError("cosigned: not a list")
    by_id: dict[str, tuple[CosignerKey, bool]] = {k.keyid_string: (k, True) for k in trusted}
    found: list[Witnessed] = []
    for i, item in enumerate(items):
        where = f"cosigned[{i}]"
        _shaped(item, where)
        note = item["checkpoint"]
        try:
            old = verify_checkpoint(note, log_key, log_key.name)
        except ValueError as exc:
            raise CosignedError(
                f"{where}: the checkpoint is not signed by {log_key.keyid_string}: {exc}"
            ) from exc
        _check_consistency(where, old, checkpoint, item["consistency"])
        keys = dict(by_id)
        for text in item["witnesses"]:
            try:
                key = CosignerKey.parse(text)
            except VerifierKeyError as exc:
                raise CosignedError(f"{where}: {exc}") from exc
            keys.setdefault(key.keyid_string, (key, False))
        _body, lines = split_note(note)
        named = {
            f"{s.name}+{s.raw[:KEY_ID_SIZE].hex()}" for s in lines if not _is_log_line(s.name, s.raw, log_key)
        }
        for keyid in sorted(named & set(keys)):
            key, is_trusted = keys[keyid]
            for cosignature in _verified(where, note, key):
                found.append(
                    Witnessed(keyid, str(key), old.size, cosignature.timestamp, cosignature.time, is_trusted)
                )
    return found


def _verified(where: str, note: str, key: CosignerKey) -> list[Cosignature]:
    try:
        return verify_cosignatures(note, key)[1]
    except NoteError as exc:
        raise CosignedError(f"{where}: {exc}") from exc


def _shaped(item: Any, where: str) -> None:
    if not isinstance(item, dict) or set(item) != set(_ITEM_KEYS):
        raise CosignedError(f"{where}: expected an object with keys {', '.join(sorted(_ITEM_KEYS))}")
    for key, kind in _ITEM_KEYS.items():
        if not isinstance(item[key], kind):
            raise CosignedError(f"{where}.{key}: not of the expected type")
    if not all(isinstance(v, str) for v in item["witnesses"] + item["consistency"]):
        raise CosignedError(f"{where}: witnesses and consistency are lists of strings")


def _check_consistency(where: str, old: Checkpoint, new: Checkpoint, proof_b64: list[str]) -> None:
    try:
        proof = [b64decode_strict(h) for h in proof_b64]
    except ValueError as exc:
        raise CosignedError(f"{where}: consistency proof: {exc}") from exc
    if old.size > new.size:
        raise CosignedError(
            f"{where}: cosigned checkpoint {old.size} is larger than the bundle's checkpoint {new.size}"
        )
    try:
        if old.size == new.size:
            if old.root != new.root or proof:
                raise merkle.ProofError("same size, different roots (or a proof where none is due)")
        else:
            merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
    except (merkle.ProofError, ValueError) as exc:
        raise CosignedError(
            f"{where}: FORKED HISTORY: the cosigned checkpoint {old.size} is not a prefix of checkpoint "
            f"{new.size} ({exc})"
        ) from exc


def check_stored(store: Store, conn: Connection, ring: Keyring) -> list[str]:
    """Problems with the stored cosignatures (for `verify`): each row must be a line by the key it records,
    over the stored checkpoint of its size, whose note the log's root key signed."""
    problems = []
    notes: Mapping[int, str] = {cp.size: cp.note for cp in store.all_checkpoints(conn)}
    for row in store.cosignatures(conn):
        what = f"cosignature by {row.cosigner} of checkpoint {row.size}"
        note = notes.get(row.size)
        try:
            key = CosignerKey.parse(row.vkey)
            if note is None:
                raise CosignedError("its checkpoint is not stored")
            verify_checkpoint(note, ring.root, ring.origin)
            if key.keyid_string != row.cosigner:
                raise CosignedError(f"stored with the key of {key.keyid_string}")
            _body, cosignatures = verify_cosignatures(note + row.line + "\n", key)
            if [c.timestamp for c in cosignatures] != [row.timestamp]:
                raise CosignedError("its time column differs from its line")
        except ValueError as exc:
            problems.append(f"{what}: {exc}: the database was changed outside patentpool")
    return problems
