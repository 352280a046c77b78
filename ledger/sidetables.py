"""What the tables beside the entries must hold, learned from a whole read of the entries, and the check a
writer makes before the root key signs a new checkpoint.

A writer's whole read (`ledger.log.read_signed`) proves the stored entries are the tree the latest checkpoint
signed. The other tables are derived from those entries, and the pool hands them out: the index columns
choose what partial reads see, the Merkle nodes make every proof a member receives, and the checkpoint rows
are the history members check consistency against. A writer that signed over a damaged copy of any of them
would put the pool's key behind it. So, while the entries stream by, the `Witness` compares each row's
index columns with its bytes, digests the Merkle nodes the entries make (O(1) memory) and keeps the tree's
root at each stored checkpoint's size; `check_side_tables` then reads the stored nodes level by level into
the same digests, and checks every checkpoint row's signature and root against those roots.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from ledger.checkpoint import verify_checkpoint
from ledger.errors import LedgerError
from ledger.keys import VerifierKey
from ledger.schema import nodes
from ledger.store import Store

_AUTHOR = b'{"author":"'
_TIME = b',"time":"'
TAMPERED = "the database was changed outside patentpool; run `patentpool verify`"
_COLUMN_NAMES = ("prev", "hash", "author", "time")


def entry_author_time(raw: bytes) -> tuple[bytes, bytes]:
    """The author and time of canonical entry bytes, read where canonical JSON puts them: author is the
    first key; time the last but `v`, so the last `,"time":"` is the top-level one."""
    author = raw[len(_AUTHOR) : raw.find(b'"', len(_AUTHOR))] if raw.startswith(_AUTHOR) else b""
    at = raw.rfind(_TIME) + len(_TIME)
    return author, raw[at : raw.find(b'"', at)]


class Witness:
    """Fed each row of a writer's whole read (seq, kind, raw, and the stored prev, hash, author and time
    columns): checks those columns against the entry's bytes as they pass (the kind column is checked by the
    read itself), digests the Merkle nodes the entries make, level by level, and keeps the tree's root at each
    of `sizes` (the stored checkpoints' sizes)."""

    def __init__(self, sizes: Iterable[int]) -> None:
        self.levels: dict[int, Any] = {}
        self.sizes = set(sizes)
        self.roots: dict[int, bytes] = {}
        self.size = 0
        self.complete = False
        self.problem: str | None = None  # the first row whose index columns differ from its bytes

    def entry(
        self, row: Sequence[Any], prev_hex: bytes, h: bytes, made: Iterable[tuple[int, int, bytes]]
    ) -> None:
        seq, raw, prev, stored_hash, author, time = row[0], row[2], row[3], row[4], row[5], row[6]
        # The usual case in a few byte comparisons: author is the first key of canonical bytes, and the
        # last `,"time":"` is the top-level time.
        if not (
            stored_hash == h
            and prev.hex().encode() == prev_hex
            and raw.startswith(b'%s%s",' % (_AUTHOR, author.encode()))
            and raw.startswith(b'%s%s"' % (_TIME, time.encode()), raw.rfind(_TIME))
        ):
            self._differs(row, prev_hex, h)
        levels = self.levels
        for level, _idx, node in made:
            digest = levels.get(level)
            if digest is None:
                digest = levels[level] = hashlib.sha256()
            digest.update(node)
        self.size = seq

    def _differs(self, row: Sequence[Any], prev_hex: bytes, h: bytes) -> None:
        # Kept, not raised: an edited entry also breaks the chain or the fold, which the read reports
        # first, naming what was really changed; the columns are reported only if the entries are whole.
        if self.problem is not None:
            return
        author, time = entry_author_time(row[2])
        stored = (bytes(row[3]), bytes(row[4]), str(row[5]).encode(), str(row[6]).encode())
        actual = (bytes.fromhex(prev_hex.decode()), h, author, time)
        names = [n for n, a, b in zip(_COLUMN_NAMES, stored, actual, strict=True) if a != b]
        self.problem = (
            f"seq {row[0]}: the stored index column(s) {', '.join(names)} differ from the entry's bytes: "
            + TAMPERED
        )

    def root_at(self, size: int, root: bytes) -> None:
        self.roots[size] = root


def stored_level_digest(store: Store, conn: Connection, level: int, count: int, page: int = 65536) -> bytes:
    """The digest of the stored hashes of nodes (level, 0) .. (level, count - 1), in idx order; a missing
    node shifts the ones after it and changes the digest."""
    digest = hashlib.sha256()
    start = 0
    while start < count:
        end = min(start + page, count)
        query = (
            select(nodes.c.hash)
            .where(nodes.c.level == level, nodes.c.idx >= start, nodes.c.idx < end)
            .order_by(nodes.c.idx)
        )
        digest.update(b"".join(bytes(h) for h in conn.execute(query).scalars()))
        start = end
    return digest.digest()


def check_side_tables(
    store: Store,
    conn: Connection,
    witness: Witness,
    root_key: VerifierKey,
    origin: str,
    *,
    own_rows: bool = False,
) -> None:
    """Raise LedgerError unless the stored index columns, Merkle nodes and checkpoint rows
    are what the whole read's entries make them. The witness must have seen the whole read. `own_rows`: the
    caller has already stored rows of its own past the read (nodes beyond the read tree are then its own)."""
    if not witness.complete:
        raise LedgerError("the stored entries were not read whole: cannot check the tables beside them")
    if witness.problem is not None:
        raise LedgerError(witness.problem)
    size = witness.size
    # Nodes past the tree: any on a read-only check; on a batch that has stored rows of its own, those
    # are its nodes (a planted one where it writes would have made its insert fail).
    if not own_rows and store.nodes_beyond(conn, size):
        raise LedgerError(f"the Merkle node table holds nodes beyond the signed tree: {TAMPERED}")
    for level in range(size.bit_length()):
        wanted = witness.levels[level].digest() if level in witness.levels else hashlib.sha256().digest()
        if stored_level_digest(store, conn, level, size >> level) != wanted:
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
