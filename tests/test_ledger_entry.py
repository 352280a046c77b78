"""The v1 entry format (spec section 3): canonical bytes, strict decoding, signatures bound to the pool.

Pure functions, no database: a third party re-implementing the format must get exactly these bytes and
reject exactly these spellings.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from ledger_support import jcs, seeded_key, sign_entry

from ledger import merkle
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.entry import (
    SIG_DOMAIN,
    ZERO_HASH,
    Entry,
    EntryError,
    check_value,
    decode,
    entry_hash,
    signing_message,
)
from ledger.verify import verify_rows

ORIGIN = "pool.example/test"
OTHER_ORIGIN = "pool.example/other"
KEY = seeded_key(ORIGIN, 1)
TIME = "2026-01-31T09:00:00.000000Z"


def _genesis() -> Entry:
    body = {
        "name": "t",
        "currency": "USD",
        "admin_fee": "0",
        "origin": ORIGIN,
        "root_key": str(KEY.verifier()),
    }
    return sign_entry(KEY, ORIGIN, seq=1, prev=ZERO_HASH, kind="pool.genesis", body=body, time=TIME)


def _note(seq: int = 2, body: dict[str, object] | None = None) -> Entry:
    return sign_entry(KEY, ORIGIN, seq=seq, prev="ab" * 32, body=body or {"n": 1, "text": "x"}, time=TIME)


# --- canonical bytes -------------------------------------------------------------------------------------
def test_canonical_bytes_are_rfc8785_byte_for_byte() -> None:
    # Keys sort by UTF-16 code units (RFC 8785 3.2.3): U+1F600 (D83D DE00) sorts before U+FB01, though its
    # code
    # point is larger; non-ASCII is raw UTF-8; only '"', '\\' and control characters are escaped.
    body = {
        "\ufb01": 1,
        "\U0001f600": 2,
        "b": 'tab\there "q" \\ \x01 \u2028 é',
        "B": [True, None, 0, 2**53 - 1],
    }
    entry = sign_entry(KEY, ORIGIN, seq=7, prev="0f" * 32, kind="test.note", body=body, time=TIME)
    expected_body = (
        '{"B":[true,null,0,9007199254740991],"b":"tab\\there \\"q\\" \\\\ \\u0001 \u2028 é",'
        '"\U0001f600":2,"\ufb01":1}'
    ).encode()
    author = KEY.verifier().keyid_string
    unsigned = (
        f'{{"author":"{author}","body":'.encode()
        + expected_body
        + f',"kind":"test.note","prev":"{"0f" * 32}","seq":7,"time":"{TIME}","v":1}}'.encode()
    )
    assert entry.unsigned_bytes() == unsigned
    stored = (
        f'{{"author":"{author}","body":'.encode()
        + expected_body
        + f',"kind":"test.note","prev":"{"0f" * 32}","seq":7,'.encode()
        + f'"sig":"{entry.sig}","time":"{TIME}","v":1}}'.encode()
    )
    assert entry.encode() == stored
    # json.dumps(sort_keys=True) is not JCS: it orders by code point, so it puts U+FB01 first.
    naive = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    assert naive != expected_body
    assert decode(stored) == entry


def test_signature_and_hash_as_a_third_party_computes_them() -> None:
    entry = _note()
    raw = entry.encode()
    obj = json.loads(raw)
    unsigned = jcs({k: v for k, v in obj.items() if k != "sig"})
    message = b"patentpool/entry/v1\n" + ORIGIN.encode() + b"\n" + unsigned
    assert SIG_DOMAIN == b"patentpool/entry/v1\n"
    assert signing_message(ORIGIN, entry.unsigned_bytes()) == message
    sig = base64.b64decode(obj["sig"], validate=True)
    assert len(obj["sig"]) == 88 and len(sig) == 64
    Ed25519PublicKey.from_public_bytes(KEY.public_bytes).verify(sig, message)  # raises if wrong
    import hashlib

    assert entry_hash(raw) == hashlib.sha256(raw).digest()
    assert merkle.leaf_hash(raw) == hashlib.sha256(b"\x00" + raw).digest() != entry_hash(raw)


def test_decode_round_trips_a_valid_entry() -> None:
    entry = _note(body={"n": 0, "big": 2**53 - 1, "list": [1, "a", None, False], "nested": {"k": "v"}})
    assert decode(entry.encode()) == entry
    assert decode(entry.encode()).encode() == entry.encode()


# --- strict decoding -------------------------------------------------------------------------------------
VALID = _note(body={"n": 1, "text": "x"})
VALID_RAW = VALID.encode()
SIG = VALID.sig


def _sub(old: str, new: str) -> Callable[[bytes], bytes]:
    def mutate(raw: bytes) -> bytes:
        assert raw.count(old.encode()) == 1, old
        return raw.replace(old.encode(), new.encode())

    return mutate


def _with_sig(sig: str) -> Callable[[bytes], bytes]:
    return _sub(f'"sig":"{SIG}"', f'"sig":{json.dumps(sig)}')


def _rebuild(**changes: object) -> Callable[[bytes], bytes]:
    """Canonical JCS bytes of the entry with fields changed (so only the changed value is at fault)."""

    def mutate(raw: bytes) -> bytes:
        obj = json.loads(raw)
        for key, value in changes.items():
            if value is _DROP:
                del obj[key]
            else:
                obj[key] = value
        return jcs(obj)

    return mutate


_DROP = object()
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# The 86th character of a 64-byte signature carries 2 bits and 4 zero bits; setting one spells the same bytes
# in a non-canonical way.
_bits_sig = SIG[:85] + _B64[_B64.index(SIG[85]) | 1] + "=="

REJECTED: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    # numbers: only integers 0 <= n < 2^53, no fraction, exponent, -0, NaN or infinity
    "fraction": (_sub('"n":1', '"n":1.0'), "fraction or exponent"),
    "fraction-1.5": (_sub('"n":1', '"n":1.5'), "fraction or exponent"),
    "exponent": (_sub('"n":1', '"n":1e0'), "fraction or exponent"),
    "exponent-upper": (_sub('"n":1', '"n":1E2'), "fraction or exponent"),
    "minus-zero": (_sub('"n":1', '"n":-0'), "canonical"),
    "minus-zero-float": (_sub('"n":1', '"n":-0.0'), "fraction or exponent"),
    "nan": (_sub('"n":1', '"n":NaN'), "not JSON"),
    "infinity": (_sub('"n":1', '"n":Infinity'), "not JSON"),
    "minus-infinity": (_sub('"n":1', '"n":-Infinity'), "not JSON"),
    "int-2^53": (_sub('"n":1', '"n":9007199254740992'), "outside 0 <= n < 2"),
    "int-huge": (_sub('"n":1', '"n":123456789012345678901234567890'), "outside 0 <= n < 2"),
    "int-negative": (_sub('"n":1', '"n":-1'), "outside 0 <= n < 2"),
    "seq-fraction": (_sub('"seq":2', '"seq":2.0'), "fraction or exponent"),
    "seq-2^53": (_sub('"seq":2', '"seq":9007199254740992'), "seq|2\\^53"),
    "seq-zero": (_rebuild(seq=0), "seq"),
    "seq-string": (_rebuild(seq="2"), "seq"),
    "seq-bool": (_rebuild(seq=True), "seq"),
    # duplicate, missing and extra keys
    "duplicate-top-level": (_sub('"v":1}', '"v":1,"v":1}'), "duplicate key 'v'"),
    "duplicate-in-body": (_sub('"n":1', '"n":1,"n":1'), "duplicate key 'n'"),
    "missing-v": (_rebuild(v=_DROP), r"missing \['v'\]"),
    "missing-sig": (_rebuild(sig=_DROP), r"missing \['sig'\]"),
    "missing-body": (_rebuild(body=_DROP), r"missing \['body'\]"),
    "extra-key": (_rebuild(extra=1), r"unexpected \['extra'\]"),
    "extra-key-id": (_rebuild(id=1), r"unexpected \['id'\]"),
    # version
    "v-2": (_rebuild(v=2), "v: unsupported"),
    "v-0": (_rebuild(v=0), "v: unsupported"),
    "v-true": (_rebuild(v=True), "v: unsupported"),
    "v-string": (_rebuild(v="1"), "v: unsupported"),
    "v-fraction": (_sub('"v":1}', '"v":1.0}'), "fraction or exponent"),
    # non-canonical spellings of an otherwise valid entry
    "space-after-colon": (_sub('"seq":2', '"seq": 2'), "canonical"),
    "space-after-comma": (_sub(',"seq"', ', "seq"'), "canonical"),
    "leading-space": (lambda raw: b" " + raw, "canonical"),
    "trailing-newline": (lambda raw: raw + b"\n", "canonical"),
    "pretty-printed": (lambda raw: json.dumps(json.loads(raw), indent=1).encode(), "canonical"),
    "key-order-top-level": (
        _sub(
            '"kind":"test.note","prev":"' + "ab" * 32 + '"', '"prev":"' + "ab" * 32 + '","kind":"test.note"'
        ),
        "canonical",
    ),
    "key-order-body": (_sub('{"n":1,"text":"x"}', '{"text":"x","n":1}'), "canonical"),
    "escaped-ascii": (_sub('"text":"x"', '"text":"\\u0078"'), "canonical"),
    "escaped-solidus": (_sub('"text":"x"', '"text":"\\/"'), "canonical"),
    "leading-zero-int": (_sub('"seq":2', '"seq":02'), "not JSON"),
    # text must be NFC (composed é, not e + combining acute), in values and in keys
    "non-nfc-value": (_rebuild(body={"n": 1, "text": "e\u0301"}), "NFC"),
    "non-nfc-key": (_rebuild(body={"n": 1, "e\u0301": "x"}), "NFC"),
    "lone-surrogate": (_sub('"text":"x"', '"text":"\\ud800"'), "surrogate|canonical"),
    "lone-low-surrogate-key": (_sub('"text":"x"', '"\\udc00":"x"'), "surrogate|canonical"),
    # signatures: exactly 88 characters of padded standard base64 for 64 bytes
    "sig-unpadded": (_with_sig(SIG.rstrip("=")), "sig"),
    "sig-urlsafe": (_with_sig("-_" + SIG[2:]), "sig"),
    "sig-whitespace": (_with_sig(SIG[:40] + " " + SIG[41:]), "sig"),
    "sig-newline": (_with_sig(SIG[:86] + "=\n"), "sig"),
    "sig-one-pad": (_with_sig(SIG[:87] + "A"), "sig"),
    "sig-nonzero-pad-bits": (_with_sig(_bits_sig), "sig"),
    "sig-63-bytes": (_with_sig(base64.b64encode(b"\x01" * 63).decode()), "sig"),
    "sig-65-bytes": (_with_sig(base64.b64encode(b"\x01" * 65).decode()), "sig"),
    "sig-empty": (_with_sig(""), "sig"),
    "sig-number": (_rebuild(sig=1), "sig"),
    # other fields
    "time-no-micros": (_rebuild(time="2026-01-31T09:00:00Z"), "time"),
    "time-offset": (_rebuild(time="2026-01-31T09:00:00.000000+00:00"), "time"),
    "prev-upper-hex": (_rebuild(prev="AB" * 32), "prev"),
    "prev-short": (_rebuild(prev="ab" * 31), "prev"),
    "kind-upper": (_rebuild(kind="Test.Note"), "kind"),
    "author-empty": (_rebuild(author=""), "author"),
    "author-non-nfc": (_rebuild(author="e\u0301"), "author"),
    "body-array": (_rebuild(body=[1]), "body"),
    # not an object at all
    "array": (lambda raw: b"[" + raw + b"]", "not a JSON object"),
    "not-utf8": (lambda raw: raw.replace(b'"x"', b'"\xff"'), "not UTF-8"),
    "truncated": (lambda raw: raw[:-1], "not JSON"),
    "deeply-nested": (_sub('"text":"x"', '"text":' + "[" * 100_000 + "]" * 100_000), "nest"),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_decode_rejects(case: str) -> None:
    mutate, message = REJECTED[case]
    raw = mutate(VALID_RAW)
    assert raw != VALID_RAW
    with pytest.raises(EntryError, match=message):
        decode(raw)


def test_sig_cases_are_spellings_of_88_chars_or_not_64_bytes() -> None:
    # Guard the table above: the bad signatures differ from the real one only in spelling or length.
    assert len(_bits_sig) == 88 and _bits_sig != SIG
    assert base64.b64decode(_bits_sig) == base64.b64decode(SIG)
    assert len(base64.b64encode(b"\x01" * 65)) == 88


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        0.5,
        float("nan"),
        float("inf"),
        -1,
        2**53,
        -(2**53),
        "e\u0301",
        "\ud800",
        {"k": 1.5},
        [2**60],
        {"e\u0301": 1},
        {1: "x"},
        b"bytes",
        {1, 2},
    ],
    ids=repr,
)
def test_check_value_rejects_what_jcs_would_not_spell_once(value: object) -> None:
    with pytest.raises(EntryError):
        check_value({"x": value})


@pytest.mark.parametrize(
    "value", [0, 2**53 - 1, True, False, None, "é", "\U0001f600", [], {}, {"a": [1, {"b": None}]}]
)
def test_check_value_accepts_json_values(value: object) -> None:
    check_value({"x": value})


# --- signatures are bound to one pool --------------------------------------------------------------------
def _verify_ledger(entries: list[Entry], origin: str = ORIGIN) -> list[str]:
    raws = [e.encode() for e in entries]
    root = merkle.root_of([merkle.leaf_hash(r) for r in raws])
    note = sign_checkpoint(Checkpoint(origin, len(raws), root), KEY)
    rows = list(enumerate(raws, 1))
    report = verify_rows(rows, rows, [(len(raws), root, note)])
    assert report.size == len(raws)
    return [str(p) for p in report.problems]


def _chain(*entries: Callable[[str], Entry]) -> list[Entry]:
    out = [_genesis()]
    for make in entries:
        out.append(make(entry_hash(out[-1].encode()).hex()))
    return out


def test_a_correct_ledger_verifies() -> None:
    ledger = _chain(
        lambda prev: sign_entry(KEY, ORIGIN, seq=2, prev=prev, time=TIME),
        lambda prev: sign_entry(KEY, ORIGIN, seq=3, prev=prev, time=TIME),
    )
    assert _verify_ledger(ledger) == []


def test_a_signature_made_for_another_pool_fails() -> None:
    # The same key, the same bytes, but signed over the other pool's origin: replaying an entry across pools
    # does not verify.
    ledger = _chain(
        lambda prev: sign_entry(KEY, ORIGIN, seq=2, prev=prev, time=TIME),
        lambda prev: sign_entry(KEY, OTHER_ORIGIN, seq=3, prev=prev, time=TIME),
    )
    problems = _verify_ledger(ledger)
    assert len(problems) == 1 and problems[0].startswith("seq 3: signature does not verify"), problems
    entry = ledger[2]
    message = signing_message(ORIGIN, entry.unsigned_bytes())
    assert not KEY.verifier().verify(entry.signature, message)
    assert KEY.verifier().verify(entry.signature, signing_message(OTHER_ORIGIN, entry.unsigned_bytes()))


def test_an_entry_replayed_from_another_pool_fails() -> None:
    # Pool B's genesis and entry, its key named for pool B, stored in pool A's ledger.
    other_key = seeded_key(OTHER_ORIGIN, 2)
    other = sign_entry(other_key, OTHER_ORIGIN, seq=2, prev=entry_hash(_genesis().encode()).hex(), time=TIME)
    problems = _verify_ledger([_genesis(), other])
    assert any(
        re.match(r"seq 2: author pool\.example/other\+[0-9a-f]{8} is not a key of this pool", p)
        for p in problems
    ), problems


def test_a_signature_over_other_bytes_fails() -> None:
    good = sign_entry(KEY, ORIGIN, seq=2, prev=entry_hash(_genesis().encode()).hex(), time=TIME)
    forged = Entry(
        seq=2, time=TIME, kind=good.kind, author=good.author, prev=good.prev, body={"n": 3}, sig=good.sig
    )
    assert _verify_ledger([_genesis(), good]) == []
    problems = _verify_ledger([_genesis(), forged])
    assert problems and problems[0].startswith("seq 2: signature does not verify"), problems
