"""SIGKILL the worker in the middle of a stream, restart it: nothing is lost, no alert is missing."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from support import SHIPPED_THEMES, Env, WorkerProcess

from agents.themes import Tagger, load_theme_file
from streams.bench.faultcheck import article_stream, expected_pairs, figures, per_article_variant
from streams.kafka.topics import RAW
from streams.sources.replay import to_record

pytestmark = [pytest.mark.kafka, pytest.mark.faults]

PER_ARTICLE = {"greenland"}

ARTICLES = 2400
RATE = 120.0  # articles/s: a stream still flowing when the worker is killed (it processes ~100/s)


async def test_sigkill_mid_stream_loses_nothing(newsmon_env: Env, tmp_path: Path, faults: Any) -> None:
    # greenland alerts per article (both agents' alert paths under fault), the other themes once per story
    themes_file = tmp_path / "themes.toml"
    themes_file.write_text(
        per_article_variant(SHIPPED_THEMES.read_text(encoding="utf-8"), PER_ARTICLE), encoding="utf-8"
    )
    env = dataclasses.replace(newsmon_env, themes_file=themes_file)
    # create_app sets broker_session_timeout=15 s: the group gives the dead worker's partitions
    # to the new one after 15 s instead of Faust's default 60 s.
    started = time.monotonic()
    articles = article_stream(ARTICLES, f"kill-{uuid.uuid4().hex[:8]}")
    ids = [a["id"] for a in articles]
    expected = expected_pairs(articles, Tagger(load_theme_file(SHIPPED_THEMES)), per_article=PER_ARTICLE)
    await faults.create_topics(env.bootstrap, env.prefix)

    first = WorkerProcess(env, tmp_path / "worker-1.log").start()
    second: WorkerProcess | None = None
    producing = asyncio.create_task(
        faults.publish(env.bootstrap, env.topic(RAW), [to_record(a) for a in articles], rate=RATE)
    )
    try:
        async with faults.reader(env.bootstrap, env.prefix) as reader:
            await reader.wait(
                lambda o: len(o.processed(ids)) >= ARTICLES // 3,
                timeout=120,
                what=f"{ARTICLES // 3} processed articles before the kill",
                alive=lambda: first.alive,
                on_timeout=first.log,
            )
            before_kill = len(reader.observed.processed(ids))
            first.kill()  # SIGKILL: no flush, no commit, no goodbye
            killed_at = time.monotonic()
            second = WorkerProcess(env, tmp_path / "worker-2.log").start()
            recovered = await reader.wait(
                lambda o: len(o.processed(ids)) == ARTICLES and o.alert_pairs() >= expected,
                timeout=150,
                what="every article processed and every expected alert",
                alive=lambda: second is not None and second.alive,
                on_timeout=lambda: second.log() if second else "",
                fail=False,
            )
            published = await producing
            assert second.stop() == 0
            await reader.drain()
            result = figures(
                "worker SIGKILL",
                ids,
                reader.observed,
                expected,
                seconds=time.monotonic() - started,
                notes={
                    "processed_before_kill": before_kill,
                    "acknowledged_by_broker": len(published.where),
                    "producer_errors": len(published.errors),
                    "seconds_kill_to_all_done": None if recovered is None else round(time.monotonic() - killed_at, 1),
                },
            )
            lost = sorted(published.where[i] for i in ids if i not in reader.observed.processed(ids))
    finally:
        if not producing.done():
            producing.cancel()
        for worker in (first, second):
            if worker is not None and worker.alive:
                worker.stop()
    faults.report(result)
    assert not published.errors, published.errors[:5]
    assert result.lost == 0, f"{result}\nlost (raw partition, offset): {lost[:50]}"
    assert result.alerts_missing == 0, result
    assert result.alerts_unexpected == 0, result
    assert result.alert_bad_ids == 0, result  # duplicates can only be the same alert_id again
