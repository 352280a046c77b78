"""`patentpool upgrade`: a ledger made by an older version (schema 0001, before the cosignatures table) is
refused with one line naming the command, and upgraded in place with every entry untouched."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from conftest import Pool, build_example

from ledger.store import MIGRATIONS, Store


def _downgrade_to_0001(url: str) -> None:
    store = Store(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
        conn.commit()
    store.close()


def test_an_older_ledger_is_refused_then_upgraded_untouched(pool: Pool) -> None:
    build_example(pool)
    before = pool.size_and_root()
    _downgrade_to_0001(pool.db)
    refused = pool.run("member", "list", expect=1)
    assert refused.stderr.strip().endswith("run `patentpool upgrade` (entries are untouched)")
    pool.run("upgrade")
    assert pool.size_and_root() == before
    assert pool.json("verify")["result"] == "ok"
