"""Ed25519 keys: C2SP signed-note verifier key strings and passphrase-encrypted key files.

Verifier key string (C2SP signed-note, signature type 0x01 = Ed25519)::

    <name>+<8 lower-case hex key id>+<base64(0x01 || 32-byte public key)>

    key id = SHA-256(name || "\\n" || 0x01 || public key)[:4]

The *key id string* ``<name>+<8 hex>`` (the verifier key string without its last part) names the
key wherever a short reference is needed (for example an entry's author).

Private keys live in a small JSON file (``patentpool-key/v1``): the raw 32-byte Ed25519 private key
encrypted with AES-256-GCM under a key derived from the passphrase by scrypt (N=2^17, r=8, p=1,
16-byte random salt); the key name and public key are bound as associated data. The file is created
with mode 0600, written atomically and never overwritten; a file readable by group or others is
refused when loading. A key made for another purpose than a pool key (a witness's cosigner key,
`ledger.cosignature`) carries a ``purpose`` field, bound as associated data too, so that neither kind of
key file is ever loaded as the other.

This module knows nothing about what the keys sign: domain separation is the caller's job.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import getpass
import hashlib
import json
import os
import re
import secrets
import stat
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ledger.errors import LedgerError

__all__ = [
    "ED25519_TYPE",
    "KEY_FILE_FORMAT",
    "PASSPHRASE_ENV",
    "POOL_KEY",
    "SCRYPT_N",
    "SCRYPT_P",
    "SCRYPT_R",
    "KeyFileError",
    "SigningKey",
    "VerifierKey",
    "VerifierKeyError",
    "b64decode_strict",
    "compute_key_id",
    "is_valid_key_name",
    "load_key",
    "passphrase_from_env_or_prompt",
    "read_key_name",
    "read_purpose",
    "read_verifier",
    "save_key",
    "split_keyid_string",
]

ED25519_TYPE = 0x01
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
KEY_ID_SIZE = 4

KEY_FILE_FORMAT = "patentpool-key/v1"
# The purpose of a key file without a `purpose` field (every file written before there were others).
POOL_KEY = "pool"
PASSPHRASE_ENV = "PATENTPOOL_PASSPHRASE"
NO_PASSPHRASE = f"no passphrase: set {PASSPHRASE_ENV} or run on a terminal"
CIPHER_NAME = "AES-256-GCM"
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
SALT_SIZE = 16
NONCE_SIZE = 12
TAG_SIZE = 16
# Upper bounds accepted when loading, so a hostile key file cannot make us allocate gigabytes.
_SCRYPT_MAX_N = 2**20
_SCRYPT_MAX_R = 32
_SCRYPT_MAX_P = 16
_MAX_KEY_FILE_SIZE = 64 * 1024

_NAME_RULE = "must be non-empty, without '+', spaces or control characters"
_HEX8_RE = re.compile(r"[0-9a-f]{8}")
_B64_RE = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


class KeyFileError(LedgerError):
    """A key file cannot be used: wrong passphrase, unsafe permissions, malformed, or already exists."""


# C2SP tlog-cosignature's key type: recognised here only to say that such a key is not a log's.
COSIGNER_TYPE = 0x04


class VerifierKeyError(LedgerError, ValueError):
    """A verifier key string (or key id string) is malformed or inconsistent."""


def b64decode_strict(text: str) -> bytes:
    """Decode padded standard base64 (RFC 4648 section 4), accepting only the canonical spelling.

    Raises ValueError on any other spelling (missing padding, URL-safe alphabet, whitespace,
    non-zero trailing bits).
    """
    if not _B64_RE.fullmatch(text):
        raise ValueError("not padded standard base64")
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as exc:  # pragma: no cover - the regex already rules these out
        raise ValueError(f"not padded standard base64: {exc}") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("non-canonical base64 (non-zero padding bits)")
    return raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def is_valid_key_name(name: str) -> bool:
    """C2SP signed-note key name: non-empty, no Unicode space, no '+', and no control character."""
    if not name:
        return False
    for ch in name:
        if ch == "+" or ch.isspace() or unicodedata.category(ch) in ("Zs", "Zl", "Zp", "Cc", "Cs"):
            return False
    return True


def compute_key_id(name: str, public: bytes, key_type: int = ED25519_TYPE) -> bytes:
    """First 4 bytes of SHA-256(name || "\\n" || type || public key); type 0x01 for a pool (note) key, 0x04
    for a cosigner's (ledger.cosignature)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([key_type]) + public).digest()[:KEY_ID_SIZE]


