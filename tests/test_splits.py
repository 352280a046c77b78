"""The vectorised split must give exactly what licenses.money.largest_remainder gives, row by row."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licenses.money import largest_remainder
from patentpool.splits import split_group_totals, split_rows, split_totals


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=40),
    st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=30).filter(lambda w: sum(w) > 0),
)
def test_split_rows_equals_largest_remainder(totals: list[int], weights: list[int]) -> None:
    rows = split_rows(totals, weights)
    assert rows == [largest_remainder(t, weights) if t else [0] * len(weights) for t in totals]
    assert [sum(r) for r in rows] == totals


def test_ties_go_to_the_earlier_column_in_the_vectorised_path() -> None:
    rows = split_rows([1] * 70, [1, 1])  # 140 cells: numpy path; half a cent each: the first column wins
    assert rows == [[1, 0]] * 70


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=60),
    st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=12),
)
def test_split_totals_are_the_column_sums(totals: list[int], weights: list[int]) -> None:
    rows = split_rows(totals, weights)
    assert split_totals(totals, weights) == [sum(column) for column in zip(*rows, strict=True)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=8), max_size=30),
    st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=12),
)
def test_split_group_totals_is_split_totals_of_each_group(
    groups: list[list[int]], weights: list[int]
) -> None:
    assert split_group_totals(groups, weights) == [split_totals(group, weights) for group in groups]


def test_split_group_totals_in_chunks_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    import patentpool.splits as splits

    groups = [[(i * 7919) % 10_007 + 1, i % 13] for i in range(300)]
    weights = [3, 1, 4, 1, 5]
    whole = split_group_totals(groups, weights)
    monkeypatch.setattr(splits, "SPLIT_CELLS", 17)  # a chunk every few groups
    assert split_group_totals(groups, weights) == whole == [split_totals(g, weights) for g in groups]
