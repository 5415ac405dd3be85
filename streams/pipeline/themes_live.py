"""The live theme set: the compacted topic ``news.themes`` followed by every worker.

Every worker reads the whole topic (no consumer group: each one needs every theme),
builds its tagger once it has caught up, and keeps following: a ``themes put`` or
``themes rm`` takes effect within a poll interval, without a restart.  A record that
does not validate (including the content limits of ``agents.themes.parse`` and the
whole set's pattern-byte limit) is skipped with one log line and a dead-letter entry;
the previous version of that theme stays active.  The tagger of a changed set is built
from validated themes only, in a thread (the event loop keeps serving), and replaces
the active one only once it is built.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from agents.dlq import STAGE_THEMES, dead_letter
from agents.records import InvalidRecord, decode_json, encode
from agents.text import for_terminal
from agents.themes import Tagger, Theme, ThemeFileError, theme_from_record, theme_to_record
from agents.themes.parse import check_theme_set, pattern_bytes
from streams.kafka.consumers import TopicReader, end_offsets, read_to_end
from streams.kafka.producer import make_producer

log = logging.getLogger("newsmon.themes")

POLL_MS = 500


def apply_theme_record(
    current: dict[str, Theme], key: bytes | None, value: bytes | None, sizes: dict[str, int] | None = None
) -> str | None:
    """Apply one record of the themes topic to ``current``; return a reason (one line) when it is rejected.

    A tombstone (no value) removes the theme.  The record's key must be the theme id.
    ``sizes`` caches :func:`pattern_bytes` per theme id of ``current`` (kept up to date
    here); a record that would take the set over its pattern-byte limit is rejected.
    A rejected record leaves ``current`` as it was.
    """
    if key is None:
        return "theme record without a key (the key must be the theme id)"
    theme_id = key.decode("utf-8", errors="replace")
    if sizes is None:
        sizes = {tid: pattern_bytes(t) for tid, t in current.items()}
    if value is None:
        current.pop(theme_id, None)
        sizes.pop(theme_id, None)
        return None
    try:
        theme = theme_from_record(decode_json(value))
    except ThemeFileError as exc:
        return f"theme {theme_id!r}: " + "; ".join(exc.problems)
    except InvalidRecord as exc:
        return f"theme {theme_id!r}: {exc}"
    except Exception as exc:  # no record may stop the watcher: the reason goes to the DLQ
        return f"theme {theme_id!r}: invalid record ({type(exc).__name__}: {exc})"
    if theme.id != theme_id:
        return f"theme record key {theme_id!r} does not match its id {theme.id!r}"
    size = pattern_bytes(theme)
    error = check_theme_set(sum(sizes.values()) - sizes.get(theme_id, 0) + size)
    if error:
        return f"theme {theme_id!r}: {error}"
    current[theme_id] = theme
    sizes[theme_id] = size
    return None


class LiveThemes:
    """The current themes and the tagger built from them (replaced whole on change)."""

    def __init__(self, initial: Sequence[Theme] = ()) -> None:
        self.themes: dict[str, Theme] = {t.id: t for t in initial}
        self.sizes: dict[str, int] = {t.id: pattern_bytes(t) for t in initial}
        self.tagger = Tagger(list(self.themes.values()))
        self.active: dict[str, Theme] = dict(self.themes)  # the themes self.tagger was built from
        self.ready = asyncio.Event()
        self.generation = 0
        if initial:
            self.ready.set()

    def rebuild(self) -> None:
        self.tagger = Tagger(sorted(self.themes.values(), key=lambda t: t.id))
        self.active = dict(self.themes)
        self.generation += 1

    async def rebuild_async(self) -> bool:
        """Build the tagger of the current themes in a thread and switch to it; False (and the
        previous themes and tagger kept) if building fails."""
        themes = dict(self.themes)
        try:
            tagger = await asyncio.to_thread(Tagger, sorted(themes.values(), key=lambda t: t.id))
        except Exception as exc:  # keep serving with the last good tagger
            log.error(
                "%s",
                for_terminal(
                    f"could not build the tagger ({type(exc).__name__}: {exc}); keeping the previous themes", 500
                ),
            )
            self.themes = dict(self.active)
            self.sizes = {tid: pattern_bytes(t) for tid, t in self.themes.items()}
            return False
        self.tagger = tagger
        self.active = themes
        self.generation += 1
        return True

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
        changed = False
        async with TopicReader(bootstrap, [topic], poll_ms=POLL_MS) as reader:
            async for batch in reader.batches(follow=True, stop=stop):
                for record in batch:
                    reason = apply_theme_record(self.themes, record.key, record.value, self.sizes)
                    if reason is None:
                        changed = True
                        continue
                    log.warning(
                        "%s",
                        for_terminal(
                            f"refused theme record {topic}[{record.partition}]@{record.offset}: {reason}"
                            " (the previous version of the theme stays active)",
                            1000,
                        ),
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
                if reader.caught_up and (changed or not self.ready.is_set()):
                    changed = False
                    if await self.rebuild_async():
                        log.info("themes active: %d (%s)", len(self.themes), ", ".join(sorted(self.themes)))
                    self.ready.set()


async def read_themes(bootstrap: str, topic: str, timeout: float = 30.0) -> tuple[dict[str, Theme], list[str]]:
    """The theme set on ``topic`` now, and the reasons of records that were skipped."""
    themes: dict[str, Theme] = {}
    sizes: dict[str, int] = {}
    problems: list[str] = []
    for record in await read_to_end(bootstrap, [topic], timeout=timeout):
        reason = apply_theme_record(themes, record.key, record.value, sizes)
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
    if any((await end_offsets(bootstrap, [topic])).values()):
        return False
    await publish_themes(bootstrap, topic, themes)
    log.info("seeded %s with %d themes from the theme file", topic, len(themes))
    return True
