"""A refused record on news.themes: the running worker keeps its themes and alerting, a restarted
worker starts cleanly with the record still on the topic, and the record is in news.dlq."""

from __future__ import annotations

import dataclasses
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from support import SHIPPED_THEMES, Env, WorkerProcess

from agents.dlq import STAGE_THEMES
from agents.records import encode
from agents.themes import Tagger, load_theme_file, theme_to_record
from agents.themes.parse import MAX_TERM_CHARS
from streams.bench.faultcheck import article_stream, expected_pairs, figures, per_article_variant
from streams.kafka.topics import RAW, THEMES
from streams.sources.replay import to_record

pytestmark = [pytest.mark.kafka, pytest.mark.faults]

BATCH = 150
TARGET = "greenland"  # the bad record replaces this shipped theme: the old version must stay active


def bad_record() -> bytes:
    """The shipped greenland theme with a 600,000-character term (it crashed the matching
    library) and a name holding terminal escapes (refused, and never logged raw)."""
    [theme] = [t for t in load_theme_file(SHIPPED_THEMES) if t.id == TARGET]
    record = theme_to_record(theme)
    record["name"] = "\x1b[2J\x1b]0;owned\x07 Greenland"
    first_set = next(iter(record["terms"]))
    record["terms"][first_set]["en"] = ["a" * 600_000]
    return encode(record)


async def test_bad_theme_record_is_refused_and_the_worker_keeps_alerting(
    newsmon_env: Env, tmp_path: Path, faults: Any
) -> None:
    # greenland alerts per article (both agents' alert paths under fault), the other themes once per story
    themes_file = tmp_path / "themes.toml"
    themes_file.write_text(per_article_variant(SHIPPED_THEMES.read_text(encoding="utf-8"), [TARGET]), encoding="utf-8")
    env = dataclasses.replace(newsmon_env, themes_file=themes_file)
    started = time.monotonic()
    run = f"badtheme-{uuid.uuid4().hex[:8]}"
    old_tagger = Tagger(load_theme_file(SHIPPED_THEMES))
    batches = [article_stream(BATCH, run, start=i * BATCH) for i in range(3)]
    expected = [expected_pairs(batch, old_tagger, per_article=[TARGET]) for batch in batches]
    for pairs in expected[1:]:
        assert any(theme == TARGET for theme, _ in pairs), "the old greenland theme must alert in later batches"
    await faults.create_topics(env.bootstrap, env.prefix)

    first = WorkerProcess(env, tmp_path / "worker-1.log").start()
    second: WorkerProcess | None = None
    try:
        async with faults.reader(env.bootstrap, env.prefix) as reader:

            async def process(index: int, worker: WorkerProcess) -> None:
                batch = batches[index]
                await faults.publish(env.bootstrap, env.topic(RAW), [to_record(a) for a in batch], rate=1000.0)
                ids = [a["id"] for a in batch]
                await reader.wait(
                    lambda o: len(o.processed(ids)) == BATCH and o.alert_pairs() >= expected[index],
                    timeout=120,
                    what=f"batch {index} processed and alerted",
                    alive=lambda: worker.alive,
                    on_timeout=worker.log,
                )

            await process(0, first)
            await faults.publish(env.bootstrap, env.topic(THEMES), [(TARGET.encode(), bad_record())], rate=1000.0)
            await reader.wait(
                lambda o: any(d.get("stage") == STAGE_THEMES for d in o.dead_letters),
                timeout=60,
                what="the bad theme record in news.dlq",
                alive=lambda: first.alive,
                on_timeout=first.log,
            )
            await process(1, first)  # still up, still alerting on the old greenland theme
            assert first.stop() == 0
            first_log = (tmp_path / "worker-1.log").read_text(encoding="utf-8", errors="replace")

            second = WorkerProcess(env, tmp_path / "worker-2.log").start()  # the bad record is still on the topic
            await process(2, second)
            assert second.stop() == 0
            second_log = (tmp_path / "worker-2.log").read_text(encoding="utf-8", errors="replace")
            await reader.drain()
            observed = reader.observed
    finally:
        for worker in (first, second):
            if worker is not None and worker.alive:
                worker.stop()

    letters = [d for d in observed.dead_letters if d.get("stage") == STAGE_THEMES]
    assert len(letters) == 2, letters  # one per worker start that read it
    for letter in letters:
        assert letter["topic"] == env.topic(THEMES)
        assert f"theme '{TARGET}'" in letter["reason"]
        assert f"term longer than {MAX_TERM_CHARS} characters" in letter["reason"]
        assert letter["value_size"] > 600_000
    for log_text in (first_log, second_log):
        refused = [line for line in log_text.splitlines() if "refused theme record" in line]
        assert len(refused) == 1, refused
        assert f"theme '{TARGET}'" in refused[0]
        assert "term longer than" in refused[0]
        assert "\x1b" not in log_text
        assert "\x07" not in log_text
    result = figures(
        "bad theme record",
        [a["id"] for batch in batches for a in batch],
        observed,
        set().union(*expected),
        seconds=time.monotonic() - started,
        notes={"theme_dead_letters": len(letters)},
    )
    faults.report(result)
    assert result.lost == 0, result
    assert result.alerts_missing == 0, result
