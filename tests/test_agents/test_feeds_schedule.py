"""Polling schedule: backoff bounds and determinism, Retry-After in both forms, ttl and sy:updatePeriod."""

from __future__ import annotations

import io
import itertools
import random
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.feeds import backoff_delay, feed_min_interval, next_delay, parse_retry_after
from agents.feeds.schedule import MAX_FEED_MIN_INTERVAL, MAX_RETRY_AFTER, MIN_DELAY

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(
    failures=st.integers(-3, 200),
    base=st.floats(0.001, 1e6),
    cap=st.floats(0.001, 1e7),
    seed=st.integers(0, 2**32),
)
def test_backoff_within_bounds(failures: int, base: float, cap: float, seed: int) -> None:
    delay = backoff_delay(failures, base=base, cap=cap, rng=random.Random(seed))
    if failures <= 0:
        assert delay == 0.0
    else:
        assert 0.0 <= delay <= min(cap, base * 2 ** min(failures - 1, 64))


def test_backoff_is_deterministic_with_a_seed_and_grows() -> None:
    a = [backoff_delay(n, base=60, cap=86400, rng=random.Random(7)) for n in range(1, 12)]
    b = [backoff_delay(n, base=60, cap=86400, rng=random.Random(7)) for n in range(1, 12)]
    assert a == b
    # Full jitter: the average doubles with each failure until the cap.
    rng = random.Random(1)
    means = [sum(backoff_delay(n, base=60, cap=1e9, rng=rng) for _ in range(2000)) / 2000 for n in (1, 2, 3, 4)]
    for lower, higher in itertools.pairwise(means):
        assert 1.7 < higher / lower < 2.3
    capped = [backoff_delay(40, base=60, cap=3600, rng=rng) for _ in range(500)]
    assert max(capped) <= 3600
    assert max(capped) > 3000


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Tue, 01 Dec 2026 12:05:00 GMT", 300.0),
        ("Tuesday, 01-Dec-26 12:00:30 GMT", 30.0),  # RFC 850
        ("Tue Dec  1 12:01:00 2026", 60.0),  # asctime
        ("Mon, 30 Nov 2026 12:00:00 GMT", 0.0),  # in the past
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        (None, None),
        ("99999999999999999999999", 1e15),
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_retry_after_naive_now_is_utc() -> None:
    assert parse_retry_after("Tue, 01 Dec 2026 12:05:00 GMT", now=NOW.replace(tzinfo=None)) == 300.0


def feed_of(channel_extra: str) -> dict[str, object]:
    doc = f"""<?xml version="1.0"?><rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
<channel><title>t</title>{channel_extra}<item><title>x</title></item></channel></rss>"""
    return feedparser.parse(io.BytesIO(doc.encode())).feed  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("extra", "seconds"),
    [
        ("<ttl>60</ttl>", 3600.0),
        ("<ttl> 15 </ttl>", 900.0),
        ("<ttl>0</ttl>", None),
        ("<ttl>soon</ttl>", None),
        ("<sy:updatePeriod>hourly</sy:updatePeriod>", 3600.0),
        ("<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>", 21600.0),
        ("<sy:updatePeriod> Weekly </sy:updatePeriod><sy:updateFrequency>7</sy:updateFrequency>", 86400.0),
        ("<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>0</sy:updateFrequency>", None),
        ("<sy:updatePeriod>fortnightly</sy:updatePeriod>", None),
        ("<ttl>30</ttl><sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>", 1800.0),
        ("", None),
    ],
)
def test_feed_min_interval(extra: str, seconds: float | None) -> None:
    assert feed_min_interval(feed_of(extra)) == seconds


def test_feed_min_interval_accepts_the_whole_parse_result() -> None:
    doc = b'<rss version="2.0"><channel><ttl>10</ttl><item><title>x</title></item></channel></rss>'
    assert feed_min_interval(feedparser.parse(io.BytesIO(doc))) == 600.0


def test_next_delay() -> None:
    rng = random.Random(3)
    assert next_delay(900, None, None, 0, rng) == 900
    assert next_delay(900, 3600, None, 0, rng) == 3600  # the feed's ttl is a lower bound
    assert next_delay(900, 60, None, 0, rng) == 900  # ... not a reason to poll faster
    assert next_delay(900, 10 * 86400, None, 0, rng) == MAX_FEED_MIN_INTERVAL
    assert next_delay(900, None, 7200, 1, rng) >= 7200  # Retry-After is honoured
    assert next_delay(900, None, 1e12, 1, rng) == MAX_RETRY_AFTER
    assert next_delay(1, None, None, 0, rng) == MIN_DELAY
    for failures in range(1, 30):
        delay = next_delay(900, 1800, None, failures, rng)
        assert 1800 <= delay <= 86400


def test_next_delay_is_deterministic() -> None:
    a = [next_delay(600, None, None, n, random.Random(5)) for n in range(6)]
    b = [next_delay(600, None, None, n, random.Random(5)) for n in range(6)]
    assert a == b


def test_http_date_in_the_future_relative_to_now() -> None:
    later = NOW + timedelta(hours=2)
    stamp = later.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(stamp, now=NOW) == 7200.0
