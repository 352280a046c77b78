"""C2SP tlog-cosignature v1 (Ed25519): a witness's timestamped signature over a log's checkpoint.

A cosigner (witness or auditor) has its own Ed25519 key and name, never a log key. Its key id and verifier
key string use signature type 0x04 (https://c2sp.org/tlog-cosignature, "Format")::

    key id       = SHA-256(<name> || "\\n" || 0x04 || 32-byte public key)[:4]
    verifier key = <name>+<8 lower-case hex key id>+<base64(0x04 || public key)>

A cosignature is a C2SP signed-note signature line on the checkpoint::

    — <name> base64(key id (4) || timestamp (8, big-endian) || Ed25519 signature (64))

and the signed message is ``cosignature/v1\\ntime <timestamp>\\n`` followed by the whole note text of the
checkpoint (its body, final newline included, no signature lines). The timestamp is POSIX seconds, at most
2^63 - 1. The Ed25519 message does not commit to the cosigner's name, so one key must serve one name only.

What a cosignature states (C2SP): as of its time, the consistent tree head with the largest size the
cosigner has observed for the log has this root. What a cosigner also checked (here: a full verification of
the ledger up to the checkpoint) is a statement its operator makes out of band.

This module knows nothing of what the log holds.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.checkpoint import MalformedNoteError, NoteError, split_note
from ledger.keys import (
    KEY_ID_SIZE,
    PUBLIC_KEY_SIZE,
    SIGNATURE_SIZE,
    SigningKey,
    VerifierKeyError,
    compute_key_id,
    is_valid_key_name,
    key_string_parts,
    load_key,
    save_key,
)

__all__ = [
    "COSIGNATURE_TYPE",
    "COSIGNER_PURPOSE",
    "MAX_TIMESTAMP",
    "BadCosignatureError",
    "Cosignature",
    "Cosigner",
    "CosignerKey",
    "cosign",
    "cosignature_message",
    "cosigner_key_id",
    "load_cosigner",
    "save_cosigner",
    "verify_cosignatures",
]

COSIGNATURE_TYPE = 0x04
COSIGNER_PURPOSE = "cosigner"  # the purpose recorded in its key file (ledger.keys)
MAX_TIMESTAMP = 2**63 - 1
TIMESTAMP_SIZE = 8
COSIGNATURE_SIZE = KEY_ID_SIZE + TIMESTAMP_SIZE + SIGNATURE_SIZE
_HEADER = b"cosignature/v1\n"
_SIG_PREFIX = "— "


class BadCosignatureError(NoteError):
    """A cosignature line names a cosigner key (name and key id) but is malformed or does not verify."""


def cosigner_key_id(name: str, public: bytes) -> bytes:
    """First 4 bytes of SHA-256(name || "\\n" || 0x04 || public key)."""
    return compute_key_id(name, public, COSIGNATURE_TYPE)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class CosignerKey:
    """A cosigner's Ed25519 public key with its name and (type 0x04) key id."""

    name: str
    key_id: bytes
    public: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not is_valid_key_name(self.name):
            raise VerifierKeyError(f"invalid cosigner name {self.name!r}")
        if not isinstance(self.public, bytes) or len(self.public) != PUBLIC_KEY_SIZE:
            raise VerifierKeyError(f"Ed25519 public key must be {PUBLIC_KEY_SIZE} bytes")
        if self.key_id != cosigner_key_id(self.name, self.public):
            raise VerifierKeyError("cosigner key id does not match its name and public key")

    @classmethod
    def from_public(cls, name: str, public: bytes) -> CosignerKey:
        return cls(name, cosigner_key_id(name, public), public)

    @classmethod
    def parse(cls, text: str) -> CosignerKey:
        """Parse ``<name>+<hex key id>+<base64(0x04 || public key)>`` strictly (split at the first two +)."""
        name, hex_id, raw = key_string_parts(
            text, "witness key", lambda name: f"invalid name {name!r}", COSIGNATURE_TYPE
        )
        if raw[0] != COSIGNATURE_TYPE:
            hint = " (a pool key, 0x01, is not a witness key)" if raw[0] == 0x01 else ""
            raise VerifierKeyError(
                f"unsupported witness key type 0x{raw[0]:02x}: a cosigner key is Ed25519 "
                f"cosignature/v1 (0x04){hint}"
            )
        public = raw[1:]
        expected = cosigner_key_id(name, public)
        if bytes.fromhex(hex_id) != expected:
            raise VerifierKeyError(
                f"witness key id {hex_id} does not match its name and public key (expected {expected.hex()})"
            )
        return cls(name, expected, public)

    def __str__(self) -> str:
        return f"{self.keyid_string}+{_b64(bytes([COSIGNATURE_TYPE]) + self.public)}"

    @property
    def keyid_string(self) -> str:
        return f"{self.name}+{self.key_id.hex()}"

    def verify(self, cosignature: Cosignature, body: bytes) -> bool:
        """Whether ``cosignature`` (by this key's name and id) signs the note text ``body``."""
        if cosignature.name != self.name or cosignature.key_id != self.key_id:
            return False
        if len(cosignature.signature) != SIGNATURE_SIZE:
            return False
        try:
            # RFC 8032, strict as `cryptography` is (S < L, canonical encodings), as for pool signatures.
            Ed25519PublicKey.from_public_bytes(self.public).verify(
                cosignature.signature, cosignature_message(body, cosignature.timestamp)
            )
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True, eq=False)
class Cosigner:
    """A cosigner's private key and name."""

    key: SigningKey

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        return cls(SigningKey.generate(name))

    @property
    def name(self) -> str:
        return self.key.name

    def verifier(self) -> CosignerKey:
        return CosignerKey.from_public(self.key.name, self.key.public_bytes)


