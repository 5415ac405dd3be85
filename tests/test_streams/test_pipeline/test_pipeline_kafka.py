"""The monitor end to end on the real broker: seeds in, CloudEvents alerts out, bad input to the DLQ."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support import REPO, SHIPPED_THEMES, Env, WorkerProcess, collect, end_offsets, produce, values

from agents.alerting import story_alert_id
from agents.enrich import enrich
from agents.records import RawArticle, encode
from agents.seeds import parse_seed_file
from agents.themes import Tagger, load_theme_file

pytestmark = pytest.mark.kafka

SEEDS = REPO / "seeds"
GREENLAND_SEEDS = {"000_3f047730848d1c9e.txt", "001_25711ed6ec3fc9a9.txt", "004_2906f69d0842f1e0.txt"}
ARTICLE_5_SEED = "002_4001e483c3737018.txt"
CLOUDEVENT_KEYS = {"specversion", "id", "source", "type", "time", "subject", "datacontenttype", "data"}
DATA_KEYS = {
    "alert_id", "kind", "theme", "theme_name", "article_id", "title", "url", "source",
    "lang", "score", "evidence", "published_at", "detected_at",
}  # fmt: skip


def seed_articles() -> dict[str, RawArticle]:
    """Seed file name -> raw article, parsed by the same code the replay uses."""
    now = datetime.now(UTC).isoformat()
    return {
        p.name: parse_seed_file(p.read_bytes(), path=str(p), fetched_at=now)[0] for p in sorted(SEEDS.glob("*.txt"))
    }


def expected_pairs(articles: dict[str, RawArticle]) -> set[tuple[str, str]]:
    """(theme, article id) pairs the shipped themes imply, computed offline with the agents' own code."""
    tagger = Tagger(load_theme_file(SHIPPED_THEMES))
    pairs = set()
    for article in articles.values():
        tagged = enrich(article, tagger, processed_at="t")
        pairs |= {(m["theme"], article["id"]) for m in tagged["themes"]}
    return pairs


def alert_pairs(records: list[Any]) -> set[tuple[str, str]]:
    return {(a["data"]["theme"], a["data"]["article_id"]) for a in values(records)}


async def replay(env: Env, *paths: str) -> None:
    result = await asyncio.to_thread(env.cli, "replay", "--create-topics", "--quiet", *paths)
    assert result.returncode == 0, result.stderr


async def test_seeds_alert_once_across_replays_and_a_restart(newsmon_env: Env, tmp_path: Path) -> None:
    env = newsmon_env
    articles = seed_articles()
    ids = {a["id"] for a in articles.values()}
    expected = expected_pairs(articles)
    greenland = {aid for theme, aid in expected if theme == "greenland"}
    assert greenland == {articles[name]["id"] for name in GREENLAND_SEEDS}
    assert ("nato-article-5", articles[ARTICLE_5_SEED]["id"]) in expected

    worker = WorkerProcess(env, tmp_path / "worker-1.log").start()
    try:
        await replay(env, str(SEEDS))
        records = await collect(
            env.bootstrap,
            [env.topic("news.alerts")],
            lambda rs: alert_pairs(rs) >= expected,
            alive=lambda: worker.alive,
        )
        tagged = await collect(
            env.bootstrap,
            [env.topic("news.articles.tagged")],
            lambda rs: {v["id"] for v in values(rs)} >= ids,
            alive=lambda: worker.alive,
        )
    finally:
        worker.stop()
    alerts = values(records)
    assert alert_pairs(records) == expected
    assert len({a["id"] for a in alerts}) == len(alerts), "an alert id appears twice"
    for record, alert in zip(records, alerts, strict=True):
        assert set(alert) == CLOUDEVENT_KEYS
        assert alert["specversion"] == "1.0"
        assert set(alert["data"]) >= DATA_KEYS
        # the shipped themes alert once per story; each seed is its own story, opened by the seed itself
        assert alert["data"]["kind"] == "new_story"
        assert alert["type"] == "io.newsmon.alert.new_story.v1"
        story = alert["data"]["story_id"]
        assert alert["id"] == alert["data"]["alert_id"] == story_alert_id("new_story", alert["data"]["theme"], story)
        assert record.key == alert["data"]["theme"].encode()
        for evidence in alert["data"]["evidence"]:
            assert evidence["end"] > evidence["start"] >= 0
    assert {v["lang"] for v in values(tagged)} == {"en"}

    # Replay again with the worker restarted in between: no alert is added.
    before = await end_offsets(env.bootstrap, [env.topic("news.alerts")])
    tagged_before = await end_offsets(env.bootstrap, [env.topic("news.articles.tagged")])
    worker = WorkerProcess(env, tmp_path / "worker-2.log").start()
    try:
        await replay(env, str(SEEDS))
        again = await collect(
            env.bootstrap,
            [env.topic("news.articles.tagged")],
            lambda rs: {v["id"] for v in values(rs)} >= ids,
            start=tagged_before,
            alive=lambda: worker.alive,
        )
        assert len(again) >= len(ids)
    finally:
        assert worker.stop() == 0  # SIGTERM: a clean exit that flushes what it produced
    after = await end_offsets(env.bootstrap, [env.topic("news.alerts")])
    assert after == before, f"replaying the seeds again emitted {sum(after.values()) - sum(before.values())} alert(s)"


