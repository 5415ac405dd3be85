"""Two workers share the raw topic; one is SIGKILLed mid-stream: nothing is lost, no alert is missing.

The stream starts once the group is stable with both owning raw partitions, and the kill
waits until both have alerted.

The survivor takes over the dead worker's partitions once the group notices (the session
timeout, 15 s); what the dead one had processed but not committed is processed again, so
alerts can repeat, but only as the same ``alert_id``.  Run with the agents taking one event
at a time (the default) and in batches (``NEWSMON_BATCH_SIZE``), where a batch can be cut
short by the rebalance.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from support import SHIPPED_THEMES, Env, WorkerProcess, group_assignment

from agents.themes import Tagger, load_theme_file
from streams.bench.faultcheck import article_stream, expected_pairs, figures, per_article_variant
from streams.kafka.topics import RAW
from streams.sources.replay import to_record

pytestmark = [pytest.mark.kafka, pytest.mark.faults]

PER_ARTICLE = {"greenland"}

ARTICLES = 2400
RATE = 150.0  # articles/s: still flowing when one worker is killed


def alert_lines(worker: WorkerProcess) -> int:
    """How many alerts a worker has logged (one INFO line each)."""
    return sum(1 for line in worker.log_path.read_text(errors="replace").splitlines() if "] ALERT " in line)


@pytest.mark.parametrize("batch_size", [1, 64], ids=["one-at-a-time", "batches"])
async def test_two_workers_one_sigkilled_lose_nothing(
    newsmon_env: Env, tmp_path: Path, faults: Any, batch_size: int
) -> None:
    # greenland alerts per article (both agents' alert paths under fault), the other themes once per story
    themes_file = tmp_path / "themes.toml"
    themes_file.write_text(
        per_article_variant(SHIPPED_THEMES.read_text(encoding="utf-8"), PER_ARTICLE), encoding="utf-8"
    )
    env = dataclasses.replace(
        newsmon_env, themes_file=themes_file, extra={**newsmon_env.extra, "NEWSMON_BATCH_SIZE": str(batch_size)}
    )
    started = time.monotonic()
    articles = article_stream(ARTICLES, f"two-{uuid.uuid4().hex[:8]}")
    ids = [a["id"] for a in articles]
    expected = expected_pairs(articles, Tagger(load_theme_file(SHIPPED_THEMES)), per_article=PER_ARTICLE)
    await faults.create_topics(env.bootstrap, env.prefix)

    workers = [WorkerProcess(env, tmp_path / f"worker-{slot}.log", slot=slot).start() for slot in (0, 1)]
    survivor, victim = workers
    # Publish once both own raw partitions: a worker that joins late finds the stream half done.
    await group_assignment(
        env.bootstrap, env.app_id, env.topic(RAW), members=2, alive=lambda: all(w.alive for w in workers)
    )
    producing = asyncio.create_task(
        faults.publish(env.bootstrap, env.topic(RAW), [to_record(a) for a in articles], rate=RATE)
    )
    try:
        async with faults.reader(env.bootstrap, env.prefix) as reader:
            # Both must have had work: the kill has to take partitions away from a busy group.
            await reader.wait(
                lambda o: len(o.processed(ids)) >= ARTICLES // 3 and all(alert_lines(w) for w in workers),
                timeout=150,
                what=f"{ARTICLES // 3} processed articles and alerts from both workers before the kill",
                alive=lambda: all(w.alive for w in workers),
                on_timeout=lambda: survivor.log() + "\n---\n" + victim.log(),
            )
            before_kill = len(reader.observed.processed(ids))
            shares = {w.name: alert_lines(w) for w in workers}
            victim.kill()  # SIGKILL: no flush, no commit, no leave-group
            killed_at = time.monotonic()
            recovered = await reader.wait(
                lambda o: len(o.processed(ids)) == ARTICLES and o.alert_pairs() >= expected,
                timeout=180,
                what="every article processed and every expected alert after the kill",
                alive=lambda: survivor.alive,
                on_timeout=survivor.log,
                fail=False,
            )
            published = await producing
            assert survivor.stop() == 0
            await reader.drain()
            result = figures(
                f"two workers, one SIGKILL (batch size {batch_size})",
                ids,
                reader.observed,
                expected,
                seconds=time.monotonic() - started,
                notes={
                    "processed_before_kill": before_kill,
                    "workers_before_kill": shares,
                    "acknowledged_by_broker": len(published.where),
                    "producer_errors": len(published.errors),
                    "seconds_kill_to_all_done": None if recovered is None else round(time.monotonic() - killed_at, 1),
                },
            )
            lost = sorted(published.where[i] for i in ids if i not in reader.observed.processed(ids))
    finally:
        if not producing.done():
            producing.cancel()
        for worker in workers:
            if worker.alive:
                worker.stop()
    faults.report(result)
    assert not published.errors, published.errors[:5]
    assert result.lost == 0, f"{result}\nlost (raw partition, offset): {lost[:50]}"
    assert result.alerts_missing == 0, result
    assert result.alerts_unexpected == 0, result
    assert result.alert_bad_ids == 0, result  # duplicates can only be the same alert_id again
