"""The delivery guarantee with fast fakes: each faust-streaming drop path, reproduced and caught.

The fault tests (tests/test_faults) prove the guarantee end to end on a real broker; these
prove each guard on its own, in milliseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError

from streams.pipeline.delivery import (
    DeliveryGuard,
    FetchGuard,
    InputRecord,
    commit_ceiling,
    guard_delivery,
    rewind_points,
)


@dataclass(frozen=True, order=True)
class TP:
    topic: str
    partition: int


RAW = "news.articles.raw"
P0, P1 = TP(RAW, 0), TP(RAW, 1)


def message(tp: TP, offset: int) -> SimpleNamespace:
    return SimpleNamespace(
        tp=tp, topic=tp.topic, partition=tp.partition, offset=offset, key=f"k{offset}".encode(), value=b"v"
    )


# --------------------------------------------------------------------------- drop path 1: undelivered fetched batch


def test_rewind_points_find_the_first_undelivered_offset_per_partition() -> None:
    fetched = {P0: [10, 11, 12, 13], P1: [5, 6]}
    assert rewind_points(fetched, {P0: 11, P1: 6}, {}) == {P0: 12}
    assert rewind_points(fetched, {}, {}) == {P0: 10, P1: 5}  # nothing delivered at all
    assert rewind_points(fetched, {P0: 13, P1: 6}, {}) == {}  # everything delivered
    assert rewind_points(fetched, {P0: 13, P1: 6}, {P1: 4}) == {P1: 4}  # a cancelled delivery
    assert rewind_points(fetched, {P0: 11, P1: 6}, {P0: 11}) == {P0: 11}  # the lower of both


class FaustLikeConsumer:
    """Stands in for faust's consumer: fetches a batch, then stops yielding it part way (flow suspended)."""

    def __init__(self, batch: Mapping[TP, list[int]], suspend_after: int) -> None:
        self.batch = batch
        self.suspend_after = suspend_after
        self.seeks: list[tuple[TP, int]] = []

    async def _wait_next_records(self, timeout: float) -> Any:
        records = {tp: [SimpleNamespace(offset=o) for o in offsets] for tp, offsets in self.batch.items()}
        return records, set(self.batch)

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Any]]:
        records, _active = await self._wait_next_records(timeout)
        yielded = 0
        for tp, rs in records.items():
            for r in rs:
                if yielded == self.suspend_after:
                    return  # the drop: the rest of the fetched batch is never yielded
                yielded += 1
                yield tp, message(tp, r.offset)

    async def seek(self, tp: TP, offset: int) -> None:
        self.seeks.append((tp, offset))


class Guarded(FetchGuard, FaustLikeConsumer):
    pass


async def test_an_interrupted_batch_is_fetched_again_from_its_first_undelivered_record() -> None:
    consumer = Guarded({P0: [0, 1, 2], P1: [7, 8]}, suspend_after=2)
    got = [(tp, m.offset) async for tp, m in consumer.getmany(1.0)]
    assert got == [(P0, 0), (P0, 1)]
    assert sorted(consumer.seeks) == [(P0, 2), (P1, 7)]


async def test_a_whole_batch_delivered_seeks_nowhere() -> None:
    consumer = Guarded({P0: [0, 1, 2]}, suspend_after=99)
    assert [m.offset async for _tp, m in consumer.getmany(1.0)] == [0, 1, 2]
    assert consumer.seeks == []


async def test_without_the_guard_the_fake_loses_records() -> None:
    """The fake reproduces the drop: unguarded, nothing seeks back to offset 2."""
    consumer = FaustLikeConsumer({P0: [0, 1, 2]}, suspend_after=2)
    assert [m.offset async for _tp, m in consumer.getmany(1.0)] == [0, 1]
    assert consumer.seeks == []


# --------------------------------------------------------------------------- drop path 2: drained but recorded


async def test_a_cancelled_delivery_is_reported_and_fetched_again() -> None:
    consumer = Guarded({P0: [3, 4]}, suspend_after=99)

    async def deliver(msg: Any) -> None:
        if msg.offset == 4:
            raise asyncio.CancelledError  # faust cancels the wait for the agent's queue

    guarded = guard_delivery(consumer, deliver)
    await guarded(message(P0, 3))
    with pytest.raises(asyncio.CancelledError):
        await guarded(message(P0, 4))
    # The next getmany round seeks back to the cancelled delivery, although it was "yielded".
    assert [m.offset async for _tp, m in consumer.getmany(1.0)] == [3, 4]
    assert consumer.seeks == [(P0, 4)]


# --------------------------------------------------------------------------- drop path 3: skipped and acknowledged


