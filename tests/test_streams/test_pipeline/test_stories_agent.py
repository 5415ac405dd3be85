"""The stories agent under Faust's test_context(): story ids on tagged records, new_story once, escalations."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from stories_support import GREENLAND_BODY as BODY
from stories_support import GREENLAND_NATO_THEMES as THEMES
from stories_support import story_steps

from agents.alerting import alert_id, story_alert_id
from agents.records import encode
from agents.stories import story_id_for
from agents.themes import parse_theme_text
from streams.pipeline.app import create_app
from streams.pipeline.themes_live import LiveThemes
from streams.pipeline.wiring import Pipeline, wire
from streams.settings import Settings


class Sent:
    def __init__(self) -> None:
        self.records: list[tuple[bytes | None, dict[str, Any]]] = []
        self.raw: list[bytes] = []

    async def send(self, *, key: bytes | None = None, value: bytes | None = None, **_: Any) -> None:
        assert value is not None
        self.raw.append(value)
        self.records.append((key, json.loads(value)))


Fixture = tuple[Pipeline, dict[str, Sent]]


@pytest.fixture
async def pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fixture:
    settings = Settings(state_dir=tmp_path, kafka_bootstrap_servers=None, story_sources_threshold=3)
    app = create_app(settings, "127.0.0.1:1", app_id="stories-test", web_enabled=False, store="memory://")
    app.loop = asyncio.get_running_loop()
    pipe = wire(app, settings, LiveThemes(parse_theme_text(THEMES, "inline")), now=lambda: "2026-01-01T00:00:00.000Z")
    app.finalize()
    app.flow_control.resume()
    sent = {name: Sent() for name in ("tagged", "alerts", "dlq", "enriched")}
    for name, sink in sent.items():
        monkeypatch.setattr(getattr(pipe, name), "send", sink.send)

    def send_changelog(partition: int | None, key: Any, value: Any, **_: Any) -> Any:
        return SimpleNamespace(message=SimpleNamespace(partition=partition or 0))

    monkeypatch.setattr(pipe.alerted, "send_changelog", send_changelog)
    monkeypatch.setattr(pipe.stories, "send_changelog", send_changelog)
    return pipe, sent


def raw(url: str, source: str, title: str, body: str, processed: str = "") -> bytes:
    return encode({"title": title, "body": body, "url": url, "source": source, "fetched_at": "2026-01-01T00:00:00Z"})


async def run(pipe: Pipeline, sent: dict[str, Sent], values: list[bytes]) -> list[dict[str, Any]]:
    """The raw values through the article agent, then what it sent through the stories agent."""
    async with pipe.app.agents["process_articles"].test_context() as ctx:
        for value in values:
            await ctx.put(key=b"k", value=value)
    handed = list(sent["enriched"].raw)
    sent["enriched"].raw.clear()
    results = []
    async with pipe.app.agents["assign_stories"].test_context() as ctx:
        for value in handed:
            event = await ctx.put(key=b"k", value=value)
            results.append(ctx.results[event.message.offset])
    return results


def kinds(sent: Sent) -> list[tuple[str, str]]:
    return [(event["data"]["kind"], event["data"]["theme"]) for _key, event in sent.records]


async def test_syndicated_copies_give_one_new_story_and_per_article_alerts(pipeline: Fixture) -> None:
    pipe, sent = pipeline
    first, copy = await run(
        pipe,
        sent,
        [
            raw("https://a.test/1", "agency-a", "Trump: US will take control of Greenland", BODY),
            raw("https://b.test/9", "paper-b", "Greenland: Trump says US will take control", BODY + " (Reuters)"),
        ],
    )
    story = story_id_for(first["id"])
    assert (first["story_id"], first["story_role"]) == (story, "new")
    assert (copy["story_id"], copy["story_role"]) == (story, "joined")
    assert [r[1]["story_id"] for r in sent["tagged"].records] == [story, story]
    # greenland (new_story): one alert for the story; nato (per_article): one per article
    assert sorted(kinds(sent["alerts"])) == [
        ("new_story", "greenland"),
        ("theme_match", "nato"),
        ("theme_match", "nato"),
    ]
    event = next(e for _k, e in sent["alerts"].records if e["data"]["kind"] == "new_story")
    assert event["type"] == "io.newsmon.alert.new_story.v1"
    assert event["id"] == story_alert_id("new_story", "greenland", story)
    assert event["data"]["article_id"] == first["id"]
    per_article = {e["id"] for _k, e in sent["alerts"].records if e["data"]["kind"] == "theme_match"}
    assert per_article == {alert_id("nato", first["id"]), alert_id("nato", copy["id"])}


async def test_revised_article_updates_its_story_and_a_third_source_escalates(pipeline: Fixture) -> None:
    pipe, sent = pipeline
    first, revised, second_source, third_source = await run(
        pipe,
        sent,
        [
            raw("https://a.test/1", "agency-a", "Trump and Greenland", BODY),
            raw("https://a.test/1", "agency-a", "Trump and Greenland (updated)", BODY + " Denmark protested."),
            raw("https://b.test/2", "paper-b", "Trump and Greenland", BODY),
            raw("https://c.test/3", "paper-c", "Trump and Greenland", BODY),
        ],
    )
    assert revised["id"] == first["id"]
    assert revised["story_role"] == "update"
    assert {r["story_id"] for r in (first, revised, second_source, third_source)} == {first["story_id"]}
    story_alerts = [e for _k, e in sent["alerts"].records if e["data"]["kind"] != "theme_match"]
    assert [(e["data"]["kind"], e["data"].get("reason")) for e in story_alerts] == [
        ("new_story", None),
        ("story_escalation", "sources:3"),
    ]
    assert story_alerts[1]["data"]["story"]["sources"] == 3


async def test_a_different_story_gets_its_own_id_and_alert(pipeline: Fixture) -> None:
    pipe, sent = pipeline
    one, two = await run(
        pipe,
        sent,
        [
            raw("https://a.test/1", "agency-a", "Trump and Greenland", BODY),
            raw(
                "https://b.test/2", "paper-b", "Greenland sea ice", "Greenland's ice sheet lost mass again this summer."
            ),
        ],
    )
    assert one["story_id"] != two["story_id"]
    assert kinds(sent["alerts"]).count(("new_story", "greenland")) == 2


async def test_stories_expire_after_the_window_and_leave_no_keys() -> None:
    """StorySteps over a plain dict: a copy after the window opens a new story; the old one's keys are gone."""
    from agents.enrich import enrich
    from agents.records import decode_raw_article
    from streams.pipeline.delivery import InputRecord

    themes = LiveThemes(parse_theme_text(THEMES, "inline"))
    table: dict[str, str] = {}
    alerts, tagged = Sent(), Sent()

    async def send_tagged(record: dict[str, Any]) -> None:
        await tagged.send(value=encode(record))

    steps = story_steps(THEMES, alerts, table=table, send_tagged=send_tagged, window_hours=2, now="t")

    async def put(offset: int, url: str, when: str) -> dict[str, Any]:
        article = decode_raw_article(raw(url, f"src-{offset}", "Trump and Greenland", BODY))
        record = enrich(article, themes.tagger, processed_at=when)
        return await steps.handle(InputRecord("enriched", 0, offset, None, encode(record)))

    first = await put(0, "https://a.test/1", "2026-01-01T00:00:00Z")
    joined = await put(1, "https://b.test/2", "2026-01-01T01:30:00Z")
    assert joined["story_id"] == first["story_id"]
    old_keys = {k for k in table if first["story_id"] in k or k.startswith("a:")}
    assert steps.index is not None
    later = await put(2, "https://c.test/3", "2026-01-01T06:00:00Z")  # 4.5 h after the story's last article
    assert later["story_role"] == "new"
    assert later["story_id"] != first["story_id"]
    assert f"s:{first['story_id']}" not in table
    assert not any(k in table for k in old_keys if k.startswith("a:"))
    # the index forgot the old story: every band key it holds leads to the live one
    assert {v for k, v in steps.index.bands.items() if not k.startswith("m:")} == {later["story_id"]}
    assert {k for k in steps.index.bands if k.startswith("m:")} == {f"m:{later['story_id']}"}
    assert steps.index.due(10**9) == [later["story_id"]]
    # the sweep keeps only the live story and its article (and the theme's coverage counts, one key per theme)
    assert {k[:2] for k in table} == {"s:", "a:", "v:"}
    assert sorted(k for k in table if k.startswith("v:")) == ["v:greenland", "v:nato"]
    assert sum(1 for k in table if k.startswith("a:")) == 1
    assert [e["data"]["kind"] for _k, e in alerts.records] == ["new_story", "new_story"]


