"""Benchmark section ``feeds``: one poll round over many local feeds, against the same feeds one at a time.

A separate process serves ``N`` generated RSS feeds of 20 entries each on 127.0.0.1
(so its CPU is not counted here).  The poller (``streams.sources.feeds.poller.Poller``)
polls them all once with an in-memory store and a null sink: fetch, feedparser in a
worker thread, entries to articles, dedup; no Kafka.  The baseline polls the same feeds
in the same run, one after the other (one fetch in flight, no overlap).

Figures:
- ``feeds.cycle_s``: wall time of the concurrent round;
- ``feeds.entries_per_s``: entries converted and de-duplicated per second in that round;
- ``feeds.cpu_ms_per_entry``: this process's CPU time per entry in that round;
- ``feeds.peak_rss_mb``: this process's peak RSS while polling (sampled every 20 ms);
- ``feeds.vs_sequential``: sequential time / concurrent time (same feeds, same run).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import psutil

from agents.feeds.config import FeedSpec
from streams.bench.model import Result
from streams.bench.stats import judged
from streams.sources.feeds.http import Fetcher, FetchLimits
from streams.sources.feeds.poller import NullSink, Poller, PollSummary
from streams.sources.feeds.state import MemoryFeedStore

ENTRIES = 20
FEEDS = {"full": 1_000, "quick": 100, "tiny": 20}
SEED = 20_261_203
_WORDS = tuple(
    [
        "Greenland",
        "Denmark",
        "NATO",
        "alliance",
        "Article",
        "defence",
        "Europe",
        "summit",
        "Ukraine",
        "talks",
        "ceasefire",
        "Washington",
        "Brussels",
        "minister",
        "treaty",
        "deterrence",
        "nuclear",
        "Arctic",
        "security",
        "sanctions",
        "trade",
        "tariffs",
        "parliament",
        "vote",
    ]
)


def feed_document(index: int) -> bytes:
    """Feed ``index``: 20 entries of a few sentences each, deterministic, distinct from every other feed's."""
    rng = random.Random(SEED + index)
    items = []
    for n in range(ENTRIES):
        title = " ".join(rng.choice(_WORDS) for _ in range(8))
        body = ". ".join(" ".join(rng.choice(_WORDS) for _ in range(14)) for _ in range(5))
        stamp = formatdate(1_790_000_000 + index * 100 + n, usegmt=True)
        items.append(
            f"<item><guid>f{index}-e{n}</guid><title>{title}</title>"
            f"<link>https://bench.example/{index}/{n}</link><description>&lt;p&gt;{body}&lt;/p&gt;</description>"
            f"<pubDate>{stamp}</pubDate></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench feed {index}</title>'
        f"<link>https://bench.example/{index}</link><description>bench</description>{''.join(items)}"
        "</channel></rss>"
    ).encode()


def _serve(count: int, ports: Any, stop: Any) -> None:  # pragma: no cover - runs in the server process
    from aiohttp import web

    documents = [feed_document(i) for i in range(count)]

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=documents[int(request.match_info["n"])], content_type="application/rss+xml")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n:\\d+}", handler)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        ports.put(runner.addresses[0][1])
        await asyncio.to_thread(stop.wait)
        await runner.cleanup()

    asyncio.run(main())


class _PeakRss:
    """Samples this process's RSS every 20 ms in a thread; ``peak`` in bytes."""

    def __init__(self) -> None:
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        process = psutil.Process()
        while not self._done.wait(0.02):
            self.peak = max(self.peak, process.memory_info().rss)

    def __enter__(self) -> _PeakRss:
        self.peak = psutil.Process().memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()


async def _round(specs: list[FeedSpec], *, concurrent: bool) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds, entries seen, entries published) of one round with a fresh store."""
    limits = (
        FetchLimits(per_host=32, global_limit=32, read_timeout=30.0, total_timeout=120.0)
        if concurrent
        else FetchLimits(per_host=1, global_limit=1, read_timeout=30.0, total_timeout=120.0)
    )
    async with Fetcher(limits) as fetcher:
        poller = Poller(MemoryFeedStore(), fetcher, NullSink(), rng=random.Random(SEED))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if concurrent:
            results = await poller.poll_once(specs)
        else:
            results = [await poller.poll_feed(spec) for spec in specs]
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    summary = PollSummary.of(results)
    if summary.errors:
        raise RuntimeError(f"{summary.errors} of {summary.feeds} bench feeds failed: {summary.to_json()}")
    return wall, cpu, summary.entries_seen, summary.entries_published


def run(mode: str, say: Callable[[str], None]) -> list[Result]:
    count = FEEDS.get(mode, FEEDS["quick"])
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    stop = context.Event()
    server = context.Process(target=_serve, args=(count, ports, stop), daemon=True)
    server.start()
    try:
        port = ports.get(timeout=60)
        specs = [FeedSpec(f"http://127.0.0.1:{port}/feed/{i}") for i in range(count)]
        say(f"feeds: {count} local feeds x {ENTRIES} entries on 127.0.0.1:{port}")
        asyncio.run(_round(specs[: min(10, count)], concurrent=True))  # warm-up: imports, parser tables
        with _PeakRss() as rss:
            wall, cpu, seen, published = asyncio.run(_round(specs, concurrent=True))
        say(f"feeds: concurrent round {wall:.2f} s, {seen} entries, {published} new, CPU {cpu:.2f} s")
        seq_wall, _, seq_seen, _ = asyncio.run(_round(specs, concurrent=False))
        say(f"feeds: sequential round {seq_wall:.2f} s")
    finally:
        stop.set()
        server.join(timeout=10)
        if server.is_alive():
            server.kill()
    entries = max(seen, 1)
    detail = {"feeds": count, "entries": seen, "published": published, "sequential_s": seq_wall, "cpu_s": cpu}
    return [
        judged("feeds.cycle_s", wall, "s", None, detail=detail),
        judged("feeds.entries_per_s", seen / wall, "entries/s", None, baseline=seq_seen / seq_wall, detail=detail),
        judged("feeds.cpu_ms_per_entry", cpu * 1000 / entries, "ms", None, detail=detail),
        judged("feeds.peak_rss_mb", rss.peak / 2**20, "MiB", None, detail=detail),
        judged("feeds.vs_sequential", seq_wall / wall, "x", ">= 1.5x", baseline=1.0, detail=detail),
    ]
