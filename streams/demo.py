"""``newsmon demo``: broker (if needed) + worker process + seed replay, alerts printed as they arrive.

The demo is a client like any other: it starts ``newsmon worker`` as a subprocess,
publishes the seeds to ``news.articles.raw``, and watches ``news.articles.tagged``,
``news.dlq`` and ``news.alerts`` until every replayed article has been processed and
every alert it implies is on ``news.alerts``.  Then it prints a summary and stops what
it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka.structs import TopicPartition

from agents.alerting import format_alert_line
from agents.records import RawArticle, decode_json
from agents.stories import ROLE_NEW
from agents.themes import load_theme_file
from streams.kafka.consumers import end_offsets, standalone_consumer, topic_partitions
from streams.kafka.topics import ALERTS, DLQ, TAGGED, topic_name
from streams.pipeline.worker import prepare
from streams.processes import Deployment, worker_child
from streams.settings import Settings


@dataclass
class DemoSummary:
    articles: int = 0
    processed: int = 0
    dead_lettered: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    new_alerts: Counter[str] = field(default_factory=Counter)
    earlier_alerts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [
            f"articles replayed: {self.articles}; processed: {self.processed}; dead-lettered: {self.dead_lettered}",
            "languages: " + (", ".join(f"{k}={v}" for k, v in sorted(self.languages.items())) or "none"),
        ]
        themes = sorted(set(self.new_alerts) | set(self.earlier_alerts))
        if not themes:
            out.append("alerts: none")
        for theme in themes:
            earlier = self.earlier_alerts[theme]
            note = f" (+{earlier} already emitted by an earlier run)" if earlier else ""
            out.append(f"alerts {theme}: {self.new_alerts[theme]} new{note}")
        out.append(f"done in {self.seconds:.1f}s")
        return out


async def watch(
    settings: Settings,
    bootstrap: str,
    articles: Sequence[RawArticle],
    start: dict[TopicPartition, int],
    *,
    say: Callable[[str], None],
    worker_alive: Callable[[], bool],
    timeout: float,
) -> DemoSummary:
    """Follow tagged/dlq/alerts from ``start`` until every article and implied alert is accounted for."""
    summary = DemoSummary(articles=len(articles))
    ids = {a["id"] for a in articles}
    pending = set(ids)
    # (theme, article id) pairs that must alert: every theme of an article that opened its story
    # (new_story or theme_match alerts name it); a copy joining a story may alert nothing.
    expected: set[tuple[str, str]] = set()
    seen_pairs: set[tuple[str, str]] = set()
    seen_alerts: set[str] = set()
    tagged_t, dlq_t, alerts_t = (topic_name(settings, t) for t in (TAGGED, DLQ, ALERTS))
    consumer = standalone_consumer(bootstrap)
    await consumer.start()
    try:
        tps = await topic_partitions(bootstrap, [tagged_t, dlq_t, alerts_t])
        consumer.assign(tps)
        for tp in tps:
            if tp.topic == alerts_t:
                consumer.seek(tp, 0)  # earlier runs' alerts for these articles count too (de-duplicated)
            else:
                consumer.seek(tp, start.get(tp, 0))
        deadline = time.monotonic() + timeout
        while pending or not expected <= seen_pairs:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"after {timeout:.0f}s: {len(pending)} article(s) not processed, "
                    f"{len(expected - seen_pairs)} alert(s) not seen"
                )
            if not worker_alive():
                raise RuntimeError("the worker exited before the replay was processed")
            batch = await consumer.getmany(timeout_ms=300)
            for tp, records in batch.items():
                for record in records:
                    value = _json(record.value)
                    if value is None:
                        continue
                    if tp.topic == tagged_t and value.get("id") in pending:
                        pending.discard(value["id"])
                        summary.processed += 1
                        summary.languages[str(value.get("lang"))] += 1
                        if value.get("story_role", ROLE_NEW) == ROLE_NEW:
                            expected |= {(str(m["theme"]), str(value["id"])) for m in value.get("themes", [])}
                    elif tp.topic == dlq_t and record.key and record.key.decode(errors="replace") in pending:
                        pending.discard(record.key.decode())
                        summary.dead_lettered += 1
                    elif tp.topic == alerts_t:
                        data = value.get("data") or {}
                        if data.get("article_id") not in ids or value.get("id") in seen_alerts:
                            continue
                        seen_alerts.add(str(value.get("id")))
                        seen_pairs.add((str(data.get("theme")), str(data.get("article_id"))))
                        fresh = record.offset >= start.get(tp, 0)
                        (summary.new_alerts if fresh else summary.earlier_alerts)[str(data.get("theme"))] += 1
                        say(("ALERT " if fresh else "ALERT (earlier run) ") + format_alert_line(value))
    finally:
        await consumer.stop()
    return summary


def _json(value: bytes | None) -> dict[str, Any] | None:
    try:
        decoded = decode_json(value)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


async def run_demo(
    settings: Settings,
    bootstrap: str,
    articles: Sequence[RawArticle],
    *,
    publish: Callable[[str, Sequence[RawArticle]], Any],
    say: Callable[[str], None],
    timeout: float,
    app_id: str = "newsmon",
) -> DemoSummary:
    began = time.monotonic()
    themes = load_theme_file(settings.themes_file)
    await prepare(settings, bootstrap, themes)
    start = await end_offsets(bootstrap, [topic_name(settings, t) for t in (TAGGED, DLQ, ALERTS)])
    log_path = settings.state_dir / "demo-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    say(f"starting worker (log: {log_path})")
    deployment = Deployment(bootstrap, settings.topic_prefix, app_id, settings.state_dir, settings.themes_file)
    worker = worker_child(deployment, log_path).start()
    try:
        say(f"replaying {len(articles)} article(s)")
        await publish(bootstrap, articles)
        summary = await watch(
            settings,
            bootstrap,
            articles,
            start,
            say=say,
            worker_alive=lambda: worker.alive,
            timeout=timeout,
        )
    finally:
        with contextlib.suppress(Exception):
            code = await asyncio.to_thread(worker.stop)
            say(f"worker stopped (exit code {code})")
    summary.seconds = time.monotonic() - began
    return summary
