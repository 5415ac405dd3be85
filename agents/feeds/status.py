"""Values of the ``news.feeds.status`` topic: one record per poll, and ``feed_stale`` events.

Plain JSON-able dicts with a ``schema_version``; the poller keys them by feed URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from agents.records import MAX_FEED_FIELD_CHARS

__all__ = [
    "MAX_ERROR_CHARS",
    "OUTCOMES",
    "STATUS_SCHEMA_VERSION",
    "Moment",
    "is_stale",
    "iso_time",
    "poll_status",
    "stale_event",
]

STATUS_SCHEMA_VERSION = 1
# ok: fetched and parsed (entries may be 0); not_modified: 304; error: this poll failed
# (the feed is retried with backoff); gone: 410, polling stopped; redirected: a permanent
# redirect moved the feed (the stored URL is updated and the new one polled).
OUTCOMES = frozenset({"ok", "not_modified", "error", "gone", "redirected"})
MAX_ERROR_CHARS = 1_000


Moment = datetime | float | int
"""A point in time: an aware datetime (naive is read as UTC) or seconds since the epoch."""


def _as_datetime(value: Moment) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), tz=UTC)


def iso_time(value: Moment | str | None) -> str | None:
    """A moment as ISO 8601 UTC with milliseconds and 'Z'; strings and None pass through."""
    if value is None or isinstance(value, str):
        return value
    value = _as_datetime(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _cut(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def poll_status(
    *,
    feed_url: str,
    name: str | None,
    outcome: str,
    http_status: int | None,
    entries_seen: int,
    entries_published: int,
    duration_ms: float,
    consecutive_failures: int,
    next_poll_at: Moment | str | None,
    polled_at: Moment | str,
    error: str | None = None,
    bozo: bool = False,
    bozo_reason: str | None = None,
    final_url: str | None = None,
) -> dict[str, Any]:
    """The value of one ``news.feeds.status`` record (``kind`` = ``"poll"``).

    ``final_url`` is the new URL after a permanent redirect.  ``error`` and ``bozo_reason``
    are cut to :data:`MAX_ERROR_CHARS`.  Raises ValueError for an unknown outcome.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown poll outcome {outcome!r} (one of {', '.join(sorted(OUTCOMES))})")
    return {
        "schema_version": STATUS_SCHEMA_VERSION,
        "kind": "poll",
        "feed_url": _cut(feed_url, MAX_FEED_FIELD_CHARS),
        "name": name,
        "outcome": outcome,
        "http_status": http_status,
        "entries_seen": int(entries_seen),
        "entries_published": int(entries_published),
        "duration_ms": round(float(duration_ms), 3),
        "consecutive_failures": int(consecutive_failures),
        "next_poll_at": iso_time(next_poll_at),
        "error": _cut(error, MAX_ERROR_CHARS),
        "bozo": bool(bozo),
        "bozo_reason": _cut(bozo_reason, MAX_ERROR_CHARS) if bozo else None,
        "final_url": final_url,
        "polled_at": iso_time(polled_at),
    }


def is_stale(last_published_at: Moment | None, expected_period: float, now: Moment) -> bool:
    """True when a feed has published nothing for longer than ``expected_period`` seconds.

    ``last_published_at`` None (nothing published yet) is never stale: the caller passes
    the time it started watching the feed instead.
    """
    if last_published_at is None or expected_period <= 0:
        return False
    return (_as_datetime(now) - _as_datetime(last_published_at)).total_seconds() > expected_period


def stale_event(
    *,
    feed_url: str,
    name: str | None,
    last_published_at: Moment | str | None,
    expected_period: float,
    now: Moment,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The value of a ``feed_stale`` record on ``news.feeds.status`` (``kind`` = ``"feed_stale"``)."""
    silent: float | None = None
    if last_published_at is not None and not isinstance(last_published_at, str):
        silent = round((_as_datetime(now) - _as_datetime(last_published_at)).total_seconds(), 3)
    event: dict[str, Any] = {
        "schema_version": STATUS_SCHEMA_VERSION,
        "kind": "feed_stale",
        "feed_url": _cut(feed_url, MAX_FEED_FIELD_CHARS),
        "name": name,
        "last_published_at": iso_time(last_published_at),
        "expected_period_s": float(expected_period),
        "silent_for_s": silent,
        "detected_at": iso_time(now),
    }
    if extra:
        event.update({k: v for k, v in extra.items() if k not in event})
    return event