class FakeGaps:
    def __init__(self, log: Mapping[TP, Iterable[int]]) -> None:
        self.log = {tp: sorted(offsets) for tp, offsets in log.items()}
        self.reads: list[tuple[TP, int, int]] = []

    async def read(self, tp: TP, start: int, end: int) -> Sequence[Any]:
        self.reads.append((tp, start, end))
        return [SimpleNamespace(offset=o, key=f"k{o}".encode(), value=b"v") for o in self.log[tp] if start <= o < end]

    async def log_start(self, tps: Iterable[TP]) -> Mapping[TP, int]:
        return {tp: min(self.log.get(tp) or [0]) for tp in tps}


class FakeCommitted:
    def __init__(self) -> None:
        self.offsets: dict[TP, int | None] = {}
        self.fail = False

    async def read(self, group: str, tps: Iterable[TP]) -> Mapping[TP, int | None]:
        if self.fail:
            raise KafkaConnectionError("broker restarting")
        return {tp: self.offsets.get(tp) for tp in tps}


class FakeConsumer:
    def __init__(self) -> None:
        self.highwaters: dict[TP, int] = {}
        self.seeks: list[tuple[TP, int]] = []

    def highwater(self, tp: TP) -> int | None:
        return self.highwaters.get(tp)

    async def seek(self, tp: TP, offset: int) -> None:
        self.seeks.append((tp, offset))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeStream:
    """``events()`` over fixed messages, like faust's stream after a skip."""

    def __init__(self, messages: list[SimpleNamespace]) -> None:
        self._messages = messages

    async def events(self) -> AsyncIterator[Any]:
        for m in self._messages:
            yield SimpleNamespace(message=m)

    async def take_events(self, size: int, within: float) -> AsyncIterator[list[Any]]:
        """Like faust's: lists of up to ``size`` events (``within`` does not matter to a fixed list)."""
        events = [SimpleNamespace(message=m) for m in self._messages]
        for start in range(0, len(events), size):
            yield events[start : start + size]


def make_guard(gaps: FakeGaps) -> tuple[DeliveryGuard, FakeCommitted, FakeConsumer, Clock]:
    committed, consumer, clock = FakeCommitted(), FakeConsumer(), Clock()
    app = SimpleNamespace(conf=SimpleNamespace(id="newsmon-test", broker=[SimpleNamespace(host="h", port=1)]))
    guard = DeliveryGuard(
        app, RAW, gaps=gaps, committed=committed, consumer=lambda: consumer, clock=clock, stall_seconds=5
    )
    return guard, committed, consumer, clock


async def assign(guard: DeliveryGuard, committed: FakeCommitted, offsets: Mapping[TP, int | None]) -> None:
    committed.offsets.update(offsets)
    await guard.on_assigned(None, set(offsets) | {TP("other.topic", 0)})


async def offsets(records: AsyncIterator[InputRecord]) -> list[tuple[int, int]]:
    return [(r.partition, r.offset) async for r in records]


async def test_a_skipped_range_is_read_back_and_delivered_in_order() -> None:
    gaps = FakeGaps({P0: range(20)})
    guard, committed, _consumer, _clock = make_guard(gaps)
    await assign(guard, committed, {P0: 0})
    stream = FakeStream([message(P0, 0), message(P0, 1), message(P0, 5), message(P0, 6)])
    got = await offsets(guard.records(stream))
    assert got == [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (0, 6)]
    assert gaps.reads == [(P0, 2, 5)]
    assert guard.progress.expected[P0] == 7


async def test_the_first_event_after_assignment_is_checked_against_the_committed_offset() -> None:
    gaps = FakeGaps({P0: range(20)})
    guard, committed, _consumer, _clock = make_guard(gaps)
    await assign(guard, committed, {P0: 3})  # committed 3, but the stream starts at 6
    got = await offsets(guard.records(FakeStream([message(P0, 6)])))
    assert got == [(0, 3), (0, 4), (0, 5), (0, 6)]


async def test_a_partition_without_a_commit_is_tracked_from_its_log_start() -> None:
    # A fresh group starts at the log start; a stream that skips the first records of such a
    # partition must not make its first delivered record the ledger's starting point.
    gaps = FakeGaps({P0: range(3, 20)})  # offsets 0..2 are gone (retention)
    guard, committed, _consumer, _clock = make_guard(gaps)
    await assign(guard, committed, {P0: None})
    got = await offsets(guard.records(FakeStream([message(P0, 7)])))
    assert got == [(0, 3), (0, 4), (0, 5), (0, 6), (0, 7)]
    assert guard.progress.expected[P0] == 8


