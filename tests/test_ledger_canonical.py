"""The fast canonical encoder must give exactly RFC 8785 bytes (checked against the rfc8785 library)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import rfc8785
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ledger.entry import (
    EntryError,
    Spelled,
    _suspect_numbers,
    canonical,
    decode,
    encode_checked,
    unsigned_from_raw,
    with_sig,
)

keys = st.one_of(st.text(max_size=8), st.sampled_from(["a", "B", "é", "\U0001f600", "\ue000", "z", "\x7f"]))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=0, max_value=2**53 - 1),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
)
values: Any = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=400)
@given(values)
def test_canonical_equals_rfc8785(value: Any) -> None:
    assert canonical(value) == rfc8785.dumps(value)


@settings(max_examples=200)
@given(values, values)
def test_spelled_parts_are_spliced_as_given(value: Any, part: Any) -> None:
    # A part given as its canonical text makes the same bytes as the part itself, inside lists and objects.
    text = rfc8785.dumps(part)
    for whole, spelled in (
        ({"a": value, "b": part}, {"a": value, "b": Spelled(text)}),
        ([part, value, part], [Spelled(text), value, Spelled(text)]),
    ):
        assert canonical(spelled) == canonical(whole) == rfc8785.dumps(whole)


def test_keys_outside_the_bmp_sort_by_utf16() -> None:
    # U+1F600 is D83D DE00 in UTF-16, before U+E000; by code point it comes after.
    value = {"\U0001f600": 1, "\ue000": 2}
    assert canonical(value) == rfc8785.dumps(value)
    assert (
        canonical(value)
        != json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    )


def _entry(body: dict[str, Any]) -> bytes:
    return canonical(
        {
            "v": 1,
            "seq": 2,
            "time": "2026-01-31T09:00:00.000000Z",
            "kind": "member.add",
            "author": "pool.example/x+01234567",
            "prev": "0" * 64,
            "body": body,
            "sig": "A" * 86 + "==",
        }
    )


@settings(max_examples=200)
@given(st.dictionaries(keys, values, max_size=4))
def test_unsigned_from_raw_is_jcs_without_sig(body: dict[str, Any]) -> None:
    raw = _entry({"sig": "x", **body})
    try:
        entry = decode(raw)
    except EntryError:
        assume(False)  # text that is not NFC is refused before this matters
        raise
    assert unsigned_from_raw(raw, entry.sig) == entry.unsigned_bytes()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s.replace('"seq":2', '"seq":2.0'),
        lambda s: s.replace('"seq":2', '"seq":2e0'),
        lambda s: s.replace('"seq":2', '"seq":-0'),
        lambda s: s.replace('{"author"', '{"v":1,"author"'),
        lambda s: s.replace(',"body"', ' ,"body"'),
        lambda s: s.replace('"seq":2', '"seq":9007199254740992'),
    ],
)
def test_decode_rejects_other_spellings(mutate: Any) -> None:
    raw = _entry({"id": "A"})
    decode(raw)
    with pytest.raises(EntryError):
        decode(mutate(raw.decode()).encode())


@pytest.mark.parametrize(
    "body",
    [
        {"x": 1.5},
        {"x": -1},
        {"x": 2**53},
        {"x": "e\u0301"},
        {"e\u0301": 1},
        {"x": float("nan")},
        {"x": object()},
    ],
)
def test_encode_checked_rejects_what_decode_would(body: dict[str, Any]) -> None:
    with pytest.raises(EntryError):
        encode_checked(body)


_BULK = {"rows": [[i, "filler"] for i in range(10_000)]}  # past the size where encode_checked scans


@pytest.mark.parametrize(
    "extra",
    [
        {"x": 1.5},
        {"x": [0, 2.0]},
        {"x": 1e20},
        {"x": -1},
        {"x": [3, -2]},
        {"x": 2**53},
        {"x": 10**20},
        {"x": "e\u0301"},
        {"x": float("inf")},
        {"x": "\ud800"},
    ],
)
def test_encode_checked_rejects_in_large_bodies(extra: dict[str, Any]) -> None:
    assert len(encode_checked(_BULK)) > 65536
    with pytest.raises(EntryError):
        encode_checked({**_BULK, **extra})


def test_encode_checked_large_body_with_look_alikes_in_text() -> None:
    # Strings that look like suspect numbers must not be mistaken for them.
    body = {**_BULK, "note": ":-1,1.5e3,[12345678901234567", "tiers": "1000:0,5000:0.2,*:0.1"}
    raw = encode_checked(body)
    assert json.loads(raw) == body
    assert not _suspect_numbers(raw)
    assert encode_checked({**body, "big": 2**53 - 1})  # a 16-digit integer in range is read back and passes
    assert _suspect_numbers(canonical({**body, "x": 1}).replace(b'"x":1', b'"x":1.5'))
    # With a backslash, quotes may be escaped: no parity argument, the body is read back.
    assert _suspect_numbers(canonical({**body, "q": 'a\\"b'}))


@settings(max_examples=200)
@given(st.dictionaries(keys, values, max_size=4))
def test_with_sig_is_the_entry_with_sig(body: dict[str, Any]) -> None:
    entry = {
        "v": 1,
        "seq": 2,
        "time": "2026-01-31T09:00:00.000000Z",
        "kind": "k",
        "author": "a",
        "prev": "0" * 64,
        "body": {"time": "x", **body},
    }
    sig = "A" * 86 + "=="
    assert with_sig(canonical(entry), sig) == canonical({**entry, "sig": sig})


# --- the fast strict parse (orjson) must accept and refuse exactly what the hooks do ---------------------
def _decoded_slowly(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`decode_body` with every input sent through the stdlib parser's hooks, as before the fast path."""
    from ledger import entry

    with monkeypatch.context() as m:
        m.setattr(entry, "_plain_numbers", lambda _value: False)
        return _outcome(raw)


