"""Test helpers for the real-broker tests: worker processes and topic readers that wait on events."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord, TopicPartition

from streams.consumers import topic_partitions

REPO = Path(__file__).resolve().parent.parent
SHIPPED_THEMES = REPO / "themes" / "themes.toml"


@dataclass
class Env:
    """One isolated newsmon deployment on the test broker: its own topic prefix, app id and state."""

    bootstrap: str
    prefix: str
    app_id: str
    state_dir: Path
    themes_file: Path = SHIPPED_THEMES
    extra: dict[str, str] = field(default_factory=dict)

    def topic(self, base: str) -> str:
        return f"{self.prefix}{base}"

    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
                "NEWSMON_TOPIC_PREFIX": self.prefix,
                "NEWSMON_STATE_DIR": str(self.state_dir),
                "NEWSMON_THEMES_FILE": str(self.themes_file),
                "NEWSMON_LOG_LEVEL": "INFO",
            }
        )
        env.update(self.extra)
        return env

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


class WorkerProcess:
    """``newsmon worker`` in a subprocess, stopped with SIGTERM (or killed) by the test."""

    def __init__(self, env: Env, log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streams", "worker", "--no-web", "--app-id", self.env.app_id],
                env=self.env.environ(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            log.close()
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"worker did not stop within {timeout}s of SIGTERM; log:\n{self.log()}") from None
        return self.proc.returncode

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def log(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


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
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, max_partition_fetch_bytes=16 * 2**20
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


async def end_offsets(bootstrap: str, topics: Sequence[str]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = await topic_partitions(bootstrap, topics)
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


def values(records: Sequence[ConsumerRecord[bytes, bytes]]) -> list[dict[str, Any]]:
    out = []
    for record in records:
        if record.value is not None:
            out.append(json.loads(record.value))
    return out