async def test_redelivery_after_a_partial_table_write_gives_the_same_answer_and_alert() -> None:
    """The story reached the changelog, the article's entry did not: the redelivered opener is still the opener."""
    from agents.enrich import enrich
    from agents.records import decode_raw_article
    from streams.pipeline.delivery import InputRecord

    themes = LiveThemes(parse_theme_text(THEMES, "inline"))
    table: dict[str, str] = {}
    alerts = Sent()
    steps = story_steps(THEMES, alerts, table=table, now="t")
    article = decode_raw_article(raw("https://a.test/1", "agency-a", "Trump and Greenland", BODY))
    value = encode(enrich(article, themes.tagger, processed_at="2026-01-01T00:00:00Z"))
    first = await steps.handle(InputRecord("enriched", 0, 7, None, value))
    del table[f"a:{first['id']}"]
    again = await steps.handle(InputRecord("enriched", 0, 7, None, value))
    assert (again["story_id"], again["story_role"]) == (first["story_id"], "new")
    assert again["alerts"] == first["alerts"]  # the same new_story alert id, sent again
    assert json.loads(table[f"s:{first['story_id']}"])["articles"] == 1
    later = await steps.handle(InputRecord("enriched", 0, 8, None, value))  # the same article replayed
    assert (later["story_role"], later["alerts"]) == ("update", [])
