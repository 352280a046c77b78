"""Full verification of a stored ledger, streamed: canonical form, chain, keys, signatures, Merkle root
against every signed checkpoint. Every problem is reported with its seq; nothing stops at the first.

Signature checks, the costly part, can be spread over processes (`jobs`); the order-dependent checks (chain,
key validity) stay in this process, which reads the workers' results in seq order.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import kept as kept_messages
from ledger import merkle
from ledger.checkpoint import verify_checkpoint
from ledger.entry import (
    ZERO_HASH,
    Entry,
    EntryError,
    LazyBody,
    decode,
    decode_large,
    decode_trusted_lazy,
    entry_hash,
    is_large,
    signing_message_of_raw,
)
from ledger.keyring import GENESIS, KEY_ADD, Keyring, KeyringError
from ledger.keys import VerifierKey
from ledger.memory import return_large_blocks, trim_heap
from ledger.store import Store, StoredCheckpoint

CHUNK = 1000
CHUNK_BYTES = 2 << 20
WINDOW_BYTES = 16 << 20
# Chunks in flight per worker: enough for the workers to keep busy while this process spends seconds on one
# entry (the caller recomputing an allocation), few enough that their bytes stay well under WINDOW_BYTES.
WINDOW_CHUNKS = 16


@dataclass(frozen=True)
class Problem:
    seq: int | None
    message: str

    def __str__(self) -> str:
        return self.message if self.seq is None else f"seq {self.seq}: {self.message}"


@dataclass
class Report:
    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)
    kept: int = 0  # kept checkpoints (verify --checkpoint) that the ledger contains
    times: dict[int, str] = field(default_factory=dict)  # entry time at each checked checkpoint size

    @property
    def ok(self) -> bool:
        return not self.problems


class Checked(NamedTuple):
    """What a worker learned of one stored entry. No decoded entry crosses the process boundary: pickling
    dicts cost the workers as much as parsing them, and the main process re-parses the checked bytes with
    the fast `decode_trusted`."""

    position: int
    error: str | None
    hash: bytes
    leaf: bytes
    signer: bytes | None  # the public key the signature verified under, if any
    # False when only the entry around a large body was checked (`decode_large`): the main process then
    # proves the body by comparing bytes, or parses it strictly.
    body_checked: bool = True


_KEY_CACHE: dict[bytes, Ed25519PublicKey] = {}


def _public(raw: bytes) -> Ed25519PublicKey:
    key = _KEY_CACHE.get(raw)
    if key is None:
        key = _KEY_CACHE[raw] = Ed25519PublicKey.from_public_bytes(raw)
    return key


def check_chunk(
    origin: str,
    candidates: dict[str, list[bytes]],
    rows: list[tuple[int, bytes]],
    lazy_kinds: frozenset[str] = frozenset(),
) -> list[Checked]:
    """Check raw entries' form (strict decode) and signatures; runs in a worker process.

    A large entry's body is left to the main process (`decode_large`): parsing a large allocation body costs
    a worker much time and memory (bench/README.md), while the main process, which recomputes the
    allocation anyway, proves it by comparing bytes; so is the body of an entry of `lazy_kinds` (the caller's
    kinds that it proves so, whatever their size). The signature still covers the whole bytes."""
    out: list[Checked] = []
    for position, raw in rows:
        h = entry_hash(raw)
        leaf = merkle.leaf_hash(raw)
        try:
            entry = decode_large(raw, lazy_kinds)
        except EntryError as exc:
            out.append(Checked(position, f"malformed entry: {exc}", h, leaf, None))
            continue
        message = signing_message_of_raw(origin, raw, entry.sig)
        signer = None
        for public in candidates.get(entry.author, []):
            try:
                _public(public).verify(entry.signature, message)
            except InvalidSignature:
                continue
            signer = public
            break
        body_checked = not isinstance(entry.body, LazyBody)
        out.append(Checked(position, None, h, leaf, signer, body_checked))
        if is_large(raw):
            del entry, message
            # Freed heap goes back to the system: the message copy of a large entry (glibc keeps such blocks
            # in the heap once one has been freed) or, for a body parsed here, hundreds of MB of objects.
            trim_heap()
    return out


def _candidate_keys(key_rows: Iterable[tuple[int, bytes]]) -> tuple[str, dict[str, list[bytes]]]:
    """Every public key any genesis or key.add entry names, by key id; validity is judged later, in order."""
    origin = ""
    found: dict[str, list[bytes]] = {}
    for _seq, raw in key_rows:
        try:
            entry = decode(raw)
            text = entry.body.get("root_key" if entry.kind == GENESIS else "vkey")
            vkey = VerifierKey.parse(str(text))
        except (EntryError, ValueError):
            continue
        if entry.kind == GENESIS and not origin:
            origin = str(entry.body.get("origin", ""))
        found.setdefault(vkey.keyid_string, [])
        if vkey.public not in found[vkey.keyid_string]:
            found[vkey.keyid_string].append(vkey.public)
    return origin, found


def _lower_priority() -> None:
    # The main process runs the order-dependent checks and the caller's replay: it is the pipeline's
    # bottleneck, so on a machine with as many cores as workers, the workers take the CPU it leaves.
    if hasattr(os, "nice"):
        os.nice(5)


def _checked_stream(
    rows: Iterable[tuple[int, bytes]],
    origin: str,
    candidates: dict[str, list[bytes]],
    jobs: int,
    lazy_kinds: frozenset[str] = frozenset(),
) -> Iterator[tuple[Checked, Entry | None]]:
    """Each row's check, with its entry parsed (None if malformed), in the order of `rows`."""

    def chunks() -> Iterator[list[tuple[int, bytes]]]:
        # Chunks close at CHUNK entries or CHUNK_BYTES: a large entry (an allocation) travels nearly alone.
        chunk: list[tuple[int, bytes]] = []
        size = 0
        for seq, raw in rows:
            chunk.append((seq, raw))
            size += len(raw)
            if len(chunk) >= CHUNK or size >= CHUNK_BYTES:
                yield chunk
                chunk, size = [], 0
        if chunk:
            yield chunk

    def parsed(
        chunk: list[tuple[int, bytes]], checks: list[Checked]
    ) -> Iterator[tuple[Checked, Entry | None]]:
        for (_position, raw), checked in zip(chunk, checks, strict=True):
            # The worker has checked these very bytes strictly: the fast parse reads the same entry.
            if checked.error:
                yield checked, None
            else:
                yield (
                    checked,
                    decode_trusted_lazy(raw, body_checked=checked.body_checked, lazy_kinds=lazy_kinds),
                )

    if jobs <= 1:
        for chunk in chunks():
            yield from parsed(chunk, check_chunk(origin, candidates, chunk, lazy_kinds))
        return
    # A window of chunks in flight, bounded in count and in bytes, keeps memory flat however long the
    # ledger is and however large its entries (each in-flight byte is held here and pickled once more). It
    # is topped up as each result arrives, before that chunk's entries are handed on: the workers then have
    # work while this process spends seconds on one entry (the caller recomputing an allocation).
    with ProcessPoolExecutor(max_workers=jobs, initializer=_lower_priority) as pool:
        pending: deque[tuple[list[tuple[int, bytes]], int, Future[list[Checked]]]] = deque()
        source = chunks()
        in_flight = 0

        def top_up() -> None:
            nonlocal in_flight
            while len(pending) < jobs * WINDOW_CHUNKS and in_flight < WINDOW_BYTES:
                chunk = next(source, None)
                if chunk is None:
                    return
                size = sum(len(raw) for _seq, raw in chunk)
                pending.append((chunk, size, pool.submit(check_chunk, origin, candidates, chunk, lazy_kinds)))
                in_flight += size

        top_up()
        while pending:
            done, size, future = pending.popleft()
            checks = future.result()
            in_flight -= size
            top_up()
            yield from parsed(done, checks)


