"""The worker's agents, wired onto a Faust app.

Agent bodies are thin: decode, call the pure functions in ``agents``, send, and route
every failure to the dead-letter topic with a reason.  Nothing is acknowledged without
either its outputs or a dead-letter record having been sent.  The agent takes its input
from ``streams.pipeline.delivery.DeliveryGuard``: input in which no record is missing.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust

from agents.alerting import alert_event, dedup_key, new_alert_themes
from agents.dlq import STAGE_DECODE, STAGE_PROCESS, dead_letter
from agents.enrich import enrich
from agents.records import InvalidRecord, decode_raw_article, encode
from agents.text import for_terminal
from agents.themes.model import ALERT_PER_ARTICLE
from agents.volume import SpikeRule
from streams.kafka.topics import ALERTS, DLQ, ENRICHED, RAW, TAGGED, THEMES, topic_name
from streams.pipeline.app import NewsmonApp
from streams.pipeline.delivery import DeliveryGuard, InputRecord, bootstrap_of, processing
from streams.pipeline.metrics import METRICS
from streams.pipeline.stories import LocalBands, StorySteps
from streams.pipeline.themes_live import LiveThemes
from streams.pipeline.volume import VolumeRules
from streams.settings import Settings

log = logging.getLogger("newsmon.worker")


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Pipeline:
    """What ``wire`` registered on the app: its topics, the live themes, the ``alerted`` and ``stories`` tables."""

    app: NewsmonApp
    raw: faust.TopicT
    tagged: faust.TopicT
    alerts: faust.TopicT
    dlq: faust.TopicT
    themes: LiveThemes
    alerted: Any
    enriched: faust.TopicT
    stories: Any


def wire(
    app: NewsmonApp,
    settings: Settings,
    themes: LiveThemes,
    *,
    now: Callable[[], str] = utc_now,
) -> Pipeline:
    """Register topics, the ``alerted`` table, the article agent, the progress audit and the theme watcher."""
    pipeline = declare(app, settings, themes, partitions=app.conf.topic_partitions)
    steps = ArticleSteps(pipeline, now=now)
    guard = DeliveryGuard(app, pipeline.raw)
    guard.install()

    async def process_articles(stream: faust.StreamT[bytes]) -> AsyncIterator[dict[str, Any]]:
        """The article agent: gap-free input from the delivery guard, each record through ``ArticleSteps``."""
        await pipeline.themes.ready.wait()
        async for batch in guard.batches(stream, settings.batch_size, settings.batch_wait_ms / 1000):
            for record in batch:
                with processing(record), METRICS.timed():
                    result = await steps.handle(record)
                yield result

    app.agent(pipeline.raw, name="process_articles")(process_articles)
    story_steps = StorySteps(
        table=pipeline.stories,
        themes=pipeline.themes,
        alerts=pipeline.alerts,
        send_tagged=steps.send_tagged,
        dead_letter=steps.dead_letter,
        window_hours=settings.story_window_hours,
        sources_threshold=settings.story_sources_threshold,
        now=now,
        volume=volume_rules(settings),
        bands=LocalBands(Path(app.conf.datadir) / "stories-bands").fresh,
    )
    story_guard = DeliveryGuard(app, pipeline.enriched)
    story_guard.install()
    app.on_partitions_assigned.connect(StoryOwnership(story_steps, pipeline.enriched.get_topic_name()).on_assigned)

    async def assign_stories(stream: faust.StreamT[bytes]) -> AsyncIterator[dict[str, Any]]:
        """The stories agent: every enriched article (one partition, gap-free) through ``StorySteps``."""
        await pipeline.themes.ready.wait()
        async for batch in story_guard.batches(stream, settings.batch_size, settings.batch_wait_ms / 1000):
            for record in batch:
                with processing(record):
                    result = await story_steps.handle(record)
                yield result

    app.agent(pipeline.enriched, name="assign_stories")(assign_stories)
    if settings.alert_budget > 0:  # ticks only serve digests: without a budget there are none
        app.timer(settings.tick_seconds)(ClockTick(pipeline.enriched, now).send)
    app.task(ThemeWatcher(pipeline, settings, now=now).run)
    return pipeline


def volume_rules(settings: Settings) -> VolumeRules:
    """Spikes and budgets as the settings say (NEWSMON_ALERT_WINDOW_SECONDS, NEWSMON_SPIKE_*, NEWSMON_ALERT_BUDGET)."""
    spike = SpikeRule(
        window_seconds=float(settings.alert_window_seconds),
        factor=settings.spike_factor,
        min_count=settings.spike_min_count,
        baseline_windows=settings.spike_baseline_windows,
    )
    return VolumeRules(spike=spike, budget=settings.alert_budget)


class StoryOwnership:
    """Drops the stories agent's index when the stories partition may have been changed by another worker.

    A partition kept across a rebalance was this worker's all along: its index stays.  One
    that arrives (or leaves) may have been processed elsewhere: the index is rebuilt from
    the restored table at the next record.
    """

    def __init__(self, steps: StorySteps, topic: str) -> None:
        self.steps = steps
        self.topic = topic
        self.owned = False

    async def on_assigned(self, _app: Any, /, *args: Any, signal: Any = None, **_: Any) -> None:
        """Faust's ``on_partitions_assigned`` signal: ``args[0]`` is the whole new assignment."""
        owns = any(tp.topic == self.topic for tp in (args[0] if args else ()))
        if not (owns and self.owned):
            self.steps.invalidate()
        self.owned = owns


