"""Seed replay plumbing: find the input files, read and check them all, then publish.

The parsing itself is pure (``agents.seeds``) and finding and reading the files is
``streams.sources.files`` (re-exported here); this module does the rest: the Kafka
producer, pacing, bounded in-flight sends and a clean stop.
``streams.cli.replay`` is the command line on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiokafka import AIOKafkaProducer

from agents.records import RawArticle, encode
from streams.kafka.admin import ensure_topics, missing_topics
from streams.kafka.producer import make_producer
from streams.kafka.topics import TopicSpec
from streams.sources.files import SeedSource as SeedSource
from streams.sources.files import discover as discover
from streams.sources.files import load as load

DEFAULT_MAX_IN_FLIGHT = 1_000

T = TypeVar("T")
Record = tuple[bytes, bytes]  # (key, value) as published


class ReplayError(Exception):
    """A replay that cannot start (for example: its topic does not exist); ``str(exc)`` says what to do."""


@dataclass(frozen=True)
class ReplayStats:
    published: int  # records the broker acknowledged (acks=all)
    seconds: float
    interrupted: bool


def utc_timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 in UTC with a ``Z``, to the second: ``2025-01-13T09:30:00Z``."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- input


def schedule(items: Sequence[T], *, loop: bool = False, count: int | None = None) -> Iterator[T]:
    """The items in order, repeated forever with ``loop``; at most ``count`` in all."""
    produced = 0
    while items:
        for item in items:
            if count is not None and produced >= count:
                return
            yield item
            produced += 1
        if not loop:
            return


def to_record(article: RawArticle) -> Record:
    """The Kafka record of an article: key = its id (UTF-8), value = ``encode(article)``."""
    return article["id"].encode("utf-8"), encode(article)


# --------------------------------------------------------------------------- publishing


async def _stopped_within(stop: asyncio.Event | None, seconds: float) -> bool:
    """Sleep ``seconds``, waking early when ``stop`` is set; True when it was."""
    if stop is None:
        await asyncio.sleep(seconds)
        return False
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


async def publish(
    producer: AIOKafkaProducer,
    topic: str,
    records: Iterable[Record],
    *,
    rate: float = 0.0,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    stop: asyncio.Event | None = None,
    on_published: Callable[[int], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ReplayStats:
    """Send each (key, value) record (see :func:`to_record`) and wait for every acknowledgement.

    Records, not articles, so that a looping replay encodes each article once.

    ``rate`` > 0 paces sends on a fixed schedule (article *i* leaves at start + i/rate,
    so pauses never accumulate drift); 0 sends as fast as the producer takes them.
    At most ``max_in_flight`` sends are unacknowledged at a time.  When ``stop`` is set,
    no new article is sent, the ones already sent are awaited, and the stats say
    ``interrupted``.  A Kafka error raises its ``KafkaError``.
    """
    if rate < 0:
        raise ValueError("rate must be >= 0")
    if max_in_flight < 1:
        raise ValueError("max_in_flight must be >= 1")
    published = 0

    def acknowledged(future: asyncio.Future[Any]) -> None:
        nonlocal published
        if not future.cancelled() and future.exception() is None:
            published += 1
            if on_published is not None:
                on_published(1)

    start = clock()
    pending: list[asyncio.Future[Any]] = []
    interrupted = False
    for index, (key, value) in enumerate(records):
        if stop is not None and stop.is_set():
            interrupted = True
            break
        if rate > 0:
            delay = start + index / rate - clock()
            if delay > 0 and await _stopped_within(stop, delay):
                interrupted = True
                break
        future = await producer.send(topic, value, key=key)
        future.add_done_callback(acknowledged)
        pending.append(future)
        if len(pending) >= max_in_flight:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)  # flush: everything sent is acknowledged (or raises) before we return
    return ReplayStats(published, clock() - start, interrupted)


async def replay(
    bootstrap: str,
    topic: str,
    records: Iterable[Record],
    *,
    rate: float = 0.0,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    create: Sequence[TopicSpec] = (),
    replication_factor: int = 1,
    stop: asyncio.Event | None = None,
    on_published: Callable[[int], object] | None = None,
    producer_factory: Callable[[str], AIOKafkaProducer] = make_producer,
) -> ReplayStats:
    """Create the ``create`` topics when missing (with ``replication_factor``), check ``topic`` exists, then publish.

    Raises :class:`ReplayError` when the topic does not exist, ``KafkaError`` on any
    other Kafka failure.
    """
    started = time.monotonic()
    if create:
        await ensure_topics(bootstrap, create, replication_factor=replication_factor)
    if await missing_topics(bootstrap, [topic]):
        raise ReplayError(
            f"topic {topic!r} does not exist on {bootstrap}, and the broker does not create topics on demand. "
            "Create newsmon's topics with `newsmon replay --create-topics ...` (or run `newsmon worker` once)."
        )
    async with producer_factory(bootstrap) as producer:
        stats = await publish(
            producer, topic, records, rate=rate, max_in_flight=max_in_flight, stop=stop, on_published=on_published
        )
    return ReplayStats(stats.published, time.monotonic() - started, stats.interrupted)