def key_string_parts(
    text: str, noun: str, invalid_name: Callable[[str], str], key_type: int
) -> tuple[str, str, bytes]:
    """``<name>+<hex key id>+<base64(type || public key)>`` split at its first two '+' (base64 may contain
    '+'), strictly: (name, hex key id, the decoded type byte and key). The errors name the key as `noun`
    ("verifier key", "witness key"); `invalid_name` words the one for a bad name; the length error names
    `key_type`, which the caller checks."""
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise VerifierKeyError(f"malformed {noun} {text!r}: expected <name>+<8 hex key id>+<base64 key>")
    name, hex_id, key_b64 = parts
    if not is_valid_key_name(name):
        raise VerifierKeyError(f"malformed {noun}: {invalid_name(name)}")
    if not _HEX8_RE.fullmatch(hex_id):
        raise VerifierKeyError(f"malformed {noun}: key id {hex_id!r} must be exactly 8 lower-case hex digits")
    try:
        raw = b64decode_strict(key_b64)
    except ValueError as exc:
        raise VerifierKeyError(f"malformed {noun}: key part is {exc}") from None
    if len(raw) != 1 + PUBLIC_KEY_SIZE:
        raise VerifierKeyError(
            f"malformed {noun}: key part decodes to {len(raw)} bytes, "
            f"expected {1 + PUBLIC_KEY_SIZE} (type byte 0x{key_type:02x} and a 32-byte Ed25519 key)"
        )
    return name, hex_id, raw


def split_keyid_string(text: str) -> tuple[str, bytes]:
    """Split a key id string ``<name>+<8 lower-case hex>`` into (name, 4-byte key id)."""
    name, sep, hex_id = text.partition("+")
    if not sep:
        raise VerifierKeyError(f"malformed key id {text!r}: expected <name>+<8 lower-case hex digits>")
    if not is_valid_key_name(name):
        raise VerifierKeyError(f"malformed key id {text!r}: invalid key name {name!r}")
    if not _HEX8_RE.fullmatch(hex_id):
        raise VerifierKeyError(f"malformed key id {text!r}: key id must be 8 lower-case hex digits")
    return name, bytes.fromhex(hex_id)


@dataclass(frozen=True)
class VerifierKey:
    """An Ed25519 public key with its C2SP signed-note name and key id."""

    name: str
    key_id: bytes
    public: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not is_valid_key_name(self.name):
            raise VerifierKeyError(f"invalid key name {self.name!r}: {_NAME_RULE}")
        if not isinstance(self.public, bytes) or len(self.public) != PUBLIC_KEY_SIZE:
            raise VerifierKeyError(f"Ed25519 public key must be {PUBLIC_KEY_SIZE} bytes")
        if not isinstance(self.key_id, bytes) or len(self.key_id) != KEY_ID_SIZE:
            raise VerifierKeyError(f"key id must be {KEY_ID_SIZE} bytes")
        expected = compute_key_id(self.name, self.public)
        if self.key_id != expected:
            raise VerifierKeyError(
                f"key id {self.key_id.hex()} does not match name and public key (expected {expected.hex()})"
            )

    @classmethod
    def from_public(cls, name: str, public: bytes) -> VerifierKey:
        """Build the verifier key for ``public`` under ``name``, computing its key id."""
        if not isinstance(public, bytes) or len(public) != PUBLIC_KEY_SIZE:
            raise VerifierKeyError(f"Ed25519 public key must be {PUBLIC_KEY_SIZE} bytes")
        return cls(name=name, key_id=compute_key_id(name, public), public=public)

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """Parse ``<name>+<hex key id>+<base64(0x01 || public key)>`` strictly.

        The string is split at its first two '+' only (base64 may contain '+').
        """
        name, hex_id, raw = key_string_parts(
            text, "verifier key", lambda name: f"invalid key name {name!r} ({_NAME_RULE})", ED25519_TYPE
        )
        if raw[0] == COSIGNER_TYPE:
            raise VerifierKeyError(
                f"{name}+{hex_id} is a witness's cosigner key (type 0x04), not a log's verifier key: "
                "give the pool's key (`patentpool key show`); a witness's key goes with --witness"
            )
        if raw[0] != ED25519_TYPE:
            raise VerifierKeyError(
                f"unsupported verifier key type 0x{raw[0]:02x}: only Ed25519 (0x01) is supported"
            )
        public = raw[1:]
        key_id = bytes.fromhex(hex_id)
        expected = compute_key_id(name, public)
        if key_id != expected:
            raise VerifierKeyError(
                f"verifier key id {hex_id} does not match its name and public key (expected {expected.hex()})"
            )
        return cls(name=name, key_id=key_id, public=public)

    def __str__(self) -> str:
        return f"{self.keyid_string}+{_b64(bytes([ED25519_TYPE]) + self.public)}"

    @property
    def keyid_string(self) -> str:
        """``<name>+<8 lower-case hex key id>``: the verifier key string without its last part."""
        return f"{self.name}+{self.key_id.hex()}"

    def verify(self, signature: bytes, message: bytes) -> bool:
        """Verify an Ed25519 signature (RFC 8032, strict as ``cryptography`` does)."""
        if len(signature) != SIGNATURE_SIZE:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True, eq=False)
