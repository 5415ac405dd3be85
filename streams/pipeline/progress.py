"""Per-partition processing progress: newsmon's own check that no input offset is skipped.

faust-streaming acknowledges (and later commits) a message it skips while a rebalance
or recovery suspends the flow, and it can leave a fetched batch undelivered; either way
an article would be lost.  The worker therefore keeps its own ledger: for each input
partition, the next offset it expects to receive (``expected``) and the next offset it
has not finished processing (``done``).  An event beyond ``expected``, or a committed
offset beyond it, reveals a gap, which the worker then reads and processes itself
(see ``streams.pipeline.delivery``); no commit goes beyond ``done``.  Offsets only
advance contiguously.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

TP = TypeVar("TP")

Observation = Literal["next", "redelivery", "gap", "first"]


@dataclass
class Progress(Generic[TP]):
    """Next expected and next unfinished offset per partition (pure bookkeeping, no I/O).

    ``done[tp] <= expected[tp]``: records between the two were handed to the agent and
    are not finished yet (a batch in progress).
    """

    expected: dict[TP, int] = field(default_factory=dict)
    assigned: set[TP] = field(default_factory=set)
    done: dict[TP, int] = field(default_factory=dict)

    def on_assigned(self, tps: Iterable[TP]) -> None:
        """A new assignment: partitions it adds start unknown, partitions it keeps keep their place.

        The start of an added partition (where the group resumes it) is looked up when its
        first event arrives, or by the audit, and given to :meth:`start`: looking it up here
        would race with events that Faust already delivers while the assignment completes.
        """
        now = set(tps)
        for tp in now - self.assigned:
            self.expected.pop(tp, None)
            self.done.pop(tp, None)
        self.assigned = now

    def start(self, offsets: Mapping[TP, int | None]) -> None:
        """Where tracking begins for partitions whose place is not known yet (None: at the next event)."""
        for tp, offset in offsets.items():
            if offset is not None and tp not in self.expected:
                self.expected[tp] = offset
                self.done[tp] = offset

    def unknown(self) -> set[TP]:
        """Assigned partitions whose place is not known yet."""
        return {tp for tp in self.assigned if tp not in self.expected}

    def observe(self, tp: TP, offset: int) -> Observation:
        """Classify an event at ``offset``; advance only when it is the next one."""
        expected = self.expected.get(tp)
        if expected is None:
            self.expected[tp] = offset + 1
            self.done.setdefault(tp, offset)
            return "first"
        if offset == expected:
            self.expected[tp] = offset + 1
            return "next"
        if offset < expected:
            return "redelivery"
        return "gap"

    def advance(self, tp: TP, offset: int, *, empty: bool = False) -> None:
        """Expect nothing below ``offset`` any more (a gap was read back, or found ``empty``).

        Records read back still have to be processed; an ``empty`` range (compacted away,
        transaction markers) is also finished when nothing before it is pending.
        """
        before = self.expected.get(tp, -1)
        if offset > before:
            self.expected[tp] = offset
            if empty and self.done.get(tp) == before:
                self.done[tp] = offset

    def finish(self, tp: TP, offset: int) -> None:
        """The record at ``offset`` is processed (its outputs sent): commits may pass it.

        Records are finished in offset order, a batch at a time; the records of a batch
        the agent abandons are rewound instead (:meth:`rewind`).
        """
        if offset + 1 > self.done.get(tp, -1):
            self.done[tp] = offset + 1

    def rewind(self, tp: TP, offset: int) -> None:
        """The record at ``offset`` was handed out but not finished (its batch was abandoned): expect it again."""
        if tp in self.expected and offset < self.expected[tp]:
            self.expected[tp] = offset
        if tp in self.done and offset < self.done[tp]:
            self.done[tp] = offset

    def unfinished(self, tp: TP) -> int | None:
        """The first offset of ``tp`` not processed yet (None: not tracked)."""
        done, expected = self.done.get(tp), self.expected.get(tp)
        if done is None or expected is None:
            return expected
        return min(done, expected)

    def behind(self, committed: Mapping[TP, int | None]) -> dict[TP, tuple[int, int]]:
        """Partitions whose committed offset is past what was processed: tp -> (from, to)."""
        out: dict[TP, tuple[int, int]] = {}
        for tp, offset in committed.items():
            expected = self.expected.get(tp)
            if tp in self.assigned and offset is not None and expected is not None and offset > expected:
                out[tp] = (expected, offset)
        return out
