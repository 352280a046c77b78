"""`verify` recomputes every allocation: an allocation entry signed with the pool's own key but not following
policy v1 fails, whether its body is parsed (small entries) or compared as canonical bytes (large ones,
`ledger.entry.LAZY_BODY`; lowered here so the worked example takes that path too). On both backends."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import pytest
from conftest import PASSPHRASE, Pool, build_example
from ledger_support import drop_triggers, raw_rows, set_raw, sign_raw

from ledger.entry import LazyBody, decode_trusted, decode_trusted_lazy, entry_hash
from ledger.keys import load_key
from ledger.store import Store
from licenses.money import format_cents, to_cents
from patentpool.allocation import allocate
from patentpool.audit import PoolChecker
from patentpool.periods import Period
from patentpool.service import PoolService

ORIGIN = "pool.example/test"  # conftest's pools


def _append_allocation(pool: Pool, change: Any) -> None:
    """Append an allocation.run of XR 2025Q1 as the administrator could: computed, then `change`d."""
    os.environ["PATENTPOOL_PASSPHRASE"] = PASSPHRASE
    service = PoolService(pool.db, pool.key)
    with service.write() as batch:
        body = allocate(batch.state, "XR", Period.parse("2025Q1"))
        change(body)
        batch.add("allocation.run", body)


def _move_a_cent(body: dict[str, Any]) -> None:
    # Two members' shares of one line change by a cent each: every total still adds up.
    first, second = body["shares"][0], body["shares"][1]
    first[3] = format_cents(to_cents(Decimal(first[3])) + 1)
    second[3] = format_cents(to_cents(Decimal(second[3])) - 1)


def _drop_an_input(body: dict[str, Any]) -> None:
    body["inputs"] = body["inputs"][1:]


def test_an_honest_allocation_verifies(pool: Pool, lazy: bool) -> None:
    build_example(pool)
    _append_allocation(pool, lambda body: None)
    data = pool.json("verify")
    assert (data["result"], data["problems"], data["allocations_recomputed"]) == ("ok", [], 1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_move_a_cent, "the recorded figures differ from policy v1 recomputed on the ledger"),
        (_drop_an_input, "the recorded inputs differ from the entries the computation reads"),
    ],
)
def test_a_signed_allocation_off_policy_fails_verify(
    pool: Pool, lazy: bool, change: Any, message: str
) -> None:
    build_example(pool)
    _append_allocation(pool, change)
    result = pool.run("verify", "--format", "json", expect=1)
    size, _root = pool.size_and_root()
    assert f"seq {size}: allocation.run: {message}" in result.stdout


def test_a_signed_allocation_spelled_off_canonical_fails_verify(pool: Pool, lazy: bool) -> None:
    # The pool's own key signs the allocation with a space in its body: the recomputed figures are the
    # same, but the bytes are not canonical. Large, the body is never parsed by the signature workers: the
    # main process's byte comparison fails and its strict parse names the fault.
    build_example(pool)
    _append_allocation(pool, lambda body: None)
    size, _root = pool.size_and_root()
    raw = raw_rows(pool.db)[size]
    assert raw.count(b'"shares":[') == 1
    respelled = sign_raw(raw.replace(b'"shares":[', b'"shares": ['), load_key(pool.key, PASSPHRASE), ORIGIN)
    drop_triggers(pool.db)
    set_raw(pool.db, size, respelled)
    result = pool.run("verify", "--format", "json", expect=1)
    assert f"seq {size}: malformed entry: bytes are not the entry's RFC 8785 canonical form" in result.stdout


def test_a_large_allocation_is_compared_as_bytes_without_parsing(pool: Pool, lazy: bool) -> None:
    build_example(pool)
    _append_allocation(pool, lambda body: None)
    checker = PoolChecker()
    store = Store(pool.db)
    with store.reader() as conn:
        rows = list(store.iter_raw(conn))
    entries = [decode_trusted_lazy(raw) for _seq, raw in rows]
    for (_seq, raw), entry in zip(rows, entries, strict=True):
        assert list(checker(entry, entry_hash(raw))) == []
    allocation = entries[-1]
    assert allocation.kind == "allocation.run"
    assert isinstance(allocation.body, LazyBody) == lazy
    if lazy:
        assert allocation.body._value is None  # never parsed: equal canonical bytes
        assert dict(allocation.body) == decode_trusted(rows[-1][1]).body
    assert checker.allocations == 1
