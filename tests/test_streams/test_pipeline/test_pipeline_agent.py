"""The article agent under Faust's test_context(): decode, enrich, hand on to the stories agent, alert per article."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from agents.alerting import alert_id
from agents.records import encode
from agents.themes import parse_theme_text
from streams.pipeline.app import create_app
from streams.pipeline.themes_live import LiveThemes
from streams.pipeline.wiring import Pipeline, wire
from streams.settings import Settings

THEMES = """
[[theme]]
id = "greenland"
name = "Greenland"
description = "US pressure on Greenland"
threshold = 1.0
alert = "per_article"
[theme.terms.core]
en = ["Greenland"]
[[theme.rules]]
id = "core"
all = ["core"]
"""


class Sent:
    """Captures what the agent sends to one topic (test_context does not stub outgoing topics)."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes | None, dict[str, Any]]] = []

    async def send(self, *, key: bytes | None = None, value: bytes | None = None, **_: Any) -> None:
        assert value is not None
        self.records.append((key, json.loads(value)))


@pytest.fixture
async def pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Pipeline, dict[str, Sent]]:
    settings = Settings(state_dir=tmp_path, kafka_bootstrap_servers=None)
    app = create_app(settings, "127.0.0.1:1", app_id="agent-test", web_enabled=False, store="memory://")
    app.loop = asyncio.get_running_loop()
    pipe = wire(app, settings, LiveThemes(parse_theme_text(THEMES, "inline")), now=lambda: "2026-01-01T00:00:00.000Z")
    app.finalize()
    app.flow_control.resume()
    sent = {"tagged": Sent(), "alerts": Sent(), "dlq": Sent(), "enriched": Sent()}
    for name, sink in sent.items():
        monkeypatch.setattr(getattr(pipe, name), "send", sink.send)
    changelog: list[tuple[Any, Any]] = []

    def send_changelog(partition: int | None, key: Any, value: Any, **_: Any) -> Any:
        changelog.append((key, value))
        return SimpleNamespace(message=SimpleNamespace(partition=partition or 0))

    monkeypatch.setattr(pipe.alerted, "send_changelog", send_changelog)
    monkeypatch.setattr(pipe.stories, "send_changelog", send_changelog)
    return pipe, sent


def raw(title: str, body: str, url: str | None = None) -> bytes:
    return encode({"title": title, "body": body, "url": url, "source": "test", "fetched_at": "2026-01-01T00:00:00Z"})


async def test_article_is_tagged_and_alerts_once(pipeline: tuple[Pipeline, dict[str, Sent]]) -> None:
    pipe, sent = pipeline
    agent = pipe.app.agents["process_articles"]
    async with agent.test_context() as ctx:
        first = await ctx.put(key=b"k", value=raw("Greenland", "Trump wants Greenland.", "https://x.test/a"))
        again = await ctx.put(key=b"k", value=raw("Greenland", "Trump wants Greenland.", "https://x.test/a"))
        result_first = ctx.results[first.message.offset]
        result_again = ctx.results[again.message.offset]
    article_id = result_first["id"]
    assert result_first["themes"] == ["greenland"]
    assert result_first["alerts"] == [alert_id("greenland", article_id)]
    assert result_again["alerts"] == []  # the (theme, article) pair has alerted already
    assert len(sent["enriched"].records) == 2
    assert len(sent["alerts"].records) == 1
    key, event = sent["alerts"].records[0]
    assert key == b"greenland"
    assert event["specversion"] == "1.0"
    assert event["id"] == event["data"]["alert_id"] == alert_id("greenland", article_id)
    assert event["data"]["evidence"][0]["term"] == "Greenland"
    assert not sent["dlq"].records


async def test_article_without_theme_does_not_alert(pipeline: tuple[Pipeline, dict[str, Sent]]) -> None:
    pipe, sent = pipeline
    agent = pipe.app.agents["process_articles"]
    async with agent.test_context() as ctx:
        event = await ctx.put(key=b"k", value=raw("Weather", "Sunny spells over Lisbon today."))
        result = ctx.results[event.message.offset]
    assert result["themes"] == []
    assert result["alerts"] == []
    assert sent["enriched"].records[0][1]["lang"] == "en"
    assert not sent["alerts"].records


@pytest.mark.parametrize(
    ("value", "reason_part"),
    [
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"{not json", "not JSON"),
        (json.dumps({"body": "no title"}).encode(), "missing field 'title'"),
        (json.dumps(["a", "list"]).encode(), "must be a JSON object"),
    ],
)
async def test_bad_values_go_to_the_dead_letter_topic(
    pipeline: tuple[Pipeline, dict[str, Sent]], value: bytes, reason_part: str
) -> None:
    pipe, sent = pipeline
    agent = pipe.app.agents["process_articles"]
    async with agent.test_context() as ctx:
        bad = await ctx.put(key=b"bad-key", value=value)
        good = await ctx.put(key=b"k", value=raw("Greenland", "Greenland again."))
        assert ctx.results[bad.message.offset]["dlq"] == "decode"
        assert ctx.results[good.message.offset]["themes"] == ["greenland"]
    assert len(sent["dlq"].records) == 1
    key, letter = sent["dlq"].records[0]
    assert key == b"bad-key"
    assert reason_part in letter["reason"]
    assert letter["stage"] == "decode"
    assert base64.b64decode(letter["value_b64"]) == value
    assert len(sent["enriched"].records) == 1  # the valid article after it still flows
