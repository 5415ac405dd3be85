"""``newsmon feeds`` against the test broker and a real HTTP server on loopback.

The corpus test serves every file of feedparser's own test corpus (../shared/corpora/feeds)
and polls them all with ``newsmon feeds poll --once``, twice; the end-to-end test turns a
feed entry into an alert with a running worker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from feeds_support import rss, serve
from support import Env, WorkerProcess, collect, end_offsets, values

from agents.feeds.config import FeedSpec, render_feeds_toml
from agents.records import article_id

pytestmark = pytest.mark.kafka

REPO = Path(__file__).resolve().parents[3]
CORPUS = REPO.parent / "shared" / "corpora" / "feeds"
SUMMARY_KEYS = ["feeds", "ok", "not_modified", "errors", "entries_seen", "entries_published"]


def summary(stdout: str) -> dict[str, int]:
    last = stdout.strip().splitlines()[-1]
    parsed: dict[str, int] = json.loads(last)
    assert list(parsed) == SUMMARY_KEYS, last
    return parsed


async def poll_once(env: Env, feeds_file: Path, *extra: str, timeout: float = 600.0) -> dict[str, Any]:
    result = await asyncio.to_thread(
        env.cli, "feeds", "poll", "--once", "--feeds", str(feeds_file), *extra, timeout=timeout
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {"summary": summary(result.stdout), "stdout": result.stdout, "stderr": result.stderr}


async def count(env: Env, base: str) -> int:
    return sum((await end_offsets(env.bootstrap, [env.topic(base)])).values())


def write_feeds(path: Path, urls: list[str]) -> Path:
    path.write_text(render_feeds_toml([FeedSpec(url) for url in urls]), encoding="utf-8")
    return path


async def test_etag_304_on_the_second_poll_and_the_status_table(newsmon_env: Env, tmp_path: Path) -> None:
    items = [("e1", "First story", "Text one."), ("e2", "Second story", "Text two.")]

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == '"abc"':
            return web.Response(status=304, headers={"ETag": '"abc"'})
        return web.Response(body=rss(items), content_type="application/rss+xml", headers={"ETag": '"abc"'})

    async with serve({"/etag": handler, "/broken": broken_handler}) as server:
        feeds = write_feeds(tmp_path / "feeds.toml", [server.url("/etag"), server.url("/broken")])
        first = await poll_once(newsmon_env, feeds)
        assert first["summary"] == dict(zip(SUMMARY_KEYS, [2, 1, 0, 1, 2, 2], strict=True))
        raw_after_first = await count(newsmon_env, "news.articles.raw")
        assert raw_after_first == 2
        second = await poll_once(newsmon_env, feeds)
        assert second["summary"] == dict(zip(SUMMARY_KEYS, [2, 0, 1, 1, 0, 0], strict=True))
    assert server.seen("/etag")[1]["If-None-Match"] == '"abc"', "the ETag survived the restart (news.feeds.state)"
    assert await count(newsmon_env, "news.articles.raw") == raw_after_first

    table = await asyncio.to_thread(newsmon_env.cli, "feeds", "status")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["OUTCOME", "HTTP", "NEW"]
    etag_line = next(line for line in lines if "/etag" in line)
    assert etag_line.split()[:2] == ["not_modified", "304"]
    broken_line = next(line for line in lines if "/broken" in line)
    assert broken_line.split()[:2] == ["error", "500"]
    assert "HTTP 500" in broken_line
    as_json = await asyncio.to_thread(newsmon_env.cli, "feeds", "status", "--json")
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    broken = next(r for r in records if r["feed_url"].endswith("/broken"))
    assert broken["consecutive_failures"] == 2
    assert broken["kind"] == "poll"


async def broken_handler(request: web.Request) -> web.StreamResponse:
    return web.Response(status=500, text="no")


async def test_a_feed_entry_becomes_an_alert(newsmon_env: Env, tmp_path: Path) -> None:
    link = "https://news.example/greenland-talks"
    title = "US pressure on Greenland: Denmark rejects Washington's demands"
    body = (
        "The United States again said it wants control of Greenland. Danish and Greenlandic leaders "
        "rejected the US president's threats, and European allies backed Copenhagen."
    )
    document = rss([("gl-1", title, body)]).replace(b"https://news.example/gl-1", link.encode())
    expected_id = article_id(url=link, title=title, body=body)

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=document, content_type="application/rss+xml")

    worker = WorkerProcess(newsmon_env, tmp_path / "worker.log").start()
    try:
        async with serve({"/feed": handler}) as server:
            feeds = write_feeds(tmp_path / "feeds.toml", [server.url("/feed")])
            first = await poll_once(newsmon_env, feeds)
        assert first["summary"]["entries_published"] == 1
        records = await collect(
            newsmon_env.bootstrap,
            [newsmon_env.topic("news.alerts")],
            lambda rs: any(a["data"]["article_id"] == expected_id for a in values(rs)),
            alive=lambda: worker.alive,
            timeout=120,
        )
    finally:
        worker.stop()
    alert = next(a for a in values(records) if a["data"]["article_id"] == expected_id)
    assert alert["data"]["theme"] == "greenland"
    assert alert["data"]["url"] == link
    assert alert["data"]["title"].startswith("US pressure on Greenland")


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file())


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared feed corpus is not here ({CORPUS})")
@pytest.mark.timeout(900)
async def test_the_whole_shared_corpus_twice(newsmon_env: Env, tmp_path: Path) -> None:
    files = corpus_files()
    assert len(files) > 1000
    bodies = {"/" + p.relative_to(CORPUS).as_posix(): p.read_bytes() for p in files}

    async def handler(request: web.Request) -> web.StreamResponse:
        body = bodies.get(request.path)
        if body is None:
            return web.Response(status=404)
        return web.Response(body=body, content_type="application/xml")

    env = dataclasses.replace(newsmon_env, extra={**newsmon_env.extra, "NEWSMON_FEEDS_PER_HOST": "16"})
    async with serve({"/{tail:.*}": handler}) as server:
        feeds = write_feeds(tmp_path / "corpus.toml", [server.url(path) for path in bodies])
        first = await poll_once(env, feeds)
        raw_after_first = await count(env, "news.articles.raw")
        second = await poll_once(env, feeds)
    one, two = first["summary"], second["summary"]
    assert one["feeds"] == two["feeds"] == len(files)
    assert one["ok"] + one["not_modified"] + one["errors"] == len(files)
    assert one["ok"] > len(files) // 2, one
    assert one["entries_published"] > 0
    assert two["entries_published"] == 0, two
    assert await count(env, "news.articles.raw") == raw_after_first
    lines = [line for line in first["stdout"].splitlines()[:-1] if line.strip()]
    assert len(lines) == len(files), "one line per feed"
    for line in lines:
        outcome = line.split()[0]
        assert outcome in ("ok", "not_modified", "error", "gone"), line
        if outcome == "error":
            tokens = line.split()
            at = next(i for i, token in enumerate(tokens) if token.startswith(server.base))
            assert len(tokens) > at + 1, f"an error without a reason: {line}"
    assert "Traceback" not in first["stderr"] + second["stderr"]
    print("corpus, first poll:", one, "second poll:", two)
