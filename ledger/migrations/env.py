"""Alembic environment: always run with a connection handed over by ledger.store (config.attributes)."""

from __future__ import annotations

from alembic import context

from ledger.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
