"""A deterministic stream built from the seeds, through a worker that is SIGKILLed and restarted mid-stream.

The stream (built by :func:`story_stream`): ten syndicated copies of one seed (other outlets,
bylines, edited headlines), a duplicate of one copy under a churned GUID, a revision of
another copy under its own URL, the other seeds once each (steady background), and a burst
of distinct on-theme stories. The alerts it must raise are derived from the stream's
construction: one ``new_story`` per (theme, story), one ``story_escalation`` per theme of
the syndicated story when it reaches three sources, one ``spike`` per theme whose articles
reach the spike threshold, and nothing else. After de-duplication by ``alert_id`` (the
restart may redeliver), the alerts on ``news.alerts`` must be exactly those.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support import SHIPPED_THEMES, Env, WorkerProcess, collect, produce, values

from agents.alerting import alert_id, story_alert_id
from agents.enrich import enrich
from agents.records import RawArticle, article_id
from agents.stories import story_id_for
from agents.themes import Tagger, load_theme_file
from agents.volume import window_of
from streams.bench.faultcheck import seed_templates
from streams.kafka.admin import ensure_topics
from streams.kafka.consumers import read_to_end
from streams.kafka.topics import specs
from streams.pipeline.stories import epoch_of
from streams.settings import Settings
from streams.sources.replay import to_record

pytestmark = pytest.mark.kafka

SPIKE = {"NEWSMON_SPIKE_FACTOR": "2", "NEWSMON_SPIKE_MIN_COUNT": "3"}  # threshold 6 in a quiet window
THRESHOLD = 6
# One window for the whole test: spikes depend on nothing but the stream (a run across
# midnight UTC would split it).
WINDOW = {"NEWSMON_ALERT_WINDOW_SECONDS": "86400"}


def raw(url: str | None, source: str, title: str, body: str) -> RawArticle:
    return {
        "id": article_id(url=url, title=title, body=body),
        "url": url,
        "source": source,
        "title": title,
        "body": body,
        "fetched_at": "2026-01-01T00:00:00Z",
    }  # type: ignore[typeddict-item]


@dataclasses.dataclass
class Stream:
    first: list[RawArticle]  # published before the kill
    second: list[RawArticle]  # published after the restart
    stories: dict[str, list[str]]  # story name -> article ids, in the order their story is opened
    syndicated: str  # the name of the syndicated story

    @property
    def articles(self) -> list[RawArticle]:
        return [*self.first, *self.second]


def story_stream() -> Stream:
    seeds = seed_templates()
    base = seeds[1]  # Greenland, NATO, Europe's defence: several themes
    outlets = ["wire", "herald", "courier", "tribune", "gazette", "post", "times", "chronicle", "journal", "daily"]
    copies = [
        raw(
            f"https://{name}.example/world/greenland-{i}",
            f"{name}.example",
            base["title"] if i % 2 == 0 else f"{name.upper()}: {base['title']}",
            base["body"] if i == 0 else f"By a {name} correspondent.\n\n{base['body']}",
        )
        for i, name in enumerate(outlets)
    ]
    churned = raw(copies[4]["url"] + "?guid=churned-7f3a", "gazette.example", copies[4]["title"], copies[4]["body"])
    revised = raw(
        copies[6]["url"], "times.example", copies[6]["title"], copies[6]["body"] + "\n\nThis article was updated."
    )
    background = [raw(f"https://bg.example/{i}", "bg.example", s["title"], s["body"]) for i, s in enumerate(seeds)]
    background = [b for i, b in enumerate(background) if i != 1]
    burst = [
        raw(
            f"https://burst.example/{n}",
            f"burst-{n}.example",
            f"Greenland update {n}",
            f"US pressure on Greenland: report {n}. " + " ".join(f"detail{n}x{j}" for j in range(40)),
        )
        for n in range(8)
    ]
    stories = {"syndicated": [c["id"] for c in copies] + [churned["id"]]}
    stories |= {f"background-{i}": [b["id"]] for i, b in enumerate(background)}
    stories |= {f"burst-{n}": [b["id"]] for n, b in enumerate(burst)}
    return Stream(
        first=[*copies[:5], *background],
        second=[*copies[5:], churned, revised, *burst],
        stories=stories,
        syndicated="syndicated",
    )


def expected_alerts(stream: Stream, tagger: Tagger) -> tuple[set[tuple[str, str, str]], dict[str, set[str]]]:
    """(kind, theme, subject) of every alert the stream must raise; the themes of each article id."""
    themes: dict[str, set[str]] = {}
    for article in stream.articles:
        record = enrich(article, tagger, processed_at="2026-01-01T00:00:00.000Z")
        themes.setdefault(article["id"], set()).update(m["theme"] for m in record["themes"])
    out: set[tuple[str, str, str]] = set()
    for name, members in stream.stories.items():
        for theme in set().union(*(themes[a] for a in members)):
            out.add(("new_story", theme, name))
    syndicated = stream.stories[stream.syndicated]
    for theme in set().union(*(themes[a] for a in syndicated)):
        out.add(("story_escalation", theme, "sources:3"))
    articles_per_theme = Counter(t for ts in themes.values() for t in ts)
    for theme, count in articles_per_theme.items():
        if count >= THRESHOLD:
            out.add(("spike", theme, "window"))
    return out, themes


async def tagged_records(env: Env, ids: set[str], worker: WorkerProcess) -> list[dict[str, Any]]:
    """The tagged records, read until every one of ``ids`` has one (the worker must stay alive)."""
    records = await collect(
        env.bootstrap,
        [env.topic("news.articles.tagged")],
        lambda rs: {v["id"] for v in values(rs)} >= ids,
        alive=lambda: worker.alive,
    )
    return values(records)


async def test_the_story_stream_raises_exactly_its_alerts_across_a_sigkill(newsmon_env: Env, tmp_path: Path) -> None:
    stream = story_stream()
    tagger = Tagger(load_theme_file(SHIPPED_THEMES))
    expected, themes = expected_alerts(stream, tagger)
    syndicated = stream.stories[stream.syndicated]
    # The copies are tagged alike, so which copy opens the story (the article agent runs on
    # six partitions) changes nothing that is asserted.
    assert len({frozenset(themes[a]) for a in syndicated}) == 1
    assert {k for k, _t, _s in expected} == {"new_story", "story_escalation", "spike"}

    env = dataclasses.replace(newsmon_env, extra={**SPIKE, **WINDOW})
    raw_topic = env.topic("news.articles.raw")
    worker = WorkerProcess(env, tmp_path / "worker-1.log").start()
    first_ids = {a["id"] for a in stream.first}
    try:
        settings = Settings(topic_prefix=env.prefix, kafka_bootstrap_servers=env.bootstrap)
        await ensure_topics(env.bootstrap, specs(settings))
        await produce(env.bootstrap, raw_topic, [to_record(a) for a in stream.first])
        await tagged_records(env, first_ids, worker)
    finally:
        worker.kill()  # SIGKILL: whatever was not committed is delivered again
    worker = WorkerProcess(env, tmp_path / "worker-2.log").start()
    all_ids = {a["id"] for a in stream.articles}
    try:
        await produce(env.bootstrap, raw_topic, [to_record(a) for a in stream.second])
        tagged = await tagged_records(env, all_ids, worker)
    finally:
        assert worker.stop() == 0  # SIGTERM flushes every alert of the stream
    alerts = {a["id"]: a for a in values(await read_to_end(env.bootstrap, [env.topic("news.alerts")]))}

    # stories: the copies and the churned duplicate are one story, the revision an update of it
    story_of = {t["id"]: t["story_id"] for t in tagged}
    assert len({story_of[a] for a in syndicated}) == 1
    assert len({story_of[a] for members in stream.stories.values() for a in members}) == len(stream.stories)
    opener = {name: story_of[members[0]] for name, members in stream.stories.items()}
    assert all(sid == story_id_for(next(t["id"] for t in tagged if t["story_id"] == sid and t["story_role"] == "new"))
               for sid in opener.values())  # fmt: skip

    name_of = {sid: name for name, sid in opener.items()}
    got: set[tuple[str, str, str]] = set()
    for alert in alerts.values():
        data = alert["data"]
        kind = data["kind"]
        if kind == "new_story":
            assert alert["id"] == story_alert_id(kind, data["theme"], data["story_id"])
            got.add((kind, data["theme"], name_of[data["story_id"]]))
        elif kind == "story_escalation":
            assert data["story_id"] == opener[stream.syndicated]
            got.add((kind, data["theme"], data["reason"]))
        elif kind == "spike":
            assert data["count"] == THRESHOLD
            assert alert["id"] == alert_id(
                data["theme"], f"spike/{window_of(epoch_of(data['window_start']), 86400)}", kind
            )
            got.add((kind, data["theme"], "window"))
        else:
            raise AssertionError(f"unexpected alert kind {kind}: {alert}")
    assert sorted(got) == sorted(expected)
