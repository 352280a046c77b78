"""Ledger entries, v1: their value rules, canonical bytes, signing message and hash (spec section 3).

Everything a third-party verifier needs to rebuild the bytes is in this module: the entry's JCS (RFC 8785)
serialisation, the domain-separated signing message and the SHA-256 entry hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson
import rfc8785

from ledger.errors import LedgerError

VERSION = 1
KEYS = ("v", "seq", "time", "kind", "author", "prev", "body", "sig")
ZERO_HASH = "0" * 64
SIG_DOMAIN = b"patentpool/entry/v1\n"
MAX_INT = 2**53

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
KIND_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
SIG_RE = re.compile(r"^[A-Za-z0-9+/]{86}==$")


class EntryError(LedgerError, ValueError):
    """An entry that breaks the v1 format; the message names the field."""


def check_value(value: Any, path: str = "body") -> None:
    """Reject what JCS would spell in more than one way, or what other JSON readers would misread."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not 0 <= value < MAX_INT:
            raise EntryError(f"{path}: integer {value} outside 0 <= n < 2^53")
        return
    if isinstance(value, float):
        raise EntryError(f"{path}: fractions and exponents are not allowed; money and rates are strings")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            # A JSON escape like "\ud800" decodes to a lone surrogate, which no canonical form can spell.
            raise EntryError(f"{path}: text contains a lone surrogate, not Unicode") from exc
        if unicodedata.normalize("NFC", value) != value:
            raise EntryError(f"{path}: text is not Unicode NFC")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_value(item, f"{path}[{i}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EntryError(f"{path}: object key {key!r} is not a string")
            check_value(key, f"{path} key")
            check_value(item, f"{path}.{key}")
        return
    raise EntryError(f"{path}: {type(value).__name__} is not a JSON value")


@dataclass(frozen=True)
class Spelled:
    """A JSON value given as its RFC 8785 bytes, which `canonical` splices in as they are: for a large part of
    a body (millions of small rows) that its builder spells faster than an encoder walks objects, and in
    bytes, so the whole body is put together with one copy of them. The builder answers for the bytes being
    canonical and for their numbers being integers in range (`encode_checked` scans only the rest for
    numbers; it checks the whole result for NFC as it checks any)."""

    data: bytes


def canonical(value: Any) -> bytes:
    """RFC 8785 bytes of a JSON value already checked by `check_value` (no floats), `Spelled` parts spliced.

    For such values the C-accelerated json encoder spells everything as JCS does (same string escapes, plain
    integers) except key order, which JCS takes in UTF-16 code units and json in code points; the two agree
    when every key is ASCII. So an all-ASCII result is exact, and anything else goes to the JCS library.
    """
    return _canonical(value)[0]


def _canonical(value: Any) -> tuple[bytes, list[bytes]]:
    """`canonical`, and the pieces of it that the encoder spelled (all of it but the `Spelled` parts)."""
    parts: list[bytes] = []
    # The encoder spells the mark "\u0000spelled-<random>-N", which no text of the value can hold by chance.
    mark = f"\x00spelled-{os.urandom(8).hex()}-"

    def splice(obj: Any) -> Any:
        if isinstance(obj, Spelled):
            parts.append(obj.data)
            return f"{mark}{len(parts) - 1}"
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    text = json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False, default=splice
    )
    if not parts:
        raw = text.encode() if text.isascii() else bytes(rfc8785.dumps(value))
        return raw, [raw]
    if not text.isascii() or not all(part.isascii() for part in parts):
        raw = bytes(rfc8785.dumps(_unspelled(value)))
        return raw, [raw]
    # The encoder met the parts in the order it wrote them: cut the text at each mark in turn.
    pieces: list[bytes] = []
    outer: list[bytes] = []
    rest = text
    for i, part in enumerate(parts):
        head, _mark, rest = rest.partition(json.dumps(f"{mark}{i}"))
        outer.append(head.encode())
        pieces += [outer[-1], part]
    outer.append(rest.encode())
    pieces.append(outer[-1])
    return b"".join(pieces), outer


