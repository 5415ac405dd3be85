"""End to end through a real broker: throughput, latency and resources of the worker in its own process.

One run, one broker, every pipeline in its own process with its own topic prefix and
app id, measured one after the other (never two at once):

1. The corpus (``streams.bench.corpus``) is written to a fresh ``news.articles.raw``
   *before* any consumer starts, so what is timed is a pipeline's sustained drain rate,
   not the producer's.
2. Baselines (``streams.bench.naive``), each a Faust app in its own process reading
   that topic: the pass-through app (decode and forward: the framework's ceiling) and
   the naive app (full-text langdetect, one regex per theme).
3. The worker (``python -m streams worker``) drains the same articles.  Rate = outputs
   / (last output's timestamp - first output's timestamp), from the record timestamps
   the pipeline's own producer set (same host clock).
4. Latency: the idle, warm worker is offered a fixed rate of articles that match
   themes; each article's publish time and the arrival of its tagged record and of
   its alerts at a plain consumer in this process (one clock) give the percentiles.
   The same is done for a fresh pass-through app (publish -> forwarded): the floor.
5. Resources (section ``resources``): the worker is kept fed with unique articles (a
   bounded backlog) until it has processed the high mark; RSS at the low and high
   marks, CPU per article, the ``alerted`` table's changelog size, and a py-spy profile
   under that load.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from agents.enrich import enrich
from agents.records import SCHEMA_VERSION, decode_raw_article, encode
from agents.themes import Tagger, load_theme_file
from streams.bench.model import Result
from streams.bench.resources import (
    ProcessMeter,
    Profiler,
    changelog_state,
    format_profile,
    mb,
    summarize_profile,
)
from streams.bench.stats import judged, percentile
from streams.kafka.admin import ensure_topics
from streams.kafka.consumers import read_to_end, topic_partitions
from streams.kafka.limits import MAX_MESSAGE_BYTES
from streams.kafka.producer import make_producer
from streams.kafka.topics import ALERTS, RAW, TAGGED, TopicSpec
from streams.pipeline.app import PARTITIONS
from streams.processes import Child, Deployment, worker_child
from streams.settings import get_settings

Say = Callable[[str], None]

CORPUS_SEED = 7
FETCHED_AT = "2026-01-01T00:00:00Z"
_ID_SLOT = "@@BENCH-ARTICLE-ID@@"
_LEAD_SLOT = "@@BENCH-STORY-LEAD@@"
LEAD_NUMBERS = 330  # 2,309 characters: nearly all of what the story sketch reads (agents.stories.MAX_CHARS)
POLL_S = 0.25
BATCH_SIZE = 64  # NEWSMON_BATCH_SIZE of the batched drain (the default is 1)

THROUGHPUT_TARGET = ">= 1000 articles/s"
VS_NAIVE_TARGET = ">= 10x"
VS_PASSTHROUGH_TARGET = ">= 0.6x"
LATENCY_TARGET = "<= 100 ms"
QUEUEING_MS = 1000.0  # a median publish-to-alert above this at the offered rate is a backlog, not processing
RSS_GROWTH_TARGET = "<= 1.1x"


class BenchError(RuntimeError):
    """A measured pipeline failed (died, or produced nothing in time); the message carries its log."""


@dataclass(frozen=True)
class Scale:
    """How much each phase does in a mode."""

    articles: int  # preloaded; drained by the worker and by the pass-through app
    naive_articles: int  # the naive app is stopped after this many outputs
    latency_rate: float  # offered articles/s
    latency_seconds: float
    baseline_latency_seconds: float
    latency_drain_timeout: float  # the longest wait for a backlog to drain after offering stops
    latency_pool: int  # corpus articles searched for theme matches (the latency stream)
    feed_pool: int  # corpus articles recycled (with fresh ids) to feed the resources phase
    rss_low: int  # processed articles at the first RSS reading
    rss_high: int  # ... and at the second
    rss_budget_s: float  # the marks are scaled down when the worker cannot reach them in this time
    profile_seconds: float  # py-spy during the resources phase (0: only with --profile)


SCALES: dict[str, Scale] = {
    "full": Scale(8_000, 400, 200, 30, 15, 120, 600, 2_000, 50_000, 200_000, 220, 30),
    "quick": Scale(2_000, 100, 200, 8, 5, 45, 300, 1_000, 5_000, 20_000, 20, 0),
    "tiny": Scale(200, 20, 50, 2, 2, 30, 60, 200, 100, 400, 10, 0),
}


@dataclass
class Outcome:
    results: list[Result] = field(default_factory=list)
    profile: dict[str, Any] | None = None


# --------------------------------------------------------------------------- articles


@dataclass(frozen=True)
class Template:
    """A raw article's encoded value around its id: ``head + id + tail`` (ids are unique per send)."""

    head: bytes
    tail: bytes
    alerts: int = 0  # alerts one send is expected to raise (themes it matches)

    def value(self, article_id: str) -> bytes:
        return self.head + article_id.encode() + self.tail


