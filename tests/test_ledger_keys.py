"""Tests for ledger.keys: verifier key strings, key names, encrypted key files and the passphrase."""

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

# The verifier key of the example from https://c2sp.org/signed-note (and golang.org/x/mod/sumdb/note).
EXAMPLE_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"

ORIGIN = "pool.example.org/test"


def _seeded_key(name: str, seed: int) -> SigningKey:
    return SigningKey.from_private_bytes(name, hashlib.sha256(seed.to_bytes(4, "big")).digest())


def _vkey_string(name: str, type_byte: int, public: bytes, key_id: bytes | None = None) -> str:
    kid = key_id if key_id is not None else keys_mod.compute_key_id(name, public)
    return f"{name}+{kid.hex()}+{base64.b64encode(bytes([type_byte]) + public).decode()}"


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


# --- key files (each scrypt derivation is slow on purpose: this section runs three) --------------------


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


def test_a_cosigner_key_given_as_a_log_key_is_named_as_such() -> None:
    from ledger.cosignature import CosignerKey

    witness = CosignerKey.from_public("witness.example/w1", bytes(range(32)))
    with pytest.raises(VerifierKeyError) as info:
        VerifierKey.parse(str(witness))
    assert f"{witness.keyid_string} is a witness's cosigner key (type 0x04), not a log's verifier key" in str(
        info.value
    )
