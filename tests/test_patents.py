"""The column-stored patent table reads back what was added, and its vectorised `counting` is exactly
`Patent.counts_on` row by row (checked against a brute-force scan on random registers)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patentpool.patents import Patent, PatentTable

H = "ab" * 32
DAY0 = date(2010, 1, 1)


def _add(table: PatentTable, number: str, country: str, **kw: object) -> None:
    args: dict[str, object] = {
        "number": number,
        "country": country,
        "type": "invention",
        "filed": date(2010, 5, 1),
        "granted": date(2012, 6, 1),
        "expires": date(2030, 5, 1),
        "program": "XR",
        "title": None,
        "weight": Decimal(1),
        "owner": "A",
        "ref": (7, H),
    }
    args.update(kw)
    table.add(**args)  # type: ignore[arg-type]


def test_rows_read_back_as_added() -> None:
    table = PatentTable()
    _add(table, "EP1234567B1", "DE", title="A title")
    _add(table, "US7654321B2", "US", granted=None, program=None, weight=Decimal("2.5"), owner="B", ref=(9, H))
    _add(table, "EP1234567B1", "FR", ref=(8, "cd" * 32))
    assert len(table) == 3
    assert list(table) == [("EP1234567B1", "DE"), ("US7654321B2", "US"), ("EP1234567B1", "FR")]
    assert table.countries("EP1234567B1") == ["DE", "FR"]
    assert table.countries("EP7777777B1") == []
    fr = table[("EP1234567B1", "FR")]
    assert fr == Patent(
        "EP1234567B1",
        "FR",
        "invention",
        date(2010, 5, 1),
        date(2012, 6, 1),
        date(2030, 5, 1),
        "XR",
        Decimal(1),
        "A",
        (8, "cd" * 32),
    )
    us = table[("US7654321B2", "US")]
    assert (us.granted, us.program, us.weight, us.owner, us.ref) == (None, None, Decimal("2.5"), "B", (9, H))
    assert ("US7654321B2", "DE") not in table and table.get(("US7654321B2", "DE")) is None
    with pytest.raises(KeyError):
        table[("XX1B", "US")]
    assert [p.key for p in table.numbered("EP1234567B1")] == [("EP1234567B1", "DE"), ("EP1234567B1", "FR")]
    assert dict(table.items())[("US7654321B2", "US")] == us


def test_events_and_owners() -> None:
    table = PatentTable()
    _add(table, "CN100000001B", "CN")
    _add(table, "CN100000002B", "CN")
    key = ("CN100000001B", "CN")
    table.add_status(key, date(2026, 1, 1), "lapsed", (11, H))
    table.add_status(key, date(2025, 1, 1), "invalidated", (10, H))
    assert [s[1] for s in table[key].statuses] == ["invalidated", "lapsed"]  # date order
    assert table[key].stopped_on(date(2025, 6, 1)) == (date(2025, 1, 1), "invalidated")
    table.add_transfer(("CN100000002B", "CN"), date(2024, 1, 1), "B", (12, H))
    assert table[("CN100000002B", "CN")].owner_on(date(2023, 1, 1)) == "A"
    assert table[("CN100000002B", "CN")].owner_on(date(2024, 1, 1)) == "B"
    assert table.first_owned("A") == "CN100000001B"
    assert table.first_owned("B") == "CN100000002B"
    assert table.first_owned("C") is None
    with pytest.raises(ValueError, match="SHA-256"):
        _add(table, "CN100000003B", "CN", ref=(1, ""))


def test_same_as_added_compares_every_fact_and_the_title() -> None:
    table = PatentTable()
    _add(table, "JP4219000B2", "JP", title="Codec")
    facts = {
        "number": "JP4219000B2",
        "country": "JP",
        "owner": "A",
        "type": "invention",
        "filed": "2010-05-01",
        "granted": "2012-06-01",
        "expires": "2030-05-01",
        "program": "XR",
        "title": "Codec",
        "weight": "1",
    }
    assert table.same_as_added(("JP4219000B2", "JP"), facts)
    for field, other in [
        ("title", "Other"),
        ("title", None),
        ("owner", "B"),
        ("weight", "2"),
        ("granted", None),
    ]:
        assert not table.same_as_added(("JP4219000B2", "JP"), {**facts, field: other})
    assert not table.same_as_added(("JP4219000B3", "JP"), facts)


_row = st.tuples(
    st.sampled_from(["XR", "VID", None]),
    st.integers(min_value=0, max_value=4000),  # filed, days after DAY0
    st.one_of(st.none(), st.integers(min_value=0, max_value=3000)),  # granted, days after filing
    st.integers(min_value=1, max_value=8000),  # expires, days after filing
    st.one_of(st.none(), st.integers(min_value=0, max_value=8000)),  # a status, days after filing
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(_row, max_size=40), probe=st.integers(min_value=0, max_value=12000))
def test_counting_equals_counts_on(
    rows: list[tuple[str | None, int, int | None, int, int | None]], probe: int
) -> None:
    table = PatentTable()
    for i, (program, filed, granted, expires, status) in enumerate(rows):
        start = DAY0 + timedelta(days=filed)
        key = (f"US{1000 + i}B2", "US")
        _add(
            table,
            key[0],
            "US",
            program=program,
            filed=start,
            granted=None if granted is None else start + timedelta(days=granted),
            expires=start + timedelta(days=expires),
        )
        if status is not None:
            table.add_status(key, start + timedelta(days=status), "lapsed", (1, H))
    day = DAY0 + timedelta(days=probe)
    for program in ("XR", "VID", "NONE"):
        expected = [p for p in table.values() if p.program == program and p.counts_on(day)]
        assert table.counting(program, day) == expected
