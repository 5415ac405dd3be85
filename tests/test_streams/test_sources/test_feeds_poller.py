"""The feed poller against a real HTTP server on loopback: politeness, limits, hostile input, dedup.

No Kafka here: the state lives in a MemoryFeedStore and articles go to a recording sink;
the Kafka-backed store and sink are covered by test_feeds_kafka.py.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import uuid
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from aiohttp import web
from feeds_support import never_answers, rss, serve, static

from agents.feeds.config import FeedSpec
from streams.sources.feeds.http import Fetcher, FetchLimits, user_agent
from streams.sources.feeds.poller import ERROR, GONE, NOT_MODIFIED, OK, Poller, PollSummary
from streams.sources.feeds.state import MemoryFeedStore

LIMITS = FetchLimits(connect_timeout=2.0, read_timeout=0.5, total_timeout=5.0, max_bytes=1024 * 1024)
ITEMS = [
    ("g1", "Denmark answers the US on Greenland", "Copenhagen rejected the proposal."),
    ("g2", "NATO ministers meet", "Article 5 was discussed."),
]


class RecordingSink:
    def __init__(self) -> None:
        self.articles: list[dict[str, Any]] = []
        self.statuses: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, records: Sequence[tuple[bytes, bytes]]) -> None:
        for key, value in records:
            article = json.loads(value)
            assert article["id"] == key.decode()
            self.articles.append(article)

    async def status(self, key: str, value: Mapping[str, Any]) -> None:
        self.statuses.append((key, dict(value)))


def poller(fetcher: Fetcher, store: MemoryFeedStore | None = None) -> tuple[Poller, RecordingSink]:
    sink = RecordingSink()
    return Poller(store or MemoryFeedStore(), fetcher, sink), sink


async def test_etag_then_304_publishes_nothing_the_second_time() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(body=rss(ITEMS), content_type="application/rss+xml", headers={"ETag": '"v1"'})

    async with serve({"/feed": handler}) as server, Fetcher(LIMITS) as fetcher:
        poll, sink = poller(fetcher)
        spec = FeedSpec(server.url("/feed"))
        first = await poll.poll_feed(spec)
        assert (first.outcome, first.entries_published) == (OK, 2)
        second = await poll.poll_feed(spec)
        assert (second.outcome, second.http_status, second.entries_published) == (NOT_MODIFIED, 304, 0)
    sent = server.seen("/feed")
    assert "If-None-Match" not in sent[0]
    assert sent[1]["If-None-Match"] == '"v1"'
    assert len(sink.articles) == 2
    assert all(headers["User-Agent"] == user_agent() for headers in sent)
    assert user_agent().startswith("newsmon/")
    statuses = [value for _, value in sink.statuses]
    assert [s["outcome"] for s in statuses] == ["ok", "not_modified"]


async def test_last_modified_is_sent_back_as_if_modified_since() -> None:
    stamp = "Thu, 01 Jan 2026 00:00:00 GMT"

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-Modified-Since") == stamp:
            return web.Response(status=304)
        return web.Response(body=rss(ITEMS), content_type="application/rss+xml", headers={"Last-Modified": stamp})

    async with serve({"/feed": handler}) as server, Fetcher(LIMITS) as fetcher:
        poll, sink = poller(fetcher)
        spec = FeedSpec(server.url("/feed"))
        assert (await poll.poll_feed(spec)).outcome == OK
        assert (await poll.poll_feed(spec)).outcome == NOT_MODIFIED
    assert server.seen("/feed")[1]["If-Modified-Since"] == stamp
    assert len(sink.articles) == 2


async def test_429_retry_after_sets_the_next_poll() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=429, headers={"Retry-After": "7200"})

    async with serve({"/feed": handler}) as server, Fetcher(LIMITS) as fetcher:
        poll, _ = poller(fetcher)
        before = time.time()
        result = await poll.poll_feed(FeedSpec(server.url("/feed"), interval=900))
    assert result.outcome == ERROR
    assert result.http_status == 429
    assert result.reason == "HTTP 429"
    assert result.next_poll >= before + 7200


async def test_500_then_recovery_resets_the_failures() -> None:
    calls = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.Response(status=500, text="boom")
        return web.Response(body=rss(ITEMS), content_type="application/rss+xml")

    async with serve({"/feed": handler}) as server, Fetcher(LIMITS) as fetcher:
        poll, sink = poller(fetcher)
        spec = FeedSpec(server.url("/feed"))
        failed = await poll.poll_feed(spec)
        assert (failed.outcome, failed.http_status, failed.failures) == (ERROR, 500, 1)
        assert poll.store.states[spec.url].failures == 1
        recovered = await poll.poll_feed(spec)
    assert (recovered.outcome, recovered.failures, recovered.entries_published) == (OK, 0, 2)
    assert [s["consecutive_failures"] for _, s in sink.statuses] == [1, 0]


async def test_a_server_that_never_answers_times_out_and_delays_no_other_feed() -> None:
    finished: list[str] = []
    async with (
        serve({"/hang": never_answers}) as slow,
        serve({f"/f{i}": static(rss([(f"x{i}", f"Story {i}", "text")])) for i in range(5)}) as fast,
        Fetcher(LIMITS) as fetcher,
    ):
        poll, sink = poller(fetcher)
        specs = [FeedSpec(slow.url("/hang")), *(FeedSpec(fast.url(f"/f{i}")) for i in range(5))]

        async def one(spec: FeedSpec) -> None:
            result = await poll.poll_feed(spec)
            finished.append(result.outcome)

        await asyncio.gather(*(one(spec) for spec in specs))
    assert finished[-1] == ERROR, "the hanging feed finishes last"
    assert finished[:-1] == [OK] * 5, "every other feed finished before the hanging one timed out"
    hung = poll.store.states[specs[0].url]
    assert hung.failures == 1
    reasons = [s["error"] for k, s in sink.statuses if k == specs[0].url]
    assert reasons
    assert "timeout" in reasons[0]
    assert len(sink.articles) == 5


async def test_a_50_mb_response_is_cut_at_the_cap_while_streaming() -> None:
    chunk = b"<!-- " + b"x" * (64 * 1024 - 9) + b" -->"
    sent = 0

    async def huge(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        try:
            for _ in range(800):  # 50 MiB, generated chunk by chunk
                await response.write(chunk)
                sent += len(chunk)
        except (ConnectionResetError, RuntimeError):
            pass
        return response

    async with serve({"/huge": huge}) as server, Fetcher(LIMITS) as fetcher:
        poll, sink = poller(fetcher)
        result = await poll.poll_feed(FeedSpec(server.url("/huge")))
    assert result.outcome == ERROR
    assert result.reason is not None
    assert "larger than 1048576 bytes" in result.reason
    assert sent < 50 * 1024 * 1024, "the download was aborted, not read to the end"
    assert sink.articles == []


async def test_a_gzip_bomb_is_cut_at_the_cap_after_decompression() -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\0" * (1024 * 1024)
    bomb = b"".join(packer.compress(zeros) for _ in range(50)) + packer.flush()  # 50 MiB inflated
    assert len(bomb) < 200 * 1024

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})

    async with serve({"/bomb": handler}) as server, Fetcher(LIMITS) as fetcher:
        result = await fetcher.fetch(server.url("/bomb"))
    assert result.error is not None
    assert "larger than" in result.error
    assert result.body == b""


async def test_gzip_and_deflate_bodies_are_decoded() -> None:
    body = rss(ITEMS)

    async def gz(request: web.Request) -> web.StreamResponse:
        return web.Response(body=gzip.compress(body), headers={"Content-Encoding": "gzip"})

    async def deflate(request: web.Request) -> web.StreamResponse:
        return web.Response(body=zlib.compress(body), headers={"Content-Encoding": "deflate"})

    async def raw_deflate(request: web.Request) -> web.StreamResponse:
        packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        return web.Response(body=packer.compress(body) + packer.flush(), headers={"Content-Encoding": "deflate"})

    async with serve({"/gz": gz, "/deflate": deflate, "/raw": raw_deflate}) as server, Fetcher(LIMITS) as fetcher:
        for path in ("/gz", "/deflate", "/raw"):
            result = await fetcher.fetch(server.url(path))
            assert (result.error, result.body) == (None, body), path
        poll, _ = poller(fetcher)
        assert (await poll.poll_feed(FeedSpec(server.url("/gz")))).entries_published == 2
    assert "gzip" in server.seen("/gz")[0]["Accept-Encoding"]


async def test_a_redirect_loop_is_an_error_and_a_permanent_redirect_moves_the_feed() -> None:
    async def to_b(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/b")

    async def to_a(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/a")

    async def moved(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMovedPermanently("/new")

    async with (
        serve({"/a": to_b, "/b": to_a, "/old": moved, "/new": static(rss(ITEMS))}) as server,
        Fetcher(LIMITS) as fetcher,
    ):
        poll, _ = poller(fetcher)
        loop = await poll.poll_feed(FeedSpec(server.url("/a")))
        assert (loop.outcome, loop.reason) == (ERROR, "redirect loop")
        spec = FeedSpec(server.url("/old"))
        first = await poll.poll_feed(spec)
        assert first.outcome == OK
        assert poll.store.states[spec.url].url == server.url("/new")
        await poll.poll_feed(spec)
    assert len(server.seen("/old")) == 1, "after a 301 the new URL is polled directly"
    assert len(server.seen("/new")) == 2


async def test_410_gone_stops_polling() -> None:
    async with serve({"/gone": static(b"", status=410)}) as server, Fetcher(LIMITS) as fetcher:
        poll, sink = poller(fetcher)
        spec = FeedSpec(server.url("/gone"))
        first = await poll.poll_feed(spec)
        second = await poll.poll_feed(spec)
    assert (first.outcome, first.http_status) == (GONE, 410)
    assert poll.store.states[spec.url].gone
    assert second.outcome == GONE
    assert len(server.seen("/gone")) == 1
    assert [s["outcome"] for _, s in sink.statuses] == ["gone", "gone"]
    assert PollSummary.of([first]).errors == 1


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
 <!ENTITY ext SYSTEM "file:///etc/passwd">
]>
<rss version="2.0"><channel><title>laughs</title>
<item><title>&lol9;</title><description>&ext; &lol9;</description><link>https://news.example/lol</link></item>
</channel></rss>"""


