"""`member_view`: one member's share rows found in an allocation body's bytes must be exactly the rows a full
parse gives, whatever the ids (ids equal to country codes, ids that prefix others), and a body that is not
the canonical shape it expects is refused."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.entry import LazyBody, canonical
from licenses.money import format_money
from patentpool.member_view import ViewError, member_view

IDS = st.sampled_from(["M1", "M10", "M", "DE", "US", "a.b", "a-b", "A_1", "L1", "shares", "total"])
COUNTRIES = st.sampled_from(["DE", "US", "CN", "FR"])
CENTS = st.integers(min_value=0, max_value=10**9)


def _body(rows: list[list[str]], tail: dict[str, Any]) -> dict[str, Any]:
    gross: dict[str, Decimal] = defaultdict(Decimal)
    for _lic, _c, member, amount in rows:
        gross[member] += Decimal(amount)
    return {
        "countries": {"DE": {m: {"patents": ["EP1"], "refs": [1], "weight": "1"} for m in sorted(gross)}},
        "licensees": {lic: {"lines": [], "credited": {}} for lic, *_ in rows},
        "members": {
            m: {"gross": format_money(g), "admin_fee": "0.00", "net": format_money(g)}
            for m, g in gross.items()
        },
        "period": "2025Q1",
        "program": "XR",
        "shares": rows,
        **tail,
    }


def _lazy(body: dict[str, Any]) -> LazyBody:
    return LazyBody(canonical(body))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(IDS, COUNTRIES, IDS, CENTS), max_size=30),
    st.sampled_from([{}, {"supersedes": 7, "deltas": {"members": {"M1": {"gross": "1.00"}}}}]),
    IDS,
)
def test_the_rows_found_in_the_bytes_are_the_parsed_rows(
    shares: list[tuple[str, str, str, int]], tail: dict[str, Any], member: str
) -> None:
    rows = [[lic, c, m, format_money(Decimal(cents) / 100)] for lic, c, m, cents in shares]
    body = _body(rows, {"total": "0.00", **tail})
    view = member_view(_lazy(body), member)
    assert view["shares"] == [row for row in rows if row[2] == member]
    assert {k: v for k, v in view.items() if k != "shares"} == {
        k: v for k, v in body.items() if k != "shares"
    }
    assert member_view(body, member) == view


def test_a_body_with_no_share_rows_is_refused() -> None:
    body = _body([], {"total": "0.00"})
    del body["shares"]
    with pytest.raises(ViewError, match="no share rows"):
        member_view(_lazy(body), "M1")
    assert member_view(_lazy(_body([], {"total": "0.00"})), "M1")["shares"] == []


def test_rows_that_do_not_sum_to_the_gross_are_refused() -> None:
    body = _body([["L1", "DE", "M1", "1.00"], ["L2", "DE", "M1", "2.00"]], {"total": "3.00"})
    body["members"]["M1"]["gross"] = "3.01"
    with pytest.raises(ViewError, match=r"M1's share rows sum to 3.00, not its gross 3.01"):
        member_view(_lazy(body), "M1")


def test_a_malformed_row_of_the_member_is_refused() -> None:
    body = _body([["L1", "DE", "M1", "1.00"]], {"total": "1.00"})
    body["shares"][0][3] = "1.5"  # not a money string
    body["members"]["M1"]["gross"] = "1.50"
    with pytest.raises(ViewError, match="not well formed"):
        member_view(_lazy(body), "M1")


def test_an_id_that_cannot_be_a_member_gets_no_rows() -> None:
    # A typo such as a non-ASCII id is an unknown member for the statement to name, not a broken body.
    body = _body([["L1", "DE", "M1", "1.00"]], {"total": "1.00"})
    for member in ("Müller", "M 1", ""):
        assert member_view(_lazy(body), member)["shares"] == []


def test_the_ledger_takes_member_and_program_ids_only_as_spelled() -> None:
    # The CLI strips what a user types; a body signed with a space around an id is not the ledger's
    # spelling (its share rows could not be found by the id): the one validator, and so `verify`, refuses it.
    from patentpool import rules
    from patentpool.fields import FieldError
    from patentpool.state import PoolState

    state = PoolState()
    with pytest.raises(FieldError, match="not an identifier"):
        rules.validate(state, "member.add", {"id": " M1", "name": "Member", "role": "both"})
    with pytest.raises(FieldError, match="not an identifier"):
        rules.validate(state, "program.add", {"name": "XR ", "currency": "USD", "tiers": "*:0.10"})
    rules.validate(state, "member.add", {"id": "M1", "name": "Member", "role": "both"})
