"""The delivery guarantee: every record of an agent's input topic is processed at least once.

faust-streaming 0.15.3 loses input in three ways (docs/reliability.md links the upstream
reports); each has a guard here, and an agent gets all of them through one entry point,
:class:`DeliveryGuard`:

1. *Undelivered fetched batch.*  ``Consumer.getmany`` stops yielding a fetched batch when
   the flow is suspended (rebalance, recovery) or the generation changes, and skips
   records of partitions that are not active at that moment; the consumer's position is
   already past them, so they are never fetched again.  :class:`FetchGuard` (mixed into
   the app's consumer) remembers what it fetched and seeks each partition back to its
   first record that was not delivered.
2. *Drained but recorded.*  ``_drain_messages`` cancels a delivery that waits for the
   agent's queue when the flow is suspended, yet records the message as read.
   :func:`guard_delivery` reports such a cancelled delivery to the fetch guard, which
   fetches it again.
3. *Skipped and acknowledged.*  A stream skips and acknowledges events while flow control
   is inactive, and gap handling then commits past them.  :class:`DeliveryGuard` keeps a
   per-partition ledger (:class:`streams.pipeline.progress.Progress`): an event beyond the
   next expected offset makes it read the skipped range back and hand it to the agent in
   order, and an audit every ``AUDIT_INTERVAL`` seconds re-delivers input when the group
   committed past the ledger or when a partition has input while the agent sits idle.

Use: ``guard = DeliveryGuard(app, topic); guard.install()`` while wiring, then in the agent
``async for batch in guard.batches(stream, size, within): for record in batch: with
processing(record): ...``: each :class:`InputRecord` in offset order per partition
(``guard.records(stream)`` gives them one at a time).  A record is *finished* when the
agent asks for the next batch, and no commit goes past the first unfinished record
(:func:`commit_ceiling` over ``Progress.done``), whatever Faust acknowledged: Faust's
``take_events`` acknowledges a batch's events even when the agent is cancelled part way
through it (a rebalance), and those records are then processed again, by this worker or by
the partition's next owner.  Faust flushes the producer (every output acknowledged) before
it commits.  At-least-once: a record may be delivered twice, never zero times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import faust.streams as faust_streams
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from streams.kafka.consumers import GapReader
from streams.pipeline.progress import Progress

log = logging.getLogger("newsmon.delivery")

# Seconds between checks that the consumer has not committed past unprocessed input.
AUDIT_INTERVAL = 3.0
# An agent idle this long while a partition has undelivered input gets that input again.
STALL_SECONDS = 5.0


@dataclass(frozen=True)
class InputRecord:
    """One input record as the agent sees it: from the stream, or read back to fill a gap.

    ``event`` is the stream event it came with (for a record read back, the event that
    revealed the gap: same partition); :func:`processing` makes it the current event.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    event: Any = field(default=None, compare=False, repr=False)
    tp: Any = field(default=None, compare=False, repr=False)  # the consumer's partition object (the ledger's key)

    @property
    def origin(self) -> str:
        """Where this input record is: ``topic:partition:offset``."""
        return f"{self.topic}:{self.partition}:{self.offset}"

    @classmethod
    def of(cls, message: Any, event: Any = None) -> InputRecord:
        return cls(message.topic, message.partition, message.offset, message.key, message.value, event, message.tp)


@contextlib.contextmanager
def processing(record: InputRecord) -> Iterator[None]:
    """Make ``record``'s event Faust's current event while the agent processes it.

    A table write goes to the changelog partition of the current event, which must be the
    input record's partition (so the state moves with the partition on a rebalance).  In a
    batch, Faust's own current event is the last one buffered, so each record sets its own.
    """
    if record.event is None:
        yield
        return
    token = faust_streams._current_event.set(weakref.ref(record.event))
    try:
        yield
    finally:
        faust_streams._current_event.reset(token)


# --------------------------------------------------------------------------- 1 and 2: the consumer


def rewind_points(
    fetched: Mapping[Any, Sequence[int]], delivered: Mapping[Any, int], pending: Mapping[Any, int]
) -> dict[Any, int]:
    """Where to seek each partition back to: its first fetched offset that was not delivered.

    ``fetched``: the offsets of the last fetch per partition; ``delivered``: the highest
    offset yielded per partition; ``pending``: cancelled deliveries reported meanwhile.
    """
    rewind = dict(pending)
    for tp, offsets in fetched.items():
        missed = [offset for offset in offsets if offset > delivered.get(tp, -1)]
        if missed:
            rewind[tp] = min(min(missed), rewind.get(tp, min(missed)))
    return rewind


