"""Stories on the real broker: syndicated copies from two sources are one story and one new_story alert;
a per_article theme still alerts for each article."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest
from stories_support import GREENLAND_BODY as BODY
from stories_support import GREENLAND_NATO_THEMES as THEMES
from support import Env, WorkerProcess, collect, values

from agents.alerting import alert_id, story_alert_id
from agents.stories import story_id_for

pytestmark = pytest.mark.kafka


async def test_two_syndicated_copies_make_one_story_and_one_new_story_alert(newsmon_env: Env, tmp_path: Path) -> None:
    themes = tmp_path / "themes.toml"
    themes.write_text(THEMES, encoding="utf-8")
    env = dataclasses.replace(newsmon_env, themes_file=themes)
    copies = [
        {"url": "https://agency.test/greenland", "source": "agency", "title": "Trump: US will take Greenland",
         "body": BODY},
        {"url": "https://paper.test/world/123", "source": "paper", "title": "Greenland: Trump says US will take it",
         "body": "By our correspondent. " + BODY.replace("on Monday", "on Monday evening")},
    ]  # fmt: skip
    stream = tmp_path / "copies.jsonl"
    stream.write_text("".join(json.dumps(c) + "\n" for c in copies), encoding="utf-8")

    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        result = await asyncio.to_thread(env.cli, "replay", "--create-topics", "--quiet", str(stream))
        assert result.returncode == 0, result.stderr
        tagged = values(
            await collect(
                env.bootstrap, [env.topic("news.articles.tagged")], lambda rs: len(rs) >= 2, alive=lambda: worker.alive
            )
        )
    finally:
        assert worker.stop() == 0  # SIGTERM flushes: every alert of these two articles is on the topic
    alerts = values(await collect(env.bootstrap, [env.topic("news.alerts")], lambda rs: len(rs) >= 3))
    by_url = {t["url"]: t for t in tagged}
    first, second = by_url[copies[0]["url"]], by_url[copies[1]["url"]]
    assert first["story_id"] == second["story_id"]
    assert sorted([first["story_role"], second["story_role"]]) == ["joined", "new"]
    opener = first if first["story_role"] == "new" else second
    story = opener["story_id"]
    assert story == story_id_for(opener["id"])

    kinds = sorted((a["data"]["kind"], a["data"]["theme"]) for a in alerts)
    assert kinds == [("new_story", "greenland"), ("theme_match", "nato"), ("theme_match", "nato")]
    new_story = next(a for a in alerts if a["data"]["kind"] == "new_story")
    assert new_story["id"] == story_alert_id("new_story", "greenland", story)
    assert new_story["type"] == "io.newsmon.alert.new_story.v1"
    assert new_story["data"]["article_id"] == opener["id"]
    per_article = {a["id"] for a in alerts if a["data"]["kind"] == "theme_match"}
    assert per_article == {alert_id("nato", first["id"]), alert_id("nato", second["id"])}
