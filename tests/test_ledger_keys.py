"""Tests for ledger.keys (verifier keys, key files) and ledger.checkpoint (C2SP signed notes)."""

from __future__ import annotations

import base64
import getpass
import hashlib
import io
import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from ledger import keys as keys_mod
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
    KeyFileError,
    SigningKey,
    VerifierKey,
    VerifierKeyError,
    load_key,
    passphrase_from_env_or_prompt,
    read_key_name,
    read_verifier,
    save_key,
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


def _vkey_string(name: str, type_byte: int, public: bytes, key_id: bytes | None = None) -> str:
    kid = key_id if key_id is not None else keys_mod.compute_key_id(name, public)
    return f"{name}+{kid.hex()}+{base64.b64encode(bytes([type_byte]) + public).decode()}"


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


# --- verifier key strings ----------------------------------------------------------------------------


def test_vkey_parse_accepts_plus_in_base64() -> None:
    seed = 0
    while True:
        key = _seeded_key("example.com/foo", seed)
        text = str(key.verifier())
        if "+" in text.split("+", 2)[2]:
            break
        seed += 1
    parsed = VerifierKey.parse(text)
    assert parsed == key.verifier()
    assert parsed.public == key.public_bytes
    assert str(parsed) == text


def test_vkey_generated_round_trip() -> None:
    key = SigningKey.generate(ORIGIN)
    vkey = key.verifier()
    assert VerifierKey.parse(str(vkey)) == vkey
    assert vkey.keyid_string == f"{ORIGIN}+{vkey.key_id.hex()}"
    assert str(vkey).startswith(vkey.keyid_string + "+")
    assert keys_mod.split_keyid_string(vkey.keyid_string) == (ORIGIN, vkey.key_id)
    message = b"hello"
    sig = key.sign(message)
    assert len(sig) == 64
    assert vkey.verify(sig, message)
    assert not vkey.verify(sig, b"hellp")
    assert not vkey.verify(sig[:-1], message)
    assert not vkey.verify(b"\x00" * 64, message)


def test_vkey_rejects_wrong_key_id() -> None:
    bad = "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    with pytest.raises(VerifierKeyError, match="does not match"):
        VerifierKey.parse(bad)


def test_vkey_rejects_other_name_for_same_key() -> None:
    bad = "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    with pytest.raises(VerifierKeyError, match="does not match"):
        VerifierKey.parse(bad)


def test_vkey_rejects_wrong_type_byte() -> None:
    public = VerifierKey.parse(EXAMPLE_VKEY).public
    for type_byte in (0x00, 0x02, 0x04, 0xFF):
        with pytest.raises(VerifierKeyError, match="type"):
            VerifierKey.parse(_vkey_string("example.com/foo", type_byte, public))


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_vkey_rejects_bad_lengths(length: int) -> None:
    public = bytes(range(length))
    with pytest.raises(VerifierKeyError, match="bytes"):
        VerifierKey.parse(_vkey_string("example.com/foo", 0x01, public))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "example.com/foo",
        "example.com/foo+530d903a",
        "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+0x530d90+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k=",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k ",
        " example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2l",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k\n",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k+",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k".replace("/", "_"),
    ],
)
def test_vkey_rejects_malformed(text: str) -> None:
    with pytest.raises(VerifierKeyError):
        VerifierKey.parse(text)


@pytest.mark.parametrize("name", ["", "a b", "a\tb", "a+b", "a\u00a0b", "a\u2003b", "a\nb"])
def test_invalid_key_names_rejected(name: str) -> None:
    with pytest.raises(VerifierKeyError):
        SigningKey.generate(name)


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


# --- key files (each scrypt derivation costs ~0.4 s: this section runs three) -------------------------


@pytest.fixture(scope="module")
def saved_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SigningKey]:
    path = tmp_path_factory.mktemp("keys") / "pool.key"
    key = SigningKey.generate(ORIGIN)
    save_key(path, key, "correct horse battery staple")  # derivation 1
    return path, key


def test_key_file_round_trip(saved_key: tuple[Path, SigningKey]) -> None:
    path, key = saved_key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not [p for p in path.parent.iterdir() if p.name != path.name]  # no temp files left
    doc = json.loads(path.read_text())
    assert doc["format"] == "patentpool-key/v1"
    assert doc["kdf"]["name"] == "scrypt"
    assert (doc["kdf"]["n"], doc["kdf"]["r"], doc["kdf"]["p"]) == (2**17, 8, 1)
    assert doc["cipher"] == "AES-256-GCM"
    assert base64.b64encode(key.private_bytes()).decode() not in path.read_text()
    loaded = load_key(path, "correct horse battery staple")  # derivation 2
    assert loaded.name == ORIGIN
    assert loaded.public_bytes == key.public_bytes
    assert loaded.verifier() == key.verifier()
    assert key.verifier().verify(loaded.sign(b"m"), b"m")


