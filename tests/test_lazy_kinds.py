"""`verify_rows(lazy_kinds=...)`: entries of those kinds reach the caller with their bodies unparsed, however
small (an allocation's parts); the caller proves them by bytes up to the next entry of another kind (their
summary), and any it has not proven by then is parsed strictly, so a malformed one is still reported."""

from __future__ import annotations

import pytest
from ledger_support import seeded_key, sign_entry, sign_raw, signed_genesis

from ledger import merkle
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.entry import Entry, LazyBody, decode_large, encode_checked, entry_hash
from ledger.verify import OnEntry, verify_rows

ORIGIN = "pool.example/lazy"
KEY = seeded_key(ORIGIN, 5)
PART = "x.part"
LAZY = frozenset({PART})


def _chain(specs: list[tuple[str, bytes | None]]) -> list[bytes]:
    """A signed ledger: a genesis, then an entry per (kind, body bytes) (None: the body {"n": seq})."""
    raws = [signed_genesis(KEY, ORIGIN)]
    for seq, (kind, body) in enumerate(specs, 2):
        prev = entry_hash(raws[-1]).hex()
        raw = sign_entry(KEY, ORIGIN, seq=seq, prev=prev, kind=kind, body={"n": seq}).encode()
        if body is not None:
            raw = sign_raw(raw.replace(b'{"n":%d}' % seq, body), KEY, ORIGIN)
        raws.append(raw)
    return raws


def _verify(raws: list[bytes], on_entry: OnEntry, jobs: int = 1) -> list[str]:
    root = merkle.root_of([merkle.leaf_hash(r) for r in raws])
    note = sign_checkpoint(Checkpoint(ORIGIN, len(raws), root), KEY)
    rows = list(enumerate(raws, 1))
    report = verify_rows(rows, rows, [(len(raws), root, note)], jobs, on_entry, lazy_kinds=LAZY)
    return [str(p) for p in report.problems]


def test_a_small_entry_of_a_lazy_kind_keeps_its_body_as_bytes() -> None:
    part, other = _chain([(PART, None), ("x.sum", None)])[1:]
    assert isinstance(decode_large(part, LAZY).body, LazyBody)
    assert not isinstance(decode_large(part).body, LazyBody)
    assert not isinstance(decode_large(other, LAZY).body, LazyBody)


@pytest.mark.parametrize("jobs", [1, 2])
def test_parts_proven_when_their_summary_comes_are_never_parsed(jobs: int) -> None:
    pending: list[Entry] = []
    seen: list[tuple[bool, bool]] = []

    def proves_at_summary(entry: Entry, _hash: bytes) -> list[str]:
        if entry.kind == PART:
            pending.append(entry)
        elif entry.kind == "x.sum":
            for part in pending:
                assert isinstance(part.body, LazyBody)
                seen.append((part.body.same_as(encode_checked({"n": part.seq})), part.body._value is None))
        return []

    assert _verify(_chain([(PART, None), (PART, None), ("x.sum", None)]), proves_at_summary, jobs) == []
    assert seen == [(True, True), (True, True)]


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_unproven_malformed_part_is_reported_at_its_seq(jobs: int) -> None:
    raws = _chain([(PART, None), (PART, b'{"n":1.5}'), ("x.sum", None), (PART, b'{"n": 5}')])
    problems = _verify(raws, lambda _entry, _hash: [], jobs)
    assert problems == [
        "seq 3: malformed entry: number 1.5 has a fraction or exponent",
        "seq 5: malformed entry: bytes are not the entry's RFC 8785 canonical form",
    ]
