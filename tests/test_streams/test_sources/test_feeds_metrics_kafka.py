"""``newsmon feeds run``'s /metrics and /health on the real broker and a loopback feed server."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from feeds_support import rss, serve
from support import Env, collect
from web_support import ServedProcess, settle, total, wait_ready

from agents.feeds.config import FeedSpec, render_feeds_toml

pytestmark = pytest.mark.kafka


async def broken(request: web.Request) -> web.StreamResponse:
    return web.Response(status=500, text="no")


async def test_poll_outcomes_and_published_articles_are_counted(newsmon_env: Env, tmp_path: Path) -> None:
    items = [("m1", "First story", "Text one."), ("m2", "Second story", "Text two.")]

    async def feed(request: web.Request) -> web.StreamResponse:
        return web.Response(body=rss(items), content_type="application/rss+xml")

    async with serve({"/feed": feed, "/broken": broken}) as server:
        feeds = tmp_path / "feeds.toml"
        feeds.write_text(render_feeds_toml([FeedSpec(server.url("/feed")), FeedSpec(server.url("/broken"))]))
        poller = ServedProcess(
            "feeds-run", ["feeds", "run", "--feeds", str(feeds)], newsmon_env, tmp_path / "feeds.log",
            "NEWSMON_FEEDS_WEB_PORT",
        )  # fmt: skip
        poller.start()
        try:
            assert (await wait_ready(poller, poller.url + "/health"))["status"] == "ready"
            await collect(
                newsmon_env.bootstrap,
                [newsmon_env.topic("news.feeds.status")],
                lambda rs: len(rs) >= 2,
                alive=lambda: poller.alive,
            )
            want = {"ok": 1.0, "error": 1.0, "published": 2.0, "seen": 2.0}

            def got(s: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> dict[str, float]:
                return {
                    "ok": total(s, "newsmon_feed_polls_total", outcome="ok"),
                    "error": total(s, "newsmon_feed_polls_total", outcome="error"),
                    "published": total(s, "newsmon_feed_articles_published_total"),
                    "seen": total(s, "newsmon_feed_entries_seen_total"),
                }

            samples = await settle(poller.url + "/metrics", lambda s: got(s) == want)
            assert got(samples) == want
            assert total(samples, "newsmon_feed_fetch_seconds_count") == 2
        finally:
            poller.stop()
