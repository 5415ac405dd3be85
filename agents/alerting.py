"""Alert decisions: which (theme, article) pairs alert, their deterministic ids, and the CloudEvent."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

ALERT_KIND_THEME_MATCH = "theme_match"
ALERT_KIND_NEW_STORY = "new_story"
ALERT_KIND_STORY_ESCALATION = "story_escalation"
ALERT_KIND_SPIKE = "spike"
ALERT_KIND_DIGEST = "digest"
ALERT_KINDS = (
    ALERT_KIND_THEME_MATCH,
    ALERT_KIND_NEW_STORY,
    ALERT_KIND_STORY_ESCALATION,
    ALERT_KIND_SPIKE,
    ALERT_KIND_DIGEST,
)
EVENT_TYPE = "io.newsmon.alert.theme_match.v1"
EVENT_SOURCE = "urn:newsmon:worker"
SPEC_VERSION = "1.0"


def alert_id(theme: str, article_id: str, kind: str = ALERT_KIND_THEME_MATCH) -> str:
    """Same theme, same article, same kind -> same id, in every run and on every worker."""
    digest = hashlib.sha256(f"{kind}\x1f{theme}\x1f{article_id}".encode()).hexdigest()
    return "al-" + digest[:24]


def event_type(kind: str) -> str:
    """The CloudEvents type of an alert kind: ``io.newsmon.alert.<kind>.v1``."""
    return f"io.newsmon.alert.{kind}.v1"


def story_alert_id(kind: str, theme: str, story_id: str, reason: str = "") -> str:
    """new_story: one id per (theme, story); story_escalation: one per (theme, story, reason)."""
    subject = f"{story_id}/{reason}" if reason else story_id
    return alert_id(theme, subject, kind)


def cloud_event(aid: str, type_: str, subject: str, time: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A CloudEvents 1.0 JSON event (structured mode) as newsmon publishes alerts."""
    return {
        "specversion": SPEC_VERSION,
        "id": aid,
        "source": EVENT_SOURCE,
        "type": type_,
        "time": time,
        "subject": subject,
        "datacontenttype": "application/json",
        "data": dict(data),
    }


def dedup_key(theme: str, article_id: str) -> str:
    """The key under which the worker remembers that this pair has alerted."""
    return f"{theme}|{article_id}"


def new_alert_themes(themes: Iterable[str], article_id: str, already: Mapping[str, Any]) -> list[str]:
    """The matched themes that have not alerted for this article before (in the given order)."""
    out: list[str] = []
    for theme in themes:
        if dedup_key(theme, article_id) not in already and theme not in out:
            out.append(theme)
    return out


def alert_event(tagged: Mapping[str, Any], match: Mapping[str, Any], *, detected_at: str) -> dict[str, Any]:
    """A CloudEvents 1.0 JSON event for one theme match of one tagged article."""
    theme = str(match["theme"])
    aid = alert_id(theme, str(tagged["id"]))
    data = {
        "alert_id": aid,
        "kind": ALERT_KIND_THEME_MATCH,
        "theme": theme,
        "theme_name": match.get("name", theme),
        "article_id": tagged["id"],
        "title": tagged["title"],
        "url": tagged.get("url"),
        "source": tagged.get("source", ""),
        "lang": tagged.get("lang", "und"),
        "score": match.get("score", 0.0),
        "evidence": list(match.get("evidence", [])),
        "published_at": tagged.get("published_at"),
        "detected_at": detected_at,
    }
    return cloud_event(aid, EVENT_TYPE, f"{theme}/{tagged['id']}", detected_at, data)


def story_alert_event(
    tagged: Mapping[str, Any],
    *,
    kind: str,
    theme: str,
    theme_name: str,
    story: Mapping[str, Any],
    reason: str = "",
    detected_at: str,
) -> dict[str, Any]:
    """A CloudEvents 1.0 JSON event for a story alert (``new_story`` or ``story_escalation``).

    ``tagged`` is the article that caused it (the story's first article matching the theme,
    or the one that escalated it); ``story`` holds the story's ``story_id``, ``articles``,
    ``sources`` and ``langs`` counts and lists as they are after this article.
    """
    story_id = str(story["story_id"])
    aid = story_alert_id(kind, theme, story_id, reason)
    match: Mapping[str, Any] = next((m for m in tagged.get("themes", []) if m.get("theme") == theme), {})
    data: dict[str, Any] = {
        "alert_id": aid,
        "kind": kind,
        "theme": theme,
        "theme_name": theme_name,
        "story_id": story_id,
        "story": dict(story),
        "article_id": tagged["id"],
        "title": tagged["title"],
        "url": tagged.get("url"),
        "source": tagged.get("source", ""),
        "lang": tagged.get("lang", "und"),
        "score": match.get("score", 0.0),
        "evidence": list(match.get("evidence", [])),
        "published_at": tagged.get("published_at"),
        "detected_at": detected_at,
    }
    if reason:
        data["reason"] = reason
    return cloud_event(aid, event_type(kind), f"{theme}/{story_id}", detected_at, data)