def commit_ceiling(
    offsets: Mapping[Any, int], ledgers: Iterable[Mapping[Any, int]], committed: Mapping[Any, int | None]
) -> dict[Any, int]:
    """The offsets Faust wants to commit, none past its partition's next unprocessed record.

    ``ledgers``: the next expected offset per partition of each guarded input topic.  Faust
    acknowledges events it skipped while the flow was suspended, and would commit past
    them (a partition moving to another worker would then never see them); a commit is
    lowered to the ledger, and dropped where that is not past the ``committed`` offset.
    """
    out: dict[Any, int] = {}
    for tp, offset in offsets.items():
        limit = min((ledger[tp] for ledger in ledgers if tp in ledger), default=None)
        if limit is not None and offset > limit:
            log.warning(
                "not committing %s[%s] at %s: input from %s is not processed yet", tp.topic, tp.partition, offset, limit
            )
            offset = limit
            before = committed.get(tp)
            if before is not None and offset <= before:
                continue
        out[tp] = offset
    return out


class FetchGuard:
    """Mixin for Faust's aiokafka consumer: records fetched but not delivered are fetched again,
    and no commit goes past input the agents have not processed.

    Must come before the consumer class in the bases: it wraps ``_wait_next_records``,
    ``getmany`` and ``_filter_committable_offsets`` of the class after it.  The ledgers are
    those of the app's delivery guards (``app.newsmon_ledgers``, filled by ``DeliveryGuard.install``).
    """

    def _filter_committable_offsets(self, tps: Iterable[Any]) -> dict[Any, int]:
        offsets: dict[Any, int] = super()._filter_committable_offsets(tps)  # type: ignore[misc]
        ledgers = [p.done for p in getattr(self.app, "newsmon_ledgers", ())]  # type: ignore[attr-defined]
        return commit_ceiling(offsets, ledgers, self._committed_offset) if ledgers else offsets  # type: ignore[attr-defined]

    _fetched: Any = None
    _undelivered: dict[Any, int]

    def newsmon_undelivered(self, tp: Any, offset: int) -> None:
        """A delivery of ``tp`` at ``offset`` was cancelled: fetch from there again."""
        pending = getattr(self, "_undelivered", None)
        if pending is None:
            pending = self._undelivered = {}
        pending[tp] = min(offset, pending.get(tp, offset))

    async def _wait_next_records(self, timeout: float) -> Any:
        records, active = await super()._wait_next_records(timeout)  # type: ignore[misc]
        self._fetched = records
        return records, active

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        self._fetched = None
        delivered: dict[Any, int] = {}
        async for tp, message in super().getmany(timeout):  # type: ignore[misc]
            delivered[tp] = message.offset
            yield tp, message
        fetched = {tp: [r.offset for r in records] for tp, records in (self._fetched or {}).items()}
        rewind = rewind_points(fetched, delivered, getattr(self, "_undelivered", None) or {})
        self._undelivered = {}
        self._fetched = None
        for tp, offset in rewind.items():
            log.info("re-fetching %s[%s] from %s (not delivered)", tp.topic, tp.partition, offset)
            try:
                await self.seek(tp, offset)  # type: ignore[attr-defined]
            except Exception as exc:  # revoked meanwhile: its next owner starts at the committed offset
                log.info("not re-fetching %s[%s]: %s", tp.topic, tp.partition, exc)


class _Rewinder(Protocol):
    def newsmon_undelivered(self, tp: Any, offset: int) -> None: ...


