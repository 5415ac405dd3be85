"""What the dashboard knows: the topics' records folded into bounded, JSON-ready views.

``DashboardState.apply`` takes one record of any of the four topics it reads and
returns the event to push to browsers (or None).  Everything is in memory and bounded:
the newest ``max_alerts`` alerts, the newest ``max_articles`` tagged articles that matched
a theme (text capped at ``max_text`` characters), every theme and feed, and hourly alert
counts per theme for the last ``volume_hours`` hours.
"""

from __future__ import annotations

import json
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agents.records import document_text

MAX_ALERTS = 1000
MAX_ARTICLES = 2000
MAX_TEXT = 200_000  # characters of an article's text kept for the story view
VOLUME_HOURS = 24
HOUR = 3600


@dataclass(frozen=True)
class Topics:
    alerts: str
    tagged: str
    themes: str
    feeds_status: str


def parse_time(value: object) -> float | None:
    """ISO 8601 (``...Z``) to epoch seconds; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def alert_view(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The fields of a CloudEvents alert the page shows; None for something that is not an alert."""
    data = event.get("data")
    if not isinstance(data, Mapping) or not isinstance(data.get("alert_id"), str):
        return None
    evidence = [
        {"start": e["start"], "end": e["end"], "term": str(e.get("term", "")), "rule": str(e.get("rule", ""))}
        for e in data.get("evidence") or []
        if isinstance(e, Mapping) and isinstance(e.get("start"), int) and isinstance(e.get("end"), int)
    ]
    story = data.get("story")
    return {
        "id": data["alert_id"],
        "kind": str(data.get("kind", "")),
        "theme": str(data.get("theme", "")),
        "theme_name": str(data.get("theme_name", "")),
        "article_id": str(data.get("article_id", "")),
        "title": str(data.get("title") or ""),
        "url": data.get("url") if isinstance(data.get("url"), str) else None,
        "source": str(data.get("source") or ""),
        "lang": str(data.get("lang") or ""),
        "score": data.get("score"),
        "time": str(event.get("time") or data.get("detected_at") or ""),
        "evidence": evidence,
        "story_id": str(data.get("story_id") or ""),
        "story_articles": story.get("articles") if isinstance(story, Mapping) else None,
        "story_sources": story.get("sources") if isinstance(story, Mapping) else None,
        "reason": str(data.get("reason") or ""),
    }


def article_view(record: Mapping[str, Any], max_text: int = MAX_TEXT) -> dict[str, Any]:
    # Evidence offsets index the text the tagger read (``text_basis``): title, blank line, body, markup
    # stripped; a tagged record already carries the stripped title and body (agents.enrich).
    text = document_text(str(record.get("title") or ""), str(record.get("body") or ""))
    return {
        "id": str(record.get("id", "")),
        "title": str(record.get("title") or ""),
        "url": record.get("url") if isinstance(record.get("url"), str) else None,
        "source": str(record.get("source") or ""),
        "lang": str(record.get("lang") or ""),
        "published_at": record.get("published_at") if isinstance(record.get("published_at"), str) else None,
        "processed_at": str(record.get("processed_at") or ""),
        "text": text[:max_text],
        "text_truncated": len(text) > max_text,
        "themes": [
            {
                "theme": str(m.get("theme", "")),
                "name": str(m.get("name", "")),
                "score": m.get("score"),
                "evidence": [
                    {
                        "start": e["start"],
                        "end": e["end"],
                        "term": str(e.get("term", "")),
                        "rule": str(e.get("rule", "")),
                    }
                    for e in m.get("evidence") or []
                    if isinstance(e, Mapping)
                    and isinstance(e.get("start"), int)
                    and isinstance(e.get("end"), int)
                    and e["end"] <= max_text
                ],
            }
            for m in record.get("themes") or []
            if isinstance(m, Mapping)
        ],
    }


def theme_view(record: Mapping[str, Any]) -> dict[str, Any]:
    raw_terms = record.get("terms")
    terms: Mapping[str, Any] = raw_terms if isinstance(raw_terms, Mapping) else {}
    return {
        "id": str(record.get("id", "")),
        "name": str(record.get("name", "")),
        "description": str(record.get("description", "")),
        "threshold": record.get("threshold"),
        "exclude": [str(x) for x in record.get("exclude") or []],
        "terms": {
            str(name): sorted({str(t) for terms_ in langs.values() if isinstance(terms_, list) for t in terms_})
            for name, langs in terms.items()
            if isinstance(langs, Mapping)
        },
        "rules": [
            {
                "id": str(r.get("id", "")),
                "all": [str(x) for x in r.get("all") or []],
                "any": [str(x) for x in r.get("any") or []],
                "not": [str(x) for x in r.get("not") or []],
                "near": r.get("near"),
                "weight": r.get("weight"),
                "count": r.get("count"),
            }
            for r in record.get("rules") or []
            if isinstance(r, Mapping)
        ],
    }


