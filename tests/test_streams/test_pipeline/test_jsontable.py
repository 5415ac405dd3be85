"""The stories table's JSON access: orjson writes and reads, and the values are what ``json`` gives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.pipeline.jsontable import CHUNK, JsonTable, dumps, loads

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@given(values)
def test_dumps_is_compact_sorted_json_and_loads_reads_it_back(value: Any) -> None:
    text = dumps(value)
    assert json.loads(text) == value
    assert loads(text) == value
    assert loads(text.encode()) == value
    # byte for byte what json writes without ASCII escapes, floats apart (orjson writes 1e-7 for 1e-07)
    if "." not in json.dumps(value) and "e" not in json.dumps(value):
        assert text == json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


@given(values)
def test_loads_reads_what_json_wrote_as_json_reads_it(value: Any) -> None:
    for text in (json.dumps(value), json.dumps(value, indent=1), json.dumps(value, ensure_ascii=False)):
        assert repr(loads(text)) == repr(json.loads(text))


def test_the_known_differences_from_json() -> None:
    """See ``loads`` and ``dumps``: no table value or enriched record has such numbers."""
    assert loads("18446744073709551615") == 2**64 - 1
    assert loads(str(2**64)) == float(2**64)
    assert dumps([float("inf"), float("nan")]) == "[null,null]"  # and non-finite floats are written as null


def test_dumps_falls_back_to_json_for_what_orjson_cannot_write() -> None:
    for value in ({"t": "\ud800"}, {"n": 2**70}, {1: "x"}):
        assert dumps(value) == json.dumps(value, separators=(",", ":"), sort_keys=True)


@pytest.mark.parametrize(
    "text", [' {"a":1}', '{"a":1} ', "[1,2]x", "", "NaN", '"\\ud800"', "-0", "1e400", "1E5", "\ufeff[1]", "1" * 20]
)
def test_loads_agrees_with_json_on_edge_cases(text: str) -> None:
    try:
        want: Any = json.loads(text)
    except json.JSONDecodeError:
        with pytest.raises(json.JSONDecodeError):
            loads(text)
        return
    assert repr(loads(text)) == repr(want)
    assert repr(loads(text.encode("utf-8", "surrogatepass"))) == repr(json.loads(text.encode("utf-8", "surrogatepass")))


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