def test_key_file_wrong_passphrase(saved_key: tuple[Path, SigningKey]) -> None:
    path, _ = saved_key
    with pytest.raises(KeyFileError, match=f"wrong passphrase or corrupted key file {path}"):
        load_key(path, "wrong")  # derivation 3


def test_key_name_and_verifier_readable_without_passphrase(saved_key: tuple[Path, SigningKey]) -> None:
    path, key = saved_key
    assert read_key_name(path) == ORIGIN
    assert read_verifier(path) == key.verifier()


def test_key_file_world_readable_refused(saved_key: tuple[Path, SigningKey], tmp_path: Path) -> None:
    path, _ = saved_key
    for mode in (0o644, 0o640, 0o604, 0o660):
        copy = tmp_path / f"copy-{mode:o}.key"
        shutil.copyfile(path, copy)
        os.chmod(copy, mode)
        with pytest.raises(KeyFileError, match=f"chmod 600 {copy}"):
            load_key(copy, "correct horse battery staple")  # refused before any derivation


def test_key_file_overwrite_refused(saved_key: tuple[Path, SigningKey]) -> None:
    path, _ = saved_key
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        save_key(path, SigningKey.generate(ORIGIN), "another passphrase")
    assert path.read_bytes() == before


def test_key_file_malformed(tmp_path: Path) -> None:
    path = tmp_path / "bad.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"not json")
    os.close(fd)
    with pytest.raises(KeyFileError, match="malformed"):
        load_key(path, "x")
    with pytest.raises(KeyFileError, match="malformed"):
        read_key_name(path)
    with pytest.raises(KeyFileError, match="does not exist"):
        load_key(tmp_path / "missing.key", "x")


def test_key_file_weak_kdf_refused(saved_key: tuple[Path, SigningKey], tmp_path: Path) -> None:
    path, _ = saved_key
    doc = json.loads(path.read_text())
    doc["kdf"]["n"] = 2**14
    weak = tmp_path / "weak.key"
    fd = os.open(weak, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, json.dumps(doc).encode())
    os.close(fd)
    with pytest.raises(KeyFileError, match="'n'"):
        load_key(weak, "correct horse battery staple")


def test_save_key_refuses_empty_passphrase(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="empty"):
        save_key(tmp_path / "k.key", SigningKey.generate(ORIGIN), "")
    assert not (tmp_path / "k.key").exists()


def test_passphrase_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATENTPOOL_PASSPHRASE", "from env")
    assert passphrase_from_env_or_prompt(confirm=True) == "from env"
    monkeypatch.setenv("PATENTPOOL_PASSPHRASE", "")
    with pytest.raises(KeyFileError, match="empty"):
        passphrase_from_env_or_prompt(confirm=False)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_passphrase_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PATENTPOOL_PASSPHRASE", raising=False)
    monkeypatch.setattr(sys, "stdin", _Terminal())
    answers = iter(["secret", "secret", "secret", "other"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    assert passphrase_from_env_or_prompt(confirm=True) == "secret"
    with pytest.raises(KeyFileError, match="do not match"):
        passphrase_from_env_or_prompt(confirm=True)

    def eof(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr(getpass, "getpass", eof)
    with pytest.raises(KeyFileError, match="PATENTPOOL_PASSPHRASE"):
        passphrase_from_env_or_prompt(confirm=False)


def test_no_passphrase_without_a_terminal_is_refused_without_prompting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A script with no terminal and no PATENTPOOL_PASSPHRASE gets one clear error, not getpass's
    GetPassWarning and an echoed read of stdin."""
    monkeypatch.delenv("PATENTPOOL_PASSPHRASE", raising=False)

    def never(prompt: str = "") -> str:
        raise AssertionError("prompted without a terminal")

    monkeypatch.setattr(getpass, "getpass", never)
    for stdin in (io.StringIO("secret\n"), None):
        monkeypatch.setattr(sys, "stdin", stdin)
        with pytest.raises(KeyFileError) as raised:
            passphrase_from_env_or_prompt(confirm=False)
        assert str(raised.value) == "no passphrase: set PATENTPOOL_PASSPHRASE or run on a terminal"
