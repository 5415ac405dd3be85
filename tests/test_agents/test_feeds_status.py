"""Status records for news.feeds.status: poll outcomes, feed_stale events, staleness."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from agents.feeds import OUTCOMES, is_stale, poll_status, stale_event

NOW = datetime(2026, 12, 1, 12, 0, 0, 250000, tzinfo=UTC)


def test_poll_status_record() -> None:
    record = poll_status(
        feed_url="https://example.org/rss",
        name="Example",
        outcome="ok",
        http_status=200,
        entries_seen=20,
        entries_published=3,
        duration_ms=123.4567,
        consecutive_failures=0,
        next_poll_at=NOW + timedelta(minutes=15),
        polled_at=NOW,
        bozo=True,
        bozo_reason="malformed   feed:\nmismatched tag",
    )
    assert record == {
        "schema_version": 1,
        "kind": "poll",
        "feed_url": "https://example.org/rss",
        "name": "Example",
        "outcome": "ok",
        "http_status": 200,
        "entries_seen": 20,
        "entries_published": 3,
        "duration_ms": 123.457,
        "consecutive_failures": 0,
        "next_poll_at": "2026-12-01T12:15:00.250Z",
        "error": None,
        "bozo": True,
        "bozo_reason": "malformed feed: mismatched tag",
        "final_url": None,
        "polled_at": "2026-12-01T12:00:00.250Z",
    }
    json.dumps(record, allow_nan=False)


def test_poll_status_epoch_seconds_long_errors_and_bad_outcome() -> None:
    record = poll_status(
        feed_url="https://example.org/rss",
        name=None,
        outcome="error",
        http_status=None,
        entries_seen=0,
        entries_published=0,
        duration_ms=5,
        consecutive_failures=3,
        next_poll_at=NOW.timestamp(),
        polled_at=NOW.replace(tzinfo=None),
        error="x" * 5000,
    )
    assert record["next_poll_at"] == record["polled_at"] == "2026-12-01T12:00:00.250Z"
    assert len(record["error"]) == 1000
    assert record["bozo_reason"] is None
    assert {"ok", "not_modified", "error", "gone", "redirected"} == OUTCOMES
    with pytest.raises(ValueError, match="unknown poll outcome"):
        poll_status(
            feed_url="u", name=None, outcome="fine", http_status=200, entries_seen=0, entries_published=0,
            duration_ms=0, consecutive_failures=0, next_poll_at=None, polled_at=NOW,
        )  # fmt: skip


def test_is_stale() -> None:
    hour = 3600.0
    assert not is_stale(None, hour, NOW)
    assert not is_stale(NOW - timedelta(minutes=59), hour, NOW)
    assert is_stale(NOW - timedelta(minutes=61), hour, NOW)
    assert is_stale((NOW - timedelta(hours=2)).timestamp(), hour, NOW.timestamp())
    assert not is_stale(NOW - timedelta(days=9), 0, NOW)


def test_stale_event() -> None:
    event = stale_event(
        feed_url="https://example.org/rss",
        name="Example",
        last_published_at=NOW - timedelta(hours=3),
        expected_period=3600,
        now=NOW,
    )
    assert event == {
        "schema_version": 1,
        "kind": "feed_stale",
        "feed_url": "https://example.org/rss",
        "name": "Example",
        "last_published_at": "2026-12-01T09:00:00.250Z",
        "expected_period_s": 3600.0,
        "silent_for_s": 10800.0,
        "detected_at": "2026-12-01T12:00:00.250Z",
    }
    never = stale_event(feed_url="u", name=None, last_published_at=None, expected_period=60, now=NOW)
    assert never["silent_for_s"] is None
