"""The stories agent's steps over a plain dict, for tests that drive ``StorySteps`` directly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from agents.records import RawArticle, decode_raw_article, encode
from agents.themes import parse_theme_text
from streams.pipeline.delivery import InputRecord
from streams.pipeline.stories import StorySteps
from streams.pipeline.themes_live import LiveThemes
from streams.pipeline.volume import VolumeRules


def one_term_theme(
    theme_id: str,
    name: str,
    term: str,
    description: str = "one alert per story",
    *,
    lang: str = "en",
    alert: str = "",
) -> str:
    """A theme-file block: the theme matches every article in ``lang`` (``intl``: any) that has ``term``;
    ``alert`` is its alert mode (the default mode, new_story, when empty)."""
    mode = f'alert = "{alert}"\n' if alert else ""
    return f"""
[[theme]]
id = "{theme_id}"
name = "{name}"
description = "{description}"
{mode}[theme.terms.core]
{lang} = ["{term}"]
[[theme.rules]]
id = "core"
all = ["core"]
"""


# A theme in the default alert mode (one alert per story) and one alerting per article.
GREENLAND_NATO_THEMES = one_term_theme(
    "greenland", "Greenland", "Greenland", "US pressure on Greenland: one alert per story (the default)", lang="intl"
) + one_term_theme("nato", "NATO", "=NATO", "NATO: one alert per article", lang="intl", alert="per_article")

# An English news body that both themes match; copies of it under other ids are one story.
GREENLAND_BODY = (
    "President Trump said on Monday that the United States will take control of Greenland, and Danish Prime "
    "Minister Mette Frederiksen answered that the island is not for sale. NATO allies met in Brussels on "
    "Tuesday to discuss the 2026 Arctic security plan, and Greenland's premier Jens-Frederik Nielsen called "
    "for calm while Copenhagen summoned the US ambassador over the remarks made in Washington."
)


def distinct_story(n: int, term: str = "Greenland") -> RawArticle:
    """An article that has ``term`` and is unlike any other number's: a story of its own."""
    words = " ".join(f"w{n}x{j}" for j in range(40))
    fields = {"title": f"{term} item {n}", "body": f"{term} {words}", "url": f"https://s.test/{n}",
              "source": f"source-{n % 7}"}  # fmt: skip
    return decode_raw_article(encode(fields))


async def _no_tagged(_record: dict[str, Any]) -> None:
    return None


async def _no_dead_letter(_msg: InputRecord, stage: str, reason: str) -> dict[str, Any]:
    raise AssertionError(f"dead letter at {stage}: {reason}")


def story_steps(
    themes_toml: str,
    alerts: Any,
    *,
    table: dict[str, str] | None = None,
    send_tagged: Callable[[dict[str, Any]], Awaitable[None]] = _no_tagged,
    window_hours: int = 48,
    sources_threshold: int = 3,
    now: str = "2026-01-01T00:00:00.000Z",
    volume: VolumeRules | None = None,
) -> StorySteps:
    """``StorySteps`` on ``table`` (a fresh dict by default) with the themes of ``themes_toml``; a dead letter fails."""
    return StorySteps(
        table={} if table is None else table,
        themes=LiveThemes(parse_theme_text(themes_toml, "inline")),
        alerts=alerts,
        send_tagged=send_tagged,
        dead_letter=_no_dead_letter,
        window_hours=window_hours,
        sources_threshold=sources_threshold,
        now=lambda: now,
        volume=volume,
    )
