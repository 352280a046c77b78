"""patentpool.jsonout spells JSON as the standard library does (orjson is only faster)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from patentpool import jsonout


def dumps(value: Any, indent: bool = True) -> str:
    return jsonout.dumps_bytes(value, indent).decode("utf-8")


values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(values)
def test_indented_output_is_the_stdlib_spelling(value: Any) -> None:
    assert dumps(value) == json.dumps(value, indent=2, ensure_ascii=False)


@given(values)
def test_compact_output_is_the_stdlib_compact_spelling(value: Any) -> None:
    assert dumps(value, indent=False) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_values_orjson_refuses_fall_back_to_the_stdlib() -> None:
    big = {"size": 2**70, "pair": (1, "a")}
    assert dumps(big) == json.dumps(big, indent=2, ensure_ascii=False)
    assert json.loads(dumps(big, indent=False)) == {"size": 2**70, "pair": [1, "a"]}