def guard_delivery(consumer: _Rewinder, deliver: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
    """Wrap the consumer's delivery callback: a delivery cancelled by a flow suspension is fetched again."""

    async def deliver_or_rewind(message: Any) -> Any:
        try:
            return await deliver(message)
        except asyncio.CancelledError:
            consumer.newsmon_undelivered(message.tp, message.offset)
            raise

    return deliver_or_rewind


# --------------------------------------------------------------------------- 3: the ledger and the audit


class CommittedOffsets:
    """Reads a group's committed offsets through one admin client, kept between calls.

    A Kafka error closes the client (the broker may be restarting); the next call opens a
    new one.
    """

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._admin: AIOKafkaAdminClient | None = None

    async def read(self, group: str, tps: Iterable[Any]) -> dict[Any, int | None]:
        wanted = {TopicPartition(tp.topic, tp.partition): tp for tp in tps}
        if not wanted:
            return {}
        try:
            if self._admin is None:
                admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
                await admin.start()
                self._admin = admin
            offsets = await self._admin.list_consumer_group_offsets(group, partitions=list(wanted))
        except KafkaError:
            await self.close()
            raise
        out: dict[Any, int | None] = {}
        for plain, tp in wanted.items():
            meta = offsets.get(plain)
            out[tp] = meta.offset if meta is not None and meta.offset >= 0 else None
        return out

    async def close(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            with contextlib.suppress(Exception):
                await admin.close()


class _Gaps(Protocol):
    async def read(self, tp: Any, start: int, end: int) -> Sequence[Any]: ...

    async def log_start(self, tps: Iterable[Any]) -> Mapping[Any, int]: ...


class _Committed(Protocol):
    async def read(self, group: str, tps: Iterable[Any]) -> Mapping[Any, int | None]: ...


class _Consumer(Protocol):
    def highwater(self, tp: Any) -> int | None: ...

    async def seek(self, tp: Any, offset: int) -> None: ...


@dataclass
class Activity:
    """Whether the agent is inside a batch, and when it last finished one."""

    busy: bool = False
    last_done: float = field(default_factory=time.monotonic)


class DeliveryGuard:
    """The agent-side guard of one input topic: gap-free input records, and the progress audit.

    ``gaps``, ``committed`` and ``consumer`` default to the real ones of ``app``; tests
    pass fakes.  ``install`` registers the assignment listener and the audit timer.
    """

    def __init__(
        self,
        app: Any,
        topic: Any,
        *,
        gaps: _Gaps | None = None,
        committed: _Committed | None = None,
        consumer: Callable[[], _Consumer] | None = None,
        clock: Callable[[], float] = time.monotonic,
        stall_seconds: float = STALL_SECONDS,
    ) -> None:
        self.app = app
        self.topic = topic
        bootstrap = bootstrap_of(app)
        self.gaps: _Gaps = gaps if gaps is not None else GapReader(bootstrap)
        self.committed: _Committed = committed if committed is not None else CommittedOffsets(bootstrap)
        self._consumer = consumer or (lambda: app.consumer)
        self.clock = clock
        self.stall_seconds = stall_seconds
        self.progress: Progress[Any] = Progress()
        self.activity = Activity(last_done=clock())

    def install(self) -> None:
        if not hasattr(self.app, "newsmon_ledgers"):
            self.app.newsmon_ledgers = []
        self.app.newsmon_ledgers.append(self.progress)  # read by FetchGuard before each commit
        self.app.on_partitions_assigned.connect(self.on_assigned)
        self.app.timer(AUDIT_INTERVAL)(self.audit)

    # ---------------------------------------------------------------- the agent's input

    async def records(self, stream: Any) -> AsyncIterator[InputRecord]:
        """Input records one event at a time, gap-free per partition: skipped ranges are read back in place.

        A record is finished (commits may pass it) when the agent asks for the next one.
        """
        async for event in stream.events():
            with self._busy():
                for record in await self.admit(event.message, event):
                    with self._handing([record]):
                        yield record

    async def batches(self, stream: Any, size: int, within: float) -> AsyncIterator[list[InputRecord]]:
        """Input records in batches of up to ``size`` events (more when a skipped range is read back).

        A batch is yielded when ``size`` events have arrived or ``within`` seconds have passed
        since the last one was yielded (Faust's ``take_events``).  Its records are finished
        when the agent asks for the next batch.  A batch the agent abandons (cancelled part
        way) is not: the ledger expects it again, so the next event reads it back first,
        and the commit stops before it.  ``size`` 1 takes events one at a time
        (:meth:`records`), without the wait.
        """
        if size <= 1:
            async for record in self.records(stream):
                yield [record]
            return
        async for events in stream.take_events(size, within):
            batch: list[InputRecord] = []
            with self._busy(), self._handing(batch):
                for event in events:
                    batch += await self.admit(event.message, event)
                yield batch

    @contextlib.contextmanager
    def _busy(self) -> Iterator[None]:
        """The agent is working on input (the audit leaves a busy agent alone)."""
        self.activity.busy = True
        try:
            yield
        finally:
            self.activity.busy = False
            self.activity.last_done = self.clock()

    @contextlib.contextmanager
    def _handing(self, records: list[InputRecord]) -> Iterator[None]:
        """Finish ``records`` when the block completes; when it does not, expect them again."""
        try:
            yield
        except BaseException:
            for record in records:
                self.progress.rewind(record.tp, record.offset)
            raise
        for record in records:
            self.progress.finish(record.tp, record.offset)

    async def admit(self, message: Any, event: Any = None) -> list[InputRecord]:
        """The records to process for one stream message: a skipped range before it, then itself."""
        tp = message.tp
        if tp not in self.progress.expected:
            await self.resolve({tp})
        expected = self.progress.expected.get(tp)
        out: list[InputRecord] = []
        if self.progress.observe(tp, message.offset) == "gap" and expected is not None:
            records = await self.gaps.read(tp, expected, message.offset)
            if records:
                log.warning(
                    "processing %d record(s) of %s[%s] the stream skipped (%s..%s)",
                    len(records), tp.topic, tp.partition, expected, message.offset - 1,
                )  # fmt: skip
            out += [InputRecord(tp.topic, tp.partition, r.offset, r.key, r.value, event, tp) for r in records]
            self.progress.advance(tp, message.offset + 1)
        out.append(InputRecord.of(message, event))
        return out

    # ---------------------------------------------------------------- assignment and audit

    async def on_assigned(self, _app: Any, assigned: set[Any], **_: Any) -> None:
        self.progress.on_assigned(tp for tp in assigned if tp.topic == self.topic_name)

    async def resolve(self, tps: set[Any]) -> None:
        """Give the ledger the start of partitions it has no place for (see :meth:`start_offsets`)."""
        try:
            self.progress.start(await self.start_offsets(tps))
        except KafkaError as exc:  # broker unreachable: track from the next event instead
            log.warning("cannot read committed offsets (%s); tracking progress from the next event", exc)

    async def start_offsets(self, tps: set[Any]) -> dict[Any, int | None]:
        """Where the group resumes each partition: its committed offset, else the log's first offset.

        A partition the group has never committed is read from its log start (Faust's
        ``auto_offset_reset`` is ``earliest``), so the ledger starts there too: a record the
        stream skips before the first one it delivers is a gap like any other, and an idle
        agent with input on such a partition is noticed by the audit.
        """
        committed = dict(await self.committed.read(self.app.conf.id, tps))
        fresh = [tp for tp in tps if committed.get(tp) is None]
        if fresh:
            committed.update(await self.gaps.log_start(fresh))
        return committed

    @property
    def topic_name(self) -> str:
        name = self.topic.get_topic_name() if hasattr(self.topic, "get_topic_name") else self.topic
        return str(name)

    async def audit(self) -> None:
        """Every few seconds, ``audit_once``; a Kafka error (broker restarting) skips the round, never the worker.

        An exception escaping a Faust timer crashes the app: during a broker outage the
        admin client cannot bootstrap, and the worker must not exit with it.
        """
        try:
            await self.audit_once()
        except KafkaError as exc:
            log.warning("progress audit skipped: %s", exc)

    async def audit_once(self) -> list[tuple[Any, int]]:
        """Has the consumer skipped input the agent never processed?  Seek back to it; the seeks made.

        Two symptoms: the group's committed offset is past the ledger's next expected
        offset (a skipped message was acknowledged), or the agent has been idle for a
        while although a partition's high watermark is past its next expected offset
        (fetched records were never delivered).
        """
        progress, consumer = self.progress, self._consumer()
        seeks: list[tuple[Any, int]] = []
        if not progress.assigned:
            return seeks
        if unknown := progress.unknown():  # assigned, but no event has arrived yet
            await self.resolve(unknown)
        if not self.activity.busy and self.clock() - self.activity.last_done > self.stall_seconds:
            for tp in sorted(progress.assigned):
                unfinished = progress.unfinished(tp)
                highwater = consumer.highwater(tp)
                if unfinished is not None and highwater is not None and highwater > unfinished:
                    log.warning(
                        "%s[%s]: idle with input at %s..%s unprocessed; fetching it again",
                        tp.topic, tp.partition, unfinished, highwater - 1,
                    )  # fmt: skip
                    await consumer.seek(tp, unfinished)
                    seeks.append((tp, unfinished))
        committed = await self.committed.read(self.app.conf.id, set(progress.assigned))
        for tp, (start, end) in progress.behind(committed).items():
            records = await self.gaps.read(tp, start, end)
            if not records:
                progress.advance(tp, end, empty=True)  # nothing there (compaction or transaction markers)
                continue
            log.warning(
                "%s[%s]: %d record(s) from %s were skipped by the consumer; fetching them again",
                tp.topic, tp.partition, len(records), start,
            )  # fmt: skip
            await consumer.seek(tp, start)
            seeks.append((tp, start))
        return seeks


def bootstrap_of(app: Any) -> str:
    """The bootstrap address of a Faust app's broker URLs (``h1:9092,h2:9092``)."""
    return ",".join(f"{url.host}:{url.port or 9092}" for url in app.conf.broker)
