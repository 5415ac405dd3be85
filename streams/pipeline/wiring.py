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
from collections.abc import AsyncIterator, Callable
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
    """Register topics, the ``alerted`` table, the article agent and the theme watcher on ``app``."""
    raw = app.topic(topic_name(settings, RAW), partitions=PARTITIONS)
    tagged = app.topic(topic_name(settings, TAGGED), partitions=PARTITIONS)
    alerts = app.topic(topic_name(settings, ALERTS))
    dlq = app.topic(topic_name(settings, DLQ))
    # "Already alerted" state: key "theme|article_id", value the alert id.  Backed by its
    # changelog topic, so a restarted worker remembers what it has alerted.
    alerted = app.Table("alerted", default=None, partitions=PARTITIONS, key_type=str, value_type=str)
    worker_name = socket.gethostname()

    progress: Progress[TP] = Progress()
    activity = Activity()
    gap_reader = GapReader(_bootstrap_of(app))

    async def send_dead_letter(msg: RawMessage, stage: str, reason: str) -> None:
        record = dead_letter(
            stage=stage,
            reason=reason,
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            key=msg.key,
            value=msg.value,
            failed_at=now(),
            worker=worker_name,
        )
        log.warning("dead-lettered %s[%s]@%s at %s: %s", msg.topic, msg.partition, msg.offset, stage, reason)
        await dlq.send(key=msg.key, value=encode(record))

    async def handle(msg: RawMessage) -> dict[str, Any]:
        """Process one raw message: outputs or a dead letter, never nothing."""
        try:
            article = decode_raw_article(msg.value)
        except InvalidRecord as exc:
            await send_dead_letter(msg, STAGE_DECODE, str(exc))
            return {"dlq": STAGE_DECODE, "reason": str(exc)}
        try:
            record = enrich(article, themes.tagger, processed_at=now())
        except Exception as exc:  # a bug or hostile input must not stop the stream
            reason = f"{type(exc).__name__}: {exc}"
            await send_dead_letter(msg, STAGE_PROCESS, reason)
            return {"dlq": STAGE_PROCESS, "reason": reason}
        article_id = record["id"]
        await tagged.send(key=article_id.encode(), value=encode(record))
        matches = {m["theme"]: m for m in record["themes"]}
        emitted: list[str] = []
        origin = msg.origin
        # A pair remembered by *this* input record is not "already alerted": the entry may have
        # reached the changelog while the alert itself was lost in a crash (nothing orders the
        # two sends), and this record's redelivery is the only chance to emit it.  Consumers
        # de-duplicate the repeated alert_id.  A pair remembered from another record (a replay,
        # a republished article) stays suppressed.
        already = {
            key: value
            for key in (dedup_key(theme, article_id) for theme in matches)
            if (value := alerted.get(key)) is not None and alerted_origin(value) != origin
        }
        for theme in new_alert_themes(matches, article_id, already):
            alert = alert_event(record, matches[theme], detected_at=now())
            alerted[dedup_key(theme, article_id)] = f"{alert['id']} {origin}"
            await alerts.send(key=theme.encode(), value=encode(alert))
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
        return {"id": article_id, "lang": record["lang"], "themes": sorted(matches), "alerts": emitted}

    async def fill_gap(tp: TP, start: int, end: int) -> None:
        """Process the records in [start, end) that the stream skipped (inside the current event)."""
        records = await gap_reader.read(tp, start, end)
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
            await handle(RawMessage(tp.topic, tp.partition, record.offset, record.key, record.value))
        progress.advance(tp, end)

    async def process_articles(stream: faust.StreamT[bytes]) -> AsyncIterator[dict[str, Any]]:
        await themes.ready.wait()
        async for event in stream.events():
            activity.busy = True
            message = event.message
            tp = message.tp
            expected = progress.expected.get(tp)
            if progress.observe(tp, message.offset) == "gap" and expected is not None:
                await fill_gap(tp, expected, message.offset)
                progress.advance(tp, message.offset + 1)
            result = await handle(RawMessage.of(message))
            activity.busy = False
            activity.last_done = time.monotonic()
            yield result

    async def on_assigned(_app: Any, assigned: set[TP], **_: Any) -> None:
        mine = {tp for tp in assigned if tp.topic == raw.get_topic_name()}
        progress.on_revoked(progress.assigned - mine)
        try:
            committed = await committed_offsets(_bootstrap_of(app), app.conf.id, mine)
        except KafkaError as exc:  # broker unreachable: track from the first event instead
            log.warning("cannot read committed offsets (%s); tracking progress from the next event", exc)
            committed = dict.fromkeys(mine)
        progress.on_assigned(committed)

    app.on_partitions_assigned.connect(on_assigned)  # type: ignore[arg-type]

    async def audit_progress() -> None:
        """Every few seconds, ``audit_once``; a Kafka error (broker restarting) skips the round, never the worker.

        An exception escaping a Faust timer crashes the app: during a broker outage the
        audit's admin client cannot bootstrap, and the worker used to exit with it.
        """
        try:
            await audit_once()
        except KafkaError as exc:
            log.warning("progress audit skipped: %s", exc)

    async def audit_once() -> None:
        """Has the consumer skipped input the agent never processed?  Re-deliver it.

        Two symptoms: the group's committed offset is past the agent's next expected
        offset (a skipped message was acknowledged), or the agent has been idle for a
        while although a partition's high watermark is past its next expected offset
        (fetched records were never delivered).
        """
        if not progress.assigned:
            return
        if not activity.busy and time.monotonic() - activity.last_done > STALL_SECONDS:
            for tp in sorted(progress.assigned):
                expected = progress.expected.get(tp)
                highwater = app.consumer.highwater(tp)
                if expected is not None and highwater is not None and highwater > expected:
                    log.warning(
                        "%s[%s]: idle with input at %s..%s undelivered; fetching it again",
                        tp.topic, tp.partition, expected, highwater - 1,
                    )  # fmt: skip
                    await app.consumer.seek(tp, expected)
        committed = await committed_offsets(_bootstrap_of(app), app.conf.id, set(progress.assigned))
        for tp, (start, end) in progress.behind(committed).items():
            records = await gap_reader.read(tp, start, end)
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
            await app.consumer.seek(tp, start)

    app.timer(AUDIT_INTERVAL)(audit_progress)

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
    return Pipeline(app, raw, tagged, alerts, dlq, themes, alerted)


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