def window_bounds(window: int, window_seconds: float) -> tuple[str, str]:
    """ISO 8601 UTC start and end of a volume window (``agents.volume.window_of``)."""
    return _iso(window * window_seconds), _iso((window + 1) * window_seconds)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def spike_alert_event(
    tagged: Mapping[str, Any],
    *,
    theme: str,
    theme_name: str,
    window: int,
    window_seconds: float,
    count: int,
    baseline: float,
    threshold: float,
    detected_at: str,
) -> dict[str, Any]:
    """A CloudEvents 1.0 JSON event for a theme's coverage spike; ``tagged`` is the article that crossed the threshold.

    One id per (theme, window the surge started in).
    """
    start, end = window_bounds(window, window_seconds)
    aid = alert_id(theme, f"spike/{window}", ALERT_KIND_SPIKE)
    data: dict[str, Any] = {
        "alert_id": aid,
        "kind": ALERT_KIND_SPIKE,
        "theme": theme,
        "theme_name": theme_name,
        "window_start": start,
        "window_end": end,
        "count": count,
        "baseline": baseline,
        "threshold": threshold,
        "article_id": tagged["id"],
        "story_id": tagged.get("story_id"),
        "title": tagged["title"],
        "url": tagged.get("url"),
        "source": tagged.get("source", ""),
        "lang": tagged.get("lang", "und"),
        "published_at": tagged.get("published_at"),
        "detected_at": detected_at,
    }
    return cloud_event(aid, event_type(ALERT_KIND_SPIKE), f"{theme}/spike/{start}", detected_at, data)


def folded_item(event: Mapping[str, Any]) -> dict[str, Any]:
    """What a digest lists of one alert held back by the budget."""
    data = event.get("data") or {}
    item = {
        key: data.get(key)
        for key in ("alert_id", "kind", "story_id", "article_id", "title", "url", "source", "lang", "published_at")
    }
    if data.get("reason"):
        item["reason"] = data["reason"]
    return item


def digest_alert_event(
    *,
    theme: str,
    theme_name: str,
    window: int,
    window_seconds: float,
    budget: int,
    items: list[Mapping[str, Any]],
    part: int,
    parts: int,
    detected_at: str,
) -> dict[str, Any]:
    """A CloudEvents 1.0 JSON event listing the alerts a theme's budget held back in one window.

    One id per (theme, window, part); a window with many folded alerts has several parts.
    """
    start, end = window_bounds(window, window_seconds)
    subject = f"digest/{window}" if part == 1 else f"digest/{window}/{part}"
    aid = alert_id(theme, subject, ALERT_KIND_DIGEST)
    data: dict[str, Any] = {
        "alert_id": aid,
        "kind": ALERT_KIND_DIGEST,
        "theme": theme,
        "theme_name": theme_name,
        "window_start": start,
        "window_end": end,
        "budget": budget,
        "part": part,
        "parts": parts,
        "count": len(items),
        "items": [dict(i) for i in items],
        "title": f"{len(items)} more alert(s) for {theme_name}",
        "detected_at": detected_at,
    }
    return cloud_event(aid, event_type(ALERT_KIND_DIGEST), f"{theme}/digest/{start}", detected_at, data)


def format_alert_line(event: Mapping[str, Any]) -> str:
    """One readable, terminal-safe line for a CloudEvents alert."""
    from agents.text import for_terminal

    data = event.get("data") or {}
    when = for_terminal(str(data.get("detected_at") or event.get("time") or ""), 40)
    theme = for_terminal(str(data.get("theme", "?")), 40)
    lang = for_terminal(str(data.get("lang", "und")), 8)
    score = for_terminal(str(data.get("score", 0)), 12)
    title = for_terminal(str(data.get("title", "")), 100)
    url = for_terminal(str(data.get("url") or data.get("article_id") or ""), 120)
    alert = for_terminal(str(data.get("alert_id") or event.get("id") or ""), 40)
    return f"{when}  {theme:<24} [{lang}] score={score:<5} {title}  <{url}>  {alert}"
