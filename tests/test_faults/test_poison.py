"""Poison messages in the middle of a stream: each lands in news.dlq with a reason, the rest flows."""

from __future__ import annotations

import base64
import dataclasses
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from support import SHIPPED_THEMES, Env, WorkerProcess

from agents.records import RawArticle, encode, validate_raw_article
from agents.themes import Tagger, load_theme_file
from streams.bench.faultcheck import article_stream, expected_pairs, figures, per_article_variant
from streams.kafka.topics import RAW
from streams.sources.replay import to_record

pytestmark = [pytest.mark.kafka, pytest.mark.faults]

ARTICLES = 600

# key -> value: every one must be dead-lettered at the decode stage, with a reason.
POISON: dict[bytes, bytes | None] = {
    b"poison-garbage": bytes(range(256)) * 4,
    b"poison-invalid-json": b'{"title": "unterminated',
    b"poison-deep-json": b"[" * 100_000 + b"]" * 100_000,
    b"poison-lone-surrogate": b'{"title": "\\ud800 Greenland", "body": "Trump wants Greenland."}',
    b"poison-not-an-object": b"[1, 2, 3]",
    b"poison-nan": b'{"title": NaN, "body": "x"}',
    b"poison-schema-version": encode({"schema_version": 2, "title": "t", "body": "b"}),
    b"poison-title-over-limit": encode({"title": "x" * 2_001, "body": "b"}),
    b"poison-body-not-string": encode({"title": "t", "body": {"$ne": 1}}),
    b"poison-empty": encode({"title": " ", "body": ""}),
    b"poison-tombstone": None,
}

BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + "]><lolz>&lol9;</lolz>"
)
# Hostile but valid: processed (tagged), never interpreted.
HOSTILE: list[dict[str, Any]] = [
    {"title": "\x1b[2J\x1b[31mGreenland\x1b[0m \x07", "body": "Trump says the US must buy Greenland now."},
    {"title": "\u202egnirts desrever\u202c Greenland", "body": "Denmark rejects the US offer to buy Greenland.\x00"},
    {"title": "Huge token", "body": "Greenland " + "A" * 900_000},
    {"title": "Entity bomb", "body": BOMB + " Trump wants to buy Greenland."},
    {"title": "<script>alert(1)</script>Greenland", "body": "<img src=x onerror=alert(1)>Trump wants Greenland."},
]


async def test_poison_goes_to_the_dlq_and_the_rest_flows(newsmon_env: Env, tmp_path: Path, faults: Any) -> None:
    # every theme alerts per article: each valid article, hostile ones included, has its own expected alerts
    themes_file = tmp_path / "themes.toml"
    themes_file.write_text(per_article_variant(SHIPPED_THEMES.read_text(encoding="utf-8")), encoding="utf-8")
    env = dataclasses.replace(newsmon_env, themes_file=themes_file)
    started = time.monotonic()
    articles = article_stream(ARTICLES, f"poison-{uuid.uuid4().hex[:8]}")
    hostile: list[RawArticle] = [
        validate_raw_article(
            {**h, "source": "fault-test", "url": f"https://hostile.newsmon.test/{i}/{uuid.uuid4().hex}"}
        )
        for i, h in enumerate(HOSTILE)
    ]
    valid = articles + hostile
    themes = load_theme_file(SHIPPED_THEMES)
    expected = expected_pairs(valid, Tagger(themes), per_article=[t.id for t in themes])
    records: list[tuple[bytes, bytes | None]] = [to_record(a) for a in articles]
    middle = ARTICLES // 2
    records[middle:middle] = [*POISON.items(), *(to_record(a) for a in hostile)]
    ids = [a["id"] for a in valid] + [k.decode() for k in POISON]
    await faults.create_topics(env.bootstrap, env.prefix)

    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        published = await faults.publish(env.bootstrap, env.topic(RAW), records, rate=1000.0)
        async with faults.reader(env.bootstrap, env.prefix) as reader:
            await reader.wait(
                lambda o: len(o.processed(ids)) == len(ids) and o.alert_pairs() >= expected,
                timeout=120,
                what="every article processed or dead-lettered, every expected alert",
                alive=lambda: worker.alive,
                on_timeout=worker.log,
            )
            assert worker.stop() == 0
            await reader.drain()
            observed = reader.observed
    finally:
        if worker.alive:
            worker.stop()
    result = figures(
        "poison messages",
        ids,
        observed,
        expected,
        seconds=time.monotonic() - started,
        notes={"poison": len(POISON), "hostile_valid": len(HOSTILE), "producer_errors": len(published.errors)},
    )
    faults.report(result)
    assert not published.errors
    assert result.lost == 0, result
    assert result.alerts_missing == 0, result
    assert result.alerts_unexpected == 0, result
    letters = {base64.b64decode(d["key_b64"]): d for d in observed.dead_letters if d["key_b64"]}
    assert set(letters) == set(POISON), "only the poison messages are dead-lettered"
    for key, value in POISON.items():
        letter = letters[key]
        assert letter["stage"] == "decode", letter
        assert letter["reason"], letter
        assert letter["topic"] == env.topic(RAW)
        assert (letter["partition"], letter["offset"]) == published.where[key.decode()]
        assert letter["value_b64"] == (None if value is None else base64.b64encode(value).decode())
    assert "nested too deeply" in letters[b"poison-deep-json"]["reason"]
    assert "surrogate" in letters[b"poison-lone-surrogate"]["reason"]
    assert "limit" in letters[b"poison-title-over-limit"]["reason"]
    for article in hostile:
        assert observed.tagged[article["id"]] >= 1
    print(json.dumps({"dlq_reasons": {k.decode(): letters[k]["reason"][:80] for k in POISON}}, indent=1))
