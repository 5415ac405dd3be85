"""Spikes, budgets and digests on the real broker: a worker with a budget of 2 story alerts per window.

A burst of eight distinct on-theme stories inside one window gives two new_story alerts, one
spike, and, once the window is over, one digest listing the six other stories (the worker's
clock ticks close the window without a later article). Steady coverage of another theme
raises no spike.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest
from stories_support import distinct_story, one_term_theme
from support import Env, WorkerProcess, collect, produce, values

from agents.volume import window_of
from streams.pipeline.stories import epoch_of
from streams.sources.replay import to_record

pytestmark = pytest.mark.kafka

WINDOW = 12  # seconds
THEMES = one_term_theme("greenland", "Greenland", "Greenland") + one_term_theme(
    "arctic", "Arctic", "Arctic", "steady background coverage"
)


async def test_a_burst_over_budget_gives_two_alerts_one_spike_and_one_digest(newsmon_env: Env, tmp_path: Path) -> None:
    themes = tmp_path / "themes.toml"
    themes.write_text(THEMES, encoding="utf-8")
    env = dataclasses.replace(
        newsmon_env,
        themes_file=themes,
        extra={
            "NEWSMON_ALERT_BUDGET": "2",
            "NEWSMON_ALERT_WINDOW_SECONDS": str(WINDOW),
            "NEWSMON_TICK_SECONDS": "1",
            "NEWSMON_SPIKE_FACTOR": "2",
            "NEWSMON_SPIKE_MIN_COUNT": "3",  # a quiet theme spikes at 6 articles in a window
        },
    )
    warmup = tmp_path / "warmup.jsonl"
    warmup.write_text(json.dumps({"title": "Weather", "body": "Mild and dry all week."}) + "\n", encoding="utf-8")
    burst = [distinct_story(n, "Greenland") for n in range(8)]
    steady = [distinct_story(100 + n, "Arctic") for n in range(2)]

    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        result = await asyncio.to_thread(env.cli, "replay", "--create-topics", "--quiet", str(warmup))
        assert result.returncode == 0, result.stderr
        await collect(env.bootstrap, [env.topic("news.articles.tagged")], lambda rs: len(rs) >= 1,
                      alive=lambda: worker.alive)  # fmt: skip
        # The worker is ready. Start the burst just after a window boundary, so that it falls in one
        # window (windows are aligned to the epoch; the worker stamps processed_at when it takes an article).
        await asyncio.sleep(WINDOW - time.time() % WINDOW + 0.2)
        await produce(env.bootstrap, env.topic("news.articles.raw"), [to_record(a) for a in [*burst, *steady]])  # type: ignore[arg-type]

        def complete(records: list[Any]) -> bool:
            kinds = [v["data"]["kind"] for v in values(records)]
            return "digest" in kinds

        alerts = values(
            await collect(env.bootstrap, [env.topic("news.alerts")], complete, timeout=60, alive=lambda: worker.alive)
        )
        tagged = values(await collect(env.bootstrap, [env.topic("news.articles.tagged")], lambda rs: len(rs) >= 11))
    finally:
        assert worker.stop() == 0
    windows = {window_of(epoch_of(t["processed_at"]), WINDOW) for t in tagged if t["id"] in {a["id"] for a in burst}}
    assert len(windows) == 1, f"the burst was processed across a window boundary: {windows}"
    stories = {t["story_id"] for t in tagged if t["id"] in {a["id"] for a in burst}}
    assert len(stories) == 8

    by_kind: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts:
        by_kind.setdefault(alert["data"]["kind"], []).append(alert["data"])
    assert sorted(by_kind) == ["digest", "new_story", "spike"]
    alerted = {a["story_id"] for a in by_kind["new_story"] if a["theme"] == "greenland"}
    assert len(alerted) == 2
    # the steady theme: within its budget, no spike
    assert sorted(a["theme"] for a in by_kind["new_story"] if a["theme"] != "greenland") == ["arctic", "arctic"]
    assert [a["theme"] for a in by_kind["spike"]] == ["greenland"]
    [digest] = by_kind["digest"]
    folded = [item["story_id"] for item in digest["items"]]
    assert len(folded) == digest["count"] == 6
    assert set(folded) | alerted == stories
    assert not set(folded) & alerted
    [spike] = by_kind["spike"]
    assert (spike["theme"], spike["count"], spike["threshold"]) == ("greenland", 6, 6.0)
