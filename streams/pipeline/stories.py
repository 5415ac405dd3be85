"""The stories agent: enriched articles into stories, the tagged record with its story id, story alerts.

Input: ``news.articles.enriched`` (one partition, written by the article agent), through
its own :class:`streams.pipeline.delivery.DeliveryGuard`.  State: the ``stories`` table
(one partition, changelog ``<app id>-stories-changelog``), keys by prefix:

- ``s:<story id>``: the story (``agents.stories.Story`` as JSON, with its signature);
- ``a:<article id>``: the article's story, the input record that placed it, and its role;
- ``v:``, ``g:``: coverage counts and alert budgets (``streams.pipeline.volume``).

The lookups, which story has an LSH band key, which stories leave the window in which
hour, which articles belong to a story, are an :class:`agents.storyindex.StoryIndex`
derived from the ``s:`` and ``a:`` entries, outside the table: no changelog record per band
key.  It is built from the table at the first record the agent handles, and again after
the stories partition comes back to this worker (``invalidate``).  The worker keeps its
band map in a local RocksDB store (:class:`LocalBands`), rebuilt each time.

Every write happens inside ``processing(record)``, so it goes to the changelog partition
of the input record.  Stories with no article for ``NEWSMON_STORY_WINDOW_HOURS`` are
deleted with their article entries, so the table holds the stories of one window.
Time is the record's ``processed_at``: a redelivered record sees the same clock.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from datetime import datetime
from pathlib import Path
from typing import Any

from rocksdict import BlockBasedOptions, Cache, Options, Rdict, WriteBatch, WriteOptions

from agents.alerting import story_alert_event
from agents.dlq import STAGE_PROCESS
from agents.records import encode
from agents.stories import (
    ROLE_NEW,
    Signature,
    Story,
    assign,
    bucket_of,
    expired,
    new_story,
    observe,
    signature,
)
from agents.storyindex import StoryIndex
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
LEGACY_PREFIXES = ("b:", "x:")  # band and expiry-list keys of the table before the index left it
YIELD_EVERY = 2000  # table entries read between two yields to the event loop while rebuilding the index


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
        bands: Callable[[], MutableMapping[str, str]] = dict,
    ) -> None:
        """``bands``: makes an empty band map for each build of the index (a dict by default)."""
        self.table = table
        self._new_bands = bands
        self.index: StoryIndex | None = None
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
        index = self.index or await self.rebuild()
        self.sweep(at, index)
        article_id = str(record["id"])
        lang = str(record.get("lang", "und"))
        known = self.json.get(f"a:{article_id}")
        known_story = known["story"] if known is not None and self.json.has(f"s:{known['story']}") else None
        seen: dict[str, Story] = {}  # the candidates assign looked at, by id
        decision = assign(
            article_id, sig, lang, known_story=known_story, candidates=self.candidates(sig, at, index, seen)
        )
        role = decision.role
        if known is not None and known_story is not None and known.get("origin") == msg.origin:
            role = known["role"]  # the same input record again: the same answer
        if decision.role == ROLE_NEW:
            story = new_story(article_id, sig, at=at)
            index.add_story(story.id, sig.band_keys(), bucket_of(at, BUCKET_SECONDS))
        else:
            found = seen.get(decision.story_id) or self.story(decision.story_id)
            assert found is not None  # assign only names live stories
            story = found
            if story.first_article == article_id and known is None:
                # the story this article opened, its article entry lost in a crash: still the opener
                role = ROLE_NEW
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
        index.touch(story.id, bucket_of(story.last_seen, BUCKET_SECONDS))
        if known is None or known.get("story") != story.id:
            self.json.put(f"a:{article_id}", {"story": story.id, "origin": msg.origin, "role": role})
            index.add_article(story.id, article_id)
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

    def _mode(self, theme_id: str) -> str:
        theme = self.themes.active.get(theme_id)
        return theme.alert if theme is not None else ALERT_NEW_STORY

    def candidates(self, sig: Signature, at: float, index: StoryIndex, live: dict[str, Story]) -> Iterator[Story]:
        """Live stories sharing a band key with ``sig`` in ``index``, each once (and into ``live``, by id)."""
        for story_id in index.candidates(sig.band_keys()):
            story = self.story(story_id)
            if story is not None and not expired(story, now=at, window_seconds=self.window):
                live[story_id] = story
                yield story

    def sweep(self, at: float, index: StoryIndex) -> int:
        """Delete the stories that expired before the hour of ``at - window``, with their article entries; how many."""
        deleted = 0
        for story_id in index.due(bucket_of(at - self.window, BUCKET_SECONDS)):
            story = self.story(story_id)
            if story is not None and not expired(story, now=at, window_seconds=self.window):
                index.touch(story_id, bucket_of(story.last_seen, BUCKET_SECONDS))  # not due after all
                continue
            if story is not None:
                del self.table[f"s:{story_id}"]
                deleted += 1
            for article_id in index.remove(story_id, story.signature.band_keys() if story is not None else ()):
                entry = self.json.get(f"a:{article_id}")
                if entry is not None and entry.get("story") == story_id:
                    del self.table[f"a:{article_id}"]
        return deleted

    # ---------------------------------------------------------------- the index

    def invalidate(self) -> None:
        """The table may have changed elsewhere (the stories partition moved): rebuild the index at the next record."""
        self.index = None

    async def rebuild(self) -> StoryIndex:
        """The index from the table's ``s:`` and ``a:`` entries; article entries of no story, and legacy keys, go."""
        started = time.monotonic()
        index = StoryIndex(self._new_bands())
        placed: list[tuple[str, str]] = []
        stale: list[str] = []
        for n, (key, value) in enumerate(self.table.items(), 1):
            if key.startswith("s:"):
                record = loads(value)
                sig = Signature.from_record(record["signature"])
                index.add_story(key[2:], sig.band_keys(), bucket_of(float(record["last_seen"]), BUCKET_SECONDS))
            elif key.startswith("a:"):
                placed.append((key[2:], str(loads(value)["story"])))
            elif key.startswith(LEGACY_PREFIXES):
                stale.append(key)
            if n % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # a large table: let heartbeats and other agents run
        members: dict[str, list[str]] = {}
        for article_id, story_id in placed:
            if story_id in index.bucket_of:
                members.setdefault(story_id, []).append(article_id)
            else:
                stale.append(f"a:{article_id}")
        index.add_articles(members)
        for key in stale:
            del self.table[key]
        log.info(
            "story index built from the table: %d stories, %d articles, %d stale entries deleted, %.2f s",
            len(index), len(placed), len(stale), time.monotonic() - started,
        )  # fmt: skip
        self.index = index
        return index


