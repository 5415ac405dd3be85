"""``newsmon feeds import-opml``, ``check`` and ``run`` (SIGTERM) as a user runs them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web
from feeds_support import rss, serve
from support import Env, collect, values

from agents.feeds.config import FeedSpec, load_feeds_file, render_feeds_toml
from streams.kafka.admin import ensure_topics
from streams.kafka.topics import specs

REPO = Path(__file__).resolve().parents[3]

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="World">
      <outline text="Europe" title="Europe">
        <outline type="rss" text="Example Europe" xmlUrl="https://news.example/europe.xml"/>
        <outline type="rss" text="Example Nordic" xmlUrl="https://news.example/nordic.xml"/>
      </outline>
      <outline type="rss" text="Example Europe again" xmlUrl="https://NEWS.example/europe.xml"/>
    </outline>
    <outline type="rss" text="Top" xmlUrl="https://other.example/top.rss"/>
  </body>
</opml>
"""


def newsmon(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or dict(os.environ),
        check=False,
    )


def test_import_opml_merges_nested_outlines_and_duplicates(tmp_path: Path) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_bytes(OPML)
    target = tmp_path / "feeds" / "feeds.toml"
    first = newsmon("feeds", "import-opml", str(opml), "--feeds", str(target))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"added 3 feeds to {target} (3 in all)"
    feeds = {spec.url: spec for spec in load_feeds_file(target)}
    assert len(feeds) == 3
    europe = next(spec for url, spec in feeds.items() if "europe" in url)
    assert "Europe" in " ".join(europe.tags) or "World" in " ".join(europe.tags), europe
    again = newsmon("feeds", "import-opml", str(opml), "--feeds", str(target))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"added 0 feeds to {target} (3 in all)"
    checked = newsmon("feeds", "check", str(target))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == f"{target}: 3 feeds, valid"


def test_import_opml_keeps_existing_entries(tmp_path: Path) -> None:
    target = tmp_path / "feeds.toml"
    target.write_text(render_feeds_toml([FeedSpec("https://mine.example/rss", name="Mine", interval=600)]))
    opml = tmp_path / "subs.opml"
    opml.write_bytes(OPML)
    result = newsmon("feeds", "import-opml", str(opml), "--feeds", str(target))
    assert result.returncode == 0, result.stderr
    specs = load_feeds_file(target)
    assert specs[0] == FeedSpec("https://mine.example/rss", name="Mine", interval=600)
    assert len(specs) == 4


def test_import_opml_refuses_a_broken_file_and_leaves_the_feeds_file(tmp_path: Path) -> None:
    target = tmp_path / "feeds.toml"
    target.write_text(render_feeds_toml([FeedSpec("https://mine.example/rss")]))
    before = target.read_bytes()
    opml = tmp_path / "broken.opml"
    opml.write_bytes(b'<?xml version="1.0"?>\n<opml><body>\n<outline xmlUrl="https://a.example/x"\n</body></opml>')
    result = newsmon("feeds", "import-opml", str(opml), "--feeds", str(target))
    assert result.returncode == 2
    assert result.stderr.startswith(f"newsmon: error: {opml}:"), result.stderr
    assert "Traceback" not in result.stderr
    assert target.read_bytes() == before


def test_check_names_file_and_line_of_a_bad_entry(tmp_path: Path) -> None:
    bad = tmp_path / "feeds.toml"
    bad.write_text('[[feed]]\nurl = "https://ok.example/rss"\n\n[[feed]]\nurl = "ftp://bad.example/rss"\n')
    result = newsmon("feeds", "check", str(bad))
    assert result.returncode == 2
    assert result.stderr.startswith(f"newsmon: error: {bad}:5: feed #2:"), result.stderr
    assert "ftp" in result.stderr


def test_the_shipped_feeds_file_is_valid() -> None:
    result = newsmon("feeds", "check", str(REPO / "feeds" / "feeds.toml"))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


@pytest.mark.kafka
async def test_feeds_run_polls_then_stops_cleanly_on_sigterm(newsmon_env: Env, tmp_path: Path) -> None:
    env = newsmon_env
    body = rss([("g1", "Run story", "Text of the run story.")])

    async def feed(_request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type="application/rss+xml")

    await ensure_topics(env.bootstrap, specs(env.settings))
    async with serve({"/feed.xml": feed}) as server:
        feeds_file = tmp_path / "feeds.toml"
        feeds_file.write_text(render_feeds_toml([FeedSpec(server.url("/feed.xml"), name="Run feed", interval=60)]))
        proc = subprocess.Popen(
            [sys.executable, "-m", "streams", "feeds", "run", "--feeds", str(feeds_file)],
            env=env.environ(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # The poll's outcome on news.feeds.status is the event to wait for.
            status = await collect(
                env.bootstrap,
                [env.topic("news.feeds.status")],
                lambda rs: any(v.get("outcome") == "ok" for v in values(rs)),
                timeout=90,
                alive=lambda: proc.poll() is None,
            )
            raw = await collect(env.bootstrap, [env.topic("news.articles.raw")], lambda rs: len(rs) >= 1, timeout=30)
            proc.send_signal(signal.SIGTERM)
            _out, err = await asyncio.to_thread(proc.communicate, timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, err[-3000:]
    assert "stopped" in err
    assert "Traceback" not in err
    assert [v["title"] for v in values(raw)] == ["Run story"]
    assert any(v.get("feed_url") == server.url("/feed.xml") for v in values(status)), values(status)
