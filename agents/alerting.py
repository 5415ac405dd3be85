"""Alert decisions: which (theme, article) pairs alert, their deterministic ids, and the CloudEvent."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

ALERT_KIND_THEME_MATCH = "theme_match"
ALERT_KIND_NEW_STORY = "new_story"
ALERT_KIND_STORY_ESCALATION = "story_escalation"
ALERT_KINDS = (ALERT_KIND_THEME_MATCH, ALERT_KIND_NEW_STORY, ALERT_KIND_STORY_ESCALATION)
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
    return {
        "specversion": SPEC_VERSION,
        "id": aid,
        "source": EVENT_SOURCE,
        "type": EVENT_TYPE,
        "time": detected_at,
        "subject": f"{theme}/{tagged['id']}",
        "datacontenttype": "application/json",
        "data": data,
    }


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
    return {
        "specversion": SPEC_VERSION,
        "id": aid,
        "source": EVENT_SOURCE,
        "type": event_type(kind),
        "time": detected_at,
        "subject": f"{theme}/{story_id}",
        "datacontenttype": "application/json",
        "data": data,
    }


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
