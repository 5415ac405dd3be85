"""``newsmon alerts`` filtering and de-duplication, without a broker."""

from __future__ import annotations

from streams.sinks.alerts import SeenIds, wanted


def event(theme: str, kind: str) -> dict[str, object]:
    return {"id": "al-1", "type": f"io.newsmon.alert.{kind}.v1", "data": {"theme": theme, "kind": kind}}


def test_wanted_and_seen_ids_without_a_broker() -> None:
    alert = event("greenland", "spike")
    assert wanted(alert)
    assert wanted(alert, kinds=("spike",))
    assert not wanted(alert, kinds=("digest",))
    assert not wanted(alert, themes=("nato",), kinds=("spike",))
    seen = SeenIds(capacity=2)
    assert seen.add("a")
    assert not seen.add("a")
    assert "a" in seen
    assert seen.add("b")
    assert seen.add("c")  # evicts the oldest, "a"
    assert "a" not in seen
    assert seen.add("a")
