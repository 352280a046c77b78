"""The ledger's tables. Entries, checkpoints and cosignatures are append-only (see triggers.py); nodes are
derived data."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

metadata = MetaData()

entries = Table(
    "ledger_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    # prev and hash are kept beside the raw bytes so the insert trigger can enforce the chain cheaply.
    Column("prev", LargeBinary(32), nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("author", String(200), nullable=False),
    Column("time", String(27), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    # The application's index key for the entry (e.g. the program a fact belongs to), named when it is
    # appended: readers find "facts of this subject after seq N" without reading other entries' bytes.
    # NULL where it is not known (entries stored before revision 0003); readers treat NULL as "maybe".
    Column("subject", String(200), nullable=True),
)
Index("ix_ledger_entries_kind", entries.c.kind)
Index("ix_ledger_entries_kind_subject", entries.c.kind, entries.c.subject, entries.c.seq)

# Hash of every perfect Merkle subtree (level, index): proofs and appends read O(log n) of these.
nodes = Table(
    "ledger_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("created", String(27), nullable=False),
)

# Witnesses' cosignatures (C2SP tlog-cosignature) of signed checkpoints, kept apart so that a checkpoint row
# is never updated: one row per signature line, checked against the checkpoint and the cosigner key before
# it is stored. `vkey` is the cosigner's verifier key string as the administrator gave it.
cosignatures = Table(
    "ledger_cosignatures",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("cosigner", String(200), primary_key=True),  # <name>+<8 hex key id>
    Column("timestamp", BigInteger, primary_key=True, autoincrement=False),
    Column("vkey", Text, nullable=False),
    Column("line", Text, nullable=False),
    Column("created", String(27), nullable=False),
)

# Current Alembic head: every command refuses a database at another schema version.
SCHEMA_REVISION = "0003"