def raw_record(title: str, body: str, article_id: str) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "id": article_id,
        "source": "bench",
        "url": None,
        "title": title,
        "body": body,
        "published_at": None,
        "fetched_at": FETCHED_AT,
    }


def template(title: str, body: str, alerts: int = 0) -> Template:
    head, _, tail = encode(raw_record(title, body, _ID_SLOT)).partition(_ID_SLOT.encode())
    return Template(head, tail, alerts)


def story_lead(article_id: str) -> str:
    """``LEAD_NUMBERS`` six-digit numbers derived from the id, one line: a lead unique to one send.

    Digits carry no language (the language sample turns them into spaces) and match no
    theme term, and the lead always has the same length, so every send of a template is
    tagged alike; but its words fill most of the text the story sketch reads, so each
    send opens a story of its own and raises that story's alerts.
    """
    digest = b""
    counter = 0
    while len(digest) < 3 * LEAD_NUMBERS:
        digest += hashlib.blake2b(f"{article_id}/{counter}".encode(), digest_size=64).digest()
        counter += 1
    return " ".join(
        str(100_000 + int.from_bytes(digest[3 * i : 3 * i + 3], "big") % 900_000) for i in range(LEAD_NUMBERS)
    )


@dataclass(frozen=True)
class StoryTemplate:
    """A raw article's encoded value around its id and a lead unique to each send (``story_lead``)."""

    head: bytes  # up to the lead (keys sort: ``body`` comes before ``id``)
    middle: bytes  # after the lead, up to the id
    tail: bytes
    alerts: int = 0  # alerts one send is expected to raise (one new story per matched theme)

    def value(self, article_id: str) -> bytes:
        return self.head + story_lead(article_id).encode() + self.middle + article_id.encode() + self.tail


def story_template(title: str, body: str, alerts: int = 0) -> StoryTemplate:
    encoded = encode(raw_record(title, f"{_LEAD_SLOT}\n\n{body}", _ID_SLOT))
    head, _, rest = encoded.partition(_LEAD_SLOT.encode())
    middle, found, tail = rest.partition(_ID_SLOT.encode())
    if not found:
        raise ValueError("the lead must come before the id in the encoded record")
    return StoryTemplate(head, middle, tail, alerts)


def matching_templates(articles: Sequence[Any], themes_file: Path) -> list[StoryTemplate]:
    """Story templates of the articles that match at least one theme, with the alerts each send raises."""
    tagger = Tagger(load_theme_file(themes_file))
    out = []
    for article in articles:
        value = story_template(article.title, article.body).value(article.id)
        record = enrich(decode_raw_article(value), tagger, processed_at=FETCHED_AT)
        if record["themes"]:
            out.append(story_template(article.title, article.body, alerts=len(record["themes"])))
    return out


# --------------------------------------------------------------------------- deployments and processes


def baseline_child(mode: str, dep: Deployment, input_topic: str, output_topic: str, logs: Path) -> Child:
    cmd = [sys.executable, "-m", "streams.bench.naive", "--mode", mode, "--bootstrap", dep.bootstrap]
    cmd += ["--input", input_topic, "--output", output_topic, "--app-id", dep.app_id]
    cmd += ["--state-dir", str(dep.state_dir), "--themes-file", str(dep.themes_file)]
    return Child(mode, cmd, dep.environ(), logs / f"{dep.app_id}.log")


# --------------------------------------------------------------------------- kafka helpers


async def create_topics(bootstrap: str, names: Iterable[str], partitions: int = PARTITIONS) -> None:
    await ensure_topics(bootstrap, [TopicSpec(name, partitions) for name in names])


async def preload(bootstrap: str, topic: str, records: Iterable[tuple[bytes, bytes]]) -> int:
    """Write every (key, value) and wait for all acknowledgements; the number written."""
    count = 0
    async with make_producer(bootstrap, linger_ms=20, max_batch_size=1024 * 1024) as producer:
        pending = []
        for key, value in records:
            pending.append(await producer.send(topic, value, key=key))
            count += 1
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    return count


