"""Test helpers for the real-broker tests: worker processes and topic readers that wait on events."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord, TopicPartition

from streams.bench.corpus import DEFAULT_SENTENCES_DIR
from streams.kafka.admin import admin_client
from streams.kafka.consumers import end_offsets, topic_partitions

__all__ = [
    "NEEDS_SENTENCE_CORPUS",
    "NO_SPIKES",
    "Env",
    "WorkerProcess",
    "collect",
    "end_offsets",
    "group_assignment",
    "produce",
    "values",
]
from streams.kafka.limits import MAX_MESSAGE_BYTES
from streams.processes import Child, Deployment, worker_child

REPO = Path(__file__).resolve().parent.parent
SHIPPED_THEMES = REPO / "themes" / "themes.toml"
# The fault tests check story and per-article alerts against expectations derived offline
# (streams.bench.faultcheck). Spikes depend on how a stream falls into clock windows, so
# they are off there; tests/test_streams/test_pipeline/test_story_stream_kafka.py checks
# spikes exactly across a SIGKILL.
NO_SPIKES = {"NEWSMON_SPIKE_MIN_COUNT": "1000000"}
# Tests that build the bench corpus read ../shared/corpora/langid-sentences (CI has it; a clone
# elsewhere may not): without it they are skipped, saying why.
NEEDS_SENTENCE_CORPUS = pytest.mark.skipif(
    not DEFAULT_SENTENCES_DIR.is_dir(),
    reason=f"sentence corpus not available: {DEFAULT_SENTENCES_DIR} is missing (../shared is not checked out)",
)


@dataclass(frozen=True)
class Env(Deployment):
    """One isolated newsmon deployment on the test broker, with the CLI at hand."""

    themes_file: Path = SHIPPED_THEMES

    def cli(self, *args: str, timeout: float = 120.0, input_: bytes | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``newsmon ARGS`` against this deployment and return the completed process."""
        return subprocess.run(
            [sys.executable, "-m", "streams", *args],
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_.decode() if input_ is not None else None,
            check=False,
        )


class WorkerProcess(Child):
    """``newsmon worker`` in a subprocess; a test fails if it does not stop on SIGTERM."""

    def __init__(self, env: Env, log_path: Path, *, slot: int = 0) -> None:
        worker = worker_child(env, log_path, slot=slot)
        super().__init__(worker.name, worker.cmd, worker.env, log_path)

    def stop(self, timeout: float = 60.0) -> int | None:
        code = super().stop(timeout)
        if self.killed:
            raise AssertionError(f"worker did not stop within {timeout}s of SIGTERM; log:\n{self.log()}")
        return code

    def log(self, lines: int = 60) -> str:
        return self.log_tail(lines)


async def produce(
    bootstrap: str, topic: str, records: Sequence[tuple[bytes | None, bytes | None]], **config: Any
) -> None:
    async with AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, **config) as producer:
        futures = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*futures)


async def collect(
    bootstrap: str,
    topics: Sequence[str],
    done: Callable[[list[ConsumerRecord[bytes, bytes]]], bool],
    *,
    timeout: float = 90.0,
    alive: Callable[[], bool] = lambda: True,
    start: Mapping[TopicPartition, int] | None = None,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read ``topics`` from the beginning (or ``start``) until ``done(records)`` or fail after ``timeout``.

    Waits on records, not on sleeps: it returns as soon as the condition holds.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        tps = await topic_partitions(bootstrap, topics)
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, (start or {}).get(tp, 0))
        deadline = time.monotonic() + timeout
        while not done(records):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s with {len(records)} record(s) from {list(topics)}")
            if not alive():
                raise AssertionError("the worker died")
            batch = await consumer.getmany(timeout_ms=200)
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


async def group_assignment(
    bootstrap: str,
    group: str,
    topic: str,
    *,
    members: int,
    timeout: float = 90.0,
    alive: Callable[[], bool] = lambda: True,
) -> dict[str, list[int]]:
    """Wait until consumer ``group`` is stable with ``members`` members that each own partitions of ``topic``.

    Returns each member's partitions of ``topic`` by member id.  Group membership has no event a
    client can subscribe to, so this asks the group coordinator every 0.2 s.
    """
    deadline = time.monotonic() + timeout
    async with admin_client(bootstrap) as admin:
        while True:
            try:
                (response,) = await admin.describe_consumer_groups([group])
            except KafkaError as exc:  # no coordinator yet on a fresh broker: retriable
                if not exc.retriable:
                    raise
                state, described = type(exc).__name__, []
            else:
                (_error, _group, state, _ptype, _protocol, described, *_rest) = response.groups[0]
            # members: (member id, client id, host, metadata, assignment)
            owned = {member[0]: _partitions_of(member[4], topic) for member in described}
            if state == "Stable" and len(owned) == members and all(owned.values()):
                return owned
            if not alive():
                raise AssertionError(f"a worker died before group {group!r} was stable; last seen {state} {owned}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"group {group!r} not stable with {members} members after {timeout}s: {state} {owned}"
                )
            await asyncio.sleep(0.2)


def _partitions_of(assignment: bytes, topic: str) -> list[int]:
    """The partitions of ``topic`` in a member's encoded assignment (none before it has one)."""
    if not assignment:
        return []
    decoded = ConsumerProtocolMemberAssignment.decode(assignment)
    return sorted(p for t, parts in decoded.assignment for p in parts if t == topic)


def values(records: Sequence[ConsumerRecord[bytes, bytes]]) -> list[dict[str, Any]]:
    out = []
    for record in records:
        if record.value is not None:
            out.append(json.loads(record.value))
    return out
