"""Checkpoints someone kept (a member, an auditor) against the ledger in hand.

A kept checkpoint that the pool's root key signed is the pool's word for what its ledger was. If this ledger
is shorter, entries the pool signed were removed (a rollback, or an old copy); if its tree at that size has
another root, entries the pool signed were rewritten (a fork). Either is evidence against the ledger, never a
user's mistake, and is reported as such; only a checkpoint the key did not sign is the user's to fix.
"""

from __future__ import annotations


def rollback(name: str, kept_size: int, size: int) -> str:
    return (
        f"POSSIBLE ROLLBACK: {name} (tree size {kept_size}) was signed by the pool's key, but this ledger "
        f"holds only {size} entries: entries the pool signed were removed, or this is an old copy of it"
    )


def fork(name: str, kept_size: int) -> str:
    return (
        f"POSSIBLE FORK: {name} (tree size {kept_size}) was signed by the pool's key, but this ledger's "
        f"first {kept_size} entries hash to another root: entries the pool signed were rewritten"
    )


def row_missing(name: str, kept_size: int) -> str:
    return (
        f"{name} (tree size {kept_size}) was signed by the pool's key and matches the entries, but the "
        "checkpoints table has no row for it: checkpoint rows were deleted outside patentpool"
    )
