"""The dashboard's state, record by record (no Kafka), and its page's security headers."""

from __future__ import annotations

import json
from typing import Any

from agents.records import document_text
from streams.sinks.dashboard.state import HOUR, DashboardState, Topics
from streams.web import CONTENT_SECURITY_POLICY

TOPICS = Topics(alerts="a", tagged="t", themes="th", feeds_status="f")


def alert(alert_id: str, theme: str = "greenland", time: str = "2026-12-03T10:15:00.000Z", **data: Any) -> bytes:
    body = {"alert_id": alert_id, "kind": "new_story", "theme": theme, "article_id": "a-1", "title": "T", **data}
    return json.dumps({"id": alert_id, "time": time, "data": body}).encode()


def test_an_alert_delivered_twice_is_pushed_once() -> None:
    state = DashboardState(TOPICS)
    first = state.apply("a", b"greenland", alert("al-1"))
    assert first is not None
    assert first[0] == "alert"
    assert state.apply("a", b"greenland", alert("al-1")) is None
    assert [a["id"] for a in state.alerts] == ["al-1"]


def test_alerts_are_bounded_and_counted_per_theme_and_hour() -> None:
    state = DashboardState(TOPICS, max_alerts=2)
    for i, when in enumerate(["2026-12-03T10:00:00Z", "2026-12-03T10:59:59Z", "2026-12-03T11:30:00Z"]):
        state.apply("a", None, alert(f"al-{i}", time=when))
    assert [a["id"] for a in state.alerts] == ["al-1", "al-2"]
    now = state.alerts[-1]
    assert now["time"] == "2026-12-03T11:30:00Z"
    from streams.sinks.dashboard.state import parse_time

    moment = parse_time("2026-12-03T11:45:00Z")
    assert moment is not None
    view = state.volume_view(moment)
    assert len(view["hours"]) == 24
    assert view["hours"][-2:] == ["2026-12-03T10:00:00Z", "2026-12-03T11:00:00Z"]
    assert view["series"][0]["counts"][-2:] == [2, 1]
    later = state.volume_view(moment + 30 * HOUR)
    assert later["series"] == []


def test_the_story_text_is_the_text_the_offsets_index() -> None:
    state = DashboardState(TOPICS)
    record = {
        "id": "a-1",
        "title": "Greenland <now>",  # already stripped by the worker: a literal "<" stays text
        "body": 'Trump wants "Greenland".',
        "themes": [{"theme": "greenland", "evidence": [{"start": 0, "end": 9, "term": "Greenland*", "rule": "r"}]}],
    }
    assert state.apply("t", b"a-1", json.dumps(record).encode()) is None
    view = state.article("a-1")
    assert view is not None
    text = view["article"]["text"]
    assert text == document_text("Greenland <now>", 'Trump wants "Greenland".')
    assert text[0:9] == "Greenland"
    assert state.article("a-404") is None


def test_themes_follow_tombstones_and_bad_values_are_ignored() -> None:
    state = DashboardState(TOPICS)
    theme = {"id": "x", "name": "X", "rules": [{"id": "r", "all": ["s"]}], "terms": {"s": {"en": ["a", "b"]}}}
    assert state.apply("th", b"x", json.dumps(theme).encode()) == ("themes", {})
    assert state.themes["x"]["terms"] == {"s": ["a", "b"]}
    assert state.apply("th", b"x", None) == ("themes", {})
    assert state.themes == {}
    assert state.apply("a", None, b"not json") is None
    assert state.apply("a", None, b'{"data": {}}') is None


def test_feed_status_keeps_the_latest_poll_and_marks_stale_feeds() -> None:
    state = DashboardState(TOPICS)
    url = "https://example.org/rss"
    state.apply("f", url.encode(), json.dumps({"kind": "feed_stale", "feed_url": url}).encode())
    event = state.apply("f", url.encode(), json.dumps({"kind": "poll", "feed_url": url, "outcome": "ok"}).encode())
    assert event is not None
    assert event[1]["stale"] is True
    state.apply("f", url.encode(), json.dumps({"kind": "poll", "feed_url": url, "entries_published": 2}).encode())
    assert state.feeds[url]["stale"] is False


def test_the_policy_forbids_inline_and_foreign_scripts() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY
