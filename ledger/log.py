"""The signed append-only log: appending in one transaction, reading, proving.

A command opens an `Appender` (the writer lock is taken and the stored head checked against the latest signed
checkpoint), appends any number of entries, and on success the whole batch, its Merkle nodes and a new signed
checkpoint are committed together. Any exception rolls all of it back.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from ledger import merkle
from ledger.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from ledger.entry import (
    ZERO_HASH,
    Entry,
    EntryError,
    check_fields,
    decode,
    decode_large,
    encode_checked,
    entry_hash,
    signing_message,
    with_sig,
)
from ledger.errors import LedgerError as LedgerError  # the package root, raised as such here
from ledger.keyring import GENESIS, KEY_ADD, KEY_KINDS, KEY_REVOKE, Keyring, KeyringError
from ledger.keys import SigningKey, VerifierKey
from ledger.sidetables import Witness, check_side_tables
from ledger.store import Store, StoredCheckpoint, StoreError

# The application's name for an entry's subject (kind, body) -> subject or None (see `Ledger`).
SubjectOf = Callable[[str, Mapping[str, Any]], "str | None"]


def utc_now() -> str:
    # isoformat rather than strftime("%Y-%m-%dT%H:%M:%S.%fZ"): it costs less per entry appended and spells
    # the same text (microseconds always shown, the "+00:00" offset replaced by "Z"); bench/README.md.
    return datetime.now(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def load_keyring(store: Store, conn: Connection, leaves: dict[int, bytes] | None = None) -> Keyring:
    """The keyring from the key entries; `leaves` collects their leaf hashes, for `checkpoint_matches` to
    check once the checkpoint is known (it is verified with the root key read here)."""
    ring: Keyring | None = None
    for seq, raw in store.iter_raw(conn, kinds=KEY_KINDS):
        if leaves is not None:
            leaves[seq - 1] = merkle.leaf_hash(raw)
        entry = decode(raw)
        if ring is None:
            if entry.kind != GENESIS or seq != 1:
                raise LedgerError(f"seq {seq}: the ledger does not start with a genesis entry")
            ring = Keyring.from_genesis(entry.body)
        else:
            ring.apply(seq, entry.kind, entry.body)
    if ring is None:
        raise LedgerError("the ledger is empty: no genesis entry")
    return ring


def checkpoint_matches(
    store: Store,
    conn: Connection,
    ring: Keyring,
    *,
    count: bool = True,
    key_leaves: dict[int, bytes] | None = None,
) -> StoredCheckpoint:
    """Every command starts here: the stored head must be what the latest signed checkpoint says.

    `count` also compares the number of stored rows with the head's seq (a row deleted in the middle): on
    PostgreSQL that is a scan of the table, so writers pay it (they replay the ledger anyway) and readers such
    as `prove inclusion` skip it; `verify` checks every row regardless."""
    head = store.head(conn)
    cp = store.latest_checkpoint(conn)
    if cp is None:
        raise LedgerError("no checkpoint stored: the database was not written by patentpool")
    try:
        signed = verify_checkpoint(cp.note, ring.root, ring.origin)
    except ValueError as exc:
        raise LedgerError(f"latest checkpoint (size {cp.size}) does not verify: {exc}") from exc
    if signed.size != cp.size or signed.root != cp.root:
        raise LedgerError(f"latest checkpoint row (size {cp.size}) disagrees with its signed note")
    if head.size != cp.size:
        raise LedgerError(
            f"stored head is seq {head.size} but the latest checkpoint covers {cp.size} entries: "
            "the database was changed outside patentpool; run `patentpool verify`"
        )
    # The root's nodes, the head's leaf and what checking the key entries needs, in one fetch (a round trip
    # counts on PostgreSQL).
    plan = merkle.root_plan(head.size)
    head_leaf = (0, head.size - 1)
    keys_plan = merkle.leaves_plan(list(key_leaves), cp.size) if key_leaves else []
    got = store.nodes(conn).get_nodes([*plan, head_leaf, *keys_plan] if head.size else plan)
    root = merkle.fold([got[node] for node in plan])
    if root != cp.root:
        raise LedgerError(
            f"Merkle root of the stored entries differs from checkpoint {cp.size}: run `patentpool verify`"
        )
    if head.size:
        # The root above comes from the derived node table: check the head entry's own bytes against it, and
        # against the hash the next entry's prev will be taken from.
        raw = store.raw_entry(conn, head.size)
        leaf = got[head_leaf]
        if raw is None or merkle.leaf_hash(raw) != leaf or entry_hash(raw) != head.hash:
            raise LedgerError(
                f"seq {head.size}: the stored head entry is not the one checkpoint {cp.size} signed: "
                "the database was changed outside patentpool; run `patentpool verify`"
            )
    rows = store.count(conn) if count else head.size
    if rows != head.size:
        raise LedgerError(
            f"the database holds {rows} entries but its head is seq {head.size}: entries were removed or "
            "added outside patentpool; run `patentpool verify`"
        )
    if key_leaves:
        # The key entries `load_keyring` read before the checkpoint could be checked.
        check_leaves(store, conn, key_leaves, cp, _Fetched(got))
    return cp


class _Fetched:
    """A merkle.NodeSource over nodes already fetched."""

    def __init__(self, got: Mapping[merkle.Node, bytes]) -> None:
        self.got = got

    def get_nodes(self, nodes: Sequence[merkle.Node]) -> dict[merkle.Node, bytes]:
        return {node: self.got[node] for node in nodes if node in self.got}


TAMPERED = "the database was changed outside patentpool; run `patentpool verify`"
_PREV = b',"prev":"'
_KIND = b',"kind":'


def read_signed(
    store: Store,
    conn: Connection,
    checkpoint: StoredCheckpoint,
    *,
    since: int = 1,
    kinds: Sequence[str] | None = None,
    needles: Mapping[str, bytes] | None = None,
    witness: Witness | None = None,
    check: Callable[[dict[int, bytes]], None] | None = None,
) -> Iterator[tuple[int, str, bytes, bytes]]:
    """Stream (seq, kind, raw, h(raw)) of the entries the checkpoint covers (or only `kinds`, and of a kind
    in `needles` only the rows whose bytes contain its needle) and, once the rows run out, raise LedgerError
    unless every row read is the entry the checkpoint signed.

    The start-up check (`checkpoint_matches`) reads only the head: an entry edited in the middle of the
    table would otherwise be replayed, and a writer would compute and sign new entries from it. A read of
    the whole ledger is checked by the chain and a fold of every leaf into the signed root (O(log n)
    memory, a SHA-256 or two per entry, and the kind column compared); a partial read by recomputing the
    signed root from the leaves read and the stored nodes for the rest (`_included`), which a forged node
    cannot pass either. Callers consume the stream whole before they act on it (a replay; `export -o` writes
    a temporary file), so the final check comes in time. `check` takes a small read's leaves instead of
    checking them at once (`Reader.one_check`)."""
    rows: Iterable[tuple[Any, ...]] = store.iter_entries(
        conn, since=since, until=checkpoint.size, kinds=kinds, needles=needles, columns=witness is not None
    )
    if needles:
        # The database may have searched already; this makes the filter exact whatever its search does.
        rows = (row for row in rows if row[1] not in needles or needles[row[1]] in row[2])
    if since == 1 and not kinds and not needles:
        yield from _chained(rows, checkpoint, witness)
        return
    if witness is not None:
        raise LedgerError("side tables are checked on a whole read only")
    yield from _included(store, conn, rows, checkpoint, check)


def _chained(
    rows: Iterable[tuple[Any, ...]], checkpoint: StoredCheckpoint, witness: Witness | None = None
) -> Iterator[tuple[int, str, bytes, bytes]]:
    compact = merkle.CompactRange.empty()
    prev = ZERO_HASH.encode()
    for row in rows:
        seq, kind, raw = row[0], row[1], row[2]
        if seq != compact.size + 1:
            raise LedgerError(f"seq {compact.size + 1}: missing from the stored entries: {TAMPERED}")
        # In canonical bytes the top-level kind and prev are the last `,"kind":"` and `,"prev":"`: only
        # prev, seq, sig, time and v follow them, and a quote inside a string is always escaped.
        at = raw.rfind(_PREV) + len(_PREV)
        if raw[at : at + 64] != prev:
            raise LedgerError(
                f"seq {seq}: its prev is not the hash of seq {seq - 1}: one of the two is not the entry "
                f"the pool signed: {TAMPERED}"
            )
        # The kind column chooses what partial reads (the keyring, the books) see: a whole read, which
        # every writer makes, checks it, so a row hidden from them by a relabelled column stops the writer.
        if not _kind_is(raw, kind):
            raise LedgerError(f"seq {seq}: the stored kind column is not the entry's kind: {TAMPERED}")
        h = entry_hash(raw)
        made = compact.append(merkle.leaf_hash(raw))
        if witness is not None:  # a writer's read: the side tables checked too (ledger.sidetables)
            witness.entry(row, prev, h, made)
            if seq in witness.sizes:
                witness.root_at(seq, compact.root())
        yield seq, kind, raw, h
        prev = h.hex().encode()
    if compact.size != checkpoint.size or compact.root() != checkpoint.root:
        raise LedgerError(
            f"the stored entries do not hash to the root of checkpoint {checkpoint.size}: {TAMPERED}"
        )
    if witness is not None:
        witness.complete = True


def _kind_is(raw: bytes, kind: str) -> bool:
    return raw.startswith(b'"' + kind.encode() + b'",', raw.rfind(_KIND) + len(_KIND))


CHECK_BATCH = 4096
# Up to this many leaves, a partial read is checked at its end in one fetch (`check_leaves`), whose plan
# shares the subtrees between scattered leaves; past it, it streams (`gap_plan` per leaf, more nodes).
SMALL_READ = 65536


def _included(
    store: Store,
    conn: Connection,
    rows: Iterable[tuple[int, str, bytes]],
    checkpoint: StoredCheckpoint,
    check: Callable[[dict[int, bytes]], None] | None = None,
) -> Iterator[tuple[int, str, bytes, bytes]]:
    """A partial read checked against the signed root: a small one at its end (`check_leaves`), a large one
    folded in as it streams: the leaves read, and for the leaves between them the stored nodes of
    `merkle.gap_plan` (fetched a batch of leaves at a time), so memory stays bounded however many entries
    are read. A forged node gives another root, like a forged leaf."""
    compact = merkle.CompactRange.empty()
    nodes = store.nodes(conn)
    batch: list[tuple[int, bytes]] = []
    read = 0
    streaming = False

    def fold(end: int | None) -> None:
        plans, at = [], compact.size
        for index, _leaf in batch:
            if index < at:
                raise LedgerError(f"seq {index + 1}: read out of order or twice: {TAMPERED}")
            plans.append(merkle.gap_plan(at, index))
            at = index + 1
        tail = merkle.gap_plan(at, end) if end is not None else []
        wanted = [node for plan in plans for node in plan] + tail
        try:
            got = nodes.get_nodes(wanted) if wanted else {}
        except StoreError as exc:
            raise LedgerError(
                f"cannot check the entries read against checkpoint {checkpoint.size}: {exc}: {TAMPERED}"
            ) from exc
        for plan, (_index, leaf) in zip(plans, batch, strict=True):
            for level, idx in plan:
                compact.append_subtree(level, got[(level, idx)])
            compact.append(leaf)
        for level, idx in tail:
            compact.append_subtree(level, got[(level, idx)])
        batch.clear()

    for seq, kind, raw in rows:
        if seq > checkpoint.size:
            raise LedgerError(f"seq {seq}: beyond checkpoint {checkpoint.size}: {TAMPERED}")
        leaf = merkle.leaf_hash(raw)
        batch.append((seq - 1, leaf))
        if check is not None and not streaming:
            check({seq - 1: leaf})  # before the caller reads the row: it may stop on a malformed one
        read += 1
        yield seq, kind, raw, entry_hash(raw)
        if len(batch) >= (CHECK_BATCH if streaming else SMALL_READ):
            streaming = True
            fold(None)
    if not streaming:
        if check is None:
            check_leaves(store, conn, dict(batch), checkpoint)
        return
    fold(checkpoint.size)
    if compact.root() != checkpoint.root:
        raise LedgerError(
            f"the {read} entries read are not all ones checkpoint {checkpoint.size} signed: {TAMPERED}"
        )


def check_leaves(
    store: Store,
    conn: Connection,
    leaves: dict[int, bytes],
    checkpoint: StoredCheckpoint,
    nodes: merkle.NodeSource | None = None,
) -> None:
    """Raise LedgerError unless the leaf hashes (by index) are the ones the checkpoint signed."""
    if not leaves:
        return
    try:
        root = merkle.root_with_leaves(nodes or store.nodes(conn), leaves, checkpoint.size)
    except (LookupError, StoreError) as exc:
        raise LedgerError(
            f"cannot check the entries read against checkpoint {checkpoint.size}: {exc}: {TAMPERED}"
        ) from exc
    if root != checkpoint.root:
        raise LedgerError(
            f"the {len(leaves)} entries read are not all ones checkpoint {checkpoint.size} signed: {TAMPERED}"
        )


@dataclass(frozen=True)
class Appended:
    entry: Entry
    raw: bytes
    hash: bytes


class Appender:
    """Collects the entries of one command; `Ledger.append` commits them with a checkpoint."""

    def __init__(
        self,
        store: Store,
        conn: Connection,
        ring: Keyring,
        author: SigningKey,
        base: StoredCheckpoint | None = None,
        subject_of: SubjectOf | None = None,
    ) -> None:
        self.store = store
        self.subject_of = subject_of
        self.conn = conn
        self.ring = ring
        self.author = author
        self.base = base  # the signed checkpoint the stored head was checked against
        self.author_id = author.verifier().keyid_string
        head = store.head(conn)
        self.prev = head.hash.hex() if head.hash is not None else ZERO_HASH
        self.last_time = head.time or ""
        frontier_nodes = merkle.root_plan(head.size)
        got = store.nodes(conn).get_nodes(frontier_nodes) if frontier_nodes else {}
        self.compact = merkle.CompactRange(head.size, [got[n] for n in frontier_nodes])
        if base is not None and (base.size != head.size or self.compact.root() != base.root):
            # The tree this batch extends is the one the root key signed, from nodes checked against it here.
            raise LedgerError(f"the stored tree is not the one checkpoint {base.size} signed: {TAMPERED}")
        self.appended: list[Appended] = []
        self._rows: list[tuple[int, bytes, bytes, str, str, str, bytes, str | None]] = []
        self._nodes: list[tuple[int, int, bytes]] = []
        self.flushed = False  # rows of this batch already stored (`flush`)
        self.side_checked = False  # the tables beside the entries matched a whole read (`signed_rows`)

    @property
    def size(self) -> int:
        return self.compact.size

    @property
    def origin(self) -> str:
        return self.ring.origin

    def signed_rows(self) -> Iterator[tuple[int, str, bytes, bytes]]:
        """Every stored entry, checked against the base checkpoint (`read_signed`): what a writer replays.
        Once read whole, the index columns, Merkle nodes and checkpoint rows are checked against what the
        entries make them (`ledger.sidetables`): the root key signs nothing over a damaged copy of them."""
        if self.base is None:
            raise LedgerError("no signed checkpoint to check the stored entries against")
        witness = Witness(self.store.checkpoint_sizes(self.conn))
        yield from read_signed(self.store, self.conn, self.base, witness=witness)
        check_side_tables(
            self.store, self.conn, witness, self.ring.root, self.ring.origin, own_rows=self.flushed
        )
        self.side_checked = True

    def append(self, kind: str, body: Mapping[str, Any]) -> Entry:
        seq = self.compact.size + 1
        if seq == 1 or kind == GENESIS:
            # Genesis is valid by definition: seq 1, signed by the root key it names.
            if seq != 1 or kind != GENESIS or self.author_id != self.ring.root.keyid_string:
                raise LedgerError("only seq 1 is a genesis entry, signed by the root key it names")
        else:
            try:
                self.ring.check_author(seq, self.author_id, kind)
            except KeyringError as exc:
                raise LedgerError(str(exc)) from exc
        now = utc_now()
        # Time never decreases along the log, even if this machine's clock is behind the last writer's.
        time = now if now >= self.last_time else self.last_time
        check_fields(seq, time, kind, self.author_id, self.prev, body, None, values_checked=True)
        unsigned = Entry(
            seq=seq, time=time, kind=kind, author=self.author_id, prev=self.prev, body=body, sig=""
        )
        # Encoded once (and checked on the bytes): a large body is not serialised twice.
        unsigned_raw = encode_checked(unsigned.unsigned())
        signature = self.author.sign(signing_message(self.origin, unsigned_raw))
        entry = Entry(
            seq=seq,
            time=time,
            kind=kind,
            author=self.author_id,
            prev=self.prev,
            body=body,
            sig=base64.b64encode(signature).decode(),
        )
        if kind in KEY_KINDS and kind != GENESIS:
            try:
                self.ring.apply(seq, kind, body)
            except KeyringError as exc:
                raise LedgerError(str(exc)) from exc
        self.store_raw(entry, with_sig(unsigned_raw, entry.sig))
        return entry

    def store_raw(self, entry: Entry, raw: bytes) -> None:
        h = entry_hash(raw)
        self._nodes.extend(self.compact.append(merkle.leaf_hash(raw)))
        subject = None if self.subject_of is None else self.subject_of(entry.kind, entry.body)
        self._rows.append(
            (entry.seq, bytes.fromhex(entry.prev), h, entry.kind, entry.author, entry.time, raw, subject)
        )
        self.appended.append(Appended(entry, raw, h))
        self.prev = h.hex()
        self.last_time = entry.time
        if len(self._rows) >= 5000:
            self.flush()

    def flush(self) -> None:
        # Rows go to the database in chunks inside the command's one transaction, keeping memory bounded.
        self.store.insert_entries(self.conn, self._rows)
        self.store.insert_nodes(self.conn, self._nodes)
        self.flushed = self.flushed or bool(self._rows or self._nodes)
        self._rows = []
        self._nodes = []


class Ledger:
    """A signed log in a store. `subject_of` names each appended entry's subject (the index key stored
    beside its kind, `Store.seqs_after`), or None; without it every entry is stored with no subject."""

    def __init__(self, store: Store, subject_of: SubjectOf | None = None) -> None:
        self.store = store
        self.subject_of = subject_of

    @classmethod
    def open(cls, url: str, subject_of: SubjectOf | None = None) -> Ledger:
        return cls(Store(url), subject_of)

    def create(self, key: SigningKey, genesis: Mapping[str, Any]) -> Entry:
        """Create the schema and append the genesis entry, signed by the root key it names."""
        if self.store.exists():
            raise LedgerError(
                f"{self.store.display_url} already holds a pool ledger; refusing to re-initialise"
            )
        self.store.migrate()
        body = dict(genesis)
        body["origin"] = key.name
        body["root_key"] = str(key.verifier())
        ring = Keyring.from_genesis(body)
        with self.store.writer() as conn:
            self.store.check_schema(conn)
            if self.store.head(conn).size:
                raise LedgerError("the ledger already has a genesis entry")
            appender = Appender(self.store, conn, ring, key, subject_of=self.subject_of)
            entry = appender.append(GENESIS, body)
            self._commit(appender, key, None)
        return entry

    def restore(self, rows: Iterable[bytes], key: SigningKey, checkpoint_note: str) -> int:
        """Load exported entries, byte for byte, into an empty database and sign a checkpoint over them.

        Every entry is checked as `verify` would (chain, keys, signatures) before it is stored; the root key
        must be the one the export's genesis names, and the entries must be exactly the tree that
        `checkpoint_note` (a checkpoint the root key signed, e.g. the one printed with the export) signs:
        a shortened or lengthened export would otherwise have the root key sign a tree inconsistent with
        checkpoints it signed before, a fork. Returns the number of entries.
        """
        if self.store.exists():
            raise LedgerError(
                f"{self.store.display_url} already holds a pool ledger; restore needs an empty one"
            )
        buffered = list(rows)
        if not buffered:
            raise LedgerError("nothing to restore")
        genesis, ring = _export_genesis(buffered[0], key)
        # Check everything before the schema is created, so a refused export leaves the database empty.
        entries = _checked_export(buffered, genesis, ring)
        _check_export_tree(entries, checkpoint_note, ring)
        self.store.migrate()
        with self.store.writer() as conn:
            appender = Appender(
                self.store, conn, Keyring.from_genesis(genesis.body), key, subject_of=self.subject_of
            )
            for entry, raw in entries:
                appender.store_raw(entry, raw)
            self._commit(appender, key, None)
        return len(buffered)

    @contextmanager
    def append(self, author: SigningKey, checkpoint_key: SigningKey | None = None) -> Iterator[Appender]:
        """One writer transaction: yields an Appender; on success stores entries and a signed checkpoint."""
        with self.store.writer() as conn:
            self.store.check_schema(conn)
            key_leaves: dict[int, bytes] = {}
            ring = load_keyring(self.store, conn, key_leaves)
            previous = checkpoint_matches(self.store, conn, ring, key_leaves=key_leaves)
            signer = checkpoint_key or author
            if signer.verifier().keyid_string != ring.root.keyid_string:
                if signer.name != ring.origin:  # the likeliest mistake: another pool's key file
                    raise LedgerError(
                        f"the key file is a key of {signer.name}, and this database is the ledger of "
                        f"{ring.origin}: give this pool's key file (--key or PATENTPOOL_KEY)"
                    )
                raise LedgerError("checkpoints are signed by the pool's root key: give the root key file")
            appender = Appender(self.store, conn, ring, author, previous, self.subject_of)
            yield appender
            if appender.appended:
                if not appender.side_checked:  # a caller that appended without replaying
                    for _row in appender.signed_rows():
                        pass
                self._commit(appender, signer, previous)

    def _commit(self, appender: Appender, signer: SigningKey, previous: StoredCheckpoint | None) -> None:
        appender.flush()
        size = appender.compact.size
        root = appender.compact.root()
        if previous is not None:
            # The pool never signs two inconsistent checkpoints: prove the new tree extends the old one.
            proof = merkle.consistency_proof(self.store.nodes(appender.conn), previous.size, size)
            try:
                merkle.verify_consistency(previous.size, size, previous.root, root, proof)
            except merkle.ProofError as exc:
                raise LedgerError(
                    f"new tree is not consistent with checkpoint {previous.size}: {exc}"
                ) from exc
        note = sign_checkpoint(Checkpoint(appender.origin, size, root), signer)
        # Never before the entries it covers (`verify` checks that of every row), whatever this clock says.
        created = max(utc_now(), appender.last_time)
        self.store.insert_checkpoint(appender.conn, StoredCheckpoint(size, root, note, created))

    # --- reading ----------------------------------------------------------------------------------------
    @contextmanager
    def reader(self) -> Iterator[Reader]:
        with self.store.reader() as conn:
            key_leaves: dict[int, bytes] = {}
            ring = load_keyring(self.store, conn, key_leaves)
            checkpoint = checkpoint_matches(self.store, conn, ring, count=False, key_leaves=key_leaves)
            yield Reader(self.store, conn, ring, checkpoint)


class Reader:
    def __init__(self, store: Store, conn: Connection, ring: Keyring, checkpoint: StoredCheckpoint) -> None:
        self.store = store
        self.conn = conn
        self.ring = ring
        self.signed = checkpoint  # the latest checkpoint, which the stored head matched
        self._deferred: dict[int, bytes] | None = None  # leaves read within `one_check`

    @contextmanager
    def one_check(self) -> Iterator[None]:
        """Within the block, the small reads' leaves are checked against the checkpoint together when it ends
        (one fetch of the stored nodes instead of one per read): the caller must not act on what it read
        inside the block before it ends (build a state from it, then use it after). If the block fails (a row
        that does not parse), what was read is checked first: an edited row is reported as such."""
        if self._deferred is not None:
            yield
            return
        self._deferred = {}
        try:
            try:
                yield
            except Exception:
                check_leaves(self.store, self.conn, self._deferred, self.signed)
                raise
            check_leaves(self.store, self.conn, self._deferred, self.signed)
        finally:
            self._deferred = None

    def _check(self, leaves: dict[int, bytes]) -> None:
        if self._deferred is not None:
            self._deferred.update(leaves)
        else:
            check_leaves(self.store, self.conn, leaves, self.signed)

    @property
    def origin(self) -> str:
        return self.ring.origin

    @property
    def root_key(self) -> VerifierKey:
        return self.ring.root

    def size(self) -> int:
        return self.store.head(self.conn).size

    def signed_rows(
        self,
        since: int = 1,
        kinds: Sequence[str] | None = None,
        needles: Mapping[str, bytes] | None = None,
    ) -> Iterator[tuple[int, str, bytes, bytes]]:
        """(seq, kind, raw, h(raw)) checked against the latest checkpoint as `read_signed` does."""
        # Within `one_check` a small read's leaves join the block's batch; outside it, the read checks them.
        deferred = self._check if self._deferred is not None else None
        return read_signed(
            self.store, self.conn, self.signed, since=since, kinds=kinds, needles=needles, check=deferred
        )

    def newest_first(self, kinds: Sequence[str]) -> list[tuple[int, str]]:
        """(seq, kind) of the signed entries of `kinds`, newest first, from the kind index alone: for a
        caller that wants the latest few rows of a kind whose rows are large (a period's allocation), reads
        them one by one (`signed_row`) and stops once it has them."""
        return self.store.seqs_of(self.conn, kinds, until=self.signed.size)[::-1]

    def subject_rows(self, kind: str, subject: str, needle: bytes) -> list[tuple[int, str, bytes, bytes]]:
        """(seq, kind, raw, h(raw)) of the signed entries of `kind` stored with `subject`, or stored with none
        and holding `needle`, all checked against the latest checkpoint at once: found by the (kind,
        subject, seq) index, so one party's few rows among a million cost no more than reading them."""
        seqs = self.store.seqs_after(self.conn, 0, [kind], needle, subjects=[subject])
        seqs = [seq for seq in seqs if seq <= self.signed.size]
        raws = self.store.raw_entries(self.conn, seqs)
        rows, leaves = [], {}
        for seq in seqs:
            raw = raws.get(seq)
            if raw is None:
                raise LedgerError(f"seq {seq}: missing from the stored entries: {TAMPERED}")
            if not _kind_is(raw, kind):
                raise LedgerError(f"seq {seq}: the stored kind column is not the entry's kind: {TAMPERED}")
            leaves[seq - 1] = merkle.leaf_hash(raw)
            rows.append((seq, kind, raw, entry_hash(raw)))
        self._check(leaves)
        return rows

    def signed_row(
        self, seq: int, kind: str, keep: Callable[[bytes], bool] | None = None
    ) -> tuple[int, str, bytes, bytes] | None:
        """(seq, kind, raw, h(raw)) of one entry checked against the latest checkpoint, or None if `keep`
        turns its bytes down (such a row is not checked: nothing is read from it)."""
        raw = self.store.raw_entry(self.conn, seq)
        if raw is None:
            raise LedgerError(f"seq {seq}: missing from the stored entries: {TAMPERED}")
        if keep is not None and not keep(raw):
            return None
        if not _kind_is(raw, kind):
            raise LedgerError(f"seq {seq}: the stored kind column is not the entry's kind: {TAMPERED}")
        self._check({seq - 1: merkle.leaf_hash(raw)})
        return seq, kind, raw, entry_hash(raw)

    def entries(self, since: int = 1, kinds: Sequence[str] | None = None) -> Iterator[Entry]:
        """Each signed entry, decoded strictly and whole (see `listed` for a listing of large entries)."""
        for seq, _kind, raw, _h in self.signed_rows(since, kinds):
            try:
                yield decode(raw)
            except EntryError as exc:
                raise LedgerError(
                    f"seq {seq}: the stored entry is not well-formed ({exc}): {TAMPERED}"
                ) from exc

    def listed(self, since: int = 1, kinds: Sequence[str] | None = None) -> Iterator[tuple[bytes, Entry]]:
        """(raw, entry) of each signed row, its form checked strictly, a large body left as bytes and checked
        when read (`decode_large`): a listing streams however many megabytes the entries hold. The rows are
        checked against the signed root as they come and the read fails at the end if they do not fold to
        it, so a caller that writes them out keeps its output until the iteration has ended."""
        for seq, _kind, raw, _h in self.signed_rows(since, kinds):
            try:
                yield raw, decode_large(raw)
            except EntryError as exc:
                raise LedgerError(
                    f"seq {seq}: the stored entry is not well-formed ({exc}): {TAMPERED}"
                ) from exc

    def raw_entries(self, since: int = 1, kinds: Sequence[str] | None = None) -> Iterator[tuple[int, bytes]]:
        for seq, _kind, raw, _h in self.signed_rows(since, kinds):
            yield seq, raw

    def entry(self, seq: int) -> tuple[Entry, bytes]:
        raw = self.store.raw_entry(self.conn, seq)
        if raw is None:
            raise LedgerError(f"no entry at seq {seq}")
        return decode(raw), raw

    def checkpoint(self, size: int | None = None) -> StoredCheckpoint:
        cp = (
            self.store.latest_checkpoint(self.conn)
            if size is None
            else self.store.checkpoint_at(self.conn, size)
        )
        if cp is None:
            raise LedgerError(
                f"no signed checkpoint at tree size {size}: proofs are served only against signed checkpoints"
            )
        return cp

    def inclusion(self, seq: int, size: int | None = None) -> dict[str, Any]:
        cp = self.checkpoint(size)
        if not 1 <= seq <= cp.size:
            raise LedgerError(f"seq {seq} is not in the tree of size {cp.size}")
        _entry, raw = self.entry(seq)
        proof = merkle.inclusion_proof(self.store.nodes(self.conn), seq - 1, cp.size)
        return {
            "seq": seq,
            "leaf_index": seq - 1,
            "tree_size": cp.size,
            "leaf_hash": base64.b64encode(merkle.leaf_hash(raw)).decode(),
            "proof": [base64.b64encode(p).decode() for p in proof],
            "checkpoint": cp.note,
        }

    def consistency(self, old: int, new: int) -> dict[str, Any]:
        if not 0 <= old <= new:
            raise LedgerError(f"consistency needs 0 <= OLD <= NEW, got {old} and {new}")
        new_cp = self.checkpoint(new)
        old_cp = self.store.checkpoint_at(self.conn, old)
        proof = merkle.consistency_proof(self.store.nodes(self.conn), old, new) if old else []
        return {
            "old_size": old,
            "new_size": new,
            "proof": [base64.b64encode(p).decode() for p in proof],
            "old_checkpoint": None if old_cp is None else old_cp.note,
            "new_checkpoint": new_cp.note,
        }


def _export_genesis(raw: bytes, key: SigningKey) -> tuple[Entry, Keyring]:
    """An export's first entry, which must be a genesis naming `key` as the root key, and its keyring."""
    try:
        genesis = decode(raw)
    except EntryError as exc:
        raise LedgerError(f"seq 1: {exc}") from exc
    if genesis.kind != GENESIS or genesis.seq != 1:
        raise LedgerError("seq 1: the export does not start with a genesis entry")
    try:
        ring = Keyring.from_genesis(genesis.body)
    except KeyringError as exc:
        raise LedgerError(f"seq 1: {exc}") from exc
    if key.verifier().keyid_string != ring.root.keyid_string:
        raise LedgerError("the key file is not the root key named by the export's genesis")
    return genesis, ring


def _checked_export(buffered: list[bytes], genesis: Entry, ring: Keyring) -> list[tuple[Entry, bytes]]:
    """Every exported entry decoded and checked by verify's own checks (form and signature: `check_chunk`;
    seq, chain, time, genesis, author key: `check_one`); the first problem raises LedgerError."""
    from ledger.verify import check_chunk, check_one

    checking = Keyring.from_genesis(genesis.body)
    candidates = {ring.root.keyid_string: [ring.root.public]}
    prev, last_time = ZERO_HASH, ""
    entries: list[tuple[Entry, bytes]] = []
    for position, raw in enumerate(buffered, 1):
        entry: Entry | None
        try:
            entry = decode(raw)
        except ValueError:
            entry = None  # check_chunk names what is wrong with it, as verify does
        if entry is not None and entry.kind == KEY_ADD:
            try:
                vkey = VerifierKey.parse(str(entry.body.get("vkey")))
            except ValueError as exc:
                raise LedgerError(f"seq {position}: {exc}") from exc
            candidates.setdefault(vkey.keyid_string, []).append(vkey.public)
        checked = check_chunk(ring.origin, candidates, [(position, raw)])[0]
        problems = check_one(position, checked, entry, position - 1, prev, last_time, checking)
        if problems or entry is None:
            raise LedgerError(str(problems[0]))
        if entry.kind in (KEY_ADD, KEY_REVOKE):
            try:
                checking.apply(entry.seq, entry.kind, entry.body)
            except KeyringError as exc:
                raise LedgerError(f"seq {position}: {exc}") from exc
        entries.append((entry, raw))
        prev, last_time = checked.hash.hex(), entry.time
    return entries


def _check_export_tree(entries: list[tuple[Entry, bytes]], checkpoint_note: str, ring: Keyring) -> None:
    """The entries must be exactly the tree `checkpoint_note` signs: restoring another would fork."""
    try:
        signed = verify_checkpoint(checkpoint_note, ring.root, ring.origin)
    except ValueError as exc:
        raise LedgerError(f"the checkpoint: {exc}") from exc
    if signed.size != len(entries):
        raise LedgerError(
            f"the checkpoint signs {signed.size} entries and the export holds {len(entries)}: give the "
            "checkpoint printed with this export (restoring another tree would fork the pool's history)"
        )
    tree = merkle.CompactRange.empty()
    for _entry, raw in entries:
        tree.append(merkle.leaf_hash(raw))
    if tree.root() != signed.root:
        raise LedgerError(f"the export's entries are not the tree checkpoint {signed.size} signs")
