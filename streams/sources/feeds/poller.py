"""Polling feeds: fetch, parse, convert, de-duplicate, publish, report, schedule.

One feed's poll (:meth:`Poller.poll_feed`):

1. fetch its current URL with the conditional-GET validators it last got
   (:mod:`streams.sources.feeds.http`: timeouts, size cap, redirects, concurrency limits);
2. 304 is "not modified"; 410 marks the feed gone (never polled again); 429/503 honour
   ``Retry-After``; any other failure counts towards exponential backoff with jitter;
3. a 2xx body is parsed by feedparser in a worker thread, from the size-capped bytes
   and the response headers (feedparser never fetches anything itself).  A malformed
   ("bozo") feed that still has entries is used and its problem reported; one with no
   entries is an error for that feed only;
4. entries become raw articles (:mod:`agents.feeds.entries`); an entry any of whose
   dedup keys (or whose content hash) was published before is skipped;
5. new articles go to ``news.articles.raw`` keyed by article id, then their keys to the
   seen set, then the feed's state, then a status record to ``news.feeds.status``.

Nothing in one feed's poll can stop another's: every failure becomes that feed's
status, except a Kafka error, which stops the poller (nothing can be published then).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import feedparser
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from agents.feeds.config import FeedSpec
from agents.feeds.entries import content_hash, dedup_keys, entry_to_article, extract_main_text
from agents.feeds.schedule import feed_min_interval, next_delay, parse_retry_after
from agents.feeds.status import is_stale, poll_status, stale_event
from agents.records import RawArticle, encode
from streams.sources.feeds.http import PAGE_ACCEPT, Fetcher, FetchResult
from streams.sources.feeds.metrics import METRICS
from streams.sources.feeds.state import SEEN_REFRESH, FeedState, FeedStore, new_state

log = logging.getLogger(__name__)

OK = "ok"
NOT_MODIFIED = "not_modified"
ERROR = "error"
GONE = "gone"
STOP_GRACE = 5.0  # seconds in-flight polls get to finish after a stop request
STALE_KEY_PREFIX = "feed_stale:"  # status-topic key of feed_stale events (poll records are keyed by the feed url)
STALE_MIN_PERIOD = 24 * 3600.0  # a feed is stale after publishing nothing for max(a day, 8 poll intervals)
STALE_INTERVALS = 8

Record = tuple[bytes, bytes]


class Sink(Protocol):
    """Where articles and status records go."""

    async def publish(self, records: Sequence[Record]) -> None: ...

    async def status(self, key: str, value: Mapping[str, Any]) -> None: ...


class KafkaSink:
    """Articles to the raw topic (key: article id), status records to the status topic (key: feed url)."""

    def __init__(self, producer: AIOKafkaProducer, *, raw_topic: str, status_topic: str) -> None:
        self.producer = producer
        self.raw_topic = raw_topic
        self.status_topic = status_topic

    async def publish(self, records: Sequence[Record]) -> None:
        futures = [await self.producer.send(self.raw_topic, value, key=key) for key, value in records]
        await asyncio.gather(*futures)  # acks=all: every article is on the broker before its keys are marked seen

    async def status(self, key: str, value: Mapping[str, Any]) -> None:
        await self.producer.send(self.status_topic, encode(value), key=key.encode("utf-8"))


@dataclass
class NullSink:
    """Counts what would be published (benchmarks, dry runs)."""

    articles: int = 0
    statuses: list[dict[str, Any]] = field(default_factory=list)

    async def publish(self, records: Sequence[Record]) -> None:
        self.articles += len(records)

    async def status(self, key: str, value: Mapping[str, Any]) -> None:
        self.statuses.append(dict(value))


@dataclass(frozen=True)
class PollResult:
    """One feed's poll, as reported."""

    feed: str
    url: str
    outcome: str  # ok | not_modified | error | gone
    http_status: int | None
    entries_seen: int
    entries_published: int
    reason: str | None
    duration: float
    failures: int
    next_poll: float
    bozo: str | None = None