async def test_a_kept_partition_keeps_its_place_and_an_added_one_starts_at_the_committed_offset() -> None:
    guard, committed, _consumer, _clock = make_guard(FakeGaps({P0: range(20), P1: range(20)}))
    await assign(guard, committed, {P0: 0})
    await offsets(guard.records(FakeStream([message(P0, 0), message(P0, 1)])))
    # Faust may deliver events while the assignment's signal is still being handled: no
    # lookup happens there, so nothing can move the place of P0 back behind processed input.
    committed.offsets[P1] = 5
    await guard.on_assigned(None, {P0, P1})
    assert guard.progress.expected == {P0: 2}
    got = await offsets(guard.records(FakeStream([message(P0, 2), message(P1, 6)])))
    assert got == [(0, 2), (1, 5), (1, 6)]
    # revoked, then assigned again: its place is looked up afresh
    await guard.on_assigned(None, {P1})
    committed.offsets[P0] = 9
    await guard.on_assigned(None, {P0, P1})
    assert await offsets(guard.records(FakeStream([message(P0, 9)]))) == [(0, 9)]


async def test_the_audit_refetches_a_never_committed_partition_that_delivered_nothing() -> None:
    guard, committed, consumer, clock = make_guard(FakeGaps({P0: range(10), P1: range(10)}))
    await assign(guard, committed, {P0: None, P1: None})
    await offsets(guard.records(FakeStream([message(P0, 0)])))
    consumer.highwaters[P1] = 10  # input on P1, none of it ever delivered
    clock.now += 6
    assert await guard.audit_once() == [(P1, 0)]


async def test_redeliveries_pass_through_and_do_not_move_the_ledger_back() -> None:
    guard, committed, _consumer, _clock = make_guard(FakeGaps({P0: range(10)}))
    await assign(guard, committed, {P0: 0})
    got = await offsets(guard.records(FakeStream([message(P0, 0), message(P0, 1), message(P0, 0)])))
    assert got == [(0, 0), (0, 1), (0, 0)]
    assert guard.progress.expected[P0] == 2


async def test_the_audit_seeks_back_when_the_group_committed_past_the_ledger() -> None:
    gaps = FakeGaps({P0: range(20)})
    guard, committed, consumer, _clock = make_guard(gaps)
    await assign(guard, committed, {P0: 0, P1: 0})
    await offsets(guard.records(FakeStream([message(P0, 0), message(P1, 0)])))
    committed.offsets[P0] = 8  # faust acknowledged and committed records the agent never saw
    assert await guard.audit_once() == [(P0, 1)]
    assert consumer.seeks == [(P0, 1)]


async def test_the_audit_advances_over_an_empty_range() -> None:
    gaps = FakeGaps({P0: [0]})  # 1..7 compacted away
    guard, committed, _consumer, _clock = make_guard(gaps)
    await assign(guard, committed, {P0: 0})
    await offsets(guard.records(FakeStream([message(P0, 0)])))
    committed.offsets[P0] = 8
    assert await guard.audit_once() == []
    assert guard.progress.expected[P0] == 8


async def test_the_audit_refetches_input_an_idle_agent_never_received() -> None:
    guard, committed, consumer, clock = make_guard(FakeGaps({P0: range(10)}))
    await assign(guard, committed, {P0: 0})
    await offsets(guard.records(FakeStream([message(P0, 0)])))
    consumer.highwaters[P0] = 6  # records 1..5 are on the broker but never reached the agent
    assert await guard.audit_once() == []  # not idle long enough yet
    clock.now += 6
    assert await guard.audit_once() == [(P0, 1)]


async def test_the_audit_survives_a_broker_outage() -> None:
    guard, committed, consumer, _clock = make_guard(FakeGaps({P0: range(10)}))
    await assign(guard, committed, {P0: 0})
    committed.fail = True
    await guard.audit()  # logs and skips the round; must not raise
    assert consumer.seeks == []


async def test_assignment_with_an_unreachable_broker_tracks_from_the_next_event() -> None:
    guard, committed, _consumer, _clock = make_guard(FakeGaps({P0: range(10)}))
    committed.fail = True
    await guard.on_assigned(None, {P0})
    assert guard.progress.assigned == {P0}
    got = await offsets(guard.records(FakeStream([message(P0, 4)])))
    assert got == [(0, 4)]


async def test_revoked_partitions_leave_the_audit() -> None:
    guard, committed, _consumer, _clock = make_guard(FakeGaps({P0: range(10), P1: range(10)}))
    await assign(guard, committed, {P0: 0, P1: 0})
    await guard.on_assigned(None, {P1})
    assert guard.progress.assigned == {P1}


# --------------------------------------------------------------------------- 3, prevented: no commit past the ledger


def test_commit_ceiling_lowers_a_commit_to_the_next_unprocessed_record() -> None:
    ledgers = [{P0: 4}, {TP("news.articles.enriched", 0): 9}]
    offsets = {P0: 10, P1: 7, TP("news.articles.enriched", 0): 9}
    # P0: the stream acknowledged 4..9 without the agent seeing them; P1 has no ledger
    assert commit_ceiling(offsets, ledgers, {}) == {P0: 4, P1: 7, TP("news.articles.enriched", 0): 9}
    # lowered to or below what is committed already: nothing to commit for that partition
    assert commit_ceiling(offsets, ledgers, {P0: 4}) == {P1: 7, TP("news.articles.enriched", 0): 9}
    assert commit_ceiling({P0: 3}, ledgers, {P0: 1}) == {P0: 3}  # behind the ledger: unchanged


