"""Witnesses' cosignatures of signed checkpoints, in an append-only table of their own.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger import triggers

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_cosignatures",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("cosigner", sa.String(200), primary_key=True),
        sa.Column("timestamp", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("vkey", sa.Text, nullable=False),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("created", sa.String(27), nullable=False),
    )
    for statement in triggers.cosignature_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in triggers.cosignature_drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("ledger_cosignatures")