OnEntry = Callable[[Entry, bytes], Iterable[str]]
Columns = tuple[int, bytes, bytes, str, str, str]  # a stored row's seq, prev, hash, kind, author, time
NODE_PAGE = 2048


class TreeCheck:
    """Compares the stored Merkle nodes, the derived table that proofs are served from, with the tree the
    stored entries make: each node as the verification completes it, read a page of one level at a time.
    A wrong node would pass every other check and make the pool hand members proofs that fail."""

    def __init__(self, store: Store, conn: Any) -> None:
        self.store = store
        self.conn = conn
        self.pages: dict[int, tuple[int, dict[int, bytes]]] = {}
        self.differ = 0
        self.first: tuple[int, int] | None = None

    def created(self, made: Iterable[tuple[int, int, bytes]]) -> None:
        for level, idx, h in made:
            start, page = self.pages.get(level, (-NODE_PAGE, {}))
            if not start <= idx < start + NODE_PAGE:
                start, page = idx, self.store.node_page(self.conn, level, idx, NODE_PAGE)
                self.pages[level] = (start, page)
            if page.get(idx) != h:
                self.differ += 1
                self.first = self.first or (level, idx)

    def problems(self, size: int) -> list[Problem]:
        found = []
        if self.differ and self.first is not None:
            level, idx = self.first
            found.append(
                Problem(
                    None,
                    f"Merkle node table: {self.differ} stored node(s) differ from the tree of the stored "
                    f"entries (the first at level {level}, index {idx}): proofs served from it would not "
                    "verify; the database was changed outside patentpool",
                )
            )
        extra = self.store.nodes_beyond(self.conn, size)
        if extra:
            found.append(
                Problem(
                    None, f"Merkle node table: {extra} stored node(s) beyond the tree of the stored entries"
                )
            )
        return found


