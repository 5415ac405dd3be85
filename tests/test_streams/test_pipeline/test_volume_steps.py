"""Spikes, budgets and digests in the stories agent's steps, over a plain dict as the table."""

from __future__ import annotations

import json
from typing import Any

from stories_support import distinct_story, one_term_theme, story_steps

from agents.enrich import enrich
from agents.records import encode
from agents.themes import parse_theme_text
from agents.volume import SpikeRule
from streams.pipeline.delivery import InputRecord
from streams.pipeline.stories import StorySteps
from streams.pipeline.themes_live import LiveThemes
from streams.pipeline.volume import DIGEST_PART, VolumeRules

THEMES = one_term_theme("greenland", "Greenland", "Greenland")

WINDOW = 600.0  # seconds
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a window boundary


def iso(at: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Sent:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def send(self, *, key: bytes | None = None, value: bytes | None = None, **_: Any) -> None:
        assert value is not None
        self.events.append(json.loads(value))

    def kinds(self) -> list[str]:
        return [e["data"]["kind"] for e in self.events]


def make_steps(budget: int = 0, rule: SpikeRule | None = None) -> tuple[StorySteps, dict[str, str], Sent]:
    table: dict[str, str] = {}
    alerts = Sent()
    volume = VolumeRules(rule or SpikeRule(window_seconds=WINDOW, factor=2.0, min_count=3), budget=budget)
    return story_steps(THEMES, alerts, table=table, volume=volume), table, alerts


def story_value(n: int, at: float) -> bytes:
    """An on-theme article unlike any other number's (its own story), enriched at ``at``."""
    themes = LiveThemes(parse_theme_text(THEMES, "inline"))
    return encode(enrich(distinct_story(n), themes.tagger, processed_at=iso(at)))


def tick(at: float) -> bytes:
    return encode({"tick": True, "processed_at": iso(at)})


async def test_over_budget_alerts_fold_into_one_digest_that_names_every_one() -> None:
    steps, table, alerts = make_steps(budget=3)
    for n in range(10):
        await steps.handle(InputRecord("enriched", 0, n, None, story_value(n, T0 + n)))
    assert alerts.kinds() == ["new_story"] * 3 + ["spike"]  # the 6th article crossed 2 x 3
    sent_stories = {e["data"]["story_id"] for e in alerts.events if e["data"]["kind"] == "new_story"}
    # the window has not ended: a tick inside it closes nothing
    await steps.handle(InputRecord("enriched", 0, 10, None, tick(T0 + WINDOW - 1)))
    assert alerts.kinds().count("digest") == 0
    await steps.handle(InputRecord("enriched", 0, 11, None, tick(T0 + WINDOW + 1)))
    digests = [e for e in alerts.events if e["data"]["kind"] == "digest"]
    assert len(digests) == 1
    digest = digests[0]["data"]
    folded = {item["story_id"] for item in digest["items"]}
    assert len(folded) == digest["count"] == 7
    assert not folded & sent_stories
    assert (digest["window_start"], digest["window_end"], digest["budget"]) == (
        iso(T0)[:19] + "Z",
        iso(T0 + WINDOW)[:19] + "Z",
        3,
    )
    assert digests[0]["type"] == "io.newsmon.alert.digest.v1"
    # the tick that closed the window, delivered again, sends the same digest again; a later one sends none
    await steps.handle(InputRecord("enriched", 0, 11, None, tick(T0 + WINDOW + 1)))
    await steps.handle(InputRecord("enriched", 0, 12, None, tick(T0 + WINDOW + 2)))
    assert [e["id"] for e in alerts.events if e["data"]["kind"] == "digest"] == [digests[0]["id"]] * 2
    # the next window has a fresh budget; at its digest, what was folded into the first one is forgotten
    for n in range(10, 15):
        await steps.handle(InputRecord("enriched", 0, 100 + n, None, story_value(n, T0 + WINDOW + 10 + n)))
    assert alerts.kinds()[-3:] == ["new_story"] * 3
    await steps.handle(InputRecord("enriched", 0, 200, None, tick(T0 + 5 * WINDOW)))
    second = alerts.events[-1]["data"]
    assert (second["kind"], second["count"]) == ("digest", 2)
    markers = {k.rsplit(":", 1)[1] for k in table if k.startswith("g:greenland:x:")}
    assert markers == {item["alert_id"] for item in second["items"]}
    assert not any(k.startswith(f"g:greenland:{int(T0 // WINDOW)}:") for k in table)
    assert json.loads(table["g:pending"]) == []


async def test_a_redelivered_alert_within_the_budget_is_sent_again_and_a_folded_one_stays_folded() -> None:
    steps, _table, alerts = make_steps(budget=1)
    first = story_value(1, T0 + 1)
    second = story_value(2, T0 + 2)
    await steps.handle(InputRecord("enriched", 0, 1, None, first))
    await steps.handle(InputRecord("enriched", 0, 2, None, second))
    assert alerts.kinds() == ["new_story"]
    await steps.handle(InputRecord("enriched", 0, 1, None, first))  # redelivered: same alert again
    await steps.handle(InputRecord("enriched", 0, 2, None, second))  # redelivered: still folded, not twice
    assert alerts.kinds() == ["new_story", "new_story"]
    assert alerts.events[0]["id"] == alerts.events[1]["id"]
    await steps.handle(InputRecord("enriched", 0, 3, None, tick(T0 + WINDOW)))
    digest = alerts.events[-1]["data"]
    assert digest["kind"] == "digest"
    assert digest["count"] == 1


async def test_a_large_digest_comes_in_parts() -> None:
    steps, _table, alerts = make_steps(budget=1, rule=SpikeRule(window_seconds=WINDOW, factor=1000.0, min_count=1))
    total = DIGEST_PART + 5
    for n in range(total + 1):
        await steps.handle(InputRecord("enriched", 0, n, None, story_value(n, T0 + n * 0.5)))
    await steps.handle(InputRecord("enriched", 0, 10_000, None, tick(T0 + WINDOW)))
    parts = [e["data"] for e in alerts.events if e["data"]["kind"] == "digest"]
    assert [(p["part"], p["parts"], p["count"]) for p in parts] == [(1, 2, DIGEST_PART), (2, 2, 5)]
    assert len({e["id"] for e in alerts.events}) == len(alerts.events)


async def test_without_a_budget_nothing_is_folded_and_ticks_do_nothing() -> None:
    steps, table, alerts = make_steps(budget=0, rule=SpikeRule(window_seconds=WINDOW, factor=1000.0, min_count=1))
    for n in range(6):
        await steps.handle(InputRecord("enriched", 0, n, None, story_value(n, T0 + n)))
    assert await steps.handle(InputRecord("enriched", 0, 9, None, tick(T0 + 3 * WINDOW))) == {
        "tick": True,
        "alerts": [],
    }
    assert alerts.kinds() == ["new_story"] * 6
    assert not any(k.startswith("g:") for k in table)


async def test_a_burst_spikes_once_and_steady_coverage_does_not() -> None:
    steps, _table, alerts = make_steps()
    at = T0
    for window in range(4):  # steady: 2 stories per window
        for n in range(2):
            at = T0 + window * WINDOW + n
            await steps.handle(InputRecord("enriched", 0, window * 10 + n, None, story_value(window * 10 + n, at)))
    assert "spike" not in alerts.kinds()
    for n in range(20):  # burst in window 4: threshold 2 x (2 + 3) = 10
        await steps.handle(InputRecord("enriched", 0, 100 + n, None, story_value(100 + n, T0 + 4 * WINDOW + n)))
    spikes = [e["data"] for e in alerts.events if e["data"]["kind"] == "spike"]
    assert [(s["count"], s["baseline"], s["threshold"]) for s in spikes] == [(10, 2.0, 10.0)]
    assert alerts.events[[e["data"]["kind"] for e in alerts.events].index("spike")]["type"] == (
        "io.newsmon.alert.spike.v1"
    )
