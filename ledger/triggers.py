"""Triggers that make the entries, checkpoints and cosignatures tables append-only on both backends.

They stop mistakes (an UPDATE, a DELETE, an INSERT OR REPLACE, an out-of-order insert); tamper evidence comes
from the hashes, signatures and checkpoints, which `verify` checks whatever the triggers say.
"""

from __future__ import annotations

import re

SQLITE = [
    """CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
       BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only: UPDATE rejected'); END""",
    """CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
       BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only: DELETE rejected'); END""",
    """CREATE TRIGGER ledger_entries_append BEFORE INSERT ON ledger_entries
       WHEN NEW.seq IS NOT COALESCE((SELECT MAX(seq) FROM ledger_entries), 0) + 1
         OR NEW.prev IS NOT COALESCE(
              (SELECT hash FROM ledger_entries ORDER BY seq DESC LIMIT 1), zeroblob(32))
       BEGIN SELECT RAISE(ABORT, 'ledger_entries: seq must be head+1 and prev the head hash'); END""",
    """CREATE TRIGGER ledger_checkpoints_no_update BEFORE UPDATE ON ledger_checkpoints
       BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is append-only: UPDATE rejected'); END""",
    """CREATE TRIGGER ledger_checkpoints_no_delete BEFORE DELETE ON ledger_checkpoints
       BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is append-only: DELETE rejected'); END""",
    """CREATE TRIGGER ledger_checkpoints_append BEFORE INSERT ON ledger_checkpoints
       WHEN NEW.size IS NOT COALESCE((SELECT MAX(seq) FROM ledger_entries), 0)
         OR NEW.size <= COALESCE((SELECT MAX(size) FROM ledger_checkpoints), -1)
       BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints: size must be the head and grow'); END""",
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS ledger_entries_no_update",
    "DROP TRIGGER IF EXISTS ledger_entries_no_delete",
    "DROP TRIGGER IF EXISTS ledger_entries_append",
    "DROP TRIGGER IF EXISTS ledger_checkpoints_no_update",
    "DROP TRIGGER IF EXISTS ledger_checkpoints_no_delete",
    "DROP TRIGGER IF EXISTS ledger_checkpoints_append",
]

POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION ledger_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION '% is append-only: % rejected', TG_TABLE_NAME, TG_OP; END $$""",
    """CREATE OR REPLACE FUNCTION ledger_entries_check_append() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE head_seq bigint; head_hash bytea;
       BEGIN
         SELECT seq, hash INTO head_seq, head_hash FROM ledger_entries ORDER BY seq DESC LIMIT 1;
         IF NEW.seq IS DISTINCT FROM COALESCE(head_seq, 0) + 1
            OR NEW.prev IS DISTINCT FROM COALESCE(head_hash, decode(repeat('00', 32), 'hex')) THEN
           RAISE EXCEPTION 'ledger_entries: seq must be head+1 and prev the head hash';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE OR REPLACE FUNCTION ledger_checkpoints_check_append() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.size IS DISTINCT FROM (SELECT COALESCE(MAX(seq), 0) FROM ledger_entries)
            OR NEW.size <= (SELECT COALESCE(MAX(size), -1) FROM ledger_checkpoints) THEN
           RAISE EXCEPTION 'ledger_checkpoints: size must be the head and grow';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries
       FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()""",
    """CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
       FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change()""",
    """CREATE TRIGGER ledger_entries_append BEFORE INSERT ON ledger_entries
       FOR EACH ROW EXECUTE FUNCTION ledger_entries_check_append()""",
    """CREATE TRIGGER ledger_checkpoints_no_change BEFORE UPDATE OR DELETE ON ledger_checkpoints
       FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()""",
    """CREATE TRIGGER ledger_checkpoints_no_truncate BEFORE TRUNCATE ON ledger_checkpoints
       FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change()""",
    """CREATE TRIGGER ledger_checkpoints_append BEFORE INSERT ON ledger_checkpoints
       FOR EACH ROW EXECUTE FUNCTION ledger_checkpoints_check_append()""",
]

POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS ledger_entries_no_change ON ledger_entries",
    "DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries",
    "DROP TRIGGER IF EXISTS ledger_entries_append ON ledger_entries",
    "DROP TRIGGER IF EXISTS ledger_checkpoints_no_change ON ledger_checkpoints",
    "DROP TRIGGER IF EXISTS ledger_checkpoints_no_truncate ON ledger_checkpoints",
    "DROP TRIGGER IF EXISTS ledger_checkpoints_append ON ledger_checkpoints",
]


# Revision 0002: witnesses' cosignatures, append-only like the checkpoints they sign, each beside a stored
# checkpoint (a trigger, not a foreign key, so that the checkpoints table's own TRUNCATE rule still speaks
# first); a cosignature's signature is checked before it is stored, and again by `verify`.
COSIGNATURES_SQLITE = [
    """CREATE TRIGGER ledger_cosignatures_no_update BEFORE UPDATE ON ledger_cosignatures
       BEGIN SELECT RAISE(ABORT, 'ledger_cosignatures is append-only: UPDATE rejected'); END""",
    """CREATE TRIGGER ledger_cosignatures_no_delete BEFORE DELETE ON ledger_cosignatures
       BEGIN SELECT RAISE(ABORT, 'ledger_cosignatures is append-only: DELETE rejected'); END""",
    """CREATE TRIGGER ledger_cosignatures_append BEFORE INSERT ON ledger_cosignatures
       WHEN NOT EXISTS (SELECT 1 FROM ledger_checkpoints WHERE size = NEW.size)
       BEGIN SELECT RAISE(ABORT, 'ledger_cosignatures: no stored checkpoint of that size'); END""",
]
COSIGNATURES_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS ledger_cosignatures_no_update",
    "DROP TRIGGER IF EXISTS ledger_cosignatures_no_delete",
    "DROP TRIGGER IF EXISTS ledger_cosignatures_append",
]
COSIGNATURES_POSTGRESQL = [
    # ledger_reject_change() comes from revision 0001; re-created here so this revision stands alone.
    POSTGRESQL[0],
    """CREATE OR REPLACE FUNCTION ledger_cosignatures_check_append() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NOT EXISTS (SELECT 1 FROM ledger_checkpoints WHERE size = NEW.size) THEN
           RAISE EXCEPTION 'ledger_cosignatures: no stored checkpoint of that size';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER ledger_cosignatures_no_change BEFORE UPDATE OR DELETE ON ledger_cosignatures
       FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()""",
    """CREATE TRIGGER ledger_cosignatures_no_truncate BEFORE TRUNCATE ON ledger_cosignatures
       FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change()""",
    """CREATE TRIGGER ledger_cosignatures_append BEFORE INSERT ON ledger_cosignatures
       FOR EACH ROW EXECUTE FUNCTION ledger_cosignatures_check_append()""",
]
COSIGNATURES_POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS ledger_cosignatures_no_change ON ledger_cosignatures",
    "DROP TRIGGER IF EXISTS ledger_cosignatures_no_truncate ON ledger_cosignatures",
    "DROP TRIGGER IF EXISTS ledger_cosignatures_append ON ledger_cosignatures",
]


def cosignature_statements(dialect: str) -> list[str]:
    return COSIGNATURES_POSTGRESQL if dialect == "postgresql" else COSIGNATURES_SQLITE


def cosignature_drop_statements(dialect: str) -> list[str]:
    return COSIGNATURES_POSTGRESQL_DROP if dialect == "postgresql" else COSIGNATURES_SQLITE_DROP


def create_statements(dialect: str) -> list[str]:
    return POSTGRESQL if dialect == "postgresql" else SQLITE


def drop_statements(dialect: str) -> list[str]:
    return POSTGRESQL_DROP if dialect == "postgresql" else SQLITE_DROP


_NAME_RE = re.compile(r"CREATE TRIGGER (\w+)")


def expected(dialect: str) -> dict[str, str]:
    """Each append-only trigger's name and its CREATE statement."""
    found = {}
    for statement in create_statements(dialect) + cosignature_statements(dialect):
        match = _NAME_RE.search(statement)
        if match:
            found[match.group(1)] = statement
    return found


def same_sql(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())