class SigningKey:
    """An Ed25519 private key together with its key name."""

    name: str
    private: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not is_valid_key_name(self.name):
            raise VerifierKeyError(f"invalid key name {self.name!r}: {_NAME_RULE}")

    @classmethod
    def generate(cls, name: str) -> SigningKey:
        return cls(name=name, private=Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, name: str, raw: bytes) -> SigningKey:
        """Build a key from the raw 32-byte Ed25519 private key (RFC 8032 seed)."""
        if len(raw) != 32:
            raise ValueError("Ed25519 private key must be 32 bytes")
        return cls(name=name, private=Ed25519PrivateKey.from_private_bytes(raw))

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature (64 bytes) over ``message``."""
        return self.private.sign(message)

    @property
    def public_bytes(self) -> bytes:
        return self.private.public_key().public_bytes(
            encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
        )

    def private_bytes(self) -> bytes:
        """The raw 32-byte private key. Handle with care."""
        return self.private.private_bytes(
            encoding=serialization.Encoding.Raw,
            format=serialization.PrivateFormat.Raw,
            encryption_algorithm=serialization.NoEncryption(),
        )

    def verifier(self) -> VerifierKey:
        return VerifierKey.from_public(self.name, self.public_bytes)


# --- encrypted key files -----------------------------------------------------------------------------


def _aad(name: str, public: bytes, purpose: str = POOL_KEY) -> bytes:
    aad = KEY_FILE_FORMAT.encode("ascii") + b"\n" + name.encode("utf-8") + b"\n" + public
    # A pool key's associated data is what it always was, so existing key files still open.
    return aad if purpose == POOL_KEY else aad + b"\npurpose " + purpose.encode("ascii")


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret)


def save_key(path: str | os.PathLike[str], key: SigningKey, passphrase: str, purpose: str = POOL_KEY) -> None:
    """Encrypt ``key`` under ``passphrase`` and write it to ``path`` (mode 0600, atomically).

    Refuses to overwrite an existing file. ``purpose`` other than a pool key is recorded in the file.
    """
    target = Path(path)
    _checked_purpose(purpose)
    if not passphrase:
        raise KeyFileError("refusing to encrypt a key file with an empty passphrase")
    if os.path.lexists(target):
        raise KeyFileError(f"refusing to overwrite existing key file {target}")
    public = key.public_bytes
    salt = secrets.token_bytes(SALT_SIZE)
    nonce = secrets.token_bytes(NONCE_SIZE)
    kek = _derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    ciphertext = AESGCM(kek).encrypt(nonce, key.private_bytes(), _aad(key.name, public, purpose))
    doc: dict[str, Any] = {
        "format": KEY_FILE_FORMAT,
        **({} if purpose == POOL_KEY else {"purpose": purpose}),
        "name": key.name,
        "public": _b64(public),
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
        "cipher": CIPHER_NAME,
        "nonce": _b64(nonce),
        "ciphertext": _b64(ciphertext),
    }
    data = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    directory = target.parent
    tmp = directory / f".{target.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            # link() fails if the target exists, so a file created meanwhile is never replaced.
            os.link(tmp, target)
        except FileExistsError:
            raise KeyFileError(f"refusing to overwrite existing key file {target}") from None
        except OSError:
            # Filesystem without hard links: fall back to rename after a last existence check.
            if os.path.lexists(target):
                raise KeyFileError(f"refusing to overwrite existing key file {target}") from None
            os.rename(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    try:
        dfd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - platform without directory fds
        return
    try:
        os.fsync(dfd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(dfd)


def _read_key_doc(path: Path, check_mode: bool) -> dict[str, Any]:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise KeyFileError(f"key file {path} does not exist") from None
    except OSError as exc:
        raise KeyFileError(f"cannot open key file {path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise KeyFileError(f"key file {path} is not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        if check_mode and os.name == "posix" and mode & 0o077:
            raise KeyFileError(
                f"key file {path} is accessible by group or others (mode {mode:04o}); "
                f"restrict it with: chmod 600 {path}"
            )
        if st.st_size > _MAX_KEY_FILE_SIZE:
            raise KeyFileError(f"malformed key file {path}: too large")
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    try:
        doc = json.loads(b"".join(chunks).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise KeyFileError(f"malformed key file {path}: not a JSON document") from None
    if not isinstance(doc, dict):
        raise KeyFileError(f"malformed key file {path}: not a JSON object")
    if doc.get("format") != KEY_FILE_FORMAT:
        raise KeyFileError(
            f"malformed key file {path}: format is {doc.get('format')!r}, expected {KEY_FILE_FORMAT!r}"
        )
    name = doc.get("name")
    if not isinstance(name, str) or not is_valid_key_name(name):
        raise KeyFileError(f"malformed key file {path}: invalid key name")
    purpose = doc.get("purpose", POOL_KEY)
    if (
        not isinstance(purpose, str)
        or not _PURPOSE_RE.fullmatch(purpose)
        or ("purpose" in doc and purpose == POOL_KEY)
    ):
        raise KeyFileError(f"malformed key file {path}: invalid purpose")
    return doc


_PURPOSE_RE = re.compile(r"[a-z]{1,32}")


def _checked_purpose(purpose: str) -> str:
    if not _PURPOSE_RE.fullmatch(purpose):
        raise KeyFileError(f"invalid key purpose {purpose!r}")
    return purpose


def read_purpose(path: str | os.PathLike[str]) -> str:
    """What the key file is for (``POOL_KEY``, or e.g. ``"cosigner"``), without the passphrase."""
    purpose: str = _read_key_doc(Path(path), check_mode=False).get("purpose", POOL_KEY)
    return purpose


def _field_b64(doc: dict[str, Any], key: str, path: Path, size: int | None = None) -> bytes:
    value = doc.get(key)
    if not isinstance(value, str):
        raise KeyFileError(f"malformed key file {path}: missing {key!r}")
    try:
        raw = b64decode_strict(value)
    except ValueError:
        raise KeyFileError(f"malformed key file {path}: {key!r} is not base64") from None
    if size is not None and len(raw) != size:
        raise KeyFileError(f"malformed key file {path}: {key!r} must be {size} bytes")
    return raw


def _field_int(doc: dict[str, Any], key: str, path: Path, low: int, high: int) -> int:
    value = doc.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise KeyFileError(f"malformed key file {path}: kdf {key!r} must be an integer in [{low}, {high}]")
    return value


def read_key_name(path: str | os.PathLike[str]) -> str:
    """The key's name (for a pool key, the origin it was made for), without the passphrase."""
    p = Path(path)
    name: str = _read_key_doc(p, check_mode=False)["name"]
    return name


