"""Helpers shared by the tests/test_ledger_*.py files: raw access to a pool's tables behind patentpool's back,
crafting signed entries, and putting a shared pool's tables back as they were after a test changed them."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import rfc8785
from sqlalchemy import text

from ledger import triggers
from ledger.entry import ZERO_HASH, Entry, entry_hash, signing_message, unsigned_from_raw
from ledger.keys import SigningKey
from ledger.schema import checkpoints, entries, nodes
from ledger.store import Store

_TABLES = (entries, nodes, checkpoints)


def seeded_key(name: str, seed: int) -> SigningKey:
    """A deterministic Ed25519 key named `name`."""
    return SigningKey.from_private_bytes(name, hashlib.sha256(b"patentpool-test-%d" % seed).digest())


def sign_entry(
    key: SigningKey,
    origin: str,
    *,
    seq: int,
    prev: str,
    kind: str = "test.note",
    body: Mapping[str, Any] | None = None,
    time: str = "2026-01-31T09:00:00.000000Z",
    author: str | None = None,
) -> Entry:
    """An entry signed by `key` for the pool `origin` (the author defaults to `key`'s key id)."""
    unsigned = Entry(
        seq=seq,
        time=time,
        kind=kind,
        author=author if author is not None else key.verifier().keyid_string,
        prev=prev,
        body=dict(body if body is not None else {"n": seq}),
        sig="",
    )
    sig = key.sign(signing_message(origin, unsigned.unsigned_bytes()))
    return Entry(
        seq=unsigned.seq,
        time=unsigned.time,
        kind=unsigned.kind,
        author=unsigned.author,
        prev=unsigned.prev,
        body=unsigned.body,
        sig=base64.b64encode(sig).decode(),
    )


def signed_genesis(key: SigningKey, origin: str, time: str = "2026-01-31T09:00:00.000000Z") -> bytes:
    """The stored bytes of a minimal genesis (seq 1) founding `origin` with `key` as its root key."""
    body = {"name": "t", "origin": origin, "root_key": str(key.verifier())}
    entry = sign_entry(key, origin, seq=1, prev=ZERO_HASH, kind="pool.genesis", body=body, time=time)
    return entry.encode()


def jcs(obj: Any) -> bytes:
    return bytes(rfc8785.dumps(obj))


def resign(obj: dict[str, Any], key: SigningKey, origin: str) -> dict[str, Any]:
    """`obj` (an entry as a dict) with its sig replaced by `key`'s signature over its other fields."""
    unsigned = {k: v for k, v in obj.items() if k != "sig"}
    sig = key.sign(signing_message(origin, jcs(unsigned)))
    return {**unsigned, "sig": base64.b64encode(sig).decode()}


# --- raw database access (as an attacker or a careless DBA would) -------------------------------------------
def sign_raw(raw: bytes, key: SigningKey, origin: str) -> bytes:
    """Entry bytes (any spelling, with a top-level sig member) re-signed by `key` as they stand: what a key
    holder could store."""
    sig = json.loads(raw)["sig"]
    unsigned = unsigned_from_raw(raw, sig)
    new_sig = base64.b64encode(key.sign(signing_message(origin, unsigned))).decode()
    return raw.replace(f'"sig":"{sig}"'.encode(), f'"sig":"{new_sig}"'.encode())


def execute(url: str, sql: str, params: Mapping[str, Any] | None = None) -> None:
    store = Store(url)
    try:
        with store.engine.begin() as conn:
            conn.execute(text(sql), dict(params or {}))
    finally:
        store.close()


def drop_triggers(url: str) -> None:
    store = Store(url)
    try:
        with store.engine.begin() as conn:
            for statement in triggers.drop_statements(store.dialect):
                conn.execute(text(statement))
    finally:
        store.close()


def create_triggers(url: str) -> None:
    store = Store(url)
    try:
        with store.engine.begin() as conn:
            for statement in triggers.create_statements(store.dialect):
                conn.execute(text(statement))
    finally:
        store.close()


def raw_rows(url: str) -> dict[int, bytes]:
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            return {
                int(r.seq): bytes(r.raw) for r in conn.execute(text("SELECT seq, raw FROM ledger_entries"))
            }
    finally:
        store.close()


def set_raw(url: str, seq: int, raw: bytes) -> None:
    """Overwrite the stored bytes of entry `seq` (triggers must be dropped); the side columns stay as they
    were,
    as they would after a careless hand edit of the JSON."""
    execute(url, "UPDATE ledger_entries SET raw = :raw WHERE seq = :seq", {"raw": raw, "seq": seq})


def delete_entries(url: str, seqs: Sequence[int]) -> None:
    for seq in seqs:
        execute(url, "DELETE FROM ledger_entries WHERE seq = :seq", {"seq": seq})


def insert_entry_row(url: str, entry: Entry) -> None:
    """Insert a crafted entry row with its side columns filled in as patentpool would."""
    raw = entry.encode()
    execute(
        url,
        "INSERT INTO ledger_entries (seq, prev, hash, kind, author, time, raw) "
        "VALUES (:seq, :prev, :hash, :kind, :author, :time, :raw)",
        {
            "seq": entry.seq,
            "prev": bytes.fromhex(entry.prev),
            "hash": entry_hash(raw),
            "kind": entry.kind,
            "author": entry.author,
            "time": entry.time,
            "raw": raw,
        },
    )


def edit_entry(url: str, seq: int, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change fields of stored entry `seq`, keeping its bytes canonical JCS; returns the new object."""
    obj = json.loads(raw_rows(url)[seq])
    obj.update(changes)
    set_raw(url, seq, jcs(obj))
    return dict(obj)


# --- resetting a shared pool between tests ------------------------------------------------------------------
Snapshot = dict[str, list[dict[str, Any]]]


def snapshot(url: str) -> Snapshot:
    """Every row of the ledger's tables."""
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            return {
                t.name: [dict(r._mapping) for r in conn.execute(t.select().order_by(*t.primary_key.columns))]
                for t in _TABLES
            }
    finally:
        store.close()


def restore(url: str, snap: Snapshot) -> None:
    """Put the ledger's tables back exactly as `snap` holds them, and re-create the triggers."""
    store = Store(url)
    try:
        with store.engine.begin() as conn:
            for statement in triggers.drop_statements(store.dialect):
                conn.execute(text(statement))
            for table in _TABLES:
                conn.execute(table.delete())
                if snap[table.name]:
                    conn.execute(table.insert(), snap[table.name])
            for statement in triggers.create_statements(store.dialect):
                conn.execute(text(statement))
    finally:
        store.close()
    assert snapshot(url) == snap
