"""The worker's agents, wired onto a Faust app.

Agent bodies are thin: decode, call the pure functions in ``agents``, send, and route
every failure to the dead-letter topic with a reason.  Nothing is acknowledged without
either its outputs or a dead-letter record having been sent.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import faust

from agents.alerting import alert_event, dedup_key, new_alert_themes
from agents.dlq import STAGE_DECODE, STAGE_PROCESS, dead_letter
from agents.enrich import enrich
from agents.records import InvalidRecord, decode_raw_article, encode
from agents.text import for_terminal
from streams.app import PARTITIONS, NewsmonApp
from streams.settings import Settings
from streams.themes_live import LiveThemes
from streams.topics import ALERTS, DLQ, RAW, TAGGED, THEMES, topic_name

log = logging.getLogger("newsmon.worker")


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class PipelineStats:
    """Counters the worker logs and the demo/bench read."""

    processed: int = 0
    dead_lettered: int = 0
    alerts: int = 0
    by_lang: Counter[str] = field(default_factory=Counter)
    by_theme: Counter[str] = field(default_factory=Counter)


@dataclass
class Pipeline:
    app: NewsmonApp
    raw: faust.TopicT
    tagged: faust.TopicT
    alerts: faust.TopicT
    dlq: faust.TopicT
    themes: LiveThemes
    alerted: Any
    stats: PipelineStats


def wire(
    app: NewsmonApp,
    settings: Settings,
    themes: LiveThemes,
    *,
    now: Callable[[], str] = utc_now,
    on_alert: Callable[[dict[str, Any]], None] | None = None,
) -> Pipeline:
    """Register topics, the ``alerted`` table, the article agent and the theme watcher on ``app``."""
    raw = app.topic(topic_name(settings, RAW), partitions=PARTITIONS)
    tagged = app.topic(topic_name(settings, TAGGED), partitions=PARTITIONS)
    alerts = app.topic(topic_name(settings, ALERTS))
    dlq = app.topic(topic_name(settings, DLQ))
    # "Already alerted" state: key "theme|article_id", value the alert id.  Backed by its
    # changelog topic, so a restarted worker remembers what it has alerted.
    alerted = app.Table("alerted", default=None, partitions=PARTITIONS, key_type=str, value_type=str)
    stats = PipelineStats()
    worker_name = socket.gethostname()

    async def send_dead_letter(event: faust.EventT, stage: str, reason: str) -> None:
        message = event.message
        record = dead_letter(
            stage=stage,
            reason=reason,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value,
            failed_at=now(),
            worker=worker_name,
        )
        stats.dead_lettered += 1
        log.warning(
            "dead-lettered %s[%s]@%s at %s: %s", message.topic, message.partition, message.offset, stage, reason
        )
        await dlq.send(key=message.key, value=encode(record))

    async def process_articles(stream: faust.StreamT[bytes]) -> AsyncIterator[dict[str, Any]]:
        await themes.ready.wait()
        async for event in stream.events():
            try:
                article = decode_raw_article(event.value)
            except InvalidRecord as exc:
                await send_dead_letter(event, STAGE_DECODE, str(exc))
                yield {"dlq": STAGE_DECODE, "reason": str(exc)}
                continue
            try:
                record = enrich(article, themes.tagger, processed_at=now())
            except Exception as exc:  # a bug or hostile input must not stop the stream
                reason = f"{type(exc).__name__}: {exc}"
                await send_dead_letter(event, STAGE_PROCESS, reason)
                yield {"dlq": STAGE_PROCESS, "reason": reason}
                continue
            article_id = record["id"]
            await tagged.send(key=article_id.encode(), value=encode(record))
            stats.processed += 1
            stats.by_lang[record["lang"]] += 1
            matches = {m["theme"]: m for m in record["themes"]}
            emitted: list[str] = []
            for theme in new_alert_themes(matches, article_id, alerted):
                alert = alert_event(record, matches[theme], detected_at=now())
                alerted[dedup_key(theme, article_id)] = alert["id"]
                await alerts.send(key=theme.encode(), value=encode(alert))
                stats.alerts += 1
                stats.by_theme[theme] += 1
                log.info(
                    "ALERT %s %s %s score=%s %r",
                    theme,
                    alert["id"],
                    article_id,
                    matches[theme]["score"],
                    for_terminal(record["title"], 120),
                )
                emitted.append(alert["id"])
                if on_alert is not None:
                    on_alert(alert)
            yield {"id": article_id, "lang": record["lang"], "themes": sorted(matches), "alerts": emitted}

    app.agent(raw, name="process_articles")(process_articles)

    async def watch_themes() -> None:
        themes_topic = topic_name(settings, THEMES)
        try:
            await themes.follow(_bootstrap_of(app), themes_topic, dlq=dlq, now=now)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # without themes the worker must not run: stop it loudly
            log.critical("theme watcher failed: %s", exc, exc_info=True)
            await app.crash(exc)

    app.task(watch_themes)
    return Pipeline(app, raw, tagged, alerts, dlq, themes, alerted, stats)


def _bootstrap_of(app: NewsmonApp) -> str:
    return ",".join(f"{url.host}:{url.port or 9092}" for url in app.conf.broker)
