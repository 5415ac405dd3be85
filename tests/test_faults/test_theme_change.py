"""Restart with a changed theme set: new themes apply to new articles only, old alerts are not re-emitted."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from support import SHIPPED_THEMES, Env, WorkerProcess

from agents.themes import Tagger, load_theme_file, parse_theme_text
from streams.bench.faultcheck import article_stream, expected_pairs, figures
from streams.kafka.topics import RAW, THEMES
from streams.pipeline.themes_live import publish_themes
from streams.sources.replay import to_record

pytestmark = [pytest.mark.kafka, pytest.mark.faults]

BEFORE = 400
AFTER = 400
RESENT = 20  # articles of the first batch published again after the change
REMOVED = "us-russia-rapprochement"
ADDED = """
[[theme]]
id = "fault-test-macron"
name = "Macron (fault test)"
description = "Articles naming Macron; added while the worker is down."
threshold = 1

[theme.terms.macron]
intl = ["Macron"]

[[theme.rules]]
id = "named"
any = ["macron"]
weight = 1
"""


async def test_changed_themes_apply_to_new_articles_only(newsmon_env: Env, tmp_path: Path, faults: Any) -> None:
    env = newsmon_env
    started = time.monotonic()
    run = f"themes-{uuid.uuid4().hex[:8]}"
    old_themes = load_theme_file(SHIPPED_THEMES)
    added = parse_theme_text(ADDED, "fault-test")
    new_themes = [t for t in old_themes if t.id != REMOVED] + added
    first_batch = article_stream(BEFORE, run)
    second_batch = article_stream(AFTER, run, start=BEFORE)
    resent = first_batch[:RESENT]
    old_expected = expected_pairs(first_batch, Tagger(old_themes))
    new_tagger = Tagger(new_themes)
    new_expected = expected_pairs(second_batch, new_tagger)
    # Re-sent articles are processed again: only the added theme can alert for them (the rest alerted already).
    resent_expected = {(t, a) for t, a in expected_pairs(resent, new_tagger) if t == added[0].id}
    assert resent_expected, "the added theme must match some re-sent article, or the test proves nothing"
    assert any(t == REMOVED for t, _ in expected_pairs(second_batch, Tagger(old_themes)))
    await faults.create_topics(env.bootstrap, env.prefix)

    first = WorkerProcess(env, tmp_path / "worker-1.log").start()
    second: WorkerProcess | None = None
    try:
        async with faults.reader(env.bootstrap, env.prefix) as reader:
            await faults.publish(env.bootstrap, env.topic(RAW), [to_record(a) for a in first_batch], rate=1000.0)
            first_ids = [a["id"] for a in first_batch]
            await reader.wait(
                lambda o: len(o.processed(first_ids)) == BEFORE and o.alert_pairs() >= old_expected,
                timeout=120,
                what="the first batch processed",
                alive=lambda: first.alive,
                on_timeout=first.log,
            )
            assert first.stop() == 0
            await reader.drain()
            alerts_before = dict(reader.observed.alerts)

            await publish_themes(env.bootstrap, env.topic(THEMES), added, removed=[REMOVED])
            second = WorkerProcess(env, tmp_path / "worker-2.log").start()
            records = [to_record(a) for a in second_batch + resent]
            await faults.publish(env.bootstrap, env.topic(RAW), records, rate=1000.0)
            second_ids = [a["id"] for a in second_batch]
            await reader.wait(
                lambda o: (
                    len(o.processed(second_ids)) == AFTER
                    and o.alert_pairs() >= new_expected | resent_expected
                    and all(o.tagged[a["id"]] >= 2 for a in resent)
                ),
                timeout=120,
                what="the second batch processed",
                alive=lambda: second is not None and second.alive,
                on_timeout=lambda: second.log() if second else "",
            )
            assert second.stop() == 0
            await reader.drain()
            observed = reader.observed
    finally:
        for worker in (first, second):
            if worker is not None and worker.alive:
                worker.stop()
    expected = old_expected | new_expected | resent_expected
    new_alerts = {aid: observed.pairs_of[aid] for aid in observed.alerts if aid not in alerts_before}
    reemitted = {aid: n - alerts_before[aid] for aid, n in observed.alerts.items() if n > alerts_before.get(aid, n)}
    result = figures(
        "theme change across a restart",
        [a["id"] for a in first_batch + second_batch],
        observed,
        expected,
        seconds=time.monotonic() - started,
        notes={
            "alerts_after_restart": len(new_alerts),
            "old_alerts_reemitted": sum(reemitted.values()),
            "added_theme_alerts": sum(1 for t, _ in new_alerts.values() if t == added[0].id),
            "removed_theme_alerts_after_restart": sum(1 for t, _ in new_alerts.values() if t == REMOVED),
        },
    )
    faults.report(result)
    assert not reemitted, f"old alerts emitted again: {list(reemitted)[:10]}"
    # the second batch repeats the first batch's stories: only pairs not alerted before are new
    assert set(new_alerts.values()) == (new_expected | resent_expected) - old_expected, result
    assert result.lost == 0, result
    assert result.alerts_missing == 0, result
    assert result.alerts_unexpected == 0, result