async def test_an_entity_expansion_document_is_harmless() -> None:
    async with serve({"/lol": static(BILLION_LAUGHS)}) as server, Fetcher(LIMITS) as fetcher:
        poll, sink = poller(fetcher)
        result = await poll.poll_feed(FeedSpec(server.url("/lol")))
    assert result.outcome in (OK, ERROR)
    assert result.reason is not None, "the malformed document is reported"
    for article in sink.articles:
        assert len(article["title"]) + len(article["body"]) < 10_000, "no entity was expanded"
        assert "root:" not in article["body"], "no external entity was resolved"


async def test_guids_that_change_on_every_poll_are_published_once() -> None:
    async def churn(request: web.Request) -> web.StreamResponse:
        items = [(uuid.uuid4().hex, title, body) for _, title, body in ITEMS]
        document = rss(items).replace(b"https://news.example/", b"https://news.example/" + uuid.uuid4().hex.encode())
        return web.Response(body=document, content_type="application/rss+xml")

    async with serve({"/churn": churn}) as server, Fetcher(LIMITS) as fetcher:
        poll, _ = poller(fetcher)
        spec = FeedSpec(server.url("/churn"))
        first = await poll.poll_feed(spec)
        second = await poll.poll_feed(spec)
    assert (first.entries_published, second.entries_published) == (2, 0)
    assert second.entries_seen == 2


