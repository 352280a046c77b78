"""`verify`: the ledger's checks (ledger.verify) plus the pool's: replay every rule, recompute allocations."""

from __future__ import annotations

import base64
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice, takewhile
from pathlib import Path
from typing import Any

from ledger.checkpoint import verify_checkpoint
from ledger.cosigned import check_stored
from ledger.entry import Entry, EntryError, decode, entry_hash
from ledger.errors import LedgerError
from ledger.keyring import GENESIS, KEY_ADD, Keyring
from ledger.log import load_keyring
from ledger.memory import paused_gc
from ledger.store import Store
from ledger.verify import Problem, Report, verify_rows, verify_store
from patentpool import subjects
from patentpool.audit import LAZY_KINDS, PoolChecker
from patentpool.service import PoolError, stored_history


def _summary(report: Report, checker: PoolChecker) -> dict[str, Any]:
    report.problems += [Problem(seq, message) for seq, message in checker.unfinished()]
    return {
        "entries": report.size,
        "root": base64.b64encode(report.root).decode(),
        "checkpoints": report.checkpoints,
        "allocations_recomputed": checker.allocations,
        "members": len(checker.state.members),
        "patents": len(checker.state.patents),
        "result": "ok" if report.ok else f"{len(report.problems)} problem(s)",
        "problems": [str(p) for p in report.problems],
    }


class SubjectCheck:
    """The subjects stored beside the entries (schema 0003) against what each entry's kind and body make them
    (`subjects.subject_of`): a wrong subject would hide a fact from the staleness check. Entries stored
    with no subject are read by their bytes, so NULL is never wrong. Kept as arrays: O(entries) small ints."""

    def __init__(self) -> None:
        self.seqs = array("q")
        self.ids = array("l")  # index into names, -1 for no subject
        self.names: dict[str, int] = {}

    def __call__(self, entry: Entry, _hash: bytes) -> Iterable[str]:
        subject = subjects.subject_of(entry.kind, entry.body)
        self.seqs.append(entry.seq)
        self.ids.append(-1 if subject is None else self.names.setdefault(subject, len(self.names)))
        return ()

    def problems(self, stored: Iterable[tuple[int, str]], limit: int = 20) -> list[Problem]:
        by_id = list(self.names)
        found: list[Problem] = []
        at = 0
        for seq, subject in stored:
            at = bisect_left(self.seqs, seq, at)
            if at == len(self.seqs) or self.seqs[at] != seq:
                continue  # an entry the checks refused: its problem is reported already
            made = None if self.ids[at] < 0 else by_id[self.ids[at]]
            if subject != made:
                found.append(Problem(seq, f"stored subject {subject!r} is not the entry's ({made!r})"))
                if len(found) == limit:
                    break
        return found


def verify_database(
    url: str, jobs: int, tick: Callable[[int], None], kept: Sequence[tuple[str, str]] = ()
) -> dict[str, Any]:
    """Verify the database; `kept` (name, note) are checkpoints someone kept, which it must contain."""
    store = Store(url)
    # The replay builds a large state and no cycles: collections would walk it again and again.
    with store.reader() as conn, paused_gc():
        checker = PoolChecker(stored_history(store, conn))
        subjects = SubjectCheck()

        def on_entry(entry: Entry, entry_hash: bytes) -> Iterable[str]:
            subjects(entry, entry_hash)
            return checker(entry, entry_hash)

        report = verify_store(
            store, conn, jobs=jobs, on_entry=on_entry, on_progress=tick, kept=kept, lazy_kinds=LAZY_KINDS
        )
        report.problems += subjects.problems(store.subjects(conn))
        report.problems += [Problem(None, p) for p in _cosignature_problems(store, conn)]
    data = _summary(report, checker)
    if kept:
        data["kept_checkpoints_contained"] = report.kept
    return data


def _cosignature_problems(store: Store, conn: Any) -> list[str]:
    """The witnesses' stored cosignatures, each checked against its checkpoint and key (ledger.cosigned)."""
    try:
        ring = load_keyring(store, conn)
    except LedgerError:
        return []  # no usable genesis or key entries: verify_store has said so
    return check_stored(store, conn, ring)


def _file_rows(path: Path, kinds: tuple[str, ...] | None = None) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        for position, line in enumerate(handle, 1):
            raw = line.rstrip(b"\n")
            if kinds is not None:
                try:
                    if decode(raw).kind not in kinds:
                        continue
                except EntryError:
                    continue
            yield position, raw


def _file_history(path: Path) -> Callable[[int, int], Iterator[tuple[int, str, bytes, bytes]]]:
    """`PoolState.history` over an export: line N holds seq N (the verification checks that as it goes)."""

    def rows(since: int, until: int) -> Iterator[tuple[int, str, bytes, bytes]]:
        for position, raw in _file_rows(path):
            if position > until:
                return
            if position >= since:
                yield position, decode(raw).kind, raw, entry_hash(raw)

    return rows


def verify_export(
    path: Path,
    checkpoint_note: str,
    jobs: int,
    tick: Callable[[int], None],
    checkpoint_name: str = "checkpoint",
    prefix: bool = False,
    kept: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Verify an export file against a signed checkpoint, trusting only the root key its genesis names;
    the checkpoint must be signed by that key, so the caller should compare it with the pool's known key.
    `checkpoint_name` (the checkpoint's file) is named in errors about the checkpoint. With `prefix` (a
    witness cosigning an older checkpoint than the export's) only the tree the checkpoint signs is verified,
    and entries past it are not read."""
    first = next(_file_rows(path), None)
    if first is None:
        raise PoolError(f"{path}: empty export")
    try:
        ring = Keyring.from_genesis(decode(first[1]).body)
    except (EntryError, ValueError) as exc:
        raise PoolError(f"{path}: {exc}") from exc
    try:
        signed = verify_checkpoint(checkpoint_note, ring.root, ring.origin)
    except ValueError as exc:
        # A malformed note, or one not signed by the root key of the export's genesis: either way it is the
        # checkpoint the user gave that does not fit.
        raise PoolError(f"{checkpoint_name}: {exc}") from exc
    checker = PoolChecker(_file_history(path))
    rows: Iterator[tuple[int, bytes]] = _file_rows(path)
    key_rows: Iterator[tuple[int, bytes]] = _file_rows(path, (GENESIS, KEY_ADD))
    if prefix:
        rows = islice(rows, signed.size)
        key_rows = takewhile(lambda row: row[0] <= signed.size, key_rows)
    with paused_gc():
        report = verify_rows(
            rows,
            key_rows,
            [(signed.size, None, checkpoint_note)],
            jobs=jobs,
            on_entry=checker,
            on_progress=tick,
            kept=kept,
            lazy_kinds=LAZY_KINDS,
        )
    data = _summary(report, checker)
    data["root_key"] = str(ring.root)
    if kept:
        data["kept_checkpoints_contained"] = report.kept
    return data
