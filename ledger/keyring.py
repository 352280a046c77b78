"""Which key may author which entry, at which point of the log (spec section 3, Keys).

The genesis entry names the root key. Only the root key adds or revokes admin and auditor keys; a revocation
takes effect from the entry after it and never un-signs history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.errors import LedgerError
from ledger.keys import VerifierKey, VerifierKeyError

GENESIS = "pool.genesis"
KEY_ADD = "key.add"
KEY_REVOKE = "key.revoke"
KEY_KINDS = (GENESIS, KEY_ADD, KEY_REVOKE)
ROLES = ("root", "admin", "auditor")


class KeyringError(LedgerError, ValueError):
    """An entry whose author may not write it, or a malformed key entry."""


def role_may_author(role: str, kind: str) -> bool:
    if role == "root":
        return kind != GENESIS
    if role == "admin":
        return kind not in KEY_KINDS
    # Auditors read and verify; they write nothing.
    return False


def key_ref(known: Iterable[str], text: str) -> str:
    """The key id string `origin+id` that `text` names: itself, or a bare id that ends exactly one of the
    pool's keys (the short form `log` shows as the author); KeyringError if a bare id names none or
    several."""
    text = text.strip()
    if "+" in text:
        return text  # the full form; the keyring says whether it is a key of this pool
    matches = [k for k in known if k.rsplit("+", 1)[-1] == text.lower()]
    if len(matches) != 1:
        raise KeyringError(f"key: {text!r} names {'no key' if not matches else 'several keys'} of this pool")
    return matches[0]


@dataclass
class KeyState:
    vkey: VerifierKey
    role: str
    added: int
    revoked: int | None = None


@dataclass
class Keyring:
    origin: str
    root: VerifierKey
    keys: dict[str, KeyState] = field(default_factory=dict)

    @classmethod
    def from_genesis(cls, body: Mapping[str, Any]) -> Keyring:
        origin = body.get("origin")
        if not isinstance(origin, str):
            raise KeyringError("genesis: origin missing")
        try:
            root = VerifierKey.parse(str(body.get("root_key", "")))
        except VerifierKeyError as exc:
            raise KeyringError(f"genesis: root_key: {exc}") from exc
        if root.name != origin:
            raise KeyringError(f"genesis: root key is named {root.name!r}, not the origin {origin!r}")
        ring = cls(origin=origin, root=root)
        ring.keys[root.keyid_string] = KeyState(root, "root", 1)
        return ring

    def active(self, author: str) -> KeyState | None:
        state = self.keys.get(author)
        return state if state is not None and state.revoked is None else None

    def check_author(self, seq: int, author: str, kind: str) -> VerifierKey:
        """The key that must have signed entry `seq`, or KeyringError saying why none may."""
        state = self.keys.get(author)
        if state is None:
            raise KeyringError(f"author {author} is not a key of this pool")
        if state.revoked is not None and seq > state.revoked:
            raise KeyringError(f"author {author} was revoked at seq {state.revoked}")
        if not role_may_author(state.role, kind):
            raise KeyringError(f"a key with role {state.role} may not write {kind}")
        return state.vkey

    def parse_add(self, body: Mapping[str, Any]) -> tuple[VerifierKey, str]:
        role = body.get("role")
        if role not in ("admin", "auditor"):
            raise KeyringError(f"key.add: role must be admin or auditor, not {role!r}")
        try:
            vkey = VerifierKey.parse(str(body.get("vkey", "")))
        except VerifierKeyError as exc:
            raise KeyringError(f"key.add: vkey: {exc}") from exc
        if vkey.name != self.origin:
            raise KeyringError(f"key.add: key is named {vkey.name!r}; pool keys are named {self.origin!r}")
        if vkey.keyid_string in self.keys:
            raise KeyringError(f"key.add: key {vkey.keyid_string} is already known")
        return vkey, str(role)

    def parse_revoke(self, body: Mapping[str, Any]) -> str:
        keyid = body.get("key")
        if not isinstance(keyid, str) or keyid not in self.keys:
            raise KeyringError(f"key.revoke: unknown key {keyid!r}")
        state = self.keys[keyid]
        if state.role == "root":
            raise KeyringError("key.revoke: the root key cannot be revoked")
        if state.revoked is not None:
            raise KeyringError(f"key.revoke: key {keyid} was already revoked at seq {state.revoked}")
        return keyid

    def apply(self, seq: int, kind: str, body: Mapping[str, Any]) -> None:
        if kind == KEY_ADD:
            vkey, role = self.parse_add(body)
            self.keys[vkey.keyid_string] = KeyState(vkey, role, seq)
        elif kind == KEY_REVOKE:
            self.keys[self.parse_revoke(body)].revoked = seq