def _unspelled(value: Any) -> Any:
    if isinstance(value, Spelled):
        return json.loads(value.data)
    if isinstance(value, Mapping):
        return {k: _unspelled(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_unspelled(v) for v in value]
    return value


def signing_message(origin: str, unsigned_canonical: bytes) -> bytes:
    # The origin binds the signature to one pool, so an entry cannot be replayed into another.
    return SIG_DOMAIN + origin.encode() + b"\n" + unsigned_canonical


@dataclass(frozen=True)
class Entry:
    """One signed ledger entry. `body` is never mutated after construction."""

    seq: int
    time: str
    kind: str
    author: str
    prev: str
    body: Mapping[str, Any]
    sig: str
    v: int = VERSION

    def unsigned(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "seq": self.seq,
            "time": self.time,
            "kind": self.kind,
            "author": self.author,
            "prev": self.prev,
            "body": self.body,
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.unsigned(), "sig": self.sig}

    def unsigned_bytes(self) -> bytes:
        """C(e): the JCS bytes of the entry without `sig`: what is signed."""
        return canonical(self.unsigned())

    def encode(self) -> bytes:
        """The stored and exported form, also the Merkle leaf data."""
        return canonical(self.to_json())

    @property
    def signature(self) -> bytes:
        return base64.b64decode(self.sig, validate=True)


def entry_hash(raw: bytes) -> bytes:
    """h(e): SHA-256 of the JCS bytes with `sig` (not the Merkle leaf hash)."""
    return hashlib.sha256(raw).digest()


def check_fields(
    seq: int,
    time: str,
    kind: str,
    author: str,
    prev: str,
    body: Any,
    sig: str | None,
    v: int = VERSION,
    *,
    values_checked: bool = False,
) -> None:
    if v != VERSION:
        raise EntryError(f"v: unsupported version {v!r}")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq < MAX_INT:
        raise EntryError(f"seq: {seq!r} is not a positive integer")
    if not isinstance(time, str) or not TIME_RE.match(time):
        raise EntryError(f"time: {time!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    if not isinstance(kind, str) or not KIND_RE.match(kind):
        raise EntryError(f"kind: {kind!r} is malformed")
    if not isinstance(author, str) or not author:
        raise EntryError("author: missing")
    if not values_checked:
        check_value(author, "author")
    if not isinstance(prev, str) or not HEX64_RE.match(prev):
        raise EntryError("prev: not 64 lower-case hex digits")
    if not isinstance(body, Mapping):
        raise EntryError("body: not an object")
    if not values_checked:
        check_value(body)
    if sig is not None:
        if not isinstance(sig, str) or not SIG_RE.match(sig):
            raise EntryError("sig: not 88 characters of padded standard base64")
        try:
            raw = base64.b64decode(sig, validate=True)
        except binascii.Error as exc:
            raise EntryError("sig: not base64") from exc
        if len(raw) != 64 or base64.b64encode(raw).decode() != sig:
            raise EntryError("sig: not the canonical spelling of a 64-byte signature")


def _no_floats(text: str) -> Any:
    raise EntryError(f"number {text} has a fraction or exponent")


def _no_constants(text: str) -> Any:
    raise EntryError(f"{text} is not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise EntryError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _checked_int(text: str) -> int:
    if len(text) > 64:  # far past 2^53 (16 digits); int() refuses past 4,300 digits with its own error
        raise EntryError(f"integer {text[:20]}... ({len(text)} characters) outside 0 <= n < 2^53")
    value = int(text)
    if not 0 <= value < MAX_INT:
        raise EntryError(f"integer {text} outside 0 <= n < 2^53")
    return value


def _strict_json(raw: bytes) -> tuple[str, Any]:
    """UTF-8 JSON with integers range-checked as they are parsed, and no fractions, exponents or constants.

    orjson parses first, several times faster than the hooks below; a value it accepts whose numbers are all
    in range (`_plain_numbers`) is taken. Anything else goes through the hooks, which name the fault.
    Whatever is taken must still re-encode to the very bytes (`_canonical_of_parsed`): a `-0`, which orjson
    reads as 0, or another spelling of the same value, fails there as it does after the hooks."""
    try:
        fast = orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    else:
        if _plain_numbers(fast):
            return raw.decode("utf-8"), fast
    try:
        text = raw.decode("utf-8")
        obj = json.loads(text, parse_int=_checked_int, parse_float=_no_floats, parse_constant=_no_constants)
    except UnicodeDecodeError as exc:
        raise EntryError("not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise EntryError(f"not JSON: {exc.msg}") from exc
    except RecursionError as exc:
        raise EntryError("not JSON this parser can read: nested too deeply") from exc
    return text, obj


def _plain_numbers(value: Any) -> bool:
    """Whether every number in a parsed value is an integer with 0 <= n < 2^53 (no float at all)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is int:
            if not 0 <= item < MAX_INT:
                return False
        elif kind is float:
            return False
    return True


def _check_nfc(text: str, obj: Any, path: str) -> None:
    # Quotes never compose with what follows, so the document is NFC exactly when every string in it is.
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        check_value(obj, path)  # names the field that is not NFC
        raise EntryError("text is not Unicode NFC")


_LATE_PLANES = re.compile(rb"[\xee-\xf4]")


def _canonical_of_parsed(obj: Any) -> bytes:
    """The JCS bytes of a value parsed by `_strict_json` (integers in range, no floats, no `Spelled`). For
    such a value orjson spells what JCS spells (the same escapes, UTF-8 as is, plain integers); its key order
    (code points) is JCS's (UTF-16 code units) unless a character from U+E000 up occurs, which only its UTF-8
    lead bytes 0xEE-0xF4 spell. Anything else goes through `canonical`."""
    try:
        fast = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # a lone surrogate cannot be spelled in UTF-8; orjson nests 255 levels at most
        fast = b""
    if fast and _LATE_PLANES.search(fast) is None:
        return fast
    try:
        return canonical(obj)
    except (UnicodeEncodeError, rfc8785.CanonicalizationError) as exc:
        # The only way here: a JSON escape such as \ud800 decoded to a lone surrogate.
        raise EntryError("text contains a lone surrogate, not Unicode") from exc
    except RecursionError as exc:  # orjson parses deeper than the stdlib encoder can spell
        raise EntryError("not JSON this parser can read: nested too deeply") from exc


def decode(raw: bytes) -> Entry:
    """Parse stored bytes strictly: exactly the v1 keys, valid values, and bytes equal to their JCS form.

    Built for speed, since verify and replay read every entry: integers are range-checked as they are
    parsed; text is checked for NFC once over the whole document; a duplicate key, `-0`, an escape JCS would
    not write, extra white space or another key order cannot survive the final comparison with the
    canonical re-encoding.
    """
    text, obj = _strict_json(raw)
    if not isinstance(obj, dict):
        raise EntryError("not a JSON object")
    if set(obj) != set(KEYS):
        missing = sorted(set(KEYS) - set(obj))
        extra = sorted(set(obj) - set(KEYS))
        raise EntryError(f"keys: missing {missing}, unexpected {extra}")
    if isinstance(obj["v"], bool) or obj["v"] != VERSION:
        raise EntryError(f"v: unsupported version {obj['v']!r}")
    _check_nfc(text, obj, "entry")
    check_fields(
        obj["seq"],
        obj["time"],
        obj["kind"],
        obj["author"],
        obj["prev"],
        obj["body"],
        obj["sig"],
        values_checked=True,
    )
    entry = Entry(
        seq=obj["seq"],
        time=obj["time"],
        kind=obj["kind"],
        author=obj["author"],
        prev=obj["prev"],
        body=obj["body"],
        sig=obj["sig"],
    )
    if _canonical_of_parsed(entry.to_json()) != raw:
        # Parse again, slowly, only to name the most likely cause: a duplicate key.
        json.loads(text, object_pairs_hook=_no_duplicates)
        raise EntryError("bytes are not the entry's RFC 8785 canonical form")
    return entry


def decode_body(raw: bytes) -> dict[str, Any]:
    """Parse an entry body's bytes as strictly as `decode` parses a whole entry."""
    text, obj = _strict_json(raw)
    if not isinstance(obj, dict):
        raise EntryError("body: not an object")
    _check_nfc(text, obj, "body")
    if _canonical_of_parsed(obj) != raw:
        json.loads(text, object_pairs_hook=_no_duplicates)
        raise EntryError("body: bytes are not its RFC 8785 canonical form")
    return obj


# In canonical bytes every number token follows `:`, `,` or `[` (the top level is an object). A token that
# starts with a minus sign, has 16 digits (2^53 has 16) or has a fraction or exponent is the only kind that
# can break the integer rules; this pattern finds each of them (and, harmlessly, look-alikes inside strings).
_SUSPECT_NUMBER = re.compile(rb"[:,\[](?:-|[0-9]{16}|[0-9]+[.eE])")


def _suspect_numbers(raw: bytes) -> bool:
    """Whether canonical bytes may hold a number token breaking the integer rules (False proves none).

    A hit counts only outside strings: an even number of quotes before it. Without a backslash in the text
    every quote delimits a string; with one, quotes may be escaped, so the answer is a conservative True."""
    if b"\\" in raw:
        return True
    quotes = 0
    at = 0
    while (hit := _SUSPECT_NUMBER.search(raw, at)) is not None:
        quotes += raw.count(b'"', at, hit.start())
        if quotes % 2 == 0:
            return True
        at = hit.start() + 1
    return False


def encode_checked(value: Mapping[str, Any]) -> bytes:
    """JCS bytes of a value built by code, checked with the same rules as `decode` (integers in range, no
    fractions, NFC) without a Python walk, which matters for an allocation entry with millions of values.

    The bytes are scanned for suspect number tokens and read back with `decode`'s hooks only on a hit: the
    scan costs a tenth of a parse."""
    try:
        raw, spelled_here = _canonical(value)
    except (TypeError, ValueError) as exc:
        # ValueError includes UnicodeEncodeError: a lone surrogate cannot be spelled in UTF-8.
        raise EntryError(f"body: not a JSON value: {exc}") from exc
    # `Spelled` parts are their builders' word (made of ints and spelled strings): only the rest is scanned.
    if any(_suspect_numbers(piece) for piece in spelled_here):
        json.loads(raw, parse_int=_checked_int, parse_float=_no_floats, parse_constant=_no_constants)
    # Checked on the bytes where they are ASCII: no copy of a body of tens of megabytes as text.
    if not raw.isascii() and not unicodedata.is_normalized("NFC", raw.decode("utf-8")):
        check_value(value, "entry")  # names the field
        raise EntryError("text is not Unicode NFC")
    return raw


def with_sig(unsigned: bytes, sig: str) -> bytes:
    """The stored bytes from C(e) and the signature: `sig` goes before the top-level `time` member (JCS key
    order: ... seq, sig, time, v). That member is the last `,"time":"` in the text: only `v` follows it."""
    at = unsigned.rfind(b',"time":"')
    if at < 0:
        raise EntryError("time member not found")
    return unsigned[:at] + b',"sig":"' + sig.encode() + b'"' + unsigned[at:]


def _sig_member(raw: bytes, sig: str) -> tuple[int, int]:
    member = b',"sig":"' + sig.encode() + b'"'
    at = raw.rfind(member)
    if at < 0:
        raise EntryError("sig member not found")
    return at, at + len(member)


def unsigned_from_raw(raw: bytes, sig: str) -> bytes:
    """C(e) straight from the stored bytes: drop the top-level `sig` member.

    Removing one member of a canonical object leaves the canonical object without it. The top-level `sig`
    is the last `,"sig":"` in the text: only `time` and `v` (no nested objects) follow it in key order, and
    a quote inside a string value is always escaped.
    """
    at, after = _sig_member(raw, sig)
    return raw[:at] + raw[after:]


def signing_message_of_raw(origin: str, raw: bytes, sig: str) -> bytes:
    """`signing_message(origin, unsigned_from_raw(raw, sig))` with one copy of the bytes instead of three,
    which matters for an entry of tens of megabytes."""
    at, after = _sig_member(raw, sig)
    view = memoryview(raw)
    return b"".join((SIG_DOMAIN, origin.encode(), b"\n", view[:at], view[after:]))


def decode_trusted(raw: bytes) -> Entry:
    """Parse an entry without re-checking its form: for replays of a ledger whose head was just checked
    against its signed checkpoint. `verify` uses `decode`, which checks everything."""
    obj = orjson.loads(raw)
    return Entry(
        seq=obj["seq"],
        time=obj["time"],
        kind=obj["kind"],
        author=obj["author"],
        prev=obj["prev"],
        body=obj["body"],
        sig=obj["sig"],
    )


class LazyBody(Mapping[str, Any]):
    """The body of a large entry, kept as its bytes, checked and parsed only if read.

    `verify` hands entries to the pool's checks in order; an allocation entry's body runs to tens of
    megabytes, and the check compares it with a recomputed body as canonical bytes (`same_as`), so it is
    never parsed unless the two differ. Its form is then proven by the equality, and the signature workers
    check only the entry around it (`decode_large`). Read any other way, it is parsed strictly (`decode_body`)
    and a malformed body raises `EntryError`."""

    __slots__ = ("_end", "_raw", "_start", "_value", "proven")

    def __init__(self, raw: bytes, start: int = 0, end: int | None = None, *, proven: bool = False) -> None:
        # The whole entry's bytes are kept (not a copy of the body's): a fault is then named as `decode`
        # names it, e.g. an extra top-level member after the body.
        self._raw = raw
        self._start = start
        self._end = len(raw) if end is None else end
        self.proven = proven  # e.g. a verify worker has strictly decoded the whole entry
        self._value: dict[str, Any] | None = None

    @property
    def canonical(self) -> bytes:
        """The body's bytes as stored (canonical once `checked`)."""
        return self._raw[self._start : self._end]

    def _parsed(self) -> dict[str, Any]:
        if self._value is None:
            try:
                self._value = decode_body(self.canonical)
            except EntryError:
                if (self._start, self._end) != (0, len(self._raw)):
                    decode(self._raw)  # raises, naming the fault in the whole entry
                raise
        return self._value

    def __getitem__(self, key: str) -> Any:
        return self._parsed()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parsed())

    def __len__(self) -> int:
        return len(self._parsed())

    def same_as(self, checked: bytes) -> bool:
        """Whether the body is byte for byte `checked`, bytes the caller built with `encode_checked` (so
        canonical and within the value rules); if so the body's form is proven without a parse."""
        # startswith compares in place: no copy of a body of tens of megabytes.
        if self._end - self._start == len(checked) and self._raw.startswith(checked, self._start):
            self.proven = True
        return self.proven

    def search(self, pattern: re.Pattern[bytes]) -> re.Match[bytes] | None:
        """`pattern.search` over the body's bytes, without copying them."""
        return pattern.search(self._raw, self._start, self._end)

    @property
    def checked(self) -> bool:
        """Whether the body's form is known good: proven by `same_as`, or strictly parsed."""
        return self.proven or self._value is not None

    def check(self) -> None:
        """Make sure the body is well-formed, parsing it strictly unless it is already known good."""
        if not self.checked:
            self._parsed()


LAZY_BODY = 1 << 20


def is_large(raw: bytes) -> bool:
    """Whether an entry's body is left as bytes (`LazyBody`) by `decode_large` and `decode_trusted_lazy`."""
    return len(raw) > LAZY_BODY


def is_lazy(raw: bytes, lazy_kinds: frozenset[str]) -> bool:
    """Whether `decode_large` leaves the body as bytes: a large entry, or one of `lazy_kinds` (kinds whose
    bodies the caller proves by comparing bytes, however small; the kind is read off the canonical bytes,
    where the top-level kind follows the last `,"kind":"`, and confirmed when the rest is decoded)."""
    if is_large(raw):
        return True
    if not lazy_kinds:
        return False
    at = raw.rfind(b',"kind":"') + 9
    return at > 8 and raw[at : raw.find(b'"', at)].decode("utf-8", "replace") in lazy_kinds


def _split_large(raw: bytes) -> tuple[int, int]:
    """Where the body of canonical entry bytes starts and ends.

    In canonical bytes the top-level members are in the order author, body, kind, prev, seq, sig, time, v:
    the body starts after the first `"body":` (a quote inside the author string would be escaped) and ends
    before the last `,"kind":"` (nothing after the body nests). Raises ValueError if either is missing."""
    start = raw.index(b'"body":') + len(b'"body":')
    end = raw.rindex(b',"kind":"')
    if end < start:
        raise ValueError("body bounds out of order")
    return start, end


def decode_large(raw: bytes, lazy_kinds: frozenset[str] = frozenset()) -> Entry:
    """`decode` for an entry whose body may be large: everything but the body is checked strictly here and
    the body is left as a `LazyBody`, checked when read or proven by `same_as`.

    The envelope is the entry with its body spelled `{}`; the check makes sure the split found the real body
    member: the bytes before it must be exactly the canonical `{"author":...,"body":` of the decoded author.
    Whole bytes that are canonical split cleanly; anything else gets the whole strict `decode`, so its error
    names the real fault. Entries of `lazy_kinds` are left so whatever their size (`is_lazy`)."""
    if not is_lazy(raw, lazy_kinds):
        return decode(raw)
    try:
        start, end = _split_large(raw)
        entry = decode(raw[:start] + b"{}" + raw[end:])
    except ValueError:  # EntryError included
        return decode(raw)
    prefix = b'{"author":' + canonical(entry.author) + b',"body":'
    if entry.body != {} or raw[:start] != prefix:
        return decode(raw)
    if not is_large(raw) and entry.kind not in lazy_kinds:
        return decode(raw)  # the kind read off the bytes was not the entry's
    return replace(entry, body=LazyBody(raw, start, end))


def decode_trusted_lazy(
    raw: bytes, *, body_checked: bool = False, lazy_kinds: frozenset[str] = frozenset()
) -> Entry:
    """`decode_trusted`, with the body of a large entry or one of `lazy_kinds` (`is_lazy`) left as a
    `LazyBody`; `body_checked` says the whole bytes were strictly decoded already, so the body needs no
    further check."""
    if not is_lazy(raw, lazy_kinds):
        return decode_trusted(raw)
    start, end = _split_large(raw)
    body = LazyBody(raw, start, end, proven=body_checked)
    return replace(decode_trusted(raw[:start] + b"{}" + raw[end:]), body=body)
