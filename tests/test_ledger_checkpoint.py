"""Tests for ledger.checkpoint: C2SP signed notes (against the c2sp.org example) and checkpoints."""

from __future__ import annotations

import base64
import hashlib

import pytest

from ledger.checkpoint import (
    BadSignatureError,
    Checkpoint,
    CheckpointError,
    MalformedNoteError,
    NoteError,
    UnsignedNoteError,
    parse_checkpoint,
    sign_checkpoint,
    sign_note,
    verify_checkpoint,
    verify_note,
)
from ledger.keys import (
    SigningKey,
    VerifierKey,
    VerifierKeyError,
)

# The example from https://c2sp.org/signed-note (and golang.org/x/mod/sumdb/note).
EXAMPLE_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
EXAMPLE_BODY = "This is an example message.\n"
EXAMPLE_SIG_LINE = (
    "— example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)
EXAMPLE_NOTE = EXAMPLE_BODY + "\n" + EXAMPLE_SIG_LINE

ORIGIN = "pool.example.org/test"


def _seeded_key(name: str, seed: int) -> SigningKey:
    return SigningKey.from_private_bytes(name, hashlib.sha256(seed.to_bytes(4, "big")).digest())


# --- C2SP signed-note example ------------------------------------------------------------------------


def test_c2sp_example_verifies() -> None:
    vkey = VerifierKey.parse(EXAMPLE_VKEY)
    assert vkey.name == "example.com/foo"
    assert vkey.key_id == bytes.fromhex("530d903a")
    assert str(vkey) == EXAMPLE_VKEY
    assert vkey.keyid_string == "example.com/foo+530d903a"
    assert verify_note(EXAMPLE_NOTE, vkey) == EXAMPLE_BODY.encode()


def test_c2sp_example_flipped_note_byte_fails() -> None:
    vkey = VerifierKey.parse(EXAMPLE_VKEY)
    tampered = EXAMPLE_NOTE.replace("example message", "example messagf")
    with pytest.raises(BadSignatureError, match="invalid"):
        verify_note(tampered, vkey)


@pytest.mark.parametrize("index", [4, 20, 67])
def test_c2sp_example_flipped_signature_byte_fails(index: int) -> None:
    vkey = VerifierKey.parse(EXAMPLE_VKEY)
    b64 = EXAMPLE_SIG_LINE.split(" ")[2].strip()
    raw = bytearray(base64.b64decode(b64))
    raw[index] ^= 0x01
    note = EXAMPLE_BODY + "\n— example.com/foo " + base64.b64encode(bytes(raw)).decode() + "\n"
    with pytest.raises(BadSignatureError):
        verify_note(note, vkey)


def test_c2sp_example_flipped_key_id_is_not_our_signature() -> None:
    vkey = VerifierKey.parse(EXAMPLE_VKEY)
    raw = bytearray(base64.b64decode(EXAMPLE_SIG_LINE.split(" ")[2]))
    raw[0] ^= 0x80
    note = EXAMPLE_BODY + "\n— example.com/foo " + base64.b64encode(bytes(raw)).decode() + "\n"
    with pytest.raises(UnsignedNoteError, match=r"no signature by key example\.com/foo\+530d903a"):
        verify_note(note, vkey)


def test_c2sp_example_different_key_fails() -> None:
    other = SigningKey.generate("example.com/foo").verifier()
    with pytest.raises(UnsignedNoteError):
        verify_note(EXAMPLE_NOTE, other)
    # Same name and same key id but another public key: the signature must not verify.
    forged = VerifierKey.parse(EXAMPLE_VKEY)
    object.__setattr__(forged, "public", other.public)  # bypass validation to simulate an id collision
    with pytest.raises(BadSignatureError):
        verify_note(EXAMPLE_NOTE, forged)


def test_other_signatures_are_ignored() -> None:
    vkey = VerifierKey.parse(EXAMPLE_VKEY)
    witness = _seeded_key("witness.example/w1", 7)
    witness_line = sign_note(EXAMPLE_BODY.encode(), witness).split("\n\n", 1)[1]
    note = EXAMPLE_BODY + "\n" + witness_line + EXAMPLE_SIG_LINE
    assert verify_note(note, vkey) == EXAMPLE_BODY.encode()
    # ...and the witness can verify the same note.
    assert verify_note(note, witness.verifier()) == EXAMPLE_BODY.encode()
    # A signature by another key alone is not enough.
    with pytest.raises(UnsignedNoteError):
        verify_note(EXAMPLE_BODY + "\n" + witness_line, vkey)


@pytest.mark.parametrize(
    ("note", "message"),
    [
        (EXAMPLE_BODY + EXAMPLE_SIG_LINE, "blank line"),
        (EXAMPLE_NOTE[:-1], "end with a newline"),
        (EXAMPLE_BODY + "\n", "no blank line|no signature lines"),
        (EXAMPLE_NOTE.replace("—", "-"), "em dash"),
        (EXAMPLE_NOTE.replace("— example.com/foo ", "— example.com/foo  "), "signature"),
        (EXAMPLE_NOTE.replace("— example.com/foo ", "— "), "key name|signature"),
        (EXAMPLE_NOTE.replace("IneyaQM=", "IneyaQM"), "base64"),
        (EXAMPLE_NOTE.replace("IneyaQM=", "IneyaQN="), "non-canonical"),
        (EXAMPLE_NOTE.replace("example message", "example\tmessage"), "control character"),
        (EXAMPLE_NOTE + "\n", "no signature lines"),
        (EXAMPLE_BODY + "\n— example.com/foo AAAA\n", "too short"),
    ],
)
def test_malformed_notes_rejected(note: str, message: str) -> None:
    vkey = VerifierKey.parse(EXAMPLE_VKEY)
    with pytest.raises(MalformedNoteError, match=message):
        verify_note(note, vkey)


def test_too_many_signatures_rejected() -> None:
    vkey = VerifierKey.parse(EXAMPLE_VKEY)
    junk = "— other.example/x " + base64.b64encode(b"\x00" * 68).decode() + "\n"
    assert verify_note(EXAMPLE_BODY + "\n" + junk * 20 + EXAMPLE_SIG_LINE, vkey)
    with pytest.raises(MalformedNoteError, match="limit"):
        verify_note(EXAMPLE_BODY + "\n" + junk * 100 + EXAMPLE_SIG_LINE, vkey)


def test_sign_note_round_trip_and_format() -> None:
    key = _seeded_key("example.com/foo", 1)
    body = b"line one\n\nline three after an empty line\n"
    note = sign_note(body, key)
    assert note.startswith(body.decode() + "\n— example.com/foo ")
    assert note.endswith("\n")
    raw = base64.b64decode(note.rsplit(" ", 1)[1])
    assert len(raw) == 68 and raw[:4] == key.verifier().key_id
    assert verify_note(note, key.verifier()) == body
    with pytest.raises(MalformedNoteError, match="newline"):
        sign_note(b"no newline", key)
    with pytest.raises(MalformedNoteError, match="control"):
        sign_note(b"a\rb\n", key)


def test_note_error_is_value_error() -> None:
    assert issubclass(NoteError, ValueError)
    assert issubclass(CheckpointError, NoteError)
    assert issubclass(VerifierKeyError, ValueError)


# --- checkpoints -------------------------------------------------------------------------------------


def test_checkpoint_round_trip() -> None:
    key = _seeded_key(ORIGIN, 2)
    root = hashlib.sha256(b"root").digest()
    cp = Checkpoint(origin=ORIGIN, size=12345, root=root)
    assert cp.body() == f"{ORIGIN}\n12345\n{base64.b64encode(root).decode()}\n".encode()
    text = sign_checkpoint(cp, key)
    lines = text.split("\n")
    assert lines[:4] == [ORIGIN, "12345", base64.b64encode(root).decode(), ""]
    assert lines[4].startswith(f"— {ORIGIN} ")
    assert lines[5:] == [""]
    assert verify_checkpoint(text, key.verifier(), ORIGIN) == cp
    assert verify_checkpoint(text, key.verifier(), None) == cp
    empty = Checkpoint(origin=ORIGIN, size=0, root=hashlib.sha256(b"").digest())
    assert verify_checkpoint(sign_checkpoint(empty, key), key.verifier(), ORIGIN) == empty


def test_checkpoint_origin_mismatch_rejected() -> None:
    key = _seeded_key(ORIGIN, 2)
    text = sign_checkpoint(Checkpoint(ORIGIN, 3, b"\x01" * 32), key)
    with pytest.raises(CheckpointError, match=r"pool\.example\.org/test.*other\.example/pool"):
        verify_checkpoint(text, key.verifier(), "other.example/pool")


def test_checkpoint_wrong_key_rejected() -> None:
    key = _seeded_key(ORIGIN, 2)
    other = _seeded_key(ORIGIN, 3)
    text = sign_checkpoint(Checkpoint(ORIGIN, 3, b"\x01" * 32), key)
    with pytest.raises(UnsignedNoteError):
        verify_checkpoint(text, other.verifier(), ORIGIN)
    tampered = text.replace(f"{ORIGIN}\n3\n", f"{ORIGIN}\n4\n", 1)
    with pytest.raises(BadSignatureError):
        verify_checkpoint(tampered, key.verifier(), ORIGIN)


def test_sign_checkpoint_requires_key_named_origin() -> None:
    with pytest.raises(CheckpointError, match="origin"):
        sign_checkpoint(Checkpoint(ORIGIN, 1, b"\x00" * 32), _seeded_key("other.example/x", 1))


ROOT_B64 = base64.b64encode(b"\x07" * 32).decode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f"{ORIGIN}\n1\n{ROOT_B64}\nextension\n", "three lines"),
        (f"{ORIGIN}\n1\n{ROOT_B64}", "newline"),
        (f"{ORIGIN}\n1\n", "three lines"),
        (f"{ORIGIN}\n01\n{ROOT_B64}\n", "leading zeros"),
        (f"{ORIGIN}\n00\n{ROOT_B64}\n", "leading zeros"),
        (f"{ORIGIN}\n-1\n{ROOT_B64}\n", "tree size"),
        (f"{ORIGIN}\n+1\n{ROOT_B64}\n", "tree size"),
        (f"{ORIGIN}\n1 \n{ROOT_B64}\n", "tree size"),
        (f"{ORIGIN}\n\u0661\n{ROOT_B64}\n", "tree size"),
        (f"{ORIGIN}\n{2**63}\n{ROOT_B64}\n", "too large"),
        (f"{ORIGIN}\n{'9' * 400}\n{ROOT_B64}\n", "too large"),
        (f"{ORIGIN}\n1\n{base64.b64encode(b'x' * 31).decode()}\n", "31 bytes"),
        (f"{ORIGIN}\n1\n{base64.b64encode(b'x' * 33).decode()}\n", "33 bytes"),
        (f"{ORIGIN}\n1\n{ROOT_B64.rstrip('=')}\n", "base64"),
        (f"Pool.example.org\n1\n{ROOT_B64}\n", "origin"),
        (f"pool.example.org/a b\n1\n{ROOT_B64}\n", "origin"),
        (f"pool.example.org//x\n1\n{ROOT_B64}\n", "origin"),
        (f"\n1\n{ROOT_B64}\n", "origin"),
    ],
)
def test_parse_checkpoint_strict(body: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        parse_checkpoint(body.encode(), None)


def test_parse_checkpoint_accepts_valid() -> None:
    cp = parse_checkpoint(f"{ORIGIN}\n0\n{ROOT_B64}\n".encode(), ORIGIN)
    assert cp == Checkpoint(ORIGIN, 0, b"\x07" * 32)
    assert parse_checkpoint(cp.body(), ORIGIN) == cp


def test_checkpoint_constructor_validates() -> None:
    with pytest.raises(CheckpointError):
        Checkpoint("Bad Origin", 1, b"\x00" * 32)
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, -1, b"\x00" * 32)
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, True, b"\x00" * 32)
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, 1, b"\x00" * 31)
