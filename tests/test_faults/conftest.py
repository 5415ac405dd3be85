"""Fault-test fixtures: an output reader that waits on events, topic creation, and figure reporting.

Every fault test appends one JSON line of figures (``streams.bench.faultcheck.Figures``) to
``<pytest basetemp>/fault-figures.jsonl`` (and to ``$NEWSMON_FAULT_FIGURES`` when set),
prints them, and the session ends with a summary table of all of them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from support import NO_SPIKES

from streams.bench.faultcheck import Figures, Observed
from streams.kafka.admin import ensure_topics
from streams.kafka.consumers import topic_partitions
from streams.kafka.limits import MAX_MESSAGE_BYTES
from streams.kafka.producer import make_producer
from streams.kafka.topics import ALERTS, DLQ, TAGGED, specs
from streams.settings import Settings

_REPORTED: list[dict[str, Any]] = []


@pytest.fixture
def newsmon_env(newsmon_env: Any) -> Any:
    """The session's deployment fixture, without spikes (see ``support.NO_SPIKES``)."""
    return dataclasses.replace(newsmon_env, extra={**newsmon_env.extra, **NO_SPIKES})


@dataclass
class Published:
    where: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (partition, offset)
    errors: list[str] = field(default_factory=list)


class OutputReader:
    """Reads news.articles.tagged, news.dlq and news.alerts of one deployment into an ``Observed``."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.bootstrap = bootstrap
        self.topics = {f"{prefix}{TAGGED}": "tagged", f"{prefix}{DLQ}": "dlq", f"{prefix}{ALERTS}": "alerts"}
        self.observed = Observed()
        self.records = 0
        self.alert_log: list[tuple[int, int, str, str, str]] = []  # (partition, offset, alert id, theme, article)
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
        )
        await self._consumer.start()
        tps = await topic_partitions(self.bootstrap, list(self.topics))
        self._consumer.assign(tps)
        await self._consumer.seek_to_beginning(*tps)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def poll(self) -> None:
        assert self._consumer is not None
        batch = await self._consumer.getmany(timeout_ms=250, max_records=2000)
        for tp, records in batch.items():
            kind = self.topics[tp.topic]
            for record in records:
                self.records += 1
                if record.value is None:
                    continue
                value = json.loads(record.value)
                if kind == "tagged":
                    self.observed.add_tagged(value)
                elif kind == "dlq":
                    self.observed.add_dead(record.key, value)
                else:
                    self.observed.add_alert(value)
                    data = value["data"]
                    self.alert_log.append((tp.partition, record.offset, value["id"], data["theme"], data["article_id"]))

    async def wait(
        self,
        condition: Callable[[Observed], bool],
        *,
        timeout: float,
        what: str,
        alive: Callable[[], bool] = lambda: True,
        on_timeout: Callable[[], str] = lambda: "",
        fail: bool = True,
    ) -> float | None:
        """Read until ``condition(observed)`` holds; seconds it took.

        Fails on a dead worker, and on timeout unless ``fail`` is false (then it returns None,
        so the test can still report its figures).
        """
        started = time.monotonic()
        while not condition(self.observed):
            if time.monotonic() - started > timeout:
                if not fail:
                    return None
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{on_timeout()}")
            if not alive():
                raise AssertionError(f"the worker died while waiting for {what}\n{on_timeout()}")
            await self.poll()
        return time.monotonic() - started

    async def drain(self) -> None:
        """Read everything the topics hold now (after the worker stopped), for the final figures."""
        assert self._consumer is not None
        tps = list(self._consumer.assignment())
        end = await self._consumer.end_offsets(tps)
        while True:
            behind = [tp for tp in tps if await self._consumer.position(tp) < end[tp]]
            if not behind:
                return
            await self.poll()


class FaultKit:
    """What every fault test needs: topics, a producer, output readers, figure reporting."""

    def __init__(self, base_temp: Path) -> None:
        self.figures_path = base_temp / "fault-figures.jsonl"

    async def create_topics(self, bootstrap: str, prefix: str) -> None:
        settings = Settings(topic_prefix=prefix, kafka_bootstrap_servers=bootstrap)
        await ensure_topics(bootstrap, specs(settings), replication_factor=1)

    @asynccontextmanager
    async def reader(self, bootstrap: str, prefix: str) -> AsyncIterator[OutputReader]:
        reader = OutputReader(bootstrap, prefix)
        await reader.start()
        try:
            yield reader
        finally:
            await reader.stop()

    def producer(self, bootstrap: str, **overrides: Any) -> Any:
        return make_producer(bootstrap, **overrides)

    async def publish(
        self, bootstrap: str, topic: str, records: Sequence[tuple[bytes, bytes | None]], *, rate: float
    ) -> Published:
        """Send ``records`` with newsmon's producer settings at ``rate``/s; never re-sends by itself.

        Every send's outcome is recorded: where it landed, or the error the producer gave up with.
        """
        out = Published()
        async with make_producer(bootstrap) as producer:
            start = time.monotonic()
            pending: list[tuple[bytes, asyncio.Future[Any]]] = []
            for index, (key, value) in enumerate(records):
                delay = start + index / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)  # pacing the stream, not waiting for an outcome
                pending.append((key, await producer.send(topic, value, key=key)))
            for key, future in pending:
                try:
                    meta = await future
                except KafkaError as exc:
                    out.errors.append(f"{key!r}: {type(exc).__name__}: {exc}")
                else:
                    out.where[key.decode()] = (meta.partition, meta.offset)
        return out

    def report(self, figures: Figures) -> None:
        line = figures.as_dict()
        _REPORTED.append(line)
        text = json.dumps(line, sort_keys=True)
        print(f"FAULT FIGURES {text}")
        targets = [self.figures_path]
        if os.environ.get("NEWSMON_FAULT_FIGURES"):
            targets.append(Path(os.environ["NEWSMON_FAULT_FIGURES"]))
        for path in targets:
            with path.open("a", encoding="utf-8") as out:
                out.write(text + "\n")


@pytest.fixture
def faults(tmp_path_factory: pytest.TempPathFactory) -> FaultKit:
    return FaultKit(tmp_path_factory.getbasetemp())


_COLUMNS = (
    ("test", "test"),
    ("articles_sent", "sent"),
    ("processed", "processed"),
    ("lost", "lost"),
    ("tagged_redeliveries", "redelivered"),
    ("dead_letters", "dlq"),
    ("alerts_expected", "alerts exp."),
    ("alerts_found", "found"),
    ("alerts_missing", "missing"),
    ("alert_duplicates", "dup alert_id"),
    ("seconds", "s"),
)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _REPORTED:
        return
    terminalreporter.section("fault-test figures")
    terminalreporter.write_line(" | ".join(label for _, label in _COLUMNS))
    for line in _REPORTED:
        terminalreporter.write_line(" | ".join(str(line.get(key, "")) for key, _ in _COLUMNS))