def feed_view(record: Mapping[str, Any]) -> dict[str, Any]:
    keys = (
        "kind", "feed_url", "name", "outcome", "http_status", "entries_seen", "entries_published",
        "consecutive_failures", "next_poll_at", "error", "bozo", "polled_at", "last_published_at",
    )  # fmt: skip
    return {k: record.get(k) for k in keys if k in record}


@dataclass
class DashboardState:
    topics: Topics
    max_alerts: int = MAX_ALERTS
    max_articles: int = MAX_ARTICLES
    max_text: int = MAX_TEXT
    volume_hours: int = VOLUME_HOURS
    alerts: deque[dict[str, Any]] = field(default_factory=deque)
    alert_ids: set[str] = field(default_factory=set)
    articles: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    themes: dict[str, dict[str, Any]] = field(default_factory=dict)
    feeds: dict[str, dict[str, Any]] = field(default_factory=dict)
    stale: dict[str, dict[str, Any]] = field(default_factory=dict)
    volume: dict[tuple[str, int], int] = field(default_factory=dict)  # (theme, hour start) -> alerts

    def apply(self, topic: str, key: bytes | None, value: bytes | None) -> tuple[str, dict[str, Any]] | None:
        """Fold one record in; the (event name, payload) to push to browsers, if any."""
        if topic == self.topics.themes:
            name = key.decode("utf-8", "replace") if key is not None else ""
            if value is None:
                self.themes.pop(name, None)
                return "themes", {}
            record = _json(value)
            if record is not None:
                self.themes[name] = theme_view(record)
                return "themes", {}
            return None
        if value is None:
            return None
        record = _json(value)
        if record is None:
            return None
        if topic == self.topics.alerts:
            return self._alert(record)
        if topic == self.topics.tagged:
            if record.get("themes"):
                article = article_view(record, self.max_text)
                self.articles[article["id"]] = article
                self.articles.move_to_end(article["id"])
                while len(self.articles) > self.max_articles:
                    self.articles.popitem(last=False)
            return None
        if topic == self.topics.feeds_status:
            view = feed_view(record)
            url = str(view.get("feed_url") or "")
            if view.get("kind") == "feed_stale":
                self.stale[url] = view
            else:
                self.feeds[url] = {**view, "stale": url in self.stale}
                if view.get("entries_published"):
                    self.stale.pop(url, None)
                    self.feeds[url]["stale"] = False
            return "feed", self.feeds.get(url, view)
        return None

    def _alert(self, event: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
        view = alert_view(event)
        if view is None or view["id"] in self.alert_ids:  # at-least-once delivery: the same id twice
            return None
        self.alerts.append(view)
        self.alert_ids.add(view["id"])
        while len(self.alerts) > self.max_alerts:
            self.alert_ids.discard(self.alerts.popleft()["id"])
        moment = parse_time(view["time"])
        if moment is not None:
            bucket = int(moment // HOUR) * HOUR
            self.volume[(view["theme"], bucket)] = self.volume.get((view["theme"], bucket), 0) + 1
        return "alert", view

    def volume_view(self, now: float) -> dict[str, Any]:
        """Alerts per theme per hour for the last ``volume_hours`` hours (oldest hour first)."""
        last = int(now // HOUR) * HOUR
        hours = [last - HOUR * i for i in range(self.volume_hours - 1, -1, -1)]
        first = hours[0]
        for key in [k for k in self.volume if k[1] < first]:
            del self.volume[key]
        themes = sorted({theme for theme, _ in self.volume})
        return {
            "hours": [datetime.fromtimestamp(h, UTC).isoformat().replace("+00:00", "Z") for h in hours],
            "series": [
                {
                    "theme": theme,
                    "name": self.themes.get(theme, {}).get("name", theme),
                    "counts": [self.volume.get((theme, h), 0) for h in hours],
                }
                for theme in themes
            ],
        }

    def article(self, article_id: str) -> dict[str, Any] | None:
        """The story view of one article: its tagged record and the alerts it raised."""
        found = self.articles.get(article_id)
        alerts = [a for a in self.alerts if a["article_id"] == article_id]
        if found is None and not alerts:
            return None
        return {"article": found, "alerts": alerts}


def _json(value: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None
