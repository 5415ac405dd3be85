"""Feeds: the pure decisions behind the RSS/Atom poller (``streams/sources/feeds``).

Feeds file and OPML parsing, entries to raw articles, deduplication keys, the polling
schedule and status records.  Nothing here does network I/O or imports Faust or Kafka.
"""

from agents.feeds.config import (
    DEFAULT_INTERVAL,
    MAX_INTERVAL,
    MIN_INTERVAL,
    FeedsFileError,
    FeedSpec,
    load_feeds_file,
    merge_feeds,
    parse_feeds_toml,
    render_feeds_toml,
    validate_url,
)
from agents.feeds.entries import (
    content_hash,
    dedup_keys,
    entry_to_article,
    extract_main_text,
    format_time,
    html_to_text,
)
from agents.feeds.opml import parse_opml
from agents.feeds.schedule import backoff_delay, feed_min_interval, next_delay, parse_retry_after
from agents.feeds.status import OUTCOMES, is_stale, iso_time, poll_status, stale_event

__all__ = [
    "DEFAULT_INTERVAL",
    "MAX_INTERVAL",
    "MIN_INTERVAL",
    "OUTCOMES",
    "FeedSpec",
    "FeedsFileError",
    "backoff_delay",
    "content_hash",
    "dedup_keys",
    "entry_to_article",
    "extract_main_text",
    "feed_min_interval",
    "format_time",
    "html_to_text",
    "is_stale",
    "iso_time",
    "load_feeds_file",
    "merge_feeds",
    "next_delay",
    "parse_feeds_toml",
    "parse_opml",
    "parse_retry_after",
    "poll_status",
    "render_feeds_toml",
    "stale_event",
    "validate_url",
]
