"""An entry's subject beside its kind: an index key the application names for each entry it appends.

Revision ID: 0003
Revises: 0002

Entries stored before this revision keep no subject (NULL, "not known"): entries are never updated, so a
reader that asks for a subject also reads the entries whose subject is not known.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ledger_entries", sa.Column("subject", sa.String(200), nullable=True))
    op.create_index("ix_ledger_entries_kind_subject", "ledger_entries", ["kind", "subject", "seq"])


def downgrade() -> None:
    op.drop_index("ix_ledger_entries_kind_subject", "ledger_entries")
    op.drop_column("ledger_entries", "subject")
