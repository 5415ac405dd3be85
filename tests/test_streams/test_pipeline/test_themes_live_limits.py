"""apply_theme_record: refused records leave the set as it was; the set's pattern-byte limit holds."""

from __future__ import annotations

import pytest

from agents.records import encode
from agents.themes import Rule, TermSet, Theme, theme_to_record
from agents.themes.parse import MAX_SET_PATTERN_BYTES, MAX_TERM_CHARS, pattern_bytes
from streams.pipeline.themes_live import apply_theme_record


def theme(theme_id: str, size: int) -> Theme:
    """A theme whose terms fold to ``size`` bytes (distinct 200-character terms)."""
    terms = []
    i = 0
    while size:
        length = min(MAX_TERM_CHARS, size)
        if 0 < size - length < 8:
            length -= 8
        terms.append(f"{i:08d}".ljust(length, "a"))
        size -= length
        i += 1
    return Theme(theme_id, "Name", "Description.", (TermSet("s", (("en", tuple(terms)),)),), (Rule("r", any=("s",)),))


def put(current: dict[str, Theme], sizes: dict[str, int], t: Theme) -> str | None:
    return apply_theme_record(current, t.id.encode(), encode(theme_to_record(t)), sizes)


MIB = 1024 * 1024
assert MAX_SET_PATTERN_BYTES == 4 * MIB  # the set below is four themes of about 1 MiB (one record each)


def three_themes() -> tuple[dict[str, Theme], dict[str, int]]:
    current: dict[str, Theme] = {}
    sizes: dict[str, int] = {}
    for name in ("a1", "a2", "a3"):
        assert put(current, sizes, theme(name, MIB)) is None
    return current, sizes


@pytest.mark.parametrize(("delta", "ok"), [(-1, True), (0, True), (1, False)], ids=["below", "at", "above"])
def test_set_pattern_bytes_limit_across_records(delta: int, ok: bool) -> None:
    current, sizes = three_themes()
    reason = put(current, sizes, theme("b", MAX_SET_PATTERN_BYTES - 3 * MIB + delta))
    if ok:
        assert reason is None
        assert sum(sizes.values()) == MAX_SET_PATTERN_BYTES + delta
        return
    assert reason is not None
    assert f"the limit is {MAX_SET_PATTERN_BYTES}" in reason
    assert reason.startswith("theme 'b': ")
    assert set(current) == {"a1", "a2", "a3"}
    assert sizes == {t: pattern_bytes(current[t]) for t in current}


def test_replacing_a_theme_counts_only_its_new_version() -> None:
    current, sizes = three_themes()
    assert put(current, sizes, theme("b", MIB - 1000)) is None
    assert put(current, sizes, theme("b", MIB)) is None
    assert sum(sizes.values()) == MAX_SET_PATTERN_BYTES


def test_over_limit_record_keeps_the_previous_version_and_gives_one_line() -> None:
    good = theme("g", 10)
    current = {"g": good}
    record = theme_to_record(good)
    record["terms"]["s"]["en"] = ["a" * 600_000]
    record["name"] = "\x1b[2J two problems"
    reason = apply_theme_record(current, b"g", encode(record))
    assert reason is not None
    assert reason.startswith("theme 'g': ")
    assert f"term longer than {MAX_TERM_CHARS} characters" in reason
    assert "\n" not in reason
    assert "\x1b" not in reason
    assert current == {"g": good}


@pytest.mark.parametrize(
    "value", [b"[" * 100_000 + b"]" * 100_000, b'{"schema_version": 1, "id": "g", "rules": [1], "terms": 3}', b"\xff"]
)
def test_garbage_records_are_refused_not_raised(value: bytes) -> None:
    current: dict[str, Theme] = {}
    assert apply_theme_record(current, b"g", value)
    assert current == {}