def read_verifier(path: str | os.PathLike[str]) -> VerifierKey:
    """The verifier key stored in a key file, without the passphrase.

    The stored public key is only authenticated (as associated data) when ``load_key`` decrypts the
    file; use this for display, not as a trust anchor.
    """
    p = Path(path)
    doc = _read_key_doc(p, check_mode=False)
    public = _field_b64(doc, "public", p, PUBLIC_KEY_SIZE)
    return VerifierKey.from_public(doc["name"], public)


def load_key(path: str | os.PathLike[str], passphrase: str, purpose: str = POOL_KEY) -> SigningKey:
    """Decrypt the key file at ``path``, which must be a key for ``purpose`` (a pool key by default).

    Refuses a file readable or writable by group or others, or made for another purpose; a wrong
    passphrase (or a modified file) raises ``KeyFileError("wrong passphrase or corrupted key file <path>")``.
    """
    p = Path(path)
    doc = _read_key_doc(p, check_mode=True)
    name: str = doc["name"]
    found = doc.get("purpose", POOL_KEY)
    if found != purpose:
        kinds = _PURPOSE_NAMES.get(found, found), _PURPOSE_NAMES.get(purpose, purpose)
        raise KeyFileError(f"key file {p} is a {kinds[0]}, not a {kinds[1]}")
    public = _field_b64(doc, "public", p, PUBLIC_KEY_SIZE)
    kdf = doc.get("kdf")
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        raise KeyFileError(f"malformed key file {p}: kdf must be scrypt")
    n = _field_int(kdf, "n", p, SCRYPT_N, _SCRYPT_MAX_N)
    if n & (n - 1):
        raise KeyFileError(f"malformed key file {p}: kdf 'n' must be a power of two")
    r = _field_int(kdf, "r", p, SCRYPT_R, _SCRYPT_MAX_R)
    p_ = _field_int(kdf, "p", p, SCRYPT_P, _SCRYPT_MAX_P)
    salt = _field_b64(kdf, "salt", p)
    if len(salt) < SALT_SIZE:
        raise KeyFileError(f"malformed key file {p}: kdf salt must be at least {SALT_SIZE} bytes")
    if doc.get("cipher") != CIPHER_NAME:
        raise KeyFileError(f"malformed key file {p}: cipher must be {CIPHER_NAME}")
    nonce = _field_b64(doc, "nonce", p, NONCE_SIZE)
    ciphertext = _field_b64(doc, "ciphertext", p, 32 + TAG_SIZE)
    kek = _derive(passphrase, salt, n, r, p_)
    try:
        raw = AESGCM(kek).decrypt(nonce, ciphertext, _aad(name, public, purpose))
    except InvalidTag:
        raise KeyFileError(f"wrong passphrase or corrupted key file {p}") from None
    key = SigningKey.from_private_bytes(name, raw)
    if key.public_bytes != public:
        raise KeyFileError(f"corrupted key file {p}: private key does not match its public key")
    return key


