"""Stop and restart the broker while producers and the worker run: nothing lost, producers retry."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import NO_SPIKES, SHIPPED_THEMES, Env, WorkerProcess

from agents.themes import Tagger, load_theme_file
from streams.bench.faultcheck import article_stream, expected_pairs, figures
from streams.kafka.embedded import EmbeddedBroker, free_port
from streams.kafka.topics import RAW
from streams.settings import Settings
from streams.sources.replay import to_record

pytestmark = [pytest.mark.kafka, pytest.mark.faults]

ARTICLES = 2000
RATE = 100.0


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A broker of this test alone (it gets restarted): own state directory, own free port."""
    broker = EmbeddedBroker(
        Settings(state_dir=tmp_path / "broker-state", broker_port=free_port(), kafka_bootstrap_servers=None), say=print
    )
    try:
        yield broker
    finally:
        broker.stop(timeout=30, kill=True)


async def test_broker_restart_mid_stream_loses_nothing(own_broker: EmbeddedBroker, tmp_path: Path, faults: Any) -> None:
    address = await asyncio.to_thread(own_broker.start)
    tag = uuid.uuid4().hex[:10]
    env = Env(address, prefix=f"b{tag}.", app_id=f"newsmon-b{tag}", state_dir=tmp_path / "state", extra=NO_SPIKES)
    started = time.monotonic()
    articles = article_stream(ARTICLES, f"broker-{tag}")
    ids = [a["id"] for a in articles]
    expected = expected_pairs(articles, Tagger(load_theme_file(SHIPPED_THEMES)))
    await faults.create_topics(env.bootstrap, env.prefix)

    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    producing = asyncio.create_task(
        faults.publish(env.bootstrap, env.topic(RAW), [to_record(a) for a in articles], rate=RATE)
    )
    try:
        async with faults.reader(env.bootstrap, env.prefix) as reader:
            await reader.wait(
                lambda o: len(o.processed(ids)) >= ARTICLES // 3,
                timeout=120,
                what=f"{ARTICLES // 3} processed articles before the broker restart",
                alive=lambda: worker.alive,
                on_timeout=worker.log,
            )
            before = len(reader.observed.processed(ids))
        down_at = time.monotonic()
        assert await asyncio.to_thread(own_broker.stop, 30)  # SIGTERM: a clean broker shutdown
        again = await asyncio.to_thread(own_broker.start)
        downtime = time.monotonic() - down_at
        assert again == address, "the restarted broker moved; clients would not find it"
        async with faults.reader(env.bootstrap, env.prefix) as reader:
            recovered = await reader.wait(
                lambda o: len(o.processed(ids)) == ARTICLES and o.alert_pairs() >= expected,
                timeout=150,
                what="every article processed and every expected alert after the restart",
                alive=lambda: worker.alive,
                on_timeout=worker.log,
                fail=False,
            )
            published = await asyncio.wait_for(producing, 60)
            assert worker.stop() == 0
            await reader.drain()
            result = figures(
                "broker restart",
                ids,
                reader.observed,
                expected,
                seconds=time.monotonic() - started,
                notes={
                    "processed_before_restart": before,
                    "broker_down_seconds": round(downtime, 1),
                    "acknowledged_by_broker": len(published.where),
                    "producer_errors": len(published.errors),
                    "seconds_restart_to_all_done": None if recovered is None else round(recovered, 1),
                },
            )
            lost = sorted(
                published.where[i] for i in ids if i in published.where and i not in reader.observed.processed(ids)
            )
    finally:
        if not producing.done():
            producing.cancel()
        if worker.alive:
            worker.stop()
    faults.report(result)
    assert not published.errors, f"the producer gave up instead of retrying: {published.errors[:5]}"
    assert result.lost == 0, f"{result}\nlost (raw partition, offset): {lost[:50]}"
    assert result.alerts_missing == 0, result
    assert result.alerts_unexpected == 0, result
    assert result.alert_bad_ids == 0, result