class ClockTick:
    """Writes the worker's clock to the stories agent's input, so windows close without a later article."""

    def __init__(self, enriched: faust.TopicT, now: Callable[[], str]) -> None:
        self.enriched = enriched
        self.now = now

    async def send(self) -> None:
        await self.enriched.send(key=b"tick", value=encode({"tick": True, "processed_at": self.now()}))


def declare(app: NewsmonApp, settings: Settings, themes: LiveThemes, *, partitions: int) -> Pipeline:
    """The topics and the table of the pipeline, declared on ``app`` (``partitions``: of the raw topic)."""
    # "Already alerted" state: key "theme|article_id", value "alert_id origin".  Backed by its
    # changelog topic, so a restarted worker remembers what it has alerted.
    alerted = app.Table("alerted", default=None, partitions=partitions, key_type=str, value_type=str)
    # The story index (streams/pipeline/stories.py): one partition, like its input topic, so
    # every article is compared with every live story.
    stories = app.Table("stories", default=None, partitions=1, key_type=str, value_type=str)
    return Pipeline(
        app=app,
        raw=app.topic(topic_name(settings, RAW), partitions=partitions),
        tagged=app.topic(topic_name(settings, TAGGED), partitions=partitions),
        alerts=app.topic(topic_name(settings, ALERTS)),
        dlq=app.topic(topic_name(settings, DLQ)),
        themes=themes,
        alerted=alerted,
        enriched=app.topic(topic_name(settings, ENRICHED), partitions=1),
        stories=stories,
    )