def _outcome(raw: bytes) -> Any:
    from ledger.entry import decode_body

    try:
        return ("ok", decode_body(raw))
    except EntryError as exc:
        return ("refused", str(exc))


mutations = st.lists(
    st.tuples(st.sampled_from(["replace", "insert", "delete"]), st.integers(0, 400), st.binary(max_size=2)),
    max_size=3,
)


@settings(max_examples=300)
@given(st.dictionaries(keys, values, max_size=4), mutations)
def test_fast_parse_accepts_and_refuses_as_the_hooks_do(body: Any, edits: Any) -> None:
    raw = bytearray(rfc8785.dumps(body))
    for how, at, data in edits:
        at = at % (len(raw) + 1)
        if how == "replace":
            raw[at : at + len(data)] = data
        elif how == "insert":
            raw[at:at] = data
        else:
            del raw[at : at + 1]
    mp = pytest.MonkeyPatch()
    try:
        assert _outcome(bytes(raw)) == _decoded_slowly(bytes(raw), mp)
    finally:
        mp.undo()


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1.5}',
        b'{"a":-1}',
        b'{"a":9007199254740992}',
        b'{"a":1e3}',
        b'{"a":NaN}',
        b'{"a":1,"a":1}',
        b'{"a":"\\u0041"}',
        b'{"b":1,"a":2}',
        b'{"a": 1}',
        b'{"a":"\\ud800"}',
        b'{"a":"x\x01"}',
        b'{"a":18446744073709551616}',
        b'{"a":[1,]}',
        b"[1]",
    ],
)
def test_fast_parse_refuses_what_the_hooks_refuse(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _outcome(raw)
    assert fast[0] == "refused"
    assert fast == _decoded_slowly(raw, monkeypatch)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        # orjson parses 1,024 levels, the stdlib encoder that re-spells deep values recurses out earlier.
        (b'{"x":' + b"[" * 1000 + b"1" + b"]" * 1000 + b"}", "nested too deeply"),
        (b'{"x":' + b'{"a":' * 1000 + b'"s"' + b"}" * 1000 + b"}", "nested too deeply"),
        # int() refuses past 4,300 digits with a ValueError of its own.
        (b'{"x":1' + b"0" * 5000 + b"}", "outside 0 <= n < 2^53"),
        (b'{"x":-1' + b"0" * 5000 + b"}", "outside 0 <= n < 2^53"),
    ],
)
def test_extreme_inputs_are_refused_as_entry_errors(raw: bytes, message: str) -> None:
    from ledger.entry import decode_body

    with pytest.raises(EntryError, match=re.escape(message)):
        decode_body(raw)


@settings(max_examples=400)
@given(values)
def test_canonical_of_a_parsed_value_equals_rfc8785(value: Any) -> None:
    # orjson's spelling is taken when the keys are ASCII (any text in values); the rest goes to `canonical`.
    from ledger.entry import _canonical_of_parsed

    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):
        assume(False)
    assert _canonical_of_parsed(value) == expected