class Offsets:
    """End offsets of a set of topics (what has been written so far), from one long-lived consumer."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        self.bootstrap = bootstrap
        self.tps: dict[str, list[TopicPartition]] = {}

    async def __aenter__(self) -> Offsets:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def total(self, topic: str) -> int:
        if topic not in self.tps:
            self.tps[topic] = await topic_partitions(self.bootstrap, [topic])
        end = await self.consumer.end_offsets(self.tps[topic])
        return int(sum(end.values()))


async def output_span(bootstrap: str, count_topic: str, also: Sequence[str] = ()) -> tuple[int, float]:
    """(records on ``count_topic``, seconds from the first to the last record on it and ``also``).

    Uses record timestamps (set by the writing pipeline's producer): one record at each
    end of each partition, nothing in between.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        count = 0
        first: float | None = None
        last: float | None = None
        for topic in [count_topic, *also]:
            tps = await topic_partitions(bootstrap, [topic])
            end = await consumer.end_offsets(tps)
            if topic == count_topic:
                count = int(sum(end.values()))
            for tp in tps:
                if end[tp] == 0:
                    continue
                consumer.assign([tp])
                for offset in (0, end[tp] - 1):
                    consumer.seek(tp, offset)
                    record = await asyncio.wait_for(consumer.getone(tp), 30)
                    ts = record.timestamp / 1000
                    if topic == count_topic:  # the first output is a tagged record, never an alert
                        first = ts if first is None else min(first, ts)
                    last = ts if last is None else max(last, ts)
    finally:
        await consumer.stop()
    if first is None or last is None or last <= first:
        return count, 0.0
    return count, last - first


# --------------------------------------------------------------------------- throughput


@dataclass
class Drain:
    name: str
    count: int
    seconds: float
    cpu_per_article: float  # seconds of the process's CPU per output, while draining
    peak_rss: int

    @property
    def rate(self) -> float:
        return (self.count - 1) / self.seconds if self.seconds > 0 and self.count > 1 else 0.0

    def detail(self) -> dict[str, Any]:
        return {
            "articles": self.count,
            "seconds": round(self.seconds, 3),
            "rate": round(self.rate, 1),
            "cpu_ms_per_article": round(self.cpu_per_article * 1000, 3),
            "peak_rss_mb": mb(self.peak_rss),
        }


async def wait_for_outputs(
    child: Child, offsets: Offsets, topic: str, n: int, say: Say, *, timeout: float
) -> tuple[float, ProcessMeter]:
    """Wait until ``topic`` holds ``n`` records; (CPU seconds per output while draining, meter)."""
    meter = ProcessMeter(child.pid)
    deadline = time.monotonic() + timeout
    first: tuple[int, float] | None = None
    last_say = time.monotonic()
    while True:
        child.check()
        total = await offsets.total(topic)
        reading = meter.read()
        if total > 0 and first is None:
            first = (total, reading.cpu)
        if total >= n:
            break
        if time.monotonic() > deadline:
            raise BenchError(f"{child.name}: {total} of {n} outputs after {timeout:.0f}s\n{child.log_tail()}")
        if time.monotonic() - last_say > 15:
            say(f"  {child.name}: {total}/{n} outputs")
            last_say = time.monotonic()
        await asyncio.sleep(POLL_S)
    assert first is not None
    done = total - first[0]
    cpu = (reading.cpu - first[1]) / done if done > 0 else 0.0
    return cpu, meter


async def wait_for_group(
    children: Sequence[Child], offsets: Offsets, topic: str, n: int, say: Say, *, timeout: float
) -> tuple[float, int]:
    """Like ``wait_for_outputs`` for processes sharing one input: (CPU seconds of all per output, peak RSS sum)."""
    meters = [ProcessMeter(c.pid) for c in children]
    deadline = time.monotonic() + timeout
    first: tuple[int, float] | None = None
    last_say = time.monotonic()
    while True:
        for child in children:
            child.check()
        total = await offsets.total(topic)
        cpu = sum(m.read().cpu for m in meters)
        if total > 0 and first is None:
            first = (total, cpu)
        if total >= n:
            break
        if time.monotonic() > deadline:
            raise BenchError(f"{children[0].name} x{len(children)}: {total} of {n} outputs after {timeout:.0f}s")
        if time.monotonic() - last_say > 15:
            say(f"  {children[0].name} x{len(children)}: {total}/{n} outputs")
            last_say = time.monotonic()
        await asyncio.sleep(POLL_S)
    assert first is not None
    done = total - first[0]
    return ((cpu - first[1]) / done if done > 0 else 0.0), sum(m.high_water_mark() for m in meters)


async def distinct_keys(bootstrap: str, topic: str) -> int:
    """How many distinct keys ``topic`` holds (articles, however often each was processed)."""
    return len({record.key for record in await read_to_end(bootstrap, [topic], timeout=60)})


async def drain_workers(
    dep: Deployment, processes: int, values: Sequence[tuple[bytes, bytes]], logs: Path, offsets: Offsets, say: Say
) -> Drain:
    """``processes`` workers of one deployment (one consumer group) drain ``values`` preloaded on its raw topic."""
    from streams.pipeline.worker import prepare

    await prepare(dep.settings, dep.bootstrap, load_theme_file(dep.themes_file))
    await preload(dep.bootstrap, dep.topic(RAW), values)
    children = [worker_child(dep, logs / f"{dep.app_id}-{slot}.log", slot=slot).start() for slot in range(processes)]
    wanted = len(values)
    try:
        cpu, peak = await wait_for_group(children, offsets, dep.topic(TAGGED), wanted, say, timeout=120 + wanted / 5)
        # Records processed again across the group's rebalance count once: wait for every distinct article.
        deadline = time.monotonic() + 60
        while (distinct := await distinct_keys(dep.bootstrap, dep.topic(TAGGED))) < wanted:
            if time.monotonic() > deadline:
                raise BenchError(f"worker x{processes}: {distinct} of {wanted} distinct articles tagged")
            await asyncio.sleep(POLL_S)
        await asyncio.sleep(1.0)  # the last article's alerts follow its tagged record
    finally:
        for child in children:
            child.stop()
    records, seconds = await output_span(dep.bootstrap, dep.topic(TAGGED), [dep.topic(ALERTS)])
    drain = Drain(f"worker x{processes}", distinct, seconds, cpu * records / max(distinct, 1), peak)
    say(f"  worker x{processes}: {drain.rate:,.1f} articles/s ({distinct} articles, {records} records, {seconds:.1f}s)")
    return drain


async def drain_passthrough_group(
    dep: Deployment, input_topic: str, processes: int, n: int, logs: Path, offsets: Offsets, say: Say
) -> Drain:
    """``processes`` pass-through apps in one consumer group drain ``input_topic``."""
    output = dep.topic("bench.passthrough.out")
    await create_topics(dep.bootstrap, [output])
    children = []
    for slot in range(processes):
        child = baseline_child("passthrough", dep, input_topic, output, logs)
        child.log_path = logs / f"{dep.app_id}-{slot}.log"
        children.append(child.start())
    try:
        cpu, peak = await wait_for_group(children, offsets, output, n, say, timeout=120 + n / 5)
    finally:
        for child in children:
            child.stop()
    count, seconds = await output_span(dep.bootstrap, output)
    drain = Drain(f"passthrough x{processes}", count, seconds, cpu, peak)
    say(f"  passthrough x{processes}: {drain.rate:,.1f} articles/s ({count} in {seconds:.1f}s)")
    return drain


async def drain_baseline(
    mode: str, dep: Deployment, input_topic: str, n: int, logs: Path, offsets: Offsets, say: Say
) -> Drain:
    output = dep.topic(f"bench.{mode}.out")
    await create_topics(dep.bootstrap, [output])
    child = baseline_child(mode, dep, input_topic, output, logs).start()
    try:
        cpu, meter = await wait_for_outputs(child, offsets, output, n, say, timeout=120 + n / 5)
        peak = meter.high_water_mark()
    finally:
        child.stop()
    count, seconds = await output_span(dep.bootstrap, output)
    drain = Drain(mode, count, seconds, cpu, peak)
    say(f"  {mode}: {drain.rate:,.1f} articles/s ({count} in {seconds:.1f}s, {cpu * 1000:.2f} ms CPU/article)")
    return drain


# --------------------------------------------------------------------------- latency


@dataclass
class Latency:
    offered: int
    offered_rate: float
    to_output_ms: list[float]
    to_alert_ms: list[float]
    missing_outputs: int
    missing_alerts: int

    def percentiles(self, values: Sequence[float]) -> dict[str, float]:
        if not values:
            return {}
        return {f"p{q}": round(percentile(values, q), 2) for q in (50, 95, 99)} | {"max": round(max(values), 2)}


async def measure_latency(
    bootstrap: str,
    raw: str,
    output: str,
    alerts: str | None,
    pool: Sequence[Template | StoryTemplate],
    *,
    rate: float,
    seconds: float,
    child: Child,
    tag: str,
    drain_timeout: float = 120.0,
) -> Latency:
    """Offer ``rate`` articles/s for ``seconds``; publish -> arrival of the output record (and of the alerts)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
    )
    await consumer.start()
    sent: dict[str, float] = {}
    arrived: dict[str, float] = {}
    alert_ms: list[float] = []
    total = max(1, round(rate * seconds))
    expected_alerts = sum(pool[i % len(pool)].alerts for i in range(total)) if alerts else 0
    done_sending = asyncio.Event()
    try:
        tps = await topic_partitions(bootstrap, [output] + ([alerts] if alerts else []))
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)

        async def receive() -> None:
            while True:
                batch = await consumer.getmany(timeout_ms=20)
                now = time.perf_counter()
                for records in batch.values():
                    for record in records:
                        if record.topic == output and record.key is not None:
                            key = record.key.decode()
                            if key in sent and key not in arrived:
                                arrived[key] = (now - sent[key]) * 1000
                        elif record.value is not None:
                            article = json.loads(record.value)["data"]["article_id"]
                            if article in sent:
                                alert_ms.append((now - sent[article]) * 1000)
                if done_sending.is_set() and len(arrived) >= total and len(alert_ms) >= expected_alerts:
                    return

        receiver = asyncio.create_task(receive())
        async with make_producer(bootstrap) as producer:
            pending = []
            start = time.perf_counter()
            for i in range(total):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                article_id = f"lat-{tag}-{i:06d}"
                value = pool[i % len(pool)].value(article_id)
                sent[article_id] = time.perf_counter()
                pending.append(await producer.send(raw, value, key=article_id.encode()))
                child.check()
            offered_for = time.perf_counter() - start
            await asyncio.gather(*pending)
        done_sending.set()
        # A pipeline slower than the offered rate has a backlog: wait for it (what it has not
        # delivered after ``drain_timeout``, or after 15 s without progress, counts as missing).
        deadline = time.monotonic() + drain_timeout
        progress, last_progress = -1, time.monotonic()
        while not receiver.done() and time.monotonic() < deadline:
            if len(arrived) + len(alert_ms) != progress:
                progress, last_progress = len(arrived) + len(alert_ms), time.monotonic()
            elif time.monotonic() - last_progress > 15:
                break
            child.check()
            await asyncio.sleep(POLL_S)
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiver
        child.check()
    finally:
        await consumer.stop()
    return Latency(
        offered=total,
        offered_rate=(total - 1) / offered_for if offered_for > 0 else 0.0,
        to_output_ms=list(arrived.values()),
        to_alert_ms=alert_ms,
        missing_outputs=total - len(arrived),
        missing_alerts=max(0, expected_alerts - len(alert_ms)),
    )


# --------------------------------------------------------------------------- resources


@dataclass
class Growth:
    low: int
    high: int
    rss_low: int
    rss_high: int
    entries_low: int
    entries_high: int
    state_bytes: int
    cpu_per_article: float
    seconds: float
    scaled: bool


async def feed_and_measure(
    dep: Deployment,
    child: Child,
    offsets: Offsets,
    pool: Sequence[Template | StoryTemplate],
    scale: Scale,
    say: Say,
    profiler: Profiler | None,
) -> Growth:
    """Keep the worker fed (bounded backlog) up to the high mark, reading RSS at the low and high marks."""
    raw, tagged = dep.topic(RAW), dep.topic(TAGGED)
    changelog = f"{dep.app_id}-alerted-changelog"
    meter = ProcessMeter(child.pid)
    backlog = 2_000
    start = time.monotonic()
    processed0 = await offsets.total(tagged)
    cpu0 = meter.read().cpu
    low, high = scale.rss_low, scale.rss_high
    warmup = min(10.0, scale.rss_budget_s / 3)
    decided = False
    scaled = False
    rss_low: int | None = None
    entries_low = 0
    sent = 0
    last_say = start
    async with make_producer(bootstrap=dep.bootstrap, linger_ms=20, max_batch_size=1024 * 1024) as producer:
        produced = await offsets.total(raw)
        while True:
            child.check()
            processed = await offsets.total(tagged)
            reading = meter.read()
            if processed == processed0:  # not started yet (a fresh worker): the clock starts at its first output
                start, cpu0 = time.monotonic(), reading.cpu
            elapsed = time.monotonic() - start
            if not decided and elapsed >= warmup:
                rate = (processed - processed0) / elapsed
                reachable = processed + int(rate * max(0.0, scale.rss_budget_s - elapsed))
                if reachable < high:
                    high = max(reachable, processed + 1)
                    low = max(min(low, high // 4), processed)
                    scaled = True
                    say(f"  resources: at {rate:,.0f} articles/s the marks become {low:,} and {high:,} processed")
                decided = True
            if decided and rss_low is None and processed >= low:
                rss_low = reading.rss
                entries_low = await offsets.total(changelog)
                say(f"  resources: {processed:,} processed, RSS {mb(rss_low)} MB")
                if profiler is not None:
                    profiler.start()
            if decided and processed >= high and not (profiler is not None and profiler.running):
                break
            if elapsed > 2 * scale.rss_budget_s + 60:
                say(f"  resources: stopping at {processed:,} processed (time limit)")
                high = processed
                break
            if time.monotonic() - last_say > 20:
                say(f"  resources: {processed:,} processed, RSS {mb(reading.rss)} MB")
                last_say = time.monotonic()
            if produced - processed < backlog:
                pending = []
                for _ in range(200):
                    article_id = f"rss-{sent:07d}"
                    pending.append(
                        await producer.send(raw, pool[sent % len(pool)].value(article_id), key=article_id.encode())
                    )
                    sent += 1
                await asyncio.gather(*pending)
                produced += len(pending)
            else:
                await asyncio.sleep(POLL_S)
    reading = meter.read()
    entries_high, state_bytes = await changelog_state(dep.bootstrap, changelog)
    return Growth(
        low=low,
        high=high,
        rss_low=rss_low if rss_low is not None else reading.rss,
        rss_high=reading.rss,
        entries_low=entries_low,
        entries_high=entries_high,
        state_bytes=state_bytes,
        cpu_per_article=(reading.cpu - cpu0) / max(1, processed - processed0),
        seconds=time.monotonic() - start,
        scaled=scaled,
    )


# --------------------------------------------------------------------------- the section


def _deployment(bootstrap: str, run_id: str, name: str, root: Path, themes_file: Path) -> Deployment:
    state = root / name
    state.mkdir(parents=True, exist_ok=True)
    return Deployment(bootstrap, f"bench.{run_id}.{name}.", f"bench-{run_id}-{name}", state, themes_file)


def run(
    bootstrap: str,
    *,
    mode: str = "full",
    sections: Sequence[str] = ("e2e", "resources"),
    say: Say = print,
    profile_path: Path | None = None,
) -> Outcome:
    """Run the ``e2e`` and/or ``resources`` measurements against ``bootstrap``."""
    scale = SCALES[mode]
    root = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    try:
        return asyncio.run(_run(bootstrap, scale, sections, say, profile_path, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def _run(
    bootstrap: str, scale: Scale, sections: Sequence[str], say: Say, profile_path: Path | None, root: Path
) -> Outcome:
    from streams.bench.corpus import build_corpus
    from streams.pipeline.worker import prepare

    themes_file = get_settings().themes_file
    run_id = uuid.uuid4().hex[:8]
    logs = root / "logs"
    logs.mkdir()
    outcome = Outcome()
    do_e2e = "e2e" in sections
    do_resources = "resources" in sections

    n_corpus = max(scale.articles if do_e2e else 0, scale.feed_pool, scale.latency_pool)
    t0 = time.monotonic()
    corpus = build_corpus(n_corpus, CORPUS_SEED)
    say(f"  corpus: {len(corpus):,} articles (seed {CORPUS_SEED}) in {time.monotonic() - t0:.1f}s")

    worker_dep = _deployment(bootstrap, run_id, "worker", root, themes_file)
    await prepare(worker_dep.settings, bootstrap, load_theme_file(themes_file))
    raw = worker_dep.topic(RAW)
    results: list[Result] = []
    drains: dict[str, Drain] = {}
    latency: dict[str, Latency] = {}
    async with Offsets(bootstrap) as offsets:
        if do_e2e:
            t0 = time.monotonic()
            values = [(a.id.encode(), template(a.title, a.body).value(a.id)) for a in corpus[: scale.articles]]
            size = sum(len(v) for _, v in values)
            await preload(bootstrap, raw, values)
            say(f"  preloaded {scale.articles:,} articles ({size / 2**20:.0f} MiB) in {time.monotonic() - t0:.1f}s")
            for mode in ("passthrough", "naive"):
                dep = _deployment(bootstrap, run_id, mode, root, themes_file)
                n = scale.articles if mode == "passthrough" else scale.naive_articles
                drains[mode] = await drain_baseline(mode, dep, raw, n, logs, offsets, say)
            # Scale-out: the same articles through two processes of one consumer group.
            dep = _deployment(bootstrap, run_id, "passthrough2", root, themes_file)
            drains["passthrough_2"] = await drain_passthrough_group(dep, raw, 2, scale.articles, logs, offsets, say)
            dep = _deployment(bootstrap, run_id, "worker2", root, themes_file)
            drains["worker_2"] = await drain_workers(dep, 2, values, logs, offsets, say)
            # Batches: the same articles through one worker whose agents take BATCH_SIZE events at a time.
            dep = _deployment(bootstrap, run_id, "batched", root, themes_file)
            dep.extra["NEWSMON_BATCH_SIZE"] = str(BATCH_SIZE)
            drains["worker_batched"] = await drain_workers(dep, 1, values, logs, offsets, say)
            del values

        worker = worker_child(worker_dep, logs / f"{worker_dep.app_id}.log").start()
        profiler: Profiler | None = None
        try:
            if do_e2e:
                cpu, meter = await wait_for_outputs(
                    worker, offsets, worker_dep.topic(TAGGED), scale.articles, say, timeout=120 + scale.articles / 5
                )
                await asyncio.sleep(1.0)  # the last article's alerts follow its tagged record
                count, seconds = await output_span(bootstrap, worker_dep.topic(TAGGED), [worker_dep.topic(ALERTS)])
                drains["worker"] = Drain("worker", count, seconds, cpu, meter.peak_rss)
                d = drains["worker"]
                say(f"  worker: {d.rate:,.1f} articles/s ({count} in {seconds:.1f}s, {cpu * 1000:.2f} ms CPU/article)")
                pool = matching_templates(corpus[: scale.latency_pool], themes_file)
                if not pool:
                    raise BenchError("no corpus article matches a theme: nothing to raise alerts with")
                say(f"  latency: {scale.latency_rate:.0f} articles/s for {scale.latency_seconds:.0f}s to the worker")
                latency["worker"] = await measure_latency(
                    bootstrap,
                    raw,
                    worker_dep.topic(TAGGED),
                    worker_dep.topic(ALERTS),
                    pool,
                    rate=scale.latency_rate,
                    seconds=scale.latency_seconds,
                    child=worker,
                    tag=f"{run_id}a",
                    drain_timeout=scale.latency_drain_timeout,
                )
                offered = latency["worker"]
                queued = percentile(offered.to_alert_ms, 50) > QUEUEING_MS if offered.to_alert_ms else True
                if d.rate < 1.25 * scale.latency_rate or queued:
                    # Offered more than it can take (the latency stream, a new story with alerts per
                    # article, costs more than the drained corpus), the worker queues: also measure
                    # at half its drain capacity.
                    rate = max(1.0, round(d.rate / 2))
                    seconds = scale.baseline_latency_seconds
                    say(f"  latency: {rate:.0f} articles/s (half the worker's capacity) for {seconds:.0f}s")
                    latency["worker_half_capacity"] = await measure_latency(
                        bootstrap,
                        raw,
                        worker_dep.topic(TAGGED),
                        worker_dep.topic(ALERTS),
                        pool,
                        rate=rate,
                        seconds=seconds,
                        child=worker,
                        tag=f"{run_id}b",
                        drain_timeout=scale.latency_drain_timeout,
                    )
            if do_resources:
                seconds_wanted = scale.profile_seconds
                if profile_path is not None and not seconds_wanted:
                    seconds_wanted = min(20.0, scale.rss_budget_s / 2)
                if seconds_wanted:
                    raw_path = profile_path or root / "profile.raw"
                    profiler = Profiler(worker.pid, seconds_wanted, raw_path)
                feed = [template(a.title, a.body) for a in corpus[: scale.feed_pool]]
                growth = await feed_and_measure(worker_dep, worker, offsets, feed, scale, say, profiler)
                results += _resource_results(growth, drains, worker, scale)
                if profiler is not None:
                    outcome.profile = _profile(profiler, say)
        finally:
            if profiler is not None and profiler.running and profiler.proc is not None:
                profiler.proc.terminate()
            worker.stop()

        if do_e2e:
            dep = _deployment(bootstrap, run_id, "passthrough-latency", root, themes_file)
            lat_in, lat_out = dep.topic("bench.in"), dep.topic("bench.out")
            await create_topics(bootstrap, [lat_in, lat_out])
            child = baseline_child("passthrough", dep, lat_in, lat_out, logs).start()
            try:
                floor_pool = [template(a.title, a.body) for a in corpus[:50]]
                await preload(bootstrap, lat_in, [(b"warm-up", floor_pool[0].value("warm-up"))])
                await wait_for_outputs(child, offsets, lat_out, 1, say, timeout=120)
                seconds = scale.baseline_latency_seconds
                say(f"  latency: {scale.latency_rate:.0f} articles/s for {seconds:.0f}s to the pass-through app")
                latency["passthrough"] = await measure_latency(
                    bootstrap,
                    lat_in,
                    lat_out,
                    None,
                    floor_pool,
                    rate=scale.latency_rate,
                    seconds=scale.baseline_latency_seconds,
                    child=child,
                    tag=f"{run_id}c",
                    drain_timeout=scale.latency_drain_timeout,
                )
            finally:
                child.stop()
            results = _e2e_results(drains, latency) + results
    outcome.results = results
    return outcome


def _profile(profiler: Profiler, say: Say) -> dict[str, Any] | None:
    text = profiler.finish()
    if text is None:
        say(f"  profile: not taken ({profiler.error})")
        return {"error": profiler.error}
    summary = summarize_profile(text)
    summary["seconds"] = profiler.seconds
    say(format_profile(summary))
    return summary


def _e2e_results(drains: dict[str, Drain], latency: dict[str, Latency]) -> list[Result]:
    worker, naive, passthrough = drains["worker"], drains["naive"], drains["passthrough"]
    lat, floor = latency["worker"], latency.get("passthrough")
    details = {name: d.detail() for name, d in drains.items()}
    scaled, passthrough_2 = drains.get("worker_2"), drains.get("passthrough_2")
    best = max([worker, *([scaled] if scaled is not None else [])], key=lambda d: d.rate)
    out = [
        judged(
            "e2e.throughput",
            round(best.rate, 1),
            "articles/s",
            THROUGHPUT_TARGET,
            baseline=round(naive.rate, 1),
            detail={
                **best.detail(),
                "processes": 2 if best is scaled else 1,
                "baseline_is": "naive pipeline, articles/s (one process)",
            },
        ),
        Result(
            name="e2e.throughput_1proc",
            value=round(worker.rate, 1),
            unit="articles/s",
            baseline=round(passthrough.rate, 1),
            detail={**details["worker"], "baseline_is": "pass-through app, one process"},
        ),
        judged(
            "e2e.vs_naive",
            round(worker.rate / naive.rate, 2) if naive.rate else float("nan"),
            "x",
            VS_NAIVE_TARGET,
            baseline=round(naive.rate, 1),
            detail={"worker": details["worker"], "naive": details["naive"]},
        ),
        judged(
            "e2e.vs_passthrough",
            round(worker.rate / passthrough.rate, 3) if passthrough.rate else float("nan"),
            "x",
            VS_PASSTHROUGH_TARGET,
            baseline=round(passthrough.rate, 1),
            detail={"worker": details["worker"], "passthrough": details["passthrough"]},
        ),
    ]
    to_alert = lat.percentiles(lat.to_alert_ms)
    to_output = lat.percentiles(lat.to_output_ms)
    floor_p = floor.percentiles(floor.to_output_ms) if floor is not None else {}
    common = {
        "offered": lat.offered,
        "offered_rate": round(lat.offered_rate, 1),
        "alerts": len(lat.to_alert_ms),
        "missing_tagged": lat.missing_outputs,
        "missing_alerts": lat.missing_alerts,
        "publish_to_alert_ms": to_alert,
        "publish_to_tagged_ms": to_output,
        "passthrough_publish_to_output_ms": floor_p,
    }
    for q in (50, 95, 99):
        key = f"p{q}"
        out.append(
            judged(
                f"e2e.latency_{key}_ms",
                to_alert.get(key, float("nan")),
                "ms",
                LATENCY_TARGET if q == 99 else None,
                baseline=floor_p.get(key),
                detail=common if q == 99 else {"publish_to_tagged_ms": to_output.get(key)},
            )
        )
    half = latency.get("worker_half_capacity")
    if half is not None:
        half_alert = half.percentiles(half.to_alert_ms)
        out.append(
            Result(
                name="e2e.latency_p99_ms_at_half_capacity",
                value=half_alert.get("p99", float("nan")),
                unit="ms",
                baseline=floor_p.get("p99"),
                detail={
                    "offered_rate": round(half.offered_rate, 1),
                    "why": "the worker's capacity is below the 200 articles/s of the target: queueing, not processing",
                    "publish_to_alert_ms": half_alert,
                    "publish_to_tagged_ms": half.percentiles(half.to_output_ms),
                    "missing_tagged": half.missing_outputs,
                    "missing_alerts": half.missing_alerts,
                },
            )
        )
    out.append(
        judged(
            "e2e.latency_tagged_p99_ms",
            to_output.get("p99", float("nan")),
            "ms",
            None,
            baseline=floor_p.get("p99"),
        )
    )
    if scaled is not None and passthrough_2 is not None:
        out += [
            Result(
                name="e2e.throughput_2proc",
                value=round(scaled.rate, 1),
                unit="articles/s",
                baseline=round(worker.rate, 1),
                detail={**scaled.detail(), "baseline_is": "the worker, one process"},
            ),
            Result(
                name="e2e.scaling_2proc",
                value=round(scaled.rate / worker.rate, 2) if worker.rate else float("nan"),
                unit="x",
                baseline=round(passthrough_2.rate / passthrough.rate, 2) if passthrough.rate else None,
                detail={
                    "baseline_is": "the pass-through app's own scaling from 1 to 2 processes",
                    "worker_1": details["worker"],
                    "worker_2": scaled.detail(),
                    "passthrough_1": details["passthrough"],
                    "passthrough_2": passthrough_2.detail(),
                },
            ),
            Result(
                name="e2e.passthrough_throughput_2proc",
                value=round(passthrough_2.rate, 1),
                unit="articles/s",
                baseline=round(passthrough.rate, 1),
                detail=passthrough_2.detail(),
            ),
        ]
    batched = drains.get("worker_batched")
    if batched is not None:
        out.append(
            Result(
                name="e2e.throughput_batched",
                value=round(batched.rate, 1),
                unit="articles/s",
                baseline=round(worker.rate, 1),
                detail={
                    **batched.detail(),
                    "batch_size": BATCH_SIZE,
                    "baseline_is": "the worker, one process, one event at a time (NEWSMON_BATCH_SIZE=1)",
                },
            )
        )
    for name in ("naive", "passthrough"):
        out.append(
            Result(
                name=f"e2e.{name}_throughput",
                value=round(drains[name].rate, 1),
                unit="articles/s",
                detail=details[name],
            )
        )
    return out


def _resource_results(growth: Growth, drains: dict[str, Drain], worker: Child, scale: Scale) -> list[Result]:
    meter = ProcessMeter(worker.pid)
    peak = meter.high_water_mark() if worker.alive else 0
    measured = drains.get("worker")
    cpu = measured.cpu_per_article if measured is not None else growth.cpu_per_article
    floor = drains.get("passthrough")
    marks = f"{growth.low:,} and {growth.high:,} processed articles"
    note = (
        f"scaled down from {scale.rss_low:,}/{scale.rss_high:,}: the worker's rate could not reach them "
        f"in {scale.rss_budget_s:.0f}s"
        if growth.scaled
        else "as specified"
    )
    per_article = (growth.entries_high - growth.entries_low) / max(1, growth.high - growth.low)
    return [
        judged(
            "worker.rss_growth",
            round(growth.rss_high / growth.rss_low, 3),
            "x",
            RSS_GROWTH_TARGET,
            baseline=mb(growth.rss_low),
            detail={
                "marks": marks,
                "marks_note": note,
                "rss_low_mb": mb(growth.rss_low),
                "rss_high_mb": mb(growth.rss_high),
                "baseline_is": "RSS (MB) at the low mark",
                "seconds": round(growth.seconds, 1),
            },
        ),
        Result(name="worker.peak_rss_mb", value=mb(peak), unit="MB", detail={"source": "VmHWM of the worker"}),
        Result(
            name="worker.cpu_ms_per_article",
            value=round(cpu * 1000, 3),
            unit="ms",
            baseline=round(floor.cpu_per_article * 1000, 3) if floor is not None else None,
            detail={"baseline_is": "pass-through app, ms CPU per article", "during": "throughput drain"},
        ),
        Result(
            name="worker.state_entries",
            value=float(growth.entries_high),
            unit="entries",
            baseline=float(growth.entries_low),
            detail={
                "table": "alerted (changelog entries)",
                "baseline_is": f"entries at {growth.low:,} processed",
                "after_articles": growth.high,
                "new_entries_per_article": round(per_article, 3),
            },
        ),
        Result(
            name="worker.state_bytes",
            value=float(growth.state_bytes),
            unit="bytes",
            detail={"table": "alerted: keys + values on its changelog", "after_articles": growth.high},
        ),
    ]