_PURPOSE_NAMES = {POOL_KEY: "pool key", "cosigner": "witness (cosigner) key"}


def passphrase_from_env_or_prompt(confirm: bool, prompt: str = "Key passphrase: ") -> str:
    """The passphrase from ``PATENTPOOL_PASSPHRASE`` if set, else asked on the terminal; with neither,
    KeyFileError.

    With ``confirm`` (creating a key file) the prompt is repeated and both answers must match.
    An empty passphrase is refused.
    """
    env = os.environ.get(PASSPHRASE_ENV)
    if env is not None:
        if not env:
            raise KeyFileError(f"{PASSPHRASE_ENV} is set but empty")
        return env
    # With no terminal on stdin (a script, a pipe, cron), getpass would read the controlling terminal
    # behind the caller's back or, with none, warn (GetPassWarning) and read stdin with echo on: refuse.
    if sys.stdin is None or not sys.stdin.isatty():
        raise KeyFileError(NO_PASSPHRASE)
    try:
        first = getpass.getpass(prompt)
        if not first:
            raise KeyFileError("empty passphrase")
        if confirm and getpass.getpass("Repeat passphrase: ") != first:
            raise KeyFileError("passphrases do not match")
    except EOFError:
        raise KeyFileError(NO_PASSPHRASE) from None
    return first
