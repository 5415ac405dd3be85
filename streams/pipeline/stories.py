"""The stories agent: enriched articles into stories, the tagged record with its story id, story alerts.

Input: ``news.articles.enriched`` (one partition, written by the article agent), through
its own :class:`streams.pipeline.delivery.DeliveryGuard`.  State: the ``stories`` table
(one partition, changelog ``<app id>-stories-changelog``), keys by prefix:

- ``s:<story id>``: the story (``agents.stories.Story`` as JSON);
- ``b:<band key>``: the story whose first article has this LSH band key;
- ``a:<article id>``: the article's story, the input record that placed it, and its role;
- ``x:<bucket>`` (a count) and ``x:<bucket>:<n>`` (a chunked list of keys, ``streams.pipeline.jsontable``): the ``s:``
  and ``a:`` keys to check when that hour leaves the window (a story is listed in the bucket of
  its latest article, an article in the bucket it was placed in and, while its story lives on,
  again in the story's latest bucket); ``x:next``: the first bucket not swept.  Appending to a
  bucket rewrites one short chunk, so the cost per article does not grow with the volume.

Every write happens inside ``processing(record)``, so it goes to the changelog partition
of the input record.  Stories with no article for ``NEWSMON_STORY_WINDOW_HOURS`` are
deleted with their band and article keys, so the table holds the stories of one window.
Time is the record's ``processed_at``: a redelivered record sees the same clock.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any

from agents.alerting import story_alert_event
from agents.dlq import STAGE_PROCESS
from agents.records import encode
from agents.stories import (
    ROLE_NEW,
    Story,
    assign,
    bucket_of,
    expired,
    new_story,
    observe,
    signature,
)
from agents.text import for_terminal
from agents.themes.model import ALERT_NEW_STORY
from agents.volume import SpikeRule
from streams.pipeline.delivery import InputRecord
from streams.pipeline.jsontable import JsonTable, loads
from streams.pipeline.metrics import METRICS
from streams.pipeline.themes_live import LiveThemes
from streams.pipeline.volume import VolumeRules, VolumeSteps

log = logging.getLogger("newsmon.worker")

BUCKET_SECONDS = 3600.0
NEXT_BUCKET = "x:next"


def epoch_of(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class StorySteps:
    """One enriched article: place it in a story, send its tagged record, send the story alerts it causes."""

    def __init__(
        self,
        *,
        table: Any,
        themes: LiveThemes,
        alerts: Any,
        send_tagged: Callable[[dict[str, Any]], Awaitable[None]],
        dead_letter: Callable[[InputRecord, str, str], Awaitable[dict[str, Any]]],
        window_hours: int,
        sources_threshold: int,
        now: Callable[[], str],
        volume: VolumeRules | None = None,
    ) -> None:
        self.table = table
        self.json = JsonTable(table)
        self.themes = themes
        self.alerts = alerts
        self.send_tagged = send_tagged
        self.dead_letter = dead_letter
        self.window = window_hours * 3600.0
        self.sources_threshold = sources_threshold
        self.now = now
        self.volume = VolumeSteps(table, volume or VolumeRules(SpikeRule()), theme_name=self._theme_name, now=now)

    def _theme_name(self, theme_id: str) -> str:
        theme = self.themes.active.get(theme_id)
        return theme.name if theme is not None else theme_id

    # ---------------------------------------------------------------- table access

    def story(self, story_id: str) -> Story | None:
        value = self.json.get(f"s:{story_id}")
        return None if value is None else Story.from_record(value)

    # ---------------------------------------------------------------- the step

    async def handle(self, msg: InputRecord) -> dict[str, Any]:
        try:
            record = loads(msg.value or b"")
            at = epoch_of(str(record["processed_at"]))
            if record.get("tick") is True:  # a worker's clock tick: only closes windows
                return {"tick": True, "alerts": await self._send(self.volume.digests(at=at, origin=msg.origin))}
            sig = signature(str(record["title"]), str(record["body"]))
        except Exception as exc:  # written by our own agent; a bug must not stop the stream
            return await self.dead_letter(msg, STAGE_PROCESS, f"{type(exc).__name__}: {exc}")
        emitted = await self._send(self.volume.digests(at=at, origin=msg.origin))
        self.sweep(at)
        article_id = str(record["id"])
        lang = str(record.get("lang", "und"))
        known = self.json.get(f"a:{article_id}")
        known_story = known["story"] if known is not None and self.json.has(f"s:{known['story']}") else None
        seen: dict[str, Story] = {}  # the candidates assign looked at, by id
        decision = assign(article_id, sig, lang, known_story=known_story, candidates=self.candidates(sig, at, seen))
        role = decision.role
        if known is not None and known_story is not None and known.get("origin") == msg.origin:
            role = known["role"]  # the same input record again: the same answer
        if decision.role == ROLE_NEW:
            story = new_story(article_id, sig, at=at)
            for band in story.bands:
                self.table[f"b:{band}"] = story.id
        else:
            found = seen.get(decision.story_id) or self.story(decision.story_id)
            assert found is not None  # assign only names live stories
            story = found
            if story.first_article == article_id and known is None:
                # the story this article opened, its article entry lost in a crash: still the opener
                role = ROLE_NEW
        before = bucket_of(story.last_seen, BUCKET_SECONDS) if decision.role != ROLE_NEW else None
        story_themes = [m["theme"] for m in record.get("themes", []) if self._mode(m["theme"]) == ALERT_NEW_STORY]
        # counted once: when it opens the story, or when it first joins it
        first_time = known is None or known.get("story") != story.id
        counted = decision.role == ROLE_NEW or (first_time and story.first_article != article_id)
        wanted = observe(
            story,
            new_article=counted,
            lang=lang,
            source=str(record.get("source", "")),
            themes=story_themes,
            origin=msg.origin,
            at=at,
            sources_threshold=self.sources_threshold,
        )
        self.json.put(f"s:{story.id}", story.as_record())
        touched = bucket_of(story.last_seen, BUCKET_SECONDS)
        listed: list[str] = []
        if known is None or known.get("story") != story.id:
            self.json.put(f"a:{article_id}", {"story": story.id, "origin": msg.origin, "role": role})
            listed.append(f"a:{article_id}")
        if touched != before:
            listed.append(f"s:{story.id}")
        self._list(touched, listed)
        tagged = {**record, "story_id": story.id, "story_role": role}
        await self.send_tagged(tagged)
        summary = {
            "story_id": story.id,
            "articles": story.articles,
            "sources": len(story.sources),
            "langs": sorted(story.langs),
        }
        events: list[dict[str, Any]] = []
        for want in wanted:
            event = story_alert_event(
                tagged,
                kind=want.kind,
                theme=want.theme,
                theme_name=self._theme_name(want.theme),
                story=summary,
                reason=want.reason,
                detected_at=self.now(),
            )
            if self.volume.admit(event, at=at, origin=msg.origin):
                events.append(event)
        matched = sorted({str(m["theme"]) for m in record.get("themes", [])})
        events += self.volume.spikes(tagged, matched, at=at, counted=known is None, origin=msg.origin)
        emitted += await self._send(events)
        return {"id": article_id, "story_id": story.id, "story_role": role, "alerts": emitted}

    async def _send(self, events: list[dict[str, Any]]) -> list[str]:
        """Send alert events to news.alerts (keyed by theme), one INFO line each; their ids."""
        for event in events:
            data = event["data"]
            METRICS.alerts.labels(data["kind"], data["theme"]).inc()
            await self.alerts.send(key=str(data["theme"]).encode(), value=encode(event))
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "ALERT %s %s %s %s %s %r",
                    data["kind"],
                    data["theme"],
                    event["id"],
                    data.get("story_id") or "-",
                    data.get("reason") or data.get("count") or "",
                    for_terminal(str(data.get("title", "")), 120),
                )
        return [str(event["id"]) for event in events]

    def _list(self, bucket: int, keys: list[str]) -> None:
        """Remember ``keys`` (``s:`` stories, ``a:`` articles) for the sweep of ``bucket``."""
        if not keys:
            return
        count = int(self.json.get(f"x:{bucket}") or 0)
        self.json.extend_chunked(f"x:{bucket}", count, keys)
        self.json.put(f"x:{bucket}", count + len(keys))

    def _take(self, bucket: int) -> list[str]:
        """The keys listed for ``bucket``, which is forgotten."""
        if not self.json.has(f"x:{bucket}"):
            return []
        keys: list[str] = self.json.drop_chunked(f"x:{bucket}")
        del self.table[f"x:{bucket}"]
        return keys

    def _mode(self, theme_id: str) -> str:
        theme = self.themes.active.get(theme_id)
        return theme.alert if theme is not None else ALERT_NEW_STORY

    def candidates(self, sig: Any, at: float, live: dict[str, Story] | None = None) -> Iterator[Story]:
        """Live stories sharing a band key with ``sig``, each once (and into ``live``, by id)."""
        seen: set[str] = set()
        for band in sig.band_keys():
            story_id = self.table.get(f"b:{band}")
            if story_id is None or story_id in seen:
                continue
            seen.add(story_id)
            story = self.story(story_id)
            if story is not None and not expired(story, now=at, window_seconds=self.window):
                if live is not None:
                    live[story_id] = story
                yield story

    def sweep(self, at: float) -> int:
        """Delete the stories that expired before ``at``, with their band and article keys; how many."""
        limit = bucket_of(at - self.window, BUCKET_SECONDS)
        start = self.json.get(NEXT_BUCKET)
        if start is None:
            self.json.put(NEXT_BUCKET, limit)
            return 0
        deleted = 0
        for bucket in range(int(start), limit):
            keys = self._take(bucket)
            for key in keys:
                if key.startswith("s:"):
                    story = self.story(key[2:])
                    if story is not None and expired(story, now=at, window_seconds=self.window):
                        for band in story.bands:
                            if self.table.get(f"b:{band}") == story.id:
                                del self.table[f"b:{band}"]
                        del self.table[key]
                        deleted += 1
            for key in keys:
                if key.startswith("a:") and (entry := self.json.get(key)) is not None:
                    story = self.story(entry["story"])
                    if story is None or expired(story, now=at, window_seconds=self.window):
                        del self.table[key]
                    else:  # its story lives on: check again when the story's latest bucket is swept
                        self._list(bucket_of(story.last_seen, BUCKET_SECONDS), [key])
        if limit > int(start):
            self.json.put(NEXT_BUCKET, limit)
        return deleted