def _column_problem(position: int, columns: Columns | None, checked: Checked, entry: Entry) -> Problem | None:
    if columns is None:
        return Problem(position, "no stored index columns for this row")
    seq, prev, h, kind, author, time = columns
    if (seq, h, kind, author, time) == (position, checked.hash, entry.kind, entry.author, entry.time) and (
        prev.hex() == entry.prev
    ):
        return None  # the usual case, once per entry in the main process: no list built
    names = [
        name
        for name, same in (
            ("seq", seq == position),
            ("prev", prev.hex() == entry.prev),
            ("hash", h == checked.hash),
            ("kind", kind == entry.kind),
            ("author", author == entry.author),
            ("time", time == entry.time),
        )
        if not same
    ]
    return Problem(
        position,
        f"the stored {', '.join(names)} column(s) differ from the entry's bytes (partial reads choose rows "
        "by them): the database was changed outside patentpool",
    )


def verify_store(
    store: Store,
    conn: Any,
    jobs: int = 1,
    on_entry: OnEntry | None = None,
    on_progress: Callable[[int], None] | None = None,
    kept: Sequence[tuple[str, str]] = (),
    lazy_kinds: frozenset[str] = frozenset(),
) -> Report:
    """Verify everything stored, and the checkpoints someone kept (`kept`: name and note of each).
    `on_entry` lets the caller replay each valid entry into its own state and return problems it finds
    (e.g. a domain rule the entry breaks); see `verify_rows` for `lazy_kinds`."""
    stored = store.all_checkpoints(conn)
    checkpoints = [(cp.size, cp.root, cp.note) for cp in stored]
    tree = TreeCheck(store, conn)
    report = verify_rows(
        store.iter_raw(conn),
        store.iter_raw(conn, kinds=(GENESIS, KEY_ADD)),
        checkpoints,
        jobs=jobs,
        on_entry=on_entry,
        on_progress=on_progress,
        columns=store.iter_columns(conn),
        tree=tree,
        kept=kept,
        lazy_kinds=lazy_kinds,
    )
    report.problems.extend(tree.problems(report.size))
    report.problems.extend(_created_problems(stored, report.times))
    report.problems.extend(Problem(None, p) for p in store.trigger_problems(conn))
    return report