async def test_the_same_entry_in_two_feeds_is_published_once() -> None:
    shared = rss(ITEMS[:1])
    async with (
        serve({"/one": static(shared), "/two": static(shared.replace(b"Test feed", b"Other feed"))}) as server,
        Fetcher(LIMITS) as fetcher,
    ):
        poll, sink = poller(fetcher)
        results = await poll.poll_once([FeedSpec(server.url("/one")), FeedSpec(server.url("/two"))])
    assert sorted(r.entries_published for r in results) == [0, 1]
    assert len(sink.articles) == 1
    summary = PollSummary.of(results).to_json()
    assert summary == {"feeds": 2, "ok": 2, "not_modified": 0, "errors": 0, "entries_seen": 2, "entries_published": 1}


async def test_a_bozo_feed_without_entries_is_an_error_for_that_feed_only() -> None:
    async with (
        serve(
            {"/junk": static(b"<html><body>not a feed", content_type="text/html"), "/ok": static(rss(ITEMS))}
        ) as server,
        Fetcher(LIMITS) as fetcher,
    ):
        poll, _ = poller(fetcher)
        junk, fine = await poll.poll_once([FeedSpec(server.url("/junk")), FeedSpec(server.url("/ok"))])
    assert junk.outcome == ERROR
    assert junk.reason is not None
    assert "no entries" in junk.reason
    assert (fine.outcome, fine.entries_published) == (OK, 2)


