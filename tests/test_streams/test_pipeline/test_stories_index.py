"""The stories agent's index outside the table: rebuilt from the table, it decides exactly as the live one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stories_support import distinct_story, one_term_theme, story_steps

from agents.enrich import enrich
from agents.records import RawArticle, decode_raw_article, encode
from agents.themes import parse_theme_text
from streams.pipeline.delivery import InputRecord
from streams.pipeline.stories import LocalBands, StorySteps

THEMES = one_term_theme("greenland", "Greenland", "Greenland")
TAGGER = parse_theme_text(THEMES, "inline")


class Alerts:
    def __init__(self) -> None:
        self.ids: list[str] = []

    async def send(self, *, key: bytes | None = None, value: bytes | None = None, **_: Any) -> None:
        self.ids.append(json.loads(value or b"{}")["id"])


def copy_of(article: RawArticle, n: int) -> RawArticle:
    """A syndicated copy: same text under another URL and source."""
    fields = {
        "title": article["title"],
        "body": article["body"],
        "url": f"https://copy.test/{n}",
        "source": f"copy-{n}",
    }
    return decode_raw_article(encode(fields))


def stream() -> list[bytes]:
    """Distinct stories, copies of some of them, an hour apart in groups, so stories expire on the way."""
    from agents.themes import Tagger

    tagger = Tagger(TAGGER)
    articles: list[RawArticle] = []
    for n in range(24):
        original = distinct_story(n)
        articles += [original, copy_of(original, n)] if n % 3 == 0 else [original]
    out = []
    for i, article in enumerate(articles):
        hour, minute = divmod(i * 7, 60)
        out.append(encode(enrich(article, tagger, processed_at=f"2026-01-01T{hour:02d}:{minute:02d}:00Z")))
    return out


async def run(steps: StorySteps, values: list[bytes], start: int) -> list[tuple[str, str, list[str]]]:
    out = []
    for offset, value in enumerate(values, start):
        result = await steps.handle(InputRecord("news.articles.enriched", 0, offset, None, value))
        out.append((result["story_id"], result["story_role"], result["alerts"]))
    return out


async def test_a_worker_taking_over_rebuilds_the_index_and_decides_as_the_live_one() -> None:
    values = stream()
    half = len(values) // 2
    live_table: dict[str, str] = {}
    live = story_steps(THEMES, Alerts(), table=live_table, window_hours=2)
    before = await run(live, values[:half], 0)
    taken_over = dict(live_table)  # what another worker restores from the changelog
    successor = story_steps(THEMES, Alerts(), table=taken_over, window_hours=2)
    decided = await run(successor, values[half:], half)
    assert decided == await run(live, values[half:], half)
    roles = [role for _story, role, _alerts in before + decided]
    assert "joined" in roles  # copies found their story through the rebuilt band map
    assert sum(1 for key in live_table if key.startswith("s:")) < roles.count("new")  # stories expired meanwhile
    assert taken_over == live_table
    assert successor.index is not None
    assert live.index is not None
    assert successor.index.state() == live.index.state()
    assert successor.index.due(10**9), "the stream leaves live stories in the index"


async def test_invalidate_rebuilds_from_the_table_at_the_next_record() -> None:
    values = stream()
    table: dict[str, str] = {}
    steps = story_steps(THEMES, Alerts(), table=table, window_hours=2)
    first = await run(steps, values[:1], 0)
    story_id = first[0][0]
    # meanwhile, elsewhere, the story was deleted (its partition was with another worker)
    del table[f"s:{story_id}"]
    steps.invalidate()
    assert steps.index is None
    again = await run(steps, values[:1], 1)  # the same article again: a new story, not an update of a gone one
    assert again[0][:2] == (story_id, "new")
    assert steps.index is not None
    assert steps.index.candidates(["no-such-band"]) == []


async def test_the_rebuild_deletes_legacy_keys_and_article_entries_of_no_story() -> None:
    table = {
        "b:t0:0123456789abcdef": "st-gone",
        "x:492": "2",
        "x:492:0": '["s:st-gone","a:gone"]',
        "x:next": "490",
        "a:gone": '{"origin":"t:0:1","role":"new","story":"st-gone"}',
    }
    steps = story_steps(THEMES, Alerts(), table=table)
    await run(steps, stream()[:1], 0)
    assert not any(key.startswith(("b:", "x:")) for key in table)
    assert "a:gone" not in table


def test_local_bands_is_a_mapping_emptied_by_fresh(tmp_path: Path) -> None:
    bands = LocalBands(tmp_path / "bands").fresh()
    bands["t0:1"] = "st-a st-b"
    assert bands.get("t0:1") == "st-a st-b"
    assert bands.get("t0:2") is None
    assert dict(bands.items()) == {"t0:1": "st-a st-b"}
    assert len(bands) == 1
    del bands["t0:1"]
    assert "t0:1" not in bands
    bands["t0:3"] = "st-c"
    assert len(bands.fresh()) == 0  # a new build starts empty
    bands.close()


async def test_the_index_survives_a_rebalance_that_keeps_the_stories_partition() -> None:
    from aiokafka.structs import TopicPartition

    from streams.pipeline.wiring import StoryOwnership

    steps = story_steps(THEMES, Alerts())
    await run(steps, stream()[:1], 0)
    built = steps.index
    owner = StoryOwnership(steps, "news.articles.enriched")
    enriched, raw = TopicPartition("news.articles.enriched", 0), TopicPartition("news.articles.raw", 3)
    await owner.on_assigned(None, {enriched, raw})  # arrives: it may have been processed elsewhere
    assert steps.index is None
    steps.index = built
    await owner.on_assigned(None, {enriched})  # kept
    assert steps.index is built
    await owner.on_assigned(None, {raw})  # gone
    assert steps.index is None


def test_an_index_over_local_bands_equals_one_over_a_dict(tmp_path: Path) -> None:
    from agents.storyindex import StoryIndex

    bands = LocalBands(tmp_path / "bands").fresh()
    local, plain = StoryIndex(bands), StoryIndex()
    for index in (local, plain):
        index.add_story("st-a", ["t0:1", "t1:2"], bucket=1)
        index.add_story("st-b", ["t0:1", "n0:3"], bucket=2)
        index.remove("st-a", ["t0:1", "t1:2"])
        index.add_story("st-c", ["t1:2"], bucket=2)
    assert local.state() == plain.state()
    assert bands.get_many(["t0:1", "t9:9"]) == ["st-b", None]
    assert local.candidates(["t0:1", "t1:2", "n0:3"]) == ["st-b", "st-c"]
    bands.close()