_CREATED_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


def _created_problems(stored: Sequence[StoredCheckpoint], times: dict[int, str]) -> list[Problem]:
    """A checkpoint row is written after the entries it covers: its `created` time is a timestamp no
    earlier than its last entry's time (the only column of the row that no signature covers)."""
    found = []
    for cp in stored:
        last = times.get(cp.size)
        if not _CREATED_RE.fullmatch(cp.created) or (last is not None and cp.created < last):
            found.append(
                Problem(
                    None,
                    f"checkpoint {cp.size}: its stored created time {cp.created!r} is not a time after its "
                    "last entry: the checkpoints table was changed outside patentpool",
                )
            )
    return found


def verify_rows(
    rows: Iterable[tuple[int, bytes]],
    key_rows: Iterable[tuple[int, bytes]],
    checkpoints: Sequence[tuple[int, bytes | None, str]],
    jobs: int = 1,
    on_entry: OnEntry | None = None,
    on_progress: Callable[[int], None] | None = None,
    columns: Iterable[Columns] | None = None,
    tree: TreeCheck | None = None,
    kept: Sequence[tuple[str, str]] = (),
    lazy_kinds: frozenset[str] = frozenset(),
) -> Report:
    """Verify a ledger given as (position, raw bytes) rows, e.g. a database or an export file, against
    signed checkpoints (size, stored root or None, note); a database's rows also come with their stored
    index `columns` (in the same order) and its stored Merkle nodes (`tree`), both checked as well.

    Entries of `lazy_kinds` reach `on_entry` with their bodies unparsed (`LazyBody`), as large entries do:
    the caller proves them by comparing bytes it builds (`LazyBody.same_as`), up to the next entry of
    another kind (an allocation's parts, proven when their summary comes); any it has not proven by then is
    parsed strictly here."""
    report = Report()
    return_large_blocks()  # before the workers fork: they inherit it
    origin, candidates = _candidate_keys(key_rows)
    stored_sizes = {size for size, _root, _note in checkpoints} | {_claimed_size(n) for _name, n in kept}
    stream = _checked_stream(rows, origin, candidates, jobs, lazy_kinds)
    walk = _Walk(report, stored_sizes, tree, on_entry, on_progress, lazy_kinds)
    walk.run(stream, iter(columns) if columns is not None else None)
    if on_progress is not None and walk.compact.size % 1000:
        on_progress(walk.compact.size % 1000)  # the rows after the last thousand
    report.size = walk.compact.size
    report.root = walk.compact.root()
    if walk.ring is None:
        report.problems.append(Problem(None, "no valid genesis entry: cannot check keys or checkpoints"))
        return report
    report.checkpoints = _check_checkpoints(checkpoints, walk.ring, walk.roots, report)
    _check_kept(kept, {size for size, _root, _note in checkpoints}, walk.ring, walk.roots, report)
    return report


