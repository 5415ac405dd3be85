"""When to poll a feed next: backoff with jitter, Retry-After, the feed's own ttl / sy:updatePeriod.

Pure functions of their arguments; randomness comes from the ``random.Random`` passed in,
so a seeded generator gives the same delays every run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = [
    "BACKOFF_CAP",
    "MAX_FEED_MIN_INTERVAL",
    "MAX_RETRY_AFTER",
    "MIN_DELAY",
    "backoff_delay",
    "feed_min_interval",
    "next_delay",
    "parse_retry_after",
]

MIN_DELAY = 60.0  # never poll a feed more often than once a minute, whatever happens
BACKOFF_CAP = 24 * 3600.0  # a failing feed is still tried once a day
MAX_RETRY_AFTER = 7 * 24 * 3600.0  # a server's Retry-After is honoured up to a week
MAX_FEED_MIN_INTERVAL = 24 * 3600.0  # a feed's ttl / sy:updatePeriod is honoured up to a day

_PERIODS = {"hourly": 3600.0, "daily": 86400.0, "weekly": 7 * 86400.0, "monthly": 30 * 86400.0, "yearly": 365 * 86400.0}


def backoff_delay(failures: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform in ``[0, min(cap, base * 2**(failures - 1))]``.

    0.0 for ``failures <= 0``.  The ceiling doubles with each consecutive failure; the
    jitter spreads retries of many feeds failing together (one host down) over time.
    """
    if failures <= 0 or base <= 0 or cap <= 0:
        return 0.0
    exponent = min(failures - 1, 64)  # 2**64 * base is past any cap: no overflow
    ceiling = min(cap, base * math.ldexp(1.0, exponent))
    return rng.uniform(0.0, ceiling)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date; None if absent or invalid.

    A date in the past gives 0.0.  ``now`` without a time zone is read as UTC.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return float(min(int(value[:16]), 10**15))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _positive_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) and number > 0 else None


def feed_min_interval(feed: Mapping[str, Any]) -> float | None:
    """The shortest polling interval, in seconds, that a parsed feed (feedparser's ``parsed.feed``) asks for.

    RSS ``<ttl>`` (minutes) and the syndication module's ``sy:updatePeriod`` /
    ``sy:updateFrequency`` (period divided by frequency, frequency 1 by default); the
    larger when both are given; None when neither is usable.  The whole result of
    ``feedparser.parse`` is accepted too (its ``feed`` is read).
    """
    inner = feed.get("feed")
    if isinstance(inner, Mapping) and "entries" in feed:
        feed = inner
    found: list[float] = []
    ttl = _positive_number(feed.get("ttl"))
    if ttl is not None:
        found.append(ttl * 60.0)
    period_name = feed.get("sy_updateperiod")
    if isinstance(period_name, str) and period_name.strip().lower() in _PERIODS:
        period = _PERIODS[period_name.strip().lower()]
        raw_frequency = feed.get("sy_updatefrequency")
        frequency = _positive_number(raw_frequency) if raw_frequency is not None else 1.0
        if frequency is not None:
            found.append(period / max(frequency, 1e-9))
    return max(found) if found else None


def next_delay(
    spec_interval: float,
    feed_min: float | None,
    retry_after: float | None,
    failures: int,
    rng: random.Random,
    *,
    backoff_cap: float = BACKOFF_CAP,
) -> float:
    """Seconds until the next poll of a feed.

    - no failures: the configured interval;
    - after ``failures`` consecutive failures: :func:`backoff_delay` with the interval as base;
    - the feed's own ttl / sy:updatePeriod (``feed_min``, capped at a day) and a server's
      Retry-After (capped at a week) are lower bounds;
    - never below :data:`MIN_DELAY`.
    """
    if failures > 0:
        delay = backoff_delay(failures, base=spec_interval, cap=max(backoff_cap, spec_interval), rng=rng)
    else:
        delay = spec_interval
    if feed_min is not None and math.isfinite(feed_min) and feed_min > 0:
        delay = max(delay, min(feed_min, MAX_FEED_MIN_INTERVAL))
    if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return max(delay, MIN_DELAY)
