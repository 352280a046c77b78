"""Large entries (`ledger.entry.is_large`) in `verify`: the signature workers check the entry around the
body (`decode_large`) and the body is checked in the main process, by byte equality with bytes the caller
built (`LazyBody.same_as`) or by a strict parse. Whatever the path, exactly the spellings `decode` rejects
are rejected: the size threshold is lowered to 0 here so that small entries take the large path."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_support import jcs, seeded_key, sign_entry, sign_raw, signed_genesis
from test_ledger_entry import REJECTED, VALID_RAW

import ledger.entry
from ledger import merkle
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.entry import (
    ZERO_HASH,
    Entry,
    EntryError,
    LazyBody,
    decode,
    decode_large,
    encode_checked,
    entry_hash,
    signing_message,
    signing_message_of_raw,
    unsigned_from_raw,
)
from ledger.verify import OnEntry, verify_rows

ORIGIN = "pool.example/large"
KEY = seeded_key(ORIGIN, 3)
TIME = "2026-01-31T09:00:00.000000Z"


@pytest.fixture(autouse=True)
def every_entry_is_large(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(ledger.entry, "LAZY_BODY", 0)
    yield


def _read(entry: Entry) -> dict[str, object]:
    body = entry.body
    if isinstance(body, LazyBody):
        body.check()
        return dict(body)
    return dict(body)


# --- decode_large rejects what decode rejects, and reads what decode reads -------------------------------
@pytest.mark.parametrize("case", sorted(REJECTED))
def test_decode_large_rejects_what_decode_rejects(case: str) -> None:
    mutate, message = REJECTED[case]
    raw = mutate(VALID_RAW)
    with pytest.raises(EntryError, match=message):
        _read(decode_large(raw))  # at once, or when the body is checked


def test_a_valid_large_entry_leaves_its_body_as_bytes() -> None:
    entry = decode_large(VALID_RAW)
    assert isinstance(entry.body, LazyBody) and not entry.body.checked
    assert entry.body.canonical == jcs(json.loads(VALID_RAW)["body"])
    assert _read(entry) == decode(VALID_RAW).body
    assert entry.body.checked


@pytest.mark.parametrize(
    "author",
    ['a","body":{}', 'x\\"body\\":{}', '"body":', '\u00e9"body":{},"kind":"x'],
    ids=["quoted-body-member", "backslashes", "body-key", "kind-look-alike"],
)
def test_an_author_that_spells_a_body_member_is_read_right(author: str) -> None:
    # The split looks for the first `"body":`; an author string holding that text must not fool it.
    entry = sign_entry(KEY, ORIGIN, seq=2, prev=ZERO_HASH, body={"n": 1}, time=TIME, author=author)
    raw = entry.encode()
    large = decode_large(raw)
    assert (large.author, _read(large)) == (author, {"n": 1})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(0, 2**53 - 1) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(body=st.dictionaries(st.text(max_size=8), json_values, max_size=5), author=st.text(min_size=1))
def test_decode_large_reads_what_decode_reads(body: dict[str, object], author: str) -> None:
    try:
        raw = sign_entry(KEY, ORIGIN, seq=2, prev=ZERO_HASH, body=body, time=TIME, author=author).encode()
        expected = decode(raw)
    except (EntryError, UnicodeEncodeError):
        return  # not a valid entry (e.g. text not NFC): covered by the rejection table
    large = decode_large(raw)
    assert (large.author, large.kind, large.seq, large.sig) == (
        expected.author,
        expected.kind,
        expected.seq,
        expected.sig,
    )
    assert _read(large) == expected.body


def test_same_as_proves_only_equal_bytes() -> None:
    body = LazyBody(b'{"n":1}')
    assert not body.same_as(b'{"n": 1}') and not body.checked
    assert body.same_as(encode_checked({"n": 1})) and body.checked
    assert body._value is None  # proven without a parse


# --- verify: signed but malformed large entries ----------------------------------------------------------
def _ledger(second: bytes) -> list[bytes]:
    return [signed_genesis(KEY, ORIGIN, TIME), second]


def _verify(raws: list[bytes], jobs: int, on_entry: OnEntry | None = None) -> list[str]:
    root = merkle.root_of([merkle.leaf_hash(r) for r in raws])
    note = sign_checkpoint(Checkpoint(ORIGIN, len(raws), root), KEY)
    rows = list(enumerate(raws, 1))
    return [str(p) for p in verify_rows(rows, rows, [(len(raws), root, note)], jobs, on_entry).problems]


def _second(body: bytes) -> bytes:
    prev = entry_hash(_ledger(b"")[0]).hex()
    good = sign_entry(KEY, ORIGIN, seq=2, prev=prev, body={"n": 1, "text": "x"}, time=TIME).encode()
    return sign_raw(good.replace(b'{"n":1,"text":"x"}', body), KEY, ORIGIN)


BODY_FAULTS = {
    "fraction": (b'{"n":1.0,"text":"x"}', "fraction or exponent"),
    "too-large": (b'{"n":9007199254740992,"text":"x"}', "outside 0 <= n < 2"),
    "minus-zero": (b'{"n":-0,"text":"x"}', "canonical"),
    "space": (b'{"n": 1,"text":"x"}', "canonical"),
    "key-order": (b'{"text":"x","n":1}', "canonical"),
    "duplicate": (b'{"n":1,"n":1,"text":"x"}', "duplicate key 'n'"),
    "escape": (b'{"n":1,"text":"\\u0078"}', "canonical"),
    "not-nfc": ('{"n":1,"text":"e\u0301"}'.encode(), "NFC"),
    "surrogate": (b'{"n":1,"text":"\\ud800"}', "surrogate|canonical"),
    "array": (b"[1]", "body"),
}


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("case", sorted(BODY_FAULTS))
def test_a_signed_large_entry_with_a_malformed_body_fails_verify(case: str, jobs: int) -> None:
    body, message = BODY_FAULTS[case]
    problems = _verify(_ledger(_second(body)), jobs)
    assert len(problems) == 1 and problems[0].startswith("seq 2: malformed entry: "), problems
    assert re.search(message, problems[0]), problems


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_caller_reading_a_malformed_body_gets_a_problem_not_a_crash(jobs: int) -> None:
    seen: list[str] = []

    def reads_body(entry: Entry, _hash: bytes) -> list[str]:
        seen.append(str(entry.body.get("text")))
        return []

    problems = _verify(_ledger(_second(b'{"n":1.5,"text":"x"}')), jobs, reads_body)
    assert problems == ["seq 2: malformed entry: number 1.5 has a fraction or exponent"]
    assert seen == ["None"]  # the genesis only: the malformed body never reached the caller


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_body_proven_by_the_caller_is_never_parsed(jobs: int) -> None:
    proven: list[bool] = []

    def compares(entry: Entry, _hash: bytes) -> list[str]:
        if isinstance(entry.body, LazyBody) and entry.seq == 2:
            proven.append(entry.body.same_as(encode_checked({"n": 1, "text": "x"})))
            proven.append(entry.body._value is None)
        return []

    assert _verify(_ledger(_second(b'{"n":1,"text":"x"}')), jobs, compares) == []
    assert proven == [True, True]


def test_the_signing_message_of_stored_bytes_is_the_signed_message() -> None:
    raw = VALID_RAW
    sig = json.loads(raw)["sig"]
    expected = signing_message(ORIGIN, unsigned_from_raw(raw, sig))
    assert signing_message_of_raw(ORIGIN, raw, sig) == expected
    with pytest.raises(EntryError, match="sig member not found"):
        signing_message_of_raw(ORIGIN, raw, "A" * 86 + "==")
