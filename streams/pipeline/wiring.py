"""The worker's agents, wired onto a Faust app.

Agent bodies are thin: decode, call the pure functions in ``agents``, send, and route
every failure to the dead-letter topic with a reason.  Nothing is acknowledged without
either its outputs or a dead-letter record having been sent.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import faust
from aiokafka.errors import KafkaError
from faust.types import TP

from agents.alerting import alert_event, dedup_key, new_alert_themes
from agents.dlq import STAGE_DECODE, STAGE_PROCESS, dead_letter
from agents.enrich import enrich
from agents.records import InvalidRecord, decode_raw_article, encode
from agents.text import for_terminal
from streams.kafka.consumers import GapReader, committed_offsets
from streams.kafka.topics import ALERTS, DLQ, RAW, TAGGED, THEMES, topic_name
from streams.pipeline.app import PARTITIONS, NewsmonApp
from streams.pipeline.progress import Progress
from streams.pipeline.themes_live import LiveThemes
from streams.settings import Settings

log = logging.getLogger("newsmon.worker")

# Seconds between checks that the consumer has not committed past unprocessed input.
AUDIT_INTERVAL = 3.0
# An agent idle this long while a partition has undelivered input gets that input again.
STALL_SECONDS = 5.0


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Pipeline:
    """What ``wire`` registered on the app: its topics, the live themes and the ``alerted`` table."""

    app: NewsmonApp
    raw: faust.TopicT
    tagged: faust.TopicT
    alerts: faust.TopicT
    dlq: faust.TopicT
    themes: LiveThemes
    alerted: Any


def wire(
    app: NewsmonApp,
    settings: Settings,
    themes: LiveThemes,
    *,
    now: Callable[[], str] = utc_now,
) -> Pipeline:
    """Register topics, the ``alerted`` table, the article agent, the progress audit and the theme watcher."""
    pipeline = declare(app, settings, themes)
    steps = ArticleSteps(pipeline, now=now)
    guard = ProgressGuard(steps)
    app.on_partitions_assigned.connect(guard.on_assigned)  # type: ignore[arg-type]
    app.timer(AUDIT_INTERVAL)(guard.audit)
    app.agent(pipeline.raw, name="process_articles")(guard.process_articles)
    app.task(ThemeWatcher(pipeline, settings, now=now).run)
    return pipeline


def declare(app: NewsmonApp, settings: Settings, themes: LiveThemes) -> Pipeline:
    """The topics and the table of the pipeline, declared on ``app``."""
    # "Already alerted" state: key "theme|article_id", value "alert_id origin".  Backed by its
    # changelog topic, so a restarted worker remembers what it has alerted.
    alerted = app.Table("alerted", default=None, partitions=PARTITIONS, key_type=str, value_type=str)
    return Pipeline(
        app=app,
        raw=app.topic(topic_name(settings, RAW), partitions=PARTITIONS),
        tagged=app.topic(topic_name(settings, TAGGED), partitions=PARTITIONS),
        alerts=app.topic(topic_name(settings, ALERTS)),
        dlq=app.topic(topic_name(settings, DLQ)),
        themes=themes,
        alerted=alerted,
    )


class ArticleSteps:
    """One raw message through the pipeline: decode, enrich, send the tagged record, send new alerts.

    ``handle`` runs the steps in order; a failing step sends a dead letter instead of
    outputs, so every message ends with outputs or a dead letter, never with nothing.
    """

    def __init__(self, pipeline: Pipeline, *, now: Callable[[], str] = utc_now) -> None:
        self.pipeline = pipeline
        self.now = now
        self.worker_name = socket.gethostname()

    async def handle(self, msg: RawMessage) -> dict[str, Any]:
        """Process one raw message: outputs or a dead letter, never nothing."""
        try:
            article = decode_raw_article(msg.value)
        except InvalidRecord as exc:
            return await self.dead_letter(msg, STAGE_DECODE, str(exc))
        try:
            record = enrich(article, self.pipeline.themes.tagger, processed_at=self.now())
        except Exception as exc:  # a bug or hostile input must not stop the stream
            return await self.dead_letter(msg, STAGE_PROCESS, f"{type(exc).__name__}: {exc}")
        await self.send_tagged(record)
        emitted = await self.send_alerts(record, msg.origin)
        return {
            "id": record["id"],
            "lang": record["lang"],
            "themes": sorted(m["theme"] for m in record["themes"]),
            "alerts": emitted,
        }

    async def dead_letter(self, msg: RawMessage, stage: str, reason: str) -> dict[str, Any]:
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
        await self.pipeline.dlq.send(key=msg.key, value=encode(record))
        return {"dlq": stage, "reason": reason}

    async def send_tagged(self, record: dict[str, Any]) -> None:
        await self.pipeline.tagged.send(key=record["id"].encode(), value=encode(record))

    async def send_alerts(self, record: dict[str, Any], origin: str) -> list[str]:
        """Alert each matched theme this article has not alerted yet; the ids of the alerts sent."""
        article_id = record["id"]
        matches = {m["theme"]: m for m in record["themes"]}
        alerted = self.pipeline.alerted
        already = already_alerted(matches, article_id, origin, alerted.get)
        emitted: list[str] = []
        for theme in new_alert_themes(matches, article_id, already):
            alert = alert_event(record, matches[theme], detected_at=self.now())
            alerted[dedup_key(theme, article_id)] = f"{alert['id']} {origin}"
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


class ProgressGuard:
    """The article agent, with the guards that keep faust-streaming from skipping input.

    Each event's offset is checked against the partition's ledger (a gap is read back and
    processed inline); every AUDIT_INTERVAL seconds the committed offsets and idle
    partitions are audited, and skipped input is fetched again.
    """

    def __init__(self, steps: ArticleSteps) -> None:
        self.steps = steps
        self.pipeline = steps.pipeline
        self.app = steps.pipeline.app
        self.progress: Progress[TP] = Progress()
        self.activity = Activity()
        self.gap_reader = GapReader(_bootstrap_of(self.app))

    async def process_articles(self, stream: faust.StreamT[bytes]) -> AsyncIterator[dict[str, Any]]:
        await self.pipeline.themes.ready.wait()
        async for event in stream.events():
            self.activity.busy = True
            message = event.message
            tp = message.tp
            expected = self.progress.expected.get(tp)
            if self.progress.observe(tp, message.offset) == "gap" and expected is not None:
                await self.fill_gap(tp, expected, message.offset)
                self.progress.advance(tp, message.offset + 1)
            result = await self.steps.handle(RawMessage.of(message))
            self.activity.busy = False
            self.activity.last_done = time.monotonic()
            yield result

    async def fill_gap(self, tp: TP, start: int, end: int) -> None:
        """Process the records in [start, end) that the stream skipped (inside the current event)."""
        records = await self.gap_reader.read(tp, start, end)
        if records:
            log.warning(
                "processing %d record(s) of %s[%s] the stream skipped (%s..%s)",
                len(records),
                tp.topic,
                tp.partition,
                start,
                end - 1,
            )
        for record in records:
            await self.steps.handle(RawMessage(tp.topic, tp.partition, record.offset, record.key, record.value))
        self.progress.advance(tp, end)

    async def on_assigned(self, _app: Any, assigned: set[TP], **_: Any) -> None:
        mine = {tp for tp in assigned if tp.topic == self.pipeline.raw.get_topic_name()}
        self.progress.on_revoked(self.progress.assigned - mine)
        try:
            committed = await committed_offsets(_bootstrap_of(self.app), self.app.conf.id, mine)
        except KafkaError as exc:  # broker unreachable: track from the first event instead
            log.warning("cannot read committed offsets (%s); tracking progress from the next event", exc)
            committed = dict.fromkeys(mine)
        self.progress.on_assigned(committed)

    async def audit(self) -> None:
        """Every few seconds, ``audit_once``; a Kafka error (broker restarting) skips the round, never the worker.

        An exception escaping a Faust timer crashes the app: during a broker outage the
        audit's admin client cannot bootstrap, and the worker used to exit with it.
        """
        try:
            await self.audit_once()
        except KafkaError as exc:
            log.warning("progress audit skipped: %s", exc)

    async def audit_once(self) -> None:
        """Has the consumer skipped input the agent never processed?  Re-deliver it.

        Two symptoms: the group's committed offset is past the agent's next expected
        offset (a skipped message was acknowledged), or the agent has been idle for a
        while although a partition's high watermark is past its next expected offset
        (fetched records were never delivered).
        """
        progress, consumer = self.progress, self.app.consumer
        if not progress.assigned:
            return
        if not self.activity.busy and time.monotonic() - self.activity.last_done > STALL_SECONDS:
            for tp in sorted(progress.assigned):
                expected = progress.expected.get(tp)
                highwater = consumer.highwater(tp)
                if expected is not None and highwater is not None and highwater > expected:
                    log.warning(
                        "%s[%s]: idle with input at %s..%s undelivered; fetching it again",
                        tp.topic, tp.partition, expected, highwater - 1,
                    )  # fmt: skip
                    await consumer.seek(tp, expected)
        committed = await committed_offsets(_bootstrap_of(self.app), self.app.conf.id, set(progress.assigned))
        for tp, (start, end) in progress.behind(committed).items():
            records = await self.gap_reader.read(tp, start, end)
            if not records:
                progress.advance(tp, end)  # nothing there (compaction or transaction markers)
                continue
            log.warning(
                "%s[%s]: %d record(s) from %s were skipped by the consumer; fetching them again",
                tp.topic,
                tp.partition,
                len(records),
                start,
            )
            await consumer.seek(tp, start)


class ThemeWatcher:
    """Follows the themes topic for the pipeline's live themes; if following fails, the worker stops."""

    def __init__(self, pipeline: Pipeline, settings: Settings, *, now: Callable[[], str] = utc_now) -> None:
        self.pipeline = pipeline
        self.topic = topic_name(settings, THEMES)
        self.now = now

    async def run(self) -> None:
        app = self.pipeline.app
        try:
            await self.pipeline.themes.follow(_bootstrap_of(app), self.topic, dlq=self.pipeline.dlq, now=self.now)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # without themes the worker must not run: stop it loudly
            log.critical("theme watcher failed: %s", exc, exc_info=True)
            await app.crash(exc)


@dataclass
class Activity:
    """Whether the article agent is inside a message, and when it last finished one."""

    busy: bool = False
    last_done: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class RawMessage:
    """The parts of an input message the handler needs (from the stream, or read back for a gap)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @property
    def origin(self) -> str:
        """Where this input record is: ``topic:partition:offset``."""
        return f"{self.topic}:{self.partition}:{self.offset}"

    @classmethod
    def of(cls, message: Any) -> RawMessage:
        return cls(message.topic, message.partition, message.offset, message.key, message.value)


def alerted_origin(value: str) -> str | None:
    """The input record that first alerted a pair (``"al-... topic:partition:offset"``); None for old entries."""
    _alert, _, origin = value.partition(" ")
    return origin or None


def _bootstrap_of(app: NewsmonApp) -> str:
    return ",".join(f"{url.host}:{url.port or 9092}" for url in app.conf.broker)