class _Walk:
    """The one pass in seq order over the checked entries: chain, keys, index columns, stored nodes, the
    caller's replay. Its loop stays one function so that no call is added per entry."""

    def __init__(
        self,
        report: Report,
        stored_sizes: set[int],
        tree: TreeCheck | None,
        on_entry: OnEntry | None,
        on_progress: Callable[[int], None] | None,
        lazy_kinds: frozenset[str] = frozenset(),
    ) -> None:
        self.report, self.stored_sizes, self.tree = report, stored_sizes, tree
        self.on_entry, self.on_progress = on_entry, on_progress
        self.lazy_kinds = lazy_kinds
        self.unproven: list[Entry] = []  # lazy bodies the caller may still prove
        self.compact = merkle.CompactRange.empty()
        self.roots: dict[int, bytes] = {}  # the root at each checkpoint size
        self.ring: Keyring | None = None

    def run(
        self, stream: Iterable[tuple[Checked, Entry | None]], stored_columns: Iterator[Columns] | None
    ) -> None:
        """Check every entry of `stream`, in order, into the report."""
        report, compact, roots, stored_sizes = self.report, self.compact, self.roots, self.stored_sizes
        tree, on_entry, on_progress = self.tree, self.on_entry, self.on_progress
        ring: Keyring | None = None
        prev_seq, prev_hash, prev_time = 0, ZERO_HASH, ""
        for done, (checked, entry) in enumerate(stream, 1):
            position = checked.position
            made = compact.append(checked.leaf)
            if tree is not None:
                tree.created(made)
            if stored_columns is not None and entry is not None:
                row_columns = next(stored_columns, None)
                while row_columns is not None and row_columns[0] < position:
                    row_columns = next(stored_columns, None)
                differ = _column_problem(position, row_columns, checked, entry)
                if differ is not None:
                    report.problems.append(differ)
            if compact.size in stored_sizes:
                roots[compact.size] = compact.root()
                if entry is not None:
                    report.times[compact.size] = entry.time
            if on_progress is not None and done % 1000 == 0:
                on_progress(1000)
            problems = check_one(position, checked, entry, prev_seq, prev_hash, prev_time, ring)
            report.problems.extend(problems)
            if entry is not None:
                if entry.seq == 1 and entry.kind == GENESIS and ring is None:
                    ring = _genesis_ring(entry, position, report)  # once
                elif not problems and ring is not None:
                    try:
                        ring.apply(entry.seq, entry.kind, entry.body)
                    except KeyringError as exc:
                        report.problems.append(Problem(entry.seq, str(exc)))
                malformed: EntryError | None = None
                if not problems and on_entry is not None:
                    try:
                        found = list(on_entry(entry, checked.hash))
                    except EntryError as exc:  # the caller read a large body that is not well-formed
                        found, malformed = [], exc
                    report.problems.extend(Problem(entry.seq, msg) for msg in found)
                if malformed is not None:
                    report.problems.append(Problem(entry.seq, f"malformed entry: {malformed}"))
                if self.unproven or isinstance(entry.body, LazyBody):
                    self._settle(entry, malformed is None)
                prev_seq, prev_time = entry.seq, entry.time
            else:
                prev_seq = position
            prev_hash = checked.hash.hex()
        self.ring = ring
        self._settle(None)

    def _settle(self, entry: Entry | None, read: bool = True) -> None:
        """Parse strictly each lazy body the caller has not proven: at once for a large entry of another
        kind, at the next entry of another kind (or the end) for one of `lazy_kinds`."""
        if entry is not None and isinstance(entry.body, LazyBody) and read:
            self.unproven.append(entry)
        if entry is not None and entry.kind in self.lazy_kinds:
            return
        for waiting in self.unproven:
            assert isinstance(waiting.body, LazyBody)
            if not waiting.body.checked:
                malformed = _unread_body(waiting.body)
                if malformed is not None:
                    self.report.problems.append(Problem(waiting.seq, f"malformed entry: {malformed}"))
        self.unproven = []


def _genesis_ring(entry: Entry, position: int, report: Report) -> Keyring | None:
    """The keyring the genesis entry founds, or None with the problem reported."""
    try:
        return Keyring.from_genesis(entry.body)
    except KeyringError as exc:
        report.problems.append(Problem(position, f"genesis: {exc}"))
        return None


def _unread_body(body: LazyBody) -> EntryError | None:
    """Parse strictly a large body neither proven by the caller's comparison nor read: the error, if any."""
    try:
        body.check()
    except EntryError as exc:
        return exc
    return None


def _claimed_size(note: str) -> int:
    """The tree size a note says it signs (its second line), before it is verified; -1 if none."""
    lines = note.split("\n")
    text = lines[1] if len(lines) > 1 else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 19 else -1