class LocalBands(MutableMapping[str, str]):
    """The index's band map in a local RocksDB store at ``path``: derived data, so no write-ahead log,
    and an empty store at each :meth:`fresh` (the index is rebuilt from the table)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: Rdict | None = None

    def fresh(self) -> LocalBands:
        self.close()
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Memory stays small (RocksDB's defaults kept about 1.1 KB per story in memory): two 2 MiB
        # write buffers, a 4 MiB cache of data blocks, and each file's Bloom filter and index, held
        # by the open file (about 50 bytes per story). Filters kept in the small cache instead were
        # evicted and read again on most lookups: 24 missing keys took 0.3 ms at 60,000 stories and
        # 0.8 ms at 200,000, against 0.09 ms held (and less memory, as the cache stopped churning).
        options = Options()
        options.create_if_missing(True)
        options.set_write_buffer_size(2 * 2**20)
        options.set_max_write_buffer_number(2)
        table = BlockBasedOptions()
        table.set_bloom_filter(10, False)  # most lookups miss (a new article's bands): answered without reading files
        table.set_block_cache(Cache(4 * 2**20))
        table.set_cache_index_and_filter_blocks(False)
        options.set_block_based_table_factory(table)
        db = Rdict(str(self.path), options)
        no_wal = WriteOptions()
        no_wal.disable_wal = True  # type: ignore[method-assign,assignment]  # a property at run time; the stub says method
        db.set_write_options(no_wal)
        self._db = db
        return self

    def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()

    @property
    def db(self) -> Rdict:
        if self._db is None:
            raise RuntimeError("LocalBands used before fresh()")
        return self._db

    def __getitem__(self, key: str) -> str:
        value = self.db.get(key)
        if value is None:
            raise KeyError(key)
        return str(value)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.db.get(key)
        return default if value is None else value

    def get_many(self, keys: list[str]) -> list[str | None]:
        wanted: list[str | int | float | bytes | bool] = list(keys)
        return list(self.db.get(wanted) or [])

    def put_many(self, items: Mapping[str, str]) -> None:
        batch = WriteBatch()
        for key, value in items.items():
            batch.put(key, value)
        self.db.write(batch)

    def __setitem__(self, key: str, value: str) -> None:
        self.db[key] = value

    def __delitem__(self, key: str) -> None:
        del self.db[key]

    def __iter__(self) -> Iterator[str]:
        return (str(key) for key in self.db.keys())  # noqa: SIM118 (an Rdict iterates its items)

    def __len__(self) -> int:
        return sum(1 for _ in self)