async def test_malformed_messages_go_to_the_dlq_and_the_stream_goes_on(newsmon_env: Env, tmp_path: Path) -> None:
    env = newsmon_env
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        await replay(env, str(SEEDS / "003_8d88ea093f0214ff.txt"))  # creates the topics, one valid article
        # 3 MB: over the decoder's 2 MiB value limit, under the 4 MiB Kafka message limit.
        huge = encode({"title": "Huge", "body": "Greenland " * 300_000, "source": "test"})
        valid = {"title": "Greenland after the bad ones", "body": "Trump repeats his demand to buy Greenland."}
        bad: list[tuple[bytes, bytes]] = [
            (b"garbage", bytes(range(256)) * 4),
            (b"invalid-json", b'{"title": "unterminated'),
            (b"missing-fields", json.dumps({"url": "https://example.test/x"}).encode()),
            (b"huge", huge),
        ]
        await produce(
            env.bootstrap,
            env.topic("news.articles.raw"),
            [*bad, (b"valid", encode(valid))],
            max_request_size=8 * 2**20,
        )
        letters = await collect(
            env.bootstrap, [env.topic("news.dlq")], lambda rs: len(rs) >= len(bad), alive=lambda: worker.alive
        )
        tagged = await collect(
            env.bootstrap,
            [env.topic("news.articles.tagged")],
            lambda rs: any(v["title"] == valid["title"] for v in values(rs)),
            alive=lambda: worker.alive,
        )
    finally:
        worker.stop()
    by_key = {r.key: json.loads(r.value) for r in letters if r.value is not None}
    assert set(by_key) == {key for key, _ in bad}
    for key, value in bad:
        letter = by_key[key]
        assert letter["stage"] == "decode"
        assert letter["topic"] == env.topic("news.articles.raw")
        assert letter["offset"] >= 0
        kept = base64.b64decode(letter["value_b64"])
        assert letter["value_size"] == len(value)
        # Whole up to the raw-article limit; a larger value's dead letter keeps its first 2 MiB.
        assert kept == value[: len(kept)]
        assert letter["value_truncated"] is (len(kept) < len(value))
        assert letter["reason"]
    assert "not UTF-8" in by_key[b"garbage"]["reason"]
    assert "not JSON" in by_key[b"invalid-json"]["reason"]
    assert "missing field 'title'" in by_key[b"missing-fields"]["reason"]
    assert "limit" in by_key[b"huge"]["reason"]
    assert by_key[b"huge"]["value_truncated"] is True
    assert by_key[b"garbage"]["value_truncated"] is False
    processed = [v for v in values(tagged) if v["title"] == valid["title"]]
    assert processed
    assert "greenland" in [t["theme"] for t in processed[0]["themes"]]