def _check_kept(
    kept: Sequence[tuple[str, str]],
    stored_sizes: set[int],
    ring: Keyring,
    roots: dict[int, bytes],
    report: Report,
) -> None:
    """Checkpoints someone kept: one the pool's key signed must be in this ledger (see ledger.kept)."""
    for name, note in kept:
        try:
            signed = verify_checkpoint(note, ring.root, ring.origin)
        except ValueError as exc:
            report.problems.append(Problem(None, f"{name}: not a checkpoint this pool's key signed ({exc})"))
            continue
        if signed.size > report.size:
            report.problems.append(Problem(None, kept_messages.rollback(name, signed.size, report.size)))
        elif roots.get(signed.size) != signed.root:
            report.problems.append(Problem(None, kept_messages.fork(name, signed.size)))
        elif signed.size not in stored_sizes:
            report.problems.append(Problem(None, kept_messages.row_missing(name, signed.size)))
        else:
            report.kept += 1


def check_one(
    position: int,
    checked: Checked,
    entry: Entry | None,
    prev_seq: int,
    prev_hash: str,
    prev_time: str,
    ring: Keyring | None,
) -> list[Problem]:
    if entry is None:
        return [Problem(position, checked.error or "malformed entry")]
    problems: list[Problem] = []
    seq = entry.seq
    if seq != position:
        problems.append(Problem(position, f"stored at seq {position} but the entry says seq {seq}"))
    if seq != prev_seq + 1:
        problems.append(Problem(seq, f"follows seq {prev_seq}: entries missing, repeated or out of order"))
    if entry.prev != prev_hash:
        problems.append(Problem(seq, "prev is not the hash of the entry before it: the chain is broken"))
    if entry.time < prev_time:
        problems.append(Problem(seq, f"time {entry.time} is earlier than the entry before it ({prev_time})"))
    if seq == 1 and entry.kind == GENESIS:
        try:
            root = Keyring.from_genesis(entry.body).root
        except KeyringError as exc:
            return [*problems, Problem(seq, f"genesis: {exc}")]
        if entry.author != root.keyid_string or checked.signer != root.public:
            problems.append(Problem(seq, "genesis is not signed by the root key it names"))
        return problems
    if entry.kind == GENESIS:
        problems.append(Problem(seq, "a second genesis entry"))
        return problems
    if ring is None:
        problems.append(Problem(seq, "no valid genesis before this entry"))
        return problems
    try:
        vkey = ring.check_author(seq, entry.author, entry.kind)
    except KeyringError as exc:
        problems.append(Problem(seq, str(exc)))
        return problems
    if checked.signer != vkey.public:
        problems.append(Problem(seq, f"signature does not verify under the author key {entry.author}"))
    return problems


def _check_checkpoints(
    checkpoints: Sequence[tuple[int, bytes | None, str]],
    ring: Keyring,
    roots: dict[int, bytes],
    report: Report,
) -> int:
    if not checkpoints:
        report.problems.append(Problem(None, "no signed checkpoint is stored"))
        return 0
    for size, root, note in checkpoints:
        try:
            signed = verify_checkpoint(note, ring.root, ring.origin)
        except ValueError as exc:
            report.problems.append(Problem(None, f"checkpoint {size}: signature or form: {exc}"))
            continue
        if signed.size != size or (root is not None and signed.root != root):
            report.problems.append(
                Problem(None, f"checkpoint {size}: stored row differs from its signed note")
            )
        if signed.size > report.size:
            report.problems.append(
                Problem(
                    report.size + 1,
                    f"checkpoint {signed.size} was signed but the ledger holds only {report.size} entries: "
                    "the tail was removed: a POSSIBLE ROLLBACK of entries the pool signed",
                )
            )
        elif roots.get(signed.size) != signed.root:
            report.problems.append(
                Problem(None, f"checkpoint {signed.size}: the stored entries do not hash to its signed root")
            )
    latest = max(size for size, _root, _note in checkpoints)
    if latest < report.size:
        report.problems.append(
            Problem(latest + 1, f"entries after the latest checkpoint ({latest}) are not signed for")
        )
    return len(checkpoints)
