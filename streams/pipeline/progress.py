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

    def on_assigned(self, committed: Mapping[TP, int | None]) -> None:
        """Start (or resume) tracking partitions at their committed offsets.

        A partition this worker held before keeps the lower of what it knew and the
        committed offset, so a skip committed during a rebalance is still caught.
        """
        for tp, offset in committed.items():
            self.assigned.add(tp)
            if offset is None:
                continue
            known = self.expected.get(tp)
            self.expected[tp] = offset if known is None else min(known, offset)

    def on_revoked(self, tps: Iterable[TP]) -> None:
        for tp in tps:
            self.assigned.discard(tp)

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