async def test_entries_become_raw_articles_with_feed_metadata() -> None:
    async with serve({"/feed": static(rss(ITEMS, title="Wire"))}) as server, Fetcher(LIMITS) as fetcher:
        poll, sink = poller(fetcher)
        await poll.poll_feed(FeedSpec(server.url("/feed"), name="The Wire", lang="en", tags=("world",)))
    article = sink.articles[0]
    assert article["title"] == ITEMS[0][1]
    assert article["url"] == "https://news.example/g1"
    assert article["feed"]["feed_url"] == server.url("/feed")
    assert article["feed"]["tags"] == "world"
    assert article["published_at"].startswith("2026-01-01")


async def test_fetch_article_uses_the_linked_pages_main_text() -> None:
    story = " ".join(["The United States and Denmark discussed Greenland's future at length."] * 20)
    page = f"<html><head><title>x</title></head><body><nav>menu</nav><article><p>{story}</p></article></body></html>"

    async def feed(request: web.Request) -> web.StreamResponse:
        base = f"http://{request.host}"
        body = rss([("p1", "Short teaser", "two lines")]).replace(b"https://news.example/p1", f"{base}/story".encode())
        return web.Response(body=body, content_type="application/rss+xml")

    async with (
        serve({"/feed": feed, "/story": static(page.encode(), content_type="text/html")}) as server,
        Fetcher(LIMITS) as fetcher,
    ):
        poll, sink = poller(fetcher)
        result = await poll.poll_feed(FeedSpec(server.url("/feed"), fetch_article=True))
    assert result.entries_published == 1
    assert "Denmark discussed Greenland" in sink.articles[0]["body"]
    assert len(server.seen("/story")) == 1


@pytest.mark.parametrize("per_host", [1])
async def test_the_per_host_limit_holds(per_host: int) -> None:
    active = 0
    peak = 0

    async def slowish(request: web.Request) -> web.StreamResponse:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.05)
        active -= 1
        return web.Response(body=rss(ITEMS[:1]), content_type="application/rss+xml")

    limits = FetchLimits(read_timeout=5.0, total_timeout=10.0, per_host=per_host, global_limit=8)
    async with serve({f"/s{i}": slowish for i in range(4)}) as server, Fetcher(limits) as fetcher:
        poll, _ = poller(fetcher)
        await poll.poll_once([FeedSpec(server.url(f"/s{i}")) for i in range(4)])
    assert peak == per_host
