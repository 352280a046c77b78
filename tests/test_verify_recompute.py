"""`verify` recomputes every allocation (spec 8a: its parts and summary) with the policy its summary names:
parts or a summary signed with the pool's own key but not following policy v2 fail, whether a part's body is
parsed (small entries) or held as bytes (large ones, `ledger.entry.LAZY_BODY`; lowered here so the worked
example takes that path too). On both backends."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import pytest
from conftest import PASSPHRASE, Pool, build_example
from ledger_support import drop_triggers, raw_rows, set_raw, sign_raw

from ledger.entry import decode_trusted_lazy, entry_hash
from ledger.keys import load_key
from ledger.store import Store
from licenses.money import format_cents, to_cents
from patentpool import parts, staleness
from patentpool.audit import PoolChecker
from patentpool.periods import Period
from patentpool.service import PoolService

ORIGIN = "pool.example/test"  # conftest's pools


def _append_allocation(pool: Pool, change_part: Any = None, change_summary: Any = None) -> None:
    """Append XR 2025Q1's parts and summary as the administrator could: computed, then changed."""
    os.environ["PATENTPOOL_PASSPHRASE"] = PASSPHRASE
    service = PoolService(pool.db, pool.key)
    with service.write() as batch:

        def append(kind: str, body: dict[str, Any]) -> tuple[int, str]:
            if kind == "allocation.part" and change_part is not None:
                change_part(body)
            if kind == "allocation.run" and change_summary is not None:
                change_summary(body)
            return batch.add_ref(kind, body)

        staleness.run(batch.state, "XR", Period.parse("2025Q1"), append)


def _move_a_cent(part: dict[str, Any]) -> None:
    # One row of a member's part gains a cent and another loses it: the part's totals still add up.
    if "member" not in part:
        return
    rows = part["rows"] = [list(row) for row in parts.member_rows(part)]  # computed as bytes (Spelled)
    if len(rows) > 1:
        first, second = rows[0], rows[1]
        first[6] = format_cents(to_cents(Decimal(first[6])) + 1)
        second[6] = format_cents(to_cents(Decimal(second[6])) - 1)


def _drop_an_input(summary: dict[str, Any]) -> None:
    summary["inputs"] = {**summary["inputs"], "size": summary["inputs"]["size"] - 1}


def test_an_honest_allocation_verifies(pool: Pool, lazy: bool) -> None:
    build_example(pool)
    _append_allocation(pool)
    data = pool.json("verify")
    assert (data["result"], data["problems"], data["allocations_recomputed"]) == ("ok", [], 1)


@pytest.mark.parametrize(
    ("part", "summary", "message"),
    [
        (_move_a_cent, None, "the recorded parts differ from policy v2 recomputed on the ledger"),
        (None, _drop_an_input, "the recorded inputs differ from policy v2 recomputed on the ledger"),
    ],
)
def test_a_signed_allocation_off_policy_fails_verify(
    pool: Pool, lazy: bool, part: Any, summary: Any, message: str
) -> None:
    build_example(pool)
    _append_allocation(pool, part, summary)
    result = pool.run("verify", "--format", "json", expect=1)
    size, _root = pool.size_and_root()
    assert f"seq {size}: allocation.run: {message}" in result.stdout


def test_a_signed_part_spelled_off_canonical_fails_verify(pool: Pool, lazy: bool) -> None:
    # The pool's own key signs a part with a space in its body: the recomputed figures are the same, but the
    # bytes are not canonical, and verify's strict parse names the fault.
    build_example(pool)
    _append_allocation(pool)
    rows = raw_rows(pool.db)
    seq = next(
        s for s, raw in sorted(rows.items()) if b'"kind":"allocation.part"' in raw and b'"rows":[' in raw
    )
    raw = rows[seq]
    respelled = sign_raw(raw.replace(b'"rows":[', b'"rows": [', 1), load_key(pool.key, PASSPHRASE), ORIGIN)
    drop_triggers(pool.db)
    set_raw(pool.db, seq, respelled)
    result = pool.run("verify", "--format", "json", expect=1)
    assert f"seq {seq}: malformed entry: bytes are not the entry's RFC 8785 canonical form" in result.stdout


def test_the_checker_recomputes_parts_held_as_bytes(pool: Pool, lazy: bool) -> None:
    build_example(pool)
    _append_allocation(pool)
    checker = PoolChecker()
    store = Store(pool.db)
    with store.reader() as conn:
        rows = list(store.iter_raw(conn))
    for _seq, raw in rows:
        assert list(checker(decode_trusted_lazy(raw), entry_hash(raw))) == []
    assert checker.allocations == 1
    assert len(checker.state.part_info) == 5  # parts of A, B and C (members), C and L1 (licensees)


def test_parts_the_ledger_ends_with_have_no_summary(pool: Pool, lazy: bool) -> None:
    build_example(pool)
    os.environ["PATENTPOOL_PASSPHRASE"] = PASSPHRASE
    service = PoolService(pool.db, pool.key)
    with service.write() as batch:

        def parts_only(kind: str, body: dict[str, Any]) -> tuple[int, str]:
            return batch.add_ref(kind, body) if kind == "allocation.part" else (0, "")

        staleness.run(batch.state, "XR", Period.parse("2025Q1"), parts_only)
    size, _root = pool.size_and_root()
    result = pool.run("verify", "--format", "json", expect=1)
    assert f"seq {size}: an allocation part with no summary after it" in result.stdout