@dataclass(frozen=True)
class Cosignature:
    """One cosignature line, parsed (not verified)."""

    name: str
    key_id: bytes
    timestamp: int
    signature: bytes

    @property
    def line(self) -> str:
        """The signature line, without its newline."""
        blob = self.key_id + self.timestamp.to_bytes(TIMESTAMP_SIZE, "big") + self.signature
        return f"{_SIG_PREFIX}{self.name} {_b64(blob)}"

    @property
    def keyid_string(self) -> str:
        return f"{self.name}+{self.key_id.hex()}"

    @property
    def time(self) -> str:
        """The timestamp in UTC, ISO 8601, for people."""
        try:
            return datetime.fromtimestamp(self.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (OverflowError, ValueError, OSError):
            return f"POSIX time {self.timestamp}"

    @classmethod
    def from_raw(cls, name: str, raw: bytes) -> Cosignature:
        if len(raw) != COSIGNATURE_SIZE:
            raise BadCosignatureError(
                f"cosignature by {name} is {len(raw)} bytes, a cosignature/v1 is {COSIGNATURE_SIZE} "
                "(key id, 8-byte timestamp, Ed25519 signature)"
            )
        timestamp = int.from_bytes(raw[KEY_ID_SIZE : KEY_ID_SIZE + TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP:
            raise BadCosignatureError(f"cosignature by {name}: timestamp {timestamp} exceeds 2^63 - 1")
        return cls(name, raw[:KEY_ID_SIZE], timestamp, raw[KEY_ID_SIZE + TIMESTAMP_SIZE :])


def cosignature_message(body: bytes, timestamp: int) -> bytes:
    """``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint's note text."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise ValueError(f"cosignature timestamp {timestamp} is not in [0, 2^63 - 1]")
    if not body.endswith(b"\n"):
        raise MalformedNoteError("note text must end with a newline")
    return _HEADER + b"time " + str(timestamp).encode("ascii") + b"\n" + body


def cosign(body: bytes, cosigner: Cosigner, timestamp: int) -> Cosignature:
    """The cosignature of the note text ``body`` at ``timestamp`` (POSIX seconds)."""
    key = cosigner.verifier()
    signature = cosigner.key.sign(cosignature_message(body, timestamp))
    return Cosignature(key.name, key.key_id, timestamp, signature)


def verify_cosignatures(note: str, key: CosignerKey) -> tuple[bytes, list[Cosignature]]:
    """The note text and the cosignatures in ``note`` by ``key`` (matched by name and key id), each verified.

    Lines by other keys (the log's, other witnesses') are ignored, as C2SP requires; a line that names this
    key and does not verify makes the note malformed (``BadCosignatureError``). The list may be empty."""
    body, signatures = split_note(note)
    found = []
    for signature in signatures:
        if signature.name != key.name or signature.key_id != key.key_id:
            continue
        cosignature = Cosignature.from_raw(signature.name, signature.raw)
        if not key.verify(cosignature, body):
            raise BadCosignatureError(
                f"cosignature by {key.keyid_string} (time {cosignature.timestamp}) does not verify"
            )
        found.append(cosignature)
    return body, found


def save_cosigner(path: str | os.PathLike[str], cosigner: Cosigner, passphrase: str) -> None:
    """The key file format of pool keys (ledger.keys), marked as a cosigner key."""
    save_key(path, cosigner.key, passphrase, purpose=COSIGNER_PURPOSE)


def load_cosigner(path: str | os.PathLike[str], passphrase: str) -> Cosigner:
    """Load a cosigner key file; a pool key file is refused (and a pool command refuses this one)."""
    return Cosigner(load_key(path, passphrase, purpose=COSIGNER_PURPOSE))
