"""Helpers for tests of newsmon's HTTP endpoints: a worker with its web server, waiting on /health, /metrics."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from streams.kafka.embedded import free_port
from streams.processes import Child, Deployment

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class ServedProcess(Child):
    """A newsmon command serving HTTP on a port of its own (``url``); SIGTERM must stop it."""

    def __init__(self, name: str, args: Sequence[str], dep: Deployment, log_path: Path, port_variable: str) -> None:
        self.port = free_port()
        env = {**dep.environ(), port_variable: str(self.port)}
        super().__init__(name, [sys.executable, "-m", "streams", *args], env, log_path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 60.0) -> int | None:
        code = super().stop(timeout)
        if self.killed:
            raise AssertionError(f"{self.name} did not stop within {timeout}s of SIGTERM; log:\n{self.log_tail(60)}")
        return code


def web_worker(dep: Deployment, log_path: Path) -> ServedProcess:
    """``newsmon worker`` with its Faust web server (``/metrics``, ``/health``) on a free port."""
    return ServedProcess("worker", ["worker", "--app-id", dep.app_id], dep, log_path, "NEWSMON_WEB_PORT")


async def wait_ready(proc: Child, url: str, *, timeout: float = 120.0) -> dict[str, object]:
    """Poll ``url`` (a /health endpoint) until it answers 200; fail when the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while time.monotonic() < deadline:
            proc.check()
            try:
                async with session.get(url) as response:
                    body = await response.json(content_type=None)
                    if response.status == 200:
                        return dict(body)
                    last = f"{response.status} {body}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = repr(exc)
            await asyncio.sleep(0.2)  # a poll interval: readiness is only observable by asking
    raise AssertionError(f"{url} not ready after {timeout}s: {last}\n{proc.log_tail(40)}")


async def scrape(url: str) -> tuple[str, Samples]:
    """GET a /metrics endpoint; its text and every sample by (name, sorted labels)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session, session.get(url) as response:
        assert response.status == 200, response.status
        text = await response.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return text, samples


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(value for (n, ls), value in samples.items() if n == name and wanted <= set(ls))


async def settle(url: str, check: Callable[[Samples], bool], *, timeout: float = 15.0) -> Samples:
    """Scrape until ``check(samples)`` holds (counters are bumped as the outputs are sent); the last samples."""
    deadline = time.monotonic() + timeout
    while True:
        _, samples = await scrape(url)
        if check(samples) or time.monotonic() > deadline:
            return samples
        await asyncio.sleep(0.2)
