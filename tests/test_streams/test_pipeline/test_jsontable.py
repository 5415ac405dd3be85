"""The stories table's JSON access: the fast paths store and read exactly what ``json`` does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.pipeline.jsontable import CHUNK, JsonTable, dumps, loads

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@given(values)
def test_dumps_is_compact_sorted_json_and_loads_reads_it_back(value: Any) -> None:
    text = dumps(value)
    assert text == json.dumps(value, separators=(",", ":"), sort_keys=True)
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)


@pytest.mark.parametrize("text", [' {"a":1}', '{"a":1} ', "[1,2]x", "", "NaN", '"\\ud800"', "-0", "1e400"])
def test_loads_agrees_with_json_on_edge_cases(text: str) -> None:
    try:
        want: Any = json.loads(text)
    except json.JSONDecodeError:
        with pytest.raises(json.JSONDecodeError):
            loads(text)
        return
    got = loads(text)
    assert repr(got) == repr(want)


@pytest.mark.parametrize("start", [0, CHUNK - 3, CHUNK, 2 * CHUNK - 1])
def test_extend_chunked_stores_what_appending_one_by_one_stores(start: int) -> None:
    items = [f"k{i}" for i in range(CHUNK + 5)]
    one, many = JsonTable({}), JsonTable({})
    for position in range(start):
        one.append_chunked("x:1", position, f"old{position}")
        many.append_chunked("x:1", position, f"old{position}")
    for offset, item in enumerate(items):
        one.append_chunked("x:1", start + offset, item)
    many.extend_chunked("x:1", start, items)
    assert many.table == one.table
    assert many.chunked("x:1") == [*(f"old{p}" for p in range(start)), *items]
