"""The poller wired to Kafka: topics checked, state loaded, one round or continuous polling.

``streams.cli.feeds`` calls :func:`poll_feeds`; tests and the benchmark build a
:class:`~streams.sources.feeds.poller.Poller` directly with other stores and sinks.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

from agents.feeds.config import FeedSpec
from streams.kafka.admin import ensure_topics
from streams.kafka.producer import make_producer
from streams.kafka.topics import FEEDS_SEEN, FEEDS_STATE, FEEDS_STATUS, RAW, TopicSpec, topic_name
from streams.settings import Settings
from streams.sources.feeds.http import Fetcher, FetchLimits
from streams.sources.feeds.metrics import health_app
from streams.sources.feeds.poller import KafkaSink, Poller, PollResult
from streams.sources.feeds.state import KafkaFeedStore
from streams.web import serve


@dataclass(frozen=True)
class FeedTopics:
    raw: str
    status: str
    state: str
    seen: str

    @classmethod
    def of(cls, settings: Settings) -> FeedTopics:
        return cls(
            raw=topic_name(settings, RAW),
            status=topic_name(settings, FEEDS_STATUS),
            state=topic_name(settings, FEEDS_STATE),
            seen=topic_name(settings, FEEDS_SEEN),
        )


def fetch_limits(settings: Settings) -> FetchLimits:
    return FetchLimits(
        connect_timeout=settings.feeds_connect_timeout,
        read_timeout=settings.feeds_read_timeout,
        total_timeout=settings.feeds_total_timeout,
        max_bytes=settings.feeds_max_bytes,
        max_redirects=settings.feeds_max_redirects,
        per_host=settings.feeds_per_host,
        global_limit=settings.feeds_concurrency,
        contact=settings.feeds_contact,
    )


async def poll_feeds(
    bootstrap: str,
    specs: Sequence[FeedSpec],
    *,
    topics: FeedTopics,
    limits: FetchLimits,
    create: Sequence[TopicSpec] = (),
    replication_factor: int = 1,
    stop: asyncio.Event | None = None,
    rng: random.Random | None = None,
    web: tuple[str, int] | None = None,
) -> list[PollResult]:
    """Create the ``create`` topics when missing, load the state, then poll.

    Without ``stop``: every feed once, and the results are returned.  With ``stop``:
    continuously until it is set (returns ``[]``).  Kafka errors raise ``KafkaError``.
    ``web`` (bind, port): serve ``/metrics`` and ``/health`` there while polling (BindError when taken);
    ``/health`` is ready once the topics exist and the state is loaded.
    """
    loaded = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        if web is not None:
            await stack.enter_async_context(serve(health_app(loaded.is_set), *web))
        return await _poll(bootstrap, specs, topics, limits, create, replication_factor, stop, rng, loaded)


async def _poll(
    bootstrap: str,
    specs: Sequence[FeedSpec],
    topics: FeedTopics,
    limits: FetchLimits,
    create: Sequence[TopicSpec],
    replication_factor: int,
    stop: asyncio.Event | None,
    rng: random.Random | None,
    loaded: asyncio.Event,
) -> list[PollResult]:
    if create:
        await ensure_topics(bootstrap, create, replication_factor=replication_factor)
    async with make_producer(bootstrap) as producer, Fetcher(limits) as fetcher:
        store = KafkaFeedStore(bootstrap, producer, state_topic=topics.state, seen_topic=topics.seen)
        await store.load()
        loaded.set()
        poller = Poller(store, fetcher, KafkaSink(producer, raw_topic=topics.raw, status_topic=topics.status), rng=rng)
        if stop is None:
            results = await poller.poll_once(specs)
            await producer.flush()
            return results
        await poller.run(specs, stop)
        await producer.flush()
        return []