class FaustLikeCommitter:
    """Stands in for faust's consumer: commits every acknowledged offset, skipped ones included."""

    def __init__(self, app: Any, acked: Mapping[TP, int]) -> None:
        self.app = app
        self.acked = acked
        self._committed_offset: dict[TP, int | None] = {}

    def _filter_committable_offsets(self, tps: Iterable[TP]) -> dict[TP, int]:
        return {tp: self.acked[tp] for tp in tps if tp in self.acked}


class GuardedCommitter(FetchGuard, FaustLikeCommitter):
    pass


async def test_the_consumer_never_commits_past_a_guards_ledger() -> None:
    guard, committed, _consumer, _clock = make_guard(FakeGaps({P0: range(20), P1: range(20)}))
    guard.app.on_partitions_assigned = SimpleNamespace(connect=lambda _receiver: None)
    guard.app.timer = lambda _interval: lambda fun: fun
    guard.install()  # registers the guard's ledger with the app
    await assign(guard, committed, {P0: 0, P1: 0})
    await offsets(guard.records(FakeStream([message(P0, 0), message(P0, 1), message(P1, 0)])))
    consumer = GuardedCommitter(guard.app, {P0: 12, P1: 1})  # faust acked P0 up to 11: 2..11 were skipped
    assert consumer._filter_committable_offsets([P0, P1]) == {P0: 2, P1: 1}


# --------------------------------------------------------------------------- batches: finished when the next is taken


async def test_batches_finish_a_batch_when_the_agent_asks_for_the_next() -> None:
    guard, committed, _consumer, _clock = make_guard(FakeGaps({P0: range(20)}))
    await assign(guard, committed, {P0: 0})
    stream = FakeStream([message(P0, o) for o in range(5)])
    seen: list[list[int]] = []
    done_while_processing: list[int] = []
    async for batch in guard.batches(stream, 2, within=0.01):
        seen.append([r.offset for r in batch])
        done_while_processing.append(guard.progress.done[P0])
    assert seen == [[0, 1], [2, 3], [4]]
    assert done_while_processing == [0, 2, 4]  # a batch in progress is not committable yet
    assert guard.progress.done[P0] == 5


async def test_an_abandoned_batch_holds_back_the_commit_and_is_processed_again() -> None:
    gaps = FakeGaps({P0: range(20)})
    guard, committed, _consumer, _clock = make_guard(gaps)
    await assign(guard, committed, {P0: 0})
    batches = guard.batches(FakeStream([message(P0, o) for o in range(4)]), 2, within=0.01)
    assert [r.offset for r in await anext(batches)] == [0, 1]
    assert [r.offset for r in await anext(batches)] == [2, 3]
    await batches.aclose()  # the agent is cancelled while processing 2..3 (faust acks them anyway)
    assert guard.progress.done[P0] == 2
    assert guard.progress.expected[P0] == 2
    # Faust acknowledged up to 3: the commit stops at 2
    assert commit_ceiling({P0: 4}, [guard.progress.done], {}) == {P0: 2}
    # the next event (the stream went on at 4) brings 2..3 back first
    got = await offsets(guard.records(FakeStream([message(P0, 4)])))
    assert got == [(0, 2), (0, 3), (0, 4)]
    assert gaps.reads == [(P0, 2, 4)]
    assert guard.progress.done[P0] == 5


async def test_the_audit_refetches_an_abandoned_batch_when_no_more_input_comes() -> None:
    guard, committed, consumer, clock = make_guard(FakeGaps({P0: range(10)}))
    await assign(guard, committed, {P0: 0})
    batches = guard.batches(FakeStream([message(P0, o) for o in range(3)]), 3, within=0.01)
    await anext(batches)
    await batches.aclose()
    consumer.highwaters[P0] = 3
    clock.now += 6
    assert await guard.audit_once() == [(P0, 0)]


async def test_batches_of_one_take_events_one_at_a_time() -> None:
    guard, committed, _consumer, _clock = make_guard(FakeGaps({P0: range(10)}))
    await assign(guard, committed, {P0: 0})

    class EventsOnly(FakeStream):
        async def take_events(self, size: int, within: float) -> AsyncIterator[list[Any]]:
            raise AssertionError("size 1 must not wait for a batch")
            yield []

    got = [[r.offset for r in b] async for b in guard.batches(EventsOnly([message(P0, 0), message(P0, 1)]), 1, 0.5)]
    assert got == [[0], [1]]
