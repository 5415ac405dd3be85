"""The ``feeds`` bench section in its tiny mode: local server process, both rounds, every figure."""

from __future__ import annotations

import feedparser

from streams.bench import feeds


def test_generated_feeds_have_twenty_distinct_entries() -> None:
    first, second = (feedparser.parse(feeds.feed_document(i)) for i in (0, 1))
    assert len(first.entries) == len(second.entries) == feeds.ENTRIES
    assert not first.bozo
    assert {e.title for e in first.entries}.isdisjoint({e.title for e in second.entries})


def test_tiny_run_reports_every_figure() -> None:
    results = {r.name: r for r in feeds.run("tiny", lambda _: None)}
    assert set(results) == {
        "feeds.cycle_s",
        "feeds.entries_per_s",
        "feeds.cpu_ms_per_entry",
        "feeds.peak_rss_mb",
        "feeds.vs_sequential",
    }
    assert results["feeds.entries_per_s"].detail["entries"] == feeds.FEEDS["tiny"] * feeds.ENTRIES
    assert results["feeds.vs_sequential"].baseline == 1.0
    assert all(r.value > 0 for r in results.values())
