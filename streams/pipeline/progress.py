"""Per-partition processing progress: newsmon's own check that no input offset is skipped.

faust-streaming acknowledges (and later commits) a message it skips while a rebalance
or recovery suspends the flow, and it can leave a fetched batch undelivered; either way
an article would be lost.  The worker therefore keeps its own ledger: for each input
partition, the next offset it expects to process.  An event beyond it, or a committed
offset beyond it, reveals a gap, which the worker then reads and processes itself
(see ``streams.pipeline.delivery``).  Offsets only advance contiguously.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

TP = TypeVar("TP")

Observation = Literal["next", "redelivery", "gap", "first"]


@dataclass
class Progress(Generic[TP]):
    """Next expected offset per partition (pure bookkeeping, no I/O)."""

    expected: dict[TP, int] = field(default_factory=dict)
    assigned: set[TP] = field(default_factory=set)

    def on_assigned(self, tps: Iterable[TP]) -> None:
        """A new assignment: partitions it adds start unknown, partitions it keeps keep their place.

        The start of an added partition (where the group resumes it) is looked up when its
        first event arrives, or by the audit, and given to :meth:`start`: looking it up here
        would race with events that Faust already delivers while the assignment completes.
        """
        now = set(tps)
        for tp in now - self.assigned:
            self.expected.pop(tp, None)
        self.assigned = now

    def start(self, offsets: Mapping[TP, int | None]) -> None:
        """Where tracking begins for partitions whose place is not known yet (None: at the next event)."""
        for tp, offset in offsets.items():
            if offset is not None and tp not in self.expected:
                self.expected[tp] = offset

    def unknown(self) -> set[TP]:
        """Assigned partitions whose place is not known yet."""
        return {tp for tp in self.assigned if tp not in self.expected}

    def observe(self, tp: TP, offset: int) -> Observation:
        """Classify an event at ``offset``; advance only when it is the next one."""
        expected = self.expected.get(tp)
        if expected is None:
            self.expected[tp] = offset + 1
            return "first"
        if offset == expected:
            self.expected[tp] = offset + 1
            return "next"
        if offset < expected:
            return "redelivery"
        return "gap"

    def advance(self, tp: TP, offset: int) -> None:
        """Mark everything below ``offset`` as done (after a gap was filled or found empty)."""
        if offset > self.expected.get(tp, -1):
            self.expected[tp] = offset

    def behind(self, committed: Mapping[TP, int | None]) -> dict[TP, tuple[int, int]]:
        """Partitions whose committed offset is past what was processed: tp -> (from, to)."""
        out: dict[TP, tuple[int, int]] = {}
        for tp, offset in committed.items():
            expected = self.expected.get(tp)
            if tp in self.assigned and offset is not None and expected is not None and offset > expected:
                out[tp] = (expected, offset)
        return out
