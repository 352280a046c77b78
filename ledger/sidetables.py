"""What the tables beside the entries must hold, learned from a whole read of the entries, and the check a
writer makes before the root key signs a new checkpoint.

A writer's whole read (`ledger.log.read_signed`) proves the stored entries are the tree the latest checkpoint
signed. The other tables are derived from those entries, and the pool hands them out: the index columns
choose what partial reads see, the Merkle nodes make every proof a member receives, and the checkpoint rows
are the history members check consistency against. A writer that signed over a damaged copy of any of them
would put the pool's key behind it. So, while the entries stream by, the `Witness` digests what the index
columns and nodes must be (a SHA-256 per row, O(1) memory) and the root of the tree at each stored
checkpoint's size; `check_side_tables` then streams the stored tables into the same digests and compares.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from ledger.checkpoint import verify_checkpoint
from ledger.keys import VerifierKey
from ledger.store import Store

_AUTHOR = b'{"author":"'
_TIME = b',"time":"'
TAMPERED = "the database was changed outside patentpool; run `patentpool verify`"


def column_record(seq: int, prev: bytes, h: bytes, kind: str, author: str, time: str) -> bytes:
    return b"%d\x00%s%s%s\x00%s\x00%s\n" % (seq, prev, h, kind.encode(), author.encode(), time.encode())


def entry_author_time(raw: bytes) -> tuple[bytes, bytes]:
    """The author and time of canonical entry bytes, read where canonical JSON puts them: author is the
    first key; time the last but `v`, so the last `,"time":"` is the top-level one."""
    author = raw[len(_AUTHOR) : raw.find(b'"', len(_AUTHOR))] if raw.startswith(_AUTHOR) else b""
    at = raw.rfind(_TIME) + len(_TIME)
    return author, raw[at : raw.find(b'"', at)]


class Witness:
    """Digests of the index columns and Merkle nodes that the entries of a whole read imply, and the tree's
    root at each of `sizes` (the stored checkpoints' sizes)."""

    def __init__(self, sizes: Iterable[int]) -> None:
        self.columns = hashlib.sha256()
        self.levels: dict[int, Any] = {}
        self.sizes = set(sizes)
        self.roots: dict[int, bytes] = {}
        self.times: dict[int, str] = {}
        self.size = 0
        self.complete = False

    def entry(
        self,
        seq: int,
        raw: bytes,
        prev_hex: bytes,
        h: bytes,
        kind: str,
        made: Iterable[tuple[int, int, bytes]],
    ) -> None:
        author, time = entry_author_time(raw)
        self.columns.update(
            b"%d\x00%s%s%s\x00%s\x00%s\n"
            % (seq, bytes.fromhex(prev_hex.decode()), h, kind.encode(), author, time)
        )
        for level, idx, node in made:
            digest = self.levels.get(level)
            if digest is None:
                digest = self.levels[level] = hashlib.sha256()
            digest.update(b"%d\x00%s" % (idx, node))
        self.size = seq
        if seq in self.sizes:
            self.times[seq] = time.decode()

    def root_at(self, size: int, root: bytes) -> None:
        self.roots[size] = root


def stored_columns_digest(store: Store, conn: Connection, until: int) -> bytes:
    digest = hashlib.sha256()
    for seq, prev, h, kind, author, time in store.iter_columns(conn):
        if seq > until:
            break
        digest.update(column_record(seq, prev, h, kind, author, time))
    return digest.digest()


def stored_node_digests(store: Store, conn: Connection, size: int) -> dict[int, bytes]:
    """Per level, the digest of the stored nodes of the tree of `size` leaves (idx < size >> level), and of
    any stored node beyond it (a level key of -1 - level), which a tree of `size` leaves must not have."""
    out: dict[int, Any] = {}
    for level, idx, h in store.iter_nodes(conn):
        key = level if idx < size >> level else -1 - level
        digest = out.get(key)
        if digest is None:
            digest = out[key] = hashlib.sha256()
        digest.update(b"%d\x00%s" % (idx, h))
    return {level: d.digest() for level, d in out.items()}


def check_side_tables(
    store: Store,
    conn: Connection,
    witness: Witness,
    root_key: VerifierKey,
    origin: str,
    *,
    own_rows: bool = False,
) -> None:
    """Raise LedgerError (from ledger.log) unless the stored index columns, Merkle nodes and checkpoint rows
    are what the whole read's entries make them. The witness must have seen the whole read. `own_rows`: the
    caller has already stored rows of its own past the read (nodes beyond the read tree are then its own)."""
    from ledger.log import LedgerError

    if not witness.complete:
        raise LedgerError("the stored entries were not read whole: cannot check the tables beside them")
    size = witness.size
    if stored_columns_digest(store, conn, size) != witness.columns.digest():
        raise LedgerError(
            "the stored index columns (seq, prev, hash, kind, author, time) differ from the entries' bytes: "
            + TAMPERED
        )
    stored = stored_node_digests(store, conn, size)
    wanted = {level: d.digest() for level, d in witness.levels.items()}
    beyond = sorted(-1 - key for key in stored if key < 0)
    if beyond and not own_rows:
        raise LedgerError(
            f"the Merkle node table holds nodes beyond the signed tree (level {beyond[0]}): {TAMPERED}"
        )
    for level in sorted(set(stored) | set(wanted)):
        if stored.get(level) != wanted.get(level):
            raise LedgerError(
                f"the Merkle node table differs from the tree of the stored entries at level {level}: proofs "
                f"served from it would be wrong: {TAMPERED}"
            )
    for cp in store.all_checkpoints(conn):
        try:
            signed = verify_checkpoint(cp.note, root_key, origin)
        except ValueError as exc:
            raise LedgerError(f"stored checkpoint {cp.size} does not verify ({exc}): {TAMPERED}") from exc
        if (signed.size, signed.root) != (cp.size, cp.root) or witness.roots.get(cp.size) != cp.root:
            raise LedgerError(
                f"stored checkpoint {cp.size} is not a signed root of the stored entries: {TAMPERED}"
            )
