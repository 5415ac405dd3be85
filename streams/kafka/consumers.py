"""Group-less consumers that read whole topics (themes, alerts, the demo's watch)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition

from streams.kafka.admin import admin_client
from streams.kafka.limits import MAX_MESSAGE_BYTES


class MissingTopic(LookupError):
    """The topic does not exist on the cluster."""


async def topic_partitions(bootstrap: str, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of ``topics``; MissingTopic names any absent one.

    A started consumer without a subscription has no metadata for arbitrary topics
    (``partitions_for_topic`` answers None), so ask the cluster with a describe request.
    """
    names = list(dict.fromkeys(topics))
    out: list[TopicPartition] = []
    async with admin_client(bootstrap) as admin:
        described = await admin.describe_topics(names)
    by_name = {d.get("topic"): d for d in described}
    for name in names:
        entry = by_name.get(name)
        if entry is None or entry.get("error_code") or not entry.get("partitions"):
            raise MissingTopic(f"topic {name!r} does not exist (start `newsmon worker` once to create it)")
        out += [
            TopicPartition(name, int(p["partition"])) for p in sorted(entry["partitions"], key=lambda p: p["partition"])
        ]
    return out


async def end_offsets(bootstrap: str, topics: Iterable[str]) -> dict[TopicPartition, int]:
    """The offset the next record of each partition of ``topics`` will get."""
    consumer = standalone_consumer(bootstrap)
    try:
        await consumer.start()
        tps = await topic_partitions(bootstrap, topics)
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


def standalone_consumer(bootstrap: str) -> AIOKafkaConsumer:
    """A consumer outside any group: it commits nothing and sees every partition it assigns."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
    )


class TopicReader:
    """Reads whole topics outside any group: from the beginning (or the end, or given offsets), in batches.

    The one "read until caught up" loop: ``batches()`` ends once every partition has
    reached the end offset it had when the reader started; with ``follow=True`` it keeps
    yielding (empty batches too, every ``poll_ms``) and ``caught_up`` turns true once
    that point has been passed.  Use it as ``async with TopicReader(...) as reader``.
    """

    def __init__(
        self,
        bootstrap: str,
        topics: Iterable[str],
        *,
        from_beginning: bool = True,
        start: Mapping[TopicPartition, int] | None = None,
        poll_ms: int = 500,
        max_records: int | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.topics = list(topics)
        self.from_beginning = from_beginning
        self.start = dict(start or {})
        self.poll_ms = poll_ms
        self.max_records = max_records
        self.consumer = standalone_consumer(bootstrap)
        self.partitions: list[TopicPartition] = []
        self.end: dict[TopicPartition, int] = {}
        self.caught_up = False

    async def __aenter__(self) -> TopicReader:
        await self.consumer.start()
        try:
            self.partitions = await topic_partitions(self.bootstrap, self.topics)
            self.consumer.assign(self.partitions)
            if self.from_beginning:
                await self.consumer.seek_to_beginning(*self.partitions)
            else:
                await self.consumer.seek_to_end(*self.partitions)
            for tp, offset in self.start.items():
                self.consumer.seek(tp, offset)
            self.end = dict(await self.consumer.end_offsets(self.partitions))
            await self._check_caught_up()
        except BaseException:
            await self.consumer.stop()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.consumer.stop()

    async def _check_caught_up(self) -> None:
        if not self.caught_up:
            positions = [await self.consumer.position(tp) for tp in self.partitions]
            self.caught_up = all(pos >= self.end[tp] for pos, tp in zip(positions, self.partitions, strict=True))

    async def batches(
        self, *, follow: bool = False, stop: asyncio.Event | None = None
    ) -> AsyncIterator[list[ConsumerRecord[bytes, bytes]]]:
        """Batches of records in offset order per partition, until caught up (or, following, until ``stop``)."""
        while stop is None or not stop.is_set():
            if self.caught_up and not follow:
                return
            fetched = await self.consumer.getmany(
                *self.partitions, timeout_ms=self.poll_ms, max_records=self.max_records
            )
            await self._check_caught_up()
            yield [record for records in fetched.values() for record in records]


async def read_to_end(
    bootstrap: str, topics: Iterable[str], *, timeout: float | None = 30.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record ``topics`` hold now, from the beginning (TimeoutError after ``timeout`` seconds)."""
    out: list[ConsumerRecord[bytes, bytes]] = []
    async with asyncio.timeout(timeout), TopicReader(bootstrap, topics) as reader:
        async for batch in reader.batches():
            out += batch
    return out


async def committed_offsets(
    bootstrap: str, group: str, tps: Iterable[TopicPartition]
) -> dict[TopicPartition, int | None]:
    """The group's committed offset for each of ``tps`` (None where it has committed nothing)."""
    wanted = [TopicPartition(tp.topic, tp.partition) for tp in tps]
    if not wanted:
        return {}
    async with admin_client(bootstrap) as admin:
        offsets = await admin.list_consumer_group_offsets(group, partitions=wanted)
    out: dict[TopicPartition, int | None] = {}
    for tp in wanted:
        meta = offsets.get(tp)
        out[tp] = meta.offset if meta is not None and meta.offset >= 0 else None
    return out


class GapReader:
    """Reads a range of offsets of one partition directly (to process what a stream skipped)."""

    def __init__(self, bootstrap: str, *, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.bootstrap = bootstrap
        self.max_bytes = max_bytes
        self._consumer: AIOKafkaConsumer | None = None

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                group_id=None,
                enable_auto_commit=False,
                max_partition_fetch_bytes=self.max_bytes,
            )
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def log_start(self, tps: Iterable[Any]) -> dict[Any, int]:
        """The first offset each partition's log holds now (where a group without a commit starts)."""
        wanted = {TopicPartition(tp.topic, tp.partition): tp for tp in tps}
        if not wanted:
            return {}
        consumer = await self._started()
        offsets = await consumer.beginning_offsets(list(wanted))
        return {tp: int(offsets[plain]) for plain, tp in wanted.items()}

    async def read(self, tp: Any, start: int, end: int, timeout: float = 30.0) -> list[ConsumerRecord[bytes, bytes]]:
        """Records with ``start <= offset < end`` (fewer if the log has none there)."""
        if end <= start:
            return []
        consumer = await self._started()
        part = TopicPartition(tp.topic, tp.partition)
        consumer.assign([part])
        consumer.seek(part, start)
        out: list[ConsumerRecord[bytes, bytes]] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while await consumer.position(part) < end:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"reading {part.topic}[{part.partition}] {start}..{end - 1} took over {timeout}s")
            batch = await consumer.getmany(part, timeout_ms=500)
            out += [r for r in batch.get(part, []) if start <= r.offset < end]
        return out

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
