"""`patentpool init`: a new pool's database, its genesis entry and its root key (the key file's own, or a
new one)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ledger.checkpoint import ORIGIN_RE
from ledger.keys import (
    SigningKey,
    VerifierKey,
    load_key,
    passphrase_from_env_or_prompt,
    read_key_name,
    save_key,
)
from patentpool import bodies
from patentpool.errors import PoolError


def root_key(path: Path, origin: str, say: Callable[[str], None]) -> SigningKey:
    """The key file's key if it belongs to `origin`; a new key saved there if there is no file."""
    if not path.exists():
        key = SigningKey.generate(origin)
        save_key(path, key, passphrase_from_env_or_prompt(confirm=True))
        say(f"generated key {key.verifier().keyid_string} in {path} (mode 0600)")
        return key
    used_for = read_key_name(path)
    if used_for != origin:
        raise PoolError(f"key file {path} belongs to origin {used_for!r}, not {origin!r}; use another --key")
    key = load_key(path, passphrase_from_env_or_prompt(confirm=False))
    say(f"using key {key.verifier().keyid_string} from {path}")
    return key


def create_pool(
    db: str, key_path: Path, origin: str, name: str, currency: str, admin_fee: str, say: Callable[[str], None]
) -> VerifierKey:
    """Create the database and append the genesis entry, refusing a database that holds a ledger; the root
    key's verifier key, for the members."""
    if not ORIGIN_RE.match(origin):
        raise PoolError(f"origin: {origin!r} must look like example.org/pool (lower-case host, then path)")
    from patentpool.service import open_ledger

    body = bodies.genesis(name, currency, admin_fee)
    ledger = open_ledger(db)
    if ledger.store.exists():
        raise PoolError(f"{ledger.store.display_url} already holds a pool ledger; refusing to re-initialise")
    key = root_key(key_path, origin, say)
    entry = ledger.create(key, body)
    say(f"initialised {ledger.store.display_url}: genesis seq {entry.seq}, origin {origin}")
    return key.verifier()
