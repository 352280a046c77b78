"""`patentpool.reports.ReportTable` stores report lines by column: every read gives back exactly the lines
a plain dict of `ReportLine`s keyed by (licensee, program, period, manufacture, sale) would."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patentpool.reports import ReportLine, ReportTable

HASHES = [f"{i:02x}" * 32 for i in range(4)]

lines = st.builds(
    ReportLine,
    licensee=st.sampled_from(["L1", "L2", "L3"]),
    program=st.sampled_from(["XR", "AV"]),
    period=st.sampled_from(["2025Q1", "2025Q2", "2025H1"]),
    manufacture=st.sampled_from(["CN", "DE", "US"]),
    sale=st.sampled_from(["CN", "US"]),
    units=st.integers(0, 2**53 - 1),
    net_sales=st.integers(0, 10**22).map(lambda c: Decimal(c).scaleb(-2)),  # past 64 bits too
    ref=st.tuples(st.integers(1, 10**6), st.sampled_from(HASHES)),
    supersedes=st.none() | st.integers(1, 10**6),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=40))
def test_the_table_reads_as_a_dict_of_lines(added: list[ReportLine]) -> None:
    table = ReportTable()
    model: dict[tuple[str, str, str, str, str], ReportLine] = {}
    superseded: dict[tuple[str, str, str, str, str], list[ReportLine]] = {}
    for line in added:
        replaced = table.put(line)
        assert replaced == model.get(line.key)
        if line.key in model:
            superseded.setdefault(line.key, []).append(model[line.key])
        model[line.key] = line
    assert len(table) == len(model)
    assert list(table.values()) == list(model.values())
    assert table.superseded == superseded
    for key, line in model.items():
        assert key in table and table.get(key) == line
        got = table.get(key)
        assert got is not None and str(got.net_sales) == str(line.net_sales)  # same spelling: 2 decimals
    assert table.get(("L9", "XR", "2025Q1", "CN", "CN")) is None
    assert ("L9", "XR", "2025Q1", "CN", "CN") not in table
    for program in ("XR", "AV", "ZZ"):
        for periods in (["2025Q1"], ["2025Q2", "2025Q1"], ["2025H1", "1999Q1"], []):
            expected = [v for v in model.values() if v.program == program and v.period in periods]
            assert table.lines(program, periods) == expected


def test_a_fraction_of_a_cent_is_refused() -> None:
    line = ReportLine("L1", "XR", "2025Q1", "CN", "CN", 1, Decimal("1.005"), (1, HASHES[0]))
    with pytest.raises(ValueError, match="whole number of cents"):
        ReportTable().put(line)


def test_a_ref_must_be_a_sha256_hash() -> None:
    line = ReportLine("L1", "XR", "2025Q1", "CN", "CN", 1, Decimal("1.00"), (1, "ab"))
    with pytest.raises(ValueError, match="not a SHA-256 hash"):
        ReportTable().put(line)


@settings(max_examples=200, deadline=None)
@given(st.lists(lines, max_size=30))
def test_lines_added_as_the_ledger_spells_them_read_back_the_same(added: list[ReportLine]) -> None:
    # `add_lines` (the replay's path) takes net sales as ledger text; `put` takes a ReportLine.
    by_text, by_line = ReportTable(), ReportTable()
    for line in added:
        text = f"{line.net_sales:.2f}"
        assert Decimal(text) == line.net_sales
        by_text.add_lines(
            line.licensee,
            line.program,
            line.period,
            line.ref,
            [(line.manufacture, line.sale, line.units, text, line.supersedes)],
        )
        by_line.put(line)
    assert list(by_text.values()) == list(by_line.values())
    assert by_text.superseded == by_line.superseded


@pytest.mark.parametrize(
    ("text", "cents"),
    [("0.00", 0), ("0.05", 5), ("225.31", 22531), ("-1.50", -150), ("1.5", 150), ("7", 700)],
)
def test_net_sales_text_is_read_to_the_cent(text: str, cents: int) -> None:
    table = ReportTable()
    table.add_lines("L1", "XR", "2025Q1", (1, HASHES[0]), [("CN", "CN", 1, text, None)])
    line = table.get(("L1", "XR", "2025Q1", "CN", "CN"))
    assert line is not None and line.net_sales == Decimal(cents).scaleb(-2)
