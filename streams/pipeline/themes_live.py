"""The live theme set: the compacted topic ``news.themes`` followed by every worker.

Every worker reads the whole topic (no consumer group: each one needs every theme),
builds its tagger once it has caught up, and keeps following: a ``themes put`` or
``themes rm`` takes effect within a poll interval, without a restart.  A record that
does not validate is skipped with a log line and a dead-letter entry; the previous
version of that theme stays active.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from agents.dlq import STAGE_THEMES, dead_letter
from agents.records import InvalidRecord, decode_json, encode
from agents.themes import Tagger, Theme, theme_from_record, theme_to_record
from streams.kafka.consumers import read_to_end, standalone_consumer, topic_partitions
from streams.kafka.producer import make_producer

log = logging.getLogger("newsmon.themes")

POLL_MS = 500


def apply_theme_record(current: dict[str, Theme], key: bytes | None, value: bytes | None) -> str | None:
    """Apply one record of the themes topic to ``current``; return a reason when it is rejected.

    A tombstone (no value) removes the theme.  The record's key must be the theme id.
    """
    if key is None:
        return "theme record without a key (the key must be the theme id)"
    theme_id = key.decode("utf-8", errors="replace")
    if value is None:
        current.pop(theme_id, None)
        return None
    try:
        theme = theme_from_record(decode_json(value))
    except (InvalidRecord, ValueError) as exc:
        return f"theme {theme_id!r}: {exc}"
    if theme.id != theme_id:
        return f"theme record key {theme_id!r} does not match its id {theme.id!r}"
    current[theme_id] = theme
    return None


class LiveThemes:
    """The current themes and the tagger built from them (replaced whole on change)."""

    def __init__(self, initial: Sequence[Theme] = ()) -> None:
        self.themes: dict[str, Theme] = {t.id: t for t in initial}
        self.tagger = Tagger(list(self.themes.values()))
        self.ready = asyncio.Event()
        self.generation = 0
        if initial:
            self.ready.set()

    def rebuild(self) -> None:
        self.tagger = Tagger(sorted(self.themes.values(), key=lambda t: t.id))
        self.generation += 1

    async def follow(
        self,
        bootstrap: str,
        topic: str,
        *,
        dlq: Any = None,
        now: Callable[[], str],
        stop: asyncio.Event | None = None,
    ) -> None:
        """Read ``topic`` from the beginning, then keep applying changes until cancelled."""
        consumer = standalone_consumer(bootstrap)
        await consumer.start()
        try:
            tps = await topic_partitions(bootstrap, [topic])
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            caught_up = all(end[tp] == 0 for tp in tps)
            changed = False
            while stop is None or not stop.is_set():
                batch = await consumer.getmany(*tps, timeout_ms=POLL_MS)
                for records in batch.values():
                    for record in records:
                        reason = apply_theme_record(self.themes, record.key, record.value)
                        if reason is None:
                            changed = True
                            continue
                        log.warning(
                            "skipped bad theme record at %s[%s]@%s: %s", topic, record.partition, record.offset, reason
                        )
                        if dlq is not None:
                            letter = dead_letter(
                                stage=STAGE_THEMES,
                                reason=reason,
                                topic=topic,
                                partition=record.partition,
                                offset=record.offset,
                                key=record.key,
                                value=record.value,
                                failed_at=now(),
                            )
                            await dlq.send(key=record.key, value=encode(letter))
                if not caught_up:
                    positions = {tp: await consumer.position(tp) for tp in tps}
                    caught_up = all(positions[tp] >= end[tp] for tp in tps)
                if caught_up and (changed or not self.ready.is_set()):
                    self.rebuild()
                    changed = False
                    log.info("themes active: %d (%s)", len(self.themes), ", ".join(sorted(self.themes)))
                    self.ready.set()
        finally:
            await consumer.stop()


async def read_themes(bootstrap: str, topic: str, timeout: float = 30.0) -> tuple[dict[str, Theme], list[str]]:
    """The theme set on ``topic`` now, and the reasons of records that were skipped."""
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    for record in await read_to_end(bootstrap, [topic], timeout=timeout):
        reason = apply_theme_record(themes, record.key, record.value)
        if reason:
            problems.append(f"offset {record.offset}: {reason}")
    return themes, problems


async def publish_themes(bootstrap: str, topic: str, themes: Sequence[Theme], removed: Sequence[str] = ()) -> None:
    """Put (or, for ``removed`` ids, tombstone) theme records, waiting for every acknowledgement."""
    producer: AIOKafkaProducer = make_producer(bootstrap)
    async with producer:
        futures = [await producer.send(topic, key=t.id.encode(), value=encode(theme_to_record(t))) for t in themes]
        futures += [await producer.send(topic, key=theme_id.encode(), value=None) for theme_id in removed]
        await asyncio.gather(*futures)


async def seed_if_empty(bootstrap: str, topic: str, themes: Sequence[Theme]) -> bool:
    """Publish ``themes`` when the topic holds nothing yet (first start).  True when it seeded."""
    consumer = standalone_consumer(bootstrap)
    await consumer.start()
    try:
        tps = await topic_partitions(bootstrap, [topic])
        end = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    if any(end.values()):
        return False
    await publish_themes(bootstrap, topic, themes)
    log.info("seeded %s with %d themes from the theme file", topic, len(themes))
    return True
