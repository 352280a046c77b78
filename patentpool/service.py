"""The pool's I/O edge: opens the ledger, loads keys, replays the state, validates and appends.

Commands call `PoolService.write()` for one all-or-nothing batch: the writer lock is taken, the state is
replayed inside the same transaction (so two administrators never validate against a stale state), every new
entry is validated against the state as it grows, and the batch commits with its signed checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from ledger.entry import Entry, decode_trusted, entry_hash
from ledger.keys import SigningKey, load_key, passphrase_from_env_or_prompt
from ledger.log import Appender, Ledger, Reader, read_signed
from ledger.memory import paused_gc
from ledger.store import Store
from patentpool import rules, subjects, voids
from patentpool.errors import PoolError as PoolError  # the package root, raised as such here
from patentpool.fields import FieldError
from patentpool.state import PoolState

Progress = Callable[[int], None]


def replay_raw(
    rows: Iterable[tuple[int, str, bytes, bytes]],
    on_progress: Progress | None = None,
    bodies: dict[int, dict[str, Any]] | None = None,
    shares_of: str | None = None,
    void_entries: Mapping[int, voids.Ranges] | None = None,
    stored_subjects: Iterator[tuple[int, str]] | None = None,
) -> PoolState:
    """Replay (seq, kind, raw, h(raw)) rows into a new state; `bodies`, if given, keeps the whole allocation
    bodies met on the way (for a replay filtered to one period, where they are few and a statement needs
    them); `shares_of` names the member a statement is read for. `void_entries`
    are every entry.void of the ledger (`void_entries`): the entries they void are skipped, as never made.
    `stored_subjects` (a writer's whole replay: `Store.subjects`) are checked against the entries'."""
    subjects_met = _StoredSubjects(stored_subjects) if stored_subjects is not None else None
    state = PoolState()
    if void_entries:
        state.voids = dict(void_entries)
        state.voided = voids.effective(void_entries)
    voided = state.voided
    state.replaying = True  # entry.void entries only record themselves: what they void is skipped
    with paused_gc():  # a replay builds the state's many objects, and no cycles
        for count, (seq, _kind, raw, h) in enumerate(rows, 1):
            if voided and seq in voided:
                state.size = seq
                continue
            try:
                entry = decode_trusted(raw)
            except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
                raise PoolError(
                    f"seq {seq}: the stored entry is not readable ({exc}); run `patentpool verify`"
                ) from exc
            if subjects_met is not None:
                subjects_met.check(seq, entry)
            if bodies is not None and entry.kind.startswith("allocation."):
                bodies[seq] = dict(entry.body)
            try:
                rules.apply(state, entry, h.hex(), check=False)
            except (FieldError, KeyError, ValueError) as exc:
                raise PoolError(f"seq {seq}: {entry.kind}: {exc}; run `patentpool verify`") from exc
            if on_progress is not None and count % 1000 == 0:
                on_progress(1000)
    state.replaying = False
    return state


class _StoredSubjects:
    """The subjects stored beside the entries, met in seq order as a writer replays the ledger: like the kind
    column (which the whole read checks), a subject chooses what partial reads see, so a writer refuses to
    sign over one that is not its entry's (`subjects.subject_of`; a missing one is never wrong)."""

    def __init__(self, pairs: Iterator[tuple[int, str]]) -> None:
        self.pairs = pairs
        self.head = next(pairs, None)

    def check(self, seq: int, entry: Entry) -> None:
        while self.head is not None and self.head[0] < seq:  # a voided entry's, skipped by the replay
            self.head = next(self.pairs, None)
        if self.head is None or self.head[0] != seq:
            return
        made = subjects.subject_of(entry.kind, entry.body)
        if self.head[1] != made:
            raise PoolError(
                f"seq {seq}: the stored subject {self.head[1]!r} is not the entry's ({made!r}): the database "
                "was changed outside patentpool; run `patentpool verify`"
            )


VOID_KINDS = ("entry.void",)


def void_entries(rows: Iterable[tuple[int, str, bytes, bytes]]) -> dict[int, voids.Ranges]:
    """The ranges of every entry.void among signed rows (read through the kind index: a ledger with no void
    costs one empty index look-up)."""
    out = {}
    for seq, _kind, raw, _h in rows:
        try:
            out[seq] = voids.body_ranges(decode_trusted(raw).body.get("seqs"))
        except (ValueError, KeyError, TypeError) as exc:
            raise PoolError(f"seq {seq}: entry.void: {exc}; run `patentpool verify`") from exc
    return out


def stored_history(
    store: Store, conn: Connection, before: Callable[[], None] | None = None
) -> Callable[[int, int], Iterator[tuple[int, str, bytes, bytes]]]:
    """`PoolState.history` over a connection whose stored entries were checked when the state was replayed
    (`before` runs first: a writer flushes the entries it holds back)."""

    def rows(since: int, until: int) -> Iterator[tuple[int, str, bytes, bytes]]:
        if before is not None:
            before()
        for seq, kind, raw in store.iter_entries(conn, since=since, until=until):
            yield seq, kind, raw, entry_hash(raw)

    return rows


# What invoices, statements and reconciliation read: a replay of just these kinds (by the kind index) is
# enough for them, and stays fast however many patents and reports the ledger holds.
BOOK_KINDS = (
    "pool.genesis",
    "member.add",
    "member.update",
    "program.add",
    "program.amend",
    "payment.add",
    "distribution.add",
    "allocation.part",
    "allocation.run",
    "allocation.adjust",
)


def replay(
    store: Store,
    conn: Connection,
    rows: Iterable[tuple[int, str, bytes, bytes]],
    on_progress: Progress | None = None,
    keep_allocations: bool = False,
    shares_of: str | None = None,
    void_entries: Mapping[int, voids.Ranges] | None = None,
    stored_subjects: Iterator[tuple[int, str]] | None = None,
) -> PoolState:
    """Replay rows checked against the signed checkpoint (`Reader.signed_rows`, `Appender.signed_rows`)
    into a state that can load any entry's body from this connection; `keep_allocations` keeps the
    allocation bodies met (a replay filtered to one period), with only the share rows of `shares_of` if
    given."""
    kept: dict[int, dict[str, Any]] | None = {} if keep_allocations else None
    state = replay_raw(rows, on_progress, kept, shares_of, void_entries, stored_subjects)
    state.shares_of = shares_of
    state.history = stored_history(store, conn)

    def load_body(seq: int) -> dict[str, Any]:
        if kept is not None and seq in kept:
            return kept[seq]
        raw = store.raw_entry(conn, seq)
        if raw is None:
            raise PoolError(f"no entry at seq {seq}")
        return dict(decode_trusted(raw).body)

    state.load_body = load_body
    return state


def only_period(period: str) -> dict[str, bytes]:
    """Needles (see `replay`) keeping the allocation entries of one period only, found in the bytes without
    decoding them (an allocation body can run to many megabytes). JCS orders body keys, so the period is
    always followed by the policy."""
    marker = f'"period":"{period}","policy":'.encode()
    # A part's keys sort "period" just before "program".
    return {"allocation.run": marker, "allocation.adjust": marker, "allocation.part": part_marker(period)}


def part_marker(period: str) -> bytes:
    return f'"period":"{period}","program":'.encode()


def licensee_needles(licensee: str) -> dict[str, bytes]:
    """Of the members and payments, only `licensee`'s own (an invoice's)."""
    kinds = ("member.add", "member.update", "payment.add")
    return {kind: subjects.party_needle(kind, licensee) for kind in kinds}


# What an invoice reads besides its period's summaries and its own parts (`read_period`).
INVOICE_KINDS = ("pool.genesis", "member.add", "member.update", "program.add", "program.amend", "payment.add")


def member_needles(member: str, names: bool = True) -> dict[str, bytes]:
    """Of the distributions, only `member`'s own (a statement's); of the members too unless `names` (a
    document names the licensees of its lines)."""
    kinds = ("distribution.add",) if names else ("distribution.add", "member.add", "member.update")
    return {kind: subjects.party_needle(kind, member) for kind in kinds}


def latest_summaries(
    reader: Reader, programs: Mapping[str, Any], period: str, program: str | None
) -> list[tuple[int, str, bytes, bytes]]:
    """The latest allocation summary of `period` of each program (or of `program`), searched newest first;
    the search stops once no program can have one further back (none precedes its program, and a program
    allocates by quarter or by half), so a recent period's read passes over few summaries."""
    from patentpool.periods import Period

    per = Period.parse(period)
    marker = only_period(period)["allocation.run"]
    # Each program still looked for, with the seq its search ends at.
    ends = {
        name: p.ref[0]
        for name, p in programs.items()
        if (program is None or name == program) and per.matches(p.period)
    }
    found = []
    for seq, kind in reader.newest_first(ALLOCATION_KINDS):
        ends = {name: end for name, end in ends.items() if end < seq}
        if not ends:
            break
        row = reader.signed_row(seq, kind, keep=lambda raw: marker in raw)
        of = None if row is None else allocation_program(row[2], period)
        if row is not None and of in ends:
            found.append(row)
            del ends[of]
    return found


def party_rows(
    reader: Reader, kinds: Sequence[str], party: str, needles: Mapping[str, bytes]
) -> list[tuple[int, str, bytes, bytes]]:
    """The signed rows of `kinds`, of a kind in `needles` only `party`'s own: found by their subject
    (`subjects.PARTY_KINDS`; by the needle in their bytes where stored with none), then held to the needle, so
    a row whose stored subject lies is dropped here as well as reported by `verify`."""
    by_subject = [kind for kind in kinds if kind in needles and kind in subjects.PARTY_KINDS]
    rows = list(reader.signed_rows(kinds=[kind for kind in kinds if kind not in by_subject], needles=needles))
    for kind in by_subject:
        rows += [row for row in reader.subject_rows(kind, party, needles[kind]) if needles[kind] in row[2]]
    return sorted(rows)


# What a statement reads besides its period's allocations: the members, and the programs it may cover.
STATEMENT_KINDS = (
    "pool.genesis",
    "member.add",
    "member.update",
    "program.add",
    "program.amend",
    "distribution.add",
)
ALLOCATION_KINDS = ("allocation.run", "allocation.adjust")


_POLICY_THEN_PROGRAM = rb'"(?:[^"\\]|\\.)*","program":"((?:[^"\\]|\\.)*)"'


def allocation_program(raw: bytes, period: str) -> str | None:
    """The program of an allocation entry if it allocates `period`, read from the bytes without decoding
    them: JCS orders body keys, so the program follows the period and the policy."""
    found = re.search(re.escape(only_period(period)["allocation.run"]) + _POLICY_THEN_PROGRAM, raw)
    return None if found is None else str(json.loads(b'"' + found.group(1) + b'"'))


def changed_after(reader: Reader, seq: int, program: str, period: Any) -> bool:
    """Whether an entry after `seq` could change the allocation of `program` and `period` (staleness.py),
    asked of the database's (kind, subject) index: a pool whose register grows after an allocation (patents
    of other programs) or whose next quarters' reports come in is not read entry by entry. Entries stored
    with no subject (before schema 0003) are searched by their bytes. True is only a reason to recompute."""
    from patentpool import staleness

    store, conn = reader.store, reader.conn
    # The body's bytes are JCS: `"program":"XR"` exactly as this spells it.
    spelled = json.dumps({"program": program}, ensure_ascii=False, separators=(",", ":"))
    program_needle = spelled[1:-1].encode()
    by_program = {
        "patent.add": program_needle,
        "program.amend": program_needle.replace(b"program", b"name", 1),
    }
    assert set(by_program) == set(subjects.PROGRAM_KINDS)
    other = sorted(set(rules.KINDS) - staleness.NEUTRAL_KINDS - subjects.REPORT_KINDS - set(by_program))
    if store.seqs_after(conn, seq, other, limit=1):
        return True
    for kind, needle in by_program.items():
        if store.seqs_after(conn, seq, [kind], needle, limit=1, subjects=[program]):
            return True
    inputs = {period.label, *(p.label for p in period.earlier_in_year())}
    named = [subjects.report_subject(program, label) for label in sorted(inputs)]
    reports = store.seqs_after(conn, seq, sorted(subjects.REPORT_KINDS), program_needle, subjects=named)
    for _seq, raw in store.raw_entries(conn, reports).items():
        body = decode_trusted(raw).body
        if body["program"] == program and body["period"] in inputs:
            return True
    return False


@dataclass
class Batch:
    """The entries of one command, validated one by one against the growing state."""

    state: PoolState
    appender: Appender
    entries: list[Entry] = field(default_factory=list)

    def add(self, kind: str, body: Mapping[str, Any]) -> Entry:
        rules.validate(self.state, kind, body)
        entry = self.appender.append(kind, body)
        rules.apply(self.state, entry, self.appender.appended[-1].hash.hex(), check=False)
        self.entries.append(entry)
        return entry

    def add_ref(self, kind: str, body: Mapping[str, Any]) -> tuple[int, str]:
        """`add`, returning the new entry's (seq, h) for a later entry that names it."""
        entry = self.add(kind, body)
        return entry.seq, self.appender.appended[-1].hash.hex()


_KEYS: dict[tuple[str, int, int, str], SigningKey] = {}


def load_signing_key(path: Path) -> SigningKey:
    if not path.exists():
        raise PoolError(f"no key file at {path}: give --key or set PATENTPOOL_KEY")
    passphrase = passphrase_from_env_or_prompt(confirm=False)
    stat = path.stat()
    # The slow KDF runs once per process and key file: a long-lived caller (tests, a library user) that
    # appends many times should not pay scrypt each time. The key stays in memory either way.
    cache_key = (
        str(path.resolve()),
        stat.st_mtime_ns,
        stat.st_ino,
        hashlib.sha256(passphrase.encode()).hexdigest(),
    )
    key = _KEYS.get(cache_key)
    if key is None:
        key = _KEYS[cache_key] = load_key(path, passphrase)
    return key


def open_ledger(db_url: str) -> Ledger:
    """The pool's ledger: each entry appended is stored with its subject (`subjects.subject_of`)."""
    return Ledger.open(db_url, subjects.subject_of)


class PoolService:
    def __init__(self, db_url: str, key_path: Path) -> None:
        self.db_url = db_url
        self.key_path = key_path
        self.ledger = open_ledger(db_url)
        self._key: SigningKey | None = None

    @property
    def store(self) -> Store:
        return self.ledger.store

    def key(self) -> SigningKey:
        if self._key is None:
            self._key = load_signing_key(self.key_path)
        return self._key

    def checkpoint_key(self) -> SigningKey | None:
        # Checkpoints are signed by the root key; an admin writing with its own key names the root key file.
        root_path = os.environ.get("PATENTPOOL_ROOT_KEY")
        return load_signing_key(Path(root_path)) if root_path else None

    @contextmanager
    def write(self, on_progress: Progress | None = None) -> Iterator[Batch]:
        key = self.key()
        with self.ledger.append(key, self.checkpoint_key()) as appender:
            found = (
                void_entries(read_signed(self.store, appender.conn, appender.base, kinds=VOID_KINDS))
                if appender.base is not None
                else {}
            )
            state = replay(
                self.store,
                appender.conn,
                appender.signed_rows(),
                on_progress,
                void_entries=found,
                stored_subjects=self.store.subjects(appender.conn),
            )
            state.history = stored_history(self.store, appender.conn, appender.flush)
            stored = state.load_body

            def load_body(seq: int) -> dict[str, Any]:
                # An entry of this batch (an allocation's parts, read back to pay them out) may not be
                # written yet: what is appended is flushed before it is read.
                if appender.base is None or seq > appender.base.size:
                    appender.flush()
                assert stored is not None
                return stored(seq)

            state.load_body = load_body
            yield Batch(state, appender)

    @contextmanager
    def read(
        self,
        on_progress: Progress | None = None,
        kinds: Sequence[str] | None = None,
        needles: Mapping[str, bytes] | None = None,
    ) -> Iterator[tuple[PoolState, Reader]]:
        """The replayed state (of only `kinds`, if given: a partial state) and a reader, in one snapshot."""
        with self.ledger.reader() as reader:
            found = void_entries(reader.signed_rows(kinds=VOID_KINDS))
            rows = reader.signed_rows(kinds=kinds, needles=needles)
            state = replay(
                self.store, reader.conn, rows, on_progress, needles is not None, void_entries=found
            )
            yield state, reader

    def refuse_stale(self, reader: Reader, state: PoolState, period: str, program: str | None) -> None:
        """Rule 13 for a command that replayed only part of the ledger (a statement, an invoice): if an entry
        that could change one of the period's allocations was appended after it, replay everything and
        recompute; else the allocation is fresh, and nothing more is read."""
        from patentpool import staleness
        from patentpool.periods import Period

        per = Period.parse(period)
        for (prog, label), records in sorted(state.allocations.items()):
            if label != per.label or (program is not None and prog != program):
                continue
            if changed_after(reader, records[-1].ref[0], prog, per):
                found = void_entries(reader.signed_rows(kinds=VOID_KINDS))
                full = replay(self.store, reader.conn, reader.signed_rows(), void_entries=found)
                staleness.refuse_stale(full, per, prog)

    @contextmanager
    def read_period(
        self,
        period: str,
        program: str | None = None,
        shares_of: str | None = None,
        licensee: str | None = None,
        names: bool = True,
    ) -> Iterator[tuple[PoolState, Reader]]:
        """A partial state for a statement of `period`: the members, the programs, and the latest allocation
        of the period of each program (or of `program`, `latest_summaries`), with only member `shares_of`'s
        part if given. With `licensee` (an invoice): the licensee's own member entry, payments and parts
        instead of the members, distributions and member parts. Without `names`, of the members only
        `shares_of` is read (a statement as data names no other member)."""
        with self.ledger.reader() as reader:
            # Every row read is checked against the checkpoint once, before the state is built from them.
            with reader.one_check():
                voids = void_entries(reader.signed_rows(kinds=VOID_KINDS))
                if licensee is not None:
                    base = party_rows(reader, INVOICE_KINDS, licensee, licensee_needles(licensee))
                elif shares_of is not None:
                    base = party_rows(reader, STATEMENT_KINDS, shares_of, member_needles(shares_of, names))
                else:
                    base = list(reader.signed_rows(kinds=STATEMENT_KINDS))
                found = latest_summaries(
                    reader, replay_raw(base, void_entries=voids).programs, period, program
                )
                # Of each summary's parts, only the party's own (spec 8a): nothing else is read.
                party, group = (licensee, "licensees") if licensee is not None else (shares_of, "members")
                wanted = []
                for row in found:
                    listed = decode_trusted(row[2]).body["parts"][group]
                    if party is not None and party in listed:
                        wanted.append(listed[party][0])
                parts = [reader.signed_row(seq, "allocation.part") for seq in wanted]
            rows = sorted(base + found + [r for r in parts if r is not None])
            state = replay(
                self.store, reader.conn, rows, keep_allocations=True, shares_of=shares_of, void_entries=voids
            )
            party = licensee if licensee is not None else shares_of
            if party is not None and party not in state.members:
                # A party's read holds no other member: the hint comes from the index of member ids.
                from patentpool import books

                raise books.unknown_member(party, self.store.subjects_of(reader.conn, "member.add"))
            yield state, reader