@dataclass(frozen=True)
class PollSummary:
    feeds: int
    ok: int
    not_modified: int
    errors: int
    entries_seen: int
    entries_published: int

    @classmethod
    def of(cls, results: Iterable[PollResult]) -> PollSummary:
        results = list(results)
        return cls(
            feeds=len(results),
            ok=sum(r.outcome == OK for r in results),
            not_modified=sum(r.outcome == NOT_MODIFIED for r in results),
            errors=sum(r.outcome in (ERROR, GONE) for r in results),
            entries_seen=sum(r.entries_seen for r in results),
            entries_published=sum(r.entries_published for r in results),
        )

    def to_json(self) -> dict[str, int]:
        return {
            "feeds": self.feeds,
            "ok": self.ok,
            "not_modified": self.not_modified,
            "errors": self.errors,
            "entries_seen": self.entries_seen,
            "entries_published": self.entries_published,
        }


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _utc(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


def expected_period(spec: FeedSpec) -> float:
    """Seconds of silence after which a feed is reported stale: max(a day, 8 poll intervals)."""
    return max(STALE_MIN_PERIOD, STALE_INTERVALS * spec.interval)


def parse_feed(body: bytes, headers: Mapping[str, str], url: str) -> Any:
    """feedparser over bytes we fetched: it reads the stream and never opens a URL."""
    response_headers = dict(headers)
    response_headers.setdefault("content-location", url)  # the base for relative links
    return feedparser.parse(io.BytesIO(body), response_headers=response_headers)


@dataclass(frozen=True)
class _Candidate:
    article: RawArticle
    keys: list[str]
    entry: Any  # the feedparser entry (to rebuild the article with its page text)


@dataclass
class _Parsed:
    articles: list[_Candidate]
    entries: int
    bozo: str | None
    feed_min: float | None
    error: str | None = None


class Poller:
    """Polls feeds with one :class:`Fetcher`, remembering state in a :class:`FeedStore`, publishing to a sink."""

    def __init__(
        self,
        store: FeedStore,
        fetcher: Fetcher,
        sink: Sink,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.sink = sink
        self.clock = clock
        self.rng = rng or random.Random()
        self._feed_mins: dict[str, float | None] = {}
        self._refresh: set[str] = set()  # seen keys to re-write (see SEEN_REFRESH)

    # ------------------------------------------------------------------ one feed

    async def poll_feed(self, spec: FeedSpec) -> PollResult:
        now = self.clock()
        state = self.store.states.get(spec.url) or new_state(spec.url)
        if state.first_polled_at is None:
            state = replace(state, first_polled_at=now)
        if state.gone:
            return await self._report(spec, state, GONE, None, 0, 0, "410 Gone earlier: not polled", 0.0, None, None)
        fetched = await self.fetcher.fetch(state.url, etag=state.etag, last_modified=state.last_modified)
        if fetched.permanent_redirect:
            state = replace(state, url=fetched.permanent_redirect)
        status = fetched.status
        retry_after: float | None = None
        if fetched.error is not None or status is None:
            return await self._failed(spec, state, fetched, fetched.error or "no response", None)
        if status == 304:
            state = replace(state, failures=0)
            return await self._report(spec, state, NOT_MODIFIED, 304, 0, 0, None, fetched.duration, None, None)
        if status == 410:
            state = replace(state, gone=True, failures=state.failures + 1)
            return await self._report(
                spec, state, GONE, 410, 0, 0, "410 Gone: polling stopped", fetched.duration, None, None
            )
        if status in (429, 503):
            retry_after = parse_retry_after(fetched.headers.get("retry-after"), now=_utc(now))
            return await self._failed(spec, state, fetched, f"HTTP {status}", retry_after)
        if not 200 <= status < 300:
            return await self._failed(spec, state, fetched, f"HTTP {status}", None)

        parsed = await asyncio.to_thread(self._parse_and_convert, spec, state.url, fetched, now)
        if parsed.error is not None:
            return await self._failed(spec, state, fetched, parsed.error, None)
        self._feed_mins[spec.url] = parsed.feed_min
        state = replace(
            state,
            etag=fetched.headers.get("etag") or None,
            last_modified=fetched.headers.get("last-modified") or None,
            failures=0,
        )
        fresh = self._reserve(parsed.articles, now)
        articles = [c.article for c in fresh]
        if spec.fetch_article:
            articles = [await self._with_page_text(spec, state.url, c, now) for c in fresh]
        try:
            await self.sink.publish([(a["id"].encode("utf-8"), encode(a)) for a in articles])
        except BaseException:
            for candidate in fresh:  # not published: another poll may try them again
                for key in candidate.keys:
                    self.store.seen.pop(key, None)
            raise
        if fresh:
            await self.store.save_seen([k for c in fresh for k in c.keys], now=now)
            state = replace(state, last_new_at=now)
        return await self._report(
            spec, state, OK, status, parsed.entries, len(fresh), parsed.bozo, fetched.duration, parsed.bozo, None
        )

    def _parse_and_convert(self, spec: FeedSpec, feed_url: str, fetched: FetchResult, now: float) -> _Parsed:
        """In a worker thread: feedparser, then entries to articles (pure code only, no shared state)."""
        try:
            result = parse_feed(fetched.body, fetched.headers, fetched.final_url)
        except Exception as exc:  # feedparser should not raise; a feed must never stop the poller
            return _Parsed([], 0, None, None, error=f"unparseable: {type(exc).__name__}: {exc}")
        bozo = None
        if result.get("bozo"):
            problem = result.get("bozo_exception")
            bozo = f"malformed feed: {type(problem).__name__}: {str(problem)[:300]}" if problem else "malformed feed"
        entries = list(result.get("entries") or [])
        if not entries and bozo:
            return _Parsed([], 0, bozo, None, error=f"{bozo} (no entries)")
        feed_meta = result.get("feed") or {}
        title = feed_meta.get("title") if isinstance(feed_meta.get("title"), str) else None
        fetched_at = iso(now)
        articles: list[_Candidate] = []
        for entry in entries:
            try:
                article = entry_to_article(entry, spec, feed_url=feed_url, feed_title=title, fetched_at=fetched_at)
                if article is None:
                    continue
                # Keys are scoped to the configured URL, which a permanent redirect does not change.
                keys = [*dedup_keys(entry, feed_url=spec.url), content_hash(article)]
            except Exception as exc:  # one strange entry costs that entry only
                log.warning("feed %s: entry skipped (%s: %s)", spec.url, type(exc).__name__, exc)
                continue
            articles.append(_Candidate(article, list(dict.fromkeys(keys)), entry))
        return _Parsed(articles, len(entries), bozo, feed_min_interval(feed_meta))

    def _reserve(self, candidates: list[_Candidate], now: float) -> list[_Candidate]:
        """The articles none of whose keys was seen, their keys marked seen at once (no await in between).

        Marking before publishing is what makes the same entry in two feeds polled at the
        same time go out once.  Keys of skipped entries that are old get re-written later
        so retention never forgets an entry a feed still carries.
        """
        seen = self.store.seen
        fresh: list[_Candidate] = []
        stale_keys: list[str] = []
        for candidate in candidates:
            known = [k for k in candidate.keys if k in seen]
            if known:
                stale_keys += [k for k in known if now - seen[k] > SEEN_REFRESH]
                continue
            for key in candidate.keys:
                seen[key] = now
            fresh.append(candidate)
        if stale_keys:
            self._refresh.update(stale_keys)
        return fresh

    async def _with_page_text(self, spec: FeedSpec, feed_url: str, candidate: _Candidate, now: float) -> RawArticle:
        """The article with its linked page's main text as body (same fetch limits), else unchanged."""
        article = candidate.article
        url = article.get("url")
        if not url:
            return article
        page = await self.fetcher.fetch(url, accept=PAGE_ACCEPT)
        if not page.ok or not page.body:
            log.info("article page %s not used: %s", url, page.error or f"HTTP {page.status}")
            return article
        html = page.body.decode(_charset(page.headers) or "utf-8", "replace")
        text = await asyncio.to_thread(extract_main_text, html, page.final_url)
        if not text or len(text) <= len(article["body"]):
            return article
        feed_meta = article.get("feed") or {}
        rebuilt = entry_to_article(
            candidate.entry,
            spec,
            feed_url=feed_url,
            feed_title=feed_meta.get("feed_title"),
            fetched_at=iso(now),
            body=text,
        )
        return rebuilt or article

    async def _failed(
        self, spec: FeedSpec, state: FeedState, fetched: FetchResult, reason: str, retry_after: float | None
    ) -> PollResult:
        state = replace(state, failures=state.failures + 1)
        return await self._report(spec, state, ERROR, fetched.status, 0, 0, reason, fetched.duration, None, retry_after)

    async def _report(
        self,
        spec: FeedSpec,
        state: FeedState,
        outcome: str,
        http_status: int | None,
        seen: int,
        published: int,
        reason: str | None,
        duration: float,
        bozo: str | None,
        retry_after: float | None,
    ) -> PollResult:
        now = self.clock()
        if outcome == GONE:
            next_poll = float("inf")
        else:
            delay = next_delay(spec.interval, self._feed_mins.get(spec.url), retry_after, state.failures, self.rng)
            next_poll = now + delay
        state = replace(state, next_poll=next_poll if next_poll != float("inf") else 0.0, updated_at=now)
        result = PollResult(
            feed=spec.url,
            url=state.url,
            outcome=outcome,
            http_status=http_status,
            entries_seen=seen,
            entries_published=published,
            reason=reason,
            duration=duration,
            failures=state.failures,
            next_poll=next_poll,
            bozo=bozo,
        )
        METRICS.record(outcome, seen=seen, published=published, duration=duration)
        refresh = sorted(self._refresh)
        self._refresh.clear()
        if refresh:
            await self.store.save_seen(refresh, now=now)
        stale = outcome != GONE and self._stale(spec, state, now)
        if stale:
            state = replace(state, stale_reported_at=now)
        await self.store.save_states([state])
        await self.sink.status(spec.url, self._status_value(spec, result, now))
        if stale:
            since = state.last_new_at if state.last_new_at is not None else state.first_polled_at
            event = stale_event(
                feed_url=spec.url,
                name=spec.name,
                last_published_at=_utc(state.last_new_at) if state.last_new_at is not None else None,
                expected_period=expected_period(spec),
                now=_utc(now),
                extra={"watched_since": iso(since) if since is not None else None},
            )
            await self.sink.status(STALE_KEY_PREFIX + spec.url, event)
        return result

    @staticmethod
    def _stale(spec: FeedSpec, state: FeedState, now: float) -> bool:
        """Silent for longer than expected, and not reported yet for this silence."""
        since = state.last_new_at if state.last_new_at is not None else state.first_polled_at
        if since is None or not is_stale(_utc(since), expected_period(spec), _utc(now)):
            return False
        return state.stale_reported_at is None or state.stale_reported_at < since

    def _status_value(self, spec: FeedSpec, result: PollResult, now: float) -> dict[str, Any]:
        return poll_status(
            feed_url=spec.url,
            name=spec.name,
            outcome=result.outcome,
            http_status=result.http_status,
            entries_seen=result.entries_seen,
            entries_published=result.entries_published,
            duration_ms=result.duration * 1000,
            consecutive_failures=result.failures,
            next_poll_at=None if result.next_poll == float("inf") else _utc(result.next_poll),
            polled_at=_utc(now),
            error=result.reason if result.outcome in (ERROR, GONE) else None,
            bozo=result.bozo is not None,
            bozo_reason=result.bozo,
            final_url=result.url if result.url != spec.url else None,
        )

    # ------------------------------------------------------------------ many feeds

    async def poll_once(self, specs: Sequence[FeedSpec]) -> list[PollResult]:
        """Every feed once, concurrently (the fetcher's limits bound how many talk at a time)."""
        return list(await asyncio.gather(*(self._guarded(spec) for spec in specs)))

    async def _guarded(self, spec: FeedSpec) -> PollResult:
        try:
            return await self.poll_feed(spec)
        except (KafkaError, asyncio.CancelledError):
            raise
        except Exception as exc:  # a bug in one feed's handling is that feed's error, reported
            log.exception("feed %s: poll failed", spec.url)
            state = self.store.states.get(spec.url) or new_state(spec.url)
            failed = FetchResult(state.url, state.url, None)
            return await self._failed(spec, state, failed, f"internal error: {type(exc).__name__}: {exc}", None)

    async def run(self, specs: Sequence[FeedSpec], stop: asyncio.Event) -> None:
        """Poll each feed whenever it is due until ``stop`` is set; in-flight polls get STOP_GRACE to finish."""
        tasks = [asyncio.create_task(self._loop(spec, stop), name=f"feed {spec.url}") for spec in specs]
        if not tasks:
            await stop.wait()
            return
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if task is not stopper and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            if not stop.is_set():
                await stop.wait()
            await asyncio.wait(tasks, timeout=STOP_GRACE)
        finally:
            for task in [*tasks, stopper]:
                task.cancel()
            await asyncio.gather(*tasks, stopper, return_exceptions=True)

    async def _loop(self, spec: FeedSpec, stop: asyncio.Event) -> None:
        while not stop.is_set():
            state = self.store.states.get(spec.url)
            if state is not None and state.gone:
                return
            delay = (state.next_poll - self.clock()) if state is not None else 0.0
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                continue
            result = await self._guarded(spec)
            log.info(
                "feed %s: %s%s, %d new",
                spec.url,
                result.outcome,
                f" ({result.reason})" if result.reason else "",
                result.entries_published,
            )


def _charset(headers: Mapping[str, str]) -> str | None:
    content_type = headers.get("content-type", "")
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip("\"' ")
            try:
                "".encode(charset)
            except LookupError:
                return None
            return charset
    return None
