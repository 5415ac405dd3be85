"""Themes change in running workers: `themes put/rm` apply live; bad records are skipped to the DLQ."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from support import SHIPPED_THEMES, Env, WorkerProcess, collect, end_offsets, produce, values

from agents.records import encode

pytestmark = pytest.mark.kafka

ZEBRA = """
[[theme]]
id = "zebra-crossings"
name = "Zebra crossings"
description = "Road safety: new pedestrian crossings."
threshold = 1
[theme.terms.crossing]
en = ["zebra crossing*"]
de = ["Zebrastreifen"]
[[theme.rules]]
id = "crossing"
all = ["crossing"]
[theme.examples]
positive = ["The council painted a new zebra crossing.", "Ein neuer Zebrastreifen wurde eröffnet."]
negative = ["A zebra crossed the savanna."]
"""


async def wait_for_log(worker: WorkerProcess, needle: str, timeout: float = 60.0) -> float:
    """Seconds until ``needle`` appears in the worker's log (the worker logs each theme-set change)."""
    began = time.monotonic()
    while needle not in worker.log(lines=400):
        assert worker.alive, worker.log()
        assert time.monotonic() - began < timeout, f"{needle!r} not logged within {timeout}s:\n{worker.log()}"
        await asyncio.sleep(0.1)  # polling the worker's log file: the event is the log line itself
    return time.monotonic() - began


async def tag(env: Env, worker: WorkerProcess, title: str, body: str) -> list[str]:
    """Publish one article and return the theme ids the worker tagged it with."""
    before = await end_offsets(env.bootstrap, [env.topic("news.articles.tagged")])
    await produce(env.bootstrap, env.topic("news.articles.raw"), [(None, encode({"title": title, "body": body}))])
    records = await collect(
        env.bootstrap,
        [env.topic("news.articles.tagged")],
        lambda rs: any(v["title"] == title for v in values(rs)),
        start=before,
        alive=lambda: worker.alive,
    )
    tagged = next(v for v in values(records) if v["title"] == title)
    return [t["theme"] for t in tagged["themes"]]


async def test_put_and_rm_take_effect_in_a_running_worker(newsmon_env: Env, tmp_path: Path) -> None:
    env = newsmon_env
    theme_file = tmp_path / "zebra.toml"
    theme_file.write_text(ZEBRA)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        await wait_for_log(worker, "themes active: 7")
        assert await tag(env, worker, "Road news one", "A new zebra crossing near the school.") == []

        began = time.monotonic()
        put = await asyncio.to_thread(env.cli, "themes", "put", str(theme_file))
        assert put.returncode == 0, put.stderr
        await wait_for_log(worker, "themes active: 8")
        print(f"`themes put` (command included) applied by the running worker in {time.monotonic() - began:.2f}s")
        assert "zebra-crossings" in await tag(env, worker, "Road news two", "A new zebra crossing near the school.")

        listed = await asyncio.to_thread(env.cli, "themes", "list")
        assert "zebra-crossings" in listed.stdout
        shown = await asyncio.to_thread(env.cli, "themes", "show", "zebra-crossings")
        assert json.loads(shown.stdout)["id"] == "zebra-crossings"

        removed = await asyncio.to_thread(env.cli, "themes", "rm", "zebra-crossings")
        assert removed.returncode == 0, removed.stderr
        await wait_for_log(worker, "themes active: 7")
        assert await tag(env, worker, "Road news three", "A new zebra crossing near the school.") == []
    finally:
        worker.stop()


async def test_invalid_put_is_refused_before_the_topic(newsmon_env: Env, tmp_path: Path) -> None:
    env = newsmon_env
    replay = await asyncio.to_thread(
        env.cli,
        "replay",
        "--create-topics",
        "--quiet",
        str(SHIPPED_THEMES.parent.parent / "seeds" / "003_8d88ea093f0214ff.txt"),
    )
    assert replay.returncode == 0, replay.stderr
    before = await end_offsets(env.bootstrap, [env.topic("news.themes")])
    bad = tmp_path / "bad.toml"
    bad.write_text(ZEBRA.replace('all = ["crossing"]', 'all = ["no-such-set"]').replace("zebra crossing*", "*zebra"))
    result = await asyncio.to_thread(env.cli, "themes", "put", str(bad))
    assert result.returncode != 0
    assert f"{bad}:" in result.stderr
    assert "zebra-crossings" in result.stderr
    assert "nothing published" in result.stderr
    assert await end_offsets(env.bootstrap, [env.topic("news.themes")]) == before


async def test_bad_theme_record_is_dead_lettered_and_the_old_set_stays(newsmon_env: Env, tmp_path: Path) -> None:
    env = newsmon_env
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        await wait_for_log(worker, "themes active: 7")
        await produce(
            env.bootstrap,
            env.topic("news.themes"),
            [
                (b"greenland", b"{not json"),
                (b"greenland", json.dumps({"schema_version": 1, "id": "greenland"}).encode()),
            ],
        )
        letters = await collect(
            env.bootstrap, [env.topic("news.dlq")], lambda rs: len(rs) >= 2, alive=lambda: worker.alive
        )
        reasons = [v["reason"] for v in values(letters)]
        assert all(v["stage"] == "themes" for v in values(letters))
        assert any("not JSON" in r for r in reasons), reasons
        assert "greenland" in await tag(
            env,
            worker,
            "Greenland again",
            "Trump renewed his demand that the United States buy Greenland from Denmark.",
        )
    finally:
        worker.stop()
