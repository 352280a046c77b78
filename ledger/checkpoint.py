"""C2SP tlog-checkpoints as C2SP signed notes (Ed25519, signature type 0x01 only).

A signed note is its text (ending in a newline), a blank line, and one or more signature lines::

    — <key name> <base64(4-byte key id || 64-byte Ed25519 signature over the text)>

The checkpoint text is exactly three lines (no extension lines)::

    <origin>
    <tree size, decimal, no leading zeros>
    <base64 of the 32-byte RFC 9162 root hash>

References: https://c2sp.org/signed-note and https://c2sp.org/tlog-checkpoint.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from ledger.errors import LedgerError
from ledger.keys import (
    KEY_ID_SIZE,
    SIGNATURE_SIZE,
    SigningKey,
    VerifierKey,
    b64decode_strict,
    is_valid_key_name,
)

__all__ = [
    "MAX_SIGNATURES",
    "ORIGIN_RE",
    "BadSignatureError",
    "Checkpoint",
    "CheckpointError",
    "MalformedNoteError",
    "NoteError",
    "NoteSignature",
    "UnsignedNoteError",
    "parse_checkpoint",
    "sign_checkpoint",
    "sign_note",
    "split_note",
    "verify_checkpoint",
    "verify_note",
]

ORIGIN_RE = re.compile(r"^[a-z0-9.-]+(/[A-Za-z0-9._-]+)*$")
ROOT_SIZE = 32
MAX_TREE_SIZE = 2**63 - 1
# C2SP signed-note: verifiers MUST accept at least 16 signatures and SHOULD apply a limit.
MAX_SIGNATURES = 100

_SIG_PREFIX = "— "  # U+2014 EM DASH, U+0020 SPACE
_SIZE_RE = re.compile(r"0|[1-9][0-9]*")


class NoteError(LedgerError, ValueError):
    """A signed note (or the checkpoint it carries) does not verify or is malformed."""


class MalformedNoteError(NoteError):
    """The note is not a well-formed C2SP signed note."""


class UnsignedNoteError(NoteError):
    """The note carries no signature by the expected key."""


class BadSignatureError(NoteError):
    """A signature line names the expected key (name and key id) but does not verify."""


class CheckpointError(NoteError):
    """The note text is not a valid v1 checkpoint, or not for the expected origin."""


def _check_note_chars(text: str, what: str) -> None:
    """Signed notes MUST NOT contain ASCII control characters other than newline."""
    for ch in text:
        if ch < " " and ch != "\n":
            raise MalformedNoteError(f"{what} contains control character U+{ord(ch):04X}")


@dataclass(frozen=True)
class Checkpoint:
    """A transparency log tree head: origin, tree size and RFC 9162 root hash."""

    origin: str
    size: int
    root: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not ORIGIN_RE.fullmatch(self.origin):
            raise CheckpointError(
                f"invalid checkpoint origin {self.origin!r}: must match {ORIGIN_RE.pattern}"
            )
        if (
            not isinstance(self.size, int)
            or isinstance(self.size, bool)
            or not 0 <= self.size <= MAX_TREE_SIZE
        ):
            raise CheckpointError(f"invalid checkpoint tree size {self.size!r}")
        if not isinstance(self.root, bytes) or len(self.root) != ROOT_SIZE:
            raise CheckpointError(f"checkpoint root hash must be {ROOT_SIZE} bytes")

    def body(self) -> bytes:
        """The note text: ``origin\\nsize\\nbase64(root)\\n``."""
        return f"{self.origin}\n{self.size}\n{self.root_b64}\n".encode()

    @property
    def root_b64(self) -> str:
        return base64.b64encode(self.root).decode("ascii")


def sign_note(body: bytes, key: SigningKey) -> str:
    """Sign the note text ``body`` with ``key``: ``body + "\\n" + "— <name> <base64(id || sig)>\\n"``."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedNoteError("note text is not valid UTF-8") from None
    if not text.endswith("\n"):
        raise MalformedNoteError("note text must end with a newline")
    _check_note_chars(text, "note text")
    if not is_valid_key_name(key.name):  # pragma: no cover - SigningKey validates its name
        raise MalformedNoteError(f"invalid key name {key.name!r}")
    verifier = key.verifier()
    sig = base64.b64encode(verifier.key_id + key.sign(body)).decode("ascii")
    return f"{text}\n{_SIG_PREFIX}{key.name} {sig}\n"


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a signed note: the key name and the decoded bytes (4-byte key id first)."""

    name: str
    raw: bytes
    line: str  # the line as written, without its newline

    @property
    def key_id(self) -> bytes:
        return self.raw[:KEY_ID_SIZE]


def split_note(text: str) -> tuple[bytes, list[NoteSignature]]:
    """Split a C2SP signed note into its text (the signed body, ending in a newline) and its signature lines,
    checking the form only: no signature is verified here.

    Raises ``MalformedNoteError``.
    """
    try:
        msg = text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedNoteError("note is not valid UTF-8 (lone surrogate)") from None
    _check_note_chars(text, "note")
    split = msg.rfind(b"\n\n")
    if split < 0:
        raise MalformedNoteError("note has no blank line separating its text from the signatures")
    body, sig_block = msg[: split + 1], msg[split + 2 :]
    if not sig_block:
        raise MalformedNoteError("note has no signature lines")
    if not sig_block.endswith(b"\n"):
        raise MalformedNoteError("note does not end with a newline")

    lines = sig_block[:-1].decode("utf-8").split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(f"note has {len(lines)} signatures, more than the limit {MAX_SIGNATURES}")
    signatures = []
    for number, line in enumerate(lines, start=1):
        if not line.startswith(_SIG_PREFIX):
            raise MalformedNoteError(
                f"signature line {number} does not start with an em dash (U+2014) and a space"
            )
        name, sep, sig_b64 = line[len(_SIG_PREFIX) :].partition(" ")
        if not sep or not is_valid_key_name(name):
            raise MalformedNoteError(f"signature line {number} has an invalid key name {name!r}")
        try:
            raw = b64decode_strict(sig_b64)
        except ValueError as exc:
            raise MalformedNoteError(f"signature line {number}: signature is {exc}") from None
        if len(raw) < KEY_ID_SIZE + 1:
            raise MalformedNoteError(f"signature line {number}: signature is too short")
        signatures.append(NoteSignature(name, raw, line))
    return body, signatures


def verify_note(text: str, vkey: VerifierKey) -> bytes:
    """Verify a C2SP signed note against ``vkey`` and return its text (the signed body).

    The note is accepted if at least one signature line carries ``vkey``'s name and key id and
    every such line verifies. Signature lines by other keys are ignored (but must be well formed).
    Raises ``MalformedNoteError``, ``UnsignedNoteError`` or ``BadSignatureError`` (all ``NoteError``).
    """
    body, signatures = split_note(text)
    matched = 0
    for signature in signatures:
        if signature.name != vkey.name or signature.key_id != vkey.key_id:
            continue  # another key's signature (e.g. a witness): ignored, as C2SP requires
        sig = signature.raw[KEY_ID_SIZE:]
        if len(sig) != SIGNATURE_SIZE or not vkey.verify(sig, body):
            raise BadSignatureError(f"signature by key {vkey.keyid_string} is invalid")
        matched += 1
    if matched == 0:
        raise UnsignedNoteError(f"note has no signature by key {vkey.keyid_string}")
    return body


def parse_checkpoint(body: bytes, expected_origin: str | None) -> Checkpoint:
    """Parse a v1 checkpoint body strictly (exactly three lines, no extension lines).

    If ``expected_origin`` is given, a checkpoint for any other origin is rejected.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError("checkpoint is not valid UTF-8") from None
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) != 3:
        raise CheckpointError(
            f"checkpoint must have exactly three lines (origin, tree size, root hash), found {len(lines)}"
        )
    origin, size_text, root_text = lines
    if not ORIGIN_RE.fullmatch(origin):
        raise CheckpointError(f"invalid checkpoint origin {origin!r}: must match {ORIGIN_RE.pattern}")
    if expected_origin is not None and origin != expected_origin:
        raise CheckpointError(
            f"checkpoint origin {origin!r} does not match the expected origin {expected_origin!r}"
        )
    if not _SIZE_RE.fullmatch(size_text):
        raise CheckpointError(
            f"invalid checkpoint tree size {size_text!r}: must be decimal digits without leading zeros"
        )
    if len(size_text) > len(str(MAX_TREE_SIZE)) or int(size_text) > MAX_TREE_SIZE:
        raise CheckpointError(f"checkpoint tree size {size_text} is too large")
    try:
        root = b64decode_strict(root_text)
    except ValueError as exc:
        raise CheckpointError(f"invalid checkpoint root hash: {exc}") from None
    if len(root) != ROOT_SIZE:
        raise CheckpointError(f"checkpoint root hash is {len(root)} bytes, expected {ROOT_SIZE}")
    return Checkpoint(origin=origin, size=int(size_text), root=root)


def sign_checkpoint(cp: Checkpoint, key: SigningKey) -> str:
    """Sign ``cp`` as a C2SP signed note. The key must be named with the checkpoint's origin."""
    if key.name != cp.origin:
        raise CheckpointError(
            f"key {key.name!r} cannot sign a checkpoint for origin {cp.origin!r}: "
            "the log key must be named with the log's origin"
        )
    return sign_note(cp.body(), key)


def verify_checkpoint(text: str, vkey: VerifierKey, expected_origin: str | None) -> Checkpoint:
    """Verify a signed checkpoint with ``vkey`` and parse it; reject another origin than expected."""
    return parse_checkpoint(verify_note(text, vkey), expected_origin)
