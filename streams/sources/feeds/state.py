"""What the poller remembers across restarts, kept on two compacted Kafka topics.

``news.feeds.state`` (key: the feed's configured URL) holds each feed's conditional-GET
validators (ETag, Last-Modified), its current URL after permanent redirects, the count
of consecutive failures, when to poll next, whether it is gone (410) and when it last
published something.  ``news.feeds.seen`` (key: a dedup key) holds one small record per
published entry key; it is compacted *and* time-limited (``cleanup.policy=compact,delete``,
``SEEN_RETENTION``), and a key still present in a feed is re-written after
``SEEN_REFRESH`` so it never expires while the feed still carries the entry.  The
bound is therefore: the keys of entries seen in the last ``SEEN_RETENTION`` (90 days).

Both are read to their end when the poller starts (:meth:`KafkaFeedStore.load`).
:class:`MemoryFeedStore` keeps the same in a process (benchmarks, one-off runs).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Protocol

from aiokafka import AIOKafkaProducer

from streams.kafka.consumers import read_to_end

SCHEMA_VERSION = 1
DAY = 24 * 3600.0
SEEN_RETENTION = 90 * DAY  # news.feeds.seen retention.ms (and the in-memory horizon)
SEEN_REFRESH = 30 * DAY  # a key seen again after this long is re-written, so retention never drops a live entry
LOAD_TIMEOUT = 600.0  # seconds to read a state topic to its end at start


@dataclass(frozen=True)
class FeedState:
    """One feed's remembered state (the value on ``news.feeds.state``); times are epoch seconds."""

    feed: str  # the configured URL (the key)
    url: str  # where it is fetched now: differs after a permanent redirect
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0  # consecutive
    next_poll: float = 0.0
    gone: bool = False  # 410: not polled again until the feeds file changes its URL
    last_new_at: float | None = None  # last time an entry of this feed was published
    stale_reported_at: float | None = None  # when the current silence was reported as feed_stale
    first_polled_at: float | None = None
    updated_at: float = 0.0

    def to_json(self) -> bytes:
        return json.dumps({"schema_version": SCHEMA_VERSION, **asdict(self)}, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> FeedState | None:
        """The state in ``data``, or None when it is not a state record this code understands."""
        try:
            obj = json.loads(data)
        except ValueError:
            return None
        if not isinstance(obj, dict) or obj.get("schema_version") != SCHEMA_VERSION:
            return None
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in obj.items() if k in known})
        except TypeError:
            return None


def new_state(feed: str) -> FeedState:
    return FeedState(feed=feed, url=feed)


class FeedStore(Protocol):
    """Where feed states and seen keys live; the poller needs nothing else."""

    states: dict[str, FeedState]
    seen: dict[str, float]  # dedup key -> when it was last written

    async def load(self) -> None: ...

    async def save_states(self, states: Iterable[FeedState]) -> None: ...

    async def save_seen(self, keys: Iterable[str], *, now: float) -> None: ...


class MemoryFeedStore:
    """The store in this process only (nothing survives a restart)."""

    def __init__(self) -> None:
        self.states: dict[str, FeedState] = {}
        self.seen: dict[str, float] = {}

    async def load(self) -> None:
        return None

    async def save_states(self, states: Iterable[FeedState]) -> None:
        for state in states:
            self.states[state.feed] = state

    async def save_seen(self, keys: Iterable[str], *, now: float) -> None:
        for key in keys:
            self.seen[key] = now


def seen_value(now: float) -> bytes:
    return json.dumps({"schema_version": SCHEMA_VERSION, "seen_at": round(now, 3)}, sort_keys=True).encode()


class KafkaFeedStore:
    """The store on ``state_topic`` and ``seen_topic``, written through ``producer`` (newsmon's settings)."""

    def __init__(self, bootstrap: str, producer: AIOKafkaProducer, *, state_topic: str, seen_topic: str) -> None:
        self.bootstrap = bootstrap
        self.producer = producer
        self.state_topic = state_topic
        self.seen_topic = seen_topic
        self.states: dict[str, FeedState] = {}
        self.seen: dict[str, float] = {}

    async def load(self, *, now: float | None = None) -> None:
        """Read both topics from the beginning to the end they had when this was called."""
        now = time.time() if now is None else now
        for key, value in await _records(self.bootstrap, self.state_topic):
            state = FeedState.from_json(value) if value is not None else None
            if state is None:
                self.states.pop(key, None)
            else:
                self.states[key] = state
        horizon = now - SEEN_RETENTION
        for key, value in await _records(self.bootstrap, self.seen_topic):
            when = _seen_at(value)
            if when is None or when < horizon:
                self.seen.pop(key, None)
            else:
                self.seen[key] = when

    async def save_states(self, states: Iterable[FeedState]) -> None:
        futures = []
        for state in states:
            self.states[state.feed] = state
            futures.append(await self.producer.send(self.state_topic, state.to_json(), key=state.feed.encode()))
        for future in futures:
            await future

    async def save_seen(self, keys: Iterable[str], *, now: float) -> None:
        value = seen_value(now)
        futures = []
        for key in keys:
            self.seen[key] = now
            futures.append(await self.producer.send(self.seen_topic, value, key=key.encode()))
        for future in futures:
            await future


def _seen_at(value: bytes | None) -> float | None:
    if value is None:
        return None
    try:
        obj = json.loads(value)
    except ValueError:
        return None
    when = obj.get("seen_at") if isinstance(obj, dict) else None
    return float(when) if isinstance(when, int | float) else None


async def _records(bootstrap: str, topic: str) -> list[tuple[str, bytes | None]]:
    """(key, value) of every keyed record ``topic`` holds now, in offset order per partition."""
    records = await read_to_end(bootstrap, [topic], timeout=LOAD_TIMEOUT)
    return [(r.key.decode("utf-8", "replace"), r.value) for r in records if r.key is not None]
