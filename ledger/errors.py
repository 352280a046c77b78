"""The ledger package's root error: every error it raises for the user is a LedgerError.

A caller (the CLI) catches this one class to print one `Error:` line; the subclasses (EntryError, NoteError,
ProofError, StoreError, KeyFileError, VerifierKeyError, KeyringError) say which part refused.
"""

from __future__ import annotations


class LedgerError(Exception):
    """The ledger refuses an operation, or found its stored state inconsistent.

    `ledger.log` raises it as such; the other modules raise their own subclasses."""