class ArticleSteps:
    """One raw message through the pipeline: decode, enrich, send it on to the stories agent, send per-article alerts.

    ``handle`` runs the steps in order; a failing step sends a dead letter instead of
    outputs, so every message ends with outputs or a dead letter, never with nothing.
    """

    def __init__(self, pipeline: Pipeline, *, now: Callable[[], str] = utc_now) -> None:
        self.pipeline = pipeline
        self.now = now
        self.worker_name = socket.gethostname()

    async def handle(self, msg: InputRecord) -> dict[str, Any]:
        """Process one raw message: outputs or a dead letter, never nothing."""
        METRICS.articles_in.labels(msg.topic).inc()
        try:
            article = decode_raw_article(msg.value)
        except InvalidRecord as exc:
            return await self.dead_letter(msg, STAGE_DECODE, str(exc))
        try:
            record = enrich(article, self.pipeline.themes.tagger, processed_at=self.now())
        except Exception as exc:  # a bug or hostile input must not stop the stream
            return await self.dead_letter(msg, STAGE_PROCESS, f"{type(exc).__name__}: {exc}")
        await self.send_enriched(record)
        emitted = await self.send_alerts(record, msg.origin)
        return {
            "id": record["id"],
            "lang": record["lang"],
            "themes": sorted(m["theme"] for m in record["themes"]),
            "alerts": emitted,
        }

    async def dead_letter(self, msg: InputRecord, stage: str, reason: str) -> dict[str, Any]:
        record = dead_letter(
            stage=stage,
            reason=reason,
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            key=msg.key,
            value=msg.value,
            failed_at=self.now(),
            worker=self.worker_name,
        )
        log.warning("dead-lettered %s[%s]@%s at %s: %s", msg.topic, msg.partition, msg.offset, stage, reason)
        METRICS.dead_letters.labels(stage).inc()
        await self.pipeline.dlq.send(key=msg.key, value=encode(record))
        return {"dlq": stage, "reason": reason}

    async def send_enriched(self, record: dict[str, Any]) -> None:
        """To the stories agent, which sends the tagged record with its story id."""
        METRICS.articles_out.labels(self.pipeline.enriched.get_topic_name()).inc()
        await self.pipeline.enriched.send(key=record["id"].encode(), value=encode(record))

    async def send_tagged(self, record: dict[str, Any]) -> None:
        METRICS.articles_out.labels(self.pipeline.tagged.get_topic_name()).inc()
        await self.pipeline.tagged.send(key=record["id"].encode(), value=encode(record))

    async def send_alerts(self, record: dict[str, Any], origin: str) -> list[str]:
        """Alert each matched per-article theme this article has not alerted yet; the ids of the alerts sent.

        Themes in the default ``new_story`` mode alert from the stories agent instead.
        """
        article_id = record["id"]
        active = self.pipeline.themes.active
        matches = {
            m["theme"]: m
            for m in record["themes"]
            if (t := active.get(m["theme"])) is not None and t.alert == ALERT_PER_ARTICLE
        }
        alerted = self.pipeline.alerted
        already = already_alerted(matches, article_id, origin, alerted.get)
        emitted: list[str] = []
        for theme in new_alert_themes(matches, article_id, already):
            alert = alert_event(record, matches[theme], detected_at=self.now())
            alerted[dedup_key(theme, article_id)] = f"{alert['id']} {origin}"
            METRICS.alerts.labels(alert["data"]["kind"], theme).inc()
            await self.pipeline.alerts.send(key=theme.encode(), value=encode(alert))
            if log.isEnabledFor(logging.INFO):  # one INFO line per alert; no title clean-up when not logged
                log.info(
                    "ALERT %s %s %s score=%s %r",
                    theme,
                    alert["id"],
                    article_id,
                    matches[theme]["score"],
                    for_terminal(record["title"], 120),
                )
            emitted.append(alert["id"])
        return emitted


def already_alerted(
    matches: Mapping[str, Any], article_id: str, origin: str, lookup: Callable[[str], str | None]
) -> dict[str, str]:
    """The matched pairs that count as alerted: remembered by ``lookup``, from another input record.

    A pair remembered by *this* input record is not "already alerted": the entry may have
    reached the changelog while the alert itself was lost in a crash (nothing orders the
    two sends), and this record's redelivery is the only chance to emit it.  Consumers
    de-duplicate the repeated alert_id.  A pair remembered from another record (a replay,
    a republished article) stays suppressed.
    """
    return {
        key: value
        for key in (dedup_key(theme, article_id) for theme in matches)
        if (value := lookup(key)) is not None and alerted_origin(value) != origin
    }


class ThemeWatcher:
    """Follows the themes topic for the pipeline's live themes; if following fails, the worker stops."""

    def __init__(self, pipeline: Pipeline, settings: Settings, *, now: Callable[[], str] = utc_now) -> None:
        self.pipeline = pipeline
        self.topic = topic_name(settings, THEMES)
        self.now = now

    async def run(self) -> None:
        app = self.pipeline.app
        try:
            await self.pipeline.themes.follow(bootstrap_of(app), self.topic, dlq=self.pipeline.dlq, now=self.now)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # without themes the worker must not run: stop it loudly
            log.critical("theme watcher failed: %s", exc, exc_info=True)
            await app.crash(exc)


def alerted_origin(value: str) -> str | None:
    """The input record that first alerted a pair (``"al-... topic:partition:offset"``); None for old entries."""
    _alert, _, origin = value.partition(" ")
    return origin or None
